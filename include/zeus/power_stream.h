/*
 * zeus/power_stream.h - Live power from one or many zeusd daemons: Zeus's
 * PowerStreamingClient in C.
 *
 * Each endpoint is a zeusd reached over a Unix socket or TCP, with its own token. Opening one
 * does discovery, checks the indices asked for, and estimates the daemon's clock offset; then
 * one thread per endpoint and device type reads zeusd's Server-Sent Events
 * (/gpu/stream_power, /cpu/stream_power), reconnecting after a delay when the connection
 * breaks. A snapshot per endpoint merges the latest value of every device.
 *
 *     zeus_power_stream_endpoint a, b;
 *     zeus_power_stream_endpoint_init(&a);
 *     a.sock_path = "/run/zeusd/zeusd.sock";
 *     zeus_power_stream_endpoint_init(&b);
 *     b.host_port = "node2:4938";
 *     b.token = "eyJ...";
 *     const zeus_power_stream_endpoint *eps[] = {&a, &b};
 *     zeus_power_stream *s;
 *     zeus_power_stream_open(eps, 2, NULL, &s);
 *     uint64_t seq = 0;
 *     while (zeus_power_stream_next(s, 1.0, &seq) == ZEUS_OK) {
 *         zeus_power_readings r;
 *         zeus_power_readings_init(&r);
 *         zeus_power_stream_get(s, 0, &r);     // r.gpu_w[i] is GPU r.gpu_index[i], in W
 *     }
 *     zeus_power_stream_destroy(s);
 *
 * Units: W; timestamps are Unix seconds on this machine's clock (the daemon's timestamp plus
 * the estimated offset). Thread safety: every call may be made from any thread, except that
 * destroy must be the last call.
 */
#ifndef ZEUS_POWER_STREAM_H
#define ZEUS_POWER_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "zeus/device.h"
#include "zeus/export.h"
#include "zeus/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zeus_power_stream zeus_power_stream;

/* One daemon. Strings and arrays are copied by open. Grows append-only. */
typedef struct zeus_power_stream_endpoint {
    uint32_t size; /* sizeof(zeus_power_stream_endpoint), set by the init function */

    /* Exactly one: the daemon's Unix socket path, or "host:port" of a zeusd over TCP. */
    const char *sock_path;
    const char *host_port;

    /* Bearer token. NULL: ZEUSD_TOKEN from the environment, if set. "": none. */
    const char *token;

    /*
     * GPUs to stream, as the daemon numbers them. NULL: all it has, skipped quietly when it has
     * none or the token lacks gpu-read. Non-NULL with count 0: none. A list: each index must
     * exist on the daemon and the token must grant gpu-read, or open fails.
     */
    const unsigned *gpu_indices;
    size_t gpu_index_count;

    /* CPU packages (RAPL), as with GPUs; the scope is cpu-read. */
    const unsigned *cpu_indices;
    size_t cpu_index_count;
} zeus_power_stream_endpoint;

/* Grows append-only. */
typedef struct zeus_power_stream_options {
    uint32_t size; /* sizeof(zeus_power_stream_options), set by the init function */

    /* Seconds between a broken connection and the next try. Default 1.0. */
    double reconnect_delay_s;
} zeus_power_stream_options;

/* The latest values of one endpoint. Grows append-only. */
typedef struct zeus_power_readings {
    uint32_t size; /* sizeof(zeus_power_readings), set by zeus_power_readings_init() */

    /* Zeus's endpoint name: the socket path, or host:port. */
    char endpoint[256];

    /*
     * Unix seconds (this machine's clock) of the newest device value; NAN before the first.
     * Only devices that reported are listed: gpu_count is 0 until a GPU value arrived.
     */
    double timestamp_s;
    unsigned gpu_count;
    unsigned gpu_index[ZEUS_MAX_GPUS];
    double gpu_w[ZEUS_MAX_GPUS];
    unsigned cpu_count;
    unsigned cpu_index[ZEUS_MAX_CPUS];
    double cpu_w[ZEUS_MAX_CPUS];
    double dram_w[ZEUS_MAX_CPUS]; /* NAN where the package has no DRAM counter */

    /* Daemon clock to local clock, seconds (median of 5 round trips to /time). */
    double clock_offset_s;

    /* Streams (GPU, CPU) still running, counting those reconnecting. 0 after an end or stop. */
    int gpu_streaming;
    int cpu_streaming;

    /*
     * ZEUS_OK, or the status that ended a stream for good: ZEUS_ERR_NO_PERMISSION when the
     * daemon answered 401/403 (the token was refused); the others stream on.
     */
    zeus_status status;
    /* The latest failure (an ended stream, or a lost connection being retried); "" if none. */
    char error[512];
    /* Times a stream of this endpoint reconnected after a failure. */
    unsigned reconnects;
} zeus_power_readings;

ZEUS_API void zeus_power_stream_endpoint_init(zeus_power_stream_endpoint *e);
ZEUS_API void zeus_power_stream_options_init(zeus_power_stream_options *o);
ZEUS_API void zeus_power_readings_init(zeus_power_readings *r);

/*
 * Connect to `count` endpoints (an array of pointers, so each struct may be of its own
 * version); `options` NULL for the defaults. Fails, starting nothing, when an endpoint is
 * named twice (INVALID_ARGUMENT), cannot be reached (IO), refuses its token (NO_PERMISSION),
 * lacks a listed index (NOT_FOUND) or the scope for a listed one (NO_PERMISSION or
 * NOT_SUPPORTED). zeus_last_error() names the endpoint.
 */
ZEUS_API zeus_status zeus_power_stream_open(const zeus_power_stream_endpoint *const *endpoints,
                                            size_t count, const zeus_power_stream_options *options,
                                            zeus_power_stream **out);

/* Number of endpoints, in the order given to open. */
ZEUS_API size_t zeus_power_stream_endpoint_count(const zeus_power_stream *s);

/* Copy endpoint `i`'s latest values into `out` (size set by zeus_power_readings_init). */
ZEUS_API zeus_status zeus_power_stream_get(zeus_power_stream *s, size_t i,
                                           zeus_power_readings *out);

/*
 * Wait up to timeout_s for an update newer than *seq (start with 0), then set *seq to the
 * newest. ZEUS_OK on an update, ZEUS_ERR_TIMEOUT, or ZEUS_ERR_NO_DATA once stopped or once
 * every stream has ended (nothing more will come).
 */
ZEUS_API zeus_status zeus_power_stream_next(zeus_power_stream *s, double timeout_s,
                                            uint64_t *seq);

/* End every stream and join the threads (a few seconds at most); readings stay readable. */
ZEUS_API void zeus_power_stream_stop(zeus_power_stream *s);

/* Stop and free. NULL is ignored. */
ZEUS_API void zeus_power_stream_destroy(zeus_power_stream *s);

#ifdef __cplusplus
}
#endif

#endif /* ZEUS_POWER_STREAM_H */
