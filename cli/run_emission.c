/*
 * run_emission.c - `zeus run --carbon PROVIDER --price PROVIDER`: grams of CO2 and the cost
 * of each measured run, from emission windows (zeus/emission.h) opened on the run's own
 * monitor beside its plain window, so no second sampler runs.
 *
 * Concept: report the emission window's amounts. Reality: the emission window begins a moment
 * after the run's plain window and ends a moment before it, so its energy differs from the
 * reported energy by microseconds of power, and `grams == energy in kWh x 400` would be off
 * in the last digits. Each device's amount is therefore reported for the plain window's
 * energy at the rate the emission window found for that device (its amount / its energy,
 * the energy-weighted rate over the hours the run spanned). A device with no energy in the
 * emission window keeps the emission window's amount.
 *
 * A provider that has not answered by the end of the run (down, or no value for an hour)
 * leaves that kind's amounts null in JSON and "pending" in the table, with a warning: the
 * command has ended, and a partial sum would read as the whole.
 */
#include "run_emission.h"

#include <math.h>
#include <string.h>

#include "cli.h"

static const char *const kind_option[CLI_EMISSION_KINDS] = {"--carbon", "--price"};

int cli_emission_wanted(const struct cli_emission *e)
{
    return e->spec[CLI_CARBON] != NULL || e->spec[CLI_PRICE] != NULL;
}

/* ---- Opening and closing ---------------------------------------------------------------- */

static int open_kind(struct cli_emission *e, int k, zeus_monitor *mon, const char *cmd)
{
    zeus_emission_options o;
    zeus_status s;

    s = zeus_rate_provider_open(e->spec[k], k == CLI_CARBON ? ZEUS_RATE_CARBON : ZEUS_RATE_PRICE,
                                &e->provider[k]);
    if (s != ZEUS_OK) {
        fprintf(stderr, "zeus %s: %s %s: %s\n", cmd, kind_option[k], e->spec[k],
                zeus_last_error());
        return s == ZEUS_ERR_INVALID_ARGUMENT ? CLI_EXIT_USAGE : CLI_EXIT_RUN_FAILED;
    }
    zeus_emission_options_init(&o);
    o.monitor = mon;
    if (zeus_emission_monitor_create(e->provider[k], &o, &e->em[k]) != ZEUS_OK) {
        fprintf(stderr, "zeus %s: %s: %s\n", cmd, kind_option[k], zeus_last_error());
        return CLI_EXIT_RUN_FAILED;
    }
    return 0;
}

int cli_emission_open(struct cli_emission *e, zeus_monitor *mon, const char *cmd)
{
    for (int k = 0; k < CLI_EMISSION_KINDS; k++) {
        int rc = e->spec[k] != NULL ? open_kind(e, k, mon, cmd) : 0;

        if (rc != 0) {
            cli_emission_close(e);
            return rc;
        }
    }
    return 0;
}

void cli_emission_close(struct cli_emission *e)
{
    for (int k = 0; k < CLI_EMISSION_KINDS; k++) {
        zeus_emission_monitor_destroy(e->em[k]);
        zeus_rate_provider_close(e->provider[k]);
        e->em[k] = NULL;
        e->provider[k] = NULL;
    }
}

/* ---- Windows ---------------------------------------------------------------------------- */

int cli_emission_begin(struct cli_emission *e, const char *key)
{
    for (int k = 0; k < CLI_EMISSION_KINDS; k++)
        if (e->em[k] != NULL && zeus_emission_monitor_begin_window(e->em[k], key) != ZEUS_OK) {
            fprintf(stderr, "zeus run: cannot start measuring %s: %s\n", kind_option[k] + 2,
                    zeus_last_error());
            cli_emission_cancel(e, key); /* those begun before */
            return -1;
        }
    return 0;
}

void cli_emission_cancel(struct cli_emission *e, const char *key)
{
    for (int k = 0; k < CLI_EMISSION_KINDS; k++) {
        zeus_emission_measurement m;

        memset(&m, 0, sizeof m);
        m.size = sizeof m;
        if (e->em[k] != NULL && zeus_emission_monitor_end_window(e->em[k], key, &m) != ZEUS_ERR_NOT_FOUND)
            zeus_emission_monitor_forget(e->em[k], m.window_id);
    }
}

/* The plain window's energy at the emission window's rate for that device (head note). */
static double rescale(double amount, double em_j, double plain_j)
{
    if (isfinite(em_j) && em_j > 0 && isfinite(plain_j) && isfinite(amount))
        return plain_j * (amount / em_j);
    return amount;
}

static void rescale_all(zeus_emission_measurement *m, const zeus_measurement *plain)
{
    double total = 0;

    for (unsigned i = 0; i < m->gpu_count && i < plain->gpu_count; i++)
        total += m->gpu_amount[i] = rescale(m->gpu_amount[i], m->gpu_energy_j[i],
                                            plain->gpu_energy_j[i]);
    for (unsigned i = 0; i < m->cpu_count && i < plain->cpu_count; i++) {
        total += m->cpu_amount[i] = rescale(m->cpu_amount[i], m->cpu_energy_j[i],
                                            plain->cpu_energy_j[i]);
        m->dram_amount[i] = rescale(m->dram_amount[i], m->dram_energy_j[i],
                                    plain->dram_energy_j[i]);
        if (!isnan(m->dram_energy_j[i]))
            total += m->dram_amount[i];
    }
    m->total_amount = total;
}

void cli_emission_end(struct cli_emission *e, const char *key, const zeus_measurement *energy,
                      struct cli_emission_result *r)
{
    memset(r, 0, sizeof *r);
    for (int k = 0; k < CLI_EMISSION_KINDS; k++) {
        zeus_emission_measurement *m = &r->m[k];
        zeus_status s;

        if (e->em[k] == NULL)
            continue;
        m->size = sizeof *m;
        s = zeus_emission_monitor_end_window(e->em[k], key, m);
        if (s == ZEUS_ERR_NOT_FOUND || s == ZEUS_ERR_INVALID_ARGUMENT) {
            fprintf(stderr, "zeus run: %s lost: %s\n", kind_option[k] + 2, zeus_last_error());
            continue;
        }
        r->have[k] = 1;
        if (s != ZEUS_OK)
            fprintf(stderr, "zeus: warning: %s: %s\n", kind_option[k] + 2, zeus_last_error());
        zeus_emission_monitor_forget(e->em[k], m->window_id);
        rescale_all(m, energy);
    }
}

/* ---- Reporting -------------------------------------------------------------------------- */

static const char *title(int k, const zeus_emission_measurement *m, char *buf, size_t len)
{
    if (k == CLI_CARBON)
        return "carbon (gCO2eq)";
    snprintf(buf, len, "cost (%s)", m->currency);
    return buf;
}

static void amount_row(FILE *f, const char *kind, long index, double v, int pending)
{
    char label[32];

    if (index >= 0)
        snprintf(label, sizeof label, "%s %ld", kind, index);
    else
        snprintf(label, sizeof label, "%s", kind);
    if (pending)
        fprintf(f, "  %-10s %14s\n", label, "pending");
    else if (isnan(v))
        fprintf(f, "  %-10s %14s\n", label, "n/a");
    else
        fprintf(f, "  %-10s %14.6g\n", label, v);
}

void cli_emission_table(FILE *f, const struct cli_emission_result *r)
{
    for (int k = 0; k < CLI_EMISSION_KINDS; k++) {
        const zeus_emission_measurement *m = &r->m[k];
        int pending = m->pending_hours > 0;
        char buf[32];

        if (!r->have[k])
            continue;
        fprintf(f, "  %-10s %14s%s%s\n", "device", title(k, m, buf, sizeof buf),
                (m->flags & ZEUS_RATE_ESTIMATED) ? "  (estimated: some hours lacked a rate)" : "",
                (m->flags & ZEUS_RATE_STALE) ? "  (stale: the provider was unreachable)" : "");
        for (unsigned i = 0; i < m->gpu_count; i++)
            amount_row(f, "GPU", m->gpu_index[i], m->gpu_amount[i], pending);
        for (unsigned i = 0; i < m->cpu_count; i++)
            amount_row(f, "CPU", m->cpu_index[i], m->cpu_amount[i], pending);
        for (unsigned i = 0; i < m->cpu_count; i++)
            if (!isnan(m->dram_energy_j[i]))
                amount_row(f, "DRAM", m->cpu_index[i], m->dram_amount[i], pending);
        amount_row(f, "total", -1, m->total_amount, pending);
    }
}

static cJSON *number_or_null(double v, int pending)
{
    return pending || !isfinite(v) ? cJSON_CreateNull() : cJSON_CreateNumber(v);
}

static int add_indexed(cJSON *obj, unsigned index, double v, int pending)
{
    char key[16];
    cJSON *item = number_or_null(v, pending);

    snprintf(key, sizeof key, "%u", index);
    if (item == NULL || !cJSON_AddItemToObject(obj, key, item)) {
        cJSON_Delete(item);
        return -1;
    }
    return 0;
}

static int add_flags(cJSON *obj, uint32_t flags)
{
    static const struct {
        uint32_t bit;
        const char *name;
    } names[] = {{ZEUS_RATE_ESTIMATED, "estimated"}, {ZEUS_RATE_STALE, "stale"},
                 {ZEUS_RATE_PENDING, "pending"}};
    cJSON *list = cJSON_AddArrayToObject(obj, "flags");
    int rc = list != NULL ? 0 : -1;

    for (size_t i = 0; rc == 0 && i < sizeof names / sizeof names[0]; i++)
        if (flags & names[i].bit) {
            cJSON *s = cJSON_CreateString(names[i].name);
            rc = s != NULL && cJSON_AddItemToArray(list, s) ? 0 : -1;
        }
    return rc;
}

/* {"gpu": {...}, "cpu": {...}, "dram": {...}, "total": X, "hours": N, "flags": [...]} */
static int add_kind(cJSON *obj, const char *name, const zeus_emission_measurement *m, int cost)
{
    cJSON *o = cJSON_AddObjectToObject(obj, name);
    cJSON *gpu = o != NULL ? cJSON_AddObjectToObject(o, "gpu") : NULL;
    cJSON *cpu = o != NULL ? cJSON_AddObjectToObject(o, "cpu") : NULL;
    cJSON *dram = o != NULL ? cJSON_AddObjectToObject(o, "dram") : NULL;
    cJSON *total;
    int pending = m->pending_hours > 0, rc = 0;

    if (gpu == NULL || cpu == NULL || dram == NULL)
        return -1;
    for (unsigned i = 0; i < m->gpu_count; i++)
        rc |= add_indexed(gpu, m->gpu_index[i], m->gpu_amount[i], pending);
    for (unsigned i = 0; i < m->cpu_count; i++) {
        rc |= add_indexed(cpu, m->cpu_index[i], m->cpu_amount[i], pending);
        if (!isnan(m->dram_energy_j[i]))
            rc |= add_indexed(dram, m->cpu_index[i], m->dram_amount[i], pending);
    }
    total = number_or_null(m->total_amount, pending);
    if (total == NULL || !cJSON_AddItemToObject(o, "total", total)) {
        cJSON_Delete(total);
        return -1;
    }
    if (cost && cJSON_AddStringToObject(o, "currency", m->currency) == NULL)
        return -1;
    if (cJSON_AddNumberToObject(o, "hours", m->hours) == NULL)
        return -1;
    if (pending && cJSON_AddNumberToObject(o, "pending_hours", m->pending_hours) == NULL)
        return -1;
    return rc | add_flags(o, m->flags);
}

int cli_emission_json(cJSON *obj, const struct cli_emission_result *r)
{
    int rc = 0;

    if (r->have[CLI_CARBON])
        rc |= add_kind(obj, "carbon_g", &r->m[CLI_CARBON], 0);
    if (r->have[CLI_PRICE])
        rc |= add_kind(obj, "cost", &r->m[CLI_PRICE], 1);
    return rc;
}
