/*
 * zeus/batch_size.h - Zeus's batch size optimizer client in C: ask a BSO server
 * (`zeus bso-server`, or Zeus's own) which batch size this training run uses, and report
 * each epoch's cumulative time, energy and validation metric so the server can stop the run
 * early and learn which batch size costs least.
 *
 *     zeus_bso_spec spec;
 *     zeus_bso_spec_init(&spec);                 // Zeus's JobSpec defaults
 *     spec.job_id_prefix = "mnist";
 *     spec.batch_sizes = (const unsigned[]){32, 64, 128};
 *     spec.batch_size_count = 3;
 *     spec.default_batch_size = 64;
 *     zeus_bso *bso;
 *     zeus_bso_open(mon, "http://127.0.0.1:8000", &spec, 0, &bso);   // POST /jobs
 *     unsigned bs;
 *     zeus_bso_get_batch_size(bso, &bs);         // GET /jobs/batch_size
 *     zeus_bso_on_train_begin(bso);              // opens a monitor window
 *     for (epoch...) {
 *         train_one_epoch(bs);
 *         int stop;
 *         s = zeus_bso_on_evaluate(bso, validation_metric(), &stop);  // POST /report
 *         if (s == ZEUS_ERR_TRAIN_FAILED) ...    // this batch size failed: relaunch
 *         if (stop) break;
 *     }
 *     zeus_bso_close(bso);                       // PATCH /trials (ends the trial)
 *
 * The protocol is Zeus's (zeus/optimizer/batch_size/client.py; the spec:
 * zeus-optimizers-zeusd.md section 3.8): MaxPower is GPU 0's maximum power limit in whole
 * watts times the number of GPUs the monitor watches; every visible GPU must be the same
 * model; only rank 0 asks for a batch size, and other ranks are told it with
 * zeus_bso_set_trial(); time and energy (all the monitor's GPUs) are summed over the epochs
 * and reported cumulatively.
 *
 * Errors: a server that cannot be reached or answers 5xx is tried 3 times in all (0.2 s, then
 * 0.4 s apart), then ZEUS_ERR_IO; a 4xx reply is ZEUS_ERR_INVALID_ARGUMENT (404:
 * ZEUS_ERR_NOT_FOUND). Either way zeus_last_error() reads as Zeus's "Zeus server returned
 * status code <code>: <body>", followed by the method and URL. A run the server ends as not
 * converged is ZEUS_ERR_TRAIN_FAILED with Zeus's "Train failed: <server's message> ...".
 *
 * The trial that zeus_bso_get_batch_size() started is ended (PATCH /trials) by
 * zeus_bso_close() and, for a client never closed, when the process exits through exit() or
 * a return from main, as Zeus's atexit hook does (one try there, not three). A trial that was already reported is left
 * as it was by the server; one still running is marked Failed.
 *
 * Thread safety: one client is driven from one thread. Distinct clients are independent.
 */
#ifndef ZEUS_BATCH_SIZE_H
#define ZEUS_BATCH_SIZE_H

#include <stddef.h>
#include <stdint.h>

#include "zeus/export.h"
#include "zeus/monitor.h"
#include "zeus/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zeus_bso zeus_bso;

/* Zeus's JobSpec. Strings and the array are copied by zeus_bso_open(). */
typedef struct zeus_bso_spec {
    uint32_t size; /* sizeof(zeus_bso_spec), set by zeus_bso_spec_init() */

    const char *job_id;        /* NULL: the server makes one; else must start with the prefix */
    const char *job_id_prefix; /* required, non-empty */
    const unsigned *batch_sizes; /* required; sorted by the client, as Zeus's validator does */
    size_t batch_size_count;     /* > 0 */
    unsigned default_batch_size; /* > 0 and in batch_sizes */
    double eta_knob;             /* in [0, 1] (0.5) */
    double beta_knob;            /* > 0 (2.0), or NAN to turn early stop off (Zeus's None) */
    double target_metric;        /* (0.5) */
    int higher_is_better_metric; /* (1) */
    unsigned max_epochs;         /* > 0 (100) */
    unsigned num_pruning_rounds; /* (2) */
    int window_size;             /* 0: all history (0) */
    double mab_prior_mean;       /* (0.0) */
    double mab_prior_precision;  /* (0.0) */
    unsigned mab_num_explorations; /* (2) */
    int has_mab_seed;            /* 0: no seed (Zeus's None) (0) */
    int64_t mab_seed;            /* used when has_mab_seed */
} zeus_bso_spec;

/* Fill `spec` with Zeus's defaults (job_id_prefix and batch_sizes left NULL). Since: 0.1. */
ZEUS_API void zeus_bso_spec_init(zeus_bso_spec *spec);

/*
 * Check the GPUs, compute the GPU configuration and register the job (POST /jobs). A job
 * already registered with the identical configuration is joined (Zeus's 200); one registered
 * with a different configuration is refused by the server (409, ZEUS_ERR_INVALID_ARGUMENT).
 *
 * mon: the monitor over all and only the GPUs this rank trains on; it must outlive the
 * client. server_url: "http://host:port" (copied; a final '/' is dropped). rank: this
 * process's rank; only rank 0 may call zeus_bso_get_batch_size().
 * Returns ZEUS_ERR_INVALID_ARGUMENT for a spec that breaks one of Zeus's rules (the message is
 * Zeus's validator's), ZEUS_ERR_NOT_FOUND when no GPU is visible or the monitor watches none
 * ("No GPUs detected."), ZEUS_ERR_NOT_SUPPORTED for GPUs of different models, and the
 * server's errors as above. Since: 0.1.
 */
ZEUS_API zeus_status zeus_bso_open(zeus_monitor *mon, const char *server_url,
                                   const zeus_bso_spec *spec, unsigned rank, zeus_bso **out);

/*
 * End the trial if one was started (PATCH /trials; a failure there is not reported), close
 * the open window and free the client. NULL is a no-op. Since: 0.1.
 */
ZEUS_API void zeus_bso_close(zeus_bso *bso);

/* The job id the server registered (never NULL for an open client). Since: 0.1. */
ZEUS_API const char *zeus_bso_job_id(const zeus_bso *bso);

/* The GPU configuration sent: MaxPower in W, the GPU count and GPU 0's name. Since: 0.1. */
ZEUS_API zeus_status zeus_bso_gpu_config(const zeus_bso *bso, double *max_power_w,
                                         unsigned *number_of_gpus, const char **gpu_model);

/*
 * The batch size of this run: asked once from the server (GET /jobs/batch_size), then the
 * same value again. It starts a trial, which zeus_bso_close() or the exit hook ends.
 * Returns ZEUS_ERR_NOT_SUPPORTED on a rank other than 0 ("Only rank 0 gpu can ask for a
 * batch size."), ZEUS_ERR_IO when the server answers a batch size outside the job's list,
 * and the server's errors. Since: 0.1.
 */
ZEUS_API zeus_status zeus_bso_get_batch_size(zeus_bso *bso, unsigned *batch_size);

/*
 * On a rank other than 0: the batch size and trial number rank 0 got (broadcast them
 * yourself), so that this rank can report too. Since: 0.1.
 */
ZEUS_API zeus_status zeus_bso_set_trial(zeus_bso *bso, unsigned batch_size,
                                        unsigned trial_number);

/* The current trial: batch size 0 before one is known. Since: 0.1. */
ZEUS_API zeus_status zeus_bso_get_trial(const zeus_bso *bso, unsigned *batch_size,
                                        unsigned *trial_number, unsigned *epoch);

/* Open the monitor window that measures the epochs (an open one is restarted). Since: 0.1. */
ZEUS_API zeus_status zeus_bso_on_train_begin(zeus_bso *bso);

/*
 * After an epoch's validation: close the window, add its time and energy to the run's, and
 * POST /report. stop: 1 when the server ends the run (the window then stays closed), 0 when
 * training goes on (a new window is open). Once the run ended, further calls do nothing.
 * Returns ZEUS_ERR_UNINITIALIZED before a batch size is known ("Call get_batch_size to set
 * the batch size first"), ZEUS_ERR_NOT_FOUND when no window is open (on_train_begin was not
 * called), ZEUS_ERR_TRAIN_FAILED when the server ends the run as not converged (stop is 1;
 * the message carries the server's reason), a monitor error, and the server's errors. When
 * the report fails, the epoch stays counted and a new window is open: a caller that carries
 * on reports the cumulative run at the next evaluation. Since: 0.1.
 */
ZEUS_API zeus_status zeus_bso_on_evaluate(zeus_bso *bso, double metric, int *stop);

/*
 * As zeus_bso_on_evaluate() with this epoch's time and energy given instead of measured
 * (the monitor's window is not touched): for a loop that measures on its own. Since: 0.1.
 */
ZEUS_API zeus_status zeus_bso_report(zeus_bso *bso, double epoch_time_s, double epoch_energy_j,
                                     double metric, int *stop);

/*
 * End the trial now (PATCH /trials): the server marks it Failed unless it was reported.
 * Doing it again, or without a trial, is a no-op. Since: 0.1.
 */
ZEUS_API zeus_status zeus_bso_end_trial(zeus_bso *bso);

#ifdef __cplusplus
}
#endif

#endif /* ZEUS_BATCH_SIZE_H */
