/*
 * soc_series.c - The SoC's rail power as timelines for `zeus monitor power` (soc_series.h):
 * the polling thread, the de-duplicated samples of each rail, and the energies from the
 * library's own integral.
 *
 * One lock guards everything the thread writes. The thread sleeps on a condition variable
 * bound to CLOCK_MONOTONIC, so that stop does not wait out a period and a wall-clock step
 * does not stretch one. SIGINT and SIGTERM are blocked by the command before this thread is
 * made, so it inherits the mask and never takes them.
 *
 * Memory: a rail keeps at most MAX_SAMPLES changes; when full, the older half is dropped (a
 * changing rail at 0.1 s fills that in about 29 hours). The energies are unaffected.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "soc_series.h"

#define MAX_SAMPLES ((size_t)1 << 20)

struct rail_series {
    zeus_sample *s;
    size_t n, cap;
    enum soc_rail_state state; /* of the latest reading */
    double power_w;            /* of the latest reading, NAN unless SOC_RAIL_OK */
    int seen;
};

struct soc_series {
    zeus_devices *devs;
    double period_s;
    pthread_t thread;
    int thread_started;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stopping, stopped;
    zeus_soc_energy first, last; /* the first reading and the latest one */
    struct rail_series rail[ZEUS_SOC_RAILS];
};

/* ---- Samples ------------------------------------------------------------------------------ */

/* Keep (t_s, w) if it is a change, or if `force` (the closing sample that ends a series). */
static int append(struct rail_series *r, double t_s, double w, int force)
{
    if (!force && r->n > 0 && r->s[r->n - 1].value == w)
        return 0; /* not a change: the reading in effect already says so */
    if (r->n == MAX_SAMPLES) {
        size_t keep = r->n / 2;
        memmove(r->s, r->s + (r->n - keep), keep * sizeof *r->s);
        r->n = keep;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 256;
        zeus_sample *grown = realloc(r->s, cap * sizeof *grown);
        if (grown == NULL)
            return -1;
        r->s = grown;
        r->cap = cap;
    }
    r->s[r->n++] = (zeus_sample){t_s, w};
    return 0;
}

/*
 * Read every rail and record it. `stop_s` (NAN while polling): the closing reading, kept even
 * when unchanged and stamped no later than stop_s.
 */
static int take_reading(struct soc_series *s, double stop_s)
{
    int force_last = !isnan(stop_s);

    zeus_soc_energy e;

    memset(&e, 0, sizeof e);
    e.size = sizeof e;
    if (zeus_soc_get_energy(s->devs, 0, &e) != ZEUS_OK)
        return -1;
    pthread_mutex_lock(&s->lock);
    s->last = e;
    for (int k = 0; k < ZEUS_SOC_RAILS; k++) {
        struct rail_series *r = &s->rail[k];

        if (e.flags[k] & ZEUS_ENERGY_UNSUPPORTED) {
            r->state = SOC_RAIL_ABSENT;
        } else if (isnan(e.power_w[k]) || !(e.flags[k] & ZEUS_ENERGY_VALID)) {
            r->state = SOC_RAIL_FAILED; /* a gap in the timeline, not a guessed value */
        } else {
            r->state = SOC_RAIL_OK;
            r->seen = 1;
        }
        r->power_w = r->state == SOC_RAIL_OK ? e.power_w[k] : NAN;
        if (r->state != SOC_RAIL_OK)
            continue;
        if (append(r, force_last && e.read_mono_s > stop_s ? stop_s : e.read_mono_s,
                   e.power_w[k], force_last) != 0) {
            pthread_mutex_unlock(&s->lock);
            return -1;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return 0;
}

/* ---- The thread --------------------------------------------------------------------------- */

static void deadline_after(struct timespec *ts, double seconds)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += (time_t)seconds;
    ts->tv_nsec += (long)((seconds - floor(seconds)) * 1e9);
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void *poll_main(void *arg)
{
    struct soc_series *s = arg;
    struct timespec next;

    deadline_after(&next, s->period_s);
    pthread_mutex_lock(&s->lock);
    while (!s->stopping) {
        if (pthread_cond_timedwait(&s->wake, &s->lock, &next) != ETIMEDOUT)
            continue; /* woken to stop, or spuriously */
        pthread_mutex_unlock(&s->lock);
        take_reading(s, NAN); /* a failed read leaves the rails as they were: retried next */
        deadline_after(&next, s->period_s);
        pthread_mutex_lock(&s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* ---- Start and stop ----------------------------------------------------------------------- */

int soc_series_start(zeus_devices *devs, double period_s, struct soc_series **out)
{
    struct soc_series *s = calloc(1, sizeof *s);
    pthread_condattr_t attr;

    if (s == NULL)
        return -1;
    s->devs = devs;
    s->period_s = period_s;
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&s->wake, &attr);
    pthread_condattr_destroy(&attr);
    if (take_reading(s, NAN) != 0) {
        soc_series_destroy(s);
        return -1;
    }
    s->first = s->last;
    if (pthread_create(&s->thread, NULL, poll_main, s) != 0) {
        soc_series_destroy(s);
        return -1;
    }
    s->thread_started = 1;
    *out = s;
    return 0;
}

void soc_series_stop(struct soc_series *s, double stop_s)
{
    if (s == NULL || s->stopped)
        return;
    pthread_mutex_lock(&s->lock);
    s->stopping = 1;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    if (s->thread_started)
        pthread_join(s->thread, NULL);
    s->thread_started = 0;
    take_reading(s, stop_s);
    s->stopped = 1;
}

void soc_series_destroy(struct soc_series *s)
{
    if (s == NULL)
        return;
    soc_series_stop(s, zeus_now());
    for (int k = 0; k < ZEUS_SOC_RAILS; k++)
        free(s->rail[k].s);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* ---- Queries ------------------------------------------------------------------------------ */

double soc_series_period(const struct soc_series *s)
{
    return s->period_s;
}

double soc_series_start_time(const struct soc_series *s)
{
    return s->first.read_mono_s;
}

enum soc_rail_state soc_series_latest(struct soc_series *s, zeus_soc_rail rail, double *power_w)
{
    enum soc_rail_state st;

    pthread_mutex_lock(&s->lock);
    st = s->rail[rail].state;
    *power_w = s->rail[rail].power_w;
    pthread_mutex_unlock(&s->lock);
    return st;
}

int soc_series_seen(struct soc_series *s, zeus_soc_rail rail)
{
    int seen;

    pthread_mutex_lock(&s->lock);
    seen = s->rail[rail].seen;
    pthread_mutex_unlock(&s->lock);
    return seen;
}

zeus_sample *soc_series_fetch(struct soc_series *s, zeus_soc_rail rail, double after_s, size_t *n)
{
    const struct rail_series *r = &s->rail[rail];
    zeus_sample *out;
    size_t from = 0;

    pthread_mutex_lock(&s->lock);
    while (!isnan(after_s) && from < r->n && r->s[from].time_s <= after_s)
        from++;
    *n = r->n - from;
    out = malloc((*n ? *n : 1) * sizeof *out);
    if (out != NULL && *n > 0)
        memcpy(out, r->s + from, *n * sizeof *out);
    pthread_mutex_unlock(&s->lock);
    return out;
}

/* Cumulative energy of `rail` in reading `e`, moved to time t_s at the power e read. */
static double energy_at(const zeus_soc_energy *e, zeus_soc_rail rail, double t_s)
{
    return e->energy_j[rail] + e->power_w[rail] * (t_s - e->read_mono_s);
}

double soc_series_energy(struct soc_series *s, zeus_soc_rail rail, double t0_s, double t1_s,
                         unsigned *gaps)
{
    zeus_soc_energy first, last;

    pthread_mutex_lock(&s->lock);
    first = s->first;
    last = s->last;
    pthread_mutex_unlock(&s->lock);
    *gaps = last.gaps[rail] - first.gaps[rail];
    if (isnan(last.energy_j[rail]) || isnan(last.power_w[rail]))
        return NAN;
    /* A rail found after the first reading counts from when it appeared (jetson.c); one
     * that was there but unreadable then has no start to count from. */
    if (first.flags[rail] & ZEUS_ENERGY_UNSUPPORTED)
        return energy_at(&last, rail, t1_s);
    if (isnan(first.energy_j[rail]) || isnan(first.power_w[rail]))
        return NAN;
    return energy_at(&last, rail, t1_s) - energy_at(&first, rail, t0_s);
}
