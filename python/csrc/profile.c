/*
 * profile.c - _zeusc.profile_run(): Zeus's zeus.profile over zeus_profile_* (profile.h).
 * zeusc/profile.py gives it Zeus's function names and signatures and turns the tuples it
 * returns into Zeus's dataclasses.
 *
 * DESIGN NOTES
 *
 * 1. The library call runs with the GIL released: a sweep sleeps for its cooldowns
 *    (minutes with Zeus's defaults), and other Python threads must run meanwhile. Every
 *    callback (the workload, reduce, log) takes the GIL for its own duration only, on the
 *    calling thread, which is where the library calls them.
 * 2. Exceptions. The first exception from a callback is parked in the call's state and the
 *    callback reports failure, so the library stops (ZEUS_ERR_CALLBACK_FAILED) and nothing
 *    else runs; the parked exception is then raised as it was. A sync function that raised
 *    (parked by monitor.c) makes the next workload call fail the same way and is raised in
 *    preference, as the earliest failure. A raising log callback cannot stop the library
 *    by itself; the workload's next call does.
 * 3. Ctrl-C: the workload callback checks for signals before each call, so a
 *    KeyboardInterrupt stops profiling at the next call. A cooldown in progress is not cut
 *    short (the library sleeps in C).
 * 4. The monitor is borrowed (monitor.c): close() on another thread waits for the profile
 *    to finish. Closing it from inside the workload would wait for itself; don't.
 */
#include "zeusc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The state of one call, shared with the callbacks. */
struct pcall {
    PyObject *fn;     /* the workload */
    PyObject *reduce; /* reduce(values: list[float], op: str) -> list[float], or NULL */
    PyObject *log;    /* log(message: str), or NULL */
    PyObject *exc_type, *exc_value, *exc_tb; /* the first exception (note 2) */
};

/* ---- Callbacks (called by the library without the GIL) ------------------------------------ */

static void park(struct pcall *p)
{
    if (p->exc_type == NULL)
        PyErr_Fetch(&p->exc_type, &p->exc_value, &p->exc_tb);
    else
        PyErr_Clear();
}

static int call_workload(void *user)
{
    struct pcall *p = user;
    PyGILState_STATE g = PyGILState_Ensure();
    int rc = 1;

    if (p->exc_type == NULL && !zc_monitor_sync_failed()) {
        PyObject *r = PyErr_CheckSignals() < 0 ? NULL : PyObject_CallNoArgs(p->fn);
        if (r == NULL)
            park(p);
        else
            rc = 0;
        Py_XDECREF(r);
    }
    PyGILState_Release(g);
    return rc;
}

/* Copy a reduce callback's answer back into values[0..n); -1 with an exception. */
static int read_reduced(PyObject *result, double *values, size_t n)
{
    PyObject *seq = PySequence_Fast(result, "reduce must return a sequence of numbers");
    int rc = -1;

    if (seq == NULL)
        return -1;
    if ((size_t)PySequence_Fast_GET_SIZE(seq) != n) {
        PyErr_Format(PyExc_ValueError, "reduce returned %zd values for %zu",
                     PySequence_Fast_GET_SIZE(seq), n);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        double v = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(seq, (Py_ssize_t)i));
        if (v == -1.0 && PyErr_Occurred())
            goto out;
        values[i] = v;
    }
    rc = 0;
out:
    Py_DECREF(seq);
    return rc;
}

static int call_reduce(double *values, size_t n, zeus_reduce_op op, void *user)
{
    struct pcall *p = user;
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *list = NULL, *r = NULL;
    int rc = 1;

    if (p->exc_type != NULL)
        goto out;
    if ((list = PyList_New((Py_ssize_t)n)) == NULL)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        PyObject *v = PyFloat_FromDouble(values[i]);
        if (v == NULL)
            goto fail;
        PyList_SET_ITEM(list, (Py_ssize_t)i, v);
    }
    r = PyObject_CallFunction(p->reduce, "Os", list, op == ZEUS_REDUCE_SUM ? "sum" : "max");
    if (r == NULL || read_reduced(r, values, n) < 0)
        goto fail;
    rc = 0;
    goto out;
fail:
    park(p);
out:
    Py_XDECREF(list);
    Py_XDECREF(r);
    PyGILState_Release(g);
    return rc;
}

static void call_log(const char *message, void *user)
{
    struct pcall *p = user;
    PyGILState_STATE g = PyGILState_Ensure();

    if (p->exc_type == NULL) {
        PyObject *r = PyObject_CallFunction(p->log, "s", message);
        if (r == NULL)
            park(p);
        Py_XDECREF(r);
    }
    PyGILState_Release(g);
}

/* ---- Arguments ---------------------------------------------------------------------------- */

/* None -> `dflt`, else a float. -1 with an exception. */
static int seconds_arg(PyObject *obj, double dflt, double *out)
{
    if (obj == Py_None) {
        *out = dflt;
        return 0;
    }
    *out = PyFloat_AsDouble(obj);
    return *out == -1.0 && PyErr_Occurred() ? -1 : 0;
}

static int count_arg(Py_ssize_t v, const char *what, unsigned *out)
{
    if (v < 0 || (size_t)v > 0xffffffffu) {
        PyErr_Format(PyExc_ValueError, "%s must be a non-negative int, not %zd", what, v);
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

/* ---- Results ------------------------------------------------------------------------------ */

/* (energy_per_iter, time_per_iter, total_energy, total_time, iterations, before, after) */
static PyObject *trial_tuple(const zeus_profile_trial *t)
{
    return Py_BuildValue("(ddddKdd)", t->energy_per_iter_j, t->time_per_iter_s,
                         t->total_energy_j, t->total_time_s, (unsigned long long)t->iterations,
                         t->temperature_before_c, t->temperature_after_c);
}

/* (measurement, cooldown, [trials], mean, std, before, after, time, energy, is_valid) */
static PyObject *entry_tuple(const zeus_profile_sweep_result *e)
{
    PyObject *trials = PyList_New((Py_ssize_t)e->trial_count);

    if (trials == NULL)
        return NULL;
    for (size_t i = 0; i < e->trial_count; i++) {
        PyObject *t = trial_tuple(&e->trials[i]);
        if (t == NULL) {
            Py_DECREF(trials);
            return NULL;
        }
        PyList_SET_ITEM(trials, (Py_ssize_t)i, t);
    }
    return Py_BuildValue("(ddNddddddO)", e->measurement_duration_s, e->cooldown_duration_s,
                         trials, e->energy_mean_j, e->energy_std_j,
                         e->avg_temperature_before_c, e->avg_temperature_after_c,
                         e->avg_total_time_s, e->avg_total_energy_j,
                         e->is_valid ? Py_True : Py_False);
}

/* (sweep name, [values], fixed name, fixed value, [entries]) */
static PyObject *report_tuple(const zeus_profile_report *r)
{
    PyObject *values = PyList_New((Py_ssize_t)r->sweep_value_count);
    PyObject *entries = PyList_New((Py_ssize_t)r->entry_count);

    if (values == NULL || entries == NULL)
        goto fail;
    for (size_t i = 0; i < r->sweep_value_count; i++) {
        PyObject *v = PyFloat_FromDouble(r->sweep_values_s[i]);
        if (v == NULL)
            goto fail;
        PyList_SET_ITEM(values, (Py_ssize_t)i, v);
    }
    for (size_t i = 0; i < r->entry_count; i++) {
        PyObject *e = entry_tuple(&r->entries[i]);
        if (e == NULL)
            goto fail;
        PyList_SET_ITEM(entries, (Py_ssize_t)i, e);
    }
    return Py_BuildValue("(sNsdN)", zeus_profile_param_name(r->sweep_param), values,
                         zeus_profile_param_name(r->fixed_param), r->fixed_value_s, entries);
fail:
    Py_XDECREF(values);
    Py_XDECREF(entries);
    return NULL;
}

/* ---- The entry point ---------------------------------------------------------------------- */

enum kind { MEASURE, MEASUREMENT_SWEEP, COOLDOWN_SWEEP, BOTH_SWEEPS };

static int kind_arg(const char *name, enum kind *out)
{
    static const char *const names[] = {"measure", "measurement_duration", "cooldown_duration",
                                        "parameters"};
    for (int i = 0; i < 4; i++)
        if (strcmp(name, names[i]) == 0) {
            *out = (enum kind)i;
            return 0;
        }
    PyErr_Format(PyExc_ValueError, "unknown profile kind '%s'", name);
    return -1;
}

/* Everything a call needs, parsed, so the library call itself can run without the GIL. */
struct request {
    enum kind kind;
    PyObject *monitor;
    double measurement_s, cooldown_s;
    double *measurements, *cooldowns; /* PyMem; freed by release() */
    zeus_profile_options o;
    struct pcall p;
};

static int parse(PyObject *args, PyObject *kw, struct request *q)
{
    static char *kwlist[] = {"kind", "target_function", "zeus_monitor", "measurement_duration",
                             "cooldown_duration", "measurement_durations", "cooldown_durations",
                             "num_trials", "num_warmup_trials", "trial_stddev_threshold",
                             "num_warmup_iterations", "num_calibration_iterations",
                             "iteration_duration", "warmup_settle_duration", "reduce", "log",
                             NULL};
    PyObject *md = Py_None, *cd = Py_None, *mr = Py_None, *cr = Py_None, *it = Py_None;
    PyObject *settle = Py_None, *reduce = Py_None, *log = Py_None;
    Py_ssize_t trials = 10, warmup_trials = 2, warmup_iters = 10, calib_iters = 100;
    const char *kind;

    zeus_profile_options_init(&q->o);
    if (!PyArg_ParseTupleAndKeywords(args, kw, "sOO|$OOOOnndnnOOOO:profile_run", kwlist, &kind,
                                     &q->p.fn, &q->monitor, &md, &cd, &mr, &cr, &trials,
                                     &warmup_trials, &q->o.trial_stddev_threshold_j,
                                     &warmup_iters, &calib_iters, &it, &settle, &reduce, &log))
        return -1;
    if (!PyCallable_Check(q->p.fn)) {
        PyErr_Format(PyExc_TypeError, "target_function must be callable, not %.100s",
                     Py_TYPE(q->p.fn)->tp_name);
        return -1;
    }
    q->p.reduce = reduce == Py_None ? NULL : reduce;
    q->p.log = log == Py_None ? NULL : log;
    /* None: Zeus's 10 s for a sweep's fixed value; measure() has no default (NAN is refused). */
    if (kind_arg(kind, &q->kind) < 0 ||
        seconds_arg(md, q->kind == MEASURE ? NAN : 10.0, &q->measurement_s) < 0 ||
        seconds_arg(cd, q->kind == MEASURE ? NAN : 10.0, &q->cooldown_s) < 0 ||
        seconds_arg(it, 0, &q->o.iteration_duration_s) < 0 ||
        seconds_arg(settle, NAN, &q->o.warmup_settle_duration_s) < 0 ||
        count_arg(trials, "num_trials", &q->o.num_trials) < 0 ||
        count_arg(warmup_trials, "num_warmup_trials", &q->o.num_warmup_trials) < 0 ||
        count_arg(warmup_iters, "num_warmup_iterations", &q->o.num_warmup_iterations) < 0 ||
        count_arg(calib_iters, "num_calibration_iterations",
                  &q->o.num_calibration_iterations) < 0 ||
        zc_floats(mr, "measurement_duration_search_range", &q->measurements,
                  &q->o.measurement_duration_count) < 0 ||
        zc_floats(cr, "cooldown_duration_search_range", &q->cooldowns,
                  &q->o.cooldown_duration_count) < 0)
        return -1;
    q->o.measurement_durations_s = q->measurements;
    q->o.cooldown_durations_s = q->cooldowns;
    q->o.measurement_duration_s = q->measurement_s;
    q->o.cooldown_duration_s = q->cooldown_s;
    return 0;
}

/* Run the library call the request names; the GIL is not held. */
static zeus_status run(struct request *q, zeus_monitor *mon, zeus_profile_trial *trial,
                       zeus_profile_report *a, zeus_profile_report *b)
{
    switch (q->kind) {
    case MEASURE:
        return zeus_profile_measure(call_workload, &q->p, mon, q->measurement_s, q->cooldown_s,
                                    &q->o, trial);
    case MEASUREMENT_SWEEP:
        return zeus_profile_measurement_duration(call_workload, &q->p, mon, &q->o, a);
    case COOLDOWN_SWEEP:
        return zeus_profile_cooldown_duration(call_workload, &q->p, mon, &q->o, a);
    case BOTH_SWEEPS:
        break;
    }
    return zeus_profile_parameters(call_workload, &q->p, mon, &q->o, a, b);
}

static PyObject *result_of(const struct request *q, const zeus_profile_trial *trial,
                           const zeus_profile_report *a, const zeus_profile_report *b)
{
    if (q->kind == MEASURE)
        return trial_tuple(trial);
    if (q->kind != BOTH_SWEEPS)
        return report_tuple(a);
    PyObject *ra = report_tuple(a), *rb = ra != NULL ? report_tuple(b) : NULL;
    if (rb == NULL) {
        Py_XDECREF(ra);
        return NULL;
    }
    return Py_BuildValue("(NN)", ra, rb);
}

/* Raise what failed first (note 2); NULL. */
static PyObject *raise_failure(struct request *q, zeus_status s)
{
    if (zc_monitor_raise_sync_error()) {
        Py_CLEAR(q->p.exc_type);
        Py_CLEAR(q->p.exc_value);
        Py_CLEAR(q->p.exc_tb);
        return NULL;
    }
    if (q->p.exc_type != NULL) {
        PyErr_Restore(q->p.exc_type, q->p.exc_value, q->p.exc_tb);
        q->p.exc_type = q->p.exc_value = q->p.exc_tb = NULL;
        return NULL;
    }
    return zc_raise(s, NULL);
}

static void release(struct request *q)
{
    PyMem_Free(q->measurements);
    PyMem_Free(q->cooldowns);
    Py_CLEAR(q->p.exc_type);
    Py_CLEAR(q->p.exc_value);
    Py_CLEAR(q->p.exc_tb);
}

/*
 * profile_run(kind, target_function, zeus_monitor, *, measurement_duration=None,
 *             cooldown_duration=None, measurement_durations=None, cooldown_durations=None,
 *             num_trials=10, num_warmup_trials=2, trial_stddev_threshold=0.01,
 *             num_warmup_iterations=10, num_calibration_iterations=100,
 *             iteration_duration=None, warmup_settle_duration=None, reduce=None, log=None)
 * kind: "measure" (a trial tuple), "measurement_duration", "cooldown_duration" (a report
 * tuple) or "parameters" (two report tuples).
 */
PyObject *zc_profile_run(PyObject *mod, PyObject *args, PyObject *kw)
{
    struct request q = {0};
    zeus_profile_trial trial;
    zeus_profile_report a = {0}, b = {0};
    zeus_monitor *mon;
    PyObject *result = NULL;
    zeus_status s;
    (void)mod;

    if (parse(args, kw, &q) < 0 || (mon = zc_monitor_borrow(q.monitor)) == NULL) {
        release(&q);
        return NULL;
    }
    q.o.reduce = q.p.reduce != NULL ? call_reduce : NULL;
    q.o.reduce_user = &q.p;
    q.o.log = q.p.log != NULL ? call_log : NULL;
    q.o.log_user = &q.p;
    Py_BEGIN_ALLOW_THREADS
    s = run(&q, mon, &trial, &a, &b);
    Py_END_ALLOW_THREADS
    if (s != ZEUS_OK || q.p.exc_type != NULL || zc_monitor_sync_failed())
        raise_failure(&q, s);
    else
        result = result_of(&q, &trial, &a, &b);
    if (result != NULL) {
        if (zc_monitor_unborrow(q.monitor) < 0)
            Py_CLEAR(result);
    } else {
        /* Keep the failure: a queued warning must not be emitted over it. */
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        if (zc_monitor_unborrow(q.monitor) < 0)
            PyErr_Clear();
        PyErr_Restore(type, value, tb);
    }
    zeus_profile_report_fini(&a);
    zeus_profile_report_fini(&b);
    release(&q);
    return result;
}
