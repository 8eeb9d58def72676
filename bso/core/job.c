/*
 * job.c - A bso_job's life: init from a spec, free, the rows the server loads into it
 * (trials, arms), the dirty flags it reads back, lookups and the creation of new trials.
 */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bso_internal.h"

int bso__fail(bso_error *err, int status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->http_status = status;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int bso_job_init(bso_job *job, const bso_spec *spec)
{
    memset(job, 0, sizeof *job);
    if (spec->num_batch_sizes > 0 && !spec->batch_sizes)
        return -1;
    job->spec = *spec;
    job->spec.batch_sizes = NULL;
    if (spec->num_batch_sizes > 0) {
        job->spec.batch_sizes = malloc(spec->num_batch_sizes * sizeof(int));
        if (!job->spec.batch_sizes)
            return -1;
        memcpy(job->spec.batch_sizes, spec->batch_sizes, spec->num_batch_sizes * sizeof(int));
    }
    job->stage = BSO_STAGE_PRUNING;
    job->exp_default_batch_size = spec->default_batch_size;
    job->min_cost_batch_size = spec->default_batch_size;
    job->min_cost = NAN;
    /* Zeus creates np.random.default_rng(mab_seed) at registration and stores its state. A
     * negative seed never gets here: the spec's validation refuses it, as numpy does. */
    if (spec->has_mab_seed)
        zeus_np_rng_seed(&job->rng, (uint64_t)spec->mab_seed);
    job->state_dirty = true;
    return 0;
}

void bso_job_free(bso_job *job)
{
    if (!job)
        return;
    free(job->spec.batch_sizes);
    free(job->trials);
    free(job->arms);
    job->spec.batch_sizes = NULL;
    job->trials = NULL;
    job->arms = NULL;
    job->num_trials = job->cap_trials = 0;
    job->num_arms = job->cap_arms = 0;
}

/* Grow an array to hold one more element; 0 or -1. */
static int reserve(void **items, size_t *cap, size_t count, size_t size)
{
    size_t ncap;
    void *p;

    if (count < *cap)
        return 0;
    ncap = *cap ? *cap * 2 : 16;
    p = realloc(*items, ncap * size);
    if (!p)
        return -1;
    *items = p;
    *cap = ncap;
    return 0;
}

/*
 * Trials stay in ascending trial number, arms in ascending batch size, whatever order the
 * caller loads them in: the explorer's "r-th exploration of a batch size", the window's
 * "newest first" and the arms' draw order all depend on it.
 */
int bso_job_add_trial(bso_job *job, const bso_trial *t)
{
    size_t i;

    if (reserve((void **)&job->trials, &job->cap_trials, job->num_trials, sizeof *t) != 0)
        return -1;
    i = job->num_trials;
    while (i > 0 && job->trials[i - 1].trial_number > t->trial_number) {
        job->trials[i] = job->trials[i - 1];
        i--;
    }
    job->trials[i] = *t;
    job->trials[i].dirty = false;
    job->num_trials++;
    return 0;
}

int bso_job_add_arm(bso_job *job, const bso_arm *a)
{
    size_t i;

    if (reserve((void **)&job->arms, &job->cap_arms, job->num_arms, sizeof *a) != 0)
        return -1;
    i = job->num_arms;
    while (i > 0 && job->arms[i - 1].batch_size > a->batch_size) {
        job->arms[i] = job->arms[i - 1];
        i--;
    }
    job->arms[i] = *a;
    job->arms[i].dirty = false;
    job->num_arms++;
    return 0;
}

void bso_job_clear_dirty(bso_job *job)
{
    job->state_dirty = false;
    for (size_t i = 0; i < job->num_trials; i++)
        job->trials[i].dirty = false;
    for (size_t i = 0; i < job->num_arms; i++)
        job->arms[i].dirty = false;
}

void bso_set_trace(bso_job *job, bso_trace_fn fn, void *ctx)
{
    job->trace = fn;
    job->trace_ctx = ctx;
}

bso_trial *bso__find_trial(bso_job *job, int batch_size, int trial_number)
{
    for (size_t i = 0; i < job->num_trials; i++)
        if (job->trials[i].trial_number == trial_number &&
            job->trials[i].batch_size == batch_size)
            return &job->trials[i];
    return NULL;
}

bso_arm *bso__find_arm(bso_job *job, int batch_size)
{
    for (size_t i = 0; i < job->num_arms; i++)
        if (job->arms[i].batch_size == batch_size)
            return &job->arms[i];
    return NULL;
}

int bso__create_trial(bso_job *job, int batch_size, bso_trial_type type, double now,
                      bso_trial *out, bso_error *err)
{
    bso_trial t;
    int max = 0;

    /* Zeus: select max(trial_number) + 1, or 1 for a job without trials. */
    for (size_t i = 0; i < job->num_trials; i++)
        if (job->trials[i].trial_number > max)
            max = job->trials[i].trial_number;
    if (max == INT_MAX)
        return bso__fail(err, BSO_RUNTIME_ERROR, "The job has run out of trial numbers.");
    memset(&t, 0, sizeof t);
    t.trial_number = max + 1;
    t.batch_size = batch_size;
    t.type = type;
    t.status = BSO_DISPATCHED;
    t.start_timestamp = now;
    t.end_timestamp = NAN;
    t.time = NAN;
    t.energy = NAN;
    t.converged = -1;
    if (bso_job_add_trial(job, &t) != 0)
        return bso__fail(err, BSO_RUNTIME_ERROR, "Out of memory creating a trial.");
    job->trials[job->num_trials - 1].dirty = true;
    if (out)
        *out = job->trials[job->num_trials - 1];
    return 0;
}
