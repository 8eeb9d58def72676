/*
 * prom_text.h - Writing the Prometheus text exposition format (version 0.0.4) into a
 * growable buffer: HELP and TYPE lines, samples with escaped label values, and numbers the
 * way Prometheus parses them (NaN, +Inf, -Inf, shortest round-trip digits).
 *
 * The buffer records running out of memory instead of failing each call, so a writer can
 * emit a whole exposition and check once at the end (zeus__prom_buf.oom).
 */
#ifndef ZEUS_METRICS_PROM_TEXT_H
#define ZEUS_METRICS_PROM_TEXT_H

#include <stddef.h>

typedef struct zeus__prom_buf {
    char *data; /* NUL-terminated once anything was written */
    size_t len;
    size_t cap;
    int oom; /* 1 once an allocation failed; later writes are dropped */
} zeus__prom_buf;

typedef struct zeus__prom_label {
    const char *name;  /* a valid label name (the caller's constant) */
    const char *value; /* any UTF-8 text; escaped on output */
} zeus__prom_label;

/* Free the buffer's memory and zero it. */
void zeus__prom_buf_fini(zeus__prom_buf *b);

/* Append formatted text as is. */
void zeus__prom_printf(zeus__prom_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "# HELP name help" (help escaped: backslash and newline) and "# TYPE name type". */
void zeus__prom_family(zeus__prom_buf *b, const char *name, const char *help, const char *type);

/*
 * One sample line: name{l1="v1",...,extra="extra_value"} value. `extra_name` may be NULL;
 * it carries a histogram's `le`. Label values are escaped (backslash, double quote,
 * newline).
 */
void zeus__prom_sample(zeus__prom_buf *b, const char *name, const zeus__prom_label *labels,
                       size_t label_count, const char *extra_name, const char *extra_value,
                       double value);

/* Format a sample value or an `le` bound: "NaN", "+Inf", "-Inf", or Python's repr digits
 * ("50.0", "0.1", "1e+16"), as prometheus_client writes them. buf needs 32 bytes. */
char *zeus__prom_format_value(double v, char *buf, size_t len);

/* 1 when `name` is a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*). */
int zeus__prom_valid_metric_name(const char *name);

/* 1 when `name` is a valid label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with "__"). */
int zeus__prom_valid_label_name(const char *name);

#endif /* ZEUS_METRICS_PROM_TEXT_H */
