/*
 * sse.c - Power streaming: one demand-driven poller per device, a "latest value" channel
 * per device, and the SSE streams that read those channels (spec 1.8).
 *
 * DESIGN NOTES
 *
 * 1. A poller sleeps while its device has no subscribers and polls at the configured rate
 *    while at least one remains; a device nobody asked for is never read.
 *
 *          zd_stream_open(): subscribers 0 -> 1, signal `wake`
 *    IDLE ----------------------------------------------------> POLLING
 *     ^   <---------------------------------------------------    | tick every 1/hz s
 *          zd_stream_close(): subscribers -> 0 (seen at the next tick; GPU forgets its
 *          previous reading, CPU its baseline)
 *
 * 2. GPU: each tick reads the instantaneous power and publishes it only when it differs from
 *    the previous reading (the first reading after a wake always goes out). CPU: a baseline
 *    read on wake (retried every period), then each tick publishes delta_uj * 1000 /
 *    period_us for the package and DRAM, when either changed or on the first tick; a failed
 *    read repeats the last value. Read errors are logged at most once per wake.
 *
 * 3. A channel holds only the latest event and a sequence number. A stream remembers the
 *    sequence it last sent per device, so it sees only values published after it
 *    subscribed, and a slow reader skips values rather than queueing them: memory per
 *    stream is fixed, and a client that never reads costs nothing but its connection
 *    (http.c drops it after the connection timeout). Quirk kept from zeusd: a second GPU
 *    subscriber that joins while the power is constant gets nothing until it changes.
 *
 * 4. One mutex per hub guards every channel; device reads happen outside it. `changed`
 *    wakes readers, `wake` wakes pollers. zd_hub_shutdown() makes every reader return end of
 *    stream, so the HTTP server's connection threads can be joined.
 *
 * 5. A reader that waits KEEPALIVE_S without an event sends an SSE comment (": keepalive"),
 *    which clients ignore, so a vanished client is noticed even while the power is constant.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zeusd.h"

#define KEEPALIVE_S 15
#define EVENT_LEN 192

struct channel {
    struct zd_hub *hub;
    unsigned dev;
    unsigned subscribers;
    uint64_t seq;
    uint64_t polls;
    char event[EVENT_LEN];
    pthread_t thread;
    int started;
};

struct zd_hub {
    struct zd_server *srv;
    enum zd_hub_kind kind;
    unsigned count;
    int64_t period_ns;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    pthread_cond_t wake;
    int stopping;
    struct channel ch[ZEUS_MAX_GPUS > ZEUS_MAX_CPUS ? ZEUS_MAX_GPUS : ZEUS_MAX_CPUS];
};

struct zd_stream {
    struct zd_hub *hub;
    unsigned ids[ZEUS_MAX_GPUS > ZEUS_MAX_CPUS ? ZEUS_MAX_GPUS : ZEUS_MAX_CPUS];
    uint64_t last_seq[ZEUS_MAX_GPUS > ZEUS_MAX_CPUS ? ZEUS_MAX_GPUS : ZEUS_MAX_CPUS];
    unsigned id_count;
    char buf[8192];
    size_t len, off;
};

/* ---- Timing ------------------------------------------------------------------------------- */

static void to_timespec(int64_t ns, struct timespec *ts)
{
    ts->tv_sec = ns / 1000000000;
    ts->tv_nsec = ns % 1000000000;
}

/* Wait on `cond` (CLOCK_MONOTONIC) until `deadline_ns` or stopping; lock held. */
static void sleep_until(struct zd_hub *hub, pthread_cond_t *cond, int64_t deadline_ns)
{
    struct timespec ts;

    to_timespec(deadline_ns, &ts);
    while (!hub->stopping && zd_mono_ns() < deadline_ns)
        if (pthread_cond_timedwait(cond, &hub->lock, &ts) == ETIMEDOUT)
            break;
}

/* ---- Pollers ------------------------------------------------------------------------------ */

static void publish(struct channel *ch, const char *event)
{
    snprintf(ch->event, sizeof ch->event, "%s", event);
    ch->seq++;
    pthread_cond_broadcast(&ch->hub->changed);
}

/* Wait for the first subscriber; returns 0 when stopping. Lock held. */
static int wait_for_subscribers(struct channel *ch)
{
    while (!ch->hub->stopping && ch->subscribers == 0)
        pthread_cond_wait(&ch->hub->wake, &ch->hub->lock);
    return !ch->hub->stopping;
}

static void *gpu_poller(void *arg)
{
    struct channel *ch = arg;
    struct zd_hub *hub = ch->hub;

    pthread_mutex_lock(&hub->lock);
    while (wait_for_subscribers(ch)) {
        long long prev = -1;
        int warned = 0;
        int64_t next = zd_mono_ns();

        while (!hub->stopping && ch->subscribers > 0) {
            double w;
            zeus_status s;

            pthread_mutex_unlock(&hub->lock);
            s = zd_gpu_power_w(hub->srv, ch->dev, &w);
            if (s != ZEUS_OK && !warned) {
                warned = 1; /* not warned++: that overflows after 2^31 failed reads */
                zd_warn("GPU %u power read failed: %s", ch->dev, zeus_last_error());
            }
            pthread_mutex_lock(&hub->lock);
            ch->polls++;
            if (s == ZEUS_OK && llround(w * 1000) != prev) {
                char event[EVENT_LEN];
                prev = llround(w * 1000);
                snprintf(event, sizeof event, "{\"timestamp_ms\":%lld,\"gpu_id\":%u,"
                         "\"power_mw\":%lld}", (long long)zd_unix_ms(), ch->dev, prev);
                publish(ch, event);
            }
            next += hub->period_ns;
            if (next < zd_mono_ns())
                next = zd_mono_ns(); /* late: no burst of catch-up reads */
            sleep_until(hub, &hub->wake, next);
        }
    }
    pthread_mutex_unlock(&hub->lock);
    return NULL;
}

static zeus_status read_cpu(struct zd_hub *hub, unsigned dev, zeus_cpu_energy *e)
{
    zeus_status s;

    pthread_mutex_unlock(&hub->lock);
    s = zeus_cpu_get_energy(hub->srv->devs, dev, e);
    pthread_mutex_lock(&hub->lock);
    hub->ch[dev].polls++;
    return s;
}

static void *cpu_poller(void *arg)
{
    struct channel *ch = arg;
    struct zd_hub *hub = ch->hub;
    int64_t period_us = hub->period_ns / 1000;

    pthread_mutex_lock(&hub->lock);
    while (wait_for_subscribers(ch)) {
        zeus_cpu_energy base, now;
        long long cpu_mw = -1, dram_mw = -1;
        int have_base = 0, first = 1, warned = 0;
        int64_t next = zd_mono_ns();

        while (!hub->stopping && ch->subscribers > 0) {
            zeus_status s = read_cpu(hub, ch->dev, have_base ? &now : &base);

            if (s != ZEUS_OK && !warned) {
                warned = 1;
                zd_warn("CPU %u energy read failed: %s", ch->dev, zeus_last_error());
            }
            if (!have_base) {
                have_base = s == ZEUS_OK;
            } else {
                long long c = cpu_mw, d = dram_mw;
                if (s == ZEUS_OK) {
                    double dc = (now.cpu_j - base.cpu_j) * 1e6;
                    c = (long long)((dc > 0 ? dc : 0) * 1000.0 / (double)period_us);
                    if (!isnan(now.dram_j) && !isnan(base.dram_j)) {
                        double dd = (now.dram_j - base.dram_j) * 1e6;
                        d = (long long)((dd > 0 ? dd : 0) * 1000.0 / (double)period_us);
                    } else {
                        d = -1;
                    }
                    base = now;
                }
                if (c >= 0 && (first || c != cpu_mw || d != dram_mw)) {
                    char event[EVENT_LEN], dram[32] = "null";
                    if (d >= 0)
                        snprintf(dram, sizeof dram, "%lld", d);
                    snprintf(event, sizeof event, "{\"timestamp_ms\":%lld,\"cpu_id\":%u,"
                             "\"cpu_mw\":%lld,\"dram_mw\":%s}", (long long)zd_unix_ms(),
                             ch->dev, c, dram);
                    publish(ch, event);
                    first = 0;
                }
                cpu_mw = c;
                dram_mw = d;
            }
            next += hub->period_ns;
            if (next < zd_mono_ns())
                next = zd_mono_ns();
            sleep_until(hub, &hub->wake, next);
        }
    }
    pthread_mutex_unlock(&hub->lock);
    return NULL;
}

/* ---- Hub ---------------------------------------------------------------------------------- */

int zd_hub_create(struct zd_server *srv, enum zd_hub_kind kind, unsigned device_count,
                  unsigned poll_hz, struct zd_hub **out)
{
    struct zd_hub *hub = calloc(1, sizeof *hub);
    pthread_condattr_t attr;

    if (hub == NULL)
        return -1;
    hub->srv = srv;
    hub->kind = kind;
    hub->count = device_count;
    hub->period_ns = 1000000000 / (int64_t)(poll_hz ? poll_hz : 1);
    pthread_mutex_init(&hub->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&hub->changed, &attr);
    pthread_cond_init(&hub->wake, &attr);
    pthread_condattr_destroy(&attr);
    for (unsigned i = 0; i < device_count; i++) {
        struct channel *ch = &hub->ch[i];
        ch->hub = hub;
        ch->dev = i;
        if (pthread_create(&ch->thread, NULL, kind == ZD_HUB_GPU ? gpu_poller : cpu_poller,
                           ch) != 0) {
            zd_hub_destroy(hub);
            return -1;
        }
        ch->started = 1;
    }
    *out = hub;
    return 0;
}

void zd_hub_shutdown(struct zd_hub *hub)
{
    if (hub == NULL)
        return;
    pthread_mutex_lock(&hub->lock);
    hub->stopping = 1;
    pthread_cond_broadcast(&hub->changed);
    pthread_cond_broadcast(&hub->wake);
    pthread_mutex_unlock(&hub->lock);
}

void zd_hub_destroy(struct zd_hub *hub)
{
    if (hub == NULL)
        return;
    zd_hub_shutdown(hub);
    for (unsigned i = 0; i < hub->count; i++)
        if (hub->ch[i].started)
            pthread_join(hub->ch[i].thread, NULL);
    pthread_cond_destroy(&hub->changed);
    pthread_cond_destroy(&hub->wake);
    pthread_mutex_destroy(&hub->lock);
    free(hub);
}

uint64_t zd_hub_poll_count(struct zd_hub *hub, unsigned dev)
{
    uint64_t n;

    if (hub == NULL || dev >= hub->count)
        return 0;
    pthread_mutex_lock(&hub->lock);
    n = hub->ch[dev].polls;
    pthread_mutex_unlock(&hub->lock);
    return n;
}

/* ---- Streams ------------------------------------------------------------------------------ */

struct zd_stream *zd_stream_open(struct zd_hub *hub, const struct zd_ids *ids)
{
    struct zd_stream *st = calloc(1, sizeof *st);

    if (st == NULL)
        return NULL;
    st->hub = hub;
    pthread_mutex_lock(&hub->lock);
    for (size_t i = 0; i < ids->count && ids->ids[i] < hub->count; i++) {
        struct channel *ch = &hub->ch[ids->ids[i]];
        st->ids[st->id_count] = ch->dev;
        st->last_seq[st->id_count++] = ch->seq; /* only values published from now on */
        ch->subscribers++;
    }
    pthread_cond_broadcast(&hub->wake);
    pthread_mutex_unlock(&hub->lock);
    return st;
}

/* Append every event newer than what this stream sent; lock held. Returns bytes added. */
static size_t take_events(struct zd_stream *st)
{
    for (unsigned i = 0; i < st->id_count; i++) {
        struct channel *ch = &st->hub->ch[st->ids[i]];
        if (ch->seq != st->last_seq[i] && st->len + EVENT_LEN + 8 < sizeof st->buf) {
            st->len += (size_t)snprintf(st->buf + st->len, sizeof st->buf - st->len,
                                        "data: %s\n\n", ch->event);
            st->last_seq[i] = ch->seq;
        }
    }
    return st->len;
}

size_t zd_stream_read(struct zd_stream *st, char *buf, size_t max)
{
    struct zd_hub *hub = st->hub;
    size_t n;

    if (st->off == st->len) {
        int64_t deadline = zd_mono_ns() + (int64_t)KEEPALIVE_S * 1000000000;
        struct timespec ts;

        st->off = st->len = 0;
        to_timespec(deadline, &ts);
        pthread_mutex_lock(&hub->lock);
        while (!hub->stopping && take_events(st) == 0) {
            if (pthread_cond_timedwait(&hub->changed, &hub->lock, &ts) == ETIMEDOUT) {
                st->len = (size_t)snprintf(st->buf, sizeof st->buf, ": keepalive\n\n");
                break;
            }
        }
        pthread_mutex_unlock(&hub->lock);
        if (st->len == 0)
            return 0; /* stopping */
    }
    n = st->len - st->off < max ? st->len - st->off : max;
    memcpy(buf, st->buf + st->off, n);
    st->off += n;
    return n;
}

void zd_stream_close(struct zd_stream *st)
{
    if (st == NULL)
        return;
    pthread_mutex_lock(&st->hub->lock);
    for (unsigned i = 0; i < st->id_count; i++)
        st->hub->ch[st->ids[i]].subscribers--;
    pthread_mutex_unlock(&st->hub->lock);
    free(st);
}
