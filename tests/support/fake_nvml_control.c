/*
 * fake_nvml_control.c - Resolve the fake NVML's control functions (fake_nvml_control.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_nvml_control.h"

static struct zt_fake_nvml fake;
static char why[512]; /* empty when every function resolved */
static pthread_once_t once = PTHREAD_ONCE_INIT;

struct control_symbol {
    const char *name;
    void *fn; /* the pointer in `fake` that receives the address */
};

static const struct control_symbol symbols[] = {
    {"fake_nvml_reset", &fake.reset},
    {"fake_nvml_set_energy_mj", &fake.set_energy_mj},
    {"fake_nvml_add_energy_mj", &fake.add_energy_mj},
    {"fake_nvml_set_power_mw", &fake.set_power_mw},
    {"fake_nvml_fail", &fake.fail},
    {"fake_nvml_call_count", &fake.call_count},
    {"fake_nvml_power_limit_mw", &fake.power_limit_mw},
    {"fake_nvml_persistence_mode", &fake.persistence_mode},
    {"fake_nvml_power_limit_log", &fake.power_limit_log},
    {"fake_nvml_locked_clocks", &fake.locked_clocks},
    {"fake_nvml_last_error", &fake.last_error},
    {"fake_nvml_init_count", &fake.init_count},
    {"fake_nvml_set_temperature_c", &fake.set_temperature_c},
    {"fake_nvml_clock_log", &fake.clock_log},
};

static void load(void)
{
    const char *path = getenv("ZEUS_NVML_LIBRARY");
    void *handle;

    if (path == NULL || *path == '\0') {
        snprintf(why, sizeof why, "ZEUS_NVML_LIBRARY is not set: run the test through ctest");
        return;
    }
    /* The same flags as libzeus, so both get the one loaded copy. Never closed. */
    handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        snprintf(why, sizeof why, "cannot load the fake NVML %s: %s", path, dlerror());
        return;
    }
    for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
        void *addr = dlsym(handle, symbols[i].name);
        if (addr == NULL) {
            snprintf(why, sizeof why, "%s has no %s: not the fake NVML", path, symbols[i].name);
            return;
        }
        memcpy(symbols[i].fn, &addr, sizeof addr);
    }
}

const struct zt_fake_nvml *zt_fake_nvml(void)
{
    pthread_once(&once, load);
    if (why[0] != '\0')
        fail_msg("%s", why);
    return &fake;
}

void zt_fake_nvml_reset(const char *spec)
{
    const struct zt_fake_nvml *f = zt_fake_nvml();

    if (f->reset(spec) != 0)
        fail_msg("fake NVML refused spec \"%s\": %s", spec, f->last_error());
}

void zt_fake_nvml_fail(const char *function, unsigned physical_index, int nvml_return,
                       int times)
{
    (zt_fake_nvml()->fail)(function, physical_index, nvml_return, times);
}
