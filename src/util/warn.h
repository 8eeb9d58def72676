/*
 * warn.h - Handing a formatted warning to the caller's warn callback.
 *
 * The library never prints: monitors take a `warn(message, user)` callback in their
 * options, and every warning goes through this one function to it.
 */
#ifndef ZEUS_UTIL_WARN_H
#define ZEUS_UTIL_WARN_H

/* Format the message and call cb(message, user); nothing when cb is NULL. */
void zeus__warnf(void (*cb)(const char *message, void *user), void *user, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* ZEUS_UTIL_WARN_H */
