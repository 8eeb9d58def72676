/*
 * backend.h - The table of operations every device backend fills, and the state it embeds.
 *
 * A backend (nvml.c, rapl.c, ...) is one file that defines one `const struct
 * zeus_backend_ops` with designated initializers pointing at its static functions. A NULL
 * method means "not supported": devices.c answers ZEUS_ERR_NOT_SUPPORTED without calling
 * the backend. Device numbers passed to the methods are already the framework's numbering
 * (0 .. device_count-1 after CUDA_VISIBLE_DEVICES); each backend maps them to its vendor's
 * handles itself. Values cross this table in the public units (J, W, degrees C, MHz).
 *
 * Methods may be called from several threads at once for the same backend instance; a
 * backend that needs serialization (RAPL's accumulators) locks inside.
 */
#ifndef ZEUS_DEVICE_BACKEND_H
#define ZEUS_DEVICE_BACKEND_H

#include <stddef.h>

#include "zeus/device.h"
#include "zeus/status.h"

#define ZEUS__BACKEND_ABI 1

struct zeus_backend_ops;

/* Embedded as the first member of every backend's own state struct. */
struct zeus_backend {
    const struct zeus_backend_ops *ops;
    unsigned device_count;
    char detail[256]; /* where it reads from, for show-env ("libnvidia-ml.so.1, driver 580") */
};

struct zeus_backend_ops {
    int abi; /* ZEUS__BACKEND_ABI */
    const char *name;
    zeus_device_kind kind;

    /*
     * Load the vendor library or find the sysfs tree, and enumerate devices. On failure,
     * return the status and leave the reason in zeus_last_error() (shown by show-env).
     */
    zeus_status (*open)(struct zeus_backend **out);
    void (*close)(struct zeus_backend *b);

    /* ---- GPU methods ---- */
    zeus_status (*gpu_info)(struct zeus_backend *b, unsigned dev, zeus_gpu_info *out);
    zeus_status (*gpu_energy)(struct zeus_backend *b, unsigned dev, double *energy_j);
    zeus_status (*gpu_power)(struct zeus_backend *b, unsigned dev, zeus_power_domain domain,
                             double *power_w);
    zeus_status (*gpu_temperature)(struct zeus_backend *b, unsigned dev, double *temp_c);
    zeus_status (*gpu_pci_bus_id)(struct zeus_backend *b, unsigned dev, char *buf, size_t len);
    zeus_status (*gpu_power_limit_constraints)(struct zeus_backend *b, unsigned dev,
                                               double *min_w, double *max_w);
    zeus_status (*gpu_power_limit)(struct zeus_backend *b, unsigned dev, double *limit_w);
    zeus_status (*gpu_default_power_limit)(struct zeus_backend *b, unsigned dev,
                                           double *limit_w);
    zeus_status (*gpu_set_power_limit)(struct zeus_backend *b, unsigned dev, double limit_w);
    zeus_status (*gpu_persistence_mode)(struct zeus_backend *b, unsigned dev, int *enabled);
    zeus_status (*gpu_set_persistence_mode)(struct zeus_backend *b, unsigned dev, int enabled);
    /* clocks_mhz has room for *count; on return *count is the number available. */
    zeus_status (*gpu_supported_memory_clocks)(struct zeus_backend *b, unsigned dev,
                                               unsigned *clocks_mhz, size_t *count);
    zeus_status (*gpu_supported_graphics_clocks)(struct zeus_backend *b, unsigned dev,
                                                 unsigned memory_mhz, unsigned *clocks_mhz,
                                                 size_t *count);
    zeus_status (*gpu_set_locked_clocks)(struct zeus_backend *b, unsigned dev, unsigned min_mhz,
                                         unsigned max_mhz);
    zeus_status (*gpu_reset_locked_clocks)(struct zeus_backend *b, unsigned dev);
    zeus_status (*gpu_set_memory_locked_clocks)(struct zeus_backend *b, unsigned dev,
                                                unsigned min_mhz, unsigned max_mhz);
    zeus_status (*gpu_reset_memory_locked_clocks)(struct zeus_backend *b, unsigned dev);

    /* ---- CPU methods ---- */
    zeus_status (*cpu_info)(struct zeus_backend *b, unsigned dev, zeus_cpu_info *out);
    zeus_status (*cpu_energy)(struct zeus_backend *b, unsigned dev, zeus_cpu_energy *out);

    /* ---- SoC methods (kind ZEUS_DEVICE_SOC) ---- */
    zeus_status (*soc_info)(struct zeus_backend *b, unsigned dev, zeus_soc_info *out);
    /* out is a full zeus_soc_energy; devices.c copies what the caller's size covers. */
    zeus_status (*soc_energy)(struct zeus_backend *b, unsigned dev, zeus_soc_energy *out);
};

/* registry.c: the one explicit list of backends, NULL-terminated, GPU backends first. */
extern const struct zeus_backend_ops *const zeus__backends[];

extern const struct zeus_backend_ops zeus__nvml_backend;
extern const struct zeus_backend_ops zeus__rapl_backend;
extern const struct zeus_backend_ops zeus__zeusd_backend; /* zeusd_client.c */
extern const struct zeus_backend_ops zeus__jetson_backend; /* jetson.c */
extern const struct zeus_backend_ops zeus__amdsmi_backend; /* amdsmi.c */

#endif /* ZEUS_DEVICE_BACKEND_H */
