/*
 * counter.c - Zeus's EnergyCumulativeCounter in C: while a window is being counted, a
 * background thread adds each device's energy to energy_monitor_{gpu,cpu,dram}_energy_joules
 * (exposed with _total) every update period and pushes.
 *
 * Each counted window has a periodic thread (periodic.c) and two alternating windows of a
 * sampled monitor, "__EnergyCumulativeCounter_<name>#0" and "#1". At each tick the next one
 * is begun BEFORE the current one is ended, so consecutive periods overlap by the
 * microseconds between two clock reads instead of leaving a gap as Zeus does (it ends one
 * window, pushes, then begins the next). The end waits for the final values
 * (ZEUS_WINDOW_WAIT_FINAL, about 0.1 s) on the counter's own thread, so the increments add
 * up to what the counter really moved, not to provisional estimates.
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
#include "util/options.h"
#include "zeus/metrics.h"

#define COUNTER_MAGIC 0x45434331u /* "ECC1" */

struct counted {
    zeus_energy_counter *owner;
    char *name;
    unsigned current; /* 0 or 1: which monitor window is open (touched by its thread only) */
    struct zeus__periodic *thread;
    struct counted *next;
};

struct zeus_energy_counter {
    unsigned magic;
    double period_s;
    zeus_monitor *mon;
    struct zeus__pusher *pusher;
    pthread_mutex_t lock;         /* families (taken by the ticking threads) */
    pthread_mutex_t windows_lock; /* windows; held across a thread's start and join, never
                                     taken by a ticking thread, so joining under it is safe */
    struct zeus__family gpu, cpu, dram;
    struct counted *windows;
};

void zeus_energy_counter_options_init(zeus_energy_counter_options *opts)
{
    if (opts == NULL)
        return;
    memset(opts, 0, sizeof *opts);
    opts->size = sizeof *opts;
}

static int valid(const zeus_energy_counter *c)
{
    return c != NULL && c->magic == COUNTER_MAGIC;
}

static void key_of(const struct counted *w, unsigned which, char *key, size_t len)
{
    snprintf(key, len, "__EnergyCumulativeCounter_%s#%u", w->name, which);
}

static void add(struct zeus__family *f, const char *window, unsigned index, double j)
{
    struct zeus__series *s;

    if (isnan(j) || j < 0)
        return; /* absent is not zero, and a counter never goes down */
    s = zeus__family_series(f, window, index);
    if (s != NULL)
        s->value += j;
}

/* One period of one window, on its thread (see the head of this file). */
static void tick(void *user, int last)
{
    struct counted *w = user;
    zeus_energy_counter *c = w->owner;
    char cur[600], next[600];
    zeus_measurement m;
    zeus_status s;

    key_of(w, w->current, cur, sizeof cur);
    key_of(w, !w->current, next, sizeof next);
    if (!last && zeus_monitor_begin_window(c->mon, next, ZEUS_WINDOW_RESTART) == ZEUS_OK)
        w->current = !w->current;
    else if (!last)
        return; /* keep the current window open and try again next period */
    s = zeus_monitor_end_window(c->mon, cur, ZEUS_WINDOW_WAIT_FINAL, &m);
    if (s == ZEUS_ERR_NOT_FOUND || s == ZEUS_ERR_INVALID_ARGUMENT)
        return;
    pthread_mutex_lock(&c->lock);
    for (unsigned i = 0; i < m.gpu_count; i++)
        add(&c->gpu, w->name, m.gpu_index[i], m.gpu_energy_j[i]);
    for (unsigned i = 0; i < m.cpu_count; i++) {
        add(&c->cpu, w->name, m.cpu_index[i], m.cpu_energy_j[i]);
        add(&c->dram, w->name, m.cpu_index[i], m.dram_energy_j[i]);
    }
    pthread_mutex_unlock(&c->lock);
    zeus__pusher_kick(c->pusher);
}

static int render(void *user, zeus__prom_buf *out)
{
    zeus_energy_counter *c = user;

    pthread_mutex_lock(&c->lock);
    zeus__family_render(&c->gpu, out);
    zeus__family_render(&c->cpu, out);
    zeus__family_render(&c->dram, out);
    pthread_mutex_unlock(&c->lock);
    return out->len > 0 ? 0 : 1;
}

zeus_status zeus_energy_counter_create(const zeus_energy_counter_options *opts,
                                       const zeus_push_options *push, zeus_energy_counter **out)
{
    zeus_energy_counter_options o;
    zeus_monitor_options mo;
    zeus_energy_counter *c;
    zeus_status s;

    if (out == NULL || opts == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                          "options (with update_period_s) and out are required");
    if ((s = zeus__options_read(&o, sizeof o, opts, sizeof o, "zeus_energy_counter_options")) !=
        ZEUS_OK)
        return s;
    if (!isfinite(o.update_period_s) || o.update_period_s <= 0)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                          "update period %g s is not a positive number", o.update_period_s);
    c = calloc(1, sizeof *c);
    if (c == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
    c->period_s = o.update_period_s;
    pthread_mutex_init(&c->lock, NULL);
    pthread_mutex_init(&c->windows_lock, NULL);
    zeus__family_init(&c->gpu, ZEUS__COUNTER, "energy_monitor_gpu_energy_joules",
                      "GPU energy consumption", NULL, 0);
    zeus__family_init(&c->cpu, ZEUS__COUNTER, "energy_monitor_cpu_energy_joules",
                      "CPU energy consumption", NULL, 0);
    zeus__family_init(&c->dram, ZEUS__COUNTER, "energy_monitor_dram_energy_joules",
                      "DRAM energy consumption", NULL, 0);
    zeus_monitor_options_init(&mo);
    mo.gpu_indices = o.gpu_indices;
    mo.gpu_index_count = o.gpu_index_count;
    mo.cpu_indices = o.cpu_indices;
    mo.cpu_index_count = o.cpu_index_count;
    if ((s = zeus_monitor_create(&mo, &c->mon)) != ZEUS_OK ||
        (s = zeus__pusher_create(push, render, c, &c->pusher)) != ZEUS_OK) {
        zeus_monitor_destroy(c->mon);
        pthread_mutex_destroy(&c->windows_lock);
        pthread_mutex_destroy(&c->lock);
        free(c);
        return s;
    }
    c->magic = COUNTER_MAGIC;
    *out = c;
    return ZEUS_OK;
}

zeus_status zeus_energy_counter_begin_window(zeus_energy_counter *c, const char *name)
{
    struct counted *w;
    char key[600];
    zeus_status s;

    if (!valid(c) || name == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "bad energy counter or NULL name");
    if (strlen(name) > 400)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "window name is too long");
    w = calloc(1, sizeof *w);
    if (w == NULL || (w->name = strdup(name)) == NULL) {
        free(w);
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
    }
    w->owner = c;
    pthread_mutex_lock(&c->windows_lock);
    for (struct counted *x = c->windows; x != NULL; x = x->next)
        if (strcmp(x->name, name) == 0) {
            pthread_mutex_unlock(&c->windows_lock);
            free(w->name);
            free(w);
            return zeus__fail(ZEUS_ERR_ALREADY_EXISTS, "window '%s' is already being counted",
                              name);
        }
    key_of(w, 0, key, sizeof key);
    s = zeus_monitor_begin_window(c->mon, key, ZEUS_WINDOW_RESTART);
    if (s == ZEUS_OK) {
        s = zeus__periodic_start(c->period_s, tick, w, &w->thread);
        if (s != ZEUS_OK)
            zeus_monitor_end_window(c->mon, key, ZEUS_WINDOW_CANCEL, NULL);
    }
    if (s == ZEUS_OK) {
        w->next = c->windows;
        c->windows = w;
    } else {
        free(w->name);
        free(w);
    }
    pthread_mutex_unlock(&c->windows_lock);
    return s;
}

/* Unlink, stop and free `name`'s window (the first one when name is NULL); called with
 * windows_lock held. The stop makes the last tick: the partial period counts. */
static int finish_window(zeus_energy_counter *c, const char *name)
{
    for (struct counted **p = &c->windows; *p != NULL; p = &(*p)->next)
        if (name == NULL || strcmp((*p)->name, name) == 0) {
            struct counted *w = *p;
            *p = w->next;
            zeus__periodic_stop(w->thread);
            free(w->name);
            free(w);
            return 1;
        }
    return 0;
}

zeus_status zeus_energy_counter_end_window(zeus_energy_counter *c, const char *name)
{
    int found;

    if (!valid(c) || name == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "bad energy counter or NULL name");
    pthread_mutex_lock(&c->windows_lock);
    found = finish_window(c, name);
    pthread_mutex_unlock(&c->windows_lock);
    if (!found)
        return zeus__fail(ZEUS_ERR_NOT_FOUND, "window '%s' is not being counted", name);
    return ZEUS_OK;
}

zeus_status zeus_energy_counter_push_stats(zeus_energy_counter *c, zeus_push_stats *out)
{
    if (!valid(c) || out == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "bad energy counter or NULL out");
    zeus__pusher_stats(c->pusher, out);
    return ZEUS_OK;
}

zeus_status zeus_energy_counter_flush(zeus_energy_counter *c, double timeout_s)
{
    if (!valid(c) || !(timeout_s >= 0))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "bad energy counter or timeout");
    return zeus__pusher_flush(c->pusher, timeout_s);
}

void zeus_energy_counter_destroy(zeus_energy_counter *c)
{
    if (!valid(c))
        return;
    c->magic = 0;
    pthread_mutex_lock(&c->windows_lock);
    while (finish_window(c, NULL))
        ;
    pthread_mutex_unlock(&c->windows_lock);
    zeus__pusher_destroy(c->pusher);
    zeus_monitor_destroy(c->mon);
    zeus__family_fini(&c->gpu);
    zeus__family_fini(&c->cpu);
    zeus__family_fini(&c->dram);
    pthread_mutex_destroy(&c->windows_lock);
    pthread_mutex_destroy(&c->lock);
    free(c);
}
