/*
 * power_limit.c - zeusc._zeusc.PowerLimitOptimizer: libzeus's power limit optimizer
 * (zeus/power_limit.h) for zeusc/optimizer/power_limit.py, plus the selection and the
 * profile file as module functions.
 *
 * The optimizer's windows go back to Python (window_ops): Zeus's optimizer takes any monitor,
 * and its own test passes a ReplayZeusMonitor, so begin and end are the monitor's methods,
 * wrapped in power_limit.py. A Python OptimumSelector subclass becomes a CUSTOM selector, and
 * torch.distributed's all-reduce the reduce callback. Every callback runs on the thread that
 * called on_step_begin/on_epoch_end, which holds the GIL throughout: the library calls back
 * only from inside those calls, never from a thread of its own.
 *
 * An exception raised in a callback is kept and raised again when the library call returns,
 * so a user sees their monitor's own error, as in Zeus.
 */
#include "zeusc.h"

typedef struct {
    PyObject_HEAD
    zeus_plo *plo;
    zeus_plo_window_ops ops;
    PyObject *begin, *end, *reduce, *log, *custom;
    /* The first exception a callback raised, until it is raised again (3.11's triple). */
    PyObject *pending_type, *pending_value, *pending_tb;
} ZPlo;

/* ---- Callbacks ------------------------------------------------------------------------------ */

static void keep_error(ZPlo *self)
{
    if (self->pending_type == NULL)
        PyErr_Fetch(&self->pending_type, &self->pending_value, &self->pending_tb);
    else
        PyErr_Clear();
}

static zeus_status cb_begin(void *user, const char *key)
{
    ZPlo *self = user;
    PyObject *r = PyObject_CallFunction(self->begin, "s", key);

    if (r == NULL) {
        keep_error(self);
        return ZEUS_ERR_CALLBACK_FAILED;
    }
    Py_DECREF(r);
    return ZEUS_OK;
}

/* end(key, cancel) -> None when cancelled, else (energies in GPU order, time). */
static zeus_status cb_end(void *user, const char *key, int cancel, double *gpu_energy_j,
                          unsigned gpu_count, double *time_s)
{
    ZPlo *self = user;
    PyObject *r = PyObject_CallFunction(self->end, "sO", key, cancel ? Py_True : Py_False);
    PyObject *energies = NULL;
    double t = 0;

    if (r == NULL)
        goto fail;
    if (cancel) {
        Py_DECREF(r);
        return ZEUS_OK;
    }
    if (!PyArg_ParseTuple(r, "Od", &energies, &t) || !PySequence_Check(energies) ||
        PySequence_Size(energies) != (Py_ssize_t)gpu_count) {
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_ValueError, "the monitor measured %zd GPUs, expected %u",
                         PySequence_Size(energies), gpu_count);
        Py_DECREF(r);
        goto fail;
    }
    for (unsigned i = 0; i < gpu_count; i++) {
        PyObject *e = PySequence_GetItem(energies, i);
        gpu_energy_j[i] = e == NULL ? -1 : PyFloat_AsDouble(e);
        Py_XDECREF(e);
        if (PyErr_Occurred()) {
            Py_DECREF(r);
            goto fail;
        }
    }
    *time_s = t;
    Py_DECREF(r);
    return ZEUS_OK;
fail:
    keep_error(self);
    return ZEUS_ERR_CALLBACK_FAILED;
}

static int cb_reduce(double *values, size_t n, zeus_reduce_op op, void *user)
{
    ZPlo *self = user;
    const char *name = op == ZEUS_REDUCE_SUM ? "sum" : "max";
    PyObject *list = PyList_New((Py_ssize_t)n), *r;

    if (list == NULL)
        goto fail;
    for (size_t i = 0; i < n; i++)
        PyList_SET_ITEM(list, i, PyFloat_FromDouble(values[i]));
    r = PyObject_CallFunction(self->reduce, "Os", list, name);
    Py_DECREF(list);
    if (r == NULL)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        PyObject *v = PySequence_GetItem(r, (Py_ssize_t)i);
        values[i] = v == NULL ? 0 : PyFloat_AsDouble(v);
        Py_XDECREF(v);
    }
    Py_DECREF(r);
    if (PyErr_Occurred())
        goto fail;
    return 0;
fail:
    keep_error(self);
    return -1;
}

static void cb_log(const char *message, void *user)
{
    ZPlo *self = user;
    PyObject *r = PyObject_CallFunction(self->log, "s", message);

    if (r == NULL)
        PyErr_WriteUnraisable(self->log); /* a broken logger must not break training */
    Py_XDECREF(r);
}

static PyObject *measurement_list(const zeus_plo_measurement *m, size_t n)
{
    PyObject *list = PyList_New((Py_ssize_t)n);

    for (size_t i = 0; list != NULL && i < n; i++) {
        PyObject *t = Py_BuildValue("(Idd)", m[i].power_limit_w, m[i].energy_j, m[i].time_s);
        if (t == NULL) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, i, t);
    }
    return list;
}

/* custom(list of (W, J, s)) -> W */
static unsigned cb_custom(const zeus_plo_measurement *m, size_t n, void *user)
{
    PyObject *fn = user, *list = measurement_list(m, n), *r = NULL;
    unsigned long w = 0;

    if (list != NULL)
        r = PyObject_CallFunctionObjArgs(fn, list, NULL);
    Py_XDECREF(list);
    if (r != NULL) {
        w = PyLong_AsUnsignedLong(r);
        Py_DECREF(r);
    }
    if (PyErr_Occurred())
        return 0; /* left set: the caller raises it */
    return w > UINT_MAX ? 0 : (unsigned)w;
}

/* ---- Arguments -------------------------------------------------------------------------------- */

/* (kind, eta, world_size, factor, custom-or-None) */
static int selector_arg(PyObject *obj, zeus_plo_selector *sel, PyObject **custom)
{
    int kind;
    unsigned world;
    PyObject *fn;

    memset(sel, 0, sizeof *sel);
    if (!PyArg_ParseTuple(obj, "idIdO", &kind, &sel->eta, &world, &sel->factor, &fn))
        return -1;
    sel->kind = (zeus_plo_selector_kind)kind;
    sel->world_size = world;
    if (fn != Py_None) {
        sel->custom = cb_custom;
        sel->custom_user = fn;
        *custom = fn;
    }
    return 0;
}

static PyObject *optional(PyObject *obj)
{
    return obj == Py_None ? NULL : obj;
}

/* ---- The type ------------------------------------------------------------------------------- */

/* After a library call: the callback's own exception first, else the library's error. */
static PyObject *result(ZPlo *self, zeus_status s)
{
    if (self->pending_type != NULL) {
        PyErr_Restore(self->pending_type, self->pending_value, self->pending_tb);
        self->pending_type = self->pending_value = self->pending_tb = NULL;
        return NULL;
    }
    if (s != ZEUS_OK)
        return PyErr_Occurred() ? NULL : zc_raise(s, NULL);
    Py_RETURN_NONE;
}

static int ZPlo_init(ZPlo *self, PyObject *args, PyObject *kwds)
{
    static char *kw[] = {"begin", "end", "gpu_indices", "wait_steps", "warmup_steps",
                         "profile_steps", "pl_step_w", "profile_path", "selector", "reduce",
                         "log", NULL};
    PyObject *begin, *end, *gpus, *path, *sel_obj, *reduce, *log, *custom = NULL;
    unsigned idx[ZEUS_MAX_GPUS];
    zeus_plo_options o;
    Py_ssize_t n;
    zeus_status s;

    if (self->plo != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "PowerLimitOptimizer is already initialized");
        return -1;
    }
    zeus_plo_options_init(&o);
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOOIIIIOOOO", kw, &begin, &end, &gpus,
                                     &o.wait_steps, &o.warmup_steps, &o.profile_steps,
                                     &o.pl_step_w, &path, &sel_obj, &reduce, &log))
        return -1;
    if ((n = zc_indices(gpus, idx, ZEUS_MAX_GPUS, "gpu_indices")) < 0)
        return n == -2 ? (PyErr_SetString(PyExc_ValueError, "gpu_indices is required"), -1) : -1;
    if (selector_arg(sel_obj, &o.selector, &custom) < 0)
        return -1;
    if (path != Py_None && (o.profile_path = PyUnicode_AsUTF8(path)) == NULL)
        return -1;
    self->begin = Py_NewRef(begin);
    self->end = Py_NewRef(end);
    self->reduce = Py_XNewRef(optional(reduce));
    self->log = Py_XNewRef(optional(log));
    self->custom = Py_XNewRef(custom);
    self->ops = (zeus_plo_window_ops){.begin = cb_begin, .end = cb_end, .user = self};
    o.window_ops = &self->ops;
    o.gpu_indices = idx;
    o.gpu_index_count = (size_t)n;
    o.reduce = self->reduce != NULL ? cb_reduce : NULL;
    o.reduce_user = self;
    o.log = self->log != NULL ? cb_log : NULL;
    o.log_user = self;
    s = zeus_plo_create(NULL, &o, &self->plo);
    if (result(self, s) == NULL)
        return -1;
    Py_DECREF(Py_None); /* result()'s reference */
    return 0;
}

static PyObject *live(ZPlo *self)
{
    if (self->plo == NULL)
        PyErr_SetString(PyExc_RuntimeError, "the optimizer is closed");
    return self->plo == NULL ? NULL : Py_None;
}

static PyObject *ZPlo_on_step_begin(ZPlo *self, PyObject *unused)
{
    (void)unused;
    if (live(self) == NULL)
        return NULL;
    return result(self, zeus_plo_on_step_begin(self->plo));
}

static PyObject *ZPlo_on_epoch_end(ZPlo *self, PyObject *unused)
{
    (void)unused;
    if (live(self) == NULL)
        return NULL;
    return result(self, zeus_plo_on_epoch_end(self->plo));
}

static PyObject *ZPlo_close(ZPlo *self, PyObject *unused)
{
    (void)unused;
    zeus_plo_destroy(self->plo);
    self->plo = NULL;
    return result(self, ZEUS_OK);
}

static PyObject *ZPlo_state(ZPlo *self, PyObject *unused)
{
    zeus_plo_state st;

    (void)unused;
    if (live(self) == NULL)
        return NULL;
    zeus_plo_get_state(self->plo, &st);
    return Py_BuildValue("(iIIIn)", (int)st.phase, st.power_limit_mw, st.steps_left,
                         st.set_limit_mw, (Py_ssize_t)st.measured);
}

static PyObject *ZPlo_power_limits(ZPlo *self, PyObject *unused)
{
    size_t n;
    unsigned *buf;
    PyObject *list;

    (void)unused;
    if (live(self) == NULL)
        return NULL;
    n = zeus_plo_power_limits(self->plo, NULL, 0);
    if ((buf = PyMem_Calloc(n + 1, sizeof *buf)) == NULL)
        return PyErr_NoMemory();
    zeus_plo_power_limits(self->plo, buf, n);
    list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list != NULL && i < n; i++)
        PyList_SET_ITEM(list, i, PyLong_FromUnsignedLong(buf[i]));
    PyMem_Free(buf);
    return list;
}

static PyObject *ZPlo_measurements(ZPlo *self, PyObject *unused)
{
    size_t n;
    zeus_plo_measurement *buf;
    PyObject *list;

    (void)unused;
    if (live(self) == NULL)
        return NULL;
    n = zeus_plo_measurements(self->plo, NULL, 0);
    if ((buf = PyMem_Calloc(n + 1, sizeof *buf)) == NULL)
        return PyErr_NoMemory();
    zeus_plo_measurements(self->plo, buf, n);
    list = measurement_list(buf, n);
    PyMem_Free(buf);
    return list;
}

static int ZPlo_traverse(ZPlo *self, visitproc visit, void *arg)
{
    Py_VISIT(self->begin);
    Py_VISIT(self->end);
    Py_VISIT(self->reduce);
    Py_VISIT(self->log);
    Py_VISIT(self->custom);
    return 0;
}

static int ZPlo_clear(ZPlo *self)
{
    PyObject *type, *value, *tb;

    /* First, while the callbacks it may use (a window to cancel) are still alive; an
     * exception already being raised is kept out of their way. */
    if (self->plo != NULL) {
        PyErr_Fetch(&type, &value, &tb);
        zeus_plo_destroy(self->plo); /* back to the maximum limit */
        self->plo = NULL;
        PyErr_Restore(type, value, tb);
    }
    Py_CLEAR(self->begin);
    Py_CLEAR(self->end);
    Py_CLEAR(self->reduce);
    Py_CLEAR(self->log);
    Py_CLEAR(self->custom);
    return 0;
}

static void ZPlo_dealloc(ZPlo *self)
{
    PyObject_GC_UnTrack(self);
    ZPlo_clear(self);
    Py_CLEAR(self->pending_type);
    Py_CLEAR(self->pending_value);
    Py_CLEAR(self->pending_tb);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef ZPlo_methods[] = {
    {"on_step_begin", (PyCFunction)ZPlo_on_step_begin, METH_NOARGS,
     "on_step_begin($self, /)\n--\n\nCount a step; may set a limit or end a measurement."},
    {"on_epoch_end", (PyCFunction)ZPlo_on_epoch_end, METH_NOARGS,
     "on_epoch_end($self, /)\n--\n\nThrow away an unfinished warmup or measurement."},
    {"close", (PyCFunction)ZPlo_close, METH_NOARGS,
     "close($self, /)\n--\n\nSet the maximum limit back and free the optimizer."},
    {"state", (PyCFunction)ZPlo_state, METH_NOARGS,
     "state($self, /)\n--\n\n(phase, power_limit_mw, steps_left, set_limit_mw, measured)."},
    {"power_limits", (PyCFunction)ZPlo_power_limits, METH_NOARGS,
     "power_limits($self, /)\n--\n\nThe candidate limits in mW, highest first."},
    {"measurements", (PyCFunction)ZPlo_measurements, METH_NOARGS,
     "measurements($self, /)\n--\n\n[(power_limit_w, energy_j, time_s), ...]."},
    {NULL, NULL, 0, NULL},
};

PyTypeObject zc_plo_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "zeusc._zeusc.PowerLimitOptimizer",
    .tp_doc = PyDoc_STR("PowerLimitOptimizer(begin, end, gpu_indices, wait_steps, warmup_steps, "
                        "profile_steps, pl_step_w, profile_path, selector, reduce, log)\n--\n\n"
                        "libzeus's power limit optimizer (zeusc.optimizer.power_limit)."),
    .tp_basicsize = sizeof(ZPlo),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)ZPlo_init,
    .tp_dealloc = (destructor)ZPlo_dealloc,
    .tp_traverse = (traverseproc)ZPlo_traverse,
    .tp_clear = (inquiry)ZPlo_clear,
    .tp_methods = ZPlo_methods,
};

/* ---- Module functions ------------------------------------------------------------------------ */

/* A list of (W, J, s) tuples into a fresh array; NULL with an exception. */
static zeus_plo_measurement *measurements_arg(PyObject *obj, size_t *n)
{
    PyObject *seq = PySequence_Fast(obj, "measurements must be a sequence");
    zeus_plo_measurement *m;
    Py_ssize_t len;

    if (seq == NULL)
        return NULL;
    len = PySequence_Fast_GET_SIZE(seq);
    if ((m = PyMem_Calloc((size_t)len + 1, sizeof *m)) == NULL) {
        Py_DECREF(seq);
        return (zeus_plo_measurement *)PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < len; i++)
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "Idd", &m[i].power_limit_w,
                              &m[i].energy_j, &m[i].time_s)) {
            PyMem_Free(m);
            Py_DECREF(seq);
            return NULL;
        }
    Py_DECREF(seq);
    *n = (size_t)len;
    return m;
}

/* plo_select(selector, measurements) -> (W, [cost, ...]) */
PyObject *zc_plo_select(PyObject *mod, PyObject *args)
{
    PyObject *sel_obj, *m_obj, *costs, *custom = NULL;
    zeus_plo_selector sel;
    zeus_plo_measurement *m;
    double *cost;
    unsigned w = 0;
    size_t n = 0;
    zeus_status s;

    (void)mod;
    if (!PyArg_ParseTuple(args, "OO", &sel_obj, &m_obj) || selector_arg(sel_obj, &sel, &custom) < 0)
        return NULL;
    if ((m = measurements_arg(m_obj, &n)) == NULL)
        return NULL;
    if ((cost = PyMem_Calloc(n + 1, sizeof *cost)) == NULL) {
        PyMem_Free(m);
        return PyErr_NoMemory();
    }
    s = zeus_plo_select(&sel, m, n, &w, cost);
    PyMem_Free(m);
    if (s != ZEUS_OK || PyErr_Occurred()) {
        PyMem_Free(cost);
        return PyErr_Occurred() ? NULL : zc_raise(s, PyExc_ValueError);
    }
    costs = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; costs != NULL && i < n; i++)
        PyList_SET_ITEM(costs, i, PyFloat_FromDouble(cost[i]));
    PyMem_Free(cost);
    return costs == NULL ? NULL : Py_BuildValue("(IN)", w, costs);
}

PyObject *zc_plo_profile_load(PyObject *mod, PyObject *arg)
{
    const char *path = PyUnicode_AsUTF8(arg);
    zeus_plo_measurement *m;
    PyObject *list;
    size_t n;
    zeus_status s;

    (void)mod;
    if (path == NULL)
        return NULL;
    if ((s = zeus_plo_profile_load(path, &m, &n)) != ZEUS_OK)
        return zc_raise(s, s == ZEUS_ERR_INVALID_ARGUMENT ? PyExc_ValueError : PyExc_OSError);
    list = measurement_list(m, n);
    free(m);
    return list;
}

PyObject *zc_plo_profile_save(PyObject *mod, PyObject *args)
{
    const char *path;
    PyObject *m_obj;
    zeus_plo_measurement *m;
    size_t n = 0;
    zeus_status s;

    (void)mod;
    if (!PyArg_ParseTuple(args, "sO", &path, &m_obj) || (m = measurements_arg(m_obj, &n)) == NULL)
        return NULL;
    s = zeus_plo_profile_save(path, m, n);
    PyMem_Free(m);
    if (s != ZEUS_OK)
        return zc_raise(s, s == ZEUS_ERR_INVALID_ARGUMENT ? PyExc_ValueError : PyExc_OSError);
    Py_RETURN_NONE;
}
