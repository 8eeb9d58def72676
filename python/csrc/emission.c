/*
 * emission.c - zeusc._zeusc.EmissionHandle: a thin handle over zeus_emission_monitor_*
 * (zeus/emission.h), which zeusc/monitor/_emission.py dresses as Zeus's CarbonEmissionMonitor
 * and EnergyCostMonitor.
 *
 * The handle opens its windows on a zeusc ZeusMonitor (borrowed for each call, so its sync
 * function runs at begin and end as Zeus's monitors do) and prices them with a provider made
 * by zeus_rate_provider_from_callbacks() whose rate_at calls a Python callable
 * `rate_at(hour_unix_s) -> (value, flags)`: a provider written in Python works, on any thread.
 *
 * THE GIL. The library calls rate_at (and an injected clock) from the caller's thread and
 * from its own background thread, with its lock held for the clock. The callbacks take the
 * GIL (PyGILState_Ensure), so every call into the library here is made with the GIL released:
 * a thread holding the GIL and waiting for the library's lock while the library's thread holds
 * that lock and waits for the GIL would deadlock.
 *
 * A callable that raises: LookupError (ZeusProviderNotFoundError, Zeus's *NotFoundError
 * classes derive from it in zeusc) means no value for that hour (ZEUS_ERR_PROVIDER_NOT_FOUND);
 * anything else means the provider could not answer (ZEUS_ERR_PROVIDER_HTTP). The exception is
 * kept (last_provider_error) for the Python side to show.
 */
#include "zeusc.h"

#include <math.h>
#include <string.h>

#include "zeus/emission.h"

typedef struct {
    PyObject_HEAD
    zeus_emission_monitor *em;
    zeus_rate_provider *provider;
    PyObject *monitor;        /* the zeusc ZeusMonitor the windows run on */
    PyObject *rate_at;        /* callable(hour_unix_s) -> (value, flags) */
    PyObject *clock;          /* callable() -> unix seconds, or NULL for the real clock */
    PyObject *provider_error; /* the last exception rate_at raised, or NULL */
    int busy;                 /* calls in flight without the GIL: close() refuses */
} EmHandle;

/* ---- Callbacks (any thread; they take the GIL) ------------------------------------------ */

static zeus_status call_rate_at(void *user, double hour_s, double *value, uint32_t *flags)
{
    EmHandle *self = user;
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *r = PyObject_CallFunction(self->rate_at, "d", hour_s);
    zeus_status s = ZEUS_OK;
    unsigned f = ZEUS_RATE_EXACT;

    if (r != NULL && !PyArg_ParseTuple(r, "d|I", value, &f))
        Py_CLEAR(r);
    if (r == NULL) {
        s = PyErr_ExceptionMatches(PyExc_LookupError) ? ZEUS_ERR_PROVIDER_NOT_FOUND
                                                      : ZEUS_ERR_PROVIDER_HTTP;
        PyObject *type, *value, *tb;

        PyErr_Fetch(&type, &value, &tb); /* 3.11 has no PyErr_GetRaisedException */
        PyErr_NormalizeException(&type, &value, &tb);
        Py_CLEAR(self->provider_error);
        self->provider_error = value != NULL ? value : Py_NewRef(Py_None);
        Py_XDECREF(type);
        Py_XDECREF(tb);
    }
    Py_XDECREF(r);
    *flags = f;
    PyGILState_Release(g);
    return s;
}

static double call_clock(void *user)
{
    EmHandle *self = user;
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *r = PyObject_CallNoArgs(self->clock);
    double t = r != NULL ? PyFloat_AsDouble(r) : -1.0;

    Py_XDECREF(r);
    if (PyErr_Occurred()) { /* a broken test clock: the real one, rather than a crash */
        PyErr_Clear();
        t = zeus_now() + zc_clock_offset;
    }
    PyGILState_Release(g);
    return t;
}

/* ---- Life cycle ---------------------------------------------------------------------------- */

static void destroy(EmHandle *self)
{
    zeus_emission_monitor *em = self->em;
    zeus_rate_provider *p = self->provider;

    self->em = NULL;
    self->provider = NULL;
    Py_BEGIN_ALLOW_THREADS
    zeus_emission_monitor_destroy(em); /* joins the thread, which may wait for the GIL */
    zeus_rate_provider_close(p);
    Py_END_ALLOW_THREADS
}

static int EmHandle_init(EmHandle *self, PyObject *args, PyObject *kw)
{
    static char *names[] = {"monitor", "rate_at", "kind", "currency", "clock", "background", NULL};
    PyObject *monitor, *rate_at, *clock = Py_None;
    const char *currency = NULL;
    int kind, background = 1;
    zeus_rate_callbacks cb;
    zeus_emission_options o;
    zeus_monitor *mon;
    zeus_status s;

    if (self->em != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "EmissionHandle is already initialized");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOi|zOp", names, &monitor, &rate_at, &kind,
                                     &currency, &clock, &background))
        return -1;
    if (!PyCallable_Check(rate_at) || (clock != Py_None && !PyCallable_Check(clock))) {
        PyErr_SetString(PyExc_TypeError, "rate_at and clock must be callables");
        return -1;
    }
    if (kind != ZEUS_RATE_CARBON && kind != ZEUS_RATE_PRICE) {
        PyErr_Format(PyExc_ValueError, "kind must be %d (carbon) or %d (price)", ZEUS_RATE_CARBON,
                     ZEUS_RATE_PRICE);
        return -1;
    }
    self->rate_at = Py_NewRef(rate_at);
    self->clock = clock != Py_None ? Py_NewRef(clock) : NULL;
    memset(&cb, 0, sizeof cb);
    cb.size = sizeof cb;
    cb.rate_at = call_rate_at;
    cb.currency = currency;
    zeus_emission_options_init(&o);
    o.clock = self->clock != NULL ? call_clock : NULL;
    o.clock_user = self;
    o.background = background;
    if ((mon = zc_monitor_borrow(monitor)) == NULL)
        return -1;
    o.monitor = mon;
    Py_BEGIN_ALLOW_THREADS
    s = zeus_rate_provider_from_callbacks(&cb, self, (zeus_rate_kind)kind, &self->provider);
    if (s == ZEUS_OK)
        s = zeus_emission_monitor_create(self->provider, &o, &self->em);
    Py_END_ALLOW_THREADS
    if (s != ZEUS_OK) {
        zc_raise(s, NULL);
        zc_monitor_unborrow(monitor);
        destroy(self);
        return -1;
    }
    self->monitor = Py_NewRef(monitor);
    return zc_monitor_unborrow(monitor);
}

static int EmHandle_traverse(EmHandle *self, visitproc visit, void *arg)
{
    Py_VISIT(self->monitor);
    Py_VISIT(self->rate_at);
    Py_VISIT(self->clock);
    Py_VISIT(self->provider_error);
    return 0;
}

static int EmHandle_clear(EmHandle *self)
{
    Py_CLEAR(self->provider_error);
    return 0; /* the rest lives until dealloc: the library's thread may still call them */
}

static void EmHandle_dealloc(EmHandle *self)
{
    PyObject_GC_UnTrack(self);
    destroy(self);
    Py_CLEAR(self->monitor);
    Py_CLEAR(self->rate_at);
    Py_CLEAR(self->clock);
    Py_CLEAR(self->provider_error);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static zeus_emission_monitor *live(EmHandle *self)
{
    if (self->em == NULL)
        PyErr_SetString(PyExc_RuntimeError, "the emission monitor is closed");
    return self->em;
}

static PyObject *EmHandle_close(EmHandle *self, PyObject *unused)
{
    (void)unused;
    if (self->busy > 0) {
        PyErr_SetString(PyExc_RuntimeError, "close() while another thread is inside a call");
        return NULL;
    }
    if (self->em != NULL)
        destroy(self);
    Py_RETURN_NONE;
}

/* ---- Results ------------------------------------------------------------------------------- */

static int put(PyObject *dict, unsigned index, double v)
{
    PyObject *k = PyLong_FromUnsignedLong(index), *x = PyFloat_FromDouble(v);
    int rc = k != NULL && x != NULL ? PyDict_SetItem(dict, k, x) : -1;

    Py_XDECREF(k);
    Py_XDECREF(x);
    return rc;
}

/*
 * (window_id, time, start_unix, flags, hours, pending_hours, currency, gpu_energy,
 *  gpu_amount, cpu_energy, cpu_amount, dram_energy, dram_amount, total); DRAM only for
 * packages that have it.
 */
static PyObject *result(const zeus_emission_measurement *m)
{
    PyObject *d[6] = {PyDict_New(), PyDict_New(), PyDict_New(),
                      PyDict_New(), PyDict_New(), PyDict_New()};
    PyObject *out = NULL;
    int rc = 0;

    for (int k = 0; k < 6; k++)
        rc |= d[k] == NULL ? -1 : 0;
    for (unsigned i = 0; rc == 0 && i < m->gpu_count; i++)
        rc |= put(d[0], m->gpu_index[i], m->gpu_energy_j[i]) |
              put(d[1], m->gpu_index[i], m->gpu_amount[i]);
    for (unsigned i = 0; rc == 0 && i < m->cpu_count; i++) {
        rc |= put(d[2], m->cpu_index[i], m->cpu_energy_j[i]) |
              put(d[3], m->cpu_index[i], m->cpu_amount[i]);
        if (!isnan(m->dram_energy_j[i]))
            rc |= put(d[4], m->cpu_index[i], m->dram_energy_j[i]) |
                  put(d[5], m->cpu_index[i], m->dram_amount[i]);
    }
    if (rc == 0)
        out = Py_BuildValue("(KddIIIsOOOOOOd)", (unsigned long long)m->window_id, m->time_s,
                            m->start_unix_s, m->flags, m->hours, m->pending_hours, m->currency,
                            d[0], d[1], d[2], d[3], d[4], d[5], m->total_amount);
    for (int k = 0; k < 6; k++)
        Py_XDECREF(d[k]);
    return out;
}

/*
 * (status, result) for a window that was found: ZEUS_OK, ZEUS_ERR_PENDING, or a device's
 * error (its values NAN) come back for the Python side to raise or not; a missing window or
 * a bad call raises here.
 */
static PyObject *answer(zeus_status s, const zeus_emission_measurement *m, PyObject *missing)
{
    PyObject *r;

    if (s == ZEUS_ERR_NOT_FOUND || s == ZEUS_ERR_INVALID_ARGUMENT || s == ZEUS_ERR_NO_MEMORY)
        return zc_raise(s, s == ZEUS_ERR_NOT_FOUND ? missing : NULL);
    if ((r = result(m)) == NULL)
        return NULL;
    return Py_BuildValue("(iN)", (int)s, r);
}

/* ---- Calls ------------------------------------------------------------------------------- */

/*
 * Windows: the monitor is borrowed around the call (its sync function resolved, close()
 * held off), and the call runs without the GIL (head note).
 */
static PyObject *EmHandle_begin(EmHandle *self, PyObject *arg)
{
    zeus_emission_monitor *em = live(self);
    const char *key = em != NULL ? PyUnicode_AsUTF8(arg) : NULL;
    zeus_status s;

    if (key == NULL)
        return NULL;
    if (zc_monitor_borrow(self->monitor) == NULL)
        return NULL;
    self->busy++;
    Py_BEGIN_ALLOW_THREADS
    s = zeus_emission_monitor_begin_window(em, key);
    Py_END_ALLOW_THREADS
    self->busy--;
    if (s != ZEUS_OK) {
        zc_raise(s, s == ZEUS_ERR_ALREADY_EXISTS ? zc_window_exists_cls : NULL);
        zc_monitor_unborrow(self->monitor);
        zc_monitor_raise_sync_error();
        return NULL;
    }
    if (zc_monitor_unborrow(self->monitor) < 0 || zc_monitor_raise_sync_error())
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *EmHandle_end(EmHandle *self, PyObject *arg)
{
    zeus_emission_monitor *em = live(self);
    const char *key = em != NULL ? PyUnicode_AsUTF8(arg) : NULL;
    zeus_emission_measurement m;
    zeus_status s;
    PyObject *r;

    if (key == NULL)
        return NULL;
    memset(&m, 0, sizeof m);
    m.size = sizeof m;
    if (zc_monitor_borrow(self->monitor) == NULL)
        return NULL;
    self->busy++;
    Py_BEGIN_ALLOW_THREADS
    s = zeus_emission_monitor_end_window(em, key, &m);
    Py_END_ALLOW_THREADS
    self->busy--;
    r = answer(s, &m, zc_window_missing_cls);
    if (zc_monitor_unborrow(self->monitor) < 0 || zc_monitor_raise_sync_error())
        Py_CLEAR(r);
    return r;
}

static PyObject *EmHandle_get(EmHandle *self, PyObject *arg)
{
    zeus_emission_monitor *em = live(self);
    unsigned long long id = em != NULL ? PyLong_AsUnsignedLongLong(arg) : 0;
    zeus_emission_measurement m;
    zeus_status s;

    if (em == NULL || PyErr_Occurred())
        return NULL;
    memset(&m, 0, sizeof m);
    m.size = sizeof m;
    self->busy++;
    Py_BEGIN_ALLOW_THREADS
    s = zeus_emission_monitor_get(em, id, &m);
    Py_END_ALLOW_THREADS
    self->busy--;
    return answer(s, &m, NULL);
}

static PyObject *EmHandle_forget(EmHandle *self, PyObject *arg)
{
    zeus_emission_monitor *em = live(self);
    unsigned long long id = em != NULL ? PyLong_AsUnsignedLongLong(arg) : 0;
    zeus_status s;

    if (em == NULL || PyErr_Occurred())
        return NULL;
    self->busy++;
    Py_BEGIN_ALLOW_THREADS /* its lock may be held by a thread waiting for the GIL (clock) */
    s = zeus_emission_monitor_forget(em, id);
    Py_END_ALLOW_THREADS
    self->busy--;
    return s == ZEUS_OK ? Py_NewRef(Py_None) : zc_raise(s, NULL);
}

static PyObject *EmHandle_tick(EmHandle *self, PyObject *unused)
{
    zeus_emission_monitor *em = live(self);
    zeus_status s;

    (void)unused;
    if (em == NULL)
        return NULL;
    self->busy++;
    Py_BEGIN_ALLOW_THREADS
    s = zeus_emission_monitor_tick(em);
    Py_END_ALLOW_THREADS
    self->busy--;
    return PyLong_FromLong(s);
}

static PyObject *EmHandle_provider_error(EmHandle *self, void *c)
{
    (void)c;
    return Py_NewRef(self->provider_error != NULL ? self->provider_error : Py_None);
}

static PyMethodDef EmHandle_methods[] = {
    {"begin", (PyCFunction)EmHandle_begin, METH_O, "Open window `key`."},
    {"end", (PyCFunction)EmHandle_end, METH_O, "End window `key`: (status, result)."},
    {"get", (PyCFunction)EmHandle_get, METH_O, "An ended window by id: (status, result)."},
    {"forget", (PyCFunction)EmHandle_forget, METH_O, "Drop an ended window's record."},
    {"tick", (PyCFunction)EmHandle_tick, METH_NOARGS, "Close passed hours, price: status."},
    {"close", (PyCFunction)EmHandle_close, METH_NOARGS, "Stop and free (idempotent)."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef EmHandle_getset[] = {
    {"last_provider_error", (getter)EmHandle_provider_error, NULL,
     "The last exception rate_at raised, or None.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject zc_emission_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "zeusc._zeusc.EmissionHandle",
    .tp_basicsize = sizeof(EmHandle),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Carbon or cost windows over a ZeusMonitor (zeus/emission.h).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)EmHandle_init,
    .tp_dealloc = (destructor)EmHandle_dealloc,
    .tp_traverse = (traverseproc)EmHandle_traverse,
    .tp_clear = (inquiry)EmHandle_clear,
    .tp_methods = EmHandle_methods,
    .tp_getset = EmHandle_getset,
};

int zc_emission_register(PyObject *m)
{
    /* The RATE_* constants come with RateProvider (rate.c). */
    if (PyType_Ready(&zc_emission_type) < 0)
        return -1;
    return PyModule_AddObjectRef(m, "EmissionHandle", (PyObject *)&zc_emission_type) < 0 ? -1 : 0;
}
