/*
 * histogram.c - Zeus's EnergyHistogram in C: the energy of each ended window, per device, in
 * the histograms energy_monitor_{gpu,cpu,dram}_energy_joules, pushed to a Pushgateway.
 *
 * Concept (Zeus): end_window reads the monitor, observes, and pushes, all on the caller's
 * thread. Reality here: end_window only closes the window of a sampled monitor (a clock
 * read) and queues its id; the pusher thread waits for the window's final values (about one
 * counter update, 0.1 s, later), observes them and pushes. The training loop never waits for
 * the device or the network. A flush waits for both.
 *
 * Values that are NAN (a device that failed, DRAM absent) are not observed: absent is not
 * zero. The DRAM family appears only once a DRAM value was observed, which matches Zeus's
 * "only if any CPU supports DRAM".
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/family.h"
#include "metrics/push.h"
#include "util/error.h"
#include "util/options.h"
#include "zeus/metrics.h"

#define HISTOGRAM_MAGIC 0x45484931u /* "EHI1" */
#define FINAL_WAIT_S 2.0            /* how long the pusher waits for a window's final values */

static const double default_gpu[] = {50.0, 100.0, 200.0, 500.0, 1000.0};
static const double default_cpu[] = {10.0, 50.0, 100.0, 500.0, 1000.0};
static const double default_dram[] = {5.0, 10.0, 20.0, 50.0, 150.0};

struct ended {
    uint64_t window_id;
    char *name;
    struct ended *next;
};

struct zeus_energy_histogram {
    unsigned magic;
    zeus_monitor *mon;
    struct zeus__pusher *pusher;
    void (*warn)(const char *, void *);
    void *warn_user;

    pthread_mutex_t lock; /* families and the ended list */
    struct zeus__family gpu, cpu, dram;
    struct ended *ended, **ended_tail;
};

/* ---- Options ----------------------------------------------------------------------------- */

void zeus_energy_histogram_options_init(zeus_energy_histogram_options *opts)
{
    if (opts == NULL)
        return;
    memset(opts, 0, sizeof *opts);
    opts->size = sizeof *opts;
}

static zeus_status check_buckets(const char *kind, const double *b, size_t n)
{
    if (b == NULL)
        return ZEUS_OK;
    if (n == 0)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "%s bucket list is empty", kind);
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(b[i]))
            return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                              "%s bucket %zu is not a finite number (+Inf is added)", kind, i);
        if (i > 0 && !(b[i] > b[i - 1]))
            return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                              "%s buckets must be strictly increasing (%g after %g)", kind,
                              b[i], b[i - 1]);
    }
    return ZEUS_OK;
}

/* ---- Observing (pusher thread) ----------------------------------------------------------- */

/* Called with h->lock held. */
static void observe(struct zeus__family *f, const char *window, unsigned index, double j)
{
    struct zeus__series *s;

    if (isnan(j))
        return;
    s = zeus__family_series(f, window, index);
    if (s != NULL)
        zeus__series_observe(f, s, j);
}

/* Called without h->lock: the callback is the user's, and while it runs end_window must
 * still be able to queue (and the callback may call into this histogram). The buckets do
 * not change after create. */
static void warn_range(zeus_energy_histogram *h, const struct zeus__family *f, const char *kind,
                       const char *window, unsigned index, double j)
{
    char msg[256];

    if (h->warn == NULL || isnan(j))
        return;
    if (j > f->buckets[f->bucket_count - 1]) {
        snprintf(msg, sizeof msg, "%s %u energy %g J in window '%s' exceeds the largest bucket "
                 "(%g J)", kind, index, j, window, f->buckets[f->bucket_count - 1]);
        h->warn(msg, h->warn_user);
    } else if (j < f->buckets[0]) {
        snprintf(msg, sizeof msg, "%s %u energy %g J in window '%s' is below the smallest "
                 "bucket (%g J)", kind, index, j, window, f->buckets[0]);
        h->warn(msg, h->warn_user);
    }
}

static int render(void *user, zeus__prom_buf *out)
{
    zeus_energy_histogram *h = user;
    struct ended *list;

    pthread_mutex_lock(&h->lock);
    list = h->ended;
    h->ended = NULL;
    h->ended_tail = &h->ended;
    pthread_mutex_unlock(&h->lock);

    while (list != NULL) {
        struct ended *e = list;
        zeus_measurement m;
        /* Waits for the counter update after the window's end; on timeout `m` holds the
         * latest estimate, which is still the best value there is. */
        zeus_status s = zeus_monitor_get_final(h->mon, e->window_id, FINAL_WAIT_S, &m);
        if (s == ZEUS_OK || s == ZEUS_ERR_TIMEOUT) {
            pthread_mutex_lock(&h->lock);
            for (unsigned i = 0; i < m.gpu_count; i++)
                observe(&h->gpu, e->name, m.gpu_index[i], m.gpu_energy_j[i]);
            for (unsigned i = 0; i < m.cpu_count; i++) {
                observe(&h->cpu, e->name, m.cpu_index[i], m.cpu_energy_j[i]);
                observe(&h->dram, e->name, m.cpu_index[i], m.dram_energy_j[i]);
            }
            pthread_mutex_unlock(&h->lock);
            for (unsigned i = 0; i < m.gpu_count; i++)
                warn_range(h, &h->gpu, "GPU", e->name, m.gpu_index[i], m.gpu_energy_j[i]);
            for (unsigned i = 0; i < m.cpu_count; i++) {
                warn_range(h, &h->cpu, "CPU", e->name, m.cpu_index[i], m.cpu_energy_j[i]);
                warn_range(h, &h->dram, "DRAM", e->name, m.cpu_index[i], m.dram_energy_j[i]);
            }
        }
        list = e->next;
        free(e->name);
        free(e);
    }

    pthread_mutex_lock(&h->lock);
    zeus__family_render(&h->gpu, out);
    zeus__family_render(&h->cpu, out);
    zeus__family_render(&h->dram, out);
    pthread_mutex_unlock(&h->lock);
    return out->len > 0 ? 0 : 1;
}

/* ---- Life cycle -------------------------------------------------------------------------- */

static int valid(const zeus_energy_histogram *h)
{
    return h != NULL && h->magic == HISTOGRAM_MAGIC;
}

zeus_status zeus_energy_histogram_create(const zeus_energy_histogram_options *opts,
                                         const zeus_push_options *push,
                                         zeus_energy_histogram **out)
{
    zeus_energy_histogram_options o;
    zeus_monitor_options mo;
    zeus_energy_histogram *h;
    zeus_status s;
    const double *gb, *cb, *db;
    size_t gn, cn, dn;

    if (out == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "out is NULL");
    zeus_energy_histogram_options_init(&o);
    if (opts != NULL &&
        (s = zeus__options_read(&o, sizeof o, opts, offsetof(zeus_energy_histogram_options, warn),
                                "zeus_energy_histogram_options")) != ZEUS_OK)
        return s;
    if ((s = check_buckets("GPU", o.gpu_buckets, o.gpu_bucket_count)) != ZEUS_OK ||
        (s = check_buckets("CPU", o.cpu_buckets, o.cpu_bucket_count)) != ZEUS_OK ||
        (s = check_buckets("DRAM", o.dram_buckets, o.dram_bucket_count)) != ZEUS_OK)
        return s;
    gb = o.gpu_buckets ? o.gpu_buckets : default_gpu;
    gn = o.gpu_buckets ? o.gpu_bucket_count : 5;
    cb = o.cpu_buckets ? o.cpu_buckets : default_cpu;
    cn = o.cpu_buckets ? o.cpu_bucket_count : 5;
    db = o.dram_buckets ? o.dram_buckets : default_dram;
    dn = o.dram_buckets ? o.dram_bucket_count : 5;

    h = calloc(1, sizeof *h);
    if (h == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
    pthread_mutex_init(&h->lock, NULL);
    h->ended_tail = &h->ended;
    h->warn = o.warn;
    h->warn_user = o.warn_user;
    if (zeus__family_init(&h->gpu, ZEUS__HISTOGRAM, "energy_monitor_gpu_energy_joules",
                          "GPU energy consumption", gb, gn) != 0 ||
        zeus__family_init(&h->cpu, ZEUS__HISTOGRAM, "energy_monitor_cpu_energy_joules",
                          "CPU energy consumption", cb, cn) != 0 ||
        zeus__family_init(&h->dram, ZEUS__HISTOGRAM, "energy_monitor_dram_energy_joules",
                          "DRAM energy consumption", db, dn) != 0) {
        s = zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
        goto fail;
    }
    zeus_monitor_options_init(&mo);
    mo.gpu_indices = o.gpu_indices;
    mo.gpu_index_count = o.gpu_index_count;
    mo.cpu_indices = o.cpu_indices;
    mo.cpu_index_count = o.cpu_index_count;
    if ((s = zeus_monitor_create(&mo, &h->mon)) != ZEUS_OK)
        goto fail;
    if ((s = zeus__pusher_create(push, render, h, &h->pusher)) != ZEUS_OK)
        goto fail;
    h->magic = HISTOGRAM_MAGIC;
    *out = h;
    return ZEUS_OK;
fail:
    zeus_monitor_destroy(h->mon);
    zeus__family_fini(&h->gpu);
    zeus__family_fini(&h->cpu);
    zeus__family_fini(&h->dram);
    pthread_mutex_destroy(&h->lock);
    free(h);
    return s;
}

void zeus_energy_histogram_destroy(zeus_energy_histogram *h)
{
    if (!valid(h))
        return;
    h->magic = 0;
    zeus__pusher_destroy(h->pusher); /* observes and pushes what is queued, then joins */
    while (h->ended != NULL) {
        struct ended *e = h->ended;
        h->ended = e->next;
        free(e->name);
        free(e);
    }
    zeus_monitor_destroy(h->mon);
    zeus__family_fini(&h->gpu);
    zeus__family_fini(&h->cpu);
    zeus__family_fini(&h->dram);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

/* ---- Windows ----------------------------------------------------------------------------- */

static zeus_status window_key(const char *name, char *key, size_t len)
{
    if (name == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "window name is NULL");
    if ((size_t)snprintf(key, len, "__EnergyHistogram_%s", name) >= len)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "window name is too long");
    return ZEUS_OK;
}

zeus_status zeus_energy_histogram_begin_window(zeus_energy_histogram *h, const char *name,
                                               unsigned flags)
{
    char key[512];
    zeus_status s;

    if (!valid(h))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "not an energy histogram");
    if ((s = window_key(name, key, sizeof key)) != ZEUS_OK)
        return s;
    return zeus_monitor_begin_window(h->mon, key, flags);
}

zeus_status zeus_energy_histogram_end_window(zeus_energy_histogram *h, const char *name,
                                             unsigned flags)
{
    zeus_measurement m;
    struct ended *e;
    char key[512];
    zeus_status s;

    if (!valid(h))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "not an energy histogram");
    if ((s = window_key(name, key, sizeof key)) != ZEUS_OK)
        return s;
    flags &= ~(unsigned)ZEUS_WINDOW_WAIT_FINAL; /* the pusher waits, not the caller */
    s = zeus_monitor_end_window(h->mon, key, flags, &m);
    if (s == ZEUS_ERR_NOT_FOUND || s == ZEUS_ERR_INVALID_ARGUMENT)
        return s;
    if (flags & ZEUS_WINDOW_CANCEL)
        return s;
    e = calloc(1, sizeof *e);
    if (e == NULL || (e->name = strdup(name)) == NULL) {
        free(e);
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory queueing window '%s'", name);
    }
    e->window_id = m.window_id;
    pthread_mutex_lock(&h->lock);
    *h->ended_tail = e;
    h->ended_tail = &e->next;
    pthread_mutex_unlock(&h->lock);
    zeus__pusher_kick(h->pusher);
    return s; /* a device's error still closed the window; its value is left out */
}

zeus_status zeus_energy_histogram_push_stats(zeus_energy_histogram *h, zeus_push_stats *out)
{
    if (!valid(h) || out == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "bad energy histogram or NULL out");
    zeus__pusher_stats(h->pusher, out);
    return ZEUS_OK;
}

zeus_status zeus_energy_histogram_flush(zeus_energy_histogram *h, double timeout_s)
{
    if (!valid(h) || !(timeout_s >= 0))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "bad energy histogram or timeout");
    return zeus__pusher_flush(h->pusher, timeout_s);
}
