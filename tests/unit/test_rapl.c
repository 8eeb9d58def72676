/*
 * test_rapl.c - The RAPL backend on fake powercap trees: which zones become CPUs and in
 * what order, DRAM sub-zones, every documented failure (missing tree, missing file, bad
 * content, no permission), counter widening across wraps, resets and jumps, the background
 * poller, and reads from many threads.
 *
 * Most tests go through the public API, with ZEUS_SYSFS_ROOT pointing at a tree built by
 * tests/support/sysfs_tree.c. Tests that must watch the poller or the reset and jump counts
 * (not public) open the backend through zeus__rapl_backend.open(), the function
 * zeus_devices_create() calls, and use the helpers of src/device/rapl.h.
 *
 * Permission tests run as root in CI, where chmod 000 stops nobody; they read through
 * zt_run_unprivileged(), which drops the file-access capabilities of one thread, and skip
 * with the reason where that cannot be done.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/backend.h"
#include "device/rapl.h"
#include "sysfs_tree.h"
#include "test_support.h"
#include "zeus/zeus.h"

/* A 1 J range wraps at 1000001 uJ (rapl.c DESIGN NOTE 2) and is polled every 1 ms. */
#define SMALL_MAX_UJ UINT64_C(1000000)
#define SMALL_MODULUS_UJ UINT64_C(1000001)
/* 0xFFFFFFFF x 2^-14 J, the range of most Intel packages; one wrap adds max + 61 uJ. */
#define INTEL_MAX_UJ UINT64_C(262143328850)
#define INTEL_MODULUS_UJ UINT64_C(262143328911)

#define PKG0 "intel-rapl:0"
#define WAIT_MS 10000 /* the longest a test waits for the poller before it fails */

#define assert_contains(text, part)                                                        \
    do {                                                                                   \
        const char *text_ = (text), *part_ = (part);                                       \
        if (strstr(text_, part_) == NULL)                                                  \
            fail_msg("\"%s\" does not contain \"%s\"", text_, part_);                      \
    } while (0)

/* ---- Fixtures ----------------------------------------------------------------------------- */

struct fixture {
    zt_sysfs *tree;
    char *saved_root;             /* ZEUS_SYSFS_ROOT before the test */
    zeus_devices *devs;           /* closed by rm_tree, even when a test fails */
    struct zeus_backend *backend; /* opened through the ops table; closed by rm_tree */
};

static int make_tree(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    const char *root = getenv("ZEUS_SYSFS_ROOT");

    assert_non_null(f);
    f->saved_root = root != NULL ? strdup(root) : NULL;
    f->tree = zt_sysfs_create();
    zt_sysfs_use(f->tree);
    unsetenv("ZEUS_RAPL_POLL_MS");
    *state = f;
    return 0;
}

static int rm_tree(void **state)
{
    struct fixture *f = *state;

    zeus_devices_destroy(f->devs);
    if (f->backend != NULL)
        zeus__rapl_backend.close(f->backend);
    zt_sysfs_destroy(f->tree);
    if (f->saved_root != NULL)
        setenv("ZEUS_SYSFS_ROOT", f->saved_root, 1);
    else
        unsetenv("ZEUS_SYSFS_ROOT");
    unsetenv("ZEUS_RAPL_POLL_MS");
    free(f->saved_root);
    free(f);
    return 0;
}

/* ---- Helpers ------------------------------------------------------------------------------ */

static zeus_devices *open_devices(struct fixture *f)
{
    zeus_devices_destroy(f->devs);
    f->devs = NULL;
    assert_int_equal(zeus_devices_create(&f->devs), ZEUS_OK);
    return f->devs;
}

static void close_devices(struct fixture *f)
{
    zeus_devices_destroy(f->devs);
    f->devs = NULL;
}

static struct zeus_backend *open_backend(struct fixture *f)
{
    zeus_status s = zeus__rapl_backend.open(&f->backend);

    if (s != ZEUS_OK)
        fail_msg("RAPL open: %s: %s", zeus_status_name(s), zeus_last_error());
    return f->backend;
}

static void close_backend(struct fixture *f)
{
    zeus__rapl_backend.close(f->backend);
    f->backend = NULL;
}

static int find_rapl_info(zeus_devices *devs, zeus_backend_info *info)
{
    for (unsigned i = 0; i < zeus_devices_backend_count(devs); i++)
        if (zeus_devices_backend_info(devs, i, info) == ZEUS_OK && strcmp(info->name, "rapl") == 0)
            return 0;
    return -1;
}

static zeus_backend_info rapl_info(zeus_devices *devs)
{
    zeus_backend_info info;

    if (find_rapl_info(devs, &info) != 0)
        fail_msg("no backend named rapl");
    return info;
}

static zeus_cpu_energy energy_of(zeus_devices *devs, unsigned cpu)
{
    zeus_cpu_energy e;
    zeus_status s = zeus_cpu_get_energy(devs, cpu, &e);

    if (s != ZEUS_OK)
        fail_msg("zeus_cpu_get_energy(%u): %s: %s", cpu, zeus_status_name(s), zeus_last_error());
    return e;
}

static struct zeus__rapl_counter_stats counter_of(struct zeus_backend *b, int dram)
{
    struct zeus__rapl_counter_stats st;
    zeus_status s = zeus__rapl_read_counter(b, 0, dram, &st);

    if (s != ZEUS_OK)
        fail_msg("zeus__rapl_read_counter: %s: %s", zeus_status_name(s), zeus_last_error());
    return st;
}

/* What one step of a counter adds, the rule rapl.c applies to a plausible change. */
static uint64_t step_uj(uint64_t from, uint64_t to, uint64_t modulus)
{
    return to >= from ? to - from : modulus - from + to;
}

/* Wait until the poller has run a whole round after the caller's last change. */
static void wait_for_poll(struct zeus_backend *b)
{
    assert_int_equal(zeus__rapl_wait_polls(b, zeus__rapl_poll_count(b) + 2, WAIT_MS), 0);
}

/* ---- Finding zones ------------------------------------------------------------------------ */

static void test_rapl_zones_numeric_order_gives_cpu_index(void **state)
{
    struct fixture *f = *state;
    const char *names[] = {"package-0", "package-2", "package-10"};
    zeus_devices *devs;
    zeus_cpu_info info;

    zt_sysfs_add_package(f->tree, 10, 0, SMALL_MAX_UJ);
    zt_sysfs_add_package(f->tree, 2, 0, SMALL_MAX_UJ);
    zt_sysfs_add_package(f->tree, 0, 0, SMALL_MAX_UJ);
    devs = open_devices(f);

    assert_int_equal(zeus_devices_cpu_count(devs), 3);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(zeus_cpu_get_info(devs, i, &info), ZEUS_OK);
        assert_int_equal(info.index, i);
        assert_string_equal(info.name, names[i]);
        assert_int_equal(info.has_dram, 0);
    }
    assert_contains(info.path, "/class/powercap/intel-rapl:10");
    assert_int_equal(rapl_info(devs).status, ZEUS_OK);
    assert_int_equal(rapl_info(devs).device_count, 3);
    assert_contains(rapl_info(devs).detail, "class/powercap: 3 package zones");
    assert_int_equal(zeus_cpu_get_info(devs, 3, &info), ZEUS_ERR_NOT_FOUND);
}

static void test_rapl_non_numeric_zones_ignored(void **state)
{
    struct fixture *f = *state;
    zeus_devices *devs;
    zeus_cpu_info info;

    zt_sysfs_add_package(f->tree, 0, 0, SMALL_MAX_UJ);
    zt_sysfs_add_dram(f->tree, 0, 1, 0, SMALL_MAX_UJ); /* class/powercap/intel-rapl:0:1 */
    zt_sysfs_add_zone(f->tree, "intel-rapl:abc", "package-7", 0, SMALL_MAX_UJ);
    zt_sysfs_add_zone(f->tree, "intel-rapl:1x", "package-8", 0, SMALL_MAX_UJ);
    zt_sysfs_add_zone(f->tree, "intel-rapl:", "package-9", 0, SMALL_MAX_UJ);
    zt_sysfs_add_zone(f->tree, "intel-rapl-mmio:0", "package-0", 0, SMALL_MAX_UJ);
    devs = open_devices(f);

    assert_int_equal(zeus_devices_cpu_count(devs), 1);
    assert_int_equal(zeus_cpu_get_info(devs, 0, &info), ZEUS_OK);
    assert_string_equal(info.name, "package-0");
    assert_int_equal(info.has_dram, 1);
}

static void test_rapl_dram_subzone_reports_its_energy(void **state)
{
    struct fixture *f = *state;
    zeus_devices *devs;
    zeus_cpu_info info;
    zeus_cpu_energy e;

    zt_sysfs_add_package(f->tree, 0, 1000, SMALL_MAX_UJ);
    zt_sysfs_add_zone(f->tree, "intel-rapl:0:0", "core", 0, SMALL_MAX_UJ);
    zt_sysfs_add_dram(f->tree, 0, 1, 2000, SMALL_MAX_UJ);
    devs = open_devices(f);
    assert_int_equal(zeus_cpu_get_info(devs, 0, &info), ZEUS_OK);
    assert_int_equal(info.has_dram, 1);

    e = energy_of(devs, 0);
    assert_near(e.cpu_j, 0.0, 1e-12);
    assert_near(e.dram_j, 0.0, 1e-12);
    zt_sysfs_set_energy(f->tree, "intel-rapl:0:1", 7000);
    zt_sysfs_set_energy(f->tree, PKG0, 4000);
    e = energy_of(devs, 0);
    assert_near(e.dram_j, 0.005, 1e-12);
    assert_near(e.cpu_j, 0.003, 1e-12); /* the package is reported as is, DRAM not subtracted */
    assert_contains(rapl_info(devs).detail, "1 with DRAM");
}

/* AMD's layout: package zones and maybe a "core" sub-zone, never "dram". */
static void test_rapl_package_without_dram_reports_nan(void **state)
{
    struct fixture *f = *state;
    zeus_devices *devs;
    zeus_cpu_info info;
    zeus_cpu_energy e;

    zt_sysfs_add_package(f->tree, 0, 500, SMALL_MAX_UJ);
    zt_sysfs_add_zone(f->tree, "intel-rapl:0:0", "core", 0, SMALL_MAX_UJ);
    devs = open_devices(f);
    assert_int_equal(zeus_cpu_get_info(devs, 0, &info), ZEUS_OK);
    assert_int_equal(info.has_dram, 0);

    zt_sysfs_set_energy(f->tree, PKG0, 1500);
    e = energy_of(devs, 0);
    assert_near(e.cpu_j, 0.001, 1e-12);
    assert_true(isnan(e.dram_j));
    assert_int_equal(e.dram_wraps, 0);
}

static void test_rapl_broken_subzones_skipped_with_reason(void **state)
{
    struct fixture *f = *state;
    zeus_devices *devs;
    zeus_cpu_info info;

    zt_sysfs_add_package(f->tree, 0, 0, SMALL_MAX_UJ);
    zt_sysfs_add_dram(f->tree, 0, 1, 0, SMALL_MAX_UJ);
    zt_sysfs_remove(f->tree, "intel-rapl:0:1", "energy_uj");
    zt_sysfs_add_zone(f->tree, "intel-rapl:0:2", "uncore", 0, SMALL_MAX_UJ);
    zt_sysfs_remove(f->tree, "intel-rapl:0:2", "name");
    devs = open_devices(f);

    assert_int_equal(zeus_devices_cpu_count(devs), 1);
    assert_int_equal(zeus_cpu_get_info(devs, 0, &info), ZEUS_OK);
    assert_int_equal(info.has_dram, 0);
    assert_int_equal(rapl_info(devs).status, ZEUS_OK);
    assert_contains(rapl_info(devs).detail, "skipped intel-rapl:0:1: cannot read");
    assert_true(isnan(energy_of(devs, 0).dram_j));
}

/* ---- Failing to open ---------------------------------------------------------------------- */

static void test_rapl_missing_tree_reports_not_supported(void **state)
{
    struct fixture *f = *state;
    char root[1024], expected[1100];
    zeus_devices *devs;
    zeus_cpu_energy e;

    snprintf(root, sizeof root, "%s/nowhere", zt_sysfs_root(f->tree));
    setenv("ZEUS_SYSFS_ROOT", root, 1);
    devs = open_devices(f);

    assert_int_equal(zeus_devices_cpu_count(devs), 0);
    assert_int_equal(rapl_info(devs).status, ZEUS_ERR_NOT_SUPPORTED);
    snprintf(expected, sizeof expected, "no RAPL powercap tree at %s/class/powercap", root);
    assert_string_equal(rapl_info(devs).detail, expected);
    assert_int_equal(zeus_cpu_get_energy(devs, 0, &e), ZEUS_ERR_NOT_FOUND);
}

static void test_rapl_powercap_without_zones_reports_not_supported(void **state)
{
    struct fixture *f = *state;
    zeus_devices *devs;

    zt_sysfs_add_powercap(f->tree);
    devs = open_devices(f);
    assert_int_equal(zeus_devices_cpu_count(devs), 0);
    assert_int_equal(rapl_info(devs).status, ZEUS_ERR_NOT_SUPPORTED);
    assert_contains(rapl_info(devs).detail, "no RAPL package zones");
}

static void test_rapl_missing_file_fails_naming_it(void **state)
{
    struct fixture *f = *state;
    const char *files[] = {"name", "energy_uj", "max_energy_range_uj"};
    const char *good[] = {"package-0\n", "0\n", "1000000\n"};

    zt_sysfs_add_package(f->tree, 0, 0, SMALL_MAX_UJ);
    for (unsigned i = 0; i < 3; i++) {
        char path_end[64];
        zeus_devices *devs;

        zt_sysfs_remove(f->tree, PKG0, files[i]);
        devs = open_devices(f);

        assert_int_equal(zeus_devices_cpu_count(devs), 0);
        assert_int_equal(rapl_info(devs).status, ZEUS_ERR_NOT_FOUND);
        snprintf(path_end, sizeof path_end, "intel-rapl:0/%s: No such file", files[i]);
        assert_contains(rapl_info(devs).detail, path_end);
        zt_sysfs_write(f->tree, PKG0, files[i], good[i]);
        close_devices(f);
    }
}

static void test_rapl_bad_content_fails_naming_file_and_content(void **state)
{
    struct fixture *f = *state;
    const struct {
        const char *file, *text, *says, *good;
    } cases[] = {
        {"energy_uj", "abc\n", "energy_uj: \"abc\" (not a whole number", "0\n"},
        {"energy_uj", "", "energy_uj: \"\" (empty", "0\n"},
        {"energy_uj", "\n", "energy_uj: \"\" (empty", "0\n"},
        {"energy_uj", "-5\n", "energy_uj: \"-5\" (not a whole number", "0\n"},
        {"energy_uj", "12 34\n", "energy_uj: \"12 34\" (not a whole number", "0\n"},
        {"energy_uj", "1000001\n", "energy_uj: \"1000001\" (above max_energy_range_uj 1000000)",
         "0\n"},
        {"energy_uj", "99999999999999999999999\n", "\"99999999999999999999999\" (implausibly",
         "0\n"},
        {"max_energy_range_uj", "0\n", "max_energy_range_uj: \"0\" (a counter range must be",
         "1000000\n"},
        {"max_energy_range_uj", "1e6\n", "max_energy_range_uj: \"1e6\"", "1000000\n"},
        {"name", "\n", "name: \"\" (empty zone name)", "package-0\n"},
    };

    zt_sysfs_add_package(f->tree, 0, 0, SMALL_MAX_UJ);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        zeus_devices *devs;

        zt_sysfs_write(f->tree, PKG0, cases[i].file, cases[i].text);
        devs = open_devices(f);
        assert_int_equal(zeus_devices_cpu_count(devs), 0);
        assert_int_equal(rapl_info(devs).status, ZEUS_ERR_IO);
        assert_contains(rapl_info(devs).detail, "bad content in");
        assert_contains(rapl_info(devs).detail, cases[i].says);
        zt_sysfs_write(f->tree, PKG0, cases[i].file, cases[i].good);
        close_devices(f);
    }
}

static void test_rapl_energy_file_is_folder_fails_with_io(void **state)
{
    struct fixture *f = *state;
    zeus_devices *devs;

    zt_sysfs_add_package(f->tree, 0, 0, SMALL_MAX_UJ);
    zt_sysfs_replace_with_dir(f->tree, PKG0, "energy_uj");
    devs = open_devices(f);
    assert_int_equal(rapl_info(devs).status, ZEUS_ERR_IO);
    assert_contains(rapl_info(devs).detail, "intel-rapl:0/energy_uj: Is a directory");
}

static void test_rapl_bad_content_at_read_fails_and_keeps_energy(void **state)
{
    struct fixture *f = *state;
    zeus_devices *devs;
    zeus_cpu_energy e;

    zt_sysfs_add_package(f->tree, 0, 1000, SMALL_MAX_UJ);
    devs = open_devices(f);
    zt_sysfs_write(f->tree, PKG0, "energy_uj", "garbage\n");
    assert_int_equal(zeus_cpu_get_energy(devs, 0, &e), ZEUS_ERR_IO);
    assert_contains(zeus_last_error(), "energy_uj: \"garbage\"");

    zt_sysfs_set_energy(f->tree, PKG0, 4000);
    e = energy_of(devs, 0);
    assert_near(e.cpu_j, 0.003, 1e-12);
    assert_int_equal(e.cpu_wraps, 0);
}

/* ---- No permission (read as an unprivileged user would) ----------------------------------- */

struct unprivileged_open {
    zeus_status devices_status;
    unsigned cpus;
    zeus_backend_info info;
    zeus_status open_status;
    char last_error[1024];
};

static void open_unprivileged(void *arg)
{
    struct unprivileged_open *r = arg;
    zeus_devices *devs = NULL;
    struct zeus_backend *b = NULL;

    r->devices_status = zeus_devices_create(&devs);
    if (r->devices_status == ZEUS_OK) {
        r->cpus = zeus_devices_cpu_count(devs);
        (void)find_rapl_info(devs, &r->info);
        zeus_devices_destroy(devs);
    }
    r->open_status = zeus__rapl_backend.open(&b);
    snprintf(r->last_error, sizeof r->last_error, "%s", zeus_last_error());
    if (r->open_status == ZEUS_OK)
        zeus__rapl_backend.close(b);
}

static void skip_because(const char *why)
{
    print_message("skipped: cannot read as an unprivileged user here: %s\n", why);
    skip();
}

static void test_rapl_unreadable_energy_at_open_reports_no_permission(void **state)
{
    struct fixture *f = *state;
    struct unprivileged_open r = {0};
    char path[1024], why[256];

    zt_sysfs_add_package(f->tree, 0, 0, SMALL_MAX_UJ);
    zt_sysfs_chmod(f->tree, PKG0, "energy_uj", 0000);
    zt_sysfs_path(f->tree, PKG0, "energy_uj", path, sizeof path);
    if (zt_run_unprivileged(path, open_unprivileged, &r, why, sizeof why) != 0)
        skip_because(why);

    assert_int_equal(r.devices_status, ZEUS_OK); /* a backend that refuses is not an error */
    assert_int_equal(r.cpus, 0);
    assert_int_equal(r.info.status, ZEUS_ERR_NO_PERMISSION);
    assert_contains(r.info.detail, "intel-rapl:0/energy_uj: Permission denied (RAPL counters");
    assert_contains(r.info.detail, "run zeusd, or grant read access, e.g. chmod a+r)");
    assert_int_equal(r.open_status, ZEUS_ERR_NO_PERMISSION);
    assert_contains(r.last_error, "cannot read ");
    assert_contains(r.last_error, "root-only since Linux 5.10: run zeusd");
}

struct unprivileged_read {
    zeus_devices *devs;
    zeus_status status;
    char last_error[1024];
};

static void read_unprivileged(void *arg)
{
    struct unprivileged_read *r = arg;
    zeus_cpu_energy e;

    r->status = zeus_cpu_get_energy(r->devs, 0, &e);
    snprintf(r->last_error, sizeof r->last_error, "%s", zeus_last_error());
}

static void test_rapl_unreadable_energy_at_read_reports_no_permission(void **state)
{
    struct fixture *f = *state;
    struct unprivileged_read r = {0};
    char path[1024], why[256];

    zt_sysfs_add_package(f->tree, 0, 1000, SMALL_MAX_UJ);
    r.devs = open_devices(f);
    zt_sysfs_set_energy(f->tree, PKG0, 3000);
    zt_sysfs_chmod(f->tree, PKG0, "energy_uj", 0000);
    zt_sysfs_path(f->tree, PKG0, "energy_uj", path, sizeof path);
    if (zt_run_unprivileged(path, read_unprivileged, &r, why, sizeof why) != 0)
        skip_because(why);

    assert_int_equal(r.status, ZEUS_ERR_NO_PERMISSION);
    assert_contains(r.last_error, "energy_uj: Permission denied");
    assert_contains(r.last_error, "run zeusd, or grant read access, e.g. chmod a+r");
    zt_sysfs_chmod(f->tree, PKG0, "energy_uj", 0444);
    assert_near(energy_of(r.devs, 0).cpu_j, 0.002, 1e-12);
}

/* ---- Widening the counter ----------------------------------------------------------------- */

static void test_rapl_wrap_modulus_is_max_plus_one_unit(void **state)
{
    (void)state;
    assert_int_equal(zeus__rapl_wrap_modulus_uj(SMALL_MAX_UJ), SMALL_MODULUS_UJ);
    assert_int_equal(zeus__rapl_wrap_modulus_uj(1), 2);
    assert_int_equal(zeus__rapl_wrap_modulus_uj(INTEL_MAX_UJ), INTEL_MODULUS_UJ);
    /* 2^-16 J units (AMD, server DRAM): 0xFFFFFFFF x 15.26 uJ, cut to whole uJ. */
    assert_int_equal(zeus__rapl_wrap_modulus_uj(UINT64_C(65535999984)), UINT64_C(65535999999));
    /* 1 uJ units: the 32-bit counter's modulus exactly. */
    assert_int_equal(zeus__rapl_wrap_modulus_uj(UINT64_C(0xFFFFFFFF)), UINT64_C(0x100000000));
}

static void test_rapl_counter_wrap_once_adds_modulus(void **state)
{
    struct fixture *f = *state;
    zeus_devices *devs;
    zeus_cpu_energy e;

    zt_sysfs_add_package(f->tree, 0, 900000, SMALL_MAX_UJ);
    devs = open_devices(f);
    zt_sysfs_set_energy(f->tree, PKG0, 100000);
    e = energy_of(devs, 0);
    assert_near(e.cpu_j, 0.200001, 1e-12); /* 1000001 - 900000 + 100000 uJ */
    assert_int_equal(e.cpu_wraps, 1);

    zt_sysfs_set_energy(f->tree, PKG0, 150000);
    e = energy_of(devs, 0);
    assert_near(e.cpu_j, 0.250001, 1e-12);
    assert_int_equal(e.cpu_wraps, 1);
}

static void test_rapl_counter_wraps_across_reads_accumulate(void **state)
{
    struct fixture *f = *state;
    uint64_t raw = 123456, total_uj = 0;
    unsigned wraps = 0;
    zeus_devices *devs;
    zeus_cpu_energy e;

    zt_sysfs_add_package(f->tree, 0, raw, SMALL_MAX_UJ);
    devs = open_devices(f);
    for (int i = 0; i < 9; i++) {
        uint64_t next = (raw + 700000) % SMALL_MODULUS_UJ;
        total_uj += step_uj(raw, next, SMALL_MODULUS_UJ);
        wraps += next < raw;
        raw = next;
        zt_sysfs_set_energy(f->tree, PKG0, raw);
        e = energy_of(devs, 0);
        assert_near(e.cpu_j, (double)total_uj * 1e-6, 1e-9);
        assert_int_equal(e.cpu_wraps, wraps);
    }
    assert_near(e.cpu_j, 6.3, 1e-9);
    assert_true(wraps >= 5);
}

static void test_rapl_real_range_wrap_adds_max_plus_unit(void **state)
{
    struct fixture *f = *state;
    zeus_devices *devs;
    zeus_cpu_energy e;

    zt_sysfs_add_package(f->tree, 0, INTEL_MAX_UJ - 1000, INTEL_MAX_UJ);
    devs = open_devices(f);
    zt_sysfs_set_energy(f->tree, PKG0, 500);
    e = energy_of(devs, 0);
    assert_near(e.cpu_j, 1561e-6, 1e-12); /* 1000 up to the top, one 61 uJ step, 500 */
    assert_int_equal(e.cpu_wraps, 1);
}

static void test_rapl_dram_wraps_counted_apart(void **state)
{
    struct fixture *f = *state;
    zeus_devices *devs;
    zeus_cpu_energy e;

    zt_sysfs_add_package(f->tree, 0, 100, SMALL_MAX_UJ);
    zt_sysfs_add_dram(f->tree, 0, 1, 999000, SMALL_MAX_UJ);
    devs = open_devices(f);
    zt_sysfs_set_energy(f->tree, "intel-rapl:0:1", 2000);
    zt_sysfs_set_energy(f->tree, PKG0, 200);
    e = energy_of(devs, 0);
    assert_near(e.dram_j, 0.003001, 1e-12);
    assert_near(e.cpu_j, 0.0001, 1e-12);
    assert_int_equal(e.dram_wraps, 1);
    assert_int_equal(e.cpu_wraps, 0);
}

static void test_rapl_implausible_rise_counted_as_jump_not_added(void **state)
{
    struct fixture *f = *state;
    struct zeus__rapl_counter_stats st;
    struct zeus_backend *b;

    zt_sysfs_add_package(f->tree, 0, 1000, INTEL_MAX_UJ);
    b = open_backend(f);
    zt_sysfs_set_energy(f->tree, PKG0, 1000 + UINT64_C(100000000000)); /* 100 kJ at once */
    st = counter_of(b, 0);
    assert_int_equal(st.jumps, 1);
    assert_int_equal(st.resets, 0);
    assert_int_equal(st.wraps, 0);
    assert_int_equal(st.energy_uj, 0);

    zt_sysfs_set_energy(f->tree, PKG0, 1000 + UINT64_C(100000000000) + 2500); /* rebased */
    st = counter_of(b, 0);
    assert_int_equal(st.energy_uj, 2500);
    assert_int_equal(st.jumps, 1);
}

static void test_rapl_implausible_drop_counted_as_reset_not_added(void **state)
{
    struct fixture *f = *state;
    struct zeus__rapl_counter_stats st;
    struct zeus_backend *b;
    zeus_cpu_energy e;

    zt_sysfs_add_package(f->tree, 0, UINT64_C(200000000000), INTEL_MAX_UJ);
    b = open_backend(f);
    /* As a wrap this would be 63 kJ within a second: 63 kW. */
    zt_sysfs_set_energy(f->tree, PKG0, UINT64_C(1000000000));
    st = counter_of(b, 0);
    assert_int_equal(st.resets, 1);
    assert_int_equal(st.wraps, 0);
    assert_int_equal(st.jumps, 0);
    assert_int_equal(st.energy_uj, 0);

    zt_sysfs_set_energy(f->tree, PKG0, UINT64_C(1000000000) + 4000);
    assert_int_equal(zeus__rapl_backend.cpu_energy(b, 0, &e), ZEUS_OK);
    assert_near(e.cpu_j, 0.004, 1e-12);
    assert_int_equal(e.cpu_wraps, 0);
}

/* ---- The poller --------------------------------------------------------------------------- */

static void test_rapl_poller_catches_wraps_in_long_window(void **state)
{
    struct fixture *f = *state;
    const uint64_t values[] = {800000, 300000, 900000, 100000, 700000, 200000, 600000};
    uint64_t raw = 0, total_uj = 0;
    unsigned wraps = 0;
    struct zeus_backend *b;
    zeus_cpu_energy e;

    zt_sysfs_add_package(f->tree, 0, raw, SMALL_MAX_UJ);
    b = open_backend(f);
    assert_int_equal(zeus__rapl_poll_period_ns(b), 1000000);
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        total_uj += step_uj(raw, values[i], SMALL_MODULUS_UJ);
        wraps += values[i] < raw;
        raw = values[i];
        zt_sysfs_set_energy(f->tree, PKG0, raw);
        wait_for_poll(b); /* no caller reads: only the poller sees the wraps */
    }

    /* One read at the window's end: 0 -> 600000 alone would look like 0.6 J, no wrap. */
    assert_int_equal(zeus__rapl_backend.cpu_energy(b, 0, &e), ZEUS_OK);
    assert_int_equal(wraps, 3);
    assert_int_equal(e.cpu_wraps, 3);
    assert_near(e.cpu_j, (double)total_uj * 1e-6, 1e-9);
    assert_near(e.cpu_j, 3.600003, 1e-9);
}

static int64_t period_ms_of(struct fixture *f)
{
    int64_t ms = zeus__rapl_poll_period_ns(open_backend(f)) / 1000000;

    close_backend(f);
    return ms;
}

static void test_rapl_poll_period_follows_smallest_range(void **state)
{
    struct fixture *f = *state;

    zt_sysfs_add_package(f->tree, 0, 0, INTEL_MAX_UJ);
    assert_int_equal(period_ms_of(f), 1000); /* 262 s to wrap at 1000 W: capped at 1 s */
    zt_sysfs_add_dram(f->tree, 0, 1, 0, UINT64_C(2000000000));
    assert_int_equal(period_ms_of(f), 500); /* 2 kJ: 2 s at 1000 W, a quarter of that */

    setenv("ZEUS_RAPL_POLL_MS", "7", 1);
    assert_int_equal(period_ms_of(f), 7);
    setenv("ZEUS_RAPL_POLL_MS", "7ms", 1);
    assert_int_equal(zeus__rapl_poll_period_ns(open_backend(f)), INT64_C(500000000));
    assert_contains(f->backend->detail, "read every 500 ms; ZEUS_RAPL_POLL_MS=7ms ignored");
    close_backend(f);
    setenv("ZEUS_RAPL_POLL_MS", "0", 1);
    assert_int_equal(period_ms_of(f), 500);
    unsetenv("ZEUS_RAPL_POLL_MS");

    zt_sysfs_write(f->tree, PKG0, "max_energy_range_uj", "1000\n");
    assert_int_equal(period_ms_of(f), 1); /* 1 ms floor */
}

static void test_rapl_close_joins_poller_thread(void **state)
{
    struct fixture *f = *state;
    int before = zt_thread_count();

    /* A poller that close() failed to wake would sleep for an hour and time the test out. */
    setenv("ZEUS_RAPL_POLL_MS", "3600000", 1);
    zt_sysfs_add_package(f->tree, 0, 0, INTEL_MAX_UJ);
    zt_sysfs_add_package(f->tree, 1, 0, INTEL_MAX_UJ);
    assert_true(before > 0);
    open_devices(f);
    assert_int_equal(zeus_devices_cpu_count(f->devs), 2);
    assert_true(zt_thread_count() >= before + 1);
    close_devices(f);
    assert_int_equal(zt_thread_count(), before);
}

/* ---- Threads ------------------------------------------------------------------------------ */

struct reader {
    pthread_t thread;
    zeus_devices *devs;
    atomic_int *stop;
    long reads, errors, decreases;
};

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    double last_j = 0;
    int stop;

    do {
        zeus_cpu_energy e;
        stop = atomic_load(r->stop);
        if (zeus_cpu_get_energy(r->devs, 0, &e) != ZEUS_OK) {
            r->errors++;
        } else {
            r->decreases += e.cpu_j < last_j;
            last_j = e.cpu_j;
        }
        r->reads++;
    } while (!stop);
    return NULL;
}

static void test_rapl_many_threads_read_monotonic_energy(void **state)
{
    struct fixture *f = *state;
    struct reader readers[8];
    atomic_int stop = 0;
    zeus_cpu_energy e;

    zt_sysfs_add_package(f->tree, 0, 0, SMALL_MAX_UJ);
    open_devices(f);
    for (int i = 0; i < 8; i++) {
        readers[i] = (struct reader){.devs = f->devs, .stop = &stop};
        assert_int_equal(pthread_create(&readers[i].thread, NULL, reader_main, &readers[i]), 0);
    }
    /* 3000 steps of 1 mJ: three wraps' worth, each wrap spread over 1000 writes. */
    for (uint64_t k = 1; k <= 3000; k++)
        zt_sysfs_set_energy(f->tree, PKG0, (k * 1000) % SMALL_MODULUS_UJ);
    atomic_store(&stop, 1);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(pthread_join(readers[i].thread, NULL), 0);
        assert_int_equal(readers[i].errors, 0);
        assert_int_equal(readers[i].decreases, 0);
        assert_true(readers[i].reads > 0);
    }
    e = energy_of(f->devs, 0);
    assert_near(e.cpu_j, 3.0, 1e-9);
    assert_int_equal(e.cpu_wraps, 2); /* 3000000 uJ / 1000001 uJ per wrap */
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, make_tree, rm_tree)
    const struct CMUnitTest tests[] = {
        T(test_rapl_zones_numeric_order_gives_cpu_index),
        T(test_rapl_non_numeric_zones_ignored),
        T(test_rapl_dram_subzone_reports_its_energy),
        T(test_rapl_package_without_dram_reports_nan),
        T(test_rapl_broken_subzones_skipped_with_reason),
        T(test_rapl_missing_tree_reports_not_supported),
        T(test_rapl_powercap_without_zones_reports_not_supported),
        T(test_rapl_missing_file_fails_naming_it),
        T(test_rapl_bad_content_fails_naming_file_and_content),
        T(test_rapl_energy_file_is_folder_fails_with_io),
        T(test_rapl_bad_content_at_read_fails_and_keeps_energy),
        T(test_rapl_unreadable_energy_at_open_reports_no_permission),
        T(test_rapl_unreadable_energy_at_read_reports_no_permission),
        cmocka_unit_test(test_rapl_wrap_modulus_is_max_plus_one_unit),
        T(test_rapl_counter_wrap_once_adds_modulus),
        T(test_rapl_counter_wraps_across_reads_accumulate),
        T(test_rapl_real_range_wrap_adds_max_plus_unit),
        T(test_rapl_dram_wraps_counted_apart),
        T(test_rapl_implausible_rise_counted_as_jump_not_added),
        T(test_rapl_implausible_drop_counted_as_reset_not_added),
        T(test_rapl_poller_catches_wraps_in_long_window),
        T(test_rapl_poll_period_follows_smallest_range),
        T(test_rapl_close_joins_poller_thread),
        T(test_rapl_many_threads_read_monotonic_energy),
    };
#undef T
    return cmocka_run_group_tests_name("rapl", tests, NULL, NULL);
}
