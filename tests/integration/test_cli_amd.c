/*
 * test_cli_amd.c - The `zeus` binary with AMD GPUs (the fake AMD SMI through
 * ZEUS_AMDSMI_LIBRARY, configured by ZEUS_FAKE_AMDSMI): show-env's vendor column and
 * HIP_VISIBLE_DEVICES, a mixed NVIDIA + AMD machine, a rejected counter, and `zeus run`
 * measuring AMD GPUs.
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

struct fixture {
    struct zt_cli cli;
    cJSON *json;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    const char *fake = getenv("ZEUS_FAKE_AMDSMI_LIBRARY");

    if (f == NULL || fake == NULL)
        return -1;
    setenv("ZEUS_AMDSMI_LIBRARY", fake, 1);
    setenv("ZEUS_AMDSMI_CHECK_SECONDS", "0.1", 1);
    setenv("ZEUS_FAKE_NVML", "gpus=0", 1);
    setenv("ZEUS_FAKE_AMDSMI", "gpus=2;power_w=250", 1);
    unsetenv("CUDA_VISIBLE_DEVICES");
    unsetenv("HIP_VISIBLE_DEVICES");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    zt_cli_free(&f->cli);
    cJSON_Delete(f->json);
    free(f);
    unsetenv("ZEUS_AMDSMI_LIBRARY");
    unsetenv("ZEUS_FAKE_AMDSMI");
    unsetenv("HIP_VISIBLE_DEVICES");
    unsetenv("CUDA_VISIBLE_DEVICES");
    return 0;
}

static cJSON *member(const cJSON *o, const char *name)
{
    cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);
    if (m == NULL)
        fail_msg("no \"%s\" in the JSON", name);
    return m;
}

static cJSON *parse_stdout(struct fixture *f)
{
    f->json = cJSON_Parse(f->cli.out);
    if (f->json == NULL)
        fail_msg("stdout is not JSON: %s", f->cli.out);
    return f->json;
}

static void test_show_env_names_amd_gpus_and_hip_variable(void **state)
{
    struct fixture *f = *state;

    setenv("HIP_VISIBLE_DEVICES", "1", 1);
    zt_cli_run(&f->cli, "show-env", NULL);
    assert_int_equal(f->cli.status, 0);
    assert_non_null(strstr(f->cli.out, "HIP_VISIBLE_DEVICES=1"));
    assert_non_null(strstr(f->cli.out, "amdsmi GPUs: found, 1 device"));
    assert_non_null(strstr(f->cli.out, "GPU 0 (physical 1): AMD Instinct MI300X"));
    assert_non_null(strstr(f->cli.out, "vendor:           AMD (amdsmi)"));
    assert_null(strstr(f->cli.out, "GPU 1 ("));
}

static void test_show_env_json_mixed_nvidia_first(void **state)
{
    struct fixture *f = *state;
    cJSON *gpus;

    setenv("ZEUS_FAKE_NVML", "gpus=1", 1);
    zt_cli_run(&f->cli, "show-env", "--json", NULL);
    assert_int_equal(f->cli.status, 0);
    gpus = member(parse_stdout(f), "gpus");
    assert_int_equal(cJSON_GetArraySize(gpus), 3);
    assert_true(cJSON_IsNull(member(f->json, "hip_visible_devices")));
    for (int i = 0; i < 3; i++) {
        cJSON *g = cJSON_GetArrayItem(gpus, i);
        assert_int_equal(member(g, "index")->valueint, i);
        assert_string_equal(member(g, "vendor")->valuestring, i == 0 ? "NVIDIA" : "AMD");
        assert_string_equal(member(g, "backend")->valuestring, i == 0 ? "nvml" : "amdsmi");
        assert_int_equal(member(g, "physical_index")->valueint, i == 0 ? 0 : i - 1);
    }
}

static void test_show_env_says_counter_rejected(void **state)
{
    struct fixture *f = *state;

    setenv("ZEUS_FAKE_AMDSMI", "gpus=2;gpu1.counter_scale=100", 1);
    zt_cli_run(&f->cli, "show-env", NULL);
    assert_int_equal(f->cli.status, 0);
    assert_non_null(strstr(f->cli.out, "HIP GPU 1: counter rejected"));
    assert_non_null(strstr(f->cli.out, "energy counter:   rejected at open"));
}

static void test_show_env_unknown_version(void **state)
{
    struct fixture *f = *state;

    setenv("ZEUS_FAKE_AMDSMI", "rocm=7.0", 1);
    zt_cli_run(&f->cli, "show-env", NULL);
    assert_int_equal(f->cli.status, 0);
    assert_non_null(strstr(f->cli.out, "26.0.0 is not supported"));
    assert_non_null(strstr(f->cli.out, "No GPUs available."));
}

/* zeus run measures both AMD GPUs: 250 W each, one of them integrated from power. */
static void test_run_measures_amd_gpus(void **state)
{
    struct fixture *f = *state;
    cJSON *gpu;
    double t;

    setenv("ZEUS_FAKE_AMDSMI", "gpus=2;power_w=250;gpu1.counter_scale=0.01", 1);
    zt_cli_run(&f->cli, "run", "--json", "--", "sleep", "0.5", NULL);
    assert_int_equal(f->cli.status, 0);
    t = member(parse_stdout(f), "time_s")->valuedouble;
    gpu = member(f->json, "gpu_energy_j");
    assert_int_equal(cJSON_GetArraySize(gpu), 2);
    assert_near(member(gpu, "0")->valuedouble, 250 * t, 250 * t * 0.05);
    assert_near(member(gpu, "1")->valuedouble, 250 * t, 250 * t * 0.05);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_show_env_names_amd_gpus_and_hip_variable),
        T(test_show_env_json_mixed_nvidia_first),
        T(test_show_env_says_counter_rejected),
        T(test_show_env_unknown_version),
        T(test_run_measures_amd_gpus),
    };
#undef T
    return cmocka_run_group_tests_name("cli_amd", tests, NULL, NULL);
}
