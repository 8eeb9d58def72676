/*
 * warn.c - Formats a warning and passes it to the caller's callback (see warn.h).
 */
#include <stdarg.h>
#include <stdio.h>

#include "util/warn.h"

void zeus__warnf(void (*cb)(const char *message, void *user), void *user, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    if (cb == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cb(msg, user);
}
