/*
 * integrate.h - Energy and point lookups over a de-duplicated power series: pure functions
 * over a sorted array, with no locks and no device calls, so they can be tested by hand.
 *
 * What a series means. The sampler reads a power value every poll period and stores a
 * sample only when the value differs from the previous one, so a sample (t, v) says "the
 * reading was v at t, and something else at the poll before". Between two stored samples
 * (t[i-1], v[i-1]) and (t[i], v[i]) every poll read v[i-1] except the last one, which read
 * v[i]. The reconstruction that follows from this (the "plateau rule"):
 *
 *   power
 *     v[i]  |                         /-------
 *           |                        /
 *   v[i-1]  |   -------------------/
 *           +---+-----------------+--+-------> time
 *              t[i-1]         t[i]-ramp  t[i]
 *
 * the value v[i-1] holds from t[i-1] until one poll period (`ramp`) before t[i], then
 * changes linearly to v[i] at t[i]. With ramp = the poll period this is exactly what the
 * trapezoid rule over every poll (the series before de-duplication) gives, so
 * de-duplication loses nothing. It is also the unbiased choice when the reading changes at
 * an instant spread evenly over the poll interval, which is the case for NVML's readings
 * that move at ~100 ms boundaries unrelated to our polls.
 *
 * Concept: the trapezoid rule between stored samples, as Zeus integrates. Reality: on a
 * de-duplicated series that turns a plateau followed by a step into a slow ramp across the
 * whole plateau: 10 s at 100 W then a step to 700 W reads as 4,000 J instead of 1,000 J.
 *
 * Before the first sample the first value holds; after the last sample the last value
 * holds ("the edge rule"). Callers say which part of an interval lies outside the span the
 * series actually covers, so the result can say it was partly extrapolated.
 */
#ifndef ZEUS_MONITOR_INTEGRATE_H
#define ZEUS_MONITOR_INTEGRATE_H

#include <stddef.h>
#include <stdint.h>

#include "monitor/sampler.h"

/* The energy of a series over an interval, and how it was obtained. */
typedef struct zeus__integral {
    double energy_j;    /* joules over [t0, t1] */
    int64_t outside_ns; /* part of [t0, t1] outside [span_lo, span_hi]: held, extrapolated */
    size_t samples;     /* stored samples with t0 <= t <= t1 */
} zeus__integral;

/*
 * The reconstructed power (see the head) at t_ns. s: n >= 1 samples, strictly increasing in
 * time. ramp_ns: the poll period, >= 0 (0: steps).
 */
double zeus__series_value_at(const zeus__sample *s, size_t n, int64_t ramp_ns, int64_t t_ns);

/*
 * Integrate the reconstructed power over [t0_ns, t1_ns] (t0_ns <= t1_ns), exactly: the
 * reconstruction is piecewise linear. s: n >= 1 samples, strictly increasing in time.
 * [span_lo_ns, span_hi_ns]: the stretch of time the series covers (from the first poll to
 * the last one); the part of the interval outside it is counted in out->outside_ns.
 * Costs O(log n + samples inside the interval).
 */
void zeus__integrate(const zeus__sample *s, size_t n, int64_t ramp_ns, int64_t span_lo_ns,
                     int64_t span_hi_ns, int64_t t0_ns, int64_t t1_ns, zeus__integral *out);

/*
 * Index of the sample nearest t_ns, Zeus's get_power rule: on a tie the earlier one; before
 * the first sample the first; after the last the last. n >= 1.
 */
size_t zeus__sample_nearest(const zeus__sample *s, size_t n, int64_t t_ns);

/* Number of samples with t < t_ns (the index of the first one at or after t_ns). */
size_t zeus__sample_lower_bound(const zeus__sample *s, size_t n, int64_t t_ns);

/* Number of samples with t <= t_ns. */
size_t zeus__sample_upper_bound(const zeus__sample *s, size_t n, int64_t t_ns);

#endif /* ZEUS_MONITOR_INTEGRATE_H */
