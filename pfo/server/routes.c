/*
 * routes.c - The Perseus server's four routes (Zeus's router.py), each documented as an
 * external interface. Bodies are validated (validate.c) and handed to the coordinator.
 *
 * What:        POST /register_job
 * Since:       0.1
 * Request:     JobInfo {"job_id": "", "pp_degree", "dp_degree", "tp_degree", "world_size",
 *              "job_metadata": str or null}
 * Response:    200, the new job id as a JSON string:
 *              "YYYY-MM-DD-HH-MM-SS+dp<d>+pp<p>+tp<t>+<Scheduler>[+<job_metadata>]" (local time)
 * Errors:      422 (pydantic's list), 409 (that id is live), 400 (world_size > 65536)
 *
 * What:        POST /register_rank/{job_id}
 * Request:     RankInfo {"rank", "dp_rank", "pp_rank", "tp_rank", "available_frequencies"}
 * Response:    200 null. The last rank to register starts the job (ranks.json, scheduler).
 * Errors:      422, 404 unknown job, 400 rank outside the job or registered twice
 *
 * What:        GET /schedule/{job_id}?rank=R
 * Response:    200 FrequencySchedule {"rank": R, "frequencies": [["forward", 1740], ...]}.
 *              Blocks until world_size requests have come for this round, and then until
 *              R's schedule is handed out; no timeout (Zeus's client waits forever too).
 * Errors:      422 (rank missing or not an integer), 404 unknown or evicted job, 400 rank
 *              outside the job, 400/500 {"detail": "<ExceptionType>: <message>"} when the
 *              job's scheduler failed (every waiting and later request), 503 stopping
 *
 * What:        POST /result/{job_id}
 * Request:     ProfilingResult {"rank", "iter_time", "iter_energy", "time_breakdown",
 *              "energy_breakdown"}
 * Response:    200 null at once; the round ends when world_size results came.
 * Errors:      422, 404, 400 rank outside the job, 500 when world_size results already wait
 */
#include <string.h>

#include "pfo_server.h"

/* The {job_id} of "/prefix/{job_id}", or NULL when `url` is not that route. */
static const char *path_param(const char *url, const char *prefix)
{
    size_t n = strlen(prefix);

    if (strncmp(url, prefix, n) != 0 || url[n] == '\0' || strchr(url + n, '/') != NULL)
        return NULL;
    return url + n;
}

static cJSON *body_or_422(const char *body, size_t len, bso_problems *p, bso_reply *out)
{
    cJSON *root = bso_parse_body(body, len, p);

    if (root == NULL)
        bso_problems_reply(p, out);
    return root;
}

static void route_register_job(const char *body, size_t len, bso_reply *out)
{
    bso_problems p;
    pfo_job_info info;
    cJSON *root;

    bso_problems_init(&p);
    if ((root = body_or_422(body, len, &p, out)) == NULL)
        goto done;
    if (pfo_validate_job_info(root, &info, &p))
        pfo_register_job(&info, out);
    else
        bso_problems_reply(&p, out);
done:
    cJSON_Delete(root);
    bso_problems_free(&p);
}

static void route_register_rank(const char *job_id, const char *body, size_t len,
                                bso_reply *out)
{
    bso_problems p;
    pfo_rank_info info;
    cJSON *root;

    bso_problems_init(&p);
    if ((root = body_or_422(body, len, &p, out)) == NULL)
        goto done;
    if (pfo_validate_rank_info(root, &info, &p))
        pfo_register_rank(job_id, &info, out);
    else
        bso_problems_reply(&p, out);
done:
    cJSON_Delete(root);
    bso_problems_free(&p);
}

static void route_result(const char *job_id, const char *body, size_t len, bso_reply *out)
{
    bso_problems p;
    pfo_result result;
    cJSON *root;

    bso_problems_init(&p);
    if ((root = body_or_422(body, len, &p, out)) == NULL)
        goto done;
    if (pfo_validate_result(root, &result, &p))
        pfo_report_result(job_id, &result, out);
    else
        bso_problems_reply(&p, out);
done:
    cJSON_Delete(root);
    bso_problems_free(&p);
}

static void route_schedule(const char *job_id, const char *rank_query, bso_reply *out)
{
    bso_problems p;
    int rank;

    bso_problems_init(&p);
    if (pfo_validate_query_rank(rank_query, &rank, &p))
        pfo_get_schedule(job_id, rank, out);
    else
        bso_problems_reply(&p, out);
    bso_problems_free(&p);
}

void pfo_route(const char *method, const char *url, const char *rank_query,
               const char *body, size_t len, bso_reply *out)
{
    bool post = strcmp(method, "POST") == 0, get = strcmp(method, "GET") == 0;
    const char *id;

    if (strcmp(url, "/register_job") == 0) {
        if (!post)
            goto not_allowed;
        route_register_job(body, len, out);
    } else if ((id = path_param(url, "/register_rank/")) != NULL) {
        if (!post)
            goto not_allowed;
        route_register_rank(id, body, len, out);
    } else if ((id = path_param(url, "/schedule/")) != NULL) {
        if (!get)
            goto not_allowed;
        route_schedule(id, rank_query, out);
    } else if ((id = path_param(url, "/result/")) != NULL) {
        if (!post)
            goto not_allowed;
        route_result(id, body, len, out);
    } else {
        pfo_reply_detail(out, 404, "Not Found");
    }
    return;
not_allowed:
    pfo_reply_detail(out, 405, "Method Not Allowed");
}
