/*
 * test_exporter_devices.c - `zeus exporter` scraped over HTTP on the devices of issue 13:
 * AMD GPUs from the fake AMD SMI beside an NVIDIA GPU (the GPU series with the same labels,
 * index/uuid/name, AMD after NVIDIA; a rejected counter still gives an energy series,
 * integrated from power), Jetson rails from a fake Xavier tree (zeus_soc_* with rail and
 * label), and zeus_gpu_info saying vendor, Grace Hopper's module scope and MIG mode (fake
 * NVML). Each scrape also passes `promtool check metrics` where promtool is installed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_support.h"
#include "http_support.h"
#include "sysfs_tree.h"
#include "test_support.h"

#define XAVIER "bus/i2c/drivers/ina3221x/1-0040/iio:device0/"

struct exporter {
    zt_sysfs *sysfs;
    struct zt_cli cli;
    char base[64];
};

static int setup(void **state)
{
    struct exporter *e = calloc(1, sizeof *e);

    if (e == NULL)
        return -1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    unsetenv("http_proxy");
    unsetenv("HTTP_PROXY");
    unsetenv("CUDA_VISIBLE_DEVICES");
    unsetenv("HIP_VISIBLE_DEVICES");
    e->sysfs = zt_sysfs_create();
    zt_sysfs_use(e->sysfs);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct exporter *e = *state;

    if (e->cli.pid > 0 && kill(e->cli.pid, 0) == 0) {
        kill(e->cli.pid, SIGTERM);
        zt_cli_finish(&e->cli, 30);
        assert_int_equal(e->cli.status, 0);
    }
    zt_cli_free(&e->cli);
    zt_sysfs_destroy(e->sysfs);
    unsetenv("ZEUS_AMDSMI_LIBRARY");
    unsetenv("ZEUS_FAKE_AMDSMI");
    unsetenv("ZEUS_FAKE_NVML");
    unsetenv("ZEUS_JETSON");
    free(e);
    return 0;
}

/* Start the exporter on an ephemeral port with the environment set up by the test. */
static void start(struct exporter *e)
{
    char *out;
    const char *p;
    int port;

    zt_cli_start(&e->cli, "exporter", "--listen", "127.0.0.1:0", NULL);
    zt_cli_wait_for_output(&e->cli, "/metrics", 30);
    out = zt_read_file(e->cli.out_path);
    p = out ? strstr(out, "127.0.0.1:") : NULL;
    port = p ? atoi(p + strlen("127.0.0.1:")) : -1;
    free(out);
    if (port <= 0)
        fail_msg("the exporter did not say where it serves");
    snprintf(e->base, sizeof e->base, "http://127.0.0.1:%d", port);
}

/* promtool's verdict on `text` where it is installed. */
static void promtool_accepts(const char *text)
{
    char *dir, path[512], cmd[1200];
    int rc;

    if (system("command -v promtool >/dev/null 2>&1") != 0)
        return;
    dir = zt_mkdtemp();
    snprintf(path, sizeof path, "%s/metrics.txt", dir);
    zt_write_file(path, text);
    snprintf(cmd, sizeof cmd, "promtool check metrics < '%s' > /dev/null 2>&1", path);
    rc = system(cmd);
    zt_rmtree(dir);
    free(dir);
    if (rc != 0)
        fail_msg("promtool refuses:\n%s", text);
}

static char *scrape(const struct exporter *e)
{
    char url[128], *body = NULL;

    snprintf(url, sizeof url, "%s/metrics", e->base);
    assert_int_equal(zt_http("GET", url, NULL, 10000L, &body), 200);
    promtool_accepts(body);
    return body;
}

/* The value of the sample that starts with `prefix` (name and labels), or fail. */
static double sample(const char *text, const char *prefix)
{
    const char *p = strstr(text, prefix);

    if (p == NULL || p[strlen(prefix)] != ' ')
        fail_msg("no sample %s in:\n%s", prefix, text);
    return strtod(p + strlen(prefix) + 1, NULL);
}

/*
 * Scrape until the sample `prefix` has grown by more than `by` since `first` (a series that
 * follows the device), within 10 s whatever the machine's load; fail otherwise.
 */
static void grows(const struct exporter *e, const char *prefix, double first, double by)
{
    double now = first;

    for (int i = 0; i < 100 && now - first <= by; i++) {
        char *text;
        usleep(100000);
        text = scrape(e);
        now = sample(text, prefix);
        free(text);
    }
    if (now - first <= by)
        fail_msg("%s grew by %g, not more than %g, in 10 s", prefix, now - first, by);
}

/* ---- AMD GPUs ----------------------------------------------------------------------------- */

/* AMD GPU `i` (framework index) is the fake's GPU `n`; its UUIDs are libzeus's "GPU-" form */
#define AMD_LABELS(i, n)                                                                  \
    "{index=\"" #i "\",uuid=\"GPU-a3ff74a1-0001-1000-800" #n "-5ad3c1a0b00" #n "\","    \
    "name=\"AMD Instinct MI300X\""

static void test_exporter_amd_gpus(void **state)
{
    struct exporter *e = *state;
    const char *fake = getenv("ZEUS_FAKE_AMDSMI_LIBRARY");
    char *text;
    double first;

    assert_non_null(fake);
    setenv("ZEUS_AMDSMI_LIBRARY", fake, 1);
    setenv("ZEUS_AMDSMI_CHECK_SECONDS", "0.1", 1);
    setenv("ZEUS_FAKE_NVML", "gpus=1", 1);
    setenv("ZEUS_FAKE_AMDSMI", "gpus=2;power_w=300;instant_w=320;temp_c=51;"
                               "gpu1.counter_scale=100", 1);
    start(e);
    text = scrape(e);
    /* NVIDIA first, then the AMD GPUs in HIP order, all with index, uuid and name */
    assert_non_null(strstr(text, "zeus_gpu_energy_joules_total{index=\"0\",uuid=\"GPU-"));
    first = sample(text, "zeus_gpu_energy_joules_total" AMD_LABELS(1, 0) "}");
    assert_true(first > 0);
    /* the rejected counter: energy integrated from power, still a series */
    assert_true(sample(text, "zeus_gpu_energy_joules_total" AMD_LABELS(2, 1) "}") >= 0);
    assert_true(sample(text, "zeus_gpu_power_watts" AMD_LABELS(1, 0)
                             ",domain=\"device_instant\"}") == 320);
    assert_true(sample(text, "zeus_gpu_power_watts" AMD_LABELS(2, 1)
                             ",domain=\"device_average\"}") == 300);
    assert_true(sample(text, "zeus_gpu_temperature_celsius" AMD_LABELS(2, 1) "}") == 51);
    assert_true(sample(text, "zeus_gpu_power_limit_watts" AMD_LABELS(1, 0) "}") == 750);
    assert_true(sample(text, "zeus_gpu_info" AMD_LABELS(1, 0) ",vendor=\"amd\","
                             "backend=\"amdsmi\",power_scope=\"gpu\",mig=\"false\"}") == 1);
    assert_non_null(strstr(text, "zeus_gpu_info{index=\"0\",uuid=\"GPU-"));
    assert_non_null(strstr(text, "vendor=\"nvidia\",backend=\"nvml\""));
    free(text);
    /* 300 W: the counter's energy follows (60 J: 0.2 s of it) */
    grows(e, "zeus_gpu_energy_joules_total" AMD_LABELS(1, 0) "}", first, 60);
}

/* ---- Jetson ------------------------------------------------------------------------------- */

static void test_exporter_jetson_rails(void **state)
{
    struct exporter *e = *state;
    char *text;
    double first;

    zt_sysfs_put(e->sysfs, XAVIER "rail_name_0", "VDD_IN\n");
    zt_sysfs_put(e->sysfs, XAVIER "in_power0_input", "9000\n"); /* mW */
    zt_sysfs_put(e->sysfs, XAVIER "rail_name_1", "VDD_CPU\n");
    zt_sysfs_put(e->sysfs, XAVIER "in_power1_input", "2500\n");
    zt_sysfs_put(e->sysfs, XAVIER "rail_name_2", "VDD_GPU\n");
    zt_sysfs_put(e->sysfs, XAVIER "in_voltage2_input", "1000\n"); /* mV */
    zt_sysfs_put(e->sysfs, XAVIER "in_current2_input", "4000\n"); /* mA: 4 W */
    setenv("ZEUS_JETSON", "1", 1);
    setenv("ZEUS_FAKE_NVML", "gpus=0", 1);
    start(e);
    text = scrape(e);
    assert_non_null(strstr(text, "# TYPE zeus_soc_energy_joules_total counter\n"));
    assert_non_null(strstr(text, "# TYPE zeus_soc_power_watts gauge\n"));
    assert_true(sample(text, "zeus_soc_power_watts{rail=\"total\",label=\"VDD_IN\"}") == 9);
    assert_true(sample(text, "zeus_soc_power_watts{rail=\"cpu\",label=\"VDD_CPU\"}") == 2.5);
    assert_true(sample(text, "zeus_soc_power_watts{rail=\"gpu\",label=\"VDD_GPU\"}") == 4);
    first = sample(text, "zeus_soc_energy_joules_total{rail=\"total\",label=\"VDD_IN\"}");
    assert_true(sample(text, "zeus_soc_energy_joules_total{rail=\"gpu\",label=\"VDD_GPU\"}") >=
                0);
    assert_null(strstr(text, "zeus_gpu_"));
    free(text);
    /* 9 W: the integrated energy follows (2.5 J: 0.28 s of it) */
    grows(e, "zeus_soc_energy_joules_total{rail=\"total\",label=\"VDD_IN\"}", first, 2.5);
}

/* ---- Scope (fake NVML) -------------------------------------------------------------------- */

static void test_exporter_gpu_info_says_scope(void **state)
{
    struct exporter *e = *state;
    char *text;

    setenv("ZEUS_FAKE_NVML", "gpus=3;gpu0.module_scope=1;gpu1.mig=1", 1);
    start(e);
    text = scrape(e);
    assert_non_null(strstr(text, "# TYPE zeus_gpu_info gauge\n"));
    assert_non_null(strstr(text, ",vendor=\"nvidia\",backend=\"nvml\",power_scope=\"module\","
                                 "mig=\"false\"} 1"));
    assert_non_null(strstr(text, ",vendor=\"nvidia\",backend=\"nvml\",power_scope=\"gpu\","
                                 "mig=\"true\"} 1"));
    assert_non_null(strstr(text, ",vendor=\"nvidia\",backend=\"nvml\",power_scope=\"gpu\","
                                 "mig=\"false\"} 1"));
    /* in index order: GPU 0 is the module-scope one, GPU 1 the MIG one */
    assert_true(strstr(text, "zeus_gpu_info{index=\"0\"") <
                strstr(text, "power_scope=\"module\""));
    assert_true(strstr(text, "power_scope=\"module\"") < strstr(text, "mig=\"true\""));
    /* the energy series keep their labels */
    assert_non_null(strstr(text, "zeus_gpu_energy_joules_total{index=\"1\",uuid=\"GPU-"));
    assert_null(strstr(text, "zeus_gpu_energy_joules_total{index=\"1\",uuid=\"MIG-"));
    free(text);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_exporter_amd_gpus),
        T(test_exporter_jetson_rails),
        T(test_exporter_gpu_info_says_scope),
    };
#undef T
    return cmocka_run_group_tests_name("exporter_devices", tests, NULL, NULL);
}
