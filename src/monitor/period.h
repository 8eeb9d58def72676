/*
 * period.h - Inferring how often GPUs' power readings change, to poll them at the right rate
 * (Zeus's infer_counter_update_period, zeus-core.md 2.3, made to work at C speed).
 */
#ifndef ZEUS_MONITOR_PERIOD_H
#define ZEUS_MONITOR_PERIOD_H

#include <stddef.h>
#include <stdint.h>

#include "zeus/device.h"
#include "zeus/status.h"

/* The longest poll period inferred, seconds, as in Zeus. */
#define ZEUS__PERIOD_MAX_S 0.1

/* How the readings are watched; zero fields take the defaults. */
typedef struct zeus__period_options {
    double budget_s;        /* longest time spent watching; 0: 1 s */
    unsigned intervals;     /* stop once every model showed this many change intervals; 0: 3 */
    int64_t poll_gap_ns;    /* pause between rounds of reads; 0: 100 us */
} zeus__period_options;

/* What the inference saw, for warnings and tests. */
typedef struct zeus__period_report {
    double period_s;         /* the result: half the fastest change interval, at most 0.1 s */
    double fastest_s;        /* the fastest model's change interval (or its fallback), s */
    unsigned models;         /* distinct GPU models probed */
    unsigned models_without_changes; /* models whose reading never changed in the budget */
    unsigned models_without_power;   /* models with neither instant nor average power */
    int clamped;             /* 1 when half the interval exceeded 0.1 s and was cut to it */
} zeus__period_report;

/*
 * Watch the power readings of `gpus` (count >= 1 framework indices of `devs`) and infer the
 * period at which to poll them: half the fastest interval between changes of the reading,
 * over the GPU models among them (the first GPU of each distinct name is watched), at most
 * 0.1 s. Zeus's fallbacks apply per model: no instant or average power gives 0.2 s (0.1 s
 * after halving); fewer than two changes seen gives 0.1 s (0.05 s after halving).
 *
 * opts: NULL for the defaults. out: filled on ZEUS_OK. Returns ZEUS_ERR_NOT_FOUND for an
 * unknown GPU, ZEUS_ERR_INVALID_ARGUMENT for no GPUs. Blocks for up to opts->budget_s.
 */
zeus_status zeus__infer_update_period(zeus_devices *devs, const unsigned *gpus, size_t count,
                                      const zeus__period_options *opts,
                                      zeus__period_report *out);

/*
 * The fastest change interval, in nanoseconds, from the times at which a reading was seen
 * to change (n times, increasing): the median of the intervals within 1.5x of the shortest,
 * so that one late poll does not set the period. 0 when n < 2.
 */
int64_t zeus__period_from_changes(const int64_t *change_ns, size_t n);

#endif /* ZEUS_MONITOR_PERIOD_H */
