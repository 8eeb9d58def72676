/*
 * zeus/power.h - Power and temperature timelines: Zeus's PowerMonitor and TemperatureMonitor
 * in C.
 *
 * A power monitor samples the chosen GPUs' power in the chosen domains in the background,
 * keeps the samples, and answers queries over them: a timeline, the power at a time, the
 * energy over an interval. Samples are timestamped with CLOCK_MONOTONIC in seconds, the
 * clock zeus_now() reads and zeus_measurement.start_mono_s uses.
 *
 *     zeus_power_monitor *pm;
 *     zeus_power_monitor_create(NULL, &pm);          // all GPUs, supported domains
 *     double t0 = zeus_now();
 *     ... work ...
 *     double j;
 *     zeus_power_monitor_energy(pm, -1, 0, t0, zeus_now(), &j);
 *     zeus_power_monitor_destroy(pm);
 *
 * SAMPLES ARE CHANGES. A reading equal to the previous one is not stored (as in Zeus), so a
 * sample (t, v) means "the reading became v at t". A timeline's first sample is the reading
 * in effect when the monitor started, stamped with the start time.
 *
 * ENERGY COUNTS THE EDGES (a departure from Zeus). Zeus integrates by the trapezoid rule
 * only between the first and the last sample inside [t0, t1], dropping up to one sampling
 * period at each end (on an H200 at ~700 W that made a 5 s interval 2.95% low,
 * reference/GPU-MEASUREMENTS.md). Here the power is reconstructed over the whole interval
 * and integrated exactly from t0 to t1:
 *   - between two samples the earlier value holds until one poll period before the later
 *     sample, then changes linearly to it: the trapezoid rule over every poll, which
 *     de-duplication would otherwise distort (Zeus's rule turns a long plateau followed by a
 *     step into a ramp across the whole plateau);
 *   - only the time the monitor sampled counts (from its start until it stopped, or until
 *     now): energy it did not measure is never reported. An interval partly outside that
 *     span is clipped to it (ZEUS_ENERGY_CLIPPED, extrapolated_s says how many seconds were
 *     left out); one wholly outside it (before the monitor existed, in the future) has no
 *     value: NAN with ZEUS_ENERGY_UNCOVERED, still ZEUS_OK. Zeus returns 0 there, as zeusc
 *     does, with a warning. Finite times however extreme (1e18 s, +-1e308) are clipped the
 *     same way, so they never overflow into negative or absurd joules.
 * An interval ending within one poll period of now can still change slightly when the next
 * change is sampled.
 *
 * POWER AT A TIME follows Zeus: the nearest sample, the earlier one on a tie, the first one
 * before the first sample and the last one after the last. On a de-duplicated series the
 * nearest sample can be the next change rather than the reading in effect; Zeus's rule is
 * kept for parity.
 *
 * Thread safety: a monitor may be queried, and stopped, from several threads at once.
 */
#ifndef ZEUS_POWER_H
#define ZEUS_POWER_H

#include <stddef.h>
#include <stdint.h>

#include "zeus/device.h"
#include "zeus/export.h"
#include "zeus/monitor.h"
#include "zeus/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* CLOCK_MONOTONIC now, in seconds: the time base of every sample. Since: 0.1. */
ZEUS_API double zeus_now(void);

/* One sample of a timeline. */
typedef struct zeus_sample {
    double time_s; /* CLOCK_MONOTONIC seconds */
    double value;  /* watts, or degrees Celsius */
} zeus_sample;

/* Bit of a domain in zeus_power_monitor_options.domains. */
#define ZEUS_DOMAIN_BIT(domain) (1u << (domain))

/* ---- Power monitor ------------------------------------------------------------------------ */

typedef struct zeus_power_monitor zeus_power_monitor;

typedef struct zeus_power_monitor_options {
    uint32_t size; /* sizeof(zeus_power_monitor_options), set by ..._options_init() */

    /*
     * GPUs to sample, as framework indices; NULL: all visible GPUs. A non-NULL empty list is
     * an error, as in Zeus. Copied.
     */
    const unsigned *gpu_indices;
    size_t gpu_index_count;

    /*
     * Seconds between samples. 0: inferred from how often the readings change (half the
     * fastest interval between changes, at most 0.1 s), as Zeus does. The inference watches
     * the readings for up to 1 s on a thread of its own while sampling already runs every
     * 0.05 s (lowered to the inferred period when that is shorter), so create does not wait
     * for it. Below 0.05 s a warning is given (readings may not have changed between polls,
     * Zeus's advice).
     */
    double update_period_s;

    /* Samples kept per GPU and domain; older ones are dropped. 0: 1 << 20. */
    size_t max_samples;

    /*
     * ZEUS_DOMAIN_BIT(...) of the domains to sample; 0: every domain all the chosen GPUs
     * support. A domain that one of the GPUs lacks is ZEUS_ERR_NOT_SUPPORTED, and the detail
     * names the supported ones.
     */
    unsigned domains;

    /* Called with each warning, on the thread that called create (the inferred period's
     * warning: on the thread that first asks for the period, or stops); NULL: silent. */
    void (*warn)(const char *message, void *warn_user);
    void *warn_user;
} zeus_power_monitor_options;

/* Fill `opts` with the defaults (all GPUs, inferred period, supported domains). Since: 0.1. */
ZEUS_API void zeus_power_monitor_options_init(zeus_power_monitor_options *opts);

/*
 * Start sampling, and return once every chosen GPU has a first sample in every domain.
 *
 * opts: NULL for the defaults; its arrays are copied. out: the monitor on ZEUS_OK.
 * Returns ZEUS_ERR_NOT_FOUND for an index that names no visible GPU, or when no GPU is
 * visible; ZEUS_ERR_INVALID_ARGUMENT for an empty or repeated index, a negative or
 * non-finite period, or a bad size; ZEUS_ERR_NOT_SUPPORTED for a domain a GPU lacks;
 * ZEUS_ERR_TIMEOUT when a GPU gave no reading within 2 s; or the device's error when its
 * first read fails. Safe from any thread. Since: 0.1.
 */
ZEUS_API zeus_status zeus_power_monitor_create(const zeus_power_monitor_options *opts,
                                               zeus_power_monitor **out);

/*
 * Stop sampling: the samples up to now are kept (copied out of the sampler, which this
 * monitor no longer holds) and stay queryable; later intervals hold the last value.
 * Idempotent. Returns ZEUS_ERR_INVALID_ARGUMENT for a bad handle, ZEUS_ERR_NO_MEMORY when
 * the samples cannot be copied (sampling then goes on). Safe from any thread. Since: 0.1.
 */
ZEUS_API zeus_status zeus_power_monitor_stop(zeus_power_monitor *pm);

/*
 * Stop and free. No thread the monitor started is left running. NULL is a no-op. Must not
 * run while another thread still uses the monitor. Since: 0.1.
 */
ZEUS_API void zeus_power_monitor_destroy(zeus_power_monitor *pm);

/*
 * The sampling period, seconds: given, or inferred (waiting for the inference, at most about
 * 1 s after create, when it is still running); 0 for a bad handle. Since: 0.1.
 */
ZEUS_API double zeus_power_monitor_update_period(const zeus_power_monitor *pm);

/* The domains being sampled, as ZEUS_DOMAIN_BIT bits; 0 for a bad handle. Since: 0.1. */
ZEUS_API unsigned zeus_power_monitor_domains(const zeus_power_monitor *pm);

/*
 * The GPUs being sampled, in the order given (framework indices).
 * indices: out, room for `cap` entries (may be NULL with cap 0). Returns how many GPUs are
 * sampled (may exceed cap); 0 for a bad handle. Since: 0.1.
 */
ZEUS_API unsigned zeus_power_monitor_gpus(const zeus_power_monitor *pm, unsigned *indices,
                                          unsigned cap);

/*
 * The samples of GPU `gpu` in `domain` with t0_s <= time <= t1_s (NAN bounds: open), oldest
 * first.
 *
 * out: room for *count samples (may be NULL when *count is 0). count: in, the room; out, the
 * number of samples (written on ZEUS_OK) or needed (on ZEUS_ERR_INSUFFICIENT_SIZE, with out
 * untouched). Returns ZEUS_ERR_INVALID_ARGUMENT for a domain not being sampled or a NULL
 * count, ZEUS_ERR_NOT_FOUND for a GPU not being sampled. Safe from any thread. Since: 0.1.
 */
ZEUS_API zeus_status zeus_power_monitor_timeline(zeus_power_monitor *pm, zeus_power_domain domain,
                                                 unsigned gpu, double t0_s, double t1_s,
                                                 zeus_sample *out, size_t *count);

/*
 * Power of GPU `gpu` in `domain` at time t_s, by the nearest-sample rule (head of this
 * file), or the latest sample when t_s is NAN.
 *
 * power_w: out, written on ZEUS_OK. Returns ZEUS_ERR_INVALID_ARGUMENT for a domain not being
 * sampled, ZEUS_ERR_NOT_FOUND for a GPU not being sampled. Safe from any thread. Since: 0.1.
 */
ZEUS_API zeus_status zeus_power_monitor_power(zeus_power_monitor *pm, zeus_power_domain domain,
                                              unsigned gpu, double t_s, double *power_w);

/*
 * Energy of GPU `gpu` over [t0_s, t1_s] in joules, edges included (head of this file).
 *
 * domain: a zeus_power_domain, or -1 for device_instant if sampled, else device_average
 * (Zeus's rule). energy_j: out, written on ZEUS_OK: NAN when nothing of [t0_s, t1_s] was
 * sampled, the sampled part's energy when only part was (the detail call says which). Returns ZEUS_ERR_INVALID_ARGUMENT when
 * t1_s < t0_s, a time is not finite, the domain is not sampled, or -1 finds neither device
 * domain sampled; ZEUS_ERR_NOT_FOUND for a GPU not being sampled. Safe from any thread.
 * Since: 0.1.
 */
ZEUS_API zeus_status zeus_power_monitor_energy(zeus_power_monitor *pm, int domain, unsigned gpu,
                                               double t0_s, double t1_s, double *energy_j);

/* What zeus_power_monitor_energy_detail() reports. */
typedef struct zeus_power_energy {
    double energy_j;       /* joules over the interval */
    uint32_t flags;        /* ZEUS_ENERGY_VALID | ZEUS_ENERGY_INTEGRATED, and
                              ZEUS_ENERGY_CLIPPED when part was not sampled and left out;
                              ZEUS_ENERGY_UNCOVERED alone (energy_j NAN) when none was;
                              and ZEUS_ENERGY_MODULE_SCOPE / ZEUS_ENERGY_WHOLE_GPU when
                              the GPU's power covers more than the GPU (monitor.h) */
    uint32_t samples;      /* samples inside the interval */
    double extrapolated_s; /* seconds of the interval outside the sampled time, left out
                              (the name predates clipping: nothing is extrapolated) */
    double update_period_s; /* the poll period, the longest a change can go unseen */
} zeus_power_energy;

/*
 * As zeus_power_monitor_energy(), saying how the value was obtained.
 * out: filled on ZEUS_OK. Same statuses. Safe from any thread. Since: 0.1.
 */
ZEUS_API zeus_status zeus_power_monitor_energy_detail(zeus_power_monitor *pm, int domain,
                                                      unsigned gpu, double t0_s, double t1_s,
                                                      zeus_power_energy *out);

/* ---- Temperature monitor ------------------------------------------------------------------ */

typedef struct zeus_temperature_monitor zeus_temperature_monitor;

typedef struct zeus_temperature_monitor_options {
    uint32_t size;               /* set by zeus_temperature_monitor_options_init() */
    const unsigned *gpu_indices; /* framework indices; NULL: all; empty: an error. Copied. */
    size_t gpu_index_count;
    double update_period_s;      /* seconds between samples; 0: 1 s, as Zeus */
    size_t max_samples;          /* samples kept per GPU; 0: 1 << 20 */
} zeus_temperature_monitor_options;

/* Fill `opts` with the defaults (all GPUs, 1 s). Since: 0.1. */
ZEUS_API void zeus_temperature_monitor_options_init(zeus_temperature_monitor_options *opts);

/*
 * Start sampling GPU temperatures, and return once every GPU has a first sample.
 * Returns as zeus_power_monitor_create(), with ZEUS_ERR_NOT_SUPPORTED for a GPU that does
 * not report its temperature. Since: 0.1.
 */
ZEUS_API zeus_status zeus_temperature_monitor_create(const zeus_temperature_monitor_options *opts,
                                                     zeus_temperature_monitor **out);

/* As zeus_power_monitor_stop(). Since: 0.1. */
ZEUS_API zeus_status zeus_temperature_monitor_stop(zeus_temperature_monitor *tm);

/* As zeus_power_monitor_destroy(). Since: 0.1. */
ZEUS_API void zeus_temperature_monitor_destroy(zeus_temperature_monitor *tm);

/* As zeus_power_monitor_gpus(). Since: 0.1. */
ZEUS_API unsigned zeus_temperature_monitor_gpus(const zeus_temperature_monitor *tm,
                                                unsigned *indices, unsigned cap);

/* As zeus_power_monitor_timeline(), in degrees Celsius. Since: 0.1. */
ZEUS_API zeus_status zeus_temperature_monitor_timeline(zeus_temperature_monitor *tm, unsigned gpu,
                                                       double t0_s, double t1_s,
                                                       zeus_sample *out, size_t *count);

/* As zeus_power_monitor_power(), in degrees Celsius. Since: 0.1. */
ZEUS_API zeus_status zeus_temperature_monitor_temperature(zeus_temperature_monitor *tm,
                                                          unsigned gpu, double t_s,
                                                          double *temp_c);

#ifdef __cplusplus
}
#endif

#endif /* ZEUS_POWER_H */
