/*
 * zeusd_client.c - libzeus's side of zeusd: the connection (zeusd_client.h) and the "zeusd"
 * CPU backend, which reads RAPL energy through the daemon as Zeus's ZeusdRAPLCPU does.
 *
 * Zeus's rules, kept here:
 *   - ZEUSD_SOCK_PATH wins over ZEUSD_HOST_PORT; ZEUSD_TOKEN is sent as "Authorization:
 *     Bearer <token>". A Unix socket is reached as http://localhost<path>.
 *   - Construction GETs /discover; if auth is required it GETs /auth/whoami and keeps the
 *     scopes. A capability is "the group is enabled and (no auth, or the scope is granted)".
 *   - CPU energy: GET /cpu/get_cumulative_energy?cpu=true&dram=true&cpu_ids=N, microjoules;
 *     a null package value is an error, and so is a null DRAM value on a package the daemon
 *     says has DRAM.
 *   - GPU setters (devices.c calls zeus__zeusd_gpu_control) send block=true; reads stay local.
 *   - Which daemon GPU a local one is (zeus__zeusd_gpu_id): NVIDIA by its physical index
 *     (ZeusdNVIDIAGPU), AMD by PCI address, exactly one match (ZeusdAMDGPU). Zeus-C also
 *     checks the NVIDIA index against the PCI address where both are known, and matches by
 *     address when they differ: a daemon serving AMD GPUs only (--gpu-backend amdsmi) would
 *     otherwise take an NVIDIA index for one of its AMD GPUs.
 *
 * The CPU backend numbers CPUs as the daemon's discovery lists them. Zeus instead globs the
 * local RAPL tree for indices and requires each on the daemon; inside a container without
 * /sys the daemon's list is the only one there is, and on a host both agree.
 *
 * Concept: one curl handle kept per client. Reality: a fresh easy handle per call. Handles
 * are not thread-safe, calls are rare (a window's begin and end, a setter), and a handle
 * costs microseconds next to the request itself.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "device/backend.h"
#include "device/zeusd_client.h"
#include "util/error.h"
#include "util/http_body.h"

#define GROUP_GPU_CONTROL 1u
#define GROUP_GPU_READ 2u
#define GROUP_CPU_READ 4u
#define MAX_BODY (1u << 20)
#define TIMEOUT_S 30L

struct zeus__zeusd_client {
    char where[300];       /* "unix:/path" or "tcp:host:port" */
    char base_url[300];    /* "http://localhost" or "http://host:port" */
    char sock_path[256];   /* "" for TCP */
    char auth_header[2048];/* "" without a token */
    unsigned enabled;      /* GROUP_* the daemon serves */
    unsigned scopes;       /* GROUP_* the token grants (all when auth is off) */
    int auth_required;
    char sub[128];
    unsigned gpu_count;
    char gpu_pci[ZEUS_MAX_GPUS][32]; /* discovery's pci_address of each daemon GPU */
    unsigned cpu_count;
    int cpu_dram[ZEUS_MAX_CPUS];
};

/* ---- HTTP ---------------------------------------------------------------------------------- */

/*
 * Sockets made close-on-exec: a program that forks while a power stream runs would otherwise
 * hand the stream's connections to its child, and the daemon would never see them close
 * (found with a test that starts a second zeusd mid-stream: the first could not shut down).
 */
static curl_socket_t open_cloexec(void *user, curlsocktype purpose, struct curl_sockaddr *a)
{
    (void)user;
    (void)purpose;
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/*
 * One request. *body is malloc'd (NUL-terminated, maybe empty) on ZEUS_OK, and *http the
 * status code. Transport failures are ZEUS_ERR_IO naming the daemon.
 */
static zeus_status request(const struct zeus__zeusd_client *c, const char *method,
                           const char *path_query, long *http, char **body)
{
    char url[2048];
    zeus__http_body b = {NULL, 0, MAX_BODY};
    struct curl_slist *headers = NULL;
    CURL *h;
    CURLcode rc;

    zeus__curl_init();
    h = curl_easy_init();
    if (h == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "zeusd: cannot create a curl handle");
    snprintf(url, sizeof url, "%s%s", c->base_url, path_query);
    curl_easy_setopt(h, CURLOPT_URL, url);
    if (c->sock_path[0] != '\0')
        curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->sock_path);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
    }
    if (c->auth_header[0] != '\0')
        headers = curl_slist_append(headers, c->auth_header);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, zeus__http_body_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROXY, ""); /* never through an http_proxy */
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_cloexec);
    rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, http);
    curl_easy_cleanup(h);
    curl_slist_free_all(headers);
    if (rc != CURLE_OK) {
        free(b.data);
        return zeus__fail(ZEUS_ERR_IO, "cannot reach zeusd at %s: %s (is zeusd running? check "
                          "ZEUSD_SOCK_PATH / ZEUSD_HOST_PORT)", c->where, curl_easy_strerror(rc));
    }
    *body = b.data != NULL ? b.data : strdup("");
    return *body != NULL ? ZEUS_OK : zeus__fail(ZEUS_ERR_NO_MEMORY, "zeusd: out of memory");
}

/* The status Zeus's errors map to, by HTTP code. */
static zeus_status status_of_http(long http)
{
    if (http == 400)
        return ZEUS_ERR_INVALID_ARGUMENT;
    if (http == 401 || http == 403)
        return ZEUS_ERR_NO_PERMISSION;
    if (http == 404)
        return ZEUS_ERR_NOT_SUPPORTED;
    return ZEUS_ERR_UNKNOWN;
}

/* GET and parse a JSON object; non-200 becomes "Failed to <op>: <body>". */
static zeus_status get_json(const struct zeus__zeusd_client *c, const char *op,
                            const char *path_query, cJSON **out)
{
    long http = 0;
    char *body = NULL;
    zeus_status s = request(c, "GET", path_query, &http, &body);

    if (s != ZEUS_OK)
        return s;
    if (http != 200) {
        s = zeus__fail(status_of_http(http), "zeusd at %s: Failed to %s: %s (HTTP %ld)",
                       c->where, op, body, http);
        free(body);
        return s;
    }
    *out = cJSON_Parse(body);
    free(body);
    if (*out == NULL || !cJSON_IsObject(*out)) {
        cJSON_Delete(*out);
        return zeus__fail(ZEUS_ERR_IO, "zeusd at %s: Failed to %s: the reply is not a JSON "
                          "object", c->where, op);
    }
    return ZEUS_OK;
}

/* ---- Connection ---------------------------------------------------------------------------- */

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

int zeus__zeusd_configured(void)
{
    return env("ZEUSD_SOCK_PATH") != NULL || env("ZEUSD_HOST_PORT") != NULL;
}

static unsigned group_bit(const char *name)
{
    if (strcmp(name, "gpu-control") == 0)
        return GROUP_GPU_CONTROL;
    if (strcmp(name, "gpu-read") == 0)
        return GROUP_GPU_READ;
    if (strcmp(name, "cpu-read") == 0)
        return GROUP_CPU_READ;
    return 0;
}

static unsigned group_list(const cJSON *arr)
{
    const cJSON *item;
    unsigned bits = 0;

    cJSON_ArrayForEach(item, arr)
        if (cJSON_IsString(item))
            bits |= group_bit(item->valuestring);
    return bits;
}

static zeus_status read_discovery(struct zeus__zeusd_client *c)
{
    cJSON *d = NULL, *item;
    const cJSON *gpus, *cpus;
    zeus_status s = get_json(c, "discover", "/discover", &d);

    if (s != ZEUS_OK)
        return s;
    gpus = cJSON_GetObjectItemCaseSensitive(d, "gpus");
    cpus = cJSON_GetObjectItemCaseSensitive(d, "cpus");
    if (!cJSON_IsArray(gpus) || !cJSON_IsArray(cpus)) {
        cJSON_Delete(d);
        return zeus__fail(ZEUS_ERR_IO, "zeusd at %s: /discover lacks gpus/cpus (daemon too old?)",
                          c->where);
    }
    cJSON_ArrayForEach(item, gpus) {
        const cJSON *pci = cJSON_GetObjectItemCaseSensitive(item, "pci_address");
        if (cJSON_GetObjectItemCaseSensitive(item, "cumulative_energy_available") == NULL ||
            pci == NULL) {
            cJSON_Delete(d);
            return zeus__fail(ZEUS_ERR_NOT_SUPPORTED, "zeusd at %s is too old: its /discover "
                              "lacks GPU metadata; upgrade zeusd", c->where);
        }
        if (c->gpu_count < ZEUS_MAX_GPUS && cJSON_IsString(pci))
            snprintf(c->gpu_pci[c->gpu_count], sizeof c->gpu_pci[0], "%s", pci->valuestring);
        c->gpu_count++;
    }
    cJSON_ArrayForEach(item, cpus) {
        const cJSON *dram = cJSON_GetObjectItemCaseSensitive(item, "dram_available");
        if (c->cpu_count < ZEUS_MAX_CPUS)
            c->cpu_dram[c->cpu_count++] = cJSON_IsTrue(dram);
    }
    c->enabled = group_list(cJSON_GetObjectItemCaseSensitive(d, "enabled_api_groups"));
    c->auth_required = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "auth_required"));
    cJSON_Delete(d);
    return ZEUS_OK;
}

static zeus_status read_whoami(struct zeus__zeusd_client *c)
{
    cJSON *w = NULL;
    const cJSON *sub;
    zeus_status s;

    if (c->auth_header[0] == '\0')
        return zeus__fail(ZEUS_ERR_NO_PERMISSION, "zeusd at %s requires a token: set "
                          "ZEUSD_TOKEN (zeusd token issue prints one)", c->where);
    s = get_json(c, "authenticate", "/auth/whoami", &w);
    if (s != ZEUS_OK)
        return zeus__fail_prefix(ZEUS_ERR_NO_PERMISSION, "ZEUSD_TOKEN was refused");
    c->scopes = group_list(cJSON_GetObjectItemCaseSensitive(w, "scopes"));
    sub = cJSON_GetObjectItemCaseSensitive(w, "sub");
    snprintf(c->sub, sizeof c->sub, "%s", cJSON_IsString(sub) ? sub->valuestring : "");
    cJSON_Delete(w);
    return ZEUS_OK;
}

zeus_status zeus__zeusd_client_open(struct zeus__zeusd_client **out)
{
    const char *sock = env("ZEUSD_SOCK_PATH"), *hp = env("ZEUSD_HOST_PORT");

    if (sock == NULL && hp == NULL)
        return zeus__fail(ZEUS_ERR_NOT_SUPPORTED, "not used: ZEUSD_SOCK_PATH and "
                          "ZEUSD_HOST_PORT are not set");
    return zeus__zeusd_client_open_at(sock, sock != NULL ? NULL : hp, env("ZEUSD_TOKEN"), out);
}

zeus_status zeus__zeusd_client_open_at(const char *sock, const char *hp, const char *token,
                                       struct zeus__zeusd_client **out)
{
    struct zeus__zeusd_client *c;
    zeus_status s;

    if ((sock == NULL) == (hp == NULL))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "zeusd: name a socket path or a "
                          "host:port, not both or neither");
    if (token != NULL && token[0] == '\0')
        token = NULL;
    c = calloc(1, sizeof *c);
    if (c == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "zeusd client: out of memory");
    if (sock != NULL) {
        if (strlen(sock) >= sizeof c->sock_path) {
            free(c);
            return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "zeusd socket path is too long: %.80s...", sock);
        }
        snprintf(c->sock_path, sizeof c->sock_path, "%s", sock);
        snprintf(c->where, sizeof c->where, "unix:%s", sock);
        snprintf(c->base_url, sizeof c->base_url, "http://localhost");
    } else {
        snprintf(c->where, sizeof c->where, "tcp:%.250s", hp);
        snprintf(c->base_url, sizeof c->base_url, "http://%.250s", hp);
    }
    if (token != NULL)
        snprintf(c->auth_header, sizeof c->auth_header, "Authorization: Bearer %.2000s", token);
    s = read_discovery(c);
    if (s == ZEUS_OK && c->auth_required)
        s = read_whoami(c);
    if (s != ZEUS_OK) {
        free(c);
        return s;
    }
    if (!c->auth_required)
        c->scopes = GROUP_GPU_CONTROL | GROUP_GPU_READ | GROUP_CPU_READ;
    *out = c;
    return ZEUS_OK;
}

void zeus__zeusd_client_close(struct zeus__zeusd_client *c)
{
    free(c);
}

const char *zeus__zeusd_client_where(const struct zeus__zeusd_client *c)
{
    return c->where;
}

/* Zeus's require_capabilities for one group. */
static zeus_status require(const struct zeus__zeusd_client *c, unsigned group, const char *name)
{
    if (!(c->enabled & group))
        return zeus__fail(ZEUS_ERR_NOT_SUPPORTED, "zeusd at %s does not enable the '%s' API "
                          "group (start it with --enable ...,%s)", c->where, name, name);
    if (!(c->scopes & group))
        return zeus__fail(ZEUS_ERR_NO_PERMISSION, "the ZEUSD_TOKEN of user '%s' lacks the '%s' "
                          "scope (issue one with --scope %s)", c->sub, name, name);
    return ZEUS_OK;
}

/*
 * 1 when two PCI addresses name the same function: domain:bus:device.function compared as
 * numbers, so NVML's "00000000:18:00.0" and "0000:18:00.0" agree; otherwise compared as text,
 * ignoring case (Zeus's rule).
 */
static int same_pci(const char *a, const char *b)
{
    unsigned long long da, db;
    unsigned ba, dva, fa, bb, dvb, fb;

    if (sscanf(a, "%llx:%x:%x.%x", &da, &ba, &dva, &fa) == 4 &&
        sscanf(b, "%llx:%x:%x.%x", &db, &bb, &dvb, &fb) == 4)
        return da == db && ba == bb && dva == dvb && fa == fb;
    return strcasecmp(a, b) == 0;
}

/* The daemon's GPUs as "[(0, 0000:18:00.0), ...]" for messages (Zeus's list). */
static void list_gpus(const struct zeus__zeusd_client *c, char *buf, size_t len)
{
    size_t used = (size_t)snprintf(buf, len, "[");

    for (unsigned i = 0; i < c->gpu_count && i < ZEUS_MAX_GPUS && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s(%u, %s)", i ? ", " : "", i,
                                 c->gpu_pci[i]);
    if (used < len)
        snprintf(buf + used, len - used, "]");
}

zeus_status zeus__zeusd_gpu_id(const struct zeus__zeusd_client *c, int by_index,
                               unsigned physical, const char *pci, unsigned *id)
{
    unsigned found = 0, match = 0;
    char daemon[512];
    zeus_status s = require(c, GROUP_GPU_CONTROL, "gpu-control"); /* first, as Zeus checks */

    if (s != ZEUS_OK)
        return s;
    if (by_index && physical < c->gpu_count &&
        (pci == NULL || pci[0] == '\0' || physical >= ZEUS_MAX_GPUS ||
         c->gpu_pci[physical][0] == '\0' || same_pci(pci, c->gpu_pci[physical]))) {
        *id = physical;
        return ZEUS_OK;
    }
    list_gpus(c, daemon, sizeof daemon);
    if (pci == NULL || pci[0] == '\0')
        return zeus__fail(ZEUS_ERR_NOT_FOUND, "GPU %u has no PCI address to find it on zeusd "
                          "at %s by; daemon GPUs: %s", physical, c->where, daemon);
    for (unsigned i = 0; i < c->gpu_count && i < ZEUS_MAX_GPUS; i++)
        if (same_pci(pci, c->gpu_pci[i])) {
            match = i;
            found++;
        }
    if (found != 1)
        return zeus__fail(ZEUS_ERR_NOT_FOUND, "GPU %u has PCI address %s, which %s on zeusd "
                          "at %s. Daemon GPUs: %s", physical, pci,
                          found == 0 ? "is not present" : "matches more than one GPU",
                          c->where, daemon);
    *id = match;
    return ZEUS_OK;
}

zeus_status zeus__zeusd_gpu_control(struct zeus__zeusd_client *c, const char *route,
                                    unsigned gpu, const char *extra)
{
    char pq[512];
    long http = 0;
    char *body = NULL;
    zeus_status s = require(c, GROUP_GPU_CONTROL, "gpu-control");

    if (s != ZEUS_OK)
        return s;
    if (gpu >= c->gpu_count)
        return zeus__fail(ZEUS_ERR_NOT_FOUND, "GPU %u is not on zeusd at %s (it has %u)", gpu,
                          c->where, c->gpu_count);
    snprintf(pq, sizeof pq, "%s?gpu_ids=%u%s%s&block=true", route, gpu, extra ? "&" : "",
             extra ? extra : "");
    s = request(c, "POST", pq, &http, &body);
    if (s != ZEUS_OK)
        return s;
    if (http != 200)
        s = zeus__fail(status_of_http(http), "zeusd at %s: Failed to %s for GPU %u: %s (HTTP "
                       "%ld)", c->where, route + 5, gpu, body, http);
    free(body);
    return s;
}

/* ---- What the power stream client asks (power_stream.c) ----------------------------------- */

unsigned zeus__zeusd_client_gpu_count(const struct zeus__zeusd_client *c)
{
    return c->gpu_count;
}

unsigned zeus__zeusd_client_cpu_count(const struct zeus__zeusd_client *c)
{
    return c->cpu_count;
}

zeus_status zeus__zeusd_client_require(const struct zeus__zeusd_client *c, const char *group)
{
    return require(c, group_bit(group), group);
}

int zeus__zeusd_client_can(const struct zeus__zeusd_client *c, const char *group)
{
    unsigned bit = group_bit(group);
    return bit != 0 && (c->enabled & bit) && (c->scopes & bit);
}

zeus_status zeus__zeusd_client_get_json(const struct zeus__zeusd_client *c, const char *op,
                                        const char *path_query, cJSON **out)
{
    return get_json(c, op, path_query, out);
}

struct stream_ctx {
    CURL *h;
    long http;
    zeus__zeusd_data_fn on_data;
    void *user;
    const volatile int *stop;
    char refusal[512]; /* the body of a non-200 answer, for the message */
    size_t refusal_len;
};

/* The caller's stop flag, written by another thread (atomically, with release). */
static int stopped(const volatile int *stop)
{
    return __atomic_load_n(stop, __ATOMIC_ACQUIRE) != 0;
}

/* Body bytes: to the caller once the answer is 200, else kept (the daemon's reason). */
static size_t stream_write(char *ptr, size_t size, size_t n, void *user)
{
    struct stream_ctx *x = user;
    size_t len = size * n, room = sizeof x->refusal - 1 - x->refusal_len;

    if (x->http == 0)
        curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->http);
    if (x->http == 200)
        return stopped(x->stop) || x->on_data(ptr, len, x->user) != 0 ? 0 : len;
    memcpy(x->refusal + x->refusal_len, ptr, len < room ? len : room);
    x->refusal_len += len < room ? len : room;
    x->refusal[x->refusal_len] = '\0';
    return len;
}

/* libcurl calls this at least once a second even when nothing arrives: the stop check. */
static int stream_progress(void *user, curl_off_t dt, curl_off_t dn, curl_off_t ut,
                           curl_off_t un)
{
    const struct stream_ctx *x = user;
    (void)dt, (void)dn, (void)ut, (void)un;
    return stopped(x->stop);
}

zeus_status zeus__zeusd_client_stream(const struct zeus__zeusd_client *c,
                                      const char *path_query, zeus__zeusd_data_fn on_data,
                                      void *user, const volatile int *stop)
{
    char url[2048];
    struct stream_ctx x = {.on_data = on_data, .user = user, .stop = stop};
    struct curl_slist *headers = NULL;
    CURLcode rc;

    zeus__curl_init();
    x.h = curl_easy_init();
    if (x.h == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "zeusd: cannot create a curl handle");
    snprintf(url, sizeof url, "%s%s", c->base_url, path_query);
    curl_easy_setopt(x.h, CURLOPT_URL, url);
    if (c->sock_path[0] != '\0')
        curl_easy_setopt(x.h, CURLOPT_UNIX_SOCKET_PATH, c->sock_path);
    if (c->auth_header[0] != '\0')
        headers = curl_slist_append(headers, c->auth_header);
    headers = curl_slist_append(headers, "Accept: text/event-stream");
    curl_easy_setopt(x.h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(x.h, CURLOPT_WRITEFUNCTION, stream_write);
    curl_easy_setopt(x.h, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(x.h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(x.h, CURLOPT_XFERINFOFUNCTION, stream_progress);
    curl_easy_setopt(x.h, CURLOPT_XFERINFODATA, &x);
    curl_easy_setopt(x.h, CURLOPT_CONNECTTIMEOUT, 5L);
    /* no total timeout: a stream lasts; zeusd's 15 s keepalive comments reset this one */
    curl_easy_setopt(x.h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(x.h, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(x.h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(x.h, CURLOPT_PROXY, "");
    curl_easy_setopt(x.h, CURLOPT_OPENSOCKETFUNCTION, open_cloexec);
    rc = curl_easy_perform(x.h);
    if (x.http == 0)
        curl_easy_getinfo(x.h, CURLINFO_RESPONSE_CODE, &x.http);
    curl_easy_cleanup(x.h);
    curl_slist_free_all(headers);
    if (stopped(stop))
        return ZEUS_OK;
    if (x.http == 401 || x.http == 403)
        return zeus__fail(ZEUS_ERR_NO_PERMISSION, "zeusd at %s refused the token for %s (HTTP "
                          "%ld): %s", c->where, path_query, x.http, x.refusal);
    if (x.http != 0 && x.http != 200)
        return zeus__fail(status_of_http(x.http), "zeusd at %s: %s answered HTTP %ld: %s",
                          c->where, path_query, x.http, x.refusal);
    if (rc != CURLE_OK)
        return zeus__fail(ZEUS_ERR_IO, "zeusd at %s: stream %s lost: %s", c->where, path_query,
                          curl_easy_strerror(rc));
    return zeus__fail(ZEUS_ERR_IO, "zeusd at %s closed the stream %s", c->where, path_query);
}

/* ---- The "zeusd" CPU backend ---------------------------------------------------------------- */

struct zeusd_backend {
    struct zeus_backend base;
    struct zeus__zeusd_client *client;
};

static struct zeusd_backend *as_zeusd(struct zeus_backend *b)
{
    return b != NULL && b->ops == &zeus__zeusd_backend ? (struct zeusd_backend *)b : NULL;
}

static zeus_status zeusd_open(struct zeus_backend **out)
{
    struct zeus__zeusd_client *c;
    struct zeusd_backend *zb;
    unsigned with_dram = 0;
    zeus_status s = zeus__zeusd_client_open(&c);

    if (s != ZEUS_OK)
        return s;
    s = require(c, GROUP_CPU_READ, "cpu-read");
    if (s != ZEUS_OK) {
        zeus__zeusd_client_close(c);
        return s;
    }
    if (c->cpu_count == 0) {
        s = zeus__fail(ZEUS_ERR_NOT_SUPPORTED, "zeusd at %s has no RAPL packages", c->where);
        zeus__zeusd_client_close(c); /* after the message: it names c->where */
        return s;
    }
    zb = calloc(1, sizeof *zb);
    if (zb == NULL) {
        zeus__zeusd_client_close(c);
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "zeusd backend: out of memory");
    }
    for (unsigned i = 0; i < c->cpu_count; i++)
        with_dram += (unsigned)c->cpu_dram[i];
    zb->base.ops = &zeus__zeusd_backend;
    zb->base.device_count = c->cpu_count;
    zb->client = c;
    snprintf(zb->base.detail, sizeof zb->base.detail,
             "RAPL through zeusd at %.120s: %u package%s, %u with DRAM%s%.32s", c->where,
             c->cpu_count, c->cpu_count == 1 ? "" : "s", with_dram,
             c->auth_required ? ", token of " : "", c->auth_required ? c->sub : "");
    *out = &zb->base;
    return ZEUS_OK;
}

static void zeusd_close(struct zeus_backend *b)
{
    struct zeusd_backend *zb = as_zeusd(b);

    if (zb == NULL)
        return;
    zeus__zeusd_client_close(zb->client);
    free(zb);
}

static zeus_status zeusd_cpu_info(struct zeus_backend *b, unsigned dev, zeus_cpu_info *out)
{
    struct zeusd_backend *zb = as_zeusd(b);

    if (zb == NULL || dev >= zb->client->cpu_count)
        return zeus__fail(ZEUS_ERR_NOT_FOUND, "zeusd CPU %u not found", dev);
    memset(out, 0, sizeof *out);
    out->index = dev;
    snprintf(out->name, sizeof out->name, "package-%u", dev);
    snprintf(out->path, sizeof out->path, "zeusd %.200s, cpu_ids=%u", zb->client->where, dev);
    out->has_dram = zb->client->cpu_dram[dev];
    return ZEUS_OK;
}

static zeus_status zeusd_cpu_energy(struct zeus_backend *b, unsigned dev, zeus_cpu_energy *out)
{
    struct zeusd_backend *zb = as_zeusd(b);
    char pq[128], key[16];
    const cJSON *entry, *cpu, *dram;
    cJSON *reply = NULL;
    zeus_status s;

    if (zb == NULL || dev >= zb->client->cpu_count)
        return zeus__fail(ZEUS_ERR_NOT_FOUND, "zeusd CPU %u not found", dev);
    snprintf(pq, sizeof pq, "/cpu/get_cumulative_energy?cpu_ids=%u&cpu=true&dram=true", dev);
    s = get_json(zb->client, "get CPU energy", pq, &reply);
    if (s != ZEUS_OK)
        return s;
    snprintf(key, sizeof key, "%u", dev);
    entry = cJSON_GetObjectItemCaseSensitive(reply, key);
    cpu = cJSON_GetObjectItemCaseSensitive(entry, "cpu_energy_uj");
    dram = cJSON_GetObjectItemCaseSensitive(entry, "dram_energy_uj");
    if (!cJSON_IsNumber(cpu)) {
        cJSON_Delete(reply);
        return zeus__fail(ZEUS_ERR_IO, "zeusd at %s returned no package energy for CPU %u",
                          zb->client->where, dev);
    }
    if (zb->client->cpu_dram[dev] && !cJSON_IsNumber(dram)) {
        cJSON_Delete(reply);
        return zeus__fail(ZEUS_ERR_IO, "zeusd at %s returned no DRAM energy for CPU %u, which "
                          "it says has DRAM", zb->client->where, dev);
    }
    memset(out, 0, sizeof *out);
    out->cpu_j = cpu->valuedouble / 1e6;
    out->dram_j = zb->client->cpu_dram[dev] ? dram->valuedouble / 1e6 : NAN;
    /* the daemon's answer is already counter + wraps x range; the raw counter stays there */
    out->cpu_counter_j = out->dram_counter_j = NAN;
    out->cpu_counter_range_j = out->dram_counter_range_j = NAN;
    cJSON_Delete(reply);
    return ZEUS_OK;
}

const struct zeus_backend_ops zeus__zeusd_backend = {
    .abi = ZEUS__BACKEND_ABI,
    .name = "zeusd",
    .kind = ZEUS_DEVICE_CPU,
    .open = zeusd_open,
    .close = zeusd_close,
    .cpu_info = zeusd_cpu_info,
    .cpu_energy = zeusd_cpu_energy,
};
