/*
 * rate_openei.c - "openei:LAT,LON:LABEL[:SECTOR[:RADIUS]]": electricity prices from the
 * OpenEI Utility Rate Database, as Zeus's OpenEIClient asks for them.
 *
 * The query is Zeus's (version=latest, format=json, lat, lon, radius 0, detail=full, sector
 * Residential by default), except the key: it comes from OPENEI_API_KEY, and opening fails
 * when that is unset, rather than using a key written into the source as Zeus does. The rate
 * plan is the first object, depth first, whose "label" is LABEL (Zeus's recursive search);
 * its energyratestructure and 12 x 24 weekday/weekend schedules give each hour a period, and
 * the period's first tier gives the price (Zeus's [tier][0]).
 *
 * Where it departs from Zeus, and why:
 * 1. The price is rate + adj: "adj" is the per-kWh adjustment (fuel, riders) the customer
 *    pays on top of the base rate; Zeus uses "rate" alone and so under-prices (Ann Arbor's
 *    plan: 0.1056 + 0.029681 $/kWh).
 * 2. The schedule is read in the utility's local time: OpenEI answers name no time zone, but
 *    the database is of US utilities, so for "country": "USA" the zone comes from the
 *    coordinates (us_local_time.c: an approximation near zone lines). Zeus reads the UTC
 *    month and hour, which puts a 4 pm peak at 11 am in Michigan. Elsewhere: UTC, as Zeus.
 * 3. A tier whose "unit" is not kWh (kW demand charges, daily kWh) cannot price energy:
 *    the answer is refused as ZEUS_ERR_PROVIDER_NOT_FOUND instead of priced wrong.
 * 4. The answer is cached for the update period; when the service then fails, the cached
 *    plan is used and flagged ZEUS_RATE_STALE.
 * LABELs containing ':' cannot be written in the spec (OpenEI labels are hex ids).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "rate/rate_http.h"
#include "rate/rate_internal.h"
#include "rate/us_local_time.h"
#include "util/error.h"

#define DEFAULT_BASE "https://api.openei.org"
#define WHO "OpenEI"
#define SHOWN_BODY 300
#define MAX_PERIODS 64

struct plan {
    double price[MAX_PERIODS]; /* per period: first tier's rate + adj */
    int periods;
    unsigned char weekday[12][24], weekend[12][24];
    int us; /* country USA: local time from coordinates */
    char currency[8];
};

struct oe_state {
    char *url;
    char label[256];
    zeus__rate_location loc;
    struct plan plan;
    int have_plan;
    double fetched_at;
};

static const char *const sectors[] = {"Residential", "Commercial", "Industrial", "Lighting"};

/* ---- The answer --------------------------------------------------------------------------- */

/* The first object, depth first, with "label" == label (Zeus's search_json). */
static const cJSON *find_label(const cJSON *j, const char *label)
{
    const cJSON *c, *hit;

    if (cJSON_IsObject(j)) {
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(j, "label");
        if (cJSON_IsString(l) && strcmp(l->valuestring, label) == 0)
            return j;
    }
    if (!cJSON_IsObject(j) && !cJSON_IsArray(j))
        return NULL;
    cJSON_ArrayForEach(c, j)
    {
        if ((hit = find_label(c, label)) != NULL)
            return hit;
    }
    return NULL;
}

static int has_any_label(const cJSON *j)
{
    const cJSON *c;

    if (cJSON_IsObject(j) && cJSON_GetObjectItemCaseSensitive(j, "label") != NULL)
        return 1;
    if (!cJSON_IsObject(j) && !cJSON_IsArray(j))
        return 0;
    cJSON_ArrayForEach(c, j)
    {
        if (has_any_label(c))
            return 1;
    }
    return 0;
}

static zeus_status bad_plan(const char *label, const char *why)
{
    return zeus__fail(ZEUS_ERR_PROVIDER_NOT_FOUND, WHO ": rate plan \"%s\": %s", label, why);
}

static zeus_status parse_schedule(const cJSON *s, unsigned char out[12][24], int periods,
                                  const char *label, const char *name)
{
    char why[160];

    if (!cJSON_IsArray(s) || cJSON_GetArraySize(s) != 12) {
        snprintf(why, sizeof why, "%s is not 12 months", name);
        return bad_plan(label, why);
    }
    for (int m = 0; m < 12; m++) {
        const cJSON *row = cJSON_GetArrayItem(s, m);
        if (!cJSON_IsArray(row) || cJSON_GetArraySize(row) != 24) {
            snprintf(why, sizeof why, "%s month %d is not 24 hours", name, m + 1);
            return bad_plan(label, why);
        }
        for (int h = 0; h < 24; h++) {
            const cJSON *v = cJSON_GetArrayItem(row, h);
            if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble >= periods ||
                v->valuedouble != floor(v->valuedouble)) {
                snprintf(why, sizeof why, "%s month %d hour %d names no period of the %d in "
                         "energyratestructure", name, m + 1, h, periods);
                return bad_plan(label, why);
            }
            out[m][h] = (unsigned char)v->valuedouble;
        }
    }
    return ZEUS_OK;
}

static zeus_status parse_rates(const cJSON *rs, struct plan *pl, const char *label)
{
    const cJSON *period;

    if (!cJSON_IsArray(rs) || cJSON_GetArraySize(rs) < 1 || cJSON_GetArraySize(rs) > MAX_PERIODS)
        return bad_plan(label, "energyratestructure is missing or empty");
    pl->periods = 0;
    cJSON_ArrayForEach(period, rs)
    {
        const cJSON *tier = cJSON_GetArrayItem(period, 0);
        const cJSON *rate = cJSON_GetObjectItemCaseSensitive(tier, "rate");
        const cJSON *adj = cJSON_GetObjectItemCaseSensitive(tier, "adj");
        const cJSON *unit = cJSON_GetObjectItemCaseSensitive(tier, "unit");
        if (!cJSON_IsNumber(rate) || (adj != NULL && !cJSON_IsNumber(adj)))
            return bad_plan(label, "a period's first tier has no numeric rate");
        if (unit != NULL && (!cJSON_IsString(unit) || strcmp(unit->valuestring, "kWh") != 0))
            return bad_plan(label, "a tier is not priced per kWh (note 3)");
        pl->price[pl->periods] = rate->valuedouble + (adj != NULL ? adj->valuedouble : 0);
        if (!isfinite(pl->price[pl->periods]))
            return bad_plan(label, "a rate is not finite");
        pl->periods++;
    }
    return ZEUS_OK;
}

static zeus_status parse_plan(const cJSON *json, struct oe_state *st, struct plan *pl)
{
    const cJSON *item, *country, *cur;
    zeus_status s;

    if (!has_any_label(json)) {
        const cJSON *errors = cJSON_GetObjectItemCaseSensitive(json, "errors");
        char *text = errors != NULL ? cJSON_PrintUnformatted(errors) : NULL;
        s = zeus__fail(ZEUS_ERR_PROVIDER_NOT_FOUND, WHO ": no rates found for lat, lon: [%s, %s]%s%s",
                       st->loc.lat_s, st->loc.lon_s, text != NULL ? ": " : "",
                       text != NULL ? text : "");
        free(text);
        return s;
    }
    if ((item = find_label(json, st->label)) == NULL)
        return zeus__fail(ZEUS_ERR_PROVIDER_NOT_FOUND, WHO ": no rates found for the label: %s",
                          st->label);
    memset(pl, 0, sizeof *pl);
    if ((s = parse_rates(cJSON_GetObjectItemCaseSensitive(item, "energyratestructure"), pl,
                         st->label)) != ZEUS_OK ||
        (s = parse_schedule(cJSON_GetObjectItemCaseSensitive(item, "energyweekdayschedule"),
                            pl->weekday, pl->periods, st->label, "energyweekdayschedule")) != ZEUS_OK ||
        (s = parse_schedule(cJSON_GetObjectItemCaseSensitive(item, "energyweekendschedule"),
                            pl->weekend, pl->periods, st->label, "energyweekendschedule")) != ZEUS_OK)
        return s;
    country = cJSON_GetObjectItemCaseSensitive(item, "country");
    pl->us = cJSON_IsString(country) && strcmp(country->valuestring, "USA") == 0;
    cur = cJSON_GetObjectItemCaseSensitive(item, "currency");
    snprintf(pl->currency, sizeof pl->currency, "%s",
             cJSON_IsString(cur) && strlen(cur->valuestring) == 3 ? cur->valuestring : "USD");
    return ZEUS_OK;
}

static zeus_status fetch_plan(zeus_rate_provider *p)
{
    struct oe_state *st = p->state;
    struct plan pl;
    char *body = NULL;
    cJSON *json;
    zeus_status s = zeus__rate_http_get(WHO, st->url, NULL, &body, NULL);

    if (s != ZEUS_OK)
        return s;
    json = cJSON_Parse(body);
    if (json == NULL)
        s = zeus__fail(ZEUS_ERR_PROVIDER_NOT_FOUND, WHO " answered with something not JSON: %.*s",
                       SHOWN_BODY, body);
    else
        s = parse_plan(json, st, &pl);
    cJSON_Delete(json);
    free(body);
    if (s != ZEUS_OK)
        return s;
    st->plan = pl;
    st->have_plan = 1;
    st->fetched_at = zeus__rate_now_s();
    if (strcmp(p->currency, pl.currency) != 0) /* rewritten only when it changes */
        zeus__rate_set_currency(p, pl.currency);
    return ZEUS_OK;
}

/* ---- Rates -------------------------------------------------------------------------------- */

static zeus_status oe_rate_at(zeus_rate_provider *p, double hour, double *value, uint32_t *flags)
{
    struct oe_state *st = p->state;
    double age = zeus__rate_now_s() - st->fetched_at;
    int stale = 0, month, h, wd;
    const char *zone;

    if (!st->have_plan || age >= p->update_period_s || age < 0) {
        zeus_status s = fetch_plan(p);
        if (s != ZEUS_OK && !st->have_plan)
            return s;
        stale = s != ZEUS_OK; /* note 4 */
    }
    if (!st->plan.us ||
        zeus__us_local_time(hour, st->loc.lat, st->loc.lon, &month, &h, &wd, &zone) != 0)
        zeus__utc_time(hour, &month, &h, &wd);
    *value = st->plan.price[wd < 5 ? st->plan.weekday[month - 1][h] : st->plan.weekend[month - 1][h]];
    *flags = ZEUS_RATE_EXACT | (stale ? ZEUS_RATE_STALE : 0);
    return ZEUS_OK;
}

static void oe_destroy(zeus_rate_provider *p)
{
    struct oe_state *st = p->state;

    free(st->url);
    free(st);
}

static const zeus__rate_ops oe_ops = {
    .rate_at = oe_rate_at,
    .destroy = oe_destroy,
};

/* ---- Open --------------------------------------------------------------------------------- */

/* LABEL[:SECTOR[:RADIUS]] after the location. */
static zeus_status parse_rest(const char *rest, struct oe_state *st, const char **sector,
                              long *radius)
{
    char buf[256], *sec, *rad, *end;

    if (strlen(rest) >= sizeof buf)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "openei: the label is too long");
    snprintf(buf, sizeof buf, "%s", rest);
    if ((sec = strchr(buf, ':')) != NULL)
        *sec++ = '\0';
    if (sec != NULL && (rad = strchr(sec, ':')) != NULL) {
        *rad++ = '\0';
        *radius = strtol(rad, &end, 10);
        if (end == rad || *end != '\0' || *radius < 0 || *radius > 200)
            return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                              "openei: RADIUS \"%s\" is not a whole number of miles 0-200", rad);
    }
    if (buf[0] == '\0' || strlen(buf) >= sizeof st->label)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "want openei:LAT,LON:LABEL[:SECTOR]");
    snprintf(st->label, sizeof st->label, "%s", buf);
    *sector = sectors[0];
    if (sec != NULL) {
        *sector = NULL;
        for (size_t i = 0; i < sizeof sectors / sizeof sectors[0]; i++)
            if (strcmp(sec, sectors[i]) == 0)
                *sector = sectors[i];
        if (*sector == NULL)
            return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                              "openei: SECTOR \"%s\" is not Residential, Commercial, Industrial "
                              "or Lighting", sec);
    }
    return ZEUS_OK;
}

static char *make_url(const char *base, const char *key, const zeus__rate_location *loc,
                      long radius, const char *sector)
{
    char *k = curl_easy_escape(NULL, key, 0), *url = NULL;
    size_t len;

    if (k == NULL)
        return NULL;
    len = strlen(base) + strlen(k) + 256;
    if ((url = malloc(len)) != NULL)
        snprintf(url, len,
                 "%s/utility_rates?version=latest&format=json&api_key=%s&lat=%s&lon=%s"
                 "&radius=%ld&detail=full&sector=%s",
                 base, k, loc->lat_s, loc->lon_s, radius, sector);
    curl_free(k);
    return url;
}

zeus_status zeus__rate_openei_open(zeus_rate_provider *p, const char *arg)
{
    const char *key = getenv("OPENEI_API_KEY"), *colon = strchr(arg, ':'), *sector = NULL;
    struct oe_state *st;
    long radius = 0;
    char *base;
    zeus_status s;

    if (p->kind != ZEUS_RATE_PRICE)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "OpenEI gives prices, not carbon intensity");
    if (colon == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "want openei:LAT,LON:LABEL[:SECTOR]");
    if (key == NULL || *key == '\0')
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                          "OPENEI_API_KEY is not set (OpenEI needs an API key: "
                          "https://openei.org/services/api/signup/)");
    if ((st = calloc(1, sizeof *st)) == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
    if ((s = zeus__rate_parse_location(arg, colon, &st->loc)) != ZEUS_OK ||
        (s = parse_rest(colon + 1, st, &sector, &radius)) != ZEUS_OK) {
        free(st);
        return s;
    }
    if ((base = zeus__rate_base_url("ZEUS_OPENEI_URL", DEFAULT_BASE)) != NULL)
        st->url = make_url(base, key, &st->loc, radius, sector);
    free(base);
    if (st->url == NULL) {
        free(st);
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
    }
    p->ops = &oe_ops;
    p->state = st;
    p->history_length = 0;
    return ZEUS_OK;
}
