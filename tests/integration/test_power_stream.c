/*
 * test_power_stream.c - zeus_power_stream against real zeusd processes on the fake NVML (2
 * GPUs whose power ramps, so the GPU pollers publish every tick) and a fake RAPL tree (one
 * package with DRAM): three daemons merged (Unix socket, TCP with a token, one whose clock is
 * shifted 5 s back), a daemon killed and restarted mid-stream, a token refused mid-stream,
 * refused and bad index lists at open, and stop in bounded time.
 *
 * Every wait is a deadline loop over zeus_power_stream_next (generous, for a loaded
 * machine); nothing asserts how fast a value arrives.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>

#include "sysfs_tree.h"
#include "test_support.h"
#include "test_zeusd_harness.h"
#include "zeus/power_stream.h"

#define KEY "power-stream-test-key-0123456789\n"
#define OTHER_KEY "another-key-that-signs-otherwise\n"
#define WAIT_S 20.0

struct fixture {
    char *dir;
    zt_sysfs *tree;
    struct zd_proc d[3];
    char sub[3][200];
    char key_path[300], other_key_path[300];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    f->dir = zt_mkdtemp();
    for (int i = 0; i < 3; i++) {
        snprintf(f->sub[i], sizeof f->sub[i], "%s/d%d", f->dir, i);
        mkdir(f->sub[i], 0755);
    }
    snprintf(f->key_path, sizeof f->key_path, "%s/key", f->dir);
    snprintf(f->other_key_path, sizeof f->other_key_path, "%s/other-key", f->dir);
    zt_write_file(f->key_path, KEY);
    zt_write_file(f->other_key_path, OTHER_KEY);
    f->tree = zt_sysfs_create();
    zt_sysfs_add_package(f->tree, 0, 1000000, 262143328850ull);
    zt_sysfs_add_dram(f->tree, 0, 0, 500000, 65712999613ull);
    zt_sysfs_use(f->tree);
    setenv("ZEUS_FAKE_NVML", "gpus=2;trace=ramp;trace_period_ms=1000;low_w=100;power_w=600;"
                             "period_ms=10", 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    for (int i = 0; i < 3; i++)
        zd_proc_stop(&f->d[i]);
    zt_sysfs_destroy(f->tree);
    zt_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Start daemon i (Unix socket in its own folder, or TCP), optionally with a signing key. */
static void start(struct fixture *f, int i, int tcp, const char *key_path)
{
    if (key_path != NULL)
        zd_proc_spawn(&f->d[i], f->sub[i], tcp, "--enable", "gpu-read,cpu-read",
                      "--gpu-power-poll-hz", "50", "--signing-key-path", key_path, NULL);
    else
        zd_proc_spawn(&f->d[i], f->sub[i], tcp, "--enable", "gpu-read,cpu-read",
                      "--gpu-power-poll-hz", "50", NULL);
    if (zd_proc_ready_or_report(&f->d[i]) != 0)
        fail();
}

static void issue(const char *key_path, const char *scope, char *out, size_t len)
{
    char cmd[1024];
    FILE *p;
    size_t n;

    snprintf(cmd, sizeof cmd, "'%s/zeusd' token issue --signing-key-path '%s' --user bob "
             "--scope %s --expires 1h 2>/dev/null", getenv("ZEUS_BUILD_DIR"), key_path, scope);
    p = popen(cmd, "r");
    assert_non_null(p);
    n = fread(out, 1, len - 1, p);
    out[n] = '\0';
    out[strcspn(out, "\n")] = '\0';
    assert_int_equal(pclose(p), 0);
    assert_true(strlen(out) > 20);
}

/* The endpoint of daemon i: its socket, or host:port for TCP. */
static void endpoint_of(const struct zd_proc *d, zeus_power_stream_endpoint *e, char *hp,
                        size_t len)
{
    zeus_power_stream_endpoint_init(e);
    if (d->tcp) {
        snprintf(hp, len, "%s", d->base + strlen("http://"));
        e->host_port = hp;
    } else {
        e->sock_path = d->sock;
    }
    e->token = ""; /* none, whatever ZEUSD_TOKEN says */
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static zeus_power_readings get(zeus_power_stream *s, size_t i)
{
    zeus_power_readings r;
    zeus_power_readings_init(&r);
    assert_int_equal(zeus_power_stream_get(s, i, &r), ZEUS_OK);
    return r;
}

typedef int (*cond_fn)(zeus_power_stream *s, void *arg);

/* Wait (updates, deadline WAIT_S) until cond holds; 1 if it did. */
static int wait_for(zeus_power_stream *s, cond_fn cond, void *arg)
{
    uint64_t seq = 0;
    double end = mono_s() + WAIT_S;

    while (!cond(s, arg) && mono_s() < end) {
        zeus_status st = zeus_power_stream_next(s, 0.5, &seq);
        if (st != ZEUS_OK && st != ZEUS_ERR_TIMEOUT)
            return cond(s, arg);
    }
    return cond(s, arg);
}

/* Every endpoint has both GPUs and the package. */
static int all_full(zeus_power_stream *s, void *arg)
{
    (void)arg;
    for (size_t i = 0; i < zeus_power_stream_endpoint_count(s); i++) {
        zeus_power_readings r = get(s, i);
        if (r.gpu_count < 2 || r.cpu_count < 1)
            return 0;
    }
    return 1;
}

static void test_power_stream_merges_three_daemons(void **state)
{
    struct fixture *f = *state;
    zeus_power_stream_endpoint a, b, c;
    zeus_power_stream_options o;
    zeus_power_stream *s = NULL;
    char hp[128], token[2048];

    start(f, 0, 0, NULL);
    start(f, 1, 1, f->key_path);
    setenv("ZEUSD_TEST_CLOCK_SHIFT_MS", "-5000", 1);
    start(f, 2, 0, NULL);
    unsetenv("ZEUSD_TEST_CLOCK_SHIFT_MS");
    issue(f->key_path, "gpu-read,cpu-read", token, sizeof token);
    endpoint_of(&f->d[0], &a, hp, sizeof hp);
    endpoint_of(&f->d[1], &b, hp, sizeof hp);
    b.token = token;
    endpoint_of(&f->d[2], &c, hp, sizeof hp);
    const zeus_power_stream_endpoint *eps[] = {&a, &b, &c};
    zeus_power_stream_options_init(&o);
    o.reconnect_delay_s = 0.2;
    assert_int_equal(zeus_power_stream_open(eps, 3, &o, &s), ZEUS_OK);
    assert_int_equal(zeus_power_stream_endpoint_count(s), 3);
    assert_true(wait_for(s, all_full, NULL));

    for (size_t i = 0; i < 3; i++) {
        zeus_power_readings r = get(s, i);
        double expected_offset = i == 2 ? 5.0 : 0.0;
        if (fabs(r.clock_offset_s - expected_offset) > 1.0 || fabs(r.timestamp_s - now_s()) > 3.0)
            print_error("endpoint %zu: offset %.3f, timestamp %.3f vs now %.3f\n", i,
                        r.clock_offset_s, r.timestamp_s, now_s());
        /* the shifted daemon's offset is found, and its timestamps land on our clock */
        assert_true(fabs(r.clock_offset_s - expected_offset) < 1.0);
        assert_true(fabs(r.timestamp_s - now_s()) < 3.0);
        assert_int_equal(r.gpu_index[0], 0);
        assert_int_equal(r.gpu_index[1], 1);
        for (unsigned g = 0; g < 2; g++)
            assert_true(r.gpu_w[g] >= 99.0 && r.gpu_w[g] <= 601.0); /* the fake's ramp, in W */
        assert_int_equal(r.cpu_index[0], 0);
        assert_false(isnan(r.cpu_w[0]));
        assert_false(isnan(r.dram_w[0])); /* the package has DRAM */
        assert_true(r.gpu_streaming && r.cpu_streaming);
        assert_int_equal(r.status, ZEUS_OK);
    }
    assert_string_equal(get(s, 0).endpoint, f->d[0].sock);
    assert_non_null(strstr(get(s, 1).endpoint, "127.0.0.1:"));
    zeus_power_stream_destroy(s);
}

struct after {
    size_t i;
    double t;
    unsigned reconnects;
};

/* Endpoint arg->i has a GPU value stamped after arg->t and reconnected at least that often. */
static int fresh_after(zeus_power_stream *s, void *arg)
{
    struct after *a = arg;
    zeus_power_readings r = get(s, a->i);
    return r.gpu_count > 0 && r.timestamp_s > a->t && r.reconnects >= a->reconnects;
}

static int has_error(zeus_power_stream *s, void *arg)
{
    return get(s, *(size_t *)arg).error[0] != '\0';
}

static void test_power_stream_reconnects_to_a_restarted_daemon(void **state)
{
    struct fixture *f = *state;
    zeus_power_stream_endpoint a;
    zeus_power_stream_options o;
    zeus_power_stream *s = NULL;
    char hp[128];
    size_t zero = 0;
    struct after fresh = {0, 0, 0};

    start(f, 0, 0, NULL);
    endpoint_of(&f->d[0], &a, hp, sizeof hp);
    a.cpu_indices = (const unsigned[]){0};
    a.cpu_index_count = 0; /* GPUs only */
    const zeus_power_stream_endpoint *eps[] = {&a};
    zeus_power_stream_options_init(&o);
    o.reconnect_delay_s = 0.2;
    assert_int_equal(zeus_power_stream_open(eps, 1, &o, &s), ZEUS_OK);
    assert_true(wait_for(s, fresh_after, &fresh));
    assert_int_equal(get(s, 0).cpu_streaming, 0);

    kill(f->d[0].pid, SIGKILL); /* no goodbye: the connection just breaks */
    waitpid(f->d[0].pid, NULL, 0);
    f->d[0].pid = 0;
    assert_true(wait_for(s, has_error, &zero));
    assert_int_equal(get(s, 0).gpu_streaming, 1); /* still trying */
    assert_int_equal(get(s, 0).status, ZEUS_OK);

    zd_sleep_ms(500); /* a few failed reconnects against a missing socket */
    fresh.t = now_s();
    fresh.reconnects = 1;
    start(f, 0, 0, NULL);
    assert_true(wait_for(s, fresh_after, &fresh));
    zeus_power_stream_destroy(s);
}

/* The refused endpoint's GPU and CPU streams have both ended. */
static int both_ended(zeus_power_stream *s, void *arg)
{
    zeus_power_readings r = get(s, *(size_t *)arg);
    return !r.gpu_streaming && !r.cpu_streaming;
}

static void test_power_stream_refused_token_ends_only_that_stream(void **state)
{
    struct fixture *f = *state;
    zeus_power_stream_endpoint a, b;
    zeus_power_stream_options o;
    zeus_power_stream *s = NULL;
    zeus_power_readings r;
    char hp[128], token[2048];
    size_t one = 1;
    struct after fresh = {0, 0, 0};

    start(f, 0, 0, NULL);
    start(f, 1, 0, f->key_path);
    issue(f->key_path, "gpu-read,cpu-read", token, sizeof token);
    endpoint_of(&f->d[0], &a, hp, sizeof hp);
    endpoint_of(&f->d[1], &b, hp, sizeof hp);

    /* refused at open: nothing starts, and the message names the daemon */
    b.token = "not-a-token";
    const zeus_power_stream_endpoint *eps[] = {&a, &b};
    zeus_power_stream_options_init(&o);
    o.reconnect_delay_s = 0.2;
    assert_int_equal(zeus_power_stream_open(eps, 2, &o, &s), ZEUS_ERR_NO_PERMISSION);
    assert_null(s);
    assert_non_null(strstr(zeus_last_error(), f->d[1].sock));

    /* refused mid-stream: the daemon comes back with another key */
    b.token = token;
    assert_int_equal(zeus_power_stream_open(eps, 2, &o, &s), ZEUS_OK);
    assert_true(wait_for(s, all_full, NULL));
    zd_proc_stop(&f->d[1]);
    start(f, 1, 0, f->other_key_path);
    assert_true(wait_for(s, both_ended, &one));
    r = get(s, 1);
    assert_int_equal(r.status, ZEUS_ERR_NO_PERMISSION);
    if (strstr(r.error, "HTTP 401") == NULL)
        print_error("error: %s\n", r.error);
    assert_non_null(strstr(r.error, "HTTP 401"));
    assert_non_null(strstr(r.error, f->d[1].sock));
    /* the other daemon streams on */
    fresh.t = now_s();
    assert_true(wait_for(s, fresh_after, &fresh));
    r = get(s, 0);
    assert_true(r.gpu_streaming && r.cpu_streaming);
    assert_int_equal(r.status, ZEUS_OK);
    zeus_power_stream_destroy(s);
}

static void test_power_stream_checks_indices_and_scopes(void **state)
{
    struct fixture *f = *state;
    zeus_power_stream_endpoint a, b;
    zeus_power_stream *s = NULL;
    zeus_power_readings r;
    char hp[128], gpu_token[2048];
    const unsigned missing[] = {0, 5}, one[] = {1};

    start(f, 0, 0, NULL);
    start(f, 1, 1, f->key_path);
    issue(f->key_path, "gpu-read", gpu_token, sizeof gpu_token);
    endpoint_of(&f->d[0], &a, hp, sizeof hp);
    const zeus_power_stream_endpoint *eps[] = {&a, &b};

    /* an index the daemon lacks */
    a.gpu_indices = missing;
    a.gpu_index_count = 2;
    assert_int_equal(zeus_power_stream_open(eps, 1, NULL, &s), ZEUS_ERR_NOT_FOUND);
    assert_non_null(strstr(zeus_last_error(), "GPU index 5"));
    a.gpu_indices = NULL;
    a.cpu_indices = (const unsigned[]){3};
    a.cpu_index_count = 1;
    assert_int_equal(zeus_power_stream_open(eps, 1, NULL, &s), ZEUS_ERR_NOT_FOUND);
    a.cpu_indices = NULL;
    a.cpu_index_count = 0;

    /* the same endpoint twice */
    b = a;
    assert_int_equal(zeus_power_stream_open(eps, 2, NULL, &s), ZEUS_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(zeus_last_error(), "Duplicate"));

    /* neither or both of socket and host:port */
    zeus_power_stream_endpoint_init(&b);
    assert_int_equal(zeus_power_stream_open(eps, 2, NULL, &s), ZEUS_ERR_INVALID_ARGUMENT);
    assert_null(s);

    /* CPUs listed but the token lacks cpu-read */
    endpoint_of(&f->d[1], &b, hp, sizeof hp);
    b.token = gpu_token;
    b.cpu_indices = (const unsigned[]){0};
    b.cpu_index_count = 1;
    assert_int_equal(zeus_power_stream_open(eps + 1, 1, NULL, &s), ZEUS_ERR_NO_PERMISSION);
    assert_non_null(strstr(zeus_last_error(), "cpu-read"));

    /* all CPUs (NULL) with that token: skipped quietly; one GPU listed; [] skips */
    b.cpu_indices = NULL;
    b.gpu_indices = one;
    b.gpu_index_count = 1;
    a.gpu_indices = one;
    a.gpu_index_count = 0;
    assert_int_equal(zeus_power_stream_open(eps, 2, NULL, &s), ZEUS_OK);
    r = get(s, 0);
    assert_false(r.gpu_streaming);
    assert_true(r.cpu_streaming);
    r = get(s, 1);
    assert_true(r.gpu_streaming);
    assert_false(r.cpu_streaming);
    zeus_power_stream_destroy(s);
}

/* Both of the endpoint's streams have delivered, so both connections are open. */
static int gpu_and_cpu_seen(zeus_power_stream *s, void *arg)
{
    zeus_power_readings r = get(s, *(size_t *)arg);
    return r.gpu_count == 2 && r.cpu_count >= 1;
}

/*
 * TCP sockets open in this process, and how many of them are close-on-exec. (libcurl's own
 * wakeup socketpairs are AF_UNIX and not ours to mark.)
 */
static void count_tcp_sockets(int *sockets, int *cloexec)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;

    *sockets = *cloexec = 0;
    while (d != NULL && (e = readdir(d)) != NULL) {
        struct sockaddr_storage a;
        socklen_t len = sizeof a;
        int fd = atoi(e->d_name);
        if (e->d_name[0] == '.' || getsockname(fd, (struct sockaddr *)&a, &len) != 0 ||
            a.ss_family != AF_INET)
            continue;
        (*sockets)++;
        if (fcntl(fd, F_GETFD) & FD_CLOEXEC)
            (*cloexec)++;
    }
    if (d != NULL)
        closedir(d);
}

static void test_power_stream_stop_is_bounded(void **state)
{
    struct fixture *f = *state;
    zeus_power_stream_endpoint a;
    zeus_power_stream *s = NULL;
    char hp[128];
    size_t zero = 0;
    uint64_t seq = 0;
    double t0;
    int sockets, cloexec;
    zeus_power_readings r;

    start(f, 0, 1, NULL);
    endpoint_of(&f->d[0], &a, hp, sizeof hp);
    const zeus_power_stream_endpoint *eps[] = {&a};
    assert_int_equal(zeus_power_stream_open(eps, 1, NULL, &s), ZEUS_OK);
    assert_true(wait_for(s, gpu_and_cpu_seen, &zero));
    /* the stream's connections do not leak into children this process forks */
    count_tcp_sockets(&sockets, &cloexec);
    assert_true(sockets >= 2); /* the GPU and the CPU stream */
    assert_int_equal(cloexec, sockets);
    t0 = mono_s();
    zeus_power_stream_stop(s);
    assert_true(mono_s() - t0 < 10.0); /* about a second; generous for a loaded machine */
    assert_int_equal(zeus_power_stream_next(s, 5.0, &seq), ZEUS_ERR_NO_DATA);
    r = get(s, 0); /* still readable */
    assert_true(r.gpu_count == 2);
    assert_false(r.gpu_streaming);
    assert_int_equal(r.status, ZEUS_OK);
    /* a smaller (older) readings struct gets its prefix only */
    memset(&r, 0x5a, sizeof r);
    r.size = offsetof(zeus_power_readings, gpu_count);
    assert_int_equal(zeus_power_stream_get(s, 0, &r), ZEUS_OK);
    assert_int_equal(r.size, offsetof(zeus_power_readings, gpu_count));
    assert_false(isnan(r.timestamp_s));
    assert_int_equal(r.gpu_count, 0x5a5a5a5a);
    zeus_power_stream_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_power_stream_merges_three_daemons, setup, teardown),
        cmocka_unit_test_setup_teardown(test_power_stream_reconnects_to_a_restarted_daemon, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_power_stream_refused_token_ends_only_that_stream,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_power_stream_checks_indices_and_scopes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_power_stream_stop_is_bounded, setup, teardown),
    };
    curl_global_init(CURL_GLOBAL_ALL);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
