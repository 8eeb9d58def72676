/*
 * test_bso_validate.c - The BSO server's request validation (bso/server/validate.c), without
 * a server: a valid JobSpecFromClient fills the spec with Zeus's defaults and sorts the batch
 * sizes; each invalid one gives pydantic v1's 422 detail (loc, msg, type) with Zeus's own
 * validator messages; results refuse NaN-free but infinite or negative time and energy;
 * malformed JSON and non-objects are explained.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bso_server.h"

#define GPU "\"max_power\": 1200, \"number_of_gpus\": 4, \"gpu_model\": \"A100\""

/* Validate `json` as a spec; returns the reply's body (malloc'd) when invalid, NULL if valid. */
static char *spec_problems(const char *json, bso_spec *spec, bool *has_id)
{
    bso_problems p;
    bso_reply r = {0, NULL};
    cJSON *root;

    bso_problems_init(&p);
    root = bso_parse_body(json, strlen(json), &p);
    if (root != NULL && bso_validate_spec(root, spec, has_id, &p)) {
        cJSON_Delete(root);
        bso_problems_free(&p);
        return NULL;
    }
    cJSON_Delete(root);
    bso_problems_reply(&p, &r);
    assert_int_equal(r.status, 422);
    return r.body;
}

/* The n-th problem's loc (joined by '.'), msg and type, from a 422 body. */
static void problem(const char *body, int n, char *loc, char *msg, char *type)
{
    cJSON *o = cJSON_Parse(body), *d, *e, *l;

    assert_non_null(o);
    d = cJSON_GetObjectItem(o, "detail");
    assert_true(cJSON_IsArray(d));
    e = cJSON_GetArrayItem(d, n);
    assert_non_null(e);
    loc[0] = '\0';
    cJSON_ArrayForEach(l, cJSON_GetObjectItem(e, "loc"))
    {
        char part[64];
        if (cJSON_IsString(l))
            snprintf(part, sizeof part, "%s%s", loc[0] ? "." : "", l->valuestring);
        else
            snprintf(part, sizeof part, "%s%d", loc[0] ? "." : "", l->valueint);
        strcat(loc, part);
    }
    strcpy(msg, cJSON_GetObjectItem(e, "msg")->valuestring);
    strcpy(type, cJSON_GetObjectItem(e, "type")->valuestring);
    cJSON_Delete(o);
}

static void expect_one(const char *json, const char *loc, const char *msg, const char *type)
{
    bso_spec spec;
    bool has_id;
    char l[256], m[512], t[128];
    char *body = spec_problems(json, &spec, &has_id);
    cJSON *o;

    assert_non_null(body);
    problem(body, 0, l, m, t);
    assert_string_equal(l, loc);
    assert_string_equal(m, msg);
    assert_string_equal(t, type);
    o = cJSON_Parse(body);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "detail")), 1);
    cJSON_Delete(o);
    free(body);
}

static void test_valid_spec_takes_zeus_defaults_and_sorts(void **state)
{
    bso_spec s;
    bool has_id = true;
    (void)state;

    assert_null(spec_problems("{\"job_id_prefix\": \"p\", \"batch_sizes\": [64, 8, 32], "
                              "\"default_batch_size\": 32, \"unknown\": [1], " GPU "}",
                              &s, &has_id));
    assert_false(has_id);
    assert_int_equal(s.num_batch_sizes, 3);
    assert_int_equal(s.batch_sizes[0], 8);
    assert_int_equal(s.batch_sizes[2], 64);
    assert_true(s.eta_knob == 0.5 && s.beta_knob == 2.0 && s.target_metric == 0.5);
    assert_true(s.higher_is_better_metric);
    assert_int_equal(s.max_epochs, 100);
    assert_int_equal(s.num_pruning_rounds, 2);
    assert_int_equal(s.window_size, 0);
    assert_int_equal(s.mab_num_explorations, 2);
    assert_false(s.has_mab_seed);
    assert_true(s.max_power == 1200 && s.number_of_gpus == 4);
    assert_string_equal(s.gpu_model, "A100");
    bso_spec_free(&s);

    assert_null(spec_problems("{\"job_id\": \"p-1\", \"job_id_prefix\": \"p\", \"batch_sizes\": "
                              "[8], \"default_batch_size\": 8, \"beta_knob\": null, "
                              "\"mab_seed\": 123, " GPU "}", &s, &has_id));
    assert_true(has_id);
    assert_string_equal(s.job_id, "p-1");
    assert_true(isnan(s.beta_knob));
    assert_true(s.has_mab_seed && s.mab_seed == 123);
    bso_spec_free(&s);
}

/* Spec 3.9's 422 cases, with Zeus's and pydantic v1's messages. */
static void test_conformance_422s(void **state)
{
    (void)state;
    expect_one("{\"job_id_prefix\": \"p\", \"batch_sizes\": [8, 16], \"default_batch_size\": 4, "
               GPU "}", "body.__root__", "Default BS(4) not in batch_sizes([8, 16]).",
               "value_error");
    expect_one("{\"job_id_prefix\": \"p\", \"batch_sizes\": [0, 16], \"default_batch_size\": 0, "
               GPU "}", "body.default_batch_size", "ensure this value is greater than 0",
               "value_error.number.not_gt");
    expect_one("{\"job_id_prefix\": \"p\", \"batch_sizes\": [8], \"default_batch_size\": 8, "
               "\"max_epochs\": 0, " GPU "}", "body.max_epochs",
               "ensure this value is greater than 0", "value_error.number.not_gt");
    expect_one("{\"job_id_prefix\": \"p\", \"batch_sizes\": [], \"default_batch_size\": 8, "
               GPU "}", "body.batch_sizes", "Batch Sizes = [] is empty", "value_error");
    expect_one("{\"job_id_prefix\": \"p\", \"batch_sizes\": [8], \"default_batch_size\": 8, "
               "\"eta_knob\": 1.1, " GPU "}", "body.eta_knob", "eta_knob should be in range [0,1]",
               "value_error");
    expect_one("{\"job_id_prefix\": \"p\", \"batch_sizes\": [8], \"default_batch_size\": 8, "
               "\"beta_knob\": 0, " GPU "}", "body.beta_knob",
               "Invalid beta_knob(0.0). To disable early stop, set beta_knob = None to disable "
               "or positive value.", "value_error");
    expect_one("{\"job_id\": \"q-1\", \"job_id_prefix\": \"p\", \"batch_sizes\": [8], "
               "\"default_batch_size\": 8, " GPU "}", "body.__root__",
               "Job_id(q-1) does not start with prefix(p).", "value_error");
}

static void test_types_and_missing_fields(void **state)
{
    bso_spec s;
    bool has_id;
    char l[256], m[512], t[128], *body;
    (void)state;

    expect_one("{\"job_id_prefix\": \"p\", \"batch_sizes\": [8], " GPU "}",
               "body.default_batch_size", "field required", "value_error.missing");
    expect_one("{\"job_id_prefix\": \"p\", \"batch_sizes\": [8], \"default_batch_size\": \"8\", "
               GPU "}", "body.default_batch_size", "value is not a valid integer",
               "type_error.integer");
    expect_one("{\"job_id_prefix\": \"p\", \"batch_sizes\": [8, \"x\"], \"default_batch_size\": 8, "
               GPU "}", "body.batch_sizes.1", "value is not a valid integer",
               "type_error.integer");
    expect_one("{\"job_id_prefix\": \"p\", \"batch_sizes\": 8, \"default_batch_size\": 8, "
               GPU "}", "body.batch_sizes", "value is not a valid list", "type_error.list");
    expect_one("{\"job_id_prefix\": \"p\", \"batch_sizes\": [8, 8], \"default_batch_size\": 8, "
               GPU "}", "body.batch_sizes", "Batch size 8 appears more than once in batch_sizes",
               "value_error");
    expect_one("{\"job_id_prefix\": \"p\", \"batch_sizes\": [8], \"default_batch_size\": 8, "
               "\"eta_knob\": null, " GPU "}", "body.eta_knob", "none is not an allowed value",
               "type_error.none.not_allowed");
    expect_one("{\"job_id_prefix\": 5, \"batch_sizes\": [8], \"default_batch_size\": 8, "
               GPU "}", "body.job_id_prefix", "str type expected", "type_error.str");
    expect_one("{\"job_id_prefix\": \"p\", \"batch_sizes\": [8], \"default_batch_size\": 8, "
               "\"max_power\": 1200, \"number_of_gpus\": 4, \"gpu_model\": \"\"}",
               "body.gpu_model", "Invalid gpu_model(). Shouldn't be empty.", "value_error");
    expect_one("{\"job_id_prefix\": \"p\", \"batch_sizes\": [8], \"default_batch_size\": 8, "
               "\"mab_seed\": -1, " GPU "}", "body.mab_seed",
               "ensure this value is greater than or equal to 0", "value_error.number.not_ge");
    expect_one("{\"job_id_prefix\": \"p\", \"batch_sizes\": [8], \"default_batch_size\": 8, "
               "\"target_metric\": 1e999, " GPU "}", "body.target_metric",
               "ensure this value is a finite number", "value_error.number.not_finite_number");

    /* everything missing: every required field listed, in pydantic's order, no root check */
    body = spec_problems("{}", &s, &has_id);
    assert_non_null(body);
    problem(body, 0, l, m, t);
    assert_string_equal(l, "body.max_power");
    problem(body, 3, l, m, t);
    assert_string_equal(l, "body.job_id_prefix");
    problem(body, 5, l, m, t);
    assert_string_equal(l, "body.default_batch_size");
    assert_string_equal(m, "field required");
    free(body);
}

static void test_bodies_that_are_not_objects(void **state)
{
    bso_spec s;
    bool has_id;
    char l[256], m[512], t[128], *body;
    (void)state;

    body = spec_problems("{\"job_id_prefix\": ", &s, &has_id);
    problem(body, 0, l, m, t);
    assert_string_equal(t, "value_error.jsondecode");
    assert_string_equal(l, "body.18");
    assert_non_null(strstr(m, "line 1 column 19 (char 18)"));
    free(body);
    body = spec_problems("{} x", &s, &has_id);
    problem(body, 0, l, m, t);
    assert_string_equal(m, "Extra data: line 1 column 4 (char 3)");
    free(body);
    expect_one("[1, 2]", "body", "value is not a valid dict", "type_error.dict");
    expect_one("", "body", "field required", "value_error.missing");
}

static void expect_result_problem(const char *json, const char *loc, const char *type)
{
    bso_problems p;
    bso_reply r = {0, NULL};
    bso_result res;
    char job_id[BSO_JOB_ID_MAX + 1], l[256], m[512], t[128];
    cJSON *root;

    bso_problems_init(&p);
    root = bso_parse_body(json, strlen(json), &p);
    assert_non_null(root);
    assert_false(bso_validate_result(root, job_id, &res, &p));
    cJSON_Delete(root);
    bso_problems_reply(&p, &r);
    problem(r.body, 0, l, m, t);
    assert_string_equal(l, loc);
    assert_string_equal(t, type);
    bso_reply_clear(&r);
}

static void test_results_refuse_what_is_not_a_measurement(void **state)
{
    bso_problems p;
    bso_result res;
    char job_id[BSO_JOB_ID_MAX + 1];
    const char *ok = "{\"job_id\": \"j\", \"batch_size\": 8, \"trial_number\": 2, \"time\": 1.5, "
                     "\"energy\": 30, \"metric\": 0.4, \"current_epoch\": 3}";
    cJSON *root = cJSON_Parse(ok);
    (void)state;

    bso_problems_init(&p);
    assert_true(bso_validate_result(root, job_id, &res, &p));
    assert_string_equal(job_id, "j");
    assert_int_equal(res.batch_size, 8);
    assert_int_equal(res.trial_number, 2);
    assert_true(res.time == 1.5 && res.energy == 30 && res.metric == 0.4);
    assert_int_equal(res.current_epoch, 3);
    bso_problems_free(&p);
    cJSON_Delete(root);

    expect_result_problem("{\"job_id\": \"j\", \"batch_size\": 8, \"trial_number\": 2, "
                          "\"time\": -1, \"energy\": 30, \"metric\": 0.4, \"current_epoch\": 3}",
                          "body.time", "value_error.number.not_ge");
    expect_result_problem("{\"job_id\": \"j\", \"batch_size\": 8, \"trial_number\": 2, "
                          "\"time\": 1, \"energy\": 1e400, \"metric\": 0.4, \"current_epoch\": 3}",
                          "body.energy", "value_error.number.not_finite_number");
    expect_result_problem("{\"job_id\": \"j\", \"batch_size\": 8, \"trial_number\": 2.5, "
                          "\"time\": 1, \"energy\": 1, \"metric\": 0.4, \"current_epoch\": 3}",
                          "body.trial_number", "type_error.integer");
    expect_result_problem("{\"batch_size\": 8, \"trial_number\": 2, "
                          "\"time\": 1, \"energy\": 1, \"metric\": 0.4, \"current_epoch\": 3}",
                          "body.job_id", "value_error.missing");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_spec_takes_zeus_defaults_and_sorts),
        cmocka_unit_test(test_conformance_422s),
        cmocka_unit_test(test_types_and_missing_fields),
        cmocka_unit_test(test_bodies_that_are_not_objects),
        cmocka_unit_test(test_results_refuse_what_is_not_a_measurement),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
