/*
 * store_backend.h - The contract between the storage front (store.c: URL dispatch, argument
 * checks; store_jobs.c: jobs to and from rows; store_sql.c: the SQL text) and a backend
 * (store_sqlite.c, store_pg.c). Not part of store.h: only those files include this.
 *
 * Both databases run the same SQL: "$1".."$n" parameters in order of first use (SQLite reads
 * "$1" as a named parameter whose index is its order of appearance, so the numbers agree),
 * types both understand (DOUBLE PRECISION, BIGINT, BOOLEAN, VARCHAR(n)), and INSERT ... ON
 * CONFLICT DO UPDATE. A backend therefore only connects, runs a numbered statement with typed
 * parameters, hands back rows through a reader, and maps its errors to BUSY or ERROR.
 *
 * A backend's store struct starts with a `bso_store`, so the front reaches the operations
 * table and the error buffer of any backend's handle.
 */
#ifndef BSO_STORE_BACKEND_H
#define BSO_STORE_BACKEND_H

#include <stdarg.h>

#include "store.h"

/* ---- Statements (texts in store_sql.c) --------------------------------------------------- */

typedef enum bso_stmt {
    BSO_SQL_LOAD_JOB,
    BSO_SQL_LOAD_BATCH_SIZES,
    BSO_SQL_LOAD_ARMS,
    BSO_SQL_LOAD_TRIALS,
    BSO_SQL_JOB_EXISTS,
    BSO_SQL_INSERT_JOB,
    BSO_SQL_INSERT_BATCH_SIZE,
    BSO_SQL_UPSERT_TRIAL,
    BSO_SQL_UPSERT_ARM,
    BSO_SQL_UPDATE_STATE,
    BSO_SQL_DELETE_JOB,
    BSO_SQL_COUNT
} bso_stmt;

extern const char *const bso__sql[BSO_SQL_COUNT];
extern const char bso__schema_sql[];       /* CREATE TABLE IF NOT EXISTS ..., both databases */
extern const char bso__schema_version_sql[]; /* SELECT version FROM bso_schema */

/* ---- Parameters and rows ----------------------------------------------------------------- */

typedef enum bso_param_kind { BSO_P_NULL, BSO_P_INT, BSO_P_DOUBLE, BSO_P_BOOL, BSO_P_TEXT }
    bso_param_kind;

typedef struct bso_param {
    bso_param_kind kind;
    long long i; /* INT, BOOL */
    double d;    /* DOUBLE: infinities allowed, never NAN (NAN is bound as NULL) */
    const char *t;
} bso_param;

#define BSO_MAX_PARAMS 24
typedef struct bso_params {
    bso_param p[BSO_MAX_PARAMS];
    int n;
} bso_params;

/* One result row, read by column index. Text stays valid until the callback returns. */
typedef struct bso_row {
    const void *impl;
    bool (*is_null)(const struct bso_row *r, int col);
    long long (*get_int)(const struct bso_row *r, int col);
    double (*get_double)(const struct bso_row *r, int col); /* "Infinity" -> INFINITY */
    bool (*get_bool)(const struct bso_row *r, int col);
    const char *(*get_text)(const struct bso_row *r, int col); /* "" for NULL */
} bso_row;

/* Called once per row; a status other than OK stops the query and is returned by run(). */
typedef bso_store_status (*bso_row_fn)(void *ctx, const bso_row *row);

/* ---- Backend operations ------------------------------------------------------------------ */

typedef struct bso_store_ops {
    void (*close)(bso_store *s);
    bso_store_status (*begin)(bso_store *s);
    bso_store_status (*commit)(bso_store *s);
    void (*rollback)(bso_store *s);
    bso_store_status (*lock_prefix)(bso_store *s, const char *prefix);
    /* Run statement `stmt` with `params`; rows to `fn` (may be NULL); *changes (may be NULL)
     * gets the rows an INSERT/UPDATE/DELETE touched. */
    bso_store_status (*run)(bso_store *s, bso_stmt stmt, const bso_params *params, bso_row_fn fn,
                            void *ctx, long long *changes);
} bso_store_ops;

struct bso_store {
    const bso_store_ops *ops;
    char err[1024];
};

/* Backends' openers, called by store.c with the URL already parsed: SQLite gets a file path
 * (or ":memory:") and a busy timeout; PostgreSQL gets a libpq URI. */
bso_store *bso__sqlite_open(const char *path, int busy_timeout_ms, char *err, size_t n);
bso_store *bso__pg_open(const char *conninfo, char *err, size_t n);

/* ---- Shared helpers ---------------------------------------------------------------------- */

/* Record a failure on `s` (printf-style) and return `status`, for `return bso__store_fail(...)`. */
bso_store_status bso__store_fail(bso_store *s, bso_store_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* store_jobs.c: the job operations of store.h over a backend's run(). */
bso_store_status bso__load_job(bso_store *s, const char *job_id, bso_job *job);
bso_store_status bso__job_exists(bso_store *s, const char *job_id, bool *exists);
bso_store_status bso__insert_job(bso_store *s, const bso_job *job);
bso_store_status bso__save_job(bso_store *s, const bso_job *job);
bso_store_status bso__delete_job(bso_store *s, const char *job_id);

/* Check a job before writing it: ids and model within their column sizes, enum values known,
 * NAN only where the column is nullable. Returns OK or ERROR with the message on `s`. */
bso_store_status bso__check_job(bso_store *s, const bso_job *job);
bso_store_status bso__check_job_id(bso_store *s, const char *job_id);

/* Check a database's schema version (from bso__schema_version_sql): OK for 1..current,
 * ERROR with a message naming both versions for a newer or a nonsense one. */
bso_store_status bso__check_version(char *err, size_t n, long long version);

/* The message for a database that has tables named like ours but no bso_schema row (written
 * by another program, e.g. Zeus's Python server on SQLite, whose "Job" and "Trial" are our
 * job and trial there since SQLite's names ignore case). `where` names the database. */
void bso__foreign_tables_error(char *err, size_t n, const char *where);

/* 64-bit FNV-1a of "zeus-bso-prefix:" + prefix: the advisory lock key of a prefix. */
long long bso__prefix_lock_key(const char *prefix);

#endif /* BSO_STORE_BACKEND_H */
