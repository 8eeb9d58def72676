/*
 * temperature_monitor.c - Zeus's TemperatureMonitor in C: GPU temperature timelines and the
 * temperature at a time, sampled in the background.
 *
 * The same mould as the power monitor (power_monitor.c): the sampler's channels poll the
 * temperature (ZEUS__SERIES_TEMPERATURE) at this monitor's period, de-duplicated, and
 * timelines.c keeps the series and copies it out at stop. Zeus polls every 1 s by default
 * and so does this monitor; a channel shared with a faster power monitor polls faster.
 *
 * Departure from Zeus: a GPU that does not report its temperature is refused at create
 * (ZEUS_ERR_NOT_SUPPORTED) rather than warned about at every poll.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/timelines.h"
#include "util/error.h"
#include "util/options.h"
#include "zeus/power.h"

#define TEMPERATURE_MONITOR_MAGIC 0x544d4f31u /* "TMO1" */
#define DEFAULT_PERIOD_S 1.0
#define DEFAULT_MAX_SAMPLES ((size_t)1 << 20)

struct zeus_temperature_monitor {
    unsigned magic;
    double period_s;
    struct zeus__timelines tl;
};

/* ---- Options ---------------------------------------------------------------------------- */

void zeus_temperature_monitor_options_init(zeus_temperature_monitor_options *opts)
{
    if (opts == NULL)
        return;
    memset(opts, 0, sizeof *opts);
    opts->size = sizeof *opts;
}

static zeus_status read_options(const zeus_temperature_monitor_options *opts,
                                zeus_temperature_monitor_options *o)
{
    zeus_status s;

    zeus_temperature_monitor_options_init(o);
    if (opts == NULL)
        return ZEUS_OK;
    s = zeus__options_read(o, sizeof *o, opts,
                           offsetof(zeus_temperature_monitor_options, update_period_s),
                           "zeus_temperature_monitor_options");
    if (s != ZEUS_OK)
        return s;
    if (!isfinite(o->update_period_s) || o->update_period_s < 0)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                          "update period %g s is not a positive number (0: 1 s)",
                          o->update_period_s);
    return ZEUS_OK;
}

/* ---- Create, stop, destroy -------------------------------------------------------------- */

static zeus_status check_temperature(zeus_devices *devs, const unsigned *gpus, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        zeus_gpu_info info;
        zeus_status s = zeus_gpu_get_info(devs, gpus[i], &info);
        if (s != ZEUS_OK)
            return s;
        if (!(info.supports & ZEUS_GPU_TEMPERATURE))
            return zeus__fail(ZEUS_ERR_NOT_SUPPORTED, "GPU %u (%s) does not report its "
                                                      "temperature",
                              gpus[i], info.name);
    }
    return ZEUS_OK;
}

zeus_status zeus_temperature_monitor_create(const zeus_temperature_monitor_options *opts,
                                            zeus_temperature_monitor **out)
{
    zeus_temperature_monitor_options o;
    zeus_temperature_monitor *tm;
    zeus_devices *devs = NULL;
    unsigned gpus[ZEUS_MAX_GPUS], n = 0;
    zeus_status s;

    if (out == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                          "zeus_temperature_monitor_create: out is NULL");
    s = read_options(opts, &o);
    if (s != ZEUS_OK)
        return s;
    tm = calloc(1, sizeof *tm);
    if (tm == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "zeus_temperature_monitor_create: out of memory");
    tm->period_s = o.update_period_s > 0 ? o.update_period_s : DEFAULT_PERIOD_S;

    s = zeus_devices_create(&devs);
    if (s == ZEUS_OK)
        s = zeus__select_gpus(devs, o.gpu_indices, o.gpu_index_count, gpus, &n);
    if (s == ZEUS_OK)
        s = check_temperature(devs, gpus, n);
    if (s == ZEUS_OK)
        s = zeus__timelines_start(&tm->tl, devs, gpus, n, 1u << ZEUS__SERIES_TEMPERATURE,
                                  (int64_t)llround(tm->period_s * 1e9),
                                  o.max_samples ? o.max_samples : DEFAULT_MAX_SAMPLES);
    zeus_devices_destroy(devs);
    if (s != ZEUS_OK) {
        free(tm);
        return s;
    }
    tm->magic = TEMPERATURE_MONITOR_MAGIC;
    *out = tm;
    return ZEUS_OK;
}

static int monitor_ok(const zeus_temperature_monitor *tm)
{
    return tm != NULL && tm->magic == TEMPERATURE_MONITOR_MAGIC;
}

static zeus_status bad_handle(const char *fn)
{
    return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "%s: invalid or destroyed temperature monitor",
                      fn);
}

zeus_status zeus_temperature_monitor_stop(zeus_temperature_monitor *tm)
{
    if (!monitor_ok(tm))
        return bad_handle("zeus_temperature_monitor_stop");
    return zeus__timelines_stop(&tm->tl);
}

void zeus_temperature_monitor_destroy(zeus_temperature_monitor *tm)
{
    if (!monitor_ok(tm))
        return;
    tm->magic = 0;
    zeus__timelines_fini(&tm->tl);
    free(tm);
}

unsigned zeus_temperature_monitor_gpus(const zeus_temperature_monitor *tm, unsigned *indices,
                                       unsigned cap)
{
    if (!monitor_ok(tm))
        return 0;
    for (unsigned i = 0; i < tm->tl.gpu_count && i < cap && indices != NULL; i++)
        indices[i] = tm->tl.gpu[i].index;
    return tm->tl.gpu_count;
}

/* ---- Queries ---------------------------------------------------------------------------- */

static zeus_status find_slot(zeus_temperature_monitor *tm, unsigned gpu, int *slot,
                             const char *fn)
{
    if (!monitor_ok(tm))
        return bad_handle(fn);
    *slot = zeus__timelines_slot(&tm->tl, gpu);
    return *slot < 0 ? ZEUS_ERR_NOT_FOUND : ZEUS_OK;
}

zeus_status zeus_temperature_monitor_timeline(zeus_temperature_monitor *tm, unsigned gpu,
                                              double t0_s, double t1_s, zeus_sample *out,
                                              size_t *count)
{
    int slot = -1;
    zeus_status s = find_slot(tm, gpu, &slot, "zeus_temperature_monitor_timeline");

    if (s != ZEUS_OK)
        return s;
    return zeus__timeline_copy(&tm->tl, slot, ZEUS__SERIES_TEMPERATURE, t0_s, t1_s, out, count);
}

zeus_status zeus_temperature_monitor_temperature(zeus_temperature_monitor *tm, unsigned gpu,
                                                 double t_s, double *temp_c)
{
    int slot = -1;
    zeus_status s = find_slot(tm, gpu, &slot, "zeus_temperature_monitor_temperature");

    if (s != ZEUS_OK)
        return s;
    if (temp_c == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                          "zeus_temperature_monitor_temperature: temp_c is NULL");
    *temp_c = zeus__timelines_nearest(&tm->tl, slot, ZEUS__SERIES_TEMPERATURE,
                                      zeus__seconds_to_ns(t_s, INT64_MAX))
                  .value;
    return ZEUS_OK;
}
