/*
 * pfo_server_support.h - Running the real `zeus pfo-server` in the tests: start it on a free
 * loopback port with ZEUS_PFO_* settings, call its routes, and read a plan file the way the
 * test's expectations need it (independently of the server's parser).
 */
#ifndef ZEUS_TEST_PFO_SERVER_SUPPORT_H
#define ZEUS_TEST_PFO_SERVER_SUPPORT_H

#include <cjson/cJSON.h>

#include "cli_support.h"

struct zt_pfo {
    struct zt_cli cli;
    int port;
    char base[64];
    char dump_dir[512];
};

/* Start `zeus pfo-server --listen 127.0.0.1:0` with ZEUS_PFO_SCHEDULER=scheduler,
 * SCHEDULER_ARGS {"solution_path": solution}, DUMP_DIR dump_dir (DUMP_DATA false when NULL),
 * MAX_JOB_IDLE_TIME idle_s (default when 0), LOG_LEVEL WARNING; waits until it serves. */
void zt_pfo_start(struct zt_pfo *s, const char *scheduler, const char *solution,
                  const char *dump_dir, long idle_s);
/* SIGTERM, wait (it must exit 0), free the output. */
void zt_pfo_stop(struct zt_pfo *s);

/* One request (60 s limit: /schedule blocks); returns the status, 0 for no answer. *out: the
 * parsed body (NULL if not JSON) when out is not NULL; the caller deletes it. */
long zt_pfo_call(const struct zt_pfo *s, const char *method, const char *path, const char *body,
                 cJSON **out);

/* POST /register_job; returns the new id (malloc'd) or fails the test. */
char *zt_pfo_register_job(const struct zt_pfo *s, int pp, int dp, int tp, const char *metadata);

/* The plan in a freqs_pipeline_%05d.py file as JSON ([[["forward", 1110], ...], ...]), made by
 * rewriting the Python text (tuples to lists, quotes, trailing commas, comments). */
cJSON *zt_pfo_plan_json(const char *path);

#endif /* ZEUS_TEST_PFO_SERVER_SUPPORT_H */
