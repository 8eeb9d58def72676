/*
 * bench.h - What the `zeus bench` benchmarks share (bench.c): their entry points, the clock,
 * percentiles, the line that says which GPUs were measured, and the fake NVML's control
 * functions for the benchmarks that need simulated GPUs.
 *
 * The benchmarks report numbers; nothing here judges them. Like the rest of cli/, these files
 * use the public headers only.
 */
#ifndef ZEUS_CLI_BENCH_H
#define ZEUS_CLI_BENCH_H

#include <stddef.h>
#include <stdio.h>

#include "cli.h"

/* ---- The benchmarks ------------------------------------------------------------------- */

/* Each takes the arguments from its own name on (argv[0] is "windows", ...). */
int cli_bench_windows(int argc, char **argv);  /* bench_windows.c */
int cli_bench_accuracy(int argc, char **argv); /* bench_accuracy.c */
int cli_bench_sampler(int argc, char **argv);  /* bench_sampler.c */
int cli_bench_startup(int argc, char **argv);  /* bench_startup.c */
int cli_bench_pfo(int argc, char **argv);      /* bench_pfo.c */

/* ---- Time ----------------------------------------------------------------------------- */

/* CLOCK_MONOTONIC in seconds: the clock of zeus_now() and of every library timestamp. */
double cli_bench_now_s(void);

/* Sleep until CLOCK_MONOTONIC reads `t_s` (at once if it has passed). */
void cli_bench_sleep_until(double t_s);

/* ---- Statistics ----------------------------------------------------------------------- */

/* Sort v[0..n) ascending. */
void cli_bench_sort(double *v, size_t n);

/* Nearest-rank percentile of sorted `v` (n > 0): the smallest value with p% at or below. */
double cli_bench_percentile(const double *v, size_t n, double p);

/* `v` rounded to `decimals` places, for JSON that a person reads too. */
double cli_bench_round(double v, int decimals);

/* ---- Devices -------------------------------------------------------------------------- */

/*
 * Print "devices: ..." on `f`: whether the `gpus` GPUs measured are real, simulated (an NVML
 * override), or absent.
 */
void cli_bench_device_line(FILE *f, zeus_monitor *mon, unsigned gpus);

/*
 * The fake NVML's control functions (tests/fakes/fake_nvml.h) that the benchmarks use, from
 * the library ZEUS_NVML_LIBRARY names. dlopen with libzeus's flags returns the copy libzeus
 * loads, so a reset here reconfigures the GPUs that libzeus sees.
 */
struct cli_fake_nvml {
    int (*reset)(const char *spec);
    const char *(*last_error)(void);
    unsigned long long (*call_count)(const char *function);
    double (*true_energy_j)(unsigned physical_index, double t0_mono_s, double t1_mono_s);
};

/*
 * Fill `out`; returns 0, or -1 with `why` saying what is missing (ZEUS_NVML_LIBRARY unset,
 * not loadable, or not the fake). The library stays loaded for the life of the process.
 */
int cli_bench_fake_nvml(struct cli_fake_nvml *out, char *why, size_t why_len);

#endif /* ZEUS_CLI_BENCH_H */
