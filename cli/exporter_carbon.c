/*
 * exporter_carbon.c - `zeus exporter --carbon PROVIDER`: grams of CO2-equivalent per device
 * as Prometheus counters, and the provider's current carbon intensity as a gauge.
 *
 * An emission monitor (zeus/emission.h) over a monitor of the exporter's devices keeps one
 * window open; a thread ends and re-begins it every period and adds what each ended window
 * cost to running totals, so the counters rise as the hours are priced. A window the
 * provider has not priced yet (down, or no value for an hour) is kept and added, whole, once
 * it is: the counter then jumps, but no energy is left out or counted twice. Only the
 * microseconds between one window's end and the next's begin are not counted.
 *
 * METRICS
 *
 *   What:        zeus_carbon_intensity_grams_per_kwh (gauge)
 *   Since:       0.1
 *   Description: The provider's current carbon intensity, gCO2eq/kWh. Absent while the
 *                provider has not answered.
 *
 *   What:        zeus_gpu_carbon_grams_total{index,uuid,name} (counter),
 *                zeus_cpu_carbon_grams_total{index,zone}, zeus_dram_carbon_grams_total{index,zone}
 *   Since:       0.1
 *   Description: Grams of CO2-equivalent each device's energy caused since the exporter
 *                started, each hour's energy at that hour's intensity. The labels are those
 *                of zeus_gpu_energy_joules_total and zeus_cpu_energy_joules_total.
 */
#include "exporter_carbon.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WINDOW "zeus.exporter.carbon"
#define MAX_PENDING 4 /* ended windows awaiting a price (roll keeps it to one) */

struct exporter_carbon {
    zeus_rate_provider *provider;
    zeus_monitor *mon;
    zeus_emission_monitor *em;
    double period_s;

    pthread_mutex_t lock; /* guards what follows */
    pthread_cond_t wake;
    int stopping;
    double intensity; /* NAN until the provider answers */
    zeus_emission_measurement shape; /* devices and their indices */
    double gpu_g[ZEUS_MAX_GPUS], cpu_g[ZEUS_MAX_CPUS], dram_g[ZEUS_MAX_CPUS];
    uint64_t pending[MAX_PENDING];
    unsigned pending_count;
    pthread_t thread;
};

/* ---- Counting --------------------------------------------------------------------------- */

/* Add a priced window to the totals; caller holds the lock. */
static void add_window(struct exporter_carbon *c, const zeus_emission_measurement *m)
{
    for (unsigned i = 0; i < m->gpu_count; i++)
        if (isfinite(m->gpu_amount[i]))
            c->gpu_g[i] += m->gpu_amount[i];
    for (unsigned i = 0; i < m->cpu_count; i++) {
        if (isfinite(m->cpu_amount[i]))
            c->cpu_g[i] += m->cpu_amount[i];
        if (isfinite(m->dram_amount[i]))
            c->dram_g[i] += m->dram_amount[i];
    }
}

/* Price the kept windows that the provider now answers for. */
static void retry_pending(struct exporter_carbon *c)
{
    for (unsigned k = 0; k < c->pending_count;) {
        zeus_emission_measurement m;

        memset(&m, 0, sizeof m);
        m.size = sizeof m;
        if (zeus_emission_monitor_get(c->em, c->pending[k], &m) == ZEUS_ERR_PENDING) {
            k++;
            continue;
        }
        pthread_mutex_lock(&c->lock);
        add_window(c, &m);
        pthread_mutex_unlock(&c->lock);
        zeus_emission_monitor_forget(c->em, c->pending[k]);
        c->pending[k] = c->pending[--c->pending_count];
    }
}

/*
 * End the open window, count it (or keep it), begin the next. While a kept window waits for
 * the provider, the open one is left open rather than rolled: its closed hours are priced
 * as they pass (zeus/emission.h), and a provider down for a day costs one kept window, not
 * one per period. Only the thread calls this.
 */
static void roll(struct exporter_carbon *c)
{
    zeus_emission_measurement m;
    zeus_status s;
    double now;

    retry_pending(c);
    if (c->pending_count > 0)
        goto gauge;
    memset(&m, 0, sizeof m);
    m.size = sizeof m;
    s = zeus_emission_monitor_end_window(c->em, WINDOW, &m);
    zeus_emission_monitor_begin_window(c->em, WINDOW);
    if (s == ZEUS_ERR_PENDING) {
        if (c->pending_count == MAX_PENDING) {
            zeus_emission_monitor_forget(c->em, c->pending[0]);
            c->pending[0] = c->pending[--c->pending_count];
        }
        c->pending[c->pending_count++] = m.window_id;
    } else if (s != ZEUS_ERR_NOT_FOUND) {
        pthread_mutex_lock(&c->lock);
        add_window(c, &m);
        pthread_mutex_unlock(&c->lock);
        zeus_emission_monitor_forget(c->em, m.window_id);
    }
gauge:
    if (zeus_rate_provider_current(c->provider, &now) != ZEUS_OK || !isfinite(now))
        now = NAN;
    pthread_mutex_lock(&c->lock);
    c->intensity = now;
    pthread_mutex_unlock(&c->lock);
}

static void *thread_main(void *arg)
{
    struct exporter_carbon *c = arg;

    roll(c); /* the gauge at once */
    pthread_mutex_lock(&c->lock);
    while (!c->stopping) {
        struct timespec ts;
        double t;

        clock_gettime(CLOCK_REALTIME, &ts);
        t = (double)ts.tv_sec + ts.tv_nsec * 1e-9 + c->period_s;
        ts.tv_sec = (time_t)t;
        ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
        pthread_cond_timedwait(&c->wake, &c->lock, &ts);
        if (c->stopping)
            break;
        pthread_mutex_unlock(&c->lock);
        roll(c);
        pthread_mutex_lock(&c->lock);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

/* ---- Start and stop --------------------------------------------------------------------- */

static int fail(struct exporter_carbon *c, int code, const char *what)
{
    fprintf(stderr, "zeus exporter: --carbon: %s%s%s\n", what, *what ? ": " : "",
            zeus_last_error());
    zeus_emission_monitor_destroy(c->em);
    zeus_monitor_destroy(c->mon);
    zeus_rate_provider_close(c->provider);
    free(c);
    return code;
}

int exporter_carbon_start(const char *spec, const struct cli_device_list *gpus,
                          const struct cli_device_list *cpus, double period_s,
                          struct exporter_carbon **out)
{
    struct exporter_carbon *c = calloc(1, sizeof *c);
    zeus_monitor_options mo;
    zeus_emission_options eo;
    zeus_status s;

    if (c == NULL)
        return CLI_EXIT_FAILURE;
    c->period_s = period_s > 0 ? period_s : 1.0;
    c->intensity = NAN;
    s = zeus_rate_provider_open(spec, ZEUS_RATE_CARBON, &c->provider);
    if (s != ZEUS_OK)
        return fail(c, s == ZEUS_ERR_INVALID_ARGUMENT ? CLI_EXIT_USAGE : CLI_EXIT_FAILURE, spec);
    zeus_monitor_options_init(&mo);
    mo.gpu_indices = cli_device_list_indices(gpus, &mo.gpu_index_count);
    mo.cpu_indices = cli_device_list_indices(cpus, &mo.cpu_index_count);
    mo.warn = cli_warn;
    s = zeus_monitor_create(&mo, &c->mon);
    if (s != ZEUS_OK)
        return fail(c, s == ZEUS_ERR_NOT_FOUND || s == ZEUS_ERR_INVALID_ARGUMENT ? CLI_EXIT_USAGE
                                                                               : CLI_EXIT_FAILURE,
                    "");
    zeus_emission_options_init(&eo);
    eo.monitor = c->mon;
    if (zeus_emission_monitor_create(c->provider, &eo, &c->em) != ZEUS_OK ||
        zeus_emission_monitor_begin_window(c->em, WINDOW) != ZEUS_OK)
        return fail(c, CLI_EXIT_FAILURE, "");
    /* The shape (devices, indices, which packages have DRAM): an empty window's. */
    c->shape.size = sizeof c->shape;
    zeus_emission_monitor_begin_window(c->em, WINDOW ".shape");
    if (zeus_emission_monitor_end_window(c->em, WINDOW ".shape", &c->shape) == ZEUS_ERR_NOT_FOUND)
        return fail(c, CLI_EXIT_FAILURE, "");
    zeus_emission_monitor_forget(c->em, c->shape.window_id);
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->wake, NULL);
    if (pthread_create(&c->thread, NULL, thread_main, c) != 0) {
        pthread_cond_destroy(&c->wake);
        pthread_mutex_destroy(&c->lock);
        return fail(c, CLI_EXIT_FAILURE, "cannot start a thread");
    }
    *out = c;
    return 0;
}

void exporter_carbon_stop(struct exporter_carbon *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->lock);
    c->stopping = 1;
    pthread_cond_broadcast(&c->wake);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->thread, NULL);
    zeus_emission_monitor_destroy(c->em);
    zeus_monitor_destroy(c->mon);
    zeus_rate_provider_close(c->provider);
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* ---- Rendering -------------------------------------------------------------------------- */

struct text {
    char *s;
    size_t len, cap;
    int broken;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct text *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (t->broken)
        return;
    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->broken = 1;
            return;
        }
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        char *s = realloc(t->s, t->cap * 2 + (size_t)n + 1);
        if (s == NULL) {
            t->broken = 1;
            return;
        }
        t->s = s;
        t->cap = t->cap * 2 + (size_t)n + 1;
    }
}

/* A label value as the text format wants it: backslash, double quote and newline escaped. */
static void put_escaped(struct text *t, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            put(t, "\\%c", *v);
        else if (*v == '\n')
            put(t, "\\n");
        else
            put(t, "%c", *v);
    }
}

static void put_head(struct text *t, const char *name, const char *help, const char *type)
{
    put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void put_cpu_sample(struct text *t, zeus_devices *devs, const char *name, unsigned index,
                           double v)
{
    zeus_cpu_info info;

    if (zeus_cpu_get_info(devs, index, &info) != ZEUS_OK)
        snprintf(info.name, sizeof info.name, "package-%u", index);
    put(t, "%s{index=\"%u\",zone=\"", name, index);
    put_escaped(t, info.name);
    put(t, "\"} %.17g\n", v);
}

static void render_devices(struct exporter_carbon *c, struct text *t)
{
    const zeus_emission_measurement *m = &c->shape;
    zeus_devices *devs = zeus_monitor_devices(c->mon);

    if (m->gpu_count > 0)
        put_head(t, "zeus_gpu_carbon_grams_total",
                 "Grams of CO2-equivalent the GPU's energy caused since the exporter started",
                 "counter");
    for (unsigned i = 0; i < m->gpu_count; i++) {
        zeus_gpu_info info;

        memset(&info, 0, sizeof info);
        zeus_gpu_get_info(devs, m->gpu_index[i], &info);
        put(t, "zeus_gpu_carbon_grams_total{index=\"%u\",uuid=\"", m->gpu_index[i]);
        put_escaped(t, info.uuid);
        put(t, "\",name=\"");
        put_escaped(t, info.name);
        put(t, "\"} %.17g\n", c->gpu_g[i]);
    }
    if (m->cpu_count > 0)
        put_head(t, "zeus_cpu_carbon_grams_total",
                 "Grams of CO2-equivalent the CPU package's energy caused since the exporter "
                 "started", "counter");
    for (unsigned i = 0; i < m->cpu_count; i++)
        put_cpu_sample(t, devs, "zeus_cpu_carbon_grams_total", m->cpu_index[i], c->cpu_g[i]);
    for (unsigned i = 0, head = 0; i < m->cpu_count; i++) {
        if (isnan(m->dram_energy_j[i]))
            continue; /* a package without a DRAM zone has no DRAM sample */
        if (!head++)
            put_head(t, "zeus_dram_carbon_grams_total",
                     "Grams of CO2-equivalent the DRAM's energy caused since the exporter "
                     "started", "counter");
        put_cpu_sample(t, devs, "zeus_dram_carbon_grams_total", m->cpu_index[i], c->dram_g[i]);
    }
}

char *exporter_carbon_render(struct exporter_carbon *c, size_t *len)
{
    struct text t = {malloc(1024), 0, 1024, 0};

    if (t.s == NULL)
        return NULL;
    pthread_mutex_lock(&c->lock);
    put_head(&t, "zeus_carbon_intensity_grams_per_kwh",
             "Carbon intensity of the electricity now, from the provider, gCO2eq/kWh", "gauge");
    if (!isnan(c->intensity))
        put(&t, "zeus_carbon_intensity_grams_per_kwh %.17g\n", c->intensity);
    render_devices(c, &t);
    pthread_mutex_unlock(&c->lock);
    if (t.broken) {
        free(t.s);
        return NULL;
    }
    *len = t.len;
    return t.s;
}
