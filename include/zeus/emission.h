/*
 * zeus/emission.h - Grams of CO2 and electricity cost of measurement windows.
 *
 * Zeus's CarbonEmissionMonitor and EnergyCostMonitor in one type: named windows like
 * zeus_monitor's, whose energy is split into UTC-hour buckets, each bucket priced with its own
 * hour's rate from a zeus_rate_provider (zeus/rate.h).
 *
 *     zeus_rate_provider *p;
 *     zeus_rate_provider_open("fixed:400", ZEUS_RATE_CARBON, &p);
 *     zeus_emission_monitor *em;
 *     zeus_emission_monitor_create(p, NULL, &em);
 *     zeus_emission_monitor_begin_window(em, "train");
 *     ... work ...
 *     zeus_emission_measurement m;
 *     m.size = sizeof m;
 *     zeus_emission_monitor_end_window(em, "train", &m);   // m.total_amount grams
 *
 * Differences from Zeus, on purpose:
 * - No child process: the library's sampler already runs, so hour boundaries only end and
 *   re-begin the underlying windows (a thread does it, or zeus_emission_monitor_tick()).
 * - Buckets are kept until priced. When the provider is down, end_window returns
 *   ZEUS_ERR_PENDING with the energy and what could be priced; the rest is priced later by
 *   zeus_emission_monitor_get() once the provider answers, so no energy is lost or counted twice.
 * - A missing hour uses the nearest known hour, flagged ZEUS_RATE_ESTIMATED (Zeus: KeyError).
 */
#ifndef ZEUS_EMISSION_H
#define ZEUS_EMISSION_H

#include <stddef.h>
#include <stdint.h>

#include "zeus/device.h"
#include "zeus/export.h"
#include "zeus/monitor.h"
#include "zeus/rate.h"
#include "zeus/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zeus_emission_monitor zeus_emission_monitor;

typedef struct zeus_emission_options {
    uint32_t size; /* sizeof(zeus_emission_options), set by zeus_emission_options_init() */

    /*
     * An existing monitor to open windows on (borrowed; it must outlive this one), so that a
     * program already measuring does not start a second sampler. NULL: create one from
     * `monitor_options` (NULL: all devices, defaults).
     */
    zeus_monitor *monitor;
    const zeus_monitor_options *monitor_options;

    /*
     * The wall clock, UTC unix seconds. NULL: the real clock. Tests inject one so that hour
     * boundaries pass without waiting hours.
     */
    double (*clock)(void *clock_user);
    void *clock_user;

    /*
     * 1 (default): a thread closes the hour buckets at each boundary of `clock` (checked at
     * least every `tick_s` seconds of real time). 0: only calls to the monitor do, and
     * zeus_emission_monitor_tick().
     */
    int background;
    double tick_s; /* 0: 1 s */
} zeus_emission_options;

/* Fill `opts` with the defaults. Since: 0.1. */
ZEUS_API void zeus_emission_options_init(zeus_emission_options *opts);

/* One window's energy and what it cost. */
typedef struct zeus_emission_measurement {
    uint32_t size; /* sizeof(zeus_emission_measurement): set by the caller */

    uint64_t window_id;   /* for zeus_emission_monitor_get() */
    double time_s;        /* window length */
    double start_unix_s;  /* per the monitor's clock */
    uint32_t flags;       /* ZEUS_RATE_* of every bucket, OR-ed */
    unsigned hours;       /* hour buckets the window spanned */
    unsigned pending_hours; /* of those, not priced yet */
    zeus_rate_kind kind;  /* grams or currency */
    char currency[8];     /* "USD" for a price; "" for carbon */

    unsigned gpu_count;
    unsigned gpu_index[ZEUS_MAX_GPUS];
    double gpu_energy_j[ZEUS_MAX_GPUS];
    double gpu_amount[ZEUS_MAX_GPUS]; /* g or currency of the priced buckets */

    unsigned cpu_count;
    unsigned cpu_index[ZEUS_MAX_CPUS];
    double cpu_energy_j[ZEUS_MAX_CPUS];
    double cpu_amount[ZEUS_MAX_CPUS];
    double dram_energy_j[ZEUS_MAX_CPUS]; /* NAN where the CPU has no DRAM counter */
    double dram_amount[ZEUS_MAX_CPUS];

    double total_amount; /* sum over every device of the priced buckets */
} zeus_emission_measurement;

/*
 * Create a monitor pricing energy with `provider` (borrowed: it must outlive the monitor).
 * `opts` may be NULL. Since: 0.1.
 */
ZEUS_API zeus_status zeus_emission_monitor_create(zeus_rate_provider *provider,
                                                  const zeus_emission_options *opts,
                                                  zeus_emission_monitor **out);

/* Stop the thread, end open windows, free. NULL is ignored. Since: 0.1. */
ZEUS_API void zeus_emission_monitor_destroy(zeus_emission_monitor *m);

/* Open window `key`. ZEUS_ERR_ALREADY_EXISTS when open. Since: 0.1. */
ZEUS_API zeus_status zeus_emission_monitor_begin_window(zeus_emission_monitor *m,
                                                        const char *key);

/*
 * Close window `key` and price it. ZEUS_OK: every bucket priced. ZEUS_ERR_PENDING: `out` has
 * all the energy and the priced part; the rest is priced by a later zeus_emission_monitor_get()
 * once the provider answers. ZEUS_ERR_NOT_FOUND: no such window. Since: 0.1.
 * Also: ZEUS_ERR_INVALID_ARGUMENT when `out` is NULL or out->size is not set (the window is
 * left open); a device's error when one failed (its values NAN; PENDING takes precedence);
 * ZEUS_ERR_NO_DATA when part of the window went unmeasured (a segment could not begin, or
 * the borrowed monitor's owner ended it): every value NAN. In sampled mode this waits for
 * the final values (one counter update, ~100 ms); it calls the provider (network) when an
 * hour is unpriced. Safe from any thread.
 */
ZEUS_API zeus_status zeus_emission_monitor_end_window(zeus_emission_monitor *m, const char *key,
                                                      zeus_emission_measurement *out);

/*
 * The measurement of an ended window, pricing pending buckets now if the provider answers.
 * ZEUS_ERR_PENDING while some are still unpriced; ZEUS_ERR_NOT_FOUND for an unknown id.
 * Ended windows are kept until zeus_emission_monitor_forget(). Since: 0.1.
 */
ZEUS_API zeus_status zeus_emission_monitor_get(zeus_emission_monitor *m, uint64_t window_id,
                                               zeus_emission_measurement *out);

/* Drop an ended window's record. Since: 0.1. */
ZEUS_API zeus_status zeus_emission_monitor_forget(zeus_emission_monitor *m, uint64_t window_id);

/*
 * Close the hour buckets of every open window whose hour has passed per the clock, and try to
 * price pending buckets. The background thread calls it; so do tests with an injected clock.
 * Since: 0.1.
 */
ZEUS_API zeus_status zeus_emission_monitor_tick(zeus_emission_monitor *m);

#ifdef __cplusplus
}
#endif

#endif /* ZEUS_EMISSION_H */
