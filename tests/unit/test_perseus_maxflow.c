/*
 * test_perseus_maxflow.c - perseus/maxflow.c: Dinic's max flow on small graphs whose maximum
 * flow is known, and lowtime's minimum cut with lower and upper bounds: the cut it finds on
 * graphs where the cut is worked out by hand, the bounds kept by the flow, and an infeasible
 * set of bounds reported as such rather than as a cut.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "perseus.h"
#include "test_support.h"

/* ---- Max flow ----------------------------------------------------------------------------- */

static void test_max_flow_clrs_network_is_23(void **state)
{
    /* The network of CLRS figure 26.1: s=0, v1..v4 = 1..4, t=5; max flow 23. */
    static const int ends[][2] = {{0, 1}, {0, 2}, {2, 1}, {1, 3}, {3, 2},
                                  {2, 4}, {4, 3}, {3, 5}, {4, 5}};
    static const double cap[] = {16, 13, 4, 12, 9, 14, 7, 20, 4};
    double flow[9], in[6] = {0}, out[6] = {0};

    (void)state;
    assert_near(perseus_max_flow(6, ends, cap, 9, 0, 5, flow), 23.0, 1e-12);
    for (int i = 0; i < 9; i++) {
        assert_true(flow[i] >= -1e-12 && flow[i] <= cap[i] + 1e-12);
        out[ends[i][0]] += flow[i];
        in[ends[i][1]] += flow[i];
    }
    for (int v = 1; v <= 4; v++) /* conservation */
        assert_near(in[v], out[v], 1e-12);
    assert_near(in[5], 23.0, 1e-12);
}

static void test_max_flow_infinite_arc_uses_finite_stand_in(void **state)
{
    /* An infinite arc in series with a finite one: the finite one limits the flow. */
    static const int ends[][2] = {{0, 1}, {1, 2}};
    const double cap[] = {INFINITY, 2.5};
    double flow[2];

    (void)state;
    assert_near(perseus_max_flow(3, ends, cap, 2, 0, 2, flow), 2.5, 1e-12);
    assert_near(flow[0], 2.5, 1e-12);
}

/* ---- Minimum cut with bounds ---------------------------------------------------------------- */

static void test_min_cut_with_lower_bounds_finds_known_cut(void **state)
{
    /*   s=0 --[1,5]--> a=1 --[0,2]--> t=3
     *   s=0 --[0,4]--> b=2 --[2,10]-> t=3
     * Max flow 2 + 4 = 6; a->t and s->b are saturated, s->a is not, so S = {s, a}. */
    perseus_flow_arc arcs[] = {
        {0, 1, 1, 5, 0}, {0, 2, 0, 4, 0}, {1, 3, 0, 2, 0}, {2, 3, 2, 10, 0}};
    unsigned char in_s[4];

    (void)state;
    assert_int_equal(perseus_min_cut(4, arcs, 4, 0, 3, in_s), PERSEUS_OK);
    assert_int_equal(in_s[0], 1);
    assert_int_equal(in_s[1], 1);
    assert_int_equal(in_s[2], 0);
    assert_int_equal(in_s[3], 0);
    assert_near(arcs[0].flow, 2.0, 1e-9);
    assert_near(arcs[1].flow, 4.0, 1e-9);
    assert_near(arcs[2].flow, 2.0, 1e-9);
    assert_near(arcs[3].flow, 4.0, 1e-9);
}

static void test_min_cut_lower_bound_kept_or_infeasible(void **state)
{
    /* A path s -> a -> t with a bypass a -> b -> t:
     *   s->a [0, 10], a->t [0, 3], a->b [4, 6], b->t [0, 5]
     * Max flow 3 + 5 = 8 with a->b carrying 5 (within [4, 6]); b->t is saturated, a->b is
     * not (5 < 6), a->t is; so S = {s, a, b}, T = {t}. Without the bound on a->b the same
     * cut; lowering b->t's cap below a->b's lower bound makes the flow infeasible. */
    perseus_flow_arc arcs[] = {
        {0, 1, 0, 10, 0}, {1, 3, 0, 3, 0}, {1, 2, 4, 6, 0}, {2, 3, 0, 5, 0}};
    perseus_flow_arc tight[] = {
        {0, 1, 0, 10, 0}, {1, 3, 0, 3, 0}, {1, 2, 4, 6, 0}, {2, 3, 0, 3.5, 0}};
    unsigned char in_s[4];

    (void)state;
    assert_int_equal(perseus_min_cut(4, arcs, 4, 0, 3, in_s), PERSEUS_OK);
    assert_int_equal(in_s[0] + in_s[1] + in_s[2], 3);
    assert_int_equal(in_s[3], 0);
    assert_near(arcs[0].flow, 8.0, 1e-9);
    assert_true(arcs[2].flow >= 4.0 - 1e-9 && arcs[2].flow <= 6.0 + 1e-9);
    assert_int_equal(perseus_min_cut(4, tight, 4, 0, 3, in_s), PERSEUS_FLOW_INFEASIBLE);
}

static void test_min_cut_infeasible_bounds_reported(void **state)
{
    /* a must take at least 3 from s but can pass on at most 2. */
    perseus_flow_arc arcs[] = {{0, 1, 3, 5, 0}, {1, 2, 0, 2, 0}};
    unsigned char in_s[3];

    (void)state;
    assert_int_equal(perseus_min_cut(3, arcs, 2, 0, 2, in_s), PERSEUS_FLOW_INFEASIBLE);
}

static void test_min_cut_no_flow_possible_cuts_at_source(void **state)
{
    /* Every arc out of s is saturated at once (capacity 0 beyond its lower bound 0): only s
     * is reached, as in lowtime when the critical path cannot be shortened at all. */
    perseus_flow_arc arcs[] = {{0, 1, 0, 0, 0}, {1, 2, 0, 7, 0}};
    unsigned char in_s[3];

    (void)state;
    assert_int_equal(perseus_min_cut(3, arcs, 2, 0, 2, in_s), PERSEUS_OK);
    assert_int_equal(in_s[0], 1);
    assert_int_equal(in_s[1], 0);
    assert_int_equal(in_s[2], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_max_flow_clrs_network_is_23),
        cmocka_unit_test(test_max_flow_infinite_arc_uses_finite_stand_in),
        cmocka_unit_test(test_min_cut_with_lower_bounds_finds_known_cut),
        cmocka_unit_test(test_min_cut_lower_bound_kept_or_infeasible),
        cmocka_unit_test(test_min_cut_infeasible_bounds_reported),
        cmocka_unit_test(test_min_cut_no_flow_possible_cuts_at_source),
    };
    return cmocka_run_group_tests_name("perseus_maxflow", tests, NULL, NULL);
}
