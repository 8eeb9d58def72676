/*
 * results.c - Turns ended windows into measurements: the arithmetic (deltas, flags, Zeus's
 * zero-energy rule), and, in sampled mode, finishing windows once the sampler has resolved
 * their end, in the order they ended, so the CSV log keeps Zeus's row order.
 *
 * DESIGN NOTES
 *
 * 1. Every window that ends (not cancelled) gets the next id and joins the ending queue in
 *    id order. Direct-mode windows are final at once; sampled ones wait for the counter
 *    update after their end (one ~100 ms step), signalled by the sampler's edge callback.
 * 2. Only the head of the queue may be finished, so rows are written in id order even when
 *    several sampler threads resolve edges at once. One thread at a time drains the queue
 *    (mon->draining); others leave their finished windows for it.
 * 3. Rows are written with mon->lock released, so a slow disk never stalls begin_window.
 * 4. The last ZEUS__FINALS final measurements are kept for zeus_monitor_get_final().
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/monitor_internal.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/warn.h"

/* ---- Building a measurement ------------------------------------------------------------- */

void zeus__monitor_fill_identity(const struct zeus_monitor *mon, zeus_measurement *m)
{
    memset(m, 0, sizeof *m);
    m->gpu_count = mon->gpu_count;
    memcpy(m->gpu_index, mon->gpu_index, sizeof m->gpu_index);
    m->cpu_count = mon->cpu_count;
    memcpy(m->cpu_index, mon->cpu_index, sizeof m->cpu_index);
    m->soc_count = mon->soc_count;
    for (unsigned k = 0; k < ZEUS_SOC_RAILS; k++) {
        m->soc_energy_j[k] = NAN; /* absent is not zero */
        m->soc_flags[k] = ZEUS_ENERGY_UNSUPPORTED;
    }
}

/*
 * Cumulative energy of rail k at monotonic time t_ns, from a reading taken a moment before
 * or after it: the reading is moved to the window's own timestamp at the power it read, so
 * the SoC's span is exactly the window's even when the thread was preempted between the
 * read and the timestamp (or read GPUs in between, milliseconds each).
 */
static double soc_energy_at(const zeus_soc_energy *e, unsigned k, int64_t t_ns)
{
    return e->energy_j[k] + e->power_w[k] * ((double)t_ns * 1e-9 - e->read_mono_s);
}

/* SoC rail k from its cumulative readings at both edges (no SoC: left as absent). */
static void fill_soc(const struct zeus__window *w, unsigned k, zeus_measurement *m)
{
    const zeus_soc_energy *a = &w->soc_start, *b = &w->soc_end;
    uint32_t both = a->flags[k] | b->flags[k];

    if (both & ZEUS_ENERGY_UNSUPPORTED) {
        /* No such rail, or it appeared inside the window: nothing covers its start. */
        m->soc_flags[k] = ZEUS_ENERGY_UNSUPPORTED;
        return;
    }
    if (both & ZEUS_ENERGY_FAILED) {
        m->soc_flags[k] = ZEUS_ENERGY_FAILED;
        return;
    }
    m->soc_energy_j[k] = soc_energy_at(b, k, w->end_ns) - soc_energy_at(a, k, w->start_ns);
    m->soc_flags[k] = ZEUS_ENERGY_VALID | ZEUS_ENERGY_INTEGRATED |
                      (b->gaps[k] != a->gaps[k] ? ZEUS_ENERGY_DISCONTINUITY : 0);
}

#define SOURCE_FLAGS (ZEUS_ENERGY_COUNTER | ZEUS_ENERGY_INTEGRATED | ZEUS_ENERGY_INTERPOLATED | \
                      ZEUS_ENERGY_PROVISIONAL | ZEUS_ENERGY_COUNTER_REJECTED)

/* GPU i's energy from its start and end readings; returns the device's status. */
static zeus_status fill_gpu(const struct zeus_monitor *mon, const struct zeus__window *w,
                            unsigned i, zeus_measurement *m)
{
    const zeus__energy_reading *a = &w->gpu_start[i], *b = &w->gpu_end[i];

    m->gpu_energy_j[i] = NAN;
    if (mon->direct && !mon->gpu_has_counter[i]) {
        m->gpu_flags[i] = ZEUS_ENERGY_UNSUPPORTED;
        return ZEUS_OK;
    }
    if ((a->flags | b->flags) & ZEUS_ENERGY_FAILED) {
        m->gpu_flags[i] = ZEUS_ENERGY_FAILED;
        return a->flags & ZEUS_ENERGY_FAILED ? a->status : b->status;
    }
    if (b->energy_j < a->energy_j) {
        /* NVML's counter counts from driver load; going back means the driver reloaded. */
        m->gpu_flags[i] = ZEUS_ENERGY_RESET;
        return ZEUS_OK;
    }
    m->gpu_energy_j[i] = b->energy_j - a->energy_j;
    m->gpu_flags[i] = ZEUS_ENERGY_VALID | ((a->flags | b->flags) & SOURCE_FLAGS);
    return ZEUS_OK;
}

static zeus_status fill_cpu(const struct zeus_monitor *mon, const struct zeus__window *w,
                            unsigned i, zeus_measurement *m)
{
    const zeus_cpu_energy *ea = &w->cpu_start[i], *eb = &w->cpu_end[i];
    zeus_status s = w->cpu_start_status[i] != ZEUS_OK ? w->cpu_start_status[i]
                                                      : w->cpu_end_status[i];

    m->cpu_energy_j[i] = m->dram_energy_j[i] = NAN;
    if (s != ZEUS_OK) {
        m->cpu_flags[i] = m->dram_flags[i] = ZEUS_ENERGY_FAILED;
        return s;
    }
    m->cpu_energy_j[i] = eb->cpu_j - ea->cpu_j;
    m->cpu_wraps[i] = eb->cpu_wraps - ea->cpu_wraps;
    m->cpu_flags[i] = ZEUS_ENERGY_VALID | ZEUS_ENERGY_COUNTER |
                      (m->cpu_wraps[i] ? ZEUS_ENERGY_WRAPPED : 0) |
                      (eb->cpu_discontinuities != ea->cpu_discontinuities
                           ? ZEUS_ENERGY_DISCONTINUITY
                           : 0);
    if (!mon->cpu_has_dram[i]) {
        m->dram_flags[i] = ZEUS_ENERGY_UNSUPPORTED;
        return ZEUS_OK;
    }
    m->dram_energy_j[i] = eb->dram_j - ea->dram_j;
    m->dram_wraps[i] = eb->dram_wraps - ea->dram_wraps;
    m->dram_flags[i] = ZEUS_ENERGY_VALID | ZEUS_ENERGY_COUNTER |
                       (m->dram_wraps[i] ? ZEUS_ENERGY_WRAPPED : 0) |
                       (eb->dram_discontinuities != ea->dram_discontinuities
                            ? ZEUS_ENERGY_DISCONTINUITY
                            : 0);
    return ZEUS_OK;
}

/*
 * Zeus's zero-energy rule (zeus-core.md 1.3, steps 10-11): a GPU that read exactly 0 J either
 * gets instant power x (window time - time spent reading power), or stays 0 with a warning.
 * A GPU without a counter in direct mode is estimated the same way when approximation is on.
 */
static void apply_zero_rule(const struct zeus_monitor *mon, const struct zeus__window *w,
                            int quiet, zeus_measurement *m)
{
    int zeros = 0;

    for (unsigned i = 0; i < m->gpu_count; i++) {
        int zero = (m->gpu_flags[i] & ZEUS_ENERGY_VALID) && m->gpu_energy_j[i] == 0.0;
        int no_counter = (m->gpu_flags[i] & ZEUS_ENERGY_UNSUPPORTED) != 0;

        if (mon->approx_instant_energy && (zero || no_counter) && isfinite(w->power_w[i])) {
            double t = m->time_s - w->power_read_s;
            m->gpu_energy_j[i] = w->power_w[i] * (t > 0 ? t : 0);
            m->gpu_flags[i] = ZEUS_ENERGY_VALID | ZEUS_ENERGY_ESTIMATED;
        } else if (zero) {
            m->gpu_flags[i] |= ZEUS_ENERGY_ZERO;
            zeros++;
        }
    }
    if (zeros > 0 && !quiet)
        /* Zeus's sentence, word for word (its tests match it), then the window's name. */
        zeus__warnf(mon->warn, mon->warn_user,
                    "The energy consumption of one or more GPUs was measured as zero. "
                    "This means that the time duration of the measurement window was "
                    "shorter than the GPU's energy counter update period. Consider "
                    "turning on the `approx_instant_energy` option in `ZeusMonitor`, "
                    "which approximates the energy consumption of a short time window as "
                    "instant power draw x window duration. (Window '%s'.)",
                    w->key);
}

/* Sampler quality for each GPU: the counter step and the updates inside the window. */
static void fill_quality(const struct zeus_monitor *mon, const struct zeus__window *w,
                         zeus_measurement *m)
{
    if (mon->direct)
        return;
    for (unsigned i = 0; i < mon->gpu_count; i++) {
        zeus__channel_stats st;
        zeus__channel_stats_get(mon->channel[i], &st);
        m->gpu_counter_step_s[i] = (double)st.counter_step_ns * 1e-9;
        m->gpu_samples[i] = zeus__channel_updates_between(mon->channel[i], w->start_ns,
                                                          w->end_ns);
    }
}

zeus_status zeus__monitor_build(struct zeus_monitor *mon, const struct zeus__window *w,
                                int quiet, zeus_measurement *m)
{
    zeus_status first = ZEUS_OK, s;
    unsigned bad = 0;

    zeus__monitor_fill_identity(mon, m);
    m->time_s = (double)(w->end_ns - w->start_ns) * 1e-9;
    m->start_unix_s = w->start_unix_s;
    m->start_mono_s = (double)w->start_ns * 1e-9;
    m->window_id = w->id;
    for (unsigned i = 0; i < mon->gpu_count; i++)
        if ((s = fill_gpu(mon, w, i, m)) != ZEUS_OK && first == ZEUS_OK)
            first = s, bad = i;
    for (unsigned i = 0; i < mon->cpu_count; i++)
        if ((s = fill_cpu(mon, w, i, m)) != ZEUS_OK && first == ZEUS_OK)
            first = s, bad = ZEUS_MAX_GPUS + i;
    for (unsigned k = 0; mon->soc_count > 0 && k < ZEUS_SOC_RAILS; k++) {
        fill_soc(w, k, m);
        if ((m->soc_flags[k] & ZEUS_ENERGY_FAILED) && !quiet)
            zeus__warnf(mon->warn, mon->warn_user,
                        "SoC %s rail could not be read at an edge of window '%s': its energy "
                        "is NAN", zeus_soc_rail_name((zeus_soc_rail)k), w->key);
    }
    apply_zero_rule(mon, w, quiet, m);
    fill_quality(mon, w, m);
    for (unsigned i = 0; i < mon->gpu_count; i++)
        m->gpu_flags[i] |= mon->gpu_scope_flags[i]; /* what the GPU's value covers */
    if (first == ZEUS_OK)
        return ZEUS_OK;
    if (bad < ZEUS_MAX_GPUS)
        return zeus__fail(first, "window '%s': GPU %u failed: %s", w->key, mon->gpu_index[bad],
                          zeus_status_string(first));
    return zeus__fail(first, "window '%s': CPU %u failed: %s", w->key,
                      mon->cpu_index[bad - ZEUS_MAX_GPUS], zeus_status_string(first));
}

/* ---- Finishing ended windows in order ---------------------------------------------------- */

void zeus__monitor_queue_ending(struct zeus_monitor *mon, struct zeus__window *w)
{
    w->next = NULL;
    if (mon->ending_tail != NULL)
        mon->ending_tail->next = w;
    else
        mon->ending_head = w;
    mon->ending_tail = w;
}

static void keep_final(struct zeus_monitor *mon, uint64_t id, zeus_status s,
                       const zeus_measurement *m)
{
    struct zeus__final **slot = &mon->finals[id % ZEUS__FINALS];

    if (*slot == NULL && (*slot = malloc(sizeof **slot)) == NULL)
        return; /* out of memory: get_final will say not found */
    (*slot)->id = id;
    (*slot)->status = s;
    (*slot)->m = *m;
}

/* Take the final readings of a sampled window whose edges have all resolved. */
static void collect_end_readings(struct zeus__window *w)
{
    if (w->end_edge == NULL)
        return;
    for (unsigned i = 0; i < w->gpu_count; i++) {
        if (w->start_edge[i].on_final != NULL) /* it waited with the end edges */
            w->gpu_start[i] = w->start_edge[i].reading;
        w->gpu_end[i] = w->end_edge[i].reading;
    }
}

void zeus__monitor_drain(struct zeus_monitor *mon)
{
    zeus_measurement *m;

    if (mon->draining)
        return; /* note 2: the draining thread will get to it */
    m = malloc(sizeof *m);
    if (m == NULL)
        return;
    mon->draining = 1;
    while (mon->ending_head != NULL && mon->ending_head->pending == 0) {
        struct zeus__window *w = mon->ending_head;
        zeus_status s;

        mon->ending_head = w->next;
        if (mon->ending_head == NULL)
            mon->ending_tail = NULL;
        collect_end_readings(w);
        /* Direct mode already warned the caller; sampled mode warns on the final value. */
        s = zeus__monitor_build(mon, w, mon->direct, m);
        keep_final(mon, w->id, s, m);
        pthread_mutex_unlock(&mon->lock); /* note 3 */
        if (mon->log != NULL && zeus__csv_log_write(mon->log, w->key, m) != ZEUS_OK)
            zeus__warnf(mon->warn, mon->warn_user, "%s", zeus_last_error());
        pthread_mutex_lock(&mon->lock);
        mon->finished_id = w->id;
        zeus__window_free(w);
        pthread_cond_broadcast(&mon->done);
    }
    mon->draining = 0;
    pthread_cond_broadcast(&mon->done); /* destroy waits for the drain to end (monitor.c) */
    free(m);
}

void zeus__monitor_edge_final(void *window)
{
    struct zeus__window *w = window;
    struct zeus_monitor *mon = w->mon;

    pthread_mutex_lock(&mon->lock);
    if (--w->pending == 0)
        zeus__monitor_drain(mon);
    pthread_mutex_unlock(&mon->lock);
}

static struct zeus__window *find_ending(struct zeus_monitor *mon, uint64_t id)
{
    for (struct zeus__window *w = mon->ending_head; w != NULL; w = w->next)
        if (w->id == id)
            return w;
    return NULL;
}

/* The best estimate for a window still waiting for its end to resolve. */
static zeus_status provisional(struct zeus_monitor *mon, struct zeus__window *w,
                               zeus_measurement *out)
{
    for (unsigned i = 0; i < w->gpu_count; i++) {
        if (w->start_edge[i].on_final != NULL)
            zeus__channel_energy_at(mon->channel[i], w->start_ns, &w->gpu_start[i]);
        zeus__channel_energy_at(mon->channel[i], w->end_ns, &w->gpu_end[i]);
    }
    zeus__monitor_build(mon, w, 1, out);
    return zeus__fail(ZEUS_ERR_TIMEOUT, "window '%s' (id %llu) is not final yet", w->key,
                      (unsigned long long)w->id);
}

zeus_status zeus__monitor_wait_final(struct zeus_monitor *mon, uint64_t id, int64_t deadline_ns,
                                     zeus_measurement *out)
{
    struct timespec ts = zeus__timespec_from_ns(deadline_ns);

    for (;;) {
        const struct zeus__final *f = mon->finals[id % ZEUS__FINALS];
        struct zeus__window *w;

        if (f != NULL && f->id == id) {
            *out = f->m;
            if (f->status != ZEUS_OK)
                return zeus__fail(f->status, "window %llu: a device failed: %s",
                                  (unsigned long long)id, zeus_status_string(f->status));
            return ZEUS_OK;
        }
        w = find_ending(mon, id);
        if (w == NULL)
            return zeus__fail(ZEUS_ERR_NOT_FOUND,
                              "window id %llu is unknown or older than the last %d windows",
                              (unsigned long long)id, ZEUS__FINALS);
        if (w->pending == 0) {
            /* Final, only not logged yet: another thread is writing rows (note 3). A direct
             * window has no edges, so provisional() must never see one. */
            collect_end_readings(w);
            return zeus__monitor_build(mon, w, 1, out);
        }
        if (zeus__now_ns() >= deadline_ns)
            return provisional(mon, w, out);
        pthread_cond_timedwait(&mon->done, &mon->lock, &ts);
    }
}

/* Untracked unresolved: nobody else will count it down, so do it here, provisionally. */
static void force_edge(struct zeus__channel *ch, struct zeus__window *w, zeus__edge *e)
{
    if (!zeus__channel_untrack(ch, e)) {
        zeus__channel_energy_at(ch, e->t_ns, &e->reading);
        e->final = 1;
        w->pending--;
    }
}

void zeus__monitor_force_endings(struct zeus_monitor *mon)
{
    for (struct zeus__window *w = mon->ending_head; w != NULL; w = w->next) {
        if (w->end_edge == NULL)
            continue;
        for (unsigned i = 0; i < w->gpu_count; i++) {
            force_edge(mon->channel[i], w, &w->end_edge[i]);
            if (w->start_edge[i].on_final != NULL)
                force_edge(mon->channel[i], w, &w->start_edge[i]);
        }
    }
    zeus__monitor_drain(mon);
}

void zeus__monitor_free_finals(struct zeus_monitor *mon)
{
    for (int i = 0; i < ZEUS__FINALS; i++) {
        free(mon->finals[i]);
        mon->finals[i] = NULL;
    }
}
