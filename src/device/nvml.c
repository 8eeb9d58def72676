/*
 * nvml.c - NVIDIA GPUs through NVML (placeholder until the backend lands).
 */
#include "device/backend.h"
#include "util/error.h"

static zeus_status nvml_open(struct zeus_backend **out)
{
    (void)out;
    return zeus__fail(ZEUS_ERR_NOT_SUPPORTED, "NVML backend not built yet");
}

static void nvml_close(struct zeus_backend *b)
{
    (void)b;
}

const struct zeus_backend_ops zeus__nvml_backend = {
    .abi = ZEUS__BACKEND_ABI,
    .name = "nvml",
    .kind = ZEUS_DEVICE_GPU,
    .open = nvml_open,
    .close = nvml_close,
};
