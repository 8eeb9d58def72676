/*
 * test_rate.c - The rate providers that need no network (zeus/rate.h): spec parsing, "fixed",
 * "csv" (timestamps, sorting, errors naming the line, hours spanning rows), and providers made
 * from callbacks; the ISO 8601 reader they share with ElectricityMaps.
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

#include "rate/iso8601.h"
#include "rate/us_local_time.h"
#include "test_support.h"
#include "zeus/status.h"
#include "zeus/rate.h"

/* 2024-11-30T06:00:00Z */
#define T0 1732946400.0

struct dir {
    char *path;
};

static int setup(void **state)
{
    struct dir *d = calloc(1, sizeof *d);
    d->path = zt_mkdtemp();
    *state = d;
    return 0;
}

static int teardown(void **state)
{
    struct dir *d = *state;
    zt_rmtree(d->path);
    free(d->path);
    free(d);
    return 0;
}

/* Write `text` to DIR/name and open "csv:DIR/name". */
static zeus_status open_csv(struct dir *d, const char *name, const char *text, zeus_rate_kind kind,
                            zeus_rate_provider **out)
{
    char path[512], spec[600];

    snprintf(path, sizeof path, "%s/%s", d->path, name);
    zt_write_file(path, text);
    snprintf(spec, sizeof spec, "csv:%s", path);
    return zeus_rate_provider_open(spec, kind, out);
}

static double rate(zeus_rate_provider *p, double t, uint32_t *flags)
{
    double v = NAN;
    assert_int_equal(zeus_rate_provider_rate_at(p, t, &v, flags), ZEUS_OK);
    return v;
}

/* ---- ISO 8601 ----------------------------------------------------------------------------- */

static void test_iso8601_forms(void **state)
{
    double t;
    const char *why;
    (void)state;
    assert_int_equal(zeus__iso8601_parse("2024-11-30T06:00:00.000Z", &t, &why), 0);
    assert_near(t, T0, 1e-6);
    assert_int_equal(zeus__iso8601_parse("2024-11-30T08:00:00+02:00", &t, &why), 0);
    assert_near(t, T0, 1e-6);
    assert_int_equal(zeus__iso8601_parse("2024-11-30 01:30-0430", &t, &why), 0);
    assert_near(t, T0, 1e-6);
    assert_int_equal(zeus__iso8601_parse("2024-11-30T06:00:00.25Z", &t, &why), 0);
    assert_near(t, T0 + 0.25, 1e-6);
    assert_int_equal(zeus__iso8601_parse(" 1732946400 ", &t, &why), 0);
    assert_near(t, T0, 1e-6);
    assert_int_equal(zeus__iso8601_parse("2024-02-29T00:00:00Z", &t, &why), 0);
}

static void test_iso8601_refusals(void **state)
{
    double t;
    const char *why = NULL;
    (void)state;
    assert_int_equal(zeus__iso8601_parse("2024-11-30T06:00:00", &t, &why), -1);
    assert_non_null(strstr(why, "no time zone"));
    assert_int_equal(zeus__iso8601_parse("2024-11-30", &t, &why), -1);
    assert_int_equal(zeus__iso8601_parse("2023-02-29T00:00:00Z", &t, &why), -1);
    assert_int_equal(zeus__iso8601_parse("2024-11-30T24:00:00Z", &t, &why), -1);
    assert_int_equal(zeus__iso8601_parse("2024-11-30T06:00:00Zjunk", &t, &why), -1);
    assert_int_equal(zeus__iso8601_parse("nan", &t, &why), -1);
    assert_int_equal(zeus__iso8601_parse("", &t, &why), -1);
    assert_int_equal(zeus__iso8601_parse_datetime("1732946400", &t, &why), -1);
}

/* ---- US local time ---------------------------------------------------------------------- */

static void check_local(double t, double lat, double lon, int month, int hour, int weekday,
                        const char *zone)
{
    int m = -1, h = -1, w = -1;
    const char *z = NULL;
    assert_int_equal(zeus__us_local_time(t, lat, lon, &m, &h, &w, &z), 0);
    assert_int_equal(m, month);
    assert_int_equal(h, hour);
    assert_int_equal(w, weekday);
    assert_string_equal(z, zone);
}

static void test_us_local_time(void **state)
{
    int m, h, w;
    const char *z;
    (void)state;
    /* 2024-03-10: 06:59Z is 01:59 EST, 07:00Z is 03:00 EDT (a Sunday). */
    check_local(1710053940, 42.28, -83.74, 3, 1, 6, "US/Eastern");
    check_local(1710054000, 42.28, -83.74, 3, 3, 6, "US/Eastern");
    /* 2024-11-03: 05:00Z is 01:00 EDT, 06:00Z is 01:00 EST again. */
    check_local(1730610000, 42.28, -83.74, 11, 1, 6, "US/Eastern");
    check_local(1730613600, 42.28, -83.74, 11, 1, 6, "US/Eastern");
    check_local(1730617200, 42.28, -83.74, 11, 2, 6, "US/Eastern");
    /* 2024-07-01T09:00Z (Monday): Chicago 04:00 CDT, Denver 03:00 MDT, Phoenix 02:00 MST,
     * Los Angeles 02:00 PDT, Honolulu 23:00 HST on Sunday, Anchorage 01:00 AKDT. */
    check_local(1719824400, 41.88, -87.63, 7, 4, 0, "US/Central");
    check_local(1719824400, 39.74, -104.99, 7, 3, 0, "US/Mountain");
    check_local(1719824400, 33.45, -112.07, 7, 2, 0, "US/Arizona");
    check_local(1719824400, 34.05, -118.24, 7, 2, 0, "US/Pacific");
    check_local(1719824400, 36.17, -115.14, 7, 2, 0, "US/Pacific");
    check_local(1719824400, 43.62, -116.2, 7, 3, 0, "US/Mountain");
    check_local(1719824400, 21.31, -157.86, 6, 23, 6, "US/Hawaii");
    check_local(1719824400, 61.22, -149.9, 7, 1, 0, "US/Alaska");
    assert_int_equal(zeus__us_local_time(1719824400, 48.86, 2.35, &m, &h, &w, &z), -1);
    zeus__utc_time(1719824400, &m, &h, &w);
    assert_int_equal(m, 7);
    assert_int_equal(h, 9);
    assert_int_equal(w, 0);
    zeus__utc_time(0, &m, &h, &w);
    assert_int_equal(w, 3); /* 1970-01-01 was a Thursday */
}

/* ---- Specs and fixed ---------------------------------------------------------------------- */

static void test_fixed_rate_every_hour(void **state)
{
    zeus_rate_provider *p;
    uint32_t flags = 0;
    double v = 0;
    (void)state;
    assert_int_equal(zeus_rate_provider_open("fixed:412.5", ZEUS_RATE_CARBON, &p), ZEUS_OK);
    assert_near(rate(p, T0, &flags), 412.5, 1e-12);
    assert_int_equal(flags, ZEUS_RATE_EXACT);
    assert_near(rate(p, 0, NULL), 412.5, 1e-12);
    assert_int_equal(zeus_rate_provider_current(p, &v), ZEUS_OK);
    assert_near(v, 412.5, 1e-12);
    assert_string_equal(zeus_rate_provider_unit(p), "gCO2eq/kWh");
    assert_string_equal(zeus_rate_provider_currency(p), "");
    assert_int_equal(zeus_rate_provider_kind(p), ZEUS_RATE_CARBON);
    assert_near(zeus_rate_provider_update_period_s(p), 3600, 0);
    assert_int_equal(zeus_rate_provider_history_length(p), 0);
    zeus_rate_provider_close(p);

    assert_int_equal(zeus_rate_provider_open("fixed:-0.02", ZEUS_RATE_PRICE, &p), ZEUS_OK);
    assert_near(rate(p, T0, NULL), -0.02, 1e-12); /* negative prices exist */
    assert_string_equal(zeus_rate_provider_unit(p), "USD/kWh");
    assert_string_equal(zeus_rate_provider_currency(p), "USD");
    zeus_rate_provider_close(p);
}

static void test_fixed_history_is_current_hour(void **state)
{
    zeus_rate_provider *p;
    zeus_rate_point pts[4];
    size_t n = 99;
    double now = (double)time(NULL);
    (void)state;
    assert_int_equal(zeus_rate_provider_open("fixed:0.1", ZEUS_RATE_PRICE, &p), ZEUS_OK);
    assert_int_equal(zeus_rate_provider_history(p, pts, 4, &n), ZEUS_OK);
    assert_int_equal(n, 1);
    assert_near(pts[0].value, 0.1, 1e-12);
    assert_true(pts[0].unix_s <= now && pts[0].unix_s > now - 3600 - 5);
    assert_near(fmod(pts[0].unix_s, 3600), 0, 0);
    assert_int_equal(zeus_rate_provider_history(p, pts, 0, &n), ZEUS_OK);
    assert_int_equal(n, 0);
    zeus_rate_provider_close(p);
}

static void test_bad_specs(void **state)
{
    static const char *bad[] = {"fixed:", "fixed:abc", "fixed:1x", "fixed:nan", "fixed:inf",
                                "nosuch:1", "fixed", "", "FIXED:1", "csv:"};
    zeus_rate_provider *p = (zeus_rate_provider *)0x1;
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(zeus_rate_provider_open(bad[i], ZEUS_RATE_CARBON, &p),
                         ZEUS_ERR_INVALID_ARGUMENT);
        assert_ptr_equal(p, (zeus_rate_provider *)0x1); /* untouched */
        assert_true(strlen(zeus_last_error()) > 0);
    }
    assert_int_equal(zeus_rate_provider_open("fixed:-5", ZEUS_RATE_CARBON, &p),
                     ZEUS_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(zeus_last_error(), "negative"));
    assert_int_equal(zeus_rate_provider_open("fixed:1", (zeus_rate_kind)7, &p),
                     ZEUS_ERR_INVALID_ARGUMENT);
    assert_int_equal(zeus_rate_provider_open(NULL, ZEUS_RATE_CARBON, &p),
                     ZEUS_ERR_INVALID_ARGUMENT);
    assert_int_equal(zeus_rate_provider_open("fixed:1", ZEUS_RATE_CARBON, NULL),
                     ZEUS_ERR_INVALID_ARGUMENT);
    zeus_rate_provider_close(NULL);
}

static void test_null_and_nonfinite_arguments(void **state)
{
    zeus_rate_provider *p;
    double v = 7;
    size_t n;
    (void)state;
    assert_int_equal(zeus_rate_provider_open("fixed:1", ZEUS_RATE_CARBON, &p), ZEUS_OK);
    assert_int_equal(zeus_rate_provider_rate_at(p, NAN, &v, NULL), ZEUS_ERR_INVALID_ARGUMENT);
    assert_near(v, 7, 0);
    assert_int_equal(zeus_rate_provider_rate_at(p, T0, NULL, NULL), ZEUS_ERR_INVALID_ARGUMENT);
    assert_int_equal(zeus_rate_provider_rate_at(NULL, T0, &v, NULL), ZEUS_ERR_INVALID_ARGUMENT);
    assert_int_equal(zeus_rate_provider_current(p, NULL), ZEUS_ERR_INVALID_ARGUMENT);
    assert_int_equal(zeus_rate_provider_history(p, NULL, 3, &n), ZEUS_ERR_INVALID_ARGUMENT);
    zeus_rate_provider_close(p);
}

/* ---- CSV ---------------------------------------------------------------------------------- */

static void test_csv_iso_and_unix_rows(void **state)
{
    zeus_rate_provider *p;
    uint32_t flags = 0;
    assert_int_equal(open_csv(*state, "c.csv",
                              "timestamp,value\n"
                              "# recorded 2024-11-30\n"
                              "2024-11-30T06:00:00.000Z,100\n"
                              "\n"
                              "2024-11-30T09:00:00+02:00, 200 \r\n" /* 07:00Z */
                              "1732953600,300\n",                   /* 08:00Z */
                              ZEUS_RATE_CARBON, &p),
                     ZEUS_OK);
    assert_near(rate(p, T0, &flags), 100, 1e-9);
    assert_int_equal(flags, ZEUS_RATE_EXACT);
    assert_near(rate(p, T0 + 3600, &flags), 200, 1e-9);
    assert_near(rate(p, T0 + 1800, NULL), 100, 1e-9); /* floored to 06:00 */
    assert_near(rate(p, T0 + 7200, NULL), 300, 1e-9);
    assert_near(rate(p, T0 + 86400 * 30, &flags), 300, 1e-9); /* the last row holds on */
    assert_int_equal(flags, ZEUS_RATE_EXACT);
    zeus_rate_provider_close(p);
}

static void test_csv_hour_spanning_rows_is_time_weighted(void **state)
{
    zeus_rate_provider *p;
    uint32_t flags = 0;
    /* Quarter-hour prices: 0.10 for 15 min, 0.20 for 45 min. */
    assert_int_equal(open_csv(*state, "q.csv",
                              "1732946400,0.10\n"
                              "1732947300,0.20\n"
                              "1732950000,1.00\n",
                              ZEUS_RATE_PRICE, &p),
                     ZEUS_OK);
    assert_near(rate(p, T0, &flags), 0.10 * 0.25 + 0.20 * 0.75, 1e-12);
    assert_int_equal(flags, ZEUS_RATE_EXACT);
    assert_near(rate(p, T0 + 3600, NULL), 1.0, 1e-12);
    zeus_rate_provider_close(p);
}

static void test_csv_before_first_row(void **state)
{
    zeus_rate_provider *p;
    uint32_t flags = 0;
    double v = -1;
    assert_int_equal(open_csv(*state, "b.csv", "1732948200,50\n", ZEUS_RATE_CARBON, &p),
                     ZEUS_OK); /* 06:30Z */
    /* 05:00: nothing known. */
    assert_int_equal(zeus_rate_provider_rate_at(p, T0 - 3600, &v, &flags),
                     ZEUS_ERR_PROVIDER_NOT_FOUND);
    assert_near(v, -1, 0);
    assert_non_null(strstr(zeus_last_error(), "first row"));
    /* 06:00: half the hour is covered: its mean, flagged estimated. */
    assert_near(rate(p, T0, &flags), 50, 1e-9);
    assert_int_equal(flags, ZEUS_RATE_ESTIMATED);
    zeus_rate_provider_close(p);
}

static void expect_csv_error(struct dir *d, const char *text, zeus_status want, const char *where,
                             const char *what)
{
    zeus_rate_provider *p = NULL;
    assert_int_equal(open_csv(d, "e.csv", text, ZEUS_RATE_CARBON, &p), want);
    assert_null(p);
    if (strstr(zeus_last_error(), where) == NULL || strstr(zeus_last_error(), what) == NULL)
        fail_msg("error \"%s\" lacks \"%s\" or \"%s\"", zeus_last_error(), where, what);
}

static void test_csv_errors_name_the_line(void **state)
{
    struct dir *d = *state;
    expect_csv_error(d, "1732946400,1\n1732946400,2\n", ZEUS_ERR_INVALID_ARGUMENT, "e.csv:2:",
                     "sorted");
    expect_csv_error(d, "1732950000,1\n1732946400,2\n", ZEUS_ERR_INVALID_ARGUMENT, "e.csv:2:",
                     "sorted");
    expect_csv_error(d, "# c\n1732946400,1\n2024-11-30T07:00:00,2\n", ZEUS_ERR_INVALID_ARGUMENT,
                     "e.csv:3:", "no time zone");
    expect_csv_error(d, "1732946400,abc\n", ZEUS_ERR_INVALID_ARGUMENT, "e.csv:1:", "abc");
    expect_csv_error(d, "1732946400,-3\n", ZEUS_ERR_INVALID_ARGUMENT, "e.csv:1", "negative");
    expect_csv_error(d, "1732946400;1\n", ZEUS_ERR_INVALID_ARGUMENT, "e.csv:1:",
                     "timestamp,value");
    expect_csv_error(d, "1732946400,1,2\n", ZEUS_ERR_INVALID_ARGUMENT, "e.csv:1:", "fields");
    expect_csv_error(d, "timestamp,value\nwhen,what\n", ZEUS_ERR_INVALID_ARGUMENT, "e.csv:2:",
                     "when");
    expect_csv_error(d, "# nothing\n\n", ZEUS_ERR_INVALID_ARGUMENT, "e.csv", "no");
}

static void test_csv_missing_file(void **state)
{
    struct dir *d = *state;
    zeus_rate_provider *p = NULL;
    char spec[600];
    snprintf(spec, sizeof spec, "csv:%s/absent.csv", d->path);
    assert_int_equal(zeus_rate_provider_open(spec, ZEUS_RATE_PRICE, &p), ZEUS_ERR_IO);
    assert_null(p);
    assert_non_null(strstr(zeus_last_error(), "absent.csv"));
}

static void test_csv_history_oldest_first(void **state)
{
    zeus_rate_provider *p;
    zeus_rate_point pts[2];
    size_t n = 0;
    char text[256];
    double now = (double)time(NULL);
    /* Three past rows and one in the future, which history leaves out. */
    snprintf(text, sizeof text, "%.0f,1\n%.0f,2\n%.0f,3\n%.0f,4\n", now - 3 * 3600,
             now - 2 * 3600, now - 3600, now + 86400);
    assert_int_equal(open_csv(*state, "h.csv", text, ZEUS_RATE_CARBON, &p), ZEUS_OK);
    assert_int_equal(zeus_rate_provider_history(p, pts, 2, &n), ZEUS_OK);
    assert_int_equal(n, 2);
    assert_near(pts[0].value, 2, 0);
    assert_near(pts[1].value, 3, 0);
    assert_near(pts[1].unix_s, now - 3600, 0);
    zeus_rate_provider_close(p);
}

/* ---- Callbacks ---------------------------------------------------------------------------- */

struct cb_user {
    int calls, destroyed;
    double last_hour;
    double answer;
};

static zeus_status cb_rate(void *user, double hour, double *value, uint32_t *flags)
{
    struct cb_user *u = user;
    u->calls++;
    u->last_hour = hour;
    if (hour < 0)
        return ZEUS_ERR_PROVIDER_HTTP;
    *value = u->answer;
    *flags = ZEUS_RATE_ESTIMATED;
    return ZEUS_OK;
}

static void cb_destroy(void *user)
{
    ((struct cb_user *)user)->destroyed++;
}

static void test_callbacks(void **state)
{
    struct cb_user u = {.answer = 0.3};
    zeus_rate_callbacks cb = {.size = sizeof cb, .rate_at = cb_rate, .destroy = cb_destroy,
                              .history_length = 5};
    char eur[] = "EUR";
    zeus_rate_provider *p;
    uint32_t flags = 0;
    double v = 0;
    (void)state;
    cb.currency = eur;
    assert_int_equal(zeus_rate_provider_from_callbacks(&cb, &u, ZEUS_RATE_PRICE, &p), ZEUS_OK);
    eur[0] = 'X'; /* copied */
    assert_string_equal(zeus_rate_provider_currency(p), "EUR");
    assert_string_equal(zeus_rate_provider_unit(p), "EUR/kWh");
    assert_int_equal(zeus_rate_provider_history_length(p), 5);
    assert_near(zeus_rate_provider_update_period_s(p), 3600, 0);
    assert_near(rate(p, T0 + 59, &flags), 0.3, 0);
    assert_near(u.last_hour, T0, 0); /* floored before the callback sees it */
    assert_int_equal(flags, ZEUS_RATE_ESTIMATED);
    assert_int_equal(zeus_rate_provider_rate_at(p, -7200, &v, &flags), ZEUS_ERR_PROVIDER_HTTP);
    /* No current callback: the current hour's rate. */
    assert_int_equal(zeus_rate_provider_current(p, &v), ZEUS_OK);
    assert_near(v, 0.3, 0);
    assert_near(fmod(u.last_hour, 3600), 0, 0);
    /* A NaN from a callback is refused, not passed on. */
    u.answer = NAN;
    assert_int_equal(zeus_rate_provider_rate_at(p, T0, &v, &flags), ZEUS_ERR_CALLBACK_FAILED);
    zeus_rate_provider_close(p);
    assert_int_equal(u.destroyed, 1);
}

static void test_callbacks_period_and_refusals(void **state)
{
    struct cb_user u = {.answer = 10};
    zeus_rate_callbacks cb = {.size = sizeof cb, .rate_at = cb_rate, .update_period_s = 900};
    zeus_rate_provider *p = NULL;
    (void)state;
    assert_int_equal(zeus_rate_provider_from_callbacks(&cb, &u, ZEUS_RATE_CARBON, &p), ZEUS_OK);
    assert_near(rate(p, T0 + 1000, NULL), 10, 0);
    assert_near(u.last_hour, T0 + 900, 0);
    assert_string_equal(zeus_rate_provider_currency(p), "");
    zeus_rate_provider_close(p); /* destroy NULL: fine */
    p = NULL;
    cb.size = 4;
    assert_int_equal(zeus_rate_provider_from_callbacks(&cb, &u, ZEUS_RATE_CARBON, &p),
                     ZEUS_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(zeus_last_error(), "size"));
    cb.size = sizeof cb;
    cb.rate_at = NULL;
    assert_int_equal(zeus_rate_provider_from_callbacks(&cb, &u, ZEUS_RATE_CARBON, &p),
                     ZEUS_ERR_INVALID_ARGUMENT);
    cb.rate_at = cb_rate;
    cb.update_period_s = -1;
    assert_int_equal(zeus_rate_provider_from_callbacks(&cb, &u, ZEUS_RATE_CARBON, &p),
                     ZEUS_ERR_INVALID_ARGUMENT);
    assert_null(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iso8601_forms),
        cmocka_unit_test(test_iso8601_refusals),
        cmocka_unit_test(test_us_local_time),
        cmocka_unit_test(test_fixed_rate_every_hour),
        cmocka_unit_test(test_fixed_history_is_current_hour),
        cmocka_unit_test(test_bad_specs),
        cmocka_unit_test(test_null_and_nonfinite_arguments),
        cmocka_unit_test_setup_teardown(test_csv_iso_and_unix_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csv_hour_spanning_rows_is_time_weighted, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_csv_before_first_row, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csv_errors_name_the_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csv_missing_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csv_history_oldest_first, setup, teardown),
        cmocka_unit_test(test_callbacks),
        cmocka_unit_test(test_callbacks_period_and_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
