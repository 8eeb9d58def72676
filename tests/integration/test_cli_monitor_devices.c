/*
 * test_cli_monitor_devices.c - `zeus monitor power` beyond NVIDIA: AMD GPUs from the fake
 * AMD SMI (alone, and numbered after NVIDIA in a mixed process), and a Jetson's rails from
 * a fake Orin NX tree (ZEUS_SYSFS_ROOT, ZEUS_JETSON=1): the lines name every rail ("absent"
 * for the one the board lacks, n/a while one cannot be read), the totals give each rail's
 * energy, the CSV file has `soc` rows and the chart a line per rail. A SoC alone is enough,
 * and with a SoC --gpus none samples only its rails.
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
#include "sysfs_tree.h"
#include "test_support.h"

#define NX "bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon1/"

struct fixture {
    struct zt_cli cli;
    zt_sysfs *tree; /* the Jetson, or NULL */
    char *dir;      /* for output files */
};

/* ---- Fixtures ----------------------------------------------------------------------------- */

static struct fixture *fixture_new(void)
{
    struct fixture *f = calloc(1, sizeof *f);

    assert_non_null(f);
    f->dir = zt_mkdtemp();
    unsetenv("CUDA_VISIBLE_DEVICES");
    unsetenv("HIP_VISIBLE_DEVICES");
    return f;
}

/* An Orin NX: total rail VDD_IN at 7 W (power file), cpu rail at 1 V x 2.5 A; no gpu rail. */
static int setup_jetson(void **state)
{
    struct fixture *f = fixture_new();

    f->tree = zt_sysfs_create();
    zt_sysfs_use(f->tree);
    zt_sysfs_put(f->tree, NX "in1_label", "VDD_IN\n");
    zt_sysfs_put(f->tree, NX "power1_input", "7000\n");
    zt_sysfs_put(f->tree, NX "in2_label", "VDD_CPU_GPU_CV\n");
    zt_sysfs_put(f->tree, NX "in2_input", "1000\n");
    zt_sysfs_put(f->tree, NX "curr2_input", "2500\n");
    setenv("ZEUS_JETSON", "1", 1);
    setenv("ZEUS_FAKE_NVML", "gpus=0", 1);
    *state = f;
    return 0;
}

static int setup_amd(void **state)
{
    struct fixture *f = fixture_new();
    const char *fake = getenv("ZEUS_FAKE_AMDSMI_LIBRARY");

    if (fake == NULL)
        return -1;
    setenv("ZEUS_AMDSMI_LIBRARY", fake, 1);
    setenv("ZEUS_AMDSMI_CHECK_SECONDS", "0.1", 1);
    setenv("ZEUS_FAKE_AMDSMI", "gpus=2;power_w=250", 1);
    setenv("ZEUS_FAKE_NVML", "gpus=0", 1);
    setenv("ZEUS_JETSON", "0", 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    zt_cli_free(&f->cli);
    zt_sysfs_destroy(f->tree);
    zt_rmtree(f->dir);
    free(f->dir);
    free(f);
    unsetenv("ZEUS_JETSON");
    unsetenv("ZEUS_AMDSMI_LIBRARY");
    unsetenv("ZEUS_FAKE_AMDSMI");
    return 0;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

static double number_after(const char *text, const char *label)
{
    const char *p = strstr(text, label);
    double v;

    if (p == NULL || sscanf(p + strlen(label), "%lf", &v) != 1)
        fail_msg("no number after '%s' in '%s'", label, text);
    return v;
}

/* Start `zeus monitor power ARGS...` and wait until it prints `wait_for`. */
static void start_power(struct fixture *f, const char *wait_for, const char *a1, const char *a2,
                        const char *a3, const char *a4, const char *a5, const char *a6)
{
    zt_cli_start(&f->cli, "monitor", "power", "--interval", "0.1", a1, a2, a3, a4, a5, a6,
                 NULL);
    zt_cli_wait_for_output(&f->cli, wait_for, 30.0);
}

static void stop_power(struct fixture *f)
{
    kill(f->cli.pid, SIGINT);
    zt_cli_finish(&f->cli, 30.0);
    assert_int_equal(f->cli.status, 0);
}

/* ---- Jetson ------------------------------------------------------------------------------- */

/*
 * A Jetson alone: each line names every rail, the totals integrate the rails, the start
 * message names the sensors and the rail the board lacks.
 */
static void test_jetson_rails_in_lines_and_totals(void **state)
{
    struct fixture *f = *state;
    double t;

    start_power(f, "SoC cpu 2.5 W gpu absent total 7.0 W", NULL, NULL, NULL, NULL, NULL, NULL);
    sleep_s(0.5);
    stop_power(f);
    assert_non_null(strstr(f->cli.err, "cpu (VDD_CPU_GPU_CV), total (VDD_IN)"));
    assert_non_null(strstr(f->cli.err, "; no gpu rail;"));
    assert_null(strstr(f->cli.out, "GPU0")); /* no GPU here */
    t = number_after(f->cli.out, "Total time (s):");
    assert_true(t >= 0.5);
    /* A constant rail over exactly the printed time (the edge readings are moved to the
     * start and the stop), however late the readings came: up to the printed rounding. */
    assert_near(number_after(f->cli.out, "Total energy (J), SoC:  cpu"), 2.5 * t, 0.005);
    assert_non_null(strstr(f->cli.out, "  gpu absent  total "));
    assert_near(number_after(f->cli.out, "gpu absent  total"), 7.0 * t, 0.01);
}

/*
 * The CSV file: `soc` rows with the rail as the domain, starting at 0, a row for each
 * change, a closing row per rail at the stop; none for the absent rail. The chart has a
 * line per rail present and its title names the one absent.
 */
static void test_jetson_csv_and_plot(void **state)
{
    struct fixture *f = *state;
    char csv[512], svg[512], *text;
    double t;

    snprintf(csv, sizeof csv, "%s/p.csv", f->dir);
    snprintf(svg, sizeof svg, "%s/p.svg", f->dir);
    start_power(f, "total 7.0 W", "--period", "0.05", "--csv", csv, "--plot", svg);
    sleep_s(0.3);
    zt_sysfs_put(f->tree, NX "power1_input", "5000\n");
    zt_cli_wait_for_output(&f->cli, "total 5.0 W", 30.0);
    sleep_s(0.3);
    stop_power(f);
    t = number_after(f->cli.out, "Total time (s):");
    /* Between all at 5 W and all at 7 W, since the rail was at each for a while. */
    {
        double e = number_after(f->cli.out, "gpu absent  total");
        assert_true(e > 5.0 * t && e < 7.0 * t);
    }

    text = zt_read_file(csv);
    assert_non_null(text);
    assert_true(strncmp(text, "time_s,gpu,domain,power_w\n0.000000,soc,", 39) == 0);
    assert_non_null(strstr(text, ",soc,cpu,2.500\n"));
    assert_non_null(strstr(text, ",soc,total,7.000\n"));
    assert_non_null(strstr(text, ",soc,total,5.000\n"));
    assert_null(strstr(text, "soc,gpu"));
    {
        /* cpu is constant: its first row and its closing row at the stop, nothing between */
        int cpu_rows = 0;
        double last = -1;
        for (const char *p = text; (p = strstr(p, ",soc,cpu,")) != NULL; p++) {
            const char *line = p;
            while (line > text && line[-1] != '\n')
                line--;
            last = strtod(line, NULL);
            cpu_rows++;
        }
        assert_int_equal(cpu_rows, 2);
        assert_near(last, t, 0.002); /* the closing row is at the stop */
    }
    free(text);

    text = zt_read_file(svg);
    assert_non_null(text);
    assert_non_null(strstr(text, ">SoC cpu<"));
    assert_non_null(strstr(text, ">SoC total<"));
    assert_null(strstr(text, ">SoC gpu<"));
    assert_non_null(strstr(text, "SoC rail power from "));
    assert_non_null(strstr(text, "; no gpu rail<"));
    free(text);
}

/* A rail that cannot be read shows n/a; when it comes back its energy is a lower bound. */
static void test_jetson_rail_unreadable_for_a_while(void **state)
{
    struct fixture *f = *state;

    start_power(f, "SoC cpu 2.5 W", "--period", "0.05", NULL, NULL, NULL, NULL);
    zt_sysfs_unlink(f->tree, NX "curr2_input");
    zt_cli_wait_for_output(&f->cli, "SoC cpu n/a", 30.0);
    zt_sysfs_put(f->tree, NX "curr2_input", "3000\n");
    zt_cli_wait_for_output(&f->cli, "SoC cpu 3.0 W", 30.0);
    stop_power(f);
    assert_non_null(strstr(f->cli.out, "(lower bound: 1 unreadable stretch left out)"));
}

/*
 * With NVIDIA GPUs too, a line holds both and so do the totals; --gpus none leaves the SoC
 * (and a --domain, which is for GPUs, is said to apply to none).
 */
static void test_jetson_with_gpus_and_gpus_none(void **state)
{
    struct fixture *f = *state;

    setenv("ZEUS_FAKE_NVML", "gpus=1;power_w=300", 1);
    start_power(f, "GPU0 300.0 W  SoC cpu 2.5 W gpu absent total 7.0 W", NULL, NULL, NULL,
                NULL, NULL, NULL);
    stop_power(f);
    assert_non_null(strstr(f->cli.out, "Total energy (J):  GPU0 "));
    assert_non_null(strstr(f->cli.out, "Total energy (J), SoC:  cpu "));
    zt_cli_free(&f->cli);

    start_power(f, "SoC cpu 2.5 W", "--gpus", "none", "--domain", "device_average", NULL, NULL);
    stop_power(f);
    assert_null(strstr(f->cli.out, "GPU0"));
    assert_null(strstr(f->cli.err, "device_instant"));
    assert_non_null(strstr(f->cli.err, "--domain is for GPUs, and none is sampled"));
}

/* Without a SoC nothing changes: no SoC text, and --gpus none is still a usage error. */
static void test_no_soc_no_rails(void **state)
{
    struct fixture *f = *state;

    setenv("ZEUS_JETSON", "0", 1);
    setenv("ZEUS_FAKE_NVML", "gpus=1;power_w=300", 1);
    start_power(f, "GPU0 300.0 W", NULL, NULL, NULL, NULL, NULL, NULL);
    stop_power(f);
    assert_null(strstr(f->cli.out, "SoC"));
    assert_null(strstr(f->cli.err, "SoC"));
    zt_cli_free(&f->cli);
    zt_cli_run(&f->cli, "monitor", "power", "--gpus", "none", NULL);
    assert_int_equal(f->cli.status, 2);
}

/* ---- AMD ---------------------------------------------------------------------------------- */

/* AMD GPUs print, integrate and plot as NVIDIA ones; memory power is not theirs (exit 1). */
static void test_amd_gpus_print_integrate_and_plot(void **state)
{
    struct fixture *f = *state;
    char svg[512], *text;
    double t;

    snprintf(svg, sizeof svg, "%s/amd.svg", f->dir);
    start_power(f, "GPU0 250.0 W  GPU1 250.0 W", "--period", "0.05", "--plot", svg, NULL, NULL);
    sleep_s(0.4);
    stop_power(f);
    t = number_after(f->cli.out, "Total time (s):");
    assert_near(number_after(f->cli.out, "Total energy (J):  GPU0"), 250.0 * t, 1.0);
    assert_near(number_after(f->cli.out, "GPU1"), 250.0, 1e-9);
    text = zt_read_file(svg);
    assert_non_null(text);
    assert_non_null(strstr(text, ">GPU0<"));
    assert_non_null(strstr(text, ">GPU1<"));
    free(text);
    zt_cli_free(&f->cli);

    zt_cli_run(&f->cli, "monitor", "power", "--domain", "memory_average", NULL);
    assert_int_equal(f->cli.status, 1);
    assert_non_null(strstr(f->cli.err, "memory_average"));
}

/* NVIDIA first, then AMD: GPU0 is the NVIDIA one at 300 W, GPU1 the AMD one at 250 W. */
static void test_amd_after_nvidia_in_one_process(void **state)
{
    struct fixture *f = *state;

    setenv("ZEUS_FAKE_NVML", "gpus=1;power_w=300", 1);
    setenv("ZEUS_FAKE_AMDSMI", "gpus=1;power_w=250", 1);
    start_power(f, "GPU0 300.0 W  GPU1 250.0 W", "--domain", "device_average", NULL, NULL, NULL,
                NULL);
    stop_power(f);
    assert_non_null(strstr(f->cli.out, "Total energy (J):  GPU0 "));
    assert_non_null(strstr(f->cli.out, "  GPU1 "));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_jetson_rails_in_lines_and_totals, setup_jetson,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_jetson_csv_and_plot, setup_jetson, teardown),
        cmocka_unit_test_setup_teardown(test_jetson_rail_unreadable_for_a_while, setup_jetson,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_jetson_with_gpus_and_gpus_none, setup_jetson,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_no_soc_no_rails, setup_jetson, teardown),
        cmocka_unit_test_setup_teardown(test_amd_gpus_print_integrate_and_plot, setup_amd,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_amd_after_nvidia_in_one_process, setup_amd,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
