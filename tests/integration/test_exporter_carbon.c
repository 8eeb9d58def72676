/*
 * test_exporter_carbon.c - `zeus exporter --carbon PROVIDER` scraped as Prometheus would: the
 * real binary over the fake NVML (one GPU at 300 W) and a fake RAPL tree (package 0 with
 * DRAM, package 1 without), with a fixed provider. Checks the intensity gauge, the grams
 * counters with the exporter's labels (rising, and never above the energy the GPU used since
 * start at 400 g/kWh), no DRAM sample for a package without DRAM, and a bad spec.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_support.h"
#include "http_support.h"
#include "sysfs_tree.h"
#include "test_support.h"

struct fixture {
    struct zt_cli cli;
    zt_sysfs *sysfs;
    char *sysfs_before;
    char url[128];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    if (f == NULL)
        return -1;
    setenv("ZEUS_FAKE_NVML", "gpus=1;power_w=300", 1);
    unsetenv("CUDA_VISIBLE_DEVICES");
    if (getenv("ZEUS_SYSFS_ROOT") != NULL)
        f->sysfs_before = strdup(getenv("ZEUS_SYSFS_ROOT"));
    f->sysfs = zt_sysfs_create();
    zt_sysfs_add_powercap(f->sysfs);
    zt_sysfs_add_package(f->sysfs, 0, 1000000, 262143328850);
    zt_sysfs_add_dram(f->sysfs, 0, 0, 500000, 65712999613);
    zt_sysfs_add_package(f->sysfs, 1, 7000000, 262143328850);
    zt_sysfs_use(f->sysfs);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    if (f->cli.pid > 0 && kill(f->cli.pid, 0) == 0) {
        kill(f->cli.pid, SIGTERM);
        zt_cli_finish(&f->cli, 30);
    }
    zt_cli_free(&f->cli);
    zt_sysfs_destroy(f->sysfs);
    if (f->sysfs_before != NULL)
        setenv("ZEUS_SYSFS_ROOT", f->sysfs_before, 1);
    free(f->sysfs_before);
    free(f);
    return 0;
}

static void start_exporter(struct fixture *f)
{
    char *out;
    const char *p;

    zt_cli_start(&f->cli, "exporter", "--listen", "127.0.0.1:0", "--carbon", "fixed:400",
                 "--period", "0.1", NULL);
    zt_cli_wait_for_output(&f->cli, "/metrics", 30);
    out = zt_read_file(f->cli.out_path);
    p = out != NULL ? strstr(out, "http://") : NULL;
    assert_non_null(p);
    snprintf(f->url, sizeof f->url, "%.*s", (int)strcspn(p, " \n"), p);
    free(out);
}

static char *scrape(const struct fixture *f)
{
    char *body = NULL;

    assert_int_equal(zt_http("GET", f->url, NULL, 10000, &body), 200);
    return body;
}

/* The value of the sample whose line starts with `prefix`; fails the test when absent. */
static double sample(const char *text, const char *prefix)
{
    for (const char *line = text; line != NULL && *line;) {
        const char *end = strchr(line, '\n');

        if (strncmp(line, prefix, strlen(prefix)) == 0) {
            const char *v = strstr(line, "} ");
            return v != NULL && (end == NULL || v < end) ? atof(v + 2) : atof(line + strlen(prefix));
        }
        line = end != NULL ? end + 1 : NULL;
    }
    fail_msg("no sample '%s' in:\n%s", prefix, text);
    return 0;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

#define GPU0 "zeus_gpu_carbon_grams_total{index=\"0\",uuid=\"GPU-"

static void test_exporter_carbon_gauge_and_counters(void **state)
{
    struct fixture *f = *state;
    char *first, *second = NULL;
    double g1 = 0, g2, energy;

    start_exporter(f);
    /* The first roll comes within a period or so; wait for a non-zero counter (bounded). */
    for (int i = 0; i < 100; i++) {
        first = scrape(f);
        if (strstr(first, GPU0) != NULL && (g1 = sample(first, GPU0)) > 0)
            break;
        free(first);
        first = NULL;
        sleep_s(0.1);
    }
    if (first == NULL)
        fail_msg("the GPU's grams counter stayed at 0 for 10 s");
    assert_near(sample(first, "zeus_carbon_intensity_grams_per_kwh "), 400, 1e-9);
    assert_non_null(strstr(first, "# TYPE zeus_gpu_carbon_grams_total counter"));
    assert_non_null(strstr(first, "# TYPE zeus_carbon_intensity_grams_per_kwh gauge"));
    assert_non_null(strstr(first, "name=\"NVIDIA"));
    /* CPU packages as zeus_cpu_energy_joules_total labels them; DRAM only where it exists. */
    sample(first, "zeus_cpu_carbon_grams_total{index=\"0\",zone=\"package-0\"}");
    sample(first, "zeus_cpu_carbon_grams_total{index=\"1\",zone=\"package-1\"}");
    sample(first, "zeus_dram_carbon_grams_total{index=\"0\",zone=\"package-0\"}");
    assert_null(strstr(first, "zeus_dram_carbon_grams_total{index=\"1\""));

    /* A counter that rises with the GPU's 300 W (within 10 s, however loaded the machine). */
    for (int i = 0; i < 100; i++) {
        sleep_s(0.1);
        free(second);
        second = scrape(f);
        if ((g2 = sample(second, GPU0)) > g1)
            break;
    }
    energy = sample(second, "zeus_gpu_energy_joules_total{index=\"0\"");
    assert_true(g2 > g1);
    /* Never more than everything the GPU used since it was first read, at 400 g/kWh. */
    assert_true(g2 <= energy / 3.6e6 * 400 + 1e-9);
    free(first);
    free(second);
}

static void test_exporter_carbon_bad_provider(void **state)
{
    struct fixture *f = *state;

    zt_cli_run(&f->cli, "exporter", "--listen", "127.0.0.1:0", "--carbon", "nosuch:1", NULL);
    assert_int_equal(f->cli.status, 2);
    assert_non_null(strstr(f->cli.err, "--carbon"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_exporter_carbon_gauge_and_counters, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_exporter_carbon_bad_provider, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
