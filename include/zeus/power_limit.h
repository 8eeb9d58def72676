/*
 * zeus/power_limit.h - Zeus's GlobalPowerLimitOptimizer in C: profile each GPU power limit
 * over a few training steps, then train at the limit that minimizes a cost.
 *
 *     zeus_monitor *mon;                       // the GPUs this process trains on
 *     zeus_monitor_create(NULL, &mon);
 *     zeus_plo *plo;
 *     zeus_plo_create(mon, NULL, &plo);        // Zeus's defaults: ZeusCost(eta 0.5)
 *     for (epoch...) {
 *         for (step...) {
 *             zeus_plo_on_step_begin(plo);     // may change the limit; cheap otherwise
 *             train_one_step();
 *         }
 *         zeus_plo_on_epoch_end(plo);
 *     }
 *     zeus_plo_destroy(plo);                   // back to the maximum limit
 *
 * The state machine is Zeus's, step for step (the spec: DESIGN.md and
 * zeus-optimizers-zeusd.md section 2). Candidates run from the maximum limit down in
 * `pl_step_w` steps. The optimizer waits `wait_steps` steps, then for each candidate sets it,
 * lets `warmup_steps` steps pass and measures `profile_steps` steps in a monitor window named
 * "__GlobalPowerLimitOptimizer_<W>". After the last candidate it sets the limit the selector
 * picks and stays there (Done). An epoch that ends inside a warmup or a measurement throws
 * that candidate's steps away: the limit goes back to the maximum and the same candidate
 * starts over at the next step. A limit equal to the one this optimizer set last is not
 * sent again. With a profile file that exists, the optimizer starts Done at its optimum.
 *
 * One difference from Zeus: warmup_steps = 0 crashes Zeus (its Warmup state requires a
 * positive count). Here it means no warmup: the measurement starts at the step that sets
 * the limit.
 *
 * Limits are set through the device API (zeus/device.h), so through zeusd when
 * ZEUSD_SOCK_PATH or ZEUSD_HOST_PORT is set. The maximum limit is restored by
 * zeus_plo_destroy() and, for an optimizer never destroyed, when the process exits through
 * exit() or a return from main (an atexit handler, as Zeus's exit hook).
 *
 * Thread safety: one optimizer is driven from one thread (the training loop's). Distinct
 * optimizers are independent. zeus_plo_select() and the profile functions are safe anywhere.
 */
#ifndef ZEUS_POWER_LIMIT_H
#define ZEUS_POWER_LIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "zeus/export.h"
#include "zeus/monitor.h"
#include "zeus/reduce.h"
#include "zeus/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zeus_plo zeus_plo;

/* ---- Measurements and selectors -------------------------------------------------------- */

/* What one candidate limit cost: Zeus's PowerLimitMeasurement. */
typedef struct zeus_plo_measurement {
    unsigned power_limit_w; /* whole watts, as Zeus records them (limit_mw / 1000) */
    double energy_j;        /* all GPUs of all ranks, summed */
    double time_s;          /* the slowest rank's window time */
} zeus_plo_measurement;

typedef enum zeus_plo_selector_kind {
    ZEUS_PLO_DEFAULT = 0,       /* ZeusCost(0.5, number of the monitor's GPUs) */
    ZEUS_PLO_ENERGY = 1,        /* least energy; ties go to the higher limit */
    ZEUS_PLO_TIME = 2,          /* least time; ties go to the higher limit */
    ZEUS_PLO_ZEUS_COST = 3,     /* least eta*E + (1-eta)*max_limit_w*world_size*T */
    ZEUS_PLO_MAX_SLOWDOWN = 4,  /* lowest limit whose time <= factor * time at the max limit */
    ZEUS_PLO_CUSTOM = 5,        /* the `custom` callback decides (a Python OptimumSelector) */
} zeus_plo_selector_kind;

typedef struct zeus_plo_selector {
    zeus_plo_selector_kind kind;
    double eta;          /* ZEUS_COST: 0 <= eta <= 1 */
    unsigned world_size; /* ZEUS_COST: >= 1 GPUs in the job */
    double factor;       /* MAX_SLOWDOWN: >= 1 */
    /*
     * CUSTOM: the chosen limit in W, one of m[i].power_limit_w, or 0 when it failed (the
     * selection then fails with ZEUS_ERR_INVALID_ARGUMENT). Costs are left NAN.
     */
    unsigned (*custom)(const zeus_plo_measurement *m, size_t n, void *custom_user);
    void *custom_user;
} zeus_plo_selector;

/*
 * Pick the optimum of `n` measurements as `sel` says (Zeus's OptimumSelector.select).
 *
 * power_limit_w: the chosen limit. cost: NULL, or an array of n that receives each
 * measurement's objective (energy, time, Zeus cost; time for MAX_SLOWDOWN).
 * A DEFAULT selector uses world size 1 here (there is no monitor to count GPUs).
 * Returns ZEUS_ERR_INVALID_ARGUMENT for n = 0, a selector parameter out of its range, or a
 * measurement that is not positive and finite (the message names which).
 * Safe from any thread. Since: 0.1.
 */
ZEUS_API zeus_status zeus_plo_select(const zeus_plo_selector *sel,
                                     const zeus_plo_measurement *m, size_t n,
                                     unsigned *power_limit_w, double *cost);

/* ---- Profiles -------------------------------------------------------------------------- */

/*
 * Read a profile in Zeus's format: {"measurements": [{"power_limit": W, "energy": J,
 * "time": s}, ...]}.
 *
 * out: a malloc'ed array of *n measurements, freed with free(). Returns ZEUS_ERR_IO when the
 * file cannot be read, ZEUS_ERR_INVALID_ARGUMENT when it is not such JSON, is empty, or holds
 * a value that is not positive (power_limit a positive integer, energy and time positive
 * finite numbers); the message names the file, the entry and the field.
 * Safe from any thread. Since: 0.1.
 */
ZEUS_API zeus_status zeus_plo_profile_load(const char *path, zeus_plo_measurement **out,
                                           size_t *n);

/*
 * Write `n` measurements as Zeus writes its profile: JSON indented by 4 spaces, floats as
 * Python prints them, no final newline; byte for byte what Zeus would write. The file is
 * replaced whole (a temporary file renamed over it). Since: 0.1.
 */
ZEUS_API zeus_status zeus_plo_profile_save(const char *path, const zeus_plo_measurement *m,
                                           size_t n);

/* ---- The optimizer --------------------------------------------------------------------- */

/*
 * Where the optimizer's profiling windows go, for a monitor that is not a zeus_monitor (the
 * Python binding passes Zeus's ReplayZeusMonitor this way). NULL in the options: the
 * zeus_monitor given to zeus_plo_create().
 */
typedef struct zeus_plo_window_ops {
    /* Open the window `key`. */
    zeus_status (*begin)(void *user, const char *key);
    /*
     * Close it. cancel: drop it (nothing is read). Otherwise fill gpu_energy_j[0..gpu_count)
     * for the optimizer's GPUs, in their order, and time_s.
     */
    zeus_status (*end)(void *user, const char *key, int cancel, double *gpu_energy_j,
                       unsigned gpu_count, double *time_s);
    void *user;
} zeus_plo_window_ops;

typedef struct zeus_plo_options {
    uint32_t size; /* sizeof(zeus_plo_options), set by zeus_plo_options_init() */

    unsigned wait_steps;    /* steps left alone before profiling starts (1) */
    unsigned warmup_steps;  /* steps at each limit before its measurement (10) */
    unsigned profile_steps; /* steps measured at each limit, > 0 (40) */
    unsigned pl_step_w;     /* distance between candidate limits, W, > 0 (25) */

    /*
     * A profile file (copied): one that exists is loaded and the optimizer starts Done at
     * its optimum; one that does not is written when profiling ends. NULL: neither.
     */
    const char *profile_path;

    zeus_plo_selector selector; /* kind ZEUS_PLO_DEFAULT: ZeusCost(0.5, GPU count) */

    /*
     * All-reduce across ranks (zeus/reduce.h): energy summed, time maxed, at the end of every
     * measurement, also one that failed here (its values NAN, so every rank retries it).
     * NULL: this process's values.
     */
    zeus_reduce_fn reduce;
    void *reduce_user;

    /* Zeus's log lines ("Starting warmup for power limit 250 W."); NULL: silent. */
    void (*log)(const char *message, void *log_user);
    void *log_user;

    /* Windows elsewhere than the monitor (see above); NULL: the monitor's. */
    const zeus_plo_window_ops *window_ops;

    /* With window_ops and no monitor: the GPUs, as framework indices (copied). */
    const unsigned *gpu_indices;
    size_t gpu_index_count;
} zeus_plo_options;

/* Fill `opts` with Zeus's defaults. Since: 0.1. */
ZEUS_API void zeus_plo_options_init(zeus_plo_options *opts);

/*
 * Create an optimizer over the monitor's GPUs and set the first limit (the maximum, or a
 * loaded profile's optimum).
 *
 * mon: the monitor whose windows measure each limit; it must outlive the optimizer. It may
 * be NULL when opts->window_ops and opts->gpu_indices are given. opts: NULL for defaults;
 * copied.
 * Returns ZEUS_ERR_INVALID_ARGUMENT for bad options or a monitor without GPUs, or GPUs whose
 * power limit ranges differ; ZEUS_ERR_NO_PERMISSION (with the fix: root, CAP_SYS_ADMIN, or
 * zeusd through ZEUSD_SOCK_PATH) when persistence mode or a limit cannot be set; the profile
 * file's error when it exists but cannot be loaded. Since: 0.1.
 */
ZEUS_API zeus_status zeus_plo_create(zeus_monitor *mon, const zeus_plo_options *opts,
                                     zeus_plo **out);

/*
 * Set every GPU back to the maximum limit and free the optimizer (an open profiling window
 * is cancelled). NULL is a no-op. Since: 0.1.
 */
ZEUS_API void zeus_plo_destroy(zeus_plo *plo);

/*
 * Mark the beginning of a training step: count it, and move to the next phase when its steps
 * are done (set a limit, open or close a profiling window).
 *
 * A measurement that fails (a device error, an energy or time that is not positive and
 * finite) is not recorded: its window is dropped, the limit goes back to the maximum, the
 * same candidate starts over at the next step, and the error is returned.
 * Since: 0.1.
 */
ZEUS_API zeus_status zeus_plo_on_step_begin(zeus_plo *plo);

/* Mark the end of an epoch: throws away an unfinished warmup or measurement. Since: 0.1. */
ZEUS_API zeus_status zeus_plo_on_epoch_end(zeus_plo *plo);

/* Zeus's other callback hooks, which do nothing here either. Since: 0.1. */
ZEUS_API zeus_status zeus_plo_on_train_begin(zeus_plo *plo);
ZEUS_API zeus_status zeus_plo_on_train_end(zeus_plo *plo);
ZEUS_API zeus_status zeus_plo_on_epoch_begin(zeus_plo *plo);
ZEUS_API zeus_status zeus_plo_on_step_end(zeus_plo *plo);
ZEUS_API zeus_status zeus_plo_on_evaluate(zeus_plo *plo, double metric);

typedef enum zeus_plo_phase {
    ZEUS_PLO_READY = 1,     /* waiting `steps_left` steps before `power_limit_mw` */
    ZEUS_PLO_WARMUP = 2,    /* at `power_limit_mw`, `steps_left` steps before measuring */
    ZEUS_PLO_PROFILING = 3, /* measuring `power_limit_mw`, `steps_left` steps to go */
    ZEUS_PLO_DONE = 4,      /* at the optimum `power_limit_mw` */
} zeus_plo_phase;

typedef struct zeus_plo_state {
    zeus_plo_phase phase;
    unsigned power_limit_mw;  /* next (READY), current (WARMUP, PROFILING), optimal (DONE) */
    unsigned steps_left;      /* 0 in DONE */
    unsigned set_limit_mw;    /* the limit this optimizer set last; 0 before any */
    size_t measured;          /* candidates measured so far */
} zeus_plo_state;

/* Where the optimizer stands. Since: 0.1. */
ZEUS_API zeus_status zeus_plo_get_state(const zeus_plo *plo, zeus_plo_state *out);

/*
 * The candidate limits in mW, highest first. buf may be NULL to ask the count; returns the
 * number of candidates (0 for a NULL optimizer) and copies at most cap of them. Since: 0.1.
 */
ZEUS_API size_t zeus_plo_power_limits(const zeus_plo *plo, unsigned *buf_mw, size_t cap);

/*
 * The measurements recorded (or loaded), in profiling order. Returns their number and
 * copies at most cap of them. Since: 0.1.
 */
ZEUS_API size_t zeus_plo_measurements(const zeus_plo *plo, zeus_plo_measurement *buf,
                                      size_t cap);

/* The selector in use, with the default resolved. Since: 0.1. */
ZEUS_API zeus_status zeus_plo_get_selector(const zeus_plo *plo, zeus_plo_selector *out);

#ifdef __cplusplus
}
#endif

#endif /* ZEUS_POWER_LIMIT_H */
