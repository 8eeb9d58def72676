/*
 * test_zeusd_routes.c - Every zeusd route against a real daemon process on a Unix socket,
 * with the fake NVML (4 GPUs, ZEUS_FAKE_NVML) and a fake RAPL tree (package 0 with DRAM,
 * package 1 without): success and error cases with exact bodies and status codes, strict
 * query parsing, FIFO order, per-device errors, and groups turned off.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>

#include "sysfs_tree.h"
#include "test_support.h"
#include "test_zeusd_harness.h"

struct fixture {
    char *dir;
    zt_sysfs *tree;
    struct zd_proc d;
};

/* Range of package 1's counter; a small one lets a test wrap it at a plausible power. */
static uint64_t package1_range_uj = 262143328850ull;

static int start_with(void **state, const char *nvml, int tcp, const char *a1, const char *a2)
{
    struct fixture *f = calloc(1, sizeof *f);

    f->dir = zt_mkdtemp();
    f->tree = zt_sysfs_create();
    zt_sysfs_add_package(f->tree, 0, 1000000, 262143328850ull);
    zt_sysfs_add_dram(f->tree, 0, 0, 500000, 65712999613ull);
    zt_sysfs_add_package(f->tree, 1, 2000000, package1_range_uj);
    zt_sysfs_use(f->tree);
    setenv("ZEUS_FAKE_NVML", nvml, 1);
    unsetenv("ZEUSD_SOCK_PATH");
    unsetenv("ZEUSD_HOST_PORT");
    zd_proc_spawn(&f->d, f->dir, tcp, a1, a2, NULL);
    if (zd_proc_ready_or_report(&f->d) != 0)
        return -1;
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return start_with(state, "gpus=4", 0, NULL, NULL);
}

static int setup_tcp(void **state)
{
    return start_with(state, "gpus=4", 1, NULL, NULL);
}

static int setup_gpu_read_only(void **state)
{
    return start_with(state, "gpus=4", 0, "--enable", "gpu-read");
}

static int setup_cpu_read_only(void **state)
{
    return start_with(state, "gpus=4", 0, "--enable", "cpu-read");
}

static int setup_gpu_control_only(void **state)
{
    return start_with(state, "gpus=4", 0, "--enable", "gpu-control");
}

/* GPU 1 is a Pascal (no energy counter); every setter answers NO_PERMISSION. */
static int setup_faulty(void **state)
{
    return start_with(state, "gpus=2;root=0;gpu1.arch=4", 0, NULL, NULL);
}

/* Package 1's counter wraps every 5 J. */
static int setup_small_range(void **state)
{
    int rc;

    package1_range_uj = 5000000;
    rc = start_with(state, "gpus=1", 0, NULL, NULL);
    package1_range_uj = 262143328850ull;
    return rc;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    int status = zd_proc_stop(&f->d);
    struct stat st;

    if (status != 0) {
        char *log = zd_read_log(&f->d);
        print_error("zeusd exited with %d:\n%s\n", status, log);
        free(log);
    }
    assert_int_equal(status, 0);
    if (!f->d.tcp)
        assert_int_not_equal(stat(f->d.sock, &st), 0); /* the socket file is removed */
    zt_sysfs_destroy(f->tree);
    zt_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* ---- Server routes ----------------------------------------------------------------------- */

static void test_zeusd_discover_lists_devices_and_groups(void **state)
{
    struct fixture *f = *state;
    struct zd_reply r;

    zd_get(&f->d, "/discover", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "application/json");
    assert_non_null(strstr(r.body, "{\"gpus\":[{\"id\":0,\"name\":\"NVIDIA H100 80GB HBM3\","
                                   "\"pci_address\":\"0000:18:00.0\","
                                   "\"cumulative_energy_available\":true,"
                                   "\"backend\":\"nvml\",\"power_scope\":\"gpu\","
                                   "\"mig\":false},{\"id\":1,"
                                   "\"name\":\"NVIDIA H100 80GB HBM3\","
                                   "\"pci_address\":\"0000:28:00.0\""));
    assert_non_null(strstr(r.body, "\"cpus\":[{\"id\":0,\"dram_available\":true},{\"id\":1,"
                                   "\"dram_available\":false}],\"enabled_api_groups\":"
                                   "[\"gpu-control\",\"gpu-read\",\"cpu-read\"],"
                                   "\"auth_required\":false}"));
    assert_non_null(strstr(r.body, "{\"id\":3,"));
    assert_null(strstr(r.body, "{\"id\":4,"));
}

static void test_zeusd_time_is_unix_ms(void **state)
{
    struct fixture *f = *state;
    struct zd_reply r;
    long long t, now = (long long)time(NULL) * 1000;

    zd_get(&f->d, "/time", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(sscanf(r.body, "{\"timestamp_ms\":%lld}", &t), 1);
    assert_true(t > now - 5000 && t < now + 5000);
}

static void test_zeusd_whoami_without_auth_is_404(void **state)
{
    struct fixture *f = *state;
    struct zd_reply r;

    zd_get(&f->d, "/auth/whoami", &r);
    assert_reply(&r, 404, "{\"error\":\"Authentication is not enabled on this server.\"}");
}

static void test_zeusd_unknown_route_and_method_are_404(void **state)
{
    struct fixture *f = *state;
    struct zd_reply r;

    zd_get(&f->d, "/nope", &r);
    assert_reply(&r, 404, "");
    zd_post(&f->d, "/discover", &r);
    assert_reply(&r, 404, "");
    zd_get(&f->d, "/gpu/set_power_limit?gpu_ids=0&power_limit_mw=300000&block=true", &r);
    assert_reply(&r, 404, "");
}

static void test_zeusd_get_with_body_ignores_body(void **state)
{
    struct fixture *f = *state;
    struct zd_reply r;

    assert_int_equal(zd_http_full(&f->d, "GET", "/gpu/get_power_limit?gpu_ids=0", NULL,
                                  "{\"gpu_ids\":\"1\"}", &r), 0);
    assert_reply(&r, 200, "{\"0\":{\"power_limit_mw\":700000}}");
}

/* ---- GPU reads ---------------------------------------------------------------------------- */

static void test_zeusd_gpu_reads_one_and_all(void **state)
{
    struct fixture *f = *state;
    struct zd_reply r;

    zd_get(&f->d, "/gpu/get_power_limit?gpu_ids=2", &r);
    assert_reply(&r, 200, "{\"2\":{\"power_limit_mw\":700000}}");
    zd_get(&f->d, "/gpu/get_power_limit", &r);
    assert_reply(&r, 200, "{\"0\":{\"power_limit_mw\":700000},\"1\":{\"power_limit_mw\":700000},"
                          "\"2\":{\"power_limit_mw\":700000},\"3\":{\"power_limit_mw\":700000}}");
    zd_get(&f->d, "/gpu/get_power_limit_constraints?gpu_ids=3,1,3", &r);
    assert_reply(&r, 200, "{\"1\":{\"min_power_limit_mw\":200000,\"max_power_limit_mw\":700000},"
                          "\"3\":{\"min_power_limit_mw\":200000,\"max_power_limit_mw\":700000}}");
    zd_get(&f->d, "/gpu/get_persistence_mode?gpu_ids=%200%20", &r);
    assert_reply(&r, 200, "{\"0\":{\"enabled\":false}}");
    zd_get(&f->d, "/gpu/get_cumulative_energy?gpu_ids=0,1", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "{\"0\":{\"energy_mj\":"));
    assert_non_null(strstr(r.body, ",\"1\":{\"energy_mj\":"));
}

static void test_zeusd_gpu_get_power_filters_ids(void **state)
{
    struct fixture *f = *state;
    struct zd_reply r;
    long long t;

    zd_get(&f->d, "/gpu/get_power?gpu_ids=1,3", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(sscanf(r.body, "{\"timestamp_ms\":%lld,", &t), 1);
    assert_non_null(strstr(r.body, ",\"power_mw\":{\"1\":75000,\"3\":75000}}"));
    zd_get(&f->d, "/gpu/get_power", &r);
    assert_non_null(strstr(r.body, "\"power_mw\":{\"0\":75000,\"1\":75000,\"2\":75000,"
                                   "\"3\":75000}}"));
    /* One-shot reads do not wait for the poller: ten in a row are quick. */
    for (int i = 0; i < 10; i++) {
        zd_get(&f->d, "/gpu/get_power", &r);
        assert_int_equal(r.status, 200);
    }
}

static void test_zeusd_gpu_read_id_errors(void **state)
{
    struct fixture *f = *state;
    struct zd_reply r;

    zd_get(&f->d, "/gpu/get_power_limit?gpu_ids=99", &r);
    assert_reply(&r, 400, "{\"error\":\"GPU 99 not found\"}");
    zd_get(&f->d, "/gpu/get_power_limit?gpu_ids=", &r);
    assert_reply(&r, 400, "{\"error\":\"gpu_ids must contain at least one GPU index\"}");
    zd_get(&f->d, "/gpu/get_power_limit?gpu_ids=0,,1", &r);
    assert_reply(&r, 400, "{\"error\":\"gpu_ids contains an empty GPU index\"}");
    zd_get(&f->d, "/gpu/get_power_limit?gpu_ids=x", &r);
    assert_reply(&r, 400, "{\"error\":\"Invalid GPU index: x\"}");
    zd_get(&f->d, "/gpu/get_power_limit?gpu_ids=-1", &r);
    assert_reply(&r, 400, "{\"error\":\"Invalid GPU index: -1\"}");
    zd_get(&f->d, "/gpu/get_power_limit?gpu_ids=99999999999999999999999", &r);
    assert_reply(&r, 400, "{\"error\":\"Invalid GPU index: 99999999999999999999999\"}");
    zd_get(&f->d, "/gpu/get_power?cpu_ids=0", &r);
    assert_reply(&r, 400, "Query deserialize error: unknown field `cpu_ids`, expected "
                          "`gpu_ids`");
    assert_string_equal(r.content_type, "text/plain; charset=utf-8");
    zd_get(&f->d, "/gpu/get_power?gpu_ids=0&gpu_ids=1", &r);
    assert_reply(&r, 400, "Query deserialize error: duplicate field `gpu_ids`");
}

/* ---- GPU control -------------------------------------------------------------------------- */

static void test_zeusd_set_power_limit_blocking_applies(void **state)
{
    struct fixture *f = *state;
    struct zd_reply r;

    zd_post(&f->d, "/gpu/set_power_limit?gpu_ids=0,2&power_limit_mw=300000&block=true", &r);
    assert_reply(&r, 200, "");
    zd_get(&f->d, "/gpu/get_power_limit", &r);
    assert_reply(&r, 200, "{\"0\":{\"power_limit_mw\":300000},\"1\":{\"power_limit_mw\":700000},"
                          "\"2\":{\"power_limit_mw\":300000},\"3\":{\"power_limit_mw\":700000}}");
}

static void test_zeusd_set_power_limit_out_of_range(void **state)
{
    struct fixture *f = *state;
    struct zd_reply r;

    zd_post(&f->d, "/gpu/set_power_limit?gpu_ids=0,1&power_limit_mw=99000&block=true", &r);
    assert_reply(&r, 400, "{\"errors\":{\"0\":\"Invalid request: Power limit 99000 mW is outside "
                          "the valid range 200000-700000 mW\",\"1\":\"Invalid request: Power "
                          "limit 99000 mW is outside the valid range 200000-700000 mW\"}}");
    zd_post(&f->d, "/gpu/set_power_limit?gpu_ids=0&power_limit_mw=99000&block=false", &r);
    assert_reply(&r, 200, "");
    zd_get(&f->d, "/gpu/get_power_limit?gpu_ids=0", &r); /* FIFO: after the queued one */
    assert_reply(&r, 200, "{\"0\":{\"power_limit_mw\":700000}}");
}

static void test_zeusd_control_query_errors(void **state)
{
    struct fixture *f = *state;
    struct zd_reply r;

    zd_post(&f->d, "/gpu/set_power_limit?gpu_ids=5&power_limit_mw=300000&block=true", &r);
    assert_reply(&r, 400, "GPU index 5 does not exist.");
    zd_post(&f->d, "/gpu/set_power_limit?gpu_ids=0,4&power_limit_mw=300000&block=false", &r);
    assert_reply(&r, 400, "GPU index 4 does not exist.");
    zd_post(&f->d, "/gpu/set_power_limit?gpu_ids=0&power_limit=300000&block=true", &r);
    assert_reply(&r, 400, "Query deserialize error: unknown field `power_limit`, expected one "
                          "of `gpu_ids`, `power_limit_mw`, `block`");
    zd_post(&f->d, "/gpu/set_power_limit?gpu_ids=0&block=true", &r);
    assert_reply(&r, 400, "Query deserialize error: missing field `power_limit_mw`");
    zd_post(&f->d, "/gpu/set_power_limit?gpu_ids=0&power_limit_mw=abc&block=true", &r);
    assert_reply(&r, 400, "Query deserialize error: invalid digit found in string");
    zd_post(&f->d, "/gpu/set_power_limit?gpu_ids=0&power_limit_mw=-5&block=true", &r);
    assert_reply(&r, 400, "Query deserialize error: invalid digit found in string");
    zd_post(&f->d, "/gpu/set_power_limit?gpu_ids=0&power_limit_mw=4294967296&block=true", &r);
    assert_reply(&r, 400, "Query deserialize error: number too large to fit in target type");
    zd_post(&f->d, "/gpu/set_persistence_mode?gpu_ids=0&enabled=1&block=true", &r);
    assert_reply(&r, 400, "Query deserialize error: provided string was not `true` or `false`");
    zd_post(&f->d, "/gpu/set_persistence_mode?gpu_ids=0&enabled=true&block", &r);
    assert_reply(&r, 400, "Query deserialize error: provided string was not `true` or `false`");
    zd_post(&f->d, "/gpu/reset_gpu_locked_clocks?block=true", &r);
    assert_reply(&r, 400, "Query deserialize error: missing field `gpu_ids`");
}

/* A decoded %00 must not cut a parameter short: "1%000" is not GPU 1, "3%0099" not 3 mW. */
static void test_zeusd_query_nul_byte_is_rejected(void **state)
{
    struct fixture *f = *state;
    struct zd_reply r;

    zd_post(&f->d, "/gpu/set_power_limit?gpu_ids=1%000&power_limit_mw=300000&block=true", &r);
    assert_int_equal(r.status, 400);
    zd_post(&f->d, "/gpu/set_power_limit?gpu_ids=1&power_limit_mw=300000%000&block=true", &r);
    assert_int_equal(r.status, 400);
    zd_post(&f->d, "/gpu/set_power_limit?gpu_ids=1&power_limit_mw=300000&block=true%00x", &r);
    assert_int_equal(r.status, 400);
    zd_post(&f->d, "/gpu/set_power_limit?gpu_ids=1&power_limit_mw=300000&block%00x=true", &r);
    assert_int_equal(r.status, 400);
    zd_get(&f->d, "/gpu/get_power_limit?gpu_ids=0%002", &r);
    assert_int_equal(r.status, 400);
    zd_get(&f->d, "/gpu/get_power_limit", &r); /* nothing above was applied */
    assert_reply(&r, 200, "{\"0\":{\"power_limit_mw\":700000},\"1\":{\"power_limit_mw\":700000},"
                          "\"2\":{\"power_limit_mw\":700000},\"3\":{\"power_limit_mw\":700000}}");
}

static void test_zeusd_clocks_and_persistence(void **state)
{
    struct fixture *f = *state;
    struct zd_reply r;

    zd_post(&f->d, "/gpu/set_persistence_mode?gpu_ids=1&enabled=true&block=true", &r);
    assert_reply(&r, 200, "");
    zd_get(&f->d, "/gpu/get_persistence_mode?gpu_ids=1", &r);
    assert_reply(&r, 200, "{\"1\":{\"enabled\":true}}");
    zd_post(&f->d, "/gpu/set_gpu_locked_clocks?gpu_ids=0&min_clock_mhz=500&max_clock_mhz=1000"
                   "&block=true", &r);
    assert_reply(&r, 200, "");
    zd_post(&f->d, "/gpu/set_mem_locked_clocks?gpu_ids=0&min_clock_mhz=2619&max_clock_mhz=2619"
                   "&block=true", &r);
    assert_reply(&r, 200, "");
    zd_post(&f->d, "/gpu/set_gpu_locked_clocks?gpu_ids=0&min_clock_mhz=1000&max_clock_mhz=500"
                   "&block=true", &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "{\"errors\":{\"0\":"));
    zd_post(&f->d, "/gpu/reset_gpu_locked_clocks?gpu_ids=0&block=true", &r);
    assert_reply(&r, 200, "");
    zd_post(&f->d, "/gpu/reset_mem_locked_clocks?gpu_ids=0&block=false", &r);
    assert_reply(&r, 200, "");
    zd_post(&f->d, "/gpu/reset_locked_clocks?gpu_ids=0,1,2,3&block=true", &r);
    assert_reply(&r, 200, "");
}

/* Ten non-blocking sets then a blocking one: they apply in order, the last wins. */
static void test_zeusd_fifo_order_per_gpu(void **state)
{
    struct fixture *f = *state;
    struct zd_reply r;
    char path[160];

    for (int i = 0; i < 10; i++) {
        snprintf(path, sizeof path, "/gpu/set_power_limit?gpu_ids=3&power_limit_mw=%d"
                 "&block=false", 200000 + i * 10000);
        zd_post(&f->d, path, &r);
        assert_reply(&r, 200, "");
    }
    zd_post(&f->d, "/gpu/set_power_limit?gpu_ids=3&power_limit_mw=450000&block=true", &r);
    assert_reply(&r, 200, "");
    zd_get(&f->d, "/gpu/get_power_limit?gpu_ids=3", &r);
    assert_reply(&r, 200, "{\"3\":{\"power_limit_mw\":450000}}");
}

/* ---- CPU ---------------------------------------------------------------------------------- */

static void test_zeusd_cpu_energy_fields(void **state)
{
    struct fixture *f = *state;
    struct zd_reply r;
    long long a, b;

    zd_get(&f->d, "/cpu/get_cumulative_energy?cpu=true&dram=false&cpu_ids=1", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(sscanf(r.body, "{\"1\":{\"cpu_energy_uj\":%lld,\"dram_energy_uj\":null}}",
                            &a), 1);
    zd_get(&f->d, "/cpu/get_cumulative_energy?cpu=false&dram=true&cpu_ids=0", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(sscanf(r.body, "{\"0\":{\"cpu_energy_uj\":null,\"dram_energy_uj\":%lld}}",
                            &b), 1);
    zd_get(&f->d, "/cpu/get_cumulative_energy?cpu=true&dram=true&cpu_ids=0", &r);
    assert_int_equal(sscanf(r.body, "{\"0\":{\"cpu_energy_uj\":%lld,\"dram_energy_uj\":%lld}}",
                            &a, &b), 2);
    /* Package 0 rises by 3 J, DRAM by 1 J. */
    zt_sysfs_set_energy(f->tree, "intel-rapl:0", 4000000);
    zt_sysfs_set_energy(f->tree, "intel-rapl:0:0", 1500000);
    {
        long long a2, b2;
        zd_get(&f->d, "/cpu/get_cumulative_energy?cpu=true&dram=true&cpu_ids=0", &r);
        assert_int_equal(sscanf(r.body, "{\"0\":{\"cpu_energy_uj\":%lld,\"dram_energy_uj\":"
                                "%lld}}", &a2, &b2), 2);
        assert_int_equal(a2 - a, 3000000);
        assert_int_equal(b2 - b, 1000000);
    }
    zd_get(&f->d, "/cpu/get_cumulative_energy?cpu=true&dram=true", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"1\":{\"cpu_energy_uj\":"));
}

/* Zeus's daemon answers the counter plus its wraps times its range, from the first request. */
static void test_zeusd_cpu_energy_is_counter_plus_wraps_times_range(void **state)
{
    struct fixture *f = *state;
    struct zd_reply r;
    struct timespec pause = {0, 50 * 1000000};

    /* a fresh daemon answers what sysfs holds, not 0 */
    zd_get(&f->d, "/cpu/get_cumulative_energy?cpu=true&dram=true", &r);
    assert_reply(&r, 200, "{\"0\":{\"cpu_energy_uj\":1000000,\"dram_energy_uj\":500000},"
                          "\"1\":{\"cpu_energy_uj\":2000000,\"dram_energy_uj\":null}}");
    zt_sysfs_set_energy(f->tree, "intel-rapl:1", 4900000);
    nanosleep(&pause, NULL);
    zd_get(&f->d, "/cpu/get_cumulative_energy?cpu=true&dram=false&cpu_ids=1", &r);
    assert_reply(&r, 200, "{\"1\":{\"cpu_energy_uj\":4900000,\"dram_energy_uj\":null}}");
    /* the counter wraps (5 J range): 100000 + 1 x 5000000 */
    zt_sysfs_set_energy(f->tree, "intel-rapl:1", 100000);
    nanosleep(&pause, NULL);
    zd_get(&f->d, "/cpu/get_cumulative_energy?cpu=true&dram=false&cpu_ids=1", &r);
    assert_reply(&r, 200, "{\"1\":{\"cpu_energy_uj\":5100000,\"dram_energy_uj\":null}}");
    /* and again: two wraps */
    zt_sysfs_set_energy(f->tree, "intel-rapl:1", 4000000);
    nanosleep(&pause, NULL);
    zt_sysfs_set_energy(f->tree, "intel-rapl:1", 7);
    nanosleep(&pause, NULL);
    zd_get(&f->d, "/cpu/get_cumulative_energy?cpu=true&dram=false&cpu_ids=1", &r);
    assert_reply(&r, 200, "{\"1\":{\"cpu_energy_uj\":10000007,\"dram_energy_uj\":null}}");
}

static void test_zeusd_cpu_errors(void **state)
{
    struct fixture *f = *state;
    struct zd_reply r;

    zd_get(&f->d, "/cpu/get_cumulative_energy?cpu=true", &r);
    assert_reply(&r, 400, "Query deserialize error: missing field `dram`");
    zd_get(&f->d, "/cpu/get_cumulative_energy?cpu=yes&dram=true", &r);
    assert_reply(&r, 400, "Query deserialize error: provided string was not `true` or `false`");
    zd_get(&f->d, "/cpu/get_cumulative_energy?cpu=true&dram=true&gpu_ids=0", &r);
    assert_reply(&r, 400, "Query deserialize error: unknown field `gpu_ids`, expected one of "
                          "`cpu_ids`, `cpu`, `dram`");
    zd_get(&f->d, "/cpu/get_cumulative_energy?cpu=true&dram=true&cpu_ids=9", &r);
    assert_reply(&r, 400, "{\"error\":\"CPU 9 not found\"}");
    zd_get(&f->d, "/cpu/get_power?cpu_ids=a", &r);
    assert_reply(&r, 400, "{\"error\":\"Invalid CPU index: a\"}");
    zd_get(&f->d, "/cpu/get_power?foo=1", &r);
    assert_reply(&r, 400, "Query deserialize error: unknown field `foo`, expected `cpu_ids`");
}

static void test_zeusd_cpu_power_shape(void **state)
{
    struct fixture *f = *state;
    struct zd_reply r;
    long long t, c0, d0, c1;

    zd_get(&f->d, "/cpu/get_power", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(sscanf(r.body, "{\"timestamp_ms\":%lld,\"power_mw\":{\"0\":{\"cpu_mw\":%lld,"
                            "\"dram_mw\":%lld},\"1\":{\"cpu_mw\":%lld,\"dram_mw\":null}}}", &t,
                            &c0, &d0, &c1), 4);
    assert_int_equal(c0, 0); /* the fake counters do not move by themselves */
    assert_int_equal(d0, 0);
}

/* ---- Faults ------------------------------------------------------------------------------- */

static void test_zeusd_device_errors_keep_serving(void **state)
{
    struct fixture *f = *state;
    struct zd_reply r;

    zd_post(&f->d, "/gpu/set_power_limit?gpu_ids=0,1&power_limit_mw=300000&block=true", &r);
    assert_int_equal(r.status, 403);
    assert_non_null(strstr(r.body, "{\"errors\":{\"0\":\""));
    assert_non_null(strstr(r.body, "\"1\":\""));
    /* GPU 1 is a Pascal: no energy counter, a 400 for it alone. */
    zd_get(&f->d, "/gpu/get_cumulative_energy", &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "{\"errors\":{\"1\":"));
    assert_null(strstr(r.body, "\"0\":"));
    zd_get(&f->d, "/gpu/get_cumulative_energy?gpu_ids=0", &r);
    assert_int_equal(r.status, 200);
    zd_get(&f->d, "/discover", &r);
    assert_non_null(strstr(r.body, "\"id\":1,\"name\":\"NVIDIA H100 80GB HBM3\",\"pci_address\":"
                                   "\"0000:28:00.0\",\"cumulative_energy_available\":false,"));
    /* A RAPL file that vanishes is an error for that package only. */
    zt_sysfs_remove(f->tree, "intel-rapl:1", "energy_uj");
    zd_get(&f->d, "/cpu/get_cumulative_energy?cpu=true&dram=false", &r);
    assert_int_equal(r.status, 500);
    assert_non_null(strstr(r.body, "{\"errors\":{\"1\":"));
    zd_get(&f->d, "/cpu/get_cumulative_energy?cpu=true&dram=false&cpu_ids=0", &r);
    assert_int_equal(r.status, 200);
    zd_get(&f->d, "/discover", &r);
    assert_int_equal(r.status, 200);
}

/* ---- Groups ------------------------------------------------------------------------------- */

static void test_zeusd_gpu_read_only_hides_others(void **state)
{
    struct fixture *f = *state;
    struct zd_reply r;

    zd_post(&f->d, "/gpu/set_power_limit?gpu_ids=0&power_limit_mw=300000&block=true", &r);
    assert_reply(&r, 404, "{\"error\":\"API group 'gpu-control' is not enabled on this "
                          "server.\"}");
    zd_get(&f->d, "/cpu/get_power", &r);
    assert_reply(&r, 404, "{\"error\":\"API group 'cpu-read' is not enabled on this server.\"}");
    zd_get(&f->d, "/cpu/whatever", &r);
    assert_reply(&r, 404, "{\"error\":\"API group 'cpu-read' is not enabled on this server.\"}");
    zd_get(&f->d, "/gpu/get_power_limit?gpu_ids=0", &r);
    assert_int_equal(r.status, 200);
    zd_get(&f->d, "/discover", &r);
    assert_non_null(strstr(r.body, "\"cpus\":[],\"enabled_api_groups\":[\"gpu-read\"]"));
}

static void test_zeusd_cpu_read_only_hides_gpus(void **state)
{
    struct fixture *f = *state;
    struct zd_reply r;

    zd_get(&f->d, "/gpu/get_power", &r);
    assert_reply(&r, 404, "{\"error\":\"API group 'gpu-read' is not enabled on this server.\"}");
    zd_get(&f->d, "/gpu/stream_power", &r);
    assert_reply(&r, 404, "{\"error\":\"API group 'gpu-read' is not enabled on this server.\"}");
    zd_get(&f->d, "/discover", &r);
    assert_non_null(strstr(r.body, "{\"gpus\":[],\"cpus\":[{\"id\":0"));
    assert_non_null(strstr(r.body, "\"enabled_api_groups\":[\"cpu-read\"]"));
}

static void test_zeusd_gpu_control_only(void **state)
{
    struct fixture *f = *state;
    struct zd_reply r;

    zd_get(&f->d, "/gpu/get_power_limit", &r);
    assert_reply(&r, 404, "{\"error\":\"API group 'gpu-read' is not enabled on this server.\"}");
    zd_post(&f->d, "/gpu/set_power_limit?gpu_ids=1&power_limit_mw=250000&block=true", &r);
    assert_reply(&r, 200, "");
}

/* ---- Concurrency -------------------------------------------------------------------------- */

#define CLIENTS 48
#define ROUNDS 6

struct client_arg {
    const struct zd_proc *d;
    int index;
    int failures;
    char why[256];
};

static void *client_main(void *p)
{
    struct client_arg *a = p;
    struct zd_reply *r = malloc(sizeof *r);
    char path[200], want[200];
    unsigned gpu = (unsigned)a->index % 4;

    for (int i = 0; i < ROUNDS; i++) {
        if (i % 3 == 2) {
            snprintf(path, sizeof path, "/cpu/get_cumulative_energy?cpu=true&dram=false"
                     "&cpu_ids=%d", a->index % 2);
            snprintf(want, sizeof want, "{\"%d\":{\"cpu_energy_uj\":", a->index % 2);
        } else {
            snprintf(path, sizeof path, "/gpu/get_power_limit_constraints?gpu_ids=%u", gpu);
            snprintf(want, sizeof want, "{\"%u\":{\"min_power_limit_mw\":200000,"
                     "\"max_power_limit_mw\":700000}}", gpu);
        }
        if (zd_http_full(a->d, "GET", path, NULL, NULL, r) != 0 || r->status != 200 ||
            strncmp(r->body, want, strlen(want)) != 0) {
            a->failures++;
            snprintf(a->why, sizeof a->why, "%.100s -> %ld %.100s", path, r->status, r->body);
        }
    }
    free(r);
    return NULL;
}

static void test_zeusd_many_concurrent_clients(void **state)
{
    struct fixture *f = *state;
    pthread_t threads[CLIENTS];
    struct client_arg args[CLIENTS];
    struct zd_reply r;

    for (int i = 0; i < CLIENTS; i++) {
        args[i] = (struct client_arg){.d = &f->d, .index = i};
        assert_int_equal(pthread_create(&threads[i], NULL, client_main, &args[i]), 0);
    }
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(threads[i], NULL);
        if (args[i].failures)
            print_error("client %d: %s\n", i, args[i].why);
        assert_int_equal(args[i].failures, 0);
    }
    zd_get(&f->d, "/discover", &r);
    assert_int_equal(r.status, 200);
}

/* Concurrent blocking setters on all GPUs: every request answered, final state consistent. */
static void *setter_main(void *p)
{
    struct client_arg *a = p;
    struct zd_reply *r = malloc(sizeof *r);
    char path[200];

    snprintf(path, sizeof path, "/gpu/set_power_limit?gpu_ids=0,1,2,3&power_limit_mw=%d"
             "&block=%s", 200000 + a->index * 1000, a->index % 2 ? "true" : "false");
    if (zd_http_full(a->d, "POST", path, NULL, NULL, r) != 0 || r->status != 200 ||
        r->len != 0) {
        a->failures++;
        snprintf(a->why, sizeof a->why, "%.100s -> %ld %.100s", path, r->status, r->body);
    }
    free(r);
    return NULL;
}

static void test_zeusd_concurrent_setters(void **state)
{
    struct fixture *f = *state;
    pthread_t threads[32];
    struct client_arg args[32];
    struct zd_reply r;
    long long v[4];

    for (int i = 0; i < 32; i++) {
        args[i] = (struct client_arg){.d = &f->d, .index = i};
        assert_int_equal(pthread_create(&threads[i], NULL, setter_main, &args[i]), 0);
    }
    for (int i = 0; i < 32; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
    /* A final blocking set to all four goes behind everything queued. */
    zd_post(&f->d, "/gpu/set_power_limit?gpu_ids=0,1,2,3&power_limit_mw=333000&block=true", &r);
    assert_reply(&r, 200, "");
    zd_get(&f->d, "/gpu/get_power_limit", &r);
    assert_int_equal(sscanf(r.body, "{\"0\":{\"power_limit_mw\":%lld},\"1\":{\"power_limit_mw\":"
                            "%lld},\"2\":{\"power_limit_mw\":%lld},\"3\":{\"power_limit_mw\":"
                            "%lld}}", &v[0], &v[1], &v[2], &v[3]), 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(v[i], 333000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_zeusd_discover_lists_devices_and_groups),
        T(test_zeusd_time_is_unix_ms),
        T(test_zeusd_whoami_without_auth_is_404),
        T(test_zeusd_unknown_route_and_method_are_404),
        T(test_zeusd_get_with_body_ignores_body),
        T(test_zeusd_gpu_reads_one_and_all),
        T(test_zeusd_gpu_get_power_filters_ids),
        T(test_zeusd_gpu_read_id_errors),
        T(test_zeusd_set_power_limit_blocking_applies),
        T(test_zeusd_set_power_limit_out_of_range),
        T(test_zeusd_control_query_errors),
        T(test_zeusd_query_nul_byte_is_rejected),
        T(test_zeusd_clocks_and_persistence),
        T(test_zeusd_fifo_order_per_gpu),
        T(test_zeusd_cpu_energy_fields),
        T(test_zeusd_cpu_errors),
        T(test_zeusd_cpu_power_shape),
        T(test_zeusd_many_concurrent_clients),
        T(test_zeusd_concurrent_setters),
        cmocka_unit_test_setup_teardown(test_zeusd_gpu_reads_one_and_all, setup_tcp, teardown),
        cmocka_unit_test_setup_teardown(test_zeusd_control_query_errors, setup_tcp, teardown),
        cmocka_unit_test_setup_teardown(test_zeusd_many_concurrent_clients, setup_tcp, teardown),
        cmocka_unit_test_setup_teardown(test_zeusd_device_errors_keep_serving, setup_faulty,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_zeusd_gpu_read_only_hides_others,
                                        setup_gpu_read_only, teardown),
        cmocka_unit_test_setup_teardown(test_zeusd_cpu_read_only_hides_gpus, setup_cpu_read_only,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_zeusd_gpu_control_only, setup_gpu_control_only,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_zeusd_cpu_energy_is_counter_plus_wraps_times_range,
                                        setup_small_range, teardown),
#undef T
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return cmocka_run_group_tests_name("zeusd_routes", tests, NULL, NULL);
}
