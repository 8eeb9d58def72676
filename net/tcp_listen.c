/*
 * tcp_listen.c - Parse --listen ADDR:PORT, bind and listen; raise the descriptor limit
 * (tcp_listen.h).
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tcp_listen.h"

int zeus_net_split_listen(const char *text, char *host, size_t host_len, char *port,
                          size_t port_len)
{
    const char *colon;
    size_t n;

    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL || close[1] != ':')
            return -1;
        n = (size_t)(close - text - 1);
        colon = close + 1;
        if (n >= host_len)
            return -1;
        memcpy(host, text + 1, n);
        host[n] = '\0';
    } else {
        colon = strrchr(text, ':');
        if (colon == NULL)
            return -1;
        n = (size_t)(colon - text);
        if (n >= host_len || memchr(text, ':', n) != NULL)
            return -1; /* a bare IPv6 address needs brackets */
        memcpy(host, text, n);
        host[n] = '\0';
    }
    if (colon[1] == '\0' || strlen(colon + 1) >= port_len ||
        strspn(colon + 1, "0123456789") != strlen(colon + 1) || atol(colon + 1) > 65535)
        return -1;
    snprintf(port, port_len, "%s", colon + 1);
    return 0;
}

/* The first address of `res` that binds and listens, or -1 with the last errno in *err. */
static int bind_first(struct addrinfo *res, int backlog, int *err)
{
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        int one = 1;
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            *err = errno;
            continue;
        }
        /* Only lets a restarted server take over a port in TIME_WAIT; a port another process
         * listens on still fails with EADDRINUSE on Linux. */
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, backlog) == 0)
            return fd;
        *err = errno;
        close(fd);
    }
    return -1;
}

/* "host:port" of the bound socket, brackets around IPv6; `text` when it cannot be read. */
static void bound_address(int fd, const char *text, char *shown, size_t shown_len)
{
    char h[NI_MAXHOST], p[NI_MAXSERV];
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;

    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
        getnameinfo((struct sockaddr *)&ss, sl, h, sizeof h, p, sizeof p,
                    NI_NUMERICHOST | NI_NUMERICSERV) == 0)
        snprintf(shown, shown_len, strchr(h, ':') ? "[%s]:%s" : "%s:%s", h, p);
    else
        snprintf(shown, shown_len, "%s", text);
}

int zeus_net_listen_tcp(const char *text, int backlog, char *shown, size_t shown_len,
                        char *why, size_t why_len, int *malformed)
{
    struct addrinfo hints = {0}, *res = NULL;
    char host[256], port[16];
    int fd, err = 0, rc;

    *malformed = 0;
    if (zeus_net_split_listen(text, host, sizeof host, port, sizeof port) != 0) {
        *malformed = 1;
        snprintf(why, why_len, "'%s' is not ADDR:PORT", text);
        return -1;
    }
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
    if (rc != 0) {
        snprintf(why, why_len, "cannot resolve '%s': %s", host, gai_strerror(rc));
        return -1;
    }
    fd = bind_first(res, backlog, &err);
    freeaddrinfo(res);
    if (fd < 0) {
        snprintf(why, why_len, "cannot listen on %s: %s%s", text, strerror(err),
                 err == EADDRINUSE ? " (another process serves that port; choose another with "
                                     "--listen)"
                 : err == EACCES   ? " (ports below 1024 need root; choose a higher port)"
                                   : "");
        return -1;
    }
    bound_address(fd, text, shown, shown_len);
    return fd;
}

void zeus_net_raise_fd_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}
