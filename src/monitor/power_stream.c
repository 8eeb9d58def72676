/*
 * power_stream.c - zeus_power_stream (zeus/power_stream.h): live power from many zeusd
 * daemons, as Zeus's PowerStreamingClient does.
 *
 * DESIGN NOTES
 *
 * 1. Open does all the checking before any thread starts, so that a failure leaves nothing
 *    behind: duplicate endpoints, then per endpoint discovery and whoami (the zeusd client),
 *    index and scope checks (Zeus's _resolve_streaming), and 5 round trips to /time whose
 *    median of (local midpoint - daemon time) is the clock offset.
 *
 * 2. One worker per endpoint and device type loops: stream, and when the stream ends, record
 *    why, wait the reconnect delay and stream again. 401/403 ends the worker for good (the
 *    token will not get better by retrying); the endpoint's status and error say so and the
 *    other workers go on.
 *
 * 3. One mutex guards every endpoint's merged values and the update counter `seq`; `changed`
 *    wakes zeus_power_stream_next, `stopping` wakes workers waiting to reconnect. The stop
 *    flag is also read by libcurl's progress callback, which runs at least once a second, so
 *    stop joins every worker within about a second (plus one reply in flight).
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "device/zeusd_client.h"
#include "monitor/sse_parse.h"
#include "util/error.h"
#include "util/options.h"
#include "zeus/power_stream.h"

#define OFFSET_SAMPLES 5

struct endpoint {
    struct zeus_power_stream *s;
    struct zeus__zeusd_client *client;
    char name[256];
    char gpu_query[1024]; /* "" when GPUs are not streamed */
    char cpu_query[1024];
    double offset_s;
    /* under s->lock */
    double timestamp_s;
    unsigned char gpu_have[ZEUS_MAX_GPUS], cpu_have[ZEUS_MAX_CPUS];
    double gpu_w[ZEUS_MAX_GPUS], cpu_w[ZEUS_MAX_CPUS], dram_w[ZEUS_MAX_CPUS];
    int gpu_streaming, cpu_streaming;
    zeus_status status;
    char error[512];
    unsigned reconnects;
};

struct worker {
    struct endpoint *ep;
    int gpu;
    pthread_t thread;
};

struct zeus_power_stream {
    pthread_mutex_t lock;
    pthread_cond_t changed, stopping;
    volatile int stop;
    int stopped;
    uint64_t seq;
    unsigned running; /* workers not ended */
    double reconnect_delay_s;
    size_t endpoint_count, worker_count;
    struct endpoint *endpoints;
    struct worker *workers;
};

void zeus_power_stream_endpoint_init(zeus_power_stream_endpoint *e)
{
    memset(e, 0, sizeof *e);
    e->size = sizeof *e;
}

void zeus_power_stream_options_init(zeus_power_stream_options *o)
{
    memset(o, 0, sizeof *o);
    o->size = sizeof *o;
    o->reconnect_delay_s = 1.0;
}

void zeus_power_readings_init(zeus_power_readings *r)
{
    memset(r, 0, sizeof *r);
    r->size = sizeof *r;
    r->timestamp_s = NAN;
}

static double now_s(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct timespec deadline_after(double seconds)
{
    double t = now_s(CLOCK_MONOTONIC) + (seconds > 0 ? seconds : 0);
    struct timespec ts = {(time_t)t, (long)((t - floor(t)) * 1e9)};
    return ts;
}

/* ---- Workers -------------------------------------------------------------------------------- */

struct feed {
    struct worker *w;
    zeus__sse_parser parser;
};

/* One data line: decode, store under the lock, wake waiters. Bad events are skipped. */
static void on_event(const char *json, void *user)
{
    struct worker *w = user;
    struct endpoint *ep = w->ep;
    struct zeus_power_stream *s = ep->s;
    zeus__sse_power e;
    unsigned max = w->gpu ? ZEUS_MAX_GPUS : ZEUS_MAX_CPUS;

    if ((w->gpu ? zeus__sse_gpu_event(json, &e) : zeus__sse_cpu_event(json, &e)) != 0 ||
        e.id >= max)
        return;
    pthread_mutex_lock(&s->lock);
    e.timestamp_s += ep->offset_s;
    if (isnan(ep->timestamp_s) || e.timestamp_s > ep->timestamp_s)
        ep->timestamp_s = e.timestamp_s;
    if (w->gpu) {
        ep->gpu_have[e.id] = 1;
        ep->gpu_w[e.id] = e.w;
    } else {
        ep->cpu_have[e.id] = 1;
        ep->cpu_w[e.id] = e.w;
        ep->dram_w[e.id] = e.dram_w;
    }
    s->seq++;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
}

static int on_bytes(const char *data, size_t len, void *user)
{
    struct feed *f = user;
    zeus__sse_feed(&f->parser, data, len);
    return 0;
}

/* The stream of this worker ended for good: say so and wake next() if nothing runs. */
static void worker_end(struct worker *w, zeus_status status, const char *why)
{
    struct zeus_power_stream *s = w->ep->s;

    pthread_mutex_lock(&s->lock);
    if (w->gpu)
        w->ep->gpu_streaming = 0;
    else
        w->ep->cpu_streaming = 0;
    if (status != ZEUS_OK) {
        w->ep->status = status;
        snprintf(w->ep->error, sizeof w->ep->error, "%s", why);
    }
    s->running--;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct endpoint *ep = w->ep;
    struct zeus_power_stream *s = ep->s;
    struct feed *f = malloc(sizeof *f);
    const char *query = w->gpu ? ep->gpu_query : ep->cpu_query;

    if (f == NULL) {
        worker_end(w, ZEUS_ERR_NO_MEMORY, "power stream: out of memory");
        return NULL;
    }
    f->w = w;
    while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
        zeus_status st;
        struct timespec until;

        zeus__sse_init(&f->parser, on_event, w);
        st = zeus__zeusd_client_stream(ep->client, query, on_bytes, f, &s->stop);
        if (__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE))
            break;
        if (st == ZEUS_ERR_NO_PERMISSION) {
            worker_end(w, st, zeus_last_error());
            free(f);
            return NULL;
        }
        pthread_mutex_lock(&s->lock);
        snprintf(ep->error, sizeof ep->error, "%s; reconnecting in %.1f s", zeus_last_error(),
                 s->reconnect_delay_s);
        until = deadline_after(s->reconnect_delay_s);
        while (!s->stop && pthread_cond_timedwait(&s->stopping, &s->lock, &until) == 0)
            ;
        if (!s->stop)
            ep->reconnects++;
        pthread_mutex_unlock(&s->lock);
    }
    free(f);
    worker_end(w, ZEUS_OK, NULL);
    return NULL;
}

/* ---- Open ----------------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Zeus's _estimate_clock_offset: median over 5 round trips of local midpoint - daemon time. */
static zeus_status estimate_offset(struct endpoint *ep)
{
    double off[OFFSET_SAMPLES];

    for (int i = 0; i < OFFSET_SAMPLES; i++) {
        cJSON *reply = NULL;
        const cJSON *ms;
        double t1 = now_s(CLOCK_REALTIME), t2;
        zeus_status st = zeus__zeusd_client_get_json(ep->client, "get the time", "/time", &reply);

        t2 = now_s(CLOCK_REALTIME);
        if (st != ZEUS_OK)
            return st;
        ms = cJSON_GetObjectItemCaseSensitive(reply, "timestamp_ms");
        if (!cJSON_IsNumber(ms)) {
            cJSON_Delete(reply);
            return zeus__fail(ZEUS_ERR_IO, "zeusd at %s: /time has no timestamp_ms", ep->name);
        }
        off[i] = (t1 + t2) / 2 - ms->valuedouble / 1000.0;
        cJSON_Delete(reply);
    }
    qsort(off, OFFSET_SAMPLES, sizeof off[0], cmp_double);
    ep->offset_s = off[OFFSET_SAMPLES / 2];
    return ZEUS_OK;
}

/*
 * Zeus's _resolve_streaming for one device type: NULL streams all (quietly none when there
 * are none or the scope is missing), count 0 none, a list must exist and be granted. Builds
 * the route's query in `query` ("" for none).
 */
static zeus_status resolve(struct endpoint *ep, const char *kind, const unsigned *idx,
                           size_t n, char *query, size_t qsize)
{
    int gpu = strcmp(kind, "gpu") == 0;
    const char *scope = gpu ? "gpu-read" : "cpu-read";
    unsigned have = gpu ? zeus__zeusd_client_gpu_count(ep->client)
                        : zeus__zeusd_client_cpu_count(ep->client);
    zeus_status st;
    size_t len;

    query[0] = '\0';
    if (idx == NULL) {
        if (have > 0 && zeus__zeusd_client_can(ep->client, scope))
            snprintf(query, qsize, "/%s/stream_power", kind);
        return ZEUS_OK;
    }
    if (n == 0)
        return ZEUS_OK;
    len = (size_t)snprintf(query, qsize, "/%s/stream_power?%s_ids=", kind, kind);
    for (size_t i = 0; i < n; i++) {
        if (idx[i] >= have) {
            query[0] = '\0';
            return zeus__fail(ZEUS_ERR_NOT_FOUND, "%s index %u requested for %s, but it has "
                              "%u %s%s (0..%d)", gpu ? "GPU" : "CPU", idx[i], ep->name, have,
                              gpu ? "GPU" : "CPU", have == 1 ? "" : "s", (int)have - 1);
        }
        if (len + 16 < qsize)
            len += (size_t)snprintf(query + len, qsize - len, "%s%u", i ? "," : "", idx[i]);
    }
    st = zeus__zeusd_client_require(ep->client, scope);
    if (st != ZEUS_OK) {
        query[0] = '\0';
        return zeus__fail_prefix(st, "%s_indices listed for %s", kind, ep->name);
    }
    return ZEUS_OK;
}

static zeus_status open_endpoint(struct endpoint *ep, const zeus_power_stream_endpoint *user)
{
    zeus_power_stream_endpoint e;
    const char *token;
    zeus_status st;

    zeus_power_stream_endpoint_init(&e);
    st = zeus__options_read(&e, sizeof e, user, sizeof(uint32_t), "zeus_power_stream_endpoint");
    if (st != ZEUS_OK)
        return st;
    token = e.token != NULL ? e.token : getenv("ZEUSD_TOKEN");
    st = zeus__zeusd_client_open_at(e.sock_path, e.host_port, token, &ep->client);
    if (st != ZEUS_OK)
        return st;
    st = resolve(ep, "gpu", e.gpu_indices, e.gpu_index_count, ep->gpu_query,
                 sizeof ep->gpu_query);
    if (st == ZEUS_OK)
        st = resolve(ep, "cpu", e.cpu_indices, e.cpu_index_count, ep->cpu_query,
                     sizeof ep->cpu_query);
    if (st == ZEUS_OK)
        st = estimate_offset(ep);
    ep->gpu_streaming = ep->gpu_query[0] != '\0';
    ep->cpu_streaming = ep->cpu_query[0] != '\0';
    return st;
}

/* The endpoint's name (Zeus's ZeusdConfig.endpoint), checked against those before it. */
static zeus_status name_endpoint(struct zeus_power_stream *s, size_t i,
                                 const zeus_power_stream_endpoint *e)
{
    const char *name = e->sock_path != NULL ? e->sock_path : e->host_port;

    if (name == NULL || (e->sock_path != NULL && e->host_port != NULL))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "power stream endpoint %zu: set exactly "
                          "one of sock_path and host_port", i);
    if (strlen(name) >= sizeof s->endpoints[i].name)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "power stream endpoint %zu: name too long",
                          i);
    for (size_t j = 0; j < i; j++)
        if (strcmp(s->endpoints[j].name, name) == 0)
            return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "Duplicate server endpoints: %s", name);
    snprintf(s->endpoints[i].name, sizeof s->endpoints[i].name, "%s", name);
    return ZEUS_OK;
}

static zeus_status start_workers(struct zeus_power_stream *s)
{
    for (size_t i = 0; i < s->endpoint_count; i++)
        for (int gpu = 1; gpu >= 0; gpu--) {
            struct endpoint *ep = &s->endpoints[i];
            struct worker *w = &s->workers[s->worker_count];
            if ((gpu ? ep->gpu_query : ep->cpu_query)[0] == '\0')
                continue;
            w->ep = ep;
            w->gpu = gpu;
            pthread_mutex_lock(&s->lock);
            s->running++;
            pthread_mutex_unlock(&s->lock);
            if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
                s->running--;
                return zeus__fail(ZEUS_ERR_OPERATING_SYSTEM, "power stream: cannot start a "
                                  "thread");
            }
            s->worker_count++;
        }
    return ZEUS_OK;
}

static zeus_status stream_alloc(size_t count, const zeus_power_stream_options *options,
                                struct zeus_power_stream **out)
{
    zeus_power_stream_options o;
    struct zeus_power_stream *s;
    pthread_condattr_t attr;

    zeus_power_stream_options_init(&o);
    if (options != NULL && zeus__options_read(&o, sizeof o, options, sizeof(uint32_t),
                                              "zeus_power_stream_options") != ZEUS_OK)
        return ZEUS_ERR_INVALID_ARGUMENT;
    if (!(o.reconnect_delay_s >= 0) || o.reconnect_delay_s > 3600)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "reconnect_delay_s must be 0..3600 s");
    s = calloc(1, sizeof *s);
    if (s != NULL) {
        s->endpoints = calloc(count, sizeof *s->endpoints);
        s->workers = calloc(2 * count, sizeof *s->workers);
    }
    if (s == NULL || s->endpoints == NULL || s->workers == NULL) {
        if (s != NULL)
            free(s->endpoints);
        free(s);
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "power stream: out of memory");
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&s->changed, &attr);
    pthread_cond_init(&s->stopping, &attr);
    pthread_condattr_destroy(&attr);
    s->reconnect_delay_s = o.reconnect_delay_s;
    s->endpoint_count = count;
    for (size_t i = 0; i < count; i++) {
        s->endpoints[i].s = s;
        s->endpoints[i].timestamp_s = NAN;
    }
    *out = s;
    return ZEUS_OK;
}

zeus_status zeus_power_stream_open(const zeus_power_stream_endpoint *const *endpoints,
                                   size_t count, const zeus_power_stream_options *options,
                                   zeus_power_stream **out)
{
    struct zeus_power_stream *s = NULL;
    zeus_status st;

    if (out == NULL || (endpoints == NULL && count > 0))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "zeus_power_stream_open: NULL argument");
    *out = NULL;
    st = stream_alloc(count, options, &s);
    for (size_t i = 0; st == ZEUS_OK && i < count; i++)
        st = endpoints[i] == NULL ? zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "power stream "
                                               "endpoint %zu is NULL", i)
                                  : name_endpoint(s, i, endpoints[i]);
    for (size_t i = 0; st == ZEUS_OK && i < count; i++)
        st = open_endpoint(&s->endpoints[i], endpoints[i]);
    if (st == ZEUS_OK)
        st = start_workers(s);
    if (st != ZEUS_OK) {
        if (s != NULL)
            zeus_power_stream_destroy(s);
        return st;
    }
    *out = s;
    return ZEUS_OK;
}

/* ---- Reading -------------------------------------------------------------------------------- */

size_t zeus_power_stream_endpoint_count(const zeus_power_stream *s)
{
    return s != NULL ? s->endpoint_count : 0;
}

static void copy_readings(const struct endpoint *ep, zeus_power_readings *r)
{
    snprintf(r->endpoint, sizeof r->endpoint, "%s", ep->name);
    r->timestamp_s = ep->timestamp_s;
    r->gpu_count = r->cpu_count = 0;
    for (unsigned i = 0; i < ZEUS_MAX_GPUS; i++)
        if (ep->gpu_have[i]) {
            r->gpu_index[r->gpu_count] = i;
            r->gpu_w[r->gpu_count++] = ep->gpu_w[i];
        }
    for (unsigned i = 0; i < ZEUS_MAX_CPUS; i++)
        if (ep->cpu_have[i]) {
            r->cpu_index[r->cpu_count] = i;
            r->dram_w[r->cpu_count] = ep->dram_w[i];
            r->cpu_w[r->cpu_count++] = ep->cpu_w[i];
        }
    r->clock_offset_s = ep->offset_s;
    r->gpu_streaming = ep->gpu_streaming;
    r->cpu_streaming = ep->cpu_streaming;
    r->status = ep->status;
    snprintf(r->error, sizeof r->error, "%s", ep->error);
    r->reconnects = ep->reconnects;
}

zeus_status zeus_power_stream_get(zeus_power_stream *s, size_t i, zeus_power_readings *out)
{
    zeus_power_readings r;
    zeus_status st;
    uint32_t n;

    if (s == NULL || out == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "zeus_power_stream_get: NULL argument");
    if (i >= s->endpoint_count)
        return zeus__fail(ZEUS_ERR_NOT_FOUND, "power stream endpoint %zu: there are %zu", i,
                          s->endpoint_count);
    zeus_power_readings_init(&r);
    st = zeus__options_read(&r, sizeof r, out, sizeof(uint32_t), "zeus_power_readings");
    if (st != ZEUS_OK)
        return st;
    pthread_mutex_lock(&s->lock);
    copy_readings(&s->endpoints[i], &r);
    pthread_mutex_unlock(&s->lock);
    n = out->size; /* the caller's size: an older struct gets its prefix */
    memcpy(out, &r, n);
    out->size = n;
    return ZEUS_OK;
}

zeus_status zeus_power_stream_next(zeus_power_stream *s, double timeout_s, uint64_t *seq)
{
    struct timespec until;
    zeus_status st = ZEUS_OK;

    if (s == NULL || seq == NULL || !(timeout_s >= 0))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "zeus_power_stream_next: bad argument");
    until = deadline_after(timeout_s);
    pthread_mutex_lock(&s->lock);
    while (s->seq <= *seq && !s->stopped && s->running > 0)
        if (pthread_cond_timedwait(&s->changed, &s->lock, &until) != 0)
            break;
    if (s->stopped)
        st = zeus__fail(ZEUS_ERR_NO_DATA, "the power stream was stopped");
    else if (s->seq > *seq)
        *seq = s->seq;
    else if (s->running == 0)
        st = zeus__fail(ZEUS_ERR_NO_DATA, "every power stream has ended");
    else
        st = zeus__fail(ZEUS_ERR_TIMEOUT, "no power update within %.3g s", timeout_s);
    pthread_mutex_unlock(&s->lock);
    return st;
}

void zeus_power_stream_stop(zeus_power_stream *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->lock);
    __atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
    s->stopped = 1;
    pthread_cond_broadcast(&s->stopping);
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
    for (size_t i = 0; i < s->worker_count; i++)
        pthread_join(s->workers[i].thread, NULL);
    s->worker_count = 0;
}

void zeus_power_stream_destroy(zeus_power_stream *s)
{
    if (s == NULL)
        return;
    zeus_power_stream_stop(s);
    for (size_t i = 0; i < s->endpoint_count; i++)
        if (s->endpoints[i].client != NULL)
            zeus__zeusd_client_close(s->endpoints[i].client);
    pthread_cond_destroy(&s->changed);
    pthread_cond_destroy(&s->stopping);
    pthread_mutex_destroy(&s->lock);
    free(s->workers);
    free(s->endpoints);
    free(s);
}
