/*
 * zeus/pipeline_frequency.h - Perseus's client in C: run each forward and backward instruction
 * of a pipeline-parallel training iteration at the GPU SM frequency a Perseus server
 * (`zeus pfo-server`, or Zeus's) plans for it. Zeus's PipelineFrequencyOptimizer
 * (zeus/optimizer/pipeline_frequency/optimizer.py; spec: zeus-optimizers-zeusd.md 4.3).
 *
 *     zeus_pfo_options o;
 *     zeus_pfo_options_init(&o);
 *     o.server_url = "http://pfo-server:8000";
 *     o.rank = rank; o.pp_rank = ...; o.device_id = local_gpu;
 *     o.pp_degree = 4; o.dp_degree = 2; o.tp_degree = 1; o.world_size = 8;
 *     char id[ZEUS_PFO_JOB_ID_MAX];
 *     if (rank == 0)
 *         zeus_pfo_register_job(&o, id, sizeof id);   // POST /register_job
 *     broadcast(id);                                  // the caller's collective
 *     o.job_id = id;
 *     zeus_pfo *pfo;
 *     zeus_pfo_create(devs, &o, &pfo);   // POST /register_rank, GET /schedule (blocks)
 *     for (each iteration) {
 *         for (each instruction) {
 *             synchronize_device();       // so the clock changes at the boundary
 *             zeus_pfo_on_instruction_begin(pfo, "forward");
 *             run_forward();
 *         }
 *         zeus_pfo_on_step_end(pfo);      // the plan must be used up
 *     }
 *     zeus_pfo_destroy(pfo);              // resets the locked clocks
 *
 * The frequency controller is a thread the handle owns (Zeus: a separate process). At start,
 * in zeus_pfo_create(), it resets the power limit to the default, locks the memory clock at
 * its maximum (ZEUS_ERR_NOT_SUPPORTED ignored) and the SM clock at its maximum; then it locks
 * the SM clock to [f, f] for each frequency f that on_instruction_begin queues and that
 * differs from the current one (0 means "leave it"), in order; at the end it resets the
 * locked clocks. All of it goes through the device API (zeus/device.h), so through zeusd when
 * ZEUSD_SOCK_PATH or ZEUSD_HOST_PORT is set (Zeus's rule for an unprivileged process).
 * on_instruction_begin itself only takes a lock and appends to the controller's queue
 * (bench/README.md gives its cost).
 *
 * Not in Zeus either: the client never reports profiling results (POST /result) and fetches
 * the schedule once.
 *
 * A handle not destroyed is ended at exit (atexit), as Zeus's controller is: its queue is
 * drained and the clocks reset. Thread safety: one handle is driven from one thread.
 */
#ifndef ZEUS_PIPELINE_FREQUENCY_H
#define ZEUS_PIPELINE_FREQUENCY_H

#include <stddef.h>
#include <stdint.h>

#include "zeus/device.h"
#include "zeus/export.h"
#include "zeus/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Room for a job id with its terminating NUL: Zeus's format plus 200 characters of metadata. */
#define ZEUS_PFO_JOB_ID_MAX 320

typedef struct zeus_pfo zeus_pfo;

/* Zeus's arguments. Strings are copied by the call they are passed to. */
typedef struct zeus_pfo_options {
    uint32_t size; /* sizeof(zeus_pfo_options), set by zeus_pfo_options_init() */

    const char *server_url; /* "http://host:port" (required; a final '/' is dropped) */
    const char *job_id;     /* zeus_pfo_create(): the id rank 0 registered (required) */
    const char *job_metadata; /* zeus_pfo_register_job(): appended to the id; NULL: none */
    int rank, dp_rank, pp_rank, tp_rank; /* this process's global and group ranks (>= 0) */
    unsigned device_id;     /* the GPU this rank drives, in zeus_devices numbering (0) */
    int dp_degree, pp_degree, tp_degree; /* >= 1 (1) */
    int world_size;         /* dp * pp * tp (1) */
} zeus_pfo_options;

/* Fill `o` with the defaults: degrees and world size 1, ranks and device 0, strings NULL.
 * Since: 0.1. */
ZEUS_API void zeus_pfo_options_init(zeus_pfo_options *o);

/*
 * Register the job (POST /register_job with the degrees, world size and job_metadata of `o`)
 * and write the server's job id into job_id (len bytes; ZEUS_PFO_JOB_ID_MAX is enough). Rank 0
 * calls it once and hands the id to the other ranks.
 * Returns ZEUS_ERR_INVALID_ARGUMENT for bad options or a 4xx ("PFO server returned status code
 * <code>: <body>"), ZEUS_ERR_IO when the server cannot be reached, answers 5xx or a reply that
 * is not a string, ZEUS_ERR_INSUFFICIENT_SIZE when len is too small. Since: 0.1.
 */
ZEUS_API zeus_status zeus_pfo_register_job(const zeus_pfo_options *o, char *job_id, size_t len);

/*
 * Set up the GPU (see above) and start the controller thread, register this rank with its
 * available frequencies (the supported graphics clocks at the highest memory clock,
 * descending), and fetch this rank's schedule, which blocks until every rank of the job has
 * asked. On failure the clocks locked so far are reset; a GPU that cannot be set up fails
 * before the rank is registered.
 *
 * devs: the devices (must outlive the handle). out: the handle on ZEUS_OK.
 * Returns ZEUS_ERR_INVALID_ARGUMENT for bad options, ZEUS_ERR_NOT_FOUND for a device_id that
 * is not a GPU or a job the server does not know (404), the device API's error when the GPU
 * cannot be set up (ZEUS_ERR_NO_PERMISSION: run zeusd or as root), and the server's errors as
 * zeus_pfo_register_job(): a 400 or 500 with the server's detail when its scheduler failed.
 * Since: 0.1.
 */
ZEUS_API zeus_status zeus_pfo_create(zeus_devices *devs, const zeus_pfo_options *o,
                                     zeus_pfo **out);

/*
 * Stop the controller (after every queued frequency was applied), reset the GPU's locked
 * clocks, join its thread and free the handle. NULL is a no-op. Since: 0.1.
 */
ZEUS_API void zeus_pfo_destroy(zeus_pfo *pfo);

/*
 * Instruction `name` ("forward", "backward") begins: take the schedule's next entry, check
 * its name, and queue its frequency for the controller. Does not wait for the clock.
 * Returns ZEUS_ERR_INVALID_ARGUMENT when the schedule is used up ("PFO server returned fewer
 * frequencies than expected") or names another instruction; or, once, the error of a clock
 * change the controller failed to make since the last call (the device API's status).
 * Since: 0.1.
 */
ZEUS_API zeus_status zeus_pfo_on_instruction_begin(zeus_pfo *pfo, const char *name);

/*
 * The iteration ends: the schedule must be used up, and starts over. Returns
 * ZEUS_ERR_INVALID_ARGUMENT when entries are left ("PFO server returned more frequencies than
 * expected"; the position is kept, as in Zeus), or a controller error as above. Since: 0.1.
 */
ZEUS_API zeus_status zeus_pfo_on_step_end(zeus_pfo *pfo);

/* The job id (the handle's; valid until it is destroyed). NULL for a bad handle. Since: 0.1. */
ZEUS_API const char *zeus_pfo_job_id(const zeus_pfo *pfo);

/* The schedule's length, and entry i: *name (the handle's) and *mhz. Since: 0.1. */
ZEUS_API size_t zeus_pfo_schedule_length(const zeus_pfo *pfo);
ZEUS_API zeus_status zeus_pfo_schedule_entry(const zeus_pfo *pfo, size_t i, const char **name,
                                             unsigned *mhz);

#ifdef __cplusplus
}
#endif

#endif /* ZEUS_PIPELINE_FREQUENCY_H */
