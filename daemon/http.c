/*
 * http.c - The HTTP server, on libmicrohttpd 0.9.75: the only file that includes
 * microhttpd.h. It turns each request into a zd_request, hands it to the router, and turns
 * the zd_response back into an MHD response; SSE responses read from a zd_stream through a
 * callback response of unknown size. guard.c holds each connection to a request deadline
 * and each client to a connection cap; this file tells it when connections open, when a
 * request is complete, and when they close.
 *
 * Concept: a pool of --num-workers threads, as actix runs. Reality: one thread per
 * connection (MHD_USE_THREAD_PER_CONNECTION). Routes block on the device queues (a blocking
 * set waits behind the non-blocking ones queued before it, and /cpu/get_power sleeps one poll
 * period), and SSE readers block until the next event; with a shared pool one such wait
 * would stall every connection of that thread. With a thread each, a slow or silent client
 * only holds its own thread, CONNECTION_LIMIT bounds the threads, and CONNECTION_TIMEOUT
 * drops a client that stops reading (its socket buffer fills and no byte moves for the
 * timeout). --num-workers is accepted and logged.
 *
 * Request life cycle (STYLE.md): first call allocates the state into *req_cls; body chunks
 * are counted and dropped (zeusd ignores bodies) up to MAX_BODY, 413 beyond; the last call
 * dispatches; the completed callback frees the state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "zeusd.h"

#define MAX_BODY (1u << 20)
#define MAX_ARGS 64
#define CONNECTION_TIMEOUT_S 60
#define CONNECTION_LIMIT 512 /* root's reserve included */
#define ROOT_RESERVE 16
#define CONNECTION_MEMORY 65536

struct zd_http {
    struct MHD_Daemon *mhd;
    struct zd_server *srv;
    struct zd_guard *guard; /* deadlines and per-client caps (guard.c) */
};

/* The guard's entry for `conn`, kept as MHD's socket context. */
static struct zd_guard_conn *guarded(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    return info != NULL ? info->socket_context : NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct zd_http *h = cls;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_context = info != NULL ? zd_guard_open(h->guard, info->connect_fd) : NULL;
    } else {
        zd_guard_close(h->guard, *socket_context);
        *socket_context = NULL;
    }
}

struct req_state {
    size_t body_bytes;
    int too_large;
};

struct arg_list {
    struct zd_pair pairs[MAX_ARGS];
    size_t count;
    int overflow;
    int has_nul; /* a decoded key or value holds "%00": as a C string it would be cut short */
};

static void logger(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    (void)cls;
    vsnprintf(line, sizeof line, fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    zd_warn("http: %s", line);
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   size_t key_size, const char *value, size_t value_size)
{
    struct arg_list *list = cls;
    (void)kind;
    if (strlen(key) != key_size || (value != NULL && strlen(value) != value_size)) {
        list->has_nul = 1; /* "gpu_ids=1%000" must not act on GPU 1 */
        return MHD_NO;
    }
    if (list->count == MAX_ARGS) {
        list->overflow = 1;
        return MHD_NO;
    }
    list->pairs[list->count].key = key;
    list->pairs[list->count].value = value;
    list->count++;
    return MHD_YES;
}

/* SSE: MHD asks for more bytes; block until the stream has some (thread per connection). */
static ssize_t sse_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    size_t n = zd_stream_read(cls, buf, max);
    (void)pos;
    return n > 0 ? (ssize_t)n : MHD_CONTENT_READER_END_OF_STREAM;
}

static void sse_free(void *cls)
{
    zd_stream_close(cls);
}

/* Create, queue and destroy the response: the one place that does it. */
static enum MHD_Result send_response(struct MHD_Connection *conn, struct zd_response *resp)
{
    struct MHD_Response *r;
    enum MHD_Result ret;

    if (resp->stream != NULL) {
        r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sse_reader, resp->stream,
                                              sse_free);
        if (r == NULL) {
            zd_stream_close(resp->stream);
            return MHD_NO;
        }
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    } else {
        r = MHD_create_response_from_buffer(resp->body_len, resp->body != NULL ? resp->body : "",
                                            MHD_RESPMEM_MUST_COPY);
        free(resp->body);
        resp->body = NULL;
        if (r == NULL)
            return MHD_NO;
        if (resp->content_type != NULL)
            MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
    }
    if (resp->www_authenticate)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"zeusd\"");
    ret = MHD_queue_response(conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **req_cls)
{
    struct zd_http *h = cls;
    struct req_state *st = *req_cls;
    struct zd_request req;
    struct zd_response resp;
    struct arg_list args;

    (void)version;
    (void)upload_data;
    if (st == NULL) {
        st = calloc(1, sizeof *st);
        if (st == NULL)
            return MHD_NO;
        *req_cls = st;
        return MHD_YES;
    }
    if (*upload_size > 0) { /* zeusd ignores bodies: count and drop them */
        st->body_bytes += *upload_size;
        if (st->body_bytes > MAX_BODY)
            st->too_large = 1;
        *upload_size = 0;
        return MHD_YES;
    }
    /* the whole request is in: what follows is answering it, which has no deadline */
    zd_guard_answering(h->guard, guarded(conn), 1);
    memset(&resp, 0, sizeof resp);
    if (st->too_large) {
        zd_respond_text(&resp, 413, "Payload too large (zeusd ignores request bodies; at most "
                                    "%u bytes are accepted)", MAX_BODY);
        return send_response(conn, &resp);
    }
    memset(&args, 0, sizeof args);
    MHD_get_connection_values_n(conn, MHD_GET_ARGUMENT_KIND, collect_arg, &args);
    if (args.has_nul) {
        zd_respond_text(&resp, 400, "Query deserialize error: invalid NUL byte in a query "
                                    "parameter");
        return send_response(conn, &resp);
    }
    if (args.overflow) {
        zd_respond_text(&resp, 400, "Query deserialize error: too many query parameters "
                                    "(at most %d)", MAX_ARGS);
        return send_response(conn, &resp);
    }
    memset(&req, 0, sizeof req);
    req.method = method;
    req.path = url;
    req.args = args.pairs;
    req.arg_count = args.count;
    req.authorization = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                    MHD_HTTP_HEADER_AUTHORIZATION);
    zd_router_handle(h->srv, &req, &resp);
    return send_response(conn, &resp);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct zd_http *h = cls;

    (void)toe;
    /* a kept-alive connection's next request gets a deadline of its own */
    zd_guard_answering(h->guard, guarded(conn), 0);
    free(*req_cls);
    *req_cls = NULL;
}

/*
 * Takes `listen_fd` in every case: libmicrohttpd 0.9.75 closes a socket given with
 * MHD_OPTION_LISTEN_SOCKET on MHD_stop_daemon and when MHD_start_daemon fails, so the caller
 * must never close it again (a second close could hit a descriptor another thread reused).
 */
int zd_http_start(struct zd_server *srv, int listen_fd, struct zd_http **out)
{
    struct zd_http *h = calloc(1, sizeof *h);
    struct zd_guard_limits limits;

    if (h == NULL) {
        close(listen_fd);
        return -1;
    }
    h->srv = srv;
    limits.deadline_ms = srv->cfg->request_deadline_ms;
    limits.max_per_client = srv->cfg->max_per_client;
    limits.max_connections = CONNECTION_LIMIT;
    limits.reserve = ROOT_RESERVE;
    if (zd_guard_create(&limits, &h->guard) != 0) {
        close(listen_fd);
        free(h);
        return -1;
    }
    h->mhd = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
        0, NULL, NULL, on_request, h,
        MHD_OPTION_EXTERNAL_LOGGER, logger, NULL, /* first, so every message goes through it */
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)listen_fd,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
        MHD_OPTION_END);
    if (h->mhd == NULL) {
        zd_guard_destroy(h->guard);
        free(h);
        return -1;
    }
    *out = h;
    return 0;
}

void zd_http_stop(struct zd_http *h)
{
    if (h == NULL)
        return;
    MHD_stop_daemon(h->mhd);
    zd_guard_destroy(h->guard);
    free(h);
}
