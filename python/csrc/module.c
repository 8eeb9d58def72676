/*
 * module.c - The zeusc._zeusc extension module: its functions, the exception mapping, the
 * warning queue and the clock offset. The types live in monitor.c and power.c.
 *
 * The exception classes and Measurement are plain Python (zeusc/errors.py, zeusc/_types.py),
 * imported here at module init, so users can subclass, pickle and read them as any Python
 * class; C only instantiates them.
 */
#include "zeusc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

PyObject *zc_measurement_cls;
PyObject *zc_warning_cls;
PyObject *zc_window_exists_cls;
PyObject *zc_window_missing_cls;
double zc_clock_offset;

static PyObject *error_base;                     /* zeusc.errors.ZeusError */
static PyObject *status_cls[ZEUS_STATUS_COUNT]; /* by -status; NULL: use error_base */

/* ---- Errors ------------------------------------------------------------------------------- */

static PyObject *class_for(zeus_status status)
{
    int i = -(int)status;

    if (i > 0 && i < ZEUS_STATUS_COUNT && status_cls[i] != NULL)
        return status_cls[i];
    return error_base;
}

PyObject *zc_raise_with(zeus_status status, PyObject *cls, PyObject *measurement)
{
    const char *detail = zeus_last_error();
    PyObject *msg, *exc, *code, *name;

    if (detail[0] == '\0')
        detail = zeus_status_string(status);
    msg = PyUnicode_DecodeUTF8(detail, (Py_ssize_t)strlen(detail), "replace");
    if (msg == NULL)
        return NULL;
    exc = PyObject_CallOneArg(cls != NULL ? cls : class_for(status), msg);
    Py_DECREF(msg);
    if (exc == NULL)
        return NULL;
    code = PyLong_FromLong((long)status);
    name = PyUnicode_FromString(zeus_status_name(status));
    if (code == NULL || name == NULL || PyObject_SetAttrString(exc, "status", code) < 0 ||
        PyObject_SetAttrString(exc, "status_name", name) < 0 ||
        PyObject_SetAttrString(exc, "measurement", measurement ? measurement : Py_None) < 0) {
        Py_XDECREF(code);
        Py_XDECREF(name);
        Py_DECREF(exc);
        return NULL;
    }
    Py_DECREF(code);
    Py_DECREF(name);
    PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    Py_DECREF(exc);
    return NULL;
}

PyObject *zc_raise(zeus_status status, PyObject *cls)
{
    return zc_raise_with(status, cls, NULL);
}

/* ---- Warnings ----------------------------------------------------------------------------- */

#define WARNQ_MAX 256 /* beyond this, count instead of queueing (a sampler far ahead of us) */

zc_warnq *zc_warnq_new(void)
{
    zc_warnq *q = calloc(1, sizeof *q);

    if (q == NULL)
        return NULL;
    pthread_mutex_init(&q->lock, NULL);
    atomic_init(&q->pending, 0);
    return q;
}

void zc_warnq_free(zc_warnq *q)
{
    if (q == NULL)
        return;
    for (size_t i = 0; i < q->count; i++)
        free(q->messages[i]);
    free(q->messages);
    pthread_mutex_destroy(&q->lock);
    free(q);
}

void zc_warnq_push(const char *message, void *user)
{
    zc_warnq *q = user;
    char *copy = strdup(message != NULL ? message : "");

    pthread_mutex_lock(&q->lock);
    if (copy == NULL || q->count >= WARNQ_MAX) {
        q->dropped++;
        free(copy);
    } else {
        if (q->count == q->cap) {
            size_t cap = q->cap ? q->cap * 2 : 4;
            char **grown = realloc(q->messages, cap * sizeof *grown);
            if (grown == NULL) {
                q->dropped++;
                free(copy);
                goto out;
            }
            q->messages = grown;
            q->cap = cap;
        }
        q->messages[q->count++] = copy;
    }
out:
    atomic_store(&q->pending, 1);
    pthread_mutex_unlock(&q->lock);
}

int zc_warnq_flush(zc_warnq *q)
{
    char **messages;
    size_t count, dropped;
    int rc = 0;

    if (q == NULL || atomic_load(&q->pending) == 0)
        return 0;
    pthread_mutex_lock(&q->lock);
    messages = q->messages;
    count = q->count;
    dropped = q->dropped;
    q->messages = NULL;
    q->count = q->cap = q->dropped = 0;
    atomic_store(&q->pending, 0);
    pthread_mutex_unlock(&q->lock);

    for (size_t i = 0; i < count; i++) {
        if (rc == 0 && PyErr_WarnEx(zc_warning_cls, messages[i], 1) < 0)
            rc = -1;
        free(messages[i]);
    }
    free(messages);
    if (rc == 0 && dropped > 0)
        rc = PyErr_WarnFormat(zc_warning_cls, 1, "%zu more Zeus-C warnings were dropped",
                              dropped);
    return rc;
}

/* ---- Helpers ------------------------------------------------------------------------------ */

int zc_floats(PyObject *obj, const char *what, double **out, size_t *count)
{
    PyObject *seq;
    Py_ssize_t n;

    *out = NULL;
    *count = 0;
    if (obj == Py_None)
        return 0;
    seq = PySequence_Fast(obj, "");
    if (seq == NULL) {
        PyErr_Format(PyExc_TypeError, "%s must be a sequence of numbers or None", what);
        return -1;
    }
    n = PySequence_Fast_GET_SIZE(seq);
    /* One element more than needed, so an empty sequence is a non-NULL array of count 0. */
    if ((*out = PyMem_Malloc(((size_t)n + 1) * sizeof **out)) == NULL) {
        Py_DECREF(seq);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        (*out)[i] = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(seq, i));
        if ((*out)[i] == -1.0 && PyErr_Occurred()) {
            Py_DECREF(seq);
            PyMem_Free(*out);
            *out = NULL;
            return -1;
        }
    }
    Py_DECREF(seq);
    *count = (size_t)n;
    return 0;
}

Py_ssize_t zc_indices(PyObject *obj, unsigned *out, size_t cap, const char *what)
{
    PyObject *seq, *item;
    Py_ssize_t n;

    if (obj == Py_None)
        return -2;
    if (PyUnicode_Check(obj) || PyBytes_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "%s must be a list of ints or None", what);
        return -1;
    }
    seq = PySequence_Fast(obj, "");
    if (seq == NULL) {
        PyErr_Format(PyExc_TypeError, "%s must be a list of ints or None", what);
        return -1;
    }
    n = PySequence_Fast_GET_SIZE(seq);
    if ((size_t)n > cap) {
        Py_DECREF(seq);
        PyErr_Format(PyExc_ValueError, "%s: at most %zu indices", what, cap);
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        long v;
        item = PySequence_Fast_GET_ITEM(seq, i);
        if (!PyLong_Check(item) || PyBool_Check(item)) {
            Py_DECREF(seq);
            PyErr_Format(PyExc_TypeError, "%s must hold ints, not %.100s", what,
                         Py_TYPE(item)->tp_name);
            return -1;
        }
        v = PyLong_AsLong(item);
        if ((v == -1 && PyErr_Occurred()) || v < 0 || v > 0xffffff) {
            PyErr_Clear();
            Py_DECREF(seq);
            PyErr_Format(PyExc_ValueError, "%s: %R is not a valid device index", what, item);
            return -1;
        }
        out[i] = (unsigned)v;
    }
    Py_DECREF(seq);
    return n;
}

int zc_time_arg(PyObject *obj, double *mono_s)
{
    double t;

    if (obj == NULL || obj == Py_None) {
        *mono_s = NAN;
        return 0;
    }
    t = PyFloat_AsDouble(obj);
    if (t == -1.0 && PyErr_Occurred())
        return -1;
    *mono_s = t - zc_clock_offset;
    return 0;
}

/*
 * Unix minus monotonic, from the tightest of a few bracketed readings. time.time() reads
 * CLOCK_REALTIME and zeus_now() CLOCK_MONOTONIC, so this is the offset between the two.
 */
static double measure_clock_offset(void)
{
    double best_width = INFINITY, offset = 0;

    for (int i = 0; i < 16; i++) {
        struct timespec rt;
        double m0 = zeus_now(), m1, w;
        clock_gettime(CLOCK_REALTIME, &rt);
        m1 = zeus_now();
        w = m1 - m0;
        if (w < best_width) {
            best_width = w;
            offset = ((double)rt.tv_sec + (double)rt.tv_nsec * 1e-9) - (m0 + m1) / 2;
        }
    }
    return offset;
}

/* ---- Module functions --------------------------------------------------------------------- */

static PyObject *fn_now(PyObject *mod, PyObject *unused)
{
    (void)mod;
    (void)unused;
    return PyFloat_FromDouble(zeus_now() + zc_clock_offset);
}

static PyObject *fn_monotonic(PyObject *mod, PyObject *unused)
{
    (void)mod;
    (void)unused;
    return PyFloat_FromDouble(zeus_now());
}

static PyObject *fn_clock_offset(PyObject *mod, PyObject *unused)
{
    (void)mod;
    (void)unused;
    return PyFloat_FromDouble(zc_clock_offset);
}

static PyObject *fn_library_version(PyObject *mod, PyObject *unused)
{
    (void)mod;
    (void)unused;
    return PyUnicode_FromString(zeus_version());
}

static PyObject *fn_status_name(PyObject *mod, PyObject *arg)
{
    long s = PyLong_AsLong(arg);
    (void)mod;
    if (s == -1 && PyErr_Occurred())
        return NULL;
    return PyUnicode_FromString(zeus_status_name((zeus_status)s));
}

static PyObject *fn_status_string(PyObject *mod, PyObject *arg)
{
    long s = PyLong_AsLong(arg);
    (void)mod;
    if (s == -1 && PyErr_Occurred())
        return NULL;
    return PyUnicode_FromString(zeus_status_string((zeus_status)s));
}

/* dict.__setitem__ of a new reference, which it steals; -1 on failure. */
static int set_new(PyObject *dict, const char *key, PyObject *value)
{
    int rc;
    if (value == NULL)
        return -1;
    rc = PyDict_SetItemString(dict, key, value);
    Py_DECREF(value);
    return rc;
}

static PyObject *gpu_info_dict(zeus_devices *devs, unsigned i)
{
    zeus_gpu_info info;
    zeus_status s = zeus_gpu_get_info(devs, i, &info);
    PyObject *d;

    if (s != ZEUS_OK)
        return zc_raise(s, NULL);
    d = PyDict_New();
    if (d == NULL)
        return NULL;
    if (set_new(d, "index", PyLong_FromUnsignedLong(info.index)) < 0 ||
        set_new(d, "physical_index", PyLong_FromUnsignedLong(info.physical_index)) < 0 ||
        set_new(d, "name", PyUnicode_DecodeUTF8(info.name, (Py_ssize_t)strnlen(info.name,
                                                sizeof info.name), "replace")) < 0 ||
        set_new(d, "uuid", PyUnicode_DecodeUTF8(info.uuid, (Py_ssize_t)strnlen(info.uuid,
                                                sizeof info.uuid), "replace")) < 0 ||
        set_new(d, "architecture", PyLong_FromUnsignedLong(info.architecture)) < 0 ||
        set_new(d, "supports", PyLong_FromUnsignedLong(info.supports)) < 0 ||
        set_new(d, "backend", PyUnicode_FromString(zeus_gpu_get_backend(devs, i) != NULL
                                                       ? zeus_gpu_get_backend(devs, i)
                                                       : "")) < 0) {
        Py_DECREF(d);
        return NULL;
    }
    return d;
}

static PyObject *cpu_info_dict(zeus_devices *devs, unsigned i)
{
    zeus_cpu_info info;
    zeus_status s = zeus_cpu_get_info(devs, i, &info);
    PyObject *d;

    if (s != ZEUS_OK)
        return zc_raise(s, NULL);
    d = PyDict_New();
    if (d == NULL)
        return NULL;
    if (set_new(d, "index", PyLong_FromUnsignedLong(info.index)) < 0 ||
        set_new(d, "name", PyUnicode_DecodeUTF8(info.name, (Py_ssize_t)strnlen(info.name,
                                                sizeof info.name), "replace")) < 0 ||
        set_new(d, "path", PyUnicode_DecodeFSDefault(info.path)) < 0 ||
        set_new(d, "has_dram", PyBool_FromLong(info.has_dram)) < 0) {
        Py_DECREF(d);
        return NULL;
    }
    return d;
}

static PyObject *backend_dict(zeus_devices *devs, unsigned i)
{
    zeus_backend_info info;
    zeus_status s = zeus_devices_backend_info(devs, i, &info);
    PyObject *d;

    if (s != ZEUS_OK)
        return zc_raise(s, NULL);
    d = PyDict_New();
    if (d == NULL)
        return NULL;
    if (set_new(d, "name", PyUnicode_FromString(info.name)) < 0 ||
        set_new(d, "kind", PyUnicode_FromString(info.kind == ZEUS_DEVICE_SOC   ? "soc"
                                                   : info.kind == ZEUS_DEVICE_GPU ? "gpu"
                                                                                  : "cpu")) <
            0 ||
        set_new(d, "status", PyLong_FromLong((long)info.status)) < 0 ||
        set_new(d, "status_name", PyUnicode_FromString(zeus_status_name(info.status))) < 0 ||
        set_new(d, "detail", PyUnicode_DecodeUTF8(info.detail, (Py_ssize_t)strnlen(info.detail,
                                                  sizeof info.detail), "replace")) < 0 ||
        set_new(d, "device_count", PyLong_FromUnsignedLong(info.device_count)) < 0) {
        Py_DECREF(d);
        return NULL;
    }
    return d;
}

/* A list of make(devs, i) for i < n; NULL with an exception. */
static PyObject *collect(zeus_devices *devs, unsigned n,
                         PyObject *(*make)(zeus_devices *, unsigned))
{
    PyObject *list = PyList_New(0);

    for (unsigned i = 0; list != NULL && i < n; i++) {
        PyObject *item = make(devs, i);
        if (item == NULL || PyList_Append(list, item) < 0) {
            Py_XDECREF(item);
            Py_CLEAR(list);
            break;
        }
        Py_DECREF(item);
    }
    return list;
}

/* devices_info() -> {"backends": [...], "gpus": [...], "cpus": [...]} for show_env. */
static PyObject *fn_devices_info(PyObject *mod, PyObject *unused)
{
    zeus_devices *devs = NULL;
    zeus_status s;
    PyObject *d = NULL;
    (void)mod;
    (void)unused;

    Py_BEGIN_ALLOW_THREADS
    s = zeus_devices_create(&devs);
    Py_END_ALLOW_THREADS
    if (s != ZEUS_OK)
        return zc_raise(s, NULL);
    d = PyDict_New();
    if (d == NULL ||
        set_new(d, "backends",
                collect(devs, zeus_devices_backend_count(devs), backend_dict)) < 0 ||
        set_new(d, "gpus", collect(devs, zeus_devices_gpu_count(devs), gpu_info_dict)) < 0 ||
        set_new(d, "cpus", collect(devs, zeus_devices_cpu_count(devs), cpu_info_dict)) < 0)
        Py_CLEAR(d);
    Py_BEGIN_ALLOW_THREADS
    zeus_devices_destroy(devs);
    Py_END_ALLOW_THREADS
    return d;
}

static PyMethodDef module_methods[] = {
    {"now", fn_now, METH_NOARGS, "now($module, /)\n--\n\nUnix seconds on the library's clock (float)."},
    {"monotonic", fn_monotonic, METH_NOARGS,
     "monotonic($module, /)\n--\n\nzeus_now(), CLOCK_MONOTONIC seconds (= time.monotonic())."},
    {"clock_offset", fn_clock_offset, METH_NOARGS,
     "clock_offset($module, /)\n--\n\nUnix seconds minus monotonic seconds, fixed at import."},
    {"library_version", fn_library_version, METH_NOARGS,
     "library_version($module, /)\n--\n\nThe loaded libzeus's version (str)."},
    {"status_name", fn_status_name, METH_O, "status_name($module, code, /)\n--\n\nThe name of a status code, e.g. 'ERR_NOT_FOUND'."},
    {"status_string", fn_status_string, METH_O, "status_string($module, code, /)\n--\n\nThe description of a status code."},
    {"profile_run", (PyCFunction)(void (*)(void))zc_profile_run, METH_VARARGS | METH_KEYWORDS,
     "profile_run($module, kind, target_function, zeus_monitor, **options)\n--\n\n"
     "Thermally stable profiling (zeus_profile_*); zeusc.profile wraps it."},
    {"devices_info", fn_devices_info, METH_NOARGS,
     "devices_info($module, /)\n--\n\ndict: backends, GPUs and CPUs the library finds (for show_env)."},
    {"plo_select", zc_plo_select, METH_VARARGS,
     "plo_select($module, selector, measurements, /)\n--\n\n"
     "(W, costs): the optimum of [(W, J, s), ...] by selector (kind, eta, world, factor, fn)."},
    {"plo_profile_load", zc_plo_profile_load, METH_O,
     "plo_profile_load($module, path, /)\n--\n\n[(W, J, s), ...] from Zeus's profile JSON."},
    {"plo_profile_save", zc_plo_profile_save, METH_VARARGS,
     "plo_profile_save($module, path, measurements, /)\n--\n\nWrite Zeus's profile JSON."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "zeusc._zeusc",
    .m_doc = "Zeus-C: energy measurement windows, power and temperature monitors (C core).",
    .m_size = -1,
    .m_methods = module_methods,
};

/* ---- Init --------------------------------------------------------------------------------- */

static int import_classes(void)
{
    PyObject *errors = PyImport_ImportModule("zeusc.errors");
    PyObject *types = NULL, *table = NULL;
    int rc = -1;

    if (errors == NULL)
        return -1;
    types = PyImport_ImportModule("zeusc._types");
    if (types == NULL)
        goto out;
    if ((error_base = PyObject_GetAttrString(errors, "ZeusError")) == NULL ||
        (zc_warning_cls = PyObject_GetAttrString(errors, "ZeusWarning")) == NULL ||
        (zc_window_exists_cls = PyObject_GetAttrString(errors, "ZeusWindowExistsError")) ==
            NULL ||
        (zc_window_missing_cls = PyObject_GetAttrString(errors, "ZeusWindowNotFoundError")) ==
            NULL ||
        (zc_measurement_cls = PyObject_GetAttrString(types, "Measurement")) == NULL ||
        (table = PyObject_GetAttrString(errors, "STATUS_CLASSES")) == NULL)
        goto out;
    for (int i = 1; i < ZEUS_STATUS_COUNT; i++) {
        PyObject *key = PyLong_FromLong(-i), *cls;
        if (key == NULL)
            goto out;
        cls = PyObject_GetItem(table, key);
        Py_DECREF(key);
        if (cls == NULL) {
            PyErr_Clear();
            continue;
        }
        status_cls[i] = cls;
    }
    rc = 0;
out:
    Py_XDECREF(table);
    Py_XDECREF(types);
    Py_DECREF(errors);
    return rc;
}

static int add_int(PyObject *m, const char *name, long value)
{
    return PyModule_AddIntConstant(m, name, value);
}

PyMODINIT_FUNC PyInit__zeusc(void)
{
    PyObject *m;

    if (PyType_Ready(&zc_monitor_type) < 0 || PyType_Ready(&zc_power_handle_type) < 0 ||
        PyType_Ready(&zc_temperature_handle_type) < 0 || PyType_Ready(&zc_devices_type) < 0 ||
        PyType_Ready(&zc_push_metric_type) < 0 || PyType_Ready(&zc_plo_type) < 0 ||
        PyType_Ready(&zc_bso_type) < 0 || PyType_Ready(&zc_pfo_type) < 0)
        return NULL;
    if (error_base == NULL && import_classes() < 0)
        return NULL;
    zc_clock_offset = measure_clock_offset();
    m = PyModule_Create(&module_def);
    if (m == NULL)
        return NULL;
    if (zc_rate_register(m) < 0) { /* rate.c */
        Py_DECREF(m);
        return NULL;
    }
    if (PyModule_AddObjectRef(m, "ZeusMonitor", (PyObject *)&zc_monitor_type) < 0 ||
        PyModule_AddObjectRef(m, "PowerMonitorHandle", (PyObject *)&zc_power_handle_type) < 0 ||
        PyModule_AddObjectRef(m, "TemperatureMonitorHandle",
                              (PyObject *)&zc_temperature_handle_type) < 0 ||
        PyModule_AddObjectRef(m, "Devices", (PyObject *)&zc_devices_type) < 0 ||
        PyModule_AddObjectRef(m, "PushMetric", (PyObject *)&zc_push_metric_type) < 0 ||
        PyModule_AddObjectRef(m, "PowerLimitOptimizer", (PyObject *)&zc_plo_type) < 0 ||
        PyModule_AddObjectRef(m, "BatchSizeOptimizer", (PyObject *)&zc_bso_type) < 0 ||
        PyModule_AddObjectRef(m, "PipelineFrequency", (PyObject *)&zc_pfo_type) < 0 ||
        PyModule_AddStringConstant(m, "HEADER_VERSION", ZEUS_VERSION) < 0 ||
        add_int(m, "MAX_GPUS", ZEUS_MAX_GPUS) < 0 || add_int(m, "MAX_CPUS", ZEUS_MAX_CPUS) < 0 ||
        add_int(m, "ENERGY_VALID", ZEUS_ENERGY_VALID) < 0 ||
        add_int(m, "ENERGY_COUNTER", ZEUS_ENERGY_COUNTER) < 0 ||
        add_int(m, "ENERGY_INTEGRATED", ZEUS_ENERGY_INTEGRATED) < 0 ||
        add_int(m, "ENERGY_ESTIMATED", ZEUS_ENERGY_ESTIMATED) < 0 ||
        add_int(m, "ENERGY_ZERO", ZEUS_ENERGY_ZERO) < 0 ||
        add_int(m, "ENERGY_WRAPPED", ZEUS_ENERGY_WRAPPED) < 0 ||
        add_int(m, "ENERGY_FAILED", ZEUS_ENERGY_FAILED) < 0 ||
        add_int(m, "ENERGY_UNSUPPORTED", ZEUS_ENERGY_UNSUPPORTED) < 0 ||
        add_int(m, "ENERGY_RESET", ZEUS_ENERGY_RESET) < 0 ||
        add_int(m, "ENERGY_INTERPOLATED", ZEUS_ENERGY_INTERPOLATED) < 0 ||
        add_int(m, "ENERGY_PROVISIONAL", ZEUS_ENERGY_PROVISIONAL) < 0 ||
        add_int(m, "ENERGY_CLIPPED", ZEUS_ENERGY_CLIPPED) < 0 ||
        add_int(m, "ENERGY_UNCOVERED", ZEUS_ENERGY_UNCOVERED) < 0 ||
        add_int(m, "GPU_ENERGY_COUNTER", ZEUS_GPU_ENERGY_COUNTER) < 0 ||
        add_int(m, "GPU_POWER_INSTANT", ZEUS_GPU_POWER_INSTANT) < 0 ||
        add_int(m, "GPU_POWER_AVERAGE", ZEUS_GPU_POWER_AVERAGE) < 0 ||
        add_int(m, "GPU_POWER_MEMORY", ZEUS_GPU_POWER_MEMORY) < 0 ||
        add_int(m, "GPU_TEMPERATURE", ZEUS_GPU_TEMPERATURE) < 0 ||
        add_int(m, "GPU_POWER_LIMIT", ZEUS_GPU_POWER_LIMIT) < 0 ||
        add_int(m, "GPU_MODULE_SCOPE", ZEUS_GPU_MODULE_SCOPE) < 0 ||
        add_int(m, "GPU_MIG", ZEUS_GPU_MIG) < 0 ||
        add_int(m, "ENERGY_MODULE_SCOPE", ZEUS_ENERGY_MODULE_SCOPE) < 0 ||
        add_int(m, "ENERGY_WHOLE_GPU", ZEUS_ENERGY_WHOLE_GPU) < 0 ||

        add_int(m, "ENERGY_COUNTER_REJECTED", ZEUS_ENERGY_COUNTER_REJECTED) < 0 ||
        add_int(m, "GPU_COUNTER_REJECTED", ZEUS_GPU_COUNTER_REJECTED) < 0 ||
        zc_emission_register(m) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    if (zc_power_stream_register(m) < 0) { /* power_stream.c */
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
