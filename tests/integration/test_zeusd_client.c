/*
 * test_zeusd_client.c - libzeus talking to a real zeusd: with ZEUSD_SOCK_PATH (or
 * ZEUSD_HOST_PORT) set, CPU energy comes through the "zeusd" backend and GPU setters go to
 * the daemon while reads stay local; backend_info says which path each device uses; a
 * zeus_monitor window measures CPU energy through the daemon; tokens are sent; the power limit
 * optimizer sets its limits through the daemon.
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_nvml_control.h"
#include "sysfs_tree.h"
#include "test_support.h"
#include "test_zeusd_harness.h"
#include "zeus/zeus.h"

struct fixture {
    char *dir;
    zt_sysfs *tree;
    struct zd_proc d;
    char key[300];
};

static int setup_with(void **state, int tcp, int auth)
{
    struct fixture *f = calloc(1, sizeof *f);

    f->dir = zt_mkdtemp();
    f->tree = zt_sysfs_create();
    zt_sysfs_add_package(f->tree, 0, 1000000, 262143328850ull);
    zt_sysfs_add_dram(f->tree, 0, 0, 500000, 65712999613ull);
    zt_sysfs_add_package(f->tree, 1, 7000000, 262143328850ull);
    zt_sysfs_use(f->tree);
    setenv("ZEUS_FAKE_NVML", "gpus=2", 1);
    unsetenv("ZEUSD_SOCK_PATH");
    unsetenv("ZEUSD_HOST_PORT");
    unsetenv("ZEUSD_TOKEN");
    snprintf(f->key, sizeof f->key, "%s/key", f->dir);
    zt_write_file(f->key, "k3y");
    if (auth)
        zd_proc_spawn(&f->d, f->dir, tcp, "--signing-key-path", f->key, NULL);
    else
        zd_proc_spawn(&f->d, f->dir, tcp, NULL);
    if (zd_proc_ready_or_report(&f->d) != 0)
        return -1;
    if (tcp)
        setenv("ZEUSD_HOST_PORT", f->d.base + strlen("http://"), 1);
    else
        setenv("ZEUSD_SOCK_PATH", f->d.sock, 1);
    /* The test's own RAPL tree is gone: only the daemon can read energy now. */
    setenv("ZEUS_SYSFS_ROOT", "/nonexistent-zeus-sysfs", 1);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, 0, 0);
}

static int setup_tcp(void **state)
{
    return setup_with(state, 1, 0);
}

static int setup_auth(void **state)
{
    return setup_with(state, 0, 1);
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    unsetenv("ZEUSD_SOCK_PATH");
    unsetenv("ZEUSD_HOST_PORT");
    unsetenv("ZEUSD_TOKEN");
    assert_int_equal(zd_proc_stop(&f->d), 0);
    zt_sysfs_destroy(f->tree);
    zt_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static int backend(zeus_devices *devs, const char *name, zeus_backend_info *out)
{
    for (unsigned i = 0; i < zeus_devices_backend_count(devs); i++)
        if (zeus_devices_backend_info(devs, i, out) == ZEUS_OK && strcmp(out->name, name) == 0)
            return 1;
    return 0;
}

/* ---- Tests -------------------------------------------------------------------------------- */

static void test_zeusd_client_cpu_energy_through_daemon(void **state)
{
    struct fixture *f = *state;
    zeus_devices *devs;
    zeus_backend_info bi;
    zeus_cpu_energy e0, e1;
    zeus_cpu_info ci;

    assert_int_equal(zeus_devices_create(&devs), ZEUS_OK);
    assert_int_equal(zeus_devices_cpu_count(devs), 2);
    assert_true(backend(devs, "zeusd", &bi));
    assert_int_equal(bi.status, ZEUS_OK);
    assert_non_null(strstr(bi.detail, "RAPL through zeusd at "));
    assert_true(backend(devs, "rapl", &bi));
    assert_int_not_equal(bi.status, ZEUS_OK); /* not used */
    assert_int_equal(zeus_cpu_get_info(devs, 0, &ci), ZEUS_OK);
    assert_int_equal(ci.has_dram, 1);
    assert_int_equal(zeus_cpu_get_info(devs, 1, &ci), ZEUS_OK);
    assert_int_equal(ci.has_dram, 0);
    assert_int_equal(zeus_cpu_get_energy(devs, 0, &e0), ZEUS_OK);
    zt_sysfs_set_energy(f->tree, "intel-rapl:0", 3500000);
    zt_sysfs_set_energy(f->tree, "intel-rapl:0:0", 750000);
    assert_int_equal(zeus_cpu_get_energy(devs, 0, &e1), ZEUS_OK);
    assert_near(e1.cpu_j - e0.cpu_j, 2.5, 1e-9);
    assert_near(e1.dram_j - e0.dram_j, 0.25, 1e-9);
    assert_int_equal(zeus_cpu_get_energy(devs, 1, &e1), ZEUS_OK);
    assert_true(isnan(e1.dram_j));
    zeus_devices_destroy(devs);
}

static void test_zeusd_client_gpu_setters_go_to_daemon(void **state)
{
    struct fixture *f = *state;
    const struct zt_fake_nvml *fake = zt_fake_nvml();
    zeus_devices *devs;
    zeus_backend_info bi;
    struct zd_reply r;
    double w;

    zt_fake_nvml_reset("gpus=2");
    assert_int_equal(zeus_devices_create(&devs), ZEUS_OK);
    assert_true(backend(devs, "nvml", &bi));
    assert_non_null(strstr(bi.detail, "; setters through zeusd at unix:"));
    assert_int_equal(zeus_gpu_set_power_limit(devs, 1, 300.0), ZEUS_OK);
    zd_get(&f->d, "/gpu/get_power_limit?gpu_ids=1", &r);
    assert_reply(&r, 200, "{\"1\":{\"power_limit_mw\":300000}}");
    assert_int_equal(fake->power_limit_mw(1), 700000); /* the local driver was not touched */
    assert_int_equal(zeus_gpu_get_power_limit(devs, 1, &w), ZEUS_OK); /* reads stay local */
    assert_near(w, 700.0, 1e-9);
    assert_int_equal(zeus_gpu_set_persistence_mode(devs, 0, 1), ZEUS_OK);
    zd_get(&f->d, "/gpu/get_persistence_mode?gpu_ids=0", &r);
    assert_reply(&r, 200, "{\"0\":{\"enabled\":true}}");
    assert_int_equal(zeus_gpu_set_gpu_locked_clocks(devs, 0, 500, 1000), ZEUS_OK);
    assert_int_equal(zeus_gpu_reset_gpu_locked_clocks(devs, 0), ZEUS_OK);
    assert_int_equal(zeus_gpu_set_memory_locked_clocks(devs, 0, 2619, 2619), ZEUS_OK);
    assert_int_equal(zeus_gpu_reset_memory_locked_clocks(devs, 0), ZEUS_OK);
    zeus_devices_destroy(devs);
}

static void test_zeusd_client_unreachable_daemon_is_an_error(void **state)
{
    struct fixture *f = *state;
    zeus_devices *devs;
    zeus_cpu_energy e;
    char detail[512];
    (void)f;

    setenv("ZEUSD_SOCK_PATH", "/nonexistent/zeusd.sock", 1);
    assert_int_equal(zeus_devices_create(&devs), ZEUS_OK);
    assert_int_equal(zeus_devices_cpu_count(devs), 0);
    assert_int_equal(zeus_gpu_set_power_limit(devs, 0, 300.0), ZEUS_ERR_IO);
    snprintf(detail, sizeof detail, "%s", zeus_last_error());
    assert_non_null(strstr(detail, "cannot reach zeusd at unix:/nonexistent/zeusd.sock"));
    assert_int_equal(zeus_cpu_get_energy(devs, 0, &e), ZEUS_ERR_NOT_FOUND);
    zeus_devices_destroy(devs);
}

static void test_zeusd_client_monitor_window(void **state)
{
    struct fixture *f = *state;
    zeus_monitor_options o;
    zeus_monitor *m;
    zeus_measurement meas;
    unsigned cpus[] = {0};

    zeus_monitor_options_init(&o);
    o.gpu_indices = cpus; /* non-NULL with count 0: no GPUs */
    o.gpu_index_count = 0;
    o.cpu_indices = cpus;
    o.cpu_index_count = 1;
    assert_int_equal(zeus_monitor_create(&o, &m), ZEUS_OK);
    assert_int_equal(zeus_monitor_begin_window(m, "w", 0), ZEUS_OK);
    zt_sysfs_set_energy(f->tree, "intel-rapl:0", 5000000);
    assert_int_equal(zeus_monitor_end_window(m, "w", 0, &meas), ZEUS_OK);
    assert_int_equal(meas.cpu_count, 1);
    assert_near(meas.cpu_energy_j[0], 4.0, 1e-6);
    zeus_monitor_destroy(m);
}

static void test_zeusd_client_token(void **state)
{
    struct fixture *f = *state;
    zeus_devices *devs;
    zeus_backend_info bi;
    char cmd[1024], tok[1024];
    FILE *p;
    size_t n;

    /* No token: the daemon requires one, the zeusd backend says so. */
    assert_int_equal(zeus_devices_create(&devs), ZEUS_OK);
    assert_true(backend(devs, "zeusd", &bi));
    assert_int_equal(bi.status, ZEUS_ERR_NO_PERMISSION);
    assert_non_null(strstr(bi.detail, "ZEUSD_TOKEN"));
    zeus_devices_destroy(devs);
    /* A gpu-read token: no cpu-read scope. */
    snprintf(cmd, sizeof cmd, "'%s/zeusd' token issue --signing-key-path '%s' --user bob "
             "--scope %%s --expires 1h", getenv("ZEUS_BUILD_DIR"), f->key);
    for (int round = 0; round < 2; round++) {
        char full[1100];
        snprintf(full, sizeof full, cmd, round == 0 ? "gpu-read" : "cpu-read,gpu-control");
        p = popen(full, "r");
        n = fread(tok, 1, sizeof tok - 1, p);
        tok[n] = '\0';
        tok[strcspn(tok, "\n")] = '\0';
        pclose(p);
        setenv("ZEUSD_TOKEN", tok, 1);
        assert_int_equal(zeus_devices_create(&devs), ZEUS_OK);
        assert_true(backend(devs, "zeusd", &bi));
        if (round == 0) {
            assert_int_equal(bi.status, ZEUS_ERR_NO_PERMISSION);
            assert_non_null(strstr(bi.detail, "lacks the 'cpu-read' scope"));
            assert_int_equal(zeus_gpu_set_power_limit(devs, 0, 300.0), ZEUS_ERR_NO_PERMISSION);
        } else {
            assert_int_equal(bi.status, ZEUS_OK);
            assert_non_null(strstr(bi.detail, "token of bob"));
            assert_int_equal(zeus_devices_cpu_count(devs), 2);
            assert_int_equal(zeus_gpu_set_power_limit(devs, 0, 300.0), ZEUS_OK);
        }
        zeus_devices_destroy(devs);
    }
}

/* The daemon's limit of GPU `gpu` in watts, from its /gpu/get_power_limit. */
static unsigned daemon_limit_w(const struct fixture *f, unsigned gpu)
{
    struct zd_reply r;
    char path[64];
    const char *v;

    snprintf(path, sizeof path, "/gpu/get_power_limit?gpu_ids=%u", gpu);
    zd_get(&f->d, path, &r);
    assert_int_equal(r.status, 200);
    v = strstr(r.body, "\"power_limit_mw\":");
    assert_non_null(v);
    return (unsigned)(strtoul(v + strlen("\"power_limit_mw\":"), NULL, 10) / 1000);
}

/*
 * The power limit optimizer run without privileges: every limit goes through the daemon
 * and lands on its GPUs. Here each step costs 10 mJ per watt of the limit the daemon's GPU 0
 * holds, so the limits the daemon really set decide what the optimizer measures.
 */
static void test_zeusd_client_power_limit_optimizer(void **state)
{
    struct fixture *f = *state;
    const struct zt_fake_nvml *fake = zt_fake_nvml();
    zeus_monitor_options mo;
    zeus_monitor *mon;
    zeus_plo_options o;
    zeus_plo *plo;
    zeus_plo_state st;

    /* Locally no setter works; reads say 650 W, a limit the optimizer never asks for. */
    zt_fake_nvml_reset("gpus=2;root=0;limit_default_w=650");
    zeus_monitor_options_init(&mo);
    mo.direct_reads = 1;
    assert_int_equal(zeus_monitor_create(&mo, &mon), ZEUS_OK);
    zeus_plo_options_init(&o);
    o.wait_steps = 0;
    o.warmup_steps = 1;
    o.profile_steps = 1;
    o.pl_step_w = 250; /* 700, 450, 200 W */
    o.selector.kind = ZEUS_PLO_ENERGY;
    assert_int_equal(zeus_plo_create(mon, &o, &plo), ZEUS_OK);
    for (int step = 0; step < 10; step++) {
        unsigned w;

        assert_int_equal(zeus_plo_on_step_begin(plo), ZEUS_OK);
        w = daemon_limit_w(f, 0);
        assert_int_equal(daemon_limit_w(f, 1), w);
        fake->add_energy_mj(0, 10ull * w);
        fake->add_energy_mj(1, 10ull * w);
        zd_sleep_ms(1);
    }
    assert_int_equal(zeus_plo_get_state(plo, &st), ZEUS_OK);
    assert_int_equal(st.phase, ZEUS_PLO_DONE);
    assert_int_equal(st.measured, 3);
    assert_int_equal(st.power_limit_mw, 200000);
    assert_int_equal(daemon_limit_w(f, 0), 200);
    assert_int_equal(fake->power_limit_log(NULL, NULL, 0), 0); /* nothing set locally */
    zeus_plo_destroy(plo);
    assert_int_equal(daemon_limit_w(f, 0), 700);
    assert_int_equal(daemon_limit_w(f, 1), 700);
    zeus_monitor_destroy(mon);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_zeusd_client_cpu_energy_through_daemon, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_zeusd_client_gpu_setters_go_to_daemon, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_zeusd_client_unreachable_daemon_is_an_error, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_zeusd_client_monitor_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zeusd_client_cpu_energy_through_daemon, setup_tcp,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_zeusd_client_token, setup_auth, teardown),
        cmocka_unit_test_setup_teardown(test_zeusd_client_power_limit_optimizer, setup,
                                        teardown),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return cmocka_run_group_tests_name("zeusd_client", tests, NULL, NULL);
}
