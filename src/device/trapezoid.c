/*
 * trapezoid.c - Energy from power readings by the trapezoid rule (see trapezoid.h).
 */
#include <math.h>

#include "device/trapezoid.h"

void zeus__trapezoid_init(zeus__trapezoid *t)
{
    t->energy_j = 0;
    t->last_w = NAN;
    t->last_ns = 0;
    t->have_last = 0;
    t->broken = 0;
    t->gaps = 0;
}

void zeus__trapezoid_add(zeus__trapezoid *t, int64_t t_ns, double power_w)
{
    if (!isfinite(power_w)) {
        if (t->have_last)
            t->broken = 1;
        t->have_last = 0;
        return;
    }
    if (t->have_last && t_ns > t->last_ns)
        t->energy_j += (t->last_w + power_w) / 2 * (double)(t_ns - t->last_ns) * 1e-9;
    else if (!t->have_last && t->broken) {
        /* The chain resumes after a gap whose energy is unknown. */
        t->gaps++;
        t->broken = 0;
    }
    /* A clock that did not move (t_ns <= last_ns) adds nothing: the reading just updates. */
    t->last_w = power_w;
    t->last_ns = t_ns > t->last_ns || !t->have_last ? t_ns : t->last_ns;
    t->have_last = 1;
}
