/*
 * auth.c - HS256 JSON Web Tokens, as zeusd issues and checks them (spec 1.5).
 *
 * A token is base64url(header).base64url(claims).base64url(HMAC-SHA256(key, first two)),
 * unpadded. The header is {"typ":"JWT","alg":"HS256"}; the claims are {"sub":..,"scopes":
 * [..],"exp":N}, exp left out for a token that never expires. The key is the signing key
 * file's exact bytes. Checking follows the Rust jsonwebtoken crate that zeusd uses: the
 * structure, then the header's alg, then the signature, then the claims, then exp with a
 * 60 s leeway; the failure texts are that crate's error names ("InvalidSignature", ...),
 * which zeusd puts after "Invalid token: ".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "zeusd.h"

#define EXP_LEEWAY_S 60

/* ---- base64url ---------------------------------------------------------------------------- */

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static char *b64url_encode(const unsigned char *in, size_t len)
{
    char *out = malloc(len / 3 * 4 + 5), *p = out;
    size_t i = 0;

    if (out == NULL)
        return NULL;
    for (; i + 2 < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        *p++ = b64url[v >> 18 & 63];
        *p++ = b64url[v >> 12 & 63];
        *p++ = b64url[v >> 6 & 63];
        *p++ = b64url[v & 63];
    }
    if (len - i == 1) {
        unsigned v = (unsigned)in[i] << 16;
        *p++ = b64url[v >> 18 & 63];
        *p++ = b64url[v >> 12 & 63];
    } else if (len - i == 2) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
        *p++ = b64url[v >> 18 & 63];
        *p++ = b64url[v >> 12 & 63];
        *p++ = b64url[v >> 6 & 63];
    }
    *p = '\0';
    return out;
}

static int b64url_value(char c)
{
    const char *p = c != '\0' ? strchr(b64url, c) : NULL;
    return p != NULL ? (int)(p - b64url) : -1;
}

/* Decode len chars of unpadded base64url; returns a malloc'd, NUL-terminated buffer. */
static unsigned char *b64url_decode(const char *in, size_t len, size_t *out_len)
{
    unsigned char *out;
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;

    if (len % 4 == 1)
        return NULL;
    out = malloc(len / 4 * 3 + 4);
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        int v = b64url_value(in[i]);
        if (v < 0) {
            free(out);
            return NULL;
        }
        acc = acc << 6 | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) { /* non-canonical trailing bits */
        free(out);
        return NULL;
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}

/* ---- Signing ------------------------------------------------------------------------------ */

static char *sign(const unsigned char *key, size_t key_len, const char *msg, size_t msg_len)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned mac_len = 0;

    if (HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)msg, msg_len, mac,
             &mac_len) == NULL)
        return NULL;
    return b64url_encode(mac, mac_len);
}

char *zd_jwt_issue(const unsigned char *key, size_t key_len, const char *sub,
                   const unsigned *scopes, unsigned scope_count, long long exp)
{
    static const char header[] = "{\"typ\":\"JWT\",\"alg\":\"HS256\"}";
    cJSON *claims = cJSON_CreateObject(), *list = cJSON_CreateArray();
    char *claims_json, *h64, *c64, *msg = NULL, *sig, *token = NULL;

    cJSON_AddStringToObject(claims, "sub", sub);
    for (unsigned i = 0; i < scope_count; i++)
        cJSON_AddItemToArray(list, cJSON_CreateString(zd_group_name(scopes[i])));
    cJSON_AddItemToObject(claims, "scopes", list);
    if (exp >= 0)
        cJSON_AddItemToObject(claims, "exp", cJSON_CreateNumber((double)exp));
    claims_json = cJSON_PrintUnformatted(claims);
    cJSON_Delete(claims);
    h64 = b64url_encode((const unsigned char *)header, strlen(header));
    c64 = claims_json != NULL ? b64url_encode((unsigned char *)claims_json, strlen(claims_json))
                              : NULL;
    if (h64 != NULL && c64 != NULL && asprintf(&msg, "%s.%s", h64, c64) >= 0) {
        sig = sign(key, key_len, msg, strlen(msg));
        if (sig != NULL && asprintf(&token, "%s.%s", msg, sig) < 0)
            token = NULL;
        free(sig);
    }
    free(msg);
    free(h64);
    free(c64);
    free(claims_json);
    return token;
}

/* ---- Checking ----------------------------------------------------------------------------- */

static enum zd_jwt_result invalid(char *err, size_t len, const char *why)
{
    snprintf(err, len, "%s", why);
    return ZD_JWT_INVALID;
}

/*
 * 1 when the JSON text escapes a NUL character ("\u0000") in a string. cJSON stops the
 * decoded string there, so a subject "admin\u0000evil" would be logged and answered as
 * "admin"; such a token is refused instead.
 */
static int escapes_nul(const unsigned char *json, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++) {
        if (json[i] != '\\')
            continue;
        if (json[i + 1] == 'u' && i + 5 < n && memcmp(json + i + 2, "0000", 4) == 0)
            return 1;
        i++; /* skip the escaped character, so "\\u0000" is a backslash and text */
    }
    return 0;
}

/* Decode one part into parsed JSON; NULL with err filled on failure. */
static cJSON *decode_part(const char *s, size_t len, char *err, size_t err_len)
{
    size_t n;
    unsigned char *raw = b64url_decode(s, len, &n);
    cJSON *json;

    if (raw == NULL) {
        snprintf(err, err_len, "Base64 error: Invalid input");
        return NULL;
    }
    if (memchr(raw, '\0', n) != NULL || escapes_nul(raw, n)) {
        free(raw);
        snprintf(err, err_len, "JSON error: a string holds a NUL character");
        return NULL;
    }
    json = cJSON_ParseWithLength((char *)raw, n);
    free(raw);
    if (json == NULL || !cJSON_IsObject(json)) {
        cJSON_Delete(json);
        snprintf(err, err_len, "JSON error: expected a JSON object");
        return NULL;
    }
    return json;
}

static enum zd_jwt_result read_claims(const cJSON *c, struct zd_claims *out, char *err,
                                      size_t err_len)
{
    const cJSON *sub = cJSON_GetObjectItemCaseSensitive(c, "sub");
    const cJSON *scopes = cJSON_GetObjectItemCaseSensitive(c, "scopes");
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(c, "exp");
    const cJSON *item;

    memset(out, 0, sizeof *out);
    if (!cJSON_IsString(sub))
        return invalid(err, err_len, sub == NULL ? "JSON error: missing field `sub`"
                                                 : "JSON error: invalid type for `sub`");
    snprintf(out->sub, sizeof out->sub, "%s", sub->valuestring);
    if (!cJSON_IsArray(scopes))
        return invalid(err, err_len, scopes == NULL ? "JSON error: missing field `scopes`"
                                                    : "JSON error: invalid type for `scopes`");
    cJSON_ArrayForEach(item, scopes) {
        unsigned g = cJSON_IsString(item)
                         ? zd_group_parse(item->valuestring, strlen(item->valuestring))
                         : ZD_GROUP_NONE;
        if (g == ZD_GROUP_NONE)
            return invalid(err, err_len, "JSON error: unknown variant in `scopes`, expected "
                                         "one of `gpu-control`, `gpu-read`, `cpu-read`");
        if (out->scope_count < 3 && !(out->scope_mask & g))
            out->scopes[out->scope_count++] = g;
        out->scope_mask |= g;
    }
    if (exp != NULL && !cJSON_IsNull(exp)) {
        if (!cJSON_IsNumber(exp) || exp->valuedouble < 0 || exp->valuedouble > 9.2e18 ||
            exp->valuedouble != (double)(long long)exp->valuedouble)
            return invalid(err, err_len, "JSON error: invalid type for `exp`");
        out->has_exp = 1;
        out->exp = (long long)exp->valuedouble;
    }
    return ZD_JWT_OK;
}

enum zd_jwt_result zd_jwt_verify(const unsigned char *key, size_t key_len, const char *token,
                                 long long now, struct zd_claims *out, char *err,
                                 size_t err_len)
{
    const char *dot1 = strchr(token, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    const cJSON *alg;
    cJSON *header, *claims;
    char *sig;
    enum zd_jwt_result r;
    size_t sig_len;

    if (dot1 == NULL || dot2 == NULL || strchr(dot2 + 1, '.') != NULL)
        return invalid(err, err_len, "InvalidToken");
    header = decode_part(token, (size_t)(dot1 - token), err, err_len);
    if (header == NULL)
        return ZD_JWT_INVALID;
    alg = cJSON_GetObjectItemCaseSensitive(header, "alg");
    if (!cJSON_IsString(alg) || strcmp(alg->valuestring, "HS256") != 0) {
        cJSON_Delete(header);
        return invalid(err, err_len, "InvalidAlgorithm");
    }
    cJSON_Delete(header);
    sig = sign(key, key_len, token, (size_t)(dot2 - token));
    sig_len = strlen(dot2 + 1);
    if (sig == NULL || strlen(sig) != sig_len ||
        CRYPTO_memcmp(sig, dot2 + 1, sig_len) != 0) {
        free(sig);
        return invalid(err, err_len, "InvalidSignature");
    }
    free(sig);
    claims = decode_part(dot1 + 1, (size_t)(dot2 - dot1 - 1), err, err_len);
    if (claims == NULL)
        return ZD_JWT_INVALID;
    r = read_claims(claims, out, err, err_len);
    cJSON_Delete(claims);
    if (r != ZD_JWT_OK)
        return r;
    if (out->has_exp && out->exp < now - EXP_LEEWAY_S)
        return ZD_JWT_EXPIRED;
    return ZD_JWT_OK;
}
