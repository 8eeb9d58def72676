/*
 * periodic.c - The per-window ticking thread of the counter and the gauge (periodic.h).
 *
 * The thread sleeps on a condition variable with an absolute CLOCK_MONOTONIC deadline, so
 * stop wakes it at once instead of after the rest of a period (Zeus's child processes poll
 * a queue once per period and are terminated after 20 s).
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#include "metrics/periodic.h"
#include "util/clock.h"
#include "util/error.h"

struct zeus__periodic {
    int64_t period_ns;
    void (*tick)(void *, int);
    void *user;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int stop;
};

static void *periodic_main(void *arg)
{
    struct zeus__periodic *p = arg;
    int64_t next = zeus__now_ns() + p->period_ns;
    sigset_t all;

    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    pthread_mutex_lock(&p->lock);
    while (!p->stop) {
        struct timespec ts = zeus__timespec_from_ns(next);
        if (zeus__now_ns() < next) {
            pthread_cond_timedwait(&p->cond, &p->lock, &ts);
            continue;
        }
        pthread_mutex_unlock(&p->lock);
        p->tick(p->user, 0);
        next += p->period_ns;
        if (next < zeus__now_ns())
            next = zeus__now_ns() + p->period_ns; /* a slow tick: skip, do not burst */
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    p->tick(p->user, 1);
    return NULL;
}

zeus_status zeus__periodic_start(double period_s, void (*tick)(void *user, int last), void *user,
                                 struct zeus__periodic **out)
{
    struct zeus__periodic *p = calloc(1, sizeof *p);

    if (p == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
    p->period_ns = (int64_t)(period_s * 1e9);
    if (p->period_ns < 1000000)
        p->period_ns = 1000000;
    p->tick = tick;
    p->user = user;
    pthread_mutex_init(&p->lock, NULL);
    zeus__cond_init_monotonic(&p->cond);
    if (pthread_create(&p->thread, NULL, periodic_main, p) != 0) {
        pthread_cond_destroy(&p->cond);
        pthread_mutex_destroy(&p->lock);
        free(p);
        return zeus__fail(ZEUS_ERR_OPERATING_SYSTEM, "cannot start a metrics thread");
    }
    *out = p;
    return ZEUS_OK;
}

void zeus__periodic_stop(struct zeus__periodic *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
