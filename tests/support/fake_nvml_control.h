/*
 * fake_nvml_control.h - The fake NVML's control functions (tests/fakes/fake_nvml.h), reached
 * from a test through dlopen on ZEUS_NVML_LIBRARY: the same loaded copy libzeus talks to.
 *
 *     const struct zt_fake_nvml *fake = zt_fake_nvml();
 *     assert_int_equal(fake->reset("gpus=2;gpu1.arch=4"), 0);
 *     fake->set_energy_mj(0, 123456);
 *
 * Tests cannot call fake_nvml_* directly: the fake is loaded with RTLD_LOCAL, and linking it
 * into the test would make a second copy with its own state.
 */
#ifndef ZEUS_TEST_FAKE_NVML_CONTROL_H
#define ZEUS_TEST_FAKE_NVML_CONTROL_H

#include <stddef.h>

/*
 * One pointer per control function of fake_nvml.h, named without the fake_nvml_ prefix.
 * cmocka defines a fail() macro, so call `fail` as (zt_fake_nvml()->fail)(...), or use
 * zt_fake_nvml_fail() below.
 */
struct zt_fake_nvml {
    int (*reset)(const char *spec);
    void (*set_energy_mj)(unsigned physical_index, unsigned long long energy_mj);
    void (*add_energy_mj)(unsigned physical_index, unsigned long long energy_mj);
    void (*set_power_mw)(unsigned physical_index, unsigned power_mw);
    void (*fail)(const char *function, unsigned physical_index, int nvml_return, int times);
    unsigned long long (*call_count)(const char *function);
    unsigned (*power_limit_mw)(unsigned physical_index);
    int (*persistence_mode)(unsigned physical_index);
    void (*locked_clocks)(unsigned physical_index, unsigned *gpu_min, unsigned *gpu_max,
                          unsigned *mem_min, unsigned *mem_max);
    const char *(*last_error)(void);
    int (*init_count)(void);
    void (*set_temperature_c)(unsigned physical_index, unsigned temp_c);
    size_t (*power_limit_log)(unsigned *gpu, unsigned *mw, size_t cap);
    size_t (*clock_log)(unsigned *gpu, char *kind, unsigned *min_mhz, unsigned *max_mhz,
                        size_t cap);
};

/* "Every device" for fail(). */
#define ZT_FAKE_ALL_GPUS (~0u)

/*
 * The fake's control functions, resolved once per process. Fails the calling test with the
 * reason (ZEUS_NVML_LIBRARY unset, not loadable, or not the fake) when they are unavailable.
 */
const struct zt_fake_nvml *zt_fake_nvml(void);

/* reset(spec), failing the test with the fake's reason when the spec is refused. */
void zt_fake_nvml_reset(const char *spec);

/* fail(function, physical_index, nvml_return, times), callable without parentheses. */
void zt_fake_nvml_fail(const char *function, unsigned physical_index, int nvml_return,
                       int times);

#endif /* ZEUS_TEST_FAKE_NVML_CONTROL_H */
