/*
 * test_cli_jetson.c - The `zeus` command on a fake Jetson (an Orin NX tree under
 * ZEUS_SYSFS_ROOT, ZEUS_JETSON=1): `run --json` carries "soc_energy_j" with the rails'
 * energies (null for the rail the board lacks) and takes the total rail as the total when
 * nothing else is measured; `run -r N` gives the rails' statistics (JSON and table);
 * `show-env` lists the SoC and its rails. Without a Jetson
 * (ZEUS_JETSON=0) neither appears, so reports elsewhere keep their shape.
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
#include <unistd.h>

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

/* Each run sleeps 0.1 s longer than the one before, so the statistics differ from run 1's. */
#define SH_LONGER "n=$(cat \"$1\" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > \"$1\"; sleep 0.$n"

static double rail(const cJSON *o, const char *rail_name)
{
    return number(cJSON_GetObjectItemCaseSensitive(o, "soc_energy_j"), rail_name);
}

/*
 * `run -r 3 --json`: every statistic carries "soc_energy_j" computed from the runs (the mean
 * is their mean, min and max theirs), null for the rail the board lacks; the table has a row
 * per rail and says which one the board lacks.
 */
static void test_run_repeat_soc_statistics(void **state)
{
    struct fixture *f = *state;
    char *dir = zt_mkdtemp(), count[512];
    const cJSON *runs, *run;
    double sum = 0, lo = 1e300, hi = 0;

    snprintf(count, sizeof count, "%s/count", dir);
    zt_cli_run(&f->cli, "run", "-r", "3", "--json", "--gpus", "none", "--cpus", "none", "--",
               "sh", "-c", SH_LONGER, "sh", count, NULL);
    parse(f);
    runs = cJSON_GetObjectItemCaseSensitive(f->json, "runs");
    assert_int_equal(cJSON_GetArraySize(runs), 3);
    cJSON_ArrayForEach(run, runs)
    {
        double e = rail(run, "cpu");
        assert_near(e, 2.5 * number(run, "time_s"), 0.03 * 2.5 * number(run, "time_s"));
        sum += e;
        lo = e < lo ? e : lo;
        hi = e > hi ? e : hi;
    }
    assert_true(hi - lo > 0.4); /* 0.1 s to 0.3 s at 2.5 W */
    assert_near(rail(cJSON_GetObjectItemCaseSensitive(f->json, "mean"), "cpu"), sum / 3, 0.002);
    assert_near(rail(cJSON_GetObjectItemCaseSensitive(f->json, "min"), "cpu"), lo, 1e-9);
    assert_near(rail(cJSON_GetObjectItemCaseSensitive(f->json, "max"), "cpu"), hi, 1e-9);
    assert_true(rail(cJSON_GetObjectItemCaseSensitive(f->json, "stddev"), "total") > 0.5);
    assert_near(rail(cJSON_GetObjectItemCaseSensitive(f->json, "mean"), "total"),
                number(cJSON_GetObjectItemCaseSensitive(f->json, "mean"), "total_energy_j"),
                0.002);
    for (const char *const *k = (const char *const[]){"mean", "stddev", "min", "max", NULL}; *k;
         k++)
        assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(f->json, *k),
                                             "soc_energy_j"),
            "gpu")));

    zt_cli_free(&f->cli);
    memset(&f->cli, 0, sizeof f->cli);
    unlink(count);
    zt_cli_run(&f->cli, "run", "-r", "2", "--gpus", "none", "--cpus", "none", "--", "true",
               NULL);
    assert_int_equal(f->cli.status, 0);
    assert_non_null(strstr(f->cli.err, "  SoC cpu (J)   "));
    assert_non_null(strstr(f->cli.err, "  SoC total (J) "));
    assert_non_null(strstr(f->cli.err, "  SoC gpu (J)              n/a  (no such rail on this "
                                       "board)\n"));
    zt_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_run_json_has_soc_energy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_table_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_show_env_lists_the_soc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_jetson_no_soc_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_repeat_soc_statistics, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
