/*
 * fake_amdsmi.c - A stand-in for libamd_smi.so that implements the AMD SMI C ABI of ROCm 6.3
 * and 6.4 for the functions Zeus-C calls, with scriptable GPUs, counters and errors.
 *
 * CONFIGURATION (fake_amdsmi.h): key=value pairs separated by semicolons; "gpuN.key" applies
 * to GPU N only and wins over the plain key whatever the order.
 *
 *   key             default               meaning
 *   gpus            1                     number of GPUs (0-16; global)
 *   rocm            6.3                   struct layouts and version: 6.3 (lib 24.7.1.0),
 *                                         6.4 (25.3.0), or an unsupported 6.2 (24.6.3.0) or
 *                                         7.0 (26.0.0) (global)
 *   hip_order       0,1,...               HIP index of each AMD SMI handle, a permutation
 *                                         (global); 6.3 reports it through KFD node ids
 *                                         (node = HIP index + 2), 6.4 as hip_id
 *   name            AMD Instinct MI300X   market_name of amdsmi_get_gpu_asic_info
 *   uuid            a3ff74a1-<G>-1000-80<NN>-5ad3c1a0b<NNN>, G the number of resets in
 *                                         hex (a fresh GPU for libzeus's per-process
 *                                         counter verdicts), NN/NNN the index
 *                                         amdsmi_get_gpu_device_uuid
 *   trace           constant              constant: power_w all the time; square: power_w
 *                                         for the first half of each trace_period_ms and
 *                                         low_w for the second half (from the reset)
 *   power_w         300                   average socket power (W) and the counter's power
 *   instant_w       power_w               current socket power (W); with trace=square, the
 *                                         trace's power now (and average_socket_power the
 *                                         trace's mean)
 *   low_w           100                   the square trace's low level
 *   trace_period_ms 1000                  the square trace's period
 *   no_instant      0                     1: current_socket_power is N/A (0xFFFF / UINT32_MAX)
 *   no_average      0                     1: average_socket_power is N/A
 *   resolution_uj   15.259                counter_resolution (uJ per count)
 *   update_ms       1                     counter update period
 *   counter_scale   1                     the counter counts this times the true energy:
 *                                         0.001 or 100 make a broken counter (ROCm/amdsmi#38)
 *   limit_min_w     200                   power cap info (uW in the ABI)
 *   limit_max_w     750
 *   limit_default_w 750                   also the cap at reset
 *   temp_c          45                    hotspot temperature (whole degrees C in the ABI, as
 *                                         the library returns it, whatever amdsmi.h says)
 *   gfx_min_mhz     500, gfx_max_mhz 2100 amdsmi_get_clock_info(GFX)
 *   mem_min_mhz     900, mem_max_mhz 1300 amdsmi_get_clock_info(MEM)
 *   root            1                     0: setters answer AMDSMI_STATUS_NO_PERM
 *
 * TIME MODEL: the counter is the true energy (power integrated from the reset on
 * CLOCK_MONOTONIC) at the last update boundary, times counter_scale, divided by the
 * resolution and rounded down. Power readings are the configured values at once.
 *
 * Every call counts; every call but amdsmi_init answers AMDSMI_STATUS_NOT_INIT before
 * amdsmi_init (amdsmi_get_lib_version too, as the library's AMDSMI_CHECK_INIT does). One
 * mutex guards all state.
 */
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake_amdsmi.h"

#define EXPORT __attribute__((visibility("default")))
#define MAX_GPUS 16
#define MAX_FAILS 16
#define MAX_COUNTS 32

typedef uint32_t amdsmi_status_t;
enum {
    OK = 0,
    INVAL = 1,
    NOT_SUPPORTED = 2,
    NO_PERM = 10,
    NOT_FOUND = 31,
    NOT_INIT = 32,
};

struct gpu {
    unsigned index;
    char name[256], uuid[64];
    double power_w, instant_w, resolution_uj, update_ms, counter_scale;
    int square;               /* trace=square */
    double low_w, period_ms;  /* its low level and period */
    int no_instant, no_average, root;
    double limit_min_w, limit_max_w, limit_default_w, temp_c;
    unsigned gfx[2], mem[2]; /* min, max */
    /* state */
    double base_uj;   /* true energy at base_ns */
    int64_t base_ns;
    uint64_t cap_uw;
    unsigned gfx_range[2], mem_range[2];
    int perf_level;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    int configured, inits;
    unsigned generation; /* resets so far: part of the default UUIDs */
    unsigned gpus;
    char rocm[8];
    unsigned hip[MAX_GPUS];
    int64_t t0_ns;
    struct gpu g[MAX_GPUS];
    struct {
        char fn[64];
        unsigned index;
        uint32_t status;
        int times;
    } fails[MAX_FAILS];
    struct {
        char fn[64];
        unsigned long long n;
    } counts[MAX_COUNTS];
} st;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- Configuration ---------------------------------------------------------------------- */

static void defaults(void)
{
    st.generation++;
    memset(&st.g, 0, sizeof st.g);
    memset(st.fails, 0, sizeof st.fails);
    memset(st.counts, 0, sizeof st.counts);
    st.gpus = 1;
    snprintf(st.rocm, sizeof st.rocm, "6.3");
    st.t0_ns = now_ns();
    for (unsigned i = 0; i < MAX_GPUS; i++) {
        struct gpu *g = &st.g[i];
        st.hip[i] = i;
        g->index = i;
        snprintf(g->name, sizeof g->name, "AMD Instinct MI300X");
        snprintf(g->uuid, sizeof g->uuid, "a3ff74a1-%04x-1000-80%02u-5ad3c1a0b%03u",
                 st.generation & 0xffff, i, i);
        g->power_w = 300;
        g->instant_w = NAN;
        g->low_w = 100;
        g->period_ms = 1000;
        g->resolution_uj = 15.259;
        g->update_ms = 1;
        g->counter_scale = 1;
        g->root = 1;
        g->limit_min_w = 200;
        g->limit_max_w = 750;
        g->limit_default_w = 750;
        g->temp_c = 45;
        g->gfx[0] = 500, g->gfx[1] = 2100;
        g->mem[0] = 900, g->mem[1] = 1300;
        g->base_ns = st.t0_ns;
    }
}

/* Apply one key to GPU g (or to the globals); -1 on an unknown key or bad value. */
static int apply(struct gpu *g, const char *key, const char *val, int global)
{
    char *end;
    double v = strtod(val, &end);
    int num = end != val && *end == '\0';

#define NUM(k, field)                                                                      \
    if (strcmp(key, k) == 0) {                                                           \
        if (!num)                                                                        \
            return -1;                                                                   \
        g->field = v;                                                                    \
        return 0;                                                                        \
    }
    NUM("power_w", power_w)
    NUM("instant_w", instant_w)
    NUM("low_w", low_w)
    NUM("trace_period_ms", period_ms)
    NUM("no_instant", no_instant)
    NUM("no_average", no_average)
    NUM("resolution_uj", resolution_uj)
    NUM("update_ms", update_ms)
    NUM("counter_scale", counter_scale)
    NUM("limit_min_w", limit_min_w)
    NUM("limit_max_w", limit_max_w)
    NUM("limit_default_w", limit_default_w)
    NUM("temp_c", temp_c)
    NUM("gfx_min_mhz", gfx[0])
    NUM("gfx_max_mhz", gfx[1])
    NUM("mem_min_mhz", mem[0])
    NUM("mem_max_mhz", mem[1])
    NUM("root", root)
#undef NUM
    if (strcmp(key, "trace") == 0) {
        if (strcmp(val, "square") != 0 && strcmp(val, "constant") != 0)
            return -1;
        g->square = strcmp(val, "square") == 0;
        return 0;
    }
    if (strcmp(key, "name") == 0) {
        snprintf(g->name, sizeof g->name, "%s", val);
        return 0;
    }
    if (strcmp(key, "uuid") == 0) {
        snprintf(g->uuid, sizeof g->uuid, "%s", val);
        return 0;
    }
    if (!global)
        return -1;
    if (strcmp(key, "gpus") == 0 && num && v >= 0 && v <= MAX_GPUS) {
        st.gpus = (unsigned)v;
        return 0;
    }
    if (strcmp(key, "rocm") == 0) {
        snprintf(st.rocm, sizeof st.rocm, "%s", val);
        return 0;
    }
    if (strcmp(key, "hip_order") == 0) {
        const char *p = val;
        for (unsigned i = 0; i < MAX_GPUS && *p != '\0'; i++) {
            st.hip[i] = (unsigned)strtoul(p, &end, 10);
            p = *end == ',' ? end + 1 : end;
        }
        return 0;
    }
    return -1;
}

/* Parse the spec: plain keys to every GPU first, then gpuN. keys, so the prefixed form wins. */
static int configure(const char *spec)
{
    defaults();
    for (int pass = 0; pass < 2 && spec != NULL; pass++) {
        char buf[4096], *save = NULL;
        snprintf(buf, sizeof buf, "%s", spec);
        for (char *kv = strtok_r(buf, ";", &save); kv != NULL; kv = strtok_r(NULL, ";", &save)) {
            char *eq = strchr(kv, '=');
            unsigned n;
            int used;
            if (eq == NULL)
                return -1;
            *eq = '\0';
            if (sscanf(kv, "gpu%u.%n", &n, &used) == 1 && kv[used - 1] == '.') {
                if (pass == 1 && (n >= MAX_GPUS || apply(&st.g[n], kv + used, eq + 1, 0) != 0))
                    return -1;
                continue;
            }
            if (pass == 1)
                continue;
            if (strcmp(kv, "gpus") == 0 || strcmp(kv, "rocm") == 0 ||
                strcmp(kv, "hip_order") == 0) {
                if (apply(&st.g[0], kv, eq + 1, 1) != 0)
                    return -1;
                continue;
            }
            for (unsigned i = 0; i < MAX_GPUS; i++)
                if (apply(&st.g[i], kv, eq + 1, 0) != 0)
                    return -1;
        }
    }
    for (unsigned i = 0; i < MAX_GPUS; i++) {
        if (isnan(st.g[i].instant_w))
            st.g[i].instant_w = st.g[i].power_w;
        st.g[i].cap_uw = (uint64_t)llround(st.g[i].limit_default_w * 1e6);
    }
    st.configured = 1;
    return 0;
}

/* ---- Calls ------------------------------------------------------------------------------ */

static void count_call(const char *fn)
{
    for (int i = 0; i < MAX_COUNTS; i++) {
        if (st.counts[i].fn[0] == '\0')
            snprintf(st.counts[i].fn, sizeof st.counts[i].fn, "%s", fn);
        if (strcmp(st.counts[i].fn, fn) == 0) {
            st.counts[i].n++;
            return;
        }
    }
}

/* Count the call; the injected status for (fn, gpu) if one is armed, else 0. */
static amdsmi_status_t enter(const char *fn, const struct gpu *g)
{
    count_call(fn);
    for (int i = 0; i < MAX_FAILS; i++) {
        if (st.fails[i].times == 0 || strcmp(st.fails[i].fn, fn) != 0)
            continue;
        if (g != NULL && st.fails[i].index != ~0u && st.fails[i].index != g->index)
            continue;
        if (st.fails[i].times > 0)
            st.fails[i].times--;
        return st.fails[i].status;
    }
    return st.inits > 0 ? OK : NOT_INIT;
}

static struct gpu *gpu_of(void *h)
{
    for (unsigned i = 0; i < st.gpus; i++)
        if (h == &st.g[i])
            return &st.g[i];
    return NULL;
}

/* Lock, count, check the handle and injected failures; the body runs with the lock held. */
#define BEGIN(fn, handle)                                                                  \
    struct gpu *g;                                                                         \
    amdsmi_status_t r_;                                                                    \
    pthread_mutex_lock(&lock);                                                             \
    g = gpu_of(handle);                                                                    \
    r_ = enter(fn, g);                                                                     \
    if (r_ == OK && g == NULL)                                                             \
        r_ = INVAL;                                                                        \
    if (r_ != OK) {                                                                        \
        pthread_mutex_unlock(&lock);                                                       \
        return r_;                                                                         \
    }
#define END(r)                                                                             \
    pthread_mutex_unlock(&lock);                                                           \
    return (r)

static int is64(void)
{
    return strcmp(st.rocm, "6.3") != 0 && strcmp(st.rocm, "6.2") != 0;
}

EXPORT amdsmi_status_t amdsmi_init(uint64_t flags)
{
    (void)flags;
    pthread_mutex_lock(&lock);
    if (!st.configured && configure(getenv("ZEUS_FAKE_AMDSMI")) != 0)
        configure(NULL);
    count_call("amdsmi_init");
    st.inits++;
    pthread_mutex_unlock(&lock);
    return OK;
}

EXPORT amdsmi_status_t amdsmi_shut_down(void)
{
    pthread_mutex_lock(&lock);
    count_call("amdsmi_shut_down");
    if (st.inits > 0)
        st.inits--;
    pthread_mutex_unlock(&lock);
    return OK;
}

/* ROCm 6.3: {year, major, minor, release, build}; 6.4 on: {major, minor, release, build}. */
EXPORT amdsmi_status_t amdsmi_get_lib_version(void *out)
{
    static const char build63[] = "24.7.1.0", build62[] = "24.6.3.0", build64[] = "25.3.0",
                      build70[] = "26.0.0";
    uint32_t *w = out;

    pthread_mutex_lock(&lock);
    count_call("amdsmi_get_lib_version");
    if (st.inits == 0) { /* AMDSMI_CHECK_INIT(), as the library does */
        pthread_mutex_unlock(&lock);
        return NOT_INIT;
    }
    if (strcmp(st.rocm, "6.3") == 0 || strcmp(st.rocm, "6.2") == 0) {
        int is63 = st.rocm[2] == '3';
        w[0] = 24, w[1] = is63 ? 7 : 6, w[2] = is63 ? 1 : 3, w[3] = 0;
        *(const char **)(w + 4) = is63 ? build63 : build62;
    } else {
        int is64_ = strcmp(st.rocm, "6.4") == 0;
        w[0] = is64_ ? 25 : 26, w[1] = is64_ ? 3 : 0, w[2] = 0;
        *(const char **)(w + 4) = is64_ ? build64 : build70;
    }
    pthread_mutex_unlock(&lock);
    return OK;
}

EXPORT amdsmi_status_t amdsmi_get_socket_handles(uint32_t *count, void **handles)
{
    amdsmi_status_t r;

    pthread_mutex_lock(&lock);
    r = enter("amdsmi_get_socket_handles", NULL);
    if (r == OK) {
        uint32_t room = *count;
        *count = st.gpus;
        for (unsigned i = 0; handles != NULL && i < st.gpus && i < room; i++)
            handles[i] = &st.g[i].gfx; /* a socket per GPU, as on MI300X */
    }
    END(r);
}

EXPORT amdsmi_status_t amdsmi_get_processor_handles(void *socket, uint32_t *count,
                                                    void **handles)
{
    amdsmi_status_t r;

    pthread_mutex_lock(&lock);
    r = enter("amdsmi_get_processor_handles", NULL);
    for (unsigned i = 0; r == OK && i < st.gpus; i++) {
        if (socket != (void *)&st.g[i].gfx)
            continue;
        if (handles != NULL && *count >= 1)
            handles[0] = &st.g[i];
        *count = 1;
        END(OK);
    }
    END(r == OK ? INVAL : r);
}

/* The trace's energy from the reset to t, uJ. */
static double trace_uj(const struct gpu *g, int64_t t)
{
    double dt = (double)(t - st.t0_ns) * 1e-9, period = g->period_ms * 1e-3, half = period / 2;
    double n, r;

    if (!g->square || period <= 0)
        return g->power_w * dt * 1e6;
    n = floor(dt / period);
    r = dt - n * period;
    return (n * half * (g->power_w + g->low_w) + g->power_w * fmin(r, half) +
            g->low_w * fmax(0, r - half)) * 1e6;
}

/* The trace's power at t, W. */
static double trace_w(const struct gpu *g, int64_t t)
{
    double period = g->period_ms * 1e-3;
    double dt = (double)(t - st.t0_ns) * 1e-9;

    if (!g->square || period <= 0)
        return g->instant_w;
    return dt - floor(dt / period) * period < period / 2 ? g->power_w : g->low_w;
}

static double true_uj(const struct gpu *g, int64_t t)
{
    return g->base_uj + trace_uj(g, t) - trace_uj(g, g->base_ns);
}

EXPORT amdsmi_status_t amdsmi_get_energy_count(void *h, uint64_t *acc, float *res, uint64_t *ts)
{
    int64_t t, step;

    BEGIN("amdsmi_get_energy_count", h);
    step = (int64_t)(g->update_ms * 1e6);
    t = now_ns();
    if (step > 0)
        t = st.t0_ns + (t - st.t0_ns) / step * step;
    if (t < g->base_ns)
        t = g->base_ns;
    *acc = (uint64_t)floor(true_uj(g, t) * g->counter_scale / g->resolution_uj);
    *res = (float)g->resolution_uj;
    *ts = (uint64_t)(t / 10); /* 10 ns ticks */
    END(OK);
}

EXPORT amdsmi_status_t amdsmi_get_power_info(void *h, void *out)
{
    uint32_t na = is64() ? 0xFFFFFFFFu : 0xFFFFu;
    uint32_t cur, avg;

    BEGIN("amdsmi_get_power_info", h);
    cur = g->no_instant ? na : (uint32_t)lround(trace_w(g, now_ns()));
    avg = g->no_average ? na
                        : (uint32_t)lround(g->square ? (g->power_w + g->low_w) / 2 : g->power_w);
    if (is64()) { /* uint64_t socket_power first */
        memset(out, 0, 40); /* ROCm 6.4's size */
        *(uint64_t *)out = avg;
        ((uint32_t *)out)[2] = cur;
        ((uint32_t *)out)[3] = avg;
    } else {
        memset(out, 0, 17 * 4);
        ((uint32_t *)out)[0] = cur;
        ((uint32_t *)out)[1] = avg;
    }
    END(OK);
}

EXPORT amdsmi_status_t amdsmi_get_gpu_asic_info(void *h, char *out)
{
    BEGIN("amdsmi_get_gpu_asic_info", h);
    snprintf(out, 256, "%s", g->name);
    END(OK);
}

EXPORT amdsmi_status_t amdsmi_get_gpu_device_uuid(void *h, unsigned *len, char *out)
{
    BEGIN("amdsmi_get_gpu_device_uuid", h);
    if (*len < 38) {
        END(INVAL);
    }
    snprintf(out, *len, "%s", g->uuid);
    END(OK);
}

EXPORT amdsmi_status_t amdsmi_get_gpu_device_bdf(void *h, uint64_t *bdf)
{
    BEGIN("amdsmi_get_gpu_device_bdf", h);
    *bdf = (uint64_t)(0x0c + 0x10 * g->index) << 8; /* 0000:0c:00.0, 0000:1c:00.0, ... */
    END(OK);
}

EXPORT amdsmi_status_t amdsmi_get_gpu_kfd_info(void *h, void *out)
{
    BEGIN("amdsmi_get_gpu_kfd_info", h);
    memset(out, 0, 64);
    *(uint64_t *)out = 1000 + g->index;
    ((uint32_t *)out)[2] = st.hip[g->index] + 2; /* CPU nodes come first in KFD */
    END(OK);
}

/* ROCm 6.4 only: {drm_render, drm_card, hsa_id, hip_id, hip_uuid[256], ...}. */
EXPORT amdsmi_status_t amdsmi_get_gpu_enumeration_info(void *h, uint32_t *out)
{
    BEGIN("amdsmi_get_gpu_enumeration_info", h);
    if (!is64()) {
        END(NOT_SUPPORTED);
    }
    out[0] = 128 + g->index, out[1] = g->index, out[2] = st.hip[g->index] + 2;
    out[3] = st.hip[g->index];
    END(OK);
}

EXPORT amdsmi_status_t amdsmi_get_temp_metric(void *h, int type, int metric, int64_t *temp)
{
    BEGIN("amdsmi_get_temp_metric", h);
    if (type != 1 || metric != 0) {
        END(NOT_SUPPORTED);
    }
    *temp = llround(g->temp_c); /* whole degrees: the library divides ROCm SMI's millidegrees */
    END(OK);
}

EXPORT amdsmi_status_t amdsmi_get_power_cap_info(void *h, uint32_t sensor, uint64_t *out)
{
    BEGIN("amdsmi_get_power_cap_info", h);
    if (sensor != 0) {
        END(INVAL);
    }
    memset(out, 0, 64);
    out[0] = g->cap_uw;
    out[1] = (uint64_t)llround(g->limit_default_w * 1e6);
    out[2] = 2100;
    out[3] = (uint64_t)llround(g->limit_min_w * 1e6);
    out[4] = (uint64_t)llround(g->limit_max_w * 1e6);
    END(OK);
}

EXPORT amdsmi_status_t amdsmi_set_power_cap(void *h, uint32_t sensor, uint64_t cap)
{
    BEGIN("amdsmi_set_power_cap", h);
    if (!g->root) {
        END(NO_PERM);
    }
    if (sensor != 0 || (double)cap < g->limit_min_w * 1e6 - 0.5 ||
        (double)cap > g->limit_max_w * 1e6 + 0.5) {
        END(INVAL);
    }
    g->cap_uw = cap;
    END(OK);
}

EXPORT amdsmi_status_t amdsmi_get_clock_info(void *h, int type, uint32_t *out)
{
    const unsigned *r;

    BEGIN("amdsmi_get_clock_info", h);
    if (type != 0 && type != 4) {
        END(NOT_SUPPORTED);
    }
    r = type == 0 ? g->gfx : g->mem;
    memset(out, 0, 32);
    out[0] = r[1], out[1] = r[0], out[2] = r[1];
    END(OK);
}

EXPORT amdsmi_status_t amdsmi_set_gpu_clk_range(void *h, uint64_t lo, uint64_t hi, int type)
{
    BEGIN("amdsmi_set_gpu_clk_range", h);
    if (!g->root) {
        END(NO_PERM);
    }
    if ((type != 0 && type != 4) || lo > hi) {
        END(INVAL);
    }
    unsigned *range = type == 0 ? g->gfx_range : g->mem_range;
    range[0] = (unsigned)lo, range[1] = (unsigned)hi;
    g->perf_level = 4; /* manual */
    END(OK);
}

EXPORT amdsmi_status_t amdsmi_set_gpu_perf_level(void *h, int level)
{
    BEGIN("amdsmi_set_gpu_perf_level", h);
    if (!g->root) {
        END(NO_PERM);
    }
    g->perf_level = level;
    if (level == 0)
        memset(g->gfx_range, 0, sizeof g->gfx_range), memset(g->mem_range, 0, sizeof g->mem_range);
    END(OK);
}

/* ---- Control ---------------------------------------------------------------------------- */

EXPORT int fake_amdsmi_reset(const char *spec)
{
    int r;

    pthread_mutex_lock(&lock);
    r = configure(spec);
    if (r != 0)
        configure(NULL);
    pthread_mutex_unlock(&lock);
    return r;
}

EXPORT void fake_amdsmi_fail(const char *function, unsigned index, unsigned status, int times)
{
    pthread_mutex_lock(&lock);
    for (int i = 0; i < MAX_FAILS; i++) {
        int same = strcmp(st.fails[i].fn, function) == 0 && st.fails[i].index == index;
        if (same || st.fails[i].times == 0) {
            snprintf(st.fails[i].fn, sizeof st.fails[i].fn, "%s", function);
            st.fails[i].index = index;
            st.fails[i].status = status;
            st.fails[i].times = times;
            break;
        }
    }
    pthread_mutex_unlock(&lock);
}

EXPORT unsigned long long fake_amdsmi_call_count(const char *function)
{
    unsigned long long n = 0;

    pthread_mutex_lock(&lock);
    for (int i = 0; i < MAX_COUNTS; i++)
        if (strcmp(st.counts[i].fn, function) == 0)
            n = st.counts[i].n;
    pthread_mutex_unlock(&lock);
    return n;
}

EXPORT void fake_amdsmi_set_power_w(unsigned index, double watts)
{
    pthread_mutex_lock(&lock);
    if (index < MAX_GPUS) {
        struct gpu *g = &st.g[index];
        int64_t t = now_ns();
        g->base_uj = true_uj(g, t);
        g->base_ns = t;
        g->square = 0;
        g->power_w = g->instant_w = watts;
    }
    pthread_mutex_unlock(&lock);
}

EXPORT unsigned long long fake_amdsmi_power_cap_uw(unsigned index)
{
    unsigned long long v;

    pthread_mutex_lock(&lock);
    v = index < MAX_GPUS ? st.g[index].cap_uw : 0;
    pthread_mutex_unlock(&lock);
    return v;
}

EXPORT void fake_amdsmi_clk_range(unsigned index, int type, unsigned *min_mhz, unsigned *max_mhz)
{
    pthread_mutex_lock(&lock);
    if (index < MAX_GPUS) {
        const unsigned *r = type == 0 ? st.g[index].gfx_range : st.g[index].mem_range;
        *min_mhz = r[0], *max_mhz = r[1];
    }
    pthread_mutex_unlock(&lock);
}

EXPORT int fake_amdsmi_perf_level(unsigned index)
{
    int v;

    pthread_mutex_lock(&lock);
    v = index < MAX_GPUS ? st.g[index].perf_level : -1;
    pthread_mutex_unlock(&lock);
    return v;
}

EXPORT int fake_amdsmi_init_count(void)
{
    int v;

    pthread_mutex_lock(&lock);
    v = st.inits;
    pthread_mutex_unlock(&lock);
    return v;
}
