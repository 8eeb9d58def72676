/*
 * test_pfo_server.c - `zeus pfo-server` over HTTP with simulated ranks (threads): an 8-rank
 * 3D-parallel job (pp 4, dp 2) through registration, the blocking /schedule rendezvous,
 * results and dumps, two rounds; scheduler errors reaching every waiting rank while another
 * job is still served; idle eviction with a short idle time; bad bodies and unknown jobs.
 * Each test starts its own server in a fresh temporary folder.
 *
 * Timing: nothing is asserted on durations. A "still waiting" check sleeps and then checks
 * that no request has completed, which a slow machine can only make pass, never fail.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pfo_server_support.h"
#include "test_support.h"

#define PP 4
#define DP 2
#define WORLD (PP * DP)

struct fixture {
    char *dir;
    char plan3d[1024], plan2[1024];
    struct zt_pfo server;
};

/* One simulated rank's request, on its own thread. */
struct rank_call {
    const struct zt_pfo *server;
    char path[512];
    char body[1024];
    const char *method;
    long status;
    cJSON *reply;
    atomic_int *done;
    pthread_t thread;
};

/* ---- Fixtures ------------------------------------------------------------------------------ */

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    const char *data = getenv("ZEUS_TEST_DATA");

    f->dir = zt_mkdtemp();
    snprintf(f->plan3d, sizeof f->plan3d, "%s/perseus/lowtime-s4-m8/freqs_pipeline_00188.py", data);
    snprintf(f->plan2, sizeof f->plan2, "%s/perseus/lowtime-s2-m4/freqs_pipeline_00000.py", data);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    zt_pfo_stop(&f->server);
    zt_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* ---- Helpers ------------------------------------------------------------------------------- */

static void *rank_main(void *arg)
{
    struct rank_call *c = arg;

    c->status = zt_pfo_call(c->server, c->method, c->path, c->method[0] == 'P' ? c->body : NULL,
                            &c->reply);
    if (c->done != NULL)
        atomic_fetch_add(c->done, 1);
    return NULL;
}

static void start_call(struct rank_call *c, const struct zt_pfo *s, const char *method,
                       atomic_int *done)
{
    c->server = s;
    c->method = method;
    c->done = done;
    c->reply = NULL;
    assert_int_equal(pthread_create(&c->thread, NULL, rank_main, c), 0);
}

static void join_call(struct rank_call *c)
{
    pthread_join(c->thread, NULL);
}

static void register_rank(const struct zt_pfo *s, const char *id, int rank, int pp, int dp)
{
    char path[512], body[512];

    snprintf(path, sizeof path, "/register_rank/%s", id);
    snprintf(body, sizeof body, "{\"rank\": %d, \"dp_rank\": %d, \"pp_rank\": %d, \"tp_rank\": 0, "
             "\"available_frequencies\": [1980, 1965, 1950]}", rank, dp, pp);
    assert_int_equal(zt_pfo_call(s, "POST", path, body, NULL), 200);
}

/* GET /schedule for ranks [0, n) on threads; waits for none. */
static void ask_schedules(struct rank_call *calls, int first, int n, const struct zt_pfo *s,
                          const char *id, atomic_int *done)
{
    for (int r = first; r < first + n; r++) {
        snprintf(calls[r].path, sizeof calls[r].path, "/schedule/%s?rank=%d", id, r);
        start_call(&calls[r], s, "GET", done);
    }
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static cJSON *read_json(const char *dir, const char *id, const char *name)
{
    char path[2048];
    char *text;
    cJSON *j;

    snprintf(path, sizeof path, "%s/%s/%s", dir, id, name);
    text = zt_read_file(path);
    if (text == NULL)
        return NULL;
    j = cJSON_Parse(text);
    free(text);
    return j;
}

static const char *detail(const cJSON *reply)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(reply, "detail");
    return cJSON_IsString(d) ? d->valuestring : "";
}

/* ---- The 8-rank job ------------------------------------------------------------------------ */

/* Rank r = dp * PP + pp, as Megatron numbers them. Every rank gets its stage's list. */
static void check_round(struct rank_call *calls, const cJSON *plan)
{
    for (int r = 0; r < WORLD; r++) {
        const cJSON *freqs = cJSON_GetObjectItemCaseSensitive(calls[r].reply, "frequencies");
        assert_int_equal(calls[r].status, 200);
        assert_int_equal(cJSON_GetObjectItemCaseSensitive(calls[r].reply, "rank")->valueint, r);
        assert_true(cJSON_Compare(freqs, cJSON_GetArrayItem(plan, r % PP), 1));
        cJSON_Delete(calls[r].reply);
        calls[r].reply = NULL;
    }
}

static void report_results(const struct zt_pfo *s, const char *id)
{
    struct rank_call calls[WORLD];

    for (int r = WORLD - 1; r >= 0; r--) { /* out of order: the dump sorts them */
        snprintf(calls[r].path, sizeof calls[r].path, "/result/%s", id);
        snprintf(calls[r].body, sizeof calls[r].body, "{\"rank\": %d, \"iter_time\": [1, 1.5], "
                 "\"iter_energy\": [%d.25, 2], \"time_breakdown\": {\"forward\": [[0.1, 0.2]]}}",
                 r, 100 + r);
        start_call(&calls[r], s, "POST", NULL);
    }
    for (int r = 0; r < WORLD; r++) {
        join_call(&calls[r]);
        assert_int_equal(calls[r].status, 200);
        assert_true(cJSON_IsNull(calls[r].reply));
        cJSON_Delete(calls[r].reply);
    }
}

static void test_pfo_eight_ranks_3d_two_rounds(void **state)
{
    struct fixture *f = *state;
    struct rank_call calls[WORLD];
    atomic_int done = 0;
    char dump[600], *id;
    cJSON *plan = zt_pfo_plan_json(f->plan3d), *ranks, *prof, *sched;

    snprintf(dump, sizeof dump, "%s/dump", f->dir);
    zt_pfo_start(&f->server, "PointSolution3D", f->plan3d, dump, 0);
    id = zt_pfo_register_job(&f->server, PP, DP, 1, "llama");
    assert_non_null(strstr(id, "+dp2+pp4+tp1+PointSolution3D+llama"));
    for (int r = WORLD - 1; r >= 0; r--)
        register_rank(&f->server, id, r, r % PP, r / PP);

    /* Round 0: seven ranks wait until the eighth asks. */
    ask_schedules(calls, 0, WORLD - 1, &f->server, id, &done);
    sleep_ms(300);
    assert_int_equal(atomic_load(&done), 0);
    ask_schedules(calls, WORLD - 1, 1, &f->server, id, &done);
    for (int r = 0; r < WORLD; r++)
        join_call(&calls[r]);
    check_round(calls, plan);

    ranks = read_json(dump, id, "ranks.json");
    assert_int_equal(cJSON_GetArraySize(ranks), WORLD);
    for (int r = 0; r < WORLD; r++) {
        const cJSON *info = cJSON_GetArrayItem(ranks, r);
        assert_int_equal(cJSON_GetObjectItemCaseSensitive(info, "rank")->valueint, r);
        assert_int_equal(cJSON_GetObjectItemCaseSensitive(info, "pp_rank")->valueint, r % PP);
    }
    assert_null(read_json(dump, id, "0.prof.json")); /* written once the results are in */

    /* Round 1's requests may come before round 0's results; they wait for them. */
    atomic_store(&done, 0);
    ask_schedules(calls, 0, WORLD, &f->server, id, &done);
    sleep_ms(300);
    assert_int_equal(atomic_load(&done), 0);
    report_results(&f->server, id);
    for (int r = 0; r < WORLD; r++)
        join_call(&calls[r]);
    check_round(calls, plan);

    prof = read_json(dump, id, "0.prof.json");
    sched = read_json(dump, id, "0.sched.json");
    assert_int_equal(cJSON_GetArraySize(prof), WORLD);
    assert_int_equal(cJSON_GetArraySize(sched), WORLD);
    for (int r = 0; r < WORLD; r++) {
        const cJSON *p = cJSON_GetArrayItem(prof, r), *s = cJSON_GetArrayItem(sched, r);
        assert_int_equal(cJSON_GetObjectItemCaseSensitive(p, "rank")->valueint, r);
        assert_true(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(p, "iter_energy"), 0)
                        ->valuedouble == 100.25 + r);
        assert_true(cJSON_Compare(cJSON_GetObjectItemCaseSensitive(s, "frequencies"),
                                  cJSON_GetArrayItem(plan, r % PP), 1));
    }
    {
        /* pydantic's text: floats as floats, Python's separators */
        char path[2048], *text;
        snprintf(path, sizeof path, "%s/%s/0.prof.json", dump, id);
        text = zt_read_file(path);
        assert_non_null(strstr(text, "[{\"rank\": 0, \"iter_time\": [1.0, 1.5], \"iter_energy\": "
                                     "[100.25, 2.0], \"time_breakdown\": {\"forward\": [[0.1, 0.2]]}, "
                                     "\"energy_breakdown\": {}}, {\"rank\": 1,"));
        free(text);
    }
    cJSON_Delete(ranks);
    cJSON_Delete(prof);
    cJSON_Delete(sched);
    cJSON_Delete(plan);
    free(id);
}

/* ---- Scheduler errors --------------------------------------------------------------------- */

/* A job whose world size the plan does not fit fails for all its ranks; a job it fits, on the
 * same server, is served before and after. */
static void test_pfo_scheduler_error_reaches_every_rank(void **state)
{
    struct fixture *f = *state;
    struct rank_call calls[4], good[2];
    char *bad_id, *good_id;

    zt_pfo_start(&f->server, "PointSolution", f->plan2, NULL, 0);
    bad_id = zt_pfo_register_job(&f->server, 4, 1, 1, "bad");
    good_id = zt_pfo_register_job(&f->server, 2, 1, 1, "good");
    for (int r = 0; r < 4; r++)
        register_rank(&f->server, bad_id, r, r, 0);
    ask_schedules(calls, 0, 4, &f->server, bad_id, NULL);
    for (int r = 0; r < 4; r++) {
        join_call(&calls[r]);
        assert_int_equal(calls[r].status, 500);
        assert_non_null(strstr(detail(calls[r].reply), "RuntimeError: Solution file assumes 2 "
                                                        "ranks, but the job has 4 ranks."));
        cJSON_Delete(calls[r].reply);
    }
    /* asking again gets the error again, rather than waiting forever as in Zeus */
    ask_schedules(calls, 2, 1, &f->server, bad_id, NULL);
    join_call(&calls[2]);
    assert_int_equal(calls[2].status, 500);
    cJSON_Delete(calls[2].reply);

    for (int r = 0; r < 2; r++)
        register_rank(&f->server, good_id, r, r, 0);
    ask_schedules(good, 0, 2, &f->server, good_id, NULL);
    for (int r = 0; r < 2; r++) {
        join_call(&good[r]);
        assert_int_equal(good[r].status, 200);
        cJSON_Delete(good[r].reply);
    }
    free(bad_id);
    free(good_id);
}

static void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* A plan entry of the wrong type is pydantic's ValidationError (a ValueError): 400. Code in
 * the file is not run: a SyntaxError, 500. A missing file: Zeus's RuntimeError, 500. */
static void run_failing_plan(struct fixture *f, const char *plan_path, long status,
                             const char *expect)
{
    struct rank_call calls[2];
    char *id;

    zt_pfo_start(&f->server, "PointSolution", plan_path, NULL, 0);
    id = zt_pfo_register_job(&f->server, 2, 1, 1, NULL);
    for (int r = 0; r < 2; r++)
        register_rank(&f->server, id, r, r, 0);
    ask_schedules(calls, 0, 2, &f->server, id, NULL);
    for (int r = 0; r < 2; r++) {
        join_call(&calls[r]);
        assert_int_equal(calls[r].status, status);
        if (strstr(detail(calls[r].reply), expect) == NULL)
            fail_msg("detail '%s' lacks '%s'", detail(calls[r].reply), expect);
        cJSON_Delete(calls[r].reply);
    }
    zt_pfo_stop(&f->server);
    free(id);
}

static void test_pfo_bad_plans_are_400_or_500(void **state)
{
    struct fixture *f = *state;
    char path[1024], marker[1024];

    snprintf(path, sizeof path, "%s/typed.py", f->dir);
    write_text(path, "[[('forward', 'fast')], [('forward', 1110)]]\n");
    run_failing_plan(f, path, 400, "value is not a valid integer");

    snprintf(marker, sizeof marker, "%s/ran", f->dir);
    snprintf(path, sizeof path, "%s/code.py", f->dir);
    {
        char text[2048];
        snprintf(text, sizeof text, "__import__('os').system('touch %s')\n", marker);
        write_text(path, text);
    }
    run_failing_plan(f, path, 500, "SyntaxError");
    assert_int_not_equal(access(marker, F_OK), 0);

    snprintf(path, sizeof path, "%s/missing.py", f->dir);
    run_failing_plan(f, path, 500, "RuntimeError: Solution file not found");
    snprintf(path, sizeof path, "%s/plan.txt", f->dir);
    write_text(path, "[[('forward', 1110)], [('forward', 1110)]]\n");
    run_failing_plan(f, path, 500, "Solution file is not a Python file");
}

/* ---- Idle cleanup ------------------------------------------------------------------------- */

static void test_pfo_idle_job_is_evicted(void **state)
{
    struct fixture *f = *state;
    struct rank_call waiting[1];
    char path[512], *id;
    long status = 0;

    zt_pfo_start(&f->server, "PointSolution", f->plan2, NULL, 1);
    id = zt_pfo_register_job(&f->server, 2, 1, 1, NULL);
    register_rank(&f->server, id, 0, 0, 0);
    register_rank(&f->server, id, 1, 1, 0);
    ask_schedules(waiting, 0, 1, &f->server, id, NULL); /* rank 1 never asks */
    join_call(&waiting[0]);                              /* woken by the eviction */
    assert_int_equal(waiting[0].status, 404);
    assert_non_null(strstr(detail(waiting[0].reply), "idle"));
    cJSON_Delete(waiting[0].reply);
    snprintf(path, sizeof path, "/schedule/%s?rank=1", id);
    status = zt_pfo_call(&f->server, "GET", path, NULL, NULL);
    assert_int_equal(status, 404);
    free(id);
}

/* SIGTERM while a rank waits in /schedule: the wait ends (503) and the server exits 0. */
static void test_pfo_stop_with_a_waiting_rank(void **state)
{
    struct fixture *f = *state;
    struct rank_call waiting[1];
    char *id;

    zt_pfo_start(&f->server, "PointSolution", f->plan2, NULL, 0);
    id = zt_pfo_register_job(&f->server, 2, 1, 1, NULL);
    register_rank(&f->server, id, 0, 0, 0);
    register_rank(&f->server, id, 1, 1, 0);
    ask_schedules(waiting, 0, 1, &f->server, id, NULL);
    sleep_ms(300);
    zt_pfo_stop(&f->server); /* asserts exit status 0 */
    join_call(&waiting[0]);
    /* 503 when the request was waiting; 0 (no answer) if the stop came before it arrived */
    assert_true(waiting[0].status == 503 || waiting[0].status == 0);
    if (waiting[0].status == 503)
        assert_non_null(strstr(detail(waiting[0].reply), "stopping"));
    cJSON_Delete(waiting[0].reply);
    free(id);
}

/* ---- Settings --------------------------------------------------------------------------------- */

/* `zeus pfo-server` with the environment as set; its exit status, stderr in *err (malloc'd). */
static int run_server_expecting_exit(char **err)
{
    struct zt_cli c;
    int status;

    zt_cli_run(&c, "pfo-server", "--listen", "127.0.0.1:0", NULL);
    status = c.status;
    *err = strdup(c.err ? c.err : "");
    zt_cli_free(&c);
    return status;
}

static void expect_refused(const char *name, const char *value, const char *message)
{
    char *err;

    setenv(name, value, 1);
    assert_int_equal(run_server_expecting_exit(&err), 2);
    if (strstr(err, message) == NULL)
        fail_msg("%s=%s: '%s' lacks '%s'", name, value, err, message);
    free(err);
}

/* Bad ZEUS_PFO_* settings stop the start with the variable named, as Zeus fails at import. */
static void test_pfo_bad_settings_refused(void **state)
{
    struct fixture *f = *state;
    char args[1200];

    snprintf(args, sizeof args, "{\"solution_path\": \"%s\"}", f->plan2);
    setenv("ZEUS_PFO_SCHEDULER_ARGS", args, 1);
    setenv("ZEUS_PFO_DUMP_DATA", "false", 1);
    unsetenv("ZEUS_PFO_MAX_JOB_IDLE_TIME");
    unsetenv("ZEUS_PFO_LOG_LEVEL");
    expect_refused("ZEUS_PFO_SCHEDULER", "Fastest", "no such scheduler");
    setenv("ZEUS_PFO_SCHEDULER", "PointSolution", 1);
    expect_refused("ZEUS_PFO_SCHEDULER_ARGS", "{}", "missing a required argument: 'solution_path'");
    expect_refused("ZEUS_PFO_SCHEDULER_ARGS", "{\"solution_path\": \"x.py\", \"seed\": 1}",
                   "unexpected keyword argument 'seed'");
    setenv("ZEUS_PFO_SCHEDULER_ARGS", args, 1);
    expect_refused("ZEUS_PFO_DUMP_DATA", "maybe", "could not be parsed to a boolean");
    setenv("ZEUS_PFO_DUMP_DATA", "false", 1);
    expect_refused("ZEUS_PFO_MAX_JOB_IDLE_TIME", "1.5", "ZEUS_PFO_MAX_JOB_IDLE_TIME");
    unsetenv("ZEUS_PFO_MAX_JOB_IDLE_TIME");
    expect_refused("ZEUS_PFO_LOG_LEVEL", "chatty", "Unknown level");
    unsetenv("ZEUS_PFO_LOG_LEVEL");
}

/* At DEBUG (the default) every request is logged with its body and reply, as Zeus does. */
static void test_pfo_debug_logs_requests(void **state)
{
    struct fixture *f = *state;
    char *id;

    zt_pfo_start(&f->server, "PointSolution", f->plan2, NULL, 0); /* sets ZEUS_PFO_* */
    zt_pfo_stop(&f->server); /* it runs at WARNING: start again at DEBUG */
    setenv("ZEUS_PFO_LOG_LEVEL", "debug", 1);
    zt_cli_start(&f->server.cli, "pfo-server", "--listen", "127.0.0.1:0", NULL);
    f->server.port = zt_cli_served_port(&f->server.cli, 30);
    snprintf(f->server.base, sizeof f->server.base, "http://127.0.0.1:%d", f->server.port);
    id = zt_pfo_register_job(&f->server, 2, 1, 1, "logged");
    zt_cli_wait_for_output(&f->server.cli, "DEBUG: POST /register_job: {", 30);
    zt_cli_wait_for_output(&f->server.cli, "+logged\"", 30);
    free(id);
}

/* ---- Bad requests ------------------------------------------------------------------------- */

static long call_detail(const struct zt_pfo *s, const char *method, const char *path,
                        const char *body, const char *expect)
{
    cJSON *out = NULL;
    long status = zt_pfo_call(s, method, path, body, &out);
    char *text = cJSON_PrintUnformatted(out);

    if (expect != NULL && (text == NULL || strstr(text, expect) == NULL))
        fail_msg("%s %s: '%s' lacks '%s'", method, path, text ? text : "(not JSON)", expect);
    free(text);
    cJSON_Delete(out);
    return status;
}

static void test_pfo_bad_bodies_and_unknown_jobs(void **state)
{
    struct fixture *f = *state;
    const struct zt_pfo *s = &f->server;
    char path[512], *id;

    zt_pfo_start(&f->server, "PointSolution", f->plan2, NULL, 0);
    assert_int_equal(call_detail(s, "POST", "/register_job", "{\"pp_degree\": 2, \"dp_degree\": 1, "
                                 "\"tp_degree\": 1, \"world_size\": 3}",
                                 "{\"loc\":[\"body\",\"world_size\"],\"msg\":\"\",\"type\":"
                                 "\"assertion_error\"}"), 422);
    assert_int_equal(call_detail(s, "POST", "/register_job", "{\"pp_degree\": 0, \"dp_degree\": 1.5, "
                                 "\"world_size\": 1}", "value_error.number.not_ge"), 422);
    assert_int_equal(call_detail(s, "POST", "/register_job", "{\"pp_degree\": 1, \"dp_degree\": 1.5, "
                                 "\"world_size\": 1}", "\"loc\":[\"body\",\"tp_degree\"],\"msg\":"
                                 "\"field required\""), 422);
    assert_int_equal(call_detail(s, "POST", "/register_job", "{\"job_id\": \"mine\", \"pp_degree\": 1, "
                                 "\"dp_degree\": 1, \"tp_degree\": 1, \"world_size\": 1}",
                                 "\"loc\":[\"body\",\"job_id\"]"), 422);
    assert_int_equal(call_detail(s, "POST", "/register_job", "{\"pp_degree\": 1, \"dp_degree\": 1, "
                                 "\"tp_degree\": 1, \"world_size\": 1, \"job_metadata\": \"../x\"}",
                                 "job_metadata"), 422);
    assert_int_equal(call_detail(s, "POST", "/register_job", "{\"pp_degree\": 1,", "Invalid JSON"), 422);
    assert_int_equal(call_detail(s, "POST", "/register_job", "[1]", "value is not a valid dict"), 422);

    /* unknown jobs: 404 with a message on every route (Zeus: an unhandled 500) */
    assert_int_equal(call_detail(s, "POST", "/register_rank/nope", "{\"rank\": 0, \"dp_rank\": 0, "
                                 "\"pp_rank\": 0, \"tp_rank\": 0, \"available_frequencies\": []}",
                                 "Unknown job id 'nope'"), 404);
    assert_int_equal(call_detail(s, "GET", "/schedule/nope?rank=0", NULL, "Unknown job id"), 404);
    assert_int_equal(call_detail(s, "POST", "/result/nope", "{\"rank\": 0, \"iter_time\": [], "
                                 "\"iter_energy\": []}", "Unknown job id"), 404);

    id = zt_pfo_register_job(s, 2, 1, 1, NULL);
    snprintf(path, sizeof path, "/register_rank/%s", id);
    assert_int_equal(call_detail(s, "POST", path, "{\"rank\": -1, \"dp_rank\": 0, \"pp_rank\": 0, "
                                 "\"available_frequencies\": [1, \"x\"]}", "\"loc\":[\"body\","
                                 "\"available_frequencies\",1]"), 422);
    assert_int_equal(call_detail(s, "POST", path, "{\"rank\": 2, \"dp_rank\": 0, \"pp_rank\": 0, "
                                 "\"tp_rank\": 0, \"available_frequencies\": []}",
                                 "outside the job's world size"), 400);
    assert_int_equal(call_detail(s, "POST", path, "{\"rank\": 1, \"dp_rank\": 0, \"pp_rank\": 5, "
                                 "\"tp_rank\": 0, \"available_frequencies\": []}", "do not fit"), 400);
    register_rank(s, id, 0, 0, 0);
    assert_int_equal(call_detail(s, "POST", path, "{\"rank\": 0, \"dp_rank\": 0, \"pp_rank\": 0, "
                                 "\"tp_rank\": 0, \"available_frequencies\": []}",
                                 "already registered"), 400);

    snprintf(path, sizeof path, "/schedule/%s", id);
    assert_int_equal(call_detail(s, "GET", path, NULL, "{\"loc\":[\"query\",\"rank\"],\"msg\":"
                                 "\"field required\""), 422);
    snprintf(path, sizeof path, "/schedule/%s?rank=one", id);
    assert_int_equal(call_detail(s, "GET", path, NULL, "value is not a valid integer"), 422);
    snprintf(path, sizeof path, "/schedule/%s?rank=-1", id);
    assert_int_equal(call_detail(s, "GET", path, NULL, "outside"), 400);

    snprintf(path, sizeof path, "/result/%s", id);
    assert_int_equal(call_detail(s, "POST", path, "{\"rank\": 0, \"iter_time\": [\"a\"], "
                                 "\"iter_energy\": [1], \"energy_breakdown\": {\"f\": [[1, null]]}}",
                                 "\"loc\":[\"body\",\"energy_breakdown\",\"f\",0,1]"), 422);
    assert_int_equal(call_detail(s, "POST", path, "{\"rank\": 0, \"iter_time\": [\"a\"]}",
                                 "\"loc\":[\"body\",\"iter_time\",0]"), 422);
    assert_int_equal(call_detail(s, "POST", path, "{\"rank\": 7, \"iter_time\": [], \"iter_energy\": []}",
                                 "outside"), 400);

    assert_int_equal(call_detail(s, "GET", "/register_job", NULL, "Method Not Allowed"), 405);
    assert_int_equal(call_detail(s, "GET", "/info", NULL, "Not Found"), 404);
    free(id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pfo_eight_ranks_3d_two_rounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pfo_scheduler_error_reaches_every_rank, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pfo_bad_plans_are_400_or_500, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pfo_idle_job_is_evicted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pfo_stop_with_a_waiting_rank, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pfo_bad_settings_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pfo_debug_logs_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pfo_bad_bodies_and_unknown_jobs, setup, teardown),
    };
    return cmocka_run_group_tests_name("pfo_server", tests, NULL, NULL);
}
