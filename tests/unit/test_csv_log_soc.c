/*
 * test_csv_log_soc.c - The monitor's CSV log on a SoC (a fake Orin NX tree, ZEUS_JETSON=1,
 * with one fake NVML GPU): by default exactly Zeus's columns, whatever the SoC;
 * log_soc_columns appends soc_cpu_energy, soc_gpu_energy, soc_total_energy in joules after
 * the GPU (and CPU) columns, "nan" for the rail the board lacks, the values of the
 * measurement; without a SoC the option adds nothing.
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
#include <time.h>

#include "sysfs_tree.h"
#include "test_support.h"
#include "zeus/zeus.h"

#define NX "bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon1/"

struct fixture {
    zt_sysfs *tree;
    char *dir;
    char path[512];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    f->tree = zt_sysfs_create();
    zt_sysfs_use(f->tree); /* no RAPL zones in it: no CPU */
    zt_sysfs_put(f->tree, NX "in1_label", "VDD_IN\n");
    zt_sysfs_put(f->tree, NX "power1_input", "8000\n");
    zt_sysfs_put(f->tree, NX "in2_label", "VDD_CPU_GPU_CV\n");
    zt_sysfs_put(f->tree, NX "power2_input", "2000\n");
    setenv("ZEUS_JETSON", "1", 1);
    setenv("ZEUS_JETSON_PERIOD_MS", "2", 1);
    setenv("ZEUS_FAKE_NVML", "gpus=1;power_w=100", 1);
    unsetenv("CUDA_VISIBLE_DEVICES");
    f->dir = zt_mkdtemp();
    snprintf(f->path, sizeof f->path, "%s/log.csv", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    zt_sysfs_destroy(f->tree);
    zt_rmtree(f->dir);
    free(f->dir);
    free(f);
    unsetenv("ZEUS_JETSON");
    unsetenv("ZEUS_JETSON_PERIOD_MS");
    return 0;
}

static int starts_with(const char *text, const char *prefix)
{
    return strncmp(text, prefix, strlen(prefix)) == 0;
}

/* One window of ~0.2 s logged with `soc_columns`; returns the log's text (free it). */
static char *log_one_window(struct fixture *f, int soc_columns, zeus_measurement *m)
{
    struct timespec pause = {0, 200 * 1000 * 1000};
    zeus_monitor_options o;
    zeus_monitor *mon;

    zeus_monitor_options_init(&o);
    o.log_file = f->path;
    o.log_soc_columns = soc_columns;
    o.direct_reads = 1;
    assert_int_equal(zeus_monitor_create(&o, &mon), ZEUS_OK);
    assert_int_equal(zeus_monitor_begin_window(mon, "step", 0), ZEUS_OK);
    nanosleep(&pause, NULL);
    assert_int_equal(zeus_monitor_end_window(mon, "step", 0, m), ZEUS_OK);
    zeus_monitor_destroy(mon);
    return zt_read_file(f->path);
}

static void test_default_is_zeus_format(void **state)
{
    struct fixture *f = *state;
    zeus_measurement m;
    char *log = log_one_window(f, 0, &m);

    assert_int_equal(m.soc_count, 1); /* the SoC was measured, just not logged */
    assert_non_null(log);
    assert_true(starts_with(log, "start_time,window_name,elapsed_time,gpu0_energy\n"));
    assert_null(strstr(log, "soc"));
    free(log);
}

static void test_soc_columns_follow_gpu_columns(void **state)
{
    struct fixture *f = *state;
    zeus_measurement m;
    char *log = log_one_window(f, 1, &m);
    char name[16], gpu[8];
    double start, elapsed, gpu_j, cpu_j, total_j;
    const char *row;

    assert_non_null(log);
    assert_true(starts_with(log, "start_time,window_name,elapsed_time,gpu0_energy,soc_cpu_energy,"
                                 "soc_gpu_energy,soc_total_energy\n"));
    row = strchr(log, '\n') + 1;
    assert_int_equal(sscanf(row, "%lf,%15[^,],%lf,%lf,%lf,%7[^,],%lf", &start, name, &elapsed,
                            &gpu_j, &cpu_j, gpu, &total_j),
                     7);
    assert_string_equal(name, "step");
    assert_string_equal(gpu, "nan"); /* the board has no gpu rail */
    assert_near(cpu_j, m.soc_energy_j[ZEUS_SOC_RAIL_CPU], 1e-9 * cpu_j);
    assert_near(total_j, m.soc_energy_j[ZEUS_SOC_RAIL_TOTAL], 1e-9 * total_j);
    assert_near(total_j, 8.0 * elapsed, 0.02 * 8.0 * elapsed);
    assert_near(cpu_j, 2.0 * elapsed, 0.02 * 2.0 * elapsed);
    free(log);
}

static void test_no_soc_no_columns(void **state)
{
    struct fixture *f = *state;
    zeus_measurement m;
    char *log;

    setenv("ZEUS_JETSON", "0", 1);
    log = log_one_window(f, 1, &m);
    assert_int_equal(m.soc_count, 0);
    assert_non_null(log);
    assert_true(starts_with(log, "start_time,window_name,elapsed_time,gpu0_energy\n"));
    assert_null(strstr(log, "soc"));
    free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_default_is_zeus_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_soc_columns_follow_gpu_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_soc_no_columns, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
