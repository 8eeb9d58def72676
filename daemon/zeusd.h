/*
 * zeusd.h - What the daemon's files share: the configuration, the server state, the
 * request and response records the routes see, and each module's entry points.
 *
 * Only http.c knows libmicrohttpd; every other file sees a request as a zd_request (method,
 * path, decoded query pairs, Authorization header) and answers with a zd_response. The daemon
 * reaches devices only through libzeus's public API (zeus/zeus.h), as curl's tool uses
 * libcurl.
 */
#ifndef ZEUSD_ZEUSD_H
#define ZEUSD_ZEUSD_H

#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "zeus/zeus.h"

/* ---- API groups (spec 1.3) ---------------------------------------------------------------- */

enum zd_group {
    ZD_GROUP_NONE = 0,
    ZD_GROUP_GPU_CONTROL = 1,
    ZD_GROUP_GPU_READ = 2,
    ZD_GROUP_CPU_READ = 4,
};

/* "gpu-control", ...; NULL for ZD_GROUP_NONE. */
const char *zd_group_name(unsigned group);
/* The group named `name` (exact, kebab-case), or ZD_GROUP_NONE. */
unsigned zd_group_parse(const char *name, size_t len);
/* The group whose routes `path` belongs to (auth.rs's required_scope); NONE for others. */
unsigned zd_group_of_path(const char *path);

/* ---- Configuration (config.c) ------------------------------------------------------------- */

enum zd_mode { ZD_MODE_UDS = 0, ZD_MODE_TCP = 1 };

/* --gpu-backend: which of libzeus's GPU backends zeusd serves (gpus.c). */
enum zd_gpu_backend { ZD_GPU_BACKEND_AUTO = 0, ZD_GPU_BACKEND_NVML = 1, ZD_GPU_BACKEND_AMDSMI = 2 };

struct zd_config {
    enum zd_mode mode;
    char socket_path[PATH_MAX];
    unsigned socket_mode;       /* from the octal --socket-permissions */
    long long socket_uid;       /* -1: leave the owner alone */
    long long socket_gid;
    char tcp_bind_address[256];
    unsigned num_workers;       /* 0: number of logical CPUs */
    unsigned gpu_poll_hz;
    unsigned cpu_poll_hz;
    unsigned groups[3];         /* enabled groups in command-line order */
    unsigned group_count;
    unsigned group_mask;
    char signing_key_path[PATH_MAX]; /* "" when auth is off */
    unsigned request_deadline_ms;    /* --request-deadline-ms */
    unsigned max_per_client;         /* --max-connections-per-client */
    enum zd_gpu_backend gpu_backend; /* --gpu-backend */
};

/* Parse `zeusd serve` arguments (argv[0] is "serve"). 0: ok; 1: --help printed; -1: error
 * printed to stderr. */
int zd_config_parse(int argc, char **argv, struct zd_config *cfg);

/* ---- Hostile clients (guard.c) ----------------------------------------------------------- */

struct zd_guard_limits {
    unsigned deadline_ms;     /* a whole request within this of opening or the last answer */
    unsigned max_per_client;  /* connections one uid or IP address may hold (root: no cap) */
    unsigned max_connections; /* all connections, root's reserve included */
    unsigned reserve;         /* slots only root on the Unix socket may take */
};

struct zd_guard;
struct zd_guard_conn;

int zd_guard_create(const struct zd_guard_limits *lim, struct zd_guard **out);
/* Stop the sweeper and free. Call after the server stopped (no connection left). */
void zd_guard_destroy(struct zd_guard *g);
/* A connection on `fd` opened: its entry, or NULL when refused (the socket is shut down). */
struct zd_guard_conn *zd_guard_open(struct zd_guard *g, int fd);
/* Its request is complete and being answered (1: no deadline), or it waits for the next (0). */
void zd_guard_answering(struct zd_guard *g, struct zd_guard_conn *c, int answering);
/* It closed; frees `c`. NULL is a no-op. */
void zd_guard_close(struct zd_guard *g, struct zd_guard_conn *c);

/* ---- Logging (log.c) ---------------------------------------------------------------------- */

void zd_log(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define zd_info(...) zd_log("INFO", __VA_ARGS__)
#define zd_warn(...) zd_log("WARN", __VA_ARGS__)
#define zd_error(...) zd_log("ERROR", __VA_ARGS__)

/* ---- Requests and responses --------------------------------------------------------------- */

struct zd_pair {
    const char *key;
    const char *value; /* NULL for a key without '=' */
};

struct zd_claims {
    char sub[256];
    unsigned scopes[3];
    unsigned scope_count;
    unsigned scope_mask;
    int has_exp;
    long long exp;
};

struct zd_request {
    const char *method;
    const char *path;
    const struct zd_pair *args;
    size_t arg_count;
    const char *authorization; /* NULL when absent */
    struct zd_claims claims;   /* filled by the auth step when auth is on */
    int authenticated;
};

struct zd_stream;

struct zd_response {
    int status;
    char *body;                /* malloc'd, may be NULL for an empty body */
    size_t body_len;
    const char *content_type;  /* static; NULL for none */
    int www_authenticate;      /* add WWW-Authenticate: Bearer realm="zeusd" */
    struct zd_stream *stream;  /* non-NULL: an SSE response reading from this stream */
};

/* Fill `resp` with a JSON body (takes ownership of the malloc'd `json`). */
void zd_respond_json(struct zd_response *resp, int status, char *json);
/* {"error": msg} */
void zd_respond_error(struct zd_response *resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A text/plain body (framework-style errors). */
void zd_respond_text(struct zd_response *resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* 200 with an empty body. */
void zd_respond_empty(struct zd_response *resp, int status);

/* ---- Server state ------------------------------------------------------------------------- */

struct zd_queue;
struct zd_hub;

struct zd_gpu_meta {
    char name[96];
    char pci_address[32];
    int energy_available;
    unsigned dev;        /* libzeus's index of this GPU (zeusd ids skip unserved backends) */
    const char *backend; /* "nvml" or "amdsmi" (libzeus's static name) */
    int amd;             /* Zeus's amdsmi backend rules apply (routes_gpu.c) */
    uint32_t supports;   /* ZEUS_GPU_* of zeus_gpu_info: module scope, MIG */
};

struct zd_server {
    const struct zd_config *cfg;
    zeus_devices *devs;
    unsigned gpu_count;
    unsigned cpu_count;
    struct zd_gpu_meta gpus[ZEUS_MAX_GPUS];
    int cpu_has_dram[ZEUS_MAX_CPUS];
    unsigned char *key;        /* signing key, NULL when auth is off */
    size_t key_len;
    struct zd_queue *gpu_queue[ZEUS_MAX_GPUS];
    struct zd_queue *cpu_queue[ZEUS_MAX_CPUS];
    struct zd_hub *gpu_hub;    /* NULL unless gpu-read is enabled */
    struct zd_hub *cpu_hub;    /* NULL unless cpu-read is enabled */
    char *discover_json;       /* built once at startup */
};

/* ---- GPUs served (gpus.c) ------------------------------------------------------------------ */

/*
 * Pick the GPUs of the backends --gpu-backend names from srv->devs and fill srv->gpu_count
 * and srv->gpus[] (ids, libzeus indices, discovery metadata). 0, or -1 (logged) when an
 * explicitly named backend did not open.
 */
int zd_gpus_select(struct zd_server *srv);
/* Zeus's daemon looks for AMD SMI in $AMDSMI_LIB_DIR first (its Docker image sets it): point
 * libzeus's ZEUS_AMDSMI_LIBRARY there unless it is set. Before zeus_devices_create(). */
void zd_gpus_library_env(void);
/* GPU `id`'s power now, in W: NVML's instant power; AMD's current socket power, else the
 * average (Zeus's amdsmi backend). */
zeus_status zd_gpu_power_w(struct zd_server *srv, unsigned id, double *power_w);

/* ---- Routing (router.c) ------------------------------------------------------------------- */

typedef void (*zd_handler)(struct zd_server *srv, struct zd_request *req,
                           struct zd_response *resp);

struct zd_route {
    const char *method;
    const char *path;
    zd_handler handler;
    unsigned group; /* ZD_GROUP_NONE for the always-on routes */
};

/* Run the middleware (groups, auth) and the route for `req`. Always fills `resp`. */
void zd_router_handle(struct zd_server *srv, struct zd_request *req, struct zd_response *resp);
/* The route for method+path, or NULL (also used by the fuzzer). */
const struct zd_route *zd_router_find(const char *method, const char *path);

/* Route handlers (routes_misc.c, routes_gpu.c, routes_cpu.c). */
void zd_route_discover(struct zd_server *, struct zd_request *, struct zd_response *);
void zd_route_time(struct zd_server *, struct zd_request *, struct zd_response *);
void zd_route_whoami(struct zd_server *, struct zd_request *, struct zd_response *);
void zd_route_gpu_set_power_limit(struct zd_server *, struct zd_request *, struct zd_response *);
void zd_route_gpu_set_persistence_mode(struct zd_server *, struct zd_request *,
                                       struct zd_response *);
void zd_route_gpu_set_gpu_locked_clocks(struct zd_server *, struct zd_request *,
                                        struct zd_response *);
void zd_route_gpu_reset_gpu_locked_clocks(struct zd_server *, struct zd_request *,
                                          struct zd_response *);
void zd_route_gpu_set_mem_locked_clocks(struct zd_server *, struct zd_request *,
                                        struct zd_response *);
void zd_route_gpu_reset_mem_locked_clocks(struct zd_server *, struct zd_request *,
                                          struct zd_response *);
void zd_route_gpu_reset_locked_clocks(struct zd_server *, struct zd_request *,
                                      struct zd_response *);
void zd_route_gpu_get_cumulative_energy(struct zd_server *, struct zd_request *,
                                        struct zd_response *);
void zd_route_gpu_get_power(struct zd_server *, struct zd_request *, struct zd_response *);
void zd_route_gpu_get_power_limit(struct zd_server *, struct zd_request *, struct zd_response *);
void zd_route_gpu_get_power_limit_constraints(struct zd_server *, struct zd_request *,
                                              struct zd_response *);
void zd_route_gpu_get_persistence_mode(struct zd_server *, struct zd_request *,
                                       struct zd_response *);
void zd_route_gpu_stream_power(struct zd_server *, struct zd_request *, struct zd_response *);
void zd_route_cpu_get_cumulative_energy(struct zd_server *, struct zd_request *,
                                        struct zd_response *);
void zd_route_cpu_get_power(struct zd_server *, struct zd_request *, struct zd_response *);
void zd_route_cpu_stream_power(struct zd_server *, struct zd_request *, struct zd_response *);

/* ---- Strict query parsing (query.c) ------------------------------------------------------- */

enum zd_field_type { ZD_FIELD_STRING, ZD_FIELD_U32, ZD_FIELD_BOOL };

struct zd_field {
    const char *name;
    enum zd_field_type type;
    int required;
};

#define ZD_MAX_FIELDS 6

struct zd_query {
    int present[ZD_MAX_FIELDS];
    const char *str[ZD_MAX_FIELDS];
    uint32_t u32[ZD_MAX_FIELDS];
    int flag[ZD_MAX_FIELDS];
};

/*
 * Parse `args` against `fields` (n of them) as serde's deny_unknown_fields would: unknown,
 * duplicate, missing and unparsable fields are errors. Returns 0, or -1 with the plain-text
 * message (actix's "Query deserialize error: ...") in err.
 */
int zd_query_parse(const struct zd_field *fields, size_t n, const struct zd_pair *args,
                   size_t arg_count, struct zd_query *out, char *err, size_t err_len);

/* A sorted, de-duplicated list of device ids. */
struct zd_ids {
    uint64_t *ids;
    size_t count;
};

/*
 * Parse a comma-separated id list (`field` "gpu_ids", `what` "GPU"). Returns 0, or -1 with
 * the JSON error message (not yet wrapped) in err. Free with zd_ids_free().
 */
int zd_ids_parse(const char *text, const char *field, const char *what, struct zd_ids *out,
                 char *err, size_t err_len);
void zd_ids_free(struct zd_ids *ids);

/* Shared by the read routes (routes_gpu.c): parse the query (id list first in `fields`) and
 * resolve the ids, all devices when absent. 0, or -1 with resp filled. */
int zd_read_ids(const struct zd_request *req, const struct zd_field *fields, size_t n,
                const char *field, const char *what, unsigned count, struct zd_query *q,
                struct zd_ids *ids, struct zd_response *resp);
/* Shared by the stream routes: parse, check the ids against `count`, open the SSE stream. */
void zd_stream_route(struct zd_hub *hub, unsigned count, const char *field, const char *what,
                     struct zd_request *req, struct zd_response *resp);

/* ---- Authentication (auth.c) -------------------------------------------------------------- */

/* Make an HS256 JWT; returns a malloc'd string or NULL. exp < 0: no exp claim. */
char *zd_jwt_issue(const unsigned char *key, size_t key_len, const char *sub,
                   const unsigned *scopes, unsigned scope_count, long long exp);

enum zd_jwt_result { ZD_JWT_OK = 0, ZD_JWT_EXPIRED = 1, ZD_JWT_INVALID = 2 };

/* Check `token` at Unix time `now`; on ZD_JWT_INVALID, err holds jsonwebtoken's reason. */
enum zd_jwt_result zd_jwt_verify(const unsigned char *key, size_t key_len, const char *token,
                                 long long now, struct zd_claims *out, char *err,
                                 size_t err_len);

/* The key file's exact bytes (malloc'd), NULL with errno set on failure (token.c). */
unsigned char *zd_read_signing_key(const char *path, size_t *len);

/* `zeusd token issue ...` */
int zd_token_main(int argc, char **argv);

/* ---- Per-device FIFO queues (device_queue.c) ---------------------------------------------- */

struct zd_batch {
    pthread_mutex_t lock;
    pthread_cond_t done;
    unsigned pending;
};

struct zd_job {
    struct zd_job *next;
    void (*run)(struct zd_server *srv, struct zd_job *job); /* on the device's thread */
    struct zd_server *srv;
    struct zd_batch *batch; /* NULL: fire and forget; the queue frees the job after run */
    unsigned dev;
    /* inputs */
    uint32_t a, b;
    /* outputs */
    int http_status;        /* 0: success */
    char message[320];
    double v[2];
    int64_t end_ns;         /* CLOCK_MONOTONIC when the read finished */
    int has_dram;
};

int zd_queue_create(const char *name, struct zd_queue **out);
/* Run every queued job, then stop and join the thread. NULL is a no-op. */
void zd_queue_destroy(struct zd_queue *q);
/* Append a job. Returns 0, or -1 when the queue is stopping. */
int zd_queue_push(struct zd_queue *q, struct zd_job *job);

void zd_batch_init(struct zd_batch *b, unsigned pending);
void zd_batch_wait(struct zd_batch *b);
void zd_batch_fini(struct zd_batch *b);

/* Push one job per id to its queue and wait for all; returns the jobs (free()) or NULL. */
struct zd_job *zd_fanout_wait(struct zd_server *srv, struct zd_queue **queues,
                              const struct zd_ids *ids,
                              void (*run)(struct zd_server *, struct zd_job *), uint32_t a,
                              uint32_t b);
/* Push one job per id and return at once; -1 when a push failed (the daemon is stopping). */
int zd_fanout_nowait(struct zd_server *srv, struct zd_queue **queues, const struct zd_ids *ids,
                     void (*run)(struct zd_server *, struct zd_job *), uint32_t a, uint32_t b);
/* If any job failed: {"errors":{"<id>":"<msg>"}} with the largest status, and return 1. */
int zd_jobs_errors(const struct zd_job *jobs, size_t n, struct zd_response *resp);
/* Record a libzeus failure (status and zeus_last_error()) in the job. */
void zd_job_fail(struct zd_job *job, zeus_status s);

/* Map a libzeus status to the HTTP status the spec gives it (400, 403, 500). */
int zd_http_status_of(zeus_status s);

/* ---- Power streaming (sse.c) -------------------------------------------------------------- */

enum zd_hub_kind { ZD_HUB_GPU, ZD_HUB_CPU };

int zd_hub_create(struct zd_server *srv, enum zd_hub_kind kind, unsigned device_count,
                  unsigned poll_hz, struct zd_hub **out);
/* Wake every stream reader with end-of-stream (before the HTTP server stops). */
void zd_hub_shutdown(struct zd_hub *hub);
/* Join the pollers and free. NULL is a no-op. */
void zd_hub_destroy(struct zd_hub *hub);
/* Number of reads the device's poller has made (for logs and tests). */
uint64_t zd_hub_poll_count(struct zd_hub *hub, unsigned dev);

/* Subscribe to `ids` (all of them valid) and return the stream a response reads from. */
struct zd_stream *zd_stream_open(struct zd_hub *hub, const struct zd_ids *ids);
/*
 * Fill buf with up to max bytes of SSE text, blocking until an event (or a keepalive
 * comment) is ready. Returns the byte count, 0 at end of stream.
 */
size_t zd_stream_read(struct zd_stream *st, char *buf, size_t max);
void zd_stream_close(struct zd_stream *st);

/* ---- Listening sockets (listen.c) and the HTTP server (http.c) ---------------------------- */

/* Bind the UDS or TCP socket the configuration names; returns the fd or -1 (logged). */
int zd_listen_open(const struct zd_config *cfg);

struct zd_http;
int zd_http_start(struct zd_server *srv, int listen_fd, struct zd_http **out);
void zd_http_stop(struct zd_http *h);

/* ---- Time helpers ------------------------------------------------------------------------- */

int64_t zd_unix_ms(void);
int64_t zd_mono_ns(void);

#endif /* ZEUSD_ZEUSD_H */
