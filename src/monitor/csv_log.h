/*
 * csv_log.h - The monitor's CSV log of finished windows, in Zeus's format.
 */
#ifndef ZEUS_MONITOR_CSV_LOG_H
#define ZEUS_MONITOR_CSV_LOG_H

#include "zeus/monitor.h"

struct zeus__csv_log;

/*
 * Create (truncate) `path`, creating parent folders, and write the header for the GPUs in
 * `m_template` (gpu_count, gpu_index), with cpu_columns its CPUs, and with soc_columns its
 * SoC's rails (when soc_count is 1).
 */
zeus_status zeus__csv_log_open(const char *path, const zeus_measurement *m_template,
                               int cpu_columns, int soc_columns, struct zeus__csv_log **out);

/* Append one row for window `key` and flush it. Safe from several threads. */
zeus_status zeus__csv_log_write(struct zeus__csv_log *log, const char *key,
                                const zeus_measurement *m);

void zeus__csv_log_close(struct zeus__csv_log *log);

#endif /* ZEUS_MONITOR_CSV_LOG_H */
