/*
 * trapezoid.h - Energy from a stream of power readings by the trapezoid rule, for sensors
 * that report power, not energy (Jetson's INA3221 rails). Pure arithmetic: no clock, no
 * locks, so a simulated trace can test it.
 *
 * Zeus adds P(t_k) x (t_k - t_(k-1)) per poll (the right-endpoint rule): a step in power is
 * charged to the whole poll interval before it. The trapezoid rule charges half of it, which
 * is the unbiased choice when the step falls anywhere in the interval, and is exact on any
 * stretch where power is linear in time (constant, or a ramp).
 *
 * A reading that failed (NAN: the file vanished or held no number) breaks the chain: the
 * time until the next good reading is left out, never guessed, and counted as one gap, so a
 * window that spans it can say its value is a lower bound.
 */
#ifndef ZEUS_DEVICE_TRAPEZOID_H
#define ZEUS_DEVICE_TRAPEZOID_H

#include <stdint.h>

typedef struct zeus__trapezoid {
    double energy_j;  /* integral so far, J */
    double last_w;    /* the last good reading, W */
    int64_t last_ns;  /* and when it was taken */
    int have_last;    /* 0 before the first good reading and after a failed one */
    int broken;       /* a good reading was followed by a failed one */
    uint32_t gaps;    /* chains broken and resumed */
} zeus__trapezoid;

/* Start empty: no energy before the first reading. */
void zeus__trapezoid_init(zeus__trapezoid *t);

/*
 * Add a reading of `power_w` watts (NAN: the read failed) taken at `t_ns` (monotonic,
 * nondecreasing). A reading at the same time as the last one only replaces its value.
 */
void zeus__trapezoid_add(zeus__trapezoid *t, int64_t t_ns, double power_w);

#endif /* ZEUS_DEVICE_TRAPEZOID_H */
