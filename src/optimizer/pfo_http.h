/*
 * pfo_http.h - One exchange with a Perseus (pipeline frequency optimizer) server.
 */
#ifndef ZEUS_OPTIMIZER_PFO_HTTP_H
#define ZEUS_OPTIMIZER_PFO_HTTP_H

#include <cjson/cJSON.h>

#include "zeus/status.h"

/*
 * `method` base_url + path [+ escaped path_arg] [+ query], with `body` (JSON text) when not
 * NULL, tried once: Zeus's client does not retry, and a repeated POST /register_job would
 * register a second job. wait_forever: no overall time limit (GET /schedule blocks until every
 * rank asked). On ZEUS_OK *reply is the parsed 200 body (a cJSON null for an empty body).
 * Anything else than 200 is Zeus's "PFO server returned status code <code>: <body>": 404
 * ZEUS_ERR_NOT_FOUND, other 4xx ZEUS_ERR_INVALID_ARGUMENT, 5xx and transport failures
 * ZEUS_ERR_IO.
 */
zeus_status zeus__pfo_http(const char *base_url, const char *method, const char *path,
                           const char *path_arg, const char *query, const char *body,
                           int wait_forever, cJSON **reply);

#endif /* ZEUS_OPTIMIZER_PFO_HTTP_H */
