/*
 * fmt.h - Number formatting shared by the logs and the command line.
 */
#ifndef ZEUS_UTIL_FMT_H
#define ZEUS_UTIL_FMT_H

#include <stddef.h>

/*
 * Format `x` as Python's repr(float) does: the shortest digits that read back as the same
 * double, "1.0" rather than "1", scientific notation below 1e-4 and from 1e16, and "nan",
 * "inf", "-inf". Zeus writes its CSV log with str(float); matching it keeps logs diffable.
 * `buf` needs 32 bytes. Returns buf.
 */
char *zeus__fmt_double(double x, char *buf, size_t len);

#endif /* ZEUS_UTIL_FMT_H */
