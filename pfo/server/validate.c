/*
 * validate.c - The bodies of the Perseus server's routes checked as pydantic v1 checks Zeus's
 * models (zeus/optimizer/pipeline_frequency/common.py), with FastAPI's 422
 * {"detail": [{"loc": [...], "msg": ..., "type": ...}]} listing every failing field:
 *
 *   JobInfo           job_id ("" only), pp/dp/tp_degree >= 1, world_size >= 1 and equal to
 *                     their product, job_metadata a string or null
 *   RankInfo          rank, dp_rank, pp_rank, tp_rank >= 0, available_frequencies [int]
 *   ProfilingResult   rank >= 0, iter_time and iter_energy [float], time_breakdown and
 *                     energy_breakdown {str: [[float]]} (default {})
 *   ?rank=            an integer
 *
 * Stricter than pydantic v1, on purpose, as bso/server/validate.c is: integers must be JSON
 * integers (pydantic truncates 3.7 and parses "3"), strings JSON strings, floats finite; and
 * job_metadata may not hold '/' (the job id becomes a URL path segment and a dump folder: Zeus
 * would register such a job that no rank can then reach, and its dumps would land outside
 * the dump folder) nor be longer than MAX_METADATA characters (the id is a file name).
 * Unknown fields are ignored, as pydantic v1 does.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fmt.h"
#include "pfo_server.h"

#define MAX_METADATA 200
#define MAX_LIST 1000000

/* ---- Problems -------------------------------------------------------------------------------- */

/* One problem at body -> field [-> key] [-> i] [-> j] (key NULL, i/j < 0 to leave out). */
static void problem(bso_problems *p, const char *field, const char *key, long i, long j,
                    const char *type, const char *msg)
{
    cJSON *e = cJSON_CreateObject(), *loc = cJSON_AddArrayToObject(e, "loc");

    cJSON_AddItemToArray(loc, cJSON_CreateString("body"));
    if (field != NULL)
        cJSON_AddItemToArray(loc, cJSON_CreateString(field));
    if (key != NULL)
        cJSON_AddItemToArray(loc, cJSON_CreateString(key));
    if (i >= 0)
        cJSON_AddItemToArray(loc, cJSON_CreateNumber((double)i));
    if (j >= 0)
        cJSON_AddItemToArray(loc, cJSON_CreateNumber((double)j));
    cJSON_AddStringToObject(e, "msg", msg);
    cJSON_AddStringToObject(e, "type", type);
    cJSON_AddItemToArray(p->detail, e);
}

static void ge_problem(bso_problems *p, const char *field, int limit)
{
    char msg[96];
    cJSON *e, *ctx;

    snprintf(msg, sizeof msg, "ensure this value is greater than or equal to %d", limit);
    problem(p, field, NULL, -1, -1, "value_error.number.not_ge", msg);
    e = cJSON_GetArrayItem(p->detail, cJSON_GetArraySize(p->detail) - 1);
    ctx = cJSON_AddObjectToObject(e, "ctx");
    cJSON_AddNumberToObject(ctx, "limit_value", limit);
}

/* ---- Fields ------------------------------------------------------------------------------------ */

static bool is_int(const cJSON *v)
{
    return cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble == floor(v->valuedouble) &&
           fabs(v->valuedouble) <= 9007199254740992.0;
}

/* A required int field >= lo, into *out. */
static bool int_field(const cJSON *root, const char *name, int lo, int *out, bso_problems *p)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, name);

    if (v == NULL) {
        problem(p, name, NULL, -1, -1, "value_error.missing", "field required");
        return false;
    }
    if (cJSON_IsNull(v)) {
        problem(p, name, NULL, -1, -1, "type_error.none.not_allowed", "none is not an allowed value");
        return false;
    }
    if (!is_int(v) || v->valuedouble > INT_MAX) {
        problem(p, name, NULL, -1, -1, "type_error.integer", "value is not a valid integer");
        return false;
    }
    if (v->valuedouble < lo) {
        ge_problem(p, name, lo);
        return false;
    }
    *out = (int)v->valuedouble;
    return true;
}

/* A list field: the array, or NULL with the problem listed (absent: required unless `dflt`). */
static const cJSON *list_field(const cJSON *root, const char *name, bso_problems *p)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, name);

    if (v == NULL)
        problem(p, name, NULL, -1, -1, "value_error.missing", "field required");
    else if (cJSON_IsNull(v))
        problem(p, name, NULL, -1, -1, "type_error.none.not_allowed", "none is not an allowed value");
    else if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > MAX_LIST)
        problem(p, name, NULL, -1, -1, "type_error.list", "value is not a valid list");
    else
        return v;
    return NULL;
}

/* A float as its Python repr, in a raw item (dump.c prints it as is); NULL if not a float. */
static cJSON *float_item(const cJSON *v)
{
    char repr[40];

    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return NULL;
    return cJSON_CreateRaw(zeus__fmt_double(v->valuedouble, repr, sizeof repr));
}

/* [float] at field [-> key -> i]: a new array of raw reprs, or NULL with problems listed. */
static cJSON *float_list(const cJSON *v, const char *field, const char *key, long i,
                         bso_problems *p)
{
    cJSON *out = cJSON_CreateArray();
    long j = 0;
    bool ok = true;

    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > MAX_LIST) {
        problem(p, field, key, i, -1, "type_error.list", "value is not a valid list");
        cJSON_Delete(out);
        return NULL;
    }
    for (const cJSON *c = v->child; c != NULL; c = c->next, j++) {
        cJSON *f = float_item(c);
        if (f == NULL) {
            if (key != NULL)
                problem(p, field, key, i, j, "type_error.float", "value is not a valid float");
            else
                problem(p, field, NULL, j, -1, "type_error.float", "value is not a valid float");
            ok = false;
            continue;
        }
        cJSON_AddItemToArray(out, f);
    }
    if (!ok) {
        cJSON_Delete(out);
        return NULL;
    }
    return out;
}

/* {str: [[float]]} (absent: {}): a new object, or NULL with problems listed. */
static cJSON *breakdown(const cJSON *root, const char *field, bso_problems *p)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, field);
    cJSON *out = cJSON_CreateObject();
    bool ok = true;

    if (v == NULL)
        return out;
    if (!cJSON_IsObject(v)) {
        problem(p, field, NULL, -1, -1, cJSON_IsNull(v) ? "type_error.none.not_allowed" : "type_error.dict",
                cJSON_IsNull(v) ? "none is not an allowed value" : "value is not a valid dict");
        cJSON_Delete(out);
        return NULL;
    }
    for (const cJSON *k = v->child; k != NULL; k = k->next) {
        cJSON *lists = cJSON_CreateArray();
        long i = 0;
        if (!cJSON_IsArray(k) || cJSON_GetArraySize(k) > MAX_LIST) {
            problem(p, field, k->string, -1, -1, "type_error.list", "value is not a valid list");
            ok = false;
        }
        for (const cJSON *it = cJSON_IsArray(k) ? k->child : NULL; it != NULL; it = it->next, i++) {
            cJSON *l = float_list(it, field, k->string, i, p);
            if (l == NULL)
                ok = false;
            else
                cJSON_AddItemToArray(lists, l);
        }
        cJSON_AddItemToObject(out, k->string, lists);
    }
    if (!ok) {
        cJSON_Delete(out);
        return NULL;
    }
    return out;
}

/* ---- Models ------------------------------------------------------------------------------------- */

bool pfo_validate_job_info(const cJSON *root, pfo_job_info *out, bso_problems *p)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "job_id");
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(root, "job_metadata");
    bool degrees;

    memset(out, 0, sizeof *out);
    if (id != NULL && !cJSON_IsString(id))
        problem(p, "job_id", NULL, -1, -1, "type_error.str", "str type expected");
    else if (id != NULL && id->valuestring[0] != '\0')
        problem(p, "job_id", NULL, -1, -1, "assertion_error", ""); /* Zeus's bare assert */
    degrees = int_field(root, "pp_degree", 1, &out->pp_degree, p);
    degrees = int_field(root, "dp_degree", 1, &out->dp_degree, p) && degrees;
    degrees = int_field(root, "tp_degree", 1, &out->tp_degree, p) && degrees;
    if (int_field(root, "world_size", 1, &out->world_size, p) && degrees &&
        (long long)out->pp_degree * out->dp_degree * out->tp_degree != out->world_size)
        problem(p, "world_size", NULL, -1, -1, "assertion_error", "");
    if (meta != NULL && !cJSON_IsNull(meta)) {
        if (!cJSON_IsString(meta))
            problem(p, "job_metadata", NULL, -1, -1, "type_error.str", "str type expected");
        else if (strchr(meta->valuestring, '/') != NULL || strlen(meta->valuestring) > MAX_METADATA)
            problem(p, "job_metadata", NULL, -1, -1, "value_error",
                    "job_metadata goes into the job id, a URL path segment and a folder name: "
                    "no '/', at most 200 characters");
        else if (meta->valuestring[0] != '\0')
            out->job_metadata = strdup(meta->valuestring);
    }
    if (bso_problems_any(p)) {
        free(out->job_metadata);
        out->job_metadata = NULL;
        return false;
    }
    return true;
}

bool pfo_validate_rank_info(const cJSON *root, pfo_rank_info *out, bso_problems *p)
{
    const cJSON *freqs;

    memset(out, 0, sizeof *out);
    int_field(root, "rank", 0, &out->rank, p);
    int_field(root, "dp_rank", 0, &out->dp_rank, p);
    int_field(root, "pp_rank", 0, &out->pp_rank, p);
    int_field(root, "tp_rank", 0, &out->tp_rank, p);
    freqs = list_field(root, "available_frequencies", p);
    if (freqs != NULL) {
        long i = 0;
        out->freqs = calloc((size_t)cJSON_GetArraySize(freqs) + 1, sizeof *out->freqs);
        for (const cJSON *c = freqs->child; c != NULL && out->freqs != NULL; c = c->next, i++) {
            if (!is_int(c))
                problem(p, "available_frequencies", NULL, i, -1, "type_error.integer",
                        "value is not a valid integer");
            else
                out->freqs[out->freq_count++] = (long)c->valuedouble;
        }
    }
    if (bso_problems_any(p)) {
        pfo_rank_info_free(out);
        return false;
    }
    return true;
}

bool pfo_validate_result(const cJSON *root, pfo_result *out, bso_problems *p)
{
    const cJSON *t, *en;
    cJSON *body = cJSON_CreateObject(), *tl = NULL, *el = NULL, *tb, *eb;

    memset(out, 0, sizeof *out);
    int_field(root, "rank", 0, &out->rank, p);
    if ((t = list_field(root, "iter_time", p)) != NULL)
        tl = float_list(t, "iter_time", NULL, -1, p);
    if ((en = list_field(root, "iter_energy", p)) != NULL)
        el = float_list(en, "iter_energy", NULL, -1, p);
    tb = breakdown(root, "time_breakdown", p);
    eb = breakdown(root, "energy_breakdown", p);
    cJSON_AddNumberToObject(body, "rank", out->rank);
    cJSON_AddItemToObject(body, "iter_time", tl != NULL ? tl : cJSON_CreateArray());
    cJSON_AddItemToObject(body, "iter_energy", el != NULL ? el : cJSON_CreateArray());
    cJSON_AddItemToObject(body, "time_breakdown", tb != NULL ? tb : cJSON_CreateObject());
    cJSON_AddItemToObject(body, "energy_breakdown", eb != NULL ? eb : cJSON_CreateObject());
    if (bso_problems_any(p)) {
        cJSON_Delete(body);
        return false;
    }
    out->body = body;
    return true;
}

bool pfo_validate_query_rank(const char *text, int *rank, bso_problems *p)
{
    char *end;
    long v;
    cJSON *e, *loc;

    if (text == NULL) {
        e = cJSON_CreateObject();
        loc = cJSON_AddArrayToObject(e, "loc");
        cJSON_AddItemToArray(loc, cJSON_CreateString("query"));
        cJSON_AddItemToArray(loc, cJSON_CreateString("rank"));
        cJSON_AddStringToObject(e, "msg", "field required");
        cJSON_AddStringToObject(e, "type", "value_error.missing");
        cJSON_AddItemToArray(p->detail, e);
        return false;
    }
    v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || v < INT_MIN || v > INT_MAX) {
        e = cJSON_CreateObject();
        loc = cJSON_AddArrayToObject(e, "loc");
        cJSON_AddItemToArray(loc, cJSON_CreateString("query"));
        cJSON_AddItemToArray(loc, cJSON_CreateString("rank"));
        cJSON_AddStringToObject(e, "msg", "value is not a valid integer");
        cJSON_AddStringToObject(e, "type", "type_error.integer");
        cJSON_AddItemToArray(p->detail, e);
        return false;
    }
    *rank = (int)v;
    return true;
}
