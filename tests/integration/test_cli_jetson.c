/*
 * test_cli_jetson.c - The `zeus` command on a fake Jetson (an Orin NX tree under
 * ZEUS_SYSFS_ROOT, ZEUS_JETSON=1): `run --json` carries "soc_energy_j" with the rails'
 * energies (null for the rail the board lacks) and takes the total rail as the total when
 * nothing else is measured; `show-env` lists the SoC and its rails. Without a Jetson
 * (ZEUS_JETSON=0) neither appears, so reports elsewhere keep their shape.
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
#include "sysfs_tree.h"
#include "test_support.h"

#define NX "bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon1/"

struct fixture {
    zt_sysfs *tree;
    struct zt_cli cli;
    cJSON *json;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    f->tree = zt_sysfs_create();
    zt_sysfs_use(f->tree);
    zt_sysfs_put(f->tree, NX "in1_label", "VDD_IN\n");
    zt_sysfs_put(f->tree, NX "power1_input", "7000\n");
    zt_sysfs_put(f->tree, NX "in2_label", "VDD_CPU_GPU_CV\n");
    zt_sysfs_put(f->tree, NX "in2_input", "1000\n");  /* mV */
    zt_sysfs_put(f->tree, NX "curr2_input", "2500\n"); /* mA: 2.5 W */
    setenv("ZEUS_JETSON", "1", 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    cJSON_Delete(f->json);
    zt_cli_free(&f->cli);
    zt_sysfs_destroy(f->tree);
    unsetenv("ZEUS_JETSON");
    free(f);
    return 0;
}

static cJSON *parse(struct fixture *f)
{
    const char *end = NULL;

    assert_int_equal(f->cli.status, 0);
    f->json = cJSON_ParseWithOpts(f->cli.out, &end, 0);
    if (f->json == NULL)
        fail_msg("not JSON: %s", f->cli.out);
    return f->json;
}

static double number(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v))
        fail_msg("\"%s\" is not a number", key);
    return v->valuedouble;
}

static void test_run_json_has_soc_energy(void **state)
{
    struct fixture *f = *state;
    cJSON *root, *soc;
    double t;

    zt_cli_run(&f->cli, "run", "--json", "--gpus", "none", "--cpus", "none", "--", "sleep",
               "0.3", NULL);
    root = parse(f);
    t = number(root, "time_s");
    soc = cJSON_GetObjectItemCaseSensitive(root, "soc_energy_j");
    assert_true(cJSON_IsObject(soc));
    assert_near(number(soc, "total"), 7.0 * t, 0.02 * 7.0 * t);
    assert_near(number(soc, "cpu"), 2.5 * t, 0.02 * 2.5 * t);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(soc, "gpu")));
    /* Nothing else measured: the board's total rail is the total. */
    assert_near(number(root, "total_energy_j"), number(soc, "total"), 1e-9);
}

/* The table (on stderr) has a row per rail; the one the board lacks says so. */
static void test_run_table_rows(void **state)
{
    struct fixture *f = *state;

    zt_cli_run(&f->cli, "run", "--gpus", "none", "--cpus", "none", "--", "true", NULL);
    assert_int_equal(f->cli.status, 0);
    assert_non_null(strstr(f->cli.err, "  SoC cpu    "));
    assert_non_null(strstr(f->cli.err, "  SoC total  "));
    assert_non_null(strstr(f->cli.err, "  SoC gpu               n/a              n/a  (no such rail "
                                       "on this board)\n"));
}

static void test_show_env_lists_the_soc(void **state)
{
    struct fixture *f = *state;
    const cJSON *socs, *rails, *b;
    int seen = 0;

    zt_cli_run(&f->cli, "show-env", "--json", NULL);
    parse(f);
    socs = cJSON_GetObjectItemCaseSensitive(f->json, "socs");
    assert_int_equal(cJSON_GetArraySize(socs), 1);
    rails = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(socs, 0), "rails");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(
                            cJSON_GetObjectItemCaseSensitive(rails, "total"), "label")
                            ->valuestring,
                        "VDD_IN");
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(rails, "gpu")));
    cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(f->json, "backends"))
    {
        if (strcmp(cJSON_GetObjectItemCaseSensitive(b, "name")->valuestring, "jetson") == 0) {
            seen = 1;
            assert_string_equal(cJSON_GetObjectItemCaseSensitive(b, "kind")->valuestring, "soc");
            assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(b, "found")));
        }
    }
    assert_true(seen);
    zt_cli_free(&f->cli);
    memset(&f->cli, 0, sizeof f->cli);
    zt_cli_run(&f->cli, "show-env", NULL);
    assert_non_null(strstr(f->cli.out, "## SoC\nSoC 0: NVIDIA Jetson"));
    assert_non_null(strstr(f->cli.out, "  gpu    none\n"));
}

static void test_no_jetson_no_soc_keys(void **state)
{
    struct fixture *f = *state;

    setenv("ZEUS_JETSON", "0", 1);
    zt_cli_run(&f->cli, "run", "--json", "--gpus", "none", "--cpus", "none", "--", "true",
               NULL);
    parse(f);
    assert_null(cJSON_GetObjectItemCaseSensitive(f->json, "soc_energy_j"));
    zt_cli_free(&f->cli);
    memset(&f->cli, 0, sizeof f->cli);
    zt_cli_run(&f->cli, "show-env", NULL);
    assert_non_null(strstr(f->cli.out, "## SoC\nNo SoC available.\n"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_run_json_has_soc_energy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_table_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_show_env_lists_the_soc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_jetson_no_soc_keys, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
