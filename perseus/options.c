/*
 * options.c - lowtime's candidate execution options: which (time, cost) points of one stage's
 * forward or backward instruction the solver may choose from, and the knob for a duration.
 *
 * Source: lowtime v0.2.0 lowtime/operation.py (CandidateExecutionOptions) and Zeus's
 * examples/pipeline_frequency_optimizer/run_optimization.py (effective energy, the retry).
 * Python's sort is stable and lowtime sorts three times (by real_time, by cost, by
 * quant_time), so ties keep the order of the step before; the stable insertion sort below
 * does the same (a stage has tens of frequencies, so O(n^2) is nothing).
 */
#include <string.h>

#include "perseus.h"

long perseus_quantize(double real_time_s, double unit_time_s)
{
    double q = perseus_py_floordiv(real_time_s, unit_time_s);

    /* Callers keep times and unit times sane (profile.c, the command's options); this only
     * keeps the conversion defined whatever they pass. */
    if (!(q > -1e15))
        return q != q ? 0 : -1000000000000000L;
    if (q > 1e15)
        return 1000000000000000L;
    return (long)q;
}

size_t perseus_options_from_profile(const perseus_profile *p, int stage, int instruction,
                                    double unit_time_s, double p2p_power_w, perseus_option *out)
{
    size_t n = 0;

    for (size_t i = 0; i < p->count; i++) {
        const perseus_row *r = &p->rows[i];
        perseus_option *o;
        if (r->stage != stage || r->instruction != instruction)
            continue;
        o = &out[n++];
        o->knob = r->frequency;
        o->real_time = r->time_s;
        o->quant_time = perseus_quantize(r->time_s, unit_time_s);
        /* option.cost -= p2p_power * option.quant_time * option.unit_time: left to right. */
        o->cost = r->energy_j - p2p_power_w * (double)o->quant_time * unit_time_s;
    }
    return n;
}

enum sort_key { BY_REAL_TIME, BY_COST, BY_QUANT_TIME };

/* a goes after b in a descending sort by `key` (strictly: ties keep their order). */
static int after(const perseus_option *a, const perseus_option *b, enum sort_key key)
{
    switch (key) {
    case BY_REAL_TIME:
        return a->real_time < b->real_time;
    case BY_COST:
        return a->cost < b->cost;
    default:
        return a->quant_time < b->quant_time;
    }
}

/* Stable sort, descending, as Python's sorted(..., reverse=True): equal keys keep order. */
static void sort_desc(perseus_option *o, size_t n, enum sort_key key)
{
    for (size_t i = 1; i < n; i++) {
        perseus_option x = o[i];
        size_t j = i;
        while (j > 0 && after(&o[j - 1], &x, key)) {
            o[j] = o[j - 1];
            j--;
        }
        o[j] = x;
    }
}

size_t perseus_options_filter(const perseus_option *in, size_t n, double noise_factor,
                              perseus_option *out)
{
    perseus_option sorted[n > 0 ? n : 1];
    size_t kept = 0, unique = 0;

    if (n == 0)
        return 0;
    memcpy(sorted, in, n * sizeof *in);
    sort_desc(sorted, n, BY_REAL_TIME);

    /* 1. Pareto: drop an option when another is faster and cheaper than it with slack. The
     *    option itself is among the others, as in lowtime (it never beats itself). */
    for (size_t i = 0; i < n; i++) {
        double t = sorted[i].real_time * noise_factor;
        double c = sorted[i].cost * noise_factor;
        int beaten = 0;
        for (size_t j = 0; j < n && !beaten; j++)
            beaten = sorted[j].real_time < t && sorted[j].cost < c;
        if (!beaten)
            out[kept++] = sorted[i];
    }

    /* 2. One per quant_time, the largest cost: quantization rounds down, so that one's
     *    quant_time is the closest to its real time. */
    sort_desc(out, kept, BY_COST);
    for (size_t i = 0; i < kept; i++) {
        int seen = 0;
        for (size_t j = 0; j < unique && !seen; j++)
            seen = out[j].quant_time == out[i].quant_time;
        if (!seen)
            out[unique++] = out[i];
    }

    /* 3. Slowest first. */
    sort_desc(out, unique, BY_QUANT_TIME);
    return unique;
}

size_t perseus_options_candidates(const perseus_option *in, size_t n, double noise_factor,
                                  perseus_option *out)
{
    size_t kept = perseus_options_filter(in, n, 1.0, out);

    if (kept <= 3)
        kept = perseus_options_filter(in, n, noise_factor, out);
    return kept;
}

size_t perseus_options_knob_for(const perseus_option *cand, size_t n, long duration)
{
    /* bisect_right over quant_times ascending, i.e. over cand reversed: the count of
     * candidates with quant_time <= duration, at least 1. */
    size_t count = 0;

    for (size_t i = 0; i < n; i++)
        if (cand[i].quant_time <= duration)
            count++;
    if (count == 0)
        count = 1;
    /* The count-th smallest quant_time is cand[n - count] in descending order. */
    return n - count;
}
