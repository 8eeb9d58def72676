/*
 * bso_sim.c - The simulation loop of `zeus bso simulate` (see bso_sim.h). It follows Zeus's
 * tests/optimizer/batch_size/simulate_with_server.py, which drives Zeus's server the way our
 * loop drives bso/core, and zeus/_legacy/simulate.py for the trace arithmetic the two share:
 *
 *   - the power limit of a batch size is profiled the first time it is chosen: each limit's
 *     epoch cost (eta * average power + (1 - eta) * the batch size's largest limit) * epoch
 *     time is computed from the trace, and the cheapest is kept (ties: the higher limit, since
 *     limits are tried from high to low and only a strictly lower cost replaces the best);
 *     that run's first epoch costs the mean over every limit, as JIT profiling would;
 *   - a run draws one training path (a seed's row of the train trace) with the simulator's
 *     own np.random.default_rng(seed), as pandas' df.sample(n=1, random_state=rng) does;
 *   - with a known minimum cost, the run stops before the epoch that would pass beta times
 *     it (Python's `cost_ub // cost_per_epoch`);
 *   - each run is reported with its cumulative energy and time, and a metric just above or
 *     below the target, as simulate_with_server.py reports it.
 *
 * Floating-point operations keep Python's order so the sums agree with Zeus's to the bit
 * where the inputs do, one rounding per operation: GCC does not fuse a multiply and an add
 * under -std=c11; clang would within an expression where the target has FMA (aarch64), which
 * the pragma stops.
 */
#include <math.h>

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif
#include <stdlib.h>
#include <string.h>

#include "bso_core.h"
#include "bso_sim.h"

#define MAX_TRIES 20 /* Zeus: "Upper bound the number of retries to 20." */

/* The JIT power limit optimizer's memory: the best limit of each batch size once profiled. */
struct plo_entry {
    int batch_size;
    int power_limit;
};

struct sim {
    const struct bso_workload_trace *wt;
    const struct bso_sim_config *c;
    bso_job job;
    zeus_np_rng rng; /* the simulator's path generator, apart from the bandit's */
    struct plo_entry *plo;
    size_t num_plo;
    double min_cost; /* the simulator's own, over reached recurrences: INFINITY at first */
    double now;      /* a clock for trial timestamps: the simulated time so far */
    struct bso_sim_result *out;
    size_t cap_runs;
};

/* ---- Arithmetic as Python does it ---------------------------------------------------- */

/* Python's float floor division (floatobject.c float_floor_div). */
static double py_floordiv(double vx, double wx)
{
    double mod = fmod(vx, wx), div = (vx - mod) / wx, floordiv;

    if (mod != 0.0 && ((wx < 0) != (mod < 0)))
        div -= 1.0;
    if (div != 0.0) {
        floordiv = floor(div);
        if (div - floordiv > 0.5)
            floordiv += 1.0;
    } else {
        floordiv = copysign(0.0, vx / wx);
    }
    return floordiv;
}

/* pandas' groupby mean (Kahan summation, then a division) of `count` copies of x. */
static double groupby_mean_of_copies(double x, size_t count)
{
    double sum = 0.0, comp = 0.0;

    for (size_t i = 0; i < count; i++) {
        double y = x - comp, t = sum + y;
        comp = t - sum - y;
        sum = t;
    }
    return sum / (double)count;
}

static int max_limit(const struct bso_bs_trace *s)
{
    int max = 0;

    for (size_t i = 0; i < s->num_limits; i++)
        if (s->power_limits[i] > max)
            max = s->power_limits[i];
    return max;
}

/* ---- Power limit: the JIT power limit optimizer's rule ------------------------------- */

static int cmp_desc(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x < y) - (x > y);
}

/* _profile_power_limit + JITPowerLimitOptimizer.observe: the cheapest limit of batch size s. */
static int profile_power_limit(const struct bso_bs_trace *s, double eta)
{
    int *limits = malloc(s->num_limits * sizeof *limits), best = 0, max_pl = max_limit(s);
    double best_cost = INFINITY;

    if (!limits)
        return -1;
    memcpy(limits, s->power_limits, s->num_limits * sizeof *limits);
    qsort(limits, s->num_limits, sizeof *limits, cmp_desc);
    for (size_t i = 0; i < s->num_limits; i++) {
        if (i > 0 && limits[i] == limits[i - 1])
            continue;
        /* One power row per (batch size, limit), repeated once per path by the merge. */
        size_t k = 0;
        while (s->power_limits[k] != limits[i])
            k++;
        double power = groupby_mean_of_copies(s->average_power[k], s->num_paths);
        double tpe = groupby_mean_of_copies(s->time_per_epoch[k], s->num_paths);
        double cost = (eta * power + (1 - eta) * max_pl) * tpe;
        if (best == 0 || best_cost > cost) {
            best = limits[i];
            best_cost = cost;
        }
    }
    free(limits);
    return best;
}

/* plo.predict, profiling on a batch size's first use. Sets *profiled then. */
static int power_limit_for(struct sim *sim, const struct bso_bs_trace *s, bool *profiled)
{
    int pl;

    *profiled = false;
    for (size_t i = 0; i < sim->num_plo; i++)
        if (sim->plo[i].batch_size == s->batch_size)
            return sim->plo[i].power_limit;
    pl = profile_power_limit(s, sim->c->eta);
    if (pl <= 0)
        return -1;
    sim->plo[sim->num_plo].batch_size = s->batch_size;
    sim->plo[sim->num_plo++].power_limit = pl;
    *profiled = true;
    return pl;
}

/* ---- One run: _run_job ------------------------------------------------------------------ */

struct run_outcome {
    double energy, time;
    bool reached;
    int epoch; /* what the run reports as its current epoch */
};

/* The mean energy and time of one epoch over every (path, limit) row, in the merge's order
 * (each path's row joined with every limit), as power_df.<column>.mean() computes them. */
static int profiling_epoch(const struct bso_bs_trace *s, double *energy, double *time)
{
    size_t n = s->num_paths * s->num_limits, k = 0;
    double *e = malloc(n * sizeof *e), *t = malloc(n * sizeof *t);

    if (!e || !t) {
        free(e);
        free(t);
        return -1;
    }
    for (size_t p = 0; p < s->num_paths; p++)
        for (size_t l = 0; l < s->num_limits; l++, k++) {
            e[k] = s->time_per_epoch[l] * s->average_power[l];
            t[k] = s->time_per_epoch[l];
        }
    *energy = zeus_np_mean(e, n);
    *time = zeus_np_mean(t, n);
    free(e);
    free(t);
    return 0;
}

/* compute_energy_and_time: num_epochs at the path's limit, the first one profiling if asked. */
static int energy_and_time(const struct bso_bs_trace *s, size_t limit, double epochs,
                           bool profile, double *energy, double *time)
{
    double epe = s->time_per_epoch[limit] * s->average_power[limit];
    double tpe = s->time_per_epoch[limit];

    if (!profile) {
        *energy = epe * epochs;
        *time = tpe * epochs;
        return 0;
    }
    if (profiling_epoch(s, energy, time))
        return -1;
    *energy = *energy + epe * (epochs - 1);
    *time = *time + tpe * (epochs - 1);
    return 0;
}

static int run_job(struct sim *sim, const struct bso_bs_trace *s, int pl, bool profile,
                   struct run_outcome *o)
{
    const struct bso_workload *w = &sim->c->workload;
    double cost_ub = sim->c->beta * sim->min_cost, max_epochs, target;
    uint64_t path;
    size_t limit = 0;

    while (s->power_limits[limit] != pl)
        limit++;
    if (zeus_np_choice_one(&sim->rng, s->num_paths, &path))
        return -1;
    target = s->target_epochs[path];
    if (isinf(cost_ub)) {
        max_epochs = w->max_epochs;
    } else {
        double eta = sim->c->eta;
        double cost_per_epoch =
            eta * (s->time_per_epoch[limit] * s->average_power[limit]) +
            (1 - eta) * max_limit(s) * s->time_per_epoch[limit];
        max_epochs = fmin(py_floordiv(cost_ub, cost_per_epoch), w->max_epochs);
    }
    if (max_epochs == 0) { /* not even one epoch fits: it reports one epoch's cost */
        o->reached = false;
        o->epoch = 1;
        return energy_and_time(s, limit, max_epochs + 1, profile, &o->energy, &o->time);
    }
    if (!isnan(target) && target <= max_epochs) {
        o->reached = true;
        o->epoch = (int)max_epochs;
        return energy_and_time(s, limit, target, profile, &o->energy, &o->time);
    }
    o->reached = false;
    o->epoch = w->max_epochs; /* so the optimizer ends the trial */
    return energy_and_time(s, limit, max_epochs, profile, &o->energy, &o->time);
}

/* ---- The optimizer, in process ---------------------------------------------------------- */

static void log_arm(void *ctx, int batch_size, double mean, double variance, double sample)
{
    fprintf(ctx, "[GaussianTS] Arm %d: mu ~ N(%.2f, %.2f) -> %.2f\n", batch_size, mean,
            variance, sample);
}

static int register_job(struct sim *sim, char *err, size_t errlen)
{
    const struct bso_sim_config *c = sim->c;
    bso_spec spec;
    int *sizes = malloc(sim->wt->num_sizes * sizeof *sizes);

    if (!sizes) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < sim->wt->num_sizes; i++)
        sizes[i] = sim->wt->sizes[i].batch_size;
    memset(&spec, 0, sizeof spec);
    snprintf(spec.job_id, sizeof spec.job_id, "simulation-one-job");
    snprintf(spec.job_id_prefix, sizeof spec.job_id_prefix, "simulation");
    spec.batch_sizes = sizes;
    spec.num_batch_sizes = sim->wt->num_sizes;
    spec.default_batch_size = c->workload.default_batch_size;
    spec.eta_knob = c->eta;
    spec.beta_knob = isinf(c->beta) ? NAN : c->beta; /* null: early stop off */
    spec.target_metric = c->workload.target_metric;
    spec.higher_is_better_metric = true;
    spec.max_epochs = c->workload.max_epochs;
    spec.num_pruning_rounds = 2;
    spec.window_size = 0;
    spec.mab_prior_mean = 0.0;
    spec.mab_prior_precision = 0.0;
    spec.mab_num_explorations = 2;
    spec.has_mab_seed = true;
    spec.mab_seed = (int64_t)c->seed;
    spec.max_power = sim->wt->max_power;
    spec.number_of_gpus = 1;
    snprintf(spec.gpu_model, sizeof spec.gpu_model, "%s", c->gpu);
    int rc = bso_job_init(&sim->job, &spec);
    free(sizes);
    if (rc) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (c->log)
        bso_set_trace(&sim->job, log_arm, c->log);
    return 0;
}

/*
 * Report a run. A refused report (Zeus's server answers 400, for one, to an Exploration
 * trial reported after the switch to MAB) is not fatal: simulate_with_server.py ignores the
 * reply, so we count it and say so in the log.
 */
static void report(struct sim *sim, const bso_trial *trial, const struct run_outcome *o)
{
    double target = sim->c->workload.target_metric;
    bso_result r = {
        .batch_size = trial->batch_size,
        .trial_number = trial->trial_number,
        .time = o->time,
        .energy = o->energy,
        .metric = o->reached ? target + 1 : target - 1,
        .current_epoch = o->epoch,
    };
    bso_report_reply reply;
    bso_error e;

    if (bso_report(&sim->job, &r, sim->now, &reply, &e) == 0) {
        if (sim->c->log)
            fprintf(sim->c->log, "[Simulator] trial %d: %s\n", trial->trial_number,
                    reply.message);
        return;
    }
    sim->out->rejected_reports++;
    if (sim->c->log)
        fprintf(sim->c->log, "[Simulator] report of trial %d refused (%d): %s\n",
                trial->trial_number, e.http_status, e.message);
}

/* ---- The loop: simulate_one_job -------------------------------------------------------- */

static int record(struct sim *sim, int recurrence, int bs, int pl, const struct run_outcome *o)
{
    struct bso_sim_result *out = sim->out;

    if (out->num_runs == sim->cap_runs) {
        size_t cap = sim->cap_runs ? 2 * sim->cap_runs : 64;
        struct bso_sim_run *grown = realloc(out->runs, cap * sizeof *grown);
        if (!grown)
            return -1;
        out->runs = grown;
        sim->cap_runs = cap;
    }
    out->runs[out->num_runs++] = (struct bso_sim_run){recurrence, bs, pl, o->energy, o->time,
                                                      o->reached};
    out->energy += o->energy;
    out->time += o->time;
    return 0;
}

/* One try of recurrence i: 1 when it reached the target, 0 when not, -1 on error. */
static int one_try(struct sim *sim, int i, double *cost_acc, char *err, size_t errlen)
{
    const struct bso_sim_config *c = sim->c;
    bso_trial trial;
    bso_error e;
    struct run_outcome o;
    bool profiled;

    if (bso_predict(&sim->job, sim->now, 0, &trial, &e)) {
        snprintf(err, errlen, "the batch size optimizer failed (%d): %s", e.http_status,
                 e.message);
        return -1;
    }
    const struct bso_bs_trace *s = bso_workload_trace_find(sim->wt, trial.batch_size);
    int pl = s ? power_limit_for(sim, s, &profiled) : -1;
    if (pl < 0 || run_job(sim, s, pl, profiled, &o)) {
        snprintf(err, errlen, "cannot simulate batch size %d", trial.batch_size);
        return -1;
    }
    sim->now += o.time;
    report(sim, &trial, &o);
    if (o.energy == 0 && o.time == 0 && !o.reached)
        return 0; /* never ran: nothing to record */
    *cost_acc += bso_cost(o.energy, o.time, c->eta, sim->wt->max_power);
    if (record(sim, i + 1, trial.batch_size, pl, &o)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (c->log)
        fprintf(c->log, "[Simulator] recurrence %d: batch size %d at %d W%s: %s, %.2f J, %.2f s\n",
                i + 1, trial.batch_size, pl, profiled ? " (profiling)" : "",
                o.reached ? "reached" : "failed", o.energy, o.time);
    return o.reached ? 1 : 0;
}

static int recurrence(struct sim *sim, int i, char *err, size_t errlen)
{
    double cost_acc = 0.0;

    for (int tries = 1; tries <= MAX_TRIES; tries++) {
        int rc = one_try(sim, i, &cost_acc, err, errlen);
        if (rc < 0)
            return -1;
        if (rc == 1) {
            if (sim->min_cost > cost_acc)
                sim->min_cost = cost_acc;
            return 0;
        }
        if (i == 0) {
            snprintf(err, errlen, "The default batch size %d did not converge.",
                     sim->c->workload.default_batch_size);
            return -1;
        }
    }
    snprintf(err, errlen, "Job did not reach the target metric in 20 tries.");
    return -1;
}

/* ---- The baseline ---------------------------------------------------------------------- */

/*
 * The default batch size at its largest power limit, every recurrence: the mean over the
 * trace's paths of a run to the target epoch (or to max_epochs for a path that never gets
 * there), times the recurrences. An expectation rather than a draw, so the baseline does not
 * depend on the seed and does not take numbers from the simulator's generator.
 */
static void baseline(const struct bso_workload_trace *wt, const struct bso_sim_config *c,
                     struct bso_sim_result *out)
{
    const struct bso_bs_trace *s = bso_workload_trace_find(wt, c->workload.default_batch_size);
    int pl = max_limit(s);
    size_t limit = 0;
    double e = 0.0, t = 0.0;

    while (s->power_limits[limit] != pl)
        limit++;
    for (size_t p = 0; p < s->num_paths; p++) {
        double epochs = s->target_epochs[p];
        if (isnan(epochs) || epochs > c->workload.max_epochs)
            epochs = c->workload.max_epochs;
        e += s->time_per_epoch[limit] * s->average_power[limit] * epochs;
        t += s->time_per_epoch[limit] * epochs;
    }
    out->baseline_power_limit = pl;
    out->baseline_energy = e / (double)s->num_paths * c->recurrences;
    out->baseline_time = t / (double)s->num_paths * c->recurrences;
}

/* ---- Entry points ---------------------------------------------------------------------- */

int bso_sim_default_recurrences(const struct bso_workload_trace *wt)
{
    int limits[256];
    size_t n = 0;

    for (size_t i = 0; i < wt->num_sizes; i++)
        for (size_t l = 0; l < wt->sizes[i].num_limits; l++) {
            size_t j = 0;
            while (j < n && limits[j] != wt->sizes[i].power_limits[l])
                j++;
            if (j == n && n < sizeof limits / sizeof limits[0])
                limits[n++] = wt->sizes[i].power_limits[l];
        }
    return 2 * (int)wt->num_sizes * (int)n;
}

int bso_sim_run(const struct bso_workload_trace *wt, const struct bso_sim_config *c,
                struct bso_sim_result *out, char *err, size_t errlen)
{
    struct sim sim = {.wt = wt, .c = c, .min_cost = INFINITY, .out = out};
    int rc = 0;

    memset(out, 0, sizeof *out);
    sim.plo = calloc(wt->num_sizes, sizeof *sim.plo);
    if (!sim.plo) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    zeus_np_rng_seed(&sim.rng, c->seed);
    if (register_job(&sim, err, errlen)) {
        free(sim.plo);
        return -1;
    }
    for (int i = 0; i < c->recurrences && rc == 0; i++)
        rc = recurrence(&sim, i, err, errlen);
    bso_job_free(&sim.job);
    free(sim.plo);
    if (rc) {
        bso_sim_result_free(out);
        return -1;
    }
    baseline(wt, c, out);
    return 0;
}

void bso_sim_result_free(struct bso_sim_result *r)
{
    free(r->runs);
    r->runs = NULL;
    r->num_runs = 0;
}
