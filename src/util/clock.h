/*
 * clock.h - The two clocks: CLOCK_MONOTONIC for every duration and sample time, and the wall
 * clock only where a person or another system reads the value (CSV start_time, metrics).
 */
#ifndef ZEUS_UTIL_CLOCK_H
#define ZEUS_UTIL_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Monotonic time in nanoseconds. About 20 ns on x86-64 (vDSO). */
static inline int64_t zeus__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Monotonic time in seconds. */
static inline double zeus__now_s(void)
{
    return (double)zeus__now_ns() * 1e-9;
}

/* Wall-clock Unix time in seconds, for logs only. */
static inline double zeus__unix_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#endif /* ZEUS_UTIL_CLOCK_H */
