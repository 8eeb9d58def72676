/*
 * fake_amdsmi.h - Control API of the fake AMD SMI library (tests/fakes/fake_amdsmi.c).
 *
 * The fake implements the AMD SMI C ABI that src/device/amdsmi.c uses, in the struct layouts
 * of ROCm 6.3 or 6.4 (key rocm), so libzeus loads it through ZEUS_AMDSMI_LIBRARY exactly as
 * it loads libamd_smi.so. Tests reach these functions with dlopen on the same path and dlsym
 * (tests/support/fake_amdsmi_control.h), which yields the same loaded copy as long as the
 * test holds its own dlopen reference.
 *
 * Configuration spec (ZEUS_FAKE_AMDSMI, read at the first amdsmi_init after the library is
 * loaded unless fake_amdsmi_reset() came first): semicolon-separated key=value pairs; a key
 * prefixed "gpuN." applies to GPU N (AMD SMI's enumeration order) only. Keys in fake_amdsmi.c.
 * Every control function is thread-safe.
 */
#ifndef ZEUS_FAKE_AMDSMI_H
#define ZEUS_FAKE_AMDSMI_H

/* Reconfigure from `spec` (NULL or "" = defaults) and restart the clock. 0, or -1 when the
 * spec is malformed. */
int fake_amdsmi_reset(const char *spec);

/* Make `function` ("amdsmi_get_energy_count", ...) return `status` for GPU `index` (AMD SMI
 * order; ~0u: every GPU) for the next `times` calls (-1: until cleared; 0: clear). */
void fake_amdsmi_fail(const char *function, unsigned index, unsigned status, int times);

/* Calls made to `function` since the last reset. */
unsigned long long fake_amdsmi_call_count(const char *function);

/* Set a GPU's power (W) from now on: readings and counter follow. */
void fake_amdsmi_set_power_w(unsigned index, double watts);

/* Setter results: the power cap (uW), the clock ranges (MHz; type 0 graphics, 4 memory) and
 * the performance level (0 auto, 1 low, ..., set by amdsmi_set_gpu_clk_range to manual 4). */
unsigned long long fake_amdsmi_power_cap_uw(unsigned index);
void fake_amdsmi_clk_range(unsigned index, int type, unsigned *min_mhz, unsigned *max_mhz);
int fake_amdsmi_perf_level(unsigned index);

/* amdsmi_init calls not yet paired with amdsmi_shut_down. */
int fake_amdsmi_init_count(void);

#endif /* ZEUS_FAKE_AMDSMI_H */
