/*
 * run.c - `zeus run`: measure the energy a command uses over its whole lifetime.
 *
 * One monitor window spans the command, from just before fork to just after it exits. The
 * report goes to stderr, so that the command's own stdout stays clean for pipes; with --json
 * zeus prints nothing but the JSON object on stdout (after whatever the command printed
 * there). zeus exits with the command's status, so that `zeus run -- make` can stand in for
 * `make` in scripts; see child.c for how the command is started and waited for.
 *
 * With -r N (and --warmup K) one monitor serves the whole series: each measured run gets a
 * window of its own (so the CSV log gets a row per run), warmup runs get none, and series.c
 * keeps the statistics. -r 1 takes the single-run path and reports as zeus always has.
 *
 * With --carbon and --price, run_emission.c opens carbon and cost windows beside each
 * measured run's window, on the same monitor, and reports what the run's energy caused.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "run_emission.h"

#define WINDOW_NAME "zeus.run"
#define MAX_RUNS 1000000u /* for -r and --warmup: a typo's bound, not a memory one (series.c) */

static const char usage[] =
    "NAME\n"
    "    zeus run - measure the energy a command uses\n"
    "\n"
    "SYNOPSIS\n"
    "    zeus run [--gpus LIST] [--cpus LIST] [--json] [--csv FILE] [--approx-instant-energy]\n"
    "             [-r N] [--warmup K] [--cooldown S] [--carbon PROVIDER] [--price PROVIDER]\n"
    "             [--] COMMAND [ARG...]\n"
    "\n"
    "DESCRIPTION\n"
    "    Runs COMMAND and measures the time it takes and the energy each GPU, CPU package and\n"
    "    DRAM zone uses while it runs, from when it starts until it exits. Then prints a table\n"
    "    of the time, each device's energy and average power, and the total, on stderr (the\n"
    "    command's stdout is left for it alone).\n"
    "\n"
    "    The total adds the GPU, CPU package and DRAM energy that was measured. It differs\n"
    "    from Zeus's Measurement.total_energy (and zeus_measurement_total_energy()), which\n"
    "    adds the GPUs only.\n"
    "\n"
    "    With -r N, zeus runs COMMAND K times unmeasured (--warmup), then N times measured,\n"
    "    as perf stat -r does, printing a line as each run ends and then, for the time and\n"
    "    each row of the table, the mean +- the sample standard deviation (and that relative\n"
    "    to the mean), the min and the max over the runs that succeeded. The first run that\n"
    "    fails (exits non-zero or is killed) ends the series: no more runs, and the\n"
    "    statistics of those before it are still printed.\n"
    "\n"
    "    Ctrl-C reaches the command from the terminal; zeus waits for the command to exit and\n"
    "    still reports. SIGTERM and SIGHUP sent to zeus are passed on to the command. In a\n"
    "    series, Ctrl-C, SIGTERM and SIGHUP also end it after the run in progress (at once\n"
    "    during a cooldown).\n"
    "\n"
    "OPTIONS\n"
    "    --gpus LIST   GPUs to measure: all (default), none, or indices such as 0,2, numbered\n"
    "                  as CUDA_VISIBLE_DEVICES numbers them.\n"
    "    --cpus LIST   CPU packages to measure: all (default; packages whose counters cannot\n"
    "                  be read are left out with a warning), none, or indices such as 0,1.\n"
    "    --json        Print only one JSON object on stdout, after the command exits:\n"
    "                  {\"command\": [\"sleep\", \"1\"], \"exit_code\": 0, \"time_s\": 1.003,\n"
    "                   \"gpu_energy_j\": {\"0\": 80.2}, \"cpu_energy_j\": {\"0\": 31.2},\n"
    "                   \"dram_energy_j\": {\"0\": 4.1}, \"total_energy_j\": 115.5}\n"
    "                  Keys are device indices. A kind not measured is an empty object; a\n"
    "                  device that failed is null; a package without DRAM has no DRAM key.\n"
    "                  On a Jetson, \"soc_energy_j\": {\"cpu\", \"gpu\", \"total\"} holds the\n"
    "                  SoC's rails (null for a rail the board lacks); elsewhere no such key.\n"
    "                  With no GPU or CPU measured there, total_energy_j is the total rail.\n"
    "                  Redirect the command's own stdout if you parse this. Nothing is\n"
    "                  printed when the command could not be started.\n"
    "    --csv FILE    Also write the measurement to FILE in Zeus's CSV log format (one row\n"
    "                  per measured run).\n"
    "    -r, --repeat N\n"
    "                  Measure N runs (1 to 1000000; default 1, reported as above). With\n"
    "                  --json and N > 1 the object holds \"repeat\", \"warmup\", \"runs\"\n"
    "                  (per measured run: \"exit_code\", \"signal\" if killed, and a single\n"
    "                  run's time and energy keys) and \"mean\", \"stddev\", \"min\", \"max\"\n"
    "                  (each with those time and energy keys, soc_energy_j on a Jetson\n"
    "                  included, over the runs that exited 0;\n"
    "                  null when none did), and \"interrupted_by\": \"SIGINT\" when a signal\n"
    "                  to zeus ended the series early. Nothing is printed when no run was\n"
    "                  measured (a warmup run failed).\n"
    "    --warmup K    Run COMMAND K times first, unmeasured (default 0).\n"
    "    --cooldown S  Sleep S seconds (a decimal number, default 0) between two runs,\n"
    "                  warmup runs included, so that the devices cool down.\n"
    "    --carbon PROVIDER\n"
    "                  Also report the grams of CO2-equivalent each device's energy caused,\n"
    "                  each hour's energy at that hour's carbon intensity. PROVIDER is\n"
    "                  fixed:G_PER_KWH, csv:FILE, or electricitymaps:LAT,LON. --json adds\n"
    "                  \"carbon_g\": {\"gpu\": {\"0\": g}, \"cpu\": {...}, \"dram\": {...},\n"
    "                  \"total\": g, \"hours\": N, \"flags\": [...]}; flags may hold\n"
    "                  \"estimated\" (an hour lacked a value: the nearest hour's was used),\n"
    "                  \"stale\" and \"pending\" (the provider did not answer: the amounts are\n"
    "                  null, and a warning says so).\n"
    "    --price PROVIDER\n"
    "                  Also report what the energy cost, as --carbon does: fixed:PRICE_PER_KWH,\n"
    "                  csv:FILE, or openei:LAT,LON:LABEL. --json adds \"cost\", with the\n"
    "                  keys of \"carbon_g\" and \"currency\": \"USD\".\n"
    "    --approx-instant-energy\n"
    "                  A GPU whose energy reads 0 (the command ran for less than the energy\n"
    "                  counter's ~100 ms update step) gets its instant power x the time,\n"
    "                  as Zeus's approx_instant_energy option. Off by default, as in Zeus.\n"
    "    -h, --help    Print this text.\n"
    "\n"
    "EXIT STATUS\n"
    "    The command's exit status, or 128 + N when signal N killed it (the report names\n"
    "    the signal, and --json adds \"signal\": \"SIGSEGV\"). With -r or --warmup, that of\n"
    "    the first run that failed; 128 + N when signal N to zeus ended the series with a\n"
    "    run still to go (its last run succeeded). Otherwise:\n"
    "    2    a bad option, or a device that does not exist\n"
    "    125  zeus itself failed: before the command ran (devices not usable, CSV file not\n"
    "         writable), or after a successful command, when the --json report could not\n"
    "         be printed\n"
    "    126  the command was found but cannot be executed\n"
    "    127  the command was not found\n"
    "\n"
    "ENVIRONMENT\n"
    "    CUDA_VISIBLE_DEVICES, ZEUS_NVML_LIBRARY, ZEUS_SYSFS_ROOT (see README.md).\n"
    "\n"
    "EXAMPLES\n"
    "    zeus run -- python train.py\n"
    "    zeus run --gpus 0 --cpus none --json -- ./bench > /dev/null\n"
    "    zeus run -r 10 --warmup 2 --cooldown 5 -- python infer.py\n"
    "    zeus run --carbon electricitymaps:42.28,-83.74 --price fixed:0.12 -- python train.py\n";

struct run_args {
    struct cli_device_list gpus, cpus;
    int json;
    int approx_instant_energy;
    const char *csv;
    const char *carbon, *price; /* --carbon, --price: provider specs */
    unsigned repeat;   /* measured runs, 1 or more */
    unsigned warmup;   /* unmeasured runs before them */
    double cooldown_s; /* pause between two consecutive runs */
    char **command;    /* NULL-terminated, points into argv */
    int command_argc;
};

/* ---- Arguments ------------------------------------------------------------------------- */

/* A count's value (r from cli_option_value); 0, or CLI_EXIT_USAGE after the error. */
static int count_value(int r, const char *name, const char *v, unsigned min, unsigned *out)
{
    if (r < 0 || cli_parse_unsigned("run", name, v, min, MAX_RUNS, out) != 0)
        return CLI_EXIT_USAGE;
    return 0;
}

/* The options of a series: as parse_option, or 1 when argv[*i] is none of them. */
static int parse_series_option(int argc, char **argv, int *i, struct run_args *a)
{
    const char *v;
    int r;

    if ((r = cli_option_value("run", argc, argv, i, "-r", &v)) != 0)
        return count_value(r, "-r", v, 1, &a->repeat);
    if ((r = cli_option_value("run", argc, argv, i, "--repeat", &v)) != 0)
        return count_value(r, "--repeat", v, 1, &a->repeat);
    if ((r = cli_option_value("run", argc, argv, i, "--warmup", &v)) != 0)
        return count_value(r, "--warmup", v, 0, &a->warmup);
    if ((r = cli_option_value("run", argc, argv, i, "--cooldown", &v)) != 0)
        return r < 0 || cli_parse_seconds("run", "--cooldown", v, 0.0, &a->cooldown_s) != 0
                   ? CLI_EXIT_USAGE
                   : 0;
    return 1;
}

/* Handle option argv[*i]; returns 0 when taken, or an exit code (-1: print help). */
static int parse_option(int argc, char **argv, int *i, struct run_args *a)
{
    const char *v;
    int r;

    if (cli_is_help(argv[*i]))
        return -1;
    if (strcmp(argv[*i], "--json") == 0) {
        a->json = 1;
        return 0;
    }
    if (strcmp(argv[*i], "--approx-instant-energy") == 0) {
        a->approx_instant_energy = 1;
        return 0;
    }
    if ((r = cli_option_value("run", argc, argv, i, "--gpus", &v)) != 0)
        return r < 0 || cli_parse_device_list("run", "--gpus", v, &a->gpus) ? CLI_EXIT_USAGE : 0;
    if ((r = cli_option_value("run", argc, argv, i, "--cpus", &v)) != 0)
        return r < 0 || cli_parse_device_list("run", "--cpus", v, &a->cpus) ? CLI_EXIT_USAGE : 0;
    if ((r = cli_option_value("run", argc, argv, i, "--csv", &v)) != 0) {
        if (r < 0)
            return CLI_EXIT_USAGE;
        if (*v == '\0')
            return cli_usage_error("run", "--csv: empty file name");
        a->csv = v;
        return 0;
    }
    if ((r = cli_option_value("run", argc, argv, i, "--carbon", &v)) != 0) {
        a->carbon = v;
        return r < 0 ? CLI_EXIT_USAGE : 0;
    }
    if ((r = cli_option_value("run", argc, argv, i, "--price", &v)) != 0) {
        a->price = v;
        return r < 0 ? CLI_EXIT_USAGE : 0;
    }
    if ((r = parse_series_option(argc, argv, i, a)) != 1)
        return r;
    return cli_usage_error("run", "unknown option '%s'", argv[*i]);
}

/* Options come first; the command starts after "--" or at the first non-option. */
static int parse_args(int argc, char **argv, struct run_args *a)
{
    int i;

    memset(a, 0, sizeof *a);
    a->gpus.all = 1;
    a->cpus.all = 1;
    a->repeat = 1;
    for (i = 1; i < argc; i++) {
        int rc;

        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if (argv[i][0] != '-' || argv[i][1] == '\0')
            break;
        if ((rc = parse_option(argc, argv, &i, a)) != 0)
            return rc;
    }
    if (i >= argc)
        return cli_usage_error("run", "no command given");
    a->command = argv + i;
    a->command_argc = argc - i;
    return 0;
}

/* ---- Measuring ------------------------------------------------------------------------- */

/* mkdir -p for the folders above `path`, as the library does for its log; 0 or -1 + errno. */
static int make_parents(const char *path)
{
    char buf[4096];

    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return 0;
}

/*
 * The library opens the CSV log and answers a folder it cannot create with
 * ZEUS_ERR_NOT_FOUND, which reads like a missing device (exit 2); try the file here first so
 * that every unwritable path gets one status, 125, whatever the cause.
 */
static int check_csv(const char *path)
{
    FILE *f = make_parents(path) == 0 ? fopen(path, "a") : NULL;

    if (f != NULL) {
        fclose(f);
        return 0;
    }
    fprintf(stderr, "zeus run: cannot write the CSV file %s: %s\n", path, strerror(errno));
    return CLI_EXIT_RUN_FAILED;
}

/* A failed create is the user's mistake (exit 2) when it names a device or option. */
static int create_monitor(const struct run_args *a, zeus_monitor **mon)
{
    zeus_monitor_options o;
    zeus_status s;

    zeus_monitor_options_init(&o);
    o.gpu_indices = cli_device_list_indices(&a->gpus, &o.gpu_index_count);
    o.cpu_indices = cli_device_list_indices(&a->cpus, &o.cpu_index_count);
    o.log_file = a->csv;
    o.approx_instant_energy = a->approx_instant_energy;
    o.warn = cli_warn;
    s = zeus_monitor_create(&o, mon);
    if (s == ZEUS_OK)
        return 0;
    fprintf(stderr, "zeus run: %s\n", zeus_last_error());
    if (s == ZEUS_ERR_NOT_FOUND || s == ZEUS_ERR_INVALID_ARGUMENT)
        return CLI_EXIT_USAGE;
    return CLI_EXIT_RUN_FAILED;
}

/* Report a command that never started, as a shell would; returns the shell's exit code. */
static int report_start_failure(const char *command, int err)
{
    fprintf(stderr, "zeus: cannot run %s: %s\n", command, strerror(err));
    if (err == ENOENT || err == ENOTDIR)
        return CLI_EXIT_NOT_FOUND;
    if (err == EAGAIN || err == ENOMEM)
        return CLI_EXIT_RUN_FAILED; /* fork failed: the command itself is not at fault */
    return CLI_EXIT_CANNOT_EXECUTE;
}

/* Run the command once; returns its status or a start failure code. */
static int run_command(const struct run_args *a, struct cli_child *child, int *started)
{
    int err = cli_child_start(child, a->command);

    *started = err == 0;
    if (err != 0)
        return report_start_failure(a->command[0], err);
    return cli_child_wait(child);
}

/* End the window into `m`; 0, or -1 when the measurement is lost (the window is gone). */
static int end_measurement(zeus_monitor *mon, zeus_measurement *m)
{
    /* A whole command is worth the wait (one counter update, ~100 ms) for the final value. */
    zeus_status s = zeus_monitor_end_window(mon, WINDOW_NAME, ZEUS_WINDOW_WAIT_FINAL, m);

    if (s == ZEUS_ERR_NOT_FOUND || s == ZEUS_ERR_INVALID_ARGUMENT) {
        fprintf(stderr, "zeus run: measurement lost: %s\n", zeus_last_error());
        return -1;
    }
    /* other errors still fill `m`, with NAN for the devices that failed */
    if (s != ZEUS_OK)
        fprintf(stderr, "zeus: warning: measurement incomplete: %s\n", zeus_last_error());
    return 0;
}

/* ---- Reporting ------------------------------------------------------------------------- */

/* "exit_code", and "signal" when a signal killed the command. Returns 0, or -1 (no memory). */
static int add_outcome(cJSON *obj, int exit_code, int term_signal)
{
    if (cJSON_AddNumberToObject(obj, "exit_code", exit_code) == NULL)
        return -1;
    if (term_signal != 0 &&
        cJSON_AddStringToObject(obj, "signal", cli_signal_name(term_signal)) == NULL)
        return -1;
    return 0;
}

/* The object every JSON report starts with: "command", then add_outcome's keys. */
static cJSON *json_head(const struct run_args *a, int exit_code, int term_signal)
{
    cJSON *obj = cJSON_CreateObject();
    cJSON *cmd = cJSON_AddArrayToObject(obj, "command");
    int rc = obj != NULL && cmd != NULL ? 0 : -1;

    for (int i = 0; rc == 0 && i < a->command_argc; i++) {
        cJSON *arg = cJSON_CreateString(a->command[i]);
        rc = arg != NULL && cJSON_AddItemToArray(cmd, arg) ? 0 : -1;
    }
    if (rc == 0)
        rc = add_outcome(obj, exit_code, term_signal);
    if (rc == 0)
        return obj;
    cJSON_Delete(obj);
    return NULL;
}

/* Print `obj` (NULL when building it failed) and free it; 0, or -1 after saying so. */
static int print_and_free(cJSON *obj, int rc)
{
    if (obj == NULL)
        rc = -1;
    if (rc == 0)
        rc = cli_print_json(obj);
    cJSON_Delete(obj);
    if (rc != 0) {
        fprintf(stderr, "zeus run: cannot print the JSON report\n");
        return -1;
    }
    return 0;
}

static int print_json(const struct run_args *a, const struct cli_child *child, int exit_code,
                      const zeus_measurement *m, const struct cli_emission_result *er)
{
    cJSON *obj = json_head(a, exit_code, child->term_signal);
    int rc = obj != NULL ? cli_report_json(obj, m) : -1;

    if (rc == 0)
        rc = cli_emission_json(obj, er);
    return print_and_free(obj, rc);
}

/* "zeus: CMD ARG..." without a newline; long commands are cut after 8 words. */
static void print_command(const struct run_args *a)
{
    fprintf(stderr, "zeus: %s", a->command[0]);
    for (int i = 1; i < a->command_argc && i < 8; i++)
        fprintf(stderr, " %s", a->command[i]);
    fputs(a->command_argc > 8 ? " ..." : "", stderr);
}

/* How the command ended, without a newline. */
static void print_outcome(const struct cli_child *child, int exit_code)
{
    /* 139 reads as a status the command chose; say which signal it was */
    if (child->term_signal != 0)
        fprintf(stderr, "was killed by signal %d (%s)", child->term_signal,
                cli_signal_name(child->term_signal));
    else
        fprintf(stderr, "exited with status %d", exit_code);
}

static void print_table(const struct run_args *a, const struct cli_child *child, int exit_code,
                        const zeus_measurement *m, const struct cli_emission_result *er)
{
    print_command(a);
    fputc(' ', stderr);
    print_outcome(child, exit_code);
    fputc('\n', stderr);
    cli_report_table(stderr, m);
    cli_emission_table(stderr, er);
}

/*
 * Report a single run (no -r, or -r 1) as zeus always has. Returns the exit code: the
 * command's status, except that a successful command whose report could not be printed gives
 * CLI_EXIT_RUN_FAILED, since a script that reads the report must not take its absence for
 * success.
 */
static int report_single(const struct run_args *a, const struct cli_child *child,
                         int exit_code, const zeus_measurement *m,
                         const struct cli_emission_result *er)
{
    if (a->json) {
        if (print_json(a, child, exit_code, m, er) != 0 && exit_code == 0)
            return CLI_EXIT_RUN_FAILED;
    } else {
        print_table(a, child, exit_code, m, er);
    }
    return exit_code;
}

/* ---- A series of runs (-r N, --warmup K, --cooldown S) ---------------------------------- */

/*
 * What a series has done so far. The statistics cover the runs that succeeded: a failed run
 * ends the series and is listed (in its progress line and in "runs"), but whatever it
 * measured is not the command's usual work, so it would only skew the mean.
 */
struct series {
    struct cli_series stats; /* the measured runs that exited with status 0 */
    cJSON *runs;             /* --json with N > 1: one object per measured run, else NULL */
    int runs_broken;         /* a run could not be added to `runs` (out of memory) */
    unsigned measured;       /* measured runs that ran, a failed last one included */
    unsigned failed_run;     /* the measured run (from 1) that ended the series, or 0 */
    int stopped;             /* a stop signal to zeus ended the series between two runs */
    struct cli_emission emission;  /* --carbon, --price */
    struct cli_emission_result er; /* the last measured run's */
};

/* One progress line, "zeus: run 2/5: exited with status 0; 1.0031 s, 601.204 J". */
static void print_run_line(const char *what, unsigned k, unsigned of,
                           const struct cli_child *child, int exit_code,
                           const zeus_measurement *m)
{
    fprintf(stderr, "zeus: %s %u/%u: ", what, k + 1, of);
    print_outcome(child, exit_code);
    if (m != NULL) {
        double total_j = cli_measurement_all_energy(m);

        fprintf(stderr, "; %.4f s, ", m->time_s);
        fprintf(stderr, isnan(total_j) ? "n/a J" : "%.3f J", total_j);
    }
    fputc('\n', stderr);
}

/* Warmup run k: measured by nobody, shown as progress (and in --json mode only if it fails). */
static int warmup_run(const struct run_args *a, struct cli_child *child, unsigned k)
{
    int started, exit_code = run_command(a, child, &started);

    if (started && (!a->json || exit_code != 0))
        print_run_line("warmup", k, a->warmup, child, exit_code, NULL);
    return exit_code;
}

/* Keep measured run k of a series of N > 1: statistics, progress line, JSON object. */
static int record_run(const struct run_args *a, const struct cli_child *child, int exit_code,
                      const zeus_measurement *m, struct series *sr, unsigned k)
{
    cJSON *run;

    sr->measured++;
    if (exit_code == 0)
        cli_series_add(&sr->stats, m);
    if (!a->json) {
        print_run_line("run", k, a->repeat, child, exit_code, m);
        if (cli_emission_wanted(&sr->emission))
            cli_emission_table(stderr, &sr->er);
        return exit_code;
    }
    run = cJSON_CreateObject();
    if (run == NULL || !cJSON_AddItemToArray(sr->runs, run)) {
        cJSON_Delete(run);
        sr->runs_broken = 1;
    } else if (add_outcome(run, exit_code, child->term_signal) != 0 ||
               cli_report_json(run, m) != 0 || cli_emission_json(run, &sr->er) != 0) {
        sr->runs_broken = 1;
    }
    return exit_code;
}

/* Measured run k; returns the command's status, or the code of a failure to start it. */
static int measured_run(zeus_monitor *mon, const struct run_args *a, struct cli_child *child,
                        struct series *sr, unsigned k)
{
    zeus_measurement m;
    int started, exit_code;

    if (zeus_monitor_begin_window(mon, WINDOW_NAME, 0) != ZEUS_OK) {
        fprintf(stderr, "zeus run: cannot start measuring: %s\n", zeus_last_error());
        return CLI_EXIT_RUN_FAILED;
    }
    if (cli_emission_begin(&sr->emission, WINDOW_NAME) != 0) {
        zeus_monitor_end_window(mon, WINDOW_NAME, ZEUS_WINDOW_CANCEL, NULL);
        return CLI_EXIT_RUN_FAILED;
    }
    exit_code = run_command(a, child, &started);
    if (!started) {
        cli_emission_cancel(&sr->emission, WINDOW_NAME);
        zeus_monitor_end_window(mon, WINDOW_NAME, ZEUS_WINDOW_CANCEL, NULL);
        return exit_code;
    }
    if (end_measurement(mon, &m) != 0) {
        cli_emission_cancel(&sr->emission, WINDOW_NAME);
        return exit_code != 0 ? exit_code : CLI_EXIT_RUN_FAILED;
    }
    cli_emission_end(&sr->emission, WINDOW_NAME, &m, &sr->er);
    if (a->repeat == 1)
        return report_single(a, child, exit_code, &m, &sr->er);
    return record_run(a, child, exit_code, &m, sr, k);
}

/*
 * Warmup runs, then measured runs, with a cooldown between each two. The first failure ends
 * it and gives the exit code; so does a SIGINT, SIGTERM or SIGHUP to zeus (128 + it) when
 * a run is still to go. Nothing ends a run early but the command itself: SIGTERM and SIGHUP
 * are forwarded to it, and Ctrl-C reaches it from the terminal (child.c note 1).
 */
static int run_series(zeus_monitor *mon, const struct run_args *a, struct cli_child *child,
                      struct series *sr)
{
    int exit_code = 0;

    for (unsigned k = 0; exit_code == 0 && k < a->warmup + a->repeat; k++) {
        int sig = k > 0 ? cli_child_pause(child, a->cooldown_s) : 0;

        if (sig != 0) {
            sr->stopped = 1;
            return 128 + sig;
        }
        if (k < a->warmup)
            exit_code = warmup_run(a, child, k);
        else if ((exit_code = measured_run(mon, a, child, sr, k - a->warmup)) != 0)
            sr->failed_run = k - a->warmup + 1;
    }
    return exit_code;
}

/* "zeus: CMD: 2 of 5 runs, run 2 failed (exit status 1); statistics of the 1 that succeeded" */
static void print_series_head(const struct run_args *a, const struct cli_child *child,
                              const struct series *sr, int exit_code)
{
    print_command(a);
    if (sr->failed_run == 0 && !sr->stopped) {
        fprintf(stderr, ": %u runs\n", sr->measured);
        return;
    }
    fprintf(stderr, ": %u of %u runs, ", sr->measured, a->repeat);
    if (sr->failed_run != 0)
        fprintf(stderr, "run %u failed (exit status %d)", sr->failed_run, exit_code);
    else
        fprintf(stderr, "stopped by %s", cli_signal_name(child->stop_signal));
    fprintf(stderr, "; statistics of the %u that succeeded\n", sr->stats.runs);
}

static int print_series_json(const struct run_args *a, const struct cli_child *child,
                             struct series *sr, int exit_code)
{
    /* term_signal is the last run's: the failed one's, or 0 after a success */
    cJSON *obj = json_head(a, exit_code, sr->failed_run != 0 ? child->term_signal : 0);
    int rc = obj != NULL && !sr->runs_broken ? 0 : -1;

    if (rc == 0 && (cJSON_AddNumberToObject(obj, "repeat", a->repeat) == NULL ||
                    cJSON_AddNumberToObject(obj, "warmup", a->warmup) == NULL))
        rc = -1;
    if (rc == 0 && sr->stopped &&
        cJSON_AddStringToObject(obj, "interrupted_by", cli_signal_name(child->stop_signal)) ==
            NULL)
        rc = -1;
    if (rc == 0 && cJSON_AddItemToObject(obj, "runs", sr->runs))
        sr->runs = NULL; /* obj owns it now */
    else
        rc = -1;
    if (rc == 0)
        rc = cli_series_json(obj, &sr->stats);
    return print_and_free(obj, rc);
}

/*
 * After a series of N > 1 runs, its statistics. Returns the exit code, which is the series'
 * unless a complete series' --json report could not be printed (see report_single).
 */
static int report_series(const struct run_args *a, const struct cli_child *child,
                         struct series *sr, int exit_code)
{
    if (a->json)
        return print_series_json(a, child, sr, exit_code) != 0 && exit_code == 0
                   ? CLI_EXIT_RUN_FAILED
                   : exit_code;
    print_series_head(a, child, sr, exit_code);
    cli_series_table(stderr, &sr->stats);
    return exit_code;
}

/* ---- Entry point ----------------------------------------------------------------------- */

static int measure(const struct run_args *a, struct cli_child *child)
{
    struct series sr;
    zeus_monitor *mon;
    int exit_code = a->csv != NULL ? check_csv(a->csv) : 0;

    if (exit_code == 0)
        exit_code = create_monitor(a, &mon);
    if (exit_code != 0)
        return exit_code;
    memset(&sr, 0, sizeof sr);
    sr.emission.spec[CLI_CARBON] = a->carbon;
    sr.emission.spec[CLI_PRICE] = a->price;
    if ((exit_code = cli_emission_open(&sr.emission, mon, "run")) != 0) {
        zeus_monitor_destroy(mon);
        return exit_code;
    }
    cli_series_init(&sr.stats);
    if (a->json && a->repeat > 1 && (sr.runs = cJSON_CreateArray()) == NULL)
        sr.runs_broken = 1;
    exit_code = run_series(mon, a, child, &sr);
    if (sr.stopped && sr.measured == 0)
        fprintf(stderr, "zeus: stopped by %s; no run was measured\n",
                cli_signal_name(child->stop_signal));
    /* a series that measured nothing has nothing to sum up, as a command that cannot start */
    if (a->repeat > 1 && sr.measured > 0)
        exit_code = report_series(a, child, &sr, exit_code);
    cJSON_Delete(sr.runs);
    cli_emission_close(&sr.emission);
    zeus_monitor_destroy(mon);
    return exit_code;
}

int cli_run(int argc, char **argv)
{
    struct run_args a;
    struct cli_child child;
    int rc = parse_args(argc, argv, &a);

    if (rc == -1) {
        fputs(usage, stdout);
        return CLI_EXIT_OK;
    }
    if (rc != 0)
        return rc;
    /* before the monitor exists: its threads must inherit the signal mask (child.c note 3) */
    if (cli_child_prepare(&child) != 0) {
        fprintf(stderr, "zeus run: cannot set up signals: %s\n", strerror(errno));
        return CLI_EXIT_RUN_FAILED;
    }
    rc = measure(&a, &child);
    cli_child_restore(&child);
    return rc;
}
