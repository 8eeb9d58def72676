/*
 * costmodel.c - lowtime's ExponentialModel: cost(t) = a*exp(b*t) + c fitted to one stage's
 * candidate (quant_time, effective cost) points, so that the solver can price a duration
 * between two profiled frequencies.
 *
 * Source: lowtime v0.2.0 lowtime/cost_model.py; SciPy 1.10 scipy/optimize/_minpack_py.py
 * (curve_fit, leastsq). lowtime calls curve_fit(fn, t, cost, p0, maxfev=50000) from each point
 * of a grid of initial guesses, in product order a in {10, 100, 1000}, b in {-k * unit_time /
 * 0.001 : k in .01 .02 .03 .04 .05 .1}, c in {10, 100, 1000}; it skips a fit whose covariance
 * holds +inf or whose mean squared error is inf, and one with a < 0 (not convex); "first"
 * takes the first fit left, "best" the lowest error (strictly lower: the earlier of equals).
 *
 * Concept: any Levenberg-Marquardt converges to the same least-squares fit. Reality: the
 * problem is ill-conditioned (a, b and c trade off against each other), SciPy stops at
 * xtol = 1.49e-8 relative, and its finite-difference Jacobian (step sqrt(eps) * |x|) sees
 * differences of 1e-8 relative, so the 54 starts stop up to ~1e-6 apart and "best" picks
 * among them by errors equal to 13 digits. So this calls MINPACK's lmdif itself (Debian's
 * cminpack, the C translation of the Fortran MINPACK that SciPy wraps) with SciPy's settings
 * (ftol = xtol = 1.49012e-8, gtol = 0, epsfcn = machine epsilon, factor 100, mode 1), and
 * computes the covariance and the error as SciPy and numpy do; the evaluation counts then
 * mostly match SciPy's start by start (58, 34, 17, 30, then 92 against SciPy's 95, for stage
 * 0 forward of the s2-m4 profile).
 * What still differs is exp: numpy evaluates it with Intel's SVML on an AVX-512 CPU (libm on
 * others, so lowtime's own fit depends on the machine), a quarter of whose results differ
 * from glibc's in the last bit, and through the Jacobian that moves each start's end point by
 * ~1e-7. Measured on the shared profiles: every candidate identical, a, b, c within 4e-7
 * relative of lowtime's, and the plans of all 206 and 378 iterations identical
 * (tests/unit/test_perseus_plan.c). Bit-identical coefficients would need SVML's exp.
 *
 * Where SciPy raises (lmdif's info outside 1..4: the evaluation limit, or tolerances too
 * small), lowtime's grid search dies with the exception; here that start is skipped instead.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cminpack.h>

#include "perseus.h"

#define MAXFEV 50000
#define TOL 1.49012e-08 /* SciPy leastsq's ftol and xtol */

struct points {
    const double *t, *y;
    int m;
};

double perseus_cost_eval(const double abc[3], long quant_time)
{
    return abc[0] * exp(abc[1] * (double)quant_time) + abc[2];
}

/* curve_fit's residual: f(xdata, *p) - ydata. */
static int residuals(void *p, int m, int n, const double *x, double *fvec, int iflag)
{
    const struct points *pts = p;

    (void)n;
    (void)iflag;
    for (int i = 0; i < m; i++)
        fvec[i] = (x[0] * exp(x[1] * pts->t[i]) + x[2]) - pts->y[i];
    return 0;
}

/* numpy's float64 sum: 0.0 plus the pairwise sum (bso/core/np_sum.c explains). */
static double np_pairwise(const double *a, size_t n)
{
    if (n < 8) {
        double res = -0.0;
        for (size_t i = 0; i < n; i++)
            res += a[i];
        return res;
    }
    if (n <= 128) {
        double r[8];
        size_t i;
        for (i = 0; i < 8; i++)
            r[i] = a[i];
        for (i = 8; i < n - (n % 8); i += 8)
            for (size_t k = 0; k < 8; k++)
                r[k] += a[i + k];
        double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++)
            res += a[i];
        return res;
    }
    size_t n2 = n / 2;
    n2 -= n2 % 8;
    return np_pairwise(a, n2) + np_pairwise(a + n2, n - n2);
}

static double np_sum(const double *a, size_t n)
{
    return 0.0 + np_pairwise(a, n);
}

/* lowtime's l2_error: np.mean(np.square(target - preds)). */
static double mean_squared_error(const struct points *pts, const double abc[3], double *work)
{
    for (int i = 0; i < pts->m; i++) {
        double d = pts->y[i] - perseus_cost_eval(abc, (long)pts->t[i]);
        work[i] = d * d;
    }
    return np_sum(work, (size_t)pts->m) / pts->m;
}

/*
 * Whether SciPy's pcov would hold +inf (or be filled with it): leastsq inverts R of the QR
 * factorization lmdif leaves in fjac (LAPACK trtri, which fails on a zero diagonal, giving
 * no covariance); curve_fit fills pcov with inf when there is none or it has a NaN, or when
 * there are no more points than parameters, and otherwise scales it by the residual variance.
 */
static int covariance_has_inf(const double *fjac, int m, const int *ipvt, const double *fvec)
{
    double r[3][3] = {{0}}, inv[3][3] = {{0}}, perm_inv[3][3], cov, s_sq;
    double sq[m];

    for (int i = 0; i < 3; i++)
        for (int j = i; j < 3; j++)
            r[i][j] = fjac[i + j * m];
    for (int i = 0; i < 3; i++)
        if (r[i][i] == 0.0)
            return 1;
    /* Upper triangular inverse by back substitution, column by column. */
    for (int j = 0; j < 3; j++) {
        inv[j][j] = 1.0 / r[j][j];
        for (int i = j - 1; i >= 0; i--) {
            double s = 0.0;
            for (int k = i + 1; k <= j; k++)
                s += r[i][k] * inv[k][j];
            inv[i][j] = -s / r[i][i];
        }
    }
    for (int k = 0; k < 3; k++) {
        int row = ipvt[k] - 1; /* MINPACK's pivots are 1-based */
        if (row < 0 || row > 2)
            return 1;
        memcpy(perm_inv[row], inv[k], sizeof inv[k]);
    }
    if (m <= 3)
        return 1;
    for (int i = 0; i < m; i++)
        sq[i] = fvec[i] * fvec[i];
    s_sq = np_sum(sq, (size_t)m) / (m - 3);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            cov = 0.0;
            for (int k = 0; k < 3; k++)
                cov += perm_inv[i][k] * perm_inv[j][k];
            /* A NaN anywhere fills pcov with inf; then `np.inf in pcov` after scaling. */
            if (isnan(cov) || cov * s_sq == INFINITY)
                return 1;
        }
    return 0;
}

/* One curve_fit from `guess`; 1 with abc filled when lowtime would keep it, 0 when not. */
static int fit_from(const struct points *pts, const double guess[3], double abc[3],
                    double *error, double *work)
{
    int m = pts->m, info, nfev, ipvt[3];
    double x[3], diag[3], qtf[3], wa1[3], wa2[3], wa3[3];
    double *fvec = work, *fjac = work + m, *wa4 = work + 4 * m, *sq = work + 5 * m;

    memcpy(x, guess, sizeof x);
    info = lmdif(residuals, (void *)pts, m, 3, x, fvec, TOL, TOL, 0.0, MAXFEV, 2.220446049250313e-16,
                 diag, 1, 100.0, 0, &nfev, fjac, m, ipvt, qtf, wa1, wa2, wa3, wa4);
    if (info < 1 || info > 4)
        return 0;
    if (covariance_has_inf(fjac, m, ipvt, fvec))
        return 0;
    *error = mean_squared_error(pts, x, sq);
    if (*error == INFINITY)
        return 0;
    if (x[0] < 0.0)
        return 0;
    memcpy(abc, x, sizeof x);
    return 1;
}

int perseus_cost_fit(const perseus_option *cand, size_t n, double unit_time_s,
                     perseus_fit_strategy strategy, const char *what, double abc[3],
                     perseus_error *err)
{
    static const double a_grid[3] = {1e1, 1e2, 1e3};
    static const double k_grid[6] = {0.01, 0.02, 0.03, 0.04, 0.05, 0.1};
    static const double c_grid[3] = {1e1, 1e2, 1e3};
    double best_error = INFINITY;
    double *t, *y, *work;
    struct points pts;
    int found = 0;

    if (n <= 3) {
        /* leastsq refuses fewer points than parameters, and curve_fit's covariance is inf
         * for exactly as many, so lowtime's grid never fits 3 or fewer. */
        snprintf(err->msg, sizeof err->msg,
                 "%s: %zu candidate option%s after filtering; the cost model needs at least 4",
                 what, n, n == 1 ? "" : "s");
        return PERSEUS_ERR_FIT;
    }
    t = malloc(n * sizeof *t);
    y = malloc(n * sizeof *y);
    work = malloc(6 * n * sizeof *work);
    if (t == NULL || y == NULL || work == NULL) {
        free(t);
        free(y);
        free(work);
        snprintf(err->msg, sizeof err->msg, "%s: out of memory", what);
        return PERSEUS_ERR_NO_MEMORY;
    }
    for (size_t i = 0; i < n; i++) {
        t[i] = (double)cand[i].quant_time;
        y[i] = cand[i].cost;
    }
    pts.t = t;
    pts.y = y;
    pts.m = (int)n;
    for (int ia = 0; ia < 3 && !(found && strategy == PERSEUS_FIT_FIRST); ia++)
        for (int ib = 0; ib < 6 && !(found && strategy == PERSEUS_FIT_FIRST); ib++)
            for (int ic = 0; ic < 3 && !(found && strategy == PERSEUS_FIT_FIRST); ic++) {
                /* -c * unit_time / 0.001, left to right as Python evaluates it. */
                double guess[3] = {a_grid[ia], -k_grid[ib] * unit_time_s / 0.001, c_grid[ic]};
                double fit[3], error;
                if (!fit_from(&pts, guess, fit, &error, work))
                    continue;
                /* "best" compares as lowtime does: a NaN error never wins. */
                if (strategy == PERSEUS_FIT_FIRST || error < best_error) {
                    memcpy(abc, fit, sizeof fit);
                    best_error = error;
                    found = 1;
                }
            }
    free(t);
    free(y);
    free(work);
    if (!found) {
        snprintf(err->msg, sizeof err->msg,
                 "%s: no initial guess of the grid fits a*exp(b*t)+c to its %zu candidate "
                 "options",
                 what, n);
        return PERSEUS_ERR_FIT;
    }
    return PERSEUS_OK;
}
