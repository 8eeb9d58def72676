/*
 * test_zeusd_amd.c - zeusd serving AMD GPUs (the fake AMD SMI) as Zeus's amdsmi backend does,
 * and a node with NVIDIA and AMD GPUs: discovery, reads, the power stream, the setters AMD
 * SMI has and Zeus's 400s for those it lacks, --gpu-backend, the scope keys of discovery on
 * the fake NVML (Grace Hopper, MIG), and libzeus sending an AMD GPU's setters to the daemon
 * GPU with the same PCI address.
 *
 * Fake addresses: NVIDIA GPU i is 0000:<18 + 16 i>:00.0, AMD GPU i 0000:<0c + 16 i>:00.0.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "fake_amdsmi_control.h"
#include "fake_nvml_control.h"
#include "test_support.h"
#include "test_zeusd_harness.h"
#include "zeus/zeus.h"

struct fixture {
    char *dir;
    struct zd_proc d;
    int running;
    cJSON *json;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    const char *fake = getenv("ZEUS_FAKE_AMDSMI_LIBRARY");

    if (f == NULL || fake == NULL)
        return -1;
    f->dir = zt_mkdtemp();
    setenv("ZEUS_AMDSMI_LIBRARY", fake, 1);
    setenv("ZEUS_AMDSMI_CHECK_SECONDS", "0.1", 1);
    unsetenv("ZEUSD_SOCK_PATH");
    unsetenv("ZEUSD_HOST_PORT");
    unsetenv("HIP_VISIBLE_DEVICES");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    int status = f->running ? zd_proc_stop(&f->d) : 0;

    if (status != 0) {
        char *log = zd_read_log(&f->d);
        print_error("zeusd exited with %d:\n%s\n", status, log);
        free(log);
    }
    unsetenv("ZEUSD_SOCK_PATH");
    unsetenv("HIP_VISIBLE_DEVICES");
    unsetenv("ZEUS_AMDSMI_LIBRARY");
    unsetenv("ZEUS_FAKE_AMDSMI");
    unsetenv("ZEUS_FAKE_NVML");
    cJSON_Delete(f->json);
    zt_rmtree(f->dir);
    free(f->dir);
    free(f);
    assert_int_equal(status, 0);
    return 0;
}

/* Start zeusd on a Unix socket with these fakes and up to two extra arguments. */
static void start(struct fixture *f, const char *nvml, const char *amd, const char *a1,
                  const char *a2)
{
    setenv("ZEUS_FAKE_NVML", nvml, 1);
    setenv("ZEUS_FAKE_AMDSMI", amd, 1);
    zd_proc_spawn(&f->d, f->dir, 0, "--enable", "gpu-control,gpu-read", a1, a2, NULL);
    if (zd_proc_ready_or_report(&f->d) != 0)
        fail_msg("zeusd did not start");
    f->running = 1;
}

/* GET /discover and return its "gpus" array. */
static cJSON *discover(struct fixture *f)
{
    struct zd_reply r;
    cJSON *gpus;

    zd_get(&f->d, "/discover", &r);
    assert_int_equal(r.status, 200);
    cJSON_Delete(f->json);
    f->json = cJSON_Parse(r.body);
    gpus = cJSON_GetObjectItemCaseSensitive(f->json, "gpus");
    if (!cJSON_IsArray(gpus))
        fail_msg("no gpus in %s", r.body);
    return gpus;
}

static const char *str(const cJSON *gpus, int i, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(gpus, i), key);
    if (!cJSON_IsString(v))
        fail_msg("GPU %d: no string \"%s\"", i, key);
    return v->valuestring;
}

static int flag(const cJSON *gpus, int i, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(gpus, i), key);
    if (!cJSON_IsBool(v))
        fail_msg("GPU %d: no bool \"%s\"", i, key);
    return cJSON_IsTrue(v);
}

/* ---- AMD only --------------------------------------------------------------------------- */

/* Two AMD GPUs; GPU 1's counter counts 100x (ROCm/amdsmi#38) and fails the startup check. */
static void test_amd_discovery(void **state)
{
    struct fixture *f = *state;
    cJSON *gpus;

    start(f, "gpus=0", "gpus=2;gpu1.counter_scale=100", NULL, NULL);
    gpus = discover(f);
    assert_int_equal(cJSON_GetArraySize(gpus), 2);
    for (int i = 0; i < 2; i++) {
        assert_string_equal(str(gpus, i, "name"), "AMD Instinct MI300X");
        assert_string_equal(str(gpus, i, "backend"), "amdsmi");
        assert_string_equal(str(gpus, i, "power_scope"), "gpu");
        assert_false(flag(gpus, i, "mig"));
    }
    assert_string_equal(str(gpus, 0, "pci_address"), "0000:0c:00.0");
    assert_string_equal(str(gpus, 1, "pci_address"), "0000:1c:00.0");
    assert_true(flag(gpus, 0, "cumulative_energy_available"));
    assert_false(flag(gpus, 1, "cumulative_energy_available"));
}

static void test_amd_reads(void **state)
{
    struct fixture *f = *state;
    struct zd_reply r;
    long long t, mj;

    start(f, "gpus=0", "gpus=2;power_w=300;instant_w=320;gpu1.counter_scale=100", NULL, NULL);
    zd_get(&f->d, "/gpu/get_power", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(sscanf(r.body, "{\"timestamp_ms\":%lld,", &t), 1);
    assert_non_null(strstr(r.body, "\"power_mw\":{\"0\":320000,\"1\":320000}}"));
    zd_get(&f->d, "/gpu/get_power_limit", &r);
    assert_reply(&r, 200, "{\"0\":{\"power_limit_mw\":750000},\"1\":{\"power_limit_mw\":750000}}");
    zd_get(&f->d, "/gpu/get_power_limit_constraints?gpu_ids=1", &r);
    assert_reply(&r, 200, "{\"1\":{\"min_power_limit_mw\":200000,\"max_power_limit_mw\":750000}}");
    zd_get(&f->d, "/gpu/get_cumulative_energy?gpu_ids=0", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(sscanf(r.body, "{\"0\":{\"energy_mj\":%lld}}", &mj), 1);
    assert_true(mj > 0);
    /* The rejected counter: Zeus's 400 and its advice. */
    zd_get(&f->d, "/gpu/get_cumulative_energy", &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "{\"errors\":{\"1\":\"Invalid request: The cumulative energy "
                                   "counter of this GPU is not available."));
    assert_non_null(strstr(r.body, "integrate over time instead."));
    assert_null(strstr(r.body, "\"0\":"));
    zd_get(&f->d, "/gpu/get_persistence_mode?gpu_ids=0", &r);
    assert_reply(&r, 400, "{\"errors\":{\"0\":\"Invalid request: persistence mode is not "
                          "supported on AMD GPUs\"}}");
}

/* Without a current socket power, the average is served (Zeus's fallback). */
static void test_amd_power_falls_back_to_average(void **state)
{
    struct fixture *f = *state;
    struct zd_reply r;

    start(f, "gpus=0", "gpus=1;power_w=280;instant_w=500;no_instant=1", NULL, NULL);
    zd_get(&f->d, "/gpu/get_power", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"power_mw\":{\"0\":280000}}"));
}

static size_t keep_first_event(char *ptr, size_t size, size_t n, void *user)
{
    struct zd_reply *r = user;
    size_t add = size * n, room = sizeof r->body - 1 - r->len;

    memcpy(r->body + r->len, ptr, add < room ? add : room);
    r->len += add < room ? add : room;
    r->body[r->len] = '\0';
    return strstr(r->body, "\n\n") != NULL ? 0 : add; /* stop after one event */
}

static void test_amd_power_stream(void **state)
{
    struct fixture *f = *state;
    struct zd_reply r = {0};
    char url[256];
    long long t, mw;
    int id;
    CURL *h = curl_easy_init();

    start(f, "gpus=0", "gpus=2;power_w=300;gpu1.instant_w=410", NULL, NULL);
    snprintf(url, sizeof url, "%s/gpu/stream_power?gpu_ids=1", f->d.base);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, f->d.sock);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep_first_event);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
    curl_easy_perform(h);
    curl_easy_cleanup(h);
    assert_int_equal(sscanf(r.body, "data: {\"timestamp_ms\":%lld,\"gpu_id\":%d,\"power_mw\":%lld}",
                            &t, &id, &mw), 3);
    assert_int_equal(id, 1);
    assert_int_equal(mw, 410000);
}

static void test_amd_setters(void **state)
{
    struct fixture *f = *state;
    struct zd_reply r;
    static const char domain_reset[] =
        "{\"errors\":{\"0\":\"Invalid request: AMD GPUs cannot reset a single clock domain; use "
        "reset_locked_clocks to reset all domains\"}}";

    start(f, "gpus=0", "gpus=2", NULL, NULL);
    zd_post(&f->d, "/gpu/set_power_limit?gpu_ids=1&power_limit_mw=500000&block=true", &r);
    assert_reply(&r, 200, "");
    zd_get(&f->d, "/gpu/get_power_limit", &r);
    assert_reply(&r, 200, "{\"0\":{\"power_limit_mw\":750000},\"1\":{\"power_limit_mw\":500000}}");
    zd_post(&f->d, "/gpu/set_power_limit?gpu_ids=0&power_limit_mw=100000&block=true", &r);
    assert_reply(&r, 400, "{\"errors\":{\"0\":\"Invalid request: Power limit 100000 mW is "
                          "outside the valid range 200000-750000 mW\"}}");
    zd_post(&f->d, "/gpu/set_gpu_locked_clocks?gpu_ids=0,1&min_clock_mhz=800&max_clock_mhz=1500"
                   "&block=true", &r);
    assert_reply(&r, 200, "");
    zd_post(&f->d, "/gpu/set_mem_locked_clocks?gpu_ids=0&min_clock_mhz=900&max_clock_mhz=1200"
                   "&block=true", &r);
    assert_reply(&r, 200, "");
    zd_post(&f->d, "/gpu/reset_gpu_locked_clocks?gpu_ids=0&block=true", &r);
    assert_reply(&r, 400, domain_reset);
    zd_post(&f->d, "/gpu/reset_mem_locked_clocks?gpu_ids=0&block=true", &r);
    assert_reply(&r, 400, domain_reset);
    zd_post(&f->d, "/gpu/reset_locked_clocks?gpu_ids=0,1&block=true", &r);
    assert_reply(&r, 200, "");
    zd_post(&f->d, "/gpu/set_persistence_mode?gpu_ids=1&enabled=true&block=true", &r);
    assert_reply(&r, 400, "{\"errors\":{\"1\":\"Invalid request: persistence mode is not "
                          "supported on AMD GPUs\"}}");
}

/* AMD SMI's NO_PERM is 403, as Zeus maps it: the setter reached the library. */
static void test_amd_setters_without_permission_are_403(void **state)
{
    struct fixture *f = *state;
    struct zd_reply r;

    start(f, "gpus=0", "gpus=1;root=0", NULL, NULL);
    zd_post(&f->d, "/gpu/set_power_limit?gpu_ids=0&power_limit_mw=500000&block=true", &r);
    assert_int_equal(r.status, 403);
    zd_post(&f->d, "/gpu/set_gpu_locked_clocks?gpu_ids=0&min_clock_mhz=800&max_clock_mhz=1500"
                   "&block=true", &r);
    assert_int_equal(r.status, 403);
    zd_post(&f->d, "/gpu/reset_locked_clocks?gpu_ids=0&block=true", &r);
    assert_int_equal(r.status, 403);
}

/* ---- NVIDIA and AMD --------------------------------------------------------------------- */

static void test_mixed_node_nvidia_first(void **state)
{
    struct fixture *f = *state;
    struct zd_reply r;
    cJSON *gpus;

    start(f, "gpus=2", "gpus=2", NULL, NULL);
    gpus = discover(f);
    assert_int_equal(cJSON_GetArraySize(gpus), 4);
    assert_string_equal(str(gpus, 0, "pci_address"), "0000:18:00.0");
    assert_string_equal(str(gpus, 1, "pci_address"), "0000:28:00.0");
    assert_string_equal(str(gpus, 2, "pci_address"), "0000:0c:00.0");
    assert_string_equal(str(gpus, 3, "pci_address"), "0000:1c:00.0");
    for (int i = 0; i < 4; i++)
        assert_string_equal(str(gpus, i, "backend"), i < 2 ? "nvml" : "amdsmi");
    /* Zeus's per-GPU answers: NVIDIA sets persistence mode, AMD refuses. */
    zd_post(&f->d, "/gpu/set_persistence_mode?gpu_ids=1,2&enabled=true&block=true", &r);
    assert_reply(&r, 400, "{\"errors\":{\"2\":\"Invalid request: persistence mode is not "
                          "supported on AMD GPUs\"}}");
    zd_post(&f->d, "/gpu/set_power_limit?gpu_ids=3&power_limit_mw=400000&block=true", &r);
    assert_reply(&r, 200, "");
    zd_get(&f->d, "/gpu/get_power_limit?gpu_ids=1,3", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"3\":{\"power_limit_mw\":400000}"));
    assert_null(strstr(r.body, "\"1\":{\"power_limit_mw\":400000}"));
    zd_post(&f->d, "/gpu/reset_locked_clocks?gpu_ids=0,1,2,3&block=true", &r);
    assert_reply(&r, 200, "");
}

static void test_gpu_backend_picks_one_vendor(void **state)
{
    struct fixture *f = *state;
    cJSON *gpus;

    start(f, "gpus=2", "gpus=1", "--gpu-backend", "amdsmi");
    gpus = discover(f);
    assert_int_equal(cJSON_GetArraySize(gpus), 1);
    assert_string_equal(str(gpus, 0, "backend"), "amdsmi");
    assert_string_equal(str(gpus, 0, "pci_address"), "0000:0c:00.0");
    assert_int_equal(zd_proc_stop(&f->d), 0);
    f->running = 0;

    start(f, "gpus=2", "gpus=1", "--gpu-backend", "nvml");
    gpus = discover(f);
    assert_int_equal(cJSON_GetArraySize(gpus), 2);
    assert_string_equal(str(gpus, 1, "backend"), "nvml");
}

/* An explicit backend that cannot be loaded fails at startup with its reason; a bad name is
 * a usage error. */
static void test_gpu_backend_unavailable_fails_fast(void **state)
{
    struct fixture *f = *state;
    char *log;

    setenv("ZEUS_FAKE_NVML", "gpus=1", 1);
    setenv("ZEUS_AMDSMI_LIBRARY", "/nonexistent/libamd_smi.so", 1);
    zd_proc_spawn(&f->d, f->dir, 0, "--gpu-backend", "amdsmi", NULL);
    assert_int_equal(zd_proc_wait_exit(&f->d, 20), 1);
    log = zd_read_log(&f->d);
    assert_non_null(strstr(log, "--gpu-backend amdsmi: the amdsmi backend is unavailable"));
    free(log);
    zd_proc_spawn(&f->d, f->dir, 0, "--gpu-backend", "rocm", NULL);
    assert_int_equal(zd_proc_wait_exit(&f->d, 20), 2);
    log = zd_read_log(&f->d);
    assert_non_null(strstr(log, "possible values: auto, nvml, amdsmi"));
    free(log);
}

/* Zeus's AMDSMI_LIB_DIR (its Docker image sets it) finds the library when
 * ZEUS_AMDSMI_LIBRARY is unset. */
static void test_amdsmi_lib_dir(void **state)
{
    struct fixture *f = *state;
    char libdir[200], link[300];
    cJSON *gpus;

    snprintf(libdir, sizeof libdir, "%s/rocm-lib", f->dir);
    snprintf(link, sizeof link, "%s/libamd_smi.so.25", libdir);
    assert_int_equal(mkdir(libdir, 0755), 0);
    assert_int_equal(symlink(getenv("ZEUS_AMDSMI_LIBRARY"), link), 0);
    unsetenv("ZEUS_AMDSMI_LIBRARY");
    setenv("AMDSMI_LIB_DIR", libdir, 1);
    start(f, "gpus=1", "gpus=1", "--gpu-backend", "amdsmi");
    unsetenv("AMDSMI_LIB_DIR");
    gpus = discover(f);
    assert_int_equal(cJSON_GetArraySize(gpus), 1);
    assert_string_equal(str(gpus, 0, "backend"), "amdsmi");
}

/* ---- Scope (fake NVML) ------------------------------------------------------------------ */

/* GPU 0 reports power only at module scope (GH200), GPU 1 is in MIG mode. */
static void test_discovery_says_scope(void **state)
{
    struct fixture *f = *state;
    cJSON *gpus;

    start(f, "gpus=3;gpu0.module_scope=1;gpu1.mig=1", "gpus=0", NULL, NULL);
    gpus = discover(f);
    assert_int_equal(cJSON_GetArraySize(gpus), 3);
    assert_string_equal(str(gpus, 0, "power_scope"), "module");
    assert_false(flag(gpus, 0, "mig"));
    assert_string_equal(str(gpus, 1, "power_scope"), "gpu");
    assert_true(flag(gpus, 1, "mig"));
    assert_string_equal(str(gpus, 2, "power_scope"), "gpu");
    assert_false(flag(gpus, 2, "mig"));
}

/* ---- libzeus as zeusd's client ---------------------------------------------------------- */

/* The power limit zeusd reports for its GPU `id`, in W. */
static double daemon_limit_w(struct fixture *f, unsigned id)
{
    static const char key[] = "\"power_limit_mw\":";
    struct zd_reply r;
    char path[128];
    const char *p;

    snprintf(path, sizeof path, "/gpu/get_power_limit?gpu_ids=%u", id);
    zd_get(&f->d, path, &r);
    assert_int_equal(r.status, 200);
    p = strstr(r.body, key);
    assert_non_null(p);
    return atof(p + strlen(key)) / 1000.0;
}

/*
 * This process sees NVIDIA GPUs 0-1 and, with HIP_VISIBLE_DEVICES=1, AMD GPU 1 (0000:1c) as
 * its GPU 2. Its setters must reach daemon GPU 3 (the same address), not daemon GPU 2, and
 * never the local driver.
 */
static void test_client_sends_amd_setters_by_pci_address(void **state)
{
    struct fixture *f = *state;
    const struct zt_fake_amdsmi *fake;
    zeus_devices *devs;
    unsigned said = 0;

    start(f, "gpus=2", "gpus=2", NULL, NULL);
    zt_fake_nvml_reset("gpus=2"); /* this process's fakes: the daemon has its own */
    fake = zt_fake_amdsmi_use("gpus=2");
    setenv("HIP_VISIBLE_DEVICES", "1", 1);
    setenv("ZEUSD_SOCK_PATH", f->d.sock, 1);
    assert_int_equal(zeus_devices_create(&devs), ZEUS_OK);
    assert_int_equal(zeus_devices_gpu_count(devs), 3);
    assert_string_equal(zeus_gpu_get_backend(devs, 2), "amdsmi");
    /* show-env's detail says both vendors' setters go through the daemon */
    for (unsigned i = 0; i < zeus_devices_backend_count(devs); i++) {
        zeus_backend_info bi;
        assert_int_equal(zeus_devices_backend_info(devs, i, &bi), ZEUS_OK);
        if (bi.kind == ZEUS_DEVICE_GPU && bi.status == ZEUS_OK) {
            assert_non_null(strstr(bi.detail, "; setters through zeusd at unix:"));
            said++;
        }
    }
    assert_int_equal(said, 2);
    assert_int_equal(zeus_gpu_set_power_limit(devs, 2, 450), ZEUS_OK);
    assert_true(daemon_limit_w(f, 3) == 450);
    assert_true(daemon_limit_w(f, 2) == 750);
    assert_int_equal(fake->power_cap_uw(1), 750000000ull); /* the local driver: untouched */
    assert_int_equal(zeus_gpu_set_gpu_locked_clocks(devs, 2, 800, 1500), ZEUS_OK);
    /* AMD's reset is the daemon's reset_locked_clocks (its per-domain reset is a 400) */
    assert_int_equal(zeus_gpu_reset_gpu_locked_clocks(devs, 2), ZEUS_OK);
    assert_int_equal(zeus_gpu_set_persistence_mode(devs, 2, 1), ZEUS_ERR_NOT_SUPPORTED);
    /* NVIDIA GPU 1 still goes by its index */
    assert_int_equal(zeus_gpu_set_power_limit(devs, 1, 250), ZEUS_OK);
    assert_true(daemon_limit_w(f, 1) == 250);
    zeus_devices_destroy(devs);
    zt_fake_amdsmi_unuse();
}

/* A daemon serving AMD GPUs only: an NVIDIA GPU's index there is an AMD GPU; libzeus sees
 * the address differ and refuses rather than set the wrong GPU. */
static void test_client_refuses_gpu_not_on_daemon(void **state)
{
    struct fixture *f = *state;
    zeus_devices *devs;

    start(f, "gpus=1", "gpus=1", "--gpu-backend", "amdsmi");
    zt_fake_nvml_reset("gpus=1");
    zt_fake_amdsmi_use("gpus=1");
    setenv("ZEUSD_SOCK_PATH", f->d.sock, 1);
    assert_int_equal(zeus_devices_create(&devs), ZEUS_OK);
    assert_int_equal(zeus_devices_gpu_count(devs), 2);
    assert_int_equal(zeus_gpu_set_power_limit(devs, 0, 250), ZEUS_ERR_NOT_FOUND);
    assert_non_null(strstr(zeus_last_error(), "0000:18:00.0, which is not present"));
    assert_true(daemon_limit_w(f, 0) == 750);
    assert_int_equal(zeus_gpu_set_power_limit(devs, 1, 300), ZEUS_OK); /* AMD: found */
    assert_true(daemon_limit_w(f, 0) == 300);
    zeus_devices_destroy(devs);
    zt_fake_amdsmi_unuse();
}

/* A daemon without GPU groups lists no GPUs: Zeus's capability error comes first, not
 * "not present". */
static void test_client_needs_gpu_control(void **state)
{
    struct fixture *f = *state;
    zeus_devices *devs;

    start(f, "gpus=0", "gpus=1", "--enable", "cpu-read"); /* the last --enable wins */
    zt_fake_nvml_reset("gpus=0");
    zt_fake_amdsmi_use("gpus=1");
    setenv("ZEUSD_SOCK_PATH", f->d.sock, 1);
    assert_int_equal(zeus_devices_create(&devs), ZEUS_OK);
    assert_int_equal(zeus_gpu_set_power_limit(devs, 0, 300), ZEUS_ERR_NOT_SUPPORTED);
    assert_non_null(strstr(zeus_last_error(), "does not enable the 'gpu-control' API group"));
    zeus_devices_destroy(devs);
    zt_fake_amdsmi_unuse();
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_amd_discovery),
        T(test_amd_reads),
        T(test_amd_power_falls_back_to_average),
        T(test_amd_power_stream),
        T(test_amd_setters),
        T(test_amd_setters_without_permission_are_403),
        T(test_mixed_node_nvidia_first),
        T(test_gpu_backend_picks_one_vendor),
        T(test_gpu_backend_unavailable_fails_fast),
        T(test_amdsmi_lib_dir),
        T(test_discovery_says_scope),
        T(test_client_sends_amd_setters_by_pci_address),
        T(test_client_refuses_gpu_not_on_daemon),
        T(test_client_needs_gpu_control),
    };
#undef T
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return cmocka_run_group_tests_name("zeusd_amd", tests, NULL, NULL);
}
