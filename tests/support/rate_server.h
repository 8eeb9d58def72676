/*
 * rate_server.h - A small HTTP server on loopback, in the test's process (libmicrohttpd), that
 * stands in for ElectricityMaps and OpenEI: it answers each path with a body the test set
 * (recorded answers or hand-made ones), can be told to answer with an error status, to hang
 * past the client's timeout, and records every request's raw URI and headers so a test can
 * assert exactly what the library sent.
 */
#ifndef ZEUS_TEST_RATE_SERVER_H
#define ZEUS_TEST_RATE_SERVER_H

#include <stddef.h>

typedef struct zt_rate_server zt_rate_server;

/* Start on 127.0.0.1 at a free port. Fails the test when it cannot. */
zt_rate_server *zt_rate_server_start(void);

/* Stop, free. NULL is ignored. */
void zt_rate_server_stop(zt_rate_server *s);

/* "http://127.0.0.1:PORT" (owned by the server). */
const char *zt_rate_server_url(const zt_rate_server *s);

/* Answer GET `path` (no query) with `status` and `body` (copied). Unknown paths get 404. */
void zt_rate_server_set(zt_rate_server *s, const char *path, int status, const char *body);

/* As zt_rate_server_set with the contents of `file`. Fails the test when unreadable. */
void zt_rate_server_set_file(zt_rate_server *s, const char *path, const char *file);

/* The next `n` requests (any path) get `status` with a short body instead of their answer. */
void zt_rate_server_fail_next(zt_rate_server *s, int status, int n);

/* Every request waits `ms` milliseconds before it is answered (0: none). */
void zt_rate_server_hang_ms(zt_rate_server *s, int ms);

/* How many requests arrived so far. */
int zt_rate_server_count(zt_rate_server *s);

/* Request i's raw URI (path and query as sent), copied into buf; "" when there is none. */
const char *zt_rate_server_uri(zt_rate_server *s, int i, char *buf, size_t len);

/* Request i's header `name` (case-insensitive) copied into buf; NULL when it had none. */
const char *zt_rate_server_header(zt_rate_server *s, int i, const char *name, char *buf,
                                  size_t len);

#endif /* ZEUS_TEST_RATE_SERVER_H */
