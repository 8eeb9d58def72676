/*
 * store.c - The storage front door: picks the backend from the database URL (SQLAlchemy's
 * spelling, as Zeus's server takes it), checks arguments so a backend never sees a NULL, an
 * over-long id or a NAN in a column that is not nullable, and holds the small helpers both
 * backends share (errors, the schema version check, the prefix lock key).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_backend.h"

#define DEFAULT_BUSY_TIMEOUT_MS 5000

/* ---- Errors ----------------------------------------------------------------------------- */

bso_store_status bso__store_fail(bso_store *s, bso_store_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof s->err, fmt, ap);
    va_end(ap);
    return status;
}

const char *bso_store_error(const bso_store *s)
{
    if (!s)
        return "no store (NULL)";
    return s->err;
}

static void set_err(char *err, size_t n, const char *fmt, const char *arg)
{
    if (err && n)
        snprintf(err, n, fmt, arg);
}

/* ---- URLs ------------------------------------------------------------------------------- */

/* SQLAlchemy writes "dialect+driver://"; the driver (aiosqlite, asyncpg, psycopg2, ...) is
 * Python's business, so "sqlite+aiosqlite:///x.db" means "sqlite:///x.db". Writes the scheme
 * without the driver to `scheme` and returns what follows "://", or NULL without "://". */
static const char *split_scheme(const char *url, char *scheme, size_t size)
{
    const char *sep = strstr(url, "://");
    if (!sep)
        return NULL;
    size_t len = (size_t)(sep - url);
    const char *plus = memchr(url, '+', len);
    if (plus)
        len = (size_t)(plus - url);
    if (len >= size)
        len = size - 1;
    memcpy(scheme, url, len);
    scheme[len] = '\0';
    return sep + 3;
}

/* One "timeout=SECONDS" (pysqlite's connect argument, which SQLAlchemy passes through) sets
 * the busy timeout; check_same_thread means nothing here (one connection per thread anyway);
 * anything else is refused rather than ignored. Returns 0, or -1 with the message in err. */
static int sqlite_options(char *query, int *timeout_ms, char *err, size_t n)
{
    char *save = NULL;
    for (char *opt = strtok_r(query, "&", &save); opt; opt = strtok_r(NULL, "&", &save)) {
        if (strncmp(opt, "check_same_thread=", 18) == 0)
            continue;
        if (strncmp(opt, "timeout=", 8) != 0) {
            set_err(err, n, "bad SQLite URL: unsupported option '%s' (only timeout=SECONDS)",
                    opt);
            return -1;
        }
        char *end;
        errno = 0;
        double sec = strtod(opt + 8, &end);
        if (errno || *end || end == opt + 8 || !(sec >= 0 && sec <= 86400)) {
            set_err(err, n, "bad SQLite URL: timeout must be seconds in [0, 86400], got '%s'",
                    opt + 8);
            return -1;
        }
        *timeout_ms = (int)(sec * 1000.0 + 0.5);
    }
    return 0;
}

/* "sqlite:///rel.db" -> "rel.db", "sqlite:////abs.db" -> "/abs.db", "sqlite://" -> memory. */
static bso_store *open_sqlite(const char *rest, char *err, size_t n)
{
    if (*rest == '\0')
        return bso__sqlite_open(":memory:", DEFAULT_BUSY_TIMEOUT_MS, err, n);
    if (*rest != '/') {
        set_err(err, n, "bad SQLite URL: expected sqlite:///relative/path or "
                        "sqlite:////absolute/path, got a host in 'sqlite://%s'", rest);
        return NULL;
    }
    char *path = strdup(rest + 1);
    if (!path) {
        set_err(err, n, "%s", "out of memory");
        return NULL;
    }
    int timeout_ms = DEFAULT_BUSY_TIMEOUT_MS;
    char *query = strchr(path, '?');
    if (query)
        *query++ = '\0';
    bso_store *s = NULL;
    if (*path == '\0')
        set_err(err, n, "%s", "bad SQLite URL: no file name after sqlite:///");
    else if (!query || sqlite_options(query, &timeout_ms, err, n) == 0)
        s = bso__sqlite_open(path, timeout_ms, err, n);
    free(path);
    return s;
}

/* libpq takes "postgresql://" and "postgres://" URIs itself; only the driver is dropped. */
static bso_store *open_pg(const char *rest, char *err, size_t n)
{
    size_t len = strlen("postgresql://") + strlen(rest) + 1;
    char *uri = malloc(len);
    if (!uri) {
        set_err(err, n, "%s", "out of memory");
        return NULL;
    }
    snprintf(uri, len, "postgresql://%s", rest);
    bso_store *s = bso__pg_open(uri, err, n);
    free(uri);
    return s;
}

bso_store *bso_store_open(const char *url, char *err, size_t n)
{
    if (err && n)
        err[0] = '\0';
    if (!url || !*url) {
        set_err(err, n, "%s", "no database URL given");
        return NULL;
    }
    char scheme[32];
    const char *rest = split_scheme(url, scheme, sizeof scheme);
    if (!rest) {
        set_err(err, n, "bad database URL '%s': expected sqlite:///path.db or "
                        "postgresql://user@host:port/db", url);
        return NULL;
    }
    if (strcmp(scheme, "sqlite") == 0)
        return open_sqlite(rest, err, n);
    if (strcmp(scheme, "postgresql") == 0 || strcmp(scheme, "postgres") == 0)
        return open_pg(rest, err, n);
    set_err(err, n, "unsupported database '%s': use sqlite:///path.db or "
                    "postgresql://user@host:port/db", scheme);
    return NULL;
}

/* ---- Dispatch --------------------------------------------------------------------------- */

void bso_store_close(bso_store *s)
{
    if (s)
        s->ops->close(s);
}

bso_store_status bso_store_begin(bso_store *s)
{
    return s ? s->ops->begin(s) : BSO_STORE_ERROR;
}

bso_store_status bso_store_commit(bso_store *s)
{
    return s ? s->ops->commit(s) : BSO_STORE_ERROR;
}

void bso_store_rollback(bso_store *s)
{
    if (s)
        s->ops->rollback(s);
}

bso_store_status bso_store_lock_prefix(bso_store *s, const char *prefix)
{
    if (!s)
        return BSO_STORE_ERROR;
    if (!prefix || strlen(prefix) > BSO_PREFIX_MAX)
        return bso__store_fail(s, BSO_STORE_ERROR, "job id prefix is missing or longer than %d "
                               "characters", BSO_PREFIX_MAX);
    return s->ops->lock_prefix(s, prefix);
}

bso_store_status bso_store_load_job(bso_store *s, const char *job_id, bso_job *job)
{
    if (!s || !job)
        return s ? bso__store_fail(s, BSO_STORE_ERROR, "no job to load into (NULL)")
                 : BSO_STORE_ERROR;
    memset(job, 0, sizeof *job);
    bso_store_status st = bso__check_job_id(s, job_id);
    return st != BSO_STORE_OK ? st : bso__load_job(s, job_id, job);
}

bso_store_status bso_store_job_exists(bso_store *s, const char *job_id, bool *exists)
{
    if (!s || !exists)
        return s ? bso__store_fail(s, BSO_STORE_ERROR, "no result pointer (NULL)")
                 : BSO_STORE_ERROR;
    bso_store_status st = bso__check_job_id(s, job_id);
    return st != BSO_STORE_OK ? st : bso__job_exists(s, job_id, exists);
}

bso_store_status bso_store_insert_job(bso_store *s, const bso_job *job)
{
    if (!s)
        return BSO_STORE_ERROR;
    bso_store_status st = bso__check_job(s, job);
    if (st == BSO_STORE_OK && (!job->spec.batch_sizes || job->spec.num_batch_sizes == 0))
        st = bso__store_fail(s, BSO_STORE_ERROR, "job '%s' has no batch sizes", job->spec.job_id);
    return st != BSO_STORE_OK ? st : bso__insert_job(s, job);
}

bso_store_status bso_store_save_job(bso_store *s, const bso_job *job)
{
    if (!s)
        return BSO_STORE_ERROR;
    bso_store_status st = bso__check_job(s, job);
    return st != BSO_STORE_OK ? st : bso__save_job(s, job);
}

bso_store_status bso_store_delete_job(bso_store *s, const char *job_id)
{
    if (!s)
        return BSO_STORE_ERROR;
    bso_store_status st = bso__check_job_id(s, job_id);
    return st != BSO_STORE_OK ? st : bso__delete_job(s, job_id);
}

/* ---- Checks before writing -------------------------------------------------------------- */

/* A fixed buffer filled by someone else must hold its NUL: strnlen within the array. */
#define FITS(arr) (strnlen((arr), sizeof(arr)) < sizeof(arr))

bso_store_status bso__check_job_id(bso_store *s, const char *job_id)
{
    if (!job_id || !*job_id)
        return bso__store_fail(s, BSO_STORE_ERROR, "job id is empty");
    if (strnlen(job_id, BSO_JOB_ID_MAX + 1) > BSO_JOB_ID_MAX)
        return bso__store_fail(s, BSO_STORE_ERROR, "job id is longer than %d characters",
                               BSO_JOB_ID_MAX);
    return BSO_STORE_OK;
}

static bso_store_status check_number(bso_store *s, const char *what, double v)
{
    if (isnan(v))
        return bso__store_fail(s, BSO_STORE_ERROR, "%s is not a number (NaN) and the column is "
                               "not nullable", what);
    return BSO_STORE_OK;
}

static bso_store_status check_trial(bso_store *s, const bso_trial *t)
{
    if ((int)t->type < 0 || t->type > BSO_TRIAL_MAB || (int)t->status < 0 ||
        t->status > BSO_FAILED)
        return bso__store_fail(s, BSO_STORE_ERROR, "trial %d has an unknown type or status",
                               t->trial_number);
    if (t->converged < -1 || t->converged > 1)
        return bso__store_fail(s, BSO_STORE_ERROR, "trial %d: converged must be -1 (null), 0 or 1",
                               t->trial_number);
    return check_number(s, "trial start_timestamp", t->start_timestamp);
}

static bso_store_status check_arm(bso_store *s, const bso_arm *a)
{
    bso_store_status st = check_number(s, "arm param_mean", a->param_mean);
    if (st == BSO_STORE_OK)
        st = check_number(s, "arm param_precision", a->param_precision);
    if (st == BSO_STORE_OK)
        st = check_number(s, "arm reward_precision", a->reward_precision);
    return st;
}

static bso_store_status check_spec(bso_store *s, const bso_job *job)
{
    const bso_spec *sp = &job->spec;
    if (!FITS(sp->job_id_prefix))
        return bso__store_fail(s, BSO_STORE_ERROR, "job id prefix is longer than %d characters",
                               BSO_PREFIX_MAX);
    if (!FITS(sp->gpu_model))
        return bso__store_fail(s, BSO_STORE_ERROR, "gpu_model is longer than %d characters",
                               BSO_GPU_MODEL_MAX);
    if ((int)job->stage < 0 || job->stage > BSO_STAGE_MAB)
        return bso__store_fail(s, BSO_STORE_ERROR, "job '%s' has an unknown stage %d", sp->job_id,
                               (int)job->stage);
    const struct { const char *name; double v; } nums[] = {
        {"eta_knob", sp->eta_knob},         {"target_metric", sp->target_metric},
        {"max_power", sp->max_power},       {"mab_prior_mean", sp->mab_prior_mean},
        {"mab_prior_precision", sp->mab_prior_precision},
    };
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
        if (check_number(s, nums[i].name, nums[i].v) != BSO_STORE_OK)
            return BSO_STORE_ERROR;
    return BSO_STORE_OK;
}

bso_store_status bso__check_job(bso_store *s, const bso_job *job)
{
    if (!job)
        return bso__store_fail(s, BSO_STORE_ERROR, "no job (NULL)");
    if (!FITS(job->spec.job_id))
        return bso__store_fail(s, BSO_STORE_ERROR, "job id is longer than %d characters",
                               BSO_JOB_ID_MAX);
    bso_store_status st = bso__check_job_id(s, job->spec.job_id);
    if (st == BSO_STORE_OK)
        st = check_spec(s, job);
    for (size_t i = 0; st == BSO_STORE_OK && i < job->num_trials; i++)
        st = check_trial(s, &job->trials[i]);
    for (size_t i = 0; st == BSO_STORE_OK && i < job->num_arms; i++)
        st = check_arm(s, &job->arms[i]);
    return st;
}

/* ---- Schema version and lock keys -------------------------------------------------------- */

bso_store_status bso__check_version(char *err, size_t n, long long version)
{
    if (version >= 1 && version <= BSO_SCHEMA_VERSION)
        return BSO_STORE_OK;
    if (err && n) {
        if (version > BSO_SCHEMA_VERSION)
            snprintf(err, n, "database schema version %lld is newer than this zeus supports "
                     "(%d): upgrade zeus, or use another database", version, BSO_SCHEMA_VERSION);
        else
            snprintf(err, n, "database schema version %lld is not valid (bso_schema table "
                     "damaged?)", version);
    }
    return BSO_STORE_ERROR;
}

void bso__foreign_tables_error(char *err, size_t n, const char *where)
{
    if (err && n)
        snprintf(err, n, "%s has tables named job, batch_size, gaussian_ts_arm_state or trial "
                 "but no bso_schema version: it was not written by zeus bso-server (Zeus's "
                 "Python server keeps another layout); use a new database", where);
}

long long bso__prefix_lock_key(const char *prefix)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = "zeus-bso-prefix:"; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    for (const char *p = prefix; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return (long long)h;
}
