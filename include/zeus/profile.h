/*
 * zeus/profile.h - Thermally stable energy profiling: Zeus's zeus.profile in C.
 *
 * A GPU's energy for the same work depends on its temperature, so a measurement taken right
 * after other work differs from one taken on a cool GPU. These functions find how long to
 * measure and how long to let the GPU cool before measuring so that repeated measurements
 * agree, and take single measurements with chosen durations.
 *
 * One TRIAL runs the caller's workload function `fn` repeatedly:
 *
 *     |<--- cooldown --->|            |<------ measurement_duration ------>|
 *     +------ sleep -----+-- warmup --+--fn--fn--fn-- ... --fn-------------+
 *                          (calls)    ^                                    ^
 *                   sync, temperature_before, window opens     window closes (sync),
 *                                                               temperature_after
 *
 *   1. sleep cooldown_duration_s (CLOCK_MONOTONIC, so a wall-clock step never shortens it);
 *   2. call fn num_warmup_iterations times, then sync;
 *   3. read the temperature (mean over the monitor's GPUs), open a window on the monitor;
 *   4. call fn ceil(measurement_duration / iteration_duration) times (at least once);
 *   5. close the window with a sync, read the temperature again.
 * The iteration duration is calibrated once per call: num_warmup_iterations calls of fn,
 * a sync, then num_calibration_iterations timed calls between two syncs.
 *
 * A SWEEP runs num_trials trials for each value of one duration, the other fixed, and
 * calls a value valid when the sample standard deviation of the trials' energy per
 * iteration is below trial_stddev_threshold_j. num_warmup_trials throwaway trials (no
 * cooldown, no warmup iterations, the longest measurement duration) come first, to bring the
 * GPU to its working temperature.
 *
 *     static int step(void *user) { return run_one_batch(user); }   // 0: ok
 *
 *     zeus_profile_report m, c;
 *     if (zeus_profile_parameters(step, model, mon, NULL, &m, &c) == ZEUS_OK) {
 *         char line[ZEUS_PROFILE_LINE_LEN];
 *         for (size_t i = 0; i < c.entry_count; i++) {
 *             zeus_profile_sweep_result_format(&c.entries[i], line, sizeof line);
 *             puts(line);
 *         }
 *     }
 *     zeus_profile_report_fini(&m);
 *     zeus_profile_report_fini(&c);
 *
 * DISTRIBUTED. With several processes (one per GPU, each with its own monitor), every
 * process calls the same function with the same arguments, and the options' `reduce`
 * callback combines their numbers as Zeus's all_reduce does: energy summed, time and the
 * calibrated iteration duration maxed, temperature averaged. Every process gets the same
 * results. Without `reduce`, each process's own values are used.
 *
 * SYNC. Where Zeus calls sync_execution, the monitor's sync callback
 * (zeus_monitor_options.sync) is called; without one, no sync is done, so queued GPU work
 * is not waited for and the calibration and the window measure only the time to queue it.
 *
 * Thread safety: the functions run on the calling thread and call every callback on it. A
 * monitor may run one profile at a time (trials use the window name
 * "__zeus_profile_run_trial"); its other windows are not disturbed.
 */
#ifndef ZEUS_PROFILE_H
#define ZEUS_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "zeus/export.h"
#include "zeus/monitor.h"
#include "zeus/reduce.h"
#include "zeus/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Callbacks ------------------------------------------------------------------------- */

/*
 * The workload: one iteration (one training step, one batch). Returns 0 on success; any
 * other value stops profiling, which then returns ZEUS_ERR_CALLBACK_FAILED.
 */
typedef int (*zeus_profile_fn)(void *user);

/*
 * The reduce callback (zeus/reduce.h): temperatures are averaged by summing them together
 * with a 1.0 per process, so only SUM and MAX are ever asked for.
 */

/* ---- Options --------------------------------------------------------------------------- */

typedef struct zeus_profile_options {
    uint32_t size; /* sizeof(zeus_profile_options), set by zeus_profile_options_init() */

    /*
     * Values swept by zeus_profile_measurement_duration() and zeus_profile_parameters(), in
     * seconds, each >= 0, in the order given. NULL (default): 1.0, 2.0, ..., 10.0. Non-NULL
     * with count 0 is ZEUS_ERR_INVALID_ARGUMENT. Copied.
     */
    const double *measurement_durations_s;
    size_t measurement_duration_count;

    /* Values swept by zeus_profile_cooldown_duration() and zeus_profile_parameters(), as above. */
    const double *cooldown_durations_s;
    size_t cooldown_duration_count;

    /* Fixed measurement duration of zeus_profile_cooldown_duration(), s. Default 10.0. */
    double measurement_duration_s;
    /* Fixed cooldown of zeus_profile_measurement_duration(), s. Default 10.0. */
    double cooldown_duration_s;

    unsigned num_trials;        /* trials per swept value; default 10, must be >= 1 */
    unsigned num_warmup_trials; /* throwaway trials before the (first) sweep; default 2, 0: none */
    double trial_stddev_threshold_j; /* a value is valid when the energy std is below; 0.01 J */
    unsigned num_warmup_iterations;  /* calls of fn before each trial's window; default 10 */
    unsigned num_calibration_iterations; /* timed calls for the iteration duration; 100 */

    /*
     * Seconds per call of fn, when known: calibration is skipped. 0 (default): calibrate.
     * Zeus takes it in the two single sweeps; here every function honours it (measure()
     * included), and zeus_profile_parameters() calibrates only when it is 0.
     */
    double iteration_duration_s;

    /*
     * zeus_profile_measure() only: run fn for this many seconds before the window instead
     * of num_warmup_iterations calls (at least one call; calibration still uses
     * num_warmup_iterations). NAN (default): not used. Negative: ZEUS_ERR_INVALID_ARGUMENT.
     */
    double warmup_settle_duration_s;

    /* Combines values across processes (see DISTRIBUTED above). NULL: local values. */
    zeus_reduce_fn reduce;
    void *reduce_user;

    /*
     * Progress, one line per call, as Zeus logs it ("Calibrated iteration duration: ...",
     * "Trial 3/10 done", each swept value's result line). NULL: silent (the library never
     * prints). In a distributed run, Zeus logs on rank 0 only: pass it there only.
     */
    void (*log)(const char *message, void *log_user);
    void *log_user;
} zeus_profile_options;

/* Fill `opts` with Zeus's defaults (listed above). NULL is a no-op. Since: 0.1. */
ZEUS_API void zeus_profile_options_init(zeus_profile_options *opts);

/* ---- Results --------------------------------------------------------------------------- */

/* One trial (Zeus's TrialResult). Energies are the monitor's GPUs' sum (CPUs not added). */
typedef struct zeus_profile_trial {
    double energy_per_iter_j;    /* total_energy_j / iterations */
    double time_per_iter_s;      /* total_time_s / iterations */
    double total_energy_j;       /* energy of the window */
    double total_time_s;         /* length of the window, CLOCK_MONOTONIC */
    uint64_t iterations;         /* calls of fn inside the window */
    double temperature_before_c; /* mean GPU temperature right before the window */
    double temperature_after_c;  /* and right after it */
} zeus_profile_trial;

/* The trials of one swept value (Zeus's SweepResult). */
typedef struct zeus_profile_sweep_result {
    double measurement_duration_s;
    double cooldown_duration_s;
    const zeus_profile_trial *trials; /* num_trials of them; owned by the report */
    size_t trial_count;
    double energy_mean_j;            /* mean energy_per_iter_j over the trials */
    double energy_std_j;             /* its sample standard deviation; 0 for one trial */
    double avg_temperature_before_c;
    double avg_temperature_after_c;
    double avg_total_time_s;
    double avg_total_energy_j;
    int is_valid;                    /* 1 when energy_std_j < trial_stddev_threshold_j */
} zeus_profile_sweep_result;

/* The two durations a sweep can vary. */
typedef enum zeus_profile_param {
    ZEUS_PROFILE_MEASUREMENT_DURATION = 0,
    ZEUS_PROFILE_COOLDOWN_DURATION = 1,
} zeus_profile_param;

/*
 * Zeus's parameter name: "measurement_duration" or "cooldown_duration"; NULL for an unknown
 * value. Static. Since: 0.1.
 */
ZEUS_API const char *zeus_profile_param_name(zeus_profile_param param);

/*
 * A sweep (Zeus's SweepReport): which duration was swept over which values, the other one's
 * fixed value, and one entry per swept value, in order. The caller owns the struct; the
 * arrays it points to belong to the library until zeus_profile_report_fini().
 */
typedef struct zeus_profile_report {
    zeus_profile_param sweep_param;
    const double *sweep_values_s; /* sweep_value_count values */
    size_t sweep_value_count;
    zeus_profile_param fixed_param;
    double fixed_value_s;
    const zeus_profile_sweep_result *entries; /* sweep_value_count entries */
    size_t entry_count;
} zeus_profile_report;

/*
 * Free what a profile function put in `report` and zero it. Safe on a zeroed report, on one
 * a failed call left (they are zeroed on entry), and twice. NULL is a no-op. Since: 0.1.
 */
ZEUS_API void zeus_profile_report_fini(zeus_profile_report *report);

/*
 * Room for zeus_profile_sweep_result_format()'s line and its NUL, whatever the numbers: six
 * doubles printed in full ("%.4f" of 1e308 has 309 digits) and the fixed text.
 */
#define ZEUS_PROFILE_LINE_LEN 2048

/*
 * Zeus's one-line text of a sweep result (SweepResult.__str__), UTF-8:
 *   "measurement=5.0 s  cooldown=10.0 s  mean=12.3456 J  std=0.0042 J  temp_before=41.0 °C
 *    temp_after=63.5 °C  [VALID]" (one line)
 * out: `buf` (`len` bytes) holds the line, cut short if it does not fit.
 * Returns ZEUS_ERR_INSUFFICIENT_SIZE when it was cut (ZEUS_PROFILE_LINE_LEN always fits),
 * ZEUS_ERR_INVALID_ARGUMENT for a NULL argument or len 0. Safe from any thread. Since: 0.1.
 */
ZEUS_API zeus_status zeus_profile_sweep_result_format(const zeus_profile_sweep_result *r,
                                                      char *buf, size_t len);

/* ---- Profiling ------------------------------------------------------------------------- */

/*
 * Each function below takes the workload `fn` with its `user` pointer (passed back
 * untouched), a monitor watching at least one GPU, and options (NULL: defaults), and runs
 * on the calling thread for as long as its trials take (Zeus's defaults: minutes).
 *
 * Returns, for all of them:
 *   ZEUS_ERR_INVALID_ARGUMENT for a NULL or destroyed argument, a monitor without GPUs, a
 *     negative or non-finite duration, an empty range, num_trials 0, calibration with
 *     num_calibration_iterations 0, or options whose size is wrong; fn is not called then;
 *   ZEUS_ERR_CALLBACK_FAILED when fn or reduce returned non-zero (the detail says which,
 *     and where: calibration, warmup, trial); nothing more is run;
 *   ZEUS_ERR_ALREADY_EXISTS when the monitor already has a window "__zeus_profile_run_trial";
 *   a device's error when a temperature or an energy cannot be read (ZEUS_ERR_GPU_LOST...),
 *     or ZEUS_ERR_TIMEOUT when a sampled window's final value did not come within 2 s;
 *   ZEUS_ERR_NO_MEMORY when a report cannot be allocated.
 * On error the outputs are zeroed and no window is left open.
 * Thread safety: see the top of this header. Since: 0.1.
 */

/*
 * One trial with known durations (Zeus's measure): calibrate (unless
 * opts->iteration_duration_s is set), sleep `cooldown_duration_s`, warm up, measure for
 * `measurement_duration_s`. Only the options' iteration counts, iteration_duration_s,
 * warmup_settle_duration_s, reduce and log are used.
 * out: the trial on ZEUS_OK.
 */
ZEUS_API zeus_status zeus_profile_measure(zeus_profile_fn fn, void *user, zeus_monitor *mon,
                                          double measurement_duration_s,
                                          double cooldown_duration_s,
                                          const zeus_profile_options *opts,
                                          zeus_profile_trial *out);

/*
 * Sweep opts->measurement_durations_s with the cooldown fixed at opts->cooldown_duration_s
 * (Zeus's profile_measurement_duration). Warmup trials measure for the longest duration.
 * out: the report on ZEUS_OK; free it with zeus_profile_report_fini().
 */
ZEUS_API zeus_status zeus_profile_measurement_duration(zeus_profile_fn fn, void *user,
                                                       zeus_monitor *mon,
                                                       const zeus_profile_options *opts,
                                                       zeus_profile_report *out);

/*
 * Sweep opts->cooldown_durations_s with the measurement duration fixed at
 * opts->measurement_duration_s (Zeus's profile_cooldown_duration).
 * out: the report on ZEUS_OK; free it with zeus_profile_report_fini().
 */
ZEUS_API zeus_status zeus_profile_cooldown_duration(zeus_profile_fn fn, void *user,
                                                    zeus_monitor *mon,
                                                    const zeus_profile_options *opts,
                                                    zeus_profile_report *out);

/*
 * Both sweeps (Zeus's profile_parameters), sharing one calibration: first the measurement
 * durations with the cooldown fixed at the largest cooldown of the range, then the cooldowns
 * with the measurement fixed at the largest measurement duration. Warmup trials run before
 * the first sweep only. opts->measurement_duration_s and cooldown_duration_s are not used.
 * measurement_out, cooldown_out: the two reports on ZEUS_OK; free both with
 * zeus_profile_report_fini().
 */
ZEUS_API zeus_status zeus_profile_parameters(zeus_profile_fn fn, void *user, zeus_monitor *mon,
                                             const zeus_profile_options *opts,
                                             zeus_profile_report *measurement_out,
                                             zeus_profile_report *cooldown_out);

#ifdef __cplusplus
}
#endif

#endif /* ZEUS_PROFILE_H */
