/*
 * warn.h - Handing a formatted warning or log line to the caller's callback.
 *
 * The library never prints: monitors take a `warn(message, user)` callback in their
 * options, the optimizer and profiling a `log` one, and every message goes through these
 * functions to it, whole whatever its length.
 */
#ifndef ZEUS_UTIL_WARN_H
#define ZEUS_UTIL_WARN_H

#include <stdarg.h>

/* Format the message and call cb(message, user); nothing when cb is NULL. */
void zeus__warnf(void (*cb)(const char *message, void *user), void *user, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* As zeus__warnf, for a caller's own variadic function. */
void zeus__vwarnf(void (*cb)(const char *message, void *user), void *user, const char *fmt,
                  va_list ap) __attribute__((format(printf, 3, 0)));

#endif /* ZEUS_UTIL_WARN_H */
