/*
 * monitor_stream.c - `zeus monitor power --zeusd ENDPOINT[,ENDPOINT...]`: the merged power
 * stream of one or many zeusd daemons (zeus/power_stream.h), printed every interval and
 * optionally drawn as an SVG chart when stopped. monitor_cmd.c hands the command here when
 * --zeusd is given; the local power monitor's options do not apply.
 *
 * ENDPOINT syntax (decided here; Zeus has no CLI for its PowerStreamingClient):
 *
 *   [unix:]PATH        a Unix socket; a bare PATH must contain a '/'
 *   [tcp:]HOST:PORT    zeusd over TCP
 *   ...@TOKEN_FILE     this endpoint's bearer token, read from TOKEN_FILE (first line).
 *                      Without it the endpoint uses ZEUSD_TOKEN, if set. A file rather than
 *                      the token itself, so that tokens never show in `ps`.
 *
 * Output: one line per interval, "TIME  ENDPOINT: GPU0 W GPU1 W CPU0 W DRAM0 W  ENDPOINT: ..."
 * with "-" for an endpoint that has not reported yet; a stream that fails prints a
 * "zeus: warning:" line on stderr each time its error changes. Stops on Ctrl-C, SIGTERM or
 * after --duration; exits 1 when every stream has ended (all tokens refused).
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "plot_svg.h"
#include "zeus/power_stream.h"

#define MAX_ENDPOINTS 32

static const char usage[] =
    "NAME\n"
    "    zeus monitor power --zeusd - print the merged power stream of zeusd daemons\n"
    "\n"
    "SYNOPSIS\n"
    "    zeus monitor power --zeusd ENDPOINT[,ENDPOINT...] [--interval S] [--duration S]\n"
    "                       [--plot FILE.svg]\n"
    "\n"
    "DESCRIPTION\n"
    "    Streams GPU and CPU power from each daemon's /gpu/stream_power and\n"
    "    /cpu/stream_power (Server-Sent Events), reconnecting when a connection breaks, and\n"
    "    prints every daemon's latest values in watts every interval until Ctrl-C (or\n"
    "    SIGTERM). Timestamps are corrected by each daemon's clock offset.\n"
    "\n"
    "    ENDPOINT is [unix:]PATH (a bare PATH must contain '/') or [tcp:]HOST:PORT, with an\n"
    "    optional @TOKEN_FILE holding that daemon's token; otherwise ZEUSD_TOKEN is used.\n"
    "\n"
    "OPTIONS\n"
    "    --zeusd LIST     the daemons, comma-separated (each at most once).\n"
    "    --interval S     seconds between printed lines (default 1, at least 0.01).\n"
    "    --duration S     stop after S seconds (default: run until stopped).\n"
    "    --plot FILE.svg  draw every device's power against time when stopped.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 when stopped; 1 when a daemon cannot be reached, a token is refused at start, or\n"
    "    every stream has ended; 2 for a bad option or an index a daemon lacks.\n";

struct stream_args {
    char *list; /* strdup of --zeusd's value, cut in place */
    double interval_s, duration_s;
    const char *plot_path;
    size_t count;
    zeus_power_stream_endpoint ep[MAX_ENDPOINTS];
    char *token[MAX_ENDPOINTS];
};

/* One line of the chart: an endpoint's device over time. */
struct series {
    size_t endpoint;
    int kind; /* 0 GPU, 1 CPU, 2 DRAM */
    unsigned index;
    double *x, *y;
    size_t n, cap;
    char label[300];
};

struct chart {
    struct series *s;
    size_t n, cap;
    double start_s;
    double last_ts[MAX_ENDPOINTS];
};

/* ---- Arguments ------------------------------------------------------------------------------ */

int cli_monitor_stream_wanted(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], "--zeusd", 7) == 0 && (argv[i][7] == '\0' || argv[i][7] == '='))
            return 1;
    return 0;
}

static char *read_token(const char *path)
{
    char line[4096];
    FILE *f = fopen(path, "r");

    if (f == NULL)
        return NULL;
    if (fgets(line, sizeof line, f) == NULL)
        line[0] = '\0';
    fclose(f);
    line[strcspn(line, "\r\n")] = '\0';
    return strdup(line);
}

/* One ENDPOINT of the list into a->ep[a->count]. */
static int parse_endpoint(struct stream_args *a, char *text)
{
    zeus_power_stream_endpoint *e = &a->ep[a->count];
    char *at = strrchr(text, '@');

    zeus_power_stream_endpoint_init(e);
    if (at != NULL) {
        *at = '\0';
        a->token[a->count] = read_token(at + 1);
        if (a->token[a->count] == NULL)
            return cli_usage_error("monitor", "--zeusd: cannot read token file '%s': %s",
                                   at + 1, strerror(errno));
        e->token = a->token[a->count];
    }
    if (strncmp(text, "unix:", 5) == 0 || (strncmp(text, "tcp:", 4) != 0 && strchr(text, '/')))
        e->sock_path = strncmp(text, "unix:", 5) == 0 ? text + 5 : text;
    else
        e->host_port = strncmp(text, "tcp:", 4) == 0 ? text + 4 : text;
    if ((e->sock_path != NULL && e->sock_path[0] == '\0') ||
        (e->host_port != NULL && (strchr(e->host_port, ':') == NULL ||
                                  e->host_port[0] == ':')))
        return cli_usage_error("monitor", "--zeusd: '%s' is neither [unix:]PATH nor "
                               "[tcp:]HOST:PORT", text);
    a->count++;
    return 0;
}

static int parse_list(struct stream_args *a, const char *value)
{
    char *save = NULL, *item;

    free(a->list);
    a->list = strdup(value);
    if (a->list == NULL)
        return CLI_EXIT_FAILURE;
    a->count = 0;
    for (item = strtok_r(a->list, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
        if (a->count == MAX_ENDPOINTS)
            return cli_usage_error("monitor", "--zeusd: at most %d endpoints", MAX_ENDPOINTS);
        if (parse_endpoint(a, item) != 0)
            return CLI_EXIT_USAGE;
    }
    return a->count > 0 ? 0 : cli_usage_error("monitor", "--zeusd: no endpoint given");
}

static int parse_args(int argc, char **argv, struct stream_args *a)
{
    a->interval_s = 1.0;
    for (int i = 1; i < argc; i++)
        if (cli_is_help(argv[i]))
            return -1;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int r;

        if ((r = cli_option_value("monitor", argc, argv, &i, "--zeusd", &v)) != 0) {
            if (r < 0 || parse_list(a, v) != 0)
                return CLI_EXIT_USAGE;
        } else if ((r = cli_option_value("monitor", argc, argv, &i, "--interval", &v))) {
            if (r < 0 || cli_parse_seconds("monitor", "--interval", v, 0.01, &a->interval_s))
                return CLI_EXIT_USAGE;
        } else if ((r = cli_option_value("monitor", argc, argv, &i, "--duration", &v))) {
            if (r < 0 || cli_parse_seconds("monitor", "--duration", v, 0.01, &a->duration_s))
                return CLI_EXIT_USAGE;
        } else if ((r = cli_option_value("monitor", argc, argv, &i, "--plot", &v))) {
            if (r < 0)
                return CLI_EXIT_USAGE;
            a->plot_path = v;
        } else {
            return cli_usage_error("monitor", "power --zeusd: unknown option '%s'", argv[i]);
        }
    }
    return 0;
}

/* ---- Printing ------------------------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void print_line(zeus_power_stream *s)
{
    struct timespec now;
    struct tm tm;
    char text[32];

    clock_gettime(CLOCK_REALTIME, &now);
    localtime_r(&now.tv_sec, &tm);
    strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &tm);
    printf("%s.%06ld", text, now.tv_nsec / 1000);
    for (size_t i = 0; i < zeus_power_stream_endpoint_count(s); i++) {
        zeus_power_readings r;
        zeus_power_readings_init(&r);
        zeus_power_stream_get(s, i, &r);
        printf("  %s:", r.endpoint);
        if (r.gpu_count + r.cpu_count == 0)
            printf(" -");
        for (unsigned k = 0; k < r.gpu_count; k++)
            printf(" GPU%u %.1f W", r.gpu_index[k], r.gpu_w[k]);
        for (unsigned k = 0; k < r.cpu_count; k++) {
            printf(" CPU%u %.1f W", r.cpu_index[k], r.cpu_w[k]);
            if (!isnan(r.dram_w[k]))
                printf(" DRAM%u %.1f W", r.cpu_index[k], r.dram_w[k]);
        }
    }
    printf("\n");
    fflush(stdout);
}

/* A "zeus: warning:" line when an endpoint's error text changed since the last one. */
static void report_errors(zeus_power_stream *s, char last[][512])
{
    for (size_t i = 0; i < zeus_power_stream_endpoint_count(s); i++) {
        zeus_power_readings r;
        zeus_power_readings_init(&r);
        zeus_power_stream_get(s, i, &r);
        if (strcmp(r.error, last[i]) != 0 && r.error[0] != '\0')
            fprintf(stderr, "zeus: warning: %s: %s%s\n", r.endpoint, r.error,
                    r.status != ZEUS_OK ? " (this stream has ended)" : "");
        memcpy(last[i], r.error, sizeof r.error);
    }
}

/* ---- The chart ------------------------------------------------------------------------------ */

static struct series *series_for(struct chart *c, size_t ep, int kind, unsigned index,
                                 const char *name)
{
    static const char *kinds[] = {"GPU", "CPU", "DRAM"};

    for (size_t i = 0; i < c->n; i++)
        if (c->s[i].endpoint == ep && c->s[i].kind == kind && c->s[i].index == index)
            return &c->s[i];
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 16;
        struct series *grown = realloc(c->s, cap * sizeof *grown);
        if (grown == NULL)
            return NULL;
        c->s = grown;
        c->cap = cap;
    }
    memset(&c->s[c->n], 0, sizeof c->s[c->n]);
    c->s[c->n].endpoint = ep;
    c->s[c->n].kind = kind;
    c->s[c->n].index = index;
    snprintf(c->s[c->n].label, sizeof c->s[c->n].label, "%s %s%u", name, kinds[kind], index);
    return &c->s[c->n++];
}

static void add_point(struct series *s, double x, double y)
{
    if (s == NULL || isnan(y) || (s->n > 0 && x <= s->x[s->n - 1]))
        return;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 256;
        double *gx = realloc(s->x, cap * sizeof *gx), *gy;
        if (gx == NULL)
            return;
        s->x = gx;
        gy = realloc(s->y, cap * sizeof *gy);
        if (gy == NULL)
            return;
        s->y = gy;
        s->cap = cap;
    }
    s->x[s->n] = x;
    s->y[s->n++] = y;
}

/* After an update: a point per device of each endpoint whose timestamp moved. */
static void record(struct chart *c, zeus_power_stream *s)
{
    for (size_t i = 0; i < zeus_power_stream_endpoint_count(s) && i < MAX_ENDPOINTS; i++) {
        zeus_power_readings r;
        double x;
        zeus_power_readings_init(&r);
        zeus_power_stream_get(s, i, &r);
        if (isnan(r.timestamp_s) || r.timestamp_s == c->last_ts[i])
            continue;
        c->last_ts[i] = r.timestamp_s;
        x = r.timestamp_s - c->start_s;
        for (unsigned k = 0; k < r.gpu_count; k++)
            add_point(series_for(c, i, 0, r.gpu_index[k], r.endpoint), x, r.gpu_w[k]);
        for (unsigned k = 0; k < r.cpu_count; k++) {
            add_point(series_for(c, i, 1, r.cpu_index[k], r.endpoint), x, r.cpu_w[k]);
            if (!isnan(r.dram_w[k]))
                add_point(series_for(c, i, 2, r.cpu_index[k], r.endpoint), x, r.dram_w[k]);
        }
    }
}

static int write_chart(const struct chart *c, struct cli_out_file *out, double stop_s)
{
    struct plot_series *ps = calloc(c->n ? c->n : 1, sizeof *ps);
    char title[128];
    time_t start = (time_t)c->start_s;
    struct tm tm;
    int rc;

    if (ps == NULL)
        return -1;
    for (size_t i = 0; i < c->n; i++)
        ps[i] = (struct plot_series){c->s[i].label, c->s[i].x, c->s[i].y, c->s[i].n,
                                     (unsigned)c->s[i].endpoint,
                                     (enum plot_dash)c->s[i].kind};
    localtime_r(&start, &tm);
    strftime(title, sizeof title, "zeusd power streams from %Y-%m-%d %H:%M:%S", &tm);
    rc = plot_svg_write(out->f, &(struct plot){.title = title, .x_label = "time (s)",
                                               .y_label = "power (W)",
                                               .x_max = stop_s - c->start_s, .series = ps,
                                               .count = c->n});
    free(ps);
    return rc == 0 ? cli_out_file_commit(out) : -1;
}

/* ---- The run -------------------------------------------------------------------------------- */

/* 1 when SIGINT or SIGTERM is pending (both are blocked: see cli_monitor). */
static int stop_requested(void)
{
    sigset_t set;
    struct timespec zero = {0, 0};

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    return sigtimedwait(&set, NULL, &zero) > 0;
}

/* Stream until stopped; CLI_EXIT_FAILURE when every stream ended. */
static int run(zeus_power_stream *s, const struct stream_args *a, struct chart *c)
{
    static char last[MAX_ENDPOINTS][512];
    double next_print = c->start_s + a->interval_s;
    uint64_t seq = 0;

    for (;;) {
        zeus_status st = zeus_power_stream_next(s, 0.05, &seq);
        double now = now_s();

        if (st == ZEUS_OK)
            record(c, s);
        report_errors(s, last);
        if (st == ZEUS_ERR_NO_DATA) {
            fprintf(stderr, "zeus monitor power: %s\n", zeus_last_error());
            return CLI_EXIT_FAILURE;
        }
        if (now >= next_print) {
            print_line(s);
            next_print += a->interval_s * (1 + floor((now - next_print) / a->interval_s));
        }
        if (stop_requested() || (a->duration_s > 0 && now - c->start_s >= a->duration_s))
            return CLI_EXIT_OK;
    }
}

static int stream_main(struct stream_args *a)
{
    const zeus_power_stream_endpoint *eps[MAX_ENDPOINTS];
    struct cli_out_file plot = {0};
    struct chart chart = {0};
    zeus_power_stream *s;
    zeus_status st;
    int rc;

    if (a->plot_path != NULL && cli_out_file_open(&plot, a->plot_path) != 0) {
        fprintf(stderr, "zeus monitor power: cannot write %s: %s\n", a->plot_path,
                strerror(errno));
        return CLI_EXIT_FAILURE;
    }
    for (size_t i = 0; i < a->count; i++)
        eps[i] = &a->ep[i];
    st = zeus_power_stream_open(eps, a->count, NULL, &s);
    if (st != ZEUS_OK) {
        fprintf(stderr, "zeus monitor power: %s\n", zeus_last_error());
        cli_out_file_abort(&plot);
        return st == ZEUS_ERR_NOT_FOUND || st == ZEUS_ERR_INVALID_ARGUMENT ? CLI_EXIT_USAGE
                                                                          : CLI_EXIT_FAILURE;
    }
    fprintf(stderr, "zeus: streaming power from %zu zeusd endpoint%s; press Ctrl-C to stop\n",
            a->count, a->count == 1 ? "" : "s");
    chart.start_s = now_s();
    rc = run(s, a, &chart);
    zeus_power_stream_stop(s);
    if (a->plot_path != NULL && write_chart(&chart, &plot, now_s()) != 0) {
        fprintf(stderr, "zeus monitor power: cannot write %s\n", a->plot_path);
        rc = CLI_EXIT_FAILURE;
    }
    cli_out_file_abort(&plot);
    zeus_power_stream_destroy(s);
    for (size_t i = 0; i < chart.n; i++) {
        free(chart.s[i].x);
        free(chart.s[i].y);
    }
    free(chart.s);
    return rc;
}

int cli_monitor_stream(int argc, char **argv)
{
    struct stream_args *a = calloc(1, sizeof *a);
    sigset_t set, old;
    int rc;

    if (a == NULL)
        return CLI_EXIT_FAILURE;
    rc = parse_args(argc, argv, a);
    if (rc == -1) {
        fputs(usage, stdout);
        rc = CLI_EXIT_OK;
    } else if (rc == 0) {
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &set, &old); /* before the stream's threads exist */
        rc = stream_main(a);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    for (size_t i = 0; i < MAX_ENDPOINTS; i++)
        free(a->token[i]);
    free(a->list);
    free(a);
    return rc;
}
