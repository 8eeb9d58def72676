/*
 * fuzz_zeusd_request.c - libFuzzer target over zeusd's request handling: the route table,
 * the group and auth middleware (with a signing key, so every input also exercises the JWT
 * parser), strict query parsing and id-list parsing, for every route.
 *
 * Input format: "<METHOD> <path>?<query>\n<authorization header value>". The query is split
 * on '&' and '=' and percent-decoded the way libmicrohttpd hands arguments to http.c. The
 * server has every group on and no devices, so handlers run their parsing and validation
 * and answer without touching hardware (and /cpu/get_power sleeps 1 us).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "zeusd.h"

#define MAX_PAIRS 64

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static void unescape(char *s)
{
    char *o = s;
    for (; *s; s++) {
        if (*s == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
            *o++ = (char)(hexval(s[1]) * 16 + hexval(s[2]));
            s += 2;
        } else {
            *o++ = *s == '+' ? ' ' : *s;
        }
    }
    *o = '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct zd_config cfg;
    static struct zd_server srv;
    static int ready;
    struct zd_pair pairs[MAX_PAIRS];
    struct zd_request req;
    struct zd_response resp;
    char *buf, *line2, *path, *query, *method, *sp, root[2] = "/";
    size_t n = 0;

    if (!ready) {
        cfg.group_mask = ZD_GROUP_GPU_CONTROL | ZD_GROUP_GPU_READ | ZD_GROUP_CPU_READ;
        cfg.groups[0] = ZD_GROUP_GPU_CONTROL;
        cfg.groups[1] = ZD_GROUP_GPU_READ;
        cfg.groups[2] = ZD_GROUP_CPU_READ;
        cfg.group_count = 3;
        cfg.cpu_poll_hz = 1000000;
        srv.cfg = &cfg;
        srv.key = (unsigned char *)strdup("fuzz-key");
        srv.key_len = 8;
        srv.discover_json = strdup("{}");
        ready = 1;
    }
    if (size > 8192)
        return 0;
    buf = malloc(size + 1);
    memcpy(buf, data, size);
    buf[size] = '\0';
    line2 = strchr(buf, '\n');
    if (line2 != NULL)
        *line2++ = '\0';
    method = buf;
    sp = strchr(buf, ' ');
    path = sp != NULL ? (*sp = '\0', sp + 1) : root;
    query = strchr(path, '?');
    if (query != NULL) {
        *query++ = '\0';
        for (char *tok = strtok(query, "&"); tok != NULL && n < MAX_PAIRS;
             tok = strtok(NULL, "&")) {
            char *eq = strchr(tok, '=');
            if (eq != NULL)
                *eq++ = '\0';
            unescape(tok);
            if (eq != NULL)
                unescape(eq);
            pairs[n].key = tok;
            pairs[n].value = eq;
            n++;
        }
    }
    unescape(path);
    memset(&req, 0, sizeof req);
    req.method = method;
    req.path = path;
    req.args = pairs;
    req.arg_count = n;
    req.authorization = line2;
    zd_router_handle(&srv, &req, &resp);
    free(resp.body);
    if (resp.stream != NULL)
        abort(); /* no devices, no hub: a stream must never open */
    free(buf);
    return 0;
}
