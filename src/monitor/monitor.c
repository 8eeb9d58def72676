/*
 * monitor.c - Named energy measurement windows over GPUs and CPU packages: Zeus's
 * ZeusMonitor in C.
 *
 * Two modes. Sampled (the default): begin_window and end_window take a timestamp and hand
 * it to each GPU's sampler channel (sampler.c), which resolves the energy at that time from
 * the counter updates around it; the caller never waits for NVML. Direct: both ends read
 * every counter themselves, as Zeus does (2.7 ms per GPU on an H100, GPU-MEASUREMENTS.md).
 * CPU packages are read directly in both modes: a RAPL read is a few microseconds and the
 * counter moves every millisecond, so sampling would only add error.
 *
 * DESIGN NOTES
 *
 * 1. mon->lock guards the window table and the ending queue. Device reads happen outside it,
 *    so one thread's slow read never stalls another thread's window.
 * 2. A name is unique among open windows. begin_window checks before reading (cheap failure)
 *    and again when inserting (another thread may have won the race); the loser fails with
 *    ZEUS_ERR_ALREADY_EXISTS and the winner's window is untouched.
 * 3. end_window removes the window first, under the lock, so two threads ending the same
 *    name get one result and one ZEUS_ERR_NOT_FOUND, never two results.
 * 4. A device that fails at begin (direct mode) leaves no window behind. A device that fails
 *    at end still closes the window: its value is NAN with ZEUS_ENERGY_FAILED, every other
 *    device is reported, the row is logged, and the device's status is returned.
 * 5. Absent is not zero: a value that was not measured is NAN with a flag that says why.
 * 6. An ended window lives on in the ending queue (results.c) until its final values are
 *    known and logged; in direct mode that is at once.
 *
 *     (no window) --begin_window--> open --end_window--> ending --final--> (logged, kept)
 *                                    |  \--end_window(CANCEL)--> (zeros, not logged)
 *                                    \--begin_window(RESTART) / reset_windows--> dropped
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/devices_internal.h"
#include "monitor/gpu_scope.h"
#include "monitor/monitor_internal.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/options.h"
#include "util/warn.h"
#include "zeus/monitor.h"

#define MONITOR_MAGIC 0x4d4f4e31u /* "MON1" */

/* ---- Options ---------------------------------------------------------------------------- */

void zeus_monitor_options_init(zeus_monitor_options *opts)
{
    if (opts == NULL)
        return;
    memset(opts, 0, sizeof *opts);
    opts->size = sizeof *opts;
}

/* Copy the fields `opts->size` covers over the defaults, so older callers keep working. */
static zeus_status read_options(const zeus_monitor_options *opts, zeus_monitor_options *o)
{
    zeus_monitor_options_init(o);
    if (opts == NULL)
        return ZEUS_OK;
    return zeus__options_read(o, sizeof *o, opts,
                              offsetof(zeus_monitor_options, approx_instant_energy),
                              "zeus_monitor_options");
}


/* ---- Device selection ------------------------------------------------------------------- */

/*
 * Resolve an index list against `available` devices into out[]. NULL means all; a repeated
 * or unknown index is an error that names it.
 */
static zeus_status select_indices(const char *what, const unsigned *want, size_t want_count,
                                  unsigned available, unsigned max, unsigned *out,
                                  unsigned *count)
{
    if (want == NULL) {
        *count = available < max ? available : max;
        for (unsigned i = 0; i < *count; i++)
            out[i] = i;
        return ZEUS_OK;
    }
    if (want_count > max)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "%zu %s indices given; at most %u", want_count,
                          what, max);
    for (size_t i = 0; i < want_count; i++) {
        if (want[i] >= available) {
            if (available == 0)
                return zeus__fail(ZEUS_ERR_NOT_FOUND, "%s %u not found: no %ss are available",
                                  what, want[i], what);
            return zeus__fail(ZEUS_ERR_NOT_FOUND, "%s %u not found: %u %s%s visible (0-%u)", what,
                              want[i], available, what, available == 1 ? " is" : "s are",
                              available - 1);
        }
        for (size_t j = 0; j < i; j++)
            if (want[j] == want[i])
                return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "%s index %u is given twice", what,
                                  want[i]);
        out[i] = want[i];
    }
    *count = (unsigned)want_count;
    return ZEUS_OK;
}

static zeus_status select_gpus(zeus_monitor *mon, const zeus_monitor_options *o)
{
    zeus_status s = select_indices("GPU", o->gpu_indices, o->gpu_index_count,
                                   zeus_devices_gpu_count(mon->devs), ZEUS_MAX_GPUS,
                                   mon->gpu_index, &mon->gpu_count);
    if (s != ZEUS_OK)
        return s;
    for (unsigned i = 0; i < mon->gpu_count; i++) {
        zeus_gpu_info info;
        s = zeus_gpu_get_info(mon->devs, mon->gpu_index[i], &info);
        if (s != ZEUS_OK)
            return s;
        mon->gpu_has_counter[i] = (info.supports & ZEUS_GPU_ENERGY_COUNTER) != 0;
        mon->gpu_scope_flags[i] = zeus__gpu_scope_flags(&info, mon->warn, mon->warn_user);
        if (!mon->gpu_has_counter[i])
            zeus__warnf(mon->warn, mon->warn_user,
                        "GPU %u (%s) has no energy counter (before Volta): its energy is %s",
                        info.index, info.name,
                        mon->direct ? "reported as NAN unless approx_instant_energy is on"
                                    : "integrated from sampled power");
    }
    return ZEUS_OK;
}

/*
 * Zeus's rule: CPUs that cannot be read are left out silently when the user asked for all of
 * them, and are an error when the user named them. We warn instead of staying silent.
 */
static zeus_status select_cpus(zeus_monitor *mon, const zeus_monitor_options *o)
{
    char why[256];
    zeus_status open_status = zeus__devices_cpu_open_status(mon->devs, why, sizeof why);
    zeus_status s;

    if (open_status != ZEUS_OK && zeus_devices_cpu_count(mon->devs) == 0) {
        if (o->cpu_indices != NULL && o->cpu_index_count > 0)
            return zeus__fail(open_status, "CPU energy requested but unavailable: %s", why);
        if (o->cpu_indices == NULL)
            zeus__warnf(mon->warn, mon->warn_user, "CPU energy is not measured: %s", why);
    }
    s = select_indices("CPU", o->cpu_indices, o->cpu_index_count,
                       zeus_devices_cpu_count(mon->devs), ZEUS_MAX_CPUS, mon->cpu_index,
                       &mon->cpu_count);
    if (s != ZEUS_OK)
        return s;
    for (unsigned i = 0; i < mon->cpu_count; i++) {
        zeus_cpu_info info;
        s = zeus_cpu_get_info(mon->devs, mon->cpu_index[i], &info);
        if (s != ZEUS_OK)
            return s;
        mon->cpu_has_dram[i] = info.has_dram;
    }
    return ZEUS_OK;
}

/* Every monitor watches the SoC where there is one, as Zeus's ZeusMonitor does. */
static zeus_status select_soc(zeus_monitor *mon)
{
    mon->soc_count = zeus_devices_soc_count(mon->devs) > 0 ? 1 : 0;
    return ZEUS_OK;
}

/* ---- Create and destroy ----------------------------------------------------------------- */

static zeus_status open_log(zeus_monitor *mon, const zeus_monitor_options *o)
{
    zeus_measurement *blank;
    zeus_status s;

    if (o->log_file == NULL)
        return ZEUS_OK;
    blank = malloc(sizeof *blank);
    if (blank == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory opening the log");
    zeus__monitor_fill_identity(mon, blank);
    s = zeus__csv_log_open(o->log_file, blank, o->log_cpu_columns, o->log_soc_columns,
                           &mon->log);
    free(blank);
    return s;
}

/* Sampled mode: join (or start) each GPU's sampler channel. */
static zeus_status open_channels(zeus_monitor *mon)
{
    if (mon->direct || mon->gpu_count == 0)
        return ZEUS_OK;
    return zeus__channel_acquire_many(mon->devs, mon->gpu_index, mon->gpu_count, NULL,
                                      mon->channel);
}

static void init_sync(zeus_monitor *mon)
{
    pthread_mutex_init(&mon->lock, NULL);
    zeus__cond_init_monotonic(&mon->done);
}

zeus_status zeus_monitor_create(const zeus_monitor_options *opts, zeus_monitor **out)
{
    zeus_monitor_options o;
    zeus_monitor *mon;
    zeus_status s;

    if (out == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "zeus_monitor_create: out is NULL");
    s = read_options(opts, &o);
    if (s != ZEUS_OK)
        return s;
    mon = calloc(1, sizeof *mon);
    if (mon == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "zeus_monitor_create: out of memory");
    mon->magic = MONITOR_MAGIC;
    mon->direct = o.direct_reads != 0;
    mon->approx_instant_energy = o.approx_instant_energy != 0;
    mon->sync = o.sync;
    mon->sync_user = o.sync_user;
    mon->warn = o.warn;
    mon->warn_user = o.warn_user;
    mon->next_id = 1;
    init_sync(mon);

    s = zeus_devices_create(&mon->devs);
    if (s == ZEUS_OK)
        s = select_gpus(mon, &o);
    if (s == ZEUS_OK)
        s = select_cpus(mon, &o);
    if (s == ZEUS_OK)
        s = select_soc(mon);
    if (s == ZEUS_OK)
        s = open_channels(mon);
    if (s == ZEUS_OK)
        s = open_log(mon, &o);
    if (s != ZEUS_OK) {
        char detail[1024];
        snprintf(detail, sizeof detail, "%s", zeus_last_error());
        zeus_monitor_destroy(mon);
        return zeus__fail(s, "%s", detail);
    }
    *out = mon;
    return ZEUS_OK;
}

/* Forget an open window: its start edges must leave the channels before it is freed. */
static void drop_window(zeus_monitor *mon, struct zeus__window *w)
{
    if (w == NULL)
        return;
    if (w->start_edge != NULL)
        for (unsigned i = 0; i < w->gpu_count; i++)
            zeus__channel_untrack(mon->channel[i], &w->start_edge[i]);
    zeus__window_free(w);
}

/* Finish what has ended (waiting up to about two counter steps), then force the rest. */
static void finish_endings(zeus_monitor *mon)
{
    int64_t deadline = zeus__now_ns() + 1000000000;

    pthread_mutex_lock(&mon->lock);
    while (mon->ending_head != NULL && zeus__now_ns() < deadline) {
        struct timespec ts = zeus__timespec_from_ns(deadline);
        pthread_cond_timedwait(&mon->done, &mon->lock, &ts);
    }
    if (mon->ending_head != NULL)
        zeus__monitor_force_endings(mon);
    /*
     * Callbacks already running finish the rest; wait for them, and for a drain that has
     * taken its window off the queue and is writing its row without the lock (it uses the
     * log and the lock again after).
     */
    while (mon->ending_head != NULL || mon->draining)
        pthread_cond_wait(&mon->done, &mon->lock);
    pthread_mutex_unlock(&mon->lock);
}

void zeus_monitor_destroy(zeus_monitor *mon)
{
    if (mon == NULL || mon->magic != MONITOR_MAGIC)
        return;
    mon->magic = 0;
    for (unsigned i = 0; i < mon->window_count; i++)
        drop_window(mon, mon->windows[i]);
    free(mon->windows);
    finish_endings(mon);
    for (unsigned i = 0; i < mon->gpu_count; i++)
        zeus__channel_release(mon->channel[i]);
    zeus__monitor_free_finals(mon);
    zeus__csv_log_close(mon->log);
    zeus_devices_destroy(mon->devs);
    pthread_cond_destroy(&mon->done);
    pthread_mutex_destroy(&mon->lock);
    free(mon);
}

static int monitor_ok(const zeus_monitor *mon)
{
    return mon != NULL && mon->magic == MONITOR_MAGIC;
}

zeus_devices *zeus_monitor_devices(zeus_monitor *mon)
{
    return monitor_ok(mon) ? mon->devs : NULL;
}

size_t zeus_monitor_gpu_indices(const zeus_monitor *mon, unsigned *buf, size_t cap)
{
    if (!monitor_ok(mon))
        return 0;
    for (size_t i = 0; buf != NULL && i < cap && i < mon->gpu_count; i++)
        buf[i] = mon->gpu_index[i];
    return mon->gpu_count;
}

/* ---- Reading the devices ---------------------------------------------------------------- */

/* Direct mode: read GPU i's counter now. */
static void read_gpu_now(zeus_monitor *mon, unsigned i, zeus__energy_reading *r)
{
    r->flags = 0;
    r->energy_j = NAN;
    r->status = ZEUS_OK;
    if (!mon->gpu_has_counter[i])
        return;
    r->status = zeus_gpu_get_energy(mon->devs, mon->gpu_index[i], &r->energy_j);
    r->flags = r->status == ZEUS_OK ? ZEUS_ENERGY_VALID | ZEUS_ENERGY_COUNTER : ZEUS_ENERGY_FAILED;
}

static void read_cpus(zeus_monitor *mon, zeus_cpu_energy *e, zeus_status *s)
{
    for (unsigned i = 0; i < mon->cpu_count; i++)
        s[i] = zeus_cpu_get_energy(mon->devs, mon->cpu_index[i], &e[i]);
}

/* The SoC's cumulative rail energies; a rail that cannot be read is flagged, not an error. */
static void read_soc(zeus_monitor *mon, zeus_soc_energy *e)
{
    if (mon->soc_count == 0)
        return;
    e->size = sizeof *e;
    if (zeus_soc_get_energy(mon->devs, 0, e) != ZEUS_OK)
        for (unsigned k = 0; k < ZEUS_SOC_RAILS; k++)
            e->flags[k] = ZEUS_ENERGY_FAILED;
}

/* The first failure among a window's start readings, with its detail; ZEUS_OK if none. */
static zeus_status start_failure(zeus_monitor *mon, const struct zeus__window *w)
{
    for (unsigned i = 0; i < w->gpu_count; i++)
        if (w->gpu_start[i].flags & ZEUS_ENERGY_FAILED)
            return zeus__fail(w->gpu_start[i].status, "window '%s' not opened: GPU %u: %s",
                              w->key, mon->gpu_index[i], zeus_status_string(w->gpu_start[i].status));
    for (unsigned i = 0; i < w->cpu_count; i++)
        if (w->cpu_start_status[i] != ZEUS_OK)
            return zeus__fail(w->cpu_start_status[i], "window '%s' not opened: CPU %u: %s", w->key,
                              mon->cpu_index[i], zeus_status_string(w->cpu_start_status[i]));
    return ZEUS_OK;
}

/* Record the start of window w: counters now (direct) or tracked edges (sampled). */
static zeus_status start_window(zeus_monitor *mon, struct zeus__window *w)
{
    read_cpus(mon, w->cpu_start, w->cpu_start_status);
    read_soc(mon, &w->soc_start);
    if (mon->direct) {
        for (unsigned i = 0; i < mon->gpu_count; i++)
            read_gpu_now(mon, i, &w->gpu_start[i]);
        /* One timestamp for every device, taken after the reads as Zeus does at begin. */
        w->start_ns = zeus__now_ns();
    } else {
        w->start_ns = zeus__now_ns();
        for (unsigned i = 0; i < mon->gpu_count; i++) {
            zeus__edge *e = &w->start_edge[i];
            w->gpu_start[i] = (zeus__energy_reading){0}; /* resolved at end */
            e->t_ns = w->start_ns;
            e->on_final = NULL;
            e->user = NULL;
            zeus__channel_track(mon->channel[i], e);
        }
    }
    w->start_unix_s = zeus__unix_now_s();
    return start_failure(mon, w);
}

static void maybe_sync(zeus_monitor *mon, unsigned flags)
{
    if ((flags & ZEUS_WINDOW_SYNC) && mon->sync != NULL && mon->gpu_count > 0)
        mon->sync(mon->sync_user);
}

/* ---- The window table (callers hold mon->lock) ------------------------------------------- */

static int find_window(const zeus_monitor *mon, const char *key)
{
    for (unsigned i = 0; i < mon->window_count; i++)
        if (strcmp(mon->windows[i]->key, key) == 0)
            return (int)i;
    return -1;
}

/* Remove and return window i; order is not kept (lookups are linear anyway). */
static struct zeus__window *take_window(zeus_monitor *mon, int i)
{
    struct zeus__window *w = mon->windows[i];
    mon->windows[i] = mon->windows[--mon->window_count];
    return w;
}

static zeus_status add_window(zeus_monitor *mon, struct zeus__window *w)
{
    if (mon->window_count == mon->window_cap) {
        unsigned cap = mon->window_cap ? mon->window_cap * 2 : 8;
        struct zeus__window **grown = realloc(mon->windows, cap * sizeof *grown);
        if (grown == NULL)
            return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory opening window '%s'", w->key);
        mon->windows = grown;
        mon->window_cap = cap;
    }
    mon->windows[mon->window_count++] = w;
    return ZEUS_OK;
}

/* ---- begin_window ----------------------------------------------------------------------- */

static zeus_status check_call(const zeus_monitor *mon, const char *key, const char *fn)
{
    if (!monitor_ok(mon))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "%s: invalid or destroyed monitor", fn);
    if (key == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "%s: window name is NULL", fn);
    return ZEUS_OK;
}

static zeus_status already_exists(const char *key)
{
    return zeus__fail(ZEUS_ERR_ALREADY_EXISTS, "Measurement window '%s' already exists", key);
}

/* Insert `w`, replacing an open window of the same name when restarting (note 2). */
static zeus_status insert_window(zeus_monitor *mon, struct zeus__window *w, int restart)
{
    struct zeus__window *old = NULL;
    zeus_status s;
    int i;

    pthread_mutex_lock(&mon->lock);
    i = find_window(mon, w->key);
    if (i >= 0 && !restart) {
        pthread_mutex_unlock(&mon->lock);
        return already_exists(w->key);
    }
    if (i >= 0)
        old = take_window(mon, i);
    s = add_window(mon, w);
    pthread_mutex_unlock(&mon->lock);
    drop_window(mon, old);
    return s;
}

zeus_status zeus_monitor_begin_window(zeus_monitor *mon, const char *key, unsigned flags)
{
    struct zeus__window *w;
    zeus_status s = check_call(mon, key, "zeus_monitor_begin_window");
    int exists;

    if (s != ZEUS_OK)
        return s;
    pthread_mutex_lock(&mon->lock);
    exists = find_window(mon, key) >= 0;
    pthread_mutex_unlock(&mon->lock);
    if (exists && !(flags & ZEUS_WINDOW_RESTART))
        return already_exists(key);

    w = zeus__window_new(mon, key, mon->gpu_count, mon->cpu_count, !mon->direct);
    if (w == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory opening window '%s'", key);
    maybe_sync(mon, flags);
    s = start_window(mon, w);
    if (s == ZEUS_OK)
        s = insert_window(mon, w, (flags & ZEUS_WINDOW_RESTART) != 0);
    if (s != ZEUS_OK)
        drop_window(mon, w);
    return s;
}

/* ---- end_window ------------------------------------------------------------------------- */

/* Instant power of every GPU, and how long reading it took (Zeus subtracts that time). */
static void read_instant_power(zeus_monitor *mon, struct zeus__window *w)
{
    int64_t t0 = zeus__now_ns();

    for (unsigned i = 0; i < mon->gpu_count; i++)
        if (zeus_gpu_get_power(mon->devs, mon->gpu_index[i], ZEUS_POWER_DEVICE_INSTANT,
                               &w->power_w[i]) != ZEUS_OK)
            w->power_w[i] = NAN;
    w->power_read_s = (double)(zeus__now_ns() - t0) * 1e-9;
}

static void fill_cancelled(const zeus_monitor *mon, const struct zeus__window *w,
                           zeus_measurement *m)
{
    zeus__monitor_fill_identity(mon, m);
    m->flags = ZEUS_MEASUREMENT_CANCELLED;
    m->start_unix_s = w->start_unix_s;
    m->start_mono_s = (double)w->start_ns * 1e-9;
    for (unsigned i = 0; i < mon->cpu_count; i++)
        m->dram_energy_j[i] = mon->cpu_has_dram[i] ? 0.0 : NAN;
    for (unsigned k = 0; mon->soc_count > 0 && k < ZEUS_SOC_RAILS; k++)
        if (w->soc_start.flags[k] & ZEUS_ENERGY_VALID) {
            m->soc_energy_j[k] = 0.0; /* Zeus zeroes the fields it has (zero_all_fields) */
            m->soc_flags[k] = 0;
        }
}

/*
 * Sampled mode: the start edge is final if the sampler saw an update after it; otherwise it
 * stays tracked and joins the end edges the window waits for. The caller's immediate answer
 * uses the best estimate of both edges (results.c replaces them with the final readings).
 */
static void end_sampled(zeus_monitor *mon, struct zeus__window *w)
{
    w->pending = 0;
    for (unsigned i = 0; i < mon->gpu_count; i++) {
        zeus__edge *start = &w->start_edge[i], *end = &w->end_edge[i];

        if (zeus__channel_untrack(mon->channel[i], start)) {
            w->gpu_start[i] = start->reading;
        } else {
            zeus__channel_energy_at(mon->channel[i], w->start_ns, &w->gpu_start[i]);
            start->on_final = zeus__monitor_edge_final;
            start->user = w;
            w->pending++; /* tracked again by hand_over */
        }
        zeus__channel_energy_at(mon->channel[i], w->end_ns, &w->gpu_end[i]);
        end->t_ns = w->end_ns;
        end->on_final = zeus__monitor_edge_final;
        end->user = w;
        w->pending++;
    }
}

/* Queue the ended window and track its pending edges; from here results.c owns it. */
static uint64_t hand_over(zeus_monitor *mon, struct zeus__window *w)
{
    /* w may be freed as soon as its last edge is tracked: copy what the loop needs. */
    zeus__edge *starts = w->start_edge, *ends = w->end_edge;
    unsigned n = w->gpu_count;
    uint64_t id;

    pthread_mutex_lock(&mon->lock);
    id = w->id = mon->next_id++;
    zeus__monitor_queue_ending(mon, w);
    if (w->pending == 0)
        zeus__monitor_drain(mon); /* direct mode: final now, and w is freed */
    pthread_mutex_unlock(&mon->lock);
    if (ends == NULL)
        return id;
    /* Start edges first: each window's last tracked edge is then an end edge. */
    for (unsigned i = 0; i < n; i++)
        if (starts[i].on_final != NULL)
            zeus__channel_track(mon->channel[i], &starts[i]);
    for (unsigned i = 0; i < n; i++)
        zeus__channel_track(mon->channel[i], &ends[i]);
    return id;
}

static zeus_status finish_window(zeus_monitor *mon, struct zeus__window *w, unsigned flags,
                                 zeus_measurement *m)
{
    zeus_status s;
    int sampled = !mon->direct && mon->gpu_count > 0;

    /* Instant power is read before syncing, on purpose, as Zeus does (its step 3). */
    if (mon->approx_instant_energy)
        read_instant_power(mon, w);
    maybe_sync(mon, flags);
    if (flags & ZEUS_WINDOW_CANCEL) {
        fill_cancelled(mon, w, m);
        drop_window(mon, w);
        return ZEUS_OK;
    }
    w->end_ns = zeus__now_ns();
    read_cpus(mon, w->cpu_end, w->cpu_end_status);
    read_soc(mon, &w->soc_end);
    if (sampled)
        end_sampled(mon, w);
    else
        for (unsigned i = 0; i < mon->gpu_count; i++)
            read_gpu_now(mon, i, &w->gpu_end[i]);

    /* The caller's answer, built before handing w over (it may be freed right after). */
    s = zeus__monitor_build(mon, w, sampled, m);
    {
        char detail[1024];
        snprintf(detail, sizeof detail, "%s", zeus_last_error());
        m->window_id = hand_over(mon, w);
        if (s != ZEUS_OK)
            zeus__fail(s, "%s", detail);
    }
    if (sampled && (flags & ZEUS_WINDOW_WAIT_FINAL))
        return zeus_monitor_get_final(mon, m->window_id, 2.0, m);
    return s;
}

zeus_status zeus_monitor_end_window(zeus_monitor *mon, const char *key, unsigned flags,
                                    zeus_measurement *out)
{
    zeus_measurement *local = NULL;
    struct zeus__window *w = NULL;
    zeus_status s = check_call(mon, key, "zeus_monitor_end_window");
    int i;

    if (s != ZEUS_OK)
        return s;
    pthread_mutex_lock(&mon->lock);
    i = find_window(mon, key);
    if (i >= 0)
        w = take_window(mon, i);
    pthread_mutex_unlock(&mon->lock);
    if (w == NULL)
        return zeus__fail(ZEUS_ERR_NOT_FOUND, "Measurement window '%s' does not exist", key);
    if (out == NULL && (out = local = malloc(sizeof *local)) == NULL) {
        drop_window(mon, w);
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory closing window '%s'", key);
    }
    s = finish_window(mon, w, flags, out);
    free(local);
    return s;
}

zeus_status zeus_monitor_get_final(zeus_monitor *mon, uint64_t window_id, double timeout_s,
                                   zeus_measurement *out)
{
    zeus_status s;

    if (!monitor_ok(mon) || out == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "zeus_monitor_get_final: bad argument");
    if (!(timeout_s >= 0))
        timeout_s = 0;
    if (timeout_s > 3600)
        timeout_s = 3600;
    pthread_mutex_lock(&mon->lock);
    s = zeus__monitor_wait_final(mon, window_id, zeus__now_ns() + (int64_t)(timeout_s * 1e9), out);
    pthread_mutex_unlock(&mon->lock);
    return s;
}

/* ---- Other calls ------------------------------------------------------------------------ */

zeus_status zeus_monitor_reset_windows(zeus_monitor *mon)
{
    struct zeus__window **windows;
    unsigned n;

    if (!monitor_ok(mon))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "invalid or destroyed monitor");
    pthread_mutex_lock(&mon->lock);
    windows = mon->windows;
    n = mon->window_count;
    mon->windows = NULL;
    mon->window_count = mon->window_cap = 0;
    pthread_mutex_unlock(&mon->lock);
    for (unsigned i = 0; i < n; i++)
        drop_window(mon, windows[i]);
    free(windows);
    return ZEUS_OK;
}

unsigned zeus_monitor_open_window_count(zeus_monitor *mon)
{
    unsigned n;

    if (!monitor_ok(mon))
        return 0;
    pthread_mutex_lock(&mon->lock);
    n = mon->window_count;
    pthread_mutex_unlock(&mon->lock);
    return n;
}

double zeus_measurement_total_energy(const zeus_measurement *m)
{
    double total = 0;

    if (m == NULL)
        return 0;
    for (unsigned i = 0; i < m->gpu_count && i < ZEUS_MAX_GPUS; i++)
        total += m->gpu_energy_j[i];
    return total;
}

/* ---- For the library's other modules (monitor_internal.h) ------------------------------- */

/*
 * Profiling (src/profile/) syncs outside any window, where Zeus calls sync_execution with
 * the monitor's GPUs; this keeps it off the struct (the GPUs come from
 * zeus_monitor_gpu_indices()).
 */
void zeus__monitor_sync(zeus_monitor *mon)
{
    if (monitor_ok(mon))
        maybe_sync(mon, ZEUS_WINDOW_SYNC);
}
