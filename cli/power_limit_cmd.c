/*
 * power_limit_cmd.c - `zeus power-limit select`: the power limit Zeus's
 * GlobalPowerLimitOptimizer would choose from measurements already made, and the table it
 * chose from.
 *
 * The measurements come from a file (power_limit_input.c: Zeus's JSON profile or a
 * ZeusMonitor CSV log) and the choice from the library's zeus_plo_select(), so that this
 * command and a training run with the optimizer can never disagree.
 *
 * Every error is one line on stderr and exit status 2, with nothing on stdout, so that a
 * script reading --json sees either the whole answer or nothing; notes (rows skipped, a
 * world size assumed) go to stderr only after a choice was made.
 */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "power_limit_input.h"

#define CMD "power-limit"

static const char usage[] =
    "NAME\n"
    "    zeus power-limit - choose a GPU power limit from measurements already made\n"
    "\n"
    "SYNOPSIS\n"
    "    zeus power-limit select --profile FILE [--selector SPEC] [--world-size N] [--json]\n"
    "\n"
    "DESCRIPTION\n"
    "    select reads the energy and time measured at each power limit and prints the limit\n"
    "    that Zeus's GlobalPowerLimitOptimizer chooses from them, after a table of each\n"
    "    limit's energy, time and cost, the chosen one marked with '*'.\n"
    "\n"
    "    FILE is Zeus's profile, the JSON the optimizer writes to its profile_path:\n"
    "    {\"measurements\": [{\"power_limit\": W, \"energy\": J, \"time\": S}, ...]}; or a\n"
    "    ZeusMonitor CSV log: start_time,window_name,elapsed_time,gpu<i>_energy,... In the\n"
    "    log, each row whose window name ends in _<W> (the optimizer's windows are named\n"
    "    __GlobalPowerLimitOptimizer_<W>) measures power limit W watts: its energy is the sum\n"
    "    of its gpu<i>_energy fields (cpu<i>_energy and other columns are not GPU energy and\n"
    "    are ignored), its time is elapsed_time. Other rows are skipped and counted on\n"
    "    stderr. A file whose first character other than blanks is '{' is read as JSON.\n"
    "\n"
    "SELECTORS\n"
    "    energy               the least energy\n"
    "    time                 the least time\n"
    "    zeus-cost[:ETA]      the least ETA * energy + (1 - ETA) * max_limit * world_size *\n"
    "                         time, max_limit the highest limit measured; ETA from 0 to 1,\n"
    "                         0.5 when not given\n"
    "    max-slowdown:FACTOR  the lowest limit whose time is at most FACTOR (>= 1) times the\n"
    "                         time at the highest limit\n"
    "    Ties go to the row that comes first, as in Zeus (in a profile, the higher limit).\n"
    "    The cost column is what the selector minimizes: energy, time, the Zeus cost, or\n"
    "    time for max-slowdown.\n"
    "\n"
    "OPTIONS\n"
    "    --profile FILE     the measurements (required).\n"
    "    --selector SPEC    how to choose (above); default zeus-cost:0.5.\n"
    "    --world-size N     zeus-cost: the number of GPUs of the job, at least 1. Default: the\n"
    "                       number of gpu<i>_energy columns of a CSV log, and 1 for a JSON\n"
    "                       profile, which does not record it (a note on stderr says so):\n"
    "                       give the GPU count for a profile measured on several GPUs.\n"
    "    --json             print one JSON object: selector (as \"zeus-cost:0.5\"),\n"
    "                       power_limit_w, world_size (zeus-cost only), and measurements,\n"
    "                       a list of {power_limit, energy, time, cost}.\n"
    "    -h, --help         Print this text.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 when a limit was chosen; 2 for a bad option, or a file that is missing, unreadable,\n"
    "    empty or malformed (one line on stderr names the file, and in a CSV log the line and\n"
    "    the field); 1 when out of memory or the result cannot be printed.\n"
    "\n"
    "EXAMPLES\n"
    "    zeus power-limit select --profile power_limit_profile.json --world-size 4\n"
    "    zeus power-limit select --profile zeus-log.csv --selector max-slowdown:1.1 --json\n";

struct select_args {
    const char *profile;
    zeus_plo_selector sel;
    unsigned world_size; /* 0: from the file */
    int json;
};

/* ---- Errors --------------------------------------------------------------------------------- */

/* A bad option: one line, with where to look. Returns CLI_EXIT_USAGE. */
static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("zeus " CMD ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (see 'zeus " CMD " --help')\n", stderr);
    return CLI_EXIT_USAGE;
}

/* ---- Arguments ------------------------------------------------------------------------------ */

/* The part after "zeus-cost:" or "max-slowdown:". */
static int parse_param(const char *spec, const char *param, double min, double max,
                       const char *what, double *out)
{
    if (cli_scan_double(param, out) != 0)
        return usage_error("--selector '%s': %s '%s' is not a number", spec, what, param);
    if (*out < min || *out > max) {
        if (max == INFINITY)
            return usage_error("--selector '%s': %s must be at least %g", spec, what, min);
        return usage_error("--selector '%s': %s must be from %g to %g", spec, what, min, max);
    }
    return 0;
}

/* 1 when the `len` bytes of `spec` before any ':' are `name`. */
static int named(const char *spec, size_t len, const char *name)
{
    return strlen(name) == len && strncmp(spec, name, len) == 0;
}

static int parse_selector(const char *spec, zeus_plo_selector *sel)
{
    const char *colon = strchr(spec, ':');
    size_t len = colon != NULL ? (size_t)(colon - spec) : strlen(spec);
    const char *param = colon != NULL ? colon + 1 : NULL;

    memset(sel, 0, sizeof *sel);
    if (named(spec, len, "energy") || named(spec, len, "time")) {
        sel->kind = spec[0] == 'e' ? ZEUS_PLO_ENERGY : ZEUS_PLO_TIME;
        if (param != NULL)
            return usage_error("--selector '%s': %.*s takes no parameter", spec, (int)len, spec);
        return 0;
    }
    if (named(spec, len, "zeus-cost")) {
        sel->kind = ZEUS_PLO_ZEUS_COST;
        sel->eta = 0.5;
        return param != NULL ? parse_param(spec, param, 0, 1, "eta", &sel->eta) : 0;
    }
    if (named(spec, len, "max-slowdown")) {
        sel->kind = ZEUS_PLO_MAX_SLOWDOWN;
        if (param == NULL)
            return usage_error("--selector max-slowdown needs a factor, as max-slowdown:1.1");
        return parse_param(spec, param, 1, INFINITY, "factor", &sel->factor);
    }
    return usage_error("--selector: '%s' is not energy, time, zeus-cost[:ETA] or "
                       "max-slowdown:FACTOR", spec);
}

static int parse_world_size(const char *text, unsigned *out)
{
    if (cli_scan_unsigned(text, 1, UINT_MAX, out) != 0)
        return usage_error("--world-size: '%s' is not a whole number of GPUs of at least 1",
                           text);
    return 0;
}

/* cli_option_value, keeping this command's errors to one line when the value is missing. */
static int option_value(int argc, char **argv, int *i, const char *name, const char **value)
{
    if (strcmp(argv[*i], name) == 0 && *i + 1 >= argc) {
        usage_error("option %s needs a value", name);
        return -1;
    }
    return cli_option_value(CMD, argc, argv, i, name, value);
}

/* The option at argv[*i]: 1 when taken, 0 when not one of these, CLI_EXIT_USAGE on error. */
static int parse_option(int argc, char **argv, int *i, struct select_args *a)
{
    const char *v;
    int r;

    if ((r = option_value(argc, argv, i, "--profile", &v)) != 0) {
        if (r < 0)
            return CLI_EXIT_USAGE;
        if (*v == '\0')
            return usage_error("--profile: the file name is empty");
        a->profile = v;
        return 1;
    }
    if ((r = option_value(argc, argv, i, "--selector", &v)) != 0)
        return r < 0 || parse_selector(v, &a->sel) != 0 ? CLI_EXIT_USAGE : 1;
    if ((r = option_value(argc, argv, i, "--world-size", &v)) != 0)
        return r < 0 || parse_world_size(v, &a->world_size) != 0 ? CLI_EXIT_USAGE : 1;
    if (strcmp(argv[*i], "--json") == 0) {
        a->json = 1;
        return 1;
    }
    return 0;
}

/* Options of `select`; argv[0] is "select". -1: print help. */
static int parse_args(int argc, char **argv, struct select_args *a)
{
    memset(a, 0, sizeof *a);
    a->sel.kind = ZEUS_PLO_ZEUS_COST;
    a->sel.eta = 0.5;
    for (int i = 1; i < argc; i++) {
        int r;

        if (cli_is_help(argv[i]))
            return -1;
        if ((r = parse_option(argc, argv, &i, a)) == 1)
            continue;
        if (r != 0)
            return r;
        if (argv[i][0] == '-')
            return usage_error("select: unknown option '%s'", argv[i]);
        return usage_error("select: unexpected argument '%s'", argv[i]);
    }
    if (a->profile == NULL)
        return usage_error("select needs --profile FILE");
    return 0;
}

/* ---- Output --------------------------------------------------------------------------------- */

/* The shortest decimal that reads back as `v`: "0.1", not "0.10000000000000001". */
static const char *shortest(double v, char *buf, size_t len)
{
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(buf, len, "%.*g", digits, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return buf;
}

/* "energy", "time", "zeus-cost:0.5", "max-slowdown:1.1": what --selector takes. */
static const char *selector_spec(const zeus_plo_selector *sel, char *buf, size_t len)
{
    char num[32];

    switch (sel->kind) {
    case ZEUS_PLO_ENERGY:
        return "energy";
    case ZEUS_PLO_TIME:
        return "time";
    case ZEUS_PLO_MAX_SLOWDOWN:
        snprintf(buf, len, "max-slowdown:%s", shortest(sel->factor, num, sizeof num));
        return buf;
    default:
        snprintf(buf, len, "zeus-cost:%s", shortest(sel->eta, num, sizeof num));
        return buf;
    }
}

/* Index of the row to mark: the first of the chosen limit, where Zeus's selectors look. */
static size_t chosen_row(const struct cli_plo_input *in, unsigned limit_w)
{
    size_t i = 0;

    while (i + 1 < in->count && in->m[i].power_limit_w != limit_w)
        i++;
    return i;
}

static void print_table(const struct cli_plo_input *in, const zeus_plo_selector *sel,
                        unsigned limit_w, const double *cost)
{
    int joules = sel->kind == ZEUS_PLO_ENERGY || sel->kind == ZEUS_PLO_ZEUS_COST;
    size_t mark = chosen_row(in, limit_w);
    char spec[64], num[32];

    printf("  %9s  %12s  %10s  %12s\n", "limit (W)", "energy (J)", "time (s)",
           joules ? "cost (J)" : "cost (s)");
    for (size_t i = 0; i < in->count; i++)
        printf("%c %9u  %12.3f  %10.3f  %12.3f\n", i == mark ? '*' : ' ', in->m[i].power_limit_w,
               in->m[i].energy_j, in->m[i].time_s, cost[i]);
    printf("optimal power limit: %u W (", limit_w);
    if (sel->kind == ZEUS_PLO_ZEUS_COST)
        printf("zeus-cost, eta %s, world size %u)\n", shortest(sel->eta, num, sizeof num),
               sel->world_size);
    else if (sel->kind == ZEUS_PLO_MAX_SLOWDOWN)
        printf("max-slowdown, factor %s)\n", shortest(sel->factor, num, sizeof num));
    else
        printf("%s)\n", selector_spec(sel, spec, sizeof spec));
}

static cJSON *measurements_json(const struct cli_plo_input *in, const double *cost)
{
    cJSON *list = cJSON_CreateArray();

    for (size_t i = 0; list != NULL && i < in->count; i++) {
        cJSON *e = cJSON_CreateObject();

        if (e != NULL && !cJSON_AddItemToArray(list, e)) {
            cJSON_Delete(e);
            e = NULL;
        }
        if (e == NULL || !cJSON_AddNumberToObject(e, "power_limit", in->m[i].power_limit_w) ||
            !cJSON_AddNumberToObject(e, "energy", in->m[i].energy_j) ||
            !cJSON_AddNumberToObject(e, "time", in->m[i].time_s) ||
            !cJSON_AddNumberToObject(e, "cost", cost[i])) {
            cJSON_Delete(list);
            list = NULL;
        }
    }
    return list;
}

/* Returns 0, or -1 when out of memory or stdout cannot be written. */
static int print_json(const struct cli_plo_input *in, const zeus_plo_selector *sel,
                      unsigned limit_w, const double *cost)
{
    cJSON *root = cJSON_CreateObject(), *list = measurements_json(in, cost);
    char spec[64];
    int ok = root != NULL && list != NULL &&
             cJSON_AddStringToObject(root, "selector", selector_spec(sel, spec, sizeof spec)) &&
             cJSON_AddNumberToObject(root, "power_limit_w", limit_w) &&
             (sel->kind != ZEUS_PLO_ZEUS_COST ||
              cJSON_AddNumberToObject(root, "world_size", sel->world_size));

    if (ok && cJSON_AddItemToObject(root, "measurements", list))
        list = NULL; /* the root owns it now */
    else
        ok = 0;
    ok = ok && cli_print_json(root) == 0;
    cJSON_Delete(list);
    cJSON_Delete(root);
    return ok ? 0 : -1;
}

/* ---- zeus power-limit select ---------------------------------------------------------------- */

/* What was assumed or left out, said once the choice is made (stderr; stdout stays JSON). */
static void print_notes(const struct select_args *a, const struct cli_plo_input *in)
{
    if (in->skipped > 0)
        fprintf(stderr, "zeus " CMD ": note: skipped %zu row%s of %s whose window name does "
                "not end in _<W>\n", in->skipped, in->skipped == 1 ? "" : "s", a->profile);
    if (in->is_json && a->sel.kind == ZEUS_PLO_ZEUS_COST && a->world_size == 0)
        fprintf(stderr, "zeus " CMD ": note: a JSON profile does not record its GPU count; "
                "world size 1 assumed (set --world-size)\n");
}

static int choose(const struct select_args *a, const struct cli_plo_input *in)
{
    zeus_plo_selector sel = a->sel;
    double *cost = calloc(in->count, sizeof *cost);
    unsigned limit_w;
    int rc = CLI_EXIT_OK;

    if (cost == NULL) {
        fprintf(stderr, "zeus " CMD ": out of memory\n");
        return CLI_EXIT_FAILURE;
    }
    sel.world_size = a->world_size ? a->world_size : in->is_json ? 1 : in->gpu_columns;
    if (zeus_plo_select(&sel, in->m, in->count, &limit_w, cost) != ZEUS_OK) {
        /* The input was checked as it was read; this is a bug, said rather than hidden. */
        fprintf(stderr, "zeus " CMD ": %s: %s\n", a->profile, zeus_last_error());
        free(cost);
        return CLI_EXIT_USAGE;
    }
    print_notes(a, in);
    if (a->json) {
        if (print_json(in, &sel, limit_w, cost) != 0) {
            fprintf(stderr, "zeus " CMD ": cannot print the JSON result\n");
            rc = CLI_EXIT_FAILURE;
        }
    } else {
        print_table(in, &sel, limit_w, cost);
    }
    free(cost);
    return rc;
}

static int select_limit(int argc, char **argv)
{
    struct select_args a;
    struct cli_plo_input in;
    char err[1024];
    int rc = parse_args(argc, argv, &a);

    if (rc == -1) {
        fputs(usage, stdout);
        return CLI_EXIT_OK;
    }
    if (rc != 0)
        return rc;
    if ((rc = cli_plo_input_read(a.profile, &in, err, sizeof err)) != 0) {
        fprintf(stderr, "zeus " CMD ": %s\n", err);
        return rc;
    }
    rc = choose(&a, &in);
    cli_plo_input_free(&in);
    return rc;
}

/* ---- Entry point ---------------------------------------------------------------------------- */

int cli_power_limit(int argc, char **argv)
{
    if (argc < 2 || cli_is_help(argv[1])) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "select") != 0)
        return usage_error("unknown action '%s' (use select)", argv[1]);
    return select_limit(argc - 1, argv + 1);
}
