/*
 * monitor.c - zeusc._zeusc.ZeusMonitor: Zeus's ZeusMonitor over zeus_monitor_*.
 *
 * zeusc.monitor.ZeusMonitor subclasses this type in Python to add window() and Zeus's
 * spawned-subprocess warning; everything on the per-step path (begin_window, end_window,
 * building the Measurement) is here, in C, so a sampled window costs about what the
 * library's own calls cost plus the Measurement object.
 *
 * DESIGN NOTES
 *
 * 1. Sync. sync_execution_with names a framework ("torch", "jax", "cupy") or is a callable.
 *    It is resolved on the first synchronized call on a monitor with GPUs, by
 *    zeusc._framework.make_sync(spec, gpu_indices), so the framework is imported only then
 *    (a missing one raises RuntimeError, as Zeus does, before any window is touched). The
 *    library calls sync_trampoline() on the caller's thread, outside its locks; the
 *    trampoline takes the GIL, and an exception from the sync function is parked in
 *    thread-local storage and raised when the library call returns. A failed sync in
 *    begin_window cancels the window it opened, so none is left behind, as in Zeus.
 * 2. The GIL is released around calls that can wait (zeusc.h). A call that releases it
 *    counts itself in self->busy; close() takes the handle away (new calls then fail) and
 *    waits for busy to reach 0 before destroying it, so a thread still inside the library
 *    never sees its monitor freed. Each method reads self->mon only after the last step
 *    that may run Python code (argument truth, the framework import), for the same reason.
 * 3. Warnings (create, the zero-energy rule, log failures) go through the monitor's zc_warnq
 *    and are emitted by the next call that holds the GIL; in sampled mode the zero-energy
 *    warning comes with the final value, so end_window(wait_final=True) or get_final()
 *    emits it, or the next call after the sampler finished the window.
 * 4. Measurement follows Zeus: gpu_energy by framework index; cpu_energy None without CPUs;
 *    dram_energy only for packages with a DRAM zone, None if none; a cancelled window is
 *    time 0.0 with zeros, cpu_energy {} without CPUs and dram_energy None (Zeus's shape).
 */
#include "zeusc.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    PyObject_HEAD
    zeus_monitor *mon;     /* NULL before __init__ and after close() */
    zc_warnq *warnq;       /* outlives mon: the library may warn while destroying it */
    PyObject *sync_spec;   /* "torch" | "jax" | "cupy" | callable */
    PyObject *sync_fn;     /* resolved sync(), or NULL until first needed */
    PyObject *gpu_indices; /* tuple of ints */
    PyObject *cpu_indices; /* tuple of ints */
    PyObject *log_file;    /* str or None */
    unsigned gpu_count;
    int approx;
    int direct;
    int wait_final;
    int busy; /* calls inside the library with the GIL released (note 2) */
    PyObject *states; /* dict: open window key -> begin time, Unix s (measurement_states) */
} ZMon;

/* ---- The sync trampoline (note 1) --------------------------------------------------------- */

static _Thread_local PyObject *tls_exc_type, *tls_exc_value, *tls_exc_tb;

static void sync_trampoline(void *user)
{
    ZMon *self = user;
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *fn = self->sync_fn;

    if (fn != NULL && tls_exc_type == NULL) {
        PyObject *r;
        Py_INCREF(fn);
        r = PyObject_CallNoArgs(fn);
        Py_DECREF(fn);
        if (r == NULL)
            PyErr_Fetch(&tls_exc_type, &tls_exc_value, &tls_exc_tb);
        else
            Py_DECREF(r);
    }
    PyGILState_Release(g);
}

/* Raise what the trampoline parked; 1 if there was something, else 0. */
static int restore_sync_error(void)
{
    if (tls_exc_type == NULL)
        return 0;
    PyErr_Restore(tls_exc_type, tls_exc_value, tls_exc_tb);
    tls_exc_type = tls_exc_value = tls_exc_tb = NULL;
    return 1;
}

static int ensure_sync(ZMon *self)
{
    PyObject *mod, *fn;

    if (self->sync_fn != NULL)
        return 0;
    mod = PyImport_ImportModule("zeusc._framework");
    if (mod == NULL)
        return -1;
    fn = PyObject_CallMethod(mod, "make_sync", "OO", self->sync_spec, self->gpu_indices);
    Py_DECREF(mod);
    if (fn == NULL)
        return -1;
    self->sync_fn = fn;
    return 0;
}

/* ---- Arguments ---------------------------------------------------------------------------- */

/*
 * Vectorcall argument parsing: up to `n` parameters, the first `npos` of which may be given by
 * position, all by name. Absent ones stay NULL. PyArg_ParseTupleAndKeywords costs more than
 * a sampled window, hence this.
 */
static int parse_args(const char *fn, PyObject *const *args, Py_ssize_t nargs,
                      PyObject *kwnames, const char *const *names, int n, int npos,
                      PyObject **out)
{
    for (int i = 0; i < n; i++)
        out[i] = NULL;
    if (nargs > npos) {
        PyErr_Format(PyExc_TypeError, "%s() takes at most %d positional arguments (%zd given)",
                     fn, npos, nargs);
        return -1;
    }
    for (Py_ssize_t i = 0; i < nargs; i++)
        out[i] = args[i];
    if (kwnames == NULL)
        return 0;
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(kwnames); k++) {
        const char *name = PyUnicode_AsUTF8(PyTuple_GET_ITEM(kwnames, k));
        int j;
        if (name == NULL)
            return -1;
        for (j = 0; j < n; j++)
            if (strcmp(name, names[j]) == 0)
                break;
        if (j == n) {
            PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%s'", fn,
                         name);
            return -1;
        }
        if (out[j] != NULL) {
            PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%s'", fn,
                         name);
            return -1;
        }
        out[j] = args[nargs + k];
    }
    return 0;
}

/* Truth of an optional argument; -1 with an exception. */
static int flag_arg(PyObject *obj, int dflt)
{
    if (obj == NULL)
        return dflt;
    if (obj == Py_True)
        return 1;
    if (obj == Py_False)
        return 0;
    return PyObject_IsTrue(obj);
}

static const char *key_arg(const char *fn, PyObject *key)
{
    if (key == NULL) {
        PyErr_Format(PyExc_TypeError, "%s() missing required argument 'key'", fn);
        return NULL;
    }
    if (!PyUnicode_Check(key)) {
        PyErr_Format(PyExc_TypeError, "%s(): key must be str, not %.100s", fn,
                     Py_TYPE(key)->tp_name);
        return NULL;
    }
    Py_ssize_t len;
    const char *utf8 = PyUnicode_AsUTF8AndSize(key, &len);

    /* The C API takes NUL-terminated names: 'a\x00b' would become 'a' and collide. */
    if (utf8 != NULL && (size_t)len != strlen(utf8)) {
        PyErr_Format(PyExc_ValueError, "Measurement window %R contains a NUL character", key);
        return NULL;
    }
    return utf8;
}

static zeus_monitor *live(ZMon *self)
{
    if (self->mon == NULL)
        PyErr_SetString(PyExc_ValueError, self->gpu_indices == NULL
                                              ? "ZeusMonitor.__init__ was not called"
                                              : "ZeusMonitor is closed");
    return self->mon;
}

/* ---- Measurement -------------------------------------------------------------------------- */

static int put(PyObject *dict, unsigned index, double value)
{
    PyObject *k = PyLong_FromUnsignedLong(index), *v = PyFloat_FromDouble(value);
    int rc = (k == NULL || v == NULL) ? -1 : PyDict_SetItem(dict, k, v);
    Py_XDECREF(k);
    Py_XDECREF(v);
    return rc;
}

/* A rail's mJ for JetsonMeasurement: None for a rail the board lacks (Zeus), NaN failed. */
static PyObject *soc_mj(const zeus_measurement *m, unsigned k)
{
    if (isnan(m->soc_energy_j[k]) && (m->soc_flags[k] & ZEUS_ENERGY_UNSUPPORTED))
        return Py_NewRef(Py_None);
    return PyFloat_FromDouble(m->soc_energy_j[k] * 1e3);
}

/*
 * Measurement.soc_energy: Zeus's JetsonMeasurement (fields in mJ) where the monitor watches
 * a SoC, else None. The class is zeusc.device.soc.jetson's, looked up once.
 */
static PyObject *soc_measurement(const zeus_measurement *m)
{
    static PyObject *cls;
    PyObject *v[ZEUS_SOC_RAILS] = {NULL}, *r = NULL;

    if (m->soc_count == 0)
        return Py_NewRef(Py_None);
    if (cls == NULL) {
        PyObject *mod = PyImport_ImportModule("zeusc.device.soc.jetson");
        if (mod == NULL)
            return NULL;
        cls = PyObject_GetAttrString(mod, "JetsonMeasurement"); /* kept: module lifetime */
        Py_DECREF(mod);
        if (cls == NULL)
            return NULL;
    }
    for (unsigned k = 0; k < ZEUS_SOC_RAILS; k++)
        if ((v[k] = soc_mj(m, k)) == NULL)
            goto out;
    r = PyObject_CallFunctionObjArgs(cls, v[ZEUS_SOC_RAIL_CPU], v[ZEUS_SOC_RAIL_GPU],
                                     v[ZEUS_SOC_RAIL_TOTAL], NULL);
out:
    for (unsigned k = 0; k < ZEUS_SOC_RAILS; k++)
        Py_XDECREF(v[k]);
    return r;
}

static PyObject *build_measurement(const zeus_measurement *m)
{
    int cancelled = (m->flags & ZEUS_MEASUREMENT_CANCELLED) != 0;
    PyObject *a[9] = {NULL};
    PyObject *r = NULL;
    int provisional = 0;

    a[1] = PyDict_New();
    a[8] = PyDict_New();
    if (a[1] == NULL || a[8] == NULL)
        goto out;
    for (unsigned i = 0; i < m->gpu_count && i < ZEUS_MAX_GPUS; i++) {
        PyObject *k, *f;
        if (put(a[1], m->gpu_index[i], cancelled ? 0.0 : m->gpu_energy_j[i]) < 0)
            goto out;
        k = PyLong_FromUnsignedLong(m->gpu_index[i]);
        f = PyLong_FromUnsignedLong(m->gpu_flags[i]);
        if (k == NULL || f == NULL || PyDict_SetItem(a[8], k, f) < 0) {
            Py_XDECREF(k);
            Py_XDECREF(f);
            goto out;
        }
        Py_DECREF(k);
        Py_DECREF(f);
        provisional |= (m->gpu_flags[i] & ZEUS_ENERGY_PROVISIONAL) != 0;
    }
    if (cancelled || m->cpu_count > 0) {
        if ((a[2] = PyDict_New()) == NULL)
            goto out;
        for (unsigned i = 0; i < m->cpu_count && i < ZEUS_MAX_CPUS; i++)
            if (put(a[2], m->cpu_index[i], cancelled ? 0.0 : m->cpu_energy_j[i]) < 0)
                goto out;
    } else {
        a[2] = Py_NewRef(Py_None);
    }
    a[3] = NULL;
    if (!cancelled)
        for (unsigned i = 0; i < m->cpu_count && i < ZEUS_MAX_CPUS; i++) {
            if (m->dram_flags[i] == 0 || (m->dram_flags[i] & ZEUS_ENERGY_UNSUPPORTED))
                continue; /* no DRAM zone on this package */
            if (a[3] == NULL && (a[3] = PyDict_New()) == NULL)
                goto out;
            if (put(a[3], m->cpu_index[i], m->dram_energy_j[i]) < 0)
                goto out;
        }
    if (a[3] == NULL)
        a[3] = Py_NewRef(Py_None);
    a[0] = PyFloat_FromDouble(cancelled ? 0.0 : m->time_s);
    if ((a[4] = soc_measurement(m)) == NULL)
        goto out;
    a[5] = PyFloat_FromDouble(m->start_unix_s);
    a[6] = PyBool_FromLong(provisional);
    a[7] = cancelled ? Py_NewRef(Py_None) : PyLong_FromUnsignedLongLong(m->window_id);
    if (a[0] == NULL || a[5] == NULL || a[7] == NULL)
        goto out;
    r = PyObject_Vectorcall(zc_measurement_cls, a, 9, NULL);
out:
    for (int i = 0; i < 9; i++)
        Py_XDECREF(a[i]);
    return r;
}

/* ---- Lifecycle ---------------------------------------------------------------------------- */

static PyObject *ZMon_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    ZMon *self = (ZMon *)type->tp_alloc(type, 0);
    (void)args;
    (void)kw;
    if (self == NULL)
        return NULL;
    self->warnq = zc_warnq_new();
    self->states = PyDict_New();
    if (self->warnq == NULL || self->states == NULL) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    return (PyObject *)self;
}

static PyObject *index_tuple(const unsigned *idx, unsigned n)
{
    PyObject *t = PyTuple_New(n);
    for (unsigned i = 0; t != NULL && i < n; i++) {
        PyObject *v = PyLong_FromUnsignedLong(idx[i]);
        if (v == NULL) {
            Py_CLEAR(t);
            break;
        }
        PyTuple_SET_ITEM(t, i, v);
    }
    return t;
}

/*
 * The devices the monitor actually reads: a cancelled window reports them (the library has no
 * other query for the CPUs it kept when given "all"). Costs one window; nothing is logged.
 */
static zeus_status probe_identity(zeus_monitor *mon, zeus_measurement *m)
{
    static const char key[] = "\001zeusc-probe";
    zeus_status s = zeus_monitor_begin_window(mon, key, 0);
    if (s != ZEUS_OK)
        return s;
    return zeus_monitor_end_window(mon, key, ZEUS_WINDOW_CANCEL, m);
}

static int valid_sync_spec(PyObject *spec)
{
    if (PyUnicode_Check(spec)) {
        const char *s = PyUnicode_AsUTF8(spec);
        if (s == NULL)
            return -1;
        if (strcmp(s, "torch") == 0 || strcmp(s, "jax") == 0 || strcmp(s, "cupy") == 0)
            return 0;
    } else if (PyCallable_Check(spec)) {
        return 0;
    }
    PyErr_Format(PyExc_ValueError,
                 "sync_execution_with must be 'torch', 'jax', 'cupy' or a callable, not %R",
                 spec);
    return -1;
}

static int ZMon_init(ZMon *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"gpu_indices",         "cpu_indices",  "approx_instant_energy",
                             "log_file",            "sync_execution_with",
                             "direct_reads",        "wait_final",   NULL};
    PyObject *gpu_obj = Py_None, *cpu_obj = Py_None, *log_obj = Py_None, *spec = NULL;
    PyObject *log_bytes = NULL, *log_str = NULL;
    int approx = 0, direct = 0, wait_final = 0;
    unsigned gpus[ZEUS_MAX_GPUS], cpus[ZEUS_MAX_CPUS];
    Py_ssize_t ngpu, ncpu;
    zeus_monitor_options o;
    zeus_measurement probe;
    zeus_monitor *mon = NULL;
    zeus_status s;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "|OOpOO$pp:ZeusMonitor", kwlist, &gpu_obj,
                                     &cpu_obj, &approx, &log_obj, &spec, &direct, &wait_final))
        return -1;
    if (self->mon != NULL || self->gpu_indices != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "ZeusMonitor.__init__ may be called only once");
        return -1;
    }
    if (spec == NULL)
        spec = PyUnicode_FromString("torch");
    else
        Py_INCREF(spec);
    if (spec == NULL || valid_sync_spec(spec) < 0)
        goto fail;
    if ((ngpu = zc_indices(gpu_obj, gpus, ZEUS_MAX_GPUS, "gpu_indices")) == -1 ||
        (ncpu = zc_indices(cpu_obj, cpus, ZEUS_MAX_CPUS, "cpu_indices")) == -1)
        goto fail;
    if (log_obj != Py_None) {
        if (!PyUnicode_FSConverter(log_obj, &log_bytes))
            goto fail;
        if (!PyUnicode_FSDecoder(log_bytes, &log_str))
            goto fail;
    }

    zeus_monitor_options_init(&o);
    o.gpu_indices = ngpu >= 0 ? gpus : NULL;
    o.gpu_index_count = ngpu >= 0 ? (size_t)ngpu : 0;
    o.cpu_indices = ncpu >= 0 ? cpus : NULL;
    o.cpu_index_count = ncpu >= 0 ? (size_t)ncpu : 0;
    o.approx_instant_energy = approx;
    o.log_file = log_bytes != NULL ? PyBytes_AS_STRING(log_bytes) : NULL;
    o.sync = sync_trampoline;
    o.sync_user = self;
    o.warn = zc_warnq_push;
    o.warn_user = self->warnq;
    o.direct_reads = direct;

    Py_BEGIN_ALLOW_THREADS
    s = zeus_monitor_create(&o, &mon);
    if (s == ZEUS_OK)
        s = probe_identity(mon, &probe);
    Py_END_ALLOW_THREADS
    if (s != ZEUS_OK) {
        /* Read the detail before anything else can overwrite it. */
        zc_raise(s, NULL);
        if (mon != NULL) {
            Py_BEGIN_ALLOW_THREADS
            zeus_monitor_destroy(mon);
            Py_END_ALLOW_THREADS
        }
        goto fail;
    }
    self->gpu_indices = index_tuple(probe.gpu_index, probe.gpu_count);
    self->cpu_indices = index_tuple(probe.cpu_index, probe.cpu_count);
    if (self->gpu_indices == NULL || self->cpu_indices == NULL) {
        Py_BEGIN_ALLOW_THREADS
        zeus_monitor_destroy(mon);
        Py_END_ALLOW_THREADS
        goto fail;
    }
    self->mon = mon;
    self->gpu_count = probe.gpu_count;
    self->sync_spec = spec;
    self->log_file = log_str != NULL ? log_str : Py_NewRef(Py_None);
    self->approx = approx;
    self->direct = direct;
    self->wait_final = wait_final;
    Py_XDECREF(log_bytes);
    return zc_warnq_flush(self->warnq);

fail:
    Py_XDECREF(spec);
    Py_XDECREF(log_bytes);
    Py_XDECREF(log_str);
    Py_CLEAR(self->gpu_indices);
    Py_CLEAR(self->cpu_indices);
    return -1;
}

static int ZMon_traverse(ZMon *self, visitproc visit, void *arg)
{
    Py_VISIT(self->sync_spec);
    Py_VISIT(self->sync_fn);
    return 0;
}

static int ZMon_clear(ZMon *self)
{
    Py_CLEAR(self->sync_fn);
    Py_CLEAR(self->sync_spec);
    return 0;
}

static void ZMon_dealloc(ZMon *self)
{
    PyObject_GC_UnTrack(self);
    if (self->mon != NULL) {
        zeus_monitor *mon = self->mon;
        self->mon = NULL;
        /* Destroying finishes the windows still ending (up to ~1 s): without the GIL. */
        Py_BEGIN_ALLOW_THREADS
        zeus_monitor_destroy(mon);
        Py_END_ALLOW_THREADS
    }
    zc_warnq_free(self->warnq);
    ZMon_clear(self);
    Py_CLEAR(self->gpu_indices);
    Py_CLEAR(self->cpu_indices);
    Py_CLEAR(self->log_file);
    Py_CLEAR(self->states);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* ---- Windows ------------------------------------------------------------------------------ */

/*
 * Record (open = 1) or forget (open = 0) window `key` in self->states, which
 * ZeusMonitor.measurement_states shows read-only. The library keeps its own windows; this
 * is only their names and begin times, for code that reads Zeus's measurement_states.
 */
static int track_window(ZMon *self, PyObject *key, int open)
{
    PyObject *t;
    int rc;

    if (!open) {
        if (PyDict_DelItem(self->states, key) < 0 && PyErr_ExceptionMatches(PyExc_KeyError))
            PyErr_Clear();
        return PyErr_Occurred() ? -1 : 0;
    }
    t = PyFloat_FromDouble(zeus_now() + zc_clock_offset);
    if (t == NULL)
        return -1;
    rc = PyDict_SetItem(self->states, key, t);
    Py_DECREF(t);
    return rc;
}

static PyObject *ZMon_begin_window(ZMon *self, PyObject *const *args, Py_ssize_t nargs,
                                   PyObject *kwnames)
{
    static const char *const names[] = {"key", "sync_execution", "restart"};
    PyObject *a[3];
    const char *key;
    int sync, restart, slow;
    unsigned flags = 0;
    zeus_monitor *mon;
    zeus_status s;

    if (parse_args("begin_window", args, nargs, kwnames, names, 3, 3, a) < 0 ||
        (key = key_arg("begin_window", a[0])) == NULL || (sync = flag_arg(a[1], 1)) < 0 ||
        (restart = flag_arg(a[2], 0)) < 0)
        return NULL;
    if (restart)
        flags |= ZEUS_WINDOW_RESTART;
    if (sync && self->gpu_count > 0) {
        if (ensure_sync(self) < 0)
            return NULL;
        flags |= ZEUS_WINDOW_SYNC;
    }
    /* Last, after everything that may run Python code (and so let close() run). */
    if ((mon = live(self)) == NULL)
        return NULL;
    slow = self->direct || (flags & ZEUS_WINDOW_SYNC);
    if (slow) {
        self->busy++;
        Py_BEGIN_ALLOW_THREADS
        s = zeus_monitor_begin_window(mon, key, flags);
        Py_END_ALLOW_THREADS
        self->busy--;
    } else {
        s = zeus_monitor_begin_window(mon, key, flags);
    }
    if (tls_exc_type != NULL) {
        /* The sync failed: take back the window it would have opened (note 1). */
        if (s == ZEUS_OK) {
            zeus_measurement m;
            zeus_monitor_end_window(mon, key, ZEUS_WINDOW_CANCEL, &m);
        }
        restore_sync_error();
        return NULL;
    }
    if (s != ZEUS_OK)
        return zc_raise(s, s == ZEUS_ERR_ALREADY_EXISTS ? zc_window_exists_cls : NULL);
    if (track_window(self, a[0], 1) < 0)
        return NULL;
    if (zc_warnq_flush(self->warnq) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *ZMon_end_window(ZMon *self, PyObject *const *args, Py_ssize_t nargs,
                                 PyObject *kwnames)
{
    static const char *const names[] = {"key", "sync_execution", "cancel", "wait_final"};
    PyObject *a[4], *result;
    const char *key;
    int sync, cancel, wait_final, slow;
    unsigned flags = 0;
    zeus_monitor *mon;
    zeus_measurement m;
    zeus_status s;

    if (parse_args("end_window", args, nargs, kwnames, names, 4, 3, a) < 0 ||
        (key = key_arg("end_window", a[0])) == NULL || (sync = flag_arg(a[1], 1)) < 0 ||
        (cancel = flag_arg(a[2], 0)) < 0 ||
        (wait_final = flag_arg(a[3], self->wait_final)) < 0)
        return NULL;
    if (cancel)
        flags |= ZEUS_WINDOW_CANCEL;
    else if (wait_final && !self->direct)
        flags |= ZEUS_WINDOW_WAIT_FINAL;
    if (sync && self->gpu_count > 0) {
        if (ensure_sync(self) < 0)
            return NULL;
        flags |= ZEUS_WINDOW_SYNC;
    }
    if ((mon = live(self)) == NULL) /* last, as in begin_window */
        return NULL;
    m.gpu_count = (unsigned)-1; /* tells "filled" from "untouched" on failure */
    slow = self->direct || self->approx || (flags & (ZEUS_WINDOW_SYNC | ZEUS_WINDOW_WAIT_FINAL));
    if (slow) {
        self->busy++;
        Py_BEGIN_ALLOW_THREADS
        s = zeus_monitor_end_window(mon, key, flags, &m);
        Py_END_ALLOW_THREADS
        self->busy--;
    } else {
        s = zeus_monitor_end_window(mon, key, flags, &m);
    }
    if (s != ZEUS_ERR_NOT_FOUND && track_window(self, a[0], 0) < 0)
        PyErr_Clear(); /* the window is closed either way; the record is best effort */
    if (restore_sync_error())
        return NULL; /* the window is closed, as when Zeus's sync raises */
    if (s == ZEUS_ERR_NOT_FOUND)
        return zc_raise(s, zc_window_missing_cls);
    if (s != ZEUS_OK) {
        /* A device failed (its value is NAN) or the final value timed out: raise, and hand
         * over what was measured as the exception's .measurement. Building it does not call
         * the library, so zeus_last_error() still holds this failure's detail. */
        result = NULL;
        if (m.gpu_count <= ZEUS_MAX_GPUS && (result = build_measurement(&m)) == NULL)
            return NULL;
        zc_raise_with(s, NULL, result);
        Py_XDECREF(result);
        return NULL;
    }
    result = build_measurement(&m);
    if (result == NULL)
        return NULL;
    if (zc_warnq_flush(self->warnq) < 0) {
        Py_DECREF(result);
        return NULL;
    }
    return result;
}

static PyObject *ZMon_get_final(ZMon *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"measurement", "timeout", NULL};
    PyObject *which, *id_obj, *result;
    double timeout = 2.0;
    unsigned long long id;
    zeus_monitor *mon;
    zeus_measurement m;
    zeus_status s;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|d:get_final", kwlist, &which, &timeout))
        return NULL;
    id_obj = PyLong_Check(which) ? Py_NewRef(which) : PyObject_GetAttrString(which, "window_id");
    if (id_obj == NULL)
        return NULL;
    if (id_obj == Py_None) {
        Py_DECREF(id_obj);
        PyErr_SetString(PyExc_ValueError, "a cancelled window has no final values");
        return NULL;
    }
    id = PyLong_AsUnsignedLongLong(id_obj);
    Py_DECREF(id_obj);
    if (id == (unsigned long long)-1 && PyErr_Occurred())
        return NULL;
    if ((mon = live(self)) == NULL) /* after the attribute lookup, which may run Python */
        return NULL;
    m.gpu_count = (unsigned)-1;
    self->busy++;
    Py_BEGIN_ALLOW_THREADS
    s = zeus_monitor_get_final(mon, (uint64_t)id, timeout, &m);
    Py_END_ALLOW_THREADS
    self->busy--;
    if (s != ZEUS_OK) {
        result = NULL;
        if (s == ZEUS_ERR_TIMEOUT && m.gpu_count <= ZEUS_MAX_GPUS &&
            (result = build_measurement(&m)) == NULL)
            return NULL;
        zc_raise_with(s, NULL, result);
        Py_XDECREF(result);
        return NULL;
    }
    result = build_measurement(&m);
    if (result != NULL && zc_warnq_flush(self->warnq) < 0)
        Py_CLEAR(result);
    return result;
}

static PyObject *ZMon_reset_windows(ZMon *self, PyObject *unused)
{
    zeus_monitor *mon = live(self);
    zeus_status s;
    (void)unused;

    if (mon == NULL)
        return NULL;
    s = zeus_monitor_reset_windows(mon);
    if (s != ZEUS_OK)
        return zc_raise(s, NULL);
    PyDict_Clear(self->states);
    if (zc_warnq_flush(self->warnq) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *ZMon_open_window_count(ZMon *self, PyObject *unused)
{
    zeus_monitor *mon = live(self);
    (void)unused;
    if (mon == NULL)
        return NULL;
    return PyLong_FromUnsignedLong(zeus_monitor_open_window_count(mon));
}

static PyObject *ZMon_close(ZMon *self, PyObject *unused)
{
    zeus_monitor *mon = self->mon;
    (void)unused;

    if (mon == NULL)
        Py_RETURN_NONE;
    self->mon = NULL; /* new calls fail from here on (note 2) */
    while (self->busy > 0) {
        Py_BEGIN_ALLOW_THREADS
        usleep(1000);
        Py_END_ALLOW_THREADS
    }
    Py_BEGIN_ALLOW_THREADS
    zeus_monitor_destroy(mon); /* finishes ending windows: their log rows are written */
    Py_END_ALLOW_THREADS
    PyDict_Clear(self->states);
    if (zc_warnq_flush(self->warnq) < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* ---- Lending the handle (zeusc.h) --------------------------------------------------------- */

zeus_monitor *zc_monitor_borrow(PyObject *obj)
{
    ZMon *self = (ZMon *)obj;
    zeus_monitor *mon;

    if (!PyObject_TypeCheck(obj, &zc_monitor_type)) {
        PyErr_Format(PyExc_TypeError, "zeus_monitor must be a zeusc.ZeusMonitor, not %.100s",
                     Py_TYPE(obj)->tp_name);
        return NULL;
    }
    if (self->gpu_count > 0 && ensure_sync(self) < 0)
        return NULL;
    if ((mon = live(self)) == NULL) /* last, as in begin_window (note 2) */
        return NULL;
    self->busy++;
    return mon;
}

int zc_monitor_unborrow(PyObject *obj)
{
    ZMon *self = (ZMon *)obj;

    self->busy--;
    return zc_warnq_flush(self->warnq);
}

int zc_monitor_sync_failed(void)
{
    return tls_exc_type != NULL;
}

int zc_monitor_raise_sync_error(void)
{
    return restore_sync_error();
}

/* ---- Attributes --------------------------------------------------------------------------- */

static PyObject *tuple_as_list(PyObject *t)
{
    if (t == NULL)
        return PyList_New(0);
    return PySequence_List(t);
}

static PyObject *ZMon_get_gpu_indices(ZMon *self, void *c)
{
    (void)c;
    return tuple_as_list(self->gpu_indices);
}

static PyObject *ZMon_get_cpu_indices(ZMon *self, void *c)
{
    (void)c;
    return tuple_as_list(self->cpu_indices);
}

static PyObject *ZMon_get_approx(ZMon *self, void *c)
{
    (void)c;
    return PyBool_FromLong(self->approx);
}

static PyObject *ZMon_get_direct(ZMon *self, void *c)
{
    (void)c;
    return PyBool_FromLong(self->direct);
}

static PyObject *ZMon_get_wait_final(ZMon *self, void *c)
{
    (void)c;
    return PyBool_FromLong(self->wait_final);
}

static PyObject *ZMon_get_closed(ZMon *self, void *c)
{
    (void)c;
    return PyBool_FromLong(self->mon == NULL);
}

static PyObject *ZMon_get_log_file(ZMon *self, void *c)
{
    (void)c;
    return Py_NewRef(self->log_file != NULL ? self->log_file : Py_None);
}

static PyObject *ZMon_get_sync_with(ZMon *self, void *c)
{
    (void)c;
    return Py_NewRef(self->sync_spec != NULL ? self->sync_spec : Py_None);
}

static PyObject *ZMon_get_states(ZMon *self, void *c)
{
    (void)c;
    return PyDictProxy_New(self->states);
}

static PyGetSetDef ZMon_getset[] = {
    {"gpu_indices", (getter)ZMon_get_gpu_indices, NULL, "Framework indices of the GPUs read.",
     NULL},
    {"cpu_indices", (getter)ZMon_get_cpu_indices, NULL, "Indices of the CPU packages read.",
     NULL},
    {"approx_instant_energy", (getter)ZMon_get_approx, NULL, NULL, NULL},
    {"direct_reads", (getter)ZMon_get_direct, NULL,
     "True: begin/end read the counters themselves, as Zeus (slow, exact deltas).", NULL},
    {"wait_final", (getter)ZMon_get_wait_final, NULL,
     "Default of end_window(wait_final=...).", NULL},
    {"closed", (getter)ZMon_get_closed, NULL, NULL, NULL},
    {"log_file", (getter)ZMon_get_log_file, NULL, NULL, NULL},
    {"sync_execution_with", (getter)ZMon_get_sync_with, NULL, NULL, NULL},
    {"_window_begin_times", (getter)ZMon_get_states, NULL,
     "Read-only {key: begin time (Unix s)} of the open windows.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

#define FASTCALL_KW(fn) ((PyCFunction)(void (*)(void))(fn))

static PyMethodDef ZMon_methods[] = {
    {"begin_window", FASTCALL_KW(ZMon_begin_window), METH_FASTCALL | METH_KEYWORDS,
     "begin_window($self, /, key, sync_execution=True, restart=False)\n--\n\n"
     "Open the measurement window `key`. ValueError (ZeusWindowExistsError) if it is open,\n"
     "unless restart=True replaces it."},
    {"end_window", FASTCALL_KW(ZMon_end_window), METH_FASTCALL | METH_KEYWORDS,
     "end_window($self, /, key, sync_execution=True, cancel=False, *, wait_final=None)\n--\n\n"
     "Close the window `key` and return its Measurement. ValueError\n"
     "(ZeusWindowNotFoundError) if it is not open. In sampled mode the result is an\n"
     "estimate (Measurement.provisional) unless wait_final is true; see get_final()."},
    {"get_final", FASTCALL_KW(ZMon_get_final), METH_VARARGS | METH_KEYWORDS,
     "get_final($self, /, measurement, timeout=2.0)\n--\n\n"
     "The final values of an ended window (sampled mode), waiting up to `timeout` s.\n"
     "ZeusTimeoutError (with .measurement) if still provisional then."},
    {"reset_windows", (PyCFunction)ZMon_reset_windows, METH_NOARGS,
     "reset_windows($self, /)\n--\n\nDrop every open window without reporting."},
    {"open_window_count", (PyCFunction)ZMon_open_window_count, METH_NOARGS,
     "open_window_count($self, /)\n--\n\nThe number of open windows."},
    {"close", (PyCFunction)ZMon_close, METH_NOARGS,
     "close($self, /)\n--\n\nFinish ending windows (their log rows are written) and free the\n"
     "monitor. Idempotent; later calls raise ValueError. Also done when collected."},
    {NULL, NULL, 0, NULL},
};

PyTypeObject zc_monitor_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "zeusc._zeusc.ZeusMonitor",
    .tp_doc = PyDoc_STR(
        "ZeusMonitor(gpu_indices=None, cpu_indices=None, approx_instant_energy=False,\n"
        "            log_file=None, sync_execution_with='torch', *, direct_reads=False,\n"
        "            wait_final=False)\n\n"
        "Zeus's ZeusMonitor over the Zeus-C library. Use zeusc.ZeusMonitor."),
    .tp_basicsize = sizeof(ZMon),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_new = ZMon_new,
    .tp_init = (initproc)ZMon_init,
    .tp_dealloc = (destructor)ZMon_dealloc,
    .tp_traverse = (traverseproc)ZMon_traverse,
    .tp_clear = (inquiry)ZMon_clear,
    .tp_methods = ZMon_methods,
    .tp_getset = ZMon_getset,
};
