/*
 * test_metrics_collector.c - The node collector behind `zeus exporter` (zeus/metrics.h):
 * what it renders over the fake NVML and a fake RAPL tree, that a render answers from the
 * sampler without calling NVML's energy counter, that an unreadable RAPL file is left out
 * and counted rather than written as 0 (its power too, rather than kept stale), and its
 * argument checks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_nvml_control.h"
#include "sysfs_tree.h"
#include "test_support.h"
#include "zeus/zeus.h"

static int make_tree(void **state)
{
    zt_sysfs *t = zt_sysfs_create();

    zt_sysfs_add_package(t, 0, 1000000, 262143328850ull);
    zt_sysfs_add_dram(t, 0, 0, 500000, 65712999613ull);
    zt_sysfs_use(t);
    unsetenv("CUDA_VISIBLE_DEVICES");
    *state = t;
    return 0;
}

static int rm_tree(void **state)
{
    zt_sysfs_destroy(*state);
    return 0;
}

/* The value after `prefix` (a sample's name and labels up to the closing brace). */
static double value_of(const char *text, const char *prefix)
{
    const char *p = strstr(text, prefix);

    if (p == NULL)
        fail_msg("no '%s' in:\n%s", prefix, text);
    return strtod(strstr(p, "} ") + 2, NULL); /* label values may hold spaces */
}

static void test_collector_render_every_device(void **state)
{
    zeus_metrics_collector *c;
    char *text;
    size_t len;

    zt_fake_nvml_reset("gpus=2;power_w=300;temp_c=55;limit_default_w=650");
    (void)state;
    assert_int_equal(zeus_metrics_collector_create(NULL, &c), ZEUS_OK);
    assert_int_equal(zeus_metrics_collector_render(c, &text, &len), ZEUS_OK);
    assert_int_equal(strlen(text), len);
    assert_true(value_of(text, "zeus_gpu_energy_joules_total{index=\"1\"") > 0);
    assert_near(value_of(text, "domain=\"device_instant\"}"), 300, 1e-9);
    assert_near(value_of(text, "zeus_gpu_temperature_celsius{index=\"0\""), 55, 1e-9);
    assert_near(value_of(text, "zeus_gpu_power_limit_watts{index=\"0\""), 650, 1e-9);
    assert_near(value_of(text, "zeus_gpu_energy_update_step_seconds{index=\"0\""), 0.1, 0.02);
    assert_near(value_of(text, "zeus_cpu_energy_wraps_total{index=\"0\",zone=\"package-0\"}"),
                0, 0);
    assert_non_null(strstr(text, "zeus_cpu_energy_joules_total{index=\"0\",zone=\"package-0\"}"));
    assert_non_null(strstr(text, "zeus_dram_energy_joules_total{index=\"0\""));
    zeus_metrics_free(text);
    zeus_metrics_collector_destroy(c);
}

static void test_collector_render_never_reads_energy_counter(void **state)
{
    zeus_metrics_collector *c;
    double t0, elapsed;

    (void)state;
    /* Each counter read takes 100 ms: 20 renders that read it would take 2 s or more. */
    zt_fake_nvml_reset("gpus=2;power_w=300;energy_latency_us=100000");
    assert_int_equal(zeus_metrics_collector_create(NULL, &c), ZEUS_OK);
    t0 = zeus_now();
    for (int i = 0; i < 20; i++) {
        char *text;
        assert_int_equal(zeus_metrics_collector_render(c, &text, NULL), ZEUS_OK);
        zeus_metrics_free(text);
    }
    elapsed = zeus_now() - t0;
    print_message("20 renders: %.2f ms\n", elapsed * 1e3);
    assert_true(elapsed < 1.0); /* loose: microseconds each are expected */
    zeus_metrics_collector_destroy(c);
}

static void test_collector_unreadable_rapl_left_out_and_counted(void **state)
{
    zeus_metrics_collector_options o;
    zeus_metrics_collector *c;
    unsigned cpu0[] = {0};
    char *text;

    zt_fake_nvml_reset("gpus=1");
    zeus_metrics_collector_options_init(&o);
    o.cpu_indices = cpu0; /* explicit: kept even when a read fails later */
    o.cpu_index_count = 1;
    assert_int_equal(zeus_metrics_collector_create(&o, &c), ZEUS_OK);
    zt_sysfs_replace_with_dir(*state, "intel-rapl:0", "energy_uj");
    assert_int_equal(zeus_metrics_collector_render(c, &text, NULL), ZEUS_OK);
    assert_null(strstr(text, "zeus_cpu_energy_joules_total{"));
    assert_true(value_of(text, "zeus_cpu_read_failures_total{index=\"0\"") >= 1);
    zeus_metrics_free(text);
    zeus_metrics_collector_destroy(c);
}

static void test_collector_power_left_out_while_rapl_unreadable(void **state)
{
    zeus_metrics_collector_options o;
    zeus_metrics_collector *c;
    unsigned cpu0[] = {0};
    char *text;

    zt_fake_nvml_reset("gpus=1");
    zeus_metrics_collector_options_init(&o);
    o.cpu_indices = cpu0;
    o.cpu_index_count = 1;
    o.period_s = 0.05;
    assert_int_equal(zeus_metrics_collector_create(&o, &c), ZEUS_OK);
    usleep(200000); /* two background reads or more: a power average exists */
    assert_int_equal(zeus_metrics_collector_render(c, &text, NULL), ZEUS_OK);
    assert_non_null(strstr(text, "zeus_cpu_power_watts{index=\"0\""));
    zeus_metrics_free(text);
    zt_sysfs_replace_with_dir(*state, "intel-rapl:0", "energy_uj");
    usleep(200000); /* background reads now fail: the last average must not stay on */
    assert_int_equal(zeus_metrics_collector_render(c, &text, NULL), ZEUS_OK);
    assert_null(strstr(text, "zeus_cpu_power_watts{"));
    assert_null(strstr(text, "zeus_dram_power_watts{"));
    zeus_metrics_free(text);
    zeus_metrics_collector_destroy(c);
}

static void fail_gpu_reads(int nvml_return, int times)
{
    zt_fake_nvml_fail("nvmlDeviceGetTotalEnergyConsumption", 0, nvml_return, times);
    zt_fake_nvml_fail("nvmlDeviceGetPowerUsage", 0, nvml_return, times);
    zt_fake_nvml_fail("nvmlDeviceGetFieldValues", 0, nvml_return, times);
}

static void sleep_ms(unsigned ms)
{
    usleep(ms * 1000u);
}

/*
 * Issue 9: while a GPU's reads failed the energy series kept rising at the old rate and
 * the power stayed at 300 W; after recovery the series stayed flat until the counter
 * caught up. Now both are left out while failing, and the series continues from the
 * device's counter: never backwards, and rising again at the new power.
 */
static void test_collector_failing_gpu_left_out_then_continues(void **state)
{
    zeus_metrics_collector *c;
    char *text;
    double before, after, later;

    zt_fake_nvml_reset("gpus=1;power_w=300");
    (void)state;
    assert_int_equal(zeus_metrics_collector_create(NULL, &c), ZEUS_OK);
    sleep_ms(300);
    assert_int_equal(zeus_metrics_collector_render(c, &text, NULL), ZEUS_OK);
    before = value_of(text, "zeus_gpu_energy_joules_total{index=\"0\"");
    zeus_metrics_free(text);

    fail_gpu_reads(999 /* UNKNOWN */, -1);
    zt_fake_nvml()->set_power_mw(0, 10000);
    sleep_ms(500); /* several 100 ms counter steps */
    assert_int_equal(zeus_metrics_collector_render(c, &text, NULL), ZEUS_OK);
    assert_null(strstr(text, "zeus_gpu_energy_joules_total{index=\"0\""));
    assert_null(strstr(text, "zeus_gpu_power_watts{index=\"0\""));
    zeus_metrics_free(text);

    fail_gpu_reads(0, 0);
    sleep_ms(400);
    assert_int_equal(zeus_metrics_collector_render(c, &text, NULL), ZEUS_OK);
    after = value_of(text, "zeus_gpu_energy_joules_total{index=\"0\"");
    assert_near(value_of(text, "domain=\"device_instant\"}"), 10, 1e-9);
    zeus_metrics_free(text);
    sleep_ms(400);
    assert_int_equal(zeus_metrics_collector_render(c, &text, NULL), ZEUS_OK);
    later = value_of(text, "zeus_gpu_energy_joules_total{index=\"0\"");
    zeus_metrics_free(text);
    print_message("energy: %.3f J before, %.3f J after recovery, %.3f J 0.4 s later\n", before,
                  after, later);
    assert_true(after > before); /* the counter's joules while failing, not a jump back */
    assert_true(later > after);  /* rising at 10 W, not a plateau waiting for 300 W's pace */
    assert_true(later - before < 300.0 * 1.0); /* never extrapolated at the old slope */
    zeus_metrics_collector_destroy(c);
}

static void test_collector_bad_arguments(void **state)
{
    zeus_metrics_collector_options o;
    zeus_metrics_collector *c = NULL;
    unsigned gpu9[] = {9};
    char *text;

    (void)state;
    zt_fake_nvml_reset("gpus=1");
    assert_int_equal(zeus_metrics_collector_create(NULL, NULL), ZEUS_ERR_INVALID_ARGUMENT);
    zeus_metrics_collector_options_init(&o);
    o.period_s = -1;
    assert_int_equal(zeus_metrics_collector_create(&o, &c), ZEUS_ERR_INVALID_ARGUMENT);
    o.period_s = 0;
    o.gpu_indices = gpu9;
    o.gpu_index_count = 1;
    assert_int_equal(zeus_metrics_collector_create(&o, &c), ZEUS_ERR_NOT_FOUND);
    assert_null(c);
    assert_int_equal(zeus_metrics_collector_render(NULL, &text, NULL), ZEUS_ERR_INVALID_ARGUMENT);
    zeus_metrics_collector_destroy(NULL);
    zeus_metrics_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_collector_render_every_device, make_tree, rm_tree),
        cmocka_unit_test_setup_teardown(test_collector_render_never_reads_energy_counter,
                                        make_tree, rm_tree),
        cmocka_unit_test_setup_teardown(test_collector_unreadable_rapl_left_out_and_counted,
                                        make_tree, rm_tree),
        cmocka_unit_test_setup_teardown(test_collector_power_left_out_while_rapl_unreadable,
                                        make_tree, rm_tree),
        cmocka_unit_test_setup_teardown(test_collector_failing_gpu_left_out_then_continues,
                                        make_tree, rm_tree),
        cmocka_unit_test_setup_teardown(test_collector_bad_arguments, make_tree, rm_tree),
    };
    return cmocka_run_group_tests_name("metrics_collector", tests, NULL, NULL);
}
