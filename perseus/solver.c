/*
 * solver.c - The Phillips-Dessouky time-cost trade-off iterations, as lowtime 0.2.0 runs them:
 * start with every instruction at its slowest candidate, and at each iteration find the
 * cheapest way to cut the critical path by one unit time (a minimum cut of the critical DAG
 * whose arc capacities are the cost slopes), apply it, and report the new cost and length.
 *
 * Source: lowtime v0.2.0 lowtime/solver.py (run, reduce_durations, annotate_capacities),
 * lowtime/graph_utils.py (aoa_to_critical_dag, get_critical_aoa_dag_total_time,
 * get_total_cost). Spec: zeus-optimizers-zeusd.md section 4.4.
 *
 * DESIGN NOTES
 * 1. Durations are whole unit times; each instruction's lies in [min, max] of its candidates'
 *    quant_times, and its knob is the slowest candidate that fits (options.c). Dummy arcs
 *    (dependencies, and the source's and sink's own arcs) last 0 and are never changed.
 * 2. The critical DAG keeps the arcs whose earliest and latest finish agree. Its length is
 *    what lowtime reports: the durations summed along the depth-first search from the source
 *    until it first reaches the sink, following successors in networkx order (dag.c).
 * 3. Flow bounds per critical arc (INF = 10000, FP_ERROR = 1e-6), each floored to a multiple
 *    of 1e-6 with Python's //: a dummy or fixed arc [0, INF]; one at its minimum duration
 *    [slope down, INF]; at its maximum [0, slope up]; else [slope down, slope up + 1e-6],
 *    where slope up is |c(d-1) - c(d)| and slope down |c(d) - c(d+1)|.
 * 4. Arcs from S to T of the cut speed up by one (a dummy one, or one at its minimum, ends the
 *    run); arcs from T to S slow down by one (dummies skipped; one at its maximum ends the
 *    run). The run ends when the cost change is infinite or below 1e-6 in magnitude, or when
 *    the bounds admit no feasible flow (lowtime logs and stops there too).
 * 5. The cost change is summed over the cut's nodes in ascending order. lowtime iterates a
 *    Python set there, whose order can differ and could change the sum's last bit; measured
 *    on the shared profiles (lowtime patched to sum both ways), the two orders gave the same
 *    sum in all 584 iterations, so CPython's set layout is not reproduced. The cost is
 *    recomputed from the durations each iteration, in lowtime's arc order.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "perseus.h"

#define FP_ERROR 1e-6
#define FLOW_INF 10000.0

struct op_state {
    const perseus_spec *spec; /* NULL for a dummy */
    long duration, min_d, max_d;
    long es, ef, ls, lf;
};

struct perseus_solver {
    const perseus_dag *dag;
    double unit_time;
    struct op_state *arc; /* per AOA arc */
    int *inst_arc;        /* instruction -> its arc */
    int *topo;            /* nodes in a topological order */
    unsigned char *critical;
    perseus_flow_arc *flow;
    int *flow_arc;    /* flow arc -> dag arc */
    double *last_flow; /* per dag arc: its flow in the last cut, where the next one starts */
    unsigned char *in_s;
    long min_time, max_time;
    int iteration, done;
};

/* ---- Critical DAG ------------------------------------------------------------------------- */

/* aoa_to_critical_dag: earliest and latest start and finish of every arc, then the arcs
 * with EF == LF. */
static void critical_dag(perseus_solver *s)
{
    const perseus_dag *d = s->dag;
    long finish = 0;

    for (int i = 0; i < d->narcs; i++) {
        s->arc[i].es = 0;
        s->arc[i].ef = 0;
        s->arc[i].ls = LONG_MAX;
        s->arc[i].lf = LONG_MAX;
    }
    for (int k = 0; k < d->nodes; k++) {
        int u = s->topo[k];
        for (int a = d->out_start[u]; a < d->out_start[u + 1]; a++) {
            int v = d->arcs[a].v;
            for (int b = d->out_start[v]; b < d->out_start[v + 1]; b++) {
                struct op_state *next = &s->arc[b];
                if (s->arc[a].ef > next->es)
                    next->es = s->arc[a].ef;
                next->ef = next->es + next->duration;
            }
        }
    }
    for (int k = d->in_start[d->sink]; k < d->in_start[d->sink + 1]; k++)
        if (s->arc[d->in_arcs[k]].ef > finish)
            finish = s->arc[d->in_arcs[k]].ef;
    for (int k = d->in_start[d->sink]; k < d->in_start[d->sink + 1]; k++) {
        struct op_state *op = &s->arc[d->in_arcs[k]];
        op->lf = finish;
        op->ls = finish - op->duration;
    }
    for (int k = d->nodes - 1; k >= 0; k--) {
        int v = s->topo[k];
        for (int i = d->in_start[v]; i < d->in_start[v + 1]; i++) {
            int a = d->in_arcs[i], u = d->arcs[a].u;
            for (int j = d->in_start[u]; j < d->in_start[u + 1]; j++) {
                struct op_state *prev = &s->arc[d->in_arcs[j]];
                long ls = s->arc[a].ls - prev->duration;
                if (ls < prev->ls)
                    prev->ls = ls;
                prev->lf = prev->ls + prev->duration;
            }
        }
    }
    for (int i = 0; i < d->narcs; i++)
        s->critical[i] = s->arc[i].ef == s->arc[i].lf;
}

/* get_critical_aoa_dag_total_time: networkx's dfs_edges over critical arcs from the source,
 * summing instruction durations until an arc reaches the sink. */
static long critical_time(const perseus_solver *s, int *stack_node, int *stack_at,
                          unsigned char *seen)
{
    const perseus_dag *d = s->dag;
    long total = 0;
    int top = 0;

    memset(seen, 0, (size_t)d->nodes);
    seen[d->source] = 1;
    stack_node[top] = d->source;
    stack_at[top++] = d->out_start[d->source];
    while (top > 0) {
        int u = stack_node[top - 1], a = stack_at[top - 1];
        if (a >= d->out_start[u + 1]) {
            top--;
            continue;
        }
        stack_at[top - 1]++;
        if (!s->critical[a] || seen[d->arcs[a].v])
            continue;
        if (s->arc[a].spec != NULL)
            total += s->arc[a].duration;
        if (d->arcs[a].v == d->sink)
            break;
        seen[d->arcs[a].v] = 1;
        stack_node[top] = d->arcs[a].v;
        stack_at[top++] = d->out_start[d->arcs[a].v];
    }
    return total;
}

static long refresh(perseus_solver *s)
{
    int n = s->dag->nodes;
    int *node = malloc((size_t)n * sizeof *node), *at = malloc((size_t)n * sizeof *at);
    unsigned char *seen = malloc((size_t)n);
    long t = -1;

    critical_dag(s);
    if (node && at && seen)
        t = critical_time(s, node, at, seen);
    free(node);
    free(at);
    free(seen);
    return t;
}

/* ---- Costs and bounds --------------------------------------------------------------------- */

static double cost_at(const struct op_state *op, long d)
{
    return perseus_cost_eval(op->spec->abc, d);
}

/* get_total_cost(aoa, mode="edge"): in arc order. */
static double total_cost(const perseus_solver *s)
{
    double cost = 0.0;

    for (int i = 0; i < s->dag->narcs; i++)
        if (s->arc[i].spec != NULL)
            cost += cost_at(&s->arc[i], s->arc[i].duration);
    return cost;
}

static double floor_fp(double x)
{
    return perseus_py_floordiv(x, FP_ERROR) * FP_ERROR;
}

/* annotate_capacities, design note 3. */
static void bounds(const struct op_state *op, double *lb, double *ub)
{
    long d = op->duration;

    if (op->spec == NULL || (d == op->min_d && d == op->max_d)) {
        *lb = 0.0;
        *ub = FLOW_INF;
    } else if (d - 1 < op->min_d) {
        *lb = fabs(cost_at(op, d) - cost_at(op, d + 1));
        *ub = FLOW_INF;
    } else if (d + 1 > op->max_d) {
        *lb = 0.0;
        *ub = fabs(cost_at(op, d - 1) - cost_at(op, d));
    } else {
        *lb = fabs(cost_at(op, d) - cost_at(op, d + 1));
        *ub = fabs(cost_at(op, d - 1) - cost_at(op, d)) + FP_ERROR;
    }
    *lb = floor_fp(*lb);
    *ub = floor_fp(*ub);
}

/* ---- One iteration ------------------------------------------------------------------------ */

/* reduce_durations, design note 4: the cost change, or INFINITY to stop. */
static double reduce_durations(perseus_solver *s)
{
    const perseus_dag *d = s->dag;
    double change = 0.0;
    int any = 0;

    for (int i = 0; i < d->narcs && !any; i++)
        any = s->critical[i] && s->in_s[d->arcs[i].u] && !s->in_s[d->arcs[i].v];
    if (!any)
        return 0.0;
    /* Speed up S -> T arcs, node by node in S, successors in order. */
    for (int i = 0; i < d->narcs; i++) {
        struct op_state *op = &s->arc[i];
        if (!s->critical[i] || !s->in_s[d->arcs[i].u] || s->in_s[d->arcs[i].v])
            continue;
        if (op->spec == NULL || op->duration - 1 < op->min_d)
            return INFINITY;
        change += fabs(cost_at(op, op->duration - 1) - cost_at(op, op->duration));
        op->duration--;
    }
    for (int i = 0; i < d->narcs; i++) {
        struct op_state *op = &s->arc[i];
        if (!s->critical[i] || s->in_s[d->arcs[i].u] || !s->in_s[d->arcs[i].v])
            continue;
        if (op->spec == NULL)
            continue;
        if (op->duration + 1 > op->max_d)
            return INFINITY;
        change -= fabs(cost_at(op, op->duration) - cost_at(op, op->duration + 1));
        op->duration++;
    }
    return change;
}

static int find_cut(perseus_solver *s)
{
    const perseus_dag *d = s->dag;
    int n = 0, rc;

    for (int i = 0; i < d->narcs; i++) {
        if (!s->critical[i])
            continue;
        s->flow[n].u = d->arcs[i].u;
        s->flow[n].v = d->arcs[i].v;
        bounds(&s->arc[i], &s->flow[n].lb, &s->flow[n].ub);
        s->flow[n].flow = s->last_flow[i];
        s->flow_arc[n++] = i;
    }
    rc = perseus_min_cut(d->nodes, s->flow, n, d->source, d->sink, s->in_s);
    for (int k = 0; k < n; k++)
        s->last_flow[s->flow_arc[k]] = s->flow[k].flow;
    return rc;
}

int perseus_solver_step(perseus_solver *s, perseus_iteration *out, const char **stop_reason)
{
    double change;
    long t;
    int rc;

    *stop_reason = NULL;
    if (s->done)
        return 0;
    rc = find_cut(s);
    if (rc == PERSEUS_FLOW_INFEASIBLE) {
        s->done = 1;
        *stop_reason = "no feasible flow within the cost bounds (lowtime stops here too)";
        return 0;
    }
    if (rc != PERSEUS_OK)
        return rc;
    change = reduce_durations(s);
    if (change == INFINITY || fabs(change) < FP_ERROR) {
        s->done = 1;
        *stop_reason = "no further time reduction possible";
        return 0;
    }
    t = refresh(s);
    if (t < 0)
        return PERSEUS_ERR_NO_MEMORY;
    out->iteration = s->iteration++;
    out->cost_change = change;
    out->cost = total_cost(s);
    out->quant_time = t;
    out->real_time = (double)t * s->unit_time;
    return 1;
}

/* ---- Life cycle --------------------------------------------------------------------------- */

static int topological_order(const perseus_dag *d, int *order)
{
    int *indeg = calloc((size_t)d->nodes, sizeof *indeg), head = 0, tail = 0;

    if (indeg == NULL)
        return -1;
    for (int i = 0; i < d->narcs; i++)
        indeg[d->arcs[i].v]++;
    for (int v = 0; v < d->nodes; v++)
        if (indeg[v] == 0)
            order[tail++] = v;
    while (head < tail) {
        int u = order[head++];
        for (int a = d->out_start[u]; a < d->out_start[u + 1]; a++)
            if (--indeg[d->arcs[a].v] == 0)
                order[tail++] = d->arcs[a].v;
    }
    free(indeg);
    return tail == d->nodes ? 0 : -1;
}

static void set_all(perseus_solver *s, int to_max)
{
    for (int i = 0; i < s->dag->narcs; i++)
        if (s->arc[i].spec != NULL)
            s->arc[i].duration = to_max ? s->arc[i].max_d : s->arc[i].min_d;
}

int perseus_solver_create(const perseus_dag *d, const perseus_spec *specs, double unit_time_s,
                          perseus_solver **out, perseus_error *err)
{
    perseus_solver *s = calloc(1, sizeof *s);

    *out = NULL;
    if (s == NULL)
        goto nomem;
    s->dag = d;
    s->unit_time = unit_time_s;
    s->arc = calloc((size_t)d->narcs, sizeof *s->arc);
    s->inst_arc = malloc((size_t)d->ninsts * sizeof *s->inst_arc);
    s->topo = malloc((size_t)d->nodes * sizeof *s->topo);
    s->critical = calloc((size_t)d->narcs, 1);
    s->flow = malloc((size_t)d->narcs * sizeof *s->flow);
    s->flow_arc = malloc((size_t)d->narcs * sizeof *s->flow_arc);
    s->last_flow = calloc((size_t)d->narcs, sizeof *s->last_flow);
    s->in_s = malloc((size_t)d->nodes);
    if (!s->arc || !s->inst_arc || !s->topo || !s->critical || !s->flow || !s->flow_arc ||
        !s->last_flow || !s->in_s)
        goto nomem;
    if (topological_order(d, s->topo) != 0) {
        perseus_solver_destroy(s);
        snprintf(err->msg, sizeof err->msg, "internal error: the pipeline DAG has a cycle");
        return PERSEUS_ERR_GRAPH;
    }
    for (int i = 0; i < d->narcs; i++) {
        struct op_state *op = &s->arc[i];
        int inst = d->arcs[i].op;
        if (inst < 0) {
            op->min_d = 0;
            op->max_d = LONG_MAX;
            continue;
        }
        op->spec = &specs[d->insts[inst].stage * 2 + d->insts[inst].instruction];
        /* candidates are sorted by quant_time descending */
        op->max_d = op->spec->cand[0].quant_time;
        op->min_d = op->spec->cand[op->spec->count - 1].quant_time;
        s->inst_arc[inst] = i;
    }
    /* run(): the critical path at every minimum, then at every maximum, which stays. */
    set_all(s, 0);
    s->min_time = refresh(s);
    set_all(s, 1);
    s->max_time = refresh(s);
    if (s->min_time < 0 || s->max_time < 0)
        goto nomem;
    *out = s;
    return PERSEUS_OK;
nomem:
    perseus_solver_destroy(s);
    snprintf(err->msg, sizeof err->msg, "out of memory preparing the solver");
    return PERSEUS_ERR_NO_MEMORY;
}

long perseus_solver_expected(const perseus_solver *s)
{
    return s->max_time - s->min_time + 1;
}

int perseus_solver_knob(const perseus_solver *s, int inst)
{
    const struct op_state *op = &s->arc[s->inst_arc[inst]];

    return op->spec->cand[perseus_options_knob_for(op->spec->cand, op->spec->count,
                                                   op->duration)]
        .knob;
}

void perseus_solver_destroy(perseus_solver *s)
{
    if (s == NULL)
        return;
    free(s->arc);
    free(s->inst_arc);
    free(s->topo);
    free(s->critical);
    free(s->flow);
    free(s->flow_arc);
    free(s->last_flow);
    free(s->in_s);
    free(s);
}
