/*
 * test_cli_show_env.c - `zeus show-env` over the fake NVML and a missing RAPL tree: the JSON
 * report parses and lists the fake GPUs, says RAPL is missing and why, follows
 * CUDA_VISIBLE_DEVICES, lists the packages of a fake RAPL tree, and the text report carries
 * the same facts; a GPU in MIG mode (named by a MIG slice) and a Grace Hopper GPU say that
 * their readings cover the whole GPU or the whole module.
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
#include "fake_nvml.h"
#include "sysfs_tree.h"
#include "test_support.h"

/* ---- Fixtures ----------------------------------------------------------------------------- */

struct fixture {
    struct zt_cli cli;
    cJSON *json;
    zt_sysfs *sysfs;    /* a fake RAPL tree, for the tests that make one */
    char *sysfs_before; /* ZEUS_SYSFS_ROOT as CTest set it (a missing folder) */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    if (f == NULL)
        return -1;
    setenv("ZEUS_FAKE_NVML", "gpus=2;power_w=300", 1);
    unsetenv("CUDA_VISIBLE_DEVICES");
    if (getenv("ZEUS_SYSFS_ROOT") != NULL)
        f->sysfs_before = strdup(getenv("ZEUS_SYSFS_ROOT"));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    unsetenv("CUDA_VISIBLE_DEVICES");
    zt_cli_free(&f->cli);
    cJSON_Delete(f->json);
    zt_sysfs_destroy(f->sysfs);
    if (f->sysfs_before != NULL)
        setenv("ZEUS_SYSFS_ROOT", f->sysfs_before, 1);
    free(f->sysfs_before);
    free(f);
    return 0;
}

/* ---- Helpers ------------------------------------------------------------------------------ */

static cJSON *run_json(struct fixture *f)
{
    zt_cli_run(&f->cli, "show-env", "--json", NULL);
    assert_int_equal(f->cli.status, 0);
    f->json = cJSON_Parse(f->cli.out);
    if (f->json == NULL)
        fail_msg("show-env --json printed '%s'", f->cli.out);
    return f->json;
}

static cJSON *item(const cJSON *obj, const char *key)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (v == NULL)
        fail_msg("JSON has no '%s'", key);
    return v;
}

/* The backend object named `name` in "backends". */
static cJSON *backend(const cJSON *root, const char *name)
{
    cJSON *b;

    cJSON_ArrayForEach(b, item(root, "backends"))
        if (strcmp(item(b, "name")->valuestring, name) == 0)
            return b;
    fail_msg("no backend '%s'", name);
    return NULL;
}

/* ---- JSON --------------------------------------------------------------------------------- */

static void test_show_env_json_lists_fake_gpus(void **state)
{
    struct fixture *f = *state;
    cJSON *root = run_json(f), *gpus, *g;
    int i = 0;

    assert_true(cJSON_IsString(item(root, "version")));
    assert_true(cJSON_IsNull(item(root, "cuda_visible_devices")));
    gpus = item(root, "gpus");
    assert_int_equal(cJSON_GetArraySize(gpus), 2);
    cJSON_ArrayForEach(g, gpus) {
        assert_int_equal(item(g, "index")->valueint, i);
        assert_int_equal(item(g, "physical_index")->valueint, i);
        assert_true(strlen(item(g, "name")->valuestring) > 0);
        assert_true(cJSON_IsBool(item(g, "energy_counter")));
        assert_true(cJSON_IsArray(item(g, "power_domains")));
        i++;
    }
    assert_true(cJSON_IsTrue(item(backend(root, "nvml"), "found")));
    assert_int_equal(item(backend(root, "nvml"), "device_count")->valueint, 2);
}

static void test_show_env_json_reports_rapl_missing(void **state)
{
    struct fixture *f = *state;
    cJSON *root = run_json(f), *rapl = backend(root, "rapl");

    assert_true(cJSON_IsFalse(item(rapl, "found")));
    assert_string_not_equal(item(rapl, "status")->valuestring, "OK");
    assert_true(strlen(item(rapl, "detail")->valuestring) > 0);
    assert_int_equal(cJSON_GetArraySize(item(root, "cpus")), 0);
}

static void test_show_env_json_follows_cuda_visible_devices(void **state)
{
    struct fixture *f = *state;
    cJSON *root, *g;

    setenv("CUDA_VISIBLE_DEVICES", "1", 1);
    root = run_json(f);
    assert_string_equal(item(root, "cuda_visible_devices")->valuestring, "1");
    assert_int_equal(cJSON_GetArraySize(item(root, "gpus")), 1);
    g = cJSON_GetArrayItem(item(root, "gpus"), 0);
    assert_int_equal(item(g, "index")->valueint, 0);
    assert_int_equal(item(g, "physical_index")->valueint, 1);
}

/* A MIG slice used to be refused; it now shows its parent GPU, marked as measured whole. */
static void test_show_env_json_mig_slice_shows_whole_gpu(void **state)
{
    struct fixture *f = *state;
    char uuid[96];
    cJSON *root, *g;

    setenv("ZEUS_FAKE_NVML", "gpus=2;gpu1.mig=1;gpu0.module_scope=1", 1);
    snprintf(uuid, sizeof uuid, FAKE_MIG_UUID_FORMAT, 1u, 1u);
    setenv("CUDA_VISIBLE_DEVICES", uuid, 1);
    root = run_json(f);
    assert_int_equal(cJSON_GetArraySize(item(root, "gpus")), 1);
    g = cJSON_GetArrayItem(item(root, "gpus"), 0);
    assert_int_equal(item(g, "physical_index")->valueint, 1);
    assert_true(cJSON_IsTrue(item(g, "mig")));
    assert_true(cJSON_IsFalse(item(g, "module_scope")));
}

static void test_show_env_text_says_mig_and_module_scope(void **state)
{
    struct fixture *f = *state;
    const char *gpu1;

    setenv("ZEUS_FAKE_NVML", "gpus=2;gpu1.mig=1;gpu0.module_scope=1", 1);
    zt_cli_run(&f->cli, "show-env", NULL);
    assert_int_equal(f->cli.status, 0);
    gpu1 = strstr(f->cli.out, "GPU 1 (physical 1)");
    assert_non_null(gpu1);
    /* GPU 0 (module scope, no MIG) comes first: its power is the module's, no MIG line. */
    assert_non_null(strstr(f->cli.out, "(whole module)"));
    assert_true(strstr(f->cli.out, "(whole module)") < gpu1);
    assert_true(strstr(f->cli.out, "MIG mode:") > gpu1);
    assert_non_null(strstr(gpu1, "whole physical GPU"));
}

static void test_show_env_json_lists_rapl_packages(void **state)
{
    struct fixture *f = *state;
    cJSON *root, *cpus, *c0, *c1;

    f->sysfs = zt_sysfs_create();
    zt_sysfs_add_powercap(f->sysfs);
    zt_sysfs_add_package(f->sysfs, 0, 1000, 262143328850);
    zt_sysfs_add_dram(f->sysfs, 0, 0, 1000, 65712999613);
    zt_sysfs_add_package(f->sysfs, 1, 1000, 262143328850);
    zt_sysfs_use(f->sysfs);
    root = run_json(f);
    assert_true(cJSON_IsTrue(item(backend(root, "rapl"), "found")));
    cpus = item(root, "cpus");
    assert_int_equal(cJSON_GetArraySize(cpus), 2);
    c0 = cJSON_GetArrayItem(cpus, 0);
    c1 = cJSON_GetArrayItem(cpus, 1);
    assert_string_equal(item(c0, "name")->valuestring, "package-0");
    assert_true(cJSON_IsTrue(item(c0, "dram")));
    assert_true(cJSON_IsFalse(item(c1, "dram")));
    assert_non_null(strstr(item(c1, "path")->valuestring, "intel-rapl:1"));
}

/* ---- Text --------------------------------------------------------------------------------- */

static void test_show_env_text_names_devices_and_backends(void **state)
{
    struct fixture *f = *state;

    zt_cli_run(&f->cli, "show-env", NULL);
    assert_int_equal(f->cli.status, 0);
    assert_non_null(strstr(f->cli.out, "CUDA_VISIBLE_DEVICES=[NOT SET]"));
    assert_non_null(strstr(f->cli.out, "GPU 0 (physical 0)"));
    assert_non_null(strstr(f->cli.out, "GPU 1 (physical 1)"));
    assert_non_null(strstr(f->cli.out, "rapl"));
    assert_non_null(strstr(f->cli.out, "No CPU packages available."));
}

static void test_show_env_bad_option_exit_2(void **state)
{
    struct fixture *f = *state;

    zt_cli_run(&f->cli, "show-env", "--yaml", NULL);
    assert_int_equal(f->cli.status, 2);
    assert_non_null(strstr(f->cli.err, "--yaml"));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_show_env_json_lists_fake_gpus),
        T(test_show_env_json_reports_rapl_missing),
        T(test_show_env_json_follows_cuda_visible_devices),
        T(test_show_env_json_lists_rapl_packages),
        T(test_show_env_json_mig_slice_shows_whole_gpu),
        T(test_show_env_text_says_mig_and_module_scope),
        T(test_show_env_text_names_devices_and_backends),
        T(test_show_env_bad_option_exit_2),
    };
#undef T
    return cmocka_run_group_tests_name("cli_show_env", tests, NULL, NULL);
}
