/*
 * zeus/zeus.h - Zeus-C: energy measurement for GPU and CPU work. Include this header.
 *
 * Ownership rules, for every function of the library:
 * 1. Strings and arrays passed in are copied.
 * 2. A `const char *` the library returns is the library's: static, valid until the handle
 *    it came from is destroyed, or valid until the next failure on this thread. Each
 *    function's comment says which.
 * 3. Results go into structs the caller owns (zeus_measurement *out); no free is needed.
 * 4. When the library allocates for the caller, it provides the matching zeus_*_destroy.
 * 5. `void *user` pointers are passed back untouched.
 *
 * Errors: functions return zeus_status (ZEUS_OK is 0, errors are negative) and leave a detail
 * message in zeus_last_error(). The library never prints, never exits and never aborts on
 * caller input.
 *
 * Handles start with a magic number checked at every entry point, so a destroyed handle
 * usually gets ZEUS_ERR_INVALID_ARGUMENT rather than a crash. Usually: freed memory can be
 * reused, so this is a safety net, not a guarantee.
 */
#ifndef ZEUS_ZEUS_H
#define ZEUS_ZEUS_H

#include "zeus/export.h"
#include "zeus/status.h"
#include "zeus/version.h"
#include "zeus/device.h"
#include "zeus/monitor.h"
#include "zeus/power.h"
#include "zeus/metrics.h"
#include "zeus/reduce.h"
#include "zeus/power_limit.h"
#include "zeus/profile.h"
#include "zeus/batch_size.h"
#include "zeus/rate.h"
#include "zeus/emission.h"
#include "zeus/pipeline_frequency.h"
#include "zeus/power_stream.h"

#endif /* ZEUS_ZEUS_H */
