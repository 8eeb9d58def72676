/*
 * devices_internal.h - What the monitor may ask of a zeus_devices handle beyond the public API.
 */
#ifndef ZEUS_DEVICE_DEVICES_INTERNAL_H
#define ZEUS_DEVICE_DEVICES_INTERNAL_H

#include <stdio.h>

#include "zeus/device.h"

/*
 * Why CPUs are unavailable: the status of the CPU backend that failed to open (for example
 * ZEUS_ERR_NO_PERMISSION) with its detail, or ZEUS_OK when none failed for a reason the user
 * can act on (absent hardware is not such a reason).
 */
zeus_status zeus__devices_cpu_open_status(const zeus_devices *devs, char *detail, size_t len);

#endif /* ZEUS_DEVICE_DEVICES_INTERNAL_H */
