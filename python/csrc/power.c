/*
 * power.c - zeusc._zeusc.PowerMonitorHandle and TemperatureMonitorHandle: thin handles over
 * zeus_power_monitor_* and zeus_temperature_monitor_*, which zeusc/monitor.py dresses as
 * Zeus's PowerMonitor and TemperatureMonitor (domain names, dicts per GPU, Zeus's errors).
 *
 * Times in and out are Unix seconds (zeusc.h, TIME); None for a bound means open. Creating
 * (the sampler starts, and may watch the readings for up to 1 s to infer its period),
 * stopping (joins the sampler) and destroying run without the GIL. Queries copy samples out
 * under the monitor's own short lock and keep the GIL. The handles have no close(): only
 * deallocation destroys, so no thread can be inside a call then.
 */
#include "zeusc.h"

#include <math.h>
#include <stdlib.h>

/* ---- Shared ------------------------------------------------------------------------------- */

/* [(time, value), ...] from `n` samples, times shifted to Unix seconds. */
static PyObject *sample_list(const zeus_sample *s, size_t n)
{
    PyObject *list = PyList_New((Py_ssize_t)n);

    for (size_t i = 0; list != NULL && i < n; i++) {
        PyObject *t = Py_BuildValue("(dd)", s[i].time_s + zc_clock_offset, s[i].value);
        if (t == NULL) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, t);
    }
    return list;
}

/* Call `fetch` with growing room until the samples fit; returns the list or NULL. */
typedef zeus_status (*fetch_fn)(void *h, int domain, unsigned gpu, double t0, double t1,
                                zeus_sample *out, size_t *count);

static PyObject *fetch_timeline(fetch_fn fetch, void *h, int domain, unsigned gpu, double t0,
                                double t1)
{
    zeus_sample *buf = NULL;
    size_t room = 0;

    for (int tries = 0; tries < 8; tries++) {
        size_t count = room;
        zeus_status s = fetch(h, domain, gpu, t0, t1, buf, &count);
        if (s == ZEUS_OK) {
            PyObject *list = sample_list(buf, count);
            free(buf);
            return list;
        }
        if (s != ZEUS_ERR_INSUFFICIENT_SIZE) {
            free(buf);
            return zc_raise(s, NULL);
        }
        free(buf);
        room = count + count / 8 + 16; /* more may arrive before the next call */
        buf = malloc(room * sizeof *buf);
        if (buf == NULL)
            return PyErr_NoMemory();
    }
    free(buf);
    PyErr_SetString(PyExc_RuntimeError, "timeline kept growing while being copied");
    return NULL;
}

static PyObject *gpus_list(unsigned (*get)(const void *, unsigned *, unsigned), const void *h)
{
    unsigned idx[ZEUS_MAX_GPUS];
    unsigned n = get(h, idx, ZEUS_MAX_GPUS);
    PyObject *list = PyList_New(0);

    for (unsigned i = 0; list != NULL && i < n && i < ZEUS_MAX_GPUS; i++) {
        PyObject *v = PyLong_FromUnsignedLong(idx[i]);
        if (v == NULL || PyList_Append(list, v) < 0)
            Py_CLEAR(list);
        Py_XDECREF(v);
    }
    return list;
}

static int gpu_arg(PyObject *obj, unsigned *gpu)
{
    unsigned long v = PyLong_AsUnsignedLong(obj);
    if (v == (unsigned long)-1 && PyErr_Occurred())
        return -1;
    *gpu = (unsigned)v;
    return 0;
}

/* ---- PowerMonitorHandle ------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    zeus_power_monitor *pm;
    zc_warnq *warnq;
} PowerHandle;

static PowerHandle *power_live(PyObject *self)
{
    PowerHandle *h = (PowerHandle *)self;
    if (h->pm == NULL) {
        PyErr_SetString(PyExc_ValueError, "PowerMonitorHandle.__init__ was not called");
        return NULL;
    }
    return h;
}

static int Power_init(PowerHandle *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"gpu_indices", "update_period", "max_samples", "domains", NULL};
    PyObject *gpu_obj = Py_None;
    double period = 0;
    Py_ssize_t max_samples = 0;
    unsigned domains = 0, gpus[ZEUS_MAX_GPUS];
    Py_ssize_t ngpu;
    zeus_power_monitor_options o;
    zeus_power_monitor *pm = NULL;
    zeus_status s;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "|OdnI:PowerMonitorHandle", kwlist, &gpu_obj,
                                     &period, &max_samples, &domains))
        return -1;
    if (self->pm != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "__init__ may be called only once");
        return -1;
    }
    if (max_samples < 0) {
        PyErr_SetString(PyExc_ValueError, "max_samples must be >= 0");
        return -1;
    }
    if ((ngpu = zc_indices(gpu_obj, gpus, ZEUS_MAX_GPUS, "gpu_indices")) == -1)
        return -1;
    if (self->warnq == NULL && (self->warnq = zc_warnq_new()) == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    zeus_power_monitor_options_init(&o);
    o.gpu_indices = ngpu >= 0 ? gpus : NULL;
    o.gpu_index_count = ngpu >= 0 ? (size_t)ngpu : 0;
    o.update_period_s = period;
    o.max_samples = (size_t)max_samples;
    o.domains = domains;
    o.warn = zc_warnq_push;
    o.warn_user = self->warnq;
    Py_BEGIN_ALLOW_THREADS
    s = zeus_power_monitor_create(&o, &pm);
    Py_END_ALLOW_THREADS
    if (s != ZEUS_OK) {
        PyObject *type, *value, *tb;
        zc_raise(s, NULL);
        /* Warnings run Python code, which must not start with an exception set; keep the
         * create error even if a filter raises. */
        PyErr_Fetch(&type, &value, &tb);
        if (zc_warnq_flush(self->warnq) < 0)
            PyErr_Clear();
        PyErr_Restore(type, value, tb);
        return -1;
    }
    self->pm = pm;
    return zc_warnq_flush(self->warnq);
}

static void Power_dealloc(PowerHandle *self)
{
    if (self->pm != NULL) {
        zeus_power_monitor *pm = self->pm;
        self->pm = NULL;
        Py_BEGIN_ALLOW_THREADS
        zeus_power_monitor_destroy(pm);
        Py_END_ALLOW_THREADS
    }
    zc_warnq_free(self->warnq);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Power_stop(PyObject *self, PyObject *unused)
{
    PowerHandle *h = power_live(self);
    zeus_status s;
    (void)unused;

    if (h == NULL)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    s = zeus_power_monitor_stop(h->pm);
    Py_END_ALLOW_THREADS
    if (s != ZEUS_OK)
        return zc_raise(s, NULL);
    Py_RETURN_NONE;
}

static unsigned power_gpus(const void *h, unsigned *idx, unsigned cap)
{
    return zeus_power_monitor_gpus(h, idx, cap);
}

static PyObject *Power_gpus(PyObject *self, PyObject *unused)
{
    PowerHandle *h = power_live(self);
    (void)unused;
    return h == NULL ? NULL : gpus_list(power_gpus, h->pm);
}

static PyObject *Power_domains(PyObject *self, PyObject *unused)
{
    PowerHandle *h = power_live(self);
    (void)unused;
    return h == NULL ? NULL : PyLong_FromUnsignedLong(zeus_power_monitor_domains(h->pm));
}

static PyObject *Power_update_period(PyObject *self, PyObject *unused)
{
    PowerHandle *h = power_live(self);
    (void)unused;
    return h == NULL ? NULL : PyFloat_FromDouble(zeus_power_monitor_update_period(h->pm));
}

static zeus_status power_fetch(void *h, int domain, unsigned gpu, double t0, double t1,
                               zeus_sample *out, size_t *count)
{
    return zeus_power_monitor_timeline(h, (zeus_power_domain)domain, gpu, t0, t1, out, count);
}

/* timeline(domain, gpu, start_time=None, end_time=None) -> [(unix_s, watts)] */
static PyObject *Power_timeline(PyObject *self, PyObject *args)
{
    PowerHandle *h = power_live(self);
    PyObject *gpu_obj, *t0_obj = Py_None, *t1_obj = Py_None;
    int domain;
    unsigned gpu;
    double t0, t1;

    if (h == NULL || !PyArg_ParseTuple(args, "iO|OO:timeline", &domain, &gpu_obj, &t0_obj,
                                       &t1_obj) ||
        gpu_arg(gpu_obj, &gpu) < 0 || zc_time_arg(t0_obj, &t0) < 0 ||
        zc_time_arg(t1_obj, &t1) < 0)
        return NULL;
    return fetch_timeline(power_fetch, h->pm, domain, gpu, t0, t1);
}

/* power(domain, gpu, time=None) -> watts (nearest sample; latest for None) */
static PyObject *Power_power(PyObject *self, PyObject *args)
{
    PowerHandle *h = power_live(self);
    PyObject *gpu_obj, *t_obj = Py_None;
    int domain;
    unsigned gpu;
    double t, w;
    zeus_status s;

    if (h == NULL || !PyArg_ParseTuple(args, "iO|O:power", &domain, &gpu_obj, &t_obj) ||
        gpu_arg(gpu_obj, &gpu) < 0 || zc_time_arg(t_obj, &t) < 0)
        return NULL;
    s = zeus_power_monitor_power(h->pm, (zeus_power_domain)domain, gpu, t, &w);
    if (s != ZEUS_OK)
        return zc_raise(s, NULL);
    return PyFloat_FromDouble(w);
}

/* energy_detail(domain, gpu, start_time, end_time) -> (J, flags, samples, extrap_s, period_s) */
static PyObject *Power_energy_detail(PyObject *self, PyObject *args)
{
    PowerHandle *h = power_live(self);
    PyObject *gpu_obj, *t0_obj, *t1_obj;
    int domain;
    unsigned gpu;
    double t0, t1;
    zeus_power_energy e;
    zeus_status s;

    if (h == NULL ||
        !PyArg_ParseTuple(args, "iOOO:energy_detail", &domain, &gpu_obj, &t0_obj, &t1_obj) ||
        gpu_arg(gpu_obj, &gpu) < 0 || zc_time_arg(t0_obj, &t0) < 0 ||
        zc_time_arg(t1_obj, &t1) < 0)
        return NULL;
    s = zeus_power_monitor_energy_detail(h->pm, domain, gpu, t0, t1, &e);
    if (s != ZEUS_OK)
        return zc_raise(s, NULL);
    return Py_BuildValue("(dIIdd)", e.energy_j, (unsigned)e.flags, (unsigned)e.samples,
                         e.extrapolated_s, e.update_period_s);
}

static PyMethodDef Power_methods[] = {
    {"stop", Power_stop, METH_NOARGS, "stop(): stop sampling; samples stay queryable."},
    {"gpus", Power_gpus, METH_NOARGS, "gpus() -> [int]"},
    {"domains", Power_domains, METH_NOARGS, "domains() -> int (1 << domain bits)"},
    {"update_period", Power_update_period, METH_NOARGS, "update_period() -> float seconds"},
    {"timeline", Power_timeline, METH_VARARGS,
     "timeline(domain, gpu, start_time=None, end_time=None) -> [(unix_s, watts)]"},
    {"power", Power_power, METH_VARARGS, "power(domain, gpu, time=None) -> watts"},
    {"energy_detail", Power_energy_detail, METH_VARARGS,
     "energy_detail(domain, gpu, start_time, end_time) -> (joules, flags, samples,\n"
     "extrapolated_s, update_period_s); domain -1: device_instant, else device_average."},
    {NULL, NULL, 0, NULL},
};

PyTypeObject zc_power_handle_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "zeusc._zeusc.PowerMonitorHandle",
    .tp_doc = PyDoc_STR("PowerMonitorHandle(gpu_indices=None, update_period=0.0, "
                        "max_samples=0, domains=0): see zeusc.PowerMonitor."),
    .tp_basicsize = sizeof(PowerHandle),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Power_init,
    .tp_dealloc = (destructor)Power_dealloc,
    .tp_methods = Power_methods,
};

/* ---- TemperatureMonitorHandle ------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    zeus_temperature_monitor *tm;
} TempHandle;

static TempHandle *temp_live(PyObject *self)
{
    TempHandle *h = (TempHandle *)self;
    if (h->tm == NULL) {
        PyErr_SetString(PyExc_ValueError, "TemperatureMonitorHandle.__init__ was not called");
        return NULL;
    }
    return h;
}

static int Temp_init(TempHandle *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"gpu_indices", "update_period", "max_samples", NULL};
    PyObject *gpu_obj = Py_None;
    double period = 0;
    Py_ssize_t max_samples = 0;
    unsigned gpus[ZEUS_MAX_GPUS];
    Py_ssize_t ngpu;
    zeus_temperature_monitor_options o;
    zeus_temperature_monitor *tm = NULL;
    zeus_status s;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "|Odn:TemperatureMonitorHandle", kwlist,
                                     &gpu_obj, &period, &max_samples))
        return -1;
    if (self->tm != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "__init__ may be called only once");
        return -1;
    }
    if (max_samples < 0) {
        PyErr_SetString(PyExc_ValueError, "max_samples must be >= 0");
        return -1;
    }
    if ((ngpu = zc_indices(gpu_obj, gpus, ZEUS_MAX_GPUS, "gpu_indices")) == -1)
        return -1;
    zeus_temperature_monitor_options_init(&o);
    o.gpu_indices = ngpu >= 0 ? gpus : NULL;
    o.gpu_index_count = ngpu >= 0 ? (size_t)ngpu : 0;
    o.update_period_s = period;
    o.max_samples = (size_t)max_samples;
    Py_BEGIN_ALLOW_THREADS
    s = zeus_temperature_monitor_create(&o, &tm);
    Py_END_ALLOW_THREADS
    if (s != ZEUS_OK) {
        zc_raise(s, NULL);
        return -1;
    }
    self->tm = tm;
    return 0;
}

static void Temp_dealloc(TempHandle *self)
{
    if (self->tm != NULL) {
        zeus_temperature_monitor *tm = self->tm;
        self->tm = NULL;
        Py_BEGIN_ALLOW_THREADS
        zeus_temperature_monitor_destroy(tm);
        Py_END_ALLOW_THREADS
    }
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Temp_stop(PyObject *self, PyObject *unused)
{
    TempHandle *h = temp_live(self);
    zeus_status s;
    (void)unused;

    if (h == NULL)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    s = zeus_temperature_monitor_stop(h->tm);
    Py_END_ALLOW_THREADS
    if (s != ZEUS_OK)
        return zc_raise(s, NULL);
    Py_RETURN_NONE;
}

static unsigned temp_gpus(const void *h, unsigned *idx, unsigned cap)
{
    return zeus_temperature_monitor_gpus(h, idx, cap);
}

static PyObject *Temp_gpus(PyObject *self, PyObject *unused)
{
    TempHandle *h = temp_live(self);
    (void)unused;
    return h == NULL ? NULL : gpus_list(temp_gpus, h->tm);
}

static zeus_status temp_fetch(void *h, int domain, unsigned gpu, double t0, double t1,
                              zeus_sample *out, size_t *count)
{
    (void)domain;
    return zeus_temperature_monitor_timeline(h, gpu, t0, t1, out, count);
}

static PyObject *Temp_timeline(PyObject *self, PyObject *args)
{
    TempHandle *h = temp_live(self);
    PyObject *gpu_obj, *t0_obj = Py_None, *t1_obj = Py_None;
    unsigned gpu;
    double t0, t1;

    if (h == NULL || !PyArg_ParseTuple(args, "O|OO:timeline", &gpu_obj, &t0_obj, &t1_obj) ||
        gpu_arg(gpu_obj, &gpu) < 0 || zc_time_arg(t0_obj, &t0) < 0 ||
        zc_time_arg(t1_obj, &t1) < 0)
        return NULL;
    return fetch_timeline(temp_fetch, h->tm, 0, gpu, t0, t1);
}

static PyObject *Temp_temperature(PyObject *self, PyObject *args)
{
    TempHandle *h = temp_live(self);
    PyObject *gpu_obj, *t_obj = Py_None;
    unsigned gpu;
    double t, c;
    zeus_status s;

    if (h == NULL || !PyArg_ParseTuple(args, "O|O:temperature", &gpu_obj, &t_obj) ||
        gpu_arg(gpu_obj, &gpu) < 0 || zc_time_arg(t_obj, &t) < 0)
        return NULL;
    s = zeus_temperature_monitor_temperature(h->tm, gpu, t, &c);
    if (s != ZEUS_OK)
        return zc_raise(s, NULL);
    return PyFloat_FromDouble(c);
}

static PyMethodDef Temp_methods[] = {
    {"stop", Temp_stop, METH_NOARGS, "stop(): stop sampling; samples stay queryable."},
    {"gpus", Temp_gpus, METH_NOARGS, "gpus() -> [int]"},
    {"timeline", Temp_timeline, METH_VARARGS,
     "timeline(gpu, start_time=None, end_time=None) -> [(unix_s, celsius)]"},
    {"temperature", Temp_temperature, METH_VARARGS,
     "temperature(gpu, time=None) -> celsius (nearest sample; latest for None)"},
    {NULL, NULL, 0, NULL},
};

PyTypeObject zc_temperature_handle_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "zeusc._zeusc.TemperatureMonitorHandle",
    .tp_doc = PyDoc_STR("TemperatureMonitorHandle(gpu_indices=None, update_period=0.0, "
                        "max_samples=0): see zeusc.TemperatureMonitor."),
    .tp_basicsize = sizeof(TempHandle),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Temp_init,
    .tp_dealloc = (destructor)Temp_dealloc,
    .tp_methods = Temp_methods,
};
