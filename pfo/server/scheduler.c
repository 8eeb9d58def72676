/*
 * scheduler.c - Zeus's two frequency schedulers (zeus/optimizer/pipeline_frequency/server/
 * scheduler.py), and the error and data helpers every file of the server uses.
 *
 * PointSolution(solution_path): the file must exist and end in ".py"; it holds one frequency
 * list per rank (literal.c), and rank i gets entry i in every round. The number of entries
 * must equal the job's world size.
 *
 * PointSolution3D: PointSolution behind Zeus's make_3d_parallel wrapper. The wrapped scheduler
 * sees pure pipeline parallelism (world size = pp_degree), so the file holds one list per
 * stage, and every rank gets its pp_rank's list. Zeus's wrapper also combines each round's
 * results per stage (max of times, sum of energies) before the wrapped scheduler observes
 * them; PointSolution ignores what it observes (its generator has ended), so the combination
 * only fed a debug log line and is not computed here. Zeus's quirk of passing the original
 * rank infos to the wrapped scheduler changes nothing either, as PointSolution never reads them.
 *
 * Zeus's generator protocol (next_schedule, then observe, the last schedule repeated once the
 * generator stops) reduces for both to "the same plan every round".
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pfo_server.h"

#define MAX_SOLUTION_BYTES (64u << 20)

struct pfo_scheduler {
    pfo_scheduler_kind kind;
    pfo_plan plan;
    size_t world_size;    /* the job's, every rank */
    int *pp_rank;         /* PointSolution3D: rank -> stage */
};

/* ---- Errors and data ------------------------------------------------------------------------- */

void pfo_fail(pfo_error *e, unsigned http, const char *type, const char *fmt, ...)
{
    va_list ap;
    int n;

    e->http = http;
    n = snprintf(e->detail, sizeof e->detail, "%s: ", type);
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof e->detail)
        vsnprintf(e->detail + n, sizeof e->detail - (size_t)n, fmt, ap);
    va_end(ap);
}

void pfo_freqs_free(pfo_freqs *f)
{
    for (size_t k = 0; f->names != NULL && k < f->count; k++)
        free(f->names[k]);
    free(f->names);
    free(f->mhz);
    memset(f, 0, sizeof *f);
}

void pfo_plan_free(pfo_plan *p)
{
    for (size_t r = 0; p->ranks != NULL && r < p->count; r++)
        pfo_freqs_free(&p->ranks[r]);
    free(p->ranks);
    memset(p, 0, sizeof *p);
}

void pfo_rank_info_free(pfo_rank_info *r)
{
    free(r->freqs);
    r->freqs = NULL;
    r->freq_count = 0;
}

const char *pfo_scheduler_name(pfo_scheduler_kind kind)
{
    return kind == PFO_POINT_SOLUTION_3D ? "PointSolution3D" : "PointSolution";
}

/* ---- The solution file ------------------------------------------------------------------------ */

/* The whole file, NUL-terminated; NULL with *e set (RuntimeError, as Zeus raises). */
static char *read_solution(const char *path, pfo_error *e)
{
    struct stat st;
    size_t len = strlen(path), got;
    char *text;
    FILE *f;

    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        pfo_fail(e, 500, "RuntimeError", "Solution file not found: %s", path);
        return NULL;
    }
    if (len < 3 || strcmp(path + len - 3, ".py") != 0) {
        pfo_fail(e, 500, "RuntimeError", "Solution file is not a Python file: %s", path);
        return NULL;
    }
    if ((size_t)st.st_size > MAX_SOLUTION_BYTES) {
        pfo_fail(e, 500, "RuntimeError", "Solution file %s is larger than %u bytes", path,
                 MAX_SOLUTION_BYTES);
        return NULL;
    }
    text = malloc((size_t)st.st_size + 1);
    f = fopen(path, "r");
    if (text == NULL || f == NULL) {
        pfo_fail(e, 500, "OSError", "cannot read the solution file %s", path);
        free(text);
        if (f != NULL)
            fclose(f);
        return NULL;
    }
    got = fread(text, 1, (size_t)st.st_size, f);
    fclose(f);
    text[got] = '\0';
    if (strlen(text) != got) {
        pfo_fail(e, 500, "SyntaxError", "source code string cannot contain null bytes (%s)", path);
        free(text);
        return NULL;
    }
    return text;
}

/* ---- The schedulers ------------------------------------------------------------------------- */

pfo_scheduler *pfo_scheduler_create(const pfo_settings *set, const pfo_job_info *job,
                                    const pfo_rank_info *ranks, pfo_error *e)
{
    pfo_scheduler *s = calloc(1, sizeof *s);
    size_t expect = set->scheduler == PFO_POINT_SOLUTION_3D ? (size_t)job->pp_degree
                                                             : (size_t)job->world_size;
    char *text;

    if (s == NULL) {
        pfo_fail(e, 500, "MemoryError", "out of memory");
        return NULL;
    }
    s->kind = set->scheduler;
    s->world_size = (size_t)job->world_size;
    text = read_solution(set->solution_path, e);
    if (text == NULL || !pfo_parse_plan(text, &s->plan, e)) {
        free(text);
        pfo_scheduler_destroy(s);
        return NULL;
    }
    free(text);
    if (s->plan.count != expect) {
        pfo_fail(e, 500, "RuntimeError", "Solution file assumes %zu ranks, but the job has %zu "
                 "ranks.", s->plan.count, expect);
        pfo_scheduler_destroy(s);
        return NULL;
    }
    if (s->kind == PFO_POINT_SOLUTION_3D) {
        s->pp_rank = calloc(s->world_size, sizeof *s->pp_rank);
        if (s->pp_rank == NULL) {
            pfo_fail(e, 500, "MemoryError", "out of memory");
            pfo_scheduler_destroy(s);
            return NULL;
        }
        for (size_t r = 0; r < s->world_size; r++)
            s->pp_rank[ranks[r].rank] = ranks[r].pp_rank;
    }
    return s;
}

bool pfo_scheduler_next(pfo_scheduler *s, const pfo_freqs **out, pfo_error *e)
{
    (void)e;
    for (size_t r = 0; r < s->world_size; r++)
        out[r] = &s->plan.ranks[s->kind == PFO_POINT_SOLUTION_3D ? (size_t)s->pp_rank[r] : r];
    return true;
}

bool pfo_scheduler_observe(pfo_scheduler *s, const pfo_result *results, size_t n, pfo_error *e)
{
    (void)s;
    (void)results;
    (void)n;
    (void)e;
    return true; /* PointSolution's generator has ended: Zeus suppresses the StopIteration */
}

void pfo_scheduler_destroy(pfo_scheduler *s)
{
    if (s == NULL)
        return;
    pfo_plan_free(&s->plan);
    free(s->pp_rank);
    free(s);
}
