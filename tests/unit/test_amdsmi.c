/*
 * test_amdsmi.c - AMD GPUs through the fake AMD SMI, via the public device API: identity,
 * energy, power, temperature, limits, clocks, the ROCm 6.3 and 6.4 layouts, unknown library
 * versions, the energy-counter check at open, HIP numbering and HIP_VISIBLE_DEVICES /
 * CUDA_VISIBLE_DEVICES, failing calls, and a process with NVIDIA and AMD GPUs together.
 *
 * The fake NVML has no GPUs except in the mixed tests, so GPU indices here are AMD's alone
 * unless said otherwise. (NVML is loaded once per process, so it stays loaded throughout.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake_amdsmi_control.h"
#include "fake_nvml_control.h"
#include "test_support.h"
#include "zeus/zeus.h"

#define AMDSMI_STATUS_NO_PERM 10

/* Each test starts AMD-only, with no visible-device variables. */
static int setup(void **state)
{
    (void)state;
    zt_fake_nvml_reset("gpus=0");
    unsetenv("HIP_VISIBLE_DEVICES");
    unsetenv("CUDA_VISIBLE_DEVICES");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    zt_fake_amdsmi_unuse();
    unsetenv("HIP_VISIBLE_DEVICES");
    unsetenv("CUDA_VISIBLE_DEVICES");
    return 0;
}

static zeus_devices *open_devices(void)
{
    zeus_devices *devs = NULL;
    assert_int_equal(zeus_devices_create(&devs), ZEUS_OK);
    return devs;
}

static zeus_backend_info amd_backend(const zeus_devices *devs)
{
    zeus_backend_info info;

    for (unsigned i = 0; i < zeus_devices_backend_count(devs); i++) {
        assert_int_equal(zeus_devices_backend_info(devs, i, &info), ZEUS_OK);
        if (strcmp(info.name, "amdsmi") == 0)
            return info;
    }
    fail_msg("no amdsmi backend listed");
    return info;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* ---- The device API --------------------------------------------------------------------- */

static void test_amd_identity_power_and_temperature(void **state)
{
    zeus_devices *devs;
    zeus_gpu_info info;
    double w, c;
    char pci[ZEUS_PCI_BUS_ID_LEN];
    (void)state;

    zt_fake_amdsmi_use("gpus=2;power_w=300;instant_w=320;temp_c=51");
    devs = open_devices();
    assert_int_equal(zeus_devices_gpu_count(devs), 2);
    assert_int_equal(amd_backend(devs).status, ZEUS_OK);
    assert_non_null(strstr(amd_backend(devs).detail, "24.7.1.0 (ROCm 6.3)"));
    assert_int_equal(zeus_gpu_get_info(devs, 1, &info), ZEUS_OK);
    assert_int_equal(info.index, 1);
    assert_int_equal(info.physical_index, 1);
    assert_string_equal(info.name, "AMD Instinct MI300X");
    assert_true(strncmp(info.uuid, "GPU-a3ff74a1-", 13) == 0);
    assert_string_equal(info.uuid + 17, "-1000-8001-5ad3c1a0b001");
    assert_int_equal(info.supports & (ZEUS_GPU_ENERGY_COUNTER | ZEUS_GPU_POWER_INSTANT |
                                      ZEUS_GPU_POWER_AVERAGE | ZEUS_GPU_TEMPERATURE |
                                      ZEUS_GPU_POWER_LIMIT | ZEUS_GPU_COUNTER_REJECTED),
                     ZEUS_GPU_ENERGY_COUNTER | ZEUS_GPU_POWER_INSTANT | ZEUS_GPU_POWER_AVERAGE |
                         ZEUS_GPU_TEMPERATURE | ZEUS_GPU_POWER_LIMIT);
    assert_int_equal(zeus_gpu_get_power(devs, 0, ZEUS_POWER_DEVICE_INSTANT, &w), ZEUS_OK);
    assert_true(w == 320.0);
    assert_int_equal(zeus_gpu_get_power(devs, 0, ZEUS_POWER_DEVICE_AVERAGE, &w), ZEUS_OK);
    assert_true(w == 300.0);
    assert_int_equal(zeus_gpu_get_power(devs, 0, ZEUS_POWER_MEMORY_AVERAGE, &w),
                     ZEUS_ERR_NOT_SUPPORTED);
    assert_int_equal(zeus_gpu_get_temperature(devs, 0, &c), ZEUS_OK);
    assert_true(c == 51.0);
    assert_int_equal(zeus_gpu_get_pci_bus_id(devs, 1, pci, sizeof pci), ZEUS_OK);
    assert_string_equal(pci, "0000:1c:00.0");
    assert_int_equal(zeus_gpu_get_info(devs, 2, &info), ZEUS_ERR_NOT_FOUND);
    zeus_devices_destroy(devs);
}

/* accumulator x resolution (uJ) in joules, following the power drawn. */
static void test_amd_energy_counter_follows_power(void **state)
{
    zeus_devices *devs;
    double a, b;
    (void)state;

    zt_fake_amdsmi_use("power_w=400;resolution_uj=15.259;update_ms=1");
    devs = open_devices();
    assert_int_equal(zeus_gpu_get_energy(devs, 0, &a), ZEUS_OK);
    sleep_s(0.2);
    assert_int_equal(zeus_gpu_get_energy(devs, 0, &b), ZEUS_OK);
    /* 400 W for 0.2 s (and the time the reads take) */
    assert_true(b - a > 400 * 0.2 * 0.95 && b - a < 400 * 0.2 * 1.5);
    zeus_devices_destroy(devs);
}

static void test_amd_limits_clocks_and_setters(void **state)
{
    const struct zt_fake_amdsmi *fake;
    zeus_devices *devs;
    double lo, hi, w;
    unsigned clocks[4], mn = 0, mx = 0;
    size_t n = 4;
    int pm;
    (void)state;

    fake = zt_fake_amdsmi_use("gpus=2;limit_min_w=200;limit_max_w=750;limit_default_w=700");
    devs = open_devices();
    assert_int_equal(zeus_gpu_get_power_limit_constraints(devs, 1, &lo, &hi), ZEUS_OK);
    assert_true(lo == 200.0 && hi == 750.0);
    assert_int_equal(zeus_gpu_get_power_limit(devs, 1, &w), ZEUS_OK);
    assert_true(w == 700.0);
    assert_int_equal(zeus_gpu_set_power_limit(devs, 1, 500), ZEUS_OK);
    assert_true(fake->power_cap_uw(1) == 500000000ull);
    assert_true(fake->power_cap_uw(0) == 700000000ull);
    assert_int_equal(zeus_gpu_set_power_limit(devs, 1, 800), ZEUS_ERR_INVALID_ARGUMENT);
    assert_int_equal(zeus_gpu_reset_power_limit(devs, 1), ZEUS_OK);
    assert_true(fake->power_cap_uw(1) == 700000000ull);

    assert_int_equal(zeus_gpu_get_supported_memory_clocks(devs, 0, clocks, &n), ZEUS_OK);
    assert_int_equal(n, 2);
    assert_int_equal(clocks[0], 1300);
    assert_int_equal(clocks[1], 900);
    n = 4;
    assert_int_equal(zeus_gpu_get_supported_graphics_clocks(devs, 0, 1300, clocks, &n), ZEUS_OK);
    assert_int_equal(n, 2);
    assert_int_equal(clocks[0], 2100);
    assert_int_equal(clocks[1], 500);
    assert_int_equal(zeus_gpu_set_gpu_locked_clocks(devs, 0, 600, 1800), ZEUS_OK);
    fake->clk_range(0, 0, &mn, &mx);
    assert_int_equal(mn, 600);
    assert_int_equal(mx, 1800);
    assert_int_equal(zeus_gpu_set_memory_locked_clocks(devs, 0, 900, 1100), ZEUS_OK);
    fake->clk_range(0, 4, &mn, &mx);
    assert_int_equal(mx, 1100);
    assert_int_equal(zeus_gpu_reset_gpu_locked_clocks(devs, 0), ZEUS_OK);
    assert_int_equal(fake->perf_level(0), 0);
    fake->clk_range(0, 0, &mn, &mx);
    assert_int_equal(mx, 0);
    assert_int_equal(zeus_gpu_reset_memory_locked_clocks(devs, 0), ZEUS_ERR_NOT_SUPPORTED);
    assert_int_equal(zeus_gpu_get_persistence_mode(devs, 0, &pm), ZEUS_ERR_NOT_SUPPORTED);
    zeus_devices_destroy(devs);

    zt_fake_amdsmi_use("root=0");
    devs = open_devices();
    assert_int_equal(zeus_gpu_set_power_limit(devs, 0, 500), ZEUS_ERR_NO_PERMISSION);
    zeus_devices_destroy(devs);
}

/* ---- Layouts and versions ------------------------------------------------------------- */

/* Distinct instant and average values catch reading one layout as the other. */
static void test_amd_rocm64_layout(void **state)
{
    zeus_devices *devs;
    zeus_gpu_info info;
    double w;
    (void)state;

    zt_fake_amdsmi_use("rocm=6.4;power_w=290;instant_w=310;gpu0.no_instant=0");
    devs = open_devices();
    assert_non_null(strstr(amd_backend(devs).detail, "25.3.0 (ROCm 6.4)"));
    assert_int_equal(zeus_gpu_get_power(devs, 0, ZEUS_POWER_DEVICE_INSTANT, &w), ZEUS_OK);
    assert_true(w == 310.0);
    assert_int_equal(zeus_gpu_get_power(devs, 0, ZEUS_POWER_DEVICE_AVERAGE, &w), ZEUS_OK);
    assert_true(w == 290.0);
    assert_int_equal(zeus_gpu_get_info(devs, 0, &info), ZEUS_OK);
    assert_true(info.supports & ZEUS_GPU_ENERGY_COUNTER);
    zeus_devices_destroy(devs);
}

/* A member AMD SMI cannot read (0xFFFF in 6.3, UINT32_MAX in 6.4) is no power domain. */
static void test_amd_unavailable_power_is_not_a_reading(void **state)
{
    const char *specs[] = {"rocm=6.3;no_instant=1", "rocm=6.4;no_instant=1"};
    (void)state;

    for (int k = 0; k < 2; k++) {
        zeus_devices *devs;
        zeus_gpu_info info;
        double w;

        zt_fake_amdsmi_use(specs[k]);
        devs = open_devices();
        assert_int_equal(zeus_gpu_get_info(devs, 0, &info), ZEUS_OK);
        assert_false(info.supports & ZEUS_GPU_POWER_INSTANT);
        assert_true(info.supports & ZEUS_GPU_POWER_AVERAGE);
        assert_int_equal(zeus_gpu_get_power(devs, 0, ZEUS_POWER_DEVICE_INSTANT, &w),
                         ZEUS_ERR_NOT_SUPPORTED);
        assert_int_equal(zeus_gpu_get_power(devs, 0, ZEUS_POWER_DEVICE_AVERAGE, &w), ZEUS_OK);
        assert_true(w == 300.0);
        zeus_devices_destroy(devs);
    }
}

static void test_amd_unknown_library_version_is_refused(void **state)
{
    const char *specs[] = {"rocm=6.2", "rocm=7.0"};
    const char *shown[] = {"24.6.3.0", "26.0.0"};
    (void)state;

    for (int k = 0; k < 2; k++) {
        const struct zt_fake_amdsmi *fake = zt_fake_amdsmi_use(specs[k]);
        zeus_devices *devs = open_devices();
        zeus_backend_info info = amd_backend(devs);

        assert_int_equal(zeus_devices_gpu_count(devs), 0);
        assert_int_equal(info.status, ZEUS_ERR_NOT_SUPPORTED);
        assert_non_null(strstr(info.detail, shown[k]));
        assert_non_null(strstr(info.detail, "not supported"));
        /* refused before any struct was read with a guessed layout; init was paired */
        assert_true(fake->call_count("amdsmi_get_power_info") == 0);
        assert_true(fake->call_count("amdsmi_get_socket_handles") == 0);
        assert_true(fake->call_count("amdsmi_init") == 1);
        assert_int_equal(fake->init_count(), 0);
        zeus_devices_destroy(devs);
    }
}

static void test_amd_missing_library(void **state)
{
    zeus_devices *devs;
    zeus_backend_info info;
    (void)state;

    setenv("ZEUS_AMDSMI_LIBRARY", "/nonexistent/libamd_smi.so", 1);
    devs = open_devices();
    info = amd_backend(devs);
    assert_int_equal(info.status, ZEUS_ERR_LIBRARY_NOT_FOUND);
    assert_non_null(strstr(info.detail, "ZEUS_AMDSMI_LIBRARY"));
    assert_int_equal(zeus_devices_gpu_count(devs), 0);
    zeus_devices_destroy(devs);
}

/* ---- The counter check at open ----------------------------------------------------------- */

static void test_amd_broken_counter_is_rejected(void **state)
{
    const char *broken[] = {"gpus=3;gpu1.counter_scale=100;gpu2.counter_scale=0.001",
                            "gpus=3;rocm=6.4;gpu1.counter_scale=20;gpu2.counter_scale=0"};
    (void)state;

    for (int k = 0; k < 2; k++) {
        zeus_devices *devs;
        zeus_gpu_info info;
        double j;

        zt_fake_amdsmi_use(broken[k]);
        devs = open_devices();
        assert_int_equal(zeus_gpu_get_info(devs, 0, &info), ZEUS_OK);
        assert_true(info.supports & ZEUS_GPU_ENERGY_COUNTER);
        assert_false(info.supports & ZEUS_GPU_COUNTER_REJECTED);
        for (unsigned g = 1; g <= 2; g++) {
            assert_int_equal(zeus_gpu_get_info(devs, g, &info), ZEUS_OK);
            assert_false(info.supports & ZEUS_GPU_ENERGY_COUNTER);
            assert_true(info.supports & ZEUS_GPU_COUNTER_REJECTED);
            assert_int_equal(zeus_gpu_get_energy(devs, g, &j), ZEUS_ERR_NOT_SUPPORTED);
        }
        assert_non_null(strstr(amd_backend(devs).detail, "HIP GPU 1: counter rejected"));
        assert_non_null(strstr(amd_backend(devs).detail, "HIP GPU 2: counter rejected"));
        zeus_devices_destroy(devs);
    }
}

/* The check runs once per GPU per process (Zeus checks once): a second open reuses it. */
static void test_amd_counter_check_once_per_process(void **state)
{
    const struct zt_fake_amdsmi *fake;
    zeus_devices *a, *b;
    zeus_gpu_info info;
    unsigned long long reads;
    (void)state;

    fake = zt_fake_amdsmi_use("gpus=2;gpu1.counter_scale=100");
    a = open_devices();
    reads = fake->call_count("amdsmi_get_energy_count");
    assert_true(reads == 4); /* two reads per GPU */
    b = open_devices();
    assert_true(fake->call_count("amdsmi_get_energy_count") == reads);
    assert_int_equal(zeus_gpu_get_info(b, 0, &info), ZEUS_OK);
    assert_true(info.supports & ZEUS_GPU_ENERGY_COUNTER);
    assert_int_equal(zeus_gpu_get_info(b, 1, &info), ZEUS_OK);
    assert_true(info.supports & ZEUS_GPU_COUNTER_REJECTED);
    assert_non_null(strstr(amd_backend(b).detail, "HIP GPU 1: counter rejected"));
    zeus_devices_destroy(b);
    zeus_devices_destroy(a);
}

/* A counter within 10x of power is kept: the check rules out gross errors only (Zeus). */
static void test_amd_counter_within_10x_is_kept(void **state)
{
    zeus_devices *devs;
    zeus_gpu_info info;
    (void)state;

    zt_fake_amdsmi_use("counter_scale=5");
    devs = open_devices();
    assert_int_equal(zeus_gpu_get_info(devs, 0, &info), ZEUS_OK);
    assert_true(info.supports & ZEUS_GPU_ENERGY_COUNTER);
    zeus_devices_destroy(devs);
}

/* No power to compare with: the counter is not trusted (Zeus disables it too). */
static void test_amd_zero_power_counter_not_used(void **state)
{
    zeus_devices *devs;
    zeus_gpu_info info;
    (void)state;

    zt_fake_amdsmi_use("power_w=0");
    devs = open_devices();
    assert_int_equal(zeus_gpu_get_info(devs, 0, &info), ZEUS_OK);
    assert_false(info.supports & ZEUS_GPU_ENERGY_COUNTER);
    assert_true(info.supports & ZEUS_GPU_COUNTER_REJECTED);
    assert_non_null(strstr(amd_backend(devs).detail, "HIP GPU 0: counter not checked"));
    zeus_devices_destroy(devs);
}

/* The rejected counter is replaced by integrated power in a window, and the result says so. */
static void test_amd_broken_counter_window_is_integrated(void **state)
{
    zeus_monitor_options o;
    zeus_monitor *mon = NULL;
    zeus_measurement m;
    unsigned none = 0;
    (void)state;

    zt_fake_amdsmi_use("gpus=2;power_w=250;gpu1.counter_scale=50");
    zeus_monitor_options_init(&o);
    o.cpu_indices = &none;
    o.cpu_index_count = 0;
    if (zeus_monitor_create(&o, &mon) != ZEUS_OK)
        fail_msg("zeus_monitor_create: %s", zeus_last_error());
    assert_int_equal(zeus_monitor_begin_window(mon, "w", 0), ZEUS_OK);
    sleep_s(0.5);
    assert_int_equal(zeus_monitor_end_window(mon, "w", ZEUS_WINDOW_WAIT_FINAL, &m), ZEUS_OK);
    assert_int_equal(m.gpu_count, 2);
    assert_true(m.gpu_flags[0] & ZEUS_ENERGY_COUNTER);
    assert_false(m.gpu_flags[0] & ZEUS_ENERGY_COUNTER_REJECTED);
    assert_true(m.gpu_flags[1] & ZEUS_ENERGY_INTEGRATED);
    assert_true(m.gpu_flags[1] & ZEUS_ENERGY_COUNTER_REJECTED);
    assert_false(m.gpu_flags[1] & ZEUS_ENERGY_COUNTER);
    /* 250 W for the window, not 50x that */
    assert_near(m.gpu_energy_j[0], 250 * m.time_s, 250 * m.time_s * 0.05);
    assert_near(m.gpu_energy_j[1], 250 * m.time_s, 250 * m.time_s * 0.05);
    zeus_monitor_destroy(mon);
}

/*
 * MI250/MI250X (Zeus's rule): the odd die reads ~0 W because the even one reports both; it
 * has no power or energy reading, and a window over it is not a measured zero.
 */
static void test_amd_mi250_odd_die_has_no_readings(void **state)
{
    zeus_monitor_options o;
    zeus_monitor *mon = NULL;
    zeus_measurement m;
    zeus_devices *devs;
    zeus_gpu_info info;
    unsigned none = 0;
    double w;
    (void)state;

    zt_fake_amdsmi_use("gpus=2;name=AMD Instinct MI250X;power_w=400;gpu1.power_w=0");
    devs = open_devices();
    assert_int_equal(zeus_gpu_get_info(devs, 0, &info), ZEUS_OK);
    assert_true(info.supports & ZEUS_GPU_ENERGY_COUNTER);
    assert_int_equal(zeus_gpu_get_info(devs, 1, &info), ZEUS_OK);
    assert_false(info.supports & (ZEUS_GPU_ENERGY_COUNTER | ZEUS_GPU_POWER_INSTANT |
                                  ZEUS_GPU_POWER_AVERAGE));
    assert_int_equal(zeus_gpu_get_power(devs, 1, ZEUS_POWER_DEVICE_INSTANT, &w),
                     ZEUS_ERR_NOT_SUPPORTED);
    assert_non_null(strstr(zeus_last_error(), "MI250"));
    assert_non_null(strstr(amd_backend(devs).detail, "HIP GPU 1: second die"));
    zeus_devices_destroy(devs);

    zeus_monitor_options_init(&o);
    o.cpu_indices = &none;
    o.cpu_index_count = 0;
    if (zeus_monitor_create(&o, &mon) != ZEUS_OK)
        fail_msg("zeus_monitor_create: %s", zeus_last_error());
    assert_int_equal(zeus_monitor_begin_window(mon, "w", 0), ZEUS_OK);
    sleep_s(0.2);
    zeus_monitor_end_window(mon, "w", ZEUS_WINDOW_WAIT_FINAL, &m);
    assert_int_equal(m.gpu_count, 2);
    assert_near(m.gpu_energy_j[0], 400 * m.time_s, 400 * m.time_s * 0.05);
    assert_true(isnan(m.gpu_energy_j[1]));
    assert_false(m.gpu_flags[1] & ZEUS_ENERGY_VALID);
    zeus_monitor_destroy(mon);
}

/*
 * With zeusd configured, an AMD GPU's setters go to the daemon (test_zeusd_amd covers a
 * real one): an unreachable daemon fails them with its reason, and the driver is never
 * called instead. The setters AMD SMI lacks stay unsupported.
 */
static void test_amd_setters_go_to_zeusd_only(void **state)
{
    const struct zt_fake_amdsmi *fake = zt_fake_amdsmi_use("gpus=1");
    unsigned long long cap;
    zeus_devices *devs;
    (void)state;

    setenv("ZEUSD_SOCK_PATH", "/nonexistent/zeusd.sock", 1);
    devs = open_devices();
    unsetenv("ZEUSD_SOCK_PATH");
    cap = fake->power_cap_uw(0);
    assert_int_equal(zeus_gpu_set_power_limit(devs, 0, 500), ZEUS_ERR_IO);
    assert_non_null(strstr(zeus_last_error(), "zeusd"));
    assert_int_equal(fake->power_cap_uw(0), cap);
    assert_int_equal(zeus_gpu_set_gpu_locked_clocks(devs, 0, 600, 900), ZEUS_ERR_IO);
    assert_int_equal(zeus_gpu_reset_memory_locked_clocks(devs, 0), ZEUS_ERR_NOT_SUPPORTED);
    assert_int_equal(zeus_gpu_set_persistence_mode(devs, 0, 1), ZEUS_ERR_NOT_SUPPORTED);
    zeus_devices_destroy(devs);
}

/*
 * A varying load (a 1 Hz square wave, 400 W / 100 W): the counter GPU and the GPU whose
 * rejected counter is replaced by integrated power both measure the trace's energy.
 */
static void test_amd_square_trace_counter_and_integrated_agree(void **state)
{
    zeus_monitor_options o;
    zeus_monitor *mon = NULL;
    zeus_measurement m;
    unsigned none = 0;
    (void)state;

    zt_fake_amdsmi_use("gpus=2;trace=square;power_w=400;low_w=100;trace_period_ms=400;"
                       "gpu1.counter_scale=30");
    zeus_monitor_options_init(&o);
    o.cpu_indices = &none;
    o.cpu_index_count = 0;
    if (zeus_monitor_create(&o, &mon) != ZEUS_OK)
        fail_msg("zeus_monitor_create: %s", zeus_last_error());
    assert_int_equal(zeus_monitor_begin_window(mon, "w", 0), ZEUS_OK);
    sleep_s(0.8); /* two whole periods: 250 W on average */
    assert_int_equal(zeus_monitor_end_window(mon, "w", ZEUS_WINDOW_WAIT_FINAL, &m), ZEUS_OK);
    assert_true(m.gpu_flags[0] & ZEUS_ENERGY_COUNTER);
    assert_true(m.gpu_flags[1] & ZEUS_ENERGY_COUNTER_REJECTED);
    assert_near(m.gpu_energy_j[0], 250 * m.time_s, 250 * 0.8 * 0.05);
    /* sampled power is integrated at ~50 ms steps: each edge of the square costs a bit */
    assert_near(m.gpu_energy_j[1], 250 * m.time_s, 250 * 0.8 * 0.12);
    zeus_monitor_destroy(mon);
}

/* Windows over AMD GPUs: nested, restarted and cancelled, each the energy of its own span. */
static void test_amd_windows_nested_restart_cancel(void **state)
{
    zeus_monitor *mon;
    zeus_measurement m;
    (void)state;

    zt_fake_amdsmi_use("gpus=2;power_w=200;gpu1.power_w=350");
    mon = zt_gpu_monitor(NULL);
    assert_int_equal(zeus_monitor_begin_window(mon, "outer", 0), ZEUS_OK);
    assert_int_equal(zeus_monitor_begin_window(mon, "inner", 0), ZEUS_OK);
    sleep_s(0.2);
    /* restart: the window counts from here, not from its first begin */
    assert_int_equal(zeus_monitor_begin_window(mon, "inner", ZEUS_WINDOW_RESTART), ZEUS_OK);
    assert_int_equal(zeus_monitor_begin_window(mon, "dropped", 0), ZEUS_OK);
    sleep_s(0.2);
    assert_int_equal(zeus_monitor_end_window(mon, "dropped", ZEUS_WINDOW_CANCEL, &m), ZEUS_OK);
    assert_true(m.flags & ZEUS_MEASUREMENT_CANCELLED);
    assert_true(m.gpu_energy_j[0] == 0 && m.gpu_energy_j[1] == 0);
    assert_int_equal(zeus_monitor_end_window(mon, "inner", ZEUS_WINDOW_WAIT_FINAL, &m), ZEUS_OK);
    assert_near(m.time_s, 0.2, 0.05);
    assert_near(m.gpu_energy_j[0], 200 * m.time_s, 200 * m.time_s * 0.05);
    assert_near(m.gpu_energy_j[1], 350 * m.time_s, 350 * m.time_s * 0.05);
    assert_int_equal(zeus_monitor_end_window(mon, "outer", ZEUS_WINDOW_WAIT_FINAL, &m), ZEUS_OK);
    assert_true(m.time_s >= 0.4);
    assert_near(m.gpu_energy_j[0], 200 * m.time_s, 200 * m.time_s * 0.05);
    assert_near(m.gpu_energy_j[1], 350 * m.time_s, 350 * m.time_s * 0.05);
    assert_true(m.gpu_flags[0] & ZEUS_ENERGY_COUNTER);
    zeus_monitor_destroy(mon);
}

/* ---- HIP numbering and visible devices ----------------------------------------------------- */

/* GPU k is the handle whose HIP index is k: from KFD node ids (6.3) or hip_id (6.4). */
static void test_amd_hip_order(void **state)
{
    const char *specs[] = {"gpus=3;hip_order=2,0,1", "gpus=3;rocm=6.4;hip_order=2,0,1",
                           "gpus=3;rocm=6.4;hip_order=2,0,1"};
    (void)state;

    for (int k = 0; k < 3; k++) {
        zeus_devices *devs;
        zeus_gpu_info info;
        const struct zt_fake_amdsmi *fake = zt_fake_amdsmi_use(specs[k]);

        if (k == 2) /* 6.4 without hip_id for one GPU: KFD order for all */
            (fake->fail)("amdsmi_get_gpu_enumeration_info", 1, 2, -1);
        devs = open_devices();
        assert_int_equal(zeus_devices_gpu_count(devs), 3);
        /* handle 1 has HIP index 0, handle 2 HIP 1, handle 0 HIP 2 */
        assert_int_equal(zeus_gpu_get_info(devs, 0, &info), ZEUS_OK);
        assert_non_null(strstr(info.uuid, "-8001-"));
        assert_int_equal(info.physical_index, 0);
        assert_int_equal(zeus_gpu_get_info(devs, 2, &info), ZEUS_OK);
        assert_non_null(strstr(info.uuid, "-8000-"));
        assert_int_equal(info.physical_index, 2);
        /* the source of the numbering: KFD for 6.3 and the fallback, hip_id for 6.4 */
        assert_int_equal(fake->call_count("amdsmi_get_gpu_kfd_info") > 0, k != 1);
        zeus_devices_destroy(devs);
    }
}

/* The physical (HIP) index of each visible GPU, or the open status when it failed. */
static zeus_status visible(const char *hip, const char *cuda, unsigned *phys, unsigned *n)
{
    zeus_devices *devs;
    zeus_backend_info info;

    if (hip != NULL)
        setenv("HIP_VISIBLE_DEVICES", hip, 1);
    else
        unsetenv("HIP_VISIBLE_DEVICES");
    if (cuda != NULL)
        setenv("CUDA_VISIBLE_DEVICES", cuda, 1);
    else
        unsetenv("CUDA_VISIBLE_DEVICES");
    devs = open_devices();
    info = amd_backend(devs);
    *n = zeus_devices_gpu_count(devs);
    for (unsigned i = 0; i < *n; i++) {
        zeus_gpu_info g;
        assert_int_equal(zeus_gpu_get_info(devs, i, &g), ZEUS_OK);
        phys[i] = g.physical_index;
    }
    zeus_devices_destroy(devs);
    return info.status;
}

/* Zeus's cases: HIP_VISIBLE_DEVICES wins, CUDA_VISIBLE_DEVICES is the fallback, an empty
 * value is an error, and framework index k is the k-th listed HIP index. */
static void test_amd_visible_devices(void **state)
{
    unsigned p[8], n;
    (void)state;

    zt_fake_amdsmi_use("gpus=4;hip_order=3,2,1,0;"
                       "gpu0.uuid=5d1c7e2a-0000-1000-8000-000000000000");
    assert_int_equal(visible(NULL, NULL, p, &n), ZEUS_OK);
    assert_int_equal(n, 4);
    assert_int_equal(p[3], 3);
    assert_int_equal(visible("2,0", NULL, p, &n), ZEUS_OK);
    assert_int_equal(n, 2);
    assert_int_equal(p[0], 2);
    assert_int_equal(p[1], 0);
    assert_int_equal(visible(NULL, "1,3", p, &n), ZEUS_OK);
    assert_int_equal(n, 2);
    assert_int_equal(p[0], 1);
    assert_int_equal(p[1], 3);
    assert_int_equal(visible("3", "0,1", p, &n), ZEUS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(p[0], 3);
    assert_int_equal(visible("", "0", p, &n), ZEUS_ERR_NOT_FOUND);
    assert_int_equal(n, 0);
    assert_int_equal(visible("4", NULL, p, &n), ZEUS_ERR_NOT_FOUND);
    assert_int_equal(visible("0,0", NULL, p, &n), ZEUS_ERR_INVALID_ARGUMENT);
    /* a UUID, as HIP accepts them: handle 0's UUID is HIP index 3 */
    assert_int_equal(visible("GPU-5d1c7e2a-0000", NULL, p, &n), ZEUS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(p[0], 3);
}

/* ---- Failing calls ---------------------------------------------------------------------- */

static void test_amd_failing_calls(void **state)
{
    const struct zt_fake_amdsmi *fake;
    zeus_devices *devs;
    double j;
    zeus_backend_info info;
    (void)state;

    fake = zt_fake_amdsmi_use("gpus=2");
    devs = open_devices();
    (fake->fail)("amdsmi_get_energy_count", 1, AMDSMI_STATUS_NO_PERM, 1);
    assert_int_equal(zeus_gpu_get_energy(devs, 1, &j), ZEUS_ERR_NO_PERMISSION);
    assert_non_null(strstr(zeus_last_error(), "amdsmi_get_energy_count"));
    assert_int_equal(zeus_gpu_get_energy(devs, 1, &j), ZEUS_OK);
    assert_int_equal(zeus_gpu_get_energy(devs, 0, &j), ZEUS_OK);
    (fake->fail)("amdsmi_get_temp_metric", ~0u, 2, -1);
    assert_int_equal(zeus_gpu_get_temperature(devs, 0, &j), ZEUS_ERR_NOT_SUPPORTED);
    zeus_devices_destroy(devs);
    assert_int_equal(fake->init_count(), 0);

    /* enumeration fails: no GPUs, the reason shown, amdsmi_init paired with shut_down */
    fake = zt_fake_amdsmi_use("gpus=2");
    (fake->fail)("amdsmi_get_socket_handles", ~0u, 34, -1);
    devs = open_devices();
    info = amd_backend(devs);
    assert_int_equal(info.status, ZEUS_ERR_DRIVER_NOT_LOADED);
    assert_non_null(strstr(info.detail, "amdsmi_get_socket_handles"));
    assert_int_equal(zeus_devices_gpu_count(devs), 0);
    assert_int_equal(fake->init_count(), 0);
    zeus_devices_destroy(devs);

    /* a counter that cannot be read at open is not used */
    fake = zt_fake_amdsmi_use("gpus=2");
    (fake->fail)("amdsmi_get_energy_count", 0, 8, -1);
    devs = open_devices();
    {
        zeus_gpu_info g;
        assert_int_equal(zeus_gpu_get_info(devs, 0, &g), ZEUS_OK);
        assert_false(g.supports & ZEUS_GPU_ENERGY_COUNTER);
        assert_int_equal(zeus_gpu_get_info(devs, 1, &g), ZEUS_OK);
        assert_true(g.supports & ZEUS_GPU_ENERGY_COUNTER);
    }
    zeus_devices_destroy(devs);
}

/* ---- NVIDIA and AMD in one process -------------------------------------------------------- */

static void test_mixed_nvidia_then_amd(void **state)
{
    const struct zt_fake_amdsmi *fake;
    zeus_devices *devs;
    zeus_gpu_info info;
    double j;
    (void)state;

    zt_fake_nvml_reset("gpus=2");
    fake = zt_fake_amdsmi_use("gpus=2;hip_order=1,0");
    devs = open_devices();
    assert_int_equal(zeus_devices_gpu_count(devs), 4);
    for (unsigned g = 0; g < 4; g++) {
        assert_int_equal(zeus_gpu_get_info(devs, g, &info), ZEUS_OK);
        assert_int_equal(info.index, g);
        assert_int_equal(info.physical_index, g % 2);
        assert_true(strncmp(info.name, g < 2 ? "NVIDIA" : "AMD", g < 2 ? 6 : 3) == 0);
        assert_int_equal(zeus_gpu_get_energy(devs, g, &j), ZEUS_OK);
    }
    /* GPU 3 is AMD HIP index 1, which is AMD SMI handle 0 */
    assert_int_equal(zeus_gpu_set_power_limit(devs, 3, 400), ZEUS_OK);
    assert_true(fake->power_cap_uw(0) == 400000000ull);
    assert_true(fake->power_cap_uw(1) == 750000000ull);
    assert_int_equal(zeus_gpu_get_info(devs, 4, &info), ZEUS_ERR_NOT_FOUND);
    assert_non_null(strstr(zeus_last_error(), "0-3"));
    zeus_devices_destroy(devs);

    /* each vendor reads its own variable: CUDA for NVIDIA, HIP first for AMD */
    setenv("CUDA_VISIBLE_DEVICES", "1", 1);
    setenv("HIP_VISIBLE_DEVICES", "0", 1);
    devs = open_devices();
    assert_int_equal(zeus_devices_gpu_count(devs), 2);
    assert_int_equal(zeus_gpu_get_info(devs, 0, &info), ZEUS_OK);
    assert_true(strncmp(info.name, "NVIDIA", 6) == 0);
    assert_int_equal(info.physical_index, 1);
    assert_int_equal(zeus_gpu_get_info(devs, 1, &info), ZEUS_OK);
    assert_true(strncmp(info.name, "AMD", 3) == 0);
    assert_int_equal(info.physical_index, 0);
    zeus_devices_destroy(devs);
}

/* A sampled monitor over both vendors: every GPU measured, NVIDIA and AMD alike. */
static void test_mixed_monitor_window(void **state)
{
    zeus_monitor_options o;
    zeus_monitor *mon = NULL;
    zeus_measurement m;
    unsigned none = 0;
    (void)state;

    zt_fake_nvml_reset("gpus=1;power_w=100;period_ms=10");
    zt_fake_amdsmi_use("gpus=1;power_w=200");
    zeus_monitor_options_init(&o);
    o.cpu_indices = &none;
    o.cpu_index_count = 0;
    if (zeus_monitor_create(&o, &mon) != ZEUS_OK)
        fail_msg("zeus_monitor_create: %s", zeus_last_error());
    assert_int_equal(zeus_monitor_begin_window(mon, "outer", 0), ZEUS_OK);
    sleep_s(0.2);
    assert_int_equal(zeus_monitor_begin_window(mon, "inner", 0), ZEUS_OK);
    sleep_s(0.3);
    assert_int_equal(zeus_monitor_end_window(mon, "inner", ZEUS_WINDOW_WAIT_FINAL, &m), ZEUS_OK);
    assert_int_equal(m.gpu_count, 2);
    assert_near(m.gpu_energy_j[1], 200 * m.time_s, 200 * m.time_s * 0.05);
    assert_int_equal(zeus_monitor_end_window(mon, "outer", ZEUS_WINDOW_WAIT_FINAL, &m), ZEUS_OK);
    assert_near(m.gpu_energy_j[0], 100 * m.time_s, 100 * m.time_s * 0.05);
    assert_near(m.gpu_energy_j[1], 200 * m.time_s, 200 * m.time_s * 0.05);
    assert_true(m.gpu_flags[1] & ZEUS_ENERGY_COUNTER);
    zeus_monitor_destroy(mon);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_amd_identity_power_and_temperature),
        T(test_amd_energy_counter_follows_power),
        T(test_amd_limits_clocks_and_setters),
        T(test_amd_rocm64_layout),
        T(test_amd_unavailable_power_is_not_a_reading),
        T(test_amd_unknown_library_version_is_refused),
        T(test_amd_missing_library),
        T(test_amd_broken_counter_is_rejected),
        T(test_amd_counter_check_once_per_process),
        T(test_amd_counter_within_10x_is_kept),
        T(test_amd_zero_power_counter_not_used),
        T(test_amd_broken_counter_window_is_integrated),
        T(test_amd_windows_nested_restart_cancel),
        T(test_amd_square_trace_counter_and_integrated_agree),
        T(test_amd_mi250_odd_die_has_no_readings),
        T(test_amd_setters_go_to_zeusd_only),
        T(test_amd_hip_order),
        T(test_amd_visible_devices),
        T(test_amd_failing_calls),
        T(test_mixed_nvidia_then_amd),
        T(test_mixed_monitor_window),
    };
#undef T
    return cmocka_run_group_tests_name("amdsmi", tests, NULL, NULL);
}
