/*
 * zeus/rate.h - Carbon-intensity and electricity-price providers.
 *
 * A rate provider answers one question: what did a kWh cost in the UTC hour starting at T,
 * in grams of CO2-equivalent (carbon) or in a currency (price)? Zeus has one interface per
 * kind (CarbonIntensityProvider, and OpenEIClient for prices); here both kinds share one,
 * because the monitors that use them (zeus/emission.h) only multiply energy by a rate.
 *
 *     zeus_rate_provider *p;
 *     if (zeus_rate_provider_open("electricitymaps:42.28,-83.74", ZEUS_RATE_CARBON, &p) != ZEUS_OK)
 *         fprintf(stderr, "%s\n", zeus_last_error());
 *     double g_per_kwh; uint32_t flags;
 *     zeus_rate_provider_rate_at(p, hour_start_unix_s, &g_per_kwh, &flags);
 *     zeus_rate_provider_close(p);
 *
 * Network providers use libcurl with a timeout and a bounded number of retries, and cache
 * each answer for the provider's update period. Nothing here prints.
 */
#ifndef ZEUS_RATE_H
#define ZEUS_RATE_H

#include <stddef.h>
#include <stdint.h>

#include "zeus/export.h"
#include "zeus/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zeus_rate_provider zeus_rate_provider;

typedef enum zeus_rate_kind {
    ZEUS_RATE_CARBON = 0, /* grams CO2-equivalent per kWh */
    ZEUS_RATE_PRICE = 1   /* currency units per kWh (zeus_rate_provider_currency) */
} zeus_rate_kind;

/* Bits of the flags a rate comes with (and, OR-ed, of a priced value: zeus/emission.h). */
#define ZEUS_RATE_EXACT (1u << 0)     /* the provider gave this very hour's value */
#define ZEUS_RATE_ESTIMATED (1u << 1) /* the hour was missing: the nearest known hour's value
                                         was used (Zeus raises KeyError instead) */
#define ZEUS_RATE_STALE (1u << 2)     /* the provider could not be reached; a cached answer
                                         older than its update period was used */
#define ZEUS_RATE_PENDING (1u << 3)   /* not priced yet: the provider has been unreachable and
                                         no value for the hour is known; the energy is kept */

/* One point of a provider's recent history. */
typedef struct zeus_rate_point {
    double unix_s; /* start of the hour (or of the CSV row's period), UTC seconds */
    double value;  /* g/kWh or currency/kWh */
} zeus_rate_point;

/*
 * Open a provider from a spec string:
 *   "electricitymaps:LAT,LON"       ElectricityMaps latest + 24 h history (Zeus's URLs and
 *                                   parameters, estimate=True as Zeus's docs require, direct
 *                                   emission factors); the auth-token header from
 *                                   ELECTRICITYMAPS_API_KEY when set. Carbon only.
 *                                   Zeus's constructor options may follow, in any order:
 *                                   ":estimate=False", ":emission_factor=lifecycle".
 *   "openei:LAT,LON:LABEL[:SECTOR[:RADIUS]]" OpenEI utility rates (SECTOR Residential by
 *                                   default, RADIUS 0 miles); the key from OPENEI_API_KEY
 *                                   (required). Price only. The price is the first tier's
 *                                   rate + adj, the schedule read in US local time.
 *   "fixed:VALUE"                   the same rate at every hour (g/kWh or $/kWh).
 *   "csv:FILE"                      rows "timestamp,value" (ISO 8601 or unix seconds), sorted;
 *                                   a row holds until the next one.
 * Base URLs can be replaced with ZEUS_ELECTRICITYMAPS_URL and ZEUS_OPENEI_URL (tests, proxies).
 * The spec is parsed and files are read here; no network request is made until a value is
 * asked for. Errors: ZEUS_ERR_INVALID_ARGUMENT (bad spec, a kind the provider does not serve),
 * ZEUS_ERR_IO (unreadable CSV), with zeus_last_error() naming the problem. Since: 0.1.
 */
ZEUS_API zeus_status zeus_rate_provider_open(const char *spec, zeus_rate_kind kind,
                                             zeus_rate_provider **out);

/* Free the provider. NULL is ignored. Since: 0.1. */
ZEUS_API void zeus_rate_provider_close(zeus_rate_provider *p);

/*
 * The rate of the UTC hour that starts at `hour_unix_s` (a multiple of 3600; other values are
 * floored to their hour). `flags` (may be NULL) gets ZEUS_RATE_* bits. A price schedule
 * (OpenEI) is read in the provider's local time when its answer names a time zone (Zeus uses
 * the UTC month and hour: a quirk). Errors: ZEUS_ERR_PROVIDER_HTTP (unreachable, 401, 429,
 * 5xx after retries, timeout), ZEUS_ERR_PROVIDER_NOT_FOUND (malformed answer, no value for
 * that hour and no nearer one). Thread-safe. Since: 0.1.
 */
ZEUS_API zeus_status zeus_rate_provider_rate_at(zeus_rate_provider *p, double hour_unix_s,
                                                double *value, uint32_t *flags);

/* The current rate (ElectricityMaps "latest"; others: the rate of the current hour). Since: 0.1. */
ZEUS_API zeus_status zeus_rate_provider_current(zeus_rate_provider *p, double *value);

/*
 * Up to `cap` points of recent history, oldest first; `*count` gets how many were written.
 * Providers without a history (fixed, OpenEI) give the current hour's point only. Since: 0.1.
 */
ZEUS_API zeus_status zeus_rate_provider_history(zeus_rate_provider *p, zeus_rate_point *points,
                                                size_t cap, size_t *count);

/* How often the provider's value changes, s (3600 for all built-in ones). Since: 0.1. */
ZEUS_API double zeus_rate_provider_update_period_s(const zeus_rate_provider *p);

/* How many update periods back the provider can answer (ElectricityMaps: 24; 0: any). */
ZEUS_API size_t zeus_rate_provider_history_length(const zeus_rate_provider *p);

/* ZEUS_RATE_CARBON or ZEUS_RATE_PRICE. Since: 0.1. */
ZEUS_API zeus_rate_kind zeus_rate_provider_kind(const zeus_rate_provider *p);

/* "gCO2eq/kWh", or "<currency>/kWh" such as "USD/kWh". Static or provider-owned. Since: 0.1. */
ZEUS_API const char *zeus_rate_provider_unit(const zeus_rate_provider *p);

/* ISO 4217 code of a price provider ("USD"); "" for carbon. Since: 0.1. */
ZEUS_API const char *zeus_rate_provider_currency(const zeus_rate_provider *p);

/*
 * A provider built from callbacks, for sources the library does not know (and for tests).
 * rate_at follows zeus_rate_provider_rate_at's contract; current and destroy may be NULL.
 * Since: 0.1.
 */
typedef struct zeus_rate_callbacks {
    uint32_t size; /* sizeof(zeus_rate_callbacks) */
    zeus_status (*rate_at)(void *user, double hour_unix_s, double *value, uint32_t *flags);
    zeus_status (*current)(void *user, double *value);
    void (*destroy)(void *user);
    double update_period_s; /* 0: 3600 */
    size_t history_length;  /* 0: any */
    const char *currency;   /* price: ISO 4217 code (copied); NULL: "USD". Ignored for carbon. */
} zeus_rate_callbacks;

ZEUS_API zeus_status zeus_rate_provider_from_callbacks(const zeus_rate_callbacks *cb, void *user,
                                                       zeus_rate_kind kind,
                                                       zeus_rate_provider **out);

#ifdef __cplusplus
}
#endif

#endif /* ZEUS_RATE_H */
