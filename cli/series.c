/*
 * series.c - Statistics over the runs of `zeus run -r N`: for the time, each device's energy
 * and the total, the count, mean, sample standard deviation, min and max, and how they are
 * shown (a table on stderr in the spirit of `perf stat -r`, objects in the JSON report).
 *
 * The statistics are updated run by run with Welford's method, so a long series keeps no
 * memory per run and the standard deviation does not lose its digits to cancellation, as
 * sum(x^2) - n*mean^2 does when the runs differ little (the usual case for a benchmark).
 * As in a single run's report, absent is not zero: a NAN value (a device that failed in that
 * run) is left out of its statistic, whose count then says how many runs it covers.
 *
 * A SoC's rails (a Jetson's cpu, gpu and total) get statistics of their own, as the devices
 * do; like a single run's rows they are not added to the total unless the SoC is all that
 * was measured (cli_measurement_all_energy). A rail the board lacks has no statistic: "n/a"
 * with the reason in the table, null in JSON.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* ---- One statistic -------------------------------------------------------------------- */

static void stat_add(struct cli_stat *st, double v)
{
    double delta;

    if (isnan(v))
        return;
    if (st->n == 0 || v < st->min)
        st->min = v;
    if (st->n == 0 || v > st->max)
        st->max = v;
    st->n++;
    delta = v - st->mean;
    st->mean += delta / st->n;
    st->m2 += delta * (v - st->mean);
}

/* Each returns NAN when no run gave a value, so that it prints as "n/a" or null. */
static double stat_mean(const struct cli_stat *st)
{
    return st->n > 0 ? st->mean : NAN;
}

/* Sample standard deviation (n - 1 denominator, as perf stat); 0 for a single run. */
static double stat_stddev(const struct cli_stat *st)
{
    if (st->n == 0)
        return NAN;
    return st->n > 1 ? sqrt(st->m2 / (st->n - 1)) : 0.0;
}

static double stat_min(const struct cli_stat *st)
{
    return st->n > 0 ? st->min : NAN;
}

static double stat_max(const struct cli_stat *st)
{
    return st->n > 0 ? st->max : NAN;
}

/* ---- The series ----------------------------------------------------------------------- */

void cli_series_init(struct cli_series *s)
{
    memset(s, 0, sizeof *s);
}

/* A package's DRAM row is shown when a single run's report would show it (report.c). */
static int dram_reported(const zeus_measurement *m, unsigned i)
{
    return !isnan(m->dram_energy_j[i]) || (m->dram_flags[i] & ZEUS_ENERGY_FAILED);
}

void cli_series_add(struct cli_series *s, const zeus_measurement *m)
{
    /* every run comes from one monitor, so the devices and their order never change */
    if (s->runs++ == 0)
        s->shape = *m;
    stat_add(&s->time, m->time_s);
    stat_add(&s->total, cli_measurement_all_energy(m));
    for (unsigned i = 0; i < m->gpu_count; i++)
        stat_add(&s->gpu[i], m->gpu_energy_j[i]);
    for (unsigned i = 0; i < m->cpu_count; i++) {
        stat_add(&s->cpu[i], m->cpu_energy_j[i]);
        stat_add(&s->dram[i], m->dram_energy_j[i]);
        s->dram_shown[i] |= dram_reported(m, i);
    }
    for (unsigned k = 0; m->soc_count > 0 && k < ZEUS_SOC_RAILS; k++)
        stat_add(&s->soc[k], m->soc_energy_j[k]);
}

/* ---- Table ---------------------------------------------------------------------------- */

/*
 * One row: mean +- stddev (relative, as perf stat prints it), min, max. `digits` is 4 for
 * the time, whose spread between runs is often under a millisecond, and 3 for joules.
 */
static void stat_row(FILE *f, const char *label, const struct cli_stat *st, int digits,
                     unsigned runs)
{
    double sd = stat_stddev(st);
    char rel[16] = "";

    if (st->n == 0) {
        fprintf(f, "  %-13s %14s\n", label, "n/a");
        return;
    }
    if (st->mean != 0)
        snprintf(rel, sizeof rel, "(%5.1f%%)", 100.0 * sd / fabs(st->mean));
    fprintf(f, "  %-13s %14.*f  +- %10.*f %8s %14.*f %14.*f", label, digits, st->mean, digits,
            sd, rel, digits, st->min, digits, st->max);
    if (st->n < runs)
        fprintf(f, "  (%u of %u runs)", st->n, runs);
    fputc('\n', f);
}

static void device_row(FILE *f, const char *kind, unsigned index, const struct cli_stat *st,
                       unsigned runs)
{
    char label[32];

    snprintf(label, sizeof label, "%s %u (J)", kind, index);
    stat_row(f, label, st, 3, runs);
}

/* A row per SoC rail; one the board lacks (in every run) says so rather than n/a alone. */
static void soc_rows(FILE *f, const struct cli_series *s)
{
    for (unsigned k = 0; s->shape.soc_count > 0 && k < ZEUS_SOC_RAILS; k++) {
        char label[32];

        snprintf(label, sizeof label, "SoC %s (J)", zeus_soc_rail_name((zeus_soc_rail)k));
        if (s->soc[k].n == 0 && (s->shape.soc_flags[k] & ZEUS_ENERGY_UNSUPPORTED))
            fprintf(f, "  %-13s %14s  (no such rail on this board)\n", label, "n/a");
        else
            stat_row(f, label, &s->soc[k], 3, s->runs);
    }
}

void cli_series_table(FILE *f, const struct cli_series *s)
{
    const zeus_measurement *m = &s->shape;

    if (s->runs == 0) {
        fprintf(f, "  no run succeeded: no statistics\n");
        return;
    }
    fprintf(f, "  %-13s %14s  %13s %8s %14s %14s\n", "", "mean", "stddev", "", "min", "max");
    stat_row(f, "time (s)", &s->time, 4, s->runs);
    if (m->gpu_count == 0 && m->cpu_count == 0 && m->soc_count == 0) {
        fprintf(f, "  no devices were measured\n");
        return;
    }
    for (unsigned i = 0; i < m->gpu_count; i++)
        device_row(f, "GPU", m->gpu_index[i], &s->gpu[i], s->runs);
    for (unsigned i = 0; i < m->cpu_count; i++)
        device_row(f, "CPU", m->cpu_index[i], &s->cpu[i], s->runs);
    for (unsigned i = 0; i < m->cpu_count; i++)
        if (s->dram_shown[i])
            device_row(f, "DRAM", m->cpu_index[i], &s->dram[i], s->runs);
    soc_rows(f, s);
    stat_row(f, "total (J)", &s->total, 3, s->runs);
}

/* ---- JSON ----------------------------------------------------------------------------- */

/*
 * One statistic laid out as a measurement, so that its JSON object has exactly a single
 * run's keys (cli_report_json_total). A package whose DRAM was reported keeps its key: the
 * FAILED flag makes report.c write null for a DRAM statistic no run gave a value for.
 */
static void stat_measurement(const struct cli_series *s, double (*value)(const struct cli_stat *),
                             zeus_measurement *out)
{
    *out = s->shape;
    out->time_s = value(&s->time);
    for (unsigned i = 0; i < out->gpu_count; i++)
        out->gpu_energy_j[i] = value(&s->gpu[i]);
    for (unsigned i = 0; i < out->cpu_count; i++) {
        out->cpu_energy_j[i] = value(&s->cpu[i]);
        out->dram_energy_j[i] = value(&s->dram[i]);
        out->dram_flags[i] = s->dram_shown[i] ? ZEUS_ENERGY_FAILED : 0;
    }
    for (unsigned k = 0; k < ZEUS_SOC_RAILS; k++) /* NAN (null) where no run had the rail */
        out->soc_energy_j[k] = out->soc_count > 0 ? value(&s->soc[k]) : NAN;
}

static int add_stat_object(cJSON *obj, const char *key, const struct cli_series *s,
                           double (*value)(const struct cli_stat *))
{
    zeus_measurement m;
    cJSON *o;

    if (s->runs == 0) /* no run succeeded: there is no statistic to give */
        return cJSON_AddNullToObject(obj, key) != NULL ? 0 : -1;
    if ((o = cJSON_AddObjectToObject(obj, key)) == NULL)
        return -1;
    stat_measurement(s, value, &m);
    return cli_report_json_total(o, &m, value(&s->total));
}

int cli_series_json(cJSON *obj, const struct cli_series *s)
{
    if (add_stat_object(obj, "mean", s, stat_mean) != 0 ||
        add_stat_object(obj, "stddev", s, stat_stddev) != 0 ||
        add_stat_object(obj, "min", s, stat_min) != 0 ||
        add_stat_object(obj, "max", s, stat_max) != 0)
        return -1;
    return 0;
}
