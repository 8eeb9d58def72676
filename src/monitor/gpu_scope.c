/*
 * gpu_scope.c - The window flags and warnings for GPUs whose readings cover more than the
 * GPU itself (gpu_scope.h).
 *
 * Zeus warns once when it falls back to the module power scope and says the readings are
 * for CPU + GPU; it refuses MIG outright. We measure under MIG too, since the whole-GPU
 * value is still true, but a user who thinks in slices must not take it for the slice's
 * share, so both cases are said at creation and flagged on every window.
 */
#include "monitor/gpu_scope.h"

#include "zeus/monitor.h"
#include "util/warn.h"

uint32_t zeus__gpu_scope_flags(const zeus_gpu_info *info,
                               void (*warn)(const char *message, void *user), void *warn_user)
{
    uint32_t flags = 0;

    if (info->supports & ZEUS_GPU_MODULE_SCOPE) {
        flags |= ZEUS_ENERGY_MODULE_SCOPE;
        zeus__warnf(warn, warn_user,
                    "GPU %u (%s) does not support GPU-scope power queries: power and energy "
                    "are for the entire module (CPU + GPU), as expected on C2C superchips "
                    "like Grace Hopper",
                    info->index, info->name);
    }
    if (info->supports & ZEUS_GPU_MIG) {
        flags |= ZEUS_ENERGY_WHOLE_GPU;
        zeus__warnf(warn, warn_user,
                    "GPU %u (%s) is in MIG mode: NVML measures only whole GPUs, so its power "
                    "and energy are for the whole physical GPU, every MIG slice on it included",
                    info->index, info->name);
    }
    return flags;
}
