/*
 * test_profile.c - Thermally stable profiling (zeus_profile_*) over the fake NVML: measure()
 * runs ceil(duration / iteration time) calls at the fake's power after the cooldown; the
 * statistics of a sweep (mean, sample std, validity) from energies set exactly; a
 * simulated GPU that heats while it works and cools while it sleeps, whose cooldown sweep
 * shows the temperature settling and only the settled cooldowns valid; both sweeps with
 * warmup trials once; reductions across (simulated) processes; the text of a result; bad
 * arguments; a failing workload, reduce and sensor.
 *
 * Durations are tens of milliseconds. Times are asserted only from below (a loaded machine
 * makes everything slower, never faster); energies that depend on time are checked against
 * power x the measured time, and exact energies come from the fake's manual counters.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake_nvml_control.h"
#include "test_support.h"
#include "zeus/zeus.h"

#define NVML_ERROR_GPU_IS_LOST 15
#define NVML_ERROR_UNKNOWN 999
#define MAX_CALLS 4096

/* ---- Fixtures ----------------------------------------------------------------------------- */

static double now_s(void)
{
    return zeus_now();
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* What the workload and the callbacks saw. */
struct calls {
    unsigned n;               /* workload calls */
    unsigned fail_at;         /* return -7 on this call (1-based); 0: never */
    unsigned lose_gpu_at;     /* GPU 0 falls off the bus during this call; 0: never */
    double work_s;            /* each call sleeps this long */
    double at_s[MAX_CALLS];   /* when each call began */
    unsigned per_call_mj[16]; /* manual mode: energy added per call, by trial */
    unsigned calls_per_trial; /* manual mode: calls in one trial */
    unsigned syncs;
    unsigned reduces[ZEUS_REDUCE_MAX + 1]; /* by op */
    int reduce_fails;         /* reduce returns this when non-zero */
    char log[8192];
};

static int workload(void *user)
{
    struct calls *c = user;
    unsigned i = c->n++;

    if (i < MAX_CALLS)
        c->at_s[i] = now_s();
    if (c->fail_at != 0 && c->n == c->fail_at)
        return -7;
    if (c->lose_gpu_at != 0 && c->n == c->lose_gpu_at)
        zt_fake_nvml_fail("nvmlDeviceGetTotalEnergyConsumption", 0, NVML_ERROR_GPU_IS_LOST, -1);
    if (c->calls_per_trial != 0)
        zt_fake_nvml()->add_energy_mj(0, c->per_call_mj[i / c->calls_per_trial % 16]);
    if (c->work_s > 0)
        sleep_s(c->work_s);
    return 0;
}

static void count_sync(void *user)
{
    ((struct calls *)user)->syncs++;
}

static void keep_log(const char *message, void *user)
{
    struct calls *c = user;
    size_t used = strlen(c->log);
    snprintf(c->log + used, sizeof c->log - used, "%s\n", message);
}

/* Two identical processes: sums double, maxima stay. */
static int two_ranks(double *values, size_t n, zeus_reduce_op op, void *user)
{
    struct calls *c = user;

    c->reduces[op]++;
    if (c->reduce_fails)
        return c->reduce_fails;
    if (op == ZEUS_REDUCE_SUM)
        for (size_t i = 0; i < n; i++)
            values[i] *= 2;
    return 0;
}

static int setup(void **state)
{
    struct calls *c = calloc(1, sizeof *c);
    if (c == NULL)
        return -1;
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

/* A monitor over GPU 0 (no CPUs), direct or sampled, syncing through count_sync. */
static zeus_monitor *make_monitor(const char *spec, int direct, struct calls *c)
{
    zeus_monitor_options o;
    zeus_monitor *mon = NULL;
    unsigned gpu = 0, none = 0;

    zt_fake_nvml_reset(spec);
    zeus_monitor_options_init(&o);
    o.gpu_indices = &gpu;
    o.gpu_index_count = 1;
    o.cpu_indices = &none;
    o.cpu_index_count = 0;
    o.direct_reads = direct;
    o.sync = count_sync;
    o.sync_user = c;
    if (zeus_monitor_create(&o, &mon) != ZEUS_OK)
        fail_msg("zeus_monitor_create: %s", zeus_last_error());
    return mon;
}

/* Options for quick runs: iteration duration given, no warmup, one trial per value. */
static zeus_profile_options quick_options(void)
{
    zeus_profile_options o;

    zeus_profile_options_init(&o);
    o.iteration_duration_s = 0.001;
    o.num_warmup_iterations = 0;
    o.num_warmup_trials = 0;
    o.num_trials = 1;
    o.cooldown_duration_s = 0;
    o.measurement_duration_s = 0.0045;
    return o;
}

/* ---- Options ------------------------------------------------------------------------------ */

static void test_profile_options_init_has_zeus_defaults(void **state)
{
    zeus_profile_options o;
    (void)state;

    zeus_profile_options_init(&o);
    assert_int_equal(o.size, sizeof o);
    assert_null(o.measurement_durations_s);
    assert_null(o.cooldown_durations_s);
    assert_near(o.measurement_duration_s, 10.0, 0);
    assert_near(o.cooldown_duration_s, 10.0, 0);
    assert_int_equal(o.num_trials, 10);
    assert_int_equal(o.num_warmup_trials, 2);
    assert_near(o.trial_stddev_threshold_j, 0.01, 0);
    assert_int_equal(o.num_warmup_iterations, 10);
    assert_int_equal(o.num_calibration_iterations, 100);
    assert_near(o.iteration_duration_s, 0, 0);
    assert_true(isnan(o.warmup_settle_duration_s));
    assert_null(o.reduce);
    assert_null(o.log);
}

/* ---- measure ------------------------------------------------------------------------------ */

static void test_profile_measure_runs_ceil_duration_at_fake_power(void **state)
{
    struct calls *c = *state;
    zeus_monitor *mon = make_monitor("gpus=1;power_w=300;temp_c=47", 0, c);
    zeus_profile_options o;
    zeus_profile_trial t;
    unsigned first_warmup;

    zeus_profile_options_init(&o);
    o.num_warmup_iterations = 3;
    o.num_calibration_iterations = 10;
    c->work_s = 0.002;
    assert_int_equal(zeus_profile_measure(workload, c, mon, 0.05, 0.03, &o, &t), ZEUS_OK);

    /* Every call sleeps 2 ms, so the calibrated duration is >= 2 ms: at most 25 calls. */
    assert_true(t.iterations >= 2 && t.iterations <= 25);
    assert_int_equal(c->n, 3 + 10 + 3 + t.iterations);
    assert_int_equal(c->syncs, 4); /* two around calibration, after warmup, at window end */
    first_warmup = 13;
    assert_true(c->at_s[first_warmup] - c->at_s[first_warmup - 1] >= 0.03 + 0.002 - 1e-3);
    assert_true(t.total_time_s >= 0.002 * (double)t.iterations);
    assert_near(t.time_per_iter_s, t.total_time_s / (double)t.iterations, 1e-12);
    assert_near(t.total_energy_j, 300.0 * t.total_time_s, 300.0 * t.total_time_s * 0.03 + 0.01);
    assert_near(t.energy_per_iter_j, t.total_energy_j / (double)t.iterations, 1e-12);
    assert_near(t.temperature_before_c, 47, 0);
    assert_near(t.temperature_after_c, 47, 0);
    assert_int_equal(zeus_monitor_open_window_count(mon), 0);
    zeus_monitor_destroy(mon);
}

static void test_profile_measure_given_iteration_duration_skips_calibration(void **state)
{
    struct calls *c = *state;
    zeus_monitor *mon = make_monitor("gpus=1;power_w=300;period_ms=5", 1, c);
    zeus_profile_options o;
    zeus_profile_trial t;

    zeus_profile_options_init(&o);
    o.iteration_duration_s = 0.003;
    o.num_warmup_iterations = 2;
    assert_int_equal(zeus_profile_measure(workload, c, mon, 0.05, 0, &o, &t), ZEUS_OK);
    assert_int_equal(t.iterations, 17); /* ceil(0.05 / 0.003) = ceil(16.7) */
    assert_int_equal(c->n, 2 + 17);
    assert_int_equal(c->syncs, 2);

    c->n = 0; /* a zero duration still runs one call, as in Zeus */
    assert_int_equal(zeus_profile_measure(workload, c, mon, 0, 0, &o, &t), ZEUS_OK);
    assert_int_equal(t.iterations, 1);
    assert_int_equal(c->n, 2 + 1);

    c->n = 0; /* warmup_settle_duration_s replaces the warmup count: ceil(0.01 / 0.003) */
    o.warmup_settle_duration_s = 0.01;
    assert_int_equal(zeus_profile_measure(workload, c, mon, 0.005, 0, &o, &t), ZEUS_OK);
    assert_int_equal(t.iterations, 2);
    assert_int_equal(c->n, 4 + 2);
    zeus_monitor_destroy(mon);
}

/* ---- Statistics ----------------------------------------------------------------------------- */

/* Manual counters: trial k adds per_call_mj[k] per call, 5 calls per trial, nothing else. */
static zeus_monitor *exact_energy(struct calls *c, const unsigned *mj, size_t n)
{
    zeus_monitor *mon = make_monitor("gpus=1", 1, c);

    zt_fake_nvml()->set_energy_mj(0, 1000);
    c->calls_per_trial = 5; /* quick_options: ceil(0.0045 / 0.001) */
    memcpy(c->per_call_mj, mj, n * sizeof *mj);
    return mon;
}

static void test_profile_sweep_mean_std_and_validity(void **state)
{
    static const unsigned mj[] = {100, 102, 104, 110, 110, 110};
    static const double durations[] = {0.0045, 0.0045};
    struct calls *c = *state;
    zeus_monitor *mon = exact_energy(c, mj, 6);
    zeus_profile_options o = quick_options();
    zeus_profile_report r;
    const zeus_profile_sweep_result *e;

    o.measurement_durations_s = durations;
    o.measurement_duration_count = 2;
    o.num_trials = 3;
    o.trial_stddev_threshold_j = 0.0021;
    assert_int_equal(zeus_profile_measurement_duration(workload, c, mon, &o, &r), ZEUS_OK);
    assert_int_equal(r.sweep_param, ZEUS_PROFILE_MEASUREMENT_DURATION);
    assert_int_equal(r.fixed_param, ZEUS_PROFILE_COOLDOWN_DURATION);
    assert_near(r.fixed_value_s, 0, 0);
    assert_int_equal(r.entry_count, 2);
    assert_int_equal(r.sweep_value_count, 2);
    assert_ptr_not_equal(r.sweep_values_s, durations); /* copied */
    assert_near(r.sweep_values_s[1], 0.0045, 0);

    e = &r.entries[0];
    assert_int_equal(e->trial_count, 3);
    assert_int_equal(e->trials[2].iterations, 5);
    assert_near(e->trials[0].energy_per_iter_j, 0.100, 1e-9);
    assert_near(e->trials[2].total_energy_j, 0.520, 1e-9);
    assert_near(e->energy_mean_j, 0.102, 1e-9);
    assert_near(e->energy_std_j, 0.002, 1e-9); /* sample std of 100, 102, 104 mJ */
    assert_near(e->avg_total_energy_j, 0.510, 1e-9);
    assert_true(e->is_valid); /* 0.002 < 0.0021 */
    assert_near(r.entries[1].energy_std_j, 0, 1e-12);
    assert_true(r.entries[1].is_valid);
    zeus_profile_report_fini(&r);

    /* Same energies, a threshold just below the std: invalid (std < threshold is strict). */
    c->n = 0;
    o.trial_stddev_threshold_j = 0.0019;
    assert_int_equal(zeus_profile_measurement_duration(workload, c, mon, &o, &r), ZEUS_OK);
    assert_false(r.entries[0].is_valid);
    assert_true(r.entries[1].is_valid);
    zeus_profile_report_fini(&r);
    zeus_profile_report_fini(&r); /* twice is harmless */
    zeus_monitor_destroy(mon);
}

static void test_profile_single_trial_has_zero_std(void **state)
{
    static const unsigned mj[] = {100, 300};
    struct calls *c = *state;
    zeus_monitor *mon = exact_energy(c, mj, 2);
    zeus_profile_options o = quick_options();
    zeus_profile_report r;

    o.measurement_durations_s = (const double[]){0.0045, 0.0045};
    o.measurement_duration_count = 2;
    o.trial_stddev_threshold_j = 0; /* 0 < 0 is false: nothing is valid */
    assert_int_equal(zeus_profile_measurement_duration(workload, c, mon, &o, &r), ZEUS_OK);
    assert_near(r.entries[0].energy_std_j, 0, 0);
    assert_near(r.entries[1].energy_mean_j, 0.300, 1e-9);
    assert_false(r.entries[0].is_valid);
    zeus_profile_report_fini(&r);
    zeus_monitor_destroy(mon);
}

/* ---- A GPU that heats and cools --------------------------------------------------------- */

/*
 * A first-order thermal model of GPU 0. Each workload call adds energy that grows with the
 * temperature (leakage: 100 mJ + 5 mJ per degree above idle) and then heats the GPU 3% of
 * the way to 100 C. Once no call has come for `grace` (25 ms), the GPU cools towards 40 C
 * with a 10 ms time constant; a thread publishes the temperature every millisecond. Heating
 * counts calls, not time, so a slow machine changes little; only a cooldown long enough to
 * get back to idle makes every trial start alike.
 */
struct thermal {
    struct calls *calls;
    pthread_mutex_t lock;
    pthread_t thread;
    int stop;
    double temp_c; /* at last_s */
    double last_s; /* end of the last call */
};

#define IDLE_C 40.0
#define HOT_C 100.0
#define HEAT 0.03
#define TAU_S 0.010
#define GRACE_S 0.025

static double temperature_at(const struct thermal *th, double t)
{
    double idle_s = t - th->last_s - GRACE_S;
    return idle_s <= 0 ? th->temp_c : IDLE_C + (th->temp_c - IDLE_C) * exp(-idle_s / TAU_S);
}

static void publish(double temp_c)
{
    zt_fake_nvml()->set_temperature_c(0, (unsigned)lround(temp_c));
}

static void *thermal_thread(void *arg)
{
    struct thermal *th = arg;

    pthread_mutex_lock(&th->lock);
    while (!th->stop) {
        publish(temperature_at(th, now_s()));
        pthread_mutex_unlock(&th->lock);
        sleep_s(0.001);
        pthread_mutex_lock(&th->lock);
    }
    pthread_mutex_unlock(&th->lock);
    return NULL;
}

static int hot_workload(void *user)
{
    struct thermal *th = user;
    double t;

    th->calls->n++;
    pthread_mutex_lock(&th->lock);
    t = temperature_at(th, now_s());
    zt_fake_nvml()->add_energy_mj(0, (unsigned long long)lround(100 + 5 * (t - IDLE_C)));
    th->temp_c = t + HEAT * (HOT_C - t);
    th->last_s = now_s();
    publish(th->temp_c);
    pthread_mutex_unlock(&th->lock);
    sleep_s(0.001);
    pthread_mutex_lock(&th->lock);
    th->last_s = now_s();
    pthread_mutex_unlock(&th->lock);
    return 0;
}

static void test_profile_cooldown_sweep_valid_where_temperature_settled(void **state)
{
    /*
     * No cooldown, then cooldowns of 3.5 tau and more past the grace. A cooldown that cools
     * for only a tau or two is left out: the trials then converge to a warm periodic state
     * within a trial or two, so whether four of them agree depends on how late the machine
     * wakes from each sleep (simulating this model, std 0.004-0.014 J as the wake-up comes
     * 0-20 ms late; an ASan run found such an entry valid at 54 C).
     */
    static const double cooldowns[] = {0, 0.06, 0.1, 0.25};
    struct calls *c = *state;
    zeus_monitor *mon = make_monitor("gpus=1;temp_c=40", 1, c);
    struct thermal th = {.calls = c, .temp_c = IDLE_C, .last_s = now_s()};
    zeus_profile_options o;
    zeus_profile_report r;
    double settled;

    zt_fake_nvml()->set_energy_mj(0, 0);
    pthread_mutex_init(&th.lock, NULL);
    assert_int_equal(pthread_create(&th.thread, NULL, thermal_thread, &th), 0);
    zeus_profile_options_init(&o);
    o.cooldown_durations_s = cooldowns;
    o.cooldown_duration_count = 4;
    o.measurement_duration_s = 0.02; /* 20 calls */
    o.iteration_duration_s = 0.001;
    o.num_warmup_iterations = 3;
    o.num_trials = 4;
    o.num_warmup_trials = 1;
    assert_int_equal(zeus_profile_cooldown_duration(hot_workload, &th, mon, &o, &r), ZEUS_OK);
    pthread_mutex_lock(&th.lock);
    th.stop = 1;
    pthread_mutex_unlock(&th.lock);
    pthread_join(th.thread, NULL);
    pthread_mutex_destroy(&th.lock);

    for (size_t i = 0; i < r.entry_count; i++) {
        char line[ZEUS_PROFILE_LINE_LEN];
        assert_int_equal(zeus_profile_sweep_result_format(&r.entries[i], line, sizeof line),
                         ZEUS_OK);
        print_message("%s\n", line);
    }
    assert_int_equal(c->n, 20 + 4 * 4 * (3 + 20)); /* one warmup trial without warmup calls */
    settled = r.entries[3].avg_temperature_before_c;
    assert_true(settled < IDLE_C + 10); /* three warmup calls from idle: about 45 C */
    /* No cooldown: each trial starts hotter than the last. */
    assert_false(r.entries[0].is_valid);
    assert_true(r.entries[0].avg_temperature_before_c > settled + 10);
    assert_true(r.entries[0].trials[3].temperature_before_c >
                r.entries[0].trials[0].temperature_before_c);
    /* Longer cooldowns bring the starting temperature down to the steady value. */
    for (size_t i = 1; i < r.entry_count; i++)
        assert_true(r.entries[i].avg_temperature_before_c <=
                    r.entries[i - 1].avg_temperature_before_c + 1);
    assert_true(r.entries[1].avg_temperature_before_c < r.entries[0].avg_temperature_before_c - 20);
    assert_true(r.entries[2].is_valid);
    assert_true(r.entries[3].is_valid);
    /* Valid only where the temperature had settled. */
    for (size_t i = 0; i < r.entry_count; i++)
        if (r.entries[i].is_valid)
            assert_true(r.entries[i].avg_temperature_before_c <= settled + 1.5);
    zeus_profile_report_fini(&r);
    zeus_monitor_destroy(mon);
}

/* ---- Both sweeps ---------------------------------------------------------------------------- */

static void test_profile_parameters_fixes_the_other_maximum_and_warms_up_once(void **state)
{
    struct calls *c = *state;
    zeus_monitor *mon = make_monitor("gpus=1;power_w=300;period_ms=5", 1, c);
    zeus_profile_options o = quick_options();
    zeus_profile_report m, cd;

    o.measurement_durations_s = (const double[]){0.0045, 0.0025};    /* 5 and 3 calls */
    o.measurement_duration_count = 2;
    o.cooldown_durations_s = (const double[]){0.01, 0.02, 0.005};
    o.cooldown_duration_count = 3;
    o.num_warmup_trials = 2;
    o.num_warmup_iterations = 1;
    o.num_trials = 2;
    o.log = keep_log;
    o.log_user = c;
    assert_int_equal(zeus_profile_parameters(workload, c, mon, &o, &m, &cd), ZEUS_OK);

    assert_int_equal(m.sweep_param, ZEUS_PROFILE_MEASUREMENT_DURATION);
    assert_near(m.fixed_value_s, 0.02, 0); /* the largest cooldown */
    assert_near(m.entries[1].cooldown_duration_s, 0.02, 0);
    assert_int_equal(m.entries[1].trials[0].iterations, 3);
    assert_int_equal(cd.sweep_param, ZEUS_PROFILE_COOLDOWN_DURATION);
    assert_near(cd.fixed_value_s, 0.0045, 0); /* the largest measurement duration */
    assert_near(cd.entries[2].cooldown_duration_s, 0.005, 0);
    assert_int_equal(cd.entries[2].trials[1].iterations, 5);
    /* 2 warmup trials of 5 calls (first sweep only), then (1 + 5) and (1 + 3) per trial, then
     * 3 cooldowns x 2 trials of (1 + 5). No calibration: the duration was given. */
    assert_int_equal(c->n, 2 * 5 + 2 * (6 + 4) + 3 * 2 * 6);
    assert_non_null(strstr(c->log, "Running 2 warmup trial(s)\n"));
    assert_non_null(strstr(c->log, "Sweeping cooldown_duration (measurement fixed at 0.0 s)\n"));
    assert_non_null(strstr(c->log, "Trial 2/2 done\n"));
    assert_non_null(strstr(c->log, "Sweep measurement_duration (fixed cooldown_duration=0.0 s):\n"
                                   "  measurement_duration=0.0 s  mean="));
    assert_null(strstr(strstr(c->log, "Sweeping cooldown_duration"), "warmup"));
    zeus_profile_report_fini(&m);
    zeus_profile_report_fini(&cd);
    zeus_monitor_destroy(mon);
}

/* ---- Distributed ---------------------------------------------------------------------------- */

static void test_profile_reduce_sums_energy_maxes_time_averages_temperature(void **state)
{
    static const unsigned mj[] = {100};
    struct calls *c = *state;
    zeus_monitor *mon = exact_energy(c, mj, 1);
    zeus_profile_options o = quick_options();
    zeus_profile_trial t;

    zt_fake_nvml()->set_temperature_c(0, 55);
    o.iteration_duration_s = 0; /* calibrate: one MAX */
    o.num_calibration_iterations = 5;
    o.num_warmup_iterations = 0;
    o.reduce = two_ranks;
    o.reduce_user = c;
    c->calls_per_trial = 0; /* energy by hand below: calibration would add some */
    c->work_s = 0.001;
    assert_int_equal(zeus_profile_measure(workload, c, mon, 0.0045, 0, &o, &t), ZEUS_OK);
    assert_int_equal(c->reduces[ZEUS_REDUCE_MAX], 2); /* iteration duration, window time */
    assert_int_equal(c->reduces[ZEUS_REDUCE_SUM], 1);
    assert_near(t.total_energy_j, 0, 0); /* manual counter untouched: 2 x 0 */
    assert_near(t.temperature_before_c, 55, 1e-9); /* (55 + 55) / (1 + 1) */
    assert_true(t.total_time_s >= 0.001 * (double)t.iterations);

    c->reduce_fails = 3;
    assert_int_equal(zeus_profile_measure(workload, c, mon, 0.0045, 0, &o, &t),
                     ZEUS_ERR_CALLBACK_FAILED);
    assert_non_null(strstr(zeus_last_error(), "reduce callback returned 3"));
    assert_int_equal(t.iterations, 0);
    zeus_monitor_destroy(mon);
}

static void test_profile_reduce_doubles_exact_energy(void **state)
{
    static const unsigned mj[] = {100};
    struct calls *c = *state;
    zeus_monitor *mon = exact_energy(c, mj, 1);
    zeus_profile_options o = quick_options();
    zeus_profile_trial t;

    o.reduce = two_ranks;
    o.reduce_user = c;
    assert_int_equal(zeus_profile_measure(workload, c, mon, 0.0045, 0, &o, &t), ZEUS_OK);
    assert_int_equal(t.iterations, 5);
    assert_near(t.total_energy_j, 2 * 0.5, 1e-9);
    assert_near(t.energy_per_iter_j, 2 * 0.1, 1e-9);
    zeus_monitor_destroy(mon);
}

/* ---- Text ----------------------------------------------------------------------------------- */

static void test_profile_sweep_result_format_is_zeus_line(void **state)
{
    zeus_profile_sweep_result r = {
        .measurement_duration_s = 5, .cooldown_duration_s = 10, .energy_mean_j = 12.34564,
        .energy_std_j = 0.0042, .avg_temperature_before_c = 41.04,
        .avg_temperature_after_c = 63.46, .is_valid = 1};
    char line[ZEUS_PROFILE_LINE_LEN], small[20];
    (void)state;

    assert_int_equal(zeus_profile_sweep_result_format(&r, line, sizeof line), ZEUS_OK);
    assert_string_equal(line, "measurement=5.0 s  cooldown=10.0 s  mean=12.3456 J  "
                              "std=0.0042 J  temp_before=41.0 \xc2\xb0" "C  "
                              "temp_after=63.5 \xc2\xb0" "C  [VALID]");
    r.is_valid = 0;
    assert_int_equal(zeus_profile_sweep_result_format(&r, line, sizeof line), ZEUS_OK);
    assert_non_null(strstr(line, "  [INVALID]"));
    assert_int_equal(zeus_profile_sweep_result_format(&r, small, sizeof small),
                     ZEUS_ERR_INSUFFICIENT_SIZE);
    assert_string_equal(small, "measurement=5.0 s  ");
    r.energy_mean_j = r.energy_std_j = r.avg_temperature_before_c = -DBL_MAX;
    r.avg_temperature_after_c = r.measurement_duration_s = r.cooldown_duration_s = -DBL_MAX;
    assert_int_equal(zeus_profile_sweep_result_format(&r, line, sizeof line), ZEUS_OK);
    assert_non_null(strstr(line, "  [INVALID]")); /* the promised room holds any numbers */
    assert_int_equal(zeus_profile_sweep_result_format(NULL, line, sizeof line),
                     ZEUS_ERR_INVALID_ARGUMENT);
    assert_string_equal(zeus_profile_param_name(ZEUS_PROFILE_COOLDOWN_DURATION),
                        "cooldown_duration");
    assert_null(zeus_profile_param_name((zeus_profile_param)7));
}

/* ---- Bad arguments ---------------------------------------------------------------------- */

/* Expect ZEUS_ERR_INVALID_ARGUMENT with `detail` in the message, and no call of fn. */
static void expect_invalid(struct calls *c, zeus_monitor *mon, const zeus_profile_options *o,
                           const char *detail)
{
    zeus_profile_report r;
    zeus_profile_trial t;

    c->n = 0;
    assert_int_equal(zeus_profile_cooldown_duration(workload, c, mon, o, &r),
                     ZEUS_ERR_INVALID_ARGUMENT);
    if (strstr(zeus_last_error(), detail) == NULL)
        fail_msg("expected '%s' in '%s'", detail, zeus_last_error());
    assert_null(r.entries);
    assert_int_equal(zeus_profile_measure(workload, c, mon, 1, 1, o, &t),
                     ZEUS_ERR_INVALID_ARGUMENT);
    assert_int_equal(c->n, 0);
}

static void test_profile_bad_options_are_invalid_arguments(void **state)
{
    struct calls *c = *state;
    zeus_monitor *mon = make_monitor("gpus=1", 1, c);
    zeus_profile_options o;

#define WITH(field, value, detail)          \
    do {                                    \
        zeus_profile_options_init(&o);      \
        o.field = value;                    \
        expect_invalid(c, mon, &o, detail); \
    } while (0)
    WITH(num_trials, 0, "num_trials is 0");
    WITH(measurement_duration_s, -1, "measurement_duration_s must be between 0 and");
    WITH(cooldown_duration_s, NAN, "cooldown_duration_s must be");
    WITH(cooldown_duration_s, INFINITY, "cooldown_duration_s must be");
    WITH(iteration_duration_s, -0.5, "iteration_duration_s must be");
    WITH(warmup_settle_duration_s, -2, "warmup_settle_duration_s must be");
    WITH(num_calibration_iterations, 0, "cannot be calibrated");
    WITH(trial_stddev_threshold_j, -1, "trial_stddev_threshold_j must be >= 0");
    WITH(size, 3, "zeus_profile_options.size is 3");
#undef WITH
    zeus_profile_options_init(&o);
    o.cooldown_durations_s = (const double[]){1.0};
    o.cooldown_duration_count = 0;
    expect_invalid(c, mon, &o, "cooldown_durations_s is empty");
    o.cooldown_durations_s = (const double[]){1.0, -3.0};
    o.cooldown_duration_count = 2;
    expect_invalid(c, mon, &o, "cooldown_durations_s[1] must be between 0 and");
    zeus_monitor_destroy(mon);
}

static void test_profile_bad_arguments_are_invalid_arguments(void **state)
{
    struct calls *c = *state;
    zeus_monitor *mon = make_monitor("gpus=1", 1, c), *none;
    zeus_monitor_options mo;
    zeus_profile_report r1, r2;
    zeus_profile_trial t;
    unsigned zero = 0;

    assert_int_equal(zeus_profile_measure(NULL, c, mon, 1, 1, NULL, &t),
                     ZEUS_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(zeus_last_error(), "function to profile is NULL"));
    assert_int_equal(zeus_profile_measure(workload, c, NULL, 1, 1, NULL, &t),
                     ZEUS_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(zeus_last_error(), "invalid or destroyed monitor"));
    assert_int_equal(zeus_profile_measure(workload, c, mon, 1, 1, NULL, NULL),
                     ZEUS_ERR_INVALID_ARGUMENT);
    assert_int_equal(zeus_profile_measure(workload, c, mon, -1, 1, NULL, &t),
                     ZEUS_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(zeus_last_error(), "measurement_duration_s must be"));
    assert_int_equal(zeus_profile_measure(workload, c, mon, 1, -0.1, NULL, &t),
                     ZEUS_ERR_INVALID_ARGUMENT);
    assert_int_equal(zeus_profile_measurement_duration(workload, c, mon, NULL, NULL),
                     ZEUS_ERR_INVALID_ARGUMENT);
    assert_int_equal(zeus_profile_parameters(workload, c, mon, NULL, &r1, &r1),
                     ZEUS_ERR_INVALID_ARGUMENT);
    assert_int_equal(zeus_profile_parameters(workload, c, mon, NULL, &r1, NULL),
                     ZEUS_ERR_INVALID_ARGUMENT);

    zeus_monitor_options_init(&mo); /* a monitor without GPUs */
    mo.gpu_indices = &zero;
    mo.gpu_index_count = 0;
    mo.cpu_indices = &zero;
    mo.cpu_index_count = 0;
    assert_int_equal(zeus_monitor_create(&mo, &none), ZEUS_OK);
    assert_int_equal(zeus_profile_parameters(workload, c, none, NULL, &r1, &r2),
                     ZEUS_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(zeus_last_error(), "watches no GPU"));
    assert_int_equal(c->n, 0);
    zeus_monitor_destroy(none);
    zeus_monitor_destroy(mon);
}

/* ---- Failures ------------------------------------------------------------------------------- */

static void test_profile_failing_workload_stops_and_leaves_no_window(void **state)
{
    struct calls *c = *state;
    zeus_monitor *mon = make_monitor("gpus=1;power_w=300", 0, c);
    zeus_profile_options o = quick_options();
    zeus_profile_report r;
    zeus_profile_trial t;

    o.measurement_durations_s = (const double[]){0.0045};
    o.measurement_duration_count = 1;
    o.num_trials = 3;
    c->fail_at = 8; /* second trial, third call in its window */
    assert_int_equal(zeus_profile_measurement_duration(workload, c, mon, &o, &r),
                     ZEUS_ERR_CALLBACK_FAILED);
    assert_non_null(strstr(zeus_last_error(), "profiled function returned -7 in the "
                                              "measurement window (call 3 of 5)"));
    assert_int_equal(c->n, 8); /* nothing ran after the failure */
    assert_null(r.entries);
    assert_int_equal(r.entry_count, 0);
    assert_int_equal(zeus_monitor_open_window_count(mon), 0);

    c->n = 0; /* in calibration */
    c->fail_at = 2;
    o.iteration_duration_s = 0;
    o.num_calibration_iterations = 4;
    assert_int_equal(zeus_profile_measure(workload, c, mon, 0.01, 0, &o, &t),
                     ZEUS_ERR_CALLBACK_FAILED);
    assert_non_null(strstr(zeus_last_error(), "in calibration (call 2 of 4)"));
    assert_int_equal(c->n, 2);
    zeus_monitor_destroy(mon);
}

static void test_profile_failing_sensor_returns_device_error(void **state)
{
    struct calls *c = *state;
    zeus_monitor *mon = make_monitor("gpus=1;power_w=300;period_ms=5", 1, c);
    zeus_profile_options o = quick_options();
    zeus_profile_trial t;

    zt_fake_nvml_fail("nvmlDeviceGetTemperature", 0, NVML_ERROR_UNKNOWN, 1);
    assert_int_equal(zeus_profile_measure(workload, c, mon, 0.0045, 0, &o, &t), ZEUS_ERR_UNKNOWN);
    assert_non_null(strstr(zeus_last_error(), "reading GPU 0's temperature"));
    assert_int_equal(zeus_monitor_open_window_count(mon), 0);
    assert_int_equal(t.iterations, 0);
    zt_fake_nvml_fail("nvmlDeviceGetTemperature", 0, 0, 0);
    zeus_monitor_destroy(mon);
}

static void test_profile_gpu_lost_in_window_returns_gpu_lost(void **state)
{
    struct calls *c = *state;
    zeus_monitor *mon = make_monitor("gpus=1;power_w=300", 1, c);
    zeus_profile_options o = quick_options();
    zeus_profile_trial t;

    c->lose_gpu_at = 5; /* the last call in the window: the end reading fails */
    assert_int_equal(zeus_profile_measure(workload, c, mon, 0.0045, 0, &o, &t), ZEUS_ERR_GPU_LOST);
    assert_non_null(strstr(zeus_last_error(), "profile: the trial's energy"));
    assert_int_equal(zeus_monitor_open_window_count(mon), 0);
    assert_int_equal(t.iterations, 0);
    zt_fake_nvml_fail("nvmlDeviceGetTotalEnergyConsumption", 0, 0, 0);
    zeus_monitor_destroy(mon);
}

static void test_profile_window_name_in_use_is_already_exists(void **state)
{
    struct calls *c = *state;
    zeus_monitor *mon = make_monitor("gpus=1", 1, c);
    zeus_profile_options o = quick_options();
    zeus_profile_trial t;

    assert_int_equal(zeus_monitor_begin_window(mon, "__zeus_profile_run_trial", 0), ZEUS_OK);
    assert_int_equal(zeus_profile_measure(workload, c, mon, 0.0045, 0, &o, &t),
                     ZEUS_ERR_ALREADY_EXISTS);
    assert_non_null(strstr(zeus_last_error(), "opening the trial's window"));
    assert_int_equal(zeus_monitor_open_window_count(mon), 1); /* the caller's, untouched */
    zeus_monitor_destroy(mon);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_profile_options_init_has_zeus_defaults),
        T(test_profile_measure_runs_ceil_duration_at_fake_power),
        T(test_profile_measure_given_iteration_duration_skips_calibration),
        T(test_profile_sweep_mean_std_and_validity),
        T(test_profile_single_trial_has_zero_std),
        T(test_profile_cooldown_sweep_valid_where_temperature_settled),
        T(test_profile_parameters_fixes_the_other_maximum_and_warms_up_once),
        T(test_profile_reduce_sums_energy_maxes_time_averages_temperature),
        T(test_profile_reduce_doubles_exact_energy),
        T(test_profile_sweep_result_format_is_zeus_line),
        T(test_profile_bad_options_are_invalid_arguments),
        T(test_profile_bad_arguments_are_invalid_arguments),
        T(test_profile_failing_workload_stops_and_leaves_no_window),
        T(test_profile_failing_sensor_returns_device_error),
        T(test_profile_gpu_lost_in_window_returns_gpu_lost),
        T(test_profile_window_name_in_use_is_already_exists),
    };
#undef T
    return cmocka_run_group_tests_name("profile", tests, NULL, NULL);
}
