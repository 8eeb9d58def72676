/*
 * test_gh200_mig.c - GPUs whose readings cover more than the GPU, on the fake NVML: Grace
 * Hopper, whose power answers only at module scope, and MIG, where NVML measures the whole
 * physical GPU. Checks what the NVML backend reports (ZEUS_GPU_MODULE_SCOPE, ZEUS_GPU_MIG),
 * how CUDA_VISIBLE_DEVICES maps MIG slices to their GPU, and that the monitors warn once and
 * flag every value (ZEUS_ENERGY_MODULE_SCOPE, ZEUS_ENERGY_WHOLE_GPU).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake_nvml.h"
#include "fake_nvml_control.h"
#include "test_support.h"
#include "zeus/zeus.h"

#define GH200 "name=NVIDIA GH200 480GB;module_scope=1;power_w=500"

/* ---- Fixtures ---------------------------------------------------------------------------- */

struct fixture {
    zeus_devices *devs;
    char warnings[2048]; /* every warning, one per line */
    int warning_count;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    if (f == NULL)
        return -1;
    unsetenv("CUDA_VISIBLE_DEVICES");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    int leaked;

    zeus_devices_destroy(f->devs);
    free(f);
    unsetenv("CUDA_VISIBLE_DEVICES");
    leaked = zt_fake_nvml()->init_count();
    zt_fake_nvml()->reset(NULL);
    if (leaked != 0) {
        print_error("%d nvmlInit_v2 calls were not shut down\n", leaked);
        return -1;
    }
    return 0;
}

static zeus_devices *open_with(void **state, const char *spec)
{
    struct fixture *f = *state;

    zt_fake_nvml_reset(spec);
    assert_int_equal(zeus_devices_create(&f->devs), ZEUS_OK);
    return f->devs;
}

static zeus_gpu_info gpu_info(zeus_devices *devs, unsigned gpu)
{
    zeus_gpu_info info;

    assert_int_equal(zeus_gpu_get_info(devs, gpu, &info), ZEUS_OK);
    return info;
}

static void assert_contains(const char *text, const char *needle)
{
    if (strstr(text, needle) == NULL)
        fail_msg("\"%s\" does not contain \"%s\"", text, needle);
}

/* The NVML backend did not open, and its detail says why. */
static void assert_backend_failed(zeus_devices *devs, zeus_status status, const char *needle)
{
    zeus_backend_info info;

    assert_int_equal(zeus_devices_gpu_count(devs), 0);
    for (unsigned i = 0; i < zeus_devices_backend_count(devs); i++) {
        assert_int_equal(zeus_devices_backend_info(devs, i, &info), ZEUS_OK);
        if (strcmp(info.name, "nvml") != 0)
            continue;
        assert_int_equal(info.status, status);
        assert_contains(info.detail, needle);
        return;
    }
    fail_msg("no nvml backend");
}

/* The fake's UUID of MIG slice `slice` on physical GPU `gpu`. */
static const char *mig_uuid(unsigned gpu, unsigned slice)
{
    static char buf[2][96];
    static int which;

    which ^= 1;
    snprintf(buf[which], sizeof buf[which], FAKE_MIG_UUID_FORMAT, gpu, slice);
    return buf[which];
}

static void record_warning(const char *msg, void *user)
{
    struct fixture *f = user;
    size_t used = strlen(f->warnings);

    f->warning_count++;
    snprintf(f->warnings + used, sizeof f->warnings - used, "%s\n", msg);
}

/* A monitor over every GPU and no CPU, recording warnings in the fixture. */
static zeus_monitor *make_monitor_mode(struct fixture *f, int direct)
{
    static const unsigned no_cpus[1];
    zeus_monitor_options o;
    zeus_monitor *mon = NULL;

    zeus_monitor_options_init(&o);
    o.cpu_indices = no_cpus;
    o.cpu_index_count = 0;
    o.warn = record_warning;
    o.warn_user = f;
    o.direct_reads = direct;
    if (zeus_monitor_create(&o, &mon) != ZEUS_OK)
        fail_msg("zeus_monitor_create: %s", zeus_last_error());
    return mon;
}

static zeus_monitor *make_monitor(struct fixture *f)
{
    return make_monitor_mode(f, 1);
}

/* One window over GPU counters moved by hand: GPU g uses (g + 1) J. */
static void measure(zeus_monitor *mon, unsigned gpus, zeus_measurement *m)
{
    for (unsigned g = 0; g < gpus; g++)
        zt_fake_nvml()->set_energy_mj(g, 1000);
    assert_int_equal(zeus_monitor_begin_window(mon, "w", 0), ZEUS_OK);
    for (unsigned g = 0; g < gpus; g++)
        zt_fake_nvml()->set_energy_mj(g, 1000 + 1000 * (g + 1));
    assert_int_equal(zeus_monitor_end_window(mon, "w", 0, m), ZEUS_OK);
}

/* ---- Grace Hopper: module scope ---------------------------------------------------------- */

/* The fallback itself is in test_nvml.c; here: a plain GPU is not marked, a GH200 is. */
static void test_gh200_module_scope_marks_only_that_gpu(void **state)
{
    zeus_devices *devs = open_with(state, "gpus=2;gpu1.name=NVIDIA GH200 480GB;gpu1.module_scope=1");

    assert_false(gpu_info(devs, 0).supports & ZEUS_GPU_MODULE_SCOPE);
    assert_true(gpu_info(devs, 1).supports & ZEUS_GPU_MODULE_SCOPE);
    assert_false(gpu_info(devs, 1).supports & ZEUS_GPU_MIG);
}

static void test_gh200_window_warns_once_and_flags_module_scope(void **state)
{
    struct fixture *f = *state;
    zeus_measurement m;
    zeus_monitor *mon;

    zt_fake_nvml_reset("gpus=2;gpu1.name=NVIDIA GH200 480GB;gpu1.module_scope=1");
    mon = make_monitor(f);
    assert_int_equal(f->warning_count, 1);
    assert_contains(f->warnings, "GPU 1 (NVIDIA GH200 480GB)");
    assert_contains(f->warnings, "entire module (CPU + GPU)");

    measure(mon, 2, &m);
    zeus_monitor_destroy(mon);
    assert_near(m.gpu_energy_j[1], 2.0, 1e-9); /* the value is still the counter's */
    assert_true(m.gpu_flags[1] & ZEUS_ENERGY_VALID);
    assert_true(m.gpu_flags[1] & ZEUS_ENERGY_MODULE_SCOPE);
    assert_false(m.gpu_flags[1] & ZEUS_ENERGY_WHOLE_GPU);
    assert_int_equal(m.gpu_flags[0], ZEUS_ENERGY_VALID | ZEUS_ENERGY_COUNTER);
    assert_int_equal(f->warning_count, 1); /* said at creation, not at every window */
}

static void test_gh200_power_monitor_warns_and_flags(void **state)
{
    struct fixture *f = *state;
    zeus_power_monitor_options o;
    zeus_power_monitor *pm = NULL;
    zeus_power_energy e;
    struct timespec nap = {0, 60 * 1000000L};
    double t0;

    zt_fake_nvml_reset("period_ms=10;" GH200);
    zeus_power_monitor_options_init(&o);
    o.update_period_s = 0.01;
    o.warn = record_warning;
    o.warn_user = f;
    assert_int_equal(zeus_power_monitor_create(&o, &pm), ZEUS_OK);
    assert_contains(f->warnings, "entire module");
    t0 = zeus_now();
    nanosleep(&nap, NULL);
    assert_int_equal(zeus_power_monitor_energy_detail(pm, ZEUS_POWER_DEVICE_INSTANT, 0, t0,
                                                      zeus_now() - 0.02, &e),
                     ZEUS_OK);
    assert_true(e.flags & ZEUS_ENERGY_MODULE_SCOPE);
    assert_true(e.flags & ZEUS_ENERGY_INTEGRATED);
    /* The memory rail is the GPU's own: not module scope. */
    assert_int_equal(zeus_power_monitor_energy_detail(pm, ZEUS_POWER_MEMORY_AVERAGE, 0, t0,
                                                      zeus_now() - 0.02, &e),
                     ZEUS_OK);
    assert_false(e.flags & ZEUS_ENERGY_MODULE_SCOPE);
    zeus_power_monitor_destroy(pm);
}

/* ---- MIG: the whole physical GPU --------------------------------------------------------- */

static void test_mig_mode_sets_the_mig_bit(void **state)
{
    zeus_devices *devs = open_with(state, "gpus=3;gpu1.mig=1;gpu2.arch=6");

    assert_false(gpu_info(devs, 0).supports & ZEUS_GPU_MIG);
    assert_true(gpu_info(devs, 1).supports & ZEUS_GPU_MIG);
    /* Before Ampere NVML answers NOT_SUPPORTED: no MIG, and the GPU still opens. */
    assert_false(gpu_info(devs, 2).supports & ZEUS_GPU_MIG);
    assert_true(gpu_info(devs, 1).supports & ZEUS_GPU_ENERGY_COUNTER);
}

/*
 * A MIG UUID used to be refused; it now stands for the GPU that holds the slice, numbered by
 * its place in the list, and reads that GPU's counter.
 */
static void test_mig_uuid_in_visible_devices_maps_to_parent(void **state)
{
    zeus_devices *devs;
    char value[256];
    double j;

    snprintf(value, sizeof value, "%s,0", mig_uuid(2, 1));
    setenv("CUDA_VISIBLE_DEVICES", value, 1);
    devs = open_with(state, "gpus=3;gpu2.mig=1;gpu2.mig_slices=3");
    assert_int_equal(zeus_devices_gpu_count(devs), 2);
    assert_int_equal(gpu_info(devs, 0).physical_index, 2);
    assert_true(gpu_info(devs, 0).supports & ZEUS_GPU_MIG);
    assert_int_equal(gpu_info(devs, 1).physical_index, 0);
    assert_false(gpu_info(devs, 1).supports & ZEUS_GPU_MIG);
    zt_fake_nvml()->set_energy_mj(2, 7000);
    assert_int_equal(zeus_gpu_get_energy(devs, 0, &j), ZEUS_OK);
    assert_near(j, 7.0, 1e-9);
    assert_true(zt_fake_nvml()->call_count("nvmlDeviceGetDeviceHandleFromMigDeviceHandle") >= 1);
}

/* Drivers before R470 name slices MIG-GPU-<gpu uuid>/<gi>/<ci>: the parent is in the name. */
static void test_mig_legacy_name_maps_to_parent(void **state)
{
    zeus_devices *devs;
    char uuid[96], value[160];

    snprintf(uuid, sizeof uuid, "GPU-%08x-fa4e-4d1c-8b5e-%012x", 0x9e3779b9u * 2, 1);
    snprintf(value, sizeof value, "MIG-%s/1/0", uuid);
    setenv("CUDA_VISIBLE_DEVICES", value, 1);
    devs = open_with(state, "gpus=2;mig=1");
    assert_int_equal(zeus_devices_gpu_count(devs), 1);
    assert_string_equal(gpu_info(devs, 0).uuid, uuid);
    assert_int_equal(gpu_info(devs, 0).physical_index, 1);
    assert_true(gpu_info(devs, 0).supports & ZEUS_GPU_MIG);
}

static void test_mig_unknown_uuid_is_not_found(void **state)
{
    /* A slice that does not exist (slice 2 of 2), and a GPU not in MIG mode has none. */
    setenv("CUDA_VISIBLE_DEVICES", mig_uuid(0, 2), 1);
    assert_backend_failed(open_with(state, "mig=1"), ZEUS_ERR_NOT_FOUND, mig_uuid(0, 2));
}

static void test_mig_two_slices_of_one_gpu_are_refused(void **state)
{
    char value[256];

    snprintf(value, sizeof value, "%s,%s", mig_uuid(0, 0), mig_uuid(0, 1));
    setenv("CUDA_VISIBLE_DEVICES", value, 1);
    assert_backend_failed(open_with(state, "mig=1"), ZEUS_ERR_INVALID_ARGUMENT,
                          "MIG slices of one GPU");
}

static void test_mig_nvml_error_names_the_function(void **state)
{
    setenv("CUDA_VISIBLE_DEVICES", mig_uuid(0, 0), 1);
    zt_fake_nvml_reset("mig=1");
    zt_fake_nvml_fail("nvmlDeviceGetDeviceHandleFromMigDeviceHandle", ZT_FAKE_ALL_GPUS, 999, -1);
    assert_int_equal(zeus_devices_create(&((struct fixture *)*state)->devs), ZEUS_OK);
    assert_backend_failed(((struct fixture *)*state)->devs, ZEUS_ERR_UNKNOWN,
                          "nvmlDeviceGetDeviceHandleFromMigDeviceHandle");
}

static void test_mig_window_warns_and_flags_whole_gpu(void **state)
{
    struct fixture *f = *state;
    zeus_measurement m;
    zeus_monitor *mon;

    setenv("CUDA_VISIBLE_DEVICES", mig_uuid(0, 1), 1);
    zt_fake_nvml_reset("mig=1");
    mon = make_monitor(f);
    assert_int_equal(f->warning_count, 1);
    assert_contains(f->warnings, "MIG mode");
    assert_contains(f->warnings, "whole physical GPU");
    measure(mon, 1, &m);
    zeus_monitor_destroy(mon);
    assert_near(m.gpu_energy_j[0], 1.0, 1e-9);
    assert_int_equal(m.gpu_flags[0],
                     ZEUS_ENERGY_VALID | ZEUS_ENERGY_COUNTER | ZEUS_ENERGY_WHOLE_GPU);
}

/* The default, sampled mode flags its provisional and final values alike. */
static void test_sampled_window_flags_both(void **state)
{
    struct fixture *f = *state;
    struct timespec nap = {0, 50 * 1000000L};
    zeus_measurement m, fin;
    zeus_monitor *mon;

    zt_fake_nvml_reset("gpus=2;period_ms=10;gpu0.module_scope=1;gpu1.mig=1");
    mon = make_monitor_mode(f, 0);
    assert_int_equal(f->warning_count, 2);
    assert_int_equal(zeus_monitor_begin_window(mon, "w", 0), ZEUS_OK);
    nanosleep(&nap, NULL);
    assert_int_equal(zeus_monitor_end_window(mon, "w", 0, &m), ZEUS_OK);
    assert_int_equal(zeus_monitor_get_final(mon, m.window_id, 2.0, &fin), ZEUS_OK);
    zeus_monitor_destroy(mon);
    assert_true(m.gpu_flags[0] & ZEUS_ENERGY_MODULE_SCOPE);
    assert_true(m.gpu_flags[1] & ZEUS_ENERGY_WHOLE_GPU);
    assert_true(fin.gpu_flags[0] & ZEUS_ENERGY_VALID);
    assert_true(fin.gpu_flags[0] & ZEUS_ENERGY_MODULE_SCOPE);
    assert_false(fin.gpu_flags[0] & ZEUS_ENERGY_WHOLE_GPU);
    assert_true(fin.gpu_flags[1] & ZEUS_ENERGY_WHOLE_GPU);
    assert_false(fin.gpu_flags[1] & ZEUS_ENERGY_MODULE_SCOPE);
    assert_true(fin.gpu_energy_j[1] > 0);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_gh200_module_scope_marks_only_that_gpu),
        T(test_gh200_window_warns_once_and_flags_module_scope),
        T(test_gh200_power_monitor_warns_and_flags),
        T(test_mig_mode_sets_the_mig_bit),
        T(test_mig_uuid_in_visible_devices_maps_to_parent),
        T(test_mig_legacy_name_maps_to_parent),
        T(test_mig_unknown_uuid_is_not_found),
        T(test_mig_two_slices_of_one_gpu_are_refused),
        T(test_mig_nvml_error_names_the_function),
        T(test_mig_window_warns_and_flags_whole_gpu),
        T(test_sampled_window_flags_both),
    };
#undef T
    return cmocka_run_group_tests_name("gh200_mig", tests, NULL, NULL);
}
