/*
 * test_cli_perseus.c - `zeus perseus plan` as a user runs it: on the shared s2-m4 profile it
 * writes lowtime's 206 plans (the first, middle and last compared line by line with lowtime's
 * files, their comments within 1e-6 relative) and a summary.csv with lowtime's iterations and
 * quantized times; with --fit first it still plans; it refuses a non-empty output folder, a
 * profile without a stage it needs (naming the file), and bad options (exit 2, nothing
 * written); and it draws a progress bar on a terminal (a pseudo-terminal here), and none
 * when stderr is not one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_support.h"
#include "test_support.h"

struct fixture {
    char *dir;
    char profile[1024];
    char ref[1024];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    const char *data = getenv("ZEUS_TEST_DATA");

    assert_non_null(f);
    assert_non_null(data);
    f->dir = zt_mkdtemp();
    snprintf(f->profile, sizeof f->profile, "%s/perseus/profile-s2-m4.csv", data);
    snprintf(f->ref, sizeof f->ref, "%s/perseus/lowtime-s2-m4", data);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    zt_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static char *path_in(const char *dir, const char *name)
{
    char *p = malloc(strlen(dir) + strlen(name) + 2);

    assert_non_null(p);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

static int count_lines(const char *text)
{
    int n = 0;

    for (; *text; text++)
        n += *text == '\n';
    return n;
}

/* Same list lines as lowtime's file; the three comment numbers within 1e-6 relative. */
static void compare_plan_file(const char *ours_dir, const char *ref_dir, int iteration)
{
    char name[64], *po, *pr, *ours, *ref, *co, *cr;

    snprintf(name, sizeof name, "freqs_pipeline_%05d.py", iteration);
    po = path_in(ours_dir, name);
    pr = path_in(ref_dir, name);
    ours = zt_read_file(po);
    ref = zt_read_file(pr);
    assert_non_null(ours);
    assert_non_null(ref);
    co = strstr(ours, "# Iteration");
    cr = strstr(ref, "# Iteration");
    assert_non_null(co);
    assert_non_null(cr);
    assert_int_equal(co - ours, cr - ref);
    assert_memory_equal(ours, ref, (size_t)(co - ours));
    for (int k = 0; k < 3; k++) {
        double a, b;
        co = strchr(co, ':') + 1;
        cr = strchr(cr, ':') + 1;
        a = strtod(co, &co);
        b = strtod(cr, &cr);
        assert_true(fabs(a - b) <= 1e-6 * fabs(b));
    }
    free(po);
    free(pr);
    free(ours);
    free(ref);
}

static void test_plan_s2_m4_writes_lowtimes_plans(void **state)
{
    struct fixture *f = *state;
    struct zt_cli c;
    char *out = path_in(f->dir, "plans/s2m4"), *sum_path, *summary, *ref_path, *ref_summary;
    char *p, *q;

    zt_cli_run(&c, "perseus", "plan", "--profile", f->profile, "--stages", "2",
               "--micro-batches", "4", "--output-dir", out, NULL);
    assert_int_equal(c.status, 0);
    assert_non_null(strstr(c.out, "206 plans"));
    assert_null(strchr(c.err, '\r')); /* no progress bar off a terminal */
    zt_cli_free(&c);

    compare_plan_file(out, f->ref, 0);
    compare_plan_file(out, f->ref, 102);
    compare_plan_file(out, f->ref, 205);

    sum_path = path_in(out, "summary.csv");
    ref_path = path_in(f->ref, "summary.csv");
    summary = zt_read_file(sum_path);
    ref_summary = zt_read_file(ref_path);
    assert_non_null(summary);
    assert_non_null(ref_summary);
    assert_int_equal(count_lines(summary), 207);
    assert_int_equal(strncmp(summary, "iteration,cost_change,cost,quant_time,real_time\n", 48), 0);
    /* each row: the same iteration and quantized time as lowtime's */
    p = strchr(summary, '\n') + 1;
    q = strchr(ref_summary, '\n') + 1;
    for (int row = 0; row < 206; row++) {
        int ia, ib;
        long ta, tb;
        double ca, cb, xa, xb;
        assert_int_equal(sscanf(p, "%d,%lf,%lf,%ld", &ia, &xa, &ca, &ta), 4);
        assert_int_equal(sscanf(q, "%d,%lf,%lf,%ld", &ib, &xb, &cb, &tb), 4);
        assert_int_equal(ia, ib);
        assert_int_equal(ta, tb);
        assert_true(fabs(ca - cb) <= 1e-6 * fabs(cb));
        p = strchr(p, '\n') + 1;
        q = strchr(q, '\n') + 1;
    }
    free(sum_path);
    free(ref_path);
    free(summary);
    free(ref_summary);

    /* the same folder again: refused, nothing overwritten */
    zt_cli_run(&c, "perseus", "plan", "--profile", f->profile, "--stages", "2",
               "--micro-batches", "4", "--output-dir", out, NULL);
    assert_int_equal(c.status, 1);
    assert_non_null(strstr(c.err, "not empty"));
    zt_cli_free(&c);
    free(out);
}

static void test_plan_fit_first_plans_too(void **state)
{
    struct fixture *f = *state;
    struct zt_cli c;
    char *out = path_in(f->dir, "first");
    char *first, *text;

    zt_cli_run(&c, "perseus", "plan", "--profile", f->profile, "--stages", "2",
               "--micro-batches", "4", "--output-dir", out, "--fit", "first",
               "--p2p-power=70", "--unit-time", "0.001", "--noise-factor", "0.95", NULL);
    assert_int_equal(c.status, 0);
    zt_cli_free(&c);
    first = path_in(out, "freqs_pipeline_00000.py");
    text = zt_read_file(first);
    assert_non_null(text);
    assert_non_null(strstr(text, "[('forward', 1110)"));
    free(text);
    free(first);
    free(out);
}

static void test_plan_refuses_missing_stage_naming_file(void **state)
{
    struct fixture *f = *state;
    struct zt_cli c;
    char *out = path_in(f->dir, "three");
    struct stat st;

    zt_cli_run(&c, "perseus", "plan", "--profile", f->profile, "--stages", "3",
               "--micro-batches", "4", "--output-dir", out, NULL);
    assert_int_equal(c.status, 1);
    assert_non_null(strstr(c.err, "profile-s2-m4.csv: no forward rows for stage 2"));
    assert_string_equal(c.out, "");
    assert_int_not_equal(stat(out, &st), 0); /* nothing made */
    zt_cli_free(&c);
    free(out);
}

static void test_plan_bad_options_exit_2(void **state)
{
    struct fixture *f = *state;
    struct zt_cli c;
    char *out = path_in(f->dir, "bad");
    static const char *const bad[][2] = {
        {"--stages", "0"},         {"--micro-batches", "x"}, {"--unit-time", "0"},
        {"--noise-factor", "1.5"}, {"--p2p-power", "-1"},    {"--fit", "worst"},
    };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *stages = strcmp(bad[i][0], "--stages") == 0 ? bad[i][1] : "2";
        const char *mbs = strcmp(bad[i][0], "--micro-batches") == 0 ? bad[i][1] : "4";
        zt_cli_run(&c, "perseus", "plan", "--profile", f->profile, "--stages", stages,
                   "--micro-batches", mbs, "--output-dir", out, bad[i][0], bad[i][1], NULL);
        assert_int_equal(c.status, 2);
        assert_non_null(strstr(c.err, bad[i][0]));
        zt_cli_free(&c);
    }
    zt_cli_run(&c, "perseus", "plan", "--stages", "2", NULL);
    assert_int_equal(c.status, 2);
    assert_non_null(strstr(c.err, "required"));
    zt_cli_free(&c);
    zt_cli_run(&c, "perseus", "plan", "--help", NULL);
    assert_int_equal(c.status, 0);
    assert_non_null(strstr(c.out, "--micro-batches"));
    zt_cli_free(&c);
    zt_cli_run(&c, "perseus", "replan", NULL);
    assert_int_equal(c.status, 2);
    zt_cli_free(&c);
    free(out);
}

static void test_plan_progress_bar_on_terminal(void **state)
{
    struct fixture *f = *state;
    const char *cli = getenv("ZEUS_CLI");
    char *out = path_in(f->dir, "tty"), buf[65536];
    size_t len = 0;
    int master, status;
    pid_t pid;

    assert_non_null(cli);
    pid = forkpty(&master, NULL, NULL, NULL);
    assert_true(pid >= 0);
    if (pid == 0) {
        execl(cli, cli, "perseus", "plan", "--profile", f->profile, "--stages", "2",
              "--micro-batches", "4", "--output-dir", out, (char *)NULL);
        _exit(127);
    }
    for (;;) { /* read until the child closes the terminal (EIO), 60 s at most */
        struct pollfd p = {master, POLLIN, 0};
        ssize_t got;
        assert_true(poll(&p, 1, 60000) > 0);
        got = read(master, buf + len, sizeof buf - 1 - len);
        if (got <= 0)
            break;
        len += (size_t)got;
        assert_true(len < sizeof buf - 1);
    }
    buf[len] = '\0';
    close(master);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_non_null(strstr(buf, "\r["));
    assert_non_null(strstr(buf, "100%  iteration 206/206"));
    assert_non_null(strstr(buf, "206 plans"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_plan_s2_m4_writes_lowtimes_plans, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plan_fit_first_plans_too, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plan_refuses_missing_stage_naming_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_plan_bad_options_exit_2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plan_progress_bar_on_terminal, setup, teardown),
    };
    return cmocka_run_group_tests_name("cli_perseus", tests, NULL, NULL);
}
