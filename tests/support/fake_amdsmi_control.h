/*
 * fake_amdsmi_control.h - The fake AMD SMI (tests/fakes/fake_amdsmi.h) for a test: points
 * ZEUS_AMDSMI_LIBRARY at it and resolves its control functions through dlopen, which holds
 * the one loaded copy libzeus talks to (libzeus's dlclose then never unloads it).
 *
 * ctest gives every test the fake's path as ZEUS_FAKE_AMDSMI_LIBRARY but leaves
 * ZEUS_AMDSMI_LIBRARY unset, so that tests which do not ask for AMD GPUs never see any.
 */
#ifndef ZEUS_TEST_FAKE_AMDSMI_CONTROL_H
#define ZEUS_TEST_FAKE_AMDSMI_CONTROL_H

struct zt_fake_amdsmi {
    int (*reset)(const char *spec);
    void (*fail)(const char *function, unsigned index, unsigned status, int times);
    unsigned long long (*call_count)(const char *function);
    void (*set_power_w)(unsigned index, double watts);
    unsigned long long (*power_cap_uw)(unsigned index);
    void (*clk_range)(unsigned index, int type, unsigned *min_mhz, unsigned *max_mhz);
    int (*perf_level)(unsigned index);
    int (*init_count)(void);
};

/*
 * Set ZEUS_AMDSMI_LIBRARY to the fake (and ZEUS_AMDSMI_CHECK_SECONDS to 0.1 unless set, to
 * keep the counter check short), reset it with `spec`, and return its controls. Fails the
 * test when the fake cannot be loaded or the spec is refused.
 */
const struct zt_fake_amdsmi *zt_fake_amdsmi_use(const char *spec);

/* Unset ZEUS_AMDSMI_LIBRARY: later zeus_devices see no AMD GPUs. */
void zt_fake_amdsmi_unuse(void);

#endif /* ZEUS_TEST_FAKE_AMDSMI_CONTROL_H */
