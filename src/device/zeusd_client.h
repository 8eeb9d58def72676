/*
 * zeusd_client.h - Talking to a zeusd daemon (Zeus's or Zeus-C's) from inside libzeus, as
 * Zeus's ZeusdClient does: the connection from the environment, discovery and the token's
 * scopes, and the calls the device layer makes through it.
 *
 * Environment (the names and precedence Zeus uses):
 *
 *   What:        ZEUSD_SOCK_PATH
 *   Since:       0.1
 *   Description: Path of zeusd's Unix socket. When set, RAPL reads (the "zeusd" CPU
 *                backend) and GPU setters go through the daemon. Wins over ZEUSD_HOST_PORT.
 *
 *   What:        ZEUSD_HOST_PORT
 *   Since:       0.1
 *   Description: "host:port" of a zeusd served over TCP, used when ZEUSD_SOCK_PATH is unset.
 *
 *   What:        ZEUSD_TOKEN
 *   Since:       0.1
 *   Description: Bearer token sent with every request (zeusd token issue prints one).
 *
 * A client is immutable after open and safe to use from several threads (each call makes
 * its own curl handle).
 */
#ifndef ZEUS_DEVICE_ZEUSD_CLIENT_H
#define ZEUS_DEVICE_ZEUSD_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "device/backend.h"
#include "zeus/status.h"

struct zeus__zeusd_client;

/* 1 when ZEUSD_SOCK_PATH or ZEUSD_HOST_PORT is set (not empty). */
int zeus__zeusd_configured(void);

/*
 * Connect as the environment says: GET /discover, then /auth/whoami when the daemon
 * requires auth. Returns ZEUS_ERR_NOT_SUPPORTED when the environment names no daemon,
 * ZEUS_ERR_IO when it cannot be reached, ZEUS_ERR_NO_PERMISSION for a token problem.
 */
zeus_status zeus__zeusd_client_open(struct zeus__zeusd_client **out);
void zeus__zeusd_client_close(struct zeus__zeusd_client *c);

/* "unix:/run/zeusd/zeusd.sock" or "tcp:host:port"; valid while the client is open. */
const char *zeus__zeusd_client_where(const struct zeus__zeusd_client *c);

/*
 * Call a GPU control route (for example "/gpu/set_power_limit") for GPU `gpu` (the
 * daemon's numbering: see zeus__zeusd_gpu_id) with block=true; `extra` is appended to the query
 * ("power_limit_mw=200000") or NULL. Checks the gpu-control capability first.
 */
zeus_status zeus__zeusd_gpu_control(struct zeus__zeusd_client *c, const char *route,
                                    unsigned gpu, const char *extra);

/*
 * The daemon's id of a local GPU. by_index (NVIDIA): its `physical` index, unless the
 * daemon's GPU there has another PCI address; otherwise (AMD, or that mismatch) the one
 * daemon GPU whose PCI address is `pci` (NULL or "": unknown). ZEUS_ERR_NOT_FOUND, naming
 * the daemon's GPUs, when none or several match.
 */
zeus_status zeus__zeusd_gpu_id(const struct zeus__zeusd_client *c, int by_index,
                               unsigned physical, const char *pci, unsigned *id);

extern const struct zeus_backend_ops zeus__zeusd_backend;

/* ---- Appended for the power stream client (power_stream.c) ------------------------------- */

struct cJSON;

/*
 * Connect to one daemon named by the caller rather than the environment: `sock_path` (Unix
 * socket) or `host_port` ("host:port"), exactly one non-NULL; `token` NULL or "" for none.
 * Discovery and whoami as zeus__zeusd_client_open does.
 */
zeus_status zeus__zeusd_client_open_at(const char *sock_path, const char *host_port,
                                       const char *token, struct zeus__zeusd_client **out);

/* Devices the daemon's /discover listed. */
unsigned zeus__zeusd_client_gpu_count(const struct zeus__zeusd_client *c);
unsigned zeus__zeusd_client_cpu_count(const struct zeus__zeusd_client *c);

/* `group` ("gpu-read", "cpu-read", "gpu-control") is enabled and granted: 1, else 0. */
int zeus__zeusd_client_can(const struct zeus__zeusd_client *c, const char *group);

/* As can(), as a status with the message naming the fix (NOT_SUPPORTED or NO_PERMISSION). */
zeus_status zeus__zeusd_client_require(const struct zeus__zeusd_client *c, const char *group);

/* GET a JSON object; non-200 and transport failures are errors naming the daemon and `op`. */
zeus_status zeus__zeusd_client_get_json(const struct zeus__zeusd_client *c, const char *op,
                                        const char *path_query, struct cJSON **out);

/* Bytes of a 200 stream as they arrive; nonzero aborts the stream. */
typedef int (*zeus__zeusd_data_fn)(const char *data, size_t len, void *user);

/*
 * GET a stream (an SSE route) and hand its bytes to on_data until it ends. Returns when the
 * daemon closes it, the connection breaks, or *stop becomes nonzero (seen within about a
 * second, through libcurl's progress callback). ZEUS_OK only when stopped; otherwise
 * NO_PERMISSION for 401/403 (the message holds the daemon's reason), another status for
 * other HTTP codes, ZEUS_ERR_IO for a lost or closed connection.
 */
zeus_status zeus__zeusd_client_stream(const struct zeus__zeusd_client *c,
                                      const char *path_query, zeus__zeusd_data_fn on_data,
                                      void *user, const volatile int *stop);

#endif /* ZEUS_DEVICE_ZEUSD_CLIENT_H */
