/*
 * store.h - Where `zeus bso-server` keeps its jobs: SQLite (embedded, the default) or
 * PostgreSQL (libpq, for a cluster that shares one database between servers). One bso_store is
 * one database connection, used by one thread at a time; the server keeps one per worker.
 *
 * Every request is one transaction: begin, lock, load, change, save, commit; any failure rolls
 * back. Locks are the database's, never the process's, so two servers on one PostgreSQL
 * database stay consistent:
 *   - SQLite: BEGIN IMMEDIATE takes the one write lock (WAL mode, busy timeout), which
 *     serializes writers across processes and threads; readers never block.
 *   - PostgreSQL: SELECT ... FOR UPDATE on the job row serializes requests for one job;
 *     registration takes pg_advisory_xact_lock on a hash of the job-id prefix.
 *
 * Schema (Zeus's, section 3.3 of the spec), created on first open, with a schema version:
 *   bso_schema(version INTEGER)                       -- one row; this release writes 1
 *   job(job_id varchar(400) PK, job_id_prefix varchar(300), default_batch_size, higher_is_better_metric,
 *       eta_knob, beta_knob NULL, target_metric, max_epochs, num_pruning_rounds, window_size,
 *       max_power, number_of_gpus, gpu_model varchar(30), mab_prior_mean, mab_prior_precision,
 *       mab_num_explorations, mab_seed NULL, mab_random_generator_state varchar(10000) NULL,
 *       exp_default_batch_size, stage ('Pruning'|'MAB'), min_cost NULL, min_cost_batch_size)
 *   batch_size(job_id -> job ON DELETE CASCADE, batch_size, PK(job_id, batch_size))
 *   gaussian_ts_arm_state(job_id, batch_size, param_mean, param_precision, reward_precision,
 *       num_observations, PK(job_id, batch_size), FK -> batch_size ON DELETE CASCADE)
 *   trial(job_id, trial_number, batch_size, type, start_timestamp, end_timestamp NULL,
 *       status, time NULL, energy NULL, converged NULL, PK(job_id, trial_number),
 *       FK(job_id, batch_size) -> batch_size ON DELETE CASCADE)
 * Infinite precisions are stored as the string/float 'Infinity' (PostgreSQL double precision
 * takes it; SQLite stores 9e999 as +Inf). Timestamps are Unix seconds as double precision.
 */
#ifndef BSO_STORE_H
#define BSO_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "../core/bso_core.h"

#define BSO_SCHEMA_VERSION 1

/* Outcome of a store call. BSO_STORE_BUSY: a lock wait or serialization failure the server
 * may retry as a whole transaction; BSO_STORE_ERROR: anything else, with the message. */
typedef enum bso_store_status {
    BSO_STORE_OK = 0,
    BSO_STORE_NOT_FOUND = 1,
    BSO_STORE_BUSY = -1,
    BSO_STORE_ERROR = -2,
} bso_store_status;

typedef struct bso_store bso_store;

/*
 * Open `url`: "sqlite:///relative/path.db", "sqlite:////abs/path.db", "sqlite:///:memory:",
 * or "postgresql://user:pass@host:port/db" (also "postgres://"; anything libpq takes after
 * the scheme). Creates the tables and the version row when missing; refuses (NULL, message in
 * err) a database whose schema version is newer than BSO_SCHEMA_VERSION, a file that is not a
 * database, an unknown scheme.
 */
bso_store *bso_store_open(const char *url, char *err, size_t err_size);
void bso_store_close(bso_store *s);

/* The last failure's message on this store, never NULL. */
const char *bso_store_error(const bso_store *s);

/* Transactions. begin() takes the write lock on SQLite; rollback() never fails. */
bso_store_status bso_store_begin(bso_store *s);
bso_store_status bso_store_commit(bso_store *s);
void bso_store_rollback(bso_store *s);

/* Serialize registrations of one prefix (PostgreSQL advisory lock; SQLite: already held). */
bso_store_status bso_store_lock_prefix(bso_store *s, const char *prefix);

/* Load a job with its batch sizes, arms and trials, locking its row until commit. *job is
 * initialized here (bso_job_free it). NOT_FOUND leaves *job empty. */
bso_store_status bso_store_load_job(bso_store *s, const char *job_id, bso_job *job);

/* Does a job with this id exist (for generated ids)? *exists set on OK. */
bso_store_status bso_store_job_exists(bso_store *s, const char *job_id, bool *exists);

/* Insert a new job with its batch sizes (job->spec.job_id set). */
bso_store_status bso_store_insert_job(bso_store *s, const bso_job *job);

/* Write back what the last core call marked dirty: the job's state columns when state_dirty,
 * dirty trials (insert or update), dirty arms (insert or update). */
bso_store_status bso_store_save_job(bso_store *s, const bso_job *job);

/* Delete a job and (cascade) its rows; NOT_FOUND when there was none. */
bso_store_status bso_store_delete_job(bso_store *s, const char *job_id);

#endif /* BSO_STORE_H */
