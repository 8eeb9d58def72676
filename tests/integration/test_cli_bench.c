/*
 * test_cli_bench.c - `zeus bench windows|accuracy|sampler` over the fake NVML: each JSON
 * report has the documented keys and sane values, the mode field follows --direct, the output
 * says the GPUs are simulated, the accuracy bench refuses to run without the fake, and bad
 * options exit 2. Timings and error sizes are reported, never asserted on beyond their order.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_support.h"
#include "test_support.h"

/* ---- Fixtures ----------------------------------------------------------------------------- */

struct fixture {
    struct zt_cli cli;
    cJSON *json;
    char *nvml_library; /* ZEUS_NVML_LIBRARY as CTest set it, put back by teardown */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    const char *lib = getenv("ZEUS_NVML_LIBRARY");

    if (f == NULL || lib == NULL || (f->nvml_library = strdup(lib)) == NULL) {
        free(f);
        return -1;
    }
    setenv("ZEUS_FAKE_NVML", "gpus=2;power_w=300", 1);
    unsetenv("CUDA_VISIBLE_DEVICES");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    setenv("ZEUS_NVML_LIBRARY", f->nvml_library, 1);
    zt_cli_free(&f->cli);
    cJSON_Delete(f->json);
    free(f->nvml_library);
    free(f);
    return 0;
}

/* Run `zeus bench ...` expecting exit 0 and one JSON object on stdout; returns it. */
#define run_json(f, ...) run_json_((f), __VA_ARGS__, NULL)
static cJSON *run_json_(struct fixture *f, const char *a0, ...) __attribute__((sentinel));

static cJSON *run_json_(struct fixture *f, const char *a0, ...)
{
    const char *argv[16] = {"bench", a0};
    size_t n = 2;
    va_list ap;

    va_start(ap, a0);
    while (n < 15 && (argv[n] = va_arg(ap, const char *)) != NULL)
        n++;
    va_end(ap);
    argv[n] = NULL;
    zt_cli_run(&f->cli, argv[0], argv[1], argv[2], argv[3], argv[4], argv[5], argv[6], argv[7],
               argv[8], argv[9], argv[10], argv[11], argv[12], argv[13], argv[14], NULL);
    if (f->cli.status != 0)
        fail_msg("zeus bench %s exited %d: %s", a0, f->cli.status, f->cli.err);
    f->json = cJSON_Parse(f->cli.out);
    if (f->json == NULL || !cJSON_IsObject(f->json))
        fail_msg("zeus bench %s --json printed '%s'", a0, f->cli.out);
    return f->json;
}

static double number(const cJSON *obj, const char *key)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (!cJSON_IsNumber(v))
        fail_msg("JSON has no number '%s'", key);
    return v->valuedouble;
}

static const char *string(const cJSON *obj, const char *key)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (!cJSON_IsString(v))
        fail_msg("JSON has no string '%s'", key);
    return v->valuestring;
}

/* Run and expect exit 2 with `text` (if any) on stderr. */
static void expect_usage(struct fixture *f, const char *text, const char *a0, const char *a1,
                         const char *a2, const char *a3)
{
    zt_cli_free(&f->cli);
    zt_cli_run(&f->cli, "bench", a0, a1, a2, a3, NULL);
    if (f->cli.status != 2)
        fail_msg("zeus bench %s %s %s exited %d, not 2", a0, a1 ? a1 : "", a2 ? a2 : "",
                 f->cli.status);
    if (text != NULL && strstr(f->cli.err, text) == NULL)
        fail_msg("zeus bench %s: stderr lacks '%s': %s", a0, text, f->cli.err);
}

/* ---- bench windows ------------------------------------------------------------------------ */

static void check_windows_json(const cJSON *j, const char *mode)
{
    assert_string_equal(string(j, "mode"), mode);
    assert_int_equal((int)number(j, "gpus"), 2);
    assert_int_equal((int)number(j, "open_windows"), 3);
    assert_int_equal((int)number(j, "iterations"), 20);
    assert_true(number(j, "p50_us") >= 0);
    assert_true(number(j, "p50_us") <= number(j, "p99_us"));
    assert_true(number(j, "p99_us") <= number(j, "max_us"));
}

static void test_bench_windows_json_is_sampled_by_default(void **state)
{
    struct fixture *f = *state;

    check_windows_json(run_json(f, "windows", "--iterations", "20", "--open-windows", "3",
                                "--json"),
                       "sampled");
    /* the device line stays off stdout with --json */
    assert_non_null(strstr(f->cli.err, "simulated/overridden NVML"));
}

static void test_bench_windows_direct_says_direct(void **state)
{
    struct fixture *f = *state;

    check_windows_json(run_json(f, "windows", "--direct", "--iterations", "20",
                                "--open-windows=3", "--json"),
                       "direct");
}

static void test_bench_windows_text_names_simulated_gpus(void **state)
{
    struct fixture *f = *state;

    zt_cli_run(&f->cli, "bench", "windows", "--gpus", "0", "--iterations", "5", NULL);
    assert_int_equal(f->cli.status, 0);
    assert_non_null(strstr(f->cli.out, "simulated/overridden NVML"));
    assert_non_null(strstr(f->cli.out, "sampled engine, 1 GPU,"));
    assert_non_null(strstr(f->cli.out, "p50"));
}

/* ---- bench accuracy ----------------------------------------------------------------------- */

static void check_error_pair(const cJSON *r, const char *mean_key, const char *max_key)
{
    cJSON *mean = cJSON_GetObjectItemCaseSensitive(r, mean_key);
    cJSON *max = cJSON_GetObjectItemCaseSensitive(r, max_key);

    /* null when no window gave a value in that mode; otherwise 0 <= mean <= max */
    if (cJSON_IsNull(mean) && cJSON_IsNull(max))
        return;
    if (!cJSON_IsNumber(mean) || !cJSON_IsNumber(max))
        fail_msg("%s/%s are neither numbers nor null", mean_key, max_key);
    assert_true(mean->valuedouble >= 0);
    assert_true(mean->valuedouble <= max->valuedouble + 1e-9);
}

static void test_bench_accuracy_json_has_every_trace_and_length(void **state)
{
    static const char *const traces[] = {"constant", "square", "bursts"};
    struct fixture *f = *state;
    const cJSON *j = run_json(f, "accuracy", "--trials", "2", "--lengths", "10,50", "--json");
    const cJSON *results = cJSON_GetObjectItemCaseSensitive(j, "results"), *r;
    int i = 0;

    assert_int_equal((int)number(j, "counter_step_ms"), 100);
    assert_int_equal((int)number(j, "counter_jitter_ms"), 3);
    assert_int_equal((int)number(j, "energy_latency_us"), 2700);
    assert_true(cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(j, "target_met")));
    assert_true(cJSON_IsArray(results));
    assert_int_equal(cJSON_GetArraySize(results), 6);
    cJSON_ArrayForEach(r, results) {
        assert_string_equal(string(r, "trace"), traces[i / 2]);
        assert_int_equal((int)number(r, "window_ms"), i % 2 == 0 ? 10 : 50);
        assert_int_equal((int)number(r, "trials"), 2);
        assert_true(number(r, "failed") + number(r, "not_final") <= 2);
        check_error_pair(r, "direct_mean_pct", "direct_max_pct");
        check_error_pair(r, "sampled_mean_pct", "sampled_max_pct");
        check_error_pair(r, "provisional_mean_pct", "provisional_max_pct");
        i++;
    }
    assert_non_null(strstr(f->cli.err, "3 simulated GPUs"));
}

static void test_bench_accuracy_text_has_table(void **state)
{
    struct fixture *f = *state;

    zt_cli_run(&f->cli, "bench", "accuracy", "--trials", "1", "--lengths", "20", "--seed", "7",
               NULL);
    assert_int_equal(f->cli.status, 0);
    assert_non_null(strstr(f->cli.out, "direct mean"));
    assert_non_null(strstr(f->cli.out, "sampled mean"));
    assert_non_null(strstr(f->cli.out, "bursts"));
    assert_non_null(strstr(f->cli.out, "20 ms"));
    assert_non_null(strstr(f->cli.out, "target"));
}

static void test_bench_accuracy_refuses_without_the_fake(void **state)
{
    struct fixture *f = *state;
    char other[1024];

    unsetenv("ZEUS_NVML_LIBRARY");
    expect_usage(f, "ZEUS_NVML_LIBRARY is not set", "accuracy", "--trials", "1", NULL);
    assert_non_null(strstr(f->cli.err, "simulated GPUs only"));
    /* A library that loads but is not the fake: libzeus itself, next to the fake. */
    snprintf(other, sizeof other, "%s", f->nvml_library);
    assert_non_null(strrchr(other, '/'));
    snprintf(strrchr(other, '/'), sizeof other - (size_t)(strrchr(other, '/') - other),
             "/libzeus.so");
    setenv("ZEUS_NVML_LIBRARY", other, 1);
    expect_usage(f, "not the fake NVML", "accuracy", "--trials", "1", NULL);
}

/* ---- bench sampler ------------------------------------------------------------------------ */

static void test_bench_sampler_json_reports_cpu_and_reads(void **state)
{
    struct fixture *f = *state;
    const cJSON *j = run_json(f, "sampler", "--gpus", "2", "--seconds", "0.3", "--json");

    assert_string_equal(string(j, "mode"), "sampled");
    assert_int_equal((int)number(j, "gpus"), 2);
    assert_near(number(j, "seconds"), 0.3, 1e-9);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "simulated")));
    assert_true(number(j, "cpu_percent") >= 0);
    assert_true(number(j, "user_s") >= 0);
    assert_true(number(j, "sys_s") >= 0);
    assert_true(number(j, "energy_reads_per_gpu_s") > 0); /* the sampler did read */
}

/* ---- Arguments ---------------------------------------------------------------------------- */

/* ---- bench startup ------------------------------------------------------------------------ */

static void test_bench_startup_json_reports_each_case(void **state)
{
    struct fixture *f = *state;
    const cJSON *j = run_json(f, "startup", "--gpus", "2", "--trials", "1", "--json");
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(j, "cases"), *c;
    static const char *const times[] = {"monitor_create_ms", "first_final_ms",
                                        "power_monitor_create_ms"};
    unsigned expect_gpus = 1;

    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "simulated")));
    assert_int_equal((int)number(j, "trials"), 1);
    assert_int_equal(cJSON_GetArraySize(cases), 2);
    cJSON_ArrayForEach(c, cases) {
        assert_int_equal((int)number(c, "gpus"), (int)expect_gpus);
        for (size_t i = 0; i < 3; i++) {
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(c, times[i]);
            assert_true(number(t, "p50") > 0);
            assert_true(number(t, "max") >= number(t, "p50"));
        }
        /* a final value comes after the window's 10 ms and the create before it */
        assert_true(number(cJSON_GetObjectItemCaseSensitive(c, "first_final_ms"), "p50") >
                    10 + number(cJSON_GetObjectItemCaseSensitive(c, "monitor_create_ms"), "p50"));
        expect_gpus = 2;
    }
}

static void test_bench_bad_options_exit_2(void **state)
{
    struct fixture *f = *state;

    expect_usage(f, "'0'", "windows", "--iterations", "0", NULL);
    expect_usage(f, NULL, "windows", "--open-windows", "x", NULL);
    expect_usage(f, "GPU 9", "windows", "--gpus", "9", NULL);
    expect_usage(f, "--fast", "windows", "--fast", NULL, NULL);
    expect_usage(f, "'0'", "accuracy", "--trials", "0", NULL);
    expect_usage(f, "--lengths", "accuracy", "--lengths", "10,,50", NULL);
    expect_usage(f, "--lengths", "accuracy", "--lengths", "", NULL);
    expect_usage(f, "needs a value", "accuracy", "--seed", NULL, NULL);
    expect_usage(f, "--jitter-ms", "accuracy", "--jitter-ms", "50", NULL);
    expect_usage(f, "'0'", "sampler", "--gpus", "0", NULL);
    expect_usage(f, "--seconds", "sampler", "--seconds", "0", NULL);
    expect_usage(f, "--direct", "sampler", "--direct", NULL, NULL);
    expect_usage(f, "unknown benchmark", "kernels", NULL, NULL, NULL);
    zt_cli_free(&f->cli);
    zt_cli_run(&f->cli, "bench", NULL);
    assert_int_equal(f->cli.status, 2);
}

static void test_bench_help_lists_every_benchmark(void **state)
{
    static const char *const names[] = {"windows", "accuracy", "sampler", "startup"};
    struct fixture *f = *state;

    zt_cli_run(&f->cli, "bench", "--help", NULL);
    assert_int_equal(f->cli.status, 0);
    for (size_t i = 0; i < 3; i++)
        assert_non_null(strstr(f->cli.out, names[i]));
    for (size_t i = 0; i < 3; i++) {
        zt_cli_free(&f->cli);
        zt_cli_run(&f->cli, "bench", names[i], "--help", NULL);
        assert_int_equal(f->cli.status, 0);
        assert_non_null(strstr(f->cli.out, "SYNOPSIS"));
    }
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_bench_windows_json_is_sampled_by_default),
        T(test_bench_windows_direct_says_direct),
        T(test_bench_windows_text_names_simulated_gpus),
        T(test_bench_accuracy_json_has_every_trace_and_length),
        T(test_bench_accuracy_text_has_table),
        T(test_bench_accuracy_refuses_without_the_fake),
        T(test_bench_sampler_json_reports_cpu_and_reads),
        T(test_bench_startup_json_reports_each_case),
        T(test_bench_bad_options_exit_2),
        T(test_bench_help_lists_every_benchmark),
    };
#undef T
    return cmocka_run_group_tests_name("cli_bench", tests, NULL, NULL);
}
