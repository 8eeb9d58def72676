/*
 * store_sql.c - The SQL text of the BSO server's database, one dialect for SQLite and
 * PostgreSQL (see store_backend.h for why one text serves both).
 *
 * Tables and columns are Zeus's (zeus/optimizer/batch_size/server/database/schema.py), with
 * these deliberate differences: table names are lower-case (store.h's), so PostgreSQL needs no
 * quoting; timestamps are Unix seconds in DOUBLE PRECISION (the core's clock, no time zone to
 * get wrong); mab_seed is BIGINT (numpy takes any non-negative seed; Zeus's INTEGER would fail
 * above 2^31 on PostgreSQL); the enum columns are VARCHARs with CHECK constraints (what
 * SQLAlchemy's non-native Enum writes, plus the check); the job id is VARCHAR(400) in every
 * table (Zeus's child tables say 300 but reference the 400-long key).
 */
#include "store_backend.h"

const char bso__schema_sql[] =
    "CREATE TABLE IF NOT EXISTS bso_schema (version INTEGER NOT NULL);\n"
    "CREATE TABLE IF NOT EXISTS job (\n"
    "  job_id VARCHAR(400) NOT NULL PRIMARY KEY,\n"
    "  job_id_prefix VARCHAR(300) NOT NULL,\n"
    "  default_batch_size INTEGER NOT NULL,\n"
    "  higher_is_better_metric BOOLEAN NOT NULL,\n"
    "  eta_knob DOUBLE PRECISION NOT NULL,\n"
    "  beta_knob DOUBLE PRECISION,\n"
    "  target_metric DOUBLE PRECISION NOT NULL,\n"
    "  max_epochs INTEGER NOT NULL,\n"
    "  num_pruning_rounds INTEGER NOT NULL,\n"
    "  window_size INTEGER NOT NULL,\n"
    "  max_power DOUBLE PRECISION NOT NULL,\n"
    "  number_of_gpus INTEGER NOT NULL,\n"
    "  gpu_model VARCHAR(30) NOT NULL,\n"
    "  mab_prior_mean DOUBLE PRECISION NOT NULL,\n"
    "  mab_prior_precision DOUBLE PRECISION NOT NULL,\n"
    "  mab_num_explorations INTEGER NOT NULL,\n"
    "  mab_seed BIGINT,\n"
    "  mab_random_generator_state VARCHAR(10000),\n"
    "  exp_default_batch_size INTEGER NOT NULL,\n"
    "  stage VARCHAR(7) NOT NULL CHECK (stage IN ('Pruning', 'MAB')),\n"
    "  min_cost DOUBLE PRECISION,\n"
    "  min_cost_batch_size INTEGER NOT NULL);\n"
    "CREATE TABLE IF NOT EXISTS batch_size (\n"
    "  job_id VARCHAR(400) NOT NULL REFERENCES job (job_id) ON DELETE CASCADE,\n"
    "  batch_size INTEGER NOT NULL,\n"
    "  PRIMARY KEY (job_id, batch_size));\n"
    "CREATE TABLE IF NOT EXISTS gaussian_ts_arm_state (\n"
    "  job_id VARCHAR(400) NOT NULL,\n"
    "  batch_size INTEGER NOT NULL,\n"
    "  param_mean DOUBLE PRECISION NOT NULL,\n"
    "  param_precision DOUBLE PRECISION NOT NULL,\n"
    "  reward_precision DOUBLE PRECISION NOT NULL,\n"
    "  num_observations INTEGER NOT NULL,\n"
    "  PRIMARY KEY (job_id, batch_size),\n"
    "  FOREIGN KEY (job_id, batch_size) REFERENCES batch_size (job_id, batch_size)\n"
    "    ON DELETE CASCADE);\n"
    "CREATE TABLE IF NOT EXISTS trial (\n"
    "  job_id VARCHAR(400) NOT NULL,\n"
    "  trial_number INTEGER NOT NULL,\n"
    "  batch_size INTEGER NOT NULL,\n"
    "  type VARCHAR(11) NOT NULL CHECK (type IN ('Exploration', 'Concurrent', 'MAB')),\n"
    "  status VARCHAR(10) NOT NULL CHECK (status IN ('Dispatched', 'Succeeded', 'Failed')),\n"
    "  start_timestamp DOUBLE PRECISION NOT NULL,\n"
    "  end_timestamp DOUBLE PRECISION,\n"
    "  time DOUBLE PRECISION,\n"
    "  energy DOUBLE PRECISION,\n"
    "  converged BOOLEAN,\n"
    "  PRIMARY KEY (job_id, trial_number),\n"
    "  FOREIGN KEY (job_id, batch_size) REFERENCES batch_size (job_id, batch_size)\n"
    "    ON DELETE CASCADE);\n"
    "INSERT INTO bso_schema (version) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM bso_schema);\n";

const char bso__schema_version_sql[] = "SELECT max(version), count(*) FROM bso_schema";

#define JOB_COLUMNS                                                                          \
    "job_id_prefix, default_batch_size, higher_is_better_metric, eta_knob, beta_knob, "      \
    "target_metric, max_epochs, num_pruning_rounds, window_size, max_power, number_of_gpus, " \
    "gpu_model, mab_prior_mean, mab_prior_precision, mab_num_explorations, mab_seed, "       \
    "mab_random_generator_state, exp_default_batch_size, stage, min_cost, min_cost_batch_size"

#define TRIAL_COLUMNS                                                                        \
    "trial_number, batch_size, type, status, start_timestamp, end_timestamp, time, energy, " \
    "converged"

#define ARM_COLUMNS "batch_size, param_mean, param_precision, reward_precision, num_observations"

/* The load of the job row ends without FOR UPDATE: PostgreSQL appends it (SQLite's BEGIN
 * IMMEDIATE already holds the database's one write lock). */
const char *const bso__sql[BSO_SQL_COUNT] = {
    [BSO_SQL_LOAD_JOB] = "SELECT " JOB_COLUMNS " FROM job WHERE job_id = $1",
    [BSO_SQL_LOAD_BATCH_SIZES] =
        "SELECT batch_size FROM batch_size WHERE job_id = $1 ORDER BY batch_size",
    [BSO_SQL_LOAD_ARMS] = "SELECT " ARM_COLUMNS
                          " FROM gaussian_ts_arm_state WHERE job_id = $1 ORDER BY batch_size",
    [BSO_SQL_LOAD_TRIALS] =
        "SELECT " TRIAL_COLUMNS " FROM trial WHERE job_id = $1 ORDER BY trial_number",
    [BSO_SQL_JOB_EXISTS] = "SELECT 1 FROM job WHERE job_id = $1",
    [BSO_SQL_INSERT_JOB] =
        "INSERT INTO job (job_id, " JOB_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
        "$9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)",
    [BSO_SQL_INSERT_BATCH_SIZE] = "INSERT INTO batch_size (job_id, batch_size) VALUES ($1, $2)",
    [BSO_SQL_UPSERT_TRIAL] =
        "INSERT INTO trial (job_id, " TRIAL_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6, $7, "
        "$8, $9, $10) ON CONFLICT (job_id, trial_number) DO UPDATE SET "
        "batch_size = excluded.batch_size, type = excluded.type, status = excluded.status, "
        "start_timestamp = excluded.start_timestamp, end_timestamp = excluded.end_timestamp, "
        "time = excluded.time, energy = excluded.energy, converged = excluded.converged",
    [BSO_SQL_UPSERT_ARM] =
        "INSERT INTO gaussian_ts_arm_state (job_id, " ARM_COLUMNS ") VALUES ($1, $2, $3, $4, "
        "$5, $6) ON CONFLICT (job_id, batch_size) DO UPDATE SET "
        "param_mean = excluded.param_mean, param_precision = excluded.param_precision, "
        "reward_precision = excluded.reward_precision, "
        "num_observations = excluded.num_observations",
    [BSO_SQL_UPDATE_STATE] =
        "UPDATE job SET stage = $1, exp_default_batch_size = $2, min_cost = $3, "
        "min_cost_batch_size = $4, mab_random_generator_state = $5 WHERE job_id = $6",
    [BSO_SQL_DELETE_JOB] = "DELETE FROM job WHERE job_id = $1",
};
