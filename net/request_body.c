/*
 * request_body.c - A capped request body collected across upload callbacks (request_body.h).
 */
#include "request_body.h"

#include <stdlib.h>
#include <string.h>

void zeus_net_body_append(zeus_net_body *b, const char *data, size_t n)
{
    if (b->too_large || n > b->max - b->len) {
        b->too_large = true;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        char *p;
        while (cap < b->len + n + 1)
            cap *= 2;
        if ((p = realloc(b->data, cap)) == NULL) {
            b->too_large = true; /* answered 413: nothing else can be done with it */
            return;
        }
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
}

bool zeus_net_body_declared_too_large(const char *content_length, size_t max)
{
    char *end;
    unsigned long long n;

    if (content_length == NULL)
        return false;
    n = strtoull(content_length, &end, 10);
    return end != content_length && n > max;
}

void zeus_net_body_free(zeus_net_body *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
