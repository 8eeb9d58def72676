/*
 * warn.c - Formats a warning or log line and passes it to the caller's callback (warn.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/warn.h"

void zeus__vwarnf(void (*cb)(const char *message, void *user), void *user, const char *fmt,
                  va_list ap)
{
    char msg[1024], *big;
    va_list again;
    int n;

    if (cb == NULL)
        return;
    va_copy(again, ap);
    n = vsnprintf(msg, sizeof msg, fmt, ap);
    /* A longer line (a profiling report's) is formatted again at its size, not cut. */
    if (n >= (int)sizeof msg && (big = malloc((size_t)n + 1)) != NULL) {
        vsnprintf(big, (size_t)n + 1, fmt, again);
        cb(big, user);
        free(big);
    } else {
        cb(msg, user);
    }
    va_end(again);
}

void zeus__warnf(void (*cb)(const char *message, void *user), void *user, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    zeus__vwarnf(cb, user, fmt, ap);
    va_end(ap);
}
