/*
 * rate_fixed.c - "fixed:VALUE": the same rate at every hour (a flat tariff, a grid average).
 */
#include <stdlib.h>

#include "rate/rate_internal.h"
#include "util/error.h"

static zeus_status fixed_rate_at(zeus_rate_provider *p, double start_s, double *value,
                                 uint32_t *flags)
{
    (void)start_s;
    *value = *(double *)p->state;
    *flags = ZEUS_RATE_EXACT; /* the user said so for every hour */
    return ZEUS_OK;
}

static void fixed_destroy(zeus_rate_provider *p)
{
    free(p->state);
}

static const zeus__rate_ops fixed_ops = {
    .rate_at = fixed_rate_at,
    .destroy = fixed_destroy,
};

zeus_status zeus__rate_fixed_open(zeus_rate_provider *p, const char *arg)
{
    char *end;
    double v = strtod(arg, &end);
    double *state;
    zeus_status s;

    if (end == arg || *end != '\0')
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "fixed:VALUE wants a number, got \"%s\"",
                          arg);
    if ((s = zeus__rate_check_value(p->kind, v, "the fixed rate")) != ZEUS_OK)
        return s;
    if ((state = malloc(sizeof *state)) == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
    *state = v;
    p->ops = &fixed_ops;
    p->state = state;
    p->history_length = 0; /* any hour */
    return ZEUS_OK;
}
