/*
 * power_monitor.c - Zeus's PowerMonitor in C: GPU power timelines in chosen domains, the
 * power at a time, and the energy over an interval with its edges counted.
 *
 * Sampling is the background sampler's (sampler.c): one channel per GPU, shared with every
 * other monitor of the process, polled at this monitor's period in the domains it asks for.
 * This file chooses GPUs, domains and the period (period.c infers it when not given), and
 * answers queries over the series timelines.c keeps; the energy comes from integrate.c,
 * whose head explains the plateau rule and the edge rule, and include/zeus/power.h says
 * what a user gets.
 *
 * Departures from Zeus, each for a reason:
 * - One thread per GPU (shared) instead of one process per domain: Zeus's processes took
 *   2.95 s to start on an H200 and fail without a __main__ guard (GPU-MEASUREMENTS.md).
 * - Domains are probed on every chosen GPU, not on GPU 0 only, and domains = 0 means those
 *   all of them support.
 * - Energy counts the interval's edges and treats de-duplicated plateaus as plateaus.
 * - Energy is never extrapolated beyond the sampled span: an interval is clipped to it (flag
 *   ZEUS_ENERGY_CLIPPED), and one wholly outside it has no value (NAN, ZEUS_ENERGY_UNCOVERED)
 *   where Zeus answers 0.
 *
 * The plateau rule's ramp is this monitor's poll period. A channel shared with a faster
 * monitor polls faster than that, so its changes are seen sooner than the ramp assumes; the
 * error is at most half the step times the difference of the periods, per change.
 * (The sampler could keep the time of each series' latest poll, which would make the ramps
 * and the end of a plateau exact; it does not yet.)
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/gpu_scope.h"
#include "monitor/integrate.h"
#include "monitor/period.h"
#include "monitor/timelines.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/options.h"
#include "util/warn.h"
#include "zeus/power.h"

#define POWER_MONITOR_MAGIC 0x50574d31u /* "PWM1" */
#define DEFAULT_MAX_SAMPLES ((size_t)1 << 20)
#define FAST_PERIOD_S 0.05 /* Zeus warns below this */
#define ALL_DOMAINS 7u

/*
 * Without a period from the user, sampling starts at once at START_PERIOD_S and the period is
 * inferred on a thread of its own (about a second of watching the readings), so that create
 * returns in milliseconds (issue 9). Samples are changes, so polling faster than needed only
 * costs reads; an inferred period shorter than START_PERIOD_S lowers the polling to it.
 */
#define START_PERIOD_S 0.05

struct zeus_power_monitor {
    unsigned magic;
    unsigned domains;
    struct zeus__timelines tl;

    pthread_mutex_t period_lock;
    pthread_cond_t period_known;
    double period_s;   /* guarded by period_lock; final once `inferring` is 0 */
    int inferring;     /* guarded by period_lock */
    pthread_t inferrer;
    int has_inferrer;
    unsigned gpus[ZEUS_MAX_GPUS], gpu_count;
    void (*warn)(const char *message, void *warn_user);
    void *warn_user;
    char pending_warning[256]; /* from the inferrer, given on the caller's thread */
    uint32_t scope_flags[ZEUS_MAX_GPUS]; /* by GPU index: gpu_scope.h's flags */
};

/* ---- The clock -------------------------------------------------------------------------- */

double zeus_now(void)
{
    return zeus__now_s();
}

/* ---- Options ---------------------------------------------------------------------------- */

void zeus_power_monitor_options_init(zeus_power_monitor_options *opts)
{
    if (opts == NULL)
        return;
    memset(opts, 0, sizeof *opts);
    opts->size = sizeof *opts;
}

static zeus_status read_options(const zeus_power_monitor_options *opts,
                                zeus_power_monitor_options *o)
{
    zeus_status s;

    zeus_power_monitor_options_init(o);
    if (opts == NULL)
        return ZEUS_OK;
    s = zeus__options_read(o, sizeof *o, opts,
                           offsetof(zeus_power_monitor_options, update_period_s),
                           "zeus_power_monitor_options");
    if (s != ZEUS_OK)
        return s;
    if (!isfinite(o->update_period_s) || o->update_period_s < 0)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                          "update period %g s is not a positive number (0: infer it)",
                          o->update_period_s);
    if (o->domains & ~ALL_DOMAINS)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "unknown power domain bits 0x%x",
                          o->domains & ~ALL_DOMAINS);
    return ZEUS_OK;
}

/* ---- Choosing GPUs, domains and the period ---------------------------------------------- */

/* Domain bits every GPU in the list supports. */
static zeus_status supported_domains(zeus_devices *devs, const unsigned *gpus, unsigned n,
                                     unsigned *out)
{
    static const uint32_t caps[3] = {ZEUS_GPU_POWER_INSTANT, ZEUS_GPU_POWER_AVERAGE,
                                     ZEUS_GPU_POWER_MEMORY};

    *out = ALL_DOMAINS;
    for (unsigned i = 0; i < n; i++) {
        zeus_gpu_info info;
        zeus_status s = zeus_gpu_get_info(devs, gpus[i], &info);
        if (s != ZEUS_OK)
            return s;
        for (int d = 0; d < 3; d++)
            if (!(info.supports & caps[d]))
                *out &= ~ZEUS_DOMAIN_BIT(d);
    }
    return ZEUS_OK;
}

/* "device_instant, device_average" for the bits of `domains`. */
static void domain_list(unsigned domains, char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (int d = 0; d < 3; d++)
        if (domains & ZEUS_DOMAIN_BIT(d))
            used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%s",
                                     used ? ", " : "", zeus_power_domain_name(d));
    if (buf[0] == '\0')
        snprintf(buf, len, "none");
}

/* Warn about GPUs whose power covers more than the GPU, and keep their flags by index. */
static zeus_status scope_flags(zeus_devices *devs, const unsigned *gpus, unsigned n,
                               const zeus_power_monitor_options *o, uint32_t *flags)
{
    for (unsigned i = 0; i < n; i++) {
        zeus_gpu_info info;
        zeus_status s = zeus_gpu_get_info(devs, gpus[i], &info);
        if (s != ZEUS_OK)
            return s;
        if (gpus[i] < ZEUS_MAX_GPUS)
            flags[gpus[i]] = zeus__gpu_scope_flags(&info, o->warn, o->warn_user);
    }
    return ZEUS_OK;
}

static zeus_status choose_domains(zeus_devices *devs, const unsigned *gpus, unsigned n,
                                  const zeus_power_monitor_options *o, unsigned *domains)
{
    unsigned supported;
    char names[128];
    zeus_status s = supported_domains(devs, gpus, n, &supported);

    if (s != ZEUS_OK)
        return s;
    domain_list(supported, names, sizeof names);
    if (o->domains == 0) {
        if (supported == 0)
            return zeus__fail(ZEUS_ERR_NOT_SUPPORTED, "the GPUs report no power domain");
        *domains = supported;
    } else {
        for (int d = 0; d < 3; d++)
            if ((o->domains & ZEUS_DOMAIN_BIT(d)) && !(supported & ZEUS_DOMAIN_BIT(d)))
                return zeus__fail(ZEUS_ERR_NOT_SUPPORTED,
                                  "Requested power domain %s is not supported by the current "
                                  "GPUs. Supported domains are: %s",
                                  zeus_power_domain_name(d), names);
        *domains = o->domains;
    }
    if (!(*domains & ZEUS_DOMAIN_BIT(ZEUS_POWER_DEVICE_INSTANT)))
        zeus__warnf(o->warn, o->warn_user,
                    "device_instant power is not being monitored; queries without a domain "
                    "use device_average");
    return ZEUS_OK;
}

static void check_given_period(const zeus_power_monitor_options *o)
{
    if (o->update_period_s < FAST_PERIOD_S)
        zeus__warnf(o->warn, o->warn_user,
                    "An update period of %g s might be too fast: readings may not change "
                    "between polls. Consider using at least %g s.",
                    o->update_period_s, FAST_PERIOD_S);
}

/* The inferring thread: watch the readings, publish the period, lower the polling to it. */
static void *infer_period(void *arg)
{
    zeus_power_monitor *pm = arg;
    zeus__period_report r;
    zeus_devices *devs = NULL;
    double period_s = START_PERIOD_S;
    char warning[256] = "";

    if (zeus_devices_create(&devs) == ZEUS_OK &&
        zeus__infer_update_period(devs, pm->gpus, pm->gpu_count, NULL, &r) == ZEUS_OK) {
        if (r.clamped)
            snprintf(warning, sizeof warning,
                     "Inferred update period %g s is longer than %g s; using %g s",
                     r.fastest_s / 2, ZEUS__PERIOD_MAX_S, ZEUS__PERIOD_MAX_S);
        period_s = r.period_s;
    } else {
        snprintf(warning, sizeof warning,
                 "Could not infer the power update period (%s); polling every %g s",
                 zeus_last_error(), START_PERIOD_S);
    }
    zeus_devices_destroy(devs);
    zeus__timelines_lower_period(&pm->tl, (int64_t)llround(period_s * 1e9));
    pthread_mutex_lock(&pm->period_lock);
    pm->period_s = period_s;
    memcpy(pm->pending_warning, warning, sizeof warning);
    pm->inferring = 0;
    pthread_cond_broadcast(&pm->period_known);
    pthread_mutex_unlock(&pm->period_lock);
    return NULL;
}

static void join_inferrer(zeus_power_monitor *pm)
{
    if (pm->has_inferrer) {
        pthread_join(pm->inferrer, NULL);
        pm->has_inferrer = 0;
    }
}

/*
 * The poll period; with `wait`, the inferred one (waiting for the inferrer) and its warning,
 * given here on the caller's thread, as the user's callback expects.
 */
static double current_period(zeus_power_monitor *pm, int wait)
{
    char warning[256] = "";
    double p;

    pthread_mutex_lock(&pm->period_lock);
    while (wait && pm->inferring)
        pthread_cond_wait(&pm->period_known, &pm->period_lock);
    p = pm->period_s;
    if (wait && pm->pending_warning[0] != '\0') {
        memcpy(warning, pm->pending_warning, sizeof warning);
        pm->pending_warning[0] = '\0';
    }
    pthread_mutex_unlock(&pm->period_lock);
    if (warning[0] != '\0')
        zeus__warnf(pm->warn, pm->warn_user, "%s", warning);
    return p;
}

/* ---- Create, stop, destroy -------------------------------------------------------------- */

zeus_status zeus_power_monitor_create(const zeus_power_monitor_options *opts,
                                      zeus_power_monitor **out)
{
    zeus_power_monitor_options o;
    zeus_power_monitor *pm;
    zeus_devices *devs = NULL;
    unsigned gpus[ZEUS_MAX_GPUS], n = 0;
    zeus_status s;

    if (out == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "zeus_power_monitor_create: out is NULL");
    s = read_options(opts, &o);
    if (s != ZEUS_OK)
        return s;
    pm = calloc(1, sizeof *pm);
    if (pm == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "zeus_power_monitor_create: out of memory");

    /* The devices are needed to choose; sampling uses the sampler's own handle. */
    s = zeus_devices_create(&devs);
    if (s == ZEUS_OK)
        s = zeus__select_gpus(devs, o.gpu_indices, o.gpu_index_count, gpus, &n);
    if (s == ZEUS_OK)
        s = choose_domains(devs, gpus, n, &o, &pm->domains);
    if (s == ZEUS_OK)
        s = scope_flags(devs, gpus, n, &o, pm->scope_flags);
    pm->period_s = o.update_period_s > 0 ? o.update_period_s : START_PERIOD_S;
    if (s == ZEUS_OK && o.update_period_s > 0)
        check_given_period(&o);
    if (s == ZEUS_OK)
        s = zeus__timelines_start(&pm->tl, devs, gpus, n, pm->domains,
                                  (int64_t)llround(pm->period_s * 1e9),
                                  o.max_samples ? o.max_samples : DEFAULT_MAX_SAMPLES);
    zeus_devices_destroy(devs);
    if (s != ZEUS_OK) {
        free(pm);
        return s;
    }
    pthread_mutex_init(&pm->period_lock, NULL);
    pthread_cond_init(&pm->period_known, NULL);
    if (o.update_period_s == 0) {
        memcpy(pm->gpus, gpus, n * sizeof *gpus);
        pm->gpu_count = n;
        pm->warn = o.warn;
        pm->warn_user = o.warn_user;
        pm->inferring = 1;
        pm->has_inferrer = pthread_create(&pm->inferrer, NULL, infer_period, pm) == 0;
        if (!pm->has_inferrer)
            pm->inferring = 0; /* keep START_PERIOD_S */
    }
    pm->magic = POWER_MONITOR_MAGIC;
    *out = pm;
    return ZEUS_OK;
}

static int monitor_ok(const zeus_power_monitor *pm)
{
    return pm != NULL && pm->magic == POWER_MONITOR_MAGIC;
}

static zeus_status bad_handle(const char *fn)
{
    return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "%s: invalid or destroyed power monitor", fn);
}

zeus_status zeus_power_monitor_stop(zeus_power_monitor *pm)
{
    if (!monitor_ok(pm))
        return bad_handle("zeus_power_monitor_stop");
    current_period(pm, 1); /* the inferrer may still lower the polling: let it finish */
    return zeus__timelines_stop(&pm->tl);
}

void zeus_power_monitor_destroy(zeus_power_monitor *pm)
{
    if (!monitor_ok(pm))
        return;
    pm->magic = 0;
    join_inferrer(pm);
    zeus__timelines_fini(&pm->tl);
    pthread_cond_destroy(&pm->period_known);
    pthread_mutex_destroy(&pm->period_lock);
    free(pm);
}

double zeus_power_monitor_update_period(const zeus_power_monitor *pm)
{
    /* the period is being inferred in the background: the answer waits for it (about 1 s) */
    return monitor_ok(pm) ? current_period((zeus_power_monitor *)pm, 1) : 0;
}

unsigned zeus_power_monitor_domains(const zeus_power_monitor *pm)
{
    return monitor_ok(pm) ? pm->domains : 0;
}

unsigned zeus_power_monitor_gpus(const zeus_power_monitor *pm, unsigned *indices, unsigned cap)
{
    if (!monitor_ok(pm))
        return 0;
    for (unsigned i = 0; i < pm->tl.gpu_count && i < cap && indices != NULL; i++)
        indices[i] = pm->tl.gpu[i].index;
    return pm->tl.gpu_count;
}

/* ---- Queries ---------------------------------------------------------------------------- */

/* Check the handle, the domain (sampled) and the GPU; *slot is the GPU's slot. */
static zeus_status check_query(const zeus_power_monitor *pm, int domain, unsigned gpu, int *slot,
                               const char *fn)
{
    char names[128];

    if (!monitor_ok(pm))
        return bad_handle(fn);
    if (domain < 0 || domain > ZEUS_POWER_MEMORY_AVERAGE ||
        !(pm->domains & ZEUS_DOMAIN_BIT(domain))) {
        const char *name = domain >= 0 ? zeus_power_domain_name((zeus_power_domain)domain) : NULL;
        domain_list(pm->domains, names, sizeof names);
        if (name == NULL)
            return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "%s: unknown power domain %d", fn,
                              domain);
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                          "Power domain %s is not being monitored. Monitored domains: %s", name,
                          names);
    }
    *slot = zeus__timelines_slot(&pm->tl, gpu);
    return *slot < 0 ? ZEUS_ERR_NOT_FOUND : ZEUS_OK;
}

zeus_status zeus_power_monitor_timeline(zeus_power_monitor *pm, zeus_power_domain domain,
                                        unsigned gpu, double t0_s, double t1_s, zeus_sample *out,
                                        size_t *count)
{
    int slot = -1;
    zeus_status s = check_query(pm, (int)domain, gpu, &slot, "zeus_power_monitor_timeline");

    if (s != ZEUS_OK)
        return s;
    return zeus__timeline_copy(&pm->tl, slot, (int)domain, t0_s, t1_s, out, count);
}

zeus_status zeus_power_monitor_power(zeus_power_monitor *pm, zeus_power_domain domain,
                                     unsigned gpu, double t_s, double *power_w)
{
    int slot = -1;
    zeus_status s = check_query(pm, (int)domain, gpu, &slot, "zeus_power_monitor_power");

    if (s != ZEUS_OK)
        return s;
    if (power_w == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "zeus_power_monitor_power: power_w is NULL");
    *power_w = zeus__timelines_nearest(&pm->tl, slot, (int)domain,
                                       zeus__seconds_to_ns(t_s, INT64_MAX))
                   .value;
    return ZEUS_OK;
}

/* Zeus's default: device_instant if sampled, else device_average. */
static zeus_status default_domain(const zeus_power_monitor *pm, int *domain)
{
    if (*domain != -1)
        return ZEUS_OK;
    if (pm->domains & ZEUS_DOMAIN_BIT(ZEUS_POWER_DEVICE_INSTANT))
        *domain = ZEUS_POWER_DEVICE_INSTANT;
    else if (pm->domains & ZEUS_DOMAIN_BIT(ZEUS_POWER_DEVICE_AVERAGE))
        *domain = ZEUS_POWER_DEVICE_AVERAGE;
    else
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                          "Neither device_instant nor device_average is being monitored. "
                          "Cannot compute energy usage.");
    return ZEUS_OK;
}

/*
 * Clip [*t0, *t1] to the sampled span [lo, hi]. Returns the nanoseconds left out, or -1
 * when nothing of the interval was sampled: energy the monitor did not measure is never
 * reported (Zeus returns 0 there; the edge rule would have extrapolated it).
 */
/* b - a for a <= b, saturated: times saturate at INT64_MIN/MAX for 1e308 s. */
static uint64_t gap_ns(int64_t a, int64_t b)
{
    return (uint64_t)b - (uint64_t)a;
}

static int64_t clip_to_span(int64_t *t0, int64_t *t1, int64_t lo, int64_t hi)
{
    uint64_t cut = 0;

    if (*t1 < lo || *t0 > hi)
        return -1;
    if (*t0 < lo) {
        cut += gap_ns(*t0, lo);
        *t0 = lo;
    }
    if (*t1 > hi) {
        uint64_t d = gap_ns(hi, *t1);
        cut = cut > UINT64_MAX - d ? UINT64_MAX : cut + d;
        *t1 = hi;
    }
    return cut > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)cut;
}

zeus_status zeus_power_monitor_energy_detail(zeus_power_monitor *pm, int domain, unsigned gpu,
                                             double t0_s, double t1_s, zeus_power_energy *out)
{
    zeus__tl_view v;
    zeus__integral r;
    int64_t t0, t1, cut;
    int slot = -1;
    uint32_t scope;
    zeus_status s;

    if (!monitor_ok(pm))
        return bad_handle("zeus_power_monitor_energy");
    if ((s = default_domain(pm, &domain)) != ZEUS_OK)
        return s;
    if ((s = check_query(pm, domain, gpu, &slot, "zeus_power_monitor_energy")) != ZEUS_OK)
        return s;
    if (out == NULL || !isfinite(t0_s) || !isfinite(t1_s) || t1_s < t0_s)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                          "zeus_power_monitor_energy: needs finite times with t0 <= t1 (got "
                          "%g, %g) and an output",
                          t0_s, t1_s);
    t0 = zeus__seconds_to_ns(t0_s, 0);
    t1 = zeus__seconds_to_ns(t1_s, 0);
    s = zeus__timelines_view(&pm->tl, slot, domain, t0, t1, 1, &v);
    if (s != ZEUS_OK)
        return s;
    memset(out, 0, sizeof *out);
    out->update_period_s = current_period(pm, 0);
    scope = gpu < ZEUS_MAX_GPUS ? pm->scope_flags[gpu] : 0;
    if (domain == ZEUS_POWER_MEMORY_AVERAGE)
        scope &= ~ZEUS_ENERGY_MODULE_SCOPE; /* the memory rail is the GPU's own */
    cut = clip_to_span(&t0, &t1, v.span_lo_ns, v.span_hi_ns);
    if (cut < 0 || v.n == 0) {
        zeus__tl_view_free(&v);
        out->energy_j = NAN;
        out->flags = ZEUS_ENERGY_UNCOVERED | scope;
        out->extrapolated_s = t1_s - t0_s;
        return ZEUS_OK;
    }
    zeus__integrate(v.s, v.n, zeus__timelines_period_ns(&pm->tl), v.span_lo_ns, v.span_hi_ns, t0, t1, &r);
    zeus__tl_view_free(&v);

    out->energy_j = r.energy_j;
    out->flags = ZEUS_ENERGY_VALID | ZEUS_ENERGY_INTEGRATED | (cut > 0 ? ZEUS_ENERGY_CLIPPED : 0) |
                 scope;
    out->samples = r.samples > UINT32_MAX ? UINT32_MAX : (uint32_t)r.samples;
    out->extrapolated_s = (double)cut * 1e-9;
    return ZEUS_OK;
}

zeus_status zeus_power_monitor_energy(zeus_power_monitor *pm, int domain, unsigned gpu,
                                      double t0_s, double t1_s, double *energy_j)
{
    zeus_power_energy e;
    zeus_status s;

    if (energy_j == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "zeus_power_monitor_energy: energy_j is "
                                                     "NULL");
    s = zeus_power_monitor_energy_detail(pm, domain, gpu, t0_s, t1_s, &e);
    if (s == ZEUS_OK)
        *energy_j = e.energy_j;
    return s;
}
