/*
 * timelines.c - The sampled series of a set of GPUs for the power and temperature monitors:
 * one sampler channel per GPU while running, a private copy of every series once stopped.
 *
 * DESIGN NOTES
 *
 * 1. Channels are shared by every monitor of the process that watches a GPU, so a channel's
 *    ring can hold samples from before this monitor started. A monitor's series is the
 *    reading in effect at its start (the latest sample then, re-stamped with the start time:
 *    de-duplication means that sample may be minutes old) followed by the channel's samples
 *    after the start. The start sample is kept here, so it survives the ring dropping it.
 * 2. The start is chosen so that no channel sample later than it existed when the start
 *    samples were read (retried otherwise), so the start sample and the channel's later
 *    samples never overlap or leave a gap.
 * 3. tl->lock is a read-write lock: queries hold it shared while they copy from the
 *    channels; stop holds it exclusively while it copies every series and releases the
 *    channels, so a query sees either the live channels or the complete copies, never a
 *    released channel. No device call happens under it; channel calls take the channel's
 *    own lock inside (lock order: tl->lock, then a channel's lock).
 * 4. After stop the channels are released: the last release joins the sampler thread, so a
 *    stopped monitor that was the GPU's only user leaves no thread behind.
 *
 *     start --> running --stop (copy, release)--> stopped --fini--> (freed)
 *                  \-------------------fini (stop first)-----------------/
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "monitor/integrate.h"
#include "monitor/timelines.h"
#include "util/clock.h"
#include "util/error.h"

#define FIRST_SAMPLE_TIMEOUT_NS 2000000000 /* Zeus waits 10 s for its processes; ours are threads */
#define FIRST_SAMPLE_POLL_NS 1000000
#define START_TRIES 1000

/* ---- Helpers ---------------------------------------------------------------------------- */

int64_t zeus__seconds_to_ns(double s, int64_t open)
{
    if (isnan(s))
        return open;
    if (s >= 9.2e9)
        return INT64_MAX;
    if (s <= -9.2e9)
        return INT64_MIN;
    return llround(s * 1e9);
}

static int64_t add_sat(int64_t a, int64_t b)
{
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

static void release_all(struct zeus__timelines *tl)
{
    for (unsigned i = 0; i < tl->gpu_count; i++) {
        zeus__channel_release(tl->gpu[i].ch);
        tl->gpu[i].ch = NULL;
    }
}

/* ---- Choosing GPUs ---------------------------------------------------------------------- */

zeus_status zeus__select_gpus(zeus_devices *devs, const unsigned *want, size_t want_count,
                              unsigned *out, unsigned *count)
{
    unsigned available = zeus_devices_gpu_count(devs);

    *count = 0;
    if (want == NULL) {
        if (available == 0)
            return zeus__fail(ZEUS_ERR_NOT_FOUND, "no GPUs are visible to monitor");
        for (unsigned i = 0; i < available && i < ZEUS_MAX_GPUS; i++)
            out[(*count)++] = i;
        return ZEUS_OK;
    }
    if (want_count == 0)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                          "gpu_indices must be either NULL (all GPUs) or non-empty");
    if (want_count > ZEUS_MAX_GPUS)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "%zu GPU indices given; at most %u",
                          want_count, ZEUS_MAX_GPUS);
    for (size_t i = 0; i < want_count; i++) {
        zeus_gpu_info info;
        zeus_status s = zeus_gpu_get_info(devs, want[i], &info);
        if (s != ZEUS_OK)
            return s;
        for (size_t j = 0; j < i; j++)
            if (want[j] == want[i])
                return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "GPU index %u is given twice",
                                  want[i]);
        out[(*count)++] = want[i];
    }
    return ZEUS_OK;
}

/* ---- Start ------------------------------------------------------------------------------ */

static int has_series(const struct zeus__timelines *tl, int s)
{
    return (tl->series & (1u << s)) != 0;
}

/* The latest sample of a channel series; 0 when there is one. */
static int latest(struct zeus__channel *ch, int s, zeus__sample *out)
{
    return zeus__channel_sample_near(ch, s, INT64_MAX, out);
}

/* Wait until every series of every GPU has a sample (the sampler polls at once). */
static zeus_status wait_first_samples(struct zeus__timelines *tl)
{
    int64_t deadline = zeus__now_ns() + FIRST_SAMPLE_TIMEOUT_NS;

    for (;;) {
        unsigned missing_gpu = 0;
        int missing = -1;
        zeus__sample x;

        for (unsigned i = 0; i < tl->gpu_count && missing < 0; i++)
            for (int s = 0; s < ZEUS__SERIES_COUNT && missing < 0; s++)
                if (has_series(tl, s) && latest(tl->gpu[i].ch, s, &x) != 0) {
                    missing = s;
                    missing_gpu = i;
                }
        if (missing < 0)
            return ZEUS_OK;
        if (zeus__now_ns() >= deadline) {
            zeus__channel_stats st;
            zeus__channel_stats_get(tl->gpu[missing_gpu].ch, &st);
            if (st.last_error != ZEUS_OK)
                return zeus__fail(st.last_error, "GPU %u gave no %s reading: %s",
                                  tl->gpu[missing_gpu].index,
                                  missing == ZEUS__SERIES_TEMPERATURE ? "temperature" : "power",
                                  zeus_status_string(st.last_error));
            return zeus__fail(ZEUS_ERR_TIMEOUT, "GPU %u gave no %s reading within %d s",
                              tl->gpu[missing_gpu].index,
                              missing == ZEUS__SERIES_TEMPERATURE ? "temperature" : "power",
                              FIRST_SAMPLE_TIMEOUT_NS / 1000000000);
        }
        zeus__sleep_ns(FIRST_SAMPLE_POLL_NS);
    }
}

/* Note 2: take the start and the readings in effect then, with no later sample existing. */
static void record_start(struct zeus__timelines *tl)
{
    for (int tries = 0; tries < START_TRIES; tries++) {
        int64_t t = zeus__now_ns();
        int ok = 1;

        for (unsigned i = 0; i < tl->gpu_count && ok; i++)
            for (int s = 0; s < ZEUS__SERIES_COUNT && ok; s++) {
                zeus__sample x;
                if (!has_series(tl, s))
                    continue;
                if (latest(tl->gpu[i].ch, s, &x) != 0 || x.t_ns > t)
                    ok = 0;
                else
                    tl->gpu[i].start[s] = (zeus__sample){.t_ns = t, .value = x.value};
            }
        tl->start_ns = t;
        if (ok)
            return;
    }
}

zeus_status zeus__timelines_start(struct zeus__timelines *tl, zeus_devices *devs,
                                  const unsigned *gpus, unsigned count, unsigned series,
                                  int64_t period_ns, size_t max_samples)
{
    zeus__sampler_request req = {
        .power_domains = series & 7u,
        .temperature = (series >> ZEUS__SERIES_TEMPERATURE) & 1u,
        .power_period_ns = period_ns,
        .max_samples = max_samples,
    };
    zeus_status s = ZEUS_OK;

    memset(tl, 0, sizeof *tl);
    tl->period_ns = period_ns;
    tl->series = series;
    {
        /* all GPUs' first reads overlap (zeus__channel_acquire_many) */
        struct zeus__channel *ch[ZEUS_MAX_GPUS];
        unsigned n = count < ZEUS_MAX_GPUS ? count : ZEUS_MAX_GPUS;

        s = zeus__channel_acquire_many(devs, gpus, n, &req, ch);
        for (unsigned i = 0; s == ZEUS_OK && i < n; i++) {
            tl->gpu[i].ch = ch[i];
            tl->gpu[i].index = gpus[i];
            tl->gpu_count++;
        }
    }
    if (s == ZEUS_OK)
        s = wait_first_samples(tl);
    if (s != ZEUS_OK) {
        release_all(tl);
        return s;
    }
    record_start(tl);
    pthread_rwlock_init(&tl->lock, NULL);
    return ZEUS_OK;
}

/* ---- Stop ------------------------------------------------------------------------------- */

/* Copy a live series: the start sample, then the channel's samples in (start, hi]. */
static zeus__sample *copy_live(struct zeus__channel *ch, int s, const zeus__sample *start,
                               int64_t from_ns, int64_t hi_ns, int with_start, size_t *n)
{
    size_t cap = 64, got;
    zeus__sample *buf = NULL;

    for (;;) {
        zeus__sample *grown = realloc(buf, (cap + 1) * sizeof *buf);
        if (grown == NULL) {
            free(buf);
            return NULL;
        }
        buf = grown;
        got = zeus__channel_samples(ch, s, from_ns, hi_ns, buf + (with_start ? 1 : 0), cap);
        if (got <= cap)
            break;
        cap = got + 64; /* samples arrived in between: try again with room to spare */
    }
    if (with_start)
        buf[0] = *start;
    *n = got + (with_start ? 1 : 0);
    return buf;
}

static void free_kept(struct zeus__timelines *tl)
{
    for (unsigned i = 0; i < tl->gpu_count; i++)
        for (int s = 0; s < ZEUS__SERIES_COUNT; s++) {
            free(tl->gpu[i].kept[s]);
            tl->gpu[i].kept[s] = NULL;
            tl->gpu[i].kept_count[s] = 0;
        }
}

zeus_status zeus__timelines_stop(struct zeus__timelines *tl)
{
    int64_t t;

    pthread_rwlock_wrlock(&tl->lock);
    if (tl->stopped) {
        pthread_rwlock_unlock(&tl->lock);
        return ZEUS_OK;
    }
    t = zeus__now_ns();
    for (unsigned i = 0; i < tl->gpu_count; i++)
        for (int s = 0; s < ZEUS__SERIES_COUNT; s++) {
            struct zeus__tl_gpu *g = &tl->gpu[i];
            if (!has_series(tl, s))
                continue;
            g->kept[s] = copy_live(g->ch, s, &g->start[s], add_sat(tl->start_ns, 1), t, 1,
                                   &g->kept_count[s]);
            if (g->kept[s] == NULL) {
                free_kept(tl);
                pthread_rwlock_unlock(&tl->lock);
                return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory copying the samples");
            }
        }
    release_all(tl); /* note 4 */
    tl->stop_ns = t;
    tl->stopped = 1;
    pthread_rwlock_unlock(&tl->lock);
    return ZEUS_OK;
}

void zeus__timelines_fini(struct zeus__timelines *tl)
{
    pthread_rwlock_wrlock(&tl->lock);
    release_all(tl);
    free_kept(tl);
    tl->stopped = 1;
    pthread_rwlock_unlock(&tl->lock);
    pthread_rwlock_destroy(&tl->lock);
}

/* ---- Queries ---------------------------------------------------------------------------- */

int zeus__timelines_slot(const struct zeus__timelines *tl, unsigned gpu)
{
    for (unsigned i = 0; i < tl->gpu_count; i++)
        if (tl->gpu[i].index == gpu)
            return (int)i;
    zeus__fail(ZEUS_ERR_NOT_FOUND, "GPU %u is not being monitored", gpu);
    return -1;
}

void zeus__tl_view_free(zeus__tl_view *v)
{
    free(v->s);
    v->s = NULL;
    v->n = 0;
}

static zeus_status view_kept(const struct zeus__tl_gpu *g, int s, int64_t lo, int64_t hi,
                             int context, zeus__tl_view *out)
{
    const zeus__sample *all = g->kept[s];
    size_t n = g->kept_count[s];
    size_t i0 = zeus__sample_lower_bound(all, n, lo);
    size_t i1 = zeus__sample_upper_bound(all, n, hi);

    if (i1 < i0)
        i1 = i0;
    if (context && i0 > 0)
        i0--;
    if (context && i1 < n)
        i1++;
    out->n = i1 - i0;
    out->s = malloc((out->n ? out->n : 1) * sizeof *out->s);
    if (out->s == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory copying samples");
    memcpy(out->s, all + i0, out->n * sizeof *out->s);
    return ZEUS_OK;
}

static zeus_status view_live(const struct zeus__timelines *tl, const struct zeus__tl_gpu *g,
                             int s, int64_t lo, int64_t hi, int context, zeus__tl_view *out)
{
    int64_t first = add_sat(tl->start_ns, 1), from, to;
    int with_start;
    zeus__sample near;

    if (context) {
        /*
         * The sample in effect at lo is the nearest one when that is not later than lo;
         * otherwise it is somewhere before and everything since the start is copied.
         */
        from = first;
        with_start = 1;
        if (lo > tl->start_ns && zeus__channel_sample_near(g->ch, s, lo, &near) == 0 &&
            near.t_ns <= lo && near.t_ns > tl->start_ns) {
            from = near.t_ns;
            with_start = 0;
        }
        /* the change after hi ramps in within a period */
        to = add_sat(hi, zeus__timelines_period_ns(tl));
    } else {
        from = lo > first ? lo : first;
        with_start = lo <= tl->start_ns && tl->start_ns <= hi;
        to = hi;
    }
    out->s = copy_live(g->ch, s, &g->start[s], from, to, with_start, &out->n);
    if (out->s == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory copying samples");
    return ZEUS_OK;
}

zeus_status zeus__timelines_view(struct zeus__timelines *tl, int slot, int series, int64_t lo_ns,
                                 int64_t hi_ns, int context, zeus__tl_view *out)
{
    const struct zeus__tl_gpu *g = &tl->gpu[slot];
    zeus_status st;

    memset(out, 0, sizeof *out);
    pthread_rwlock_rdlock(&tl->lock);
    out->span_lo_ns = tl->start_ns;
    if (tl->stopped) {
        out->span_hi_ns = tl->stop_ns;
        st = view_kept(g, series, lo_ns, hi_ns, context, out);
    } else {
        out->span_hi_ns = zeus__now_ns();
        st = view_live(tl, g, series, lo_ns, hi_ns, context, out);
    }
    pthread_rwlock_unlock(&tl->lock);
    return st;
}

/*
 * The nearest sample of a live series. The monitor's series is the start sample followed by
 * the channel's samples after the start (note 1); the channel's nearest sample r answers
 * unless it is from before the start, or the start sample is at least as near.
 */
static zeus__sample nearest_live(const struct zeus__timelines *tl, const struct zeus__tl_gpu *g,
                                 int s, int64_t t)
{
    const zeus__sample *start = &g->start[s];
    zeus__sample r;

    if (zeus__channel_sample_near(g->ch, s, t, &r) != 0 || r.t_ns <= tl->start_ns)
        return *start;
    if (t == INT64_MAX)
        return r;
    /* |t - start| <= |r - t| with start earlier than r: ties go to the earlier sample. */
    if (t <= tl->start_ns || (double)t - (double)tl->start_ns <= (double)r.t_ns - (double)t)
        return *start;
    return r;
}

zeus__sample zeus__timelines_nearest(struct zeus__timelines *tl, int slot, int series,
                                     int64_t t_ns)
{
    const struct zeus__tl_gpu *g = &tl->gpu[slot];
    zeus__sample r;

    pthread_rwlock_rdlock(&tl->lock);
    if (tl->stopped)
        r = g->kept[series][zeus__sample_nearest(g->kept[series], g->kept_count[series], t_ns)];
    else
        r = nearest_live(tl, g, series, t_ns);
    pthread_rwlock_unlock(&tl->lock);
    return r;
}

/* ---- Public timelines ------------------------------------------------------------------- */

static void to_public(const zeus__sample *in, size_t n, zeus_sample *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (zeus_sample){.time_s = (double)in[i].t_ns * 1e-9, .value = in[i].value};
}

zeus_status zeus__timeline_copy(struct zeus__timelines *tl, int slot, int series, double t0_s,
                                double t1_s, zeus_sample *out, size_t *count)
{
    zeus__tl_view v;
    zeus_status s;

    if (count == NULL || (out == NULL && *count > 0))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "timeline: count is NULL, or out is NULL "
                                                     "with room for samples");
    s = zeus__timelines_view(tl, slot, series, zeus__seconds_to_ns(t0_s, INT64_MIN),
                             zeus__seconds_to_ns(t1_s, INT64_MAX), 0, &v);
    if (s != ZEUS_OK)
        return s;
    if (v.n > *count) {
        *count = v.n;
        zeus__tl_view_free(&v);
        return zeus__fail(ZEUS_ERR_INSUFFICIENT_SIZE, "timeline has %zu samples", *count);
    }
    to_public(v.s, v.n, out);
    *count = v.n;
    zeus__tl_view_free(&v);
    return ZEUS_OK;
}

/* ---- The poll period ---------------------------------------------------------------------- */

void zeus__timelines_lower_period(struct zeus__timelines *tl, int64_t period_ns)
{
    pthread_rwlock_rdlock(&tl->lock); /* the channels stay while stop cannot run */
    if (!tl->stopped && period_ns < zeus__timelines_period_ns(tl)) {
        for (unsigned i = 0; i < tl->gpu_count; i++)
            if (tl->gpu[i].ch != NULL)
                zeus__channel_poll_power_every(tl->gpu[i].ch, period_ns);
        __atomic_store_n(&tl->period_ns, period_ns, __ATOMIC_RELAXED);
    }
    pthread_rwlock_unlock(&tl->lock);
}

int64_t zeus__timelines_period_ns(const struct zeus__timelines *tl)
{
    return __atomic_load_n(&tl->period_ns, __ATOMIC_RELAXED);
}
