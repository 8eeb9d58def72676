/*
 * error.h - Setting the thread-local failure detail and returning a status in one line.
 *
 *     return zeus__fail(ZEUS_ERR_NOT_FOUND, "GPU %u not found: %u visible", i, n);
 *     return zeus__fail_errno(ZEUS_ERR_NO_PERMISSION, errno, "cannot read %s (run zeusd)", p);
 */
#ifndef ZEUS_UTIL_ERROR_H
#define ZEUS_UTIL_ERROR_H

#include "zeus/status.h"

/* Record the formatted detail for zeus_last_error() and return `status`. */
zeus_status zeus__fail(zeus_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* As zeus__fail, with ": <strerror_r(err)>" appended before any parenthesised fix. */
zeus_status zeus__fail_errno(zeus_status status, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Map an errno value from a file read to a status (EACCES -> NO_PERMISSION, ...). */
zeus_status zeus__status_from_errno(int err);

/* Prefix the current detail with "<prefix>: ", keeping the status. Returns `status`. */
zeus_status zeus__fail_prefix(zeus_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif /* ZEUS_UTIL_ERROR_H */
