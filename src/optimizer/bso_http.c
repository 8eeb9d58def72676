/*
 * bso_http.c - The batch size optimizer client's HTTP exchange with its server (libcurl).
 *
 * Zeus's client calls httpx once and raises on anything but 2xx. Here a server that cannot
 * be reached or answers 5xx is tried ZEUS_BSO_HTTP_ATTEMPTS times in all, 0.2 s then 0.4 s
 * apart, because a restarting server or a dropped connection should not cost a training
 * run; each try is bounded (5 s to connect, 30 s in all), so a call ends within about 91 s.
 * Retrying is safe: the server commits a request's transaction only when it answers 2xx.
 * A 4xx is the caller's mistake and is not retried.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "optimizer/bso_http.h"
#include "util/error.h"
#include "util/http_json.h"

#define MAX_BODY (1u << 20)
#define CONNECT_TIMEOUT_S 5L
#define TIMEOUT_S 30L
#define SHOWN_BODY 600 /* characters of a reply quoted in an error */

/* base_url + path [+ "?job_id=" + escaped id], malloc'd. */
static char *make_url(CURL *h, const char *base_url, const char *path, const char *job_id)
{
    char *esc = job_id != NULL ? curl_easy_escape(h, job_id, 0) : NULL;
    size_t len = strlen(base_url) + strlen(path) + (esc ? strlen(esc) + 8 : 0) + 1;
    char *url = malloc(len);

    if (url != NULL)
        snprintf(url, len, "%s%s%s%s", base_url, path, esc ? "?job_id=" : "", esc ? esc : "");
    curl_free(esc);
    return url;
}

static void pause_before(int attempt)
{
    struct timespec ts = {0, 200000000L << (attempt - 1)}; /* 0.2 s, 0.4 s */

    nanosleep(&ts, NULL);
}

/* The reply of a 2xx, parsed; an empty body counts as null. */
static zeus_status parse_reply(const char *text, const char *method, const char *url,
                               cJSON **reply)
{
    *reply = zeus__http_json_parse(text);
    if (*reply != NULL)
        return ZEUS_OK;
    return zeus__fail(ZEUS_ERR_IO, "Zeus server returned a reply that is not JSON: %.*s "
                      "(%s %s)", SHOWN_BODY, text != NULL ? text : "", method, url);
}

zeus_status zeus__bso_http(const char *base_url, const char *method, const char *path,
                           const char *job_id, const char *body, int attempts, cJSON **reply)
{
    zeus__http_body got = {NULL, 0, MAX_BODY};
    char err[CURL_ERROR_SIZE] = "";
    long http = 0;
    zeus_status s;
    char *url;
    CURL *h;

    zeus__curl_init();
    if ((h = curl_easy_init()) == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "cannot create a curl handle");
    if ((url = make_url(h, base_url, path, job_id)) == NULL) {
        curl_easy_cleanup(h);
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
    }
    attempts = attempts < 1 ? 1 : attempts > ZEUS_BSO_HTTP_ATTEMPTS ? ZEUS_BSO_HTTP_ATTEMPTS : attempts;
    for (int attempt = 1; attempt <= attempts; attempt++) {
        if (attempt > 1)
            pause_before(attempt - 1);
        free(got.data);
        got = (zeus__http_body){NULL, 0, MAX_BODY};
        zeus__http_json_try(h, url, method, body, CONNECT_TIMEOUT_S, TIMEOUT_S, &got, &http, err,
                            sizeof err);
        if (http != 0 && http < 500)
            break;
    }
    if (http == 0)
        s = zeus__fail(ZEUS_ERR_IO, "cannot reach the Zeus BSO server: %s (%s %s, %d attempt%s; "
                       "is the server running at %s?)", err, method, url, attempts,
                       attempts > 1 ? "s" : "", base_url);
    else if (http < 200 || http >= 300) {
        char tries[32] = "";
        if (http >= 500)
            snprintf(tries, sizeof tries, ", after %d attempt%s", attempts, attempts > 1 ? "s" : "");
        s = zeus__fail(zeus__http_json_status(http), "Zeus server returned status code %ld: %.*s (%s %s%s)",
                       http, SHOWN_BODY, got.data ? got.data : "", method, url, tries);
    }
    else
        s = parse_reply(got.data, method, url, reply);
    free(got.data);
    free(url);
    curl_easy_cleanup(h);
    return s;
}
