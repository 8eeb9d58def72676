/*
 * emission_hours.h - One emission window's energy, split into UTC-hour buckets, and what each
 * bucket cost once priced (emission.c owns the windows, the lock and the provider).
 */
#ifndef ZEUS_MONITOR_EMISSION_HOURS_H
#define ZEUS_MONITOR_EMISSION_HOURS_H

#include <stdint.h>

#include "zeus/emission.h"
#include "zeus/monitor.h"

#define ZEUS__HOUR_S 3600.0

/*
 * A segment that spans more hours than this (a clock stepped by months, a machine suspended
 * for weeks) is not spread over them: its energy goes to its last hour, so a broken clock
 * cannot make a window allocate a bucket per hour of a decade.
 */
#define ZEUS__MAX_SPREAD_HOURS 744 /* 31 days */

struct zeus__hour_bucket {
    double hour_s; /* start of the UTC hour, unix s */
    double gpu_j[ZEUS_MAX_GPUS];
    double cpu_j[ZEUS_MAX_CPUS];
    double dram_j[ZEUS_MAX_CPUS];
    int closed;     /* no more energy will be added: it can be priced */
    int priced;     /* rate and flags are set; never priced again */
    double rate;    /* g/kWh or currency/kWh */
    uint32_t flags; /* ZEUS_RATE_* the provider gave */
};

/* A window's buckets, in hour order. */
struct zeus__hours {
    struct zeus__hour_bucket *b;
    unsigned n, cap;
};

/* The start of the UTC hour holding `unix_s`. */
double zeus__hour_floor(double unix_s);

/*
 * Add one segment's energy (the underlying monitor window `seg`, whose devices are in the
 * order of every other segment's) that ran from clock time t0 to t1. A segment within one
 * hour goes to that hour; one that spans several (the tick came late, or a test's clock
 * jumped) is spread over them in proportion to the clock time in each. Buckets of earlier
 * hours are closed. ZEUS_ERR_NO_MEMORY leaves the buckets as they were.
 */
zeus_status zeus__hours_add(struct zeus__hours *h, const zeus_measurement *seg, double t0,
                            double t1);

/* Close every bucket (the window ended). */
void zeus__hours_close_all(struct zeus__hours *h);

/* The first closed, unpriced bucket's hour at or after `after_s` (-INFINITY: the first); NAN
 * when there is none. */
double zeus__hours_next_unpriced(const struct zeus__hours *h, double after_s);

/* Price the closed, unpriced buckets of hour `hour_s`; returns how many were priced. */
unsigned zeus__hours_price(struct zeus__hours *h, double hour_s, double rate, uint32_t flags);

/*
 * Sum the buckets into `out`'s energy, amount, hours, pending_hours and flags fields, for the
 * devices `ident` names (its counts, indices, and NAN DRAM where a CPU has none).
 */
void zeus__hours_fill(const struct zeus__hours *h, const zeus_measurement *ident,
                      zeus_emission_measurement *out);

void zeus__hours_free(struct zeus__hours *h);

#endif /* ZEUS_MONITOR_EMISSION_HOURS_H */
