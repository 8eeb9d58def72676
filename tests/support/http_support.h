/*
 * http_support.h - A plain HTTP client for the tests that talk to servers on loopback (the
 * exporter, Prometheus, the Pushgateway), over libcurl.
 */
#ifndef ZEUS_TEST_HTTP_SUPPORT_H
#define ZEUS_TEST_HTTP_SUPPORT_H

/*
 * Send `method` to `url`, with `body` as the request body when not NULL, and wait at most
 * `timeout_ms` milliseconds. Returns the HTTP status, or 0 when nothing answered. With out != NULL, *out gets the
 * response body (malloc'd, NUL-terminated, "" when empty); the caller frees it.
 */
long zt_http(const char *method, const char *url, const char *body, long timeout_ms,
             char **out);

#endif /* ZEUS_TEST_HTTP_SUPPORT_H */
