/*
 * test_support.h - Helpers shared by the tests: float comparison, temporary folders,
 * environment, and files.
 */
#ifndef ZEUS_TEST_SUPPORT_H
#define ZEUS_TEST_SUPPORT_H

#include <stddef.h>

#include "zeus/monitor.h"

/* cmocka 1.1.5 has no double comparison; fail the test unless |a - b| <= tol. */
#define assert_near(a, b, tol) zt_assert_near((double)(a), (double)(b), (double)(tol), \
                                              #a, __FILE__, __LINE__)
void zt_assert_near(double a, double b, double tol, const char *expr, const char *file, int line);

/* Make a fresh temporary folder; returns a malloc'd path. Fails the test on error. */
char *zt_mkdtemp(void);

/* Remove a folder tree (like rm -rf); ignores errors. */
void zt_rmtree(const char *path);

/* Write `text` to `path`, creating parent folders. Fails the test on error. */
void zt_write_file(const char *path, const char *text);

/* Read a whole file; returns a malloc'd NUL-terminated string, NULL when unreadable. */
char *zt_read_file(const char *path);

/* A sampled monitor over every visible GPU and no CPU, logging to `log_file` when not NULL.
 * Fails the test when it cannot be made. */
zeus_monitor *zt_gpu_monitor(const char *log_file);

#endif /* ZEUS_TEST_SUPPORT_H */
