/*
 * test_rate_openei.c - The OpenEI price provider against a loopback server
 * (tests/support/rate_server.c) serving Zeus's recorded answers (Ann Arbor, Virginia, an
 * invalid location): the exact query with the key from OPENEI_API_KEY, the label search,
 * rate + adj, the schedule read in the utility's local time, and the failure cases.
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

#include "rate/rate_http.h"
#include "rate/rate_internal.h"
#include "rate_server.h"
#include "test_support.h"
#include "zeus/rate.h"
#include "zeus/status.h"

#define SAT_0600Z 1732946400.0 /* 2024-11-30T06:00Z, a Saturday: 01:00 EST */
#define JUL1_0900Z 1719824400.0 /* 2024-07-01T09:00Z, a Monday: 05:00 EDT */
#define ANN_ARBOR "openei:42.2776,-83.7409:539f6d3bec4f024411ecb311"
#define VIRGINIA "openei:38,-78:539f6e1dec4f024411ecbeaf"

static double fake_now = SAT_0600Z;

static double fake_clock(void)
{
    return fake_now;
}

static const char *answer_file(const char *name)
{
    static char path[512];
    const char *dir = getenv("ZEUS_TEST_DATA");
    snprintf(path, sizeof path, "%s/zeus-provider-answers/price_output_files/%s",
             dir != NULL ? dir : "tests/data", name);
    return path;
}

static int setup(void **state)
{
    zt_rate_server *s = zt_rate_server_start();
    zeus__rate_http_limits l = {1.0, 1.0, 3, 0.01, 1u << 20};

    setenv("ZEUS_OPENEI_URL", zt_rate_server_url(s), 1);
    setenv("OPENEI_API_KEY", "test-key", 1);
    zeus__rate_http_set_limits(&l);
    fake_now = SAT_0600Z;
    zeus__rate_set_clock(fake_clock);
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    zt_rate_server_stop(*state);
    zeus__rate_set_clock(NULL);
    zeus__rate_http_set_limits(NULL);
    unsetenv("ZEUS_OPENEI_URL");
    unsetenv("OPENEI_API_KEY");
    return 0;
}

static zeus_rate_provider *open_p(const char *spec)
{
    zeus_rate_provider *p = NULL;
    if (zeus_rate_provider_open(spec, ZEUS_RATE_PRICE, &p) != ZEUS_OK)
        fail_msg("open %s: %s", spec, zeus_last_error());
    return p;
}

static double rate(zeus_rate_provider *p, double t, uint32_t *flags)
{
    double v = NAN;
    if (zeus_rate_provider_rate_at(p, t, &v, flags) != ZEUS_OK)
        fail_msg("rate_at(%.0f): %s", t, zeus_last_error());
    return v;
}

static void test_ann_arbor_query_and_price(void **state)
{
    zt_rate_server *s = *state;
    zeus_rate_provider *p = open_p(ANN_ARBOR);
    uint32_t flags = 0;
    char uri[512];
    double v = 0;

    zt_rate_server_set_file(s, "/utility_rates", answer_file("ann_arbor.json"));
    assert_int_equal(zt_rate_server_count(s), 0);
    assert_near(rate(p, SAT_0600Z, &flags), 0.1056 + 0.029681, 1e-12);
    assert_int_equal(flags, ZEUS_RATE_EXACT);
    assert_near(rate(p, JUL1_0900Z, &flags), 0.1056 + 0.029681, 1e-12);
    assert_int_equal(zeus_rate_provider_current(p, &v), ZEUS_OK);
    assert_near(v, 0.1056 + 0.029681, 1e-12);
    assert_int_equal(zt_rate_server_count(s), 1); /* cached for the hour */
    assert_string_equal(zt_rate_server_uri(s, 0, uri, sizeof uri),
                        "/utility_rates?version=latest&format=json&api_key=test-key"
                        "&lat=42.2776&lon=-83.7409&radius=0&detail=full&sector=Residential");
    assert_string_equal(zeus_rate_provider_currency(p), "USD");
    assert_string_equal(zeus_rate_provider_unit(p), "USD/kWh");
    assert_int_equal(zeus_rate_provider_kind(p), ZEUS_RATE_PRICE);
    zeus_rate_provider_close(p);
}

static void test_virginia_schedule_in_local_time(void **state)
{
    zt_rate_server *s = *state;
    zeus_rate_provider *p = open_p(VIRGINIA);
    char uri[512];

    zt_rate_server_set_file(s, "/utility_rates", answer_file("virginia.json"));
    /* 06:00Z is 01:00 EST: period 0 (Zeus, reading 06:00 UTC, would charge period 2). */
    assert_near(rate(p, SAT_0600Z, NULL), 0.01679 + 0.03255, 1e-12);
    /* 09:00Z in July is 05:00 EDT: period 1; 10:00Z is 06:00 EDT: period 2. */
    assert_near(rate(p, JUL1_0900Z, NULL), 0.04944 + 0.03255, 1e-12);
    assert_near(rate(p, JUL1_0900Z + 3600, NULL), 0.14284 + 0.03255, 1e-12);
    /* 03:00Z on Saturday is 22:00 EST on Friday: period 1. */
    assert_near(rate(p, SAT_0600Z - 3 * 3600, NULL), 0.04944 + 0.03255, 1e-12);
    assert_string_equal(zt_rate_server_uri(s, 0, uri, sizeof uri),
                        "/utility_rates?version=latest&format=json&api_key=test-key"
                        "&lat=38&lon=-78&radius=0&detail=full&sector=Residential");
    zeus_rate_provider_close(p);
}

static void test_sector_and_radius(void **state)
{
    zt_rate_server *s = *state;
    zeus_rate_provider *p = open_p(VIRGINIA ":Commercial:5");
    char uri[512];
    double v;

    zt_rate_server_set_file(s, "/utility_rates", answer_file("virginia.json"));
    assert_int_equal(zeus_rate_provider_rate_at(p, SAT_0600Z, &v, NULL), ZEUS_OK);
    assert_non_null(strstr(zt_rate_server_uri(s, 0, uri, sizeof uri),
                           "&radius=5&detail=full&sector=Commercial"));
    zeus_rate_provider_close(p);
}

static void test_invalid_location_and_label(void **state)
{
    zt_rate_server *s = *state;
    zeus_rate_provider *p = open_p("openei:-100,-100:539f6d3bec4f024411ecb311");
    double v = -1;

    zt_rate_server_set_file(s, "/utility_rates", answer_file("invalid.json"));
    assert_int_equal(zeus_rate_provider_rate_at(p, SAT_0600Z, &v, NULL),
                     ZEUS_ERR_PROVIDER_NOT_FOUND);
    assert_near(v, -1, 0);
    assert_non_null(strstr(zeus_last_error(), "[-100, -100]"));
    assert_non_null(strstr(zeus_last_error(), "Utility company lookup failed"));
    zeus_rate_provider_close(p);

    zt_rate_server_set_file(s, "/utility_rates", answer_file("ann_arbor.json"));
    p = open_p("openei:42.2776,-83.7409:invalid");
    assert_int_equal(zeus_rate_provider_rate_at(p, SAT_0600Z, &v, NULL),
                     ZEUS_ERR_PROVIDER_NOT_FOUND);
    assert_non_null(strstr(zeus_last_error(), "label: invalid"));
    zeus_rate_provider_close(p);
}

static void test_bad_plans(void **state)
{
    zt_rate_server *s = *state;
    zeus_rate_provider *p = open_p("openei:1,2:L");
    char sched[800], body[2400];
    double v;

    strcpy(sched, "[");
    for (int m = 0; m < 12; m++)
        strcat(sched, m ? ",[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1]"
                        : "[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1]");
    strcat(sched, "]");
    /* Period 1 does not exist. */
    snprintf(body, sizeof body, "{\"items\":[{\"label\":\"L\",\"energyratestructure\":[[{\"rate\":0.1}]],"
             "\"energyweekdayschedule\":%s,\"energyweekendschedule\":%s}]}", sched, sched);
    zt_rate_server_set(s, "/utility_rates", 200, body);
    assert_int_equal(zeus_rate_provider_rate_at(p, SAT_0600Z, &v, NULL),
                     ZEUS_ERR_PROVIDER_NOT_FOUND);
    assert_non_null(strstr(zeus_last_error(), "names no period"));
    /* Priced per kW, not per kWh. */
    snprintf(body, sizeof body, "{\"items\":[{\"label\":\"L\",\"energyratestructure\":"
             "[[{\"rate\":0.1,\"unit\":\"kW\"}],[{\"rate\":0.2}]],"
             "\"energyweekdayschedule\":%s,\"energyweekendschedule\":%s}]}", sched, sched);
    zt_rate_server_set(s, "/utility_rates", 200, body);
    assert_int_equal(zeus_rate_provider_rate_at(p, SAT_0600Z, &v, NULL),
                     ZEUS_ERR_PROVIDER_NOT_FOUND);
    assert_non_null(strstr(zeus_last_error(), "kWh"));
    /* No schedules. */
    zt_rate_server_set(s, "/utility_rates", 200,
                       "{\"items\":[{\"label\":\"L\",\"energyratestructure\":[[{\"rate\":0.1}]]}]}");
    assert_int_equal(zeus_rate_provider_rate_at(p, SAT_0600Z, &v, NULL),
                     ZEUS_ERR_PROVIDER_NOT_FOUND);
    /* Not JSON. */
    zt_rate_server_set(s, "/utility_rates", 200, "<html>");
    assert_int_equal(zeus_rate_provider_rate_at(p, SAT_0600Z, &v, NULL),
                     ZEUS_ERR_PROVIDER_NOT_FOUND);
    /* A good plan, nested deeper than items[], outside the US: UTC hours (Zeus's reading). */
    snprintf(body, sizeof body, "{\"wrap\":{\"items\":[{\"label\":\"L\",\"country\":\"CAN\","
             "\"energyratestructure\":[[{\"rate\":0.1,\"unit\":\"kWh\"}],[{\"rate\":0.2,\"adj\":0.05}]],"
             "\"energyweekdayschedule\":%s,\"energyweekendschedule\":%s}]}}", sched, sched);
    zt_rate_server_set(s, "/utility_rates", 200, body);
    assert_near(rate(p, SAT_0600Z, NULL), 0.1, 1e-12);
    assert_near(rate(p, SAT_0600Z + 17 * 3600, NULL), 0.25, 1e-12); /* 23:00 UTC */
    zeus_rate_provider_close(p);
}

static void test_stale_while_down(void **state)
{
    zt_rate_server *s = *state;
    zeus_rate_provider *p = open_p(ANN_ARBOR);
    uint32_t flags = 0;
    double v = -1;

    zt_rate_server_set_file(s, "/utility_rates", answer_file("ann_arbor.json"));
    assert_near(rate(p, SAT_0600Z, &flags), 0.135281, 1e-12);
    fake_now += 2 * 3600;
    zt_rate_server_fail_next(s, 502, 100);
    assert_near(rate(p, SAT_0600Z, &flags), 0.135281, 1e-12);
    assert_int_equal(flags, ZEUS_RATE_EXACT | ZEUS_RATE_STALE);
    zeus_rate_provider_close(p);

    p = open_p(ANN_ARBOR); /* nothing cached: an error */
    assert_int_equal(zeus_rate_provider_rate_at(p, SAT_0600Z, &v, &flags), ZEUS_ERR_PROVIDER_HTTP);
    assert_null(strstr(zeus_last_error(), "test-key")); /* the key stays out of messages */
    assert_near(v, -1, 0);
    zeus_rate_provider_close(p);
}

static void test_key_required_and_refusals(void **state)
{
    zeus_rate_provider *p = NULL;

    (void)state;
    unsetenv("OPENEI_API_KEY");
    assert_int_equal(zeus_rate_provider_open(ANN_ARBOR, ZEUS_RATE_PRICE, &p),
                     ZEUS_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(zeus_last_error(), "OPENEI_API_KEY"));
    setenv("OPENEI_API_KEY", "", 1);
    assert_int_equal(zeus_rate_provider_open(ANN_ARBOR, ZEUS_RATE_PRICE, &p),
                     ZEUS_ERR_INVALID_ARGUMENT);
    setenv("OPENEI_API_KEY", "k", 1);
    assert_int_equal(zeus_rate_provider_open(ANN_ARBOR, ZEUS_RATE_CARBON, &p),
                     ZEUS_ERR_INVALID_ARGUMENT);
    assert_int_equal(zeus_rate_provider_open(ANN_ARBOR ":Farming", ZEUS_RATE_PRICE, &p),
                     ZEUS_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(zeus_last_error(), "Farming"));
    assert_int_equal(zeus_rate_provider_open(ANN_ARBOR ":Commercial:-1", ZEUS_RATE_PRICE, &p),
                     ZEUS_ERR_INVALID_ARGUMENT);
    assert_int_equal(zeus_rate_provider_open("openei:42,-83", ZEUS_RATE_PRICE, &p),
                     ZEUS_ERR_INVALID_ARGUMENT);
    assert_int_equal(zeus_rate_provider_open("openei:42,-83:", ZEUS_RATE_PRICE, &p),
                     ZEUS_ERR_INVALID_ARGUMENT);
    assert_null(p);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_ann_arbor_query_and_price), T(test_virginia_schedule_in_local_time),
        T(test_sector_and_radius),         T(test_invalid_location_and_label),
        T(test_bad_plans),                 T(test_stale_while_down),
        T(test_key_required_and_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
