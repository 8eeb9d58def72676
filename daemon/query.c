/*
 * query.c - Strict parsing of query parameters and device id lists, with zeusd's exact
 * error texts.
 *
 * zeusd (Rust) deserializes every route's query into a struct with serde's
 * deny_unknown_fields, and actix answers a failure with a plain-text 400 whose body is
 * "Query deserialize error: <serde's message>". This file reproduces those messages for the
 * three field types zeusd uses (String, u32, bool), and the JSON messages of its id-list
 * parser (spec 1.6). It is pure: no I/O, no allocation except the id array, so the fuzzer
 * (tests/fuzz/) drives it directly.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zeusd.h"

/* ---- Scalar parsing, as Rust's FromStr does it -------------------------------------------- */

/*
 * u32::from_str: an optional '+', then decimal digits only. Returns 0, or -1 with serde's
 * message ("invalid digit found in string", ...).
 */
static int parse_u32(const char *s, uint32_t *out, const char **why)
{
    uint64_t v = 0;

    if (*s == '\0') {
        *why = "cannot parse integer from empty string";
        return -1;
    }
    if (*s == '+' && s[1] != '\0')
        s++;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9') {
            *why = "invalid digit found in string";
            return -1;
        }
        v = v * 10 + (uint64_t)(*s - '0');
        if (v > UINT32_MAX) {
            /* Rust reports overflow only if every remaining character is a digit. */
            for (s++; *s != '\0'; s++)
                if (*s < '0' || *s > '9') {
                    *why = "invalid digit found in string";
                    return -1;
                }
            *why = "number too large to fit in target type";
            return -1;
        }
    }
    *out = (uint32_t)v;
    return 0;
}

/* ---- Query structs ------------------------------------------------------------------------ */

/* serde's "expected ..." tail for an unknown field. */
static void expected_list(const struct zd_field *fields, size_t n, char *buf, size_t len)
{
    size_t used = 0;

    if (n == 0) {
        snprintf(buf, len, "there are no fields");
        return;
    }
    if (n == 1) {
        snprintf(buf, len, "expected `%s`", fields[0].name);
        return;
    }
    if (n == 2) {
        snprintf(buf, len, "expected `%s` or `%s`", fields[0].name, fields[1].name);
        return;
    }
    used = (size_t)snprintf(buf, len, "expected one of ");
    for (size_t i = 0; i < n && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s`%s`", i ? ", " : "",
                                 fields[i].name);
}

int zd_query_parse(const struct zd_field *fields, size_t n, const struct zd_pair *args,
                   size_t arg_count, struct zd_query *out, char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    for (size_t a = 0; a < arg_count; a++) {
        const char *key = args[a].key != NULL ? args[a].key : "";
        const char *value = args[a].value != NULL ? args[a].value : "";
        const char *why = NULL;
        size_t f;

        for (f = 0; f < n; f++)
            if (strcmp(fields[f].name, key) == 0)
                break;
        if (f == n) {
            char expected[256];
            expected_list(fields, n, expected, sizeof expected);
            snprintf(err, err_len, "Query deserialize error: unknown field `%.100s`, %s", key,
                     expected);
            return -1;
        }
        if (out->present[f]) {
            snprintf(err, err_len, "Query deserialize error: duplicate field `%s`",
                     fields[f].name);
            return -1;
        }
        out->present[f] = 1;
        switch (fields[f].type) {
        case ZD_FIELD_STRING:
            out->str[f] = value;
            break;
        case ZD_FIELD_U32:
            if (parse_u32(value, &out->u32[f], &why) != 0) {
                snprintf(err, err_len, "Query deserialize error: %s", why);
                return -1;
            }
            break;
        case ZD_FIELD_BOOL:
            if (strcmp(value, "true") == 0)
                out->flag[f] = 1;
            else if (strcmp(value, "false") == 0)
                out->flag[f] = 0;
            else {
                snprintf(err, err_len,
                         "Query deserialize error: provided string was not `true` or `false`");
                return -1;
            }
            break;
        }
    }
    for (size_t f = 0; f < n; f++)
        if (fields[f].required && !out->present[f]) {
            snprintf(err, err_len, "Query deserialize error: missing field `%s`", fields[f].name);
            return -1;
        }
    return 0;
}

/* ---- Device id lists ---------------------------------------------------------------------- */

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* usize::from_str on a trimmed item; 0 or -1. */
static int parse_index(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    size_t i = 0;

    if (len > 0 && s[0] == '+')
        i = 1;
    if (i == len)
        return -1;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

int zd_ids_parse(const char *text, const char *field, const char *what, struct zd_ids *out,
                 char *err, size_t err_len)
{
    const char *p = text;
    size_t cap = 1, count = 0;
    uint64_t *ids;

    out->ids = NULL;
    out->count = 0;
    while (is_space(*p))
        p++;
    if (*p == '\0') {
        snprintf(err, err_len, "%s must contain at least one %s index", field, what);
        return -1;
    }
    for (const char *q = text; *q != '\0'; q++)
        cap += *q == ',';
    ids = malloc(cap * sizeof *ids);
    if (ids == NULL) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    p = text;
    for (;;) {
        const char *end = strchr(p, ',');
        const char *b = p, *e = end != NULL ? end : p + strlen(p);

        while (b < e && is_space(*b))
            b++;
        while (e > b && is_space(e[-1]))
            e--;
        if (b == e) {
            snprintf(err, err_len, "%s contains an empty %s index", field, what);
            free(ids);
            return -1;
        }
        if (parse_index(b, (size_t)(e - b), &ids[count]) != 0) {
            snprintf(err, err_len, "Invalid %s index: %.*s", what, (int)(e - b > 200 ? 200 : e - b),
                     b);
            free(ids);
            return -1;
        }
        count++;
        if (end == NULL)
            break;
        p = end + 1;
    }
    qsort(ids, count, sizeof *ids, compare_u64);
    out->count = 0;
    for (size_t i = 0; i < count; i++)
        if (out->count == 0 || ids[out->count - 1] != ids[i])
            ids[out->count++] = ids[i];
    out->ids = ids;
    return 0;
}

void zd_ids_free(struct zd_ids *ids)
{
    free(ids->ids);
    ids->ids = NULL;
    ids->count = 0;
}
