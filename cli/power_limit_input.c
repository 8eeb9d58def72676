/*
 * power_limit_input.c - The measurements `zeus power-limit` chooses from, read from Zeus's
 * JSON profile or from a ZeusMonitor CSV log.
 *
 * The JSON profile is the library's (zeus_plo_profile_load). The CSV log is read here:
 *
 *   What:        the input of `zeus power-limit select --profile FILE` when FILE does not
 *                start with '{'.
 *   Since:       0.1
 *   Description: a ZeusMonitor log as Zeus and Zeus-C write it (csv_log.c): a header
 *                beginning start_time,window_name,elapsed_time, then any columns. Those named
 *                gpu<i>_energy are the GPUs; the others (cpu<i>_energy, dram<i>_energy, ...)
 *                are not GPU energy and are ignored. Each row whose window name ends in _<W>,
 *                W a whole number, is the measurement of power limit W watts: its time is
 *                elapsed_time, its energy the sum of its gpu<i>_energy fields. Other rows are
 *                counted as skipped. Fields follow RFC 4180 (Zeus-C quotes window names that
 *                hold commas, quotes or line breaks); a quote inside an unquoted field is
 *                taken literally, as Python's csv module takes it, since Zeus writes names
 *                raw. Lines may end in LF or CRLF; blank lines are ignored.
 *   Errors:      a header that does not begin so or has no GPU column, a row whose field
 *                count differs from the header's, a number that does not parse, an
 *                elapsed_time that is not positive and finite, a GPU energy that is negative
 *                or not finite, GPU energies summing to 0, W = 0 or W over 1,000,000, no
 *                _<W> row at all. The message gives the file and the line the row starts on.
 *
 * Concept: read the whole file and split it. Reality: a ZeusMonitor log also holds every
 * window a training script opened and can be large, while the power limit rows are a dozen,
 * so records are read one at a time from the stream and only the measurements are kept.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "power_limit_input.h"

/* A record longer than this is not a ZeusMonitor log (a binary file, say). */
#define RECORD_MAX_BYTES (1024 * 1024)

/*
 * The largest power limit accepted: zeus_plo_profile_load's, so that what is read here can be
 * saved as a profile and loaded again.
 */
#define MAX_LIMIT_W 1000000

/* ---- Errors --------------------------------------------------------------------------------- */

struct errbuf {
    char *text;
    size_t len;
    int code; /* CLI_EXIT_USAGE or CLI_EXIT_FAILURE */
};

static int fail(struct errbuf *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct errbuf *e, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(e->text, e->len, fmt, ap);
    va_end(ap);
    e->code = code;
    return -1;
}

/* ---- CSV records ---------------------------------------------------------------------------- */

struct csv {
    FILE *f;
    const char *path;
    struct errbuf *err;
    unsigned long line;        /* the line being read, from 1 */
    unsigned long record_line; /* the line the last record began on */
    char *text;                /* the record's fields, each NUL-terminated */
    size_t len, cap;
    size_t *start; /* where each field begins in text */
    size_t fields, fields_cap;
};

static int push(struct csv *c, char ch)
{
    if (c->len == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        char *grown;

        if (cap > RECORD_MAX_BYTES)
            return fail(c->err, CLI_EXIT_USAGE, "%s:%lu: a record longer than %d bytes; this "
                        "is not a ZeusMonitor CSV log", c->path, c->record_line,
                        RECORD_MAX_BYTES);
        if ((grown = realloc(c->text, cap)) == NULL)
            return fail(c->err, CLI_EXIT_FAILURE, "%s: out of memory", c->path);
        c->text = grown;
        c->cap = cap;
    }
    c->text[c->len++] = ch;
    return 0;
}

static int new_field(struct csv *c)
{
    if (c->fields == c->fields_cap) {
        size_t cap = c->fields_cap ? c->fields_cap * 2 : 16;
        size_t *grown = realloc(c->start, cap * sizeof *grown);

        if (grown == NULL)
            return fail(c->err, CLI_EXIT_FAILURE, "%s: out of memory", c->path);
        c->start = grown;
        c->fields_cap = cap;
    }
    c->start[c->fields++] = c->len;
    return 0;
}

static const char *field(const struct csv *c, size_t i)
{
    return c->text + c->start[i];
}

/*
 * A field as an error message shows it: at most 60 bytes, control characters as '?', so
 * that a window name holding a line break cannot make the one-line error two.
 */
static const char *shown(const char *text, char *buf, size_t len)
{
    size_t n = 0;

    for (; *text != '\0' && n + 4 < len && n < 60; text++)
        buf[n++] = (unsigned char)*text < 0x20 || *text == 0x7f ? '?' : *text;
    if (*text != '\0')
        n += (size_t)snprintf(buf + n, len - n, "...");
    buf[n] = '\0';
    return buf;
}

static int bad_value(const struct csv *c, size_t i, const char *column, const char *why)
{
    char text[80];

    return fail(c->err, CLI_EXIT_USAGE, "%s:%lu: %s '%s' %s", c->path, c->record_line, column,
                shown(field(c, i), text, sizeof text), why);
}

/* A '\r' ends a line alone or with the '\n' after it. */
static void end_line(struct csv *c, int ch)
{
    if (ch == '\r') {
        int next = getc(c->f);

        if (next != '\n' && next != EOF)
            ungetc(next, c->f);
    }
    c->line++;
}

enum csv_state {
    AT_START,     /* nothing of the field read yet */
    UNQUOTED,     /* inside a plain field */
    QUOTED,       /* inside a quoted field */
    QUOTED_QUOTE, /* a quote inside a quoted field: its end, or the first of a pair */
};

/* Take one character outside a quoted field. 1: the record ended; 0: go on; -1: error. */
static int take_plain(struct csv *c, enum csv_state *st, int ch)
{
    if (ch == ',') {
        *st = AT_START;
        return push(c, '\0') != 0 || new_field(c) != 0 ? -1 : 0;
    }
    if (ch == '\n' || ch == '\r') {
        int blank = *st == AT_START && c->fields == 1;

        end_line(c, ch);
        if (!blank)
            return push(c, '\0') != 0 ? -1 : 1;
        c->record_line = c->line; /* a blank line is no record */
        return 0;
    }
    if (*st == QUOTED_QUOTE)
        return fail(c->err, CLI_EXIT_USAGE, "%s:%lu: text after the closing quote of field %zu",
                    c->path, c->line, c->fields);
    if (*st == AT_START && ch == '"') {
        *st = QUOTED;
        return 0;
    }
    *st = UNQUOTED;
    return push(c, (char)ch);
}

/* Take one character inside a quoted field (a "" pair is one quote). */
static int take_quoted(struct csv *c, enum csv_state *st, int ch)
{
    if (ch == '"') {
        *st = QUOTED_QUOTE;
        return 0;
    }
    if (ch == '\n')
        c->line++;
    return push(c, (char)ch);
}

/* Read the next record. 1: read; 0: end of file; -1: error (in c->err). */
static int read_record(struct csv *c)
{
    enum csv_state st = AT_START;
    int ch, r;

    c->len = c->fields = 0;
    c->record_line = c->line;
    if (new_field(c) != 0)
        return -1;
    while ((ch = getc(c->f)) != EOF) {
        if (ch == '\0')
            return fail(c->err, CLI_EXIT_USAGE, "%s:%lu: a NUL byte; this is not a text file",
                        c->path, c->line);
        if (st == QUOTED_QUOTE && ch == '"') {
            st = QUOTED; /* "" inside quotes: one quote, and the field goes on */
            r = push(c, '"');
        } else if (st == QUOTED) {
            r = take_quoted(c, &st, ch);
        } else {
            r = take_plain(c, &st, ch);
        }
        if (r != 0)
            return r;
    }
    if (ferror(c->f))
        return fail(c->err, CLI_EXIT_USAGE, "cannot read %s: %s", c->path, strerror(errno));
    if (st == QUOTED)
        return fail(c->err, CLI_EXIT_USAGE, "%s:%lu: a quoted field is not closed", c->path,
                    c->record_line);
    if (st == AT_START && c->fields == 1)
        return 0; /* the file ended at the start of a record */
    return push(c, '\0') != 0 ? -1 : 1;
}

/* ---- The log's header ----------------------------------------------------------------------- */

/* The columns that matter: where the GPUs are. */
struct header {
    size_t fields;
    size_t *gpu; /* the field index of each gpu<i>_energy column */
    unsigned gpu_count;
};

/* 1 for "gpu<digits>_energy". */
static int is_gpu_column(const char *name)
{
    const char *p = name + 3;

    if (strncmp(name, "gpu", 3) != 0 || !isdigit((unsigned char)*p))
        return 0;
    while (isdigit((unsigned char)*p))
        p++;
    return strcmp(p, "_energy") == 0;
}

/* A header naming a GPU twice would have its energy counted twice. */
static int check_repeat(const struct csv *c, const struct header *h, size_t i)
{
    for (unsigned k = 0; k < h->gpu_count; k++)
        if (strcmp(field(c, h->gpu[k]), field(c, i)) == 0)
            return bad_value(c, i, "the header names", "twice");
    return 0;
}

static int read_header(struct csv *c, struct header *h)
{
    static const char *const first[] = {"start_time", "window_name", "elapsed_time"};
    int r = read_record(c);

    if (r < 0)
        return -1;
    if (r == 0)
        return fail(c->err, CLI_EXIT_USAGE, "%s: the file is empty", c->path);
    for (size_t i = 0; i < 3; i++)
        if (i >= c->fields || strcmp(field(c, i), first[i]) != 0)
            return fail(c->err, CLI_EXIT_USAGE, "%s:%lu: not a ZeusMonitor CSV log nor a JSON "
                        "profile (the header must begin start_time,window_name,elapsed_time)",
                        c->path, c->record_line);
    h->fields = c->fields;
    if ((h->gpu = calloc(c->fields, sizeof *h->gpu)) == NULL)
        return fail(c->err, CLI_EXIT_FAILURE, "%s: out of memory", c->path);
    for (size_t i = 3; i < c->fields; i++) {
        if (!is_gpu_column(field(c, i)))
            continue;
        if (check_repeat(c, h, i) != 0)
            return -1;
        h->gpu[h->gpu_count++] = i;
    }
    if (h->gpu_count == 0)
        return fail(c->err, CLI_EXIT_USAGE, "%s:%lu: the header has no gpu<i>_energy column",
                    c->path, c->record_line);
    return 0;
}

/* ---- Rows ----------------------------------------------------------------------------------- */

/*
 * Parse a number as Python's float() does: blanks around it allowed, hexadecimal not
 * (strtod takes "0x1p3"; Zeus would not). NAN and infinities parse; the caller judges them.
 */
static int parse_number(const char *text, double *out)
{
    const char *p = text;
    char *end;

    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '\0' || strpbrk(p, "xX") != NULL)
        return -1;
    *out = strtod(p, &end);
    if (end == p)
        return -1;
    while (*end == ' ' || *end == '\t')
        end++;
    return *end == '\0' ? 0 : -1;
}

/* W of a window name that ends in "_<W>" (capped at MAX_LIMIT_W + 1); -1 when it does not. */
static long limit_of(const char *name)
{
    const char *u = strrchr(name, '_');
    long w = 0;

    if (u == NULL || u[1] == '\0')
        return -1;
    for (const char *p = u + 1; *p != '\0'; p++) {
        if (!isdigit((unsigned char)*p))
            return -1;
        if (w <= MAX_LIMIT_W)
            w = w * 10 + (*p - '0');
    }
    return w > MAX_LIMIT_W ? MAX_LIMIT_W + 1 : w;
}

/* The GPUs' energy: each >= 0 and finite (0 is a short window on a counter), the sum > 0. */
static int row_energy(const struct csv *c, const struct header *h, const char *const *names,
                      double *energy_j)
{
    double sum = 0, v;

    for (unsigned k = 0; k < h->gpu_count; k++) {
        if (parse_number(field(c, h->gpu[k]), &v) != 0)
            return bad_value(c, h->gpu[k], names[k], "is not a number");
        if (!(isfinite(v) && v >= 0))
            return bad_value(c, h->gpu[k], names[k], "is not a finite number of joules >= 0");
        sum += v;
    }
    if (!(sum > 0 && isfinite(sum)))
        return bad_value(c, 1, "window", "has GPU energies that do not sum to a positive "
                         "finite number of joules");
    *energy_j = sum;
    return 0;
}

/* Read a row's measurement. 1: read; 0: not a power limit window; -1: error. */
static int parse_row(const struct csv *c, const struct header *h, const char *const *names,
                     zeus_plo_measurement *m)
{
    long w;

    if (c->fields != h->fields)
        return fail(c->err, CLI_EXIT_USAGE, "%s:%lu: %zu field%s where the header has %zu",
                    c->path, c->record_line, c->fields, c->fields == 1 ? "" : "s", h->fields);
    if ((w = limit_of(field(c, 1))) < 0)
        return 0;
    if (w == 0)
        return bad_value(c, 1, "window", "names power limit 0 W");
    if (w > MAX_LIMIT_W)
        return bad_value(c, 1, "window", "names a power limit over 1000000 W");
    if (parse_number(field(c, 2), &m->time_s) != 0)
        return bad_value(c, 2, "elapsed_time", "is not a number");
    if (!(isfinite(m->time_s) && m->time_s > 0))
        return bad_value(c, 2, "elapsed_time", "is not a positive finite number of seconds");
    m->power_limit_w = (unsigned)w;
    return row_energy(c, h, names, &m->energy_j) == 0 ? 1 : -1;
}

static int append(struct cli_plo_input *in, size_t *cap, const zeus_plo_measurement *m,
                  struct errbuf *e, const char *path)
{
    if (in->count == *cap) {
        size_t grown_cap = *cap ? *cap * 2 : 16;
        zeus_plo_measurement *grown = realloc(in->m, grown_cap * sizeof *grown);

        if (grown == NULL)
            return fail(e, CLI_EXIT_FAILURE, "%s: out of memory", path);
        in->m = grown;
        *cap = grown_cap;
    }
    in->m[in->count++] = *m;
    return 0;
}

/* ---- The CSV log ---------------------------------------------------------------------------- */

/* The GPU columns' names, copied out of the header record before the rows overwrite it. */
static char **copy_names(const struct csv *c, const struct header *h)
{
    char **names = calloc(h->gpu_count, sizeof *names);

    for (unsigned k = 0; names != NULL && k < h->gpu_count; k++)
        if ((names[k] = strdup(field(c, h->gpu[k]))) == NULL) {
            while (k > 0)
                free(names[--k]);
            free(names);
            names = NULL;
        }
    return names;
}

static int read_rows(struct csv *c, const struct header *h, struct cli_plo_input *in)
{
    char **names = copy_names(c, h);
    size_t cap = 0;
    int r = 0;

    if (names == NULL)
        return fail(c->err, CLI_EXIT_FAILURE, "%s: out of memory", c->path);
    while (r >= 0 && (r = read_record(c)) == 1) {
        zeus_plo_measurement m;

        r = parse_row(c, h, (const char *const *)names, &m);
        if (r == 0)
            in->skipped++;
        else if (r == 1)
            r = append(in, &cap, &m, c->err, c->path);
    }
    for (unsigned k = 0; k < h->gpu_count; k++)
        free(names[k]);
    free(names);
    return r;
}

static int read_csv(FILE *f, const char *path, unsigned long line, struct cli_plo_input *in,
                    struct errbuf *e)
{
    struct csv c = {.f = f, .path = path, .err = e, .line = line};
    struct header h = {0};
    int r = read_header(&c, &h);

    if (r == 0)
        r = read_rows(&c, &h, in);
    if (r == 0 && in->count == 0)
        r = fail(e, CLI_EXIT_USAGE, "%s: no power limit window among its %zu row%s (a window "
                 "name ending in _<W>, as __GlobalPowerLimitOptimizer_300)", path, in->skipped,
                 in->skipped == 1 ? "" : "s");
    in->gpu_columns = h.gpu_count;
    free(h.gpu);
    free(c.text);
    free(c.start);
    return r;
}

/* ---- Either format -------------------------------------------------------------------------- */

/*
 * The first character that is not blank, counting the lines passed: '{' means JSON, EOF an
 * empty file. Nothing is read twice, so a CSV log may come through a pipe.
 */
static int first_char(FILE *f, unsigned long *lines)
{
    int ch;

    while ((ch = getc(f)) == ' ' || ch == '\t' || ch == '\n' || ch == '\r')
        if (ch == '\n')
            ++*lines;
    return ch;
}

/* The library reads the file again itself; a profile is a regular file Zeus wrote. */
static int read_json(const char *path, struct cli_plo_input *in, struct errbuf *e)
{
    zeus_status s = zeus_plo_profile_load(path, &in->m, &in->count);

    if (s != ZEUS_OK)
        return fail(e, s == ZEUS_ERR_NO_MEMORY ? CLI_EXIT_FAILURE : CLI_EXIT_USAGE, "%s",
                    zeus_last_error());
    in->is_json = 1;
    return 0;
}

static int read_file(FILE *f, const char *path, struct cli_plo_input *in, struct errbuf *e)
{
    unsigned long line = 1;
    int ch = first_char(f, &line);

    if (ch == EOF && ferror(f)) /* a folder opens, and its first read fails (EISDIR) */
        return fail(e, CLI_EXIT_USAGE, "cannot read %s: %s", path, strerror(errno));
    if (ch == EOF)
        return fail(e, CLI_EXIT_USAGE, "%s: the file is empty", path);
    if (ch == '{')
        return read_json(path, in, e);
    ungetc(ch, f);
    return read_csv(f, path, line, in, e);
}

int cli_plo_input_read(const char *path, struct cli_plo_input *out, char *err, size_t err_len)
{
    struct errbuf e = {.text = err, .len = err_len, .code = 0};
    struct cli_plo_input in = {0};
    FILE *f = fopen(path, "r");
    int r;

    if (f == NULL) {
        fail(&e, CLI_EXIT_USAGE, "cannot open %s: %s", path, strerror(errno));
        return e.code;
    }
    r = read_file(f, path, &in, &e);
    fclose(f);
    if (r != 0) {
        free(in.m);
        return e.code;
    }
    *out = in;
    return 0;
}

void cli_plo_input_free(struct cli_plo_input *in)
{
    free(in->m);
    in->m = NULL;
    in->count = 0;
}
