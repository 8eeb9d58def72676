/*
 * bso_sim.h - Zeus's trace-driven simulation of one recurring job: each recurrence asks the
 * batch size optimizer (bso/core, in process, as Zeus's tests/optimizer/batch_size/
 * simulate_with_server.py asks its server) for a batch size, picks the power limit with the
 * JIT power limit optimizer's rule, draws a training path from the trace and reports the run's
 * energy and time back, retrying until the target metric is reached.
 */
#ifndef ZEUS_CLI_BSO_SIM_H
#define ZEUS_CLI_BSO_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bso_trace.h"

struct bso_sim_config {
    struct bso_workload workload;
    const char *gpu;
    double eta;      /* in [0, 1] */
    double beta;     /* > 0; INFINITY turns early stopping off */
    uint64_t seed;   /* the path generator's and the bandit's (mab_seed) */
    int recurrences; /* > 0 */
    FILE *log;       /* NULL, or where each run and each bandit draw is written */
};

/* One run of the job (a recurrence takes one or more). */
struct bso_sim_run {
    int recurrence; /* from 1 */
    int batch_size, power_limit;
    double energy, time; /* J, s */
    bool reached;
};

struct bso_sim_result {
    struct bso_sim_run *runs;
    size_t num_runs;
    double energy, time;                   /* Zeus's total over every run */
    int baseline_power_limit;              /* the default batch size's largest limit */
    double baseline_energy, baseline_time; /* recurrences x the expected run of the baseline */
    size_t rejected_reports;               /* reports the optimizer refused (see bso_sim.c) */
};

/* 2 x batch sizes x power limits, as run_single.py and the paper choose. */
int bso_sim_default_recurrences(const struct bso_workload_trace *wt);

/*
 * Simulate. Returns 0 with *out filled (free with bso_sim_result_free), or -1 with a message
 * in `err`: Zeus's own "The default batch size B did not converge." and "Job did not reach the
 * target metric in 20 tries.", or an error from the optimizer.
 */
int bso_sim_run(const struct bso_workload_trace *wt, const struct bso_sim_config *c,
                struct bso_sim_result *out, char *err, size_t errlen);
void bso_sim_result_free(struct bso_sim_result *r);

#endif /* ZEUS_CLI_BSO_SIM_H */
