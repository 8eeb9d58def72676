/*
 * test_power_limit.c - The power limit optimizer (zeus/power_limit.h) against Zeus's own test
 * matrix, on the fake NVML.
 *
 * Zeus's test replays its 12 recorded profiles through a mocked monitor. Here the monitor is
 * real (direct reads) and so is the path the energy takes: each training step adds to the
 * fake GPUs' energy counters what the recorded profile says one step costs at the limit the
 * fake GPU is set to right now, so a wrong limit measures the wrong energy. Time is the one
 * thing replayed: this file defines clock_gettime, and while a run is on, CLOCK_MONOTONIC
 * stands still except for what each step adds (the recorded window time / profile_steps), so
 * the monitor's window times are the recorded ones and a run takes milliseconds, not hours.
 * Nothing in libzeus waits on the clock in direct mode, so stopping it is safe.
 *
 * The fake records every nvmlDeviceSetPowerManagementLimit; each run compares that record with
 * the sequence Zeus's test expects, and the chosen limits with a selection computed here,
 * independently of zeus_plo_select() (tests/support/zeus_profiles.c).
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
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fake_nvml_control.h"
#include "test_support.h"
#include "zeus_profiles.h"
#include "zeus/zeus.h"

/* ---- A clock the test moves ------------------------------------------------------------ */

static int clock_frozen;
static int64_t frozen_ns; /* CLOCK_MONOTONIC while frozen */

/* Interposes libc's: libzeus's calls resolve to the executable's definition first. */
int clock_gettime(clockid_t id, struct timespec *ts)
{
    if (clock_frozen && id == CLOCK_MONOTONIC) {
        ts->tv_sec = frozen_ns / 1000000000;
        ts->tv_nsec = frozen_ns % 1000000000;
        return 0;
    }
    return (int)syscall(SYS_clock_gettime, id, ts);
}

static void freeze_clock(void)
{
    struct timespec ts;

    syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
    frozen_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    clock_frozen = 1;
}

/* ---- A training loop whose steps cost what the profile recorded ------------------------ */

struct workload {
    const struct zt_profile *p;
    unsigned profile_steps;
    double owed_mj[ZT_PROFILE_GPUS]; /* fractions of a millijoule not yet added to the counter */
    double owed_ns;
};

/* One step at whatever limit the fake GPUs are set to now. */
static void run_step(struct workload *w)
{
    const struct zt_fake_nvml *fake = zt_fake_nvml();
    unsigned limit_w = fake->power_limit_mw(0) / 1000;
    size_t r = 0;

    while (r < w->p->rows && w->p->limit_w[r] != limit_w)
        r++;
    if (r == w->p->rows) { /* a limit the profile never saw: cheap, and counts for little */
        frozen_ns += 1000000;
        return;
    }
    for (unsigned g = 0; g < w->p->gpus; g++) {
        double mj;

        assert_int_equal(fake->power_limit_mw(g) / 1000, limit_w);
        w->owed_mj[g] += w->p->gpu_j[r][g] * 1000.0 / w->profile_steps;
        mj = floor(w->owed_mj[g]);
        w->owed_mj[g] -= mj;
        fake->add_energy_mj(g, (unsigned long long)mj);
    }
    w->owed_ns += w->p->time_s[r] * 1e9 / w->profile_steps;
    frozen_ns += (int64_t)floor(w->owed_ns);
    w->owed_ns -= floor(w->owed_ns);
}

static void training_loop(zeus_plo *plo, struct workload *w, unsigned steps_per_epoch,
                          unsigned epochs)
{
    for (unsigned e = 0; e < epochs; e++) {
        assert_int_equal(zeus_plo_on_epoch_begin(plo), ZEUS_OK);
        for (unsigned s = 0; s < steps_per_epoch; s++) {
            assert_int_equal(zeus_plo_on_step_begin(plo), ZEUS_OK);
            run_step(w);
            assert_int_equal(zeus_plo_on_step_end(plo), ZEUS_OK);
        }
        assert_int_equal(zeus_plo_on_epoch_end(plo), ZEUS_OK);
    }
}

/* ---- Fixture --------------------------------------------------------------------------- */

struct run {
    struct zt_profile *p;
    zeus_monitor *mon;
    char *tmp;
    char profile_path[1024];
};

/* Fake GPUs with the profile's range, starting at the minimum so the first set is real. */
static void start_run(struct run *run, struct zt_profile *p)
{
    char spec[256];
    zeus_monitor_options o;

    snprintf(spec, sizeof spec, "gpus=%u;limit_min_w=%u;limit_max_w=%u;limit_default_w=%u",
             p->gpus, zt_profile_min_w(p), zt_profile_max_w(p), zt_profile_min_w(p));
    zt_fake_nvml_reset(spec);
    for (unsigned g = 0; g < p->gpus; g++)
        zt_fake_nvml()->set_energy_mj(g, 1000000);
    zeus_monitor_options_init(&o);
    o.direct_reads = 1;
    assert_int_equal(zeus_monitor_create(&o, &run->mon), ZEUS_OK);
    run->p = p;
    run->tmp = zt_mkdtemp();
    snprintf(run->profile_path, sizeof run->profile_path, "%s/power_limit_optimizer.json",
             run->tmp);
    freeze_clock();
}

static void end_run(struct run *run)
{
    clock_frozen = 0;
    zeus_monitor_destroy(run->mon);
    zt_rmtree(run->tmp);
    free(run->tmp);
}

static zeus_plo *make_plo(struct run *run, zeus_plo_selector sel)
{
    zeus_plo_options o;
    zeus_plo *plo = NULL;

    zeus_plo_options_init(&o);
    o.selector = sel;
    o.profile_path = run->profile_path;
    assert_int_equal(zeus_plo_create(run->mon, &o, &plo), ZEUS_OK);
    return plo;
}

/* ---- Zeus's matrix ----------------------------------------------------------------------- */

enum { NEVER, IN_WARMUP, IN_PROFILING, EVERY_TIME };

/* Zeus's call list: scan down from the max; each interruption resets to the max and retries. */
static size_t expected_calls(const struct zt_profile *p, size_t per_epoch, unsigned optimum,
                             unsigned *out, size_t cap)
{
    unsigned queue[ZT_PROFILE_ROWS + 1];
    size_t qn = 0, n = 0;
    unsigned last = 0;

    for (size_t r = 0; r < p->rows; r++) /* the recorded limits, highest first */
        queue[qn++] = p->limit_w[r];
    while (qn > 0) {
        size_t k;

        for (k = 0; k < per_epoch + 1 && qn > 0; k++) {
            last = queue[0];
            memmove(queue, queue + 1, --qn * sizeof queue[0]);
            for (unsigned g = 0; g < p->gpus && n < cap; g++)
                out[n++] = last * 1000;
        }
        if (k == per_epoch + 1) { /* interrupted: the max, then the same limit again */
            for (unsigned g = 0; g < p->gpus && n < cap; g++)
                out[n++] = zt_profile_max_w(p) * 1000;
            memmove(queue + 1, queue, qn++ * sizeof queue[0]);
            queue[0] = last;
        }
    }
    if (last != optimum)
        for (unsigned g = 0; g < p->gpus && n < cap; g++)
            out[n++] = optimum * 1000;
    return n;
}

static void check_calls(const struct zt_profile *p, size_t per_epoch, unsigned optimum,
                        const char *what)
{
    unsigned want[1024], got_mw[1024], got_gpu[1024];
    size_t nw = expected_calls(p, per_epoch, optimum, want, 1024);
    size_t ng = zt_fake_nvml()->power_limit_log(got_gpu, got_mw, 1024);

    if (ng != nw)
        fail_msg("%s: %zu power limit sets, Zeus's test expects %zu", what, ng, nw);
    for (size_t i = 0; i < nw; i++) {
        if (got_mw[i] != want[i] || got_gpu[i] != i % p->gpus)
            fail_msg("%s: set %zu was GPU %u to %u mW, expected GPU %zu to %u mW", what, i,
                     got_gpu[i], got_mw[i], i % p->gpus, want[i]);
    }
}

/* The saved profile holds what the steps cost: the recorded energy and time. */
static void check_saved_profile(const struct run *run)
{
    zeus_plo_measurement *m;
    size_t n;

    assert_int_equal(zeus_plo_profile_load(run->profile_path, &m, &n), ZEUS_OK);
    assert_int_equal(n, run->p->rows);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(m[i].power_limit_w, run->p->limit_w[i]);
        assert_near(m[i].energy_j, run->p->energy_j[i], 0.002 * run->p->gpus);
        assert_near(m[i].time_s, run->p->time_s[i], 1e-6);
    }
    free(m);
}

static void check_reload(struct run *run, zeus_plo_selector sel, unsigned want, const char *what)
{
    zeus_plo *plo = make_plo(run, sel);
    zeus_plo_state st;

    assert_int_equal(zeus_plo_get_state(plo, &st), ZEUS_OK);
    if (st.phase != ZEUS_PLO_DONE || st.power_limit_mw != want * 1000)
        fail_msg("%s: reloaded optimizer is in phase %d at %u mW, expected Done at %u W", what,
                 (int)st.phase, st.power_limit_mw, want);
    zeus_plo_destroy(plo);
}

static void run_case(struct zt_profile *p, double eta, int pattern)
{
    size_t n = p->rows, per_epoch;
    unsigned steps, epochs, optimum = zt_profile_choice(p, 'z', eta, p->gpus);
    zeus_plo_selector cost = {.kind = ZEUS_PLO_ZEUS_COST, .eta = eta, .world_size = p->gpus};
    struct workload w = {.p = p, .profile_steps = 40};
    const double factors[] = {1.0, 1.1, 1.2, 1.5, 2.0, 3.0, 5.0, 100.0};
    char what[1200];
    struct run run;
    zeus_plo *plo;
    zeus_plo_state st;

    switch (pattern) {
    case NEVER: per_epoch = n, steps = 50 * n + 10, epochs = 3; break;
    case IN_WARMUP: per_epoch = n / 2, steps = 50 * (n / 2) + 5, epochs = 4; break;
    case IN_PROFILING: per_epoch = n / 3, steps = 50 * (n / 3) + 15, epochs = 5; break;
    default: per_epoch = 1, steps = 100, epochs = (unsigned)n + 2; break;
    }
    snprintf(what, sizeof what, "%s, eta %.2f, interrupt pattern %d", p->path, eta, pattern);
    start_run(&run, p);
    plo = make_plo(&run, cost);
    training_loop(plo, &w, steps, epochs);
    assert_int_equal(zeus_plo_get_state(plo, &st), ZEUS_OK);
    if (st.phase != ZEUS_PLO_DONE || st.power_limit_mw != optimum * 1000)
        fail_msg("%s: ended in phase %d at %u mW, Zeus picks %u W", what, (int)st.phase,
                 st.power_limit_mw, optimum);
    check_calls(p, per_epoch, optimum, what);
    check_saved_profile(&run);

    check_reload(&run, (zeus_plo_selector){.kind = ZEUS_PLO_ENERGY},
                 zt_profile_choice(p, 'e', 0, 1), what);
    check_reload(&run, (zeus_plo_selector){.kind = ZEUS_PLO_TIME}, zt_profile_choice(p, 't', 0, 1),
                 what);
    for (size_t i = 0; i < sizeof factors / sizeof factors[0]; i++)
        check_reload(&run, (zeus_plo_selector){.kind = ZEUS_PLO_MAX_SLOWDOWN,
                                                .factor = factors[i]},
                     zt_profile_choice(p, 's', factors[i], 1), what);

    /* A run from the saved profile sets only the optimum. */
    zeus_plo_destroy(plo); /* back to the max */
    {
        char spec[256];
        snprintf(spec, sizeof spec, "gpus=%u;limit_min_w=%u;limit_max_w=%u;limit_default_w=%u",
                 p->gpus, zt_profile_min_w(p), zt_profile_max_w(p), zt_profile_min_w(p) == optimum ? zt_profile_max_w(p) : zt_profile_min_w(p));
        zt_fake_nvml_reset(spec);
    }
    plo = make_plo(&run, cost);
    training_loop(plo, &w, steps, 1);
    {
        unsigned mw[64], gpu[64];
        size_t k = zt_fake_nvml()->power_limit_log(gpu, mw, 64);

        assert_int_equal(k, p->gpus);
        for (size_t i = 0; i < k; i++)
            assert_int_equal(mw[i], optimum * 1000);
    }
    zeus_plo_destroy(plo);
    end_run(&run);
}

static void test_zeus_matrix(void **state)
{
    static struct zt_profile profiles[16];
    const double etas[] = {0.0, 0.25, 0.5, 0.75, 1.0};
    size_t n = zt_profiles_load_all(profiles, 16);

    (void)state;
    assert_int_equal(n, 12);
    for (size_t i = 0; i < n; i++)
        for (size_t e = 0; e < sizeof etas / sizeof etas[0]; e++)
            for (int pattern = NEVER; pattern <= EVERY_TIME; pattern++)
                run_case(&profiles[i], etas[e], pattern);
}

/* ---- Selectors ----------------------------------------------------------------------------- */

static void test_selectors_follow_zeus_ties_and_reference(void **state)
{
    /* 300 and 250 tie on energy and on time: the first (higher) wins, as in Zeus. */
    zeus_plo_measurement m[] = {{300, 100, 10}, {250, 100, 10}, {200, 120, 12}, {150, 90, 30}};
    zeus_plo_selector s = {.kind = ZEUS_PLO_ENERGY};
    double cost[4];
    unsigned w;

    (void)state;
    assert_int_equal(zeus_plo_select(&s, m, 3, &w, cost), ZEUS_OK);
    assert_int_equal(w, 300);
    s.kind = ZEUS_PLO_TIME;
    assert_int_equal(zeus_plo_select(&s, m, 4, &w, cost), ZEUS_OK);
    assert_int_equal(w, 300);
    assert_near(cost[3], 30, 0);
    /* MaxSlowdown measures against the time at the highest limit (10 s), not the least. */
    s = (zeus_plo_selector){.kind = ZEUS_PLO_MAX_SLOWDOWN, .factor = 1.2};
    assert_int_equal(zeus_plo_select(&s, m, 4, &w, NULL), ZEUS_OK);
    assert_int_equal(w, 200);
    s.factor = 3;
    assert_int_equal(zeus_plo_select(&s, m, 4, &w, NULL), ZEUS_OK);
    assert_int_equal(w, 150);
    /* ZeusCost: eta 1 is energy, eta 0 is time x 300 W x world size. */
    s = (zeus_plo_selector){.kind = ZEUS_PLO_ZEUS_COST, .eta = 1, .world_size = 1};
    assert_int_equal(zeus_plo_select(&s, m, 4, &w, cost), ZEUS_OK);
    assert_int_equal(w, 150);
    s.eta = 0;
    s.world_size = 2;
    assert_int_equal(zeus_plo_select(&s, m, 4, &w, cost), ZEUS_OK);
    assert_int_equal(w, 300);
    assert_near(cost[2], 12 * 600.0, 1e-9);
}

static void test_zeus_cost_keys_by_limit(void **state)
{
    /* 300 measured twice: Zeus's dict keeps the later cost (50) at the earlier place. */
    zeus_plo_measurement m[] = {{300, 500, 1}, {250, 60, 1}, {300, 50, 1}};
    zeus_plo_selector s = {.kind = ZEUS_PLO_ZEUS_COST, .eta = 1, .world_size = 1};
    unsigned w;

    (void)state;
    assert_int_equal(zeus_plo_select(&s, m, 3, &w, NULL), ZEUS_OK);
    assert_int_equal(w, 300);
}

static void test_selector_validation(void **state)
{
    zeus_plo_measurement good[] = {{300, 100, 10}};
    zeus_plo_measurement zero[] = {{300, 0, 10}}, nan_time[] = {{300, 1, NAN}},
                         no_limit[] = {{0, 1, 1}};
    zeus_plo_selector s = {.kind = ZEUS_PLO_ZEUS_COST, .eta = 1.5, .world_size = 1};
    unsigned w;

    (void)state;
    assert_int_equal(zeus_plo_select(&s, good, 1, &w, NULL), ZEUS_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(zeus_last_error(), "eta_knob"));
    s.eta = 0.5, s.world_size = 0;
    assert_int_equal(zeus_plo_select(&s, good, 1, &w, NULL), ZEUS_ERR_INVALID_ARGUMENT);
    s = (zeus_plo_selector){.kind = ZEUS_PLO_MAX_SLOWDOWN, .factor = 0.9};
    assert_int_equal(zeus_plo_select(&s, good, 1, &w, NULL), ZEUS_ERR_INVALID_ARGUMENT);
    s.factor = NAN;
    assert_int_equal(zeus_plo_select(&s, good, 1, &w, NULL), ZEUS_ERR_INVALID_ARGUMENT);
    s = (zeus_plo_selector){.kind = ZEUS_PLO_ENERGY};
    assert_int_equal(zeus_plo_select(&s, good, 0, &w, NULL), ZEUS_ERR_INVALID_ARGUMENT);
    assert_int_equal(zeus_plo_select(&s, zero, 1, &w, NULL), ZEUS_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(zeus_last_error(), "energy"));
    assert_int_equal(zeus_plo_select(&s, nan_time, 1, &w, NULL), ZEUS_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(zeus_last_error(), "time"));
    assert_int_equal(zeus_plo_select(&s, no_limit, 1, &w, NULL), ZEUS_ERR_INVALID_ARGUMENT);
    s.kind = (zeus_plo_selector_kind)42;
    assert_int_equal(zeus_plo_select(&s, good, 1, &w, NULL), ZEUS_ERR_INVALID_ARGUMENT);
}

/* A 1 W step gives hundreds of candidates: selecting among them needs no cost array. */
static void test_many_measurements_without_a_cost_array(void **state)
{
    zeus_plo_measurement m[501];
    zeus_plo_selector s = {.kind = ZEUS_PLO_ENERGY};
    unsigned w = 0;

    (void)state;
    for (unsigned i = 0; i < 501; i++)
        m[i] = (zeus_plo_measurement){700 - i, 1000.0 + (i == 321 ? -500.0 : (double)i), 1.0};
    assert_int_equal(zeus_plo_select(&s, m, 501, &w, NULL), ZEUS_OK);
    assert_int_equal(w, 700 - 321);
}

static unsigned custom_calls;

static unsigned lowest_limit(const zeus_plo_measurement *m, size_t n, void *user)
{
    unsigned lo = m[0].power_limit_w;

    (void)user;
    custom_calls++;
    for (size_t i = 1; i < n; i++)
        lo = m[i].power_limit_w < lo ? m[i].power_limit_w : lo;
    return lo;
}

/* ---- Profiles ------------------------------------------------------------------------------ */

/* What Zeus 0.16's pydantic .json(indent=4) wrote for the first two A40 resnet50 limits. */
static const char zeus_written[] =
    "{\n"
    "    \"measurements\": [\n"
    "        {\n"
    "            \"power_limit\": 300,\n"
    "            \"energy\": 16525.44499999285,\n"
    "            \"time\": 33.27751154080033\n"
    "        },\n"
    "        {\n"
    "            \"power_limit\": 275,\n"
    "            \"energy\": 1e-05,\n"
    "            \"time\": 120.0\n"
    "        }\n"
    "    ]\n"
    "}";

static void test_profile_round_trips_byte_for_byte(void **state)
{
    char *tmp = zt_mkdtemp(), path[1024], *back;
    zeus_plo_measurement *m;
    size_t n;

    (void)state;
    snprintf(path, sizeof path, "%s/zeus.json", tmp);
    zt_write_file(path, zeus_written);
    assert_int_equal(zeus_plo_profile_load(path, &m, &n), ZEUS_OK);
    assert_int_equal(n, 2);
    assert_int_equal(m[0].power_limit_w, 300);
    assert_near(m[1].energy_j, 1e-5, 0);
    snprintf(path, sizeof path, "%s/zeus-c.json", tmp);
    assert_int_equal(zeus_plo_profile_save(path, m, n), ZEUS_OK);
    back = zt_read_file(path);
    assert_string_equal(back, zeus_written);
    free(back);
    free(m);
    zt_rmtree(tmp);
    free(tmp);
}

static void expect_load_error(const char *tmp, const char *text, const char *needle)
{
    char path[1024];
    zeus_plo_measurement *m = NULL;
    size_t n = 0;

    snprintf(path, sizeof path, "%s/bad.json", tmp);
    zt_write_file(path, text);
    assert_int_equal(zeus_plo_profile_load(path, &m, &n), ZEUS_ERR_INVALID_ARGUMENT);
    if (strstr(zeus_last_error(), needle) == NULL || strstr(zeus_last_error(), path) == NULL)
        fail_msg("loading %s: \"%s\" does not name %s and the file", text, zeus_last_error(),
                 needle);
    assert_null(m);
}

static void test_profile_errors_name_file_and_field(void **state)
{
    char *tmp = zt_mkdtemp(), path[1024];
    zeus_plo_measurement *m = NULL;
    size_t n;

    (void)state;
    expect_load_error(tmp, "", "not valid JSON");
    expect_load_error(tmp, "[1, 2]", "not a JSON object");
    expect_load_error(tmp, "{}", "measurements");
    expect_load_error(tmp, "{\"measurements\": []}", "empty");
    expect_load_error(tmp, "{\"measurements\": [{\"power_limit\": 0, \"energy\": 1, \"time\": 1}]}",
                      "measurements[0].power_limit");
    expect_load_error(tmp, "{\"measurements\": [{\"power_limit\": 300, \"energy\": 1, \"time\": 1},"
                           " {\"power_limit\": 250, \"energy\": -3, \"time\": 1}]}",
                      "measurements[1].energy");
    expect_load_error(tmp, "{\"measurements\": [{\"power_limit\": 300, \"energy\": 1}]}",
                      "measurements[0].time");
    expect_load_error(tmp, "{\"measurements\": [{\"power_limit\": 300.5, \"energy\": 1, \"time\": 1}]}",
                      "power_limit");
    expect_load_error(tmp, "{\"measurements\": [{\"power_limit\": \"300\", \"energy\": 1, \"time\": 1}]}",
                      "power_limit");
    snprintf(path, sizeof path, "%s/missing.json", tmp);
    assert_int_equal(zeus_plo_profile_load(path, &m, &n), ZEUS_ERR_IO);
    assert_non_null(strstr(zeus_last_error(), "missing.json"));
    zt_rmtree(tmp);
    free(tmp);
}

/* ---- Options, failures, and the edges Zeus leaves open ----------------------------------- */

static zeus_monitor *direct_monitor(void)
{
    zeus_monitor_options o;
    zeus_monitor *mon;

    zeus_monitor_options_init(&o);
    o.direct_reads = 1;
    assert_int_equal(zeus_monitor_create(&o, &mon), ZEUS_OK);
    return mon;
}

static void test_option_validation(void **state)
{
    zeus_monitor *mon;
    zeus_plo_options o;
    zeus_plo *plo = NULL;

    (void)state;
    zt_fake_nvml_reset("gpus=2;gpu1.limit_min_w=150");
    mon = direct_monitor();
    zeus_plo_options_init(&o);
    o.profile_steps = 0;
    assert_int_equal(zeus_plo_create(mon, &o, &plo), ZEUS_ERR_INVALID_ARGUMENT);
    zeus_plo_options_init(&o);
    o.pl_step_w = 0;
    assert_int_equal(zeus_plo_create(mon, &o, &plo), ZEUS_ERR_INVALID_ARGUMENT);
    zeus_plo_options_init(&o);
    o.selector = (zeus_plo_selector){.kind = ZEUS_PLO_MAX_SLOWDOWN, .factor = 0.5};
    assert_int_equal(zeus_plo_create(mon, &o, &plo), ZEUS_ERR_INVALID_ARGUMENT);
    /* GPU 1's range differs from GPU 0's. */
    assert_int_equal(zeus_plo_create(mon, NULL, &plo), ZEUS_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(zeus_last_error(), "not uniform"));
    assert_null(plo);
    assert_int_equal(zeus_plo_create(NULL, NULL, &plo), ZEUS_ERR_INVALID_ARGUMENT);
    zeus_monitor_destroy(mon);
}

static void test_defaults_and_candidates(void **state)
{
    zeus_monitor *mon;
    zeus_plo *plo;
    zeus_plo_selector sel;
    zeus_plo_state st;
    unsigned limits[64];
    size_t n;

    (void)state;
    /* 700 down to 200 in 25 W steps would end at 200; 210 leaves it out, as range() does. */
    zt_fake_nvml_reset("gpus=2;limit_min_w=210;limit_default_w=500");
    mon = direct_monitor();
    assert_int_equal(zeus_plo_create(mon, NULL, &plo), ZEUS_OK);
    assert_int_equal(zeus_plo_get_selector(plo, &sel), ZEUS_OK);
    assert_int_equal(sel.kind, ZEUS_PLO_ZEUS_COST);
    assert_near(sel.eta, 0.5, 0);
    assert_int_equal(sel.world_size, 2);
    n = zeus_plo_power_limits(plo, limits, 64);
    assert_int_equal(n, 20);
    assert_int_equal(limits[0], 700000);
    assert_int_equal(limits[19], 225000);
    assert_int_equal(zeus_plo_get_state(plo, &st), ZEUS_OK);
    assert_int_equal(st.phase, ZEUS_PLO_READY);
    assert_int_equal(st.steps_left, 2); /* wait_steps 1, plus the step that starts warmup */
    assert_int_equal(zt_fake_nvml()->power_limit_mw(1), 700000);
    assert_int_equal(zt_fake_nvml()->persistence_mode(0), 1);
    assert_int_equal(zt_fake_nvml()->persistence_mode(1), 1);
    zeus_plo_destroy(plo);
    zeus_monitor_destroy(mon);
}

/* A custom selector is checked at creation but only called once there is something to pick. */
static void test_custom_selector_is_called_only_to_choose(void **state)
{
    zeus_monitor *mon;
    zeus_plo_options o;
    zeus_plo *plo;
    zeus_plo_state st;

    (void)state;
    zt_fake_nvml_reset("gpus=1;limit_min_w=650;limit_default_w=650");
    mon = direct_monitor();
    zeus_plo_options_init(&o);
    o.wait_steps = 0;
    o.warmup_steps = 0;
    o.profile_steps = 1;
    o.pl_step_w = 50;
    o.selector = (zeus_plo_selector){.kind = ZEUS_PLO_CUSTOM, .custom = lowest_limit};
    custom_calls = 0;
    assert_int_equal(zeus_plo_create(mon, &o, &plo), ZEUS_OK);
    assert_int_equal(custom_calls, 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(zeus_plo_on_step_begin(plo), ZEUS_OK);
        zt_fake_nvml()->add_energy_mj(0, 5000);
        usleep(2000);
    }
    assert_int_equal(zeus_plo_on_step_begin(plo), ZEUS_OK);
    assert_int_equal(zeus_plo_get_state(plo, &st), ZEUS_OK);
    assert_int_equal(st.phase, ZEUS_PLO_DONE);
    assert_int_equal(st.power_limit_mw, 650000);
    assert_int_equal(custom_calls, 1);
    zeus_plo_destroy(plo);
    zeus_monitor_destroy(mon);
}

/* Zeus crashes on warmup_steps=0; here the measurement starts at the step that sets the limit. */
static void test_zero_warmup_measures_at_once(void **state)
{
    zeus_monitor *mon;
    zeus_plo_options o;
    zeus_plo *plo;
    zeus_plo_state st;

    (void)state;
    zt_fake_nvml_reset("gpus=1;limit_min_w=650;limit_default_w=650");
    mon = direct_monitor();
    zeus_plo_options_init(&o);
    o.wait_steps = 0;
    o.warmup_steps = 0;
    o.profile_steps = 2;
    assert_int_equal(zeus_plo_create(mon, &o, &plo), ZEUS_OK);
    assert_int_equal(zeus_plo_on_step_begin(plo), ZEUS_OK); /* 700 W set, window opened */
    assert_int_equal(zeus_plo_get_state(plo, &st), ZEUS_OK);
    assert_int_equal(st.phase, ZEUS_PLO_PROFILING);
    assert_int_equal(zeus_monitor_open_window_count(mon), 1);
    for (int i = 0; i < 2; i++) {
        zt_fake_nvml()->add_energy_mj(0, 5000);
        usleep(2000);
        assert_int_equal(zeus_plo_on_step_begin(plo), ZEUS_OK);
    }
    /* 700 W measured; 675 W set and its window opened in the same step. */
    assert_int_equal(zeus_plo_get_state(plo, &st), ZEUS_OK);
    assert_int_equal(st.phase, ZEUS_PLO_PROFILING);
    assert_int_equal(st.power_limit_mw, 675000);
    assert_int_equal(st.measured, 1);
    assert_int_equal(zt_fake_nvml()->power_limit_mw(0), 675000);
    zeus_plo_destroy(plo);
    assert_int_equal(zeus_monitor_open_window_count(mon), 0);
    assert_int_equal(zt_fake_nvml()->power_limit_mw(0), 700000);
    zeus_monitor_destroy(mon);
}

static unsigned reduce_calls;

/* One rank: count the calls, leave the values. */
static int count_reduce(double *values, size_t n, zeus_reduce_op op, void *user)
{
    (void)values, (void)n, (void)op, (void)user;
    reduce_calls++;
    return 0;
}

/* A GPU that fails mid-measurement: nothing is recorded, the max comes back, the limit retries.
 * The reduction still runs, as the other ranks' collective calls need it to. */
static void test_failed_measurement_retries_the_limit(void **state)
{
    zeus_monitor *mon;
    zeus_plo_options o;
    zeus_plo *plo;
    zeus_plo_state st;

    (void)state;
    zt_fake_nvml_reset("gpus=1;limit_min_w=650;limit_default_w=650");
    mon = direct_monitor();
    zeus_plo_options_init(&o);
    o.wait_steps = 0;
    o.warmup_steps = 1;
    o.profile_steps = 1;
    o.reduce = count_reduce;
    reduce_calls = 0;
    assert_int_equal(zeus_plo_create(mon, &o, &plo), ZEUS_OK);
    assert_int_equal(zeus_plo_on_step_begin(plo), ZEUS_OK); /* warmup at 700 */
    assert_int_equal(zeus_plo_on_step_begin(plo), ZEUS_OK); /* window opens */
    zt_fake_nvml()->add_energy_mj(0, 5000);
    zt_fake_nvml_fail("nvmlDeviceGetTotalEnergyConsumption", 0, 999, -1);
    assert_int_not_equal(zeus_plo_on_step_begin(plo), ZEUS_OK);
    assert_non_null(strstr(zeus_last_error(), "starts over"));
    assert_int_equal(reduce_calls, 2); /* energy summed, time maxed */
    assert_int_equal(zeus_plo_get_state(plo, &st), ZEUS_OK);
    assert_int_equal(st.phase, ZEUS_PLO_READY);
    assert_int_equal(st.power_limit_mw, 700000);
    assert_int_equal(st.measured, 0);
    zt_fake_nvml_fail("nvmlDeviceGetTotalEnergyConsumption", 0, 0, 0);
    assert_int_equal(zeus_monitor_open_window_count(mon), 0);
    zeus_plo_destroy(plo);
    zeus_monitor_destroy(mon);
}

static void test_no_permission_names_the_fix(void **state)
{
    zeus_monitor *mon;
    zeus_plo *plo = NULL;

    (void)state;
    zt_fake_nvml_reset("gpus=1;root=0");
    mon = direct_monitor();
    assert_int_equal(zeus_plo_create(mon, NULL, &plo), ZEUS_ERR_NO_PERMISSION);
    assert_non_null(strstr(zeus_last_error(), "CAP_SYS_ADMIN"));
    assert_non_null(strstr(zeus_last_error(), "zeusd"));
    assert_null(plo);
    zeus_monitor_destroy(mon);
}

static void test_bad_profile_is_an_error_not_a_default(void **state)
{
    char *tmp = zt_mkdtemp(), path[1024];
    zeus_monitor *mon;
    zeus_plo_options o;
    zeus_plo *plo = NULL;

    (void)state;
    zt_fake_nvml_reset("gpus=1");
    mon = direct_monitor();
    snprintf(path, sizeof path, "%s/p.json", tmp);
    zt_write_file(path, "{\"measurements\": [{\"power_limit\": 300, \"energy\": \"x\", \"time\": 1}]}");
    zeus_plo_options_init(&o);
    o.profile_path = path;
    assert_int_equal(zeus_plo_create(mon, &o, &plo), ZEUS_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(zeus_last_error(), "measurements[0].energy"));
    assert_null(plo);
    zeus_monitor_destroy(mon);
    zt_rmtree(tmp);
    free(tmp);
}

/* A process that exits without destroying its optimizer gets the maximum back. */
static int check_limit_at_exit;

/* The executable's destructors run after every atexit handler, libzeus's hook included. */
__attribute__((destructor)) static void limit_at_exit(void)
{
    if (check_limit_at_exit)
        _exit(zt_fake_nvml()->power_limit_mw(0) == 700000 ? 0 : 3);
}

static void exit_without_destroy(void)
{
    char *tmp = zt_mkdtemp(), path[1024];
    zeus_monitor *mon;
    zeus_plo_options o;
    zeus_plo *plo;

    zt_fake_nvml_reset("gpus=1;limit_min_w=650;limit_default_w=700");
    snprintf(path, sizeof path, "%s/p.json", tmp);
    zt_write_file(path, "{\"measurements\": [{\"power_limit\": 700, \"energy\": 100, \"time\": 1},"
                        " {\"power_limit\": 650, \"energy\": 50, \"time\": 1}]}");
    mon = direct_monitor();
    zeus_plo_options_init(&o);
    o.profile_path = path;
    o.selector.kind = ZEUS_PLO_ENERGY;
    if (zeus_plo_create(mon, &o, &plo) != ZEUS_OK || zt_fake_nvml()->power_limit_mw(0) != 650000)
        _exit(4); /* the loaded optimum was not set */
    zt_rmtree(tmp);
    check_limit_at_exit = 1;
    exit(0);
}

static void test_exit_restores_the_maximum(void **state)
{
    pid_t pid;
    int status;

    (void)state;
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        exit_without_destroy();
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_selectors_follow_zeus_ties_and_reference),
        cmocka_unit_test(test_zeus_cost_keys_by_limit),
        cmocka_unit_test(test_selector_validation),
        cmocka_unit_test(test_many_measurements_without_a_cost_array),
        cmocka_unit_test(test_profile_round_trips_byte_for_byte),
        cmocka_unit_test(test_profile_errors_name_file_and_field),
        cmocka_unit_test(test_option_validation),
        cmocka_unit_test(test_defaults_and_candidates),
        cmocka_unit_test(test_custom_selector_is_called_only_to_choose),
        cmocka_unit_test(test_zero_warmup_measures_at_once),
        cmocka_unit_test(test_failed_measurement_retries_the_limit),
        cmocka_unit_test(test_no_permission_names_the_fix),
        cmocka_unit_test(test_bad_profile_is_an_error_not_a_default),
        cmocka_unit_test(test_exit_restores_the_maximum),
        cmocka_unit_test(test_zeus_matrix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
