/*
 * bso_http.h - One exchange with a batch size optimizer server: a JSON request, bounded
 * retries, and Zeus's error message for a reply that is not 2xx.
 */
#ifndef ZEUS_OPTIMIZER_BSO_HTTP_H
#define ZEUS_OPTIMIZER_BSO_HTTP_H

#include <cjson/cJSON.h>

#include "zeus/status.h"

/* Tries per request when the server cannot be reached or answers 5xx. */
#define ZEUS_BSO_HTTP_ATTEMPTS 3

/*
 * `method` base_url + path, with "?job_id=<escaped>" when job_id is not NULL and `body` (JSON
 * text) when not NULL, tried at most `attempts` times (ZEUS_BSO_HTTP_ATTEMPTS; 1 at exit). On ZEUS_OK *reply is the parsed 2xx body (a cJSON null for "null" or
 * an empty body), freed with cJSON_Delete. A transport failure or a 5xx is retried, then
 * ZEUS_ERR_IO; a 4xx is ZEUS_ERR_INVALID_ARGUMENT (404: ZEUS_ERR_NOT_FOUND); a 2xx body that is
 * not JSON is ZEUS_ERR_IO. The detail is Zeus's "Zeus server returned status code <code>:
 * <body>" followed by the method and URL.
 */
zeus_status zeus__bso_http(const char *base_url, const char *method, const char *path,
                           const char *job_id, const char *body, int attempts, cJSON **reply);

#endif /* ZEUS_OPTIMIZER_BSO_HTTP_H */
