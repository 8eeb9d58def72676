/*
 * bso_server.h - The pieces of `zeus bso-server` (Zeus's batch size optimizer HTTP server) and
 * how they meet. The command line calls bso_server_main; everything else is internal to
 * bso/server/:
 *
 *   server.c        options, the listening socket, signals, start and stop
 *   http.c          libmicrohttpd: bodies with a size cap, routing, JSON replies, the log line
 *   validate.c      request bodies into bso_spec / bso_result / trial ids, or pydantic v1's
 *                   422 {"detail": [...]} (FastAPI's shape, Zeus's validator messages)
 *   transact.c      one database connection per worker thread, and the transaction around
 *                   each request (begin, work, commit; rollback on error; retry when busy)
 *   routes_jobs.c   POST /jobs (register), DELETE /jobs, GET /jobs/batch_size (predict)
 *   routes_trials.c POST /report, PATCH /trials (end trial)
 *   reply.c         the JSON bodies every route answers with
 */
#ifndef BSO_SERVER_H
#define BSO_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "../core/bso_core.h"
#include "store.h"

/* `zeus bso-server [--listen ADDR:PORT] [--database URL] [--log-level LEVEL]`. Returns the
 * process exit status (0 after SIGINT/SIGTERM, 1 on failure to start, 2 on a usage error). */
int bso_server_main(int argc, char **argv);

/* ---- Replies (reply.c) ---------------------------------------------------------------------- */

/* What a route answers: an HTTP status and a JSON body (malloc'd text, owned by the reply). */
typedef struct bso_reply {
    unsigned status;
    char *body;
} bso_reply;

void bso_reply_json(bso_reply *r, unsigned status, cJSON *body); /* takes and frees body */
void bso_reply_message(bso_reply *r, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));                  /* {"message": ...} */
void bso_reply_null(bso_reply *r, unsigned status);          /* the JSON null */
void bso_reply_error(bso_reply *r, const bso_error *err);   /* a core error */
void bso_reply_clear(bso_reply *r);                          /* frees the body */

/* ---- Validation (validate.c) ------------------------------------------------------------------ */

/* Pydantic v1's error list under construction: [{"loc": [...], "msg": ..., "type": ...}]. */
typedef struct bso_problems {
    cJSON *detail; /* array; empty when the input is valid */
} bso_problems;

void bso_problems_init(bso_problems *p);
bool bso_problems_any(const bso_problems *p);
/* 422 {"detail": [...]}: hands the list to the reply. */
void bso_problems_reply(bso_problems *p, bso_reply *r);
void bso_problems_free(bso_problems *p);
/* One problem. loc_field NULL: loc ["body"]; index >= 0 appends a list index to the loc. */
void bso_problem(bso_problems *p, const char *where, const char *loc_field, int index,
                 const char *type, const char *msg);

/* Parse a request body: the root object, or NULL with the problem recorded (bad JSON, not
 * an object, empty body). */
cJSON *bso_parse_body(const char *body, size_t len, bso_problems *p);

/* JobSpecFromClient: the spec (batch_sizes malloc'd, sorted; free with bso_spec_free) and
 * whether job_id was given. Returns true when valid; otherwise *p holds every problem. */
bool bso_validate_spec(const cJSON *root, bso_spec *spec, bool *has_job_id, bso_problems *p);
void bso_spec_free(bso_spec *spec);

/* TrainingResult (POST /report): finite, non-negative time and energy, finite metric. */
bool bso_validate_result(const cJSON *root, char *job_id, bso_result *r, bso_problems *p);

/* TrialId (PATCH /trials). */
bool bso_validate_trial_id(const cJSON *root, char *job_id, int *batch_size, int *trial_number,
                           bso_problems *p);

/* The spec as Zeus echoes it (JobSpecFromClient's fields). */
cJSON *bso_spec_to_json(const bso_spec *spec);

/* ---- Transactions (transact.c) ---------------------------------------------------------------- */

/*
 * A route's work inside one transaction on `s`. Returns BSO_STORE_OK with *out filled (a
 * status below 300 commits, any other rolls back and is answered as is), BSO_STORE_BUSY to
 * have the whole transaction retried, or BSO_STORE_ERROR (answered 500 with the store's
 * message). *out is cleared between attempts.
 */
typedef bso_store_status (*bso_work_fn)(bso_store *s, void *ctx, bso_reply *out);

/* The database URL every worker opens; set once before the HTTP server starts. */
void bso_transact_configure(const char *database_url);
/* Run `work` in a transaction on this thread's connection (opened on first use). */
void bso_transact(bso_work_fn work, void *ctx, bso_reply *out);
/* Close this thread's connection (server shutdown; each worker's also closes at thread exit). */
void bso_transact_release(void);

/* ---- Routes (routes_jobs.c, routes_trials.c) -------------------------------------------------- */

void bso_route_register(const char *body, size_t len, bso_reply *out);
void bso_route_delete(const char *job_id, bso_reply *out);   /* job_id NULL: missing */
void bso_route_predict(const char *job_id, bso_reply *out);  /* job_id NULL: missing */
void bso_route_report(const char *body, size_t len, bso_reply *out);
void bso_route_end_trial(const char *body, size_t len, bso_reply *out);

/* ---- HTTP (http.c) --------------------------------------------------------------------------- */

typedef struct bso_http bso_http;
/* Serve on `listen_fd` (taken in every case: MHD closes it on stop and on a failed start).
 * log_requests: one line per request on stderr. Returns NULL when MHD cannot start. */
bso_http *bso_http_start(int listen_fd, bool log_requests);
void bso_http_stop(bso_http *h);

/* Can a job with this id exist (1 to BSO_JOB_ID_MAX characters)? Ids that cannot are
 * answered as unknown jobs without asking the database, which refuses them. */
bool bso_job_id_possible(const char *job_id);

/* Wall clock, Unix seconds with a fraction (trial timestamps, generated ids). */
double bso_now(void);

#endif /* BSO_SERVER_H */
