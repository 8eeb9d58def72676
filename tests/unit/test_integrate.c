/*
 * test_integrate.c - The pure functions under the power monitor's queries (integrate.c):
 * energy over an interval against hand-computed integrals, edges and plateaus included; the
 * reconstructed value at a time; Zeus's nearest-sample rule; and the claim that the plateau
 * rule on a de-duplicated series equals the trapezoid rule over every poll.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "monitor/integrate.h"
#include "test_support.h"

#define S(sec) ((int64_t)((sec) * 1e9 + ((sec) >= 0 ? 0.5 : -0.5))) /* seconds to ns */
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Integrate with a span that covers everything, so nothing counts as extrapolated. */
static double energy(const zeus__sample *s, size_t n, double ramp_s, double t0, double t1)
{
    zeus__integral r;
    zeus__integrate(s, n, S(ramp_s), INT64_MIN / 2, INT64_MAX / 2, S(t0), S(t1), &r);
    assert_int_equal(r.outside_ns, 0);
    return r.energy_j;
}

/* ---- zeus__integrate: edges ------------------------------------------------------------ */

static void test_integrate_one_sample_holds_over_the_whole_interval(void **state)
{
    const zeus__sample s[] = {{S(5), 300.0}};
    (void)state;

    assert_near(energy(s, 1, 0.1, 0, 10), 3000.0, 1e-9);  /* before and after it */
    assert_near(energy(s, 1, 0.1, 6, 7), 300.0, 1e-9);    /* after it only */
    assert_near(energy(s, 1, 0.1, 1, 2), 300.0, 1e-9);    /* before it only */
}

static void test_integrate_counts_edges_where_zeus_drops_them(void **state)
{
    /* Zeus's own test: 100 W at t=100 and 101 over [99, 102] gives Zeus 100 J. */
    const zeus__sample s[] = {{S(100), 100.0}, {S(101), 100.0}};
    (void)state;

    assert_near(energy(s, 2, 0.1, 99, 102), 300.0, 1e-9);
}

static void test_integrate_empty_or_zero_length_is_zero(void **state)
{
    const zeus__sample s[] = {{S(1), 100.0}};
    zeus__integral r;
    (void)state;

    assert_near(energy(s, 1, 0.1, 3, 3), 0.0, 0);
    zeus__integrate(s, 0, 0, 0, 0, S(0), S(1), &r);
    assert_near(r.energy_j, 0.0, 0);
    assert_int_equal(r.samples, 0);
}

static void test_integrate_reports_the_part_outside_the_span(void **state)
{
    const zeus__sample s[] = {{S(1), 100.0}, {S(2), 200.0}};
    zeus__integral r;
    (void)state;

    /* Sampled from 1 s to 3 s; asked for [0, 4]: 1 s before and 1 s after. */
    zeus__integrate(s, 2, 0, S(1), S(3), S(0), S(4), &r);
    assert_int_equal(r.outside_ns, S(2));
    assert_near(r.energy_j, 100.0 * 2 + 200.0 * 2, 1e-9);
    assert_int_equal(r.samples, 2);
    /* Entirely inside. */
    zeus__integrate(s, 2, 0, S(1), S(3), S(1.5), S(2.5), &r);
    assert_int_equal(r.outside_ns, 0);
    assert_int_equal(r.samples, 1);
    /* Entirely after. */
    zeus__integrate(s, 2, 0, S(1), S(3), S(5), S(6), &r);
    assert_int_equal(r.outside_ns, S(1));
    assert_near(r.energy_j, 200.0, 1e-9);
}

/* ---- zeus__integrate: plateaus and ramps ------------------------------------------------- */

static void test_integrate_steps_when_ramp_is_zero(void **state)
{
    const zeus__sample s[] = {{S(1), 100.0}, {S(3), 300.0}};
    (void)state;

    /* [0,1] 100 (edge), [1,3] 100, [3,4] 300 */
    assert_near(energy(s, 2, 0, 0, 4), 600.0, 1e-9);
}

static void test_integrate_plateau_holds_until_one_period_before_the_change(void **state)
{
    /* 10 s at 100 W, then the reading becomes 700 W; polled every 0.1 s. */
    const zeus__sample s[] = {{S(0), 100.0}, {S(10), 700.0}};
    (void)state;

    /* 9.9 s at 100 W, then 0.1 s ramping to 700 W: 990 + 40. Zeus's rule gives 4000. */
    assert_near(energy(s, 2, 0.1, 0, 10), 1030.0, 1e-9);
    /* A ramp longer than the gap is cut to the gap: plain trapezoid between the two. */
    assert_near(energy(s, 2, 100, 0, 10), 4000.0, 1e-9);
    /* Only the plateau. */
    assert_near(energy(s, 2, 0.1, 2, 5), 300.0, 1e-9);
}

static void test_integrate_interval_inside_a_ramp(void **state)
{
    const zeus__sample s[] = {{S(0), 0.0}, {S(1), 100.0}};
    (void)state;

    /* Line from 0 W to 100 W over [0, 1]: [0.25, 0.75] averages 50 W. */
    assert_near(energy(s, 2, 1.0, 0.25, 0.75), 25.0, 1e-9);
    /* Half hold, half ramp: ramp over [0.5, 1]; [0.25, 0.75] = 0.25*0 + area 0..50 W */
    assert_near(energy(s, 2, 0.5, 0.25, 0.75), 0.25 * 25.0, 1e-9);
}

static void test_integrate_square_wave_by_hand(void **state)
{
    /* 300 W / 100 W square wave with changes every second, polled every 0.05 s. */
    const zeus__sample s[] = {{S(0), 300.0}, {S(1), 100.0}, {S(2), 300.0}, {S(3), 100.0}};
    (void)state;

    /* Each change ramps over 0.05 s: each full second is 0.95*a + 0.05*(a+b)/2. */
    double first = 0.95 * 300 + 0.05 * 200, second = 0.95 * 100 + 0.05 * 200;
    assert_near(energy(s, 4, 0.05, 0, 2), first + second, 1e-9);
    /* Edge half-way into a plateau and past the last sample: [0.5, 3.5]. */
    assert_near(energy(s, 4, 0.05, 0.5, 3.5),
                0.45 * 300 + 0.05 * 200 + second + (0.95 * 300 + 0.05 * 200) + 0.5 * 100, 1e-9);
}

static void test_integrate_keeps_precision_at_large_clock_values(void **state)
{
    /* A machine up for a year: CLOCK_MONOTONIC ~3.2e16 ns. */
    const int64_t base = 31557600LL * 1000000000LL;
    const zeus__sample s[] = {{base, 700.0}, {base + S(0.1), 701.0}};
    zeus__integral r;
    (void)state;

    zeus__integrate(s, 2, 0, base, base + S(2), base + S(0.5), base + S(1.5), &r);
    assert_near(r.energy_j, 701.0, 1e-9);
}

/*
 * The claim of integrate.h: on a de-duplicated series, the plateau rule with ramp = poll
 * period gives exactly the trapezoid rule over every poll of the original series.
 */
static void test_integrate_dedup_equals_trapezoid_over_every_poll(void **state)
{
    enum { POLLS = 2000 };
    zeus__sample *all = malloc(POLLS * sizeof *all), *kept = malloc(POLLS * sizeof *kept);
    const int64_t period = S(0.05), t_start = S(1000);
    double trapezoid = 0;
    size_t n = 0;
    unsigned seed = 12345;
    (void)state;

    for (int i = 0; i < POLLS; i++) {
        /* A reading that changes at random polls, holding in between (as NVML's do). */
        seed = seed * 1103515245u + 12345u;
        all[i].t_ns = t_start + i * period;
        all[i].value = i == 0 || (seed >> 16) % 3 == 0 ? 50.0 + (double)((seed >> 8) % 650)
                                                        : all[i - 1].value;
        if (i > 0)
            trapezoid += (all[i - 1].value + all[i].value) / 2 * 0.05;
        if (n == 0 || kept[n - 1].value != all[i].value)
            kept[n++] = all[i];
    }
    assert_true(n < POLLS / 2); /* de-duplication did drop samples */
    assert_near(energy(kept, n, 0.05, 1000.0, 1000.0 + (POLLS - 1) * 0.05), trapezoid, 1e-6);
    free(all);
    free(kept);
}

/* ---- zeus__series_value_at ---------------------------------------------------------------- */

static void test_value_at_holds_ramps_and_extends(void **state)
{
    const zeus__sample s[] = {{S(1), 100.0}, {S(2), 300.0}};
    (void)state;

    assert_near(zeus__series_value_at(s, 2, S(0.5), S(0)), 100.0, 1e-12);   /* before */
    assert_near(zeus__series_value_at(s, 2, S(0.5), S(1.25)), 100.0, 1e-12); /* plateau */
    assert_near(zeus__series_value_at(s, 2, S(0.5), S(1.75)), 200.0, 1e-9);  /* mid-ramp */
    assert_near(zeus__series_value_at(s, 2, S(0.5), S(2)), 300.0, 1e-12);
    assert_near(zeus__series_value_at(s, 2, S(0.5), S(9)), 300.0, 1e-12);    /* after */
}

/* ---- zeus__sample_nearest ----------------------------------------------------------------- */

static void test_nearest_tie_goes_to_the_earlier_sample(void **state)
{
    const zeus__sample s[] = {{S(100.0), 1}, {S(100.4), 2}, {S(101.0), 3}};
    (void)state;

    assert_int_equal(zeus__sample_nearest(s, 3, S(100.2)), 0); /* tie */
    assert_int_equal(zeus__sample_nearest(s, 3, S(100.7)), 1); /* tie */
    assert_int_equal(zeus__sample_nearest(s, 3, S(100.21)), 1);
    assert_int_equal(zeus__sample_nearest(s, 3, S(100.1)), 0); /* Zeus: 100.2 -> 100.0 */
}

static void test_nearest_before_first_and_after_last(void **state)
{
    const zeus__sample s[] = {{S(100.0), 1}, {S(101.0), 2}};
    (void)state;

    assert_int_equal(zeus__sample_nearest(s, 2, S(0)), 0);
    assert_int_equal(zeus__sample_nearest(s, 2, S(500)), 1);
    assert_int_equal(zeus__sample_nearest(s, 2, INT64_MAX), 1);
    assert_int_equal(zeus__sample_nearest(s, 2, S(101.0)), 1); /* exact hit */
    assert_int_equal(zeus__sample_nearest(s, 1, S(500)), 0);
}

static void test_bounds_count_before_and_at(void **state)
{
    const zeus__sample s[] = {{10, 0}, {20, 0}, {20 + 1, 0}, {30, 0}};
    (void)state;

    assert_int_equal(zeus__sample_lower_bound(s, 4, 20), 1);
    assert_int_equal(zeus__sample_upper_bound(s, 4, 20), 2);
    assert_int_equal(zeus__sample_lower_bound(s, 4, 5), 0);
    assert_int_equal(zeus__sample_upper_bound(s, 4, 99), 4);
    assert_int_equal(zeus__sample_lower_bound(s, 0, 99), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_integrate_one_sample_holds_over_the_whole_interval),
        cmocka_unit_test(test_integrate_counts_edges_where_zeus_drops_them),
        cmocka_unit_test(test_integrate_empty_or_zero_length_is_zero),
        cmocka_unit_test(test_integrate_reports_the_part_outside_the_span),
        cmocka_unit_test(test_integrate_steps_when_ramp_is_zero),
        cmocka_unit_test(test_integrate_plateau_holds_until_one_period_before_the_change),
        cmocka_unit_test(test_integrate_interval_inside_a_ramp),
        cmocka_unit_test(test_integrate_square_wave_by_hand),
        cmocka_unit_test(test_integrate_keeps_precision_at_large_clock_values),
        cmocka_unit_test(test_integrate_dedup_equals_trapezoid_over_every_poll),
        cmocka_unit_test(test_value_at_holds_ramps_and_extends),
        cmocka_unit_test(test_nearest_tie_goes_to_the_earlier_sample),
        cmocka_unit_test(test_nearest_before_first_and_after_last),
        cmocka_unit_test(test_bounds_count_before_and_at),
    };
    return cmocka_run_group_tests_name("integrate", tests, NULL, NULL);
}
