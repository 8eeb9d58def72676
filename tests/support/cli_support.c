/*
 * cli_support.c - Spawning the real `zeus` binary for the CLI integration tests (see
 * cli_support.h).
 *
 * Output goes into temporary files rather than pipes, so that a chatty command can never
 * block on a full pipe while the test waits for it to exit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli_support.h"
#include "test_support.h"

extern char **environ;

#define MAX_ARGS 32

const char *zt_env_path(const char *name)
{
    const char *path = getenv(name);

    if (path == NULL || *path == '\0')
        fail_msg("%s is not set (run the tests through ctest)", name);
    return path;
}

/* ---- Spawning ---------------------------------------------------------------------------- */

static void make_capture_file(char *path, size_t len, const char *what)
{
    int fd;

    snprintf(path, len, "/tmp/zeus-cli-%s-XXXXXX", what);
    fd = mkstemp(path);
    if (fd < 0)
        fail_msg("mkstemp: %s", strerror(errno));
    close(fd);
}

static void start_args(struct zt_cli *c, const char *first, va_list ap)
{
    char *argv[MAX_ARGS + 2];
    posix_spawn_file_actions_t fa;
    int argc = 0, rc;

    memset(c, 0, sizeof *c);
    argv[argc++] = (char *)zt_env_path("ZEUS_CLI");
    for (const char *a = first; a != NULL; a = va_arg(ap, const char *)) {
        assert_true(argc < MAX_ARGS);
        argv[argc++] = (char *)a;
    }
    argv[argc] = NULL;
    make_capture_file(c->out_path, sizeof c->out_path, "out");
    make_capture_file(c->err_path, sizeof c->err_path, "err");
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, c->out_path, O_WRONLY | O_TRUNC, 0);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, c->err_path, O_WRONLY | O_TRUNC, 0);
    rc = posix_spawn(&c->pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        fail_msg("cannot spawn %s: %s", argv[0], strerror(rc));
}

void zt_cli_start(struct zt_cli *c, const char *arg, ...)
{
    va_list ap;

    va_start(ap, arg);
    start_args(c, arg, ap);
    va_end(ap);
}

void zt_cli_run(struct zt_cli *c, const char *arg, ...)
{
    va_list ap;

    va_start(ap, arg);
    start_args(c, arg, ap);
    va_end(ap);
    zt_cli_finish(c, 60.0);
}

/* ---- Waiting ----------------------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void nap(void)
{
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

void zt_cli_finish(struct zt_cli *c, double timeout_s)
{
    double deadline = now_s() + timeout_s;
    int status;
    pid_t r;

    while ((r = waitpid(c->pid, &status, WNOHANG)) == 0 && now_s() < deadline)
        nap();
    if (r == 0) {
        kill(c->pid, SIGKILL);
        waitpid(c->pid, &status, 0);
        fail_msg("zeus did not exit within %.0f s", timeout_s);
    }
    assert_int_equal(r, c->pid);
    c->status = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
    c->out = zt_read_file(c->out_path);
    c->err = zt_read_file(c->err_path);
    assert_non_null(c->out);
    assert_non_null(c->err);
}

/* 1 when the capture file at `path` contains `text` so far. */
static int file_contains(const char *path, const char *text)
{
    char *content = zt_read_file(path);
    int found = content != NULL && strstr(content, text) != NULL;

    free(content);
    return found;
}

void zt_cli_wait_for_output(struct zt_cli *c, const char *text, double timeout_s)
{
    double deadline = now_s() + timeout_s;

    while (now_s() < deadline) {
        if (file_contains(c->out_path, text) || file_contains(c->err_path, text))
            return;
        nap();
    }
    fail_msg("zeus did not print '%s' within %.0f s", text, timeout_s);
}

void zt_cli_free(struct zt_cli *c)
{
    free(c->out);
    free(c->err);
    c->out = c->err = NULL;
    if (c->out_path[0] != '\0')
        unlink(c->out_path);
    if (c->err_path[0] != '\0')
        unlink(c->err_path);
}

int zt_cli_served_port(struct zt_cli *c, double timeout_s)
{
    static const char prefix[] = "http://127.0.0.1:";
    char *out;
    const char *p;
    int port;

    zt_cli_wait_for_output(c, "serving http://", timeout_s);
    out = zt_read_file(c->out_path);
    p = out ? strstr(out, prefix) : NULL;
    port = p ? atoi(p + strlen(prefix)) : -1;
    free(out);
    if (port <= 0)
        fail_msg("the server printed no http://127.0.0.1:PORT it serves on");
    return port;
}

void zt_cli_stop_server(struct zt_cli *c, const char *name)
{
    if (c->pid > 0 && kill(c->pid, 0) == 0) {
        kill(c->pid, SIGTERM);
        zt_cli_finish(c, 30);
        if (c->status != 0)
            fprintf(stderr, "%s stderr:\n%s\n", name, c->err ? c->err : "");
        assert_int_equal(c->status, 0);
    }
    zt_cli_free(c);
    c->pid = 0;
}
