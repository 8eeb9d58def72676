/*
 * bench.c - `zeus bench windows`: what a begin_window + end_window pair costs the caller.
 *
 * Each iteration times one begin and one end (flags 0, so no synchronisation callback) on a
 * monitor over the chosen GPUs and no CPUs, while K-1 other windows stay open, and reports
 * the 50th and 99th percentiles and the maximum. Here windows read the GPU energy counters
 * directly, as Zeus does, so on an H100 a pair costs about two counter reads per GPU (2.7 ms
 * each, reference/GPU-MEASUREMENTS.md); the sampling engine is what should bring it down to
 * the cost of reading the clock. The numbers are reported, never asserted on.
 *
 * Because the fake NVML can stand in for real GPUs, the output says which kind was
 * measured, from the nvml backend's detail and ZEUS_NVML_LIBRARY.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static const char usage[] =
    "NAME\n"
    "    zeus bench windows - measure the overhead of energy measurement windows\n"
    "\n"
    "SYNOPSIS\n"
    "    zeus bench windows [--gpus LIST] [--open-windows K] [--iterations N] [--json]\n"
    "\n"
    "DESCRIPTION\n"
    "    Times N begin_window + end_window pairs on a monitor over the chosen GPUs (no CPUs),\n"
    "    with K-1 other windows held open meanwhile, after one untimed warm-up pair. Prints\n"
    "    the 50th and 99th percentiles and the maximum, in microseconds, and whether the\n"
    "    GPUs are real or simulated (ZEUS_NVML_LIBRARY set).\n"
    "\n"
    "OPTIONS\n"
    "    --gpus LIST        GPUs: all (default), none, or indices such as 0,2.\n"
    "    --open-windows K   windows open during each timed pair, itself included\n"
    "                       (default 1, at most 10000).\n"
    "    --iterations N     timed pairs (default 1000, at most 10000000).\n"
    "    --json             print only one JSON object on stdout (the device line goes to\n"
    "                       stderr): {\"mode\": \"direct\", \"gpus\": 1, \"open_windows\": 1,\n"
    "                       \"iterations\": 1000, \"p50_us\": 5400.1, \"p99_us\": 5600.3,\n"
    "                       \"max_us\": 6100.0}\n"
    "    -h, --help         Print this text.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 on success; 1 when a window fails; 2 for a bad option or a GPU that does not\n"
    "    exist.\n";

#define BENCH_WINDOW "zeus.bench"

struct bench_args {
    struct cli_device_list gpus;
    unsigned open_windows;
    unsigned iterations;
    int json;
};

/* ---- Arguments -------------------------------------------------------------------------- */

/* Handle option argv[*i]: 0 when taken, -1 for help, else an exit code. */
static int parse_option(int argc, char **argv, int *i, struct bench_args *a)
{
    const char *v;
    int r;

    if (cli_is_help(argv[*i]))
        return -1;
    if (strcmp(argv[*i], "--json") == 0) {
        a->json = 1;
        return 0;
    }
    if ((r = cli_option_value("bench", argc, argv, i, "--gpus", &v)) != 0)
        return r < 0 || cli_parse_device_list("bench", "--gpus", v, &a->gpus) ? CLI_EXIT_USAGE
                                                                              : 0;
    if ((r = cli_option_value("bench", argc, argv, i, "--open-windows", &v)) != 0)
        return r < 0 || cli_parse_unsigned("bench", "--open-windows", v, 1, 10000,
                                           &a->open_windows) ? CLI_EXIT_USAGE : 0;
    if ((r = cli_option_value("bench", argc, argv, i, "--iterations", &v)) != 0)
        return r < 0 || cli_parse_unsigned("bench", "--iterations", v, 1, 10000000,
                                           &a->iterations) ? CLI_EXIT_USAGE : 0;
    return cli_usage_error("bench", "unknown option '%s'", argv[*i]);
}

static int parse_args(int argc, char **argv, struct bench_args *a)
{
    memset(a, 0, sizeof *a);
    a->gpus.all = 1;
    a->open_windows = 1;
    a->iterations = 1000;
    for (int i = 1; i < argc; i++) {
        int rc = parse_option(argc, argv, &i, a);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- Statistics ------------------------------------------------------------------------- */

static double monotonic_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted `v`: the smallest value with p% of samples at or below. */
static double percentile(const double *v, size_t n, double p)
{
    size_t rank = (size_t)ceil(p / 100.0 * (double)n);
    return v[rank > 0 ? rank - 1 : 0];
}

/* ---- Measuring -------------------------------------------------------------------------- */

/* Time `n` pairs into us[]; returns 0, or -1 after printing why a window failed. */
static int time_pairs(zeus_monitor *mon, double *us, unsigned n)
{
    for (unsigned k = 0; k < n; k++) {
        zeus_measurement m;
        double t0 = monotonic_us();

        if (zeus_monitor_begin_window(mon, BENCH_WINDOW, 0) != ZEUS_OK ||
            zeus_monitor_end_window(mon, BENCH_WINDOW, 0, &m) != ZEUS_OK) {
            fprintf(stderr, "zeus bench: window failed: %s\n", zeus_last_error());
            return -1;
        }
        if (us != NULL)
            us[k] = monotonic_us() - t0;
    }
    return 0;
}

/* Hold K-1 windows open with distinct names, as overlapping training-loop windows would. */
static int open_background_windows(zeus_monitor *mon, unsigned count)
{
    for (unsigned k = 0; k < count; k++) {
        char name[32];
        snprintf(name, sizeof name, "zeus.bench.open.%u", k);
        if (zeus_monitor_begin_window(mon, name, 0) != ZEUS_OK) {
            fprintf(stderr, "zeus bench: cannot open window %s: %s\n", name, zeus_last_error());
            return -1;
        }
    }
    return 0;
}

static int create_monitor(const struct bench_args *a, zeus_monitor **mon)
{
    static const unsigned no_cpus[1];
    zeus_monitor_options o;
    zeus_status s;

    zeus_monitor_options_init(&o);
    o.gpu_indices = cli_device_list_indices(&a->gpus, &o.gpu_index_count);
    o.cpu_indices = no_cpus; /* non-NULL with a count of 0: no CPUs */
    o.cpu_index_count = 0;
    o.warn = NULL; /* thousands of short windows would each warn about zero energy */
    s = zeus_monitor_create(&o, mon);
    if (s == ZEUS_OK)
        return 0;
    fprintf(stderr, "zeus bench: %s\n", zeus_last_error());
    return s == ZEUS_ERR_NOT_FOUND || s == ZEUS_ERR_INVALID_ARGUMENT ? CLI_EXIT_USAGE
                                                                      : CLI_EXIT_FAILURE;
}

/* ---- Reporting -------------------------------------------------------------------------- */

/* Say whether the GPUs measured are real, simulated, or absent. */
static void print_device_line(FILE *f, zeus_monitor *mon, unsigned gpus)
{
    zeus_devices *devs = zeus_monitor_devices(mon);
    const char *override = getenv("ZEUS_NVML_LIBRARY");
    zeus_backend_info b;

    for (unsigned i = 0; i < zeus_devices_backend_count(devs); i++) {
        if (zeus_devices_backend_info(devs, i, &b) != ZEUS_OK || strcmp(b.name, "nvml") != 0)
            continue;
        if (b.status != ZEUS_OK)
            fprintf(f, "devices: no GPUs (nvml: %s: %s)\n", zeus_status_string(b.status),
                    b.detail);
        else if (override != NULL && *override != '\0')
            fprintf(f, "devices: %u GPU%s, simulated/overridden NVML: %s\n", gpus,
                    gpus == 1 ? "" : "s", override);
        else
            fprintf(f, "devices: %u real GPU%s (NVML: %s)\n", gpus, gpus == 1 ? "" : "s",
                    b.detail);
        return;
    }
    fprintf(f, "devices: %u GPU%s (no nvml backend)\n", gpus, gpus == 1 ? "" : "s");
}

static int report(const struct bench_args *a, unsigned gpus, double *us)
{
    unsigned n = a->iterations;
    double p50, p99, max;
    cJSON *o;
    int rc = 0;

    qsort(us, n, sizeof us[0], cmp_double);
    p50 = percentile(us, n, 50), p99 = percentile(us, n, 99), max = us[n - 1];
    if (!a->json) {
        printf("windows: direct counter reads, %u GPU%s, %u open window%s, %u iterations\n",
               gpus, gpus == 1 ? "" : "s", a->open_windows, a->open_windows == 1 ? "" : "s", n);
        printf("begin+end: p50 %.1f us, p99 %.1f us, max %.1f us\n", p50, p99, max);
        return fflush(stdout) == 0 ? 0 : -1;
    }
    o = cJSON_CreateObject();
    if (o == NULL || !cJSON_AddStringToObject(o, "mode", "direct") ||
        !cJSON_AddNumberToObject(o, "gpus", gpus) ||
        !cJSON_AddNumberToObject(o, "open_windows", a->open_windows) ||
        !cJSON_AddNumberToObject(o, "iterations", n) ||
        !cJSON_AddNumberToObject(o, "p50_us", round(p50 * 10) / 10) ||
        !cJSON_AddNumberToObject(o, "p99_us", round(p99 * 10) / 10) ||
        !cJSON_AddNumberToObject(o, "max_us", round(max * 10) / 10) || cli_print_json(o) != 0)
        rc = -1;
    cJSON_Delete(o);
    return rc;
}

/* ---- Entry point ------------------------------------------------------------------------ */

static int bench_windows(const struct bench_args *a)
{
    zeus_monitor *mon;
    double *us = calloc(a->iterations, sizeof *us);
    unsigned gpus;
    int rc;

    if (us == NULL) {
        fprintf(stderr, "zeus bench: out of memory for %u iterations\n", a->iterations);
        return CLI_EXIT_FAILURE;
    }
    rc = create_monitor(a, &mon);
    if (rc != 0) {
        free(us);
        return rc;
    }
    gpus = a->gpus.all ? zeus_devices_gpu_count(zeus_monitor_devices(mon)) : (unsigned)a->gpus.count;
    print_device_line(a->json ? stderr : stdout, mon, gpus);
    if (open_background_windows(mon, a->open_windows - 1) != 0 || time_pairs(mon, NULL, 1) != 0 ||
        time_pairs(mon, us, a->iterations) != 0 || report(a, gpus, us) != 0)
        rc = CLI_EXIT_FAILURE;
    zeus_monitor_destroy(mon);
    free(us);
    return rc;
}

int cli_bench(int argc, char **argv)
{
    struct bench_args a;
    int rc;

    if (argc < 2 || cli_is_help(argv[1])) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "windows") != 0)
        return cli_usage_error("bench", "unknown benchmark '%s' (use windows)", argv[1]);
    rc = parse_args(argc - 1, argv + 1, &a);
    if (rc == -1) {
        fputs(usage, stdout);
        return CLI_EXIT_OK;
    }
    return rc != 0 ? rc : bench_windows(&a);
}
