/*
 * test_perseus_options.c - lowtime's execution options in perseus/options.c and pyfloat.c:
 * the quantization Python's // gives, the candidate filter (lowtime's own test cases from its
 * tests/test_operation.py, then the noise factor, the dedup and the retry that Zeus's
 * run_optimization.py adds), and the knob for a duration.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "perseus.h"
#include "test_support.h"

/* ---- Quantization ------------------------------------------------------------------------- */

static void test_quantize_rounds_as_python_floordiv(void **state)
{
    (void)state;
    /* 0.019 is 0.01899999..., so Python's 0.019 // 0.001 is 18.0 (floor of the quotient
     * would say 19); values from CPython 3.11. */
    assert_int_equal(perseus_quantize(0.019, 0.001), 18);
    assert_int_equal(perseus_quantize(0.018943, 0.001), 18);
    assert_int_equal(perseus_quantize(0.02, 0.001), 20);
    assert_int_equal(perseus_quantize(0.021, 0.001), 21);
    assert_int_equal(perseus_quantize(0.3, 0.1), 2);
    assert_int_equal(perseus_quantize(1.0, 0.1), 9);
    assert_near(perseus_py_floordiv(-0.5, 0.2), -3.0, 0);
    assert_near(perseus_py_floordiv(10000.0, 1e-6) * 1e-6, 10000.0, 0);
    assert_near(perseus_py_floordiv(0.2160595593, 1e-6) * 1e-6, 0.216059, 1e-15);
}

/* ---- lowtime's tests/test_operation.py ---------------------------------------------------- */

/* mock_spec: unit_time 1, four options; "four" (234, 3.1) is beaten by "one" (123, 3.0). */
static const perseus_option mock[4] = {
    {1, 123.0, 123, 3.0}, /* "one" */
    {3, 789.0, 789, 1.0}, /* "three" */
    {2, 456.0, 456, 2.0}, /* "two" */
    {4, 234.0, 234, 3.1}, /* "four" */
};

static size_t mock_candidates(perseus_option *out)
{
    return perseus_options_filter(mock, 4, 1.0, out);
}

static void test_filter_lowtime_mock_keeps_pareto_front(void **state)
{
    perseus_option c[4];
    size_t n = mock_candidates(c);

    (void)state;
    assert_int_equal(n, 3);
    /* slowest first */
    assert_int_equal(c[0].knob, 3);
    assert_int_equal(c[1].knob, 2);
    assert_int_equal(c[2].knob, 1);
    assert_int_equal(c[0].quant_time, 789);
    assert_int_equal(c[1].quant_time, 456);
    assert_int_equal(c[2].quant_time, 123);
}

static void test_filter_lowtime_mock_min_max_duration(void **state)
{
    perseus_option c[4];
    size_t n = mock_candidates(c);

    (void)state;
    assert_int_equal(c[n - 1].quant_time, 123); /* min_duration */
    assert_int_equal(c[0].quant_time, 789);     /* max_duration, where an operation starts */
}

static void test_knob_for_lowtime_table(void **state)
{
    static const struct {
        long duration;
        int knob;
    } table[] = {{20, 1},  {122, 1}, {123, 1}, {124, 1}, {234, 1},  {455, 1},  {456, 2},
                 {457, 2}, {458, 2}, {654, 2}, {788, 2}, {789, 3},  {790, 3},  {1234, 3}};
    perseus_option c[4];
    size_t n = mock_candidates(c);

    (void)state;
    /* the default: the slowest knob, at max_duration */
    assert_int_equal(c[perseus_options_knob_for(c, n, c[0].quant_time)].knob, 3);
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        assert_int_equal(c[perseus_options_knob_for(c, n, table[i].duration)].knob,
                         table[i].knob);
}

/* ---- What Zeus's script adds ------------------------------------------------------------- */

static void test_filter_same_quant_time_keeps_largest_cost(void **state)
{
    /* Both on the front (one faster, one cheaper), both quantize to 10: the costlier one
     * (10.2 s) is the one whose quantized time is closest to its real time. */
    static const perseus_option in[3] = {
        {100, 10.7, 10, 4.0},
        {200, 10.2, 10, 5.0},
        {300, 20.0, 20, 1.0},
    };
    perseus_option c[3];
    size_t n = perseus_options_filter(in, 3, 1.0, c);

    (void)state;
    assert_int_equal(n, 2);
    assert_int_equal(c[0].knob, 300);
    assert_int_equal(c[1].knob, 200);
}

static void test_filter_noise_factor_keeps_near_front(void **state)
{
    /* B is beaten by A outright (faster and cheaper), but not by more than 5%: with noise
     * factor 0.95, A beats it only if A < 0.95 * B in both, which it is not. */
    static const perseus_option in[2] = {
        {1, 10.0, 10, 10.0}, /* A */
        {2, 10.2, 10, 10.2}, /* B */
    };
    perseus_option c[2];

    (void)state;
    assert_int_equal(perseus_options_filter(in, 2, 1.0, c), 1);
    assert_int_equal(c[0].knob, 1);
    /* with the noise factor both survive the front; the dedup keeps B (largest cost) */
    assert_int_equal(perseus_options_filter(in, 2, 0.95, c), 1);
    assert_int_equal(c[0].knob, 2);
}

static void test_candidates_retry_with_noise_when_three_or_fewer(void **state)
{
    /* Five options where D and E are beaten, each by less than 5%: three survive without
     * slack, so the script filters again with 0.95, and D comes back. */
    static const perseus_option in[5] = {
        {1, 10.0, 10, 30.0}, {2, 20.0, 20, 20.0}, {3, 30.0, 30, 10.0},
        {4, 25.0, 25, 20.5}, /* D: beaten by B (20 s, 20 J), by less than 5% in cost */
        {5, 40.0, 40, 10.1}, /* E: beaten by C (30 s, 10 J), by 1% in cost */
    };
    /* The same with a fourth option on the front (F): no retry, so D stays out. */
    static const perseus_option four[5] = {
        {1, 10.0, 10, 30.0}, {2, 20.0, 20, 20.0}, {3, 30.0, 30, 10.0},
        {4, 25.0, 25, 20.5}, {6, 50.0, 50, 5.0},
    };
    perseus_option c[5];

    (void)state;
    assert_int_equal(perseus_options_filter(in, 5, 1.0, c), 3);
    assert_int_equal(perseus_options_candidates(in, 5, 0.95, c), 5);
    assert_int_equal(perseus_options_filter(four, 5, 0.95, c), 5);
    assert_int_equal(perseus_options_candidates(four, 5, 0.95, c), 4);
    for (int i = 0; i < 4; i++)
        assert_int_not_equal(c[i].knob, 4);
}

static void test_options_from_profile_effective_energy(void **state)
{
    static const char csv[] = "stage,instruction,frequency,time,energy\n"
                              "0,forward,1980,0.019,12.0\n"
                              "0,backward,1980,0.040,20.0\n"
                              "0,forward,1110,0.0305,6.0\n";
    perseus_profile p;
    perseus_error err;
    perseus_option o[3];
    size_t n;

    (void)state;
    assert_int_equal(perseus_profile_parse(csv, strlen(csv), "t.csv", &p, &err), PERSEUS_OK);
    n = perseus_options_from_profile(&p, 0, PERSEUS_FORWARD, 0.001, 70.0, o);
    assert_int_equal(n, 2);
    assert_int_equal(o[0].knob, 1980);
    assert_int_equal(o[0].quant_time, 18); /* 0.019 // 0.001 */
    /* 12 - 70 * 18 * 0.001 */
    assert_near(o[0].cost, 12.0 - 70.0 * 18 * 0.001, 1e-12);
    assert_int_equal(o[1].quant_time, 30);
    assert_near(o[1].cost, 6.0 - 70.0 * 30 * 0.001, 1e-12);
    perseus_profile_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quantize_rounds_as_python_floordiv),
        cmocka_unit_test(test_filter_lowtime_mock_keeps_pareto_front),
        cmocka_unit_test(test_filter_lowtime_mock_min_max_duration),
        cmocka_unit_test(test_knob_for_lowtime_table),
        cmocka_unit_test(test_filter_same_quant_time_keeps_largest_cost),
        cmocka_unit_test(test_filter_noise_factor_keeps_near_front),
        cmocka_unit_test(test_candidates_retry_with_noise_when_three_or_fewer),
        cmocka_unit_test(test_options_from_profile_effective_energy),
    };
    return cmocka_run_group_tests_name("perseus_options", tests, NULL, NULL);
}
