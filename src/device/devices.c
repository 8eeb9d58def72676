/*
 * devices.c - The public device API: opens the backends in registry order and forwards each
 * call to the backend that owns the device, after checking the handle and the index.
 *
 * GPU numbering: every GPU backend that opens contributes its GPUs, in registry order (NVIDIA,
 * then AMD), each in its own visible-device order; a global GPU index is mapped here to the
 * owning backend and its local index, so backends only ever see their own numbering.
 *
 * Vendor-neutral rules live here rather than in each backend: an index outside the visible
 * devices is ZEUS_ERR_NOT_FOUND with the valid range in the message, a NULL method is
 * ZEUS_ERR_NOT_SUPPORTED, setting a power limit to its current value sends nothing, and a
 * limit outside the constraints is refused before the driver sees it.
 *
 * GPU setters and zeusd: with ZEUSD_SOCK_PATH or ZEUSD_HOST_PORT set, the setters (power
 * limit, persistence mode, locked clocks and their resets) go to the daemon, as Zeus's
 * ZeusdNVIDIAGPU does, while every read stays on the local backend. The checks above still
 * run locally first. If the daemon could not be reached at create time, the setters return
 * that failure rather than trying the driver (Zeus fails too). AMD GPUs go to the daemon GPU
 * with their PCI address (Zeus's ZeusdAMDGPU), NVIDIA ones by index (zeusd_client.c), and a
 * setter the local backend lacks (AMD: persistence mode, the memory clock reset) is not
 * supported through the daemon either, as Zeus's AMD GPU keeps them local.
 */
#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/backend.h"
#include "device/devices_internal.h"
#include "device/zeusd_client.h"
#include "util/error.h"
#include "zeus/device.h"

#define DEVICES_MAGIC 0x5a455553u /* "ZEUS" */
#define MAX_BACKENDS 8

struct backend_slot {
    const struct zeus_backend_ops *ops;
    struct zeus_backend *b; /* NULL when it did not open */
    zeus_status status;
    char detail[256];
};

struct zeus_devices {
    unsigned magic;
    unsigned backend_count;
    struct backend_slot slots[MAX_BACKENDS];
    struct zeus_backend *gpu; /* the first backend supplying GPUs, or NULL */
    struct zeus_backend *gpus[MAX_BACKENDS]; /* every backend supplying GPUs, in order */
    unsigned gpu_backends;
    struct zeus_backend *cpu;
    struct zeus_backend *soc; /* the backend supplying the SoC (Jetson), or NULL */
    int zeusd_setters;                    /* 1: GPU setters go to zeusd (env set) */
    struct zeus__zeusd_client *zeusd;     /* NULL when it could not be opened */
    zeus_status zeusd_status;             /* why, then */
    char zeusd_detail[256];
};

/* ---- Opening and closing ---------------------------------------------------------------- */

/* Where the backend supplying devices of `kind` is kept. */
static struct zeus_backend **owner_of(zeus_devices *devs, zeus_device_kind kind)
{
    if (kind == ZEUS_DEVICE_SOC)
        return &devs->soc;
    return kind == ZEUS_DEVICE_GPU ? &devs->gpu : &devs->cpu;
}

static const char *kind_plural(zeus_device_kind kind)
{
    if (kind == ZEUS_DEVICE_SOC)
        return "SoCs";
    return kind == ZEUS_DEVICE_GPU ? "GPUs" : "CPUs";
}

static void open_slot(struct backend_slot *slot)
{
    struct zeus_backend *b = NULL;

    slot->status = slot->ops->open(&b);
    if (slot->status != ZEUS_OK) {
        snprintf(slot->detail, sizeof slot->detail, "%s", zeus_last_error());
        return;
    }
    slot->b = b;
    snprintf(slot->detail, sizeof slot->detail, "%s", b->detail);
}

/* GPU setters through zeusd when the environment names one; say so in each GPU detail. */
static void open_zeusd_setters(zeus_devices *devs)
{
    if (!zeus__zeusd_configured())
        return;
    devs->zeusd_setters = 1;
    devs->zeusd_status = zeus__zeusd_client_open(&devs->zeusd);
    if (devs->zeusd_status != ZEUS_OK)
        snprintf(devs->zeusd_detail, sizeof devs->zeusd_detail, "%s", zeus_last_error());
    for (unsigned i = 0; i < devs->backend_count; i++) {
        struct backend_slot *gpu_slot = &devs->slots[i];
        size_t len = strlen(gpu_slot->detail);

        if (gpu_slot->b == NULL || gpu_slot->ops->kind != ZEUS_DEVICE_GPU)
            continue;
        if (devs->zeusd != NULL)
            snprintf(gpu_slot->detail + len, sizeof gpu_slot->detail - len,
                     "; setters through zeusd at %s", zeus__zeusd_client_where(devs->zeusd));
        else
            snprintf(gpu_slot->detail + len, sizeof gpu_slot->detail - len,
                     "; setters through zeusd, unavailable: %s", devs->zeusd_detail);
    }
}

zeus_status zeus_devices_create(zeus_devices **out)
{
    zeus_devices *devs;

    if (out == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "zeus_devices_create: out is NULL");
    devs = calloc(1, sizeof *devs);
    if (devs == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "zeus_devices_create: out of memory");
    devs->magic = DEVICES_MAGIC;

    for (unsigned i = 0; zeus__backends[i] != NULL && i < MAX_BACKENDS; i++) {
        struct backend_slot *slot = &devs->slots[devs->backend_count++];
        struct zeus_backend **owner;

        slot->ops = zeus__backends[i];
        owner = owner_of(devs, slot->ops->kind);
        if (*owner != NULL && slot->ops->kind != ZEUS_DEVICE_GPU) {
            slot->status = ZEUS_ERR_NOT_SUPPORTED;
            snprintf(slot->detail, sizeof slot->detail, "not used: %s supplies the %s",
                     (*owner)->ops->name, kind_plural(slot->ops->kind));
            continue;
        }
        open_slot(slot);
        if (slot->b == NULL)
            continue;
        if (*owner == NULL)
            *owner = slot->b;
        if (slot->ops->kind == ZEUS_DEVICE_GPU)
            devs->gpus[devs->gpu_backends++] = slot->b;
    }
    open_zeusd_setters(devs);
    *out = devs;
    return ZEUS_OK;
}

void zeus_devices_destroy(zeus_devices *devs)
{
    if (devs == NULL || devs->magic != DEVICES_MAGIC)
        return;
    for (unsigned i = 0; i < devs->backend_count; i++)
        if (devs->slots[i].b != NULL)
            devs->slots[i].ops->close(devs->slots[i].b);
    zeus__zeusd_client_close(devs->zeusd);
    devs->magic = 0;
    free(devs);
}

static int devices_ok(const zeus_devices *devs)
{
    return devs != NULL && devs->magic == DEVICES_MAGIC;
}

static unsigned gpu_total(const zeus_devices *devs)
{
    unsigned n = 0;

    for (unsigned i = 0; i < devs->gpu_backends; i++)
        n += devs->gpus[i]->device_count;
    return n;
}

unsigned zeus_devices_gpu_count(const zeus_devices *devs)
{
    return devices_ok(devs) ? gpu_total(devs) : 0;
}

unsigned zeus_devices_cpu_count(const zeus_devices *devs)
{
    return devices_ok(devs) && devs->cpu != NULL ? devs->cpu->device_count : 0;
}

unsigned zeus_devices_soc_count(const zeus_devices *devs)
{
    return devices_ok(devs) && devs->soc != NULL ? devs->soc->device_count : 0;
}

unsigned zeus_devices_backend_count(const zeus_devices *devs)
{
    return devices_ok(devs) ? devs->backend_count : 0;
}

zeus_status zeus_devices_backend_info(const zeus_devices *devs, unsigned i, zeus_backend_info *out)
{
    const struct backend_slot *slot;

    if (!devices_ok(devs) || out == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "zeus_devices_backend_info: bad argument");
    if (i >= devs->backend_count)
        return zeus__fail(ZEUS_ERR_NOT_FOUND, "backend %u not found: %u backends", i,
                          devs->backend_count);
    slot = &devs->slots[i];
    memset(out, 0, sizeof *out);
    out->name = slot->ops->name;
    out->kind = slot->ops->kind;
    out->status = slot->status;
    snprintf(out->detail, sizeof out->detail, "%s", slot->detail);
    out->device_count = slot->b != NULL ? slot->b->device_count : 0;
    return ZEUS_OK;
}

const char *zeus_power_domain_name(zeus_power_domain domain)
{
    switch (domain) {
    case ZEUS_POWER_DEVICE_INSTANT:
        return "device_instant";
    case ZEUS_POWER_DEVICE_AVERAGE:
        return "device_average";
    case ZEUS_POWER_MEMORY_AVERAGE:
        return "memory_average";
    }
    return NULL;
}

/* ---- Dispatch --------------------------------------------------------------------------- */

/*
 * Check the handle and the index; on success *b is the backend owning the device and *local
 * the device's number within it.
 */
static zeus_status lookup(const zeus_devices *devs, zeus_device_kind kind, unsigned dev,
                          struct zeus_backend **b, unsigned *local)
{
    const char *what = kind == ZEUS_DEVICE_SOC ? "SoC" : kind == ZEUS_DEVICE_GPU ? "GPU" : "CPU";
    struct zeus_backend *owner;
    unsigned n;

    if (!devices_ok(devs))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "invalid or destroyed zeus_devices handle");
    owner = *owner_of((zeus_devices *)devs, kind);
    n = kind == ZEUS_DEVICE_GPU ? gpu_total(devs) : owner != NULL ? owner->device_count : 0;
    if (dev >= n) {
        if (n == 0)
            return zeus__fail(ZEUS_ERR_NOT_FOUND, "%s %u not found: no %ss are available", what,
                              dev, what);
        return zeus__fail(ZEUS_ERR_NOT_FOUND, "%s %u not found: %u %s%s visible (0-%u)", what,
                          dev, n, what, n == 1 ? " is" : "s are", n - 1);
    }
    *b = owner;
    *local = dev;
    for (unsigned i = 0; kind == ZEUS_DEVICE_GPU && i < devs->gpu_backends; i++) {
        if (*local < devs->gpus[i]->device_count) {
            *b = devs->gpus[i];
            break;
        }
        *local -= devs->gpus[i]->device_count;
    }
    return ZEUS_OK;
}

#define NOT_SUPPORTED(b, method)                                                         \
    zeus__fail(ZEUS_ERR_NOT_SUPPORTED, "%s backend does not support %s", (b)->ops->name, \
               method)

/* Resolve the backend and method, or return the reason; `method` names an ops member. */
#define DISPATCH(kind, method, ...)                                          \
    do {                                                                     \
        struct zeus_backend *b_ = NULL;                                      \
        unsigned l_ = 0;                                                     \
        zeus_status s_ = lookup(devs, (kind), dev, &b_, &l_);                \
        if (s_ != ZEUS_OK)                                                   \
            return s_;                                                       \
        if (b_->ops->method == NULL)                                         \
            return NOT_SUPPORTED(b_, #method);                               \
        return b_->ops->method(b_, l_, ##__VA_ARGS__);                       \
    } while (0)

#define CHECK_OUT(p)                                                                        \
    do {                                                                                    \
        if ((p) == NULL)                                                                    \
            return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "%s: output pointer is NULL",      \
                              __func__);                                                    \
    } while (0)

/*
 * Send a setter to zeusd for GPU `dev` of backend `b` (its local number), to the daemon GPU
 * zeus__zeusd_gpu_id finds: by physical index for NVIDIA, by PCI address for AMD.
 */
static zeus_status zeusd_set(zeus_devices *devs, struct zeus_backend *b, unsigned dev,
                             const char *route, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static zeus_status zeusd_set(zeus_devices *devs, struct zeus_backend *b, unsigned dev,
                             const char *route, const char *fmt, ...)
{
    zeus_gpu_info info;
    char extra[128] = "", pci[64] = "";
    unsigned physical = dev, id = 0;
    int nvidia = strcmp(b->ops->name, "nvml") == 0;
    zeus_status s;

    if (devs->zeusd == NULL)
        return zeus__fail(devs->zeusd_status, "%s", devs->zeusd_detail);
    if (b->ops->gpu_info != NULL && b->ops->gpu_info(b, dev, &info) == ZEUS_OK)
        physical = info.physical_index;
    if (b->ops->gpu_pci_bus_id == NULL || b->ops->gpu_pci_bus_id(b, dev, pci, sizeof pci) !=
                                              ZEUS_OK)
        pci[0] = '\0';
    s = zeus__zeusd_gpu_id(devs->zeusd, nvidia, physical, pci, &id);
    if (s != ZEUS_OK)
        return s;
    /* zeusd's AMD GPUs have no per-domain reset: performance level AUTO resets both, which
     * is what the AMD backend's graphics reset does locally (Zeus's reset_locked_clocks) */
    if (!nvidia && strcmp(route, "/gpu/reset_gpu_locked_clocks") == 0)
        route = "/gpu/reset_locked_clocks";
    if (fmt != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(extra, sizeof extra, fmt, ap);
        va_end(ap);
    }
    return zeus__zeusd_gpu_control(devs->zeusd, route, id, fmt != NULL ? extra : NULL);
}

/* A setter: NULL method: not supported; else zeusd when configured, else the method. */
#define SETTER(method, route, ...)                                                  \
    do {                                                                            \
        struct zeus_backend *b_ = NULL;                                             \
        unsigned l_ = 0;                                                            \
        zeus_status s_ = lookup(devs, ZEUS_DEVICE_GPU, dev, &b_, &l_);              \
        if (s_ != ZEUS_OK)                                                          \
            return s_;                                                              \
        if (b_->ops->method == NULL)                                                \
            return NOT_SUPPORTED(b_, #method);                                      \
        if (devs->zeusd_setters)                                                    \
            return zeusd_set(devs, b_, l_, route, __VA_ARGS__);                     \
        return b_->ops->method(b_, l_ ZEUS__ARGS_##method);                         \
    } while (0)

#define ZEUS__ARGS_gpu_set_locked_clocks , min_mhz, max_mhz
#define ZEUS__ARGS_gpu_set_memory_locked_clocks , min_mhz, max_mhz
#define ZEUS__ARGS_gpu_reset_locked_clocks
#define ZEUS__ARGS_gpu_reset_memory_locked_clocks

/* The backend numbers its own GPUs; the caller sees the global index. */
static zeus_status gpu_info_global(zeus_devices *devs, unsigned dev, zeus_gpu_info *out)
{
    CHECK_OUT(out);
    DISPATCH(ZEUS_DEVICE_GPU, gpu_info, out);
}

zeus_status zeus_gpu_get_info(zeus_devices *devs, unsigned dev, zeus_gpu_info *out)
{
    zeus_status s = gpu_info_global(devs, dev, out);

    if (s == ZEUS_OK)
        out->index = dev;
    return s;
}

const char *zeus_gpu_get_backend(zeus_devices *devs, unsigned gpu)
{
    struct zeus_backend *b = NULL;
    unsigned local = 0;

    if (lookup(devs, ZEUS_DEVICE_GPU, gpu, &b, &local) != ZEUS_OK)
        return NULL;
    return b->ops->name;
}

zeus_status zeus_gpu_get_energy(zeus_devices *devs, unsigned dev, double *energy_j)
{
    CHECK_OUT(energy_j);
    DISPATCH(ZEUS_DEVICE_GPU, gpu_energy, energy_j);
}

zeus_status zeus_gpu_get_power(zeus_devices *devs, unsigned dev, zeus_power_domain domain,
                               double *power_w)
{
    CHECK_OUT(power_w);
    if (zeus_power_domain_name(domain) == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "unknown power domain %d", (int)domain);
    DISPATCH(ZEUS_DEVICE_GPU, gpu_power, domain, power_w);
}

zeus_status zeus_gpu_get_temperature(zeus_devices *devs, unsigned dev, double *temp_c)
{
    CHECK_OUT(temp_c);
    DISPATCH(ZEUS_DEVICE_GPU, gpu_temperature, temp_c);
}

zeus_status zeus_gpu_get_pci_bus_id(zeus_devices *devs, unsigned dev, char *buf, size_t len)
{
    CHECK_OUT(buf);
    if (len == 0)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "zeus_gpu_get_pci_bus_id: len is 0");
    buf[0] = '\0';
    DISPATCH(ZEUS_DEVICE_GPU, gpu_pci_bus_id, buf, len);
}

zeus_status zeus_gpu_get_power_limit_constraints(zeus_devices *devs, unsigned dev, double *min_w,
                                                 double *max_w)
{
    CHECK_OUT(min_w);
    CHECK_OUT(max_w);
    DISPATCH(ZEUS_DEVICE_GPU, gpu_power_limit_constraints, min_w, max_w);
}

zeus_status zeus_gpu_get_power_limit(zeus_devices *devs, unsigned dev, double *limit_w)
{
    CHECK_OUT(limit_w);
    DISPATCH(ZEUS_DEVICE_GPU, gpu_power_limit, limit_w);
}

zeus_status zeus_gpu_get_default_power_limit(zeus_devices *devs, unsigned dev, double *limit_w)
{
    CHECK_OUT(limit_w);
    DISPATCH(ZEUS_DEVICE_GPU, gpu_default_power_limit, limit_w);
}

/* Limits are compared in whole milliwatts, the unit drivers take. */
static long long to_mw(double w)
{
    return llround(w * 1000.0);
}

zeus_status zeus_gpu_set_power_limit(zeus_devices *devs, unsigned gpu, double limit_w)
{
    struct zeus_backend *b = NULL;
    double min_w, max_w, now_w;
    unsigned dev = 0;
    zeus_status s = lookup(devs, ZEUS_DEVICE_GPU, gpu, &b, &dev);

    if (s != ZEUS_OK)
        return s;
    if (!isfinite(limit_w) || limit_w <= 0)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "power limit %g W is not a positive number",
                          limit_w);
    if (b->ops->gpu_set_power_limit == NULL)
        return NOT_SUPPORTED(b, "gpu_set_power_limit");
    if (b->ops->gpu_power_limit_constraints != NULL &&
        b->ops->gpu_power_limit_constraints(b, dev, &min_w, &max_w) == ZEUS_OK &&
        (to_mw(limit_w) < to_mw(min_w) || to_mw(limit_w) > to_mw(max_w)))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                          "power limit %.3f W for GPU %u is outside its range %.3f-%.3f W",
                          limit_w, gpu, min_w, max_w);
    /* Zeus sends nothing when the limit is already set: setting needs privileges. */
    if (b->ops->gpu_power_limit != NULL && b->ops->gpu_power_limit(b, dev, &now_w) == ZEUS_OK &&
        to_mw(now_w) == to_mw(limit_w))
        return ZEUS_OK;
    if (devs->zeusd_setters)
        return zeusd_set(devs, b, dev, "/gpu/set_power_limit", "power_limit_mw=%lld",
                         to_mw(limit_w));
    return b->ops->gpu_set_power_limit(b, dev, limit_w);
}

zeus_status zeus_gpu_reset_power_limit(zeus_devices *devs, unsigned dev)
{
    double def_w;
    zeus_status s = zeus_gpu_get_default_power_limit(devs, dev, &def_w);

    if (s != ZEUS_OK)
        return s;
    return zeus_gpu_set_power_limit(devs, dev, def_w);
}

zeus_status zeus_gpu_get_persistence_mode(zeus_devices *devs, unsigned dev, int *enabled)
{
    CHECK_OUT(enabled);
    DISPATCH(ZEUS_DEVICE_GPU, gpu_persistence_mode, enabled);
}

zeus_status zeus_gpu_set_persistence_mode(zeus_devices *devs, unsigned gpu, int enabled)
{
    struct zeus_backend *b = NULL;
    int now;
    unsigned dev = 0;
    zeus_status s = lookup(devs, ZEUS_DEVICE_GPU, gpu, &b, &dev);

    if (s != ZEUS_OK)
        return s;
    if (b->ops->gpu_set_persistence_mode == NULL)
        return NOT_SUPPORTED(b, "gpu_set_persistence_mode");
    if (b->ops->gpu_persistence_mode != NULL && b->ops->gpu_persistence_mode(b, dev, &now) ==
                                                    ZEUS_OK && (now != 0) == (enabled != 0))
        return ZEUS_OK;
    if (devs->zeusd_setters)
        return zeusd_set(devs, b, dev, "/gpu/set_persistence_mode", "enabled=%s",
                         enabled ? "true" : "false");
    return b->ops->gpu_set_persistence_mode(b, dev, enabled != 0);
}

zeus_status zeus_gpu_get_supported_memory_clocks(zeus_devices *devs, unsigned dev,
                                                 unsigned *clocks_mhz, size_t *count)
{
    CHECK_OUT(count);
    if (clocks_mhz == NULL && *count > 0)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "clocks_mhz is NULL but *count is %zu",
                          *count);
    DISPATCH(ZEUS_DEVICE_GPU, gpu_supported_memory_clocks, clocks_mhz, count);
}

zeus_status zeus_gpu_get_supported_graphics_clocks(zeus_devices *devs, unsigned dev,
                                                   unsigned memory_mhz, unsigned *clocks_mhz,
                                                   size_t *count)
{
    CHECK_OUT(count);
    if (clocks_mhz == NULL && *count > 0)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "clocks_mhz is NULL but *count is %zu",
                          *count);
    DISPATCH(ZEUS_DEVICE_GPU, gpu_supported_graphics_clocks, memory_mhz, clocks_mhz, count);
}

static zeus_status check_clock_range(unsigned min_mhz, unsigned max_mhz)
{
    if (min_mhz == 0 || min_mhz > max_mhz)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                          "clock range %u-%u MHz is empty or starts at 0", min_mhz, max_mhz);
    return ZEUS_OK;
}

zeus_status zeus_gpu_set_gpu_locked_clocks(zeus_devices *devs, unsigned dev, unsigned min_mhz,
                                           unsigned max_mhz)
{
    zeus_status s = check_clock_range(min_mhz, max_mhz);
    if (s != ZEUS_OK)
        return s;
    SETTER(gpu_set_locked_clocks, "/gpu/set_gpu_locked_clocks",
           "min_clock_mhz=%u&max_clock_mhz=%u", min_mhz, max_mhz);
}

zeus_status zeus_gpu_reset_gpu_locked_clocks(zeus_devices *devs, unsigned dev)
{
    SETTER(gpu_reset_locked_clocks, "/gpu/reset_gpu_locked_clocks", NULL);
}

zeus_status zeus_gpu_set_memory_locked_clocks(zeus_devices *devs, unsigned dev, unsigned min_mhz,
                                              unsigned max_mhz)
{
    zeus_status s = check_clock_range(min_mhz, max_mhz);
    if (s != ZEUS_OK)
        return s;
    SETTER(gpu_set_memory_locked_clocks, "/gpu/set_mem_locked_clocks",
           "min_clock_mhz=%u&max_clock_mhz=%u", min_mhz, max_mhz);
}

zeus_status zeus_gpu_reset_memory_locked_clocks(zeus_devices *devs, unsigned dev)
{
    SETTER(gpu_reset_memory_locked_clocks, "/gpu/reset_mem_locked_clocks", NULL);
}

zeus_status zeus_cpu_get_info(zeus_devices *devs, unsigned dev, zeus_cpu_info *out)
{
    CHECK_OUT(out);
    DISPATCH(ZEUS_DEVICE_CPU, cpu_info, out);
}

zeus_status zeus_cpu_get_energy(zeus_devices *devs, unsigned dev, zeus_cpu_energy *out)
{
    CHECK_OUT(out);
    DISPATCH(ZEUS_DEVICE_CPU, cpu_energy, out);
}

static zeus_status soc_energy_dispatch(zeus_devices *devs, unsigned dev, zeus_soc_energy *out)
{
    DISPATCH(ZEUS_DEVICE_SOC, soc_energy, out);
}

const char *zeus_soc_rail_name(zeus_soc_rail rail)
{
    switch (rail) {
    case ZEUS_SOC_RAIL_CPU:
        return "cpu";
    case ZEUS_SOC_RAIL_GPU:
        return "gpu";
    case ZEUS_SOC_RAIL_TOTAL:
        return "total";
    }
    return NULL;
}

zeus_status zeus_soc_get_info(zeus_devices *devs, unsigned dev, zeus_soc_info *out)
{
    CHECK_OUT(out);
    DISPATCH(ZEUS_DEVICE_SOC, soc_info, out);
}

/* The first release's zeus_soc_energy ends after read_mono_s; callers may know no less. */
#define SOC_ENERGY_MIN_SIZE (offsetof(zeus_soc_energy, read_mono_s) + sizeof(double))

zeus_status zeus_soc_get_energy(zeus_devices *devs, unsigned dev, zeus_soc_energy *out)
{
    zeus_soc_energy full;
    uint32_t size;
    zeus_status s;

    CHECK_OUT(out);
    size = out->size;
    if (size < SOC_ENERGY_MIN_SIZE)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                          "zeus_soc_get_energy: out->size is %u, at least %zu (set it to "
                          "sizeof(zeus_soc_energy))", (unsigned)size, SOC_ENERGY_MIN_SIZE);
    memset(&full, 0, sizeof full);
    full.size = sizeof full;
    s = soc_energy_dispatch(devs, dev, &full);
    if (s != ZEUS_OK)
        return s;
    full.size = size < sizeof full ? size : (uint32_t)sizeof full;
    memcpy(out, &full, full.size);
    return ZEUS_OK;
}

/* ---- Internal access for the monitor ------------------------------------------------------ */

zeus_status zeus__devices_cpu_open_status(const zeus_devices *devs, char *detail, size_t len)
{
    for (unsigned i = 0; i < devs->backend_count; i++) {
        const struct backend_slot *slot = &devs->slots[i];
        if (slot->ops->kind == ZEUS_DEVICE_CPU && slot->b == NULL &&
            slot->status != ZEUS_ERR_NOT_SUPPORTED) {
            snprintf(detail, len, "%s", slot->detail);
            return slot->status;
        }
    }
    return ZEUS_OK;
}
