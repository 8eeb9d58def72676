/*
 * device_queue.c - One thread and one unbounded FIFO queue per device, so that commands for a
 * device run one at a time in arrival order while different devices run in parallel
 * (spec 1.1). A request that names several devices pushes one job to each and waits on a
 * zd_batch; a non-blocking command pushes its job and returns at once, and a later blocking
 * command to the same device waits behind it.
 *
 * Invariants: a job is run exactly once; a batched job belongs to its caller (freed by it
 * after zd_batch_wait), a fire-and-forget job is freed here after it ran; destroy runs every
 * queued job before joining, so nothing accepted is dropped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "zeusd.h"

struct zd_queue {
    pthread_mutex_t lock;
    pthread_cond_t ready;
    struct zd_job *head, *tail;
    int stopping;
    pthread_t thread;
    char name[32];
};

void zd_batch_init(struct zd_batch *b, unsigned pending)
{
    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->done, NULL);
    b->pending = pending;
}

void zd_batch_wait(struct zd_batch *b)
{
    pthread_mutex_lock(&b->lock);
    while (b->pending > 0)
        pthread_cond_wait(&b->done, &b->lock);
    pthread_mutex_unlock(&b->lock);
}

void zd_batch_fini(struct zd_batch *b)
{
    pthread_cond_destroy(&b->done);
    pthread_mutex_destroy(&b->lock);
}

static void batch_finish_one(struct zd_batch *b)
{
    pthread_mutex_lock(&b->lock);
    if (--b->pending == 0)
        pthread_cond_broadcast(&b->done);
    pthread_mutex_unlock(&b->lock);
}

static void run_job(struct zd_job *job)
{
    struct zd_batch *batch = job->batch;

    job->run(job->srv, job);
    if (batch != NULL) {
        batch_finish_one(batch); /* the caller may free the job from here on */
        return;
    }
    if (job->http_status != 0)
        zd_warn("non-blocking command on device %u failed: %s", job->dev, job->message);
    free(job);
}

static void *queue_main(void *arg)
{
    struct zd_queue *q = arg;

    pthread_mutex_lock(&q->lock);
    for (;;) {
        struct zd_job *job;

        while (q->head == NULL && !q->stopping)
            pthread_cond_wait(&q->ready, &q->lock);
        job = q->head;
        if (job == NULL)
            break; /* stopping and drained */
        q->head = job->next;
        if (q->head == NULL)
            q->tail = NULL;
        pthread_mutex_unlock(&q->lock);
        run_job(job);
        pthread_mutex_lock(&q->lock);
    }
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

int zd_queue_create(const char *name, struct zd_queue **out)
{
    struct zd_queue *q = calloc(1, sizeof *q);

    if (q == NULL)
        return -1;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->ready, NULL);
    snprintf(q->name, sizeof q->name, "%s", name);
    if (pthread_create(&q->thread, NULL, queue_main, q) != 0) {
        pthread_cond_destroy(&q->ready);
        pthread_mutex_destroy(&q->lock);
        free(q);
        return -1;
    }
    *out = q;
    return 0;
}

void zd_queue_destroy(struct zd_queue *q)
{
    if (q == NULL)
        return;
    pthread_mutex_lock(&q->lock);
    q->stopping = 1;
    pthread_cond_signal(&q->ready);
    pthread_mutex_unlock(&q->lock);
    pthread_join(q->thread, NULL);
    pthread_cond_destroy(&q->ready);
    pthread_mutex_destroy(&q->lock);
    free(q);
}

int zd_queue_push(struct zd_queue *q, struct zd_job *job)
{
    int rc = 0;

    job->next = NULL;
    pthread_mutex_lock(&q->lock);
    if (q->stopping) {
        rc = -1;
    } else {
        if (q->tail != NULL)
            q->tail->next = job;
        else
            q->head = job;
        q->tail = job;
        pthread_cond_signal(&q->ready);
    }
    pthread_mutex_unlock(&q->lock);
    return rc;
}

int zd_http_status_of(zeus_status s)
{
    switch (s) {
    case ZEUS_OK:
        return 0;
    case ZEUS_ERR_INVALID_ARGUMENT:
    case ZEUS_ERR_NOT_SUPPORTED:
        return 400; /* ids are checked before dispatch: NOT_FOUND here is a missing file, 500 */
    case ZEUS_ERR_NO_PERMISSION:
        return 403;
    default:
        return 500;
    }
}

/* ---- Fan-out over several devices --------------------------------------------------------- */

struct zd_job *zd_fanout_wait(struct zd_server *srv, struct zd_queue **queues,
                              const struct zd_ids *ids,
                              void (*run)(struct zd_server *, struct zd_job *), uint32_t a,
                              uint32_t b)
{
    struct zd_job *jobs = calloc(ids->count ? ids->count : 1, sizeof *jobs);
    struct zd_batch batch;

    if (jobs == NULL)
        return NULL;
    zd_batch_init(&batch, (unsigned)ids->count);
    for (size_t i = 0; i < ids->count; i++) {
        struct zd_job *job = &jobs[i];
        job->run = run;
        job->srv = srv;
        job->batch = &batch;
        job->dev = (unsigned)ids->ids[i];
        job->a = a;
        job->b = b;
        if (zd_queue_push(queues[job->dev], job) != 0) {
            job->http_status = 500;
            snprintf(job->message, sizeof job->message,
                     "Failed to send command to device task: the daemon is stopping");
            pthread_mutex_lock(&batch.lock);
            batch.pending--;
            pthread_mutex_unlock(&batch.lock);
        }
    }
    zd_batch_wait(&batch);
    zd_batch_fini(&batch);
    return jobs;
}

int zd_fanout_nowait(struct zd_server *srv, struct zd_queue **queues, const struct zd_ids *ids,
                     void (*run)(struct zd_server *, struct zd_job *), uint32_t a, uint32_t b)
{
    for (size_t i = 0; i < ids->count; i++) {
        struct zd_job *job = calloc(1, sizeof *job);
        if (job == NULL)
            return -1;
        job->run = run;
        job->srv = srv;
        job->dev = (unsigned)ids->ids[i];
        job->a = a;
        job->b = b;
        if (zd_queue_push(queues[job->dev], job) != 0) {
            free(job);
            return -1;
        }
    }
    return 0;
}

int zd_jobs_errors(const struct zd_job *jobs, size_t n, struct zd_response *resp)
{
    cJSON *o = NULL, *errors = NULL;
    int status = 0;

    for (size_t i = 0; i < n; i++) {
        char key[24];
        if (jobs[i].http_status == 0)
            continue;
        if (o == NULL) {
            o = cJSON_CreateObject();
            errors = cJSON_AddObjectToObject(o, "errors");
        }
        snprintf(key, sizeof key, "%u", jobs[i].dev);
        cJSON_AddStringToObject(errors, key, jobs[i].message);
        if (jobs[i].http_status > status)
            status = jobs[i].http_status;
    }
    if (status == 0)
        return 0; /* not o == NULL: out of memory must not read as success */
    zd_respond_json(resp, status, o != NULL ? cJSON_PrintUnformatted(o) : NULL);
    cJSON_Delete(o);
    return 1;
}

void zd_job_fail(struct zd_job *job, zeus_status s)
{
    job->http_status = zd_http_status_of(s);
    snprintf(job->message, sizeof job->message, "%s", zeus_last_error());
}
