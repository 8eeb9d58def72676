/*
 * sweep.c - The public profile functions: zeus_profile_measure() and the sweeps (Zeus's
 * measure, profile_measurement_duration, profile_cooldown_duration, profile_parameters).
 *
 * Each public function checks everything first (options.c), calibrates once (trial.c), and
 * runs its trials in Zeus's order. A sweep's warmup trials use no cooldown, no warmup
 * iterations and the longest measurement duration; zeus_profile_parameters() runs them
 * before its first sweep only. On any failure the outputs are zeroed.
 */
#include <math.h>
#include <string.h>

#include "profile/profile_internal.h"
#include "util/error.h"

/* One sweep: which duration varies over which values, and the other one's value. */
struct sweep {
    zeus_profile_param param;
    const double *values;
    size_t count;
    double fixed_s;
    unsigned warmup_trials;
};

/* The range for `param`: the options' one, or Zeus's default 1..10 s. */
static void range_of(const zeus_profile_options *o, zeus_profile_param param,
                     const double **values, size_t *count)
{
    const double *v = param == ZEUS_PROFILE_COOLDOWN_DURATION ? o->cooldown_durations_s
                                                                : o->measurement_durations_s;
    size_t n = param == ZEUS_PROFILE_COOLDOWN_DURATION ? o->cooldown_duration_count
                                                       : o->measurement_duration_count;
    if (v == NULL) {
        v = zeus__profile_default_range;
        n = sizeof zeus__profile_default_range / sizeof *zeus__profile_default_range;
    }
    *values = v;
    *count = n;
}

static double max_of(const double *values, size_t n)
{
    double m = values[0];

    for (size_t i = 1; i < n; i++)
        m = fmax(m, values[i]);
    return m;
}

/* ---- Sweeps ------------------------------------------------------------------------------- */

static zeus_status warmup_trials(struct zeus__profile_run *run, const struct sweep *sw)
{
    double measure_s = sw->param == ZEUS_PROFILE_COOLDOWN_DURATION ? sw->fixed_s
                                                                    : max_of(sw->values, sw->count);
    zeus_profile_trial thrown_away;

    if (sw->warmup_trials == 0)
        return ZEUS_OK;
    zeus__profile_log(run, "Running %u warmup trial(s)", sw->warmup_trials);
    for (unsigned i = 0; i < sw->warmup_trials; i++) {
        zeus_status s = zeus__profile_trial(run, 0, measure_s, 0, &thrown_away);
        if (s != ZEUS_OK)
            return s;
        zeus__profile_log(run, "Warmup trial %u/%u done", i + 1, sw->warmup_trials);
    }
    return ZEUS_OK;
}

/* The trials of swept value `i`, summarized into the report's entry `i`. */
static zeus_status sweep_value(struct zeus__profile_run *run, const struct sweep *sw, size_t i,
                               zeus_profile_trial *trials, zeus_profile_report *out)
{
    int cooldown_sweep = sw->param == ZEUS_PROFILE_COOLDOWN_DURATION;
    double cooldown_s = cooldown_sweep ? sw->values[i] : sw->fixed_s;
    double measure_s = cooldown_sweep ? sw->fixed_s : sw->values[i];
    unsigned n = run->o.num_trials;

    zeus__profile_log(run, "Starting %s=%.1f s  [%u trials]", zeus_profile_param_name(sw->param),
                      sw->values[i], n);
    for (unsigned t = 0; t < n; t++) {
        zeus_status s = zeus__profile_trial(run, cooldown_s, measure_s,
                                            run->o.num_warmup_iterations, &trials[t]);
        if (s != ZEUS_OK)
            return s;
        zeus__profile_log(run, "Trial %u/%u done", t + 1, n);
    }
    zeus__profile_summarize(trials, n, run->o.trial_stddev_threshold_j, measure_s, cooldown_s,
                            zeus__profile_entry(out, i));
    return ZEUS_OK;
}

static zeus_status sweep(struct zeus__profile_run *run, const struct sweep *sw,
                         zeus_profile_report *out)
{
    zeus_profile_trial *trials;
    zeus_status s = zeus__profile_report_alloc(out, sw->param, sw->values, sw->count, sw->fixed_s,
                                               run->o.num_trials, &trials);

    if (s == ZEUS_OK)
        zeus__profile_log(run, "Sweeping %s (%s fixed at %.1f s)",
                          zeus_profile_param_name(sw->param),
                          sw->param == ZEUS_PROFILE_COOLDOWN_DURATION ? "measurement" : "cooldown",
                          sw->fixed_s);
    if (s == ZEUS_OK)
        s = warmup_trials(run, sw);
    for (size_t i = 0; s == ZEUS_OK && i < sw->count; i++)
        s = sweep_value(run, sw, i, trials + i * run->o.num_trials, out);
    if (s != ZEUS_OK) {
        zeus_profile_report_fini(out);
        return s;
    }
    zeus__profile_log_report(run, out);
    return ZEUS_OK;
}

/* ---- Public entry points ------------------------------------------------------------------ */

zeus_status zeus_profile_measure(zeus_profile_fn fn, void *user, zeus_monitor *mon,
                                 double measurement_duration_s, double cooldown_duration_s,
                                 const zeus_profile_options *opts, zeus_profile_trial *out)
{
    static const char caller[] = "zeus_profile_measure";
    struct zeus__profile_run run;
    uint64_t warmup;
    zeus_status s;

    if (out == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "%s: out is NULL", caller);
    memset(out, 0, sizeof *out);
    s = zeus__profile_start(&run, caller, fn, user, mon, opts);
    if (s == ZEUS_OK)
        s = zeus__profile_check_duration(caller, "measurement_duration_s", measurement_duration_s);
    if (s == ZEUS_OK)
        s = zeus__profile_check_duration(caller, "cooldown_duration_s", cooldown_duration_s);
    if (s == ZEUS_OK)
        s = zeus__profile_calibrate(&run);
    if (s != ZEUS_OK)
        return s;
    warmup = run.o.num_warmup_iterations;
    if (!isnan(run.o.warmup_settle_duration_s))
        warmup = zeus__profile_iterations(&run, run.o.warmup_settle_duration_s);
    s = zeus__profile_trial(&run, cooldown_duration_s, measurement_duration_s, warmup, out);
    if (s != ZEUS_OK)
        memset(out, 0, sizeof *out);
    return s;
}

/* The measurement sweep or the cooldown sweep alone, with the options' fixed value. */
static zeus_status one_sweep(const char *caller, zeus_profile_param param, zeus_profile_fn fn,
                             void *user, zeus_monitor *mon, const zeus_profile_options *opts,
                             zeus_profile_report *out)
{
    struct zeus__profile_run run;
    struct sweep sw = {.param = param};
    zeus_status s;

    if (out == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "%s: out is NULL", caller);
    memset(out, 0, sizeof *out);
    s = zeus__profile_start(&run, caller, fn, user, mon, opts);
    if (s == ZEUS_OK)
        s = zeus__profile_calibrate(&run);
    if (s != ZEUS_OK)
        return s;
    range_of(&run.o, param, &sw.values, &sw.count);
    sw.fixed_s = param == ZEUS_PROFILE_COOLDOWN_DURATION ? run.o.measurement_duration_s
                                                          : run.o.cooldown_duration_s;
    sw.warmup_trials = run.o.num_warmup_trials;
    return sweep(&run, &sw, out);
}

zeus_status zeus_profile_measurement_duration(zeus_profile_fn fn, void *user, zeus_monitor *mon,
                                              const zeus_profile_options *opts,
                                              zeus_profile_report *out)
{
    return one_sweep("zeus_profile_measurement_duration", ZEUS_PROFILE_MEASUREMENT_DURATION, fn,
                     user, mon, opts, out);
}

zeus_status zeus_profile_cooldown_duration(zeus_profile_fn fn, void *user, zeus_monitor *mon,
                                           const zeus_profile_options *opts,
                                           zeus_profile_report *out)
{
    return one_sweep("zeus_profile_cooldown_duration", ZEUS_PROFILE_COOLDOWN_DURATION, fn, user,
                     mon, opts, out);
}

zeus_status zeus_profile_parameters(zeus_profile_fn fn, void *user, zeus_monitor *mon,
                                    const zeus_profile_options *opts,
                                    zeus_profile_report *measurement_out,
                                    zeus_profile_report *cooldown_out)
{
    static const char caller[] = "zeus_profile_parameters";
    struct zeus__profile_run run;
    struct sweep m = {.param = ZEUS_PROFILE_MEASUREMENT_DURATION};
    struct sweep c = {.param = ZEUS_PROFILE_COOLDOWN_DURATION};
    zeus_status s;

    if (measurement_out == NULL || cooldown_out == NULL || measurement_out == cooldown_out)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                          "%s: measurement_out and cooldown_out must be two reports", caller);
    memset(measurement_out, 0, sizeof *measurement_out);
    memset(cooldown_out, 0, sizeof *cooldown_out);
    s = zeus__profile_start(&run, caller, fn, user, mon, opts);
    if (s == ZEUS_OK)
        s = zeus__profile_calibrate(&run);
    if (s != ZEUS_OK)
        return s;
    range_of(&run.o, m.param, &m.values, &m.count);
    range_of(&run.o, c.param, &c.values, &c.count);
    m.fixed_s = max_of(c.values, c.count);
    m.warmup_trials = run.o.num_warmup_trials;
    c.fixed_s = max_of(m.values, m.count);
    c.warmup_trials = 0; /* the GPU is warm from the first sweep */
    s = sweep(&run, &m, measurement_out);
    if (s == ZEUS_OK && (s = sweep(&run, &c, cooldown_out)) != ZEUS_OK)
        zeus_profile_report_fini(measurement_out);
    return s;
}
