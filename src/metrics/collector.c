/*
 * collector.c - The node collector behind `zeus exporter`: samples every device in the
 * background and renders the exported metrics (zeus/metrics.h, EXPORTED METRICS) in the
 * Prometheus text format on demand.
 *
 * Why here and not in the command: the command uses the public API only, and the public API
 * has no cheap "cumulative GPU energy now". The GPU sampler (monitor/sampler.h) has it: its
 * channels read NVML's counter right after each update on their own threads, and
 * zeus__channel_energy_at() answers from that series under a lock. So a scrape never calls
 * NVML's energy counter (2.7 ms p50, 15 ms p99 on an H100, reference/GPU-MEASUREMENTS.md),
 * and a storm of scrapes costs the GPU nothing.
 *
 * DESIGN NOTES
 *
 * 1. GPU energy is the sampler's cumulative value at its latest counter update: the NVML
 *    counter (joules since the driver loaded), never extrapolated, so the series follows the
 *    device's counter and cannot overshoot it (extrapolating the last slope over a failing
 *    GPU kept the series rising at the old rate, then flat until the counter caught up;
 *    issue 9). While the GPU fails past one counter step the series is left out (note 3),
 *    and after recovery it continues from the counter. The exported value is still clamped
 *    to never go below what was exported before (a concurrent scrape), except after a
 *    counter reset the sampler saw (driver reload), which Prometheus handles as a counter
 *    reset. The clamp state is per GPU under `clamp_lock`. A power series whose latest read
 *    failed is left out too: its last value is not the current power.
 * 2. RAPL energy is read on the scrape path (a file read through the RAPL backend, which
 *    widens wraps with its own poller). CPU power and GPU power limits are read by one
 *    background thread every `period_s`, so the power is a steady average over the period
 *    and does not depend on how often, or by how many servers, the exporter is scraped.
 * 3. A value that could not be read is left out of the output, never written as 0, and the
 *    failure is counted (zeus_cpu_read_failures_total, zeus_gpu_read_failures_total).
 * 4. All of a family's samples are written together, as the text format requires, so the
 *    renderer loops family by family, then device by device.
 * 5. What a GPU's values cover (Grace Hopper's module scope, a MIG GPU's whole-GPU values)
 *    and its vendor are labels of one info series, zeus_gpu_info, not of every series: a
 *    label on the energy counter would start a new series (a counter reset to Prometheus)
 *    whenever MIG mode is switched, and the usual join on index selects by them anyway.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/periodic.h"
#include "metrics/prom_text.h"
#include "monitor/sampler.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/options.h"
#include "zeus/metrics.h"
#include "zeus/power.h"
#include "zeus/version.h"

#define COLLECTOR_MAGIC 0x5a4d4331u /* "ZMC1" */
#define DEFAULT_PERIOD_S 1.0
#define KEEP_SAMPLES 64 /* the exporter reads the latest sample only */

struct gpu {
    unsigned index;
    zeus_gpu_info info;
    const char *backend; /* "nvml", "amdsmi" (libzeus's static name) */
    struct zeus__channel *ch;
    unsigned domains; /* ZEUS_DOMAIN_BIT()s sampled */
    int has_temperature;
    int has_limit;
    /* Background (note 2), under collector lock. */
    double limit_w;
    int limit_valid;
    /* Clamp (note 1), under clamp_lock. */
    double exported_j;
    uint64_t exported_resets;
    int exported;
};

struct cpu {
    unsigned index;
    zeus_cpu_info info;
    /* Background (note 2), under collector lock. */
    double last_cpu_j, last_dram_j;
    int64_t last_t_ns;
    int have_last;
    double cpu_w, dram_w; /* NAN until two reads */
    uint64_t failures;
};

struct zeus_metrics_collector {
    unsigned magic;
    zeus_devices *devs;
    struct gpu *gpus;
    unsigned gpu_count;
    struct cpu *cpus;
    unsigned cpu_count;
    struct zeus__periodic *thread;
    pthread_mutex_t lock;       /* the background values */
    pthread_mutex_t clamp_lock; /* note 1 */
};

void zeus_metrics_collector_options_init(zeus_metrics_collector_options *opts)
{
    if (opts == NULL)
        return;
    memset(opts, 0, sizeof *opts);
    opts->size = sizeof *opts;
}

void zeus_metrics_free(char *text)
{
    free(text);
}

/* ---- Background reads (note 2) ----------------------------------------------------------- */

static void refresh(void *user, int last)
{
    zeus_metrics_collector *c = user;

    if (last)
        return;
    for (unsigned i = 0; i < c->cpu_count; i++) {
        struct cpu *x = &c->cpus[i];
        zeus_cpu_energy e;
        zeus_status s = zeus_cpu_get_energy(c->devs, x->index, &e);
        int64_t now = zeus__now_ns();
        pthread_mutex_lock(&c->lock);
        if (s != ZEUS_OK) {
            x->failures++;
            x->cpu_w = x->dram_w = NAN; /* note 3: no average for this period, not a stale one */
            x->have_last = 0;
        } else {
            if (x->have_last && now > x->last_t_ns) {
                double dt = (double)(now - x->last_t_ns) * 1e-9;
                x->cpu_w = (e.cpu_j - x->last_cpu_j) / dt;
                x->dram_w = isnan(e.dram_j) ? NAN : (e.dram_j - x->last_dram_j) / dt;
            }
            x->last_cpu_j = e.cpu_j;
            x->last_dram_j = e.dram_j;
            x->last_t_ns = now;
            x->have_last = 1;
        }
        pthread_mutex_unlock(&c->lock);
    }
    for (unsigned i = 0; i < c->gpu_count; i++) {
        struct gpu *g = &c->gpus[i];
        double w;
        zeus_status s;
        if (!g->has_limit)
            continue;
        s = zeus_gpu_get_power_limit(c->devs, g->index, &w);
        pthread_mutex_lock(&c->lock);
        g->limit_valid = s == ZEUS_OK;
        if (s == ZEUS_OK)
            g->limit_w = w;
        pthread_mutex_unlock(&c->lock);
    }
}

/* ---- Life cycle -------------------------------------------------------------------------- */

static int valid(const zeus_metrics_collector *c)
{
    return c != NULL && c->magic == COLLECTOR_MAGIC;
}

static void release_all(zeus_metrics_collector *c)
{
    zeus__periodic_stop(c->thread);
    for (unsigned i = 0; c->gpus != NULL && i < c->gpu_count; i++)
        zeus__channel_release(c->gpus[i].ch);
    free(c->gpus);
    free(c->cpus);
    zeus_devices_destroy(c->devs);
    pthread_mutex_destroy(&c->clamp_lock);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static zeus_status add_gpu(zeus_metrics_collector *c, unsigned index)
{
    struct gpu *g = &c->gpus[c->gpu_count];
    zeus__sampler_request req = {0};
    zeus_status s = zeus_gpu_get_info(c->devs, index, &g->info);

    if (s != ZEUS_OK)
        return s;
    g->index = index;
    g->backend = zeus_gpu_get_backend(c->devs, index);
    if (g->info.supports & ZEUS_GPU_POWER_INSTANT)
        g->domains |= ZEUS_DOMAIN_BIT(ZEUS_POWER_DEVICE_INSTANT);
    if (g->info.supports & ZEUS_GPU_POWER_AVERAGE)
        g->domains |= ZEUS_DOMAIN_BIT(ZEUS_POWER_DEVICE_AVERAGE);
    if (g->info.supports & ZEUS_GPU_POWER_MEMORY)
        g->domains |= ZEUS_DOMAIN_BIT(ZEUS_POWER_MEMORY_AVERAGE);
    g->has_temperature = (g->info.supports & ZEUS_GPU_TEMPERATURE) != 0;
    g->has_limit = (g->info.supports & ZEUS_GPU_POWER_LIMIT) != 0;
    req.power_domains = g->domains;
    req.temperature = g->has_temperature;
    req.max_samples = KEEP_SAMPLES;
    s = zeus__channel_acquire(c->devs, index, &req, &g->ch);
    if (s != ZEUS_OK)
        return zeus__fail_prefix(s, "GPU %u", index);
    /* the first scrape should find the energy series, which needs a counter update */
    zeus__channel_wait_updates(g->ch);
    c->gpu_count++;
    return ZEUS_OK;
}

static zeus_status add_cpu(zeus_metrics_collector *c, unsigned index, int must_read)
{
    struct cpu *x = &c->cpus[c->cpu_count];
    zeus_cpu_energy e;
    zeus_status s = zeus_cpu_get_info(c->devs, index, &x->info);

    if (s != ZEUS_OK)
        return s;
    if (!must_read && zeus_cpu_get_energy(c->devs, index, &e) != ZEUS_OK)
        return ZEUS_OK; /* "all": leave out what cannot be read */
    x->index = index;
    x->cpu_w = x->dram_w = NAN;
    c->cpu_count++;
    return ZEUS_OK;
}

zeus_status zeus_metrics_collector_create(const zeus_metrics_collector_options *opts,
                                          zeus_metrics_collector **out)
{
    zeus_metrics_collector_options o;
    zeus_metrics_collector *c;
    zeus_status s;
    unsigned n;

    if (out == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "out is NULL");
    zeus_metrics_collector_options_init(&o);
    if (opts != NULL &&
        (s = zeus__options_read(&o, sizeof o, opts,
                                offsetof(zeus_metrics_collector_options, period_s),
                                "zeus_metrics_collector_options")) != ZEUS_OK)
        return s;
    if (!isfinite(o.period_s) || o.period_s < 0)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "period %g s is not >= 0", o.period_s);
    c = calloc(1, sizeof *c);
    if (c == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
    pthread_mutex_init(&c->lock, NULL);
    pthread_mutex_init(&c->clamp_lock, NULL);
    if ((s = zeus_devices_create(&c->devs)) != ZEUS_OK) {
        release_all(c);
        return s;
    }
    c->gpus = calloc(ZEUS_MAX_GPUS, sizeof *c->gpus);
    c->cpus = calloc(ZEUS_MAX_CPUS, sizeof *c->cpus);
    if (c->gpus == NULL || c->cpus == NULL) {
        release_all(c);
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
    }
    n = o.gpu_indices ? (unsigned)o.gpu_index_count : zeus_devices_gpu_count(c->devs);
    if (n > ZEUS_MAX_GPUS)
        n = ZEUS_MAX_GPUS;
    for (unsigned i = 0; i < n && s == ZEUS_OK; i++)
        s = add_gpu(c, o.gpu_indices ? o.gpu_indices[i] : i);
    n = o.cpu_indices ? (unsigned)o.cpu_index_count : zeus_devices_cpu_count(c->devs);
    if (n > ZEUS_MAX_CPUS)
        n = ZEUS_MAX_CPUS;
    for (unsigned i = 0; i < n && s == ZEUS_OK; i++)
        s = add_cpu(c, o.cpu_indices ? o.cpu_indices[i] : i, o.cpu_indices != NULL);
    if (s == ZEUS_OK) {
        refresh(c, 0); /* first CPU reads and limits before the first scrape */
        s = zeus__periodic_start(o.period_s > 0 ? o.period_s : DEFAULT_PERIOD_S, refresh, c,
                                 &c->thread);
    }
    if (s != ZEUS_OK) {
        release_all(c);
        return s;
    }
    c->magic = COLLECTOR_MAGIC;
    *out = c;
    return ZEUS_OK;
}

void zeus_metrics_collector_destroy(zeus_metrics_collector *c)
{
    if (!valid(c))
        return;
    c->magic = 0;
    release_all(c);
}

/* ---- Rendering ---------------------------------------------------------------------------- */

/* What one scrape knows of a GPU, read before writing so each family loop is simple. */
struct gpu_view {
    char index[16];
    double energy_j; /* NAN: absent */
    double power_w[3];
    double temp_c;
    double limit_w;
    zeus__channel_stats stats;
};

struct cpu_view {
    char index[16];
    int ok;
    zeus_cpu_energy e;
    double cpu_w, dram_w;
    uint64_t failures;
};

static double gpu_energy(zeus_metrics_collector *c, struct gpu *g, int64_t now,
                         const zeus__channel_stats *st)
{
    zeus__energy_reading r;
    double v;

    zeus__channel_energy_at(g->ch, now, &r);
    if (!(r.flags & ZEUS_ENERGY_VALID) || isnan(r.energy_j))
        return NAN; /* note 3: failing past one counter step, or nothing read yet */
    if (st->last_update_ns > 0 && st->last_update_ns < now) {
        /* note 1: the device's own value at its latest update, never an extrapolation */
        zeus__channel_energy_at(g->ch, st->last_update_ns, &r);
        if (!(r.flags & ZEUS_ENERGY_VALID) || isnan(r.energy_j))
            return NAN;
    }
    v = r.energy_j;
    pthread_mutex_lock(&c->clamp_lock);
    if (g->exported && (st->resets < g->exported_resets ||
                        (st->resets == g->exported_resets && v < g->exported_j))) {
        /* note 1: an extrapolation overshot; or this scrape read the stats before a reset
         * that a concurrent scrape has already exported. Never go back. */
        v = g->exported_j;
    } else {
        g->exported_j = v;
        g->exported_resets = st->resets;
    }
    g->exported = 1;
    pthread_mutex_unlock(&c->clamp_lock);
    return v;
}

static void gpu_family(zeus__prom_buf *b, zeus_metrics_collector *c, const struct gpu_view *v,
                       const char *name, const char *help, const char *type, int field)
{
    int any = 0;

    for (unsigned i = 0; i < c->gpu_count; i++) {
        const struct gpu *g = &c->gpus[i];
        zeus__prom_label l[3] = {{"index", v[i].index}, {"uuid", g->info.uuid},
                                 {"name", g->info.name}};
        double x = NAN;
        switch (field) {
        case 0: x = v[i].energy_j; break;
        case 1: x = v[i].temp_c; break;
        case 2: x = v[i].limit_w; break;
        case 3: x = v[i].stats.counter_step_ns > 0 ? v[i].stats.counter_step_ns * 1e-9 : NAN;
            break;
        case 4: x = (double)v[i].stats.updates; break;
        case 5: x = (double)v[i].stats.resets; break;
        case 6: x = (double)v[i].stats.failures; break;
        }
        if (isnan(x))
            continue;
        if (!any)
            zeus__prom_family(b, name, help, type);
        any = 1;
        zeus__prom_sample(b, name, l, 3, NULL, NULL, x);
    }
}

static void gpu_power_family(zeus__prom_buf *b, zeus_metrics_collector *c,
                             const struct gpu_view *v)
{
    int any = 0;

    for (unsigned i = 0; i < c->gpu_count; i++)
        for (int d = 0; d < 3; d++) {
            const struct gpu *g = &c->gpus[i];
            zeus__prom_label l[3] = {{"index", v[i].index}, {"uuid", g->info.uuid},
                                     {"name", g->info.name}};
            if (isnan(v[i].power_w[d]))
                continue;
            if (!any)
                zeus__prom_family(b, "zeus_gpu_power_watts",
                                  "GPU power draw, latest sample, by domain", "gauge");
            any = 1;
            zeus__prom_sample(b, "zeus_gpu_power_watts", l, 3, "domain",
                              zeus_power_domain_name((zeus_power_domain)d), v[i].power_w[d]);
        }
}

/* Note 5: one series per GPU saying what its other series measure. */
static void gpu_info_family(zeus__prom_buf *b, zeus_metrics_collector *c,
                            const struct gpu_view *v)
{
    for (unsigned i = 0; i < c->gpu_count; i++) {
        const struct gpu *g = &c->gpus[i];
        const char *backend = g->backend != NULL ? g->backend : "";
        zeus__prom_label l[7] = {
            {"index", v[i].index},
            {"uuid", g->info.uuid},
            {"name", g->info.name},
            {"vendor", strcmp(backend, "amdsmi") == 0 ? "amd" : "nvidia"},
            {"backend", backend},
            {"power_scope", (g->info.supports & ZEUS_GPU_MODULE_SCOPE) ? "module" : "gpu"},
            {"mig", (g->info.supports & ZEUS_GPU_MIG) ? "true" : "false"}};
        if (i == 0)
            zeus__prom_family(b, "zeus_gpu_info",
                              "What a GPU's series measure: vendor, power scope, MIG mode",
                              "gauge");
        zeus__prom_sample(b, "zeus_gpu_info", l, 7, NULL, NULL, 1);
    }
}

static void cpu_family(zeus__prom_buf *b, zeus_metrics_collector *c, const struct cpu_view *v,
                       const char *name, const char *help, const char *type, int field)
{
    int any = 0;

    for (unsigned i = 0; i < c->cpu_count; i++) {
        zeus__prom_label l[2] = {{"index", v[i].index}, {"zone", c->cpus[i].info.name}};
        double x = NAN;
        switch (field) {
        case 0: x = v[i].ok ? v[i].e.cpu_j : NAN; break;
        case 1: x = v[i].ok ? v[i].e.dram_j : NAN; break;
        case 2: x = v[i].cpu_w; break;
        case 3: x = v[i].dram_w; break;
        case 4: x = v[i].ok ? (double)v[i].e.cpu_wraps : NAN; break;
        case 5: x = v[i].ok && !isnan(v[i].e.dram_j) ? (double)v[i].e.dram_wraps : NAN; break;
        case 6: x = (double)v[i].failures; break;
        }
        if (isnan(x))
            continue;
        if (!any)
            zeus__prom_family(b, name, help, type);
        any = 1;
        zeus__prom_sample(b, name, l, 2, NULL, NULL, x);
    }
}

/*
 * The SoC's rails (Jetson), read on the scrape path like RAPL (note 2): the backend
 * integrates in its own thread and the read integrates up to now. A rail the board lacks or
 * that cannot be read now is left out (note 3).
 */
static void soc_families(zeus__prom_buf *b, zeus_metrics_collector *c)
{
    zeus_soc_energy e = {.size = sizeof e};
    zeus_soc_info info;
    static const char *const names[2] = {"zeus_soc_energy_joules_total", "zeus_soc_power_watts"};
    static const char *const helps[2] = {
        "SoC rail energy (Jetson INA3221), integrated since the collector started",
        "SoC rail power (Jetson INA3221), latest read"};

    if (zeus_devices_soc_count(c->devs) == 0 || zeus_soc_get_info(c->devs, 0, &info) != ZEUS_OK ||
        zeus_soc_get_energy(c->devs, 0, &e) != ZEUS_OK)
        return;
    for (int f = 0; f < 2; f++) {
        int any = 0;
        for (unsigned k = 0; k < ZEUS_SOC_RAILS; k++) {
            zeus__prom_label l[2] = {{"rail", zeus_soc_rail_name((zeus_soc_rail)k)},
                                     {"label", info.rail_label[k]}};
            double x = f == 0 ? e.energy_j[k] : e.power_w[k];
            if (!(e.flags[k] & ZEUS_ENERGY_VALID) || isnan(x))
                continue;
            if (!any)
                zeus__prom_family(b, names[f], helps[f], f == 0 ? "counter" : "gauge");
            any = 1;
            zeus__prom_sample(b, names[f], l, 2, NULL, NULL, x);
        }
    }
}

zeus_status zeus_metrics_collector_render(zeus_metrics_collector *c, char **text, size_t *len)
{
    struct gpu_view gv[ZEUS_MAX_GPUS];
    struct cpu_view cv[ZEUS_MAX_CPUS];
    zeus__prom_buf b = {0};
    int64_t now;

    if (!valid(c) || text == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "bad collector or NULL text");
    now = zeus__now_ns();
    for (unsigned i = 0; i < c->gpu_count; i++) {
        struct gpu *g = &c->gpus[i];
        zeus__sample smp;
        snprintf(gv[i].index, sizeof gv[i].index, "%u", g->index);
        zeus__channel_stats_get(g->ch, &gv[i].stats);
        gv[i].energy_j = gpu_energy(c, g, now, &gv[i].stats);
        for (int d = 0; d < 3; d++)
            gv[i].power_w[d] = (g->domains & ZEUS_DOMAIN_BIT(d)) &&
                                       zeus__channel_series_current(g->ch, d) &&
                                       zeus__channel_sample_near(g->ch, d, now, &smp) == 0
                                   ? smp.value
                                   : NAN;
        gv[i].temp_c = g->has_temperature &&
                               zeus__channel_sample_near(g->ch, ZEUS__SERIES_TEMPERATURE, now,
                                                         &smp) == 0
                           ? smp.value
                           : NAN;
        pthread_mutex_lock(&c->lock);
        gv[i].limit_w = g->limit_valid ? g->limit_w : NAN;
        pthread_mutex_unlock(&c->lock);
    }
    for (unsigned i = 0; i < c->cpu_count; i++) {
        struct cpu *x = &c->cpus[i];
        zeus_status s = zeus_cpu_get_energy(c->devs, x->index, &cv[i].e);
        snprintf(cv[i].index, sizeof cv[i].index, "%u", x->index);
        cv[i].ok = s == ZEUS_OK;
        pthread_mutex_lock(&c->lock);
        if (s != ZEUS_OK)
            x->failures++;
        cv[i].cpu_w = x->cpu_w;
        cv[i].dram_w = x->dram_w;
        cv[i].failures = x->failures;
        pthread_mutex_unlock(&c->lock);
    }

    gpu_family(&b, c, gv, "zeus_gpu_energy_joules_total",
               "GPU energy since the driver loaded, from the sampled counter", "counter", 0);
    gpu_power_family(&b, c, gv);
    gpu_family(&b, c, gv, "zeus_gpu_temperature_celsius", "GPU core temperature, latest sample",
               "gauge", 1);
    gpu_family(&b, c, gv, "zeus_gpu_power_limit_watts", "GPU power limit", "gauge", 2);
    gpu_family(&b, c, gv, "zeus_gpu_energy_update_step_seconds",
               "Median interval between energy counter updates", "gauge", 3);
    gpu_family(&b, c, gv, "zeus_gpu_energy_updates_total",
               "Energy counter updates seen by the sampler", "counter", 4);
    gpu_family(&b, c, gv, "zeus_gpu_energy_resets_total",
               "Times the energy counter went backwards (driver reload)", "counter", 5);
    gpu_family(&b, c, gv, "zeus_gpu_read_failures_total", "Failed GPU reads by the sampler",
               "counter", 6);
    gpu_info_family(&b, c, gv);
    cpu_family(&b, c, cv, "zeus_cpu_energy_joules_total",
               "CPU package energy (RAPL) since the collector started", "counter", 0);
    cpu_family(&b, c, cv, "zeus_dram_energy_joules_total",
               "DRAM energy (RAPL) since the collector started", "counter", 1);
    cpu_family(&b, c, cv, "zeus_cpu_power_watts",
               "CPU package power, average over the last collector period", "gauge", 2);
    cpu_family(&b, c, cv, "zeus_dram_power_watts",
               "DRAM power, average over the last collector period", "gauge", 3);
    cpu_family(&b, c, cv, "zeus_cpu_energy_wraps_total",
               "CPU package RAPL counter wraparounds corrected", "counter", 4);
    cpu_family(&b, c, cv, "zeus_dram_energy_wraps_total",
               "DRAM RAPL counter wraparounds corrected", "counter", 5);
    cpu_family(&b, c, cv, "zeus_cpu_read_failures_total", "Failed RAPL reads", "counter", 6);
    soc_families(&b, c);
    {
        zeus__prom_label l[1] = {{"version", zeus_version()}};
        zeus__prom_family(&b, "zeus_exporter_build_info", "Zeus-C library version", "gauge");
        zeus__prom_sample(&b, "zeus_exporter_build_info", l, 1, NULL, NULL, 1);
    }
    if (b.oom) {
        zeus__prom_buf_fini(&b);
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory rendering metrics");
    }
    *text = b.data;
    if (len != NULL)
        *len = b.len;
    return ZEUS_OK;
}
