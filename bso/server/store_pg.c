/*
 * store_pg.c - The PostgreSQL backend (libpq): one connection per bso_store, the statements
 * prepared once per session, parameters sent as text (never spliced into SQL).
 *
 * Locking: READ COMMITTED transactions. Loading a job takes SELECT ... FOR UPDATE on its row,
 * so a second request for the same job waits at its load until the first commits, and then
 * (each statement taking a fresh snapshot) reads the committed trials and arms. Registration
 * takes pg_advisory_xact_lock on a hash of the job-id prefix, so two servers generating ids
 * for one prefix do not pick the same one. Lock waits are bounded by lock_timeout (5 s unless
 * the URL's options set one); a timeout, a deadlock or a serialization failure is
 * BSO_STORE_BUSY and the server retries the whole transaction.
 *
 * Durability is the server's: with PostgreSQL's default synchronous_commit=on, COMMIT returns
 * after the WAL is flushed, so a commit that returned survives a crash of either process.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "store_backend.h"

#define LOCK_PREFIX_STMT "bso_lock_prefix"
#define LOCK_PREFIX_SQL "SELECT pg_advisory_xact_lock($1::bigint)"
/* Serializes schema creation between servers opening one new database together. */
#define SCHEMA_LOCK_KEY "7370296420542717237"
#define DEFAULT_LOCK_TIMEOUT "5s"

typedef struct pg_store {
    bso_store base;
    PGconn *conn;
} pg_store;

static pg_store *impl(bso_store *s)
{
    return (pg_store *)s;
}

/* ---- Errors ----------------------------------------------------------------------------- */

/* libpq's messages end in a newline (and may have more lines); keep them on one line. */
static void one_line(char *msg)
{
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\t')
            *p = ' ';
    size_t n = strlen(msg);
    while (n > 0 && msg[n - 1] == ' ')
        msg[--n] = '\0';
}

/* Lock timeouts (55P03), deadlocks (40P01), serialization failures (40001) and statement
 * timeouts (57014) go away when the transaction is retried; the rest are errors. */
static bso_store_status status_of(const PGresult *res)
{
    const char *code = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (code && (strcmp(code, "55P03") == 0 || strcmp(code, "40P01") == 0 ||
                 strcmp(code, "40001") == 0 || strcmp(code, "57014") == 0))
        return BSO_STORE_BUSY;
    return BSO_STORE_ERROR;
}

static bso_store_status fail_res(pg_store *q, PGresult *res, const char *doing)
{
    bso_store_status st = status_of(res);
    const char *msg = res ? PQresultErrorMessage(res) : "";
    if (!*msg)
        msg = PQerrorMessage(q->conn);
    bso__store_fail(&q->base, st, "PostgreSQL %s: %s", doing, msg);
    one_line(q->base.err);
    PQclear(res);
    return st;
}

/* ---- Rows ------------------------------------------------------------------------------- */

typedef struct pg_row {
    const PGresult *res;
    int row;
} pg_row;

static const char *value(const bso_row *r, int col)
{
    const pg_row *p = r->impl;
    return PQgetvalue(p->res, p->row, col);
}

static bool row_is_null(const bso_row *r, int col)
{
    const pg_row *p = r->impl;
    return PQgetisnull(p->res, p->row, col);
}

static long long row_int(const bso_row *r, int col)
{
    return strtoll(value(r, col), NULL, 10);
}

/* PostgreSQL writes infinities as "Infinity"/"-Infinity", which strtod reads. */
static double row_double(const bso_row *r, int col)
{
    return strtod(value(r, col), NULL);
}

static bool row_bool(const bso_row *r, int col)
{
    return value(r, col)[0] == 't';
}

static const char *row_text(const bso_row *r, int col)
{
    return value(r, col);
}

/* ---- Statements ------------------------------------------------------------------------- */

/* Text form of one parameter into buf; NULL for SQL NULL. Doubles keep all 17 digits. */
static const char *param_text(const bso_param *p, char *buf, size_t n)
{
    switch (p->kind) {
    case BSO_P_INT:
        snprintf(buf, n, "%lld", p->i);
        return buf;
    case BSO_P_BOOL:
        return p->i ? "true" : "false";
    case BSO_P_DOUBLE:
        if (isinf(p->d))
            return p->d > 0 ? "Infinity" : "-Infinity";
        snprintf(buf, n, "%.17g", p->d);
        return buf;
    case BSO_P_TEXT:
        return p->t;
    case BSO_P_NULL:
        break;
    }
    return NULL;
}

static void stmt_name(bso_stmt which, char *buf, size_t n)
{
    snprintf(buf, n, "bso_%d", (int)which);
}

static bso_store_status pg_run(bso_store *s, bso_stmt which, const bso_params *ps,
                               bso_row_fn fn, void *ctx, long long *changes)
{
    pg_store *q = impl(s);
    char bufs[BSO_MAX_PARAMS][40], name[32];
    const char *values[BSO_MAX_PARAMS];
    for (int i = 0; i < ps->n; i++)
        values[i] = param_text(&ps->p[i], bufs[i], sizeof bufs[i]);
    stmt_name(which, name, sizeof name);
    PGresult *res = PQexecPrepared(q->conn, name, ps->n, values, NULL, NULL, 0);
    ExecStatusType est = PQresultStatus(res);
    if (est != PGRES_TUPLES_OK && est != PGRES_COMMAND_OK)
        return fail_res(q, res, "query failed");
    bso_store_status st = BSO_STORE_OK;
    pg_row pr = {res, 0};
    bso_row row = {&pr, row_is_null, row_int, row_double, row_bool, row_text};
    for (pr.row = 0; fn && st == BSO_STORE_OK && pr.row < PQntuples(res); pr.row++)
        st = fn(ctx, &row);
    if (changes)
        *changes = strtoll(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return st;
}

static bso_store_status exec_cmd(pg_store *q, const char *sql, const char *doing)
{
    PGresult *res = PQexec(q->conn, sql);
    ExecStatusType est = PQresultStatus(res);
    if (est != PGRES_COMMAND_OK && est != PGRES_TUPLES_OK)
        return fail_res(q, res, doing);
    PQclear(res);
    return BSO_STORE_OK;
}

/* ---- Sessions --------------------------------------------------------------------------- */

/* CREATE TABLE IF NOT EXISTS says NOTICE for every table that exists; not for stderr. */
static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* Per session: the lock timeout (unless the URL's options chose one) and the statements. */
static bso_store_status setup_session(pg_store *q)
{
    PGresult *res = PQexec(q->conn, "SHOW lock_timeout");
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return fail_res(q, res, "SHOW lock_timeout");
    bool unset = strcmp(PQgetvalue(res, 0, 0), "0") == 0;
    PQclear(res);
    if (unset && exec_cmd(q, "SET lock_timeout = '" DEFAULT_LOCK_TIMEOUT "'",
                          "setting lock_timeout") != BSO_STORE_OK)
        return BSO_STORE_ERROR;
    char name[32], sql[2048];
    for (int i = 0; i <= BSO_SQL_COUNT; i++) {
        if (i == BSO_SQL_COUNT) {
            snprintf(name, sizeof name, LOCK_PREFIX_STMT);
            snprintf(sql, sizeof sql, LOCK_PREFIX_SQL);
        } else {
            stmt_name((bso_stmt)i, name, sizeof name);
            snprintf(sql, sizeof sql, "%s%s", bso__sql[i],
                     i == BSO_SQL_LOAD_JOB ? " FOR UPDATE" : "");
        }
        res = PQprepare(q->conn, name, sql, 0, NULL);
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            return fail_res(q, res, "preparing a statement");
        PQclear(res);
    }
    return BSO_STORE_OK;
}

/* A connection that dropped (server restart, network) is re-made at begin. */
static bso_store_status ensure_connected(pg_store *q)
{
    if (PQstatus(q->conn) == CONNECTION_OK)
        return BSO_STORE_OK;
    PQreset(q->conn);
    if (PQstatus(q->conn) != CONNECTION_OK) {
        bso__store_fail(&q->base, BSO_STORE_ERROR, "lost the connection to PostgreSQL and could "
                        "not reconnect: %s", PQerrorMessage(q->conn));
        one_line(q->base.err);
        return BSO_STORE_ERROR;
    }
    return setup_session(q);
}

/* ---- Transactions ----------------------------------------------------------------------- */

/* libpq learns that the server closed the connection (a restart, an idle-session kill) only
 * when a command fails; at BEGIN nothing has happened yet, so reconnect and try once more. */
static bso_store_status pg_begin(bso_store *s)
{
    pg_store *q = impl(s);
    bso_store_status st = ensure_connected(q);
    if (st == BSO_STORE_OK)
        st = exec_cmd(q, "BEGIN", "begin");
    if (st != BSO_STORE_OK && PQstatus(q->conn) != CONNECTION_OK) {
        st = ensure_connected(q);
        if (st == BSO_STORE_OK)
            st = exec_cmd(q, "BEGIN", "begin");
    }
    return st;
}

/* After a failed statement PostgreSQL's COMMIT quietly rolls back; say so instead. */
static bso_store_status pg_commit(bso_store *s)
{
    pg_store *q = impl(s);
    if (PQtransactionStatus(q->conn) == PQTRANS_INERROR) {
        exec_cmd(q, "ROLLBACK", "rollback");
        return bso__store_fail(s, BSO_STORE_ERROR, "PostgreSQL commit: the transaction had failed "
                               "and was rolled back");
    }
    return exec_cmd(q, "COMMIT", "commit");
}

static void pg_rollback(bso_store *s)
{
    pg_store *q = impl(s);
    PGTransactionStatusType t = PQtransactionStatus(q->conn);
    if (t == PQTRANS_INTRANS || t == PQTRANS_INERROR)
        PQclear(PQexec(q->conn, "ROLLBACK"));
}

static bso_store_status pg_lock_prefix(bso_store *s, const char *prefix)
{
    pg_store *q = impl(s);
    char key[32];
    snprintf(key, sizeof key, "%lld", bso__prefix_lock_key(prefix));
    const char *values[1] = {key};
    PGresult *res = PQexecPrepared(q->conn, LOCK_PREFIX_STMT, 1, values, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return fail_res(q, res, "locking the job id prefix");
    PQclear(res);
    return BSO_STORE_OK;
}

static void pg_close(bso_store *s)
{
    PQfinish(impl(s)->conn);
    free(s);
}

static const bso_store_ops pg_ops = {
    .close = pg_close,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .lock_prefix = pg_lock_prefix,
    .run = pg_run,
};

/* ---- Opening ---------------------------------------------------------------------------- */

/* Tables of ours without a version row: someone else's database. */
static bool foreign_tables(pg_store *q)
{
    PGresult *res = PQexec(q->conn,
                           "SELECT to_regclass('bso_schema') IS NULL AND ("
                           "to_regclass('job') IS NOT NULL OR to_regclass('trial') IS NOT NULL "
                           "OR to_regclass('batch_size') IS NOT NULL OR "
                           "to_regclass('gaussian_ts_arm_state') IS NOT NULL)");
    bool foreign = PQresultStatus(res) == PGRES_TUPLES_OK && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return foreign;
}

/* Tables and version row under an advisory lock, so servers opening one new database at
 * once neither race on CREATE TABLE nor insert two versions. */
static bso_store_status create_schema(pg_store *q)
{
    bso_store_status st = exec_cmd(q, "BEGIN", "begin");
    if (st == BSO_STORE_OK)
        st = exec_cmd(q, "SELECT pg_advisory_xact_lock(" SCHEMA_LOCK_KEY ")",
                      "locking the schema");
    if (st == BSO_STORE_OK && foreign_tables(q)) {
        bso__foreign_tables_error(q->base.err, sizeof q->base.err, "the PostgreSQL database");
        st = BSO_STORE_ERROR;
    }
    if (st == BSO_STORE_OK)
        st = exec_cmd(q, bso__schema_sql, "creating the schema");
    PGresult *res = NULL;
    if (st == BSO_STORE_OK) {
        res = PQexec(q->conn, bso__schema_version_sql);
        if (PQresultStatus(res) != PGRES_TUPLES_OK)
            st = fail_res(q, res, "reading the schema version");
    }
    if (st == BSO_STORE_OK) {
        long long version = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        st = bso__check_version(q->base.err, sizeof q->base.err, version);
    }
    if (st == BSO_STORE_OK)
        return exec_cmd(q, "COMMIT", "commit of the schema");
    pg_rollback(&q->base);
    return st;
}

bso_store *bso__pg_open(const char *uri, char *err, size_t n)
{
    pg_store *q = calloc(1, sizeof *q);
    if (!q) {
        if (err && n)
            snprintf(err, n, "out of memory");
        return NULL;
    }
    q->base.ops = &pg_ops;
    /* Defaults first, so the URL's own connect_timeout or application_name win. */
    const char *keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *vals[] = {"10", "zeus-bso-server", uri, NULL};
    q->conn = PQconnectdbParams(keys, vals, 1);
    if (!q->conn || PQstatus(q->conn) != CONNECTION_OK) {
        if (err && n) {
            snprintf(err, n, "cannot connect to PostgreSQL: %s",
                     q->conn ? PQerrorMessage(q->conn) : "out of memory");
            one_line(err);
        }
        pg_close(&q->base);
        return NULL;
    }
    PQsetNoticeProcessor(q->conn, quiet, NULL);
    if (create_schema(q) != BSO_STORE_OK || setup_session(q) != BSO_STORE_OK) {
        if (err && n)
            snprintf(err, n, "%s", q->base.err);
        pg_close(&q->base);
        return NULL;
    }
    return &q->base;
}
