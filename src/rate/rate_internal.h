/*
 * rate_internal.h - What every rate provider fills in: the ops table behind zeus_rate_provider
 * (zeus/rate.h), and each built-in provider's open function.
 *
 * rate.c owns the handle: it parses the spec, picks the provider, holds the lock that makes
 * every call thread-safe (so a provider's ops never run on two threads at once), floors hours
 * to the update period and answers the accessors. A provider only knows its own source.
 */
#ifndef ZEUS_RATE_INTERNAL_H
#define ZEUS_RATE_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "zeus/rate.h"

typedef struct zeus__rate_ops {
    /* The rate of the period starting at `start_s` (already floored). */
    zeus_status (*rate_at)(zeus_rate_provider *p, double start_s, double *value, uint32_t *flags);
    /* NULL: the rate of the current period. */
    zeus_status (*current)(zeus_rate_provider *p, double *value);
    /* NULL: the current period's point only. */
    zeus_status (*history)(zeus_rate_provider *p, zeus_rate_point *points, size_t cap,
                           size_t *count);
    /* Frees p->state; NULL when there is nothing to free. */
    void (*destroy)(zeus_rate_provider *p);
} zeus__rate_ops;

struct zeus_rate_provider {
    const zeus__rate_ops *ops;
    void *state;
    zeus_rate_kind kind;
    double update_period_s;
    size_t history_length;
    char currency[8]; /* ISO 4217 (price), "" (carbon) */
    char unit[24];    /* "gCO2eq/kWh", "USD/kWh" */
    pthread_mutex_t lock;
};

/* Set currency (price only) and the unit string from it. NULL or "" means USD. */
void zeus__rate_set_currency(zeus_rate_provider *p, const char *code);

/* A location as the spec gave it, and as Zeus's Python would print it in a URL: an integer
 * as written ("38"), anything else as repr(float) ("42.2776"). */
typedef struct zeus__rate_location {
    double lat, lon;
    char lat_s[40], lon_s[40];
} zeus__rate_location;

/* Parse "LAT,LON" (the whole of `s` up to `end`, or to the NUL when end is NULL). Only
 * finiteness is checked: the service judges the rest (Zeus's tests send -100,-100). */
zeus_status zeus__rate_parse_location(const char *s, const char *end, zeus__rate_location *loc);

/* Check a rate read from a source: finite, and not negative for carbon. `what` names it. */
zeus_status zeus__rate_check_value(zeus_rate_kind kind, double v, const char *what);

/* Wall-clock seconds: the real clock, or the one a test set (NULL restores the real one). */
double zeus__rate_now_s(void);
void zeus__rate_set_clock(double (*now_s)(void));

/* The base URL from env `var` when set, else `dflt`, without trailing slashes; malloc'd. */
char *zeus__rate_base_url(const char *var, const char *dflt);

/* The built-in providers: each parses its part of the spec (after "name:") into p. */
zeus_status zeus__rate_fixed_open(zeus_rate_provider *p, const char *arg);
zeus_status zeus__rate_csv_open(zeus_rate_provider *p, const char *arg);
zeus_status zeus__rate_electricitymaps_open(zeus_rate_provider *p, const char *arg);
zeus_status zeus__rate_openei_open(zeus_rate_provider *p, const char *arg);

#endif /* ZEUS_RATE_INTERNAL_H */
