/*
 * http_json.h - One JSON request to the optimizers' servers (the batch size optimizer's and
 * Perseus's), as both of the library's clients make it: the request, the status a failed
 * reply maps to, and the reply parsed. Each client keeps its own retries, limits and messages.
 */
#ifndef ZEUS_UTIL_HTTP_JSON_H
#define ZEUS_UTIL_HTTP_JSON_H

#include <stddef.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "util/http_body.h"
#include "zeus/status.h"

/*
 * `method` `url` with `body` (JSON text; NULL for none) on handle `h`, which is reset first:
 * Content-Type application/json, no 100-continue round trip, no signals. timeout_s 0: no
 * overall limit. The reply goes to `reply`. *http is the status, or 0 when no reply came; `err`
 * then names curl's reason.
 */
void zeus__http_json_try(CURL *h, const char *url, const char *method, const char *body,
                         long connect_timeout_s, long timeout_s, zeus__http_body *reply,
                         long *http, char *err, size_t err_len);

/* What a failed reply means: 404 ZEUS_ERR_NOT_FOUND, other 4xx INVALID_ARGUMENT, else IO. */
zeus_status zeus__http_json_status(long http);

/* A successful reply's body parsed; an empty (or blank) body is a JSON null. NULL: not JSON. */
cJSON *zeus__http_json_parse(const char *text);

#endif /* ZEUS_UTIL_HTTP_JSON_H */
