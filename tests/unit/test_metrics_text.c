/*
 * test_metrics_text.c - The Prometheus text format writer (src/metrics/prom_text.c) and the
 * push metrics' families (src/metrics/family.c): escaping of HELP text and label values,
 * number formatting, counter and histogram exposition as prometheus_client writes them, name
 * checks, and the Pushgateway group URL.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/family.h"
#include "metrics/prom_text.h"
#include "metrics/push.h"

/* ---- Escaping ------------------------------------------------------------------------------ */

static void test_prom_sample_label_value_escaped(void **state)
{
    zeus__prom_buf b = {0};
    zeus__prom_label l[2] = {{"window", "a\"b\\c\nd"}, {"index", "0"}};

    (void)state;
    zeus__prom_sample(&b, "m", l, 2, NULL, NULL, 1.5);
    assert_string_equal(b.data, "m{window=\"a\\\"b\\\\c\\nd\",index=\"0\"} 1.5\n");
    zeus__prom_buf_fini(&b);
}

static void test_prom_family_help_escaped_quote_kept(void **state)
{
    zeus__prom_buf b = {0};

    (void)state;
    zeus__prom_family(&b, "m", "say \"hi\"\\\nbye", "gauge");
    assert_string_equal(b.data, "# HELP m say \"hi\"\\\\\\nbye\n# TYPE m gauge\n");
    zeus__prom_buf_fini(&b);
}

static void test_prom_sample_utf8_and_empty_value_as_is(void **state)
{
    zeus__prom_buf b = {0};
    zeus__prom_label l[1] = {{"window", "époque ✓"}};

    (void)state;
    zeus__prom_sample(&b, "m", l, 1, "le", "+Inf", 0);
    zeus__prom_sample(&b, "n", NULL, 0, NULL, NULL, 2);
    assert_string_equal(b.data, "m{window=\"époque ✓\",le=\"+Inf\"} 0.0\nn 2.0\n");
    zeus__prom_buf_fini(&b);
}

/* ---- Numbers ------------------------------------------------------------------------------ */

static void test_prom_format_value_specials_and_shortest(void **state)
{
    char buf[40];

    (void)state;
    assert_string_equal(zeus__prom_format_value(NAN, buf, sizeof buf), "NaN");
    assert_string_equal(zeus__prom_format_value(INFINITY, buf, sizeof buf), "+Inf");
    assert_string_equal(zeus__prom_format_value(-INFINITY, buf, sizeof buf), "-Inf");
    assert_string_equal(zeus__prom_format_value(50, buf, sizeof buf), "50.0");
    assert_string_equal(zeus__prom_format_value(0.1, buf, sizeof buf), "0.1");
    assert_string_equal(zeus__prom_format_value(1e16, buf, sizeof buf), "1e+16");
    assert_true(strtod(zeus__prom_format_value(1.0 / 3, buf, sizeof buf), NULL) == 1.0 / 3);
}

/* ---- Families ----------------------------------------------------------------------------- */

static void test_family_histogram_cumulative_buckets_inf_sum_count(void **state)
{
    static const double buckets[] = {50.0, 100.0};
    struct zeus__family f;
    struct zeus__series *s;
    zeus__prom_buf b = {0};

    (void)state;
    assert_int_equal(zeus__family_init(&f, ZEUS__HISTOGRAM, "h", "help", buckets, 2), 0);
    s = zeus__family_series(&f, "epoch", 0);
    assert_non_null(s);
    zeus__series_observe(&f, s, 10);  /* <= 50 */
    zeus__series_observe(&f, s, 100); /* <= 100: bounds are inclusive */
    zeus__series_observe(&f, s, 500); /* +Inf */
    assert_ptr_equal(zeus__family_series(&f, "epoch", 0), s);
    zeus__family_render(&f, &b);
    assert_string_equal(b.data,
                        "# HELP h help\n# TYPE h histogram\n"
                        "h_bucket{window=\"epoch\",index=\"0\",le=\"50.0\"} 1.0\n"
                        "h_bucket{window=\"epoch\",index=\"0\",le=\"100.0\"} 2.0\n"
                        "h_bucket{window=\"epoch\",index=\"0\",le=\"+Inf\"} 3.0\n"
                        "h_count{window=\"epoch\",index=\"0\"} 3.0\n"
                        "h_sum{window=\"epoch\",index=\"0\"} 610.0\n");
    zeus__prom_buf_fini(&b);
    zeus__family_fini(&f);
}

static void test_family_counter_named_total(void **state)
{
    struct zeus__family f;
    zeus__prom_buf b = {0};

    (void)state;
    assert_int_equal(zeus__family_init(&f, ZEUS__COUNTER, "energy_monitor_gpu_energy_joules",
                                       "GPU energy consumption", NULL, 0), 0);
    zeus__family_render(&f, &b);
    assert_null(b.data); /* no series, no lines */
    zeus__family_series(&f, "w", 1)->value += 2.5;
    zeus__family_render(&f, &b);
    assert_string_equal(b.data,
                        "# HELP energy_monitor_gpu_energy_joules_total GPU energy consumption\n"
                        "# TYPE energy_monitor_gpu_energy_joules_total counter\n"
                        "energy_monitor_gpu_energy_joules_total{window=\"w\",index=\"1\"} 2.5\n");
    zeus__prom_buf_fini(&b);
    zeus__family_fini(&f);
}

/* ---- Names and URLs ----------------------------------------------------------------------- */

static void test_prom_names_valid_and_invalid(void **state)
{
    (void)state;
    assert_true(zeus__prom_valid_metric_name("zeus_gpu_energy_joules_total"));
    assert_true(zeus__prom_valid_metric_name("a:b"));
    assert_false(zeus__prom_valid_metric_name("0abc"));
    assert_false(zeus__prom_valid_metric_name("a-b"));
    assert_false(zeus__prom_valid_metric_name(""));
    assert_true(zeus__prom_valid_label_name("window"));
    assert_false(zeus__prom_valid_label_name("__name__"));
    assert_false(zeus__prom_valid_label_name("a:b"));
}

static void test_push_group_url_escaped_or_base64(void **state)
{
    char *u;

    (void)state;
    u = zeus__push_group_url("localhost:9091/", "my job");
    assert_string_equal(u, "http://localhost:9091/metrics/job/my%20job");
    free(u);
    u = zeus__push_group_url("https://gw", "a/b");
    assert_string_equal(u, "https://gw/metrics/job@base64/YS9i");
    free(u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prom_sample_label_value_escaped),
        cmocka_unit_test(test_prom_family_help_escaped_quote_kept),
        cmocka_unit_test(test_prom_sample_utf8_and_empty_value_as_is),
        cmocka_unit_test(test_prom_format_value_specials_and_shortest),
        cmocka_unit_test(test_family_histogram_cumulative_buckets_inf_sum_count),
        cmocka_unit_test(test_family_counter_named_total),
        cmocka_unit_test(test_prom_names_valid_and_invalid),
        cmocka_unit_test(test_push_group_url_escaped_or_base64),
    };
    return cmocka_run_group_tests_name("metrics_text", tests, NULL, NULL);
}
