/*
 * test_perseus_profile.c - Reading the Perseus profile CSV (perseus/profile.c): what pandas
 * would read is read (columns by name, in any order, extra columns, blank lines, CRLF), and
 * each bad profile is refused with a message that names the file and the line (or the stage
 * and instruction that has no rows): missing stage or instruction, non-positive or NaN time or
 * energy, one frequency only, and malformed fields.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "perseus.h"

#define HEADER "stage,instruction,frequency,time,energy\n"
/* Two frequencies of forward and backward for stage 0. */
#define STAGE0                                                                                  \
    "0,forward,1980,0.019,12.0\n"                                                               \
    "0,forward,1500,0.024,9.0\n"                                                                \
    "0,backward,1980,0.044,25.0\n"                                                              \
    "0,backward,1500,0.054,18.0\n"

/* Parse and check for `stages`; returns the status, the message in err. */
static int load(const char *csv, int stages, perseus_error *err)
{
    perseus_profile p;
    int rc = perseus_profile_parse(csv, strlen(csv), "p.csv", &p, err);

    if (rc != PERSEUS_OK)
        return rc;
    rc = perseus_profile_check(&p, stages, err);
    perseus_profile_free(&p);
    return rc;
}

/* The profile is refused, and the message holds each of the NULL-terminated strings. */
static void refused(const char *csv, int stages, ...)
{
    perseus_error err;
    va_list ap;
    const char *want;

    err.msg[0] = '\0';
    assert_int_equal(load(csv, stages, &err), PERSEUS_ERR_INPUT);
    va_start(ap, stages);
    while ((want = va_arg(ap, const char *)) != NULL)
        if (strstr(err.msg, want) == NULL)
            fail_msg("message '%s' lacks '%s'", err.msg, want);
    va_end(ap);
}

static void test_profile_good_reads_like_pandas(void **state)
{
    static const char csv[] = "rank,energy,time,frequency,instruction,stage\r\n"
                              "\r\n"
                              "7, 12.0 ,0.019,1980,forward,0\r\n"
                              "7,9.0,0.024,1500,forward,0\r\n"
                              "7,25.0,0.044,1980,backward,0\r\n"
                              "7,18.0,0.054,1500,backward,0\r\n";
    perseus_profile p;
    perseus_error err;

    (void)state;
    assert_int_equal(perseus_profile_parse(csv, strlen(csv), "p.csv", &p, &err), PERSEUS_OK);
    assert_int_equal(p.count, 4);
    assert_int_equal(p.rows[0].stage, 0);
    assert_int_equal(p.rows[0].instruction, PERSEUS_FORWARD);
    assert_int_equal(p.rows[0].frequency, 1980);
    assert_true(p.rows[0].time_s == 0.019);
    assert_true(p.rows[0].energy_j == 12.0);
    assert_int_equal(p.rows[0].line, 3);
    assert_int_equal(p.rows[3].instruction, PERSEUS_BACKWARD);
    assert_int_equal(perseus_profile_check(&p, 1, &err), PERSEUS_OK);
    perseus_profile_free(&p);
}

static void test_profile_missing_stage_refused(void **state)
{
    (void)state;
    refused(HEADER STAGE0, 2, "p.csv", "no forward rows for stage 1", NULL);
}

static void test_profile_missing_instruction_refused(void **state)
{
    (void)state;
    refused(HEADER "0,forward,1980,0.019,12.0\n0,forward,1500,0.024,9.0\n", 1, "p.csv",
            "no backward rows for stage 0", NULL);
}

static void test_profile_non_positive_time_refused(void **state)
{
    (void)state;
    refused(HEADER STAGE0 "0,forward,1200,0,7.0\n", 1, "p.csv line 6", "time 0", NULL);
    refused(HEADER STAGE0 "0,forward,1200,-0.03,7.0\n", 1, "p.csv line 6", "time -0.03",
            NULL);
}

static void test_profile_non_positive_energy_refused(void **state)
{
    (void)state;
    refused(HEADER "0,forward,1980,0.019,-12.0\n" STAGE0, 1, "p.csv line 2", "energy -12.0",
            NULL);
    refused(HEADER STAGE0 "0,backward,1200,0.07,0.0\n", 1, "line 6", "energy 0.0", NULL);
}

static void test_profile_nan_refused(void **state)
{
    (void)state;
    refused(HEADER STAGE0 "0,forward,1200,nan,7.0\n", 1, "p.csv line 6", "time nan", NULL);
    refused(HEADER STAGE0 "0,forward,1200,0.03,NaN\n", 1, "p.csv line 6", "energy NaN", NULL);
    refused(HEADER STAGE0 "0,forward,1200,0.03,inf\n", 1, "line 6", "energy inf", NULL);
}

static void test_profile_one_frequency_refused(void **state)
{
    /* Stage 1's backward has two rows, both at 1980 MHz: one frequency. */
    (void)state;
    refused(HEADER STAGE0 "1,forward,1980,0.019,12.0\n1,forward,1500,0.024,9.0\n"
                          "1,backward,1980,0.044,25.0\n1,backward,1980,0.045,25.5\n",
            2, "p.csv line 8", "stage 1 backward has one frequency only (1980 MHz)", NULL);
}

static void test_profile_malformed_fields_refused(void **state)
{
    (void)state;
    refused("stage,instruction,frequency,time\n", 1, "line 1", "no 'energy' column", NULL);
    refused(HEADER STAGE0 "0,sideways,1200,0.03,7.0\n", 1, "line 6",
            "instruction 'sideways' is neither forward nor backward", NULL);
    refused(HEADER STAGE0 "x,forward,1200,0.03,7.0\n", 1, "line 6", "stage 'x'", NULL);
    refused(HEADER STAGE0 "-1,forward,1200,0.03,7.0\n", 1, "line 6", "stage '-1'", NULL);
    refused(HEADER STAGE0 "0,forward,1200.5,0.03,7.0\n", 1, "line 6", "frequency '1200.5'",
            NULL);
    refused(HEADER STAGE0 "0,forward,1200,0.03x,7.0\n", 1, "line 6", "time '0.03x'", NULL);
    refused(HEADER STAGE0 "0,forward,1200\n", 1, "line 6", "3 fields", NULL);
    refused("", 1, "p.csv", "empty", NULL);
}

static void test_profile_read_missing_file_refused(void **state)
{
    perseus_profile p;
    perseus_error err;

    (void)state;
    assert_int_equal(perseus_profile_read("/nonexistent/p.csv", &p, &err), PERSEUS_ERR_INPUT);
    assert_non_null(strstr(err.msg, "/nonexistent/p.csv"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_profile_good_reads_like_pandas),
        cmocka_unit_test(test_profile_missing_stage_refused),
        cmocka_unit_test(test_profile_missing_instruction_refused),
        cmocka_unit_test(test_profile_non_positive_time_refused),
        cmocka_unit_test(test_profile_non_positive_energy_refused),
        cmocka_unit_test(test_profile_nan_refused),
        cmocka_unit_test(test_profile_one_frequency_refused),
        cmocka_unit_test(test_profile_malformed_fields_refused),
        cmocka_unit_test(test_profile_read_missing_file_refused),
    };
    return cmocka_run_group_tests_name("perseus_profile", tests, NULL, NULL);
}
