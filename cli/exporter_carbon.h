/*
 * exporter_carbon.h - `zeus exporter --carbon PROVIDER`: the carbon intensity gauge and the
 * per-device grams counters, appended to /metrics.
 */
#ifndef ZEUS_CLI_EXPORTER_CARBON_H
#define ZEUS_CLI_EXPORTER_CARBON_H

#include <stddef.h>

#include "cli.h"
#include "zeus/emission.h"

struct exporter_carbon;

/*
 * Open the provider `spec` and start counting grams on the devices `gpus` and `cpus` select,
 * bringing the counters up to date every `period_s`. Returns 0, or an exit code after saying
 * why on stderr (CLI_EXIT_USAGE for a spec or device the library refuses).
 */
int exporter_carbon_start(const char *spec, const struct cli_device_list *gpus,
                          const struct cli_device_list *cpus, double period_s,
                          struct exporter_carbon **out);

/* The metrics in the Prometheus text format (malloc'd, NUL-terminated); NULL: no memory. */
char *exporter_carbon_render(struct exporter_carbon *c, size_t *len);

/* Stop the thread and free. NULL is a no-op. */
void exporter_carbon_stop(struct exporter_carbon *c);

#endif /* ZEUS_CLI_EXPORTER_CARBON_H */
