/*
 * cost.c - Zeus's energy-time cost (zeus/utils/metric.py zeus_cost), the quantity the
 * explorer ranks batch sizes by and whose negative is the bandit's reward.
 */
#include "bso_core.h"

double bso_cost(double energy, double time, double eta, double max_power)
{
    /* Same operations in the same order as Python evaluates
     * eta_knob * energy + (1 - eta_knob) * max_power * time, so the last bit agrees. */
    return eta * energy + (1.0 - eta) * max_power * time;
}
