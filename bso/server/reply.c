/*
 * reply.c - The JSON bodies `zeus bso-server` answers with: Zeus's {"message": ...} for domain
 * errors, FastAPI's null for routes that return nothing, and any cJSON value. A body that
 * cannot be built (out of memory) leaves body NULL; http.c answers that with a fixed 500.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bso_server.h"

void bso_reply_clear(bso_reply *r)
{
    free(r->body);
    r->body = NULL;
    r->status = 0;
}

void bso_reply_json(bso_reply *r, unsigned status, cJSON *body)
{
    bso_reply_clear(r);
    r->status = status;
    r->body = body != NULL ? cJSON_PrintUnformatted(body) : NULL;
    cJSON_Delete(body);
}

void bso_reply_message(bso_reply *r, unsigned status, const char *fmt, ...)
{
    char text[1024];
    cJSON *o = cJSON_CreateObject();
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    cJSON_AddStringToObject(o, "message", text);
    bso_reply_json(r, status, o);
}

void bso_reply_null(bso_reply *r, unsigned status)
{
    bso_reply_clear(r);
    r->status = status;
    r->body = strdup("null");
}

void bso_reply_error(bso_reply *r, const bso_error *err)
{
    unsigned status = err->http_status >= 400 && err->http_status < 600
                          ? (unsigned)err->http_status
                          : 500;
    bso_reply_message(r, status, "%s", err->message[0] ? err->message : "internal error");
}

double bso_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool bso_job_id_possible(const char *job_id)
{
    return job_id != NULL && job_id[0] != '\0' && strlen(job_id) <= BSO_JOB_ID_MAX;
}
