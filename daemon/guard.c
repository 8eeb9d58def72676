/*
 * guard.c - What keeps hostile clients from holding zeusd: a deadline for each request and a
 * cap on the connections of each client, with a reserve of slots for root.
 *
 * Each connection has a thread (http.c says why), so a client that trickles a header byte
 * every few seconds would hold one for as long as it liked: libmicrohttpd's idle timeout
 * restarts on every byte, and its connection cap is shared by everyone. So:
 *
 *   - A request must arrive whole (headers and body) within the deadline
 *     (--request-deadline-ms) of its connection opening, or of the previous answer on a
 *     kept-alive connection. A sweeper thread shuts down the socket of a late one, which
 *     ends its thread. Time spent answering (a route waiting on a device, an SSE stream) is
 *     never cut.
 *   - A client (a uid on the Unix socket, read with SO_PEERCRED; an IP address on TCP) may
 *     hold at most --max-connections-per-client connections; root on the Unix socket is not
 *     capped.
 *   - Everyone but root keeps RESERVE slots free below the total cap, so a local root client
 *     (an operator, a health check) always gets through.
 *
 * A refused connection is shut down before a byte is read: the client sees the connection
 * closed. The file knows sockets only; http.c tells it when connections open, when their
 * request is complete, and when they close.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "zeusd.h"

#define SWEEP_NS INT64_C(100000000) /* 100 ms: how late a deadline may be enforced */

struct zd_guard_conn {
    struct zd_guard_conn *prev, *next;
    int fd;
    int is_root;
    char client[64];   /* "uid 1000" or "127.0.0.1" */
    int64_t since_ns;  /* start of the current request; 0 while it is being answered */
    int cut;           /* the sweeper shut it down */
};

struct zd_guard {
    struct zd_guard_limits lim;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t sweeper;
    int stopping;
    struct zd_guard_conn *head; /* guarded by lock */
    unsigned count;
    unsigned long refused, cut;
};

/* ---- Who is on the other end -------------------------------------------------------------- */

static void identify(int fd, struct zd_guard_conn *c)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;

    if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0 && ss.ss_family == AF_UNIX) {
        struct ucred cred;
        socklen_t clen = sizeof cred;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0) {
            c->is_root = cred.uid == 0;
            snprintf(c->client, sizeof c->client, "uid %u", (unsigned)cred.uid);
            return;
        }
    }
    len = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0 && ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, c->client, sizeof c->client);
    else if (ss.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, c->client,
                  sizeof c->client);
    else
        snprintf(c->client, sizeof c->client, "unknown peer");
}

/* Connections `client` holds now. Lock held. */
static unsigned held_by(const struct zd_guard *g, const char *client)
{
    unsigned n = 0;

    for (const struct zd_guard_conn *c = g->head; c != NULL; c = c->next)
        n += strcmp(c->client, client) == 0;
    return n;
}

/* ---- Opening and closing ------------------------------------------------------------------ */

struct zd_guard_conn *zd_guard_open(struct zd_guard *g, int fd)
{
    struct zd_guard_conn *c = calloc(1, sizeof *c);
    const char *why = NULL;

    if (c == NULL) {
        shutdown(fd, SHUT_RDWR);
        return NULL;
    }
    c->fd = fd;
    identify(fd, c);
    pthread_mutex_lock(&g->lock);
    if (!c->is_root && g->count + 1 + g->lim.reserve > g->lim.max_connections)
        why = "all slots but root's reserve are taken";
    else if (!c->is_root && held_by(g, c->client) >= g->lim.max_per_client)
        why = "it holds the most connections one client may";
    if (why == NULL) {
        c->since_ns = zd_mono_ns();
        c->next = g->head;
        if (g->head != NULL)
            g->head->prev = c;
        g->head = c;
        g->count++;
    } else {
        g->refused++;
    }
    pthread_mutex_unlock(&g->lock);
    if (why == NULL)
        return c;
    zd_warn("refused a connection from %s: %s", c->client, why);
    shutdown(fd, SHUT_RDWR);
    free(c);
    return NULL;
}

void zd_guard_answering(struct zd_guard *g, struct zd_guard_conn *c, int answering)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&g->lock);
    c->since_ns = answering ? 0 : zd_mono_ns();
    pthread_mutex_unlock(&g->lock);
}

void zd_guard_close(struct zd_guard *g, struct zd_guard_conn *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&g->lock);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        g->head = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    g->count--;
    pthread_mutex_unlock(&g->lock);
    free(c);
}

/* ---- The sweeper ------------------------------------------------------------------------- */

/*
 * Shut down connections whose request is late. The socket stays open (its owner closes it
 * after zd_guard_close, which waits for this lock), so the descriptor cannot be reused under
 * us; shutdown wakes the connection's thread, which then ends the connection.
 */
static void sweep(struct zd_guard *g, int64_t now_ns)
{
    int64_t deadline_ns = (int64_t)g->lim.deadline_ms * 1000000;

    for (struct zd_guard_conn *c = g->head; c != NULL; c = c->next)
        if (!c->cut && c->since_ns != 0 && now_ns - c->since_ns > deadline_ns) {
            c->cut = 1;
            g->cut++;
            shutdown(c->fd, SHUT_RDWR);
            zd_warn("closed a connection from %s: no whole request within %u ms", c->client,
                    g->lim.deadline_ms);
        }
}

static void *sweeper(void *arg)
{
    struct zd_guard *g = arg;

    pthread_mutex_lock(&g->lock);
    while (!g->stopping) {
        struct timespec until;
        int64_t at = zd_mono_ns() + SWEEP_NS;

        until.tv_sec = (time_t)(at / 1000000000);
        until.tv_nsec = (long)(at % 1000000000);
        pthread_cond_timedwait(&g->wake, &g->lock, &until);
        if (!g->stopping)
            sweep(g, zd_mono_ns());
    }
    pthread_mutex_unlock(&g->lock);
    return NULL;
}

/* ---- Life cycle ---------------------------------------------------------------------------- */

int zd_guard_create(const struct zd_guard_limits *lim, struct zd_guard **out)
{
    struct zd_guard *g = calloc(1, sizeof *g);
    pthread_condattr_t attr;

    if (g == NULL)
        return -1;
    g->lim = *lim;
    pthread_mutex_init(&g->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* zd_mono_ns's clock */
    pthread_cond_init(&g->wake, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&g->sweeper, NULL, sweeper, g) != 0) {
        pthread_cond_destroy(&g->wake);
        pthread_mutex_destroy(&g->lock);
        free(g);
        return -1;
    }
    *out = g;
    return 0;
}

void zd_guard_destroy(struct zd_guard *g)
{
    if (g == NULL)
        return;
    pthread_mutex_lock(&g->lock);
    g->stopping = 1;
    pthread_cond_signal(&g->wake);
    pthread_mutex_unlock(&g->lock);
    pthread_join(g->sweeper, NULL);
    while (g->head != NULL) { /* only if the server was not stopped first */
        struct zd_guard_conn *c = g->head;
        g->head = c->next;
        free(c);
    }
    pthread_cond_destroy(&g->wake);
    pthread_mutex_destroy(&g->lock);
    free(g);
}
