/*
 * args.c - Option parsing for the `zeus` subcommands: matching "--name VALUE" and
 * "--name=VALUE", device lists, numbers, and the usage error every bad value ends in.
 *
 * Concept: getopt_long would do. Reality: its messages name argv[0] rather than the
 * subcommand, cannot say which value was wrong or why, and its global state must be reset
 * between subcommands; the options here are few, so a small matcher reads better.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* ---- Errors and option matching --------------------------------------------------------- */

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "zeus %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'zeus %s --help' for more information.\n", cmd);
    return CLI_EXIT_USAGE;
}

int cli_is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

int cli_option_value(const char *cmd, int argc, char **argv, int *i, const char *name,
                     const char **value)
{
    const char *arg = argv[*i];
    size_t len = strlen(name);

    if (strncmp(arg, name, len) != 0)
        return 0;
    if (arg[len] == '=') {
        *value = arg + len + 1;
        return 1;
    }
    if (arg[len] != '\0')
        return 0; /* a longer option that starts the same way */
    if (*i + 1 >= argc) {
        cli_usage_error(cmd, "option %s needs a value", name);
        return -1;
    }
    *value = argv[++*i];
    return 1;
}

/* ---- Numbers ---------------------------------------------------------------------------- */

/*
 * Parse a plain decimal number: digits only, so "-1", "+1", " 1" and "1x" are refused rather
 * than read the way strtoul would (it accepts a sign and skips blanks).
 */
static int parse_digits(const char *text, size_t len, unsigned long *out)
{
    unsigned long v = 0;

    if (len == 0)
        return -1;
    for (size_t k = 0; k < len; k++) {
        if (!isdigit((unsigned char)text[k]))
            return -1;
        if (v > (ULONG_MAX - 9) / 10)
            return -1;
        v = v * 10 + (unsigned long)(text[k] - '0');
    }
    *out = v;
    return 0;
}

int cli_scan_unsigned(const char *text, unsigned min, unsigned max, unsigned *out)
{
    unsigned long v;

    if (parse_digits(text, strlen(text), &v) != 0 || v < min || v > max)
        return -1;
    *out = (unsigned)v;
    return 0;
}

int cli_scan_double(const char *text, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(text, &end);
    if (end == text || *end != '\0' || errno != 0 || !isfinite(v) ||
        isspace((unsigned char)text[0]))
        return -1;
    *out = v;
    return 0;
}

int cli_parse_unsigned(const char *cmd, const char *option, const char *text, unsigned min,
                       unsigned max, unsigned *out)
{
    if (cli_scan_unsigned(text, min, max, out) != 0) {
        cli_usage_error(cmd, "%s: '%s' is not a whole number from %u to %u", option, text, min,
                        max);
        return -1;
    }
    return 0;
}

int cli_parse_seconds(const char *cmd, const char *option, const char *text, double min_s,
                      double *out)
{
    double v;

    if (cli_scan_double(text, &v) != 0 || v < min_s) {
        cli_usage_error(cmd, "%s: '%s' is not a number of seconds of at least %g", option, text,
                        min_s);
        return -1;
    }
    *out = v;
    return 0;
}

/* ---- Device lists ----------------------------------------------------------------------- */

static int list_has(const struct cli_device_list *list, unsigned idx)
{
    for (size_t k = 0; k < list->count; k++)
        if (list->index[k] == idx)
            return 1;
    return 0;
}

/* Parse one comma-separated entry of `len` bytes and append it; -1 after a usage error. */
static int add_entry(const char *cmd, const char *option, const char *entry, size_t len,
                     struct cli_device_list *out)
{
    size_t room = sizeof out->index / sizeof out->index[0];
    unsigned long v;

    if (len == 0) {
        cli_usage_error(cmd, "%s: empty entry in the device list", option);
        return -1;
    }
    if (parse_digits(entry, len, &v) != 0 || v >= UINT_MAX) {
        cli_usage_error(cmd, "%s: '%.*s' is not a device index (use all, none, or numbers "
                        "such as 0,2)", option, (int)len, entry);
        return -1;
    }
    if (list_has(out, (unsigned)v)) {
        cli_usage_error(cmd, "%s: device %lu is listed twice", option, v);
        return -1;
    }
    if (out->count == room) {
        cli_usage_error(cmd, "%s: more than %zu devices listed", option, room);
        return -1;
    }
    out->index[out->count++] = (unsigned)v;
    return 0;
}

int cli_parse_device_list(const char *cmd, const char *option, const char *text,
                          struct cli_device_list *out)
{
    const char *p = text;

    memset(out, 0, sizeof *out);
    if (strcmp(text, "all") == 0) {
        out->all = 1;
        return 0;
    }
    if (strcmp(text, "none") == 0)
        return 0;
    if (*text == '\0') {
        cli_usage_error(cmd, "%s: empty device list (use all, none, or indices such as 0,2)",
                        option);
        return -1;
    }
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);

        if (add_entry(cmd, option, p, len, out) != 0)
            return -1;
        if (comma == NULL)
            return 0;
        p = comma + 1;
    }
}

const unsigned *cli_device_list_indices(const struct cli_device_list *list, size_t *count)
{
    *count = list->all ? 0 : list->count;
    return list->all ? NULL : list->index; /* non-NULL with count 0 means "none" */
}
