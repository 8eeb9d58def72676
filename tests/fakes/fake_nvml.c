/*
 * fake_nvml.c - A stand-in for libnvidia-ml.so.1 that implements the real NVML ABI for the
 * functions Zeus-C calls, with scriptable devices, counters, call latencies and errors.
 *
 * libzeus loads it through ZEUS_NVML_LIBRARY exactly as it loads the real library, so the
 * NVML backend runs the same code path against it. Tests reach the fake_nvml_* control
 * functions (fake_nvml.h) with dlopen on the same path, which yields the same loaded copy.
 *
 * CONFIGURATION
 *
 * A spec string: semicolon-separated key=value pairs, read from the ZEUS_FAKE_NVML
 * environment variable at the first nvmlInit_v2 (unless fake_nvml_reset() came first) or
 * passed to fake_nvml_reset(). A per-GPU key applies to every GPU, or to physical GPU N only
 * when written "gpuN.key"; the prefixed form wins whatever the order. Watts and milliseconds
 * may have decimals; other values are whole numbers.
 *
 *   key               default                  meaning
 *   gpus              1                        number of GPUs (0-64; global only)
 *   driver            580.159.04               nvmlSystemGetDriverVersion (global only)
 *   name              NVIDIA H100 80GB HBM3    nvmlDeviceGetName
 *   uuid              GPU-<8 hex>-fa4e-...-N   nvmlDeviceGetUUID; must differ between GPUs
 *   pci_domain,       0, 0x18 + 0x10 x index,  nvmlDeviceGetPciInfo_v3 (bus ids 0000:18:00.0,
 *   pci_bus,          0                        0000:28:00.0, ...)
 *   pci_device
 *   arch              9 (Hopper)               NVML architecture: 2 Kepler .. 4 Pascal,
 *                                              5 Volta, 6 Turing, 7 Ampere, 8 Ada,
 *                                              9 Hopper, 10 Blackwell
 *   trace             constant                 power over time (see TRACES)
 *   power_w           75                       base power (H100 idle draws 74-80 W)
 *   low_w             75                       low level of square, start of ramp
 *   burst_w           700                      level of the bursts (H100 under load)
 *   trace_period_ms   1000                     period of square, bursts and ramp
 *   burst_ms          50                       length of each burst
 *   memory_w          46                       memory power (H100 idle, measured)
 *   period_ms         100                      update period of counter and power readings
 *   phase_ms          0                        offset of the update boundaries
 *   period_jitter_ms  0                        each boundary moved by a fixed pseudo-random
 *                                              offset in [-J, J] (J < period_ms / 2): an
 *                                              H100's steps are 97/100/103 ms p10/p50/p90,
 *                                              which J = 3 reproduces
 *   energy_mj         0                        counter value at reset
 *   energy_latency_us 0                        time nvmlDeviceGetTotalEnergyConsumption
 *                                              takes (2697 us p50 on an H100), asleep
 *   energy_spin_us    0                        CPU time the energy read burns: it busy-waits
 *                                              this long (after any energy_latency_us), as
 *                                              a real driver does (3.6-3.9 ms of CPU per
 *                                              read on an H200, driver 580)
 *   power_latency_us  0                        time GetPowerUsage and GetFieldValues take
 *   limit_min_w       200                      power limit constraints
 *   limit_max_w       700
 *   limit_default_w   700                      also the limit at reset
 *   temp_c            40                       nvmlDeviceGetTemperature (sensor 0)
 *   memory_power      1                        1: field 185 answers at memory scope (2)
 *   module_scope      0                        1: fields 185/186 answer NOT_SUPPORTED at GPU
 *                                              scope and only work at MODULE scope (Grace
 *                                              Hopper); 0: MODULE scope is NOT_SUPPORTED
 *   power_fields      1                        0: fields 185/186 answer NOT_SUPPORTED at all
 *                                              scopes (drivers before the power fields)
 *   mig               0                        1: MIG mode is on (nvmlDeviceGetMigMode answers
 *                                              1/1; Ampere and newer only) and the GPU has
 *                                              mig_slices MIG devices
 *   mig_slices        2                        MIG devices on a GPU in MIG mode (1-7); slice s
 *                                              of physical GPU N has the UUID
 *                                              MIG-<N, 8 hex>-6d1a-4c2e-9f3b-<s, 12 hex>
 *                                              (FAKE_MIG_UUID_FORMAT in fake_nvml.h)
 *   persistence       0                        persistence mode at reset
 *   root              1                        0: every setter answers NO_PERMISSION
 *   mem_clocks        2619                     supported memory clocks, comma-separated,
 *                                              highest first as NVML lists them (max 16)
 *   gfx_max_mhz       1980                     supported graphics clocks: gfx_max_mhz down
 *   gfx_min_mhz       345                      to gfx_min_mhz in gfx_step_mhz steps (110
 *   gfx_step_mhz      15                       clocks, as an H100 SXM lists them)
 *
 * TRACES (time t is measured from the last reset, in each trace period T)
 *
 *   constant  power_w all the time.
 *   square    power_w for the first half of each period, low_w for the second half: with the
 *             defaults a 1 Hz square wave.
 *   bursts    power_w, except burst_w during the last burst_ms of each period. With the
 *             defaults a burst never covers an update boundary, so the sampled power readings
 *             never see it and only the energy counter does.
 *   ramp      rises linearly from low_w to power_w over each period, then drops back.
 *
 * TIME MODEL
 *
 * Readings change only at update boundaries, phase_ms + k * period_ms (+ the jitter of
 * boundary k, a hash of k, when period_jitter_ms is set) after the reset on
 * CLOCK_MONOTONIC, as a real H100's do every ~100 ms (reference/GPU-MEASUREMENTS.md). At the
 * last boundary b before a call:
 *   - the energy counter is the exact integral of the trace from the reset to b, in mJ,
 *     rounded down, plus energy_mj;
 *   - field 186 (instant) is the trace's power at b;
 *   - field 185 (average) is the mean power over the second before b (or since the reset);
 *   - nvmlDeviceGetPowerUsage is the average from Ampere on and the instant value before, as
 *     NVML documents.
 * fake_nvml_set_power_mw() makes the trace constant from the last boundary on, so the
 * readings taken right after it already show the new power and the counter stays monotonic.
 * fake_nvml_set_energy_mj()/add_energy_mj() switch a GPU to manual mode: its counter then
 * changes only through those calls (power readings keep following the trace).
 * fake_nvml_true_energy_j() answers the same integral between any two CLOCK_MONOTONIC times,
 * with no update step and no rounding: the truth the benchmarks compare windows against.
 *
 * CALLS
 *
 * Every call counts (fake_nvml_call_count) and, like the real library, returns
 * NVML_ERROR_UNINITIALIZED before nvmlInit_v2 (nvmlInit_v2/nvmlShutdown are reference
 * counted). A handle is a pointer into the device table; anything else is
 * NVML_ERROR_INVALID_ARGUMENT. fake_nvml_fail() injects a return code into any function.
 * MIG devices: nvmlDeviceGetHandleByUUID also takes a MIG UUID and answers a MIG handle,
 * which only nvmlDeviceGetDeviceHandleFromMigDeviceHandle accepts (every other function
 * answers NVML_ERROR_INVALID_ARGUMENT for it); failure rules of the parent GPU hit it.
 * Call latencies are slept outside the lock, half before and half after the value is taken,
 * so concurrent callers overlap as they do on the real library.
 *
 * Thread safety: one mutex guards all state; nothing sleeps while holding it.
 */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake_nvml.h"

/* ---- The NVML ABI (checked against nvml.h of CUDA 12.x / driver 580) ---------------------- */

typedef int nvmlReturn_t;
typedef struct fake_gpu *nvmlDevice_t;

enum {
    NVML_SUCCESS = 0,
    NVML_ERROR_UNINITIALIZED = 1,
    NVML_ERROR_INVALID_ARGUMENT = 2,
    NVML_ERROR_NOT_SUPPORTED = 3,
    NVML_ERROR_NO_PERMISSION = 4,
    NVML_ERROR_NOT_FOUND = 6,
    NVML_ERROR_INSUFFICIENT_SIZE = 7,
    NVML_ERROR_UNKNOWN = 999,
};

typedef union {
    double dVal;
    int siVal;
    unsigned int uiVal;
    unsigned long ulVal;
    unsigned long long ullVal;
    signed long long sllVal;
    unsigned short usVal;
} nvmlValue_t;

typedef struct {
    unsigned int fieldId;
    unsigned int scopeId;
    long long timestamp;   /* microseconds since 1970 */
    long long latencyUsec;
    int valueType;         /* nvmlValueType_t */
    nvmlReturn_t nvmlReturn;
    nvmlValue_t value;
} nvmlFieldValue_t;

_Static_assert(sizeof(nvmlFieldValue_t) == 40, "nvmlFieldValue_t must match NVML's layout");

/* nvml.h's nvmlPciInfo_t (the same for _v2 and _v3) */
typedef struct {
    char busIdLegacy[16];
    unsigned int domain, bus, device, pciDeviceId, pciSubSystemId;
    char busId[32];
} nvmlPciInfo_t;

#define NVML_VALUE_TYPE_UNSIGNED_INT 1
#define NVML_FI_DEV_POWER_AVERAGE 185
#define NVML_FI_DEV_POWER_INSTANT 186
#define NVML_POWER_SCOPE_GPU 0
#define NVML_POWER_SCOPE_MODULE 1
#define NVML_POWER_SCOPE_MEMORY 2
#define NVML_TEMPERATURE_GPU 0
#define ARCH_VOLTA 5
#define ARCH_AMPERE 7

/* ---- State ------------------------------------------------------------------------------ */

#define FAKE_MAX_GPUS 64
#define FAKE_MAX_RULES 32
#define FAKE_LIMIT_LOG 4096 /* power limit sets remembered */
#define FAKE_CLOCK_LOG 4096 /* clock locks and resets remembered */
#define FAKE_MAX_MEM_CLOCKS 16
#define FAKE_MAX_MIG 7 /* MIG devices per GPU, as on an A100 or H100 (7 x 1g slices) */
#define NO_DEVICE (~0u)

/* Every NVML function the fake implements, in one list: the enum and the names come from it. */
#define FAKE_FUNCTIONS(X)                                                                      \
    X(nvmlInit_v2) X(nvmlShutdown) X(nvmlErrorString) X(nvmlSystemGetDriverVersion)            \
    X(nvmlDeviceGetCount_v2) X(nvmlDeviceGetHandleByIndex_v2) X(nvmlDeviceGetHandleByUUID)     \
    X(nvmlDeviceGetName) X(nvmlDeviceGetUUID) X(nvmlDeviceGetArchitecture)                     \
    X(nvmlDeviceGetTotalEnergyConsumption) X(nvmlDeviceGetPowerUsage)                          \
    X(nvmlDeviceGetFieldValues) X(nvmlDeviceGetTemperature)                                    \
    X(nvmlDeviceGetPowerManagementLimitConstraints) X(nvmlDeviceGetPowerManagementLimit)       \
    X(nvmlDeviceGetPowerManagementDefaultLimit) X(nvmlDeviceSetPowerManagementLimit)           \
    X(nvmlDeviceGetPersistenceMode) X(nvmlDeviceSetPersistenceMode)                            \
    X(nvmlDeviceGetSupportedMemoryClocks) X(nvmlDeviceGetSupportedGraphicsClocks)              \
    X(nvmlDeviceSetGpuLockedClocks) X(nvmlDeviceResetGpuLockedClocks)                          \
    X(nvmlDeviceSetMemoryLockedClocks) X(nvmlDeviceResetMemoryLockedClocks)                \
    X(nvmlDeviceGetPciInfo_v3) X(nvmlDeviceGetMigMode)                                         \
    X(nvmlDeviceGetDeviceHandleFromMigDeviceHandle)

enum fake_fn {
#define X(name) FN_##name,
    FAKE_FUNCTIONS(X)
#undef X
    FN_COUNT,
    FN_ANY = -1, /* a failure rule for every function that takes a device */
};

static const char *const fn_names[FN_COUNT] = {
#define X(name) #name,
    FAKE_FUNCTIONS(X)
#undef X
};

enum fake_trace { TRACE_CONSTANT, TRACE_SQUARE, TRACE_BURSTS, TRACE_RAMP };

struct fake_gpu {
    /* identity */
    char name[96];
    char uuid[96];
    unsigned arch;
    unsigned pci_domain, pci_bus, pci_device; /* where the GPU sits on the PCI bus */
    /* power over time: watts and milliseconds, so W * ms = mJ */
    enum fake_trace trace;
    double power_w, low_w, burst_w, memory_w;
    double trace_period_ms, burst_ms, period_ms, phase_ms, period_jitter_ms;
    double base_mj;   /* energy before origin_ms */
    double origin_ms; /* when the current trace began, ms after the reset */
    int manual;       /* counter set by hand: manual_mj */
    unsigned long long manual_mj;
    unsigned energy_latency_us, power_latency_us;
    unsigned energy_spin_us; /* energy read busy-waits this long, as the real driver does */
    /* capabilities */
    int memory_power, module_scope, power_fields, root;
    int mig;             /* MIG mode on */
    unsigned mig_slices; /* MIG devices while mig is on */
    /* settings */
    unsigned temp_c;
    int persistence;
    unsigned limit_min_mw, limit_max_mw, limit_default_mw, limit_mw;
    unsigned mem_clocks[FAKE_MAX_MEM_CLOCKS], mem_clock_count;
    unsigned gfx_max_mhz, gfx_min_mhz, gfx_step_mhz;
    unsigned locked_gpu_min, locked_gpu_max, locked_mem_min, locked_mem_max;
};

/* What a spec describes; parsed apart from the live state so a bad spec changes nothing. */
struct fake_config {
    unsigned gpu_count;
    char driver[80];
    struct fake_gpu gpus[FAKE_MAX_GPUS];
};

struct fake_rule {
    int fn;         /* enum fake_fn or FN_ANY */
    unsigned index; /* physical GPU, or NO_DEVICE for all */
    nvmlReturn_t ret;
    int times;      /* calls left to fail; -1 forever; 0 unused */
};

static struct {
    pthread_mutex_t lock;
    int configured;  /* a spec was applied (env at first init, or fake_nvml_reset) */
    int init_count;  /* nvmlInit_v2 calls not yet matched by nvmlShutdown */
    int64_t epoch_ns; /* CLOCK_MONOTONIC at the last reset: t = 0 */
    struct fake_config cfg;
    struct fake_rule rules[FAKE_MAX_RULES];
    unsigned long long calls[FN_COUNT];
    char error[256]; /* why the last reset or fail was refused */
    /* Power limits set since the last reset, in order (the optimizer tests' call record). */
    struct { unsigned gpu, mw; } limit_log[FAKE_LIMIT_LOG];
    size_t limit_log_count;
    struct { unsigned gpu, min, max; char kind; } clock_log[FAKE_CLOCK_LOG];
    size_t clock_log_count;
    /* MIG device handles: &mig[N * FAKE_MAX_MIG + s] is slice s of GPU N, valid while
     * GPU N is in MIG mode with more than s slices. */
    struct fake_mig { unsigned gpu, slice; } mig[FAKE_MAX_GPUS * FAKE_MAX_MIG];
} fake = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* ---- Time model ------------------------------------------------------------------------- */

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Milliseconds since the last reset. */
static double now_ms(void)
{
    return (double)(mono_ns() - fake.epoch_ns) / 1e6;
}

/* Wall-clock microseconds since 1970: the clock of nvmlFieldValue_t.timestamp. */
static long long unix_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void pause_us(unsigned us)
{
    struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000};
    if (us > 0)
        nanosleep(&ts, NULL);
}

/*
 * Burn `us` of this thread's CPU time, outside the fake's lock: the real driver spins in the
 * kernel for its whole 3.8 ms read, so a sleep would hide the cost the sampler must budget.
 * The thread's CPU clock, not the wall clock, so a descheduled thread still burns it all.
 */
static void spin_us(unsigned us)
{
    struct timespec ts;
    int64_t end;

    if (us == 0)
        return;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    end = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + (int64_t)us * 1000;
    do {
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    } while ((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec < end);
}

/* The trace's power at offset u (ms) into its periods. */
static double trace_power_w(const struct fake_gpu *g, double u)
{
    double T = g->trace_period_ms, r = fmod(u, T);

    switch (g->trace) {
    case TRACE_SQUARE:
        return r < T / 2 ? g->power_w : g->low_w;
    case TRACE_BURSTS:
        return r >= T - g->burst_ms ? g->burst_w : g->power_w;
    case TRACE_RAMP:
        return g->low_w + (g->power_w - g->low_w) * r / T;
    case TRACE_CONSTANT:
        break;
    }
    return g->power_w;
}

/* Energy (mJ) of the first r ms of one trace period: the closed form of each trace. */
static double period_energy_mj(const struct fake_gpu *g, double r)
{
    double T = g->trace_period_ms, edge;

    switch (g->trace) {
    case TRACE_SQUARE:
        return r < T / 2 ? g->power_w * r : g->power_w * T / 2 + g->low_w * (r - T / 2);
    case TRACE_BURSTS:
        edge = T - g->burst_ms;
        return r < edge ? g->power_w * r : g->power_w * edge + g->burst_w * (r - edge);
    case TRACE_RAMP:
        return g->low_w * r + (g->power_w - g->low_w) * r * r / (2 * T);
    case TRACE_CONSTANT:
        break;
    }
    return g->power_w * r;
}

/* Exact energy (mJ) from the reset to time t (ms). */
static double energy_at(const struct fake_gpu *g, double t)
{
    double u = fmax(t - g->origin_ms, 0), T = g->trace_period_ms, n = floor(u / T);
    return g->base_mj + n * period_energy_mj(g, T) + period_energy_mj(g, u - n * T);
}

static double power_at(const struct fake_gpu *g, double t)
{
    return trace_power_w(g, fmax(t - g->origin_ms, 0));
}

/* Update boundary k: on the grid, moved by a fixed offset in [-J, J] drawn from k. */
static double boundary_k_ms(const struct fake_gpu *g, double k)
{
    uint64_t x = (uint64_t)(int64_t)k * 0x9E3779B97F4A7C15ULL;
    double u;

    /* splitmix64's finalizer: the same offsets for the same k in every run */
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    x ^= x >> 31;
    u = (double)(x >> 11) / 9007199254740992.0; /* [0, 1) */
    return g->phase_ms + k * g->period_ms + (2 * u - 1) * g->period_jitter_ms;
}

/* The last update boundary at or before t. */
static double boundary_ms(const struct fake_gpu *g, double t)
{
    double k = floor((t - g->phase_ms) / g->period_ms);

    if (g->period_jitter_ms <= 0)
        return g->phase_ms + k * g->period_ms;
    /* With J < period / 2 boundaries stay in order, and the one sought is k - 1, k or k + 1. */
    for (double kk = k + 1; kk >= k - 1; kk--)
        if (boundary_k_ms(g, kk) <= t)
            return boundary_k_ms(g, kk);
    return boundary_k_ms(g, k - 2);
}

static unsigned long long counter_mj(const struct fake_gpu *g, double t)
{
    if (g->manual)
        return g->manual_mj;
    /* The epsilon keeps 9999.9999999 (floating-point residue of 10000) from reading 9999. */
    return (unsigned long long)(energy_at(g, boundary_ms(g, t)) + 1e-6);
}

static unsigned to_mw(double w)
{
    return w <= 0 ? 0 : (unsigned)llround(w * 1000.0);
}

static unsigned instant_mw(const struct fake_gpu *g, double t)
{
    return to_mw(power_at(g, boundary_ms(g, t)));
}

/* Mean power over the second before the last boundary, or since the trace began. */
static unsigned average_mw(const struct fake_gpu *g, double t)
{
    double b = boundary_ms(g, t), a = fmax(b - 1000.0, g->origin_ms);

    if (b - a <= 0)
        return instant_mw(g, t);
    return to_mw((energy_at(g, b) - energy_at(g, a)) / (b - a));
}

/* ---- Spec parsing ----------------------------------------------------------------------- */

enum key_kind { K_UINT, K_DOUBLE, K_LIMIT_W, K_BOOL, K_TEXT, K_TRACE, K_CLOCKS };

struct spec_key {
    const char *name;
    enum key_kind kind;
    size_t offset; /* into struct fake_gpu */
    size_t size;
};

#define KEY(name, kind, field) \
    {name, kind, offsetof(struct fake_gpu, field), sizeof(((struct fake_gpu *)0)->field)}

static const struct spec_key gpu_keys[] = {
    KEY("name", K_TEXT, name),
    KEY("uuid", K_TEXT, uuid),
    KEY("arch", K_UINT, arch),
    KEY("pci_domain", K_UINT, pci_domain),
    KEY("pci_bus", K_UINT, pci_bus),
    KEY("pci_device", K_UINT, pci_device),
    KEY("trace", K_TRACE, trace),
    KEY("power_w", K_DOUBLE, power_w),
    KEY("low_w", K_DOUBLE, low_w),
    KEY("burst_w", K_DOUBLE, burst_w),
    KEY("memory_w", K_DOUBLE, memory_w),
    KEY("trace_period_ms", K_DOUBLE, trace_period_ms),
    KEY("burst_ms", K_DOUBLE, burst_ms),
    KEY("period_ms", K_DOUBLE, period_ms),
    KEY("phase_ms", K_DOUBLE, phase_ms),
    KEY("period_jitter_ms", K_DOUBLE, period_jitter_ms),
    KEY("energy_mj", K_DOUBLE, base_mj),
    KEY("energy_latency_us", K_UINT, energy_latency_us),
    KEY("energy_spin_us", K_UINT, energy_spin_us),
    KEY("power_latency_us", K_UINT, power_latency_us),
    KEY("limit_min_w", K_LIMIT_W, limit_min_mw),
    KEY("limit_max_w", K_LIMIT_W, limit_max_mw),
    KEY("limit_default_w", K_LIMIT_W, limit_default_mw),
    KEY("temp_c", K_UINT, temp_c),
    KEY("memory_power", K_BOOL, memory_power),
    KEY("module_scope", K_BOOL, module_scope),
    KEY("power_fields", K_BOOL, power_fields),
    KEY("mig", K_BOOL, mig),
    KEY("mig_slices", K_UINT, mig_slices),
    KEY("persistence", K_BOOL, persistence),
    KEY("root", K_BOOL, root),
    KEY("mem_clocks", K_CLOCKS, mem_clocks),
    KEY("gfx_max_mhz", K_UINT, gfx_max_mhz),
    KEY("gfx_min_mhz", K_UINT, gfx_min_mhz),
    KEY("gfx_step_mhz", K_UINT, gfx_step_mhz),
};

static void default_gpu(struct fake_gpu *g)
{
    memset(g, 0, sizeof *g);
    snprintf(g->name, sizeof g->name, "NVIDIA H100 80GB HBM3");
    g->arch = 9;
    g->trace = TRACE_CONSTANT;
    g->power_w = 75;
    g->low_w = 75;
    g->burst_w = 700;
    g->memory_w = 46;
    g->trace_period_ms = 1000;
    g->burst_ms = 50;
    g->period_ms = 100;
    g->limit_min_mw = 200000;
    g->limit_max_mw = 700000;
    g->limit_default_mw = 700000;
    g->temp_c = 40;
    g->memory_power = 1;
    g->power_fields = 1;
    g->root = 1;
    g->mig_slices = 2;
    g->mem_clocks[0] = 2619;
    g->mem_clock_count = 1;
    g->gfx_max_mhz = 1980;
    g->gfx_min_mhz = 345;
    g->gfx_step_mhz = 15;
}

/* Record why a spec is refused; returns -1 so callers can `return refuse(...)`. */
static int refuse(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int refuse(char *why, size_t why_len, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, why_len, fmt, ap);
    va_end(ap);
    return -1;
}

static int parse_uint(const char *s, unsigned *out)
{
    char *end;
    unsigned long v;

    if (*s < '0' || *s > '9')
        return -1;
    v = strtoul(s, &end, 10);
    if (*end != '\0' || v > 0xffffffffUL)
        return -1;
    *out = (unsigned)v;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);

    if (end == s || *end != '\0' || !isfinite(v) || v < 0)
        return -1;
    *out = v;
    return 0;
}

static int parse_trace(const char *s, enum fake_trace *out)
{
    static const char *const names[] = {"constant", "square", "bursts", "ramp"};

    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (enum fake_trace)i;
            return 0;
        }
    return -1;
}

static int parse_clocks(const char *s, struct fake_gpu *g)
{
    char buf[256], *save = NULL;
    unsigned n = 0;

    if (snprintf(buf, sizeof buf, "%s", s) >= (int)sizeof buf)
        return -1;
    for (char *tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
        if (n == FAKE_MAX_MEM_CLOCKS || parse_uint(tok, &g->mem_clocks[n++]) != 0)
            return -1;
    if (n == 0)
        return -1;
    g->mem_clock_count = n;
    return 0;
}

/* Store one per-GPU key's value into g. */
static int set_gpu_key(struct fake_gpu *g, const struct spec_key *k, const char *val)
{
    char *field = (char *)g + k->offset;
    double w;

    switch (k->kind) {
    case K_UINT:
        return parse_uint(val, (unsigned *)field);
    case K_DOUBLE:
        return parse_double(val, (double *)field);
    case K_LIMIT_W:
        if (parse_double(val, &w) != 0)
            return -1;
        *(unsigned *)field = to_mw(w);
        return 0;
    case K_BOOL:
        if (strcmp(val, "0") != 0 && strcmp(val, "1") != 0)
            return -1;
        *(int *)field = val[0] == '1';
        return 0;
    case K_TEXT:
        if (strlen(val) >= k->size)
            return -1;
        memcpy(field, val, strlen(val) + 1);
        return 0;
    case K_TRACE:
        return parse_trace(val, (enum fake_trace *)field);
    case K_CLOCKS:
        return parse_clocks(val, g);
    }
    return -1;
}

static const struct spec_key *find_key(const char *name)
{
    for (size_t i = 0; i < sizeof gpu_keys / sizeof gpu_keys[0]; i++)
        if (strcmp(gpu_keys[i].name, name) == 0)
            return &gpu_keys[i];
    return NULL;
}

/* Split "gpuN.key" into N and key; *gpu is NO_DEVICE for a key without the prefix. */
static const char *split_gpu_prefix(const char *key, unsigned *gpu)
{
    char *end;
    unsigned long n;

    *gpu = NO_DEVICE;
    if (strncmp(key, "gpu", 3) != 0 || key[3] < '0' || key[3] > '9')
        return key;
    n = strtoul(key + 3, &end, 10);
    if (*end != '.' || n >= FAKE_MAX_GPUS)
        return NULL;
    *gpu = (unsigned)n;
    return end + 1;
}

/* gpus and driver describe the whole library, not one GPU: no gpuN. prefix. */
static int is_global_key(const char *name, unsigned gpu)
{
    return gpu == NO_DEVICE && (strcmp(name, "gpus") == 0 || strcmp(name, "driver") == 0);
}

static int apply_global(struct fake_config *c, const char *name, const char *val, char *why,
                        size_t why_len)
{
    if (strcmp(name, "driver") == 0 && strlen(val) < sizeof c->driver) {
        memcpy(c->driver, val, strlen(val) + 1);
        return 0;
    }
    if (strcmp(name, "gpus") == 0 && parse_uint(val, &c->gpu_count) == 0 &&
        c->gpu_count <= FAKE_MAX_GPUS)
        return 0;
    return refuse(why, why_len, "bad value for %s: \"%s\"", name, val);
}

/*
 * Apply one key=value pair in pass 0 (global keys), 1 (per-GPU keys for all GPUs) or 2
 * (gpuN. keys), so that the prefixed form wins whatever the order of the pairs, and gpuN
 * can be checked against a gpus key that comes later.
 */
static int apply_pair(struct fake_config *c, int pass, const char *key, const char *val,
                      char *why, size_t why_len)
{
    const struct spec_key *k;
    unsigned gpu;
    const char *name = split_gpu_prefix(key, &gpu);

    if (name == NULL)
        return refuse(why, why_len, "bad GPU prefix in \"%s\"", key);
    if (is_global_key(name, gpu))
        return pass == 0 ? apply_global(c, name, val, why, why_len) : 0;
    k = find_key(name);
    if (k == NULL)
        return refuse(why, why_len, "unknown key \"%s\"", key);
    if (pass != (gpu == NO_DEVICE ? 1 : 2))
        return 0;
    if (gpu != NO_DEVICE && gpu >= c->gpu_count)
        return refuse(why, why_len, "\"%s\": only %u GPUs", key, c->gpu_count);
    for (unsigned i = 0; i < FAKE_MAX_GPUS; i++)
        if ((gpu == NO_DEVICE || gpu == i) && set_gpu_key(&c->gpus[i], k, val) != 0)
            return refuse(why, why_len, "bad value for %s: \"%s\"", key, val);
    return 0;
}

/* Cut spaces off both ends of s, in place. */
static char *trim(char *s)
{
    char *end;

    while (*s == ' ')
        s++;
    end = s + strlen(s);
    while (end > s && end[-1] == ' ')
        *--end = '\0';
    return s;
}

static int parse_pass(struct fake_config *c, const char *spec, int pass, char *why,
                      size_t why_len)
{
    char *copy = strdup(spec), *save = NULL;
    int rc = 0;

    if (copy == NULL)
        return refuse(why, why_len, "out of memory");
    for (char *tok = strtok_r(copy, ";", &save); tok != NULL && rc == 0;
         tok = strtok_r(NULL, ";", &save)) {
        char *eq = strchr(tok, '=');

        if (*trim(tok) == '\0')
            continue;
        if (eq == NULL) {
            rc = refuse(why, why_len, "\"%s\" is not key=value", trim(tok));
            break;
        }
        *eq = '\0';
        rc = apply_pair(c, pass, trim(tok), trim(eq + 1), why, why_len);
    }
    free(copy);
    return rc;
}

static int check_gpu(const struct fake_config *c, unsigned i, char *why, size_t why_len)
{
    const struct fake_gpu *g = &c->gpus[i];

    if (g->period_ms <= 0 || g->trace_period_ms <= 0 || g->burst_ms > g->trace_period_ms)
        return refuse(why, why_len, "gpu%u: periods must be > 0, burst_ms <= period", i);
    if (g->period_jitter_ms >= g->period_ms / 2)
        return refuse(why, why_len, "gpu%u: period_jitter_ms must be < period_ms / 2", i);
    if (g->limit_min_mw > g->limit_default_mw || g->limit_default_mw > g->limit_max_mw)
        return refuse(why, why_len, "gpu%u: need limit_min_w <= default <= max", i);
    if (g->gfx_step_mhz == 0 || g->gfx_min_mhz > g->gfx_max_mhz)
        return refuse(why, why_len, "gpu%u: bad graphics clock range", i);
    if (g->mig_slices < 1 || g->mig_slices > FAKE_MAX_MIG)
        return refuse(why, why_len, "gpu%u: mig_slices must be 1-%d", i, FAKE_MAX_MIG);
    if (g->mig && g->arch < ARCH_AMPERE)
        return refuse(why, why_len, "gpu%u: MIG needs arch >= 7 (Ampere)", i);
    for (unsigned j = 0; j < i; j++)
        if (strcmp(c->gpus[j].uuid, g->uuid) == 0)
            return refuse(why, why_len, "gpu%u and gpu%u share uuid %s", j, i, g->uuid);
    return 0;
}

/* Parse `spec` into c, with defaults for what it leaves out. */
static int parse_spec(const char *spec, struct fake_config *c, char *why, size_t why_len)
{
    memset(c, 0, sizeof *c);
    c->gpu_count = 1;
    snprintf(c->driver, sizeof c->driver, "580.159.04");
    for (unsigned i = 0; i < FAKE_MAX_GPUS; i++)
        default_gpu(&c->gpus[i]);
    if (spec == NULL)
        spec = "";
    for (int pass = 0; pass < 3; pass++)
        if (parse_pass(c, spec, pass, why, why_len) != 0)
            return -1;
    for (unsigned i = 0; i < c->gpu_count; i++) {
        struct fake_gpu *g = &c->gpus[i];
        if (g->uuid[0] == '\0')
            snprintf(g->uuid, sizeof g->uuid, "GPU-%08x-fa4e-4d1c-8b5e-%012x",
                     0x9e3779b9u * (i + 1), i);
        if (g->pci_bus == 0)
            g->pci_bus = 0x18 + 0x10 * i; /* 0000:18:00.0, 0000:28:00.0, ... as on a DGX */
        g->limit_mw = g->limit_default_mw;
        if (check_gpu(c, i, why, why_len) != 0)
            return -1;
    }
    return 0;
}

/* Make c the live configuration, restart the clock, forget rules and counts. Lock held. */
static void commit_locked(const struct fake_config *c)
{
    fake.cfg = *c;
    fake.epoch_ns = mono_ns();
    for (unsigned i = 0; i < FAKE_MAX_GPUS; i++)
        for (unsigned s = 0; s < FAKE_MAX_MIG; s++)
            fake.mig[i * FAKE_MAX_MIG + s] = (struct fake_mig){i, s};
    memset(fake.rules, 0, sizeof fake.rules);
    memset(fake.calls, 0, sizeof fake.calls);
    fake.limit_log_count = 0;
    fake.clock_log_count = 0;
    fake.configured = 1;
}

/* ---- Entry checks and failure injection ------------------------------------------------- */

/* The physical index of handle dev, or NO_DEVICE when it is not one of ours. */
static unsigned device_index(nvmlDevice_t dev)
{
    uintptr_t p = (uintptr_t)dev, first = (uintptr_t)&fake.cfg.gpus[0];

    if (p < first || (p - first) % sizeof(struct fake_gpu) != 0)
        return NO_DEVICE;
    if ((p - first) / sizeof(struct fake_gpu) >= fake.cfg.gpu_count)
        return NO_DEVICE;
    return (unsigned)((p - first) / sizeof(struct fake_gpu));
}

/*
 * The injected return code for a call to fn on device `index` (NO_DEVICE for calls that
 * take none), or NVML_SUCCESS. "*" rules only hit calls that take a device, so that a lost
 * GPU does not also break nvmlShutdown.
 */
static nvmlReturn_t injected_locked(enum fake_fn fn, unsigned index)
{
    for (int i = 0; i < FAKE_MAX_RULES; i++) {
        struct fake_rule *r = &fake.rules[i];
        int fn_hit = r->fn == (int)fn || (r->fn == FN_ANY && index != NO_DEVICE);
        int dev_hit = r->index == NO_DEVICE || index == NO_DEVICE || r->index == index;

        if (r->times == 0 || !fn_hit || !dev_hit)
            continue;
        if (r->times > 0)
            r->times--;
        return r->ret;
    }
    return NVML_SUCCESS;
}

/* Count the call and apply the shared checks. Lock held. */
static nvmlReturn_t check_locked(enum fake_fn fn, unsigned index, int takes_device)
{
    fake.calls[fn]++;
    if (fake.init_count == 0)
        return NVML_ERROR_UNINITIALIZED;
    if (takes_device && index == NO_DEVICE)
        return NVML_ERROR_INVALID_ARGUMENT;
    return injected_locked(fn, index);
}

/* Lock and check a call without a device handle; the lock stays held on NVML_SUCCESS. */
static nvmlReturn_t enter(enum fake_fn fn, unsigned index)
{
    nvmlReturn_t r;

    pthread_mutex_lock(&fake.lock);
    r = check_locked(fn, index, 0);
    if (r != NVML_SUCCESS)
        pthread_mutex_unlock(&fake.lock);
    return r;
}

/* Lock and check a call on handle dev; the lock stays held on NVML_SUCCESS. */
static nvmlReturn_t enter_device(enum fake_fn fn, nvmlDevice_t dev, struct fake_gpu **g)
{
    nvmlReturn_t r;
    unsigned index;

    pthread_mutex_lock(&fake.lock);
    index = device_index(dev);
    r = check_locked(fn, index, 1);
    if (r != NVML_SUCCESS) {
        pthread_mutex_unlock(&fake.lock);
        return r;
    }
    *g = &fake.cfg.gpus[index];
    return NVML_SUCCESS;
}

static nvmlReturn_t leave(nvmlReturn_t r)
{
    pthread_mutex_unlock(&fake.lock);
    return r;
}

/* Spend the first half of a call's latency with the lock released. */
static void first_half(unsigned latency_us)
{
    if (latency_us == 0)
        return;
    pthread_mutex_unlock(&fake.lock);
    pause_us(latency_us / 2);
    pthread_mutex_lock(&fake.lock);
}

/* Unlock, then spend the second half of the latency. */
static nvmlReturn_t leave_late(nvmlReturn_t r, unsigned latency_us)
{
    pthread_mutex_unlock(&fake.lock);
    pause_us(latency_us - latency_us / 2);
    return r;
}

/* ---- NVML: library and system ----------------------------------------------------------- */

static int configure_from_env_locked(void)
{
    struct fake_config *c = malloc(sizeof *c);
    int rc;

    if (c == NULL)
        return -1;
    rc = parse_spec(getenv("ZEUS_FAKE_NVML"), c, fake.error, sizeof fake.error);
    if (rc == 0)
        commit_locked(c);
    else
        fprintf(stderr, "fake_nvml: bad ZEUS_FAKE_NVML: %s\n", fake.error);
    free(c);
    return rc;
}

nvmlReturn_t nvmlInit_v2(void)
{
    nvmlReturn_t r;

    pthread_mutex_lock(&fake.lock);
    if (!fake.configured && configure_from_env_locked() != 0)
        return leave(NVML_ERROR_UNKNOWN);
    fake.calls[FN_nvmlInit_v2]++;
    r = injected_locked(FN_nvmlInit_v2, NO_DEVICE);
    if (r == NVML_SUCCESS)
        fake.init_count++;
    return leave(r);
}

nvmlReturn_t nvmlShutdown(void)
{
    nvmlReturn_t r = enter(FN_nvmlShutdown, NO_DEVICE);

    if (r != NVML_SUCCESS)
        return r;
    fake.init_count--;
    return leave(NVML_SUCCESS);
}

const char *nvmlErrorString(nvmlReturn_t result)
{
    static const char *const text[] = {
        "Success", "Uninitialized", "Invalid Argument", "Not Supported",
        "Insufficient Permissions", "Already Initialized", "Not Found", "Insufficient Size",
        "Insufficient External Power", "Driver Not Loaded", "Timeout", "Interrupt Request Issue",
        "NVML Shared Library Not Found", "Function Not Found", "Corrupted infoROM",
        "GPU is lost", "GPU requires restart", "The operating system has blocked the request.",
        "RM has detected an NVML/RM version mismatch.", "In use by another client",
        "Insufficient Memory", "No data",
    };

    pthread_mutex_lock(&fake.lock);
    fake.calls[FN_nvmlErrorString]++;
    pthread_mutex_unlock(&fake.lock);
    if (result >= 0 && result < (int)(sizeof text / sizeof text[0]))
        return text[result];
    return "Unknown Error";
}

/* Copy s into buf of len bytes, as NVML's string getters do. */
static nvmlReturn_t copy_string(const char *s, char *buf, unsigned len)
{
    if (buf == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (strlen(s) + 1 > len)
        return NVML_ERROR_INSUFFICIENT_SIZE;
    memcpy(buf, s, strlen(s) + 1);
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length)
{
    nvmlReturn_t r = enter(FN_nvmlSystemGetDriverVersion, NO_DEVICE);

    if (r != NVML_SUCCESS)
        return r;
    return leave(copy_string(fake.cfg.driver, version, length));
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *deviceCount)
{
    nvmlReturn_t r = enter(FN_nvmlDeviceGetCount_v2, NO_DEVICE);

    if (r != NVML_SUCCESS)
        return r;
    if (deviceCount == NULL)
        return leave(NVML_ERROR_INVALID_ARGUMENT);
    *deviceCount = fake.cfg.gpu_count;
    return leave(NVML_SUCCESS);
}

/* ---- NVML: device identity -------------------------------------------------------------- */

/* The MIG device whose handle is h, or NULL (a GPU handle, a slice that does not exist). */
static struct fake_mig *mig_of_handle_locked(nvmlDevice_t h)
{
    uintptr_t p = (uintptr_t)(void *)h, first = (uintptr_t)&fake.mig[0];
    struct fake_mig *m;

    if (p < first || (p - first) % sizeof(struct fake_mig) != 0 ||
        (p - first) / sizeof(struct fake_mig) >= FAKE_MAX_GPUS * FAKE_MAX_MIG)
        return NULL;
    m = &fake.mig[(p - first) / sizeof(struct fake_mig)];
    if (m->gpu >= fake.cfg.gpu_count || !fake.cfg.gpus[m->gpu].mig ||
        m->slice >= fake.cfg.gpus[m->gpu].mig_slices)
        return NULL;
    return m;
}

/* The MIG device with this UUID (FAKE_MIG_UUID_FORMAT), or NULL. */
static struct fake_mig *mig_by_uuid_locked(const char *uuid)
{
    char want[96];

    for (unsigned i = 0; i < fake.cfg.gpu_count; i++)
        for (unsigned s = 0; fake.cfg.gpus[i].mig && s < fake.cfg.gpus[i].mig_slices; s++) {
            snprintf(want, sizeof want, FAKE_MIG_UUID_FORMAT, i, s);
            if (strcmp(want, uuid) == 0)
                return &fake.mig[i * FAKE_MAX_MIG + s];
        }
    return NULL;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device)
{
    nvmlReturn_t r = enter(FN_nvmlDeviceGetHandleByIndex_v2, index);

    if (r != NVML_SUCCESS)
        return r;
    if (device == NULL || index >= fake.cfg.gpu_count)
        return leave(NVML_ERROR_INVALID_ARGUMENT);
    *device = &fake.cfg.gpus[index];
    return leave(NVML_SUCCESS);
}

nvmlReturn_t nvmlDeviceGetHandleByUUID(const char *uuid, nvmlDevice_t *device)
{
    unsigned index = NO_DEVICE;
    nvmlReturn_t r;

    struct fake_mig *mig = NULL;

    pthread_mutex_lock(&fake.lock);
    for (unsigned i = 0; uuid != NULL && i < fake.cfg.gpu_count; i++)
        if (strcmp(fake.cfg.gpus[i].uuid, uuid) == 0)
            index = i;
    if (index == NO_DEVICE && uuid != NULL && (mig = mig_by_uuid_locked(uuid)) != NULL)
        index = mig->gpu;
    r = check_locked(FN_nvmlDeviceGetHandleByUUID, index, 0);
    if (r != NVML_SUCCESS)
        return leave(r);
    if (uuid == NULL || device == NULL)
        return leave(NVML_ERROR_INVALID_ARGUMENT);
    if (index == NO_DEVICE)
        return leave(NVML_ERROR_NOT_FOUND);
    *device = mig != NULL ? (nvmlDevice_t)(void *)mig : &fake.cfg.gpus[index];
    return leave(NVML_SUCCESS);
}

nvmlReturn_t nvmlDeviceGetDeviceHandleFromMigDeviceHandle(nvmlDevice_t migDevice,
                                                          nvmlDevice_t *device)
{
    struct fake_mig *mig;
    nvmlReturn_t r;

    pthread_mutex_lock(&fake.lock);
    mig = mig_of_handle_locked(migDevice);
    r = check_locked(FN_nvmlDeviceGetDeviceHandleFromMigDeviceHandle,
                     mig != NULL ? mig->gpu : NO_DEVICE, 0);
    if (r != NVML_SUCCESS)
        return leave(r);
    if (mig == NULL || device == NULL) /* NVML: a GPU handle is not a MIG handle */
        return leave(NVML_ERROR_INVALID_ARGUMENT);
    *device = &fake.cfg.gpus[mig->gpu];
    return leave(NVML_SUCCESS);
}

nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int *currentMode,
                                  unsigned int *pendingMode)
{
    struct fake_gpu *g;
    nvmlReturn_t r = enter_device(FN_nvmlDeviceGetMigMode, device, &g);

    if (r != NVML_SUCCESS)
        return r;
    if (currentMode == NULL || pendingMode == NULL)
        return leave(NVML_ERROR_INVALID_ARGUMENT);
    if (g->arch < ARCH_AMPERE) /* no MIG before the A100 */
        return leave(NVML_ERROR_NOT_SUPPORTED);
    *currentMode = *pendingMode = (unsigned)g->mig;
    return leave(NVML_SUCCESS);
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length)
{
    struct fake_gpu *g;
    nvmlReturn_t r = enter_device(FN_nvmlDeviceGetName, device, &g);

    if (r != NVML_SUCCESS)
        return r;
    return leave(copy_string(g->name, name, length));
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length)
{
    struct fake_gpu *g;
    nvmlReturn_t r = enter_device(FN_nvmlDeviceGetUUID, device, &g);

    if (r != NVML_SUCCESS)
        return r;
    return leave(copy_string(g->uuid, uuid, length));
}

nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t device, nvmlPciInfo_t *pci)
{
    struct fake_gpu *g;
    nvmlReturn_t r = enter_device(FN_nvmlDeviceGetPciInfo_v3, device, &g);

    if (r != NVML_SUCCESS)
        return r;
    if (pci == NULL)
        return leave(NVML_ERROR_INVALID_ARGUMENT);
    memset(pci, 0, sizeof *pci);
    pci->domain = g->pci_domain;
    pci->bus = g->pci_bus;
    pci->device = g->pci_device;
    pci->pciDeviceId = 0x233010de; /* H100 SXM, NVIDIA's vendor id in the low half */
    /* NVML writes the ids in upper case, the domain in 8 digits (4 in the legacy one) */
    snprintf(pci->busId, sizeof pci->busId, "%08X:%02X:%02X.0", g->pci_domain, g->pci_bus,
             g->pci_device);
    snprintf(pci->busIdLegacy, sizeof pci->busIdLegacy, "%04X:%02X:%02X.0",
             g->pci_domain & 0xffff, g->pci_bus & 0xff, g->pci_device & 0xff);
    return leave(NVML_SUCCESS);
}

nvmlReturn_t nvmlDeviceGetArchitecture(nvmlDevice_t device, unsigned int *arch)
{
    struct fake_gpu *g;
    nvmlReturn_t r = enter_device(FN_nvmlDeviceGetArchitecture, device, &g);

    if (r != NVML_SUCCESS)
        return r;
    if (arch == NULL)
        return leave(NVML_ERROR_INVALID_ARGUMENT);
    *arch = g->arch;
    return leave(NVML_SUCCESS);
}

/* ---- NVML: energy, power, temperature --------------------------------------------------- */

nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t device, unsigned long long *energy)
{
    struct fake_gpu *g;
    unsigned latency_us, spin;
    nvmlReturn_t r = enter_device(FN_nvmlDeviceGetTotalEnergyConsumption, device, &g);

    if (r != NVML_SUCCESS)
        return r;
    if (energy == NULL)
        return leave(NVML_ERROR_INVALID_ARGUMENT);
    if (g->arch < ARCH_VOLTA)
        return leave(NVML_ERROR_NOT_SUPPORTED);
    latency_us = g->energy_latency_us;
    spin = g->energy_spin_us;
    first_half(latency_us);
    *energy = counter_mj(g, now_ms());
    r = leave_late(NVML_SUCCESS, latency_us);
    spin_us(spin);
    return r;
}

nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *power)
{
    struct fake_gpu *g;
    unsigned latency_us;
    nvmlReturn_t r = enter_device(FN_nvmlDeviceGetPowerUsage, device, &g);

    if (r != NVML_SUCCESS)
        return r;
    if (power == NULL)
        return leave(NVML_ERROR_INVALID_ARGUMENT);
    latency_us = g->power_latency_us;
    first_half(latency_us);
    /* NVML: a 1 s average from Ampere on, the instantaneous draw before. */
    *power = g->arch >= ARCH_AMPERE ? average_mw(g, now_ms()) : instant_mw(g, now_ms());
    return leave_late(NVML_SUCCESS, latency_us);
}

/* Fill one power field value; its own nvmlReturn says whether this field/scope works. */
static void power_field(const struct fake_gpu *g, nvmlFieldValue_t *v, double t)
{
    unsigned scope = v->scopeId;
    int average = v->fieldId == NVML_FI_DEV_POWER_AVERAGE;
    int ok;

    if (scope == NVML_POWER_SCOPE_MEMORY)
        ok = average && g->memory_power;
    else if (scope == NVML_POWER_SCOPE_MODULE)
        ok = g->module_scope;
    else
        ok = scope == NVML_POWER_SCOPE_GPU && !g->module_scope;
    if (!g->power_fields || !ok) {
        v->nvmlReturn = NVML_ERROR_NOT_SUPPORTED;
        return;
    }
    v->nvmlReturn = NVML_SUCCESS;
    v->valueType = NVML_VALUE_TYPE_UNSIGNED_INT;
    v->timestamp = unix_us() - (long long)((t - boundary_ms(g, t)) * 1000); /* of the update */
    if (scope == NVML_POWER_SCOPE_MEMORY)
        v->value.uiVal = to_mw(g->memory_w);
    else
        v->value.uiVal = average ? average_mw(g, t) : instant_mw(g, t);
}

nvmlReturn_t nvmlDeviceGetFieldValues(nvmlDevice_t device, int valuesCount,
                                      nvmlFieldValue_t *values)
{
    struct fake_gpu *g;
    unsigned latency_us;
    double t;
    nvmlReturn_t r = enter_device(FN_nvmlDeviceGetFieldValues, device, &g);

    if (r != NVML_SUCCESS)
        return r;
    if (values == NULL || valuesCount <= 0)
        return leave(NVML_ERROR_INVALID_ARGUMENT);
    latency_us = g->power_latency_us;
    first_half(latency_us);
    t = now_ms();
    for (int i = 0; i < valuesCount; i++) {
        nvmlFieldValue_t *v = &values[i];
        v->latencyUsec = 0;
        if (v->fieldId == NVML_FI_DEV_POWER_AVERAGE || v->fieldId == NVML_FI_DEV_POWER_INSTANT)
            power_field(g, v, t);
        else
            v->nvmlReturn = NVML_ERROR_NOT_SUPPORTED;
    }
    return leave_late(NVML_SUCCESS, latency_us);
}

nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, int sensorType, unsigned int *temp)
{
    struct fake_gpu *g;
    nvmlReturn_t r = enter_device(FN_nvmlDeviceGetTemperature, device, &g);

    if (r != NVML_SUCCESS)
        return r;
    if (temp == NULL || sensorType != NVML_TEMPERATURE_GPU)
        return leave(NVML_ERROR_INVALID_ARGUMENT);
    *temp = g->temp_c;
    return leave(NVML_SUCCESS);
}

/* ---- NVML: power limit and persistence -------------------------------------------------- */

nvmlReturn_t nvmlDeviceGetPowerManagementLimitConstraints(nvmlDevice_t device,
                                                          unsigned int *minLimit,
                                                          unsigned int *maxLimit)
{
    struct fake_gpu *g;
    nvmlReturn_t r = enter_device(FN_nvmlDeviceGetPowerManagementLimitConstraints, device, &g);

    if (r != NVML_SUCCESS)
        return r;
    if (minLimit == NULL || maxLimit == NULL)
        return leave(NVML_ERROR_INVALID_ARGUMENT);
    *minLimit = g->limit_min_mw;
    *maxLimit = g->limit_max_mw;
    return leave(NVML_SUCCESS);
}

nvmlReturn_t nvmlDeviceGetPowerManagementLimit(nvmlDevice_t device, unsigned int *limit)
{
    struct fake_gpu *g;
    nvmlReturn_t r = enter_device(FN_nvmlDeviceGetPowerManagementLimit, device, &g);

    if (r != NVML_SUCCESS)
        return r;
    if (limit == NULL)
        return leave(NVML_ERROR_INVALID_ARGUMENT);
    *limit = g->limit_mw;
    return leave(NVML_SUCCESS);
}

nvmlReturn_t nvmlDeviceGetPowerManagementDefaultLimit(nvmlDevice_t device,
                                                      unsigned int *defaultLimit)
{
    struct fake_gpu *g;
    nvmlReturn_t r = enter_device(FN_nvmlDeviceGetPowerManagementDefaultLimit, device, &g);

    if (r != NVML_SUCCESS)
        return r;
    if (defaultLimit == NULL)
        return leave(NVML_ERROR_INVALID_ARGUMENT);
    *defaultLimit = g->limit_default_mw;
    return leave(NVML_SUCCESS);
}

nvmlReturn_t nvmlDeviceSetPowerManagementLimit(nvmlDevice_t device, unsigned int limit)
{
    struct fake_gpu *g;
    nvmlReturn_t r = enter_device(FN_nvmlDeviceSetPowerManagementLimit, device, &g);

    if (r != NVML_SUCCESS)
        return r;
    if (!g->root)
        return leave(NVML_ERROR_NO_PERMISSION);
    if (limit < g->limit_min_mw || limit > g->limit_max_mw)
        return leave(NVML_ERROR_INVALID_ARGUMENT);
    g->limit_mw = limit;
    if (fake.limit_log_count < FAKE_LIMIT_LOG) {
        fake.limit_log[fake.limit_log_count].gpu = (unsigned)(g - fake.cfg.gpus);
        fake.limit_log[fake.limit_log_count].mw = limit;
    }
    fake.limit_log_count++;
    return leave(NVML_SUCCESS);
}

nvmlReturn_t nvmlDeviceGetPersistenceMode(nvmlDevice_t device, int *mode)
{
    struct fake_gpu *g;
    nvmlReturn_t r = enter_device(FN_nvmlDeviceGetPersistenceMode, device, &g);

    if (r != NVML_SUCCESS)
        return r;
    if (mode == NULL)
        return leave(NVML_ERROR_INVALID_ARGUMENT);
    *mode = g->persistence; /* NVML_FEATURE_DISABLED 0, NVML_FEATURE_ENABLED 1 */
    return leave(NVML_SUCCESS);
}

nvmlReturn_t nvmlDeviceSetPersistenceMode(nvmlDevice_t device, int mode)
{
    struct fake_gpu *g;
    nvmlReturn_t r = enter_device(FN_nvmlDeviceSetPersistenceMode, device, &g);

    if (r != NVML_SUCCESS)
        return r;
    if (!g->root)
        return leave(NVML_ERROR_NO_PERMISSION);
    if (mode != 0 && mode != 1)
        return leave(NVML_ERROR_INVALID_ARGUMENT);
    g->persistence = mode;
    return leave(NVML_SUCCESS);
}

/* ---- NVML: clocks ----------------------------------------------------------------------- */

/* The count/array protocol of NVML's list getters: too little room gives the needed count. */
static nvmlReturn_t fill_list(unsigned *count, unsigned *out, unsigned n, unsigned first,
                              unsigned step, const unsigned *list)
{
    if (count == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (*count < n) {
        *count = n;
        return NVML_ERROR_INSUFFICIENT_SIZE;
    }
    if (out == NULL && n > 0)
        return NVML_ERROR_INVALID_ARGUMENT;
    for (unsigned i = 0; i < n; i++)
        out[i] = list != NULL ? list[i] : first - i * step;
    *count = n;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetSupportedMemoryClocks(nvmlDevice_t device, unsigned int *count,
                                                unsigned int *clocksMHz)
{
    struct fake_gpu *g;
    nvmlReturn_t r = enter_device(FN_nvmlDeviceGetSupportedMemoryClocks, device, &g);

    if (r != NVML_SUCCESS)
        return r;
    return leave(fill_list(count, clocksMHz, g->mem_clock_count, 0, 0, g->mem_clocks));
}

static int has_mem_clock(const struct fake_gpu *g, unsigned mhz)
{
    for (unsigned i = 0; i < g->mem_clock_count; i++)
        if (g->mem_clocks[i] == mhz)
            return 1;
    return 0;
}

nvmlReturn_t nvmlDeviceGetSupportedGraphicsClocks(nvmlDevice_t device,
                                                  unsigned int memoryClockMHz,
                                                  unsigned int *count, unsigned int *clocksMHz)
{
    struct fake_gpu *g;
    unsigned n;
    nvmlReturn_t r = enter_device(FN_nvmlDeviceGetSupportedGraphicsClocks, device, &g);

    if (r != NVML_SUCCESS)
        return r;
    if (!has_mem_clock(g, memoryClockMHz))
        return leave(NVML_ERROR_NOT_FOUND);
    n = (g->gfx_max_mhz - g->gfx_min_mhz) / g->gfx_step_mhz + 1;
    return leave(fill_list(count, clocksMHz, n, g->gfx_max_mhz, g->gfx_step_mhz, NULL));
}

static void mem_clock_range(const struct fake_gpu *g, unsigned *lo, unsigned *hi)
{
    *lo = ~0u;
    *hi = 0;
    for (unsigned i = 0; i < g->mem_clock_count; i++) {
        *lo = g->mem_clocks[i] < *lo ? g->mem_clocks[i] : *lo;
        *hi = g->mem_clocks[i] > *hi ? g->mem_clocks[i] : *hi;
    }
}

/* Remember a successful clock lock or reset (fake_nvml_clock_log). Lock held. */
static void log_clock(const struct fake_gpu *g, char kind, unsigned min, unsigned max)
{
    if (fake.clock_log_count < FAKE_CLOCK_LOG) {
        fake.clock_log[fake.clock_log_count].gpu = (unsigned)(g - fake.cfg.gpus);
        fake.clock_log[fake.clock_log_count].kind = kind;
        fake.clock_log[fake.clock_log_count].min = min;
        fake.clock_log[fake.clock_log_count].max = max;
    }
    fake.clock_log_count++;
}

/* Shared checks of the clock setters: architecture, privilege, then the range. */
static nvmlReturn_t check_clock_setter(const struct fake_gpu *g, unsigned min_arch,
                                       unsigned lo, unsigned hi, unsigned min, unsigned max)
{
    if (g->arch < min_arch)
        return NVML_ERROR_NOT_SUPPORTED;
    if (!g->root)
        return NVML_ERROR_NO_PERMISSION;
    if (min > max || min < lo || max > hi)
        return NVML_ERROR_INVALID_ARGUMENT;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceSetGpuLockedClocks(nvmlDevice_t device, unsigned int minGpuClockMHz,
                                          unsigned int maxGpuClockMHz)
{
    struct fake_gpu *g;
    nvmlReturn_t r = enter_device(FN_nvmlDeviceSetGpuLockedClocks, device, &g);

    if (r != NVML_SUCCESS)
        return r;
    r = check_clock_setter(g, ARCH_VOLTA, g->gfx_min_mhz, g->gfx_max_mhz, minGpuClockMHz,
                           maxGpuClockMHz);
    if (r == NVML_SUCCESS) {
        g->locked_gpu_min = minGpuClockMHz;
        g->locked_gpu_max = maxGpuClockMHz;
        log_clock(g, 'G', minGpuClockMHz, maxGpuClockMHz);
    }
    return leave(r);
}

nvmlReturn_t nvmlDeviceResetGpuLockedClocks(nvmlDevice_t device)
{
    struct fake_gpu *g;
    nvmlReturn_t r = enter_device(FN_nvmlDeviceResetGpuLockedClocks, device, &g);

    if (r != NVML_SUCCESS)
        return r;
    r = check_clock_setter(g, ARCH_VOLTA, 0, 0, 0, 0);
    if (r == NVML_SUCCESS) {
        g->locked_gpu_min = g->locked_gpu_max = 0;
        log_clock(g, 'g', 0, 0);
    }
    return leave(r);
}

nvmlReturn_t nvmlDeviceSetMemoryLockedClocks(nvmlDevice_t device, unsigned int minMemClockMHz,
                                             unsigned int maxMemClockMHz)
{
    struct fake_gpu *g;
    unsigned lo, hi;
    nvmlReturn_t r = enter_device(FN_nvmlDeviceSetMemoryLockedClocks, device, &g);

    if (r != NVML_SUCCESS)
        return r;
    mem_clock_range(g, &lo, &hi);
    r = check_clock_setter(g, ARCH_AMPERE, lo, hi, minMemClockMHz, maxMemClockMHz);
    if (r == NVML_SUCCESS) {
        g->locked_mem_min = minMemClockMHz;
        g->locked_mem_max = maxMemClockMHz;
        log_clock(g, 'M', minMemClockMHz, maxMemClockMHz);
    }
    return leave(r);
}

nvmlReturn_t nvmlDeviceResetMemoryLockedClocks(nvmlDevice_t device)
{
    struct fake_gpu *g;
    nvmlReturn_t r = enter_device(FN_nvmlDeviceResetMemoryLockedClocks, device, &g);

    if (r != NVML_SUCCESS)
        return r;
    r = check_clock_setter(g, ARCH_AMPERE, 0, 0, 0, 0);
    if (r == NVML_SUCCESS) {
        g->locked_mem_min = g->locked_mem_max = 0;
        log_clock(g, 'm', 0, 0);
    }
    return leave(r);
}

/* ---- Control API (fake_nvml.h) ---------------------------------------------------------- */

int fake_nvml_reset(const char *spec)
{
    struct fake_config *c = malloc(sizeof *c);
    char why[sizeof fake.error];
    int rc;

    if (c == NULL)
        return -1;
    rc = parse_spec(spec, c, why, sizeof why);
    pthread_mutex_lock(&fake.lock);
    if (rc == 0)
        commit_locked(c);
    else
        snprintf(fake.error, sizeof fake.error, "%s", why);
    pthread_mutex_unlock(&fake.lock);
    free(c);
    return rc;
}

const char *fake_nvml_last_error(void)
{
    return fake.error;
}

/* Lock and return GPU i, or NULL (lock released) when there is no such GPU. */
static struct fake_gpu *control_gpu(unsigned i)
{
    pthread_mutex_lock(&fake.lock);
    if (i < fake.cfg.gpu_count)
        return &fake.cfg.gpus[i];
    pthread_mutex_unlock(&fake.lock);
    return NULL;
}

void fake_nvml_set_energy_mj(unsigned physical_index, unsigned long long energy_mj)
{
    struct fake_gpu *g = control_gpu(physical_index);

    if (g == NULL)
        return;
    g->manual = 1;
    g->manual_mj = energy_mj;
    pthread_mutex_unlock(&fake.lock);
}

void fake_nvml_add_energy_mj(unsigned physical_index, unsigned long long energy_mj)
{
    struct fake_gpu *g = control_gpu(physical_index);

    if (g == NULL)
        return;
    if (!g->manual)
        g->manual_mj = counter_mj(g, now_ms());
    g->manual = 1;
    g->manual_mj += energy_mj;
    pthread_mutex_unlock(&fake.lock);
}

void fake_nvml_set_power_mw(unsigned physical_index, unsigned power_mw)
{
    struct fake_gpu *g = control_gpu(physical_index);
    double b;

    if (g == NULL)
        return;
    /* Restart the trace, constant, at the last boundary: the counter up to it is kept. */
    b = boundary_ms(g, now_ms());
    g->base_mj = energy_at(g, b);
    g->origin_ms = b;
    g->trace = TRACE_CONSTANT;
    g->power_w = power_mw / 1000.0;
    pthread_mutex_unlock(&fake.lock);
}

double fake_nvml_true_energy_j(unsigned physical_index, double t0_mono_s, double t1_mono_s)
{
    struct fake_gpu *g = control_gpu(physical_index);
    double t0_ms, t1_ms, mj;

    if (g == NULL)
        return NAN;
    /* Milliseconds after the reset, as energy_at() counts them; before it, nothing is drawn. */
    t0_ms = (t0_mono_s * 1e9 - (double)fake.epoch_ns) / 1e6;
    t1_ms = (t1_mono_s * 1e9 - (double)fake.epoch_ns) / 1e6;
    mj = energy_at(g, fmax(t1_ms, 0)) - energy_at(g, fmax(t0_ms, 0));
    pthread_mutex_unlock(&fake.lock);
    return mj / 1000.0;
}

void fake_nvml_set_temperature_c(unsigned physical_index, unsigned temp_c)
{
    struct fake_gpu *g = control_gpu(physical_index);

    if (g == NULL)
        return;
    g->temp_c = temp_c;
    pthread_mutex_unlock(&fake.lock);
}

static int fn_by_name(const char *function)
{
    if (function == NULL || strcmp(function, "*") == 0)
        return FN_ANY;
    for (int i = 0; i < FN_COUNT; i++)
        if (strcmp(fn_names[i], function) == 0)
            return i;
    return FN_COUNT;
}

void fake_nvml_fail(const char *function, unsigned physical_index, int nvml_return, int times)
{
    int fn = fn_by_name(function);
    struct fake_rule *slot = NULL;

    pthread_mutex_lock(&fake.lock);
    if (fn == FN_COUNT) {
        snprintf(fake.error, sizeof fake.error, "fake_nvml_fail: unknown function %s", function);
        pthread_mutex_unlock(&fake.lock);
        return;
    }
    /* One rule per (function, device): a new call replaces it, times = 0 clears it. */
    for (int i = 0; i < FAKE_MAX_RULES; i++) {
        struct fake_rule *r = &fake.rules[i];
        if (r->times != 0 && r->fn == fn && r->index == physical_index)
            r->times = 0;
        if (r->times == 0 && slot == NULL)
            slot = r;
    }
    if (times != 0 && slot != NULL)
        *slot = (struct fake_rule){fn, physical_index, nvml_return, times < 0 ? -1 : times};
    else if (times != 0)
        snprintf(fake.error, sizeof fake.error, "fake_nvml_fail: more than %d rules",
                 FAKE_MAX_RULES);
    pthread_mutex_unlock(&fake.lock);
}

unsigned long long fake_nvml_call_count(const char *function)
{
    int fn = fn_by_name(function);
    unsigned long long n = 0;

    pthread_mutex_lock(&fake.lock);
    for (int i = 0; i < FN_COUNT; i++)
        if (fn == FN_ANY || fn == i)
            n += fake.calls[i];
    pthread_mutex_unlock(&fake.lock);
    return n;
}

int fake_nvml_init_count(void)
{
    int n;

    pthread_mutex_lock(&fake.lock);
    n = fake.init_count;
    pthread_mutex_unlock(&fake.lock);
    return n;
}

unsigned fake_nvml_power_limit_mw(unsigned physical_index)
{
    struct fake_gpu *g = control_gpu(physical_index);
    unsigned mw;

    if (g == NULL)
        return 0;
    mw = g->limit_mw;
    pthread_mutex_unlock(&fake.lock);
    return mw;
}

int fake_nvml_persistence_mode(unsigned physical_index)
{
    struct fake_gpu *g = control_gpu(physical_index);
    int mode;

    if (g == NULL)
        return -1;
    mode = g->persistence;
    pthread_mutex_unlock(&fake.lock);
    return mode;
}

void fake_nvml_locked_clocks(unsigned physical_index, unsigned *gpu_min, unsigned *gpu_max,
                             unsigned *mem_min, unsigned *mem_max)
{
    struct fake_gpu *g = control_gpu(physical_index);
    unsigned v[4] = {0, 0, 0, 0};
    unsigned *out[4] = {gpu_min, gpu_max, mem_min, mem_max};

    if (g != NULL) {
        v[0] = g->locked_gpu_min;
        v[1] = g->locked_gpu_max;
        v[2] = g->locked_mem_min;
        v[3] = g->locked_mem_max;
        pthread_mutex_unlock(&fake.lock);
    }
    for (int i = 0; i < 4; i++)
        if (out[i] != NULL)
            *out[i] = v[i];
}

size_t fake_nvml_power_limit_log(unsigned *gpu, unsigned *mw, size_t cap)
{
    size_t n;

    pthread_mutex_lock(&fake.lock);
    n = fake.limit_log_count;
    for (size_t i = 0; i < cap && i < n && i < FAKE_LIMIT_LOG; i++) {
        if (gpu != NULL)
            gpu[i] = fake.limit_log[i].gpu;
        if (mw != NULL)
            mw[i] = fake.limit_log[i].mw;
    }
    pthread_mutex_unlock(&fake.lock);
    return n;
}

size_t fake_nvml_clock_log(unsigned *gpu, char *kind, unsigned *min_mhz, unsigned *max_mhz,
                           size_t cap)
{
    size_t n;

    pthread_mutex_lock(&fake.lock);
    n = fake.clock_log_count;
    for (size_t i = 0; i < cap && i < n && i < FAKE_CLOCK_LOG; i++) {
        if (gpu != NULL)
            gpu[i] = fake.clock_log[i].gpu;
        if (kind != NULL)
            kind[i] = fake.clock_log[i].kind;
        if (min_mhz != NULL)
            min_mhz[i] = fake.clock_log[i].min;
        if (max_mhz != NULL)
            max_mhz[i] = fake.clock_log[i].max;
    }
    pthread_mutex_unlock(&fake.lock);
    return n;
}
