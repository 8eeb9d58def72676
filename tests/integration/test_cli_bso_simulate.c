/*
 * test_cli_bso_simulate.c - `zeus bso simulate` over the NSDI'23 traces: on the four workloads
 * recorded from Zeus's own legacy simulator (tests/data/bso-sim/reference.json, made by
 * gen_reference.py there) every run has Zeus's batch size, power limit, outcome, and energy
 * and time to the last bit, and the bandit's logged posteriors are Zeus's; the same seed gives
 * the same output byte for byte; other seeds give other sequences and the spread of savings
 * bench/README.md reports; options and traces that are wrong exit 2 with a message that
 * names them and nothing on stdout.
 *
 * The traces are tests/data/zeus-nsdi23-trace (a copy of shared/data's, found from
 * $ZEUS_TEST_DATA); without them the test fails, it does not skip. About 40 runs of the
 * binary, each well under a second.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_support.h"
#include "test_support.h"

#define SEEDS 5 /* bench/bso_table.sh's spread: seeds 1 to 5 */

static char trace_dir[4096];

/* ---- Helpers ------------------------------------------------------------------------------ */

static const char *data_dir(void)
{
    const char *d = getenv("ZEUS_TEST_DATA");

    if (d == NULL || *d == '\0')
        fail_msg("ZEUS_TEST_DATA is not set (ctest sets it to tests/data)");
    return d;
}

static int setup_traces(void **state)
{
    char probe[4200];

    (void)state;
    unsetenv("ZEUS_BSO_TRACE_DIR");
    snprintf(trace_dir, sizeof trace_dir, "%s/zeus-nsdi23-trace", data_dir());
    snprintf(probe, sizeof probe, "%s/summary_train.csv", trace_dir);
    if (access(probe, R_OK) != 0) {
        fprintf(stderr, "test_cli_bso_simulate: the NSDI'23 traces are not at %s (tests/data "
                "holds a copy)\n", trace_dir);
        return -1; /* cmocka fails the group */
    }
    return 0;
}

static cJSON *parse_array(const struct zt_cli *c, const char *what)
{
    cJSON *j;

    if (c->status != 0)
        fail_msg("%s: exit %d, stderr '%s'", what, c->status, c->err);
    j = cJSON_Parse(c->out);
    if (j == NULL || !cJSON_IsArray(j) || cJSON_GetArraySize(j) < 1)
        fail_msg("%s: stdout is not a JSON array: '%.200s'", what, c->out);
    return j;
}

static const cJSON *item(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (v == NULL)
        fail_msg("the JSON has no '%s'", key);
    return v;
}

static double num(const cJSON *obj, const char *key)
{
    const cJSON *v = item(obj, key);

    if (!cJSON_IsNumber(v))
        fail_msg("'%s' is not a number", key);
    return v->valuedouble;
}

/* v100 librispeech/deepspeech2 with run_single.py's b0 192, as one JSON workload. */
static cJSON *run_librispeech(struct zt_cli *c, const char *seed)
{
    zt_cli_run(c, "bso", "simulate", "--trace-dir", trace_dir, "--gpu", "v100", "--dataset",
               "librispeech", "--default-batch-size", "192", "--seed", seed, "--json", NULL);
    return parse_array(c, seed);
}

/* "Arm 12: mu ~ N(...)" with the legacy optimizer's padding ("Arm   12") taken out. */
static void normalize_arm(const char *in, char *out, size_t len)
{
    const char *arm = strstr(in, "Arm ");
    size_t n = 0;

    if (arm == NULL)
        fail_msg("not an arm line: '%s'", in);
    n = (size_t)snprintf(out, len, "Arm ");
    arm += 4;
    while (*arm == ' ')
        arm++;
    snprintf(out + n, len - n, "%.*s", (int)strcspn(arm, "\n"), arm);
}

/* ---- Zeus's recorded output ---------------------------------------------------------------- */

static void check_runs(const cJSON *ours, const cJSON *ref, const char *name)
{
    const cJSON *runs = item(ours, "runs"), *ref_runs = item(ref, "runs"), *r;
    int i = 0;

    assert_int_equal(cJSON_GetArraySize(runs), cJSON_GetArraySize(ref_runs));
    cJSON_ArrayForEach(r, ref_runs) {
        const cJSON *o = cJSON_GetArrayItem(runs, i++);
        if (num(o, "batch_size") != num(r, "bs") || num(o, "power_limit") != num(r, "pl") ||
            cJSON_IsTrue(item(o, "reached")) != cJSON_IsTrue(item(r, "reached")))
            fail_msg("%s run %d: batch size %g at %g W reached %d, Zeus %g at %g W reached %d",
                     name, i, num(o, "batch_size"), num(o, "power_limit"),
                     cJSON_IsTrue(item(o, "reached")), num(r, "bs"), num(r, "pl"),
                     cJSON_IsTrue(item(r, "reached")));
        /* Exact: the same trace arithmetic in the same order as Zeus's pandas code. */
        if (num(o, "energy") != num(r, "energy") || num(o, "time") != num(r, "time"))
            fail_msg("%s run %d: %.17g J %.17g s, Zeus %.17g J %.17g s", name, i,
                     num(o, "energy"), num(o, "time"), num(r, "energy"), num(r, "time"));
    }
    assert_true(num(item(ours, "zeus"), "energy") == num(ref, "total_energy"));
    assert_true(num(item(ours, "zeus"), "time") == num(ref, "total_time"));
}

/*
 * The bandit's posteriors, as Zeus's test_simulator.py compares them. Not for cifar100: there
 * Zeus's server algorithm (ours) prunes batch size 1024 where the legacy optimizer keeps it
 * (bench/README.md explains why), so the runs agree but the arms do not.
 */
static void check_arms(const char *log, const cJSON *ref, const char *name)
{
    const cJSON *line;
    const char *p = log;
    int i = 0;

    cJSON_ArrayForEach(line, item(ref, "arm_log")) {
        char ours[256], zeus[256];
        p = strstr(p, "mu ~ N(");
        if (p == NULL)
            fail_msg("%s: only %d arm lines logged", name, i);
        while (p > log && p[-1] != '\n')
            p--;
        normalize_arm(p, ours, sizeof ours);
        normalize_arm(line->valuestring, zeus, sizeof zeus);
        if (strcmp(ours, zeus) != 0)
            fail_msg("%s arm line %d: '%s', Zeus '%s'", name, i, ours, zeus);
        p = strchr(p, '\n');
        i++;
    }
    assert_true(i >= 20);
}

static void test_matches_zeus_reference(void **state)
{
    char path[4200], *text;
    cJSON *ref, *c;

    (void)state;
    snprintf(path, sizeof path, "%s/bso-sim/reference.json", data_dir());
    text = zt_read_file(path);
    assert_non_null(text);
    ref = cJSON_Parse(text);
    free(text);
    assert_true(cJSON_IsArray(ref) && cJSON_GetArraySize(ref) == 4);
    cJSON_ArrayForEach(c, ref) {
        const cJSON *cf = item(c, "config");
        char tm[32], me[32], b0[32], eta[32], beta[32], seed[32], name[128];
        struct zt_cli cli = {0};
        cJSON *ours;

        snprintf(tm, sizeof tm, "%.17g", num(cf, "target_metric"));
        snprintf(me, sizeof me, "%d", (int)num(cf, "max_epochs"));
        snprintf(b0, sizeof b0, "%d", (int)num(cf, "b0"));
        snprintf(eta, sizeof eta, "%.17g", num(cf, "eta"));
        if (cJSON_IsNull(item(cf, "beta"))) /* early stopping off */
            snprintf(beta, sizeof beta, "inf");
        else
            snprintf(beta, sizeof beta, "%.17g", num(cf, "beta"));
        snprintf(seed, sizeof seed, "%d", (int)num(cf, "seed"));
        snprintf(name, sizeof name, "%s %s seed %s", item(cf, "gpu")->valuestring,
                 item(cf, "dataset")->valuestring, seed);
        zt_cli_run(&cli, "bso", "simulate", "--trace-dir", trace_dir, "--gpu",
                   item(cf, "gpu")->valuestring, "--dataset", item(cf, "dataset")->valuestring,
                   "--network", item(cf, "network")->valuestring, "--optimizer",
                   item(cf, "optimizer")->valuestring, "--target-metric", tm, "--max-epochs", me,
                   "--default-batch-size", b0, "--eta", eta, "--beta", beta, "--seed", seed,
                   "--json", "--verbose", NULL);
        ours = parse_array(&cli, name);
        const cJSON *w = cJSON_GetArrayItem(ours, 0);
        /* Zeus's 2 x |B| x |P| recurrences. */
        assert_int_equal((int)num(w, "recurrences"), (int)num(c, "recurrences"));
        check_runs(w, c, name);
        if (strcmp(item(cf, "dataset")->valuestring, "cifar100") != 0)
            check_arms(cli.err, c, name);
        cJSON_Delete(ours);
        zt_cli_free(&cli);
    }
    cJSON_Delete(ref);
}

/* ---- Seeds ------------------------------------------------------------------------------- */

static void test_same_seed_same_output(void **state)
{
    struct zt_cli a = {0}, b = {0};

    (void)state;
    zt_cli_run(&a, "bso", "simulate", "--trace-dir", trace_dir, "--gpu", "all", "--seed", "42",
               "--json", NULL);
    zt_cli_run(&b, "bso", "simulate", "--trace-dir", trace_dir, "--gpu", "all", "--seed", "42",
               "--json", NULL);
    assert_int_equal(a.status, 0);
    assert_int_equal(b.status, 0);
    assert_true(strlen(a.out) > 1000);
    assert_string_equal(a.out, b.out);
    zt_cli_free(&a);
    zt_cli_free(&b);
    /* The table: one header and 6 workloads x 4 GPUs. */
    zt_cli_run(&a, "bso", "simulate", "--trace-dir", trace_dir, "--gpu", "all", "--seed", "42",
               NULL);
    zt_cli_run(&b, "bso", "simulate", "--trace-dir", trace_dir, "--gpu", "all", "--seed", "42",
               NULL);
    assert_int_equal(a.status, 0);
    assert_string_equal(a.out, b.out);
    int lines = 0;
    for (const char *p = a.out; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 1 + 24);
    zt_cli_free(&a);
    zt_cli_free(&b);
}

/* The "| v100 | librispeech/deepspeech2 |" row of bench/README.md: seed 1's energy saving and
 * the min and max over seeds 1 to 5. */
static void readme_row(double *seed1, double *lo, double *hi)
{
    char path[4200], *text, *row;
    const char *key = "| v100 | librispeech/deepspeech2 |";

    snprintf(path, sizeof path, "%s/../../bench/README.md", data_dir());
    text = zt_read_file(path);
    assert_non_null(text);
    row = strstr(text, key);
    if (row == NULL)
        fail_msg("bench/README.md has no row '%s'", key);
    /* | gpu | workload | b0 | recurrences | zeus MJ | base MJ | saved | lo to hi |: the
     * sixth bar opens the saving. */
    char *cell = row;
    for (int i = 0; i < 6; i++)
        cell = strchr(cell + 1, '|');
    if (cell == NULL || sscanf(cell, "| %lf | %lf to %lf |", seed1, lo, hi) != 3)
        fail_msg("cannot read the energy savings of '%s' in bench/README.md", key);
    free(text);
}

static void test_seeds_spread_as_readme_reports(void **state)
{
    char seqs[SEEDS][2048];
    double saving[SEEDS], lo = INFINITY, hi = -INFINITY, r1, rlo, rhi;
    int distinct = 1;

    (void)state;
    for (int s = 0; s < SEEDS; s++) {
        struct zt_cli c = {0};
        char seed[8];
        const cJSON *r;
        size_t n = 0;

        snprintf(seed, sizeof seed, "%d", s + 1);
        cJSON *j = run_librispeech(&c, seed);
        const cJSON *w = cJSON_GetArrayItem(j, 0);
        saving[s] = num(w, "energy_saving_percent");
        /* What the saving is made of: Zeus's total against the baseline's. */
        assert_near(saving[s],
                    100 * (1 - num(item(w, "zeus"), "energy") / num(item(w, "baseline"), "energy")),
                    1e-9);
        assert_true(num(item(w, "baseline"), "batch_size") == 192);
        seqs[s][0] = '\0';
        cJSON_ArrayForEach(r, item(w, "runs"))
            n += (size_t)snprintf(seqs[s] + n, n < sizeof seqs[s] ? sizeof seqs[s] - n : 0,
                                  "%d,", (int)num(r, "batch_size"));
        lo = fmin(lo, saving[s]);
        hi = fmax(hi, saving[s]);
        cJSON_Delete(j);
        zt_cli_free(&c);
    }
    for (int s = 1; s < SEEDS; s++)
        distinct += strcmp(seqs[s], seqs[0]) != 0;
    assert_true(distinct > 1);
    assert_true(hi > lo);
    readme_row(&r1, &rlo, &rhi);
    /* The README rounds to 0.1. */
    assert_near(r1, saving[0], 0.051);
    assert_near(rlo, lo, 0.051);
    assert_near(rhi, hi, 0.051);
}

/* ---- Options ----------------------------------------------------------------------------- */

static void test_options_take_effect(void **state)
{
    struct zt_cli c = {0}, d = {0};
    cJSON *j;
    const cJSON *w, *r;
    int last = 0;

    (void)state;
    zt_cli_run(&c, "bso", "simulate", "--trace-dir", trace_dir, "--dataset", "cifar100",
               "--recurrences", "7", "--beta", "inf", "--eta", "1", "--json", NULL);
    j = parse_array(&c, "--recurrences 7 --beta inf");
    w = cJSON_GetArrayItem(j, 0);
    assert_int_equal((int)num(w, "recurrences"), 7);
    assert_true(cJSON_IsNull(item(w, "beta")));
    assert_true(num(w, "eta") == 1);
    assert_string_equal(item(w, "gpu")->valuestring, "v100");
    cJSON_ArrayForEach(r, item(w, "runs"))
        last = (int)num(r, "recurrence");
    assert_int_equal(last, 7);
    cJSON_Delete(j);
    zt_cli_free(&c);

    /* A job that cannot converge fails as Zeus's simulator does, exit 1. */
    zt_cli_run(&c, "bso", "simulate", "--trace-dir", trace_dir, "--dataset", "librispeech",
               "--max-epochs", "2", NULL);
    assert_int_equal(c.status, 1);
    assert_string_equal(c.out, "");
    assert_non_null(strstr(c.err, "The default batch size 192 did not converge."));
    zt_cli_free(&c);

    /* Without --trace-dir, the traces beside the checkout are found from the binary. */
    zt_cli_run(&c, "bso", "simulate", "--dataset", "squad", "--gpu", "p100", NULL);
    zt_cli_run(&d, "bso", "simulate", "--dataset", "squad", "--gpu", "p100", "--trace-dir",
               trace_dir, NULL);
    assert_int_equal(c.status, 0);
    assert_string_equal(c.out, d.out);
    assert_non_null(strstr(c.out, "squad/bert_base_uncased"));
    zt_cli_free(&c);
    zt_cli_free(&d);
}

/* Each bad command: exit 2, nothing on stdout, the message on stderr. */
static void expect_usage(const char *want, const char *a1, const char *a2, const char *a3,
                         const char *a4)
{
    struct zt_cli c = {0};

    zt_cli_run(&c, "bso", "simulate", "--trace-dir", trace_dir, a1, a2, a3, a4, NULL);
    if (c.status != 2 || c.out[0] != '\0' || strstr(c.err, want) == NULL)
        fail_msg("%s %s %s %s: exit %d, stdout '%.100s', stderr '%s' (wanted '%s')", a1,
                 a2 ? a2 : "", a3 ? a3 : "", a4 ? a4 : "", c.status, c.out, c.err, want);
    zt_cli_free(&c);
}

static void test_bad_options(void **state)
{
    (void)state;
    expect_usage("--eta must be a number from 0 to 1, not '1.5'", "--eta", "1.5", NULL, NULL);
    expect_usage("--beta must be above 0", "--beta", "0", NULL, NULL);
    expect_usage("--beta must be a number", "--beta", "two", NULL, NULL);
    expect_usage("--seed must be a whole number", "--seed", "-1", NULL, NULL);
    expect_usage("--recurrences must be a whole number", "--recurrences", "0", NULL, NULL);
    expect_usage("--gpu must be a40, v100, p100, rtx6000 or all, not 'h100'", "--gpu", "h100",
                 NULL, NULL);
    expect_usage("unknown option '--frobnicate'", "--frobnicate", NULL, NULL, NULL);
    expect_usage("need --dataset", "--default-batch-size", "64", NULL, NULL);
    expect_usage("'mnist' is not one of Zeus's workloads", "--dataset", "mnist", NULL, NULL);
    expect_usage("default batch size 100 is not a batch size of librispeech", "--dataset",
                 "librispeech", "--default-batch-size", "100");
    expect_usage("has no run of librispeech/deepspeech2/adamw at batch size",
                 "--dataset", "librispeech", "--target-metric", "41");
    expect_usage("needs a value", "--seed", NULL, NULL, NULL);
}

static void test_bad_traces(void **state)
{
    struct zt_cli c = {0};
    char *dir = zt_mkdtemp(), path[4200];

    (void)state;
    zt_cli_run(&c, "bso", "simulate", "--trace-dir", "/nonexistent-zeus-traces", NULL);
    assert_int_equal(c.status, 2);
    assert_string_equal(c.out, "");
    assert_non_null(strstr(c.err, "cannot open /nonexistent-zeus-traces/summary_train.csv"));
    zt_cli_free(&c);

    snprintf(path, sizeof path, "%s/summary_train.csv", dir);
    zt_write_file(path, "dataset,network,batch_size,optimizer,learning_rate,run,target_metric,"
                        "target_epoch\ncifar100,shufflenetv2,1024,adadelta,0.1,1,0.6,x\n");
    zt_cli_run(&c, "bso", "simulate", "--trace-dir", dir, NULL);
    assert_int_equal(c.status, 2);
    assert_non_null(strstr(c.err, "summary_train.csv:2: a field does not parse"));
    zt_cli_free(&c);

    zt_write_file(path, "dataset,network,batch_size\n");
    zt_cli_run(&c, "bso", "simulate", "--trace-dir", dir, NULL);
    assert_int_equal(c.status, 2);
    assert_non_null(strstr(c.err, "no column 'optimizer'"));
    zt_cli_free(&c);

    zt_write_file(path, "dataset,network,batch_size,optimizer,learning_rate,run,target_metric,"
                        "target_epoch\ncifar100,shufflenetv2,1024,adadelta,0.1,1,0.6,3\n");
    zt_cli_run(&c, "bso", "simulate", "--trace-dir", dir, NULL); /* no power trace */
    assert_int_equal(c.status, 2);
    assert_non_null(strstr(c.err, "summary_power_v100.csv"));
    zt_cli_free(&c);

    zt_rmtree(dir);
    free(dir);
}

static void test_bso_command(void **state)
{
    struct zt_cli c = {0};

    (void)state;
    zt_cli_run(&c, "bso", NULL);
    assert_int_equal(c.status, 2);
    zt_cli_free(&c);
    zt_cli_run(&c, "bso", "frobnicate", NULL);
    assert_int_equal(c.status, 2);
    assert_non_null(strstr(c.err, "unknown command 'frobnicate'"));
    zt_cli_free(&c);
    zt_cli_run(&c, "bso", "simulate", "--help", NULL);
    assert_int_equal(c.status, 0);
    assert_non_null(strstr(c.out, "--recurrences N"));
    zt_cli_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_zeus_reference),
        cmocka_unit_test(test_same_seed_same_output),
        cmocka_unit_test(test_seeds_spread_as_readme_reports),
        cmocka_unit_test(test_options_take_effect),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_bad_traces),
        cmocka_unit_test(test_bso_command),
    };
    return cmocka_run_group_tests(tests, setup_traces, NULL);
}
