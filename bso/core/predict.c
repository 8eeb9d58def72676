/*
 * predict.c - GET /jobs/batch_size (spec 3.4; Zeus's server/optimizer.py predict): dispatch
 * on the job's stage. MAB stage draws a MAB trial from the bandit; Pruning stage runs the
 * explorer, and when the explorer hands back the surviving batch sizes, builds the arms,
 * switches to MAB and draws a MAB trial in the same call.
 *
 * Zeus runs each request in one database transaction and rolls it back on error; here an
 * error leaves the job as it was (arms, stage, generator and dirty flags restored).
 */
#include <stdlib.h>
#include <string.h>

#include "bso_internal.h"

/* What a failed predict must put back: the arms it may have built and the job's state. */
typedef struct snapshot {
    size_t num_arms;
    bso_stage stage;
    zeus_np_rng rng;
    bool state_dirty;
} snapshot;

static int mab_trial(bso_job *job, double now, uint64_t entropy, bso_trial *out,
                     bso_error *err)
{
    int bs;

    if (bso__bandit_choose(job, entropy, &bs, err) != 0)
        return -1;
    return bso__create_trial(job, bs, BSO_TRIAL_MAB, now, out, err);
}

int bso_predict(bso_job *job, double now, uint64_t entropy, bso_trial *out, bso_error *err)
{
    snapshot snap = {job->num_arms, job->stage, job->rng, job->state_dirty};
    size_t num_good = 0;
    int *good;
    int rc;

    if (job->stage == BSO_STAGE_MAB)
        rc = mab_trial(job, now, entropy, out, err);
    else {
        good = malloc((job->spec.num_batch_sizes ? job->spec.num_batch_sizes : 1) * sizeof(int));
        if (!good)
            return bso__fail(err, BSO_RUNTIME_ERROR, "Out of memory in predict.");
        rc = bso__explore(job, now, out, good, &num_good, err);
        if (rc == 0) { /* pruning is over: the bandit takes the survivors */
            rc = bso__bandit_build(job, good, num_good, err);
            if (rc == 0)
                rc = mab_trial(job, now, entropy, out, err);
        } else if (rc == 1) {
            rc = 0; /* the explorer created an Exploration or Concurrent trial */
        }
        free(good);
    }
    if (rc != 0) {
        /* bso__create_trial is each path's last step, so no trial was added; the build
         * only runs on a job without arms, so dropping what it added is restoring the count. */
        job->num_arms = snap.num_arms;
        job->stage = snap.stage;
        job->rng = snap.rng;
        job->state_dirty = snap.state_dirty;
    }
    return rc;
}
