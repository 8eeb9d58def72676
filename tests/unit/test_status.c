/*
 * test_status.c - Status codes: every code has a distinct, non-empty string and name, and
 * the thread-local detail behaves as documented.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "util/error.h"
#include "zeus/zeus.h"

static void test_status_every_code_has_unique_string_and_name(void **state)
{
    (void)state;
    for (int a = 0; a < ZEUS_STATUS_COUNT; a++) {
        const char *sa = zeus_status_string((zeus_status)-a);
        const char *na = zeus_status_name((zeus_status)-a);
        assert_true(strlen(sa) > 0);
        assert_string_not_equal(sa, "unrecognized status");
        assert_string_not_equal(na, "UNRECOGNIZED");
        for (int b = 0; b < a; b++) {
            assert_string_not_equal(sa, zeus_status_string((zeus_status)-b));
            assert_string_not_equal(na, zeus_status_name((zeus_status)-b));
        }
    }
    assert_string_equal(zeus_status_string((zeus_status)-ZEUS_STATUS_COUNT),
                        "unrecognized status");
    assert_string_equal(zeus_status_name(ZEUS_ERR_GPU_LOST), "ERR_GPU_LOST");
}

static void test_last_error_errno_puts_reason_before_fix(void **state)
{
    (void)state;
    zeus_status s = zeus__fail_errno(ZEUS_ERR_NO_PERMISSION, EACCES,
                                     "cannot read %s (run zeusd, or grant read access)", "/x");
    assert_int_equal(s, ZEUS_ERR_NO_PERMISSION);
    assert_string_equal(zeus_last_error(),
                        "cannot read /x: Permission denied (run zeusd, or grant read access)");
}

static void *fail_in_thread(void *arg)
{
    (void)arg;
    zeus__fail(ZEUS_ERR_IO, "thread detail");
    return strcmp(zeus_last_error(), "thread detail") == 0 ? (void *)1 : NULL;
}

static void test_last_error_is_per_thread(void **state)
{
    pthread_t t;
    void *ok;
    (void)state;

    zeus__fail(ZEUS_ERR_NOT_FOUND, "main detail");
    pthread_create(&t, NULL, fail_in_thread, NULL);
    pthread_join(t, &ok);
    assert_non_null(ok);
    assert_string_equal(zeus_last_error(), "main detail");
}

static void test_version_matches_header(void **state)
{
    (void)state;
    assert_int_equal(zeus_version_num(), ZEUS_VERSION_NUM);
    assert_string_equal(zeus_version(), ZEUS_VERSION);
    assert_true(ZEUS_AT_LEAST_VERSION(0, 1, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_every_code_has_unique_string_and_name),
        cmocka_unit_test(test_last_error_errno_puts_reason_before_fix),
        cmocka_unit_test(test_last_error_is_per_thread),
        cmocka_unit_test(test_version_matches_header),
    };
    return cmocka_run_group_tests_name("status", tests, NULL, NULL);
}
