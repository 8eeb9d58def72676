/*
 * pipeline_frequency.c - zeusc._zeusc.PipelineFrequency: Perseus's client in libzeus
 * (zeus/pipeline_frequency.h) for zeusc.optimizer.pipeline_frequency, which keeps Zeus's
 * PipelineFrequencyOptimizer's arguments, the torch.distributed broadcast and Zeus's errors.
 *
 * The handle opens its own zeus_devices (the controller thread locks clocks through it) and
 * closes it with close() or when collected. Calls that talk to the server (register_job, the
 * constructor, which blocks until every rank asked for its schedule) release the GIL;
 * on_instruction_begin and on_step_end take microseconds and keep it.
 */
#include "zeusc.h"

typedef struct {
    PyObject_HEAD
    zeus_pfo *pfo;
    zeus_devices *devs;
} ZPfo;

/* ---- Construction ------------------------------------------------------------------------- */

static int read_options(PyObject *args, PyObject *kw, zeus_pfo_options *o, const char **job_id,
                        int *device_id)
{
    static char *names[] = {"server_url", "job_id", "rank", "dp_rank", "pp_rank", "tp_rank",
                            "device_id", "dp_degree", "pp_degree", "tp_degree", "world_size",
                            "job_metadata", NULL};

    zeus_pfo_options_init(o);
    *device_id = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "sz|iiiiiiiiiz", names, &o->server_url, job_id,
                                     &o->rank, &o->dp_rank, &o->pp_rank, &o->tp_rank, device_id,
                                     &o->dp_degree, &o->pp_degree, &o->tp_degree, &o->world_size,
                                     &o->job_metadata))
        return -1;
    if (*device_id < 0) {
        PyErr_SetString(PyExc_ValueError, "device_id must not be negative");
        return -1;
    }
    o->device_id = (unsigned)*device_id;
    o->job_id = *job_id;
    return 0;
}

static PyObject *pfo_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    zeus_pfo_options o;
    const char *job_id = NULL;
    int device_id;
    zeus_status s;
    ZPfo *self;

    if (read_options(args, kw, &o, &job_id, &device_id) < 0)
        return NULL;
    if ((self = (ZPfo *)type->tp_alloc(type, 0)) == NULL)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    s = zeus_devices_create(&self->devs);
    if (s == ZEUS_OK)
        s = zeus_pfo_create(self->devs, &o, &self->pfo);
    Py_END_ALLOW_THREADS
    if (s != ZEUS_OK) {
        zc_raise(s, NULL);
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static void close_handle(ZPfo *self)
{
    zeus_pfo *pfo = self->pfo;
    zeus_devices *devs = self->devs;

    self->pfo = NULL;
    self->devs = NULL;
    Py_BEGIN_ALLOW_THREADS
    zeus_pfo_destroy(pfo); /* joins the controller, which resets the clocks */
    zeus_devices_destroy(devs);
    Py_END_ALLOW_THREADS
}

static void pfo_dealloc(ZPfo *self)
{
    close_handle(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* ---- Methods ----------------------------------------------------------------------------------- */

static zeus_pfo *live(ZPfo *self)
{
    if (self->pfo == NULL)
        PyErr_SetString(PyExc_ValueError, "the pipeline frequency optimizer is closed");
    return self->pfo;
}

static PyObject *pfo_register_job(PyObject *cls, PyObject *args, PyObject *kw)
{
    static char *names[] = {"server_url", "dp_degree", "pp_degree", "tp_degree", "world_size",
                            "job_metadata", NULL};
    char id[ZEUS_PFO_JOB_ID_MAX];
    zeus_pfo_options o;
    zeus_status s;

    (void)cls;
    zeus_pfo_options_init(&o);
    if (!PyArg_ParseTupleAndKeywords(args, kw, "siiii|z", names, &o.server_url, &o.dp_degree,
                                     &o.pp_degree, &o.tp_degree, &o.world_size, &o.job_metadata))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    s = zeus_pfo_register_job(&o, id, sizeof id);
    Py_END_ALLOW_THREADS
    if (s != ZEUS_OK)
        return zc_raise(s, NULL);
    return PyUnicode_FromString(id);
}

static PyObject *pfo_on_instruction_begin(ZPfo *self, PyObject *arg)
{
    const char *name = PyUnicode_AsUTF8(arg);
    zeus_status s;

    if (name == NULL || live(self) == NULL)
        return NULL;
    if ((s = zeus_pfo_on_instruction_begin(self->pfo, name)) != ZEUS_OK)
        return zc_raise(s, NULL);
    Py_RETURN_NONE;
}

static PyObject *pfo_on_step_end(ZPfo *self, PyObject *unused)
{
    zeus_status s;

    (void)unused;
    if (live(self) == NULL)
        return NULL;
    if ((s = zeus_pfo_on_step_end(self->pfo)) != ZEUS_OK)
        return zc_raise(s, NULL);
    Py_RETURN_NONE;
}

/* [(instruction, MHz), ...]: the schedule the server gave this rank. */
static PyObject *pfo_schedule(ZPfo *self, PyObject *unused)
{
    size_t n;
    PyObject *list;

    (void)unused;
    if (live(self) == NULL)
        return NULL;
    n = zeus_pfo_schedule_length(self->pfo);
    if ((list = PyList_New((Py_ssize_t)n)) == NULL)
        return NULL;
    for (size_t k = 0; k < n; k++) {
        const char *name;
        unsigned mhz;
        PyObject *t;
        zeus_pfo_schedule_entry(self->pfo, k, &name, &mhz);
        if ((t = Py_BuildValue("(sI)", name, mhz)) == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)k, t);
    }
    return list;
}

static PyObject *pfo_job_id(ZPfo *self, void *closure)
{
    (void)closure;
    if (live(self) == NULL)
        return NULL;
    return PyUnicode_FromString(zeus_pfo_job_id(self->pfo));
}

static PyObject *pfo_close(ZPfo *self, PyObject *unused)
{
    (void)unused;
    close_handle(self);
    Py_RETURN_NONE;
}

static PyMethodDef pfo_methods[] = {
    {"register_job", (PyCFunction)(void (*)(void))pfo_register_job,
     METH_VARARGS | METH_KEYWORDS | METH_STATIC,
     "register_job(server_url, dp_degree, pp_degree, tp_degree, world_size, job_metadata=None)\n"
     "--\n\nPOST /register_job; the new job id."},
    {"on_instruction_begin", (PyCFunction)pfo_on_instruction_begin, METH_O,
     "on_instruction_begin($self, name, /)\n--\n\nQueue the next instruction's frequency."},
    {"on_step_end", (PyCFunction)pfo_on_step_end, METH_NOARGS,
     "on_step_end($self, /)\n--\n\nCheck that the schedule was used up, and start over."},
    {"schedule", (PyCFunction)pfo_schedule, METH_NOARGS,
     "schedule($self, /)\n--\n\nThe schedule: [(instruction, MHz), ...]."},
    {"close", (PyCFunction)pfo_close, METH_NOARGS,
     "close($self, /)\n--\n\nStop the controller (resetting the clocks). Idempotent."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef pfo_getset[] = {
    {"job_id", (getter)pfo_job_id, NULL, "The job id.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject zc_pfo_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "zeusc._zeusc.PipelineFrequency",
    .tp_basicsize = sizeof(ZPfo),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "PipelineFrequency(server_url, job_id, rank=0, dp_rank=0, pp_rank=0, tp_rank=0, "
              "device_id=0, dp_degree=1, pp_degree=1, tp_degree=1, world_size=1, "
              "job_metadata=None)\n--\n\nPerseus's client over libzeus (zeus_pfo_*).",
    .tp_new = pfo_new,
    .tp_dealloc = (destructor)pfo_dealloc,
    .tp_methods = pfo_methods,
    .tp_getset = pfo_getset,
};
