/*
 * device.c - zeusc._zeusc.Devices: a thin handle over zeus_devices_* / zeus_gpu_* /
 * zeus_cpu_* (include/zeus/device.h), which zeusc/device/ dresses as Zeus's GPUs and CPUs
 * (milliwatts and millijoules, camelCase aliases, Zeus's exception classes).
 *
 * Values cross in the library's units (joules, watts, MHz); the Python layer converts to
 * Zeus's. Every device call runs without the GIL: NVML reads cost milliseconds on real
 * hardware, and setters forwarded to zeusd wait for an HTTP answer. The handle is safe to
 * share between threads because the library's is (device.h).
 *
 * Errors: Devices(gpu_errors, cpu_errors) takes two maps from zeus_status code to exception
 * class, so that a failed GPU call raises Zeus's ZeusGPU*Error and a failed CPU call Zeus's
 * ZeusCPU*Error; a code missing from the map raises the generic class of zeusc.errors.
 */
#include "zeusc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    PyObject_HEAD
    zeus_devices *devs;
    PyObject *gpu_errors; /* dict: status -> class, or NULL */
    PyObject *cpu_errors;
} Devices;

/* ---- Helpers ------------------------------------------------------------------------------ */

/* Raise for `s` with the class `errors` maps it to (if any). Returns NULL. */
static PyObject *dev_raise(PyObject *errors, zeus_status s)
{
    PyObject *cls = NULL;

    if (errors != NULL) {
        PyObject *key = PyLong_FromLong((long)s);
        if (key == NULL)
            return NULL;
        cls = PyDict_GetItemWithError(errors, key); /* borrowed */
        Py_DECREF(key);
        if (cls == NULL && PyErr_Occurred())
            return NULL;
    }
    return zc_raise(s, cls);
}

static zeus_devices *live(Devices *self)
{
    if (self->devs == NULL)
        PyErr_SetString(PyExc_RuntimeError, "Devices handle is not initialized");
    return self->devs;
}

/* A GPU or CPU index argument: a non-negative int. */
static int index_arg(PyObject *obj, unsigned *out)
{
    long v;

    if (!PyLong_Check(obj) || PyBool_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "device index must be an int, not %.100s",
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    v = PyLong_AsLong(obj);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (v < 0 || v > 0xffffff) {
        PyErr_Format(PyExc_ValueError, "%ld is not a valid device index", v);
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

/* ---- Life cycle --------------------------------------------------------------------------- */

static int Devices_init(Devices *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"gpu_errors", "cpu_errors", NULL};
    PyObject *gpu_errors = Py_None, *cpu_errors = Py_None;
    zeus_devices *devs = NULL;
    zeus_status s;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|OO:Devices", kwlist, &gpu_errors,
                                     &cpu_errors))
        return -1;
    if ((gpu_errors != Py_None && !PyDict_Check(gpu_errors)) ||
        (cpu_errors != Py_None && !PyDict_Check(cpu_errors))) {
        PyErr_SetString(PyExc_TypeError, "gpu_errors and cpu_errors must be dicts or None");
        return -1;
    }
    if (self->devs != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Devices is already initialized");
        return -1;
    }
    Py_BEGIN_ALLOW_THREADS
    s = zeus_devices_create(&devs);
    Py_END_ALLOW_THREADS
    if (s != ZEUS_OK) {
        zc_raise(s, NULL);
        return -1;
    }
    self->devs = devs;
    Py_XSETREF(self->gpu_errors, gpu_errors == Py_None ? NULL : Py_NewRef(gpu_errors));
    Py_XSETREF(self->cpu_errors, cpu_errors == Py_None ? NULL : Py_NewRef(cpu_errors));
    return 0;
}

static void Devices_dealloc(Devices *self)
{
    zeus_devices *devs = self->devs;

    self->devs = NULL;
    if (devs != NULL) {
        Py_BEGIN_ALLOW_THREADS
        zeus_devices_destroy(devs);
        Py_END_ALLOW_THREADS
    }
    Py_CLEAR(self->gpu_errors);
    Py_CLEAR(self->cpu_errors);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* ---- Counts and identity ------------------------------------------------------------------ */

static PyObject *Devices_gpu_count(Devices *self, PyObject *unused)
{
    zeus_devices *devs = live(self);
    (void)unused;
    if (devs == NULL)
        return NULL;
    return PyLong_FromUnsignedLong(zeus_devices_gpu_count(devs));
}

static PyObject *Devices_cpu_count(Devices *self, PyObject *unused)
{
    zeus_devices *devs = live(self);
    (void)unused;
    if (devs == NULL)
        return NULL;
    return PyLong_FromUnsignedLong(zeus_devices_cpu_count(devs));
}

static PyObject *text(const char *s, size_t room)
{
    return PyUnicode_DecodeUTF8(s, (Py_ssize_t)strnlen(s, room), "replace");
}

static PyObject *Devices_gpu_info(Devices *self, PyObject *arg)
{
    zeus_devices *devs = live(self);
    zeus_gpu_info info;
    zeus_status s;
    unsigned gpu;

    if (devs == NULL || index_arg(arg, &gpu) < 0)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    s = zeus_gpu_get_info(devs, gpu, &info);
    Py_END_ALLOW_THREADS
    if (s != ZEUS_OK)
        return dev_raise(self->gpu_errors, s);
    return Py_BuildValue("{sIsIsNsNsIsksz}", "index", info.index, "physical_index",
                         info.physical_index, "name", text(info.name, sizeof info.name),
                         "uuid", text(info.uuid, sizeof info.uuid), "architecture",
                         info.architecture, "supports", (unsigned long)info.supports,
                         "backend", zeus_gpu_get_backend(devs, gpu));
}

static PyObject *Devices_cpu_info(Devices *self, PyObject *arg)
{
    zeus_devices *devs = live(self);
    zeus_cpu_info info;
    zeus_status s;
    unsigned cpu;

    if (devs == NULL || index_arg(arg, &cpu) < 0)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    s = zeus_cpu_get_info(devs, cpu, &info);
    Py_END_ALLOW_THREADS
    if (s != ZEUS_OK)
        return dev_raise(self->cpu_errors, s);
    return Py_BuildValue("{sIsNsNsN}", "index", info.index, "name",
                         text(info.name, sizeof info.name), "path",
                         PyUnicode_DecodeFSDefault(info.path), "has_dram",
                         PyBool_FromLong(info.has_dram));
}

/* ---- GPU readings ------------------------------------------------------------------------- */

/* One double out of a (devs, gpu, &out) getter. */
typedef zeus_status (*gpu_double_fn)(zeus_devices *, unsigned, double *);

static PyObject *gpu_double(Devices *self, PyObject *arg, gpu_double_fn fn)
{
    zeus_devices *devs = live(self);
    zeus_status s;
    unsigned gpu;
    double v = NAN;

    if (devs == NULL || index_arg(arg, &gpu) < 0)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    s = fn(devs, gpu, &v);
    Py_END_ALLOW_THREADS
    if (s != ZEUS_OK)
        return dev_raise(self->gpu_errors, s);
    return PyFloat_FromDouble(v);
}

static PyObject *Devices_gpu_energy(Devices *self, PyObject *arg)
{
    return gpu_double(self, arg, zeus_gpu_get_energy);
}

static PyObject *Devices_gpu_temperature(Devices *self, PyObject *arg)
{
    return gpu_double(self, arg, zeus_gpu_get_temperature);
}

static PyObject *Devices_gpu_power_limit(Devices *self, PyObject *arg)
{
    return gpu_double(self, arg, zeus_gpu_get_power_limit);
}

static PyObject *Devices_gpu_default_power_limit(Devices *self, PyObject *arg)
{
    return gpu_double(self, arg, zeus_gpu_get_default_power_limit);
}

static PyObject *Devices_gpu_power(Devices *self, PyObject *args)
{
    zeus_devices *devs = live(self);
    zeus_status s;
    unsigned gpu;
    int domain;
    double w = NAN;

    if (devs == NULL || !PyArg_ParseTuple(args, "Ii:gpu_power", &gpu, &domain))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    s = zeus_gpu_get_power(devs, gpu, (zeus_power_domain)domain, &w);
    Py_END_ALLOW_THREADS
    if (s != ZEUS_OK)
        return dev_raise(self->gpu_errors, s);
    return PyFloat_FromDouble(w);
}

static PyObject *Devices_gpu_power_limit_constraints(Devices *self, PyObject *arg)
{
    zeus_devices *devs = live(self);
    zeus_status s;
    unsigned gpu;
    double lo = NAN, hi = NAN;

    if (devs == NULL || index_arg(arg, &gpu) < 0)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    s = zeus_gpu_get_power_limit_constraints(devs, gpu, &lo, &hi);
    Py_END_ALLOW_THREADS
    if (s != ZEUS_OK)
        return dev_raise(self->gpu_errors, s);
    return Py_BuildValue("(dd)", lo, hi);
}

static PyObject *Devices_gpu_persistence_mode(Devices *self, PyObject *arg)
{
    zeus_devices *devs = live(self);
    zeus_status s;
    unsigned gpu;
    int enabled = 0;

    if (devs == NULL || index_arg(arg, &gpu) < 0)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    s = zeus_gpu_get_persistence_mode(devs, gpu, &enabled);
    Py_END_ALLOW_THREADS
    if (s != ZEUS_OK)
        return dev_raise(self->gpu_errors, s);
    return PyBool_FromLong(enabled);
}

/* Supported memory clocks (memory_mhz < 0) or graphics clocks at memory_mhz, as a list. */
static PyObject *gpu_clocks(Devices *self, unsigned gpu, long memory_mhz)
{
    zeus_devices *devs = live(self);
    unsigned *buf = NULL;
    size_t room = 64;

    if (devs == NULL)
        return NULL;
    for (int tries = 0; tries < 4; tries++) {
        size_t count = room;
        zeus_status s;
        unsigned *grown = realloc(buf, room * sizeof *buf);
        if (grown == NULL) {
            free(buf);
            return PyErr_NoMemory();
        }
        buf = grown;
        Py_BEGIN_ALLOW_THREADS
        if (memory_mhz < 0)
            s = zeus_gpu_get_supported_memory_clocks(devs, gpu, buf, &count);
        else
            s = zeus_gpu_get_supported_graphics_clocks(devs, gpu, (unsigned)memory_mhz, buf,
                                                       &count);
        Py_END_ALLOW_THREADS
        if (s == ZEUS_ERR_INSUFFICIENT_SIZE && count > room) {
            room = count;
            continue;
        }
        if (s != ZEUS_OK) {
            free(buf);
            return dev_raise(self->gpu_errors, s);
        }
        PyObject *list = PyList_New((Py_ssize_t)count);
        for (size_t i = 0; list != NULL && i < count; i++) {
            PyObject *v = PyLong_FromUnsignedLong(buf[i]);
            if (v == NULL) {
                Py_CLEAR(list);
                break;
            }
            PyList_SET_ITEM(list, (Py_ssize_t)i, v);
        }
        free(buf);
        return list;
    }
    free(buf);
    PyErr_SetString(PyExc_RuntimeError, "the clock list kept growing while being copied");
    return NULL;
}

static PyObject *Devices_gpu_supported_memory_clocks(Devices *self, PyObject *arg)
{
    unsigned gpu;
    if (index_arg(arg, &gpu) < 0)
        return NULL;
    return gpu_clocks(self, gpu, -1);
}

static PyObject *Devices_gpu_supported_graphics_clocks(Devices *self, PyObject *args)
{
    unsigned gpu, memory_mhz;
    if (!PyArg_ParseTuple(args, "II:gpu_supported_graphics_clocks", &gpu, &memory_mhz))
        return NULL;
    return gpu_clocks(self, gpu, (long)memory_mhz);
}

/* ---- GPU settings ------------------------------------------------------------------------- */

static PyObject *set_result(Devices *self, zeus_status s)
{
    if (s != ZEUS_OK)
        return dev_raise(self->gpu_errors, s);
    Py_RETURN_NONE;
}

static PyObject *Devices_gpu_set_power_limit(Devices *self, PyObject *args)
{
    zeus_devices *devs = live(self);
    zeus_status s;
    unsigned gpu;
    double w;

    if (devs == NULL || !PyArg_ParseTuple(args, "Id:gpu_set_power_limit", &gpu, &w))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    s = zeus_gpu_set_power_limit(devs, gpu, w);
    Py_END_ALLOW_THREADS
    return set_result(self, s);
}

static PyObject *Devices_gpu_set_persistence_mode(Devices *self, PyObject *args)
{
    zeus_devices *devs = live(self);
    zeus_status s;
    unsigned gpu;
    int enabled;

    if (devs == NULL || !PyArg_ParseTuple(args, "Ip:gpu_set_persistence_mode", &gpu, &enabled))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    s = zeus_gpu_set_persistence_mode(devs, gpu, enabled);
    Py_END_ALLOW_THREADS
    return set_result(self, s);
}

typedef zeus_status (*gpu_reset_fn)(zeus_devices *, unsigned);
typedef zeus_status (*gpu_lock_fn)(zeus_devices *, unsigned, unsigned, unsigned);

static PyObject *gpu_reset(Devices *self, PyObject *arg, gpu_reset_fn fn)
{
    zeus_devices *devs = live(self);
    zeus_status s;
    unsigned gpu;

    if (devs == NULL || index_arg(arg, &gpu) < 0)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    s = fn(devs, gpu);
    Py_END_ALLOW_THREADS
    return set_result(self, s);
}

static PyObject *gpu_lock(Devices *self, PyObject *args, gpu_lock_fn fn)
{
    zeus_devices *devs = live(self);
    zeus_status s;
    unsigned gpu, lo, hi;

    if (devs == NULL || !PyArg_ParseTuple(args, "III", &gpu, &lo, &hi))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    s = fn(devs, gpu, lo, hi);
    Py_END_ALLOW_THREADS
    return set_result(self, s);
}

static PyObject *Devices_gpu_reset_power_limit(Devices *self, PyObject *arg)
{
    return gpu_reset(self, arg, zeus_gpu_reset_power_limit);
}

static PyObject *Devices_gpu_set_gpu_locked_clocks(Devices *self, PyObject *args)
{
    return gpu_lock(self, args, zeus_gpu_set_gpu_locked_clocks);
}

static PyObject *Devices_gpu_reset_gpu_locked_clocks(Devices *self, PyObject *arg)
{
    return gpu_reset(self, arg, zeus_gpu_reset_gpu_locked_clocks);
}

static PyObject *Devices_gpu_set_memory_locked_clocks(Devices *self, PyObject *args)
{
    return gpu_lock(self, args, zeus_gpu_set_memory_locked_clocks);
}

static PyObject *Devices_gpu_reset_memory_locked_clocks(Devices *self, PyObject *arg)
{
    return gpu_reset(self, arg, zeus_gpu_reset_memory_locked_clocks);
}

/* ---- CPU readings ------------------------------------------------------------------------- */

/* (cpu_j, dram_j or None): cumulative package and DRAM energy. */
static PyObject *Devices_cpu_energy(Devices *self, PyObject *arg)
{
    zeus_devices *devs = live(self);
    zeus_cpu_energy e;
    zeus_status s;
    unsigned cpu;

    if (devs == NULL || index_arg(arg, &cpu) < 0)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    s = zeus_cpu_get_energy(devs, cpu, &e);
    Py_END_ALLOW_THREADS
    if (s != ZEUS_OK)
        return dev_raise(self->cpu_errors, s);
    if (isnan(e.dram_j))
        return Py_BuildValue("(dO)", e.cpu_j, Py_None);
    return Py_BuildValue("(dd)", e.cpu_j, e.dram_j);
}

/* ---- SoC readings (Jetson) ---------------------------------------------------------------- */

static PyObject *Devices_soc_count(Devices *self, PyObject *unused)
{
    zeus_devices *devs = live(self);
    (void)unused;
    return devs == NULL ? NULL : PyLong_FromUnsignedLong(zeus_devices_soc_count(devs));
}

/* A rail's joules for Python: None for a rail the board lacks, NaN for one that failed. */
static PyObject *soc_value(double j, uint32_t flags)
{
    if (isnan(j) && (flags & ZEUS_ENERGY_UNSUPPORTED))
        return Py_NewRef(Py_None);
    return PyFloat_FromDouble(j);
}

/* (cpu_j, gpu_j, total_j): cumulative rail energies since the handle opened. */
static PyObject *Devices_soc_energy(Devices *self, PyObject *arg)
{
    zeus_devices *devs = live(self);
    zeus_soc_energy e = {.size = sizeof e};
    PyObject *v[ZEUS_SOC_RAILS] = {NULL}, *r = NULL;
    zeus_status s;
    unsigned soc;

    if (devs == NULL || index_arg(arg, &soc) < 0)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    s = zeus_soc_get_energy(devs, soc, &e);
    Py_END_ALLOW_THREADS
    if (s != ZEUS_OK)
        return dev_raise(NULL, s); /* the status's own class: there are no SoC classes */
    for (int k = 0; k < ZEUS_SOC_RAILS; k++)
        if ((v[k] = soc_value(e.energy_j[k], e.flags[k])) == NULL)
            goto out;
    r = PyTuple_Pack(3, v[0], v[1], v[2]);
out:
    for (int k = 0; k < ZEUS_SOC_RAILS; k++)
        Py_XDECREF(v[k]);
    return r;
}

/*
 * {"name": str, "period_s": float, "rails": {"cpu": {"label": str, "path": str} or None,
 * "gpu": ..., "total": ...}}: the SoC's rails as the library found them (the path is the
 * power file, or the voltage file where power is voltage x current).
 */
static PyObject *Devices_soc_info(Devices *self, PyObject *arg)
{
    zeus_devices *devs = live(self);
    zeus_soc_info info;
    PyObject *rails, *r = NULL;
    zeus_status s;
    unsigned soc;

    if (devs == NULL || index_arg(arg, &soc) < 0)
        return NULL;
    s = zeus_soc_get_info(devs, soc, &info);
    if (s != ZEUS_OK)
        return dev_raise(NULL, s);
    if ((rails = PyDict_New()) == NULL)
        return NULL;
    for (int k = 0; k < ZEUS_SOC_RAILS; k++) {
        PyObject *v = info.has_rail[k] ? Py_BuildValue("{s:s,s:s}", "label", info.rail_label[k],
                                                       "path", info.rail_path[k])
                                       : Py_NewRef(Py_None);
        int bad = v == NULL ||
                  PyDict_SetItemString(rails, zeus_soc_rail_name((zeus_soc_rail)k), v) < 0;
        Py_XDECREF(v);
        if (bad)
            goto out;
    }
    r = Py_BuildValue("{s:s,s:d,s:O}", "name", info.name, "period_s", info.period_s, "rails",
                      rails);
out:
    Py_DECREF(rails);
    return r;
}

/* ---- Type --------------------------------------------------------------------------------- */

#define M(name, flags, sig, doc)                                                               \
    {#name, (PyCFunction)Devices_##name, flags, #name sig "\n--\n\n" doc}

static PyMethodDef Devices_methods[] = {
    M(gpu_count, METH_NOARGS, "($self, /)", "Number of visible GPUs."),
    M(cpu_count, METH_NOARGS, "($self, /)", "Number of CPU packages (RAPL zones)."),
    M(gpu_info, METH_O, "($self, gpu, /)", "dict: index, physical_index, name, uuid, ..."),
    M(cpu_info, METH_O, "($self, cpu, /)", "dict: index, name, path, has_dram."),
    M(gpu_energy, METH_O, "($self, gpu, /)", "Energy since the driver loaded, joules."),
    M(gpu_temperature, METH_O, "($self, gpu, /)", "Core temperature, degrees Celsius."),
    M(gpu_power, METH_VARARGS, "($self, gpu, domain, /)",
      "Power in watts in a zeus_power_domain (0 instant, 1 average, 2 memory average)."),
    M(gpu_power_limit, METH_O, "($self, gpu, /)", "Current power limit, watts."),
    M(gpu_default_power_limit, METH_O, "($self, gpu, /)", "Default power limit, watts."),
    M(gpu_power_limit_constraints, METH_O, "($self, gpu, /)", "(min_w, max_w)."),
    M(gpu_persistence_mode, METH_O, "($self, gpu, /)", "Whether persistence mode is on."),
    M(gpu_supported_memory_clocks, METH_O, "($self, gpu, /)", "Memory clocks, MHz."),
    M(gpu_supported_graphics_clocks, METH_VARARGS, "($self, gpu, memory_mhz, /)",
      "Graphics clocks at a memory clock, MHz."),
    M(gpu_set_power_limit, METH_VARARGS, "($self, gpu, limit_w, /)",
      "Set the power limit, watts."),
    M(gpu_reset_power_limit, METH_O, "($self, gpu, /)", "Restore the default power limit."),
    M(gpu_set_persistence_mode, METH_VARARGS, "($self, gpu, enabled, /)",
      "Turn persistence mode on or off."),
    M(gpu_set_gpu_locked_clocks, METH_VARARGS, "($self, gpu, min_mhz, max_mhz, /)",
      "Lock the graphics clock to a range."),
    M(gpu_reset_gpu_locked_clocks, METH_O, "($self, gpu, /)", "Unlock the graphics clock."),
    M(gpu_set_memory_locked_clocks, METH_VARARGS, "($self, gpu, min_mhz, max_mhz, /)",
      "Lock the memory clock to a range."),
    M(gpu_reset_memory_locked_clocks, METH_O, "($self, gpu, /)", "Unlock the memory clock."),
    M(cpu_energy, METH_O, "($self, cpu, /)",
      "(cpu_j, dram_j or None): cumulative energy of a CPU package."),
    M(soc_count, METH_NOARGS, "($self, /)", "Number of SoCs (an NVIDIA Jetson: 1)."),
    M(soc_energy, METH_O, "($self, soc, /)",
      "(cpu_j, gpu_j, total_j): cumulative rail energies; None for a rail the board lacks, "
      "NaN for one that cannot be read."),
    M(soc_info, METH_O, "($self, soc, /)",
      "dict: name, period_s, rails {cpu, gpu, total: {label, path} or None}."),
    {NULL, NULL, 0, NULL},
};

#undef M

PyTypeObject zc_devices_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "zeusc._zeusc.Devices",
    .tp_doc = PyDoc_STR("Devices(gpu_errors=None, cpu_errors=None)\n--\n\n"
                        "Every GPU and CPU package the library finds (zeus_devices)."),
    .tp_basicsize = sizeof(Devices),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Devices_init,
    .tp_dealloc = (destructor)Devices_dealloc,
    .tp_methods = Devices_methods,
};
