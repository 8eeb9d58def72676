/*
 * main.c - The `zeus` command: finds the subcommand and hands it the rest of the line.
 *
 * Each subcommand lives in its own file and answers its own `--help`; this file knows only
 * their names and one-line summaries. Usage errors exit 2, as getopt-based tools do, so that
 * scripts can tell a mistyped command from a measured command that failed.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "exporter.h"

static const struct subcommand {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} subcommands[] = {
    {"show-env", cli_show_env, "show the devices found and what each supports"},
    {"run", cli_run, "run a command and measure the energy it uses"},
    {"monitor", cli_monitor, "measure energy or print power until Ctrl-C"},
    {"bench", cli_bench, "measure the overhead of measurement windows"},
    {"exporter", cli_exporter, "serve energy and power metrics to Prometheus"},
    {"power-limit", cli_power_limit, "choose a GPU power limit from profiled measurements"},
    {"bso", cli_bso, "Zeus's batch size optimizer: simulate it over the NSDI'23 traces"},
    {"bso-server", cli_bso_server, "serve Zeus's batch size optimizer over HTTP"},
    {"pfo-server", cli_pfo_server, "serve Perseus frequency plans to pipeline-parallel training"},
    {"perseus", cli_perseus, "Perseus: plan GPU frequencies per pipeline instruction"},
};

#define SUBCOMMAND_COUNT (sizeof subcommands / sizeof subcommands[0])

static void print_usage(FILE *f)
{
    fprintf(f, "NAME\n"
               "    zeus - measure the energy of GPU and CPU work\n"
               "\n"
               "SYNOPSIS\n"
               "    zeus [--version] [--help] COMMAND [ARGS...]\n"
               "\n"
               "COMMANDS\n");
    for (size_t i = 0; i < SUBCOMMAND_COUNT; i++)
        fprintf(f, "    %-11s %s\n", subcommands[i].name, subcommands[i].summary);
    fprintf(f, "\n"
               "    `zeus COMMAND --help` (or `zeus help COMMAND`) describes each one.\n"
               "\n"
               "EXAMPLES\n"
               "    zeus show-env\n"
               "    zeus run -- python train.py\n"
               "    zeus monitor power --period 0.5\n"
               "    zeus exporter --listen :9466\n"
               "    zeus power-limit select --profile power_limit_profile.json\n"
               "\n"
               "ENVIRONMENT\n"
               "    CUDA_VISIBLE_DEVICES   which GPUs are visible, and their numbering\n"
               "    ZEUS_NVML_LIBRARY      the NVML library to load instead of "
               "libnvidia-ml.so.1\n"
               "    ZEUS_SYSFS_ROOT        the folder that stands for /sys (RAPL)\n");
}

static const struct subcommand *find(const char *name)
{
    for (size_t i = 0; i < SUBCOMMAND_COUNT; i++)
        if (strcmp(subcommands[i].name, name) == 0)
            return &subcommands[i];
    return NULL;
}

/* `zeus help [COMMAND]`: the same text as `zeus COMMAND --help`. */
static int help(int argc, char **argv)
{
    const struct subcommand *sub;
    char flag[] = "--help";
    char *args[3];

    if (argc < 2) {
        print_usage(stdout);
        return CLI_EXIT_OK;
    }
    sub = find(argv[1]);
    if (sub == NULL) {
        fprintf(stderr, "zeus: unknown command '%s'; see 'zeus --help'\n", argv[1]);
        return CLI_EXIT_USAGE;
    }
    args[0] = argv[1];
    args[1] = flag;
    args[2] = NULL;
    return sub->run(2, args);
}

int main(int argc, char **argv)
{
    const struct subcommand *sub;

    if (argc < 2) {
        print_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (cli_is_help(argv[1])) {
        print_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("zeus %s (libzeus %s)\n", ZEUS_VERSION, zeus_version());
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "help") == 0)
        return help(argc - 1, argv + 1);
    sub = find(argv[1]);
    if (sub == NULL) {
        fprintf(stderr, "zeus: unknown %s '%s'; see 'zeus --help'\n",
                argv[1][0] == '-' ? "option" : "command", argv[1]);
        return CLI_EXIT_USAGE;
    }
    return sub->run(argc - 1, argv + 1);
}
