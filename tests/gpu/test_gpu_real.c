/*
 * test_gpu_real.c - Checks against a real NVIDIA GPU through the real libnvidia-ml.so.1.
 *
 * Read only: nothing here sets a power limit, clocks or persistence mode. Where no GPU is
 * present every test prints why and skips. scripts/gpu-check.sh runs these on a GPU machine.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "test_support.h"
#include "zeus/zeus.h"

static int open_devices(void **state)
{
    zeus_devices *devs = NULL;
    if (zeus_devices_create(&devs) != ZEUS_OK)
        return -1;
    *state = devs;
    return 0;
}

static int close_devices(void **state)
{
    zeus_devices_destroy(*state);
    return 0;
}

static zeus_devices *need_gpu(void **state)
{
    zeus_devices *devs = *state;
    if (zeus_devices_gpu_count(devs) == 0) {
        zeus_backend_info info;
        zeus_devices_backend_info(devs, 0, &info);
        print_message("no GPU (%s: %s): skipping\n", zeus_status_string(info.status), info.detail);
        skip();
    }
    return devs;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

static void test_gpu_real_identity_is_reported(void **state)
{
    zeus_devices *devs = need_gpu(state);
    for (unsigned i = 0; i < zeus_devices_gpu_count(devs); i++) {
        zeus_gpu_info info;
        assert_int_equal(zeus_gpu_get_info(devs, i, &info), ZEUS_OK);
        print_message("GPU %u: %s %s arch %u supports 0x%x\n", i, info.name, info.uuid,
                      info.architecture, info.supports);
        assert_true(info.name[0] != '\0');
        assert_true(info.uuid[0] != '\0');
    }
}

static void test_gpu_real_energy_counter_advances(void **state)
{
    zeus_devices *devs = need_gpu(state);
    zeus_gpu_info info;
    double e0, e1;

    assert_int_equal(zeus_gpu_get_info(devs, 0, &info), ZEUS_OK);
    if (!(info.supports & ZEUS_GPU_ENERGY_COUNTER)) {
        print_message("GPU 0 has no energy counter: skipping\n");
        skip();
    }
    assert_int_equal(zeus_gpu_get_energy(devs, 0, &e0), ZEUS_OK);
    sleep_s(0.5);
    assert_int_equal(zeus_gpu_get_energy(devs, 0, &e1), ZEUS_OK);
    print_message("GPU 0 used %.3f J in 0.5 s idle\n", e1 - e0);
    assert_true(e1 > e0);            /* an idle H100 still draws ~75 W */
    assert_true(e1 - e0 < 0.5 * 2000); /* and no board draws 2 kW */
}

static void test_gpu_real_power_and_temperature_are_plausible(void **state)
{
    zeus_devices *devs = need_gpu(state);
    double p, lo, hi, t;

    if (zeus_gpu_get_power(devs, 0, ZEUS_POWER_DEVICE_INSTANT, &p) == ZEUS_OK) {
        print_message("GPU 0 instant power %.1f W\n", p);
        assert_true(p > 0 && p < 2000);
    }
    if (zeus_gpu_get_power_limit_constraints(devs, 0, &lo, &hi) == ZEUS_OK) {
        print_message("GPU 0 power limit range %.0f-%.0f W\n", lo, hi);
        assert_true(lo > 0 && lo <= hi);
    }
    if (zeus_gpu_get_temperature(devs, 0, &t) == ZEUS_OK) {
        print_message("GPU 0 temperature %.0f C\n", t);
        assert_true(t > 0 && t < 120);
    }
}

static void test_gpu_real_direct_window_reads_energy(void **state)
{
    zeus_devices *devs = need_gpu(state);
    zeus_monitor_options o;
    zeus_monitor *mon;
    zeus_measurement m;
    unsigned gpu0 = 0;
    (void)devs;

    zeus_monitor_options_init(&o);
    o.gpu_indices = &gpu0;
    o.gpu_index_count = 1;
    o.cpu_indices = &gpu0;
    o.cpu_index_count = 0;
    o.direct_reads = 1;
    assert_int_equal(zeus_monitor_create(&o, &mon), ZEUS_OK);
    assert_int_equal(zeus_monitor_begin_window(mon, "idle", 0), ZEUS_OK);
    sleep_s(1.0);
    assert_int_equal(zeus_monitor_end_window(mon, "idle", 0, &m), ZEUS_OK);
    print_message("1 s window: %.3f s, %.3f J\n", m.time_s, m.gpu_energy_j[0]);
    assert_near(m.time_s, 1.0, 0.05);
    assert_true(m.gpu_energy_j[0] > 0);
    zeus_monitor_destroy(mon);
}

/*
 * Issue 3's check on hardware: over a 10 s window (under the load gpu-check.sh runs beside
 * it), the sampled engine's final energy matches the raw counter delta. Each raw read gives
 * the counter as of its last update, so the delta is off by up to one counter step's energy
 * either way; both raw reads are therefore taken just before the window's edges (the second
 * before end_window, whose WAIT_FINAL would otherwise let the counter run on for up to a
 * step: on an H200 that made the delta ~1% high in every run), and the tolerance is that
 * step's energy with a fifth to spare.
 */
static void test_gpu_real_sampled_window_matches_counter_delta(void **state)
{
    zeus_devices *devs = need_gpu(state);
    zeus_monitor_options o;
    zeus_monitor *mon;
    zeus_measurement m;
    unsigned gpu0 = 0, none = 0;
    double e0, e1, raw;

    zeus_monitor_options_init(&o);
    o.gpu_indices = &gpu0;
    o.gpu_index_count = 1;
    o.cpu_indices = &none;
    o.cpu_index_count = 0;
    assert_int_equal(zeus_monitor_create(&o, &mon), ZEUS_OK);
    assert_int_equal(zeus_gpu_get_energy(devs, 0, &e0), ZEUS_OK);
    assert_int_equal(zeus_monitor_begin_window(mon, "ten", 0), ZEUS_OK);
    sleep_s(10.0);
    assert_int_equal(zeus_gpu_get_energy(devs, 0, &e1), ZEUS_OK);
    assert_int_equal(zeus_monitor_end_window(mon, "ten", ZEUS_WINDOW_WAIT_FINAL, &m), ZEUS_OK);
    raw = e1 - e0;
    print_message("10 s window: sampled %.1f J, raw counter delta %.1f J (%.2f%%), step %.1f ms, "
                  "%u updates\n",
                  m.gpu_energy_j[0], raw, 100.0 * (m.gpu_energy_j[0] - raw) / raw,
                  m.gpu_counter_step_s[0] * 1e3, m.gpu_samples[0]);
    assert_true(m.gpu_counter_step_s[0] > 0 && m.gpu_counter_step_s[0] < 1.0);
    assert_near(m.gpu_energy_j[0], raw, 1.2 * raw / m.time_s * m.gpu_counter_step_s[0]);
    zeus_monitor_destroy(mon);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gpu_real_identity_is_reported),
        cmocka_unit_test(test_gpu_real_energy_counter_advances),
        cmocka_unit_test(test_gpu_real_power_and_temperature_are_plausible),
        cmocka_unit_test(test_gpu_real_direct_window_reads_energy),
        cmocka_unit_test(test_gpu_real_sampled_window_matches_counter_delta),
    };
    return cmocka_run_group_tests_name("gpu_real", tests, open_devices, close_devices);
}
