/*
 * pfo_http.c - The Perseus client's HTTP exchange with its server (libcurl), one try each.
 *
 * The job id goes into the URL path escaped ('+' as %2B), which both Zeus's server (Starlette
 * unescapes the path) and `zeus pfo-server` (libmicrohttpd does) read back as '+'.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "optimizer/pfo_http.h"
#include "util/error.h"
#include "util/http_json.h"

#define MAX_BODY (16u << 20)
#define CONNECT_TIMEOUT_S 10L
#define TIMEOUT_S 60L
#define SHOWN_BODY 1500 /* characters of a reply quoted in an error: a scheduler's detail */

static char *make_url(CURL *h, const char *base, const char *path, const char *arg,
                      const char *query)
{
    char *esc = arg != NULL ? curl_easy_escape(h, arg, 0) : NULL;
    size_t len = strlen(base) + strlen(path) + (esc ? strlen(esc) : 0) +
                 (query ? strlen(query) + 1 : 0) + 1;
    char *url = malloc(len);

    if (url != NULL)
        snprintf(url, len, "%s%s%s%s%s", base, path, esc ? esc : "", query ? "?" : "",
                 query ? query : "");
    curl_free(esc);
    return url;
}

zeus_status zeus__pfo_http(const char *base_url, const char *method, const char *path,
                           const char *path_arg, const char *query, const char *body,
                           int wait_forever, cJSON **reply)
{
    zeus__http_body got = {NULL, 0, MAX_BODY};
    char err[CURL_ERROR_SIZE] = "";
    long http = 0;
    zeus_status s;
    char *url;
    CURL *h;

    if (zeus__curl_init() != 0 || (h = curl_easy_init()) == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "cannot create a curl handle");
    if ((url = make_url(h, base_url, path, path_arg, query)) == NULL) {
        curl_easy_cleanup(h);
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
    }
    zeus__http_json_try(h, url, method, body, CONNECT_TIMEOUT_S, wait_forever ? 0L : TIMEOUT_S,
                        &got, &http, err, sizeof err);
    if (http == 0) {
        s = zeus__fail(ZEUS_ERR_IO, "cannot reach the PFO server: %s (%s %s; is the server "
                       "running at %s?)", err, method, url, base_url);
    } else if (http != 200) {
        s = zeus__fail(zeus__http_json_status(http), "PFO server returned status code %ld: %.*s "
                       "(%s %s)", http, SHOWN_BODY, got.data ? got.data : "", method, url);
    } else {
        *reply = zeus__http_json_parse(got.data);
        s = *reply != NULL ? ZEUS_OK
                           : zeus__fail(ZEUS_ERR_IO, "PFO server returned a reply that is not "
                                        "JSON: %.*s (%s %s)", SHOWN_BODY,
                                        got.data ? got.data : "", method, url);
    }
    free(got.data);
    free(url);
    curl_easy_cleanup(h);
    return s;
}
