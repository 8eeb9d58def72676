/*
 * test_cli_bench.c - `zeus bench windows` over the fake NVML: the JSON report has the
 * documented keys and ordered percentiles, the output says the GPUs are simulated, and bad
 * options exit 2. Timings are reported, never asserted on beyond their order.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "cli_support.h"
#include "test_support.h"

/* ---- Fixtures ----------------------------------------------------------------------------- */

struct fixture {
    struct zt_cli cli;
    cJSON *json;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    if (f == NULL)
        return -1;
    setenv("ZEUS_FAKE_NVML", "gpus=2;power_w=300", 1);
    unsetenv("CUDA_VISIBLE_DEVICES");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    zt_cli_free(&f->cli);
    cJSON_Delete(f->json);
    free(f);
    return 0;
}

static double number(const cJSON *obj, const char *key)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (!cJSON_IsNumber(v))
        fail_msg("JSON has no number '%s'", key);
    return v->valuedouble;
}

/* ---- Tests -------------------------------------------------------------------------------- */

static void test_bench_windows_json_has_documented_keys(void **state)
{
    struct fixture *f = *state;
    cJSON *mode;

    zt_cli_run(&f->cli, "bench", "windows", "--iterations", "20", "--open-windows", "3",
               "--json", NULL);
    assert_int_equal(f->cli.status, 0);
    f->json = cJSON_Parse(f->cli.out);
    if (f->json == NULL)
        fail_msg("bench --json printed '%s'", f->cli.out);
    mode = cJSON_GetObjectItemCaseSensitive(f->json, "mode");
    assert_true(cJSON_IsString(mode));
    assert_string_equal(mode->valuestring, "direct");
    assert_int_equal((int)number(f->json, "gpus"), 2);
    assert_int_equal((int)number(f->json, "open_windows"), 3);
    assert_int_equal((int)number(f->json, "iterations"), 20);
    assert_true(number(f->json, "p50_us") > 0);
    assert_true(number(f->json, "p50_us") <= number(f->json, "p99_us"));
    assert_true(number(f->json, "p99_us") <= number(f->json, "max_us"));
    /* the device line stays off stdout with --json */
    assert_non_null(strstr(f->cli.err, "simulated/overridden NVML"));
}

static void test_bench_windows_text_names_simulated_gpus(void **state)
{
    struct fixture *f = *state;

    zt_cli_run(&f->cli, "bench", "windows", "--gpus", "0", "--iterations", "5", NULL);
    assert_int_equal(f->cli.status, 0);
    assert_non_null(strstr(f->cli.out, "simulated/overridden NVML"));
    assert_non_null(strstr(f->cli.out, "p50"));
    assert_non_null(strstr(f->cli.out, "1 GPU,"));
}

static void test_bench_bad_options_exit_2(void **state)
{
    struct fixture *f = *state;

    zt_cli_run(&f->cli, "bench", "windows", "--iterations", "0", NULL);
    assert_int_equal(f->cli.status, 2);
    assert_non_null(strstr(f->cli.err, "'0'"));
    zt_cli_free(&f->cli);
    zt_cli_run(&f->cli, "bench", "windows", "--open-windows", "x", NULL);
    assert_int_equal(f->cli.status, 2);
    zt_cli_free(&f->cli);
    zt_cli_run(&f->cli, "bench", "windows", "--gpus", "9", NULL);
    assert_int_equal(f->cli.status, 2);
    assert_non_null(strstr(f->cli.err, "GPU 9"));
    zt_cli_free(&f->cli);
    zt_cli_run(&f->cli, "bench", "kernels", NULL);
    assert_int_equal(f->cli.status, 2);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_bench_windows_json_has_documented_keys),
        T(test_bench_windows_text_names_simulated_gpus),
        T(test_bench_bad_options_exit_2),
    };
#undef T
    return cmocka_run_group_tests_name("cli_bench", tests, NULL, NULL);
}
