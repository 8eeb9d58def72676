/*
 * error.c - Status strings and the thread-local detail of the last failure.
 *
 * The detail lives in a fixed _Thread_local buffer: zeus_last_error() never allocates and
 * never returns NULL, so it is safe to call on an out-of-memory path (libgit2's rule).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/error.h"
#include "zeus/status.h"

static _Thread_local char last_error[1024];

const char *zeus_status_string(zeus_status status)
{
    switch (status) {
#define XX(name, value, text) \
    case ZEUS_##name:         \
        return text;
        ZEUS_STATUS_MAP(XX)
#undef XX
    }
    return "unrecognized status";
}

const char *zeus_status_name(zeus_status status)
{
    switch (status) {
#define XX(name, value, text) \
    case ZEUS_##name:         \
        return #name;
        ZEUS_STATUS_MAP(XX)
#undef XX
    }
    return "UNRECOGNIZED";
}

const char *zeus_last_error(void)
{
    return last_error;
}

zeus_status zeus__fail(zeus_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}

zeus_status zeus__fail_prefix(zeus_status status, const char *fmt, ...)
{
    char prefix[512], old[sizeof last_error];
    va_list ap;

    memcpy(old, last_error, sizeof old);
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    snprintf(last_error, sizeof last_error, "%.400s: %.600s", prefix, old);
    return status;
}

/* GNU strerror_r may return a static string instead of filling buf; handle both. */
static const char *errno_text(int err, char *buf, size_t len)
{
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
    return strerror_r(err, buf, len);
#else
    if (strerror_r(err, buf, len) != 0)
        snprintf(buf, len, "errno %d", err);
    return buf;
#endif
}

zeus_status zeus__fail_errno(zeus_status status, int err, const char *fmt, ...)
{
    char msg[768], reason[128];
    const char *fix;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    /* Put the system's reason before a trailing " (fix ...)" so the fix reads last. */
    fix = strrchr(msg, '(');
    if (fix != NULL && fix > msg && fix[-1] == ' ' && msg[strlen(msg) - 1] == ')') {
        int head = (int)(fix - msg - 1);
        snprintf(last_error, sizeof last_error, "%.*s: %s %s", head, msg,
                 errno_text(err, reason, sizeof reason), fix);
    } else {
        snprintf(last_error, sizeof last_error, "%s: %s", msg,
                 errno_text(err, reason, sizeof reason));
    }
    return status;
}

zeus_status zeus__status_from_errno(int err)
{
    switch (err) {
    case EACCES:
    case EPERM:
        return ZEUS_ERR_NO_PERMISSION;
    case ENOENT:
    case ENODEV:
    case ENXIO:
        return ZEUS_ERR_NOT_FOUND;
    case ENOMEM:
        return ZEUS_ERR_NO_MEMORY;
    case EINVAL:
        return ZEUS_ERR_INVALID_ARGUMENT;
    case ETIMEDOUT:
        return ZEUS_ERR_TIMEOUT;
    default:
        return ZEUS_ERR_IO;
    }
}
