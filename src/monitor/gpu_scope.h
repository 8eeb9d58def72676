/*
 * gpu_scope.h - What a GPU's energy and power cover when that is more than the GPU: the
 * whole Grace Hopper module, or the whole physical GPU under MIG. The monitors call it once
 * per GPU when they are created: it warns through their callback and gives the flags every
 * window of that GPU carries.
 */
#ifndef ZEUS_MONITOR_GPU_SCOPE_H
#define ZEUS_MONITOR_GPU_SCOPE_H

#include <stdint.h>

#include "zeus/device.h"

/*
 * ZEUS_ENERGY_MODULE_SCOPE and/or ZEUS_ENERGY_WHOLE_GPU for a GPU with `info`, 0 for a
 * plain GPU; one warning (through warn, which may be NULL) for each that applies.
 */
uint32_t zeus__gpu_scope_flags(const zeus_gpu_info *info,
                               void (*warn)(const char *message, void *user), void *warn_user);

#endif /* ZEUS_MONITOR_GPU_SCOPE_H */
