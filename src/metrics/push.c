/*
 * push.c - Sending metrics to a Prometheus Pushgateway from a background thread (push.h).
 *
 * Why a thread per object: Zeus pushes inside end_window (the histogram) or from a child
 * process (counter, gauge). An unreachable gateway then costs the training loop a TCP
 * timeout per window. Here the caller only records and kicks; the thread pays the network.
 *
 * DESIGN NOTES
 *
 * 1. Generations: each kick increments `requested`. The thread takes the current value as
 *    the generation it serves, renders, pushes, and publishes it as `done`. A flush waits
 *    for done >= the requested value it saw, so it never waits for later kicks.
 * 2. Every push is bounded: CURLOPT_TIMEOUT_MS covers connect and transfer (default 3 s),
 *    CURLOPT_NOSIGNAL keeps libcurl from using signals (it runs on our thread, and alarm()
 *    based DNS timeouts are not thread-safe).
 * 3. A failure is never silent: it increments pushes_failed, is kept as last_status and
 *    last_error, and is passed to on_error. The next kick tries again with the whole state,
 *    so nothing observed is lost while the gateway is down, only delayed.
 * 4. Stop: destroy sets `stop`; the thread serves a pending kick first (one last push,
 *    bounded by the timeout), then exits and is joined.
 *
 *   create -> idle --kick--> pushing --done--> idle ... destroy: stop -> [last push] -> joined
 */
#include <curl/curl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/push.h"
#include "util/clock.h"
#include "util/http_body.h"
#include "util/error.h"
#include "util/options.h"

#define DEFAULT_TIMEOUT_S 3.0

struct zeus__pusher {
    char *url; /* the group URL */
    int method;
    double timeout_s;
    void (*on_error)(zeus_status, const char *, void *);
    void *user;
    zeus__push_render_fn render;
    void *render_user;

    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* kicks and stop -> thread; done -> flush */
    uint64_t requested, done; /* note 1 */
    int stop;
    zeus_push_stats stats;
};

/* ---- Options ----------------------------------------------------------------------------- */

void zeus_push_options_init(zeus_push_options *opts)
{
    if (opts == NULL)
        return;
    memset(opts, 0, sizeof *opts);
    opts->size = sizeof *opts;
}

/* ---- URLs -------------------------------------------------------------------------------- */

static char *base64url(const char *s)
{
    static const char abc[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t n = strlen(s), o = 0;
    char *out = malloc(4 * ((n + 2) / 3) + 1);

    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)s[i] << 16;
        if (i + 1 < n)
            v |= (unsigned char)s[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)s[i + 2];
        out[o++] = abc[(v >> 18) & 63];
        out[o++] = abc[(v >> 12) & 63];
        out[o++] = i + 1 < n ? abc[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? abc[v & 63] : '=';
    }
    out[o] = '\0';
    return out;
}

char *zeus__push_group_url(const char *base, const char *job)
{
    const char *scheme = strstr(base, "://") ? "" : "http://";
    size_t blen = strlen(base);
    char *enc, *url;
    int b64 = strchr(job, '/') != NULL;

    while (blen > 0 && base[blen - 1] == '/')
        blen--; /* "http://gw:9091/" and "http://gw:9091" name the same gateway */
    if (b64) {
        enc = base64url(job);
    } else {
        char *e = curl_easy_escape(NULL, job, 0);
        enc = e ? strdup(e) : NULL;
        curl_free(e);
    }
    if (enc == NULL)
        return NULL;
    url = malloc(strlen(scheme) + blen + strlen(enc) + 32);
    if (url != NULL)
        sprintf(url, "%s%.*s/metrics/job%s/%s", scheme, (int)blen, base, b64 ? "@base64" : "",
                enc);
    free(enc);
    return url;
}

/* ---- One push ---------------------------------------------------------------------------- */

struct reply {
    char text[160];
    size_t len;
};

static size_t keep_reply(char *data, size_t size, size_t n, void *arg)
{
    struct reply *r = arg;
    size_t take = size * n;

    if (take > sizeof r->text - 1 - r->len)
        take = sizeof r->text - 1 - r->len;
    memcpy(r->text + r->len, data, take);
    r->len += take;
    r->text[r->len] = '\0';
    return size * n;
}

zeus_status zeus__push_once(const char *url, int method, double timeout_s, const char *body,
                            size_t len, char *msg, size_t msg_len)
{
    struct curl_slist *headers;
    struct reply reply = {.len = 0};
    /* At least 1 ms: libcurl reads 0 as "no timeout", which a timeout under 1 ms would
     * truncate to, and a push would then never end. At most INT_MAX ms (24 days): the
     * conversion to long must not overflow. */
    double ms = timeout_s * 1000 < 1 ? 1 : timeout_s * 1000 > INT_MAX ? INT_MAX : timeout_s * 1000;
    long code = 0;
    CURLcode rc;
    CURL *curl;
    zeus_status s = ZEUS_OK;

    if (zeus__curl_init() != 0 || (curl = curl_easy_init()) == NULL) {
        snprintf(msg, msg_len, "cannot start libcurl");
        return ZEUS_ERR_NO_MEMORY;
    }
    headers = curl_slist_append(NULL, "Content-Type: text/plain; version=0.0.4; charset=utf-8");
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method == ZEUS_PUSH_POST ? "POST" : "PUT");
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L); /* note 2 */
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)ms);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, keep_reply);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply);
    rc = curl_easy_perform(curl);
    if (rc != CURLE_OK) {
        s = rc == CURLE_OPERATION_TIMEDOUT ? ZEUS_ERR_TIMEOUT : ZEUS_ERR_IO;
        snprintf(msg, msg_len, "push to %s failed: %s (is the Pushgateway running there?)", url,
                 curl_easy_strerror(rc));
    } else {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
        if (code < 200 || code > 299) {
            s = code >= 400 && code < 500 ? ZEUS_ERR_INVALID_ARGUMENT : ZEUS_ERR_UNKNOWN;
            /* The gateway says why in the body ("pushed metrics are invalid or
             * inconsistent with existing metrics: ..."). */
            for (char *p = reply.text; *p; p++)
                if (*p == '\n')
                    *p = ' ';
            snprintf(msg, msg_len, "push to %s: HTTP %ld: %s", url, code, reply.text);
        }
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return s;
}

/* ---- The thread -------------------------------------------------------------------------- */

static void push_now(struct zeus__pusher *p)
{
    zeus__prom_buf buf = {0};
    char msg[256] = "";
    zeus_status s;
    int what = p->render(p->render_user, &buf);

    if (what != 0 && !buf.oom) { /* out of memory on the first line is not "nothing" */
        zeus__prom_buf_fini(&buf);
        return;
    }
    if (buf.oom) {
        s = ZEUS_ERR_NO_MEMORY;
        snprintf(msg, sizeof msg, "out of memory rendering metrics for %s", p->url);
    } else {
        s = zeus__push_once(p->url, p->method, p->timeout_s, buf.data ? buf.data : "", buf.len,
                            msg, sizeof msg);
    }
    zeus__prom_buf_fini(&buf);
    pthread_mutex_lock(&p->lock);
    if (s == ZEUS_OK) {
        p->stats.pushes_ok++;
    } else {
        p->stats.pushes_failed++;
        p->stats.last_status = s;
        snprintf(p->stats.last_error, sizeof p->stats.last_error, "%s", msg);
    }
    pthread_mutex_unlock(&p->lock);
    if (s != ZEUS_OK && p->on_error != NULL)
        p->on_error(s, msg, p->user); /* note 3; no lock held */
}

static void *pusher_main(void *arg)
{
    struct zeus__pusher *p = arg;
    sigset_t all;

    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL); /* signals belong to the application */
    pthread_mutex_lock(&p->lock);
    for (;;) {
        uint64_t gen;
        while (!p->stop && p->requested == p->done)
            pthread_cond_wait(&p->cond, &p->lock);
        if (p->requested == p->done)
            break; /* stopping, nothing pending (note 4) */
        gen = p->requested;
        pthread_mutex_unlock(&p->lock);
        push_now(p);
        pthread_mutex_lock(&p->lock);
        p->done = gen;
        pthread_cond_broadcast(&p->cond);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* ---- Life cycle -------------------------------------------------------------------------- */

zeus_status zeus__pusher_create(const zeus_push_options *opts, zeus__push_render_fn render,
                                void *user, struct zeus__pusher **out)
{
    struct zeus__pusher *p;
    zeus_push_options o;
    zeus_status s;

    if (opts == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                          "push options are required (the Pushgateway URL and the job)");
    zeus_push_options_init(&o);
    s = zeus__options_read(&o, sizeof o, opts, offsetof(zeus_push_options, timeout_s),
                           "zeus_push_options");
    if (s != ZEUS_OK)
        return s;
    if (o.pushgateway_url == NULL || o.pushgateway_url[0] == '\0')
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "no Pushgateway URL (pushgateway_url)");
    if (o.job == NULL || o.job[0] == '\0')
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "no job name (job)");
    if (!isfinite(o.timeout_s) || o.timeout_s < 0)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "push timeout %g s is not >= 0",
                          o.timeout_s);
    if (o.method != ZEUS_PUSH_PUT && o.method != ZEUS_PUSH_POST)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "unknown push method %d", o.method);
    /* libcurl's global init is not safe alongside other threads' curl use on every
     * version; do it here, on the caller's thread, once. */
    if (zeus__curl_init() != 0)
        return zeus__fail(ZEUS_ERR_UNKNOWN, "libcurl failed to initialize");
    p = calloc(1, sizeof *p);
    if (p == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
    p->url = zeus__push_group_url(o.pushgateway_url, o.job);
    if (p->url == NULL) {
        free(p);
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
    }
    p->method = o.method;
    p->timeout_s = o.timeout_s > 0 ? o.timeout_s : DEFAULT_TIMEOUT_S;
    p->on_error = o.on_error;
    p->user = o.user;
    p->render = render;
    p->render_user = user;
    pthread_mutex_init(&p->lock, NULL);
    zeus__cond_init_monotonic(&p->cond);
    if (pthread_create(&p->thread, NULL, pusher_main, p) != 0) {
        pthread_cond_destroy(&p->cond);
        pthread_mutex_destroy(&p->lock);
        free(p->url);
        free(p);
        return zeus__fail(ZEUS_ERR_OPERATING_SYSTEM, "cannot start the pusher thread");
    }
    *out = p;
    return ZEUS_OK;
}

void zeus__pusher_kick(struct zeus__pusher *p)
{
    pthread_mutex_lock(&p->lock);
    p->requested++;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

zeus_status zeus__pusher_flush(struct zeus__pusher *p, double timeout_s)
{
    int64_t deadline;
    zeus_status s = ZEUS_OK;
    uint64_t want;

    /* Callers pass any timeout >= 0, INFINITY included; converting more than INT64_MAX ns
     * is undefined (on x86 it gives a deadline in the past: an instant ZEUS_ERR_TIMEOUT). */
    deadline = zeus__now_ns() + (int64_t)((timeout_s < 1e9 ? timeout_s : 1e9) * 1e9);

    pthread_mutex_lock(&p->lock);
    want = p->requested;
    while (p->done < want) {
        struct timespec ts = zeus__timespec_from_ns(deadline);
        if (zeus__now_ns() >= deadline) {
            s = zeus__fail(ZEUS_ERR_TIMEOUT, "metrics not pushed to %s within %g s", p->url,
                           timeout_s);
            break;
        }
        pthread_cond_timedwait(&p->cond, &p->lock, &ts);
    }
    pthread_mutex_unlock(&p->lock);
    return s;
}

void zeus__pusher_stats(struct zeus__pusher *p, zeus_push_stats *out)
{
    pthread_mutex_lock(&p->lock);
    *out = p->stats;
    pthread_mutex_unlock(&p->lock);
}

void zeus__pusher_destroy(struct zeus__pusher *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    free(p->url);
    free(p);
}
