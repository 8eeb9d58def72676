/*
 * cost.c - Zeus's energy-time cost (zeus/utils/metric.py zeus_cost), the quantity the
 * explorer ranks batch sizes by and whose negative is the bandit's reward.
 */
#include "bso_core.h"

double bso_cost(double energy, double time, double eta, double max_power)
{
    /* Same operations in the same order as Python evaluates
     * eta_knob * energy + (1 - eta_knob) * max_power * time, so the last bit agrees. Separate
     * statements: a compiler may fuse a*b + c within one expression into an FMA (clang's
     * default -ffp-contract=on, on machines with FMA), which rounds once and changes bits. */
    double energy_part = eta * energy;
    double time_part = (1.0 - eta) * max_power * time;
    return energy_part + time_part;
}
