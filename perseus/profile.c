/*
 * profile.c - The per-instruction profile that Perseus plans from: a CSV with the columns
 * stage,instruction,frequency,time,energy (one row per stage, instruction and SM frequency;
 * time in seconds, energy in joules, as Zeus's profiling writes it), and the refusals.
 *
 * Zeus reads it with pandas, which takes the columns by name in any order and ignores others
 * (the richer export has rank,dp_rank,pp_rank,tp_rank first); this reader does the same. What
 * pandas and lowtime would let through and then plan nonsense from, or crash on, is refused
 * here with the line named: a NaN or non-positive time or energy (a negative effective cost
 * slope, or a log of nothing), an unknown instruction, a stage or instruction with no rows
 * (lowtime: max() of an empty list), one frequency only (no trade-off to make: lowtime's fit
 * fails on it after a long grid search).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "perseus.h"

enum column { COL_STAGE, COL_INSTRUCTION, COL_FREQUENCY, COL_TIME, COL_ENERGY, NCOLS };

static const char *const column_names[NCOLS] = {"stage", "instruction", "frequency", "time",
                                                "energy"};

static int fail(perseus_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(perseus_error *err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return PERSEUS_ERR_INPUT;
}

/* Split `line` (NUL-terminated, modified) at commas into at most `max` trimmed fields. */
static int split(char *line, char **fields, int max)
{
    int n = 0;
    char *p = line;

    for (;;) {
        char *end = strchr(p, ',');
        char *q;
        if (end != NULL)
            *end = '\0';
        while (*p == ' ' || *p == '\t')
            p++;
        q = p + strlen(p);
        while (q > p && (q[-1] == ' ' || q[-1] == '\t' || q[-1] == '\r'))
            *--q = '\0';
        if (n < max)
            fields[n] = p;
        n++;
        if (end == NULL)
            return n;
        p = end + 1;
    }
}

static int blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\r')
            return 0;
    return 1;
}

/* A whole number; -1 when `s` is not one (a float such as "1980.0" is refused too). */
static int parse_int(const char *s, long *out)
{
    char *end;

    errno = 0;
    *out = strtol(s, &end, 10);
    return (end == s || *end != '\0' || errno != 0) ? -1 : 0;
}

static int parse_real(const char *s, double *out)
{
    char *end;

    *out = strtod(s, &end);
    return (end == s || *end != '\0') ? -1 : 0;
}

static int parse_header(char *line, int col[NCOLS], const char *name, perseus_error *err)
{
    char *fields[64];
    int n = split(line, fields, 64);

    for (int c = 0; c < NCOLS; c++) {
        col[c] = -1;
        for (int i = 0; i < n && i < 64; i++)
            if (strcmp(fields[i], column_names[c]) == 0)
                col[c] = i;
        if (col[c] < 0)
            return fail(err, "%s line 1: no '%s' column (the header needs "
                             "stage,instruction,frequency,time,energy)",
                        name, column_names[c]);
    }
    return PERSEUS_OK;
}

static int parse_row(char *line, const int col[NCOLS], unsigned lineno, const char *name,
                     perseus_row *r, perseus_error *err)
{
    char *fields[64];
    int n = split(line, fields, 64);
    long stage, freq;
    const char *inst;

    for (int c = 0; c < NCOLS; c++)
        if (col[c] >= n)
            return fail(err, "%s line %u: %d fields, no '%s'", name, lineno, n,
                        column_names[c]);
    if (parse_int(fields[col[COL_STAGE]], &stage) != 0 || stage < 0 || stage > 1000000)
        return fail(err, "%s line %u: stage '%s' is not a stage number", name, lineno,
                    fields[col[COL_STAGE]]);
    inst = fields[col[COL_INSTRUCTION]];
    if (strcmp(inst, "forward") == 0)
        r->instruction = PERSEUS_FORWARD;
    else if (strcmp(inst, "backward") == 0)
        r->instruction = PERSEUS_BACKWARD;
    else
        return fail(err, "%s line %u: instruction '%s' is neither forward nor backward", name,
                    lineno, inst);
    if (parse_int(fields[col[COL_FREQUENCY]], &freq) != 0 || freq <= 0 || freq > 1000000)
        return fail(err, "%s line %u: frequency '%s' is not a whole number of MHz", name,
                    lineno, fields[col[COL_FREQUENCY]]);
    if (parse_real(fields[col[COL_TIME]], &r->time_s) != 0)
        return fail(err, "%s line %u: time '%s' is not a number", name, lineno,
                    fields[col[COL_TIME]]);
    if (parse_real(fields[col[COL_ENERGY]], &r->energy_j) != 0)
        return fail(err, "%s line %u: energy '%s' is not a number", name, lineno,
                    fields[col[COL_ENERGY]]);
    /* An instruction of a day or a terajoule is a unit mistake, not a profile. */
    if (!isfinite(r->time_s) || r->time_s <= 0 || r->time_s > 86400)
        return fail(err, "%s line %u: time %s is not a positive number of seconds (at most "
                         "86400)",
                    name, lineno, fields[col[COL_TIME]]);
    if (!isfinite(r->energy_j) || r->energy_j <= 0 || r->energy_j > 1e12)
        return fail(err, "%s line %u: energy %s is not a positive number of joules (at most "
                         "1e12)",
                    name, lineno, fields[col[COL_ENERGY]]);
    r->stage = (int)stage;
    r->frequency = (int)freq;
    r->line = lineno;
    return PERSEUS_OK;
}

int perseus_profile_parse(const char *text, size_t len, const char *name, perseus_profile *out,
                          perseus_error *err)
{
    int col[NCOLS];
    unsigned lineno = 0;
    size_t at = 0, cap = 0;
    int have_header = 0, rc = PERSEUS_OK;

    out->rows = NULL;
    out->count = 0;
    out->name = strdup(name);
    if (out->name == NULL)
        rc = PERSEUS_ERR_NO_MEMORY;
    while (at < len && rc == PERSEUS_OK) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t n = nl ? (size_t)(nl - (text + at)) : len - at;
        char *line = malloc(n + 1);

        if (line == NULL) {
            rc = PERSEUS_ERR_NO_MEMORY;
            break;
        }
        memcpy(line, text + at, n);
        line[n] = '\0';
        at += n + 1;
        lineno++;
        if (blank(line)) {
            /* pandas skips blank lines */
        } else if (!have_header) {
            rc = parse_header(line, col, name, err);
            have_header = 1;
        } else {
            if (out->count == cap) {
                size_t ncap = cap ? cap * 2 : 256;
                perseus_row *rows = realloc(out->rows, ncap * sizeof *rows);
                if (rows == NULL) {
                    free(line);
                    rc = PERSEUS_ERR_NO_MEMORY;
                    break;
                }
                out->rows = rows;
                cap = ncap;
            }
            rc = parse_row(line, col, lineno, name, &out->rows[out->count], err);
            if (rc == PERSEUS_OK)
                out->count++;
        }
        free(line);
    }
    if (rc == PERSEUS_OK && !have_header)
        rc = fail(err, "%s: empty (no header line)", name);
    if (rc == PERSEUS_ERR_NO_MEMORY)
        snprintf(err->msg, sizeof err->msg, "%s: out of memory", name);
    if (rc != PERSEUS_OK)
        perseus_profile_free(out);
    return rc;
}

int perseus_profile_read(const char *path, perseus_profile *out, perseus_error *err)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    size_t len = 0, cap = 0, got;
    int rc;

    out->rows = NULL;
    out->count = 0;
    out->name = NULL;
    if (f == NULL)
        return fail(err, "cannot open %s: %s", path, strerror(errno));
    do {
        if (cap - len < 65536) {
            char *t = realloc(text, cap + 65536);
            if (t == NULL) {
                free(text);
                fclose(f);
                return fail(err, "%s: out of memory", path);
            }
            text = t;
            cap += 65536;
        }
        got = fread(text + len, 1, cap - len, f);
        len += got;
    } while (got > 0);
    if (ferror(f)) {
        int e = errno;
        free(text);
        fclose(f);
        return fail(err, "cannot read %s: %s", path, strerror(e));
    }
    fclose(f);
    rc = perseus_profile_parse(text, len, path, out, err);
    free(text);
    return rc;
}

int perseus_profile_check(const perseus_profile *p, int stages, perseus_error *err)
{
    static const char *const inst_names[2] = {"forward", "backward"};
    const char *name = p->name != NULL ? p->name : "profile";

    for (int s = 0; s < stages; s++) {
        for (int inst = 0; inst < 2; inst++) {
            const perseus_row *first = NULL;
            int distinct = 0;
            for (size_t i = 0; i < p->count && distinct < 2; i++) {
                const perseus_row *r = &p->rows[i];
                if (r->stage != s || r->instruction != inst)
                    continue;
                if (first == NULL) {
                    first = r;
                    distinct = 1;
                } else if (r->frequency != first->frequency) {
                    distinct = 2;
                }
            }
            if (first == NULL)
                return fail(err, "%s: no %s rows for stage %d (the plan has %d stages)", name,
                            inst_names[inst], s, stages);
            if (distinct < 2)
                return fail(err, "%s line %u: stage %d %s has one frequency only (%d MHz); "
                                 "the planner needs several to trade time for energy",
                            name, first->line, s, inst_names[inst], first->frequency);
        }
    }
    return PERSEUS_OK;
}

void perseus_profile_free(perseus_profile *p)
{
    free(p->rows);
    free(p->name);
    p->rows = NULL;
    p->count = 0;
    p->name = NULL;
}
