/*
 * zeusc.h - Shared declarations of the zeusc._zeusc extension module (python/csrc/).
 *
 * The module wraps the public Zeus-C API (include/zeus/zeus.h) and nothing else. module.c
 * holds the module itself, errors, warnings and the clock; monitor.c the ZeusMonitor type;
 * power.c the power and temperature monitor handles that zeusc/monitor.py wraps; device.c
 * the device handle under zeusc/device/; metric.c the push metrics under zeusc/metric.py;
 * power_limit.c the power limit optimizer under zeusc/optimizer/power_limit.py; profile.c
 * the profiling entry point under zeusc/profile.py.
 *
 * TIME. The C library stamps everything with CLOCK_MONOTONIC (zeus_now()); Zeus's Python API
 * speaks Unix seconds (time.time()). Every time that crosses this module is Unix seconds:
 * unix = monotonic + zc_clock_offset, an offset measured once when the module is imported.
 * Durations and energies are computed on the monotonic clock inside the library, so a
 * wall-clock step never distorts them; only the Unix labels shift by the step.
 *
 * THE GIL. Calls that can wait (creating and destroying monitors, direct counter reads, the
 * framework sync, waiting for final values, stopping samplers) run with the GIL released.
 * Sampled begin_window/end_window only take a timestamp (well under a microsecond) and keep
 * the GIL: releasing it would let another thread take it for up to the switch interval.
 * Nothing the library calls back while holding one of its locks needs the GIL (warnings go
 * to a queue, zc_warnq), so holding the GIL while the library waits for its own short
 * critical sections cannot deadlock.
 */
#ifndef ZEUSC_H
#define ZEUSC_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <pthread.h>
#include <stdatomic.h>

#include "zeus/zeus.h"

/* ---- Module state (set once by PyInit__zeusc) ---------------------------------------------- */

extern PyObject *zc_measurement_cls; /* zeusc._types.Measurement */
extern PyObject *zc_warning_cls;     /* zeusc.errors.ZeusWarning */
extern PyObject *zc_window_exists_cls;
extern PyObject *zc_window_missing_cls;
extern double zc_clock_offset; /* Unix seconds minus CLOCK_MONOTONIC seconds */

extern PyTypeObject zc_monitor_type;
extern PyTypeObject zc_power_handle_type;
extern PyTypeObject zc_temperature_handle_type;
extern PyTypeObject zc_devices_type;        /* device.c */
extern PyTypeObject zc_push_metric_type;    /* metric.c */
extern PyTypeObject zc_plo_type;            /* power_limit.c */
extern PyTypeObject zc_bso_type;            /* batch_size.c */
extern PyTypeObject zc_pfo_type;            /* pipeline_frequency.c */

/* power_limit.c's module functions: selection and Zeus's profile file. */
PyObject *zc_plo_select(PyObject *mod, PyObject *args);
PyObject *zc_plo_profile_load(PyObject *mod, PyObject *arg);
PyObject *zc_plo_profile_save(PyObject *mod, PyObject *args);

/* rate.c: the RateProvider type (include/zeus/rate.h), its registration on the module, and
 * the C provider inside one (borrowed; NULL with TypeError/ValueError set), for the monitors
 * that price energy. Call anything that may ask a provider for a rate with the GIL released:
 * a provider made by RateProvider.from_object takes the GIL inside the provider's lock, so a
 * thread waiting for that lock while holding the GIL would deadlock. */
#include "zeus/rate.h"
extern PyTypeObject zc_rate_type;
int zc_rate_register(PyObject *m);
zeus_rate_provider *zc_rate_provider_get(PyObject *obj);

/* ---- Errors ------------------------------------------------------------------------------- */

/*
 * Raise the exception class mapped to `status` (or `cls` when non-NULL) with the calling
 * thread's zeus_last_error() as its message; sets .status and .status_name on it. Call it
 * right after the failing library call, on the same thread. Returns NULL.
 */
PyObject *zc_raise(zeus_status status, PyObject *cls);

/* As zc_raise(), and attach `measurement` (may be NULL) as the exception's .measurement. */
PyObject *zc_raise_with(zeus_status status, PyObject *cls, PyObject *measurement);

/* ---- Warnings ----------------------------------------------------------------------------- */

/*
 * Library warnings can arrive on any thread, with a library lock held (the sampler thread
 * finishes sampled windows), so the callback only queues them; zc_warnq_flush() turns them
 * into warnings.warn(ZeusWarning) on the next call that holds the GIL.
 */
typedef struct zc_warnq {
    pthread_mutex_t lock;
    atomic_size_t pending; /* lets flush skip the lock when nothing is queued */
    char **messages;
    size_t count, cap, dropped;
} zc_warnq;

zc_warnq *zc_warnq_new(void);
void zc_warnq_free(zc_warnq *q);
void zc_warnq_push(const char *message, void *q); /* the library's warn callback */
/* Emit what is queued. Returns -1 with an exception set when a warning filter raised. */
int zc_warnq_flush(zc_warnq *q);

/* ---- Lending a ZeusMonitor's handle (monitor.c) ------------------------------------------ */

/*
 * The zeus_monitor of a zeusc ZeusMonitor, for a library call made elsewhere in the module
 * with the GIL released (profile.c). Resolves the monitor's sync function first when it
 * watches GPUs (this may import the framework and raise), then counts the call as busy so
 * that close() waits for it. NULL with an exception for another type or a closed monitor.
 * Each success is paired with zc_monitor_unborrow(), which also emits queued warnings
 * (-1 with an exception when a warning filter raised).
 */
zeus_monitor *zc_monitor_borrow(PyObject *obj);
int zc_monitor_unborrow(PyObject *obj);

/*
 * A sync function that raised during a library call parks its exception in thread-local
 * storage (the library's sync callback cannot fail). zc_monitor_sync_failed() says whether
 * one is parked; zc_monitor_raise_sync_error() raises it and returns 1, or returns 0.
 */
int zc_monitor_sync_failed(void);
int zc_monitor_raise_sync_error(void);

/* ---- Carbon and cost windows (emission.c) ------------------------------------------------ */

/* Ready zeusc._zeusc.EmissionHandle and add it to `m`. 0 or -1. */
int zc_emission_register(PyObject *m);

/* ---- Thermally stable profiling (profile.c) ---------------------------------------------- */

/* _zeusc.profile_run(): see profile.c. */
PyObject *zc_profile_run(PyObject *mod, PyObject *args, PyObject *kw);

/* ---- Helpers ------------------------------------------------------------------------------ */

/*
 * Convert None or an iterable of non-negative ints into `out` (room for `cap`). Returns the
 * count, -2 for None, or -1 with an exception set.
 */
Py_ssize_t zc_indices(PyObject *obj, unsigned *out, size_t cap, const char *what);

/*
 * None (NULL, count 0) or a sequence of numbers as a PyMem_Malloc'd array (non-NULL even
 * when empty), freed with PyMem_Free. 0, or -1 with an exception.
 */
int zc_floats(PyObject *obj, const char *what, double **out, size_t *count);

/* Unix seconds <-> library time. None becomes NAN (an open bound). -1 with an exception. */
int zc_time_arg(PyObject *obj, double *mono_s);

/* ---- Power streaming (power_stream.c) ------------------------------------------------------ */

/* Ready PowerStreamHandle and add it to the module. 0, or -1 with an exception. */
int zc_power_stream_register(PyObject *m);

#endif /* ZEUSC_H */
