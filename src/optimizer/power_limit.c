/*
 * power_limit.c - The power limit optimizer's state machine (Zeus's GlobalPowerLimitOptimizer).
 *
 *            wait_steps+1 steps            warmup_steps steps
 *   READY --------------------> WARMUP --------------------> PROFILING
 *     ^    (set the candidate)            (open the window)      |
 *     |                                                          | profile_steps steps:
 *     | epoch ends in WARMUP or PROFILING:                       | close it, record it
 *     | max limit, retry the same candidate                      v
 *     +------------------------------------------------ next candidate's WARMUP, or
 *                                                        DONE at the selector's optimum
 *
 * Limits are in mW inside, as in Zeus; a measurement records limit_mw / 1000 W and the
 * optimum goes back as W * 1000, so a limit of 212.5 W is measured as 212 W and the optimum
 * set as 212 W, both as Zeus does.
 *
 * Each optimizer owns a zeus_devices handle of its own (not the monitor's), so that the
 * maximum limit can still be restored at process exit after the monitor is gone.
 */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "optimizer/optimizer_internal.h"
#include "util/error.h"
#include "util/options.h"
#include "util/warn.h"
#include "zeus/power_limit.h"

#define PLO_MAGIC 0x504c4f31u /* "PLO1" */
#define WINDOW_PREFIX "__GlobalPowerLimitOptimizer_"

struct zeus_plo {
    uint32_t magic;
    zeus_plo_options opts; /* copied; profile_path and gpu_indices point into this object */
    char *profile_path;
    zeus_monitor *mon;
    zeus_devices *devs;

    unsigned gpu_count;
    unsigned gpu[ZEUS_MAX_GPUS];

    unsigned *limits_mw; /* candidates, highest first */
    size_t limit_count;
    unsigned set_mw;     /* the limit set last; 0 before any */

    zeus_plo_phase phase;
    unsigned state_mw; /* next (READY), current (WARMUP, PROFILING), optimal (DONE) */
    unsigned steps;

    zeus_plo_selector sel;
    zeus_plo_measurement *meas; /* one per candidate at most */
    size_t meas_count;

    struct zeus_plo *next_live; /* the exit hook's list */
};

/* ---- Logging ---------------------------------------------------------------------------- */

static void say(const zeus_plo *plo, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(const zeus_plo *plo, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    zeus__vwarnf(plo->opts.log, plo->opts.log_user, fmt, ap);
    va_end(ap);
}

/* ---- Setting limits --------------------------------------------------------------------- */

/* Zeus's _set_power_limit: every GPU, and nothing when it is the limit set last. */
static zeus_status set_limit_quietly(zeus_plo *plo, unsigned mw)
{
    if (plo->set_mw == mw)
        return ZEUS_OK;
    for (unsigned i = 0; i < plo->gpu_count; i++) {
        zeus_status s = zeus_gpu_set_power_limit(plo->devs, plo->gpu[i], mw / 1000.0);

        if (s == ZEUS_ERR_NO_PERMISSION)
            return zeus__fail_prefix(s, "cannot set GPU %u's power limit to %u W (run as "
                                     "root, grant CAP_SYS_ADMIN, or run zeusd and set "
                                     "ZEUSD_SOCK_PATH)",
                                     plo->gpu[i], mw / 1000);
        if (s != ZEUS_OK)
            return zeus__fail_prefix(s, "cannot set GPU %u's power limit to %u W", plo->gpu[i],
                                     mw / 1000);
    }
    plo->set_mw = mw;
    return ZEUS_OK;
}

static zeus_status set_limit(zeus_plo *plo, unsigned mw)
{
    say(plo, "Setting power limit to %u W.", mw / 1000);
    return set_limit_quietly(plo, mw);
}

static unsigned max_limit(const zeus_plo *plo)
{
    return plo->limits_mw[0];
}

/* ---- The exit hook ---------------------------------------------------------------------- */

/* Optimizers not destroyed yet: at exit each goes back to its maximum, as Zeus's atexit. */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t live_once = PTHREAD_ONCE_INIT;
static zeus_plo *live_head;

static void restore_at_exit(void)
{
    pthread_mutex_lock(&live_lock);
    /* Quietly: the log callback may belong to an interpreter that is already gone. */
    for (zeus_plo *p = live_head; p != NULL; p = p->next_live)
        set_limit_quietly(p, max_limit(p));
    pthread_mutex_unlock(&live_lock);
}

static void install_exit_hook(void)
{
    atexit(restore_at_exit);
}

static void live_add(zeus_plo *plo)
{
    pthread_once(&live_once, install_exit_hook);
    pthread_mutex_lock(&live_lock);
    plo->next_live = live_head;
    live_head = plo;
    pthread_mutex_unlock(&live_lock);
}

static void live_remove(zeus_plo *plo)
{
    pthread_mutex_lock(&live_lock);
    for (zeus_plo **p = &live_head; *p != NULL; p = &(*p)->next_live)
        if (*p == plo) {
            *p = plo->next_live;
            break;
        }
    pthread_mutex_unlock(&live_lock);
}

/* ---- Windows ---------------------------------------------------------------------------- */

static void window_key(unsigned mw, char *key, size_t len)
{
    snprintf(key, len, WINDOW_PREFIX "%u", mw / 1000);
}

static zeus_status window_begin(zeus_plo *plo, unsigned mw)
{
    char key[64];

    window_key(mw, key, sizeof key);
    if (plo->opts.window_ops != NULL)
        return plo->opts.window_ops->begin(plo->opts.window_ops->user, key);
    return zeus_monitor_begin_window(plo->mon, key, ZEUS_WINDOW_SYNC);
}

static void window_cancel(zeus_plo *plo, unsigned mw)
{
    char key[64];

    window_key(mw, key, sizeof key);
    if (plo->opts.window_ops != NULL)
        plo->opts.window_ops->end(plo->opts.window_ops->user, key, 1, NULL, 0, NULL);
    else
        zeus_monitor_end_window(plo->mon, key, ZEUS_WINDOW_CANCEL, NULL);
}

/* Close the window of `mw` and fill this process's energy (all its GPUs) and time. */
static zeus_status window_end(zeus_plo *plo, unsigned mw, double *energy_j, double *time_s)
{
    double gpu_j[ZEUS_MAX_GPUS];
    zeus_measurement m;
    zeus_status s;
    char key[64];

    window_key(mw, key, sizeof key);
    if (plo->opts.window_ops != NULL) {
        s = plo->opts.window_ops->end(plo->opts.window_ops->user, key, 0, gpu_j, plo->gpu_count,
                                      time_s);
    } else {
        /* The final values: the selection must not rest on an extrapolation. */
        s = zeus_monitor_end_window(plo->mon, key, ZEUS_WINDOW_SYNC | ZEUS_WINDOW_WAIT_FINAL,
                                    &m);
        for (unsigned i = 0; i < plo->gpu_count && s == ZEUS_OK; i++)
            gpu_j[i] = m.gpu_energy_j[i];
        *time_s = m.time_s;
    }
    if (s != ZEUS_OK)
        return s;
    *energy_j = 0;
    for (unsigned i = 0; i < plo->gpu_count; i++)
        *energy_j += gpu_j[i];
    return ZEUS_OK;
}

/* ---- Transitions ------------------------------------------------------------------------ */

static void enter_ready(zeus_plo *plo, unsigned next_mw, unsigned steps)
{
    plo->phase = ZEUS_PLO_READY;
    plo->state_mw = next_mw;
    plo->steps = steps;
}

/* A measurement that cannot count: drop it, go back to the maximum, retry this candidate. */
static zeus_status retry(zeus_plo *plo, zeus_status why)
{
    unsigned mw = plo->state_mw;
    char detail[512];

    snprintf(detail, sizeof detail, "%s", zeus_last_error());
    say(plo, "Measurement for power limit %u W failed (%s); it starts over at the next step.",
        mw / 1000, detail);
    enter_ready(plo, mw, 1);
    set_limit(plo, max_limit(plo));
    return zeus__fail(why, "power limit %u W: %s (the candidate starts over at the next step)",
                      mw / 1000, detail);
}

static zeus_status enter_profiling(zeus_plo *plo, unsigned mw)
{
    zeus_status s;

    say(plo, "Starting actual profiling for power limit %u W.", mw / 1000);
    plo->phase = ZEUS_PLO_PROFILING;
    plo->state_mw = mw;
    plo->steps = plo->opts.profile_steps;
    if ((s = window_begin(plo, mw)) != ZEUS_OK)
        return retry(plo, s);
    return ZEUS_OK;
}

/* Zeus's Warmup(mw, warmup_steps); with no warmup, the measurement starts at once. */
static zeus_status enter_warmup(zeus_plo *plo, unsigned mw)
{
    if (plo->opts.warmup_steps == 0)
        return enter_profiling(plo, mw);
    plo->phase = ZEUS_PLO_WARMUP;
    plo->state_mw = mw;
    plo->steps = plo->opts.warmup_steps;
    return ZEUS_OK;
}

static zeus_status optimum(zeus_plo *plo, unsigned *mw)
{
    unsigned w;
    zeus_status s = zeus_plo_select(&plo->sel, plo->meas, plo->meas_count, &w, NULL);

    if (s != ZEUS_OK)
        return s;
    *mw = w * 1000;
    say(plo, "Optimal power limit is %u W.", w);
    return ZEUS_OK;
}

static zeus_status enter_done(zeus_plo *plo)
{
    unsigned mw;
    zeus_status s;

    if ((s = optimum(plo, &mw)) != ZEUS_OK) {
        /* No optimum (a custom selector failed): run uncapped, and say so. */
        plo->phase = ZEUS_PLO_DONE;
        plo->state_mw = max_limit(plo);
        plo->steps = 0;
        set_limit(plo, max_limit(plo));
        return zeus__fail_prefix(s, "no optimum chosen, staying at the maximum limit");
    }
    plo->phase = ZEUS_PLO_DONE;
    plo->state_mw = mw;
    plo->steps = 0;
    if ((s = set_limit(plo, mw)) != ZEUS_OK)
        return s;
    if (plo->profile_path == NULL)
        return ZEUS_OK;
    if ((s = zeus_plo_profile_save(plo->profile_path, plo->meas, plo->meas_count)) != ZEUS_OK)
        return s;
    say(plo, "JIT profiling results saved to '%s'.", plo->profile_path);
    return ZEUS_OK;
}

static size_t candidate_index(const zeus_plo *plo, unsigned mw)
{
    size_t i = 0;

    while (i < plo->limit_count && plo->limits_mw[i] != mw)
        i++;
    return i;
}

/* Across ranks: energy summed, time maxed (Zeus's all_reduce). */
static zeus_status reduce(zeus_plo *plo, double *energy_j, double *time_s)
{
    if (plo->opts.reduce == NULL)
        return ZEUS_OK;
    if (plo->opts.reduce(energy_j, 1, ZEUS_REDUCE_SUM, plo->opts.reduce_user) != 0 ||
        plo->opts.reduce(time_s, 1, ZEUS_REDUCE_MAX, plo->opts.reduce_user) != 0)
        return zeus__fail(ZEUS_ERR_CALLBACK_FAILED, "the reduce callback failed");
    return ZEUS_OK;
}

/* The last profiling step of the current candidate: record it, go on or finish. */
static zeus_status finish_candidate(zeus_plo *plo)
{
    unsigned mw = plo->state_mw;
    double energy_j = 0, time_s = 0;
    size_t i;
    zeus_status s, ended = window_end(plo, mw, &energy_j, &time_s);

    /* Every rank reduces, failed or not, so the collective calls stay matched; a failed
     * rank's NAN makes every rank retry the candidate together. */
    if (ended != ZEUS_OK)
        energy_j = time_s = NAN;
    if ((s = reduce(plo, &energy_j, &time_s)) != ZEUS_OK)
        return retry(plo, s);
    if (ended != ZEUS_OK)
        return retry(plo, ended);
    if (!(isfinite(energy_j) && energy_j > 0 && isfinite(time_s) && time_s > 0)) {
        zeus__fail(ZEUS_ERR_NO_DATA, "measured %g J in %g s, which is not a measurement "
                   "(raise profile_steps if the window is shorter than the energy counter's "
                   "update step)", energy_j, time_s);
        return retry(plo, ZEUS_ERR_NO_DATA);
    }
    say(plo, "Finished profiling for power limit %u W.", mw / 1000);
    plo->meas[plo->meas_count++] =
        (zeus_plo_measurement){.power_limit_w = mw / 1000, .energy_j = energy_j, .time_s = time_s};
    i = candidate_index(plo, mw);
    if (i + 1 >= plo->limit_count)
        return enter_done(plo);
    say(plo, "Starting warmup for power limit %u W.", plo->limits_mw[i + 1] / 1000);
    if ((s = set_limit(plo, plo->limits_mw[i + 1])) != ZEUS_OK)
        return s;
    return enter_warmup(plo, plo->limits_mw[i + 1]);
}

/* ---- Hooks ------------------------------------------------------------------------------ */

static int plo_ok(const zeus_plo *plo)
{
    return plo != NULL && plo->magic == PLO_MAGIC;
}

zeus_status zeus_plo_on_step_begin(zeus_plo *plo)
{
    zeus_status s;

    if (!plo_ok(plo))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "zeus_plo_on_step_begin: bad optimizer");
    switch (plo->phase) {
    case ZEUS_PLO_READY:
        if (plo->steps > 1 && --plo->steps > 0)
            return ZEUS_OK;
        say(plo, "Starting warmup for power limit %u W.", plo->state_mw / 1000);
        if ((s = set_limit(plo, plo->state_mw)) != ZEUS_OK) {
            plo->steps = 1; /* try again at the next step */
            return s;
        }
        return enter_warmup(plo, plo->state_mw);
    case ZEUS_PLO_WARMUP:
        if (plo->steps > 1 && --plo->steps > 0)
            return ZEUS_OK;
        return enter_profiling(plo, plo->state_mw);
    case ZEUS_PLO_PROFILING:
        if (plo->steps > 1 && --plo->steps > 0)
            return ZEUS_OK;
        return finish_candidate(plo);
    case ZEUS_PLO_DONE:
        return ZEUS_OK;
    }
    return ZEUS_OK;
}

zeus_status zeus_plo_on_epoch_end(zeus_plo *plo)
{
    if (!plo_ok(plo))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "zeus_plo_on_epoch_end: bad optimizer");
    if (plo->phase != ZEUS_PLO_WARMUP && plo->phase != ZEUS_PLO_PROFILING)
        return ZEUS_OK;
    say(plo, "%s phase for %u W interrupted by the end of a training epoch.",
        plo->phase == ZEUS_PLO_WARMUP ? "Warmup" : "Profiling", plo->state_mw / 1000);
    if (plo->phase == ZEUS_PLO_PROFILING)
        window_cancel(plo, plo->state_mw);
    enter_ready(plo, plo->state_mw, 1);
    return set_limit(plo, max_limit(plo));
}

static zeus_status no_op(zeus_plo *plo)
{
    return plo_ok(plo) ? ZEUS_OK : zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "bad optimizer");
}

zeus_status zeus_plo_on_train_begin(zeus_plo *plo) { return no_op(plo); }
zeus_status zeus_plo_on_train_end(zeus_plo *plo) { return no_op(plo); }
zeus_status zeus_plo_on_epoch_begin(zeus_plo *plo) { return no_op(plo); }
zeus_status zeus_plo_on_step_end(zeus_plo *plo) { return no_op(plo); }

zeus_status zeus_plo_on_evaluate(zeus_plo *plo, double metric)
{
    (void)metric;
    return no_op(plo);
}

/* ---- Creation --------------------------------------------------------------------------- */

void zeus_plo_options_init(zeus_plo_options *opts)
{
    if (opts == NULL)
        return;
    memset(opts, 0, sizeof *opts);
    opts->size = sizeof *opts;
    opts->wait_steps = 1;
    opts->warmup_steps = 10;
    opts->profile_steps = 40;
    opts->pl_step_w = 25;
}

static zeus_status copy_options(zeus_plo *plo, const zeus_plo_options *opts)
{
    zeus_plo_options o;

    zeus_plo_options_init(&o);
    if (opts != NULL && zeus__options_read(&o, sizeof o, opts,
                                           offsetof(zeus_plo_options, window_ops),
                                           "zeus_plo_options") != ZEUS_OK)
        return ZEUS_ERR_INVALID_ARGUMENT;
    if (o.profile_steps == 0)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "profile_steps must be positive.");
    if (o.pl_step_w == 0)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "pl_step must be positive.");
    if (o.window_ops != NULL && (o.window_ops->begin == NULL || o.window_ops->end == NULL))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "window_ops needs begin and end");
    if (o.profile_path != NULL && (plo->profile_path = strdup(o.profile_path)) == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
    o.profile_path = plo->profile_path;
    plo->opts = o;
    return ZEUS_OK;
}

static zeus_status find_gpus(zeus_plo *plo, zeus_monitor *mon, const zeus_plo_options *o)
{
    size_t n;

    if (mon != NULL) {
        n = zeus_monitor_gpu_indices(mon, plo->gpu, ZEUS_MAX_GPUS);
    } else if (o->window_ops != NULL && o->gpu_indices != NULL) {
        n = o->gpu_index_count;
        if (n > ZEUS_MAX_GPUS)
            return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "more than %d GPUs", ZEUS_MAX_GPUS);
        memcpy(plo->gpu, o->gpu_indices, n * sizeof plo->gpu[0]);
    } else {
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                          "zeus_plo_create: a monitor, or window_ops with gpu_indices, is needed");
    }
    if (n == 0)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "the monitor watches no GPU: nothing to "
                          "optimize");
    plo->gpu_count = (unsigned)n;
    plo->opts.gpu_indices = NULL; /* copied into plo->gpu */
    return ZEUS_OK;
}

/* Zeus's candidate list: range(max, min - 1, -step) in mW, so the minimum may be missing. */
static zeus_status candidates(zeus_plo *plo)
{
    long long lo_mw = 0, hi_mw = 0, step = (long long)plo->opts.pl_step_w * 1000;

    for (unsigned i = 0; i < plo->gpu_count; i++) {
        double lo, hi;
        zeus_status s = zeus_gpu_get_power_limit_constraints(plo->devs, plo->gpu[i], &lo, &hi);

        if (s != ZEUS_OK)
            return zeus__fail_prefix(s, "GPU %u's power limit range", plo->gpu[i]);
        if (i > 0 && (llround(lo * 1000) != lo_mw || llround(hi * 1000) != hi_mw))
            return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "Power limits ranges are not uniform "
                              "across GPUs (GPU %u: %g-%g W, GPU %u: %g-%g W).", plo->gpu[0],
                              lo_mw / 1000.0, hi_mw / 1000.0, plo->gpu[i], lo, hi);
        lo_mw = llround(lo * 1000);
        hi_mw = llround(hi * 1000);
    }
    if (hi_mw < lo_mw || hi_mw <= 0)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "GPU %u reports no power limit range",
                          plo->gpu[0]);
    plo->limit_count = (size_t)((hi_mw - lo_mw) / step) + 1;
    plo->limits_mw = calloc(plo->limit_count, sizeof *plo->limits_mw);
    plo->meas = calloc(plo->limit_count, sizeof *plo->meas);
    if (plo->limits_mw == NULL || plo->meas == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < plo->limit_count; i++)
        plo->limits_mw[i] = (unsigned)(hi_mw - (long long)i * step);
    return ZEUS_OK;
}

/* Zeus turns persistence mode on so that the limits stick between processes. */
static zeus_status persistence_on(zeus_plo *plo)
{
    for (unsigned i = 0; i < plo->gpu_count; i++) {
        zeus_status s = zeus_gpu_set_persistence_mode(plo->devs, plo->gpu[i], 1);

        if (s == ZEUS_ERR_NO_PERMISSION)
            return zeus__fail_prefix(s, "SYS_ADMIN capability is required to modify GPU power "
                                     "limits (run as root, grant CAP_SYS_ADMIN, or run zeusd "
                                     "and set ZEUSD_SOCK_PATH); GPU %u", plo->gpu[i]);
        if (s == ZEUS_ERR_NOT_SUPPORTED)
            say(plo, "GPU %u has no persistence mode; limits are set anyway.", plo->gpu[i]);
        else if (s != ZEUS_OK)
            return zeus__fail_prefix(s, "cannot turn on GPU %u's persistence mode", plo->gpu[i]);
    }
    return ZEUS_OK;
}

static zeus_status resolve_selector(zeus_plo *plo)
{
    plo->sel = plo->opts.selector;
    if (plo->sel.kind == ZEUS_PLO_DEFAULT)
        plo->sel = (zeus_plo_selector){
            .kind = ZEUS_PLO_ZEUS_COST, .eta = 0.5, .world_size = plo->gpu_count};
    /* Bad parameters fail now, not after the whole profile ran. */
    return zeus__plo_check_selector(&plo->sel);
}

/* A profile that exists: start Done at its optimum. One that does not: profile from the max. */
static zeus_status first_state(zeus_plo *plo)
{
    struct stat st;
    zeus_plo_measurement *loaded;
    size_t n;
    unsigned mw;
    zeus_status s;

    if (plo->profile_path == NULL || stat(plo->profile_path, &st) != 0) {
        enter_ready(plo, max_limit(plo), plo->opts.wait_steps + 1);
        say(plo, "Set power limit to the maximum before starting.");
        return set_limit(plo, max_limit(plo));
    }
    if ((s = zeus_plo_profile_load(plo->profile_path, &loaded, &n)) != ZEUS_OK)
        return s;
    free(plo->meas);
    plo->meas = loaded;
    plo->meas_count = n;
    say(plo, "Loaded previous profiling results from '%s'.", plo->profile_path);
    if ((s = optimum(plo, &mw)) != ZEUS_OK)
        return s;
    plo->phase = ZEUS_PLO_DONE;
    plo->state_mw = mw;
    plo->steps = 0;
    return set_limit(plo, mw);
}

static void free_plo(zeus_plo *plo)
{
    zeus_devices_destroy(plo->devs);
    free(plo->profile_path);
    free(plo->limits_mw);
    free(plo->meas);
    free(plo);
}

zeus_status zeus_plo_create(zeus_monitor *mon, const zeus_plo_options *opts, zeus_plo **out)
{
    zeus_plo *plo;
    zeus_status s;

    if (out == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "zeus_plo_create: NULL out");
    if ((plo = calloc(1, sizeof *plo)) == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory");
    if ((s = copy_options(plo, opts)) != ZEUS_OK || (s = find_gpus(plo, mon, &plo->opts)) != ZEUS_OK ||
        (s = resolve_selector(plo)) != ZEUS_OK || (s = zeus_devices_create(&plo->devs)) != ZEUS_OK ||
        (s = candidates(plo)) != ZEUS_OK || (s = persistence_on(plo)) != ZEUS_OK) {
        free_plo(plo);
        return s;
    }
    plo->mon = mon;
    plo->magic = PLO_MAGIC;
    if ((s = first_state(plo)) != ZEUS_OK) {
        free_plo(plo);
        return s;
    }
    live_add(plo);
    *out = plo;
    return ZEUS_OK;
}

void zeus_plo_destroy(zeus_plo *plo)
{
    if (!plo_ok(plo))
        return;
    live_remove(plo);
    if (plo->phase == ZEUS_PLO_PROFILING)
        window_cancel(plo, plo->state_mw);
    set_limit(plo, max_limit(plo));
    plo->magic = 0;
    free_plo(plo);
}

/* ---- Queries ---------------------------------------------------------------------------- */

zeus_status zeus_plo_get_state(const zeus_plo *plo, zeus_plo_state *out)
{
    if (!plo_ok(plo) || out == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "zeus_plo_get_state: bad argument");
    *out = (zeus_plo_state){.phase = plo->phase,
                            .power_limit_mw = plo->state_mw,
                            .steps_left = plo->steps,
                            .set_limit_mw = plo->set_mw,
                            .measured = plo->meas_count};
    return ZEUS_OK;
}

size_t zeus_plo_power_limits(const zeus_plo *plo, unsigned *buf_mw, size_t cap)
{
    if (!plo_ok(plo))
        return 0;
    for (size_t i = 0; buf_mw != NULL && i < cap && i < plo->limit_count; i++)
        buf_mw[i] = plo->limits_mw[i];
    return plo->limit_count;
}

size_t zeus_plo_measurements(const zeus_plo *plo, zeus_plo_measurement *buf, size_t cap)
{
    if (!plo_ok(plo))
        return 0;
    for (size_t i = 0; buf != NULL && i < cap && i < plo->meas_count; i++)
        buf[i] = plo->meas[i];
    return plo->meas_count;
}

zeus_status zeus_plo_get_selector(const zeus_plo *plo, zeus_plo_selector *out)
{
    if (!plo_ok(plo) || out == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "zeus_plo_get_selector: bad argument");
    *out = plo->sel;
    return ZEUS_OK;
}
