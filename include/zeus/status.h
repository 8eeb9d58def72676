/*
 * zeus/status.h - Status codes and the thread-local detail of the last failure.
 *
 * Every public function that can fail returns a zeus_status: ZEUS_OK (0) on success and a
 * negative code otherwise. Codes are appended, never renumbered or removed. Decide by the
 * code, never by the message.
 */
#ifndef ZEUS_STATUS_H
#define ZEUS_STATUS_H

#include "zeus/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The one list of status codes: name, value, and the short string zeus_status_string()
 * returns. The enum, zeus_status_string() and zeus_status_name() are all generated from it.
 */
#define ZEUS_STATUS_MAP(XX)                                                                    \
    XX(OK, 0, "success")                                                                       \
    XX(ERR_INVALID_ARGUMENT, -1, "invalid argument")                                           \
    XX(ERR_NOT_SUPPORTED, -2, "not supported by this device or driver")                        \
    XX(ERR_NO_PERMISSION, -3, "no permission")                                                 \
    XX(ERR_NOT_FOUND, -4, "not found")                                                         \
    XX(ERR_ALREADY_EXISTS, -5, "already exists")                                               \
    XX(ERR_LIBRARY_NOT_FOUND, -6, "vendor library not found")                                  \
    XX(ERR_FUNCTION_NOT_FOUND, -7, "function not found in vendor library")                     \
    XX(ERR_DRIVER_NOT_LOADED, -8, "driver not loaded")                                         \
    XX(ERR_UNINITIALIZED, -9, "library not initialized")                                       \
    XX(ERR_GPU_LOST, -10, "GPU is lost")                                                       \
    XX(ERR_RESET_REQUIRED, -11, "GPU reset required")                                          \
    XX(ERR_TIMEOUT, -12, "timed out")                                                          \
    XX(ERR_INSUFFICIENT_SIZE, -13, "buffer too small")                                         \
    XX(ERR_INSUFFICIENT_POWER, -14, "insufficient external power")                             \
    XX(ERR_IRQ_ISSUE, -15, "interrupt problem with the device")                                \
    XX(ERR_CORRUPTED_INFOROM, -16, "corrupted infoROM")                                        \
    XX(ERR_OPERATING_SYSTEM, -17, "operating system call failed")                              \
    XX(ERR_LIB_RM_VERSION_MISMATCH, -18, "driver and library versions do not match")           \
    XX(ERR_IN_USE, -19, "device in use")                                                       \
    XX(ERR_NO_MEMORY, -20, "out of memory")                                                    \
    XX(ERR_IO, -21, "input/output error")                                                      \
    XX(ERR_NO_DATA, -22, "no data")                                                            \
    XX(ERR_CHILD_FAILED, -23, "child process failed")                                          \
    XX(ERR_UNKNOWN, -24, "unknown error")                                                      \
    XX(ERR_CALLBACK_FAILED, -25, "a callback reported failure")                                \
    XX(ERR_TRAIN_FAILED, -26, "training failed for this batch size")                          \
    XX(ERR_PROVIDER_HTTP, -27, "the rate provider could not be reached or refused")            \
    XX(ERR_PROVIDER_NOT_FOUND, -28, "the rate provider's answer lacks the value")              \
    XX(ERR_PENDING, -29, "not known yet; ask again later")

typedef enum zeus_status {
#define ZEUS__STATUS_ENUM(name, value, text) ZEUS_##name = value,
    ZEUS_STATUS_MAP(ZEUS__STATUS_ENUM)
#undef ZEUS__STATUS_ENUM
} zeus_status;

/* Number of codes in ZEUS_STATUS_MAP; codes run from 0 down to -(ZEUS_STATUS_COUNT - 1). */
#define ZEUS_STATUS_COUNT 30

/*
 * A short, static, human-readable description of `status`, such as "GPU is lost".
 * Unknown values give "unrecognized status". Never NULL. Safe from any thread. Since: 0.1.
 */
ZEUS_API const char *zeus_status_string(zeus_status status);

/*
 * The code's name without the prefix, such as "ERR_GPU_LOST", static and never NULL.
 * Safe from any thread. Since: 0.1.
 */
ZEUS_API const char *zeus_status_name(zeus_status status);

/*
 * Detail of the last failure on the calling thread: what failed, the system's reason, and
 * the fix, for example "cannot read /sys/.../energy_uj: Permission denied (run zeusd, or
 * grant read access)". Never NULL ("" when nothing failed yet). The buffer is thread-local
 * and stays valid until the next failing call on this thread. Since: 0.1.
 */
ZEUS_API const char *zeus_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* ZEUS_STATUS_H */
