/*
 * result.c - Profiling results: the statistics of a swept value (Zeus's
 * _build_sweep_result), their one-line text (SweepResult.__str__), the report's memory, and
 * the report as Zeus logs it (SweepReport.__str__).
 *
 * A report's arrays live in one block, entries first, then the trials, then the swept
 * values, so zeus_profile_report_fini() is a single free of `entries`. Every member is made
 * of doubles and 64-bit integers, so each array starts suitably aligned.
 */
#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile/profile_internal.h"
#include "util/error.h"

/* ---- Statistics --------------------------------------------------------------------------- */

void zeus__profile_summarize(const zeus_profile_trial *trials, size_t n, double threshold_j,
                             double measurement_s, double cooldown_s,
                             zeus_profile_sweep_result *out)
{
    double energy = 0, before = 0, after = 0, time = 0, total = 0, squares = 0;

    for (size_t i = 0; i < n; i++) {
        energy += trials[i].energy_per_iter_j;
        before += trials[i].temperature_before_c;
        after += trials[i].temperature_after_c;
        time += trials[i].total_time_s;
        total += trials[i].total_energy_j;
    }
    out->measurement_duration_s = measurement_s;
    out->cooldown_duration_s = cooldown_s;
    out->trials = trials;
    out->trial_count = n;
    out->energy_mean_j = energy / n;
    /* Two passes (mean, then squared deviations), as statistics.stdev: no cancellation. */
    for (size_t i = 0; i < n; i++) {
        double d = trials[i].energy_per_iter_j - out->energy_mean_j;
        squares += d * d;
    }
    out->energy_std_j = n >= 2 ? sqrt(squares / (double)(n - 1)) : 0.0;
    out->avg_temperature_before_c = before / n;
    out->avg_temperature_after_c = after / n;
    out->avg_total_time_s = time / n;
    out->avg_total_energy_j = total / n;
    out->is_valid = out->energy_std_j < threshold_j;
}

/* ---- Text --------------------------------------------------------------------------------- */

/* Everything after the swept value(s): shared by the result's line and the report's lines. */
static int format_tail(const zeus_profile_sweep_result *r, char *buf, size_t len)
{
    return snprintf(buf, len,
                    "mean=%.4f J  std=%.4f J  temp_before=%.1f \xc2\xb0" "C  "
                    "temp_after=%.1f \xc2\xb0" "C  [%s]",
                    r->energy_mean_j, r->energy_std_j, r->avg_temperature_before_c,
                    r->avg_temperature_after_c, r->is_valid ? "VALID" : "INVALID");
}

zeus_status zeus_profile_sweep_result_format(const zeus_profile_sweep_result *r, char *buf,
                                             size_t len)
{
    char tail[ZEUS_PROFILE_LINE_LEN];
    int n;

    if (r == NULL || buf == NULL || len == 0)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                          "zeus_profile_sweep_result_format: NULL argument or empty buffer");
    format_tail(r, tail, sizeof tail);
    n = snprintf(buf, len, "measurement=%.1f s  cooldown=%.1f s  %s", r->measurement_duration_s,
                 r->cooldown_duration_s, tail);
    if (n < 0 || (size_t)n >= len)
        return zeus__fail(ZEUS_ERR_INSUFFICIENT_SIZE,
                          "zeus_profile_sweep_result_format: the line needs %d bytes, %zu given",
                          n + 1, len);
    return ZEUS_OK;
}

const char *zeus_profile_param_name(zeus_profile_param param)
{
    switch (param) {
    case ZEUS_PROFILE_MEASUREMENT_DURATION:
        return "measurement_duration";
    case ZEUS_PROFILE_COOLDOWN_DURATION:
        return "cooldown_duration";
    }
    return NULL;
}

/* Zeus's report prefix, "<swept name>=<value> s", for entry `e`. */
static void entry_prefix(const zeus_profile_report *r, const zeus_profile_sweep_result *e,
                         char *buf, size_t len)
{
    double v = r->sweep_param == ZEUS_PROFILE_COOLDOWN_DURATION ? e->cooldown_duration_s
                                                                 : e->measurement_duration_s;
    snprintf(buf, len, "%s=%.1f s", zeus_profile_param_name(r->sweep_param), v);
}

void zeus__profile_log_report(const struct zeus__profile_run *run,
                              const zeus_profile_report *r)
{
    char prefix[128], tail[ZEUS_PROFILE_LINE_LEN];
    int width = 0;

    if (run->o.log == NULL)
        return;
    for (size_t i = 0; i < r->entry_count; i++) {
        entry_prefix(r, &r->entries[i], prefix, sizeof prefix);
        if ((int)strlen(prefix) > width)
            width = (int)strlen(prefix);
    }
    zeus__profile_log(run, "Sweep %s (fixed %s=%.1f s):", zeus_profile_param_name(r->sweep_param),
                      zeus_profile_param_name(r->fixed_param), r->fixed_value_s);
    for (size_t i = 0; i < r->entry_count; i++) {
        entry_prefix(r, &r->entries[i], prefix, sizeof prefix);
        format_tail(&r->entries[i], tail, sizeof tail);
        zeus__profile_log(run, "  %-*s  %s", width, prefix, tail);
    }
}

/* ---- Report memory ------------------------------------------------------------------------ */

zeus_status zeus__profile_report_alloc(zeus_profile_report *out, zeus_profile_param swept,
                                       const double *values, size_t n, double fixed_s,
                                       unsigned trials_per_value, zeus_profile_trial **trials)
{
    size_t entries_b, trials_b, values_b;
    zeus_profile_sweep_result *entries;
    char *block;

    memset(out, 0, sizeof *out);
    assert(n > 0); /* ranges are checked non-empty before anything runs */
    if (n > SIZE_MAX / 4 / sizeof *entries || trials_per_value > SIZE_MAX / 4 / sizeof **trials / n)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "profile: %zu values x %u trials is too many", n,
                          trials_per_value);
    entries_b = n * sizeof *entries;
    trials_b = n * trials_per_value * sizeof **trials;
    values_b = n * sizeof *values;
    block = calloc(1, entries_b + trials_b + values_b);
    if (block == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "profile: out of memory for a report of %zu values",
                          n);
    entries = (zeus_profile_sweep_result *)block;
    *trials = (zeus_profile_trial *)(block + entries_b);
    memcpy(block + entries_b + trials_b, values, values_b);
    for (size_t i = 0; i < n; i++) {
        entries[i].trials = *trials + i * trials_per_value;
        entries[i].trial_count = trials_per_value;
    }
    out->sweep_param = swept;
    out->fixed_param = swept == ZEUS_PROFILE_COOLDOWN_DURATION ? ZEUS_PROFILE_MEASUREMENT_DURATION
                                                               : ZEUS_PROFILE_COOLDOWN_DURATION;
    out->fixed_value_s = fixed_s;
    out->sweep_values_s = (const double *)(block + entries_b + trials_b);
    out->sweep_value_count = n;
    out->entries = entries;
    out->entry_count = n;
    return ZEUS_OK;
}

zeus_profile_sweep_result *zeus__profile_entry(zeus_profile_report *r, size_t i)
{
    return (zeus_profile_sweep_result *)&r->entries[i]; /* the library's own block */
}

void zeus_profile_report_fini(zeus_profile_report *report)
{
    if (report == NULL)
        return;
    free((void *)report->entries); /* the whole block (see the head of this file) */
    memset(report, 0, sizeof *report);
}
