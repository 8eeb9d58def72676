/*
 * bench_pfo.c - `zeus bench pfo`: what Perseus's client costs the training thread per
 * instruction (zeus_pfo_on_instruction_begin), with the frequency controller thread locking
 * the simulated GPU's SM clock behind it.
 *
 * It starts `zeus pfo-server` (this binary, as a child on a free loopback port) with a
 * one-stage plan of --entries instructions whose frequencies change at every entry (the worst
 * case for the controller), registers a one-rank job, creates the client on the fake NVML's
 * GPU 0, and times each on_instruction_begin call with CLOCK_MONOTONIC over --iterations
 * iterations (on_step_end after each, untimed). Only the fake NVML is used: the benchmark
 * locks clocks, and a real GPU's are not changed by a benchmark.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "bench.h"

static const char usage[] =
    "NAME\n"
    "    zeus bench pfo - the cost of Perseus's on_instruction_begin\n"
    "\n"
    "SYNOPSIS\n"
    "    zeus bench pfo [--iterations N] [--entries E] [--json]\n"
    "\n"
    "DESCRIPTION\n"
    "    Starts `zeus pfo-server` with a plan of E instructions whose frequency changes at\n"
    "    each one, runs N iterations of it through the client on the fake NVML's GPU 0\n"
    "    (ZEUS_NVML_LIBRARY must name the fake), and prints the p50, p99 and maximum time\n"
    "    of one zeus_pfo_on_instruction_begin call, and how many clock locks the\n"
    "    controller thread made.\n"
    "\n"
    "OPTIONS\n"
    "    --iterations N   iterations (default 2000)\n"
    "    --entries E      instructions per iteration (default 64)\n"
    "    --json           one JSON object: {\"calls\": .., \"p50_us\": .., \"p99_us\": ..,\n"
    "                     \"max_us\": .., \"mean_us\": .., \"locks\": ..}\n"
    "    -h, --help       Print this text.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 on success; 1 when the measurement fails; 2 for a bad option.\n";

#define CMD "bench pfo"

struct pfo_args {
    unsigned iterations, entries;
    int json;
};

struct server {
    pid_t pid;
    char url[64];
};

/* ---- Arguments ------------------------------------------------------------------------------ */

static int parse_option(int argc, char **argv, int *i, struct pfo_args *a)
{
    const char *v;
    int r;

    if (cli_is_help(argv[*i]))
        return -1;
    if (strcmp(argv[*i], "--json") == 0) {
        a->json = 1;
        return 0;
    }
    if ((r = cli_option_value(CMD, argc, argv, i, "--iterations", &v)) != 0)
        return r < 0 || cli_parse_unsigned(CMD, "--iterations", v, 1, 1000000, &a->iterations)
                   ? CLI_EXIT_USAGE : 0;
    if ((r = cli_option_value(CMD, argc, argv, i, "--entries", &v)) != 0)
        return r < 0 || cli_parse_unsigned(CMD, "--entries", v, 1, 100000, &a->entries)
                   ? CLI_EXIT_USAGE : 0;
    return cli_usage_error(CMD, "unknown option '%s'", argv[*i]);
}

/* ---- The server ----------------------------------------------------------------------------- */

/* A one-stage plan: forward/backward alternating, frequencies 1980, 1965, ... changing every
 * entry. Returns 0 or -1. */
static int write_plan(const char *path, unsigned entries)
{
    FILE *f = fopen(path, "w");

    if (f == NULL)
        return -1;
    fputs("[\n[", f);
    for (unsigned k = 0; k < entries; k++)
        fprintf(f, "%s('%s', %u)", k ? ", " : "", k % 2 ? "backward" : "forward",
                1980 - 15 * (k % 40));
    fputs("],\n]\n", f);
    return fclose(f) == 0 ? 0 : -1;
}

/* Run this binary's pfo-server on a free port; read the URL from its first line. */
static int start_server(const char *plan, struct server *s)
{
    char args[1200], line[512] = "";
    int fds[2];
    FILE *out;
    const char *p;

    snprintf(args, sizeof args, "{\"solution_path\": \"%s\"}", plan);
    if (pipe(fds) != 0)
        return -1;
    if ((s->pid = fork()) == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        setenv("ZEUS_PFO_SCHEDULER", "PointSolution", 1);
        setenv("ZEUS_PFO_SCHEDULER_ARGS", args, 1);
        setenv("ZEUS_PFO_LOG_LEVEL", "WARNING", 1);
        setenv("ZEUS_PFO_DUMP_DATA", "false", 1);
        execl("/proc/self/exe", "zeus", "pfo-server", "--listen", "127.0.0.1:0", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    out = fdopen(fds[0], "r");
    if (s->pid < 0 || out == NULL || fgets(line, sizeof line, out) == NULL ||
        (p = strstr(line, "http://")) == NULL) {
        if (out != NULL)
            fclose(out);
        return -1;
    }
    fclose(out);
    snprintf(s->url, sizeof s->url, "%.*s", (int)strcspn(p, " \n"), p);
    return 0;
}

static void stop_server(struct server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
    }
}

/* ---- Measuring ------------------------------------------------------------------------------- */

static int fail(const char *what)
{
    fprintf(stderr, "zeus " CMD ": %s: %s\n", what, zeus_last_error());
    return CLI_EXIT_FAILURE;
}

static int measure(const struct pfo_args *a, zeus_devices *devs, const char *url, double *t,
                   unsigned long long *locks, const struct cli_fake_nvml *fake)
{
    char id[ZEUS_PFO_JOB_ID_MAX];
    zeus_pfo_options o;
    zeus_pfo *pfo;
    size_t n = 0;
    unsigned long long before;

    zeus_pfo_options_init(&o);
    o.server_url = url;
    if (zeus_pfo_register_job(&o, id, sizeof id) != ZEUS_OK)
        return fail("cannot register the job");
    o.job_id = id;
    if (zeus_pfo_create(devs, &o, &pfo) != ZEUS_OK)
        return fail("cannot create the client");
    before = fake->call_count("nvmlDeviceSetGpuLockedClocks");
    for (unsigned it = 0; it < a->iterations; it++) {
        for (unsigned k = 0; k < a->entries; k++) {
            const char *name = k % 2 ? "backward" : "forward";
            double t0 = cli_bench_now_s();
            zeus_status s = zeus_pfo_on_instruction_begin(pfo, name);
            t[n++] = (cli_bench_now_s() - t0) * 1e6;
            if (s != ZEUS_OK) {
                zeus_pfo_destroy(pfo);
                return fail("on_instruction_begin");
            }
        }
        if (zeus_pfo_on_step_end(pfo) != ZEUS_OK) {
            zeus_pfo_destroy(pfo);
            return fail("on_step_end");
        }
    }
    zeus_pfo_destroy(pfo); /* the controller drains its queue first */
    *locks = fake->call_count("nvmlDeviceSetGpuLockedClocks") - before;
    return CLI_EXIT_OK;
}

static void report(const struct pfo_args *a, double *t, size_t n, unsigned long long locks)
{
    double sum = 0;

    for (size_t k = 0; k < n; k++)
        sum += t[k];
    cli_bench_sort(t, n);
    if (a->json) {
        cJSON *o = cJSON_CreateObject();
        char *text;
        cJSON_AddNumberToObject(o, "calls", (double)n);
        cJSON_AddNumberToObject(o, "p50_us", cli_bench_round(cli_bench_percentile(t, n, 50), 3));
        cJSON_AddNumberToObject(o, "p99_us", cli_bench_round(cli_bench_percentile(t, n, 99), 3));
        cJSON_AddNumberToObject(o, "max_us", cli_bench_round(t[n - 1], 3));
        cJSON_AddNumberToObject(o, "mean_us", cli_bench_round(sum / (double)n, 3));
        cJSON_AddNumberToObject(o, "locks", (double)locks);
        text = cJSON_PrintUnformatted(o);
        puts(text);
        free(text);
        cJSON_Delete(o);
        return;
    }
    printf("devices: 1 simulated GPU (fake NVML)\n");
    printf("on_instruction_begin: %zu calls, p50 %.3f us, p99 %.3f us, max %.1f us, mean %.3f us\n",
           n, cli_bench_percentile(t, n, 50), cli_bench_percentile(t, n, 99), t[n - 1],
           sum / (double)n);
    printf("clock locks made by the controller thread: %llu\n", locks);
}

int cli_bench_pfo(int argc, char **argv)
{
    struct pfo_args a = {2000, 64, 0};
    struct cli_fake_nvml fake;
    struct server srv = {0, ""};
    char why[512], dir[] = "/tmp/zeus-bench-pfo-XXXXXX", plan[64];
    unsigned long long locks = 0;
    zeus_devices *devs = NULL;
    double *t = NULL;
    int code;

    for (int i = 1; i < argc; i++) {
        if ((code = parse_option(argc, argv, &i, &a)) != 0) {
            if (code < 0)
                fputs(usage, stdout);
            return code < 0 ? CLI_EXIT_OK : code;
        }
    }
    if (cli_bench_fake_nvml(&fake, why, sizeof why) != 0) {
        fprintf(stderr, "zeus " CMD ": needs the fake NVML (it locks clocks): %s\n", why);
        return CLI_EXIT_FAILURE;
    }
    if (fake.reset("gpus=1") != 0 || mkdtemp(dir) == NULL)
        return fail("cannot set up the simulated GPU or a temporary folder");
    snprintf(plan, sizeof plan, "%s/plan.py", dir);
    code = CLI_EXIT_FAILURE;
    if (write_plan(plan, a.entries) != 0 || start_server(plan, &srv) != 0)
        fprintf(stderr, "zeus " CMD ": cannot start zeus pfo-server\n");
    else if (zeus_devices_create(&devs) != ZEUS_OK)
        fail("cannot open the devices");
    else if ((t = malloc(sizeof *t * (size_t)a.iterations * a.entries)) == NULL)
        fprintf(stderr, "zeus " CMD ": out of memory\n");
    else if ((code = measure(&a, devs, srv.url, t, &locks, &fake)) == CLI_EXIT_OK)
        report(&a, t, (size_t)a.iterations * a.entries, locks);
    free(t);
    zeus_devices_destroy(devs);
    stop_server(&srv);
    unlink(plan);
    rmdir(dir);
    return code;
}
