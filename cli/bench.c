/*
 * bench.c - The `zeus bench` command: picks the benchmark (windows, accuracy, sampler), and
 * holds what they share (bench.h): the clock, percentiles, the device line, and the fake
 * NVML's control functions.
 *
 * Benchmarks report; they never assert on timing (DESIGN.md, bench/). bench/README.md says
 * what each one measures and keeps the numbers measured so far.
 */
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

static const char usage[] =
    "NAME\n"
    "    zeus bench - measure what energy measurement costs, and how exact it is\n"
    "\n"
    "SYNOPSIS\n"
    "    zeus bench windows [--gpus LIST] [--open-windows K] [--iterations N] [--direct]\n"
    "                       [--json]\n"
    "    zeus bench accuracy [--trials N] [--lengths MS,...] [--json]\n"
    "    zeus bench sampler [--gpus N] [--seconds S] [--json]\n"
    "    zeus bench startup [--gpus N] [--trials T] [--json]\n"
    "    zeus bench pfo [--iterations N] [--entries E] [--json]\n"
    "\n"
    "DESCRIPTION\n"
    "    windows   what a begin_window + end_window pair costs the caller (p50, p99, max).\n"
    "    accuracy  window energy against the true integral of simulated power traces, for\n"
    "              direct counter reads (Zeus's way) and the sampled engine.\n"
    "    sampler   CPU time the background sampler takes while it samples N GPUs.\n"
    "    startup   how long monitors take to be ready, for 1 and N GPUs.\n"
    "    pfo       what Perseus's on_instruction_begin costs the training thread.\n"
    "\n"
    "    `zeus bench BENCHMARK --help` describes each one; bench/README.md in the sources\n"
    "    has the numbers measured so far.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 on success; 1 when the measurement fails; 2 for a bad option.\n";

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
} benchmarks[] = {
    {"windows", cli_bench_windows},
    {"accuracy", cli_bench_accuracy},
    {"sampler", cli_bench_sampler},
    {"startup", cli_bench_startup},
    {"pfo", cli_bench_pfo},
};

int cli_bench(int argc, char **argv)
{
    if (argc < 2 || cli_is_help(argv[1])) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof benchmarks / sizeof benchmarks[0]; i++)
        if (strcmp(argv[1], benchmarks[i].name) == 0)
            return benchmarks[i].run(argc - 1, argv + 1);
    return cli_usage_error("bench", "unknown benchmark '%s' (use windows, accuracy or sampler)",
                           argv[1]);
}

/* ---- Time ------------------------------------------------------------------------------- */

double cli_bench_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void cli_bench_sleep_until(double t_s)
{
    struct timespec ts;

    if (!(t_s > 0))
        return;
    ts.tv_sec = (time_t)t_s;
    ts.tv_nsec = (long)((t_s - (double)ts.tv_sec) * 1e9);
    if (ts.tv_nsec >= 1000000000L)
        ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

/* ---- Statistics ------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void cli_bench_sort(double *v, size_t n)
{
    qsort(v, n, sizeof v[0], cmp_double);
}

double cli_bench_percentile(const double *v, size_t n, double p)
{
    size_t rank = (size_t)ceil(p / 100.0 * (double)n);

    if (rank > n)
        rank = n;
    return v[rank > 0 ? rank - 1 : 0];
}

double cli_bench_round(double v, int decimals)
{
    double scale = pow(10, decimals);
    return round(v * scale) / scale;
}

/* ---- Devices ---------------------------------------------------------------------------- */

void cli_bench_device_line(FILE *f, zeus_monitor *mon, unsigned gpus)
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

int cli_bench_fake_nvml(struct cli_fake_nvml *out, char *why, size_t why_len)
{
    static const char *const names[] = {"fake_nvml_reset", "fake_nvml_last_error",
                                        "fake_nvml_call_count", "fake_nvml_true_energy_j"};
    void *addr[sizeof names / sizeof names[0]];
    const char *path = getenv("ZEUS_NVML_LIBRARY");
    void *lib;

    if (path == NULL || *path == '\0') {
        snprintf(why, why_len, "ZEUS_NVML_LIBRARY is not set");
        return -1;
    }
    /* libzeus's flags, so that both get the one loaded copy. Never closed. */
    lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        snprintf(why, why_len, "cannot load %s: %s", path, dlerror());
        return -1;
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        addr[i] = dlsym(lib, names[i]);
        if (addr[i] == NULL) {
            snprintf(why, why_len, "%s has no %s: it is not the fake NVML", path, names[i]);
            return -1;
        }
    }
    /* POSIX lets a data pointer from dlsym become a function pointer; memcpy says so in C11. */
    memcpy(&out->reset, &addr[0], sizeof addr[0]);
    memcpy(&out->last_error, &addr[1], sizeof addr[1]);
    memcpy(&out->call_count, &addr[2], sizeof addr[2]);
    memcpy(&out->true_energy_j, &addr[3], sizeof addr[3]);
    return 0;
}
