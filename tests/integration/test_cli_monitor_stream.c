/*
 * test_cli_monitor_stream.c - `zeus monitor power --zeusd` against two real zeusd processes
 * (a Unix socket, and TCP with a token read from a token file): lines naming both daemons
 * with each GPU's watts, the --plot chart, a refused token file, a duplicate endpoint and a
 * bad endpoint, and SIGTERM ending a run cleanly.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "cli_support.h"
#include "test_support.h"
#include "test_zeusd_harness.h"

#define KEY "cli-stream-test-key-0123456789ab\n"

struct fixture {
    char *dir;
    char sub[2][200];
    char key_path[300], token_path[300], bad_token_path[300];
    struct zd_proc d[2];
    char hp[128];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char cmd[1024];

    f->dir = zt_mkdtemp();
    setenv("ZEUS_FAKE_NVML", "gpus=2;trace=ramp;trace_period_ms=1000;low_w=100;power_w=600;"
                             "period_ms=10", 1);
    unsetenv("ZEUSD_TOKEN");
    snprintf(f->key_path, sizeof f->key_path, "%s/key", f->dir);
    snprintf(f->token_path, sizeof f->token_path, "%s/token", f->dir);
    snprintf(f->bad_token_path, sizeof f->bad_token_path, "%s/bad-token", f->dir);
    zt_write_file(f->key_path, KEY);
    zt_write_file(f->bad_token_path, "not-a-token\n");
    snprintf(cmd, sizeof cmd, "'%s/zeusd' token issue --signing-key-path '%s' --user carol "
             "--scope gpu-read --expires 1h > '%s' 2>/dev/null", getenv("ZEUS_BUILD_DIR"),
             f->key_path, f->token_path);
    assert_int_equal(system(cmd), 0);
    for (int i = 0; i < 2; i++) {
        snprintf(f->sub[i], sizeof f->sub[i], "%s/d%d", f->dir, i);
        mkdir(f->sub[i], 0755);
    }
    zd_proc_spawn(&f->d[0], f->sub[0], 0, "--enable", "gpu-read", NULL);
    zd_proc_spawn(&f->d[1], f->sub[1], 1, "--enable", "gpu-read", "--signing-key-path",
                  f->key_path, NULL);
    if (zd_proc_ready_or_report(&f->d[0]) != 0 || zd_proc_ready_or_report(&f->d[1]) != 0)
        return -1;
    snprintf(f->hp, sizeof f->hp, "%s", f->d[1].base + strlen("http://"));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    for (int i = 0; i < 2; i++)
        zd_proc_stop(&f->d[i]);
    zt_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void test_cli_stream_prints_and_plots_two_daemons(void **state)
{
    struct fixture *f = *state;
    char list[1024], plot[300], needle[300];
    struct zt_cli c;
    char *svg;

    snprintf(list, sizeof list, "unix:%s,tcp:%s@%s", f->d[0].sock, f->hp, f->token_path);
    snprintf(plot, sizeof plot, "%s/power.svg", f->dir);
    zt_cli_run(&c, "monitor", "power", "--zeusd", list, "--interval", "0.2", "--duration", "2",
               "--plot", plot, NULL);
    if (c.status != 0)
        print_error("stderr: %s\n", c.err);
    assert_int_equal(c.status, 0);
    /* a late line has both daemons with both GPUs in watts */
    snprintf(needle, sizeof needle, "%s: GPU0 ", f->d[0].sock);
    assert_non_null(strstr(c.out, needle));
    snprintf(needle, sizeof needle, "%s: GPU0 ", f->hp);
    assert_non_null(strstr(c.out, needle));
    assert_non_null(strstr(c.out, " GPU1 "));
    assert_non_null(strstr(c.out, " W"));
    svg = zt_read_file(plot);
    assert_non_null(svg);
    assert_non_null(strstr(svg, "<svg"));
    assert_non_null(strstr(svg, "GPU1")); /* a legend entry per device */
    assert_non_null(strstr(svg, "polyline"));
    free(svg);
    zt_cli_free(&c);
}

static void test_cli_stream_refusals(void **state)
{
    struct fixture *f = *state;
    char list[1024];
    struct zt_cli c;

    /* a refused token: exit 1, the daemon named */
    snprintf(list, sizeof list, "%s,%s@%s", f->d[0].sock, f->hp, f->bad_token_path);
    zt_cli_run(&c, "monitor", "power", "--zeusd", list, "--duration", "1", NULL);
    assert_int_equal(c.status, 1);
    assert_non_null(strstr(c.err, f->hp));
    zt_cli_free(&c);
    /* the TCP daemon needs a token and none is given */
    zt_cli_run(&c, "monitor", "power", "--zeusd", f->hp, "--duration", "1", NULL);
    assert_int_equal(c.status, 1);
    assert_non_null(strstr(c.err, "token"));
    zt_cli_free(&c);
    /* the same daemon twice, a name that is no endpoint, a missing token file */
    snprintf(list, sizeof list, "%s,unix:%s", f->d[0].sock, f->d[0].sock);
    zt_cli_run(&c, "monitor", "power", "--zeusd", list, NULL);
    assert_int_equal(c.status, 2);
    assert_non_null(strstr(c.err, "Duplicate"));
    zt_cli_free(&c);
    zt_cli_run(&c, "monitor", "power", "--zeusd", "localhost", NULL);
    assert_int_equal(c.status, 2);
    zt_cli_free(&c);
    snprintf(list, sizeof list, "%s@%s/no-such-file", f->d[0].sock, f->dir);
    zt_cli_run(&c, "monitor", "power", "--zeusd", list, NULL);
    assert_int_equal(c.status, 2);
    assert_non_null(strstr(c.err, "token file"));
    zt_cli_free(&c);
}

static void test_cli_stream_stops_on_sigterm(void **state)
{
    struct fixture *f = *state;
    struct zt_cli c;

    zt_cli_start(&c, "monitor", "power", "--zeusd", f->d[0].sock, "--interval", "0.1", NULL);
    zt_cli_wait_for_output(&c, "GPU1", 20);
    kill(c.pid, SIGTERM);
    zt_cli_finish(&c, 20);
    assert_int_equal(c.status, 0);
    assert_non_null(strstr(c.out, "GPU0"));
    zt_cli_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cli_stream_prints_and_plots_two_daemons, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cli_stream_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_stream_stops_on_sigterm, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
