/*
 * routes_trials.c - The trial routes of Zeus's BSO server (router.py, optimizer.py):
 *   POST  /report  a training result: {"stop_train","converged","message"}; an unknown job
 *                  is a 400 "Unknown job <id>" (Zeus's ZeusBSOServiceBadOperationError)
 *   PATCH /trials  end a trial: a Dispatched one becomes Failed; 200 null; an unknown trial
 *                  (or job) is a 404 "Could not find the trial: <TrialId>"
 * Each runs inside one transaction (transact.c) that holds the job's row lock.
 */
#include <stdio.h>
#include <string.h>

#include "../core/bso_internal.h" /* bso__py_str: Python's repr of a str */
#include "bso_server.h"

struct trial_ctx {
    char job_id[BSO_JOB_ID_MAX + 1];
    bso_result result; /* report; end trial uses batch_size and trial_number */
};

/* Load the job; on NOT_FOUND answer with `status` and the route's message. */
static bso_store_status load(bso_store *s, struct trial_ctx *c, bso_job *job, unsigned status,
                             bso_reply *out)
{
    bso_store_status st;

    memset(job, 0, sizeof *job);
    st = bso_job_id_possible(c->job_id) ? bso_store_load_job(s, c->job_id, job)
                                        : BSO_STORE_NOT_FOUND;
    if (st != BSO_STORE_NOT_FOUND)
        return st;
    if (status == 400)
        bso_reply_message(out, 400, "Unknown job %s", c->job_id);
    else { /* pydantic v1's str(TrialId), as the core words it for a known job */
        char id[BSO_JOB_ID_MAX * 4 + 8];
        bso_reply_message(out, 404, "Could not find the trial: job_id=%s batch_size=%d "
                          "trial_number=%d", bso__py_str(c->job_id, id, sizeof id),
                          c->result.batch_size, c->result.trial_number);
    }
    return BSO_STORE_NOT_FOUND;
}

/* Save what the core changed, unless it failed (then answer its error, roll back). */
static bso_store_status finish(bso_store *s, bso_job *job, int rc, const bso_error *err,
                               bso_reply *out)
{
    bso_store_status st = BSO_STORE_OK;

    if (rc != 0)
        bso_reply_error(out, err);
    else
        st = bso_store_save_job(s, job);
    bso_job_free(job);
    return st;
}

static bso_store_status report_work(bso_store *s, void *ctx, bso_reply *out)
{
    struct trial_ctx *c = ctx;
    bso_report_reply rep;
    bso_error err;
    bso_job job;
    bso_store_status st = load(s, c, &job, 400, out);
    int rc;

    if (st == BSO_STORE_NOT_FOUND)
        return BSO_STORE_OK;
    if (st != BSO_STORE_OK)
        return st;
    memset(&rep, 0, sizeof rep);
    memset(&err, 0, sizeof err);
    rc = bso_report(&job, &c->result, bso_now(), &rep, &err);
    st = finish(s, &job, rc, &err, out);
    if (rc == 0 && st == BSO_STORE_OK) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "stop_train", rep.stop_train);
        cJSON_AddBoolToObject(o, "converged", rep.converged);
        cJSON_AddStringToObject(o, "message", rep.message);
        bso_reply_json(out, 200, o);
    }
    return st;
}

static bso_store_status end_trial_work(bso_store *s, void *ctx, bso_reply *out)
{
    struct trial_ctx *c = ctx;
    bso_error err;
    bso_job job;
    bso_store_status st = load(s, c, &job, 404, out);
    int rc;

    if (st == BSO_STORE_NOT_FOUND)
        return BSO_STORE_OK;
    if (st != BSO_STORE_OK)
        return st;
    memset(&err, 0, sizeof err);
    rc = bso_end_trial(&job, c->result.batch_size, c->result.trial_number, bso_now(), &err);
    st = finish(s, &job, rc, &err, out);
    if (rc == 0 && st == BSO_STORE_OK)
        bso_reply_null(out, 200);
    return st;
}

void bso_route_report(const char *body, size_t len, bso_reply *out)
{
    struct trial_ctx c;
    bso_problems p;
    cJSON *root;

    memset(&c, 0, sizeof c);
    bso_problems_init(&p);
    root = bso_parse_body(body, len, &p);
    if (root == NULL || !bso_validate_result(root, c.job_id, &c.result, &p)) {
        cJSON_Delete(root);
        bso_problems_reply(&p, out);
        return;
    }
    cJSON_Delete(root);
    bso_problems_free(&p);
    bso_transact(report_work, &c, out);
}

void bso_route_end_trial(const char *body, size_t len, bso_reply *out)
{
    struct trial_ctx c;
    bso_problems p;
    cJSON *root;

    memset(&c, 0, sizeof c);
    bso_problems_init(&p);
    root = bso_parse_body(body, len, &p);
    if (root == NULL || !bso_validate_trial_id(root, c.job_id, &c.result.batch_size,
                                               &c.result.trial_number, &p)) {
        cJSON_Delete(root);
        bso_problems_reply(&p, out);
        return;
    }
    cJSON_Delete(root);
    bso_problems_free(&p);
    bso_transact(end_trial_work, &c, out);
}
