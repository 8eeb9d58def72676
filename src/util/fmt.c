/*
 * fmt.c - Python-compatible shortest round-trip formatting of doubles (see fmt.h).
 *
 * Concept: Python's float repr uses David Gay's shortest-digits algorithm. Reality: trying
 * precisions 1..17 with %.*e and keeping the first that strtod reads back exactly gives the
 * same digits, at a cost (a few microseconds) that only the CSV log pays, once per window.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fmt.h"

/* Shortest "d.ddde[+-]XX" that round-trips; returns the digit count and the exponent. */
static int shortest_digits(double x, char *digits, int *exp10)
{
    char tmp[40];
    int prec;

    for (prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, x);
        if (strtod(tmp, NULL) == x)
            break;
    }
    if (prec > 17)
        prec = 17;
    /*
     * tmp is "[-]d[<point>ddd]e[+-]XX": collect the digits and the exponent. The point is
     * LC_NUMERIC's ("," in de_DE, several bytes in some locales), so keep digits only.
     */
    {
        const char *p = tmp;
        int n = 0;
        if (*p == '-')
            p++;
        for (; *p && *p != 'e'; p++)
            if (*p >= '0' && *p <= '9')
                digits[n++] = *p;
        digits[n] = '\0';
        *exp10 = atoi(p + 1);
        /* Strip trailing zeros: "100" at prec 3 is the digit "1". */
        while (n > 1 && digits[n - 1] == '0')
            digits[--n] = '\0';
        return n;
    }
}

char *zeus__fmt_double(double x, char *buf, size_t len)
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
    if (e < -4 || e >= 16) {
        /* Scientific: d[.ddd]e[+-]XX with at least two exponent digits. */
        out[pos++] = digits[0];
        if (n > 1) {
            out[pos++] = '.';
            memcpy(out + pos, digits + 1, (size_t)n - 1);
            pos += n - 1;
        }
        pos += snprintf(out + pos, sizeof out - (size_t)pos, "e%c%02d", e < 0 ? '-' : '+',
                        e < 0 ? -e : e);
    } else if (e < 0) {
        /* 0.000ddd */
        out[pos++] = '0';
        out[pos++] = '.';
        for (int i = 0; i < -e - 1; i++)
            out[pos++] = '0';
        memcpy(out + pos, digits, (size_t)n);
        pos += n;
    } else {
        /* ddd.ddd, with ".0" when there is no fraction. */
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
