/*
 * test_monitor.c - Energy windows (zeus_monitor_*) over the fake NVML and a fake RAPL tree:
 * serial, nested and overlapping windows, cancel, restart, duplicate and unknown names,
 * threads, the CSV log, the zero-energy rule and approx_instant_energy, and a GPU lost in
 * the middle of a window.
 *
 * The fake's counters are set by hand (manual mode) so every expected energy is exact, as
 * Zeus's own tests do with itertools.count. The monitors here read counters directly (Zeus's
 * way); test_sampled.c covers the sampling engine.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_nvml_control.h"
#include "sysfs_tree.h"
#include "test_support.h"
#include "zeus/zeus.h"

/* ---- Fixtures ------------------------------------------------------------------------- */

struct fixture {
    zt_sysfs *sysfs;
    char *tmp;
    pthread_mutex_t lock; /* warnings come from every thread that ends a window */
    char warnings[4096];
    int warning_count;
};

static void record_warning(const char *msg, void *user)
{
    struct fixture *f = user;
    pthread_mutex_lock(&f->lock);
    f->warning_count++;
    snprintf(f->warnings, sizeof f->warnings, "%s", msg);
    pthread_mutex_unlock(&f->lock);
}

/* Two manual-mode GPUs and one CPU package with DRAM. */
static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    const struct zt_fake_nvml *fake = zt_fake_nvml();

    if (fake->reset("gpus=2") != 0)
        return -1;
    pthread_mutex_init(&f->lock, NULL);
    fake->set_energy_mj(0, 1000);
    fake->set_energy_mj(1, 5000);
    f->sysfs = zt_sysfs_create();
    zt_sysfs_add_package(f->sysfs, 0, 10000000, 262143328850ull);
    zt_sysfs_add_dram(f->sysfs, 0, 0, 2000000, 65712999613ull);
    zt_sysfs_use(f->sysfs);
    f->tmp = zt_mkdtemp();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    zt_sysfs_destroy(f->sysfs);
    zt_rmtree(f->tmp);
    free(f->tmp);
    pthread_mutex_destroy(&f->lock);
    free(f);
    return 0;
}

static zeus_monitor *make_monitor(struct fixture *f, zeus_monitor_options *o)
{
    zeus_monitor_options local;
    zeus_monitor *mon = NULL;

    if (o == NULL) {
        zeus_monitor_options_init(&local);
        o = &local;
    }
    o->warn = record_warning;
    o->warn_user = f;
    o->direct_reads = 1; /* exact counter deltas; tests/unit/test_sampled.c covers sampling */
    if (zeus_monitor_create(o, &mon) != ZEUS_OK)
        fail_msg("zeus_monitor_create: %s", zeus_last_error());
    return mon;
}

static void set_gpu_mj(unsigned gpu, unsigned long long mj)
{
    zt_fake_nvml()->set_energy_mj(gpu, mj);
}

/* ---- Basic windows -------------------------------------------------------------------- */

static void test_window_serial_reports_counter_deltas(void **state)
{
    struct fixture *f = *state;
    zeus_monitor *mon = make_monitor(f, NULL);
    zeus_measurement m;

    assert_int_equal(zeus_monitor_begin_window(mon, "a", 0), ZEUS_OK);
    set_gpu_mj(0, 4000);
    set_gpu_mj(1, 5500);
    zt_sysfs_set_energy(f->sysfs, "intel-rapl:0", 13000000);
    zt_sysfs_set_energy(f->sysfs, "intel-rapl:0:0", 2500000);
    assert_int_equal(zeus_monitor_end_window(mon, "a", 0, &m), ZEUS_OK);

    assert_int_equal(m.gpu_count, 2);
    assert_int_equal(m.gpu_index[0], 0);
    assert_int_equal(m.gpu_index[1], 1);
    assert_near(m.gpu_energy_j[0], 3.0, 1e-9);
    assert_near(m.gpu_energy_j[1], 0.5, 1e-9);
    assert_true(m.gpu_flags[0] & ZEUS_ENERGY_VALID);
    assert_true(m.gpu_flags[0] & ZEUS_ENERGY_COUNTER);
    assert_int_equal(m.cpu_count, 1);
    assert_near(m.cpu_energy_j[0], 3.0, 1e-9);
    assert_near(m.dram_energy_j[0], 0.5, 1e-9);
    assert_near(zeus_measurement_total_energy(&m), 3.5, 1e-9); /* GPUs only, as Zeus */
    assert_true(m.time_s >= 0 && m.time_s < 5);

    /* The same name can be used again once closed. */
    assert_int_equal(zeus_monitor_begin_window(mon, "a", 0), ZEUS_OK);
    set_gpu_mj(0, 4100);
    assert_int_equal(zeus_monitor_end_window(mon, "a", 0, &m), ZEUS_OK);
    assert_near(m.gpu_energy_j[0], 0.1, 1e-9);
    zeus_monitor_destroy(mon);
}

static void test_window_nested_and_overlapping_are_independent(void **state)
{
    struct fixture *f = *state;
    zeus_monitor *mon = make_monitor(f, NULL);
    zeus_measurement outer, inner, over;

    assert_int_equal(zeus_monitor_begin_window(mon, "outer", 0), ZEUS_OK); /* gpu0 at 1000 */
    set_gpu_mj(0, 2000);
    assert_int_equal(zeus_monitor_begin_window(mon, "inner", 0), ZEUS_OK); /* 2000 */
    set_gpu_mj(0, 3000);
    assert_int_equal(zeus_monitor_begin_window(mon, "over", 0), ZEUS_OK); /* 3000 */
    set_gpu_mj(0, 7000);
    assert_int_equal(zeus_monitor_end_window(mon, "inner", 0, &inner), ZEUS_OK);
    set_gpu_mj(0, 11000);
    assert_int_equal(zeus_monitor_end_window(mon, "outer", 0, &outer), ZEUS_OK);
    set_gpu_mj(0, 12000);
    assert_int_equal(zeus_monitor_end_window(mon, "over", 0, &over), ZEUS_OK);

    assert_near(inner.gpu_energy_j[0], 5.0, 1e-9);
    assert_near(outer.gpu_energy_j[0], 10.0, 1e-9);
    assert_near(over.gpu_energy_j[0], 9.0, 1e-9);
    assert_true(outer.time_s >= inner.time_s);
    assert_int_equal(zeus_monitor_open_window_count(mon), 0);
    zeus_monitor_destroy(mon);
}

static void test_window_duplicate_begin_fails_and_keeps_open_window(void **state)
{
    struct fixture *f = *state;
    zeus_monitor *mon = make_monitor(f, NULL);
    zeus_measurement m;

    assert_int_equal(zeus_monitor_begin_window(mon, "step", 0), ZEUS_OK);
    set_gpu_mj(0, 2000);
    assert_int_equal(zeus_monitor_begin_window(mon, "step", 0), ZEUS_ERR_ALREADY_EXISTS);
    assert_string_equal(zeus_last_error(), "Measurement window 'step' already exists");
    set_gpu_mj(0, 3000);
    assert_int_equal(zeus_monitor_end_window(mon, "step", 0, &m), ZEUS_OK);
    assert_near(m.gpu_energy_j[0], 2.0, 1e-9); /* from the first begin, undisturbed */
    zeus_monitor_destroy(mon);
}

static void test_window_unknown_end_fails_and_leaves_out_untouched(void **state)
{
    struct fixture *f = *state;
    zeus_monitor *mon = make_monitor(f, NULL);
    zeus_measurement m;

    memset(&m, 0xab, sizeof m);
    assert_int_equal(zeus_monitor_begin_window(mon, "open", 0), ZEUS_OK);
    assert_int_equal(zeus_monitor_end_window(mon, "nope", 0, &m), ZEUS_ERR_NOT_FOUND);
    assert_string_equal(zeus_last_error(), "Measurement window 'nope' does not exist");
    assert_int_equal(m.gpu_count, 0xabababab);
    assert_int_equal(zeus_monitor_open_window_count(mon), 1);
    assert_int_equal(zeus_monitor_end_window(mon, "open", 0, &m), ZEUS_OK);
    assert_int_equal(zeus_monitor_end_window(mon, "open", 0, &m), ZEUS_ERR_NOT_FOUND);
    zeus_monitor_destroy(mon);
}

static void test_window_restart_replaces_start(void **state)
{
    struct fixture *f = *state;
    zeus_monitor *mon = make_monitor(f, NULL);
    zeus_measurement m;

    assert_int_equal(zeus_monitor_begin_window(mon, "nb", 0), ZEUS_OK);
    set_gpu_mj(0, 9000);
    assert_int_equal(zeus_monitor_begin_window(mon, "nb", ZEUS_WINDOW_RESTART), ZEUS_OK);
    set_gpu_mj(0, 9500);
    assert_int_equal(zeus_monitor_end_window(mon, "nb", 0, &m), ZEUS_OK);
    assert_near(m.gpu_energy_j[0], 0.5, 1e-9);
    /* Restarting a window that is not open just opens it. */
    assert_int_equal(zeus_monitor_begin_window(mon, "fresh", ZEUS_WINDOW_RESTART), ZEUS_OK);
    assert_int_equal(zeus_monitor_open_window_count(mon), 1);
    zeus_monitor_destroy(mon);
}

static void test_window_cancel_reports_zeros_and_logs_nothing(void **state)
{
    struct fixture *f = *state;
    zeus_monitor_options o;
    char path[512];
    zeus_measurement m;
    zeus_monitor *mon;
    char *log;

    snprintf(path, sizeof path, "%s/log.csv", f->tmp);
    zeus_monitor_options_init(&o);
    o.log_file = path;
    mon = make_monitor(f, &o);
    assert_int_equal(zeus_monitor_begin_window(mon, "c", 0), ZEUS_OK);
    set_gpu_mj(0, 9000);
    assert_int_equal(zeus_monitor_end_window(mon, "c", ZEUS_WINDOW_CANCEL, &m), ZEUS_OK);
    assert_true(m.flags & ZEUS_MEASUREMENT_CANCELLED);
    assert_int_equal(m.gpu_count, 2);
    assert_true(m.gpu_energy_j[0] == 0.0 && m.gpu_energy_j[1] == 0.0 && m.time_s == 0.0);
    assert_true(m.cpu_energy_j[0] == 0.0);
    assert_int_equal(zeus_monitor_open_window_count(mon), 0);
    zeus_monitor_destroy(mon);

    log = zt_read_file(path);
    assert_string_equal(log, "start_time,window_name,elapsed_time,gpu0_energy,gpu1_energy\n");
    free(log);
}

static void test_window_reset_drops_every_window(void **state)
{
    struct fixture *f = *state;
    zeus_monitor *mon = make_monitor(f, NULL);

    assert_int_equal(zeus_monitor_begin_window(mon, "x", 0), ZEUS_OK);
    assert_int_equal(zeus_monitor_begin_window(mon, "y", 0), ZEUS_OK);
    assert_int_equal(zeus_monitor_reset_windows(mon), ZEUS_OK);
    assert_int_equal(zeus_monitor_open_window_count(mon), 0);
    assert_int_equal(zeus_monitor_end_window(mon, "x", 0, NULL), ZEUS_ERR_NOT_FOUND);
    assert_int_equal(zeus_monitor_begin_window(mon, "x", 0), ZEUS_OK);
    zeus_monitor_destroy(mon); /* with a window open: no leak under ASan */
}

/* ---- Options and selection ------------------------------------------------------------ */

static void test_create_gpu_subset_reports_in_given_order(void **state)
{
    struct fixture *f = *state;
    zeus_monitor_options o;
    unsigned gpus[] = {1, 0};
    zeus_measurement m;
    zeus_monitor *mon;

    zeus_monitor_options_init(&o);
    o.gpu_indices = gpus;
    o.gpu_index_count = 2;
    o.cpu_indices = gpus;
    o.cpu_index_count = 0; /* none */
    mon = make_monitor(f, &o);
    assert_int_equal(zeus_monitor_begin_window(mon, "w", 0), ZEUS_OK);
    set_gpu_mj(1, 6000);
    assert_int_equal(zeus_monitor_end_window(mon, "w", 0, &m), ZEUS_OK);
    assert_int_equal(m.gpu_count, 2);
    assert_int_equal(m.gpu_index[0], 1);
    assert_near(m.gpu_energy_j[0], 1.0, 1e-9);
    assert_int_equal(m.gpu_index[1], 0);
    assert_near(m.gpu_energy_j[1], 0.0, 1e-9);
    assert_int_equal(m.cpu_count, 0);
    zeus_monitor_destroy(mon);
}

static void test_create_bad_indices_fail_with_clear_errors(void **state)
{
    zeus_monitor_options o;
    unsigned bad[] = {0, 7}, dup[] = {1, 1};
    zeus_monitor *mon = NULL;
    (void)state;

    zeus_monitor_options_init(&o);
    o.gpu_indices = bad;
    o.gpu_index_count = 2;
    assert_int_equal(zeus_monitor_create(&o, &mon), ZEUS_ERR_NOT_FOUND);
    assert_string_equal(zeus_last_error(), "GPU 7 not found: 2 GPUs are visible (0-1)");
    assert_null(mon);

    o.gpu_indices = dup;
    assert_int_equal(zeus_monitor_create(&o, &mon), ZEUS_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(zeus_last_error(), "given twice"));

    o.gpu_indices = NULL;
    o.cpu_indices = bad + 1;
    o.cpu_index_count = 1;
    assert_int_equal(zeus_monitor_create(&o, &mon), ZEUS_ERR_NOT_FOUND);
    assert_non_null(strstr(zeus_last_error(), "CPU 7 not found"));

    o.cpu_indices = NULL;
    o.size = 3; /* not from zeus_monitor_options_init */
    assert_int_equal(zeus_monitor_create(&o, &mon), ZEUS_ERR_INVALID_ARGUMENT);
    assert_int_equal(zeus_monitor_create(NULL, NULL), ZEUS_ERR_INVALID_ARGUMENT);
}

static void test_calls_with_bad_handles_fail_without_crash(void **state)
{
    zeus_measurement m;
    (void)state;
    assert_int_equal(zeus_monitor_begin_window(NULL, "a", 0), ZEUS_ERR_INVALID_ARGUMENT);
    assert_int_equal(zeus_monitor_end_window(NULL, "a", 0, &m), ZEUS_ERR_INVALID_ARGUMENT);
    assert_int_equal(zeus_monitor_reset_windows(NULL), ZEUS_ERR_INVALID_ARGUMENT);
    assert_int_equal(zeus_monitor_open_window_count(NULL), 0);
    assert_null(zeus_monitor_devices(NULL));
    assert_true(zeus_measurement_total_energy(NULL) == 0.0);
    zeus_monitor_destroy(NULL);
}

static void test_window_null_key_is_invalid(void **state)
{
    struct fixture *f = *state;
    zeus_monitor *mon = make_monitor(f, NULL);
    assert_int_equal(zeus_monitor_begin_window(mon, NULL, 0), ZEUS_ERR_INVALID_ARGUMENT);
    assert_int_equal(zeus_monitor_end_window(mon, NULL, 0, NULL), ZEUS_ERR_INVALID_ARGUMENT);
    zeus_monitor_destroy(mon);
}

/* ---- Sync callback -------------------------------------------------------------------- */

static void count_sync(void *user)
{
    (*(int *)user)++;
}

static void test_window_sync_flag_calls_callback(void **state)
{
    struct fixture *f = *state;
    zeus_monitor_options o;
    zeus_monitor *mon;
    int syncs = 0;

    zeus_monitor_options_init(&o);
    o.sync = count_sync;
    o.sync_user = &syncs;
    mon = make_monitor(f, &o);
    assert_int_equal(zeus_monitor_begin_window(mon, "s", ZEUS_WINDOW_SYNC), ZEUS_OK);
    assert_int_equal(zeus_monitor_end_window(mon, "s", ZEUS_WINDOW_SYNC, NULL), ZEUS_OK);
    assert_int_equal(zeus_monitor_begin_window(mon, "s", 0), ZEUS_OK);
    assert_int_equal(zeus_monitor_end_window(mon, "s", 0, NULL), ZEUS_OK);
    assert_int_equal(syncs, 2);
    zeus_monitor_destroy(mon);
}

/* ---- Zero energy and approx_instant_energy -------------------------------------------- */

static void test_window_zero_energy_warns_and_flags(void **state)
{
    struct fixture *f = *state;
    zeus_monitor *mon = make_monitor(f, NULL);
    zeus_measurement m;

    assert_int_equal(zeus_monitor_begin_window(mon, "short", 0), ZEUS_OK);
    set_gpu_mj(1, 5300);
    assert_int_equal(zeus_monitor_end_window(mon, "short", 0, &m), ZEUS_OK);
    assert_true(m.gpu_energy_j[0] == 0.0);
    assert_true(m.gpu_flags[0] & ZEUS_ENERGY_ZERO);
    assert_true(m.gpu_flags[0] & ZEUS_ENERGY_VALID);
    assert_false(m.gpu_flags[1] & ZEUS_ENERGY_ZERO);
    assert_non_null(strstr(f->warnings, "The energy consumption of one or more GPUs was "
                                        "measured as zero"));
    assert_non_null(strstr(f->warnings, "approx_instant_energy"));
    zeus_monitor_destroy(mon);
}

static void test_window_approx_instant_energy_replaces_zero(void **state)
{
    struct fixture *f = *state;
    zeus_monitor_options o;
    zeus_measurement m;
    zeus_monitor *mon;

    zt_fake_nvml()->set_power_mw(0, 200000); /* 200 W */
    zeus_monitor_options_init(&o);
    o.approx_instant_energy = 1;
    mon = make_monitor(f, &o);
    assert_int_equal(zeus_monitor_begin_window(mon, "tiny", 0), ZEUS_OK);
    usleep(20000);
    set_gpu_mj(1, 5400);
    assert_int_equal(zeus_monitor_end_window(mon, "tiny", 0, &m), ZEUS_OK);
    /* Zeus's formula: P_instant x (window time - time spent reading power). */
    assert_true(m.gpu_flags[0] & ZEUS_ENERGY_ESTIMATED);
    assert_true(m.gpu_energy_j[0] <= 200.0 * m.time_s);
    assert_near(m.gpu_energy_j[0], 200.0 * m.time_s, 200.0 * 0.005);
    assert_true(m.gpu_energy_j[0] > 0);
    /* A GPU whose counter moved keeps the measured value. */
    assert_near(m.gpu_energy_j[1], 0.4, 1e-9);
    assert_false(m.gpu_flags[1] & ZEUS_ENERGY_ESTIMATED);
    assert_int_equal(f->warning_count, 0);
    zeus_monitor_destroy(mon);
}

/* ---- Failures ------------------------------------------------------------------------- */

static void test_window_gpu_lost_midway_reports_others(void **state)
{
    struct fixture *f = *state;
    zeus_monitor_options o;
    zeus_measurement m;
    zeus_monitor *mon;
    char path[512], *log;

    snprintf(path, sizeof path, "%s/sub/dir/lost.csv", f->tmp);
    zeus_monitor_options_init(&o);
    o.log_file = path;
    mon = make_monitor(f, &o);
    assert_int_equal(zeus_monitor_begin_window(mon, "w", 0), ZEUS_OK);
    set_gpu_mj(0, 3000);
    (zt_fake_nvml()->fail)("nvmlDeviceGetTotalEnergyConsumption", 1, 15 /* GPU_IS_LOST */, -1);
    assert_int_equal(zeus_monitor_end_window(mon, "w", 0, &m), ZEUS_ERR_GPU_LOST);
    assert_non_null(strstr(zeus_last_error(), "window 'w'"));
    assert_near(m.gpu_energy_j[0], 2.0, 1e-9);
    assert_true(isnan(m.gpu_energy_j[1]));
    assert_true(m.gpu_flags[1] & ZEUS_ENERGY_FAILED);
    assert_false(m.gpu_flags[1] & ZEUS_ENERGY_VALID);
    assert_true(isnan(zeus_measurement_total_energy(&m)));
    assert_int_equal(zeus_monitor_open_window_count(mon), 0);

    /* While the GPU is gone no window can open; nothing is left half-open. */
    assert_int_equal(zeus_monitor_begin_window(mon, "next", 0), ZEUS_ERR_GPU_LOST);
    assert_int_equal(zeus_monitor_open_window_count(mon), 0);
    (zt_fake_nvml()->fail)("nvmlDeviceGetTotalEnergyConsumption", 1, 0, 0);
    assert_int_equal(zeus_monitor_begin_window(mon, "next", 0), ZEUS_OK);
    zeus_monitor_destroy(mon);

    log = zt_read_file(path);
    assert_non_null(log);
    assert_non_null(strstr(log, ",w,"));
    assert_non_null(strstr(log, ",2.0,nan\n"));
    free(log);
}

static void test_window_counter_going_back_is_a_reset_not_negative(void **state)
{
    struct fixture *f = *state;
    zeus_monitor *mon = make_monitor(f, NULL);
    zeus_measurement m;

    assert_int_equal(zeus_monitor_begin_window(mon, "r", 0), ZEUS_OK);
    set_gpu_mj(0, 10); /* driver reloaded */
    assert_int_equal(zeus_monitor_end_window(mon, "r", 0, &m), ZEUS_OK);
    assert_true(isnan(m.gpu_energy_j[0]));
    assert_true(m.gpu_flags[0] & ZEUS_ENERGY_RESET);
    zeus_monitor_destroy(mon);
}

static void test_window_pre_volta_gpu_is_unsupported_not_zero(void **state)
{
    struct fixture *f = *state;
    zeus_measurement m;
    zeus_monitor *mon;

    zt_fake_nvml_reset("gpus=2;gpu1.arch=4");
    set_gpu_mj(0, 1000);
    mon = make_monitor(f, NULL);
    assert_non_null(strstr(f->warnings, "no energy counter"));
    assert_int_equal(zeus_monitor_begin_window(mon, "p", 0), ZEUS_OK);
    set_gpu_mj(0, 1500);
    assert_int_equal(zeus_monitor_end_window(mon, "p", 0, &m), ZEUS_OK);
    assert_near(m.gpu_energy_j[0], 0.5, 1e-9);
    assert_true(isnan(m.gpu_energy_j[1]));
    assert_true(m.gpu_flags[1] & ZEUS_ENERGY_UNSUPPORTED);
    zeus_monitor_destroy(mon);
}

static void test_window_cpu_jump_is_left_out_and_flagged(void **state)
{
    struct fixture *f = *state;
    zeus_monitor *mon = make_monitor(f, NULL);
    zeus_measurement m;

    assert_int_equal(zeus_monitor_begin_window(mon, "j", 0), ZEUS_OK);
    /* 100 kJ in a moment: no package draws that; the step is left out, not added. */
    zt_sysfs_set_energy(f->sysfs, "intel-rapl:0", 10000000 + UINT64_C(100000000000));
    assert_int_equal(zeus_monitor_end_window(mon, "j", 0, &m), ZEUS_OK);
    assert_true(m.cpu_flags[0] & ZEUS_ENERGY_VALID);
    assert_true(m.cpu_flags[0] & ZEUS_ENERGY_DISCONTINUITY);
    assert_near(m.cpu_energy_j[0], 0.0, 1e-9);
    assert_false(m.dram_flags[0] & ZEUS_ENERGY_DISCONTINUITY);

    /* The next window, after the rebase, is clean and exact. */
    assert_int_equal(zeus_monitor_begin_window(mon, "k", 0), ZEUS_OK);
    zt_sysfs_set_energy(f->sysfs, "intel-rapl:0", 10000000 + UINT64_C(100000000000) + 500000);
    assert_int_equal(zeus_monitor_end_window(mon, "k", 0, &m), ZEUS_OK);
    assert_false(m.cpu_flags[0] & ZEUS_ENERGY_DISCONTINUITY);
    assert_near(m.cpu_energy_j[0], 0.5, 1e-9);
    zeus_monitor_destroy(mon);
}

/* ---- CSV log -------------------------------------------------------------------------- */

static void test_log_matches_zeus_format(void **state)
{
    struct fixture *f = *state;
    zeus_monitor_options o;
    zeus_measurement m1, m2;
    zeus_monitor *mon;
    char path[512], *log, line[256];
    FILE *in;
    double start, elapsed, e0, e1;
    char name[64];

    snprintf(path, sizeof path, "%s/zeus.csv", f->tmp);
    zeus_monitor_options_init(&o);
    o.log_file = path;
    mon = make_monitor(f, &o);
    assert_int_equal(zeus_monitor_begin_window(mon, "outer", 0), ZEUS_OK);
    assert_int_equal(zeus_monitor_begin_window(mon, "in,\"ner\"", 0), ZEUS_OK);
    set_gpu_mj(0, 2500);
    set_gpu_mj(1, 6000);
    assert_int_equal(zeus_monitor_end_window(mon, "in,\"ner\"", 0, &m1), ZEUS_OK);
    assert_int_equal(zeus_monitor_end_window(mon, "outer", 0, &m2), ZEUS_OK);
    zeus_monitor_destroy(mon);

    log = zt_read_file(path);
    assert_non_null(log);
    /* Header, then rows in the order windows ended; the odd name is a quoted CSV field. */
    {
        const char *header = "start_time,window_name,elapsed_time,gpu0_energy,gpu1_energy\n";
        assert_int_equal(strncmp(log, header, strlen(header)), 0);
    }
    assert_non_null(strstr(log, ",\"in,\"\"ner\"\"\","));
    assert_true(strstr(log, "\"in,") < strstr(log, ",outer,"));
    free(log);

    in = fopen(path, "r");
    assert_non_null(fgets(line, sizeof line, in));
    assert_non_null(fgets(line, sizeof line, in));
    assert_non_null(fgets(line, sizeof line, in));
    assert_int_equal(sscanf(line, "%lf,%63[^,],%lf,%lf,%lf", &start, name, &elapsed, &e0, &e1),
                     5);
    fclose(in);
    assert_string_equal(name, "outer");
    assert_true(start == m2.start_unix_s);
    assert_true(elapsed == m2.time_s);
    assert_near(e0, 1.5, 1e-12);
    assert_near(e1, 1.0, 1e-12);
}

static void test_log_cpu_columns_follow_gpu_columns(void **state)
{
    struct fixture *f = *state;
    zeus_monitor_options o;
    zeus_monitor *mon;
    char path[512], *log;

    snprintf(path, sizeof path, "%s/cpu.csv", f->tmp);
    zeus_monitor_options_init(&o);
    o.log_file = path;
    o.log_cpu_columns = 1;
    mon = make_monitor(f, &o);
    assert_int_equal(zeus_monitor_begin_window(mon, "w", 0), ZEUS_OK);
    zt_sysfs_set_energy(f->sysfs, "intel-rapl:0", 10250000);
    assert_int_equal(zeus_monitor_end_window(mon, "w", 0, NULL), ZEUS_OK);
    zeus_monitor_destroy(mon);

    log = zt_read_file(path);
    assert_non_null(strstr(log, "start_time,window_name,elapsed_time,gpu0_energy,gpu1_energy,"
                                "cpu0_energy,dram0_energy\n"));
    assert_non_null(strstr(log, ",0.0,0.0,0.25,0.0\n"));
    free(log);
}

static void test_log_unwritable_path_fails_create(void **state)
{
    struct fixture *f = *state;
    zeus_monitor_options o;
    zeus_monitor *mon = NULL;
    char path[512];

    snprintf(path, sizeof path, "%s/file", f->tmp);
    zt_write_file(path, "x");
    snprintf(path, sizeof path, "%s/file/under/a/file.csv", f->tmp);
    zeus_monitor_options_init(&o);
    o.log_file = path;
    assert_int_not_equal(zeus_monitor_create(&o, &mon), ZEUS_OK);
    assert_null(mon);
    assert_non_null(strstr(zeus_last_error(), "file"));
}

/* ---- Threads -------------------------------------------------------------------------- */

struct thread_arg {
    zeus_monitor *mon;
    int id;
    int errors;
    int wins;
};

static void *window_loop(void *p)
{
    struct thread_arg *a = p;
    char key[32];
    zeus_measurement m;

    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof key, "t%d-%d", a->id, i % 4);
        if (zeus_monitor_begin_window(a->mon, key, 0) != ZEUS_OK)
            a->errors++;
        if (zeus_monitor_end_window(a->mon, key, 0, &m) != ZEUS_OK || m.gpu_count != 2 ||
            !(m.gpu_energy_j[0] >= 0))
            a->errors++;
        /* Everyone races for one shared name: exactly one holder at a time. */
        if (zeus_monitor_begin_window(a->mon, "shared", 0) == ZEUS_OK) {
            a->wins++;
            if (zeus_monitor_end_window(a->mon, "shared", 0, NULL) != ZEUS_OK)
                a->errors++;
        }
    }
    return NULL;
}

static void test_window_many_threads_no_errors(void **state)
{
    struct fixture *f = *state;
    zeus_monitor *mon;
    pthread_t t[8];
    struct thread_arg args[8];
    int wins = 0;

    zt_fake_nvml_reset("gpus=2;power_w=300"); /* traced counters that move with time */
    mon = make_monitor(f, NULL);
    for (int i = 0; i < 8; i++) {
        args[i] = (struct thread_arg){.mon = mon, .id = i};
        pthread_create(&t[i], NULL, window_loop, &args[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(args[i].errors, 0);
        wins += args[i].wins;
    }
    assert_true(wins > 0);
    assert_int_equal(zeus_monitor_open_window_count(mon), 0);
    zeus_monitor_destroy(mon);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_window_serial_reports_counter_deltas),
        T(test_window_nested_and_overlapping_are_independent),
        T(test_window_duplicate_begin_fails_and_keeps_open_window),
        T(test_window_unknown_end_fails_and_leaves_out_untouched),
        T(test_window_restart_replaces_start),
        T(test_window_cancel_reports_zeros_and_logs_nothing),
        T(test_window_reset_drops_every_window),
        T(test_create_gpu_subset_reports_in_given_order),
        T(test_create_bad_indices_fail_with_clear_errors),
        T(test_calls_with_bad_handles_fail_without_crash),
        T(test_window_null_key_is_invalid),
        T(test_window_sync_flag_calls_callback),
        T(test_window_zero_energy_warns_and_flags),
        T(test_window_approx_instant_energy_replaces_zero),
        T(test_window_gpu_lost_midway_reports_others),
        T(test_window_counter_going_back_is_a_reset_not_negative),
        T(test_window_pre_volta_gpu_is_unsupported_not_zero),
        T(test_window_cpu_jump_is_left_out_and_flagged),
        T(test_log_matches_zeus_format),
        T(test_log_cpu_columns_follow_gpu_columns),
        T(test_log_unwritable_path_fails_create),
        T(test_window_many_threads_no_errors),
    };
#undef T
    return cmocka_run_group_tests_name("monitor", tests, NULL, NULL);
}
