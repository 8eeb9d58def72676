/*
 * test_pfo_literal.c - The Perseus server's reader of solution files (pfo/server/literal.c):
 * lowtime's files read entry by entry, the rest of Python's literal grammar a person might
 * write, and refusals with the status Zeus's eval or pydantic would lead to (500 for what is
 * not a literal, 400 for a literal of the wrong shape).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pfo_server.h"
#include "pfo_server_support.h"
#include "test_support.h"

/* ---- lowtime's files ------------------------------------------------------------------------ */

static void check_file(const char *name, size_t ranks)
{
    char path[1024], *text;
    pfo_plan plan;
    pfo_error e = {0, ""};
    cJSON *expect;

    snprintf(path, sizeof path, "%s/perseus/%s", getenv("ZEUS_TEST_DATA"), name);
    text = zt_read_file(path);
    assert_non_null(text);
    assert_true(pfo_parse_plan(text, &plan, &e));
    expect = zt_pfo_plan_json(path);
    assert_int_equal(plan.count, ranks);
    assert_int_equal(cJSON_GetArraySize(expect), (int)ranks);
    for (size_t r = 0; r < ranks; r++) {
        const cJSON *list = cJSON_GetArrayItem(expect, (int)r);
        assert_int_equal(plan.ranks[r].count, cJSON_GetArraySize(list));
        for (size_t k = 0; k < plan.ranks[r].count; k++) {
            const cJSON *pair = cJSON_GetArrayItem(list, (int)k);
            assert_string_equal(plan.ranks[r].names[k], cJSON_GetArrayItem(pair, 0)->valuestring);
            assert_int_equal(plan.ranks[r].mhz[k], cJSON_GetArrayItem(pair, 1)->valueint);
        }
    }
    cJSON_Delete(expect);
    pfo_plan_free(&plan);
    free(text);
}

static void test_literal_lowtime_files_read_entry_by_entry(void **state)
{
    (void)state;
    check_file("lowtime-s2-m4/freqs_pipeline_00000.py", 2);
    check_file("lowtime-s4-m8/freqs_pipeline_00188.py", 4);
}

/* ---- Python's grammar -------------------------------------------------------------------------- */

static void test_literal_python_forms_accepted(void **state)
{
    const char *text = "  # a plan\n(\n  [(\"forward\", 1_110), ['backward', +1140,],],  # rank 0\n"
                       "  ((('for' \"ward\"), 0),),\n  [],\n)\n# Iteration 0\n";
    pfo_plan plan;
    pfo_error e = {0, ""};

    (void)state;
    assert_true(pfo_parse_plan(text, &plan, &e));
    assert_int_equal(plan.count, 3);
    assert_int_equal(plan.ranks[0].count, 2);
    assert_string_equal(plan.ranks[0].names[0], "forward");
    assert_int_equal(plan.ranks[0].mhz[0], 1110);
    assert_string_equal(plan.ranks[0].names[1], "backward");
    assert_int_equal(plan.ranks[0].mhz[1], 1140);
    assert_string_equal(plan.ranks[1].names[0], "forward"); /* implicit concatenation */
    assert_int_equal(plan.ranks[1].mhz[0], 0);
    assert_int_equal(plan.ranks[2].count, 0);
    pfo_plan_free(&plan);
}

/* ---- Refusals ------------------------------------------------------------------------------ */

static void refused(const char *text, unsigned http, const char *expect)
{
    pfo_plan plan;
    pfo_error e = {0, ""};

    if (pfo_parse_plan(text, &plan, &e))
        fail_msg("accepted: %s", text);
    assert_int_equal(e.http, http);
    if (strstr(e.detail, expect) == NULL)
        fail_msg("'%s' lacks '%s'", e.detail, expect);
}

static void test_literal_not_a_literal_is_500(void **state)
{
    char deep[200];

    (void)state;
    refused("__import__('os').system('true')", 500, "SyntaxError");
    refused("[[('forward', 1110)]] + [[]]", 500, "text after the literal");
    refused("[[('forward', 1110)]", 500, "SyntaxError");
    refused("[[('forward, 1110)]]", 500, "unterminated string");
    refused("[[('forward', 0110)]]", 500, "leading zeros");
    refused("[[('forward', 99999999999999999999999)]]", 500, "out of range");
    refused("", 500, "end of file");
    refused("'forward'", 500, "TypeError");
    memset(deep, '[', sizeof deep - 1);
    deep[sizeof deep - 1] = '\0';
    refused(deep, 500, "nesting too deep");
}

static void test_literal_wrong_shape_is_400(void **state)
{
    (void)state;
    refused("[[('forward', 1110.0)]]", 400, "frequencies -> 0 -> 1\n  value is not a valid integer");
    refused("[[('forward', '1110')]]", 400, "value is not a valid integer");
    refused("[[(1110, 'forward')]]", 400, "str type expected");
    refused("[[('forward', 1110, 3)]]", 400, "wrong tuple length");
    refused("[[('forward', 1), 'backward']]", 400, "frequencies -> 1\n  value is not a valid tuple");
    refused("[('forward', 1110)]", 400, "frequencies -> 0\n  value is not a valid tuple"); /* one list too few */
    refused("[None]", 400, "value is not a valid list");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literal_lowtime_files_read_entry_by_entry),
        cmocka_unit_test(test_literal_python_forms_accepted),
        cmocka_unit_test(test_literal_not_a_literal_is_500),
        cmocka_unit_test(test_literal_wrong_shape_is_400),
    };
    return cmocka_run_group_tests_name("pfo_literal", tests, NULL, NULL);
}
