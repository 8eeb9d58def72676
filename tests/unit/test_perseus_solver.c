/*
 * test_perseus_solver.c - The Phillips-Dessouky iterations (perseus/solver.c) on a pipeline
 * small enough to solve by hand: one stage, one micro-batch, so the DAG is the forward then
 * the backward in series and the critical path is both.
 *
 * Cost models: forward 100 e^(-t/2) + 1 on durations 5..10, backward 50 e^(-0.3 t) + 2 on
 * 8..16 (one candidate per duration). Cutting a unit off the forward at duration d costs
 * c(d-1) - c(d), growing as d shrinks; likewise the backward. In series the minimum cut is the
 * arc whose next speed-up is cheaper (its flow bound is that cost), so the run must be the
 * greedy merge of the two sequences of costs, cheapest first (they differ by more than 1e-2, so
 * lowtime's 1e-6 slack cannot reorder them): 13 iterations, from 26 down to 13 unit times, each
 * with that cost change and the two models' costs at the new durations; then both arcs are
 * at their minimum, the only cut left is a dummy arc, and the run stops. The knobs follow the
 * durations.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "perseus.h"
#include "test_support.h"

struct hand {
    perseus_option fwd[6], bwd[9];
    perseus_spec specs[2];
    perseus_dag dag;
    perseus_solver *solver;
};

static double model(const double abc[3], long t)
{
    return abc[0] * exp(abc[1] * (double)t) + abc[2];
}

static int setup(void **state)
{
    static struct hand h;
    perseus_error err;

    memset(&h, 0, sizeof h);
    h.specs[0] = (perseus_spec){h.fwd, 6, {100, -0.5, 1}};
    h.specs[1] = (perseus_spec){h.bwd, 9, {50, -0.3, 2}};
    for (int i = 0; i < 6; i++) /* quant_time descending: 10..5, knob 1000 + 10 t */
        h.fwd[i] = (perseus_option){1000 + 10 * (10 - i), 0.0, 10 - i,
                                    model(h.specs[0].abc, 10 - i)};
    for (int i = 0; i < 9; i++) /* 16..8, knob 2000 + 10 t */
        h.bwd[i] = (perseus_option){2000 + 10 * (16 - i), 0.0, 16 - i,
                                    model(h.specs[1].abc, 16 - i)};
    assert_int_equal(perseus_dag_build(1, 1, &h.dag, &err), PERSEUS_OK);
    assert_int_equal(perseus_solver_create(&h.dag, h.specs, 0.001, &h.solver, &err), PERSEUS_OK);
    *state = &h;
    return 0;
}

static int teardown(void **state)
{
    struct hand *h = *state;

    perseus_solver_destroy(h->solver);
    perseus_dag_free(&h->dag);
    return 0;
}

static void test_solver_series_is_greedy_merge(void **state)
{
    struct hand *h = *state;
    long df = 10, db = 16;
    perseus_iteration it;
    const char *why;
    int n = 0;

    /* lowtime's estimate: max - min + 1 = (10 + 16) - (5 + 8) + 1 */
    assert_int_equal(perseus_solver_expected(h->solver), 14);
    /* the start: both slowest */
    assert_int_equal(perseus_solver_knob(h->solver, 0), 1100);
    assert_int_equal(perseus_solver_knob(h->solver, 1), 2160);
    while (perseus_solver_step(h->solver, &it, &why) == 1) {
        double up_f = df > 5 ? model(h->specs[0].abc, df - 1) - model(h->specs[0].abc, df)
                             : INFINITY;
        double up_b = db > 8 ? model(h->specs[1].abc, db - 1) - model(h->specs[1].abc, db)
                             : INFINITY;
        double change = up_f < up_b ? up_f : up_b;
        if (up_f < up_b)
            df--;
        else
            db--;
        assert_int_equal(it.iteration, n);
        assert_int_equal(it.quant_time, df + db);
        assert_near(it.real_time, (df + db) * 0.001, 1e-15);
        assert_near(it.cost_change, change, 1e-12);
        assert_near(it.cost, model(h->specs[0].abc, df) + model(h->specs[1].abc, db), 1e-12);
        assert_int_equal(perseus_solver_knob(h->solver, 0), 1000 + 10 * df);
        assert_int_equal(perseus_solver_knob(h->solver, 1), 2000 + 10 * db);
        n++;
    }
    assert_int_equal(n, 13);
    assert_int_equal(df, 5);
    assert_int_equal(db, 8);
    assert_non_null(why);
    assert_non_null(strstr(why, "no further time reduction"));
    /* over: further steps report the end again, changing nothing */
    assert_int_equal(perseus_solver_step(h->solver, &it, &why), 0);
    assert_int_equal(perseus_solver_knob(h->solver, 0), 1050);
}

static void test_solver_plan_file_format(void **state)
{
    struct hand *h = *state;
    perseus_iteration it;
    const char *why;
    char *buf = NULL;
    size_t len = 0;
    FILE *f;

    assert_int_equal(perseus_solver_step(h->solver, &it, &why), 1);
    f = open_memstream(&buf, &len);
    assert_non_null(f);
    it.cost_change = 0.1; /* round numbers, to spell out the reprs */
    it.cost = 2.5;
    it.real_time = 0.025;
    assert_int_equal(perseus_write_plan(f, &h->dag, h->solver, &it, 70.0), 0);
    assert_int_equal(perseus_write_summary_row(f, &it), 0);
    fclose(f);
    /* the first step speeds the backward up (its 0.144 beats the forward's 0.437) */
    assert_string_equal(buf, "[\n"
                             "[('forward', 1100), ('backward', 2150)],\n"
                             "]\n"
                             "# Iteration 0 cost change: 0.1\n"
                             "# Iteration 0 total cost: 2.5\n"
                             "# Iteration 0 total cost with P2P: 4.25\n"
                             "0,0.1,2.5,25,0.025\n");
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_solver_series_is_greedy_merge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_solver_plan_file_format, setup, teardown),
    };
    return cmocka_run_group_tests_name("perseus_solver", tests, NULL, NULL);
}
