/*
 * pfo_server_support.c - Starting `zeus pfo-server` for the tests and calling its routes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_support.h"
#include "pfo_server_support.h"
#include "test_support.h"

#define HTTP_TIMEOUT_MS 60000L

void zt_pfo_start(struct zt_pfo *s, const char *scheduler, const char *solution,
                  const char *dump_dir, long idle_s)
{
    char args[1200], idle[32];

    memset(s, 0, sizeof *s);
    unsetenv("http_proxy");
    unsetenv("HTTP_PROXY");
    snprintf(args, sizeof args, "{\"solution_path\": \"%s\"}", solution);
    setenv("ZEUS_PFO_SCHEDULER", scheduler, 1);
    setenv("ZEUS_PFO_SCHEDULER_ARGS", args, 1);
    setenv("ZEUS_PFO_LOG_LEVEL", "WARNING", 1);
    setenv("ZEUS_PFO_DUMP_DATA", dump_dir != NULL ? "true" : "false", 1);
    if (dump_dir != NULL) {
        setenv("ZEUS_PFO_DUMP_DIR", dump_dir, 1);
        snprintf(s->dump_dir, sizeof s->dump_dir, "%s", dump_dir);
    }
    if (idle_s > 0) {
        snprintf(idle, sizeof idle, "%ld", idle_s);
        setenv("ZEUS_PFO_MAX_JOB_IDLE_TIME", idle, 1);
    } else {
        unsetenv("ZEUS_PFO_MAX_JOB_IDLE_TIME");
    }
    zt_cli_start(&s->cli, "pfo-server", "--listen", "127.0.0.1:0", NULL);
    s->port = zt_cli_served_port(&s->cli, 30);
    snprintf(s->base, sizeof s->base, "http://127.0.0.1:%d", s->port);
}

void zt_pfo_stop(struct zt_pfo *s)
{
    zt_cli_stop_server(&s->cli, "pfo-server");
}

long zt_pfo_call(const struct zt_pfo *s, const char *method, const char *path, const char *body,
                 cJSON **out)
{
    return zt_http_json(s->base, method, path, body, HTTP_TIMEOUT_MS, out);
}

char *zt_pfo_register_job(const struct zt_pfo *s, int pp, int dp, int tp, const char *metadata)
{
    char body[512];
    cJSON *out = NULL;
    char *id;

    snprintf(body, sizeof body, "{\"job_id\": \"\", \"pp_degree\": %d, \"dp_degree\": %d, "
             "\"tp_degree\": %d, \"world_size\": %d, \"job_metadata\": %s%s%s}", pp, dp, tp,
             pp * dp * tp, metadata ? "\"" : "", metadata ? metadata : "null", metadata ? "\"" : "");
    assert_int_equal(zt_pfo_call(s, "POST", "/register_job", body, &out), 200);
    assert_true(cJSON_IsString(out));
    id = strdup(out->valuestring);
    cJSON_Delete(out);
    return id;
}

cJSON *zt_pfo_plan_json(const char *path)
{
    char *text = zt_read_file(path), *json;
    size_t n = 0;
    cJSON *plan;

    assert_non_null(text);
    json = malloc(strlen(text) + 1);
    for (size_t i = 0; text[i] != '\0'; i++) {
        char c = text[i];
        if (c == '#') { /* a comment: to the end of the line */
            while (text[i + 1] != '\0' && text[i + 1] != '\n')
                i++;
            continue;
        }
        if (c == ',') { /* a trailing comma before ] is not JSON */
            size_t k = i + 1;
            while (text[k] == ' ' || text[k] == '\n')
                k++;
            if (text[k] == ']')
                continue;
        }
        json[n++] = c == '(' ? '[' : c == ')' ? ']' : c == '\'' ? '"' : c;
    }
    json[n] = '\0';
    plan = cJSON_Parse(json);
    assert_non_null(plan);
    free(json);
    free(text);
    return plan;
}
