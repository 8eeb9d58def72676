/*
 * request_body.h - A request body as the `zeus` command's HTTP servers (`zeus bso-server`,
 * `zeus pfo-server`) receive it: libmicrohttpd hands the upload over in pieces, which are kept
 * in one growing NUL-terminated buffer up to a cap. Past the cap (declared in Content-Length or
 * counted in a chunked upload) the request is only marked too large, so that the server answers
 * 413 without holding what a client sends without end.
 */
#ifndef ZEUS_NET_REQUEST_BODY_H
#define ZEUS_NET_REQUEST_BODY_H

#include <stdbool.h>
#include <stddef.h>

typedef struct zeus_net_body {
    char *data;      /* NUL-terminated once anything arrived; NULL before */
    size_t len, cap;
    size_t max;      /* the cap, bytes; set before the first append */
    bool too_large;  /* past max, or memory ran out: answer 413 and ignore the rest */
} zeus_net_body;

/* Keep `n` more bytes, or mark the body too large. */
void zeus_net_body_append(zeus_net_body *b, const char *data, size_t n);

/* A Content-Length header value (NULL when absent) that is already over `max`. */
bool zeus_net_body_declared_too_large(const char *content_length, size_t max);

/* Free the buffer; the struct can be reused. */
void zeus_net_body_free(zeus_net_body *b);

#endif /* ZEUS_NET_REQUEST_BODY_H */
