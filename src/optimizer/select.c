/*
 * select.c - Zeus's optimum selectors: which profiled power limit is best.
 *
 * Each rule is Zeus's, including how it breaks ties (the first measurement wins, which in
 * profiling order is the higher limit) and which time MaxSlowdownConstraint compares with
 * (the time at the highest profiled limit, not the shortest time). ZeusCost keys its costs
 * by limit, as Zeus's dict does: a limit measured twice counts with its last cost, at the
 * place of its first.
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#include "optimizer/optimizer_internal.h"
#include "util/error.h"
#include "zeus/power_limit.h"

static int positive(double x)
{
    return isfinite(x) && x > 0;
}

static zeus_status check_measurements(const zeus_plo_measurement *m, size_t n)
{
    if (m == NULL || n == 0)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "no measurements to select from");
    for (size_t i = 0; i < n; i++) {
        if (m[i].power_limit_w == 0)
            return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                              "measurement %zu: power_limit must be positive", i);
        if (!positive(m[i].energy_j))
            return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                              "measurement %zu (%u W): energy %g is not a positive number", i,
                              m[i].power_limit_w, m[i].energy_j);
        if (!positive(m[i].time_s))
            return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                              "measurement %zu (%u W): time %g is not a positive number", i,
                              m[i].power_limit_w, m[i].time_s);
    }
    return ZEUS_OK;
}

static zeus_status check_selector(const zeus_plo_selector *sel)
{
    switch (sel->kind) {
    case ZEUS_PLO_DEFAULT:
    case ZEUS_PLO_ENERGY:
    case ZEUS_PLO_TIME:
        return ZEUS_OK;
    case ZEUS_PLO_ZEUS_COST:
        if (!(sel->eta >= 0 && sel->eta <= 1))
            return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                              "eta_knob must be between 0 and 1, inclusive both sides (got %g)",
                              sel->eta);
        if (sel->world_size < 1)
            return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                              "world_size must be greater than or equal to 1");
        return ZEUS_OK;
    case ZEUS_PLO_CUSTOM:
        if (sel->custom == NULL)
            return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "custom selector without a callback");
        return ZEUS_OK;
    case ZEUS_PLO_MAX_SLOWDOWN:
        if (!(sel->factor >= 1))
            return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                              "max_slowdown_factor must be greater than or equal to 1.0 (got %g)",
                              sel->factor);
        return ZEUS_OK;
    }
    return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "unknown selector kind %d", (int)sel->kind);
}

/* Index of the smallest cost; the first of equals wins. */
static size_t argmin(const double *cost, size_t n)
{
    size_t best = 0;

    for (size_t i = 1; i < n; i++)
        if (cost[i] < cost[best])
            best = i;
    return best;
}

static unsigned max_limit(const zeus_plo_measurement *m, size_t n)
{
    unsigned hi = 0;

    for (size_t i = 0; i < n; i++)
        if (m[i].power_limit_w > hi)
            hi = m[i].power_limit_w;
    return hi;
}

/* The index of the first measurement of limit w (there is one: w came from the list). */
static size_t first_of(const zeus_plo_measurement *m, size_t n, unsigned w)
{
    size_t i = 0;

    while (i < n && m[i].power_limit_w != w)
        i++;
    return i;
}

/* The last cost of limit w: Zeus keys costs by limit, so a later one overwrites. */
static double last_cost(const zeus_plo_measurement *m, size_t n, const double *cost, unsigned w)
{
    double c = 0;

    for (size_t i = 0; i < n; i++)
        if (m[i].power_limit_w == w)
            c = cost[i];
    return c;
}

static unsigned zeus_cost(const zeus_plo_selector *sel, const zeus_plo_measurement *m, size_t n,
                          double *cost)
{
    double max_power = (double)max_limit(m, n) * sel->world_size;
    double best_cost = 0;
    size_t best = n;

    for (size_t i = 0; i < n; i++)
        cost[i] = sel->eta * m[i].energy_j + (1 - sel->eta) * max_power * m[i].time_s;
    for (size_t i = 0; i < n; i++) {
        double c;

        if (first_of(m, n, m[i].power_limit_w) != i)
            continue;
        c = last_cost(m, n, cost, m[i].power_limit_w);
        if (best == n || c < best_cost)
            best = i, best_cost = c;
    }
    return m[best].power_limit_w;
}

static unsigned max_slowdown(double factor, const zeus_plo_measurement *m, size_t n,
                             double *cost)
{
    double reference = m[first_of(m, n, max_limit(m, n))].time_s;
    unsigned lowest = 0;

    for (size_t i = 0; i < n; i++) {
        cost[i] = m[i].time_s;
        if (m[i].time_s <= factor * reference && (lowest == 0 || m[i].power_limit_w < lowest))
            lowest = m[i].power_limit_w;
    }
    return lowest;
}

/* A caller's rule: its answer must be one of the measured limits. */
static zeus_status custom(const zeus_plo_selector *sel, const zeus_plo_measurement *m, size_t n,
                          double *cost, unsigned *power_limit_w)
{
    unsigned w = sel->custom(m, n, sel->custom_user);

    for (size_t i = 0; i < n; i++)
        cost[i] = NAN;
    if (w != 0 && first_of(m, n, w) < n) {
        *power_limit_w = w;
        return ZEUS_OK;
    }
    if (w == 0)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "the custom selector failed");
    return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                      "the custom selector chose %u W, which was not measured", w);
}

/* Apply selector s (resolved, checked) to m, writing each objective to c[0..n). */
static zeus_status apply(const zeus_plo_selector *s, const zeus_plo_measurement *m, size_t n,
                         double *c, unsigned *power_limit_w)
{
    switch (s->kind) {
    case ZEUS_PLO_ENERGY:
        for (size_t i = 0; i < n; i++)
            c[i] = m[i].energy_j;
        *power_limit_w = m[argmin(c, n)].power_limit_w;
        return ZEUS_OK;
    case ZEUS_PLO_TIME:
        for (size_t i = 0; i < n; i++)
            c[i] = m[i].time_s;
        *power_limit_w = m[argmin(c, n)].power_limit_w;
        return ZEUS_OK;
    case ZEUS_PLO_MAX_SLOWDOWN:
        *power_limit_w = max_slowdown(s->factor, m, n, c);
        return ZEUS_OK;
    case ZEUS_PLO_CUSTOM:
        return custom(s, m, n, c, power_limit_w);
    default:
        *power_limit_w = zeus_cost(s, m, n, c);
        return ZEUS_OK;
    }
}

zeus_status zeus__plo_check_selector(const zeus_plo_selector *sel)
{
    return check_selector(sel);
}

zeus_status zeus_plo_select(const zeus_plo_selector *sel, const zeus_plo_measurement *m,
                            size_t n, unsigned *power_limit_w, double *cost)
{
    zeus_plo_selector s = {.kind = ZEUS_PLO_ZEUS_COST, .eta = 0.5, .world_size = 1};
    double local[64], *c = cost;
    zeus_status st;

    if (sel == NULL || power_limit_w == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "zeus_plo_select: NULL argument");
    if ((st = check_selector(sel)) != ZEUS_OK || (st = check_measurements(m, n)) != ZEUS_OK)
        return st;
    if (sel->kind != ZEUS_PLO_DEFAULT)
        s = *sel;
    /* Costs nobody asked for still need room: a 1 W step gives hundreds of candidates. */
    if (c == NULL)
        c = n <= sizeof local / sizeof local[0] ? local : malloc(n * sizeof *c);
    if (c == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "zeus_plo_select: out of memory");
    st = apply(&s, m, n, c, power_limit_w);
    if (c != cost && c != local)
        free(c);
    return st;
}
