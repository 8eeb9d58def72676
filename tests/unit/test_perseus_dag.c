/*
 * test_perseus_dag.c - The synchronous 1F1B DAG (perseus/dag.c) for small pipelines against
 * graphs drawn by hand, and its activity-on-arc form against lowtime's.
 *
 * The 1F1B order of S=2, M=2, from DeepSpeed's step mapping (zeus-optimizers-zeusd.md 4.4):
 *
 *   stage 0:  F0 F1 B0 B1        AON node ids (0 source, 1 sink, 2+ instructions):
 *   stage 1:  F0 B0 F1 B1          stage 0: 2=F0 3=F1 4=B0 5=B1; stage 1: 6=F0 7=B0 8=F1 9=B1
 *
 *   chains 2->3->4->5, 6->7->8->9; F(0,m)->F(1,m): 2->6, 3->8; B(1,m)->B(0,m): 7->4, 9->5;
 *   the source feeds 2 (the only node without a predecessor), 5 drains to the sink.
 *
 * Each node k-th in breadth-first order from the source becomes the arc 2k -> 2k+1; the
 * dependencies become dummy arcs. The expected AOA arc list, successor order included, was
 * printed by lowtime 0.2.0's aon_dag_to_aoa_dag on the same graph (networkx 3.6), and agrees
 * with the BFS order 0, 2, 3, 6, 4, 8, 7, 5, 9, 1 worked out by hand.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "perseus.h"

#define F PERSEUS_FORWARD
#define B PERSEUS_BACKWARD

static void assert_insts(const perseus_dag *d, const perseus_inst *want, int n)
{
    assert_int_equal(d->ninsts, n);
    for (int i = 0; i < n; i++) {
        assert_int_equal(d->insts[i].stage, want[i].stage);
        assert_int_equal(d->insts[i].micro_batch, want[i].micro_batch);
        assert_int_equal(d->insts[i].instruction, want[i].instruction);
    }
}

static void assert_aon(const perseus_dag *d, const int (*want)[2], int n)
{
    assert_int_equal(d->naon_edges, n);
    for (int i = 0; i < n; i++) {
        assert_int_equal(d->aon_edges[i][0], want[i][0]);
        assert_int_equal(d->aon_edges[i][1], want[i][1]);
    }
}

static void assert_aoa(const perseus_dag *d, const int (*want)[3], int n, int source, int sink)
{
    assert_int_equal(d->narcs, n);
    assert_int_equal(d->source, source);
    assert_int_equal(d->sink, sink);
    for (int i = 0; i < n; i++) {
        assert_int_equal(d->arcs[i].u, want[i][0]);
        assert_int_equal(d->arcs[i].v, want[i][1]);
        assert_int_equal(d->arcs[i].op, want[i][2]);
    }
    /* out_start indexes the arcs by tail; in_arcs lists each node's in-arcs by tail */
    for (int u = 0; u < d->nodes; u++)
        for (int a = d->out_start[u]; a < d->out_start[u + 1]; a++)
            assert_int_equal(d->arcs[a].u, u);
    for (int v = 0; v < d->nodes; v++)
        for (int k = d->in_start[v]; k < d->in_start[v + 1]; k++) {
            assert_int_equal(d->arcs[d->in_arcs[k]].v, v);
            if (k > d->in_start[v])
                assert_true(d->arcs[d->in_arcs[k - 1]].u < d->arcs[d->in_arcs[k]].u);
        }
}

static void test_dag_one_stage_one_micro_batch(void **state)
{
    static const perseus_inst insts[] = {{0, 0, F}, {0, 0, B}};
    static const int aon[][2] = {{2, 3}, {3, 1}, {0, 2}};
    static const int aoa[][3] = {{0, 1, -1}, {1, 2, -1}, {2, 3, 0}, {3, 4, -1},
                                 {4, 5, 1},  {5, 6, -1}, {6, 7, -1}};
    perseus_dag d;
    perseus_error err;

    (void)state;
    assert_int_equal(perseus_dag_build(1, 1, &d, &err), PERSEUS_OK);
    assert_insts(&d, insts, 2);
    assert_aon(&d, aon, 3);
    assert_int_equal(d.nodes, 8);
    assert_aoa(&d, aoa, 7, 0, 7);
    perseus_dag_free(&d);
}

static void test_dag_two_stages_two_micro_batches(void **state)
{
    static const perseus_inst insts[] = {{0, 0, F}, {0, 1, F}, {0, 0, B}, {0, 1, B},
                                         {1, 0, F}, {1, 0, B}, {1, 1, F}, {1, 1, B}};
    /* networkx's edge order: tail by tail in node order 2..9, 0, 1 */
    static const int aon[][2] = {{2, 3}, {2, 6}, {3, 4}, {3, 8}, {4, 5}, {5, 1},
                                 {6, 7}, {7, 8}, {7, 4}, {8, 9}, {9, 5}, {0, 2}};
    static const int aoa[][3] = {
        {0, 1, -1},   {1, 2, -1},   {2, 3, 0},    {3, 4, -1},   {3, 6, -1},  {4, 5, 1},
        {5, 8, -1},   {5, 10, -1},  {6, 7, 4},    {7, 12, -1},  {8, 9, 2},   {9, 14, -1},
        {10, 11, 6},  {11, 16, -1}, {12, 13, 5},  {13, 8, -1},  {13, 10, -1}, {14, 15, 3},
        {15, 18, -1}, {16, 17, 7},  {17, 14, -1}, {18, 19, -1}};
    perseus_dag d;
    perseus_error err;

    (void)state;
    assert_int_equal(perseus_dag_build(2, 2, &d, &err), PERSEUS_OK);
    assert_insts(&d, insts, 8);
    assert_int_equal(d.stage_start[0], 0);
    assert_int_equal(d.stage_start[1], 4);
    assert_int_equal(d.stage_start[2], 8);
    assert_aon(&d, aon, 12);
    /* lowtime's checks: twice the nodes, edges + nodes arcs */
    assert_int_equal(d.nodes, 2 * 10);
    assert_aoa(&d, aoa, 12 + 10, 0, 19);
    perseus_dag_free(&d);
}

static void test_dag_four_stages_is_1f1b(void **state)
{
    /* S=4, M=8: stage s warms up with S-s forwards (DeepSpeed's 1F1B: the last stage
     * alternates from the start), then alternates, then drains the backwards; every
     * micro-batch appears once forward and once backward, forward first. */
    perseus_dag d;
    perseus_error err;

    (void)state;
    assert_int_equal(perseus_dag_build(4, 8, &d, &err), PERSEUS_OK);
    assert_int_equal(d.ninsts, 64);
    for (int s = 0; s < 4; s++) {
        int fwd_seen[8] = {0}, bwd_seen[8] = {0}, warm = 0, i = d.stage_start[s];
        assert_int_equal(d.stage_start[s + 1] - d.stage_start[s], 16);
        while (d.insts[i].instruction == F) {
            warm++;
            i++;
        }
        assert_int_equal(warm, 4 - s);
        for (i = d.stage_start[s]; i < d.stage_start[s + 1]; i++) {
            int m = d.insts[i].micro_batch;
            assert_int_equal(d.insts[i].stage, s);
            if (d.insts[i].instruction == F) {
                assert_int_equal(fwd_seen[m]++, 0);
            } else {
                assert_int_equal(fwd_seen[m], 1);
                assert_int_equal(bwd_seen[m]++, 0);
            }
        }
    }
    /* 4 chains of 15, F deps 3x8, B deps 3x8, one source and one sink edge */
    assert_int_equal(d.naon_edges, 4 * 15 + 24 + 24 + 2);
    assert_int_equal(d.narcs, d.naon_edges + 66);
    perseus_dag_free(&d);
}

static void test_dag_refuses_bad_sizes(void **state)
{
    perseus_dag d;
    perseus_error err;

    (void)state;
    assert_int_equal(perseus_dag_build(0, 4, &d, &err), PERSEUS_ERR_INPUT);
    assert_int_equal(perseus_dag_build(2, 0, &d, &err), PERSEUS_ERR_INPUT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dag_one_stage_one_micro_batch),
        cmocka_unit_test(test_dag_two_stages_two_micro_batches),
        cmocka_unit_test(test_dag_four_stages_is_1f1b),
        cmocka_unit_test(test_dag_refuses_bad_sizes),
    };
    return cmocka_run_group_tests_name("perseus_dag", tests, NULL, NULL);
}
