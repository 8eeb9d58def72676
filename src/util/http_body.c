/*
 * http_body.c - libcurl's global init once, and reply bodies with a cap (http_body.h).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "util/http_body.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_ready;

static void init_curl(void)
{
    curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

int zeus__curl_init(void)
{
    pthread_once(&curl_once, init_curl);
    return curl_ready ? 0 : -1;
}

size_t zeus__http_body_write(char *ptr, size_t size, size_t n, void *body)
{
    zeus__http_body *b = body;
    size_t add = size * n;
    char *grown;

    if (b->len + add > b->max)
        return 0;
    grown = realloc(b->data, b->len + add + 1);
    if (grown == NULL)
        return 0;
    memcpy(grown + b->len, ptr, add);
    b->data = grown;
    b->len += add;
    b->data[b->len] = '\0';
    return add;
}
