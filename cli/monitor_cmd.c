/*
 * monitor_cmd.c - `zeus monitor energy` and `zeus monitor power`: Zeus's
 * `python -m zeus.monitor` in C, measuring until Ctrl-C (SIGINT) or SIGTERM.
 *
 * energy opens one window over the chosen GPUs and every readable CPU package and prints
 * the measurement when stopped. power prints each GPU's power every period and, when
 * stopped, the total time and the energy integrated from those samples.
 *
 * Signals: SIGINT and SIGTERM are blocked before any device is opened (so every thread the
 * library starts inherits the mask) and taken synchronously with sigtimedwait(), which also
 * paces the power samples. No handler runs, so nothing unsafe can happen in signal context,
 * and a signal that arrives while a sample is being read is simply taken at the next wait.
 *
 * Concept: power should come from the library's sampler, as Zeus's PowerMonitor polls in a
 * child process. Reality: until the sampling engine lands, this command samples itself at
 * the period and integrates by the trapezoid rule; its energy is only as good as the period
 * is short compared with how fast the load changes.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static const char usage[] =
    "NAME\n"
    "    zeus monitor - measure GPU energy or print GPU power until stopped\n"
    "\n"
    "SYNOPSIS\n"
    "    zeus monitor energy [--gpus LIST]\n"
    "    zeus monitor power [--gpus LIST] [--period S] [--domain DOMAIN]\n"
    "\n"
    "DESCRIPTION\n"
    "    energy measures from start until Ctrl-C (or SIGTERM), then prints the time and the\n"
    "    energy of each GPU, CPU package and DRAM zone, as `python -m zeus.monitor energy`.\n"
    "\n"
    "    power prints a timestamp and each GPU's power in watts every period until Ctrl-C\n"
    "    (or SIGTERM), then the total time and each GPU's energy, integrated from the printed\n"
    "    samples by the trapezoid rule, as `python -m zeus.monitor power`.\n"
    "\n"
    "OPTIONS\n"
    "    --gpus LIST    GPUs: all (default), none, or indices such as 0,2.\n"
    "    --period S     power: seconds between samples (default 1.0, at least 0.001).\n"
    "    --domain D     power: device_instant (default), device_average or memory_average.\n"
    "    -h, --help     Print this text.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 when stopped by a signal and the result printed; 1 when the devices could not be\n"
    "    read; 2 for a bad option or a GPU that does not exist.\n";

#define ENERGY_WINDOW "zeus.monitor.energy"

struct monitor_args {
    struct cli_device_list gpus;
    double period_s;
    zeus_power_domain domain;
};

/* ---- Stop signals ----------------------------------------------------------------------- */

static void stop_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
}

/*
 * Wait up to `timeout_s` (< 0: forever) for SIGINT or SIGTERM; 1 when one came, 0 when the
 * time ran out.
 */
static int wait_for_stop(double timeout_s)
{
    sigset_t set;
    struct timespec ts;
    int sig;

    stop_signals(&set);
    if (timeout_s < 0) {
        while ((sig = sigwaitinfo(&set, NULL)) < 0 && errno == EINTR)
            ;
        return 1;
    }
    ts.tv_sec = (time_t)timeout_s;
    ts.tv_nsec = (long)((timeout_s - (double)ts.tv_sec) * 1e9);
    sig = sigtimedwait(&set, NULL, &ts);
    return sig > 0;
}

static double monotonic_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- Arguments -------------------------------------------------------------------------- */

static int parse_domain(const char *text, zeus_power_domain *out)
{
    for (int d = ZEUS_POWER_DEVICE_INSTANT; d <= ZEUS_POWER_MEMORY_AVERAGE; d++)
        if (strcmp(text, zeus_power_domain_name((zeus_power_domain)d)) == 0) {
            *out = (zeus_power_domain)d;
            return 0;
        }
    return cli_usage_error("monitor", "--domain: '%s' is not device_instant, device_average "
                           "or memory_average", text);
}

/* Options of `zeus monitor MODE`; `power` allows --period and --domain. -1: print help. */
static int parse_args(int argc, char **argv, int power, struct monitor_args *a)
{
    memset(a, 0, sizeof *a);
    a->gpus.all = 1;
    a->period_s = 1.0;
    a->domain = ZEUS_POWER_DEVICE_INSTANT;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int r;

        if (cli_is_help(argv[i]))
            return -1;
        if ((r = cli_option_value("monitor", argc, argv, &i, "--gpus", &v)) != 0) {
            if (r < 0 || cli_parse_device_list("monitor", "--gpus", v, &a->gpus) != 0)
                return CLI_EXIT_USAGE;
        } else if (power && (r = cli_option_value("monitor", argc, argv, &i, "--period", &v))) {
            if (r < 0 || cli_parse_seconds("monitor", "--period", v, 0.001, &a->period_s) != 0)
                return CLI_EXIT_USAGE;
        } else if (power && (r = cli_option_value("monitor", argc, argv, &i, "--domain", &v))) {
            if (r < 0 || parse_domain(v, &a->domain) != 0)
                return CLI_EXIT_USAGE;
        } else {
            return cli_usage_error("monitor", "%s: unknown option '%s'", argv[0], argv[i]);
        }
    }
    return 0;
}

/* ---- zeus monitor energy ---------------------------------------------------------------- */

static int monitor_energy(const struct monitor_args *a)
{
    zeus_monitor_options o;
    zeus_monitor *mon;
    zeus_measurement m;
    zeus_status s;

    zeus_monitor_options_init(&o);
    o.gpu_indices = cli_device_list_indices(&a->gpus, &o.gpu_index_count);
    o.warn = cli_warn;
    s = zeus_monitor_create(&o, &mon);
    if (s != ZEUS_OK) {
        fprintf(stderr, "zeus monitor energy: %s\n", zeus_last_error());
        return s == ZEUS_ERR_NOT_FOUND || s == ZEUS_ERR_INVALID_ARGUMENT ? CLI_EXIT_USAGE
                                                                          : CLI_EXIT_FAILURE;
    }
    if (zeus_monitor_begin_window(mon, ENERGY_WINDOW, 0) != ZEUS_OK) {
        fprintf(stderr, "zeus monitor energy: %s\n", zeus_last_error());
        zeus_monitor_destroy(mon);
        return CLI_EXIT_FAILURE;
    }
    fprintf(stderr, "zeus: measuring energy; press Ctrl-C to stop\n");
    wait_for_stop(-1);
    s = zeus_monitor_end_window(mon, ENERGY_WINDOW, 0, &m);
    if (s != ZEUS_OK)
        fprintf(stderr, "zeus: warning: measurement incomplete: %s\n", zeus_last_error());
    if (s != ZEUS_ERR_NOT_FOUND && s != ZEUS_ERR_INVALID_ARGUMENT)
        cli_report_table(stdout, &m);
    zeus_monitor_destroy(mon);
    return fflush(stdout) == 0 && s == ZEUS_OK ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}

/* ---- zeus monitor power ----------------------------------------------------------------- */

/* The GPUs sampled, their last sample, and the energy integrated so far. */
struct power_state {
    zeus_devices *devs;
    zeus_power_domain domain;
    unsigned count;
    unsigned gpu[ZEUS_MAX_GPUS];
    double start_s, last_s;
    double last_w[ZEUS_MAX_GPUS];
    double energy_j[ZEUS_MAX_GPUS];
};

/* Fill ps->gpu from the list, checking each index names a visible GPU. */
static int select_gpus(struct power_state *ps, const struct cli_device_list *list)
{
    unsigned n = zeus_devices_gpu_count(ps->devs);

    ps->count = 0;
    for (unsigned i = 0; list->all && i < n && i < ZEUS_MAX_GPUS; i++)
        ps->gpu[ps->count++] = i;
    for (size_t k = 0; !list->all && k < list->count; k++) {
        zeus_gpu_info info;
        if (zeus_gpu_get_info(ps->devs, list->index[k], &info) == ZEUS_ERR_NOT_FOUND) {
            fprintf(stderr, "zeus monitor power: %s\n", zeus_last_error());
            return CLI_EXIT_USAGE;
        }
        ps->gpu[ps->count++] = list->index[k];
    }
    return 0;
}

static void print_timestamp(void)
{
    struct timespec now;
    struct tm tm;
    char text[32];

    clock_gettime(CLOCK_REALTIME, &now); /* read by a person: wall-clock time */
    localtime_r(&now.tv_sec, &tm);
    strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &tm);
    printf("%s.%06ld", text, now.tv_nsec / 1000);
}

/* Read every GPU's power, print the line, and add the trapezoid since the last sample. */
static void sample(struct power_state *ps, int first)
{
    double now_s = monotonic_s();

    print_timestamp();
    for (unsigned k = 0; k < ps->count; k++) {
        double w;

        if (zeus_gpu_get_power(ps->devs, ps->gpu[k], ps->domain, &w) != ZEUS_OK)
            w = NAN; /* not supported or failed: this interval is not counted */
        if (isnan(w))
            printf("  GPU%u n/a", ps->gpu[k]);
        else
            printf("  GPU%u %.1f W", ps->gpu[k], w);
        if (!first && !isnan(w) && !isnan(ps->last_w[k]))
            ps->energy_j[k] += (w + ps->last_w[k]) / 2.0 * (now_s - ps->last_s);
        ps->last_w[k] = w;
    }
    printf("\n");
    fflush(stdout); /* a line per period, even through a pipe */
    ps->last_s = now_s;
}

static void print_power_totals(const struct power_state *ps)
{
    printf("Total time (s): %.3f\nTotal energy (J):", ps->last_s - ps->start_s);
    for (unsigned k = 0; k < ps->count; k++)
        printf("  GPU%u %.3f", ps->gpu[k], ps->energy_j[k]);
    printf("%s\n", ps->count == 0 ? " no GPUs" : "");
}

/* Sample on a fixed schedule (start + k * period), so that slow reads do not add drift. */
static void power_loop(struct power_state *ps, double period_s)
{
    double next_s;

    ps->start_s = monotonic_s();
    next_s = ps->start_s;
    sample(ps, 1);
    for (;;) {
        double wait_s;

        next_s += period_s;
        wait_s = next_s - monotonic_s();
        if (wait_s < 0) {
            wait_s = 0;
            next_s = monotonic_s(); /* fell behind: start the schedule again from now */
        }
        if (wait_for_stop(wait_s))
            break;
        sample(ps, 0);
    }
    sample(ps, 0); /* up to the moment of stopping, so the total covers the whole time */
}

static int monitor_power(const struct monitor_args *a)
{
    struct power_state ps;
    int rc;

    memset(&ps, 0, sizeof ps);
    ps.domain = a->domain;
    if (zeus_devices_create(&ps.devs) != ZEUS_OK) {
        fprintf(stderr, "zeus monitor power: %s\n", zeus_last_error());
        return CLI_EXIT_FAILURE;
    }
    rc = select_gpus(&ps, &a->gpus);
    if (rc == 0) {
        fprintf(stderr, "zeus: printing %s power every %g s; press Ctrl-C to stop\n",
                zeus_power_domain_name(a->domain), a->period_s);
        power_loop(&ps, a->period_s);
        print_power_totals(&ps);
        rc = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
    }
    zeus_devices_destroy(ps.devs);
    return rc;
}

/* ---- Entry point ------------------------------------------------------------------------ */

int cli_monitor(int argc, char **argv)
{
    struct monitor_args a;
    sigset_t set, old;
    int power, rc;

    if (argc < 2 || cli_is_help(argv[1])) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    power = strcmp(argv[1], "power") == 0;
    if (!power && strcmp(argv[1], "energy") != 0)
        return cli_usage_error("monitor", "unknown mode '%s' (use energy or power)", argv[1]);
    rc = parse_args(argc - 1, argv + 1, power, &a);
    if (rc == -1) {
        fputs(usage, stdout);
        return CLI_EXIT_OK;
    }
    if (rc != 0)
        return rc;
    stop_signals(&set);
    pthread_sigmask(SIG_BLOCK, &set, &old); /* before any thread exists; see the head */
    rc = power ? monitor_power(&a) : monitor_energy(&a);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}
