/*
 * window.h - One measurement window's record, from begin_window until its final values are
 * logged, shared by monitor.c (which opens and ends windows) and results.c (which finishes
 * them in order).
 */
#ifndef ZEUS_MONITOR_WINDOW_H
#define ZEUS_MONITOR_WINDOW_H

#include <stdint.h>

#include "monitor/sampler.h"
#include "zeus/monitor.h"

struct zeus_monitor;

struct zeus__window {
    struct zeus_monitor *mon;
    char *key;
    uint64_t id;         /* order of ending; 0 while open */
    int64_t start_ns, end_ns;
    double start_unix_s;
    unsigned pending;    /* end edges not resolved yet (sampled mode) */
    struct zeus__window *next; /* the monitor's queue of ending windows */

    unsigned gpu_count, cpu_count;
    zeus__energy_reading *gpu_start, *gpu_end; /* per GPU */
    zeus__edge *start_edge, *end_edge;          /* per GPU, sampled mode only */
    zeus_cpu_energy *cpu_start, *cpu_end;       /* per CPU */
    zeus_status *cpu_start_status, *cpu_end_status;
    double *power_w;     /* instant power at end (approx_instant_energy) */
    double power_read_s; /* time spent reading it */
    zeus_soc_energy soc_start, soc_end; /* when the monitor watches a SoC */
};

/* One allocation holding the record and its arrays; NULL when out of memory. */
struct zeus__window *zeus__window_new(struct zeus_monitor *mon, const char *key,
                                      unsigned gpu_count, unsigned cpu_count, int sampled);
void zeus__window_free(struct zeus__window *w);

#endif /* ZEUS_MONITOR_WINDOW_H */
