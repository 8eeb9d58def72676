/*
 * coordinator.c - The Perseus server's jobs, and the rendezvous of each job's ranks: Zeus's
 * JobManager and its per-job task (zeus/optimizer/pipeline_frequency/server/job_manager.py).
 *
 * Concept: Zeus runs one asyncio task per job, fed by three queues (schedule requests, one
 * response slot per rank, profiling results). Reality: here each job is a state machine
 * advanced under one lock by whichever request thread changes it (advance()), and a request
 * for a schedule waits on its job's condition variable, on its own thread (http.c serves a
 * thread per connection). The queues become counters and slots with Zeus's bounds.
 *
 * DESIGN NOTES
 *
 * 1. The rounds. advance() moves a job through
 *
 *        WAIT_RANKS --(last rank registered: ranks.json, scheduler created, next schedule)-->
 *        WAIT_REQUESTS --(world_size schedule requests counted)-->
 *        DELIVERING --(each rank's schedule put in its slot; a slot holds one)-->
 *        WAIT_RESULTS --(world_size results: <n>.prof.json, <n>.sched.json, observe, next)-->
 *        WAIT_REQUESTS ...
 *
 *    and to FAILED from any step that fails (the solution file, a dump, the scheduler).
 *    Zeus polls every 0.1 s for the ranks; here the last registration starts the job at once.
 * 2. Requests are counted, not matched to ranks, as Zeus's request queue holds bare ranks: a
 *    round starts once world_size requests came, whoever sent them. A request then waits for
 *    its own rank's slot. Requests for the next round may arrive before this round's
 *    results and are counted toward it (Zeus's queue holds them too).
 * 3. FAILED is sticky. Zeus puts the exception into every rank's slot once and its task ends,
 *    so a rank that asks again waits forever. Here every waiting request and every later one
 *    gets the error: 400 for what Zeus raises as ValueError (a malformed plan entry), 500 for
 *    anything else, with {"detail": "<ExceptionType>: <message>"}. Other jobs are untouched.
 * 4. A job lives while requests wait on it (refs): eviction unlinks it and wakes its waiters
 *    (404), and the last one out frees it. Activity (registration, a schedule handed out, a
 *    result) refreshes its idle clock, as in Zeus.
 * 5. Unknown job ids are answered 404 {"detail": ...}. Zeus looks the id up in a dict and the
 *    KeyError becomes an unhandled 500 without a body that says why.
 * 6. Stricter than Zeus, where Zeus would hang or fail later: a rank outside [0, world_size),
 *    a pp/dp/tp rank outside its degree, or a rank registered twice is refused (400) at
 *    registration; /schedule and /result with a rank outside [0, world_size) are refused
 *    (400; Zeus indexes its slot list with it: an IndexError 500, or with -1 the last rank's
 *    slot). A job id that is already registered (same degrees and metadata in the same
 *    second) is refused with 409, where Zeus replaces the live job's state.
 *
 * Thread safety: everything here runs under co.lock; dumps and the solution file are read and
 * written under it too (small files, once per round), which keeps the rounds simple.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pfo_server.h"

#define MAX_WORLD 65536

enum phase { WAIT_RANKS, WAIT_REQUESTS, DELIVERING, WAIT_RESULTS, FAILED };

struct job {
    struct job *next;
    char id[400];
    pfo_job_info info;
    size_t world;
    pfo_rank_info *ranks;       /* by rank */
    bool *registered;
    size_t nranks;
    enum phase phase;
    pfo_scheduler *sched;
    const pfo_freqs **current;  /* this round's schedule of each rank */
    size_t requests;            /* schedule requests not yet taken by a round */
    const pfo_freqs **slot;     /* handed to rank r, not yet taken by its request */
    bool *undelivered;
    size_t n_undelivered;
    pfo_result *results;        /* at most world (Zeus's result queue bound) */
    size_t nresults;
    unsigned round;
    pfo_error err;
    double last_active;
    unsigned refs;
    bool evicted;
    pthread_cond_t cond;
};

static struct {
    pthread_mutex_t lock;
    struct job *jobs;
    const pfo_settings *set;
    bool stopping;
} co = {PTHREAD_MUTEX_INITIALIZER, NULL, NULL, false};

/* ---- Helpers ------------------------------------------------------------------------------------ */

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void pfo_reply_detail(bso_reply *out, unsigned status, const char *fmt, ...)
{
    char msg[1536];
    va_list ap;
    cJSON *o = cJSON_CreateObject();

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON_AddStringToObject(o, "detail", msg);
    bso_reply_json(out, status, o);
}

static struct job *find(const char *id)
{
    for (struct job *j = co.jobs; j != NULL; j = j->next)
        if (strcmp(j->id, id) == 0)
            return j;
    return NULL;
}

static void unknown_job(bso_reply *out, const char *id)
{
    pfo_reply_detail(out, 404, "Unknown job id '%s': register the job first (POST /register_job); "
                     "jobs idle for more than %ld s are removed", id, co.set->max_job_idle_s);
}

static void free_job(struct job *j)
{
    for (size_t r = 0; r < j->world; r++)
        pfo_rank_info_free(&j->ranks[r]);
    for (size_t k = 0; k < j->nresults; k++)
        cJSON_Delete(j->results[k].body);
    pfo_scheduler_destroy(j->sched);
    free(j->info.job_metadata);
    free(j->ranks);
    free(j->registered);
    free(j->current);
    free(j->slot);
    free(j->undelivered);
    free(j->results);
    pthread_cond_destroy(&j->cond);
    free(j);
}

static void unlink_job(struct job *j)
{
    for (struct job **p = &co.jobs; *p != NULL; p = &(*p)->next) {
        if (*p == j) {
            *p = j->next;
            return;
        }
    }
}

/* ---- The rounds ------------------------------------------------------------------------------- */

static void fail(struct job *j, const pfo_error *e)
{
    j->err = *e;
    j->phase = FAILED;
    fprintf(stderr, "zeus pfo-server: job %s failed (%u): %s\n", j->id, e->http, e->detail);
    pthread_cond_broadcast(&j->cond);
}

static int by_rank(const void *a, const void *b)
{
    const pfo_result *x = a, *y = b;
    return (x->rank > y->rank) - (x->rank < y->rank);
}

/* All ranks are in: ranks.json, the scheduler, the first schedule. */
static bool start_job(struct job *j, pfo_error *e)
{
    if (co.set->dump_data && !pfo_dump_ranks(co.set->dump_dir, j->id, j->ranks, j->world, e))
        return false;
    j->sched = pfo_scheduler_create(co.set, &j->info, j->ranks, e);
    return j->sched != NULL && pfo_scheduler_next(j->sched, j->current, e);
}

/* Put each undelivered schedule into its rank's free slot; true once all are delivered. */
static bool deliver(struct job *j)
{
    for (size_t r = 0; r < j->world; r++) {
        if (j->undelivered[r] && j->slot[r] == NULL) {
            j->slot[r] = j->current[r];
            j->undelivered[r] = false;
            j->n_undelivered--;
        }
    }
    pthread_cond_broadcast(&j->cond);
    return j->n_undelivered == 0;
}

/* world_size results are in: dump the round, let the scheduler observe, plan the next. */
static bool finish_round(struct job *j, pfo_error *e)
{
    bool ok;

    qsort(j->results, j->nresults, sizeof *j->results, by_rank);
    ok = !co.set->dump_data || pfo_dump_round(co.set->dump_dir, j->id, j->round, j->results,
                                              j->current, j->world, e);
    ok = ok && pfo_scheduler_observe(j->sched, j->results, j->nresults, e);
    for (size_t k = 0; k < j->nresults; k++)
        cJSON_Delete(j->results[k].body);
    j->nresults = 0;
    j->round++;
    return ok && pfo_scheduler_next(j->sched, j->current, e);
}

/* Take every step the job's state allows (DESIGN NOTES 1). */
static void advance(struct job *j)
{
    pfo_error e = {0, ""};

    for (;;) {
        switch (j->phase) {
        case WAIT_RANKS:
            if (j->nranks < j->world)
                return;
            if (!start_job(j, &e)) {
                fail(j, &e);
                return;
            }
            j->phase = WAIT_REQUESTS;
            break;
        case WAIT_REQUESTS:
            if (j->requests < j->world)
                return;
            j->requests -= j->world;
            for (size_t r = 0; r < j->world; r++)
                j->undelivered[r] = true;
            j->n_undelivered = j->world;
            j->phase = DELIVERING;
            break;
        case DELIVERING:
            if (!deliver(j))
                return;
            j->phase = WAIT_RESULTS;
            break;
        case WAIT_RESULTS:
            if (j->nresults < j->world)
                return;
            if (!finish_round(j, &e)) {
                fail(j, &e);
                return;
            }
            j->phase = WAIT_REQUESTS;
            break;
        case FAILED:
            return;
        }
    }
}

/* ---- Routes' work ------------------------------------------------------------------------------ */

static struct job *new_job(const char *id, pfo_job_info *info)
{
    struct job *j = calloc(1, sizeof *j);
    size_t w = (size_t)info->world_size;

    if (j == NULL)
        return NULL;
    snprintf(j->id, sizeof j->id, "%s", id);
    j->world = w;
    j->ranks = calloc(w, sizeof *j->ranks);
    j->registered = calloc(w, sizeof *j->registered);
    j->current = calloc(w, sizeof *j->current);
    j->slot = calloc(w, sizeof *j->slot);
    j->undelivered = calloc(w, sizeof *j->undelivered);
    j->results = calloc(w, sizeof *j->results);
    pthread_cond_init(&j->cond, NULL);
    if (!j->ranks || !j->registered || !j->current || !j->slot || !j->undelivered || !j->results) {
        free_job(j);
        return NULL;
    }
    j->info = *info;
    info->job_metadata = NULL;
    j->last_active = now_s();
    return j;
}

/* Zeus's id: local time "%F-%H-%M-%S", +dp<d>+pp<p>+tp<t>+<scheduler>[+<metadata>]. */
static void make_id(const pfo_job_info *info, char *id, size_t len)
{
    time_t t = time(NULL);
    struct tm tm;
    char when[32];

    localtime_r(&t, &tm);
    strftime(when, sizeof when, "%F-%H-%M-%S", &tm);
    snprintf(id, len, "%s+dp%d+pp%d+tp%d+%s%s%s", when, info->dp_degree, info->pp_degree,
             info->tp_degree, pfo_scheduler_name(co.set->scheduler),
             info->job_metadata ? "+" : "", info->job_metadata ? info->job_metadata : "");
}

void pfo_register_job(pfo_job_info *info, bso_reply *out)
{
    char id[400];
    struct job *j;

    if (info->world_size > MAX_WORLD) {
        pfo_reply_detail(out, 400, "world_size %d is more than this server serves (%d)",
                         info->world_size, MAX_WORLD);
        free(info->job_metadata);
        return;
    }
    make_id(info, id, sizeof id);
    pthread_mutex_lock(&co.lock);
    if (find(id) != NULL) {
        pthread_mutex_unlock(&co.lock);
        pfo_reply_detail(out, 409, "Job id '%s' is already registered (a job with the same "
                         "degrees and metadata registered in the same second): retry in a "
                         "second, or give a distinct job_metadata", id);
        free(info->job_metadata);
        return;
    }
    j = new_job(id, info);
    if (j != NULL) {
        j->next = co.jobs;
        co.jobs = j;
    }
    pthread_mutex_unlock(&co.lock);
    if (j == NULL) {
        free(info->job_metadata);
        pfo_reply_detail(out, 500, "out of memory");
        return;
    }
    bso_reply_json(out, 200, cJSON_CreateString(id));
}

/* The checks of note 6; a message in msg when the rank cannot be part of the job. */
static bool rank_fits(const struct job *j, const pfo_rank_info *r, char *msg, size_t len)
{
    if ((size_t)r->rank >= j->world)
        snprintf(msg, len, "rank %d is outside the job's world size %zu", r->rank, j->world);
    else if (r->pp_rank >= j->info.pp_degree || r->dp_rank >= j->info.dp_degree ||
             r->tp_rank >= j->info.tp_degree)
        snprintf(msg, len, "rank %d: pp_rank %d, dp_rank %d, tp_rank %d do not fit the job's "
                 "degrees pp %d, dp %d, tp %d", r->rank, r->pp_rank, r->dp_rank, r->tp_rank,
                 j->info.pp_degree, j->info.dp_degree, j->info.tp_degree);
    else if (j->registered[r->rank])
        snprintf(msg, len, "rank %d is already registered", r->rank);
    else
        return true;
    return false;
}

void pfo_register_rank(const char *job_id, pfo_rank_info *info, bso_reply *out)
{
    char msg[256];
    struct job *j;

    pthread_mutex_lock(&co.lock);
    j = find(job_id);
    if (j == NULL) {
        unknown_job(out, job_id);
    } else if (!rank_fits(j, info, msg, sizeof msg)) {
        pfo_reply_detail(out, 400, "%s", msg);
    } else {
        j->ranks[info->rank] = *info;
        info->freqs = NULL;
        j->registered[info->rank] = true;
        j->nranks++;
        j->last_active = now_s();
        advance(j);
        bso_reply_null(out, 200);
    }
    pthread_mutex_unlock(&co.lock);
    pfo_rank_info_free(info);
}

/* The answer of a request whose wait ended (lock held). */
static void answer_schedule(struct job *j, int rank, bso_reply *out)
{
    if (j->slot[rank] != NULL) {
        cJSON *s = pfo_schedule_json(rank, j->slot[rank]);
        j->slot[rank] = NULL;
        j->last_active = now_s();
        if (j->phase == DELIVERING)
            advance(j); /* the slot is free for a schedule still waiting */
        bso_reply_json(out, 200, s);
    } else if (j->phase == FAILED) {
        pfo_reply_detail(out, j->err.http, "%s", j->err.detail);
    } else if (j->evicted) {
        pfo_reply_detail(out, 404, "Job '%s' was removed after being idle for more than %ld s",
                         j->id, co.set->max_job_idle_s);
    } else {
        pfo_reply_detail(out, 503, "The server is stopping");
    }
}

void pfo_get_schedule(const char *job_id, int rank, bso_reply *out)
{
    struct job *j;

    pthread_mutex_lock(&co.lock);
    j = find(job_id);
    if (j == NULL || co.stopping) {
        if (j == NULL)
            unknown_job(out, job_id);
        else
            pfo_reply_detail(out, 503, "The server is stopping");
        pthread_mutex_unlock(&co.lock);
        return;
    }
    if (rank < 0 || (size_t)rank >= j->world) {
        pfo_reply_detail(out, 400, "rank %d is outside the job's world size %zu", rank, j->world);
        pthread_mutex_unlock(&co.lock);
        return;
    }
    if (j->phase != FAILED) {
        j->requests++;
        advance(j);
    }
    j->refs++;
    while (j->slot[rank] == NULL && j->phase != FAILED && !j->evicted && !co.stopping)
        pthread_cond_wait(&j->cond, &co.lock);
    answer_schedule(j, rank, out);
    if (--j->refs == 0 && j->evicted)
        free_job(j);
    pthread_mutex_unlock(&co.lock);
}

void pfo_report_result(const char *job_id, pfo_result *result, bso_reply *out)
{
    struct job *j;

    pthread_mutex_lock(&co.lock);
    j = find(job_id);
    if (j == NULL) {
        unknown_job(out, job_id);
    } else if ((size_t)result->rank >= j->world) {
        pfo_reply_detail(out, 400, "rank %d is outside the job's world size %zu", result->rank,
                         j->world);
    } else if (j->nresults == j->world) {
        /* Zeus's put_nowait on its full result queue: an unhandled QueueFull */
        pfo_reply_detail(out, 500, "QueueFull: job %s already holds %zu results not yet taken by a "
                         "round (each rank reports once per schedule)", j->id, j->world);
    } else {
        j->results[j->nresults++] = *result;
        result->body = NULL;
        j->last_active = now_s();
        advance(j);
        bso_reply_null(out, 200);
    }
    pthread_mutex_unlock(&co.lock);
    cJSON_Delete(result->body);
    result->body = NULL;
}

/* ---- Life cycle --------------------------------------------------------------------------------- */

void pfo_coordinator_init(const pfo_settings *s)
{
    co.set = s;
    co.stopping = false;
}

size_t pfo_coordinator_evict_idle(void)
{
    size_t n = 0;
    double now = now_s();

    pthread_mutex_lock(&co.lock);
    for (struct job *j = co.jobs, *next; j != NULL; j = next) {
        next = j->next;
        if (now - j->last_active <= (double)co.set->max_job_idle_s)
            continue;
        fprintf(stderr, "zeus pfo-server: job %s removed after %.0f s idle\n", j->id,
                now - j->last_active);
        unlink_job(j);
        j->evicted = true;
        pthread_cond_broadcast(&j->cond);
        if (j->refs == 0)
            free_job(j);
        n++;
    }
    pthread_mutex_unlock(&co.lock);
    return n;
}

void pfo_coordinator_shutdown(void)
{
    pthread_mutex_lock(&co.lock);
    co.stopping = true;
    for (struct job *j = co.jobs; j != NULL; j = j->next)
        pthread_cond_broadcast(&j->cond);
    pthread_mutex_unlock(&co.lock);
}

void pfo_coordinator_fini(void)
{
    pthread_mutex_lock(&co.lock);
    while (co.jobs != NULL) {
        struct job *j = co.jobs;
        co.jobs = j->next;
        free_job(j); /* no request waits any more: the HTTP server has stopped */
    }
    pthread_mutex_unlock(&co.lock);
}
