/*
 * fake_amdsmi_control.c - Load the fake AMD SMI and resolve its controls
 * (fake_amdsmi_control.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "fake_amdsmi_control.h"

static struct zt_fake_amdsmi fake;
static void *handle; /* held for the whole test: the fake's state lives as long */

static const struct {
    const char *name;
    void *fn;
} symbols[] = {
    {"fake_amdsmi_reset", &fake.reset},
    {"fake_amdsmi_fail", &fake.fail},
    {"fake_amdsmi_call_count", &fake.call_count},
    {"fake_amdsmi_set_power_w", &fake.set_power_w},
    {"fake_amdsmi_power_cap_uw", &fake.power_cap_uw},
    {"fake_amdsmi_clk_range", &fake.clk_range},
    {"fake_amdsmi_perf_level", &fake.perf_level},
    {"fake_amdsmi_init_count", &fake.init_count},
};

const struct zt_fake_amdsmi *zt_fake_amdsmi_use(const char *spec)
{
    const char *path = getenv("ZEUS_FAKE_AMDSMI_LIBRARY");

    if (path == NULL || *path == '\0')
        fail_msg("ZEUS_FAKE_AMDSMI_LIBRARY is not set: run the test through ctest");
    if (handle == NULL) {
        handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (handle == NULL)
            fail_msg("cannot load the fake AMD SMI %s: %s", path, dlerror());
        for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
            void *addr = dlsym(handle, symbols[i].name);
            if (addr == NULL)
                fail_msg("the fake AMD SMI has no %s", symbols[i].name);
            memcpy(symbols[i].fn, &addr, sizeof addr);
        }
    }
    setenv("ZEUS_AMDSMI_LIBRARY", path, 1);
    setenv("ZEUS_AMDSMI_CHECK_SECONDS", "0.1", 0);
    if (fake.reset(spec) != 0)
        fail_msg("the fake AMD SMI refused the spec \"%s\"", spec != NULL ? spec : "");
    return &fake;
}

void zt_fake_amdsmi_unuse(void)
{
    unsetenv("ZEUS_AMDSMI_LIBRARY");
}
