/*
 * test_emission.c - Carbon and cost windows (zeus_emission_monitor_*): hour buckets by an
 * injected clock across 1, 2 and 30 boundaries and a late tick, nested and overlapping
 * windows, a provider down for hours and back (all energy priced, once), missing and
 * estimated hours, energy conservation against a plain window (direct and sampled), destroy
 * with open windows, a borrowed monitor (and one whose owner dropped our segment), and bad
 * keys and arguments.
 *
 * The provider is a callback provider (zeus_rate_provider_from_callbacks) whose rate differs
 * every hour, so a bucket priced with the wrong hour's rate shows. Counters are set by hand
 * (the fake NVML's manual mode, a fake RAPL tree) and read directly, so every expected amount
 * is exact; one case uses the sampled engine against a constant 300 W.
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
#include "zeus/emission.h"
#include "zeus/zeus.h"

#define T0 1700000000.0 /* 2023-11-14 22:13:20 UTC */
#define HOUR 3600.0
#define KWH 3.6e6 /* J */

/* ---- Fixtures: a clock, a provider, counters ------------------------------------------- */

struct fixture {
    zt_sysfs *sysfs;
    double now; /* the injected clock */
    /* the provider */
    int down;            /* answer ZEUS_ERR_PROVIDER_HTTP */
    double missing_hour; /* answer ZEUS_ERR_PROVIDER_NOT_FOUND for this hour */
    double known_from;   /* hours before this answer ESTIMATED (as beyond a 24 h history) */
    unsigned calls;
    unsigned answered[64]; /* answers per hour since T0's hour */
    /* the counters' running totals */
    double gpu_j[2], cpu_j, dram_j;
};

static double test_clock(void *user)
{
    return ((struct fixture *)user)->now;
}

/* 100 g/kWh in T0's hour, 10 more every hour after. */
static double rate_of(double hour_s)
{
    return 100.0 + 10.0 * ((hour_s - floor(T0 / HOUR) * HOUR) / HOUR);
}

static zeus_status provider_rate(void *user, double hour_s, double *value, uint32_t *flags)
{
    struct fixture *f = user;
    long k = lround((hour_s - floor(T0 / HOUR) * HOUR) / HOUR);

    f->calls++;
    if (f->down)
        return ZEUS_ERR_PROVIDER_HTTP;
    if (hour_s == f->missing_hour)
        return ZEUS_ERR_PROVIDER_NOT_FOUND;
    if (k >= 0 && k < 64)
        f->answered[k]++;
    *value = rate_of(hour_s);
    *flags = hour_s < f->known_from ? ZEUS_RATE_ESTIMATED : ZEUS_RATE_EXACT;
    return ZEUS_OK;
}

static zeus_rate_provider *make_provider(struct fixture *f, zeus_rate_kind kind)
{
    zeus_rate_callbacks cb;
    zeus_rate_provider *p = NULL;

    memset(&cb, 0, sizeof cb);
    cb.size = sizeof cb;
    cb.rate_at = provider_rate;
    assert_int_equal(zeus_rate_provider_from_callbacks(&cb, f, kind, &p), ZEUS_OK);
    return p;
}

/* An emission monitor with no thread on the fixture's clock, over `mon` (NULL: its own,
 * reading counters directly). */
static zeus_emission_monitor *make_em(struct fixture *f, zeus_rate_provider *p, zeus_monitor *mon)
{
    zeus_emission_options o;
    zeus_monitor_options mo;
    zeus_emission_monitor *em = NULL;

    zeus_emission_options_init(&o);
    zeus_monitor_options_init(&mo);
    mo.direct_reads = 1;
    o.monitor = mon;
    o.monitor_options = &mo;
    o.clock = test_clock;
    o.clock_user = f;
    o.background = 0;
    if (zeus_emission_monitor_create(p, &o, &em) != ZEUS_OK)
        fail_msg("zeus_emission_monitor_create: %s", zeus_last_error());
    return em;
}

/* Add energy (J) to GPU 0, GPU 1, the CPU package and DRAM. */
static void spend(struct fixture *f, double g0, double g1, double cpu, double dram)
{
    const struct zt_fake_nvml *fake = zt_fake_nvml();

    f->gpu_j[0] += g0;
    f->gpu_j[1] += g1;
    f->cpu_j += cpu;
    f->dram_j += dram;
    fake->set_energy_mj(0, (unsigned long long)llround(f->gpu_j[0] * 1e3));
    fake->set_energy_mj(1, (unsigned long long)llround(f->gpu_j[1] * 1e3));
    zt_sysfs_set_energy(f->sysfs, "intel-rapl:0", (uint64_t)llround(f->cpu_j * 1e6));
    zt_sysfs_set_energy(f->sysfs, "intel-rapl:0:0", (uint64_t)llround(f->dram_j * 1e6));
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    if (zt_fake_nvml()->reset("gpus=2") != 0)
        return -1;
    f->sysfs = zt_sysfs_create();
    zt_sysfs_add_package(f->sysfs, 0, 0, 262143328850ull);
    zt_sysfs_add_dram(f->sysfs, 0, 0, 0, 65712999613ull);
    zt_sysfs_use(f->sysfs);
    f->now = T0;
    f->missing_hour = NAN;
    f->known_from = -INFINITY;
    spend(f, 1000, 5000, 10, 2); /* counters need not start at 0 */
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    zt_sysfs_destroy(f->sysfs);
    free(f);
    return 0;
}

static zeus_emission_measurement new_measurement(void)
{
    zeus_emission_measurement m;

    memset(&m, 0, sizeof m);
    m.size = sizeof m;
    return m;
}

static double hour_of(double t)
{
    return floor(t / HOUR) * HOUR;
}

/* ---- Hour boundaries -------------------------------------------------------------------- */

static void test_emission_one_boundary_prices_each_hour_with_its_rate(void **state)
{
    struct fixture *f = *state;
    zeus_rate_provider *p = make_provider(f, ZEUS_RATE_CARBON);
    zeus_emission_monitor *em = make_em(f, p, NULL);
    zeus_emission_measurement m = new_measurement();
    double h0 = hour_of(T0);

    assert_int_equal(zeus_emission_monitor_begin_window(em, "train"), ZEUS_OK);
    spend(f, 0.1 * KWH, 0.2 * KWH, 3.6, 0.36); /* RAPL: a few J, or it is an implausible jump */
    f->now = h0 + HOUR; /* exactly the boundary */
    assert_int_equal(zeus_emission_monitor_tick(em), ZEUS_OK);
    spend(f, 0.3 * KWH, 0, 7.2, 0.72);
    f->now = h0 + HOUR + 600;
    assert_int_equal(zeus_emission_monitor_end_window(em, "train", &m), ZEUS_OK);

    assert_int_equal(m.hours, 2);
    assert_int_equal(m.pending_hours, 0);
    assert_int_equal(m.kind, ZEUS_RATE_CARBON);
    assert_string_equal(m.currency, "");
    assert_int_equal(m.flags, ZEUS_RATE_EXACT);
    assert_near(m.start_unix_s, T0, 1e-6);
    assert_int_equal(m.gpu_count, 2);
    assert_int_equal(m.cpu_count, 1);
    assert_near(m.gpu_energy_j[0], 0.4 * KWH, 1e-3);
    assert_near(m.gpu_energy_j[1], 0.2 * KWH, 1e-3);
    assert_near(m.cpu_energy_j[0], 10.8, 1e-6);
    assert_near(m.dram_energy_j[0], 1.08, 1e-6);
    /* 100 g/kWh in the first hour, 110 in the second. */
    assert_near(m.gpu_amount[0], 0.1 * 100 + 0.3 * 110, 1e-9);
    assert_near(m.gpu_amount[1], 0.2 * 100, 1e-9);
    assert_near(m.cpu_amount[0], 1e-6 * 100 + 2e-6 * 110, 1e-12);
    assert_near(m.dram_amount[0], 1e-7 * 100 + 2e-7 * 110, 1e-12);
    assert_near(m.total_amount, 43 + 20 + 3.2e-4 + 3.2e-5, 1e-9);
    zeus_emission_monitor_destroy(em);
    zeus_rate_provider_close(p);
}

static void test_emission_late_tick_spreads_over_the_hours_it_spans(void **state)
{
    struct fixture *f = *state;
    zeus_rate_provider *p = make_provider(f, ZEUS_RATE_CARBON);
    zeus_emission_monitor *em = make_em(f, p, NULL);
    zeus_emission_measurement m = new_measurement();
    double h0 = hour_of(T0);

    /* 30 min of hour 0, all of hour 1, 30 min of hour 2, seen by one late end: 1/4, 1/2, 1/4. */
    f->now = h0 + 1800;
    assert_int_equal(zeus_emission_monitor_begin_window(em, "w"), ZEUS_OK);
    spend(f, 1.0 * KWH, 0, 0, 0);
    f->now = h0 + 2 * HOUR + 1800;
    assert_int_equal(zeus_emission_monitor_end_window(em, "w", &m), ZEUS_OK);
    assert_int_equal(m.hours, 3);
    assert_near(m.gpu_energy_j[0], 1.0 * KWH, 1e-3);
    assert_near(m.gpu_amount[0], 0.25 * 100 + 0.5 * 110 + 0.25 * 120, 1e-9);
    assert_near(m.gpu_amount[1], 0, 1e-12);
    zeus_emission_monitor_destroy(em);
    zeus_rate_provider_close(p);
}

static void test_emission_thirty_boundaries_each_priced_once(void **state)
{
    struct fixture *f = *state;
    zeus_rate_provider *p = make_provider(f, ZEUS_RATE_CARBON);
    zeus_emission_monitor *em = make_em(f, p, NULL);
    zeus_emission_measurement m = new_measurement();
    double expect = 0, h0 = hour_of(T0);

    assert_int_equal(zeus_emission_monitor_begin_window(em, "long"), ZEUS_OK);
    for (int k = 0; k < 30; k++) {
        spend(f, (k + 1) * 0.01 * KWH, 0, 0, 0);
        expect += (k + 1) * 0.01 * rate_of(h0 + k * HOUR);
        f->now = h0 + (k + 1) * HOUR + 5; /* 5 s late, so 5 s worth goes to the next hour */
        assert_int_equal(zeus_emission_monitor_tick(em), ZEUS_OK);
        /* The closed hour was priced at once (note 4), while the window is open. */
        assert_int_equal(f->answered[k], 1);
    }
    f->now += 60;
    assert_int_equal(zeus_emission_monitor_end_window(em, "long", &m), ZEUS_OK);
    assert_int_equal(m.hours, 31);
    assert_int_equal(m.pending_hours, 0);
    for (int k = 0; k <= 30; k++)
        assert_int_equal(f->answered[k], 1); /* each hour asked for once */
    assert_near(m.gpu_energy_j[0], 0.01 * 465 * KWH, 1e-3);
    /* The 5 s spread into each next hour changes the amount by (rate step) x (5 s share). */
    assert_near(m.gpu_amount[0], expect, expect * 0.002);
    assert_near(m.total_amount, m.gpu_amount[0] + m.gpu_amount[1] + m.cpu_amount[0] +
                                    m.dram_amount[0], 1e-9);
    zeus_emission_monitor_destroy(em);
    zeus_rate_provider_close(p);
}

static void test_emission_nested_and_overlapping_windows(void **state)
{
    struct fixture *f = *state;
    zeus_rate_provider *p = make_provider(f, ZEUS_RATE_PRICE);
    zeus_emission_monitor *em = make_em(f, p, NULL);
    zeus_emission_measurement a = new_measurement(), b = new_measurement();
    double h0 = hour_of(T0);

    /* a: [0:30, 1:15]; b: [0:45, 1:30]; boundary at 1:00. Rates are $/kWh here. */
    f->now = h0 + 1800;
    assert_int_equal(zeus_emission_monitor_begin_window(em, "a"), ZEUS_OK);
    spend(f, 1 * KWH, 0, 0, 0); /* a only */
    f->now = h0 + 2700;
    assert_int_equal(zeus_emission_monitor_begin_window(em, "b"), ZEUS_OK);
    spend(f, 2 * KWH, 0, 0, 0); /* a and b, hour 0 */
    f->now = h0 + HOUR;
    assert_int_equal(zeus_emission_monitor_tick(em), ZEUS_OK);
    spend(f, 4 * KWH, 0, 0, 0); /* a and b, hour 1 */
    f->now = h0 + HOUR + 900;
    assert_int_equal(zeus_emission_monitor_end_window(em, "a", &a), ZEUS_OK);
    spend(f, 8 * KWH, 0, 0, 0); /* b only */
    f->now = h0 + HOUR + 1800;
    assert_int_equal(zeus_emission_monitor_end_window(em, "b", &b), ZEUS_OK);

    assert_int_equal(a.kind, ZEUS_RATE_PRICE);
    assert_string_equal(a.currency, "USD");
    assert_near(a.gpu_energy_j[0], 7 * KWH, 1e-3);
    assert_near(a.gpu_amount[0], 3 * 100 + 4 * 110, 1e-9);
    assert_near(b.gpu_energy_j[0], 14 * KWH, 1e-3);
    assert_near(b.gpu_amount[0], 2 * 100 + 12 * 110, 1e-9);
    assert_int_not_equal(a.window_id, b.window_id);
    assert_int_equal(a.hours, 2);
    assert_int_equal(b.hours, 2);
    zeus_emission_monitor_destroy(em);
    zeus_rate_provider_close(p);
}

/* ---- A provider that is down, missing hours --------------------------------------------- */

static void test_emission_provider_down_for_hours_then_back(void **state)
{
    struct fixture *f = *state;
    zeus_rate_provider *p = make_provider(f, ZEUS_RATE_CARBON);
    zeus_emission_monitor *em = make_em(f, p, NULL);
    zeus_emission_measurement m = new_measurement(), again = new_measurement();
    double h0 = hour_of(T0), expect = 0;
    unsigned calls;

    f->down = 1;
    assert_int_equal(zeus_emission_monitor_begin_window(em, "w"), ZEUS_OK);
    for (int k = 0; k < 5; k++) {
        spend(f, 0.1 * KWH, 0, 3.6, 0);
        expect += (0.1 + 1e-6) * rate_of(h0 + k * HOUR);
        f->now = h0 + (k + 1) * HOUR;
        calls = f->calls;
        assert_int_equal(zeus_emission_monitor_tick(em), ZEUS_ERR_PROVIDER_HTTP);
        assert_int_equal(f->calls, calls + 1); /* a down provider is asked once per pass */
    }
    spend(f, 0.1 * KWH, 0, 0, 0);
    expect += 0.1 * rate_of(h0 + 5 * HOUR);
    f->now += 60;
    assert_int_equal(zeus_emission_monitor_end_window(em, "w", &m), ZEUS_ERR_PENDING);
    /* All the energy, none of it priced. */
    assert_int_equal(m.hours, 6);
    assert_int_equal(m.pending_hours, 6);
    assert_true(m.flags & ZEUS_RATE_PENDING);
    assert_near(m.gpu_energy_j[0], 0.6 * KWH, 1e-3);
    assert_near(m.cpu_energy_j[0], 18, 1e-6);
    assert_near(m.total_amount, 0, 0);
    assert_int_equal(zeus_emission_monitor_get(em, m.window_id, &again), ZEUS_ERR_PENDING);

    /* Back, with the first two hours beyond its history (estimated from the nearest). */
    f->down = 0;
    f->known_from = h0 + 2 * HOUR;
    assert_int_equal(zeus_emission_monitor_get(em, m.window_id, &again), ZEUS_OK);
    assert_int_equal(again.pending_hours, 0);
    assert_false(again.flags & ZEUS_RATE_PENDING);
    assert_int_equal(again.flags, ZEUS_RATE_EXACT | ZEUS_RATE_ESTIMATED);
    assert_near(again.gpu_energy_j[0], 0.6 * KWH, 1e-3);
    assert_near(again.total_amount, expect, 1e-9);
    /* Once: asking again, or ticking, prices nothing more and asks the provider nothing. */
    calls = f->calls;
    assert_int_equal(zeus_emission_monitor_tick(em), ZEUS_OK);
    assert_int_equal(zeus_emission_monitor_get(em, m.window_id, &again), ZEUS_OK);
    assert_near(again.total_amount, expect, 1e-9);
    assert_int_equal(f->calls, calls);
    for (int k = 0; k < 6; k++)
        assert_int_equal(f->answered[k], 1);
    assert_int_equal(zeus_emission_monitor_forget(em, m.window_id), ZEUS_OK);
    assert_int_equal(zeus_emission_monitor_get(em, m.window_id, &again), ZEUS_ERR_NOT_FOUND);
    assert_int_equal(zeus_emission_monitor_forget(em, m.window_id), ZEUS_ERR_NOT_FOUND);
    zeus_emission_monitor_destroy(em);
    zeus_rate_provider_close(p);
}

static void test_emission_missing_hour_stays_pending_others_priced(void **state)
{
    struct fixture *f = *state;
    zeus_rate_provider *p = make_provider(f, ZEUS_RATE_CARBON);
    zeus_emission_monitor *em = make_em(f, p, NULL);
    zeus_emission_measurement m = new_measurement();
    double h0 = hour_of(T0);

    f->missing_hour = h0 + HOUR; /* no value, and no nearer one (ZEUS_ERR_PROVIDER_NOT_FOUND) */
    assert_int_equal(zeus_emission_monitor_begin_window(em, "w"), ZEUS_OK);
    for (int k = 0; k < 3; k++) {
        spend(f, 1 * KWH, 0, 0, 0);
        f->now = h0 + (k + 1) * HOUR;
        zeus_emission_monitor_tick(em);
    }
    assert_int_equal(zeus_emission_monitor_end_window(em, "w", &m), ZEUS_ERR_PENDING);
    assert_int_equal(m.hours, 4);
    assert_int_equal(m.pending_hours, 1);
    assert_true(m.flags & ZEUS_RATE_PENDING);
    assert_true(m.flags & ZEUS_RATE_EXACT);
    assert_near(m.gpu_amount[0], 100 + 120, 1e-9); /* hour 1 left out until it has a value */
    f->missing_hour = NAN;
    assert_int_equal(zeus_emission_monitor_get(em, m.window_id, &m), ZEUS_OK);
    assert_near(m.gpu_amount[0], 100 + 110 + 120, 1e-9);
    zeus_emission_monitor_destroy(em);
    zeus_rate_provider_close(p);
}

/* ---- Conservation ----------------------------------------------------------------------- */

static void test_emission_buckets_sum_to_the_plain_window_direct(void **state)
{
    struct fixture *f = *state;
    zeus_rate_provider *p = make_provider(f, ZEUS_RATE_CARBON);
    zeus_monitor_options mo;
    zeus_monitor *mon;
    zeus_emission_monitor *em;
    zeus_emission_measurement m = new_measurement();
    zeus_measurement plain;

    zeus_monitor_options_init(&mo);
    mo.direct_reads = 1;
    assert_int_equal(zeus_monitor_create(&mo, &mon), ZEUS_OK);
    em = make_em(f, p, mon); /* borrowed */
    assert_int_equal(zeus_monitor_begin_window(mon, "plain", 0), ZEUS_OK);
    assert_int_equal(zeus_emission_monitor_begin_window(em, "w"), ZEUS_OK);
    for (int k = 0; k < 7; k++) {
        spend(f, 123.456 * (k + 1), 7.001 * k, 3.5, 0.25);
        f->now += 1234.5; /* boundaries every third step or so */
        zeus_emission_monitor_tick(em);
    }
    assert_int_equal(zeus_emission_monitor_end_window(em, "w", &m), ZEUS_OK);
    assert_int_equal(zeus_monitor_end_window(mon, "plain", 0, &plain), ZEUS_OK);
    assert_true(m.hours >= 3);
    /* Within the counters' resolution: 1 mJ (NVML), 1 uJ (RAPL). */
    assert_near(m.gpu_energy_j[0], plain.gpu_energy_j[0], 1e-3);
    assert_near(m.gpu_energy_j[1], plain.gpu_energy_j[1], 1e-3);
    assert_near(m.cpu_energy_j[0], plain.cpu_energy_j[0], 1e-6);
    assert_near(m.dram_energy_j[0], plain.dram_energy_j[0], 1e-6);
    /* Our segments are gone from the borrowed monitor. */
    assert_int_equal(zeus_monitor_open_window_count(mon), 0);
    zeus_emission_monitor_destroy(em);
    zeus_monitor_destroy(mon);
    zeus_rate_provider_close(p);
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

static void test_emission_buckets_sum_to_the_plain_window_sampled(void **state)
{
    struct fixture *f = *state;
    zeus_rate_provider *p = make_provider(f, ZEUS_RATE_CARBON);
    zeus_monitor *mon;
    zeus_emission_monitor *em;
    zeus_emission_measurement m = new_measurement();
    zeus_measurement plain;
    double lost_edges;

    zt_fake_nvml_reset("gpus=1;power_w=300");
    mon = zt_gpu_monitor(NULL);
    em = make_em(f, p, mon);
    assert_int_equal(zeus_monitor_begin_window(mon, "plain", 0), ZEUS_OK);
    assert_int_equal(zeus_emission_monitor_begin_window(em, "w"), ZEUS_OK);
    for (int k = 0; k < 3; k++) {
        sleep_s(0.1);
        f->now += HOUR;
        assert_int_equal(zeus_emission_monitor_tick(em), ZEUS_OK);
    }
    sleep_s(0.1);
    assert_int_equal(zeus_emission_monitor_end_window(em, "w", &m), ZEUS_OK);
    assert_int_equal(zeus_monitor_end_window(mon, "plain", ZEUS_WINDOW_WAIT_FINAL, &plain),
                     ZEUS_OK);
    assert_int_equal(m.hours, 4);
    /* The plain window began before and ended after: what it has more is the time outside
     * (300 W x the difference); the segments' gaps are microseconds. 10 ms of power of slack
     * at each of the 8 segment edges, generous for a loaded machine. */
    lost_edges = 300.0 * (plain.time_s - m.time_s);
    assert_true(m.gpu_energy_j[0] <= plain.gpu_energy_j[0] + 1e-3);
    assert_near(m.gpu_energy_j[0], plain.gpu_energy_j[0] - lost_edges, 300.0 * 0.010 * 8);
    assert_true(m.gpu_energy_j[0] > 300.0 * 0.3); /* at least the 0.4 s slept, less slack */
    zeus_emission_monitor_destroy(em);
    zeus_monitor_destroy(mon);
    zeus_rate_provider_close(p);
}

/* ---- Life cycle and bad calls ----------------------------------------------------------- */

static void test_emission_destroy_with_open_windows(void **state)
{
    struct fixture *f = *state;
    zeus_rate_provider *p = make_provider(f, ZEUS_RATE_CARBON);
    zeus_monitor_options mo;
    zeus_monitor *mon;
    zeus_emission_monitor *em;
    zeus_emission_measurement m = new_measurement();

    zeus_monitor_options_init(&mo);
    mo.direct_reads = 1;
    assert_int_equal(zeus_monitor_create(&mo, &mon), ZEUS_OK);
    em = make_em(f, p, mon);
    assert_int_equal(zeus_emission_monitor_begin_window(em, "a"), ZEUS_OK);
    assert_int_equal(zeus_emission_monitor_begin_window(em, "b"), ZEUS_OK);
    assert_int_equal(zeus_emission_monitor_end_window(em, "b", &m), ZEUS_OK); /* one ended */
    f->now += 2 * HOUR;
    assert_int_equal(zeus_emission_monitor_tick(em), ZEUS_OK);
    assert_int_equal(zeus_monitor_open_window_count(mon), 1);
    zeus_emission_monitor_destroy(em);
    assert_int_equal(zeus_monitor_open_window_count(mon), 0); /* nothing left on the borrowed */
    zeus_monitor_destroy(mon);

    /* With its own monitor and its background thread, on the real clock. */
    {
        zeus_emission_options o;
        zeus_monitor_options own;

        zeus_emission_options_init(&o);
        assert_int_equal(o.background, 1);
        zeus_monitor_options_init(&own);
        own.direct_reads = 1;
        o.monitor_options = &own;
        o.tick_s = 0.01;
        assert_int_equal(zeus_emission_monitor_create(p, &o, &em), ZEUS_OK);
        assert_int_equal(zeus_emission_monitor_begin_window(em, "open"), ZEUS_OK);
        sleep_s(0.05);
        zeus_emission_monitor_destroy(em);
    }
    zeus_emission_monitor_destroy(NULL);
    zeus_rate_provider_close(p);
}

static void test_emission_segment_lost_on_a_borrowed_monitor_is_nan(void **state)
{
    struct fixture *f = *state;
    zeus_rate_provider *p = make_provider(f, ZEUS_RATE_CARBON);
    zeus_monitor_options mo;
    zeus_monitor *mon;
    zeus_emission_monitor *em;
    zeus_emission_measurement m = new_measurement();

    zeus_monitor_options_init(&mo);
    mo.direct_reads = 1;
    assert_int_equal(zeus_monitor_create(&mo, &mon), ZEUS_OK);
    em = make_em(f, p, mon);
    assert_int_equal(zeus_emission_monitor_begin_window(em, "w"), ZEUS_OK);
    spend(f, 1 * KWH, 0, 0, 0);
    assert_int_equal(zeus_monitor_reset_windows(mon), ZEUS_OK); /* the owner drops ours */
    f->now += HOUR;
    zeus_emission_monitor_tick(em); /* the segment is gone; the next one begins */
    spend(f, 1 * KWH, 0, 0, 0);
    /* Never a partial sum as if whole: NAN, and a status that is not "no such window". */
    assert_int_equal(zeus_emission_monitor_end_window(em, "w", &m), ZEUS_ERR_NO_DATA);
    assert_true(isnan(m.gpu_energy_j[0]));
    assert_true(isnan(m.gpu_amount[0]));
    assert_true(isnan(m.total_amount));
    assert_int_equal(zeus_emission_monitor_end_window(em, "w", &m), ZEUS_ERR_NOT_FOUND);
    zeus_emission_monitor_destroy(em);
    zeus_monitor_destroy(mon);
    zeus_rate_provider_close(p);
}

static void test_emission_bad_keys_and_arguments(void **state)
{
    struct fixture *f = *state;
    zeus_rate_provider *p = make_provider(f, ZEUS_RATE_CARBON);
    zeus_emission_monitor *em = make_em(f, p, NULL), *none = NULL;
    zeus_emission_measurement m = new_measurement(), small = new_measurement();
    zeus_emission_options o;

    assert_int_equal(zeus_emission_monitor_create(NULL, NULL, &none), ZEUS_ERR_INVALID_ARGUMENT);
    assert_null(none);
    zeus_emission_options_init(&o);
    o.size = 4;
    assert_int_equal(zeus_emission_monitor_create(p, &o, &none), ZEUS_ERR_INVALID_ARGUMENT);
    assert_null(none);

    assert_int_equal(zeus_emission_monitor_begin_window(em, NULL), ZEUS_ERR_INVALID_ARGUMENT);
    assert_int_equal(zeus_emission_monitor_begin_window(NULL, "x"), ZEUS_ERR_INVALID_ARGUMENT);
    assert_int_equal(zeus_emission_monitor_end_window(em, "nope", &m), ZEUS_ERR_NOT_FOUND);
    assert_int_equal(zeus_emission_monitor_begin_window(em, "x"), ZEUS_OK);
    assert_int_equal(zeus_emission_monitor_begin_window(em, "x"), ZEUS_ERR_ALREADY_EXISTS);
    assert_int_equal(zeus_emission_monitor_end_window(em, "x", NULL), ZEUS_ERR_INVALID_ARGUMENT);
    small.size = 8;
    /* A struct whose size is not set is refused before the window is ended. */
    assert_int_equal(zeus_emission_monitor_end_window(em, "x", &small), ZEUS_ERR_INVALID_ARGUMENT);
    assert_int_equal(zeus_emission_monitor_end_window(em, "x", &m), ZEUS_OK);
    assert_int_equal(zeus_emission_monitor_end_window(em, "x", &m), ZEUS_ERR_NOT_FOUND);
    /* A name may be used again once ended. */
    assert_int_equal(zeus_emission_monitor_begin_window(em, "x"), ZEUS_OK);
    assert_int_equal(zeus_emission_monitor_end_window(em, "x", &m), ZEUS_OK);
    assert_int_equal(m.size, sizeof m);
    assert_int_equal(zeus_emission_monitor_get(em, 987654, &m), ZEUS_ERR_NOT_FOUND);
    assert_int_equal(zeus_emission_monitor_get(em, m.window_id, NULL), ZEUS_ERR_INVALID_ARGUMENT);
    assert_int_equal(zeus_emission_monitor_tick(NULL), ZEUS_ERR_INVALID_ARGUMENT);
    zeus_emission_monitor_destroy(em);
    zeus_rate_provider_close(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_emission_one_boundary_prices_each_hour_with_its_rate,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_emission_late_tick_spreads_over_the_hours_it_spans,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_emission_thirty_boundaries_each_priced_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_emission_nested_and_overlapping_windows, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_emission_provider_down_for_hours_then_back, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_emission_missing_hour_stays_pending_others_priced,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_emission_buckets_sum_to_the_plain_window_direct,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_emission_buckets_sum_to_the_plain_window_sampled,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_emission_destroy_with_open_windows, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_emission_segment_lost_on_a_borrowed_monitor_is_nan,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_emission_bad_keys_and_arguments, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
