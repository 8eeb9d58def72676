/*
 * test_rate_electricitymaps.c - The ElectricityMaps provider against a loopback server
 * (tests/support/rate_server.c) serving Zeus's recorded answers and hand-made failures: the
 * exact URLs, query and auth-token header, history parsing, the nearest-hour rule, caching
 * for the update period, stale answers while the service is down, retries on 429/5xx only,
 * timeouts, malformed JSON, and answers without carbonIntensity.
 *
 * A fake clock (zeus__rate_set_clock) stands in for hours passing, and the HTTP limits are
 * cut (zeus__rate_http_set_limits) so a retry or timeout case takes under a second.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rate/rate_http.h"
#include "rate/rate_internal.h"
#include "rate_server.h"
#include "test_support.h"
#include "zeus/rate.h"
#include "zeus/status.h"

#define T0 1732946400.0 /* 2024-11-30T06:00:00Z, carbon_history_file1's first hour */
#define HIST "/v3/carbon-intensity/history"
#define LATEST "/v3/carbon-intensity/latest"
#define QUERY "?lat=42.2776&lon=-83.7409&disableEstimations=False&emissionFactorType=direct"

static double fake_now;

static double fake_clock(void)
{
    return fake_now;
}

static char *answer_file(const char *name)
{
    static char path[512];
    const char *dir = getenv("ZEUS_TEST_DATA");
    snprintf(path, sizeof path, "%s/zeus-provider-answers/carbon_history_files/%s",
             dir != NULL ? dir : "tests/data", name);
    return path;
}

static int setup(void **state)
{
    zt_rate_server *s = zt_rate_server_start();
    zeus__rate_http_limits l = {1.0, 1.0, 3, 0.01, 1u << 20};

    setenv("ZEUS_ELECTRICITYMAPS_URL", zt_rate_server_url(s), 1);
    unsetenv("ELECTRICITYMAPS_API_KEY");
    zeus__rate_http_set_limits(&l);
    fake_now = T0 + 23 * 3600 + 600; /* 2024-12-01T05:10Z: file1 is "the last 24 hours" */
    zeus__rate_set_clock(fake_clock);
    zt_rate_server_set_file(s, HIST, answer_file("carbon_history_file1"));
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    zt_rate_server_stop(*state);
    zeus__rate_set_clock(NULL);
    zeus__rate_http_set_limits(NULL);
    unsetenv("ZEUS_ELECTRICITYMAPS_URL");
    return 0;
}

static zeus_rate_provider *open_em(void)
{
    zeus_rate_provider *p = NULL;
    assert_int_equal(zeus_rate_provider_open("electricitymaps:42.2776,-83.7409", ZEUS_RATE_CARBON,
                                             &p),
                     ZEUS_OK);
    return p;
}

static double rate(zeus_rate_provider *p, double t, uint32_t *flags)
{
    double v = NAN;
    zeus_status s = zeus_rate_provider_rate_at(p, t, &v, flags);
    if (s != ZEUS_OK)
        fail_msg("rate_at(%.0f): %s", t, zeus_last_error());
    return v;
}

/* ---- What is sent ------------------------------------------------------------------------- */

static void test_history_url_and_values(void **state)
{
    zt_rate_server *s = *state;
    zeus_rate_provider *p = open_em();
    char uri[512], hdr[128];
    uint32_t flags = 0;

    assert_int_equal(zt_rate_server_count(s), 0); /* open sends nothing */
    assert_near(rate(p, T0, &flags), 501, 0);
    assert_int_equal(flags, ZEUS_RATE_EXACT);
    assert_near(rate(p, T0 + 3600 + 1234, &flags), 419, 0);
    assert_near(rate(p, T0 + 23 * 3600, &flags), 494, 0);
    assert_int_equal(zt_rate_server_count(s), 1); /* cached */
    assert_string_equal(zt_rate_server_uri(s, 0, uri, sizeof uri), HIST QUERY);
    assert_null(zt_rate_server_header(s, 0, "auth-token", hdr, sizeof hdr));
    assert_int_equal(zeus_rate_provider_history_length(p), 24);
    assert_near(zeus_rate_provider_update_period_s(p), 3600, 0);
    assert_string_equal(zeus_rate_provider_unit(p), "gCO2eq/kWh");
    zeus_rate_provider_close(p);
}

static void test_latest_and_auth_token(void **state)
{
    zt_rate_server *s = *state;
    zeus_rate_provider *p;
    char uri[512], hdr[128];
    double v = 0;

    setenv("ELECTRICITYMAPS_API_KEY", "k3y-123", 1);
    p = open_em();
    unsetenv("ELECTRICITYMAPS_API_KEY");
    zt_rate_server_set(s, LATEST, 200,
                       "{\"zone\":\"US-MIDW-MISO\",\"carbonIntensity\":506,"
                       "\"datetime\":\"2024-09-27T00:00:00.000Z\",\"emissionFactorType\":\"direct\"}");
    assert_int_equal(zeus_rate_provider_current(p, &v), ZEUS_OK);
    assert_near(v, 506, 0);
    assert_string_equal(zt_rate_server_uri(s, 0, uri, sizeof uri), LATEST QUERY);
    assert_non_null(zt_rate_server_header(s, 0, "auth-token", hdr, sizeof hdr));
    assert_string_equal(hdr, "k3y-123");
    zeus_rate_provider_close(p);
}

static void test_latest_without_carbon_intensity(void **state)
{
    zt_rate_server *s = *state;
    zeus_rate_provider *p = open_em();
    double v = -1;

    /* Zeus's NO_MEASUREMENT_RESPONSE. */
    zt_rate_server_set(s, LATEST, 200, "{\"error\":\"No recent data for zone \\\"US-MIDW-MISO\\\"\"}");
    assert_int_equal(zeus_rate_provider_current(p, &v), ZEUS_ERR_PROVIDER_NOT_FOUND);
    assert_near(v, -1, 0);
    assert_non_null(strstr(zeus_last_error(), "No recent data"));
    zeus_rate_provider_close(p);
}

/* ---- Hours -------------------------------------------------------------------------------- */

static void test_missing_hour_uses_nearest(void **state)
{
    zt_rate_server *s = *state;
    zeus_rate_provider *p = open_em();
    uint32_t flags = 0;
    double v;

    /* 06:00 at 100, 07:00 absent (null), 09:00 at 300. */
    zt_rate_server_set(s, HIST, 200,
                       "{\"history\":[{\"datetime\":\"2024-11-30T06:00:00.000Z\",\"carbonIntensity\":100},"
                       "{\"datetime\":\"2024-11-30T07:00:00.000Z\",\"carbonIntensity\":null},"
                       "{\"datetime\":\"2024-11-30T09:00:00.000Z\",\"carbonIntensity\":300}]}");
    fake_now = T0 + 3 * 3600 + 60;
    assert_near(rate(p, T0 + 3600, &flags), 100, 0); /* 07:00: 06:00 and 09:00 -> 06:00 */
    assert_int_equal(flags, ZEUS_RATE_ESTIMATED);
    assert_near(rate(p, T0 + 2 * 3600, &flags), 300, 0); /* 08:00: 09:00 is nearer */
    assert_int_equal(flags, ZEUS_RATE_ESTIMATED);
    assert_near(rate(p, T0 + 3 * 3600, &flags), 300, 0);
    assert_int_equal(flags, ZEUS_RATE_EXACT);
    /* Two days before anything known: not a value. */
    v = -1;
    assert_int_equal(zeus_rate_provider_rate_at(p, T0 - 2 * 86400, &v, &flags),
                     ZEUS_ERR_PROVIDER_NOT_FOUND);
    assert_near(v, -1, 0);
    zeus_rate_provider_close(p);
}

static void test_cache_expires_after_update_period(void **state)
{
    zt_rate_server *s = *state;
    zeus_rate_provider *p = open_em();
    uint32_t flags = 0;

    assert_near(rate(p, T0 + 23 * 3600, &flags), 494, 0);
    assert_int_equal(zt_rate_server_count(s), 1);
    /* A day later the service has file2; within the hour the cache still answers. */
    zt_rate_server_set_file(s, HIST, answer_file("carbon_history_file2"));
    fake_now += 1800;
    assert_near(rate(p, T0 + 23 * 3600, &flags), 494, 0);
    assert_int_equal(zt_rate_server_count(s), 1);
    fake_now += 86400;
    assert_near(rate(p, T0 + 24 * 3600, &flags), 419, 0); /* file2's first hour */
    assert_int_equal(flags, ZEUS_RATE_EXACT);
    assert_near(rate(p, T0 + 47 * 3600, &flags), 501, 0);
    assert_int_equal(zt_rate_server_count(s), 2);
    zeus_rate_provider_close(p);
}

static void test_history_points(void **state)
{
    zeus_rate_provider *p = open_em();
    zeus_rate_point pts[30];
    size_t n = 0;

    (void)state;
    assert_int_equal(zeus_rate_provider_history(p, pts, 30, &n), ZEUS_OK);
    assert_int_equal(n, 24);
    assert_near(pts[0].unix_s, T0, 0);
    assert_near(pts[0].value, 501, 0);
    assert_near(pts[23].unix_s, T0 + 23 * 3600, 0);
    assert_near(pts[23].value, 494, 0);
    assert_int_equal(zeus_rate_provider_history(p, pts, 2, &n), ZEUS_OK);
    assert_int_equal(n, 2);
    assert_near(pts[1].value, 494, 0); /* the newest two */
    zeus_rate_provider_close(p);
}

/* ---- Failures ----------------------------------------------------------------------------- */

static void test_down_with_cache_is_stale(void **state)
{
    zt_rate_server *s = *state;
    zeus_rate_provider *p = open_em();
    uint32_t flags = 0;

    assert_near(rate(p, T0 + 5 * 3600, &flags), 439, 0);
    fake_now += 2 * 3600; /* the cache is past its period, and the service is down */
    zt_rate_server_fail_next(s, 503, 100);
    assert_near(rate(p, T0 + 5 * 3600, &flags), 439, 0);
    assert_int_equal(flags, ZEUS_RATE_EXACT | ZEUS_RATE_STALE);
    /* Back up: fresh again. */
    zt_rate_server_fail_next(s, 0, 0);
    assert_near(rate(p, T0 + 5 * 3600, &flags), 439, 0);
    assert_int_equal(flags, ZEUS_RATE_EXACT);
    zeus_rate_provider_close(p);
}

static void test_down_without_cache(void **state)
{
    zt_rate_server *s = *state;
    zeus_rate_provider *p = open_em();
    uint32_t flags = 0;
    double v = -1;

    zt_rate_server_fail_next(s, 500, 100);
    assert_int_equal(zeus_rate_provider_rate_at(p, T0, &v, &flags), ZEUS_ERR_PROVIDER_HTTP);
    assert_near(v, -1, 0);
    assert_int_equal(zt_rate_server_count(s), 3); /* tried three times */
    assert_non_null(strstr(zeus_last_error(), "HTTP 500"));
    zeus_rate_provider_close(p);
}

static void test_retry_then_success(void **state)
{
    zt_rate_server *s = *state;
    zeus_rate_provider *p = open_em();
    uint32_t flags = 0;

    zt_rate_server_fail_next(s, 429, 2);
    assert_near(rate(p, T0, &flags), 501, 0);
    assert_int_equal(zt_rate_server_count(s), 3);
    zeus_rate_provider_close(p);
}

static void test_unauthorized_not_retried(void **state)
{
    zt_rate_server *s = *state;
    zeus_rate_provider *p = open_em();
    double v;

    zt_rate_server_set(s, HIST, 401, "{\"error\":\"missing auth-token\"}");
    assert_int_equal(zeus_rate_provider_rate_at(p, T0, &v, NULL), ZEUS_ERR_PROVIDER_HTTP);
    assert_int_equal(zt_rate_server_count(s), 1);
    assert_non_null(strstr(zeus_last_error(), "401"));
    assert_non_null(strstr(zeus_last_error(), "key"));
    zt_rate_server_set(s, HIST, 403, "{}");
    assert_int_equal(zeus_rate_provider_rate_at(p, T0, &v, NULL), ZEUS_ERR_PROVIDER_HTTP);
    assert_int_equal(zt_rate_server_count(s), 2);
    zeus_rate_provider_close(p);
}

static void test_timeout(void **state)
{
    zt_rate_server *s = *state;
    zeus_rate_provider *p = open_em();
    zeus__rate_http_limits l = {0.2, 0.2, 2, 0.01, 1u << 20};
    double v;

    zeus__rate_http_set_limits(&l);
    zt_rate_server_hang_ms(s, 700);
    assert_int_equal(zeus_rate_provider_rate_at(p, T0, &v, NULL), ZEUS_ERR_PROVIDER_HTTP);
    assert_non_null(strstr(zeus_last_error(), "2 attempts"));
    zt_rate_server_hang_ms(s, 0);
    zeus_rate_provider_close(p);
}

static void test_malformed_and_missing_key(void **state)
{
    zt_rate_server *s = *state;
    zeus_rate_provider *p = open_em();
    double v;

    zt_rate_server_set(s, HIST, 200, "{\"history\":[{\"datetime\":");
    assert_int_equal(zeus_rate_provider_rate_at(p, T0, &v, NULL), ZEUS_ERR_PROVIDER_NOT_FOUND);
    assert_non_null(strstr(zeus_last_error(), "not JSON"));
    zt_rate_server_set(s, HIST, 200,
                       "{\"history\":[{\"datetime\":\"2024-11-30T06:00:00.000Z\",\"zone\":\"X\"}]}");
    assert_int_equal(zeus_rate_provider_rate_at(p, T0, &v, NULL), ZEUS_ERR_PROVIDER_NOT_FOUND);
    assert_non_null(strstr(zeus_last_error(), "not found"));
    zt_rate_server_set(s, HIST, 200, "{\"zone\":\"X\"}");
    assert_int_equal(zeus_rate_provider_rate_at(p, T0, &v, NULL), ZEUS_ERR_PROVIDER_NOT_FOUND);
    zeus_rate_provider_close(p);
}

static void test_body_cap(void **state)
{
    zt_rate_server *s = *state;
    zeus_rate_provider *p = open_em();
    zeus__rate_http_limits l = {1.0, 1.0, 1, 0.01, 1000};
    double v;

    zeus__rate_http_set_limits(&l);
    assert_int_equal(zeus_rate_provider_rate_at(p, T0, &v, NULL), ZEUS_ERR_PROVIDER_HTTP);
    assert_non_null(strstr(zeus_last_error(), "over 1000 bytes"));
    zeus_rate_provider_close(p);
    (void)s;
}

static void test_unreachable(void **state)
{
    zeus_rate_provider *p;
    double v;

    (void)state;
    setenv("ZEUS_ELECTRICITYMAPS_URL", "http://127.0.0.1:1/", 1);
    p = open_em();
    assert_int_equal(zeus_rate_provider_rate_at(p, T0, &v, NULL), ZEUS_ERR_PROVIDER_HTTP);
    assert_non_null(strstr(zeus_last_error(), "127.0.0.1:1/v3/carbon-intensity/history"));
    assert_null(strstr(zeus_last_error(), "lat="));
    zeus_rate_provider_close(p);
}

static void test_integer_coordinates_print_as_python_ints(void **state)
{
    zt_rate_server *s = *state;
    zeus_rate_provider *p = NULL;
    char uri[512];
    double v;

    assert_int_equal(zeus_rate_provider_open("electricitymaps:38,-78.50", ZEUS_RATE_CARBON, &p),
                     ZEUS_OK);
    assert_int_equal(zeus_rate_provider_rate_at(p, T0, &v, NULL), ZEUS_OK);
    assert_string_equal(zt_rate_server_uri(s, 0, uri, sizeof uri),
                        HIST "?lat=38&lon=-78.5&disableEstimations=False&emissionFactorType=direct");
    zeus_rate_provider_close(p);
}

static void test_zeus_constructor_options(void **state)
{
    zt_rate_server *s = *state;
    zeus_rate_provider *p = NULL;
    char uri[512];
    double v;

    /* Zeus's test: lifecycle with estimate=True answers 466; its default estimate=False. */
    zt_rate_server_set(s, LATEST, 200, "{\"carbonIntensity\":466}");
    assert_int_equal(zeus_rate_provider_open("electricitymaps:42.2776,-83.7409:emission_factor="
                                             "lifecycle:estimate=True", ZEUS_RATE_CARBON, &p),
                     ZEUS_OK);
    assert_int_equal(zeus_rate_provider_current(p, &v), ZEUS_OK);
    assert_near(v, 466, 0);
    assert_string_equal(zt_rate_server_uri(s, 0, uri, sizeof uri),
                        LATEST "?lat=42.2776&lon=-83.7409&disableEstimations=False"
                        "&emissionFactorType=lifecycle");
    zeus_rate_provider_close(p);
    assert_int_equal(zeus_rate_provider_open("electricitymaps:42.2776,-83.7409:estimate=False",
                                             ZEUS_RATE_CARBON, &p), ZEUS_OK);
    assert_int_equal(zeus_rate_provider_current(p, &v), ZEUS_OK);
    assert_string_equal(zt_rate_server_uri(s, 1, uri, sizeof uri),
                        LATEST "?lat=42.2776&lon=-83.7409&disableEstimations=True"
                        "&emissionFactorType=direct");
    zeus_rate_provider_close(p);
    p = NULL;
    assert_int_equal(zeus_rate_provider_open("electricitymaps:42.2776,-83.7409:estimate=yes",
                                             ZEUS_RATE_CARBON, &p), ZEUS_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(zeus_last_error(), "estimate=yes"));
    assert_null(p);
}

static void *ask(void *arg)
{
    static const double hours[] = {T0, T0 + 3600, T0 + 7200, T0 + 5 * 3600};
    static const double want[] = {501, 419, 416, 439};
    zeus_rate_provider *p = arg;

    for (int i = 0; i < 50; i++) {
        double v = 0;
        if (zeus_rate_provider_rate_at(p, hours[i % 4], &v, NULL) != ZEUS_OK || v != want[i % 4])
            return (void *)(intptr_t)2;
    }
    return (void *)(intptr_t)1;
}

static void test_threads_share_one_request(void **state)
{
    zt_rate_server *s = *state;
    zeus_rate_provider *p = open_em();
    pthread_t t[4];

    zt_rate_server_hang_ms(s, 100); /* all four ask while the first request is on the wire */
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, ask, p), 0);
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        assert_int_equal((intptr_t)r, 1);
    }
    assert_int_equal(zt_rate_server_count(s), 1);
    zeus_rate_provider_close(p);
}

static void test_spec_refusals(void **state)
{
    zeus_rate_provider *p = NULL;

    (void)state;
    assert_int_equal(zeus_rate_provider_open("electricitymaps:42.2,-83.7", ZEUS_RATE_PRICE, &p),
                     ZEUS_ERR_INVALID_ARGUMENT);
    assert_int_equal(zeus_rate_provider_open("electricitymaps:42.2", ZEUS_RATE_CARBON, &p),
                     ZEUS_ERR_INVALID_ARGUMENT);
    assert_int_equal(zeus_rate_provider_open("electricitymaps:1,inf", ZEUS_RATE_CARBON, &p),
                     ZEUS_ERR_INVALID_ARGUMENT);
    assert_int_equal(zeus_rate_provider_open("electricitymaps:a,b", ZEUS_RATE_CARBON, &p),
                     ZEUS_ERR_INVALID_ARGUMENT);
    assert_null(p);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_history_url_and_values),   T(test_latest_and_auth_token),
        T(test_latest_without_carbon_intensity), T(test_missing_hour_uses_nearest),
        T(test_cache_expires_after_update_period), T(test_history_points),
        T(test_down_with_cache_is_stale), T(test_down_without_cache),
        T(test_retry_then_success),       T(test_unauthorized_not_retried),
        T(test_timeout),                  T(test_malformed_and_missing_key),
        T(test_body_cap),                 T(test_unreachable),
        T(test_integer_coordinates_print_as_python_ints), T(test_zeus_constructor_options), T(test_threads_share_one_request),
        T(test_spec_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
