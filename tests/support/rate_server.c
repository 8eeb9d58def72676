/*
 * rate_server.c - The loopback stand-in for the rate providers' services (rate_server.h).
 *
 * A thread per connection, so a request told to hang does not hold up the next one (the
 * client's retry connects while the first try still sleeps). The raw URI comes from MHD's URI
 * log callback, before MHD splits the query, so a test sees the exact bytes the client sent.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <setjmp.h>
#include <cmocka.h>

#include <microhttpd.h>

#include "rate_server.h"
#include "test_support.h"

#define MAX_ROUTES 16
#define MAX_REQUESTS 64
#define MAX_HEADERS 24

struct route {
    char *path;
    int status;
    char *body;
};

struct request {
    char *uri;
    int n_headers;
    char *names[MAX_HEADERS], *values[MAX_HEADERS];
};

struct zt_rate_server {
    struct MHD_Daemon *mhd;
    char url[64];
    pthread_mutex_t lock;
    struct route routes[MAX_ROUTES];
    int n_routes;
    struct request reqs[MAX_REQUESTS];
    int n_reqs;
    int fail_status, fail_left;
    int hang_ms;
};

/* ---- Handling a request ------------------------------------------------------------------- */

static void *log_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    (void)conn;
    return strdup(uri);
}

static enum MHD_Result keep_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    struct request *r = cls;

    (void)kind;
    if (r->n_headers < MAX_HEADERS) {
        r->names[r->n_headers] = strdup(key);
        r->values[r->n_headers] = strdup(value != NULL ? value : "");
        r->n_headers++;
    }
    return MHD_YES;
}

static enum MHD_Result answer(struct MHD_Connection *conn, int status, const char *body)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;

    MHD_add_response_header(resp, "Content-Type", "application/json");
    ret = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *data_len, void **req_cls)
{
    struct zt_rate_server *s = cls;
    char *body = NULL;
    int status = 404, hang;
    enum MHD_Result ret;

    (void)method;
    (void)version;
    (void)data;
    (void)data_len;
    pthread_mutex_lock(&s->lock);
    if (s->n_reqs < MAX_REQUESTS) {
        struct request *r = &s->reqs[s->n_reqs++];
        r->uri = strdup(*req_cls != NULL ? (const char *)*req_cls : url);
        MHD_get_connection_values(conn, MHD_HEADER_KIND, keep_header, r);
    }
    hang = s->hang_ms;
    if (s->fail_left > 0) {
        s->fail_left--;
        status = s->fail_status;
        body = strdup("{\"error\":\"told to fail\"}");
    } else {
        for (int i = 0; i < s->n_routes; i++)
            if (strcmp(s->routes[i].path, url) == 0) {
                status = s->routes[i].status;
                body = strdup(s->routes[i].body);
            }
    }
    pthread_mutex_unlock(&s->lock);
    if (hang > 0) {
        struct timespec ts = {hang / 1000, (hang % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    ret = answer(conn, status, body != NULL ? body : "{\"error\":\"no such path\"}");
    free(body);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode code)
{
    (void)cls;
    (void)conn;
    (void)code;
    free(*req_cls);
    *req_cls = NULL;
}

/* ---- Life cycle --------------------------------------------------------------------------- */

zt_rate_server *zt_rate_server_start(void)
{
    struct zt_rate_server *s = calloc(1, sizeof *s);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    const union MHD_DaemonInfo *info;

    assert_non_null(s);
    pthread_mutex_init(&s->lock, NULL);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->mhd = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD,
                              0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, &addr,
                              MHD_OPTION_URI_LOG_CALLBACK, log_uri, NULL,
                              MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                              MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_END);
    assert_non_null(s->mhd);
    info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
    assert_non_null(info);
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%u", (unsigned)info->port);
    return s;
}

void zt_rate_server_stop(zt_rate_server *s)
{
    if (s == NULL)
        return;
    MHD_stop_daemon(s->mhd);
    for (int i = 0; i < s->n_routes; i++) {
        free(s->routes[i].path);
        free(s->routes[i].body);
    }
    for (int i = 0; i < s->n_reqs; i++) {
        free(s->reqs[i].uri);
        for (int h = 0; h < s->reqs[i].n_headers; h++) {
            free(s->reqs[i].names[h]);
            free(s->reqs[i].values[h]);
        }
    }
    pthread_mutex_destroy(&s->lock);
    free(s);
}

const char *zt_rate_server_url(const zt_rate_server *s)
{
    return s->url;
}

/* ---- What to answer ----------------------------------------------------------------------- */

void zt_rate_server_set(zt_rate_server *s, const char *path, int status, const char *body)
{
    struct route *r = NULL;

    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < s->n_routes; i++)
        if (strcmp(s->routes[i].path, path) == 0)
            r = &s->routes[i];
    if (r == NULL) {
        assert_true(s->n_routes < MAX_ROUTES);
        r = &s->routes[s->n_routes++];
        r->path = strdup(path);
    } else {
        free(r->body);
    }
    r->status = status;
    r->body = strdup(body);
    pthread_mutex_unlock(&s->lock);
}

void zt_rate_server_set_file(zt_rate_server *s, const char *path, const char *file)
{
    char *text = zt_read_file(file);

    if (text == NULL)
        fail_msg("cannot read %s", file);
    zt_rate_server_set(s, path, 200, text);
    free(text);
}

void zt_rate_server_fail_next(zt_rate_server *s, int status, int n)
{
    pthread_mutex_lock(&s->lock);
    s->fail_status = status;
    s->fail_left = n;
    pthread_mutex_unlock(&s->lock);
}

void zt_rate_server_hang_ms(zt_rate_server *s, int ms)
{
    pthread_mutex_lock(&s->lock);
    s->hang_ms = ms;
    pthread_mutex_unlock(&s->lock);
}

/* ---- What arrived ------------------------------------------------------------------------- */

int zt_rate_server_count(zt_rate_server *s)
{
    int n;

    pthread_mutex_lock(&s->lock);
    n = s->n_reqs;
    pthread_mutex_unlock(&s->lock);
    return n;
}

const char *zt_rate_server_uri(zt_rate_server *s, int i, char *buf, size_t len)
{
    pthread_mutex_lock(&s->lock);
    snprintf(buf, len, "%s", i >= 0 && i < s->n_reqs ? s->reqs[i].uri : "");
    pthread_mutex_unlock(&s->lock);
    return buf;
}

const char *zt_rate_server_header(zt_rate_server *s, int i, const char *name, char *buf,
                                  size_t len)
{
    const char *found = NULL;

    pthread_mutex_lock(&s->lock);
    for (int h = 0; i >= 0 && i < s->n_reqs && h < s->reqs[i].n_headers; h++)
        if (strcasecmp(s->reqs[i].names[h], name) == 0) {
            snprintf(buf, len, "%s", s->reqs[i].values[h]);
            found = buf;
        }
    pthread_mutex_unlock(&s->lock);
    return found;
}
