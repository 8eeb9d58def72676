/*
 * validate.c - Request bodies into the core's structs, or the 422 FastAPI answers when
 * pydantic v1 rejects them: {"detail": [{"loc": ["body", field], "msg": ..., "type": ...}]}
 * with pydantic v1's messages for the common cases and Zeus's own validators' messages
 * (zeus/optimizer/batch_size/common.py). Fields are checked in pydantic's order and every
 * failing field is listed; the root validators (default in the list, job id prefix) run only
 * when every field passed, as skip_on_failure does.
 *
 * Where this is stricter than pydantic v1, on purpose (a clear 422 rather than a surprise):
 *   - an integer must be a JSON number with no fraction (pydantic truncates 3.7 to 3 and
 *     parses "12"); strings must be JSON strings (pydantic turns 5 into "5");
 *   - every float must be finite (JSON has no NaN; 1e999 would be inf), and a report's time
 *     and energy must not be negative: Zeus accepts those, but they are not measurements;
 *   - batch sizes must be distinct (Zeus answers a duplicate with a 500 from the database);
 *   - strings must fit Zeus's columns (job_id 400, prefix 300, gpu_model 30 characters);
 *   - mab_seed must be in [0, 2^53] (numpy refuses negative seeds; JSON numbers above 2^53
 *     are not exact).
 * Unknown fields are ignored, as pydantic v1 does by default.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bso_server.h"

#define MAX_BATCH_SIZES 4096
#define SEED_MAX 9007199254740992.0 /* 2^53 */

/* ---- The problem list --------------------------------------------------------------------- */

void bso_problems_init(bso_problems *p)
{
    p->detail = cJSON_CreateArray();
}

bool bso_problems_any(const bso_problems *p)
{
    return p->detail == NULL || cJSON_GetArraySize(p->detail) > 0;
}

void bso_problems_free(bso_problems *p)
{
    cJSON_Delete(p->detail);
    p->detail = NULL;
}

void bso_problems_reply(bso_problems *p, bso_reply *r)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddItemToObject(o, "detail", p->detail != NULL ? p->detail : cJSON_CreateArray());
    p->detail = NULL;
    bso_reply_json(r, 422, o);
}

static cJSON *add_problem(bso_problems *p, const char *where, const char *field, int index,
                          const char *type, const char *msg)
{
    cJSON *e = cJSON_CreateObject(), *loc = cJSON_AddArrayToObject(e, "loc");

    cJSON_AddItemToArray(loc, cJSON_CreateString(where));
    if (field != NULL)
        cJSON_AddItemToArray(loc, cJSON_CreateString(field));
    if (index >= 0)
        cJSON_AddItemToArray(loc, cJSON_CreateNumber(index));
    cJSON_AddStringToObject(e, "msg", msg);
    cJSON_AddStringToObject(e, "type", type);
    cJSON_AddItemToArray(p->detail, e);
    return e;
}

void bso_problem(bso_problems *p, const char *where, const char *loc_field, int index,
                 const char *type, const char *msg)
{
    add_problem(p, where, loc_field, index, type, msg);
}

/* A number constraint, with pydantic's ctx {"limit_value": limit}. */
static void limit_problem(bso_problems *p, const char *field, const char *type, const char *what,
                          double limit)
{
    char msg[128];
    cJSON *ctx;

    snprintf(msg, sizeof msg, "ensure this value is %s %.17g", what, limit);
    ctx = cJSON_AddObjectToObject(add_problem(p, "body", field, -1, type, msg), "ctx");
    cJSON_AddNumberToObject(ctx, "limit_value", limit);
}

/* ---- The body ----------------------------------------------------------------------------- */

/* Python json's "line L column C (char P)" for byte offset `pos`. */
static void where_in(const char *body, size_t pos, char *out, size_t n)
{
    size_t line = 1, col = 1;

    for (size_t i = 0; i < pos; i++) {
        if (body[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    snprintf(out, n, "line %zu column %zu (char %zu)", line, col, pos);
}

cJSON *bso_parse_body(const char *body, size_t len, bso_problems *p)
{
    const char *end = NULL;
    char at[96], msg[160];
    cJSON *root;
    size_t pos;

    if (len == 0 || strspn(body, " \t\r\n") == len) {
        bso_problem(p, "body", NULL, -1, "value_error.missing", "field required");
        return NULL;
    }
    root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    if (root != NULL) {
        pos = (size_t)(end - body);
        while (pos < len && strchr(" \t\r\n", body[pos]) != NULL && body[pos] != '\0')
            pos++;
        if (pos == len)
            goto parsed;
        cJSON_Delete(root);
        where_in(body, pos, at, sizeof at);
        snprintf(msg, sizeof msg, "Extra data: %s", at);
    } else {
        pos = end != NULL && end >= body && end <= body + len ? (size_t)(end - body) : 0;
        while (pos < len && (body[pos] == ' ' || body[pos] == '\t' || body[pos] == '\r' ||
                             body[pos] == '\n'))
            pos++; /* Python's json reports where the bad value starts */
        where_in(body, pos, at, sizeof at);
        snprintf(msg, sizeof msg, "Invalid JSON: %s", at);
    }
    {
        cJSON *e = add_problem(p, "body", NULL, -1, "value_error.jsondecode", msg);
        cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(e, "loc"),
                             cJSON_CreateNumber((double)pos));
    }
    return NULL;
parsed:
    if (!cJSON_IsObject(root)) {
        bso_problem(p, "body", NULL, -1, "type_error.dict", "value is not a valid dict");
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

/* ---- Fields ------------------------------------------------------------------------------- */

/* The field's value; NULL when absent. A null value for a required or non-Optional field is
 * reported here, as pydantic v1 does ("none is not an allowed value"). */
enum presence { REQUIRED, DEFAULTED, OPTIONAL };

static const cJSON *field(const cJSON *root, const char *name, enum presence how,
                          bso_problems *p, bool *bad)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, name);

    *bad = false;
    if (v == NULL) {
        if (how == REQUIRED) {
            bso_problem(p, "body", name, -1, "value_error.missing", "field required");
            *bad = true;
        }
        return NULL;
    }
    if (cJSON_IsNull(v)) {
        if (how != OPTIONAL) {
            bso_problem(p, "body", name, -1, "type_error.none.not_allowed",
                        "none is not an allowed value");
            *bad = true;
        }
        return NULL;
    }
    return v;
}

static bool as_int(const cJSON *v, double lo, double hi, long long *out)
{
    double d;

    if (!cJSON_IsNumber(v))
        return false;
    d = v->valuedouble;
    if (!isfinite(d) || d != floor(d) || d < lo || d > hi)
        return false;
    *out = (long long)d;
    return true;
}

/* An int field into *out (left at its default when absent). */
static bool int_field(const cJSON *root, const char *name, enum presence how, int *out,
                      bso_problems *p)
{
    bool bad;
    const cJSON *v = field(root, name, how, p, &bad);
    long long x;

    if (v == NULL)
        return !bad;
    if (!as_int(v, -2147483648.0, 2147483647.0, &x)) {
        if (cJSON_IsNumber(v) && isfinite(v->valuedouble) &&
            v->valuedouble == floor(v->valuedouble))
            limit_problem(p, name, v->valuedouble > 0 ? "value_error.number.not_le"
                                                      : "value_error.number.not_ge",
                          v->valuedouble > 0 ? "less than or equal to"
                                             : "greater than or equal to",
                          v->valuedouble > 0 ? 2147483647.0 : -2147483648.0);
        else
            bso_problem(p, "body", name, -1, "type_error.integer",
                        "value is not a valid integer");
        return false;
    }
    *out = (int)x;
    return true;
}

static bool float_field(const cJSON *root, const char *name, enum presence how, double *out,
                        bso_problems *p)
{
    bool bad;
    const cJSON *v = field(root, name, how, p, &bad);

    if (v == NULL)
        return !bad;
    if (!cJSON_IsNumber(v)) {
        bso_problem(p, "body", name, -1, "type_error.float", "value is not a valid float");
        return false;
    }
    if (!isfinite(v->valuedouble)) {
        bso_problem(p, "body", name, -1, "value_error.number.not_finite_number",
                    "ensure this value is a finite number");
        return false;
    }
    *out = v->valuedouble;
    return true;
}

static bool bool_field(const cJSON *root, const char *name, bool *out, bso_problems *p)
{
    bool bad;
    const cJSON *v = field(root, name, DEFAULTED, p, &bad);

    if (v == NULL)
        return !bad;
    if (cJSON_IsBool(v)) {
        *out = cJSON_IsTrue(v);
        return true;
    }
    if (cJSON_IsNumber(v) && (v->valuedouble == 0 || v->valuedouble == 1)) {
        *out = v->valuedouble == 1;
        return true;
    }
    bso_problem(p, "body", name, -1, "type_error.bool", "value could not be parsed to a boolean");
    return false;
}

/* A string field copied into out[max + 1]; *given says whether it was there (not null). */
static bool str_field(const cJSON *root, const char *name, enum presence how, char *out,
                      size_t max, bool *given, bso_problems *p)
{
    bool bad;
    const cJSON *v = field(root, name, how, p, &bad);

    if (given != NULL)
        *given = false;
    if (v == NULL)
        return !bad;
    if (!cJSON_IsString(v)) {
        bso_problem(p, "body", name, -1, "type_error.str", "str type expected");
        return false;
    }
    if (strlen(v->valuestring) > max) {
        char msg[96];
        cJSON *ctx;
        snprintf(msg, sizeof msg, "ensure this value has at most %zu characters", max);
        ctx = cJSON_AddObjectToObject(add_problem(p, "body", name, -1,
                                                  "value_error.any_str.max_length", msg),
                                      "ctx");
        cJSON_AddNumberToObject(ctx, "limit_value", (double)max);
        return false;
    }
    memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
    if (given != NULL)
        *given = true;
    return true;
}

/* ---- JobSpecFromClient -------------------------------------------------------------------- */

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Python's repr of a list of ints: "[1, 2, 3]". */
static void list_repr(const int *v, size_t n, char *out, size_t size)
{
    size_t used = (size_t)snprintf(out, size, "[");

    for (size_t i = 0; i < n && used < size; i++)
        used += (size_t)snprintf(out + used, size - used, "%s%d", i ? ", " : "", v[i]);
    if (used < size)
        snprintf(out + used, size - used, "]");
}

static bool batch_sizes_field(const cJSON *root, bso_spec *spec, bso_problems *p)
{
    bool bad, ok = true;
    const cJSON *v = field(root, "batch_sizes", REQUIRED, p, &bad), *e;
    int i = 0, n;

    if (v == NULL)
        return false;
    if (!cJSON_IsArray(v)) {
        bso_problem(p, "body", "batch_sizes", -1, "type_error.list",
                    "value is not a valid list");
        return false;
    }
    n = cJSON_GetArraySize(v);
    if (n == 0) {
        bso_problem(p, "body", "batch_sizes", -1, "value_error", "Batch Sizes = [] is empty");
        return false;
    }
    if (n > MAX_BATCH_SIZES) {
        char msg[96];
        snprintf(msg, sizeof msg, "ensure this value has at most %d items", MAX_BATCH_SIZES);
        bso_problem(p, "body", "batch_sizes", -1, "value_error.list.max_items", msg);
        return false;
    }
    spec->batch_sizes = calloc((size_t)n, sizeof *spec->batch_sizes);
    if (spec->batch_sizes == NULL) {
        bso_problem(p, "body", "batch_sizes", -1, "value_error", "out of memory");
        return false;
    }
    cJSON_ArrayForEach(e, v)
    {
        long long x;
        if (as_int(e, -2147483648.0, 2147483647.0, &x)) {
            spec->batch_sizes[i] = (int)x;
        } else {
            bso_problem(p, "body", "batch_sizes", i, "type_error.integer",
                        "value is not a valid integer");
            ok = false;
        }
        i++;
    }
    spec->num_batch_sizes = (size_t)n;
    if (!ok)
        return false;
    qsort(spec->batch_sizes, spec->num_batch_sizes, sizeof *spec->batch_sizes, cmp_int);
    for (size_t k = 1; k < spec->num_batch_sizes; k++) {
        if (spec->batch_sizes[k] == spec->batch_sizes[k - 1]) {
            char msg[128];
            snprintf(msg, sizeof msg, "Batch size %d appears more than once in batch_sizes",
                     spec->batch_sizes[k]);
            bso_problem(p, "body", "batch_sizes", -1, "value_error", msg);
            return false;
        }
    }
    return true;
}

/* Python's repr of a float ("2.0", "0.1", "-1.5"), for Zeus's messages. */
static void float_repr(double v, char *out, size_t size)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, size, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            break;
    }
    if (isfinite(v) && strpbrk(out, ".e") == NULL && strlen(out) + 3 <= size)
        strcat(out, ".0");
}

static void number_rules(const bso_spec *s, bool ok[], bso_problems *p)
{
    char msg[256], b[64];

    /* ok[] marks which fields parsed; a constraint is checked only on a parsed value */
    if (ok[0] && s->max_power <= 0)
        limit_problem(p, "max_power", "value_error.number.not_gt", "greater than", 0);
    if (ok[1] && s->number_of_gpus <= 0)
        limit_problem(p, "number_of_gpus", "value_error.number.not_gt", "greater than", 0);
    if (ok[2] && s->gpu_model[0] == '\0')
        bso_problem(p, "body", "gpu_model", -1, "value_error",
                    "Invalid gpu_model(). Shouldn't be empty.");
    if (ok[3] && s->default_batch_size <= 0)
        limit_problem(p, "default_batch_size", "value_error.number.not_gt", "greater than", 0);
    if (ok[4] && (s->eta_knob < 0 || s->eta_knob > 1))
        bso_problem(p, "body", "eta_knob", -1, "value_error", "eta_knob should be in range [0,1]");
    if (ok[5] && !isnan(s->beta_knob) && !(s->beta_knob > 0)) {
        float_repr(s->beta_knob, b, sizeof b);
        snprintf(msg, sizeof msg, "Invalid beta_knob(%s). To disable early stop, set beta_knob "
                 "= None to disable or positive value.", b);
        bso_problem(p, "body", "beta_knob", -1, "value_error", msg);
    }
    if (ok[6] && s->max_epochs <= 0)
        limit_problem(p, "max_epochs", "value_error.number.not_gt", "greater than", 0);
    if (ok[7] && s->num_pruning_rounds < 0)
        limit_problem(p, "num_pruning_rounds", "value_error.number.not_ge",
                      "greater than or equal to", 0);
    if (ok[8] && s->mab_num_explorations < 0)
        limit_problem(p, "mab_num_explorations", "value_error.number.not_ge",
                      "greater than or equal to", 0);
}

static bool seed_field(const cJSON *root, bso_spec *s, bso_problems *p)
{
    bool bad;
    const cJSON *v = field(root, "mab_seed", OPTIONAL, p, &bad);
    long long x;

    s->has_mab_seed = false;
    if (v == NULL)
        return !bad;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
        v->valuedouble != floor(v->valuedouble)) {
        bso_problem(p, "body", "mab_seed", -1, "type_error.integer",
                    "value is not a valid integer");
        return false;
    }
    if (!as_int(v, 0, SEED_MAX, &x)) {
        limit_problem(p, "mab_seed",
                      v->valuedouble < 0 ? "value_error.number.not_ge" : "value_error.number.not_le",
                      v->valuedouble < 0 ? "greater than or equal to" : "less than or equal to",
                      v->valuedouble < 0 ? 0 : SEED_MAX);
        return false;
    }
    s->has_mab_seed = true;
    s->mab_seed = x;
    return true;
}

/* Zeus's root validators, in its order; the second runs only when the first passed. */
static void root_rules(const bso_spec *s, bool has_job_id, bso_problems *p)
{
    char list[1024], msg[1600];
    bool found = false;

    for (size_t i = 0; i < s->num_batch_sizes; i++)
        found = found || s->batch_sizes[i] == s->default_batch_size;
    if (!found) {
        list_repr(s->batch_sizes, s->num_batch_sizes, list, sizeof list);
        snprintf(msg, sizeof msg, "Default BS(%d) not in batch_sizes(%s).",
                 s->default_batch_size, list);
        bso_problem(p, "body", "__root__", -1, "value_error", msg);
        return;
    }
    if (has_job_id && strncmp(s->job_id, s->job_id_prefix, strlen(s->job_id_prefix)) != 0) {
        snprintf(msg, sizeof msg, "Job_id(%.400s) does not start with prefix(%.300s).",
                 s->job_id, s->job_id_prefix);
        bso_problem(p, "body", "__root__", -1, "value_error", msg);
    }
}

bool bso_validate_spec(const cJSON *root, bso_spec *s, bool *has_job_id, bso_problems *p)
{
    bool ok[9];

    memset(s, 0, sizeof *s);
    s->eta_knob = 0.5;
    s->beta_knob = 2.0;
    s->target_metric = 0.5;
    s->higher_is_better_metric = true;
    s->max_epochs = 100;
    s->num_pruning_rounds = 2;
    s->window_size = 0;
    s->mab_num_explorations = 2;

    /* pydantic v1's field order for JobSpecFromClient(JobSpec, GpuConfig): GpuConfig's first */
    ok[0] = float_field(root, "max_power", REQUIRED, &s->max_power, p);
    ok[1] = int_field(root, "number_of_gpus", REQUIRED, &s->number_of_gpus, p);
    ok[2] = str_field(root, "gpu_model", REQUIRED, s->gpu_model, BSO_GPU_MODEL_MAX, NULL, p);
    if (str_field(root, "job_id", OPTIONAL, s->job_id, BSO_JOB_ID_MAX, has_job_id, p) &&
        *has_job_id && s->job_id[0] == '\0') {
        cJSON *ctx = cJSON_AddObjectToObject(
            add_problem(p, "body", "job_id", -1, "value_error.any_str.min_length",
                        "ensure this value has at least 1 characters"),
            "ctx");
        cJSON_AddNumberToObject(ctx, "limit_value", 1);
    }
    str_field(root, "job_id_prefix", REQUIRED, s->job_id_prefix, BSO_PREFIX_MAX, NULL, p);
    batch_sizes_field(root, s, p);
    ok[3] = int_field(root, "default_batch_size", REQUIRED, &s->default_batch_size, p);
    ok[4] = float_field(root, "eta_knob", DEFAULTED, &s->eta_knob, p);
    {
        bool bad;
        const cJSON *beta = field(root, "beta_knob", OPTIONAL, p, &bad);
        ok[5] = float_field(root, "beta_knob", OPTIONAL, &s->beta_knob, p);
        if (beta == NULL && cJSON_GetObjectItemCaseSensitive(root, "beta_knob") != NULL)
            s->beta_knob = NAN; /* null: early stop off */
    }
    float_field(root, "target_metric", DEFAULTED, &s->target_metric, p);
    bool_field(root, "higher_is_better_metric", &s->higher_is_better_metric, p);
    ok[6] = int_field(root, "max_epochs", DEFAULTED, &s->max_epochs, p);
    ok[7] = int_field(root, "num_pruning_rounds", DEFAULTED, &s->num_pruning_rounds, p);
    int_field(root, "window_size", DEFAULTED, &s->window_size, p);
    float_field(root, "mab_prior_mean", DEFAULTED, &s->mab_prior_mean, p);
    float_field(root, "mab_prior_precision", DEFAULTED, &s->mab_prior_precision, p);
    ok[8] = int_field(root, "mab_num_explorations", DEFAULTED, &s->mab_num_explorations, p);
    seed_field(root, s, p);
    number_rules(s, ok, p);
    if (!bso_problems_any(p))
        root_rules(s, *has_job_id, p);
    if (bso_problems_any(p)) {
        bso_spec_free(s);
        return false;
    }
    return true;
}

void bso_spec_free(bso_spec *spec)
{
    free(spec->batch_sizes);
    spec->batch_sizes = NULL;
    spec->num_batch_sizes = 0;
}

cJSON *bso_spec_to_json(const bso_spec *s)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "job_id", s->job_id);
    cJSON_AddStringToObject(o, "job_id_prefix", s->job_id_prefix);
    cJSON_AddItemToObject(o, "batch_sizes",
                          cJSON_CreateIntArray(s->batch_sizes, (int)s->num_batch_sizes));
    cJSON_AddNumberToObject(o, "default_batch_size", s->default_batch_size);
    cJSON_AddNumberToObject(o, "eta_knob", s->eta_knob);
    if (isnan(s->beta_knob))
        cJSON_AddNullToObject(o, "beta_knob");
    else
        cJSON_AddNumberToObject(o, "beta_knob", s->beta_knob);
    cJSON_AddNumberToObject(o, "target_metric", s->target_metric);
    cJSON_AddBoolToObject(o, "higher_is_better_metric", s->higher_is_better_metric);
    cJSON_AddNumberToObject(o, "max_epochs", s->max_epochs);
    cJSON_AddNumberToObject(o, "num_pruning_rounds", s->num_pruning_rounds);
    cJSON_AddNumberToObject(o, "window_size", s->window_size);
    cJSON_AddNumberToObject(o, "mab_prior_mean", s->mab_prior_mean);
    cJSON_AddNumberToObject(o, "mab_prior_precision", s->mab_prior_precision);
    cJSON_AddNumberToObject(o, "mab_num_explorations", s->mab_num_explorations);
    if (s->has_mab_seed)
        cJSON_AddNumberToObject(o, "mab_seed", (double)s->mab_seed);
    else
        cJSON_AddNullToObject(o, "mab_seed");
    cJSON_AddNumberToObject(o, "max_power", s->max_power);
    cJSON_AddNumberToObject(o, "number_of_gpus", s->number_of_gpus);
    cJSON_AddStringToObject(o, "gpu_model", s->gpu_model);
    return o;
}

/* ---- TrialId and TrainingResult ----------------------------------------------------------- */

bool bso_validate_trial_id(const cJSON *root, char *job_id, int *batch_size, int *trial_number,
                           bso_problems *p)
{
    str_field(root, "job_id", REQUIRED, job_id, BSO_JOB_ID_MAX, NULL, p);
    int_field(root, "batch_size", REQUIRED, batch_size, p);
    int_field(root, "trial_number", REQUIRED, trial_number, p);
    return !bso_problems_any(p);
}

/* time and energy: finite (float_field) and not negative. */
static void measurement_field(const cJSON *root, const char *name, double *out, bso_problems *p)
{
    if (float_field(root, name, REQUIRED, out, p) && *out < 0)
        limit_problem(p, name, "value_error.number.not_ge", "greater than or equal to", 0);
}

bool bso_validate_result(const cJSON *root, char *job_id, bso_result *r, bso_problems *p)
{
    memset(r, 0, sizeof *r);
    bso_validate_trial_id(root, job_id, &r->batch_size, &r->trial_number, p);
    measurement_field(root, "time", &r->time, p);
    measurement_field(root, "energy", &r->energy, p);
    float_field(root, "metric", REQUIRED, &r->metric, p);
    int_field(root, "current_epoch", REQUIRED, &r->current_epoch, p);
    return !bso_problems_any(p);
}
