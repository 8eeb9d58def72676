/*
 * test_power_monitor.c - The power monitor (zeus_power_monitor_*) over the fake NVML:
 * timelines in order and de-duplicated, energy against hand-computed integrals of the
 * fake's traces (edges included), Zeus's nearest-sample rule, domains that are not
 * monitored or not supported, the inferred period, a device that fails while sampling,
 * stop then destroy with no thread left, two monitors sharing a GPU, and queries racing a
 * stop (run this file under ThreadSanitizer too).
 *
 * The fake's readings change only at its update boundaries (every 100 ms by default), and
 * its square trace's edges fall on boundaries, so the true integral of any whole number of
 * trace periods is known exactly. Tolerances are generous: they allow for a poll landing up
 * to one period after a change, and for the sanitizers' slower threads.
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
#include <time.h>

#include "fake_nvml_control.h"
#include "sysfs_tree.h"
#include "test_support.h"
#include "zeus/zeus.h"

#define NVML_ERROR_UNKNOWN 999
#define ALL_DOMAINS                                                                    \
    (ZEUS_DOMAIN_BIT(ZEUS_POWER_DEVICE_INSTANT) | ZEUS_DOMAIN_BIT(ZEUS_POWER_DEVICE_AVERAGE) | \
     ZEUS_DOMAIN_BIT(ZEUS_POWER_MEMORY_AVERAGE))

/* ---- Fixtures --------------------------------------------------------------------------- */

#define MAX_LIVE 8

struct fixture {
    /* Monitors make() created and the test has not destroyed: a failing assertion leaves
     * its test at once, and teardown destroys these, so that the next test starts on a
     * fake with no sampler left running over it. */
    zeus_power_monitor *live[MAX_LIVE];
    pthread_mutex_t lock;
    char warnings[2048];
    int warning_count;
};

static void record_warning(const char *msg, void *user)
{
    struct fixture *f = user;
    size_t used;

    pthread_mutex_lock(&f->lock);
    f->warning_count++;
    used = strlen(f->warnings);
    snprintf(f->warnings + used, sizeof f->warnings - used, "%s\n", msg);
    pthread_mutex_unlock(&f->lock);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    if (f == NULL)
        return -1;
    pthread_mutex_init(&f->lock, NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    for (int i = 0; i < MAX_LIVE; i++)
        zeus_power_monitor_destroy(f->live[i]);

    pthread_mutex_destroy(&f->lock);
    free(f);
    return 0;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

/* A monitor over the fake set up by `spec`, polling every period_s (0: inferred). */
static zeus_power_monitor *make(struct fixture *f, const char *spec, double period_s,
                                unsigned domains)
{
    zeus_power_monitor_options o;
    zeus_power_monitor *pm = NULL;

    zt_fake_nvml_reset(spec);
    zeus_power_monitor_options_init(&o);
    o.update_period_s = period_s;
    o.domains = domains;
    o.warn = record_warning;
    o.warn_user = f;
    if (zeus_power_monitor_create(&o, &pm) != ZEUS_OK)
        fail_msg("zeus_power_monitor_create: %s", zeus_last_error());
    for (int i = 0; i < MAX_LIVE; i++)
        if (f->live[i] == NULL) {
            f->live[i] = pm;
            break;
        }
    return pm;
}

/* Destroy a monitor, and forget it if make() made it. */
static void destroy(struct fixture *f, zeus_power_monitor *pm)
{
    for (int i = 0; i < MAX_LIVE; i++)
        if (f->live[i] == pm)
            f->live[i] = NULL;
    zeus_power_monitor_destroy(pm);
}

/* The whole timeline of (domain, gpu) into a malloc'd array; *n its length. */
static zeus_sample *timeline(zeus_power_monitor *pm, zeus_power_domain d, unsigned gpu,
                             size_t *n)
{
    size_t count = 0;
    zeus_sample *s;
    zeus_status st = zeus_power_monitor_timeline(pm, d, gpu, NAN, NAN, NULL, &count);

    assert_true(st == ZEUS_OK || st == ZEUS_ERR_INSUFFICIENT_SIZE);
    count += 64; /* room for samples that arrive in between */
    s = calloc(count, sizeof *s);
    assert_int_equal(zeus_power_monitor_timeline(pm, d, gpu, NAN, NAN, s, &count), ZEUS_OK);
    *n = count;
    return s;
}

/* ---- Creating ----------------------------------------------------------------------------- */

static void test_power_create_defaults_sample_every_supported_domain(void **state)
{
    zeus_power_monitor *pm = make(*state, "gpus=2;power_w=300", 0.05, 0);
    unsigned idx[4];

    assert_int_equal(zeus_power_monitor_domains(pm), ALL_DOMAINS);
    assert_int_equal(zeus_power_monitor_gpus(pm, idx, 4), 2);
    assert_int_equal(idx[0], 0);
    assert_int_equal(idx[1], 1);
    assert_near(zeus_power_monitor_update_period(pm), 0.05, 1e-12);
    destroy(*state, pm);
}

static void test_power_create_bad_arguments_are_refused(void **state)
{
    zeus_power_monitor_options o;
    zeus_power_monitor *pm = NULL;
    const unsigned twice[] = {0, 0}, unknown[] = {5};
    (void)state;

    zt_fake_nvml_reset("gpus=2");
    assert_int_equal(zeus_power_monitor_create(NULL, NULL), ZEUS_ERR_INVALID_ARGUMENT);
    zeus_power_monitor_options_init(&o);
    o.gpu_indices = twice;
    o.gpu_index_count = 0;
    assert_int_equal(zeus_power_monitor_create(&o, &pm), ZEUS_ERR_INVALID_ARGUMENT);
    o.gpu_index_count = 2;
    assert_int_equal(zeus_power_monitor_create(&o, &pm), ZEUS_ERR_INVALID_ARGUMENT);
    o.gpu_indices = unknown;
    o.gpu_index_count = 1;
    assert_int_equal(zeus_power_monitor_create(&o, &pm), ZEUS_ERR_NOT_FOUND);
    assert_non_null(strstr(zeus_last_error(), "GPU 5"));
    zeus_power_monitor_options_init(&o);
    o.update_period_s = -1;
    assert_int_equal(zeus_power_monitor_create(&o, &pm), ZEUS_ERR_INVALID_ARGUMENT);
    o.update_period_s = NAN;
    assert_int_equal(zeus_power_monitor_create(&o, &pm), ZEUS_ERR_INVALID_ARGUMENT);
    zeus_power_monitor_options_init(&o);
    o.size = 4;
    assert_int_equal(zeus_power_monitor_create(&o, &pm), ZEUS_ERR_INVALID_ARGUMENT);
    zeus_power_monitor_options_init(&o);
    o.domains = 1u << 5;
    assert_int_equal(zeus_power_monitor_create(&o, &pm), ZEUS_ERR_INVALID_ARGUMENT);
    assert_null(pm);

    zt_fake_nvml_reset("gpus=0");
    assert_int_equal(zeus_power_monitor_create(NULL, &pm), ZEUS_ERR_NOT_FOUND);

    /* Bad handles: NULL is refused, destroy(NULL) is a no-op. */
    assert_int_equal(zeus_power_monitor_stop(NULL), ZEUS_ERR_INVALID_ARGUMENT);
    assert_int_equal(zeus_power_monitor_gpus(NULL, NULL, 0), 0);
    assert_near(zeus_power_monitor_update_period(NULL), 0, 0);
    zeus_power_monitor_destroy(NULL);
}

static void test_power_too_fast_period_warns(void **state)
{
    struct fixture *f = *state;
    zeus_power_monitor *pm = make(f, "power_w=300", 0.01, 0);

    assert_non_null(strstr(f->warnings, "too fast"));
    destroy(*state, pm);
}

/* ---- Domains ------------------------------------------------------------------------------ */

static void test_power_unmonitored_domain_is_invalid(void **state)
{
    zeus_power_monitor *pm =
        make(*state, "power_w=300", 0.05, ZEUS_DOMAIN_BIT(ZEUS_POWER_DEVICE_INSTANT));
    zeus_sample s[4];
    size_t n = 4;
    double w, j, t0 = zeus_now();

    assert_int_equal(zeus_power_monitor_timeline(pm, ZEUS_POWER_DEVICE_AVERAGE, 0, NAN, NAN, s,
                                                 &n),
                     ZEUS_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(zeus_last_error(), "device_average is not being monitored"));
    assert_int_equal(zeus_power_monitor_power(pm, ZEUS_POWER_MEMORY_AVERAGE, 0, NAN, &w),
                     ZEUS_ERR_INVALID_ARGUMENT);
    assert_int_equal(zeus_power_monitor_energy(pm, ZEUS_POWER_DEVICE_AVERAGE, 0, 0, 1, &j),
                     ZEUS_ERR_INVALID_ARGUMENT);
    assert_int_equal(zeus_power_monitor_power(pm, (zeus_power_domain)7, 0, NAN, &w),
                     ZEUS_ERR_INVALID_ARGUMENT);
    /* -1 picks device_instant; a GPU not monitored is not found. */
    assert_int_equal(zeus_power_monitor_energy(pm, -1, 0, t0 - 1, t0, &j), ZEUS_OK);
    assert_int_equal(zeus_power_monitor_energy(pm, -1, 3, 0, 1, &j), ZEUS_ERR_NOT_FOUND);
    assert_int_equal(zeus_power_monitor_power(pm, ZEUS_POWER_DEVICE_INSTANT, 1, NAN, &w),
                     ZEUS_ERR_NOT_FOUND);
    destroy(*state, pm);
}

static void test_power_memory_domain_unsupported_without_memory_power(void **state)
{
    struct fixture *f = *state;
    zeus_power_monitor_options o;
    zeus_power_monitor *pm = NULL;

    zt_fake_nvml_reset("memory_power=0");
    zeus_power_monitor_options_init(&o);
    o.update_period_s = 0.05;
    o.domains = ZEUS_DOMAIN_BIT(ZEUS_POWER_MEMORY_AVERAGE);
    assert_int_equal(zeus_power_monitor_create(&o, &pm), ZEUS_ERR_NOT_SUPPORTED);
    assert_non_null(strstr(zeus_last_error(), "memory_average is not supported"));
    assert_non_null(strstr(zeus_last_error(), "device_instant, device_average"));
    assert_null(pm);

    pm = make(f, "memory_power=0", 0.05, 0); /* all supported: memory left out */
    assert_int_equal(zeus_power_monitor_domains(pm),
                     ZEUS_DOMAIN_BIT(ZEUS_POWER_DEVICE_INSTANT) |
                         ZEUS_DOMAIN_BIT(ZEUS_POWER_DEVICE_AVERAGE));
    destroy(*state, pm);
}

static void test_power_energy_defaults_to_average_without_instant(void **state)
{
    struct fixture *f = *state;
    /* Without power fields only nvmlDeviceGetPowerUsage answers: the average, from Ampere. */
    zeus_power_monitor *pm = make(f, "power_fields=0;power_w=250", 0.05, 0);
    double t = zeus_now(), j;

    assert_int_equal(zeus_power_monitor_domains(pm), ZEUS_DOMAIN_BIT(ZEUS_POWER_DEVICE_AVERAGE));
    assert_non_null(strstr(f->warnings, "device_instant power is not being monitored"));
    sleep_s(0.3); /* only sampled time counts */
    assert_int_equal(zeus_power_monitor_energy(pm, -1, 0, t, t + 0.2, &j), ZEUS_OK);
    assert_near(j, 50.0, 1e-6);
    destroy(*state, pm);
}

/* ---- Timelines ---------------------------------------------------------------------------- */

static void test_power_timeline_constant_trace_is_deduplicated(void **state)
{
    double before = zeus_now();
    zeus_power_monitor *pm = make(*state, "gpus=2;power_w=300", 0.02, 0);
    zeus_sample *s;
    size_t n;

    sleep_s(0.5); /* ~25 polls of an unchanging reading */
    s = timeline(pm, ZEUS_POWER_DEVICE_INSTANT, 1, &n);
    assert_int_equal(n, 1); /* the reading at the start, and no repeat since */
    assert_near(s[0].value, 300.0, 1e-9);
    assert_true(s[0].time_s >= before && s[0].time_s <= zeus_now());
    free(s);
    s = timeline(pm, ZEUS_POWER_MEMORY_AVERAGE, 0, &n);
    assert_int_equal(n, 1);
    assert_near(s[0].value, 46.0, 1e-9); /* the fake's memory power */
    free(s);
    destroy(*state, pm);
}

static void test_power_timeline_square_trace_in_order_with_changes_only(void **state)
{
    zeus_power_monitor *pm =
        make(*state, "trace=square;power_w=300;low_w=100;period_ms=100", 0.05, 0);
    zeus_sample *s, part[8];
    size_t n, k = 8;

    sleep_s(1.6);
    s = timeline(pm, ZEUS_POWER_DEVICE_INSTANT, 0, &n);
    assert_true(n >= 3 && n <= 6); /* changes about every 0.5 s */
    for (size_t i = 0; i < n; i++) {
        assert_true(s[i].value == 300.0 || s[i].value == 100.0);
        if (i > 0) {
            assert_true(s[i].time_s > s[i - 1].time_s);
            assert_true(s[i].value != s[i - 1].value); /* only changes are stored */
            if (i > 1) /* (the first one is the start, stamped when the monitor started) */
                assert_near(s[i].time_s - s[i - 1].time_s, 0.5, 0.1);
        }
    }
    /* Bounds are inclusive. */
    assert_int_equal(zeus_power_monitor_timeline(pm, ZEUS_POWER_DEVICE_INSTANT, 0, s[1].time_s,
                                                 s[2].time_s, part, &k),
                     ZEUS_OK);
    assert_int_equal(k, 2);
    assert_near(part[0].time_s, s[1].time_s, 1e-9);
    assert_near(part[1].time_s, s[2].time_s, 1e-9);
    free(s);
    destroy(*state, pm);
}

static void test_power_timeline_too_small_says_how_many(void **state)
{
    zeus_power_monitor *pm = make(*state, "power_w=300", 0.05, 0);
    zeus_sample one;
    size_t n = 0;

    assert_int_equal(zeus_power_monitor_timeline(pm, ZEUS_POWER_DEVICE_INSTANT, 0, NAN, NAN,
                                                 NULL, &n),
                     ZEUS_ERR_INSUFFICIENT_SIZE);
    assert_int_equal(n, 1);
    assert_int_equal(zeus_power_monitor_timeline(pm, ZEUS_POWER_DEVICE_INSTANT, 0, NAN, NAN,
                                                 &one, &n),
                     ZEUS_OK);
    /* Nothing in a range before the start: OK, none. */
    n = 1;
    assert_int_equal(zeus_power_monitor_timeline(pm, ZEUS_POWER_DEVICE_INSTANT, 0, 0, 1, &one,
                                                 &n),
                     ZEUS_OK);
    assert_int_equal(n, 0);
    assert_int_equal(zeus_power_monitor_timeline(pm, ZEUS_POWER_DEVICE_INSTANT, 0, 0, 1, NULL,
                                                 NULL),
                     ZEUS_ERR_INVALID_ARGUMENT);
    destroy(*state, pm);
}

static void test_power_max_samples_bounds_the_timeline(void **state)
{
    zeus_power_monitor_options o;
    zeus_power_monitor *pm = NULL;
    zeus_sample *s;
    size_t n;
    (void)state;

    zt_fake_nvml_reset("trace=ramp;power_w=300;low_w=100;period_ms=10");
    zeus_power_monitor_options_init(&o);
    o.update_period_s = 0.005;
    o.max_samples = 4;
    o.domains = ZEUS_DOMAIN_BIT(ZEUS_POWER_DEVICE_INSTANT);
    assert_int_equal(zeus_power_monitor_create(&o, &pm), ZEUS_OK);
    sleep_s(0.3); /* ~30 changes */
    s = timeline(pm, ZEUS_POWER_DEVICE_INSTANT, 0, &n);
    assert_true(n >= 2 && n <= 5); /* the start sample and the newest four */
    free(s);
    destroy(*state, pm);
}

/* ---- Power at a time ---------------------------------------------------------------------- */

static void test_power_power_follows_the_nearest_sample_rule(void **state)
{
    zeus_power_monitor *pm =
        make(*state, "trace=square;power_w=300;low_w=100;period_ms=100", 0.05, 0);
    zeus_sample *s;
    size_t n;
    double w, mid;

    sleep_s(1.2);
    assert_int_equal(zeus_power_monitor_stop(pm), ZEUS_OK); /* a fixed timeline */
    s = timeline(pm, ZEUS_POWER_DEVICE_INSTANT, 0, &n);
    assert_true(n >= 3);
    mid = (s[1].time_s + s[2].time_s) / 2;
    assert_int_equal(zeus_power_monitor_power(pm, ZEUS_POWER_DEVICE_INSTANT, 0, mid - 1e-4, &w),
                     ZEUS_OK);
    assert_near(w, s[1].value, 0);
    assert_int_equal(zeus_power_monitor_power(pm, ZEUS_POWER_DEVICE_INSTANT, 0, mid + 1e-4, &w),
                     ZEUS_OK);
    assert_near(w, s[2].value, 0);
    /* Before the first sample: the first; after the last, or NAN: the last. */
    assert_int_equal(zeus_power_monitor_power(pm, ZEUS_POWER_DEVICE_INSTANT, 0, 0.0, &w),
                     ZEUS_OK);
    assert_near(w, s[0].value, 0);
    assert_int_equal(zeus_power_monitor_power(pm, ZEUS_POWER_DEVICE_INSTANT, 0, 1e12, &w),
                     ZEUS_OK);
    assert_near(w, s[n - 1].value, 0);
    assert_int_equal(zeus_power_monitor_power(pm, ZEUS_POWER_DEVICE_INSTANT, 0, NAN, &w),
                     ZEUS_OK);
    assert_near(w, s[n - 1].value, 0);
    assert_int_equal(zeus_power_monitor_power(pm, ZEUS_POWER_DEVICE_INSTANT, 0, NAN, NULL),
                     ZEUS_ERR_INVALID_ARGUMENT);
    free(s);
    destroy(*state, pm);
}

static void test_power_power_while_running_matches_the_timeline(void **state)
{
    zeus_power_monitor *pm =
        make(*state, "trace=square;power_w=300;low_w=100;period_ms=100", 0.05, 0);
    zeus_sample *s;
    size_t n;
    double w;

    sleep_s(1.2);
    s = timeline(pm, ZEUS_POWER_DEVICE_INSTANT, 0, &n);
    assert_true(n >= 3);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(
            zeus_power_monitor_power(pm, ZEUS_POWER_DEVICE_INSTANT, 0, s[i].time_s, &w), ZEUS_OK);
        assert_near(w, s[i].value, 0);
    }
    assert_int_equal(zeus_power_monitor_power(pm, ZEUS_POWER_DEVICE_INSTANT, 0, 0.0, &w),
                     ZEUS_OK);
    assert_near(w, s[0].value, 0);
    free(s);
    destroy(*state, pm);
}

/* ---- Energy ------------------------------------------------------------------------------- */

static void test_power_energy_constant_trace_is_power_times_time(void **state)
{
    zeus_power_monitor *pm = make(*state, "gpus=2;power_w=300", 0.05, 0);
    zeus_power_energy e;
    double t0 = zeus_now(), j;

    sleep_s(0.6);
    assert_int_equal(zeus_power_monitor_energy(pm, ZEUS_POWER_DEVICE_INSTANT, 1, t0, t0 + 0.5,
                                               &j),
                     ZEUS_OK);
    assert_near(j, 150.0, 1e-6);
    /*
     * An interval starting 1 s before the monitor: clipped to the sampled part (t0 was read
     * just after the start), never the 450 J extrapolating the first value would give.
     */
    assert_int_equal(zeus_power_monitor_energy_detail(pm, -1, 0, t0 - 1.0, t0 + 0.5, &e),
                     ZEUS_OK);
    assert_true(e.energy_j >= 150.0 - 1e-6 && e.energy_j < 300.0);
    assert_true(e.flags & ZEUS_ENERGY_VALID);
    assert_true(e.flags & ZEUS_ENERGY_INTEGRATED);
    assert_true(e.flags & ZEUS_ENERGY_CLIPPED);
    assert_false(e.flags & ZEUS_ENERGY_UNCOVERED);
    assert_true(e.extrapolated_s > 0.5 && e.extrapolated_s <= 1.0);
    assert_near(e.update_period_s, 0.05, 1e-12);
    /* Inside the sampled time: nothing left out. */
    assert_int_equal(zeus_power_monitor_energy_detail(pm, -1, 0, t0 + 0.1, t0 + 0.5, &e),
                     ZEUS_OK);
    assert_false(e.flags & (ZEUS_ENERGY_CLIPPED | ZEUS_ENERGY_UNCOVERED));
    assert_near(e.extrapolated_s, 0.0, 0);
    /* Bad intervals. */
    assert_int_equal(zeus_power_monitor_energy(pm, -1, 0, t0 + 1, t0, &j),
                     ZEUS_ERR_INVALID_ARGUMENT);
    assert_int_equal(zeus_power_monitor_energy(pm, -1, 0, NAN, t0, &j),
                     ZEUS_ERR_INVALID_ARGUMENT);
    assert_int_equal(zeus_power_monitor_energy(pm, -1, 0, t0, t0, NULL),
                     ZEUS_ERR_INVALID_ARGUMENT);
    assert_int_equal(zeus_power_monitor_energy(pm, -1, 0, t0, t0, &j), ZEUS_OK);
    assert_near(j, 0.0, 0);
    destroy(*state, pm);
}

static void test_power_energy_square_trace_matches_the_true_integral(void **state)
{
    /* 300 W for 0.5 s, 100 W for 0.5 s: any 2 s holds exactly 400 J. */
    zeus_power_monitor *pm =
        make(*state, "gpus=2;trace=square;power_w=300;low_w=100;period_ms=100", 0.05,
             ZEUS_DOMAIN_BIT(ZEUS_POWER_DEVICE_INSTANT));
    zeus_power_energy e;
    double t0;

    sleep_s(0.13);
    t0 = zeus_now();
    sleep_s(2.2);
    /* Running: the interval ended 0.2 s ago, well inside the sampled time. */
    assert_int_equal(zeus_power_monitor_energy_detail(pm, -1, 0, t0, t0 + 2.0, &e), ZEUS_OK);
    assert_near(e.energy_j, 400.0, 20.0);
    assert_true(e.samples >= 3);
    assert_false(e.flags & ZEUS_ENERGY_ESTIMATED);
    /* Stopped: the same answer from the copy. */
    assert_int_equal(zeus_power_monitor_stop(pm), ZEUS_OK);
    {
        double j;
        assert_int_equal(zeus_power_monitor_energy(pm, -1, 0, t0, t0 + 2.0, &j), ZEUS_OK);
        assert_near(j, e.energy_j, 1e-9);
        assert_int_equal(zeus_power_monitor_energy(pm, -1, 1, t0, t0 + 2.0, &j), ZEUS_OK);
        assert_near(j, 400.0, 20.0);
    }
    destroy(*state, pm);
}

static void test_power_energy_is_additive_over_split_intervals(void **state)
{
    zeus_power_monitor *pm =
        make(*state, "trace=ramp;power_w=400;low_w=100;period_ms=100", 0.05, 0);
    double t0, a, b, whole;

    t0 = zeus_now();
    sleep_s(1.0);
    assert_int_equal(zeus_power_monitor_stop(pm), ZEUS_OK);
    assert_int_equal(zeus_power_monitor_energy(pm, -1, 0, t0, t0 + 0.37, &a), ZEUS_OK);
    assert_int_equal(zeus_power_monitor_energy(pm, -1, 0, t0 + 0.37, t0 + 0.9, &b), ZEUS_OK);
    assert_int_equal(zeus_power_monitor_energy(pm, -1, 0, t0, t0 + 0.9, &whole), ZEUS_OK);
    assert_near(a + b, whole, 1e-9);
    /* The ramp trace averages 250 W over its 1 s period; 0.9 s of it, give or take. */
    assert_true(whole > 0.9 * 100 && whole < 0.9 * 400);
    destroy(*state, pm);
}

static void test_power_stopped_later_intervals_have_no_value(void **state)
{
    zeus_power_monitor *pm = make(*state, "power_w=300", 0.05, 0);
    zeus_power_energy e;
    double t_stop, j;

    assert_int_equal(zeus_power_monitor_stop(pm), ZEUS_OK);
    assert_int_equal(zeus_power_monitor_stop(pm), ZEUS_OK); /* idempotent */
    t_stop = zeus_now();
    assert_int_equal(zeus_power_monitor_energy_detail(pm, -1, 0, t_stop, t_stop + 1, &e),
                     ZEUS_OK);
    assert_true(isnan(e.energy_j));
    assert_int_equal(e.flags, ZEUS_ENERGY_UNCOVERED);
    assert_int_equal(zeus_power_monitor_energy(pm, -1, 0, t_stop, t_stop + 1, &j), ZEUS_OK);
    assert_true(isnan(j));
    destroy(*state, pm);
}

/* Issue 9: 50 s that ended before the monitor existed read 15,000 J at 300 W; 10 s ahead 3,000 J. */
static void test_power_energy_outside_the_sampled_time_is_nan(void **state)
{
    zeus_power_monitor *pm = make(*state, "power_w=300", 0.05, 0);
    zeus_power_energy e;
    double now = zeus_now(), j;

    assert_int_equal(zeus_power_monitor_energy_detail(pm, -1, 0, now - 60, now - 10, &e),
                     ZEUS_OK);
    assert_true(isnan(e.energy_j));
    assert_int_equal(e.flags, ZEUS_ENERGY_UNCOVERED);
    assert_near(e.extrapolated_s, 50.0, 1e-9);
    assert_int_equal(zeus_power_monitor_energy(pm, -1, 0, now + 10, now + 20, &j), ZEUS_OK);
    assert_true(isnan(j));
    assert_int_equal(zeus_power_monitor_energy_detail(pm, -1, 0, now + 10, now + 20, &e),
                     ZEUS_OK);
    assert_int_equal(e.flags, ZEUS_ENERGY_UNCOVERED);
    destroy(*state, pm);
}

/* Partly covered: only the sampled part counts, flagged; the future part adds nothing. */
static void test_power_energy_partly_covered_is_clipped(void **state)
{
    zeus_power_monitor *pm = make(*state, "power_w=300", 0.05, 0);
    zeus_power_energy e;
    double t0 = zeus_now();

    sleep_s(0.3);
    assert_int_equal(zeus_power_monitor_stop(pm), ZEUS_OK);
    assert_int_equal(zeus_power_monitor_energy_detail(pm, -1, 0, t0, t0 + 100, &e), ZEUS_OK);
    assert_true(e.flags & ZEUS_ENERGY_VALID);
    assert_true(e.flags & ZEUS_ENERGY_CLIPPED);
    /* At most the sampled time (well under 100 s) at 300 W, not 30,000 J. */
    assert_true(e.energy_j >= 0.3 * 300 - 1e-6 && e.energy_j < 100 * 300 / 10.0);
    assert_true(e.extrapolated_s > 90 && e.extrapolated_s < 100);
    destroy(*state, pm);
}

/* Extreme but finite times clip to the sampled span: never negative or absurd joules. */
static void test_power_energy_extreme_times_stay_bounded(void **state)
{
    static const double lo[] = {-1e308, -1e18, -1e308, 0};
    static const double hi[] = {1e308, 1e18, 0, 1e18};
    zeus_power_monitor *pm = make(*state, "power_w=300", 0.05, 0);
    double t0 = zeus_now(), j;
    zeus_power_energy e;

    sleep_s(0.2);
    assert_int_equal(zeus_power_monitor_stop(pm), ZEUS_OK);
    for (size_t i = 0; i < sizeof lo / sizeof lo[0]; i++) {
        assert_int_equal(zeus_power_monitor_energy_detail(pm, -1, 0, lo[i], hi[i], &e), ZEUS_OK);
        if (i == 2) { /* wholly before the monitor (CLOCK_MONOTONIC is positive) */
            assert_true(isnan(e.energy_j));
            assert_int_equal(e.flags, ZEUS_ENERGY_UNCOVERED);
            continue;
        }
        assert_true(e.flags & ZEUS_ENERGY_CLIPPED);
        assert_true(e.energy_j >= 0.2 * 300 - 1e-6);
        assert_true(e.energy_j < 300.0 * 10); /* the monitor ran well under 10 s */
    }
    assert_int_equal(zeus_power_monitor_energy(pm, -1, 0, 1e308, INFINITY, &j),
                     ZEUS_ERR_INVALID_ARGUMENT);
    assert_int_equal(zeus_power_monitor_energy(pm, -1, 0, -INFINITY, t0, &j),
                     ZEUS_ERR_INVALID_ARGUMENT);
    assert_int_equal(zeus_power_monitor_energy(pm, -1, 0, t0, NAN, &j),
                     ZEUS_ERR_INVALID_ARGUMENT);
    destroy(*state, pm);
}

/* ---- The inferred period ------------------------------------------------------------------ */

static void test_power_period_inferred_from_100ms_updates(void **state)
{
    zeus_power_monitor *pm = make(*state, "trace=ramp;power_w=300;low_w=100;period_ms=100", 0, 0);

    assert_near(zeus_power_monitor_update_period(pm), 0.05, 0.005);
    destroy(*state, pm);
}

static void test_power_period_inferred_from_10ms_updates(void **state)
{
    zeus_power_monitor *pm = make(*state, "trace=ramp;power_w=300;low_w=100;period_ms=10", 0, 0);

    assert_near(zeus_power_monitor_update_period(pm), 0.005, 0.001);
    destroy(*state, pm);
}

/* ---- A device failing --------------------------------------------------------------------- */

static void fails_mid_sampling(void **state, const char *spec, const char *function,
                               zeus_power_domain domain)
{
    zeus_power_monitor *pm = make(*state, spec, 0.05, ZEUS_DOMAIN_BIT(domain));
    zeus_sample *s;
    size_t n1, n2, n3;
    double w, j, t0 = zeus_now();

    sleep_s(0.35);
    free(timeline(pm, domain, 0, &n1));
    assert_true(n1 >= 2);
    zt_fake_nvml_fail(function, 0, NVML_ERROR_UNKNOWN, -1);
    sleep_s(0.5);

    /* Still answering, with what was sampled. */
    s = timeline(pm, domain, 0, &n2);
    assert_true(n2 <= n1 + 1); /* at most a poll that was under way */
    assert_int_equal(zeus_power_monitor_power(pm, domain, 0, NAN, &w), ZEUS_OK);
    assert_near(w, s[n2 - 1].value, 0);
    assert_int_equal(zeus_power_monitor_energy(pm, (int)domain, 0, t0, zeus_now(), &j), ZEUS_OK);
    assert_true(isfinite(j) && j > 0);
    free(s);

    /* The sampler kept going: readings come back when the device does. */
    zt_fake_nvml_fail(function, 0, 0, 0);
    sleep_s(0.5);
    free(timeline(pm, domain, 0, &n3));
    assert_true(n3 > n2);
    assert_int_equal(zeus_power_monitor_stop(pm), ZEUS_OK);
    destroy(*state, pm);
}

static void test_power_field_values_failing_mid_sampling_keeps_answering(void **state)
{
    fails_mid_sampling(state, "trace=ramp;power_w=300;low_w=100;period_ms=100",
                       "nvmlDeviceGetFieldValues", ZEUS_POWER_DEVICE_INSTANT);
}

static void test_power_power_usage_failing_mid_sampling_keeps_answering(void **state)
{
    /* Without power fields the average domain is read through nvmlDeviceGetPowerUsage. */
    fails_mid_sampling(state, "power_fields=0;trace=ramp;power_w=300;low_w=100;period_ms=100",
                       "nvmlDeviceGetPowerUsage", ZEUS_POWER_DEVICE_AVERAGE);
}

static void test_power_device_failing_before_start_is_reported(void **state)
{
    zeus_power_monitor_options o;
    zeus_power_monitor *holder = NULL, *pm = NULL;
    const unsigned gpu0[] = {0}, gpu1[] = {1};
    zeus_status s;
    (void)state;

    /*
     * A monitor on GPU 1 keeps the sampler's device handle open, probed while GPU 0's power
     * fields worked. Then they fail: this monitor's own probe finds only the average through
     * nvmlDeviceGetPowerUsage, while the sampler reads field 185, which fails every time.
     */
    zt_fake_nvml_reset("gpus=2;power_w=300");
    zeus_power_monitor_options_init(&o);
    o.update_period_s = 0.05;
    o.gpu_indices = gpu1;
    o.gpu_index_count = 1;
    assert_int_equal(zeus_power_monitor_create(&o, &holder), ZEUS_OK);
    zt_fake_nvml_fail("nvmlDeviceGetFieldValues", 0, NVML_ERROR_UNKNOWN, -1);
    o.gpu_indices = gpu0;
    o.gpu_index_count = 1;
    s = zeus_power_monitor_create(&o, &pm);
    zt_fake_nvml_fail("nvmlDeviceGetFieldValues", 0, 0, 0);
    assert_int_equal(s, ZEUS_ERR_UNKNOWN); /* the device's error, not a timeout */
    assert_non_null(strstr(zeus_last_error(), "GPU 0 gave no power reading"));
    assert_null(pm);
    zeus_power_monitor_destroy(holder);
}

/* ---- Threads ------------------------------------------------------------------------------ */

static void test_power_stop_then_destroy_leaves_no_thread(void **state)
{
    int before = zt_thread_count();
    double made = zeus_now(), j, t;
    zeus_power_monitor *pm = make(*state, "gpus=2;power_w=300", 0.05, 0);
    size_t n;

    assert_true(before > 0);
    assert_true(zt_thread_count() > before);
    assert_int_equal(zeus_power_monitor_stop(pm), ZEUS_OK);
    assert_int_equal(zt_thread_count(), before); /* the samplers were joined at stop */
    /* The copy answers. */
    free(timeline(pm, ZEUS_POWER_DEVICE_AVERAGE, 1, &n));
    assert_int_equal(n, 1);
    t = zeus_now();
    assert_int_equal(zeus_power_monitor_energy(pm, -1, 1, t - 1, t, &j), ZEUS_OK);
    assert_true(j > 0 && j <= 300.0 * (t - made)); /* the sampled part only */
    destroy(*state, pm);
    assert_int_equal(zt_thread_count(), before);

    /* Destroy without stop joins them too. */
    pm = make(*state, "gpus=2;power_w=300", 0.05, 0);
    destroy(*state, pm);
    assert_int_equal(zt_thread_count(), before);
}

static void test_power_two_monitors_share_a_gpu(void **state)
{
    struct fixture *f = *state;
    zeus_power_monitor_options o;
    zeus_power_monitor *first = make(f, "power_w=300", 0.05, 0), *second = NULL;
    int threads = zt_thread_count();
    zeus_sample *s;
    size_t n;
    double created, j;

    sleep_s(0.2);
    zt_fake_nvml()->set_power_mw(0, 500000);
    sleep_s(0.3);
    zeus_power_monitor_options_init(&o);
    o.update_period_s = 0.05;
    created = zeus_now();
    assert_int_equal(zeus_power_monitor_create(&o, &second), ZEUS_OK);
    assert_int_equal(zt_thread_count(), threads); /* the same sampler thread */

    /* The second monitor's timeline starts at its own start, at the power then. */
    s = timeline(second, ZEUS_POWER_DEVICE_INSTANT, 0, &n);
    assert_int_equal(n, 1);
    assert_true(s[0].time_s >= created);
    assert_near(s[0].value, 500.0, 1e-9);
    free(s);
    /* The first one saw both levels. */
    s = timeline(first, ZEUS_POWER_DEVICE_INSTANT, 0, &n);
    assert_int_equal(n, 2);
    assert_near(s[0].value, 300.0, 1e-9);
    assert_near(s[1].value, 500.0, 1e-9);
    free(s);

    /* Stopping one leaves the other sampling. */
    assert_int_equal(zeus_power_monitor_stop(first), ZEUS_OK);
    zt_fake_nvml()->set_power_mw(0, 200000);
    sleep_s(0.3);
    s = timeline(second, ZEUS_POWER_DEVICE_INSTANT, 0, &n);
    assert_int_equal(n, 2);
    assert_near(s[1].value, 200.0, 1e-9);
    free(s);
    assert_int_equal(zeus_power_monitor_energy(first, -1, 0, created - 0.1, created, &j),
                     ZEUS_OK);
    assert_near(j, 50.0, 1e-6); /* 500 W, from the copy */
    destroy(f, first);
    zeus_power_monitor_destroy(second);
}

struct racer {
    zeus_power_monitor *pm;
    double t0;
    int failures;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    double end = zeus_now() + 0.5, w, j;
    zeus_sample s[16];

    while (zeus_now() < end) {
        size_t n = 16;
        zeus_status st = zeus_power_monitor_timeline(r->pm, ZEUS_POWER_DEVICE_INSTANT, 0, NAN,
                                                     NAN, s, &n);
        if (st != ZEUS_OK && st != ZEUS_ERR_INSUFFICIENT_SIZE)
            r->failures++;
        if (zeus_power_monitor_power(r->pm, ZEUS_POWER_DEVICE_INSTANT, 0, NAN, &w) != ZEUS_OK)
            r->failures++;
        if (zeus_power_monitor_energy(r->pm, -1, 0, r->t0, zeus_now(), &j) != ZEUS_OK ||
            !isfinite(j))
            r->failures++;
    }
    return NULL;
}

static void test_power_queries_race_with_stop(void **state)
{
    zeus_power_monitor *pm =
        make(*state, "trace=ramp;power_w=300;low_w=100;period_ms=10", 0.005, 0);
    struct racer r[4];
    pthread_t th[4];

    for (int i = 0; i < 4; i++) {
        r[i] = (struct racer){.pm = pm, .t0 = zeus_now()};
        assert_int_equal(pthread_create(&th[i], NULL, race, &r[i]), 0);
    }
    sleep_s(0.2);
    assert_int_equal(zeus_power_monitor_stop(pm), ZEUS_OK);
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(r[i].failures, 0);
    }
    destroy(*state, pm);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_power_create_defaults_sample_every_supported_domain),
        T(test_power_create_bad_arguments_are_refused),
        T(test_power_too_fast_period_warns),
        T(test_power_unmonitored_domain_is_invalid),
        T(test_power_memory_domain_unsupported_without_memory_power),
        T(test_power_energy_defaults_to_average_without_instant),
        T(test_power_timeline_constant_trace_is_deduplicated),
        T(test_power_timeline_square_trace_in_order_with_changes_only),
        T(test_power_timeline_too_small_says_how_many),
        T(test_power_max_samples_bounds_the_timeline),
        T(test_power_power_follows_the_nearest_sample_rule),
        T(test_power_power_while_running_matches_the_timeline),
        T(test_power_energy_constant_trace_is_power_times_time),
        T(test_power_energy_square_trace_matches_the_true_integral),
        T(test_power_energy_is_additive_over_split_intervals),
        T(test_power_stopped_later_intervals_have_no_value),
        T(test_power_energy_outside_the_sampled_time_is_nan),
        T(test_power_energy_partly_covered_is_clipped),
        T(test_power_energy_extreme_times_stay_bounded),
        T(test_power_period_inferred_from_100ms_updates),
        T(test_power_period_inferred_from_10ms_updates),
        T(test_power_field_values_failing_mid_sampling_keeps_answering),
        T(test_power_power_usage_failing_mid_sampling_keeps_answering),
        T(test_power_device_failing_before_start_is_reported),
        T(test_power_stop_then_destroy_leaves_no_thread),
        T(test_power_two_monitors_share_a_gpu),
        T(test_power_queries_race_with_stop),
    };
#undef T
    return cmocka_run_group_tests_name("power_monitor", tests, NULL, NULL);
}
