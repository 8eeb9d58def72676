/*
 * token.c - `zeusd token issue`: print one HS256 token signed with the key file's bytes
 * (spec 1.5). --expires takes a human duration ("90s", "30m", "1h", "7d", "2w", or several
 * joined as "1h30m") or "never"/"0" for a token without exp.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "zeusd.h"

static const char issue_help[] =
    "NAME\n"
    "    zeusd token issue - print a signed access token for zeusd\n"
    "\n"
    "SYNOPSIS\n"
    "    zeusd token issue --signing-key-path PATH --user NAME --scope GROUP[,GROUP...]\n"
    "                      --expires DURATION\n"
    "\n"
    "DESCRIPTION\n"
    "    Prints one JWT (HS256) on stdout. Clients send it as \"Authorization: Bearer <token>\"\n"
    "    (Zeus reads it from ZEUSD_TOKEN). A daemon started with the same\n"
    "    --signing-key-path accepts it for the routes of the granted groups.\n"
    "\n"
    "OPTIONS\n"
    "    --signing-key-path PATH  HMAC key file; its exact bytes are the secret.\n"
    "    --user NAME              The token's subject (sub), logged by the daemon.\n"
    "    --scope GROUPS           gpu-control, gpu-read, cpu-read, comma-separated.\n"
    "    --expires DURATION       1h, 7d, 30d, 1h30m, ... or never (also 0): no expiry.\n"
    "    -h, --help               Show this page.\n";

/* Seconds in a humantime-style duration; -1 when malformed. */
static long long parse_duration(const char *s)
{
    long long total = 0;

    if (*s == '\0')
        return -1;
    while (*s != '\0') {
        long long n = 0, unit;
        char u[16];
        size_t k = 0;

        while (isspace((unsigned char)*s))
            s++;
        if (!isdigit((unsigned char)*s))
            return -1;
        while (isdigit((unsigned char)*s)) {
            if (n > 1000000000000LL)
                return -1;
            n = n * 10 + (*s++ - '0');
        }
        while (isspace((unsigned char)*s))
            s++;
        while (isalpha((unsigned char)*s) && k < sizeof u - 1)
            u[k++] = (char)tolower((unsigned char)*s++);
        u[k] = '\0';
        if (!strcmp(u, "s") || !strcmp(u, "sec") || !strcmp(u, "secs") || !strcmp(u, "second") ||
            !strcmp(u, "seconds"))
            unit = 1;
        else if (!strcmp(u, "m") || !strcmp(u, "min") || !strcmp(u, "mins") ||
                 !strcmp(u, "minute") || !strcmp(u, "minutes"))
            unit = 60;
        else if (!strcmp(u, "h") || !strcmp(u, "hr") || !strcmp(u, "hrs") ||
                 !strcmp(u, "hour") || !strcmp(u, "hours"))
            unit = 3600;
        else if (!strcmp(u, "d") || !strcmp(u, "day") || !strcmp(u, "days"))
            unit = 86400;
        else if (!strcmp(u, "w") || !strcmp(u, "week") || !strcmp(u, "weeks"))
            unit = 7 * 86400;
        else
            return -1;
        total += n * unit;
        if (total > 100LL * 365 * 86400)
            return -1;
        while (isspace((unsigned char)*s))
            s++;
    }
    return total;
}

static unsigned char *read_key(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t cap = 0, n = 0;

    if (f == NULL)
        return NULL;
    for (;;) {
        size_t got;
        if (n == cap) {
            unsigned char *grown = cap > (1u << 20) ? NULL : realloc(buf, cap = cap ? cap * 2 : 256);
            if (grown == NULL) {
                free(buf);
                fclose(f);
                errno = EFBIG;
                return NULL;
            }
            buf = grown;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    *len = n;
    return buf;
}

unsigned char *zd_read_signing_key(const char *path, size_t *len)
{
    return read_key(path, len);
}

int zd_token_main(int argc, char **argv)
{
    const char *key_path = NULL, *user = NULL, *scope = NULL, *expires = NULL;
    unsigned scopes[3], count = 0, mask = 0;
    unsigned char *key;
    size_t key_len = 0;
    long long exp = -1;
    char *token;

    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fputs(argc < 2 ? "usage: zeusd token issue --signing-key-path PATH --user NAME --scope "
                         "GROUPS --expires DURATION\n"
                       : issue_help, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "issue") != 0) {
        fprintf(stderr, "zeusd token: unknown subcommand '%s' (only 'issue')\n", argv[1]);
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        const char *flag = argv[i], *value;
        if (!strcmp(flag, "-h") || !strcmp(flag, "--help")) {
            fputs(issue_help, stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "zeusd token issue: a value is required for '%s'\n", flag);
            return 2;
        }
        value = argv[++i];
        if (!strcmp(flag, "--signing-key-path"))
            key_path = value;
        else if (!strcmp(flag, "--user"))
            user = value;
        else if (!strcmp(flag, "--scope"))
            scope = value;
        else if (!strcmp(flag, "--expires"))
            expires = value;
        else {
            fprintf(stderr, "zeusd token issue: unexpected argument '%s'\n", flag);
            return 2;
        }
    }
    if (key_path == NULL || user == NULL || scope == NULL || expires == NULL) {
        fprintf(stderr, "zeusd token issue: --signing-key-path, --user, --scope and --expires "
                        "are required\nTry 'zeusd token issue --help'.\n");
        return 2;
    }
    /* the subject is logged with every request: no control characters in it */
    for (const unsigned char *p = (const unsigned char *)user; *p; p++)
        if (*p < 0x20 || *p == 0x7f) {
            fprintf(stderr, "zeusd token issue: invalid value for '--user': control character "
                            "0x%02x; a user name is printable text\n", *p);
            return 2;
        }
    if (*user == '\0') {
        fprintf(stderr, "zeusd token issue: invalid value for '--user': empty\n");
        return 2;
    }
    for (const char *p = scope;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        unsigned g = zd_group_parse(p, len);
        if (g == ZD_GROUP_NONE) {
            fprintf(stderr, "zeusd token issue: invalid value '%.*s' for '--scope': possible "
                            "values: gpu-control, gpu-read, cpu-read\n", (int)len, p);
            return 2;
        }
        if (!(mask & g))
            scopes[count++] = g;
        mask |= g;
        if (end == NULL)
            break;
        p = end + 1;
    }
    /* The whole text: a copy cut to a fixed size would turn "10h ... 10h" into fewer hours. */
    if (strcasecmp(expires, "never") != 0 && strcmp(expires, "0") != 0) {
        long long secs = parse_duration(expires);
        if (secs < 0) {
            fprintf(stderr, "zeusd token issue: Invalid duration '%s'. Use e.g. '1h', '7d', "
                            "'30d', or 'never'.\n", expires);
            return 2;
        }
        exp = zd_unix_ms() / 1000 + secs;
    }
    key = read_key(key_path, &key_len);
    if (key == NULL) {
        fprintf(stderr, "zeusd token issue: cannot read signing key %s: %s\n", key_path,
                strerror(errno));
        return 1;
    }
    if (key_len == 0) {
        fprintf(stderr, "zeusd token issue: signing key %s is empty\n", key_path);
        free(key);
        return 1;
    }
    token = zd_jwt_issue(key, key_len, user, scopes, count, exp);
    free(key);
    if (token == NULL) {
        fprintf(stderr, "zeusd token issue: cannot sign the token\n");
        return 1;
    }
    printf("%s\n", token);
    free(token);
    return 0;
}
