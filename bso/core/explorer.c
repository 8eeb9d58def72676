/*
 * explorer.c - The pruning explorer (spec 3.5; Zeus's server/explorer.py
 * PruningExploreManager.next_batch_size): the rounds of down-then-up walks that pick the next
 * batch size to explore, or the batch sizes that survive into the bandit.
 *
 * Zeus keeps no round counter: every predict replays the rounds from the stored trials. The
 * trials it replays are the job's Exploration trials that did not fail, per batch size in
 * ascending trial number (batch_size_state/repository.py get_explorations_of_job); the r-th
 * of them is that batch size's trial of round r. The replay's updated default is not stored
 * (Zeus never writes exp_default_batch_size), and neither is it here.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bso_internal.h"

/* The `round`-th (0-based) non-Failed Exploration trial of `bs`, or NULL. */
static const bso_trial *exploration_of_round(const bso_job *job, int bs, int round)
{
    int seen = 0;

    for (size_t i = 0; i < job->num_trials; i++) {
        const bso_trial *t = &job->trials[i];
        if (t->batch_size != bs || t->type != BSO_TRIAL_EXPLORATION || t->status == BSO_FAILED)
            continue;
        if (seen++ == round)
            return t;
    }
    return NULL;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* What one batch size's trial of the round says about the walk. */
enum step { STEP_EXPLORE, STEP_CONCURRENT, STEP_STOP, STEP_CONVERGED };

static enum step classify(const bso_trial *t)
{
    if (!t)
        return STEP_EXPLORE;
    if (t->status == BSO_DISPATCHED)
        return STEP_CONCURRENT; /* another run is exploring it right now */
    /* Python's `not converged`: a stored null is falsy too. */
    return t->converged == 1 ? STEP_CONVERGED : STEP_STOP;
}

/*
 * One round over list[0..n-1] with `def` as its default. Returns 1 when it created a trial,
 * 0 when the round finished (the converged batch sizes in conv[], the cheapest in *cheapest),
 * -1 on error.
 */
static int walk_round(bso_job *job, int round, const int *list, size_t n, int def, double now,
                      bso_trial *out, int *conv, size_t *num_conv, int *cheapest,
                      bso_error *err)
{
    double min_cost = INFINITY;
    size_t idx = n;

    for (size_t i = 0; i < n; i++)
        if (list[i] == def)
            idx = i;
    if (idx == n) /* Python's list.index: ValueError, which the router answers with 500. */
        return bso__fail(err, BSO_RUNTIME_ERROR, "%d is not in list", def);

    *num_conv = 0;
    *cheapest = 0;
    /* down: list[idx], list[idx-1], ..., list[0]; then up: list[idx+1], ..., list[n-1]. */
    for (int dir = 0; dir < 2; dir++) {
        size_t count = dir == 0 ? idx + 1 : n - idx - 1;
        for (size_t k = 0; k < count; k++) {
            int bs = dir == 0 ? list[idx - k] : list[idx + 1 + k];
            const bso_trial *t = exploration_of_round(job, bs, round);
            enum step s = classify(t);
            double cost;

            if (s == STEP_EXPLORE)
                return bso__create_trial(job, bs, BSO_TRIAL_EXPLORATION, now, out, err) == 0
                           ? 1 : -1;
            if (s == STEP_CONCURRENT)
                return bso__create_trial(job, job->min_cost_batch_size, BSO_TRIAL_CONCURRENT,
                                         now, out, err) == 0 ? 1 : -1;
            if (s == STEP_STOP)
                break;
            if (isnan(t->energy) || isnan(t->time))
                return bso__fail(err, BSO_VALUE_ERROR,
                                 "Energy or time is not available for the exploration.");
            conv[(*num_conv)++] = bs;
            cost = bso_cost(t->energy, t->time, job->spec.eta_knob, job->spec.max_power);
            if (cost < min_cost) {
                min_cost = cost;
                *cheapest = bs;
            }
        }
    }
    return 0;
}

int bso__explore(bso_job *job, double now, bso_trial *out, int *good, size_t *num_good,
                 bso_error *err)
{
    size_t n = job->spec.num_batch_sizes;
    int *list = malloc((n ? n : 1) * sizeof(int));
    int *conv = malloc((n ? n : 1) * sizeof(int));
    int def = job->spec.default_batch_size;
    int rc = 0;

    if (!list || !conv) {
        free(list);
        free(conv);
        return bso__fail(err, BSO_RUNTIME_ERROR, "Out of memory in the pruning explorer.");
    }
    if (n)
        memcpy(list, job->spec.batch_sizes, n * sizeof(int));

    for (int round = 0; round < job->spec.num_pruning_rounds; round++) {
        size_t num_conv = 0;
        int cheapest = 0; /* set by walk_round when it returns 0 */

        qsort(list, n, sizeof(int), cmp_int);
        rc = walk_round(job, round, list, n, def, now, out, conv, &num_conv, &cheapest, err);
        if (rc != 0)
            goto done;
        def = cheapest;
        memcpy(list, conv, num_conv * sizeof(int));
        n = num_conv;
        if (n == 0) {
            rc = bso__fail(err, BSO_RUNTIME_ERROR,
                           "No converged batch sizes has observed. Reconfigure batch_sizes and "
                           "re-launch the job.");
            goto done;
        }
    }
    qsort(list, n, sizeof(int), cmp_int);
    memcpy(good, list, n * sizeof(int));
    *num_good = n;
done:
    free(list);
    free(conv);
    return rc;
}
