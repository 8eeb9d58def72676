/*
 * version.c - The library's own version, to compare with the headers' ZEUS_VERSION_NUM.
 */
#include "zeus/version.h"

unsigned zeus_version_num(void)
{
    return ZEUS_VERSION_NUM;
}

const char *zeus_version(void)
{
    return ZEUS_VERSION;
}
