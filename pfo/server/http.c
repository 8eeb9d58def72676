/*
 * http.c - `zeus pfo-server`'s HTTP, on libmicrohttpd 0.9.75: the only file of the server that
 * includes microhttpd.h. Reads each request's body (at most MAX_BODY), hands the complete
 * request to routes.c, answers its JSON, and at DEBUG logs each request with its reply, as
 * Zeus's LoggingRoute does.
 *
 * Threads: one per connection (MHD_USE_THREAD_PER_CONNECTION). GET /schedule blocks until
 * every rank of the job has asked, so a request must be able to wait without holding up
 * anyone else; a thread per connection makes that a plain condition-variable wait
 * (coordinator.c). The alternative, MHD's suspend/resume with a small pool, would keep
 * thousands of waiting ranks on a few threads, but splits every blocking route into two
 * halves and races a resume against a suspend; a job of world size W holds W threads of
 * STACK_BYTES here, which is cheap next to the W GPUs behind them. CONNECTION_LIMIT bounds
 * the threads (a job of up to about that many ranks is served at once).
 *
 * Defences, as bso/server/http.c: a body over MAX_BODY is 413 (before it is read when
 * Content-Length says so); a connection silent for CONNECTION_TIMEOUT_S between requests is
 * dropped (a request waiting in /schedule is inside our handler, where MHD's timeout does not
 * reach); PER_IP_LIMIT connections from one address.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "pfo_server.h"
#include "request_body.h"

#define MAX_BODY (16u << 20) /* a ProfilingResult of many iterations' breakdowns */
#define CONNECTION_TIMEOUT_S 120
#define CONNECTION_LIMIT 4096
#define PER_IP_LIMIT 1024 /* a node of 8 GPUs holds 8; a test or a gateway holds more */
#define STACK_BYTES (256u * 1024)
#define LOGGED_BODY 400

struct pfo_http {
    struct MHD_Daemon *mhd;
    bool log_debug;
};

struct req_state {
    zeus_net_body body;
};

/* ---- Replies ------------------------------------------------------------------------------- */

static void log_exchange(const char *method, const char *url, const struct req_state *st,
                         const bso_reply *r)
{
    char when[32];
    time_t now = time(NULL);
    struct tm tm;

    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(stderr, "%s DEBUG: %s %s: %.*s -> %u %.*s\n", when, method, url, LOGGED_BODY,
            st->body.len ? st->body.data : "None", r->status, LOGGED_BODY, r->body ? r->body : "");
}

static enum MHD_Result send_reply(struct pfo_http *h, struct MHD_Connection *conn,
                                  const char *method, const char *url,
                                  const struct req_state *st, bso_reply *r)
{
    static const char oom[] = "{\"detail\":\"out of memory\"}";
    const char *body = r->body != NULL ? r->body : oom;
    unsigned status = r->body != NULL ? r->status : 500;
    struct MHD_Response *resp;
    enum MHD_Result ret;

    if (h->log_debug)
        log_exchange(method, url, st, r);
    resp = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    bso_reply_clear(r);
    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* ---- Requests ------------------------------------------------------------------------------- */

/* ?rank=: NULL when absent, "" when given without a value or with a NUL inside. */
static const char *query_rank(struct MHD_Connection *conn)
{
    const char *v = NULL;
    size_t n = 0;

    if (MHD_lookup_connection_value_n(conn, MHD_GET_ARGUMENT_KIND, "rank", 4, &v, &n) != MHD_YES)
        return NULL;
    if (v == NULL)
        return "";
    return strlen(v) == n ? v : "";
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **req_cls)
{
    struct pfo_http *h = cls;
    struct req_state *st = *req_cls;
    bso_reply out = {0, NULL};

    (void)version;
    if (st == NULL) {
        if ((st = calloc(1, sizeof *st)) == NULL)
            return MHD_NO;
        st->body.max = MAX_BODY;
        *req_cls = st;
        if (zeus_net_body_declared_too_large(
                MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH),
                MAX_BODY)) {
            st->body.too_large = true;
            pfo_reply_detail(&out, 413, "Request body too large: at most %u bytes", MAX_BODY);
            return send_reply(h, conn, method, url, st, &out);
        }
        return MHD_YES;
    }
    if (*upload_size > 0) {
        zeus_net_body_append(&st->body, upload_data, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (st->body.too_large)
        pfo_reply_detail(&out, 413, "Request body too large: at most %u bytes", MAX_BODY);
    else
        pfo_route(method, url, query_rank(conn), st->body.data ? st->body.data : "",
                  st->body.len, &out);
    return send_reply(h, conn, method, url, st, &out);
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
    fprintf(stderr, "zeus pfo-server: http: %s\n", line);
}

pfo_http *pfo_http_start(int listen_fd, bool log_debug)
{
    struct pfo_http *h = calloc(1, sizeof *h);

    if (h == NULL) {
        close(listen_fd);
        return NULL;
    }
    h->log_debug = log_debug;
    h->mhd = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                                  MHD_USE_POLL | MHD_USE_ERROR_LOG,
                              0, NULL, NULL, on_request, h,
                              MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL,
                              MHD_OPTION_LISTEN_SOCKET, (MHD_socket)listen_fd,
                              MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT,
                              MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)PER_IP_LIMIT,
                              MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
                              MHD_OPTION_THREAD_STACK_SIZE, (size_t)STACK_BYTES,
                              MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                              MHD_OPTION_END);
    if (h->mhd == NULL) {
        free(h);
        return NULL;
    }
    return h;
}

void pfo_http_stop(pfo_http *h)
{
    if (h == NULL)
        return;
    MHD_stop_daemon(h->mhd);
    free(h);
}
