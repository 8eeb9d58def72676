/*
 * test_support.c - Helpers shared by the tests (see test_support.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_support.h"
#include "zeus/zeus.h"

void zt_assert_near(double a, double b, double tol, const char *expr, const char *file, int line)
{
    if (isnan(a) || isnan(b) || fabs(a - b) > tol)
    {
            char msg[256];
            snprintf(msg, sizeof msg, "%s = %.9g, expected %.9g +- %.3g", expr, a, b, tol);
            _assert_true(0, msg, file, line);
        }
}

char *zt_mkdtemp(void)
{
    char tmpl[] = "/tmp/zeus-test-XXXXXX";
    char *dir = mkdtemp(tmpl);
    assert_non_null(dir);
    return strdup(dir);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    chmod(path, 0700); /* tests make unreadable files; make them removable again */
    remove(path);
    return 0;
}

void zt_rmtree(const char *path)
{
    if (path != NULL)
        nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void mkdir_parents(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(buf, 0755);
            *p = '/';
        }
    }
}

void zt_write_file(const char *path, const char *text)
{
    FILE *f;
    mkdir_parents(path);
    f = fopen(path, "w");
    if (f == NULL)
        fail_msg("cannot write %s: %s", path, strerror(errno));
    fputs(text, f);
    fclose(f);
}

char *zt_read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf;
    long n;

    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        fclose(f);
        return NULL;
    }
    buf[n] = '\0';
    fclose(f);
    return buf;
}

zeus_monitor *zt_gpu_monitor(const char *log_file)
{
    zeus_monitor_options o;
    zeus_monitor *mon = NULL;
    unsigned none = 0;

    zeus_monitor_options_init(&o);
    o.cpu_indices = &none;
    o.cpu_index_count = 0;
    o.log_file = log_file;
    if (zeus_monitor_create(&o, &mon) != ZEUS_OK)
        fail_msg("zeus_monitor_create: %s", zeus_last_error());
    return mon;
}
