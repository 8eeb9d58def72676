/*
 * test_np_random.c - bso/core/np_random.h against numpy 1.24.2, bit for bit: the state after
 * seeding, raw 64-bit and interleaved 32/64-bit draws, 100000 standard normals (the ziggurat's
 * tail and wedge branches included), normal(loc, scale) with scale 0, whole-array choice
 * (Floyd's branch and the tail shuffle above 10000), choice(n, 1) as pandas' df.sample(n=1)
 * calls it for populations up to 2^63 - 1, a run shaped like Zeus's bandit with a
 * JSON round trip before every draw, np.sum/mean/var, and the state JSON's parser.
 *
 * The vectors are the .txt files in tests/data/np-random, written by gen.py there (its head
 * describes the format). test_np_live_numpy_agrees runs gen.py --quick with /usr/bin/python3
 * when it has numpy and checks the fresh vectors the same way, so a numpy that draws differently
 * from the one that wrote the committed files shows up; without numpy it skips with a message.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "np_random.h"
#include "test_support.h"

static const char *const seed_files[] = {
    "seed-0.txt", "seed-1.txt", "seed-42.txt", "seed-4294967301.txt",
    "seed-9223372036854775807.txt", "seed-18446744073709551615.txt",
};
#define N_SEED_FILES (sizeof seed_files / sizeof seed_files[0])

/* ---- Reading the vectors ---------------------------------------------------------------- */

/* The folder of vectors: $ZEUS_TEST_DATA/np-random. */
static const char *data_dir(void)
{
    static char dir[4096];
    const char *data = getenv("ZEUS_TEST_DATA");
    if (!data)
        fail_msg("ZEUS_TEST_DATA is not set: run the test through ctest");
    snprintf(dir, sizeof dir, "%s/np-random", data);
    return dir;
}

static char *load(const char *dir, const char *name)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *text = zt_read_file(path);
    if (!text)
        fail_msg("cannot read %s (tests/data/np-random/gen.py writes it)", path);
    return text;
}

/* A cursor over the lines named `name`, in file order: each call returns a malloc'd copy of
 * the next such line's rest (after "name "), or NULL when there are no more. */
typedef struct lines {
    const char *p;
} lines;

static char *next_named(lines *it, const char *name)
{
    size_t len = strlen(name);
    while (it->p && *it->p) {
        const char *line = it->p;
        const char *end = strchr(line, '\n');
        it->p = end ? end + 1 : NULL;
        if (!end)
            end = line + strlen(line);
        if ((size_t)(end - line) > len && strncmp(line, name, len) == 0 && line[len] == ' ') {
            size_t n = (size_t)(end - line) - len - 1;
            char *rest = malloc(n + 1);
            assert_non_null(rest);
            memcpy(rest, line + len + 1, n);
            rest[n] = '\0';
            return rest;
        }
    }
    return NULL;
}

/* The one line named `name`; failing the test when it is absent. */
static char *named(const char *text, const char *name)
{
    lines it = {text};
    char *rest = next_named(&it, name);
    if (!rest)
        fail_msg("no line '%s' in the vectors", name);
    return rest;
}

/* Whitespace-separated tokens of a line; returns the count, at most max. */
static size_t tokens(char *line, char **tok, size_t max)
{
    size_t n = 0;
    for (char *save = NULL, *t = strtok_r(line, " ", &save); t && n < max;
         t = strtok_r(NULL, " ", &save))
        tok[n++] = t;
    return n;
}

static uint64_t hex64(const char *s)
{
    char *end;
    uint64_t v = strtoull(s, &end, 16);
    if (*end != '\0')
        fail_msg("bad hex token '%s' in the vectors", s);
    return v;
}

static long long dec(const char *s)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*end != '\0')
        fail_msg("bad number '%s' in the vectors", s);
    return v;
}

static uint64_t dbits(double x)
{
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

static double from_bits(uint64_t b)
{
    double x;
    memcpy(&x, &b, sizeof x);
    return x;
}

/* The same hash as gen.py's word_hash: FNV-1a over 64-bit words. */
static uint64_t word_hash_step(uint64_t h, uint64_t w)
{
    return (h ^ w) * 0x100000001b3ULL;
}
#define WORD_HASH_INIT 0xcbf29ce484222325ULL

static void assert_state(const zeus_np_rng *rng, const char *expected, const char *where)
{
    char buf[256];
    assert_true(zeus_np_rng_to_json(rng, buf, sizeof buf) > 0);
    if (strcmp(buf, expected) != 0)
        fail_msg("%s: state JSON\n  got      %s\n  expected %s", where, buf, expected);
}

static void seed_from(const char *text, zeus_np_rng *rng)
{
    char *s = named(text, "seed");
    char *end;
    uint64_t seed = strtoull(s, &end, 10);
    assert_true(*end == '\0');
    free(s);
    zeus_np_rng_seed(rng, seed);
}

/* ---- Checks, one per section of a seed file --------------------------------------------- */

static void check_seeding(const char *text)
{
    zeus_np_rng rng;
    seed_from(text, &rng);
    char *want = named(text, "state0");
    assert_state(&rng, want, "after seeding");
    free(want);
}

static void check_uint64(const char *text)
{
    zeus_np_rng rng;
    seed_from(text, &rng);
    char *line = named(text, "u64");
    static char *tok[2000];
    size_t n = tokens(line, tok, 2000);
    assert_true(n >= 100);
    for (size_t i = 0; i < n; i++) {
        uint64_t got = zeus_np_next_uint64(&rng), want = hex64(tok[i]);
        if (got != want)
            fail_msg("draw %zu: %016" PRIx64 ", numpy %016" PRIx64, i, got, want);
    }
    free(line);
    char *state = named(text, "u64_state");
    assert_state(&rng, state, "after the raw draws");
    free(state);
}

/* Draw as ops says ('3': 32 bits, '6': 64 bits) and compare with the tokens. */
static void check_ops(zeus_np_rng *rng, const char *ops, char *values, const char *where)
{
    static char *tok[512];
    size_t n = tokens(values, tok, 512);
    assert_int_equal(n, strlen(ops));
    for (size_t i = 0; i < n; i++) {
        uint64_t got = ops[i] == '3' ? zeus_np_next_uint32(rng) : zeus_np_next_uint64(rng);
        if (got != hex64(tok[i]))
            fail_msg("%s: draw %zu (%s bits): %" PRIx64 ", numpy %s", where, i,
                     ops[i] == '3' ? "32" : "64", got, tok[i]);
    }
}

static void check_mixed_and_round_trip(const char *text)
{
    zeus_np_rng rng, back;
    seed_from(text, &rng);
    char *ops = named(text, "mixed_ops"), *vals = named(text, "mixed");
    check_ops(&rng, ops, vals, "interleaved draws");
    char *mid = named(text, "mixed_state");
    assert_state(&rng, mid, "after the interleaved draws");

    /* Restore into a generator with a different history: only the JSON carries over. */
    zeus_np_rng_seed(&back, 7);
    (void)zeus_np_next_uint32(&back);
    assert_int_equal(zeus_np_rng_from_json(&back, mid), 0);
    assert_memory_equal(&back, &rng, sizeof rng);
    char *cops = named(text, "mixed_cont_ops"), *cvals = named(text, "mixed_cont");
    check_ops(&back, cops, cvals, "draws after the JSON round trip");
    char *end = named(text, "mixed_cont_state");
    assert_state(&back, end, "after the round trip's draws");
    free(ops), free(vals), free(mid), free(cops), free(cvals), free(end);
}

/* One standard normal; *extra says whether it took more than one 64-bit draw and *tail
 * whether its first draw fell in layer 0 beyond ki_double[0] (the tail branch). */
static double normal_watched(zeus_np_rng *rng, int *extra, int *tail)
{
    zeus_np_rng peek = *rng;
    uint64_t first = zeus_np_next_uint64(&peek);
    double z = zeus_np_normal(rng, 0.0, 1.0);
    *extra = rng->state_hi != peek.state_hi || rng->state_lo != peek.state_lo;
    *tail = *extra && (first & 0xff) == 0 && ((first >> 9) & 0x000fffffffffffffULL) >=
                                                 0x000EF33D8025EF6AULL;
    return z;
}

static void check_normals(const char *text)
{
    zeus_np_rng rng;
    seed_from(text, &rng);
    char *nline = named(text, "normal_n");
    long long n = dec(nline);
    free(nline);
    char *head = named(text, "normal_head"), *last = named(text, "normal_last");
    char *htok[50], *ltok[50];
    assert_int_equal(tokens(head, htok, 50), 50);
    assert_int_equal(tokens(last, ltok, 50), 50);
    assert_true(n >= 100);

    uint64_t h = WORD_HASH_INIT;
    long long multi = 0, tails = 0;
    for (long long i = 0; i < n; i++) {
        int extra, tail;
        uint64_t b = dbits(normal_watched(&rng, &extra, &tail));
        multi += extra;
        tails += tail;
        h = word_hash_step(h, b);
        const char *want = i < 50 ? htok[i] : i >= n - 50 ? ltok[i - (n - 50)] : NULL;
        if (want && b != hex64(want))
            fail_msg("normal %lld: %.17g, numpy %.17g", i, from_bits(b), from_bits(hex64(want)));
    }
    char *hash = named(text, "normal_hash");
    if (h != hex64(hash))
        fail_msg("hash of %lld normals: %016" PRIx64 ", numpy %s", n, h, hash);
    char *m = named(text, "normal_multi"), *t = named(text, "normal_tailcount");
    assert_int_equal(multi, dec(m));
    assert_int_equal(tails, dec(t));
    /* The stream did go through the slow branches, so they were compared too. */
    if (n >= 100000) {
        assert_true(tails > 0);
        assert_true(multi > tails);
    }
    char *state = named(text, "normal_state");
    assert_state(&rng, state, "after the normals");
    free(head), free(last), free(hash), free(m), free(t), free(state);
}

static void check_scaled(const char *text)
{
    zeus_np_rng rng, before;
    seed_from(text, &rng);

    /* numpy: ValueError("scale < 0") before drawing; here NAN, nothing drawn. */
    before = rng;
    assert_true(isnan(zeus_np_normal(&rng, 0.0, -1.0)));
    assert_true(isnan(zeus_np_normal(&rng, 0.0, -0.0)));
    assert_memory_equal(&rng, &before, sizeof rng);

    lines it = {text};
    char *line;
    int count = 0, zero_scale = 0;
    while ((line = next_named(&it, "scaled"))) {
        char *tok[3];
        assert_int_equal(tokens(line, tok, 3), 3);
        double loc = from_bits(hex64(tok[0])), scale = from_bits(hex64(tok[1]));
        zeus_np_rng prev = rng;
        uint64_t got = dbits(zeus_np_normal(&rng, loc, scale));
        if (got != hex64(tok[2]))
            fail_msg("normal(%g, %g): %016" PRIx64 ", numpy %s", loc, scale, got, tok[2]);
        if (scale == 0.0) {
            zero_scale++;
            assert_memory_not_equal(&rng, &prev, sizeof rng); /* a draw was consumed */
        }
        count++;
        free(line);
    }
    assert_true(count >= 5);
    assert_true(zero_scale >= 1);
    char *state = named(text, "scaled_state");
    assert_state(&rng, state, "after normal(loc, scale)");
    free(state);
}

/* Compare a permutation of in[] with numpy's; values are decimal tokens. */
static void check_perm(const int *out, size_t n, char **tok, const char *where)
{
    for (size_t i = 0; i < n; i++)
        if (out[i] != dec(tok[i]))
            fail_msg("%s: position %zu is %d, numpy %s", where, i, out[i], tok[i]);
}

static void check_choices(const char *text)
{
    zeus_np_rng rng;
    seed_from(text, &rng);
    lines it = {text};
    char *line;
    int sizes = 0;
    while ((line = next_named(&it, "choice"))) {
        char *tok[64];
        size_t ntok = tokens(line, tok, 64);
        assert_true(ntok >= 1);
        size_t n = (size_t)dec(tok[0]);
        assert_int_equal(ntok, n + 1);
        int in[64], out[64];
        for (size_t i = 0; i < n; i++)
            in[i] = (int)i * 7 + 3;
        zeus_np_choice_all(&rng, in, out, n);
        char where[64];
        snprintf(where, sizeof where, "choice of %zu", n);
        check_perm(out, n, tok + 1, where);
        sizes++;
        free(line);
    }
    assert_int_equal(sizes, 41);
    char *state = named(text, "choice_state");
    assert_state(&rng, state, "after the small choices");
    free(state);

    it.p = text;
    sizes = 0;
    while ((line = next_named(&it, "choice_big"))) {
        char *tok[42];
        assert_int_equal(tokens(line, tok, 42), 42);
        size_t n = (size_t)dec(tok[0]);
        int *in = malloc(n * sizeof *in), *out = malloc(n * sizeof *out);
        assert_true(in && out);
        for (size_t i = 0; i < n; i++)
            in[i] = (int)i * 3 + 1;
        zeus_np_choice_all(&rng, in, out, n);
        uint64_t h = WORD_HASH_INIT;
        for (size_t i = 0; i < n; i++)
            h = word_hash_step(h, (uint64_t)out[i]);
        char where[64];
        snprintf(where, sizeof where, "choice of %zu", n);
        check_perm(out, 20, tok + 2, where);
        check_perm(out + n - 20, 20, tok + 22, where);
        if (h != hex64(tok[1]))
            fail_msg("%s: hash %016" PRIx64 ", numpy %s", where, h, tok[1]);
        sizes++;
        free(in), free(out), free(line);
    }
    assert_true(sizes >= 1);
    state = named(text, "choice_big_state");
    assert_state(&rng, state, "after the large choices");
    free(state);
}

static void check_choice_one(const char *text)
{
    zeus_np_rng rng;
    seed_from(text, &rng);
    lines it = {text};
    char *line;
    int count = 0;
    while ((line = next_named(&it, "choice_one"))) {
        char *tok[2], *end;
        assert_int_equal(tokens(line, tok, 2), 2);
        uint64_t n = strtoull(tok[0], &end, 10), want = strtoull(tok[1], NULL, 10), got = 0;
        assert_int_equal(zeus_np_choice_one(&rng, n, &got), 0);
        if (got != want)
            fail_msg("choice(%" PRIu64 ", 1): %" PRIu64 ", numpy %" PRIu64, n, got, want);
        count++;
        free(line);
    }
    assert_true(count >= 16);
    char *state = named(text, "choice_one_state");
    assert_state(&rng, state, "after choice(n, 1)");
    free(state);
}

/* The rng as Zeus's server holds it: only JSON between draws. */
static void restore(zeus_np_rng *rng, const char *json)
{
    zeus_np_rng_seed(rng, 12345);
    assert_int_equal(zeus_np_rng_from_json(rng, json), 0);
}

static void check_bandit(const char *text)
{
    zeus_np_rng rng;
    char json[256];
    seed_from(text, &rng);
    assert_true(zeus_np_rng_to_json(&rng, json, sizeof json) > 0);

    char *arms_line = named(text, "bandit_arms");
    char *arm_tok[16];
    size_t n_arms = tokens(arms_line, arm_tok, 16);
    int arms[16], perm[16];
    for (size_t i = 0; i < n_arms; i++)
        arms[i] = (int)dec(arm_tok[i]);

    lines it = {text};
    char *line;
    int rounds = 0;
    while ((line = next_named(&it, "bandit"))) {
        char *tok[80];
        size_t ntok = tokens(line, tok, 80);
        assert_int_equal(ntok, 1 + n_arms + 1 + 3 * n_arms);
        assert_string_equal(tok[1 + n_arms], "/");
        restore(&rng, json);
        zeus_np_choice_all(&rng, arms, perm, n_arms);
        assert_true(zeus_np_rng_to_json(&rng, json, sizeof json) > 0);
        char where[64];
        snprintf(where, sizeof where, "bandit round %s", tok[0]);
        check_perm(perm, n_arms, tok + 1, where);
        for (size_t a = 0; a < n_arms; a++) {
            char **s = tok + 2 + n_arms + 3 * a;
            restore(&rng, json);
            uint64_t got = dbits(zeus_np_normal(&rng, from_bits(hex64(s[0])),
                                                from_bits(hex64(s[1]))));
            assert_true(zeus_np_rng_to_json(&rng, json, sizeof json) > 0);
            if (got != hex64(s[2]))
                fail_msg("%s, arm %d: sample %016" PRIx64 ", numpy %s", where, arms[a], got,
                         s[2]);
        }
        rounds++;
        free(line);
    }
    assert_true(rounds >= 10);
    char *state = named(text, "bandit_state");
    assert_string_equal(json, state);
    free(state), free(arms_line);
}

static void check_seed_file(const char *dir, const char *name, void (*check)(const char *))
{
    char *text = load(dir, name);
    check(text);
    free(text);
}

/* ---- Sums ------------------------------------------------------------------------------- */

static void check_sum_line(char *line, const double *a, const char *what)
{
    char *tok[4];
    assert_int_equal(tokens(line, tok, 4), 4);
    size_t n = (size_t)dec(tok[0]);
    double got[3] = {zeus_np_sum(a, n), zeus_np_mean(a, n), zeus_np_var(a, n)};
    static const char *const fn[3] = {"sum", "mean", "var"};
    for (int k = 0; k < 3; k++) {
        double want = from_bits(hex64(tok[1 + k]));
        if (isnan(want) ? !isnan(got[k]) : dbits(got[k]) != dbits(want))
            fail_msg("np.%s of %s length %zu: %.17g (%016" PRIx64 "), numpy %.17g (%s)", fn[k],
                     what, n, got[k], dbits(got[k]), want, tok[1 + k]);
    }
}

static void check_sums(const char *text)
{
    char *base_line = named(text, "sum_base"), *seed_line = named(text, "sum_seed");
    char *btok[32];
    size_t n_base = tokens(base_line, btok, 32);
    double base[32];
    for (size_t i = 0; i < n_base; i++)
        base[i] = from_bits(hex64(btok[i]));
    zeus_np_rng rng;
    zeus_np_rng_seed(&rng, (uint64_t)dec(seed_line));

    lines it = {text};
    char *line;
    int arrays = 0;
    while ((line = next_named(&it, "sum"))) {
        char copy[128];
        snprintf(copy, sizeof copy, "%s", line);
        size_t n = (size_t)dec(strtok(copy, " "));
        double *a = malloc((n ? n : 1) * sizeof *a);
        assert_non_null(a);
        for (size_t i = 0; i < n; i++) {
            uint64_t u = zeus_np_next_uint64(&rng);
            double v = base[u % n_base] * (double)((u >> 8) % 1000 + 1);
            a[i] = (u >> 40) & 1 ? -v : v;
        }
        check_sum_line(line, a, "awkward values,");
        arrays++;
        free(a), free(line);
    }
    assert_true(arrays >= 61);

    it.p = text;
    while ((line = next_named(&it, "sum_negzero"))) {
        double a[256];
        for (size_t i = 0; i < 256; i++)
            a[i] = -0.0;
        check_sum_line(line, a, "-0.0s,");
        free(line);
    }
    free(base_line), free(seed_line);
}

/* ---- Tests: the committed vectors ------------------------------------------------------- */

static void for_each_seed(void (*check)(const char *))
{
    for (size_t i = 0; i < N_SEED_FILES; i++) {
        print_message("  %s\n", seed_files[i]);
        check_seed_file(data_dir(), seed_files[i], check);
    }
}

static void test_np_seed_gives_numpy_state(void **state)
{
    (void)state;
    for_each_seed(check_seeding);
}

static void test_np_next_uint64_matches_numpy(void **state)
{
    (void)state;
    for_each_seed(check_uint64);
}

static void test_np_interleaved_draws_survive_json_round_trip(void **state)
{
    (void)state;
    for_each_seed(check_mixed_and_round_trip);
}

static void test_np_normal_100000_matches_numpy_bits(void **state)
{
    (void)state;
    for_each_seed(check_normals);
}

static void test_np_normal_scaled_and_zero_scale_match(void **state)
{
    (void)state;
    for_each_seed(check_scaled);
}

static void test_np_choice_all_matches_numpy(void **state)
{
    (void)state;
    for_each_seed(check_choices);
}

static void test_np_choice_one_matches_numpy(void **state)
{
    (void)state;
    for_each_seed(check_choice_one);
}

static void test_np_bandit_rounds_through_json_match(void **state)
{
    (void)state;
    for_each_seed(check_bandit);
}

static void test_np_sum_mean_var_match_numpy_bits(void **state)
{
    (void)state;
    check_seed_file(data_dir(), "sums.txt", check_sums);
}

/* ---- Tests: properties that need no vectors --------------------------------------------- */

static void test_np_choice_all_of_nothing_draws_nothing(void **state)
{
    zeus_np_rng rng, before;
    int in[1] = {5}, out[1] = {0};
    (void)state;
    zeus_np_rng_seed(&rng, 3);
    before = rng;
    zeus_np_choice_all(&rng, in, out, 0);
    assert_memory_equal(&rng, &before, sizeof rng);
    zeus_np_choice_all(&rng, in, out, 1); /* bounded(0..0) takes no draw either */
    assert_int_equal(out[0], 5);
    assert_memory_equal(&rng, &before, sizeof rng);
}

static void test_np_choice_one_refuses_empty_and_huge_populations(void **state)
{
    zeus_np_rng rng, before;
    uint64_t out = 77;
    (void)state;
    zeus_np_rng_seed(&rng, 4);
    before = rng;
    assert_int_equal(zeus_np_choice_one(&rng, 0, &out), -1);
    assert_int_equal(zeus_np_choice_one(&rng, (uint64_t)INT64_MAX + 1, &out), -1);
    assert_int_equal(zeus_np_choice_one(&rng, 5, NULL), -1);
    assert_int_equal(out, 77);
    assert_memory_equal(&rng, &before, sizeof rng);
    assert_int_equal(zeus_np_choice_one(&rng, 1, &out), 0); /* one row: no draw */
    assert_int_equal(out, 0);
    assert_memory_equal(&rng, &before, sizeof rng);
}

static void test_np_sum_of_nothing_is_zero_mean_var_nan(void **state)
{
    double x = 1.0;
    (void)state;
    assert_true(dbits(zeus_np_sum(&x, 0)) == dbits(0.0));
    assert_true(isnan(zeus_np_mean(&x, 0)));
    assert_true(isnan(zeus_np_var(&x, 0)));
}

static void test_np_to_json_short_buffer_fails(void **state)
{
    zeus_np_rng rng;
    char buf[256];
    (void)state;
    zeus_np_rng_seed(&rng, 42);
    int len = zeus_np_rng_to_json(&rng, buf, sizeof buf);
    assert_true(len > 0);
    assert_int_equal((size_t)len, strlen(buf));
    assert_int_equal(zeus_np_rng_to_json(&rng, buf, (size_t)len), -1);
    assert_int_equal(zeus_np_rng_to_json(&rng, buf, (size_t)len + 1), len);
}

static void test_np_json_extremes_round_trip(void **state)
{
    zeus_np_rng rng = {UINT64_MAX, UINT64_MAX, 0, 0, 1, UINT32_MAX}, back;
    char buf[256];
    (void)state;
    int len = zeus_np_rng_to_json(&rng, buf, sizeof buf);
    assert_true(len > 0 && len < 256); /* the header promises 256 is enough */
    assert_string_equal(buf, "{\"bit_generator\": \"PCG64\", \"state\": {\"state\": "
                             "340282366920938463463374607431768211455, \"inc\": 0}, "
                             "\"has_uint32\": 1, \"uinteger\": 4294967295}");
    memset(&back, 0, sizeof back);
    assert_int_equal(zeus_np_rng_from_json(&back, buf), 0);
    assert_memory_equal(&back, &rng, sizeof rng);
}

static void test_np_from_json_takes_any_order_spacing_and_extra_members(void **state)
{
    zeus_np_rng rng, want;
    (void)state;
    zeus_np_rng_seed(&want, 42);
    (void)zeus_np_next_uint32(&want);
    char canon[256];
    assert_true(zeus_np_rng_to_json(&want, canon, sizeof canon) > 0);
    assert_int_equal(zeus_np_rng_from_json(&rng, canon), 0);
    assert_memory_equal(&rng, &want, sizeof rng);

    char text[1024];
    /* The same state, written another way. */
    char inc[64];
    sscanf(strstr(canon, "\"inc\": ") + 7, "%63[0-9]", inc);
    char st[64];
    sscanf(strstr(canon, "\"state\": {\"state\": ") + 19, "%63[0-9]", st);
    snprintf(text, sizeof text,
             " \n{ \"uinteger\" :%u,\"note\":[1, -2.5e3, {\"a\": null}, true, false, \"x\\\"y\"],"
             "\t\"state\":{\"inc\":%s,\"state\" : %s},\"has_uint32\":1,"
             "\"bit_generator\":\"PCG\\u0036\\u0034\"}\r\n",
             (unsigned)want.uinteger, inc, st);
    memset(&rng, 0, sizeof rng);
    assert_int_equal(zeus_np_rng_from_json(&rng, text), 0);
    assert_memory_equal(&rng, &want, sizeof rng);

    /* A repeated key keeps its last value, as in Python's json. */
    snprintf(text, sizeof text,
             "{\"bit_generator\": \"MT19937\", \"bit_generator\": \"PCG64\", \"state\": "
             "{\"state\": 1, \"inc\": 2}, \"has_uint32\": 1, \"uinteger\": 9, \"uinteger\": 7}");
    assert_int_equal(zeus_np_rng_from_json(&rng, text), 0);
    assert_true(rng.state_hi == 0 && rng.state_lo == 1 && rng.inc_hi == 0 && rng.inc_lo == 2);
    assert_int_equal(rng.has_uint32, 1);
    assert_int_equal(rng.uinteger, 7);
}

static void test_np_from_json_rejects_junk(void **state)
{
    static const char *const bad[] = {
        "",
        "   ",
        "null",
        "[]",
        "{}",
        "PCG64",
        "{\"bit_generator\": \"PCG64\"}",
        /* wrong bit generator */
        "{\"bit_generator\": \"MT19937\", \"state\": {\"state\": 1, \"inc\": 1}, "
        "\"has_uint32\": 0, \"uinteger\": 0}",
        "{\"bit_generator\": \"PCG64DXSM\", \"state\": {\"state\": 1, \"inc\": 1}, "
        "\"has_uint32\": 0, \"uinteger\": 0}",
        "{\"bit_generator\": \"pcg64\", \"state\": {\"state\": 1, \"inc\": 1}, "
        "\"has_uint32\": 0, \"uinteger\": 0}",
        "{\"bit_generator\": 64, \"state\": {\"state\": 1, \"inc\": 1}, "
        "\"has_uint32\": 0, \"uinteger\": 0}",
        /* 2^128 and beyond */
        "{\"bit_generator\": \"PCG64\", \"state\": {\"state\": "
        "340282366920938463463374607431768211456, \"inc\": 1}, \"has_uint32\": 0, "
        "\"uinteger\": 0}",
        "{\"bit_generator\": \"PCG64\", \"state\": {\"state\": 1, \"inc\": "
        "3402823669209384634633746074317682114550}, \"has_uint32\": 0, \"uinteger\": 0}",
        "{\"bit_generator\": \"PCG64\", \"state\": {\"state\": "
        "999999999999999999999999999999999999999999, \"inc\": 1}, \"has_uint32\": 0, "
        "\"uinteger\": 0}",
        /* out of range or not an integer */
        "{\"bit_generator\": \"PCG64\", \"state\": {\"state\": -1, \"inc\": 1}, "
        "\"has_uint32\": 0, \"uinteger\": 0}",
        "{\"bit_generator\": \"PCG64\", \"state\": {\"state\": 1.5, \"inc\": 1}, "
        "\"has_uint32\": 0, \"uinteger\": 0}",
        "{\"bit_generator\": \"PCG64\", \"state\": {\"state\": 1e3, \"inc\": 1}, "
        "\"has_uint32\": 0, \"uinteger\": 0}",
        "{\"bit_generator\": \"PCG64\", \"state\": {\"state\": \"1\", \"inc\": 1}, "
        "\"has_uint32\": 0, \"uinteger\": 0}",
        "{\"bit_generator\": \"PCG64\", \"state\": {\"state\": 01, \"inc\": 1}, "
        "\"has_uint32\": 0, \"uinteger\": 0}",
        "{\"bit_generator\": \"PCG64\", \"state\": {\"state\": 1, \"inc\": 1}, "
        "\"has_uint32\": 2, \"uinteger\": 0}",
        "{\"bit_generator\": \"PCG64\", \"state\": {\"state\": 1, \"inc\": 1}, "
        "\"has_uint32\": 0, \"uinteger\": 4294967296}",
        "{\"bit_generator\": \"PCG64\", \"state\": {\"state\": 1, \"inc\": 1}, "
        "\"has_uint32\": true, \"uinteger\": 0}",
        /* a member missing */
        "{\"bit_generator\": \"PCG64\", \"state\": {\"state\": 1}, \"has_uint32\": 0, "
        "\"uinteger\": 0}",
        "{\"bit_generator\": \"PCG64\", \"state\": {\"state\": 1, \"inc\": 1}, "
        "\"uinteger\": 0}",
        "{\"state\": {\"state\": 1, \"inc\": 1}, \"has_uint32\": 0, \"uinteger\": 0}",
        /* a later "state" replaces the whole earlier one */
        "{\"bit_generator\": \"PCG64\", \"state\": {\"state\": 1, \"inc\": 1}, "
        "\"state\": {\"state\": 1}, \"has_uint32\": 0, \"uinteger\": 0}",
        /* syntax */
        "{\"bit_generator\": \"PCG64\", \"state\": {\"state\": 1, \"inc\": 1}, "
        "\"has_uint32\": 0, \"uinteger\": 0,}",
        "{\"bit_generator\": \"PCG64\" \"state\": {\"state\": 1, \"inc\": 1}, "
        "\"has_uint32\": 0, \"uinteger\": 0}",
        "{\"bit_generator\": \"PCG64\", \"state\": {\"state\": 1, \"inc\": 1}, "
        "\"has_uint32\": 0, \"uinteger\": 0}}",
        "{\"bit_generator\": \"PCG64\", \"state\": {\"state\": 1, \"inc\": 1}, "
        "\"has_uint32\": 0, \"uinteger\": 0} x",
        "{'bit_generator': 'PCG64', 'state': {'state': 1, 'inc': 1}, "
        "'has_uint32': 0, 'uinteger': 0}",
        "{\"bit_generator\": \"PCG64\", \"state\": {\"state\": 1, \"inc\": 1}, "
        "\"has_uint32\": 0, \"uinteger\": 0, \"x\": [1, 2}",
        "{\"bit_generator\": \"PCG64\", \"state\": {\"state\": 1, \"inc\": 1}, "
        "\"has_uint32\": 0, \"uinteger\": 0, \"x\": tru}",
        "{\"bit_generator\": \"PC\\qG64\", \"state\": {\"state\": 1, \"inc\": 1}, "
        "\"has_uint32\": 0, \"uinteger\": 0}",
        "{\"bit_generator\": \"PCG64\\u0000\", \"state\": {\"state\": 1, \"inc\": 1}, "
        "\"has_uint32\": 0, \"uinteger\": 0}",
        "{\"bit_generator\": \"PCG64\", \"state\\u0000\": {\"state\": 1, \"inc\": 1}, "
        "\"has_uint32\": 0, \"uinteger\": 0}",
        "{\"bit_generator\": \"PCG64\", \"state\": {\"state\": 1, \"inc\": 1}, "
        "\"has_uint32\": 0, \"uinteger\": 0, \"x\": \"\\u12\"}",
    };
    zeus_np_rng rng, before;
    char trunc[512];
    (void)state;
    zeus_np_rng_seed(&rng, 1);
    before = rng;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (zeus_np_rng_from_json(&rng, bad[i]) != -1)
            fail_msg("accepted: %s", bad[i]);
        assert_memory_equal(&rng, &before, sizeof rng); /* untouched on failure */
    }
    assert_int_equal(zeus_np_rng_from_json(NULL, "{}"), -1);
    assert_int_equal(zeus_np_rng_from_json(&rng, NULL), -1);

    /* Every truncation of a valid state is refused. */
    char full[256];
    zeus_np_rng_seed(&rng, 2);
    before = rng;
    int len = zeus_np_rng_to_json(&rng, full, sizeof full);
    for (int cut = 0; cut < len; cut++) {
        snprintf(trunc, sizeof trunc, "%.*s", cut, full);
        if (zeus_np_rng_from_json(&rng, trunc) != -1)
            fail_msg("accepted a truncated state: %s", trunc);
    }
    assert_memory_equal(&rng, &before, sizeof rng);

    /* Deep nesting in an ignored member is refused, not a stack overflow. */
    char deep[2000];
    int at = snprintf(deep, sizeof deep, "{\"x\": ");
    for (int i = 0; i < 500; i++)
        deep[at++] = '[';
    deep[at] = '\0';
    assert_int_equal(zeus_np_rng_from_json(&rng, deep), -1);
}

/* ---- Test: the installed numpy, live ---------------------------------------------------- */

static void test_np_live_numpy_agrees(void **state)
{
    (void)state;
    if (system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
        print_message("skipped: /usr/bin/python3 has no numpy; the committed vectors were "
                      "checked instead\n");
        skip();
    }
    char *dir = zt_mkdtemp();
    char cmd[8400];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/gen.py' --quick '%s'", data_dir(), dir);
    int rc = system(cmd);
    if (rc != 0) {
        zt_rmtree(dir);
        free(dir);
        fail_msg("%s failed (%d)", cmd, rc);
    }
    static const char *const quick[] = {"seed-42.txt", "seed-9223372036854775807.txt"};
    void (*const checks[])(const char *) = {
        check_seeding, check_uint64, check_mixed_and_round_trip, check_normals,
        check_scaled,  check_choices, check_choice_one, check_bandit,
    };
    for (size_t f = 0; f < 2; f++)
        for (size_t c = 0; c < sizeof checks / sizeof checks[0]; c++)
            check_seed_file(dir, quick[f], checks[c]);
    check_seed_file(dir, "sums.txt", check_sums);
    char *text = load(dir, "seed-42.txt");
    print_message("  live: %.40s\n", text);
    free(text);
    zt_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_np_seed_gives_numpy_state),
        cmocka_unit_test(test_np_next_uint64_matches_numpy),
        cmocka_unit_test(test_np_interleaved_draws_survive_json_round_trip),
        cmocka_unit_test(test_np_normal_100000_matches_numpy_bits),
        cmocka_unit_test(test_np_normal_scaled_and_zero_scale_match),
        cmocka_unit_test(test_np_choice_all_matches_numpy),
        cmocka_unit_test(test_np_choice_one_matches_numpy),
        cmocka_unit_test(test_np_bandit_rounds_through_json_match),
        cmocka_unit_test(test_np_sum_mean_var_match_numpy_bits),
        cmocka_unit_test(test_np_choice_all_of_nothing_draws_nothing),
        cmocka_unit_test(test_np_choice_one_refuses_empty_and_huge_populations),
        cmocka_unit_test(test_np_sum_of_nothing_is_zero_mean_var_nan),
        cmocka_unit_test(test_np_to_json_short_buffer_fails),
        cmocka_unit_test(test_np_json_extremes_round_trip),
        cmocka_unit_test(test_np_from_json_takes_any_order_spacing_and_extra_members),
        cmocka_unit_test(test_np_from_json_rejects_junk),
        cmocka_unit_test(test_np_live_numpy_agrees),
    };
    return cmocka_run_group_tests_name("np_random", tests, NULL, NULL);
}
