/*
 * test_cli_carbon.c - `zeus run --carbon PROVIDER --price PROVIDER` as a user runs it: the
 * real binary over the fake NVML (two GPUs at 300 W) and a fake RAPL tree (one package with
 * DRAM, moved by the command itself), with fixed providers, so every amount is the energy in
 * kWh times the rate: the acceptance check. Also a CSV provider, one that cannot be
 * reached (amounts null and pending, never 0), the table, -r N, and a bad spec.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "cli_support.h"
#include "sysfs_tree.h"
#include "test_support.h"

struct fixture {
    struct zt_cli cli;
    cJSON *json;
    zt_sysfs *sysfs;
    char *sysfs_before;
    char pkg[1024], dram[1024]; /* the RAPL files the command moves */
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
    f->sysfs = zt_sysfs_create();
    zt_sysfs_add_powercap(f->sysfs);
    zt_sysfs_add_package(f->sysfs, 0, 1000000, 262143328850);
    zt_sysfs_add_dram(f->sysfs, 0, 0, 500000, 65712999613);
    zt_sysfs_use(f->sysfs);
    zt_sysfs_path(f->sysfs, "intel-rapl:0", "energy_uj", f->pkg, sizeof f->pkg);
    zt_sysfs_path(f->sysfs, "intel-rapl:0:0", "energy_uj", f->dram, sizeof f->dram);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    zt_cli_free(&f->cli);
    cJSON_Delete(f->json);
    zt_sysfs_destroy(f->sysfs);
    if (f->sysfs_before != NULL)
        setenv("ZEUS_SYSFS_ROOT", f->sysfs_before, 1);
    free(f->sysfs_before);
    free(f);
    return 0;
}

/* A command that runs 0.3 s and moves the package counter by 3 J and DRAM by 1 J. */
#define WORK "sleep 0.3 && printf 4000000 > \"$1.new\" && mv \"$1.new\" \"$1\" && " \
             "printf 1500000 > \"$2.new\" && mv \"$2.new\" \"$2\""

static cJSON *parse_stdout(struct fixture *f)
{
    const char *end = NULL;

    f->json = cJSON_ParseWithOpts(f->cli.out, &end, 0);
    if (f->json == NULL)
        fail_msg("stdout is not JSON: '%s' (stderr: %s)", f->cli.out, f->cli.err);
    assert_true(cJSON_IsObject(f->json));
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

/*
 * amounts[kind][index] == energy_j[index] / 3.6e6 * rate for every device of `kind`, and
 * the total is their sum. The JSON energy is rounded to 1 mJ: that is the tolerance.
 */
static void assert_priced(const cJSON *run, const char *amount_key, double rate)
{
    static const char *const kinds[3][2] = {
        {"gpu", "gpu_energy_j"}, {"cpu", "cpu_energy_j"}, {"dram", "dram_energy_j"}};
    const cJSON *amounts = member(run, amount_key);
    double sum = 0;
    int devices = 0;

    for (int k = 0; k < 3; k++) {
        const cJSON *energy = member(run, kinds[k][1]);
        const cJSON *amount = member(amounts, kinds[k][0]);
        const cJSON *e;

        assert_int_equal(cJSON_GetArraySize(amount), cJSON_GetArraySize(energy));
        cJSON_ArrayForEach(e, energy) {
            double want = e->valuedouble / 3.6e6 * rate;
            double got = number(amount, e->string);

            assert_near(got, want, 0.6e-3 / 3.6e6 * rate + 1e-12);
            sum += got;
            devices++;
        }
    }
    assert_int_equal(devices, 4); /* GPU 0, GPU 1, CPU 0, DRAM 0 */
    assert_near(number(amounts, "total"), sum, 1e-12 + sum * 1e-12);
    assert_true(number(amounts, "hours") >= 1); /* 2 when the run straddled an hour */
    assert_int_equal(cJSON_GetArraySize(member(amounts, "flags")), 0);
}

/* ---- Tests -------------------------------------------------------------------------------- */

static void test_carbon_fixed_400_is_energy_kwh_times_400(void **state)
{
    struct fixture *f = *state;
    cJSON *gpu;

    zt_cli_run(&f->cli, "run", "--carbon", "fixed:400", "--json", "--", "sh", "-c", WORK, "sh",
               f->pkg, f->dram, NULL);
    if (f->cli.status != 0)
        fail_msg("exit %d: %s", f->cli.status, f->cli.err);
    parse_stdout(f);
    assert_priced(f->json, "carbon_g", 400);
    /* The energies are real: 300 W for 0.3 s or more per GPU, 3 J and 1 J from RAPL. */
    gpu = member(f->json, "gpu_energy_j");
    assert_true(number(gpu, "0") > 300 * 0.25);
    assert_near(number(member(f->json, "cpu_energy_j"), "0"), 3.0, 1e-6);
    assert_near(number(member(f->json, "dram_energy_j"), "0"), 1.0, 1e-6);
    assert_null(cJSON_GetObjectItemCaseSensitive(f->json, "cost")); /* not asked for */
    assert_null(cJSON_GetObjectItemCaseSensitive(member(f->json, "carbon_g"), "currency"));
}

static void test_carbon_and_price_together(void **state)
{
    struct fixture *f = *state;
    cJSON *cost;

    zt_cli_run(&f->cli, "run", "--carbon=fixed:250.5", "--price", "fixed:0.12", "--json", "--",
               "sh", "-c", WORK, "sh", f->pkg, f->dram, NULL);
    assert_int_equal(f->cli.status, 0);
    parse_stdout(f);
    assert_priced(f->json, "carbon_g", 250.5);
    assert_priced(f->json, "cost", 0.12);
    cost = member(f->json, "cost");
    assert_string_equal(cJSON_GetStringValue(member(cost, "currency")), "USD");
}

static void test_carbon_table_and_exit_status(void **state)
{
    struct fixture *f = *state;

    zt_cli_run(&f->cli, "run", "--carbon", "fixed:400", "--price", "fixed:0.12", "--", "sh",
               "-c", "exit 3", NULL);
    assert_int_equal(f->cli.status, 3); /* the command's status, as without --carbon */
    assert_string_equal(f->cli.out, "");
    assert_non_null(strstr(f->cli.err, "carbon (gCO2eq)"));
    assert_non_null(strstr(f->cli.err, "cost (USD)"));
    assert_non_null(strstr(f->cli.err, "GPU 1"));
}

static void test_carbon_repeat_prices_every_run(void **state)
{
    struct fixture *f = *state;
    cJSON *runs, *run;

    zt_cli_run(&f->cli, "run", "-r", "2", "--carbon", "fixed:400", "--json", "--", "sh", "-c",
               "sleep 0.1", NULL);
    assert_int_equal(f->cli.status, 0);
    runs = member(parse_stdout(f), "runs");
    assert_int_equal(cJSON_GetArraySize(runs), 2);
    cJSON_ArrayForEach(run, runs) {
        const cJSON *gpu = member(run, "gpu_energy_j");
        const cJSON *g = member(member(run, "carbon_g"), "gpu");

        assert_near(number(g, "0"), number(gpu, "0") / 3.6e6 * 400, 1e-7);
        assert_near(number(g, "1"), number(gpu, "1") / 3.6e6 * 400, 1e-7);
    }
}

static void test_carbon_csv_provider(void **state)
{
    struct fixture *f = *state;
    char *dir = zt_mkdtemp(), path[512], spec[600];

    /* One row from 1970 on: it holds for every hour after it. */
    snprintf(path, sizeof path, "%s/intensity.csv", dir);
    zt_write_file(path, "0,250\n");
    snprintf(spec, sizeof spec, "csv:%s", path);
    zt_cli_run(&f->cli, "run", "--carbon", spec, "--json", "--", "sh", "-c", WORK, "sh", f->pkg,
               f->dram, NULL);
    assert_int_equal(f->cli.status, 0);
    parse_stdout(f);
    assert_priced(f->json, "carbon_g", 250);
    zt_rmtree(dir);
    free(dir);
}

/* A loopback port nothing listens on: bound by the kernel's choice, then closed. */
static int closed_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* A provider that cannot be reached: the command's report still comes, amounts null, said. */
static void test_carbon_unreachable_provider_is_pending_not_zero(void **state)
{
    struct fixture *f = *state;
    cJSON *carbon;

    char url[64];

    snprintf(url, sizeof url, "http://127.0.0.1:%d", closed_port()); /* refused at once */
    setenv("ZEUS_ELECTRICITYMAPS_URL", url, 1);
    zt_cli_run(&f->cli, "run", "--carbon", "electricitymaps:42.28,-83.74", "--json", "--",
               "sleep", "0.1", NULL);
    unsetenv("ZEUS_ELECTRICITYMAPS_URL");
    assert_int_equal(f->cli.status, 0); /* the command's status */
    carbon = member(parse_stdout(f), "carbon_g");
    assert_true(cJSON_IsNull(member(member(carbon, "gpu"), "0")));
    assert_true(cJSON_IsNull(member(carbon, "total")));
    assert_true(number(carbon, "pending_hours") >= 1);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetArrayItem(member(carbon, "flags"), 0)),
                        "pending");
    assert_true(number(member(f->json, "gpu_energy_j"), "0") > 0); /* the energy is there */
    assert_non_null(strstr(f->cli.err, "not priced yet"));
}

static void test_carbon_bad_provider_is_a_usage_error(void **state)
{
    struct fixture *f = *state;

    zt_cli_run(&f->cli, "run", "--carbon", "nosuch:1", "--json", "--", "true", NULL);
    assert_int_equal(f->cli.status, 2);
    assert_string_equal(f->cli.out, "");
    assert_non_null(strstr(f->cli.err, "--carbon"));
    zt_cli_free(&f->cli);
    zt_cli_run(&f->cli, "run", "--price", NULL);
    assert_int_equal(f->cli.status, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_carbon_fixed_400_is_energy_kwh_times_400, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_carbon_and_price_together, setup, teardown),
        cmocka_unit_test_setup_teardown(test_carbon_table_and_exit_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_carbon_repeat_prices_every_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_carbon_csv_provider, setup, teardown),
        cmocka_unit_test_setup_teardown(test_carbon_unreachable_provider_is_pending_not_zero,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_carbon_bad_provider_is_a_usage_error, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
