/*
 * gpus.c - Which GPUs zeusd serves (--gpu-backend) and what it knows of each: its zeusd id,
 * the libzeus index behind it, and the discovery metadata.
 *
 * libzeus opens every GPU backend it can, NVIDIA (nvml) first, then AMD (amdsmi), and
 * numbers their GPUs in that order. zeusd serves:
 *   - nvml / amdsmi: that backend's GPUs only, numbered from 0; the backend must have opened
 *     (Zeus fails fast on an explicit backend that is unavailable);
 *   - auto: every GPU libzeus found. Zeus refuses a node with both vendors ("pick one with
 *     --gpu-backend"); Zeus-C serves both, because its numbering keeps both kinds of client
 *     right: NVIDIA GPUs keep their NVML indices (Zeus's ZeusdNVIDIAGPU sends that index)
 *     and AMD GPUs come after them, which clients find by PCI address (ZeusdAMDGPU and
 *     libzeus both match the address, never the index).
 * AMD GPUs are numbered in HIP order (libzeus's), where Zeus's daemon uses AMD SMI's
 * enumeration order; clients never depend on it, as they match PCI addresses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zeusd.h"

void zd_gpus_library_env(void)
{
    static const char *const names[] = {"libamd_smi.so", "libamd_smi.so.25",
                                        "libamd_smi.so.24", "libamd_smi.so.26"};
    const char *dir = getenv("AMDSMI_LIB_DIR"), *own = getenv("ZEUS_AMDSMI_LIBRARY");
    char path[4096];

    if (dir == NULL || dir[0] == '\0' || (own != NULL && own[0] != '\0'))
        return;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (access(path, R_OK) == 0) {
            setenv("ZEUS_AMDSMI_LIBRARY", path, 1);
            zd_info("AMDSMI_LIB_DIR: using %s", path);
            return;
        }
    }
    zd_warn("AMDSMI_LIB_DIR=%s holds no libamd_smi.so; AMD SMI is searched as usual", dir);
}

static const char *wanted_backend(enum zd_gpu_backend b)
{
    return b == ZD_GPU_BACKEND_NVML ? "nvml" : b == ZD_GPU_BACKEND_AMDSMI ? "amdsmi" : NULL;
}

/* An explicitly named backend must have opened: 0, or -1 with its reason logged. */
static int check_named_backend(const zeus_devices *devs, const char *name)
{
    for (unsigned i = 0; i < zeus_devices_backend_count(devs); i++) {
        zeus_backend_info bi;
        if (zeus_devices_backend_info(devs, i, &bi) != ZEUS_OK || strcmp(bi.name, name) != 0)
            continue;
        if (bi.status == ZEUS_OK)
            return 0;
        zd_error("--gpu-backend %s: the %s backend is unavailable: %s", name, name, bi.detail);
        return -1;
    }
    zd_error("--gpu-backend %s: this libzeus has no %s backend", name, name);
    return -1;
}

/* Fill the metadata of zeusd GPU `id`, which is libzeus GPU `dev`. */
static void describe(struct zd_server *srv, unsigned id, unsigned dev, const char *backend)
{
    struct zd_gpu_meta *m = &srv->gpus[id];
    zeus_gpu_info info;
    double j;

    m->dev = dev;
    m->backend = backend;
    m->amd = strcmp(backend, "amdsmi") == 0;
    if (zeus_gpu_get_info(srv->devs, dev, &info) == ZEUS_OK) {
        snprintf(m->name, sizeof m->name, "%s", info.name);
        m->supports = info.supports;
    }
    /* Zeus's clients match daemon GPUs to local ones by it; "" where the driver lacks it */
    if (zeus_gpu_get_pci_bus_id(srv->devs, dev, m->pci_address, sizeof m->pci_address) !=
        ZEUS_OK)
        zd_warn("GPU %u: no PCI bus id: %s", id, zeus_last_error());
    /* AMD: libzeus checked the counter against power at open, as Zeus's daemon does at
     * startup, and refuses a counter that failed */
    m->energy_available = zeus_gpu_get_energy(srv->devs, dev, &j) == ZEUS_OK;
    zd_info("GPU %u: %s (%s, libzeus GPU %u, PCI %s)%s%s%s", id, m->name, backend, dev,
            m->pci_address[0] ? m->pci_address : "unknown",
            m->energy_available ? "" : ", no usable energy counter",
            (m->supports & ZEUS_GPU_MODULE_SCOPE) ? ", power is module scope" : "",
            (m->supports & ZEUS_GPU_MIG) ? ", MIG mode: whole-GPU values" : "");
}

int zd_gpus_select(struct zd_server *srv)
{
    const char *want = wanted_backend(srv->cfg->gpu_backend);
    unsigned n = zeus_devices_gpu_count(srv->devs);
    const char *first = NULL;
    int mixed = 0;

    if (want != NULL && check_named_backend(srv->devs, want) != 0)
        return -1;
    srv->gpu_count = 0;
    for (unsigned dev = 0; dev < n && srv->gpu_count < ZEUS_MAX_GPUS; dev++) {
        const char *backend = zeus_gpu_get_backend(srv->devs, dev);
        if (backend == NULL || (want != NULL && strcmp(backend, want) != 0))
            continue;
        if (first == NULL)
            first = backend;
        mixed |= strcmp(first, backend) != 0;
        describe(srv, srv->gpu_count++, dev, backend);
    }
    if (mixed)
        zd_info("serving NVIDIA and AMD GPUs together (NVIDIA first); Zeus's zeusd would "
                "refuse this node: pass --gpu-backend nvml or amdsmi to serve one vendor");
    return 0;
}

zeus_status zd_gpu_power_w(struct zd_server *srv, unsigned id, double *power_w)
{
    const struct zd_gpu_meta *m = &srv->gpus[id];
    zeus_status s = zeus_gpu_get_power(srv->devs, m->dev, ZEUS_POWER_DEVICE_INSTANT, power_w);

    if (s == ZEUS_ERR_NOT_SUPPORTED && m->amd)
        s = zeus_gpu_get_power(srv->devs, m->dev, ZEUS_POWER_DEVICE_AVERAGE, power_w);
    return s;
}
