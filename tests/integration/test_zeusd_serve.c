/*
 * test_zeusd_serve.c - zeusd as a process: socket handling (stale socket removed, live
 * socket and non-socket file left alone, permissions), startup refusals (root-requiring
 * groups without root, empty key, bad flags), --help, and Server-Sent Events (framing,
 * rate, several devices, unknown ids, a client that never reads).
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

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    f->dir = zt_mkdtemp();
    f->tree = zt_sysfs_create();
    zt_sysfs_add_package(f->tree, 0, 1000000, 262143328850ull);
    zt_sysfs_add_dram(f->tree, 0, 0, 500000, 65712999613ull);
    zt_sysfs_use(f->tree);
    /* Power changes at every 10 ms update: a GPU poller sends every tick. */
    setenv("ZEUS_FAKE_NVML", "gpus=3;trace=ramp;trace_period_ms=1000;low_w=100;power_w=600;"
                             "period_ms=10", 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    zd_proc_stop(&f->d);
    zt_sysfs_destroy(f->tree);
    zt_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void start(struct fixture *f, const char *a1, const char *a2)
{
    zd_proc_spawn(&f->d, f->dir, 0, a1, a2, NULL);
    if (zd_proc_ready_or_report(&f->d) != 0)
        fail();
}

static int log_contains(const struct zd_proc *p, const char *text)
{
    char *log = zd_read_log(p);
    int found = log != NULL && strstr(log, text) != NULL;
    if (!found)
        print_error("log lacks '%s':\n%s\n", text, log ? log : "");
    free(log);
    return found;
}

/* Bind a Unix socket at path; listen or not; returns the fd. */
static int make_socket(const char *path, int do_listen)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    char dir[256];

    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = '\0';
    mkdir(dir, 0755);
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    if (do_listen)
        assert_int_equal(listen(fd, 4), 0);
    return fd;
}

/* ---- Socket handling ---------------------------------------------------------------------- */

static void test_zeusd_stale_socket_is_replaced(void **state)
{
    struct fixture *f = *state;
    struct zd_reply r;
    char path[300];
    struct stat st;

    snprintf(path, sizeof path, "%s/run/zeusd.sock", f->dir);
    close(make_socket(path, 0)); /* bound, then closed: connect() is refused */
    start(f, "--socket-permissions", "600");
    assert_true(log_contains(&f->d, "removing stale socket"));
    zd_get(&f->d, "/time", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
}

static void test_zeusd_live_socket_is_not_stolen(void **state)
{
    struct fixture *f = *state;
    char path[300];
    struct stat st;
    int fd;

    snprintf(path, sizeof path, "%s/run/zeusd.sock", f->dir);
    fd = make_socket(path, 1);
    zd_proc_spawn(&f->d, f->dir, 0, NULL);
    assert_int_equal(zd_proc_wait_exit(&f->d, 20), 1);
    assert_true(log_contains(&f->d, "is in use"));
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    close(fd);
}

static void test_zeusd_regular_file_is_not_removed(void **state)
{
    struct fixture *f = *state;
    char path[300];
    struct stat st;

    snprintf(path, sizeof path, "%s/run/zeusd.sock", f->dir);
    zt_write_file(path, "precious");
    zd_proc_spawn(&f->d, f->dir, 0, NULL);
    assert_int_equal(zd_proc_wait_exit(&f->d, 20), 1);
    assert_true(log_contains(&f->d, "is not a socket"));
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
}

/* ---- Startup refusals --------------------------------------------------------------------- */

static void test_zeusd_root_groups_need_root(void **state)
{
    struct fixture *f = *state;

    if (geteuid() != 0) {
        zd_proc_spawn(&f->d, f->dir, 0, NULL);
    } else {
        chmod(f->dir, 0777);
        zd_spawn_uid = 65534;
        zd_proc_spawn(&f->d, f->dir, 0, "--enable", "gpu-read,cpu-read", NULL);
        zd_spawn_uid = -1;
    }
    assert_int_equal(zd_proc_wait_exit(&f->d, 20), 1);
    assert_true(log_contains(&f->d, "cpu-read require root privileges"));
}

static void test_zeusd_gpu_read_runs_without_root(void **state)
{
    struct fixture *f = *state;
    struct zd_reply r;

    if (geteuid() == 0) {
        chmod(f->dir, 0777);
        zd_spawn_uid = 65534;
    }
    zd_proc_spawn(&f->d, f->dir, 0, "--enable", "gpu-read", NULL);
    zd_spawn_uid = -1;
    assert_int_equal(zd_proc_ready(&f->d, 20), 0);
    zd_get(&f->d, "/gpu/get_power_limit?gpu_ids=2", &r);
    assert_reply(&r, 200, "{\"2\":{\"power_limit_mw\":700000}}");
}

static void test_zeusd_bad_flags_and_empty_key(void **state)
{
    struct fixture *f = *state;
    char key[300];

    zd_proc_spawn(&f->d, f->dir, 0, "--enable", "gpu-read,bogus", NULL);
    assert_int_equal(zd_proc_wait_exit(&f->d, 20), 2);
    assert_true(log_contains(&f->d, "invalid value 'bogus' for '--enable'"));
    zd_proc_spawn(&f->d, f->dir, 0, "--socket-permissions", "9", NULL);
    assert_int_equal(zd_proc_wait_exit(&f->d, 20), 2);
    zd_proc_spawn(&f->d, f->dir, 0, "--gpu-power-poll-hz", "0", NULL);
    assert_int_equal(zd_proc_wait_exit(&f->d, 20), 2);
    snprintf(key, sizeof key, "%s/empty.key", f->dir);
    zt_write_file(key, "");
    zd_proc_spawn(&f->d, f->dir, 0, "--signing-key-path", key, NULL);
    assert_int_equal(zd_proc_wait_exit(&f->d, 20), 1);
    assert_true(log_contains(&f->d, "is empty"));
    zd_proc_spawn(&f->d, f->dir, 0, "--help", NULL);
    assert_int_equal(zd_proc_wait_exit(&f->d, 20), 0);
    assert_true(log_contains(&f->d, "--socket-permissions OCT"));
}

/* ---- SSE ---------------------------------------------------------------------------------- */

struct sse {
    char buf[65536];
    size_t len;
    int events;
    int max_events;
    char content_type[128];
};

static size_t sse_body(char *ptr, size_t size, size_t n, void *user)
{
    struct sse *s = user;
    size_t add = size * n, room = sizeof s->buf - 1 - s->len;

    memcpy(s->buf + s->len, ptr, add < room ? add : room);
    s->len += add < room ? add : room;
    s->buf[s->len] = '\0';
    s->events = 0;
    for (const char *p = s->buf; (p = strstr(p, "\n\n")) != NULL; p += 2)
        s->events++;
    return s->max_events > 0 && s->events >= s->max_events ? 0 : add;
}

static size_t sse_header(char *ptr, size_t size, size_t n, void *user)
{
    struct sse *s = user;
    if (size * n > 14 && strncasecmp(ptr, "Content-Type: ", 14) == 0)
        zd_trim_header(s->content_type, sizeof s->content_type, ptr + 14, size * n - 14);
    return size * n;
}

/* Read a stream for at most `ms`, or until `max_events` events (0: no limit). */
static void read_sse(const struct zd_proc *d, const char *path, long ms, int max_events,
                     struct sse *s)
{
    char url[512];
    CURL *h = curl_easy_init();

    memset(s, 0, sizeof *s);
    s->max_events = max_events;
    snprintf(url, sizeof url, "%s%s", d->base, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, d->sock);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sse_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, sse_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, s);
    curl_easy_perform(h);
    curl_easy_cleanup(h);
}

static void test_zeusd_gpu_stream_framing(void **state)
{
    struct fixture *f = *state;
    struct sse s;
    long long t, mw;
    int id;

    start(f, NULL, NULL);
    read_sse(&f->d, "/gpu/stream_power?gpu_ids=1", 2000, 1, &s);
    assert_string_equal(s.content_type, "text/event-stream");
    assert_int_equal(s.events, 1);
    assert_int_equal(sscanf(s.buf, "data: {\"timestamp_ms\":%lld,\"gpu_id\":%d,\"power_mw\":%lld}",
                            &t, &id, &mw), 3);
    assert_int_equal(id, 1);
    assert_true(mw >= 100000 && mw <= 600000);
    assert_non_null(strstr(s.buf, "}\n\n"));
    assert_int_equal(strncmp(s.buf, "data: {", 7), 0);
}

static void test_zeusd_gpu_stream_rate_and_merge(void **state)
{
    struct fixture *f = *state;
    struct sse s;
    int per_gpu[3] = {0};

    start(f, "--gpu-power-poll-hz", "20");
    read_sse(&f->d, "/gpu/stream_power?gpu_ids=0,2", 2000, 0, &s);
    for (const char *p = s.buf; (p = strstr(p, "\"gpu_id\":")) != NULL; p++)
        per_gpu[atoi(p + 9)]++;
    /* 20 Hz for 2 s, each reading different: about 40 per GPU (bounds are loose). */
    print_message("events in 2 s at 20 Hz: gpu0 %d, gpu2 %d\n", per_gpu[0], per_gpu[2]);
    assert_true(per_gpu[0] >= 15 && per_gpu[0] <= 50);
    assert_true(per_gpu[2] >= 15 && per_gpu[2] <= 50);
    assert_int_equal(per_gpu[1], 0);
}

static void test_zeusd_cpu_stream_shape(void **state)
{
    struct fixture *f = *state;
    struct sse s;
    long long t, c, d;
    int id;

    start(f, "--cpu-power-poll-hz", "10");
    read_sse(&f->d, "/cpu/stream_power", 3000, 1, &s);
    assert_string_equal(s.content_type, "text/event-stream");
    assert_int_equal(sscanf(s.buf, "data: {\"timestamp_ms\":%lld,\"cpu_id\":%d,\"cpu_mw\":%lld,"
                            "\"dram_mw\":%lld}\n\n", &t, &id, &c, &d), 4);
    assert_int_equal(id, 0);
}

static void test_zeusd_stream_unknown_ids(void **state)
{
    struct fixture *f = *state;
    struct zd_reply r;

    start(f, NULL, NULL);
    zd_get(&f->d, "/gpu/stream_power?gpu_ids=1,9,7", &r);
    assert_reply(&r, 400, "{\"error\":\"Unknown GPU indices: [7, 9]. Available: [0, 1, 2]\"}");
    zd_get(&f->d, "/cpu/stream_power?cpu_ids=3", &r);
    assert_reply(&r, 400, "{\"error\":\"Unknown CPU indices: [3]. Available: [0]\"}");
    zd_get(&f->d, "/gpu/stream_power?gpu_ids=0&x=1", &r);
    assert_reply(&r, 400, "Query deserialize error: unknown field `x`, expected `gpu_ids`");
}

/* Many unknown ids: the message lists all of them, not as many as a fixed buffer held. */
static void test_zeusd_stream_many_unknown_ids(void **state)
{
    struct fixture *f = *state;
    struct zd_reply r;
    char path[2048] = "/gpu/stream_power?gpu_ids=", want[2048] = "{\"error\":\"Unknown GPU indices: [";

    start(f, NULL, NULL);
    for (int i = 100; i < 300; i++) {
        snprintf(path + strlen(path), sizeof path - strlen(path), "%s%d", i > 100 ? "," : "", i);
        snprintf(want + strlen(want), sizeof want - strlen(want), "%s%d", i > 100 ? ", " : "", i);
    }
    snprintf(want + strlen(want), sizeof want - strlen(want), "]. Available: [0, 1, 2]\"}");
    zd_get(&f->d, path, &r);
    assert_reply(&r, 400, want);
}

/* A client that subscribes and never reads does not stall anyone else. */
static void test_zeusd_silent_stream_client_does_not_stall(void **state)
{
    struct fixture *f = *state;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    const char req[] = "GET /gpu/stream_power HTTP/1.1\r\nHost: localhost\r\n\r\n";
    int fds[8];
    struct zd_reply r;
    struct sse s;

    start(f, "--gpu-power-poll-hz", "200");
    snprintf(a.sun_path, sizeof a.sun_path, "%s", f->d.sock);
    for (int i = 0; i < 8; i++) {
        int buf = 4096;
        fds[i] = socket(AF_UNIX, SOCK_STREAM, 0);
        setsockopt(fds[i], SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
        assert_int_equal(connect(fds[i], (struct sockaddr *)&a, sizeof a), 0);
        assert_int_equal(write(fds[i], req, sizeof req - 1), (ssize_t)(sizeof req - 1));
    }
    zd_sleep_ms(1500); /* their buffers fill up */
    for (int i = 0; i < 20; i++) {
        zd_get(&f->d, "/gpu/get_power_limit?gpu_ids=0", &r);
        assert_reply(&r, 200, "{\"0\":{\"power_limit_mw\":700000}}");
    }
    read_sse(&f->d, "/gpu/stream_power?gpu_ids=0", 2000, 3, &s);
    assert_int_equal(s.events, 3);
    for (int i = 0; i < 8; i++)
        close(fds[i]);
    zd_get(&f->d, "/discover", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(zd_proc_stop(&f->d), 0); /* and it still shuts down cleanly */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_zeusd_stale_socket_is_replaced),
        T(test_zeusd_live_socket_is_not_stolen),
        T(test_zeusd_regular_file_is_not_removed),
        T(test_zeusd_root_groups_need_root),
        T(test_zeusd_gpu_read_runs_without_root),
        T(test_zeusd_bad_flags_and_empty_key),
        T(test_zeusd_gpu_stream_framing),
        T(test_zeusd_gpu_stream_rate_and_merge),
        T(test_zeusd_cpu_stream_shape),
        T(test_zeusd_stream_unknown_ids),
        T(test_zeusd_stream_many_unknown_ids),
        T(test_zeusd_silent_stream_client_does_not_stall),
#undef T
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return cmocka_run_group_tests_name("zeusd_serve", tests, NULL, NULL);
}
