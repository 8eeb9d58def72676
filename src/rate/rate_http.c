/*
 * rate_http.c - One bounded GET with retries for the network rate providers (rate_http.h).
 *
 * Why these bounds: a rate is asked for when a window ends, on the training loop's thread.
 * Each try is capped (5 s to connect, 10 s in all), and only what may pass is tried again:
 * 429 (rate limited), 5xx and timeouts, three tries in all, 0.5 s then 1 s apart, so a call
 * ends within about 32 s even when the service hangs. 401/403 (a wrong or missing key) and
 * other 4xx are final: asking again cannot help. The body is capped (8 MiB) because OpenEI's
 * "detail=full" answers grow with the radius, and a runaway server must not exhaust memory.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "rate/rate_http.h"
#include "util/error.h"
#include "util/http_body.h"

#define SHOWN_BODY 300 /* characters of an answer quoted in an error */

static pthread_mutex_t limits_lock = PTHREAD_MUTEX_INITIALIZER;
static int limits_set;
static zeus__rate_http_limits limits;

/* ---- Limits ------------------------------------------------------------------------------- */

static zeus__rate_http_limits defaults(void)
{
    zeus__rate_http_limits l = {5.0, 10.0, 3, 0.5, 8u << 20};
    const char *env = getenv("ZEUS_RATE_HTTP_TIMEOUT_S");
    char *end;
    double v;

    if (env != NULL && *env) {
        v = strtod(env, &end);
        if (*end == '\0' && v > 0 && isfinite(v)) {
            l.timeout_s = v;
            if (l.connect_timeout_s > v)
                l.connect_timeout_s = v;
        }
    }
    return l;
}

zeus__rate_http_limits zeus__rate_http_get_limits(void)
{
    zeus__rate_http_limits l;

    pthread_mutex_lock(&limits_lock);
    l = limits_set ? limits : defaults();
    pthread_mutex_unlock(&limits_lock);
    return l;
}

void zeus__rate_http_set_limits(const zeus__rate_http_limits *l)
{
    pthread_mutex_lock(&limits_lock);
    limits_set = l != NULL;
    if (l != NULL)
        limits = *l;
    pthread_mutex_unlock(&limits_lock);
}

/* ---- One try ------------------------------------------------------------------------------ */

/* libcurl reads 0 ms as "no limit": keep at least 1 ms. */
static long ms(double s)
{
    double v = s * 1000;
    return v < 1 ? 1 : v > 1e9 ? 1000000000L : (long)v;
}

static CURLcode try_once(CURL *h, const char *url, struct curl_slist *headers,
                         const zeus__rate_http_limits *l, zeus__http_body *got, long *http)
{
    CURLcode rc;

    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, zeus__http_body_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, got);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ms(l->connect_timeout_s));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ms(l->timeout_s));
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* signals are not thread-safe */
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 3L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "zeus-c");
    rc = curl_easy_perform(h);
    *http = 0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, http);
    return rc;
}

static int worth_retrying(CURLcode rc, long http)
{
    if (rc != CURLE_OK)
        return rc == CURLE_OPERATION_TIMEDOUT;
    return http == 429 || http >= 500;
}

static void pause_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};

    nanosleep(&ts, NULL);
}

/* The URL up to its query: the query may carry an API key (OpenEI). */
static int shown_len(const char *url)
{
    return (int)strcspn(url, "?");
}

/* ---- The GET ------------------------------------------------------------------------------ */

zeus_status zeus__rate_http_get(const char *who, const char *url, const char *const *headers,
                                char **body, long *http)
{
    zeus__rate_http_limits l = zeus__rate_http_get_limits();
    zeus__http_body got = {NULL, 0, 0};
    struct curl_slist *hdrs = NULL;
    CURLcode rc = CURLE_OK;
    long code = 0;
    int attempt;
    zeus_status s;
    CURL *h;

    *body = NULL;
    if (zeus__curl_init() != 0 || (h = curl_easy_init()) == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "cannot start libcurl");
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
        hdrs = curl_slist_append(hdrs, headers[i]);
    if (l.attempts < 1)
        l.attempts = 1;
    for (attempt = 1; attempt <= l.attempts; attempt++) {
        if (attempt > 1)
            pause_s(l.backoff_s * (1 << (attempt - 2))); /* 0.5 s, 1 s, ... */
        free(got.data);
        got = (zeus__http_body){NULL, 0, l.max_body};
        rc = try_once(h, url, hdrs, &l, &got, &code);
        if (!worth_retrying(rc, code))
            break;
    }
    if (attempt > l.attempts)
        attempt = l.attempts;
    if (http != NULL)
        *http = code;
    if (rc == CURLE_WRITE_ERROR) /* the body write stopped: over the cap (or out of memory) */
        s = zeus__fail(ZEUS_ERR_PROVIDER_HTTP, "%s: the answer from %.*s is over %zu bytes", who,
                       shown_len(url), url, l.max_body);
    else if (rc != CURLE_OK)
        s = zeus__fail(ZEUS_ERR_PROVIDER_HTTP, "%s: GET %.*s failed: %s (%d attempt%s)", who,
                       shown_len(url), url, curl_easy_strerror(rc), attempt,
                       attempt > 1 ? "s" : "");
    else if (code < 200 || code > 299)
        s = zeus__fail(ZEUS_ERR_PROVIDER_HTTP, "%s: GET %.*s: HTTP %ld%s%s (%d attempt%s): %.*s",
                       who, shown_len(url), url, code,
                       code == 401 || code == 403 ? ", the API key was refused" : "",
                       code == 429 ? ", rate limited" : "", attempt, attempt > 1 ? "s" : "",
                       SHOWN_BODY, got.data != NULL ? got.data : "");
    else
        s = ZEUS_OK;
    if (s == ZEUS_OK) {
        *body = got.data != NULL ? got.data : strdup("");
        got.data = NULL;
        if (*body == NULL)
            s = zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
    }
    free(got.data);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    return s;
}
