/*
 * family.h - The push metrics' in-memory state: a metric family (counter, gauge or
 * histogram) whose series are keyed by Zeus's two labels, window and index, and its
 * rendering in the text format.
 *
 * Not locked: each metric object guards its families with its own lock.
 */
#ifndef ZEUS_METRICS_FAMILY_H
#define ZEUS_METRICS_FAMILY_H

#include <stddef.h>

#include "metrics/prom_text.h"

enum zeus__family_type { ZEUS__COUNTER, ZEUS__GAUGE, ZEUS__HISTOGRAM };

struct zeus__series {
    char *window;
    unsigned index;
    double value;    /* counter, gauge; histogram: sum */
    double *counts;  /* histogram: one per bucket plus +Inf, not cumulative */
    unsigned long long count;
    struct zeus__series *next;
};

struct zeus__family {
    enum zeus__family_type type;
    const char *name; /* static; a counter's name without _total */
    const char *help; /* static */
    double *buckets;  /* histogram: upper bounds, strictly increasing, no +Inf */
    size_t bucket_count;
    struct zeus__series *series; /* oldest last */
};

/* Set up a family; buckets (histogram only) are copied. Returns -1 when out of memory. */
int zeus__family_init(struct zeus__family *f, enum zeus__family_type type, const char *name,
                      const char *help, const double *buckets, size_t bucket_count);
void zeus__family_fini(struct zeus__family *f);

/* The series (window, index), created at 0 if new; NULL when out of memory. */
struct zeus__series *zeus__family_series(struct zeus__family *f, const char *window,
                                         unsigned index);

/* Histogram: add one observation. */
void zeus__series_observe(const struct zeus__family *f, struct zeus__series *s, double v);

/* Write HELP, TYPE and every series (nothing when there is no series). */
void zeus__family_render(const struct zeus__family *f, zeus__prom_buf *b);

#endif /* ZEUS_METRICS_FAMILY_H */
