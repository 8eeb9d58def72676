/*
 * rate_http.h - The one GET the network rate providers (ElectricityMaps, OpenEI) make.
 */
#ifndef ZEUS_RATE_HTTP_H
#define ZEUS_RATE_HTTP_H

#include <stddef.h>

#include "zeus/status.h"

/* How a GET is bounded. Defaults: connect 5 s, 10 s in all per try, 3 tries, 0.5 s backoff
 * doubling, 8 MiB of body. ZEUS_RATE_HTTP_TIMEOUT_S replaces the 10 s (tests, slow links). */
typedef struct zeus__rate_http_limits {
    double connect_timeout_s;
    double timeout_s;
    int attempts;
    double backoff_s;
    size_t max_body;
} zeus__rate_http_limits;

/* The limits now in force (defaults, the env override, then any set below). */
zeus__rate_http_limits zeus__rate_http_get_limits(void);

/* Replace the limits for every later GET in the process (tests); NULL restores the defaults. */
void zeus__rate_http_set_limits(const zeus__rate_http_limits *limits);

/*
 * GET `url` with the extra `headers` ("Name: value", NULL-terminated; may be NULL).
 * 429, 5xx and timeouts are tried again after a pause; other answers are final. On ZEUS_OK
 * *body is the malloc'd NUL-terminated 2xx body. Otherwise ZEUS_ERR_PROVIDER_HTTP with
 * zeus_last_error() naming `who`, the URL without its query (which may hold an API key), the
 * HTTP status or curl's reason and the start of the body; *http gets the last status (0: no
 * answer). `http` may be NULL.
 */
zeus_status zeus__rate_http_get(const char *who, const char *url, const char *const *headers,
                                char **body, long *http);

#endif /* ZEUS_RATE_HTTP_H */
