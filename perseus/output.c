/*
 * output.c - What `zeus perseus plan` writes: one freqs_pipeline_%05d.py per iteration, in
 * the format of Zeus's run_optimization.py (which the PFO server's PointSolution scheduler
 * reads back), and summary.csv, one row per iteration.
 *
 * The plan file is a Python literal: "[", one line per stage holding the repr of its list of
 * ('forward'|'backward', frequency) tuples followed by a comma, "]", then three comments with
 * the iteration's cost change, total cost, and total cost with P2P (cost + stages * real_time
 * * p2p_power, left to right). Numbers are Python float reprs (src/util/fmt.c), so a plan
 * written here is byte for byte the one lowtime writes.
 */
#include <stdio.h>

#include "perseus.h"
#include "util/fmt.h"

int perseus_write_plan(FILE *f, const perseus_dag *d, const perseus_solver *s,
                       const perseus_iteration *it, double p2p_power_w)
{
    static const char *const names[2] = {"forward", "backward"};
    char b1[32], b2[32], b3[32];
    double with_p2p = it->cost + (double)d->stages * it->real_time * p2p_power_w;

    fputs("[\n", f);
    for (int st = 0; st < d->stages; st++) {
        fputc('[', f);
        for (int i = d->stage_start[st]; i < d->stage_start[st + 1]; i++)
            fprintf(f, "%s('%s', %d)", i > d->stage_start[st] ? ", " : "",
                    names[d->insts[i].instruction], perseus_solver_knob(s, i));
        fputs("],\n", f);
    }
    fputs("]\n", f);
    fprintf(f, "# Iteration %d cost change: %s\n", it->iteration,
            zeus__fmt_double(it->cost_change, b1, sizeof b1));
    fprintf(f, "# Iteration %d total cost: %s\n", it->iteration,
            zeus__fmt_double(it->cost, b2, sizeof b2));
    fprintf(f, "# Iteration %d total cost with P2P: %s\n", it->iteration,
            zeus__fmt_double(with_p2p, b3, sizeof b3));
    return ferror(f) ? -1 : 0;
}

int perseus_write_summary_header(FILE *f)
{
    fputs("iteration,cost_change,cost,quant_time,real_time\n", f);
    return ferror(f) ? -1 : 0;
}

int perseus_write_summary_row(FILE *f, const perseus_iteration *it)
{
    char b1[32], b2[32], b3[32];

    fprintf(f, "%d,%s,%s,%ld,%s\n", it->iteration,
            zeus__fmt_double(it->cost_change, b1, sizeof b1),
            zeus__fmt_double(it->cost, b2, sizeof b2), it->quant_time,
            zeus__fmt_double(it->real_time, b3, sizeof b3));
    return ferror(f) ? -1 : 0;
}
