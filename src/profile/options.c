/*
 * options.c - zeus_profile_options: Zeus's defaults, and the checks every profile function
 * makes before it calls the workload once.
 *
 * Everything is checked up front, even fields the called function does not use (the ranges
 * in zeus_profile_measure()), so one rule holds: a bad option never lets a long run start
 * and fail halfway, and a failed check never calls fn.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "monitor/monitor_internal.h"
#include "profile/profile_internal.h"
#include "util/error.h"
#include "util/options.h"

/*
 * Longest duration accepted, in seconds (about 11.6 days). Far beyond any sensible profile;
 * it keeps the nanosecond deadlines of the sleeps and the iteration counts far from
 * overflowing.
 */
#define MAX_DURATION_S 1e6

const double zeus__profile_default_range[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};

void zeus_profile_options_init(zeus_profile_options *opts)
{
    if (opts == NULL)
        return;
    memset(opts, 0, sizeof *opts);
    opts->size = sizeof *opts;
    opts->measurement_duration_s = 10.0;
    opts->cooldown_duration_s = 10.0;
    opts->num_trials = 10;
    opts->num_warmup_trials = 2;
    opts->trial_stddev_threshold_j = 0.01;
    opts->num_warmup_iterations = 10;
    opts->num_calibration_iterations = 100;
    opts->iteration_duration_s = 0;
    opts->warmup_settle_duration_s = NAN;
}

/* Copy the fields `opts->size` covers over the defaults, so older callers keep working. */
static zeus_status read_options(const char *caller, const zeus_profile_options *opts,
                                zeus_profile_options *o)
{
    zeus_profile_options_init(o);
    if (opts == NULL)
        return ZEUS_OK;
    if (zeus__options_read(o, sizeof *o, opts,
                           offsetof(zeus_profile_options, measurement_durations_s),
                           "zeus_profile_options") != ZEUS_OK)
        return zeus__fail_prefix(ZEUS_ERR_INVALID_ARGUMENT, "%s", caller);
    return ZEUS_OK;
}

zeus_status zeus__profile_check_duration(const char *caller, const char *name, double s)
{
    if (!(s >= 0) || !(s <= MAX_DURATION_S))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                          "%s: %s must be between 0 and %.0f seconds, not %g", caller, name,
                          MAX_DURATION_S, s);
    return ZEUS_OK;
}

static zeus_status check_range(const char *caller, const char *name, const double *values,
                               size_t n)
{
    char what[64];

    if (values == NULL)
        return ZEUS_OK; /* the default range */
    if (n == 0)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                          "%s: %s is empty; give at least one value, or NULL for 1-10 s",
                          caller, name);
    for (size_t i = 0; i < n; i++) {
        snprintf(what, sizeof what, "%s[%zu]", name, i);
        zeus_status s = zeus__profile_check_duration(caller, what, values[i]);
        if (s != ZEUS_OK)
            return s;
    }
    return ZEUS_OK;
}

static zeus_status check_counts(const char *caller, const zeus_profile_options *o)
{
    if (o->num_trials == 0)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                          "%s: num_trials is 0; a sweep needs at least one trial per value",
                          caller);
    if (o->iteration_duration_s == 0 && o->num_calibration_iterations == 0)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                          "%s: num_calibration_iterations is 0 and no iteration_duration_s is "
                          "given; the iteration duration cannot be calibrated", caller);
    if (isnan(o->trial_stddev_threshold_j) || o->trial_stddev_threshold_j < 0)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                          "%s: trial_stddev_threshold_j must be >= 0, not %g", caller,
                          o->trial_stddev_threshold_j);
    return ZEUS_OK;
}

static zeus_status check_options(const char *caller, const zeus_profile_options *o)
{
    zeus_status s = check_counts(caller, o);

    if (s == ZEUS_OK)
        s = check_range(caller, "measurement_durations_s", o->measurement_durations_s,
                        o->measurement_duration_count);
    if (s == ZEUS_OK)
        s = check_range(caller, "cooldown_durations_s", o->cooldown_durations_s,
                        o->cooldown_duration_count);
    if (s == ZEUS_OK)
        s = zeus__profile_check_duration(caller, "measurement_duration_s",
                                         o->measurement_duration_s);
    if (s == ZEUS_OK)
        s = zeus__profile_check_duration(caller, "cooldown_duration_s", o->cooldown_duration_s);
    if (s == ZEUS_OK)
        s = zeus__profile_check_duration(caller, "iteration_duration_s", o->iteration_duration_s);
    if (s == ZEUS_OK && !isnan(o->warmup_settle_duration_s))
        s = zeus__profile_check_duration(caller, "warmup_settle_duration_s",
                                         o->warmup_settle_duration_s);
    return s;
}

zeus_status zeus__profile_start(struct zeus__profile_run *run, const char *caller,
                                zeus_profile_fn fn, void *user, zeus_monitor *mon,
                                const zeus_profile_options *opts)
{
    zeus_status s;

    memset(run, 0, sizeof *run);
    if (fn == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "%s: the function to profile is NULL",
                          caller);
    if (zeus_monitor_devices(mon) == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "%s: invalid or destroyed monitor",
                          caller);
    s = read_options(caller, opts, &run->o);
    if (s == ZEUS_OK)
        s = check_options(caller, &run->o);
    if (s != ZEUS_OK)
        return s;
    run->gpu_count = (unsigned)zeus_monitor_gpu_indices(mon, run->gpu_index, ZEUS_MAX_GPUS);
    if (run->gpu_count == 0)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                          "%s: the monitor watches no GPU; profiling reads GPU energy and "
                          "temperature (create the monitor with at least one GPU)", caller);
    run->fn = fn;
    run->user = user;
    run->mon = mon;
    return ZEUS_OK;
}
