/*
 * pg_cluster.h - A throwaway PostgreSQL server for a test: initdb in a mkdtemp folder, started
 * on a free loopback port with trust authentication and fsync off, one database created, and
 * stopped (pg_ctl stop -m immediate) and removed at zt_pg_stop or, if the test never gets
 * there, at exit, or when the test dies of SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGABRT or
 * SIGSEGV (a server is quit and its folder removed; only SIGKILL leaves one behind).
 *
 * Tests run as root here and initdb refuses root, so the server runs as nobody (65534); the
 * folder sits under /tmp, never under the source tree (which may be in a folder only root can
 * enter).
 *
 *   zt_pg pg;
 *   char why[512];
 *   if (zt_pg_start(&pg, why, sizeof why) != ZT_PG_OK) { print why; skip or fail; }
 *   ... connect to pg.url: postgresql://nobody@127.0.0.1:PORT/zeus_bso_test ...
 *   zt_pg_stop(&pg);
 */
#ifndef ZEUS_TEST_PG_CLUSTER_H
#define ZEUS_TEST_PG_CLUSTER_H

#include <stddef.h>

enum {
    ZT_PG_OK = 0,
    ZT_PG_SKIP = 1,   /* PostgreSQL is not installed: `why` names the Debian package */
    ZT_PG_ERROR = -1, /* installed but would not start: `why` says where it failed */
};

typedef struct zt_pg {
    char dir[256];    /* the temporary folder: data/, server.log, the unix socket */
    char bindir[256]; /* /usr/lib/postgresql/<version>/bin */
    int port;
    char url[512];    /* libpq URI of the test database */
    int running;
    int postmaster_pid;  /* for the signal handler, which cannot run pg_ctl */
    char rm_cmd[300];    /* likewise: the shell command that removes dir */
} zt_pg;

/* Start a cluster and create database zeus_bso_test. Returns ZT_PG_OK, ZT_PG_SKIP or
 * ZT_PG_ERROR with the reason in why. Takes a few seconds; bounded (about 60 s at worst). */
int zt_pg_start(zt_pg *pg, char *why, size_t n);

/* Stop the server and remove the folder. Safe to call twice or after a failed start. */
void zt_pg_stop(zt_pg *pg);

#endif /* ZEUS_TEST_PG_CLUSTER_H */
