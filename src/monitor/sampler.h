/*
 * sampler.h - The background sampler: one thread per sampled GPU reads its energy counter
 * right after each update, and its power and temperature readings, into bounded rings.
 *
 * A channel is one GPU being sampled. Channels are shared: every monitor of the process that
 * watches the same GPU (found by UUID) gets the same channel, and the channel's thread polls
 * what the union of their requests needs. The thread starts with the first acquire and is
 * joined by the last release.
 *
 * Times are CLOCK_MONOTONIC nanoseconds (zeus__now_ns()) inside; the public API converts to
 * seconds.
 */
#ifndef ZEUS_MONITOR_SAMPLER_H
#define ZEUS_MONITOR_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#include "zeus/device.h"
#include "zeus/status.h"

struct zeus__channel;

/* What a user of a channel needs sampled; channels poll the union of all requests. */
typedef struct zeus__sampler_request {
    unsigned power_domains;  /* bits (1u << zeus_power_domain) to sample power in; 0: none */
    int temperature;         /* 1: sample temperature too */
    int64_t power_period_ns; /* how often to read power and temperature; 0: 50 ms */
    size_t max_samples;      /* ring size of each power/temperature series; 0: 1 << 16 */
} zeus__sampler_request;

/*
 * Start sampling GPU `gpu` of `devs` (or join the channel already sampling it), and wait for
 * its first read (milliseconds), not for its first counter updates: windows opened at once
 * are resolved when the updates come.
 *
 * Returns the device's error when its first read fails.
 */
zeus_status zeus__channel_acquire(zeus_devices *devs, unsigned gpu,
                                  const zeus__sampler_request *req, struct zeus__channel **out);

/*
 * zeus__channel_acquire for `n` GPUs at once: all are started, then their first reads are
 * waited for together. On error every channel is released and out[] is all NULL.
 */
zeus_status zeus__channel_acquire_many(zeus_devices *devs, const unsigned *gpus, unsigned n,
                                       const zeus__sampler_request *req,
                                       struct zeus__channel **out);

/* Poll power at least every `period_ns` from now on (a channel's period only ever drops). */
void zeus__channel_poll_power_every(struct zeus__channel *ch, int64_t period_ns);

/*
 * Wait until the channel has seen two counter updates (~0.2 s), or about half a second, or
 * its reads keep failing. For the exporter, whose first scrape should find every series;
 * monitors do not wait.
 */
void zeus__channel_wait_updates(struct zeus__channel *ch);

/* Drop one reference; the last one stops and joins the thread and frees the channel. */
void zeus__channel_release(struct zeus__channel *ch);

/* ---- Energy ---------------------------------------------------------------------------- */

/* Bits of zeus__energy_reading.flags (same values as the public ZEUS_ENERGY_* bits). */

typedef struct zeus__energy_reading {
    double energy_j;      /* cumulative energy at the asked time (counter origin) */
    uint32_t flags;       /* ZEUS_ENERGY_VALID | COUNTER or INTEGRATED | INTERPOLATED or PROVISIONAL, or FAILED */
    zeus_status status;   /* the device's error when FAILED */
} zeus__energy_reading;

/*
 * Cumulative energy at time t_ns, interpolated between the two counter updates around it
 * (final), or extrapolated from the last update when no update after t_ns has been seen yet
 * (ZEUS_ENERGY_PROVISIONAL). Lock-protected; no device call. Valid for any t_ns since the
 * channel started that is still in the ring, or that an edge (below) pinned.
 */
void zeus__channel_energy_at(struct zeus__channel *ch, int64_t t_ns, zeus__energy_reading *out);

/*
 * An edge is a point in time whose energy a window needs. Tracking it makes the channel's
 * thread resolve it (energy_at, final) as soon as the update after it arrives, so windows
 * longer than the ring stay exact. `on_final(user)` is then called on the channel's thread,
 * without channel locks held; it must be short and must not call back into this channel.
 */
typedef struct zeus__edge {
    int64_t t_ns;
    zeus__energy_reading reading; /* written by the channel when final */
    int final;                    /* 1 once reading is final (read under the channel lock) */
    void (*on_final)(void *user);
    void *user;
    struct zeus__edge *next; /* the channel's pending list */
} zeus__edge;

/* Queue `edge` (t_ns, on_final, user set; final 0) for resolution. */
void zeus__channel_track(struct zeus__channel *ch, zeus__edge *edge);

/*
 * Remove `edge` from the pending list if it is still there. Returns 1 if it was final, 0 if
 * it was removed unresolved. A final edge without on_final is no longer touched by the
 * channel; one with on_final still gets its call (which may not have returned yet).
 */
int zeus__channel_untrack(struct zeus__channel *ch, zeus__edge *edge);

/* ---- Power and temperature series ------------------------------------------------------- */

typedef struct zeus__sample {
    int64_t t_ns;
    double value; /* watts or degrees Celsius */
} zeus__sample;

/*
 * Copy the samples of a series with t0_ns <= t <= t1_ns, oldest first, into out (room for
 * cap); returns how many there are in total (may exceed cap). series: a zeus_power_domain,
 * or ZEUS__SERIES_TEMPERATURE.
 */
#define ZEUS__SERIES_TEMPERATURE 3
size_t zeus__channel_samples(struct zeus__channel *ch, int series, int64_t t0_ns, int64_t t1_ns,
                             zeus__sample *out, size_t cap);

/*
 * Whether the series' latest read succeeded. A failed read leaves the last value in the
 * series (the past is still known), but a "current value" such as an exporter's gauge must
 * not show it as now (issue 9). Lock-protected; no device call.
 */
int zeus__channel_series_current(struct zeus__channel *ch, int series);

/* Number of samples a series holds, and the sample nearest t_ns (earlier on ties); -1 none. */
int zeus__channel_sample_near(struct zeus__channel *ch, int series, int64_t t_ns,
                              zeus__sample *out);

/* ---- Quality ---------------------------------------------------------------------------- */

typedef struct zeus__channel_stats {
    int64_t counter_step_ns;  /* median interval between counter updates seen; 0 unknown */
    uint64_t updates;         /* counter updates seen */
    uint64_t energy_reads;    /* energy counter reads made */
    uint64_t resets;          /* counter went backwards */
    uint64_t failures;        /* failed reads */
    zeus_status last_error;   /* ZEUS_OK, or the last failure */
    int has_counter;          /* 0: energy integrated from power (pre-Volta) */
    int64_t last_update_ns;   /* time of the latest counter update seen; 0 none */
    /* Appended: the expensive-read path (sampler.c, note 7). */
    unsigned skip;            /* updates per counter point: 1 reads every update */
    int64_t read_cpu_ns;      /* smoothed CPU time of one energy read */
    uint64_t shaped;          /* intervals between counter points shaped by power */
} zeus__channel_stats;

void zeus__channel_stats_get(struct zeus__channel *ch, zeus__channel_stats *out);

/* Number of counter updates seen with time in (t0_ns, t1_ns]. */
uint32_t zeus__channel_updates_between(struct zeus__channel *ch, int64_t t0_ns, int64_t t1_ns);

#endif /* ZEUS_MONITOR_SAMPLER_H */
