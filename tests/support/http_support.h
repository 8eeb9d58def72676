/*
 * http_support.h - A plain HTTP client for the tests that talk to servers on loopback (the
 * exporter, Prometheus, the Pushgateway), over libcurl.
 */
#ifndef ZEUS_TEST_HTTP_SUPPORT_H
#define ZEUS_TEST_HTTP_SUPPORT_H

#include <cjson/cJSON.h>

/*
 * Send `method` to `url`, with `body` as the request body when not NULL, and wait at most
 * `timeout_ms` milliseconds. Returns the HTTP status, or 0 when nothing answered. With out != NULL, *out gets the
 * response body (malloc'd, NUL-terminated, "" when empty); the caller frees it.
 */
long zt_http(const char *method, const char *url, const char *body, long timeout_ms,
             char **out);

/*
 * zt_http to `base` + `path` of a JSON server (bso-server, pfo-server). Returns the status, 0
 * for no answer. With out != NULL, *out gets the parsed body (NULL when it is not JSON); the
 * caller deletes it.
 */
long zt_http_json(const char *base, const char *method, const char *path, const char *body,
                  long timeout_ms, cJSON **out);

#endif /* ZEUS_TEST_HTTP_SUPPORT_H */
