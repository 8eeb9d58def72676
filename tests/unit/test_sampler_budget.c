/*
 * test_sampler_budget.c - The sampler's CPU budget for expensive energy reads (sampler.c,
 * note 7): with a fake whose energy read spins on the CPU as a real H200's driver does, the
 * sampler reads the counter at most as often as its budget allows, and windows stay accurate
 * on a varying power trace because polled power places the counter's energy in time. The
 * budget is opt-in (ZEUS_SAMPLER_CPU_BUDGET=0.0025 here); without it, and with cheap reads,
 * the sampler keeps reading every update, as before.
 *
 * Counts come from the fake's call counters, not from timing the CPU: CPU percentages are
 * benchmark targets (`zeus bench sampler`), not assertions.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "fake_nvml_control.h"
#include "test_support.h"
#include "zeus/zeus.h"

#define ENERGY_READ "nvmlDeviceGetTotalEnergyConsumption"
#define SPIN_US 2000      /* CPU per energy read in these tests: cheaper than an H200's */
#define BUDGET 0.0025     /* ZEUS_SAMPLER_CPU_BUDGET in these tests: 0.25% of a core per GPU */
#define BUDGET_TEXT "0.0025"
#define LOCK_READS 8      /* reads one lock may take (baseline, bracket, a late wake-up) */

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static unsigned long long energy_reads(void)
{
    return zt_fake_nvml()->call_count(ENERGY_READ);
}

/* A sampled monitor whose channels keep energy reads within BUDGET (read as they start). */
static zeus_monitor *budgeted_monitor(void)
{
    zeus_monitor *mon;

    assert_int_equal(setenv("ZEUS_SAMPLER_CPU_BUDGET", BUDGET_TEXT, 1), 0);
    mon = zt_gpu_monitor(NULL);
    unsetenv("ZEUS_SAMPLER_CPU_BUDGET");
    return mon;
}

/* With reads that burn 2 ms of CPU, a held-open window costs at most the budget's reads. */
static void test_spinning_reads_stay_within_budget(void **state)
{
    const double span_s = 3.0;
    unsigned long long r0, r1;
    double allowed;
    zeus_measurement m;
    zeus_monitor *mon;
    (void)state;

    zt_fake_nvml_reset("gpus=1;power_w=300;phase_ms=37;energy_spin_us=2000");
    mon = budgeted_monitor();
    assert_int_equal(zeus_monitor_begin_window(mon, "long", 0), ZEUS_OK);
    sleep_s(1.0); /* learning the step and the read's cost, then the first sparse lock */
    r0 = energy_reads();
    sleep_s(span_s);
    r1 = energy_reads();
    /*
     * reads/s <= budget / CPU per read, plus the locks of the first seconds: the sampler
     * stretches the gap between locks 4x at a time (1, 4, 16, 64 updates) as it measures
     * the step finer, so a young channel's first locks come closer than the budget's.
     * Every-update polling would read ~26 times a second, 78 times here.
     */
    allowed = BUDGET * span_s / (SPIN_US * 1e-6) + 3 * LOCK_READS;
    print_message("energy reads in %.1f s: %llu (allowed %.1f; every update: ~%.0f)\n", span_s,
                  r1 - r0, allowed, 26 * span_s);
    assert_true((double)(r1 - r0) <= allowed);
    /* the window is still exact: the counter is the truth over the whole span */
    assert_int_equal(zeus_monitor_end_window(mon, "long", ZEUS_WINDOW_WAIT_FINAL, &m), ZEUS_OK);
    assert_true(m.gpu_flags[0] & ZEUS_ENERGY_COUNTER);
    assert_false(m.gpu_flags[0] & ZEUS_ENERGY_PROVISIONAL);
    assert_near(m.gpu_energy_j[0], 300.0 * m.time_s, 300.0 * m.time_s * 0.01);
    zeus_monitor_destroy(mon);
}

/* Exact energy of the 1 Hz square wave (high for the first half second) over [a, b]. */
static double square_energy_j(double a, double b, double high_w, double low_w)
{
    double e = 0;

    for (double t = a; t < b;) {
        double in = fmod(t, 1.0), edge = in < 0.5 ? t - in + 0.5 : t - in + 1.0;
        double end = edge < b ? edge : b;
        e += (in < 0.5 ? high_w : low_w) * (end - t);
        t = end;
    }
    return e;
}

/* Wait until the trace (started at t_reset) is `phase` seconds into a period. */
static void wait_phase(double t_reset, double phase)
{
    double in = fmod(mono_s() - t_reset, 1.0);
    sleep_s(in <= phase ? phase - in : 1.0 - in + phase);
}

/*
 * Windows inside one half of a square wave, seconds after the last counter point: read
 * linearly between counter points seconds apart they would show the mean power (375 W,
 * 37% off); shaped by polled power they show the half's own power.
 */
static void test_spinning_reads_keep_windows_accurate_on_a_square_wave(void **state)
{
    static const struct {
        double phase, length;
    } windows[] = {{0.10, 0.30}, {0.60, 0.30}, {0.15, 0.70}};
    double t_reset;
    zeus_measurement m;
    zeus_monitor *mon;
    (void)state;

    zt_fake_nvml_reset("gpus=1;trace=square;power_w=600;low_w=150;phase_ms=37;"
                       "energy_spin_us=2000");
    t_reset = mono_s(); /* the fake's trace starts at its reset, within microseconds */
    mon = budgeted_monitor();
    sleep_s(1.5); /* past learning: reads are sparse now */
    for (size_t i = 0; i < sizeof windows / sizeof windows[0]; i++) {
        double truth, tolerance;
        wait_phase(t_reset, windows[i].phase);
        assert_int_equal(zeus_monitor_begin_window(mon, "w", 0), ZEUS_OK);
        sleep_s(windows[i].length);
        assert_int_equal(zeus_monitor_end_window(mon, "w", ZEUS_WINDOW_WAIT_FINAL, &m),
                         ZEUS_OK);
        truth = square_energy_j(m.start_mono_s - t_reset, m.start_mono_s - t_reset + m.time_s,
                                600, 150);
        /* 5%, plus the 100 ms power steps around a half's edge (450 W x 25 ms) */
        tolerance = truth * 0.05 + 11.0;
        print_message("window %zu at %.2f s for %.3f s: %.2f J, true %.2f J\n", i,
                      windows[i].phase, m.time_s, m.gpu_energy_j[0], truth);
        assert_true(m.gpu_flags[0] & ZEUS_ENERGY_VALID);
        assert_true(m.gpu_flags[0] & ZEUS_ENERGY_COUNTER);
        assert_true(m.gpu_flags[0] & ZEUS_ENERGY_INTEGRATED); /* shaped by power: marked */
        assert_false(m.gpu_flags[0] & ZEUS_ENERGY_PROVISIONAL);
        assert_near(m.gpu_energy_j[0], truth, tolerance);
        sleep_s(0.3); /* a gap of a few steps without counter reads before the next */
    }
    zeus_monitor_destroy(mon);
}

/* Cheap reads (the fake's default): every update is read, as before the budget. */
static void test_cheap_reads_poll_every_update(void **state)
{
    unsigned long long r0, r1;
    zeus_measurement m;
    zeus_monitor *mon;
    (void)state;

    zt_fake_nvml_reset("gpus=1;power_w=300;phase_ms=37");
    mon = zt_gpu_monitor(NULL);
    assert_int_equal(zeus_monitor_begin_window(mon, "w", 0), ZEUS_OK);
    sleep_s(0.5);
    r0 = energy_reads();
    sleep_s(1.0);
    r1 = energy_reads();
    assert_true(r1 - r0 >= 10); /* at least one read per 100 ms update */
    assert_int_equal(zeus_monitor_end_window(mon, "w", ZEUS_WINDOW_WAIT_FINAL, &m), ZEUS_OK);
    assert_false(m.gpu_flags[0] & ZEUS_ENERGY_INTEGRATED);
    assert_true(m.gpu_samples[0] >= 13 && m.gpu_samples[0] <= 17); /* every update seen */
    zeus_monitor_destroy(mon);
}

/* No budget set (the default): every update is read, however dear the read. */
static void test_default_reads_every_update_however_dear(void **state)
{
    unsigned long long r0, r1;
    zeus_monitor *mon;
    (void)state;

    zt_fake_nvml_reset("gpus=1;power_w=300;phase_ms=37;energy_spin_us=2000");
    unsetenv("ZEUS_SAMPLER_CPU_BUDGET");
    mon = zt_gpu_monitor(NULL);
    assert_int_equal(zeus_monitor_begin_window(mon, "w", 0), ZEUS_OK);
    sleep_s(0.5);
    r0 = energy_reads();
    sleep_s(1.0);
    r1 = energy_reads();
    assert_true(r1 - r0 >= 10); /* at least one read per 100 ms update */
    zeus_monitor_destroy(mon);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spinning_reads_stay_within_budget),
        cmocka_unit_test(test_spinning_reads_keep_windows_accurate_on_a_square_wave),
        cmocka_unit_test(test_cheap_reads_poll_every_update),
        cmocka_unit_test(test_default_reads_every_update_however_dear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
