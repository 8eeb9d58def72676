/*
 * test_bso_store.c - bso/server/store.h on both databases: every case runs once on SQLite (a
 * file in a mkdtemp folder) and once on PostgreSQL (a throwaway cluster from pg_cluster.h;
 * that group skips, saying why, where PostgreSQL is not installed).
 *
 * What a BSO server relies on: the schema and its version appear on first open and a newer
 * version is refused; every field of a job survives the trip (NULLs, infinities, 400-character
 * ids); save_job writes exactly what is dirty; delete leaves no orphan rows; a second request
 * for a job waits for the first one's commit and sees its write; a commit that returned
 * survives a SIGKILL right after; and a bad database gives a message, never a crash.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "pg_cluster.h"
#include "store.h"
#include "test_support.h"

/* ---- Fixture: one database per test ------------------------------------------------------ */

typedef struct fixture {
    bool pg;
    char *dir;         /* SQLite: the folder of this group's files */
    zt_pg cluster;     /* PostgreSQL: the throwaway server */
    char skip_why[512]; /* why this group cannot run: skipped, or failed when pg_failed */
    bool pg_failed;     /* PostgreSQL is installed but would not start: a failure */
    int counter;
    char url[1400];    /* this test's fresh database */
    char raw[1300];    /* the same database for raw SQL: a file path or a libpq URI */
} fixture;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Raw SQL beside the store, to look at what it wrote. Returns the first column of the first
 * row as an integer (0 when there is no row). */
static long long raw_query(fixture *fx, const char *sql)
{
    long long v = 0;
    if (fx->pg) {
        PGconn *c = PQconnectdb(fx->raw);
        assert_int_equal(PQstatus(c), CONNECTION_OK);
        PGresult *r = PQexec(c, sql);
        ExecStatusType st = PQresultStatus(r);
        if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
            fail_msg("%s: %s", sql, PQresultErrorMessage(r));
        if (st == PGRES_TUPLES_OK && PQntuples(r) > 0)
            v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        PQfinish(c);
        return v;
    }
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(fx->raw, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    else if (rc != SQLITE_DONE)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* A database no test has used: a new file, or a new PostgreSQL database. */
static void fresh_db(fixture *fx)
{
    fx->counter++;
    if (!fx->pg) {
        snprintf(fx->raw, sizeof fx->raw, "%s/t%d.db", fx->dir, fx->counter);
        snprintf(fx->url, sizeof fx->url, "sqlite:///%s", fx->raw); /* absolute: 4 slashes */
        return;
    }
    char sql[128];
    snprintf(sql, sizeof sql, "CREATE DATABASE t%d", fx->counter);
    snprintf(fx->raw, sizeof fx->raw, "%s", fx->cluster.url);
    raw_query(fx, sql);
    snprintf(fx->url, sizeof fx->url, "postgresql://nobody@127.0.0.1:%d/t%d", fx->cluster.port,
             fx->counter);
    snprintf(fx->raw, sizeof fx->raw, "postgresql://nobody@127.0.0.1:%d/t%d",
             fx->cluster.port, fx->counter);
}

static int setup_sqlite(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    fx->dir = zt_mkdtemp();
    *state = fx;
    return 0;
}

static int setup_pg(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    fx->pg = true;
    int st = zt_pg_start(&fx->cluster, fx->skip_why, sizeof fx->skip_why);
    fx->pg_failed = st == ZT_PG_ERROR;
    if (st == ZT_PG_OK)
        fx->skip_why[0] = '\0';
    *state = fx;
    return 0;
}

static int teardown_group(void **state)
{
    fixture *fx = *state;
    if (fx->pg)
        zt_pg_stop(&fx->cluster);
    else
        zt_rmtree(fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
}

/* Each test: skip when the group's database is missing, else a fresh database. */
static int setup_test(void **state)
{
    fixture *fx = *state;
    if (!fx->skip_why[0])
        fresh_db(fx);
    return 0;
}

#define NEED_DB(fx)                                                                          \
    do {                                                                                     \
        if ((fx)->pg_failed)                                                                 \
            fail_msg("%s", (fx)->skip_why);                                                  \
        if ((fx)->skip_why[0]) {                                                             \
            print_message("skipped: %s\n", (fx)->skip_why);                                  \
            skip();                                                                          \
        }                                                                                    \
    } while (0)

static bso_store *open_ok(fixture *fx)
{
    char err[512] = "";
    bso_store *s = bso_store_open(fx->url, err, sizeof err);
    if (!s)
        fail_msg("open %s: %s", fx->url, err);
    return s;
}

/* ---- Jobs to store ----------------------------------------------------------------------- */

static void job_free(bso_job *job)
{
    bso_job_free(job);
    memset(job, 0, sizeof *job);
}

static void add_trial(bso_job *job, bso_trial t)
{
    job->trials = realloc(job->trials, (job->num_trials + 1) * sizeof t);
    job->trials[job->num_trials++] = t;
    job->cap_trials = job->num_trials;
}

static void add_arm(bso_job *job, bso_arm a)
{
    job->arms = realloc(job->arms, (job->num_arms + 1) * sizeof a);
    job->arms[job->num_arms++] = a;
    job->cap_arms = job->num_arms;
}

/* A job with every column set to something a mix-up would change, and three trials covering
 * each nullable column both ways, plus arms with infinite precisions. */
static void make_job(bso_job *job, const char *id, bool seeded)
{
    memset(job, 0, sizeof *job);
    bso_spec *sp = &job->spec;
    snprintf(sp->job_id, sizeof sp->job_id, "%s", id);
    snprintf(sp->job_id_prefix, sizeof sp->job_id_prefix, "pre-%.20s", id);
    static const int bs[] = {8, 16, 32, 64, 128};
    sp->num_batch_sizes = 5;
    sp->batch_sizes = malloc(sizeof bs);
    memcpy(sp->batch_sizes, bs, sizeof bs);
    sp->default_batch_size = 32;
    sp->eta_knob = 0.1;
    sp->beta_knob = seeded ? 2.5 : NAN;
    sp->target_metric = 0.93;
    sp->higher_is_better_metric = !seeded;
    sp->max_epochs = 77;
    sp->num_pruning_rounds = 3;
    sp->window_size = 11;
    sp->mab_prior_mean = -1.25;
    sp->mab_prior_precision = 1e-300;
    sp->mab_num_explorations = 4;
    sp->has_mab_seed = seeded;
    sp->mab_seed = seeded ? 4294967301LL : 0;
    sp->max_power = 300.5;
    sp->number_of_gpus = 8;
    snprintf(sp->gpu_model, sizeof sp->gpu_model, "NVIDIA A100-SXM4-40GB");
    job->stage = seeded ? BSO_STAGE_MAB : BSO_STAGE_PRUNING;
    job->exp_default_batch_size = 16;
    job->min_cost_batch_size = 64;
    job->min_cost = seeded ? 12345.678901234567 : NAN;
    if (seeded) {
        zeus_np_rng_seed(&job->rng, 4294967301ULL);
        zeus_np_next_uint32(&job->rng); /* leave a spare half: has_uint32 = 1 */
    }
    add_trial(job, (bso_trial){1, 32, BSO_TRIAL_EXPLORATION, BSO_SUCCEEDED, 1700000000.125,
                               1700000100.5, 100.375, 5.5e4, 1, true});
    add_trial(job, (bso_trial){2, 16, BSO_TRIAL_CONCURRENT, BSO_FAILED, 1700000200.0,
                               1700000201.0, NAN, NAN, -1, true});
    add_trial(job, (bso_trial){3, 64, BSO_TRIAL_MAB, BSO_DISPATCHED, 1700000300.0, NAN, NAN,
                               NAN, -1, true});
    add_trial(job, (bso_trial){4, 8, BSO_TRIAL_MAB, BSO_SUCCEEDED, 1.0, 2.0, 0.1, 0.2, 0,
                               true});
    add_arm(job, (bso_arm){16, 0.0, INFINITY, INFINITY, 0, true});
    add_arm(job, (bso_arm){64, -987.654321, 0.0123, 3.5, 7, true});
}

/* Same double, NAN equal to NAN (a NULL column). */
static void assert_same_double(double a, double b, const char *what)
{
    if (isnan(a) && isnan(b))
        return;
    if (!(a == b) || signbit(a) != signbit(b))
        fail_msg("%s: %.17g != %.17g", what, a, b);
}

static void assert_same_job(const bso_job *a, const bso_job *b)
{
    const bso_spec *x = &a->spec, *y = &b->spec;
    assert_string_equal(x->job_id, y->job_id);
    assert_string_equal(x->job_id_prefix, y->job_id_prefix);
    assert_int_equal(x->num_batch_sizes, y->num_batch_sizes);
    for (size_t i = 0; i < x->num_batch_sizes; i++)
        assert_int_equal(x->batch_sizes[i], y->batch_sizes[i]);
    assert_int_equal(x->default_batch_size, y->default_batch_size);
    assert_same_double(x->eta_knob, y->eta_knob, "eta_knob");
    assert_same_double(x->beta_knob, y->beta_knob, "beta_knob");
    assert_same_double(x->target_metric, y->target_metric, "target_metric");
    assert_int_equal(x->higher_is_better_metric, y->higher_is_better_metric);
    assert_int_equal(x->max_epochs, y->max_epochs);
    assert_int_equal(x->num_pruning_rounds, y->num_pruning_rounds);
    assert_int_equal(x->window_size, y->window_size);
    assert_same_double(x->mab_prior_mean, y->mab_prior_mean, "mab_prior_mean");
    assert_same_double(x->mab_prior_precision, y->mab_prior_precision, "mab_prior_precision");
    assert_int_equal(x->mab_num_explorations, y->mab_num_explorations);
    assert_int_equal(x->has_mab_seed, y->has_mab_seed);
    assert_true(x->mab_seed == y->mab_seed);
    assert_same_double(x->max_power, y->max_power, "max_power");
    assert_int_equal(x->number_of_gpus, y->number_of_gpus);
    assert_string_equal(x->gpu_model, y->gpu_model);
    assert_int_equal(a->stage, b->stage);
    assert_int_equal(a->exp_default_batch_size, b->exp_default_batch_size);
    assert_int_equal(a->min_cost_batch_size, b->min_cost_batch_size);
    assert_same_double(a->min_cost, b->min_cost, "min_cost");
    if (x->has_mab_seed)
        assert_memory_equal(&a->rng, &b->rng, sizeof a->rng);
    assert_int_equal(a->num_trials, b->num_trials);
    for (size_t i = 0; i < a->num_trials; i++) {
        const bso_trial *s = &a->trials[i], *t = &b->trials[i];
        assert_int_equal(s->trial_number, t->trial_number);
        assert_int_equal(s->batch_size, t->batch_size);
        assert_int_equal(s->type, t->type);
        assert_int_equal(s->status, t->status);
        assert_same_double(s->start_timestamp, t->start_timestamp, "start_timestamp");
        assert_same_double(s->end_timestamp, t->end_timestamp, "end_timestamp");
        assert_same_double(s->time, t->time, "time");
        assert_same_double(s->energy, t->energy, "energy");
        assert_int_equal(s->converged, t->converged);
    }
    assert_int_equal(a->num_arms, b->num_arms);
    for (size_t i = 0; i < a->num_arms; i++) {
        const bso_arm *s = &a->arms[i], *t = &b->arms[i];
        assert_int_equal(s->batch_size, t->batch_size);
        assert_same_double(s->param_mean, t->param_mean, "param_mean");
        assert_same_double(s->param_precision, t->param_precision, "param_precision");
        assert_same_double(s->reward_precision, t->reward_precision, "reward_precision");
        assert_int_equal(s->num_observations, t->num_observations);
    }
}

static void insert_committed(bso_store *s, const bso_job *job)
{
    assert_int_equal(bso_store_begin(s), BSO_STORE_OK);
    if (bso_store_insert_job(s, job) != BSO_STORE_OK)
        fail_msg("insert %s: %s", job->spec.job_id, bso_store_error(s));
    assert_int_equal(bso_store_commit(s), BSO_STORE_OK);
}

static void load_committed(bso_store *s, const char *id, bso_job *out)
{
    assert_int_equal(bso_store_begin(s), BSO_STORE_OK);
    if (bso_store_load_job(s, id, out) != BSO_STORE_OK)
        fail_msg("load %s: %s", id, bso_store_error(s));
    assert_int_equal(bso_store_commit(s), BSO_STORE_OK);
    for (size_t i = 0; i < out->num_trials; i++)
        assert_false(out->trials[i].dirty);
}

/* ---- Schema ------------------------------------------------------------------------------ */

static void test_open_creates_schema_and_version(void **state)
{
    fixture *fx = *state;
    NEED_DB(fx);
    bso_store *s = open_ok(fx);
    assert_int_equal(raw_query(fx, "SELECT count(*) FROM bso_schema"), 1);
    assert_int_equal(raw_query(fx, "SELECT version FROM bso_schema"), BSO_SCHEMA_VERSION);
    assert_int_equal(raw_query(fx, "SELECT count(*) FROM job"), 0);
    assert_int_equal(raw_query(fx, "SELECT count(*) FROM batch_size"), 0);
    assert_int_equal(raw_query(fx, "SELECT count(*) FROM gaussian_ts_arm_state"), 0);
    assert_int_equal(raw_query(fx, "SELECT count(*) FROM trial"), 0);
    bso_store_close(s);
    /* A second open (a restart, a second server) adds no second version row. */
    s = open_ok(fx);
    bso_store_close(s);
    assert_int_equal(raw_query(fx, "SELECT count(*) FROM bso_schema"), 1);
}

typedef struct opener {
    const char *url;
    bool ok;
    char err[512];
} opener;

static void *open_and_close(void *arg)
{
    opener *o = arg;
    bso_store *s = bso_store_open(o->url, o->err, sizeof o->err);
    o->ok = s != NULL;
    bso_store_close(s);
    return NULL;
}

/* Servers starting together on a new database: every one opens, one version row results. */
static void test_simultaneous_first_opens(void **state)
{
    fixture *fx = *state;
    NEED_DB(fx);
    enum { N = 6 };
    pthread_t th[N];
    opener o[N];
    for (int i = 0; i < N; i++) {
        o[i] = (opener){.url = fx->url};
        assert_int_equal(pthread_create(&th[i], NULL, open_and_close, &o[i]), 0);
    }
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < N; i++)
        if (!o[i].ok)
            fail_msg("opener %d: %s", i, o[i].err);
    assert_int_equal(raw_query(fx, "SELECT count(*) FROM bso_schema"), 1);
}

static void test_reopen_keeps_data(void **state)
{
    fixture *fx = *state;
    NEED_DB(fx);
    bso_job job, back;
    make_job(&job, "keep-me", true);
    bso_store *s = open_ok(fx);
    insert_committed(s, &job);
    bso_store_close(s);
    s = open_ok(fx);
    load_committed(s, "keep-me", &back);
    assert_same_job(&job, &back);
    bso_store_close(s);
    job_free(&job);
    job_free(&back);
}

static void test_newer_schema_refused(void **state)
{
    fixture *fx = *state;
    NEED_DB(fx);
    bso_store_close(open_ok(fx));
    raw_query(fx, "UPDATE bso_schema SET version = 2");
    char err[512] = "";
    assert_null(bso_store_open(fx->url, err, sizeof err));
    assert_non_null(strstr(err, "schema version 2 is newer"));
    assert_non_null(strstr(err, "(1)"));
}

/* ---- Round trips ------------------------------------------------------------------------- */

static void test_round_trip_every_field(void **state)
{
    fixture *fx = *state;
    NEED_DB(fx);
    char long_id[BSO_JOB_ID_MAX + 1];
    memset(long_id, 'x', BSO_JOB_ID_MAX);
    long_id[BSO_JOB_ID_MAX] = '\0';
    long_id[0] = 'Q'; /* not a row of one repeated byte */
    bso_store *s = open_ok(fx);
    for (int seeded = 0; seeded < 2; seeded++) {
        bso_job job, back;
        make_job(&job, seeded ? long_id : "plain-job", seeded);
        if (seeded) { /* the widest values every fixed column takes */
            memset(job.spec.job_id_prefix, 'p', BSO_PREFIX_MAX);
            job.spec.job_id_prefix[BSO_PREFIX_MAX] = '\0';
            memset(job.spec.gpu_model, 'g', BSO_GPU_MODEL_MAX);
            job.spec.gpu_model[BSO_GPU_MODEL_MAX] = '\0';
            job.arms[1].param_mean = -INFINITY;
        }
        insert_committed(s, &job);
        load_committed(s, job.spec.job_id, &back);
        assert_same_job(&job, &back);
        job_free(&job);
        job_free(&back);
    }
    /* NULLs are real NULLs and infinities real infinities, not sentinels. */
    assert_int_equal(raw_query(fx, "SELECT count(*) FROM job WHERE beta_knob IS NULL AND "
                                   "min_cost IS NULL AND mab_seed IS NULL AND "
                                   "mab_random_generator_state IS NULL"), 1);
    assert_int_equal(raw_query(fx, "SELECT count(*) FROM trial WHERE time IS NULL AND "
                                   "energy IS NULL AND converged IS NULL"), 4);
    assert_int_equal(raw_query(fx, "SELECT count(*) FROM gaussian_ts_arm_state WHERE "
                                   "param_precision > 1e308 AND reward_precision > 1e308"), 2);
    assert_int_equal(raw_query(fx, "SELECT mab_seed FROM job WHERE mab_seed IS NOT NULL"),
                     4294967301LL);
    bso_store_close(s);
}

static void test_bad_values_refused(void **state)
{
    fixture *fx = *state;
    NEED_DB(fx);
    bso_store *s = open_ok(fx);
    char too_long[BSO_JOB_ID_MAX + 2];
    memset(too_long, 'y', sizeof too_long - 1);
    too_long[sizeof too_long - 1] = '\0';
    bool exists = true;
    bso_job job;
    assert_int_equal(bso_store_load_job(s, too_long, &job), BSO_STORE_ERROR);
    assert_non_null(strstr(bso_store_error(s), "longer than 400"));
    assert_int_equal(bso_store_job_exists(s, too_long, &exists), BSO_STORE_ERROR);
    assert_int_equal(bso_store_delete_job(s, ""), BSO_STORE_ERROR);
    assert_non_null(strstr(bso_store_error(s), "empty"));

    make_job(&job, "bad", false);
    memset(job.spec.gpu_model, 'g', sizeof job.spec.gpu_model); /* no room for the NUL */
    assert_int_equal(bso_store_insert_job(s, &job), BSO_STORE_ERROR);
    assert_non_null(strstr(bso_store_error(s), "gpu_model is longer than 30"));
    job_free(&job);

    make_job(&job, "bad", false);
    job.spec.eta_knob = NAN;
    assert_int_equal(bso_store_insert_job(s, &job), BSO_STORE_ERROR);
    assert_non_null(strstr(bso_store_error(s), "eta_knob is not a number"));
    job.spec.eta_knob = 0.5;
    job.arms[0].param_mean = NAN;
    assert_int_equal(bso_store_insert_job(s, &job), BSO_STORE_ERROR);
    assert_non_null(strstr(bso_store_error(s), "param_mean"));
    job.arms[0].param_mean = 0;
    job.trials[0].converged = 2;
    assert_int_equal(bso_store_insert_job(s, &job), BSO_STORE_ERROR);
    job.trials[0].converged = 1;

    /* The same id twice: an error naming the job, not a second row. */
    insert_committed(s, &job);
    assert_int_equal(bso_store_begin(s), BSO_STORE_OK);
    assert_int_equal(bso_store_insert_job(s, &job), BSO_STORE_ERROR);
    assert_true(strlen(bso_store_error(s)) > 0);
    bso_store_rollback(s);
    assert_int_equal(raw_query(fx, "SELECT count(*) FROM job"), 1);
    job_free(&job);
    bso_store_close(s);
}

/* ---- Save, delete, not found ------------------------------------------------------------- */

static void test_save_writes_only_dirty(void **state)
{
    fixture *fx = *state;
    NEED_DB(fx);
    bso_store *s = open_ok(fx);
    bso_job job, back;
    make_job(&job, "dirty", true);
    insert_committed(s, &job);
    job_free(&job);
    load_committed(s, "dirty", &job);

    /* Changes the core did not mark: none of them may reach the database. */
    job.stage = BSO_STAGE_PRUNING;
    job.min_cost = 1.0;
    job.trials[0].energy = 1.0;
    job.arms[0].num_observations = 99;
    /* Marked ones: a changed trial, a new trial, a changed arm, a new arm. */
    job.trials[2].status = BSO_SUCCEEDED;
    job.trials[2].end_timestamp = 1700000400.0;
    job.trials[2].time = 12.0;
    job.trials[2].energy = 34.0;
    job.trials[2].converged = 0;
    job.trials[2].dirty = true;
    add_trial(&job, (bso_trial){5, 128, BSO_TRIAL_MAB, BSO_DISPATCHED, 1700000500.0, NAN,
                                NAN, NAN, -1, true});
    job.arms[1].param_mean = 42.0;
    job.arms[1].dirty = true;
    add_arm(&job, (bso_arm){128, 1.0, 2.0, 3.0, 1, true});
    assert_int_equal(bso_store_begin(s), BSO_STORE_OK);
    assert_int_equal(bso_store_save_job(s, &job), BSO_STORE_OK);
    assert_int_equal(bso_store_commit(s), BSO_STORE_OK);

    load_committed(s, "dirty", &back);
    assert_int_equal(back.stage, BSO_STAGE_MAB);
    assert_same_double(back.min_cost, 12345.678901234567, "min_cost");
    assert_same_double(back.trials[0].energy, 5.5e4, "trial 1 energy");
    assert_int_equal(back.arms[0].num_observations, 0);
    assert_int_equal(back.num_trials, 5);
    assert_int_equal(back.trials[2].status, BSO_SUCCEEDED);
    assert_int_equal(back.trials[2].converged, 0);
    assert_same_double(back.trials[2].energy, 34.0, "trial 3 energy");
    assert_int_equal(back.trials[4].trial_number, 5);
    assert_int_equal(back.num_arms, 3);
    assert_same_double(back.arms[1].param_mean, 42.0, "arm 64 mean");
    assert_int_equal(back.arms[2].batch_size, 128);
    job_free(&back);

    /* state_dirty writes the job's state columns, the generator state included. */
    job.state_dirty = true;
    zeus_np_next_uint64(&job.rng);
    for (size_t i = 0; i < job.num_trials; i++)
        job.trials[i].dirty = false;
    for (size_t i = 0; i < job.num_arms; i++)
        job.arms[i].dirty = false;
    assert_int_equal(bso_store_begin(s), BSO_STORE_OK);
    assert_int_equal(bso_store_save_job(s, &job), BSO_STORE_OK);
    assert_int_equal(bso_store_commit(s), BSO_STORE_OK);
    load_committed(s, "dirty", &back);
    assert_int_equal(back.stage, BSO_STAGE_PRUNING);
    assert_same_double(back.min_cost, 1.0, "min_cost");
    assert_memory_equal(&back.rng, &job.rng, sizeof job.rng);
    assert_same_double(back.trials[0].energy, 5.5e4, "trial 1 energy"); /* still not dirty */
    job_free(&back);

    /* A job that is gone: saving its state says so. */
    snprintf(job.spec.job_id, sizeof job.spec.job_id, "never-inserted");
    assert_int_equal(bso_store_begin(s), BSO_STORE_OK);
    assert_int_equal(bso_store_save_job(s, &job), BSO_STORE_NOT_FOUND);
    assert_non_null(strstr(bso_store_error(s), "never-inserted"));
    bso_store_rollback(s);
    job_free(&job);
    bso_store_close(s);
}

static void test_delete_cascades_and_not_found(void **state)
{
    fixture *fx = *state;
    NEED_DB(fx);
    bso_store *s = open_ok(fx);
    bso_job a, b;
    make_job(&a, "gone", true);
    make_job(&b, "stays", false);
    insert_committed(s, &a);
    insert_committed(s, &b);
    assert_int_equal(raw_query(fx, "SELECT count(*) FROM trial"), 8);

    assert_int_equal(bso_store_begin(s), BSO_STORE_OK);
    assert_int_equal(bso_store_delete_job(s, "gone"), BSO_STORE_OK);
    assert_int_equal(bso_store_commit(s), BSO_STORE_OK);
    assert_int_equal(raw_query(fx, "SELECT count(*) FROM job WHERE job_id = 'gone'"), 0);
    assert_int_equal(raw_query(fx, "SELECT count(*) FROM batch_size WHERE job_id = 'gone'"), 0);
    assert_int_equal(raw_query(fx, "SELECT count(*) FROM trial WHERE job_id = 'gone'"), 0);
    assert_int_equal(
        raw_query(fx, "SELECT count(*) FROM gaussian_ts_arm_state WHERE job_id = 'gone'"), 0);
    assert_int_equal(raw_query(fx, "SELECT count(*) FROM trial WHERE job_id = 'stays'"), 4);
    assert_int_equal(raw_query(fx, "SELECT count(*) FROM batch_size WHERE job_id = 'stays'"), 5);

    bso_job none;
    memset(&none, 0x5a, sizeof none);
    assert_int_equal(bso_store_delete_job(s, "gone"), BSO_STORE_NOT_FOUND);
    assert_int_equal(bso_store_load_job(s, "gone", &none), BSO_STORE_NOT_FOUND);
    assert_non_null(strstr(bso_store_error(s), "gone"));
    assert_null(none.spec.batch_sizes); /* left empty, nothing to free */
    assert_null(none.trials);
    assert_int_equal(none.num_trials, 0);
    bool exists = true;
    assert_int_equal(bso_store_job_exists(s, "gone", &exists), BSO_STORE_OK);
    assert_false(exists);
    assert_int_equal(bso_store_job_exists(s, "stays", &exists), BSO_STORE_OK);
    assert_true(exists);
    job_free(&a);
    job_free(&b);
    bso_store_close(s);
}

/* ---- Two connections --------------------------------------------------------------------- */

typedef struct waiter {
    const char *url;
    const char *job_id;     /* load this job (else lock `prefix`) */
    const char *prefix;
    bso_store_status begin_st, op_st;
    double returned_at;
    size_t trials_seen;
    char err[512];
} waiter;

/* The second request: begin and load (or lock a prefix), noting when the load returned. */
static void *second_request(void *arg)
{
    waiter *w = arg;
    bso_store *s = bso_store_open(w->url, w->err, sizeof w->err);
    if (!s) {
        w->begin_st = BSO_STORE_ERROR;
        return NULL;
    }
    w->begin_st = bso_store_begin(s);
    if (w->begin_st == BSO_STORE_OK) {
        bso_job job;
        if (w->job_id) {
            w->op_st = bso_store_load_job(s, w->job_id, &job);
            w->trials_seen = job.num_trials;
            job_free(&job);
        } else {
            w->op_st = bso_store_lock_prefix(s, w->prefix);
        }
        w->returned_at = now_s();
        bso_store_rollback(s);
    }
    snprintf(w->err, sizeof w->err, "%s", bso_store_error(s));
    bso_store_close(s);
    return NULL;
}

/* The first request holds its transaction for 0.4 s, adds a trial and commits; the second,
 * started meanwhile, must return only after that commit and see the new trial. */
static void check_second_waits(fixture *fx, const char *job_id, const char *prefix)
{
    bso_store *s = open_ok(fx);
    bso_job job;
    make_job(&job, "shared", false);
    insert_committed(s, &job);
    job_free(&job);

    assert_int_equal(bso_store_begin(s), BSO_STORE_OK);
    if (prefix)
        assert_int_equal(bso_store_lock_prefix(s, prefix), BSO_STORE_OK);
    assert_int_equal(bso_store_load_job(s, "shared", &job), BSO_STORE_OK);
    waiter w = {.url = fx->url, .job_id = job_id, .prefix = prefix};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, second_request, &w), 0);
    usleep(400 * 1000);
    add_trial(&job, (bso_trial){5, 8, BSO_TRIAL_MAB, BSO_DISPATCHED, 5.0, NAN, NAN, NAN, -1,
                                true});
    assert_int_equal(bso_store_save_job(s, &job), BSO_STORE_OK);
    double committed_at = now_s();
    assert_int_equal(bso_store_commit(s), BSO_STORE_OK);
    pthread_join(th, NULL);
    if (w.begin_st != BSO_STORE_OK || w.op_st != BSO_STORE_OK)
        fail_msg("second request: begin %d, op %d: %s", w.begin_st, w.op_st, w.err);
    assert_true(w.returned_at >= committed_at);
    if (job_id)
        assert_int_equal(w.trials_seen, 5);
    job_free(&job);
    bso_store_close(s);
}

static void test_second_load_waits_for_commit(void **state)
{
    fixture *fx = *state;
    NEED_DB(fx);
    check_second_waits(fx, "shared", NULL);
}

static void test_prefix_lock_serializes(void **state)
{
    fixture *fx = *state;
    NEED_DB(fx);
    check_second_waits(fx, NULL, "some-prefix");
}

/* A lock held past the other side's timeout: BUSY (retry), with a message, not a hang. */
static void test_busy_when_lock_held(void **state)
{
    fixture *fx = *state;
    NEED_DB(fx);
    bso_store *s = open_ok(fx);
    bso_job job;
    make_job(&job, "held", false);
    insert_committed(s, &job);
    job_free(&job);
    assert_int_equal(bso_store_begin(s), BSO_STORE_OK);
    assert_int_equal(bso_store_load_job(s, "held", &job), BSO_STORE_OK);

    char url[1500];
    if (fx->pg)
        snprintf(url, sizeof url, "%s?options=-c%%20lock_timeout%%3D200", fx->url);
    else
        snprintf(url, sizeof url, "%s?check_same_thread=false&timeout=0.2", fx->url);
    char err[512] = "";
    bso_store *other = bso_store_open(url, err, sizeof err);
    if (!other)
        fail_msg("open %s: %s", url, err);
    double t0 = now_s();
    bso_store_status st = bso_store_begin(other);
    if (st == BSO_STORE_OK) {
        bso_job j2;
        st = bso_store_load_job(other, "held", &j2);
        job_free(&j2);
    }
    double waited = now_s() - t0;
    assert_int_equal(st, BSO_STORE_BUSY);
    assert_true(strlen(bso_store_error(other)) > 0);
    print_message("busy after %.3f s: %s\n", waited, bso_store_error(other));
    assert_true(waited >= 0.15 && waited < 3.0);
    bso_store_rollback(other);
    /* Once the holder is done, the same connection goes on. */
    bso_store_rollback(s);
    job_free(&job);
    assert_int_equal(bso_store_begin(other), BSO_STORE_OK);
    assert_int_equal(bso_store_load_job(other, "held", &job), BSO_STORE_OK);
    bso_store_rollback(other);
    job_free(&job);
    bso_store_close(other);
    bso_store_close(s);
}

/* ---- Durability -------------------------------------------------------------------------- */

/* The child commits and kills itself the instant commit returns; the row must be there.
 * (SQLite's synchronous=NORMAL would pass this too: what FULL adds is for a machine crash,
 * which a test cannot stage. The PostgreSQL cluster runs with fsync off, so there this checks
 * that a returned commit is a commit, not the disk.) */
static void test_commit_survives_sigkill(void **state)
{
    fixture *fx = *state;
    NEED_DB(fx);
    bso_store_close(open_ok(fx));
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char err[512];
        bso_store *s = bso_store_open(fx->url, err, sizeof err);
        bso_job job;
        make_job(&job, "survivor", true);
        if (!s || bso_store_begin(s) != BSO_STORE_OK || bso_store_insert_job(s, &job) != 0 ||
            bso_store_commit(s) != BSO_STORE_OK)
            _exit(3);
        kill(getpid(), SIGKILL);
        _exit(4);
    }
    int wst = 0;
    assert_int_equal(waitpid(pid, &wst, 0), pid);
    assert_true(WIFSIGNALED(wst) && WTERMSIG(wst) == SIGKILL);
    bso_store *s = open_ok(fx);
    bso_job want, back;
    make_job(&want, "survivor", true);
    load_committed(s, "survivor", &back);
    assert_same_job(&want, &back);
    job_free(&want);
    job_free(&back);
    bso_store_close(s);
}

/* What a request costs: begin, load, save one new trial, commit. Printed, with a bound only
 * a broken setup would break (the fsync of synchronous=FULL is a few ms). */
static void test_commit_latency(void **state)
{
    fixture *fx = *state;
    NEED_DB(fx);
    bso_store *s = open_ok(fx);
    bso_job job;
    make_job(&job, "timed", false);
    insert_committed(s, &job);
    job_free(&job);
    enum { N = 40 };
    double worst = 0, total = 0;
    for (int i = 0; i < N; i++) {
        double t0 = now_s();
        assert_int_equal(bso_store_begin(s), BSO_STORE_OK);
        assert_int_equal(bso_store_load_job(s, "timed", &job), BSO_STORE_OK);
        add_trial(&job, (bso_trial){5 + i, 8, BSO_TRIAL_MAB, BSO_DISPATCHED, 1.0 * i, NAN, NAN,
                                    NAN, -1, true});
        assert_int_equal(bso_store_save_job(s, &job), BSO_STORE_OK);
        assert_int_equal(bso_store_commit(s), BSO_STORE_OK);
        double dt = now_s() - t0;
        total += dt;
        worst = dt > worst ? dt : worst;
        job_free(&job);
    }
    print_message("%s: request transaction mean %.2f ms, worst %.2f ms over %d (jobs of %d "
                  "trials)\n", fx->pg ? "postgresql" : "sqlite", 1e3 * total / N, 1e3 * worst,
                  N, N + 4);
    assert_int_equal(raw_query(fx, "SELECT count(*) FROM trial WHERE job_id = 'timed'"), N + 4);
    assert_true(total / N < 1.0);
    bso_store_close(s);
}

/* ---- Bad databases and URLs -------------------------------------------------------------- */

static void expect_open_error(const char *url, const char *want)
{
    char err[512] = "";
    bso_store *s = bso_store_open(url, err, sizeof err);
    if (s)
        fail_msg("open %s succeeded; wanted an error with '%s'", url, want);
    if (!strstr(err, want))
        fail_msg("open %s: '%s' does not say '%s'", url, err, want);
}

static void test_bad_urls(void **state)
{
    fixture *fx = *state;
    NEED_DB(fx);
    expect_open_error("", "no database URL");
    expect_open_error("mysql://x@y/z", "unsupported database 'mysql'");
    expect_open_error("just-a-path.db", "bad database URL");
    expect_open_error("sqlite://host/x.db", "bad SQLite URL");
    expect_open_error("sqlite:///x.db?timeout=soon", "timeout");
    expect_open_error("sqlite:///x.db?check_same_thread=false&mode=ro", "unsupported option "
                      "'mode=ro'");
    /* Port 1 on loopback: nothing listens there. */
    expect_open_error("postgresql+asyncpg://nobody@127.0.0.1:1/db", "refused");
}

static void test_sqlite_url_forms(void **state)
{
    fixture *fx = *state;
    NEED_DB(fx);
    if (fx->pg)
        skip();
    char url[1100];
    /* Zeus's own spelling, with the async driver named. */
    snprintf(url, sizeof url, "sqlite+aiosqlite:///%s/aio.db", fx->dir);
    char err[512] = "";
    bso_store *s = bso_store_open(url, err, sizeof err);
    if (!s)
        fail_msg("%s: %s", url, err);
    bso_store_close(s);
    char path[1100];
    snprintf(path, sizeof path, "%s/aio.db", fx->dir);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    /* A relative path is relative to the working folder. */
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(fx->dir), 0);
    s = bso_store_open("sqlite:///rel.db", err, sizeof err);
    assert_int_equal(chdir(cwd), 0);
    if (!s)
        fail_msg("relative: %s", err);
    bso_store_close(s);
    snprintf(path, sizeof path, "%s/rel.db", fx->dir);
    assert_int_equal(stat(path, &sb), 0);
    s = bso_store_open("sqlite:///:memory:", err, sizeof err);
    assert_non_null(s);
    bso_store_close(s);
}

static void test_sqlite_bad_files(void **state)
{
    fixture *fx = *state;
    NEED_DB(fx);
    if (fx->pg)
        skip();
    char path[1100], url[1200];
    snprintf(path, sizeof path, "%s/corrupt.db", fx->dir);
    zt_write_file(path, "this is a text file, not an SQLite database; the server must say "
                        "so rather than crash or start over\n");
    snprintf(url, sizeof url, "sqlite:///%s", path);
    expect_open_error(url, "file is not a database");
    snprintf(url, sizeof url, "sqlite:///%s/no-such-folder/x.db", fx->dir);
    expect_open_error(url, "no-such-folder: No such file or directory");
}

/* A database with tables called like ours but no bso_schema row is someone else's: refused
 * rather than read with the wrong layout (on SQLite, Zeus's own "Job" is our job). */
static void test_foreign_tables_refused(void **state)
{
    fixture *fx = *state;
    NEED_DB(fx);
    raw_query(fx, "CREATE TABLE \"Job\" (job_id VARCHAR(400) PRIMARY KEY, stage VARCHAR(7))");
    if (fx->pg) /* PostgreSQL keeps "Job"'s case: not ours, so it opens */
        bso_store_close(open_ok(fx));
    raw_query(fx, "CREATE TABLE IF NOT EXISTS trial (job_id VARCHAR(300), x INTEGER)");
    if (fx->pg)
        raw_query(fx, "DROP TABLE bso_schema");
    char err[512] = "";
    assert_null(bso_store_open(fx->url, err, sizeof err));
    assert_non_null(strstr(err, "no bso_schema version"));
}

/* PostgreSQL ended the session (a restart, an administrator): the next request reconnects. */
static void test_pg_reconnects(void **state)
{
    fixture *fx = *state;
    NEED_DB(fx);
    if (!fx->pg)
        skip();
    bso_store *s = open_ok(fx);
    bso_job job;
    make_job(&job, "again", false);
    insert_committed(s, &job);
    job_free(&job);
    assert_true(raw_query(fx, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                              "WHERE application_name = 'zeus-bso-server'") >= 1);
    usleep(100 * 1000);
    load_committed(s, "again", &job);
    assert_int_equal(job.num_trials, 4);
    job_free(&job);
    bso_store_close(s);
}

/* Root writes any file, so the read-only case runs as nobody in a child. */
static void test_sqlite_read_only_file(void **state)
{
    fixture *fx = *state;
    NEED_DB(fx);
    if (fx->pg)
        skip();
    bso_store_close(open_ok(fx));
    assert_int_equal(chmod(fx->raw, 0444), 0);
    assert_int_equal(chmod(fx->dir, 0755), 0);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(2);
        char err[512] = "";
        bso_store *s = bso_store_open(fx->url, err, sizeof err);
        if (s)
            snprintf(err, sizeof err, "OPENED");
        ssize_t w = write(fds[1], err, strlen(err));
        (void)w;
        _exit(0);
    }
    close(fds[1]);
    char got[512] = "";
    ssize_t r = read(fds[0], got, sizeof got - 1);
    close(fds[0]);
    int wst;
    waitpid(pid, &wst, 0);
    chmod(fx->dir, 0700);
    assert_true(r > 0);
    print_message("read-only: %s\n", got);
    assert_non_null(strstr(got, "read-only"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_open_creates_schema_and_version, setup_test),
        cmocka_unit_test_setup(test_simultaneous_first_opens, setup_test),
        cmocka_unit_test_setup(test_reopen_keeps_data, setup_test),
        cmocka_unit_test_setup(test_newer_schema_refused, setup_test),
        cmocka_unit_test_setup(test_round_trip_every_field, setup_test),
        cmocka_unit_test_setup(test_bad_values_refused, setup_test),
        cmocka_unit_test_setup(test_save_writes_only_dirty, setup_test),
        cmocka_unit_test_setup(test_delete_cascades_and_not_found, setup_test),
        cmocka_unit_test_setup(test_second_load_waits_for_commit, setup_test),
        cmocka_unit_test_setup(test_prefix_lock_serializes, setup_test),
        cmocka_unit_test_setup(test_busy_when_lock_held, setup_test),
        cmocka_unit_test_setup(test_commit_survives_sigkill, setup_test),
        cmocka_unit_test_setup(test_commit_latency, setup_test),
        cmocka_unit_test_setup(test_bad_urls, setup_test),
        cmocka_unit_test_setup(test_sqlite_url_forms, setup_test),
        cmocka_unit_test_setup(test_sqlite_bad_files, setup_test),
        cmocka_unit_test_setup(test_sqlite_read_only_file, setup_test),
        cmocka_unit_test_setup(test_foreign_tables_refused, setup_test),
        cmocka_unit_test_setup(test_pg_reconnects, setup_test),
    };
    int failed = cmocka_run_group_tests_name("bso_store_sqlite", tests, setup_sqlite,
                                             teardown_group);
    failed += cmocka_run_group_tests_name("bso_store_postgresql", tests, setup_pg,
                                          teardown_group);
    return failed;
}
