/*
 * soc_series.h - The SoC's rail power (NVIDIA Jetson: cpu, gpu, total) as timelines for
 * `zeus monitor power`: a thread polls zeus_soc_get_energy() at a fixed period and keeps
 * each rail's readings, de-duplicated as the GPU power monitor keeps its own, so that the
 * command prints, logs and plots a rail the way it does a GPU's power domain.
 *
 * Energies do not come from these samples: they are the library's own integral of the rail
 * (jetson.c, trapezoid at its poll period, 10 ms by default), read at the first and the
 * last poll, so the timeline's period costs only the chart's resolution.
 */
#ifndef ZEUS_CLI_SOC_SERIES_H
#define ZEUS_CLI_SOC_SERIES_H

#include <stddef.h>

#include "zeus/zeus.h"

struct soc_series;

/*
 * Read SoC 0 of `devs` once (the first sample of every rail it has now) and start polling it
 * every `period_s` seconds. `devs` must outlive the series. Returns 0 with *out set, or -1
 * (out of memory, no thread, the SoC cannot be read: zeus_last_error() may say why).
 */
int soc_series_start(zeus_devices *devs, double period_s, struct soc_series **out);

/*
 * Stop polling after one last reading, which ends every rail's timeline: stamped `stop_s`
 * (the caller's stop time, CLOCK_MONOTONIC) when it was read later, since it is the value in
 * effect then. Idempotent.
 */
void soc_series_stop(struct soc_series *s, double stop_s);

/* Stop and free. NULL is a no-op. */
void soc_series_destroy(struct soc_series *s);

/* The poll period, s, and the time of the first reading (CLOCK_MONOTONIC, as zeus_now()). */
double soc_series_period(const struct soc_series *s);
double soc_series_start_time(const struct soc_series *s);

/* What the latest reading said of `rail`. */
enum soc_rail_state {
    SOC_RAIL_ABSENT = 0, /* the board has no such rail (ZEUS_ENERGY_UNSUPPORTED) */
    SOC_RAIL_OK = 1,     /* read: *power_w holds the watts */
    SOC_RAIL_FAILED = 2, /* the rail exists but could not be read just now */
};

/* The latest reading of `rail`; *power_w is NAN unless SOC_RAIL_OK. */
enum soc_rail_state soc_series_latest(struct soc_series *s, zeus_soc_rail rail, double *power_w);

/* 1 when any reading so far found `rail` (it may have appeared after the start). */
int soc_series_seen(struct soc_series *s, zeus_soc_rail rail);

/*
 * The readings of `rail` with time > after_s (NAN: all), oldest first, each a change from
 * the one before it, into a malloc'd array the caller frees. NULL when out of memory; an
 * empty result is a non-NULL array with *n == 0.
 */
zeus_sample *soc_series_fetch(struct soc_series *s, zeus_soc_rail rail, double after_s, size_t *n);

/*
 * Energy of `rail` in joules over [t0_s, t1_s], from the library's integral at the first and
 * the latest reading, each moved to its edge at the power it read (as the monitor moves a
 * window's edge readings, results.c), so the interval is exactly the GPUs' even when the
 * readings were taken a moment off. A rail found after the first reading counts from when it
 * appeared; one unreadable at the first reading has no value (NAN). *gaps: stretches when the rail could not be read, left out (the value is then a
 * lower bound). NAN when the rail is absent or unreadable at the end.
 */
double soc_series_energy(struct soc_series *s, zeus_soc_rail rail, double t0_s, double t1_s,
                         unsigned *gaps);

#endif /* ZEUS_CLI_SOC_SERIES_H */
