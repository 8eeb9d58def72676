/*
 * power_limit_input.h - Reading the measurements of `zeus power-limit` from a file: Zeus's
 * JSON profile or a ZeusMonitor CSV log (power_limit_input.c).
 */
#ifndef ZEUS_CLI_POWER_LIMIT_INPUT_H
#define ZEUS_CLI_POWER_LIMIT_INPUT_H

#include <stddef.h>

#include "zeus/power_limit.h"

/* What a file held. */
struct cli_plo_input {
    zeus_plo_measurement *m; /* malloc'ed, in the file's order */
    size_t count;
    int is_json;          /* 1: a JSON profile, which does not say how many GPUs it measured */
    unsigned gpu_columns; /* CSV: the number of gpu<i>_energy columns; 0 for JSON */
    size_t skipped;       /* CSV: rows whose window name does not end in _<W> */
};

/*
 * Read `path`: a JSON profile when its first character other than blanks is '{', a CSV log
 * otherwise. Returns 0; or CLI_EXIT_USAGE for a file that is missing, unreadable, empty or
 * malformed, and CLI_EXIT_FAILURE when out of memory, with one line (no newline) in `err`
 * that names the file and, in a CSV, the line and the field. `out` is untouched on error.
 */
int cli_plo_input_read(const char *path, struct cli_plo_input *out, char *err, size_t err_len);

/* Free what cli_plo_input_read() allocated. */
void cli_plo_input_free(struct cli_plo_input *in);

#endif /* ZEUS_CLI_POWER_LIMIT_INPUT_H */
