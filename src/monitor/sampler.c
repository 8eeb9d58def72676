/*
 * sampler.c - The background sampler: one thread per GPU reads the energy counter right
 * after each of its updates, and power and temperature readings as asked, so that windows
 * never call the device on the caller's path.
 *
 * Why: NVML's energy read costs 2.7 ms (p50) and 15 ms (p99) on an H100, and the counter only
 * moves every ~100 ms (reference/GPU-MEASUREMENTS.md). Reading it at each window edge costs
 * the caller milliseconds and still quantizes the energy to the update step. Sampled, a
 * window edge costs a clock read, and its energy is interpolated between the updates around
 * it, which is exact for steady power and far closer than the step otherwise.
 *
 * DESIGN NOTES
 *
 * 1. A counter update is seen as a change between two reads. It happened after the earlier
 *    read began and before the later read ended; its time is taken as the middle of that
 *    bracket. The bracket is kept narrow by phase-locked polling: once the update step is
 *    known (the median of recent intervals), the thread sleeps until just before the next
 *    expected update, then reads every `fine` interval until the value changes. Three or so
 *    reads per update instead of a read every few milliseconds.
 * 2. Points (time, cumulative J) are kept in a ring. energy_at(t) interpolates linearly
 *    between the points around t (final); past the last point it extrapolates with the last
 *    slope (provisional), but while the device's reads fail for no more than one counter
 *    step: further on the value is failed (NAN), never invented (issue 9). A counter that stops moving for several steps means zero power, and
 *    its last value then holds as final.
 * 3. Windows longer than the ring stay exact because their edges are tracked: the thread
 *    resolves each tracked edge at the first update after it and drops it from the list.
 * 4. A GPU without a counter (pre-Volta, or an AMD counter that failed its check at open)
 *    gets its points from integrating polled power by the trapezoid rule; everything
 *    downstream is the same, flagged INTEGRATED (and COUNTER_REJECTED for the latter).
 * 5. Device calls happen without the channel lock; the lock guards the rings, the pending
 *    edges and the statistics. Lock order: registry_lock, then a channel's lock.
 * 6. on_final callbacks run on the channel's thread without its lock, after the edge's
 *    reading is written; the thread never touches an edge after its callback. An edge
 *    without a callback is never touched once the lock is released: its owner sees it final
 *    (untrack) and may free it at once.
 * 7. Expensive reads. A real driver's energy read spins the CPU: 3.6-3.9 ms of CPU per read
 *    on an H200 (driver 580), so note 1's ~26 reads/s cost 15% of a core per GPU. The thread
 *    times each read on its own CPU clock (CLOCK_THREAD_CPUTIME_ID: it owns the channel) and
 *    can keep energy reads within a budget, ZEUS_SAMPLER_CPU_BUDGET (a fraction of a core
 *    per GPU, e.g. 0.0025). The budget is opt-in: by default (CPU_BUDGET, 1) note 1's
 *    polling runs whatever a read costs, because on square and bursty power the budgeted
 *    path is less exact (bench/README.md: square 1 s windows 1.8% against 0.58%) and it
 *    has not yet run on a real GPU. With a budget set: while every-update
 *    polling would cost more than twice that (a sleeping read's own wake-up, ~80 us on a
 *    loaded VM, must not flip cheap reads), it locks onto only every `skip`-th update, skip =
 *    reads per lock (measured) x CPU per read / (budget x step), at most MAX_SKIP; it goes
 *    back under the budget itself. A sparse lock wakes before update k = skip, takes one
 *    baseline read (the value the skipped updates brought, no point), then brackets update k
 *    as note 1 does; a baseline that came late, or an update that came before it, moves on
 *    to the following update. The step is measured from an anchor (the first narrowly
 *    bracketed update) over the whole span since, so its error is one bracket over span_k
 *    updates; k is at most 4 x span_k (1, 4, 16, 64...), and the wake-up allowance is the
 *    jitter plus k / span_k brackets. A tracked edge
 *    (a window's end, or its start not yet passed by an update) asks for the first update
 *    after it at once: each window edge costs one lock whatever the budget, so final values
 *    come within a step or two as before (get_final, destroy), and the budget governs the
 *    background. Between two counter points more than a step apart the counter's delta is
 *    placed in time by power: the channel polls its power (the integrate domain) every
 *    SHAPE_PERIOD_NS (0.3 us a read on an H200), and shape_to adds points, about half a step
 *    apart, on the trapezoid integral of those polls scaled so that it equals the counter's
 *    delta: the counter stays the truth over the interval, power only says when inside it
 *    the energy went. Readings that rest on such a segment carry ZEUS_ENERGY_INTEGRATED
 *    besides ZEUS_ENERGY_COUNTER; updates_between counts counter points only. Past the last
 *    point a provisional value integrates those polls (scaled as the last interval was)
 *    instead of extending the last slope over seconds. Without
 *    power samples covering the interval, or with none drawn, the segment stays linear.
 *    A counter stepping faster than 10 `fine` intervals (fakes only) is always read every
 *    update. A channel whose reads are cheap never leaves note 1's path.
 *
 *   acquire (first) -> thread: learn (poll every `fine`) -> locked (sleep to next update,
 *   then poll every `fine` until it changes) -> ... ; no change for 1.5 steps -> coarse
 *   polling (step/4) until changes resume; release (last) -> stop, join. Expensive reads
 *   (note 7): locked -> sleep to before update `skip` (or the first after a tracked edge)
 *   -> baseline read -> poll every `fine` until it changes -> ...
 */
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/sampler.h"
#include "util/clock.h"
#include "util/error.h"
#include "zeus/monitor.h"

#define POINT_RING 4096           /* ~7 minutes of 100 ms updates; edges pin older ones */
#define STEP_HISTORY 9            /* intervals kept for the median step */
#define DEFAULT_POWER_PERIOD_NS 50000000
#define DEFAULT_MAX_SAMPLES (1u << 16)
#define READY_TIMEOUT_NS 600000000 /* acquire waits at most this for two updates */
#define STUCK_STEPS 4             /* no change for this many steps: the counter holds */
#define FAIL_LIMIT 3              /* consecutive failures before pending edges fail */
#define CPU_BUDGET 1.0            /* default: no budget, every update is read (note 7) */
#define CHEAP_READS_PER_UPDATE 3  /* reads per locked update until measured (2.6 on an H200) */
#define MAX_SKIP 100              /* at most this many updates between counter points */
#define SHAPE_PERIOD_NS 20000000  /* power poll that shapes energy between counter points */
#define SHAPE_MAX 1024            /* power samples kept for shaping: 20 s at 20 ms */

enum point_kind {
    POINT_COUNTER,  /* a counter update; the segment before it is linear */
    POINT_SHAPED,   /* a counter update; the segment before it was shaped by power (note 7) */
    POINT_BETWEEN,  /* not an update: the counter delta distributed by power (note 7) */
};

struct point {
    int64_t t_ns;
    double energy_j;
    int kind; /* enum point_kind */
};

struct power_sample {
    int64_t t_ns;
    double power_w;
};

struct series {
    zeus__sample *buf;
    size_t cap, head, count; /* ring: oldest at head */
    double last;
    int has_last;
    int failing; /* the latest read failed: the last value is no longer current */
};

struct zeus__channel {
    struct zeus__channel *next; /* registry list */
    unsigned refs;
    char uuid[96];
    zeus_devices *devs; /* the registry's devices, stable while the channel exists */
    unsigned gpu;       /* index in devs */
    int has_counter;
    uint32_t integrated_flags; /* INTEGRATED, with COUNTER_REJECTED when the check refused it */
    zeus_power_domain integrate_domain; /* power domain integrated when there is no counter */

    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* wakes the thread (stop, new request) and acquire (ready) */
    int stop;

    /* What is asked of the thread (union of requests). */
    unsigned power_domains;
    int temperature;
    int64_t power_period_ns;
    size_t max_samples;

    /* Energy points (note 2). */
    struct point points[POINT_RING];
    size_t point_head, point_count;
    int have_value;
    int64_t start_ns;  /* when the channel was created: edges after it can be resolved */
    int first_points;  /* the ring still holds the first update ever seen (nothing dropped) */
    double last_value;      /* last counter value read, J */
    int64_t prev_poll_t0;   /* start of the read before the latest one */
    int64_t last_poll_t0;   /* start of the latest successful read */
    int64_t last_change_ns; /* time of the latest point */
    int64_t intervals[STEP_HISTORY];
    unsigned interval_count;
    int64_t step_ns;       /* median update step; 0 while learning */
    int64_t jitter_ns;     /* how far intervals stray from the step (1 ms .. step/10) */
    int64_t read_ns;       /* smoothed cost of one energy read */
    int64_t read_cpu_ns;   /* smoothed CPU time of one energy read, this thread's clock */
    unsigned skip;         /* updates per counter point: 1 reads every update (note 7) */
    int baseline_next;     /* the next read re-bases the value before a bracket (note 7) */
    int replan;            /* an edge was tracked: plan the next lock again (note 7) */
    int64_t anchor_ns;     /* a narrowly bracketed update the step is measured from */
    unsigned span_k;       /* updates between the anchor and the latest point */
    int reaimed;           /* this lock already moved on to the following update */
    int64_t expect_unc_ns; /* how far the update may stray from expect_ns */
    int64_t expect_ns;     /* when the update being waited for should come */
    unsigned lock_reads;   /* reads since the last recorded update */
    double reads_per_lock; /* smoothed reads per recorded update */
    struct power_sample shape[SHAPE_MAX]; /* power since the last counter point (note 7) */
    size_t shape_count;
    int64_t shape_seen_ns; /* the latest power poll for shaping */
    double shape_scale;    /* counter J per power-integral J, from the last shaped interval */
    double cpu_budget;     /* fraction of a core energy reads may take (note 7) */
    int64_t next_energy_ns;
    int64_t next_power_ns;
    unsigned consecutive_failures;

    /* Integration state when there is no counter (note 4). */
    int64_t integ_t_ns;
    double integ_power_w;
    int integ_started;

    struct series series[4]; /* three power domains, then temperature */
    zeus__edge *pending;     /* tracked edges, unresolved */
    zeus__channel_stats stats;
};

/* ---- Registry -------------------------------------------------------------------------- */

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct zeus__channel *channels;
static zeus_devices *shared_devs; /* the channels' own device handle, while any exists */

static void *channel_main(void *arg);

/* ---- Small helpers ---------------------------------------------------------------------- */

static const struct point *point_at(const struct zeus__channel *ch, size_t i)
{
    return &ch->points[(ch->point_head + i) % POINT_RING];
}

static void push_point(struct zeus__channel *ch, int64_t t_ns, double energy_j, int kind)
{
    if (ch->point_count == 0)
        ch->first_points = ch->stats.resets == 0;
    if (ch->point_count == POINT_RING) {
        ch->point_head = (ch->point_head + 1) % POINT_RING;
        ch->point_count--;
        ch->first_points = 0;
    }
    ch->points[(ch->point_head + ch->point_count) % POINT_RING] =
        (struct point){.t_ns = t_ns, .energy_j = energy_j, .kind = kind};
    ch->point_count++;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Median of the recent intervals between updates: robust to one missed or doubled update. */
static void update_step(struct zeus__channel *ch, int64_t interval_ns)
{
    int64_t sorted[STEP_HISTORY];
    unsigned n;

    ch->intervals[ch->interval_count % STEP_HISTORY] = interval_ns;
    ch->interval_count++;
    n = ch->interval_count < STEP_HISTORY ? ch->interval_count : STEP_HISTORY;
    if (n < 2)
        return;
    memcpy(sorted, ch->intervals, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_i64);
    ch->step_ns = sorted[n / 2];
    ch->stats.counter_step_ns = ch->step_ns;
    /*
     * How early to wake before the next update. The spread of our own interval estimates is
     * mostly bracket noise, so this is a fixed allowance for the hardware's jitter (H100:
     * 97/100/103 ms at p10/p50/p90), scaled for slower or faster counters.
     */
    ch->jitter_ns = ch->step_ns / 33 > 1000000 ? ch->step_ns / 33 : 1000000;
}

/* Make room for `cap` samples, keeping the newest ones in order. */
static int series_resize(struct series *s, size_t cap)
{
    zeus__sample *buf = malloc(cap * sizeof *buf);
    size_t keep = s->count < cap ? s->count : cap;

    if (buf == NULL)
        return -1;
    for (size_t i = 0; i < keep; i++)
        buf[i] = s->buf[(s->head + s->count - keep + i) % s->cap];
    free(s->buf);
    s->buf = buf;
    s->cap = cap;
    s->head = 0;
    s->count = keep;
    return 0;
}

static void series_push(struct series *s, size_t cap, int64_t t_ns, double value)
{
    if (s->has_last && s->last == value)
        return; /* de-duplicated: a sample marks a change */
    if (s->cap != cap && series_resize(s, cap) != 0)
        return;
    s->last = value;
    s->has_last = 1;
    if (s->count == s->cap) {
        s->head = (s->head + 1) % s->cap;
        s->count--;
    }
    s->buf[(s->head + s->count) % s->cap] = (zeus__sample){.t_ns = t_ns, .value = value};
    s->count++;
}

static int64_t fine_ns(const struct zeus__channel *ch)
{
    /* Read often enough that the bracket is a few ms, but never back to back: a read that
     * takes 2.7 ms is followed by as long a rest. */
    int64_t f = ch->read_ns;
    if (f < 1000000)
        f = 1000000;
    if (f > 5000000)
        f = 5000000;
    return f;
}

/* Power at t from the shaping samples: linear between them, held beyond them. */
static double shape_power_at(const struct zeus__channel *ch, int64_t t)
{
    const struct power_sample *s = ch->shape;
    size_t i = 0, n = ch->shape_count;

    if (t <= s[0].t_ns)
        return s[0].power_w;
    while (i + 1 < n && s[i + 1].t_ns < t)
        i++;
    if (i + 1 == n)
        return s[n - 1].power_w;
    return s[i].power_w + (s[i + 1].power_w - s[i].power_w) *
                              (double)(t - s[i].t_ns) / (double)(s[i + 1].t_ns - s[i].t_ns);
}

/* Energy (J, unscaled) of the shaping samples' power over [t0, t1] (trapezoids). */
static double shape_integral_j(const struct zeus__channel *ch, int64_t t0, int64_t t1)
{
    double e = 0, p0 = shape_power_at(ch, t0);
    int64_t prev = t0;

    for (size_t i = 0; i < ch->shape_count; i++) {
        int64_t t = ch->shape[i].t_ns;
        if (t <= prev)
            continue;
        if (t >= t1)
            break;
        e += (p0 + ch->shape[i].power_w) / 2 * (double)(t - prev) * 1e-9;
        prev = t;
        p0 = ch->shape[i].power_w;
    }
    return e + (p0 + shape_power_at(ch, t1)) / 2 * (double)(t1 - prev) * 1e-9;
}

/* ---- Resolving energy at a time (callers hold ch->lock) ---------------------------------- */

/* Index of the last point with t <= t_ns, or -1. Binary search over the ring. */
static long find_point(const struct zeus__channel *ch, int64_t t_ns)
{
    long lo = 0, hi = (long)ch->point_count - 1, found = -1;

    while (lo <= hi) {
        long mid = (lo + hi) / 2;
        if (point_at(ch, (size_t)mid)->t_ns <= t_ns) {
            found = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return found;
}

/* The counter has not moved for several steps: power is zero and the last value holds. */
static int counter_holds(const struct zeus__channel *ch, int64_t t_ns)
{
    int64_t step = ch->step_ns ? ch->step_ns : 100000000;

    if (ch->point_count == 0)
        return 0; /* not a single update seen: nothing is known to hold */
    /* a baseline read (note 7) that moved is no stuck counter, however long ago the point */
    if (ch->last_value != point_at(ch, ch->point_count - 1)->energy_j)
        return 0;
    return ch->last_poll_t0 - ch->last_change_ns > STUCK_STEPS * step &&
           t_ns >= ch->last_change_ns && t_ns <= ch->last_poll_t0;
}

/*
 * Extrapolating the last slope is an estimate for at most one counter step past the last
 * point. While the device's reads fail, a time further on than that is not measured at all
 * (a GPU that dropped from 300 W to 10 W while failing read 695.7 J for 2.3 s at the old
 * slope, true ~110 J), so it has no value. A healthy counter that has not moved is the
 * slope's to cover until it holds (counter_holds), as before.
 */
static int beyond_one_step(const struct zeus__channel *ch, const struct point *a, int64_t t_ns)
{
    int64_t step = ch->step_ns ? ch->step_ns : 100000000;

    return ch->consecutive_failures > 0 && t_ns - a->t_ns > step && t_ns > ch->last_poll_t0;
}

/*
 * An edge from the channel's first moments, before the first counter update it saw: windows
 * may begin as soon as the monitor exists, without waiting for the sampler to lock on (issue
 * 9). The update before such an edge happened before the first read, so it is not known;
 * the step after the first update stands in for it: the energy is extrapolated back from the
 * first update at the slope between the first two. Exact for steady power, as interpolation
 * is; until a second update comes it is the first update's value, provisional.
 */
static int before_first_update(const struct zeus__channel *ch, int64_t t_ns)
{
    return ch->first_points && ch->point_count > 0 && t_ns >= ch->start_ns &&
           t_ns < point_at(ch, 0)->t_ns;
}

static void energy_before_first_update(const struct zeus__channel *ch, int64_t t_ns,
                                       zeus__energy_reading *r)
{
    uint32_t source = ch->has_counter ? ZEUS_ENERGY_COUNTER : ch->integrated_flags;
    const struct point *a = point_at(ch, 0);

    if (ch->point_count < 2) {
        r->energy_j = a->energy_j;
        r->flags = ZEUS_ENERGY_VALID | source | ZEUS_ENERGY_PROVISIONAL;
        return;
    }
    {
        const struct point *b = point_at(ch, 1);
        double slope = (b->energy_j - a->energy_j) / (double)(b->t_ns - a->t_ns);
        r->energy_j = a->energy_j - slope * (double)(a->t_ns - t_ns);
        r->flags = ZEUS_ENERGY_VALID | source | ZEUS_ENERGY_INTERPOLATED;
    }
}

static void energy_at_locked(const struct zeus__channel *ch, int64_t t_ns, zeus__energy_reading *r)
{
    uint32_t source = ch->has_counter ? ZEUS_ENERGY_COUNTER : ch->integrated_flags;
    long k;

    r->status = ZEUS_OK;
    if (ch->point_count == 0) {
        /* No update seen yet: the counter's value is all we know. */
        r->energy_j = ch->have_value ? ch->last_value : NAN;
        r->flags = ch->have_value ? (ZEUS_ENERGY_VALID | source | ZEUS_ENERGY_PROVISIONAL)
                                  : ZEUS_ENERGY_FAILED;
        if (!ch->have_value)
            r->status = ch->stats.last_error != ZEUS_OK ? ch->stats.last_error : ZEUS_ERR_NO_DATA;
        return;
    }
    k = find_point(ch, t_ns);
    if (k < 0 && before_first_update(ch, t_ns)) {
        energy_before_first_update(ch, t_ns, r);
        return;
    }
    if (k < 0) {
        /* Before the oldest point still kept: only a tracked edge could have answered. */
        r->energy_j = NAN;
        r->flags = ZEUS_ENERGY_FAILED;
        r->status = ZEUS_ERR_NO_DATA;
        return;
    }
    if ((size_t)k + 1 < ch->point_count) {
        const struct point *a = point_at(ch, (size_t)k), *b = point_at(ch, (size_t)k + 1);
        double frac = (double)(t_ns - a->t_ns) / (double)(b->t_ns - a->t_ns);
        r->energy_j = a->energy_j + (b->energy_j - a->energy_j) * frac;
        r->flags = ZEUS_ENERGY_VALID | source | (t_ns > a->t_ns ? ZEUS_ENERGY_INTERPOLATED : 0);
        if (b->kind != POINT_COUNTER && (t_ns > a->t_ns || a->kind == POINT_BETWEEN))
            r->flags |= ZEUS_ENERGY_INTEGRATED; /* note 7: power placed it in time */
        return;
    }
    /* At or past the last point. */
    {
        const struct point *a = point_at(ch, (size_t)k);
        double slope = 0;
        if (counter_holds(ch, t_ns) || t_ns == a->t_ns) {
            r->energy_j = a->energy_j;
            r->flags = ZEUS_ENERGY_VALID | source;
            return;
        }
        if (beyond_one_step(ch, a, t_ns)) {
            /* Issue 9: never extrapolate the old slope over a device that stopped answering. */
            r->energy_j = NAN;
            r->flags = ZEUS_ENERGY_FAILED;
            r->status = ch->stats.last_error != ZEUS_OK ? ch->stats.last_error : ZEUS_ERR_NO_DATA;
            return;
        }
        if (ch->skip > 1 && ch->shape_count > 0) {
            /* note 7: sparse points; power since the last one says more than its slope */
            r->energy_j = a->energy_j + ch->shape_scale * shape_integral_j(ch, a->t_ns, t_ns);
            r->flags = ZEUS_ENERGY_VALID | source | ZEUS_ENERGY_INTEGRATED |
                       ZEUS_ENERGY_PROVISIONAL;
            return;
        }
        if (k > 0) {
            const struct point *p = point_at(ch, (size_t)k - 1);
            slope = (a->energy_j - p->energy_j) / (double)(a->t_ns - p->t_ns);
        }
        r->energy_j = a->energy_j + slope * (double)(t_ns - a->t_ns);
        r->flags = ZEUS_ENERGY_VALID | source | ZEUS_ENERGY_PROVISIONAL;
    }
}

void zeus__channel_energy_at(struct zeus__channel *ch, int64_t t_ns, zeus__energy_reading *out)
{
    pthread_mutex_lock(&ch->lock);
    energy_at_locked(ch, t_ns, out);
    pthread_mutex_unlock(&ch->lock);
}

int zeus__channel_series_current(struct zeus__channel *ch, int series)
{
    int current;

    pthread_mutex_lock(&ch->lock);
    current = !ch->series[series].failing;
    pthread_mutex_unlock(&ch->lock);
    return current;
}

/* ---- Tracked edges ---------------------------------------------------------------------- */

void zeus__channel_track(struct zeus__channel *ch, zeus__edge *edge)
{
    edge->final = 0;
    pthread_mutex_lock(&ch->lock);
    edge->next = ch->pending;
    ch->pending = edge;
    if (ch->skip > 1) { /* note 7: the edge may need an update before the planned one */
        ch->replan = 1;
        pthread_cond_broadcast(&ch->cond);
    }
    pthread_mutex_unlock(&ch->lock);
}

int zeus__channel_untrack(struct zeus__channel *ch, zeus__edge *edge)
{
    int final;

    pthread_mutex_lock(&ch->lock);
    for (zeus__edge **p = &ch->pending; *p != NULL; p = &(*p)->next) {
        if (*p == edge) {
            *p = edge->next;
            break;
        }
    }
    final = edge->final;
    pthread_mutex_unlock(&ch->lock);
    return final;
}

/*
 * Move every pending edge that `ready` accepts to a resolved list, writing its reading.
 * Returns the list of edges whose on_final must be called (note 6).
 */
static zeus__edge *resolve_edges(struct zeus__channel *ch, int (*ready)(struct zeus__channel *,
                                                                        const zeus__edge *),
                                 zeus_status fail_status)
{
    zeus__edge *done = NULL, **p = &ch->pending;

    while (*p != NULL) {
        zeus__edge *e = *p;
        if (!ready(ch, e)) {
            p = &e->next;
            continue;
        }
        *p = e->next;
        if (fail_status != ZEUS_OK) {
            e->reading = (zeus__energy_reading){.energy_j = NAN, .flags = ZEUS_ENERGY_FAILED,
                                                .status = fail_status};
        } else {
            energy_at_locked(ch, e->t_ns, &e->reading);
        }
        e->final = 1;
        if (e->on_final == NULL)
            continue; /* note 6: its owner may free it as soon as the lock is released */
        e->next = done;
        done = e;
    }
    return done;
}

static int edge_before_last_point(struct zeus__channel *ch, const zeus__edge *e)
{
    /* an edge before the first update needs the second one for its slope */
    if (before_first_update(ch, e->t_ns))
        return ch->point_count >= 2;
    return ch->point_count > 0 && e->t_ns <= ch->last_change_ns;
}

static int edge_settled_by_stuck_counter(struct zeus__channel *ch, const zeus__edge *e)
{
    return edge_before_last_point(ch, e) || counter_holds(ch, e->t_ns);
}

static int edge_any(struct zeus__channel *ch, const zeus__edge *e)
{
    (void)ch;
    (void)e;
    return 1;
}

static void run_callbacks(zeus__edge *done)
{
    while (done != NULL) {
        zeus__edge *next = done->next; /* read first: the callback may free the edge */
        if (done->on_final != NULL)
            done->on_final(done->user);
        done = next;
    }
}

/* ---- Polling ---------------------------------------------------------------------------- */

/*
 * Where in [lo, hi] the update happened. A narrow bracket (the usual case, note 1) gives its
 * middle. A wide one (a missed wake-up, the first update after idling, a lock after skipped
 * updates) gives the time the step predicts for the latest update before the read ended,
 * kept inside the bracket, since updates are regular to a few ms.
 */
static int64_t update_time(const struct zeus__channel *ch, int64_t lo, int64_t hi)
{
    int64_t narrow = 4 * fine_ns(ch) + 2 * ch->read_ns;
    int64_t t = lo + (hi - lo) / 2;

    if (hi - lo > narrow && ch->step_ns > 0 && ch->point_count > 0) {
        /* the value is the latest update's: the last one predicted before the read ended,
         * k steps on (k > 1 when several passed unseen: skipping, or an edge's late lock) */
        int64_t k = (hi - ch->last_change_ns) / ch->step_ns;
        t = ch->last_change_ns + (k > 1 ? k : 1) * ch->step_ns;
        if (t < lo)
            t = lo;
        if (t > hi)
            t = hi;
    }
    return t;
}


/*
 * Note 7: between counter points A (the last one) and B = (tb, eb) more than one step apart,
 * place the counter's delta in time as the polled power drew it: points at the power
 * samples, spaced about half a step, on the integral of power scaled to equal eb - ea. Without
 * enough power samples (or with none drawn) the segment stays linear. Returns the kind of B.
 */
static int shape_to(struct zeus__channel *ch, int64_t tb, double eb)
{
    const struct point *a = ch->point_count > 0 ? point_at(ch, ch->point_count - 1) : NULL;
    int64_t step = ch->step_ns, prev_t, last_kept;
    double cum = 0, prev_p, total = 0, scale, ea;
    size_t inside = 0;

    if (a == NULL || step == 0 || tb - a->t_ns < step + step / 2 || ch->shape_count < 2)
        return POINT_COUNTER;
    for (size_t i = 0; i < ch->shape_count; i++)
        inside += ch->shape[i].t_ns > a->t_ns && ch->shape[i].t_ns < tb;
    if (inside < 1 || ch->shape[0].t_ns > a->t_ns + step)
        return POINT_COUNTER; /* the power samples do not cover the interval */
    /* First pass: the whole integral; the second places the points on it. */
    for (int pass = 0; pass < 2; pass++) {
        prev_t = a->t_ns;
        prev_p = shape_power_at(ch, prev_t);
        last_kept = a->t_ns;
        ea = a->energy_j;
        scale = pass == 0 ? 1 : (eb - ea) / total;
        cum = 0;
        for (size_t i = 0; i <= ch->shape_count; i++) {
            int64_t t = i < ch->shape_count ? ch->shape[i].t_ns : tb;
            double p;
            if (t <= prev_t)
                continue;
            if (t > tb)
                t = tb;
            p = t == tb ? shape_power_at(ch, tb) : ch->shape[i].power_w;
            cum += (prev_p + p) / 2 * (double)(t - prev_t) * 1e-9;
            prev_t = t;
            prev_p = p;
            if (pass == 1 && t < tb - step / 4 && t - last_kept >= step / 2) {
                push_point(ch, t, ea + scale * cum, POINT_BETWEEN);
                last_kept = t;
            }
            if (t == tb)
                break;
        }
        total = cum;
        if (pass == 0 && !(total > 0))
            return POINT_COUNTER; /* no power drawn by the readings: nothing to shape by */
    }
    ch->stats.shaped++;
    if (scale > 0 && isfinite(scale))
        ch->shape_scale = scale; /* provisional values past B use it (note 7) */
    return POINT_SHAPED;
}

/* Keep only the power samples the next interval needs: the last one before t, and later. */
static void shape_drop_before(struct zeus__channel *ch, int64_t t)
{
    size_t keep = 0;

    while (keep + 1 < ch->shape_count && ch->shape[keep + 1].t_ns <= t)
        keep++;
    memmove(ch->shape, ch->shape + keep, (ch->shape_count - keep) * sizeof *ch->shape);
    ch->shape_count -= keep;
}

/*
 * Note 7: the step measured from the anchor, the first narrowly bracketed point, over the
 * whole span since: its error is a bracket over span_k updates, so skipping predicts far.
 */
static void measure_step_span(struct zeus__channel *ch, int64_t t)
{
    int64_t k;

    if (ch->anchor_ns == 0) {
        ch->anchor_ns = t;
        ch->span_k = 1;
        return;
    }
    k = (t - ch->anchor_ns + ch->step_ns / 2) / ch->step_ns;
    if (k < 4)
        return;
    ch->step_ns = (t - ch->anchor_ns) / k;
    ch->stats.counter_step_ns = ch->step_ns;
    ch->span_k = k > 1000000 ? 1000000 : (unsigned)k;
}

/* A new counter value v, read by a call that ended at t1; called with the lock held. */
static void record_change(struct zeus__channel *ch, double v, int64_t t1)
{
    int64_t t = update_time(ch, ch->prev_poll_t0, t1);
    int narrow = t1 - ch->prev_poll_t0 <= 4 * fine_ns(ch) + 2 * ch->read_ns;
    int kind;

    if (ch->point_count > 0) {
        int64_t interval = t - ch->last_change_ns;
        if (interval <= 0)
            t = ch->last_change_ns + 1; /* keep times strictly increasing */
        else if (ch->skip <= 1 && interval < 2 * ch->step_ns)
            update_step(ch, interval);
        else if (ch->step_ns == 0)
            update_step(ch, interval);
    }
    if (narrow && ch->step_ns > 0 && ch->point_count >= 2)
        measure_step_span(ch, t);
    kind = shape_to(ch, t, v);
    shape_drop_before(ch, t);
    push_point(ch, t, v, kind);
    if (ch->expect_ns > 0) /* a planned lock: learning's reads are no lock's */
        ch->reads_per_lock = ch->reads_per_lock > 0
                                 ? (ch->reads_per_lock * 7 + ch->lock_reads) / 8
                                 : ch->lock_reads;
    ch->lock_reads = 0;
    ch->last_change_ns = t;
    ch->stats.last_update_ns = t;
    ch->stats.updates++;
}

/*
 * Note 7: how many updates apart counter points may be so that energy reads stay within
 * CPU_BUDGET: 1 (every update, note 1) while reads are cheap, else enough to spread a lock's
 * reads (measured) over as many steps. Switches back only when well under the budget.
 */
static unsigned choose_skip(const struct zeus__channel *ch)
{
    double allowed = ch->cpu_budget * (double)ch->step_ns; /* CPU ns per step */
    double per_lock = (ch->reads_per_lock > 2 ? ch->reads_per_lock : CHEAP_READS_PER_UPDATE) *
                      (double)ch->read_cpu_ns;
    double n;

    /*
     * per_lock is also what every-update polling costs per step. Switch at twice the budget,
     * back under it: a sleeping read's own wake-up (~80 us of CPU on a loaded VM) must not
     * flip cheap reads, while a spinning driver (3.8 ms, 40x over) always does.
     */
    if (ch->step_ns <= 0 || per_lock <= (ch->skip > 1 ? allowed : 2 * allowed))
        return 1;
    /* a lock polls every `fine` (1-5 ms) around the update: a counter stepping faster than
     * 10 of those (only fakes do) has no room for it, so it keeps being read every update */
    if (ch->step_ns < 10 * fine_ns(ch))
        return 1;
    n = ceil(per_lock / allowed);
    return n < 2 ? 2 : n > MAX_SKIP ? MAX_SKIP : (unsigned)n;
}

/* Earliest unresolved edge after the last point, or INT64_MAX (called with the lock). */
static int64_t earliest_pending(const struct zeus__channel *ch)
{
    int64_t t = INT64_MAX;

    for (const zeus__edge *e = ch->pending; e != NULL; e = e->next)
        if (e->t_ns < t)
            t = e->t_ns;
    return t;
}

/*
 * Note 7: plan the next locked update k steps after the last point, k = skip, or sooner when
 * a tracked edge waits for the first update after it. Reading k > 1 updates ahead starts with
 * a baseline read just before the k-th, then brackets it as note 1 does.
 */
static void plan_lock(struct zeus__channel *ch, int64_t now)
{
    int64_t fine = fine_ns(ch), edge = earliest_pending(ch), k = ch->skip, guard, at;

    if (edge != INT64_MAX) {
        int64_t ke = (edge - ch->last_change_ns + ch->step_ns - 1) / ch->step_ns;
        if (ke < k)
            k = ke < 1 ? 1 : ke;
    }
    /* Predict at most 4x further than the step was last measured over: its error grows
     * with k, and each longer span measures it finer (1, 4, 16, 64 updates...). */
    if (k > 4 * (int64_t)(ch->span_k ? ch->span_k : 1))
        k = 4 * (int64_t)(ch->span_k ? ch->span_k : 1);
    ch->reaimed = 0;
    /* The prediction k steps ahead strays more: by the jitter, and by k times the error of
     * a step measured over span_k updates with a bracket of fine + read. */
    ch->expect_unc_ns = ch->jitter_ns * (1 + k / 16);
    if (k > 1)
        ch->expect_unc_ns += k * (fine + ch->read_ns) / (ch->span_k ? ch->span_k : 1);
    guard = ch->expect_unc_ns + fine + ch->read_ns;
    ch->expect_ns = ch->last_change_ns + k * ch->step_ns;
    at = ch->expect_ns - guard;
    ch->baseline_next = k > 1;
    ch->next_energy_ns = at < now + fine ? now + fine : at;
}

static void schedule_energy(struct zeus__channel *ch, int64_t now, int changed)
{
    int64_t fine = fine_ns(ch);

    if (ch->step_ns == 0 || ch->point_count < 2) {
        ch->next_energy_ns = now + fine; /* learning */
        return;
    }
    ch->skip = choose_skip(ch);
    if (changed) {
        /* Wake just before the next expected update (note 1), early enough for the
         * update's jitter (97-103 ms intervals on an H100) and our own wake-up delay. A
         * larger guard costs a read per extra `fine` interval on every update. */
        plan_lock(ch, now);
        return;
    }
    if (ch->skip > 1 && !ch->reaimed && ch->expect_ns > ch->last_change_ns &&
        now > ch->expect_ns + ch->expect_unc_ns + fine) {
        /* note 7: the update came before the baseline read; aim at the following one */
        ch->reaimed = 1;
        ch->baseline_next = 1; /* and re-base, so that the bracket stays narrow */
        ch->expect_ns += ch->step_ns;
        ch->next_energy_ns = ch->expect_ns - ch->jitter_ns - fine - ch->read_ns;
        if (ch->next_energy_ns < now + fine)
            ch->next_energy_ns = now + fine;
        return;
    }
    if (now < (ch->expect_ns > ch->last_change_ns ? ch->expect_ns
                                                   : ch->last_change_ns + ch->step_ns) +
                  ch->step_ns / 2)
        ch->next_energy_ns = now + fine; /* the update is due: watch closely */
    else if (ch->skip > 1) {
        /* idle, reads dear: sparse, and the next read re-bases (an edge may replan it) */
        ch->baseline_next = 1;
        ch->next_energy_ns = now + ch->step_ns * ch->skip / 2;
    }
    else
        ch->next_energy_ns = now + ch->step_ns / 4; /* late or idle: coarse */
}

/*
 * Note 7: a baseline read takes the value the skipped updates brought, without a point; the
 * reads after it bracket the expected update. A baseline that came late (the update it waits
 * for may be in it) waits for the following update instead of watching one whole step.
 */
static void take_baseline(struct zeus__channel *ch, double v, int64_t t0, int64_t t1)
{
    int64_t fine = fine_ns(ch);

    ch->baseline_next = 0;
    ch->last_value = v;
    ch->prev_poll_t0 = t0;
    ch->last_poll_t0 = t0;
    ch->next_energy_ns = t1 + fine; /* bracket from here, every `fine` (note 1) */
    if (t0 > ch->expect_ns - ch->jitter_ns) {
        /* late: re-base again just before the next update predicted after this read */
        int64_t k = (t0 - ch->last_change_ns) / ch->step_ns + 1;
        ch->expect_ns = ch->last_change_ns + k * ch->step_ns;
        ch->baseline_next = 1;
        ch->next_energy_ns = ch->expect_ns - ch->jitter_ns - 2 * fine - ch->read_ns;
        if (ch->next_energy_ns < t1 + fine)
            ch->next_energy_ns = t1 + fine;
    }
}

static int64_t thread_cpu_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void poll_energy(struct zeus__channel *ch, zeus_devices *devs)
{
    zeus__edge *done = NULL;
    int64_t t0, t1, cpu0, cpu;
    double v = 0;
    zeus_status s;
    int changed = 0;

    cpu0 = thread_cpu_ns(); /* note 7: the thread is this channel's alone */
    t0 = zeus__now_ns();
    s = zeus_gpu_get_energy(devs, ch->gpu, &v);
    t1 = zeus__now_ns();
    cpu = thread_cpu_ns() - cpu0;

    pthread_mutex_lock(&ch->lock);
    ch->stats.energy_reads++;
    ch->lock_reads++;
    ch->read_ns = ch->read_ns ? (ch->read_ns * 7 + (t1 - t0)) / 8 : t1 - t0;
    if (ch->stats.energy_reads > 1) /* the first read also pays the library's warm-up */
        ch->read_cpu_ns = ch->read_cpu_ns ? (ch->read_cpu_ns * 7 + cpu) / 8 : cpu;
    if (s != ZEUS_OK) {
        ch->stats.failures++;
        ch->stats.last_error = s;
        if (++ch->consecutive_failures >= FAIL_LIMIT || s == ZEUS_ERR_GPU_LOST)
            done = resolve_edges(ch, edge_any, s);
        ch->next_energy_ns = t1 + (ch->step_ns ? ch->step_ns / 4 : 25000000);
        pthread_mutex_unlock(&ch->lock);
        run_callbacks(done);
        return;
    }
    ch->consecutive_failures = 0;
    if (ch->have_value && v < ch->last_value) {
        /* The counter went back (driver reload): nothing before can be compared. */
        ch->stats.resets++;
        done = resolve_edges(ch, edge_any, ZEUS_ERR_NO_DATA);
        ch->point_count = 0;
        ch->interval_count = 0;
        ch->step_ns = 0;
        ch->have_value = 0;
        ch->skip = 1;
        ch->baseline_next = 0;
        ch->shape_count = 0;
        ch->expect_ns = 0;
        ch->reads_per_lock = 0;
        ch->lock_reads = 0;
        ch->anchor_ns = 0;
        ch->span_k = 0;
    }
    if (ch->have_value && ch->baseline_next && v >= ch->last_value) {
        take_baseline(ch, v, t0, t1);
        pthread_cond_broadcast(&ch->cond);
        pthread_mutex_unlock(&ch->lock);
        return;
    }
    if (!ch->have_value) {
        ch->have_value = 1;
        ch->prev_poll_t0 = t0;
    } else if (v > ch->last_value) {
        record_change(ch, v, t1);
        changed = 1;
    }
    ch->last_value = v;
    ch->prev_poll_t0 = t0;
    ch->last_poll_t0 = t0;
    if (done == NULL)
        done = resolve_edges(ch, edge_settled_by_stuck_counter, ZEUS_OK);
    schedule_energy(ch, t1, changed);
    pthread_cond_broadcast(&ch->cond); /* acquire may be waiting for updates */
    pthread_mutex_unlock(&ch->lock);
    run_callbacks(done);
}

/* Without a counter, each power reading extends the integral by a trapezoid (note 4). */
static void integrate_power(struct zeus__channel *ch, int64_t t, double power_w)
{
    double e = ch->have_value ? ch->last_value : 0;

    if (ch->integ_started)
        e += (ch->integ_power_w + power_w) / 2 * (double)(t - ch->integ_t_ns) * 1e-9;
    ch->integ_started = 1;
    ch->integ_t_ns = t;
    ch->integ_power_w = power_w;
    if (ch->have_value) {
        /* An integrated point is exact at t: no bracket to split. */
        if (ch->point_count > 0)
            update_step(ch, t - ch->last_change_ns);
        push_point(ch, t, e, POINT_COUNTER);
        ch->last_change_ns = t;
        ch->stats.last_update_ns = t;
        ch->stats.updates++;
    }
    ch->prev_poll_t0 = t;
    ch->last_poll_t0 = t;
    ch->have_value = 1;
    ch->last_value = e;
}

/* Append a shaping sample; the oldest goes when full (longer than any interval). */
static void shape_push(struct zeus__channel *ch, int64_t t, double power_w)
{
    if (ch->shape_count == SHAPE_MAX) { /* longer than any interval: drop the oldest */
        memmove(ch->shape, ch->shape + 1, (SHAPE_MAX - 1) * sizeof *ch->shape);
        ch->shape_count--;
    }
    ch->shape[ch->shape_count++] = (struct power_sample){.t_ns = t, .power_w = power_w};
}

/*
 * Note 7: a power reading is the power when it last changed, and it changes on its own ~step
 * clock, so the staircase the polls see lags the energy by up to a step (a square wave's
 * edge placed 100 ms late: 60 J misplaced at 600 W). Keep the changes instead, each at the
 * middle of the polls around it, and take power as linear between them, the way the counter
 * is interpolated; a value held for longer than a step holds until a step before the next.
 */
static void shape_sample(struct zeus__channel *ch, int64_t t, double power_w)
{
    int64_t prev = ch->shape_seen_ns, step = ch->step_ns ? ch->step_ns : 100000000, at = t;
    const struct power_sample *last = ch->shape_count ? &ch->shape[ch->shape_count - 1] : NULL;

    ch->shape_seen_ns = t;
    if (last != NULL && last->power_w == power_w)
        return;
    if (last != NULL && prev > last->t_ns)
        at = prev + (t - prev) / 2;
    if (last != NULL && at - last->t_ns > step + step / 2)
        shape_push(ch, at - step, last->power_w);
    shape_push(ch, at, power_w);
}

static void poll_power(struct zeus__channel *ch, zeus_devices *devs)
{
    double value[4];
    zeus_status status[4];
    unsigned domains;
    int temperature, need_integration, shaping;
    int64_t t, period;
    zeus__edge *done = NULL;

    pthread_mutex_lock(&ch->lock);
    domains = ch->power_domains;
    temperature = ch->temperature;
    need_integration = !ch->has_counter;
    shaping = ch->has_counter && ch->skip > 1;
    pthread_mutex_unlock(&ch->lock);
    if (need_integration || shaping)
        domains |= 1u << ch->integrate_domain;

    t = zeus__now_ns();
    for (int d = 0; d < 3; d++)
        if (domains & (1u << d))
            status[d] = zeus_gpu_get_power(devs, ch->gpu, (zeus_power_domain)d, &value[d]);
    if (temperature)
        status[3] = zeus_gpu_get_temperature(devs, ch->gpu, &value[3]);
    t += (zeus__now_ns() - t) / 2;

    pthread_mutex_lock(&ch->lock);
    {
        /* Store only series someone asked for (integration alone needs no series). */
        unsigned polled = domains | (temperature ? 1u << ZEUS__SERIES_TEMPERATURE : 0);
        unsigned wanted = ch->power_domains | (ch->temperature ? 1u << ZEUS__SERIES_TEMPERATURE : 0);
        for (int d = 0; d < 4; d++) {
            if (!(polled & wanted & (1u << d)))
                continue;
            ch->series[d].failing = status[d] != ZEUS_OK;
            if (status[d] == ZEUS_OK) {
                series_push(&ch->series[d], ch->max_samples, t, value[d]);
            } else {
                ch->stats.failures++;
                ch->stats.last_error = status[d];
            }
        }
    }
    if (need_integration) {
        zeus_status s = status[ch->integrate_domain];
        if (s == ZEUS_OK) {
            integrate_power(ch, t, value[ch->integrate_domain]);
            done = resolve_edges(ch, edge_before_last_point, ZEUS_OK);
        } else if (++ch->consecutive_failures >= FAIL_LIMIT) {
            done = resolve_edges(ch, edge_any, s);
        }
        pthread_cond_broadcast(&ch->cond);
    }
    if (shaping && status[ch->integrate_domain] == ZEUS_OK)
        shape_sample(ch, t, value[ch->integrate_domain]);
    period = ch->power_period_ns;
    if (shaping && (period <= 0 || period > SHAPE_PERIOD_NS))
        period = SHAPE_PERIOD_NS;
    ch->next_power_ns = t + period;
    pthread_mutex_unlock(&ch->lock);
    run_callbacks(done);
}

static void sleep_until(struct zeus__channel *ch, int64_t deadline_ns)
{
    struct timespec ts = zeus__timespec_from_ns(deadline_ns);
    pthread_cond_timedwait(&ch->cond, &ch->lock, &ts);
}

static void *channel_main(void *arg)
{
    struct zeus__channel *ch = arg;
    zeus_devices *devs = ch->devs;
    sigset_t all;

    /* Signals belong to the application's threads, never to ours. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);

    pthread_mutex_lock(&ch->lock);
    while (!ch->stop) {
        int64_t now = zeus__now_ns(), next;
        int want_power = ch->power_domains != 0 || ch->temperature || !ch->has_counter ||
                         ch->skip > 1;

        if (ch->replan) {
            /* an edge was tracked while reads are sparse: it may need an update sooner */
            ch->replan = 0;
            if (ch->skip > 1 && ch->baseline_next && ch->point_count >= 2)
                plan_lock(ch, now);
        }

        if (ch->has_counter && now >= ch->next_energy_ns) {
            pthread_mutex_unlock(&ch->lock);
            poll_energy(ch, devs);
            pthread_mutex_lock(&ch->lock);
            continue;
        }
        if (want_power && now >= ch->next_power_ns) {
            pthread_mutex_unlock(&ch->lock);
            poll_power(ch, devs);
            pthread_mutex_lock(&ch->lock);
            continue;
        }
        next = ch->has_counter ? ch->next_energy_ns : INT64_MAX;
        if (want_power && ch->next_power_ns < next)
            next = ch->next_power_ns;
        if (next == INT64_MAX)
            next = now + 1000000000;
        sleep_until(ch, next);
    }
    pthread_mutex_unlock(&ch->lock);
    return NULL;
}

/* ---- Acquire and release ---------------------------------------------------------------- */

static void merge_request(struct zeus__channel *ch, const zeus__sampler_request *req)
{
    int64_t period = req && req->power_period_ns > 0 ? req->power_period_ns
                                                      : DEFAULT_POWER_PERIOD_NS;
    size_t max = req && req->max_samples > 0 ? req->max_samples : DEFAULT_MAX_SAMPLES;

    if (req != NULL) {
        ch->power_domains |= req->power_domains;
        ch->temperature |= req->temperature;
    }
    if (ch->power_period_ns == 0 || period < ch->power_period_ns)
        ch->power_period_ns = period;
    if (max > ch->max_samples)
        ch->max_samples = max;
    ch->next_power_ns = 0; /* poll the new domains now */
    pthread_cond_broadcast(&ch->cond);
}

/* Find the registry's GPU with `uuid`. */
static zeus_status find_shared_gpu(const char *uuid, unsigned *gpu, zeus_gpu_info *info)
{
    for (unsigned i = 0; i < zeus_devices_gpu_count(shared_devs); i++)
        if (zeus_gpu_get_info(shared_devs, i, info) == ZEUS_OK && strcmp(info->uuid, uuid) == 0) {
            *gpu = i;
            return ZEUS_OK;
        }
    return zeus__fail(ZEUS_ERR_NOT_FOUND, "GPU %s is not visible to the sampler", uuid);
}

/*
 * ZEUS_SAMPLER_CPU_BUDGET: the fraction of a core each GPU's energy reads may take (note 7),
 * e.g. 0.0025; by default (unset, 1, or not a number in (0, 1]) every update is read
 * whatever a read costs.
 */
static double cpu_budget_from_env(void)
{
    const char *v = getenv("ZEUS_SAMPLER_CPU_BUDGET");
    char *end;
    double b;

    if (v == NULL || *v == '\0')
        return CPU_BUDGET;
    b = strtod(v, &end);
    return *end == '\0' && b > 0 && b <= 1 ? b : CPU_BUDGET;
}

static zeus_status new_channel(const zeus_gpu_info *mine, struct zeus__channel **out)
{
    struct zeus__channel *ch = calloc(1, sizeof *ch);
    zeus_gpu_info info;
    zeus_status s;

    if (ch == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory starting the sampler");
    s = find_shared_gpu(mine->uuid, &ch->gpu, &info);
    if (s != ZEUS_OK) {
        free(ch);
        return s;
    }
    snprintf(ch->uuid, sizeof ch->uuid, "%s", mine->uuid);
    ch->devs = shared_devs;
    ch->start_ns = zeus__now_ns();
    ch->has_counter = (info.supports & ZEUS_GPU_ENERGY_COUNTER) != 0;
    ch->integrated_flags = ZEUS_ENERGY_INTEGRATED | (info.supports & ZEUS_GPU_COUNTER_REJECTED
                                                         ? ZEUS_ENERGY_COUNTER_REJECTED
                                                         : 0);
    ch->integrate_domain = (info.supports & ZEUS_GPU_POWER_INSTANT) ? ZEUS_POWER_DEVICE_INSTANT
                                                                    : ZEUS_POWER_DEVICE_AVERAGE;
    ch->stats.has_counter = ch->has_counter;
    ch->skip = 1;
    ch->shape_scale = 1;
    ch->cpu_budget = cpu_budget_from_env();
    pthread_mutex_init(&ch->lock, NULL);
    zeus__cond_init_monotonic(&ch->cond);
    *out = ch;
    return ZEUS_OK;
}

static void free_channel(struct zeus__channel *ch)
{
    for (int i = 0; i < 4; i++)
        free(ch->series[i].buf);
    pthread_cond_destroy(&ch->cond);
    pthread_mutex_destroy(&ch->lock);
    free(ch);
}

/*
 * Wait for the channel's first read: a GPU that cannot be read is reported when the monitor
 * is created. Not for its first updates (~0.2 s): edges before them are resolved once they
 * come (before_first_update), so a monitor is ready in milliseconds (issue 9).
 */
static zeus_status wait_ready(struct zeus__channel *ch)
{
    int64_t deadline = zeus__now_ns() + READY_TIMEOUT_NS;
    zeus_status s = ZEUS_OK;

    pthread_mutex_lock(&ch->lock);
    while (!ch->have_value && ch->point_count == 0 && zeus__now_ns() < deadline) {
        if (!ch->have_value && ch->stats.failures >= FAIL_LIMIT)
            break;
        sleep_until(ch, deadline);
    }
    if (!ch->have_value && ch->stats.last_error != ZEUS_OK)
        s = ch->stats.last_error;
    pthread_mutex_unlock(&ch->lock);
    return s;
}

void zeus__channel_poll_power_every(struct zeus__channel *ch, int64_t period_ns)
{
    zeus__sampler_request req = {.power_period_ns = period_ns, .max_samples = 1};

    pthread_mutex_lock(&ch->lock);
    merge_request(ch, &req); /* only ever lowers the period; leaves domains and rings alone */
    pthread_mutex_unlock(&ch->lock);
}

void zeus__channel_wait_updates(struct zeus__channel *ch)
{
    int64_t deadline = zeus__now_ns() + READY_TIMEOUT_NS;

    pthread_mutex_lock(&ch->lock);
    while (ch->point_count < 2 && zeus__now_ns() < deadline &&
           !(ch->stats.failures >= FAIL_LIMIT && ch->consecutive_failures > 0))
        sleep_until(ch, deadline);
    pthread_mutex_unlock(&ch->lock);
}

static void drop_registry_ref_locked(struct zeus__channel *ch)
{
    if (--ch->refs > 0)
        return;
    for (struct zeus__channel **p = &channels; *p != NULL; p = &(*p)->next)
        if (*p == ch) {
            *p = ch->next;
            break;
        }
    pthread_mutex_lock(&ch->lock);
    ch->stop = 1;
    pthread_cond_broadcast(&ch->cond);
    pthread_mutex_unlock(&ch->lock);
    pthread_join(ch->thread, NULL);
    free_channel(ch);
    if (channels == NULL) {
        zeus_devices_destroy(shared_devs);
        shared_devs = NULL;
    }
}

/* Join or start the channel of GPU `gpu` without waiting for its first read. */
static zeus_status channel_start(zeus_devices *devs, unsigned gpu,
                                 const zeus__sampler_request *req, struct zeus__channel **out)
{
    struct zeus__channel *ch;
    zeus_gpu_info mine;
    zeus_status s = zeus_gpu_get_info(devs, gpu, &mine);

    if (s != ZEUS_OK)
        return s;
    pthread_mutex_lock(&registry_lock);
    for (ch = channels; ch != NULL; ch = ch->next)
        if (strcmp(ch->uuid, mine.uuid) == 0)
            break;
    if (ch != NULL) {
        ch->refs++;
        pthread_mutex_lock(&ch->lock);
        merge_request(ch, req);
        pthread_mutex_unlock(&ch->lock);
        pthread_mutex_unlock(&registry_lock);
        *out = ch;
        return ZEUS_OK;
    }
    if (shared_devs == NULL && (s = zeus_devices_create(&shared_devs)) != ZEUS_OK) {
        pthread_mutex_unlock(&registry_lock);
        return s;
    }
    s = new_channel(&mine, &ch);
    if (s == ZEUS_OK) {
        merge_request(ch, req);
        if (pthread_create(&ch->thread, NULL, channel_main, ch) != 0) {
            free_channel(ch);
            s = zeus__fail(ZEUS_ERR_OPERATING_SYSTEM, "cannot start the sampler thread");
        }
    }
    if (s != ZEUS_OK) {
        if (channels == NULL) {
            zeus_devices_destroy(shared_devs);
            shared_devs = NULL;
        }
        pthread_mutex_unlock(&registry_lock);
        return s;
    }
    ch->refs = 1;
    ch->next = channels;
    channels = ch;
    pthread_mutex_unlock(&registry_lock);
    *out = ch;
    return ZEUS_OK;
}

/* Wait for a started channel's first read; on failure release it and say which GPU. */
static zeus_status channel_wait(struct zeus__channel *ch, unsigned gpu)
{
    zeus_status s = wait_ready(ch);

    if (s != ZEUS_OK) {
        /* The failing reads ran on the sampler's thread, whose error detail is its own. */
        zeus__channel_release(ch);
        return zeus__fail(s, "GPU %u: the sampler's first reads failed: %s", gpu,
                          zeus_status_string(s));
    }
    return ZEUS_OK;
}

zeus_status zeus__channel_acquire(zeus_devices *devs, unsigned gpu,
                                  const zeus__sampler_request *req, struct zeus__channel **out)
{
    struct zeus__channel *ch;
    zeus_status s = channel_start(devs, gpu, req, &ch);

    if (s == ZEUS_OK && (s = channel_wait(ch, gpu)) == ZEUS_OK)
        *out = ch;
    return s;
}

/*
 * Start every channel first, then wait for their first reads: the GPUs' first reads (2.7 ms
 * each on an H100) overlap instead of adding up.
 */
zeus_status zeus__channel_acquire_many(zeus_devices *devs, const unsigned *gpus, unsigned n,
                                       const zeus__sampler_request *req,
                                       struct zeus__channel **out)
{
    unsigned started;
    zeus_status s = ZEUS_OK;

    for (started = 0; started < n; started++)
        if ((s = channel_start(devs, gpus[started], req, &out[started])) != ZEUS_OK)
            break;
    for (unsigned i = 0; i < started && s == ZEUS_OK; i++)
        if ((s = channel_wait(out[i], gpus[i])) != ZEUS_OK)
            out[i] = NULL; /* channel_wait released it */
    for (unsigned i = 0; i < n; i++) {
        if (s != ZEUS_OK && i < started && out[i] != NULL)
            zeus__channel_release(out[i]);
        if (s != ZEUS_OK)
            out[i] = NULL;
    }
    return s;
}

void zeus__channel_release(struct zeus__channel *ch)
{
    if (ch == NULL)
        return;
    pthread_mutex_lock(&registry_lock);
    drop_registry_ref_locked(ch);
    pthread_mutex_unlock(&registry_lock);
}

/* ---- Series queries --------------------------------------------------------------------- */

size_t zeus__channel_samples(struct zeus__channel *ch, int series, int64_t t0_ns, int64_t t1_ns,
                             zeus__sample *out, size_t cap)
{
    size_t n = 0;
    const struct series *s;

    if (series < 0 || series > ZEUS__SERIES_TEMPERATURE)
        return 0;
    pthread_mutex_lock(&ch->lock);
    s = &ch->series[series];
    for (size_t i = 0; i < s->count; i++) {
        const zeus__sample *x = &s->buf[(s->head + i) % s->cap];
        if (x->t_ns < t0_ns || x->t_ns > t1_ns)
            continue;
        if (n < cap)
            out[n] = *x;
        n++;
    }
    pthread_mutex_unlock(&ch->lock);
    return n;
}

int zeus__channel_sample_near(struct zeus__channel *ch, int series, int64_t t_ns,
                              zeus__sample *out)
{
    const struct series *s;
    long lo, hi, best = -1;

    if (series < 0 || series > ZEUS__SERIES_TEMPERATURE)
        return -1;
    pthread_mutex_lock(&ch->lock);
    s = &ch->series[series];
    if (s->count > 0) {
        /* Last sample at or before t, then compare with the one after it. */
        lo = 0;
        hi = (long)s->count - 1;
        while (lo <= hi) {
            long mid = (lo + hi) / 2;
            if (s->buf[(s->head + (size_t)mid) % s->cap].t_ns <= t_ns) {
                best = mid;
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        if (best < 0) {
            best = 0;
        } else if ((size_t)best + 1 < s->count) {
            const zeus__sample *a = &s->buf[(s->head + (size_t)best) % s->cap];
            const zeus__sample *b = &s->buf[(s->head + (size_t)best + 1) % s->cap];
            if (b->t_ns - t_ns < t_ns - a->t_ns)
                best++;
        }
        *out = s->buf[(s->head + (size_t)best) % s->cap];
    }
    pthread_mutex_unlock(&ch->lock);
    return best < 0 ? -1 : 0;
}

/* ---- Quality ---------------------------------------------------------------------------- */

void zeus__channel_stats_get(struct zeus__channel *ch, zeus__channel_stats *out)
{
    pthread_mutex_lock(&ch->lock);
    *out = ch->stats;
    out->skip = ch->skip;
    out->read_cpu_ns = ch->read_cpu_ns;
    pthread_mutex_unlock(&ch->lock);
}

uint32_t zeus__channel_updates_between(struct zeus__channel *ch, int64_t t0_ns, int64_t t1_ns)
{
    uint32_t n = 0;

    pthread_mutex_lock(&ch->lock);
    for (size_t i = ch->point_count; i > 0; i--) {
        int64_t t = point_at(ch, i - 1)->t_ns;
        if (t <= t0_ns)
            break;
        if (t <= t1_ns && point_at(ch, i - 1)->kind != POINT_BETWEEN)
            n++;
    }
    pthread_mutex_unlock(&ch->lock);
    return n;
}
