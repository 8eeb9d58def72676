/*
 * test_cli_monitor.c - `zeus monitor energy` and `zeus monitor power` over the fake NVML:
 * both run until SIGINT or SIGTERM and then print their totals; power's integrated energy
 * matches the fake's constant power; bad options and GPUs exit 2.
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
        T(test_monitor_power_bad_options_exit_2),
    };
#undef T
    return cmocka_run_group_tests_name("cli_monitor", tests, NULL, NULL);
}
