/*
 * np_pcg64.c - numpy's PCG64 bit generator: np.random.default_rng(seed)'s seeding through
 * SeedSequence, the 64-bit draw (PCG XSL-RR 128/64), and the 32-bit draw that hands out the
 * two halves of one 64-bit draw.
 *
 * Source: numpy 1.24.2 (BSD-3-Clause), numpy/random/bit_generator.pyx (SeedSequence:
 * hashmix, mix, mix_entropy, generate_state), numpy/random/src/pcg64/pcg64.h and pcg64.c
 * (pcg_setseq_128_srandom_r, pcg_setseq_128_xsl_rr_64_random_r, pcg64_next32), and
 * numpy/random/_pcg64.pyx (PCG64.__init__: generate_state(4, np.uint64) gives state from words
 * 0-1 and the stream from words 2-3). This is the XSL-RR PCG64 that default_rng uses, not
 * PCG64DXSM.
 *
 * 128-bit arithmetic is written out on (hi, lo) pairs, as numpy's own PCG_EMULATED_128BIT_MATH
 * path does, so the code needs no compiler's __int128 and reads like the struct it updates.
 */
#include "np_random.h"

/* ---- 128-bit arithmetic ----------------------------------------------------------------- */

typedef struct u128 {
    uint64_t hi, lo;
} u128;

/* The full 128-bit product of two 64-bit words, from 32-bit halves. */
static u128 mul64(uint64_t x, uint64_t y)
{
    uint64_t x0 = x & 0xFFFFFFFFu, x1 = x >> 32;
    uint64_t y0 = y & 0xFFFFFFFFu, y1 = y >> 32;
    uint64_t w0 = x0 * y0;
    uint64_t t = x1 * y0 + (w0 >> 32);
    uint64_t w1 = (t & 0xFFFFFFFFu) + x0 * y1;
    u128 r = {x1 * y1 + (t >> 32) + (w1 >> 32), x * y};
    return r;
}

/* a * b mod 2^128. */
static u128 mul128(u128 a, u128 b)
{
    u128 r = mul64(a.lo, b.lo);
    r.hi += a.hi * b.lo + a.lo * b.hi;
    return r;
}

/* a + b mod 2^128. */
static u128 add128(u128 a, u128 b)
{
    u128 r = {a.hi + b.hi, a.lo + b.lo};
    r.hi += r.lo < b.lo;
    return r;
}

/* ---- PCG64 (XSL-RR 128/64) ---------------------------------------------------------------- */

/* PCG_DEFAULT_MULTIPLIER_128 */
static const u128 pcg_mult = {2549297995355413924ULL, 4865540595714422341ULL};

/* state = state * mult + inc */
static void pcg_step(zeus_np_rng *rng)
{
    u128 s = {rng->state_hi, rng->state_lo}, inc = {rng->inc_hi, rng->inc_lo};
    s = add128(mul128(s, pcg_mult), inc);
    rng->state_hi = s.hi;
    rng->state_lo = s.lo;
}

/* pcg_output_xsl_rr_128_64: xor the halves, rotate right by the top six bits. */
static uint64_t pcg_output(const zeus_np_rng *rng)
{
    uint64_t v = rng->state_hi ^ rng->state_lo;
    unsigned rot = (unsigned)(rng->state_hi >> 58);
    return (v >> rot) | (v << ((-rot) & 63));
}

uint64_t zeus_np_next_uint64(zeus_np_rng *rng)
{
    pcg_step(rng);
    return pcg_output(rng);
}

/* pcg64_next32: the low half of a fresh 64-bit draw now, the high half on the next call.
 * Only 32-bit draws use the spare half; a 64-bit draw in between leaves it waiting. */
uint32_t zeus_np_next_uint32(zeus_np_rng *rng)
{
    if (rng->has_uint32) {
        rng->has_uint32 = 0;
        return rng->uinteger;
    }
    uint64_t next = zeus_np_next_uint64(rng);
    rng->has_uint32 = 1;
    rng->uinteger = (uint32_t)(next >> 32);
    return (uint32_t)(next & 0xFFFFFFFFu);
}

/* ---- SeedSequence ----------------------------------------------------------------------- */

/* bit_generator.pyx's constants; the pool is DEFAULT_POOL_SIZE words. */
#define POOL_SIZE 4
#define INIT_A 0x43b0d7e5u
#define MULT_A 0x931e8875u
#define INIT_B 0x8b51f9ddu
#define MULT_B 0x58f38dedu
#define MIX_MULT_L 0xca01f9ddu
#define MIX_MULT_R 0x4973f715u
#define XSHIFT 16

static uint32_t hashmix(uint32_t value, uint32_t *hash_const)
{
    value ^= *hash_const;
    *hash_const *= MULT_A;
    value *= *hash_const;
    value ^= value >> XSHIFT;
    return value;
}

static uint32_t mix(uint32_t x, uint32_t y)
{
    uint32_t result = MIX_MULT_L * x - MIX_MULT_R * y;
    result ^= result >> XSHIFT;
    return result;
}

/* SeedSequence(seed).pool: the seed is cut into 32-bit words, lowest first (one word for a
 * seed below 2^32, zero included; two otherwise), so it never fills the 4-word pool and the
 * "entropy past the pool" loop of mix_entropy has nothing to do. No spawn key. */
static void seed_pool(uint64_t seed, uint32_t pool[POOL_SIZE])
{
    uint32_t entropy[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    size_t n_entropy = seed >> 32 ? 2 : 1;
    uint32_t hash_const = INIT_A;
    for (size_t i = 0; i < POOL_SIZE; i++)
        pool[i] = hashmix(i < n_entropy ? entropy[i] : 0, &hash_const);
    for (size_t src = 0; src < POOL_SIZE; src++)
        for (size_t dst = 0; dst < POOL_SIZE; dst++)
            if (src != dst)
                pool[dst] = mix(pool[dst], hashmix(pool[src], &hash_const));
}

/* generate_state(4, np.uint64): 8 words cycled from the pool, paired little-endian. */
static void generate_state(const uint32_t pool[POOL_SIZE], uint64_t out[4])
{
    uint32_t words[8];
    uint32_t hash_const = INIT_B;
    for (size_t i = 0; i < 8; i++) {
        uint32_t v = pool[i % POOL_SIZE];
        v ^= hash_const;
        hash_const *= MULT_B;
        v *= hash_const;
        v ^= v >> XSHIFT;
        words[i] = v;
    }
    for (size_t i = 0; i < 4; i++)
        out[i] = (uint64_t)words[2 * i] | (uint64_t)words[2 * i + 1] << 32;
}

/* pcg64_set_seed -> pcg_setseq_128_srandom_r: inc = seq << 1 | 1; step; state += initstate;
 * step. */
void zeus_np_rng_seed(zeus_np_rng *rng, uint64_t seed)
{
    uint32_t pool[POOL_SIZE];
    uint64_t words[4];
    seed_pool(seed, pool);
    generate_state(pool, words);

    rng->state_hi = 0;
    rng->state_lo = 0;
    rng->inc_hi = words[2] << 1 | words[3] >> 63;
    rng->inc_lo = words[3] << 1 | 1u;
    pcg_step(rng);
    u128 s = add128((u128){rng->state_hi, rng->state_lo}, (u128){words[0], words[1]});
    rng->state_hi = s.hi;
    rng->state_lo = s.lo;
    pcg_step(rng);
    rng->has_uint32 = 0;
    rng->uinteger = 0;
}
