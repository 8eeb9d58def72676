/*
 * bso_trace.c - Reading the NSDI'23 train and power traces, and cutting out one workload
 * (see bso_trace.h). The files are plain comma-separated text with a header line and no
 * quoting; columns are found by name so a reordered file still reads.
 */
#include <errno.h>
#include <math.h>

/* pandas_strtod's `number * 10. + digit` must round twice, as on x86-64 (see bso_sim.c). */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bso_trace.h"

#define MAX_FIELDS 16

const char *const bso_trace_gpus[4] = {"a40", "v100", "p100", "rtx6000"};

static int fail(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- CSV lines ------------------------------------------------------------------------ */

/* Split `line` in place at commas (the newline dropped). Returns the number of fields. */
static int split(char *line, char **fields)
{
    int n = 0;

    line[strcspn(line, "\r\n")] = '\0';
    fields[n++] = line;
    for (char *p = line; *p; p++) {
        if (*p != ',')
            continue;
        *p = '\0';
        if (n == MAX_FIELDS)
            return MAX_FIELDS + 1;
        fields[n++] = p + 1;
    }
    return n;
}

/* The index of each of `names` in the header, or -1 with a message for a missing one. */
static int find_columns(char **header, int nh, const char *const *names, int *idx, int count,
                        const char *path, char *err, size_t len)
{
    for (int i = 0; i < count; i++) {
        idx[i] = -1;
        for (int j = 0; j < nh; j++)
            if (strcmp(header[j], names[i]) == 0)
                idx[i] = j;
        if (idx[i] < 0)
            return fail(err, len, "%s: no column '%s' in the header line", path, names[i]);
    }
    return 0;
}

static int parse_int(const char *s, int *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < 0 || v > 1000000000)
        return -1;
    *out = (int)v;
    return 0;
}

/*
 * pandas' precise_xstrtod (pandas/_libs/src/parser/tokenizer.c), the parser read_csv uses by
 * default: at most 17 significant digits gathered in a double, then one multiplication or
 * division by a power of ten. It is not always correctly rounded (about one value in seven of
 * the power traces differs from strtod's by an ulp), and Zeus's simulator computes with what
 * it gives, so we parse the same way to get Zeus's numbers to the bit. Returns the end.
 */
static const char *pandas_strtod(const char *p, double *out)
{
    static double e[309];
    double number = 0.0;
    int exponent = 0, negative = 0, num_digits = 0, num_decimals = 0;
    const int max_digits = 17;

    if (e[0] == 0.0)
        for (int i = 0; i <= 308; i++) {
            char buf[8];
            snprintf(buf, sizeof buf, "1e%d", i);
            e[i] = strtod(buf, NULL); /* as the C literal 1eN in pandas' table */
        }
    if (*p == '-' || *p == '+')
        negative = *p++ == '-';
    for (; *p >= '0' && *p <= '9'; p++) {
        if (num_digits < max_digits) {
            number = number * 10. + (*p - '0');
            num_digits++;
        } else {
            ++exponent;
        }
    }
    if (*p == '.') {
        for (p++; num_digits < max_digits && *p >= '0' && *p <= '9'; p++) {
            number = number * 10. + (*p - '0');
            num_digits++;
            num_decimals++;
        }
        while (*p >= '0' && *p <= '9')
            p++;
        exponent -= num_decimals;
    }
    if (num_digits == 0)
        return NULL;
    if (negative)
        number = -number;
    if (*p == 'e' || *p == 'E') {
        int n = 0, nd = 0, neg = 0;
        p++;
        if (*p == '-' || *p == '+')
            neg = *p++ == '-';
        for (; nd < max_digits && *p >= '0' && *p <= '9'; p++, nd++)
            n = n * 10 + (*p - '0');
        if (nd == 0)
            return NULL;
        exponent += neg ? -n : n;
    }
    if (exponent > 308 || exponent < -308)
        return NULL; /* nothing in a trace comes near */
    if (exponent > 0)
        number *= e[exponent];
    else
        number /= e[-exponent];
    *out = number;
    return p;
}

/* A finite float; where `nan_ok`, an empty field or "nan" is NaN, as pandas reads them. */
static int parse_double(const char *s, int nan_ok, double *out)
{
    const char *end;

    if (nan_ok && (*s == '\0' || strcasecmp(s, "nan") == 0)) {
        *out = NAN;
        return 0;
    }
    end = pandas_strtod(s, out);
    return (!end || *end || !isfinite(*out)) ? -1 : 0;
}

static int copy_name(char *dst, const char *src)
{
    size_t n = strlen(src);

    if (n == 0 || n >= BSO_TRACE_NAME_MAX)
        return -1;
    memcpy(dst, src, n + 1);
    return 0;
}

/* ---- The two files -------------------------------------------------------------------- */

static const char *const train_cols[] = {"dataset",       "network", "batch_size",
                                         "optimizer",     "learning_rate", "run",
                                         "target_metric", "target_epoch"};
static const char *const power_cols[] = {"dataset",     "network",        "batch_size",
                                         "optimizer",   "power_limit",    "time_per_epoch",
                                         "average_power"};

static int train_row(char **f, const int *c, struct bso_train_row *r)
{
    if (copy_name(r->dataset, f[c[0]]) || copy_name(r->network, f[c[1]]) ||
        parse_int(f[c[2]], &r->batch_size) || copy_name(r->optimizer, f[c[3]]) ||
        copy_name(r->learning_rate, f[c[4]]) || parse_int(f[c[5]], &r->run) ||
        parse_double(f[c[6]], 0, &r->target_metric) || parse_double(f[c[7]], 1, &r->target_epoch))
        return -1;
    return 0;
}

static int power_row(char **f, const int *c, struct bso_power_row *r)
{
    if (copy_name(r->dataset, f[c[0]]) || copy_name(r->network, f[c[1]]) ||
        parse_int(f[c[2]], &r->batch_size) || copy_name(r->optimizer, f[c[3]]) ||
        parse_int(f[c[4]], &r->power_limit) || parse_double(f[c[5]], 0, &r->time_per_epoch) ||
        parse_double(f[c[6]], 0, &r->average_power) || r->time_per_epoch <= 0 ||
        r->average_power <= 0 || r->power_limit <= 0)
        return -1;
    return 0;
}

/* Read one CSV file into an array of `size`-byte rows filled by `parse`. */
static int read_csv(const char *path, const char *const *cols, int ncols,
                    int (*parse)(char **, const int *, void *), size_t size, void **rows,
                    size_t *count, char *err, size_t len)
{
    FILE *f = fopen(path, "r");
    char *line = NULL, *fields[MAX_FIELDS + 1];
    size_t cap = 0, n = 0, alloc = 0, lineno = 1;
    int idx[MAX_FIELDS], nh, rc = 0;
    char *buf = NULL;

    if (!f)
        return fail(err, len, "cannot open %s: %s", path, strerror(errno));
    if (getline(&line, &cap, f) < 0) {
        rc = fail(err, len, "%s: empty file", path);
        goto out;
    }
    nh = split(line, fields);
    if (nh > MAX_FIELDS) {
        rc = fail(err, len, "%s: too many columns", path);
        goto out;
    }
    char *header[MAX_FIELDS];
    for (int i = 0; i < nh; i++)
        header[i] = strdup(fields[i]);
    rc = find_columns(header, nh, cols, idx, ncols, path, err, len);
    for (int i = 0; i < nh; i++)
        free(header[i]);
    while (rc == 0 && getline(&line, &cap, f) >= 0) {
        lineno++;
        if (line[strspn(line, "\r\n")] == '\0')
            continue; /* a blank line, such as a trailing one */
        if (split(line, fields) != nh) {
            rc = fail(err, len, "%s:%zu: expected %d fields", path, lineno, nh);
            break;
        }
        if (n == alloc) {
            alloc = alloc ? 2 * alloc : 1024;
            char *grown = realloc(buf, alloc * size);
            if (!grown) {
                rc = fail(err, len, "out of memory reading %s", path);
                break;
            }
            buf = grown;
        }
        if (parse(fields, idx, buf + n * size)) {
            rc = fail(err, len, "%s:%zu: a field does not parse", path, lineno);
            break;
        }
        n++;
    }
out:
    free(line);
    fclose(f);
    if (rc) {
        free(buf);
        return rc;
    }
    *rows = buf;
    *count = n;
    return 0;
}

static int parse_train(char **f, const int *c, void *row) { return train_row(f, c, row); }
static int parse_power(char **f, const int *c, void *row) { return power_row(f, c, row); }

int bso_trace_load(const char *dir, const char *gpu, struct bso_trace *out, char *err,
                   size_t errlen)
{
    char path[4096];
    void *rows;

    memset(out, 0, sizeof *out);
    if (strlen(dir) > sizeof path - 64)
        return fail(err, errlen, "the trace folder's path is too long: %.64s...", dir);
    if (strlen(gpu) >= sizeof out->gpu)
        return fail(err, errlen, "unknown GPU '%s'", gpu);
    snprintf(out->gpu, sizeof out->gpu, "%s", gpu);
    snprintf(path, sizeof path, "%s/summary_train.csv", dir);
    if (read_csv(path, train_cols, 8, parse_train, sizeof *out->train, &rows, &out->num_train,
                 err, errlen))
        return -1;
    out->train = rows;
    snprintf(path, sizeof path, "%s/summary_power_%s.csv", dir, gpu);
    if (read_csv(path, power_cols, 7, parse_power, sizeof *out->power, &rows, &out->num_power,
                 err, errlen)) {
        bso_trace_free(out);
        return -1;
    }
    out->power = rows;
    return 0;
}

void bso_trace_free(struct bso_trace *t)
{
    free(t->train);
    free(t->power);
    t->train = NULL;
    t->power = NULL;
}

/* ---- One workload --------------------------------------------------------------------- */

static int same_key(const struct bso_train_row *a, const struct bso_power_row *b)
{
    return a->batch_size == b->batch_size && strcmp(a->dataset, b->dataset) == 0 &&
           strcmp(a->network, b->network) == 0 && strcmp(a->optimizer, b->optimizer) == 0;
}

static int in_workload(const struct bso_workload *w, const char *ds, const char *net,
                       const char *opt)
{
    return strcmp(w->dataset, ds) == 0 && strcmp(w->network, net) == 0 &&
           strcmp(w->optimizer, opt) == 0;
}

/* Whether a power row joins with any train row (it survives the inner merge). */
static int joined(const struct bso_trace *t, const struct bso_power_row *p)
{
    for (size_t i = 0; i < t->num_train; i++)
        if (same_key(&t->train[i], p))
            return 1;
    return 0;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* The workload's batch sizes: those of its joined power rows, distinct and ascending. */
static size_t workload_sizes(const struct bso_trace *t, const struct bso_workload *w,
                             int *sizes)
{
    size_t n = 0;

    for (size_t i = 0; i < t->num_power; i++) {
        const struct bso_power_row *p = &t->power[i];
        int seen = 0;
        if (!in_workload(w, p->dataset, p->network, p->optimizer) || !joined(t, p))
            continue;
        for (size_t j = 0; j < n; j++)
            seen |= sizes[j] == p->batch_size;
        if (!seen)
            sizes[n++] = p->batch_size;
    }
    qsort(sizes, n, sizeof *sizes, cmp_int);
    return n;
}

/* Fill one batch size's paths and power limits. */
static int fill_size(const struct bso_trace *t, const struct bso_workload *w,
                     struct bso_bs_trace *s, char *err, size_t len)
{
    s->target_epochs = malloc((t->num_train + 1) * sizeof *s->target_epochs);
    s->power_limits = malloc((t->num_power + 1) * sizeof *s->power_limits);
    s->time_per_epoch = malloc((t->num_power + 1) * sizeof *s->time_per_epoch);
    s->average_power = malloc((t->num_power + 1) * sizeof *s->average_power);
    if (!s->target_epochs || !s->power_limits || !s->time_per_epoch || !s->average_power)
        return fail(err, len, "out of memory");
    for (size_t i = 0; i < t->num_train; i++) {
        const struct bso_train_row *r = &t->train[i];
        if (r->batch_size == s->batch_size && r->target_metric == w->target_metric &&
            in_workload(w, r->dataset, r->network, r->optimizer))
            s->target_epochs[s->num_paths++] = r->target_epoch;
    }
    for (size_t i = 0; i < t->num_power; i++) {
        const struct bso_power_row *p = &t->power[i];
        if (p->batch_size != s->batch_size || !in_workload(w, p->dataset, p->network, p->optimizer))
            continue;
        s->power_limits[s->num_limits] = p->power_limit;
        s->time_per_epoch[s->num_limits] = p->time_per_epoch;
        s->average_power[s->num_limits++] = p->average_power;
    }
    if (s->num_paths == 0)
        return fail(err, len, "the %s trace has no run of %s/%s/%s at batch size %d for target "
                    "metric %g", t->gpu, w->dataset, w->network, w->optimizer, s->batch_size,
                    w->target_metric);
    return 0;
}

int bso_workload_trace_build(const struct bso_trace *t, const struct bso_workload *w,
                             struct bso_workload_trace *out, char *err, size_t errlen)
{
    int *sizes = malloc((t->num_power + 1) * sizeof *sizes);
    size_t n;

    memset(out, 0, sizeof *out);
    if (!sizes)
        return fail(err, errlen, "out of memory");
    for (size_t i = 0; i < t->num_power; i++)
        if (t->power[i].power_limit > out->max_power && joined(t, &t->power[i]))
            out->max_power = t->power[i].power_limit;
    n = workload_sizes(t, w, sizes);
    if (n == 0) {
        free(sizes);
        return fail(err, errlen, "the %s trace has no workload %s/%s/%s", t->gpu, w->dataset,
                    w->network, w->optimizer);
    }
    out->sizes = calloc(n, sizeof *out->sizes);
    if (!out->sizes) {
        free(sizes);
        return fail(err, errlen, "out of memory");
    }
    out->num_sizes = n;
    for (size_t i = 0; i < n; i++) {
        out->sizes[i].batch_size = sizes[i];
        if (fill_size(t, w, &out->sizes[i], err, errlen)) {
            free(sizes);
            bso_workload_trace_free(out);
            return -1;
        }
    }
    free(sizes);
    if (!bso_workload_trace_find(out, w->default_batch_size)) {
        bso_workload_trace_free(out);
        return fail(err, errlen, "default batch size %d is not a batch size of %s/%s/%s in the "
                    "%s trace", w->default_batch_size, w->dataset, w->network, w->optimizer,
                    t->gpu);
    }
    return 0;
}

void bso_workload_trace_free(struct bso_workload_trace *wt)
{
    for (size_t i = 0; wt->sizes && i < wt->num_sizes; i++) {
        free(wt->sizes[i].target_epochs);
        free(wt->sizes[i].power_limits);
        free(wt->sizes[i].time_per_epoch);
        free(wt->sizes[i].average_power);
    }
    free(wt->sizes);
    wt->sizes = NULL;
    wt->num_sizes = 0;
}

const struct bso_bs_trace *bso_workload_trace_find(const struct bso_workload_trace *wt, int bs)
{
    for (size_t i = 0; i < wt->num_sizes; i++)
        if (wt->sizes[i].batch_size == bs)
            return &wt->sizes[i];
    return NULL;
}

int bso_trace_max_batch_size(const struct bso_trace *t, const char *dataset)
{
    int max = 0;

    for (size_t i = 0; i < t->num_power; i++)
        if (strcmp(t->power[i].dataset, dataset) == 0 && t->power[i].batch_size > max)
            max = t->power[i].batch_size;
    return max;
}
