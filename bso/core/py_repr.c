/*
 * py_repr.c - Python's repr() of a float and of a string, for the messages Zeus's server
 * builds with f-strings ("current cost(1234.5)", "Unknown trial job_id='x' ...").
 *
 * Floats are libzeus's src/util/fmt.c (Python's repr, also used for Zeus's CSV logs). Its
 * symbols are hidden in libzeus.so, which the `zeus` CLI links, so CMakeLists.txt compiles
 * that one file into the core's static library as well.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bso_internal.h"
#include "util/fmt.h"

char *bso__py_float(double x, char *buf, size_t len)
{
    return zeus__fmt_double(x, buf, len);
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
