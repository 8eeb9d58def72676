/*
 * listen.c - The listening socket: a Unix socket with zeusd's stale-socket rules, or a TCP
 * address. The daemon binds it itself and hands the descriptor to libmicrohttpd
 * (MHD_OPTION_LISTEN_SOCKET), which cannot bind a Unix socket on its own.
 *
 * Unix socket (spec 1.4), before binding:
 *   - the path exists and is not a socket: fatal, the file is left alone;
 *   - it is a socket and connect() succeeds: another daemon serves it, fatal;
 *   - connect() fails with ECONNREFUSED: stale, removed;
 *   - any other connect() error: fatal, asking the operator to inspect the file.
 * Then mkdir -p the parent, bind, chmod to --socket-permissions, and chown when asked.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "zeusd.h"

static int mkdir_p(const char *dir)
{
    char buf[PATH_MAX];
    size_t len = strlen(dir);

    if (len == 0 || len >= sizeof buf)
        return len == 0 ? 0 : -1;
    memcpy(buf, dir, len + 1);
    for (char *p = buf + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* 0: nothing there (or a stale socket removed); -1: must not start (logged). */
static int clear_stale(const char *path, const struct sockaddr_un *addr)
{
    struct stat st;
    int fd, rc, err;

    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : (zd_error("cannot inspect %s: %s", path, strerror(errno)), -1);
    if (!S_ISSOCK(st.st_mode)) {
        zd_error("%s exists and is not a socket; refusing to remove it. Move it away or choose "
                 "another --socket-path.", path);
        return -1;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        zd_error("socket: %s", strerror(errno));
        return -1;
    }
    rc = connect(fd, (const struct sockaddr *)addr, sizeof *addr);
    err = errno;
    close(fd);
    if (rc == 0) {
        zd_error("%s is in use: another zeusd is serving it. Stop it first, or choose another "
                 "--socket-path.", path);
        return -1;
    }
    if (err != ECONNREFUSED) {
        zd_error("cannot tell whether socket %s is stale (connect: %s); inspect it and remove it "
                 "by hand if no daemon uses it.", path, strerror(err));
        return -1;
    }
    zd_info("removing stale socket %s", path);
    if (unlink(path) != 0 && errno != ENOENT) {
        zd_error("cannot remove stale socket %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int open_uds(const struct zd_config *cfg)
{
    struct sockaddr_un addr;
    char parent[PATH_MAX];
    char *slash;
    int fd;

    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    if (strlen(cfg->socket_path) >= sizeof addr.sun_path) {
        zd_error("socket path %s is too long (at most %zu bytes)", cfg->socket_path,
                 sizeof addr.sun_path - 1);
        return -1;
    }
    memcpy(addr.sun_path, cfg->socket_path, strlen(cfg->socket_path) + 1);
    if (clear_stale(cfg->socket_path, &addr) != 0)
        return -1;
    snprintf(parent, sizeof parent, "%s", cfg->socket_path);
    slash = strrchr(parent, '/');
    if (slash != NULL && slash != parent) {
        *slash = '\0';
        if (mkdir_p(parent) != 0) {
            zd_error("cannot create %s: %s", parent, strerror(errno));
            return -1;
        }
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, 128) != 0) {
        zd_error("cannot listen on %s: %s", cfg->socket_path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (chmod(cfg->socket_path, cfg->socket_mode) != 0) {
        zd_error("chmod %o %s: %s", cfg->socket_mode, cfg->socket_path, strerror(errno));
        close(fd);
        return -1;
    }
    if ((cfg->socket_uid >= 0 || cfg->socket_gid >= 0) &&
        chown(cfg->socket_path, cfg->socket_uid >= 0 ? (uid_t)cfg->socket_uid : (uid_t)-1,
              cfg->socket_gid >= 0 ? (gid_t)cfg->socket_gid : (gid_t)-1) != 0) {
        zd_error("chown %s: %s", cfg->socket_path, strerror(errno));
        close(fd);
        return -1;
    }
    zd_info("listening on unix:%s (mode %o)", cfg->socket_path, cfg->socket_mode);
    return fd;
}

/* "host:port" or "[v6]:port". */
static int open_tcp(const struct zd_config *cfg)
{
    char host[256], port[16], shown[300];
    const char *addr = cfg->tcp_bind_address, *colon;
    struct addrinfo hints, *res = NULL;
    struct sockaddr_storage bound;
    socklen_t bound_len = sizeof bound;
    int fd = -1, one = 1, rc;

    if (addr[0] == '[') {
        const char *close_b = strchr(addr, ']');
        if (close_b == NULL || close_b[1] != ':')
            goto bad;
        snprintf(host, sizeof host, "%.*s", (int)(close_b - addr - 1), addr + 1);
        colon = close_b + 1;
    } else {
        colon = strrchr(addr, ':');
        if (colon == NULL)
            goto bad;
        snprintf(host, sizeof host, "%.*s", (int)(colon - addr), addr);
    }
    snprintf(port, sizeof port, "%s", colon + 1);
    if (port[0] == '\0' || strspn(port, "0123456789") != strlen(port) || atol(port) > 65535)
        goto bad;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    rc = getaddrinfo(host[0] != '\0' ? host : NULL, port, &hints, &res);
    if (rc != 0) {
        zd_error("cannot resolve --tcp-bind-address %s: %s", addr, gai_strerror(rc));
        return -1;
    }
    fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 128) != 0) {
        zd_error("cannot listen on %s: %s", addr, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    /* Report the real port: "127.0.0.1:0" asks the kernel for a free one (tests do that). */
    getsockname(fd, (struct sockaddr *)&bound, &bound_len);
    if (bound.ss_family == AF_INET6) {
        char ip[INET6_ADDRSTRLEN];
        const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&bound;
        inet_ntop(AF_INET6, &a6->sin6_addr, ip, sizeof ip);
        snprintf(shown, sizeof shown, "[%s]:%u", ip, ntohs(a6->sin6_port));
    } else {
        char ip[INET_ADDRSTRLEN];
        const struct sockaddr_in *a4 = (const struct sockaddr_in *)&bound;
        inet_ntop(AF_INET, &a4->sin_addr, ip, sizeof ip);
        snprintf(shown, sizeof shown, "%s:%u", ip, ntohs(a4->sin_port));
    }
    zd_info("listening on tcp:%s", shown);
    return fd;
bad:
    zd_error("--tcp-bind-address %s is not HOST:PORT", addr);
    return -1;
}

int zd_listen_open(const struct zd_config *cfg)
{
    return cfg->mode == ZD_MODE_UDS ? open_uds(cfg) : open_tcp(cfg);
}
