/*
 * exporter.h - `zeus exporter`: serve every device's metrics on /metrics for Prometheus.
 */
#ifndef ZEUS_CLI_EXPORTER_H
#define ZEUS_CLI_EXPORTER_H

/* The subcommand: argv[0] is "exporter". Returns the exit code. */
int cli_exporter(int argc, char **argv);

#endif /* ZEUS_CLI_EXPORTER_H */
