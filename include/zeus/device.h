/*
 * zeus/device.h - The devices Zeus-C found, and what each can report and set.
 *
 * A zeus_devices handle opens every backend (NVML for NVIDIA GPUs, RAPL for CPU packages)
 * and numbers the devices as the frameworks do: GPU i is the i-th entry of
 * CUDA_VISIBLE_DEVICES when it is set, CPU i is the i-th RAPL package zone. A backend that
 * cannot open leaves its devices out and says why in zeus_devices_backend_info().
 *
 * Units: joules, watts, degrees Celsius, MHz. Vendor units never cross this header.
 *
 * Thread safety: a handle may be used from several threads at once; calls on one device are
 * serialized by the backend where the vendor library requires it.
 */
#ifndef ZEUS_DEVICE_H
#define ZEUS_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "zeus/export.h"
#include "zeus/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Most GPUs and most CPU packages one handle or one measurement holds. */
#define ZEUS_MAX_GPUS 64
#define ZEUS_MAX_CPUS 64

typedef struct zeus_devices zeus_devices;

/* ---- Opening and closing -------------------------------------------------------------- */

/*
 * Open every backend and enumerate its devices.
 *
 * out: the new handle on ZEUS_OK; destroy it with zeus_devices_destroy().
 * A backend that is absent (no NVML library, no RAPL tree) or refuses (no permission) is not
 * an error here: its device count is 0 and zeus_devices_backend_info() says why.
 * Returns ZEUS_ERR_INVALID_ARGUMENT for a NULL out, ZEUS_ERR_NO_MEMORY.
 * Environment: ZEUS_NVML_LIBRARY, ZEUS_SYSFS_ROOT, CUDA_VISIBLE_DEVICES (see README).
 * Safe from any thread. Since: 0.1.
 */
ZEUS_API zeus_status zeus_devices_create(zeus_devices **out);

/* Close every backend and free the handle. NULL is a no-op. Since: 0.1. */
ZEUS_API void zeus_devices_destroy(zeus_devices *devs);

/* Number of visible GPUs and CPU packages; 0 for a NULL or bad handle. Since: 0.1. */
ZEUS_API unsigned zeus_devices_gpu_count(const zeus_devices *devs);
ZEUS_API unsigned zeus_devices_cpu_count(const zeus_devices *devs);

/* ---- Backends ------------------------------------------------------------------------- */

typedef enum zeus_device_kind {
    ZEUS_DEVICE_GPU = 1,
    ZEUS_DEVICE_CPU = 2,
    ZEUS_DEVICE_SOC = 3, /* Since: 0.1: a system on a chip (NVIDIA Jetson) */
} zeus_device_kind;

typedef struct zeus_backend_info {
    const char *name;        /* "nvml", "rapl"; static */
    zeus_device_kind kind;
    zeus_status status;      /* ZEUS_OK when it opened, else why not */
    char detail[256];        /* why it did not open, or where it reads from */
    unsigned device_count;   /* devices it contributes (0 when it did not open) */
} zeus_backend_info;

/* Number of backends the library knows (opened or not). Since: 0.1. */
ZEUS_API unsigned zeus_devices_backend_count(const zeus_devices *devs);

/*
 * Describe backend `i` (0 <= i < zeus_devices_backend_count()).
 * out: filled on ZEUS_OK. Returns ZEUS_ERR_NOT_FOUND for a bad index,
 * ZEUS_ERR_INVALID_ARGUMENT for NULL arguments. Since: 0.1.
 */
ZEUS_API zeus_status zeus_devices_backend_info(const zeus_devices *devs, unsigned i,
                                               zeus_backend_info *out);

/* ---- GPUs ----------------------------------------------------------------------------- */

/* Power domains, as Zeus names them. */
typedef enum zeus_power_domain {
    ZEUS_POWER_DEVICE_INSTANT = 0, /* whole board, instantaneous (NVML field 186) */
    ZEUS_POWER_DEVICE_AVERAGE = 1, /* whole board, 1 s average (NVML field 185) */
    ZEUS_POWER_MEMORY_AVERAGE = 2, /* memory, 1 s average (field 185, memory scope; Hopper+) */
} zeus_power_domain;

/* Static name of a domain ("device_instant", ...), or NULL for an unknown one. Since: 0.1. */
ZEUS_API const char *zeus_power_domain_name(zeus_power_domain domain);

/* Bits of zeus_gpu_info.supports. */
#define ZEUS_GPU_ENERGY_COUNTER (1u << 0) /* cumulative energy counter (Volta and newer) */
#define ZEUS_GPU_POWER_INSTANT (1u << 1)
#define ZEUS_GPU_POWER_AVERAGE (1u << 2)
#define ZEUS_GPU_POWER_MEMORY (1u << 3)
#define ZEUS_GPU_TEMPERATURE (1u << 4)
#define ZEUS_GPU_POWER_LIMIT (1u << 5)
#define ZEUS_GPU_MODULE_SCOPE (1u << 6)   /* power is for the whole module (Grace Hopper) */
/* MIG mode on (or the GPU was named by a MIG slice): energy and power are for the whole
 * physical GPU, every slice on it included. Since: 0.1. */
#define ZEUS_GPU_MIG (1u << 7)
/* The GPU has a counter, but it failed the check at open (AMD: it disagreed with power by
 * 10x or more, or power read ~0); its energy comes from integrated power. Since: 0.1. */
#define ZEUS_GPU_COUNTER_REJECTED (1u << 8)

typedef struct zeus_gpu_info {
    unsigned index;          /* framework index (position in CUDA_VISIBLE_DEVICES) */
    unsigned physical_index; /* the vendor library's index */
    char name[96];           /* "NVIDIA H100 80GB HBM3" */
    char uuid[96];           /* "GPU-5d1c..." */
    unsigned architecture;   /* NVML architecture number (5 = Volta, 9 = Hopper), 0 unknown */
    uint32_t supports;       /* ZEUS_GPU_* bits */
} zeus_gpu_info;

/*
 * Identity and capabilities of GPU `gpu`.
 * Returns ZEUS_ERR_NOT_FOUND for an index outside the visible GPUs. Since: 0.1.
 */
ZEUS_API zeus_status zeus_gpu_get_info(zeus_devices *devs, unsigned gpu, zeus_gpu_info *out);

/*
 * Energy the GPU used since the driver loaded, in joules (NVML's counter, mJ resolution).
 * Costs milliseconds on real hardware (2.7 ms p50 on an H100).
 * Returns ZEUS_ERR_NOT_SUPPORTED before Volta. Since: 0.1.
 */
ZEUS_API zeus_status zeus_gpu_get_energy(zeus_devices *devs, unsigned gpu, double *energy_j);

/* Room for a PCI bus id and its NUL: "0000:1b:00.0" needs 13. */
#define ZEUS_PCI_BUS_ID_LEN 32

/*
 * Where GPU `gpu` sits on the PCI bus, as "domain:bus:device.0" in lower-case hex with four
 * digits of domain ("0000:1b:00.0"), the form Zeus's daemon serves and its clients match
 * GPUs by.
 * out: `buf` (`len` bytes, ZEUS_PCI_BUS_ID_LEN is enough) holds the id on ZEUS_OK and "" on
 * error. Returns ZEUS_ERR_NOT_FOUND for an index outside the visible GPUs,
 * ZEUS_ERR_NOT_SUPPORTED where the driver cannot tell, ZEUS_ERR_INVALID_ARGUMENT for a NULL
 * or too short buffer. Safe from any thread. Since: 0.1 (second pass).
 */
ZEUS_API zeus_status zeus_gpu_get_pci_bus_id(zeus_devices *devs, unsigned gpu, char *buf,
                                             size_t len);

/* Power draw in watts in `domain`. Returns ZEUS_ERR_NOT_SUPPORTED where the GPU lacks it. */
ZEUS_API zeus_status zeus_gpu_get_power(zeus_devices *devs, unsigned gpu, zeus_power_domain domain,
                                        double *power_w);

/* GPU core temperature in degrees Celsius. Since: 0.1. */
ZEUS_API zeus_status zeus_gpu_get_temperature(zeus_devices *devs, unsigned gpu, double *temp_c);

/* Power limit range and current/default limit, in watts. Since: 0.1. */
ZEUS_API zeus_status zeus_gpu_get_power_limit_constraints(zeus_devices *devs, unsigned gpu,
                                                          double *min_w, double *max_w);
ZEUS_API zeus_status zeus_gpu_get_power_limit(zeus_devices *devs, unsigned gpu, double *limit_w);
ZEUS_API zeus_status zeus_gpu_get_default_power_limit(zeus_devices *devs, unsigned gpu,
                                                      double *limit_w);

/*
 * Set the power limit to `limit_w` watts (rounded to whole milliwatts). Nothing is sent when
 * the limit already has that value. Needs root or CAP_SYS_ADMIN (ZEUS_ERR_NO_PERMISSION).
 * Returns ZEUS_ERR_INVALID_ARGUMENT outside the constraints. Since: 0.1.
 */
ZEUS_API zeus_status zeus_gpu_set_power_limit(zeus_devices *devs, unsigned gpu, double limit_w);
/* Restore the default power limit. Since: 0.1. */
ZEUS_API zeus_status zeus_gpu_reset_power_limit(zeus_devices *devs, unsigned gpu);

/* Persistence mode (1 enabled, 0 disabled). Setting needs root. Since: 0.1. */
ZEUS_API zeus_status zeus_gpu_get_persistence_mode(zeus_devices *devs, unsigned gpu, int *enabled);
ZEUS_API zeus_status zeus_gpu_set_persistence_mode(zeus_devices *devs, unsigned gpu, int enabled);

/*
 * Supported memory clocks, or graphics clocks at memory clock `memory_mhz`, in MHz.
 * clocks_mhz: out, room for *count entries; *count: in the room, out the number written.
 * Returns ZEUS_ERR_INSUFFICIENT_SIZE (with *count set to the number needed) when the room is
 * too small. Since: 0.1.
 */
ZEUS_API zeus_status zeus_gpu_get_supported_memory_clocks(zeus_devices *devs, unsigned gpu,
                                                          unsigned *clocks_mhz, size_t *count);
ZEUS_API zeus_status zeus_gpu_get_supported_graphics_clocks(zeus_devices *devs, unsigned gpu,
                                                            unsigned memory_mhz,
                                                            unsigned *clocks_mhz, size_t *count);

/* Lock GPU (graphics) or memory clocks to [min_mhz, max_mhz], and undo it. Need root. */
ZEUS_API zeus_status zeus_gpu_set_gpu_locked_clocks(zeus_devices *devs, unsigned gpu,
                                                    unsigned min_mhz, unsigned max_mhz);
ZEUS_API zeus_status zeus_gpu_reset_gpu_locked_clocks(zeus_devices *devs, unsigned gpu);
ZEUS_API zeus_status zeus_gpu_set_memory_locked_clocks(zeus_devices *devs, unsigned gpu,
                                                       unsigned min_mhz, unsigned max_mhz);
ZEUS_API zeus_status zeus_gpu_reset_memory_locked_clocks(zeus_devices *devs, unsigned gpu);

/* ---- CPUs ----------------------------------------------------------------------------- */

typedef struct zeus_cpu_info {
    unsigned index;      /* CPU index: position among the RAPL package zones */
    char name[64];       /* the zone's name, "package-0" */
    char path[256];      /* the zone's folder, for show-env */
    int has_dram;        /* 1 when a DRAM sub-zone exists */
} zeus_cpu_info;

/* Identity of CPU package `cpu`. Returns ZEUS_ERR_NOT_FOUND for a bad index. Since: 0.1. */
ZEUS_API zeus_status zeus_cpu_get_info(zeus_devices *devs, unsigned cpu, zeus_cpu_info *out);

typedef struct zeus_cpu_energy {
    double cpu_j;        /* package energy since the counters were first read, joules */
    double dram_j;       /* DRAM energy, NAN when the package has no DRAM zone */
    uint32_t cpu_wraps;  /* counter wraparounds seen on the package counter */
    uint32_t dram_wraps; /* and on the DRAM counter */
    /* Since 0.1: steps left out of the energy because they cannot be real (a counter reset,
     * or a rise faster than 1000 W could make), on the package and the DRAM counter. */
    uint32_t cpu_discontinuities;
    uint32_t dram_discontinuities;
    /* Since 0.1 (second pass): the counters as last read, before widening (RAPL's energy_uj
     * over 1e6), and their range (max_energy_range_uj over 1e6: each counter runs from 0 to
     * its range, then wraps). NAN where the backend does not read the counter itself (through
     * zeusd). zeusd answers counter + wraps x range from these, as Zeus's daemon does. */
    double cpu_counter_j;
    double dram_counter_j;
    double cpu_counter_range_j;
    double dram_counter_range_j;
} zeus_cpu_energy;

/*
 * Cumulative energy of CPU package `cpu`, widened across counter wraparound.
 * Returns ZEUS_ERR_NO_PERMISSION when energy_uj is root-only (the detail names the fix),
 * ZEUS_ERR_IO when a file cannot be read. Since: 0.1.
 */
ZEUS_API zeus_status zeus_cpu_get_energy(zeus_devices *devs, unsigned cpu, zeus_cpu_energy *out);

/* ---- SoCs (Since 0.1, issue 13) ------------------------------------------------------ */

/*
 * A system on a chip whose rails are measured as power, not energy: NVIDIA Jetson boards
 * (INA3221 monitors under /sys/bus/i2c/drivers/ina3221x or .../ina3221). Zeus classifies
 * the rails by name into three: CPU, GPU and the whole board ("total"); a board may have
 * any of them. Energy is integrated from power by a background thread (jetson.c says at
 * what period and with what accuracy), so it counts from when the handle was opened.
 *
 * Detection, as Zeus: Linux on aarch64 with /usr/lib/aarch64-linux-gnu/tegra or
 * /etc/nv_tegra_release. ZEUS_JETSON=1 forces it (a fake tree under ZEUS_SYSFS_ROOT),
 * ZEUS_JETSON=0 turns it off. ZEUS_JETSON_PERIOD_MS sets the poll period (default 10).
 */

/* At most one SoC per machine. */
#define ZEUS_MAX_SOCS 1

/* The rails of a SoC, as indices of the arrays below. */
typedef enum zeus_soc_rail {
    ZEUS_SOC_RAIL_CPU = 0,
    ZEUS_SOC_RAIL_GPU = 1,
    ZEUS_SOC_RAIL_TOTAL = 2,
} zeus_soc_rail;
#define ZEUS_SOC_RAILS 3

/* Static name of a rail ("cpu", "gpu", "total"), or NULL for an unknown one. */
ZEUS_API const char *zeus_soc_rail_name(zeus_soc_rail rail);

/* Number of SoCs (0 or 1); 0 for a NULL or bad handle. */
ZEUS_API unsigned zeus_devices_soc_count(const zeus_devices *devs);

typedef struct zeus_soc_info {
    char name[64];                        /* "NVIDIA Jetson" */
    int has_rail[ZEUS_SOC_RAILS];         /* 1 when the rail was found (see ZEUS_SOC_RAIL_*) */
    char rail_label[ZEUS_SOC_RAILS][64];  /* the sensor's name for it ("VDD_GPU_SOC") */
    char rail_path[ZEUS_SOC_RAILS][256];  /* the file power is read from (or the voltage file) */
    double period_s;                      /* the poll period of the integrating thread */
} zeus_soc_info;

/* Identity and rails of SoC `soc`. Returns ZEUS_ERR_NOT_FOUND for a bad index. */
ZEUS_API zeus_status zeus_soc_get_info(zeus_devices *devs, unsigned soc, zeus_soc_info *out);

typedef struct zeus_soc_energy {
    uint32_t size; /* sizeof(zeus_soc_energy): set it before the call; fields past it are
                      left alone, so a caller built against an older header keeps working */
    /* Energy of each rail since the handle was opened, J, integrated from power by the
     * trapezoid rule; NAN for a rail the board lacks or one that cannot be read now. */
    double energy_j[ZEUS_SOC_RAILS];
    double power_w[ZEUS_SOC_RAILS];       /* the power read just now, W; NAN as above */
    uint32_t flags[ZEUS_SOC_RAILS];       /* ZEUS_ENERGY_VALID | _INTEGRATED, or why not:
                                             _UNSUPPORTED (no such rail), _FAILED (unreadable) */
    uint32_t gaps[ZEUS_SOC_RAILS];        /* times a rail could not be read and came back: the
                                             energy of each gap is left out, not guessed */
    double read_mono_s;                   /* CLOCK_MONOTONIC time of this reading, s (the
                                             clock of zeus_measurement.start_mono_s) */
} zeus_soc_energy;

/*
 * Cumulative energy of every rail of SoC `soc`, integrated up to now (the call reads the
 * rails itself, so the value ends at the call, not at the last poll).
 * A rail that cannot be read is NAN with ZEUS_ENERGY_FAILED; that is not an error of the
 * call. Returns ZEUS_ERR_NOT_FOUND for a bad index, ZEUS_ERR_INVALID_ARGUMENT for a NULL
 * out or a size smaller than the first release's struct. Safe from any thread.
 */
ZEUS_API zeus_status zeus_soc_get_energy(zeus_devices *devs, unsigned soc, zeus_soc_energy *out);
/*
 * The backend that supplies GPU `gpu`: "nvml" (NVIDIA) or "amdsmi" (AMD); static, NULL for
 * an index outside the visible GPUs. GPUs are numbered NVIDIA first, then AMD, each in its
 * vendor's visible-device order (CUDA_VISIBLE_DEVICES; HIP_VISIBLE_DEVICES, else
 * CUDA_VISIBLE_DEVICES). Since: 0.1.
 */
ZEUS_API const char *zeus_gpu_get_backend(zeus_devices *devs, unsigned gpu);

#ifdef __cplusplus
}
#endif

#endif /* ZEUS_DEVICE_H */
