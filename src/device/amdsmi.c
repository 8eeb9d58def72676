/*
 * amdsmi.c - AMD GPUs through AMD SMI's C library (libamd_smi.so), loaded at run time.
 *
 * Loads ZEUS_AMDSMI_LIBRARY, or libamd_smi.so, checks the library's version against the
 * struct layouts declared here, numbers the GPUs as HIP does (HIP_VISIBLE_DEVICES, else
 * CUDA_VISIBLE_DEVICES, over HIP indices), checks each GPU's energy counter against its power
 * as Zeus does, and fills the backend table of backend.h. AMD SMI's units (uJ, W, uW,
 * degrees C, MHz) are converted here, at the edge.
 *
 * DESIGN NOTES
 *
 * 1. Layouts: AMD SMI changes its structs between ROCm releases without renaming them.
 *    amdsmi_version_t lost its `year` member in ROCm 6.4 (24.7.x -> 25.x), and
 *    amdsmi_power_info_t gained a leading uint64_t socket_power. Only versions whose layouts
 *    are declared below are used (ROCm 6.3: 24.7.x; ROCm 6.4: 25.x); any other version makes
 *    the backend unavailable with a message naming it, rather than reading garbage. Every
 *    struct the library fills is given a zeroed buffer larger than any declared layout, so a
 *    grown struct cannot write past it.
 * 2. HIP numbering: HIP orders GPUs by KFD topology, AMD SMI by its own enumeration. ROCm 6.4
 *    reports each GPU's HIP index (amdsmi_get_gpu_enumeration_info); before it, sorting the
 *    handles by KFD node id reconstructs the order (Zeus does the same). "Physical index"
 *    below is the HIP index.
 * 3. The counter check (Zeus, after ROCm/amdsmi#38): at the first open in the process (the
 *    verdict is kept per GPU UUID after that, as Zeus checks once), every GPU's counter is read
 *    twice ZEUS_AMDSMI_CHECK_SECONDS (default 0.5) apart, one sleep for all GPUs, and compared
 *    with average (else instant) power times that time. A GPU whose counter disagrees by 10x or
 *    more, or whose power is ~0 (nothing to compare with), does not report
 *    ZEUS_GPU_ENERGY_COUNTER: the sampler then integrates power instead (its note 4), and
 *    zeus_gpu_info says ZEUS_GPU_COUNTER_REJECTED with the reason in show-env's detail.
 * 4. Unsupported power readings: AMD SMI writes 0xFFFF (ROCm 6.3) or UINT32_MAX (6.4) in a
 *    member it cannot read; such a domain is not supported, never a reading of 65535 W.
 * 5. Whatever a method decides is fixed at open, so methods read backend state without locks.
 * 6. Temperature: amdsmi.h documents amdsmi_get_temp_metric in millidegrees, and Zeus divides
 *    by 1000. The library itself (src/amd_smi/amd_smi.cc) already divides ROCm SMI's
 *    millidegrees by 1000, so the value is whole degrees C and is used as it is; Zeus's
 *    second division reads 0 C for any GPU below 1000 C.
 */
#include <dlfcn.h>
#include <stddef.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "device/backend.h"
#include "device/visible.h"
#include "util/error.h"

/* ---- AMD SMI declarations (amdsmi.h of ROCm 6.3 and 6.4) ---------------------------------- */

typedef uint32_t amdsmi_status_t;
typedef void *amdsmi_handle; /* amdsmi_socket_handle and amdsmi_processor_handle */

enum {
    AMDSMI_STATUS_SUCCESS = 0,
    AMDSMI_STATUS_INVAL = 1,
    AMDSMI_STATUS_NOT_SUPPORTED = 2,
    AMDSMI_STATUS_NOT_YET_IMPLEMENTED = 3,
    AMDSMI_STATUS_TIMEOUT = 8,
    AMDSMI_STATUS_NO_PERM = 10,
    AMDSMI_STATUS_IO = 12,
    AMDSMI_STATUS_OUT_OF_RESOURCES = 15,
    AMDSMI_STATUS_INIT_ERROR = 18,
    AMDSMI_STATUS_NOT_FOUND = 31,
    AMDSMI_STATUS_NOT_INIT = 32,
    AMDSMI_STATUS_DRIVER_NOT_LOADED = 34,
    AMDSMI_STATUS_NO_DATA = 40,
    AMDSMI_STATUS_INSUFFICIENT_SIZE = 41,
    AMDSMI_STATUS_FILE_NOT_FOUND = 52,
    AMDSMI_STATUS_ARG_PTR_NULL = 53,
};

#define AMDSMI_INIT_AMD_GPUS (1u << 1)
#define AMDSMI_CLK_TYPE_GFX 0
#define AMDSMI_CLK_TYPE_MEM 4
#define AMDSMI_TEMPERATURE_TYPE_HOTSPOT 1
#define AMDSMI_TEMP_CURRENT 0
#define AMDSMI_DEV_PERF_LEVEL_AUTO 0

/* Room for any struct the library fills (note 1): the largest used is 900 bytes. */
#define STRUCT_ROOM 4096

/* amdsmi_power_cap_info_t: the same in 6.3 and 6.4 (uW, except dpm_cap). */
typedef struct {
    uint64_t power_cap, default_power_cap, dpm_cap, min_power_cap, max_power_cap;
    uint64_t reserved[3];
} amdsmi_power_cap_info_t;

/* amdsmi_power_info_t, ROCm 6.3: current then average socket power, W. */
typedef struct {
    uint32_t current_socket_power, average_socket_power;
    uint32_t gfx_voltage, soc_voltage, mem_voltage, power_limit;
    uint32_t reserved[11];
} power_info_63;

/*
 * amdsmi_power_info_t, ROCm 6.4 (docs-6.4.1): a uint64_t socket_power (host only) first. ROCm
 * 7.0 widens the voltages after it; only the two socket powers are read, at offsets 8 and 12
 * in both.
 */
typedef struct {
    uint64_t socket_power;
    uint32_t current_socket_power, average_socket_power;
    uint32_t gfx_voltage, soc_voltage, mem_voltage;
    uint32_t power_limit;
    uint32_t reserved[2];
} power_info_64;

/* amdsmi_clk_info_t (MHz). */
typedef struct {
    uint32_t clk, min_clk, max_clk;
    uint8_t clk_locked, clk_deep_sleep;
    uint32_t reserved[4];
} amdsmi_clk_info_t;

/* amdsmi_kfd_info_t. */
typedef struct {
    uint64_t kfd_id;
    uint32_t node_id, current_partition_id;
    uint32_t reserved[12];
} amdsmi_kfd_info_t;

/* amdsmi_enumeration_info_t (ROCm 6.4), its first members. */
typedef struct {
    uint32_t drm_render, drm_card, hsa_id, hip_id;
} enumeration_info_head;

_Static_assert(sizeof(power_info_63) == 68, "ROCm 6.3 amdsmi_power_info_t");
_Static_assert(offsetof(power_info_64, current_socket_power) == 8, "ROCm 6.4 layout");
_Static_assert(sizeof(power_info_64) == 40, "ROCm 6.4 amdsmi_power_info_t");
_Static_assert(sizeof(amdsmi_power_cap_info_t) == 64, "amdsmi_power_cap_info_t");
_Static_assert(sizeof(amdsmi_kfd_info_t) == 64, "amdsmi_kfd_info_t");
_Static_assert(sizeof(void *) == sizeof(void (*)(void)), "dlsym needs data-sized functions");

/* A uint32_t member of a struct the library filled, by its offset in our declaration. */
static uint32_t u32_at(const void *buf, size_t offset)
{
    uint32_t v;
    memcpy(&v, (const char *)buf + offset, sizeof v);
    return v;
}

/* The layouts this file declares (note 1). */
enum layout { LAYOUT_ROCM63 = 63, LAYOUT_ROCM64 = 64 };

#define NA16 0xFFFFu
#define NA32 0xFFFFFFFFu

/* ---- Loading ---------------------------------------------------------------------------- */

struct amdsmi_fns {
    amdsmi_status_t (*init)(uint64_t);
    amdsmi_status_t (*shut_down)(void);
    amdsmi_status_t (*get_lib_version)(void *);
    amdsmi_status_t (*get_socket_handles)(uint32_t *, amdsmi_handle *);
    amdsmi_status_t (*get_processor_handles)(amdsmi_handle, uint32_t *, amdsmi_handle *);
    amdsmi_status_t (*get_energy_count)(amdsmi_handle, uint64_t *, float *, uint64_t *);
    amdsmi_status_t (*get_power_info)(amdsmi_handle, void *);
    /* optional: a missing one turns off its feature only */
    amdsmi_status_t (*get_gpu_asic_info)(amdsmi_handle, void *);
    amdsmi_status_t (*get_gpu_device_uuid)(amdsmi_handle, unsigned *, char *);
    amdsmi_status_t (*get_gpu_device_bdf)(amdsmi_handle, uint64_t *);
    amdsmi_status_t (*get_gpu_enumeration_info)(amdsmi_handle, void *);
    amdsmi_status_t (*get_gpu_kfd_info)(amdsmi_handle, void *);
    amdsmi_status_t (*get_temp_metric)(amdsmi_handle, int, int, int64_t *);
    amdsmi_status_t (*get_power_cap_info)(amdsmi_handle, uint32_t, void *);
    amdsmi_status_t (*set_power_cap)(amdsmi_handle, uint32_t, uint64_t);
    amdsmi_status_t (*get_clock_info)(amdsmi_handle, int, void *);
    amdsmi_status_t (*set_gpu_clk_range)(amdsmi_handle, uint64_t, uint64_t, int);
    amdsmi_status_t (*set_gpu_perf_level)(amdsmi_handle, int);
};

static const struct {
    const char *name;
    size_t offset;
    int required;
} fn_table[] = {
#define FN(member, req) {"amdsmi_" #member, offsetof(struct amdsmi_fns, member), req}
    FN(init, 1),
    FN(shut_down, 1),
    FN(get_lib_version, 1),
    FN(get_socket_handles, 1),
    FN(get_processor_handles, 1),
    FN(get_energy_count, 1),
    FN(get_power_info, 1),
    FN(get_gpu_asic_info, 0),
    FN(get_gpu_device_uuid, 0),
    FN(get_gpu_device_bdf, 0),
    FN(get_gpu_enumeration_info, 0),
    FN(get_gpu_kfd_info, 0),
    FN(get_temp_metric, 0),
    FN(get_power_cap_info, 0),
    FN(set_power_cap, 0),
    FN(get_clock_info, 0),
    FN(set_gpu_clk_range, 0),
    FN(set_gpu_perf_level, 0),
#undef FN
};

#define MAX_GPUS 64

struct amd_gpu {
    amdsmi_handle h;
    unsigned physical; /* HIP index */
    uint32_t supports; /* ZEUS_GPU_* */
    char name[96];
    char uuid[96];
    char check[160]; /* the counter check's verdict, for the detail line */
};

struct amd_backend {
    struct zeus_backend base;
    void *lib;
    struct amdsmi_fns fn;
    enum layout layout;
    int initialized; /* amdsmi_init succeeded: close pairs it with amdsmi_shut_down */
    char version[48];
    char rocm_path[512]; /* the library under ROCm's folder, when it came from there */
    struct amd_gpu gpus[MAX_GPUS]; /* framework order */
};

static struct amd_backend *amd(struct zeus_backend *b)
{
    return (struct amd_backend *)b;
}

/* AMD SMI's statuses in zeus terms (Zeus's amd.py maps the same codes); others: unknown. */
static const struct {
    amdsmi_status_t amd;
    zeus_status zeus;
} status_map[] = {
    {AMDSMI_STATUS_INVAL, ZEUS_ERR_INVALID_ARGUMENT},
    {AMDSMI_STATUS_ARG_PTR_NULL, ZEUS_ERR_INVALID_ARGUMENT},
    {AMDSMI_STATUS_NOT_SUPPORTED, ZEUS_ERR_NOT_SUPPORTED},
    {AMDSMI_STATUS_NOT_YET_IMPLEMENTED, ZEUS_ERR_NOT_SUPPORTED},
    {AMDSMI_STATUS_TIMEOUT, ZEUS_ERR_TIMEOUT},
    {AMDSMI_STATUS_NO_PERM, ZEUS_ERR_NO_PERMISSION},
    {AMDSMI_STATUS_OUT_OF_RESOURCES, ZEUS_ERR_NO_MEMORY},
    {AMDSMI_STATUS_INIT_ERROR, ZEUS_ERR_UNINITIALIZED},
    {AMDSMI_STATUS_NOT_INIT, ZEUS_ERR_UNINITIALIZED},
    {AMDSMI_STATUS_NOT_FOUND, ZEUS_ERR_NOT_FOUND},
    {AMDSMI_STATUS_DRIVER_NOT_LOADED, ZEUS_ERR_DRIVER_NOT_LOADED},
    {AMDSMI_STATUS_IO, ZEUS_ERR_IO},
    {AMDSMI_STATUS_NO_DATA, ZEUS_ERR_NO_DATA},
    {AMDSMI_STATUS_INSUFFICIENT_SIZE, ZEUS_ERR_INSUFFICIENT_SIZE},
    {AMDSMI_STATUS_FILE_NOT_FOUND, ZEUS_ERR_LIBRARY_NOT_FOUND},
};

/* Fail with AMD SMI's status `r` in zeus terms; `what` names the call in the message. */
static zeus_status amd_fail(amdsmi_status_t r, const char *what)
{
    zeus_status s = ZEUS_ERR_UNKNOWN;

    for (size_t i = 0; i < sizeof status_map / sizeof status_map[0]; i++)
        if (status_map[i].amd == r)
            s = status_map[i].zeus;
    return zeus__fail(s, "%s failed: AMD SMI status %u", what, (unsigned)r);
}

/*
 * ZEUS_AMDSMI_LIBRARY, else libamd_smi.so on the loader's path, else under $ROCM_PATH or
 * /opt/rocm (ROCm installs there and does not always register it with ldconfig).
 */
static void *open_library(const char **path, char *rocm, size_t len)
{
    const char *env = getenv("ZEUS_AMDSMI_LIBRARY"), *root = getenv("ROCM_PATH");
    void *lib;

    if (env != NULL && env[0] != '\0') {
        *path = env;
        return dlopen(env, RTLD_NOW | RTLD_LOCAL);
    }
    *path = "libamd_smi.so";
    lib = dlopen(*path, RTLD_NOW | RTLD_LOCAL);
    if (lib != NULL)
        return lib;
    snprintf(rocm, len, "%s/lib/libamd_smi.so",
             root != NULL && root[0] != '\0' ? root : "/opt/rocm");
    lib = dlopen(rocm, RTLD_NOW | RTLD_LOCAL);
    if (lib != NULL)
        *path = rocm;
    else
        dlopen(*path, RTLD_NOW | RTLD_LOCAL); /* leave the first failure in dlerror() */
    return lib;
}

static zeus_status load_library(struct amd_backend *a)
{
    const char *path;

    a->lib = open_library(&path, a->rocm_path, sizeof a->rocm_path);
    if (a->lib == NULL)
        return zeus__fail(ZEUS_ERR_LIBRARY_NOT_FOUND,
                          "cannot load AMD SMI (%s): %s (install ROCm 6.3 or 6.4, or set "
                          "ZEUS_AMDSMI_LIBRARY)",
                          path, dlerror());
    for (size_t i = 0; i < sizeof fn_table / sizeof fn_table[0]; i++) {
        void *sym = dlsym(a->lib, fn_table[i].name);
        if (sym == NULL && fn_table[i].required)
            return zeus__fail(ZEUS_ERR_FUNCTION_NOT_FOUND, "%s has no %s", path,
                              fn_table[i].name);
        memcpy((char *)&a->fn + fn_table[i].offset, &sym, sizeof sym);
    }
    snprintf(a->base.detail, sizeof a->base.detail, "%.200s", path);
    return ZEUS_OK;
}

/*
 * Read the version and pick the layout (note 1). Both amdsmi_version_t layouts put the build
 * string pointer at offset 16, so the words before it are read alike and told apart by the
 * first: 24 is ROCm 6.3's year (24.7.x), 25 is ROCm 6.4's major (25.x, no year).
 */
static zeus_status check_version(struct amd_backend *a)
{
    uint32_t w[STRUCT_ROOM / 4] = {0};
    amdsmi_status_t r = a->fn.get_lib_version(w);

    if (r != AMDSMI_STATUS_SUCCESS)
        return amd_fail(r, "amdsmi_get_lib_version");
    if (w[0] == 24 && w[1] == 7) {
        a->layout = LAYOUT_ROCM63;
        snprintf(a->version, sizeof a->version, "%u.%u.%u.%u (ROCm 6.3)", w[0], w[1], w[2],
                 w[3]);
        return ZEUS_OK;
    }
    if (w[0] == 25) {
        a->layout = LAYOUT_ROCM64;
        snprintf(a->version, sizeof a->version, "%u.%u.%u (ROCm 6.4)", w[0], w[1], w[2]);
        return ZEUS_OK;
    }
    if (w[0] <= 24)
        snprintf(a->version, sizeof a->version, "%u.%u.%u.%u", w[0], w[1], w[2], w[3]);
    else
        snprintf(a->version, sizeof a->version, "%u.%u.%u", w[0], w[1], w[2]);
    return zeus__fail(ZEUS_ERR_NOT_SUPPORTED,
                      "AMD SMI library version %s is not supported: its struct layouts are not "
                      "declared in Zeus-C, which knows 24.7.x (ROCm 6.3) and 25.x (ROCm 6.4)",
                      a->version);
}

/* ---- Enumeration (note 2) ----------------------------------------------------------------- */

static zeus_status all_handles(struct amd_backend *a, amdsmi_handle *out, unsigned *n)
{
    amdsmi_handle sockets[MAX_GPUS];
    uint32_t ns = MAX_GPUS;
    amdsmi_status_t r = a->fn.get_socket_handles(&ns, sockets);

    if (r != AMDSMI_STATUS_SUCCESS)
        return amd_fail(r, "amdsmi_get_socket_handles");
    *n = 0;
    for (uint32_t s = 0; s < ns && s < MAX_GPUS; s++) {
        uint32_t np = MAX_GPUS - *n;
        r = a->fn.get_processor_handles(sockets[s], &np, out + *n);
        if (r != AMDSMI_STATUS_SUCCESS)
            return amd_fail(r, "amdsmi_get_processor_handles");
        *n += np;
    }
    return ZEUS_OK;
}

/* ROCm 6.4: each handle's hip_id. 0 when any handle has none (then KFD order is used). */
static int hip_from_enumeration(struct amd_backend *a, const amdsmi_handle *h, unsigned n,
                                unsigned *hip)
{
    if (a->layout != LAYOUT_ROCM64 || a->fn.get_gpu_enumeration_info == NULL)
        return 0;
    for (unsigned i = 0; i < n; i++) {
        uint64_t buf[STRUCT_ROOM / 8] = {0};
        if (a->fn.get_gpu_enumeration_info(h[i], buf) != AMDSMI_STATUS_SUCCESS)
            return 0;
        hip[i] = u32_at(buf, offsetof(enumeration_info_head, hip_id));
    }
    return 1;
}

/* ROCm 6.3: HIP numbers GPUs in KFD topology order, so a handle's rank by node id. */
static zeus_status hip_from_kfd(struct amd_backend *a, const amdsmi_handle *h, unsigned n,
                                unsigned *hip)
{
    uint32_t node[MAX_GPUS];

    if (a->fn.get_gpu_kfd_info == NULL)
        return zeus__fail(ZEUS_ERR_FUNCTION_NOT_FOUND,
                          "AMD SMI has neither amdsmi_get_gpu_enumeration_info nor "
                          "amdsmi_get_gpu_kfd_info: cannot number GPUs as HIP does");
    for (unsigned i = 0; i < n; i++) {
        uint64_t buf[STRUCT_ROOM / 8] = {0};
        amdsmi_status_t r = a->fn.get_gpu_kfd_info(h[i], buf);
        if (r != AMDSMI_STATUS_SUCCESS)
            return amd_fail(r, "amdsmi_get_gpu_kfd_info");
        node[i] = u32_at(buf, offsetof(amdsmi_kfd_info_t, node_id));
    }
    for (unsigned i = 0; i < n; i++) {
        hip[i] = 0;
        for (unsigned j = 0; j < n; j++)
            if (node[j] < node[i] || (node[j] == node[i] && j < i))
                hip[i]++;
    }
    return ZEUS_OK;
}

/* The HIP index of each handle (note 2), checked to be a permutation of 0..n-1. */
static zeus_status hip_indices(struct amd_backend *a, const amdsmi_handle *h, unsigned n,
                               unsigned *hip)
{
    if (!hip_from_enumeration(a, h, n, hip)) {
        zeus_status s = hip_from_kfd(a, h, n, hip);
        if (s != ZEUS_OK)
            return s;
    }
    for (unsigned i = 0; i < n; i++) {
        if (hip[i] >= n)
            return zeus__fail(ZEUS_ERR_UNKNOWN, "AMD SMI gives GPU %u HIP index %u of %u", i,
                              hip[i], n);
        for (unsigned j = i + 1; j < n; j++)
            if (hip[i] == hip[j])
                return zeus__fail(ZEUS_ERR_UNKNOWN, "AMD SMI gives GPUs %u and %u HIP index %u",
                                  i, j, hip[i]);
    }
    return ZEUS_OK;
}

static void read_identity(struct amd_backend *a, struct amd_gpu *g)
{
    char buf[STRUCT_ROOM] = {0};
    unsigned len = sizeof buf;

    snprintf(g->name, sizeof g->name, "AMD GPU");
    /* market_name[256] leads amdsmi_asic_info_t in 6.3 and 6.4 alike. */
    if (a->fn.get_gpu_asic_info != NULL &&
        a->fn.get_gpu_asic_info(g->h, buf) == AMDSMI_STATUS_SUCCESS && buf[0] != '\0')
        snprintf(g->name, sizeof g->name, "%.95s", buf);
    memset(buf, 0, sizeof buf);
    if (a->fn.get_gpu_device_uuid != NULL &&
        a->fn.get_gpu_device_uuid(g->h, &len, buf) == AMDSMI_STATUS_SUCCESS && buf[0] != '\0')
        snprintf(g->uuid, sizeof g->uuid, "GPU-%.90s", buf);
}

/* Physical handles in HIP order, then the visible ones in framework order. */
static zeus_status enumerate(struct amd_backend *a)
{
    amdsmi_handle h[MAX_GPUS], by_hip[MAX_GPUS];
    unsigned hip[MAX_GPUS], n = 0, visible[MAX_GPUS], count = MAX_GPUS;
    struct amd_gpu phys[MAX_GPUS];
    const char *uuids[MAX_GPUS];
    const char *var = zeus__visible_hip_var();
    zeus_status s = all_handles(a, h, &n);

    if (s == ZEUS_OK)
        s = hip_indices(a, h, n, hip);
    if (s != ZEUS_OK)
        return s;
    for (unsigned i = 0; i < n; i++)
        by_hip[hip[i]] = h[i];
    for (unsigned i = 0; i < n; i++) {
        memset(&phys[i], 0, sizeof phys[i]);
        phys[i].h = by_hip[i];
        phys[i].physical = i;
        read_identity(a, &phys[i]);
        uuids[i] = phys[i].uuid[0] != '\0' ? phys[i].uuid : NULL;
    }
    s = zeus__visible_from_env(var, uuids, n, visible, &count);
    if (s != ZEUS_OK)
        return s;
    for (unsigned k = 0; k < count; k++)
        a->gpus[k] = phys[visible[k]];
    a->base.device_count = count;
    return ZEUS_OK;
}

/* ---- Probing (notes 3, 4) ----------------------------------------------------------------- */

/* Current (instant) and average socket power in W; NAN where AMD SMI has none. */
static zeus_status read_power(struct amd_backend *a, amdsmi_handle h, double *cur, double *avg)
{
    uint64_t buf[STRUCT_ROOM / 8] = {0};
    uint32_t c, v;
    amdsmi_status_t r = a->fn.get_power_info(h, buf);

    if (r != AMDSMI_STATUS_SUCCESS)
        return amd_fail(r, "amdsmi_get_power_info");
    if (a->layout == LAYOUT_ROCM63) {
        c = u32_at(buf, offsetof(power_info_63, current_socket_power));
        v = u32_at(buf, offsetof(power_info_63, average_socket_power));
    } else {
        c = u32_at(buf, offsetof(power_info_64, current_socket_power));
        v = u32_at(buf, offsetof(power_info_64, average_socket_power));
    }
    *cur = c == NA16 || c == NA32 ? NAN : (double)c;
    *avg = v == NA16 || v == NA32 ? NAN : (double)v;
    return ZEUS_OK;
}

static zeus_status read_energy(struct amd_backend *a, amdsmi_handle h, double *j)
{
    uint64_t acc = 0, ts = 0;
    float res = 0;
    amdsmi_status_t r = a->fn.get_energy_count(h, &acc, &res, &ts);

    if (r != AMDSMI_STATUS_SUCCESS)
        return amd_fail(r, "amdsmi_get_energy_count");
    *j = (double)acc * (double)res * 1e-6; /* accumulator x resolution = uJ */
    return ZEUS_OK;
}

static void probe_power(struct amd_backend *a, struct amd_gpu *g)
{
    double cur, avg;

    if (read_power(a, g->h, &cur, &avg) != ZEUS_OK)
        return;
    if (!isnan(cur))
        g->supports |= ZEUS_GPU_POWER_INSTANT;
    if (!isnan(avg))
        g->supports |= ZEUS_GPU_POWER_AVERAGE;
    if (a->fn.get_temp_metric != NULL)
        g->supports |= ZEUS_GPU_TEMPERATURE;
    if (a->fn.get_power_cap_info != NULL)
        g->supports |= ZEUS_GPU_POWER_LIMIT;
}

static double check_seconds(void)
{
    const char *e = getenv("ZEUS_AMDSMI_CHECK_SECONDS");
    double s = e != NULL ? strtod(e, NULL) : 0.5;

    return isfinite(s) && s > 0 && s <= 10 ? s : 0.5;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};

    while (nanosleep(&ts, &ts) != 0)
        ;
}

/*
 * An MI250/MI250X is two dies; AMD SMI reports the power of both on the even one and ~0 on
 * the odd one (Zeus's rule). The odd die then has no power or energy reading at all rather
 * than a measured-looking zero.
 */
static int odd_mi250_die(const struct amd_gpu *g, double expected_j)
{
    return strstr(g->name, "MI250") != NULL && g->physical % 2 == 1 && expected_j < 1e-6;
}

/* Judge one GPU's counter from its two reads and its power (Zeus's rule, note 3). */
static void judge_counter(struct amd_gpu *g, double power_w, double measured_j, double wait_s)
{
    double expected_j = power_w * wait_s;

    if (odd_mi250_die(g, expected_j)) {
        g->supports &= ~(uint32_t)(ZEUS_GPU_POWER_INSTANT | ZEUS_GPU_POWER_AVERAGE);
        snprintf(g->check, sizeof g->check,
                 "second die of an MI250: its power and energy are counted on HIP GPU %u, "
                 "none reported here",
                 g->physical - 1);
    } else if (!(expected_j >= 1e-6)) {
        g->supports |= ZEUS_GPU_COUNTER_REJECTED;
        snprintf(g->check, sizeof g->check,
                 "counter not checked: power reads ~0 W, energy from integrated power");
    } else if (measured_j / expected_j > 0.1 && measured_j / expected_j < 10) {
        g->supports |= ZEUS_GPU_ENERGY_COUNTER;
    } else {
        g->supports |= ZEUS_GPU_COUNTER_REJECTED;
        snprintf(g->check, sizeof g->check,
                 "counter rejected (%.3g J in %.2g s at %.4g W, ROCm/amdsmi#38), energy from "
                 "integrated power",
                 measured_j, wait_s, power_w);
    }
}

/*
 * Verdicts of the counter check, once per GPU per process as in Zeus (whose get_gpus() is a
 * singleton): a monitor opens devices twice (its own and the sampler's), and each open would
 * otherwise sleep again. Keyed by library path and UUID; GPUs without a UUID are checked
 * every time.
 */
static pthread_mutex_t verdict_lock = PTHREAD_MUTEX_INITIALIZER;
static struct verdict {
    char key[256];
    uint32_t supports;
    char check[160];
} verdicts[MAX_GPUS];
static unsigned verdict_count;

static void verdict_key(const struct amd_backend *a, const struct amd_gpu *g, char *key,
                        size_t len)
{
    snprintf(key, len, "%.150s|%.96s", a->base.detail, g->uuid);
}

/* Take a GPU's earlier verdict; 0 when there is none. */
static int recall_verdict(const struct amd_backend *a, struct amd_gpu *g)
{
    char key[256];
    int found = 0;

    if (g->uuid[0] == '\0')
        return 0;
    verdict_key(a, g, key, sizeof key);
    pthread_mutex_lock(&verdict_lock);
    for (unsigned i = 0; i < verdict_count && !found; i++) {
        if (strcmp(verdicts[i].key, key) != 0)
            continue;
        g->supports = verdicts[i].supports;
        memcpy(g->check, verdicts[i].check, sizeof g->check);
        found = 1;
    }
    pthread_mutex_unlock(&verdict_lock);
    return found;
}

static void keep_verdict(const struct amd_backend *a, const struct amd_gpu *g)
{
    if (g->uuid[0] == '\0')
        return;
    pthread_mutex_lock(&verdict_lock);
    if (verdict_count < MAX_GPUS) {
        struct verdict *v = &verdicts[verdict_count++];
        verdict_key(a, g, v->key, sizeof v->key);
        v->supports = g->supports;
        memcpy(v->check, g->check, sizeof v->check);
    }
    pthread_mutex_unlock(&verdict_lock);
}

/* One sleep for every GPU not judged before: read each counter, wait, read again, judge. */
static void check_counters(struct amd_backend *a)
{
    unsigned n = a->base.device_count, todo = 0;
    double before[MAX_GPUS], power[MAX_GPUS], wait_s = check_seconds();
    int ok[MAX_GPUS], known[MAX_GPUS];

    for (unsigned k = 0; k < n; k++) {
        double cur, avg;
        known[k] = recall_verdict(a, &a->gpus[k]);
        if (known[k])
            continue;
        todo++;
        power[k] = 0;
        if (read_power(a, a->gpus[k].h, &cur, &avg) == ZEUS_OK)
            power[k] = !isnan(avg) ? avg : !isnan(cur) ? cur : 0;
        ok[k] = read_energy(a, a->gpus[k].h, &before[k]) == ZEUS_OK;
    }
    if (todo > 0)
        sleep_s(wait_s);
    for (unsigned k = 0; k < n; k++) {
        double after = 0;
        if (known[k])
            continue;
        if (!ok[k] || read_energy(a, a->gpus[k].h, &after) != ZEUS_OK) {
            snprintf(a->gpus[k].check, sizeof a->gpus[k].check,
                     "energy counter unreadable, energy from integrated power");
            continue; /* perhaps passing: checked again at the next open */
        }
        judge_counter(&a->gpus[k], power[k], after - before[k], wait_s);
        keep_verdict(a, &a->gpus[k]);
    }
}

/* The detail line: library, version, and each GPU whose counter is not used. */
static void write_detail(struct amd_backend *a)
{
    size_t len = strlen(a->base.detail);

    snprintf(a->base.detail + len, sizeof a->base.detail - len, ", AMD SMI %s", a->version);
    for (unsigned k = 0; k < a->base.device_count; k++) {
        if (a->gpus[k].check[0] == '\0')
            continue;
        len = strlen(a->base.detail);
        snprintf(a->base.detail + len, sizeof a->base.detail - len, "; HIP GPU %u: %s",
                 a->gpus[k].physical, a->gpus[k].check);
    }
}

/* ---- Backend methods ---------------------------------------------------------------------- */

static void amd_close(struct zeus_backend *b)
{
    struct amd_backend *a = amd(b);

    if (a == NULL)
        return;
    if (a->initialized)
        a->fn.shut_down();
    if (a->lib != NULL)
        dlclose(a->lib);
    free(a);
}

static zeus_status amd_open(struct zeus_backend **out)
{
    struct amd_backend *a = calloc(1, sizeof *a);
    amdsmi_status_t r;
    zeus_status s;

    if (a == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory opening AMD SMI");
    a->base.ops = &zeus__amdsmi_backend;
    s = load_library(a);
    /* amdsmi_get_lib_version answers only after amdsmi_init, which takes no struct. */
    if (s == ZEUS_OK) {
        r = a->fn.init(AMDSMI_INIT_AMD_GPUS);
        a->initialized = r == AMDSMI_STATUS_SUCCESS;
        s = a->initialized ? check_version(a) : amd_fail(r, "amdsmi_init");
    }
    if (s == ZEUS_OK)
        s = enumerate(a);
    if (s != ZEUS_OK) {
        char why[256];
        snprintf(why, sizeof why, "%s", zeus_last_error());
        amd_close(&a->base);
        return zeus__fail(s, "%s", why);
    }
    for (unsigned k = 0; k < a->base.device_count; k++)
        probe_power(a, &a->gpus[k]);
    check_counters(a);
    write_detail(a);
    *out = &a->base;
    return ZEUS_OK;
}

static zeus_status amd_gpu_info(struct zeus_backend *b, unsigned dev, zeus_gpu_info *out)
{
    const struct amd_gpu *g = &amd(b)->gpus[dev];

    memset(out, 0, sizeof *out);
    out->index = dev;
    out->physical_index = g->physical;
    snprintf(out->name, sizeof out->name, "%s", g->name);
    snprintf(out->uuid, sizeof out->uuid, "%s", g->uuid);
    out->supports = g->supports;
    return ZEUS_OK;
}

static zeus_status amd_gpu_energy(struct zeus_backend *b, unsigned dev, double *energy_j)
{
    const struct amd_gpu *g = &amd(b)->gpus[dev];

    if (!(g->supports & ZEUS_GPU_ENERGY_COUNTER))
        return zeus__fail(ZEUS_ERR_NOT_SUPPORTED, "AMD GPU %u: %s", dev,
                          g->check[0] ? g->check : "no usable energy counter");
    return read_energy(amd(b), g->h, energy_j);
}

static zeus_status amd_gpu_power(struct zeus_backend *b, unsigned dev, zeus_power_domain domain,
                                 double *power_w)
{
    double cur, avg, v;
    zeus_status s;

    if (domain == ZEUS_POWER_MEMORY_AVERAGE)
        return zeus__fail(ZEUS_ERR_NOT_SUPPORTED, "AMD SMI reports no memory power");
    if (!(amd(b)->gpus[dev].supports & (ZEUS_GPU_POWER_INSTANT | ZEUS_GPU_POWER_AVERAGE)) &&
        amd(b)->gpus[dev].check[0] != '\0')
        return zeus__fail(ZEUS_ERR_NOT_SUPPORTED, "AMD GPU %u: %s", dev, amd(b)->gpus[dev].check);
    s = read_power(amd(b), amd(b)->gpus[dev].h, &cur, &avg);
    if (s != ZEUS_OK)
        return s;
    v = domain == ZEUS_POWER_DEVICE_INSTANT ? cur : avg;
    if (isnan(v))
        return zeus__fail(ZEUS_ERR_NOT_SUPPORTED, "AMD GPU %u reports no %s socket power", dev,
                          domain == ZEUS_POWER_DEVICE_INSTANT ? "current" : "average");
    *power_w = v;
    return ZEUS_OK;
}

static zeus_status amd_gpu_temperature(struct zeus_backend *b, unsigned dev, double *temp_c)
{
    int64_t value = 0;
    amdsmi_status_t r;

    if (amd(b)->fn.get_temp_metric == NULL)
        return zeus__fail(ZEUS_ERR_NOT_SUPPORTED, "AMD SMI has no amdsmi_get_temp_metric");
    r = amd(b)->fn.get_temp_metric(amd(b)->gpus[dev].h, AMDSMI_TEMPERATURE_TYPE_HOTSPOT,
                                   AMDSMI_TEMP_CURRENT, &value);
    if (r != AMDSMI_STATUS_SUCCESS)
        return amd_fail(r, "amdsmi_get_temp_metric");
    *temp_c = (double)value;
    return ZEUS_OK;
}

static zeus_status amd_gpu_pci_bus_id(struct zeus_backend *b, unsigned dev, char *buf,
                                      size_t len)
{
    uint64_t bdf = 0;
    amdsmi_status_t r;

    if (amd(b)->fn.get_gpu_device_bdf == NULL)
        return zeus__fail(ZEUS_ERR_NOT_SUPPORTED, "AMD SMI has no amdsmi_get_gpu_device_bdf");
    r = amd(b)->fn.get_gpu_device_bdf(amd(b)->gpus[dev].h, &bdf);
    if (r != AMDSMI_STATUS_SUCCESS)
        return amd_fail(r, "amdsmi_get_gpu_device_bdf");
    /* amdsmi_bdf_t: function 3 bits, device 5, bus 8, domain 48. */
    snprintf(buf, len, "%04llx:%02x:%02x.%x", (unsigned long long)(bdf >> 16),
             (unsigned)(bdf >> 8) & 0xff, (unsigned)(bdf >> 3) & 0x1f, (unsigned)bdf & 7);
    return ZEUS_OK;
}

static zeus_status power_caps(struct zeus_backend *b, unsigned dev, amdsmi_power_cap_info_t *c)
{
    uint64_t buf[STRUCT_ROOM / 8] = {0};
    amdsmi_status_t r;

    if (amd(b)->fn.get_power_cap_info == NULL)
        return zeus__fail(ZEUS_ERR_NOT_SUPPORTED, "AMD SMI has no amdsmi_get_power_cap_info");
    r = amd(b)->fn.get_power_cap_info(amd(b)->gpus[dev].h, 0, buf);
    if (r != AMDSMI_STATUS_SUCCESS)
        return amd_fail(r, "amdsmi_get_power_cap_info");
    memcpy(c, buf, sizeof *c);
    return ZEUS_OK;
}

static zeus_status amd_gpu_power_limit_constraints(struct zeus_backend *b, unsigned dev,
                                                   double *min_w, double *max_w)
{
    amdsmi_power_cap_info_t c;
    zeus_status s = power_caps(b, dev, &c);

    if (s != ZEUS_OK)
        return s;
    *min_w = (double)c.min_power_cap * 1e-6;
    *max_w = (double)c.max_power_cap * 1e-6;
    return ZEUS_OK;
}

static zeus_status amd_gpu_power_limit(struct zeus_backend *b, unsigned dev, double *limit_w)
{
    amdsmi_power_cap_info_t c;
    zeus_status s = power_caps(b, dev, &c);

    if (s == ZEUS_OK)
        *limit_w = (double)c.power_cap * 1e-6;
    return s;
}

static zeus_status amd_gpu_default_power_limit(struct zeus_backend *b, unsigned dev,
                                               double *limit_w)
{
    amdsmi_power_cap_info_t c;
    zeus_status s = power_caps(b, dev, &c);

    if (s == ZEUS_OK)
        *limit_w = (double)c.default_power_cap * 1e-6;
    return s;
}

static zeus_status amd_gpu_set_power_limit(struct zeus_backend *b, unsigned dev, double limit_w)
{
    amdsmi_status_t r;

    if (amd(b)->fn.set_power_cap == NULL)
        return zeus__fail(ZEUS_ERR_NOT_SUPPORTED, "AMD SMI has no amdsmi_set_power_cap");
    /* Zeus sends whole milliwatts times 1000. */
    r = amd(b)->fn.set_power_cap(amd(b)->gpus[dev].h, 0,
                                 (uint64_t)llround(limit_w * 1000.0) * 1000u);
    return r == AMDSMI_STATUS_SUCCESS ? ZEUS_OK : amd_fail(r, "amdsmi_set_power_cap");
}

/* Zeus's AMD clock lists: [max, min] of amdsmi_get_clock_info. */
static zeus_status clock_range(struct zeus_backend *b, unsigned dev, int type, unsigned *clocks,
                               size_t *count)
{
    uint64_t buf[STRUCT_ROOM / 8] = {0};
    size_t room = *count;
    amdsmi_status_t r;

    if (amd(b)->fn.get_clock_info == NULL)
        return zeus__fail(ZEUS_ERR_NOT_SUPPORTED, "AMD SMI has no amdsmi_get_clock_info");
    r = amd(b)->fn.get_clock_info(amd(b)->gpus[dev].h, type, buf);
    if (r != AMDSMI_STATUS_SUCCESS)
        return amd_fail(r, "amdsmi_get_clock_info");
    *count = 2;
    if (room < 2)
        return zeus__fail(ZEUS_ERR_INSUFFICIENT_SIZE, "room for %zu clocks, 2 needed", room);
    clocks[0] = u32_at(buf, offsetof(amdsmi_clk_info_t, max_clk));
    clocks[1] = u32_at(buf, offsetof(amdsmi_clk_info_t, min_clk));
    return ZEUS_OK;
}

static zeus_status amd_gpu_supported_memory_clocks(struct zeus_backend *b, unsigned dev,
                                                   unsigned *clocks_mhz, size_t *count)
{
    return clock_range(b, dev, AMDSMI_CLK_TYPE_MEM, clocks_mhz, count);
}

static zeus_status amd_gpu_supported_graphics_clocks(struct zeus_backend *b, unsigned dev,
                                                     unsigned memory_mhz, unsigned *clocks_mhz,
                                                     size_t *count)
{
    (void)memory_mhz; /* AMD SMI's graphics range does not depend on the memory clock */
    return clock_range(b, dev, AMDSMI_CLK_TYPE_GFX, clocks_mhz, count);
}

static zeus_status set_range(struct zeus_backend *b, unsigned dev, unsigned lo, unsigned hi,
                             int type)
{
    amdsmi_status_t r;

    if (amd(b)->fn.set_gpu_clk_range == NULL)
        return zeus__fail(ZEUS_ERR_NOT_SUPPORTED, "AMD SMI has no amdsmi_set_gpu_clk_range");
    r = amd(b)->fn.set_gpu_clk_range(amd(b)->gpus[dev].h, lo, hi, type);
    return r == AMDSMI_STATUS_SUCCESS ? ZEUS_OK : amd_fail(r, "amdsmi_set_gpu_clk_range");
}

static zeus_status amd_gpu_set_locked_clocks(struct zeus_backend *b, unsigned dev,
                                             unsigned min_mhz, unsigned max_mhz)
{
    return set_range(b, dev, min_mhz, max_mhz, AMDSMI_CLK_TYPE_GFX);
}

static zeus_status amd_gpu_set_memory_locked_clocks(struct zeus_backend *b, unsigned dev,
                                                    unsigned min_mhz, unsigned max_mhz)
{
    return set_range(b, dev, min_mhz, max_mhz, AMDSMI_CLK_TYPE_MEM);
}

/* Zeus's reset_locked_clocks: performance level AUTO, which releases both ranges. */
static zeus_status amd_gpu_reset_locked_clocks(struct zeus_backend *b, unsigned dev)
{
    amdsmi_status_t r;

    if (amd(b)->fn.set_gpu_perf_level == NULL)
        return zeus__fail(ZEUS_ERR_NOT_SUPPORTED, "AMD SMI has no amdsmi_set_gpu_perf_level");
    r = amd(b)->fn.set_gpu_perf_level(amd(b)->gpus[dev].h, AMDSMI_DEV_PERF_LEVEL_AUTO);
    return r == AMDSMI_STATUS_SUCCESS ? ZEUS_OK : amd_fail(r, "amdsmi_set_gpu_perf_level");
}

const struct zeus_backend_ops zeus__amdsmi_backend = {
    .abi = ZEUS__BACKEND_ABI,
    .name = "amdsmi",
    .kind = ZEUS_DEVICE_GPU,
    .open = amd_open,
    .close = amd_close,
    .gpu_info = amd_gpu_info,
    .gpu_energy = amd_gpu_energy,
    .gpu_power = amd_gpu_power,
    .gpu_temperature = amd_gpu_temperature,
    .gpu_pci_bus_id = amd_gpu_pci_bus_id,
    .gpu_power_limit_constraints = amd_gpu_power_limit_constraints,
    .gpu_power_limit = amd_gpu_power_limit,
    .gpu_default_power_limit = amd_gpu_default_power_limit,
    .gpu_set_power_limit = amd_gpu_set_power_limit,
    .gpu_supported_memory_clocks = amd_gpu_supported_memory_clocks,
    .gpu_supported_graphics_clocks = amd_gpu_supported_graphics_clocks,
    .gpu_set_locked_clocks = amd_gpu_set_locked_clocks,
    .gpu_reset_locked_clocks = amd_gpu_reset_locked_clocks,
    .gpu_set_memory_locked_clocks = amd_gpu_set_memory_locked_clocks,
};
