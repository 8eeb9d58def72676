/*
 * period.c - Inferring the poll period of the power monitor from how often the GPUs' power
 * readings change: Zeus's infer_counter_update_period (zeus-core.md 2.3), made to work when
 * a read costs a third of a microsecond.
 *
 * Zeus takes 1,000 back-to-back readings, finds the times at which the value changed, and
 * returns half the shortest interval between changes (poll twice per update), at most 0.1 s.
 * Concept: 1,000 reads span several updates. Reality: from C a power read costs 0.28-0.35 us
 * on an H100 (reference/GPU-MEASUREMENTS.md), so 1,000 reads span 0.3 ms and never see the
 * ~100 ms updates; Zeus's own fallback (0.1 s, halved to 0.05 s) would decide every time.
 *
 * So the readings are watched for a time instead of a count: every GPU model at once, one
 * read each per round with a short pause between rounds, until each model has shown a few
 * change intervals or the time budget (1 s) runs out. The shortest interval alone is at the
 * mercy of one late poll (the thread can be descheduled for milliseconds); the median of the
 * intervals within 1.5x of the shortest is used instead, which is the update period whenever
 * most updates change the value (power in milliwatts almost always does) and still the
 * shortest period when some updates repeat a value (their intervals are 2x and are left out).
 *
 * Only the public device API is used: this is what a user could do, at the same cost.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "monitor/period.h"
#include "util/clock.h"
#include "util/error.h"

#define MAX_CHANGES 64
#define DEFAULT_BUDGET_S 1.0
#define DEFAULT_INTERVALS 3
#define DEFAULT_POLL_GAP_NS 100000

/* Zeus's per-model fallbacks, before halving. */
#define NO_POWER_S 0.2
#define NO_CHANGES_S 0.1

/* One GPU model being watched: its first GPU, the domain read, and the changes seen. */
struct model {
    char name[96];
    unsigned gpu;
    int has_power;
    zeus_power_domain domain;
    int have_last;
    double last_w;
    int64_t change_ns[MAX_CHANGES];
    size_t changes;
};

/* ---- The estimate ----------------------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int64_t zeus__period_from_changes(const int64_t *change_ns, size_t n)
{
    int64_t d[MAX_CHANGES];
    size_t k = 0, fast;

    if (n < 2)
        return 0;
    if (n > MAX_CHANGES)
        n = MAX_CHANGES;
    for (size_t i = 1; i < n; i++)
        if (change_ns[i] > change_ns[i - 1])
            d[k++] = change_ns[i] - change_ns[i - 1];
    if (k == 0)
        return 0;
    qsort(d, k, sizeof *d, cmp_i64);
    /* The cluster of fastest intervals: within 1.5x of the shortest. */
    for (fast = 1; fast < k && d[fast] * 2 <= d[0] * 3; fast++)
        ;
    return (d[(fast - 1) / 2] + d[fast / 2]) / 2;
}

/* ---- Watching the readings -------------------------------------------------------------- */

/* The first GPU of each distinct model, with the domain to read (instant, else average). */
static zeus_status find_models(zeus_devices *devs, const unsigned *gpus, size_t count,
                               struct model *models, unsigned *n)
{
    *n = 0;
    for (size_t i = 0; i < count; i++) {
        zeus_gpu_info info;
        zeus_status s = zeus_gpu_get_info(devs, gpus[i], &info);
        unsigned k;

        if (s != ZEUS_OK)
            return s;
        for (k = 0; k < *n && strcmp(models[k].name, info.name) != 0; k++)
            ;
        if (k < *n)
            continue;
        memset(&models[k], 0, sizeof models[k]);
        snprintf(models[k].name, sizeof models[k].name, "%s", info.name);
        models[k].gpu = gpus[i];
        models[k].has_power = (info.supports & (ZEUS_GPU_POWER_INSTANT | ZEUS_GPU_POWER_AVERAGE))
                              != 0;
        models[k].domain = (info.supports & ZEUS_GPU_POWER_INSTANT) ? ZEUS_POWER_DEVICE_INSTANT
                                                                     : ZEUS_POWER_DEVICE_AVERAGE;
        (*n)++;
    }
    return ZEUS_OK;
}

/* Read model m once; returns 1 once it has seen enough changes (or cannot be read). */
static int watch_once(zeus_devices *devs, struct model *m, size_t wanted_changes)
{
    double w;
    int64_t t;

    if (!m->has_power || m->changes >= wanted_changes)
        return 1;
    t = zeus__now_ns();
    if (zeus_gpu_get_power(devs, m->gpu, m->domain, &w) != ZEUS_OK)
        return 0; /* a failed read is not a change; the budget bounds the wait */
    if (m->have_last && w != m->last_w && m->changes < MAX_CHANGES)
        m->change_ns[m->changes++] = t;
    m->have_last = 1;
    m->last_w = w;
    return m->changes >= wanted_changes;
}

zeus_status zeus__infer_update_period(zeus_devices *devs, const unsigned *gpus, size_t count,
                                      const zeus__period_options *opts,
                                      zeus__period_report *out)
{
    struct model *models;
    double budget_s = opts && opts->budget_s > 0 ? opts->budget_s : DEFAULT_BUDGET_S;
    unsigned intervals = opts && opts->intervals > 0 ? opts->intervals : DEFAULT_INTERVALS;
    int64_t gap_ns = opts && opts->poll_gap_ns > 0 ? opts->poll_gap_ns : DEFAULT_POLL_GAP_NS;
    size_t wanted = intervals + 1 < MAX_CHANGES ? intervals + 1 : MAX_CHANGES;
    int64_t deadline;
    double fastest_s = 0;
    unsigned n;
    zeus_status s;

    if (out == NULL || gpus == NULL || count == 0)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "update period inference needs GPUs");
    models = calloc(count, sizeof *models);
    if (models == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory inferring the update period");
    s = find_models(devs, gpus, count, models, &n);
    if (s != ZEUS_OK) {
        free(models);
        return s;
    }

    deadline = zeus__now_ns() + (int64_t)(budget_s * 1e9);
    for (;;) {
        int done = 1;
        for (unsigned k = 0; k < n; k++)
            done &= watch_once(devs, &models[k], wanted);
        if (done || zeus__now_ns() >= deadline)
            break;
        zeus__sleep_ns(gap_ns);
    }

    memset(out, 0, sizeof *out);
    out->models = n;
    for (unsigned k = 0; k < n; k++) {
        double model_s;
        if (!models[k].has_power) {
            model_s = NO_POWER_S;
            out->models_without_power++;
        } else if (models[k].changes < 2) {
            model_s = NO_CHANGES_S;
            out->models_without_changes++;
        } else {
            model_s = (double)zeus__period_from_changes(models[k].change_ns, models[k].changes) *
                      1e-9;
        }
        if (k == 0 || model_s < fastest_s)
            fastest_s = model_s;
    }
    free(models);
    out->fastest_s = fastest_s;
    out->period_s = fastest_s / 2;
    if (out->period_s > ZEUS__PERIOD_MAX_S) {
        out->period_s = ZEUS__PERIOD_MAX_S;
        out->clamped = 1;
    }
    return ZEUS_OK;
}
