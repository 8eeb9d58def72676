/*
 * trial.c - The part of profiling that runs the workload: calibrating the iteration
 * duration and running one trial (cooldown, warmup, measured window), as Zeus's
 * _calibrate_iteration_duration and _run_trial do.
 *
 * DESIGN NOTES
 *
 * 1. Zeus's order is kept step for step, syncs included: the window opens without a sync
 *    (the warmup was just synced) and closes with one; the temperatures are read right
 *    before the window opens and right after it closes.
 * 2. In sampled mode end_window answers at once with an estimate; the trial reads the
 *    temperature first and only then waits for the final value (up to one counter update,
 *    ~100 ms on NVIDIA). The GPU is idle while it waits, so the next trial's cooldown is
 *    that much longer in effect. Concept: trials as Zeus runs them. Reality: in sampled mode
 *    the cooldowns are up to one counter step longer; in direct mode they are not.
 *    An estimate that failed is waited on too: on a loaded machine the sampler can be more
 *    than one counter step late, and the estimate then refuses to extrapolate (NAN,
 *    ZEUS_ERR_NO_DATA) while the final value comes a moment later. Only the final status
 *    counts.
 * 3. Reductions (note DISTRIBUTED in profile.h): one SUM over {energy, temperature before,
 *    temperature after, 1.0} and one MAX over {time}. Zeus makes four all_reduce calls; the
 *    sum of ones is the number of processes, which Zeus divides the temperatures by. Every
 *    process makes the same calls in the same order, warmup trials included, so collective
 *    implementations stay matched.
 * 4. A workload that fails inside the window cancels the window: nothing is left open and
 *    nothing is logged to the monitor's CSV.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "monitor/monitor_internal.h"
#include "profile/profile_internal.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/warn.h"

#define TRIAL_WINDOW "__zeus_profile_run_trial" /* Zeus's window name */
#define FINAL_TIMEOUT_S 2.0 /* as ZEUS_WINDOW_WAIT_FINAL: two counter steps and more */
#define MIN_ITERATION_S 1e-9 /* the monotonic clock's resolution */

/* ---- Small steps -------------------------------------------------------------------------- */

void zeus__profile_log(const struct zeus__profile_run *run, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    zeus__vwarnf(run->o.log, run->o.log_user, fmt, ap);
    va_end(ap);
}

/* Sleep to an absolute CLOCK_MONOTONIC deadline, so signals and clock steps change nothing. */
static void sleep_s(double seconds)
{
    struct timespec deadline;

    if (!(seconds > 0))
        return;
    deadline = zeus__timespec_from_ns(zeus__now_ns() + (int64_t)(seconds * 1e9));
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL) == EINTR)
        ;
}

static zeus_status call_fn(const struct zeus__profile_run *run, uint64_t n, const char *phase)
{
    for (uint64_t i = 0; i < n; i++) {
        int rc = run->fn(run->user);
        if (rc != 0)
            return zeus__fail(ZEUS_ERR_CALLBACK_FAILED,
                              "profile: the profiled function returned %d in %s (call %llu of "
                              "%llu); profiling stopped",
                              rc, phase, (unsigned long long)i + 1, (unsigned long long)n);
    }
    return ZEUS_OK;
}

static zeus_status reduce(const struct zeus__profile_run *run, double *values, size_t n,
                          zeus_reduce_op op, const char *what)
{
    int rc;

    if (run->o.reduce == NULL)
        return ZEUS_OK;
    rc = run->o.reduce(values, n, op, run->o.reduce_user);
    if (rc != 0)
        return zeus__fail(ZEUS_ERR_CALLBACK_FAILED,
                          "profile: the reduce callback returned %d (%s of %s); profiling "
                          "stopped",
                          rc, op == ZEUS_REDUCE_SUM ? "sum" : "max", what);
    return ZEUS_OK;
}

/* Mean temperature of the monitor's GPUs, as Zeus's _read_avg_gpu_temperature. */
static zeus_status read_temperature(const struct zeus__profile_run *run, double *temp_c)
{
    zeus_devices *devs = zeus_monitor_devices(run->mon);
    double sum = 0;

    for (unsigned i = 0; i < run->gpu_count; i++) {
        double t;
        zeus_status s = zeus_gpu_get_temperature(devs, run->gpu_index[i], &t);
        if (s != ZEUS_OK)
            return zeus__fail_prefix(s, "profile: reading GPU %u's temperature",
                                     run->gpu_index[i]);
        sum += t;
    }
    *temp_c = sum / run->gpu_count;
    return ZEUS_OK;
}

uint64_t zeus__profile_iterations(const struct zeus__profile_run *run, double seconds)
{
    double n = ceil(seconds / run->iteration_s);
    return n < 1 ? 1 : (uint64_t)n;
}

/* ---- Calibration -------------------------------------------------------------------------- */

zeus_status zeus__profile_calibrate(struct zeus__profile_run *run)
{
    unsigned n = run->o.num_calibration_iterations;
    zeus_status s;
    int64_t t0;
    double per_call;

    if (run->o.iteration_duration_s > 0) {
        run->iteration_s = fmax(run->o.iteration_duration_s, MIN_ITERATION_S);
        return ZEUS_OK;
    }
    s = call_fn(run, run->o.num_warmup_iterations, "calibration warmup");
    if (s != ZEUS_OK)
        return s;
    zeus__monitor_sync(run->mon);
    t0 = zeus__now_ns();
    s = call_fn(run, n, "calibration");
    if (s != ZEUS_OK)
        return s;
    zeus__monitor_sync(run->mon);
    per_call = (double)(zeus__now_ns() - t0) * 1e-9 / n;
    s = reduce(run, &per_call, 1, ZEUS_REDUCE_MAX, "the iteration duration");
    if (s != ZEUS_OK)
        return s;
    /* A workload faster than the clock ticks would give 0 and an infinite iteration count. */
    run->iteration_s = fmax(per_call, MIN_ITERATION_S);
    zeus__profile_log(run, "Calibrated iteration duration: %.3f ms", run->iteration_s * 1000);
    return ZEUS_OK;
}

/* ---- One trial ---------------------------------------------------------------------------- */

/*
 * The final value of a window that end_window answered with status `s` (note 2): an
 * estimate, or a failure, is replaced by the final value and its status. A direct window's
 * values are final already; for its failure get_final only repeats what end_window said.
 */
static zeus_status final_values(const struct zeus__profile_run *run, zeus_status s,
                                zeus_measurement *m)
{
    int final = s == ZEUS_OK;

    for (unsigned i = 0; i < m->gpu_count; i++)
        if (m->gpu_flags[i] & ZEUS_ENERGY_PROVISIONAL)
            final = 0;
    if (final)
        return ZEUS_OK;
    return zeus_monitor_get_final(run->mon, m->window_id, FINAL_TIMEOUT_S, m);
}

/* The measured part (notes 1, 2, 4): window, `iterations` calls, window end, temperature. */
static zeus_status measure_window(const struct zeus__profile_run *run, uint64_t iterations,
                                  zeus_measurement *m, double *temp_after_c)
{
    zeus_status s = zeus_monitor_begin_window(run->mon, TRIAL_WINDOW, 0);

    if (s != ZEUS_OK)
        return zeus__fail_prefix(s, "profile: opening the trial's window");
    s = call_fn(run, iterations, "the measurement window");
    if (s != ZEUS_OK) {
        zeus_monitor_end_window(run->mon, TRIAL_WINDOW, ZEUS_WINDOW_CANCEL, NULL);
        return s;
    }
    m->window_id = 0; /* stays 0 unless the window was closed and handed over */
    s = zeus_monitor_end_window(run->mon, TRIAL_WINDOW, ZEUS_WINDOW_SYNC, m);
    if (m->window_id == 0)
        return zeus__fail_prefix(s, "profile: closing the trial's window");
    {
        zeus_status temp = read_temperature(run, temp_after_c);
        if (temp != ZEUS_OK)
            return temp;
    }
    s = final_values(run, s, m);
    if (s != ZEUS_OK)
        return zeus__fail_prefix(s, "profile: the trial's energy");
    return ZEUS_OK;
}

/* Combine the local values across processes (note 3) into a TrialResult. */
static zeus_status combine(const struct zeus__profile_run *run, const zeus_measurement *m,
                           uint64_t iterations, double before_c, double after_c,
                           zeus_profile_trial *out)
{
    double sums[4] = {zeus_measurement_total_energy(m), before_c, after_c, 1.0};
    double time_s = m->time_s;
    zeus_status s = reduce(run, sums, 4, ZEUS_REDUCE_SUM, "energy and temperatures");

    if (s == ZEUS_OK)
        s = reduce(run, &time_s, 1, ZEUS_REDUCE_MAX, "the window time");
    if (s != ZEUS_OK)
        return s;
    if (!(sums[3] >= 1))
        return zeus__fail(ZEUS_ERR_CALLBACK_FAILED,
                          "profile: the reduce callback summed 1.0 per process to %g; it must "
                          "sum every process's values", sums[3]);
    out->total_energy_j = sums[0];
    out->total_time_s = time_s;
    out->iterations = iterations;
    out->energy_per_iter_j = sums[0] / (double)iterations;
    out->time_per_iter_s = time_s / (double)iterations;
    out->temperature_before_c = sums[1] / sums[3];
    out->temperature_after_c = sums[2] / sums[3];
    return ZEUS_OK;
}

zeus_status zeus__profile_trial(struct zeus__profile_run *run, double cooldown_s,
                                double measurement_s, uint64_t warmup_iterations,
                                zeus_profile_trial *out)
{
    uint64_t iterations = zeus__profile_iterations(run, measurement_s);
    double before_c, after_c;
    zeus_measurement m;
    zeus_status s;

    sleep_s(cooldown_s);
    s = call_fn(run, warmup_iterations, "warmup");
    if (s != ZEUS_OK)
        return s;
    zeus__monitor_sync(run->mon);
    s = read_temperature(run, &before_c);
    if (s == ZEUS_OK)
        s = measure_window(run, iterations, &m, &after_c);
    if (s == ZEUS_OK)
        s = combine(run, &m, iterations, before_c, after_c, out);
    return s;
}
