/*
 * test_cli_main.c - The `zeus` command's front door: --help and --version exit 0, every
 * subcommand answers --help with its manual, and unknown commands or options exit 2 with a
 * message on stderr.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cli_support.h"
#include "test_support.h"

/* ---- Fixtures ----------------------------------------------------------------------------- */

static int setup(void **state)
{
    struct zt_cli *c = calloc(1, sizeof *c);

    if (c == NULL)
        return -1;
    unsetenv("ZEUS_FAKE_NVML");
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    zt_cli_free(*state);
    free(*state);
    return 0;
}

/* Run `zeus args...` expecting exit 0 and a manual page on stdout. */
static void assert_manual(struct zt_cli *c, const char *a, const char *b, const char *c3)
{
    zt_cli_free(c);
    zt_cli_run(c, a, b, c3, NULL);
    if (c->status != 0 || strstr(c->out, "SYNOPSIS") == NULL)
        fail_msg("zeus %s %s: exit %d, stdout '%s'", a, b != NULL ? b : "", c->status, c->out);
}

/* ---- Help and version --------------------------------------------------------------------- */

static void test_main_help_exits_0_listing_commands(void **state)
{
    struct zt_cli *c = *state;

    zt_cli_run(c, "--help", NULL);
    assert_int_equal(c->status, 0);
    assert_non_null(strstr(c->out, "show-env"));
    assert_non_null(strstr(c->out, "run"));
    assert_non_null(strstr(c->out, "monitor"));
    assert_non_null(strstr(c->out, "bench"));
}

static void test_main_every_subcommand_has_help(void **state)
{
    struct zt_cli *c = *state;

    assert_manual(c, "show-env", "--help", NULL);
    assert_manual(c, "run", "--help", NULL);
    assert_manual(c, "run", "-h", NULL);
    assert_manual(c, "monitor", "--help", NULL);
    assert_manual(c, "monitor", "power", "--help");
    assert_manual(c, "bench", "--help", NULL);
    assert_manual(c, "bench", "windows", "--help");
    assert_manual(c, "help", "run", NULL);
}

static void test_main_version_prints_version(void **state)
{
    struct zt_cli *c = *state;

    zt_cli_run(c, "--version", NULL);
    assert_int_equal(c->status, 0);
    assert_true(strncmp(c->out, "zeus ", 5) == 0);
}

/* ---- Usage errors ------------------------------------------------------------------------- */

static void test_main_unknown_command_exits_2(void **state)
{
    struct zt_cli *c = *state;

    zt_cli_run(c, "frobnicate", NULL);
    assert_int_equal(c->status, 2);
    assert_non_null(strstr(c->err, "frobnicate"));
    assert_string_equal(c->out, "");
}

static void test_main_unknown_option_exits_2(void **state)
{
    struct zt_cli *c = *state;

    zt_cli_run(c, "--frobnicate", NULL);
    assert_int_equal(c->status, 2);
    assert_non_null(strstr(c->err, "--frobnicate"));
}

static void test_main_no_command_exits_2(void **state)
{
    struct zt_cli *c = *state;

    zt_cli_run(c, (const char *)NULL, NULL);
    assert_int_equal(c->status, 2);
    assert_non_null(strstr(c->err, "SYNOPSIS"));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_main_help_exits_0_listing_commands),
        T(test_main_every_subcommand_has_help),
        T(test_main_version_prints_version),
        T(test_main_unknown_command_exits_2),
        T(test_main_unknown_option_exits_2),
        T(test_main_no_command_exits_2),
    };
#undef T
    return cmocka_run_group_tests_name("cli_main", tests, NULL, NULL);
}
