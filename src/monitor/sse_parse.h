/*
 * sse_parse.h - Reading zeusd's Server-Sent Events: the framing (events end at a blank line,
 * payload lines start "data:") and the two event bodies of spec 1.8, GPU
 * {"timestamp_ms","gpu_id","power_mw"} and CPU {"timestamp_ms","cpu_id","cpu_mw","dram_mw"}.
 */
#ifndef ZEUS_MONITOR_SSE_PARSE_H
#define ZEUS_MONITOR_SSE_PARSE_H

#include <stddef.h>

#define ZEUS__SSE_MAX_EVENT 4096

/* Called with each data line's payload (NUL-terminated, "data:" and one space removed). */
typedef void (*zeus__sse_data_fn)(const char *payload, void *user);

typedef struct zeus__sse_parser {
    char buf[ZEUS__SSE_MAX_EVENT];
    size_t len;        /* bytes of the event so far */
    size_t line_start; /* where the current line starts in buf */
    int at_line_start; /* no byte but '\r' since the last '\n' */
    int overlong;      /* the event in progress outgrew buf: dropped up to its end */
    zeus__sse_data_fn on_data;
    void *user;
} zeus__sse_parser;

void zeus__sse_init(zeus__sse_parser *p, zeus__sse_data_fn on_data, void *user);

/* Feed bytes as they arrive (any split); completed events are delivered at once. */
void zeus__sse_feed(zeus__sse_parser *p, const char *data, size_t len);

/* A decoded event; power in W, the daemon's time in Unix seconds. */
typedef struct zeus__sse_power {
    unsigned id;
    double timestamp_s;
    double w;      /* GPU power or CPU package power */
    double dram_w; /* CPU only: NAN when the daemon sent null */
} zeus__sse_power;

/* Decode a GPU or CPU event body. 0, or -1 when it is not JSON or a field is missing. */
int zeus__sse_gpu_event(const char *json, zeus__sse_power *out);
int zeus__sse_cpu_event(const char *json, zeus__sse_power *out);

#endif /* ZEUS_MONITOR_SSE_PARSE_H */
