/*
 * rapl.c - CPU packages through RAPL (placeholder until the backend lands).
 */
#include "device/backend.h"
#include "util/error.h"

static zeus_status rapl_open(struct zeus_backend **out)
{
    (void)out;
    return zeus__fail(ZEUS_ERR_NOT_SUPPORTED, "RAPL backend not built yet");
}

static void rapl_close(struct zeus_backend *b)
{
    (void)b;
}

const struct zeus_backend_ops zeus__rapl_backend = {
    .abi = ZEUS__BACKEND_ABI,
    .name = "rapl",
    .kind = ZEUS_DEVICE_CPU,
    .open = rapl_open,
    .close = rapl_close,
};
