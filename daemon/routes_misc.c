/*
 * routes_misc.c - The routes every zeusd serves whatever groups are on: /discover, /time
 * and /auth/whoami (spec 1.7).
 *
 *   What:     GET /discover
 *   Response: {"gpus":[{"id","name","pci_address","cumulative_energy_available",
 *                       "backend","power_scope","mig"}],
 *              "cpus":[{"id","dram_available"}],"enabled_api_groups":[..],"auth_required":b}
 *             built once at startup (main.c) and served unchanged. backend ("nvml",
 *             "amdsmi"), power_scope ("gpu", "module": Grace Hopper's CPU + GPU) and mig
 *             (whole-GPU values) are Zeus-C's additions; Zeus's clients ignore them.
 *   What:     GET /time        -> {"timestamp_ms": daemon Unix ms}
 *   What:     GET /auth/whoami -> {"sub","scopes",["exp"]}; 404 when auth is off (router.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "zeusd.h"

void zd_route_discover(struct zd_server *srv, struct zd_request *req, struct zd_response *resp)
{
    (void)req;
    zd_respond_json(resp, 200, strdup(srv->discover_json != NULL ? srv->discover_json : "{}"));
}

void zd_route_time(struct zd_server *srv, struct zd_request *req, struct zd_response *resp)
{
    char *json = NULL;
    (void)srv;
    (void)req;
    if (asprintf(&json, "{\"timestamp_ms\":%lld}", (long long)zd_unix_ms()) < 0)
        json = NULL;
    zd_respond_json(resp, 200, json);
}

void zd_route_whoami(struct zd_server *srv, struct zd_request *req, struct zd_response *resp)
{
    cJSON *o = cJSON_CreateObject(), *scopes = cJSON_CreateArray();
    (void)srv;

    cJSON_AddStringToObject(o, "sub", req->claims.sub);
    for (unsigned i = 0; i < req->claims.scope_count; i++)
        cJSON_AddItemToArray(scopes, cJSON_CreateString(zd_group_name(req->claims.scopes[i])));
    cJSON_AddItemToObject(o, "scopes", scopes);
    if (req->claims.has_exp)
        cJSON_AddItemToObject(o, "exp", cJSON_CreateNumber((double)req->claims.exp));
    zd_respond_json(resp, 200, cJSON_PrintUnformatted(o));
    cJSON_Delete(o);
}
