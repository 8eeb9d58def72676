/*
 * profile_internal.h - What the files of src/profile/ share: the state of one profiling
 * call, and the steps each file provides (options.c checks, trial.c runs the workload,
 * result.c does the arithmetic and the text, sweep.c the public entry points).
 */
#ifndef ZEUS_PROFILE_PROFILE_INTERNAL_H
#define ZEUS_PROFILE_PROFILE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "zeus/profile.h"

/* One call of a public profile function: its arguments, checked, and the calibration. */
struct zeus__profile_run {
    zeus_profile_fn fn;
    void *user;
    zeus_monitor *mon;
    zeus_profile_options o; /* the caller's options over the defaults, checked */
    unsigned gpu_count;
    unsigned gpu_index[ZEUS_MAX_GPUS];
    double iteration_s; /* seconds per call of fn, once calibrated */
};

/* ---- options.c ---------------------------------------------------------------------------- */

/* The swept values when a range is NULL: 1.0, 2.0, ..., 10.0 s, as Zeus. */
extern const double zeus__profile_default_range[10];

/*
 * Fill `run` from the caller's arguments and check them all, before anything runs. `caller`
 * names the public function in the detail. ZEUS_ERR_INVALID_ARGUMENT on any bad one.
 */
zeus_status zeus__profile_start(struct zeus__profile_run *run, const char *caller,
                                zeus_profile_fn fn, void *user, zeus_monitor *mon,
                                const zeus_profile_options *opts);

/* Check a duration argument of a public function (finite, >= 0, not absurdly long). */
zeus_status zeus__profile_check_duration(const char *caller, const char *name, double s);

/* ---- trial.c ------------------------------------------------------------------------------ */

/* Set run->iteration_s: opts->iteration_duration_s, or calibrated as Zeus does. */
zeus_status zeus__profile_calibrate(struct zeus__profile_run *run);

/* One trial: cooldown, `warmup_iterations` calls, the measured window; reduced across
 * processes. out: filled on ZEUS_OK. */
zeus_status zeus__profile_trial(struct zeus__profile_run *run, double cooldown_s,
                                double measurement_s, uint64_t warmup_iterations,
                                zeus_profile_trial *out);

/* Calls of fn that fill `seconds` at run->iteration_s each: ceil, at least one (Zeus). */
uint64_t zeus__profile_iterations(const struct zeus__profile_run *run, double seconds);

/* Hand a formatted line to the options' log callback, if any. */
void zeus__profile_log(const struct zeus__profile_run *run, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- result.c ----------------------------------------------------------------------------- */

/* Mean, sample standard deviation and averages of `n` >= 1 trials, as Zeus's
 * _build_sweep_result. `trials` is referenced, not copied. */
void zeus__profile_summarize(const zeus_profile_trial *trials, size_t n, double threshold_j,
                             double measurement_s, double cooldown_s,
                             zeus_profile_sweep_result *out);

/*
 * Allocate `out`'s arrays in one block for `n` swept values of `trials_per_value` trials
 * each, copy the values, and point every entry at its trials (`trials` gets the block's
 * trial array, to be filled). ZEUS_ERR_NO_MEMORY on failure, with `out` zeroed.
 */
zeus_status zeus__profile_report_alloc(zeus_profile_report *out, zeus_profile_param swept,
                                       const double *values, size_t n, double fixed_s,
                                       unsigned trials_per_value, zeus_profile_trial **trials);

/* The report's entry `i` as writable (the library fills what the caller only reads). */
zeus_profile_sweep_result *zeus__profile_entry(zeus_profile_report *r, size_t i);

/* Log the report the way Zeus logs SweepReport.__str__: a header, one aligned line each. */
void zeus__profile_log_report(const struct zeus__profile_run *run,
                              const zeus_profile_report *r);

#endif /* ZEUS_PROFILE_PROFILE_INTERNAL_H */
