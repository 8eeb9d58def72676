/*
 * registry.c - The one explicit list of device backends, in the order they are tried.
 *
 * For CPUs, the first backend that opens supplies the devices. GPU backends all open, and
 * their GPUs are numbered in this order, each in its vendor's visible-device order: NVIDIA
 * (nvml) first, then AMD (amdsmi). Zeus uses one vendor per process (NVML, else AMD SMI);
 * Zeus-C allows both. Adding a backend means adding its file and one line here.
 *
 * "zeusd" comes before "rapl": with ZEUSD_SOCK_PATH or ZEUSD_HOST_PORT set, CPU energy is
 * read through the daemon (Zeus's ZeusdRAPLCPU); unset, it declines and RAPL is read locally.
 */
#include <stddef.h>

#include "device/backend.h"

const struct zeus_backend_ops *const zeus__backends[] = {
    &zeus__nvml_backend,
    &zeus__amdsmi_backend,
    &zeus__zeusd_backend,
    &zeus__rapl_backend,
    &zeus__jetson_backend,
    NULL,
};
