/*
 * test_cli_run.c - `zeus run` as a user runs it: the real binary over the fake NVML, with no
 * RAPL tree (ZEUS_SYSFS_ROOT names a missing folder), checking exit-status passthrough, the
 * JSON report's shape and values, bad --gpus values, the CSV log, commands that cannot
 * start, and the signals a command wrapper must pass on or ignore. One test builds a fake
 * RAPL tree to see CPU and DRAM energy reported and added to the total. The repetition tests
 * (-r N, --warmup, --cooldown) count runs through a file each run appends a line to.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "cli_support.h"
#include "sysfs_tree.h"
#include "test_support.h"

/* Two fake GPUs drawing a constant 300 W, counters updated every 100 ms (the default). */
#define TWO_GPUS_300W "gpus=2;power_w=300"

/* The fake's counter moves in 100 ms steps, so each end of a window may lag by one step. */
#define COUNTER_STEP_J(power_w) ((power_w) * 0.1)

/* ---- Fixtures ----------------------------------------------------------------------------- */

struct fixture {
    struct zt_cli cli;
    char *dir; /* a temporary folder for CSV logs and scripts */
    cJSON *json;
    char *csv;          /* a CSV log read back */
    zt_sysfs *sysfs;    /* a fake RAPL tree, for the tests that make one */
    char *sysfs_before; /* ZEUS_SYSFS_ROOT as CTest set it (a missing folder) */
    char runs_path[512]; /* the repetition tests' run counter, in `dir` */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    if (f == NULL)
        return -1;
    f->dir = zt_mkdtemp();
    snprintf(f->runs_path, sizeof f->runs_path, "%s/runs", f->dir);
    setenv("ZEUS_FAKE_NVML", TWO_GPUS_300W, 1);
    unsetenv("CUDA_VISIBLE_DEVICES");
    if (getenv("ZEUS_SYSFS_ROOT") != NULL)
        f->sysfs_before = strdup(getenv("ZEUS_SYSFS_ROOT"));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    zt_cli_free(&f->cli);
    cJSON_Delete(f->json);
    free(f->csv);
    zt_sysfs_destroy(f->sysfs);
    if (f->sysfs_before != NULL)
        setenv("ZEUS_SYSFS_ROOT", f->sysfs_before, 1);
    free(f->sysfs_before);
    zt_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* ---- Helpers ------------------------------------------------------------------------------ */

/* Parse what zeus printed on stdout; --json must print one object and nothing else. */
static cJSON *parse_stdout(struct fixture *f)
{
    const char *end = NULL;

    f->json = cJSON_ParseWithOpts(f->cli.out, &end, 0);
    if (f->json == NULL)
        fail_msg("stdout is not JSON: '%s' (stderr: %s)", f->cli.out, f->cli.err);
    assert_true(cJSON_IsObject(f->json));
    while (*end == '\n' || *end == ' ')
        end++;
    assert_string_equal(end, "");
    return f->json;
}

static cJSON *member(const cJSON *obj, const char *key)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (v == NULL)
        fail_msg("JSON has no '%s'", key);
    return v;
}

static double number(const cJSON *obj, const char *key)
{
    cJSON *v = member(obj, key);
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

static void assert_empty_object(const cJSON *obj, const char *key)
{
    cJSON *v = member(obj, key);
    assert_true(cJSON_IsObject(v));
    assert_null(v->child);
}

/* Run with --gpus `value`; it must fail with exit 2, nothing on stdout, and name `shown`. */
static void assert_gpus_refused(struct fixture *f, const char *value, const char *shown)
{
    zt_cli_free(&f->cli);
    zt_cli_run(&f->cli, "run", "--gpus", value, "--", "true", NULL);
    if (f->cli.status != 2 || strstr(f->cli.err, shown) == NULL)
        fail_msg("--gpus '%s': exit %d, stderr '%s' (wanted 2 and '%s')", value, f->cli.status,
                 f->cli.err, shown);
    assert_string_equal(f->cli.out, "");
}

/* ---- Exit status -------------------------------------------------------------------------- */

static void test_run_exit_code_passes_through(void **state)
{
    struct fixture *f = *state;

    zt_cli_run(&f->cli, "run", "--", "sh", "-c", "exit 3", NULL);
    assert_int_equal(f->cli.status, 3);
    assert_non_null(strstr(f->cli.err, "exited with status 3"));
}

static void test_run_killed_command_gives_128_plus_signal(void **state)
{
    struct fixture *f = *state;

    zt_cli_run(&f->cli, "run", "--", "sh", "-c", "kill -TERM $$", NULL);
    assert_int_equal(f->cli.status, 128 + SIGTERM);
}

static void test_run_killed_command_report_names_the_signal(void **state)
{
    struct fixture *f = *state;

    zt_cli_run(&f->cli, "run", "--", "sh", "-c", "kill -SEGV $$", NULL);
    assert_int_equal(f->cli.status, 128 + SIGSEGV);
    if (strstr(f->cli.err, "killed by signal 11 (SIGSEGV)") == NULL)
        fail_msg("stderr does not name the signal: '%s'", f->cli.err);
    assert_null(strstr(f->cli.err, "exited with status"));
}

/* Run zeus with its stdout on /dev/full (every write fails); returns its exit status. */
static int run_with_stdout_full(const char *command)
{
    char line[1024];
    int status;

    snprintf(line, sizeof line, "'%s' run --json -- %s >/dev/full 2>/dev/null",
             zt_env_path("ZEUS_CLI"), command);
    status = system(line);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void test_run_json_unprintable_report_is_a_failure(void **state)
{
    (void)state;
    /* a successful command whose report is lost must not look like success to a script */
    assert_int_equal(run_with_stdout_full("true"), 125);
    /* a failing command keeps its own status */
    assert_int_equal(run_with_stdout_full("sh -c 'exit 3'"), 3);
}

static void test_run_demo_load_exit_code_passes_through(void **state)
{
    struct fixture *f = *state;

    zt_cli_run(&f->cli, "run", "--", zt_env_path("ZEUS_DEMO_LOAD"), "0.2", "5", NULL);
    assert_int_equal(f->cli.status, 5);
    assert_non_null(strstr(f->cli.out, "demo load:"));
}

static void test_run_command_not_found_gives_127(void **state)
{
    struct fixture *f = *state;

    zt_cli_run(&f->cli, "run", "--", "zeus-no-such-command-here", NULL);
    assert_int_equal(f->cli.status, 127);
    assert_non_null(strstr(f->cli.err, "cannot run zeus-no-such-command-here"));
    assert_string_equal(f->cli.out, "");
}

static void test_run_not_executable_gives_126(void **state)
{
    struct fixture *f = *state;
    char path[512];

    snprintf(path, sizeof path, "%s/script.sh", f->dir);
    zt_write_file(path, "#!/bin/sh\nexit 0\n");
    chmod(path, 0644);
    zt_cli_run(&f->cli, "run", "--", path, NULL);
    assert_int_equal(f->cli.status, 126);
    assert_non_null(strstr(f->cli.err, "cannot run"));
}

/* ---- Output ------------------------------------------------------------------------------- */

static void test_run_table_goes_to_stderr_leaving_stdout_to_command(void **state)
{
    struct fixture *f = *state;

    zt_cli_run(&f->cli, "run", "--", "echo", "hello", NULL);
    assert_int_equal(f->cli.status, 0);
    assert_string_equal(f->cli.out, "hello\n");
    assert_non_null(strstr(f->cli.err, "GPU 0"));
    assert_non_null(strstr(f->cli.err, "GPU 1"));
    assert_non_null(strstr(f->cli.err, "total"));
}

/* GH200 and MIG: the table says what a GPU's value covers, and the warnings say why. */
static void test_run_table_notes_module_scope_and_whole_mig_gpu(void **state)
{
    struct fixture *f = *state;

    setenv("ZEUS_FAKE_NVML", "gpus=3;gpu0.module_scope=1;gpu2.mig=1", 1);
    /* GPU 0, and slice 1 of GPU 2 (fake_nvml.h's FAKE_MIG_UUID_FORMAT) */
    setenv("CUDA_VISIBLE_DEVICES", "0,MIG-00000002-6d1a-4c2e-9f3b-000000000001", 1);
    /* longer than the counter's 100 ms step, so no "read 0" note takes the place */
    zt_cli_run(&f->cli, "run", "--cpus", "none", "--", "sleep", "0.25", NULL);
    assert_int_equal(f->cli.status, 0);
    assert_non_null(strstr(f->cli.err, "(whole module: CPU + GPU)"));
    assert_non_null(strstr(f->cli.err, "(whole GPU: MIG)"));
    assert_non_null(strstr(f->cli.err, "entire module"));
    assert_non_null(strstr(f->cli.err, "MIG mode"));
}

static void test_run_json_has_the_documented_shape(void **state)
{
    struct fixture *f = *state;
    cJSON *j, *cmd, *gpu;

    zt_cli_run(&f->cli, "run", "--json", "--", "sleep", "0.5", NULL);
    assert_int_equal(f->cli.status, 0);
    j = parse_stdout(f);
    cmd = member(j, "command");
    assert_true(cJSON_IsArray(cmd));
    assert_int_equal(cJSON_GetArraySize(cmd), 2);
    assert_string_equal(cJSON_GetArrayItem(cmd, 0)->valuestring, "sleep");
    assert_string_equal(cJSON_GetArrayItem(cmd, 1)->valuestring, "0.5");
    assert_int_equal((int)number(j, "exit_code"), 0);
    assert_true(number(j, "time_s") >= 0.5);
    gpu = member(j, "gpu_energy_j");
    assert_true(cJSON_IsObject(gpu));
    assert_int_equal(cJSON_GetArraySize(gpu), 2);
    assert_true(cJSON_IsNumber(member(gpu, "0")));
    assert_true(cJSON_IsNumber(member(gpu, "1")));
    assert_empty_object(j, "cpu_energy_j"); /* no RAPL tree in the tests */
    assert_empty_object(j, "dram_energy_j");
    assert_near(number(j, "total_energy_j"), number(gpu, "0") + number(gpu, "1"), 0.01);
}

static void test_run_json_energy_matches_fake_power(void **state)
{
    struct fixture *f = *state;
    cJSON *j, *gpu;
    double time_s;

    zt_cli_run(&f->cli, "run", "--json", "--", "sleep", "0.5", NULL);
    assert_int_equal(f->cli.status, 0);
    j = parse_stdout(f);
    time_s = number(j, "time_s");
    gpu = member(j, "gpu_energy_j");
    assert_true(number(gpu, "0") > 0);
    /* 300 W for time_s, give or take one counter step at each end */
    assert_near(number(gpu, "0"), 300.0 * time_s, 2 * COUNTER_STEP_J(300.0));
    assert_near(number(gpu, "1"), 300.0 * time_s, 2 * COUNTER_STEP_J(300.0));
}

static void test_run_approx_instant_energy_fills_short_command(void **state)
{
    struct fixture *f = *state;
    cJSON *gpu;

    zt_cli_run(&f->cli, "run", "--approx-instant-energy", "--json", "--", "true", NULL);
    assert_int_equal(f->cli.status, 0);
    gpu = member(parse_stdout(f), "gpu_energy_j");
    /* far shorter than the 100 ms counter step: the counter reads 0, instant power fills in */
    assert_true(number(gpu, "0") > 0);
    assert_near(number(gpu, "0"), 300.0 * number(f->json, "time_s"), 1.0);
}

/*
 * Package 0 with a DRAM zone, package 1 without. The command itself moves the counters (as
 * the hardware would while it runs), so the energies are known exactly: 2 J, 1 J, 0 J.
 */
static void test_run_json_reports_cpu_and_dram_from_rapl(void **state)
{
    struct fixture *f = *state;
    char pkg[1024], dram[1024];
    cJSON *cpu, *dram_j, *gpu;

    f->sysfs = zt_sysfs_create();
    zt_sysfs_add_powercap(f->sysfs);
    zt_sysfs_add_package(f->sysfs, 0, 1000000, 262143328850);
    zt_sysfs_add_dram(f->sysfs, 0, 0, 500000, 65712999613);
    zt_sysfs_add_package(f->sysfs, 1, 7000000, 262143328850);
    zt_sysfs_use(f->sysfs);
    zt_sysfs_path(f->sysfs, "intel-rapl:0", "energy_uj", pkg, sizeof pkg);
    zt_sysfs_path(f->sysfs, "intel-rapl:0:0", "energy_uj", dram, sizeof dram);
    zt_cli_run(&f->cli, "run", "--json", "--", "sh", "-c",
               "printf 3000000 > \"$1.new\" && mv \"$1.new\" \"$1\" && "
               "printf 1500000 > \"$2.new\" && mv \"$2.new\" \"$2\"",
               "sh", pkg, dram, NULL);
    assert_int_equal(f->cli.status, 0);
    cpu = member(parse_stdout(f), "cpu_energy_j");
    assert_int_equal(cJSON_GetArraySize(cpu), 2);
    assert_near(number(cpu, "0"), 2.0, 1e-6);
    assert_near(number(cpu, "1"), 0.0, 1e-6);
    dram_j = member(f->json, "dram_energy_j");
    assert_int_equal(cJSON_GetArraySize(dram_j), 1); /* package 1 has no DRAM key */
    assert_near(number(dram_j, "0"), 1.0, 1e-6);
    gpu = member(f->json, "gpu_energy_j");
    /* the total adds GPUs, CPU packages and DRAM (unlike Zeus's GPU-only total_energy) */
    assert_near(number(f->json, "total_energy_j"),
                number(gpu, "0") + number(gpu, "1") + 2.0 + 1.0, 0.01);
}

static void test_run_json_exit_code_of_killed_command(void **state)
{
    struct fixture *f = *state;

    zt_cli_run(&f->cli, "run", "--json", "--", "sh", "-c", "kill -TERM $$", NULL);
    assert_int_equal(f->cli.status, 143);
    assert_int_equal((int)number(parse_stdout(f), "exit_code"), 143);
    assert_string_equal(cJSON_GetStringValue(member(f->json, "signal")), "SIGTERM");
}

static void test_run_gpus_list_selects_those_gpus(void **state)
{
    struct fixture *f = *state;
    cJSON *gpu;

    zt_cli_run(&f->cli, "run", "--gpus", "1", "--cpus", "none", "--json", "--", "true", NULL);
    assert_int_equal(f->cli.status, 0);
    gpu = member(parse_stdout(f), "gpu_energy_j");
    assert_int_equal(cJSON_GetArraySize(gpu), 1);
    assert_non_null(cJSON_GetObjectItemCaseSensitive(gpu, "1"));
}

static void test_run_gpus_none_measures_no_gpu(void **state)
{
    struct fixture *f = *state;

    zt_cli_run(&f->cli, "run", "--gpus=none", "--json", "--", "true", NULL);
    assert_int_equal(f->cli.status, 0);
    assert_empty_object(parse_stdout(f), "gpu_energy_j");
    assert_near(number(f->json, "total_energy_j"), 0.0, 1e-9);
}

/* ---- Bad arguments ------------------------------------------------------------------------ */

static void test_run_gpus_bad_values_exit_2_naming_the_value(void **state)
{
    struct fixture *f = *state;

    assert_gpus_refused(f, "x", "'x'");
    assert_gpus_refused(f, "0,a", "'a'");
    assert_gpus_refused(f, "-1", "'-1'");
    assert_gpus_refused(f, "1.5", "'1.5'");
    assert_gpus_refused(f, " 1", "' 1'");
    assert_gpus_refused(f, "", "empty");
    assert_gpus_refused(f, "0,,1", "empty");
    assert_gpus_refused(f, "0,", "empty");
    assert_gpus_refused(f, "0,0", "listed twice");
}

static void test_run_gpu_out_of_range_exit_2(void **state)
{
    struct fixture *f = *state;

    setenv("ZEUS_FAKE_NVML", "gpus=1;power_w=300", 1);
    assert_gpus_refused(f, "1", "GPU 1");
    assert_gpus_refused(f, "0,7", "GPU 7");
}

static void test_run_unknown_option_and_no_command_exit_2(void **state)
{
    struct fixture *f = *state;

    zt_cli_run(&f->cli, "run", "--frobnicate", "--", "true", NULL);
    assert_int_equal(f->cli.status, 2);
    assert_non_null(strstr(f->cli.err, "--frobnicate"));
    zt_cli_free(&f->cli);
    zt_cli_run(&f->cli, "run", "--gpus", "0", NULL);
    assert_int_equal(f->cli.status, 2);
    assert_non_null(strstr(f->cli.err, "no command"));
}

/* ---- CSV log ------------------------------------------------------------------------------ */

static void test_run_csv_written_in_zeus_format(void **state)
{
    struct fixture *f = *state;
    static const char header[] = "start_time,window_name,elapsed_time,gpu0_energy,gpu1_energy";
    char path[512];

    snprintf(path, sizeof path, "%s/logs/run.csv", f->dir);
    zt_cli_run(&f->cli, "run", "--csv", path, "--", "sleep", "0.2", NULL);
    assert_int_equal(f->cli.status, 0);
    f->csv = zt_read_file(path);
    assert_non_null(f->csv);
    if (strncmp(f->csv, header, sizeof header - 1) != 0)
        fail_msg("CSV header is '%s'", f->csv);
    assert_non_null(strstr(f->csv, ",zeus.run,"));
}

/* A missing folder and a folder in the file's place are one failure: the file is unwritable. */
static void test_run_unwritable_csv_gives_125_whatever_the_cause(void **state)
{
    struct fixture *f = *state;
    char missing[512], file[512];

    /* a regular file where a folder should be: the folder cannot be created */
    snprintf(file, sizeof file, "%s/plain", f->dir);
    zt_write_file(file, "x");
    snprintf(missing, sizeof missing, "%s/plain/folder/run.csv", f->dir);
    zt_cli_run(&f->cli, "run", "--csv", missing, "--", "true", NULL);
    assert_int_equal(f->cli.status, 125);
    assert_non_null(strstr(f->cli.err, "cannot write the CSV file"));
    zt_cli_free(&f->cli);
    zt_cli_run(&f->cli, "run", "--csv", f->dir, "--", "true", NULL);
    assert_int_equal(f->cli.status, 125);
    assert_non_null(strstr(f->cli.err, "cannot write the CSV file"));
}

/* ---- Signals ------------------------------------------------------------------------------ */

static void test_run_sigterm_is_forwarded_to_command(void **state)
{
    struct fixture *f = *state;

    zt_cli_start(&f->cli, "run", "--", "sh", "-c", "echo started; exec sleep 30", NULL);
    zt_cli_wait_for_output(&f->cli, "started", 20.0);
    kill(f->cli.pid, SIGTERM);
    zt_cli_finish(&f->cli, 20.0);
    assert_int_equal(f->cli.status, 128 + SIGTERM);
    /* zeus outlived its command and still reported */
    assert_non_null(strstr(f->cli.err, "was killed by signal 15 (SIGTERM)"));
}

static void test_run_sigint_to_zeus_alone_is_ignored(void **state)
{
    struct fixture *f = *state;

    zt_cli_start(&f->cli, "run", "--", "sh", "-c", "echo started; sleep 0.5; exit 4", NULL);
    zt_cli_wait_for_output(&f->cli, "started", 20.0);
    kill(f->cli.pid, SIGINT); /* the terminal would send it to the command as well */
    zt_cli_finish(&f->cli, 20.0);
    assert_int_equal(f->cli.status, 4);
}

/* ---- Repetitions (-r N, --warmup K, --cooldown S) ----------------------------------------- */

/* Each run of SH_COUNT appends one line to the file named by its $1. */
#define SH_COUNT "echo x >> \"$1\""
/* As SH_COUNT, and exits 3 on its second run. */
#define SH_FAIL_2ND SH_COUNT "; [ $(wc -l < \"$1\") -lt 2 ] || exit 3"
/* As SH_COUNT, and kills itself with SIGTERM on its second run. */
#define SH_KILL_2ND SH_COUNT "; [ $(wc -l < \"$1\") -lt 2 ] || kill -TERM $$"

/* How many runs appended to the counter (0 when none ran). */
static int runs_counted(struct fixture *f)
{
    char *text = zt_read_file(f->runs_path);
    int lines = 0;

    for (const char *p = text; p != NULL && *p != '\0'; p++)
        lines += *p == '\n';
    free(text);
    return lines;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A value of the measurement object `run`: its `key`, or `sub` inside the object `key`. */
static double value_of(const cJSON *run, const char *key, const char *sub)
{
    return sub != NULL ? number(member(run, key), sub) : number(run, key);
}

/*
 * Recompute mean, sample standard deviation (n - 1), min and max of one value over "runs"
 * and compare with what zeus printed. The runs are rounded to 1 mJ (1 us for the time) in
 * JSON while zeus works from the exact values, hence the tolerance.
 */
static void assert_stats_match_runs(const cJSON *j, const char *key, const char *sub,
                                    double tol)
{
    const cJSON *runs = member(j, "runs"), *run;
    double sum = 0, sq = 0, lo = INFINITY, hi = -INFINITY, mean;
    int n = cJSON_GetArraySize(runs);

    assert_true(n > 1);
    cJSON_ArrayForEach(run, runs) {
        double v = value_of(run, key, sub);

        sum += v;
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    mean = sum / n;
    cJSON_ArrayForEach(run, runs) {
        sq += pow(value_of(run, key, sub) - mean, 2);
    }
    assert_near(value_of(member(j, "mean"), key, sub), mean, tol);
    assert_near(value_of(member(j, "stddev"), key, sub), sqrt(sq / (n - 1)), tol);
    assert_near(value_of(member(j, "min"), key, sub), lo, tol);
    assert_near(value_of(member(j, "max"), key, sub), hi, tol);
}

/* `zeus run OPT VALUE -- true` must fail with exit 2, nothing on stdout, and name `shown`. */
static void assert_series_refused(struct fixture *f, const char *opt, const char *value,
                                  const char *shown)
{
    zt_cli_free(&f->cli);
    zt_cli_run(&f->cli, "run", opt, value, "--", "true", NULL);
    if (f->cli.status != 2 || strstr(f->cli.err, shown) == NULL)
        fail_msg("%s '%s': exit %d, stderr '%s' (wanted 2 and '%s')", opt, value,
                 f->cli.status, f->cli.err, shown);
    assert_string_equal(f->cli.out, "");
}

static void test_run_repeat_runs_the_command_n_times(void **state)
{
    struct fixture *f = *state;

    zt_cli_run(&f->cli, "run", "-r", "3", "--", "sh", "-c", SH_COUNT, "sh", f->runs_path,
               NULL);
    assert_int_equal(f->cli.status, 0);
    assert_int_equal(runs_counted(f), 3);
    /* a progress line per run, then the statistics */
    assert_non_null(strstr(f->cli.err, "run 3/3: exited with status 0"));
    assert_non_null(strstr(f->cli.err, ": 3 runs\n"));
    assert_non_null(strstr(f->cli.err, "stddev"));
    assert_non_null(strstr(f->cli.err, "GPU 1 (J)"));
    assert_non_null(strstr(f->cli.err, "total (J)"));
}

/* Warmup runs are run but not measured: not in "runs", not in the CSV log. */
static void test_run_warmup_adds_unmeasured_runs(void **state)
{
    struct fixture *f = *state;
    char csv[512];
    int rows = 0;

    snprintf(csv, sizeof csv, "%s/run.csv", f->dir);
    zt_cli_run(&f->cli, "run", "--repeat=3", "--warmup", "2", "--json", "--csv", csv, "--",
               "sh", "-c", SH_COUNT, "sh", f->runs_path, NULL);
    assert_int_equal(f->cli.status, 0);
    assert_int_equal(runs_counted(f), 5);
    assert_int_equal(cJSON_GetArraySize(member(parse_stdout(f), "runs")), 3);
    assert_int_equal((int)number(f->json, "warmup"), 2);
    f->csv = zt_read_file(csv);
    assert_non_null(f->csv);
    for (const char *p = f->csv; (p = strstr(p, ",zeus.run,")) != NULL; p++)
        rows++;
    assert_int_equal(rows, 3);
}

static void test_run_repeat_1_reports_a_single_run_as_before(void **state)
{
    struct fixture *f = *state;

    zt_cli_run(&f->cli, "run", "-r", "1", "--json", "--", "true", NULL);
    assert_int_equal(f->cli.status, 0);
    assert_null(cJSON_GetObjectItemCaseSensitive(parse_stdout(f), "runs"));
    assert_null(cJSON_GetObjectItemCaseSensitive(f->json, "mean"));
    assert_true(number(f->json, "time_s") >= 0);
}

static void test_run_repeat_json_statistics_match_the_runs(void **state)
{
    struct fixture *f = *state;
    const cJSON *run;

    zt_cli_run(&f->cli, "run", "-r", "3", "--json", "--", "sleep", "0.1", NULL);
    assert_int_equal(f->cli.status, 0);
    assert_int_equal(cJSON_GetArraySize(member(parse_stdout(f), "runs")), 3);
    assert_int_equal((int)number(f->json, "repeat"), 3);
    cJSON_ArrayForEach(run, member(f->json, "runs")) {
        assert_int_equal((int)number(run, "exit_code"), 0);
        assert_true(number(run, "time_s") >= 0.1);
        assert_empty_object(run, "cpu_energy_j");
    }
    assert_stats_match_runs(f->json, "time_s", NULL, 1e-5);
    assert_stats_match_runs(f->json, "gpu_energy_j", "0", 2e-3);
    assert_stats_match_runs(f->json, "gpu_energy_j", "1", 2e-3);
    assert_stats_match_runs(f->json, "total_energy_j", NULL, 2e-3);
    assert_empty_object(member(f->json, "mean"), "dram_energy_j");
}

static void test_run_failing_run_ends_the_series_with_its_status(void **state)
{
    struct fixture *f = *state;

    zt_cli_run(&f->cli, "run", "-r", "5", "--", "sh", "-c", SH_FAIL_2ND, "sh",
               f->runs_path, NULL);
    assert_int_equal(f->cli.status, 3);
    assert_int_equal(runs_counted(f), 2);
    assert_non_null(strstr(f->cli.err, "run 2/5: exited with status 3"));
    /* the statistics of the run that succeeded are still printed */
    assert_non_null(strstr(f->cli.err, "2 of 5 runs, run 2 failed (exit status 3)"));
    assert_non_null(strstr(f->cli.err, "GPU 0 (J)"));
}

static void test_run_killed_run_ends_the_series_with_128_plus_signal(void **state)
{
    struct fixture *f = *state;
    cJSON *runs;

    zt_cli_run(&f->cli, "run", "-r", "5", "--json", "--", "sh", "-c", SH_KILL_2ND, "sh",
               f->runs_path, NULL);
    assert_int_equal(f->cli.status, 128 + SIGTERM);
    assert_int_equal(runs_counted(f), 2);
    assert_int_equal((int)number(parse_stdout(f), "exit_code"), 128 + SIGTERM);
    assert_string_equal(cJSON_GetStringValue(member(f->json, "signal")), "SIGTERM");
    runs = member(f->json, "runs");
    assert_int_equal(cJSON_GetArraySize(runs), 2);
    assert_int_equal((int)number(cJSON_GetArrayItem(runs, 1), "exit_code"), 128 + SIGTERM);
    /* the statistics cover the one run that succeeded */
    assert_near(number(member(f->json, "mean"), "time_s"),
                number(cJSON_GetArrayItem(runs, 0), "time_s"), 1e-5);
    assert_near(number(member(f->json, "stddev"), "time_s"), 0.0, 1e-9);
}

static void test_run_failing_warmup_ends_the_series_unmeasured(void **state)
{
    struct fixture *f = *state;

    zt_cli_run(&f->cli, "run", "-r", "3", "--warmup", "2", "--json", "--", "sh", "-c",
               SH_FAIL_2ND, "sh", f->runs_path, NULL);
    assert_int_equal(f->cli.status, 3);
    assert_int_equal(runs_counted(f), 2);
    assert_string_equal(f->cli.out, ""); /* nothing was measured */
    assert_non_null(strstr(f->cli.err, "warmup 2/2: exited with status 3"));
}

static void test_run_repeat_bad_values_exit_2(void **state)
{
    struct fixture *f = *state;

    assert_series_refused(f, "-r", "0", "'0'");
    assert_series_refused(f, "-r", "abc", "'abc'");
    assert_series_refused(f, "--repeat", "-3", "'-3'");
    assert_series_refused(f, "--warmup", "-2", "'-2'");
    assert_series_refused(f, "--cooldown", "-1", "'-1'");
    assert_series_refused(f, "--cooldown", "soon", "'soon'");
    zt_cli_free(&f->cli);
    zt_cli_run(&f->cli, "run", "-r", "3", "--cooldown", "0.1", NULL);
    assert_int_equal(f->cli.status, 2);
    assert_non_null(strstr(f->cli.err, "no command"));
}

/*
 * Each run appends the time it started; with --cooldown 0.5 two starts are at least 0.5 s
 * apart. Lower bounds only: a loaded machine may take longer, never shorter. Not 0.2 s:
 * without any cooldown, starts here were already 0.2 s apart (process starts, and the wait
 * for each run's final counter value), so a lost cooldown could pass unnoticed.
 */
#define COOLDOWN_S 0.5

static void test_run_cooldown_pauses_between_runs(void **state)
{
    struct fixture *f = *state;
    double start_s = now_s(), prev = 0, t;
    char *text, *p;
    int n = 0;

    zt_cli_run(&f->cli, "run", "-r", "3", "--cooldown", "0.5", "--", "sh", "-c",
               "date +%s.%N >> \"$1\"", "sh", f->runs_path, NULL);
    assert_int_equal(f->cli.status, 0);
    assert_true(now_s() - start_s >= 2 * COOLDOWN_S);
    text = zt_read_file(f->runs_path);
    assert_non_null(text);
    for (p = text; sscanf(p, "%lf", &t) == 1; p = strchr(p, '\n') + 1, n++) {
        if (n > 0 && t - prev < COOLDOWN_S)
            fail_msg("runs %d and %d started %.3f s apart", n, n + 1, t - prev);
        prev = t;
    }
    free(text);
    assert_int_equal(n, 3);
}

static void test_run_sigterm_stops_the_series(void **state)
{
    struct fixture *f = *state;

    zt_cli_start(&f->cli, "run", "-r", "5", "--", "sh", "-c",
                 SH_COUNT "; echo started; exec sleep 30", "sh", f->runs_path, NULL);
    zt_cli_wait_for_output(&f->cli, "started", 20.0);
    kill(f->cli.pid, SIGTERM); /* forwarded to the command, which dies of it */
    zt_cli_finish(&f->cli, 20.0);
    assert_int_equal(f->cli.status, 128 + SIGTERM);
    assert_int_equal(runs_counted(f), 1);
    assert_non_null(strstr(f->cli.err, "1 of 5 runs"));
}

static void test_run_sigint_stops_the_series_in_a_cooldown(void **state)
{
    struct fixture *f = *state;

    /* a 30 s cooldown: only the signal can end this series within the test's limit */
    zt_cli_start(&f->cli, "run", "-r", "5", "--cooldown", "30", "--", "sh", "-c", SH_COUNT,
                 "sh", f->runs_path, NULL);
    zt_cli_wait_for_output(&f->cli, "run 1/5", 20.0);
    kill(f->cli.pid, SIGINT);
    zt_cli_finish(&f->cli, 20.0);
    assert_int_equal(f->cli.status, 128 + SIGINT);
    assert_int_equal(runs_counted(f), 1);
    assert_non_null(strstr(f->cli.err, "1 of 5 runs, stopped by SIGINT"));
    assert_non_null(strstr(f->cli.err, "total (J)"));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_run_exit_code_passes_through),
        T(test_run_killed_command_gives_128_plus_signal),
        T(test_run_killed_command_report_names_the_signal),
        T(test_run_json_unprintable_report_is_a_failure),
        T(test_run_unwritable_csv_gives_125_whatever_the_cause),
        T(test_run_demo_load_exit_code_passes_through),
        T(test_run_command_not_found_gives_127),
        T(test_run_not_executable_gives_126),
        T(test_run_table_goes_to_stderr_leaving_stdout_to_command),
        T(test_run_json_has_the_documented_shape),
        T(test_run_json_energy_matches_fake_power),
        T(test_run_approx_instant_energy_fills_short_command),
        T(test_run_json_reports_cpu_and_dram_from_rapl),
        T(test_run_json_exit_code_of_killed_command),
        T(test_run_gpus_list_selects_those_gpus),
        T(test_run_table_notes_module_scope_and_whole_mig_gpu),
        T(test_run_gpus_none_measures_no_gpu),
        T(test_run_gpus_bad_values_exit_2_naming_the_value),
        T(test_run_gpu_out_of_range_exit_2),
        T(test_run_unknown_option_and_no_command_exit_2),
        T(test_run_csv_written_in_zeus_format),
        T(test_run_sigterm_is_forwarded_to_command),
        T(test_run_sigint_to_zeus_alone_is_ignored),
        T(test_run_repeat_runs_the_command_n_times),
        T(test_run_warmup_adds_unmeasured_runs),
        T(test_run_repeat_1_reports_a_single_run_as_before),
        T(test_run_repeat_json_statistics_match_the_runs),
        T(test_run_failing_run_ends_the_series_with_its_status),
        T(test_run_killed_run_ends_the_series_with_128_plus_signal),
        T(test_run_failing_warmup_ends_the_series_unmeasured),
        T(test_run_repeat_bad_values_exit_2),
        T(test_run_cooldown_pauses_between_runs),
        T(test_run_sigterm_stops_the_series),
        T(test_run_sigint_stops_the_series_in_a_cooldown),
    };
#undef T
    return cmocka_run_group_tests_name("cli_run", tests, NULL, NULL);
}
