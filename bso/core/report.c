/*
 * report.c - POST /report (spec 3.7; Zeus's server/optimizer.py report and mab.py report):
 * decide whether a run keeps training, and when it stops, store its result, refit its arm in
 * MAB stage and track the job's minimum cost.
 *
 * Every check happens before anything changes, so an error leaves the job as it was (Zeus
 * rolls the request's transaction back).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bso_internal.h"

/* Python's str() of an optional float: "None" for null. */
static const char *py_opt_float(double x, char *buf, size_t len)
{
    if (isnan(x)) {
        snprintf(buf, len, "None");
        return buf;
    }
    return bso__py_float(x, buf, len);
}

/* "Unknown trial <TrainingResult>": pydantic v1's str() of the request. */
static int unknown_trial(const bso_job *job, const bso_result *r, bso_error *err)
{
    char id[96], t[32], e[32], m[32];

    return bso__fail(err, BSO_BAD_OPERATION,
                     "Unknown trial job_id=%s batch_size=%d trial_number=%d time=%s energy=%s "
                     "metric=%s current_epoch=%d",
                     bso__py_str(job->spec.job_id, id, sizeof id), r->batch_size,
                     r->trial_number, bso__py_float(r->time, t, sizeof t),
                     bso__py_float(r->energy, e, sizeof e), bso__py_float(r->metric, m, sizeof m),
                     r->current_epoch);
}

/*
 * The rewards an arm is refitted from after a MAB trial (mab.py report): the batch size's
 * Succeeded trials of every type, newest first, at most window_size of them (all when
 * window_size <= 0); when the window is full, the oldest is dropped and only then is the list
 * reversed to oldest first (Zeus's quirk: a list that is not full stays newest first); the
 * current reward goes last. Returns the count written to rewards[] (room: num_trials + 1).
 */
static size_t windowed_rewards(const bso_job *job, int batch_size, double reward,
                               double *rewards)
{
    int window = job->spec.window_size;
    size_t n = 0;

    for (size_t i = job->num_trials; i-- > 0;) {
        const bso_trial *t = &job->trials[i];
        if (window > 0 && n >= (size_t)window)
            break;
        if (t->batch_size == batch_size && t->status == BSO_SUCCEEDED)
            rewards[n++] = -bso_cost(t->energy, t->time, job->spec.eta_knob,
                                     job->spec.max_power);
    }
    if (window > 0 && n >= (size_t)window) {
        n--; /* pop() the oldest */
        for (size_t i = 0; i < n / 2; i++) { /* reverse() */
            double tmp = rewards[i];
            rewards[i] = rewards[n - 1 - i];
            rewards[n - 1 - i] = tmp;
        }
    }
    rewards[n++] = reward;
    return n;
}

/* The trial's arm (*arm_out) and its refitted state (*fitted), refitted from the priors;
 * changes nothing. 400 when the batch size has no arm or the trial is not a MAB trial. */
static int refit_arm(bso_job *job, const bso_trial *trial, double reward, bso_arm **arm_out,
                     bso_arm *fitted, bso_error *err)
{
    bso_arm *arm = bso__find_arm(job, trial->batch_size);
    double *rewards;
    size_t n;
    int rc;

    if (!arm)
        return bso__fail(err, BSO_VALUE_ERROR,
                         "MAB stage but Arm for batch size(%d) is not found.",
                         trial->batch_size);
    if (trial->type != BSO_TRIAL_MAB) /* the quirk: a late Exploration or Concurrent run */
        return bso__fail(err, BSO_BAD_OPERATION,
                         "Cannot update an arm since this trial is not issued from MAB stage.");
    rewards = malloc((job->num_trials + 1) * sizeof *rewards);
    if (!rewards)
        return bso__fail(err, BSO_RUNTIME_ERROR, "Out of memory refitting the arm.");
    n = windowed_rewards(job, trial->batch_size, reward, rewards);
    *fitted = *arm;
    rc = bso_fit_arm(job->spec.mab_prior_mean, job->spec.mab_prior_precision, rewards, n,
                     fitted, err);
    *arm_out = arm;
    free(rewards);
    return rc;
}

/* Already reported: stop, with the stored outcome; a Failed trial has none (400). */
static int already_reported(const bso_trial *t, bso_report_reply *reply, bso_error *err)
{
    if (t->converged < 0)
        return bso__fail(err, BSO_VALUE_ERROR,
                         "Trial(%d) is already reported but converged is not set.",
                         t->trial_number);
    reply->stop_train = true;
    reply->converged = t->converged == 1;
    snprintf(reply->message, sizeof reply->message,
             "Result for this trial(%d) is already reported.", t->trial_number);
    return 0;
}

static void stop_message(const bso_job *job, const bso_result *r, double cost, bool converged,
                         bool within, char *msg, size_t len)
{
    char c[32], b[32], m[32];

    if (converged && within)
        snprintf(msg, len, "Train succeeded");
    else if (!within) /* Zeus's triple-quoted f-string: a newline and 20 spaces inside */
        snprintf(msg, len,
                 "Batch Size(%d) exceeded the cost upper bound: current cost(%s) >\n"
                 "                    beta_knob(%s)*min_cost(%s)",
                 r->batch_size, bso__py_float(cost, c, sizeof c),
                 py_opt_float(job->spec.beta_knob, b, sizeof b),
                 py_opt_float(job->min_cost, m, sizeof m));
    else
        snprintf(msg, len, "Train failed to converge within max_epoch(%d)",
                 job->spec.max_epochs);
}

int bso_report(bso_job *job, const bso_result *r, double now, bso_report_reply *reply,
               bso_error *err)
{
    const bso_spec *s = &job->spec;
    bso_trial *t = bso__find_trial(job, r->batch_size, r->trial_number);
    bso_arm *arm = NULL, fitted;
    double bound = INFINITY, cost;
    bool within, converged;

    if (!t)
        return unknown_trial(job, r, err);
    if (t->status != BSO_DISPATCHED)
        return already_reported(t, reply, err);
    /*
     * Zeus lets a negative or missing time or energy through while the run keeps training
     * and fails with a validation error (500) once it stops. A cost from such numbers means
     * nothing either way, so we refuse it at once.
     */
    if (!isfinite(r->time) || !isfinite(r->energy) || r->time < 0 || r->energy < 0)
        return bso__fail(err, BSO_VALUE_ERROR,
                         "time and energy must be finite and non-negative.");

    if (!isnan(s->beta_knob) && !isnan(job->min_cost)) /* early stop is on */
        bound = s->beta_knob * job->min_cost;
    cost = bso_cost(r->energy, r->time, s->eta_knob, s->max_power);
    within = bound >= cost;
    converged = s->higher_is_better_metric ? s->target_metric <= r->metric
                                           : s->target_metric >= r->metric;

    if (within && r->current_epoch < s->max_epochs && !converged) {
        reply->stop_train = false;
        reply->converged = false;
        snprintf(reply->message, sizeof reply->message,
                 "Stop condition not met, keep training");
        return 0;
    }

    if (job->stage == BSO_STAGE_MAB && refit_arm(job, t, -cost, &arm, &fitted, err) != 0)
        return -1;

    /* Nothing can fail from here on. The message quotes the min cost before this trial. */
    reply->stop_train = true;
    reply->converged = converged && within;
    stop_message(job, r, cost, converged, within, reply->message, sizeof reply->message);
    if (arm) {
        fitted.dirty = true;
        *arm = fitted;
    }
    t->status = BSO_SUCCEEDED;
    t->end_timestamp = now;
    t->time = r->time;
    t->energy = r->energy;
    t->converged = converged && within;
    t->dirty = true;
    /* The min-cost quirk: any stored result counts, converged or not. */
    if (isnan(job->min_cost) || job->min_cost > cost) {
        job->min_cost = cost;
        job->min_cost_batch_size = r->batch_size;
        job->state_dirty = true;
    }
    return 0;
}
