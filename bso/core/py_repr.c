/*
 * py_repr.c - Python's repr() of a float and of a string, for the messages Zeus's server
 * builds with f-strings ("current cost(1234.5)", "Unknown trial job_id='x' ...").
 *
 * libzeus has the same float formatting (src/util/fmt.c), but its symbols are hidden and the
 * `zeus` CLI links libzeus shared, so the core, linked into the CLI statically, carries its
 * own. The method is the same: the shortest %.*e precision that strtod reads back exactly is
 * the shortest round-trip digit string Python's repr prints.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bso_internal.h"

/* Shortest round-trip digits of |x| (x finite, non-zero), trailing zeros removed, with the
 * decimal exponent of the first digit. Returns the digit count. */
static int shortest_digits(double x, char *digits, int *exp10)
{
    char tmp[40];
    const char *p;
    int prec, n = 0;

    for (prec = 1; prec < 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, x);
        if (strtod(tmp, NULL) == x)
            break;
    }
    if (prec == 17)
        snprintf(tmp, sizeof tmp, "%.16e", x);
    /* Digits only: the decimal point is the locale's. */
    p = tmp[0] == '-' ? tmp + 1 : tmp;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            digits[n++] = *p;
    digits[n] = '\0';
    *exp10 = *p == 'e' ? atoi(p + 1) : 0;
    while (n > 1 && digits[n - 1] == '0')
        digits[--n] = '\0';
    return n;
}

char *bso__py_float(double x, char *buf, size_t len)
{
    char digits[24], out[64];
    int n, e, pos = 0;

    if (isnan(x))
        return snprintf(buf, len, "nan"), buf;
    if (isinf(x))
        return snprintf(buf, len, x > 0 ? "inf" : "-inf"), buf;
    if (x == 0)
        return snprintf(buf, len, signbit(x) ? "-0.0" : "0.0"), buf;
    n = shortest_digits(x, digits, &e);
    if (x < 0)
        out[pos++] = '-';
    if (e < -4 || e >= 16) { /* d[.ddd]e[+-]XX */
        out[pos++] = digits[0];
        if (n > 1) {
            out[pos++] = '.';
            memcpy(out + pos, digits + 1, (size_t)n - 1);
            pos += n - 1;
        }
        pos += snprintf(out + pos, sizeof out - (size_t)pos, "e%c%02d", e < 0 ? '-' : '+',
                        e < 0 ? -e : e);
    } else if (e < 0) { /* 0.000ddd */
        out[pos++] = '0';
        out[pos++] = '.';
        for (int i = 0; i < -e - 1; i++)
            out[pos++] = '0';
        memcpy(out + pos, digits, (size_t)n);
        pos += n;
    } else { /* ddd.ddd, ".0" when there is no fraction */
        for (int i = 0; i <= e; i++)
            out[pos++] = i < n ? digits[i] : '0';
        out[pos++] = '.';
        if (n > e + 1) {
            memcpy(out + pos, digits + e + 1, (size_t)(n - e - 1));
            pos += n - e - 1;
        } else {
            out[pos++] = '0';
        }
    }
    out[pos] = '\0';
    snprintf(buf, len, "%s", out);
    return buf;
}

char *bso__py_str(const char *s, char *buf, size_t len)
{
    char quote = strchr(s, '\'') && !strchr(s, '"') ? '"' : '\'';
    size_t pos = 0;

    if (len < 3) {
        if (len)
            buf[0] = '\0';
        return buf;
    }
    buf[pos++] = quote;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        int n;
        if (*p == '\\' || *p == (unsigned char)quote)
            n = snprintf(esc, sizeof esc, "\\%c", *p);
        else if (*p == '\n')
            n = snprintf(esc, sizeof esc, "\\n");
        else if (*p == '\t')
            n = snprintf(esc, sizeof esc, "\\t");
        else if (*p == '\r')
            n = snprintf(esc, sizeof esc, "\\r");
        else if (*p < 0x20 || *p == 0x7f)
            n = snprintf(esc, sizeof esc, "\\x%02x", *p);
        else
            n = snprintf(esc, sizeof esc, "%c", *p);
        if (pos + (size_t)n + 2 > len)
            break;
        memcpy(buf + pos, esc, (size_t)n);
        pos += (size_t)n;
    }
    buf[pos++] = quote;
    buf[pos] = '\0';
    return buf;
}
