/*
 * http.c - `zeus bso-server`'s HTTP, on libmicrohttpd 0.9.75: the only file of the server that
 * includes microhttpd.h. Reads each request's body (at most MAX_BODY), routes it by method and
 * path to routes_jobs.c / routes_trials.c, answers their JSON, and logs one line per request.
 *
 * Threads: an internal pool of THREADS threads polling with poll() (the exporter found that
 * MHD's epoll mode left requests unserved under bursts; select stops at descriptor 1024).
 * A request runs start to finish on one pool thread, which owns one database connection
 * (transact.c). A request waits for its job's row lock, so a slow transaction holds its
 * thread; THREADS bounds how many transactions run at once.
 *
 * Defences, mirrored from zeusd (daemon/http.c) and the exporter rather than shared with
 * them (their pieces are tied to their own structs): a body over MAX_BODY is answered 413 at
 * once when Content-Length says so (before it is read), otherwise as soon as the count goes
 * past (the rest is discarded); each connection is dropped after CONNECTION_TIMEOUT_S without a
 * byte; CONNECTION_LIMIT connections at most, PER_IP_LIMIT from one address; CONNECTION_MEMORY
 * per connection. Not mirrored: zeusd's per-request deadline (guard.c). zeusd needs it because
 * each of its connections holds a thread; here a client that trickles bytes holds one
 * connection slot, not a thread, and other clients are still served (the attack test shows).
 *
 * Request life cycle (STYLE.md): the first call allocates the state into *req_cls; body
 * chunks are appended; the last call dispatches; the completed callback frees the state.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "bso_server.h"
#include "request_body.h"

#define MAX_BODY (1u << 20)
#define THREADS 8
#define CONNECTION_TIMEOUT_S 30
#define CONNECTION_LIMIT 1000
#define PER_IP_LIMIT 256 /* one address cannot take every slot */
#define CONNECTION_MEMORY (64 * 1024)

struct bso_http {
    struct MHD_Daemon *mhd;
    bool log_requests;
};

struct req_state {
    zeus_net_body body;
    double started;
};

/* ---- Replies ------------------------------------------------------------------------------ */

static void log_line(struct bso_http *h, struct MHD_Connection *conn, const char *method,
                     const char *url, unsigned status, double started)
{
    const union MHD_ConnectionInfo *ci;
    char addr[64] = "-";
    char when[32];
    time_t now = time(NULL);
    struct tm tm;

    if (!h->log_requests)
        return;
    ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci != NULL && ci->client_addr != NULL && ci->client_addr->sa_family == AF_INET) {
        const unsigned char *b =
            (const unsigned char *)&((const struct sockaddr_in *)ci->client_addr)->sin_addr;
        snprintf(addr, sizeof addr, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
    } else if (ci != NULL && ci->client_addr != NULL) {
        snprintf(addr, sizeof addr, "[ipv6]");
    }
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(stderr, "%s INFO: %s \"%s %s\" %u %.1f ms\n", when, addr, method, url, status,
            (bso_now() - started) * 1e3);
}

/* Queue `r`'s body as JSON and drop our reference (STYLE.md: one helper). */
static enum MHD_Result send_reply(struct bso_http *h, struct MHD_Connection *conn,
                                  const char *method, const char *url, bso_reply *r,
                                  double started)
{
    static const char oom[] = "{\"message\":\"out of memory\"}";
    const char *body = r->body != NULL ? r->body : oom;
    unsigned status = r->body != NULL ? r->status : 500;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;

    bso_reply_clear(r);
    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    log_line(h, conn, method, url, status, started);
    return ret;
}

/* ---- Routing ------------------------------------------------------------------------------ */

/* The job_id query parameter; NULL when missing. One holding a NUL ("a%00b") would read as
 * "a" in C and act on another job: it becomes "", which no job has. */
static const char *query_job_id(struct MHD_Connection *conn)
{
    const char *v = NULL;
    size_t n = 0;

    if (MHD_lookup_connection_value_n(conn, MHD_GET_ARGUMENT_KIND, "job_id", 6, &v, &n) != MHD_YES)
        return NULL;
    if (v == NULL)
        return ""; /* "?job_id" with no "=": FastAPI reads it as "" */
    return strlen(v) == n ? v : "";
}

/* Route a complete request; FastAPI's 404 and 405 for anything else. */
static void dispatch(struct MHD_Connection *conn, const char *url, const char *method,
                     const struct req_state *st, bso_reply *out)
{
    const char *body = st->body.data != NULL ? st->body.data : "";
    bool post = strcmp(method, "POST") == 0;

    if (strcmp(url, "/jobs") == 0) {
        if (post)
            bso_route_register(body, st->body.len, out);
        else if (strcmp(method, "DELETE") == 0)
            bso_route_delete(query_job_id(conn), out);
        else
            goto not_allowed;
    } else if (strcmp(url, "/jobs/batch_size") == 0) {
        if (strcmp(method, "GET") != 0)
            goto not_allowed;
        bso_route_predict(query_job_id(conn), out);
    } else if (strcmp(url, "/report") == 0) {
        if (!post)
            goto not_allowed;
        bso_route_report(body, st->body.len, out);
    } else if (strcmp(url, "/trials") == 0) {
        if (strcmp(method, "PATCH") != 0)
            goto not_allowed;
        bso_route_end_trial(body, st->body.len, out);
    } else {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "detail", "Not Found");
        bso_reply_json(out, 404, o);
    }
    return;
not_allowed:
    {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "detail", "Method Not Allowed");
        bso_reply_json(out, 405, o);
    }
}

/* ---- Requests ----------------------------------------------------------------------------- */

static void too_large(bso_reply *out)
{
    bso_reply_message(out, 413, "Request body too large: at most %u bytes are accepted",
                      MAX_BODY);
}

static const char *content_length(struct MHD_Connection *conn)
{
    return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **req_cls)
{
    struct bso_http *h = cls;
    struct req_state *st = *req_cls;
    bso_reply out = {0, NULL};

    (void)version;
    if (st == NULL) {
        st = calloc(1, sizeof *st);
        if (st == NULL)
            return MHD_NO;
        st->started = bso_now();
        st->body.max = MAX_BODY;
        *req_cls = st;
        if (zeus_net_body_declared_too_large(content_length(conn), MAX_BODY)) {
            too_large(&out);
            return send_reply(h, conn, method, url, &out, st->started);
        }
        return MHD_YES;
    }
    if (*upload_size > 0) {
        zeus_net_body_append(&st->body, upload_data, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (st->body.too_large)
        too_large(&out);
    else
        dispatch(conn, url, method, st, &out);
    return send_reply(h, conn, method, url, &out, st->started);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct req_state *st = *req_cls;

    (void)cls;
    (void)conn;
    (void)toe;
    if (st != NULL)
        zeus_net_body_free(&st->body);
    free(st);
    *req_cls = NULL;
}

static void log_mhd(void *cls, const char *fmt, va_list ap)
{
    char line[512];

    (void)cls;
    vsnprintf(line, sizeof line, fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    fprintf(stderr, "zeus bso-server: http: %s\n", line);
}

/* Each pool thread closes its database connection as it ends (transact.c's thread key). */
bso_http *bso_http_start(int listen_fd, bool log_requests)
{
    struct bso_http *h = calloc(1, sizeof *h);

    if (h == NULL) {
        close(listen_fd);
        return NULL;
    }
    h->log_requests = log_requests;
    h->mhd = MHD_start_daemon(MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                              on_request, h,
                              MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL, /* first, as MHD asks */
                              MHD_OPTION_LISTEN_SOCKET, (MHD_socket)listen_fd,
                              MHD_OPTION_THREAD_POOL_SIZE, (unsigned)THREADS,
                              MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT,
                              MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)PER_IP_LIMIT,
                              MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
                              MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
                              MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                              MHD_OPTION_END);
    if (h->mhd == NULL) {
        free(h);
        return NULL;
    }
    return h;
}

void bso_http_stop(bso_http *h)
{
    if (h == NULL)
        return;
    MHD_stop_daemon(h->mhd);
    free(h);
}
