/*
 * test_zeusd_hostile.c - zeusd under clients that try to hold it: a request deadline closes
 * connections that trickle their headers, one client address cannot take more than its share
 * of connections while another still gets answered, root keeps its reserve on the Unix
 * socket when an unprivileged user takes every other slot. Deadlines are lowered with --request-deadline-ms, so every
 * case ends within seconds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>

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
    struct rlimit rl;

    f->dir = zt_mkdtemp();
    chmod(f->dir, 0755); /* an unprivileged client must reach the socket below it */
    f->tree = zt_sysfs_create();
    zt_sysfs_add_package(f->tree, 0, 1000000, 262143328850ull);
    zt_sysfs_use(f->tree);
    setenv("ZEUS_FAKE_NVML", "gpus=1", 1);
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max; /* zeusd inherits it: 512 connections need descriptors */
        setrlimit(RLIMIT_NOFILE, &rl);
    }
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

static void start(struct fixture *f, int tcp, const char *a1, const char *a2, const char *a3,
                  const char *a4)
{
    zd_proc_spawn(&f->d, f->dir, tcp, a1, a2, a3, a4, NULL);
    if (zd_proc_ready_or_report(&f->d) != 0)
        fail();
}

/* ---- Raw sockets -------------------------------------------------------------------------- */

static int tcp_port(const struct zd_proc *p)
{
    const char *colon = strrchr(p->base, ':');
    return colon != NULL ? atoi(colon + 1) : -1;
}

/* Connect to the daemon on TCP from source address `from` ("127.0.0.2"); -1 on failure. */
static int connect_tcp(const struct zd_proc *p, const char *from)
{
    struct sockaddr_in src = {.sin_family = AF_INET}, dst = {.sin_family = AF_INET};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    inet_pton(AF_INET, from, &src.sin_addr);
    inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
    dst.sin_port = htons((uint16_t)tcp_port(p));
    if (fd >= 0 && (bind(fd, (struct sockaddr *)&src, sizeof src) != 0 ||
                    connect(fd, (struct sockaddr *)&dst, sizeof dst) != 0)) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static int connect_uds(const struct zd_proc *p)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    snprintf(a.sun_path, sizeof a.sun_path, "%s", p->sock);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* 1 while the server keeps `fd` open: nothing to read, no hang-up, within `wait_ms`. */
static int still_open(int fd, int wait_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char c;

    if (poll(&p, 1, wait_ms) == 0)
        return 1;
    return recv(fd, &c, 1, MSG_DONTWAIT) > 0; /* data would be an answer: also not closed */
}

/*
 * How many of fds[0..n) the server keeps open, once it has caught up: refusals can lag behind
 * the connects (a slow build accepts slowly), and only ever lower the count, so wait up to
 * 10 s for it to reach `expected`.
 */
static int settled_open_count(const int *fds, int n, int expected)
{
    int open_now = n + 1;

    for (int tries = 0; tries < 50 && open_now != expected; tries++) {
        zd_sleep_ms(200);
        open_now = 0;
        for (int i = 0; i < n; i++)
            open_now += fds[i] >= 0 && still_open(fds[i], 0);
    }
    return open_now;
}

/* Send a whole request on `fd` and return what came back (NUL-terminated, up to `len`). */
static size_t exchange(int fd, const char *request, char *buf, size_t len)
{
    size_t got = 0;
    struct pollfd p = {.fd = fd, .events = POLLIN};

    assert_int_equal(write(fd, request, strlen(request)), (ssize_t)strlen(request));
    while (got + 1 < len && poll(&p, 1, 5000) == 1) {
        ssize_t n = read(fd, buf + got, len - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    buf[got] = '\0';
    return got;
}

/* ---- Tests -------------------------------------------------------------------------------- */

#define SLOW 20
#define PER_CLIENT 8

/* Clients that trickle headers are cut at the deadline; one address holds at most its share. */
static void test_zeusd_trickling_clients_cannot_hold_it(void **state)
{
    struct fixture *f = *state;
    int fds[SLOW], open_now = 0;
    char buf[4096];
    int probe;

    start(f, 1, "--request-deadline-ms", "2000", "--max-connections-per-client", "8");
    for (int i = 0; i < SLOW; i++) {
        fds[i] = connect_tcp(&f->d, "127.0.0.1");
        assert_true(fds[i] >= 0);
        assert_int_equal(write(fds[i], "GET /discover HTTP/1.1\r\n", 24), 24);
    }
    open_now = settled_open_count(fds, SLOW, PER_CLIENT);
    print_message("%d of %d trickling connections from one address held\n", open_now, SLOW);
    assert_int_equal(open_now, PER_CLIENT);

    /* another client is answered while they hold their share */
    probe = connect_tcp(&f->d, "127.0.0.2");
    assert_true(probe >= 0);
    assert_true(exchange(probe, "GET /time HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                         buf, sizeof buf) > 0);
    assert_non_null(strstr(buf, "HTTP/1.1 200"));
    close(probe);

    /* a byte every 200 ms keeps an idle timeout alive, not the deadline */
    for (int t = 0; t < 20; t++) {
        for (int i = 0; i < SLOW; i++)
            (void)!write(fds[i], "X", 1);
        zd_sleep_ms(200);
    }
    open_now = 0;
    for (int i = 0; i < SLOW; i++) {
        open_now += still_open(fds[i], 0);
        close(fds[i]);
    }
    assert_int_equal(open_now, 0);

    /* and the address that misbehaved is served again */
    probe = connect_tcp(&f->d, "127.0.0.1");
    assert_true(exchange(probe, "GET /time HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                         buf, sizeof buf) > 0);
    assert_non_null(strstr(buf, "HTTP/1.1 200"));
    close(probe);
}

#define GREEDY 505

/* An unprivileged user that takes every slot it can leaves root's reserve free. */
static void test_zeusd_root_keeps_its_reserve_on_the_unix_socket(void **state)
{
    struct fixture *f = *state;
    int ready[2], done[2], held = -1;
    struct zd_reply r;
    pid_t child;

    if (geteuid() != 0)
        skip(); /* needs root: to be root, and to become another user */
    start(f, 0, "--request-deadline-ms", "20000", "--max-connections-per-client", "496");
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(done), 0);
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        static int fds[GREEDY];
        int n = 0;
        char c;

        close(done[1]); /* or the read below never sees the parent's close */
        close(ready[0]);
        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(1);
        for (int i = 0; i < GREEDY; i++)
            if ((fds[i] = connect_uds(&f->d)) >= 0 && write(fds[i], "GET /", 5) != 5)
                fds[i] = -1;
        n = settled_open_count(fds, GREEDY, 512 - 16);
        (void)!write(ready[1], &n, sizeof n);
        (void)!read(done[0], &c, 1); /* hold them until the parent has probed */
        _exit(0);
    }
    assert_int_equal(read(ready[0], &held, sizeof held), (ssize_t)sizeof held);
    print_message("uid 65534 holds %d of %d connections it opened\n", held, GREEDY);
    assert_int_equal(held, 512 - 16);
    zd_get(&f->d, "/time", &r); /* root, through the reserve */
    assert_int_equal(r.status, 200);
    close(done[1]);
    waitpid(child, NULL, 0);
    close(ready[0]);
    close(ready[1]);
    close(done[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_zeusd_trickling_clients_cannot_hold_it, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_zeusd_root_keeps_its_reserve_on_the_unix_socket,
                                        setup, teardown),
    };
    signal(SIGPIPE, SIG_IGN); /* writes to connections the daemon cut */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return cmocka_run_group_tests_name("zeusd_hostile", tests, NULL, NULL);
}
