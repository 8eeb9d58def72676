/*
 * server.c - `zeus pfo-server`: the settings, the listening socket, the HTTP server, the idle
 * cleanup thread, and a clean stop on SIGINT/SIGTERM.
 *
 * Settings come from the environment, as Zeus's PFOServerSettings reads them (pydantic
 * BaseSettings, prefix ZEUS_PFO_), and are checked before the port opens, as Zeus fails at
 * import:
 *
 *   ZEUS_PFO_SCHEDULER          PointSolution (default) or PointSolution3D
 *   ZEUS_PFO_SCHEDULER_ARGS     JSON object bound to the scheduler's arguments: exactly
 *                               {"solution_path": "/path/freqs_pipeline_00042.py"} (the file
 *                               itself is read when a job's ranks have all registered)
 *   ZEUS_PFO_LOG_LEVEL          DEBUG (default; every request and reply is logged on
 *                               stderr), NOTSET, INFO, WARNING, ERROR, CRITICAL (any case)
 *   ZEUS_PFO_DUMP_DATA          true (default) or false (pydantic's spellings: 1/0, yes/no,
 *                               on/off, t/f, y/n)
 *   ZEUS_PFO_DUMP_DIR           ./dump (default)
 *   ZEUS_PFO_MAX_JOB_IDLE_TIME  seconds, 604800 (one week) by default
 *
 * The cleanup runs every min(60 s, MAX_JOB_IDLE_TIME) (at least 1 s): Zeus checks every 60 s,
 * which with a short idle time would keep a job up to a minute longer than asked.
 *
 * --listen ADDR:PORT (default 127.0.0.1:8000, uvicorn's) is bound here; port 0 picks a free
 * port, printed on stdout as "serving http://ADDR:PORT", which the tests read.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "pfo_server.h"
#include "tcp_listen.h"

#define DEFAULT_LISTEN "127.0.0.1:8000"
#define LISTEN_BACKLOG 1024
#define CLEANUP_PERIOD_S 60

static const char usage[] =
    "NAME\n"
    "    zeus pfo-server - Perseus: Zeus's pipeline frequency optimizer server\n"
    "\n"
    "SYNOPSIS\n"
    "    ZEUS_PFO_SCHEDULER_ARGS='{\"solution_path\": \"freqs_pipeline_00042.py\"}' \\\n"
    "        zeus pfo-server [--listen ADDR:PORT]\n"
    "\n"
    "DESCRIPTION\n"
    "    Serves a frequency plan (a freqs_pipeline_%05d.py file of `zeus perseus plan` or\n"
    "    lowtime) to the ranks of pipeline-parallel training jobs, as Zeus's server does:\n"
    "    POST /register_job, POST /register_rank/{job_id}, GET /schedule/{job_id}?rank=R\n"
    "    (blocks until every rank asked), POST /result/{job_id}. Jobs are kept in memory.\n"
    "\n"
    "OPTIONS\n"
    "    --listen ADDR:PORT   where to serve (default 127.0.0.1:8000; port 0: any free port)\n"
    "    --help               this text\n"
    "\n"
    "ENVIRONMENT\n"
    "    ZEUS_PFO_SCHEDULER          PointSolution (default) or PointSolution3D\n"
    "    ZEUS_PFO_SCHEDULER_ARGS     {\"solution_path\": PATH} (required)\n"
    "    ZEUS_PFO_LOG_LEVEL          DEBUG (default: every request logged), INFO, WARNING, ...\n"
    "    ZEUS_PFO_DUMP_DATA          true (default) or false\n"
    "    ZEUS_PFO_DUMP_DIR           ./dump (default)\n"
    "    ZEUS_PFO_MAX_JOB_IDLE_TIME  seconds before an idle job is forgotten (604800)\n";

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop;
    long period_s;
} cleanup = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, CLEANUP_PERIOD_S};

/* ---- Settings ------------------------------------------------------------------------------ */

static int bad_setting(const char *name, const char *value, const char *why)
{
    fprintf(stderr, "zeus pfo-server: %s=%s: %s\n", name, value, why);
    return 2;
}

static int read_bool(const char *name, bool dflt, bool *out)
{
    static const char *const yes[] = {"1", "on", "t", "true", "y", "yes"};
    static const char *const no[] = {"0", "off", "f", "false", "n", "no"};
    const char *v = getenv(name);

    *out = dflt;
    if (v == NULL)
        return 0;
    for (size_t k = 0; k < 6; k++) {
        if (strcasecmp(v, yes[k]) == 0)
            return (*out = true), 0;
        if (strcasecmp(v, no[k]) == 0)
            return (*out = false), 0;
    }
    return bad_setting(name, v, "value could not be parsed to a boolean");
}

static int read_scheduler_args(pfo_settings *s)
{
    const char *name = "ZEUS_PFO_SCHEDULER_ARGS", *v = getenv(name);
    cJSON *root = cJSON_Parse(v != NULL ? v : "{}"), *path;
    int code = 0;

    if (root == NULL || !cJSON_IsObject(root)) {
        code = bad_setting(name, v, "not a JSON object");
        goto done;
    }
    for (const cJSON *c = root->child; c != NULL; c = c->next) {
        if (strcmp(c->string, "solution_path") != 0) {
            char why[300];
            snprintf(why, sizeof why, "Invalid scheduler args: got an unexpected keyword "
                     "argument '%.200s'", c->string);
            code = bad_setting(name, v, why);
            goto done;
        }
    }
    path = cJSON_GetObjectItemCaseSensitive(root, "solution_path");
    if (path == NULL || !cJSON_IsString(path) || path->valuestring[0] == '\0') {
        code = bad_setting(name, v ? v : "", path == NULL ?
                           "Invalid scheduler args: missing a required argument: "
                           "'solution_path' (the freqs_pipeline_%05d.py file to serve)" :
                           "solution_path must be a non-empty string");
        goto done;
    }
    s->solution_path = strdup(path->valuestring);
done:
    cJSON_Delete(root);
    return code;
}

static int read_log_level(pfo_settings *s)
{
    static const struct { const char *name; int level; } levels[] = {
        {"NOTSET", 0}, {"DEBUG", 10}, {"INFO", 20}, {"WARN", 30}, {"WARNING", 30},
        {"ERROR", 40}, {"FATAL", 50}, {"CRITICAL", 50}};
    const char *v = getenv("ZEUS_PFO_LOG_LEVEL");

    s->log_debug = true;
    if (v == NULL)
        return 0;
    for (size_t k = 0; k < sizeof levels / sizeof levels[0]; k++) {
        if (strcasecmp(v, levels[k].name) == 0) {
            s->log_debug = levels[k].level <= 10;
            return 0;
        }
    }
    return bad_setting("ZEUS_PFO_LOG_LEVEL", v, "Unknown level (NOTSET, DEBUG, INFO, WARNING, "
                       "ERROR or CRITICAL)");
}

static int read_settings(pfo_settings *s)
{
    const char *v;
    int code;

    memset(s, 0, sizeof *s);
    v = getenv("ZEUS_PFO_SCHEDULER");
    if (v == NULL || strcmp(v, "PointSolution") == 0)
        s->scheduler = PFO_POINT_SOLUTION;
    else if (strcmp(v, "PointSolution3D") == 0)
        s->scheduler = PFO_POINT_SOLUTION_3D;
    else
        return bad_setting("ZEUS_PFO_SCHEDULER", v, "no such scheduler (PointSolution or "
                           "PointSolution3D)");
    if ((code = read_scheduler_args(s)) != 0 || (code = read_log_level(s)) != 0 ||
        (code = read_bool("ZEUS_PFO_DUMP_DATA", true, &s->dump_data)) != 0)
        return code;
    v = getenv("ZEUS_PFO_DUMP_DIR");
    s->dump_dir = strdup(v != NULL && v[0] != '\0' ? v : "./dump");
    s->max_job_idle_s = 7L * 24 * 3600;
    if ((v = getenv("ZEUS_PFO_MAX_JOB_IDLE_TIME")) != NULL) {
        char *end;
        errno = 0;
        s->max_job_idle_s = strtol(v, &end, 10);
        if (end == v || *end != '\0' || errno != 0 || s->max_job_idle_s < 0)
            return bad_setting("ZEUS_PFO_MAX_JOB_IDLE_TIME", v, "value is not a valid "
                               "non-negative integer (seconds)");
    }
    return 0;
}

static void free_settings(pfo_settings *s)
{
    free(s->solution_path);
    free(s->dump_dir);
}

/* ---- The idle cleanup ------------------------------------------------------------------------ */

static void *cleanup_main(void *arg)
{
    struct timespec at;

    (void)arg;
    pthread_mutex_lock(&cleanup.lock);
    while (!cleanup.stop) {
        clock_gettime(CLOCK_REALTIME, &at);
        at.tv_sec += cleanup.period_s;
        pthread_cond_timedwait(&cleanup.cond, &cleanup.lock, &at);
        if (cleanup.stop)
            break;
        pthread_mutex_unlock(&cleanup.lock);
        pfo_coordinator_evict_idle();
        pthread_mutex_lock(&cleanup.lock);
    }
    pthread_mutex_unlock(&cleanup.lock);
    return NULL;
}

static void stop_cleanup(pthread_t t)
{
    pthread_mutex_lock(&cleanup.lock);
    cleanup.stop = true;
    pthread_cond_signal(&cleanup.cond);
    pthread_mutex_unlock(&cleanup.lock);
    pthread_join(t, NULL);
}

/* ---- The command -------------------------------------------------------------------------- */

/* Returns 0, -1 for --help, or 2 on a usage error (reported). */
static int parse_options(int argc, char **argv, const char **listen)
{
    *listen = DEFAULT_LISTEN;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return -1;
        if (strncmp(argv[i], "--listen=", 9) == 0) {
            *listen = argv[i] + 9;
        } else if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
            *listen = argv[++i];
        } else {
            fprintf(stderr, "zeus pfo-server: %s '%s'\n(see zeus pfo-server --help)\n",
                    strcmp(argv[i], "--listen") == 0 ? "a value is needed after" : "unknown option",
                    argv[i]);
            return 2;
        }
    }
    return 0;
}

static int serve(const pfo_settings *set, const char *listen)
{
    char shown[300], why[512];
    int malformed = 0, sig = 0;
    sigset_t stop;
    pthread_t cleaner;
    pfo_http *http;
    int fd;

    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop, NULL); /* before any thread: they inherit the mask */
    signal(SIGPIPE, SIG_IGN);
    zeus_net_raise_fd_limit();
    fd = zeus_net_listen_tcp(listen, LISTEN_BACKLOG, shown, sizeof shown, why, sizeof why,
                             &malformed);
    if (fd < 0) {
        if (malformed)
            fprintf(stderr, "zeus pfo-server: --listen '%s': expected ADDR:PORT, such as "
                    "127.0.0.1:8000, :8000 or [::1]:8000\n", listen);
        else
            fprintf(stderr, "zeus pfo-server: %s\n", why);
        return malformed ? 2 : 1;
    }
    pfo_coordinator_init(set);
    if ((http = pfo_http_start(fd, set->log_debug)) == NULL) {
        fprintf(stderr, "zeus pfo-server: cannot start the HTTP server on %s\n", shown);
        return 1;
    }
    cleanup.period_s = set->max_job_idle_s < CLEANUP_PERIOD_S ? set->max_job_idle_s : CLEANUP_PERIOD_S;
    cleanup.period_s = cleanup.period_s < 1 ? 1 : cleanup.period_s;
    pthread_create(&cleaner, NULL, cleanup_main, NULL);
    printf("zeus pfo-server: serving http://%s (scheduler %s, solution %s)\n", shown,
           pfo_scheduler_name(set->scheduler), set->solution_path);
    fflush(stdout);

    while (sigwait(&stop, &sig) != 0)
        ;
    fprintf(stderr, "zeus pfo-server: stopping (signal %d)\n", sig);
    pfo_coordinator_shutdown(); /* waiting /schedule requests are answered 503 */
    pfo_http_stop(http);
    stop_cleanup(cleaner);
    pfo_coordinator_fini();
    return 0;
}

int pfo_server_main(int argc, char **argv)
{
    const char *listen;
    pfo_settings set;
    int code = parse_options(argc, argv, &listen);

    if (code < 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (code != 0)
        return code;
    if ((code = read_settings(&set)) == 0)
        code = serve(&set, listen);
    free_settings(&set);
    return code;
}
