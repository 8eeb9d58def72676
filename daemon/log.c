/*
 * log.c - The daemon's log: one line per event on stdout, with a UTC timestamp and a level,
 * as zeusd logs through tracing. Lines are written whole (one fputs under stdout's lock), so
 * threads never interleave within a line. Also the two clocks the daemon reads.
 *
 *   What:        ZEUSD_TEST_CLOCK_SHIFT_MS
 *   Description: FOR TESTS ONLY. Milliseconds added to the daemon's Unix clock (every
 *                timestamp_ms it reports: /time, get_power, the SSE streams; and token
 *                expiry), read once at the first use, so that a test can play a daemon whose
 *                clock is off and check a client's offset estimate. Logged as a warning.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <time.h>

#include "zeusd.h"

/*
 * Copy `in` to `out` with control bytes written as \xHH, so that a value a client chose (a
 * token's subject, a path) can never start a forged log line or move a terminal's cursor.
 */
static void escape_controls(const char *in, char *out, size_t size)
{
    size_t o = 0;

    for (const unsigned char *p = (const unsigned char *)in; *p && o + 5 < size; p++) {
        if (*p < 0x20 || *p == 0x7f || *p == '\\')
            o += (size_t)snprintf(out + o, size - o, *p == '\\' ? "\\\\" : "\\x%02x", *p);
        else
            out[o++] = (char)*p;
    }
    out[o] = '\0';
}

void zd_log(const char *level, const char *fmt, ...)
{
    char line[1024], safe[4 * sizeof line], stamp[32];
    struct timespec ts;
    struct tm tm;
    va_list ap;
    int n;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    n = snprintf(line, sizeof line, "%s.%06ldZ %5s zeusd: ", stamp, ts.tv_nsec / 1000, level);
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof line)
        vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    escape_controls(line, safe, sizeof safe);
    flockfile(stdout);
    fputs(safe, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    funlockfile(stdout);
}

static pthread_once_t shift_once = PTHREAD_ONCE_INIT;
static int64_t shift_ms;

static void read_shift(void)
{
    const char *v = getenv("ZEUSD_TEST_CLOCK_SHIFT_MS");

    if (v == NULL || v[0] == '\0')
        return;
    shift_ms = strtoll(v, NULL, 10);
    zd_log("WARN", "ZEUSD_TEST_CLOCK_SHIFT_MS=%lld: the clock this daemon reports is shifted "
           "(a test knob; never set it in production)", (long long)shift_ms);
}

int64_t zd_unix_ms(void)
{
    struct timespec ts;

    pthread_once(&shift_once, read_shift);
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + shift_ms;
}

int64_t zd_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
