/*
 * literal.c - The solution file of PointSolution (lowtime's freqs_pipeline_%05d.py) parsed as
 * the Python literal it is, without evaluating anything.
 *
 * Concept: Zeus runs the file through eval(), so any Python expression would do. Reality:
 * lowtime writes one shape only, a list with one entry per rank of lists of
 * ('instruction', MHz) tuples, with comments after it:
 *
 *     [
 *     [('forward', 1110), ('backward', 1140)],
 *     [('forward', 1110), ('backward', 1110)],
 *     ]
 *     # Iteration 0 cost change: 0.216
 *
 * so this reads Python's literal grammar (lists, tuples, strings with their escapes and
 * implicit concatenation, integers with underscores, floats, None, True, False, comments),
 * which covers every file lowtime or a person writes, and nothing that runs code. Numbers
 * are held as written; the shape check then wants integers, where pydantic v1 would also
 * truncate 1110.7 to 1110 or parse "1110": a plan with such entries is refused (400) rather
 * than guessed at.
 *
 * Nesting is capped (MAX_DEPTH) so a hostile file cannot exhaust the stack.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pfo_server.h"

#define MAX_DEPTH 32

enum lit_kind { L_LIST, L_TUPLE, L_STR, L_INT, L_FLOAT, L_NONE, L_BOOL };

struct lit {
    enum lit_kind kind;
    size_t n;          /* items of a list or tuple */
    struct lit *items;
    char *str;         /* L_STR */
    long long i;       /* L_INT, L_BOOL */
};

struct parser {
    const char *s;
    size_t pos;
    pfo_error *e;
};

/* ---- Values --------------------------------------------------------------------------------- */

static void lit_fini(struct lit *v)
{
    for (size_t k = 0; k < v->n; k++)
        lit_fini(&v->items[k]);
    free(v->items);
    free(v->str);
}

static bool syntax(struct parser *p, const char *what)
{
    size_t line = 1, col = 1;

    for (size_t k = 0; k < p->pos; k++) {
        if (p->s[k] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    pfo_fail(p->e, 500, "SyntaxError", "%s (line %zu, column %zu of the solution file; only a "
             "Python literal of lists, tuples, strings and numbers is read)", what, line, col);
    return false;
}

/* Whitespace, line continuations and comments. */
static void skip_space(struct parser *p)
{
    for (;;) {
        char c = p->s[p->pos];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
            p->pos++;
        } else if (c == '\\' && p->s[p->pos + 1] == '\n') {
            p->pos += 2;
        } else if (c == '#') {
            while (p->s[p->pos] != '\0' && p->s[p->pos] != '\n')
                p->pos++;
        } else {
            return;
        }
    }
}

static bool parse_value(struct parser *p, struct lit *out, int depth);

/* The escapes Python's str literals know that lowtime or a person might write. */
static int unescape(char c)
{
    switch (c) {
    case 'n': return '\n';
    case 't': return '\t';
    case 'r': return '\r';
    case '0': return '\0';
    case '\\': case '\'': case '"': return c;
    default: return -1;
    }
}

/* One quoted string appended to *buf (len, cap). */
static bool parse_one_string(struct parser *p, char **buf, size_t *len, size_t *cap)
{
    char q = p->s[p->pos++];

    if (p->s[p->pos] == q && p->s[p->pos + 1] == q)
        return syntax(p, "triple-quoted strings are not read");
    for (;;) {
        char c = p->s[p->pos];
        if (c == '\0' || c == '\n')
            return syntax(p, "unterminated string literal");
        p->pos++;
        if (c == q)
            return true;
        if (c == '\\') {
            int u = unescape(p->s[p->pos]);
            if (u < 0)
                return syntax(p, "unsupported escape in a string");
            c = (char)u;
            p->pos++;
        }
        if (*len + 2 > *cap) {
            size_t ncap = *cap ? *cap * 2 : 32;
            char *b = realloc(*buf, ncap);
            if (b == NULL)
                return syntax(p, "out of memory");
            *buf = b;
            *cap = ncap;
        }
        (*buf)[(*len)++] = c;
        (*buf)[*len] = '\0';
    }
}

/* 'a' "b" 'c': adjacent literals concatenate, as in Python. */
static bool parse_string(struct parser *p, struct lit *out)
{
    size_t len = 0, cap = 0;
    char *buf = NULL;

    do {
        if (!parse_one_string(p, &buf, &len, &cap)) {
            free(buf);
            return false;
        }
        skip_space(p);
    } while (p->s[p->pos] == '\'' || p->s[p->pos] == '"');
    out->kind = L_STR;
    out->str = buf != NULL ? buf : strdup("");
    if (out->str != NULL && strlen(out->str) != len) {
        free(out->str);
        out->str = NULL;
        return syntax(p, "a NUL character inside an instruction name");
    }
    return out->str != NULL || syntax(p, "out of memory");
}

/* [+-]digits[_digits] with an optional fraction or exponent. */
static bool parse_number(struct parser *p, struct lit *out)
{
    char digits[64];
    size_t n = 0;
    bool is_float = false;

    if (p->s[p->pos] == '-' || p->s[p->pos] == '+') {
        digits[n++] = p->s[p->pos++];
        skip_space(p);
    }
    for (;;) {
        char c = p->s[p->pos];
        if (c == '_') {
            p->pos++;
            continue;
        }
        if (c == '.' || c == 'e' || c == 'E')
            is_float = true;
        else if ((c == '+' || c == '-') && n > 0 && (digits[n - 1] == 'e' || digits[n - 1] == 'E'))
            ;
        else if (c < '0' || c > '9')
            break;
        if (n + 1 >= sizeof digits)
            return syntax(p, "number too long");
        digits[n++] = c;
        p->pos++;
    }
    digits[n] = '\0';
    if (n == 0 || (n == 1 && (digits[0] == '-' || digits[0] == '+')))
        return syntax(p, "invalid syntax");
    errno = 0;
    if (is_float) {
        char *end;
        strtod(digits, &end);
        if (*end != '\0')
            return syntax(p, "invalid number");
        out->kind = L_FLOAT;
        return true;
    }
    {
        char *end;
        out->i = strtoll(digits, &end, 10);
        if (*end != '\0' || errno == ERANGE)
            return syntax(p, "integer out of range");
        /* Python 3 refuses "0123" (leading zeros in a decimal integer) */
        const char *d = digits + (digits[0] == '-' || digits[0] == '+');
        if (d[0] == '0' && d[1] != '\0' && strspn(d, "0") != strlen(d))
            return syntax(p, "leading zeros in decimal integer literals are not permitted");
    }
    out->kind = L_INT;
    return true;
}

/* Items up to `close`; *was_tuple tells "(x)" (a parenthesized value) from "(x,)". */
static bool parse_items(struct parser *p, struct lit *out, char close, int depth,
                        bool *trailing_comma)
{
    size_t cap = 0;

    *trailing_comma = false;
    for (;;) {
        skip_space(p);
        if (p->s[p->pos] == close) {
            p->pos++;
            return true;
        }
        if (out->n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            struct lit *it = realloc(out->items, ncap * sizeof *it);
            if (it == NULL)
                return syntax(p, "out of memory");
            out->items = it;
            cap = ncap;
        }
        memset(&out->items[out->n], 0, sizeof out->items[0]);
        if (!parse_value(p, &out->items[out->n++], depth + 1))
            return false;
        skip_space(p);
        *trailing_comma = false;
        if (p->s[p->pos] == ',') {
            p->pos++;
            *trailing_comma = true;
        } else if (p->s[p->pos] != close) {
            return syntax(p, close == ']' ? "expected ',' or ']'" : "expected ',' or ')'");
        }
    }
}

static bool parse_word(struct parser *p, struct lit *out)
{
    static const struct { const char *w; enum lit_kind k; long long i; } words[] = {
        {"None", L_NONE, 0}, {"True", L_BOOL, 1}, {"False", L_BOOL, 0}};

    for (size_t k = 0; k < sizeof words / sizeof words[0]; k++) {
        size_t len = strlen(words[k].w);
        char next = p->s[p->pos + len];
        if (strncmp(p->s + p->pos, words[k].w, len) == 0 &&
            !(next == '_' || (next >= 'a' && next <= 'z') || (next >= 'A' && next <= 'Z') ||
              (next >= '0' && next <= '9'))) {
            p->pos += len;
            out->kind = words[k].k;
            out->i = words[k].i;
            return true;
        }
    }
    return syntax(p, "a name or an expression (only literals are read)");
}

static bool parse_value(struct parser *p, struct lit *out, int depth)
{
    char c;
    bool trailing;

    if (depth > MAX_DEPTH)
        return syntax(p, "nesting too deep");
    skip_space(p);
    c = p->s[p->pos];
    if (c == '[') {
        p->pos++;
        out->kind = L_LIST;
        return parse_items(p, out, ']', depth, &trailing);
    }
    if (c == '(') {
        p->pos++;
        out->kind = L_TUPLE;
        if (!parse_items(p, out, ')', depth, &trailing))
            return false;
        if (out->n == 1 && !trailing) { /* "(x)" is x */
            struct lit inner = out->items[0];
            free(out->items);
            *out = inner;
        }
        return true;
    }
    if (c == '\'' || c == '"')
        return parse_string(p, out);
    if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.')
        return parse_number(p, out);
    if (c == '\0')
        return syntax(p, "unexpected end of file");
    return parse_word(p, out);
}

/* ---- The shape: list[list[tuple[str, int]]] ---------------------------------------------------- */

/* pydantic v1's message for FrequencySchedule(rank=r, frequencies=...). */
static bool shape_error(pfo_error *e, size_t rank, long item, int field, const char *msg,
                        const char *type)
{
    char loc[96] = "frequencies";

    if (item >= 0)
        snprintf(loc, sizeof loc, "frequencies -> %ld", item);
    if (field >= 0)
        snprintf(loc + strlen(loc), sizeof loc - strlen(loc), " -> %d", field);
    pfo_fail(e, 400, "ValidationError", "1 validation error for FrequencySchedule (rank %zu of "
             "the solution file)\n%s\n  %s (type=%s)", rank, loc, msg, type);
    return false;
}

static bool is_seq(const struct lit *v)
{
    return v->kind == L_LIST || v->kind == L_TUPLE;
}

static bool take_rank(const struct lit *v, size_t rank, pfo_freqs *f, pfo_error *e)
{
    if (!is_seq(v))
        return shape_error(e, rank, -1, -1, "value is not a valid list", "type_error.list");
    f->names = calloc(v->n ? v->n : 1, sizeof *f->names);
    f->mhz = calloc(v->n ? v->n : 1, sizeof *f->mhz);
    if (f->names == NULL || f->mhz == NULL) {
        pfo_fail(e, 500, "MemoryError", "out of memory");
        return false;
    }
    for (size_t k = 0; k < v->n; k++) {
        const struct lit *t = &v->items[k];
        if (!is_seq(t))
            return shape_error(e, rank, (long)k, -1, "value is not a valid tuple", "type_error.tuple");
        if (t->n != 2)
            return shape_error(e, rank, (long)k, -1, "wrong tuple length, expected 2",
                               "value_error.tuple.length");
        if (t->items[0].kind != L_STR)
            return shape_error(e, rank, (long)k, 0, "str type expected", "type_error.str");
        if (t->items[1].kind != L_INT)
            return shape_error(e, rank, (long)k, 1, "value is not a valid integer",
                               "type_error.integer");
        f->names[k] = strdup(t->items[0].str);
        f->mhz[k] = (long)t->items[1].i;
        f->count = k + 1;
        if (f->names[k] == NULL) {
            pfo_fail(e, 500, "MemoryError", "out of memory");
            return false;
        }
    }
    return true;
}

bool pfo_parse_plan(const char *text, pfo_plan *plan, pfo_error *e)
{
    struct parser p = {text, 0, e};
    struct lit top;
    bool ok;

    memset(&top, 0, sizeof top);
    memset(plan, 0, sizeof *plan);
    ok = parse_value(&p, &top, 0);
    if (ok) {
        skip_space(&p);
        if (p.s[p.pos] != '\0')
            ok = syntax(&p, "text after the literal");
    }
    if (ok && !is_seq(&top)) {
        pfo_fail(e, 500, "TypeError", "the solution file holds a %s, not a list of ranks",
                 top.kind == L_STR ? "string" : "number or constant");
        ok = false;
    }
    if (ok) {
        plan->ranks = calloc(top.n ? top.n : 1, sizeof *plan->ranks);
        if (plan->ranks == NULL) {
            pfo_fail(e, 500, "MemoryError", "out of memory");
            ok = false;
        }
        for (size_t r = 0; ok && r < top.n; r++) {
            plan->count = r + 1;
            ok = take_rank(&top.items[r], r, &plan->ranks[r], e);
        }
    }
    lit_fini(&top);
    if (!ok)
        pfo_plan_free(plan);
    return ok;
}
