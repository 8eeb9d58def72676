/*
 * rate.c - zeusc._zeusc.RateProvider: a carbon-intensity or electricity-price provider of
 * include/zeus/rate.h, which zeusc/monitor/_rate.py dresses as Zeus's ElectrictyMapsClient
 * and OpenEIClient, and which the carbon and cost monitors take.
 *
 * A network provider can wait (three tries of up to 10 s each), so every call that may reach
 * the network runs with the GIL released; the provider is thread-safe (rate.h).
 *
 * RateProvider.from_object(obj, kind, ...) turns a Python object with a
 * rate_at(hour_unix_s) -> (value, flags) method into a C provider (zeus_rate_provider_from_
 * callbacks), so a provider written in Python can price a C monitor's energy. Its callback
 * takes the GIL. A LookupError becomes ZEUS_ERR_PROVIDER_NOT_FOUND and an OSError
 * ZEUS_ERR_PROVIDER_HTTP (Zeus's provider errors derive from neither, zeusc's do); any other
 * exception becomes ZEUS_ERR_CALLBACK_FAILED and is printed as unraisable (it happens on
 * whatever thread asked, maybe not the caller's).
 */
#include "zeusc.h"

#include <math.h>
#include <string.h>

typedef struct {
    PyObject_HEAD
    zeus_rate_provider *p; /* NULL: closed */
} RateProvider;

static zeus_rate_provider *live(RateProvider *self)
{
    if (self->p == NULL)
        PyErr_SetString(PyExc_ValueError, "the rate provider is closed");
    return self->p;
}

zeus_rate_provider *zc_rate_provider_get(PyObject *obj)
{
    if (!PyObject_TypeCheck(obj, &zc_rate_type)) {
        PyErr_Format(PyExc_TypeError, "expected a zeusc rate provider, got %.100s",
                     Py_TYPE(obj)->tp_name);
        return NULL;
    }
    return live((RateProvider *)obj);
}

/* ---- Life cycle --------------------------------------------------------------------------- */

static int RateProvider_init(RateProvider *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"spec", "kind", NULL};
    const char *spec;
    int kind;
    zeus_rate_provider *p = NULL;
    zeus_status s;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "si:RateProvider", kwlist, &spec, &kind))
        return -1;
    if (self->p != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "RateProvider is already initialized");
        return -1;
    }
    Py_BEGIN_ALLOW_THREADS /* a CSV file is read here */
    s = zeus_rate_provider_open(spec, (zeus_rate_kind)kind, &p);
    Py_END_ALLOW_THREADS
    if (s != ZEUS_OK) {
        zc_raise(s, NULL);
        return -1;
    }
    self->p = p;
    return 0;
}

static void RateProvider_dealloc(RateProvider *self)
{
    zeus_rate_provider_close(self->p);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *RateProvider_close(RateProvider *self, PyObject *unused)
{
    zeus_rate_provider *p = self->p;
    (void)unused;
    self->p = NULL;
    Py_BEGIN_ALLOW_THREADS
    zeus_rate_provider_close(p);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

/* ---- From a Python object ----------------------------------------------------------------- */

static zeus_status obj_rate_at(void *user, double hour, double *value, uint32_t *flags)
{
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *r = PyObject_CallMethod((PyObject *)user, "rate_at", "d", hour);
    zeus_status s = ZEUS_ERR_CALLBACK_FAILED;
    double v;
    unsigned long f;

    if (r != NULL && !PyTuple_Check(r))
        PyErr_Format(PyExc_TypeError, "rate_at must return (value, flags), not %.100s",
                     Py_TYPE(r)->tp_name);
    else if (r != NULL && PyArg_ParseTuple(r, "dk", &v, &f)) {
        *value = v;
        *flags = (uint32_t)f;
        s = ZEUS_OK;
    }
    if (PyErr_Occurred()) {
        /* Zeus's provider exceptions keep their meaning: HTTP and not-found. */
        if (PyErr_ExceptionMatches(PyExc_LookupError))
            s = ZEUS_ERR_PROVIDER_NOT_FOUND;
        else if (PyErr_ExceptionMatches(PyExc_OSError))
            s = ZEUS_ERR_PROVIDER_HTTP;
        else
            s = ZEUS_ERR_CALLBACK_FAILED;
        if (s == ZEUS_ERR_CALLBACK_FAILED) /* a bug in the provider: show its traceback */
            PyErr_WriteUnraisable(user);
        else /* an expected failure: its status says what it was */
            PyErr_Clear();
    }
    Py_XDECREF(r);
    PyGILState_Release(g);
    return s;
}

static void obj_destroy(void *user)
{
    PyGILState_STATE g = PyGILState_Ensure();
    Py_DECREF((PyObject *)user);
    PyGILState_Release(g);
}

static PyObject *RateProvider_from_object(PyObject *cls, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"obj", "kind", "update_period", "history_length", "currency", NULL};
    zeus_rate_callbacks cb;
    PyObject *obj, *self;
    int kind;
    double period = 0;
    Py_ssize_t hist = 0;
    const char *currency = NULL;
    zeus_rate_provider *p = NULL;
    zeus_status s;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "Oi|dnz:from_object", kwlist, &obj, &kind, &period,
                                     &hist, &currency))
        return NULL;
    if (hist < 0) {
        PyErr_SetString(PyExc_ValueError, "history_length must be >= 0");
        return NULL;
    }
    memset(&cb, 0, sizeof cb);
    cb.size = sizeof cb;
    cb.rate_at = obj_rate_at;
    cb.destroy = obj_destroy;
    cb.update_period_s = period;
    cb.history_length = (size_t)hist;
    cb.currency = currency;
    Py_INCREF(obj);
    s = zeus_rate_provider_from_callbacks(&cb, obj, (zeus_rate_kind)kind, &p);
    if (s != ZEUS_OK) {
        Py_DECREF(obj);
        return zc_raise(s, NULL);
    }
    self = ((PyTypeObject *)cls)->tp_alloc((PyTypeObject *)cls, 0);
    if (self == NULL) {
        zeus_rate_provider_close(p);
        return NULL;
    }
    ((RateProvider *)self)->p = p;
    return self;
}

/* ---- Rates -------------------------------------------------------------------------------- */

static PyObject *RateProvider_rate_at(RateProvider *self, PyObject *arg)
{
    zeus_rate_provider *p = live(self);
    double t = PyFloat_AsDouble(arg), v = NAN;
    uint32_t flags = 0;
    zeus_status s;

    if (p == NULL || (t == -1.0 && PyErr_Occurred()))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    s = zeus_rate_provider_rate_at(p, t, &v, &flags);
    Py_END_ALLOW_THREADS
    if (s != ZEUS_OK)
        return zc_raise(s, NULL);
    return Py_BuildValue("(dk)", v, (unsigned long)flags);
}

static PyObject *RateProvider_current(RateProvider *self, PyObject *unused)
{
    zeus_rate_provider *p = live(self);
    double v = NAN;
    zeus_status s;

    (void)unused;
    if (p == NULL)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    s = zeus_rate_provider_current(p, &v);
    Py_END_ALLOW_THREADS
    if (s != ZEUS_OK)
        return zc_raise(s, NULL);
    return PyFloat_FromDouble(v);
}

static PyObject *RateProvider_history(RateProvider *self, PyObject *args)
{
    zeus_rate_provider *p = live(self);
    Py_ssize_t cap = 256;
    zeus_rate_point *pts;
    size_t n = 0;
    PyObject *list;
    zeus_status s;

    if (p == NULL || !PyArg_ParseTuple(args, "|n:history", &cap))
        return NULL;
    if (cap < 0 || cap > 1000000) {
        PyErr_SetString(PyExc_ValueError, "cap must be 0..1000000");
        return NULL;
    }
    if ((pts = PyMem_Calloc((size_t)cap + 1, sizeof *pts)) == NULL)
        return PyErr_NoMemory();
    Py_BEGIN_ALLOW_THREADS
    s = zeus_rate_provider_history(p, pts, (size_t)cap, &n);
    Py_END_ALLOW_THREADS
    if (s != ZEUS_OK) {
        PyMem_Free(pts);
        return zc_raise(s, NULL);
    }
    list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list != NULL && i < n; i++) {
        PyObject *t = Py_BuildValue("(dd)", pts[i].unix_s, pts[i].value);
        if (t == NULL) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, t);
    }
    PyMem_Free(pts);
    return list;
}

/* ---- Properties --------------------------------------------------------------------------- */

static PyObject *get_update_period(RateProvider *self, void *c)
{
    (void)c;
    return live(self) ? PyFloat_FromDouble(zeus_rate_provider_update_period_s(self->p)) : NULL;
}

static PyObject *get_history_length(RateProvider *self, void *c)
{
    (void)c;
    return live(self) ? PyLong_FromSize_t(zeus_rate_provider_history_length(self->p)) : NULL;
}

static PyObject *get_kind(RateProvider *self, void *c)
{
    (void)c;
    return live(self) ? PyLong_FromLong((long)zeus_rate_provider_kind(self->p)) : NULL;
}

static PyObject *get_unit(RateProvider *self, void *c)
{
    (void)c;
    return live(self) ? PyUnicode_FromString(zeus_rate_provider_unit(self->p)) : NULL;
}

static PyObject *get_currency(RateProvider *self, void *c)
{
    (void)c;
    return live(self) ? PyUnicode_FromString(zeus_rate_provider_currency(self->p)) : NULL;
}

static PyObject *get_closed(RateProvider *self, void *c)
{
    (void)c;
    return PyBool_FromLong(self->p == NULL);
}

static PyGetSetDef RateProvider_getset[] = {
    {"update_period", (getter)get_update_period, NULL, "Seconds each value holds (3600).", NULL},
    {"history_length", (getter)get_history_length, NULL,
     "How many periods back the provider answers (0: any).", NULL},
    {"kind", (getter)get_kind, NULL, "RATE_CARBON or RATE_PRICE.", NULL},
    {"unit", (getter)get_unit, NULL, "'gCO2eq/kWh' or '<currency>/kWh'.", NULL},
    {"currency", (getter)get_currency, NULL, "ISO 4217 code of a price provider; '' for carbon.",
     NULL},
    {"closed", (getter)get_closed, NULL, "Whether close() was called.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef RateProvider_methods[] = {
    {"rate_at", (PyCFunction)RateProvider_rate_at, METH_O,
     "rate_at($self, hour_unix_s, /)\n--\n\n(value, flags) of the UTC hour starting at "
     "hour_unix_s (floored to the hour); flags are zeusc RATE_* bits."},
    {"current", (PyCFunction)RateProvider_current, METH_NOARGS,
     "current($self, /)\n--\n\nThe current rate."},
    {"history", (PyCFunction)RateProvider_history, METH_VARARGS,
     "history($self, cap=256, /)\n--\n\n[(unix_s, value), ...], oldest first."},
    {"close", (PyCFunction)RateProvider_close, METH_NOARGS,
     "close($self, /)\n--\n\nFree the provider (idempotent)."},
    {"from_object", (PyCFunction)(void (*)(void))RateProvider_from_object,
     METH_VARARGS | METH_KEYWORDS | METH_CLASS,
     "from_object(obj, kind, update_period=0, history_length=0, currency=None)\n--\n\n"
     "A provider whose rates come from obj.rate_at(hour_unix_s) -> (value, flags)."},
    {NULL, NULL, 0, NULL},
};

PyTypeObject zc_rate_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "zeusc._zeusc.RateProvider",
    .tp_basicsize = sizeof(RateProvider),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "RateProvider(spec, kind)\n--\n\nA rate provider of include/zeus/rate.h "
              "('electricitymaps:LAT,LON', 'openei:LAT,LON:LABEL', 'fixed:V', 'csv:FILE').",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)RateProvider_init,
    .tp_dealloc = (destructor)RateProvider_dealloc,
    .tp_methods = RateProvider_methods,
    .tp_getset = RateProvider_getset,
};

/* ---- Registration ------------------------------------------------------------------------- */

int zc_rate_register(PyObject *m)
{
    if (PyType_Ready(&zc_rate_type) < 0 ||
        PyModule_AddObjectRef(m, "RateProvider", (PyObject *)&zc_rate_type) < 0 ||
        PyModule_AddIntConstant(m, "RATE_CARBON", ZEUS_RATE_CARBON) < 0 ||
        PyModule_AddIntConstant(m, "RATE_PRICE", ZEUS_RATE_PRICE) < 0 ||
        PyModule_AddIntConstant(m, "RATE_EXACT", ZEUS_RATE_EXACT) < 0 ||
        PyModule_AddIntConstant(m, "RATE_ESTIMATED", ZEUS_RATE_ESTIMATED) < 0 ||
        PyModule_AddIntConstant(m, "RATE_STALE", ZEUS_RATE_STALE) < 0 ||
        PyModule_AddIntConstant(m, "RATE_PENDING", ZEUS_RATE_PENDING) < 0)
        return -1;
    return 0;
}
