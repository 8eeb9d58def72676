/*
 * pfo_server.h - The pieces of `zeus pfo-server` (Perseus, Zeus's pipeline frequency optimizer
 * server) and how they meet. The command line calls pfo_server_main; everything else is
 * internal to pfo/server/:
 *
 *   server.c        ZEUS_PFO_* settings, the listening socket, the idle cleanup, signals
 *   http.c          libmicrohttpd: a thread per connection (GET /schedule blocks), routing
 *   routes.c        the four routes: bodies in, replies out
 *   validate.c      JobInfo, RankInfo, ProfilingResult as pydantic v1 checks them (422s)
 *   coordinator.c   the jobs: registration, the per-job rendezvous of schedule requests and
 *                   profiling results, errors delivered to waiting ranks, idle eviction
 *   scheduler.c     PointSolution and PointSolution3D
 *   literal.c       the solution file (freqs_pipeline_%05d.py): a Python literal, parsed
 *   dump.c          ranks.json, <n>.prof.json, <n>.sched.json
 *
 * Replies and the 422 problem list are bso/server's (bso_reply, bso_problems): one copy of
 * FastAPI's shapes for both servers.
 */
#ifndef PFO_SERVER_H
#define PFO_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "bso_server.h"

/* `zeus pfo-server [--listen ADDR:PORT]`; settings from ZEUS_PFO_*. Returns the exit status
 * (0 after SIGINT/SIGTERM, 1 on failure to start, 2 on a usage or settings error). */
int pfo_server_main(int argc, char **argv);

/* ---- Errors ----------------------------------------------------------------------------------- */

/* A failure to hand to every waiting rank: Zeus answers a ValueError with 400 and any other
 * exception with 500, the detail being the formatted traceback. Here the detail is the
 * traceback's last line, "<ExceptionType>: <message>". */
typedef struct pfo_error {
    unsigned http; /* 0: no error */
    char detail[1024];
} pfo_error;

void pfo_fail(pfo_error *e, unsigned http, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- Data --------------------------------------------------------------------------------------- */

/* One rank's frequency list for one iteration: (instruction, MHz) in order. */
typedef struct pfo_freqs {
    size_t count;
    char **names;
    long *mhz;
} pfo_freqs;

/* A solution file: one pfo_freqs per rank (PointSolution) or stage (PointSolution3D). */
typedef struct pfo_plan {
    size_t count;
    pfo_freqs *ranks;
} pfo_plan;

typedef struct pfo_job_info {
    int pp_degree, dp_degree, tp_degree, world_size;
    char *job_metadata; /* NULL: none */
} pfo_job_info;

typedef struct pfo_rank_info {
    int rank, dp_rank, pp_rank, tp_rank;
    long *freqs; /* available_frequencies */
    size_t freq_count;
} pfo_rank_info;

/* ProfilingResult: the body is kept as received (parsed) for the dump; rank is read out. */
typedef struct pfo_result {
    int rank;
    cJSON *body; /* owned; the validated object with the defaults filled in */
} pfo_result;

void pfo_freqs_free(pfo_freqs *f);
void pfo_plan_free(pfo_plan *p);
void pfo_rank_info_free(pfo_rank_info *r);

/* ---- Solution files (literal.c) ------------------------------------------------------------- */

/*
 * Parse `text`, a Python literal list of lists of (str, int) tuples, into *plan. Returns true,
 * or false with *e set: a text that is not a literal of lists, tuples, strings and numbers is
 * Python's SyntaxError (500); a literal of the wrong shape is pydantic's ValidationError, a
 * ValueError (400), as FrequencySchedule(frequencies=...) raises it.
 */
bool pfo_parse_plan(const char *text, pfo_plan *plan, pfo_error *e);

/* ---- Schedulers (scheduler.c) -------------------------------------------------------------- */

typedef enum pfo_scheduler_kind {
    PFO_POINT_SOLUTION = 0,
    PFO_POINT_SOLUTION_3D = 1,
} pfo_scheduler_kind;

typedef struct pfo_settings {
    pfo_scheduler_kind scheduler;
    char *solution_path; /* SCHEDULER_ARGS' solution_path */
    bool log_debug;      /* LOG_LEVEL at DEBUG or below: every request and reply logged */
    bool dump_data;
    char *dump_dir;
    long max_job_idle_s;
} pfo_settings;

const char *pfo_scheduler_name(pfo_scheduler_kind kind);

typedef struct pfo_scheduler pfo_scheduler;

/* The scheduler for a job whose ranks (sorted, 0..world_size-1) all registered. NULL with *e
 * set when the solution file is missing, not .py, unreadable, malformed or sized wrong. */
pfo_scheduler *pfo_scheduler_create(const pfo_settings *s, const pfo_job_info *job,
                                    const pfo_rank_info *ranks, pfo_error *e);
/* The schedule of every rank for the next round: out[r] for rank r (world_size entries),
 * pointing into the scheduler (valid until it is destroyed). */
bool pfo_scheduler_next(pfo_scheduler *s, const pfo_freqs **out, pfo_error *e);
/* The round's results, sorted by rank. */
bool pfo_scheduler_observe(pfo_scheduler *s, const pfo_result *results, size_t n, pfo_error *e);
void pfo_scheduler_destroy(pfo_scheduler *s);

/* ---- Dumps (dump.c) --------------------------------------------------------------------------- */

/* <dir>/<job_id>/ranks.json, <n>.prof.json and <n>.sched.json, as pydantic's .json() writes
 * them. false with *e set (500) when a file cannot be written. */
bool pfo_dump_ranks(const char *dir, const char *job_id, const pfo_rank_info *ranks, size_t n,
                    pfo_error *e);
bool pfo_dump_round(const char *dir, const char *job_id, unsigned round,
                    const pfo_result *results, const pfo_freqs *const *scheds, size_t n,
                    pfo_error *e);

/* FrequencySchedule {"rank": r, "frequencies": [["forward", 1740], ...]}. */
cJSON *pfo_schedule_json(int rank, const pfo_freqs *f);
/* Python's json.dumps(obj) text (", " and ": " separators, floats as repr), malloc'd. */
char *pfo_json_python(const cJSON *obj);

/* ---- Validation (validate.c) ---------------------------------------------------------------- */

bool pfo_validate_job_info(const cJSON *root, pfo_job_info *out, bso_problems *p);
bool pfo_validate_rank_info(const cJSON *root, pfo_rank_info *out, bso_problems *p);
/* Takes nothing from root; out->body is a new object (with time/energy_breakdown defaulted). */
bool pfo_validate_result(const cJSON *root, pfo_result *out, bso_problems *p);
/* The query's rank: true with *rank, or false with FastAPI's 422 problem listed. */
bool pfo_validate_query_rank(const char *text, int *rank, bso_problems *p);

/* ---- The coordinator (coordinator.c) ------------------------------------------------------- */

/* Configure once before serving (the settings must outlive the server). */
void pfo_coordinator_init(const pfo_settings *s);
/* Wake every waiting request (answered 503) and forget every job: the server is stopping. */
void pfo_coordinator_shutdown(void);
/* Free every job, once the HTTP server has stopped. */
void pfo_coordinator_fini(void);
/* Evict jobs idle longer than the settings allow; returns how many. */
size_t pfo_coordinator_evict_idle(void);

/* The routes' work. They take ownership of the infos/results passed. */
void pfo_register_job(pfo_job_info *info, bso_reply *out);
void pfo_register_rank(const char *job_id, pfo_rank_info *info, bso_reply *out);
void pfo_get_schedule(const char *job_id, int rank, bso_reply *out); /* blocks */
void pfo_report_result(const char *job_id, pfo_result *result, bso_reply *out);

/* {"detail": message}, FastAPI's HTTPException body. */
void pfo_reply_detail(bso_reply *out, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- Routes and HTTP (routes.c, http.c) ---------------------------------------------------- */

/* Route one complete request (url already unescaped by MHD; query: the rank parameter or
 * NULL when absent). */
void pfo_route(const char *method, const char *url, const char *rank_query,
               const char *body, size_t len, bso_reply *out);

typedef struct pfo_http pfo_http;
pfo_http *pfo_http_start(int listen_fd, bool log_debug);
void pfo_http_stop(pfo_http *h);

#endif /* PFO_SERVER_H */
