/*
 * run_emission.h - `zeus run --carbon PROVIDER --price PROVIDER`: the providers, the carbon and
 * cost windows over the run's monitor, and how their results are reported.
 */
#ifndef ZEUS_CLI_RUN_EMISSION_H
#define ZEUS_CLI_RUN_EMISSION_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "zeus/emission.h"
#include "zeus/monitor.h"

enum { CLI_CARBON = 0, CLI_PRICE = 1, CLI_EMISSION_KINDS = 2 };

/* Both kinds, each absent (NULL) unless asked for. */
struct cli_emission {
    const char *spec[CLI_EMISSION_KINDS];
    zeus_rate_provider *provider[CLI_EMISSION_KINDS];
    zeus_emission_monitor *em[CLI_EMISSION_KINDS];
};

/* What one run cost; have[k] is 0 for a kind not asked for or whose window was lost. */
struct cli_emission_result {
    int have[CLI_EMISSION_KINDS];
    zeus_emission_measurement m[CLI_EMISSION_KINDS];
};

/* 1 when --carbon or --price was given. */
int cli_emission_wanted(const struct cli_emission *e);

/*
 * Open the providers named in e->spec and their monitors over `mon` (borrowed). Returns 0,
 * or an exit code after saying why on stderr: CLI_EXIT_USAGE for a spec the library refuses,
 * CLI_EXIT_RUN_FAILED otherwise. `cmd` names the subcommand in messages.
 */
int cli_emission_open(struct cli_emission *e, zeus_monitor *mon, const char *cmd);

void cli_emission_close(struct cli_emission *e);

/* Begin window `key` in each; 0, or -1 after saying why. */
int cli_emission_begin(struct cli_emission *e, const char *key);

/* Drop window `key` (the command never started). */
void cli_emission_cancel(struct cli_emission *e, const char *key);

/*
 * End window `key` in each into `r`; a provider that has not answered is warned about on
 * stderr. `energy` is the run's plain measurement: amounts are reported for its energies
 * (see run_emission.c).
 */
void cli_emission_end(struct cli_emission *e, const char *key, const zeus_measurement *energy,
                      struct cli_emission_result *r);

/* The rows of carbon and cost under the energy table. */
void cli_emission_table(FILE *f, const struct cli_emission_result *r);

/* Add "carbon_g" and "cost" (each only when asked for) to `obj`; 0, or -1 (no memory). */
int cli_emission_json(cJSON *obj, const struct cli_emission_result *r);

#endif /* ZEUS_CLI_RUN_EMISSION_H */
