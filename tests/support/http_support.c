/*
 * http_support.c - The tests' HTTP client over libcurl (see http_support.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "http_support.h"

struct body {
    char *data;
    size_t len;
};

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
    struct body *b = arg;
    char *d = realloc(b->data, b->len + size * n + 1);

    if (d == NULL)
        return 0;
    memcpy(d + b->len, p, size * n);
    b->len += size * n;
    d[b->len] = '\0';
    b->data = d;
    return size * n;
}

long zt_http(const char *method, const char *url, const char *body, long timeout_ms,
             char **out)
{
    struct body b = {NULL, 0};
    long code = 0;
    CURL *c = curl_easy_init();

    if (c == NULL)
        return 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body != NULL)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    if (out != NULL)
        *out = b.data != NULL ? b.data : strdup("");
    else
        free(b.data);
    return code;
}

long zt_http_json(const char *base, const char *method, const char *path, const char *body,
                  long timeout_ms, cJSON **out)
{
    char url[1024], *text = NULL;
    long code;

    snprintf(url, sizeof url, "%s%s", base, path);
    code = zt_http(method, url, body, timeout_ms, &text);
    if (out != NULL)
        *out = text != NULL ? cJSON_Parse(text) : NULL;
    free(text);
    return code;
}
