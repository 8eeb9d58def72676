/*
 * test_fmt.c - Doubles formatted as Python's repr(float), as Zeus's CSV log writes them.
 *
 * The expected strings are what CPython 3.11 prints for repr() of the same values.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <locale.h>
#include <math.h>
#include <stdlib.h>

#include "util/fmt.h"

static void check(double x, const char *want)
{
    char buf[32];
    assert_string_equal(zeus__fmt_double(x, buf, sizeof buf), want);
}

static void test_fmt_integers_keep_point_zero(void **state)
{
    (void)state;
    check(1.0, "1.0");
    check(100.0, "100.0");
    check(-42.0, "-42.0");
    check(0.0, "0.0");
    check(-0.0, "-0.0");
    check(1e15, "1000000000000000.0");
}

static void test_fmt_fractions_are_shortest(void **state)
{
    (void)state;
    check(0.1, "0.1");
    check(2.5, "2.5");
    check(1.0 / 3.0, "0.3333333333333333");
    check(500.8, "500.8");
    check(0.0001, "0.0001");
    check(1764322235.123456, "1764322235.123456");
}

static void test_fmt_large_and_small_use_exponent(void **state)
{
    (void)state;
    check(1e16, "1e+16");
    check(1.5e-5, "1.5e-05");
    check(0.00001, "1e-05");
    check(123456789012345678.0, "1.2345678901234568e+17");
    check(1e-300, "1e-300");
}

static void test_fmt_specials(void **state)
{
    (void)state;
    check(NAN, "nan");
    check(INFINITY, "inf");
    check(-INFINITY, "-inf");
}

static void test_fmt_round_trips_random_values(void **state)
{
    char buf[32];
    (void)state;
    srand(7);
    for (int i = 0; i < 10000; i++) {
        double x = ((double)rand() / RAND_MAX - 0.5) * pow(10, rand() % 40 - 20);
        assert_true(strtod(zeus__fmt_double(x, buf, sizeof buf), NULL) == x);
    }
}

/*
 * A host program that calls setlocale() with a comma-decimal locale must still get Python's
 * "1.5", not "1,5" (a comma splits the CSV row). Skipped where no such locale is installed.
 */
static void test_fmt_ignores_the_numeric_locale(void **state)
{
    static const char *const names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8",
                                        "fr_FR.utf8"};
    const char *set = NULL;

    (void)state;
    for (size_t i = 0; set == NULL && i < sizeof names / sizeof names[0]; i++)
        set = setlocale(LC_NUMERIC, names[i]);
    if (set == NULL)
        skip();
    check(1.5, "1.5");
    check(-42.0, "-42.0");
    check(0.0001, "0.0001");
    check(1.5e-5, "1.5e-05");
    check(123456789012345678.0, "1.2345678901234568e+17");
    setlocale(LC_NUMERIC, "C");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fmt_integers_keep_point_zero),
        cmocka_unit_test(test_fmt_fractions_are_shortest),
        cmocka_unit_test(test_fmt_large_and_small_use_exponent),
        cmocka_unit_test(test_fmt_specials),
        cmocka_unit_test(test_fmt_round_trips_random_values),
        cmocka_unit_test(test_fmt_ignores_the_numeric_locale),
    };
    return cmocka_run_group_tests_name("fmt", tests, NULL, NULL);
}
