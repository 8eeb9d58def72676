/*
 * test_visible.c - CUDA_VISIBLE_DEVICES parsing (src/device/visible.c): indices, UUIDs and
 * their prefixes, MIG slices standing for their GPU, and a distinct status with a message
 * naming the entry for each bad list.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "device/visible.h"
#include "util/error.h"
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

/*
 * Without a MIG resolver (HIP_VISIBLE_DEVICES: AMD has no MIG) a MIG entry is still refused.
 * It used to be refused for NVIDIA too; NVIDIA now maps slices to their GPU (tests below).
 */
static void test_visible_mig_entry_without_resolver_is_not_supported(void **state)
{
    unsigned out[8], n;
    (void)state;

    assert_error_names(parse("MIG-GPU-5d1c0a11/1/0", out, &n), ZEUS_ERR_NOT_SUPPORTED,
                       "MIG-GPU-5d1c0a11/1/0");
    assert_non_null(strstr(zeus_last_error(), "MIG instance"));
    assert_error_names(parse("0,MIG-1234", out, &n), ZEUS_ERR_NOT_SUPPORTED, "MIG-1234");
}

/* ---- MIG slices stand for their GPU ------------------------------------------------------ */

/* A stand-in for NVML: "MIG-aaaa..." is on GPU 2, "MIG-bbbb..." on GPU 2 too, others none. */
static zeus_status stub_parent(const char *mig_uuid, void *user, unsigned *physical)
{
    (*(int *)user)++;
    if (strncmp(mig_uuid, "MIG-aaaa", 8) == 0 || strncmp(mig_uuid, "MIG-bbbb", 8) == 0) {
        *physical = 2;
        return ZEUS_OK;
    }
    return zeus__fail(ZEUS_ERR_NOT_FOUND, "entry \"%s\" matches no MIG device", mig_uuid);
}

static zeus_status parse_mig(const char *value, unsigned *out, unsigned *count,
                             struct zeus__visible_mig *mig, int *calls)
{
    *calls = 0;
    *mig = (struct zeus__visible_mig){stub_parent, calls, {0}};
    memset(mig->from_mig, 7, sizeof mig->from_mig); /* must come back cleared */
    *count = 8;
    return zeus__visible_parse_mig(VAR, value, uuids, 4, mig, out, count);
}

static void test_visible_mig_uuid_maps_to_its_gpu_and_is_marked(void **state)
{
    struct zeus__visible_mig mig;
    unsigned out[8], n;
    int calls;
    (void)state;

    assert_int_equal(parse_mig("1,MIG-aaaa0000-1111-4000-8000-000000000000", out, &n, &mig,
                               &calls),
                     ZEUS_OK);
    assert_int_equal(n, 2);
    assert_int_equal(out[0], 1);
    assert_int_equal(out[1], 2);
    assert_int_equal(mig.from_mig[0], 0);
    assert_int_equal(mig.from_mig[1], 1);
    assert_int_equal(mig.from_mig[2], 0);
    assert_int_equal(calls, 1);
}

/* "MIG-GPU-<gpu uuid>/<gi>/<ci>" (drivers before R470) names the parent itself. */
static void test_visible_legacy_mig_names_its_gpu(void **state)
{
    struct zeus__visible_mig mig;
    unsigned out[8], n;
    int calls;
    (void)state;

    assert_int_equal(parse_mig("MIG-GPU-9f00cc33/1/0", out, &n, &mig, &calls), ZEUS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(out[0], 2);
    assert_int_equal(mig.from_mig[0], 1);
    assert_int_equal(calls, 0); /* no vendor call needed */
    assert_error_names(parse_mig("MIG-GPU-12345678/1/0", out, &n, &mig, &calls),
                       ZEUS_ERR_NOT_FOUND, "MIG-GPU-12345678/1/0");
    assert_error_names(parse_mig("MIG-GPU-9f00cc33", out, &n, &mig, &calls),
                       ZEUS_ERR_INVALID_ARGUMENT, "MIG-GPU-9f00cc33");
}

static void test_visible_unknown_mig_uuid_is_not_found(void **state)
{
    struct zeus__visible_mig mig;
    unsigned out[8], n;
    int calls;
    (void)state;

    assert_error_names(parse_mig("0,MIG-cccc", out, &n, &mig, &calls), ZEUS_ERR_NOT_FOUND,
                       "MIG-cccc");
}

/* Both slices would read the same whole-GPU counter: its energy would count twice. */
static void test_visible_two_slices_of_one_gpu_are_refused(void **state)
{
    struct zeus__visible_mig mig;
    unsigned out[8], n;
    int calls;
    (void)state;

    assert_error_names(parse_mig("MIG-aaaa,MIG-bbbb", out, &n, &mig, &calls),
                       ZEUS_ERR_INVALID_ARGUMENT, "MIG-bbbb");
    assert_non_null(strstr(zeus_last_error(), "MIG slices of one GPU"));
    assert_error_names(parse_mig("MIG-aaaa,2", out, &n, &mig, &calls),
                       ZEUS_ERR_INVALID_ARGUMENT, "twice");
    assert_non_null(strstr(zeus_last_error(), "MIG slices"));
    assert_error_names(parse_mig("2,MIG-GPU-9f00cc33/2/0", out, &n, &mig, &calls),
                       ZEUS_ERR_INVALID_ARGUMENT, "twice");
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
        cmocka_unit_test(test_visible_mig_entry_without_resolver_is_not_supported),
        cmocka_unit_test(test_visible_mig_uuid_maps_to_its_gpu_and_is_marked),
        cmocka_unit_test(test_visible_legacy_mig_names_its_gpu),
        cmocka_unit_test(test_visible_unknown_mig_uuid_is_not_found),
        cmocka_unit_test(test_visible_two_slices_of_one_gpu_are_refused),
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
