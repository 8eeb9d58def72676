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
 * feasibility flow and one augmenting flow per iteration), and Dinic's O(V^2 E) bound and
 * blocking flows beat Edmonds-Karp's O(V E^2) on these layered graphs; the plans and costs
 * stay identical to lowtime's on the shared profiles (tests/unit/test_perseus_plan.c).
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

struct net {
    int n, m;   /* nodes, directed residual arcs (2 per arc) */
    int *head;  /* first residual arc out of each node, -1 for none */
    int *next;  /* next residual arc out of the same node */
    int *to;
    double *res; /* residual capacity */
    int *level, *iter, *queue;
};

static void net_free(struct net *g)
{
    free(g->head);
    free(g->next);
    free(g->to);
    free(g->res);
    free(g->level);
    free(g->iter);
    free(g->queue);
}

static int net_init(struct net *g, int n, int arcs)
{
    memset(g, 0, sizeof *g);
    g->n = n;
    g->head = malloc((size_t)n * sizeof *g->head);
    g->next = malloc((size_t)2 * arcs * sizeof *g->next);
    g->to = malloc((size_t)2 * arcs * sizeof *g->to);
    g->res = malloc((size_t)2 * arcs * sizeof *g->res);
    g->level = malloc((size_t)n * sizeof *g->level);
    g->iter = malloc((size_t)n * sizeof *g->iter);
    g->queue = malloc((size_t)n * sizeof *g->queue);
    if (!g->head || !g->next || !g->to || !g->res || !g->level || !g->iter || !g->queue) {
        net_free(g);
        return -1;
    }
    for (int i = 0; i < n; i++)
        g->head[i] = -1;
    return 0;
}

/* An arc u->v with capacity cap and, on its reverse, rcap (a residual pair: the reverse of
 * a real arc v->u). Its residual arcs are 2k and 2k + 1 for the k-th call. */
static void net_arc(struct net *g, int u, int v, double cap, double rcap)
{
    int k = g->m;

    g->to[k] = v;
    g->res[k] = cap > 0 ? cap : 0;
    g->next[k] = g->head[u];
    g->head[u] = k;
    g->to[k + 1] = u;
    g->res[k + 1] = rcap > 0 ? rcap : 0;
    g->next[k + 1] = g->head[v];
    g->head[v] = k + 1;
    g->m += 2;
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
        for (int e = g->head[u]; e >= 0; e = g->next[e])
            if (g->res[e] > FLOW_EPS && g->level[g->to[e]] < 0) {
                g->level[g->to[e]] = g->level[u] + 1;
                g->queue[qt++] = g->to[e];
            }
    }
    return g->level[t] >= 0;
}

static double push(struct net *g, int u, int t, double limit)
{
    if (u == t)
        return limit;
    for (; g->iter[u] >= 0; g->iter[u] = g->next[g->iter[u]]) {
        int e = g->iter[u], v = g->to[e];
        if (g->res[e] > FLOW_EPS && g->level[v] == g->level[u] + 1) {
            double got = push(g, v, t, limit < g->res[e] ? limit : g->res[e]);
            if (got > 0) {
                g->res[e] -= got;
                g->res[e ^ 1] += got;
                return got;
            }
        }
    }
    return 0;
}

static double dinic(struct net *g, int s, int t)
{
    double total = 0;

    while (bfs_levels(g, s, t)) {
        double f;
        memcpy(g->iter, g->head, (size_t)g->n * sizeof *g->iter);
        while ((f = push(g, s, t, INFINITY)) > 0)
            total += f;
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

double perseus_max_flow(int nodes, const int (*ends)[2], const double *cap, int narcs, int s,
                        int t, double *flow)
{
    struct net g;
    double inf = finite_inf(cap, narcs), total;

    if (net_init(&g, nodes, narcs) != 0)
        return -1;
    for (int i = 0; i < narcs; i++)
        net_arc(&g, ends[i][0], ends[i][1], isinf(cap[i]) ? inf : cap[i], 0);
    total = dinic(&g, s, t);
    for (int i = 0; i < narcs; i++)
        flow[i] = g.res[2 * i + 1]; /* what the reverse gained is what went through */
    net_free(&g);
    return total;
}

/* ---- lowtime's find_min_cut --------------------------------------------------------------- */

/*
 * A feasible flow within [lb, ub]: the standard reduction. Arc capacities ub - lb; a new
 * source s' feeds each node the lower bounds of its in-arcs, each node drains the lower
 * bounds of its out-arcs to a new sink t', and t -> s is unbounded. The bounds are feasible
 * when the max flow saturates every s' and t' arc (within 1e-6, as lowtime checks).
 */
static int feasible_flow(int nodes, perseus_flow_arc *arcs, int narcs, int s, int t)
{
    int sp = nodes, tp = nodes + 1, total = narcs + 2 * nodes + 1, rc = PERSEUS_OK;
    int (*ends)[2] = malloc((size_t)total * sizeof *ends);
    double *cap = malloc((size_t)total * sizeof *cap), *flow = malloc((size_t)total * sizeof *flow);

    if (ends == NULL || cap == NULL || flow == NULL) {
        rc = PERSEUS_ERR_NO_MEMORY;
        goto out;
    }
    for (int i = 0; i < narcs; i++) {
        ends[i][0] = arcs[i].u;
        ends[i][1] = arcs[i].v;
        cap[i] = arcs[i].ub - arcs[i].lb;
    }
    for (int u = 0; u < nodes; u++) {
        ends[narcs + u][0] = sp;
        ends[narcs + u][1] = u;
        cap[narcs + u] = 0.0;
        ends[narcs + nodes + u][0] = u;
        ends[narcs + nodes + u][1] = tp;
        cap[narcs + nodes + u] = 0.0;
    }
    /* Summed in networkx's predecessor and successor order, which is the arcs' order. */
    for (int i = 0; i < narcs; i++) {
        cap[narcs + arcs[i].v] += arcs[i].lb;
        cap[narcs + nodes + arcs[i].u] += arcs[i].lb;
    }
    ends[total - 1][0] = t;
    ends[total - 1][1] = s;
    cap[total - 1] = INFINITY;
    if (perseus_max_flow(nodes + 2, (const int(*)[2])ends, cap, total, sp, tp, flow) < 0) {
        rc = PERSEUS_ERR_NO_MEMORY;
        goto out;
    }
    for (int i = narcs; i < narcs + 2 * nodes; i++)
        if (fabs(flow[i] - cap[i]) > FP_ERROR)
            rc = PERSEUS_FLOW_INFEASIBLE;
    for (int i = 0; i < narcs; i++)
        arcs[i].flow = flow[i] + arcs[i].lb;
out:
    free(ends);
    free(cap);
    free(flow);
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
        arcs[i].flow += (fwd > 0 ? fwd : 0) - g.res[2 * i];
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

int perseus_min_cut(int nodes, perseus_flow_arc *arcs, int narcs, int s, int t,
                    unsigned char *in_s)
{
    int rc = feasible_flow(nodes, arcs, narcs, s, t);

    if (rc != PERSEUS_OK)
        return rc;
    rc = augment(nodes, arcs, narcs, s, t);
    if (rc != PERSEUS_OK)
        return rc;
    return search_cut(nodes, arcs, narcs, s, t, in_s);
}
