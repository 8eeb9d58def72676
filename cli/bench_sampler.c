/*
 * bench_sampler.c - `zeus bench sampler`: the CPU time the background sampler takes while it
 * keeps N GPUs' energy series current.
 *
 * A sampled monitor over the GPUs holds one window open, as a training loop's long window
 * would, and the process then sleeps: whatever CPU time it uses over the span (user and
 * system, all threads, from getrusage and CLOCK_PROCESS_CPUTIME_ID) is the sampler's. The
 * result is a percentage of one core.
 *
 * On the fake NVML (ZEUS_NVML_LIBRARY) the bench sets up N simulated GPUs itself and also
 * reports how often the sampler read each counter. By default each energy read busy-waits
 * 3.8 ms of CPU, as nvmlDeviceGetTotalEnergyConsumption does on a real H200 (driver 580,
 * bench/README.md), so the simulated cost is the real one; --latency-us adds a sleeping
 * latency instead (what the fake modelled before). The bench also runs on real GPUs (then
 * --gpus N takes GPUs 0..N-1).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench.h"

static const char usage[] =
    "NAME\n"
    "    zeus bench sampler - CPU use of the background sampler\n"
    "\n"
    "SYNOPSIS\n"
    "    zeus bench sampler [--gpus N] [--seconds S] [--spin-us U] [--latency-us U]\n"
    "                       [--json]\n"
    "\n"
    "DESCRIPTION\n"
    "    Creates a sampled monitor over N GPUs, holds a window open, lets the sampler run\n"
    "    for half a second, then measures the process's CPU time (user + system, every\n"
    "    thread) over S seconds while the main thread sleeps, and prints it as a\n"
    "    percentage of one core.\n"
    "\n"
    "    When ZEUS_NVML_LIBRARY names the fake NVML, the bench sets it to N simulated GPUs\n"
    "    (ZEUS_FAKE_NVML='gpus=N;energy_latency_us=L;energy_spin_us=S'), ignores\n"
    "    CUDA_VISIBLE_DEVICES, and also reports how many energy counter reads the sampler\n"
    "    made per GPU per second.\n"
    "    Otherwise it samples real GPUs 0..N-1 (all visible GPUs without --gpus).\n"
    "\n"
    "OPTIONS\n"
    "    --gpus N          GPUs to sample (default 8 simulated, or every real GPU; 1-64).\n"
    "    --seconds S       measured span (default 5, at least 0.1).\n"
    "    --spin-us U       simulated GPUs: CPU time one energy read burns, busy-waiting\n"
    "                      as the real driver does (default 3800, an H200 on driver 580).\n"
    "    --latency-us U    simulated GPUs: time one energy read sleeps (default 0).\n"
    "    --json            print one JSON object: {\"mode\": \"sampled\", \"gpus\": 8,\n"
    "                      \"seconds\": 5, \"simulated\": true, \"cpu_percent\": 0.4,\n"
    "                      \"user_s\": 0.012, \"sys_s\": 0.008,\n"
    "                      \"energy_reads_per_gpu_s\": 10.0, \"energy_spin_us\": 3800,\n"
    "                      \"energy_latency_us\": 0}\n"
    "                      (energy_reads_per_gpu_s is null on real GPUs).\n"
    "    -h, --help        Print this text.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 on success; 1 when sampling fails; 2 for a bad option or a GPU that does not\n"
    "    exist.\n";

#define CMD "bench sampler"
#define WARM_UP_S 0.5
#define ENERGY_READ "nvmlDeviceGetTotalEnergyConsumption"

struct sampler_args {
    unsigned gpus; /* 0: default */
    double seconds;
    unsigned latency_us, spin_us;
    int json;
};

/* CPU time and the fake's read count at one moment. */
struct usage {
    double wall_s, cpu_s, user_s, sys_s;
    unsigned long long energy_reads;
};

/* ---- Arguments -------------------------------------------------------------------------- */

/* Handle option argv[*i]: 0 when taken, -1 for help, else an exit code. */
static int parse_option(int argc, char **argv, int *i, struct sampler_args *a)
{
    const char *v;
    int r;

    if (cli_is_help(argv[*i]))
        return -1;
    if (strcmp(argv[*i], "--json") == 0) {
        a->json = 1;
        return 0;
    }
    if ((r = cli_option_value(CMD, argc, argv, i, "--gpus", &v)) != 0)
        return r < 0 || cli_parse_unsigned(CMD, "--gpus", v, 1, ZEUS_MAX_GPUS, &a->gpus)
                   ? CLI_EXIT_USAGE : 0;
    if ((r = cli_option_value(CMD, argc, argv, i, "--seconds", &v)) != 0)
        return r < 0 || cli_parse_seconds(CMD, "--seconds", v, 0.1, &a->seconds)
                   ? CLI_EXIT_USAGE : 0;
    if ((r = cli_option_value(CMD, argc, argv, i, "--latency-us", &v)) != 0)
        return r < 0 || cli_parse_unsigned(CMD, "--latency-us", v, 0, 1000000, &a->latency_us)
                   ? CLI_EXIT_USAGE : 0;
    if ((r = cli_option_value(CMD, argc, argv, i, "--spin-us", &v)) != 0)
        return r < 0 || cli_parse_unsigned(CMD, "--spin-us", v, 0, 100000, &a->spin_us)
                   ? CLI_EXIT_USAGE : 0;
    return cli_usage_error(CMD, "unknown option '%s'", argv[*i]);
}

static int parse_args(int argc, char **argv, struct sampler_args *a)
{
    memset(a, 0, sizeof *a);
    a->seconds = 5;
    a->latency_us = 0;
    a->spin_us = 3800;
    for (int i = 1; i < argc; i++) {
        int rc = parse_option(argc, argv, &i, a);
        if (rc != 0)
            return rc;
    }
    if (a->seconds > 3600)
        return cli_usage_error(CMD, "--seconds: at most 3600");
    return 0;
}

/* ---- Measuring -------------------------------------------------------------------------- */

static double tv_s(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec * 1e-6;
}

static void take_usage(const struct cli_fake_nvml *fake, struct usage *u)
{
    struct timespec ts;
    struct rusage ru;

    u->wall_s = cli_bench_now_s();
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    u->cpu_s = (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
    getrusage(RUSAGE_SELF, &ru);
    u->user_s = tv_s(ru.ru_utime);
    u->sys_s = tv_s(ru.ru_stime);
    u->energy_reads = fake != NULL ? fake->call_count(ENERGY_READ) : 0;
}

/*
 * Set the simulated GPUs up when the fake is loaded; *fake is NULL on real GPUs. Returns 0,
 * or an exit code after saying why not.
 */
static int set_up_devices(struct sampler_args *a, struct cli_fake_nvml *store,
                          const struct cli_fake_nvml **fake)
{
    char why[512], spec[160];

    *fake = NULL;
    if (cli_bench_fake_nvml(store, why, sizeof why) != 0)
        return 0; /* real GPUs */
    if (a->gpus == 0)
        a->gpus = 8;
    snprintf(spec, sizeof spec, "gpus=%u;energy_latency_us=%u;energy_spin_us=%u", a->gpus,
             a->latency_us, a->spin_us);
    if (setenv("ZEUS_FAKE_NVML", spec, 1) != 0 || store->reset(spec) != 0) {
        fprintf(stderr, "zeus %s: the fake NVML refused '%s': %s\n", CMD, spec,
                store->last_error());
        return CLI_EXIT_FAILURE;
    }
    unsetenv("CUDA_VISIBLE_DEVICES");
    *fake = store;
    return 0;
}

static int create_monitor(const struct sampler_args *a, zeus_monitor **mon)
{
    static const unsigned no_cpus[1];
    unsigned gpus[ZEUS_MAX_GPUS];
    zeus_monitor_options o;
    zeus_status s;

    zeus_monitor_options_init(&o);
    for (unsigned i = 0; i < a->gpus; i++)
        gpus[i] = i;
    o.gpu_indices = a->gpus > 0 ? gpus : NULL; /* NULL: every real GPU */
    o.gpu_index_count = a->gpus;
    o.cpu_indices = no_cpus;
    o.cpu_index_count = 0;
    s = zeus_monitor_create(&o, mon);
    if (s == ZEUS_OK)
        return 0;
    fprintf(stderr, "zeus %s: %s\n", CMD, zeus_last_error());
    return s == ZEUS_ERR_NOT_FOUND || s == ZEUS_ERR_INVALID_ARGUMENT ? CLI_EXIT_USAGE
                                                                      : CLI_EXIT_FAILURE;
}

/* ---- Reporting -------------------------------------------------------------------------- */

static int report(const struct sampler_args *a, unsigned gpus, int simulated,
                  const struct usage *u0, const struct usage *u1)
{
    double wall = u1->wall_s - u0->wall_s, cpu = u1->cpu_s - u0->cpu_s;
    double pct = 100.0 * cpu / wall;
    double user = u1->user_s - u0->user_s, sys = u1->sys_s - u0->sys_s;
    double reads = simulated && gpus > 0
                       ? (double)(u1->energy_reads - u0->energy_reads) / gpus / wall
                       : NAN;
    cJSON *o;
    int ok;

    if (!a->json) {
        printf("sampler: %u %s GPU%s, %.1f s\n", gpus, simulated ? "simulated" : "real",
               gpus == 1 ? "" : "s", wall);
        printf("CPU: %.2f%% of one core (%.3f s: user %.3f s, system %.3f s)\n", pct, cpu,
               user, sys);
        if (simulated)
            printf("energy counter reads: %.1f per GPU per second (energy read: %u us "
                   "spinning, %u us asleep)\n",
                   reads, a->spin_us, a->latency_us);
        return fflush(stdout) == 0 ? 0 : -1;
    }
    o = cJSON_CreateObject();
    ok = o != NULL && cJSON_AddStringToObject(o, "mode", "sampled") &&
         cJSON_AddNumberToObject(o, "gpus", gpus) &&
         cJSON_AddNumberToObject(o, "seconds", a->seconds) &&
         cJSON_AddBoolToObject(o, "simulated", simulated) &&
         cJSON_AddNumberToObject(o, "cpu_percent", cli_bench_round(pct, 3)) &&
         cJSON_AddNumberToObject(o, "user_s", cli_bench_round(user, 4)) &&
         cJSON_AddNumberToObject(o, "sys_s", cli_bench_round(sys, 4)) &&
         (simulated ? cJSON_AddNumberToObject(o, "energy_reads_per_gpu_s",
                                              cli_bench_round(reads, 2)) != NULL
                    : cJSON_AddNullToObject(o, "energy_reads_per_gpu_s") != NULL) &&
         cJSON_AddNumberToObject(o, "energy_spin_us", a->spin_us) &&
         cJSON_AddNumberToObject(o, "energy_latency_us", a->latency_us) &&
         cli_print_json(o) == 0;
    cJSON_Delete(o);
    return ok ? 0 : -1;
}

/* ---- Entry point ------------------------------------------------------------------------ */

static int run(struct sampler_args *a)
{
    const struct cli_fake_nvml *fake;
    struct cli_fake_nvml store;
    struct usage u0, u1;
    zeus_measurement m;
    zeus_monitor *mon;
    unsigned gpus;
    int rc = set_up_devices(a, &store, &fake);

    if (rc != 0 || (rc = create_monitor(a, &mon)) != 0)
        return rc;
    gpus = zeus_devices_gpu_count(zeus_monitor_devices(mon));
    gpus = a->gpus > 0 ? a->gpus : gpus;
    cli_bench_device_line(a->json ? stderr : stdout, mon, gpus);
    if (zeus_monitor_begin_window(mon, "zeus.bench.sampler", 0) != ZEUS_OK) {
        fprintf(stderr, "zeus %s: %s\n", CMD, zeus_last_error());
        zeus_monitor_destroy(mon);
        return CLI_EXIT_FAILURE;
    }
    cli_bench_sleep_until(cli_bench_now_s() + WARM_UP_S);
    take_usage(fake, &u0);
    cli_bench_sleep_until(u0.wall_s + a->seconds);
    take_usage(fake, &u1);
    if (zeus_monitor_end_window(mon, "zeus.bench.sampler", 0, &m) != ZEUS_OK) {
        fprintf(stderr, "zeus %s: sampling failed: %s\n", CMD, zeus_last_error());
        rc = CLI_EXIT_FAILURE;
    }
    if (rc == 0 && report(a, gpus, fake != NULL, &u0, &u1) != 0)
        rc = CLI_EXIT_FAILURE;
    zeus_monitor_destroy(mon);
    return rc;
}

int cli_bench_sampler(int argc, char **argv)
{
    struct sampler_args a;
    int rc = parse_args(argc, argv, &a);

    if (rc == -1) {
        fputs(usage, stdout);
        return CLI_EXIT_OK;
    }
    return rc != 0 ? rc : run(&a);
}
