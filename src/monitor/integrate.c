/*
 * integrate.c - Energy over an interval and nearest-sample lookups on a de-duplicated power
 * series (see integrate.h for the plateau rule and the edge rule).
 *
 * The reconstruction is piecewise linear, so its integral is computed exactly piece by
 * piece: a constant piece before the first sample, then for each pair of samples a
 * constant "hold" piece and a linear "ramp" piece, then a constant piece after the last
 * sample. Only the pieces that overlap the interval are visited, found by binary search.
 * Times stay int64 nanoseconds until a difference is taken, so a CLOCK_MONOTONIC value of
 * months does not cost precision.
 */
#include "monitor/integrate.h"

/* ---- Searching -------------------------------------------------------------------------- */

size_t zeus__sample_lower_bound(const zeus__sample *s, size_t n, int64_t t_ns)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s[mid].t_ns < t_ns)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

size_t zeus__sample_upper_bound(const zeus__sample *s, size_t n, int64_t t_ns)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s[mid].t_ns <= t_ns)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

size_t zeus__sample_nearest(const zeus__sample *s, size_t n, int64_t t_ns)
{
    size_t i = zeus__sample_upper_bound(s, n, t_ns); /* s[i - 1].t <= t < s[i].t */

    if (i == 0)
        return 0;
    if (i == n)
        return n - 1;
    /* Strictly nearer after, or the earlier one: ties go to the earlier sample (Zeus). */
    return s[i].t_ns - t_ns < t_ns - s[i - 1].t_ns ? i : i - 1;
}

/* ---- The reconstruction ----------------------------------------------------------------- */

/* Where the ramp into sample i begins: one poll period before it, never before i - 1. */
static int64_t ramp_start(const zeus__sample *s, size_t i, int64_t ramp_ns)
{
    int64_t a = s[i].t_ns - ramp_ns;
    return a > s[i - 1].t_ns ? a : s[i - 1].t_ns;
}

/* The line from (p, u) to (q, w) at t, p <= t <= q. */
static double line_at(int64_t p, int64_t q, double u, double w, int64_t t)
{
    if (q <= p)
        return w;
    return u + (w - u) * ((double)(t - p) / (double)(q - p));
}

double zeus__series_value_at(const zeus__sample *s, size_t n, int64_t ramp_ns, int64_t t_ns)
{
    size_t i;
    int64_t a;

    if (n == 0)
        return 0;
    if (t_ns <= s[0].t_ns)
        return s[0].value;
    if (t_ns >= s[n - 1].t_ns)
        return s[n - 1].value;
    i = zeus__sample_upper_bound(s, n, t_ns); /* 1 <= i < n */
    a = ramp_start(s, i, ramp_ns);
    if (t_ns <= a)
        return s[i - 1].value;
    return line_at(a, s[i].t_ns, s[i - 1].value, s[i].value, t_ns);
}

/* ---- Integrating ------------------------------------------------------------------------ */

/* Joules of a constant `v` watts over the part of [p, q] inside [lo, hi]. */
static double hold_area(int64_t p, int64_t q, double v, int64_t lo, int64_t hi)
{
    int64_t a = p > lo ? p : lo, b = q < hi ? q : hi;
    return b > a ? v * (double)(b - a) * 1e-9 : 0.0;
}

/* Joules of the line (p, u)-(q, w) over the part of [p, q] inside [lo, hi]. */
static double ramp_area(int64_t p, int64_t q, double u, double w, int64_t lo, int64_t hi)
{
    int64_t a = p > lo ? p : lo, b = q < hi ? q : hi;

    if (b <= a)
        return 0.0;
    return (line_at(p, q, u, w, a) + line_at(p, q, u, w, b)) / 2 * (double)(b - a) * 1e-9;
}

/* Nanoseconds of [t0, t1] outside [lo, hi]. */
static int64_t outside(int64_t t0, int64_t t1, int64_t lo, int64_t hi)
{
    int64_t a = t0 > lo ? t0 : lo, b = t1 < hi ? t1 : hi;
    int64_t inside = b > a ? b - a : 0;
    return (t1 - t0) - inside;
}

void zeus__integrate(const zeus__sample *s, size_t n, int64_t ramp_ns, int64_t span_lo_ns,
                     int64_t span_hi_ns, int64_t t0_ns, int64_t t1_ns, zeus__integral *out)
{
    double e = 0;
    size_t i;

    out->energy_j = 0;
    out->outside_ns = 0;
    out->samples = 0;
    if (n == 0 || t1_ns <= t0_ns)
        return;
    if (ramp_ns < 0)
        ramp_ns = 0;

    /* Before the first sample: the first value holds (the edge rule). */
    if (t0_ns < s[0].t_ns)
        e += hold_area(t0_ns, s[0].t_ns, s[0].value, t0_ns, t1_ns);

    /* Pairs (i - 1, i) whose span [t[i-1], t[i]] overlaps (t0, t1). */
    i = zeus__sample_upper_bound(s, n, t0_ns);
    if (i == 0)
        i = 1;
    for (; i < n && s[i - 1].t_ns < t1_ns; i++) {
        int64_t a = ramp_start(s, i, ramp_ns);
        e += hold_area(s[i - 1].t_ns, a, s[i - 1].value, t0_ns, t1_ns);
        e += ramp_area(a, s[i].t_ns, s[i - 1].value, s[i].value, t0_ns, t1_ns);
    }

    /* After the last sample: the last value holds. */
    if (t1_ns > s[n - 1].t_ns)
        e += hold_area(s[n - 1].t_ns, t1_ns, s[n - 1].value, t0_ns, t1_ns);

    out->energy_j = e;
    out->outside_ns = outside(t0_ns, t1_ns, span_lo_ns, span_hi_ns);
    out->samples = zeus__sample_upper_bound(s, n, t1_ns) - zeus__sample_lower_bound(s, n, t0_ns);
}
