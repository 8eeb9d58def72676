/*
 * bench_accuracy.c - `zeus bench accuracy`: how close window energies come to the true
 * energy, for direct counter reads (Zeus's way) and for the sampled engine, side by side.
 *
 * Only simulated GPUs know their true energy, so this runs on the fake NVML alone: the bench
 * reconfigures it (one GPU per power trace, a 100 ms counter step, a 2.7 ms energy read as on
 * an H100) and asks it, through fake_nvml_true_energy_j(), for the exact integral of the
 * trace over each window's own CLOCK_MONOTONIC interval.
 *
 * DESIGN NOTES
 *
 * 1. One series per (trace, window length), each on its own thread with its own two
 *    monitors over its trace's GPU: one with direct reads, one sampled. Each trial opens a
 *    window in both, sleeps the window length, and closes both; the order alternates between
 *    trials, so neither mode always pays for the other's begin. All series run at once, so
 *    the default run lasts about as long as the 10 s windows (3 of them), not the sum.
 *    Concept: one thread, windows one after another. Reality: that takes minutes, and the
 *    monitor is documented as safe from several threads, which this also exercises.
 * 2. Each trial starts after a random pause of up to one counter step, so window edges fall
 *    at random offsets from the counter updates (and from the traces' edges, which are set
 *    off from the updates by phase_ms). The updates are off the 100 ms grid by up to 3 ms
 *    (period_jitter_ms), as an H100's are (97/100/103 ms p10/p50/p90). Even so, a window of
 *    whole steps (200 ms, 1 s, 10 s) nearly always sees as many updates as it has steps, so
 *    direct reads of steady power come out close at those lengths; a length between whole
 *    steps (--lengths 250) shows their quantization.
 * 3. The truth is taken over the window's interval as the library states it: start_mono_s
 *    and time_s. A monitor that leaves start_mono_s at 0 (direct reads may) gets the middle
 *    of the begin call instead, and the report gives that uncertainty.
 * 4. The sampled value compared is the final one (zeus_monitor_get_final), fetched half a
 *    second after the window ended so that no trial waits for it; the value end_window
 *    returned at once (provisional) is reported beside it. A get_final that times out or
 *    still says PROVISIONAL is counted apart ("not final"), never scored as final.
 * 5. Errors are |measured - true| / true per window; the table gives their mean and maximum.
 *    Every trace draws at least 100 W, so the truth is never near zero.
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static const char usage[] =
    "NAME\n"
    "    zeus bench accuracy - window energy against the true energy of simulated GPUs\n"
    "\n"
    "SYNOPSIS\n"
    "    zeus bench accuracy [--trials N] [--lengths MS,...] [--latency-us U]\n"
    "                        [--spin-us U] [--jitter-ms J] [--seed S] [--json]\n"
    "\n"
    "DESCRIPTION\n"
    "    Runs windows on simulated GPUs (the fake NVML, which ZEUS_NVML_LIBRARY must name)\n"
    "    whose power follows a known trace, with an energy counter that moves every\n"
    "    100 ms, each update off the grid by up to 3 ms as on an H100 (97/100/103 ms\n"
    "    p10/p50/p90), and set off from the traces' edges:\n"
    "        constant  300 W\n"
    "        square    1 Hz square wave, 700 W then 100 W\n"
    "        bursts    30 ms at 700 W every 370 ms, 100 W between\n"
    "    and compares each window's energy with the exact integral of the trace over the\n"
    "    window, for direct counter reads (Zeus's way) and for the sampled engine's final\n"
    "    value; the sampled value end_window returned at once is shown too. Windows start\n"
    "    at random offsets from the counter updates. Prints the mean and maximum absolute\n"
    "    relative error per trace and window length, the windows whose value was NAN\n"
    "    (failed) and those get_final left provisional (not final), which are left out of\n"
    "    the sampled columns. The default run takes about 30 s.\n"
    "\n"
    "    The bench sets ZEUS_FAKE_NVML itself and ignores CUDA_VISIBLE_DEVICES.\n"
    "\n"
    "OPTIONS\n"
    "    --trials N        windows per trace and length (default: 400 of 10 ms, 250 of\n"
    "                      50 ms, 100 of 200 ms, 25 of 1 s, 3 of 10 s).\n"
    "    --lengths LIST    window lengths in milliseconds (default 10,50,200,1000,10000).\n"
    "    --latency-us U    time one energy counter read takes (default 2700, an H100).\n"
    "    --spin-us U       CPU time one energy read also burns, busy-waiting as the real\n"
    "                      driver does (default 0; 3800 with --latency-us 0 models an\n"
    "                      H200 on driver 580, where the sampler reads the counter less).\n"
    "    --jitter-ms J     counter updates off the 100 ms grid by up to J ms (default 3;\n"
    "                      0: exactly every 100 ms, where windows of whole steps always\n"
    "                      see as many updates as they have steps).\n"
    "    --seed S          seed of the random start offsets (default 1).\n"
    "    --json            print one JSON object: {\"counter_step_ms\": 100,\n"
    "                      \"counter_jitter_ms\": 3, \"energy_latency_us\": 2700, ...,\n"
    "                      \"results\": [{\"trace\": \"square\", \"window_ms\": 50,\n"
    "                      \"trials\": 250, \"direct_mean_pct\": 130.5, \"direct_max_pct\": 959.3,\n"
    "                      \"sampled_mean_pct\": 19.6, \"sampled_max_pct\": 280.0,\n"
    "                      \"provisional_mean_pct\": ..., \"provisional_max_pct\": ...,\n"
    "                      \"failed\": 0, \"not_final\": 0}, ...], \"target_met\": true}\n"
    "    -h, --help        Print this text.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 on success; 1 when windows fail; 2 for a bad option, or when ZEUS_NVML_LIBRARY\n"
    "    does not name the fake NVML.\n";

#define CMD "bench accuracy"
#define MAX_LENGTHS 8
#define COUNTER_STEP_S 0.1
#define FINAL_DELAY_S 0.5   /* fetch a window's final value this long after its end */
#define FINAL_TIMEOUT_S 3.0 /* and give the sampler this long to have it */

/* The power traces, one simulated GPU each (GPU i runs traces[i]). */
static const struct trace {
    const char *name;
    const char *keys; /* fake NVML spec keys for this GPU */
    const char *about;
} traces[] = {
    {"constant", "trace=constant;power_w=300", "300 W"},
    {"square", "trace=square;power_w=700;low_w=100;trace_period_ms=1000",
     "1 Hz square wave, 700 W then 100 W"},
    {"bursts", "trace=bursts;power_w=100;burst_w=700;trace_period_ms=370;burst_ms=30",
     "30 ms at 700 W every 370 ms, 100 W between"},
};
#define TRACE_COUNT (sizeof traces / sizeof traces[0])

struct accuracy_args {
    unsigned trials; /* 0: by length */
    unsigned lengths_ms[MAX_LENGTHS];
    size_t length_count;
    unsigned latency_us;
    unsigned spin_us; /* CPU an energy read burns, as the real driver's does */
    unsigned jitter_ms;
    unsigned seed;
    int json;
};

/* One window, seen by both modes. */
struct trial {
    double d_start_s, d_time_s, d_energy_j; /* direct */
    double s_start_s, s_time_s, s_end_at_s; /* sampled; s_end_at_s: when end_window returned */
    double s_provisional_j, s_final_j;
    uint64_t s_window_id;
    int s_pending;   /* the final value is still to be fetched */
    int s_not_final; /* get_final gave no final value (timeout, or still provisional) */
    int ran;         /* the trial ran to its end */
};

/* Running |relative error| statistics of one mode. */
struct err_stats {
    unsigned n;
    double sum, max;
};

/* One series: a trace, a window length, a thread, two monitors. */
struct series {
    const struct cli_fake_nvml *fake;
    unsigned gpu;
    double length_s;
    unsigned trials;
    uint64_t rng;
    struct trial *t;
    zeus_monitor *direct, *sampled;
    pthread_t thread;
    int started;
    char error[512]; /* why the series stopped early; "" if it did not */
    /* results */
    struct err_stats direct_err, sampled_err, provisional_err;
    unsigned ran, failed, not_final;
    double start_uncertainty_s; /* largest guess of a start time (note 3) */
    double step_seen_s;         /* counter step the sampled monitor reported */
};

/* ---- Arguments -------------------------------------------------------------------------- */

static int parse_lengths(const char *text, struct accuracy_args *a)
{
    const char *p = text;

    a->length_count = 0;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        char entry[16];

        if (len == 0 || len >= sizeof entry)
            return cli_usage_error(CMD, "--lengths: '%s' is not a list such as 10,50,200", text);
        if (a->length_count == MAX_LENGTHS)
            return cli_usage_error(CMD, "--lengths: at most %d lengths", MAX_LENGTHS);
        memcpy(entry, p, len);
        entry[len] = '\0';
        if (cli_parse_unsigned(CMD, "--lengths", entry, 1, 600000,
                               &a->lengths_ms[a->length_count++]) != 0)
            return CLI_EXIT_USAGE;
        if (comma == NULL)
            return 0;
        p = comma + 1;
    }
}

/* Handle option argv[*i]: 0 when taken, -1 for help, else an exit code. */
static int parse_option(int argc, char **argv, int *i, struct accuracy_args *a)
{
    const char *v;
    int r;

    if (cli_is_help(argv[*i]))
        return -1;
    if (strcmp(argv[*i], "--json") == 0) {
        a->json = 1;
        return 0;
    }
    if ((r = cli_option_value(CMD, argc, argv, i, "--trials", &v)) != 0)
        return r < 0 || cli_parse_unsigned(CMD, "--trials", v, 1, 100000, &a->trials)
                   ? CLI_EXIT_USAGE : 0;
    if ((r = cli_option_value(CMD, argc, argv, i, "--lengths", &v)) != 0)
        return r < 0 ? CLI_EXIT_USAGE : parse_lengths(v, a);
    if ((r = cli_option_value(CMD, argc, argv, i, "--latency-us", &v)) != 0)
        return r < 0 || cli_parse_unsigned(CMD, "--latency-us", v, 0, 1000000, &a->latency_us)
                   ? CLI_EXIT_USAGE : 0;
    if ((r = cli_option_value(CMD, argc, argv, i, "--spin-us", &v)) != 0)
        return r < 0 || cli_parse_unsigned(CMD, "--spin-us", v, 0, 100000, &a->spin_us)
                   ? CLI_EXIT_USAGE : 0;
    if ((r = cli_option_value(CMD, argc, argv, i, "--jitter-ms", &v)) != 0)
        return r < 0 || cli_parse_unsigned(CMD, "--jitter-ms", v, 0, 49, &a->jitter_ms)
                   ? CLI_EXIT_USAGE : 0;
    if ((r = cli_option_value(CMD, argc, argv, i, "--seed", &v)) != 0)
        return r < 0 || cli_parse_unsigned(CMD, "--seed", v, 0, 0xffffffffu, &a->seed)
                   ? CLI_EXIT_USAGE : 0;
    return cli_usage_error(CMD, "unknown option '%s'", argv[*i]);
}

static int parse_args(int argc, char **argv, struct accuracy_args *a)
{
    static const unsigned default_lengths_ms[] = {10, 50, 200, 1000, 10000};

    memset(a, 0, sizeof *a);
    a->length_count = sizeof default_lengths_ms / sizeof default_lengths_ms[0];
    memcpy(a->lengths_ms, default_lengths_ms, sizeof default_lengths_ms);
    a->latency_us = 2700;
    a->jitter_ms = 3;
    a->seed = 1;
    for (int i = 1; i < argc; i++) {
        int rc = parse_option(argc, argv, &i, a);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Default trials for a window length: each series lasts about 30 s (note 1). */
static unsigned default_trials(unsigned length_ms)
{
    if (length_ms <= 10)
        return 400;
    if (length_ms <= 50)
        return 250;
    if (length_ms <= 200)
        return 100;
    if (length_ms <= 1000)
        return 25;
    return length_ms >= 15000 ? 2 : 3;
}

/* ---- Random offsets --------------------------------------------------------------------- */

/* xorshift64*: plenty for start offsets, and the same on every machine for a seed. */
static double random01(uint64_t *state)
{
    uint64_t x = *state;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

/* ---- One series of trials --------------------------------------------------------------- */

static zeus_status create_monitor(unsigned gpu, int direct, zeus_monitor **out)
{
    static const unsigned no_cpus[1];
    zeus_monitor_options o;

    zeus_monitor_options_init(&o);
    o.gpu_indices = &gpu;
    o.gpu_index_count = 1;
    o.cpu_indices = no_cpus;
    o.cpu_index_count = 0;
    o.direct_reads = direct;
    return zeus_monitor_create(&o, out);
}

/* Open window `key` in `mon`; *start_s is the middle of the call (note 3). */
static zeus_status begin(zeus_monitor *mon, const char *key, double *start_s, double *half_s)
{
    double t0 = cli_bench_now_s();
    zeus_status s = zeus_monitor_begin_window(mon, key, 0);
    double t1 = cli_bench_now_s();

    *start_s = (t0 + t1) / 2;
    *half_s = (t1 - t0) / 2;
    return s;
}

/* The window's start: the library's when it says, else our guess (widening the note). */
static double window_start(struct series *se, const zeus_measurement *m, double guess_s,
                           double half_s)
{
    if (m->start_mono_s > 0)
        return m->start_mono_s;
    if (half_s > se->start_uncertainty_s)
        se->start_uncertainty_s = half_s;
    return guess_s;
}

static int fail_series(struct series *se, const char *what)
{
    snprintf(se->error, sizeof se->error, "%s: %s", what, zeus_last_error());
    return -1;
}

/* One trial: both windows open for the series' length. */
static int run_trial(struct series *se, unsigned k)
{
    struct trial *t = &se->t[k];
    zeus_monitor *mon[2];
    double guess[2], half[2];
    zeus_measurement m[2];
    char key[32];
    int sampled_first = k % 2 == 0, si = sampled_first ? 0 : 1;
    double t_open;

    mon[si] = se->sampled;
    mon[1 - si] = se->direct;
    snprintf(key, sizeof key, "accuracy.%u", k);
    cli_bench_sleep_until(cli_bench_now_s() + random01(&se->rng) * COUNTER_STEP_S);
    t_open = cli_bench_now_s();
    for (int i = 0; i < 2; i++)
        if (begin(mon[i], key, &guess[i], &half[i]) != ZEUS_OK)
            return fail_series(se, "begin_window");
    cli_bench_sleep_until(t_open + se->length_s);
    /* A device failure still closes the window, with NAN for its value: scored as failed. */
    for (int i = 0; i < 2; i++) {
        (void)zeus_monitor_end_window(mon[i], key, 0, &m[i]);
        if (i == si)
            t->s_end_at_s = cli_bench_now_s();
    }
    t->ran = 1;
    t->d_start_s = window_start(se, &m[1 - si], guess[1 - si], half[1 - si]);
    t->d_time_s = m[1 - si].time_s;
    t->d_energy_j = m[1 - si].gpu_energy_j[0];
    t->s_start_s = window_start(se, &m[si], guess[si], half[si]);
    t->s_time_s = m[si].time_s;
    t->s_provisional_j = t->s_final_j = m[si].gpu_energy_j[0];
    t->s_window_id = m[si].window_id;
    t->s_pending = (m[si].gpu_flags[0] & ZEUS_ENERGY_PROVISIONAL) != 0;
    if (m[si].gpu_counter_step_s[0] > 0)
        se->step_seen_s = m[si].gpu_counter_step_s[0];
    return 0;
}

/* Fetch the final value of trial k (note 4). */
static void resolve(struct series *se, unsigned k)
{
    struct trial *t = &se->t[k];
    zeus_measurement m;

    if (!t->s_pending)
        return;
    t->s_pending = 0;
    if (zeus_monitor_get_final(se->sampled, t->s_window_id, FINAL_TIMEOUT_S, &m) == ZEUS_OK &&
        !(m.gpu_flags[0] & ZEUS_ENERGY_PROVISIONAL))
        t->s_final_j = m.gpu_energy_j[0];
    else
        t->s_not_final = 1;
}

static void *series_main(void *arg)
{
    struct series *se = arg;
    unsigned next = 0; /* the first trial whose final value may still be pending */

    if (create_monitor(se->gpu, 0, &se->sampled) != ZEUS_OK ||
        create_monitor(se->gpu, 1, &se->direct) != ZEUS_OK) {
        fail_series(se, "cannot create the monitors");
        return NULL;
    }
    for (unsigned k = 0; k < se->trials; k++) {
        if (run_trial(se, k) != 0)
            return NULL;
        while (next <= k && se->t[next].s_end_at_s + FINAL_DELAY_S < cli_bench_now_s())
            resolve(se, next++);
    }
    while (next < se->trials)
        resolve(se, next++);
    return NULL;
}

/* ---- Statistics ------------------------------------------------------------------------- */

static void add_error(struct err_stats *e, double measured_j, double true_j)
{
    double rel = fabs(measured_j - true_j) / true_j;

    e->n++;
    e->sum += rel;
    e->max = rel > e->max ? rel : e->max;
}

static double mean_pct(const struct err_stats *e)
{
    return e->n > 0 ? 100.0 * e->sum / e->n : NAN;
}

static double max_pct(const struct err_stats *e)
{
    return e->n > 0 ? 100.0 * e->max : NAN;
}

/*
 * Add one value to `e` when it is a number; returns 1 when it is not (a device failed, or
 * the window's interval is not one the fake can answer for).
 */
static int score_value(struct err_stats *e, double measured_j, double true_j)
{
    if (!isfinite(measured_j) || !(true_j > 0))
        return 1;
    add_error(e, measured_j, true_j);
    return 0;
}

/* Compare every trial that ran with the truth; each mode is scored on its own values. */
static void score(struct series *se)
{
    double (*truth)(unsigned, double, double) = se->fake->true_energy_j;

    for (unsigned k = 0; k < se->trials; k++) {
        const struct trial *t = &se->t[k];
        double d_true, s_true;
        int bad;

        if (!t->ran)
            continue; /* the series stopped early */
        se->ran++;
        d_true = truth(se->gpu, t->d_start_s, t->d_start_s + t->d_time_s);
        s_true = truth(se->gpu, t->s_start_s, t->s_start_s + t->s_time_s);
        bad = score_value(&se->direct_err, t->d_energy_j, d_true);
        bad |= score_value(&se->provisional_err, t->s_provisional_j, s_true);
        if (t->s_not_final)
            se->not_final++;
        else
            bad |= score_value(&se->sampled_err, t->s_final_j, s_true);
        se->failed += bad;
    }
}

/* ---- Reporting -------------------------------------------------------------------------- */

/*
 * Issue 3's target: the sampled final value no worse than direct reads at every length, and
 * at most half their error from 50 ms to 1 s (mean absolute relative errors). Returns 1 when
 * the series meets it; else 0, with why in `why`.
 */
static int target_met(const struct series *se, char *why, size_t why_len)
{
    double d = mean_pct(&se->direct_err), s = mean_pct(&se->sampled_err);
    double ms = se->length_s * 1000;
    size_t used = 0;

    why[0] = '\0';
    if (se->failed > 0 || se->not_final > 0)
        used += (size_t)snprintf(why + used, why_len - used, "%u failed, %u not final; ",
                                 se->failed, se->not_final);
    if (used < why_len && (!isfinite(d) || !isfinite(s)))
        used += (size_t)snprintf(why + used, why_len - used, "no values; ");
    else if (used < why_len && s > d)
        used += (size_t)snprintf(why + used, why_len - used, "sampled %.3f%% > direct %.3f%%; ",
                                 s, d);
    else if (used < why_len && ms >= 50 && ms <= 1000 && s > d / 2)
        used += (size_t)snprintf(why + used, why_len - used,
                                 "sampled %.3f%% > half of direct %.3f%%; ", s, d);
    if (used == 0)
        return 1;
    if (used >= 2 && used < why_len)
        why[used - 2] = '\0'; /* the last "; " */
    return 0;
}

static void print_table(const struct accuracy_args *a, struct series *all, size_t n)
{
    double uncertainty = 0, step = 0;
    char why[128];
    int met = 1;

    for (size_t i = 0; i < n; i++) {
        uncertainty = fmax(uncertainty, all[i].start_uncertainty_s);
        step = all[i].step_seen_s > 0 ? all[i].step_seen_s : step;
    }
    printf("accuracy: window energy against the true integral; counter step 100 ms +- %u ms, "
           "energy read %u us asleep, %u us spinning\n", a->jitter_ms, a->latency_us,
           a->spin_us);
    for (size_t i = 0; i < TRACE_COUNT; i++)
        printf("  %-9s %s\n", traces[i].name, traces[i].about);
    if (step > 0)
        printf("counter step seen by the sampler: %.1f ms\n", step * 1000);
    if (uncertainty > 0)
        printf("note: start_mono_s not set in some windows; their start is known to +-%.3f ms\n",
               uncertainty * 1000);
    printf("\nabsolute relative error, %% (sampled = final value; at end = what end_window "
           "returned at once)\n");
    printf("%-9s %8s %6s %11s %10s %12s %11s %11s %10s %6s %9s\n", "trace", "window",
           "trials", "direct mean", "direct max", "sampled mean", "sampled max", "at end mean",
           "at end max", "failed", "not final");
    for (size_t i = 0; i < n; i++) {
        const struct series *se = &all[i];
        char window[16];
        unsigned ms = (unsigned)llround(se->length_s * 1000);

        if (ms >= 1000 && ms % 1000 == 0)
            snprintf(window, sizeof window, "%u s", ms / 1000);
        else
            snprintf(window, sizeof window, "%u ms", ms);
        printf("%-9s %8s %6u %11.2f %10.2f %12.3f %11.3f %11.2f %10.2f %6u %9u\n",
               traces[se->gpu].name, window, se->ran, mean_pct(&se->direct_err),
               max_pct(&se->direct_err), mean_pct(&se->sampled_err), max_pct(&se->sampled_err),
               mean_pct(&se->provisional_err), max_pct(&se->provisional_err), se->failed,
               se->not_final);
    }
    printf("\ntarget (sampled <= direct at every length, <= half of it from 50 ms to 1 s):");
    for (size_t i = 0; i < n; i++) {
        if (target_met(&all[i], why, sizeof why))
            continue;
        printf("%s\n  %s %.0f ms: %s", met ? " NOT met" : "", traces[all[i].gpu].name,
               all[i].length_s * 1000, why);
        met = 0;
    }
    printf("%s\n", met ? " met" : "");
    fflush(stdout);
}

/* Add `v` rounded, or null when it is NAN. */
static int add_pct(cJSON *o, const char *key, double v)
{
    return isfinite(v) ? cJSON_AddNumberToObject(o, key, cli_bench_round(v, 4)) != NULL
                       : cJSON_AddNullToObject(o, key) != NULL;
}

static int print_json(const struct accuracy_args *a, struct series *all, size_t n)
{
    cJSON *o = cJSON_CreateObject(), *results;
    double step = 0;
    char why[128];
    int ok, met = 1;

    for (size_t i = 0; i < n; i++)
        step = all[i].step_seen_s > 0 ? all[i].step_seen_s : step;
    ok = o != NULL && cJSON_AddNumberToObject(o, "counter_step_ms", COUNTER_STEP_S * 1000) &&
         cJSON_AddNumberToObject(o, "counter_jitter_ms", a->jitter_ms) &&
         cJSON_AddNumberToObject(o, "energy_latency_us", a->latency_us) &&
         cJSON_AddNumberToObject(o, "energy_spin_us", a->spin_us) &&
         cJSON_AddNumberToObject(o, "seed", a->seed) &&
         cJSON_AddNumberToObject(o, "counter_step_seen_ms", cli_bench_round(step * 1000, 2)) &&
         (results = cJSON_AddArrayToObject(o, "results")) != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        const struct series *se = &all[i];
        cJSON *r = cJSON_CreateObject();

        ok = r != NULL && cJSON_AddItemToArray(results, r) &&
             cJSON_AddStringToObject(r, "trace", traces[se->gpu].name) &&
             cJSON_AddNumberToObject(r, "window_ms", llround(se->length_s * 1000)) &&
             cJSON_AddNumberToObject(r, "trials", se->ran) &&
             add_pct(r, "direct_mean_pct", mean_pct(&se->direct_err)) &&
             add_pct(r, "direct_max_pct", max_pct(&se->direct_err)) &&
             add_pct(r, "sampled_mean_pct", mean_pct(&se->sampled_err)) &&
             add_pct(r, "sampled_max_pct", max_pct(&se->sampled_err)) &&
             add_pct(r, "provisional_mean_pct", mean_pct(&se->provisional_err)) &&
             add_pct(r, "provisional_max_pct", max_pct(&se->provisional_err)) &&
             cJSON_AddNumberToObject(r, "failed", se->failed) &&
             cJSON_AddNumberToObject(r, "not_final", se->not_final);
        met = met && target_met(se, why, sizeof why);
    }
    ok = ok && cJSON_AddBoolToObject(o, "target_met", met) && cli_print_json(o) == 0;
    cJSON_Delete(o);
    return ok ? 0 : -1;
}

/* ---- Entry point ------------------------------------------------------------------------ */

/* The fake's spec: one GPU per trace, a 100 ms step set off from the traces' edges. */
static int build_spec(const struct accuracy_args *a, char *spec, size_t len)
{
    size_t used = (size_t)snprintf(spec, len, "gpus=%zu;period_ms=%g;phase_ms=37;"
                                   "period_jitter_ms=%u;energy_latency_us=%u;"
                                   "energy_spin_us=%u", TRACE_COUNT, COUNTER_STEP_S * 1000,
                                   a->jitter_ms, a->latency_us, a->spin_us);

    for (size_t i = 0; i < TRACE_COUNT && used < len; i++) {
        char keys[256], *save = NULL;

        snprintf(keys, sizeof keys, "%s", traces[i].keys);
        for (char *kv = strtok_r(keys, ";", &save); kv != NULL && used < len;
             kv = strtok_r(NULL, ";", &save))
            used += (size_t)snprintf(spec + used, len - used, ";gpu%zu.%s", i, kv);
    }
    return used < len ? 0 : -1;
}

/* Point the fake at the traces; returns 0, or an exit code after saying why not. */
static int set_up_fake(const struct accuracy_args *a, struct cli_fake_nvml *fake)
{
    char why[512], spec[1024];

    if (cli_bench_fake_nvml(fake, why, sizeof why) != 0) {
        fprintf(stderr, "zeus %s: runs on simulated GPUs only, whose true energy is known "
                "(%s).\nSet ZEUS_NVML_LIBRARY to the fake NVML, libnvidia-ml-fake.so.1 in the "
                "build folder: a real GPU cannot tell the true energy of a window.\n", CMD, why);
        return CLI_EXIT_USAGE;
    }
    if (build_spec(a, spec, sizeof spec) != 0 || setenv("ZEUS_FAKE_NVML", spec, 1) != 0 ||
        fake->reset(spec) != 0) {
        fprintf(stderr, "zeus %s: the fake NVML refused the traces: %s\n", CMD,
                fake->last_error());
        return CLI_EXIT_FAILURE;
    }
    unsetenv("CUDA_VISIBLE_DEVICES"); /* framework index i is physical GPU i */
    return 0;
}

/* Start a thread per series, wait for all; returns 0 or -1 after printing why. */
static int run_series(struct series *all, size_t n)
{
    int rc = 0;

    for (size_t i = 0; i < n; i++)
        all[i].started = pthread_create(&all[i].thread, NULL, series_main, &all[i]) == 0;
    for (size_t i = 0; i < n; i++) {
        if (all[i].started)
            pthread_join(all[i].thread, NULL);
        else
            snprintf(all[i].error, sizeof all[i].error, "cannot start a thread");
        if (all[i].error[0] != '\0') {
            fprintf(stderr, "zeus %s: %s, %.0f ms windows: %s\n", CMD,
                    traces[all[i].gpu].name, all[i].length_s * 1000, all[i].error);
            rc = -1;
        }
    }
    return rc;
}

static int run(const struct accuracy_args *a)
{
    size_t n = TRACE_COUNT * a->length_count;
    struct series *all = calloc(n, sizeof *all);
    struct cli_fake_nvml fake;
    double longest_s = 0;
    int rc = 0;

    if (all == NULL)
        return CLI_EXIT_FAILURE;
    rc = set_up_fake(a, &fake);
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct series *se = &all[i];
        unsigned ms = a->lengths_ms[i % a->length_count];

        se->fake = &fake;
        se->gpu = (unsigned)(i / a->length_count);
        se->length_s = ms / 1000.0;
        se->trials = a->trials > 0 ? a->trials : default_trials(ms);
        se->rng = 0x9E3779B97F4A7C15ULL * (a->seed + 1) + i; /* never 0 */
        se->t = calloc(se->trials, sizeof *se->t);
        if (se->t == NULL)
            rc = CLI_EXIT_FAILURE;
        longest_s = fmax(longest_s, se->trials * (se->length_s + COUNTER_STEP_S / 2 + 0.006));
    }
    if (rc == 0) {
        FILE *info = a->json ? stderr : stdout; /* stdout holds only the JSON object */

        fprintf(info, "devices: %zu simulated GPUs, one per trace (%s)\n"
                "running %zu series of windows at once, about %.0f s\n", TRACE_COUNT,
                getenv("ZEUS_NVML_LIBRARY"), n, longest_s + 1);
        fflush(info);
        if (run_series(all, n) != 0)
            rc = CLI_EXIT_FAILURE;
        for (size_t i = 0; i < n; i++)
            score(&all[i]);
        if (rc == 0 && a->json && print_json(a, all, n) != 0)
            rc = CLI_EXIT_FAILURE;
        else if (rc == 0 && !a->json)
            print_table(a, all, n);
    }
    for (size_t i = 0; i < n; i++) {
        zeus_monitor_destroy(all[i].direct);
        zeus_monitor_destroy(all[i].sampled);
        free(all[i].t);
    }
    free(all);
    return rc;
}

int cli_bench_accuracy(int argc, char **argv)
{
    struct accuracy_args a;
    int rc = parse_args(argc, argv, &a);

    if (rc == -1) {
        fputs(usage, stdout);
        return CLI_EXIT_OK;
    }
    return rc != 0 ? rc : run(&a);
}
