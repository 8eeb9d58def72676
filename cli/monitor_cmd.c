/*
 * monitor_cmd.c - `zeus monitor energy` and `zeus monitor power`: Zeus's
 * `python -m zeus.monitor` in C, measuring until Ctrl-C (SIGINT) or SIGTERM.
 *
 * energy opens one window over the chosen GPUs and every readable CPU package and prints
 * the measurement when stopped. power runs a power monitor (zeus/power.h) over the chosen
 * GPUs and domains, prints each GPU's latest reading every interval, and when stopped prints
 * the total time and each GPU's energy from zeus_power_monitor_energy(); it can also write
 * every sampled change to a CSV file and draw the timelines as an SVG chart (plot_svg.c).
 * GPUs are whatever the library numbers (NVIDIA, then AMD). Where the library finds a SoC
 * (an NVIDIA Jetson), power also samples its cpu, gpu and total rails (soc_series.c) as
 * series of their own, in the lines, the totals, the CSV file and the chart; a rail the
 * board lacks is named as absent. A SoC alone is enough (a Jetson has no NVML GPU).
 *
 * Signals: SIGINT and SIGTERM are blocked before any device is opened (so every thread the
 * library starts inherits the mask) and taken synchronously with sigtimedwait(), which also
 * paces the printed lines. No handler runs, so nothing unsafe can happen in signal context,
 * and a signal that arrives while a line is being printed is simply taken at the next wait.
 *
 * THE CSV FILE (--csv FILE)
 *
 *   What:        the power timelines of `zeus monitor power`, one row per sampled change.
 *   Since:       0.1
 *   Description: a header line `time_s,gpu,domain,power_w`, then rows in time order:
 *                  time_s   seconds since monitoring began (CLOCK_MONOTONIC), 6 decimals
 *                  gpu      the GPU's index (position in CUDA_VISIBLE_DEVICES, as in --gpus),
 *                           or `soc` for a rail of the SoC (a Jetson; since 0.1, issue 13)
 *                  domain   device_instant, device_average or memory_average; for `soc`
 *                           the rail: cpu, gpu or total
 *                  power_w  the reading in watts, 3 decimals
 *                Readings are de-duplicated, as the monitor stores them: a row means the
 *                reading of that gpu and domain became power_w at time_s, and it holds until
 *                the next row of the same gpu and domain. Each gpu and domain's first row is
 *                at 0.000000 (the reading when monitoring began) and its last row is at the
 *                stop time and repeats the value in effect then, so every series spans the
 *                whole run. A SoC rail's rows start at its first reading (within milliseconds
 *                of the GPUs' start; at 0 without GPUs) and end at its last, at the stop; a
 *                rail the board lacks has no rows, one that cannot be read for a while has
 *                none for that while. Rows are written every interval as the run goes, so a
 *                run that is killed leaves the rows up to its last interval.
 *
 * THE CHART (--plot FILE.svg)
 *
 *   An SVG 1.1 file: time in seconds since monitoring began against watts, one line per GPU
 *   and domain as the monitor integrates it (a reading holds until one poll period before
 *   the next change, then moves to it), a legend, and a title with the start time.
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
#include "soc_series.h"

static const char usage[] =
    "NAME\n"
    "    zeus monitor - measure GPU energy or print GPU and SoC power until stopped\n"
    "\n"
    "SYNOPSIS\n"
    "    zeus monitor energy [--gpus LIST]\n"
    "    zeus monitor power [--gpus LIST] [--domain D[,D...]] [--period S] [--interval S]\n"
    "                       [--csv FILE] [--plot FILE.svg]\n"
    "\n"
    "DESCRIPTION\n"
    "    energy measures from start until Ctrl-C (or SIGTERM), then prints the time and the\n"
    "    energy of each GPU, CPU package and DRAM zone, as `python -m zeus.monitor energy`.\n"
    "\n"
    "    power samples each GPU's power in the background, prints a timestamp and each GPU's\n"
    "    latest reading in watts every interval until Ctrl-C (or SIGTERM), then the total\n"
    "    time and each GPU's energy, as `python -m zeus.monitor power`. The energy is\n"
    "    integrated over the whole run, its first and last moments included.\n"
    "\n"
    "    On a SoC (an NVIDIA Jetson, or ZEUS_JETSON=1 with a fake tree) power also shows\n"
    "    its cpu, gpu and total rails in watts (\"absent\" for a rail the board lacks, n/a\n"
    "    for one that cannot be read now), then each rail's energy from the library's\n"
    "    integral. The rails are sampled every --period S (default 0.1 s) for the lines,\n"
    "    the CSV file and the chart; their energies do not depend on it. Without a GPU\n"
    "    (or with --gpus none) only the rails are sampled.\n"
    "\n"
    "OPTIONS\n"
    "    --gpus LIST      GPUs: all (default), or indices such as 0,2.\n"
    "    --domain D       power: device_instant, device_average, memory_average, a comma-\n"
    "                     separated list of them, or all. Default: device_instant, or\n"
    "                     device_average where the GPUs lack it.\n"
    "    --period S       power: seconds between samples (at least 0.001). Default: inferred\n"
    "                     from how often the readings change, at most 0.1 s.\n"
    "    --interval S     power: seconds between printed lines (default 1, at least 0.01).\n"
    "    --csv FILE       power: write every sampled change as time_s,gpu,domain,power_w\n"
    "                     (gpu is soc and domain the rail for a SoC's rails).\n"
    "    --plot FILE.svg  power: draw the power timelines as an SVG chart when stopped.\n"
    "    --zeusd LIST     power: stream from zeusd daemons instead of local GPUs; see\n"
    "                     zeus monitor power --zeusd --help.\n"
    "    -h, --help       Print this text.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 when stopped by a signal and the result printed; 1 when the devices could not be\n"
    "    read or a file could not be written; 2 for a bad option or a GPU that does not\n"
    "    exist.\n";

#define ENERGY_WINDOW "zeus.monitor.energy"
#define ALL_DOMAINS 7u

struct monitor_args {
    struct cli_device_list gpus;
    double period_s;   /* 0: inferred */
    double interval_s;
    unsigned domains;  /* ZEUS_DOMAIN_BIT bits; 0: the default domain */
    const char *csv_path;
    const char *plot_path;
};

/* ---- Stop signals ----------------------------------------------------------------------- */

static void stop_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
}

/*
 * Wait up to `timeout_s` (< 0: forever) for SIGINT or SIGTERM; 1 when one came, 0 when the
 * time ran out.
 */
static int wait_for_stop(double timeout_s)
{
    sigset_t set;
    struct timespec ts;
    int sig;

    stop_signals(&set);
    if (timeout_s < 0) {
        while ((sig = sigwaitinfo(&set, NULL)) < 0 && errno == EINTR)
            ;
        return 1;
    }
    ts.tv_sec = (time_t)timeout_s;
    ts.tv_nsec = (long)((timeout_s - (double)ts.tv_sec) * 1e9);
    sig = sigtimedwait(&set, NULL, &ts);
    return sig > 0;
}

/* ---- Arguments -------------------------------------------------------------------------- */

/* Parse "all" or a comma-separated list of domain names into ZEUS_DOMAIN_BIT bits. */
static int parse_domains(const char *text, unsigned *out)
{
    const char *p = text;

    *out = 0;
    if (strcmp(text, "all") == 0) {
        *out = ALL_DOMAINS;
        return 0;
    }
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        int found = -1;

        for (int d = ZEUS_POWER_DEVICE_INSTANT; d <= ZEUS_POWER_MEMORY_AVERAGE; d++) {
            const char *name = zeus_power_domain_name((zeus_power_domain)d);
            if (strlen(name) == len && strncmp(p, name, len) == 0)
                found = d;
        }
        if (found < 0)
            return cli_usage_error("monitor",
                                   "--domain: '%.*s' is not device_instant, device_average, "
                                   "memory_average or all",
                                   (int)len, p);
        *out |= ZEUS_DOMAIN_BIT(found);
        if (comma == NULL)
            return 0;
        p = comma + 1;
    }
}

/* Options of `zeus monitor MODE`; only `power` takes the power options. -1: print help. */
static int parse_args(int argc, char **argv, int power, struct monitor_args *a)
{
    memset(a, 0, sizeof *a);
    a->gpus.all = 1;
    a->interval_s = 1.0;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int r;

        if (cli_is_help(argv[i]))
            return -1;
        if ((r = cli_option_value("monitor", argc, argv, &i, "--gpus", &v)) != 0) {
            if (r < 0 || cli_parse_device_list("monitor", "--gpus", v, &a->gpus) != 0)
                return CLI_EXIT_USAGE;
        } else if (power && (r = cli_option_value("monitor", argc, argv, &i, "--period", &v))) {
            if (r < 0 || cli_parse_seconds("monitor", "--period", v, 0.001, &a->period_s) != 0)
                return CLI_EXIT_USAGE;
        } else if (power &&
                   (r = cli_option_value("monitor", argc, argv, &i, "--interval", &v))) {
            if (r < 0 ||
                cli_parse_seconds("monitor", "--interval", v, 0.01, &a->interval_s) != 0)
                return CLI_EXIT_USAGE;
        } else if (power && (r = cli_option_value("monitor", argc, argv, &i, "--domain", &v))) {
            if (r < 0 || parse_domains(v, &a->domains) != 0)
                return CLI_EXIT_USAGE;
        } else if (power && (r = cli_option_value("monitor", argc, argv, &i, "--csv", &v))) {
            if (r < 0)
                return CLI_EXIT_USAGE;
            a->csv_path = v;
        } else if (power && (r = cli_option_value("monitor", argc, argv, &i, "--plot", &v))) {
            if (r < 0)
                return CLI_EXIT_USAGE;
            a->plot_path = v;
        } else {
            return cli_usage_error("monitor", "%s: unknown option '%s'", argv[0], argv[i]);
        }
    }
    return 0;
}

/* ---- zeus monitor energy ---------------------------------------------------------------- */

static int monitor_energy(const struct monitor_args *a)
{
    zeus_monitor_options o;
    zeus_monitor *mon;
    zeus_measurement m;
    zeus_status s;

    zeus_monitor_options_init(&o);
    o.gpu_indices = cli_device_list_indices(&a->gpus, &o.gpu_index_count);
    o.warn = cli_warn;
    s = zeus_monitor_create(&o, &mon);
    if (s != ZEUS_OK) {
        fprintf(stderr, "zeus monitor energy: %s\n", zeus_last_error());
        return s == ZEUS_ERR_NOT_FOUND || s == ZEUS_ERR_INVALID_ARGUMENT ? CLI_EXIT_USAGE
                                                                          : CLI_EXIT_FAILURE;
    }
    if (zeus_monitor_begin_window(mon, ENERGY_WINDOW, 0) != ZEUS_OK) {
        fprintf(stderr, "zeus monitor energy: %s\n", zeus_last_error());
        zeus_monitor_destroy(mon);
        return CLI_EXIT_FAILURE;
    }
    fprintf(stderr, "zeus: measuring energy; press Ctrl-C to stop\n");
    wait_for_stop(-1);
    s = zeus_monitor_end_window(mon, ENERGY_WINDOW, ZEUS_WINDOW_WAIT_FINAL, &m); /* ~100 ms */
    if (s != ZEUS_OK)
        fprintf(stderr, "zeus: warning: measurement incomplete: %s\n", zeus_last_error());
    if (s != ZEUS_ERR_NOT_FOUND && s != ZEUS_ERR_INVALID_ARGUMENT)
        cli_report_table(stdout, &m);
    zeus_monitor_destroy(mon);
    return fflush(stdout) == 0 && s == ZEUS_OK ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}

/* ---- zeus monitor power: the run -------------------------------------------------------- */

/* A power monitor run: what is sampled, what is shown, and the CSV written so far. */
struct power_run {
    zeus_power_monitor *pm;   /* NULL when only a SoC is sampled */
    unsigned gpu_count;
    unsigned gpu[ZEUS_MAX_GPUS];
    unsigned shown_count;
    zeus_power_domain shown[3];
    double period_s;
    double start_s, stop_s;
    time_t start_wall;
    FILE *csv;
    struct cli_out_file plot; /* renamed into place only when complete */
    double csv_last_s[ZEUS_MAX_GPUS][3]; /* time of the last row written per series */
    zeus_devices *devs;        /* held while a SoC is sampled, else NULL */
    struct soc_series *soc;    /* the SoC's rails (a Jetson), or NULL without a SoC */
    double soc_csv_last_s[ZEUS_SOC_RAILS];
};

/* The rails' timeline period without --period: Zeus polls a Jetson every 0.1 s. The rails'
 * energies do not depend on it (soc_series.h). */
#define SOC_DEFAULT_PERIOD_S 0.1

static const char *rail_name(int k)
{
    return zeus_soc_rail_name((zeus_soc_rail)k);
}

/* "; no gpu rail", "; no cpu, gpu rails", or "" when has[k] holds for every rail. */
static void absent_rails(const int has[ZEUS_SOC_RAILS], char *buf, size_t len)
{
    unsigned n = 0;

    buf[0] = '\0';
    for (int k = 0; k < ZEUS_SOC_RAILS; k++)
        if (!has[k])
            snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", n++ ? ", " : "; no ",
                     rail_name(k));
    if (n > 0)
        snprintf(buf + strlen(buf), len - strlen(buf), " rail%s", n > 1 ? "s" : "");
}

/* The samples of one series with time >= t0_s (NAN: all) into a malloc'd array. */
static zeus_sample *fetch(zeus_power_monitor *pm, zeus_power_domain d, unsigned gpu, double t0_s,
                          size_t *n)
{
    size_t room = 256;

    for (;;) {
        zeus_sample *s = malloc(room * sizeof *s);
        size_t count = room;
        zeus_status st;

        if (s == NULL)
            return NULL;
        st = zeus_power_monitor_timeline(pm, d, gpu, t0_s, NAN, s, &count);
        if (st == ZEUS_OK) {
            *n = count;
            return s;
        }
        free(s);
        if (st != ZEUS_ERR_INSUFFICIENT_SIZE)
            return NULL;
        room = count + 256; /* samples may arrive before the next try */
    }
}

static void print_timestamp(void)
{
    struct timespec now;
    struct tm tm;
    char text[32];

    clock_gettime(CLOCK_REALTIME, &now); /* read by a person: wall-clock time */
    localtime_r(&now.tv_sec, &tm);
    strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &tm);
    printf("%s.%06ld", text, now.tv_nsec / 1000);
}

/* The SoC's part of a line: every rail, "absent" where the board has none. */
static void print_soc(const struct power_run *r)
{
    if (r->soc == NULL)
        return;
    printf("  SoC");
    for (int k = 0; k < ZEUS_SOC_RAILS; k++) {
        double w;
        enum soc_rail_state st = soc_series_latest(r->soc, (zeus_soc_rail)k, &w);

        printf(" %s", rail_name(k));
        if (st == SOC_RAIL_OK)
            printf(" %.1f W", w);
        else
            printf(st == SOC_RAIL_ABSENT ? " absent" : " n/a");
    }
}

/* One line: the time, each GPU's latest reading in each shown domain, the SoC's rails. */
static void print_line(const struct power_run *r)
{
    print_timestamp();
    for (unsigned k = 0; k < r->gpu_count; k++) {
        printf("  GPU%u", r->gpu[k]);
        for (unsigned j = 0; j < r->shown_count; j++) {
            double w;
            if (r->shown_count > 1)
                printf(" %s", zeus_power_domain_name(r->shown[j]));
            if (zeus_power_monitor_power(r->pm, r->shown[j], r->gpu[k], NAN, &w) == ZEUS_OK)
                printf(" %.1f W", w);
            else
                printf(" n/a");
        }
    }
    print_soc(r);
    printf("\n");
    fflush(stdout); /* a line per interval, even through a pipe */
}

/* ---- zeus monitor power: the CSV file ------------------------------------------------- */

struct csv_row {
    double t_s;
    unsigned gpu;
    zeus_power_domain domain;
    double power_w;
    int soc_rail; /* -1 for a GPU's row, else the SoC rail (gpu and domain unused) */
};

static int cmp_rows(const void *a, const void *b)
{
    const struct csv_row *x = a, *y = b;
    return (x->t_s > y->t_s) - (x->t_s < y->t_s);
}

static int add_row(struct csv_row **rows, size_t *n, size_t *cap, struct csv_row row)
{
    if (*n == *cap) {
        size_t grown_cap = *cap ? *cap * 2 : 256;
        struct csv_row *grown = realloc(*rows, grown_cap * sizeof *grown);
        if (grown == NULL)
            return -1;
        *rows = grown;
        *cap = grown_cap;
    }
    (*rows)[(*n)++] = row;
    return 0;
}

/*
 * The SoC rails' readings since the last call. Their closing row comes from the series
 * itself: stopping it takes one last reading, kept even when unchanged.
 */
static int csv_soc_rows(struct power_run *r, struct csv_row **rows, size_t *n, size_t *cap)
{
    for (int k = 0; r->soc != NULL && k < ZEUS_SOC_RAILS; k++) {
        size_t m = 0;
        zeus_sample *s = soc_series_fetch(r->soc, (zeus_soc_rail)k, r->soc_csv_last_s[k], &m);

        if (s == NULL)
            return -1;
        for (size_t i = 0; i < m; i++) {
            if (add_row(rows, n, cap, (struct csv_row){s[i].time_s, 0, 0, s[i].value, k}) != 0) {
                free(s);
                return -1;
            }
            r->soc_csv_last_s[k] = s[i].time_s;
        }
        free(s);
    }
    return 0;
}

/*
 * Append the rows sampled since the last call, in time order. With `closing`, also each
 * series' value in effect at the stop time. Returns 0, or -1 when the file cannot be written.
 */
static int csv_write_new(struct power_run *r, int closing)
{
    struct csv_row *rows = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;

    for (unsigned k = 0; k < r->gpu_count && rc == 0; k++)
        for (unsigned j = 0; j < r->shown_count && rc == 0; j++) {
            double *last = &r->csv_last_s[k][j];
            size_t m = 0;
            zeus_sample *s = fetch(r->pm, r->shown[j], r->gpu[k], *last, &m);

            if (s == NULL) {
                rc = -1;
                break;
            }
            for (size_t i = 0; i < m && rc == 0; i++) {
                if (!isnan(*last) && s[i].time_s <= *last)
                    continue; /* written by the previous call */
                rc = add_row(&rows, &n, &cap,
                             (struct csv_row){s[i].time_s, r->gpu[k], r->shown[j], s[i].value,
                                              -1});
                *last = s[i].time_s;
            }
            if (closing && rc == 0 && (m == 0 || s[m - 1].time_s < r->stop_s)) {
                double w;
                if (zeus_power_monitor_power(r->pm, r->shown[j], r->gpu[k], NAN, &w) == ZEUS_OK)
                    rc = add_row(&rows, &n, &cap,
                                 (struct csv_row){r->stop_s, r->gpu[k], r->shown[j], w, -1});
            }
            free(s);
        }
    if (rc == 0)
        rc = csv_soc_rows(r, &rows, &n, &cap);
    if (n > 1)
        qsort(rows, n, sizeof *rows, cmp_rows);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (rows[i].soc_rail >= 0)
            fprintf(r->csv, "%.6f,soc,%s,%.3f\n", rows[i].t_s - r->start_s,
                    rail_name(rows[i].soc_rail), rows[i].power_w);
        else
            fprintf(r->csv, "%.6f,%u,%s,%.3f\n", rows[i].t_s - r->start_s, rows[i].gpu,
                    zeus_power_domain_name(rows[i].domain), rows[i].power_w);
    }
    free(rows);
    if (fflush(r->csv) != 0 || ferror(r->csv))
        rc = -1;
    return rc;
}

/* ---- zeus monitor power: the chart ---------------------------------------------------- */

/*
 * The line the monitor integrates (integrate.h): each reading holds until one poll period
 * before the next change, then moves to it; the last one holds until the stop.
 */
static size_t reconstruct(const zeus_sample *s, size_t n, double start_s, double stop_s,
                          double period_s, double *x, double *y)
{
    size_t m = 0;

    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            double a = s[i].time_s - period_s;
            if (a < s[i - 1].time_s)
                a = s[i - 1].time_s;
            x[m] = a - start_s;
            y[m++] = s[i - 1].value;
        }
        x[m] = s[i].time_s - start_s;
        y[m++] = s[i].value;
    }
    if (n > 0 && stop_s > s[n - 1].time_s) {
        x[m] = stop_s - start_s;
        y[m++] = s[n - 1].value;
    }
    return m;
}

#define PLOT_SERIES (ZEUS_MAX_GPUS * 3 + ZEUS_SOC_RAILS)

/*
 * The SoC rails' lines after the GPUs' ones, in colours of their own; a rail the board lacks
 * has no line (the title says so). Returns 0, or -1 when out of memory.
 */
static int plot_soc(struct power_run *r, struct plot_series *series, char (*labels)[64],
                    double **xs, double **ys, size_t *count)
{
    unsigned first_color = r->gpu_count > 1 ? r->gpu_count : r->shown_count;

    for (int k = 0; r->soc != NULL && k < ZEUS_SOC_RAILS; k++) {
        size_t n = 0, c = *count;
        zeus_sample *s = soc_series_fetch(r->soc, (zeus_soc_rail)k, NAN, &n);

        if (s == NULL)
            return -1;
        if (n == 0) {
            free(s);
            continue;
        }
        xs[c] = malloc((2 * n + 1) * sizeof(double));
        ys[c] = malloc((2 * n + 1) * sizeof(double));
        if (xs[c] == NULL || ys[c] == NULL) {
            free(s);
            return -1; /* the caller frees xs[c] and ys[c] up to *count + 1 */
        }
        snprintf(labels[c], sizeof labels[0], "SoC %s", rail_name(k));
        series[c] = (struct plot_series){
            .label = labels[c],
            .x = xs[c],
            .y = ys[c],
            .n = reconstruct(s, n, r->start_s, r->stop_s, soc_series_period(r->soc), xs[c],
                             ys[c]),
            .color = first_color + (unsigned)k,
            .dash = PLOT_SOLID,
        };
        free(s);
        (*count)++;
    }
    return 0;
}

/* "GPU device_instant power", "SoC rail power" or both, and the rails the board lacks. */
static void plot_title(const struct power_run *r, char *buf, size_t len)
{
    char when[32], absent[64] = "";
    int seen[ZEUS_SOC_RAILS];
    struct tm tm;
    size_t used;

    localtime_r(&r->start_wall, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    if (r->soc != NULL) {
        for (int k = 0; k < ZEUS_SOC_RAILS; k++)
            seen[k] = soc_series_seen(r->soc, (zeus_soc_rail)k);
        absent_rails(seen, absent, sizeof absent);
    }
    used = (size_t)snprintf(buf, len, "%s%s%s%s", r->gpu_count > 0 ? "GPU " : "",
                            r->gpu_count > 0 && r->shown_count == 1
                                ? zeus_power_domain_name(r->shown[0])
                                : "",
                            r->gpu_count > 0 && r->shown_count == 1 ? " " : "",
                            r->soc == NULL ? "" : r->gpu_count > 0 ? "and SoC rail " : "SoC rail ");
    if (used < len)
        snprintf(buf + used, len - used, "power from %s, %.1f s, sampled every %g s%s", when,
                 r->stop_s - r->start_s, r->pm != NULL ? r->period_s : soc_series_period(r->soc),
                 absent);
}

static int write_plot(struct power_run *r)
{
    struct plot_series series[PLOT_SERIES];
    char labels[PLOT_SERIES][64];
    double *xs[PLOT_SERIES] = {0}, *ys[PLOT_SERIES] = {0};
    size_t count = 0;
    char title[256];
    int rc = 0;

    for (unsigned k = 0; k < r->gpu_count; k++)
        for (unsigned j = 0; j < r->shown_count; j++) {
            size_t n = 0, c = count;
            zeus_sample *s = fetch(r->pm, r->shown[j], r->gpu[k], NAN, &n);

            xs[c] = s != NULL ? malloc((2 * n + 1) * sizeof(double)) : NULL;
            ys[c] = s != NULL ? malloc((2 * n + 1) * sizeof(double)) : NULL;
            if (s == NULL || xs[c] == NULL || ys[c] == NULL) {
                free(s);
                free(xs[c]);
                free(ys[c]);
                xs[c] = ys[c] = NULL;
                rc = -1;
                continue;
            }
            if (r->shown_count > 1)
                snprintf(labels[c], sizeof labels[c], "GPU%u %s", r->gpu[k],
                         zeus_power_domain_name(r->shown[j]));
            else
                snprintf(labels[c], sizeof labels[c], "GPU%u", r->gpu[k]);
            series[c] = (struct plot_series){
                .label = labels[c],
                .x = xs[c],
                .y = ys[c],
                .n = reconstruct(s, n, r->start_s, r->stop_s, r->period_s, xs[c], ys[c]),
                /* Colour by GPU and dash by domain, unless one of them is alone. */
                .color = r->gpu_count == 1 ? j : k,
                .dash = r->gpu_count > 1 && r->shown_count > 1 ? (enum plot_dash)j : PLOT_SOLID,
            };
            free(s);
            count++;
        }
    if (rc == 0 && plot_soc(r, series, labels, xs, ys, &count) != 0)
        rc = -1;
    plot_title(r, title, sizeof title);
    if (rc == 0) {
        struct plot p = {.title = title,
                         .x_label = "time since start (s)",
                         .y_label = "power (W)",
                         .x_max = r->stop_s - r->start_s,
                         .series = series,
                         .count = count};
        rc = plot_svg_write(r->plot.f, &p);
    }
    for (size_t c = 0; c < count + (count < PLOT_SERIES); c++) {
        free(xs[c]);
        free(ys[c]);
    }
    return rc;
}

/* ---- zeus monitor power: start and finish --------------------------------------------- */

static int open_outputs(struct power_run *r, const struct monitor_args *a)
{
    if (a->csv_path != NULL && (r->csv = fopen(a->csv_path, "w")) == NULL) {
        fprintf(stderr, "zeus monitor power: cannot create %s: %s\n", a->csv_path,
                strerror(errno));
        return CLI_EXIT_FAILURE;
    }
    if (a->plot_path != NULL && cli_out_file_open(&r->plot, a->plot_path) != 0) {
        fprintf(stderr, "zeus monitor power: cannot create %s: %s\n", a->plot_path,
                strerror(errno));
        return CLI_EXIT_FAILURE;
    }
    if (r->csv != NULL && fputs("time_s,gpu,domain,power_w\n", r->csv) == EOF) {
        fprintf(stderr, "zeus monitor power: cannot write %s\n", a->csv_path);
        return CLI_EXIT_FAILURE;
    }
    return 0;
}

/*
 * Open a device handle to look for a SoC (a Jetson), kept while its rails are sampled.
 * Without a SoC, or when the handle cannot open, nothing is kept: the GPUs' monitor says
 * what is wrong with the devices.
 */
static void find_soc(struct power_run *r, unsigned *visible_gpus)
{
    *visible_gpus = 0;
    if (zeus_devices_create(&r->devs) != ZEUS_OK) {
        r->devs = NULL;
        return;
    }
    *visible_gpus = zeus_devices_gpu_count(r->devs);
    if (zeus_devices_soc_count(r->devs) == 0) {
        zeus_devices_destroy(r->devs);
        r->devs = NULL;
    }
}

static int start_gpus(struct power_run *r, const struct monitor_args *a)
{
    zeus_power_monitor_options o;
    unsigned sampled;
    zeus_status s;

    zeus_power_monitor_options_init(&o);
    o.gpu_indices = cli_device_list_indices(&a->gpus, &o.gpu_index_count);
    if (o.gpu_indices != NULL && o.gpu_index_count == 0)
        return cli_usage_error("monitor", "--gpus none leaves no GPU to sample");
    o.update_period_s = a->period_s;
    o.domains = a->domains; /* 0: every supported one; the default is picked below */
    o.warn = cli_warn;
    s = zeus_power_monitor_create(&o, &r->pm);
    if (s != ZEUS_OK) {
        r->pm = NULL;
        fprintf(stderr, "zeus monitor power: %s\n", zeus_last_error());
        return s == ZEUS_ERR_NOT_FOUND || s == ZEUS_ERR_INVALID_ARGUMENT ? CLI_EXIT_USAGE
                                                                          : CLI_EXIT_FAILURE;
    }
    r->gpu_count = zeus_power_monitor_gpus(r->pm, r->gpu, ZEUS_MAX_GPUS);
    sampled = zeus_power_monitor_domains(r->pm);
    for (int d = 0; d < 3; d++)
        if (a->domains & ZEUS_DOMAIN_BIT(d))
            r->shown[r->shown_count++] = (zeus_power_domain)d;
    if (r->shown_count == 0) /* Zeus's default: instant, else average */
        r->shown[r->shown_count++] = (sampled & ZEUS_DOMAIN_BIT(ZEUS_POWER_DEVICE_INSTANT))
                                         ? ZEUS_POWER_DEVICE_INSTANT
                                         : ZEUS_POWER_DEVICE_AVERAGE;
    return 0;
}

/*
 * Start the GPUs' power monitor and, where the library finds a SoC, the rails' series. A
 * SoC alone is enough: on a Jetson (no NVML GPU) or with --gpus none, only its rails are
 * sampled; --gpus none without a SoC is still a usage error.
 */
static int start_monitor(struct power_run *r, const struct monitor_args *a)
{
    unsigned visible_gpus;
    int want_gpus;

    find_soc(r, &visible_gpus);
    want_gpus = r->devs == NULL || (a->gpus.all ? visible_gpus > 0 : a->gpus.count > 0);
    if (want_gpus) {
        int rc = start_gpus(r, a);
        if (rc != 0)
            return rc;
    }
    if (r->devs != NULL &&
        soc_series_start(r->devs, a->period_s > 0 ? a->period_s : SOC_DEFAULT_PERIOD_S,
                         &r->soc) != 0) {
        fprintf(stderr, "zeus monitor power: cannot read the SoC's rails: %s\n",
                zeus_last_error());
        return CLI_EXIT_FAILURE;
    }
    if (r->pm == NULL && a->domains != 0)
        fprintf(stderr, "zeus: warning: --domain is for GPUs, and none is sampled\n");
    /* Only now: an inferred period takes about 1 s to be known, and the SoC's series
     * should start with the GPUs', not that second later. */
    if (r->pm != NULL)
        r->period_s = zeus_power_monitor_update_period(r->pm);

    /* Monitoring began at the first sample: the reading every GPU series starts with. The
     * SoC's series start at its own first reading, just after. */
    if (r->pm != NULL) {
        size_t n = 0;
        zeus_sample *first = fetch(r->pm, r->shown[0], r->gpu[0], NAN, &n);
        r->start_s = first != NULL && n > 0 ? first[0].time_s : zeus_now();
        free(first);
    } else {
        r->start_s = soc_series_start_time(r->soc);
    }
    r->start_wall = time(NULL);
    for (unsigned k = 0; k < r->gpu_count; k++)
        for (unsigned j = 0; j < 3; j++)
            r->csv_last_s[k][j] = NAN;
    for (int k = 0; k < ZEUS_SOC_RAILS; k++)
        r->soc_csv_last_s[k] = NAN;
    return 0;
}

/* Print on a fixed schedule (start + k * interval), so that slow prints do not add drift. */
static void power_loop(struct power_run *r, double interval_s)
{
    double next_s = zeus_now();

    for (;;) {
        double wait_s;

        print_line(r);
        if (r->csv != NULL && csv_write_new(r, 0) != 0)
            fprintf(stderr, "zeus: warning: cannot write the CSV file\n");
        next_s += interval_s;
        wait_s = next_s - zeus_now();
        if (wait_s < 0) {
            wait_s = 0;
            next_s = zeus_now(); /* fell behind: start the schedule again from now */
        }
        if (wait_for_stop(wait_s))
            break;
    }
}

/*
 * The rails' energies from the library's integral over the run (start to stop, as the GPUs'):
 * "absent" for a rail the board lacks, "n/a" for one unreadable at the end, and a note when
 * stretches it could not be read are left out.
 */
static void print_soc_totals(const struct power_run *r)
{
    if (r->soc == NULL)
        return;
    printf("Total energy (J), SoC:");
    for (int k = 0; k < ZEUS_SOC_RAILS; k++) {
        unsigned gaps = 0;
        double e = soc_series_energy(r->soc, (zeus_soc_rail)k, r->start_s, r->stop_s, &gaps);
        double w;

        if (!isnan(e))
            printf("  %s %.3f", rail_name(k), e);
        else if (!soc_series_seen(r->soc, (zeus_soc_rail)k) &&
                 soc_series_latest(r->soc, (zeus_soc_rail)k, &w) == SOC_RAIL_ABSENT)
            printf("  %s absent", rail_name(k));
        else
            printf("  %s n/a", rail_name(k));
        if (!isnan(e) && gaps > 0)
            printf(" (lower bound: %u unreadable stretch%s left out)", gaps,
                   gaps == 1 ? "" : "es");
    }
    printf("\n");
}

static void print_totals(const struct power_run *r)
{
    printf("Total time (s): %.3f\n", r->stop_s - r->start_s);
    for (unsigned j = 0; j < r->shown_count; j++) {
        if (r->shown_count == 1)
            printf("Total energy (J):");
        else
            printf("Total energy (J), %s:", zeus_power_domain_name(r->shown[j]));
        for (unsigned k = 0; k < r->gpu_count; k++) {
            double e;
            if (zeus_power_monitor_energy(r->pm, (int)r->shown[j], r->gpu[k], r->start_s,
                                          r->stop_s, &e) == ZEUS_OK)
                printf("  GPU%u %.3f", r->gpu[k], e);
            else
                printf("  GPU%u n/a", r->gpu[k]);
        }
        printf("\n");
    }
    print_soc_totals(r);
}

/* Stop sampling, then write what the files need from the kept samples. */
static int finish(struct power_run *r, const struct monitor_args *a)
{
    int rc = CLI_EXIT_OK;

    r->stop_s = zeus_now();
    if (r->soc != NULL) /* its last reading ends the rails' timelines and energies */
        soc_series_stop(r->soc, r->stop_s);
    if (r->pm != NULL && zeus_power_monitor_stop(r->pm) != ZEUS_OK) {
        fprintf(stderr, "zeus monitor power: %s\n", zeus_last_error());
        rc = CLI_EXIT_FAILURE;
    }
    print_totals(r);
    if (fflush(stdout) != 0)
        rc = CLI_EXIT_FAILURE;
    /* Each file is closed whether or not writing it failed, then reported. */
    if (r->csv != NULL) {
        int bad = csv_write_new(r, 1) != 0;
        bad |= fclose(r->csv) != 0;
        r->csv = NULL;
        fprintf(stderr, bad ? "zeus monitor power: cannot write %s\n" : "zeus: wrote %s\n",
                a->csv_path);
        if (bad)
            rc = CLI_EXIT_FAILURE;
    }
    if (r->plot.f != NULL) {
        int bad = write_plot(r) != 0;

        if (bad)
            cli_out_file_abort(&r->plot);
        else
            bad = cli_out_file_commit(&r->plot) != 0;
        fprintf(stderr, bad ? "zeus monitor power: cannot write %s\n" : "zeus: wrote %s\n",
                a->plot_path);
        if (bad)
            rc = CLI_EXIT_FAILURE;
    }
    return rc;
}

/* Which rails are sampled (with the sensor's name for each) and which the board lacks. */
static void announce_soc(const struct power_run *r)
{
    zeus_soc_info info;
    char found[256] = "", absent[64];

    memset(&info, 0, sizeof info);
    zeus_soc_get_info(r->devs, 0, &info);
    for (int k = 0; k < ZEUS_SOC_RAILS; k++)
        if (info.has_rail[k])
            snprintf(found + strlen(found), sizeof found - strlen(found), "%s%s (%s)",
                     found[0] ? ", " : "", rail_name(k), info.rail_label[k]);
    absent_rails(info.has_rail, absent, sizeof absent);
    fprintf(stderr, "zeus: sampling %s rails %s every %g s%s; press Ctrl-C to stop\n",
            info.name[0] ? info.name : "SoC", found[0] ? found : "(none yet)",
            soc_series_period(r->soc), absent);
}

static int monitor_power(const struct monitor_args *a)
{
    struct power_run *r = calloc(1, sizeof *r);
    int rc;

    if (r == NULL) {
        fprintf(stderr, "zeus monitor power: out of memory\n");
        return CLI_EXIT_FAILURE;
    }
    rc = open_outputs(r, a);
    if (rc == 0)
        rc = start_monitor(r, a);
    if (rc == 0) {
        if (r->pm != NULL)
            fprintf(stderr, "zeus: sampling %s power every %g s%s%s\n",
                    r->shown_count == 1 ? zeus_power_domain_name(r->shown[0]) : "GPU",
                    r->period_s, a->period_s > 0 ? "" : " (inferred)",
                    r->soc == NULL ? "; press Ctrl-C to stop" : "");
        if (r->soc != NULL)
            announce_soc(r);
        power_loop(r, a->interval_s);
        rc = finish(r, a);
    }
    if (r->csv != NULL)
        fclose(r->csv);
    cli_out_file_abort(&r->plot);
    soc_series_destroy(r->soc);
    zeus_power_monitor_destroy(r->pm);
    zeus_devices_destroy(r->devs);
    free(r);
    return rc;
}

/* ---- Entry point ------------------------------------------------------------------------ */

int cli_monitor(int argc, char **argv)
{
    struct monitor_args a;
    sigset_t set, old;
    int power, rc;

    if (argc < 2 || cli_is_help(argv[1])) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    power = strcmp(argv[1], "power") == 0;
    if (!power && strcmp(argv[1], "energy") != 0)
        return cli_usage_error("monitor", "unknown mode '%s' (use energy or power)", argv[1]);
    if (power && cli_monitor_stream_wanted(argc - 1, argv + 1)) /* monitor_stream.c */
        return cli_monitor_stream(argc - 1, argv + 1);
    rc = parse_args(argc - 1, argv + 1, power, &a);
    if (rc == -1) {
        fputs(usage, stdout);
        return CLI_EXIT_OK;
    }
    if (rc != 0)
        return rc;
    stop_signals(&set);
    pthread_sigmask(SIG_BLOCK, &set, &old); /* before any thread exists; see the head */
    rc = power ? monitor_power(&a) : monitor_energy(&a);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}
