/*
 * clock.h - The two clocks: CLOCK_MONOTONIC for every duration and sample time, and the wall
 * clock only where a person or another system reads the value (CSV start_time, metrics).
 */
#ifndef ZEUS_UTIL_CLOCK_H
#define ZEUS_UTIL_CLOCK_H

#include <pthread.h>
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

/* A CLOCK_MONOTONIC time or duration in nanoseconds as a timespec (ns >= 0). */
static inline struct timespec zeus__timespec_from_ns(int64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000), .tv_nsec = (long)(ns % 1000000000)};
    return ts;
}

/* Sleep `ns` nanoseconds (a signal may cut it short; callers loop on their own deadline). */
static inline void zeus__sleep_ns(int64_t ns)
{
    struct timespec ts = zeus__timespec_from_ns(ns);
    nanosleep(&ts, NULL);
}

/*
 * Initialise a condition variable whose timed waits take CLOCK_MONOTONIC deadlines
 * (zeus__now_ns() + timeout), so a wall-clock step never shortens or stretches a wait.
 */
static inline int zeus__cond_init_monotonic(pthread_cond_t *cond)
{
    pthread_condattr_t attr;
    int err = pthread_condattr_init(&attr);

    if (err == 0)
        err = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (err == 0)
        err = pthread_cond_init(cond, &attr);
    pthread_condattr_destroy(&attr);
    return err;
}

#endif /* ZEUS_UTIL_CLOCK_H */
