/*
 * rate.c - The zeus_rate_provider handle (zeus/rate.h): spec parsing and dispatch to the
 * built-in providers, the lock that makes every call thread-safe, hour flooring, accessors,
 * and providers made from a caller's callbacks.
 *
 * One lock per provider, held across the provider's op (network requests included): two
 * threads asking a network provider for the same hour would otherwise send two requests,
 * and the provider's cache needs no lock of its own.
 */
#include <ctype.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rate/rate_internal.h"
#include "util/error.h"
#include "util/fmt.h"
#include "util/options.h"

#define DEFAULT_PERIOD_S 3600.0

/* ---- Shared helpers ----------------------------------------------------------------------- */

void zeus__rate_set_currency(zeus_rate_provider *p, const char *code)
{
    if (p->kind != ZEUS_RATE_PRICE) {
        p->currency[0] = '\0';
        snprintf(p->unit, sizeof p->unit, "gCO2eq/kWh");
        return;
    }
    snprintf(p->currency, sizeof p->currency, "%s", code != NULL && *code ? code : "USD");
    snprintf(p->unit, sizeof p->unit, "%s/kWh", p->currency);
}

/* Python prints an int as written and a float as repr; the spec's text tells which it was. */
static void format_coord(const char *text, double v, char *buf, size_t len)
{
    const char *t = text + (*text == '+' || *text == '-');

    if (*t != '\0' && strspn(t, "0123456789") == strlen(t) && fabs(v) < 1e15)
        snprintf(buf, len, "%.0f", v);
    else
        zeus__fmt_double(v, buf, len);
}

zeus_status zeus__rate_parse_location(const char *s, const char *end, zeus__rate_location *loc)
{
    size_t n = end != NULL ? (size_t)(end - s) : strlen(s);
    char buf[96], *comma, *e1, *e2;

    if (n == 0 || n >= sizeof buf)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "want LAT,LON, got \"%.*s\"", (int)n, s);
    memcpy(buf, s, n);
    buf[n] = '\0';
    comma = strchr(buf, ',');
    if (comma == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "want LAT,LON, got \"%s\"", buf);
    *comma = '\0';
    loc->lat = strtod(buf, &e1);
    loc->lon = strtod(comma + 1, &e2);
    if (e1 == buf || *e1 != '\0' || e2 == comma + 1 || *e2 != '\0' || !isfinite(loc->lat) ||
        !isfinite(loc->lon))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "want LAT,LON as two numbers, got \"%s,%s\"",
                          buf, comma + 1);
    format_coord(buf, loc->lat, loc->lat_s, sizeof loc->lat_s);
    format_coord(comma + 1, loc->lon, loc->lon_s, sizeof loc->lon_s);
    return ZEUS_OK;
}

zeus_status zeus__rate_check_value(zeus_rate_kind kind, double v, const char *what)
{
    if (!isfinite(v))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "%s is not a finite number", what);
    /* Prices can be negative (surplus hours in some markets); carbon intensity cannot. */
    if (kind == ZEUS_RATE_CARBON && v < 0)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "%s: a carbon intensity cannot be negative (%g)",
                          what, v);
    return ZEUS_OK;
}

char *zeus__rate_base_url(const char *var, const char *dflt)
{
    const char *env = getenv(var);
    const char *base = env != NULL && *env ? env : dflt;
    size_t n = strlen(base);
    char *out;

    while (n > 0 && base[n - 1] == '/')
        n--;
    if ((out = malloc(n + 1)) != NULL) {
        memcpy(out, base, n);
        out[n] = '\0';
    }
    return out;
}

/* ---- Open and close ----------------------------------------------------------------------- */

static zeus_rate_provider *alloc_provider(zeus_rate_kind kind)
{
    zeus_rate_provider *p = calloc(1, sizeof *p);

    if (p == NULL)
        return NULL;
    if (pthread_mutex_init(&p->lock, NULL) != 0) {
        free(p);
        return NULL;
    }
    p->kind = kind;
    p->update_period_s = DEFAULT_PERIOD_S;
    zeus__rate_set_currency(p, NULL);
    return p;
}

static const struct {
    const char *name;
    zeus_status (*open)(zeus_rate_provider *p, const char *arg);
} providers[] = {
    {"fixed", zeus__rate_fixed_open},
    {"csv", zeus__rate_csv_open},
    {"electricitymaps", zeus__rate_electricitymaps_open},
    {"openei", zeus__rate_openei_open},
};

zeus_status zeus_rate_provider_open(const char *spec, zeus_rate_kind kind,
                                    zeus_rate_provider **out)
{
    const char *colon;
    zeus_rate_provider *p;
    zeus_status s;

    if (out == NULL || spec == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "zeus_rate_provider_open: NULL argument");
    if (kind != ZEUS_RATE_CARBON && kind != ZEUS_RATE_PRICE)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "unknown rate kind %d", (int)kind);
    colon = strchr(spec, ':');
    for (size_t i = 0; colon != NULL && i < sizeof providers / sizeof providers[0]; i++) {
        if (strlen(providers[i].name) != (size_t)(colon - spec) ||
            strncmp(spec, providers[i].name, (size_t)(colon - spec)) != 0)
            continue;
        if ((p = alloc_provider(kind)) == NULL)
            return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
        s = providers[i].open(p, colon + 1);
        if (s != ZEUS_OK) {
            zeus__fail_prefix(s, "rate provider \"%s\"", spec);
            pthread_mutex_destroy(&p->lock);
            free(p);
            return s;
        }
        *out = p;
        return ZEUS_OK;
    }
    return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                      "unknown rate provider \"%s\" (want electricitymaps:LAT,LON, "
                      "openei:LAT,LON:LABEL[:SECTOR], fixed:VALUE or csv:FILE)",
                      spec);
}

void zeus_rate_provider_close(zeus_rate_provider *p)
{
    if (p == NULL)
        return;
    if (p->ops->destroy != NULL)
        p->ops->destroy(p);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

/* ---- Rates -------------------------------------------------------------------------------- */

static double floor_period(const zeus_rate_provider *p, double t)
{
    return floor(t / p->update_period_s) * p->update_period_s;
}

static double real_now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double (*_Atomic clock_fn)(void) = real_now_s;

double zeus__rate_now_s(void)
{
    return clock_fn();
}

void zeus__rate_set_clock(double (*fn)(void))
{
    clock_fn = fn != NULL ? fn : real_now_s;
}

static double now_s(void)
{
    return zeus__rate_now_s();
}

zeus_status zeus_rate_provider_rate_at(zeus_rate_provider *p, double hour_unix_s, double *value,
                                       uint32_t *flags)
{
    uint32_t f = 0;
    double v = 0;
    zeus_status s;

    if (p == NULL || value == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "zeus_rate_provider_rate_at: NULL argument");
    if (!isfinite(hour_unix_s))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "the hour must be a finite time");
    pthread_mutex_lock(&p->lock);
    s = p->ops->rate_at(p, floor_period(p, hour_unix_s), &v, &f);
    pthread_mutex_unlock(&p->lock);
    if (s == ZEUS_OK) { /* untouched on error */
        *value = v;
        if (flags != NULL)
            *flags = f;
    }
    return s;
}

zeus_status zeus_rate_provider_current(zeus_rate_provider *p, double *value)
{
    double v = 0;
    uint32_t f;
    zeus_status s;

    if (p == NULL || value == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "zeus_rate_provider_current: NULL argument");
    pthread_mutex_lock(&p->lock);
    if (p->ops->current != NULL)
        s = p->ops->current(p, &v);
    else
        s = p->ops->rate_at(p, floor_period(p, now_s()), &v, &f);
    pthread_mutex_unlock(&p->lock);
    if (s == ZEUS_OK)
        *value = v;
    return s;
}

zeus_status zeus_rate_provider_history(zeus_rate_provider *p, zeus_rate_point *points, size_t cap,
                                       size_t *count)
{
    zeus_status s;

    if (p == NULL || count == NULL || (points == NULL && cap > 0))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "zeus_rate_provider_history: NULL argument");
    *count = 0;
    if (cap == 0)
        return ZEUS_OK;
    pthread_mutex_lock(&p->lock);
    if (p->ops->history != NULL) {
        s = p->ops->history(p, points, cap, count);
    } else {
        uint32_t f;
        points[0].unix_s = floor_period(p, now_s());
        s = p->ops->rate_at(p, points[0].unix_s, &points[0].value, &f);
        *count = s == ZEUS_OK;
    }
    pthread_mutex_unlock(&p->lock);
    return s;
}

/* ---- Accessors ---------------------------------------------------------------------------- */

double zeus_rate_provider_update_period_s(const zeus_rate_provider *p)
{
    return p != NULL ? p->update_period_s : 0;
}

size_t zeus_rate_provider_history_length(const zeus_rate_provider *p)
{
    return p != NULL ? p->history_length : 0;
}

zeus_rate_kind zeus_rate_provider_kind(const zeus_rate_provider *p)
{
    return p != NULL ? p->kind : ZEUS_RATE_CARBON;
}

/* The unit and currency are fixed buffers, so the pointers stay valid for the provider's life;
 * OpenEI may rewrite them once, under the lock, when its first answer names a currency. */
const char *zeus_rate_provider_unit(const zeus_rate_provider *p)
{
    return p != NULL ? p->unit : "";
}

const char *zeus_rate_provider_currency(const zeus_rate_provider *p)
{
    return p != NULL ? p->currency : "";
}

/* ---- Callbacks ---------------------------------------------------------------------------- */

struct cb_state {
    zeus_rate_callbacks cb;
    void *user;
};

static zeus_status cb_rate_at(zeus_rate_provider *p, double start_s, double *value,
                              uint32_t *flags)
{
    struct cb_state *st = p->state;
    zeus_status s = st->cb.rate_at(st->user, start_s, value, flags);

    /* A callback's answer meets the same checks as a built-in provider's: no NaN rate. */
    if (s == ZEUS_OK && zeus__rate_check_value(p->kind, *value, "the callback's rate") != ZEUS_OK)
        return zeus__fail_prefix(ZEUS_ERR_CALLBACK_FAILED, "rate_at callback, hour %.0f", start_s);
    if (s != ZEUS_OK) /* the callback cannot set zeus_last_error(): say what failed */
        return zeus__fail(s, "the rate_at callback failed for the hour at %.0f: %s", start_s,
                          zeus_status_string(s));
    return s;
}

static zeus_status cb_current(zeus_rate_provider *p, double *value)
{
    struct cb_state *st = p->state;
    uint32_t f;

    if (st->cb.current == NULL)
        return cb_rate_at(p, floor_period(p, now_s()), value, &f);
    return st->cb.current(st->user, value);
}

static void cb_destroy(zeus_rate_provider *p)
{
    struct cb_state *st = p->state;

    if (st->cb.destroy != NULL)
        st->cb.destroy(st->user);
    free(st);
}

static const zeus__rate_ops cb_ops = {
    .rate_at = cb_rate_at,
    .current = cb_current,
    .history = NULL,
    .destroy = cb_destroy,
};

zeus_status zeus_rate_provider_from_callbacks(const zeus_rate_callbacks *cb, void *user,
                                              zeus_rate_kind kind, zeus_rate_provider **out)
{
    struct cb_state *st;
    zeus_rate_provider *p;
    zeus_status s;

    if (cb == NULL || out == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                          "zeus_rate_provider_from_callbacks: NULL argument");
    if (kind != ZEUS_RATE_CARBON && kind != ZEUS_RATE_PRICE)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "unknown rate kind %d", (int)kind);
    if ((st = calloc(1, sizeof *st)) == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
    /* The first release's struct ends at currency; later ones may only grow (options.h). */
    if (cb->size < offsetof(zeus_rate_callbacks, currency) + sizeof cb->currency ||
        cb->size > sizeof st->cb)
        s = zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                       "zeus_rate_callbacks.size is %u; set it to sizeof(zeus_rate_callbacks)",
                       (unsigned)cb->size);
    else
        s = zeus__options_read(&st->cb, sizeof st->cb, cb, cb->size, "zeus_rate_callbacks");
    if (s == ZEUS_OK && st->cb.rate_at == NULL)
        s = zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "zeus_rate_callbacks.rate_at is NULL");
    if (s == ZEUS_OK && (!(st->cb.update_period_s >= 0) || !isfinite(st->cb.update_period_s)))
        s = zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "zeus_rate_callbacks.update_period_s %g",
                       st->cb.update_period_s);
    if (s == ZEUS_OK && (p = alloc_provider(kind)) == NULL)
        s = zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
    if (s != ZEUS_OK) {
        free(st);
        return s;
    }
    st->user = user;
    p->ops = &cb_ops;
    p->state = st;
    if (st->cb.update_period_s > 0)
        p->update_period_s = st->cb.update_period_s;
    p->history_length = st->cb.history_length;
    zeus__rate_set_currency(p, st->cb.currency);
    st->cb.currency = NULL; /* copied into p->currency; the caller's string may go away */
    *out = p;
    return ZEUS_OK;
}
