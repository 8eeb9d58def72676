/*
 * test_period.c - Inferring the power monitor's poll period (period.c): the estimate from
 * change times, and the inference over fake GPUs whose readings change every 100 ms and
 * every 10 ms, over two models at once, and over a reading that never changes.
 *
 * The fake's ramp trace gives a new power value at every update boundary, as a real GPU's
 * milliwatt readings almost always do. Bounds are generous: the fake's boundaries are exact,
 * but the watching thread can be descheduled, more so under the sanitizers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_nvml_control.h"
#include "monitor/period.h"
#include "test_support.h"
#include "zeus/zeus.h"

#define MS(x) ((int64_t)(x) * 1000000)

/* ---- Fixtures --------------------------------------------------------------------------- */

static zeus_devices *open_devices(const char *spec)
{
    zeus_devices *devs = NULL;

    zt_fake_nvml_reset(spec);
    if (zeus_devices_create(&devs) != ZEUS_OK)
        fail_msg("zeus_devices_create: %s", zeus_last_error());
    return devs;
}

static int close_devices(void **state)
{
    zeus_devices_destroy(*state);
    *state = NULL;
    return 0;
}

/* ---- zeus__period_from_changes ---------------------------------------------------------- */

static void test_period_from_changes_regular_gives_the_interval(void **state)
{
    const int64_t t[] = {MS(0), MS(100), MS(200), MS(300)};
    (void)state;

    assert_int_equal(zeus__period_from_changes(t, 4), MS(100));
}

static void test_period_from_changes_one_late_poll_does_not_set_it(void **state)
{
    /* Intervals 100, 103, 97, 100: the fastest cluster's median, not 97. */
    const int64_t t[] = {MS(0), MS(100), MS(203), MS(300), MS(400)};
    (void)state;

    assert_int_equal(zeus__period_from_changes(t, 5), MS(100));
}

static void test_period_from_changes_repeated_value_is_left_out(void **state)
{
    /* One update repeated the value: a 200 ms interval among 100 ms ones. */
    const int64_t t[] = {MS(0), MS(100), MS(300), MS(400)};
    (void)state;

    assert_int_equal(zeus__period_from_changes(t, 4), MS(100));
}

static void test_period_from_changes_needs_two_changes(void **state)
{
    const int64_t t[] = {MS(5), MS(5)};
    (void)state;

    assert_int_equal(zeus__period_from_changes(t, 1), 0);
    assert_int_equal(zeus__period_from_changes(t, 0), 0);
    assert_int_equal(zeus__period_from_changes(t, 2), 0); /* no positive interval */
}

/* ---- zeus__infer_update_period over the fake -------------------------------------------- */

static void infer(void **state, const char *spec, const unsigned *gpus, size_t n,
                  const zeus__period_options *o, zeus__period_report *r)
{
    zeus_devices *devs = open_devices(spec);

    *state = devs;
    assert_int_equal(zeus__infer_update_period(devs, gpus, n, o, r), ZEUS_OK);
}

static void test_infer_100ms_updates_gives_50ms(void **state)
{
    const unsigned gpus[] = {0};
    zeus__period_report r;

    infer(state, "trace=ramp;power_w=300;low_w=100;period_ms=100", gpus, 1, NULL, &r);
    assert_near(r.fastest_s, 0.1, 0.01);
    assert_near(r.period_s, 0.05, 0.005);
    assert_int_equal(r.models, 1);
    assert_int_equal(r.models_without_changes, 0);
    assert_int_equal(r.clamped, 0);
}

static void test_infer_10ms_updates_gives_5ms(void **state)
{
    const unsigned gpus[] = {0};
    zeus__period_report r;

    infer(state, "trace=ramp;power_w=300;low_w=100;period_ms=10", gpus, 1, NULL, &r);
    assert_near(r.fastest_s, 0.01, 0.002);
    assert_near(r.period_s, 0.005, 0.001);
}

static void test_infer_two_models_takes_half_the_fastest(void **state)
{
    /* Zeus's test: models updating every 0.4 s and 0.12 s give 0.06 s. */
    const unsigned gpus[] = {0, 1, 2};
    zeus__period_report r;

    infer(state,
          "gpus=3;trace=ramp;power_w=300;low_w=100;gpu0.name=Slow;gpu0.period_ms=400;"
          "gpu1.name=Fast;gpu1.period_ms=120;gpu2.name=Slow;gpu2.period_ms=400",
          gpus, 3, NULL, &r);
    assert_int_equal(r.models, 2);
    assert_near(r.period_s, 0.06, 0.008);
}

static void test_infer_unchanging_reading_falls_back_to_50ms(void **state)
{
    const unsigned gpus[] = {0};
    zeus__period_options o = {.budget_s = 0.3};
    zeus__period_report r;

    infer(state, "trace=constant;power_w=300", gpus, 1, &o, &r);
    assert_int_equal(r.models_without_changes, 1);
    assert_near(r.period_s, 0.05, 1e-12); /* Zeus's fallback 0.1 s, halved */
}

static void test_infer_unknown_gpu_is_not_found(void **state)
{
    const unsigned gpus[] = {0, 7};
    zeus__period_report r;
    zeus_devices *devs = open_devices("gpus=2");

    *state = devs;
    assert_int_equal(zeus__infer_update_period(devs, gpus, 2, NULL, &r), ZEUS_ERR_NOT_FOUND);
    assert_int_equal(zeus__infer_update_period(devs, gpus, 0, NULL, &r),
                     ZEUS_ERR_INVALID_ARGUMENT);
}

int main(void)
{
#define T(name) cmocka_unit_test_teardown(name, close_devices)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_period_from_changes_regular_gives_the_interval),
        cmocka_unit_test(test_period_from_changes_one_late_poll_does_not_set_it),
        cmocka_unit_test(test_period_from_changes_repeated_value_is_left_out),
        cmocka_unit_test(test_period_from_changes_needs_two_changes),
        T(test_infer_100ms_updates_gives_50ms),
        T(test_infer_10ms_updates_gives_5ms),
        T(test_infer_two_models_takes_half_the_fastest),
        T(test_infer_unchanging_reading_falls_back_to_50ms),
        T(test_infer_unknown_gpu_is_not_found),
    };
#undef T
    return cmocka_run_group_tests_name("period", tests, NULL, NULL);
}
