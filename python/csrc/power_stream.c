/*
 * power_stream.c - zeusc._zeusc.PowerStreamHandle: a thin handle over zeus_power_stream_*
 * (zeus/power_stream.h), which zeusc/monitor/power_streaming.py dresses as Zeus's
 * PowerStreamingClient (PowerReadings, CpuPowerReading, Zeus's exceptions).
 *
 *   PowerStreamHandle(endpoints, reconnect_delay_s)
 *       endpoints: [(socket_path|None, host_port|None, token|None, gpu_indices|None,
 *                    cpu_indices|None)]; a None token means none (the Python side already
 *                    applied ZEUSD_TOKEN, as Zeus's ZeusdConfig does).
 *   readings() -> [(endpoint, timestamp_s|None, {gpu: W}, {cpu: (W, W|None)}, status_name,
 *                   error, gpu_streaming, cpu_streaming, clock_offset_s, reconnects)]
 *   next(timeout_s, seq) -> new seq; None on timeout; -1 once stopped or every stream ended
 *   stop()
 *
 * Timestamps are the library's: Unix seconds on this machine's clock (no zc_clock_offset:
 * the stream's times are already Unix). Opening (discovery, /time round trips), next() and
 * stop() wait on the network or on threads and run without the GIL; readings() copies under
 * the stream's short lock and keeps it.
 */
#include "zeusc.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ENDPOINTS 256

typedef struct {
    PyObject_HEAD
    zeus_power_stream *s;
} StreamHandle;

/* The C strings and index arrays of the endpoints, kept until open has copied them. */
struct endpoint_args {
    zeus_power_stream_endpoint e[MAX_ENDPOINTS];
    unsigned gpu[MAX_ENDPOINTS][ZEUS_MAX_GPUS];
    unsigned cpu[MAX_ENDPOINTS][ZEUS_MAX_CPUS];
};

/* None or str into *out (borrowed from `obj`, valid while it lives). */
static int opt_str(PyObject *obj, const char **out)
{
    if (obj == Py_None) {
        *out = NULL;
        return 0;
    }
    *out = PyUnicode_AsUTF8(obj);
    return *out != NULL ? 0 : -1;
}

static int opt_indices(PyObject *obj, unsigned *buf, size_t cap, const char *what,
                       const unsigned **out, size_t *count)
{
    Py_ssize_t n = zc_indices(obj, buf, cap, what);

    if (n == -1)
        return -1;
    *out = n == -2 ? NULL : buf;
    *count = n == -2 ? 0 : (size_t)n;
    return 0;
}

static int parse_endpoint(PyObject *item, struct endpoint_args *a, size_t i)
{
    PyObject *sock, *hp, *token, *gpus, *cpus;
    zeus_power_stream_endpoint *e = &a->e[i];

    if (!PyArg_ParseTuple(item, "OOOOO:endpoint", &sock, &hp, &token, &gpus, &cpus))
        return -1;
    zeus_power_stream_endpoint_init(e);
    if (opt_str(sock, &e->sock_path) < 0 || opt_str(hp, &e->host_port) < 0 ||
        opt_str(token, &e->token) < 0 ||
        opt_indices(gpus, a->gpu[i], ZEUS_MAX_GPUS, "gpu_indices", &e->gpu_indices,
                    &e->gpu_index_count) < 0 ||
        opt_indices(cpus, a->cpu[i], ZEUS_MAX_CPUS, "cpu_indices", &e->cpu_indices,
                    &e->cpu_index_count) < 0)
        return -1;
    if (e->token == NULL)
        e->token = ""; /* none: the Python side already looked at ZEUSD_TOKEN */
    return 0;
}

static int Stream_init(StreamHandle *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"endpoints", "reconnect_delay_s", NULL};
    PyObject *list, *seq;
    double delay = 1.0;
    struct endpoint_args *a;
    const zeus_power_stream_endpoint *eps[MAX_ENDPOINTS];
    zeus_power_stream_options o;
    zeus_power_stream *s = NULL;
    zeus_status st;
    Py_ssize_t n;

    if (self->s != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "PowerStreamHandle is already open");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|d:PowerStreamHandle", kwlist, &list, &delay))
        return -1;
    seq = PySequence_Fast(list, "endpoints must be a sequence");
    if (seq == NULL)
        return -1;
    n = PySequence_Fast_GET_SIZE(seq);
    a = n <= MAX_ENDPOINTS ? PyMem_Calloc(1, sizeof *a) : NULL;
    if (a == NULL) {
        Py_DECREF(seq);
        if (n > MAX_ENDPOINTS)
            PyErr_Format(PyExc_ValueError, "at most %d endpoints", MAX_ENDPOINTS);
        else
            PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (parse_endpoint(PySequence_Fast_GET_ITEM(seq, i), a, (size_t)i) < 0) {
            PyMem_Free(a);
            Py_DECREF(seq);
            return -1;
        }
        eps[i] = &a->e[i];
    }
    zeus_power_stream_options_init(&o);
    o.reconnect_delay_s = delay;
    Py_BEGIN_ALLOW_THREADS
    st = zeus_power_stream_open(eps, (size_t)n, &o, &s);
    Py_END_ALLOW_THREADS
    PyMem_Free(a);
    Py_DECREF(seq); /* after open: the strings were borrowed from its items */
    if (st != ZEUS_OK) {
        zc_raise(st, NULL);
        return -1;
    }
    self->s = s;
    return 0;
}

static void Stream_dealloc(StreamHandle *self)
{
    zeus_power_stream *s = self->s;

    self->s = NULL;
    if (s != NULL) {
        Py_BEGIN_ALLOW_THREADS
        zeus_power_stream_destroy(s);
        Py_END_ALLOW_THREADS
    }
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static zeus_power_stream *live(PyObject *self)
{
    zeus_power_stream *s = ((StreamHandle *)self)->s;
    if (s == NULL)
        PyErr_SetString(PyExc_RuntimeError, "PowerStreamHandle is not open");
    return s;
}

static PyObject *cpu_dict(const zeus_power_readings *r)
{
    PyObject *d = PyDict_New();

    for (unsigned k = 0; d != NULL && k < r->cpu_count; k++) {
        PyObject *key = PyLong_FromUnsignedLong(r->cpu_index[k]);
        PyObject *v = isnan(r->dram_w[k]) ? Py_BuildValue("(dO)", r->cpu_w[k], Py_None)
                                          : Py_BuildValue("(dd)", r->cpu_w[k], r->dram_w[k]);
        if (key == NULL || v == NULL || PyDict_SetItem(d, key, v) < 0)
            Py_CLEAR(d);
        Py_XDECREF(key);
        Py_XDECREF(v);
    }
    return d;
}

static PyObject *gpu_dict(const zeus_power_readings *r)
{
    PyObject *d = PyDict_New();

    for (unsigned k = 0; d != NULL && k < r->gpu_count; k++) {
        PyObject *key = PyLong_FromUnsignedLong(r->gpu_index[k]);
        PyObject *v = PyFloat_FromDouble(r->gpu_w[k]);
        if (key == NULL || v == NULL || PyDict_SetItem(d, key, v) < 0)
            Py_CLEAR(d);
        Py_XDECREF(key);
        Py_XDECREF(v);
    }
    return d;
}

static PyObject *one_readings(const zeus_power_readings *r)
{
    PyObject *gpus = gpu_dict(r), *cpus = cpu_dict(r), *ts, *t = NULL;

    ts = isnan(r->timestamp_s) ? Py_NewRef(Py_None) : PyFloat_FromDouble(r->timestamp_s);
    if (gpus != NULL && cpus != NULL && ts != NULL)
        t = Py_BuildValue("(sOOOssiidI)", r->endpoint, ts, gpus, cpus,
                          zeus_status_name(r->status), r->error, r->gpu_streaming,
                          r->cpu_streaming, r->clock_offset_s, r->reconnects);
    Py_XDECREF(gpus);
    Py_XDECREF(cpus);
    Py_XDECREF(ts);
    return t;
}

static PyObject *Stream_readings(PyObject *self, PyObject *unused)
{
    zeus_power_stream *s = live(self);
    size_t n = s != NULL ? zeus_power_stream_endpoint_count(s) : 0;
    PyObject *list = s != NULL ? PyList_New((Py_ssize_t)n) : NULL;
    zeus_power_readings *r = PyMem_Malloc(sizeof *r);
    (void)unused;

    for (size_t i = 0; list != NULL && r != NULL && i < n; i++) {
        PyObject *item;
        zeus_power_readings_init(r);
        if (zeus_power_stream_get(s, i, r) != ZEUS_OK) {
            Py_CLEAR(list);
            zc_raise(ZEUS_ERR_UNKNOWN, NULL);
            break;
        }
        item = one_readings(r);
        if (item == NULL) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, item);
    }
    if (r == NULL && list != NULL) {
        Py_CLEAR(list);
        PyErr_NoMemory();
    }
    PyMem_Free(r);
    return list;
}

static PyObject *Stream_next(PyObject *self, PyObject *args)
{
    zeus_power_stream *s = live(self);
    double timeout;
    unsigned long long seq;
    uint64_t v;
    zeus_status st;

    if (s == NULL || !PyArg_ParseTuple(args, "dK:next", &timeout, &seq))
        return NULL;
    v = seq;
    Py_BEGIN_ALLOW_THREADS
    st = zeus_power_stream_next(s, timeout, &v);
    Py_END_ALLOW_THREADS
    if (st == ZEUS_OK)
        return PyLong_FromUnsignedLongLong(v);
    if (st == ZEUS_ERR_TIMEOUT)
        Py_RETURN_NONE;
    if (st == ZEUS_ERR_NO_DATA)
        return PyLong_FromLong(-1);
    return zc_raise(st, NULL);
}

static PyObject *Stream_stop(PyObject *self, PyObject *unused)
{
    zeus_power_stream *s = live(self);
    (void)unused;

    if (s == NULL)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    zeus_power_stream_stop(s);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyMethodDef Stream_methods[] = {
    {"readings", Stream_readings, METH_NOARGS,
     "readings() -> [(endpoint, timestamp_s, {gpu: W}, {cpu: (W, dram W or None)}, "
     "status_name, error, gpu_streaming, cpu_streaming, clock_offset_s, reconnects)]"},
    {"next", Stream_next, METH_VARARGS,
     "next(timeout_s, seq) -> newer seq, None on timeout, -1 once stopped or ended"},
    {"stop", Stream_stop, METH_NOARGS, "stop(): end every stream and join the threads."},
    {NULL, NULL, 0, NULL},
};

PyTypeObject zc_power_stream_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "zeusc._zeusc.PowerStreamHandle",
    .tp_doc = PyDoc_STR("PowerStreamHandle(endpoints, reconnect_delay_s=1.0): see "
                        "zeusc.monitor.power_streaming.PowerStreamingClient."),
    .tp_basicsize = sizeof(StreamHandle),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Stream_init,
    .tp_dealloc = (destructor)Stream_dealloc,
    .tp_methods = Stream_methods,
};

int zc_power_stream_register(PyObject *m)
{
    if (PyType_Ready(&zc_power_stream_type) < 0)
        return -1;
    return PyModule_AddObjectRef(m, "PowerStreamHandle", (PyObject *)&zc_power_stream_type);
}
