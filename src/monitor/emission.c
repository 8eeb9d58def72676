/*
 * emission.c - Zeus's CarbonEmissionMonitor and EnergyCostMonitor in C: named windows whose
 * energy is split into UTC-hour buckets (emission_hours.c), each priced with its own hour's
 * rate from a zeus_rate_provider.
 *
 * Each emission window runs as a chain of windows ("segments") on a zeus_monitor, borrowed or
 * created: at every hour boundary of the injectable clock the open segment is ended and the
 * next begun at once, so every segment lies within one hour (emission_hours.c spreads one
 * that does not, when the tick came late). The boundary is seen by a background thread
 * (waiting on a condition variable until the next boundary or tick_s, whichever is sooner),
 * by every call, and by zeus_emission_monitor_tick().
 *
 * DESIGN NOTES
 *  1. Energy of a segment. In sampled mode a segment's end_window answer is provisional; the
 *     bucket takes the final value (ZEUS_WINDOW_WAIT_FINAL at a user's end, get_final after a
 *     boundary's end-and-begin, so that the gap between segments stays microseconds). That
 *     costs up to one counter step (about 100 ms on NVIDIA) at end_window, once per window,
 *     instead of a provisional value that can be off by a step's energy. Direct mode is final
 *     at once. Consecutive segments leave out only the time between one's end and the next's
 *     begin (microseconds in sampled mode, the counter reads in direct mode).
 *  2. The provider is never called with `lock` held: pricing collects an unpriced hour under
 *     the lock, asks the provider without it, and applies the rate under it again. A bucket
 *     priced meanwhile by another thread is not priced again (emission_hours.c note 2).
 *  3. A pricing pass stops at the first ZEUS_ERR_PROVIDER_HTTP (the provider is down: asking
 *     about every other hour would only wait out more timeouts); any other error skips that
 *     hour. Unpriced buckets stay, flagged pending. The background thread retries them at
 *     most every RETRY_S; get(), end_window() and tick() always try.
 *  4. Closed hours of open windows are priced as soon as their hour has passed, so a provider
 *     with a short history (ElectricityMaps: 24 h) still has them (Zeus flushes every 23 h).
 *
 *   begin_window -> [open: segment on the monitor] --hour boundary (tick)--> [open: next]
 *                    |                                                       |
 *                    +------------------- end_window ------------------------+
 *                                            v
 *                    [ended: buckets, some pending] --get()/tick() prices--> [ended: priced]
 *                                            |
 *                                         forget() -> freed
 *
 * Thread safety: every call may be made from any thread.
 */
#include "zeus/emission.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/emission_hours.h"
#include "monitor/monitor_internal.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/options.h"

#define EMISSION_MAGIC 0x454d4931u /* "EMI1" */
#define RETRY_S 60.0               /* background retries of a provider that is down */
#define FINAL_TIMEOUT_S 2.0        /* the longest wait for a segment's final values */

struct ewindow {
    char *key;
    uint64_t id;
    double start_unix_s; /* per the clock */
    double start_mono_s, end_mono_s;
    double seg_start;  /* clock time the open segment began */
    char inner[64];    /* the open segment's name on the monitor */
    int inner_open;
    int lost;          /* a stretch was not measured (a segment could not begin) */
    zeus_status error; /* the first device error of a segment */
    struct zeus__hours hours;
    struct ewindow *next;
};

struct zeus_emission_monitor {
    unsigned magic;
    zeus_rate_provider *provider;
    zeus_monitor *mon;
    int own_mon;
    double (*clock)(void *);
    void *clock_user;
    zeus_measurement ident; /* device counts and indices; DRAM NAN where absent */
    zeus_rate_kind kind;
    char currency[8];

    pthread_mutex_t lock; /* guards everything below */
    struct ewindow *open, *ended;
    uint64_t next_id;
    unsigned seq;
    double retry_mono_s; /* the thread's next retry of pending buckets */
    char provider_error[512]; /* the provider's last failure, for the pending message */

    int background;
    double tick_s;
    pthread_cond_t wake;
    pthread_t thread;
    int thread_started, stopping;
};

/* ---- Small helpers ---------------------------------------------------------------------- */

static int emission_ok(const zeus_emission_monitor *m)
{
    return m != NULL && m->magic == EMISSION_MAGIC;
}

static double real_clock(void *user)
{
    (void)user;
    return zeus__unix_now_s();
}

static double now_clock(const zeus_emission_monitor *m)
{
    return m->clock(m->clock_user);
}

static struct ewindow *find_open(zeus_emission_monitor *m, const char *key)
{
    for (struct ewindow *w = m->open; w != NULL; w = w->next)
        if (strcmp(w->key, key) == 0)
            return w;
    return NULL;
}

static struct ewindow *find_ended(zeus_emission_monitor *m, uint64_t id)
{
    for (struct ewindow *w = m->ended; w != NULL; w = w->next)
        if (w->id == id)
            return w;
    return NULL;
}

static void unlink_window(struct ewindow **list, struct ewindow *w)
{
    for (; *list != NULL; list = &(*list)->next)
        if (*list == w) {
            *list = w->next;
            w->next = NULL;
            return;
        }
}

static void free_window(struct ewindow *w)
{
    zeus__hours_free(&w->hours);
    free(w->key);
    free(w);
}

/* ---- Segments --------------------------------------------------------------------------- */

/* Begin the window's next segment at clock time `now`; caller holds the lock. */
static zeus_status begin_segment(zeus_emission_monitor *m, struct ewindow *w, double now,
                                 unsigned flags)
{
    zeus_status s;

    snprintf(w->inner, sizeof w->inner, "zeus-emission/%p/%u", (void *)m, m->seq++);
    s = zeus_monitor_begin_window(m->mon, w->inner, flags);
    w->inner_open = s == ZEUS_OK;
    w->seg_start = now;
    return s;
}

/* The final values of an ended segment (note 1): an estimate only when they do not come. */
static void finalize(zeus_emission_monitor *m, zeus_measurement *seg)
{
    int provisional = 0;

    for (unsigned i = 0; i < seg->gpu_count; i++)
        provisional |= (seg->gpu_flags[i] & ZEUS_ENERGY_PROVISIONAL) != 0;
    if (provisional)
        zeus_monitor_get_final(m->mon, seg->window_id, FINAL_TIMEOUT_S, seg);
}

/* Add an ended segment's energy to the window's buckets; caller holds the lock. */
static void record_segment(struct ewindow *w, zeus_status s, const zeus_measurement *seg,
                           double t0, double t1)
{
    /* No measurement at all (the segment vanished from a borrowed monitor whose windows
     * were reset, or no memory): the stretch is lost, and the sums say so (NAN). */
    int missing = s == ZEUS_ERR_NOT_FOUND || s == ZEUS_ERR_INVALID_ARGUMENT ||
                  s == ZEUS_ERR_NO_MEMORY;

    if (missing)
        s = ZEUS_ERR_NO_DATA; /* not NOT_FOUND, which end_window keeps for an unknown key */
    if (s != ZEUS_OK && w->error == ZEUS_OK)
        w->error = s;
    if (missing || zeus__hours_add(&w->hours, seg, t0, t1) != ZEUS_OK)
        w->lost = 1;
}

/* Whether some open window's segment is due to roll (its hour passed, or it never began). */
static int roll_due(zeus_emission_monitor *m, double hour)
{
    for (struct ewindow *w = m->open; w != NULL; w = w->next)
        if (!w->inner_open || zeus__hour_floor(w->seg_start) < hour)
            return 1;
    return 0;
}

/*
 * Close every open window's segment whose hour has passed and begin the next (note 1):
 * all ends and begins first, then the waits for final values. Caller holds the lock.
 * Returns how many segments were closed.
 */
static unsigned roll_hours(zeus_emission_monitor *m)
{
    double now = now_clock(m), hour = zeus__hour_floor(now);
    unsigned n = 0, k = 0;

    if (!roll_due(m, hour))
        return 0; /* the usual case: no allocation */
    for (struct ewindow *w = m->open; w != NULL; w = w->next)
        n++;
    zeus_measurement *segs = calloc(n, sizeof *segs);
    zeus_status *st = calloc(n, sizeof *st);
    struct ewindow **ws = calloc(n, sizeof *ws);
    double *starts = calloc(n, sizeof *starts);

    if (segs == NULL || st == NULL || ws == NULL || starts == NULL)
        goto out; /* out of memory: the next tick tries again */
    for (struct ewindow *w = m->open; w != NULL; w = w->next) {
        zeus_status s;

        if (w->inner_open && !(zeus__hour_floor(w->seg_start) < hour))
            continue;
        if (w->inner_open) {
            st[k] = zeus_monitor_end_window(m->mon, w->inner, 0, &segs[k]);
            ws[k] = w;
            starts[k++] = w->seg_start;
        }
        /* A segment that cannot begin leaves a stretch unmeasured: retried next tick. */
        s = begin_segment(m, w, now, 0);
        if (s != ZEUS_OK) {
            w->lost = 1;
            if (w->error == ZEUS_OK)
                w->error = s;
        }
    }
    for (unsigned i = 0; i < k; i++) {
        finalize(m, &segs[i]);
        record_segment(ws[i], st[i], &segs[i], starts[i], now);
    }
out:
    free(segs);
    free(st);
    free(ws);
    free(starts);
    return k;
}

/* ---- Pricing (notes 2 and 3) ------------------------------------------------------------ */

/* The earliest closed, unpriced hour at or after `after_s` of any window; NAN if none. */
static double next_unpriced(zeus_emission_monitor *m, double after_s)
{
    double best = NAN;
    struct ewindow *lists[2] = {m->open, m->ended};

    for (int l = 0; l < 2; l++)
        for (struct ewindow *w = lists[l]; w != NULL; w = w->next) {
            double h = zeus__hours_next_unpriced(&w->hours, after_s);

            if (!isnan(h) && !(h >= best))
                best = h;
        }
    return best;
}

static void price_hour(zeus_emission_monitor *m, double hour, double rate, uint32_t flags)
{
    struct ewindow *lists[2] = {m->open, m->ended};

    for (int l = 0; l < 2; l++)
        for (struct ewindow *w = lists[l]; w != NULL; w = w->next)
            zeus__hours_price(&w->hours, hour, rate, flags);
}

/*
 * Ask the provider for every hour some bucket waits for, earliest first. Returns ZEUS_OK when
 * nothing is left pending, else the last provider error. Called without the lock.
 */
static zeus_status price_pending(zeus_emission_monitor *m)
{
    zeus_status last = ZEUS_OK;
    double after = -INFINITY;

    for (;;) {
        double hour, rate = NAN;
        uint32_t flags = 0;
        zeus_status s;

        pthread_mutex_lock(&m->lock);
        hour = next_unpriced(m, after);
        pthread_mutex_unlock(&m->lock);
        if (isnan(hour))
            break;
        after = hour + 1;
        s = zeus_rate_provider_rate_at(m->provider, hour, &rate, &flags);
        if (s == ZEUS_OK && !(isfinite(rate) && rate >= 0))
            s = zeus__fail(ZEUS_ERR_PROVIDER_NOT_FOUND,
                           "the rate provider gave %g for the hour at %.0f", rate, hour);
        if (s != ZEUS_OK) {
            last = s;
            pthread_mutex_lock(&m->lock);
            snprintf(m->provider_error, sizeof m->provider_error, "%s", zeus_last_error());
            pthread_mutex_unlock(&m->lock);
            if (s == ZEUS_ERR_PROVIDER_HTTP)
                break;
            continue;
        }
        pthread_mutex_lock(&m->lock);
        price_hour(m, hour, rate, flags & ~ZEUS_RATE_PENDING);
        pthread_mutex_unlock(&m->lock);
    }
    return last;
}

/* ---- Measurements ----------------------------------------------------------------------- */

/* The measurement of window w; caller holds the lock. */
static void fill(const zeus_emission_monitor *m, const struct ewindow *w,
                 zeus_emission_measurement *out)
{
    memset(out, 0, sizeof *out);
    out->size = sizeof *out;
    out->window_id = w->id;
    out->start_unix_s = w->start_unix_s;
    out->time_s = w->end_mono_s - w->start_mono_s;
    out->kind = m->kind;
    snprintf(out->currency, sizeof out->currency, "%s", m->currency);
    zeus__hours_fill(&w->hours, &m->ident, out);
    if (!w->lost)
        return;
    /* A stretch was not measured: the sums are lower bounds, so they are not reported. */
    for (unsigned i = 0; i < out->gpu_count; i++)
        out->gpu_energy_j[i] = out->gpu_amount[i] = NAN;
    for (unsigned i = 0; i < out->cpu_count; i++) {
        out->cpu_energy_j[i] = out->cpu_amount[i] = NAN;
        out->dram_energy_j[i] = out->dram_amount[i] = NAN;
    }
    out->total_amount = NAN;
}

/* Copy a full measurement into the caller's, as far as its size reaches (the struct grows
 * append-only). */
static zeus_status copy_out(const zeus_emission_measurement *full, zeus_emission_measurement *out)
{
    uint32_t size = out->size;

    if (size < sizeof *full) /* every field so far is in the first release */
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                          "zeus_emission_measurement.size is %u; set it to sizeof the struct",
                          (unsigned)size);
    memcpy(out, full, sizeof *full);
    out->size = size;
    return ZEUS_OK;
}

/* The status of a window's measurement: pending first, then a device's error. Caller holds
 * the lock. */
static zeus_status result_status(const zeus_emission_monitor *m, const struct ewindow *w,
                                 const zeus_emission_measurement *e)
{
    if (e->pending_hours > 0)
        return zeus__fail(ZEUS_ERR_PENDING,
                          "%u of %u hour(s) of window '%s' are not priced yet: %s",
                          e->pending_hours, e->hours, w->key,
                          m->provider_error[0] ? m->provider_error
                                               : "the rate provider has not answered");
    if (w->lost)
        return zeus__fail(w->error != ZEUS_OK ? w->error : ZEUS_ERR_NO_DATA,
                          "part of window '%s' was not measured (its segment on the monitor "
                          "could not begin, or was ended by someone else): its values are NAN",
                          w->key);
    if (w->error != ZEUS_OK)
        return zeus__fail(w->error, "a device failed during window '%s': its values are NAN",
                          w->key);
    return ZEUS_OK;
}

/* Fill `out` from ended window `id` (the status as result_status); caller holds the lock. */
static zeus_status report(zeus_emission_monitor *m, uint64_t id, zeus_emission_measurement *out)
{
    zeus_emission_measurement full;
    struct ewindow *w = find_ended(m, id);
    zeus_status s;

    if (w == NULL)
        return zeus__fail(ZEUS_ERR_NOT_FOUND, "no ended emission window has id %llu",
                          (unsigned long long)id);
    fill(m, w, &full);
    s = copy_out(&full, out);
    return s != ZEUS_OK ? s : result_status(m, w, &full);
}

/* ---- The background thread -------------------------------------------------------------- */

/*
 * Roll hours, then price what waits: always when `force`, else when an hour just closed or
 * the retry time has come (note 3).
 */
static zeus_status tick(zeus_emission_monitor *m, int force)
{
    zeus_status s = ZEUS_OK;
    int price;

    pthread_mutex_lock(&m->lock);
    price = roll_hours(m) > 0 || force || zeus__now_s() >= m->retry_mono_s;
    price = price && !isnan(next_unpriced(m, -INFINITY));
    pthread_mutex_unlock(&m->lock);
    if (price) {
        s = price_pending(m);
        pthread_mutex_lock(&m->lock);
        m->retry_mono_s = zeus__now_s() + RETRY_S;
        pthread_mutex_unlock(&m->lock);
    }
    return s;
}

/* Real seconds to wait: tick_s, or less to wake just after the real clock's next hour. */
static double wait_s(const zeus_emission_monitor *m)
{
    double wait = m->tick_s;

    if (m->clock == real_clock) {
        double now = now_clock(m);
        double to_hour = zeus__hour_floor(now) + ZEUS__HOUR_S - now + 0.001;

        if (to_hour < wait)
            wait = to_hour;
    }
    return wait;
}

static void *thread_main(void *arg)
{
    zeus_emission_monitor *m = arg;

    pthread_mutex_lock(&m->lock);
    while (!m->stopping) {
        int64_t deadline = zeus__now_ns() + (int64_t)(wait_s(m) * 1e9);
        struct timespec ts = zeus__timespec_from_ns(deadline);

        while (!m->stopping && zeus__now_ns() < deadline)
            pthread_cond_timedwait(&m->wake, &m->lock, &ts);
        if (m->stopping)
            break;
        pthread_mutex_unlock(&m->lock);
        tick(m, 0);
        pthread_mutex_lock(&m->lock);
    }
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

/* ---- Create and destroy ----------------------------------------------------------------- */

void zeus_emission_options_init(zeus_emission_options *opts)
{
    if (opts == NULL)
        return;
    memset(opts, 0, sizeof *opts);
    opts->size = sizeof *opts;
    opts->background = 1;
}

/* The devices every measurement names, with NAN DRAM where a CPU has none. */
static void read_identity(zeus_emission_monitor *m)
{
    zeus__monitor_fill_identity(m->mon, &m->ident);
    for (unsigned i = 0; i < m->ident.cpu_count; i++)
        m->ident.dram_energy_j[i] = m->mon->cpu_has_dram[i] ? 0 : NAN;
}

static zeus_status init_monitor(zeus_emission_monitor *m, const zeus_emission_options *o)
{
    zeus_status s;

    m->provider = NULL;
    m->clock = o->clock != NULL ? o->clock : real_clock;
    m->clock_user = o->clock_user;
    m->background = o->background;
    m->tick_s = o->tick_s > 0 ? o->tick_s : 1.0;
    if (o->monitor != NULL) {
        m->mon = o->monitor;
    } else {
        s = zeus_monitor_create(o->monitor_options, &m->mon);
        if (s != ZEUS_OK)
            return s;
        m->own_mon = 1;
    }
    read_identity(m);
    return ZEUS_OK;
}

zeus_status zeus_emission_monitor_create(zeus_rate_provider *provider,
                                         const zeus_emission_options *opts,
                                         zeus_emission_monitor **out)
{
    zeus_emission_options o;
    zeus_emission_monitor *m;
    zeus_status s;

    if (provider == NULL || out == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                          "zeus_emission_monitor_create: provider and out are required");
    zeus_emission_options_init(&o);
    s = zeus__options_read(&o, sizeof o, opts, sizeof o, "zeus_emission_options");
    if (s != ZEUS_OK)
        return s;
    if ((m = calloc(1, sizeof *m)) == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory creating an emission monitor");
    if ((s = init_monitor(m, &o)) != ZEUS_OK) {
        free(m);
        return s;
    }
    m->provider = provider;
    m->kind = zeus_rate_provider_kind(provider);
    snprintf(m->currency, sizeof m->currency, "%s",
             m->kind == ZEUS_RATE_PRICE ? zeus_rate_provider_currency(provider) : "");
    m->next_id = 1;
    m->retry_mono_s = zeus__now_s() + RETRY_S;
    pthread_mutex_init(&m->lock, NULL);
    zeus__cond_init_monotonic(&m->wake);
    m->magic = EMISSION_MAGIC;
    if (m->background) {
        if (pthread_create(&m->thread, NULL, thread_main, m) != 0) {
            zeus_emission_monitor_destroy(m);
            return zeus__fail(ZEUS_ERR_NO_MEMORY, "cannot start the emission monitor's thread");
        }
        m->thread_started = 1;
    }
    *out = m;
    return ZEUS_OK;
}

static void free_list(struct ewindow *w)
{
    while (w != NULL) {
        struct ewindow *next = w->next;

        free_window(w);
        w = next;
    }
}

void zeus_emission_monitor_destroy(zeus_emission_monitor *m)
{
    if (!emission_ok(m))
        return;
    pthread_mutex_lock(&m->lock);
    m->stopping = 1;
    pthread_cond_broadcast(&m->wake);
    pthread_mutex_unlock(&m->lock);
    if (m->thread_started)
        pthread_join(m->thread, NULL);
    m->magic = 0;
    /* Open windows are dropped; their segments must not stay open on a borrowed monitor. */
    for (struct ewindow *w = m->open; w != NULL; w = w->next)
        if (w->inner_open && !m->own_mon)
            zeus_monitor_end_window(m->mon, w->inner, ZEUS_WINDOW_CANCEL, NULL);
    free_list(m->open);
    free_list(m->ended);
    if (m->own_mon)
        zeus_monitor_destroy(m->mon);
    pthread_cond_destroy(&m->wake);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

/* ---- Windows ---------------------------------------------------------------------------- */

static zeus_status check_call(const zeus_emission_monitor *m, const char *key, const char *fn)
{
    if (!emission_ok(m))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "%s: invalid or destroyed monitor", fn);
    if (key == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "%s: window name is NULL", fn);
    return ZEUS_OK;
}

zeus_status zeus_emission_monitor_begin_window(zeus_emission_monitor *m, const char *key)
{
    zeus_status s = check_call(m, key, "zeus_emission_monitor_begin_window");
    struct ewindow *w;

    if (s != ZEUS_OK)
        return s;
    if ((w = calloc(1, sizeof *w)) == NULL || (w->key = strdup(key)) == NULL) {
        free(w);
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory opening window '%s'", key);
    }
    pthread_mutex_lock(&m->lock);
    roll_hours(m);
    if (find_open(m, key) != NULL) {
        pthread_mutex_unlock(&m->lock);
        free_window(w);
        return zeus__fail(ZEUS_ERR_ALREADY_EXISTS, "Measurement window '%s' already exists",
                          key);
    }
    w->start_unix_s = now_clock(m);
    w->start_mono_s = zeus__now_s();
    s = begin_segment(m, w, w->start_unix_s, ZEUS_WINDOW_SYNC);
    if (s == ZEUS_OK) {
        w->id = m->next_id++;
        w->next = m->open;
        m->open = w;
    }
    pthread_mutex_unlock(&m->lock);
    if (s != ZEUS_OK)
        free_window(w);
    return s;
}

zeus_status zeus_emission_monitor_end_window(zeus_emission_monitor *m, const char *key,
                                             zeus_emission_measurement *out)
{
    zeus_status s = check_call(m, key, "zeus_emission_monitor_end_window");
    struct ewindow *w;
    uint64_t id;

    if (s != ZEUS_OK)
        return s;
    if (out == NULL || out->size < sizeof *out) /* refused before the window is ended */
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "zeus_emission_monitor_end_window: out "
                                                     "is NULL or its size is not set");
    pthread_mutex_lock(&m->lock);
    roll_hours(m);
    if ((w = find_open(m, key)) == NULL) {
        pthread_mutex_unlock(&m->lock);
        return zeus__fail(ZEUS_ERR_NOT_FOUND, "Measurement window '%s' does not exist", key);
    }
    w->end_mono_s = zeus__now_s(); /* before the wait for final values */
    if (w->inner_open) {
        zeus_measurement seg;
        double now = now_clock(m);

        s = zeus_monitor_end_window(m->mon, w->inner, ZEUS_WINDOW_SYNC | ZEUS_WINDOW_WAIT_FINAL,
                                    &seg);
        if (s == ZEUS_ERR_TIMEOUT)
            s = ZEUS_OK; /* the estimate stands: final values did not come in time */
        record_segment(w, s, &seg, w->seg_start, now);
        w->inner_open = 0;
    }
    zeus__hours_close_all(&w->hours);
    unlink_window(&m->open, w);
    w->next = m->ended;
    m->ended = w;
    id = w->id;
    pthread_mutex_unlock(&m->lock);

    price_pending(m);
    pthread_mutex_lock(&m->lock);
    s = report(m, id, out);
    pthread_mutex_unlock(&m->lock);
    return s;
}

zeus_status zeus_emission_monitor_get(zeus_emission_monitor *m, uint64_t window_id,
                                      zeus_emission_measurement *out)
{
    zeus_status s;

    if (!emission_ok(m) || out == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "zeus_emission_monitor_get: bad argument");
    pthread_mutex_lock(&m->lock);
    roll_hours(m);
    s = find_ended(m, window_id) != NULL ? ZEUS_OK : ZEUS_ERR_NOT_FOUND;
    pthread_mutex_unlock(&m->lock);
    if (s == ZEUS_OK)
        price_pending(m);
    pthread_mutex_lock(&m->lock);
    s = report(m, window_id, out);
    pthread_mutex_unlock(&m->lock);
    return s;
}

zeus_status zeus_emission_monitor_forget(zeus_emission_monitor *m, uint64_t window_id)
{
    struct ewindow *w;

    if (!emission_ok(m))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "zeus_emission_monitor_forget: bad monitor");
    pthread_mutex_lock(&m->lock);
    w = find_ended(m, window_id);
    if (w != NULL)
        unlink_window(&m->ended, w);
    pthread_mutex_unlock(&m->lock);
    if (w == NULL)
        return zeus__fail(ZEUS_ERR_NOT_FOUND, "no ended emission window has id %llu",
                          (unsigned long long)window_id);
    free_window(w);
    return ZEUS_OK;
}

zeus_status zeus_emission_monitor_tick(zeus_emission_monitor *m)
{
    if (!emission_ok(m))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "zeus_emission_monitor_tick: bad monitor");
    return tick(m, 1);
}
