/*
 * np_sum.c - np.sum, np.mean and np.var (ddof=0) of a float64 array, rounding as numpy does.
 *
 * Zeus's Gaussian Thompson sampling fits each arm from np.var(rewards), rewards.mean() and
 * rewards.sum(); numpy sums with pairwise summation, so a plain left-to-right loop differs in
 * the last bits from 8 elements on, and a different variance gives a different posterior.
 *
 * Source: numpy 1.24.2 (BSD-3-Clause), numpy/core/src/umath/loops_utils.h.src
 * (DOUBLE_pairwise_sum), numpy/core/_methods.py (_mean, _var). The add reduction starts from
 * the ufunc's identity 0.0 and adds the pairwise sum of the whole contiguous array, so
 * np.sum([-0.0]) is 0.0 (measured with numpy 1.24.2, as is the whole-array call for
 * lengths up to 100000; tests/data/np-random/gen.py records the vectors).
 */
#include <math.h>

#include "np_random.h"

#define PW_BLOCKSIZE 128

/* DOUBLE_pairwise_sum: below 8 a plain loop from -0.0 (so only -0 values sum to -0); up to
 * 128, eight interleaved accumulators combined ((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7)), then the
 * rest one by one; above, the two halves (split at a multiple of 8) recursively. */
static double pairwise_sum(const double *a, size_t n)
{
    if (n < 8) {
        double res = -0.0;
        for (size_t i = 0; i < n; i++)
            res += a[i];
        return res;
    }
    if (n <= PW_BLOCKSIZE) {
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
    return pairwise_sum(a, n2) + pairwise_sum(a + n2, n - n2);
}

double zeus_np_sum(const double *x, size_t n)
{
    return 0.0 + pairwise_sum(x, n);
}

/* _mean: sum / count; numpy warns and gives NaN for an empty array. */
double zeus_np_mean(const double *x, size_t n)
{
    if (n == 0)
        return NAN;
    return zeus_np_sum(x, n) / (double)n;
}

/* _var: the mean as above, then the same sum over (x - mean)^2, divided by n. The squares are
 * summed in chunks so no array of n deviations is allocated: pairwise_sum's split points
 * depend only on n, so summing each top-level block separately and combining the blocks in
 * the same tree gives the same bits. */
static double pairwise_sq_dev(const double *a, size_t n, double mean)
{
    if (n > PW_BLOCKSIZE) {
        size_t n2 = n / 2;
        n2 -= n2 % 8;
        return pairwise_sq_dev(a, n2, mean) + pairwise_sq_dev(a + n2, n - n2, mean);
    }
    double d[PW_BLOCKSIZE];
    for (size_t i = 0; i < n; i++) {
        double dev = a[i] - mean;
        d[i] = dev * dev;
    }
    return pairwise_sum(d, n);
}

double zeus_np_var(const double *x, size_t n)
{
    if (n == 0)
        return NAN;
    double mean = zeus_np_mean(x, n);
    return (0.0 + pairwise_sq_dev(x, n, mean)) / (double)n;
}
