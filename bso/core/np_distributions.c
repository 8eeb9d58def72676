/*
 * np_distributions.c - What Zeus draws from numpy's Generator: choice(arr, n, replace=False)
 * over a whole array, and normal(loc, scale), consuming the PCG64 stream exactly as numpy does.
 *
 * Source: numpy 1.24.2 (BSD-3-Clause), numpy/random/_generator.pyx (Generator.choice,
 * _shuffle_int, Generator.normal), numpy/random/src/distributions/distributions.c
 * (random_bounded_uint64, bounded_lemire_uint64, buffered_bounded_lemire_uint32,
 * random_standard_normal, random_normal), numpy/random/_common.pyx (check_constraint) and
 * _common.pxd (uint64_to_double). The ziggurat tables are in np_ziggurat.h.
 *
 * Floating point: `loc + scale * z` and the ziggurat's wedge test must round as numpy's x86-64
 * build does, one operation at a time (no fused multiply-add). GCC does not contract under
 * -std=c11 (CMAKE_C_EXTENSIONS OFF); clang contracts within an expression unless told not to,
 * which the pragma below does where the target has FMA (aarch64).
 */
#include <math.h>

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

#include "np_random.h"
#include "np_ziggurat.h"

/* ---- Bounded integers ------------------------------------------------------------------- */

/* buffered_bounded_lemire_uint32: Lemire's multiply-and-reject on 32-bit draws, which take the
 * spare half of an earlier 64-bit draw first (zeus_np_next_uint32). rng < 0xFFFFFFFF. */
static uint32_t lemire32(zeus_np_rng *rng, uint32_t max)
{
    const uint32_t rng_excl = max + 1;
    uint64_t m = (uint64_t)zeus_np_next_uint32(rng) * rng_excl;
    uint32_t leftover = (uint32_t)(m & 0xFFFFFFFFu);
    if (leftover < rng_excl) {
        const uint32_t threshold = (UINT32_MAX - max) % rng_excl;
        while (leftover < threshold) {
            m = (uint64_t)zeus_np_next_uint32(rng) * rng_excl;
            leftover = (uint32_t)(m & 0xFFFFFFFFu);
        }
    }
    return (uint32_t)(m >> 32);
}

/* The high and low words of x * y. */
static uint64_t mul_hi_lo(uint64_t x, uint64_t y, uint64_t *lo)
{
    uint64_t x0 = x & 0xFFFFFFFFu, x1 = x >> 32;
    uint64_t y0 = y & 0xFFFFFFFFu, y1 = y >> 32;
    uint64_t w0 = x0 * y0;
    uint64_t t = x1 * y0 + (w0 >> 32);
    uint64_t w1 = (t & 0xFFFFFFFFu) + x0 * y1;
    *lo = x * y;
    return x1 * y1 + (t >> 32) + (w1 >> 32);
}

/* bounded_lemire_uint64: the same on 64-bit draws. max < UINT64_MAX. */
static uint64_t lemire64(zeus_np_rng *rng, uint64_t max)
{
    const uint64_t rng_excl = max + 1;
    uint64_t leftover;
    uint64_t hi = mul_hi_lo(zeus_np_next_uint64(rng), rng_excl, &leftover);
    if (leftover < rng_excl) {
        const uint64_t threshold = (UINT64_MAX - max) % rng_excl;
        while (leftover < threshold)
            hi = mul_hi_lo(zeus_np_next_uint64(rng), rng_excl, &leftover);
    }
    return hi;
}

/* random_bounded_uint64(bitgen, 0, max, 0, use_masked=0): uniform on [0, max]. Which draw it
 * takes depends on max: none for 0, a plain 32-bit draw for 0xFFFFFFFF, 32-bit Lemire below
 * that, a plain 64-bit draw for UINT64_MAX, 64-bit Lemire otherwise. */
static uint64_t bounded_uint64(zeus_np_rng *rng, uint64_t max)
{
    if (max == 0)
        return 0;
    if (max <= 0xFFFFFFFFu) {
        if (max == 0xFFFFFFFFu)
            return zeus_np_next_uint32(rng);
        return lemire32(rng, (uint32_t)max);
    }
    if (max == UINT64_MAX)
        return zeus_np_next_uint64(rng);
    return lemire64(rng, max);
}

/* ---- choice ----------------------------------------------------------------------------- */

/* Generator.choice(a, size, replace=False, shuffle=True) with size == pop_size == n.
 *
 * numpy takes one of two branches:
 *   n > 10000 (and size > n // 50, always true here): idx = arange(n), then
 *     _shuffle_int(n, first=max(n - size, 1) = 1, idx);
 *   otherwise Floyd's algorithm: for j in [n - size, n) = [0, n), val = bounded(0..j), insert
 *     val into a hash set, or j when val is already there; then _shuffle_int(n, 1, idx).
 *
 * Concept: Floyd's algorithm with a hash set of 2^k >= 1.2 n slots. Reality: when size is the
 * whole population, before step j the set holds exactly {0, ..., j-1} (by induction), so val
 * is either < j (present: j goes in) or == j (absent: val == j goes in). idx[j] == j whatever
 * was drawn. So the Floyd branch here is "take the draws bounded(0..j) for j = 0..n-1 (j = 0
 * takes none), leave idx = arange(n)", and needs no hash set and no allocation: this function
 * cannot fail. tests/unit/test_np_random.c checks it against numpy for sizes 0..40 and above
 * 10000.
 *
 * _shuffle_int swaps idx entries; a.take(idx) then maps indices to values. Shuffling the
 * values in place gives the same array. Note that _shuffle_int draws with
 * random_bounded_uint64 (Lemire), not random_interval (mask and reject), which is what
 * Generator.shuffle and Generator.permutation use: their streams differ from choice's. */
void zeus_np_choice_all(zeus_np_rng *rng, const int *in, int *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = in[i];
    if (n <= 10000)
        for (size_t j = 0; j < n; j++)
            (void)bounded_uint64(rng, j);
    /* _shuffle_int(n, 1, idx): for i in reversed(range(1, n)) */
    for (size_t i = n; i-- > 1;) {
        size_t j = (size_t)bounded_uint64(rng, i);
        int tmp = out[j];
        out[j] = out[i];
        out[i] = tmp;
    }
}

/* Generator.choice(n, 1, replace=False): Floyd's algorithm runs once, for j = n - 1, and the
 * empty hash set always takes val; _shuffle_int of one element draws nothing. The tail-shuffle
 * branch needs size > n // 50, which one element never is above n = 10000. */
int zeus_np_choice_one(zeus_np_rng *rng, uint64_t n, uint64_t *out)
{
    if (!rng || !out || n == 0 || n > (uint64_t)INT64_MAX)
        return -1;
    *out = bounded_uint64(rng, n - 1);
    return 0;
}

/* ---- normal ----------------------------------------------------------------------------- */

/* uint64_to_double: the top 53 bits of a 64-bit draw as a double in [0, 1). */
static double next_double(zeus_np_rng *rng)
{
    return (double)(zeus_np_next_uint64(rng) >> 11) * (1.0 / 9007199254740992.0);
}

/* random_standard_normal: the 256-layer ziggurat. One 64-bit draw r gives the layer (low 8
 * bits), the sign (bit 8) and a 52-bit magnitude. 99.3% of draws return at once; the rest
 * take the tail (layer 0: two doubles per try, looping until accepted) or the wedge test (one
 * double) and may start over with a new draw, so one normal can consume several draws. */
static double standard_normal(zeus_np_rng *rng)
{
    for (;;) {
        uint64_t r = zeus_np_next_uint64(rng);
        int idx = (int)(r & 0xff);
        r >>= 8;
        int sign = (int)(r & 0x1);
        uint64_t rabs = (r >> 1) & 0x000fffffffffffffULL;
        double x = (double)rabs * wi_double[idx];
        if (sign & 0x1)
            x = -x;
        if (rabs < ki_double[idx])
            return x;
        if (idx == 0) {
            for (;;) {
                /* 1 - U avoids log(0) (numpy GH 13361) */
                double xx = -ziggurat_nor_inv_r * log1p(-next_double(rng));
                double yy = -log1p(-next_double(rng));
                if (yy + yy > xx * xx)
                    return ((rabs >> 8) & 0x1) ? -(ziggurat_nor_r + xx) : ziggurat_nor_r + xx;
            }
        } else {
            if (((fi_double[idx - 1] - fi_double[idx]) * next_double(rng) + fi_double[idx]) <
                exp(-0.5 * x * x))
                return x;
        }
    }
}

/* Generator.normal(loc, scale): numpy refuses a scale with its sign bit set (-0.0 included,
 * NaN excepted) with "ValueError: scale < 0" before drawing; here that is NAN with nothing
 * drawn. Scale 0 still draws. */
double zeus_np_normal(zeus_np_rng *rng, double loc, double scale)
{
    if (!isnan(scale) && signbit(scale))
        return NAN;
    return loc + scale * standard_normal(rng);
}
