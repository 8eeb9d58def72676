/*
 * http_body.h - libcurl glue the library's HTTP clients share (the zeusd client, the batch size
 * optimizer's client, the Pushgateway push): libcurl's one global init, and a reply body
 * collected into a growing NUL-terminated buffer with a cap, so that a server answering
 * without end cannot exhaust memory.
 */
#ifndef ZEUS_UTIL_HTTP_BODY_H
#define ZEUS_UTIL_HTTP_BODY_H

#include <stddef.h>

/* curl_global_init, once per process, from any thread. Returns 0, or -1 when it failed. */
int zeus__curl_init(void);

/* A reply body: data is malloc'd and NUL-terminated once anything arrived (NULL before). */
typedef struct zeus__http_body {
    char *data;
    size_t len;
    size_t max; /* past this many bytes the transfer is aborted (CURLE_WRITE_ERROR) */
} zeus__http_body;

/* CURLOPT_WRITEFUNCTION for a zeus__http_body passed as CURLOPT_WRITEDATA. */
size_t zeus__http_body_write(char *ptr, size_t size, size_t n, void *body);

#endif /* ZEUS_UTIL_HTTP_BODY_H */
