/*
 * bso_simulate.c - `zeus bso simulate`: Zeus's trace-driven simulation of recurring training
 * jobs over the NSDI'23 traces (run_single.py), for one workload or all of them, on one GPU
 * or all four, with Zeus's cumulative energy and time set against the baseline's.
 *
 * This file holds the options, the per-dataset defaults Zeus's run_alibaba.py uses, where
 * the traces are found, and the output; bso_trace.c reads the traces and bso_sim.c runs the
 * simulation. Errors are one line on stderr with nothing on stdout; bad options exit 2.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bso_sim.h"
#include "cli.h"

#define CMD "bso simulate"
#define TRACE_SUBDIR "shared/data/zeus-nsdi23-trace"
#define TRACE_SUBDIR_IN_TREE "tests/data/zeus-nsdi23-trace" /* the checkout's copy */

static const char usage[] =
    "NAME\n"
    "    zeus bso simulate - Zeus's batch size optimizer over the NSDI'23 traces\n"
    "\n"
    "SYNOPSIS\n"
    "    zeus bso simulate [--gpu GPU] [--dataset NAME] [--network NAME] [--optimizer NAME]\n"
    "                      [--target-metric X] [--max-epochs N] [--default-batch-size B]\n"
    "                      [--eta X] [--beta X] [--seed N] [--recurrences N]\n"
    "                      [--trace-dir DIR] [--json] [--verbose]\n"
    "\n"
    "DESCRIPTION\n"
    "    Replays Zeus's trace-driven simulator (run_single.py): a training job recurs N times;\n"
    "    each time it asks the batch size optimizer (the same pruning explorer and Gaussian\n"
    "    Thompson-sampling bandit as `zeus bso-server`, run in process) for a batch size, takes\n"
    "    the power limit the JIT power limit optimizer would (the cheapest epoch cost, profiled\n"
    "    from the power trace the first time a batch size runs), and takes its energy and time\n"
    "    from a training path drawn from the train trace, stopping early past beta times the\n"
    "    cheapest recurrence so far and retrying until the target metric is reached.\n"
    "\n"
    "    For each workload it prints Zeus's cumulative energy and time against the baseline:\n"
    "    the default batch size at its largest power limit every time (the trace's mean run).\n"
    "\n"
    "    Without --dataset, every workload of the traces runs with Zeus's defaults\n"
    "    (run_alibaba.py): cifar100 shufflenetv2 adadelta 0.6 100 1024; imagenet resnet50\n"
    "    adadelta 0.65 100 256; squad bert_base_uncased adamw 84 6 32; librispeech deepspeech2\n"
    "    adamw 40 16 256; movielens-1m ncf adam 0.41 100 1024; sentiment140 bert_base_uncased\n"
    "    adamw 0.84 10 128 (network, optimizer, target metric, max epochs, default batch size,\n"
    "    the last capped at the GPU's largest). --network, --optimizer, --target-metric,\n"
    "    --max-epochs and --default-batch-size change one workload, so they need --dataset.\n"
    "    The learning rate is not an option: the train trace has one per batch size (Zeus\n"
    "    scaled it with the batch size), and a run uses its batch size's.\n"
    "\n"
    "OUTPUT\n"
    "    One line per workload: GPU, WORKLOAD (dataset/network), B0 (default batch size),\n"
    "    RECUR (recurrences), ZEUS_MJ and BASE_MJ (total energy, megajoules), SAVE_E% (energy\n"
    "    saved against the baseline), ZEUS_H and BASE_H (total time, hours), SAVE_T%, and LAST\n"
    "    (the batch size of the last run). --json gives the same in joules and seconds, and\n"
    "    every run: recurrence, batch_size, power_limit, energy, time, reached.\n"
    "\n"
    "OPTIONS\n"
    "    --gpu GPU              a40, v100, p100, rtx6000, or all (default v100).\n"
    "    --dataset NAME         the workload's dataset (default: every workload).\n"
    "    --eta X                the cost's energy weight, 0 to 1 (default 0.5).\n"
    "    --beta X               early stop past X times the minimum cost, X > 0, or 'inf' to\n"
    "                           turn early stopping off (default 2).\n"
    "    --seed N               the seed of the path draws and of the bandit (default 1).\n"
    "    --recurrences N        how many times the job recurs (default 2 x batch sizes x power\n"
    "                           limits, as in the paper).\n"
    "    --trace-dir DIR        the folder with summary_train.csv and summary_power_<gpu>.csv\n"
    "                           (default: $ZEUS_BSO_TRACE_DIR, else " TRACE_SUBDIR_IN_TREE "\n"
    "                           or " TRACE_SUBDIR " in a folder above the\n"
    "                           zeus binary).\n"
    "    --json                 print a JSON array, one object per workload, with every run.\n"
    "    --verbose              write each run and each bandit draw to stderr.\n"
    "    -h, --help             Print this text.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 on success; 2 for a bad option or missing or malformed traces; 1 when a simulation\n"
    "    fails (Zeus's \"The default batch size B did not converge.\").\n"
    "\n"
    "EXAMPLES\n"
    "    zeus bso simulate --gpu all\n"
    "    zeus bso simulate --gpu v100 --dataset librispeech --default-batch-size 192 --json\n";

/* Zeus's per-dataset defaults (run_alibaba.py get_job_with_defaults). */
static const struct bso_workload defaults[] = {
    {"cifar100", "shufflenetv2", "adadelta", 0.6, 100, 1024},
    {"imagenet", "resnet50", "adadelta", 0.65, 100, 256},
    {"squad", "bert_base_uncased", "adamw", 84.0, 6, 32},
    {"librispeech", "deepspeech2", "adamw", 40.0, 16, 256},
    {"movielens-1m", "ncf", "adam", 0.41, 100, 1024},
    {"sentiment140", "bert_base_uncased", "adamw", 0.84, 10, 128},
};
#define NUM_DEFAULTS (sizeof defaults / sizeof defaults[0])

struct sim_args {
    const char *gpu, *dataset, *network, *optimizer, *trace_dir;
    double target_metric; /* NAN: the default */
    int max_epochs, default_batch_size, recurrences; /* 0: the default */
    double eta, beta;
    uint64_t seed;
    int json, verbose;
};

/* ---- Options --------------------------------------------------------------------------- */

static int parse_number(const char *opt, const char *text, double lo, double hi, double *out)
{
    char *end;

    errno = 0;
    *out = strtod(text, &end);
    if (end == text || *end || errno || !(*out >= lo && *out <= hi))
        return cli_usage_error(CMD, "%s must be a number from %g to %g, not '%s'", opt, lo, hi,
                               text);
    return 0;
}

static int parse_count(const char *opt, const char *text, int *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(text, &end, 10);
    if (end == text || *end || errno || v < 1 || v > 1000000)
        return cli_usage_error(CMD, "%s must be a whole number from 1 to 1000000, not '%s'", opt,
                               text);
    *out = (int)v;
    return 0;
}

static int parse_seed(const char *text, uint64_t *out)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(text, &end, 10);
    if (end == text || *end || errno || text[0] == '-' || v > (unsigned long long)INT64_MAX)
        return cli_usage_error(CMD, "--seed must be a whole number from 0 to %lld, not '%s'",
                               (long long)INT64_MAX, text);
    *out = v;
    return 0;
}

static int parse_beta(const char *text, double *out)
{
    if (strcmp(text, "inf") == 0 || strcmp(text, "none") == 0) {
        *out = INFINITY;
        return 0;
    }
    if (parse_number("--beta", text, 0, 1e300, out))
        return CLI_EXIT_USAGE;
    if (*out <= 0)
        return cli_usage_error(CMD, "--beta must be above 0 (or 'inf'), not '%s'", text);
    return 0;
}

static int check_gpu(const char *gpu)
{
    if (strcmp(gpu, "all") == 0)
        return 0;
    for (size_t i = 0; i < 4; i++)
        if (strcmp(gpu, bso_trace_gpus[i]) == 0)
            return 0;
    return cli_usage_error(CMD, "--gpu must be a40, v100, p100, rtx6000 or all, not '%s'", gpu);
}

/* The options that take a value, and how each value is read into struct sim_args. */
enum value_kind { TEXT, GPU, NUMBER, COUNT, SEED, BETA };

static const struct value_option {
    const char *name;
    enum value_kind kind;
    size_t offset;
    double lo, hi; /* NUMBER's range */
} value_options[] = {
    {"--gpu", GPU, offsetof(struct sim_args, gpu), 0, 0},
    {"--dataset", TEXT, offsetof(struct sim_args, dataset), 0, 0},
    {"--network", TEXT, offsetof(struct sim_args, network), 0, 0},
    {"--optimizer", TEXT, offsetof(struct sim_args, optimizer), 0, 0},
    {"--trace-dir", TEXT, offsetof(struct sim_args, trace_dir), 0, 0},
    {"--target-metric", NUMBER, offsetof(struct sim_args, target_metric), -1e300, 1e300},
    {"--max-epochs", COUNT, offsetof(struct sim_args, max_epochs), 0, 0},
    {"--default-batch-size", COUNT, offsetof(struct sim_args, default_batch_size), 0, 0},
    {"--recurrences", COUNT, offsetof(struct sim_args, recurrences), 0, 0},
    {"--eta", NUMBER, offsetof(struct sim_args, eta), 0, 1},
    {"--beta", BETA, offsetof(struct sim_args, beta), 0, 0},
    {"--seed", SEED, offsetof(struct sim_args, seed), 0, 0},
};

/* Store `v` for option o. Returns 0, or CLI_EXIT_USAGE after printing why not. */
static int set_value(const struct value_option *o, const char *v, struct sim_args *a)
{
    char *field = (char *)a + o->offset;

    switch (o->kind) {
    case GPU:
        if (check_gpu(v))
            return CLI_EXIT_USAGE;
        /* fall through */
    case TEXT:
        *(const char **)field = v;
        return 0;
    case NUMBER:
        return parse_number(o->name, v, o->lo, o->hi, (double *)field);
    case COUNT:
        return parse_count(o->name, v, (int *)field);
    case SEED:
        return parse_seed(v, (uint64_t *)field);
    case BETA:
        return parse_beta(v, (double *)field);
    }
    return CLI_EXIT_USAGE;
}

/* One option at argv[*i]: 0 when taken, CLI_EXIT_USAGE on an error, -1 when unknown. */
static int one_option(int argc, char **argv, int *i, struct sim_args *a)
{
    const char *v;

    if (strcmp(argv[*i], "--json") == 0) {
        a->json = 1;
        return 0;
    }
    if (strcmp(argv[*i], "--verbose") == 0) {
        a->verbose = 1;
        return 0;
    }
    for (size_t k = 0; k < sizeof value_options / sizeof value_options[0]; k++) {
        int m = cli_option_value(CMD, argc, argv, i, value_options[k].name, &v);
        if (m < 0)
            return CLI_EXIT_USAGE;
        if (m > 0)
            return set_value(&value_options[k], v, a) ? CLI_EXIT_USAGE : 0;
    }
    return -1;
}

static int parse_args(int argc, char **argv, struct sim_args *a)
{
    *a = (struct sim_args){.gpu = "v100", .target_metric = NAN, .eta = 0.5, .beta = 2.0,
                           .seed = 1};
    for (int i = 1; i < argc; i++) {
        int rc = one_option(argc, argv, &i, a);
        if (rc > 0)
            return rc;
        if (rc < 0)
            return cli_usage_error(CMD, "unknown %s '%s'",
                                   argv[i][0] == '-' ? "option" : "argument", argv[i]);
    }
    if (!a->dataset && (a->network || a->optimizer || !isnan(a->target_metric) ||
                        a->max_epochs || a->default_batch_size))
        return cli_usage_error(CMD, "--network, --optimizer, --target-metric, --max-epochs "
                                    "and --default-batch-size need --dataset");
    return 0;
}

/* ---- The traces' folder ---------------------------------------------------------------- */

static int is_trace_dir(const char *dir)
{
    char path[PATH_MAX];

    if ((size_t)snprintf(path, sizeof path, "%s/summary_train.csv", dir) >= sizeof path)
        return 0;
    return access(path, R_OK) == 0;
}

/* $ZEUS_BSO_TRACE_DIR, else shared/data/zeus-nsdi23-trace or the checkout's copy,
 * tests/data/zeus-nsdi23-trace, in a folder above the binary (a build folder finds the
 * checkout's copy one level up, and the workplace's shared/ two levels up). */
static int find_trace_dir(char *out, size_t len)
{
    const char *env = getenv("ZEUS_BSO_TRACE_DIR");
    char exe[PATH_MAX];
    ssize_t n;

    if (env && *env) {
        snprintf(out, len, "%s", env);
        return 0;
    }
    n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    for (char *slash = strrchr(exe, '/'); slash; slash = strrchr(exe, '/')) {
        *slash = '\0';
        if ((size_t)snprintf(out, len, "%s/%s", exe, TRACE_SUBDIR_IN_TREE) < len &&
            is_trace_dir(out))
            return 0;
        if ((size_t)snprintf(out, len, "%s/%s", exe, TRACE_SUBDIR) < len && is_trace_dir(out))
            return 0;
    }
    return -1;
}

/* ---- Output ---------------------------------------------------------------------------- */

struct outcome {
    const char *gpu;
    struct bso_workload w;
    const struct bso_workload_trace *wt;
    int recurrences;
    struct bso_sim_result r;
};

static double saving(double zeus, double base) { return 100.0 * (1.0 - zeus / base); }

static void print_header(void)
{
    printf("%-8s %-32s %5s %5s %12s %12s %7s %10s %10s %7s %5s\n", "GPU", "WORKLOAD", "B0",
           "RECUR", "ZEUS_MJ", "BASE_MJ", "SAVE_E%", "ZEUS_H", "BASE_H", "SAVE_T%", "LAST");
}

static void print_row(const struct outcome *o)
{
    static int header_done; /* printed with the first row, so an error leaves stdout empty */
    char name[3 * BSO_TRACE_NAME_MAX];

    if (!header_done++)
        print_header();

    snprintf(name, sizeof name, "%s/%s", o->w.dataset, o->w.network);
    printf("%-8s %-32s %5d %5d %12.3f %12.3f %7.1f %10.2f %10.2f %7.1f %5d\n", o->gpu, name,
           o->w.default_batch_size, o->recurrences, o->r.energy / 1e6, o->r.baseline_energy / 1e6,
           saving(o->r.energy, o->r.baseline_energy), o->r.time / 3600.0,
           o->r.baseline_time / 3600.0, saving(o->r.time, o->r.baseline_time),
           o->r.runs[o->r.num_runs - 1].batch_size);
}

/*
 * A number written so it reads back as the same double (cJSON's own printing settles for
 * 15 digits when they come within an epsilon): the shortest of 15, 16 or 17 digits that
 * round-trips, as Python's repr would mostly write it.
 */
static void add_exact(cJSON *obj, const char *name, double x)
{
    char buf[40];

    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    cJSON_AddRawToObject(obj, name, buf);
}

static cJSON *runs_json(const struct bso_sim_result *r)
{
    cJSON *list = cJSON_CreateArray();

    for (size_t i = 0; list && i < r->num_runs; i++) {
        const struct bso_sim_run *x = &r->runs[i];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "recurrence", x->recurrence);
        cJSON_AddNumberToObject(e, "batch_size", x->batch_size);
        cJSON_AddNumberToObject(e, "power_limit", x->power_limit);
        add_exact(e, "energy", x->energy);
        add_exact(e, "time", x->time);
        cJSON_AddBoolToObject(e, "reached", x->reached);
        cJSON_AddItemToArray(list, e);
    }
    return list;
}

static cJSON *outcome_json(const struct outcome *o, const struct sim_args *a)
{
    cJSON *j = cJSON_CreateObject(), *sizes = cJSON_CreateArray(), *zeus, *base;

    cJSON_AddStringToObject(j, "gpu", o->gpu);
    cJSON_AddStringToObject(j, "dataset", o->w.dataset);
    cJSON_AddStringToObject(j, "network", o->w.network);
    cJSON_AddStringToObject(j, "optimizer", o->w.optimizer);
    cJSON_AddNumberToObject(j, "target_metric", o->w.target_metric);
    cJSON_AddNumberToObject(j, "max_epochs", o->w.max_epochs);
    cJSON_AddNumberToObject(j, "default_batch_size", o->w.default_batch_size);
    for (size_t i = 0; i < o->wt->num_sizes; i++)
        cJSON_AddItemToArray(sizes, cJSON_CreateNumber(o->wt->sizes[i].batch_size));
    cJSON_AddItemToObject(j, "batch_sizes", sizes);
    cJSON_AddNumberToObject(j, "max_power", o->wt->max_power);
    cJSON_AddNumberToObject(j, "eta", a->eta);
    if (isinf(a->beta))
        cJSON_AddNullToObject(j, "beta");
    else
        cJSON_AddNumberToObject(j, "beta", a->beta);
    cJSON_AddNumberToObject(j, "seed", (double)a->seed);
    cJSON_AddNumberToObject(j, "recurrences", o->recurrences);
    zeus = cJSON_AddObjectToObject(j, "zeus");
    add_exact(zeus, "energy", o->r.energy);
    add_exact(zeus, "time", o->r.time);
    cJSON_AddNumberToObject(zeus, "num_runs", (double)o->r.num_runs);
    cJSON_AddNumberToObject(zeus, "last_batch_size", o->r.runs[o->r.num_runs - 1].batch_size);
    cJSON_AddNumberToObject(zeus, "rejected_reports", (double)o->r.rejected_reports);
    base = cJSON_AddObjectToObject(j, "baseline");
    cJSON_AddNumberToObject(base, "batch_size", o->w.default_batch_size);
    cJSON_AddNumberToObject(base, "power_limit", o->r.baseline_power_limit);
    add_exact(base, "energy", o->r.baseline_energy);
    add_exact(base, "time", o->r.baseline_time);
    cJSON_AddNumberToObject(j, "energy_saving_percent", saving(o->r.energy, o->r.baseline_energy));
    cJSON_AddNumberToObject(j, "time_saving_percent", saving(o->r.time, o->r.baseline_time));
    cJSON_AddItemToObject(j, "runs", runs_json(&o->r));
    return j;
}

/* ---- Running ---------------------------------------------------------------------------- */

/* The workload to run for defaults[k] (or the --dataset one when k < 0) on trace t. */
static int pick_workload(const struct sim_args *a, const struct bso_trace *t, int k,
                         struct bso_workload *w)
{
    int bmax;

    if (k >= 0)
        *w = defaults[k];
    else {
        size_t i = 0;
        while (i < NUM_DEFAULTS && strcmp(defaults[i].dataset, a->dataset) != 0)
            i++;
        if (i < NUM_DEFAULTS)
            *w = defaults[i];
        else {
            memset(w, 0, sizeof *w);
            w->target_metric = NAN;
        }
        if (strlen(a->dataset) >= sizeof w->dataset)
            return cli_usage_error(CMD, "--dataset '%s' is too long", a->dataset);
        snprintf(w->dataset, sizeof w->dataset, "%s", a->dataset);
    }
    bmax = bso_trace_max_batch_size(t, w->dataset);
    if (w->default_batch_size > bmax) /* run_alibaba.py: min(b0, bmax) */
        w->default_batch_size = bmax;
    if (k >= 0)
        return 0;
    if (a->network)
        snprintf(w->network, sizeof w->network, "%s", a->network);
    if (a->optimizer)
        snprintf(w->optimizer, sizeof w->optimizer, "%s", a->optimizer);
    if (!isnan(a->target_metric))
        w->target_metric = a->target_metric;
    if (a->max_epochs)
        w->max_epochs = a->max_epochs;
    if (a->default_batch_size)
        w->default_batch_size = a->default_batch_size;
    if (!w->network[0] || !w->optimizer[0] || isnan(w->target_metric) || !w->max_epochs ||
        !w->default_batch_size)
        return cli_usage_error(CMD, "'%s' is not one of Zeus's workloads: give --network, "
                               "--optimizer, --target-metric, --max-epochs and "
                               "--default-batch-size", a->dataset);
    return 0;
}

/* Simulate one workload; prints its row (or adds its JSON). Returns an exit code. */
static int simulate_one(const struct sim_args *a, const struct bso_trace *t,
                        const struct bso_workload *w, cJSON *json)
{
    struct outcome o = {.gpu = t->gpu, .w = *w};
    struct bso_workload_trace wt;
    char err[512];

    if (bso_workload_trace_build(t, w, &wt, err, sizeof err))
        return cli_usage_error(CMD, "%s", err);
    o.wt = &wt;
    o.recurrences = a->recurrences ? a->recurrences : bso_sim_default_recurrences(&wt);
    struct bso_sim_config c = {*w, t->gpu, a->eta, a->beta, a->seed, o.recurrences,
                               a->verbose ? stderr : NULL};
    if (bso_sim_run(&wt, &c, &o.r, err, sizeof err)) {
        fprintf(stderr, "zeus %s: %s on %s: %s\n", CMD, w->dataset, t->gpu, err);
        bso_workload_trace_free(&wt);
        return CLI_EXIT_FAILURE;
    }
    if (json)
        cJSON_AddItemToArray(json, outcome_json(&o, a));
    else
        print_row(&o);
    if (o.r.rejected_reports)
        fprintf(stderr, "zeus %s: %s on %s: the optimizer refused %zu reports (as Zeus's "
                "server would; --verbose shows them)\n", CMD, w->dataset, t->gpu,
                o.r.rejected_reports);
    bso_sim_result_free(&o.r);
    bso_workload_trace_free(&wt);
    return CLI_EXIT_OK;
}

static int simulate_gpu(const struct sim_args *a, const char *dir, const char *gpu,
                        cJSON *json)
{
    struct bso_trace t;
    struct bso_workload w;
    char err[512];
    int rc = 0;

    if (bso_trace_load(dir, gpu, &t, err, sizeof err))
        return cli_usage_error(CMD, "%s", err);
    if (a->dataset) { /* the one workload asked for */
        rc = pick_workload(a, &t, -1, &w);
        if (rc == 0)
            rc = simulate_one(a, &t, &w, json);
    }
    for (size_t k = 0; !a->dataset && rc == 0 && k < NUM_DEFAULTS; k++) { /* or every one */
        rc = pick_workload(a, &t, (int)k, &w);
        if (rc == 0)
            rc = simulate_one(a, &t, &w, json);
    }
    bso_trace_free(&t);
    return rc;
}

int cli_bso_simulate(int argc, char **argv)
{
    struct sim_args a;
    char dir[PATH_MAX];
    cJSON *json = NULL;
    int rc;

    if (argc > 1 && cli_is_help(argv[1])) {
        fputs(usage, stdout);
        return CLI_EXIT_OK;
    }
    if ((rc = parse_args(argc, argv, &a)) != 0)
        return rc;
    if (a.trace_dir)
        snprintf(dir, sizeof dir, "%s", a.trace_dir);
    else if (find_trace_dir(dir, sizeof dir))
        return cli_usage_error(CMD, "no NSDI'23 traces found: give --trace-dir DIR (the folder "
                                    "with summary_train.csv) or set ZEUS_BSO_TRACE_DIR");
    if (a.json && !(json = cJSON_CreateArray()))
        return CLI_EXIT_FAILURE;
    for (size_t g = 0; g < 4 && rc == 0; g++)
        if (strcmp(a.gpu, "all") == 0 || strcmp(a.gpu, bso_trace_gpus[g]) == 0)
            rc = simulate_gpu(&a, dir, bso_trace_gpus[g], json);
    if (json && rc == 0) {
        char *text = cJSON_Print(json);
        if (!text)
            rc = CLI_EXIT_FAILURE;
        else {
            puts(text);
            free(text);
        }
    }
    cJSON_Delete(json);
    return rc;
}
