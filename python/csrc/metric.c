/*
 * metric.c - zeusc._zeusc.PushMetric: one handle type over the three push metrics of
 * include/zeus/metrics.h (zeus_energy_histogram, zeus_energy_counter, zeus_power_gauge),
 * which zeusc/metric.py dresses as Zeus's EnergyHistogram, EnergyCumulativeCounter and
 * PowerGauge.
 *
 * Concept: one Python type per C object. Reality: the three share their life cycle (create,
 * begin, end, push stats, flush, destroy) and differ only in options, so one type switched
 * on `kind` keeps this file a third of the size; zeusc/metric.py gives each its own class.
 *
 * Pushing happens on the metric's own pusher thread, so a slow or unreachable Pushgateway
 * never blocks begin_window/end_window. Failed pushes and the histogram's bucket warnings
 * arrive on that thread; they are queued (zc_warnq) and emitted as ZeusWarning by the next
 * call on the handle. Creating, ending a counter or gauge window (joins its thread), flushing
 * and destroying (one last push, bounded by the push timeout) run without the GIL.
 */
#include "zeusc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { KIND_HISTOGRAM = 0, KIND_COUNTER = 1, KIND_GAUGE = 2 };

typedef struct {
    PyObject_HEAD
    int kind;
    void *h; /* zeus_energy_histogram / zeus_energy_counter / zeus_power_gauge; NULL: closed */
    zc_warnq *warnq;
} PushMetric;

/* ---- Helpers ------------------------------------------------------------------------------ */

/* on_error: a failed push becomes a queued warning. */
static void push_failed(zeus_status status, const char *message, void *user)
{
    char buf[512];
    snprintf(buf, sizeof buf, "Pushgateway push failed (%s): %s", zeus_status_name(status),
             message != NULL ? message : "");
    zc_warnq_push(buf, user);
}

static void *live(PushMetric *self)
{
    if (self->h == NULL)
        PyErr_SetString(PyExc_ValueError, "the metric is closed");
    return self->h;
}

/* Raise for `s`, after emitting what is queued. NULL. */
static PyObject *fail(PushMetric *self, zeus_status s, PyObject *cls)
{
    PyObject *r = zc_raise(s, cls);
    PyObject *t, *v, *tb;
    PyErr_Fetch(&t, &v, &tb);
    if (zc_warnq_flush(self->warnq) < 0) {
        Py_XDECREF(t);
        Py_XDECREF(v);
        Py_XDECREF(tb);
        return NULL;
    }
    PyErr_Restore(t, v, tb);
    return r;
}

static PyObject *done(PushMetric *self)
{
    if (zc_warnq_flush(self->warnq) < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* ---- Life cycle --------------------------------------------------------------------------- */

static PyObject *PushMetric_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    PushMetric *self = (PushMetric *)type->tp_alloc(type, 0);
    (void)args;
    (void)kw;
    if (self == NULL)
        return NULL;
    self->warnq = zc_warnq_new();
    if (self->warnq == NULL) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    return (PyObject *)self;
}

static int PushMetric_init(PushMetric *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"kind",        "gpu_indices", "cpu_indices",  "pushgateway_url",
                             "job",         "update_period", "gpu_buckets", "cpu_buckets",
                             "dram_buckets", "timeout",     NULL};
    PyObject *gpu_obj = Py_None, *cpu_obj = Py_None;
    PyObject *gb_obj = Py_None, *cb_obj = Py_None, *db_obj = Py_None;
    const char *url, *job;
    double period = 0.0, timeout = 0.0;
    unsigned gpus[ZEUS_MAX_GPUS], cpus[ZEUS_MAX_CPUS];
    Py_ssize_t ng, nc;
    double *gb = NULL, *cb = NULL, *db = NULL;
    size_t ngb = 0, ncb = 0, ndb = 0;
    zeus_push_options push;
    zeus_status s = ZEUS_OK;
    int kind;
    void *h = NULL;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "iOOss|dOOOd:PushMetric", kwlist, &kind, &gpu_obj,
                                     &cpu_obj, &url, &job, &period, &gb_obj, &cb_obj, &db_obj,
                                     &timeout))
        return -1;
    if (self->h != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "PushMetric is already initialized");
        return -1;
    }
    if (kind < KIND_HISTOGRAM || kind > KIND_GAUGE) {
        PyErr_Format(PyExc_ValueError, "unknown metric kind %d", kind);
        return -1;
    }
    if ((ng = zc_indices(gpu_obj, gpus, ZEUS_MAX_GPUS, "gpu_indices")) == -1 ||
        (nc = zc_indices(cpu_obj, cpus, ZEUS_MAX_CPUS, "cpu_indices")) == -1)
        return -1;
    if (zc_floats(gb_obj, "gpu_bucket_range", &gb, &ngb) < 0 ||
        zc_floats(cb_obj, "cpu_bucket_range", &cb, &ncb) < 0 ||
        zc_floats(db_obj, "dram_bucket_range", &db, &ndb) < 0) {
        PyMem_Free(gb);
        PyMem_Free(cb);
        return -1;
    }
    zeus_push_options_init(&push);
    push.pushgateway_url = url;
    push.job = job;
    push.timeout_s = timeout;
    push.on_error = push_failed;
    push.user = self->warnq;

    if (kind == KIND_HISTOGRAM) {
        zeus_energy_histogram_options o;
        zeus_energy_histogram_options_init(&o);
        o.gpu_indices = ng == -2 ? NULL : gpus;
        o.gpu_index_count = ng == -2 ? 0 : (size_t)ng;
        o.cpu_indices = nc == -2 ? NULL : cpus;
        o.cpu_index_count = nc == -2 ? 0 : (size_t)nc;
        o.gpu_buckets = gb;
        o.gpu_bucket_count = ngb;
        o.cpu_buckets = cb;
        o.cpu_bucket_count = ncb;
        o.dram_buckets = db;
        o.dram_bucket_count = ndb;
        o.warn = zc_warnq_push;
        o.warn_user = self->warnq;
        Py_BEGIN_ALLOW_THREADS
        s = zeus_energy_histogram_create(&o, &push, (zeus_energy_histogram **)&h);
        Py_END_ALLOW_THREADS
    } else if (kind == KIND_COUNTER) {
        zeus_energy_counter_options o;
        zeus_energy_counter_options_init(&o);
        o.gpu_indices = ng == -2 ? NULL : gpus;
        o.gpu_index_count = ng == -2 ? 0 : (size_t)ng;
        o.cpu_indices = nc == -2 ? NULL : cpus;
        o.cpu_index_count = nc == -2 ? 0 : (size_t)nc;
        o.update_period_s = period;
        Py_BEGIN_ALLOW_THREADS
        s = zeus_energy_counter_create(&o, &push, (zeus_energy_counter **)&h);
        Py_END_ALLOW_THREADS
    } else {
        zeus_power_gauge_options o;
        zeus_power_gauge_options_init(&o);
        o.gpu_indices = ng == -2 ? NULL : gpus;
        o.gpu_index_count = ng == -2 ? 0 : (size_t)ng;
        o.update_period_s = period;
        Py_BEGIN_ALLOW_THREADS
        s = zeus_power_gauge_create(&o, &push, (zeus_power_gauge **)&h);
        Py_END_ALLOW_THREADS
    }
    PyMem_Free(gb);
    PyMem_Free(cb);
    PyMem_Free(db);
    if (s != ZEUS_OK) {
        zc_raise(s, NULL);
        return -1;
    }
    self->kind = kind;
    self->h = h;
    return zc_warnq_flush(self->warnq);
}

static void destroy(int kind, void *h)
{
    if (kind == KIND_HISTOGRAM)
        zeus_energy_histogram_destroy(h);
    else if (kind == KIND_COUNTER)
        zeus_energy_counter_destroy(h);
    else
        zeus_power_gauge_destroy(h);
}

static PyObject *PushMetric_close(PushMetric *self, PyObject *unused)
{
    void *h = self->h;
    (void)unused;

    if (h == NULL)
        Py_RETURN_NONE;
    self->h = NULL;
    Py_BEGIN_ALLOW_THREADS
    destroy(self->kind, h);
    Py_END_ALLOW_THREADS
    return done(self);
}

static void PushMetric_dealloc(PushMetric *self)
{
    if (self->h != NULL) {
        void *h = self->h;
        self->h = NULL;
        Py_BEGIN_ALLOW_THREADS
        destroy(self->kind, h);
        Py_END_ALLOW_THREADS
    }
    zc_warnq_free(self->warnq);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* ---- Windows ------------------------------------------------------------------------------ */

static PyObject *PushMetric_begin_window(PushMetric *self, PyObject *args)
{
    const char *name;
    void *h;
    zeus_status s;

    if (!PyArg_ParseTuple(args, "s:begin_window", &name) || (h = live(self)) == NULL)
        return NULL;
    if (self->kind == KIND_HISTOGRAM) {
        s = zeus_energy_histogram_begin_window(h, name, 0);
    } else {
        Py_BEGIN_ALLOW_THREADS
        if (self->kind == KIND_COUNTER)
            s = zeus_energy_counter_begin_window(h, name);
        else
            s = zeus_power_gauge_begin_window(h, name);
        Py_END_ALLOW_THREADS
    }
    if (s != ZEUS_OK)
        return fail(self, s, s == ZEUS_ERR_ALREADY_EXISTS ? zc_window_exists_cls : NULL);
    return done(self);
}

static PyObject *PushMetric_end_window(PushMetric *self, PyObject *args)
{
    const char *name;
    void *h;
    zeus_status s;

    if (!PyArg_ParseTuple(args, "s:end_window", &name) || (h = live(self)) == NULL)
        return NULL;
    if (self->kind == KIND_HISTOGRAM) {
        s = zeus_energy_histogram_end_window(h, name, 0);
    } else {
        Py_BEGIN_ALLOW_THREADS
        if (self->kind == KIND_COUNTER)
            s = zeus_energy_counter_end_window(h, name);
        else
            s = zeus_power_gauge_end_window(h, name);
        Py_END_ALLOW_THREADS
    }
    if (s != ZEUS_OK)
        return fail(self, s, s == ZEUS_ERR_NOT_FOUND ? zc_window_missing_cls : NULL);
    return done(self);
}

/* ---- Pusher ------------------------------------------------------------------------------- */

static PyObject *PushMetric_flush(PushMetric *self, PyObject *args)
{
    double timeout = 5.0;
    void *h;
    zeus_status s;

    if (!PyArg_ParseTuple(args, "|d:flush", &timeout) || (h = live(self)) == NULL)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    if (self->kind == KIND_HISTOGRAM)
        s = zeus_energy_histogram_flush(h, timeout);
    else if (self->kind == KIND_COUNTER)
        s = zeus_energy_counter_flush(h, timeout);
    else
        s = zeus_power_gauge_flush(h, timeout);
    Py_END_ALLOW_THREADS
    if (s != ZEUS_OK)
        return fail(self, s, NULL);
    return done(self);
}

static PyObject *PushMetric_push_stats(PushMetric *self, PyObject *unused)
{
    zeus_push_stats st;
    void *h;
    zeus_status s;
    (void)unused;

    if ((h = live(self)) == NULL)
        return NULL;
    if (self->kind == KIND_HISTOGRAM)
        s = zeus_energy_histogram_push_stats(h, &st);
    else if (self->kind == KIND_COUNTER)
        s = zeus_energy_counter_push_stats(h, &st);
    else
        s = zeus_power_gauge_push_stats(h, &st);
    if (s != ZEUS_OK)
        return fail(self, s, NULL);
    return Py_BuildValue("{sKsKsssN}", "pushes_ok", (unsigned long long)st.pushes_ok,
                         "pushes_failed", (unsigned long long)st.pushes_failed, "last_status",
                         zeus_status_name(st.last_status), "last_error",
                         PyUnicode_DecodeUTF8(st.last_error,
                                              (Py_ssize_t)strnlen(st.last_error,
                                                                  sizeof st.last_error),
                                              "replace"));
}

static PyObject *PushMetric_get_closed(PushMetric *self, void *c)
{
    (void)c;
    return PyBool_FromLong(self->h == NULL);
}

/* ---- Type --------------------------------------------------------------------------------- */

static PyMethodDef PushMetric_methods[] = {
    {"begin_window", (PyCFunction)PushMetric_begin_window, METH_VARARGS,
     "begin_window($self, name, /)\n--\n\nStart window `name` (the C object's begin)."},
    {"end_window", (PyCFunction)PushMetric_end_window, METH_VARARGS,
     "end_window($self, name, /)\n--\n\nEnd window `name`; its values are pushed in the "
     "background."},
    {"flush", (PyCFunction)PushMetric_flush, METH_VARARGS,
     "flush($self, timeout=5.0, /)\n--\n\nWait until what was recorded is pushed (or failed)."},
    {"push_stats", (PyCFunction)PushMetric_push_stats, METH_NOARGS,
     "push_stats($self, /)\n--\n\ndict: pushes_ok, pushes_failed, last_status, last_error."},
    {"close", (PyCFunction)PushMetric_close, METH_NOARGS,
     "close($self, /)\n--\n\nPush what is left, stop the threads, free. Idempotent."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef PushMetric_getset[] = {
    {"closed", (getter)PushMetric_get_closed, NULL, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject zc_push_metric_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "zeusc._zeusc.PushMetric",
    .tp_doc = PyDoc_STR("PushMetric(kind, gpu_indices, cpu_indices, pushgateway_url, job, "
                        "update_period=0.0, gpu_buckets=None, cpu_buckets=None, "
                        "dram_buckets=None, timeout=0.0)\n--\n\n"
                        "A push metric of include/zeus/metrics.h: kind 0 EnergyHistogram, "
                        "1 EnergyCumulativeCounter, 2 PowerGauge. See zeusc.metric."),
    .tp_basicsize = sizeof(PushMetric),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PushMetric_new,
    .tp_init = (initproc)PushMetric_init,
    .tp_dealloc = (destructor)PushMetric_dealloc,
    .tp_methods = PushMetric_methods,
    .tp_getset = PushMetric_getset,
};
