/*
 * emission_hours.c - Splitting an emission window's energy into UTC-hour buckets, pricing
 * buckets, and summing them into a zeus_emission_measurement.
 *
 * DESIGN NOTES
 *  1. A bucket holds the energy each device used in one UTC hour of one window. The amount
 *     (g or currency) is not stored: it is energy x rate / 3.6e6, computed when summed, so
 *     energy that reaches a bucket after it was priced (a clock stepped back into a priced
 *     hour) is priced at that hour's rate too, and no energy is priced twice.
 *  2. A bucket is priced at most once: `priced` is set with its rate and never cleared.
 *  3. Only closed buckets are priced: an open window's current hour may still grow, and its
 *     rate may not be known to the provider until the hour has passed.
 */
#include "monitor/emission_hours.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

double zeus__hour_floor(double unix_s)
{
    return floor(unix_s / ZEUS__HOUR_S) * ZEUS__HOUR_S;
}

/* ---- Adding energy ---------------------------------------------------------------------- */

static zeus_status reserve(struct zeus__hours *h, unsigned more)
{
    struct zeus__hour_bucket *b;
    unsigned cap = h->cap ? h->cap : 4;

    if (h->n + more <= h->cap)
        return ZEUS_OK;
    while (cap < h->n + more)
        cap *= 2;
    b = realloc(h->b, (size_t)cap * sizeof *b);
    if (b == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory for the hour buckets");
    h->b = b;
    h->cap = cap;
    return ZEUS_OK;
}

/* The bucket of hour `hour_s`, made (in hour order, zeroed) when missing; capacity reserved. */
static struct zeus__hour_bucket *bucket_at(struct zeus__hours *h, double hour_s)
{
    unsigned i = h->n;

    while (i > 0 && h->b[i - 1].hour_s > hour_s)
        i--;
    if (i > 0 && h->b[i - 1].hour_s == hour_s)
        return &h->b[i - 1];
    memmove(&h->b[i + 1], &h->b[i], (size_t)(h->n - i) * sizeof *h->b);
    memset(&h->b[i], 0, sizeof *h->b);
    h->b[i].hour_s = hour_s;
    h->n++;
    return &h->b[i];
}

static void add_share(struct zeus__hour_bucket *b, const zeus_measurement *seg, double share)
{
    for (unsigned i = 0; i < seg->gpu_count && i < ZEUS_MAX_GPUS; i++)
        b->gpu_j[i] += seg->gpu_energy_j[i] * share;
    for (unsigned i = 0; i < seg->cpu_count && i < ZEUS_MAX_CPUS; i++) {
        b->cpu_j[i] += seg->cpu_energy_j[i] * share;
        b->dram_j[i] += seg->dram_energy_j[i] * share;
    }
}

zeus_status zeus__hours_add(struct zeus__hours *h, const zeus_measurement *seg, double t0,
                            double t1)
{
    double first = zeus__hour_floor(t0), last = zeus__hour_floor(t1);
    double spread = (last - first) / ZEUS__HOUR_S;
    zeus_status s;

    if (!(t1 > t0) || !(spread >= 1)) {
        last = first; /* one hour, or a clock that went back: the hour the segment began */
        spread = 0;
    } else if (spread > ZEUS__MAX_SPREAD_HOURS) {
        first = last;
        spread = 0;
    }
    s = reserve(h, (unsigned)spread + 1);
    if (s != ZEUS_OK)
        return s;
    for (double hour = first; hour <= last; hour += ZEUS__HOUR_S) {
        double share = 1.0;

        if (spread > 0)
            share = (fmin(t1, hour + ZEUS__HOUR_S) - fmax(t0, hour)) / (t1 - t0);
        add_share(bucket_at(h, hour), seg, share);
    }
    for (unsigned i = 0; i < h->n; i++)
        if (h->b[i].hour_s < last)
            h->b[i].closed = 1;
    return ZEUS_OK;
}

void zeus__hours_close_all(struct zeus__hours *h)
{
    for (unsigned i = 0; i < h->n; i++)
        h->b[i].closed = 1;
}

/* ---- Pricing ---------------------------------------------------------------------------- */

double zeus__hours_next_unpriced(const struct zeus__hours *h, double after_s)
{
    for (unsigned i = 0; i < h->n; i++)
        if (h->b[i].closed && !h->b[i].priced && h->b[i].hour_s >= after_s)
            return h->b[i].hour_s;
    return NAN;
}

unsigned zeus__hours_price(struct zeus__hours *h, double hour_s, double rate, uint32_t flags)
{
    unsigned priced = 0;

    for (unsigned i = 0; i < h->n; i++) {
        struct zeus__hour_bucket *b = &h->b[i];

        if (b->hour_s == hour_s && b->closed && !b->priced) {
            b->priced = 1;
            b->rate = rate;
            b->flags = flags;
            priced++;
        }
    }
    return priced;
}

/* ---- Summing ---------------------------------------------------------------------------- */

/* Energy in J at `rate` per kWh. */
static double amount(double energy_j, double rate)
{
    return energy_j / 3.6e6 * rate;
}

void zeus__hours_fill(const struct zeus__hours *h, const zeus_measurement *ident,
                      zeus_emission_measurement *out)
{
    out->gpu_count = ident->gpu_count;
    out->cpu_count = ident->cpu_count;
    for (unsigned i = 0; i < ident->gpu_count; i++) {
        out->gpu_index[i] = ident->gpu_index[i];
        out->gpu_energy_j[i] = out->gpu_amount[i] = 0;
    }
    for (unsigned i = 0; i < ident->cpu_count; i++) {
        int has_dram = !isnan(ident->dram_energy_j[i]);

        out->cpu_index[i] = ident->cpu_index[i];
        out->cpu_energy_j[i] = out->cpu_amount[i] = 0;
        out->dram_energy_j[i] = out->dram_amount[i] = has_dram ? 0 : NAN;
    }
    out->hours = h->n;
    out->pending_hours = 0;
    out->flags = 0;
    out->total_amount = 0;
    for (unsigned k = 0; k < h->n; k++) {
        const struct zeus__hour_bucket *b = &h->b[k];

        for (unsigned i = 0; i < ident->gpu_count; i++)
            out->gpu_energy_j[i] += b->gpu_j[i];
        for (unsigned i = 0; i < ident->cpu_count; i++) {
            out->cpu_energy_j[i] += b->cpu_j[i];
            out->dram_energy_j[i] += b->dram_j[i];
        }
        if (!b->priced) {
            out->pending_hours++;
            continue;
        }
        out->flags |= b->flags;
        for (unsigned i = 0; i < ident->gpu_count; i++)
            out->gpu_amount[i] += amount(b->gpu_j[i], b->rate);
        for (unsigned i = 0; i < ident->cpu_count; i++) {
            out->cpu_amount[i] += amount(b->cpu_j[i], b->rate);
            out->dram_amount[i] += amount(b->dram_j[i], b->rate);
        }
    }
    if (out->pending_hours > 0)
        out->flags |= ZEUS_RATE_PENDING;
    for (unsigned i = 0; i < ident->gpu_count; i++)
        out->total_amount += out->gpu_amount[i];
    for (unsigned i = 0; i < ident->cpu_count; i++) {
        out->total_amount += out->cpu_amount[i];
        if (!isnan(ident->dram_energy_j[i]))
            out->total_amount += out->dram_amount[i];
    }
}

void zeus__hours_free(struct zeus__hours *h)
{
    free(h->b);
    memset(h, 0, sizeof *h);
}
