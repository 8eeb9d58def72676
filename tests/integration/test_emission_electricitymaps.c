/*
 * test_emission_electricitymaps.c - Carbon windows (zeus/emission.h) priced by the real
 * ElectricityMaps provider against a loopback server (tests/support/rate_server.c) serving
 * Zeus's recorded history: a window across hour boundaries priced hour by hour with the
 * recorded intensities, and a provider down for the whole window and back later: all the
 * energy priced, once, and flagged pending meanwhile.
 *
 * One fake clock drives both the provider (zeus__rate_set_clock) and the monitor (its
 * injected clock), so the hours pass at once; counters are set by hand (the fake NVML's
 * manual mode, read directly), so every expected gram is exact.
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

#include "fake_nvml_control.h"
#include "rate/rate_http.h"
#include "rate/rate_internal.h"
#include "rate_server.h"
#include "test_support.h"
#include "zeus/emission.h"
#include "zeus/zeus.h"

#define T0 1732946400.0 /* 2024-11-30T06:00:00Z, carbon_history_file1's first hour (501 g) */
#define HIST "/v3/carbon-intensity/history"
#define KWH 3.6e6

static double fake_now;

static double rate_clock(void)
{
    return fake_now;
}

static double monitor_clock(void *user)
{
    (void)user;
    return fake_now;
}

struct fixture {
    zt_rate_server *server;
    zeus_rate_provider *provider;
    zeus_monitor *mon;
    zeus_emission_monitor *em;
    double gpu_j;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    zeus__rate_http_limits l = {1.0, 1.0, 2, 0.01, 1u << 20};
    char path[512];
    const char *dir = getenv("ZEUS_TEST_DATA");
    zeus_monitor_options mo;
    zeus_emission_options eo;

    if (f == NULL || zt_fake_nvml()->reset("gpus=1") != 0)
        return -1;
    f->server = zt_rate_server_start();
    setenv("ZEUS_ELECTRICITYMAPS_URL", zt_rate_server_url(f->server), 1);
    unsetenv("ELECTRICITYMAPS_API_KEY");
    zeus__rate_http_set_limits(&l);
    fake_now = T0 + 600;
    zeus__rate_set_clock(rate_clock);
    snprintf(path, sizeof path, "%s/zeus-provider-answers/carbon_history_files/"
             "carbon_history_file1", dir != NULL ? dir : "tests/data");
    zt_rate_server_set_file(f->server, HIST, path);
    if (zeus_rate_provider_open("electricitymaps:42.2776,-83.7409", ZEUS_RATE_CARBON,
                                &f->provider) != ZEUS_OK)
        return -1;
    f->gpu_j = 1.0;
    zt_fake_nvml()->set_energy_mj(0, 1000);
    zeus_monitor_options_init(&mo);
    mo.direct_reads = 1;
    mo.cpu_index_count = 0;
    mo.cpu_indices = (const unsigned[]){0};
    if (zeus_monitor_create(&mo, &f->mon) != ZEUS_OK)
        return -1;
    zeus_emission_options_init(&eo);
    eo.monitor = f->mon;
    eo.clock = monitor_clock;
    eo.background = 0;
    if (zeus_emission_monitor_create(f->provider, &eo, &f->em) != ZEUS_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    zeus_emission_monitor_destroy(f->em);
    zeus_monitor_destroy(f->mon);
    zeus_rate_provider_close(f->provider);
    zt_rate_server_stop(f->server);
    zeus__rate_set_clock(NULL);
    zeus__rate_http_set_limits(NULL);
    unsetenv("ZEUS_ELECTRICITYMAPS_URL");
    free(f);
    return 0;
}

static void spend(struct fixture *f, double joules)
{
    f->gpu_j += joules;
    zt_fake_nvml()->set_energy_mj(0, (unsigned long long)llround(f->gpu_j * 1e3));
}

/* 06:10 to 08:01 UTC: 1 kWh in the 06:00 hour, 2 kWh in the 07:00 hour, none after. */
static void run_window(struct fixture *f, zeus_emission_measurement *m, zeus_status want)
{
    assert_int_equal(zeus_emission_monitor_begin_window(f->em, "train"), ZEUS_OK);
    spend(f, 1 * KWH);
    fake_now = T0 + 3600;
    zeus_emission_monitor_tick(f->em);
    spend(f, 2 * KWH);
    fake_now = T0 + 7200;
    zeus_emission_monitor_tick(f->em);
    fake_now += 60;
    memset(m, 0, sizeof *m);
    m->size = sizeof *m;
    assert_int_equal(zeus_emission_monitor_end_window(f->em, "train", m), want);
}

static void test_emission_priced_with_recorded_history(void **state)
{
    struct fixture *f = *state;
    zeus_emission_measurement m;

    run_window(f, &m, ZEUS_OK);
    assert_int_equal(m.hours, 3);
    assert_int_equal(m.pending_hours, 0);
    assert_false(m.flags & ZEUS_RATE_PENDING);
    assert_near(m.gpu_energy_j[0], 3 * KWH, 1e-3);
    assert_near(m.gpu_amount[0], 1 * 501 + 2 * 419, 1e-9); /* carbon_history_file1 */
    assert_near(m.total_amount, m.gpu_amount[0], 1e-12);
}

static void test_emission_provider_down_for_the_window_then_back(void **state)
{
    struct fixture *f = *state;
    zeus_emission_measurement m, later;
    int requests;

    zt_rate_server_fail_next(f->server, 503, 1000000); /* down for the whole window */
    run_window(f, &m, ZEUS_ERR_PENDING);
    assert_int_equal(m.pending_hours, m.hours);
    assert_true(m.flags & ZEUS_RATE_PENDING);
    assert_near(m.gpu_energy_j[0], 3 * KWH, 1e-3); /* all the energy is kept */
    assert_near(m.total_amount, 0, 0);

    /* Still down hours later: still pending, nothing lost. */
    fake_now = T0 + 5 * 3600;
    memset(&later, 0, sizeof later);
    later.size = sizeof later;
    assert_int_equal(zeus_emission_monitor_get(f->em, m.window_id, &later), ZEUS_ERR_PENDING);
    assert_near(later.gpu_energy_j[0], 3 * KWH, 1e-3);

    /* Back: every hour priced with its own recorded intensity, once. */
    zt_rate_server_fail_next(f->server, 0, 0);
    assert_int_equal(zeus_emission_monitor_get(f->em, m.window_id, &later), ZEUS_OK);
    assert_int_equal(later.pending_hours, 0);
    assert_false(later.flags & ZEUS_RATE_PENDING);
    assert_near(later.gpu_amount[0], 1 * 501 + 2 * 419, 1e-9);
    requests = zt_rate_server_count(f->server);
    assert_int_equal(zeus_emission_monitor_tick(f->em), ZEUS_OK);
    assert_int_equal(zeus_emission_monitor_get(f->em, m.window_id, &later), ZEUS_OK);
    assert_near(later.gpu_amount[0], 1 * 501 + 2 * 419, 1e-9);
    assert_int_equal(zt_rate_server_count(f->server), requests); /* nothing asked again */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_emission_priced_with_recorded_history, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_emission_provider_down_for_the_window_then_back,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
