#!/usr/bin/python3
"""gen.py - numpy's reference vectors for bso/core/np_random.h (tests/unit/test_np_random.c).

Writes, into the folder given (default: this script's folder):
  seed-<seed>.txt  one per seed: the PCG64 state JSON after seeding, raw 64-bit draws,
                   32/64-bit draws interleaved and a JSON round trip in the middle of them,
                   100000 standard normals (the first and last 50 verbatim plus a hash of all),
                   normal(loc, scale) with scale 0 among others, choice permutations of sizes
                   0..40 in a row and above 10000, choice(n, 1) for n from 1 to 2^63 - 1
                   (pandas' df.sample(n=1, random_state=rng)), and a run shaped like Zeus's
                   bandit (each draw from a generator restored from JSON, as zeus's service
                   does).
  sums.txt         np.sum, np.mean and np.var of arrays of lengths 0..300 (and a few longer)
                   of awkward values, built from a PCG64 stream so the C test rebuilds them.

Each line is "<name> <tokens...>"; lines starting with # are comments. Integers are decimal,
raw draws and float64 bit patterns are hex (16 digits; 8 for 32-bit draws). Each section
starts from a fresh np.random.default_rng(seed).

  /usr/bin/python3 tests/data/np-random/gen.py              # rewrite the committed vectors
  /usr/bin/python3 tests/data/np-random/gen.py --quick DIR  # a smaller set, for the live check

The committed files were written with numpy 1.24.2 (Debian 12's python3-numpy).
"""

import json
import os
import struct
import sys
import warnings

import numpy as np

SEEDS = [0, 1, 42, 2**32 + 5, 2**63 - 1, 2**64 - 1]
QUICK_SEEDS = [42, 2**63 - 1]
MIXED_OPS = "3363663336" * 20  # '3': a 32-bit draw, '6': a 64-bit draw; 200 draws, 110 of 32 bits
MIXED_CONT_OPS = "3636336" * 5  # after the round trip through JSON
SCALED = [(0.0, 1.0), (3.5, 0.0), (0.0, 0.0), (-2.25, 0.5), (1e6, 1e-3), (100.0, 37.0),
          (-7.0, 0.0), (1e-300, 1e-300), (-0.0, 2.0)]
CHOICE_BIG = [10000, 10001, 12345]
CHOICE_ONE = [1, 2, 3, 7, 10, 100, 1000, 10000, 10001, 65536, 2**31, 2**32 - 1, 2**32,
              2**32 + 1, 2**40 + 3, 2**63 - 1]
BANDIT_ARMS = [8, 16, 32, 64, 128, 256]
BANDIT_ROUNDS = 40
SUM_BASE = [1e16, 1.0, -1.0, 3.3, -1e16, 1e-3, 7e15, -0.0, 0.1, -2.5e-8, 123456.789, 1e16 + 2]
SUM_SEED = 20240
SUM_LONG = [1000, 4096, 8192, 8193, 16385, 20000, 24577, 40000]
MASK64 = (1 << 64) - 1
PCG_MULT = (2549297995355413924 << 64) + 4865540595714422341


def bits(x):
    return "%016x" % struct.unpack("<Q", struct.pack("<d", float(x)))[0]


def word_hash(words):
    """FNV-1a over 64-bit words (not bytes): h = (h ^ w) * 0x100000001b3 mod 2^64."""
    h = 0xCBF29CE484222325
    for w in words:
        h = ((h ^ w) * 0x100000001B3) & MASK64
    return "%016x" % h


def state_json(rng):
    return json.dumps(rng.bit_generator.state)


def restored(text):
    """What zeus's service does: a generator seeded from the clock, then given the state."""
    rng = np.random.default_rng(12345)
    rng.bit_generator.state = json.loads(text)
    return rng


def draw(bg, op):
    if op == "3":
        return "%08x" % bg.ctypes.next_uint32(bg.ctypes.state)
    return "%016x" % bg.ctypes.next_uint64(bg.ctypes.state)


def pcg_step(state):
    s = state["state"]["state"]
    return (s * PCG_MULT + state["state"]["inc"]) % (1 << 128)


def pcg_output(s):
    hi, lo = s >> 64, s & MASK64
    v, rot = hi ^ lo, hi >> 58
    return ((v >> rot) | (v << ((-rot) & 63))) & MASK64


def normals(seed, count, out):
    """count standard normals one at a time, noting which took more than one 64-bit draw."""
    rng = np.random.default_rng(seed)
    values, multi, tail = [], 0, 0
    for _ in range(count):
        before = rng.bit_generator.state
        one_step = pcg_step(before)
        values.append(rng.normal(0.0, 1.0))
        if rng.bit_generator.state["state"]["state"] != one_step:
            multi += 1
            first = pcg_output(one_step)
            ki0 = 0x000EF33D8025EF6A  # ziggurat_constants.h ki_double[0]
            if first & 0xFF == 0 and ((first >> 9) & 0x000FFFFFFFFFFFFF) >= ki0:
                tail += 1
    words = [int(bits(v), 16) for v in values]
    out.append("normal_n %d" % count)
    out.append("normal_head " + " ".join(bits(v) for v in values[:50]))
    out.append("normal_last " + " ".join(bits(v) for v in values[-50:]))
    out.append("normal_hash " + word_hash(words))
    out.append("# normals that took more than one draw: %d, of them from the tail: %d"
               % (multi, tail))
    out.append("normal_multi %d" % multi)
    out.append("normal_tailcount %d" % tail)
    out.append("normal_state " + state_json(rng))


def scaled(seed, out):
    rng = np.random.default_rng(seed)
    before = state_json(rng)
    for bad in (-1.0, -0.0):
        try:
            rng.normal(0.0, bad)
            raise SystemExit("numpy accepted scale %r" % bad)
        except ValueError as e:
            assert str(e) == "scale < 0", e
    assert state_json(rng) == before, "a refused scale consumed a draw"
    for loc, scale in SCALED:
        out.append("scaled %s %s %s" % (bits(loc), bits(scale), bits(rng.normal(loc, scale))))
    out.append("scaled_state " + state_json(rng))


def choices(seed, out, big):
    rng = np.random.default_rng(seed)
    for n in range(0, 41):
        arr = np.arange(n, dtype=np.int64) * 7 + 3
        perm = rng.choice(arr, n, replace=False)
        out.append(("choice %d %s" % (n, " ".join(str(int(v)) for v in perm))).rstrip())
    out.append("choice_state " + state_json(rng))
    for n in big:
        arr = np.arange(n, dtype=np.int64) * 3 + 1
        perm = [int(v) for v in rng.choice(arr, n, replace=False)]
        out.append("choice_big %d %s %s %s" % (n, word_hash(perm),
                                               " ".join(str(v) for v in perm[:20]),
                                               " ".join(str(v) for v in perm[-20:])))
    out.append("choice_big_state " + state_json(rng))

    # rng.choice(n, 1, replace=False): what pandas' df.sample(n=1, random_state=rng) calls
    # (pandas/core/sample.py), as Zeus's legacy simulator does to pick a trace row.
    rng = np.random.default_rng(seed)
    for n in CHOICE_ONE * 3:
        out.append("choice_one %d %d" % (n, int(rng.choice(n, 1, replace=False)[0])))
    out.append("choice_one_state " + state_json(rng))


def bandit(seed, out):
    """Zeus's GaussianTS.predict: choice over the arms, then one normal per arm; every draw
    from a generator restored from the JSON the previous draw left (services/service.py)."""
    text = state_json(np.random.default_rng(seed))
    out.append("bandit_arms " + " ".join(str(a) for a in BANDIT_ARMS))
    for r in range(BANDIT_ROUNDS):
        rng = restored(text)
        perm = rng.choice(np.array(BANDIT_ARMS), len(BANDIT_ARMS), replace=False)
        text = state_json(rng)
        samples = []
        for i, arm in enumerate(BANDIT_ARMS):
            loc = -(arm * 0.01) * (1 + r / 10)
            prec = np.inf if i == 2 else (r + 1) * arm / 100
            scale = np.sqrt(np.reciprocal(prec))
            rng = restored(text)
            samples.append("%s %s %s" % (bits(loc), bits(scale), bits(rng.normal(loc, scale))))
            text = state_json(rng)
        out.append("bandit %d %s / %s" % (r, " ".join(str(int(v)) for v in perm),
                                          " ".join(samples)))
    out.append("bandit_state " + text)


def seed_file(seed, quick):
    out = ["# numpy %s, np.random.default_rng(%d); written by gen.py" % (np.__version__, seed),
           "seed %d" % seed]
    rng = np.random.default_rng(seed)
    out.append("state0 " + state_json(rng))
    bg = np.random.default_rng(seed).bit_generator
    n_u64 = 100 if quick else 1000
    out.append("u64 " + " ".join(draw(bg, "6") for _ in range(n_u64)))
    out.append("u64_state " + json.dumps(bg.state))

    bg = np.random.default_rng(seed).bit_generator
    out.append("mixed_ops " + MIXED_OPS)
    out.append("mixed " + " ".join(draw(bg, op) for op in MIXED_OPS))
    mid = json.dumps(bg.state)
    out.append("mixed_state " + mid)
    bg = restored(mid).bit_generator
    out.append("mixed_cont_ops " + MIXED_CONT_OPS)
    out.append("mixed_cont " + " ".join(draw(bg, op) for op in MIXED_CONT_OPS))
    out.append("mixed_cont_state " + json.dumps(bg.state))

    normals(seed, 2000 if quick else 100000, out)
    scaled(seed, out)
    choices(seed, out, [10001] if quick else CHOICE_BIG)
    bandit(seed, out)
    return "\n".join(out) + "\n"


def pairwise(a):
    """numpy's DOUBLE_pairwise_sum over the whole array (no 8192 blocks), to show the vectors
    tell the two apart."""
    n = len(a)
    if n < 8:
        r = -0.0
        for x in a:
            r += x
        return r
    if n <= 128:
        r = list(a[:8])
        i = 8
        while i < n - n % 8:
            for k in range(8):
                r[k] += a[i + k]
            i += 8
        res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        for x in a[i:]:
            res += x
        return res
    n2 = n // 2
    n2 -= n2 % 8
    return pairwise(a[:n2]) + pairwise(a[n2:])


def sum_values(rng, n):
    """The C test builds the same arrays from the same draws."""
    raw = rng.bit_generator.random_raw(n) if n else np.zeros(0, dtype=np.uint64)
    vals = []
    for u in (int(x) for x in raw):
        v = SUM_BASE[u % len(SUM_BASE)] * float((u >> 8) % 1000 + 1)
        vals.append(-v if (u >> 40) & 1 else v)
    return np.array(vals, dtype=np.float64)


def sums_file(quick):
    out = ["# numpy %s: np.sum, np.mean, np.var of float64 arrays; written by gen.py"
           % np.__version__,
           "# value = base[u %% %d] * ((u >> 8) %% 1000 + 1), negated when bit 40 of u is set,"
           " u the raw draws of default_rng(%d), each array taking the next n draws"
           % (len(SUM_BASE), SUM_SEED),
           "sum_base " + " ".join(bits(b) for b in SUM_BASE),
           "sum_seed %d" % SUM_SEED]
    rng = np.random.default_rng(SUM_SEED)
    lengths = list(range(0, 61 if quick else 301)) + ([] if quick else SUM_LONG)
    block_matters = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mean and var of an empty array
        for n in lengths:
            a = sum_values(rng, n)
            out.append("sum %d %s %s %s" % (n, bits(np.sum(a)), bits(np.mean(a)), bits(np.var(a))))
            assert a.sum() == np.sum(a) and (n == 0 or a.mean() == np.mean(a))
            if n > 8192:
                values = [float(v) for v in a]
                sq = [float(v) for v in (a - np.mean(a)) ** 2]
                if 0.0 + pairwise(values) != np.sum(a) or pairwise(sq) / n != np.var(a):
                    block_matters.append(n)
        for n in (1, 7, 8, 200):
            a = np.full(n, -0.0)
            out.append("sum_negzero %d %s %s %s"
                       % (n, bits(np.sum(a)), bits(np.mean(a)), bits(np.var(a))))
    if not quick:
        assert block_matters, "no long array tells 8192-element blocks from one pairwise sum"
        out.append("# lengths where summing in 8192-element blocks changes sum or var: %s"
                   % " ".join(map(str, block_matters)))
    return "\n".join(out) + "\n"


def main(argv):
    quick = "--quick" in argv
    args = [a for a in argv if a != "--quick"]
    folder = args[0] if args else os.path.dirname(os.path.abspath(__file__))
    os.makedirs(folder, exist_ok=True)
    for seed in (QUICK_SEEDS if quick else SEEDS):
        with open(os.path.join(folder, "seed-%d.txt" % seed), "w") as f:
            f.write(seed_file(seed, quick))
    with open(os.path.join(folder, "sums.txt"), "w") as f:
        f.write(sums_file(quick))


if __name__ == "__main__":
    main(sys.argv[1:])
