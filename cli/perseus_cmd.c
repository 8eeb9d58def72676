/*
 * perseus_cmd.c - `zeus perseus plan`: Perseus's offline planner. From a per-instruction
 * profile it writes, for every step of lowtime's time-cost trade-off, the GPU frequency of each
 * pipeline instruction (freqs_pipeline_%05d.py, which the PFO server's PointSolution scheduler
 * reads) and summary.csv; Zeus does this with examples/pipeline_frequency_optimizer/
 * run_optimization.py over lowtime. The algorithm is perseus/ (one job per file there); this
 * file holds the options, the output folder, and the progress bar.
 *
 * Errors are one line on stderr; bad options exit 2, a refused profile or a failed fit exit 1.
 * Zeus's script also draws the pipeline every 100 iterations and each cost model (matplotlib
 * PNGs) and logs to job.log; those are not made here.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "perseus.h"

#define CMD "perseus plan"

static const char usage_top[] =
    "NAME\n"
    "    zeus perseus - Perseus, the pipeline frequency optimizer\n"
    "\n"
    "SYNOPSIS\n"
    "    zeus perseus plan [OPTIONS]   (`zeus perseus plan --help`)\n";

static const char usage[] =
    "NAME\n"
    "    zeus perseus plan - plan GPU frequencies per pipeline instruction (lowtime's solver)\n"
    "\n"
    "SYNOPSIS\n"
    "    zeus perseus plan --profile CSV --stages S --micro-batches M --output-dir DIR\n"
    "                      [--p2p-power W] [--unit-time S] [--noise-factor F]\n"
    "                      [--fit best|first]\n"
    "\n"
    "DESCRIPTION\n"
    "    Runs Perseus's offline optimization (Zeus's run_optimization.py over lowtime 0.2.0)\n"
    "    for a synchronous 1F1B pipeline of S stages and M micro-batches. For each stage's\n"
    "    forward and backward it keeps the profiled frequencies on the time-energy Pareto front\n"
    "    (with a noise factor when 3 or fewer survive), fits energy(t) = a*exp(b*t) + c, and\n"
    "    starts from every instruction at its slowest frequency; each iteration then shortens\n"
    "    the iteration time by one unit time at the least added energy (Phillips-Dessouky),\n"
    "    until it can shorten no more. A higher file number is a faster, costlier plan.\n"
    "\n"
    "    --profile CSV        columns stage,instruction,frequency,time,energy (seconds,\n"
    "                         joules; instruction forward or backward; others ignored)\n"
    "    --stages S           pipeline stages (the profile needs stages 0..S-1)\n"
    "    --micro-batches M    micro-batches per iteration\n"
    "    --output-dir DIR     created if missing; must be empty if it exists\n"
    "    --p2p-power W        GPU power while blocked on P2P communication (70); energy\n"
    "                         is counted as what it adds above that\n"
    "    --unit-time S        the time step, seconds, 1e-6 to 1 (0.001)\n"
    "    --noise-factor F     Pareto slack, 0 < F <= 1 (0.95)\n"
    "    --fit best|first     cost model: lowest error over lowtime's grid of initial guesses\n"
    "                         (best, Zeus's example) or the first that fits (lowtime's default)\n"
    "\n"
    "OUTPUT\n"
    "    DIR/freqs_pipeline_%05d.py per iteration: a Python list with one list per stage of\n"
    "    ('forward'|'backward', MHz) in execution order, then the iteration's cost change,\n"
    "    total cost, and total cost with P2P as comments. DIR/summary.csv: iteration,\n"
    "    cost_change, cost (J), quant_time (unit times), real_time (s). A progress bar goes\n"
    "    to stderr when it is a terminal; a closing line says what was written.\n";

struct plan_args {
    const char *profile, *output_dir;
    unsigned stages, micro_batches;
    double p2p_power, unit_time, noise_factor;
    perseus_fit_strategy fit;
};

/* ---- Options ------------------------------------------------------------------------------ */

static int parse_real(const char *opt, const char *text, double lo, int lo_open, double hi,
                      double *out)
{
    char upto[40] = "";

    if (!isinf(hi))
        snprintf(upto, sizeof upto, " up to %g", hi);
    if (cli_scan_double(text, out) != 0 || *out < lo || (lo_open && *out == lo) || *out > hi)
        return cli_usage_error(CMD, "%s must be a number %s %g%s, not '%s'", opt,
                               lo_open ? "above" : "from", lo, upto, text);
    return 0;
}

static int parse_args(int argc, char **argv, struct plan_args *a)
{
    const char *stages = NULL, *mbs = NULL, *p2p = NULL, *unit = NULL, *noise = NULL,
               *fit = NULL;

    memset(a, 0, sizeof *a);
    a->p2p_power = 70.0;
    a->unit_time = 0.001;
    a->noise_factor = 0.95;
    a->fit = PERSEUS_FIT_BEST;
    for (int i = 1; i < argc; i++) {
        static const char *const names[] = {"--profile",   "--stages",    "--micro-batches",
                                            "--output-dir", "--p2p-power", "--unit-time",
                                            "--noise-factor", "--fit"};
        const char **slots[] = {&a->profile, &stages, &mbs, &a->output_dir, &p2p, &unit, &noise,
                                &fit};
        int matched = 0;
        for (size_t k = 0; k < sizeof names / sizeof names[0] && !matched; k++) {
            const char *v;
            int m = cli_option_value(CMD, argc, argv, &i, names[k], &v);
            if (m < 0)
                return -1;
            if (m > 0) {
                *slots[k] = v;
                matched = 1;
            }
        }
        if (!matched)
            return cli_usage_error(CMD, "unknown %s '%s'",
                                   argv[i][0] == '-' ? "option" : "argument", argv[i]);
    }
    if (a->profile == NULL || stages == NULL || mbs == NULL || a->output_dir == NULL)
        return cli_usage_error(CMD, "--profile, --stages, --micro-batches and --output-dir are "
                                    "required");
    if (cli_parse_unsigned(CMD, "--stages", stages, 1, 4096, &a->stages) != 0 ||
        cli_parse_unsigned(CMD, "--micro-batches", mbs, 1, 65536, &a->micro_batches) != 0)
        return -1;
    if ((unsigned long)a->stages * a->micro_batches > 1UL << 20)
        return cli_usage_error(CMD, "--stages x --micro-batches must be at most 1048576");
    if ((p2p && parse_real("--p2p-power", p2p, 0, 0, INFINITY, &a->p2p_power) != 0) ||
        (unit && parse_real("--unit-time", unit, 1e-6, 0, 1, &a->unit_time) != 0) ||
        (noise && parse_real("--noise-factor", noise, 0, 1, 1, &a->noise_factor) != 0))
        return -1;
    if (fit != NULL) {
        if (strcmp(fit, "best") == 0)
            a->fit = PERSEUS_FIT_BEST;
        else if (strcmp(fit, "first") == 0)
            a->fit = PERSEUS_FIT_FIRST;
        else
            return cli_usage_error(CMD, "--fit must be best or first, not '%s'", fit);
    }
    return 0;
}

/* ---- The output folder -------------------------------------------------------------------- */

/* mkdir -p; then refuse a folder that holds anything, so that plans of two runs never mix
 * (Zeus's script refuses any existing folder; an empty one is accepted here, so that a
 * caller may make it first). */
static int prepare_dir(const char *dir)
{
    char *path = strdup(dir);
    DIR *d;
    struct dirent *e;
    int used = 0;

    if (path == NULL)
        return -1;
    for (char *p = path + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(path, 0777) != 0 && errno != EEXIST) {
                fprintf(stderr, "zeus %s: cannot create %s: %s\n", CMD, path, strerror(errno));
                free(path);
                return -1;
            }
            *p = '/';
        }
    free(path);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "zeus %s: cannot create %s: %s\n", CMD, dir, strerror(errno));
        return -1;
    }
    d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "zeus %s: cannot open %s: %s\n", CMD, dir, strerror(errno));
        return -1;
    }
    while (!used && (e = readdir(d)) != NULL)
        used = strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    if (used) {
        fprintf(stderr, "zeus %s: %s is not empty; give a new or empty --output-dir\n", CMD,
                dir);
        return -1;
    }
    return 0;
}

/* ---- Specs: filter and fit each stage's forward and backward ------------------------------ */

static int make_specs(const struct plan_args *a, const perseus_profile *p, perseus_spec *specs)
{
    static const char *const inst_names[2] = {"forward", "backward"};
    perseus_option *all = malloc((p->count ? p->count : 1) * sizeof *all);
    perseus_error err;

    if (all == NULL) {
        fprintf(stderr, "zeus %s: out of memory\n", CMD);
        return -1;
    }
    for (unsigned s = 0; s < a->stages; s++)
        for (int inst = 0; inst < 2; inst++) {
            perseus_spec *sp = &specs[s * 2 + inst];
            perseus_option *cand = malloc((p->count ? p->count : 1) * sizeof *cand);
            char what[64];
            size_t n;
            if (cand == NULL) {
                free(all);
                fprintf(stderr, "zeus %s: out of memory\n", CMD);
                return -1;
            }
            n = perseus_options_from_profile(p, (int)s, inst, a->unit_time, a->p2p_power, all);
            sp->cand = cand;
            sp->count = perseus_options_candidates(all, n, a->noise_factor, cand);
            snprintf(what, sizeof what, "stage %u %s", s, inst_names[inst]);
            if (perseus_cost_fit(cand, sp->count, a->unit_time, a->fit, what, sp->abc, &err) !=
                PERSEUS_OK) {
                free(all);
                fprintf(stderr, "zeus %s: %s\n", CMD, err.msg);
                return -1;
            }
        }
    free(all);
    return 0;
}

static void free_specs(perseus_spec *specs, unsigned count)
{
    for (unsigned i = 0; i < count; i++)
        free((void *)specs[i].cand);
    free(specs);
}

/* ---- Running ------------------------------------------------------------------------------ */

/* A one-line bar on stderr, redrawn only when its text changes. */
static void progress(int tty, long done, long expected, long quant_time, int *last_pct)
{
    int pct, width = 30, fill;

    if (!tty)
        return;
    if (done > expected)
        expected = done;
    pct = (int)(100 * done / (expected > 0 ? expected : 1));
    if (pct == *last_pct)
        return;
    *last_pct = pct;
    fill = width * pct / 100;
    fprintf(stderr, "\r[%.*s%*s] %3d%%  iteration %ld/%ld  time %ld", fill,
            "##############################", width - fill, "", pct, done, expected,
            quant_time);
    fflush(stderr);
}

static int write_plan_file(const char *dir, const perseus_dag *d, const perseus_solver *s,
                           const perseus_iteration *it, double p2p)
{
    struct cli_out_file o;
    char path[4096];

    snprintf(path, sizeof path, "%s/freqs_pipeline_%05d.py", dir, it->iteration);
    if (cli_out_file_open(&o, path) != 0) {
        fprintf(stderr, "zeus %s: cannot write %s: %s\n", CMD, path, strerror(errno));
        return -1;
    }
    if (perseus_write_plan(o.f, d, s, it, p2p) != 0 || cli_out_file_commit(&o) != 0) {
        fprintf(stderr, "zeus %s: cannot write %s: %s\n", CMD, path, strerror(errno));
        cli_out_file_abort(&o);
        return -1;
    }
    return 0;
}

static int solve(const struct plan_args *a, const perseus_spec *specs)
{
    perseus_dag d;
    perseus_error err;
    perseus_solver *s = NULL;
    perseus_iteration it, first = {0}, last = {0};
    struct cli_out_file summary;
    char path[4096];
    const char *why = NULL;
    int rc = 1, step, tty = isatty(STDERR_FILENO), pct = -1;
    long n = 0;

    if (perseus_dag_build((int)a->stages, (int)a->micro_batches, &d, &err) != PERSEUS_OK) {
        fprintf(stderr, "zeus %s: %s\n", CMD, err.msg);
        return 1;
    }
    if (perseus_solver_create(&d, specs, a->unit_time, &s, &err) != PERSEUS_OK) {
        fprintf(stderr, "zeus %s: %s\n", CMD, err.msg);
        perseus_dag_free(&d);
        return 1;
    }
    snprintf(path, sizeof path, "%s/summary.csv", a->output_dir);
    if (cli_out_file_open(&summary, path) != 0) {
        fprintf(stderr, "zeus %s: cannot write %s: %s\n", CMD, path, strerror(errno));
        goto out;
    }
    perseus_write_summary_header(summary.f);
    while ((step = perseus_solver_step(s, &it, &why)) == 1) {
        if (n == 0)
            first = it;
        last = it;
        n++;
        if (perseus_write_summary_row(summary.f, &it) != 0 ||
            write_plan_file(a->output_dir, &d, s, &it, a->p2p_power) != 0) {
            cli_out_file_abort(&summary);
            goto out;
        }
        progress(tty, n, perseus_solver_expected(s), it.quant_time, &pct);
    }
    if (tty && pct >= 0) {
        progress(tty, n, n, last.quant_time, &pct); /* lowtime's estimate can be one over */
        fputc('\n', stderr);
    }
    if (step < 0) {
        fprintf(stderr, "zeus %s: out of memory while solving\n", CMD);
        cli_out_file_abort(&summary);
        goto out;
    }
    if (cli_out_file_commit(&summary) != 0) {
        fprintf(stderr, "zeus %s: cannot write %s: %s\n", CMD, path, strerror(errno));
        goto out;
    }
    if (n == 0)
        printf("zeus %s: no iteration (%s); wrote %s\n", CMD, why ? why : "done", path);
    else
        printf("zeus %s: %ld plans in %s, iteration time %ld to %ld x %g s, cost %.6g to "
               "%.6g J (%s)\n",
               CMD, n, a->output_dir, first.quant_time, last.quant_time, a->unit_time,
               first.cost, last.cost, why ? why : "done");
    rc = 0;
out:
    perseus_solver_destroy(s);
    perseus_dag_free(&d);
    return rc;
}

static int plan(int argc, char **argv)
{
    struct plan_args a;
    perseus_profile p;
    perseus_error err;
    perseus_spec *specs;
    int rc;

    if (argc >= 2 && cli_is_help(argv[1])) {
        fputs(usage, stdout);
        return CLI_EXIT_OK;
    }
    if (parse_args(argc, argv, &a) != 0)
        return CLI_EXIT_USAGE;
    if (perseus_profile_read(a.profile, &p, &err) != PERSEUS_OK ||
        perseus_profile_check(&p, (int)a.stages, &err) != PERSEUS_OK) {
        fprintf(stderr, "zeus %s: %s\n", CMD, err.msg);
        perseus_profile_free(&p);
        return CLI_EXIT_FAILURE;
    }
    specs = calloc((size_t)a.stages * 2, sizeof *specs);
    if (specs == NULL || make_specs(&a, &p, specs) != 0) {
        if (specs == NULL)
            fprintf(stderr, "zeus %s: out of memory\n", CMD);
        else
            free_specs(specs, a.stages * 2);
        perseus_profile_free(&p);
        return CLI_EXIT_FAILURE;
    }
    perseus_profile_free(&p);
    if (prepare_dir(a.output_dir) != 0) {
        free_specs(specs, a.stages * 2);
        return CLI_EXIT_FAILURE;
    }
    rc = solve(&a, specs);
    free_specs(specs, a.stages * 2);
    return rc == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}

int cli_perseus(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_top, stderr);
        return CLI_EXIT_USAGE;
    }
    if (cli_is_help(argv[1])) {
        fputs(usage_top, stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "plan") == 0)
        return plan(argc - 1, argv + 1);
    fprintf(stderr, "zeus perseus: unknown command '%s'; see 'zeus perseus --help'\n", argv[1]);
    return CLI_EXIT_USAGE;
}
