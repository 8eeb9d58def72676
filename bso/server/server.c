/*
 * server.c - `zeus bso-server`: options, the database's first open (creating its tables),
 * the listening socket, the HTTP server, and a clean stop on SIGINT/SIGTERM.
 *
 * Options follow Zeus's server settings (zeus/optimizer/batch_size/server/config.py), taken
 * from the environment there: --database or ZEUS_BSO_DATABASE_URL (default
 * sqlite:///zeus-bso.db in the working folder, where Zeus requires one), --log-level or
 * ZEUS_BSO_LOG_LEVEL (NOTSET, DEBUG, INFO, WARN, WARNING, ERROR, CRITICAL; anything else
 * means INFO, as in Zeus), and --listen ADDR:PORT (default 127.0.0.1:8000, uvicorn's).
 *
 * The database is opened once here before the port is, so a database that cannot be used
 * (a corrupt file, a newer schema, PostgreSQL unreachable) stops the start with its reason
 * rather than answering 500 to every request. The listening socket is bound here and handed
 * to libmicrohttpd: a port in use is reported at once, and port 0 works (the chosen port is
 * printed on stdout, which the tests rely on).
 *
 * Signals: SIGINT, SIGTERM and SIGHUP are blocked before any thread starts and taken with
 * sigwait(); the HTTP server then stops, joining its threads. A SIGKILL loses nothing that
 * was answered: every answer follows its transaction's commit.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "bso_server.h"
#include "tcp_listen.h"

#define DEFAULT_LISTEN "127.0.0.1:8000"
#define DEFAULT_DATABASE "sqlite:///zeus-bso.db"
#define LISTEN_BACKLOG 1024

static const char usage[] =
    "NAME\n"
    "    zeus bso-server - Zeus's batch size optimizer server\n"
    "\n"
    "SYNOPSIS\n"
    "    zeus bso-server [--listen ADDR:PORT] [--database URL] [--log-level LEVEL]\n"
    "\n"
    "DESCRIPTION\n"
    "    Serves Zeus's batch size optimizer over HTTP, as Zeus's Python server does, to\n"
    "    BatchSizeOptimizer clients: POST /jobs, GET /jobs/batch_size?job_id=, POST /report,\n"
    "    PATCH /trials, DELETE /jobs?job_id=. Jobs, trials and the bandit's state are kept in\n"
    "    a database (Zeus's tables, created on first start); every request is one transaction.\n"
    "\n"
    "OPTIONS\n"
    "    --listen ADDR:PORT   where to serve (default 127.0.0.1:8000; port 0: any free port)\n"
    "    --database URL       sqlite:///relative.db, sqlite:////absolute.db, or\n"
    "                         postgresql://user:pass@host:port/db (default: the environment's\n"
    "                         ZEUS_BSO_DATABASE_URL, else sqlite:///zeus-bso.db)\n"
    "    --log-level LEVEL    NOTSET, DEBUG, INFO, WARN, ERROR or CRITICAL (default: the\n"
    "                         environment's ZEUS_BSO_LOG_LEVEL, else INFO); at INFO and below\n"
    "                         every request is logged on stderr\n"
    "    --help               this text\n";

struct options {
    const char *listen, *database, *log_level;
};

/* ---- Options ------------------------------------------------------------------------------ */

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "zeus bso-server: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(see zeus bso-server --help)\n");
    return 2;
}

/* Returns 0, -1 for --help, or 2 on a usage error (reported). */
static int parse_options(int argc, char **argv, struct options *o)
{
    static const char *const names[] = {"--listen", "--database", "--log-level"};
    const char **slots[] = {&o->listen, &o->database, &o->log_level};

    o->listen = DEFAULT_LISTEN;
    o->database = getenv("ZEUS_BSO_DATABASE_URL");
    if (o->database == NULL || o->database[0] == '\0')
        o->database = DEFAULT_DATABASE;
    o->log_level = getenv("ZEUS_BSO_LOG_LEVEL");
    for (int i = 1; i < argc; i++) {
        int k = -1;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return -1;
        for (int n = 0; n < 3; n++) {
            size_t len = strlen(names[n]);
            if (strncmp(argv[i], names[n], len) == 0 &&
                (argv[i][len] == '\0' || argv[i][len] == '='))
                k = n;
        }
        if (k < 0)
            return usage_error("unknown option '%s'", argv[i]);
        if (strchr(argv[i], '=') != NULL) {
            *slots[k] = strchr(argv[i], '=') + 1;
        } else {
            if (i + 1 >= argc)
                return usage_error("%s needs a value", names[k]);
            *slots[k] = argv[++i];
        }
    }
    return 0;
}

/* Zeus's levels; INFO for anything else. Requests are logged at INFO and below. */
static bool logs_requests(const char *level)
{
    static const char *const quiet[] = {"WARN", "WARNING", "ERROR", "CRITICAL"};

    for (size_t i = 0; level != NULL && i < sizeof quiet / sizeof quiet[0]; i++)
        if (strcasecmp(level, quiet[i]) == 0)
            return false;
    return true;
}

/* ---- The listening socket ----------------------------------------------------------------- */

/* Bind and listen (net/tcp_listen.c); the socket, or -1 after saying why (*code: 2
 * malformed, 1 unusable). */
static int open_listener(const char *text, int *code, char *shown, size_t shown_len)
{
    char why[512];
    int malformed;
    int fd = zeus_net_listen_tcp(text, LISTEN_BACKLOG, shown, shown_len, why, sizeof why,
                                 &malformed);

    if (fd >= 0)
        return fd;
    if (malformed) {
        *code = usage_error("--listen '%s': expected ADDR:PORT, such as 127.0.0.1:8000, :8000 "
                            "or [::1]:8000", text);
    } else {
        fprintf(stderr, "zeus bso-server: %s\n", why);
        *code = 1;
    }
    return -1;
}

/* ---- The command -------------------------------------------------------------------------- */

/* Open the database once: creates the tables, and refuses an unusable one with its reason. */
static int check_database(const char *url)
{
    char err[512] = "";
    bso_store *s = bso_store_open(url, err, sizeof err);

    if (s == NULL) {
        fprintf(stderr, "zeus bso-server: cannot use the database %s: %s\n", url,
                err[0] ? err : "unknown error");
        return -1;
    }
    bso_store_close(s);
    return 0;
}

int bso_server_main(int argc, char **argv)
{
    struct options o;
    char shown[300];
    sigset_t stop;
    bso_http *http;
    int code, fd, sig = 0;

    code = parse_options(argc, argv, &o);
    if (code < 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (code != 0)
        return code;

    /* Before any thread: every thread MHD starts inherits the mask. */
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN); /* a client that hangs up must not kill the server */

    {
        /* a malformed --listen is a usage error before anything is opened or created */
        char host[256], port[16];
        if (zeus_net_split_listen(o.listen, host, sizeof host, port, sizeof port) != 0)
            return usage_error("--listen '%s': expected ADDR:PORT, such as 127.0.0.1:8000, "
                               ":8000 or [::1]:8000", o.listen);
    }
    zeus_net_raise_fd_limit(); /* http.c may accept more connections than 1024 */
    if (check_database(o.database) != 0)
        return 1;
    bso_transact_configure(o.database);
    code = 1;
    fd = open_listener(o.listen, &code, shown, sizeof shown);
    if (fd < 0)
        return code;
    http = bso_http_start(fd, logs_requests(o.log_level)); /* takes fd in every case */
    if (http == NULL) {
        fprintf(stderr, "zeus bso-server: cannot start the HTTP server on %s\n", shown);
        return 1;
    }
    printf("zeus bso-server: serving http://%s (database %s)\n", shown, o.database);
    fflush(stdout);

    while (sigwait(&stop, &sig) != 0)
        ;
    fprintf(stderr, "zeus bso-server: stopping (signal %d)\n", sig);
    bso_http_stop(http);
    return 0;
}
