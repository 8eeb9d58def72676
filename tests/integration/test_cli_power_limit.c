/*
 * test_cli_power_limit.c - `zeus power-limit select` on Zeus's 12 recorded profiles: for
 * every selector, the limit --json reports is the one Zeus's own test expects, computed here
 * from the CSV the way Zeus's ReplayLog does (not by the library); the measurements it
 * reports are the CSV's; a JSON profile of the same numbers gives the same choices; and each
 * malformed input or option exits 2 with one line on stderr that names it, and nothing on
 * stdout.
 *
 * The binary runs 240 times (180 of them the selector matrix), a few milliseconds each.
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
#include <sys/stat.h>

#include "cli_support.h"
#include "test_support.h"
#include "zeus_profiles.h"

#define MAX_PROFILES 16

/* ---- The expected choices: Zeus's test's ReplayLog (tests/support/zeus_profiles.c) ------- */

/* A selector as --selector spells it, and what it asks for. */
struct selector {
    const char *spec;
    char kind; /* 'e'nergy, 't'ime, 'z'eus cost, 's'lowdown */
    double param;
};

static const struct selector selectors[] = {
    {"energy", 'e', 0},
    {"time", 't', 0},
    {"zeus-cost:0", 'z', 0},
    {"zeus-cost:.25", 'z', 0.25},
    {"zeus-cost", 'z', 0.5}, /* eta 0.5 when not given */
    {"zeus-cost:0.75", 'z', 0.75},
    {"zeus-cost:1", 'z', 1},
    {"max-slowdown:1.0", 's', 1.0},
    {"max-slowdown:1.1", 's', 1.1},
    {"max-slowdown:1.2", 's', 1.2},
    {"max-slowdown:1.5", 's', 1.5},
    {"max-slowdown:2", 's', 2},
    {"max-slowdown:3", 's', 3},
    {"max-slowdown:5", 's', 5},
    {"max-slowdown:100", 's', 100},
};

#define SELECTOR_COUNT (sizeof selectors / sizeof selectors[0])

static double expect_cost(const struct zt_profile *p, const struct selector *s, unsigned world,
                          size_t r)
{
    return zt_profile_cost(p, s->kind, s->param, world, r);
}

static unsigned expect_choice(const struct zt_profile *p, const struct selector *s,
                              unsigned world)
{
    return zt_profile_choice(p, s->kind, s->param, world);
}

/* ---- Fixtures ----------------------------------------------------------------------------- */

struct fixture {
    struct zt_cli cli;
    cJSON *json;
    char *dir; /* for the files the tests write */
    struct zt_profile profiles[MAX_PROFILES];
    size_t count;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    if (f == NULL)
        return -1;
    f->dir = zt_mkdtemp();
    f->count = zt_profiles_load_all(f->profiles, MAX_PROFILES);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    zt_cli_free(&f->cli);
    cJSON_Delete(f->json);
    zt_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* ---- Helpers ------------------------------------------------------------------------------ */

/*
 * Run `zeus power-limit select --profile PATH [--selector=SEL] [--world-size=WS] --json` and
 * parse stdout. An option not given is replaced by a second --json, which must be harmless.
 */
static cJSON *run_json(struct fixture *f, const char *path, const char *sel, const char *ws)
{
    char sel_arg[64] = "--json", ws_arg[64] = "--json";

    if (sel != NULL)
        snprintf(sel_arg, sizeof sel_arg, "--selector=%s", sel);
    if (ws != NULL)
        snprintf(ws_arg, sizeof ws_arg, "--world-size=%s", ws);
    zt_cli_free(&f->cli);
    cJSON_Delete(f->json);
    zt_cli_run(&f->cli, "power-limit", "select", "--profile", path, sel_arg, ws_arg, "--json",
               NULL);
    if (f->cli.status != 0)
        fail_msg("%s %s: exit %d, stderr '%s'", path, sel_arg, f->cli.status, f->cli.err);
    f->json = cJSON_Parse(f->cli.out);
    if (f->json == NULL || !cJSON_IsObject(f->json))
        fail_msg("%s %s: stdout is not one JSON object: '%s'", path, sel_arg, f->cli.out);
    return f->json;
}

static const cJSON *item(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (v == NULL)
        fail_msg("the JSON has no '%s'", key);
    return v;
}

static double number(const cJSON *obj, const char *key)
{
    const cJSON *v = item(obj, key);

    if (!cJSON_IsNumber(v))
        fail_msg("'%s' is not a number", key);
    return v->valuedouble;
}

/* Equal to 12 significant digits: cJSON prints 15 when they read back within an epsilon. */
static void assert_close(double got, double want)
{
    assert_near(got, want, 1e-12 * fmax(1, fabs(want)));
}

/* The reported measurements are the profile's, in its order, with the selector's costs. */
static void check_measurements(const cJSON *root, const struct zt_profile *p,
                               const struct selector *s, unsigned world)
{
    const cJSON *list = item(root, "measurements"), *m;
    size_t r = 0;

    assert_int_equal(cJSON_GetArraySize(list), p->rows);
    cJSON_ArrayForEach(m, list) {
        assert_int_equal((unsigned)number(m, "power_limit"), p->limit_w[r]);
        assert_close(number(m, "energy"), p->energy_j[r]);
        assert_close(number(m, "time"), p->time_s[r]);
        assert_close(number(m, "cost"), expect_cost(p, s, world, r));
        r++;
    }
}

static void check_choice(const cJSON *root, const struct zt_profile *p, const struct selector *s,
                         unsigned world)
{
    unsigned want = expect_choice(p, s, world), got = (unsigned)number(root, "power_limit_w");

    if (got != want)
        fail_msg("%s, %s, world size %u: chose %u W, Zeus chooses %u W", p->path, s->spec,
                 world, got, want);
    check_measurements(root, p, s, world);
}

/* Write `p` as Zeus's JSON profile (all 17 digits, so the numbers are the same doubles). */
static void write_json_profile(const char *path, const struct zt_profile *p)
{
    FILE *out = fopen(path, "w");

    assert_non_null(out);
    fprintf(out, "{\"measurements\": [");
    for (size_t r = 0; r < p->rows; r++)
        fprintf(out, "%s{\"power_limit\": %u, \"energy\": %.17g, \"time\": %.17g}",
                r ? ", " : "", p->limit_w[r], p->energy_j[r], p->time_s[r]);
    fprintf(out, "]}");
    assert_int_equal(fclose(out), 0);
}

/* ---- The recorded profiles ---------------------------------------------------------------- */

static void test_select_csv_every_selector_matches_zeus(void **state)
{
    struct fixture *f = *state;

    for (size_t i = 0; i < f->count; i++) {
        const struct zt_profile *p = &f->profiles[i];

        for (size_t k = 0; k < SELECTOR_COUNT; k++) {
            const cJSON *root = run_json(f, p->path, selectors[k].spec, NULL);

            check_choice(root, p, &selectors[k], p->gpus);
            assert_string_equal(f->cli.err, ""); /* no row skipped, nothing assumed */
            if (selectors[k].kind == 'z')
                assert_int_equal((unsigned)number(root, "world_size"), p->gpus);
        }
    }
}

static void test_select_selector_string_is_canonical(void **state)
{
    struct fixture *f = *state;
    const char *path = f->profiles[0].path;

    assert_string_equal(item(run_json(f, path, NULL, NULL), "selector")->valuestring,
                        "zeus-cost:0.5");
    assert_string_equal(item(run_json(f, path, "zeus-cost:.25", NULL), "selector")->valuestring,
                        "zeus-cost:0.25");
    assert_string_equal(item(run_json(f, path, "max-slowdown:1.10", NULL), "selector")
                            ->valuestring, "max-slowdown:1.1");
    assert_string_equal(item(run_json(f, path, "time", NULL), "selector")->valuestring, "time");
    assert_null(cJSON_GetObjectItemCaseSensitive(f->json, "world_size"));
}

static void test_select_world_size_overrides_gpu_columns(void **state)
{
    struct fixture *f = *state;
    const struct selector zc = {"zeus-cost:0.5", 'z', 0.5};

    for (size_t i = 0; i < f->count; i++) {
        const struct zt_profile *p = &f->profiles[i];

        if (p->gpus < 4)
            continue;
        /* A40 resnet18 on 4 GPUs: 300 W for world size 4, 100 W for 1. */
        assert_int_not_equal(expect_choice(p, &zc, 1), expect_choice(p, &zc, p->gpus));
        check_choice(run_json(f, p->path, NULL, NULL), p, &zc, p->gpus);
        check_choice(run_json(f, p->path, NULL, "1"), p, &zc, 1);
        assert_int_equal((unsigned)number(f->json, "world_size"), 1);
        return;
    }
    fail_msg("no recorded profile of 4 GPUs");
}

/* The same numbers as Zeus's JSON profile: same choice once the GPU count is given. */
static void test_select_json_profile_matches_csv(void **state)
{
    struct fixture *f = *state;
    char path[1100], ws[16];

    for (size_t i = 0; i < f->count; i++) {
        const struct zt_profile *p = &f->profiles[i];
        const struct selector *s = &selectors[2 + i % 5]; /* the five etas, in turn */

        snprintf(path, sizeof path, "%s/profile-%zu.json", f->dir, i);
        snprintf(ws, sizeof ws, "%u", p->gpus);
        write_json_profile(path, p);
        check_choice(run_json(f, path, s->spec, ws), p, s, p->gpus);
        assert_string_equal(f->cli.err, "");
    }
}

/* Without --world-size a JSON profile is one GPU's, and stderr says that was assumed. */
static void test_select_json_profile_defaults_to_world_size_1(void **state)
{
    struct fixture *f = *state;
    const struct selector zc = {"zeus-cost:0.5", 'z', 0.5};
    const struct zt_profile *p = &f->profiles[1]; /* A40 resnet18, 4 GPUs */
    char path[1100];

    assert_int_equal(p->gpus, 4);
    snprintf(path, sizeof path, "%s/four.json", f->dir);
    write_json_profile(path, p);
    check_choice(run_json(f, path, NULL, NULL), p, &zc, 1);
    assert_int_equal((unsigned)number(f->json, "world_size"), 1);
    assert_non_null(strstr(f->cli.err, "world size 1 assumed"));
}

/* ---- CSV details -------------------------------------------------------------------------- */

/*
 * Quoted names (as Zeus-C's log writes them), CRLF, a blank line, CPU columns that are not
 * GPU energy, and windows that are not power limits.
 */
static void test_select_csv_quotes_cpu_columns_and_skipped_rows(void **state)
{
    struct fixture *f = *state;
    const cJSON *m;
    char path[1100];

    snprintf(path, sizeof path, "%s/log.csv", f->dir);
    zt_write_file(path, "start_time,window_name,elapsed_time,gpu0_energy,cpu0_energy,"
                        "dram0_energy,gpu1_energy\r\n"
                        "1.5,\"epoch,1\",9.0,1,1,1,1\r\n"
                        "2.5,\"say \"\"hi\"\"_300\",2.0,100,5000,7000,50\r\n"
                        "\r\n"
                        "3.5,\"two\nlines_250\",\"4\",60,5000,7000,40\r\n"
                        "4.5,step_x,1,1,1,1,1\r\n");
    run_json(f, path, "energy", NULL);
    assert_int_equal((unsigned)number(f->json, "power_limit_w"), 250);
    assert_int_equal(cJSON_GetArraySize(item(f->json, "measurements")), 2);
    m = cJSON_GetArrayItem(item(f->json, "measurements"), 0);
    assert_int_equal((unsigned)number(m, "power_limit"), 300);
    assert_close(number(m, "energy"), 150);
    assert_close(number(m, "time"), 2);
    m = cJSON_GetArrayItem(item(f->json, "measurements"), 1);
    assert_close(number(m, "energy"), 100);
    assert_close(number(m, "time"), 4);
    assert_non_null(strstr(f->cli.err, "skipped 2 rows"));
}

static void test_select_text_marks_the_choice(void **state)
{
    struct fixture *f = *state;
    const struct zt_profile *p = &f->profiles[1]; /* 4 GPUs */
    const struct selector zc = {"zeus-cost:0.5", 'z', 0.5};
    char want[128], row[32];

    zt_cli_run(&f->cli, "power-limit", "select", "--profile", p->path, NULL);
    assert_int_equal(f->cli.status, 0);
    snprintf(want, sizeof want, "optimal power limit: %u W (zeus-cost, eta 0.5, world size 4)\n",
             expect_choice(p, &zc, 4));
    assert_non_null(strstr(f->cli.out, want));
    snprintf(row, sizeof row, "\n* %9u ", expect_choice(p, &zc, 4));
    assert_non_null(strstr(f->cli.out, row));
    assert_non_null(strstr(f->cli.out, "energy (J)"));
}

/* ---- Errors ------------------------------------------------------------------------------- */

/* A file to write (NULL: none is written) and what the one line of stderr must hold. */
struct bad_input {
    const char *name;
    const char *content;
    const char *says;
};

#define H2 "start_time,window_name,elapsed_time,gpu0_energy,gpu1_energy\n"

static const struct bad_input bad_inputs[] = {
    {"missing.csv", NULL, "cannot open"},
    {"empty.csv", "", "empty"},
    {"blank.csv", " \n\n", "empty"},
    {"header-only.csv", H2, "no power limit window"},
    {"no-windows.csv", H2 "1,step,1,1,1\n1,epoch_x,1,1,1\n", "no power limit window"},
    {"neg-energy.csv", H2 "1,a_300,1,-5,1\n", ":2: gpu0_energy '-5'"},
    {"nan-energy.csv", H2 "1,a_300,1,1,1\n1,a_200,1,1,nan\n", ":3: gpu1_energy 'nan'"},
    {"zero-energy.csv", H2 "1,a_300,1,0,0\n", ":2: window 'a_300'"},
    {"neg-time.csv", H2 "1,a_300,-1,1,1\n", ":2: elapsed_time '-1'"},
    {"zero-time.csv", H2 "1,a_300,0,1,1\n", ":2: elapsed_time '0'"},
    {"nan-time.csv", H2 "1,a_300,NaN,1,1\n", ":2: elapsed_time 'NaN'"},
    {"limit-0.csv", H2 "1,a_300,1,1,1\n1,__GlobalPowerLimitOptimizer_0,1,1,1\n",
     ":3: window '__GlobalPowerLimitOptimizer_0'"},
    {"bad-energy.csv", H2 "1,a_300,1,12abc,1\n", ":2: gpu0_energy '12abc' is not a number"},
    {"empty-time.csv", H2 "1,a_300,,1,1\n", ":2: elapsed_time '' is not a number"},
    {"short-row.csv", H2 "1,a_300,1,1\n", ":2: 4 fields"},
    {"open-quote.csv", H2 "1,\"a_300,1,1,1\n", "quoted field is not closed"},
    {"not-a-log.csv", "hello,world\n1,2\n", ":1: not a ZeusMonitor CSV log"},
    {"no-gpus.csv", "start_time,window_name,elapsed_time,cpu0_energy\n1,a_300,1,5\n",
     "no gpu<i>_energy column"},
    {"bad.json", "{\"measurements\": [", "not valid JSON"},
    {"limit-0.json", "{\"measurements\": [{\"power_limit\": 0, \"energy\": 1, \"time\": 1}]}",
     "power_limit"},
    {"neg-energy.json", "{\"measurements\": [{\"power_limit\": 9, \"energy\": -1, \"time\": 1}]}",
     "measurements[0].energy"},
    {"none.json", "{\"measurements\": []}", "empty"},
};

/* Exit 2, nothing on stdout, and exactly one line on stderr that holds each of `says`. */
static void assert_one_line_error(const struct zt_cli *c, const char *what, const char *says,
                                  const char *says_too)
{
    const char *nl = strchr(c->err, '\n');

    if (c->status != 2 || c->out[0] != '\0' || nl == NULL || nl[1] != '\0')
        fail_msg("%s: exit %d, stdout '%s', stderr '%s' (want exit 2, one line)", what,
                 c->status, c->out, c->err);
    if (strstr(c->err, says) == NULL || (says_too != NULL && strstr(c->err, says_too) == NULL))
        fail_msg("%s: stderr '%s' does not say '%s'", what, c->err, says);
}

static void test_select_bad_input_exits_2_naming_it(void **state)
{
    struct fixture *f = *state;
    char path[1100];

    for (size_t i = 0; i < sizeof bad_inputs / sizeof bad_inputs[0]; i++) {
        const struct bad_input *b = &bad_inputs[i];

        snprintf(path, sizeof path, "%s/%s", f->dir, b->name);
        if (b->content != NULL)
            zt_write_file(path, b->content);
        zt_cli_free(&f->cli);
        zt_cli_run(&f->cli, "power-limit", "select", "--profile", path, "--json", NULL);
        assert_one_line_error(&f->cli, b->name, path, b->says);
    }
}

static void test_select_folder_exits_2(void **state)
{
    struct fixture *f = *state;

    zt_cli_run(&f->cli, "power-limit", "select", "--profile", f->dir, NULL);
    assert_one_line_error(&f->cli, "a folder", f->dir, "cannot read");
}

/* An option value and what the one line of stderr must hold. */
static const struct bad_option {
    const char *option;
    const char *value;
    const char *says;
} bad_options[] = {
    {"--selector", "zeus-cost:1.5", "eta must be from 0 to 1"},
    {"--selector", "zeus-cost:-0.1", "eta must be from 0 to 1"},
    {"--selector", "zeus-cost:abc", "'abc' is not a number"},
    {"--selector", "max-slowdown:0.9", "factor must be at least 1"},
    {"--selector", "max-slowdown", "needs a factor"},
    {"--selector", "fastest", "'fastest'"},
    {"--selector", "energy:1", "takes no parameter"},
    {"--world-size", "0", "--world-size: '0'"},
    {"--world-size", "-4", "--world-size: '-4'"},
};

static void test_select_bad_option_exits_2_naming_it(void **state)
{
    struct fixture *f = *state;
    const char *path = f->profiles[0].path;

    for (size_t i = 0; i < sizeof bad_options / sizeof bad_options[0]; i++) {
        const struct bad_option *b = &bad_options[i];

        zt_cli_free(&f->cli);
        zt_cli_run(&f->cli, "power-limit", "select", "--profile", path, b->option, b->value,
                   "--json", NULL);
        assert_one_line_error(&f->cli, b->value, b->says, NULL);
    }
    zt_cli_free(&f->cli);
    zt_cli_run(&f->cli, "power-limit", "select", "--json", NULL);
    assert_one_line_error(&f->cli, "no --profile", "--profile", NULL);
}

/* ---- Help --------------------------------------------------------------------------------- */

static void assert_manual(struct zt_cli *c, const char *a, const char *b)
{
    zt_cli_free(c);
    zt_cli_run(c, a, b, NULL);
    if (c->status != 0 || strstr(c->out, "SYNOPSIS") == NULL ||
        strstr(c->out, "power-limit select") == NULL)
        fail_msg("zeus %s %s: exit %d, stdout '%s'", a, b, c->status, c->out);
}

static void test_power_limit_help_describes_select(void **state)
{
    struct fixture *f = *state;

    zt_cli_run(&f->cli, "power-limit", "select", "--help", NULL);
    assert_int_equal(f->cli.status, 0);
    assert_non_null(strstr(f->cli.out, "max-slowdown:FACTOR"));
    assert_manual(&f->cli, "power-limit", "--help");
    assert_manual(&f->cli, "help", "power-limit");
    zt_cli_free(&f->cli);
    zt_cli_run(&f->cli, "--help", NULL);
    assert_non_null(strstr(f->cli.out, "power-limit"));
    zt_cli_free(&f->cli);
    zt_cli_run(&f->cli, "power-limit", NULL);
    assert_int_equal(f->cli.status, 2);
    assert_non_null(strstr(f->cli.err, "SYNOPSIS"));
    zt_cli_free(&f->cli);
    zt_cli_run(&f->cli, "power-limit", "pick", NULL);
    assert_one_line_error(&f->cli, "power-limit pick", "'pick'", NULL);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_select_csv_every_selector_matches_zeus),
        T(test_select_selector_string_is_canonical),
        T(test_select_world_size_overrides_gpu_columns),
        T(test_select_json_profile_matches_csv),
        T(test_select_json_profile_defaults_to_world_size_1),
        T(test_select_csv_quotes_cpu_columns_and_skipped_rows),
        T(test_select_text_marks_the_choice),
        T(test_select_bad_input_exits_2_naming_it),
        T(test_select_folder_exits_2),
        T(test_select_bad_option_exits_2_naming_it),
        T(test_power_limit_help_describes_select),
    };
#undef T
    return cmocka_run_group_tests_name("cli_power_limit", tests, NULL, NULL);
}
