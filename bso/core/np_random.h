/*
 * np_random.h - numpy's default random generator, bit for bit: PCG64 seeded through
 * SeedSequence, Generator.choice without replacement, Generator.normal, and the pairwise
 * sum, mean and population variance numpy computes.
 *
 * Why bit for bit: Zeus's batch size optimizer draws from np.random.default_rng(mab_seed) and
 * stores the generator state in its database as json.dumps(rng.bit_generator.state). Matching
 * the stream means a seeded job gives the batch sizes Zeus would give, a database written by
 * Zeus's server can be served by ours, and the NSDI'23 simulation is comparable draw for draw.
 * Reference: numpy 1.24 (Debian 12's python3-numpy), numpy/random/_pcg64.pyx, bit_generator.pyx
 * (SeedSequence), _generator.pyx (choice, normal), src/distributions/distributions.c
 * (random_standard_normal, ziggurat tables), core/src/umath/loops_utils.h (pairwise sum).
 *
 * Implemented in np_pcg64.c, np_distributions.c, np_sum.c and np_state_json.c, tested against
 * numpy's own output by tests/unit/test_np_random.c. No global state: a function touches only
 * the zeus_np_rng it is given, so separate generators may be used from separate threads, one
 * generator from one thread at a time. Nothing allocates.
 */
#ifndef ZEUS_BSO_NP_RANDOM_H
#define ZEUS_BSO_NP_RANDOM_H

#include <stddef.h>
#include <stdint.h>

/* numpy's PCG64 bit generator state: 128-bit LCG state and increment, and the spare half of a
 * 64-bit output kept for the next 32-bit draw (has_uint32, uinteger). */
typedef struct zeus_np_rng {
    uint64_t state_hi, state_lo;
    uint64_t inc_hi, inc_lo;
    int has_uint32;
    uint32_t uinteger;
} zeus_np_rng;

/* np.random.default_rng(seed) for a non-negative integer seed. */
void zeus_np_rng_seed(zeus_np_rng *rng, uint64_t seed);

uint64_t zeus_np_next_uint64(zeus_np_rng *rng);
uint32_t zeus_np_next_uint32(zeus_np_rng *rng);

/* rng.choice(in, n, replace=False): a random permutation of in[0..n-1] written to out
 * (out may not alias in), consuming the stream exactly as numpy does. */
void zeus_np_choice_all(zeus_np_rng *rng, const int *in, int *out, size_t n);

/* rng.choice(n, 1, replace=False)[0]: a uniform index in [0, n) from one bounded draw
 * (numpy's Floyd branch with a single element), the draw pandas' DataFrame.sample(n=1,
 * random_state=rng) makes and so the one Zeus's legacy simulator uses to pick a trace row.
 * Returns 0 with *out set, or -1 for n == 0 (numpy: "a must be a positive integer unless no
 * samples are taken") or n past INT64_MAX (numpy's int64 population), drawing nothing. */
int zeus_np_choice_one(zeus_np_rng *rng, uint64_t n, uint64_t *out);

/* rng.normal(loc, scale) for scalars (one ziggurat standard normal draw, always consumed,
 * scale 0 included). A scale numpy refuses ("scale < 0": sign bit set, -0.0 included) gives
 * NAN and draws nothing. */
double zeus_np_normal(zeus_np_rng *rng, double loc, double scale);

/* json.dumps(rng.bit_generator.state), byte for byte, e.g.
 * {"bit_generator": "PCG64", "state": {"state": 1234..., "inc": 5678...}, "has_uint32": 0, "uinteger": 0}
 * Returns the length written (excluding the NUL), or -1 when `size` is too small. 256 is enough. */
int zeus_np_rng_to_json(const zeus_np_rng *rng, char *buf, size_t size);

/* Parse what zeus_np_rng_to_json (or Python's json.dumps of a PCG64 state) wrote: any key
 * order and whitespace. Returns 0, or -1 for anything else (not PCG64, out of range, junk),
 * leaving *rng untouched. */
int zeus_np_rng_from_json(zeus_np_rng *rng, const char *json);

/* np.sum, np.mean and np.var (ddof=0) of a float64 array, with numpy's pairwise summation so
 * the last bit agrees. n == 0: sum 0, mean and var NAN. */
double zeus_np_sum(const double *x, size_t n);
double zeus_np_mean(const double *x, size_t n);
double zeus_np_var(const double *x, size_t n);

#endif /* ZEUS_BSO_NP_RANDOM_H */
