/*
 * csv_log.c - Writes finished windows to a CSV file in Zeus's format, so that Zeus's own
 * tools (ReplayZeusMonitor) read what Zeus-C wrote.
 *
 * What:        the log_file option of zeus_monitor_options.
 * Since:       0.1.
 * Description: header "start_time,window_name,elapsed_time,gpu<i>_energy,..." with one column
 *              per monitored GPU in the monitor's order, <i> its framework index; with zero
 *              GPUs the header ends in a comma, as Zeus's does. One row per window, in the
 *              order windows end; cancelled windows are not logged. start_time is Unix time
 *              (wall clock) at begin, elapsed_time seconds, energies joules, all written as
 *              Python's repr(float) ("nan" for a device that failed). With log_cpu_columns,
 *              "cpu<i>_energy,dram<i>_energy" pairs follow the GPU columns ("nan" DRAM where a
 *              package has none). With log_soc_columns (since 0.1, issue 13), on a monitor
 *              that watches a SoC, "soc_cpu_energy,soc_gpu_energy,soc_total_energy" follow
 *              (joules, as every column here, though Zeus's JetsonMeasurement is in mJ;
 *              "nan" for a rail the board lacks). Without a SoC the option adds nothing.
 *              Nothing in the log says a GPU's value covers its whole module (GH200) or
 *              its whole physical GPU (MIG): Zeus's format has no place for it and a
 *              column of flags would be read as a GPU by ReplayZeusMonitor; the
 *              measurement's flags and the monitor's warning carry it.
 *
 * Departure from Zeus: a window name holding a comma, a quote or a line break is written as
 * an RFC 4180 quoted field ("a,b" -> "\"a,b\""); Zeus writes it raw and corrupts the row.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "monitor/csv_log.h"
#include "util/error.h"
#include "util/fmt.h"

struct zeus__csv_log {
    FILE *f;
    int cpu_columns;
    int soc_columns; /* 1 only when asked for and the monitor watches a SoC */
    pthread_mutex_t lock; /* one row at a time */
};

/* mkdir -p for the folders above `path`. */
static zeus_status make_parents(const char *path)
{
    char buf[4096];

    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "log path is too long: %.64s...", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return zeus__fail_errno(zeus__status_from_errno(errno), errno,
                                    "cannot create folder %s for the log", buf);
        *p = '/';
    }
    return ZEUS_OK;
}

static void write_header(FILE *f, const zeus_measurement *m, int cpu_columns, int soc_columns)
{
    int any = m->gpu_count > 0 || (cpu_columns && m->cpu_count > 0);

    fputs("start_time,window_name,elapsed_time,", f);
    for (unsigned i = 0; i < m->gpu_count; i++)
        fprintf(f, "%sgpu%u_energy", i ? "," : "", m->gpu_index[i]);
    if (cpu_columns)
        for (unsigned i = 0; i < m->cpu_count; i++)
            fprintf(f, "%scpu%u_energy,dram%u_energy", (i || m->gpu_count) ? "," : "",
                    m->cpu_index[i], m->cpu_index[i]);
    for (unsigned k = 0; soc_columns && k < ZEUS_SOC_RAILS; k++)
        fprintf(f, "%ssoc_%s_energy", (k || any) ? "," : "", zeus_soc_rail_name((zeus_soc_rail)k));
    fputc('\n', f);
}

zeus_status zeus__csv_log_open(const char *path, const zeus_measurement *m_template,
                               int cpu_columns, int soc_columns, struct zeus__csv_log **out)
{
    struct zeus__csv_log *log;
    zeus_status s = make_parents(path);

    if (s != ZEUS_OK)
        return s;
    log = calloc(1, sizeof *log);
    if (log == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory opening the log");
    log->f = fopen(path, "w");
    if (log->f == NULL) {
        int err = errno;
        free(log);
        return zeus__fail_errno(zeus__status_from_errno(err), err, "cannot create log file %s",
                                path);
    }
    log->cpu_columns = cpu_columns;
    log->soc_columns = soc_columns && m_template->soc_count > 0;
    pthread_mutex_init(&log->lock, NULL);
    write_header(log->f, m_template, cpu_columns, log->soc_columns);
    fflush(log->f);
    *out = log;
    return ZEUS_OK;
}

/* Write `key` as a CSV field, quoted only when it must be. */
static void write_field(FILE *f, const char *key)
{
    if (strpbrk(key, ",\"\r\n") == NULL) {
        fputs(key, f);
        return;
    }
    fputc('"', f);
    for (const char *p = key; *p; p++) {
        if (*p == '"')
            fputc('"', f);
        fputc(*p, f);
    }
    fputc('"', f);
}

static void write_number(FILE *f, double x)
{
    char buf[32];
    fputc(',', f);
    fputs(zeus__fmt_double(x, buf, sizeof buf), f);
}

zeus_status zeus__csv_log_write(struct zeus__csv_log *log, const char *key,
                                const zeus_measurement *m)
{
    char buf[32];
    int failed;

    pthread_mutex_lock(&log->lock);
    fputs(zeus__fmt_double(m->start_unix_s, buf, sizeof buf), log->f);
    fputc(',', log->f);
    write_field(log->f, key);
    write_number(log->f, m->time_s);
    for (unsigned i = 0; i < m->gpu_count; i++)
        write_number(log->f, m->gpu_energy_j[i]);
    if (log->cpu_columns)
        for (unsigned i = 0; i < m->cpu_count; i++) {
            write_number(log->f, m->cpu_energy_j[i]);
            write_number(log->f, m->dram_energy_j[i]);
        }
    for (unsigned k = 0; log->soc_columns && k < ZEUS_SOC_RAILS; k++)
        write_number(log->f, m->soc_energy_j[k]);
    fputc('\n', log->f);
    failed = fflush(log->f) != 0 || ferror(log->f);
    pthread_mutex_unlock(&log->lock);
    if (failed)
        return zeus__fail_errno(ZEUS_ERR_IO, errno, "cannot write window '%s' to the log", key);
    return ZEUS_OK;
}

void zeus__csv_log_close(struct zeus__csv_log *log)
{
    if (log == NULL)
        return;
    fclose(log->f);
    pthread_mutex_destroy(&log->lock);
    free(log);
}
