/*
 * rate_electricitymaps.c - "electricitymaps:LAT,LON": carbon intensity from ElectricityMaps,
 * as Zeus's ElectrictyMapsClient asks for it.
 *
 * URLs and parameters are Zeus's, byte for byte (coordinates as Python prints them, "?lat=42.2776&lon=-83.7409&disableEstimations=
 * False&emissionFactorType=direct": floats as Python's str, booleans as True/False), with
 * estimate=True, which Zeus's docs require of a CarbonEmissionMonitor's provider, unless the
 * spec adds ":estimate=False" (Zeus's constructor default) or ":emission_factor=lifecycle". Unlike Zeus
 * it sends the auth-token header when ELECTRICITYMAPS_API_KEY is set (the service wants it).
 *
 * Where it departs from Zeus, and why:
 * 1. The 24-hour history is fetched once per update period and cached; a request for an hour
 *    newer than the newest cached one fetches again (at most once a minute).
 * 2. An hour missing from the history gets the nearest known hour's value (within the history
 *    length), flagged ZEUS_RATE_ESTIMATED; Zeus raises KeyError and loses the window.
 * 3. When the service fails and an older answer is cached, that answer is used and the rate is
 *    flagged ZEUS_RATE_STALE, so hours of energy are not lost to a short outage.
 * 4. Entries whose carbonIntensity is null or absent are holes, not errors (rule 2 fills them);
 *    an answer with no usable entry at all is ZEUS_ERR_PROVIDER_NOT_FOUND.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "rate/iso8601.h"
#include "rate/rate_http.h"
#include "rate/rate_internal.h"
#include "util/error.h"

#define DEFAULT_BASE "https://api.electricitymap.org"
#define WHO "ElectricityMaps"
#define REFETCH_MIN_S 60.0
#define SHOWN_BODY 300

struct em_state {
    char *latest_url, *history_url;
    char header[300]; /* "auth-token: KEY", or "" */
    zeus_rate_point *hist;
    size_t n;
    double fetched_at; /* when hist was fetched; 0: never */
    double latest, latest_at;
};

/* ---- Requests and answers ----------------------------------------------------------------- */

static zeus_status get(struct em_state *st, const char *url, cJSON **json)
{
    const char *headers[] = {st->header[0] ? st->header : NULL, NULL};
    char *body = NULL;
    zeus_status s = zeus__rate_http_get(WHO, url, headers, &body, NULL);

    if (s != ZEUS_OK)
        return s;
    *json = cJSON_Parse(body);
    if (*json == NULL)
        s = zeus__fail(ZEUS_ERR_PROVIDER_NOT_FOUND, WHO " answered with something not JSON: %.*s",
                       SHOWN_BODY, body);
    free(body);
    return s;
}

static int by_time(const void *a, const void *b)
{
    double x = ((const zeus_rate_point *)a)->unix_s, y = ((const zeus_rate_point *)b)->unix_s;

    return x < y ? -1 : x > y;
}

/* {"history": [{"datetime": ISO, "carbonIntensity": g/kWh}, ...]} into points, sorted. */
static zeus_status parse_history(const cJSON *json, zeus_rate_point **out, size_t *n)
{
    const cJSON *hist = cJSON_GetObjectItemCaseSensitive(json, "history"), *e;
    zeus_rate_point *pts;
    size_t k = 0;

    if (!cJSON_IsArray(hist))
        return ZEUS_ERR_PROVIDER_NOT_FOUND;
    if ((pts = calloc((size_t)cJSON_GetArraySize(hist) + 1, sizeof *pts)) == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
    cJSON_ArrayForEach(e, hist)
    {
        const cJSON *ci = cJSON_GetObjectItemCaseSensitive(e, "carbonIntensity");
        const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "datetime");
        double t;
        if (!cJSON_IsNumber(ci) || !cJSON_IsString(dt) || !isfinite(ci->valuedouble) ||
            ci->valuedouble < 0 || zeus__iso8601_parse_datetime(dt->valuestring, &t, NULL) != 0)
            continue; /* a hole (note 4) */
        pts[k].unix_s = t;
        pts[k].value = ci->valuedouble;
        k++;
    }
    if (k == 0) {
        free(pts);
        return ZEUS_ERR_PROVIDER_NOT_FOUND;
    }
    qsort(pts, k, sizeof *pts, by_time);
    *out = pts;
    *n = k;
    return ZEUS_OK;
}

static zeus_status fetch_history(struct em_state *st)
{
    zeus_rate_point *pts = NULL;
    cJSON *json = NULL;
    size_t n = 0;
    zeus_status s = get(st, st->history_url, &json);

    if (s != ZEUS_OK)
        return s;
    s = parse_history(json, &pts, &n);
    if (s == ZEUS_ERR_PROVIDER_NOT_FOUND) {
        char *text = cJSON_PrintUnformatted(json);
        zeus__fail(s, "recent carbon intensity not found in " WHO "'s answer: %.*s", SHOWN_BODY, text != NULL ? text : "");
        free(text);
    }
    cJSON_Delete(json);
    if (s != ZEUS_OK)
        return s;
    free(st->hist);
    st->hist = pts;
    st->n = n;
    st->fetched_at = zeus__rate_now_s();
    return ZEUS_OK;
}

/* ---- Rates -------------------------------------------------------------------------------- */

/* Fetch when the cache is older than the period, or lacks `hour` and may now have it (note 1).
 * *stale: a failed fetch fell back on the cache. */
static zeus_status ensure_history(zeus_rate_provider *p, double hour, int *stale)
{
    struct em_state *st = p->state;
    double now = zeus__rate_now_s(), age = now - st->fetched_at;
    int want = st->n == 0 || age >= p->update_period_s || age < 0 ||
               (hour > st->hist[st->n - 1].unix_s && age >= REFETCH_MIN_S);
    zeus_status s;

    *stale = 0;
    if (!want)
        return ZEUS_OK;
    s = fetch_history(st);
    if (s != ZEUS_OK && st->n > 0) {
        /* note 3: fresh-enough answers are not stale, only ones past their period */
        *stale = age >= p->update_period_s;
        return ZEUS_OK;
    }
    return s;
}

static zeus_status em_rate_at(zeus_rate_provider *p, double hour, double *value, uint32_t *flags)
{
    struct em_state *st = p->state;
    double best_d = INFINITY, limit = p->update_period_s * (double)p->history_length;
    size_t best = 0;
    int stale;
    zeus_status s = ensure_history(p, hour, &stale);

    if (s != ZEUS_OK)
        return s;
    for (size_t i = 0; i < st->n; i++) {
        double d = fabs(floor(st->hist[i].unix_s / p->update_period_s) * p->update_period_s - hour);
        if (d < best_d) { /* ties keep the earlier hour */
            best_d = d;
            best = i;
        }
    }
    if (best_d > limit)
        return zeus__fail(ZEUS_ERR_PROVIDER_NOT_FOUND,
                          WHO ": no carbon intensity for the hour at %.0f: the nearest known "
                          "hour is %.0f s away (history covers %zu hours)",
                          hour, best_d, p->history_length);
    *value = st->hist[best].value;
    *flags = (best_d == 0 ? ZEUS_RATE_EXACT : ZEUS_RATE_ESTIMATED) | (stale ? ZEUS_RATE_STALE : 0);
    return ZEUS_OK;
}

static zeus_status em_current(zeus_rate_provider *p, double *value)
{
    struct em_state *st = p->state;
    double now = zeus__rate_now_s();
    const cJSON *ci;
    cJSON *json = NULL;
    zeus_status s;

    if (st->latest_at > 0 && now - st->latest_at >= 0 && now - st->latest_at < p->update_period_s) {
        *value = st->latest;
        return ZEUS_OK;
    }
    if ((s = get(st, st->latest_url, &json)) != ZEUS_OK)
        return s;
    ci = cJSON_GetObjectItemCaseSensitive(json, "carbonIntensity");
    if (cJSON_IsNumber(ci) && isfinite(ci->valuedouble) && ci->valuedouble >= 0) {
        st->latest = *value = ci->valuedouble;
        st->latest_at = now;
    } else {
        char *text = cJSON_PrintUnformatted(json);
        s = zeus__fail(ZEUS_ERR_PROVIDER_NOT_FOUND,
                       "current carbon intensity not found in " WHO "'s answer: %.*s", SHOWN_BODY, text != NULL ? text : "");
        free(text);
    }
    cJSON_Delete(json);
    return s;
}

static zeus_status em_history(zeus_rate_provider *p, zeus_rate_point *points, size_t cap,
                              size_t *count)
{
    struct em_state *st = p->state;
    int stale;
    size_t first;
    zeus_status s = ensure_history(p, 0, &stale);

    if (s == ZEUS_OK && stale) /* no flags to carry it: say so rather than pass it as fresh */
        s = zeus__fail_prefix(ZEUS_ERR_PROVIDER_HTTP, WHO " history is stale");
    if (s != ZEUS_OK)
        return s;
    first = st->n > cap ? st->n - cap : 0;
    memcpy(points, st->hist + first, (st->n - first) * sizeof *points);
    *count = st->n - first;
    return ZEUS_OK;
}

static void em_destroy(zeus_rate_provider *p)
{
    struct em_state *st = p->state;

    free(st->latest_url);
    free(st->history_url);
    free(st->hist);
    free(st);
}

static const zeus__rate_ops em_ops = {
    .rate_at = em_rate_at,
    .current = em_current,
    .history = em_history,
    .destroy = em_destroy,
};

/* ---- Open --------------------------------------------------------------------------------- */

struct em_options {
    int estimate;       /* 1: disableEstimations=False */
    const char *factor; /* "direct" or "lifecycle" */
};

static char *make_url(const char *base, const char *what, const zeus__rate_location *loc,
                      const struct em_options *o)
{
    char *url;
    size_t len = strlen(base) + 200;

    if ((url = malloc(len)) != NULL)
        snprintf(url, len,
                 "%s/v3/carbon-intensity/%s?lat=%s&lon=%s&disableEstimations=%s"
                 "&emissionFactorType=%s",
                 base, what, loc->lat_s, loc->lon_s, o->estimate ? "False" : "True", o->factor);
    return url;
}

/* ":estimate=True|False" and ":emission_factor=direct|lifecycle", Zeus's two constructor
 * arguments, in any order (zeusc's ElectrictyMapsClient passes them). */
static zeus_status parse_options(const char *s, struct em_options *o)
{
    while (s != NULL && *s == ':') {
        const char *opt = s + 1, *next = strchr(opt, ':');
        size_t n = next != NULL ? (size_t)(next - opt) : strlen(opt);
        if (n == 13 && strncmp(opt, "estimate=True", n) == 0)
            o->estimate = 1;
        else if (n == 14 && strncmp(opt, "estimate=False", n) == 0)
            o->estimate = 0;
        else if (n == 22 && strncmp(opt, "emission_factor=direct", n) == 0)
            o->factor = "direct";
        else if (n == 25 && strncmp(opt, "emission_factor=lifecycle", n) == 0)
            o->factor = "lifecycle";
        else
            return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                              "electricitymaps: unknown option \"%.*s\" (want estimate=True|False "
                              "or emission_factor=direct|lifecycle)", (int)n, opt);
        s = next;
    }
    return ZEUS_OK;
}

zeus_status zeus__rate_electricitymaps_open(zeus_rate_provider *p, const char *arg)
{
    const char *key = getenv("ELECTRICITYMAPS_API_KEY");
    struct em_state *st;
    struct em_options opts = {1, "direct"};
    zeus__rate_location loc;
    char *base;
    zeus_status s;

    if (p->kind != ZEUS_RATE_CARBON)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                          "ElectricityMaps gives carbon intensity, not prices");
    if ((s = zeus__rate_parse_location(arg, strchr(arg, ':'), &loc)) != ZEUS_OK ||
        (s = parse_options(strchr(arg, ':'), &opts)) != ZEUS_OK)
        return s;
    if (key != NULL && strpbrk(key, "\r\n") != NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "ELECTRICITYMAPS_API_KEY holds a line break");
    if (key != NULL && strlen(key) > 256)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "ELECTRICITYMAPS_API_KEY is too long");
    if ((st = calloc(1, sizeof *st)) == NULL ||
        (base = zeus__rate_base_url("ZEUS_ELECTRICITYMAPS_URL", DEFAULT_BASE)) == NULL) {
        free(st);
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
    }
    st->latest_url = make_url(base, "latest", &loc, &opts);
    st->history_url = make_url(base, "history", &loc, &opts);
    free(base);
    if (key != NULL && *key)
        snprintf(st->header, sizeof st->header, "auth-token: %s", key);
    p->ops = &em_ops;
    p->state = st;
    if (st->latest_url == NULL || st->history_url == NULL) {
        em_destroy(p);
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
    }
    p->history_length = 24;
    return ZEUS_OK;
}
