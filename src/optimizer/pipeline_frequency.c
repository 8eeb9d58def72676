/*
 * pipeline_frequency.c - Perseus's client (zeus/pipeline_frequency.h): Zeus's
 * PipelineFrequencyOptimizer (zeus/optimizer/pipeline_frequency/optimizer.py) over
 * pfo_http.c and the frequency controller thread (pfo_controller.c).
 *
 * Zeus's steps, kept: rank 0 registers the job (a non-200 reply or an id that is not a string
 * is an error); each rank lists its frequencies (graphics clocks at the highest memory clock,
 * descending), registers, starts the controller and fetches its schedule without a time
 * limit, which must be for its own rank. The schedule is a list of (instruction, MHz) walked
 * once per iteration.
 *
 * Not Zeus's: the job id broadcast is the caller's (libzeus has no collective; zeusc does it
 * with torch.distributed), and so is the device synchronization before each instruction
 * (Zeus's sync_execution through torch).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "optimizer/pfo_controller.h"
#include "optimizer/pfo_http.h"
#include "util/error.h"
#include "util/options.h"
#include "zeus/pipeline_frequency.h"

#define PFO_MAGIC 0x50464f31u /* "PFO1" */
#define MAX_CLOCKS 1024

struct zeus_pfo {
    uint32_t magic;
    char *url;
    char *job_id;
    int rank;
    size_t count, next; /* the schedule and the position in this iteration */
    char **names;
    unsigned *mhz;
    zeus__pfo_ctl *ctl;
    struct zeus_pfo *next_live;
};

/* ---- The exit hook --------------------------------------------------------------------------- */

/* Handles not destroyed: at exit their controllers are stopped, which resets the clocks, as
 * Zeus's atexit(controller.end) does. */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t live_once = PTHREAD_ONCE_INIT;
static zeus_pfo *live_head;

static void stop_controllers_at_exit(void)
{
    pthread_mutex_lock(&live_lock);
    for (zeus_pfo *p = live_head; p != NULL; p = p->next_live) {
        zeus__pfo_ctl_stop(p->ctl);
        p->ctl = NULL;
    }
    pthread_mutex_unlock(&live_lock);
}

static void install_exit_hook(void)
{
    atexit(stop_controllers_at_exit);
}

static void live_add(zeus_pfo *p)
{
    pthread_once(&live_once, install_exit_hook);
    pthread_mutex_lock(&live_lock);
    p->next_live = live_head;
    live_head = p;
    pthread_mutex_unlock(&live_lock);
}

/* Unlink p; its controller, if the exit hook has not stopped it, is returned to stop. */
static zeus__pfo_ctl *live_remove(zeus_pfo *p)
{
    zeus__pfo_ctl *ctl;

    pthread_mutex_lock(&live_lock);
    for (zeus_pfo **q = &live_head; *q != NULL; q = &(*q)->next_live) {
        if (*q == p) {
            *q = p->next_live;
            break;
        }
    }
    ctl = p->ctl;
    p->ctl = NULL;
    pthread_mutex_unlock(&live_lock);
    return ctl;
}

/* ---- Options ---------------------------------------------------------------------------------- */

void zeus_pfo_options_init(zeus_pfo_options *o)
{
    if (o == NULL)
        return;
    memset(o, 0, sizeof *o);
    o->size = sizeof *o;
    o->dp_degree = o->pp_degree = o->tp_degree = o->world_size = 1;
}

static zeus_status read_options(const zeus_pfo_options *in, zeus_pfo_options *o, bool need_id)
{
    zeus_status s;

    zeus_pfo_options_init(o);
    if (in == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "zeus_pfo_options is required (server_url)");
    s = zeus__options_read(o, sizeof *o, in, sizeof *o, "zeus_pfo_options");
    if (s != ZEUS_OK)
        return s;
    if (o->server_url == NULL || strncmp(o->server_url, "http", 4) != 0)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "server_url must be an http:// or https:// "
                          "URL, such as http://127.0.0.1:8000");
    if (need_id && (o->job_id == NULL || o->job_id[0] == '\0'))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "job_id is required: the id rank 0 got from "
                          "zeus_pfo_register_job()");
    if (o->dp_degree < 1 || o->pp_degree < 1 || o->tp_degree < 1 ||
        (long long)o->dp_degree * o->pp_degree * o->tp_degree != o->world_size)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "degrees must be >= 1 and world_size their "
                          "product (dp %d x pp %d x tp %d, world_size %d)", o->dp_degree,
                          o->pp_degree, o->tp_degree, o->world_size);
    if (o->rank < 0 || o->rank >= o->world_size || o->dp_rank < 0 || o->dp_rank >= o->dp_degree ||
        o->pp_rank < 0 || o->pp_rank >= o->pp_degree || o->tp_rank < 0 ||
        o->tp_rank >= o->tp_degree)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "rank %d (dp %d, pp %d, tp %d) does not fit "
                          "the degrees", o->rank, o->dp_rank, o->pp_rank, o->tp_rank);
    return ZEUS_OK;
}

/* server_url without a final '/', malloc'd. */
static char *base_url(const char *url)
{
    char *b = strdup(url);
    size_t n = b ? strlen(b) : 0;

    while (n > 0 && b[n - 1] == '/')
        b[--n] = '\0';
    return b;
}

/* ---- Registration --------------------------------------------------------------------------- */

zeus_status zeus_pfo_register_job(const zeus_pfo_options *in, char *job_id, size_t len)
{
    zeus_pfo_options o;
    cJSON *req, *reply = NULL;
    char *body, *base;
    zeus_status s;

    if (job_id == NULL || len == 0)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "job_id buffer is required");
    if ((s = read_options(in, &o, false)) != ZEUS_OK)
        return s;
    req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "job_id", "");
    cJSON_AddNumberToObject(req, "pp_degree", o.pp_degree);
    cJSON_AddNumberToObject(req, "dp_degree", o.dp_degree);
    cJSON_AddNumberToObject(req, "tp_degree", o.tp_degree);
    cJSON_AddNumberToObject(req, "world_size", o.world_size);
    if (o.job_metadata != NULL)
        cJSON_AddStringToObject(req, "job_metadata", o.job_metadata);
    else
        cJSON_AddNullToObject(req, "job_metadata");
    body = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    base = base_url(o.server_url);
    if (body == NULL || base == NULL)
        s = zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
    else
        s = zeus__pfo_http(base, "POST", "/register_job", NULL, NULL, body, 0, &reply);
    free(body);
    free(base);
    if (s != ZEUS_OK)
        return s;
    if (!cJSON_IsString(reply))
        s = zeus__fail(ZEUS_ERR_IO, "PFO server returned a strange job ID (not a string)");
    else if (strlen(reply->valuestring) >= len)
        s = zeus__fail(ZEUS_ERR_INSUFFICIENT_SIZE, "the job id needs %zu bytes, %zu given",
                       strlen(reply->valuestring) + 1, len);
    else
        memcpy(job_id, reply->valuestring, strlen(reply->valuestring) + 1);
    cJSON_Delete(reply);
    return s;
}

/* ---- The GPU's frequencies -------------------------------------------------------------- */

static int descending(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return (x < y) - (x > y);
}

/* Graphics clocks at the highest memory clock, descending: the RankInfo's list. */
static zeus_status list_clocks(zeus_devices *devs, unsigned gpu, unsigned *max_mem,
                               unsigned *clocks, size_t *count)
{
    unsigned mem[64];
    size_t n = 64;
    zeus_status s = zeus_gpu_get_supported_memory_clocks(devs, gpu, mem, &n);

    if (s != ZEUS_OK)
        return zeus__fail_prefix(s, "Perseus: GPU %u's memory clocks", gpu);
    if (n == 0)
        return zeus__fail(ZEUS_ERR_NOT_SUPPORTED, "GPU %u lists no memory clocks", gpu);
    *max_mem = mem[0];
    for (size_t k = 1; k < n; k++)
        *max_mem = mem[k] > *max_mem ? mem[k] : *max_mem;
    *count = MAX_CLOCKS;
    s = zeus_gpu_get_supported_graphics_clocks(devs, gpu, *max_mem, clocks, count);
    if (s != ZEUS_OK)
        return zeus__fail_prefix(s, "Perseus: GPU %u's graphics clocks", gpu);
    if (*count == 0)
        return zeus__fail(ZEUS_ERR_NOT_SUPPORTED, "GPU %u lists no graphics clocks", gpu);
    qsort(clocks, *count, sizeof *clocks, descending);
    return ZEUS_OK;
}

static zeus_status register_rank(zeus_pfo *p, const zeus_pfo_options *o, const unsigned *clocks,
                                 size_t n)
{
    cJSON *req = cJSON_CreateObject(), *list, *reply = NULL;
    char *body;
    zeus_status s;

    cJSON_AddNumberToObject(req, "rank", o->rank);
    cJSON_AddNumberToObject(req, "dp_rank", o->dp_rank);
    cJSON_AddNumberToObject(req, "pp_rank", o->pp_rank);
    cJSON_AddNumberToObject(req, "tp_rank", o->tp_rank);
    list = cJSON_AddArrayToObject(req, "available_frequencies");
    for (size_t k = 0; k < n; k++)
        cJSON_AddItemToArray(list, cJSON_CreateNumber(clocks[k]));
    body = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    if (body == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
    s = zeus__pfo_http(p->url, "POST", "/register_rank/", p->job_id, NULL, body, 0, &reply);
    free(body);
    cJSON_Delete(reply);
    return s;
}

/* ---- The schedule ------------------------------------------------------------------------------ */

static zeus_status take_schedule(zeus_pfo *p, const cJSON *reply)
{
    const cJSON *rank = cJSON_GetObjectItemCaseSensitive(reply, "rank");
    const cJSON *freqs = cJSON_GetObjectItemCaseSensitive(reply, "frequencies"), *e;
    size_t n = (size_t)cJSON_GetArraySize(freqs), k = 0;

    if (!cJSON_IsNumber(rank) || !cJSON_IsArray(freqs))
        return zeus__fail(ZEUS_ERR_IO, "PFO server returned a schedule without rank and frequencies");
    if (rank->valuedouble != p->rank)
        return zeus__fail(ZEUS_ERR_IO, "PFO server returned a schedule for rank %d to rank %d",
                          rank->valueint, p->rank);
    p->names = calloc(n + 1, sizeof *p->names);
    p->mhz = calloc(n + 1, sizeof *p->mhz);
    if (p->names == NULL || p->mhz == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
    cJSON_ArrayForEach(e, freqs) {
        const cJSON *name = cJSON_GetArrayItem(e, 0), *mhz = cJSON_GetArrayItem(e, 1);
        if (cJSON_GetArraySize(e) != 2 || !cJSON_IsString(name) || !cJSON_IsNumber(mhz) ||
            mhz->valuedouble < 0 || mhz->valuedouble > 1e6)
            return zeus__fail(ZEUS_ERR_IO, "PFO server returned a schedule whose entry %zu is not "
                              "[instruction, MHz]", k);
        if ((p->names[k] = strdup(name->valuestring)) == NULL)
            return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
        p->mhz[k] = (unsigned)mhz->valuedouble;
        p->count = ++k;
    }
    return ZEUS_OK;
}

static zeus_status fetch_schedule(zeus_pfo *p)
{
    char query[32];
    cJSON *reply = NULL;
    zeus_status s;

    snprintf(query, sizeof query, "rank=%d", p->rank);
    s = zeus__pfo_http(p->url, "GET", "/schedule/", p->job_id, query, NULL, 1, &reply);
    if (s == ZEUS_OK)
        s = take_schedule(p, reply);
    cJSON_Delete(reply);
    return s;
}

/* ---- The handle ---------------------------------------------------------------------------------- */

static bool valid(const zeus_pfo *p)
{
    return p != NULL && p->magic == PFO_MAGIC;
}

static void free_pfo(zeus_pfo *p)
{
    for (size_t k = 0; p->names != NULL && k < p->count; k++)
        free(p->names[k]);
    free(p->names);
    free(p->mhz);
    free(p->url);
    free(p->job_id);
    p->magic = 0;
    free(p);
}

zeus_status zeus_pfo_create(zeus_devices *devs, const zeus_pfo_options *in, zeus_pfo **out)
{
    unsigned clocks[MAX_CLOCKS], max_mem = 0;
    size_t nclocks = 0;
    zeus_pfo_options o;
    zeus_pfo *p;
    zeus_status s;

    if (devs == NULL || out == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "devs and out are required");
    if ((s = read_options(in, &o, true)) != ZEUS_OK)
        return s;
    if (o.device_id >= zeus_devices_gpu_count(devs))
        return zeus__fail(ZEUS_ERR_NOT_FOUND, "device_id %u: %u GPUs are visible", o.device_id,
                          zeus_devices_gpu_count(devs));
    if ((s = list_clocks(devs, o.device_id, &max_mem, clocks, &nclocks)) != ZEUS_OK)
        return s;
    if ((p = calloc(1, sizeof *p)) == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
    p->magic = PFO_MAGIC;
    p->rank = o.rank;
    p->url = base_url(o.server_url);
    p->job_id = strdup(o.job_id);
    if (p->url == NULL || p->job_id == NULL)
        s = zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
    /* The GPU first, then the server: a rank that cannot set its clocks fails before it is
     * registered (Zeus registers first, and its controller process fails unseen). */
    if (s == ZEUS_OK)
        s = zeus__pfo_ctl_start(devs, o.device_id, max_mem, clocks[0], &p->ctl);
    if (s == ZEUS_OK)
        s = register_rank(p, &o, clocks, nclocks);
    if (s == ZEUS_OK)
        s = fetch_schedule(p);
    if (s != ZEUS_OK && p->ctl != NULL) {
        zeus__pfo_ctl_stop(p->ctl); /* resets the clocks it locked */
        p->ctl = NULL;
    }
    if (s != ZEUS_OK) {
        free_pfo(p);
        return s;
    }
    live_add(p);
    *out = p;
    return ZEUS_OK;
}

void zeus_pfo_destroy(zeus_pfo *p)
{
    if (!valid(p))
        return;
    zeus__pfo_ctl_stop(live_remove(p));
    free_pfo(p);
}

zeus_status zeus_pfo_on_instruction_begin(zeus_pfo *p, const char *name)
{
    zeus_status s;

    if (!valid(p) || name == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "a valid zeus_pfo and a name are required");
    if (p->ctl != NULL && (s = zeus__pfo_ctl_take_error(p->ctl)) != ZEUS_OK)
        return s;
    if (p->next >= p->count)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "PFO server returned fewer frequencies than "
                          "expected (%zu per iteration; '%s' is one more)", p->count, name);
    if (strcmp(p->names[p->next], name) != 0)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "The next expected instruction is %s, not %s "
                          "(entry %zu of the schedule)", p->names[p->next], name, p->next);
    if (p->mhz[p->next] != 0 && p->ctl != NULL &&
        (s = zeus__pfo_ctl_set(p->ctl, p->mhz[p->next])) != ZEUS_OK)
        return s;
    p->next++;
    return ZEUS_OK;
}

zeus_status zeus_pfo_on_step_end(zeus_pfo *p)
{
    zeus_status s;

    if (!valid(p))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "a valid zeus_pfo is required");
    if (p->ctl != NULL && (s = zeus__pfo_ctl_take_error(p->ctl)) != ZEUS_OK)
        return s;
    if (p->next < p->count)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "PFO server returned more frequencies than "
                          "expected. Next expected instruction and frequency is ('%s', %u)",
                          p->names[p->next], p->mhz[p->next]);
    p->next = 0;
    return ZEUS_OK;
}

const char *zeus_pfo_job_id(const zeus_pfo *p)
{
    return valid(p) ? p->job_id : NULL;
}

size_t zeus_pfo_schedule_length(const zeus_pfo *p)
{
    return valid(p) ? p->count : 0;
}

zeus_status zeus_pfo_schedule_entry(const zeus_pfo *p, size_t i, const char **name,
                                    unsigned *mhz)
{
    if (!valid(p) || i >= p->count)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "no schedule entry %zu", i);
    if (name != NULL)
        *name = p->names[i];
    if (mhz != NULL)
        *mhz = p->mhz[i];
    return ZEUS_OK;
}
