/*
 * fake_nvml.h - Control API of the fake NVML library (tests/fakes/fake_nvml.c).
 *
 * The fake implements the real NVML ABI (nvmlInit_v2, nvmlDeviceGet*, ...) so that libzeus
 * loads it through ZEUS_NVML_LIBRARY exactly as it loads libnvidia-ml.so.1. Besides that ABI
 * it exports the fake_nvml_* functions below, which tests reach with dlopen(same path) and
 * dlsym (see tests/support/fake_nvml_control.h), to script devices at run time.
 *
 * Configuration spec (the ZEUS_FAKE_NVML environment variable, read at the first nvmlInit,
 * or passed to fake_nvml_reset()): semicolon-separated key=value pairs; a key prefixed with
 * "gpuN." applies to physical GPU N only. See fake_nvml.c for the full list of keys.
 *
 * Every control function is thread-safe.
 */
#ifndef ZEUS_FAKE_NVML_H
#define ZEUS_FAKE_NVML_H

#include <stddef.h>

/* Reconfigure every device from `spec` (NULL or "" = defaults) and restart its clock. 0 on
 * success, -1 on a malformed spec. */
int fake_nvml_reset(const char *spec);

/* Set / add to a device's energy counter (mJ). Switches that device to manual mode: its counter
 * then changes only through these calls, never with time. */
void fake_nvml_set_energy_mj(unsigned physical_index, unsigned long long energy_mj);
void fake_nvml_add_energy_mj(unsigned physical_index, unsigned long long energy_mj);

/* Set a device's power (mW) from now on: instant and average fields, and the traced counter. */
void fake_nvml_set_power_mw(unsigned physical_index, unsigned power_mw);

/*
 * Make `function` (an NVML symbol name such as "nvmlDeviceGetTotalEnergyConsumption") return
 * `nvml_return` for device `physical_index` (or every device when physical_index is ~0u) for
 * the next `times` calls (-1: until cleared; 0: clear).
 */
void fake_nvml_fail(const char *function, unsigned physical_index, int nvml_return, int times);

/* Number of calls made to `function` since the last reset. */
unsigned long long fake_nvml_call_count(const char *function);

/* Current power limit (mW), persistence mode, and locked clock ranges, for setter tests. */
unsigned fake_nvml_power_limit_mw(unsigned physical_index);
int fake_nvml_persistence_mode(unsigned physical_index);
void fake_nvml_locked_clocks(unsigned physical_index, unsigned *gpu_min, unsigned *gpu_max,
                             unsigned *mem_min, unsigned *mem_max);

/* ---- Added with the fake itself --------------------------------------------------------- */

/*
 * Also accepted: `function` "*" (or NULL) in fake_nvml_fail() fails every function that takes
 * a device or a device index (a lost GPU), and in fake_nvml_call_count() counts all calls.
 */

/*
 * Why the last fake_nvml_reset() or fake_nvml_fail() was refused ("" if none was). The
 * buffer is the fake's; read it from the thread that made the call, before the next one.
 */
const char *fake_nvml_last_error(void);

/* nvmlInit_v2 calls not yet matched by nvmlShutdown: 0 once every user has shut down. */
int fake_nvml_init_count(void);

/* Set a device's temperature (degrees C) from now on. */
void fake_nvml_set_temperature_c(unsigned physical_index, unsigned temp_c);

/* ---- Added for the benchmarks (bench/) ------------------------------------------------- */

/*
 * The exact energy (J) device `physical_index` used between two CLOCK_MONOTONIC times (in
 * seconds, the clock of clock_gettime and zeus_now()): the integral of its power trace, as
 * the trace stands now, with no update step and no rounding. This is the truth that window
 * energies are compared against in `zeus bench accuracy`.
 *
 * The trace begins at the last reset: before it the device draws nothing. After
 * fake_nvml_set_power_mw() only times from the boundary it took effect at are exact (the
 * trace before it is forgotten); manual counters (fake_nvml_set_energy_mj) have no power
 * behind them and are ignored. t1 < t0 gives the negative of the integral over [t1, t0].
 * NAN for a GPU that does not exist.
 */
double fake_nvml_true_energy_j(unsigned physical_index, double t0_mono_s, double t1_mono_s);

/* ---- Added for the power limit optimizer's tests -------------------------------------- */

/*
 * The power limits nvmlDeviceSetPowerManagementLimit set since the last reset, in call order:
 * physical GPU and mW of entry i go to gpu[i] and mw[i] (either may be NULL) for i < cap.
 * Returns how many were set (only the first 4096 are kept).
 */
size_t fake_nvml_power_limit_log(unsigned *gpu, unsigned *mw, size_t cap);

/* ---- Added for Grace Hopper and MIG ----------------------------------------------------- */

/*
 * The UUID of MIG slice s (0-based) on physical GPU N, with the key mig=1: printf with N and
 * s. The new-style MIG UUID as nvidia-smi -L prints it (R470 and newer drivers).
 */
#define FAKE_MIG_UUID_FORMAT "MIG-%08x-6d1a-4c2e-9f3b-%012x"

/* ---- Added for Perseus's frequency controller --------------------------------------------- */

/*
 * The clock locks and resets that succeeded since the last reset, in call order: entry i's
 * physical GPU, kind ('G' nvmlDeviceSetGpuLockedClocks, 'g' its reset, 'M'
 * nvmlDeviceSetMemoryLockedClocks, 'm' its reset) and range in MHz (0 for a reset) go to
 * gpu[i], kind[i], min_mhz[i], max_mhz[i] (any may be NULL) for i < cap. Returns how many
 * there were (only the first 4096 are kept).
 */
size_t fake_nvml_clock_log(unsigned *gpu, char *kind, unsigned *min_mhz, unsigned *max_mhz,
                           size_t cap);

#endif /* ZEUS_FAKE_NVML_H */
