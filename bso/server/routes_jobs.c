/*
 * routes_jobs.c - The job routes of Zeus's BSO server (zeus/optimizer/batch_size/server/
 * router.py and optimizer.py):
 *   POST   /jobs                   register: 201 new, 200 identical, 409 different config
 *   DELETE /jobs?job_id=ID         200 null, or 404 {"message": "No job was deleted."}
 *   GET    /jobs/batch_size?job_id the next trial {"job_id","batch_size","trial_number"};
 *                                  an unknown job is a 400 (Zeus's ZeusBSOValueError)
 * Each runs inside one transaction (transact.c); the job's row lock, taken by loading it,
 * serializes the requests for one job across threads and servers.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "bso_server.h"

/* ---- Register ----------------------------------------------------------------------------- */

struct register_ctx {
    bso_spec spec; /* validated; job_id filled in here when generated */
    bool has_job_id;
};

/* Python's str(time.time()): the shortest repr that reads back the same double. */
static void python_float_str(double v, char *out, size_t n)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, n, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            break;
    }
    if (strpbrk(out, ".e") == NULL && strlen(out) + 3 <= n)
        strcat(out, ".0");
}

/* "<prefix>-<first 8 hex digits of sha256(str(time.time()))>", as Zeus makes a job id. */
static void generate_job_id(const char *prefix, char *out, size_t n)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    char now[64];

    python_float_str(bso_now(), now, sizeof now);
    SHA256((const unsigned char *)now, strlen(now), md);
    snprintf(out, n, "%s-%02x%02x%02x%02x", prefix, md[0], md[1], md[2], md[3]);
}

static bool same_double(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

/* Zeus compares JobSpecFromClient models: every field, the GPU configuration included. */
static bool same_spec(const bso_spec *a, const bso_spec *b)
{
    if (a->num_batch_sizes != b->num_batch_sizes ||
        memcmp(a->batch_sizes, b->batch_sizes, a->num_batch_sizes * sizeof(int)) != 0)
        return false;
    return strcmp(a->job_id, b->job_id) == 0 && strcmp(a->job_id_prefix, b->job_id_prefix) == 0 &&
           a->default_batch_size == b->default_batch_size && a->eta_knob == b->eta_knob &&
           same_double(a->beta_knob, b->beta_knob) && a->target_metric == b->target_metric &&
           a->higher_is_better_metric == b->higher_is_better_metric &&
           a->max_epochs == b->max_epochs && a->num_pruning_rounds == b->num_pruning_rounds &&
           a->window_size == b->window_size && a->mab_prior_mean == b->mab_prior_mean &&
           a->mab_prior_precision == b->mab_prior_precision &&
           a->mab_num_explorations == b->mab_num_explorations &&
           a->has_mab_seed == b->has_mab_seed && (!a->has_mab_seed || a->mab_seed == b->mab_seed) &&
           a->max_power == b->max_power && a->number_of_gpus == b->number_of_gpus &&
           strcmp(a->gpu_model, b->gpu_model) == 0;
}

static bso_store_status insert_new(bso_store *s, struct register_ctx *c, bso_reply *out)
{
    bso_job job;
    bso_store_status st;

    memset(&job, 0, sizeof job);
    if (bso_job_init(&job, &c->spec) != 0) {
        bso_reply_message(out, 500, "out of memory");
        return BSO_STORE_OK;
    }
    st = bso_store_insert_job(s, &job);
    bso_job_free(&job);
    if (st == BSO_STORE_OK)
        bso_reply_json(out, 201, bso_spec_to_json(&c->spec));
    return st;
}

static bso_store_status register_work(bso_store *s, void *ctx, bso_reply *out)
{
    struct register_ctx *c = ctx;
    bso_store_status st = bso_store_lock_prefix(s, c->spec.job_id_prefix);
    bso_job job;

    if (st != BSO_STORE_OK)
        return st;
    if (!c->has_job_id) {
        bool exists = true;
        while (exists) {
            generate_job_id(c->spec.job_id_prefix, c->spec.job_id, sizeof c->spec.job_id);
            if ((st = bso_store_job_exists(s, c->spec.job_id, &exists)) != BSO_STORE_OK)
                return st;
        }
        return insert_new(s, c, out);
    }
    memset(&job, 0, sizeof job);
    st = bso_store_load_job(s, c->spec.job_id, &job);
    if (st == BSO_STORE_NOT_FOUND)
        return insert_new(s, c, out);
    if (st != BSO_STORE_OK)
        return st;
    if (same_spec(&job.spec, &c->spec))
        bso_reply_json(out, 200, bso_spec_to_json(&c->spec));
    else
        bso_reply_message(out, 409, "JobSpec doesn't match with existing jobSpec. Use a new "
                                    "job_id for different configuration");
    bso_job_free(&job);
    return BSO_STORE_OK;
}

void bso_route_register(const char *body, size_t len, bso_reply *out)
{
    struct register_ctx c;
    bso_problems p;
    cJSON *root;

    bso_problems_init(&p);
    root = bso_parse_body(body, len, &p);
    if (root == NULL || !bso_validate_spec(root, &c.spec, &c.has_job_id, &p)) {
        cJSON_Delete(root);
        bso_problems_reply(&p, out);
        return;
    }
    cJSON_Delete(root);
    bso_problems_free(&p);
    bso_transact(register_work, &c, out);
    bso_spec_free(&c.spec);
}

/* ---- Delete ------------------------------------------------------------------------------- */

/* FastAPI's answer to a required query parameter that is missing. */
static void missing_job_id(bso_reply *out)
{
    bso_problems p;

    bso_problems_init(&p);
    bso_problem(&p, "query", "job_id", -1, "value_error.missing", "field required");
    bso_problems_reply(&p, out);
}

static bso_store_status delete_work(bso_store *s, void *ctx, bso_reply *out)
{
    bso_store_status st =
        bso_job_id_possible(ctx) ? bso_store_delete_job(s, ctx) : BSO_STORE_NOT_FOUND;

    if (st == BSO_STORE_NOT_FOUND) {
        bso_reply_message(out, 404, "No job was deleted.");
        return BSO_STORE_OK;
    }
    if (st == BSO_STORE_OK)
        bso_reply_null(out, 200);
    return st;
}

void bso_route_delete(const char *job_id, bso_reply *out)
{
    if (job_id == NULL) {
        missing_job_id(out);
        return;
    }
    bso_transact(delete_work, (void *)job_id, out);
}

/* ---- Predict ------------------------------------------------------------------------------ */

static bso_store_status predict_work(bso_store *s, void *ctx, bso_reply *out)
{
    const char *job_id = ctx;
    bso_job job;
    bso_trial trial;
    bso_error err;
    bso_store_status st;
    cJSON *o;

    memset(&job, 0, sizeof job);
    st = bso_job_id_possible(job_id) ? bso_store_load_job(s, job_id, &job) : BSO_STORE_NOT_FOUND;
    if (st == BSO_STORE_NOT_FOUND) {
        bso_reply_message(out, 400, "Unknown job(%s). Please register the job first", job_id);
        return BSO_STORE_OK;
    }
    if (st != BSO_STORE_OK)
        return st;
    memset(&err, 0, sizeof err);
    /* Zeus seeds an unseeded job's generator with the current Unix second */
    if (bso_predict(&job, bso_now(), (uint64_t)bso_now(), &trial, &err) != 0) {
        bso_reply_error(out, &err);
        bso_job_free(&job);
        return BSO_STORE_OK;
    }
    st = bso_store_save_job(s, &job);
    bso_job_free(&job);
    if (st != BSO_STORE_OK)
        return st;
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "job_id", job_id);
    cJSON_AddNumberToObject(o, "batch_size", trial.batch_size);
    cJSON_AddNumberToObject(o, "trial_number", trial.trial_number);
    bso_reply_json(out, 200, o);
    return BSO_STORE_OK;
}

void bso_route_predict(const char *job_id, bso_reply *out)
{
    if (job_id == NULL) {
        missing_job_id(out);
        return;
    }
    bso_transact(predict_work, (void *)job_id, out);
}
