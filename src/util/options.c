/*
 * options.c - Reading a caller's versioned options struct (options.h).
 */
#include <stdint.h>
#include <string.h>

#include "util/error.h"
#include "util/options.h"

zeus_status zeus__options_read(void *dst, size_t dst_size, const void *src, size_t min_size,
                               const char *type)
{
    uint32_t size, full = (uint32_t)dst_size;

    memcpy(&size, src, sizeof size);
    if (size < min_size || size > dst_size)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "%s.size is %u; call %s_init()", type,
                          (unsigned)size, type);
    memcpy(dst, src, size);
    memcpy(dst, &full, sizeof full);
    return ZEUS_OK;
}
