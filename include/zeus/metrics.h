/*
 * zeus/metrics.h - Prometheus metrics: Zeus's three push metrics (EnergyHistogram,
 * EnergyCumulativeCounter, PowerGauge) sent to a Pushgateway, and the node collector that
 * `zeus exporter` serves on /metrics.
 *
 * PUSH. Zeus's zeus.metric objects, in C, with Zeus's metric names, labels (`window`,
 * `index`) and default buckets. Each object owns a background pusher thread: begin_window
 * and end_window only record and wake it, so a Pushgateway that is slow, down or unreachable
 * never blocks the training loop. Pushes that fail are reported through
 * zeus_push_options.on_error (on the pusher thread) and zeus_*_push_stats(), never dropped
 * silently. Destroy joins every thread the object started, after one last push bounded by
 * the push timeout.
 *
 *     zeus_push_options push;
 *     zeus_push_options_init(&push);
 *     push.pushgateway_url = "http://localhost:9091";
 *     push.job = "training";
 *     zeus_energy_histogram *h;
 *     zeus_energy_histogram_create(NULL, &push, &h);   // all GPUs and CPUs
 *     zeus_energy_histogram_begin_window(h, "epoch", 0);
 *     ... train ...
 *     zeus_energy_histogram_end_window(h, "epoch", 0); // observed and pushed in the background
 *     zeus_energy_histogram_destroy(h);
 *
 * PULL. A zeus_metrics_collector samples every device in the background (the GPU sampler of
 * monitor.h, the RAPL poller) and renders the Prometheus text format (version 0.0.4) on
 * demand from what was sampled: rendering never calls NVML's energy counter (2.7 ms on an
 * H100), so a scrape costs microseconds.
 *
 * Thread safety: every handle here may be used from several threads at once.
 *
 * PUSHED METRICS (Zeus's names; the Pushgateway groups them under job=<job>)
 *
 *   What:        energy_monitor_{gpu,cpu,dram}_energy_joules (histogram: _bucket, _sum, _count)
 *   Since:       0.1
 *   Labels:      window (the window name), index (GPU or CPU index)
 *   Description: Energy of each ended window, one observation per device. Default buckets
 *                GPU 50,100,200,500,1000 J; CPU 10,50,100,500,1000 J; DRAM 5,10,20,50,150 J.
 *                The DRAM family exists only when a watched CPU has a DRAM zone.
 *
 *   What:        energy_monitor_{gpu,cpu,dram}_energy_joules_total (counter)
 *   Since:       0.1
 *   Labels:      window, index
 *   Description: Energy used since the counter's window began, increased every update
 *                period.
 *
 *   What:        power_monitor_gpu_power_watts (gauge)
 *   Since:       0.1
 *   Labels:      window, index
 *   Description: GPU power in watts (device_instant where the GPU has it, else
 *                device_average), set every update period.
 *
 * EXPORTED METRICS (zeus_metrics_collector_render, `zeus exporter`)
 *
 * GPU metrics carry the labels index (framework index), uuid and name (the product name);
 * CPU metrics carry index and zone (the RAPL zone name, "package-0"). A value that could not
 * be read is left out of the output, never written as 0.
 *
 *   What:        zeus_gpu_energy_joules_total (counter)
 *   Since:       0.1
 *   Description: Energy the GPU used since its driver loaded (NVML's counter), as the
 *                background sampler last saw it. Never decreases, except when the driver
 *                reloads (counted in zeus_gpu_energy_resets_total), which Prometheus
 *                treats as a counter reset. Integrated from power on GPUs without a counter.
 *
 *   What:        zeus_gpu_power_watts (gauge), label domain
 *   Since:       0.1
 *   Description: Latest sampled power, watts, per domain: device_instant, device_average
 *                (NVML's 1 s average), memory_average (Hopper and newer).
 *
 *   What:        zeus_gpu_temperature_celsius (gauge)
 *   Since:       0.1
 *   Description: Latest sampled GPU core temperature, degrees Celsius.
 *
 *   What:        zeus_gpu_power_limit_watts (gauge)
 *   Since:       0.1
 *   Description: The GPU's power limit, watts, read in the background every period.
 *
 *   What:        zeus_gpu_energy_update_step_seconds (gauge)
 *   Since:       0.1
 *   Description: Median interval between updates of the energy counter (about 0.1 s on
 *                NVIDIA); windows shorter than this cannot be measured from the counter.
 *
 *   What:        zeus_gpu_energy_updates_total, zeus_gpu_energy_resets_total,
 *                zeus_gpu_read_failures_total (counters)
 *   Since:       0.1
 *   Description: Counter updates the sampler saw, times the counter went backwards (driver
 *                reload), and failed device reads, since the collector started.
 *
 *   What:        zeus_gpu_info (gauge, always 1), labels index, uuid, name, vendor
 *                (nvidia, amd), backend (nvml, amdsmi), power_scope (gpu, module), mig
 *                (true, false)
 *   Since:       0.1 (issue 13)
 *   Description: What each GPU's series measure. power_scope="module": the driver reports
 *                power for the whole module, CPU included (Grace Hopper superchips).
 *                mig="true": the GPU is in MIG mode and its values are the whole physical
 *                GPU's, every slice included. Join it on index to select or relabel GPU
 *                series (group_left); the other series keep their labels, so turning MIG
 *                on does not start new series.
 *
 *   What:        zeus_cpu_energy_joules_total, zeus_dram_energy_joules_total (counters)
 *   Since:       0.1
 *   Description: CPU package and DRAM energy from RAPL since the collector started, widened
 *                across counter wraparound.
 *
 *   What:        zeus_cpu_power_watts, zeus_dram_power_watts (gauges)
 *   Since:       0.1
 *   Description: Average power over the last collector period (1 s by default), watts.
 *
 *   What:        zeus_cpu_energy_wraps_total, zeus_dram_energy_wraps_total
 *   Since:       0.1
 *   Description: RAPL counter wraparounds seen and corrected (at max_energy_range_uj).
 *
 *   What:        zeus_cpu_read_failures_total (counter)
 *   Since:       0.1
 *   Description: RAPL reads that failed (for example energy_uj readable by root only).
 *
 *   What:        zeus_soc_energy_joules_total (counter), zeus_soc_power_watts (gauge);
 *                labels rail (cpu, gpu, total) and label (the sensor's name, "VDD_IN")
 *   Since:       0.1 (issue 13)
 *   Description: An NVIDIA Jetson's INA3221 rails: energy integrated from power (trapezoid
 *                rule, every 10 ms) since the collector started, and the power read at the
 *                scrape, watts. Only where a Jetson is found; absent rails are left out.
 *
 *   What:        zeus_exporter_build_info (gauge, always 1), label version
 *   Since:       0.1
 *   Description: The library version serving the metrics.
 */
#ifndef ZEUS_METRICS_H
#define ZEUS_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "zeus/export.h"
#include "zeus/monitor.h"
#include "zeus/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Pushing -------------------------------------------------------------------------- */

/* zeus_push_options.method */
#define ZEUS_PUSH_PUT 0  /* replace the job's whole group (Zeus's push_to_gateway) */
#define ZEUS_PUSH_POST 1 /* replace only the metrics pushed (prometheus_client's pushadd) */

typedef struct zeus_push_options {
    uint32_t size; /* sizeof(zeus_push_options), set by zeus_push_options_init() */

    /* Base URL of the Pushgateway, "http://host:9091" (a bare "host:9091" gets http://).
     * Required. Copied. */
    const char *pushgateway_url;

    /* The job the metrics are grouped under. Required, non-empty. Copied. A job with a "/"
     * is sent base64-encoded (/metrics/job@base64/...), as prometheus_client does. */
    const char *job;

    /* Seconds one push may take in all, connection included; 0: 3 s. Also bounds how long
     * destroy waits for the last push. */
    double timeout_s;

    /* ZEUS_PUSH_PUT (0, default) or ZEUS_PUSH_POST. */
    int method;

    /*
     * Called on the pusher thread after each failed push, with the status (ZEUS_ERR_IO for
     * an unreachable gateway, ZEUS_ERR_TIMEOUT, ZEUS_ERR_INVALID_ARGUMENT for an HTTP 4xx
     * answer, ZEUS_ERR_UNKNOWN for 5xx) and a message naming the URL and the reason. NULL:
     * failures are only kept for zeus_*_push_stats(). It must not destroy the object.
     */
    void (*on_error)(zeus_status status, const char *message, void *user);
    void *user;
} zeus_push_options;

/* Fill `opts` with the defaults (3 s timeout, PUT, no callback). Since: 0.1. */
ZEUS_API void zeus_push_options_init(zeus_push_options *opts);

/* What a metric object's pusher has done so far. */
typedef struct zeus_push_stats {
    uint64_t pushes_ok;       /* pushes the gateway accepted */
    uint64_t pushes_failed;   /* pushes that failed (reported through on_error) */
    zeus_status last_status;  /* ZEUS_OK, or the status of the latest failure */
    char last_error[256];     /* the latest failure's message, "" if none */
} zeus_push_stats;

/* ---- EnergyHistogram ------------------------------------------------------------------ */

typedef struct zeus_energy_histogram zeus_energy_histogram;

typedef struct zeus_energy_histogram_options {
    uint32_t size; /* set by zeus_energy_histogram_options_init() */

    /* GPUs and CPUs to watch, as in zeus_monitor_options (NULL: all; count 0: none). */
    const unsigned *gpu_indices;
    size_t gpu_index_count;
    const unsigned *cpu_indices;
    size_t cpu_index_count;

    /* Bucket upper bounds in joules, strictly increasing, without +Inf (added). NULL: Zeus's
     * defaults (head of this file). A non-NULL list with count 0 is an error, as in Zeus. */
    const double *gpu_buckets;
    size_t gpu_bucket_count;
    const double *cpu_buckets;
    size_t cpu_bucket_count;
    const double *dram_buckets;
    size_t dram_bucket_count;

    /* Called with each warning (an observation above the largest or below the smallest
     * bucket, as Zeus warns), on the pusher thread. NULL: silent. */
    void (*warn)(const char *message, void *warn_user);
    void *warn_user;
} zeus_energy_histogram_options;

/* Fill `opts` with the defaults (all devices, Zeus's buckets). Since: 0.1. */
ZEUS_API void zeus_energy_histogram_options_init(zeus_energy_histogram_options *opts);

/*
 * Create a histogram over the devices `opts` selects and start its pusher thread.
 *
 * opts: NULL for the defaults. push: required. Both, their arrays and strings are copied.
 * out: the new object on ZEUS_OK.
 * Returns ZEUS_ERR_INVALID_ARGUMENT for a missing URL or job, an empty or unsorted bucket
 * list, or bad sizes; otherwise zeus_monitor_create()'s errors. Nothing is pushed yet.
 * Safe from any thread. Since: 0.1.
 */
ZEUS_API zeus_status zeus_energy_histogram_create(const zeus_energy_histogram_options *opts,
                                                  const zeus_push_options *push,
                                                  zeus_energy_histogram **out);

/*
 * Begin the window `name` (copied). flags: ZEUS_WINDOW_SYNC, ZEUS_WINDOW_RESTART. Costs
 * about a clock read. Returns as zeus_monitor_begin_window(). Since: 0.1.
 */
ZEUS_API zeus_status zeus_energy_histogram_begin_window(zeus_energy_histogram *h,
                                                        const char *name, unsigned flags);

/*
 * End the window `name`: its energy per device is observed (labels window=name, index) and
 * pushed on the pusher thread once the sampled values are final (about 0.1 s later), so this
 * call does not wait for the device or the network.
 *
 * flags: ZEUS_WINDOW_SYNC, ZEUS_WINDOW_CANCEL (nothing observed). Returns
 * ZEUS_ERR_NOT_FOUND when `name` is not open. Safe from any thread. Since: 0.1.
 */
ZEUS_API zeus_status zeus_energy_histogram_end_window(zeus_energy_histogram *h, const char *name,
                                                      unsigned flags);

/* The pusher's record. out: filled on ZEUS_OK. Since: 0.1. */
ZEUS_API zeus_status zeus_energy_histogram_push_stats(zeus_energy_histogram *h,
                                                      zeus_push_stats *out);

/*
 * Wait until every ended window is observed and pushed (or the push failed), at most
 * `timeout_s`. Returns ZEUS_ERR_TIMEOUT if work remains. Since: 0.1.
 */
ZEUS_API zeus_status zeus_energy_histogram_flush(zeus_energy_histogram *h, double timeout_s);

/* Push what is left (bounded by the push timeout), stop and join the pusher, and free.
 * NULL is a no-op. Since: 0.1. */
ZEUS_API void zeus_energy_histogram_destroy(zeus_energy_histogram *h);

/* ---- EnergyCumulativeCounter ---------------------------------------------------------- */

typedef struct zeus_energy_counter zeus_energy_counter;

typedef struct zeus_energy_counter_options {
    uint32_t size; /* set by zeus_energy_counter_options_init() */
    const unsigned *gpu_indices; /* as zeus_energy_histogram_options */
    size_t gpu_index_count;
    const unsigned *cpu_indices;
    size_t cpu_index_count;
    double update_period_s; /* seconds between increments and pushes; required, > 0 */
} zeus_energy_counter_options;

/* Fill `opts` with the defaults (all devices, update_period_s 0: must be set). Since: 0.1. */
ZEUS_API void zeus_energy_counter_options_init(zeus_energy_counter_options *opts);

/*
 * Create a cumulative energy counter (Zeus's EnergyCumulativeCounter).
 * Returns ZEUS_ERR_INVALID_ARGUMENT for a period that is not a positive number or a missing
 * URL or job, else zeus_monitor_create()'s errors. Since: 0.1.
 */
ZEUS_API zeus_status zeus_energy_counter_create(const zeus_energy_counter_options *opts,
                                                const zeus_push_options *push,
                                                zeus_energy_counter **out);

/*
 * Start counting window `name` (copied): a background thread adds each device's energy to
 * energy_monitor_*_energy_joules_total{window=name} every update period and pushes.
 * Unlike Zeus, consecutive periods overlap by microseconds rather than leaving a gap.
 * Returns ZEUS_ERR_ALREADY_EXISTS if `name` is being counted. Since: 0.1.
 */
ZEUS_API zeus_status zeus_energy_counter_begin_window(zeus_energy_counter *c, const char *name);

/*
 * Stop counting `name`: its thread is told to stop and joined (it adds the last partial
 * period first; at most about 0.2 s). Returns ZEUS_ERR_NOT_FOUND for a name not being
 * counted. Since: 0.1.
 */
ZEUS_API zeus_status zeus_energy_counter_end_window(zeus_energy_counter *c, const char *name);

/* The pusher's record. Since: 0.1. */
ZEUS_API zeus_status zeus_energy_counter_push_stats(zeus_energy_counter *c, zeus_push_stats *out);

/* Wait until what was counted so far is pushed, at most `timeout_s`. Since: 0.1. */
ZEUS_API zeus_status zeus_energy_counter_flush(zeus_energy_counter *c, double timeout_s);

/* End every window, push, join every thread, free. NULL is a no-op. Since: 0.1. */
ZEUS_API void zeus_energy_counter_destroy(zeus_energy_counter *c);

/* ---- PowerGauge ----------------------------------------------------------------------- */

typedef struct zeus_power_gauge zeus_power_gauge;

typedef struct zeus_power_gauge_options {
    uint32_t size;               /* set by zeus_power_gauge_options_init() */
    const unsigned *gpu_indices; /* GPUs only, as Zeus; NULL: all visible */
    size_t gpu_index_count;
    double update_period_s;      /* seconds between readings and pushes; required, > 0 */
} zeus_power_gauge_options;

/* Fill `opts` with the defaults (all GPUs, update_period_s 0: must be set). Since: 0.1. */
ZEUS_API void zeus_power_gauge_options_init(zeus_power_gauge_options *opts);

/* Create a power gauge (Zeus's PowerGauge). Returns as zeus_energy_counter_create(), and
 * ZEUS_ERR_NOT_FOUND when no GPU is visible. Since: 0.1. */
ZEUS_API zeus_status zeus_power_gauge_create(const zeus_power_gauge_options *opts,
                                             const zeus_push_options *push,
                                             zeus_power_gauge **out);

/* Start setting power_monitor_gpu_power_watts{window=name} every period in the background.
 * Returns ZEUS_ERR_ALREADY_EXISTS for a name already running. Since: 0.1. */
ZEUS_API zeus_status zeus_power_gauge_begin_window(zeus_power_gauge *g, const char *name);

/* Stop and join `name`'s thread. Returns ZEUS_ERR_NOT_FOUND for an unknown name. Since: 0.1. */
ZEUS_API zeus_status zeus_power_gauge_end_window(zeus_power_gauge *g, const char *name);

/* The pusher's record. Since: 0.1. */
ZEUS_API zeus_status zeus_power_gauge_push_stats(zeus_power_gauge *g, zeus_push_stats *out);

/* Wait until what was set so far is pushed, at most `timeout_s`. Since: 0.1. */
ZEUS_API zeus_status zeus_power_gauge_flush(zeus_power_gauge *g, double timeout_s);

/* End every window, push, join every thread, free. NULL is a no-op. Since: 0.1. */
ZEUS_API void zeus_power_gauge_destroy(zeus_power_gauge *g);

/* ---- Node collector (the exporter's data) ----------------------------------------------- */

typedef struct zeus_metrics_collector zeus_metrics_collector;

typedef struct zeus_metrics_collector_options {
    uint32_t size; /* set by zeus_metrics_collector_options_init() */
    const unsigned *gpu_indices; /* NULL: all visible GPUs; count 0: none. Copied. */
    size_t gpu_index_count;
    const unsigned *cpu_indices; /* NULL: all readable CPU packages; count 0: none. */
    size_t cpu_index_count;
    /* Seconds between background reads of CPU power and GPU power limits; 0: 1 s. GPU
     * power and temperature are sampled every 50 ms by the GPU sampler. */
    double period_s;
} zeus_metrics_collector_options;

/* Fill `opts` with the defaults (every device, 1 s). Since: 0.1. */
ZEUS_API void zeus_metrics_collector_options_init(zeus_metrics_collector_options *opts);

/*
 * Start sampling every chosen device in the background.
 *
 * out: the collector on ZEUS_OK. Returns ZEUS_ERR_NOT_FOUND for an index that names no
 * device, ZEUS_ERR_INVALID_ARGUMENT for bad options, or a device's error when its first
 * read fails. A machine without GPUs or RAPL is not an error: the output then holds only
 * zeus_exporter_build_info. Safe from any thread. Since: 0.1.
 */
ZEUS_API zeus_status zeus_metrics_collector_create(const zeus_metrics_collector_options *opts,
                                                   zeus_metrics_collector **out);

/*
 * Render every metric (head of this file) in the Prometheus text format 0.0.4.
 *
 * text: out, a NUL-terminated buffer the caller frees with zeus_metrics_free(); len: out,
 * its length without the NUL (may be NULL). Reads only sampled values and RAPL files; never
 * calls the GPU's energy counter. Returns ZEUS_ERR_NO_MEMORY. Safe from any thread, at the
 * same time as other renders. Since: 0.1.
 */
ZEUS_API zeus_status zeus_metrics_collector_render(zeus_metrics_collector *c, char **text,
                                                   size_t *len);

/* Stop sampling, join the threads, free. NULL is a no-op. Since: 0.1. */
ZEUS_API void zeus_metrics_collector_destroy(zeus_metrics_collector *c);

/* Free a buffer zeus_metrics_collector_render() returned. NULL is a no-op. Since: 0.1. */
ZEUS_API void zeus_metrics_free(char *text);

#ifdef __cplusplus
}
#endif

#endif /* ZEUS_METRICS_H */
