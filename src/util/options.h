/*
 * options.h - Reading a caller's versioned options struct.
 *
 * Every public options struct begins with `uint32_t size`, which its _init() sets to the size
 * of the struct the caller was compiled against. Reading copies only the fields that size
 * covers, over the defaults already in place, so a caller built against an older and shorter
 * struct keeps working; a size below the first release's (the struct was never initialized)
 * or beyond this library's is refused.
 *
 *     zeus_monitor_options_init(&o);
 *     s = zeus__options_read(&o, sizeof o, opts, offsetof(zeus_monitor_options, ...),
 *                            "zeus_monitor_options");
 */
#ifndef ZEUS_UTIL_OPTIONS_H
#define ZEUS_UTIL_OPTIONS_H

#include <stddef.h>

#include "zeus/status.h"

/*
 * Copy what `src`'s size covers into `dst` (dst_size bytes, defaults already filled) and set
 * dst's size to dst_size. `type` names the struct in the message: "<type>.size is N; call
 * <type>_init()". ZEUS_ERR_INVALID_ARGUMENT when src's size is below min_size or above
 * dst_size.
 */
zeus_status zeus__options_read(void *dst, size_t dst_size, const void *src, size_t min_size,
                               const char *type);

#endif /* ZEUS_UTIL_OPTIONS_H */
