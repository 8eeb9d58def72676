/*
 * test_temperature_monitor.c - The temperature monitor (zeus_temperature_monitor_*) over the
 * fake NVML: the timeline holds the start reading and each change, in order; the temperature
 * at a time follows Zeus's nearest-sample rule; a GPU without a temperature sensor is
 * refused; a failing sensor leaves the monitor answering; stop then destroy leaves no
 * thread.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake_nvml_control.h"
#include "sysfs_tree.h"
#include "test_support.h"
#include "zeus/zeus.h"

#define NVML_ERROR_UNKNOWN 999

/* ---- Fixtures --------------------------------------------------------------------------- */

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

static zeus_temperature_monitor *make(const char *spec, double period_s)
{
    zeus_temperature_monitor_options o;
    zeus_temperature_monitor *tm = NULL;

    zt_fake_nvml_reset(spec);
    zeus_temperature_monitor_options_init(&o);
    o.update_period_s = period_s;
    if (zeus_temperature_monitor_create(&o, &tm) != ZEUS_OK)
        fail_msg("zeus_temperature_monitor_create: %s", zeus_last_error());
    return tm;
}

static size_t count(zeus_temperature_monitor *tm, unsigned gpu, zeus_sample *s, size_t room)
{
    size_t n = room;
    assert_int_equal(zeus_temperature_monitor_timeline(tm, gpu, NAN, NAN, s, &n), ZEUS_OK);
    return n;
}

/* ---- Timelines and readings --------------------------------------------------------------- */

static void test_temperature_constant_reading_is_one_sample(void **state)
{
    zeus_temperature_monitor *tm = make("gpus=2;temp_c=40", 0.02);
    zeus_sample s[8];
    unsigned idx[2];
    double c;
    (void)state;

    assert_int_equal(zeus_temperature_monitor_gpus(tm, idx, 2), 2);
    assert_int_equal(idx[1], 1);
    sleep_s(0.3);
    assert_int_equal(count(tm, 1, s, 8), 1);
    assert_near(s[0].value, 40.0, 0);
    assert_int_equal(zeus_temperature_monitor_temperature(tm, 1, NAN, &c), ZEUS_OK);
    assert_near(c, 40.0, 0);
    zeus_temperature_monitor_destroy(tm);
}

static void test_temperature_changes_in_order_and_nearest_rule(void **state)
{
    zeus_temperature_monitor *tm = make("temp_c=40", 0.02);
    zeus_sample s[8];
    double c;
    size_t n;
    (void)state;

    sleep_s(0.1);
    zt_fake_nvml()->set_temperature_c(0, 55);
    sleep_s(0.1);
    zt_fake_nvml()->set_temperature_c(0, 61);
    sleep_s(0.1);
    n = count(tm, 0, s, 8);
    assert_int_equal(n, 3);
    assert_near(s[0].value, 40.0, 0);
    assert_near(s[1].value, 55.0, 0);
    assert_near(s[2].value, 61.0, 0);
    assert_true(s[0].time_s < s[1].time_s && s[1].time_s < s[2].time_s);

    assert_int_equal(zeus_temperature_monitor_temperature(tm, 0, NAN, &c), ZEUS_OK);
    assert_near(c, 61.0, 0);
    assert_int_equal(zeus_temperature_monitor_temperature(tm, 0, 0.0, &c), ZEUS_OK);
    assert_near(c, 40.0, 0); /* before the first: the first */
    assert_int_equal(zeus_temperature_monitor_temperature(tm, 0, s[1].time_s + 0.001, &c),
                     ZEUS_OK);
    assert_near(c, 55.0, 0);
    assert_int_equal(zeus_temperature_monitor_temperature(tm, 0, 1e12, &c), ZEUS_OK);
    assert_near(c, 61.0, 0); /* after the last: the last */
    zeus_temperature_monitor_destroy(tm);
}

static void test_temperature_default_period_is_one_second(void **state)
{
    zeus_temperature_monitor *tm = make("temp_c=40", 0);
    zeus_sample s[8];
    (void)state;

    zt_fake_nvml()->set_temperature_c(0, 70);
    sleep_s(0.1); /* the next poll is a second after the first */
    assert_int_equal(count(tm, 0, s, 8), 1);
    zeus_temperature_monitor_destroy(tm);
}

/* ---- Errors ------------------------------------------------------------------------------- */

static void test_temperature_bad_arguments_are_refused(void **state)
{
    zeus_temperature_monitor_options o;
    zeus_temperature_monitor *tm = NULL;
    const unsigned unknown[] = {3};
    zeus_sample s;
    size_t n = 1;
    double c;
    (void)state;

    zt_fake_nvml_reset("gpus=2");
    zeus_temperature_monitor_options_init(&o);
    o.gpu_indices = unknown;
    o.gpu_index_count = 0;
    assert_int_equal(zeus_temperature_monitor_create(&o, &tm), ZEUS_ERR_INVALID_ARGUMENT);
    o.gpu_index_count = 1;
    assert_int_equal(zeus_temperature_monitor_create(&o, &tm), ZEUS_ERR_NOT_FOUND);
    zeus_temperature_monitor_options_init(&o);
    o.update_period_s = -0.5;
    assert_int_equal(zeus_temperature_monitor_create(&o, &tm), ZEUS_ERR_INVALID_ARGUMENT);
    assert_int_equal(zeus_temperature_monitor_create(&o, NULL), ZEUS_ERR_INVALID_ARGUMENT);
    assert_null(tm);

    tm = make("gpus=2", 0.05);
    assert_int_equal(zeus_temperature_monitor_timeline(tm, 2, NAN, NAN, &s, &n),
                     ZEUS_ERR_NOT_FOUND);
    assert_int_equal(zeus_temperature_monitor_temperature(tm, 0, NAN, NULL),
                     ZEUS_ERR_INVALID_ARGUMENT);
    zeus_temperature_monitor_destroy(tm);
    assert_int_equal(zeus_temperature_monitor_stop(NULL), ZEUS_ERR_INVALID_ARGUMENT);
    assert_int_equal(zeus_temperature_monitor_temperature(NULL, 0, NAN, &c),
                     ZEUS_ERR_INVALID_ARGUMENT);
    zeus_temperature_monitor_destroy(NULL);
}

static void test_temperature_gpu_without_sensor_is_not_supported(void **state)
{
    zeus_temperature_monitor *tm = NULL;
    zeus_status s;
    (void)state;

    zt_fake_nvml_reset("gpus=1");
    /* The probe at open finds no sensor. */
    zt_fake_nvml_fail("nvmlDeviceGetTemperature", 0, 3 /* NOT_SUPPORTED */, -1);
    s = zeus_temperature_monitor_create(NULL, &tm);
    zt_fake_nvml_fail("nvmlDeviceGetTemperature", 0, 0, 0);
    assert_int_equal(s, ZEUS_ERR_NOT_SUPPORTED);
    assert_non_null(strstr(zeus_last_error(), "temperature"));
    assert_null(tm);
}

static void test_temperature_sensor_failing_mid_sampling_keeps_answering(void **state)
{
    zeus_temperature_monitor *tm = make("temp_c=40", 0.02);
    zeus_sample s[8];
    double c;
    (void)state;

    zt_fake_nvml_fail("nvmlDeviceGetTemperature", 0, NVML_ERROR_UNKNOWN, -1);
    zt_fake_nvml()->set_temperature_c(0, 80);
    sleep_s(0.2);
    assert_int_equal(count(tm, 0, s, 8), 1);
    assert_int_equal(zeus_temperature_monitor_temperature(tm, 0, NAN, &c), ZEUS_OK);
    assert_near(c, 40.0, 0);
    zt_fake_nvml_fail("nvmlDeviceGetTemperature", 0, 0, 0);
    sleep_s(0.2);
    assert_int_equal(count(tm, 0, s, 8), 2);
    assert_near(s[1].value, 80.0, 0);
    zeus_temperature_monitor_destroy(tm);
}

/* ---- Threads ------------------------------------------------------------------------------ */

static void test_temperature_stop_then_destroy_leaves_no_thread(void **state)
{
    int before = zt_thread_count();
    zeus_temperature_monitor *tm = make("gpus=2;temp_c=40", 0.05);
    zeus_sample s[4];
    double c;
    (void)state;

    assert_true(zt_thread_count() > before);
    assert_int_equal(zeus_temperature_monitor_stop(tm), ZEUS_OK);
    assert_int_equal(zt_thread_count(), before);
    assert_int_equal(zeus_temperature_monitor_stop(tm), ZEUS_OK);
    assert_int_equal(count(tm, 1, s, 4), 1); /* the copy answers */
    assert_int_equal(zeus_temperature_monitor_temperature(tm, 1, NAN, &c), ZEUS_OK);
    assert_near(c, 40.0, 0);
    zeus_temperature_monitor_destroy(tm);
    assert_int_equal(zt_thread_count(), before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_temperature_constant_reading_is_one_sample),
        cmocka_unit_test(test_temperature_changes_in_order_and_nearest_rule),
        cmocka_unit_test(test_temperature_default_period_is_one_second),
        cmocka_unit_test(test_temperature_bad_arguments_are_refused),
        cmocka_unit_test(test_temperature_gpu_without_sensor_is_not_supported),
        cmocka_unit_test(test_temperature_sensor_failing_mid_sampling_keeps_answering),
        cmocka_unit_test(test_temperature_stop_then_destroy_leaves_no_thread),
    };
    return cmocka_run_group_tests_name("temperature_monitor", tests, NULL, NULL);
}
