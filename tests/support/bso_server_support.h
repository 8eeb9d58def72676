/*
 * bso_server_support.h - Running the real `zeus bso-server` in the integration tests: start it
 * on a free loopback port with a given database, call its routes, and check the invariants
 * of Zeus's BSO schema (spec section 3.3) in the database afterwards, SQLite or PostgreSQL.
 */
#ifndef ZEUS_TEST_BSO_SERVER_SUPPORT_H
#define ZEUS_TEST_BSO_SERVER_SUPPORT_H

#include <cjson/cJSON.h>

#include "cli_support.h"

struct zt_bso {
    struct zt_cli cli;
    int port;
    char base[64];
    char database[1024];
};

/* Start `zeus bso-server --listen 127.0.0.1:0 --database URL` and wait until it serves. */
void zt_bso_start(struct zt_bso *s, const char *database_url);
/* SIGTERM, wait (it must exit 0), free the output. */
void zt_bso_stop(struct zt_bso *s);
/* SIGKILL and reap; no status expected. */
void zt_bso_kill(struct zt_bso *s);

/* One request; returns the status (0: no answer). *out: the parsed JSON body when not NULL
 * (NULL when the body is not JSON); the caller cJSON_Deletes it. */
long zt_bso_call(const struct zt_bso *s, const char *method, const char *path, const char *body,
                 cJSON **out);

/* A job config as Zeus's tests make it (conftest.py get_fake_job_config), as JSON text
 * (malloc'd): job_id, prefix "test", batch sizes 32..4096, default 1024, beta 2, window 5,
 * mab_seed 123456, max_power 3000, 4 GPUs, A100. */
char *zt_bso_fake_job(const char *job_id);

/* GET /jobs/batch_size: status; *bs and *trial set on 200. */
long zt_bso_predict(const struct zt_bso *s, const char *job_id, int *bs, int *trial);
/* POST /report: status; *stop and *converged set on 200. */
long zt_bso_report(const struct zt_bso *s, const char *job_id, int bs, int trial, double time,
                   double energy, double metric, int epoch, int *stop, int *converged);

/*
 * Count violations of the schema's invariants in the database at `url` (sqlite:///... or
 * postgresql://...), writing each violated one's description to stderr. Checked: Dispatched
 * and Failed trials have no time, energy or converged; Failed trials have an end; Succeeded
 * trials have every field; trial numbers are 1..n per job; every trial's batch size is the
 * job's; min_cost is null exactly when no trial succeeded, and otherwise the least cost of
 * the Succeeded trials; stage MAB exactly when the job has arms; MAB trials only in MAB
 * stage; arms have observations. Returns the number of violated checks, -1 if the database
 * cannot be read.
 */
int zt_bso_check_invariants(const char *url);

/* Run a query returning one integer (count), on SQLite or PostgreSQL; -1 on failure. */
long long zt_bso_query_int(const char *url, const char *sql);

#endif /* ZEUS_TEST_BSO_SERVER_SUPPORT_H */
