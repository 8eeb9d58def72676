/*
 * bso_server_support.c - Starting `zeus bso-server` for the tests, calling its routes, and
 * checking Zeus's BSO schema invariants in its database (SQLite through sqlite3, PostgreSQL
 * through libpq).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bso_server_support.h"
#include "http_support.h"
#include "test_support.h"

#define HTTP_TIMEOUT_MS 20000L

void zt_bso_start(struct zt_bso *s, const char *database_url)
{

    memset(s, 0, sizeof *s);
    snprintf(s->database, sizeof s->database, "%s", database_url);
    unsetenv("http_proxy");
    unsetenv("HTTP_PROXY");
    zt_cli_start(&s->cli, "bso-server", "--listen", "127.0.0.1:0", "--database", database_url,
                 "--log-level", "WARN", NULL);
    s->port = zt_cli_served_port(&s->cli, 30);
    snprintf(s->base, sizeof s->base, "http://127.0.0.1:%d", s->port);
}

void zt_bso_stop(struct zt_bso *s)
{
    zt_cli_stop_server(&s->cli, "bso-server");
}

void zt_bso_kill(struct zt_bso *s)
{
    if (s->cli.pid > 0) {
        kill(s->cli.pid, SIGKILL);
        zt_cli_finish(&s->cli, 30);
    }
    zt_cli_free(&s->cli);
    s->cli.pid = 0;
}

long zt_bso_call(const struct zt_bso *s, const char *method, const char *path, const char *body,
                 cJSON **out)
{
    return zt_http_json(s->base, method, path, body, HTTP_TIMEOUT_MS, out);
}

char *zt_bso_fake_job(const char *job_id)
{
    char buf[1024];

    snprintf(buf, sizeof buf,
             "{\"job_id\": \"%s\", \"job_id_prefix\": \"test\", \"seed\": 1, "
             "\"default_batch_size\": 1024, \"batch_sizes\": [32, 64, 256, 512, 1024, 4096, 2048], "
             "\"eta_knob\": 0.5, \"beta_knob\": 2, \"target_metric\": 0.5, "
             "\"higher_is_better_metric\": true, \"max_epochs\": 100, \"num_pruning_rounds\": 2, "
             "\"window_size\": 5, \"mab_prior_mean\": 0, \"mab_prior_precision\": 0, "
             "\"mab_seed\": 123456, \"mab_num_explorations\": 2, \"max_power\": 3000, "
             "\"number_of_gpus\": 4, \"gpu_model\": \"A100\"}", job_id);
    return strdup(buf);
}

static int int_of(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(v) ? v->valueint : -1;
}

long zt_bso_predict(const struct zt_bso *s, const char *job_id, int *bs, int *trial)
{
    char path[600];
    cJSON *o = NULL;
    long code;

    snprintf(path, sizeof path, "/jobs/batch_size?job_id=%s", job_id);
    code = zt_bso_call(s, "GET", path, NULL, &o);
    if (code == 200) {
        *bs = int_of(o, "batch_size");
        *trial = int_of(o, "trial_number");
    }
    cJSON_Delete(o);
    return code;
}

long zt_bso_report(const struct zt_bso *s, const char *job_id, int bs, int trial, double time,
                   double energy, double metric, int epoch, int *stop, int *converged)
{
    char body[800];
    cJSON *o = NULL;
    long code;

    snprintf(body, sizeof body,
             "{\"job_id\": \"%s\", \"batch_size\": %d, \"trial_number\": %d, \"time\": %.17g, "
             "\"energy\": %.17g, \"metric\": %.17g, \"current_epoch\": %d}",
             job_id, bs, trial, time, energy, metric, epoch);
    code = zt_bso_call(s, "POST", "/report", body, &o);
    if (code == 200) {
        *stop = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "stop_train"));
        *converged = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "converged"));
    }
    cJSON_Delete(o);
    return code;
}

/* ---- The database ------------------------------------------------------------------------- */

static long long sqlite_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long long v = -1;

    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "sqlite3_open %s: %s\n", path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, 10000);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    else
        fprintf(stderr, "sqlite: %s: %s\n", sql, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static long long pg_int(const char *url, const char *sql)
{
    PGconn *c = PQconnectdb(url);
    PGresult *r;
    long long v = -1;

    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "libpq: %s", PQerrorMessage(c));
        PQfinish(c);
        return -1;
    }
    r = PQexec(c, sql);
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        v = atoll(PQgetvalue(r, 0, 0));
    else
        fprintf(stderr, "libpq: %s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    return v;
}

long long zt_bso_query_int(const char *url, const char *sql)
{
    if (strncmp(url, "sqlite:///", 10) == 0)
        return sqlite_int(url + 10, sql);
    return pg_int(url, sql);
}

static const struct {
    const char *what, *sql;
} checks[] = {
    {"Dispatched/Failed trials have no result",
     "SELECT count(*) FROM trial WHERE status IN ('Dispatched', 'Failed') AND "
     "(time IS NOT NULL OR energy IS NOT NULL OR converged IS NOT NULL)"},
    {"Failed trials have an end time",
     "SELECT count(*) FROM trial WHERE status = 'Failed' AND end_timestamp IS NULL"},
    {"Succeeded trials have every field",
     "SELECT count(*) FROM trial WHERE status = 'Succeeded' AND (end_timestamp IS NULL OR "
     "time IS NULL OR energy IS NULL OR converged IS NULL)"},
    {"trial numbers are 1..n per job",
     "SELECT count(*) FROM (SELECT job_id FROM trial GROUP BY job_id "
     "HAVING count(*) <> max(trial_number) OR min(trial_number) <> 1) x"},
    {"every trial's batch size is one of its job's",
     "SELECT count(*) FROM trial t LEFT JOIN batch_size b ON b.job_id = t.job_id AND "
     "b.batch_size = t.batch_size WHERE b.job_id IS NULL"},
    {"min_cost is null exactly when no trial succeeded",
     "SELECT count(*) FROM job j WHERE (j.min_cost IS NULL) <> (NOT EXISTS (SELECT 1 FROM trial t "
     "WHERE t.job_id = j.job_id AND t.status = 'Succeeded'))"},
    {"min_cost is the least cost of the Succeeded trials, at min_cost_batch_size",
     "SELECT count(*) FROM job j WHERE j.min_cost IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "
     "trial t WHERE t.job_id = j.job_id AND t.status = 'Succeeded' AND t.batch_size = "
     "j.min_cost_batch_size AND abs(j.eta_knob * t.energy + (1 - j.eta_knob) * j.max_power * "
     "t.time - j.min_cost) <= 1e-9 * abs(j.min_cost)) OR EXISTS (SELECT 1 FROM trial t WHERE "
     "t.job_id = j.job_id AND t.status = 'Succeeded' AND j.eta_knob * t.energy + "
     "(1 - j.eta_knob) * j.max_power * t.time < j.min_cost * (1 - 1e-9))"},
    {"stage MAB exactly when the job has arms",
     "SELECT count(*) FROM job j WHERE (j.stage = 'MAB') <> (EXISTS (SELECT 1 FROM "
     "gaussian_ts_arm_state a WHERE a.job_id = j.job_id))"},
    {"MAB trials only in MAB stage",
     "SELECT count(*) FROM trial t JOIN job j ON j.job_id = t.job_id WHERE t.type = 'MAB' AND "
     "j.stage <> 'MAB'"},
    {"arms have observations",
     "SELECT count(*) FROM gaussian_ts_arm_state WHERE num_observations < 1"},
};

int zt_bso_check_invariants(const char *url)
{
    int bad = 0;

    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        long long n = zt_bso_query_int(url, checks[i].sql);
        if (n < 0)
            return -1;
        if (n > 0) {
            fprintf(stderr, "invariant violated %lld times: %s\n", n, checks[i].what);
            bad++;
        }
    }
    return bad;
}
