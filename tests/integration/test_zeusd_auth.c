/*
 * test_zeusd_auth.c - Token authentication against a real zeusd started with
 * --signing-key-path: `zeusd token issue`, then the auth matrix of spec 1.5 (missing, bad,
 * wrong key, expired, wrong scope, right scope, never-expiring) with exact bodies, and
 * /auth/whoami. Expired and forged tokens are signed here with libcrypto's HMAC, reached
 * through dlopen so the test needs no extra link.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>

#include "sysfs_tree.h"
#include "test_support.h"
#include "test_zeusd_harness.h"

#define KEY "test-secret-key-for-unit-tests!!\n"

struct fixture {
    char *dir;
    char key_path[300];
    zt_sysfs *tree;
    struct zd_proc d;
};

/* ---- Token helpers ------------------------------------------------------------------------ */

static void b64url(const unsigned char *in, size_t len, char *out)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < len ? (unsigned)in[i + 1] << 8 : 0) |
                     (i + 2 < len ? in[i + 2] : 0);
        out[o++] = t[v >> 18 & 63];
        out[o++] = t[v >> 12 & 63];
        if (i + 1 < len)
            out[o++] = t[v >> 6 & 63];
        if (i + 2 < len)
            out[o++] = t[v & 63];
    }
    out[o] = '\0';
}

/* An HS256 token over `claims` with `key`, signed here. */
static void sign_token(const char *key, const char *claims, char *out, size_t len)
{
    typedef const void *(*md_fn)(void);
    typedef unsigned char *(*hmac_fn)(const void *, const void *, int, const unsigned char *,
                                      size_t, unsigned char *, unsigned *);
    void *lib = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
    md_fn sha256;
    hmac_fn hmac;
    char h64[64], c64[1024], msg[1200], s64[64];
    unsigned char mac[64];
    unsigned mac_len = 0;
    const char *header = "{\"typ\":\"JWT\",\"alg\":\"HS256\"}";

    if (lib == NULL)
        lib = dlopen("libcrypto.so", RTLD_NOW | RTLD_LOCAL);
    assert_non_null(lib);
    sha256 = (md_fn)dlsym(lib, "EVP_sha256");
    hmac = (hmac_fn)dlsym(lib, "HMAC");
    assert_non_null(sha256);
    assert_non_null(hmac);
    b64url((const unsigned char *)header, strlen(header), h64);
    b64url((const unsigned char *)claims, strlen(claims), c64);
    snprintf(msg, sizeof msg, "%s.%s", h64, c64);
    assert_non_null(hmac(sha256(), key, (int)strlen(key), (unsigned char *)msg, strlen(msg), mac,
                         &mac_len));
    b64url(mac, mac_len, s64);
    snprintf(out, len, "%s.%s", msg, s64);
    dlclose(lib);
}

/* Run `zeusd token issue ...` and return its stdout (trimmed) in out; returns exit status. */
static int issue(const struct fixture *f, const char *scope, const char *expires, char *out,
                 size_t len)
{
    char cmd[1024];
    FILE *p;
    size_t n = 0;
    int status;

    snprintf(cmd, sizeof cmd, "'%s/zeusd' token issue --signing-key-path '%s' --user alice "
             "--scope %s --expires %s 2>/dev/null", getenv("ZEUS_BUILD_DIR"), f->key_path, scope,
             expires);
    p = popen(cmd, "r");
    assert_non_null(p);
    n = fread(out, 1, len - 1, p);
    out[n] = '\0';
    out[strcspn(out, "\n")] = '\0';
    status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void auth_get(const struct fixture *f, const char *path, const char *token,
                     struct zd_reply *r)
{
    char header[2048];
    snprintf(header, sizeof header, "Authorization: Bearer %s", token);
    assert_int_equal(zd_http_full(&f->d, strncmp(path, "/gpu/set_", 9) == 0 ? "POST" : "GET",
                                  path, token ? header : NULL, NULL, r), 0);
}

/* ---- Fixture ------------------------------------------------------------------------------ */

static int setup_with(void **state, const char *enable)
{
    struct fixture *f = calloc(1, sizeof *f);

    f->dir = zt_mkdtemp();
    snprintf(f->key_path, sizeof f->key_path, "%s/key", f->dir);
    zt_write_file(f->key_path, KEY);
    f->tree = zt_sysfs_create();
    zt_sysfs_add_package(f->tree, 0, 1000000, 262143328850ull);
    zt_sysfs_use(f->tree);
    setenv("ZEUS_FAKE_NVML", "gpus=2", 1);
    zd_proc_spawn(&f->d, f->dir, 0, "--signing-key-path", f->key_path, "--enable", enable, NULL);
    if (zd_proc_ready_or_report(&f->d) != 0)
        return -1;
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, "gpu-control,gpu-read,cpu-read");
}

static int setup_no_cpu(void **state)
{
    return setup_with(state, "gpu-control,gpu-read");
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(zd_proc_stop(&f->d), 0);
    zt_sysfs_destroy(f->tree);
    zt_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* ---- Tests -------------------------------------------------------------------------------- */

static void test_zeusd_auth_open_routes_need_no_token(void **state)
{
    struct fixture *f = *state;
    struct zd_reply r;

    zd_get(&f->d, "/discover", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"auth_required\":true}"));
    zd_get(&f->d, "/time", &r);
    assert_int_equal(r.status, 200);
}

static void test_zeusd_auth_missing_token_is_401(void **state)
{
    struct fixture *f = *state;
    struct zd_reply r;

    zd_get(&f->d, "/gpu/get_power", &r);
    assert_reply(&r, 401, "{\"error\":\"Authentication required. Provide an Authorization: "
                          "Bearer <token> header.\"}");
    assert_string_equal(r.www_authenticate, "Bearer realm=\"zeusd\"");
    zd_get(&f->d, "/nope", &r);
    assert_int_equal(r.status, 401);
    assert_int_equal(zd_http_full(&f->d, "GET", "/gpu/get_power", "Authorization: bearer x",
                                  NULL, &r), 0);
    assert_int_equal(r.status, 401); /* the prefix is case-sensitive */
}

static void test_zeusd_auth_bad_tokens_are_401(void **state)
{
    struct fixture *f = *state;
    struct zd_reply r;
    char tok[2048];

    auth_get(f, "/gpu/get_power", "garbage", &r);
    assert_reply(&r, 401, "{\"error\":\"Invalid token: InvalidToken\"}");
    sign_token("wrong-key", "{\"sub\":\"alice\",\"scopes\":[\"gpu-read\"]}", tok, sizeof tok);
    auth_get(f, "/gpu/get_power", tok, &r);
    assert_reply(&r, 401, "{\"error\":\"Invalid token: InvalidSignature\"}");
    assert_string_equal(r.www_authenticate, "Bearer realm=\"zeusd\"");
    sign_token(KEY, "{\"sub\":\"alice\",\"scopes\":[\"gpu-read\"],\"exp\":1000}", tok,
               sizeof tok);
    auth_get(f, "/gpu/get_power", tok, &r);
    assert_reply(&r, 401, "{\"error\":\"Token has expired.\"}");
    /* Within the 60 s leeway still passes. */
    snprintf(tok, sizeof tok, "{\"sub\":\"alice\",\"scopes\":[\"gpu-read\"],\"exp\":%lld}",
             (long long)time(NULL) - 30);
    {
        char t2[2048];
        sign_token(KEY, tok, t2, sizeof t2);
        auth_get(f, "/gpu/get_power", t2, &r);
        assert_int_equal(r.status, 200);
    }
    sign_token(KEY, "{\"sub\":\"alice\",\"scopes\":[\"root\"]}", tok, sizeof tok);
    auth_get(f, "/gpu/get_power", tok, &r);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(r.body, "Invalid token: JSON error"));
}

static void test_zeusd_auth_scopes(void **state)
{
    struct fixture *f = *state;
    struct zd_reply r;
    char tok[2048];

    assert_int_equal(issue(f, "gpu-read", "1h", tok, sizeof tok), 0);
    auth_get(f, "/gpu/get_power_limit?gpu_ids=0", tok, &r);
    assert_reply(&r, 200, "{\"0\":{\"power_limit_mw\":700000}}");
    auth_get(f, "/cpu/get_power", tok, &r);
    assert_reply(&r, 403, "{\"error\":\"Token for user 'alice' lacks required scope 'cpu-read'. "
                          "Token scopes: ['gpu-read']\"}");
    auth_get(f, "/gpu/set_power_limit?gpu_ids=0&power_limit_mw=300000&block=true", tok, &r);
    assert_reply(&r, 403, "{\"error\":\"Token for user 'alice' lacks required scope "
                          "'gpu-control'. Token scopes: ['gpu-read']\"}");
    assert_int_equal(issue(f, "gpu-control,cpu-read", "never", tok, sizeof tok), 0);
    auth_get(f, "/gpu/set_power_limit?gpu_ids=0&power_limit_mw=300000&block=true", tok, &r);
    assert_reply(&r, 200, "");
    auth_get(f, "/cpu/get_cumulative_energy?cpu=true&dram=false", tok, &r);
    assert_int_equal(r.status, 200);
    auth_get(f, "/auth/whoami", tok, &r);
    assert_reply(&r, 200, "{\"sub\":\"alice\",\"scopes\":[\"gpu-control\",\"cpu-read\"]}");
}

static void test_zeusd_auth_whoami(void **state)
{
    struct fixture *f = *state;
    struct zd_reply r;
    char tok[2048], want[256];
    long long exp;

    zd_get(&f->d, "/auth/whoami", &r);
    assert_int_equal(r.status, 401);
    auth_get(f, "/auth/whoami", "a.b.c", &r);
    assert_int_equal(r.status, 401);
    assert_int_equal(issue(f, "cpu-read", "7d", tok, sizeof tok), 0);
    auth_get(f, "/auth/whoami", tok, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(sscanf(r.body, "{\"sub\":\"alice\",\"scopes\":[\"cpu-read\"],\"exp\":%lld}",
                            &exp), 1);
    assert_true(exp > (long long)time(NULL) + 7 * 86400 - 60);
    snprintf(want, sizeof want, "{\"sub\":\"alice\",\"scopes\":[\"cpu-read\"],\"exp\":%lld}", exp);
    assert_string_equal(r.body, want);
}

/* A long --expires counts in full: nine "10h" are 90 hours, not the 80 a 31-byte copy held. */
static void test_zeusd_token_issue_long_duration(void **state)
{
    struct fixture *f = *state;
    struct zd_reply r;
    char tok[2048];
    long long exp, now = (long long)time(NULL);

    assert_int_equal(issue(f, "cpu-read", "'10h 10h 10h 10h 10h 10h 10h 10h 10h'", tok,
                           sizeof tok), 0);
    auth_get(f, "/auth/whoami", tok, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(sscanf(r.body, "{\"sub\":\"alice\",\"scopes\":[\"cpu-read\"],\"exp\":%lld}",
                            &exp), 1);
    assert_true(exp >= now + 90 * 3600 && exp <= now + 90 * 3600 + 60);
    assert_int_equal(issue(f, "cpu-read", "NEVER", tok, sizeof tok), 0);
    auth_get(f, "/auth/whoami", tok, &r);
    assert_reply(&r, 200, "{\"sub\":\"alice\",\"scopes\":[\"cpu-read\"]}");
}

static void test_zeusd_auth_disabled_group_is_404_first(void **state)
{
    struct fixture *f = *state;
    struct zd_reply r;

    zd_get(&f->d, "/cpu/get_power", &r); /* no token at all: still 404 */
    assert_reply(&r, 404, "{\"error\":\"API group 'cpu-read' is not enabled on this server.\"}");
}

static void test_zeusd_token_issue_rejects_bad_input(void **state)
{
    struct fixture *f = *state;
    char out[512];

    assert_int_equal(issue(f, "gpu-read", "soon", out, sizeof out), 2);
    assert_int_equal(issue(f, "root", "1h", out, sizeof out), 2);
    zt_write_file(f->key_path, "");
    assert_int_equal(issue(f, "gpu-read", "1h", out, sizeof out), 1);
}

/* A subject chosen by a client cannot forge log lines, nor hide behind a NUL. */
static void test_zeusd_auth_subject_cannot_forge_log_lines(void **state)
{
    struct fixture *f = *state;
    struct zd_reply r;
    char tok[2048], *log;

    sign_token(KEY, "{\"sub\":\"eve\\nFORGED INFO zeusd: root logged in\\u001b[2J\","
                    "\"scopes\":[\"gpu-read\"]}", tok, sizeof tok);
    auth_get(f, "/gpu/get_power_limit?gpu_ids=0", tok, &r);
    assert_int_equal(r.status, 200);
    log = zd_read_log(&f->d);
    assert_non_null(log);
    /* the newline and the escape are shown, not obeyed: no line starts with the forgery */
    assert_null(strstr(log, "\nFORGED"));
    assert_null(strchr(log, 0x1b));
    assert_non_null(strstr(log, "user=eve\\x0aFORGED INFO zeusd: root logged in\\x1b[2J"));
    free(log);

    /* "admin\u0000x" would be cut to "admin" by the JSON parser: refused */
    sign_token(KEY, "{\"sub\":\"admin\\u0000x\",\"scopes\":[\"gpu-read\"]}", tok,
               sizeof tok);
    auth_get(f, "/auth/whoami", tok, &r);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(r.body, "NUL character"));
    /* an escaped backslash before "u0000" is text, not a NUL */
    sign_token(KEY, "{\"sub\":\"a\\\\u0000\",\"scopes\":[\"gpu-read\"]}", tok, sizeof tok);
    auth_get(f, "/auth/whoami", tok, &r);
    assert_reply(&r, 200, "{\"sub\":\"a\\\\u0000\",\"scopes\":[\"gpu-read\"]}");
}

static void test_zeusd_token_issue_refuses_control_characters(void **state)
{
    struct fixture *f = *state;
    char cmd[1024];
    int status;

    snprintf(cmd, sizeof cmd, "'%s/zeusd' token issue --signing-key-path '%s' --user \"$(printf "
             "'eve\\nroot')\" --scope gpu-read --expires 1h >/dev/null 2>&1",
             getenv("ZEUS_BUILD_DIR"), f->key_path);
    status = system(cmd);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_zeusd_auth_open_routes_need_no_token, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_zeusd_auth_missing_token_is_401, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zeusd_auth_bad_tokens_are_401, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zeusd_auth_scopes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zeusd_auth_whoami, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zeusd_token_issue_long_duration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zeusd_auth_disabled_group_is_404_first,
                                        setup_no_cpu, teardown),
        cmocka_unit_test_setup_teardown(test_zeusd_token_issue_rejects_bad_input, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_zeusd_auth_subject_cannot_forge_log_lines, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_zeusd_token_issue_refuses_control_characters,
                                        setup, teardown),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return cmocka_run_group_tests_name("zeusd_auth", tests, NULL, NULL);
}
