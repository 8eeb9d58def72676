/*
 * test_visible.c - CUDA_VISIBLE_DEVICES parsing (src/device/visible.c): indices, UUIDs and
 * their prefixes, and a distinct status with a message naming the entry for each bad list.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "device/visible.h"
#include "zeus/status.h"

#define VAR "CUDA_VISIBLE_DEVICES"

static const char *const uuids[] = {
    "GPU-5d1c0a11-aaaa-4000-8000-000000000000",
    "GPU-5d1c0b22-bbbb-4000-8000-000000000001",
    "GPU-9f00cc33-cccc-4000-8000-000000000002",
    NULL, /* a GPU whose UUID could not be read */
};

/* Parse `value` against the four GPUs above; out gets up to 8 indices. */
static zeus_status parse(const char *value, unsigned *out, unsigned *count)
{
    *count = 8;
    return zeus__visible_parse(VAR, value, uuids, 4, out, count);
}

static void assert_error_names(zeus_status got, zeus_status want, const char *needle)
{
    assert_int_equal(got, want);
    if (strstr(zeus_last_error(), needle) == NULL)
        fail_msg("detail \"%s\" does not name \"%s\"", zeus_last_error(), needle);
}

/* ---- Accepted lists ---------------------------------------------------------------------- */

static void test_visible_unset_lists_every_gpu(void **state)
{
    unsigned out[8], n;
    (void)state;

    assert_int_equal(parse(NULL, out, &n), ZEUS_OK);
    assert_int_equal(n, 4);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(out[i], i);
}

static void test_visible_unset_with_little_room_fills_room(void **state)
{
    unsigned out[2], n = 2;
    (void)state;

    assert_int_equal(zeus__visible_parse(VAR, NULL, uuids, 4, out, &n), ZEUS_OK);
    assert_int_equal(n, 2);
}

static void test_visible_indices_keep_their_order(void **state)
{
    unsigned out[8], n;
    (void)state;

    assert_int_equal(parse("2,0", out, &n), ZEUS_OK);
    assert_int_equal(n, 2);
    assert_int_equal(out[0], 2);
    assert_int_equal(out[1], 0);
}

static void test_visible_spaces_around_entries_are_ignored(void **state)
{
    unsigned out[8], n;
    (void)state;

    assert_int_equal(parse("  1 ,\t3 ", out, &n), ZEUS_OK);
    assert_int_equal(n, 2);
    assert_int_equal(out[0], 1);
    assert_int_equal(out[1], 3);
}

static void test_visible_full_uuid_selects_gpu(void **state)
{
    unsigned out[8], n;
    (void)state;

    assert_int_equal(parse("GPU-9f00cc33-cccc-4000-8000-000000000002,0", out, &n), ZEUS_OK);
    assert_int_equal(n, 2);
    assert_int_equal(out[0], 2);
    assert_int_equal(out[1], 0);
}

static void test_visible_unique_uuid_prefix_selects_gpu(void **state)
{
    unsigned out[8], n;
    (void)state;

    assert_int_equal(parse("GPU-5d1c0b", out, &n), ZEUS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(out[0], 1);
    assert_int_equal(parse("gpu-9F", out, &n), ZEUS_OK); /* case does not matter */
    assert_int_equal(out[0], 2);
}

/* ---- Refused lists ----------------------------------------------------------------------- */

static void test_visible_empty_value_is_not_found(void **state)
{
    unsigned out[8], n;
    (void)state;

    assert_error_names(parse("", out, &n), ZEUS_ERR_NOT_FOUND, "set but empty");
    assert_error_names(parse("  ", out, &n), ZEUS_ERR_NOT_FOUND, VAR);
}

static void test_visible_mig_entry_is_not_supported(void **state)
{
    unsigned out[8], n;
    (void)state;

    assert_error_names(parse("MIG-GPU-5d1c0a11/1/0", out, &n), ZEUS_ERR_NOT_SUPPORTED,
                       "MIG-GPU-5d1c0a11/1/0");
    assert_non_null(strstr(zeus_last_error(), "NVML cannot measure"));
    assert_error_names(parse("0,MIG-1234", out, &n), ZEUS_ERR_NOT_SUPPORTED, "MIG-1234");
}

static void test_visible_word_entry_is_invalid(void **state)
{
    unsigned out[8], n;
    (void)state;

    assert_error_names(parse("0,abc", out, &n), ZEUS_ERR_INVALID_ARGUMENT, "\"abc\"");
    assert_error_names(parse("1x", out, &n), ZEUS_ERR_INVALID_ARGUMENT, "\"1x\"");
    assert_error_names(parse("0 1", out, &n), ZEUS_ERR_INVALID_ARGUMENT, "\"0 1\"");
}

static void test_visible_negative_entry_is_invalid(void **state)
{
    unsigned out[8], n;
    (void)state;

    assert_error_names(parse("0,-1", out, &n), ZEUS_ERR_INVALID_ARGUMENT, "\"-1\"");
}

static void test_visible_empty_entry_is_invalid(void **state)
{
    unsigned out[8], n;
    (void)state;

    assert_error_names(parse("0,,1", out, &n), ZEUS_ERR_INVALID_ARGUMENT, "empty entry");
    assert_error_names(parse("0,", out, &n), ZEUS_ERR_INVALID_ARGUMENT, "empty entry");
}

static void test_visible_index_past_last_gpu_is_not_found(void **state)
{
    unsigned out[8], n;
    (void)state;

    assert_error_names(parse("0,4", out, &n), ZEUS_ERR_NOT_FOUND, "\"4\"");
    assert_non_null(strstr(zeus_last_error(), "0-3"));
    assert_error_names(parse("99999999999999999999", out, &n), ZEUS_ERR_NOT_FOUND, "out of range");
}

static void test_visible_duplicate_gpu_is_invalid(void **state)
{
    unsigned out[8], n;
    (void)state;

    assert_error_names(parse("1,0,1", out, &n), ZEUS_ERR_INVALID_ARGUMENT, "twice");
    /* The same GPU by index and by UUID is a duplicate too. */
    assert_error_names(parse("2,GPU-9f", out, &n), ZEUS_ERR_INVALID_ARGUMENT, "GPU-9f");
}

static void test_visible_unknown_uuid_is_not_found(void **state)
{
    unsigned out[8], n;
    (void)state;

    assert_error_names(parse("GPU-0000", out, &n), ZEUS_ERR_NOT_FOUND, "GPU-0000");
    assert_error_names(parse("GPU-", out, &n), ZEUS_ERR_INVALID_ARGUMENT, "no UUID");
}

static void test_visible_ambiguous_uuid_prefix_is_invalid(void **state)
{
    unsigned out[8], n;
    (void)state;

    assert_error_names(parse("GPU-5d1c", out, &n), ZEUS_ERR_INVALID_ARGUMENT, "GPUs 0 and 1");
}

static void test_visible_uuid_without_known_uuids_is_not_found(void **state)
{
    unsigned out[8], n = 8;
    (void)state;

    assert_int_equal(zeus__visible_parse(VAR, "GPU-5d1c0a", NULL, 4, out, &n),
                     ZEUS_ERR_NOT_FOUND);
}

static void test_visible_more_entries_than_room_is_invalid(void **state)
{
    unsigned out[2], n = 2;
    (void)state;

    assert_int_equal(zeus__visible_parse(VAR, "0,1,2", uuids, 4, out, &n),
                     ZEUS_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(zeus_last_error(), "more than 2"));
}

static void test_visible_variable_name_appears_in_messages(void **state)
{
    unsigned out[8], n = 8;
    (void)state;

    assert_int_equal(zeus__visible_parse("HIP_VISIBLE_DEVICES", "7", uuids, 4, out, &n),
                     ZEUS_ERR_NOT_FOUND);
    assert_non_null(strstr(zeus_last_error(), "HIP_VISIBLE_DEVICES"));
}

static void test_visible_from_env_reads_the_variable(void **state)
{
    unsigned out[8], n = 8;
    (void)state;

    setenv("ZEUS_TEST_VISIBLE", "3,1", 1);
    assert_int_equal(zeus__visible_from_env("ZEUS_TEST_VISIBLE", uuids, 4, out, &n), ZEUS_OK);
    unsetenv("ZEUS_TEST_VISIBLE");
    assert_int_equal(n, 2);
    assert_int_equal(out[0], 3);
    n = 8;
    assert_int_equal(zeus__visible_from_env("ZEUS_TEST_VISIBLE", uuids, 4, out, &n), ZEUS_OK);
    assert_int_equal(n, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_visible_unset_lists_every_gpu),
        cmocka_unit_test(test_visible_unset_with_little_room_fills_room),
        cmocka_unit_test(test_visible_indices_keep_their_order),
        cmocka_unit_test(test_visible_spaces_around_entries_are_ignored),
        cmocka_unit_test(test_visible_full_uuid_selects_gpu),
        cmocka_unit_test(test_visible_unique_uuid_prefix_selects_gpu),
        cmocka_unit_test(test_visible_empty_value_is_not_found),
        cmocka_unit_test(test_visible_mig_entry_is_not_supported),
        cmocka_unit_test(test_visible_word_entry_is_invalid),
        cmocka_unit_test(test_visible_negative_entry_is_invalid),
        cmocka_unit_test(test_visible_empty_entry_is_invalid),
        cmocka_unit_test(test_visible_index_past_last_gpu_is_not_found),
        cmocka_unit_test(test_visible_duplicate_gpu_is_invalid),
        cmocka_unit_test(test_visible_unknown_uuid_is_not_found),
        cmocka_unit_test(test_visible_ambiguous_uuid_prefix_is_invalid),
        cmocka_unit_test(test_visible_uuid_without_known_uuids_is_not_found),
        cmocka_unit_test(test_visible_more_entries_than_room_is_invalid),
        cmocka_unit_test(test_visible_variable_name_appears_in_messages),
        cmocka_unit_test(test_visible_from_env_reads_the_variable),
    };
    return cmocka_run_group_tests_name("visible", tests, NULL, NULL);
}
