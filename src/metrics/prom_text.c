/*
 * prom_text.c - The Prometheus text exposition format writer (prom_text.h).
 *
 * Escaping follows the format's specification: in HELP text a backslash becomes "\\" and a
 * newline "\n"; in label values a double quote also becomes "\"". Anything else, including
 * non-ASCII UTF-8, is written as is. Window names come from users, so every label value goes
 * through here.
 *
 * Numbers: prometheus_client writes floats with Python's repr ("50.0"), and Prometheus 2.x
 * keeps a histogram's `le` as a string, so a scraped `le="50.0"` and `le="50"` are different
 * series to a query. Writing Python's digits keeps Zeus users' PromQL working unchanged. (A
 * Pushgateway re-exposes both as "50", so through it nothing changes either way.)
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/prom_text.h"
#include "util/fmt.h"

/* ---- Buffer ------------------------------------------------------------------------------ */

static int reserve(zeus__prom_buf *b, size_t more)
{
    size_t need, cap;
    char *p;

    if (b->oom)
        return -1;
    need = b->len + more + 1;
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 4096;
    while (cap < need)
        cap *= 2;
    p = realloc(b->data, cap);
    if (p == NULL) {
        b->oom = 1;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

static void append(zeus__prom_buf *b, const char *s, size_t n)
{
    if (reserve(b, n) != 0)
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void append_str(zeus__prom_buf *b, const char *s)
{
    append(b, s, strlen(s));
}

void zeus__prom_buf_fini(zeus__prom_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

void zeus__prom_printf(zeus__prom_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || reserve(b, (size_t)n) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Append `s` escaping backslash and newline, and double quote when `quote` is set. */
static void append_escaped(zeus__prom_buf *b, const char *s, int quote)
{
    const char *run = s;

    for (; *s; s++) {
        const char *rep = NULL;
        if (*s == '\\')
            rep = "\\\\";
        else if (*s == '\n')
            rep = "\\n";
        else if (*s == '"' && quote)
            rep = "\\\"";
        if (rep == NULL)
            continue;
        append(b, run, (size_t)(s - run));
        append_str(b, rep);
        run = s + 1;
    }
    append(b, run, (size_t)(s - run));
}

/* ---- Lines ------------------------------------------------------------------------------- */

void zeus__prom_family(zeus__prom_buf *b, const char *name, const char *help, const char *type)
{
    append_str(b, "# HELP ");
    append_str(b, name);
    append_str(b, " ");
    append_escaped(b, help, 0);
    append_str(b, "\n# TYPE ");
    append_str(b, name);
    append_str(b, " ");
    append_str(b, type);
    append_str(b, "\n");
}

char *zeus__prom_format_value(double v, char *buf, size_t len)
{
    if (isnan(v))
        snprintf(buf, len, "NaN");
    else if (isinf(v))
        snprintf(buf, len, v > 0 ? "+Inf" : "-Inf");
    else
        zeus__fmt_double(v, buf, len);
    return buf;
}

void zeus__prom_sample(zeus__prom_buf *b, const char *name, const zeus__prom_label *labels,
                       size_t label_count, const char *extra_name, const char *extra_value,
                       double value)
{
    char num[40];
    int first = 1;

    append_str(b, name);
    if (label_count > 0 || extra_name != NULL) {
        append_str(b, "{");
        for (size_t i = 0; i < label_count; i++) {
            append_str(b, first ? "" : ",");
            append_str(b, labels[i].name);
            append_str(b, "=\"");
            append_escaped(b, labels[i].value ? labels[i].value : "", 1);
            append_str(b, "\"");
            first = 0;
        }
        if (extra_name != NULL) {
            append_str(b, first ? "" : ",");
            append_str(b, extra_name);
            append_str(b, "=\"");
            append_escaped(b, extra_value, 1);
            append_str(b, "\"");
        }
        append_str(b, "}");
    }
    append_str(b, " ");
    append_str(b, zeus__prom_format_value(value, num, sizeof num));
    append_str(b, "\n");
}

/* ---- Names ------------------------------------------------------------------------------- */

static int name_char(char c, int first, int colon)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
        return 1;
    if (colon && c == ':')
        return 1;
    return !first && c >= '0' && c <= '9';
}

int zeus__prom_valid_metric_name(const char *name)
{
    if (name == NULL || *name == '\0')
        return 0;
    for (const char *p = name; *p; p++)
        if (!name_char(*p, p == name, 1))
            return 0;
    return 1;
}

int zeus__prom_valid_label_name(const char *name)
{
    if (name == NULL || *name == '\0' || strncmp(name, "__", 2) == 0)
        return 0;
    for (const char *p = name; *p; p++)
        if (!name_char(*p, p == name, 0))
            return 0;
    return 1;
}
