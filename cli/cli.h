/*
 * cli.h - What the files of the `zeus` command share: the subcommand entry points, the exit
 * codes, option parsing (args.c), the measurement report (report.c), statistics over
 * repeated runs (series.c) and the child process runner (child.c).
 *
 * The command uses the public headers only (include/zeus/), the way curl's tool uses
 * libcurl: nothing here may reach into src/.
 */
#ifndef ZEUS_CLI_H
#define ZEUS_CLI_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "zeus/zeus.h"

/* ---- Exit codes ----------------------------------------------------------------------- */

/*
 * Exit codes of every subcommand. `zeus run` passes the command's own status through, so
 * its failures before the command ran use the codes that wrappers such as env(1), nice(1)
 * and timeout(1) use, and shells use for commands they cannot start.
 */
#define CLI_EXIT_OK 0
#define CLI_EXIT_FAILURE 1          /* zeus failed (devices could not be read, ...) */
#define CLI_EXIT_USAGE 2            /* bad option, bad value, or a device that does not exist */
#define CLI_EXIT_RUN_FAILED 125     /* zeus run: zeus itself failed before the command ran */
#define CLI_EXIT_CANNOT_EXECUTE 126 /* zeus run: the command exists but cannot be executed */
#define CLI_EXIT_NOT_FOUND 127      /* zeus run: the command was not found */

/* ---- Subcommands ---------------------------------------------------------------------- */

/*
 * Each takes the arguments after `zeus`, so argv[0] is the subcommand's own name, and
 * returns the exit code. Each answers `--help` with its manual on stdout.
 */
int cli_show_env(int argc, char **argv);
int cli_run(int argc, char **argv);
int cli_monitor(int argc, char **argv);
/* monitor_stream.c: `zeus monitor power --zeusd ...`, argv from "power" on. */
int cli_monitor_stream_wanted(int argc, char **argv);
int cli_monitor_stream(int argc, char **argv);
int cli_bench(int argc, char **argv);
int cli_power_limit(int argc, char **argv);
int cli_bso(int argc, char **argv);
int cli_bso_server(int argc, char **argv); /* bso_server_cmd.c */
int cli_pfo_server(int argc, char **argv); /* pfo_server_cmd.c */
int cli_perseus(int argc, char **argv);    /* perseus_cmd.c */

/* ---- Option parsing (args.c) ---------------------------------------------------------- */

/*
 * A device list given on the command line: "all", "none", or distinct indices separated by
 * commas. Whether an index names a device is for the library to say (zeus_monitor_create
 * answers ZEUS_ERR_NOT_FOUND), since only it knows what is visible.
 */
struct cli_device_list {
    int all;
    size_t count;
    unsigned index[ZEUS_MAX_GPUS > ZEUS_MAX_CPUS ? ZEUS_MAX_GPUS : ZEUS_MAX_CPUS];
};

/* Print "zeus CMD: <message>" and a pointer to --help on stderr; returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* 1 when `arg` is "--help" or "-h". */
int cli_is_help(const char *arg);

/*
 * Match argv[*i] against the option `name` ("--gpus") written as "--gpus VALUE" or
 * "--gpus=VALUE". Returns 1 and sets *value (advancing *i past a separate value) on a match,
 * 0 when argv[*i] is another option, and -1 after printing a usage error when the value is
 * missing.
 */
int cli_option_value(const char *cmd, int argc, char **argv, int *i, const char *name,
                     const char **value);

/*
 * Parse a device list for `option`. Returns 0, or -1 after printing a usage error that names
 * the bad value (letters, a negative number, an empty entry, a repeated index, too many).
 */
int cli_parse_device_list(const char *cmd, const char *option, const char *text,
                          struct cli_device_list *out);

/* The list as the options struct wants it: NULL for all, a count of 0 for none. */
const unsigned *cli_device_list_indices(const struct cli_device_list *list, size_t *count);

/*
 * The scanners behind the parsers below, for a command that words its own errors: 0, or -1
 * (nothing printed) when `text` is not a plain decimal whole number in [min, max] (no sign,
 * no blanks), or not a finite number written whole (no blanks, no trailing text, no NAN).
 */
int cli_scan_unsigned(const char *text, unsigned min, unsigned max, unsigned *out);
int cli_scan_double(const char *text, double *out);

/* Parse a whole number in [min, max]; -1 after a usage error. */
int cli_parse_unsigned(const char *cmd, const char *option, const char *text, unsigned min,
                       unsigned max, unsigned *out);

/* Parse a finite number of seconds >= min_s; -1 after a usage error. */
int cli_parse_seconds(const char *cmd, const char *option, const char *text, double min_s,
                      double *out);

/* ---- Reporting a measurement (report.c) ----------------------------------------------- */

/*
 * GPU + CPU package + DRAM energy, summing the values that were measured (NAN ones are left
 * out); NAN when devices were watched but none gave a value, since 0 would read as real. This is NOT zeus_measurement_total_energy(), which is GPUs only as in Zeus: a person
 * who runs `zeus run` asks what the command cost on every device that was watched, and RAPL's
 * DRAM zone is separate from the package zone, so nothing is counted twice.
 */
double cli_measurement_all_energy(const zeus_measurement *m);

/* Print the readable table: time, energy and average power per device, total. */
void cli_report_table(FILE *f, const zeus_measurement *m);

/*
 * Add "time_s", "gpu_energy_j", "cpu_energy_j", "dram_energy_j" and "total_energy_j" to
 * `obj`. Keys of the energy objects are device indices as strings; absent kinds are empty
 * objects; NAN values are null. Returns 0, or -1 when out of memory.
 */
int cli_report_json(cJSON *obj, const zeus_measurement *m);

/*
 * cli_report_json with "total_energy_j" given rather than added up from `m`: a statistic of
 * the totals (their standard deviation, say) is not the sum of the devices' statistics.
 */
int cli_report_json_total(cJSON *obj, const zeus_measurement *m, double total_j);

/* Print `obj` on stdout as one line; returns 0, or -1 when it cannot be printed. */
int cli_print_json(const cJSON *obj);

/* The "zeus: warning: ..." callback for zeus_monitor_options.warn. */
void cli_warn(const char *message, void *user);

/* ---- Statistics over repeated runs (series.c) ----------------------------------------- */

/* One quantity over the runs: count, running mean and sum of squared deviations (Welford). */
struct cli_stat {
    unsigned n; /* runs that gave a value (NAN ones are left out) */
    double mean, m2, min, max;
};

/*
 * The statistics of the runs of `zeus run -r N` that succeeded, updated run by run, so that a
 * long series keeps nothing per run. Initialize with cli_series_init(); nothing to free.
 */
struct cli_series {
    unsigned runs;          /* measurements added */
    zeus_measurement shape; /* the devices and their indices, copied from the first run */
    struct cli_stat time, total;
    struct cli_stat gpu[ZEUS_MAX_GPUS], cpu[ZEUS_MAX_CPUS], dram[ZEUS_MAX_CPUS];
    unsigned char dram_shown[ZEUS_MAX_CPUS]; /* a run reported this package's DRAM */
    struct cli_stat soc[ZEUS_SOC_RAILS];     /* the SoC's rails (Jetson), when shape has one */
};

void cli_series_init(struct cli_series *s);

/* Add one run's measurement; all must come from the same monitor. */
void cli_series_add(struct cli_series *s, const zeus_measurement *m);

/*
 * Print the table: one row each for the time, each device, each SoC rail and the total (as
 * in a single run's table) with mean +- sample standard deviation (and relative to the mean), min, max.
 */
void cli_series_table(FILE *f, const struct cli_series *s);

/*
 * Add "mean", "stddev", "min" and "max" to `obj`, each an object with a single run's keys
 * (cli_report_json, "soc_energy_j" included on a SoC), or null when no run was added. Returns 0, or -1 when out of memory.
 */
int cli_series_json(cJSON *obj, const struct cli_series *s);

/* ---- Output files written whole (out_file.c) ------------------------------------------ */

/*
 * A file written under a temporary name in its own folder and renamed over `path` only once
 * it is complete, so that a zeus killed mid-write never leaves a truncated or empty file
 * where the user expects a result. Opening early tells at once whether the folder is
 * writable.
 */
struct cli_out_file {
    const char *path;
    char *tmp_path;
    FILE *f;
};

/* Create the temporary file beside `path`. Returns 0, or -1 with errno set. */
int cli_out_file_open(struct cli_out_file *o, const char *path);

/* Flush, close and rename over `path`. Returns 0, or -1 (the temporary file is removed). */
int cli_out_file_commit(struct cli_out_file *o);

/* Close and remove the temporary file; nothing is left at `path`. Safe to call twice. */
void cli_out_file_abort(struct cli_out_file *o);

/* ---- Running the measured command (child.c) ------------------------------------------- */

/* Signal state of `zeus run` while its command runs; see child.c for why it looks so. */
struct cli_child {
    pid_t pid;
    int term_signal; /* the signal that killed the command, 0 when it exited */
    int stop_signal; /* the first SIGINT, SIGTERM or SIGHUP zeus got since prepare, or 0 */
    sigset_t old_mask;
    struct sigaction old_int, old_quit, old_chld;
};

/*
 * Take the signals a command wrapper must handle: ignore SIGQUIT (the terminal sends it to
 * the command too), block SIGINT, SIGTERM, SIGHUP and SIGCHLD to take them in
 * cli_child_wait() and cli_child_pause(). Call this before any thread starts (before
 * zeus_monitor_create), so that every thread inherits the mask. Returns 0, or -1 with errno
 * set.
 */
int cli_child_prepare(struct cli_child *c);

/*
 * Start argv[0] (searched in PATH) with the signal state zeus was started with. Returns 0
 * when the command is running, or the errno of fork or exec when it is not.
 */
int cli_child_start(struct cli_child *c, char *const argv[]);

/*
 * Wait for the command, forwarding SIGTERM and SIGHUP to it (SIGINT is not forwarded: the
 * terminal sends it to the command itself); each of the three is noted in c->stop_signal.
 * Returns its exit status, or 128 + the signal number that killed it, as shells report.
 */
int cli_child_wait(struct cli_child *c);

/*
 * Sleep `seconds` with no command running, unless SIGINT, SIGTERM or SIGHUP comes first (or
 * came before). Returns 0 after the full pause, or the signal number (also in stop_signal).
 */
int cli_child_pause(struct cli_child *c, double seconds);

/* "SIGSEGV" for 11: the signal's abbreviation, or "unknown signal" for one without a name. */
const char *cli_signal_name(int sig);

/* Put back the signal state cli_child_prepare() changed. */
void cli_child_restore(struct cli_child *c);

#endif /* ZEUS_CLI_H */
