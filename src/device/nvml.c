/*
 * nvml.c - NVIDIA GPUs through NVML, loaded at run time with dlopen.
 *
 * Loads ZEUS_NVML_LIBRARY, or libnvidia-ml.so.1, once per process; resolves the functions it
 * uses from one table; numbers the GPUs as CUDA_VISIBLE_DEVICES does (visible.c); probes at
 * open what each GPU can report; and fills the backend table of backend.h. NVML's units
 * (mJ, mW) and return codes are converted here, at the edge, each in one function.
 *
 * DESIGN NOTES
 *
 * 1. The library is loaded once (pthread_once) and never unloaded. NVML counts
 *    nvmlInit_v2/nvmlShutdown pairs itself, and each open() makes one pair with its close(),
 *    so several zeus_devices handles may be open at once.
 * 2. Whatever a method has to decide is fixed at open (handle, power scopes, whether the
 *    GPU has a counter), so methods read backend state without locks. NVML is thread-safe.
 * 3. The energy read is the hot path: one NVML call and a division, no allocation, no lock.
 *    The call itself still costs ~2.7 ms on an H100 (reference/GPU-MEASUREMENTS.md); keeping
 *    it off the caller's path is the sampler's job, not this file's.
 * 4. A missing optional function (older drivers) turns off its feature only: the method
 *    answers ZEUS_ERR_NOT_SUPPORTED and names the function. A missing required one makes the
 *    whole backend unavailable.
 * 5. Power domains are probed per field as Zeus does: GPU scope first, then MODULE scope
 *    (Grace Hopper reports CPU+GPU module power only). Concept: fields 186/185 are the
 *    power readings. Reality: drivers before the power fields have only
 *    nvmlDeviceGetPowerUsage, so where a field answers at no scope, that reading stands in:
 *    as the average from Ampere on and as the instant value before, which is what NVML
 *    documents it to be on each. Zeus reports such domains as unsupported.
 *    A GPU whose power answers only at MODULE scope says so in its info
 *    (ZEUS_GPU_MODULE_SCOPE); the monitors warn and flag its windows, as Zeus warns.
 * 6. MIG: NVML measures energy and power of whole GPUs only, so a GPU in MIG mode is
 *    measured whole, and a MIG slice named in CUDA_VISIBLE_DEVICES stands for the GPU that
 *    holds it (visible.c); both set ZEUS_GPU_MIG, which the monitors warn about and flag.
 */
#include <assert.h>
#include <dlfcn.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/backend.h"
#include "device/visible.h"
#include "util/error.h"

/* ---- NVML declarations (checked against nvml.h of CUDA 12.x, driver 580) ----------------- */

typedef int nvmlReturn_t;
typedef struct nvml_device *nvmlDevice_t; /* opaque */

enum {
    NVML_SUCCESS = 0,
    NVML_ERROR_UNINITIALIZED = 1,
    NVML_ERROR_INVALID_ARGUMENT = 2,
    NVML_ERROR_NOT_SUPPORTED = 3,
    NVML_ERROR_NO_PERMISSION = 4,
    NVML_ERROR_ALREADY_INITIALIZED = 5,
    NVML_ERROR_NOT_FOUND = 6,
    NVML_ERROR_INSUFFICIENT_SIZE = 7,
    NVML_ERROR_INSUFFICIENT_POWER = 8,
    NVML_ERROR_DRIVER_NOT_LOADED = 9,
    NVML_ERROR_TIMEOUT = 10,
    NVML_ERROR_IRQ_ISSUE = 11,
    NVML_ERROR_LIBRARY_NOT_FOUND = 12,
    NVML_ERROR_FUNCTION_NOT_FOUND = 13,
    NVML_ERROR_CORRUPTED_INFOROM = 14,
    NVML_ERROR_GPU_IS_LOST = 15,
    NVML_ERROR_RESET_REQUIRED = 16,
    NVML_ERROR_OPERATING_SYSTEM = 17,
    NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18,
    NVML_ERROR_IN_USE = 19,
    NVML_ERROR_MEMORY = 20,
    NVML_ERROR_NO_DATA = 21,
    NVML_ERROR_VGPU_ECC_NOT_SUPPORTED = 22,
    NVML_ERROR_INSUFFICIENT_RESOURCES = 23,
    NVML_ERROR_FREQ_NOT_SUPPORTED = 24,
    NVML_ERROR_ARGUMENT_VERSION_MISMATCH = 25,
    NVML_ERROR_DEPRECATED = 26,
    NVML_ERROR_NOT_READY = 27,
    NVML_ERROR_GPU_NOT_FOUND = 28,
    NVML_ERROR_INVALID_STATE = 29,
    NVML_ERROR_UNKNOWN = 999,
};

/* nvmlFieldValue_t: 40 bytes, the value's type given by valueType (nvmlValueType_t). */
typedef struct {
    unsigned int fieldId;
    unsigned int scopeId;
    long long timestamp;
    long long latencyUsec;
    int valueType;
    nvmlReturn_t nvmlReturn;
    union {
        double dVal;
        unsigned int uiVal;
        unsigned long ulVal;
        unsigned long long ullVal;
        long long sllVal;
        int siVal;
        unsigned short usVal;
    } value;
} nvmlFieldValue_t;

/* nvml.h's nvmlPciInfo_t, the same for nvmlDeviceGetPciInfo_v2 and _v3. */
typedef struct {
    char busIdLegacy[16];
    unsigned int domain, bus, device, pciDeviceId, pciSubSystemId;
    char busId[32];
} nvmlPciInfo_t;

_Static_assert(sizeof(nvmlFieldValue_t) == 40, "nvmlFieldValue_t must match NVML's layout");
_Static_assert(sizeof(void *) == sizeof(void (*)(void)), "dlsym needs data-sized functions");

enum {
    NVML_VALUE_TYPE_DOUBLE = 0,
    NVML_VALUE_TYPE_UNSIGNED_INT = 1,
    NVML_VALUE_TYPE_UNSIGNED_LONG = 2,
    NVML_VALUE_TYPE_UNSIGNED_LONG_LONG = 3,
    NVML_VALUE_TYPE_SIGNED_LONG_LONG = 4,
    NVML_VALUE_TYPE_SIGNED_INT = 5,
    NVML_VALUE_TYPE_UNSIGNED_SHORT = 6,
};

#define NVML_FI_DEV_POWER_AVERAGE 185 /* 1 s average, mW */
#define NVML_FI_DEV_POWER_INSTANT 186 /* mW */
#define NVML_POWER_SCOPE_GPU 0
#define NVML_POWER_SCOPE_MODULE 1 /* GPU + CPU module (Grace Hopper) */
#define NVML_POWER_SCOPE_MEMORY 2
#define NVML_TEMPERATURE_GPU 0
#define NVML_FEATURE_ENABLED 1
#define NVML_DEVICE_MIG_ENABLE 1
#define NVML_DEVICE_ARCH_VOLTA 5
#define NVML_DEVICE_ARCH_AMPERE 7
#define NVML_DEVICE_ARCH_UNKNOWN 0xffffffffu
#define NVML_BUFFER_SIZE 96 /* NVML_DEVICE_NAME_V2_BUFFER_SIZE, ..._UUID_V2_... */

#define DEFAULT_LIBRARY "libnvidia-ml.so.1"

/* ---- Loading the library ---------------------------------------------------------------- */

/* The loaded library: written once under pthread_once, read-only afterwards. */
static struct {
    void *handle;
    zeus_status status; /* ZEUS_OK when every required function resolved */
    char path[256];
    char detail[512];   /* why it did not load */

    nvmlReturn_t (*Init)(void);
    nvmlReturn_t (*Shutdown)(void);
    const char *(*ErrorString)(nvmlReturn_t);
    nvmlReturn_t (*SystemGetDriverVersion)(char *, unsigned);
    nvmlReturn_t (*DeviceGetCount)(unsigned *);
    nvmlReturn_t (*DeviceGetHandleByIndex)(unsigned, nvmlDevice_t *);
    nvmlReturn_t (*DeviceGetName)(nvmlDevice_t, char *, unsigned);
    nvmlReturn_t (*DeviceGetUUID)(nvmlDevice_t, char *, unsigned);
    nvmlReturn_t (*DeviceGetArchitecture)(nvmlDevice_t, unsigned *);
    nvmlReturn_t (*DeviceGetPciInfo)(nvmlDevice_t, nvmlPciInfo_t *);
    nvmlReturn_t (*DeviceGetTotalEnergyConsumption)(nvmlDevice_t, unsigned long long *);
    nvmlReturn_t (*DeviceGetPowerUsage)(nvmlDevice_t, unsigned *);
    nvmlReturn_t (*DeviceGetFieldValues)(nvmlDevice_t, int, nvmlFieldValue_t *);
    nvmlReturn_t (*DeviceGetTemperature)(nvmlDevice_t, int, unsigned *);
    nvmlReturn_t (*DeviceGetPowerManagementLimitConstraints)(nvmlDevice_t, unsigned *,
                                                             unsigned *);
    nvmlReturn_t (*DeviceGetPowerManagementLimit)(nvmlDevice_t, unsigned *);
    nvmlReturn_t (*DeviceGetPowerManagementDefaultLimit)(nvmlDevice_t, unsigned *);
    nvmlReturn_t (*DeviceSetPowerManagementLimit)(nvmlDevice_t, unsigned);
    nvmlReturn_t (*DeviceGetPersistenceMode)(nvmlDevice_t, int *);
    nvmlReturn_t (*DeviceSetPersistenceMode)(nvmlDevice_t, int);
    nvmlReturn_t (*DeviceGetSupportedMemoryClocks)(nvmlDevice_t, unsigned *, unsigned *);
    nvmlReturn_t (*DeviceGetSupportedGraphicsClocks)(nvmlDevice_t, unsigned, unsigned *,
                                                     unsigned *);
    nvmlReturn_t (*DeviceSetGpuLockedClocks)(nvmlDevice_t, unsigned, unsigned);
    nvmlReturn_t (*DeviceResetGpuLockedClocks)(nvmlDevice_t);
    nvmlReturn_t (*DeviceSetMemoryLockedClocks)(nvmlDevice_t, unsigned, unsigned);
    nvmlReturn_t (*DeviceResetMemoryLockedClocks)(nvmlDevice_t);
    nvmlReturn_t (*DeviceGetMigMode)(nvmlDevice_t, unsigned *, unsigned *);
    nvmlReturn_t (*DeviceGetHandleByUUID)(const char *, nvmlDevice_t *);
    nvmlReturn_t (*DeviceGetDeviceHandleFromMigDeviceHandle)(nvmlDevice_t, nvmlDevice_t *);
} lib;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;

struct nvml_symbol {
    const char *name;     /* newest version first */
    const char *fallback; /* older name with the same signature, or NULL */
    void *fn;             /* the function pointer in `lib` that receives the address */
    int required;
};

#define REQUIRED(field, name, fallback) {name, fallback, &lib.field, 1}
#define OPTIONAL(field) {"nvml" #field, NULL, &lib.field, 0}

static const struct nvml_symbol symbols[] = {
    REQUIRED(Init, "nvmlInit_v2", "nvmlInit"),
    REQUIRED(Shutdown, "nvmlShutdown", NULL),
    REQUIRED(ErrorString, "nvmlErrorString", NULL),
    REQUIRED(DeviceGetCount, "nvmlDeviceGetCount_v2", "nvmlDeviceGetCount"),
    REQUIRED(DeviceGetHandleByIndex, "nvmlDeviceGetHandleByIndex_v2",
             "nvmlDeviceGetHandleByIndex"),
    REQUIRED(DeviceGetName, "nvmlDeviceGetName", NULL),
    REQUIRED(DeviceGetUUID, "nvmlDeviceGetUUID", NULL),
    OPTIONAL(SystemGetDriverVersion),
    OPTIONAL(DeviceGetArchitecture),
    {"nvmlDeviceGetPciInfo_v3", "nvmlDeviceGetPciInfo_v2", &lib.DeviceGetPciInfo, 0},
    OPTIONAL(DeviceGetTotalEnergyConsumption),
    OPTIONAL(DeviceGetPowerUsage),
    OPTIONAL(DeviceGetFieldValues),
    OPTIONAL(DeviceGetTemperature),
    OPTIONAL(DeviceGetPowerManagementLimitConstraints),
    OPTIONAL(DeviceGetPowerManagementLimit),
    OPTIONAL(DeviceGetPowerManagementDefaultLimit),
    OPTIONAL(DeviceSetPowerManagementLimit),
    OPTIONAL(DeviceGetPersistenceMode),
    OPTIONAL(DeviceSetPersistenceMode),
    OPTIONAL(DeviceGetSupportedMemoryClocks),
    OPTIONAL(DeviceGetSupportedGraphicsClocks),
    OPTIONAL(DeviceSetGpuLockedClocks),
    OPTIONAL(DeviceResetGpuLockedClocks),
    OPTIONAL(DeviceSetMemoryLockedClocks),
    OPTIONAL(DeviceResetMemoryLockedClocks),
    OPTIONAL(DeviceGetMigMode),
    OPTIONAL(DeviceGetHandleByUUID),
    OPTIONAL(DeviceGetDeviceHandleFromMigDeviceHandle),
};

/* Look up s (or its fallback) and store the address, NULL when absent. 1 when found. */
static int resolve(const struct nvml_symbol *s)
{
    void *addr = dlsym(lib.handle, s->name);

    if (addr == NULL && s->fallback != NULL)
        addr = dlsym(lib.handle, s->fallback);
    memcpy(s->fn, &addr, sizeof addr); /* POSIX: function pointers are data-sized */
    return addr != NULL;
}

static void load_library(void)
{
    const char *env = getenv("ZEUS_NVML_LIBRARY");
    const char *err;

    /* Never the unversioned libnvidia-ml.so: a development link, or CUDA's stub. */
    snprintf(lib.path, sizeof lib.path, "%s", env != NULL && *env != '\0' ? env : DEFAULT_LIBRARY);
    lib.handle = dlopen(lib.path, RTLD_NOW | RTLD_LOCAL);
    if (lib.handle == NULL) {
        err = dlerror();
        lib.status = ZEUS_ERR_LIBRARY_NOT_FOUND;
        snprintf(lib.detail, sizeof lib.detail,
                 "cannot load NVML from %s: %s (install the NVIDIA driver, or point "
                 "ZEUS_NVML_LIBRARY at libnvidia-ml.so.1)",
                 lib.path, err != NULL ? err : "unknown reason");
        return;
    }
    for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
        if (resolve(&symbols[i]) || !symbols[i].required)
            continue;
        lib.status = ZEUS_ERR_FUNCTION_NOT_FOUND;
        snprintf(lib.detail, sizeof lib.detail,
                 "%s has no %s: not NVML, or an NVML too old for Zeus-C (update the NVIDIA "
                 "driver)",
                 lib.path, symbols[i].name);
        dlclose(lib.handle);
        lib.handle = NULL;
        return;
    }
    lib.status = ZEUS_OK;
}

/* ---- Backend state ---------------------------------------------------------------------- */

/* Where a power domain's reading comes from, decided at open. */
enum power_source { SOURCE_NONE, SOURCE_FIELD, SOURCE_POWER_USAGE };

struct nvml_power {
    enum power_source source;
    unsigned field; /* NVML_FI_DEV_POWER_* */
    unsigned scope; /* NVML_POWER_SCOPE_* */
};

struct nvml_gpu {
    nvmlDevice_t handle;
    struct nvml_power power[3]; /* by zeus_power_domain */
    zeus_gpu_info info;
};

struct nvml_backend {
    struct zeus_backend base; /* first, as backend.h requires */
    struct nvml_gpu gpus[ZEUS_MAX_GPUS];
};

static const struct nvml_gpu *gpu_at(const struct zeus_backend *b, unsigned dev)
{
    assert(dev < b->device_count); /* devices.c checks the index */
    return &((const struct nvml_backend *)b)->gpus[dev];
}

/* ---- NVML return codes ------------------------------------------------------------------ */

static zeus_status status_of(nvmlReturn_t r)
{
    switch (r) {
    case NVML_SUCCESS:
        return ZEUS_OK;
    case NVML_ERROR_UNINITIALIZED:
        return ZEUS_ERR_UNINITIALIZED;
    case NVML_ERROR_INVALID_ARGUMENT:
        return ZEUS_ERR_INVALID_ARGUMENT;
    case NVML_ERROR_NOT_SUPPORTED:
    case NVML_ERROR_VGPU_ECC_NOT_SUPPORTED:
    case NVML_ERROR_FREQ_NOT_SUPPORTED:
    case NVML_ERROR_ARGUMENT_VERSION_MISMATCH: /* driver older than the struct we pass */
    case NVML_ERROR_DEPRECATED:
        return ZEUS_ERR_NOT_SUPPORTED;
    case NVML_ERROR_NO_PERMISSION:
        return ZEUS_ERR_NO_PERMISSION;
    case NVML_ERROR_ALREADY_INITIALIZED:
        return ZEUS_ERR_ALREADY_EXISTS;
    case NVML_ERROR_NOT_FOUND:
    case NVML_ERROR_GPU_NOT_FOUND:
        return ZEUS_ERR_NOT_FOUND;
    case NVML_ERROR_INSUFFICIENT_SIZE:
        return ZEUS_ERR_INSUFFICIENT_SIZE;
    case NVML_ERROR_INSUFFICIENT_POWER:
        return ZEUS_ERR_INSUFFICIENT_POWER;
    case NVML_ERROR_DRIVER_NOT_LOADED:
        return ZEUS_ERR_DRIVER_NOT_LOADED;
    case NVML_ERROR_TIMEOUT:
        return ZEUS_ERR_TIMEOUT;
    case NVML_ERROR_IRQ_ISSUE:
        return ZEUS_ERR_IRQ_ISSUE;
    case NVML_ERROR_LIBRARY_NOT_FOUND:
        return ZEUS_ERR_LIBRARY_NOT_FOUND;
    case NVML_ERROR_FUNCTION_NOT_FOUND:
        return ZEUS_ERR_FUNCTION_NOT_FOUND;
    case NVML_ERROR_CORRUPTED_INFOROM:
        return ZEUS_ERR_CORRUPTED_INFOROM;
    case NVML_ERROR_GPU_IS_LOST:
        return ZEUS_ERR_GPU_LOST;
    case NVML_ERROR_RESET_REQUIRED:
        return ZEUS_ERR_RESET_REQUIRED;
    case NVML_ERROR_OPERATING_SYSTEM:
        return ZEUS_ERR_OPERATING_SYSTEM;
    case NVML_ERROR_LIB_RM_VERSION_MISMATCH:
        return ZEUS_ERR_LIB_RM_VERSION_MISMATCH;
    case NVML_ERROR_IN_USE:
        return ZEUS_ERR_IN_USE;
    case NVML_ERROR_MEMORY:
    case NVML_ERROR_INSUFFICIENT_RESOURCES:
        return ZEUS_ERR_NO_MEMORY;
    case NVML_ERROR_NO_DATA:
        return ZEUS_ERR_NO_DATA;
    }
    return ZEUS_ERR_UNKNOWN; /* NVML_ERROR_UNKNOWN, NOT_READY, INVALID_STATE, newer codes */
}

/* What a person can do about a status, for the few where there is something. */
static const char *fix_for(zeus_status s)
{
    switch (s) {
    case ZEUS_ERR_NO_PERMISSION:
        return " (run as root or with CAP_SYS_ADMIN, or go through zeusd)";
    case ZEUS_ERR_GPU_LOST:
        return " (the GPU fell off the bus: see dmesg; it needs a reset or a reboot)";
    case ZEUS_ERR_RESET_REQUIRED:
        return " (reset the GPU, nvidia-smi -r, or reboot)";
    case ZEUS_ERR_DRIVER_NOT_LOADED:
        return " (load the NVIDIA kernel driver)";
    case ZEUS_ERR_LIB_RM_VERSION_MISMATCH:
        return " (the driver was updated: reboot, or reload the nvidia kernel module)";
    default:
        return "";
    }
}

/*
 * Fail with the status for NVML's `r`, and a detail naming the NVML function, the GPU (when
 * g is not NULL) and NVML's own reason.
 */
static zeus_status nvml_fail(nvmlReturn_t r, const char *function, const struct nvml_gpu *g)
{
    zeus_status s = status_of(r);
    const char *why = lib.ErrorString(r);
    char where[64] = "";

    if (g != NULL && g->info.index == g->info.physical_index)
        snprintf(where, sizeof where, " on GPU %u", g->info.index);
    else if (g != NULL)
        snprintf(where, sizeof where, " on GPU %u (NVML index %u)", g->info.index,
                 g->info.physical_index);
    return zeus__fail(s, "%s failed%s: %s, NVML error %d%s", function, where,
                      why != NULL ? why : "no reason given", r, fix_for(s));
}

/* A method whose NVML function the loaded library lacks answers "not supported". */
#define REQUIRE_FUNCTION(field)                                                          \
    do {                                                                                 \
        if (lib.field == NULL)                                                           \
            return zeus__fail(ZEUS_ERR_NOT_SUPPORTED,                                    \
                              "nvml" #field " is not in %s (the driver is too old)",     \
                              lib.path);                                                 \
    } while (0)

/* ---- Power fields ----------------------------------------------------------------------- */

/* A field value in the unit NVML reports it in, whatever its declared type. */
static double field_number(const nvmlFieldValue_t *v)
{
    switch (v->valueType) {
    case NVML_VALUE_TYPE_DOUBLE:
        return v->value.dVal;
    case NVML_VALUE_TYPE_UNSIGNED_LONG:
        return (double)v->value.ulVal;
    case NVML_VALUE_TYPE_UNSIGNED_LONG_LONG:
        return (double)v->value.ullVal;
    case NVML_VALUE_TYPE_SIGNED_LONG_LONG:
        return (double)v->value.sllVal;
    case NVML_VALUE_TYPE_SIGNED_INT:
        return v->value.siVal;
    case NVML_VALUE_TYPE_UNSIGNED_SHORT:
        return v->value.usVal;
    default:
        return v->value.uiVal; /* the power fields are unsigned int */
    }
}

/* Read one power field at one scope, in mW. The field's own status counts as the call's. */
static nvmlReturn_t read_field(const struct nvml_gpu *g, unsigned field, unsigned scope,
                               double *mw)
{
    nvmlFieldValue_t v;
    nvmlReturn_t r;

    memset(&v, 0, sizeof v);
    v.fieldId = field;
    v.scopeId = scope;
    r = lib.DeviceGetFieldValues(g->handle, 1, &v);
    if (r == NVML_SUCCESS)
        r = v.nvmlReturn;
    if (r == NVML_SUCCESS)
        *mw = field_number(&v);
    return r;
}

/* ---- Opening: what each GPU can report -------------------------------------------------- */

/* Find the scope at which `field` answers: GPU first, then MODULE (see DESIGN NOTES 5). */
static int probe_field(struct nvml_gpu *g, unsigned field, struct nvml_power *p)
{
    static const unsigned scopes[] = {NVML_POWER_SCOPE_GPU, NVML_POWER_SCOPE_MODULE};
    double mw;

    for (size_t i = 0; lib.DeviceGetFieldValues != NULL && i < 2; i++) {
        if (read_field(g, field, scopes[i], &mw) != NVML_SUCCESS)
            continue;
        *p = (struct nvml_power){SOURCE_FIELD, field, scopes[i]};
        return 1;
    }
    return 0;
}

/* The memory scope answers 0 W on GPUs without a memory rail (A40, as Zeus found): absent. */
static void probe_memory(struct nvml_gpu *g)
{
    double mw;

    if (lib.DeviceGetFieldValues != NULL &&
        read_field(g, NVML_FI_DEV_POWER_AVERAGE, NVML_POWER_SCOPE_MEMORY, &mw) ==
            NVML_SUCCESS &&
        mw > 0)
        g->power[ZEUS_POWER_MEMORY_AVERAGE] = (struct nvml_power){
            SOURCE_FIELD, NVML_FI_DEV_POWER_AVERAGE, NVML_POWER_SCOPE_MEMORY};
}

/*
 * Where no power field answers, nvmlDeviceGetPowerUsage stands in for the domain it
 * measures on this architecture (DESIGN NOTES 5).
 */
static void probe_power_usage(struct nvml_gpu *g)
{
    zeus_power_domain domain = g->info.architecture >= NVML_DEVICE_ARCH_AMPERE
                                   ? ZEUS_POWER_DEVICE_AVERAGE
                                   : ZEUS_POWER_DEVICE_INSTANT;
    unsigned mw;

    if (g->power[domain].source == SOURCE_NONE && lib.DeviceGetPowerUsage != NULL &&
        lib.DeviceGetPowerUsage(g->handle, &mw) == NVML_SUCCESS)
        g->power[domain].source = SOURCE_POWER_USAGE;
}

static void probe_power(struct nvml_gpu *g)
{
    static const uint32_t bits[3] = {ZEUS_GPU_POWER_INSTANT, ZEUS_GPU_POWER_AVERAGE,
                                     ZEUS_GPU_POWER_MEMORY};

    probe_field(g, NVML_FI_DEV_POWER_INSTANT, &g->power[ZEUS_POWER_DEVICE_INSTANT]);
    probe_field(g, NVML_FI_DEV_POWER_AVERAGE, &g->power[ZEUS_POWER_DEVICE_AVERAGE]);
    probe_memory(g);
    probe_power_usage(g);
    for (int d = 0; d < 3; d++) {
        if (g->power[d].source != SOURCE_NONE)
            g->info.supports |= bits[d];
        if (g->power[d].source == SOURCE_FIELD && g->power[d].scope == NVML_POWER_SCOPE_MODULE)
            g->info.supports |= ZEUS_GPU_MODULE_SCOPE;
    }
}

/*
 * The architecture decides whether there is an energy counter (Volta and newer), as in Zeus.
 * Where NVML cannot tell the architecture, one read of the counter decides instead.
 */
static zeus_status probe_energy(struct nvml_gpu *g)
{
    unsigned arch = NVML_DEVICE_ARCH_UNKNOWN;
    unsigned long long mj;
    nvmlReturn_t r = NVML_ERROR_NOT_SUPPORTED;

    if (lib.DeviceGetArchitecture != NULL)
        r = lib.DeviceGetArchitecture(g->handle, &arch);
    if (r != NVML_SUCCESS && r != NVML_ERROR_NOT_SUPPORTED)
        return nvml_fail(r, "nvmlDeviceGetArchitecture", g);
    g->info.architecture = arch == NVML_DEVICE_ARCH_UNKNOWN ? 0 : arch;
    if (lib.DeviceGetTotalEnergyConsumption == NULL)
        return ZEUS_OK;
    if (g->info.architecture >= NVML_DEVICE_ARCH_VOLTA ||
        (g->info.architecture == 0 &&
         lib.DeviceGetTotalEnergyConsumption(g->handle, &mj) == NVML_SUCCESS))
        g->info.supports |= ZEUS_GPU_ENERGY_COUNTER;
    return ZEUS_OK;
}

static void probe_extras(struct nvml_gpu *g)
{
    unsigned a, b;

    if (lib.DeviceGetMigMode != NULL && lib.DeviceGetMigMode(g->handle, &a, &b) == NVML_SUCCESS &&
        a == NVML_DEVICE_MIG_ENABLE)
        g->info.supports |= ZEUS_GPU_MIG;

    if (lib.DeviceGetTemperature != NULL &&
        lib.DeviceGetTemperature(g->handle, NVML_TEMPERATURE_GPU, &a) == NVML_SUCCESS)
        g->info.supports |= ZEUS_GPU_TEMPERATURE;
    if (lib.DeviceGetPowerManagementLimitConstraints != NULL &&
        lib.DeviceGetPowerManagementLimitConstraints(g->handle, &a, &b) == NVML_SUCCESS)
        g->info.supports |= ZEUS_GPU_POWER_LIMIT;
}

/*
 * Fill GPU `index` (framework numbering) from physical GPU `physical`; `slice` when
 * CUDA_VISIBLE_DEVICES named one of its MIG slices.
 */
static zeus_status probe_gpu(struct nvml_gpu *g, unsigned index, unsigned physical, int slice)
{
    nvmlReturn_t r;
    zeus_status s;

    g->info.index = index;
    g->info.physical_index = physical;
    r = lib.DeviceGetHandleByIndex(physical, &g->handle);
    if (r != NVML_SUCCESS)
        return nvml_fail(r, "nvmlDeviceGetHandleByIndex_v2", g);
    r = lib.DeviceGetName(g->handle, g->info.name, sizeof g->info.name);
    if (r != NVML_SUCCESS)
        return nvml_fail(r, "nvmlDeviceGetName", g);
    r = lib.DeviceGetUUID(g->handle, g->info.uuid, sizeof g->info.uuid);
    if (r != NVML_SUCCESS)
        return nvml_fail(r, "nvmlDeviceGetUUID", g);
    s = probe_energy(g);
    if (s != ZEUS_OK)
        return s;
    probe_power(g);
    probe_extras(g);
    if (slice)
        g->info.supports |= ZEUS_GPU_MIG;
    return ZEUS_OK;
}

/*
 * UUIDs of every physical GPU, so CUDA_VISIBLE_DEVICES may name GPUs by UUID. A GPU whose
 * UUID cannot be read gets NULL: it can still be named by index, and if it is visible its
 * probe reports the error.
 */
static void read_uuids(unsigned count, char (*buf)[NVML_BUFFER_SIZE], const char **uuids)
{
    for (unsigned i = 0; i < count; i++) {
        nvmlDevice_t h;
        uuids[i] = NULL;
        if (lib.DeviceGetHandleByIndex(i, &h) == NVML_SUCCESS &&
            lib.DeviceGetUUID(h, buf[i], NVML_BUFFER_SIZE) == NVML_SUCCESS)
            uuids[i] = buf[i];
    }
}

/* The physical GPUs' UUIDs, for mig_parent to find a slice's GPU among them. */
struct uuid_list {
    const char *const *uuids;
    unsigned count;
};

/* visible.h's zeus__mig_parent_fn: MIG UUID -> MIG handle -> parent handle -> its UUID. */
static zeus_status mig_parent(const char *mig_uuid, void *user, unsigned *physical)
{
    const struct uuid_list *list = user;
    nvmlDevice_t mig, parent;
    char uuid[NVML_BUFFER_SIZE];
    nvmlReturn_t r;

    if (lib.DeviceGetHandleByUUID == NULL || lib.DeviceGetDeviceHandleFromMigDeviceHandle == NULL)
        return zeus__fail(ZEUS_ERR_NOT_SUPPORTED,
                          "CUDA_VISIBLE_DEVICES entry \"%s\" is a MIG device, but %s cannot "
                          "map MIG devices to GPUs (update the NVIDIA driver, or list GPU "
                          "indices or UUIDs)",
                          mig_uuid, lib.path);
    r = lib.DeviceGetHandleByUUID(mig_uuid, &mig);
    if (r == NVML_ERROR_NOT_FOUND || r == NVML_ERROR_INVALID_ARGUMENT) /* as on an H200 */
        return zeus__fail(ZEUS_ERR_NOT_FOUND,
                          "CUDA_VISIBLE_DEVICES entry \"%s\" matches no MIG device (nvidia-smi "
                          "-L lists them; give the whole UUID)",
                          mig_uuid);
    if (r != NVML_SUCCESS)
        return nvml_fail(r, "nvmlDeviceGetHandleByUUID", NULL);
    r = lib.DeviceGetDeviceHandleFromMigDeviceHandle(mig, &parent);
    if (r != NVML_SUCCESS)
        return nvml_fail(r, "nvmlDeviceGetDeviceHandleFromMigDeviceHandle", NULL);
    r = lib.DeviceGetUUID(parent, uuid, sizeof uuid);
    if (r != NVML_SUCCESS)
        return nvml_fail(r, "nvmlDeviceGetUUID", NULL);
    for (unsigned i = 0; i < list->count; i++)
        if (list->uuids[i] != NULL && strcmp(list->uuids[i], uuid) == 0) {
            *physical = i;
            return ZEUS_OK;
        }
    return zeus__fail(ZEUS_ERR_NOT_FOUND,
                      "CUDA_VISIBLE_DEVICES entry \"%s\" is on GPU %s, which NVML does not "
                      "list",
                      mig_uuid, uuid);
}

static zeus_status enumerate(struct nvml_backend *nb)
{
    char uuid_buf[ZEUS_MAX_GPUS][NVML_BUFFER_SIZE];
    const char *uuids[ZEUS_MAX_GPUS];
    unsigned physical[ZEUS_MAX_GPUS], count, visible = ZEUS_MAX_GPUS;
    nvmlReturn_t r = lib.DeviceGetCount(&count);
    struct uuid_list list = {uuids, 0};
    struct zeus__visible_mig mig = {mig_parent, &list, {0}};
    zeus_status s;

    if (r != NVML_SUCCESS)
        return nvml_fail(r, "nvmlDeviceGetCount_v2", NULL);
    if (count == 0)
        return zeus__fail(ZEUS_ERR_NOT_FOUND, "NVML found no GPUs");
    if (count > ZEUS_MAX_GPUS)
        count = ZEUS_MAX_GPUS;
    read_uuids(count, uuid_buf, uuids);
    list.count = count;
    s = zeus__visible_from_env_mig("CUDA_VISIBLE_DEVICES", uuids, count, &mig, physical,
                                   &visible);
    if (s != ZEUS_OK)
        return s;
    for (unsigned k = 0; k < visible; k++) {
        s = probe_gpu(&nb->gpus[k], k, physical[k], mig.from_mig[k]);
        if (s != ZEUS_OK)
            return s;
    }
    nb->base.device_count = visible;
    return ZEUS_OK;
}

/* "libnvidia-ml.so.1, driver 580.159.04", for show-env. */
static void describe(struct nvml_backend *nb)
{
    char version[80];

    if (lib.SystemGetDriverVersion != NULL &&
        lib.SystemGetDriverVersion(version, sizeof version) == NVML_SUCCESS)
        snprintf(nb->base.detail, sizeof nb->base.detail, "%.160s, driver %.80s", lib.path,
                 version);
    else
        snprintf(nb->base.detail, sizeof nb->base.detail, "%s", lib.path);
}

static zeus_status nvml_open(struct zeus_backend **out)
{
    struct nvml_backend *nb;
    nvmlReturn_t r;
    zeus_status s;

    pthread_once(&load_once, load_library);
    if (lib.status != ZEUS_OK)
        return zeus__fail(lib.status, "%s", lib.detail);
    r = lib.Init();
    if (r != NVML_SUCCESS)
        return nvml_fail(r, "nvmlInit_v2", NULL);
    nb = calloc(1, sizeof *nb);
    s = nb == NULL ? zeus__fail(ZEUS_ERR_NO_MEMORY, "NVML backend: out of memory")
                   : enumerate(nb);
    if (s != ZEUS_OK) {
        lib.Shutdown(); /* pairs with the nvmlInit_v2 above */
        free(nb);
        return s;
    }
    nb->base.ops = &zeus__nvml_backend;
    describe(nb);
    *out = &nb->base;
    return ZEUS_OK;
}

static void nvml_close(struct zeus_backend *b)
{
    lib.Shutdown(); /* errors ignored, as Zeus does: nothing is left to undo */
    free(b);
}

/* ---- Identity, energy, power, temperature ----------------------------------------------- */

static zeus_status nvml_gpu_info(struct zeus_backend *b, unsigned dev, zeus_gpu_info *out)
{
    *out = gpu_at(b, dev)->info;
    return ZEUS_OK;
}

/* The hot path (DESIGN NOTES 3). */
static zeus_status nvml_gpu_energy(struct zeus_backend *b, unsigned dev, double *energy_j)
{
    const struct nvml_gpu *g = gpu_at(b, dev);
    unsigned long long mj;
    nvmlReturn_t r;

    if (!(g->info.supports & ZEUS_GPU_ENERGY_COUNTER))
        return zeus__fail(ZEUS_ERR_NOT_SUPPORTED,
                          "GPU %u (%s) has no energy counter: NVML has one from Volta on", dev,
                          g->info.name);
    r = lib.DeviceGetTotalEnergyConsumption(g->handle, &mj);
    if (r != NVML_SUCCESS)
        return nvml_fail(r, "nvmlDeviceGetTotalEnergyConsumption", g);
    *energy_j = (double)mj / 1000.0;
    return ZEUS_OK;
}

static zeus_status nvml_gpu_power(struct zeus_backend *b, unsigned dev, zeus_power_domain domain,
                                  double *power_w)
{
    const struct nvml_gpu *g = gpu_at(b, dev);
    const struct nvml_power *p;
    unsigned usage_mw;
    double mw = 0;
    nvmlReturn_t r;

    if ((unsigned)domain >= 3)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "unknown power domain %d", (int)domain);
    if (g->power[domain].source == SOURCE_NONE)
        return zeus__fail(ZEUS_ERR_NOT_SUPPORTED, "GPU %u (%s) does not report %s power", dev,
                          g->info.name, zeus_power_domain_name(domain));
    p = &g->power[domain];
    if (p->source == SOURCE_FIELD) {
        r = read_field(g, p->field, p->scope, &mw);
        if (r != NVML_SUCCESS)
            return nvml_fail(r, "nvmlDeviceGetFieldValues", g);
    } else {
        r = lib.DeviceGetPowerUsage(g->handle, &usage_mw);
        if (r != NVML_SUCCESS)
            return nvml_fail(r, "nvmlDeviceGetPowerUsage", g);
        mw = usage_mw;
    }
    *power_w = mw / 1000.0;
    return ZEUS_OK;
}

/* As Zeus's daemon prints it: domain:bus:device.0 in lower-case hex, 4 digits of domain. */
static zeus_status nvml_gpu_pci_bus_id(struct zeus_backend *b, unsigned dev, char *buf,
                                       size_t len)
{
    const struct nvml_gpu *g = gpu_at(b, dev);
    nvmlPciInfo_t pci;
    nvmlReturn_t r;

    REQUIRE_FUNCTION(DeviceGetPciInfo);
    r = lib.DeviceGetPciInfo(g->handle, &pci);
    if (r != NVML_SUCCESS)
        return nvml_fail(r, "nvmlDeviceGetPciInfo", g);
    if ((size_t)snprintf(buf, len, "%04x:%02x:%02x.0", pci.domain, pci.bus, pci.device) >= len) {
        buf[0] = '\0';
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "a PCI bus id needs %d bytes, got %zu",
                          ZEUS_PCI_BUS_ID_LEN, len);
    }
    return ZEUS_OK;
}

static zeus_status nvml_gpu_temperature(struct zeus_backend *b, unsigned dev, double *temp_c)
{
    const struct nvml_gpu *g = gpu_at(b, dev);
    unsigned c;
    nvmlReturn_t r;

    REQUIRE_FUNCTION(DeviceGetTemperature);
    r = lib.DeviceGetTemperature(g->handle, NVML_TEMPERATURE_GPU, &c);
    if (r != NVML_SUCCESS)
        return nvml_fail(r, "nvmlDeviceGetTemperature", g);
    *temp_c = c;
    return ZEUS_OK;
}

/* ---- Power limit and persistence -------------------------------------------------------- */

static zeus_status nvml_gpu_power_limit_constraints(struct zeus_backend *b, unsigned dev,
                                                    double *min_w, double *max_w)
{
    const struct nvml_gpu *g = gpu_at(b, dev);
    unsigned min_mw, max_mw;
    nvmlReturn_t r;

    REQUIRE_FUNCTION(DeviceGetPowerManagementLimitConstraints);
    r = lib.DeviceGetPowerManagementLimitConstraints(g->handle, &min_mw, &max_mw);
    if (r != NVML_SUCCESS)
        return nvml_fail(r, "nvmlDeviceGetPowerManagementLimitConstraints", g);
    *min_w = min_mw / 1000.0;
    *max_w = max_mw / 1000.0;
    return ZEUS_OK;
}

static zeus_status nvml_gpu_power_limit(struct zeus_backend *b, unsigned dev, double *limit_w)
{
    const struct nvml_gpu *g = gpu_at(b, dev);
    unsigned mw;
    nvmlReturn_t r;

    REQUIRE_FUNCTION(DeviceGetPowerManagementLimit);
    r = lib.DeviceGetPowerManagementLimit(g->handle, &mw);
    if (r != NVML_SUCCESS)
        return nvml_fail(r, "nvmlDeviceGetPowerManagementLimit", g);
    *limit_w = mw / 1000.0;
    return ZEUS_OK;
}

static zeus_status nvml_gpu_default_power_limit(struct zeus_backend *b, unsigned dev,
                                                double *limit_w)
{
    const struct nvml_gpu *g = gpu_at(b, dev);
    unsigned mw;
    nvmlReturn_t r;

    REQUIRE_FUNCTION(DeviceGetPowerManagementDefaultLimit);
    r = lib.DeviceGetPowerManagementDefaultLimit(g->handle, &mw);
    if (r != NVML_SUCCESS)
        return nvml_fail(r, "nvmlDeviceGetPowerManagementDefaultLimit", g);
    *limit_w = mw / 1000.0;
    return ZEUS_OK;
}

static zeus_status nvml_gpu_set_power_limit(struct zeus_backend *b, unsigned dev, double limit_w)
{
    const struct nvml_gpu *g = gpu_at(b, dev);
    double mw = round(limit_w * 1000.0);
    nvmlReturn_t r;

    REQUIRE_FUNCTION(DeviceSetPowerManagementLimit);
    if (!(mw >= 1 && mw <= UINT_MAX))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "power limit %g W is out of range",
                          limit_w);
    r = lib.DeviceSetPowerManagementLimit(g->handle, (unsigned)mw);
    if (r != NVML_SUCCESS)
        return nvml_fail(r, "nvmlDeviceSetPowerManagementLimit", g);
    return ZEUS_OK;
}

static zeus_status nvml_gpu_persistence_mode(struct zeus_backend *b, unsigned dev, int *enabled)
{
    const struct nvml_gpu *g = gpu_at(b, dev);
    int mode;
    nvmlReturn_t r;

    REQUIRE_FUNCTION(DeviceGetPersistenceMode);
    r = lib.DeviceGetPersistenceMode(g->handle, &mode);
    if (r != NVML_SUCCESS)
        return nvml_fail(r, "nvmlDeviceGetPersistenceMode", g);
    *enabled = mode == NVML_FEATURE_ENABLED;
    return ZEUS_OK;
}

static zeus_status nvml_gpu_set_persistence_mode(struct zeus_backend *b, unsigned dev,
                                                 int enabled)
{
    const struct nvml_gpu *g = gpu_at(b, dev);
    nvmlReturn_t r;

    REQUIRE_FUNCTION(DeviceSetPersistenceMode);
    r = lib.DeviceSetPersistenceMode(g->handle, enabled ? NVML_FEATURE_ENABLED : 0);
    if (r != NVML_SUCCESS)
        return nvml_fail(r, "nvmlDeviceSetPersistenceMode", g);
    return ZEUS_OK;
}

/* ---- Clocks ----------------------------------------------------------------------------- */

/* NVML's count protocol in, ours out: too little room reports the count needed. */
static zeus_status clock_list_result(nvmlReturn_t r, unsigned n, size_t *count,
                                     const char *function, const struct nvml_gpu *g)
{
    size_t room = *count;

    if (r == NVML_ERROR_INSUFFICIENT_SIZE) {
        *count = n;
        return zeus__fail(ZEUS_ERR_INSUFFICIENT_SIZE,
                          "GPU %u lists %u clocks but there is room for %zu (%s)",
                          g->info.index, n, room, function);
    }
    if (r != NVML_SUCCESS)
        return nvml_fail(r, function, g);
    *count = n;
    return ZEUS_OK;
}

static unsigned room_of(const size_t *count)
{
    return *count > UINT_MAX ? UINT_MAX : (unsigned)*count;
}

static zeus_status nvml_gpu_supported_memory_clocks(struct zeus_backend *b, unsigned dev,
                                                    unsigned *clocks_mhz, size_t *count)
{
    const struct nvml_gpu *g = gpu_at(b, dev);
    unsigned n = room_of(count);
    nvmlReturn_t r;

    REQUIRE_FUNCTION(DeviceGetSupportedMemoryClocks);
    r = lib.DeviceGetSupportedMemoryClocks(g->handle, &n, clocks_mhz);
    return clock_list_result(r, n, count, "nvmlDeviceGetSupportedMemoryClocks", g);
}

static zeus_status nvml_gpu_supported_graphics_clocks(struct zeus_backend *b, unsigned dev,
                                                      unsigned memory_mhz, unsigned *clocks_mhz,
                                                      size_t *count)
{
    const struct nvml_gpu *g = gpu_at(b, dev);
    unsigned n = room_of(count);
    nvmlReturn_t r;

    REQUIRE_FUNCTION(DeviceGetSupportedGraphicsClocks);
    r = lib.DeviceGetSupportedGraphicsClocks(g->handle, memory_mhz, &n, clocks_mhz);
    if (r == NVML_ERROR_NOT_FOUND)
        return zeus__fail(ZEUS_ERR_NOT_FOUND,
                          "GPU %u has no memory clock of %u MHz (ask for its supported memory "
                          "clocks first)",
                          dev, memory_mhz);
    return clock_list_result(r, n, count, "nvmlDeviceGetSupportedGraphicsClocks", g);
}

static zeus_status nvml_gpu_set_locked_clocks(struct zeus_backend *b, unsigned dev,
                                              unsigned min_mhz, unsigned max_mhz)
{
    const struct nvml_gpu *g = gpu_at(b, dev);
    nvmlReturn_t r;

    REQUIRE_FUNCTION(DeviceSetGpuLockedClocks);
    r = lib.DeviceSetGpuLockedClocks(g->handle, min_mhz, max_mhz);
    return r == NVML_SUCCESS ? ZEUS_OK : nvml_fail(r, "nvmlDeviceSetGpuLockedClocks", g);
}

static zeus_status nvml_gpu_reset_locked_clocks(struct zeus_backend *b, unsigned dev)
{
    const struct nvml_gpu *g = gpu_at(b, dev);
    nvmlReturn_t r;

    REQUIRE_FUNCTION(DeviceResetGpuLockedClocks);
    r = lib.DeviceResetGpuLockedClocks(g->handle);
    return r == NVML_SUCCESS ? ZEUS_OK : nvml_fail(r, "nvmlDeviceResetGpuLockedClocks", g);
}

static zeus_status nvml_gpu_set_memory_locked_clocks(struct zeus_backend *b, unsigned dev,
                                                     unsigned min_mhz, unsigned max_mhz)
{
    const struct nvml_gpu *g = gpu_at(b, dev);
    nvmlReturn_t r;

    REQUIRE_FUNCTION(DeviceSetMemoryLockedClocks);
    r = lib.DeviceSetMemoryLockedClocks(g->handle, min_mhz, max_mhz);
    return r == NVML_SUCCESS ? ZEUS_OK : nvml_fail(r, "nvmlDeviceSetMemoryLockedClocks", g);
}

static zeus_status nvml_gpu_reset_memory_locked_clocks(struct zeus_backend *b, unsigned dev)
{
    const struct nvml_gpu *g = gpu_at(b, dev);
    nvmlReturn_t r;

    REQUIRE_FUNCTION(DeviceResetMemoryLockedClocks);
    r = lib.DeviceResetMemoryLockedClocks(g->handle);
    return r == NVML_SUCCESS ? ZEUS_OK : nvml_fail(r, "nvmlDeviceResetMemoryLockedClocks", g);
}

/* ---- The table -------------------------------------------------------------------------- */

const struct zeus_backend_ops zeus__nvml_backend = {
    .abi = ZEUS__BACKEND_ABI,
    .name = "nvml",
    .kind = ZEUS_DEVICE_GPU,
    .open = nvml_open,
    .close = nvml_close,
    .gpu_info = nvml_gpu_info,
    .gpu_energy = nvml_gpu_energy,
    .gpu_power = nvml_gpu_power,
    .gpu_temperature = nvml_gpu_temperature,
    .gpu_pci_bus_id = nvml_gpu_pci_bus_id,
    .gpu_power_limit_constraints = nvml_gpu_power_limit_constraints,
    .gpu_power_limit = nvml_gpu_power_limit,
    .gpu_default_power_limit = nvml_gpu_default_power_limit,
    .gpu_set_power_limit = nvml_gpu_set_power_limit,
    .gpu_persistence_mode = nvml_gpu_persistence_mode,
    .gpu_set_persistence_mode = nvml_gpu_set_persistence_mode,
    .gpu_supported_memory_clocks = nvml_gpu_supported_memory_clocks,
    .gpu_supported_graphics_clocks = nvml_gpu_supported_graphics_clocks,
    .gpu_set_locked_clocks = nvml_gpu_set_locked_clocks,
    .gpu_reset_locked_clocks = nvml_gpu_reset_locked_clocks,
    .gpu_set_memory_locked_clocks = nvml_gpu_set_memory_locked_clocks,
    .gpu_reset_memory_locked_clocks = nvml_gpu_reset_memory_locked_clocks,
};
