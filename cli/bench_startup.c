/*
 * bench_startup.c - `zeus bench startup`: how long a monitor takes to be ready, for 1 GPU
 * and for N, the moment a program that measures itself starts.
 *
 * Three times per trial, each from a fresh process state (every monitor of the previous
 * trial destroyed, so the sampler threads and NVML start again):
 *   - zeus_monitor_create (sampled), which no longer waits for the sampler to lock onto the
 *     counter (issue 9);
 *   - the time from the start of that create to the final value of a window begun at once
 *     and ended 10 ms later: when a program first knows an exact energy;
 *   - zeus_power_monitor_create with the period inferred (the default).
 * On the fake NVML (ZEUS_NVML_LIBRARY) the GPUs are simulated H100s whose energy reads take
 * --latency-us; otherwise the real GPUs 0..N-1 are used.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static const char usage[] =
    "NAME\n"
    "    zeus bench startup - how long monitors take to be ready\n"
    "\n"
    "SYNOPSIS\n"
    "    zeus bench startup [--gpus N] [--trials T] [--latency-us U] [--json]\n"
    "\n"
    "DESCRIPTION\n"
    "    For 1 GPU and for N GPUs, T times each: the time zeus_monitor_create takes, the\n"
    "    time from its start to the final value of a 10 ms window begun at once, and the\n"
    "    time zeus_power_monitor_create takes with the sampling period inferred. Prints\n"
    "    the median and the worst of the trials.\n"
    "\n"
    "    When ZEUS_NVML_LIBRARY names the fake NVML, the GPUs are N simulated H100s\n"
    "    (ZEUS_FAKE_NVML='gpus=N;energy_latency_us=U'); otherwise real GPUs 0..N-1.\n"
    "\n"
    "OPTIONS\n"
    "    --gpus N          GPUs in the larger case (default 8 simulated, or every real GPU).\n"
    "    --trials T        trials per case (default 5, 1-100).\n"
    "    --latency-us U    simulated GPUs: time one energy read takes (default 2700).\n"
    "    --json            one JSON object: {\"simulated\": true, \"trials\": 5, \"cases\":\n"
    "                      [{\"gpus\": 1, \"monitor_create_ms\": {\"p50\": .., \"max\": ..},\n"
    "                      \"first_final_ms\": {..}, \"power_monitor_create_ms\": {..}}, ..]}\n"
    "    -h, --help        Print this text.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 on success; 1 when a monitor cannot be created; 2 for a bad option.\n";

#define CMD "bench startup"
#define MAX_TRIALS 100

struct startup_args {
    unsigned gpus, trials, latency_us;
    int json;
};

struct one_case {
    unsigned gpus;
    double create_ms[MAX_TRIALS], final_ms[MAX_TRIALS], power_ms[MAX_TRIALS];
};

/* ---- Arguments -------------------------------------------------------------------------- */

static int parse_option(int argc, char **argv, int *i, struct startup_args *a)
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
    if ((r = cli_option_value(CMD, argc, argv, i, "--trials", &v)) != 0)
        return r < 0 || cli_parse_unsigned(CMD, "--trials", v, 1, MAX_TRIALS, &a->trials)
                   ? CLI_EXIT_USAGE : 0;
    if ((r = cli_option_value(CMD, argc, argv, i, "--latency-us", &v)) != 0)
        return r < 0 || cli_parse_unsigned(CMD, "--latency-us", v, 0, 1000000, &a->latency_us)
                   ? CLI_EXIT_USAGE : 0;
    return cli_usage_error(CMD, "unknown option '%s'", argv[*i]);
}

/* ---- Measuring -------------------------------------------------------------------------- */

static int fail(const char *what)
{
    fprintf(stderr, "zeus %s: %s: %s\n", CMD, what, zeus_last_error());
    return CLI_EXIT_FAILURE;
}

/* One trial over GPUs 0..n-1: fills the three times of trial `t`. */
static int trial(unsigned n, struct one_case *c, unsigned t)
{
    static const unsigned no_cpus[1];
    unsigned gpus[ZEUS_MAX_GPUS];
    zeus_monitor_options o;
    zeus_power_monitor_options po;
    zeus_power_monitor *pm;
    zeus_measurement m;
    zeus_monitor *mon;
    double t0;

    for (unsigned i = 0; i < n; i++)
        gpus[i] = i;
    zeus_monitor_options_init(&o);
    o.gpu_indices = gpus;
    o.gpu_index_count = n;
    o.cpu_indices = no_cpus;
    o.cpu_index_count = 0;
    t0 = cli_bench_now_s();
    if (zeus_monitor_create(&o, &mon) != ZEUS_OK)
        return fail("zeus_monitor_create");
    c->create_ms[t] = (cli_bench_now_s() - t0) * 1e3;
    zeus_monitor_begin_window(mon, "startup", 0);
    cli_bench_sleep_until(cli_bench_now_s() + 0.01);
    if (zeus_monitor_end_window(mon, "startup", ZEUS_WINDOW_WAIT_FINAL, &m) != ZEUS_OK) {
        zeus_monitor_destroy(mon);
        return fail("the first window");
    }
    c->final_ms[t] = (cli_bench_now_s() - t0) * 1e3;
    zeus_monitor_destroy(mon);

    zeus_power_monitor_options_init(&po);
    po.gpu_indices = gpus;
    po.gpu_index_count = n;
    t0 = cli_bench_now_s();
    if (zeus_power_monitor_create(&po, &pm) != ZEUS_OK)
        return fail("zeus_power_monitor_create");
    c->power_ms[t] = (cli_bench_now_s() - t0) * 1e3;
    zeus_power_monitor_destroy(pm);
    return 0;
}

/* ---- Reporting -------------------------------------------------------------------------- */

static cJSON *stats_json(double *v, unsigned n)
{
    cJSON *o = cJSON_CreateObject();

    cli_bench_sort(v, n);
    cJSON_AddNumberToObject(o, "p50", cli_bench_round(cli_bench_percentile(v, n, 50), 2));
    cJSON_AddNumberToObject(o, "max", cli_bench_round(v[n - 1], 2));
    return o;
}

static void print_line(const char *what, double *v, unsigned n)
{
    cli_bench_sort(v, n);
    printf("  %-26s p50 %8.2f ms   max %8.2f ms\n", what, cli_bench_percentile(v, n, 50),
           v[n - 1]);
}

static int report(const struct startup_args *a, int simulated, struct one_case *cases,
                  unsigned count)
{
    if (!a->json) {
        printf("startup: %s GPUs, %u trials each\n", simulated ? "simulated" : "real",
               a->trials);
        for (unsigned k = 0; k < count; k++) {
            printf("%u GPU%s:\n", cases[k].gpus, cases[k].gpus == 1 ? "" : "s");
            print_line("zeus_monitor_create", cases[k].create_ms, a->trials);
            print_line("first final window value", cases[k].final_ms, a->trials);
            print_line("zeus_power_monitor_create", cases[k].power_ms, a->trials);
        }
        return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
    }
    {
        cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "cases");
        int ok;

        cJSON_AddBoolToObject(o, "simulated", simulated);
        cJSON_AddNumberToObject(o, "trials", a->trials);
        for (unsigned k = 0; k < count; k++) {
            cJSON *c = cJSON_CreateObject();
            cJSON_AddNumberToObject(c, "gpus", cases[k].gpus);
            cJSON_AddItemToObject(c, "monitor_create_ms", stats_json(cases[k].create_ms, a->trials));
            cJSON_AddItemToObject(c, "first_final_ms", stats_json(cases[k].final_ms, a->trials));
            cJSON_AddItemToObject(c, "power_monitor_create_ms",
                                  stats_json(cases[k].power_ms, a->trials));
            cJSON_AddItemToArray(arr, c);
        }
        ok = cli_print_json(o) == 0;
        cJSON_Delete(o);
        return ok ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
    }
}

/* ---- Entry point ------------------------------------------------------------------------ */

int cli_bench_startup(int argc, char **argv)
{
    struct startup_args a = {.trials = 5, .latency_us = 2700};
    static struct one_case cases[2];
    struct cli_fake_nvml fake;
    char why[512], spec[128];
    int simulated, rc;
    unsigned count;

    for (int i = 1; i < argc; i++) {
        rc = parse_option(argc, argv, &i, &a);
        if (rc == -1) {
            fputs(usage, stdout);
            return CLI_EXIT_OK;
        }
        if (rc != 0)
            return rc;
    }
    simulated = cli_bench_fake_nvml(&fake, why, sizeof why) == 0;
    if (simulated) {
        if (a.gpus == 0)
            a.gpus = 8;
        snprintf(spec, sizeof spec, "gpus=%u;energy_latency_us=%u", a.gpus, a.latency_us);
        if (setenv("ZEUS_FAKE_NVML", spec, 1) != 0 || fake.reset(spec) != 0) {
            fprintf(stderr, "zeus %s: the fake NVML refused '%s': %s\n", CMD, spec,
                    fake.last_error());
            return CLI_EXIT_FAILURE;
        }
        unsetenv("CUDA_VISIBLE_DEVICES");
    } else if (a.gpus == 0) {
        zeus_devices *devs;
        if (zeus_devices_create(&devs) != ZEUS_OK)
            return fail("zeus_devices_create");
        a.gpus = zeus_devices_gpu_count(devs);
        zeus_devices_destroy(devs);
        if (a.gpus == 0) {
            fprintf(stderr, "zeus %s: no GPU found\n", CMD);
            return CLI_EXIT_FAILURE;
        }
    }
    cases[0].gpus = 1;
    cases[1].gpus = a.gpus;
    count = a.gpus > 1 ? 2 : 1;
    for (unsigned k = 0; k < count; k++)
        for (unsigned t = 0; t < a.trials; t++)
            if ((rc = trial(cases[k].gpus, &cases[k], t)) != 0)
                return rc;
    return report(&a, simulated, cases, count);
}
