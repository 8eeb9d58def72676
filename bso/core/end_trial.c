/*
 * end_trial.c - PATCH /trials (Zeus's server/optimizer.py end_trial): the client's exit hook
 * says the run is over. A run that never reported its end (a crash, a kill) is still
 * Dispatched and becomes Failed, which takes it out of the explorer's view; a trial with a
 * result is left as it is.
 */
#include <math.h>

#include "bso_internal.h"

int bso_end_trial(bso_job *job, int batch_size, int trial_number, double now, bso_error *err)
{
    bso_trial *t = bso__find_trial(job, batch_size, trial_number);
    char id[96];

    if (!t) /* pydantic v1's str() of the TrialId */
        return bso__fail(err, BSO_NOT_FOUND,
                         "Could not find the trial: job_id=%s batch_size=%d trial_number=%d",
                         bso__py_str(job->spec.job_id, id, sizeof id), batch_size,
                         trial_number);
    if (t->status != BSO_DISPATCHED)
        return 0;
    t->status = BSO_FAILED;
    t->end_timestamp = now;
    t->time = NAN;
    t->energy = NAN;
    t->converged = -1;
    t->dirty = true;
    return 0;
}
