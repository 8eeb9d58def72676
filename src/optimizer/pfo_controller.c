/*
 * pfo_controller.c - Perseus's frequency controller (Zeus's frequency_controller.py) as a
 * thread: a FIFO of frequencies filled by the training thread, drained here in order, each
 * one that differs from the current lock applied with zeus_gpu_set_gpu_locked_clocks(f, f).
 *
 * Concept: Zeus runs the controller as a separate process fed by a multiprocessing queue, so
 * that NVML's latency never reaches the training loop. Reality: a thread does the same with
 * less: the training thread pays a mutex and a condition signal (bench/README.md), the
 * device handle is shared (the device API is thread-safe), and the thread is joined when the
 * handle is destroyed, so the reset at the end is certain to have run.
 *
 * Frequencies are applied in order rather than coalesced to the newest: Zeus applies each,
 * and a lock that lags is visible in the order of calls (the tests check it against the
 * plan). A clock change that fails is kept (the first one) for the training thread to report
 * at its next call; the thread goes on with the next frequency.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "optimizer/pfo_controller.h"
#include "util/error.h"

struct zeus__pfo_ctl {
    zeus_devices *devs;
    unsigned gpu;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned *queue; /* [head, len) waiting */
    size_t head, len, cap;
    bool ending;
    unsigned current_mhz;
    zeus_status err;  /* first failure not yet reported */
    char err_detail[512];
};

/* ---- The thread --------------------------------------------------------------------------- */

static void record_failure(zeus__pfo_ctl *c, zeus_status s, unsigned mhz)
{
    pthread_mutex_lock(&c->lock);
    if (c->err == ZEUS_OK) {
        c->err = s;
        snprintf(c->err_detail, sizeof c->err_detail, "the frequency controller could not lock "
                 "GPU %u's SM clock at %u MHz: %s", c->gpu, mhz, zeus_last_error());
    }
    pthread_mutex_unlock(&c->lock);
}

static void *controller_main(void *arg)
{
    zeus__pfo_ctl *c = arg;

    pthread_mutex_lock(&c->lock);
    for (;;) {
        while (c->head == c->len && !c->ending)
            pthread_cond_wait(&c->cond, &c->lock);
        if (c->head == c->len)
            break; /* ending, and everything queued before the end was applied */
        unsigned mhz = c->queue[c->head++];
        if (c->head == c->len)
            c->head = c->len = 0;
        pthread_mutex_unlock(&c->lock);
        if (mhz != c->current_mhz) {
            zeus_status s = zeus_gpu_set_gpu_locked_clocks(c->devs, c->gpu, mhz, mhz);
            if (s == ZEUS_OK)
                c->current_mhz = mhz;
            else
                record_failure(c, s, mhz);
        }
        pthread_mutex_lock(&c->lock);
    }
    pthread_mutex_unlock(&c->lock);
    /* Zeus's reset_locked_clocks: both locks, NotSupported ignored. */
    zeus_gpu_reset_gpu_locked_clocks(c->devs, c->gpu);
    zeus_gpu_reset_memory_locked_clocks(c->devs, c->gpu);
    return NULL;
}

/* ---- The training thread's side ---------------------------------------------------------- */

zeus_status zeus__pfo_ctl_start(zeus_devices *devs, unsigned gpu, unsigned max_mem_mhz,
                                unsigned max_sm_mhz, zeus__pfo_ctl **out)
{
    zeus__pfo_ctl *c;
    zeus_status s;

    if ((s = zeus_gpu_reset_power_limit(devs, gpu)) != ZEUS_OK)
        return zeus__fail_prefix(s, "Perseus: cannot reset GPU %u's power limit to its default",
                                 gpu);
    s = zeus_gpu_set_memory_locked_clocks(devs, gpu, max_mem_mhz, max_mem_mhz);
    if (s != ZEUS_OK && s != ZEUS_ERR_NOT_SUPPORTED)
        return zeus__fail_prefix(s, "Perseus: cannot lock GPU %u's memory clock at %u MHz", gpu,
                                 max_mem_mhz);
    if ((s = zeus_gpu_set_gpu_locked_clocks(devs, gpu, max_sm_mhz, max_sm_mhz)) != ZEUS_OK)
        return zeus__fail_prefix(s, "Perseus: cannot lock GPU %u's SM clock at %u MHz", gpu,
                                 max_sm_mhz);
    if ((c = calloc(1, sizeof *c)) == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
    c->devs = devs;
    c->gpu = gpu;
    c->current_mhz = max_sm_mhz;
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
    if (pthread_create(&c->thread, NULL, controller_main, c) != 0) {
        pthread_mutex_destroy(&c->lock);
        pthread_cond_destroy(&c->cond);
        free(c);
        zeus_gpu_reset_gpu_locked_clocks(devs, gpu);
        zeus_gpu_reset_memory_locked_clocks(devs, gpu);
        return zeus__fail(ZEUS_ERR_OPERATING_SYSTEM, "cannot start the frequency controller "
                          "thread");
    }
    *out = c;
    return ZEUS_OK;
}

zeus_status zeus__pfo_ctl_set(zeus__pfo_ctl *c, unsigned mhz)
{
    pthread_mutex_lock(&c->lock);
    if (c->len == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        unsigned *q = realloc(c->queue, cap * sizeof *q);
        if (q == NULL) {
            pthread_mutex_unlock(&c->lock);
            return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
        }
        c->queue = q;
        c->cap = cap;
    }
    c->queue[c->len++] = mhz;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->lock);
    return ZEUS_OK;
}

zeus_status zeus__pfo_ctl_take_error(zeus__pfo_ctl *c)
{
    zeus_status s;
    char detail[512];

    pthread_mutex_lock(&c->lock);
    s = c->err;
    memcpy(detail, c->err_detail, sizeof detail);
    c->err = ZEUS_OK;
    pthread_mutex_unlock(&c->lock);
    return s == ZEUS_OK ? ZEUS_OK : zeus__fail(s, "%s", detail);
}

void zeus__pfo_ctl_stop(zeus__pfo_ctl *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->lock);
    c->ending = true;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->thread, NULL);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cond);
    free(c->queue);
    free(c);
}
