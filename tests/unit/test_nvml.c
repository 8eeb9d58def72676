/*
 * test_nvml.c - The NVML backend (src/device/nvml.c) through the public device API, against
 * the fake NVML loaded through ZEUS_NVML_LIBRARY as the real library would be.
 *
 * Each test configures the fake with a spec (tests/fakes/fake_nvml.c lists the keys), opens
 * a zeus_devices handle, and checks identity, CUDA_VISIBLE_DEVICES numbering, units, power
 * domains, setters and the mapping of every NVML error. The teardown checks that every
 * nvmlInit_v2 was paired with an nvmlShutdown.
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

#include "fake_nvml_control.h"
#include "test_support.h"
#include "zeus/zeus.h"

#define ENERGY_FN "nvmlDeviceGetTotalEnergyConsumption"
#define SET_LIMIT_FN "nvmlDeviceSetPowerManagementLimit"

/* ---- Fixtures ---------------------------------------------------------------------------- */

struct fixture {
    zeus_devices *devs;
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

/* Open the devices on whatever the fake is configured with now. */
static zeus_devices *create(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(zeus_devices_create(&f->devs), ZEUS_OK);
    return f->devs;
}

/* Configure the fake with `spec`, then open the devices. */
static zeus_devices *open_with(void **state, const char *spec)
{
    zt_fake_nvml_reset(spec);
    return create(state);
}

static zeus_backend_info nvml_backend(const zeus_devices *devs)
{
    zeus_backend_info info;

    for (unsigned i = 0; i < zeus_devices_backend_count(devs); i++) {
        assert_int_equal(zeus_devices_backend_info(devs, i, &info), ZEUS_OK);
        if (strcmp(info.name, "nvml") == 0)
            return info;
    }
    fail_msg("no nvml backend");
    return info;
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

/* The backend did not open: no GPUs, and show-env's status and detail say why. */
static void assert_backend_failed(zeus_devices *devs, zeus_status status, const char *needle)
{
    zeus_backend_info info = nvml_backend(devs);

    assert_int_equal(zeus_devices_gpu_count(devs), 0);
    assert_int_equal(info.status, status);
    assert_int_equal(info.device_count, 0);
    assert_contains(info.detail, needle);
    assert_int_equal(zt_fake_nvml()->init_count(), 0); /* open's nvmlInit_v2 was undone */
}

/* ---- Opening: identity and backend info -------------------------------------------------- */

static void test_nvml_default_gpu_reports_h100_identity(void **state)
{
    zeus_devices *devs = open_with(state, "");
    zeus_gpu_info info;
    uint32_t want = ZEUS_GPU_ENERGY_COUNTER | ZEUS_GPU_POWER_INSTANT | ZEUS_GPU_POWER_AVERAGE |
                    ZEUS_GPU_POWER_MEMORY | ZEUS_GPU_TEMPERATURE | ZEUS_GPU_POWER_LIMIT;

    assert_int_equal(zeus_devices_gpu_count(devs), 1);
    info = gpu_info(devs, 0);
    assert_string_equal(info.name, "NVIDIA H100 80GB HBM3");
    assert_int_equal(strncmp(info.uuid, "GPU-", 4), 0);
    assert_int_equal(info.architecture, 9);
    assert_int_equal(info.index, 0);
    assert_int_equal(info.physical_index, 0);
    assert_int_equal(info.supports, want);
}

static void test_nvml_several_gpus_report_own_names_and_uuids(void **state)
{
    zeus_devices *devs = open_with(state, "gpus=3;gpu1.name=NVIDIA A100-SXM4-40GB;gpu1.arch=7;"
                                          "gpu2.uuid=GPU-12345678-1234-1234-1234-123456789abc");

    assert_int_equal(zeus_devices_gpu_count(devs), 3);
    assert_string_equal(gpu_info(devs, 0).name, "NVIDIA H100 80GB HBM3");
    assert_string_equal(gpu_info(devs, 1).name, "NVIDIA A100-SXM4-40GB");
    assert_int_equal(gpu_info(devs, 1).architecture, 7);
    assert_string_equal(gpu_info(devs, 2).uuid, "GPU-12345678-1234-1234-1234-123456789abc");
    assert_string_not_equal(gpu_info(devs, 0).uuid, gpu_info(devs, 1).uuid);
}

/* Zeus's daemon and clients match GPUs by this string: its form is part of the wire. */
static void test_nvml_pci_bus_id_follows_visible_order_in_zeus_form(void **state)
{
    zeus_devices *devs;
    char id[ZEUS_PCI_BUS_ID_LEN], small[8] = "x";

    setenv("CUDA_VISIBLE_DEVICES", "2,0", 1);
    devs = open_with(state, "gpus=3;gpu2.pci_domain=1;gpu2.pci_bus=171;gpu2.pci_device=3");
    assert_int_equal(zeus_gpu_get_pci_bus_id(devs, 0, id, sizeof id), ZEUS_OK);
    assert_string_equal(id, "0001:ab:03.0"); /* lower case, 4-digit domain, function 0 */
    assert_int_equal(zeus_gpu_get_pci_bus_id(devs, 1, id, sizeof id), ZEUS_OK);
    assert_string_equal(id, "0000:18:00.0");
    assert_int_equal(zeus_gpu_get_pci_bus_id(devs, 2, id, sizeof id), ZEUS_ERR_NOT_FOUND);
    assert_string_equal(id, "");
    assert_int_equal(zeus_gpu_get_pci_bus_id(devs, 0, small, sizeof small),
                     ZEUS_ERR_INVALID_ARGUMENT);
    assert_string_equal(small, "");
    assert_int_equal(zeus_gpu_get_pci_bus_id(devs, 0, NULL, 32), ZEUS_ERR_INVALID_ARGUMENT);
    zt_fake_nvml_fail("nvmlDeviceGetPciInfo_v3", 2, 15 /* GPU_IS_LOST */, 1);
    assert_int_equal(zeus_gpu_get_pci_bus_id(devs, 0, id, sizeof id), ZEUS_ERR_GPU_LOST);
    assert_string_equal(id, "");
}

static void test_nvml_backend_info_names_library_and_driver(void **state)
{
    zeus_devices *devs = open_with(state, "gpus=2;driver=555.42.06");
    zeus_backend_info info = nvml_backend(devs);

    assert_int_equal(info.status, ZEUS_OK);
    assert_int_equal(info.kind, ZEUS_DEVICE_GPU);
    assert_int_equal(info.device_count, 2);
    assert_contains(info.detail, getenv("ZEUS_NVML_LIBRARY"));
    assert_contains(info.detail, "driver 555.42.06");
}

static void test_nvml_each_open_pairs_init_with_shutdown(void **state)
{
    zeus_devices *second;

    open_with(state, "");
    assert_int_equal(zt_fake_nvml()->init_count(), 1);
    assert_int_equal(zeus_devices_create(&second), ZEUS_OK);
    assert_int_equal(zt_fake_nvml()->init_count(), 2);
    zeus_devices_destroy(second);
    assert_int_equal(zt_fake_nvml()->init_count(), 1);
}

static void test_nvml_no_gpus_is_not_found(void **state)
{
    assert_backend_failed(open_with(state, "gpus=0"), ZEUS_ERR_NOT_FOUND, "no GPUs");
}

static void test_nvml_init_failure_maps_to_status(void **state)
{
    zt_fake_nvml_reset("");
    zt_fake_nvml_fail("nvmlInit_v2", ZT_FAKE_ALL_GPUS, 9 /* DRIVER_NOT_LOADED */, 1);
    assert_backend_failed(create(state), ZEUS_ERR_DRIVER_NOT_LOADED, "nvmlInit_v2");
}

static void test_nvml_probe_failure_on_visible_gpu_fails_open(void **state)
{
    zt_fake_nvml_reset("gpus=2");
    zt_fake_nvml_fail("nvmlDeviceGetName", 1, 15 /* GPU_IS_LOST */, -1);
    assert_backend_failed(create(state), ZEUS_ERR_GPU_LOST, "nvmlDeviceGetName failed on GPU 1");
}

static void test_nvml_probe_failure_on_hidden_gpu_is_ignored(void **state)
{
    zeus_devices *devs;

    zt_fake_nvml_reset("gpus=2");
    zt_fake_nvml_fail("*", 1, 15 /* GPU_IS_LOST */, -1);
    setenv("CUDA_VISIBLE_DEVICES", "0", 1);
    devs = create(state);
    assert_int_equal(zeus_devices_gpu_count(devs), 1);
}

/* ---- CUDA_VISIBLE_DEVICES ---------------------------------------------------------------- */

static void test_nvml_visible_indices_reorder_gpus(void **state)
{
    zeus_devices *devs;
    double j;

    setenv("CUDA_VISIBLE_DEVICES", "2,0", 1);
    devs = open_with(state, "gpus=3;gpu0.name=zero;gpu1.name=one;gpu2.name=two");
    assert_int_equal(zeus_devices_gpu_count(devs), 2);
    assert_string_equal(gpu_info(devs, 0).name, "two");
    assert_int_equal(gpu_info(devs, 0).index, 0);
    assert_int_equal(gpu_info(devs, 0).physical_index, 2);
    assert_string_equal(gpu_info(devs, 1).name, "zero");
    assert_int_equal(gpu_info(devs, 1).physical_index, 0);

    zt_fake_nvml()->set_energy_mj(2, 5000);
    zt_fake_nvml()->set_energy_mj(0, 7000);
    assert_int_equal(zeus_gpu_get_energy(devs, 0, &j), ZEUS_OK);
    assert_near(j, 5.0, 1e-9);
    assert_int_equal(zeus_gpu_get_energy(devs, 1, &j), ZEUS_OK);
    assert_near(j, 7.0, 1e-9);
    assert_int_equal(zeus_gpu_get_energy(devs, 2, &j), ZEUS_ERR_NOT_FOUND);
}

static void test_nvml_visible_uuid_and_prefix_select_gpus(void **state)
{
    zeus_devices *devs;

    setenv("CUDA_VISIBLE_DEVICES", " GPU-cccc2222-0000-4000-8000-000000000002 , GPU-aaaa", 1);
    devs = open_with(state, "gpus=3;gpu0.uuid=GPU-aaaa0000-0000-4000-8000-000000000000;"
                            "gpu1.uuid=GPU-bbbb1111-0000-4000-8000-000000000001;"
                            "gpu2.uuid=GPU-cccc2222-0000-4000-8000-000000000002");
    assert_int_equal(zeus_devices_gpu_count(devs), 2);
    assert_int_equal(gpu_info(devs, 0).physical_index, 2);
    assert_int_equal(gpu_info(devs, 1).physical_index, 0);
    assert_string_equal(gpu_info(devs, 1).uuid, "GPU-aaaa0000-0000-4000-8000-000000000000");
}

static void test_nvml_visible_empty_hides_every_gpu(void **state)
{
    setenv("CUDA_VISIBLE_DEVICES", "", 1);
    assert_backend_failed(open_with(state, "gpus=2"), ZEUS_ERR_NOT_FOUND,
                          "CUDA_VISIBLE_DEVICES is set but empty");
}

/*
 * MIG slices used to be refused (NOT_SUPPORTED); a slice now stands for its GPU
 * (test_gh200_mig.c), so what fails here is only that no GPU has this parent UUID.
 */
static void test_nvml_visible_mig_of_unknown_gpu_is_not_found(void **state)
{
    setenv("CUDA_VISIBLE_DEVICES", "MIG-GPU-aaaa0000-0000-4000-8000-000000000000/1/0", 1);
    assert_backend_failed(open_with(state, ""), ZEUS_ERR_NOT_FOUND,
                          "MIG-GPU-aaaa0000-0000-4000-8000-000000000000/1/0");
}

static void test_nvml_visible_bad_value_is_invalid(void **state)
{
    setenv("CUDA_VISIBLE_DEVICES", "0,first", 1);
    assert_backend_failed(open_with(state, "gpus=2"), ZEUS_ERR_INVALID_ARGUMENT, "\"first\"");
}

static void test_nvml_visible_out_of_range_is_not_found(void **state)
{
    setenv("CUDA_VISIBLE_DEVICES", "0,2", 1);
    assert_backend_failed(open_with(state, "gpus=2"), ZEUS_ERR_NOT_FOUND, "\"2\"");
}

static void test_nvml_visible_duplicate_is_invalid(void **state)
{
    setenv("CUDA_VISIBLE_DEVICES", "1,1", 1);
    assert_backend_failed(open_with(state, "gpus=2"), ZEUS_ERR_INVALID_ARGUMENT, "twice");
}

/* ---- Energy ------------------------------------------------------------------------------ */

static void test_nvml_energy_counter_mj_reads_joules(void **state)
{
    zeus_devices *devs = open_with(state, "");
    double j;

    zt_fake_nvml()->set_energy_mj(0, 123456);
    assert_int_equal(zeus_gpu_get_energy(devs, 0, &j), ZEUS_OK);
    assert_near(j, 123.456, 1e-9);
    zt_fake_nvml()->add_energy_mj(0, 544);
    assert_int_equal(zeus_gpu_get_energy(devs, 0, &j), ZEUS_OK);
    assert_near(j, 124.0, 1e-9);
}

static void test_nvml_energy_traced_counter_moves_in_whole_updates(void **state)
{
    /* 100 W for whole 100 ms updates: the counter only ever holds 5000 + k * 10000 mJ. */
    zeus_devices *devs = open_with(state, "power_w=100;period_ms=100;energy_mj=5000");
    double first, second;

    assert_int_equal(zeus_gpu_get_energy(devs, 0, &first), ZEUS_OK);
    assert_int_equal(llround(first * 1000) % 10000, 5000);
    assert_int_equal(zeus_gpu_get_energy(devs, 0, &second), ZEUS_OK);
    assert_int_equal(llround(second * 1000) % 10000, 5000);
    assert_true(second >= first);
}

static void test_nvml_energy_pre_volta_not_supported_without_call(void **state)
{
    zeus_devices *devs = open_with(state, "gpus=2;gpu0.arch=4;gpu1.arch=5");
    double j;

    assert_false(gpu_info(devs, 0).supports & ZEUS_GPU_ENERGY_COUNTER);
    assert_true(gpu_info(devs, 1).supports & ZEUS_GPU_ENERGY_COUNTER);
    assert_int_equal(zeus_gpu_get_energy(devs, 0, &j), ZEUS_ERR_NOT_SUPPORTED);
    assert_contains(zeus_last_error(), "Volta");
    assert_int_equal(zt_fake_nvml()->call_count(ENERGY_FN), 0);
    assert_int_equal(zeus_gpu_get_energy(devs, 1, &j), ZEUS_OK);
    assert_int_equal(zt_fake_nvml()->call_count(ENERGY_FN), 1);
}

/* ---- Power ------------------------------------------------------------------------------- */

static void test_nvml_power_domains_read_watts(void **state)
{
    zeus_devices *devs = open_with(state, "power_w=312.5;memory_w=46");
    double w;

    assert_int_equal(zeus_gpu_get_power(devs, 0, ZEUS_POWER_DEVICE_INSTANT, &w), ZEUS_OK);
    assert_near(w, 312.5, 1e-9);
    assert_int_equal(zeus_gpu_get_power(devs, 0, ZEUS_POWER_DEVICE_AVERAGE, &w), ZEUS_OK);
    assert_near(w, 312.5, 1e-9);
    assert_int_equal(zeus_gpu_get_power(devs, 0, ZEUS_POWER_MEMORY_AVERAGE, &w), ZEUS_OK);
    assert_near(w, 46.0, 1e-9);
}

static void test_nvml_power_follows_set_power(void **state)
{
    zeus_devices *devs = open_with(state, "");
    double w;

    zt_fake_nvml()->set_power_mw(0, 650000);
    assert_int_equal(zeus_gpu_get_power(devs, 0, ZEUS_POWER_DEVICE_INSTANT, &w), ZEUS_OK);
    assert_near(w, 650.0, 1e-9);
    assert_int_equal(zeus_gpu_get_power(devs, 0, ZEUS_POWER_DEVICE_AVERAGE, &w), ZEUS_OK);
    assert_near(w, 650.0, 1e-9);
}

static void test_nvml_power_module_scope_falls_back_to_module(void **state)
{
    zeus_devices *devs = open_with(state, "module_scope=1;power_w=500");
    zeus_gpu_info info = gpu_info(devs, 0);
    double w;

    assert_true(info.supports & ZEUS_GPU_MODULE_SCOPE);
    assert_true(info.supports & ZEUS_GPU_POWER_INSTANT);
    assert_true(info.supports & ZEUS_GPU_POWER_AVERAGE);
    assert_int_equal(zeus_gpu_get_power(devs, 0, ZEUS_POWER_DEVICE_INSTANT, &w), ZEUS_OK);
    assert_near(w, 500.0, 1e-9);
    assert_int_equal(zeus_gpu_get_power(devs, 0, ZEUS_POWER_DEVICE_AVERAGE, &w), ZEUS_OK);
    assert_near(w, 500.0, 1e-9);
}

static void test_nvml_power_memory_unsupported_is_not_supported(void **state)
{
    zeus_devices *devs = open_with(state, "gpus=2;gpu0.memory_power=0;gpu1.memory_w=0");
    double w;

    assert_false(gpu_info(devs, 0).supports & ZEUS_GPU_POWER_MEMORY);
    assert_int_equal(zeus_gpu_get_power(devs, 0, ZEUS_POWER_MEMORY_AVERAGE, &w),
                     ZEUS_ERR_NOT_SUPPORTED);
    assert_contains(zeus_last_error(), "memory_average");
    /* A memory scope that answers 0 W (A40) counts as absent. */
    assert_false(gpu_info(devs, 1).supports & ZEUS_GPU_POWER_MEMORY);
    assert_false(gpu_info(devs, 0).supports & ZEUS_GPU_MODULE_SCOPE);
}

static void test_nvml_power_without_fields_uses_power_usage(void **state)
{
    /* GetPowerUsage is a 1 s average from Ampere on, the instant draw before (NVML docs). */
    zeus_devices *devs = open_with(state, "gpus=2;power_fields=0;power_w=200;gpu1.arch=6");
    double w;

    assert_false(gpu_info(devs, 0).supports & ZEUS_GPU_POWER_INSTANT);
    assert_int_equal(zeus_gpu_get_power(devs, 0, ZEUS_POWER_DEVICE_AVERAGE, &w), ZEUS_OK);
    assert_near(w, 200.0, 1e-9);
    assert_false(gpu_info(devs, 1).supports & ZEUS_GPU_POWER_AVERAGE);
    assert_int_equal(zeus_gpu_get_power(devs, 1, ZEUS_POWER_DEVICE_INSTANT, &w), ZEUS_OK);
    assert_near(w, 200.0, 1e-9);
    assert_int_equal(zeus_gpu_get_power(devs, 1, ZEUS_POWER_DEVICE_AVERAGE, &w),
                     ZEUS_ERR_NOT_SUPPORTED);
}

/* ---- Temperature ------------------------------------------------------------------------- */

static void test_nvml_temperature_reads_celsius(void **state)
{
    zeus_devices *devs = open_with(state, "temp_c=63");
    double c;

    assert_int_equal(zeus_gpu_get_temperature(devs, 0, &c), ZEUS_OK);
    assert_near(c, 63.0, 1e-9);
    zt_fake_nvml()->set_temperature_c(0, 71);
    assert_int_equal(zeus_gpu_get_temperature(devs, 0, &c), ZEUS_OK);
    assert_near(c, 71.0, 1e-9);
}

/* ---- Power limit ------------------------------------------------------------------------- */

static void test_nvml_power_limits_read_watts(void **state)
{
    zeus_devices *devs = open_with(state, "limit_min_w=100;limit_max_w=450.5;limit_default_w=400");
    double lo, hi, w;

    assert_int_equal(zeus_gpu_get_power_limit_constraints(devs, 0, &lo, &hi), ZEUS_OK);
    assert_near(lo, 100.0, 1e-9);
    assert_near(hi, 450.5, 1e-9);
    assert_int_equal(zeus_gpu_get_power_limit(devs, 0, &w), ZEUS_OK);
    assert_near(w, 400.0, 1e-9);
    assert_int_equal(zeus_gpu_get_default_power_limit(devs, 0, &w), ZEUS_OK);
    assert_near(w, 400.0, 1e-9);
}

static void test_nvml_set_power_limit_sets_milliwatts(void **state)
{
    zeus_devices *devs = open_with(state, "");
    double w;

    assert_int_equal(zeus_gpu_set_power_limit(devs, 0, 300.5), ZEUS_OK);
    assert_int_equal(zt_fake_nvml()->power_limit_mw(0), 300500);
    assert_int_equal(zeus_gpu_get_power_limit(devs, 0, &w), ZEUS_OK);
    assert_near(w, 300.5, 1e-9);
}

static void test_nvml_set_power_limit_to_current_sends_nothing(void **state)
{
    zeus_devices *devs = open_with(state, "");

    assert_int_equal(zeus_gpu_set_power_limit(devs, 0, 700.0), ZEUS_OK);
    assert_int_equal(zt_fake_nvml()->call_count(SET_LIMIT_FN), 0);
}

static void test_nvml_set_power_limit_out_of_range_is_refused(void **state)
{
    zeus_devices *devs = open_with(state, "");

    assert_int_equal(zeus_gpu_set_power_limit(devs, 0, 150.0), ZEUS_ERR_INVALID_ARGUMENT);
    assert_contains(zeus_last_error(), "outside");
    assert_int_equal(zeus_gpu_set_power_limit(devs, 0, 700.5), ZEUS_ERR_INVALID_ARGUMENT);
    assert_int_equal(zt_fake_nvml()->call_count(SET_LIMIT_FN), 0);
    assert_int_equal(zt_fake_nvml()->power_limit_mw(0), 700000);
}

static void test_nvml_reset_power_limit_restores_default(void **state)
{
    zeus_devices *devs = open_with(state, "");

    assert_int_equal(zeus_gpu_set_power_limit(devs, 0, 400.0), ZEUS_OK);
    assert_int_equal(zt_fake_nvml()->power_limit_mw(0), 400000);
    assert_int_equal(zeus_gpu_reset_power_limit(devs, 0), ZEUS_OK);
    assert_int_equal(zt_fake_nvml()->power_limit_mw(0), 700000);
}

static void test_nvml_set_power_limit_without_root_is_no_permission(void **state)
{
    zeus_devices *devs = open_with(state, "root=0");

    assert_int_equal(zeus_gpu_set_power_limit(devs, 0, 400.0), ZEUS_ERR_NO_PERMISSION);
    assert_contains(zeus_last_error(), SET_LIMIT_FN);
    assert_contains(zeus_last_error(), "CAP_SYS_ADMIN");
}

/* ---- Persistence mode -------------------------------------------------------------------- */

static void test_nvml_persistence_mode_set_and_get(void **state)
{
    zeus_devices *devs = open_with(state, "");
    int on = -1;

    assert_int_equal(zeus_gpu_get_persistence_mode(devs, 0, &on), ZEUS_OK);
    assert_int_equal(on, 0);
    assert_int_equal(zeus_gpu_set_persistence_mode(devs, 0, 1), ZEUS_OK);
    assert_int_equal(zt_fake_nvml()->persistence_mode(0), 1);
    assert_int_equal(zeus_gpu_get_persistence_mode(devs, 0, &on), ZEUS_OK);
    assert_int_equal(on, 1);
    assert_int_equal(zeus_gpu_set_persistence_mode(devs, 0, 1), ZEUS_OK);
    assert_int_equal(zt_fake_nvml()->call_count("nvmlDeviceSetPersistenceMode"), 1);
}

/* ---- Clocks ------------------------------------------------------------------------------ */

static void test_nvml_memory_clocks_list_mhz(void **state)
{
    zeus_devices *devs = open_with(state, "mem_clocks=2619,1593");
    unsigned mhz[8];
    size_t n = 8;

    assert_int_equal(zeus_gpu_get_supported_memory_clocks(devs, 0, mhz, &n), ZEUS_OK);
    assert_int_equal(n, 2);
    assert_int_equal(mhz[0], 2619);
    assert_int_equal(mhz[1], 1593);
}

static void test_nvml_graphics_clocks_list_mhz(void **state)
{
    zeus_devices *devs = open_with(state, "");
    unsigned mhz[200];
    size_t n = 200;

    assert_int_equal(zeus_gpu_get_supported_graphics_clocks(devs, 0, 2619, mhz, &n), ZEUS_OK);
    assert_int_equal(n, 110);
    assert_int_equal(mhz[0], 1980);
    assert_int_equal(mhz[109], 345);
}

static void test_nvml_graphics_clocks_small_room_is_insufficient_size(void **state)
{
    zeus_devices *devs = open_with(state, "");
    unsigned mhz[10];
    size_t n = 10;

    assert_int_equal(zeus_gpu_get_supported_graphics_clocks(devs, 0, 2619, mhz, &n),
                     ZEUS_ERR_INSUFFICIENT_SIZE);
    assert_int_equal(n, 110);
    n = 0;
    assert_int_equal(zeus_gpu_get_supported_graphics_clocks(devs, 0, 2619, NULL, &n),
                     ZEUS_ERR_INSUFFICIENT_SIZE);
    assert_int_equal(n, 110);
}

static void test_nvml_graphics_clocks_unknown_memory_clock_is_not_found(void **state)
{
    zeus_devices *devs = open_with(state, "");
    unsigned mhz[200];
    size_t n = 200;

    assert_int_equal(zeus_gpu_get_supported_graphics_clocks(devs, 0, 1000, mhz, &n),
                     ZEUS_ERR_NOT_FOUND);
    assert_contains(zeus_last_error(), "1000 MHz");
}

static void test_nvml_locked_clocks_set_and_reset(void **state)
{
    zeus_devices *devs = open_with(state, "mem_clocks=2619,1593");
    unsigned gmin, gmax, mmin, mmax;

    assert_int_equal(zeus_gpu_set_gpu_locked_clocks(devs, 0, 1005, 1500), ZEUS_OK);
    assert_int_equal(zeus_gpu_set_memory_locked_clocks(devs, 0, 1593, 2619), ZEUS_OK);
    zt_fake_nvml()->locked_clocks(0, &gmin, &gmax, &mmin, &mmax);
    assert_int_equal(gmin, 1005);
    assert_int_equal(gmax, 1500);
    assert_int_equal(mmin, 1593);
    assert_int_equal(mmax, 2619);
    assert_int_equal(zeus_gpu_reset_gpu_locked_clocks(devs, 0), ZEUS_OK);
    assert_int_equal(zeus_gpu_reset_memory_locked_clocks(devs, 0), ZEUS_OK);
    zt_fake_nvml()->locked_clocks(0, &gmin, &gmax, &mmin, &mmax);
    assert_int_equal(gmin + gmax + mmin + mmax, 0);
}

static void test_nvml_locked_clocks_outside_range_is_invalid(void **state)
{
    zeus_devices *devs = open_with(state, "gpus=2;gpu1.arch=6");

    assert_int_equal(zeus_gpu_set_gpu_locked_clocks(devs, 0, 300, 1500),
                     ZEUS_ERR_INVALID_ARGUMENT);
    assert_contains(zeus_last_error(), "nvmlDeviceSetGpuLockedClocks");
    /* Memory clocks can be locked from Ampere on. */
    assert_int_equal(zeus_gpu_set_memory_locked_clocks(devs, 1, 2619, 2619),
                     ZEUS_ERR_NOT_SUPPORTED);
}

/* ---- NVML errors ------------------------------------------------------------------------- */

static const struct {
    int nvml;
    zeus_status status;
} error_map[] = {
    {1, ZEUS_ERR_UNINITIALIZED},
    {2, ZEUS_ERR_INVALID_ARGUMENT},
    {3, ZEUS_ERR_NOT_SUPPORTED},
    {4, ZEUS_ERR_NO_PERMISSION},
    {5, ZEUS_ERR_ALREADY_EXISTS},
    {6, ZEUS_ERR_NOT_FOUND},
    {7, ZEUS_ERR_INSUFFICIENT_SIZE},
    {8, ZEUS_ERR_INSUFFICIENT_POWER},
    {9, ZEUS_ERR_DRIVER_NOT_LOADED},
    {10, ZEUS_ERR_TIMEOUT},
    {11, ZEUS_ERR_IRQ_ISSUE},
    {12, ZEUS_ERR_LIBRARY_NOT_FOUND},
    {13, ZEUS_ERR_FUNCTION_NOT_FOUND},
    {14, ZEUS_ERR_CORRUPTED_INFOROM},
    {15, ZEUS_ERR_GPU_LOST},
    {16, ZEUS_ERR_RESET_REQUIRED},
    {17, ZEUS_ERR_OPERATING_SYSTEM},
    {18, ZEUS_ERR_LIB_RM_VERSION_MISMATCH},
    {19, ZEUS_ERR_IN_USE},
    {20, ZEUS_ERR_NO_MEMORY},
    {21, ZEUS_ERR_NO_DATA},
    {999, ZEUS_ERR_UNKNOWN},
};

#define ERROR_MAP_COUNT (sizeof error_map / sizeof error_map[0])

static void test_nvml_injected_errors_map_to_distinct_statuses(void **state)
{
    zeus_devices *devs = open_with(state, "");
    double j;

    for (size_t i = 0; i < ERROR_MAP_COUNT; i++) {
        char code[32];

        zt_fake_nvml_fail(ENERGY_FN, 0, error_map[i].nvml, 1);
        assert_int_equal(zeus_gpu_get_energy(devs, 0, &j), error_map[i].status);
        assert_contains(zeus_last_error(), ENERGY_FN " failed on GPU 0");
        snprintf(code, sizeof code, "NVML error %d", error_map[i].nvml);
        assert_contains(zeus_last_error(), code);
        assert_int_equal(zeus_gpu_get_energy(devs, 0, &j), ZEUS_OK); /* one call only */
        for (size_t k = 0; k < i; k++)
            assert_int_not_equal(error_map[k].status, error_map[i].status);
    }
}

static void test_nvml_error_detail_carries_nvml_reason(void **state)
{
    zeus_devices *devs = open_with(state, "");
    double w;

    zt_fake_nvml_fail("nvmlDeviceGetFieldValues", 0, 10 /* TIMEOUT */, 1);
    assert_int_equal(zeus_gpu_get_power(devs, 0, ZEUS_POWER_DEVICE_INSTANT, &w),
                     ZEUS_ERR_TIMEOUT);
    assert_contains(zeus_last_error(), "nvmlDeviceGetFieldValues failed on GPU 0: Timeout");
}

static void test_nvml_gpu_lost_mid_use_reports_gpu_lost(void **state)
{
    zeus_devices *devs;
    double v, lo, hi;

    setenv("CUDA_VISIBLE_DEVICES", "1,0", 1);
    devs = open_with(state, "gpus=2");
    assert_int_equal(zeus_gpu_get_energy(devs, 0, &v), ZEUS_OK);

    zt_fake_nvml_fail("*", 1, 15 /* GPU_IS_LOST */, -1);
    assert_int_equal(zeus_gpu_get_energy(devs, 0, &v), ZEUS_ERR_GPU_LOST);
    assert_contains(zeus_last_error(), "on GPU 0 (NVML index 1)");
    assert_contains(zeus_last_error(), "fell off the bus");
    assert_int_equal(zeus_gpu_get_power(devs, 0, ZEUS_POWER_DEVICE_INSTANT, &v),
                     ZEUS_ERR_GPU_LOST);
    assert_int_equal(zeus_gpu_get_temperature(devs, 0, &v), ZEUS_ERR_GPU_LOST);
    assert_int_equal(zeus_gpu_get_power_limit_constraints(devs, 0, &lo, &hi), ZEUS_ERR_GPU_LOST);
    /* The other GPU carries on. */
    assert_int_equal(zeus_gpu_get_energy(devs, 1, &v), ZEUS_OK);
    assert_int_equal(zeus_gpu_get_power(devs, 1, ZEUS_POWER_DEVICE_INSTANT, &v), ZEUS_OK);
}

/* ---- Threads ----------------------------------------------------------------------------- */

#define READERS 4
#define READS 200

static void *read_loop(void *arg)
{
    zeus_devices *devs = arg;
    double v;

    for (int i = 0; i < READS; i++) {
        unsigned gpu = (unsigned)i % 2;
        if (zeus_gpu_get_energy(devs, gpu, &v) != ZEUS_OK ||
            zeus_gpu_get_power(devs, gpu, ZEUS_POWER_DEVICE_AVERAGE, &v) != ZEUS_OK)
            return NULL;
    }
    return devs;
}

static void test_nvml_concurrent_reads_all_succeed(void **state)
{
    zeus_devices *devs = open_with(state, "gpus=2;trace=square;power_w=700;energy_latency_us=20");
    pthread_t threads[READERS];
    void *ok[READERS];

    for (int i = 0; i < READERS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, read_loop, devs), 0);
    for (int i = 0; i < READERS; i++)
        pthread_join(threads[i], &ok[i]);
    for (int i = 0; i < READERS; i++)
        assert_non_null(ok[i]);
    assert_int_equal(zt_fake_nvml()->call_count(ENERGY_FN), READERS * READS);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_nvml_default_gpu_reports_h100_identity),
        T(test_nvml_several_gpus_report_own_names_and_uuids),
        T(test_nvml_pci_bus_id_follows_visible_order_in_zeus_form),
        T(test_nvml_backend_info_names_library_and_driver),
        T(test_nvml_each_open_pairs_init_with_shutdown),
        T(test_nvml_no_gpus_is_not_found),
        T(test_nvml_init_failure_maps_to_status),
        T(test_nvml_probe_failure_on_visible_gpu_fails_open),
        T(test_nvml_probe_failure_on_hidden_gpu_is_ignored),
        T(test_nvml_visible_indices_reorder_gpus),
        T(test_nvml_visible_uuid_and_prefix_select_gpus),
        T(test_nvml_visible_empty_hides_every_gpu),
        T(test_nvml_visible_mig_of_unknown_gpu_is_not_found),
        T(test_nvml_visible_bad_value_is_invalid),
        T(test_nvml_visible_out_of_range_is_not_found),
        T(test_nvml_visible_duplicate_is_invalid),
        T(test_nvml_energy_counter_mj_reads_joules),
        T(test_nvml_energy_traced_counter_moves_in_whole_updates),
        T(test_nvml_energy_pre_volta_not_supported_without_call),
        T(test_nvml_power_domains_read_watts),
        T(test_nvml_power_follows_set_power),
        T(test_nvml_power_module_scope_falls_back_to_module),
        T(test_nvml_power_memory_unsupported_is_not_supported),
        T(test_nvml_power_without_fields_uses_power_usage),
        T(test_nvml_temperature_reads_celsius),
        T(test_nvml_power_limits_read_watts),
        T(test_nvml_set_power_limit_sets_milliwatts),
        T(test_nvml_set_power_limit_to_current_sends_nothing),
        T(test_nvml_set_power_limit_out_of_range_is_refused),
        T(test_nvml_reset_power_limit_restores_default),
        T(test_nvml_set_power_limit_without_root_is_no_permission),
        T(test_nvml_persistence_mode_set_and_get),
        T(test_nvml_memory_clocks_list_mhz),
        T(test_nvml_graphics_clocks_list_mhz),
        T(test_nvml_graphics_clocks_small_room_is_insufficient_size),
        T(test_nvml_graphics_clocks_unknown_memory_clock_is_not_found),
        T(test_nvml_locked_clocks_set_and_reset),
        T(test_nvml_locked_clocks_outside_range_is_invalid),
        T(test_nvml_injected_errors_map_to_distinct_statuses),
        T(test_nvml_error_detail_carries_nvml_reason),
        T(test_nvml_gpu_lost_mid_use_reports_gpu_lost),
        T(test_nvml_concurrent_reads_all_succeed),
    };
#undef T
    return cmocka_run_group_tests_name("nvml", tests, NULL, NULL);
}
