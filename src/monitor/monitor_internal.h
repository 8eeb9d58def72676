/*
 * monitor_internal.h - The monitor's state, shared by monitor.c (windows) and results.c
 * (turning ended windows into measurements, in order, for the log and get_final).
 */
#ifndef ZEUS_MONITOR_MONITOR_INTERNAL_H
#define ZEUS_MONITOR_MONITOR_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "monitor/csv_log.h"
#include "monitor/sampler.h"
#include "monitor/window.h"
#include "zeus/monitor.h"

#define ZEUS__FINALS 64 /* final measurements kept for zeus_monitor_get_final() */

struct zeus__final {
    uint64_t id;
    zeus_status status;
    zeus_measurement m;
};

struct zeus_monitor {
    unsigned magic;
    zeus_devices *devs;

    unsigned gpu_count;
    unsigned gpu_index[ZEUS_MAX_GPUS];
    int gpu_has_counter[ZEUS_MAX_GPUS];
    struct zeus__channel *channel[ZEUS_MAX_GPUS]; /* sampled mode */
    unsigned cpu_count;
    unsigned cpu_index[ZEUS_MAX_CPUS];
    int cpu_has_dram[ZEUS_MAX_CPUS];
    uint32_t gpu_scope_flags[ZEUS_MAX_GPUS]; /* ZEUS_ENERGY_MODULE_SCOPE, _WHOLE_GPU */
    unsigned soc_count; /* 1: the SoC (Jetson) is read at both edges of every window */

    int direct;
    int approx_instant_energy;
    void (*sync)(void *);
    void *sync_user;
    void (*warn)(const char *, void *);
    void *warn_user;
    struct zeus__csv_log *log;

    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t done;  /* a window was finished */
    struct zeus__window **windows; /* open windows */
    unsigned window_count, window_cap;

    uint64_t next_id;                   /* id of the next window to end */
    struct zeus__window *ending_head;   /* ended, in id order, not finished yet */
    struct zeus__window *ending_tail;
    uint64_t finished_id;               /* every id <= this is finished */
    int draining;                       /* one thread at a time finishes windows */
    struct zeus__final *finals[ZEUS__FINALS];
};

/* results.c */


/* Fill the identity part of m (device counts and indices), zeroing the rest. */
void zeus__monitor_fill_identity(const struct zeus_monitor *mon, zeus_measurement *m);

/*
 * Build the measurement of an ended window from its readings; returns the first device
 * failure's status, with the detail set. `quiet` suppresses the zero-energy warning (used
 * for provisional values, which are reported again when final).
 */
zeus_status zeus__monitor_build(struct zeus_monitor *mon, const struct zeus__window *w,
                                int quiet, zeus_measurement *m);

/* Queue an ended window (id assigned) for finishing; caller holds mon->lock. */
void zeus__monitor_queue_ending(struct zeus_monitor *mon, struct zeus__window *w);

/* Finish every queued window whose values are final, in id order; caller holds mon->lock,
 * which is released while rows are written. */
void zeus__monitor_drain(struct zeus_monitor *mon);

/* The sampler's callback for an end edge that became final. */
void zeus__monitor_edge_final(void *window);

/* Wait for window `id` to finish until deadline_ns; caller holds mon->lock. */
zeus_status zeus__monitor_wait_final(struct zeus_monitor *mon, uint64_t id, int64_t deadline_ns,
                                     zeus_measurement *out);

/* Resolve, provisionally, every end edge still pending (shutdown); caller holds mon->lock. */
void zeus__monitor_force_endings(struct zeus_monitor *mon);

void zeus__monitor_free_finals(struct zeus_monitor *mon);

/* monitor.c, for other modules */

/* Call the sync callback as ZEUS_WINDOW_SYNC does (not without one or without GPUs). */
void zeus__monitor_sync(struct zeus_monitor *mon);

#endif /* ZEUS_MONITOR_MONITOR_INTERNAL_H */
