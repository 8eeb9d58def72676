/*
 * test_cli_monitor.c - `zeus monitor energy` and `zeus monitor power` over the fake NVML:
 * both run until SIGINT or SIGTERM and then print their totals; power's integrated energy
 * matches the fake's constant power; --domain, --csv and --plot write what they document;
 * bad options and GPUs exit 2, a domain the GPUs lack and an unwritable file exit 1.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli_support.h"
#include "test_support.h"

/* ---- Fixtures ----------------------------------------------------------------------------- */

static int setup(void **state)
{
    struct zt_cli *c = calloc(1, sizeof *c);

    if (c == NULL)
        return -1;
    setenv("ZEUS_FAKE_NVML", "gpus=2;power_w=300", 1);
    unsetenv("CUDA_VISIBLE_DEVICES");
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    zt_cli_free(*state);
    free(*state);
    return 0;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

/* The number after `label` in `text`; fails the test when it is not there. */
static double number_after(const char *text, const char *label)
{
    const char *p = strstr(text, label);
    double v;

    if (p == NULL || sscanf(p + strlen(label), "%lf", &v) != 1)
        fail_msg("no number after '%s' in '%s'", label, text);
    return v;
}

/* ---- zeus monitor energy ------------------------------------------------------------------ */

static void stop_energy_with(struct zt_cli *c, int sig)
{
    zt_cli_start(c, "monitor", "energy", NULL);
    zt_cli_wait_for_output(c, "press Ctrl-C", 20.0);
    sleep_s(0.5);
    kill(c->pid, sig);
    zt_cli_finish(c, 20.0);
    assert_int_equal(c->status, 0);
    assert_true(number_after(c->out, "time") >= 0.5);
    assert_non_null(strstr(c->out, "GPU 0"));
    assert_non_null(strstr(c->out, "GPU 1"));
}

static void test_monitor_energy_stops_on_sigint_and_reports(void **state)
{
    stop_energy_with(*state, SIGINT);
}

static void test_monitor_energy_stops_on_sigterm_and_reports(void **state)
{
    stop_energy_with(*state, SIGTERM);
}

static void test_monitor_energy_unknown_gpu_exits_2(void **state)
{
    struct zt_cli *c = *state;

    zt_cli_run(c, "monitor", "energy", "--gpus", "5", NULL);
    assert_int_equal(c->status, 2);
    assert_non_null(strstr(c->err, "GPU 5"));
}

/* ---- zeus monitor power ------------------------------------------------------------------- */

static void test_monitor_power_prints_samples_and_integrates(void **state)
{
    struct zt_cli *c = *state;
    double time_s, energy_j;

    zt_cli_start(c, "monitor", "power", "--period", "0.1", NULL);
    zt_cli_wait_for_output(c, "GPU1 300.0 W", 20.0);
    sleep_s(0.5);
    kill(c->pid, SIGINT);
    zt_cli_finish(c, 20.0);
    assert_int_equal(c->status, 0);
    time_s = number_after(c->out, "Total time (s):");
    energy_j = number_after(c->out, "Total energy (J):  GPU0");
    assert_true(time_s >= 0.5);
    /* constant power: the trapezoid rule is exact up to the printed rounding */
    assert_near(energy_j, 300.0 * time_s, 1.0);
}

static void test_monitor_power_stops_on_sigterm(void **state)
{
    struct zt_cli *c = *state;

    zt_cli_start(c, "monitor", "power", "--gpus", "1", "--period=0.05", NULL);
    zt_cli_wait_for_output(c, "GPU1 300.0 W", 20.0);
    kill(c->pid, SIGTERM);
    zt_cli_finish(c, 20.0);
    assert_int_equal(c->status, 0);
    assert_non_null(strstr(c->out, "Total energy (J):  GPU1"));
    assert_null(strstr(c->out, "GPU0"));
}

/* Run `zeus monitor power ARGS...` for about `run_s` after its first line, then SIGINT. */
static void run_power(struct zt_cli *c, double run_s, const char *wait_for, const char *a1,
                      const char *a2, const char *a3, const char *a4, const char *a5,
                      const char *a6, const char *a7, const char *a8)
{
    zt_cli_start(c, "monitor", "power", a1, a2, a3, a4, a5, a6, a7, a8, NULL);
    zt_cli_wait_for_output(c, wait_for, 20.0);
    sleep_s(run_s);
    kill(c->pid, SIGINT);
    zt_cli_finish(c, 20.0);
}

static void test_monitor_power_csv_has_header_rows_and_closing_rows(void **state)
{
    struct zt_cli *c = *state;
    char *dir = zt_mkdtemp(), csv[512], *text, *line, *save = NULL;
    double total_s, last_t = -1;
    int rows = 0, per_series[2][3] = {{0}};

    snprintf(csv, sizeof csv, "%s/power.csv", dir);
    run_power(c, 0.6, "memory_average 46.0 W", "--period", "0.05", "--interval", "0.2",
              "--domain", "device_instant,memory_average", "--csv", csv);
    assert_int_equal(c->status, 0);
    total_s = number_after(c->out, "Total time (s):");
    assert_non_null(strstr(c->out, "Total energy (J), device_instant:  GPU0"));
    assert_non_null(strstr(c->out, "Total energy (J), memory_average:  GPU0"));
    assert_near(number_after(c->out, "Total energy (J), device_instant:  GPU0"),
                300.0 * total_s, 1.0);

    text = zt_read_file(csv);
    assert_non_null(text);
    line = strtok_r(text, "\n", &save);
    assert_string_equal(line, "time_s,gpu,domain,power_w");
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        double t, w;
        unsigned gpu;
        char domain[32];
        int d;

        assert_int_equal(sscanf(line, "%lf,%u,%31[a-z_],%lf", &t, &gpu, domain, &w), 4);
        assert_true(t >= last_t); /* time order */
        last_t = t;
        assert_true(gpu < 2);
        d = strcmp(domain, "device_instant") == 0 ? 0 : strcmp(domain, "memory_average") == 0
                                                           ? 2
                                                           : -1;
        assert_true(d >= 0); /* only the domains asked for */
        assert_near(w, d == 0 ? 300.0 : 46.0, 1e-9);
        if (per_series[gpu][d]++ == 0)
            assert_near(t, 0.0, 0); /* each series starts at 0 */
        rows++;
    }
    /* Constant power: the start row and the closing row at the stop time, per series. */
    assert_int_equal(rows, 8);
    assert_int_equal(per_series[1][2], 2);
    assert_near(last_t, total_s, 0.002);
    free(text);
    zt_rmtree(dir);
    free(dir);
}

static void test_monitor_power_plot_is_an_svg_with_a_line_per_series(void **state)
{
    struct zt_cli *c = *state;
    char *dir = zt_mkdtemp(), svg[512], *text;
    int lines = 0;

    setenv("ZEUS_FAKE_NVML", "gpus=2;trace=square;power_w=600;low_w=150", 1);
    snprintf(svg, sizeof svg, "%s/power.svg", dir);
    run_power(c, 0.8, "GPU1", "--period", "0.05", "--interval", "0.2", "--plot", svg, NULL,
              NULL);
    assert_int_equal(c->status, 0);
    text = zt_read_file(svg);
    assert_non_null(text);
    assert_true(strncmp(text, "<?xml version=\"1.0\"", strlen("<?xml version=\"1.0\"")) == 0);
    assert_non_null(strstr(text, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert_non_null(strstr(text, "</svg>\n"));
    assert_non_null(strstr(text, "GPU device_instant power from"));
    assert_non_null(strstr(text, "time since start (s)"));
    assert_non_null(strstr(text, "power (W)"));
    assert_non_null(strstr(text, ">GPU0</text>"));
    assert_non_null(strstr(text, ">GPU1</text>"));
    assert_non_null(strstr(text, ">600</text>")); /* a watts tick at the high level */
    for (const char *p = text; (p = strstr(p, "<polyline")) != NULL; p++)
        lines++;
    assert_int_equal(lines, 2);
    free(text);
    zt_rmtree(dir);
    free(dir);
}

/* How many entries of `dir` (other than . and ..) there are. */
static int entries_in(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* The chart appears whole when zeus stops, never as an empty or partial file before. */
static void test_monitor_power_plot_appears_only_when_complete(void **state)
{
    struct zt_cli *c = *state;
    char *dir = zt_mkdtemp(), svg[512], *text;
    struct stat st;

    snprintf(svg, sizeof svg, "%s/power.svg", dir);
    zt_cli_start(c, "monitor", "power", "--period", "0.05", "--plot", svg, NULL);
    zt_cli_wait_for_output(c, "press Ctrl-C", 20.0);
    assert_int_equal(stat(svg, &st), -1); /* nothing at the path while it runs */
    kill(c->pid, SIGKILL);
    zt_cli_finish(c, 20.0);
    assert_int_equal(c->status, 128 + SIGKILL);
    assert_int_equal(stat(svg, &st), -1); /* killed: still no empty SVG */
    zt_rmtree(dir);
    free(dir);

    dir = zt_mkdtemp();
    snprintf(svg, sizeof svg, "%s/power.svg", dir);
    zt_cli_free(c);
    zt_cli_start(c, "monitor", "power", "--period", "0.05", "--plot", svg, NULL);
    zt_cli_wait_for_output(c, "press Ctrl-C", 20.0);
    sleep_s(0.3);
    kill(c->pid, SIGTERM);
    zt_cli_finish(c, 20.0);
    assert_int_equal(c->status, 0);
    text = zt_read_file(svg);
    assert_non_null(text);
    assert_non_null(strstr(text, "</svg>\n"));
    assert_int_equal(stat(svg, &st), 0);
    mode_t mask = umask(0);
    umask(mask);
    assert_int_equal(st.st_mode & 0777, 0666 & ~mask); /* the mode fopen would give */
    assert_int_equal(entries_in(dir), 1); /* no temporary file left beside it */
    free(text);
    zt_rmtree(dir);
    free(dir);
}

static void test_monitor_power_defaults_to_average_without_instant(void **state)
{
    struct zt_cli *c = *state;

    setenv("ZEUS_FAKE_NVML", "power_fields=0;power_w=250", 1);
    run_power(c, 0.3, "GPU0 250.0 W", "--period", "0.05", NULL, NULL, NULL, NULL, NULL, NULL);
    assert_int_equal(c->status, 0);
    assert_non_null(strstr(c->err, "device_average power"));
    assert_near(number_after(c->out, "Total energy (J):  GPU0"),
                250.0 * number_after(c->out, "Total time (s):"), 1.0);
}

static void test_monitor_power_unsupported_domain_or_file_exits_1(void **state)
{
    struct zt_cli *c = *state;

    setenv("ZEUS_FAKE_NVML", "memory_power=0", 1);
    zt_cli_run(c, "monitor", "power", "--domain", "memory_average", "--period", "0.05", NULL);
    assert_int_equal(c->status, 1);
    assert_non_null(strstr(c->err, "memory_average is not supported"));
    zt_cli_free(c);
    zt_cli_run(c, "monitor", "power", "--csv", "/nonexistent-dir/p.csv", NULL);
    assert_int_equal(c->status, 1);
    assert_non_null(strstr(c->err, "/nonexistent-dir/p.csv"));
    zt_cli_free(c);
    zt_cli_run(c, "monitor", "power", "--plot", "/nonexistent-dir/p.svg", NULL);
    assert_int_equal(c->status, 1);
}

static void test_monitor_power_bad_options_exit_2(void **state)
{
    struct zt_cli *c = *state;

    zt_cli_run(c, "monitor", "power", "--period", "0", NULL);
    assert_int_equal(c->status, 2);
    assert_non_null(strstr(c->err, "'0'"));
    zt_cli_free(c);
    zt_cli_run(c, "monitor", "power", "--domain", "board", NULL);
    assert_int_equal(c->status, 2);
    assert_non_null(strstr(c->err, "'board'"));
    zt_cli_free(c);
    zt_cli_run(c, "monitor", "power", "--gpus", "2", NULL);
    assert_int_equal(c->status, 2);
    assert_non_null(strstr(c->err, "GPU 2"));
    zt_cli_free(c);
    zt_cli_run(c, "monitor", "power", "--domain", "device_instant,", NULL);
    assert_int_equal(c->status, 2);
    zt_cli_free(c);
    zt_cli_run(c, "monitor", "power", "--interval", "0.001", NULL);
    assert_int_equal(c->status, 2);
    zt_cli_free(c);
    zt_cli_run(c, "monitor", "power", "--gpus", "none", NULL);
    assert_int_equal(c->status, 2);
    assert_non_null(strstr(c->err, "--gpus none"));
    zt_cli_free(c);
    zt_cli_run(c, "monitor", "energy", "--csv", "x.csv", NULL); /* power's options only */
    assert_int_equal(c->status, 2);
    zt_cli_free(c);
    zt_cli_run(c, "monitor", "voltage", NULL);
    assert_int_equal(c->status, 2);
    zt_cli_free(c);
    zt_cli_run(c, "monitor", NULL);
    assert_int_equal(c->status, 2);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_monitor_energy_stops_on_sigint_and_reports),
        T(test_monitor_energy_stops_on_sigterm_and_reports),
        T(test_monitor_energy_unknown_gpu_exits_2),
        T(test_monitor_power_prints_samples_and_integrates),
        T(test_monitor_power_stops_on_sigterm),
        T(test_monitor_power_csv_has_header_rows_and_closing_rows),
        T(test_monitor_power_plot_is_an_svg_with_a_line_per_series),
        T(test_monitor_power_plot_appears_only_when_complete),
        T(test_monitor_power_defaults_to_average_without_instant),
        T(test_monitor_power_unsupported_domain_or_file_exits_1),
        T(test_monitor_power_bad_options_exit_2),
    };
#undef T
    return cmocka_run_group_tests_name("cli_monitor", tests, NULL, NULL);
}
