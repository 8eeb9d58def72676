/*
 * store_jobs.c - A bso_job to and from rows: the parameters of each write and the decoding of
 * each read, over a backend's run(). Written once for both databases, so SQLite and
 * PostgreSQL store exactly the same values (NAN as NULL in nullable columns, infinities as
 * themselves, enums by Zeus's names).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_backend.h"

/* ---- Parameters ------------------------------------------------------------------------- */

static void p_int(bso_params *ps, long long v)
{
    ps->p[ps->n++] = (bso_param){.kind = BSO_P_INT, .i = v};
}

static void p_bool(bso_params *ps, bool v)
{
    ps->p[ps->n++] = (bso_param){.kind = BSO_P_BOOL, .i = v};
}

static void p_text(bso_params *ps, const char *v)
{
    ps->p[ps->n++] = (bso_param){.kind = v ? BSO_P_TEXT : BSO_P_NULL, .t = v};
}

/* NAN is SQL NULL: the core's "no value" for every nullable float column. */
static void p_double(bso_params *ps, double v)
{
    ps->p[ps->n++] = (bso_param){.kind = isnan(v) ? BSO_P_NULL : BSO_P_DOUBLE, .d = v};
}

static void p_null(bso_params *ps)
{
    ps->p[ps->n++] = (bso_param){.kind = BSO_P_NULL};
}

static bso_params one_id(const char *job_id)
{
    bso_params ps = {.n = 0};
    p_text(&ps, job_id);
    return ps;
}

/* ---- Reading the job row ---------------------------------------------------------------- */

typedef struct job_load {
    bso_store *s;
    bso_job *job;
    bool found;
} job_load;

static double col_double(const bso_row *r, int col)
{
    return r->is_null(r, col) ? NAN : r->get_double(r, col);
}

static bso_store_status read_text(job_load *l, const bso_row *r, int col, char *dst, size_t n,
                                  const char *what)
{
    const char *v = r->get_text(r, col);
    if (strlen(v) >= n)
        return bso__store_fail(l->s, BSO_STORE_ERROR, "job '%s': stored %s is longer than %zu "
                               "characters", l->job->spec.job_id, what, n - 1);
    memcpy(dst, v, strlen(v) + 1);
    return BSO_STORE_OK;
}

/* Zeus stores json.dumps(rng.bit_generator.state) for a seeded job; an unseeded one draws
 * from fresh entropy on every request and has nothing stored. */
static bso_store_status read_rng(job_load *l, const bso_row *r)
{
    bso_job *job = l->job;
    job->spec.has_mab_seed = !r->is_null(r, 15);
    if (!job->spec.has_mab_seed)
        return BSO_STORE_OK;
    job->spec.mab_seed = r->get_int(r, 15);
    if (r->is_null(r, 16))
        return bso__store_fail(l->s, BSO_STORE_ERROR, "job '%s' has a mab_seed but no stored "
                               "random generator state", job->spec.job_id);
    if (zeus_np_rng_from_json(&job->rng, r->get_text(r, 16)) != 0)
        return bso__store_fail(l->s, BSO_STORE_ERROR, "job '%s': stored random generator state is "
                               "not a PCG64 state", job->spec.job_id);
    return BSO_STORE_OK;
}

static bso_store_status on_job_row(void *ctx, const bso_row *r)
{
    job_load *l = ctx;
    bso_job *job = l->job;
    bso_spec *sp = &job->spec;
    l->found = true;
    bso_store_status st = read_text(l, r, 0, sp->job_id_prefix, sizeof sp->job_id_prefix,
                                    "job_id_prefix");
    if (st == BSO_STORE_OK)
        st = read_text(l, r, 11, sp->gpu_model, sizeof sp->gpu_model, "gpu_model");
    if (st != BSO_STORE_OK)
        return st;
    sp->default_batch_size = (int)r->get_int(r, 1);
    sp->higher_is_better_metric = r->get_bool(r, 2);
    sp->eta_knob = r->get_double(r, 3);
    sp->beta_knob = col_double(r, 4);
    sp->target_metric = r->get_double(r, 5);
    sp->max_epochs = (int)r->get_int(r, 6);
    sp->num_pruning_rounds = (int)r->get_int(r, 7);
    sp->window_size = (int)r->get_int(r, 8);
    sp->max_power = r->get_double(r, 9);
    sp->number_of_gpus = (int)r->get_int(r, 10);
    sp->mab_prior_mean = r->get_double(r, 12);
    sp->mab_prior_precision = r->get_double(r, 13);
    sp->mab_num_explorations = (int)r->get_int(r, 14);
    job->exp_default_batch_size = (int)r->get_int(r, 17);
    int stage = bso_stage_parse(r->get_text(r, 18));
    if (stage < 0)
        return bso__store_fail(l->s, BSO_STORE_ERROR, "job '%s' has an unknown stage '%s'",
                               sp->job_id, r->get_text(r, 18));
    job->stage = (bso_stage)stage;
    job->min_cost = col_double(r, 19);
    job->min_cost_batch_size = (int)r->get_int(r, 20);
    return read_rng(l, r);
}

/* ---- Reading child rows ----------------------------------------------------------------- */

static bso_store_status no_memory(job_load *l)
{
    return bso__store_fail(l->s, BSO_STORE_ERROR, "out of memory loading job '%s'",
                           l->job->spec.job_id);
}

static bso_store_status on_batch_size_row(void *ctx, const bso_row *r)
{
    job_load *l = ctx;
    bso_spec *sp = &l->job->spec;
    int *p = realloc(sp->batch_sizes, (sp->num_batch_sizes + 1) * sizeof *p);
    if (!p)
        return no_memory(l);
    sp->batch_sizes = p;
    p[sp->num_batch_sizes++] = (int)r->get_int(r, 0);
    return BSO_STORE_OK;
}

static bso_store_status on_arm_row(void *ctx, const bso_row *r)
{
    job_load *l = ctx;
    bso_arm a = {
        .batch_size = (int)r->get_int(r, 0),
        .param_mean = r->get_double(r, 1),
        .param_precision = r->get_double(r, 2),
        .reward_precision = r->get_double(r, 3),
        .num_observations = (int)r->get_int(r, 4),
    };
    return bso_job_add_arm(l->job, &a) == 0 ? BSO_STORE_OK : no_memory(l);
}

static bso_store_status on_trial_row(void *ctx, const bso_row *r)
{
    job_load *l = ctx;
    bso_job *job = l->job;
    int type = bso_trial_type_parse(r->get_text(r, 2));
    int status = bso_trial_status_parse(r->get_text(r, 3));
    if (type < 0 || status < 0)
        return bso__store_fail(l->s, BSO_STORE_ERROR, "job '%s' trial %lld has an unknown type "
                               "'%s' or status '%s'", job->spec.job_id, r->get_int(r, 0),
                               r->get_text(r, 2), r->get_text(r, 3));
    bso_trial t = {
        .trial_number = (int)r->get_int(r, 0),
        .batch_size = (int)r->get_int(r, 1),
        .type = (bso_trial_type)type,
        .status = (bso_trial_status)status,
        .start_timestamp = r->get_double(r, 4),
        .end_timestamp = col_double(r, 5),
        .time = col_double(r, 6),
        .energy = col_double(r, 7),
        .converged = r->is_null(r, 8) ? -1 : r->get_bool(r, 8),
    };
    return bso_job_add_trial(job, &t) == 0 ? BSO_STORE_OK : no_memory(l);
}

/* A failed load leaves nothing behind: the arrays freed, *job zeroed. */
static void job_clear(bso_job *job)
{
    bso_job_free(job);
    memset(job, 0, sizeof *job);
}

bso_store_status bso__load_job(bso_store *s, const char *job_id, bso_job *job)
{
    job_load l = {.s = s, .job = job};
    bso_params ps = one_id(job_id);
    memset(job, 0, sizeof *job);
    snprintf(job->spec.job_id, sizeof job->spec.job_id, "%s", job_id);
    bso_store_status st = s->ops->run(s, BSO_SQL_LOAD_JOB, &ps, on_job_row, &l, NULL);
    if (st == BSO_STORE_OK && !l.found)
        st = bso__store_fail(s, BSO_STORE_NOT_FOUND, "Unknown job_id '%s'", job_id);
    if (st == BSO_STORE_OK)
        st = s->ops->run(s, BSO_SQL_LOAD_BATCH_SIZES, &ps, on_batch_size_row, &l, NULL);
    if (st == BSO_STORE_OK)
        st = s->ops->run(s, BSO_SQL_LOAD_ARMS, &ps, on_arm_row, &l, NULL);
    if (st == BSO_STORE_OK)
        st = s->ops->run(s, BSO_SQL_LOAD_TRIALS, &ps, on_trial_row, &l, NULL);
    if (st != BSO_STORE_OK)
        job_clear(job);
    return st;
}

static bso_store_status on_exists_row(void *ctx, const bso_row *r)
{
    (void)r;
    *(bool *)ctx = true;
    return BSO_STORE_OK;
}

bso_store_status bso__job_exists(bso_store *s, const char *job_id, bool *exists)
{
    bool found = false;
    bso_params ps = one_id(job_id);
    bso_store_status st = s->ops->run(s, BSO_SQL_JOB_EXISTS, &ps, on_exists_row, &found, NULL);
    if (st == BSO_STORE_OK)
        *exists = found;
    return st;
}

/* ---- Writing ---------------------------------------------------------------------------- */

/* Room for json.dumps of a PCG64 state (about 150 bytes; np_random.h says 256 is enough). */
#define RNG_JSON_SIZE 256

static bso_store_status rng_json(bso_store *s, const bso_job *job, char *buf)
{
    if (!job->spec.has_mab_seed)
        return BSO_STORE_OK;
    if (zeus_np_rng_to_json(&job->rng, buf, RNG_JSON_SIZE) < 0)
        return bso__store_fail(s, BSO_STORE_ERROR, "job '%s': random generator state does not fit "
                               "its column", job->spec.job_id);
    return BSO_STORE_OK;
}

static void job_params(bso_params *ps, const bso_job *job, const char *rng)
{
    const bso_spec *sp = &job->spec;
    p_text(ps, sp->job_id);
    p_text(ps, sp->job_id_prefix);
    p_int(ps, sp->default_batch_size);
    p_bool(ps, sp->higher_is_better_metric);
    p_double(ps, sp->eta_knob);
    p_double(ps, sp->beta_knob);
    p_double(ps, sp->target_metric);
    p_int(ps, sp->max_epochs);
    p_int(ps, sp->num_pruning_rounds);
    p_int(ps, sp->window_size);
    p_double(ps, sp->max_power);
    p_int(ps, sp->number_of_gpus);
    p_text(ps, sp->gpu_model);
    p_double(ps, sp->mab_prior_mean);
    p_double(ps, sp->mab_prior_precision);
    p_int(ps, sp->mab_num_explorations);
    if (sp->has_mab_seed)
        p_int(ps, sp->mab_seed);
    else
        p_null(ps);
    p_text(ps, rng);
    p_int(ps, job->exp_default_batch_size);
    p_text(ps, bso_stage_name(job->stage));
    p_double(ps, job->min_cost);
    p_int(ps, job->min_cost_batch_size);
}

static bso_store_status upsert_trial(bso_store *s, const char *job_id, const bso_trial *t)
{
    bso_params ps = one_id(job_id);
    p_int(&ps, t->trial_number);
    p_int(&ps, t->batch_size);
    p_text(&ps, bso_trial_type_name(t->type));
    p_text(&ps, bso_trial_status_name(t->status));
    p_double(&ps, t->start_timestamp);
    p_double(&ps, t->end_timestamp);
    p_double(&ps, t->time);
    p_double(&ps, t->energy);
    if (t->converged < 0)
        p_null(&ps);
    else
        p_bool(&ps, t->converged != 0);
    return s->ops->run(s, BSO_SQL_UPSERT_TRIAL, &ps, NULL, NULL, NULL);
}

static bso_store_status upsert_arm(bso_store *s, const char *job_id, const bso_arm *a)
{
    bso_params ps = one_id(job_id);
    p_int(&ps, a->batch_size);
    p_double(&ps, a->param_mean);
    p_double(&ps, a->param_precision);
    p_double(&ps, a->reward_precision);
    p_int(&ps, a->num_observations);
    return s->ops->run(s, BSO_SQL_UPSERT_ARM, &ps, NULL, NULL, NULL);
}

/* Arms before trials: neither references the other, but both reference batch_size rows. */
static bso_store_status write_children(bso_store *s, const bso_job *job, bool dirty_only)
{
    bso_store_status st = BSO_STORE_OK;
    for (size_t i = 0; st == BSO_STORE_OK && i < job->num_arms; i++)
        if (!dirty_only || job->arms[i].dirty)
            st = upsert_arm(s, job->spec.job_id, &job->arms[i]);
    for (size_t i = 0; st == BSO_STORE_OK && i < job->num_trials; i++)
        if (!dirty_only || job->trials[i].dirty)
            st = upsert_trial(s, job->spec.job_id, &job->trials[i]);
    return st;
}

/* A new job: its row, its batch sizes, and whatever trials and arms it already has. */
bso_store_status bso__insert_job(bso_store *s, const bso_job *job)
{
    char rng[RNG_JSON_SIZE];
    bso_store_status st = rng_json(s, job, rng);
    if (st != BSO_STORE_OK)
        return st;
    bso_params ps = {.n = 0};
    job_params(&ps, job, job->spec.has_mab_seed ? rng : NULL);
    st = s->ops->run(s, BSO_SQL_INSERT_JOB, &ps, NULL, NULL, NULL);
    for (size_t i = 0; st == BSO_STORE_OK && i < job->spec.num_batch_sizes; i++) {
        ps = one_id(job->spec.job_id);
        p_int(&ps, job->spec.batch_sizes[i]);
        st = s->ops->run(s, BSO_SQL_INSERT_BATCH_SIZE, &ps, NULL, NULL, NULL);
    }
    return st == BSO_STORE_OK ? write_children(s, job, false) : st;
}

static bso_store_status save_state(bso_store *s, const bso_job *job)
{
    char rng[RNG_JSON_SIZE];
    bso_store_status st = rng_json(s, job, rng);
    if (st != BSO_STORE_OK)
        return st;
    bso_params ps = {.n = 0};
    p_text(&ps, bso_stage_name(job->stage));
    p_int(&ps, job->exp_default_batch_size);
    p_double(&ps, job->min_cost);
    p_int(&ps, job->min_cost_batch_size);
    p_text(&ps, job->spec.has_mab_seed ? rng : NULL);
    p_text(&ps, job->spec.job_id);
    long long changes = 0;
    st = s->ops->run(s, BSO_SQL_UPDATE_STATE, &ps, NULL, NULL, &changes);
    if (st == BSO_STORE_OK && changes == 0)
        st = bso__store_fail(s, BSO_STORE_NOT_FOUND, "Unknown job_id '%s'", job->spec.job_id);
    return st;
}

bso_store_status bso__save_job(bso_store *s, const bso_job *job)
{
    bso_store_status st = job->state_dirty ? save_state(s, job) : BSO_STORE_OK;
    return st == BSO_STORE_OK ? write_children(s, job, true) : st;
}

bso_store_status bso__delete_job(bso_store *s, const char *job_id)
{
    bso_params ps = one_id(job_id);
    long long changes = 0;
    bso_store_status st = s->ops->run(s, BSO_SQL_DELETE_JOB, &ps, NULL, NULL, &changes);
    if (st == BSO_STORE_OK && changes == 0)
        st = bso__store_fail(s, BSO_STORE_NOT_FOUND, "Unknown job_id '%s'", job_id);
    return st;
}
