/*
 * maxflow.c - Maximum flow (Dinic's algorithm), and lowtime's minimum cut of a flow network
 * with lower and upper bounds on its arcs.
 *
 * Source: lowtime v0.2.0 lowtime/solver.py (PhillipsDessouky.find_min_cut).
 *
 * Concept: lowtime runs networkx's Edmonds-Karp, and a different max-flow algorithm finds a
 * different flow. Reality: the cut lowtime reads off is the set of nodes its search reaches
 * from s over residual capacities above 1e-6, and for a maximum flow that set is the same
 * whichever maximum flow was found (it is the source side of the minimal minimum cut), up to
 * residuals within 1e-6 of the threshold. Max flow dominates the planner's time (one
 * feasibility flow and one augmenting flow per iteration); Dinic was chosen over
 * Edmonds-Karp for its O(V^2 E) bound and blocking flows (a C Edmonds-Karp was not written
 * to compare). The plans and quantized times stay lowtime's: all 206 and 378 iterations of
 * the shared profiles (tests/unit/test_perseus_plan.c), and 751 of a synthetic 8 x 16.
 *
 * Floating point: residual capacities below FLOW_EPS count as none here, so that rounding
 * residue (1e-13 on capacities up to lowtime's INF of 1e4) does not send Dinic after paths
 * that carry nothing; that is far below the 1e-6 at which lowtime decides anything.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "perseus.h"

#define FLOW_EPS 1e-9
#define FP_ERROR 1e-6 /* lowtime's FP_ERROR */

/* ---- Dinic ----------------------------------------------------------------------------------- */

/*
 * The residual network in compressed rows: each node's residual arcs are contiguous
 * (adjacency slots first[u] .. first[u + 1]), so the searches read `to` and `res` in order.
 * Arcs are added first (net_arc), then net_seal() lays them out; slot_of[k] says where the
 * k-th residual arc went (2i for arc i, 2i + 1 for its reverse) and rev[] pairs the slots.
 * Measured (bench/perseus_bench.c, 8 stages x 32 micro-batches, 1285 iterations, -O2, CPU
 * time to solve, on a loaded machine): linked adjacency lists and one path per search 1.10 s;
 * pushing through every arc of a node in one search, no zero-capacity arcs, only the nodes
 * arcs touch, and labelling stopped at t's level 0.78 s; these compressed rows 0.8-0.9 s (no
 * gain: kept for their simpler loops); starting each feasible flow from the last iteration's
 * (feasible_flow) 0.25-0.3 s.
 */
struct net {
    int n, m;        /* nodes, residual arcs (2 per arc) */
    int *tail, *head; /* per residual arc as added */
    double *cap0;     /* per residual arc as added */
    int *first;       /* n + 1: slot ranges per node */
    int *to, *rev;    /* per slot */
    double *res;      /* per slot: residual capacity */
    int *slot_of;     /* residual arc as added -> its slot */
    int *level, *iter, *queue;
};

static void net_free(struct net *g)
{
    free(g->tail);
    free(g->head);
    free(g->cap0);
    free(g->first);
    free(g->to);
    free(g->rev);
    free(g->res);
    free(g->slot_of);
    free(g->level);
    free(g->iter);
    free(g->queue);
}

static int net_init(struct net *g, int n, int arcs)
{
    size_t m = (size_t)2 * (arcs > 0 ? arcs : 1);

    memset(g, 0, sizeof *g);
    g->n = n;
    g->tail = malloc(m * sizeof *g->tail);
    g->head = malloc(m * sizeof *g->head);
    g->cap0 = malloc(m * sizeof *g->cap0);
    g->first = calloc((size_t)n + 1, sizeof *g->first);
    g->to = malloc(m * sizeof *g->to);
    g->rev = malloc(m * sizeof *g->rev);
    g->res = malloc(m * sizeof *g->res);
    g->slot_of = malloc(m * sizeof *g->slot_of);
    g->level = malloc((size_t)n * sizeof *g->level);
    g->iter = malloc((size_t)n * sizeof *g->iter);
    g->queue = malloc((size_t)n * sizeof *g->queue);
    if (!g->tail || !g->head || !g->cap0 || !g->first || !g->to || !g->rev || !g->res ||
        !g->slot_of || !g->level || !g->iter || !g->queue) {
        net_free(g);
        return -1;
    }
    return 0;
}

/* An arc u->v with capacity cap and, on its reverse, rcap (a residual pair: the reverse of
 * a real arc v->u). Its residual arcs are 2k and 2k + 1 for the k-th call. */
static void net_arc(struct net *g, int u, int v, double cap, double rcap)
{
    int k = g->m;

    g->tail[k] = u;
    g->head[k] = v;
    g->cap0[k] = cap > 0 ? cap : 0;
    g->tail[k + 1] = v;
    g->head[k + 1] = u;
    g->cap0[k + 1] = rcap > 0 ? rcap : 0;
    g->m += 2;
}

static void net_seal(struct net *g)
{
    for (int k = 0; k < g->m; k++)
        g->first[g->tail[k] + 1]++;
    for (int u = 0; u < g->n; u++)
        g->first[u + 1] += g->first[u];
    memcpy(g->iter, g->first, (size_t)g->n * sizeof *g->iter); /* fill cursors */
    for (int k = 0; k < g->m; k++) {
        int slot = g->iter[g->tail[k]]++;
        g->slot_of[k] = slot;
        g->to[slot] = g->head[k];
        g->res[slot] = g->cap0[k];
    }
    for (int k = 0; k < g->m; k += 2) {
        g->rev[g->slot_of[k]] = g->slot_of[k + 1];
        g->rev[g->slot_of[k + 1]] = g->slot_of[k];
    }
}

/* The residual capacity now left on the k-th residual arc as added. */
static double net_res(const struct net *g, int k)
{
    return g->res[g->slot_of[k]];
}

static int bfs_levels(struct net *g, int s, int t)
{
    int qh = 0, qt = 0;

    for (int i = 0; i < g->n; i++)
        g->level[i] = -1;
    g->level[s] = 0;
    g->queue[qt++] = s;
    while (qh < qt) {
        int u = g->queue[qh++];
        /* Nodes at t's level or beyond lead nowhere in this phase: stop labelling. */
        if (g->level[t] >= 0 && g->level[u] >= g->level[t])
            break;
        for (int e = g->first[u]; e < g->first[u + 1]; e++)
            if (g->res[e] > FLOW_EPS && g->level[g->to[e]] < 0) {
                g->level[g->to[e]] = g->level[u] + 1;
                g->queue[qt++] = g->to[e];
            }
    }
    return g->level[t] >= 0;
}

/*
 * Push up to `limit` from u toward t along the level graph, through as many arcs as it takes
 * (not one path per search: the paths here share long prefixes, a chain of a hundred arcs
 * along the critical path). An arc stays current while it may take more; a node that can
 * pass on nothing more leaves the level graph.
 */
static double push(struct net *g, int u, int t, double limit)
{
    double pushed = 0;

    if (u == t)
        return limit;
    for (; g->iter[u] < g->first[u + 1]; g->iter[u]++) {
        int e = g->iter[u], v = g->to[e];
        if (g->res[e] > FLOW_EPS && g->level[v] == g->level[u] + 1) {
            double want = limit - pushed < g->res[e] ? limit - pushed : g->res[e];
            double got = push(g, v, t, want);
            if (got > 0) {
                g->res[e] -= got;
                g->res[g->rev[e]] += got;
                pushed += got;
                if (limit - pushed <= FLOW_EPS)
                    return pushed;
            }
        }
    }
    g->level[u] = -1;
    return pushed;
}

static double dinic(struct net *g, int s, int t)
{
    double total = 0;

    net_seal(g);
    while (bfs_levels(g, s, t)) {
        memcpy(g->iter, g->first, (size_t)g->n * sizeof *g->iter);
        total += push(g, s, t, INFINITY);
    }
    return total;
}

/* networkx's stand-in for an infinite capacity: 3x the sum of the finite ones (or 1). */
static double finite_inf(const double *cap, int narcs)
{
    double sum = 0;

    for (int i = 0; i < narcs; i++)
        if (isfinite(cap[i]) && cap[i] > 0)
            sum += cap[i];
    return sum > 0 ? 3 * sum : 1;
}

/* Max flow over residual pairs (arc i: cap[i] forward, rcap[i] on its reverse); flow[i] gets
 * the net flow pushed along arc i (negative when it went back). */
static double max_flow_pairs(int nodes, const int (*ends)[2], const double *cap,
                             const double *rcap, int narcs, int s, int t, double *flow)
{
    struct net g;
    double inf = finite_inf(cap, narcs), total;

    if (net_init(&g, nodes, narcs) != 0)
        return -1;
    for (int i = 0; i < narcs; i++)
        net_arc(&g, ends[i][0], ends[i][1], isinf(cap[i]) ? inf : cap[i], rcap[i]);
    total = dinic(&g, s, t);
    for (int i = 0; i < narcs; i++) {
        double start = cap[i] > 0 ? (isinf(cap[i]) ? inf : cap[i]) : 0;
        flow[i] = start - net_res(&g, 2 * i); /* what the forward residual lost */
    }
    net_free(&g);
    return total;
}

double perseus_max_flow(int nodes, const int (*ends)[2], const double *cap, int narcs, int s,
                        int t, double *flow)
{
    double *zero = calloc((size_t)(narcs > 0 ? narcs : 1), sizeof *zero), total;

    if (zero == NULL)
        return -1;
    total = max_flow_pairs(nodes, ends, cap, zero, narcs, s, t, flow);
    free(zero);
    return total;
}

/* ---- lowtime's find_min_cut --------------------------------------------------------------- */

/*
 * A feasible flow within [lb, ub], by the standard reduction generalized to a starting flow:
 * begin with each arc's flow clamped into its bounds (lowtime begins at lb), give each arc the
 * residual pair ub - f forward and f - lb backward, let a new source s' feed each node what
 * it receives beyond what it sends and each node short of it drain to a new sink t', and let
 * t -> s carry anything. The bounds are feasible when the max flow saturates every s' and t'
 * arc (within 1e-6, as lowtime checks).
 *
 * Concept: lowtime starts every iteration from the lower bounds. Reality: that costs ~30
 * Dinic phases per iteration at 8 x 32, while the last iteration's flow (which the solver
 * passes in arcs[].flow) is balanced everywhere but around the few arcs that changed, and
 * takes 1-2. Any feasible flow serves, since the cut is read off a maximum flow (head
 * comment); the plans on the shared profiles stay lowtime's.
 */
static int feasible_flow(int nodes, perseus_flow_arc *arcs, int narcs, int s, int t)
{
    int sp = nodes, tp = nodes + 1, m = narcs, rc = PERSEUS_OK;
    size_t total = (size_t)narcs + (size_t)nodes + 1;
    int (*ends)[2] = malloc(total * sizeof *ends);
    double *cap = malloc(total * sizeof *cap), *rcap = malloc(total * sizeof *rcap);
    double *flow = malloc(total * sizeof *flow), *excess = calloc((size_t)nodes, sizeof *excess);

    if (!ends || !cap || !rcap || !flow || !excess) {
        rc = PERSEUS_ERR_NO_MEMORY;
        goto out;
    }
    for (int i = 0; i < narcs; i++) {
        double f = arcs[i].flow;
        if (!(f >= arcs[i].lb)) /* NaN too */
            f = arcs[i].lb;
        if (f > arcs[i].ub)
            f = arcs[i].ub;
        arcs[i].flow = f;
        ends[i][0] = arcs[i].u;
        ends[i][1] = arcs[i].v;
        cap[i] = arcs[i].ub - f;
        rcap[i] = f - arcs[i].lb;
        excess[arcs[i].v] += f;
        excess[arcs[i].u] -= f;
    }
    /* Nodes already balanced get no arc: it would carry nothing. */
    for (int u = 0; u < nodes; u++) {
        if (excess[u] > 0) {
            ends[m][0] = sp;
            ends[m][1] = u;
            cap[m] = excess[u];
            rcap[m++] = 0;
        } else if (excess[u] < 0) {
            ends[m][0] = u;
            ends[m][1] = tp;
            cap[m] = -excess[u];
            rcap[m++] = 0;
        }
    }
    ends[m][0] = t;
    ends[m][1] = s;
    cap[m] = INFINITY;
    rcap[m++] = 0;
    if (max_flow_pairs(nodes + 2, (const int(*)[2])ends, cap, rcap, m, sp, tp, flow) < 0) {
        rc = PERSEUS_ERR_NO_MEMORY;
        goto out;
    }
    for (int i = narcs; i < m - 1; i++)
        if (fabs(flow[i] - cap[i]) > FP_ERROR)
            rc = PERSEUS_FLOW_INFEASIBLE;
    for (int i = 0; i < narcs; i++)
        arcs[i].flow += flow[i];
out:
    free(ends);
    free(cap);
    free(rcap);
    free(flow);
    free(excess);
    return rc;
}

/* Raise the feasible flow to a maximum one: max flow on its residual network (forward
 * ub - flow, backward flow - lb), added to the arcs (forward minus backward). */
static int augment(int nodes, perseus_flow_arc *arcs, int narcs, int s, int t)
{
    struct net g;

    if (net_init(&g, nodes, narcs) != 0)
        return PERSEUS_ERR_NO_MEMORY;
    for (int i = 0; i < narcs; i++)
        net_arc(&g, arcs[i].u, arcs[i].v, arcs[i].ub - arcs[i].flow, arcs[i].flow - arcs[i].lb);
    dinic(&g, s, t);
    for (int i = 0; i < narcs; i++) {
        double fwd = arcs[i].ub - arcs[i].flow;
        /* Net flow pushed u -> v: what the forward residual lost (from its clamped start). */
        arcs[i].flow += (fwd > 0 ? fwd : 0) - net_res(&g, 2 * i);
    }
    net_free(&g);
    return PERSEUS_OK;
}

/*
 * lowtime's cut search, order and all: a stack from s; a popped node joins S (stopping at t);
 * its successors in the residual graph (its out-arcs in order, then the reverses of its
 * in-arcs in order) not yet in S are pushed when their residual's magnitude exceeds 1e-6.
 */
static int search_cut(int nodes, const perseus_flow_arc *arcs, int narcs, int s, int t,
                      unsigned char *in_s)
{
    int *out_start = calloc((size_t)nodes + 1, sizeof *out_start);
    int *in_start = calloc((size_t)nodes + 1, sizeof *in_start);
    int *in_list = malloc((size_t)(narcs > 0 ? narcs : 1) * sizeof *in_list);
    int *out_list = malloc((size_t)(narcs > 0 ? narcs : 1) * sizeof *out_list);
    int *fill = calloc((size_t)nodes + 1, sizeof *fill);
    int *ofill = calloc((size_t)nodes + 1, sizeof *ofill);
    int *stack = NULL, top = 0, cap = 0, rc = PERSEUS_ERR_NO_MEMORY;

    if (!out_start || !in_start || !in_list || !out_list || !fill || !ofill)
        goto out;
    for (int i = 0; i < narcs; i++) {
        out_start[arcs[i].u + 1]++;
        in_start[arcs[i].v + 1]++;
    }
    for (int v = 0; v < nodes; v++) {
        out_start[v + 1] += out_start[v];
        in_start[v + 1] += in_start[v];
    }
    for (int i = 0; i < narcs; i++) {
        in_list[in_start[arcs[i].v] + fill[arcs[i].v]++] = i;
        out_list[out_start[arcs[i].u] + ofill[arcs[i].u]++] = i;
    }
    memset(in_s, 0, (size_t)nodes);

#define PUSH(x)                                                                                 \
    do {                                                                                        \
        if (top == cap) {                                                                       \
            int ncap = cap ? cap * 2 : 64;                                                      \
            int *ns = realloc(stack, (size_t)ncap * sizeof *ns);                                \
            if (ns == NULL)                                                                     \
                goto out;                                                                       \
            stack = ns;                                                                         \
            cap = ncap;                                                                         \
        }                                                                                       \
        stack[top++] = (x);                                                                     \
    } while (0)

    PUSH(s);
    while (top > 0) {
        int cur = stack[--top];
        in_s[cur] = 1;
        if (cur == t)
            break;
        for (int k = out_start[cur]; k < out_start[cur + 1]; k++) {
            const perseus_flow_arc *a = &arcs[out_list[k]];
            if (!in_s[a->v] && fabs(a->ub - a->flow) > FP_ERROR)
                PUSH(a->v);
        }
        for (int k = in_start[cur]; k < in_start[cur + 1]; k++) {
            const perseus_flow_arc *a = &arcs[in_list[k]];
            if (!in_s[a->u] && fabs(a->flow - a->lb) > FP_ERROR)
                PUSH(a->u);
        }
    }
#undef PUSH
    rc = PERSEUS_OK;
out:
    free(out_start);
    free(in_start);
    free(in_list);
    free(out_list);
    free(fill);
    free(ofill);
    free(stack);
    return rc;
}

/* The flow problems on the nodes that arcs touch (and s and t), numbered 0..k-1 in node
 * order: the critical DAG leaves most of the AOA's nodes without an arc, and the searches
 * would visit them all. */
static int solve_compact(int nodes, perseus_flow_arc *arcs, int narcs, int s, int t,
                         unsigned char *in_s)
{
    int *map = malloc((size_t)nodes * sizeof *map), *back = malloc((size_t)nodes * sizeof *back);
    unsigned char *sub_s = malloc((size_t)nodes);
    int k = 0, rc = PERSEUS_ERR_NO_MEMORY;

    if (map == NULL || back == NULL || sub_s == NULL)
        goto out;
    for (int v = 0; v < nodes; v++)
        map[v] = -1;
    map[s] = map[t] = 0;
    for (int i = 0; i < narcs; i++)
        map[arcs[i].u] = map[arcs[i].v] = 0;
    for (int v = 0; v < nodes; v++)
        if (map[v] == 0) {
            back[k] = v;
            map[v] = k++;
        }
    for (int i = 0; i < narcs; i++) {
        arcs[i].u = map[arcs[i].u];
        arcs[i].v = map[arcs[i].v];
    }
    rc = feasible_flow(k, arcs, narcs, map[s], map[t]);
    if (rc == PERSEUS_OK)
        rc = augment(k, arcs, narcs, map[s], map[t]);
    if (rc == PERSEUS_OK)
        rc = search_cut(k, arcs, narcs, map[s], map[t], sub_s);
    for (int i = 0; i < narcs; i++) {
        arcs[i].u = back[arcs[i].u];
        arcs[i].v = back[arcs[i].v];
    }
    if (rc == PERSEUS_OK) {
        memset(in_s, 0, (size_t)nodes);
        for (int j = 0; j < k; j++)
            in_s[back[j]] = sub_s[j];
    }
out:
    free(map);
    free(back);
    free(sub_s);
    return rc;
}

int perseus_min_cut(int nodes, perseus_flow_arc *arcs, int narcs, int s, int t,
                    unsigned char *in_s)
{
    return solve_compact(nodes, arcs, narcs, s, t, in_s);
}
