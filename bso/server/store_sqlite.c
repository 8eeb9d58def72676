/*
 * store_sqlite.c - The SQLite backend: one sqlite3 connection per bso_store.
 *
 * Locking: WAL mode (readers never block the writer) and BEGIN IMMEDIATE, which takes the
 * database's single write lock at begin, so two requests (threads or processes) for one job
 * run one after the other and a load sees every earlier commit. A writer that waits longer
 * than the busy timeout gets BSO_STORE_BUSY and the server retries the whole transaction.
 * Foreign keys are ON (SQLite's default is off), so deleting a job cascades.
 *
 * Durability: synchronous=FULL. In WAL mode NORMAL already survives a crash of the process
 * (the WAL is in the OS's page cache once write() returns), but not a crash of the machine or
 * a power cut: the last commits could vanish, and a client that was told "trial 7" could then
 * be told "trial 7" again. FULL fsyncs the WAL at every commit; BSO commits are one per
 * training request (seconds to minutes apart per job), so the fsync's cost does not matter:
 * test_bso_store's whole request transaction (begin, load a job of 44 trials, save a trial,
 * commit) took 0.25-3.6 ms mean with FULL against 0.16-0.26 ms with NORMAL on this project's
 * build machine (ext4 on a virtual disk, runs 3 each).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "store_backend.h"

typedef struct sqlite_store {
    bso_store base;
    sqlite3 *db;
    sqlite3_stmt *stmts[BSO_SQL_COUNT];
    char path[4096];
} sqlite_store;

static sqlite_store *impl(bso_store *s)
{
    return (sqlite_store *)s;
}

/* ---- Errors ----------------------------------------------------------------------------- */

/* SQLITE_BUSY (another connection holds the write lock past the timeout) and SQLITE_LOCKED
 * are worth retrying; everything else is an error with SQLite's own message. */
static bso_store_status fail_db(sqlite_store *q, int rc, const char *doing)
{
    int prim = rc & 0xff;
    bso_store_status st = (prim == SQLITE_BUSY || prim == SQLITE_LOCKED) ? BSO_STORE_BUSY
                                                                         : BSO_STORE_ERROR;
    return bso__store_fail(&q->base, st, "SQLite %s %s: %s", q->path, doing, sqlite3_errmsg(q->db));
}

/* ---- Rows ------------------------------------------------------------------------------- */

static sqlite3_stmt *row_stmt(const bso_row *r)
{
    return (sqlite3_stmt *)r->impl;
}

static bool row_is_null(const bso_row *r, int col)
{
    return sqlite3_column_type(row_stmt(r), col) == SQLITE_NULL;
}

static long long row_int(const bso_row *r, int col)
{
    return sqlite3_column_int64(row_stmt(r), col);
}

static double row_double(const bso_row *r, int col)
{
    return sqlite3_column_double(row_stmt(r), col);
}

static bool row_bool(const bso_row *r, int col)
{
    return sqlite3_column_int64(row_stmt(r), col) != 0;
}

static const char *row_text(const bso_row *r, int col)
{
    const unsigned char *t = sqlite3_column_text(row_stmt(r), col);
    return t ? (const char *)t : "";
}

/* ---- Statements ------------------------------------------------------------------------- */

static int bind_one(sqlite3_stmt *st, int idx, const bso_param *p)
{
    switch (p->kind) {
    case BSO_P_INT:
    case BSO_P_BOOL:
        return sqlite3_bind_int64(st, idx, p->i);
    case BSO_P_DOUBLE:
        return sqlite3_bind_double(st, idx, p->d);
    case BSO_P_TEXT:
        return sqlite3_bind_text(st, idx, p->t, -1, SQLITE_TRANSIENT);
    case BSO_P_NULL:
        break;
    }
    return sqlite3_bind_null(st, idx);
}

static bso_store_status sq_run(bso_store *s, bso_stmt which, const bso_params *ps,
                               bso_row_fn fn, void *ctx, long long *changes)
{
    sqlite_store *q = impl(s);
    sqlite3_stmt *st = q->stmts[which];
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    for (int i = 0; i < ps->n; i++)
        if (bind_one(st, i + 1, &ps->p[i]) != SQLITE_OK)
            return fail_db(q, sqlite3_errcode(q->db), "binding a parameter");
    bso_row row = {st, row_is_null, row_int, row_double, row_bool, row_text};
    bso_store_status result = BSO_STORE_OK;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (fn && result == BSO_STORE_OK)
            result = fn(ctx, &row);
    if (rc != SQLITE_DONE) {
        result = fail_db(q, rc, "query failed");
    } else if (changes) {
        *changes = sqlite3_changes64(q->db);
    }
    sqlite3_reset(st);
    return result;
}

/* ---- Transactions ----------------------------------------------------------------------- */

static bso_store_status exec_sql(sqlite_store *q, const char *sql, const char *doing)
{
    int rc = sqlite3_exec(q->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? BSO_STORE_OK : fail_db(q, rc, doing);
}

static bso_store_status sq_begin(bso_store *s)
{
    return exec_sql(impl(s), "BEGIN IMMEDIATE", "begin (write lock)");
}

static bso_store_status sq_commit(bso_store *s)
{
    return exec_sql(impl(s), "COMMIT", "commit");
}

static void sq_rollback(bso_store *s)
{
    sqlite_store *q = impl(s);
    if (!sqlite3_get_autocommit(q->db))
        sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
}

/* BEGIN IMMEDIATE already holds the only write lock there is. */
static bso_store_status sq_lock_prefix(bso_store *s, const char *prefix)
{
    (void)s;
    (void)prefix;
    return BSO_STORE_OK;
}

static void sq_close(bso_store *s)
{
    sqlite_store *q = impl(s);
    for (int i = 0; i < BSO_SQL_COUNT; i++)
        sqlite3_finalize(q->stmts[i]);
    sqlite3_close(q->db);
    free(q);
}

static const bso_store_ops sqlite_ops = {
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .lock_prefix = sq_lock_prefix,
    .run = sq_run,
};

/* ---- Opening ---------------------------------------------------------------------------- */

/* SQLite says "unable to open database file" for a missing folder; say which. */
static void explain_open_failure(const char *path, char *err, size_t n, const char *msg)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    struct stat sb;
    if (slash && slash != dir) {
        *slash = '\0';
        if (stat(dir, &sb) != 0) {
            snprintf(err, n, "cannot open SQLite database %s: folder %s: %s", path, dir,
                     strerror(errno));
            return;
        }
    }
    snprintf(err, n, "cannot open SQLite database %s: %s", path, msg);
}

static const char *pragma_text(sqlite3 *db, const char *sql, char *buf, size_t n)
{
    sqlite3_stmt *st = NULL;
    buf[0] = '\0';
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(buf, n, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return buf;
}

/* The first statements touch the file: a file that is not a database fails here. */
static bso_store_status configure(sqlite_store *q, int busy_timeout_ms, char *err, size_t n)
{
    sqlite3_busy_timeout(q->db, busy_timeout_ms);
    sqlite3_extended_result_codes(q->db, 1);
    if (sqlite3_db_readonly(q->db, "main") == 1) {
        snprintf(err, n, "SQLite database %s is read-only: the BSO server must write its "
                 "jobs there (check the file's permissions)", q->path);
        return BSO_STORE_ERROR;
    }
    char mode[32];
    int rc = sqlite3_exec(q->db, "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL",
                          NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        pragma_text(q->db, "PRAGMA journal_mode = WAL", mode, sizeof mode);
    if (rc != SQLITE_OK || (strcmp(mode, "wal") != 0 && strcmp(mode, "memory") != 0)) {
        snprintf(err, n, "cannot open SQLite database %s: %s", q->path,
                 rc != SQLITE_OK ? sqlite3_errmsg(q->db) : "could not switch to WAL mode");
        return BSO_STORE_ERROR;
    }
    return BSO_STORE_OK;
}

/* SQLITE_OK with *version (0 for an empty bso_schema), or SQLite's error code. */
static int query_version(sqlite_store *q, long long *version)
{
    sqlite3_stmt *st = NULL;
    *version = 0;
    int rc = sqlite3_prepare_v2(q->db, bso__schema_version_sql, -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        *version = sqlite3_column_int64(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

static bso_store_status read_version(sqlite_store *q, char *err, size_t n)
{
    long long version;
    if (query_version(q, &version) != SQLITE_OK) {
        snprintf(err, n, "cannot read the schema version of %s: %s", q->path,
                 sqlite3_errmsg(q->db));
        return BSO_STORE_ERROR;
    }
    return bso__check_version(err, n, version);
}

/* Tables of ours (any case: SQLite's names ignore it) without a version row? */
static bool foreign_tables(sqlite_store *q)
{
    long long count = 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(q->db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                           "AND lower(name) IN ('job', 'batch_size', 'gaussian_ts_arm_state', "
                           "'trial')", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        count = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return count > 0;
}

/* Under the write lock: the version of a database another server has just set up, or a
 * refusal for someone else's tables, or our tables and version row. */
static bso_store_status create_locked(sqlite_store *q, char *err, size_t n)
{
    long long version;
    if (query_version(q, &version) == SQLITE_OK)
        return bso__check_version(err, n, version);
    if (foreign_tables(q)) {
        bso__foreign_tables_error(err, n, q->path);
        return BSO_STORE_ERROR;
    }
    if (sqlite3_exec(q->db, bso__schema_sql, NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, n, "cannot create the schema in %s: %s", q->path, sqlite3_errmsg(q->db));
        return BSO_STORE_ERROR;
    }
    return read_version(q, err, n);
}

/* A database with the tables is only read here: opening a connection must not wait for the
 * write lock another connection holds through its request. A new one gets tables and version
 * row in one write transaction, so two servers opening it at once do not both insert a
 * version. */
static bso_store_status create_schema(sqlite_store *q, char *err, size_t n)
{
    long long version;
    if (query_version(q, &version) == SQLITE_OK)
        return bso__check_version(err, n, version);
    if (sqlite3_exec(q->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, n, "cannot create the schema in %s: %s", q->path, sqlite3_errmsg(q->db));
        return BSO_STORE_ERROR;
    }
    if (create_locked(q, err, n) != BSO_STORE_OK) {
        sq_rollback(&q->base);
        return BSO_STORE_ERROR;
    }
    if (sqlite3_exec(q->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, n, "cannot commit the schema in %s: %s", q->path, sqlite3_errmsg(q->db));
        sq_rollback(&q->base);
        return BSO_STORE_ERROR;
    }
    return BSO_STORE_OK;
}

static bso_store_status prepare_all(sqlite_store *q, char *err, size_t n)
{
    for (int i = 0; i < BSO_SQL_COUNT; i++) {
        if (sqlite3_prepare_v3(q->db, bso__sql[i], -1, SQLITE_PREPARE_PERSISTENT, &q->stmts[i],
                               NULL) != SQLITE_OK) {
            snprintf(err, n, "cannot prepare statement %d on %s: %s", i, q->path,
                     sqlite3_errmsg(q->db));
            return BSO_STORE_ERROR;
        }
    }
    return BSO_STORE_OK;
}

bso_store *bso__sqlite_open(const char *path, int busy_timeout_ms, char *err, size_t n)
{
    char scratch[8];
    if (!err || !n) {
        err = scratch;
        n = sizeof scratch;
    }
    sqlite_store *q = calloc(1, sizeof *q);
    if (!q) {
        snprintf(err, n, "out of memory");
        return NULL;
    }
    q->base.ops = &sqlite_ops;
    snprintf(q->path, sizeof q->path, "%s", path);
    int rc = sqlite3_open_v2(path, &q->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        explain_open_failure(path, err, n, q->db ? sqlite3_errmsg(q->db) : "out of memory");
        sq_close(&q->base);
        return NULL;
    }
    if (configure(q, busy_timeout_ms, err, n) != BSO_STORE_OK ||
        create_schema(q, err, n) != BSO_STORE_OK || prepare_all(q, err, n) != BSO_STORE_OK) {
        sq_close(&q->base);
        return NULL;
    }
    return &q->base;
}
