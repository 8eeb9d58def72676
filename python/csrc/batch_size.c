/*
 * batch_size.c - zeusc._zeusc.BatchSizeOptimizer: libzeus's batch size optimizer client
 * (zeus/batch_size.h) for zeusc.optimizer.batch_size, which keeps Zeus's names and errors.
 *
 * The client measures epochs with the zeus_monitor of the zeusc.ZeusMonitor it was given,
 * borrowed for each call (so a monitor closed meanwhile is an error, never a dangling
 * pointer). Every call that talks to the server releases the GIL: a request may wait on
 * retries. Failures raise the library's status classes; the Python layer turns them into
 * Zeus's ZeusBSO*Error classes.
 */
#include "zeusc.h"

#include <limits.h>
#include <math.h>

typedef struct {
    PyObject_HEAD
    zeus_bso *bso;
    PyObject *monitor; /* the zeusc.ZeusMonitor, kept alive and borrowed per call */
} ZBso;

/* ---- Borrowing the monitor around a library call ------------------------------------------ */

static int borrow(ZBso *self)
{
    if (self->bso == NULL) {
        PyErr_SetString(PyExc_ValueError, "the batch size optimizer is closed");
        return -1;
    }
    return zc_monitor_borrow(self->monitor) == NULL ? -1 : 0;
}

/* Give the monitor back; raise the library's error for s != ZEUS_OK. */
static int unborrow(PyObject *monitor, zeus_status s)
{
    if (s != ZEUS_OK) {
        zc_raise(s, NULL);
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        if (zc_monitor_unborrow(monitor) < 0)
            PyErr_Clear();
        PyErr_Restore(type, value, tb);
        return -1;
    }
    return zc_monitor_unborrow(monitor);
}

/* ---- The spec, from a dict of Zeus's JobSpec fields --------------------------------------- */

static int get_double(PyObject *d, const char *key, double *out)
{
    PyObject *v = PyDict_GetItemString(d, key);

    if (v == NULL || v == Py_None)
        return 0;
    *out = PyFloat_AsDouble(v);
    return PyErr_Occurred() ? -1 : 0;
}

static int get_unsigned(PyObject *d, const char *key, unsigned *out)
{
    PyObject *v = PyDict_GetItemString(d, key);
    long x;

    if (v == NULL || v == Py_None)
        return 0;
    x = PyLong_AsLong(v);
    if (x == -1 && PyErr_Occurred())
        return -1;
    if (x < 0 || x > (long)UINT_MAX) {
        PyErr_Format(PyExc_ValueError, "%s must be a non-negative integer, not %ld", key, x);
        return -1;
    }
    *out = (unsigned)x;
    return 0;
}

/* The spec's scalars; strings and sizes are done by the caller. */
static int spec_numbers(PyObject *d, zeus_bso_spec *s)
{
    PyObject *v;

    if (get_unsigned(d, "default_batch_size", &s->default_batch_size) < 0 ||
        get_double(d, "eta_knob", &s->eta_knob) < 0 ||
        get_double(d, "target_metric", &s->target_metric) < 0 ||
        get_unsigned(d, "max_epochs", &s->max_epochs) < 0 ||
        get_unsigned(d, "num_pruning_rounds", &s->num_pruning_rounds) < 0 ||
        get_double(d, "mab_prior_mean", &s->mab_prior_mean) < 0 ||
        get_double(d, "mab_prior_precision", &s->mab_prior_precision) < 0 ||
        get_unsigned(d, "mab_num_explorations", &s->mab_num_explorations) < 0)
        return -1;
    v = PyDict_GetItemString(d, "beta_knob");
    if (v == Py_None)
        s->beta_knob = NAN;
    else if (get_double(d, "beta_knob", &s->beta_knob) < 0)
        return -1;
    v = PyDict_GetItemString(d, "higher_is_better_metric");
    if (v != NULL && (s->higher_is_better_metric = PyObject_IsTrue(v)) < 0)
        return -1;
    v = PyDict_GetItemString(d, "window_size");
    if (v != NULL && v != Py_None) {
        long w = PyLong_AsLong(v);
        if (w == -1 && PyErr_Occurred())
            return -1;
        s->window_size = (int)w;
    }
    v = PyDict_GetItemString(d, "mab_seed");
    if (v != NULL && v != Py_None) {
        long long seed = PyLong_AsLongLong(v);
        if (seed == -1 && PyErr_Occurred())
            return -1;
        s->has_mab_seed = 1;
        s->mab_seed = seed;
    }
    return 0;
}

/* batch_sizes into a malloc'd array. */
static int spec_sizes(PyObject *d, zeus_bso_spec *s, unsigned **sizes)
{
    PyObject *v = PyDict_GetItemString(d, "batch_sizes"), *seq;
    Py_ssize_t n;

    if (v == NULL || v == Py_None)
        return 0;
    if ((seq = PySequence_Fast(v, "batch_sizes must be a list of integers")) == NULL)
        return -1;
    n = PySequence_Fast_GET_SIZE(seq);
    *sizes = PyMem_Calloc(n > 0 ? (size_t)n : 1, sizeof(unsigned));
    for (Py_ssize_t i = 0; *sizes != NULL && i < n; i++) {
        long x = PyLong_AsLong(PySequence_Fast_GET_ITEM(seq, i));
        if (x == -1 && PyErr_Occurred())
            break;
        if (x <= 0 || x > (long)UINT_MAX) {
            PyErr_Format(PyExc_ValueError, "batch sizes must be positive integers, not %ld", x);
            break;
        }
        (*sizes)[i] = (unsigned)x;
    }
    Py_DECREF(seq);
    if (*sizes == NULL)
        PyErr_NoMemory();
    if (PyErr_Occurred())
        return -1;
    s->batch_sizes = *sizes;
    s->batch_size_count = (size_t)n;
    return 0;
}

static const char *optional_str(PyObject *d, const char *key)
{
    PyObject *v = PyDict_GetItemString(d, key);

    if (v == NULL || v == Py_None)
        return NULL;
    return PyUnicode_AsUTF8(v); /* NULL with an exception for a non-string */
}

/* ---- The type ------------------------------------------------------------------------------ */

static int ZBso_init(ZBso *self, PyObject *args, PyObject *kw)
{
    static char *names[] = {"monitor", "server_url", "spec", "rank", NULL};
    PyObject *monitor, *spec_dict;
    const char *url;
    unsigned rank = 0;
    unsigned *sizes = NULL;
    zeus_bso_spec spec;
    zeus_monitor *mon;
    zeus_status s;

    if (self->bso != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "BatchSizeOptimizer is already initialized");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OsO!|I", names, &monitor, &url, &PyDict_Type,
                                     &spec_dict, &rank))
        return -1;
    zeus_bso_spec_init(&spec);
    spec.job_id = optional_str(spec_dict, "job_id");
    if (PyErr_Occurred())
        return -1;
    spec.job_id_prefix = optional_str(spec_dict, "job_id_prefix");
    if (PyErr_Occurred() || spec_numbers(spec_dict, &spec) < 0 ||
        spec_sizes(spec_dict, &spec, &sizes) < 0) {
        PyMem_Free(sizes);
        return -1;
    }
    if ((mon = zc_monitor_borrow(monitor)) == NULL) {
        PyMem_Free(sizes);
        return -1;
    }
    Py_BEGIN_ALLOW_THREADS
    s = zeus_bso_open(mon, url, &spec, rank, &self->bso);
    Py_END_ALLOW_THREADS
    PyMem_Free(sizes);
    if (unborrow(monitor, s) < 0)
        return -1;
    Py_INCREF(monitor);
    self->monitor = monitor;
    return 0;
}

static void close_bso(ZBso *self)
{
    zeus_bso *bso = self->bso;

    self->bso = NULL;
    if (bso == NULL)
        return;
    /* The window is the monitor's: only touched while the monitor can be borrowed. */
    if (self->monitor != NULL && zc_monitor_borrow(self->monitor) != NULL) {
        Py_BEGIN_ALLOW_THREADS
        zeus_bso_close(bso);
        Py_END_ALLOW_THREADS
        if (zc_monitor_unborrow(self->monitor) < 0)
            PyErr_Clear();
    } else {
        /*
         * The monitor was closed first: its zeus_monitor is gone, so the client's window
         * must not be touched. End the trial and leave the small client unfreed (the exit
         * hook still lists it; with no trial open it sends nothing).
         */
        PyErr_Clear();
        zeus_bso_end_trial(bso);
    }
}

static void ZBso_dealloc(ZBso *self)
{
    PyObject_GC_UnTrack(self);
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    close_bso(self);
    PyErr_Restore(type, value, tb);
    Py_CLEAR(self->monitor);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int ZBso_traverse(ZBso *self, visitproc visit, void *arg)
{
    Py_VISIT(self->monitor);
    return 0;
}

static int ZBso_clear(ZBso *self)
{
    Py_CLEAR(self->monitor);
    return 0;
}

static PyObject *ZBso_close(ZBso *self, PyObject *noargs)
{
    (void)noargs;
    close_bso(self);
    Py_RETURN_NONE;
}

static PyObject *ZBso_get_batch_size(ZBso *self, PyObject *noargs)
{
    unsigned bs = 0;
    zeus_status s;

    (void)noargs;
    if (borrow(self) < 0)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    s = zeus_bso_get_batch_size(self->bso, &bs);
    Py_END_ALLOW_THREADS
    if (unborrow(self->monitor, s) < 0)
        return NULL;
    return PyLong_FromUnsignedLong(bs);
}

static PyObject *ZBso_set_trial(ZBso *self, PyObject *args)
{
    unsigned bs, trial;

    if (!PyArg_ParseTuple(args, "II", &bs, &trial) || borrow(self) < 0)
        return NULL;
    if (unborrow(self->monitor, zeus_bso_set_trial(self->bso, bs, trial)) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *ZBso_trial(ZBso *self, PyObject *noargs)
{
    unsigned bs, trial, epoch;
    zeus_status s;

    (void)noargs;
    if (borrow(self) < 0)
        return NULL;
    s = zeus_bso_get_trial(self->bso, &bs, &trial, &epoch);
    if (unborrow(self->monitor, s) < 0)
        return NULL;
    return Py_BuildValue("(III)", bs, trial, epoch);
}

static PyObject *ZBso_gpu_config(ZBso *self, PyObject *noargs)
{
    double max_power;
    unsigned n;
    const char *model;

    (void)noargs;
    if (self->bso == NULL) {
        PyErr_SetString(PyExc_ValueError, "the batch size optimizer is closed");
        return NULL;
    }
    if (zeus_bso_gpu_config(self->bso, &max_power, &n, &model) != ZEUS_OK)
        return zc_raise(ZEUS_ERR_INVALID_ARGUMENT, NULL);
    return Py_BuildValue("(dIsz)", max_power, n, model, zeus_bso_job_id(self->bso));
}

static PyObject *ZBso_on_train_begin(ZBso *self, PyObject *noargs)
{
    zeus_status s;

    (void)noargs;
    if (borrow(self) < 0)
        return NULL;
    s = zeus_bso_on_train_begin(self->bso);
    if (unborrow(self->monitor, s) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *ZBso_on_evaluate(ZBso *self, PyObject *args)
{
    double metric;
    int stop = 0;
    zeus_status s;

    if (!PyArg_ParseTuple(args, "d", &metric) || borrow(self) < 0)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    s = zeus_bso_on_evaluate(self->bso, metric, &stop);
    Py_END_ALLOW_THREADS
    if (unborrow(self->monitor, s) < 0)
        return NULL;
    return PyBool_FromLong(stop);
}

static PyObject *ZBso_report(ZBso *self, PyObject *args)
{
    double t, e, metric;
    int stop = 0;
    zeus_status s;

    if (!PyArg_ParseTuple(args, "ddd", &t, &e, &metric) || borrow(self) < 0)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    s = zeus_bso_report(self->bso, t, e, metric, &stop);
    Py_END_ALLOW_THREADS
    if (unborrow(self->monitor, s) < 0)
        return NULL;
    return PyBool_FromLong(stop);
}

static PyObject *ZBso_end_trial(ZBso *self, PyObject *noargs)
{
    zeus_status s;

    (void)noargs;
    if (borrow(self) < 0)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    s = zeus_bso_end_trial(self->bso);
    Py_END_ALLOW_THREADS
    if (unborrow(self->monitor, s) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef ZBso_methods[] = {
    {"get_batch_size", (PyCFunction)ZBso_get_batch_size, METH_NOARGS,
     "get_batch_size() -> int: asked once from the server (rank 0 only)."},
    {"set_trial", (PyCFunction)ZBso_set_trial, METH_VARARGS,
     "set_trial(batch_size, trial_number): what rank 0 got, on another rank."},
    {"trial", (PyCFunction)ZBso_trial, METH_NOARGS,
     "trial() -> (batch_size, trial_number, epoch)."},
    {"gpu_config", (PyCFunction)ZBso_gpu_config, METH_NOARGS,
     "gpu_config() -> (max_power, number_of_gpus, gpu_model, job_id)."},
    {"on_train_begin", (PyCFunction)ZBso_on_train_begin, METH_NOARGS,
     "Open the epoch window."},
    {"on_evaluate", (PyCFunction)ZBso_on_evaluate, METH_VARARGS,
     "on_evaluate(metric) -> stop: close the window and report the run so far."},
    {"report", (PyCFunction)ZBso_report, METH_VARARGS,
     "report(epoch_time, epoch_energy, metric) -> stop: report without the monitor."},
    {"end_trial", (PyCFunction)ZBso_end_trial, METH_NOARGS, "End the trial (PATCH /trials)."},
    {"close", (PyCFunction)ZBso_close, METH_NOARGS, "End the trial and free the client."},
    {NULL, NULL, 0, NULL},
};

PyTypeObject zc_bso_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "zeusc._zeusc.BatchSizeOptimizer",
    .tp_doc = PyDoc_STR("BatchSizeOptimizer(monitor, server_url, spec, rank=0)\n--\n\n"
                        "libzeus's batch size optimizer client "
                        "(zeusc.optimizer.batch_size)."),
    .tp_basicsize = sizeof(ZBso),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)ZBso_init,
    .tp_dealloc = (destructor)ZBso_dealloc,
    .tp_traverse = (traverseproc)ZBso_traverse,
    .tp_clear = (inquiry)ZBso_clear,
    .tp_methods = ZBso_methods,
};
