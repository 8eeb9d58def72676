/*
 * store_pg.c - The PostgreSQL backend (libpq). Placeholder until the backend lands.
 */
#include <stdio.h>

#include "store_backend.h"

bso_store *bso__pg_open(const char *conninfo, char *err, size_t n)
{
    (void)conninfo;
    if (err && n)
        snprintf(err, n, "PostgreSQL storage is not built yet");
    return NULL;
}
