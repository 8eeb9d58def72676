/*
 * bso_core.h - The batch size optimizer's algorithm, in memory: Zeus's pruning explorer, the
 * Gaussian Thompson-sampling bandit, the report's early stop and convergence, min-cost
 * tracking, end-trial. Spec: ../shared/reference/zeus-optimizers-zeusd.md section 3; source of
 * truth where the spec is silent: ml-energy/zeus zeus/optimizer/batch_size/server/.
 *
 * One implementation serves two callers. `zeus bso-server` loads a job's rows from its database
 * into a bso_job inside a transaction, calls one of the functions below, and writes back
 * what the call marked dirty. `zeus bso simulate` keeps its jobs in memory and calls the same
 * functions. Nothing here does I/O, takes locks or reads a clock: the caller passes `now`.
 *
 * Names here start with bso_ (not zeus_bso_, which is libzeus's public client API, linked into
 * the same programs).
 */
#ifndef ZEUS_BSO_CORE_H
#define ZEUS_BSO_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "np_random.h"

#define BSO_JOB_ID_MAX 400     /* Zeus's varchar(400) */
#define BSO_PREFIX_MAX 300     /* varchar(300) */
#define BSO_GPU_MODEL_MAX 30   /* varchar(30) */
#define BSO_RNG_JSON_MAX 10000 /* varchar(10000) */

typedef enum bso_stage { BSO_STAGE_PRUNING = 0, BSO_STAGE_MAB = 1 } bso_stage;

typedef enum bso_trial_type {
    BSO_TRIAL_EXPLORATION = 0,
    BSO_TRIAL_CONCURRENT = 1,
    BSO_TRIAL_MAB = 2,
} bso_trial_type;

typedef enum bso_trial_status {
    BSO_DISPATCHED = 0,
    BSO_SUCCEEDED = 1,
    BSO_FAILED = 2,
} bso_trial_status;

/* Names as Zeus writes them in JSON and in its enum columns: "Pruning", "Exploration",
 * "Dispatched", ... The parsers return -1 for an unknown name. */
const char *bso_stage_name(bso_stage s);
const char *bso_trial_type_name(bso_trial_type t);
const char *bso_trial_status_name(bso_trial_status s);
int bso_stage_parse(const char *name);
int bso_trial_type_parse(const char *name);
int bso_trial_status_parse(const char *name);

/* JobSpec plus the GPU configuration the client adds. Validated by the caller (the server's
 * request validation, the simulator's options) before it reaches the functions below. */
typedef struct bso_spec {
    char job_id[BSO_JOB_ID_MAX + 1];
    char job_id_prefix[BSO_PREFIX_MAX + 1];
    int *batch_sizes; /* sorted ascending, no duplicates; owned by the job */
    size_t num_batch_sizes;
    int default_batch_size;
    double eta_knob;
    double beta_knob; /* NAN: null, early stop off */
    double target_metric;
    bool higher_is_better_metric;
    int max_epochs;
    int num_pruning_rounds;
    int window_size;
    double mab_prior_mean;
    double mab_prior_precision;
    int mab_num_explorations;
    bool has_mab_seed;
    int64_t mab_seed;
    double max_power;
    int number_of_gpus;
    char gpu_model[BSO_GPU_MODEL_MAX + 1];
} bso_spec;

typedef struct bso_trial {
    int trial_number; /* per job, max + 1, from 1 */
    int batch_size;
    bso_trial_type type;
    bso_trial_status status;
    double start_timestamp; /* Unix seconds */
    double end_timestamp;   /* NAN: null */
    double time;            /* NAN: null */
    double energy;          /* NAN: null */
    int converged;          /* -1: null, 0, 1 */
    bool dirty;             /* created or changed by the last call: the server writes it back */
} bso_trial;

typedef struct bso_arm {
    int batch_size;
    double param_mean;
    double param_precision; /* INFINITY allowed */
    double reward_precision; /* INFINITY allowed */
    int num_observations;
    bool dirty;
} bso_arm;

typedef struct bso_job {
    bso_spec spec;
    bso_stage stage;
    int exp_default_batch_size;
    int min_cost_batch_size;
    double min_cost; /* NAN: null */
    zeus_np_rng rng; /* meaningful only when spec.has_mab_seed */
    bool state_dirty; /* stage, min cost, exp default or rng changed */
    bso_trial *trials; /* ascending trial_number */
    size_t num_trials, cap_trials;
    bso_arm *arms; /* ascending batch_size (Zeus's database order) */
    size_t num_arms, cap_arms;
    void (*trace)(void *ctx, int batch_size, double mean, double variance, double sample);
    void *trace_ctx;
} bso_job;

/* A failure as Zeus's server reports it: its HTTP status (400 value error or bad operation,
 * 404 not found, 409 config mismatch, 500 runtime error) and its {"message": ...}. */
typedef struct bso_error {
    int http_status;
    char message[512];
} bso_error;

/* What POST /report answers. */
typedef struct bso_report_reply {
    bool stop_train;
    bool converged;
    char message[512];
} bso_report_reply;

/* cost = eta * energy + (1 - eta) * max_power * time, Zeus's zeus_cost, same operation order. */
double bso_cost(double energy, double time, double eta, double max_power);

/*
 * A new job from a validated spec (copied; batch_sizes duplicated): stage Pruning, exp default
 * and min-cost batch size = default, min cost null, and with a seed, the generator state of
 * np.random.default_rng(mab_seed). Returns 0, or -1 when out of memory. Everything dirty.
 */
int bso_job_init(bso_job *job, const bso_spec *spec);
void bso_job_free(bso_job *job); /* frees arrays; the struct itself is the caller's */

/* Append a trial or an arm as loaded from storage (not dirty). Return 0, or -1 on no memory. */
int bso_job_add_trial(bso_job *job, const bso_trial *t);
int bso_job_add_arm(bso_job *job, const bso_arm *a);
void bso_job_clear_dirty(bso_job *job);

/*
 * GET /jobs/batch_size: the next trial (appended to job->trials, Dispatched, dirty) copied to
 * *out. Pruning stage runs the explorer; when it returns the surviving batch sizes, the arms
 * are built, the stage becomes MAB, and a MAB trial is drawn. `entropy` seeds the generator of
 * a job without mab_seed. Returns 0, or -1 with *err set.
 */
int bso_predict(bso_job *job, double now, uint64_t entropy, bso_trial *out,
                     bso_error *err);

/* POST /report. time and energy are cumulative for the trial. Returns 0 with *reply, or -1
 * with *err (unknown trial, already failed, MAB trial without an arm, ...). */
typedef struct bso_result {
    int batch_size;
    int trial_number;
    double time;
    double energy;
    double metric;
    int current_epoch;
} bso_result;
int bso_report(bso_job *job, const bso_result *r, double now,
                    bso_report_reply *reply, bso_error *err);

/* PATCH /trials: a Dispatched trial becomes Failed with an end time; a finished one is left as
 * it is. Returns 0, or -1 with *err (404 for an unknown trial). */
int bso_end_trial(bso_job *job, int batch_size, int trial_number, double now,
                       bso_error *err);

/* Fit one arm from the prior and rewards (n >= 1), as Zeus's GaussianTS._fit_arm. */
int bso_fit_arm(double prior_mean, double prior_precision, const double *rewards, size_t n,
                     bso_arm *arm, bso_error *err);

/* Optional trace of the bandit's draws, for the simulator's log and the conformance test:
 * called once per arm in Thompson sampling with Zeus's log line values
 * ("Arm <bs>: mu ~ N(<mean>, <1/precision>) -> <sample>"). NULL turns it off. */
typedef void (*bso_trace_fn)(void *ctx, int batch_size, double mean, double variance,
                                  double sample);
void bso_set_trace(bso_job *job, bso_trace_fn fn, void *ctx);

#endif /* ZEUS_BSO_CORE_H */
