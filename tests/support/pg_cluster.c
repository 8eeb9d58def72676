/*
 * pg_cluster.c - Starts and stops the throwaway PostgreSQL server of pg_cluster.h: finds the
 * binaries, runs initdb and pg_ctl as nobody with a deadline, picks a free port, waits for the
 * server to answer, creates the test database, and cleans up at exit or on a fatal signal.
 */
#include "pg_cluster.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "test_support.h"

#define NOBODY 65534
#define MAX_CLUSTERS 8

/* Clusters still running, stopped at exit if the test did not (a failed assert). */
static zt_pg *live[MAX_CLUSTERS];

static void stop_all_at_exit(void)
{
    for (int i = 0; i < MAX_CLUSTERS; i++)
        if (live[i])
            zt_pg_stop(live[i]);
}

/* A test killed by a signal runs no atexit handler; its servers would run on. Here only
 * async-signal-safe calls: SIGQUIT to each postmaster (PostgreSQL's immediate shutdown), a
 * forked shell that removes the folder once the server is gone, then the signal's default. */
static void stop_all_on_signal(int sig)
{
    for (int i = 0; i < MAX_CLUSTERS; i++) {
        zt_pg *pg = live[i];
        if (!pg)
            continue;
        if (pg->running && pg->postmaster_pid > 0)
            kill(pg->postmaster_pid, SIGQUIT);
        if (pg->rm_cmd[0] && fork() == 0) {
            execl("/bin/sh", "sh", "-c", pg->rm_cmd, (char *)NULL);
            _exit(127);
        }
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_handlers(void)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGABRT, SIGSEGV};
    atexit(stop_all_at_exit);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction old;
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_DFL)
            signal(sigs[i], stop_all_on_signal); /* a test's own handler is left alone */
    }
}

static void track(zt_pg *pg, int on)
{
    static int installed;
    if (!installed) {
        install_handlers();
        installed = 1;
    }
    for (int i = 0; i < MAX_CLUSTERS; i++) {
        if (on && !live[i]) {
            live[i] = pg;
            return;
        }
        if (!on && live[i] == pg)
            live[i] = NULL;
    }
}

/* The newest /usr/lib/postgresql/<version>/bin that has initdb and pg_ctl. */
static int find_bindir(zt_pg *pg)
{
    glob_t g;
    if (glob("/usr/lib/postgresql/*/bin/initdb", 0, NULL, &g) != 0)
        return -1;
    int found = -1;
    for (size_t i = g.gl_pathc; i-- > 0 && found < 0;) {
        char ctl[300];
        snprintf(pg->bindir, sizeof pg->bindir, "%s", g.gl_pathv[i]);
        *strrchr(pg->bindir, '/') = '\0';
        snprintf(ctl, sizeof ctl, "%s/pg_ctl", pg->bindir);
        if (access(ctl, X_OK) == 0)
            found = 0;
    }
    globfree(&g);
    return found;
}

/* Run a PostgreSQL program as nobody (when we are root), output to `log`, killed after
 * `limit_s`. Returns its exit status, or -1 when it could not run or ran too long. */
static int run_as_nobody(char *const argv[], const char *log, int limit_s)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (geteuid() == 0 &&
            (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0))
            _exit(126);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644); /* nobody's, after setuid */
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        setenv("LC_ALL", "C", 1);
        execv(argv[0], argv);
        _exit(127);
    }
    for (int waited_ms = 0;; waited_ms += 20) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        if (r < 0 || waited_ms >= limit_s * 1000) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -1;
        }
        usleep(20 * 1000);
    }
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static int fail(char *why, size_t n, zt_pg *pg, const char *what)
{
    snprintf(why, n, "PostgreSQL test cluster: %s (see %s while it exists)", what, pg->dir);
    return ZT_PG_ERROR;
}

static int init_cluster(zt_pg *pg, char *why, size_t n)
{
    char initdb[300], data[300], log[300];
    snprintf(initdb, sizeof initdb, "%s/initdb", pg->bindir);
    snprintf(data, sizeof data, "%s/data", pg->dir);
    snprintf(log, sizeof log, "%s/initdb.log", pg->dir);
    char *argv[] = {initdb, "-D", data, "-U", "nobody", "-A", "trust", "-E", "UTF8",
                    "--locale=C", "--no-sync", NULL};
    if (run_as_nobody(argv, log, 60) != 0)
        return fail(why, n, pg, "initdb failed");
    return ZT_PG_OK;
}

static int start_server(zt_pg *pg, char *why, size_t n)
{
    char ctl[300], data[300], log[300], ctl_log[300], opts[512];
    snprintf(ctl, sizeof ctl, "%s/pg_ctl", pg->bindir);
    snprintf(data, sizeof data, "%s/data", pg->dir);
    snprintf(log, sizeof log, "%s/server.log", pg->dir);
    snprintf(opts, sizeof opts, "-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off "
             "-c synchronous_commit=off -c full_page_writes=off", pg->port, pg->dir);
    char *argv[] = {ctl, "-D", data, "-l", log, "-o", opts, "-w", "-t", "30", "start", NULL};
    snprintf(ctl_log, sizeof ctl_log, "%s/pg_ctl.log", pg->dir);
    if (run_as_nobody(argv, ctl_log, 40) != 0)
        return fail(why, n, pg, "pg_ctl start failed");
    pg->running = 1;
    char pidfile[340];
    snprintf(pidfile, sizeof pidfile, "%s/postmaster.pid", data);
    char *text = zt_read_file(pidfile); /* first line: the postmaster's pid */
    pg->postmaster_pid = text ? atoi(text) : 0;
    free(text);
    return ZT_PG_OK;
}

/* Wait (bounded) for the server to take connections, then create the test database. */
static int create_database(zt_pg *pg, char *why, size_t n)
{
    char admin[300];
    snprintf(admin, sizeof admin, "postgresql://nobody@127.0.0.1:%d/postgres", pg->port);
    for (int i = 0; PQping(admin) != PQPING_OK; i++) {
        if (i >= 300)
            return fail(why, n, pg, "server did not accept connections within 30 s");
        usleep(100 * 1000);
    }
    PGconn *c = PQconnectdb(admin);
    PGresult *r = PQexec(c, "CREATE DATABASE zeus_bso_test");
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        snprintf(why, n, "PostgreSQL test cluster: CREATE DATABASE: %s",
                 PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    if (!ok)
        return ZT_PG_ERROR;
    snprintf(pg->url, sizeof pg->url, "postgresql://nobody@127.0.0.1:%d/zeus_bso_test",
             pg->port);
    return ZT_PG_OK;
}

int zt_pg_start(zt_pg *pg, char *why, size_t n)
{
    memset(pg, 0, sizeof *pg);
    if (find_bindir(pg) != 0) {
        snprintf(why, n, "PostgreSQL server programs not found (/usr/lib/postgresql/*/bin/"
                 "initdb): install the Debian package postgresql");
        return ZT_PG_SKIP;
    }
    char tmpl[] = "/tmp/zeus-pg-XXXXXX";
    if (!mkdtemp(tmpl)) {
        snprintf(why, n, "mkdtemp: %s", strerror(errno));
        return ZT_PG_ERROR;
    }
    snprintf(pg->dir, sizeof pg->dir, "%s", tmpl);
    /* mkdtemp's name has no quote or space; wait for the server's files to be closed */
    snprintf(pg->rm_cmd, sizeof pg->rm_cmd, "sleep 1; rm -rf '%s'", pg->dir);
    track(pg, 1);
    if (geteuid() == 0 && chown(pg->dir, NOBODY, NOBODY) != 0) {
        snprintf(why, n, "chown %s to nobody: %s", pg->dir, strerror(errno));
        zt_pg_stop(pg);
        return ZT_PG_ERROR;
    }
    pg->port = free_port();
    int st = pg->port > 0 ? init_cluster(pg, why, n) : fail(why, n, pg, "no free port");
    if (st == ZT_PG_OK)
        st = start_server(pg, why, n);
    if (st == ZT_PG_OK)
        st = create_database(pg, why, n);
    if (st != ZT_PG_OK) {
        char *log = NULL;
        char path[300];
        snprintf(path, sizeof path, "%s/server.log", pg->dir);
        log = zt_read_file(path);
        if (log)
            fprintf(stderr, "%s\n--- %s ---\n%s\n", why, path, log);
        free(log);
        zt_pg_stop(pg);
    }
    return st;
}

void zt_pg_stop(zt_pg *pg)
{
    if (pg->running) {
        char ctl[300], data[300], log[300];
        snprintf(ctl, sizeof ctl, "%s/pg_ctl", pg->bindir);
        snprintf(data, sizeof data, "%s/data", pg->dir);
        snprintf(log, sizeof log, "%s/stop.log", pg->dir);
        char *argv[] = {ctl, "-D", data, "-m", "immediate", "-w", "-t", "20", "stop", NULL};
        run_as_nobody(argv, log, 30);
        pg->running = 0;
    }
    if (pg->dir[0]) {
        zt_rmtree(pg->dir);
        pg->dir[0] = '\0';
    }
    track(pg, 0);
}
