/*
 * tcp_listen.h - The TCP listening socket of the `zeus` command's servers (`zeus exporter`,
 * `zeus bso-server`), opened from their --listen ADDR:PORT argument: "host:port", "[v6]:port"
 * or ":port" (any address). One copy, so that the servers parse and bind alike.
 */
#ifndef ZEUS_NET_TCP_LISTEN_H
#define ZEUS_NET_TCP_LISTEN_H

#include <stddef.h>

/*
 * Split `text` into host ("" for any) and port. Returns 0, or -1 when it is malformed (no
 * port, a port that is not a number up to 65535, a bare IPv6 address without brackets, a part
 * too long for its buffer).
 */
int zeus_net_split_listen(const char *text, char *host, size_t host_len, char *port,
                          size_t port_len);

/*
 * Resolve `text`, bind (SO_REUSEADDR, for a restarted server's port in TIME_WAIT only) and
 * listen with `backlog`. Returns the socket (close-on-exec), or -1 with *malformed set to 1
 * when `text` itself is malformed (the caller prints its usage), else 0 and the reason in
 * `why` ("cannot listen on :80: Permission denied (ports below 1024 need root; ...)").
 * `shown` gets the address actually bound ("127.0.0.1:34567" for port 0).
 */
int zeus_net_listen_tcp(const char *text, int backlog, char *shown, size_t shown_len,
                        char *why, size_t why_len, int *malformed);

/* Raise the descriptor limit to its hard maximum: the default 1024 would cap a server's
 * connections below what it is told it may accept. */
void zeus_net_raise_fd_limit(void);

#endif /* ZEUS_NET_TCP_LISTEN_H */
