/*
 * routes_cpu.c - The CPU routes (cpu-read): RAPL package and DRAM energy and power
 * (spec 1.7). CPU ids are RAPL package indices, as libzeus numbers them.
 *
 *   What:     GET /cpu/get_cumulative_energy?cpu=<bool>&dram=<bool>[&cpu_ids=..]
 *   Response: {"<id>":{"cpu_energy_uj":N|null,"dram_energy_uj":N|null}}; null when not
 *             asked for or (DRAM) absent. As Zeus's daemon: the counter's value plus its
 *             wraparounds times max_energy_range_uj (see zeus_arithmetic).
 *   What:     GET /cpu/get_power[?cpu_ids=..]
 *   Response: {"timestamp_ms":T,"power_mw":{"<id>":{"cpu_mw":N,"dram_mw":N|null}}}: two
 *             reads one poll period (1e6 / --cpu-power-poll-hz us) apart, power from the
 *             measured time between the ends of the two reads (at least 1 us).
 *   What:     GET /cpu/stream_power[?cpu_ids=..]   (SSE, sse.c)
 *   Errors:   400 plain text (query), 400 {"error":"CPU N not found"}, per-package errors as
 *             {"errors":{..}}.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zeusd.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/*
 * What Zeus's daemon answers: the counter as read plus its wraparounds times its range, so a
 * fresh daemon answers what sysfs holds, and two daemons on one machine agree. libzeus counts
 * the wraps (its poller reads often enough never to miss one); without a raw counter (a
 * backend that does not read sysfs itself) the widened energy is all there is.
 */
static double zeus_arithmetic(double counter_j, uint32_t wraps, double range_j, double widened_j)
{
    if (isnan(counter_j) || isnan(range_j))
        return widened_j;
    return counter_j + (double)wraps * range_j;
}

static void run_energy(struct zd_server *srv, struct zd_job *job)
{
    zeus_cpu_energy e;
    zeus_status s = zeus_cpu_get_energy(srv->devs, job->dev, &e);

    job->end_ns = zd_mono_ns();
    if (s != ZEUS_OK) {
        zd_job_fail(job, s);
        return;
    }
    job->v[0] = zeus_arithmetic(e.cpu_counter_j, e.cpu_wraps, e.cpu_counter_range_j, e.cpu_j);
    job->v[1] = zeus_arithmetic(e.dram_counter_j, e.dram_wraps, e.dram_counter_range_j, e.dram_j);
    job->has_dram = !isnan(e.dram_j);
}

static long long uj(double j)
{
    return (long long)llround(j * 1e6);
}

void zd_route_cpu_get_cumulative_energy(struct zd_server *srv, struct zd_request *req,
                                        struct zd_response *resp)
{
    static const struct zd_field fields[] = {
        {"cpu_ids", ZD_FIELD_STRING, 0}, {"cpu", ZD_FIELD_BOOL, 1}, {"dram", ZD_FIELD_BOOL, 1}};
    struct zd_query q;
    struct zd_ids ids;
    struct zd_job *jobs;
    char *json;
    size_t used = 0, room;

    if (zd_read_ids(req, fields, N(fields), "cpu_ids", "CPU", srv->cpu_count, &q, &ids,
                    resp) != 0)
        return;
    jobs = zd_fanout_wait(srv, srv->cpu_queue, &ids, run_energy, 0, 0);
    room = 64 + ids.count * 96;
    json = malloc(room);
    if (jobs == NULL || json == NULL) {
        zd_respond_error(resp, 500, "out of memory");
    } else if (!zd_jobs_errors(jobs, ids.count, resp)) {
        used += (size_t)snprintf(json, room, "{");
        for (size_t i = 0; i < ids.count; i++) {
            char cpu[32] = "null", dram[32] = "null";
            if (q.flag[1])
                snprintf(cpu, sizeof cpu, "%lld", uj(jobs[i].v[0]));
            if (q.flag[2] && jobs[i].has_dram)
                snprintf(dram, sizeof dram, "%lld", uj(jobs[i].v[1]));
            used += (size_t)snprintf(json + used, room - used,
                                     "%s\"%u\":{\"cpu_energy_uj\":%s,\"dram_energy_uj\":%s}",
                                     i ? "," : "", jobs[i].dev, cpu, dram);
        }
        snprintf(json + used, room - used, "}");
        zd_respond_json(resp, 200, json);
        json = NULL;
    }
    free(json);
    free(jobs);
    zd_ids_free(&ids);
}

static long long power_mw(double j1, double j2, int64_t elapsed_ns)
{
    double delta_uj = (j2 - j1) * 1e6;
    int64_t elapsed_us = elapsed_ns / 1000;

    if (delta_uj < 0)
        delta_uj = 0; /* saturating, as zeusd */
    if (elapsed_us < 1)
        elapsed_us = 1;
    return (long long)(delta_uj * 1000.0 / (double)elapsed_us);
}

void zd_route_cpu_get_power(struct zd_server *srv, struct zd_request *req,
                            struct zd_response *resp)
{
    static const struct zd_field fields[] = {{"cpu_ids", ZD_FIELD_STRING, 0}};
    struct zd_query q;
    struct zd_ids ids;
    struct zd_job *first = NULL, *second = NULL;
    char *json = NULL;
    size_t used = 0, room;

    if (zd_read_ids(req, fields, N(fields), "cpu_ids", "CPU", srv->cpu_count, &q, &ids,
                    resp) != 0)
        return;
    first = zd_fanout_wait(srv, srv->cpu_queue, &ids, run_energy, 0, 0);
    if (first != NULL && ids.count > 0 && !zd_jobs_errors(first, ids.count, resp)) {
        int64_t period_us = 1000000 / srv->cfg->cpu_poll_hz;
        struct timespec ts = {period_us / 1000000, (period_us % 1000000) * 1000};
        nanosleep(&ts, NULL);
        second = zd_fanout_wait(srv, srv->cpu_queue, &ids, run_energy, 0, 0);
    }
    if (resp->status != 0)
        goto out; /* the first read's errors */
    room = 96 + ids.count * 96;
    json = malloc(room);
    if (first == NULL || json == NULL || (ids.count > 0 && second == NULL)) {
        zd_respond_error(resp, 500, "out of memory");
        goto out;
    }
    if (ids.count > 0) {
        for (size_t i = 0; i < ids.count; i++)
            if (second[i].http_status == 0 && first[i].has_dram != second[i].has_dram) {
                second[i].http_status = 500;
                snprintf(second[i].message, sizeof second[i].message,
                         "DRAM energy was available in only one of the two reads");
            }
        if (zd_jobs_errors(second, ids.count, resp))
            goto out;
    }
    used = (size_t)snprintf(json, room, "{\"timestamp_ms\":%lld,\"power_mw\":{",
                            (long long)zd_unix_ms());
    for (size_t i = 0; i < ids.count; i++) {
        int64_t elapsed = second[i].end_ns - first[i].end_ns;
        char dram[32] = "null";
        if (first[i].has_dram)
            snprintf(dram, sizeof dram, "%lld", power_mw(first[i].v[1], second[i].v[1], elapsed));
        used += (size_t)snprintf(json + used, room - used, "%s\"%u\":{\"cpu_mw\":%lld,"
                                 "\"dram_mw\":%s}", i ? "," : "", first[i].dev,
                                 power_mw(first[i].v[0], second[i].v[0], elapsed), dram);
    }
    snprintf(json + used, room - used, "}}");
    zd_respond_json(resp, 200, json);
    json = NULL;
out:
    free(json);
    free(first);
    free(second);
    zd_ids_free(&ids);
}

void zd_route_cpu_stream_power(struct zd_server *srv, struct zd_request *req,
                               struct zd_response *resp)
{
    zd_stream_route(srv->cpu_hub, srv->cpu_count, "cpu_ids", "CPU", req, resp);
}
