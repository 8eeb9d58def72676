/*
 * router.c - The route table, the middleware that runs before every route (API groups,
 * then authentication, spec 1.3 and 1.5), and the helpers that fill a zd_response.
 *
 * Order, as zeusd's AuthMiddleware applies it:
 *   1. the path belongs to a disabled group            -> 404 {"error":"API group ..."}
 *   2. auth off: /auth/... -> 404 {"error":"Authentication is not enabled ..."}; others pass
 *   3. auth on: /discover and /time pass
 *   4. no "Bearer " header -> 401; bad token -> 401; expired -> 401 "Token has expired."
 *   5. a valid token without the path's group -> 403
 *   6. the route; an unknown path or a method mismatch gets the framework's empty 404.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "zeusd.h"

/* ---- API groups --------------------------------------------------------------------------- */

const char *zd_group_name(unsigned group)
{
    switch (group) {
    case ZD_GROUP_GPU_CONTROL:
        return "gpu-control";
    case ZD_GROUP_GPU_READ:
        return "gpu-read";
    case ZD_GROUP_CPU_READ:
        return "cpu-read";
    }
    return NULL;
}

unsigned zd_group_parse(const char *name, size_t len)
{
    static const unsigned all[] = {ZD_GROUP_GPU_CONTROL, ZD_GROUP_GPU_READ, ZD_GROUP_CPU_READ};

    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        const char *n = zd_group_name(all[i]);
        if (strlen(n) == len && memcmp(n, name, len) == 0)
            return all[i];
    }
    return ZD_GROUP_NONE;
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

unsigned zd_group_of_path(const char *path)
{
    if (starts_with(path, "/gpu/set_") || starts_with(path, "/gpu/reset_"))
        return ZD_GROUP_GPU_CONTROL;
    if (starts_with(path, "/gpu/"))
        return ZD_GROUP_GPU_READ;
    if (starts_with(path, "/cpu/"))
        return ZD_GROUP_CPU_READ;
    return ZD_GROUP_NONE;
}

/* ---- Responses ---------------------------------------------------------------------------- */

void zd_respond_json(struct zd_response *resp, int status, char *json)
{
    resp->status = status;
    resp->body = json;
    resp->body_len = json != NULL ? strlen(json) : 0;
    resp->content_type = "application/json";
}

static char *vformat(const char *fmt, va_list ap)
{
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        return NULL;
    return s;
}

void zd_respond_error(struct zd_response *resp, int status, const char *fmt, ...)
{
    va_list ap;
    char *msg;
    cJSON *o = cJSON_CreateObject();

    va_start(ap, fmt);
    msg = vformat(fmt, ap);
    va_end(ap);
    cJSON_AddStringToObject(o, "error", msg != NULL ? msg : "out of memory");
    free(msg);
    zd_respond_json(resp, status, cJSON_PrintUnformatted(o));
    cJSON_Delete(o);
}

void zd_respond_text(struct zd_response *resp, int status, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    resp->body = vformat(fmt, ap);
    va_end(ap);
    resp->status = status;
    resp->body_len = resp->body != NULL ? strlen(resp->body) : 0;
    resp->content_type = "text/plain; charset=utf-8";
}

void zd_respond_empty(struct zd_response *resp, int status)
{
    resp->status = status;
    resp->body = NULL;
    resp->body_len = 0;
    resp->content_type = NULL;
}

/* ---- The route table ---------------------------------------------------------------------- */

static const struct zd_route routes[] = {
    {"GET", "/discover", zd_route_discover, ZD_GROUP_NONE},
    {"GET", "/time", zd_route_time, ZD_GROUP_NONE},
    {"GET", "/auth/whoami", zd_route_whoami, ZD_GROUP_NONE},
    {"POST", "/gpu/set_power_limit", zd_route_gpu_set_power_limit, ZD_GROUP_GPU_CONTROL},
    {"POST", "/gpu/set_persistence_mode", zd_route_gpu_set_persistence_mode,
     ZD_GROUP_GPU_CONTROL},
    {"POST", "/gpu/set_gpu_locked_clocks", zd_route_gpu_set_gpu_locked_clocks,
     ZD_GROUP_GPU_CONTROL},
    {"POST", "/gpu/reset_gpu_locked_clocks", zd_route_gpu_reset_gpu_locked_clocks,
     ZD_GROUP_GPU_CONTROL},
    {"POST", "/gpu/set_mem_locked_clocks", zd_route_gpu_set_mem_locked_clocks,
     ZD_GROUP_GPU_CONTROL},
    {"POST", "/gpu/reset_mem_locked_clocks", zd_route_gpu_reset_mem_locked_clocks,
     ZD_GROUP_GPU_CONTROL},
    {"POST", "/gpu/reset_locked_clocks", zd_route_gpu_reset_locked_clocks, ZD_GROUP_GPU_CONTROL},
    {"GET", "/gpu/get_cumulative_energy", zd_route_gpu_get_cumulative_energy, ZD_GROUP_GPU_READ},
    {"GET", "/gpu/get_power", zd_route_gpu_get_power, ZD_GROUP_GPU_READ},
    {"GET", "/gpu/stream_power", zd_route_gpu_stream_power, ZD_GROUP_GPU_READ},
    {"GET", "/gpu/get_power_limit", zd_route_gpu_get_power_limit, ZD_GROUP_GPU_READ},
    {"GET", "/gpu/get_power_limit_constraints", zd_route_gpu_get_power_limit_constraints,
     ZD_GROUP_GPU_READ},
    {"GET", "/gpu/get_persistence_mode", zd_route_gpu_get_persistence_mode, ZD_GROUP_GPU_READ},
    {"GET", "/cpu/get_cumulative_energy", zd_route_cpu_get_cumulative_energy, ZD_GROUP_CPU_READ},
    {"GET", "/cpu/get_power", zd_route_cpu_get_power, ZD_GROUP_CPU_READ},
    {"GET", "/cpu/stream_power", zd_route_cpu_stream_power, ZD_GROUP_CPU_READ},
};

const struct zd_route *zd_router_find(const char *method, const char *path)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (strcmp(routes[i].path, path) == 0 && strcmp(routes[i].method, method) == 0)
            return &routes[i];
    return NULL;
}

/* ---- Middleware --------------------------------------------------------------------------- */

/* Steps 3-5 of the head comment; 0 when the request may proceed, else resp is filled. */
static int authenticate(struct zd_server *srv, struct zd_request *req, struct zd_response *resp,
                        unsigned group)
{
    const char *auth = req->authorization;
    char why[256];
    char scopes[128];
    size_t used = 0;

    if (strcmp(req->path, "/discover") == 0 || strcmp(req->path, "/time") == 0)
        return 0;
    if (auth == NULL || strncmp(auth, "Bearer ", 7) != 0) {
        zd_respond_error(resp, 401, "Authentication required. Provide an Authorization: "
                                    "Bearer <token> header.");
        resp->www_authenticate = 1;
        return -1;
    }
    switch (zd_jwt_verify(srv->key, srv->key_len, auth + 7, zd_unix_ms() / 1000, &req->claims,
                          why, sizeof why)) {
    case ZD_JWT_OK:
        break;
    case ZD_JWT_EXPIRED:
        zd_respond_error(resp, 401, "Token has expired.");
        resp->www_authenticate = 1;
        return -1;
    case ZD_JWT_INVALID:
        zd_respond_error(resp, 401, "Invalid token: %s", why);
        resp->www_authenticate = 1;
        return -1;
    }
    req->authenticated = 1;
    if (group != ZD_GROUP_NONE && !(req->claims.scope_mask & group)) {
        scopes[0] = '\0';
        for (unsigned i = 0; i < req->claims.scope_count && used < sizeof scopes; i++)
            used += (size_t)snprintf(scopes + used, sizeof scopes - used, "%s'%s'",
                                     i ? ", " : "", zd_group_name(req->claims.scopes[i]));
        zd_respond_error(resp, 403,
                         "Token for user '%s' lacks required scope '%s'. Token scopes: [%s]",
                         req->claims.sub, zd_group_name(group), scopes);
        return -1;
    }
    zd_info("authenticated request: user=%s %s %s", req->claims.sub, req->method, req->path);
    return 0;
}

void zd_router_handle(struct zd_server *srv, struct zd_request *req, struct zd_response *resp)
{
    unsigned group = zd_group_of_path(req->path);
    const struct zd_route *route;

    memset(resp, 0, sizeof *resp);
    if (group != ZD_GROUP_NONE && !(srv->cfg->group_mask & group)) {
        zd_respond_error(resp, 404, "API group '%s' is not enabled on this server.",
                         zd_group_name(group));
        return;
    }
    if (srv->key == NULL) {
        if (starts_with(req->path, "/auth/")) {
            zd_respond_error(resp, 404, "Authentication is not enabled on this server.");
            return;
        }
    } else if (authenticate(srv, req, resp, group) != 0) {
        return;
    }
    route = zd_router_find(req->method, req->path);
    if (route == NULL) {
        zd_respond_empty(resp, 404);
        return;
    }
    route->handler(srv, req, resp);
}
