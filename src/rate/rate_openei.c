/*
 * rate_openei.c - "openei:..." (not built yet in this commit; the next commits add it).
 */
#include "rate/rate_internal.h"
#include "util/error.h"

zeus_status zeus__rate_openei_open(zeus_rate_provider *p, const char *arg)
{
    (void)p;
    (void)arg;
    return zeus__fail(ZEUS_ERR_NOT_SUPPORTED, "the openei provider is not built yet");
}
