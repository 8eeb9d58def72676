/*
 * monitor.c - Named energy measurement windows over GPUs and CPU packages: Zeus's
 * ZeusMonitor in C.
 *
 * begin_window() records the monotonic time and every device's cumulative counter;
 * end_window() reads them again and reports the differences. Here both ends read the
 * counters directly, as Zeus does (2.7 ms per GPU on an H100, GPU-MEASUREMENTS.md); the
 * sampling engine will move those reads off the caller's path.
 *
 * DESIGN NOTES
 *
 * 1. The window table and nothing else is guarded by mon->lock. Device reads happen outside
 *    the lock, so one thread's slow NVML read never stalls another thread's window.
 * 2. A name is unique among open windows. begin_window checks before reading the counters
 *    (cheap failure) and again when inserting (another thread may have won the race); the
 *    loser fails with ZEUS_ERR_ALREADY_EXISTS and the winner's window is untouched.
 * 3. end_window removes the window first, under the lock, so two threads ending the same
 *    name get one result and one ZEUS_ERR_NOT_FOUND, never two results.
 * 4. A device that fails at begin leaves no window behind. A device that fails at end still
 *    closes the window: its value is NAN with ZEUS_ENERGY_FAILED, every other device is
 *    reported, the row is logged, and the device's status is returned.
 * 5. Absent is not zero: a value that was not measured is NAN with a flag that says why.
 *
 *     (no window) --begin_window--> open --end_window--> (result, logged)
 *                                    |  \--end_window(CANCEL)--> (zeros, not logged)
 *                                    \--begin_window(RESTART) / reset_windows--> dropped
 */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/devices_internal.h"
#include "monitor/csv_log.h"
#include "util/clock.h"
#include "util/error.h"
#include "zeus/monitor.h"

#define MONITOR_MAGIC 0x4d4f4e31u /* "MON1" */

/* Counters read at one end of a window. */
struct snapshot {
    int64_t t_ns;
    double unix_s;
    double gpu_j[ZEUS_MAX_GPUS];
    zeus_status gpu_status[ZEUS_MAX_GPUS];
    zeus_cpu_energy cpu[ZEUS_MAX_CPUS];
    zeus_status cpu_status[ZEUS_MAX_CPUS];
};

struct window {
    char *key;
    struct snapshot start;
};

struct zeus_monitor {
    unsigned magic;
    zeus_devices *devs;

    unsigned gpu_count;
    unsigned gpu_index[ZEUS_MAX_GPUS];
    int gpu_has_counter[ZEUS_MAX_GPUS];
    unsigned cpu_count;
    unsigned cpu_index[ZEUS_MAX_CPUS];
    int cpu_has_dram[ZEUS_MAX_CPUS];

    int approx_instant_energy;
    void (*sync)(void *);
    void *sync_user;
    void (*warn)(const char *, void *);
    void *warn_user;
    struct zeus__csv_log *log;

    pthread_mutex_t lock; /* guards the window table below */
    struct window **windows;
    unsigned window_count, window_cap;
};

/* ---- Options ---------------------------------------------------------------------------- */

void zeus_monitor_options_init(zeus_monitor_options *opts)
{
    if (opts == NULL)
        return;
    memset(opts, 0, sizeof *opts);
    opts->size = sizeof *opts;
}

/* Copy the fields `opts->size` covers over the defaults, so older callers keep working. */
static zeus_status read_options(const zeus_monitor_options *opts, zeus_monitor_options *o)
{
    zeus_monitor_options_init(o);
    if (opts == NULL)
        return ZEUS_OK;
    if (opts->size < offsetof(zeus_monitor_options, approx_instant_energy) ||
        opts->size > sizeof *o)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                          "zeus_monitor_options.size is %u; call zeus_monitor_options_init()",
                          opts->size);
    memcpy(o, opts, opts->size);
    o->size = sizeof *o;
    return ZEUS_OK;
}

/* ---- Warnings --------------------------------------------------------------------------- */

static void warn(const zeus_monitor *mon, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void warn(const zeus_monitor *mon, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    if (mon->warn == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    mon->warn(msg, mon->warn_user);
}

/* ---- Device selection ------------------------------------------------------------------- */

/*
 * Resolve an index list against `available` devices into out[]. NULL means all; a repeated
 * or unknown index is an error that names it.
 */
static zeus_status select_indices(const char *what, const unsigned *want, size_t want_count,
                                  unsigned available, unsigned max, unsigned *out,
                                  unsigned *count)
{
    if (want == NULL) {
        *count = available < max ? available : max;
        for (unsigned i = 0; i < *count; i++)
            out[i] = i;
        return ZEUS_OK;
    }
    if (want_count > max)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "%zu %s indices given; at most %u", want_count,
                          what, max);
    for (size_t i = 0; i < want_count; i++) {
        if (want[i] >= available) {
            if (available == 0)
                return zeus__fail(ZEUS_ERR_NOT_FOUND, "%s %u not found: no %ss are available",
                                  what, want[i], what);
            return zeus__fail(ZEUS_ERR_NOT_FOUND, "%s %u not found: %u %s%s visible (0-%u)", what,
                              want[i], available, what, available == 1 ? " is" : "s are",
                              available - 1);
        }
        for (size_t j = 0; j < i; j++)
            if (want[j] == want[i])
                return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "%s index %u is given twice", what,
                                  want[i]);
        out[i] = want[i];
    }
    *count = (unsigned)want_count;
    return ZEUS_OK;
}

static zeus_status select_gpus(zeus_monitor *mon, const zeus_monitor_options *o)
{
    zeus_status s = select_indices("GPU", o->gpu_indices, o->gpu_index_count,
                                   zeus_devices_gpu_count(mon->devs), ZEUS_MAX_GPUS,
                                   mon->gpu_index, &mon->gpu_count);
    if (s != ZEUS_OK)
        return s;
    for (unsigned i = 0; i < mon->gpu_count; i++) {
        zeus_gpu_info info;
        s = zeus_gpu_get_info(mon->devs, mon->gpu_index[i], &info);
        if (s != ZEUS_OK)
            return s;
        mon->gpu_has_counter[i] = (info.supports & ZEUS_GPU_ENERGY_COUNTER) != 0;
        if (!mon->gpu_has_counter[i])
            warn(mon, "GPU %u (%s) has no energy counter (before Volta): its energy is reported "
                      "as NAN unless approx_instant_energy is on",
                 info.index, info.name);
    }
    return ZEUS_OK;
}

/*
 * Zeus's rule: CPUs that cannot be read are left out silently when the user asked for all of
 * them, and are an error when the user named them. We warn instead of staying silent.
 */
static zeus_status select_cpus(zeus_monitor *mon, const zeus_monitor_options *o)
{
    char why[256];
    zeus_status open_status = zeus__devices_cpu_open_status(mon->devs, why, sizeof why);
    zeus_status s;

    if (open_status != ZEUS_OK && zeus_devices_cpu_count(mon->devs) == 0) {
        if (o->cpu_indices != NULL && o->cpu_index_count > 0)
            return zeus__fail(open_status, "CPU energy requested but unavailable: %s", why);
        if (o->cpu_indices == NULL)
            warn(mon, "CPU energy is not measured: %s", why);
    }
    s = select_indices("CPU", o->cpu_indices, o->cpu_index_count,
                       zeus_devices_cpu_count(mon->devs), ZEUS_MAX_CPUS, mon->cpu_index,
                       &mon->cpu_count);
    if (s != ZEUS_OK)
        return s;
    for (unsigned i = 0; i < mon->cpu_count; i++) {
        zeus_cpu_info info;
        s = zeus_cpu_get_info(mon->devs, mon->cpu_index[i], &info);
        if (s != ZEUS_OK)
            return s;
        mon->cpu_has_dram[i] = info.has_dram;
    }
    return ZEUS_OK;
}

/* ---- Create and destroy ----------------------------------------------------------------- */

/* The header of the log needs the device lists; a blank measurement carries them. */
static void fill_identity(const zeus_monitor *mon, zeus_measurement *m)
{
    memset(m, 0, sizeof *m);
    m->gpu_count = mon->gpu_count;
    memcpy(m->gpu_index, mon->gpu_index, sizeof m->gpu_index);
    m->cpu_count = mon->cpu_count;
    memcpy(m->cpu_index, mon->cpu_index, sizeof m->cpu_index);
}

static zeus_status open_log(zeus_monitor *mon, const zeus_monitor_options *o)
{
    zeus_measurement blank;

    if (o->log_file == NULL)
        return ZEUS_OK;
    fill_identity(mon, &blank);
    return zeus__csv_log_open(o->log_file, &blank, o->log_cpu_columns, &mon->log);
}

zeus_status zeus_monitor_create(const zeus_monitor_options *opts, zeus_monitor **out)
{
    zeus_monitor_options o;
    zeus_monitor *mon;
    zeus_status s;

    if (out == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "zeus_monitor_create: out is NULL");
    s = read_options(opts, &o);
    if (s != ZEUS_OK)
        return s;
    mon = calloc(1, sizeof *mon);
    if (mon == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "zeus_monitor_create: out of memory");
    mon->magic = MONITOR_MAGIC;
    mon->approx_instant_energy = o.approx_instant_energy != 0;
    mon->sync = o.sync;
    mon->sync_user = o.sync_user;
    mon->warn = o.warn;
    mon->warn_user = o.warn_user;
    pthread_mutex_init(&mon->lock, NULL);

    s = zeus_devices_create(&mon->devs);
    if (s == ZEUS_OK)
        s = select_gpus(mon, &o);
    if (s == ZEUS_OK)
        s = select_cpus(mon, &o);
    if (s == ZEUS_OK)
        s = open_log(mon, &o);
    if (s != ZEUS_OK) {
        zeus_monitor_destroy(mon);
        return s;
    }
    *out = mon;
    return ZEUS_OK;
}

static void free_window(struct window *w)
{
    if (w == NULL)
        return;
    free(w->key);
    free(w);
}

void zeus_monitor_destroy(zeus_monitor *mon)
{
    if (mon == NULL || mon->magic != MONITOR_MAGIC)
        return;
    mon->magic = 0;
    for (unsigned i = 0; i < mon->window_count; i++)
        free_window(mon->windows[i]);
    free(mon->windows);
    zeus__csv_log_close(mon->log);
    zeus_devices_destroy(mon->devs);
    pthread_mutex_destroy(&mon->lock);
    free(mon);
}

static int monitor_ok(const zeus_monitor *mon)
{
    return mon != NULL && mon->magic == MONITOR_MAGIC;
}

zeus_devices *zeus_monitor_devices(zeus_monitor *mon)
{
    return monitor_ok(mon) ? mon->devs : NULL;
}

/* ---- Reading the counters --------------------------------------------------------------- */

/* Read every monitored device. Returns the first failure's status (ZEUS_OK if none). */
static zeus_status take_snapshot(zeus_monitor *mon, struct snapshot *snap)
{
    zeus_status first = ZEUS_OK;
    char detail[1024] = "";

    for (unsigned i = 0; i < mon->gpu_count; i++) {
        snap->gpu_j[i] = NAN;
        snap->gpu_status[i] = ZEUS_OK;
        if (!mon->gpu_has_counter[i])
            continue;
        snap->gpu_status[i] = zeus_gpu_get_energy(mon->devs, mon->gpu_index[i], &snap->gpu_j[i]);
        if (snap->gpu_status[i] != ZEUS_OK && first == ZEUS_OK) {
            first = snap->gpu_status[i];
            snprintf(detail, sizeof detail, "%s", zeus_last_error());
        }
    }
    for (unsigned i = 0; i < mon->cpu_count; i++) {
        snap->cpu_status[i] = zeus_cpu_get_energy(mon->devs, mon->cpu_index[i], &snap->cpu[i]);
        if (snap->cpu_status[i] != ZEUS_OK && first == ZEUS_OK) {
            first = snap->cpu_status[i];
            snprintf(detail, sizeof detail, "%s", zeus_last_error());
        }
    }
    /* One timestamp for every device, taken after the reads as Zeus does at begin. */
    snap->t_ns = zeus__now_ns();
    snap->unix_s = zeus__unix_now_s();
    if (first != ZEUS_OK)
        zeus__fail(first, "%s", detail);
    return first;
}

static void maybe_sync(zeus_monitor *mon, unsigned flags)
{
    if ((flags & ZEUS_WINDOW_SYNC) && mon->sync != NULL && mon->gpu_count > 0)
        mon->sync(mon->sync_user);
}

/* ---- The window table (callers hold mon->lock) ------------------------------------------- */

static int find_window(const zeus_monitor *mon, const char *key)
{
    for (unsigned i = 0; i < mon->window_count; i++)
        if (strcmp(mon->windows[i]->key, key) == 0)
            return (int)i;
    return -1;
}

/* Remove and return window i; order is not kept (lookups are linear anyway). */
static struct window *take_window(zeus_monitor *mon, int i)
{
    struct window *w = mon->windows[i];
    mon->windows[i] = mon->windows[--mon->window_count];
    return w;
}

static zeus_status add_window(zeus_monitor *mon, struct window *w)
{
    if (mon->window_count == mon->window_cap) {
        unsigned cap = mon->window_cap ? mon->window_cap * 2 : 8;
        struct window **grown = realloc(mon->windows, cap * sizeof *grown);
        if (grown == NULL)
            return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory opening window '%s'", w->key);
        mon->windows = grown;
        mon->window_cap = cap;
    }
    mon->windows[mon->window_count++] = w;
    return ZEUS_OK;
}

/* ---- begin_window ----------------------------------------------------------------------- */

static zeus_status check_call(const zeus_monitor *mon, const char *key, const char *fn)
{
    if (!monitor_ok(mon))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "%s: invalid or destroyed monitor", fn);
    if (key == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "%s: window name is NULL", fn);
    return ZEUS_OK;
}

static zeus_status already_exists(const char *key)
{
    return zeus__fail(ZEUS_ERR_ALREADY_EXISTS, "Measurement window '%s' already exists", key);
}

/* Insert `w`, replacing an open window of the same name when restarting (note 2). */
static zeus_status insert_window(zeus_monitor *mon, struct window *w, int restart)
{
    struct window *old = NULL;
    zeus_status s;
    int i;

    pthread_mutex_lock(&mon->lock);
    i = find_window(mon, w->key);
    if (i >= 0 && !restart) {
        pthread_mutex_unlock(&mon->lock);
        return already_exists(w->key);
    }
    if (i >= 0)
        old = take_window(mon, i);
    s = add_window(mon, w);
    pthread_mutex_unlock(&mon->lock);
    free_window(old);
    return s;
}

zeus_status zeus_monitor_begin_window(zeus_monitor *mon, const char *key, unsigned flags)
{
    struct window *w;
    zeus_status s = check_call(mon, key, "zeus_monitor_begin_window");
    int exists;

    if (s != ZEUS_OK)
        return s;
    pthread_mutex_lock(&mon->lock);
    exists = find_window(mon, key) >= 0;
    pthread_mutex_unlock(&mon->lock);
    if (exists && !(flags & ZEUS_WINDOW_RESTART))
        return already_exists(key);

    w = calloc(1, sizeof *w);
    if (w == NULL || (w->key = strdup(key)) == NULL) {
        free(w);
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory opening window '%s'", key);
    }
    maybe_sync(mon, flags);
    s = take_snapshot(mon, &w->start);
    if (s != ZEUS_OK) {
        free_window(w);
        return zeus__fail_prefix(s, "window '%s' not opened", key);
    }
    s = insert_window(mon, w, (flags & ZEUS_WINDOW_RESTART) != 0);
    if (s != ZEUS_OK)
        free_window(w);
    return s;
}

/* ---- end_window ------------------------------------------------------------------------- */

/* Instant power of every GPU, and how long reading it took (Zeus subtracts that time). */
static double read_instant_power(zeus_monitor *mon, double *power_w)
{
    int64_t t0 = zeus__now_ns();

    for (unsigned i = 0; i < mon->gpu_count; i++)
        if (zeus_gpu_get_power(mon->devs, mon->gpu_index[i], ZEUS_POWER_DEVICE_INSTANT,
                               &power_w[i]) != ZEUS_OK)
            power_w[i] = NAN;
    return (double)(zeus__now_ns() - t0) * 1e-9;
}

static void fill_cancelled(const zeus_monitor *mon, zeus_measurement *m)
{
    fill_identity(mon, m);
    m->flags = ZEUS_MEASUREMENT_CANCELLED;
    for (unsigned i = 0; i < mon->cpu_count; i++)
        m->dram_energy_j[i] = mon->cpu_has_dram[i] ? 0.0 : NAN;
}

static void fill_gpu(const zeus_monitor *mon, const struct snapshot *a, const struct snapshot *b,
                     unsigned i, zeus_measurement *m)
{
    if (!mon->gpu_has_counter[i]) {
        m->gpu_energy_j[i] = NAN;
        m->gpu_flags[i] = ZEUS_ENERGY_UNSUPPORTED;
    } else if (b->gpu_status[i] != ZEUS_OK) {
        m->gpu_energy_j[i] = NAN;
        m->gpu_flags[i] = ZEUS_ENERGY_FAILED;
    } else if (b->gpu_j[i] < a->gpu_j[i]) {
        /* NVML's counter counts from driver load; going back means the driver reloaded. */
        m->gpu_energy_j[i] = NAN;
        m->gpu_flags[i] = ZEUS_ENERGY_RESET;
    } else {
        m->gpu_energy_j[i] = b->gpu_j[i] - a->gpu_j[i];
        m->gpu_flags[i] = ZEUS_ENERGY_VALID | ZEUS_ENERGY_COUNTER;
    }
}

static void fill_cpu(const zeus_monitor *mon, const struct snapshot *a, const struct snapshot *b,
                     unsigned i, zeus_measurement *m)
{
    const zeus_cpu_energy *ea = &a->cpu[i], *eb = &b->cpu[i];

    m->cpu_energy_j[i] = m->dram_energy_j[i] = NAN;
    if (b->cpu_status[i] != ZEUS_OK) {
        m->cpu_flags[i] = m->dram_flags[i] = ZEUS_ENERGY_FAILED;
        return;
    }
    m->cpu_energy_j[i] = eb->cpu_j - ea->cpu_j;
    m->cpu_wraps[i] = eb->cpu_wraps - ea->cpu_wraps;
    m->cpu_flags[i] = ZEUS_ENERGY_VALID | ZEUS_ENERGY_COUNTER |
                      (m->cpu_wraps[i] ? ZEUS_ENERGY_WRAPPED : 0);
    if (!mon->cpu_has_dram[i]) {
        m->dram_flags[i] = ZEUS_ENERGY_UNSUPPORTED;
        return;
    }
    m->dram_energy_j[i] = eb->dram_j - ea->dram_j;
    m->dram_wraps[i] = eb->dram_wraps - ea->dram_wraps;
    m->dram_flags[i] = ZEUS_ENERGY_VALID | ZEUS_ENERGY_COUNTER |
                       (m->dram_wraps[i] ? ZEUS_ENERGY_WRAPPED : 0);
}

/*
 * Zeus's zero-energy rule (zeus-core.md 1.3, steps 10-11): a GPU that read exactly 0 J either
 * gets instant power x (window time - time spent reading power), or stays 0 with a warning.
 * A GPU without a counter is estimated the same way when approximation is on.
 */
static void apply_zero_rule(zeus_monitor *mon, const double *power_w, double power_read_s,
                            const char *key, zeus_measurement *m)
{
    int zeros = 0;

    for (unsigned i = 0; i < m->gpu_count; i++) {
        int zero = (m->gpu_flags[i] & ZEUS_ENERGY_VALID) && m->gpu_energy_j[i] == 0.0;
        int no_counter = (m->gpu_flags[i] & ZEUS_ENERGY_UNSUPPORTED) != 0;

        if (mon->approx_instant_energy && (zero || no_counter) && isfinite(power_w[i])) {
            double t = m->time_s - power_read_s;
            m->gpu_energy_j[i] = power_w[i] * (t > 0 ? t : 0);
            m->gpu_flags[i] = ZEUS_ENERGY_VALID | ZEUS_ENERGY_ESTIMATED;
        } else if (zero) {
            m->gpu_flags[i] |= ZEUS_ENERGY_ZERO;
            zeros++;
        }
    }
    if (zeros > 0)
        warn(mon,
             "The energy consumption of one or more GPUs was measured as zero in window '%s'. "
             "This means that the time duration of the measurement window was shorter than the "
             "GPU's energy counter update period. Consider turning on the "
             "`approx_instant_energy` option, which approximates the energy consumption of a "
             "short time window as instant power draw x window duration.",
             key);
}

/* Pop window `key` (note 3); NULL with ZEUS_ERR_NOT_FOUND set when it is not open. */
static struct window *pop_window(zeus_monitor *mon, const char *key)
{
    struct window *w = NULL;
    int i;

    pthread_mutex_lock(&mon->lock);
    i = find_window(mon, key);
    if (i >= 0)
        w = take_window(mon, i);
    pthread_mutex_unlock(&mon->lock);
    if (w == NULL)
        zeus__fail(ZEUS_ERR_NOT_FOUND, "Measurement window '%s' does not exist", key);
    return w;
}

static zeus_status finish_window(zeus_monitor *mon, const struct window *w, unsigned flags,
                                 zeus_measurement *m)
{
    double power_w[ZEUS_MAX_GPUS], power_read_s = 0;
    struct snapshot *end;
    zeus_status s, log_s = ZEUS_OK;

    /* Instant power is read before syncing, on purpose, as Zeus does (its step 3). */
    if (mon->approx_instant_energy)
        power_read_s = read_instant_power(mon, power_w);
    maybe_sync(mon, flags);
    if (flags & ZEUS_WINDOW_CANCEL) {
        fill_cancelled(mon, m);
        m->start_unix_s = w->start.unix_s;
        return ZEUS_OK;
    }
    end = malloc(sizeof *end);
    if (end == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory closing window '%s'", w->key);
    s = take_snapshot(mon, end);

    fill_identity(mon, m);
    m->time_s = (double)(end->t_ns - w->start.t_ns) * 1e-9;
    m->start_unix_s = w->start.unix_s;
    for (unsigned i = 0; i < mon->gpu_count; i++)
        fill_gpu(mon, &w->start, end, i, m);
    for (unsigned i = 0; i < mon->cpu_count; i++)
        fill_cpu(mon, &w->start, end, i, m);
    free(end);
    apply_zero_rule(mon, power_w, power_read_s, w->key, m);

    if (mon->log != NULL) {
        char detail[1024];
        snprintf(detail, sizeof detail, "%s", zeus_last_error());
        log_s = zeus__csv_log_write(mon->log, w->key, m);
        if (s != ZEUS_OK) /* the device's failure is the one to report */
            zeus__fail(s, "%s", detail);
    }
    if (s != ZEUS_OK)
        return zeus__fail_prefix(s, "window '%s'", w->key);
    return log_s;
}

zeus_status zeus_monitor_end_window(zeus_monitor *mon, const char *key, unsigned flags,
                                    zeus_measurement *out)
{
    zeus_measurement local;
    struct window *w;
    zeus_status s = check_call(mon, key, "zeus_monitor_end_window");

    if (s != ZEUS_OK)
        return s;
    w = pop_window(mon, key);
    if (w == NULL)
        return ZEUS_ERR_NOT_FOUND;
    s = finish_window(mon, w, flags, out != NULL ? out : &local);
    free_window(w);
    return s;
}

/* ---- Other calls ------------------------------------------------------------------------ */

zeus_status zeus_monitor_reset_windows(zeus_monitor *mon)
{
    struct window **windows;
    unsigned n;

    if (!monitor_ok(mon))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "invalid or destroyed monitor");
    pthread_mutex_lock(&mon->lock);
    windows = mon->windows;
    n = mon->window_count;
    mon->windows = NULL;
    mon->window_count = mon->window_cap = 0;
    pthread_mutex_unlock(&mon->lock);
    for (unsigned i = 0; i < n; i++)
        free_window(windows[i]);
    free(windows);
    return ZEUS_OK;
}

unsigned zeus_monitor_open_window_count(zeus_monitor *mon)
{
    unsigned n;

    if (!monitor_ok(mon))
        return 0;
    pthread_mutex_lock(&mon->lock);
    n = mon->window_count;
    pthread_mutex_unlock(&mon->lock);
    return n;
}

double zeus_measurement_total_energy(const zeus_measurement *m)
{
    double total = 0;

    if (m == NULL)
        return 0;
    for (unsigned i = 0; i < m->gpu_count && i < ZEUS_MAX_GPUS; i++)
        total += m->gpu_energy_j[i];
    return total;
}
