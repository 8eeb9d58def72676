/*
 * bench_windows.c - `zeus bench windows`: what a begin_window + end_window pair costs the
 * caller.
 *
 * Each iteration times one begin and one end (flags 0: no synchronisation callback, no wait
 * for final values) with CLOCK_MONOTONIC around the pair, on a monitor over the chosen GPUs
 * and no CPUs, while K-1 other windows stay open, after one untimed warm-up pair. It reports
 * the 50th and 99th percentiles and the maximum.
 *
 * The default is the sampled engine, where begin and end only take a timestamp and the
 * energy comes from the background sampler's series. --direct makes every begin and end read
 * each GPU's energy counter, as Zeus does: on an H100 that is 2.7 ms per read
 * (reference/GPU-MEASUREMENTS.md), which the fake NVML simulates with energy_latency_us=2700.
 * The output says whether the GPUs were real or simulated.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static const char usage[] =
    "NAME\n"
    "    zeus bench windows - measure the overhead of energy measurement windows\n"
    "\n"
    "SYNOPSIS\n"
    "    zeus bench windows [--gpus LIST] [--open-windows K] [--iterations N] [--direct]\n"
    "                       [--json]\n"
    "\n"
    "DESCRIPTION\n"
    "    Times N begin_window + end_window pairs on a monitor over the chosen GPUs (no CPUs),\n"
    "    with K-1 other windows held open meanwhile, after one untimed warm-up pair. Prints\n"
    "    the 50th and 99th percentiles and the maximum, in microseconds, and whether the\n"
    "    GPUs are real or simulated (ZEUS_NVML_LIBRARY set).\n"
    "\n"
    "    By default windows use the sampled engine: begin and end take a timestamp and the\n"
    "    background sampler supplies the energy. With --direct they read every GPU's energy\n"
    "    counter themselves, as Zeus does (2.7 ms a read on an H100).\n"
    "\n"
    "OPTIONS\n"
    "    --gpus LIST        GPUs: all (default), none, or indices such as 0,2.\n"
    "    --open-windows K   windows open during each timed pair, itself included\n"
    "                       (default 1, at most 10000).\n"
    "    --iterations N     timed pairs (default 10000, or 1000 with --direct, whose\n"
    "                       pairs take milliseconds; at most 10000000).\n"
    "    --direct           read the counters in begin and end (Zeus's way).\n"
    "    --json             print only one JSON object on stdout (the device line goes to\n"
    "                       stderr): {\"mode\": \"sampled\", \"gpus\": 1, \"open_windows\": 1,\n"
    "                       \"iterations\": 10000, \"p50_us\": 0.8, \"p99_us\": 3.1,\n"
    "                       \"max_us\": 41.7}; \"mode\" is \"direct\" with --direct.\n"
    "    -h, --help         Print this text.\n"
    "\n"
    "EXAMPLES\n"
    "    ZEUS_NVML_LIBRARY=build/libnvidia-ml-fake.so.1 \\\n"
    "    ZEUS_FAKE_NVML='gpus=8;energy_latency_us=2700' zeus bench windows --open-windows 64\n"
    "\n"
    "EXIT STATUS\n"
    "    0 on success; 1 when a window fails; 2 for a bad option or a GPU that does not\n"
    "    exist.\n";

#define CMD "bench windows"
#define BENCH_WINDOW "zeus.bench"

struct windows_args {
    struct cli_device_list gpus;
    unsigned open_windows;
    unsigned iterations;
    int direct;
    int json;
};

/* ---- Arguments -------------------------------------------------------------------------- */

/* Handle option argv[*i]: 0 when taken, -1 for help, else an exit code. */
static int parse_option(int argc, char **argv, int *i, struct windows_args *a)
{
    const char *v;
    int r;

    if (cli_is_help(argv[*i]))
        return -1;
    if (strcmp(argv[*i], "--json") == 0) {
        a->json = 1;
        return 0;
    }
    if (strcmp(argv[*i], "--direct") == 0) {
        a->direct = 1;
        return 0;
    }
    if ((r = cli_option_value(CMD, argc, argv, i, "--gpus", &v)) != 0)
        return r < 0 || cli_parse_device_list(CMD, "--gpus", v, &a->gpus) ? CLI_EXIT_USAGE : 0;
    if ((r = cli_option_value(CMD, argc, argv, i, "--open-windows", &v)) != 0)
        return r < 0 || cli_parse_unsigned(CMD, "--open-windows", v, 1, 10000,
                                           &a->open_windows) ? CLI_EXIT_USAGE : 0;
    if ((r = cli_option_value(CMD, argc, argv, i, "--iterations", &v)) != 0)
        return r < 0 || cli_parse_unsigned(CMD, "--iterations", v, 1, 10000000,
                                           &a->iterations) ? CLI_EXIT_USAGE : 0;
    return cli_usage_error(CMD, "unknown option '%s'", argv[*i]);
}

static int parse_args(int argc, char **argv, struct windows_args *a)
{
    memset(a, 0, sizeof *a);
    a->gpus.all = 1;
    a->open_windows = 1;
    for (int i = 1; i < argc; i++) {
        int rc = parse_option(argc, argv, &i, a);
        if (rc != 0)
            return rc;
    }
    if (a->iterations == 0)
        a->iterations = a->direct ? 1000 : 10000;
    return 0;
}

/* ---- Measuring -------------------------------------------------------------------------- */

/* Time `n` pairs into us[] (NULL: untimed); returns 0, or -1 after printing why one failed. */
static int time_pairs(zeus_monitor *mon, double *us, unsigned n)
{
    for (unsigned k = 0; k < n; k++) {
        zeus_measurement m;
        double t0 = cli_bench_now_s();

        if (zeus_monitor_begin_window(mon, BENCH_WINDOW, 0) != ZEUS_OK ||
            zeus_monitor_end_window(mon, BENCH_WINDOW, 0, &m) != ZEUS_OK) {
            fprintf(stderr, "zeus bench: window failed: %s\n", zeus_last_error());
            return -1;
        }
        if (us != NULL)
            us[k] = (cli_bench_now_s() - t0) * 1e6;
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

static int create_monitor(const struct windows_args *a, zeus_monitor **mon)
{
    static const unsigned no_cpus[1];
    zeus_monitor_options o;
    zeus_status s;

    zeus_monitor_options_init(&o);
    o.gpu_indices = cli_device_list_indices(&a->gpus, &o.gpu_index_count);
    o.cpu_indices = no_cpus; /* non-NULL with a count of 0: no CPUs */
    o.cpu_index_count = 0;
    o.warn = NULL; /* thousands of short windows would each warn about zero energy */
    o.direct_reads = a->direct;
    s = zeus_monitor_create(&o, mon);
    if (s == ZEUS_OK)
        return 0;
    fprintf(stderr, "zeus bench: %s\n", zeus_last_error());
    return s == ZEUS_ERR_NOT_FOUND || s == ZEUS_ERR_INVALID_ARGUMENT ? CLI_EXIT_USAGE
                                                                      : CLI_EXIT_FAILURE;
}

/* ---- Reporting -------------------------------------------------------------------------- */

static int report(const struct windows_args *a, unsigned gpus, double *us)
{
    const char *mode = a->direct ? "direct" : "sampled";
    unsigned n = a->iterations;
    double p50, p99, max;
    cJSON *o;
    int rc = 0;

    cli_bench_sort(us, n);
    p50 = cli_bench_percentile(us, n, 50);
    p99 = cli_bench_percentile(us, n, 99);
    max = us[n - 1];
    if (!a->json) {
        printf("windows: %s, %u GPU%s, %u open window%s, %u iterations\n",
               a->direct ? "direct counter reads" : "sampled engine", gpus,
               gpus == 1 ? "" : "s", a->open_windows, a->open_windows == 1 ? "" : "s", n);
        printf("begin+end: p50 %.1f us, p99 %.1f us, max %.1f us\n", p50, p99, max);
        return fflush(stdout) == 0 ? 0 : -1;
    }
    o = cJSON_CreateObject();
    if (o == NULL || !cJSON_AddStringToObject(o, "mode", mode) ||
        !cJSON_AddNumberToObject(o, "gpus", gpus) ||
        !cJSON_AddNumberToObject(o, "open_windows", a->open_windows) ||
        !cJSON_AddNumberToObject(o, "iterations", n) ||
        !cJSON_AddNumberToObject(o, "p50_us", cli_bench_round(p50, 1)) ||
        !cJSON_AddNumberToObject(o, "p99_us", cli_bench_round(p99, 1)) ||
        !cJSON_AddNumberToObject(o, "max_us", cli_bench_round(max, 1)) ||
        cli_print_json(o) != 0)
        rc = -1;
    cJSON_Delete(o);
    return rc;
}

/* ---- Entry point ------------------------------------------------------------------------ */

static int run(const struct windows_args *a)
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
    gpus = a->gpus.all ? zeus_devices_gpu_count(zeus_monitor_devices(mon))
                       : (unsigned)a->gpus.count;
    cli_bench_device_line(a->json ? stderr : stdout, mon, gpus);
    if (open_background_windows(mon, a->open_windows - 1) != 0 || time_pairs(mon, NULL, 1) != 0 ||
        time_pairs(mon, us, a->iterations) != 0 || report(a, gpus, us) != 0)
        rc = CLI_EXIT_FAILURE;
    zeus_monitor_destroy(mon);
    free(us);
    return rc;
}

int cli_bench_windows(int argc, char **argv)
{
    struct windows_args a;
    int rc = parse_args(argc, argv, &a);

    if (rc == -1) {
        fputs(usage, stdout);
        return CLI_EXIT_OK;
    }
    return rc != 0 ? rc : run(&a);
}
