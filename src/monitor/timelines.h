/*
 * timelines.h - The sampled series of a set of GPUs, as the power and temperature monitors
 * hold them: live in the sampler's channels while running, copied out when stopped.
 *
 * Both monitors are this plus their own options and queries, so the parts that need care
 * (the start sample, the copy at stop, locking against a concurrent stop) live here once.
 */
#ifndef ZEUS_MONITOR_TIMELINES_H
#define ZEUS_MONITOR_TIMELINES_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "monitor/sampler.h"
#include "zeus/device.h"
#include "zeus/power.h"
#include "zeus/status.h"

#define ZEUS__SERIES_COUNT 4 /* three power domains, then temperature */

struct zeus__tl_gpu {
    unsigned index;                          /* framework index */
    struct zeus__channel *ch;                /* NULL once stopped */
    zeus__sample start[ZEUS__SERIES_COUNT];  /* the reading in effect at start_ns */
    zeus__sample *kept[ZEUS__SERIES_COUNT];  /* after stop: start sample, then the rest */
    size_t kept_count[ZEUS__SERIES_COUNT];
};

struct zeus__timelines {
    pthread_rwlock_t lock; /* queries read, stop writes: a query never sees a half stop */
    int stopped;
    int64_t start_ns, stop_ns;
    int64_t period_ns; /* the poll period; may drop while running: read it atomically */
    unsigned series; /* bits (1u << series) sampled */
    unsigned gpu_count;
    struct zeus__tl_gpu gpu[ZEUS_MAX_GPUS];
};

/* A copy of part of one series, with the stretch of time the series is known for. */
typedef struct zeus__tl_view {
    zeus__sample *s; /* malloc'd; free with zeus__tl_view_free() */
    size_t n;
    int64_t span_lo_ns, span_hi_ns; /* start, and now or the stop time */
} zeus__tl_view;

/*
 * Resolve a GPU list of framework indices into out[] (room for ZEUS_MAX_GPUS): NULL means
 * every visible GPU (ZEUS_ERR_NOT_FOUND when there is none); an empty list or a repeated
 * index is ZEUS_ERR_INVALID_ARGUMENT, an unknown one ZEUS_ERR_NOT_FOUND, as Zeus's monitors.
 */
zeus_status zeus__select_gpus(zeus_devices *devs, const unsigned *want, size_t want_count,
                              unsigned *out, unsigned *count);

/*
 * Acquire one channel per GPU of `gpus` (framework indices of `devs`), asking for `series`
 * every `period_ns` into rings of `max_samples`, wait until each series has a sample (at
 * most 2 s: ZEUS_ERR_TIMEOUT), and record the start. tl is initialised here; on failure it
 * holds nothing and needs no fini.
 */
zeus_status zeus__timelines_start(struct zeus__timelines *tl, zeus_devices *devs,
                                  const unsigned *gpus, unsigned count, unsigned series,
                                  int64_t period_ns, size_t max_samples);

/*
 * Poll every GPU at least every `period_ns` from now on (the period inferred in the
 * background, when it is shorter than the one sampling started with).
 */
void zeus__timelines_lower_period(struct zeus__timelines *tl, int64_t period_ns);

/* The current poll period, ns. */
int64_t zeus__timelines_period_ns(const struct zeus__timelines *tl);

/* Copy every series out of the sampler and release the channels. Idempotent. */
zeus_status zeus__timelines_stop(struct zeus__timelines *tl);

/* Stop (if running) and free everything; tl itself is the caller's. */
void zeus__timelines_fini(struct zeus__timelines *tl);

/* The slot of framework GPU `gpu`, or -1 (with ZEUS_ERR_NOT_FOUND detail set). */
int zeus__timelines_slot(const struct zeus__timelines *tl, unsigned gpu);

/*
 * Copy the samples of `series` of slot `slot` with lo_ns <= t <= hi_ns. With `context`,
 * also the sample before lo_ns (the reading in effect at lo_ns, so n >= 1) and the first
 * sample after hi_ns, as integration needs. Returns ZEUS_ERR_NO_MEMORY or ZEUS_OK.
 */
zeus_status zeus__timelines_view(struct zeus__timelines *tl, int slot, int series, int64_t lo_ns,
                                 int64_t hi_ns, int context, zeus__tl_view *out);

void zeus__tl_view_free(zeus__tl_view *v);

/* The nearest sample to t_ns (Zeus's rule; INT64_MAX: the latest one). */
zeus__sample zeus__timelines_nearest(struct zeus__timelines *tl, int slot, int series,
                                     int64_t t_ns);

/*
 * The public timeline query: samples of `series` of slot `slot` with t0_s <= t <= t1_s (NAN:
 * open) into out, with the room-and-count protocol of zeus_power_monitor_timeline().
 */
zeus_status zeus__timeline_copy(struct zeus__timelines *tl, int slot, int series, double t0_s,
                                double t1_s, zeus_sample *out, size_t *count);

/* Seconds to nanoseconds for a query bound: NAN gives `open`, huge values saturate. */
int64_t zeus__seconds_to_ns(double s, int64_t open);

#endif /* ZEUS_MONITOR_TIMELINES_H */
