/*
 * perseus.h - The Perseus planner's algorithm: a C port of lowtime 0.2.0's time-cost trade-off
 * solver (the Phillips-Dessouky algorithm) as Zeus's examples/pipeline_frequency_optimizer/
 * run_optimization.py drives it. Spec: ../shared/reference/zeus-optimizers-zeusd.md sections
 * 4.1 and 4.4; source of truth where the spec is silent: ml-energy/lowtime v0.2.0 (lowtime/).
 *
 * One job per file:
 *   pyfloat.c    Python's float floor division, which lowtime's quantization and rounding use
 *   profile.c    the profile CSV (stage,instruction,frequency,time,energy) and its refusals
 *   options.c    the candidate filter (Pareto with noise factor, quantization, dedup, retry)
 *   costmodel.c  a*exp(b*t)+c fitted by Levenberg-Marquardt (MINPACK, as SciPy's curve_fit)
 *   dag.c        the synchronous 1F1B DAG and its activity-on-arc form
 *   maxflow.c    max flow (Dinic) with lower and upper bounds, and lowtime's cut search
 *   solver.c     the Phillips-Dessouky iterations
 *   output.c     freqs_pipeline_%05d.py and summary.csv
 *
 * Nothing but output.c and profile.c's reader touches a file, and nothing reads a clock or
 * keeps global state: `zeus perseus plan`, the bench and the tests call the same functions.
 * Names start with perseus_ (the library's public API is zeus_*; this is not part of it).
 *
 * Matching lowtime's plans step for step needs more than its arithmetic: its graphs are
 * networkx DiGraphs whose adjacency is kept in insertion order, and the critical path's length
 * is read off the first depth-first descent, so dag.c reproduces networkx's orders exactly
 * (see its head comment).
 */
#ifndef ZEUS_PERSEUS_H
#define ZEUS_PERSEUS_H

#include <stddef.h>
#include <stdio.h>

/* ---- Errors ------------------------------------------------------------------------------ */

/* Every failure fills one line for the user: what is wrong and, for the profile, where. */
typedef struct perseus_error {
    char msg[320];
} perseus_error;

#define PERSEUS_OK 0
#define PERSEUS_ERR_INPUT (-1)      /* bad profile or parameters: the message says which */
#define PERSEUS_ERR_NO_MEMORY (-2)
#define PERSEUS_ERR_FIT (-3)        /* no initial guess of the grid gave a good fit */
#define PERSEUS_ERR_GRAPH (-4)      /* an internal check of the DAG failed (a bug) */

/* ---- Python float arithmetic (pyfloat.c) ------------------------------------------------- */

/* x // y as Python computes it for floats (fmod-based, so 0.019 // 0.001 is 18.0). */
double perseus_py_floordiv(double x, double y);

/* ---- The profile (profile.c) ------------------------------------------------------------- */

#define PERSEUS_FORWARD 0
#define PERSEUS_BACKWARD 1

typedef struct perseus_row {
    int stage;
    int instruction; /* PERSEUS_FORWARD or PERSEUS_BACKWARD */
    int frequency;   /* MHz: the knob */
    double time_s;
    double energy_j;
    unsigned line;   /* 1-based line in the file, for messages */
} perseus_row;

typedef struct perseus_profile {
    perseus_row *rows;
    size_t count;
    char *name; /* the file's name, for messages */
} perseus_profile;

/*
 * Parse the CSV text (header "stage,instruction,frequency,time,energy", columns in any order,
 * extra columns ignored, as pandas reads it). Refuses, naming the line: a missing column, a
 * field that is not a number, a negative stage, an instruction other than forward/backward,
 * NaN or infinite time or energy, non-positive time or energy. `name` is the file's name for
 * messages. On success the caller frees with perseus_profile_free().
 */
int perseus_profile_parse(const char *text, size_t len, const char *name, perseus_profile *out,
                          perseus_error *err);

/* Read and parse a file; as perseus_profile_parse. */
int perseus_profile_read(const char *path, perseus_profile *out, perseus_error *err);

/*
 * Check that every stage below `stages` has forward and backward rows, each with at least two
 * distinct frequencies. The message names the stage and instruction (and the one row).
 */
int perseus_profile_check(const perseus_profile *p, int stages, perseus_error *err);

void perseus_profile_free(perseus_profile *p);

/* ---- Execution options (options.c) ------------------------------------------------------- */

typedef struct perseus_option {
    int knob;         /* frequency, MHz */
    double real_time; /* s */
    long quant_time;  /* real_time // unit_time */
    double cost;      /* effective energy: energy - p2p_power * quant_time * unit_time, J */
} perseus_option;

/* real_time // unit_time, as lowtime's ExecutionOption.quant_time. */
long perseus_quantize(double real_time_s, double unit_time_s);

/*
 * The options of one stage and instruction, in the profile's row order, with effective cost.
 * `out` holds p->count entries; returns how many were written.
 */
size_t perseus_options_from_profile(const perseus_profile *p, int stage, int instruction,
                                    double unit_time_s, double p2p_power_w,
                                    perseus_option *out);

/*
 * lowtime's CandidateExecutionOptions: keep the options no other option beats in both
 * real_time and cost by more than the noise factor, keep one per quant_time (the largest
 * cost), sort by quant_time descending. `out` holds n entries; returns how many were kept.
 */
size_t perseus_options_filter(const perseus_option *in, size_t n, double noise_factor,
                              perseus_option *out);

/*
 * What run_optimization.py does: filter with noise factor 1, and when 3 or fewer survive,
 * filter again with `noise_factor`. Returns how many were kept.
 */
size_t perseus_options_candidates(const perseus_option *in, size_t n, double noise_factor,
                                  perseus_option *out);

/*
 * The slowest candidate whose quant_time is at most `duration` (the fastest when none is):
 * lowtime's get_knob_for. `cand` is sorted by quant_time descending. Returns its index.
 */
size_t perseus_options_knob_for(const perseus_option *cand, size_t n, long duration);

/* ---- The cost model (costmodel.c) -------------------------------------------------------- */

typedef enum perseus_fit_strategy {
    PERSEUS_FIT_BEST = 0,  /* lowest mean squared error over the grid (the example) */
    PERSEUS_FIT_FIRST = 1, /* the first good fit (lowtime's default) */
} perseus_fit_strategy;

/* a*exp(b*t)+c at quantized time t, rounding as lowtime's numpy expression does. */
double perseus_cost_eval(const double abc[3], long quant_time);

/*
 * Fit abc to the candidates' (quant_time, cost) from lowtime's grid of initial guesses.
 * Returns PERSEUS_ERR_FIT (with the stage and instruction from `what` in the message) when no
 * guess fits, which is always so for 3 or fewer candidates.
 */
int perseus_cost_fit(const perseus_option *cand, size_t n, double unit_time_s,
                     perseus_fit_strategy strategy, const char *what, double abc[3],
                     perseus_error *err);

/* ---- The DAG (dag.c) --------------------------------------------------------------------- */

/* One instruction of the 1F1B schedule: a node of the AON DAG, an arc of the AOA DAG. */
typedef struct perseus_inst {
    int stage;
    int micro_batch;
    int instruction; /* PERSEUS_FORWARD or PERSEUS_BACKWARD */
} perseus_inst;

/* An arc of the activity-on-arc DAG: an instruction, or a dummy (op < 0). */
typedef struct perseus_arc {
    int u, v;
    int op; /* index into insts, or -1 */
} perseus_arc;

typedef struct perseus_dag {
    int stages, micro_batches;
    /* The instructions, stage by stage in schedule order: stage s's are
     * insts[stage_start[s] .. stage_start[s + 1]). */
    perseus_inst *insts;
    int ninsts;
    int *stage_start;
    /* The AON DAG as lowtime builds it: node 0 the source, 1 the sink, 2 + i instruction i;
     * edges in insertion order. */
    int (*aon_edges)[2];
    int naon_edges;
    /* The AOA DAG after lowtime's final relabelling: nodes 0..nodes-1, arcs in networkx's
     * edge order (by tail, then successor order); arcs of node u are
     * arcs[out_start[u] .. out_start[u + 1]). in_arcs lists, per node, its incoming arcs by
     * ascending tail: in_arcs[in_start[v] .. in_start[v + 1]). */
    int nodes, source, sink;
    perseus_arc *arcs;
    int narcs;
    int *out_start;
    int *in_start, *in_arcs;
} perseus_dag;

/* Build the synchronous 1F1B DAG of S stages and M micro-batches and its AOA form. */
int perseus_dag_build(int stages, int micro_batches, perseus_dag *out, perseus_error *err);

void perseus_dag_free(perseus_dag *d);

/* ---- Max flow with bounds (maxflow.c) ---------------------------------------------------- */

/* An arc of a flow problem with lower and upper bounds. */
typedef struct perseus_flow_arc {
    int u, v;
    double lb, ub;
    double flow; /* in: where to start (clamped into [lb, ub]; 0 is fine); out: the flow */
} perseus_flow_arc;

#define PERSEUS_FLOW_INFEASIBLE 1

/*
 * lowtime's find_min_cut on a graph of `nodes` nodes whose arcs are given in networkx edge
 * order: find a feasible flow within the bounds, starting from arcs[].flow (returns
 * PERSEUS_FLOW_INFEASIBLE when none exists), raise it to a maximum s-t flow, and mark in
 * in_s[] (nodes entries) the nodes that lowtime's search from s over residual capacities
 * above 1e-6 reaches. Flows go to arcs[].flow.
 * Returns PERSEUS_OK, PERSEUS_FLOW_INFEASIBLE or PERSEUS_ERR_NO_MEMORY.
 */
int perseus_min_cut(int nodes, perseus_flow_arc *arcs, int narcs, int s, int t,
                    unsigned char *in_s);

/*
 * Maximum flow from s to t (Dinic) over arcs with capacities cap[] (>= 0, INFINITY allowed
 * but not on an s-t path of infinite arcs alone); flow[] gets each arc's flow. Returns the
 * flow value, or a negative value when out of memory.
 */
double perseus_max_flow(int nodes, const int (*ends)[2], const double *cap, int narcs, int s,
                        int t, double *flow);

/* ---- The solver (solver.c) --------------------------------------------------------------- */

typedef struct perseus_iteration {
    int iteration; /* 0 for the first plan, as run_optimization.py numbers its files */
    double cost_change;
    double cost;     /* sum of the model costs of all instructions */
    long quant_time; /* the critical path, in unit times */
    double real_time;
} perseus_iteration;

typedef struct perseus_solver perseus_solver;

/*
 * Prepare a solver over `dag`, with specs[stage * 2 + instruction] giving each stage's
 * candidates and cost model (not copied: they must outlive the solver).
 */
typedef struct perseus_spec {
    const perseus_option *cand; /* quant_time descending */
    size_t count;
    double abc[3];
} perseus_spec;

int perseus_solver_create(const perseus_dag *dag, const perseus_spec *specs, double unit_time_s,
                          perseus_solver **out, perseus_error *err);

/* The number of iterations lowtime expects: max_time - min_time + 1. */
long perseus_solver_expected(const perseus_solver *s);

/*
 * Run one Phillips-Dessouky iteration. Returns 1 with *out filled and the plan updated, 0
 * when the run is over (no further reduction, or no feasible flow: *stop_reason says which),
 * or a negative PERSEUS_ERR_*.
 */
int perseus_solver_step(perseus_solver *s, perseus_iteration *out, const char **stop_reason);

/* The frequency now chosen for instruction i of the DAG. */
int perseus_solver_knob(const perseus_solver *s, int inst);

void perseus_solver_destroy(perseus_solver *s);

/* ---- Output (output.c) ------------------------------------------------------------------- */

/* Write one freqs_pipeline_%05d.py in run_optimization.py's format. Returns 0 or -1 (errno). */
int perseus_write_plan(FILE *f, const perseus_dag *dag, const perseus_solver *s,
                       const perseus_iteration *it, double p2p_power_w);

/* summary.csv: the header, then one row per iteration (Python reprs of the numbers). */
int perseus_write_summary_header(FILE *f);
int perseus_write_summary_row(FILE *f, const perseus_iteration *it);

#endif /* ZEUS_PERSEUS_H */
