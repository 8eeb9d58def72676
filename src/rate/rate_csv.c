/*
 * rate_csv.c - "csv:FILE": rates from a file of "timestamp,value" rows, read once at open.
 *
 * Timestamps are ISO 8601 with a zone (Z or an offset) or unix seconds, strictly increasing;
 * a row holds from its timestamp until the next row's (the last one holds on). Blank lines and
 * lines starting with '#' are skipped, and so is a first line whose two fields are both not
 * numbers/times (a "timestamp,value" header). Every error names the file and line.
 *
 * A row period shorter than the provider's hour (15-minute prices) is not dropped: the rate of
 * an hour is the time-weighted mean of the rows in force during it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rate/iso8601.h"
#include "rate/rate_internal.h"
#include "util/error.h"

struct csv_state {
    zeus_rate_point *rows;
    size_t n;
};

/* ---- Reading the file --------------------------------------------------------------------- */

static char *trim(char *s)
{
    size_t n;

    while (*s == ' ' || *s == '\t')
        s++;
    n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

static int push_row(struct csv_state *st, size_t *cap, double t, double v)
{
    if (st->n == *cap) {
        size_t grown = *cap ? *cap * 2 : 64;
        zeus_rate_point *r = realloc(st->rows, grown * sizeof *r);
        if (r == NULL)
            return -1;
        st->rows = r;
        *cap = grown;
    }
    st->rows[st->n].unix_s = t;
    st->rows[st->n].value = v;
    st->n++;
    return 0;
}

/* One data line: "timestamp,value". `first` allows a header. 1: row added; 0: skipped. */
static zeus_status parse_line(zeus_rate_provider *p, struct csv_state *st, size_t *cap,
                              char *line, const char *file, size_t lineno, int first, int *added)
{
    char *comma = strchr(line, ','), *ts, *val, *end;
    const char *why = NULL;
    double t, v;
    int t_bad, v_bad;
    zeus_status s;

    *added = 0;
    if (comma == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "%s:%zu: want \"timestamp,value\", got \"%s\"",
                          file, lineno, line);
    *comma = '\0';
    ts = trim(line);
    val = trim(comma + 1);
    if (strchr(val, ',') != NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "%s:%zu: more than two fields", file,
                          lineno);
    t_bad = zeus__iso8601_parse(ts, &t, &why) != 0;
    v = strtod(val, &end);
    v_bad = end == val || *end != '\0';
    if (first && t_bad && v_bad)
        return ZEUS_OK; /* a header */
    if (t_bad)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "%s:%zu: timestamp \"%s\": %s", file, lineno,
                          ts, why);
    if (v_bad)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "%s:%zu: value \"%s\" is not a number",
                          file, lineno, val);
    if ((s = zeus__rate_check_value(p->kind, v, "the value")) != ZEUS_OK)
        return zeus__fail_prefix(s, "%s:%zu", file, lineno);
    if (st->n > 0 && t <= st->rows[st->n - 1].unix_s)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                          "%s:%zu: timestamp \"%s\" is not after the previous row's (rows must "
                          "be sorted, each time once)",
                          file, lineno, ts);
    if (push_row(st, cap, t, v) != 0)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
    *added = 1;
    return ZEUS_OK;
}

static zeus_status read_rows(zeus_rate_provider *p, struct csv_state *st, const char *file)
{
    FILE *f = fopen(file, "r");
    char *line = NULL;
    size_t len = 0, lineno = 0, cap = 0;
    int first = 1, added;
    zeus_status s = ZEUS_OK;

    if (f == NULL)
        return zeus__fail_errno(ZEUS_ERR_IO, errno, "cannot open %s", file);
    while (s == ZEUS_OK && getline(&line, &len, f) != -1) {
        char *l = trim(line);
        lineno++;
        if (*l == '\0' || *l == '#')
            continue;
        s = parse_line(p, st, &cap, l, file, lineno, first, &added);
        first = 0;
    }
    if (s == ZEUS_OK && ferror(f))
        s = zeus__fail_errno(ZEUS_ERR_IO, errno, "cannot read %s", file);
    if (s == ZEUS_OK && st->n == 0)
        s = zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "%s has no \"timestamp,value\" rows", file);
    free(line);
    fclose(f);
    return s;
}

/* ---- Rates -------------------------------------------------------------------------------- */

/* Index of the last row at or before t, or -1 when t is before the first row. */
static long row_at(const struct csv_state *st, double t)
{
    long lo = 0, hi = (long)st->n - 1, found = -1;

    while (lo <= hi) {
        long mid = lo + (hi - lo) / 2;
        if (st->rows[mid].unix_s <= t) {
            found = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return found;
}

static zeus_status csv_rate_at(zeus_rate_provider *p, double start_s, double *value,
                               uint32_t *flags)
{
    const struct csv_state *st = p->state;
    double end_s = start_s + p->update_period_s, from, sum = 0;
    long i = row_at(st, start_s);

    if (end_s <= st->rows[0].unix_s)
        return zeus__fail(ZEUS_ERR_PROVIDER_NOT_FOUND,
                          "no rate for the hour at %.0f: the file's first row is at %.0f",
                          start_s, st->rows[0].unix_s);
    /* The hour's part before the first row has no rate: the mean is over the rest, and the
     * value is flagged as estimated. */
    *flags = i < 0 ? ZEUS_RATE_ESTIMATED : ZEUS_RATE_EXACT;
    if (i < 0)
        i = 0;
    from = start_s > st->rows[i].unix_s ? start_s : st->rows[i].unix_s;
    for (double begun = from; (size_t)i < st->n && st->rows[i].unix_s < end_s; i++) {
        double until = (size_t)i + 1 < st->n && st->rows[i + 1].unix_s < end_s
                           ? st->rows[i + 1].unix_s
                           : end_s;
        double t0 = st->rows[i].unix_s > begun ? st->rows[i].unix_s : begun;
        sum += st->rows[i].value * (until - t0);
    }
    *value = sum / (end_s - from);
    return ZEUS_OK;
}

static zeus_status csv_history(zeus_rate_provider *p, zeus_rate_point *points, size_t cap,
                               size_t *count)
{
    const struct csv_state *st = p->state;
    long last = row_at(st, zeus__rate_now_s());
    size_t n = last < 0 ? 0 : (size_t)last + 1, first = n > cap ? n - cap : 0;

    memcpy(points, st->rows + first, (n - first) * sizeof *points);
    *count = n - first;
    return ZEUS_OK;
}

static void csv_destroy(zeus_rate_provider *p)
{
    struct csv_state *st = p->state;

    free(st->rows);
    free(st);
}

static const zeus__rate_ops csv_ops = {
    .rate_at = csv_rate_at,
    .history = csv_history,
    .destroy = csv_destroy,
};

zeus_status zeus__rate_csv_open(zeus_rate_provider *p, const char *arg)
{
    struct csv_state *st = calloc(1, sizeof *st);
    zeus_status s;

    if (st == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
    if (*arg == '\0')
        s = zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "csv:FILE needs a file name");
    else
        s = read_rows(p, st, arg);
    if (s != ZEUS_OK) {
        free(st->rows);
        free(st);
        return s;
    }
    p->ops = &csv_ops;
    p->state = st;
    p->history_length = 0;
    return ZEUS_OK;
}
