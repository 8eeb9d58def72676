/*
 * test_fake_nvml.c - The fake NVML itself (tests/fakes/fake_nvml.c), called through its NVML
 * ABI as libzeus calls it: the rules every other test relies on (initialization, handles,
 * spec parsing, power scopes, failure injection) and the time model, whose counters must be
 * the exact integral of each power trace at an update boundary.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake_nvml.h"
#include "fake_nvml_control.h"
#include "test_support.h"

/* ---- The NVML functions under test ------------------------------------------------------- */

typedef struct {
    unsigned fieldId, scopeId;
    long long timestamp, latencyUsec;
    int valueType, nvmlReturn;
    union {
        double dVal;
        unsigned uiVal;
        unsigned long long ullVal;
    } value;
} field_value;

static struct {
    int (*Init)(void);
    int (*Shutdown)(void);
    int (*GetCount)(unsigned *);
    int (*HandleByIndex)(unsigned, void **);
    int (*HandleByUUID)(const char *, void **);
    int (*GetName)(void *, char *, unsigned);
    int (*DriverVersion)(char *, unsigned);
    int (*Energy)(void *, unsigned long long *);
    int (*FieldValues)(void *, int, field_value *);
    int (*Temperature)(void *, int, unsigned *);
    int (*MigMode)(void *, unsigned *, unsigned *);
    int (*FromMig)(void *, void **);
} nv;

static const struct {
    const char *name;
    void *fn;
} nvml_functions[] = {
    {"nvmlInit_v2", &nv.Init},
    {"nvmlShutdown", &nv.Shutdown},
    {"nvmlDeviceGetCount_v2", &nv.GetCount},
    {"nvmlDeviceGetHandleByIndex_v2", &nv.HandleByIndex},
    {"nvmlDeviceGetHandleByUUID", &nv.HandleByUUID},
    {"nvmlDeviceGetName", &nv.GetName},
    {"nvmlSystemGetDriverVersion", &nv.DriverVersion},
    {"nvmlDeviceGetTotalEnergyConsumption", &nv.Energy},
    {"nvmlDeviceGetFieldValues", &nv.FieldValues},
    {"nvmlDeviceGetTemperature", &nv.Temperature},
    {"nvmlDeviceGetMigMode", &nv.MigMode},
    {"nvmlDeviceGetDeviceHandleFromMigDeviceHandle", &nv.FromMig},
};

enum { OK = 0, UNINITIALIZED = 1, INVALID = 2, NOT_SUPPORTED = 3, NOT_FOUND = 6,
       INSUFFICIENT_SIZE = 7, GPU_IS_LOST = 15 };

static int load_nvml(void **state)
{
    void *h = dlopen(getenv("ZEUS_NVML_LIBRARY"), RTLD_NOW | RTLD_LOCAL);
    (void)state;

    if (h == NULL)
        return -1;
    for (size_t i = 0; i < sizeof nvml_functions / sizeof nvml_functions[0]; i++) {
        void *addr = dlsym(h, nvml_functions[i].name);
        if (addr == NULL)
            return -1;
        memcpy(nvml_functions[i].fn, &addr, sizeof addr);
    }
    return 0;
}

/* ---- Fixtures ---------------------------------------------------------------------------- */

/* Every test starts with default devices and NVML initialized once. */
static int init(void **state)
{
    (void)state;
    zt_fake_nvml_reset(NULL);
    return nv.Init() == OK ? 0 : -1;
}

static int shutdown_all(void **state)
{
    (void)state;
    while (zt_fake_nvml()->init_count() > 0)
        nv.Shutdown();
    return 0;
}

static void *handle(unsigned i)
{
    void *h = NULL;

    assert_int_equal(nv.HandleByIndex(i, &h), OK);
    return h;
}

static field_value read_field(void *h, unsigned field, unsigned scope)
{
    field_value v;

    memset(&v, 0, sizeof v);
    v.fieldId = field;
    v.scopeId = scope;
    assert_int_equal(nv.FieldValues(h, 1, &v), OK);
    return v;
}

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- Initialization and handles ---------------------------------------------------------- */

static void test_fake_calls_before_init_are_uninitialized(void **state)
{
    unsigned n = 0;
    (void)state;

    zt_fake_nvml_reset("gpus=2");
    assert_int_equal(nv.GetCount(&n), UNINITIALIZED);
    assert_int_equal(nv.Shutdown(), UNINITIALIZED);
    assert_int_equal(nv.Init(), OK);
    assert_int_equal(nv.Init(), OK);
    assert_int_equal(nv.Shutdown(), OK);
    assert_int_equal(nv.GetCount(&n), OK); /* one init is still open */
    assert_int_equal(n, 2);
    assert_int_equal(nv.Shutdown(), OK);
    assert_int_equal(nv.GetCount(&n), UNINITIALIZED);
    assert_int_equal(zt_fake_nvml()->init_count(), 0);
}

static void test_fake_bad_handle_is_invalid_argument(void **state)
{
    char name[96];
    int not_a_gpu;
    void *stale;
    (void)state;

    assert_int_equal(nv.GetName(NULL, name, sizeof name), INVALID);
    assert_int_equal(nv.GetName(&not_a_gpu, name, sizeof name), INVALID);
    assert_int_equal(nv.HandleByIndex(1, &stale), INVALID);
    zt_fake_nvml_reset("gpus=2");
    stale = handle(1);
    zt_fake_nvml_reset("gpus=1");
    assert_int_equal(nv.GetName(stale, name, sizeof name), INVALID);
    assert_int_equal(nv.GetName((char *)handle(0) + 1, name, sizeof name), INVALID);
}

static void test_fake_handle_by_uuid_finds_gpu(void **state)
{
    void *h = NULL;
    (void)state;

    zt_fake_nvml_reset("gpus=2;gpu1.uuid=GPU-1234");
    assert_int_equal(nv.HandleByUUID("GPU-1234", &h), OK);
    assert_ptr_equal(h, handle(1));
    assert_int_equal(nv.HandleByUUID("GPU-12", &h), NOT_FOUND);
}

static void test_fake_small_buffers_are_insufficient_size(void **state)
{
    char buf[8];
    (void)state;

    assert_int_equal(nv.GetName(handle(0), buf, sizeof buf), INSUFFICIENT_SIZE);
    assert_int_equal(nv.DriverVersion(buf, sizeof buf), INSUFFICIENT_SIZE);
    assert_int_equal(nv.DriverVersion(buf, 0), INSUFFICIENT_SIZE);
}

/* ---- Spec -------------------------------------------------------------------------------- */

static void test_fake_bad_spec_is_refused_and_changes_nothing(void **state)
{
    static const struct {
        const char *spec, *why;
    } bad[] = {
        {"gpus=2;bogus=1", "bogus"},
        {"power_w=-5", "power_w"},
        {"gpus=2;gpu2.name=x", "gpu2.name"},
        {"gpus=65", "gpus"},
        {"gpus=2;uuid=GPU-same", "share uuid"},
        {"trace=sine", "trace"},
        {"memory_power=2", "memory_power"},
        {"name", "key=value"},
        {"limit_min_w=800", "limit_min_w"},
        {"gpux.name=a", "gpux.name"},
        {"mig_slices=0", "mig_slices"},
        {"mig_slices=8", "mig_slices"},
        {"mig=1;arch=6", "MIG needs"},
    };
    unsigned n = 0;
    (void)state;

    zt_fake_nvml_reset("gpus=3");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(zt_fake_nvml()->reset(bad[i].spec), -1);
        if (strstr(zt_fake_nvml()->last_error(), bad[i].why) == NULL)
            fail_msg("spec \"%s\": \"%s\" does not name %s", bad[i].spec,
                     zt_fake_nvml()->last_error(), bad[i].why);
    }
    assert_int_equal(nv.GetCount(&n), OK);
    assert_int_equal(n, 3);
}

static void test_fake_prefixed_key_wins_whatever_order(void **state)
{
    char name[96];
    (void)state;

    zt_fake_nvml_reset(" gpu1.name = B ; name=A;gpus=2; ");
    assert_int_equal(nv.GetName(handle(0), name, sizeof name), OK);
    assert_string_equal(name, "A");
    assert_int_equal(nv.GetName(handle(1), name, sizeof name), OK);
    assert_string_equal(name, "B");
}

/* ---- MIG --------------------------------------------------------------------------------- */

static void test_fake_mig_mode_and_slices(void **state)
{
    unsigned cur = 9, pending = 9;
    void *h = NULL, *parent = NULL;
    char uuid[96], name[96];
    (void)state;

    zt_fake_nvml_reset("gpus=3;gpu1.mig=1;gpu1.mig_slices=3;gpu2.arch=6");
    assert_int_equal(nv.MigMode(handle(0), &cur, &pending), OK);
    assert_int_equal(cur, 0);
    assert_int_equal(nv.MigMode(handle(1), &cur, &pending), OK);
    assert_int_equal(cur, 1);
    assert_int_equal(pending, 1);
    assert_int_equal(nv.MigMode(handle(2), &cur, &pending), NOT_SUPPORTED); /* Pascal */

    snprintf(uuid, sizeof uuid, FAKE_MIG_UUID_FORMAT, 1u, 2u);
    assert_int_equal(nv.HandleByUUID(uuid, &h), OK);
    assert_ptr_not_equal(h, handle(1)); /* a MIG handle, not the GPU's */
    assert_int_equal(nv.FromMig(h, &parent), OK);
    assert_ptr_equal(parent, handle(1));
    assert_int_equal(nv.GetName(h, name, sizeof name), INVALID); /* only FromMig takes it */
    assert_int_equal(nv.FromMig(handle(1), &parent), INVALID); /* as NVML on an H200 */

    snprintf(uuid, sizeof uuid, FAKE_MIG_UUID_FORMAT, 1u, 3u); /* only 3 slices */
    assert_int_equal(nv.HandleByUUID(uuid, &h), NOT_FOUND);
    snprintf(uuid, sizeof uuid, FAKE_MIG_UUID_FORMAT, 0u, 0u); /* GPU 0 is not in MIG mode */
    assert_int_equal(nv.HandleByUUID(uuid, &h), NOT_FOUND);
}

/* ---- Power fields ------------------------------------------------------------------------ */

static void test_fake_module_scope_answers_only_at_module(void **state)
{
    void *h;
    (void)state;

    zt_fake_nvml_reset("module_scope=1;memory_power=0;power_w=250");
    h = handle(0);
    assert_int_equal(read_field(h, 186, 0).nvmlReturn, NOT_SUPPORTED);
    assert_int_equal(read_field(h, 186, 1).nvmlReturn, OK);
    assert_int_equal(read_field(h, 186, 1).value.uiVal, 250000);
    assert_int_equal(read_field(h, 185, 2).nvmlReturn, NOT_SUPPORTED);
    assert_int_equal(read_field(h, 999, 0).nvmlReturn, NOT_SUPPORTED);
    zt_fake_nvml_reset("memory_w=46");
    assert_int_equal(read_field(h, 186, 1).nvmlReturn, NOT_SUPPORTED);
    assert_int_equal(read_field(h, 186, 2).nvmlReturn, NOT_SUPPORTED); /* memory: 185 only */
    assert_int_equal(read_field(h, 185, 2).value.uiVal, 46000);
}

/* ---- Time model -------------------------------------------------------------------------- */

/* The trace's power (W) at t ms, written out independently of the fake's closed forms. */
static double reference_power_w(const char *trace, double t)
{
    double r = fmod(t, 100.0); /* trace_period_ms=100 below */

    if (strcmp(trace, "square") == 0)
        return r < 50 ? 700 : 100;
    if (strcmp(trace, "bursts") == 0)
        return r >= 95 ? 900 : 700;
    if (strcmp(trace, "ramp") == 0)
        return 100 + 600 * r / 100;
    return 700;
}

/* Energy (mJ) from 0 to t ms by the midpoint rule, 1 us steps. */
static double reference_energy_mj(const char *trace, double t)
{
    double e = 0;

    for (double x = 0.0005; x < t; x += 0.001)
        e += reference_power_w(trace, x) * 0.001;
    return e;
}

static void test_fake_counter_is_exact_integral_at_a_boundary(void **state)
{
    static const char *const traces[] = {"constant", "square", "bursts", "ramp"};
    (void)state;

    for (size_t i = 0; i < 4; i++) {
        char spec[160];
        unsigned long long mj;
        double start, elapsed;
        int matched = 0;

        snprintf(spec, sizeof spec,
                 "trace=%s;power_w=700;low_w=100;burst_w=900;trace_period_ms=100;burst_ms=5;"
                 "period_ms=10",
                 traces[i]);
        start = mono_ms();
        zt_fake_nvml_reset(spec);
        sleep_ms(35);
        assert_int_equal(nv.Energy(handle(0), &mj), OK);
        elapsed = mono_ms() - start;
        assert_true(mj > 0);
        /* The counter must equal the integral up to one of the boundaries that have passed. */
        for (int k = 1; k * 10 <= elapsed + 1e-9 && !matched; k++)
            matched = fabs(reference_energy_mj(traces[i], k * 10.0) - (double)mj) < 1.0;
        if (!matched)
            fail_msg("%s: counter %llu mJ is no boundary's integral within %.1f ms", traces[i],
                     mj, elapsed);
    }
}

static void test_fake_bursts_between_boundaries_stay_unseen(void **state)
{
    void *h;
    (void)state;

    zt_fake_nvml_reset("trace=bursts;power_w=100;burst_w=900;trace_period_ms=100;"
                       "burst_ms=5;period_ms=10");
    h = handle(0);
    for (int i = 0; i < 12; i++) {
        assert_int_equal(read_field(h, 186, 0).value.uiVal, 100000);
        sleep_ms(3);
    }
}

static void test_fake_set_power_keeps_counter_monotonic(void **state)
{
    unsigned long long before, after;
    void *h;
    (void)state;

    zt_fake_nvml_reset("power_w=700;period_ms=5");
    h = handle(0);
    sleep_ms(12);
    assert_int_equal(nv.Energy(h, &before), OK);
    zt_fake_nvml()->set_power_mw(0, 100000);
    assert_int_equal(nv.Energy(h, &after), OK);
    assert_true(after >= before);
    assert_int_equal(read_field(h, 186, 0).value.uiVal, 100000);
    assert_int_equal(read_field(h, 185, 0).value.uiVal, 100000);
}

static void test_fake_manual_counter_ignores_time(void **state)
{
    unsigned long long mj;
    (void)state;

    zt_fake_nvml_reset("power_w=700;period_ms=1");
    zt_fake_nvml()->set_energy_mj(0, 42);
    sleep_ms(3);
    assert_int_equal(nv.Energy(handle(0), &mj), OK);
    assert_int_equal(mj, 42);
}

static void test_fake_period_jitter_moves_boundaries_within_bound(void **state)
{
    unsigned long long mj, last = 0;
    double worst = 0;
    void *h;
    (void)state;

    /* 1000 W is 1 mJ per microsecond, so the counter tells its boundary's time to 1 us. */
    zt_fake_nvml_reset("power_w=1000;period_ms=10;period_jitter_ms=3");
    h = handle(0);
    for (int i = 0; i < 40; i++) {
        double b_ms, off;

        sleep_ms(3);
        assert_int_equal(nv.Energy(h, &mj), OK);
        assert_true(mj >= last); /* boundaries stay in order */
        last = mj;
        b_ms = (double)mj / 1000.0;
        off = b_ms - 10.0 * round(b_ms / 10.0);
        assert_true(fabs(off) <= 3.0 + 0.002);
        worst = fmax(worst, fabs(off));
    }
    assert_true(worst > 0.1); /* some boundary is off the grid */
    assert_int_not_equal(zt_fake_nvml()->reset("period_ms=10;period_jitter_ms=5"), 0);
}

/* ---- True energy (for the benchmarks) ----------------------------------------------------- */

/* fake_nvml_true_energy_j, looked up here: the shared control table predates it. */
static double true_energy_j(unsigned gpu, double t0_s, double t1_s)
{
    static double (*fn)(unsigned, double, double);

    if (fn == NULL) {
        void *h = dlopen(getenv("ZEUS_NVML_LIBRARY"), RTLD_NOW | RTLD_LOCAL);
        void *addr = h != NULL ? dlsym(h, "fake_nvml_true_energy_j") : NULL;

        if (addr == NULL)
            fail_msg("the fake NVML has no fake_nvml_true_energy_j");
        memcpy(&fn, &addr, sizeof addr);
    }
    return fn(gpu, t0_s, t1_s);
}

static void test_fake_true_energy_is_exact_integral_of_trace(void **state)
{
    double before, after, e, skew;
    (void)state;

    before = mono_ms() / 1e3;
    zt_fake_nvml_reset("gpus=2;trace=square;power_w=700;low_w=100;trace_period_ms=1000;"
                       "gpu1.trace=constant;gpu1.power_w=300");
    after = mono_ms() / 1e3;
    e = before;               /* the reset's t = 0 lies in [before, after] */
    skew = after - before;    /* so an interval here may sit that much early */
    /* Inside the 700 W half, and across the edge at 0.5 s (where the skew counts). */
    assert_near(true_energy_j(0, e + 0.1, e + 0.3), 140.0, 1e-6);
    assert_near(true_energy_j(0, e + 0.4, e + 0.6), 80.0, 600 * skew + 1e-6);
    /* A whole period is 400 J wherever it starts; no update step, no rounding. */
    assert_near(true_energy_j(0, e + 0.25, e + 1.25), 400.0, 1e-6);
    assert_near(true_energy_j(0, e + 2.7, e + 5.7), 1200.0, 1e-6);
    assert_near(true_energy_j(1, e + 1, e + 3), 600.0, 1e-6);
    assert_near(true_energy_j(1, e + 3, e + 1), -600.0, 1e-6);
    /* Before the reset the device drew nothing. */
    assert_near(true_energy_j(1, e - 5, e - 1), 0.0, 1e-9);
    assert_near(true_energy_j(1, e - 1, e + 1), 300.0, 300 * skew + 1e-6);
    assert_true(isnan(true_energy_j(2, e, e + 1)));
}

static void test_fake_true_energy_matches_counter_at_a_boundary(void **state)
{
    unsigned long long mj;
    double before, skew, elapsed_ms;
    int matched = 0;
    (void)state;

    /* The counter at its last boundary b is the integral from the reset to b: same clock. */
    before = mono_ms() / 1e3;
    zt_fake_nvml_reset("trace=square;power_w=700;low_w=100;trace_period_ms=60;period_ms=10");
    skew = mono_ms() / 1e3 - before;
    sleep_ms(45);
    assert_int_equal(nv.Energy(handle(0), &mj), OK);
    elapsed_ms = mono_ms() - before * 1e3;
    for (int k = 1; k * 10 <= elapsed_ms && !matched; k++)
        matched = fabs(true_energy_j(0, before, before + k * 0.010) * 1e3 - (double)mj) <=
                  1.0 + 700e3 * skew;
    if (!matched)
        fail_msg("counter %llu mJ is no boundary's true energy", mj);
}

/* ---- Failure injection ------------------------------------------------------------------- */

static void test_fake_fail_counts_down_then_recovers(void **state)
{
    unsigned c;
    (void)state;

    zt_fake_nvml_fail("nvmlDeviceGetTemperature", 0, GPU_IS_LOST, 2);
    assert_int_equal(nv.Temperature(handle(0), 0, &c), GPU_IS_LOST);
    assert_int_equal(nv.Temperature(handle(0), 0, &c), GPU_IS_LOST);
    assert_int_equal(nv.Temperature(handle(0), 0, &c), OK);
    assert_int_equal(zt_fake_nvml()->call_count("nvmlDeviceGetTemperature"), 3);
}

static void test_fake_fail_star_hits_device_calls_only(void **state)
{
    char name[96];
    unsigned n;
    void *h;
    (void)state;

    zt_fake_nvml_reset("gpus=2");
    h = handle(0);
    zt_fake_nvml_fail("*", 0, GPU_IS_LOST, -1);
    assert_int_equal(nv.GetName(h, name, sizeof name), GPU_IS_LOST);
    assert_int_equal(nv.HandleByIndex(0, &h), GPU_IS_LOST);
    assert_int_equal(nv.GetName(handle(1), name, sizeof name), OK);
    assert_int_equal(nv.GetCount(&n), OK);
    zt_fake_nvml_fail("*", 0, 0, 0); /* cleared */
    assert_int_equal(nv.HandleByIndex(0, &h), OK);
    zt_fake_nvml_fail("*", ZT_FAKE_ALL_GPUS, GPU_IS_LOST, -1);
    assert_int_equal(nv.Shutdown(), OK); /* a lost GPU does not break shutdown */
}

static void test_fake_fail_unknown_function_is_refused(void **state)
{
    (void)state;

    zt_fake_nvml_fail("nvmlDeviceGetNothing", 0, GPU_IS_LOST, 1);
    assert_non_null(strstr(zt_fake_nvml()->last_error(), "nvmlDeviceGetNothing"));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, init, shutdown_all)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_fake_calls_before_init_are_uninitialized, shutdown_all),
        T(test_fake_bad_handle_is_invalid_argument),
        T(test_fake_handle_by_uuid_finds_gpu),
        T(test_fake_small_buffers_are_insufficient_size),
        T(test_fake_bad_spec_is_refused_and_changes_nothing),
        T(test_fake_prefixed_key_wins_whatever_order),
        T(test_fake_mig_mode_and_slices),
        T(test_fake_module_scope_answers_only_at_module),
        T(test_fake_counter_is_exact_integral_at_a_boundary),
        T(test_fake_bursts_between_boundaries_stay_unseen),
        T(test_fake_set_power_keeps_counter_monotonic),
        T(test_fake_manual_counter_ignores_time),
        T(test_fake_period_jitter_moves_boundaries_within_bound),
        T(test_fake_true_energy_is_exact_integral_of_trace),
        T(test_fake_true_energy_matches_counter_at_a_boundary),
        T(test_fake_fail_counts_down_then_recovers),
        T(test_fake_fail_star_hits_device_calls_only),
        T(test_fake_fail_unknown_function_is_refused),
    };
#undef T
    return cmocka_run_group_tests_name("fake_nvml", tests, load_nvml, NULL);
}
