/*
 * np_sum.c - np.sum, np.mean and np.var (ddof=0) of a float64 array, rounding as numpy does.
 *
 * Zeus's Gaussian Thompson sampling fits each arm from np.var(rewards), rewards.mean() and
 * rewards.sum(); numpy sums with pairwise summation, so a plain left-to-right loop differs in
 * the last bits from 8 elements on, and a different variance gives a different posterior.
 *
 * Source: numpy 1.24.2 (BSD-3-Clause), numpy/core/src/umath/loops_utils.h.src
 * (DOUBLE_pairwise_sum), numpy/core/_methods.py (_mean, _var).
 *
 * Concept: np.sum is the pairwise sum of the array. Reality: np.add.reduce starts from the
 * ufunc's identity 0.0 (so np.sum([-0.0]) is 0.0) and its iterator hands the inner loop at
 * most bufsize = 8192 elements at a time, even for a contiguous array that needs no buffer;
 * each call adds the pairwise sum of its block to the running total. So the result is
 * ((0.0 + pw(x[0:8192])) + pw(x[8192:16384])) + ..., which differs from pw(x) in the last bit
 * for some arrays longer than 8192 (seen at lengths 8193 and 16385; measured with numpy
 * 1.24.2, recorded by tests/data/np-random/gen.py). A program that changed np.setbufsize
 * would sum differently; Zeus does not.
 */
#include <math.h>

#include "np_random.h"

#define PW_BLOCKSIZE 128
#define REDUCE_BUFSIZE 8192 /* NPY_BUFSIZE (numpy/core/include/numpy/ndarraytypes.h) */

/* DOUBLE_pairwise_sum: below 8 a plain loop from -0.0 (kept from numpy, though after the
 * reduction's 0.0 the sign of a zero sum no longer shows); up to 128, eight interleaved
 * accumulators combined ((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7)), then the rest one by one; above,
 * the two halves (split at a multiple of 8) recursively. */
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
    double total = 0.0;
    for (size_t at = 0; at < n; at += REDUCE_BUFSIZE)
        total += pairwise_sum(x + at, n - at < REDUCE_BUFSIZE ? n - at : REDUCE_BUFSIZE);
    return total;
}

/* _mean: sum / count; numpy warns and gives NaN for an empty array. */
double zeus_np_mean(const double *x, size_t n)
{
    if (n == 0)
        return NAN;
    return zeus_np_sum(x, n) / (double)n;
}

/* _var: the mean as above, then the same reduction over (x - mean)^2, divided by n. The
 * squares are made 128 at a time (a leaf of the pairwise tree) rather than in an array of n:
 * pairwise_sum's split points depend only on the length, so the sums are the same. */
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
    double total = 0.0;
    for (size_t at = 0; at < n; at += REDUCE_BUFSIZE)
        total += pairwise_sq_dev(x + at, n - at < REDUCE_BUFSIZE ? n - at : REDUCE_BUFSIZE, mean);
    return total / (double)n;
}
