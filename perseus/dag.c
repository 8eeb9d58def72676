/*
 * dag.c - The synchronous 1F1B pipeline as a DAG of instructions (activity on node), and its
 * activity-on-arc form that the Phillips-Dessouky solver works on.
 *
 * Source: lowtime v0.2.0 lowtime/perseus/schedule.py (Synchronous1F1B), lowtime/graph_utils.py
 * (add_source_node, add_sink_node, aon_dag_to_aoa_dag, relabel_nodes_to_int), Zeus's
 * examples/pipeline_frequency_optimizer/run_optimization.py (node ids, edge order).
 *
 * Concept: the AOA graph is fixed by the AON graph: split each instruction into two nodes
 * joined by its arc, and turn each dependency into a dummy arc. Reality: lowtime's results
 * depend on the graph's adjacency order, not just its shape. Its critical path length is the
 * sum along the first depth-first descent from the source, which follows each node's first
 * critical successor, and its cut search walks successors in order. networkx keeps each
 * node's successors and predecessors in insertion order, copies and relabellings re-insert
 * edges tail by tail (so predecessors come out sorted by the tail's position), and the
 * conversion removes each node and re-adds its neighbours as it goes. So this file replays
 * exactly those insertions and removals on a small ordered graph (struct og) instead of
 * building the result directly: each step below names the networkx call it stands for.
 * The test compares small graphs against ones drawn by hand and the solver's results against
 * lowtime's, which would drift on a different order.
 */
#include <stdlib.h>
#include <string.h>

#include "perseus.h"

/* ---- An ordered digraph: networkx DiGraph's dict order, for int nodes ---------------------- */

struct adj {
    int *v;  /* neighbour ids in insertion order */
    int *op; /* successors only: the arc's instruction, -1 for a dummy */
    int n, cap;
};

struct og {
    int cap;             /* node ids are 0..cap-1 */
    unsigned char *live; /* node present */
    int *order;          /* node ids in insertion order (removed ones stay, skipped) */
    int norder;
    struct adj *succ, *pred;
    int failed; /* out of memory */
};

static int og_init(struct og *g, int cap)
{
    memset(g, 0, sizeof *g);
    g->cap = cap;
    g->live = calloc((size_t)cap, 1);
    g->order = malloc((size_t)cap * sizeof *g->order);
    g->succ = calloc((size_t)cap, sizeof *g->succ);
    g->pred = calloc((size_t)cap, sizeof *g->pred);
    return (g->live && g->order && g->succ && g->pred) ? 0 : -1;
}

static void og_free(struct og *g)
{
    if (g->succ)
        for (int i = 0; i < g->cap; i++) {
            free(g->succ[i].v);
            free(g->succ[i].op);
        }
    if (g->pred)
        for (int i = 0; i < g->cap; i++)
            free(g->pred[i].v);
    free(g->live);
    free(g->order);
    free(g->succ);
    free(g->pred);
    memset(g, 0, sizeof *g);
}

/* G.add_node(n): appended to the node order unless present. */
static void og_add_node(struct og *g, int n)
{
    if (g->live[n])
        return;
    g->live[n] = 1;
    g->order[g->norder++] = n;
}

static int adj_find(const struct adj *a, int v)
{
    for (int i = 0; i < a->n; i++)
        if (a->v[i] == v)
            return i;
    return -1;
}

static void adj_push(struct og *g, struct adj *a, int v, int op, int with_op)
{
    if (a->n == a->cap) {
        int ncap = a->cap ? a->cap * 2 : 4;
        int *nv = realloc(a->v, (size_t)ncap * sizeof *nv);
        int *nop = nv && with_op ? realloc(a->op, (size_t)ncap * sizeof *nop) : NULL;
        if (nv)
            a->v = nv;
        if (nop)
            a->op = nop;
        if (nv == NULL || (with_op && nop == NULL)) {
            g->failed = 1;
            return;
        }
        a->cap = ncap;
    }
    a->v[a->n] = v;
    if (with_op)
        a->op[a->n] = op;
    a->n++;
}

static void adj_remove(struct adj *a, int v)
{
    int i = adj_find(a, v);

    if (i < 0)
        return;
    memmove(a->v + i, a->v + i + 1, (size_t)(a->n - i - 1) * sizeof *a->v);
    if (a->op)
        memmove(a->op + i, a->op + i + 1, (size_t)(a->n - i - 1) * sizeof *a->op);
    a->n--;
}

/* G.add_edge(u, v, op=...): adds missing nodes (u first); an existing edge keeps its place. */
static void og_add_edge(struct og *g, int u, int v, int op)
{
    int at;

    og_add_node(g, u);
    og_add_node(g, v);
    at = adj_find(&g->succ[u], v);
    if (at >= 0) {
        g->succ[u].op[at] = op;
        return;
    }
    adj_push(g, &g->succ[u], v, op, 1);
    adj_push(g, &g->pred[v], u, 0, 0);
}

/* G.remove_node(n): drops n from its neighbours' lists, keeping their order. */
static void og_remove_node(struct og *g, int n)
{
    for (int i = 0; i < g->succ[n].n; i++)
        adj_remove(&g->pred[g->succ[n].v[i]], n);
    for (int i = 0; i < g->pred[n].n; i++)
        adj_remove(&g->succ[g->pred[n].v[i]], n);
    g->succ[n].n = 0;
    g->pred[n].n = 0;
    g->live[n] = 0;
}

/*
 * nx.relabel_nodes(G, mapping, copy=True), and nx.DiGraph(G) with the identity mapping: nodes
 * in G's order, then edges tail by tail in successor order. `map` gets old -> new ids.
 */
static int og_relabel(const struct og *g, struct og *out, int *map, int out_cap)
{
    int next = 0;

    if (og_init(out, out_cap) != 0)
        return -1;
    for (int i = 0; i < g->norder; i++)
        if (g->live[g->order[i]])
            map[g->order[i]] = next++;
    for (int i = 0; i < g->norder; i++)
        if (g->live[g->order[i]])
            og_add_node(out, map[g->order[i]]);
    for (int i = 0; i < g->norder; i++) {
        int u = g->order[i];
        if (!g->live[u])
            continue;
        for (int k = 0; k < g->succ[u].n; k++)
            og_add_edge(out, map[u], map[g->succ[u].v[k]], g->succ[u].op[k]);
    }
    return out->failed ? -1 : 0;
}

/* ---- Synchronous 1F1B (DeepSpeed's TrainSchedule mapping) --------------------------------- */

/* The micro-batch and direction of `step` on `stage`. */
static void step_to_micro_batch(int stages, int stage, int step, int *mb, int *forward)
{
    int even_step = step % 2 == 0, even_stage = stage % 2 == 0;

    if (even_step && even_stage) {
        *mb = step / 2 - stage / 2;
        *forward = 1;
    } else if (!even_step && !even_stage) {
        *mb = (step - 1) / 2 - stage / 2;
        *forward = 1;
    } else if (even_step && !even_stage) {
        *mb = step / 2 - stages + (stage + 1) / 2;
        *forward = 0;
    } else {
        *mb = (step - 1) / 2 - stages + 1 + stage / 2;
        *forward = 0;
    }
}

static int build_schedule(perseus_dag *d)
{
    int S = d->stages, M = d->micro_batches, n = 0;

    d->ninsts = 2 * S * M;
    d->insts = malloc((size_t)d->ninsts * sizeof *d->insts);
    d->stage_start = malloc((size_t)(S + 1) * sizeof *d->stage_start);
    if (d->insts == NULL || d->stage_start == NULL)
        return -1;
    for (int s = 0; s < S; s++) {
        d->stage_start[s] = n;
        for (int step = 0; step < 2 * (M + S - 1); step++) {
            int mb, fwd;
            step_to_micro_batch(S, s, step, &mb, &fwd);
            if (mb < 0 || mb >= M)
                continue;
            d->insts[n].stage = s;
            d->insts[n].micro_batch = mb;
            d->insts[n].instruction = fwd ? PERSEUS_FORWARD : PERSEUS_BACKWARD;
            n++;
        }
    }
    d->stage_start[S] = n;
    return n == d->ninsts ? 0 : -1;
}

/* lowtime's forward_dep and backward_dep: F(s,m) -> F(s+1,m); B(s+1,m) -> B(s,m). */
static int depends(const perseus_inst *a, const perseus_inst *b)
{
    if (a->micro_batch != b->micro_batch || a->instruction != b->instruction)
        return 0;
    if (a->instruction == PERSEUS_FORWARD)
        return a->stage + 1 == b->stage;
    return a->stage == b->stage + 1;
}

/* ---- The AON DAG as run_optimization.py builds it ----------------------------------------- */

static void build_aon(const perseus_dag *d, struct og *g)
{
    int N = d->ninsts;

    /* Nodes 2.. stage by stage, each stage's chain right after its nodes. */
    for (int s = 0; s < d->stages; s++) {
        for (int i = d->stage_start[s]; i < d->stage_start[s + 1]; i++)
            og_add_node(g, 2 + i);
        for (int i = d->stage_start[s]; i + 1 < d->stage_start[s + 1]; i++)
            og_add_edge(g, 2 + i, 3 + i, -1);
    }
    /* itertools.product(nodes, nodes) with the dependency rules. */
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            if (depends(&d->insts[i], &d->insts[j]))
                og_add_edge(g, 2 + i, 2 + j, -1);
    /* add_source_node(dag, 0), then add_sink_node(dag, 1), over the node order. */
    og_add_node(g, 0);
    for (int k = 0; k < g->norder; k++) {
        int n = g->order[k];
        if (n != 0 && g->pred[n].n == 0)
            og_add_edge(g, 0, n, -1);
    }
    og_add_node(g, 1);
    for (int k = 0; k < g->norder; k++) {
        int n = g->order[k];
        if (n != 1 && g->succ[n].n == 0)
            og_add_edge(g, n, 1, -1);
    }
}

static int record_aon_edges(perseus_dag *d, const struct og *g)
{
    int n = 0;

    for (int k = 0; k < g->norder; k++)
        n += g->succ[g->order[k]].n;
    d->aon_edges = malloc((size_t)(n > 0 ? n : 1) * sizeof *d->aon_edges);
    if (d->aon_edges == NULL)
        return -1;
    d->naon_edges = 0;
    for (int k = 0; k < g->norder; k++) {
        int u = g->order[k];
        for (int i = 0; i < g->succ[u].n; i++) {
            d->aon_edges[d->naon_edges][0] = u;
            d->aon_edges[d->naon_edges][1] = g->succ[u].v[i];
            d->naon_edges++;
        }
    }
    return 0;
}

/* ---- AON to AOA (aon_dag_to_aoa_dag) -------------------------------------------------------- */

/*
 * Split the nodes of `aon` (already relabelled to 0..n-1; node_op[i] its instruction or -1)
 * in BFS order from `source`, on a copy that is modified as it goes.
 */
static int split_nodes(const struct og *aon, const int *node_op, int source, int sink,
                       struct og *aoa, int *new_source, int *new_sink)
{
    int n = aon->norder, next = n, head = 0, tail = 0;
    int *queue = malloc((size_t)n * sizeof *queue), *tmp = malloc((size_t)n * 2 * sizeof *tmp);
    unsigned char *seen = calloc((size_t)n, 1);
    int *map = malloc((size_t)(3 * n) * sizeof *map);
    int rc = -1;

    if (queue == NULL || tmp == NULL || seen == NULL || map == NULL)
        goto out;
    /* aoa = nx.DiGraph(aon), with room for the new nodes. */
    if (og_relabel(aon, aoa, map, 3 * n) != 0)
        goto out;
    queue[tail++] = source;
    seen[source] = 1;
    while (head < tail) {
        int cur = queue[head++];
        int npred = aoa->pred[cur].n, nsucc = aoa->succ[cur].n;
        int left = next++, right = next++;

        /* bfs_nodes(aon, source): FIFO over the unmodified graph's successors. */
        for (int i = 0; i < aon->succ[cur].n; i++) {
            int c = aon->succ[cur].v[i];
            if (!seen[c]) {
                seen[c] = 1;
                queue[tail++] = c;
            }
        }
        if (npred > 0) /* an empty list has no array yet */
            memcpy(tmp, aoa->pred[cur].v, (size_t)npred * sizeof *tmp);
        if (nsucc > 0)
            memcpy(tmp + npred, aoa->succ[cur].v, (size_t)nsucc * sizeof *tmp);
        og_remove_node(aoa, cur);
        og_add_edge(aoa, left, right, node_op[cur]);
        if (cur == source)
            *new_source = left;
        if (cur == sink)
            *new_sink = right;
        for (int i = 0; i < npred; i++)
            og_add_edge(aoa, tmp[i], left, -1);
        for (int i = 0; i < nsucc; i++)
            og_add_edge(aoa, right, tmp[npred + i], -1);
        if (aoa->failed)
            goto out;
    }
    rc = tail == n ? 0 : -1; /* every node is reachable from the source */
out:
    free(queue);
    free(tmp);
    free(seen);
    free(map);
    return rc;
}

/* The final relabel_nodes_to_int, into the flat arrays of perseus_dag. */
static int flatten(perseus_dag *d, const struct og *aoa, int src, int snk)
{
    int *map = malloc((size_t)aoa->cap * sizeof *map);
    int *fill, n = 0, a = 0;

    if (map == NULL)
        return -1;
    if (src < 0 || snk < 0 || src >= aoa->cap || snk >= aoa->cap || !aoa->live[src] ||
        !aoa->live[snk]) {
        free(map);
        return -1; /* the split never reached the source or the sink */
    }
    for (int k = 0; k < aoa->cap; k++)
        map[k] = -1;
    for (int k = 0; k < aoa->norder; k++)
        if (aoa->live[aoa->order[k]])
            map[aoa->order[k]] = n++;
    d->nodes = n;
    d->source = map[src];
    d->sink = map[snk];
    d->narcs = 0;
    for (int k = 0; k < aoa->norder; k++)
        if (aoa->live[aoa->order[k]])
            d->narcs += aoa->succ[aoa->order[k]].n;
    d->arcs = malloc((size_t)d->narcs * sizeof *d->arcs);
    d->out_start = malloc((size_t)(n + 1) * sizeof *d->out_start);
    d->in_start = calloc((size_t)(n + 1), sizeof *d->in_start);
    d->in_arcs = malloc((size_t)d->narcs * sizeof *d->in_arcs);
    fill = calloc((size_t)(n + 1), sizeof *fill);
    if (!d->arcs || !d->out_start || !d->in_start || !d->in_arcs || !fill) {
        free(map);
        free(fill);
        return -1;
    }
    for (int k = 0; k < aoa->norder; k++) {
        int u = aoa->order[k];
        if (!aoa->live[u])
            continue;
        d->out_start[map[u]] = a;
        for (int i = 0; i < aoa->succ[u].n; i++, a++) {
            d->arcs[a].u = map[u];
            d->arcs[a].v = map[aoa->succ[u].v[i]];
            d->arcs[a].op = aoa->succ[u].op[i];
        }
    }
    d->out_start[n] = a;
    /* Predecessors by ascending tail: arcs are sorted by tail, so a stable bucket pass. */
    for (int i = 0; i < d->narcs; i++)
        d->in_start[d->arcs[i].v + 1]++;
    for (int v = 0; v < n; v++)
        d->in_start[v + 1] += d->in_start[v];
    for (int i = 0; i < d->narcs; i++) {
        int v = d->arcs[i].v;
        d->in_arcs[d->in_start[v] + fill[v]++] = i;
    }
    free(map);
    free(fill);
    return 0;
}

/* lowtime's sanity checks: 2x the nodes, edges + nodes arcs, a source and a sink, acyclic. */
static int check_aoa(const perseus_dag *d, int aon_nodes, int aon_edges, perseus_error *err)
{
    int *indeg = calloc((size_t)d->nodes, sizeof *indeg), *stack, top = 0, seen = 0;

    if (indeg == NULL)
        return PERSEUS_ERR_NO_MEMORY;
    stack = malloc((size_t)d->nodes * sizeof *stack);
    if (stack == NULL) {
        free(indeg);
        return PERSEUS_ERR_NO_MEMORY;
    }
    for (int i = 0; i < d->narcs; i++)
        indeg[d->arcs[i].v]++;
    for (int v = 0; v < d->nodes; v++)
        if (indeg[v] == 0)
            stack[top++] = v;
    while (top > 0) {
        int u = stack[--top];
        seen++;
        for (int i = d->out_start[u]; i < d->out_start[u + 1]; i++)
            if (--indeg[d->arcs[i].v] == 0)
                stack[top++] = d->arcs[i].v;
    }
    free(indeg);
    free(stack);
    if (d->nodes != 2 * aon_nodes || d->narcs != aon_edges + aon_nodes || seen != d->nodes ||
        d->in_start[d->source + 1] != d->in_start[d->source] ||
        d->out_start[d->sink + 1] != d->out_start[d->sink]) {
        snprintf(err->msg, sizeof err->msg,
                 "internal error: the activity-on-arc DAG fails lowtime's checks (%d nodes, "
                 "%d arcs from %d nodes and %d edges)",
                 d->nodes, d->narcs, aon_nodes, aon_edges);
        return PERSEUS_ERR_GRAPH;
    }
    return PERSEUS_OK;
}

int perseus_dag_build(int stages, int micro_batches, perseus_dag *d, perseus_error *err)
{
    struct og g0, g1, aoa;
    int *map = NULL, *node_op = NULL, N, src = -1, snk = -1, rc = PERSEUS_ERR_NO_MEMORY;

    memset(d, 0, sizeof *d);
    memset(&g0, 0, sizeof g0);
    memset(&g1, 0, sizeof g1);
    memset(&aoa, 0, sizeof aoa);
    if (stages < 1 || micro_batches < 1 || stages > 4096 || micro_batches > 65536 ||
        (long)stages * micro_batches > 1L << 20) {
        snprintf(err->msg, sizeof err->msg,
                 "stages (%d) and micro-batches (%d) must be positive, and their product "
                 "at most 2^20",
                 stages, micro_batches);
        return PERSEUS_ERR_INPUT;
    }
    d->stages = stages;
    d->micro_batches = micro_batches;
    if (build_schedule(d) != 0)
        goto fail;
    N = d->ninsts;
    if (og_init(&g0, N + 2) != 0)
        goto fail;
    build_aon(d, &g0);
    if (g0.failed || record_aon_edges(d, &g0) != 0)
        goto fail;
    /* relabel_nodes_to_int(aon): 2.. become 0.., the source N, the sink N + 1. */
    map = malloc((size_t)(N + 2) * sizeof *map);
    node_op = malloc((size_t)(N + 2) * sizeof *node_op);
    if (map == NULL || node_op == NULL || og_relabel(&g0, &g1, map, N + 2) != 0)
        goto fail;
    for (int i = 0; i < N + 2; i++)
        node_op[map[i]] = i >= 2 ? i - 2 : -1;
    if (split_nodes(&g1, node_op, map[0], map[1], &aoa, &src, &snk) != 0)
        goto fail;
    if (flatten(d, &aoa, src, snk) != 0)
        goto fail;
    rc = check_aoa(d, N + 2, d->naon_edges, err);
    goto out;
fail:
    snprintf(err->msg, sizeof err->msg,
             "cannot build the %d x %d pipeline DAG (out of memory, or a node the source "
             "does not reach)",
             stages, micro_batches);
out:
    og_free(&g0);
    og_free(&g1);
    og_free(&aoa);
    free(map);
    free(node_op);
    if (rc != PERSEUS_OK)
        perseus_dag_free(d);
    return rc;
}

void perseus_dag_free(perseus_dag *d)
{
    free(d->insts);
    free(d->stage_start);
    free(d->aon_edges);
    free(d->arcs);
    free(d->out_start);
    free(d->in_start);
    free(d->in_arcs);
    memset(d, 0, sizeof *d);
}
