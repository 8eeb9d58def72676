/*
 * test_bso_core.c - The batch size optimizer's algorithm (bso/core) against Zeus's own tests
 * and behaviour: the explorer cases of tests/optimizer/batch_size/test_explorer.py, the
 * exploration walk, MAB stage and end-trial of test_server.py, report's early stop,
 * convergence, max_epochs and min-cost quirk with Zeus's exact messages and statuses, arm
 * fitting and the window, seeded reproducibility across a restart, the dirty flags the server
 * writes back, and a seeded MAB run compared bit for bit with Zeus's bandit code run under
 * numpy (tests/data/bso/zeus_mab_reference.py and its recorded output).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bso_core.h"
#include "test_support.h"

#define NOW 1700000000.0

/* ---- Fixtures --------------------------------------------------------------------------- */

/* Zeus's conftest.py fake job: eta 0.5, beta 2, target 0.5 (higher is better), max_epochs
 * 100, 2 pruning rounds, window 5, priors 0, 2 MAB explorations, seed 123456, max_power
 * 3000, 4 A100s. */
static bso_spec fake_spec(int *batch_sizes, size_t n, int default_bs)
{
    bso_spec s;

    memset(&s, 0, sizeof s);
    snprintf(s.job_id, sizeof s.job_id, "test-job");
    snprintf(s.job_id_prefix, sizeof s.job_id_prefix, "test");
    s.batch_sizes = batch_sizes;
    s.num_batch_sizes = n;
    s.default_batch_size = default_bs;
    s.eta_knob = 0.5;
    s.beta_knob = 2.0;
    s.target_metric = 0.5;
    s.higher_is_better_metric = true;
    s.max_epochs = 100;
    s.num_pruning_rounds = 2;
    s.window_size = 5;
    s.mab_prior_mean = 0.0;
    s.mab_prior_precision = 0.0;
    s.mab_num_explorations = 2;
    s.has_mab_seed = true;
    s.mab_seed = 123456;
    s.max_power = 3000.0;
    s.number_of_gpus = 4;
    snprintf(s.gpu_model, sizeof s.gpu_model, "A100");
    return s;
}

static void init_job(bso_job *job, const bso_spec *spec)
{
    assert_int_equal(bso_job_init(job, spec), 0);
}

static bso_trial predict_ok(bso_job *job)
{
    bso_trial t;
    bso_error err = {0, ""};

    if (bso_predict(job, NOW, 42, &t, &err) != 0)
        fail_msg("bso_predict: %d %s", err.http_status, err.message);
    return t;
}

static bso_report_reply report_ok(bso_job *job, int bs, int trial_number, double time,
                                  double energy, double metric, int epoch)
{
    bso_result r = {bs, trial_number, time, energy, metric, epoch};
    bso_report_reply reply;
    bso_error err = {0, ""};

    memset(&reply, 0, sizeof reply);
    if (bso_report(job, &r, NOW + 10, &reply, &err) != 0)
        fail_msg("bso_report: %d %s", err.http_status, err.message);
    return reply;
}

static int report_err(bso_job *job, int bs, int trial_number, double time, double energy,
                      double metric, int epoch, bso_error *err)
{
    bso_result r = {bs, trial_number, time, energy, metric, epoch};
    bso_report_reply reply;

    assert_int_equal(bso_report(job, &r, NOW + 10, &reply, err), -1);
    return err->http_status;
}

static const bso_trial *trial_of(const bso_job *job, int trial_number)
{
    for (size_t i = 0; i < job->num_trials; i++)
        if (job->trials[i].trial_number == trial_number)
            return &job->trials[i];
    fail_msg("no trial %d", trial_number);
    return NULL;
}

static const bso_arm *arm_of(const bso_job *job, int batch_size)
{
    for (size_t i = 0; i < job->num_arms; i++)
        if (job->arms[i].batch_size == batch_size)
            return &job->arms[i];
    return NULL;
}

static void assert_arms(const bso_job *job, const int *want, size_t n)
{
    assert_int_equal(job->stage, BSO_STAGE_MAB);
    assert_int_equal(job->num_arms, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(job->arms[i].batch_size, want[i]);
}

/* ---- The explorer: test_explorer.py ------------------------------------------------------ */

/* One exploration as test_explorer.py writes it: the batch size the server must hand out,
 * the cost its run has (energy 1, time solved from the cost), and whether it converges. */
typedef struct exploration {
    int bs;
    double cost;
    bool converged;
} exploration;

/*
 * Zeus's run_exploration: batch sizes 8..256, beta null. Each predict must give the listed
 * batch size; its report (epoch 100 = max_epochs) must come back with the listed outcome;
 * the predict after the list builds the bandit, whose arms must be `arms`.
 */
static void run_exploration(int default_bs, const exploration *exp, size_t n, const int *arms,
                            size_t num_arms)
{
    int sizes[] = {8, 16, 32, 64, 128, 256};
    bso_spec spec = fake_spec(sizes, 6, default_bs);
    bso_job job;
    bso_trial t;

    spec.beta_knob = NAN;
    init_job(&job, &spec);
    for (size_t i = 0; i < n; i++) {
        double energy = 1, time = (2 * exp[i].cost - energy) / spec.max_power;
        bso_report_reply reply;

        t = predict_ok(&job);
        if (t.batch_size != exp[i].bs)
            fail_msg("step %zu: expected %d but got %d", i, exp[i].bs, t.batch_size);
        assert_int_equal(t.type, BSO_TRIAL_EXPLORATION);
        assert_int_equal(t.trial_number, (int)i + 1);
        assert_near(bso_cost(energy, time, 0.5, spec.max_power), exp[i].cost, 1e-9);
        reply = report_ok(&job, t.batch_size, t.trial_number, time, energy,
                          exp[i].converged ? 0.55 : 0.4, 100);
        assert_true(reply.stop_train);
        assert_int_equal(reply.converged, exp[i].converged);
        assert_string_equal(reply.message, exp[i].converged
                                               ? "Train succeeded"
                                               : "Train failed to converge within max_epoch(100)");
    }
    assert_int_equal(job.stage, BSO_STAGE_PRUNING);
    assert_int_equal(job.num_arms, 0);
    t = predict_ok(&job); /* builds the bandit */
    assert_int_equal(t.type, BSO_TRIAL_MAB);
    assert_int_equal(t.trial_number, (int)n + 1);
    assert_arms(&job, arms, num_arms);
    bso_job_free(&job);
}

#define RUN(def, exps, arms) \
    run_exploration(def, exps, sizeof(exps) / sizeof(exps[0]), arms, sizeof(arms) / sizeof(arms[0]))

static void test_explorer_normal(void **state)
{
    static const exploration exps[] = {
        {128, 10.0, true}, {64, 9.0, true},  {32, 8.0, true},   {16, 12.0, true},
        {8, 21.0, false},  {256, 15.0, true}, {32, 8.0, true},   {16, 12.0, false},
        {64, 9.0, true},   {128, 10.0, true}, {256, 17.0, false},
    };
    static const int arms[] = {32, 64, 128};
    (void)state;
    RUN(128, exps, arms);
}

static void test_explorer_default_is_largest(void **state)
{
    static const exploration exps[] = {
        {256, 7.0, true},  {128, 8.0, true}, {64, 9.0, true},  {32, 13.0, true},
        {16, 22.0, false}, {256, 8.0, true}, {128, 8.5, true}, {64, 9.0, true},
        {32, 12.0, true},
    };
    static const int arms[] = {32, 64, 128, 256};
    (void)state;
    RUN(256, exps, arms);
}

static void test_explorer_default_is_smallest(void **state)
{
    static const exploration exps[] = {
        {8, 10.0, true},  {16, 17.0, true}, {32, 20.0, true},
        {64, 25.0, false}, {8, 10.0, true}, {16, 21.0, false},
    };
    static const int arms[] = {8};
    (void)state;
    RUN(8, exps, arms);
}

static void test_explorer_all_converge(void **state)
{
    static const exploration exps[] = {
        {64, 10.0, true},  {32, 8.0, true},   {16, 12.0, true}, {8, 15.0, true},
        {128, 12.0, true}, {256, 13.0, true}, {32, 7.0, true},  {16, 10.0, true},
        {8, 15.0, true},   {64, 10.0, true},  {128, 12.0, true}, {256, 13.0, true},
    };
    static const int arms[] = {8, 16, 32, 64, 128, 256};
    (void)state;
    RUN(64, exps, arms);
}

static void test_explorer_only_default_converges(void **state)
{
    static const exploration exps[] = {
        {64, 10.0, true}, {32, 22.0, false}, {128, 25.0, false}, {64, 9.0, true},
    };
    static const int arms[] = {64};
    (void)state;
    RUN(64, exps, arms);
}

/* Equal costs: the round's first cheapest (in walk order) becomes the next default, as
 * Zeus's strict `cost < min_cost_of_round`. */
static void test_explorer_tie_keeps_the_first_cheapest(void **state)
{
    static const exploration exps[] = {
        {16, 10.0, true}, {8, 10.0, true}, {32, 10.0, true},
        {16, 10.0, true}, {8, 10.0, true}, {32, 10.0, true}, /* round 2 from 16, not 32 */
    };
    int sizes[] = {8, 16, 32};
    bso_spec spec = fake_spec(sizes, 3, 16);
    bso_job job;
    (void)state;

    spec.beta_knob = NAN;
    init_job(&job, &spec);
    for (size_t i = 0; i < 6; i++) {
        bso_trial t = predict_ok(&job);
        assert_int_equal(t.batch_size, exps[i].bs);
        report_ok(&job, t.batch_size, t.trial_number, (2 * exps[i].cost - 1) / 3000, 1, 0.9, 1);
    }
    bso_job_free(&job);
}

/* ---- The exploration walk with concurrent runs: test_server.py ---------------------------- */

/*
 * test_exploration_stage, made deterministic: every exploration is followed by a second
 * predict while it is Dispatched, which must be a Concurrent trial of the min-cost batch size
 * so far; 512 is the cheapest, so round 2's walk starts from 512; 64 and 4096 fail to converge
 * and end their directions.
 */
static void test_exploration_walk_moves_default_to_cheapest(void **state)
{
    int sizes[] = {32, 64, 256, 512, 1024, 2048, 4096}; /* Zeus's list, sorted as on input */
    bso_spec spec;
    /* the walk: round 1 from 1024 down, then up; round 2 from 512 over the converged ones */
    static const int walk[] = {1024, 512, 256, 64, 2048, 4096, 512, 256, 1024, 2048};
    static const int conv[] = {1, 1, 1, 0, 1, 0, 1, 1, 1, 1};
    static const int arms[] = {256, 512, 1024, 2048};
    bso_job job;
    int trial_number = 1, min_bs = 1024;
    (void)state;

    spec = fake_spec(sizes, 7, 1024);
    init_job(&job, &spec);
    for (size_t i = 0; i < sizeof walk / sizeof walk[0]; i++) {
        bso_trial t = predict_ok(&job), c;
        double time = walk[i] == 512 ? 12 : 14.438;
        bso_report_reply reply;

        assert_int_equal(t.batch_size, walk[i]);
        assert_int_equal(t.type, BSO_TRIAL_EXPLORATION);
        assert_int_equal(t.trial_number, trial_number++);
        c = predict_ok(&job);
        assert_int_equal(c.type, BSO_TRIAL_CONCURRENT);
        assert_int_equal(c.batch_size, min_bs);
        assert_int_equal(job.min_cost_batch_size, min_bs);
        assert_int_equal(c.trial_number, trial_number++);
        reply = report_ok(&job, t.batch_size, t.trial_number, time, 3000.123,
                          conv[i] ? 0.55 : 0.33, conv[i] ? 98 : 100);
        assert_true(reply.stop_train);
        assert_int_equal(reply.converged, conv[i]);
        if (walk[i] == 512)
            min_bs = 512;
    }
    assert_int_equal(job.exp_default_batch_size, 1024); /* Zeus never stores the new default */
    predict_ok(&job);
    assert_arms(&job, arms, 4);
    bso_job_free(&job);
}

/* ---- MAB stage and concurrent runs: test_server.py ---------------------------------------- */

/* test_mab_stage: 50 cycles of predict, a concurrent predict, and a converged report of the
 * first; every report converges, and the job ends in MAB stage drawing from its arms. */
static void test_mab_stage_fifty_cycles_all_converge(void **state)
{
    int sizes[] = {32, 64, 256, 512, 1024, 2048, 4096};
    bso_spec spec = fake_spec(sizes, 7, 1024);
    bso_job job;
    int mab_trials = 0;
    (void)state;

    init_job(&job, &spec);
    for (int i = 0; i < 50; i++) {
        bso_trial t = predict_ok(&job), c = predict_ok(&job);
        bso_report_reply reply;

        assert_int_equal(c.trial_number, t.trial_number + 1);
        reply = report_ok(&job, t.batch_size, t.trial_number, 15.123, 3000.123, 0.55, 98);
        assert_true(reply.converged);
        assert_true(reply.stop_train);
        assert_string_equal(reply.message, "Train succeeded");
        if (t.type == BSO_TRIAL_MAB) {
            assert_non_null(arm_of(&job, t.batch_size));
            mab_trials++;
        }
    }
    assert_int_equal(job.stage, BSO_STAGE_MAB);
    assert_true(mab_trials > 0);
    assert_int_equal(job.num_trials, 100);
    bso_job_free(&job);
}

/* The first predict gives the default as trial 1; while it is Dispatched, the next ones are
 * Concurrent trials of min_cost_batch_size (the default), numbered on. */
static void test_concurrent_trial_while_exploration_is_dispatched(void **state)
{
    int sizes[] = {32, 64, 256, 512, 1024, 2048, 4096};
    bso_spec spec = fake_spec(sizes, 7, 1024);
    bso_job job;
    bso_trial t;
    bso_report_reply reply;
    (void)state;

    init_job(&job, &spec);
    t = predict_ok(&job);
    assert_int_equal(t.batch_size, 1024);
    assert_int_equal(t.trial_number, 1);
    assert_int_equal(t.type, BSO_TRIAL_EXPLORATION);
    assert_int_equal(t.status, BSO_DISPATCHED);
    assert_true(t.start_timestamp == NOW);
    assert_true(isnan(t.end_timestamp) && isnan(t.time) && isnan(t.energy));
    assert_int_equal(t.converged, -1);
    for (int n = 2; n <= 3; n++) {
        t = predict_ok(&job);
        assert_int_equal(t.batch_size, 1024);
        assert_int_equal(t.trial_number, n);
        assert_int_equal(t.type, BSO_TRIAL_CONCURRENT);
    }
    /* A Concurrent run's result in Pruning stage is stored and counts for the min cost. */
    reply = report_ok(&job, 1024, 2, 10, 1000, 0.9, 3);
    assert_true(reply.converged);
    assert_int_equal(trial_of(&job, 2)->status, BSO_SUCCEEDED);
    assert_true(job.min_cost == bso_cost(1000, 10, 0.5, 3000));
    /* ... but is no exploration: trial 1 is still the one the explorer waits for. */
    t = predict_ok(&job);
    assert_int_equal(t.type, BSO_TRIAL_CONCURRENT);
    bso_job_free(&job);
}

/* ---- Report ------------------------------------------------------------------------------ */

static void test_report_keep_training_until_a_stop_condition(void **state)
{
    int sizes[] = {8, 16};
    bso_spec spec = fake_spec(sizes, 2, 16);
    bso_job job;
    bso_report_reply reply;
    (void)state;

    init_job(&job, &spec);
    predict_ok(&job);
    reply = report_ok(&job, 16, 1, 10, 1000, 0.4, 99);
    assert_false(reply.stop_train);
    assert_false(reply.converged);
    assert_string_equal(reply.message, "Stop condition not met, keep training");
    assert_int_equal(trial_of(&job, 1)->status, BSO_DISPATCHED);
    assert_true(isnan(job.min_cost));
    /* lower is better: 0.4 <= 0.5 converges */
    job.spec.higher_is_better_metric = false;
    reply = report_ok(&job, 16, 1, 10, 1000, 0.4, 5);
    assert_true(reply.stop_train);
    assert_true(reply.converged);
    assert_int_equal(trial_of(&job, 1)->converged, 1);
    bso_job_free(&job);
}

/* beta x min_cost bounds the cost: equal is within, more stops the run with Zeus's message. */
static void test_report_early_stop_above_beta_times_min_cost(void **state)
{
    int sizes[] = {32, 64, 256, 512, 1024, 2048, 4096};
    bso_spec spec = fake_spec(sizes, 7, 1024);
    bso_job job;
    bso_report_reply reply;
    bso_trial t;
    (void)state;

    init_job(&job, &spec);
    t = predict_ok(&job);
    reply = report_ok(&job, t.batch_size, t.trial_number, 14.5, 3000, 0.55, 98);
    assert_true(reply.converged && reply.stop_train);
    assert_true(job.min_cost == 23250.0); /* 0.5 * 3000 + 0.5 * 3000 * 14.5 */
    assert_int_equal(job.min_cost_batch_size, 1024);

    t = predict_ok(&job);
    assert_int_equal(t.batch_size, 512);
    /* cost 46500 = 2 x min: still within, and not converged at epoch 5: keep training */
    reply = report_ok(&job, 512, t.trial_number, 30, 3000, 0.1, 5);
    assert_true(bso_cost(3000, 30, 0.5, 3000) == 46500.0);
    assert_false(reply.stop_train);
    /* cost 48000 > 46500: stop, not converged, even though the metric is reached */
    reply = report_ok(&job, 512, t.trial_number, 30, 6000, 0.55, 6);
    assert_true(reply.stop_train);
    assert_false(reply.converged);
    assert_string_equal(reply.message,
                        "Batch Size(512) exceeded the cost upper bound: current cost(48000.0) >\n"
                        "                    beta_knob(2.0)*min_cost(23250.0)");
    assert_int_equal(trial_of(&job, 2)->status, BSO_SUCCEEDED);
    assert_int_equal(trial_of(&job, 2)->converged, 0);
    assert_true(trial_of(&job, 2)->time == 30 && trial_of(&job, 2)->energy == 6000);
    assert_true(trial_of(&job, 2)->end_timestamp == NOW + 10);
    assert_true(job.min_cost == 23250.0);
    assert_int_equal(job.min_cost_batch_size, 1024);
    bso_job_free(&job);
}

/* Beta null turns early stop off: any cost is within. */
static void test_report_beta_null_never_stops_early(void **state)
{
    int sizes[] = {8, 16};
    bso_spec spec = fake_spec(sizes, 2, 16);
    bso_job job;
    bso_report_reply reply;
    (void)state;

    spec.beta_knob = NAN;
    init_job(&job, &spec);
    predict_ok(&job);
    report_ok(&job, 16, 1, 1, 1, 0.9, 1);
    predict_ok(&job);
    reply = report_ok(&job, 8, 2, 1e6, 1e9, 0.1, 1);
    assert_false(reply.stop_train);
    bso_job_free(&job);
}

/* max_epochs stops a run that has not converged; its result still sets the min cost when it
 * is the cheapest (Zeus's min-cost quirk), which moves the Concurrent batch size too. */
static void test_report_max_epochs_and_min_cost_quirk(void **state)
{
    int sizes[] = {8, 16, 32};
    bso_spec spec = fake_spec(sizes, 3, 16);
    bso_job job;
    bso_report_reply reply;
    bso_trial t;
    (void)state;

    init_job(&job, &spec);
    predict_ok(&job);
    report_ok(&job, 16, 1, 10, 1000, 0.9, 10);
    assert_int_equal(job.min_cost_batch_size, 16);
    t = predict_ok(&job);
    assert_int_equal(t.batch_size, 8);
    reply = report_ok(&job, 8, 2, 1, 10, 0.1, 100);
    assert_true(reply.stop_train);
    assert_false(reply.converged);
    assert_string_equal(reply.message, "Train failed to converge within max_epoch(100)");
    assert_int_equal(trial_of(&job, 2)->converged, 0);
    assert_true(job.min_cost == bso_cost(10, 1, 0.5, 3000));
    assert_int_equal(job.min_cost_batch_size, 8);
    t = predict_ok(&job); /* 8 failed: the walk goes up to 32 */
    assert_int_equal(t.batch_size, 32);
    t = predict_ok(&job);
    assert_int_equal(t.type, BSO_TRIAL_CONCURRENT);
    assert_int_equal(t.batch_size, 8);
    bso_job_free(&job);
}

/* A second report of a finished trial: stop, with the stored outcome; of a Failed one: 400. */
static void test_report_already_reported_and_failed(void **state)
{
    int sizes[] = {8, 16};
    bso_spec spec = fake_spec(sizes, 2, 16);
    bso_job job;
    bso_report_reply reply;
    bso_error err;
    (void)state;

    init_job(&job, &spec);
    predict_ok(&job);
    report_ok(&job, 16, 1, 10, 1000, 0.9, 10);
    bso_job_clear_dirty(&job);
    reply = report_ok(&job, 16, 1, 99, 99, 0.1, 100);
    assert_true(reply.stop_train);
    assert_true(reply.converged);
    assert_string_equal(reply.message, "Result for this trial(1) is already reported.");
    assert_true(trial_of(&job, 1)->time == 10);
    assert_false(trial_of(&job, 1)->dirty);
    assert_false(job.state_dirty);

    predict_ok(&job);
    report_ok(&job, 8, 2, 100, 100000, 0.1, 100); /* not converged */
    reply = report_ok(&job, 8, 2, 1, 1, 0.9, 1);
    assert_true(reply.stop_train);
    assert_false(reply.converged);

    predict_ok(&job); /* trial 3 */
    assert_int_equal(bso_end_trial(&job, trial_of(&job, 3)->batch_size, 3, NOW + 5, &err), 0);
    assert_int_equal(report_err(&job, trial_of(&job, 3)->batch_size, 3, 1, 1, 0.9, 1, &err),
                     400);
    assert_string_equal(err.message, "Trial(3) is already reported but converged is not set.");
    bso_job_free(&job);
}

/* An unknown trial (or a known number with another batch size) is a bad operation (400),
 * with pydantic's rendering of the request as Zeus prints it. */
static void test_report_unknown_trial(void **state)
{
    int sizes[] = {8, 16};
    bso_spec spec = fake_spec(sizes, 2, 16);
    bso_job job;
    bso_error err;
    (void)state;

    init_job(&job, &spec);
    predict_ok(&job);
    assert_int_equal(report_err(&job, 8, 1, 1.5, 20, 0.25, 3, &err), 400);
    assert_string_equal(err.message, "Unknown trial job_id='test-job' batch_size=8 "
                                     "trial_number=1 time=1.5 energy=20.0 metric=0.25 "
                                     "current_epoch=3");
    assert_int_equal(report_err(&job, 16, 7, 1, 1, 1, 1, &err), 400);
    assert_int_equal(report_err(&job, 16, 1, -1, 1, 1, 1, &err), 400);
    assert_int_equal(report_err(&job, 16, 1, 1, NAN, 1, 1, &err), 400);
    assert_int_equal(trial_of(&job, 1)->status, BSO_DISPATCHED);
    bso_job_free(&job);
}

/*
 * After the switch to MAB, a Concurrent trial's report is refused (Zeus's quirk) and changes
 * nothing: 400 "Cannot update an arm ..." when its batch size has an arm, 400 "... Arm ... is
 * not found." when it has none (min_cost_batch_size came from a run that did not converge).
 */
static void test_report_concurrent_after_mab_switch_is_refused(void **state)
{
    int sizes[] = {8, 16};
    bso_spec spec = fake_spec(sizes, 2, 16);
    bso_job job;
    bso_error err;
    bso_trial t;
    (void)state;

    spec.num_pruning_rounds = 1;
    init_job(&job, &spec);
    predict_ok(&job);                              /* 1: 16 */
    assert_int_equal(predict_ok(&job).type, BSO_TRIAL_CONCURRENT); /* 2: 16 */
    report_ok(&job, 16, 1, 10, 1000, 0.9, 10);
    predict_ok(&job);                              /* 3: 8 */
    report_ok(&job, 8, 3, 10, 1100, 0.9, 10);
    t = predict_ok(&job);                          /* 4: the bandit */
    assert_int_equal(t.type, BSO_TRIAL_MAB);
    bso_job_clear_dirty(&job);
    assert_int_equal(report_err(&job, 16, 2, 1, 1, 0.9, 10, &err), 400);
    assert_string_equal(err.message,
                        "Cannot update an arm since this trial is not issued from MAB stage.");
    assert_int_equal(trial_of(&job, 2)->status, BSO_DISPATCHED);
    assert_true(job.min_cost == bso_cost(1000, 10, 0.5, 3000)); /* 1 J would have been lower */
    assert_false(job.state_dirty);
    for (size_t i = 0; i < job.num_arms; i++)
        assert_false(job.arms[i].dirty);
    bso_job_free(&job);

    /* 16 converges, 8 does not but is cheaper; round 2 explores 16 again while a Concurrent
     * run of 8 starts; after the switch that run has no arm. (Beta off: 16's second run costs
     * more than twice 8's.) */
    spec.num_pruning_rounds = 2;
    spec.beta_knob = NAN;
    init_job(&job, &spec);
    predict_ok(&job);
    report_ok(&job, 16, 1, 10, 1000, 0.9, 10);
    predict_ok(&job);
    report_ok(&job, 8, 2, 1, 10, 0.1, 100);
    assert_int_equal(predict_ok(&job).batch_size, 16); /* 3 */
    t = predict_ok(&job);                              /* 4 */
    assert_int_equal(t.type, BSO_TRIAL_CONCURRENT);
    assert_int_equal(t.batch_size, 8);
    report_ok(&job, 16, 3, 10, 1000, 0.9, 10);
    assert_int_equal(predict_ok(&job).batch_size, 16); /* 5: the only arm */
    assert_int_equal(job.num_arms, 1);
    assert_int_equal(report_err(&job, 8, 4, 1, 1, 0.9, 10, &err), 400);
    assert_string_equal(err.message, "MAB stage but Arm for batch size(8) is not found.");
    bso_job_free(&job);
}

/* ---- Fitting an arm ---------------------------------------------------------------------- */

/* One reward (or identical ones): variance 0, infinite precisions, the plain mean. */
static void test_fit_arm_zero_variance_is_exact(void **state)
{
    double one[] = {-1234.5}, same[] = {-7.25, -7.25, -7.25};
    bso_arm arm;
    bso_error err;
    (void)state;

    assert_int_equal(bso_fit_arm(3.0, 0.5, one, 1, &arm, &err), 0);
    assert_true(arm.param_mean == -1234.5);
    assert_true(isinf(arm.param_precision) && isinf(arm.reward_precision));
    assert_int_equal(arm.num_observations, 1);
    assert_int_equal(bso_fit_arm(3.0, 0.5, same, 3, &arm, &err), 0);
    assert_true(arm.param_mean == -7.25 && isinf(arm.param_precision));
    assert_int_equal(arm.num_observations, 3);
    assert_int_equal(bso_fit_arm(0, 0, one, 0, &arm, &err), -1);
    assert_int_equal(err.http_status, 400);
    assert_string_equal(err.message, "No rewards to fit the arm.");
}

/* Population variance (divide by n), and the conjugate update from the priors. */
static void test_fit_arm_population_variance_and_priors(void **state)
{
    double r[] = {1, 2, 3, 4};
    bso_arm arm;
    bso_error err;
    (void)state;

    /* mean 2.5, population variance 1.25 (the sample variance would be 5/3) */
    assert_int_equal(bso_fit_arm(0, 0, r, 4, &arm, &err), 0);
    assert_true(arm.reward_precision == 1 / 1.25);
    assert_true(arm.param_precision == 4 * (1 / 1.25));
    assert_true(arm.param_mean == (0 * 0 + (1 / 1.25) * 10) / (4 * (1 / 1.25)));
    assert_near(arm.param_mean, 2.5, 1e-12);
    /* prior N(1, 1/2): tau = 2 + 4 rho, mean = (2 * 1 + rho * 10) / tau */
    assert_int_equal(bso_fit_arm(1, 2, r, 4, &arm, &err), 0);
    assert_true(arm.param_precision == 2 + 4 * (1 / 1.25));
    assert_true(arm.param_mean == (2 * 1 + (1 / 1.25) * 10) / (2 + 4 * (1 / 1.25)));
    assert_int_equal(arm.num_observations, 4);
}

/* ---- The window -------------------------------------------------------------------------- */

/* A job whose cost is the time itself (eta 0, max_power 1), one batch size, two rounds:
 * explorations costing T[0] and T[1]; the MAB reports cost T[2], T[3], T[4]. The times are
 * picked (by a numpy search) so that each order below changes the fitted mean's last bit. */
static const double T[5] = {0.35, 0.82, 0.74, 0.83, 0.77};

static void window_job(bso_job *job, int window)
{
    static int sizes[] = {8};
    bso_spec spec = fake_spec(sizes, 1, 8);

    spec.eta_knob = 0;
    spec.max_power = 1;
    spec.beta_knob = NAN;
    spec.window_size = window;
    spec.num_pruning_rounds = 2;
    init_job(job, &spec);
    assert_int_equal(predict_ok(job).trial_number, 1);
    report_ok(job, 8, 1, T[0], 5, 0.9, 1);
    assert_int_equal(predict_ok(job).trial_number, 2);
    report_ok(job, 8, 2, T[1], 5, 0.9, 1);
}

static bso_arm fit4(double a, double b, double c, double d)
{
    double r[] = {-a, -b, -c, -d};
    bso_arm arm;
    bso_error err;

    assert_int_equal(bso_fit_arm(0, 0, r, 4, &arm, &err), 0);
    return arm;
}

static void expect_arm(const bso_job *job, bso_arm want, int n)
{
    assert_int_equal(job->arms[0].num_observations, n);
    assert_true(job->arms[0].param_mean == want.param_mean);
    assert_true(job->arms[0].param_precision == want.param_precision);
    assert_true(job->arms[0].reward_precision == want.reward_precision);
}

/*
 * mab.py's report: Succeeded trials of the batch size newest first, at most window_size;
 * only a full window drops its oldest and is reversed; the current reward goes last.
 */
static void test_window_cuts_history_as_zeus(void **state)
{
    bso_job job;
    bso_trial t;
    bso_arm partial = fit4(T[2], T[1], T[0], T[3]), full = fit4(T[1], T[2], T[3], T[4]);
    (void)state;

    /* precondition: the wrong orders give other bits */
    assert_true(partial.param_mean != fit4(T[0], T[1], T[2], T[3]).param_mean);
    assert_true(full.param_mean != fit4(T[3], T[2], T[1], T[4]).param_mean);

    window_job(&job, 4);
    for (int i = 2; i <= 4; i++) {
        t = predict_ok(&job);
        report_ok(&job, 8, t.trial_number, T[i], 5, 0.9, 1);
        if (i == 2)
            assert_int_equal(job.arms[0].num_observations, 3);
        if (i == 3) /* 3 results < window 4: newest first, not reversed; the current last */
            expect_arm(&job, partial, 4);
    }
    /* 4 results = window: [T3, T2, T1, T0] pop -> reverse -> [T1, T2, T3], then T4 */
    expect_arm(&job, full, 4);
    bso_job_free(&job);

    window_job(&job, 0); /* 0: all of the history, newest first */
    for (int i = 2; i <= 3; i++) {
        t = predict_ok(&job);
        report_ok(&job, 8, t.trial_number, T[i], 5, 0.9, 1);
    }
    expect_arm(&job, partial, 4);
    t = predict_ok(&job);
    report_ok(&job, 8, t.trial_number, T[4], 5, 0.9, 1);
    assert_int_equal(job.arms[0].num_observations, 5);
    bso_job_free(&job);
}

/* ---- End trial --------------------------------------------------------------------------- */

static void test_end_trial_fails_dispatched_only(void **state)
{
    int sizes[] = {8, 16};
    bso_spec spec = fake_spec(sizes, 2, 16);
    bso_job job;
    bso_error err;
    bso_trial t;
    (void)state;

    init_job(&job, &spec);
    predict_ok(&job);
    bso_job_clear_dirty(&job);
    assert_int_equal(bso_end_trial(&job, 16, 1, NOW + 7, &err), 0);
    assert_int_equal(trial_of(&job, 1)->status, BSO_FAILED);
    assert_true(trial_of(&job, 1)->end_timestamp == NOW + 7);
    assert_true(isnan(trial_of(&job, 1)->time) && isnan(trial_of(&job, 1)->energy));
    assert_int_equal(trial_of(&job, 1)->converged, -1);
    assert_true(trial_of(&job, 1)->dirty);
    assert_false(job.state_dirty);

    /* a Failed exploration is out of the explorer's view: the default is explored again */
    t = predict_ok(&job);
    assert_int_equal(t.batch_size, 16);
    assert_int_equal(t.type, BSO_TRIAL_EXPLORATION);
    assert_int_equal(t.trial_number, 2);
    report_ok(&job, 16, 2, 10, 1000, 0.9, 10);
    bso_job_clear_dirty(&job);
    assert_int_equal(bso_end_trial(&job, 16, 2, NOW + 9, &err), 0); /* finished: left alone */
    assert_int_equal(trial_of(&job, 2)->status, BSO_SUCCEEDED);
    assert_true(trial_of(&job, 2)->end_timestamp == NOW + 10);
    assert_false(trial_of(&job, 2)->dirty);
    assert_int_equal(bso_end_trial(&job, 16, 1, NOW + 9, &err), 0); /* already Failed */
    assert_true(trial_of(&job, 1)->end_timestamp == NOW + 7);

    assert_int_equal(bso_end_trial(&job, 8, 2, NOW, &err), -1);
    assert_int_equal(err.http_status, 404);
    assert_string_equal(err.message,
                        "Could not find the trial: job_id='test-job' batch_size=8 trial_number=2");
    bso_job_free(&job);
}

/* ---- Errors that leave the job as it was ------------------------------------------------- */

static void test_zero_pruning_rounds_is_an_error(void **state)
{
    int sizes[] = {8, 16};
    bso_spec spec = fake_spec(sizes, 2, 16);
    bso_job job;
    bso_error err = {0, ""};
    bso_trial t;
    (void)state;

    spec.num_pruning_rounds = 0;
    init_job(&job, &spec);
    bso_job_clear_dirty(&job);
    assert_int_equal(bso_predict(&job, NOW, 1, &t, &err), -1);
    assert_int_equal(err.http_status, 500);
    assert_non_null(strstr(err.message, "batch size(8)"));
    assert_int_equal(job.stage, BSO_STAGE_PRUNING);
    assert_int_equal(job.num_arms, 0);
    assert_int_equal(job.num_trials, 0);
    assert_false(job.state_dirty);
    bso_job_free(&job);
}

static void test_no_converged_batch_size_is_a_runtime_error(void **state)
{
    int sizes[] = {8, 16};
    bso_spec spec = fake_spec(sizes, 2, 16);
    bso_job job;
    bso_error err = {0, ""};
    bso_trial t;
    (void)state;

    init_job(&job, &spec);
    predict_ok(&job);
    report_ok(&job, 16, 1, 10, 1000, 0.1, 100);
    assert_int_equal(bso_predict(&job, NOW, 1, &t, &err), -1);
    assert_int_equal(err.http_status, 500);
    assert_string_equal(err.message, "No converged batch sizes has observed. Reconfigure "
                                     "batch_sizes and re-launch the job.");
    assert_int_equal(job.num_trials, 1);
    bso_job_free(&job);
}

/* ---- Seeded draws: reproducible, across a restart ----------------------------------------- */

/* Drive `cycles` predict/report cycles (costs depending on batch size and cycle); write the
 * batch sizes to seq[]. */
static void drive(bso_job *job, int cycles, int *seq, int from)
{
    for (int i = 0; i < cycles; i++) {
        bso_trial t = predict_ok(job);
        double time = 10 + t.batch_size / 37.0 + 0.05 * ((i + from) % 5);
        seq[i] = t.batch_size;
        report_ok(job, t.batch_size, t.trial_number, time, 200 * time, 0.9, 1);
    }
}

/* Load everything of `src` into a fresh job, as the server does from its rows, with the
 * generator through its stored JSON. */
static void reload(bso_job *dst, const bso_job *src)
{
    char json[256];

    init_job(dst, &src->spec);
    dst->stage = src->stage;
    dst->min_cost = src->min_cost;
    dst->min_cost_batch_size = src->min_cost_batch_size;
    dst->exp_default_batch_size = src->exp_default_batch_size;
    assert_true(zeus_np_rng_to_json(&src->rng, json, sizeof json) > 0);
    assert_int_equal(zeus_np_rng_from_json(&dst->rng, json), 0);
    for (size_t i = 0; i < src->num_trials; i++)
        assert_int_equal(bso_job_add_trial(dst, &src->trials[src->num_trials - 1 - i]), 0);
    for (size_t i = 0; i < src->num_arms; i++)
        assert_int_equal(bso_job_add_arm(dst, &src->arms[src->num_arms - 1 - i]), 0);
}

static void test_seeded_runs_repeat_and_survive_a_restart(void **state)
{
    int sizes[] = {32, 64, 128, 256};
    bso_spec spec = fake_spec(sizes, 4, 128);
    bso_job a, b, c;
    int sa[60], sb[60], sc[60], distinct = 0;
    (void)state;

    spec.mab_num_explorations = 3;
    init_job(&a, &spec);
    init_job(&b, &spec);
    drive(&a, 60, sa, 0);
    drive(&b, 60, sb, 0);
    assert_memory_equal(sa, sb, sizeof sa);
    for (int i = 1; i < 60; i++)
        distinct += sa[i] != sa[i - 1];
    assert_true(distinct > 0); /* the sequence is not a constant */

    /* the restart: 30 cycles, reload from "storage" (rows given in reverse order), 30 more */
    bso_job_free(&b);
    init_job(&b, &spec);
    drive(&b, 30, sc, 0);
    reload(&c, &b);
    drive(&c, 30, sc + 30, 30);
    assert_memory_equal(sa, sc, sizeof sa);
    bso_job_free(&a);
    bso_job_free(&b);
    bso_job_free(&c);
}

/* Without a seed the job's generator is untouched and the caller's entropy decides. */
static void test_unseeded_draws_come_from_entropy(void **state)
{
    int sizes[] = {32, 64, 128, 256};
    bso_spec spec = fake_spec(sizes, 4, 128);
    bso_job a, b;
    bso_error err;
    bso_trial ta, tb;
    zeus_np_rng before;
    (void)state;

    spec.has_mab_seed = false;
    spec.num_pruning_rounds = 1;
    init_job(&a, &spec);
    for (int i = 0; i < 4; i++) {
        bso_trial t = predict_ok(&a);
        report_ok(&a, t.batch_size, t.trial_number, 10 + i, 1000 + i, 0.9, 1);
    }
    reload(&b, &a);
    before = a.rng;
    for (int i = 0; i < 10; i++) {
        assert_int_equal(bso_predict(&a, NOW, 1000 + (uint64_t)i, &ta, &err), 0);
        assert_int_equal(bso_predict(&b, NOW, 1000 + (uint64_t)i, &tb, &err), 0);
        assert_int_equal(ta.batch_size, tb.batch_size);
        assert_int_equal(ta.type, BSO_TRIAL_MAB);
    }
    assert_memory_equal(&before, &a.rng, sizeof before);
    bso_job_free(&a);
    bso_job_free(&b);
}

/* ---- Dirty flags ------------------------------------------------------------------------- */

static size_t count_dirty_trials(const bso_job *job)
{
    size_t n = 0;
    for (size_t i = 0; i < job->num_trials; i++)
        n += job->trials[i].dirty;
    return n;
}

static void test_dirty_flags_mark_exactly_what_changed(void **state)
{
    int sizes[] = {8, 16};
    bso_spec spec = fake_spec(sizes, 2, 16);
    bso_job job;
    bso_trial t;
    (void)state;

    spec.num_pruning_rounds = 1;
    init_job(&job, &spec);
    assert_true(job.state_dirty); /* a new job is written whole */
    bso_job_clear_dirty(&job);

    predict_ok(&job); /* exploration: one new trial, job state untouched */
    assert_int_equal(count_dirty_trials(&job), 1);
    assert_true(trial_of(&job, 1)->dirty);
    assert_false(job.state_dirty);
    bso_job_clear_dirty(&job);

    report_ok(&job, 16, 1, 10, 1000, 0.4, 5); /* keep training: nothing changes */
    assert_int_equal(count_dirty_trials(&job), 0);
    assert_false(job.state_dirty);
    report_ok(&job, 16, 1, 10, 1000, 0.9, 5); /* first result: trial and min cost */
    assert_int_equal(count_dirty_trials(&job), 1);
    assert_true(job.state_dirty);
    bso_job_clear_dirty(&job);

    predict_ok(&job);
    bso_job_clear_dirty(&job);
    report_ok(&job, 8, 2, 20, 2000, 0.9, 5); /* dearer: the trial only */
    assert_true(trial_of(&job, 2)->dirty);
    assert_false(job.state_dirty);
    bso_job_clear_dirty(&job);

    t = predict_ok(&job); /* the switch: arms, stage, generator, the new trial */
    assert_int_equal(t.type, BSO_TRIAL_MAB);
    assert_true(job.state_dirty);
    assert_int_equal(count_dirty_trials(&job), 1);
    assert_true(trial_of(&job, t.trial_number)->dirty);
    assert_true(job.arms[0].dirty && job.arms[1].dirty);
    bso_job_clear_dirty(&job);

    report_ok(&job, t.batch_size, t.trial_number, 30, 3000, 0.9, 5); /* its arm, not the other */
    assert_true(arm_of(&job, t.batch_size)->dirty);
    assert_false(arm_of(&job, t.batch_size == 8 ? 16 : 8)->dirty);
    assert_int_equal(count_dirty_trials(&job), 1);
    assert_false(job.state_dirty); /* 30 s costs more than the min */
    bso_job_free(&job);
}

/* ---- Against Zeus's bandit under numpy ----------------------------------------------------- */

/* The Thompson-sampling draws the trace hook saw in one predict. */
typedef struct draws {
    int n;
    int bs[8];
    double mean[8], var[8], sample[8];
} draws;

static void record_draw(void *ctx, int bs, double mean, double var, double sample)
{
    draws *d = ctx;

    assert_true(d->n < 8);
    d->bs[d->n] = bs;
    d->mean[d->n] = mean;
    d->var[d->n] = var;
    d->sample[d->n] = sample;
    d->n++;
}

static double hex_double(const char *s)
{
    char *end;
    double x = strtod(s, &end);

    assert_true(end != s);
    return x;
}

/*
 * tests/data/bso/zeus_mab_reference.txt is the output of zeus_mab_reference.py: Zeus's
 * bandit code (mab.py, service.py) run with numpy 1.24.2 for a job with mab_seed 123456.
 * Drive the same job through bso_predict / bso_report and require the same batch sizes, the
 * same Thompson-sampling draws and the same arm posteriors, bit for bit, and the same final
 * generator state JSON.
 */
static void test_seeded_mab_matches_zeus_under_numpy(void **state)
{
    int sizes[] = {32, 64, 128, 256};
    bso_spec spec = fake_spec(sizes, 4, 128);
    const char *data = getenv("ZEUS_TEST_DATA");
    char path[4096], *text, *line, *save = NULL;
    double explore[4][2][2];
    bso_job job;
    draws d = {0}, want = {0};
    bso_trial t = {0};
    int predicts = 0, fits = 0, draws_seen = 0;
    (void)state;

    if (!data)
        fail_msg("ZEUS_TEST_DATA is not set (ctest sets it)");
    snprintf(path, sizeof path, "%s/bso/zeus_mab_reference.txt", data);
    text = zt_read_file(path);
    assert_non_null(text);

    spec.beta_knob = NAN;
    spec.mab_num_explorations = 3;
    init_job(&job, &spec);
    bso_set_trace(&job, record_draw, &d);

    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char word[16], a[64], b[64], c[64];
        int bs, k, n;

        if (sscanf(line, "%15s", word) != 1)
            continue;
        if (strcmp(word, "explore") == 0) {
            assert_int_equal(sscanf(line, "explore %d %d %63s %63s", &bs, &k, a, b), 4);
            for (int i = 0; i < 4; i++)
                if (sizes[i] == bs) {
                    explore[i][k][0] = hex_double(a);
                    explore[i][k][1] = hex_double(b);
                }
        } else if (strcmp(word, "predict") == 0) {
            if (predicts++ == 0) { /* pruning first: the explorer asks for each (bs, round) */
                for (int i = 0; i < 8; i++) {
                    bso_trial x = predict_ok(&job);
                    int idx = x.batch_size == 32 ? 0 : x.batch_size == 64 ? 1
                              : x.batch_size == 128 ? 2 : 3;
                    int rnd = x.trial_number > 4;
                    assert_int_equal(x.type, BSO_TRIAL_EXPLORATION);
                    report_ok(&job, x.batch_size, x.trial_number, explore[idx][rnd][0],
                              explore[idx][rnd][1], 0.9, 1);
                }
            }
            assert_int_equal(sscanf(line, "predict %d", &bs), 1);
            d.n = 0;
            t = predict_ok(&job);
            assert_int_equal(t.type, BSO_TRIAL_MAB);
            if (t.batch_size != bs)
                fail_msg("MAB predict %d: Zeus chose %d, we chose %d", predicts, bs, t.batch_size);
            assert_int_equal(d.n, want.n);
            for (int i = 0; i < d.n; i++) {
                assert_int_equal(d.bs[i], want.bs[i]);
                assert_true(d.mean[i] == want.mean[i]);
                assert_true(d.var[i] == want.var[i]);
                if (d.sample[i] != want.sample[i])
                    fail_msg("predict %d arm %d: sample %a, Zeus %a", predicts, d.bs[i],
                             d.sample[i], want.sample[i]);
            }
            want.n = 0;
        } else if (strcmp(word, "arm") == 0) {
            /* Zeus logs the draws before it returns: they belong to the next predict */
            assert_int_equal(sscanf(line, "arm %d %63s %63s %63s", &bs, a, b, c), 4);
            assert_true(want.n < 8);
            want.bs[want.n] = bs;
            want.mean[want.n] = hex_double(a);
            want.var[want.n] = hex_double(b);
            want.sample[want.n] = hex_double(c);
            want.n++;
            draws_seen++;
        } else if (strcmp(word, "report") == 0) {
            assert_int_equal(sscanf(line, "report %d %63s %63s", &bs, a, b), 3);
            assert_int_equal(t.batch_size, bs);
            report_ok(&job, bs, t.trial_number, hex_double(a), hex_double(b), 0.9, 1);
        } else if (strcmp(word, "fit") == 0) {
            const bso_arm *arm;
            assert_int_equal(sscanf(line, "fit %d %63s %63s %63s %d", &bs, a, b, c, &n), 5);
            arm = arm_of(&job, bs);
            assert_non_null(arm);
            assert_true(arm->param_mean == hex_double(a));
            assert_true(arm->param_precision == hex_double(b));
            assert_true(arm->reward_precision == hex_double(c));
            assert_int_equal(arm->num_observations, n);
            fits++;
        } else if (strcmp(word, "state") == 0) {
            char json[256];
            assert_true(zeus_np_rng_to_json(&job.rng, json, sizeof json) > 0);
            assert_string_equal(json, line + strlen("state "));
        }
    }
    assert_true(predicts == 40 && fits == 40);
    assert_true(draws_seen > 100); /* most predicts sample every arm */
    free(text);
    bso_job_free(&job);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_explorer_normal),
        cmocka_unit_test(test_explorer_default_is_largest),
        cmocka_unit_test(test_explorer_default_is_smallest),
        cmocka_unit_test(test_explorer_all_converge),
        cmocka_unit_test(test_explorer_only_default_converges),
        cmocka_unit_test(test_explorer_tie_keeps_the_first_cheapest),
        cmocka_unit_test(test_exploration_walk_moves_default_to_cheapest),
        cmocka_unit_test(test_mab_stage_fifty_cycles_all_converge),
        cmocka_unit_test(test_concurrent_trial_while_exploration_is_dispatched),
        cmocka_unit_test(test_report_keep_training_until_a_stop_condition),
        cmocka_unit_test(test_report_early_stop_above_beta_times_min_cost),
        cmocka_unit_test(test_report_beta_null_never_stops_early),
        cmocka_unit_test(test_report_max_epochs_and_min_cost_quirk),
        cmocka_unit_test(test_report_already_reported_and_failed),
        cmocka_unit_test(test_report_unknown_trial),
        cmocka_unit_test(test_report_concurrent_after_mab_switch_is_refused),
        cmocka_unit_test(test_fit_arm_zero_variance_is_exact),
        cmocka_unit_test(test_fit_arm_population_variance_and_priors),
        cmocka_unit_test(test_window_cuts_history_as_zeus),
        cmocka_unit_test(test_end_trial_fails_dispatched_only),
        cmocka_unit_test(test_zero_pruning_rounds_is_an_error),
        cmocka_unit_test(test_no_converged_batch_size_is_a_runtime_error),
        cmocka_unit_test(test_seeded_runs_repeat_and_survive_a_restart),
        cmocka_unit_test(test_unseeded_draws_come_from_entropy),
        cmocka_unit_test(test_dirty_flags_mark_exactly_what_changed),
        cmocka_unit_test(test_seeded_mab_matches_zeus_under_numpy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
