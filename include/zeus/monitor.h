/*
 * zeus/monitor.h - Energy measurement windows: Zeus's ZeusMonitor in C.
 *
 * A monitor watches a set of GPUs and CPU packages. begin_window() and end_window() bracket
 * any stretch of work by name; end_window() reports the time and the energy each device
 * used in between. Windows may nest and overlap; names are unique among open windows.
 *
 *     zeus_monitor *m;
 *     zeus_monitor_create(NULL, &m);                     // all visible GPUs and CPUs
 *     zeus_monitor_begin_window(m, "step", ZEUS_WINDOW_SYNC);
 *     ... work ...
 *     zeus_measurement r;
 *     zeus_monitor_end_window(m, "step", ZEUS_WINDOW_SYNC, &r);
 *     printf("%.3f s, %.1f J\n", r.time_s, zeus_measurement_total_energy(&r));
 *     zeus_monitor_destroy(m);
 *
 * Thread safety: a monitor may be used from several threads at once.
 */
#ifndef ZEUS_MONITOR_H
#define ZEUS_MONITOR_H

#include <stddef.h>
#include <stdint.h>

#include "zeus/device.h"
#include "zeus/export.h"
#include "zeus/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zeus_monitor zeus_monitor;

/* ---- Options -------------------------------------------------------------------------- */

typedef struct zeus_monitor_options {
    uint32_t size; /* sizeof(zeus_monitor_options), set by zeus_monitor_options_init() */

    /*
     * GPUs to watch, as framework indices. NULL: all visible GPUs. Non-NULL with
     * gpu_index_count 0: none. The array is copied.
     */
    const unsigned *gpu_indices;
    size_t gpu_index_count;

    /*
     * CPU packages to watch, as with GPUs. With NULL (all), CPUs whose RAPL counters cannot be
     * read are left out with a warning; an explicit list that cannot be read is an error.
     */
    const unsigned *cpu_indices;
    size_t cpu_index_count;

    /*
     * 1: a GPU whose window energy reads exactly 0 (window shorter than the counter's
     * ~100 ms update step) gets instant power x (window time - time spent reading power),
     * flagged ZEUS_ENERGY_ESTIMATED. 0 (default): it stays 0 and ZEUS_ENERGY_ZERO is set.
     */
    int approx_instant_energy;

    /*
     * Path of a CSV log in Zeus's format (header truncates the file); NULL for none. Parent
     * folders are created. The string is copied.
     */
    const char *log_file;

    /*
     * Called by ZEUS_WINDOW_SYNC before taking a timestamp, to wait for queued GPU work
     * (for example cudaDeviceSynchronize on each GPU). NULL: ZEUS_WINDOW_SYNC does nothing.
     * Not called when the monitor watches no GPU.
     */
    void (*sync)(void *sync_user);
    void *sync_user;

    /*
     * Called with each warning (zero energy, CPUs left out, ...). NULL: warnings are only
     * recorded in the measurement flags; the library never prints. Called on the thread
     * whose call produced the warning, so with several threads it must be thread-safe.
     */
    void (*warn)(const char *message, void *warn_user);
    void *warn_user;

    /*
     * 1: append cpuN_energy and dramN_energy columns to the CSV log after the GPU columns.
     * 0 (default): GPU columns only, exactly Zeus's format, because Zeus's ReplayZeusMonitor
     * takes every column after elapsed_time for a GPU and misreads extra ones.
     */
    int log_cpu_columns;

    /*
     * 0 (default): sampled. A background sampler reads each GPU's energy counter right after
     * its updates (every ~100 ms on NVIDIA); begin and end only take a timestamp, and a
     * window's energy is interpolated from the sampled counter series. end_window returns at
     * once with an estimate (ZEUS_ENERGY_PROVISIONAL); the final value, known after the
     * counter's next update, goes to the CSV log and to zeus_monitor_get_final(). The
     * estimate extrapolates the last slope for at most one counter step: an edge later than
     * that on a GPU whose reads are failing is NAN with ZEUS_ENERGY_FAILED, provisional or
     * final, and the device's error is returned.
     * 1: direct. begin and end read every counter themselves, as Zeus does (milliseconds
     * per GPU on real hardware, and quantized to the counter's update step).
     */
    int direct_reads;

    /*
     * Since: 0.1 (issue 13). 1: append soc_cpu_energy,soc_gpu_energy,soc_total_energy
     * columns to the CSV log, after the GPU (and CPU) columns, when the monitor watches a SoC
     * (a Jetson): joules, "nan" for a rail the board lacks or that failed. 0 (default): no
     * SoC columns, exactly Zeus's format, whose ZeusMonitor logs GPU columns only (and for
     * the reason given at log_cpu_columns). Neither the log nor its opt-ins carry the GPU
     * scope flags (ZEUS_ENERGY_MODULE_SCOPE, _WHOLE_GPU): they stay in the measurement and
     * the warning given at create.
     */
    int log_soc_columns;
} zeus_monitor_options;

/* Fill `opts` with the defaults (all devices, no log, no sync, silent). Since: 0.1. */
ZEUS_API void zeus_monitor_options_init(zeus_monitor_options *opts);

/* ---- Measurements --------------------------------------------------------------------- */

/* Bits of zeus_measurement.gpu_flags[i] and cpu_flags[i]. */
#define ZEUS_ENERGY_VALID (1u << 0)      /* the value was measured (or estimated, see below) */
#define ZEUS_ENERGY_COUNTER (1u << 1)    /* from a cumulative hardware counter */
#define ZEUS_ENERGY_INTEGRATED (1u << 2) /* from integrating power samples */
#define ZEUS_ENERGY_ESTIMATED (1u << 3)  /* approx_instant_energy replaced a zero */
#define ZEUS_ENERGY_ZERO (1u << 4)       /* read exactly 0: window shorter than the counter step */
#define ZEUS_ENERGY_WRAPPED (1u << 5)    /* the counter wrapped around inside the window */
#define ZEUS_ENERGY_FAILED (1u << 6)     /* the device failed to answer; the value is NAN */
#define ZEUS_ENERGY_UNSUPPORTED (1u << 7) /* the device cannot measure energy; NAN */
#define ZEUS_ENERGY_RESET (1u << 8)       /* the counter went backwards (driver reload); NAN */
#define ZEUS_ENERGY_INTERPOLATED (1u << 9) /* between two counter updates, by time */
#define ZEUS_ENERGY_PROVISIONAL (1u << 10) /* extrapolated past the last update, by at most
                                              one counter step: not final */
#define ZEUS_ENERGY_DISCONTINUITY (1u << 11) /* a reset or impossible jump inside the window
                                                was left out: the value is a lower bound */
#define ZEUS_ENERGY_CLIPPED (1u << 12) /* part of the interval was not sampled and is left
                                          out: the value covers the sampled part only */
#define ZEUS_ENERGY_UNCOVERED (1u << 13) /* nothing of the interval was sampled; NAN */
/* Since: 0.1: what a GPU's value covers, set whatever the value is. */
#define ZEUS_ENERGY_MODULE_SCOPE (1u << 14) /* the GPU reports power only for its whole module
                                               (Grace Hopper: CPU + GPU + memory) */
#define ZEUS_ENERGY_WHOLE_GPU (1u << 15) /* MIG: the whole physical GPU, every slice on it */
#define ZEUS_ENERGY_COUNTER_REJECTED (1u << 16) /* the GPU's counter failed its check at open
                                                   (ZEUS_GPU_COUNTER_REJECTED): the value is
                                                   INTEGRATED from power instead. Since: 0.1 */

/* Bits of zeus_measurement.flags. */
#define ZEUS_MEASUREMENT_CANCELLED (1u << 0) /* ended with ZEUS_WINDOW_CANCEL: all zeros */

/*
 * The result of a window. The caller owns it; nothing inside needs freeing.
 * Absent values are NAN, never 0 (a DRAM column on a CPU without a DRAM zone, a GPU that
 * failed). Entry i of the gpu_* arrays belongs to GPU gpu_index[i], in the order the monitor
 * was given.
 */
typedef struct zeus_measurement {
    double time_s;            /* window length, from CLOCK_MONOTONIC */
    double start_unix_s;      /* wall-clock time the window began (for logs) */
    uint32_t flags;           /* ZEUS_MEASUREMENT_* */

    unsigned gpu_count;
    unsigned gpu_index[ZEUS_MAX_GPUS];
    double gpu_energy_j[ZEUS_MAX_GPUS];
    uint32_t gpu_flags[ZEUS_MAX_GPUS]; /* ZEUS_ENERGY_* */

    unsigned cpu_count;
    unsigned cpu_index[ZEUS_MAX_CPUS];
    double cpu_energy_j[ZEUS_MAX_CPUS];
    double dram_energy_j[ZEUS_MAX_CPUS];
    uint32_t cpu_flags[ZEUS_MAX_CPUS];  /* ZEUS_ENERGY_* for the package counter */
    uint32_t dram_flags[ZEUS_MAX_CPUS]; /* ZEUS_ENERGY_* for the DRAM counter */
    uint32_t cpu_wraps[ZEUS_MAX_CPUS];  /* package counter wraparounds inside the window */
    uint32_t dram_wraps[ZEUS_MAX_CPUS];

    /* Since 0.1, how each GPU value was obtained (sampled mode; 0 in direct mode). */
    uint64_t window_id;                         /* for zeus_monitor_get_final() */
    double start_mono_s;                        /* CLOCK_MONOTONIC begin time (zeus_now()) */
    double gpu_counter_step_s[ZEUS_MAX_GPUS];   /* update step of the counter seen, s */
    uint32_t gpu_samples[ZEUS_MAX_GPUS];        /* counter updates inside the window */

    /*
     * Since: 0.1: the SoC's energy (NVIDIA Jetson rails), J, indexed by
     * ZEUS_SOC_RAIL_CPU, _GPU, _TOTAL; Zeus's Measurement.soc_energy (which is in mJ).
     * soc_count is 1 when the monitor watches a SoC (every monitor does where one is found),
     * else 0. A rail the board lacks is NAN with ZEUS_ENERGY_UNSUPPORTED; one that could not
     * be read at an edge is NAN with ZEUS_ENERGY_FAILED; ZEUS_ENERGY_DISCONTINUITY marks a
     * value that leaves out a stretch when the rail could not be read (a lower bound).
     */
    unsigned soc_count;
    double soc_energy_j[ZEUS_SOC_RAILS];
    uint32_t soc_flags[ZEUS_SOC_RAILS];
} zeus_measurement;

/*
 * Sum of the GPU energies in joules, as Zeus's Measurement.total_energy (GPUs only; CPU and
 * DRAM are not added). NAN if any GPU value is NAN; 0 for no GPUs or a NULL pointer.
 * Since: 0.1.
 */
ZEUS_API double zeus_measurement_total_energy(const zeus_measurement *m);

/* ---- Monitors ------------------------------------------------------------------------- */

/*
 * Create a monitor over the devices `opts` selects (NULL: all, with defaults).
 *
 * out: the new monitor on ZEUS_OK. opts, its arrays and strings are copied.
 * Returns ZEUS_ERR_NOT_FOUND for an index that names no visible device,
 * ZEUS_ERR_INVALID_ARGUMENT for a repeated index or bad options, ZEUS_ERR_NO_PERMISSION when
 * an explicitly requested CPU cannot be read, ZEUS_ERR_IO when the log cannot be created,
 * or the device's error when a first read fails.
 * Safe from any thread. Since: 0.1.
 */
ZEUS_API zeus_status zeus_monitor_create(const zeus_monitor_options *opts, zeus_monitor **out);

/* Stop the monitor, drop its open windows and close its log. NULL is a no-op. Since: 0.1. */
ZEUS_API void zeus_monitor_destroy(zeus_monitor *mon);

/* Flags of begin_window and end_window. */
#define ZEUS_WINDOW_SYNC (1u << 0)    /* call the sync callback before the timestamp */
#define ZEUS_WINDOW_RESTART (1u << 1) /* begin: replace an open window of the same name */
#define ZEUS_WINDOW_CANCEL (1u << 2)  /* end: drop the window, report zeros, log nothing */
#define ZEUS_WINDOW_WAIT_FINAL (1u << 3) /* end: wait for the final values (sampled mode) */

/*
 * Open the window `key`, recording the time and every device's counter.
 *
 * key: copied. flags: ZEUS_WINDOW_SYNC, ZEUS_WINDOW_RESTART.
 * Returns ZEUS_ERR_ALREADY_EXISTS if `key` is open (unless RESTART); the open window is left
 * as it was. Returns a device's error if a counter cannot be read; no window is opened then.
 * Safe from any thread. Since: 0.1.
 */
ZEUS_API zeus_status zeus_monitor_begin_window(zeus_monitor *mon, const char *key,
                                               unsigned flags);

/*
 * Close the window `key` and report the energy each device used in it.
 *
 * flags: ZEUS_WINDOW_SYNC, ZEUS_WINDOW_CANCEL. out: may be NULL.
 * Returns ZEUS_ERR_NOT_FOUND if no window `key` is open (out untouched, nothing else
 * disturbed). If a device fails to answer, the window is still closed and `out` filled: that
 * device's value is NAN with ZEUS_ENERGY_FAILED, the CSV row is written, and the device's
 * error (for example ZEUS_ERR_GPU_LOST) is returned.
 * Safe from any thread. Since: 0.1.
 */
ZEUS_API zeus_status zeus_monitor_end_window(zeus_monitor *mon, const char *key, unsigned flags,
                                             zeus_measurement *out);

/*
 * The final values of a window ended in sampled mode, waiting up to `timeout_s` seconds
 * for the counter update after the window's end (about one update step, 100 ms on NVIDIA).
 *
 * window_id: from the zeus_measurement that end_window filled. out: filled on ZEUS_OK.
 * Returns ZEUS_ERR_TIMEOUT when the values are still provisional after `timeout_s` (out then
 * holds the latest estimate); ZEUS_ERR_NOT_FOUND for an id the monitor no longer keeps (it
 * keeps the last 64 windows). In direct mode every value is final at once.
 * Safe from any thread. Since: 0.1.
 */
ZEUS_API zeus_status zeus_monitor_get_final(zeus_monitor *mon, uint64_t window_id,
                                            double timeout_s, zeus_measurement *out);

/* Drop every open window without reporting. Since: 0.1. */
ZEUS_API zeus_status zeus_monitor_reset_windows(zeus_monitor *mon);

/* Number of open windows. Since: 0.1. */
ZEUS_API unsigned zeus_monitor_open_window_count(zeus_monitor *mon);

/*
 * The devices the monitor reads, for queries such as zeus_gpu_get_info(). Owned by the
 * monitor: valid until zeus_monitor_destroy(). Since: 0.1.
 */
ZEUS_API zeus_devices *zeus_monitor_devices(zeus_monitor *mon);

/*
 * The GPUs the monitor watches, as framework indices in the order it was given. buf may be
 * NULL to ask the count. Returns the count (0 for a NULL monitor) and copies at most cap.
 * Since: 0.1.
 */
ZEUS_API size_t zeus_monitor_gpu_indices(const zeus_monitor *mon, unsigned *buf, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* ZEUS_MONITOR_H */
