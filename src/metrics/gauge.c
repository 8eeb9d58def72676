/*
 * gauge.c - Zeus's PowerGauge in C: while a window runs, a background thread sets
 * power_monitor_gpu_power_watts{window, index} to each GPU's latest power every update
 * period and pushes.
 *
 * One power monitor (power.h) serves every window of the gauge; it is created with the
 * gauge, as Zeus's child process creates its PowerMonitor, and keeps only a short history
 * (the gauge reads the latest sample, so a long run must not grow memory). The domain is
 * device_instant where every GPU has it, else device_average: Zeus's PowerMonitor.get_power
 * rule.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/family.h"
#include "metrics/periodic.h"
#include "metrics/push.h"
#include "util/error.h"
#include "zeus/metrics.h"
#include "zeus/power.h"

#define GAUGE_MAGIC 0x50474131u /* "PGA1" */
#define KEEP_SAMPLES 256

struct gauged {
    zeus_power_gauge *owner;
    char *name;
    struct zeus__periodic *thread;
    struct gauged *next;
};

struct zeus_power_gauge {
    unsigned magic;
    double period_s;
    zeus_power_monitor *pm;
    zeus_power_domain domain;
    unsigned gpus[ZEUS_MAX_GPUS];
    unsigned gpu_count;
    struct zeus__pusher *pusher;
    pthread_mutex_t lock;         /* the family (taken by ticking threads) */
    pthread_mutex_t windows_lock; /* the windows; never taken by a ticking thread */
    struct zeus__family power;
    struct gauged *windows;
};

void zeus_power_gauge_options_init(zeus_power_gauge_options *opts)
{
    if (opts == NULL)
        return;
    memset(opts, 0, sizeof *opts);
    opts->size = sizeof *opts;
}

static int valid(const zeus_power_gauge *g)
{
    return g != NULL && g->magic == GAUGE_MAGIC;
}

static void tick(void *user, int last)
{
    struct gauged *w = user;
    zeus_power_gauge *g = w->owner;
    int changed = 0;

    if (last)
        return; /* Zeus stops without a last reading */
    for (unsigned i = 0; i < g->gpu_count; i++) {
        double watts;
        struct zeus__series *s;
        if (zeus_power_monitor_power(g->pm, g->domain, g->gpus[i], NAN, &watts) != ZEUS_OK)
            continue; /* no reading: leave the last value, never write 0 */
        pthread_mutex_lock(&g->lock);
        s = zeus__family_series(&g->power, w->name, g->gpus[i]);
        if (s != NULL) {
            s->value = watts;
            changed = 1;
        }
        pthread_mutex_unlock(&g->lock);
    }
    if (changed)
        zeus__pusher_kick(g->pusher);
}

static int render(void *user, zeus__prom_buf *out)
{
    zeus_power_gauge *g = user;

    pthread_mutex_lock(&g->lock);
    zeus__family_render(&g->power, out);
    pthread_mutex_unlock(&g->lock);
    return out->len > 0 ? 0 : 1;
}

zeus_status zeus_power_gauge_create(const zeus_power_gauge_options *opts,
                                    const zeus_push_options *push, zeus_power_gauge **out)
{
    zeus_power_monitor_options po;
    zeus_power_gauge *g;
    zeus_status s;

    if (out == NULL || opts == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                          "options (with update_period_s) and out are required");
    if (opts->size != sizeof *opts)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                          "zeus_power_gauge_options.size is %u; call "
                          "zeus_power_gauge_options_init()",
                          opts->size);
    if (!isfinite(opts->update_period_s) || opts->update_period_s <= 0)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                          "update period %g s is not a positive number", opts->update_period_s);
    g = calloc(1, sizeof *g);
    if (g == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
    g->period_s = opts->update_period_s;
    pthread_mutex_init(&g->lock, NULL);
    pthread_mutex_init(&g->windows_lock, NULL);
    zeus__family_init(&g->power, ZEUS__GAUGE, "power_monitor_gpu_power_watts",
                      "Records power consumption for GPU over time", NULL, 0);
    zeus_power_monitor_options_init(&po);
    po.gpu_indices = opts->gpu_indices;
    po.gpu_index_count = opts->gpu_index_count;
    po.update_period_s = opts->update_period_s < 0.1 ? opts->update_period_s : 0.1;
    if (po.update_period_s < 0.05)
        po.update_period_s = 0.05;
    po.max_samples = KEEP_SAMPLES;
    if ((s = zeus_power_monitor_create(&po, &g->pm)) != ZEUS_OK)
        goto fail;
    g->domain = (zeus_power_monitor_domains(g->pm) & ZEUS_DOMAIN_BIT(ZEUS_POWER_DEVICE_INSTANT))
                    ? ZEUS_POWER_DEVICE_INSTANT
                    : ZEUS_POWER_DEVICE_AVERAGE;
    g->gpu_count = zeus_power_monitor_gpus(g->pm, g->gpus, ZEUS_MAX_GPUS);
    if ((s = zeus__pusher_create(push, render, g, &g->pusher)) != ZEUS_OK)
        goto fail;
    g->magic = GAUGE_MAGIC;
    *out = g;
    return ZEUS_OK;
fail:
    zeus_power_monitor_destroy(g->pm);
    zeus__family_fini(&g->power);
    pthread_mutex_destroy(&g->windows_lock);
    pthread_mutex_destroy(&g->lock);
    free(g);
    return s;
}

zeus_status zeus_power_gauge_begin_window(zeus_power_gauge *g, const char *name)
{
    struct gauged *w;
    zeus_status s;

    if (!valid(g) || name == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "bad power gauge or NULL name");
    w = calloc(1, sizeof *w);
    if (w == NULL || (w->name = strdup(name)) == NULL) {
        free(w);
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
    }
    w->owner = g;
    pthread_mutex_lock(&g->windows_lock);
    for (struct gauged *x = g->windows; x != NULL; x = x->next)
        if (strcmp(x->name, name) == 0) {
            pthread_mutex_unlock(&g->windows_lock);
            free(w->name);
            free(w);
            return zeus__fail(ZEUS_ERR_ALREADY_EXISTS, "power gauge window '%s' is running",
                              name);
        }
    s = zeus__periodic_start(g->period_s, tick, w, &w->thread);
    if (s == ZEUS_OK) {
        w->next = g->windows;
        g->windows = w;
    } else {
        free(w->name);
        free(w);
    }
    pthread_mutex_unlock(&g->windows_lock);
    return s;
}

/* Unlink, stop and free `name`'s window (the first when NULL); windows_lock held. */
static int finish_window(zeus_power_gauge *g, const char *name)
{
    for (struct gauged **p = &g->windows; *p != NULL; p = &(*p)->next)
        if (name == NULL || strcmp((*p)->name, name) == 0) {
            struct gauged *w = *p;
            *p = w->next;
            zeus__periodic_stop(w->thread);
            free(w->name);
            free(w);
            return 1;
        }
    return 0;
}

zeus_status zeus_power_gauge_end_window(zeus_power_gauge *g, const char *name)
{
    int found;

    if (!valid(g) || name == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "bad power gauge or NULL name");
    pthread_mutex_lock(&g->windows_lock);
    found = finish_window(g, name);
    pthread_mutex_unlock(&g->windows_lock);
    if (!found)
        return zeus__fail(ZEUS_ERR_NOT_FOUND, "power gauge window '%s' is not running", name);
    return ZEUS_OK;
}

zeus_status zeus_power_gauge_push_stats(zeus_power_gauge *g, zeus_push_stats *out)
{
    if (!valid(g) || out == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "bad power gauge or NULL out");
    zeus__pusher_stats(g->pusher, out);
    return ZEUS_OK;
}

zeus_status zeus_power_gauge_flush(zeus_power_gauge *g, double timeout_s)
{
    if (!valid(g) || !(timeout_s >= 0))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "bad power gauge or timeout");
    return zeus__pusher_flush(g->pusher, timeout_s);
}

void zeus_power_gauge_destroy(zeus_power_gauge *g)
{
    if (!valid(g))
        return;
    g->magic = 0;
    pthread_mutex_lock(&g->windows_lock);
    while (finish_window(g, NULL))
        ;
    pthread_mutex_unlock(&g->windows_lock);
    zeus__pusher_destroy(g->pusher);
    zeus_power_monitor_destroy(g->pm);
    zeus__family_fini(&g->power);
    pthread_mutex_destroy(&g->windows_lock);
    pthread_mutex_destroy(&g->lock);
    free(g);
}
