/*
 * perseus_bench.c - How long the Perseus planner (perseus/) takes for S stages and M
 * micro-batches, phase by phase, over every iteration, on a synthetic H100-like profile that
 * this program makes (so any size can be measured, not only the shared profiles' 2x4 and 4x8).
 *
 *   zeus_perseus_bench [--sizes SxM,...] [--repeat N] [--write-profile S PATH]
 *
 * For each size it generates the profile text, then times what `zeus perseus plan` does:
 * parse, filter and fit each stage's forward and backward (2S fits over lowtime's 54-point
 * grid), build the 1F1B DAG and its AOA form, then run the solver to the end, formatting each
 * iteration's plan and summary row into memory (the command writes them to files; `time zeus
 * perseus plan` on a written profile measures that too). It prints one line per size: the
 * instructions, iterations, and milliseconds per phase (the median of --repeat runs).
 * --write-profile writes the profile of S stages to PATH (32 frequencies per instruction) and
 * exits, for timing the command itself. Results: bench/README.md, "Perseus planner".
 *
 * The profile: frequencies 1980 down to 1110 MHz in 30 MHz steps; time = T * (0.35 + 0.65 *
 * 1980 / f) (a memory-bound share that does not scale), power = 150 + 496 * (f / 1980)^2.8 W,
 * which puts the forward at 18.9 ms and 646 W at 1980 MHz and 31 ms and 248 W at 1110 MHz,
 * like the shared profiles; the backward takes 2.3x the forward; stages differ by up to 10%;
 * each time and energy carries a fixed pseudo-random +-0.4%, so the Pareto filter has work.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "perseus.h"

/* A fixed LCG: the same profile on every machine. */
static double noise(unsigned long long *state)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return ((double)(*state >> 11) / 9007199254740992.0) * 2.0 - 1.0;
}

static char *make_profile(int stages, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    unsigned long long rng = 42;

    if (f == NULL)
        return NULL;
    fputs("stage,instruction,frequency,time,energy\n", f);
    for (int s = 0; s < stages; s++)
        for (int inst = 0; inst < 2; inst++) {
            double base = 0.0189 / (0.35 + 0.65) * (1.0 + 0.05 * (((s * 7) % 5) - 2) / 2.0);
            if (inst == PERSEUS_BACKWARD)
                base *= 2.3;
            for (int freq = 1980; freq >= 1110; freq -= 30) {
                double t = base * (0.35 + 0.65 * 1980.0 / freq) * (1 + 0.004 * noise(&rng));
                double p = 150.0 + 496.0 * pow(freq / 1980.0, 2.8);
                double e = p * t * (1 + 0.004 * noise(&rng));
                fprintf(f, "%d,%s,%d,%.6f,%.6f\n", s, inst ? "backward" : "forward", freq, t, e);
            }
        }
    fclose(f);
    return buf;
}

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct timing {
    double fit_ms, dag_ms, solve_ms;
    long iterations;
};

static int run_once(const char *text, size_t len, int S, int M, struct timing *t)
{
    perseus_profile p;
    perseus_error err;
    perseus_spec *specs = calloc((size_t)S * 2, sizeof *specs);
    perseus_option *all;
    perseus_dag d;
    perseus_solver *s;
    perseus_iteration it;
    const char *why;
    double t0 = now_ms(), t1, t2;
    char *out = NULL;
    size_t out_len = 0;
    FILE *sink;

    if (specs == NULL || perseus_profile_parse(text, len, "synthetic", &p, &err) != PERSEUS_OK)
        return fprintf(stderr, "%s\n", err.msg), -1;
    all = malloc(p.count * sizeof *all);
    for (int i = 0; i < 2 * S; i++) {
        perseus_option *cand = malloc(p.count * sizeof *cand);
        size_t n = perseus_options_from_profile(&p, i / 2, i % 2, 0.001, 70.0, all);
        specs[i].cand = cand;
        specs[i].count = perseus_options_candidates(all, n, 0.95, cand);
        if (perseus_cost_fit(cand, specs[i].count, 0.001, PERSEUS_FIT_BEST, "synthetic",
                             specs[i].abc, &err) != PERSEUS_OK)
            return fprintf(stderr, "%s\n", err.msg), -1;
    }
    free(all);
    perseus_profile_free(&p);
    t1 = now_ms();
    if (perseus_dag_build(S, M, &d, &err) != PERSEUS_OK ||
        perseus_solver_create(&d, specs, 0.001, &s, &err) != PERSEUS_OK)
        return fprintf(stderr, "%s\n", err.msg), -1;
    t2 = now_ms();
    sink = open_memstream(&out, &out_len);
    t->iterations = 0;
    while (perseus_solver_step(s, &it, &why) == 1) {
        perseus_write_plan(sink, &d, s, &it, 70.0);
        perseus_write_summary_row(sink, &it);
        rewind(sink); /* keep memory flat: only the formatting is timed */
        t->iterations++;
    }
    fclose(sink);
    free(out);
    t->fit_ms = t1 - t0;
    t->dag_ms = t2 - t1;
    t->solve_ms = now_ms() - t2;
    perseus_solver_destroy(s);
    perseus_dag_free(&d);
    for (int i = 0; i < 2 * S; i++)
        free((void *)specs[i].cand);
    free(specs);
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    const char *sizes = "2x4,4x8,8x16,8x32,8x64,16x32,16x64,32x64";
    int repeat = 3;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--sizes") == 0 && i + 1 < argc) {
            sizes = argv[++i];
        } else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
            repeat = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--write-profile") == 0 && i + 2 < argc) {
            size_t len;
            char *text = make_profile(atoi(argv[i + 1]), &len);
            FILE *f = fopen(argv[i + 2], "w");
            if (text == NULL || f == NULL || fwrite(text, 1, len, f) != len || fclose(f) != 0)
                return perror(argv[i + 2]), 1;
            free(text);
            return 0;
        } else {
            fprintf(stderr, "usage: %s [--sizes SxM,...] [--repeat N] "
                            "[--write-profile STAGES PATH]\n", argv[0]);
            return 2;
        }
    }
    if (repeat < 1 || repeat > 99)
        repeat = 3;
    printf("%-7s %6s %6s %9s %8s %9s %10s %12s\n", "SxM", "insts", "iters", "fit_ms", "dag_ms",
           "solve_ms", "total_ms", "us_per_iter");
    for (const char *p = sizes; *p;) {
        int S, M, n = 0;
        double fit[99], dag[99], solve[99], total[99];
        struct timing t = {0};
        size_t len;
        char *text;
        if (sscanf(p, "%dx%d%n", &S, &M, &n) != 2 || S < 1 || M < 1)
            return fprintf(stderr, "bad size at '%s'\n", p), 2;
        p += n + (p[n] == ',');
        text = make_profile(S, &len);
        for (int r = 0; r < repeat; r++) {
            if (run_once(text, len, S, M, &t) != 0)
                return 1;
            fit[r] = t.fit_ms;
            dag[r] = t.dag_ms;
            solve[r] = t.solve_ms;
            total[r] = t.fit_ms + t.dag_ms + t.solve_ms;
        }
        qsort(fit, (size_t)repeat, sizeof *fit, cmp_double);
        qsort(dag, (size_t)repeat, sizeof *dag, cmp_double);
        qsort(solve, (size_t)repeat, sizeof *solve, cmp_double);
        qsort(total, (size_t)repeat, sizeof *total, cmp_double);
        printf("%-7s %6d %6ld %9.1f %8.2f %9.1f %10.1f %12.1f\n",
               (snprintf(text, 16, "%dx%d", S, M), text), 2 * S * M, t.iterations,
               fit[repeat / 2], dag[repeat / 2], solve[repeat / 2], total[repeat / 2],
               t.iterations ? 1e3 * solve[repeat / 2] / t.iterations : 0.0);
        free(text);
    }
    return 0;
}
