/*
 * test_bso_server.c - Zeus's BSO server conformance list (spec section 3.9, ported from Zeus's
 * tests/optimizer/batch_size/test_server.py) against the real `zeus bso-server` over HTTP on
 * loopback, with a SQLite database in a temporary folder, and again with PostgreSQL when the
 * test can start a cluster of its own:
 *   register 201/200/409 and the 422s; predict (default first, Concurrent while dispatched);
 *   report (converged; early stop past beta x min cost); the exploration walk down then up
 *   over two rounds with interleaved concurrent predicts, ending in MAB stage; 50 MAB
 *   cycles; end trial; delete; the unknown-job and unknown-trial statuses and messages; the
 *   schema's invariants in the database after all of it; tables and the schema version
 *   created on first start, and the jobs still there after a restart; the command line
 *   (--help, bad options, a port in use, an unusable database, the database from
 *   ZEUS_BSO_DATABASE_URL, one log line per request at INFO).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>

#include "bso_server_support.h"
#include "test_support.h"

#include "pg_cluster.h"

struct fixture {
    struct zt_bso server;
    char *dir;
    char url[1100];
};

static const char *message_of(const cJSON *o)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "message");
    return cJSON_IsString(m) ? m->valuestring : "";
}

static struct zt_bso *srv(void **state)
{
    return &((struct fixture *)*state)->server;
}

/* ---- Register ----------------------------------------------------------------------------- */

static void test_register_job(void **state)
{
    struct zt_bso *s = srv(state);
    char *job = zt_bso_fake_job("test_register_job"), *p;
    cJSON *o = NULL;

    assert_int_equal(zt_bso_call(s, "POST", "/jobs", job, &o), 201);
    /* the body echoes the spec with the job id, batch sizes sorted */
    assert_string_equal(cJSON_GetObjectItem(o, "job_id")->valuestring, "test_register_job");
    assert_int_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "batch_sizes"), 6)->valueint, 4096);
    assert_int_equal(cJSON_GetObjectItem(o, "max_power")->valueint, 3000);
    cJSON_Delete(o);
    assert_int_equal(zt_bso_call(s, "POST", "/jobs", job, NULL), 200);
    p = strstr(job, "\"default_batch_size\": 1024");
    memcpy(p, "\"default_batch_size\":  512", strlen("\"default_batch_size\": 1024"));
    assert_int_equal(zt_bso_call(s, "POST", "/jobs", job, &o), 409);
    assert_string_equal(message_of(o), "JobSpec doesn't match with existing jobSpec. Use a new "
                                       "job_id for different configuration");
    cJSON_Delete(o);
    free(job);
    /* every field is compared, the GPU ones too */
    job = zt_bso_fake_job("test_register_job");
    p = strstr(job, "\"A100\"");
    memcpy(p, "\"H100\"", 6);
    assert_int_equal(zt_bso_call(s, "POST", "/jobs", job, NULL), 409);
    free(job);
}

static void test_register_generates_ids(void **state)
{
    struct zt_bso *s = srv(state);
    const char *body = "{\"job_id_prefix\": \"gen\", \"batch_sizes\": [8, 16], "
                       "\"default_batch_size\": 8, \"max_power\": 300, \"number_of_gpus\": 1, "
                       "\"gpu_model\": \"V100\"}";
    cJSON *a = NULL, *b = NULL;
    const char *ida, *idb;

    assert_int_equal(zt_bso_call(s, "POST", "/jobs", body, &a), 201);
    assert_int_equal(zt_bso_call(s, "POST", "/jobs", body, &b), 201);
    ida = cJSON_GetObjectItem(a, "job_id")->valuestring;
    idb = cJSON_GetObjectItem(b, "job_id")->valuestring;
    /* "<prefix>-<8 hex>" and unique */
    assert_int_equal(strlen(ida), strlen("gen-") + 8);
    assert_memory_equal(ida, "gen-", 4);
    assert_int_equal(strspn(ida + 4, "0123456789abcdef"), 8);
    assert_string_not_equal(ida, idb);
    cJSON_Delete(a);
    cJSON_Delete(b);
}

static void expect_422(struct zt_bso *s, const char *field, const char *value, const char *loc)
{
    char *job = zt_bso_fake_job("test_register_job_validation_error");
    char body[1200], needle[64], *p, *end;
    cJSON *o = NULL, *d;

    /* replace `"field": <old>` with `"field": value` */
    snprintf(needle, sizeof needle, "\"%s\": ", field);
    p = strstr(job, needle);
    assert_non_null(p);
    p += strlen(needle);
    end = p[0] == '[' ? strchr(p, ']') + 1 : p + strcspn(p, ",}");
    snprintf(body, sizeof body, "%.*s%s%s", (int)(p - job), job, value, end);
    assert_int_equal(zt_bso_call(s, "POST", "/jobs", body, &o), 422);
    d = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "detail"), 0);
    assert_non_null(d);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(d, "loc"), 1)->valuestring, loc);
    assert_true(cJSON_IsString(cJSON_GetObjectItem(d, "msg")));
    assert_true(cJSON_IsString(cJSON_GetObjectItem(d, "type")));
    cJSON_Delete(o);
    free(job);
}

static void test_register_job_validation_error(void **state)
{
    struct zt_bso *s = srv(state);

    expect_422(s, "default_batch_size", "128", "__root__");
    expect_422(s, "default_batch_size", "0", "default_batch_size");
    expect_422(s, "max_epochs", "0", "max_epochs");
    expect_422(s, "batch_sizes", "[]", "batch_sizes");
    expect_422(s, "eta_knob", "1.1", "eta_knob");
    expect_422(s, "beta_knob", "0", "beta_knob");
    /* nothing of them was stored */
    assert_int_equal(zt_bso_call(s, "DELETE", "/jobs?job_id=test_register_job_validation_error",
                                 NULL, NULL), 404);
}

/* ---- Predict, report ---------------------------------------------------------------------- */

static void register_fake(struct zt_bso *s, const char *job_id)
{
    char *job = zt_bso_fake_job(job_id);
    assert_int_equal(zt_bso_call(s, "POST", "/jobs", job, NULL), 201);
    free(job);
}

static void test_predict(void **state)
{
    struct zt_bso *s = srv(state);
    int bs = 0, trial = 0;

    register_fake(s, "test_predict");
    assert_int_equal(zt_bso_predict(s, "test_predict", &bs, &trial), 200);
    assert_int_equal(bs, 1024);
    assert_int_equal(trial, 1);
    /* trial 1 still dispatched: a Concurrent trial with the min-cost (default) batch size */
    assert_int_equal(zt_bso_predict(s, "test_predict", &bs, &trial), 200);
    assert_int_equal(bs, 1024);
    assert_int_equal(trial, 2);
    assert_int_equal(zt_bso_query_int(((struct fixture *)*state)->url,
                                      "SELECT count(*) FROM trial WHERE job_id = 'test_predict' "
                                      "AND type = 'Concurrent' AND trial_number = 2"), 1);
}

static void test_report(void **state)
{
    struct zt_bso *s = srv(state);
    int bs, trial, stop = 0, conv = 0;

    register_fake(s, "test_report");
    assert_int_equal(zt_bso_predict(s, "test_report", &bs, &trial), 200);
    assert_int_equal(zt_bso_report(s, "test_report", bs, trial, 14.438, 3000.123, 0.55, 98,
                                   &stop, &conv), 200);
    assert_true(stop && conv);
    assert_int_equal(zt_bso_predict(s, "test_report", &bs, &trial), 200);
    /* early stop: more than beta (2) x the min cost */
    assert_int_equal(zt_bso_report(s, "test_report", bs, trial, 30, 6000, 0.55, 98, &stop,
                                   &conv), 200);
    assert_true(stop);
    assert_false(conv);
}

static void test_report_keep_training_and_already_reported(void **state)
{
    struct zt_bso *s = srv(state);
    int bs, trial, stop = 1, conv = 1;
    char body[300];
    cJSON *o = NULL;

    register_fake(s, "test_report_again");
    assert_int_equal(zt_bso_predict(s, "test_report_again", &bs, &trial), 200);
    snprintf(body, sizeof body, "{\"job_id\": \"test_report_again\", \"batch_size\": %d, "
             "\"trial_number\": %d, \"time\": 1, \"energy\": 10, \"metric\": 0.1, "
             "\"current_epoch\": 1}", bs, trial);
    assert_int_equal(zt_bso_call(s, "POST", "/report", body, &o), 200);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(o, "stop_train")));
    assert_string_equal(message_of(o), "Stop condition not met, keep training");
    cJSON_Delete(o);
    assert_int_equal(zt_bso_report(s, "test_report_again", bs, trial, 5, 50, 0.9, 2, &stop,
                                   &conv), 200);
    assert_true(stop && conv);
    assert_int_equal(zt_bso_call(s, "POST", "/report", body, &o), 200);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "stop_train")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "converged")));
    assert_non_null(strstr(message_of(o), "is already reported."));
    cJSON_Delete(o);
}

/* ---- Exploration and MAB ------------------------------------------------------------------ */

static double cost_of(double time, double energy)
{
    return 0.5 * energy + 0.5 * 3000 * time;
}

/* Zeus's test_exploration_stage with the random convergence drawn from `seed`: the server
 * walks down from the default, then up, stopping a direction at the first run that did not
 * converge; round 2 starts from the cheapest (512). A concurrent predict after each gives
 * the min-cost batch size. */
static void exploration_walk(struct zt_bso *s, const char *job_id, unsigned seed)
{
    int bss[7] = {32, 64, 256, 512, 1024, 2048, 4096}, n = 7, def = 1024;
    int trial_number = 1, min_bs = 1024, bs, trial, stop, conv;
    double min_cost = INFINITY;

    register_fake(s, job_id);
    for (int round = 1; round <= 2; round++) {
        int next[7], nn = 0, idx = 0, order[7], no = 0, ndown;
        while (bss[idx] != def)
            idx++;
        for (int i = idx; i >= 0; i--)
            order[no++] = bss[i];
        ndown = no;
        for (int i = idx + 1; i < n; i++)
            order[no++] = bss[i];
        for (int i = 0; i < no; i++) {
            int want = order[i], converged;
            double time = 14.438;
            assert_int_equal(zt_bso_predict(s, job_id, &bs, &trial), 200);
            assert_int_equal(bs, want);
            assert_int_equal(trial, trial_number++);
            assert_int_equal(zt_bso_predict(s, job_id, &bs, &trial), 200);
            assert_int_equal(bs, min_bs);
            assert_int_equal(trial, trial_number++);
            converged = rand_r(&seed) % 3 != 0;
            if (want == 1024)
                converged = 1;
            if (want == 512) {
                converged = 1;
                time = 12;
            }
            if (converged)
                next[nn++] = want;
            assert_int_equal(zt_bso_report(s, job_id, want, trial_number - 2, time, 3000.123,
                                           converged ? 0.55 : 0.33, converged ? 98 : 100, &stop,
                                           &conv), 200);
            assert_true(stop);
            assert_int_equal(conv, converged);
            if (cost_of(time, 3000.123) < min_cost) {
                min_cost = cost_of(time, 3000.123);
                min_bs = want;
            }
            if (!converged) {
                if (i < ndown)
                    i = ndown - 1; /* on to the up direction */
                else
                    break;
            }
        }
        for (int i = 1; i < nn; i++) /* sort */
            for (int j = i; j > 0 && next[j] < next[j - 1]; j--) {
                int t = next[j];
                next[j] = next[j - 1];
                next[j - 1] = t;
            }
        memcpy(bss, next, sizeof next);
        n = nn;
        def = 512;
    }
    /* explored: the next predict builds the bandit and draws a MAB trial from the survivors */
    assert_int_equal(zt_bso_predict(s, job_id, &bs, &trial), 200);
    assert_int_equal(trial, trial_number);
    {
        int found = 0;
        for (int i = 0; i < n; i++)
            found = found || bss[i] == bs;
        assert_true(found);
    }
}

static void test_exploration_stage(void **state)
{
    struct fixture *f = *state;
    char sql[300];

    exploration_walk(&f->server, "test_exploration_stage", 1);
    exploration_walk(&f->server, "test_exploration_stage2", 7);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM job WHERE job_id LIKE "
             "'test_exploration_stage%%' AND stage = 'MAB'");
    assert_int_equal(zt_bso_query_int(f->url, sql), 2);
}

static void test_mab_stage(void **state)
{
    struct zt_bso *s = srv(state);
    int bs, trial, other, other_trial, stop, conv;

    register_fake(s, "test_mab_stage");
    for (int i = 0; i < 50; i++) {
        assert_int_equal(zt_bso_predict(s, "test_mab_stage", &bs, &trial), 200);
        assert_int_equal(zt_bso_predict(s, "test_mab_stage", &other, &other_trial), 200);
        assert_int_equal(other_trial, trial + 1);
        assert_int_equal(zt_bso_report(s, "test_mab_stage", bs, trial, 15.123, 3000.123, 0.55, 98,
                                       &stop, &conv), 200);
        assert_true(stop && conv);
    }
}

/* ---- End trial, delete, unknowns ---------------------------------------------------------- */

static void test_end_trial(void **state)
{
    struct fixture *f = *state;
    struct zt_bso *s = &f->server;
    int bs, trial, stop, conv;
    char body[200];
    cJSON *o = NULL;

    register_fake(s, "test_end_trial");
    assert_int_equal(zt_bso_predict(s, "test_end_trial", &bs, &trial), 200);
    snprintf(body, sizeof body, "{\"job_id\": \"test_end_trial\", \"batch_size\": %d, "
             "\"trial_number\": %d}", bs, trial);
    assert_int_equal(zt_bso_call(s, "PATCH", "/trials", body, &o), 200);
    assert_true(cJSON_IsNull(o));
    cJSON_Delete(o);
    assert_int_equal(zt_bso_query_int(f->url, "SELECT count(*) FROM trial WHERE job_id = "
                                      "'test_end_trial' AND trial_number = 1 AND status = "
                                      "'Failed' AND end_timestamp IS NOT NULL"), 1);
    /* a Failed trial reported later: 400 */
    assert_int_equal(zt_bso_report(s, "test_end_trial", bs, trial, 1, 1, 0.9, 1, &stop, &conv),
                     400);
    assert_int_equal(zt_bso_predict(s, "test_end_trial", &bs, &trial), 200);
    assert_int_equal(zt_bso_report(s, "test_end_trial", bs, trial, 15.123, 3000.123, 0.55, 98,
                                   &stop, &conv), 200);
    snprintf(body, sizeof body, "{\"job_id\": \"test_end_trial\", \"batch_size\": %d, "
             "\"trial_number\": %d}", bs, trial);
    assert_int_equal(zt_bso_call(s, "PATCH", "/trials", body, NULL), 200);
    /* left Succeeded */
    assert_int_equal(zt_bso_query_int(f->url, "SELECT count(*) FROM trial WHERE job_id = "
                                      "'test_end_trial' AND trial_number = 2 AND status = "
                                      "'Succeeded'"), 1);
    /* unknown trial and unknown job: 404 with Zeus's message */
    assert_int_equal(zt_bso_call(s, "PATCH", "/trials", "{\"job_id\": \"test_end_trial\", "
                                 "\"batch_size\": 1024, \"trial_number\": 99}", &o), 404);
    assert_string_equal(message_of(o), "Could not find the trial: job_id='test_end_trial' "
                                       "batch_size=1024 trial_number=99");
    cJSON_Delete(o);
    assert_int_equal(zt_bso_call(s, "PATCH", "/trials", "{\"job_id\": \"nope\", "
                                 "\"batch_size\": 1, \"trial_number\": 1}", &o), 404);
    assert_string_equal(message_of(o), "Could not find the trial: job_id='nope' batch_size=1 "
                                       "trial_number=1");
    cJSON_Delete(o);
}

static void test_delete_job(void **state)
{
    struct fixture *f = *state;
    struct zt_bso *s = &f->server;
    int bs, trial, stop, conv;
    cJSON *o = NULL;

    register_fake(s, "test_delete_job");
    assert_int_equal(zt_bso_predict(s, "test_delete_job", &bs, &trial), 200);
    assert_int_equal(zt_bso_report(s, "test_delete_job", bs, trial, 15, 3000, 0.55, 98, &stop,
                                   &conv), 200);
    assert_int_equal(zt_bso_call(s, "DELETE", "/jobs?job_id=test_delete_job", NULL, &o), 200);
    assert_true(cJSON_IsNull(o));
    cJSON_Delete(o);
    /* its rows went with it */
    assert_int_equal(zt_bso_query_int(f->url, "SELECT count(*) FROM trial WHERE job_id = "
                                      "'test_delete_job'"), 0);
    assert_int_equal(zt_bso_query_int(f->url, "SELECT count(*) FROM batch_size WHERE job_id = "
                                      "'test_delete_job'"), 0);
    register_fake(s, "test_delete_job");
    assert_int_equal(zt_bso_call(s, "DELETE", "/jobs?job_id=test_delete_job", NULL, NULL), 200);
    assert_int_equal(zt_bso_call(s, "DELETE", "/jobs?job_id=UNKNOWN", NULL, &o), 404);
    assert_string_equal(message_of(o), "No job was deleted.");
    cJSON_Delete(o);
}

static void test_unknown_jobs(void **state)
{
    struct zt_bso *s = srv(state);
    int bs, trial, stop, conv;
    cJSON *o = NULL;

    assert_int_equal(zt_bso_call(s, "GET", "/jobs/batch_size?job_id=ghost", NULL, &o), 400);
    assert_string_equal(message_of(o), "Unknown job(ghost). Please register the job first");
    cJSON_Delete(o);
    assert_int_equal(zt_bso_report(s, "ghost", 8, 1, 1, 1, 1, 1, &stop, &conv), 400);
    register_fake(s, "test_unknown_trial");
    assert_int_equal(zt_bso_predict(s, "test_unknown_trial", &bs, &trial), 200);
    assert_int_equal(zt_bso_call(s, "POST", "/report", "{\"job_id\": \"test_unknown_trial\", "
                                 "\"batch_size\": 1024, \"trial_number\": 7, \"time\": 1, "
                                 "\"energy\": 2, \"metric\": 0.5, \"current_epoch\": 1}", &o),
                     400);
    assert_non_null(strstr(message_of(o), "Unknown trial"));
    cJSON_Delete(o);
    /* a missing query parameter: FastAPI's 422 at ["query", "job_id"] */
    assert_int_equal(zt_bso_call(s, "GET", "/jobs/batch_size", NULL, &o), 422);
    {
        cJSON *loc = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "detail"), 0),
                                         "loc");
        assert_string_equal(cJSON_GetArrayItem(loc, 0)->valuestring, "query");
        assert_string_equal(cJSON_GetArrayItem(loc, 1)->valuestring, "job_id");
    }
    cJSON_Delete(o);
    /* a NUL in the query must not act on the job named by what comes before it */
    assert_int_equal(zt_bso_call(s, "GET", "/jobs/batch_size?job_id=test_unknown_trial%00x",
                                 NULL, NULL), 400);
    assert_int_equal(zt_bso_call(s, "DELETE", "/jobs?job_id=test_unknown_trial%00x", NULL, NULL),
                     404);
    assert_int_equal(zt_bso_call(s, "GET", "/nowhere", NULL, NULL), 404);
    assert_int_equal(zt_bso_call(s, "PUT", "/jobs", "{}", NULL), 405);
}

/* ---- The database ------------------------------------------------------------------------- */

static void test_invariants_hold_and_restart_keeps_jobs(void **state)
{
    struct fixture *f = *state;
    int bs, trial;

    assert_int_equal(zt_bso_check_invariants(f->url), 0);
    assert_int_equal(zt_bso_query_int(f->url, "SELECT max(version) FROM bso_schema"), 1);
    zt_bso_stop(&f->server);
    zt_bso_start(&f->server, f->url);
    /* the MAB job carries on where it was */
    assert_int_equal(zt_bso_predict(&f->server, "test_mab_stage", &bs, &trial), 200);
    assert_int_equal(trial, 101);
    assert_int_equal(zt_bso_check_invariants(f->url), 0);
}

/* ---- The command line --------------------------------------------------------------------- */

static void test_command_line(void **state)
{
    struct fixture *f = *state;
    char listen[64], url[1300], path[1200];
    struct zt_cli c;
    cJSON *o = NULL;

    zt_cli_run(&c, "bso-server", "--help", NULL);
    assert_int_equal(c.status, 0);
    assert_non_null(strstr(c.out, "--database URL"));
    zt_cli_free(&c);
    zt_cli_run(&c, "bso-server", "--listen", "nonsense", NULL);
    assert_int_equal(c.status, 2);
    assert_non_null(strstr(c.err, "expected ADDR:PORT"));
    zt_cli_free(&c);
    zt_cli_run(&c, "bso-server", "--bogus", NULL);
    assert_int_equal(c.status, 2);
    assert_non_null(strstr(c.err, "unknown option '--bogus'"));
    zt_cli_free(&c);
    snprintf(listen, sizeof listen, "127.0.0.1:%d", f->server.port); /* in use */
    zt_cli_run(&c, "bso-server", "--listen", listen, "--database", f->url, NULL);
    assert_int_equal(c.status, 1);
    assert_non_null(strstr(c.err, "cannot listen on"));
    zt_cli_free(&c);
    zt_cli_run(&c, "bso-server", "--database", "mysql://x", NULL);
    assert_int_equal(c.status, 1);
    assert_non_null(strstr(c.err, "cannot use the database"));
    zt_cli_free(&c);

    /* the database from the environment; at INFO, one log line per request */
    snprintf(path, sizeof path, "%s/from-env.db", f->dir);
    snprintf(url, sizeof url, "sqlite:///%s", path);
    setenv("ZEUS_BSO_DATABASE_URL", url, 1);
    unsetenv("ZEUS_BSO_LOG_LEVEL");
    zt_cli_start(&c, "bso-server", "--listen", "127.0.0.1:0", NULL);
    zt_cli_wait_for_output(&c, "serving http://", 30);
    {
        struct zt_bso s;
        char *out = zt_read_file(c.out_path);
        const char *p = strstr(out, "http://127.0.0.1:");
        assert_non_null(p);
        assert_non_null(strstr(out, url));
        memset(&s, 0, sizeof s);
        snprintf(s.base, sizeof s.base, "http://127.0.0.1:%d", atoi(p + 17));
        free(out);
        assert_int_equal(zt_bso_call(&s, "GET", "/jobs/batch_size?job_id=nobody", NULL, &o),
                         400);
        cJSON_Delete(o);
    }
    unsetenv("ZEUS_BSO_DATABASE_URL");
    kill(c.pid, SIGTERM);
    zt_cli_finish(&c, 30);
    assert_int_equal(c.status, 0);
    assert_non_null(strstr(c.err, "INFO: 127.0.0.1 \"GET /jobs/batch_size\" 400"));
    assert_int_equal(access(path, F_OK), 0);
    zt_cli_free(&c);
}

/* ---- Fixtures ----------------------------------------------------------------------------- */

static int start_sqlite(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    curl_global_init(CURL_GLOBAL_DEFAULT);
    f->dir = zt_mkdtemp();
    snprintf(f->url, sizeof f->url, "sqlite:///%s/bso.db", f->dir); /* absolute: 4 slashes */
    zt_bso_start(&f->server, f->url);
    *state = f;
    return 0;
}

static int stop_server(void **state)
{
    struct fixture *f = *state;

    zt_bso_stop(&f->server);
    zt_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static zt_pg pg;

static int start_pg(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    f->dir = zt_mkdtemp();
    snprintf(f->url, sizeof f->url, "%s", pg.url);
    zt_bso_start(&f->server, f->url);
    *state = f;
    return 0;
}

#define CASES                                                                                      \
    cmocka_unit_test(test_register_job), cmocka_unit_test(test_register_generates_ids),          \
        cmocka_unit_test(test_register_job_validation_error), cmocka_unit_test(test_predict),     \
        cmocka_unit_test(test_report),                                                            \
        cmocka_unit_test(test_report_keep_training_and_already_reported),                         \
        cmocka_unit_test(test_exploration_stage), cmocka_unit_test(test_mab_stage),               \
        cmocka_unit_test(test_end_trial), cmocka_unit_test(test_delete_job),                      \
        cmocka_unit_test(test_unknown_jobs),                                                      \
        cmocka_unit_test(test_invariants_hold_and_restart_keeps_jobs),                            \
        cmocka_unit_test(test_command_line)

int main(void)
{
    const struct CMUnitTest tests[] = {CASES};
    int failed = cmocka_run_group_tests_name("bso_server_sqlite", tests, start_sqlite,
                                             stop_server);
    {
        char why[512] = "";
        int rc = zt_pg_start(&pg, why, sizeof why);
        if (rc == ZT_PG_SKIP) {
            printf("SKIP bso_server_postgresql: %s\n", why);
        } else if (rc != ZT_PG_OK) {
            printf("FAIL bso_server_postgresql: PostgreSQL is installed but did not start: %s\n",
                   why);
            failed++;
        } else {
            failed += cmocka_run_group_tests_name("bso_server_postgresql", tests, start_pg,
                                                  stop_server);
            zt_pg_stop(&pg);
        }
    }
    return failed;
}
