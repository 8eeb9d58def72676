/*
 * bandit.c - The Gaussian Thompson-sampling bandit (spec 3.6; Zeus's server/mab.py GaussianTS
 * and the random draws of services/service.py): fit an arm, build the arms when pruning ends,
 * choose the next batch size.
 *
 * Floating point follows numpy's operations in numpy's order (pairwise np.sum / np.mean /
 * np.var through np_random.h), and the draws follow numpy's PCG64 stream, so a seeded job
 * gives Zeus's batch sizes and posteriors to the last bit.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bso_internal.h"

int bso_fit_arm(double prior_mean, double prior_precision, const double *rewards, size_t n,
                bso_arm *arm, bso_error *err)
{
    double variance, reward_prec;

    if (n == 0)
        return bso__fail(err, BSO_VALUE_ERROR, "No rewards to fit the arm.");
    variance = zeus_np_var(rewards, n);
    reward_prec = variance == 0.0 ? INFINITY : 1.0 / variance;
    if (reward_prec == INFINITY) {
        /* One observation (or identical ones): sampling yields exactly their mean. */
        arm->param_precision = INFINITY;
        arm->param_mean = zeus_np_mean(rewards, n);
    } else {
        /* One product per statement, so no compiler fuses them into FMAs (see cost.c). */
        double n_prec = (double)n * reward_prec;
        double new_prec = prior_precision + n_prec;
        double prior_part = prior_precision * prior_mean;
        double data_part = reward_prec * zeus_np_sum(rewards, n);
        arm->param_mean = (prior_part + data_part) / new_prec;
        arm->param_precision = new_prec;
    }
    arm->reward_precision = reward_prec;
    arm->num_observations = (int)n;
    return 0;
}

/*
 * construct_mab: for each good batch size, the rewards -cost of all its exploration trials
 * (every round; the non-Failed ones, ascending trial number, as the explorer saw them), fitted
 * from the priors. The arms and the stage change only once every arm has fitted.
 */
int bso__bandit_build(bso_job *job, const int *good, size_t num_good, bso_error *err)
{
    bso_arm *arms;
    double *rewards;

    if (num_good == 0)
        return bso__fail(err, BSO_VALUE_ERROR, "While creating arms, no batch size is selected");
    /* Zeus would fail inserting a duplicate arm at commit; a job in Pruning stage that
     * already has arms is inconsistent storage either way. */
    if (job->num_arms != 0)
        return bso__fail(err, BSO_RUNTIME_ERROR, "The job is in Pruning stage but has arms.");
    arms = calloc(num_good, sizeof *arms);
    rewards = malloc((job->num_trials ? job->num_trials : 1) * sizeof *rewards);
    if (!arms || !rewards) {
        free(arms);
        free(rewards);
        return bso__fail(err, BSO_RUNTIME_ERROR, "Out of memory building the arms.");
    }
    for (size_t g = 0; g < num_good; g++) {
        size_t n = 0;
        for (size_t i = 0; i < job->num_trials; i++) {
            const bso_trial *t = &job->trials[i];
            if (t->batch_size != good[g] || t->type != BSO_TRIAL_EXPLORATION ||
                t->status == BSO_FAILED)
                continue;
            if (isnan(t->energy) || isnan(t->time)) {
                free(arms);
                free(rewards);
                return bso__fail(err, BSO_VALUE_ERROR, "Trial %d has no energy or time set.",
                                 t->trial_number);
            }
            rewards[n++] = -bso_cost(t->energy, t->time, job->spec.eta_knob,
                                     job->spec.max_power);
        }
        /*
         * A good batch size without exploration data only happens with num_pruning_rounds 0.
         * Zeus fails there with a KeyError (500, message "<batch size>"); we keep the 500 and
         * say what is missing.
         */
        if (n == 0) {
            free(arms);
            free(rewards);
            return bso__fail(err, BSO_RUNTIME_ERROR,
                             "No exploration result for batch size(%d) to fit its arm: "
                             "num_pruning_rounds must be at least 1.", good[g]);
        }
        arms[g].batch_size = good[g];
        if (bso_fit_arm(job->spec.mab_prior_mean, job->spec.mab_prior_precision, rewards, n,
                        &arms[g], err) != 0) {
            free(arms);
            free(rewards);
            return -1;
        }
    }
    for (size_t g = 0; g < num_good; g++) {
        if (bso_job_add_arm(job, &arms[g]) != 0) {
            job->num_arms = 0; /* none of them, as Zeus's rolled-back transaction */
            free(arms);
            free(rewards);
            return bso__fail(err, BSO_RUNTIME_ERROR, "Out of memory building the arms.");
        }
    }
    for (size_t g = 0; g < num_good; g++)
        bso__find_arm(job, good[g])->dirty = true;
    job->stage = BSO_STAGE_MAB;
    job->state_dirty = true;
    free(arms);
    free(rewards);
    return 0;
}

/*
 * GaussianTS.predict. With mab_seed, every draw comes from the job's stored generator, which
 * the caller writes back (state_dirty). Without one, Zeus seeds a fresh generator with the
 * current Unix second for EACH draw (service.py _get_generator), so within one second every
 * arm's normal draw uses the same z and the permutation repeats. We deliberately differ: one
 * generator per predict, seeded from the caller's `entropy` (the server passes getrandom()
 * bits), serves the permutation and all of the normals.
 */
int bso__bandit_choose(bso_job *job, uint64_t entropy, int *batch_size, bso_error *err)
{
    size_t n = job->num_arms;
    zeus_np_rng local, *rng = &job->rng;
    int *order, *sizes;
    double best = 0;
    int best_bs = 0, have = 0;

    if (n == 0)
        return bso__fail(err, BSO_RUNTIME_ERROR, "MAB stage but the job has no arms.");
    if (!job->spec.has_mab_seed) {
        zeus_np_rng_seed(&local, entropy);
        rng = &local;
    }
    sizes = malloc(n * sizeof(int));
    order = malloc(n * sizeof(int));
    if (!sizes || !order) {
        free(sizes);
        free(order);
        return bso__fail(err, BSO_RUNTIME_ERROR, "Out of memory choosing a batch size.");
    }
    for (size_t i = 0; i < n; i++)
        sizes[i] = job->arms[i].batch_size;

    /* Exploration-only phase, in a random order: drawn on every predict, so it always moves
     * the stream, even once every arm is explored. */
    zeus_np_choice_all(rng, sizes, order, n);
    if (job->spec.has_mab_seed)
        job->state_dirty = true;
    for (size_t i = 0; i < n; i++) {
        const bso_arm *arm = bso__find_arm(job, order[i]);
        if (arm->num_observations < job->spec.mab_num_explorations) {
            *batch_size = order[i];
            free(sizes);
            free(order);
            return 0;
        }
    }

    /* Thompson sampling: one normal per arm in database order; the first maximum wins. */
    for (size_t i = 0; i < n; i++) {
        const bso_arm *arm = &job->arms[i];
        double scale = sqrt(1.0 / arm->param_precision);
        double sample = zeus_np_normal(rng, arm->param_mean, scale);
        if (job->trace)
            job->trace(job->trace_ctx, arm->batch_size, arm->param_mean,
                       1.0 / arm->param_precision, sample);
        if (!have || sample > best) {
            best = sample;
            best_bs = arm->batch_size;
            have = 1;
        }
    }
    free(sizes);
    free(order);
    *batch_size = best_bs;
    return 0;
}
