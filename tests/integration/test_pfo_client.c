/*
 * test_pfo_client.c - Perseus's C client (zeus/pipeline_frequency.h) against the real
 * `zeus pfo-server` on the fake NVML: 8 ranks (threads, pp 4 x dp 2, one fake GPU each) run
 * two iterations of lowtime's plan, and the clock locks the fake records on each GPU follow
 * the plan instruction by instruction (start-up locks, one lock per change of frequency,
 * resets at the end). Also: the instruction checks, a clock change that fails reported to
 * the training thread, an unprivileged GPU refused at create, and the same job through a real
 * zeusd (the setters leave the local driver untouched), and the whole of Perseus: a plan made by
 * `zeus perseus plan` served to 8 ranks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "fake_nvml_control.h"
#include "pfo_server_support.h"
#include "test_support.h"
#include "test_zeusd_harness.h"
#include "zeus/zeus.h"

#define PP 4
#define MAX_RANKS 8
#define MAX_LOG 4096

struct fixture {
    char *dir;
    char plan[1024];
    struct zt_pfo server;
    cJSON *plan_json;
    zeus_devices *devs;
    struct zd_proc zeusd;
    int zeusd_running;
};

struct rank {
    struct fixture *f;
    const char *job_id;
    int rank, dp, iterations;
    zeus_pfo *pfo;
    zeus_status create, run; /* what create and the iterations returned */
    char detail[512];
    pthread_t thread;
};

/* ---- Fixtures ------------------------------------------------------------------------------ */

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    f->dir = zt_mkdtemp();
    snprintf(f->plan, sizeof f->plan, "%s/perseus/lowtime-s4-m8/freqs_pipeline_00188.py",
             getenv("ZEUS_TEST_DATA"));
    f->plan_json = zt_pfo_plan_json(f->plan);
    zt_pfo_start(&f->server, "PointSolution3D", f->plan, NULL, 0);
    unsetenv("ZEUSD_SOCK_PATH");
    unsetenv("ZEUSD_HOST_PORT");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    zeus_devices_destroy(f->devs);
    unsetenv("ZEUSD_SOCK_PATH");
    if (f->zeusd_running)
        zd_proc_stop(&f->zeusd);
    zt_pfo_stop(&f->server);
    cJSON_Delete(f->plan_json);
    zt_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* ---- Helpers ------------------------------------------------------------------------------- */

static void options(zeus_pfo_options *o, const struct fixture *f, int rank, int dp_degree)
{
    zeus_pfo_options_init(o);
    o->server_url = f->server.base;
    o->rank = rank;
    o->pp_rank = rank % PP;
    o->dp_rank = rank / PP;
    o->device_id = (unsigned)rank;
    o->pp_degree = PP;
    o->dp_degree = dp_degree;
    o->world_size = PP * dp_degree;
}

/* One training iteration of `r`'s stage: every instruction of the plan, then the step end. */
static zeus_status run_iteration(struct rank *r)
{
    const cJSON *list = cJSON_GetArrayItem(r->f->plan_json, r->rank % PP), *e;
    zeus_status s;

    cJSON_ArrayForEach(e, list) {
        if ((s = zeus_pfo_on_instruction_begin(r->pfo, cJSON_GetArrayItem(e, 0)->valuestring)) != ZEUS_OK)
            return s;
    }
    return zeus_pfo_on_step_end(r->pfo);
}

static void *rank_main(void *arg)
{
    struct rank *r = arg;
    zeus_pfo_options o;

    options(&o, r->f, r->rank, r->dp);
    o.job_id = r->job_id;
    r->create = zeus_pfo_create(r->f->devs, &o, &r->pfo);
    r->run = r->create;
    for (int i = 0; r->run == ZEUS_OK && i < r->iterations; i++)
        r->run = run_iteration(r);
    if (r->run != ZEUS_OK)
        snprintf(r->detail, sizeof r->detail, "%s", zeus_last_error());
    return NULL;
}

/* Register a job of PP x dp ranks and run each on its thread; handles are left open. */
static char *run_ranks(struct fixture *f, struct rank *ranks, int dp, int iterations)
{
    zeus_pfo_options o;
    char *id = calloc(1, ZEUS_PFO_JOB_ID_MAX);

    options(&o, f, 0, dp);
    o.job_metadata = "client-test";
    assert_int_equal(zeus_pfo_register_job(&o, id, ZEUS_PFO_JOB_ID_MAX), ZEUS_OK);
    assert_non_null(strstr(id, "+PointSolution3D+client-test"));
    for (int r = 0; r < PP * dp; r++) {
        ranks[r] = (struct rank){.f = f, .job_id = id, .rank = r, .dp = dp,
                                 .iterations = iterations};
        assert_int_equal(pthread_create(&ranks[r].thread, NULL, rank_main, &ranks[r]), 0);
    }
    for (int r = 0; r < PP * dp; r++)
        pthread_join(ranks[r].thread, NULL);
    return id;
}

/* The locks GPU `gpu` must have seen: memory and SM at max, each change of the plan's
 * frequency over `iterations` iterations, then both resets. Returns the count written. */
static size_t expected_log(const struct fixture *f, int rank, int iterations, char *kind,
                           unsigned *mhz)
{
    const cJSON *list = cJSON_GetArrayItem(f->plan_json, rank % PP), *e;
    unsigned current = 1980;
    size_t n = 0;

    kind[n] = 'M', mhz[n++] = 2619;
    kind[n] = 'G', mhz[n++] = 1980;
    for (int i = 0; i < iterations; i++) {
        cJSON_ArrayForEach(e, list) {
            unsigned want = (unsigned)cJSON_GetArrayItem(e, 1)->valueint;
            if (want != 0 && want != current) {
                kind[n] = 'G', mhz[n++] = want;
                current = want;
            }
        }
    }
    kind[n] = 'g', mhz[n++] = 0;
    kind[n] = 'm', mhz[n++] = 0;
    return n;
}

static void check_clock_log(const struct fixture *f, int ranks, int iterations)
{
    static unsigned gpu[MAX_LOG], lo[MAX_LOG], hi[MAX_LOG], want_mhz[MAX_LOG];
    static char kind[MAX_LOG], want_kind[MAX_LOG];
    size_t n = zt_fake_nvml()->clock_log(gpu, kind, lo, hi, MAX_LOG);

    assert_true(n < MAX_LOG);
    for (int r = 0; r < ranks; r++) {
        size_t want = expected_log(f, r, iterations, want_kind, want_mhz), got = 0;
        for (size_t i = 0; i < n; i++) {
            if (gpu[i] != (unsigned)r)
                continue;
            assert_true(got < want);
            if (kind[i] != want_kind[got] || lo[i] != want_mhz[got] || hi[i] != want_mhz[got])
                fail_msg("GPU %d, lock %zu: got %c [%u, %u], the plan wants %c [%u, %u]", r, got,
                         kind[i], lo[i], hi[i], want_kind[got], want_mhz[got], want_mhz[got]);
            got++;
        }
        assert_int_equal(got, want);
    }
}

/* ---- The plan, lock by lock ------------------------------------------------------------------ */

static void test_pfo_client_eight_ranks_follow_the_plan(void **state)
{
    struct fixture *f = *state;
    struct rank ranks[MAX_RANKS];
    unsigned mw[64];
    char *id;

    zt_fake_nvml_reset("gpus=8");
    assert_int_equal(zeus_devices_create(&f->devs), ZEUS_OK);
    for (unsigned g = 0; g < 8; g++) /* off the default, so that the reset shows */
        assert_int_equal(zeus_gpu_set_power_limit(f->devs, g, 500.0), ZEUS_OK);
    id = run_ranks(f, ranks, 2, 2);
    for (int r = 0; r < 8; r++) {
        if (ranks[r].run != ZEUS_OK)
            fail_msg("rank %d: %s: %s", r, zeus_status_name(ranks[r].run), ranks[r].detail);
        assert_string_equal(zeus_pfo_job_id(ranks[r].pfo), id);
        assert_int_equal(zeus_pfo_schedule_length(ranks[r].pfo),
                         cJSON_GetArraySize(cJSON_GetArrayItem(f->plan_json, r % PP)));
        zeus_pfo_destroy(ranks[r].pfo); /* drains the queue, then resets */
    }
    check_clock_log(f, 8, 2);
    /* the power limit was set back to its default (700 W) once per GPU */
    assert_int_equal(zt_fake_nvml()->power_limit_log(NULL, mw, 64), 16);
    for (int r = 8; r < 16; r++)
        assert_int_equal(mw[r], 700000);
    free(id);
}

/*
 * Perseus end to end: `zeus perseus plan` plans the shared 4 x 8 profile, the server serves
 * one of its plans, and the 8 ranks lock the clocks that plan names. The planner's plan is
 * lowtime's own (test_perseus_plan checks that); here it is the file the server reads.
 */
static void test_pfo_client_planner_to_ranks(void **state)
{
    struct fixture *f = *state;
    struct rank ranks[MAX_RANKS];
    char profile[1024], outdir[512];
    struct zt_cli plan;
    char *id;

    snprintf(profile, sizeof profile, "%s/perseus/profile-s4-m8.csv", getenv("ZEUS_TEST_DATA"));
    snprintf(outdir, sizeof outdir, "%s/plans", f->dir); /* zt_mkdtemp paths are short */
    zt_cli_run(&plan, "perseus", "plan", "--profile", profile, "--stages", "4",
               "--micro-batches", "8", "--output-dir", outdir, (char *)NULL);
    if (plan.status != 0)
        fail_msg("zeus perseus plan exited %d: %s", plan.status, plan.err);
    zt_cli_free(&plan);

    zt_pfo_stop(&f->server); /* the fixture's server serves lowtime's copy; serve ours */
    cJSON_Delete(f->plan_json);
    snprintf(f->plan, sizeof f->plan, "%s/freqs_pipeline_00100.py", outdir);
    f->plan_json = zt_pfo_plan_json(f->plan);
    assert_non_null(f->plan_json);
    assert_int_equal(cJSON_GetArraySize(f->plan_json), PP);
    zt_pfo_start(&f->server, "PointSolution3D", f->plan, NULL, 0);

    zt_fake_nvml_reset("gpus=8");
    assert_int_equal(zeus_devices_create(&f->devs), ZEUS_OK);
    id = run_ranks(f, ranks, 2, 1);
    for (int r = 0; r < 8; r++) {
        if (ranks[r].run != ZEUS_OK)
            fail_msg("rank %d: %s: %s", r, zeus_status_name(ranks[r].run), ranks[r].detail);
        zeus_pfo_destroy(ranks[r].pfo);
    }
    check_clock_log(f, 8, 1);
    free(id);
}

/* ---- Checks on the training thread's calls -------------------------------------------------- */

static void test_pfo_client_instruction_checks(void **state)
{
    struct fixture *f = *state;
    struct rank ranks[PP];
    const char *name;
    unsigned mhz;
    size_t len;
    char *id;

    zt_fake_nvml_reset("gpus=4");
    assert_int_equal(zeus_devices_create(&f->devs), ZEUS_OK);
    id = run_ranks(f, ranks, 1, 0);
    for (int r = 0; r < PP; r++)
        assert_int_equal(ranks[r].create, ZEUS_OK);
    len = zeus_pfo_schedule_length(ranks[0].pfo);
    assert_int_equal(zeus_pfo_schedule_entry(ranks[0].pfo, 0, &name, &mhz), ZEUS_OK);
    assert_string_equal(name, "forward");
    assert_int_equal(zeus_pfo_on_instruction_begin(ranks[0].pfo, "backward"),
                     ZEUS_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(zeus_last_error(), "The next expected instruction is forward, not backward"));
    assert_int_equal(zeus_pfo_on_instruction_begin(ranks[0].pfo, "forward"), ZEUS_OK);
    assert_int_equal(zeus_pfo_on_step_end(ranks[0].pfo), ZEUS_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(zeus_last_error(), "more frequencies than expected"));
    for (size_t k = 1; k < len; k++) {
        assert_int_equal(zeus_pfo_schedule_entry(ranks[0].pfo, k, &name, NULL), ZEUS_OK);
        assert_int_equal(zeus_pfo_on_instruction_begin(ranks[0].pfo, name), ZEUS_OK);
    }
    assert_int_equal(zeus_pfo_on_instruction_begin(ranks[0].pfo, "forward"), ZEUS_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(zeus_last_error(), "fewer frequencies than expected"));
    assert_int_equal(zeus_pfo_on_step_end(ranks[0].pfo), ZEUS_OK);
    assert_int_equal(zeus_pfo_schedule_entry(ranks[0].pfo, len, &name, &mhz), ZEUS_ERR_INVALID_ARGUMENT);
    for (int r = 0; r < PP; r++)
        zeus_pfo_destroy(ranks[r].pfo);
    zeus_pfo_destroy(NULL);
    free(id);
}

/* A lock the driver refuses is reported by a later call of the training thread, once. */
static void test_pfo_client_failed_lock_is_reported(void **state)
{
    struct fixture *f = *state;
    struct rank ranks[PP];
    zeus_status s = ZEUS_OK;
    char *id;

    zt_fake_nvml_reset("gpus=4");
    assert_int_equal(zeus_devices_create(&f->devs), ZEUS_OK);
    id = run_ranks(f, ranks, 1, 0);
    zt_fake_nvml_fail("nvmlDeviceSetGpuLockedClocks", 0, 999 /* NVML_ERROR_UNKNOWN */, 1);
    for (int i = 0; i < 3000 && s == ZEUS_OK; i++) { /* up to 30 s on a loaded machine */
        s = run_iteration(&ranks[0]); /* until the controller got to the refused lock */
        if (s == ZEUS_OK) {
            struct timespec ts = {0, 10000000};
            nanosleep(&ts, NULL);
        }
    }
    assert_int_not_equal(s, ZEUS_OK);
    assert_non_null(strstr(zeus_last_error(), "frequency controller could not lock GPU 0's SM clock"));
    for (int r = 0; r < PP; r++)
        zeus_pfo_destroy(ranks[r].pfo);
    free(id);
}

/* An unprivileged GPU fails create before the rank is registered; a GPU set up for a job the
 * server does not know is reset again. */
static void test_pfo_client_refusals(void **state)
{
    struct fixture *f = *state;
    zeus_pfo_options o;
    zeus_pfo *pfo = NULL;
    char kind[16];
    unsigned lo[16];

    zt_fake_nvml_reset("gpus=4;root=0");
    assert_int_equal(zeus_devices_create(&f->devs), ZEUS_OK);
    options(&o, f, 0, 1);
    o.job_id = "any";
    assert_int_equal(zeus_pfo_create(f->devs, &o, &pfo), ZEUS_ERR_NO_PERMISSION);
    assert_non_null(strstr(zeus_last_error(), "Perseus: cannot lock GPU 0's memory clock"));
    assert_null(pfo);
    zeus_devices_destroy(f->devs);

    zt_fake_nvml_reset("gpus=4");
    assert_int_equal(zeus_devices_create(&f->devs), ZEUS_OK);
    assert_int_equal(zeus_pfo_create(f->devs, &o, &pfo), ZEUS_ERR_NOT_FOUND);
    assert_non_null(strstr(zeus_last_error(), "PFO server returned status code 404"));
    assert_non_null(strstr(zeus_last_error(), "Unknown job id 'any'"));
    assert_null(pfo);
    assert_int_equal(zt_fake_nvml()->clock_log(NULL, kind, lo, NULL, 16), 4);
    assert_memory_equal(kind, "MGgm", 4);

    o.world_size = 3;
    assert_int_equal(zeus_pfo_create(f->devs, &o, &pfo), ZEUS_ERR_INVALID_ARGUMENT);
    options(&o, f, 4, 1);
    o.job_id = "any";
    assert_int_equal(zeus_pfo_create(f->devs, &o, &pfo), ZEUS_ERR_INVALID_ARGUMENT);
    assert_int_equal(zeus_pfo_register_job(NULL, kind, sizeof kind), ZEUS_ERR_INVALID_ARGUMENT);
}

/* ---- The exit hook ------------------------------------------------------------------------------ */

static char exit_log_path[1100];
static int exit_log_child;

/* A destructor of the executable runs after every atexit handler (libzeus's hook may have been
 * registered by an earlier test, before this one's fork). Only the forked child writes. */
__attribute__((destructor)) static void write_clock_log_at_exit(void)
{
    static unsigned gpu[MAX_LOG];
    static char kind[MAX_LOG];
    size_t n;
    FILE *fp;

    if (!exit_log_child)
        return;
    n = zt_fake_nvml()->clock_log(gpu, kind, NULL, NULL, MAX_LOG);
    fp = fopen(exit_log_path, "w");
    for (size_t k = 0; fp != NULL && k < n && k < MAX_LOG; k++)
        fprintf(fp, "%u%c", gpu[k], kind[k]); /* "0M0G1M..." */
    if (fp != NULL)
        fclose(fp);
}

/* A process that exits without destroying its clients still has its clocks reset. */
static void test_pfo_client_exit_resets_clocks(void **state)
{
    struct fixture *f = *state;
    int status = -1;
    pid_t pid;
    char *log;

    snprintf(exit_log_path, sizeof exit_log_path, "%s/exit-log", f->dir);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rank ranks[PP];
        zeus_pfo_options o;
        char id[ZEUS_PFO_JOB_ID_MAX];
        exit_log_child = 1;
        if (zt_fake_nvml()->reset("gpus=4") != 0 || zeus_devices_create(&f->devs) != ZEUS_OK)
            _exit(3);
        options(&o, f, 0, 1);
        if (zeus_pfo_register_job(&o, id, sizeof id) != ZEUS_OK)
            _exit(4);
        for (int r = 0; r < PP; r++) {
            ranks[r] = (struct rank){.f = f, .job_id = id, .rank = r, .dp = 1, .iterations = 1};
            pthread_create(&ranks[r].thread, NULL, rank_main, &ranks[r]);
        }
        for (int r = 0; r < PP; r++)
            if (pthread_join(ranks[r].thread, NULL) != 0 || ranks[r].run != ZEUS_OK)
                _exit(5);
        exit(0); /* no zeus_pfo_destroy */
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    log = zt_read_file(exit_log_path);
    assert_non_null(log);
    /* each GPU's last two entries are its resets (the GPUs' entries interleave) */
    for (unsigned g = 0; g < PP; g++) {
        char last[2] = {0, 0};
        for (size_t k = 0; log[k] != '\0' && log[k + 1] != '\0'; k += 2) {
            if ((unsigned)(log[k] - '0') == g) {
                last[0] = last[1];
                last[1] = log[k + 1];
            }
        }
        if (last[0] != 'g' || last[1] != 'm')
            fail_msg("GPU %u ends with %c%c, not the resets gm (log %s)", g, last[0], last[1], log);
    }
    free(log);
}

/* ---- Through zeusd ---------------------------------------------------------------------------- */

static void test_pfo_client_through_zeusd(void **state)
{
    struct fixture *f = *state;
    struct rank ranks[PP];
    char *id;

    setenv("ZEUS_FAKE_NVML", "gpus=4", 1); /* the daemon's driver: root */
    zd_proc_spawn(&f->zeusd, f->dir, 0, NULL);
    assert_int_equal(zd_proc_ready_or_report(&f->zeusd), 0);
    f->zeusd_running = 1;
    setenv("ZEUSD_SOCK_PATH", f->zeusd.sock, 1);
    zt_fake_nvml_reset("gpus=4;root=0"); /* this process: unprivileged */
    assert_int_equal(zeus_devices_create(&f->devs), ZEUS_OK);
    id = run_ranks(f, ranks, 1, 2);
    for (int r = 0; r < PP; r++) {
        if (ranks[r].run != ZEUS_OK)
            fail_msg("rank %d: %s: %s", r, zeus_status_name(ranks[r].run), ranks[r].detail);
        zeus_pfo_destroy(ranks[r].pfo);
    }
    assert_int_equal(zt_fake_nvml()->clock_log(NULL, NULL, NULL, NULL, 0), 0);
    free(id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pfo_client_eight_ranks_follow_the_plan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pfo_client_planner_to_ranks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pfo_client_instruction_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pfo_client_failed_lock_is_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pfo_client_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pfo_client_exit_resets_clocks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pfo_client_through_zeusd, setup, teardown),
    };
    return cmocka_run_group_tests_name("pfo_client", tests, NULL, NULL);
}
