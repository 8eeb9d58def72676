/*
 * report.c - How the `zeus` command shows a measurement: a table for people, a JSON object
 * for programs, and the warning callback the monitors print through.
 *
 * Absent is not zero: a value the library reports as NAN (a device that failed, a CPU
 * without a DRAM zone) prints as "n/a" in the table and null in JSON, and is left out of the
 * total rather than poisoning it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

/* ---- Totals ----------------------------------------------------------------------------- */

static double add_valid(double sum, double v, unsigned *valid)
{
    if (isnan(v))
        return sum;
    (*valid)++;
    return sum + v;
}

/*
 * NAN when devices were measured but none gave a value: a 0 there would read as real.
 * With no GPU or CPU package measured but a SoC (a Jetson: no NVML, no RAPL), the total is
 * the board's total rail, NAN where the board has none (its cpu and gpu rails are not the
 * whole board).
 */
double cli_measurement_all_energy(const zeus_measurement *m)
{
    double sum = 0.0;
    unsigned valid = 0;

    if (m->gpu_count + m->cpu_count == 0 && m->soc_count > 0)
        return m->soc_energy_j[ZEUS_SOC_RAIL_TOTAL];

    for (unsigned i = 0; i < m->gpu_count; i++)
        sum = add_valid(sum, m->gpu_energy_j[i], &valid);
    for (unsigned i = 0; i < m->cpu_count; i++) {
        sum = add_valid(sum, m->cpu_energy_j[i], &valid);
        sum = add_valid(sum, m->dram_energy_j[i], &valid);
    }
    return valid == 0 && m->gpu_count + m->cpu_count > 0 ? NAN : sum;
}

/* ---- Table ------------------------------------------------------------------------------ */

/* A short note on how a value was obtained, when that is something a reader should know. */
static const char *flag_note(uint32_t flags)
{
    if (flags & ZEUS_ENERGY_UNSUPPORTED)
        return "  (cannot measure energy)";
    if (flags & ZEUS_ENERGY_FAILED)
        return "  (device failed to answer)";
    if (flags & ZEUS_ENERGY_ESTIMATED)
        return "  (estimated from instant power)";
    if (flags & ZEUS_ENERGY_ZERO)
        return "  (read 0: shorter than the counter's update step)";
    if (flags & ZEUS_ENERGY_WRAPPED)
        return "  (counter wrapped; widened)";
    if (flags & ZEUS_ENERGY_MODULE_SCOPE)
        return "  (whole module: CPU + GPU)";
    if (flags & ZEUS_ENERGY_WHOLE_GPU)
        return "  (whole GPU: MIG)";
    return "";
}

/* One line of the table; `index` < 0 for a line that is no device (the total). */
static void table_row(FILE *f, const char *kind, long index, double energy_j, double time_s,
                      uint32_t flags)
{
    char label[32];

    if (index >= 0)
        snprintf(label, sizeof label, "%s %ld", kind, index);
    else
        snprintf(label, sizeof label, "%s", kind);
    if (isnan(energy_j)) {
        fprintf(f, "  %-10s %14s %16s%s\n", label, "n/a", "n/a", flag_note(flags));
        return;
    }
    if (time_s > 0)
        fprintf(f, "  %-10s %14.3f %16.1f%s\n", label, energy_j, energy_j / time_s,
                flag_note(flags));
    else
        fprintf(f, "  %-10s %14.3f %16s%s\n", label, energy_j, "n/a", flag_note(flags));
}

/*
 * The SoC's rails (Jetson), one row each. Not added to the total: the SoC's total rail
 * already holds its CPU and GPU rails, and may hold what RAPL or NVML measured too.
 */
static void soc_rows(FILE *f, const zeus_measurement *m)
{
    for (unsigned k = 0; m->soc_count > 0 && k < ZEUS_SOC_RAILS; k++) {
        char label[16];
        snprintf(label, sizeof label, "SoC %s", zeus_soc_rail_name((zeus_soc_rail)k));
        if (m->soc_flags[k] & ZEUS_ENERGY_UNSUPPORTED)
            fprintf(f, "  %-10s %14s %16s  (no such rail on this board)\n", label, "n/a", "n/a");
        else
            table_row(f, label, -1, m->soc_energy_j[k], m->time_s, m->soc_flags[k]);
    }
}

void cli_report_table(FILE *f, const zeus_measurement *m)
{
    double total_j = cli_measurement_all_energy(m);

    fprintf(f, "  %-10s %12.3f s\n", "time", m->time_s);
    if (m->gpu_count == 0 && m->cpu_count == 0 && m->soc_count == 0) {
        fprintf(f, "  no devices were measured\n");
        return;
    }
    fprintf(f, "  %-10s %14s %16s\n", "device", "energy (J)", "avg power (W)");
    for (unsigned i = 0; i < m->gpu_count; i++)
        table_row(f, "GPU", m->gpu_index[i], m->gpu_energy_j[i], m->time_s, m->gpu_flags[i]);
    for (unsigned i = 0; i < m->cpu_count; i++)
        table_row(f, "CPU", m->cpu_index[i], m->cpu_energy_j[i], m->time_s, m->cpu_flags[i]);
    for (unsigned i = 0; i < m->cpu_count; i++)
        if (!isnan(m->dram_energy_j[i]) || (m->dram_flags[i] & ZEUS_ENERGY_FAILED))
            table_row(f, "DRAM", m->cpu_index[i], m->dram_energy_j[i], m->time_s,
                      m->dram_flags[i]);
    soc_rows(f, m);
    table_row(f, "total", -1, total_j, m->time_s, 0);
}

/* ---- JSON ------------------------------------------------------------------------------- */

/*
 * Round to the precision the hardware has (NVML's counter counts millijoules), so that JSON
 * carries 500.8 rather than 500.80000000000001.
 */
static double rounded(double v, double step)
{
    return round(v / step) * step;
}

static int add_energy(cJSON *obj, unsigned index, double energy_j)
{
    char key[16];

    snprintf(key, sizeof key, "%u", index);
    if (isnan(energy_j))
        return cJSON_AddNullToObject(obj, key) != NULL ? 0 : -1;
    return cJSON_AddNumberToObject(obj, key, rounded(energy_j, 1e-3)) != NULL ? 0 : -1;
}

/*
 * "soc_energy_j": {"cpu": J, "gpu": J, "total": J}, null for a rail the board lacks or that
 * failed; no key at all without a SoC, so reports from other machines keep their shape.
 */
static int add_soc_energies(cJSON *obj, const zeus_measurement *m)
{
    cJSON *soc;
    int rc = 0;

    if (m->soc_count == 0)
        return 0;
    if ((soc = cJSON_AddObjectToObject(obj, "soc_energy_j")) == NULL)
        return -1;
    for (unsigned k = 0; k < ZEUS_SOC_RAILS; k++) {
        const char *key = zeus_soc_rail_name((zeus_soc_rail)k);
        double e = m->soc_energy_j[k];
        rc |= (isnan(e) ? cJSON_AddNullToObject(soc, key)
                        : cJSON_AddNumberToObject(soc, key, rounded(e, 1e-3))) != NULL ? 0 : -1;
    }
    return rc;
}

static int add_energies(cJSON *obj, const zeus_measurement *m)
{
    cJSON *gpu = cJSON_AddObjectToObject(obj, "gpu_energy_j");
    cJSON *cpu = cJSON_AddObjectToObject(obj, "cpu_energy_j");
    cJSON *dram = cJSON_AddObjectToObject(obj, "dram_energy_j");
    int rc = 0;

    if (gpu == NULL || cpu == NULL || dram == NULL)
        return -1;
    for (unsigned i = 0; i < m->gpu_count; i++)
        rc |= add_energy(gpu, m->gpu_index[i], m->gpu_energy_j[i]);
    for (unsigned i = 0; i < m->cpu_count; i++) {
        rc |= add_energy(cpu, m->cpu_index[i], m->cpu_energy_j[i]);
        /* a package without a DRAM zone has no DRAM entry, rather than a null one */
        if (!isnan(m->dram_energy_j[i]) || (m->dram_flags[i] & ZEUS_ENERGY_FAILED))
            rc |= add_energy(dram, m->cpu_index[i], m->dram_energy_j[i]);
    }
    return rc | add_soc_energies(obj, m);
}

int cli_report_json_total(cJSON *obj, const zeus_measurement *m, double total_j)
{
    cJSON *t;

    if (cJSON_AddNumberToObject(obj, "time_s", rounded(m->time_s, 1e-6)) == NULL)
        return -1;
    if (add_energies(obj, m) != 0)
        return -1;
    t = isnan(total_j) ? cJSON_AddNullToObject(obj, "total_energy_j")
                       : cJSON_AddNumberToObject(obj, "total_energy_j", rounded(total_j, 1e-3));
    return t != NULL ? 0 : -1;
}

int cli_report_json(cJSON *obj, const zeus_measurement *m)
{
    return cli_report_json_total(obj, m, cli_measurement_all_energy(m));
}

int cli_print_json(const cJSON *obj)
{
    char *text = cJSON_PrintUnformatted(obj);

    if (text == NULL)
        return -1;
    printf("%s\n", text);
    cJSON_free(text);
    return fflush(stdout) == 0 ? 0 : -1;
}

/* ---- Warnings --------------------------------------------------------------------------- */

void cli_warn(const char *message, void *user)
{
    (void)user;
    /* one fprintf call, so that a warning from a background thread is not torn */
    fprintf(stderr, "zeus: warning: %s\n", message);
}
