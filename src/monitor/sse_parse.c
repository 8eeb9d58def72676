/*
 * sse_parse.c - Splitting an SSE byte stream into events and decoding zeusd's power events
 * (sse_parse.h).
 *
 * Framing follows the SSE spec as far as zeusd uses it: lines end with "\n" (a "\r" before
 * it is dropped), an empty line ends an event, "data:" lines carry the payload (one leading
 * space removed), and lines starting ":" (zeusd's keepalive) or naming other fields are
 * ignored. An event longer than the buffer is dropped whole rather than cut: a cut JSON
 * value could decode into a wrong number.
 */
#include <math.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "monitor/sse_parse.h"

void zeus__sse_init(zeus__sse_parser *p, zeus__sse_data_fn on_data, void *user)
{
    memset(p, 0, sizeof *p);
    p->on_data = on_data;
    p->user = user;
    p->at_line_start = 1;
}

/* Deliver each data line of the complete event in buf[0..n) (lines end with '\n'). */
static void deliver(zeus__sse_parser *p, size_t n)
{
    char *line = p->buf, *end = p->buf + n;

    while (line < end) {
        char *nl = memchr(line, '\n', (size_t)(end - line));
        *nl = '\0';
        if (strncmp(line, "data:", 5) == 0)
            p->on_data(line[5] == ' ' ? line + 6 : line + 5, p->user);
        line = nl + 1;
    }
}

/* A '\n': the end of a line; an empty line ends the event. */
static void newline(zeus__sse_parser *p)
{
    if (p->overlong) {
        if (p->at_line_start)
            p->overlong = 0; /* the blank line ending the dropped event */
        p->at_line_start = 1;
        return;
    }
    if (p->len > p->line_start && p->buf[p->len - 1] == '\r')
        p->len--;
    if (p->len == p->line_start) {
        if (p->line_start > 0)
            deliver(p, p->line_start);
        p->len = p->line_start = 0;
    } else {
        p->buf[p->len++] = '\n';
        p->line_start = p->len;
    }
    p->at_line_start = 1;
}

void zeus__sse_feed(zeus__sse_parser *p, const char *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = data[i];
        if (c == '\n') {
            newline(p);
            continue;
        }
        if (c != '\r')
            p->at_line_start = 0;
        if (p->overlong)
            continue;
        if (p->len + 2 >= sizeof p->buf) {
            p->overlong = 1; /* drop this event up to its blank line */
            p->len = p->line_start = 0;
            continue;
        }
        p->buf[p->len++] = c;
    }
}

static int number(const cJSON *o, const char *key, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return -1;
    *out = v->valuedouble;
    return 0;
}

/* The fields both events share; the id under `id_key`. */
static cJSON *parse_common(const char *json, const char *id_key, zeus__sse_power *out)
{
    cJSON *o = cJSON_Parse(json);
    double id, ms;

    if (o == NULL || !cJSON_IsObject(o) || number(o, id_key, &id) != 0 ||
        number(o, "timestamp_ms", &ms) != 0 || id < 0 || id > 1e6 || id != floor(id)) {
        cJSON_Delete(o);
        return NULL;
    }
    out->id = (unsigned)id;
    out->timestamp_s = ms / 1000.0;
    out->dram_w = NAN;
    return o;
}

int zeus__sse_gpu_event(const char *json, zeus__sse_power *out)
{
    cJSON *o = parse_common(json, "gpu_id", out);
    double mw;
    int rc = o != NULL && number(o, "power_mw", &mw) == 0 ? 0 : -1;

    if (rc == 0)
        out->w = mw / 1000.0;
    cJSON_Delete(o);
    return rc;
}

int zeus__sse_cpu_event(const char *json, zeus__sse_power *out)
{
    cJSON *o = parse_common(json, "cpu_id", out);
    const cJSON *dram;
    double mw, dmw = NAN;
    int rc = o != NULL && number(o, "cpu_mw", &mw) == 0 ? 0 : -1;

    if (rc == 0) {
        out->w = mw / 1000.0;
        dram = cJSON_GetObjectItemCaseSensitive(o, "dram_mw");
        /* null or absent: the package has no DRAM counter; anything else must be a number */
        if (dram != NULL && !cJSON_IsNull(dram))
            rc = number(o, "dram_mw", &dmw);
        out->dram_w = dmw / 1000.0;
    }
    cJSON_Delete(o);
    return rc;
}
