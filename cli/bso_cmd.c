/*
 * bso_cmd.c - `zeus bso`: the batch size optimizer's commands, found by name. Only
 * `simulate` for now (bso_simulate.c); the server is `zeus bso-server`.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cli_bso_simulate(int argc, char **argv);

static const char usage[] =
    "NAME\n"
    "    zeus bso - Zeus's batch size optimizer\n"
    "\n"
    "SYNOPSIS\n"
    "    zeus bso simulate [OPTIONS]\n"
    "\n"
    "COMMANDS\n"
    "    simulate    replay the optimizer over the NSDI'23 traces (`zeus bso simulate --help`)\n";

int cli_bso(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return CLI_EXIT_USAGE;
    }
    if (cli_is_help(argv[1])) {
        fputs(usage, stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "simulate") == 0)
        return cli_bso_simulate(argc - 1, argv + 1);
    fprintf(stderr, "zeus bso: unknown command '%s'; see 'zeus bso --help'\n", argv[1]);
    return CLI_EXIT_USAGE;
}
