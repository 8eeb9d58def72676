/*
 * bso_trace.h - The NSDI'23 traces `zeus bso simulate` replays: summary_train.csv (per batch
 * size and seed, the epoch a target metric was reached) and summary_power_<gpu>.csv (per batch
 * size and power limit, the time and average power of one epoch), read into memory and cut
 * down to one workload the way Zeus's legacy simulator filters its pandas frames.
 *
 * The simulator joins the two files on (dataset, network, batch_size, optimizer), as its
 * `train_df.merge(power_df, how="inner")` does; rows keep their file order, which matters
 * because a run's "training path" is drawn by its index among the matching rows.
 */
#ifndef ZEUS_CLI_BSO_TRACE_H
#define ZEUS_CLI_BSO_TRACE_H

#include <stddef.h>

#define BSO_TRACE_NAME_MAX 64

/* One row of summary_train.csv. */
struct bso_train_row {
    char dataset[BSO_TRACE_NAME_MAX], network[BSO_TRACE_NAME_MAX];
    char optimizer[BSO_TRACE_NAME_MAX], learning_rate[BSO_TRACE_NAME_MAX];
    int batch_size, run;
    double target_metric;
    double target_epoch; /* NAN: this run never reached the target */
};

/* One row of summary_power_<gpu>.csv. */
struct bso_power_row {
    char dataset[BSO_TRACE_NAME_MAX], network[BSO_TRACE_NAME_MAX];
    char optimizer[BSO_TRACE_NAME_MAX];
    int batch_size, power_limit;
    double time_per_epoch, average_power;
};

/* Both files for one GPU. */
struct bso_trace {
    char gpu[16];
    struct bso_train_row *train;
    size_t num_train;
    struct bso_power_row *power;
    size_t num_power;
};

/* A workload: Zeus's legacy Job (dataset, network, optimizer, target metric, max epochs, b0). */
struct bso_workload {
    char dataset[BSO_TRACE_NAME_MAX], network[BSO_TRACE_NAME_MAX];
    char optimizer[BSO_TRACE_NAME_MAX];
    double target_metric;
    int max_epochs;
    int default_batch_size;
};

/* The trace of one batch size of a workload. */
struct bso_bs_trace {
    int batch_size;
    size_t num_paths;      /* train rows at the workload's target metric, in file order */
    double *target_epochs; /* [num_paths], NAN where the run never reached the target */
    size_t num_limits;     /* power rows, in file order */
    int *power_limits;
    double *time_per_epoch, *average_power;
};

/* What the simulator needs of one workload on one GPU. */
struct bso_workload_trace {
    double max_power;  /* the largest power limit of the whole joined trace of the GPU */
    size_t num_sizes;  /* batch sizes in both files for (dataset, network, optimizer) */
    struct bso_bs_trace *sizes; /* ascending batch size */
};

/* The GPUs the traces cover, in the order Zeus's scripts list them. */
extern const char *const bso_trace_gpus[4];

/*
 * Read DIR/summary_train.csv and DIR/summary_power_<gpu>.csv into *out. Returns 0, or -1
 * with a message naming the file (and line) in `err`: a file that cannot be opened, a missing
 * column, a line with the wrong number of fields, a number that does not parse.
 */
int bso_trace_load(const char *dir, const char *gpu, struct bso_trace *out, char *err,
                   size_t errlen);
void bso_trace_free(struct bso_trace *t);

/*
 * The trace of workload `w` in *out. Returns 0, or -1 with a message in `err` when the
 * workload has no rows, its default batch size is not among its batch sizes, or a batch size
 * has no run at the target metric or no power limits.
 */
int bso_workload_trace_build(const struct bso_trace *t, const struct bso_workload *w,
                             struct bso_workload_trace *out, char *err, size_t errlen);
void bso_workload_trace_free(struct bso_workload_trace *wt);

/* The entry for batch size `bs`, or NULL. */
const struct bso_bs_trace *bso_workload_trace_find(const struct bso_workload_trace *wt,
                                                   int bs);

/* The largest batch size the power trace has for `dataset` (run_alibaba.py's bmax), or 0. */
int bso_trace_max_batch_size(const struct bso_trace *t, const char *dataset);

#endif /* ZEUS_CLI_BSO_TRACE_H */
