/*
 * run.c - `zeus run`: measure the energy a command uses over its whole lifetime.
 *
 * One monitor window spans the command, from just before fork to just after it exits. The
 * report goes to stderr, so that the command's own stdout stays clean for pipes; with --json
 * zeus prints nothing but the JSON object on stdout (after whatever the command printed
 * there). zeus exits with the command's status, so that `zeus run -- make` can stand in for
 * `make` in scripts; see child.c for how the command is started and waited for.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

#define WINDOW_NAME "zeus.run"

static const char usage[] =
    "NAME\n"
    "    zeus run - measure the energy a command uses\n"
    "\n"
    "SYNOPSIS\n"
    "    zeus run [--gpus LIST] [--cpus LIST] [--json] [--csv FILE] [--approx-instant-energy]\n"
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
    "    Ctrl-C reaches the command from the terminal; zeus waits for the command to exit and\n"
    "    still reports. SIGTERM and SIGHUP sent to zeus are passed on to the command.\n"
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
    "                  Redirect the command's own stdout if you parse this. Nothing is\n"
    "                  printed when the command could not be started.\n"
    "    --csv FILE    Also write the measurement to FILE in Zeus's CSV log format.\n"
    "    --approx-instant-energy\n"
    "                  A GPU whose energy reads 0 (the command ran for less than the energy\n"
    "                  counter's ~100 ms update step) gets its instant power x the time,\n"
    "                  as Zeus's approx_instant_energy option. Off by default, as in Zeus.\n"
    "    -h, --help    Print this text.\n"
    "\n"
    "EXIT STATUS\n"
    "    The command's exit status, or 128 + N when signal N killed it (the report names\n"
    "    the signal, and --json adds \"signal\": \"SIGSEGV\"). Otherwise:\n"
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
    "    zeus run --gpus 0 --cpus none --json -- ./bench > /dev/null\n";

struct run_args {
    struct cli_device_list gpus, cpus;
    int json;
    int approx_instant_energy;
    const char *csv;
    char **command; /* NULL-terminated, points into argv */
    int command_argc;
};

/* ---- Arguments ------------------------------------------------------------------------- */

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
    return cli_usage_error("run", "unknown option '%s'", argv[*i]);
}

/* Options come first; the command starts after "--" or at the first non-option. */
static int parse_args(int argc, char **argv, struct run_args *a)
{
    int i;

    memset(a, 0, sizeof *a);
    a->gpus.all = 1;
    a->cpus.all = 1;
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

/* Run the command inside the open window; returns its status or a start failure code. */
static int run_command(const struct run_args *a, struct cli_child *child, int *started)
{
    int err = cli_child_start(child, a->command);

    *started = err == 0;
    if (err != 0)
        return report_start_failure(a->command[0], err);
    return cli_child_wait(child);
}

/* ---- Reporting ------------------------------------------------------------------------- */

static int print_json(const struct run_args *a, const struct cli_child *child, int exit_code,
                      const zeus_measurement *m)
{
    cJSON *obj = cJSON_CreateObject();
    cJSON *cmd = cJSON_AddArrayToObject(obj, "command");
    int rc = obj != NULL && cmd != NULL ? 0 : -1;

    for (int i = 0; rc == 0 && i < a->command_argc; i++) {
        cJSON *arg = cJSON_CreateString(a->command[i]);
        rc = arg != NULL && cJSON_AddItemToArray(cmd, arg) ? 0 : -1;
    }
    if (rc == 0 && cJSON_AddNumberToObject(obj, "exit_code", exit_code) == NULL)
        rc = -1;
    if (rc == 0 && child->term_signal != 0 &&
        cJSON_AddStringToObject(obj, "signal", cli_signal_name(child->term_signal)) == NULL)
        rc = -1;
    if (rc == 0)
        rc = cli_report_json(obj, m);
    if (rc == 0)
        rc = cli_print_json(obj);
    cJSON_Delete(obj);
    if (rc != 0)
        fprintf(stderr, "zeus run: cannot print the JSON report\n");
    return rc;
}

static void print_table(const struct run_args *a, const struct cli_child *child, int exit_code,
                        const zeus_measurement *m)
{
    fprintf(stderr, "zeus: %s", a->command[0]);
    for (int i = 1; i < a->command_argc && i < 8; i++)
        fprintf(stderr, " %s", a->command[i]);
    fputs(a->command_argc > 8 ? " ..." : "", stderr);
    /* 139 reads as a status the command chose; say which signal it was */
    if (child->term_signal != 0)
        fprintf(stderr, " was killed by signal %d (%s)\n", child->term_signal,
                cli_signal_name(child->term_signal));
    else
        fprintf(stderr, " exited with status %d\n", exit_code);
    cli_report_table(stderr, m);
}

/*
 * End the window and report. Returns the exit code: the command's status, except that a
 * successful command whose report could not be printed gives CLI_EXIT_RUN_FAILED, since a
 * script that reads the report must not take its absence for success.
 */
static int finish(zeus_monitor *mon, const struct run_args *a, const struct cli_child *child,
                  int exit_code)
{
    zeus_measurement m;
    /* A whole command is worth the wait (one counter update, ~100 ms) for the final value. */
    zeus_status s = zeus_monitor_end_window(mon, WINDOW_NAME, ZEUS_WINDOW_WAIT_FINAL, &m);

    if (s == ZEUS_ERR_NOT_FOUND || s == ZEUS_ERR_INVALID_ARGUMENT) {
        fprintf(stderr, "zeus run: measurement lost: %s\n", zeus_last_error());
        return exit_code != 0 ? exit_code : CLI_EXIT_RUN_FAILED;
    }
    /* other errors still fill `m`, with NAN for the devices that failed */
    if (s != ZEUS_OK)
        fprintf(stderr, "zeus: warning: measurement incomplete: %s\n", zeus_last_error());
    if (a->json) {
        if (print_json(a, child, exit_code, &m) != 0 && exit_code == 0)
            return CLI_EXIT_RUN_FAILED;
    } else {
        print_table(a, child, exit_code, &m);
    }
    return exit_code;
}

/* ---- Entry point ----------------------------------------------------------------------- */

static int measure(const struct run_args *a, struct cli_child *child)
{
    zeus_monitor *mon;
    int started, exit_code = a->csv != NULL ? check_csv(a->csv) : 0;

    if (exit_code == 0)
        exit_code = create_monitor(a, &mon);
    if (exit_code != 0)
        return exit_code;
    if (zeus_monitor_begin_window(mon, WINDOW_NAME, 0) != ZEUS_OK) {
        fprintf(stderr, "zeus run: cannot start measuring: %s\n", zeus_last_error());
        zeus_monitor_destroy(mon);
        return CLI_EXIT_RUN_FAILED;
    }
    exit_code = run_command(a, child, &started);
    if (started)
        exit_code = finish(mon, a, child, exit_code);
    else
        zeus_monitor_end_window(mon, WINDOW_NAME, ZEUS_WINDOW_CANCEL, NULL);
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
