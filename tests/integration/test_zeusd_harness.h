/*
 * test_zeusd_harness.h - Shared by the zeusd integration tests: start a real `zeusd serve`
 * ($ZEUS_BUILD_DIR/zeusd) on a Unix socket in a temporary folder or on 127.0.0.1 with an
 * ephemeral port, talk HTTP to it with libcurl, and stop it (SIGTERM, bounded wait).
 *
 * Included by each test_zeusd_*.c (static functions; each test is its own executable).
 * Only loopback addresses; every wait is bounded.
 */
#ifndef ZEUS_TEST_ZEUSD_HARNESS_H
#define ZEUS_TEST_ZEUSD_HARNESS_H

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

struct zd_proc {
    pid_t pid;
    char dir[80];
    char sock[100];
    char log[300];
    char base[128];  /* http://localhost or http://127.0.0.1:PORT */
    int tcp;
    int exit_status; /* after zd_proc_stop / zd_proc_wait_exit */
};

/* When >= 0, the spawned daemon drops to this uid/gid before exec (tests of the root check). */
static int zd_spawn_uid = -1;

struct zd_reply {
    long status;
    char body[65536];
    size_t len;
    char content_type[128];
    char www_authenticate[128];
};

static __attribute__((unused)) void zd_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static __attribute__((unused)) char *zd_read_log(const struct zd_proc *p)
{
    FILE *f = fopen(p->log, "r");
    char *buf = calloc(1, 1 << 20);
    if (f != NULL && buf != NULL) {
        size_t n = fread(buf, 1, (1 << 20) - 1, f);
        buf[n] = '\0';
    }
    if (f != NULL)
        fclose(f);
    return buf;
}

/* Copy `src` into folder `dir` under its own name, mode 0755; 0 or -1. */
static __attribute__((unused)) int zd_copy_into(const char *src, const char *dir)
{
    char path[1024], buf[65536], *name = strdup(src);
    int in = open(src, O_RDONLY), out = -1, rc = -1;
    ssize_t n = -1;

    snprintf(path, sizeof path, "%s/%s", dir, basename(name));
    free(name);
    if (in >= 0)
        out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    while (out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n)
            break;
    if (out >= 0 && n == 0)
        rc = 0;
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    return rc;
}

/*
 * A process that drops to another uid cannot reach a build folder inside a folder only root
 * may enter (a checkout in a mktemp -d folder, mode 0700). Copy what it runs (zeusd, libzeus,
 * the fake NVML) into `dir`/unpriv, which the tests make world-readable, and point `exe` at
 * the copy; the child then finds the libraries through LD_LIBRARY_PATH (zeusd's RUNPATH is
 * the unreachable build folder) and ZEUS_NVML_LIBRARY.
 */
static __attribute__((unused)) void zd_stage_unprivileged(const char *dir, const char *build, char *exe, size_t size)
{
    char stage[400], pattern[600];
    const char *nvml = getenv("ZEUS_NVML_LIBRARY");
    glob_t g;

    snprintf(stage, sizeof stage, "%s/unpriv", dir);
    mkdir(stage, 0755);
    chmod(stage, 0755);
    snprintf(pattern, sizeof pattern, "%s/libzeus.so*", build);
    if (zd_copy_into(exe, stage) != 0 || (nvml != NULL && zd_copy_into(nvml, stage) != 0))
        fprintf(stderr, "zeusd harness: cannot stage %s for uid %d\n", exe, zd_spawn_uid);
    if (glob(pattern, 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++)
            zd_copy_into(g.gl_pathv[i], stage);
        globfree(&g);
    }
    snprintf(exe, size, "%s/zeusd", stage);
}

/* In the child, after staging: find the staged libraries first. */
static __attribute__((unused)) void zd_use_staged(const char *exe)
{
    char stage[600], nvml[700], *copy = strdup(exe);
    const char *real_nvml = getenv("ZEUS_NVML_LIBRARY");

    snprintf(stage, sizeof stage, "%s", dirname(copy));
    free(copy);
    setenv("LD_LIBRARY_PATH", stage, 1);
    if (real_nvml != NULL) {
        char *name = strdup(real_nvml);
        snprintf(nvml, sizeof nvml, "%s/%s", stage, basename(name));
        free(name);
        setenv("ZEUS_NVML_LIBRARY", nvml, 1);
    }
}

/* Spawn zeusd serve with the NULL-terminated extra arguments; do not wait for readiness. */
static __attribute__((unused)) void zd_proc_spawn(struct zd_proc *p, const char *dir, int tcp, const char *arg, ...)
{
    const char *build = getenv("ZEUS_BUILD_DIR");
    char exe[512];
    const char *argv[48];
    int argc = 0;
    va_list ap;

    memset(p, 0, sizeof *p);
    snprintf(p->dir, sizeof p->dir, "%s", dir);
    snprintf(p->sock, sizeof p->sock, "%s/run/zeusd.sock", dir);
    snprintf(p->log, sizeof p->log, "%s/zeusd-%d.log", dir, rand());
    snprintf(exe, sizeof exe, "%s/zeusd", build != NULL ? build : ".");
    if (zd_spawn_uid >= 0)
        zd_stage_unprivileged(dir, build != NULL ? build : ".", exe, sizeof exe);
    p->tcp = tcp;
    argv[argc++] = exe;
    argv[argc++] = "serve";
    if (tcp) {
        argv[argc++] = "--mode";
        argv[argc++] = "tcp";
        argv[argc++] = "--tcp-bind-address";
        argv[argc++] = "127.0.0.1:0";
    } else {
        argv[argc++] = "--socket-path";
        argv[argc++] = p->sock;
    }
    va_start(ap, arg);
    for (const char *a = arg; a != NULL && argc < 46; a = va_arg(ap, const char *))
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    fflush(NULL);
    p->pid = fork();
    if (p->pid == 0) {
        FILE *out = freopen(p->log, "w", stdout);
        (void)out;
        dup2(1, 2);
        if (zd_spawn_uid >= 0)
            zd_use_staged(exe);
        if (zd_spawn_uid >= 0 && (setgid((gid_t)zd_spawn_uid) != 0 ||
                                  setuid((uid_t)zd_spawn_uid) != 0))
            _exit(126);
        execv(exe, (char *const *)argv);
        _exit(127);
    }
}

/* Wait until it serves (socket connects / port logged). 0, or -1 if it exited or timed out. */
static __attribute__((unused)) int zd_proc_ready(struct zd_proc *p, double timeout_s)
{
    for (int i = 0; i < (int)(timeout_s * 100); i++) {
        int status;
        if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
            p->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            p->pid = 0;
            return -1;
        }
        if (p->tcp) {
            const char *mark = "listening on tcp:127.0.0.1:";
            char *log = zd_read_log(p), *at = log ? strstr(log, mark) : NULL;
            int port = at ? atoi(at + strlen(mark)) : 0;
            int serving = log != NULL && strstr(log, " serving ") != NULL;
            free(log);
            if (port > 0 && serving) {
                snprintf(p->base, sizeof p->base, "http://127.0.0.1:%d", port);
                return 0;
            }
        } else {
            struct sockaddr_un a = {.sun_family = AF_UNIX};
            int fd = socket(AF_UNIX, SOCK_STREAM, 0), ok;
            snprintf(a.sun_path, sizeof a.sun_path, "%s", p->sock);
            ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
            if (fd >= 0)
                close(fd);
            if (ok) {
                snprintf(p->base, sizeof p->base, "http://localhost");
                return 0;
            }
        }
        zd_sleep_ms(10);
    }
    return -1;
}

/* Wait for the process to exit by itself (for startup failures); its status, or -1. */
static __attribute__((unused)) int zd_proc_wait_exit(struct zd_proc *p, double timeout_s)
{
    for (int i = 0; p->pid > 0 && i < (int)(timeout_s * 100); i++) {
        int status;
        if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
            p->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            p->pid = 0;
            return p->exit_status;
        }
        zd_sleep_ms(10);
    }
    return p->pid == 0 ? p->exit_status : -1;
}

/* SIGTERM, wait up to 20 s (then SIGKILL). Returns the exit status (0 for a clean stop). */
static __attribute__((unused)) int zd_proc_stop(struct zd_proc *p)
{
    if (p->pid <= 0)
        return p->exit_status;
    kill(p->pid, SIGTERM);
    if (zd_proc_wait_exit(p, 20) < 0) {
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
        p->pid = 0;
        p->exit_status = 137;
    }
    return p->exit_status;
}

/* zd_proc_ready within 20 s; when it fails, the daemon's log on stderr and the daemon
 * stopped, so that no test leaves one behind. 0 or -1. */
static __attribute__((unused)) int zd_proc_ready_or_report(struct zd_proc *p)
{
    char *log;

    if (zd_proc_ready(p, 20) == 0)
        return 0;
    log = zd_read_log(p);
    fprintf(stderr, "zeusd did not start:\n%s\n", log != NULL ? log : "");
    free(log);
    zd_proc_stop(p);
    return -1;
}

/* ---- HTTP ----------------------------------------------------------------------------------- */

static size_t zd_on_body(char *ptr, size_t size, size_t n, void *user)
{
    struct zd_reply *r = user;
    size_t add = size * n, room = sizeof r->body - 1 - r->len;
    memcpy(r->body + r->len, ptr, add < room ? add : room);
    r->len += add < room ? add : room;
    r->body[r->len] = '\0';
    return add;
}

static void zd_trim_header(char *dst, size_t len, const char *src, size_t n)
{
    while (n > 0 && (src[n - 1] == '\r' || src[n - 1] == '\n'))
        n--;
    snprintf(dst, len, "%.*s", (int)n, src);
}

static size_t zd_on_header(char *ptr, size_t size, size_t n, void *user)
{
    struct zd_reply *r = user;
    size_t len = size * n;
    if (len > 14 && strncasecmp(ptr, "Content-Type: ", 14) == 0)
        zd_trim_header(r->content_type, sizeof r->content_type, ptr + 14, len - 14);
    if (len > 18 && strncasecmp(ptr, "WWW-Authenticate: ", 18) == 0)
        zd_trim_header(r->www_authenticate, sizeof r->www_authenticate, ptr + 18, len - 18);
    return len;
}

/* One request; `token` NULL for none, `body` NULL for none. Returns the curl code. */
static __attribute__((unused)) int zd_http_full(const struct zd_proc *p, const char *method, const char *path,
                        const char *auth_header, const char *body, struct zd_reply *r)
{
    char url[4096];
    struct curl_slist *headers = NULL;
    CURL *h = curl_easy_init();
    CURLcode rc;

    memset(r, 0, sizeof *r);
    snprintf(url, sizeof url, "%s%s", p->base, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    if (!p->tcp)
        curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, p->sock);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body != NULL ? body : "");
    } else if (body != NULL) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }
    if (auth_header != NULL)
        headers = curl_slist_append(headers, auth_header);
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, zd_on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, zd_on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_cleanup(h);
    curl_slist_free_all(headers);
    return (int)rc;
}

static __attribute__((unused)) void zd_get(const struct zd_proc *p, const char *path, struct zd_reply *r)
{
    assert_int_equal(zd_http_full(p, "GET", path, NULL, NULL, r), 0);
}

static __attribute__((unused)) void zd_post(const struct zd_proc *p, const char *path, struct zd_reply *r)
{
    assert_int_equal(zd_http_full(p, "POST", path, NULL, NULL, r), 0);
}

/* Assert status and exact body. */
#define assert_reply(r, code, text)                \
    do {                                           \
        if ((r)->status != (code) || strcmp((r)->body, (text)) != 0) \
            print_error("got %ld '%s'\n", (r)->status, (r)->body); \
        assert_int_equal((r)->status, (code));     \
        assert_string_equal((r)->body, (text));    \
    } while (0)

#endif /* ZEUS_TEST_ZEUSD_HARNESS_H */
