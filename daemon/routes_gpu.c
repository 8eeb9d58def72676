/*
 * routes_gpu.c - The GPU routes: control (gpu-control) and reads (gpu-read), spec 1.7.
 *
 *   What:    POST /gpu/set_power_limit?gpu_ids=..&power_limit_mw=..&block=..
 *            POST /gpu/set_persistence_mode?gpu_ids=..&enabled=..&block=..
 *            POST /gpu/set_gpu_locked_clocks?gpu_ids=..&min_clock_mhz=..&max_clock_mhz=..&block=..
 *            POST /gpu/set_mem_locked_clocks?(same)
 *            POST /gpu/reset_gpu_locked_clocks | reset_mem_locked_clocks | reset_locked_clocks
 *                 ?gpu_ids=..&block=..
 *   Response: 200, empty body. block=true waits for every GPU and answers
 *            {"errors":{"<id>":"<msg>"}} with the largest status when some failed;
 *            block=false only queues (errors are logged).
 *   Errors:  400 plain text for query errors and "GPU index N does not exist.".
 *
 *   What:    GET /gpu/get_cumulative_energy | get_power | get_power_limit |
 *            get_power_limit_constraints | get_persistence_mode [?gpu_ids=..]
 *   Response: {"<id>":{...}} in ascending id order; get_power: {"timestamp_ms","power_mw"}.
 *   Errors:  400 {"error":"GPU N not found"}; per-GPU failures as above.
 *
 * Every device call runs on the GPU's own queue (device_queue.c), so commands to one GPU
 * keep their arrival order. GPU ids are zeusd's (gpus.c): NVIDIA GPUs by their NVML index,
 * then AMD GPUs; DEV() turns one into libzeus's index. main.c clears CUDA_VISIBLE_DEVICES
 * and HIP_VISIBLE_DEVICES before opening the devices, as zeusd ignores them.
 *
 * AMD GPUs answer as Zeus's amdsmi backend does: persistence mode (get and set) and the
 * per-domain clock resets are 400 "Invalid request: ..." (AMD SMI has neither);
 * reset_locked_clocks sets the performance level back to AUTO, which releases both ranges
 * at once; power is the current socket power, else the average; an energy counter that
 * failed libzeus's check at startup is 400 with Zeus's advice to integrate power.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zeusd.h"

#define MW(w) ((long long)llround((w) * 1000.0))
/* libzeus's index of the job's GPU (job->dev is zeusd's id) */
#define DEV(srv, job) ((srv)->gpus[(job)->dev].dev)
#define IS_AMD(srv, job) ((srv)->gpus[(job)->dev].amd)

static const char amd_no_persistence[] = "persistence mode is not supported on AMD GPUs";
static const char amd_no_domain_reset[] =
    "AMD GPUs cannot reset a single clock domain; use reset_locked_clocks to reset all domains";
static const char amd_no_energy[] =
    "The cumulative energy counter of this GPU is not available. It is either unsupported or "
    "failed validation at zeusd startup (see https://github.com/ROCm/amdsmi/issues/38). Poll "
    "/gpu/get_power and integrate over time instead.";

/* Zeus's ZeusdError::InvalidRequest: 400 "Invalid request: <why>". */
static void invalid_request(struct zd_job *job, const char *why)
{
    job->http_status = 400;
    snprintf(job->message, sizeof job->message, "Invalid request: %s", why);
}

/* ---- Device operations (run on the GPU's queue thread) ------------------------------------ */

static void run_set_power_limit(struct zd_server *srv, struct zd_job *job)
{
    double min_w, max_w;
    zeus_status s;

    if (zeus_gpu_get_power_limit_constraints(srv->devs, DEV(srv, job), &min_w, &max_w) ==
            ZEUS_OK &&
        ((long long)job->a < MW(min_w) || (long long)job->a > MW(max_w))) {
        job->http_status = 400;
        snprintf(job->message, sizeof job->message,
                 "Invalid request: Power limit %u mW is outside the valid range %lld-%lld mW",
                 job->a, MW(min_w), MW(max_w));
        return;
    }
    s = zeus_gpu_set_power_limit(srv->devs, DEV(srv, job), job->a / 1000.0);
    if (s != ZEUS_OK)
        zd_job_fail(job, s);
}

static void run_set_persistence_mode(struct zd_server *srv, struct zd_job *job)
{
    zeus_status s;

    if (IS_AMD(srv, job)) {
        invalid_request(job, amd_no_persistence);
        return;
    }
    s = zeus_gpu_set_persistence_mode(srv->devs, DEV(srv, job), (int)job->a);
    if (s != ZEUS_OK)
        zd_job_fail(job, s);
}

static void run_set_gpu_clocks(struct zd_server *srv, struct zd_job *job)
{
    zeus_status s = zeus_gpu_set_gpu_locked_clocks(srv->devs, DEV(srv, job), job->a, job->b);
    if (s != ZEUS_OK)
        zd_job_fail(job, s);
}

static void run_reset_gpu_clocks(struct zd_server *srv, struct zd_job *job)
{
    zeus_status s;

    if (IS_AMD(srv, job)) {
        invalid_request(job, amd_no_domain_reset);
        return;
    }
    s = zeus_gpu_reset_gpu_locked_clocks(srv->devs, DEV(srv, job));
    if (s != ZEUS_OK)
        zd_job_fail(job, s);
}

static void run_set_mem_clocks(struct zd_server *srv, struct zd_job *job)
{
    zeus_status s = zeus_gpu_set_memory_locked_clocks(srv->devs, DEV(srv, job), job->a, job->b);
    if (s != ZEUS_OK)
        zd_job_fail(job, s);
}

static void run_reset_mem_clocks(struct zd_server *srv, struct zd_job *job)
{
    zeus_status s;

    if (IS_AMD(srv, job)) {
        invalid_request(job, amd_no_domain_reset);
        return;
    }
    s = zeus_gpu_reset_memory_locked_clocks(srv->devs, DEV(srv, job));
    if (s != ZEUS_OK)
        zd_job_fail(job, s);
}

/*
 * Both domains. NVIDIA: both are attempted and the first error is reported (as zeusd's
 * NVML). AMD: libzeus's graphics reset is AMD SMI's performance level AUTO, which releases
 * both ranges (Zeus's amdsmi backend).
 */
static void run_reset_all_clocks(struct zd_server *srv, struct zd_job *job)
{
    zeus_status s1 = zeus_gpu_reset_gpu_locked_clocks(srv->devs, DEV(srv, job)), s2;
    if (s1 != ZEUS_OK)
        zd_job_fail(job, s1);
    if (IS_AMD(srv, job))
        return;
    s2 = zeus_gpu_reset_memory_locked_clocks(srv->devs, DEV(srv, job));
    if (s1 == ZEUS_OK && s2 != ZEUS_OK)
        zd_job_fail(job, s2);
}

static void run_energy(struct zd_server *srv, struct zd_job *job)
{
    zeus_status s;

    if (IS_AMD(srv, job) && !srv->gpus[job->dev].energy_available) {
        invalid_request(job, amd_no_energy);
        return;
    }
    s = zeus_gpu_get_energy(srv->devs, DEV(srv, job), &job->v[0]);
    if (s != ZEUS_OK)
        zd_job_fail(job, s);
}

static void run_power(struct zd_server *srv, struct zd_job *job)
{
    zeus_status s = zd_gpu_power_w(srv, job->dev, &job->v[0]);
    if (s != ZEUS_OK)
        zd_job_fail(job, s);
}

static void run_power_limit(struct zd_server *srv, struct zd_job *job)
{
    zeus_status s = zeus_gpu_get_power_limit(srv->devs, DEV(srv, job), &job->v[0]);
    if (s != ZEUS_OK)
        zd_job_fail(job, s);
}

static void run_constraints(struct zd_server *srv, struct zd_job *job)
{
    zeus_status s = zeus_gpu_get_power_limit_constraints(srv->devs, DEV(srv, job), &job->v[0],
                                                         &job->v[1]);
    if (s != ZEUS_OK)
        zd_job_fail(job, s);
}

static void run_persistence(struct zd_server *srv, struct zd_job *job)
{
    int enabled = 0;
    zeus_status s;

    if (IS_AMD(srv, job)) {
        invalid_request(job, amd_no_persistence);
        return;
    }
    s = zeus_gpu_get_persistence_mode(srv->devs, DEV(srv, job), &enabled);
    if (s != ZEUS_OK)
        zd_job_fail(job, s);
    job->v[0] = enabled;
}

/* ---- Query shapes ------------------------------------------------------------------------- */

static const struct zd_field f_set_power_limit[] = {
    {"gpu_ids", ZD_FIELD_STRING, 1}, {"power_limit_mw", ZD_FIELD_U32, 1},
    {"block", ZD_FIELD_BOOL, 1}};
static const struct zd_field f_set_persistence[] = {
    {"gpu_ids", ZD_FIELD_STRING, 1}, {"enabled", ZD_FIELD_BOOL, 1}, {"block", ZD_FIELD_BOOL, 1}};
static const struct zd_field f_set_clocks[] = {
    {"gpu_ids", ZD_FIELD_STRING, 1}, {"min_clock_mhz", ZD_FIELD_U32, 1},
    {"max_clock_mhz", ZD_FIELD_U32, 1}, {"block", ZD_FIELD_BOOL, 1}};
static const struct zd_field f_reset[] = {{"gpu_ids", ZD_FIELD_STRING, 1},
                                          {"block", ZD_FIELD_BOOL, 1}};
static const struct zd_field f_read[] = {{"gpu_ids", ZD_FIELD_STRING, 0}};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Control routes ----------------------------------------------------------------------- */

/*
 * Parse, check the ids (plain-text 400 before anything is queued, whatever `block` says),
 * then queue. a_field/b_field: indices of the u32/bool inputs in `fields`, or -1.
 */
static void control(struct zd_server *srv, struct zd_request *req, struct zd_response *resp,
                    const struct zd_field *fields, size_t n, int a_field, int b_field,
                    void (*run)(struct zd_server *, struct zd_job *))
{
    struct zd_query q;
    struct zd_ids ids;
    char err[512];
    uint32_t a = 0, b = 0;
    int block_field = (int)n - 1;

    if (zd_query_parse(fields, n, req->args, req->arg_count, &q, err, sizeof err) != 0) {
        zd_respond_text(resp, 400, "%s", err);
        return;
    }
    if (zd_ids_parse(q.str[0], "gpu_ids", "GPU", &ids, err, sizeof err) != 0) {
        zd_respond_error(resp, 400, "%s", err);
        return;
    }
    for (size_t i = 0; i < ids.count; i++)
        if (ids.ids[i] >= srv->gpu_count) {
            zd_respond_text(resp, 400, "GPU index %llu does not exist.",
                            (unsigned long long)ids.ids[i]);
            zd_ids_free(&ids);
            return;
        }
    if (a_field >= 0)
        a = fields[a_field].type == ZD_FIELD_BOOL ? (uint32_t)q.flag[a_field] : q.u32[a_field];
    if (b_field >= 0)
        b = q.u32[b_field];
    if (q.flag[block_field]) {
        struct zd_job *jobs = zd_fanout_wait(srv, srv->gpu_queue, &ids, run, a, b);
        if (jobs == NULL)
            zd_respond_error(resp, 500, "out of memory");
        else if (!zd_jobs_errors(jobs, ids.count, resp))
            zd_respond_empty(resp, 200);
        free(jobs);
    } else if (zd_fanout_nowait(srv, srv->gpu_queue, &ids, run, a, b) != 0) {
        zd_respond_error(resp, 500, "Failed to send command to device task");
    } else {
        zd_respond_empty(resp, 200);
    }
    zd_ids_free(&ids);
}

void zd_route_gpu_set_power_limit(struct zd_server *srv, struct zd_request *req,
                                  struct zd_response *resp)
{
    control(srv, req, resp, f_set_power_limit, N(f_set_power_limit), 1, -1, run_set_power_limit);
}

void zd_route_gpu_set_persistence_mode(struct zd_server *srv, struct zd_request *req,
                                       struct zd_response *resp)
{
    control(srv, req, resp, f_set_persistence, N(f_set_persistence), 1, -1,
            run_set_persistence_mode);
}

void zd_route_gpu_set_gpu_locked_clocks(struct zd_server *srv, struct zd_request *req,
                                        struct zd_response *resp)
{
    control(srv, req, resp, f_set_clocks, N(f_set_clocks), 1, 2, run_set_gpu_clocks);
}

void zd_route_gpu_reset_gpu_locked_clocks(struct zd_server *srv, struct zd_request *req,
                                          struct zd_response *resp)
{
    control(srv, req, resp, f_reset, N(f_reset), -1, -1, run_reset_gpu_clocks);
}

void zd_route_gpu_set_mem_locked_clocks(struct zd_server *srv, struct zd_request *req,
                                        struct zd_response *resp)
{
    control(srv, req, resp, f_set_clocks, N(f_set_clocks), 1, 2, run_set_mem_clocks);
}

void zd_route_gpu_reset_mem_locked_clocks(struct zd_server *srv, struct zd_request *req,
                                          struct zd_response *resp)
{
    control(srv, req, resp, f_reset, N(f_reset), -1, -1, run_reset_mem_clocks);
}

void zd_route_gpu_reset_locked_clocks(struct zd_server *srv, struct zd_request *req,
                                      struct zd_response *resp)
{
    control(srv, req, resp, f_reset, N(f_reset), -1, -1, run_reset_all_clocks);
}

/* ---- Read routes -------------------------------------------------------------------------- */

/*
 * The ids a read route names: gpu_ids, or every GPU when it is absent. Returns 0, or -1
 * with resp filled.
 */
int zd_read_ids(const struct zd_request *req, const struct zd_field *fields, size_t n,
                const char *field, const char *what, unsigned count, struct zd_query *q,
                struct zd_ids *ids, struct zd_response *resp)
{
    char err[512];

    if (zd_query_parse(fields, n, req->args, req->arg_count, q, err, sizeof err) != 0) {
        zd_respond_text(resp, 400, "%s", err);
        return -1;
    }
    if (!q->present[0]) {
        ids->ids = calloc(count ? count : 1, sizeof *ids->ids);
        if (ids->ids == NULL) {
            zd_respond_error(resp, 500, "out of memory");
            return -1;
        }
        for (unsigned i = 0; i < count; i++)
            ids->ids[i] = i;
        ids->count = count;
        return 0;
    }
    if (zd_ids_parse(q->str[0], field, what, ids, err, sizeof err) != 0) {
        zd_respond_error(resp, 400, "%s", err);
        return -1;
    }
    for (size_t i = 0; i < ids->count; i++)
        if (ids->ids[i] >= count) {
            zd_respond_error(resp, 400, "%s %llu not found", what,
                             (unsigned long long)ids->ids[i]);
            zd_ids_free(ids);
            return -1;
        }
    return 0;
}

/* Append to a growing JSON text; the buffer is big enough for 64 devices' entries. */
#define ENTRY_ROOM 160

static void read_route(struct zd_server *srv, struct zd_request *req, struct zd_response *resp,
                       void (*run)(struct zd_server *, struct zd_job *),
                       void (*entry)(const struct zd_job *, char *, size_t))
{
    struct zd_query q;
    struct zd_ids ids;
    struct zd_job *jobs;
    char *json;
    size_t used = 0, room;

    if (zd_read_ids(req, f_read, N(f_read), "gpu_ids", "GPU", srv->gpu_count, &q, &ids,
                    resp) != 0)
        return;
    jobs = zd_fanout_wait(srv, srv->gpu_queue, &ids, run, 0, 0);
    room = 64 + ids.count * ENTRY_ROOM;
    json = malloc(room);
    if (jobs == NULL || json == NULL) {
        zd_respond_error(resp, 500, "out of memory");
    } else if (!zd_jobs_errors(jobs, ids.count, resp)) {
        used += (size_t)snprintf(json + used, room - used, "{");
        for (size_t i = 0; i < ids.count; i++) {
            used += (size_t)snprintf(json + used, room - used, "%s\"%u\":", i ? "," : "",
                                     jobs[i].dev);
            entry(&jobs[i], json + used, room - used);
            used += strlen(json + used);
        }
        snprintf(json + used, room - used, "}");
        zd_respond_json(resp, 200, json);
        json = NULL;
    }
    free(json);
    free(jobs);
    zd_ids_free(&ids);
}

static void entry_energy(const struct zd_job *job, char *out, size_t len)
{
    snprintf(out, len, "{\"energy_mj\":%lld}", MW(job->v[0]));
}

static void entry_power_limit(const struct zd_job *job, char *out, size_t len)
{
    snprintf(out, len, "{\"power_limit_mw\":%lld}", MW(job->v[0]));
}

static void entry_constraints(const struct zd_job *job, char *out, size_t len)
{
    snprintf(out, len, "{\"min_power_limit_mw\":%lld,\"max_power_limit_mw\":%lld}",
             MW(job->v[0]), MW(job->v[1]));
}

static void entry_persistence(const struct zd_job *job, char *out, size_t len)
{
    snprintf(out, len, "{\"enabled\":%s}", job->v[0] != 0 ? "true" : "false");
}

static void entry_power(const struct zd_job *job, char *out, size_t len)
{
    snprintf(out, len, "%lld", MW(job->v[0]));
}

void zd_route_gpu_get_cumulative_energy(struct zd_server *srv, struct zd_request *req,
                                        struct zd_response *resp)
{
    read_route(srv, req, resp, run_energy, entry_energy);
}

void zd_route_gpu_get_power_limit(struct zd_server *srv, struct zd_request *req,
                                  struct zd_response *resp)
{
    read_route(srv, req, resp, run_power_limit, entry_power_limit);
}

void zd_route_gpu_get_power_limit_constraints(struct zd_server *srv, struct zd_request *req,
                                              struct zd_response *resp)
{
    read_route(srv, req, resp, run_constraints, entry_constraints);
}

void zd_route_gpu_get_persistence_mode(struct zd_server *srv, struct zd_request *req,
                                       struct zd_response *resp)
{
    read_route(srv, req, resp, run_persistence, entry_persistence);
}

void zd_route_gpu_get_power(struct zd_server *srv, struct zd_request *req,
                            struct zd_response *resp)
{
    char *inner, *json = NULL;

    /* Reuse read_route for the map, then wrap it with the timestamp taken now. */
    read_route(srv, req, resp, run_power, entry_power);
    if (resp->status != 200)
        return;
    inner = resp->body;
    if (asprintf(&json, "{\"timestamp_ms\":%lld,\"power_mw\":%s}", (long long)zd_unix_ms(),
                 inner) < 0)
        json = NULL;
    free(inner);
    zd_respond_json(resp, json != NULL ? 200 : 500, json);
}

/* ---- Streaming ---------------------------------------------------------------------------- */

/* Shared by the GPU and CPU stream routes: parse, check every id, open the stream. */
void zd_stream_route(struct zd_hub *hub, unsigned count, const char *field, const char *what,
                     struct zd_request *req, struct zd_response *resp)
{
    const struct zd_field fields[] = {{field, ZD_FIELD_STRING, 0}};
    struct zd_query q;
    struct zd_ids ids;
    char err[512];

    if (zd_query_parse(fields, 1, req->args, req->arg_count, &q, err, sizeof err) != 0) {
        zd_respond_text(resp, 400, "%s", err);
        return;
    }
    if (q.present[0]) {
        size_t bad = 0, msg_len = 0;
        char *msg = NULL;
        FILE *m;

        if (zd_ids_parse(q.str[0], field, what, &ids, err, sizeof err) != 0) {
            zd_respond_error(resp, 400, "%s", err);
            return;
        }
        for (size_t i = 0; i < ids.count; i++)
            bad += ids.ids[i] >= count;
        if (bad > 0) {
            /* Every unknown id, as zeusd lists them: a fixed buffer would drop the tail. */
            m = open_memstream(&msg, &msg_len);
            if (m != NULL) {
                fprintf(m, "Unknown %s indices: [", what);
                for (size_t i = 0, n = 0; i < ids.count; i++)
                    if (ids.ids[i] >= count)
                        fprintf(m, "%s%llu", n++ ? ", " : "", (unsigned long long)ids.ids[i]);
                fprintf(m, "]. Available: [");
                for (unsigned i = 0; i < count; i++)
                    fprintf(m, "%s%u", i ? ", " : "", i);
                fprintf(m, "]");
                if (fclose(m) != 0) {
                    free(msg);
                    msg = NULL;
                }
            }
            zd_respond_error(resp, msg != NULL ? 400 : 500, "%s",
                             msg != NULL ? msg : "out of memory");
            free(msg);
            zd_ids_free(&ids);
            return;
        }
    } else {
        ids.ids = calloc(count ? count : 1, sizeof *ids.ids);
        ids.count = 0;
        for (unsigned i = 0; ids.ids != NULL && i < count; i++)
            ids.ids[ids.count++] = i;
    }
    resp->stream = hub != NULL && ids.ids != NULL ? zd_stream_open(hub, &ids) : NULL;
    zd_ids_free(&ids);
    if (resp->stream == NULL) {
        zd_respond_error(resp, 500, "cannot open the power stream");
        return;
    }
    resp->status = 200;
}

void zd_route_gpu_stream_power(struct zd_server *srv, struct zd_request *req,
                               struct zd_response *resp)
{
    zd_stream_route(srv->gpu_hub, srv->gpu_count, "gpu_ids", "GPU", req, resp);
}
