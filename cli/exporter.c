/*
 * exporter.c - `zeus exporter`: a Prometheus exporter. Serves GET /metrics with every
 * device's energy, power, temperature, power limit and measurement quality, in the text
 * format, from a zeus_metrics_collector (zeus/metrics.h lists the metrics).
 *
 * The HTTP server is libmicrohttpd with an internal thread pool polling with poll() (select
 * would stop at descriptor 1024). A scrape renders from
 * values the library sampled in the background, never calling NVML's slow energy counter,
 * so concurrent scrapes cost microseconds each and do not disturb the GPUs.
 *
 * The listening socket is bound here, before any device is opened, and handed to MHD with
 * MHD_OPTION_LISTEN_SOCKET: a port in use is reported at once with its reason, and port 0
 * works (the chosen port is printed), which the tests rely on.
 *
 * Signals: SIGINT, SIGTERM and SIGHUP are blocked before any thread starts and taken with
 * sigwait(); the server is then stopped and the collector destroyed, joining every thread.
 *
 * THE ENDPOINT
 *
 *   What:        GET /metrics (HEAD too)
 *   Since:       0.1
 *   Description: Every exported metric, as the Prometheus text format 0.0.4.
 *   Request:     no body; query strings are ignored.
 *   Response:    200, Content-Type "text/plain; version=0.0.4; charset=utf-8".
 *   Errors:      404 for any other path; 405 (with Allow: GET, HEAD) for other methods;
 *                500 when the metrics cannot be rendered (out of memory).
 */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <microhttpd.h>

#include "cli.h"
#include "exporter.h"
#include "exporter_carbon.h"
#include "tcp_listen.h"

#define DEFAULT_LISTEN "0.0.0.0:9466"
#define THREADS 4
/*
 * A burst of connections waits in the kernel's queue (capped by net.core.somaxconn) rather
 * than being refused, and MHD keeps up to connection_limit() open at once. MHD polls, so a
 * connection costs a descriptor and 64 KiB at most, not a thread: a few hundred slow
 * clients leave thousands of slots for Prometheus, and each is dropped after IDLE_TIMEOUT_S
 * without a byte.
 */
#define LISTEN_BACKLOG 4096
#define MAX_CONNECTIONS 16384
#define IDLE_TIMEOUT_S 10
#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

static const char usage[] =
    "NAME\n"
    "    zeus exporter - serve GPU and CPU energy metrics to Prometheus\n"
    "\n"
    "SYNOPSIS\n"
    "    zeus exporter [--listen ADDR:PORT] [--gpus LIST] [--cpus LIST] [--period S]\n"
    "                  [--carbon PROVIDER]\n"
    "\n"
    "DESCRIPTION\n"
    "    Samples every GPU and CPU package in the background and answers GET /metrics in\n"
    "    the Prometheus text format: cumulative energy (zeus_gpu_energy_joules_total,\n"
    "    zeus_cpu_energy_joules_total, zeus_dram_energy_joules_total), power by domain,\n"
    "    temperature, power limit, and how the values were measured (counter step,\n"
    "    wraparounds, resets, failed reads). GPU metrics carry the labels index, uuid and\n"
    "    name, NVIDIA GPUs first, then AMD GPUs; zeus_gpu_info says each GPU's vendor,\n"
    "    power_scope (module: a Grace Hopper's CPU + GPU) and mig (true: whole-GPU values).\n"
    "    A scrape never reads the GPU's slow energy counter itself. On an NVIDIA\n"
    "    Jetson, zeus_soc_energy_joules_total and zeus_soc_power_watts carry its rails\n"
    "    (labels rail and label). Runs until Ctrl-C, SIGTERM or SIGHUP.\n"
    "\n"
    "OPTIONS\n"
    "    --listen ADDR:PORT  Address to serve on (default " DEFAULT_LISTEN "). ADDR may be\n"
    "                        empty (all interfaces), a name, an IPv4 address or [IPv6].\n"
    "                        Port 0 picks a free port; the address served is printed.\n"
    "    --gpus LIST         GPUs: all (default), none, or indices such as 0,2.\n"
    "    --cpus LIST         CPU packages: all readable ones (default), none, or indices.\n"
    "    --period S          Seconds between CPU power and power limit reads (default 1).\n"
    "    --carbon PROVIDER   Also export zeus_carbon_intensity_grams_per_kwh (the provider's\n"
    "                        current value) and the counters zeus_gpu_carbon_grams_total,\n"
    "                        zeus_cpu_carbon_grams_total and zeus_dram_carbon_grams_total\n"
    "                        (grams since the exporter started, each hour's energy at that\n"
    "                        hour's intensity, updated every period). PROVIDER is\n"
    "                        fixed:G_PER_KWH, csv:FILE or electricitymaps:LAT,LON.\n"
    "    -h, --help          Print this text.\n"
    "\n"
    "EXAMPLES\n"
    "    zeus exporter --listen :9466\n"
    "    curl -s localhost:9466/metrics | grep zeus_gpu_energy_joules_total\n"
    "\n"
    "EXIT STATUS\n"
    "    0 when stopped by a signal, 1 when the address cannot be served (port in use,\n"
    "    no permission) or the devices cannot be read, 2 for a usage error.\n";

struct exporter_args {
    const char *listen;
    struct cli_device_list gpus, cpus;
    double period_s;
    const char *carbon; /* --carbon: provider spec, or NULL */
};

/* What a request is answered from. */
struct exporter_ctx {
    zeus_metrics_collector *collector;
    struct exporter_carbon *carbon; /* NULL without --carbon */
};

/* ---- Options ------------------------------------------------------------------------------ */

static int parse_args(int argc, char **argv, struct exporter_args *a)
{
    memset(a, 0, sizeof *a);
    a->listen = DEFAULT_LISTEN;
    a->gpus.all = 1;
    a->cpus.all = 1;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int r;

        if (cli_is_help(argv[i]))
            return -1;
        if ((r = cli_option_value("exporter", argc, argv, &i, "--listen", &v)) != 0) {
            if (r < 0)
                return CLI_EXIT_USAGE;
            a->listen = v;
        } else if ((r = cli_option_value("exporter", argc, argv, &i, "--gpus", &v)) != 0) {
            if (r < 0 || cli_parse_device_list("exporter", "--gpus", v, &a->gpus) != 0)
                return CLI_EXIT_USAGE;
        } else if ((r = cli_option_value("exporter", argc, argv, &i, "--cpus", &v)) != 0) {
            if (r < 0 || cli_parse_device_list("exporter", "--cpus", v, &a->cpus) != 0)
                return CLI_EXIT_USAGE;
        } else if ((r = cli_option_value("exporter", argc, argv, &i, "--period", &v)) != 0) {
            if (r < 0 || cli_parse_seconds("exporter", "--period", v, 0.01, &a->period_s) != 0)
                return CLI_EXIT_USAGE;
        } else if ((r = cli_option_value("exporter", argc, argv, &i, "--carbon", &v)) != 0) {
            if (r < 0)
                return CLI_EXIT_USAGE;
            a->carbon = v;
        } else {
            return cli_usage_error("exporter", "unknown option '%s'", argv[i]);
        }
    }
    return 0;
}

/*
 * Bind and listen on `text` (net/tcp_listen.c). Returns the socket, or -1 after printing why
 * (CLI_EXIT_USAGE in *code for a malformed address, CLI_EXIT_FAILURE for one that cannot be
 * served).
 */
static int open_listener(const char *text, int *code, char *shown, size_t shown_len)
{
    char why[512];
    int malformed;
    int fd = zeus_net_listen_tcp(text, LISTEN_BACKLOG, shown, shown_len, why, sizeof why,
                                 &malformed);

    if (fd >= 0)
        return fd;
    if (malformed) {
        *code = cli_usage_error("exporter", "--listen '%s': expected ADDR:PORT, such as "
                                "127.0.0.1:9466, :9466 or [::1]:9466", text);
    } else {
        fprintf(stderr, "zeus exporter: %s\n", why);
        *code = CLI_EXIT_FAILURE;
    }
    return -1;
}

/* ---- Requests ----------------------------------------------------------------------------- */

/* Queue a response and drop our reference at once (STYLE.md: one helper). */
static enum MHD_Result reply(struct MHD_Connection *conn, unsigned code, const char *type,
                             const char *body, size_t len, const char *allow)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;

    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (allow != NULL)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    ret = MHD_queue_response(conn, code, r);
    MHD_destroy_response(r);
    return ret;
}

/* The collector's text with the carbon metrics after it; NULL (text freed) without memory. */
static char *append_carbon(struct exporter_carbon *carbon, char *text, size_t *len)
{
    size_t more = 0;
    char *extra = exporter_carbon_render(carbon, &more);
    char *all = extra != NULL ? malloc(*len + more + 1) : NULL;

    if (all != NULL) {
        memcpy(all, text, *len);
        memcpy(all + *len, extra, more + 1);
        *len += more;
    }
    free(extra);
    zeus_metrics_free(text);
    return all;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    static int first_call_marker;
    struct exporter_ctx *ctx = cls;
    static const char not_found[] = "404 not found: the metrics are at /metrics\n";
    static const char not_allowed[] = "405 method not allowed: use GET /metrics\n";
    char *text = NULL;
    size_t len = 0;
    enum MHD_Result ret;

    (void)version;
    (void)upload_data;
    if (*req_cls == NULL) {
        *req_cls = &first_call_marker; /* headers only so far: answer on the next call */
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        /* A body is ignored. MHD 0.9.75 refuses a response queued while the body is still
         * arriving (it closes the connection instead), so drop each chunk and answer on the
         * last call, which comes with no data. */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (strcmp(url, "/metrics") != 0)
        return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain", not_found, sizeof not_found - 1,
                     NULL);
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", not_allowed,
                     sizeof not_allowed - 1, "GET, HEAD");
    if (zeus_metrics_collector_render(ctx->collector, &text, &len) != ZEUS_OK) {
        const char *why = zeus_last_error();
        return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", why, strlen(why),
                     NULL);
    }
    if (ctx->carbon != NULL)
        text = append_carbon(ctx->carbon, text, &len);
    if (text == NULL)
        return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", "out of memory\n", 14,
                     NULL);
    ret = reply(conn, MHD_HTTP_OK, CONTENT_TYPE, text, len, NULL);
    if (ctx->carbon != NULL)
        free(text); /* append_carbon's */
    else
        zeus_metrics_free(text);
    return ret;
}

static void log_mhd(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    fprintf(stderr, "zeus exporter: ");
    vfprintf(stderr, fmt, ap);
}

/* ---- Limits ------------------------------------------------------------------------------- */

/*
 * Raise the descriptor limit to its hard maximum (1024 by default is the connection cap in
 * disguise) and leave room below it for the devices, logs and MHD's own pipes.
 */
static unsigned connection_limit(void)
{
    struct rlimit rl;
    rlim_t room;

    zeus_net_raise_fd_limit();
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 256;
    room = rl.rlim_cur > 128 ? rl.rlim_cur - 64 : 64;
    return room > MAX_CONNECTIONS ? MAX_CONNECTIONS : (unsigned)room;
}

/* ---- The command -------------------------------------------------------------------------- */

int cli_exporter(int argc, char **argv)
{
    struct exporter_args a;
    zeus_metrics_collector_options o;
    zeus_metrics_collector *collector = NULL;
    struct exporter_ctx ctx = {NULL, NULL};
    struct MHD_Daemon *d;
    char shown[300];
    sigset_t stop;
    int code = CLI_EXIT_FAILURE, fd, sig = 0;
    zeus_status s;

    code = parse_args(argc, argv, &a);
    if (code < 0) {
        fputs(usage, stdout);
        return CLI_EXIT_OK;
    }
    if (code != 0)
        return code;

    /* Before any thread: every thread the library and MHD start inherits the mask. */
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN); /* a scraper that hangs up must not kill the exporter */

    code = CLI_EXIT_FAILURE;
    fd = open_listener(a.listen, &code, shown, sizeof shown);
    if (fd < 0)
        return code;

    zeus_metrics_collector_options_init(&o);
    o.gpu_indices = cli_device_list_indices(&a.gpus, &o.gpu_index_count);
    o.cpu_indices = cli_device_list_indices(&a.cpus, &o.cpu_index_count);
    o.period_s = a.period_s;
    s = zeus_metrics_collector_create(&o, &collector);
    if (s != ZEUS_OK) {
        fprintf(stderr, "zeus exporter: %s\n", zeus_last_error());
        close(fd);
        return s == ZEUS_ERR_NOT_FOUND || s == ZEUS_ERR_INVALID_ARGUMENT ? CLI_EXIT_USAGE
                                                                          : CLI_EXIT_FAILURE;
    }
    ctx.collector = collector;
    if (a.carbon != NULL &&
        (code = exporter_carbon_start(a.carbon, &a.gpus, &a.cpus, a.period_s, &ctx.carbon)) != 0) {
        zeus_metrics_collector_destroy(collector);
        close(fd);
        return code;
    }

    /* poll(), not epoll: with libmicrohttpd 0.9.75's epoll, about one burst of 600
     * connections in 40 left some requests unserved until the idle timeout dropped them
     * (a scrape lost); poll is level-triggered and served every one of 250 bursts. */
    d = MHD_start_daemon(MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                         on_request, &ctx,
                         MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL, /* first, as MHD asks */
                         MHD_OPTION_LISTEN_SOCKET, fd,
                         MHD_OPTION_THREAD_POOL_SIZE, (unsigned)THREADS,
                         MHD_OPTION_CONNECTION_LIMIT, connection_limit(),
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S,
                         MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
                         MHD_OPTION_END);
    if (d == NULL) {
        /* No close(fd): MHD closes the listening socket it was given, on a failed start
         * too, and closing it again could close a descriptor another thread just opened. */
        fprintf(stderr, "zeus exporter: cannot start the HTTP server on %s\n", shown);
        exporter_carbon_stop(ctx.carbon);
        zeus_metrics_collector_destroy(collector);
        return CLI_EXIT_FAILURE;
    }
    printf("zeus exporter: serving http://%s/metrics\n", shown);
    fflush(stdout);

    while (sigwait(&stop, &sig) != 0)
        ;
    fprintf(stderr, "zeus exporter: stopping (signal %d)\n", sig);
    MHD_stop_daemon(d); /* closes fd too (MHD owns a LISTEN_SOCKET it was given) */
    exporter_carbon_stop(ctx.carbon);
    zeus_metrics_collector_destroy(collector);
    return CLI_EXIT_OK;
}
