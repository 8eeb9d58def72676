/*
 * test_bso_client.c - libzeus's batch size optimizer client (zeus/batch_size.h): the
 * registration record it sends, its retries and error messages against small scripted
 * servers in this process, and Zeus's own client test cases (test_client.py) against the real
 * `zeus bso-server`.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli_support.h"
#include "fake_nvml_control.h"
#include "test_support.h"
#include "zeus/zeus.h"

/* ---- A scripted HTTP server: answers its replies in order, the last one again after ------- */

#define MAX_REPLIES 8
#define MAX_SEEN 16

struct scripted {
    int fd, port;
    int stop; /* atomic */
    pthread_t thread;
    int reply_count;
    int code[MAX_REPLIES];
    const char *body[MAX_REPLIES];
    pthread_mutex_t lock;       /* over seen and request: the test reads them as it goes */
    int seen;                   /* requests answered */
    char request[MAX_SEEN][2048]; /* "METHOD /path?query\n<body>" */
};

/* Requests answered so far. */
static int seen_of(struct scripted *s)
{
    pthread_mutex_lock(&s->lock);
    int n = s->seen;
    pthread_mutex_unlock(&s->lock);
    return n;
}

/* Request i (answered, so never written again). */
static const char *request_of(struct scripted *s, int i)
{
    assert_true(i < seen_of(s) && i < MAX_SEEN);
    return s->request[i];
}

/* Read one request (head and Content-Length body) into `out`. */
static int read_request(int c, char *out, size_t len)
{
    char buf[8192];
    size_t got = 0;
    char *end = NULL, *cl;
    long body_len = 0;

    while (got < sizeof buf - 1) {
        ssize_t n = recv(c, buf + got, sizeof buf - 1 - got, 0);
        if (n <= 0)
            return -1;
        got += (size_t)n;
        buf[got] = '\0';
        if (end == NULL && (end = strstr(buf, "\r\n\r\n")) != NULL) {
            cl = strcasestr(buf, "Content-Length:");
            body_len = cl != NULL && cl < end ? strtol(cl + 15, NULL, 10) : 0;
        }
        if (end != NULL && got >= (size_t)(end + 4 - buf) + (size_t)body_len)
            break;
    }
    if (end == NULL)
        return -1;
    *strstr(buf, " HTTP/") = '\0';
    /* A request longer than a slot fails the test rather than being cut short. */
    return snprintf(out, len, "%s\n%s", buf, end + 4) < (int)len ? 0 : -1;
}

static void *serve(void *arg)
{
    struct scripted *s = arg;
    struct pollfd p = {.fd = s->fd, .events = POLLIN};
    char head[256];

    while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
        if (poll(&p, 1, 50) <= 0)
            continue;
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            continue;
        char req[sizeof s->request[0]];
        if (read_request(c, req, sizeof req) == 0) {
            /* Recorded before the reply goes out: the client sees it counted when answered. */
            pthread_mutex_lock(&s->lock);
            int i = s->seen < s->reply_count ? s->seen : s->reply_count - 1;
            snprintf(s->request[s->seen < MAX_SEEN ? s->seen : MAX_SEEN - 1],
                     sizeof s->request[0], "%s", req);
            s->seen++;
            pthread_mutex_unlock(&s->lock);
            snprintf(head, sizeof head, "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n", s->code[i],
                     strlen(s->body[i]));
            (void)!write(c, head, strlen(head));
            (void)!write(c, s->body[i], strlen(s->body[i]));
        }
        close(c);
    }
    return NULL;
}

static int listen_any(int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* Start a server answering (code, body) pairs, terminated by code 0. */
static struct scripted *scripted_start(int code, const char *body, ...)
{
    struct scripted *s = calloc(1, sizeof *s);
    va_list ap;

    assert_non_null(s);
    va_start(ap, body);
    while (code != 0 && s->reply_count < MAX_REPLIES) {
        s->code[s->reply_count] = code;
        s->body[s->reply_count++] = body;
        if ((code = va_arg(ap, int)) != 0)
            body = va_arg(ap, const char *);
    }
    va_end(ap);
    pthread_mutex_init(&s->lock, NULL);
    s->fd = listen_any(&s->port);
    assert_int_equal(listen(s->fd, 16), 0);
    assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
    return s;
}

static void scripted_stop(struct scripted *s)
{
    __atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
    pthread_join(s->thread, NULL);
    close(s->fd);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static void url_of(int port, char *buf, size_t len)
{
    snprintf(buf, len, "http://127.0.0.1:%d", port);
}

/* ---- Fixtures ------------------------------------------------------------------------- */

static const char JOB_REPLY[] = "{\"job_id\":\"test-1\",\"batch_sizes\":[8,16]}";

static zeus_monitor *fake_gpus(const char *spec)
{
    zeus_monitor_options o;
    zeus_monitor *mon;

    zt_fake_nvml_reset(spec);
    zeus_monitor_options_init(&o);
    o.direct_reads = 1;
    assert_int_equal(zeus_monitor_create(&o, &mon), ZEUS_OK);
    return mon;
}

static const unsigned SIZES[] = {16, 8}; /* unsorted on purpose */

static zeus_bso_spec small_spec(void)
{
    zeus_bso_spec spec;

    zeus_bso_spec_init(&spec);
    spec.job_id_prefix = "test";
    spec.batch_sizes = SIZES;
    spec.batch_size_count = 2;
    spec.default_batch_size = 8;
    return spec;
}

static double elapsed_since(const struct timespec *t0)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ---- Registration --------------------------------------------------------------------- */

/* The record Zeus's JobSpecFromClient sends: spec, sorted sizes, MaxPower = 300 W x 4. */
static void test_register_sends_zeus_record(void **state)
{
    (void)state;
    zeus_monitor *mon = fake_gpus("gpus=4;limit_min_w=100;limit_max_w=300;limit_default_w=300;name=Tesla V100");
    struct scripted *srv = scripted_start(201, JOB_REPLY, 0);
    zeus_bso_spec spec = small_spec();
    zeus_bso *bso;
    char url[64];
    double max_power;
    unsigned n;
    const char *model;

    url_of(srv->port, url, sizeof url);
    spec.beta_knob = NAN;
    assert_int_equal(zeus_bso_open(mon, url, &spec, 0, &bso), ZEUS_OK);
    assert_string_equal(zeus_bso_job_id(bso), "test-1");
    assert_int_equal(zeus_bso_gpu_config(bso, &max_power, &n, &model), ZEUS_OK);
    assert_near(max_power, 300.0 * 4, 0);
    assert_int_equal(n, 4);
    assert_string_equal(model, "Tesla V100");

    assert_int_equal(seen_of(srv), 1);
    assert_true(strncmp(request_of(srv, 0), "POST /jobs\n", 11) == 0);
    cJSON *o = cJSON_Parse(strchr(request_of(srv, 0), '\n') + 1);
    assert_non_null(o);
    assert_near(cJSON_GetObjectItem(o, "max_power")->valuedouble, 1200, 0);
    assert_int_equal(cJSON_GetObjectItem(o, "number_of_gpus")->valueint, 4);
    assert_string_equal(cJSON_GetObjectItem(o, "gpu_model")->valuestring, "Tesla V100");
    assert_int_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "batch_sizes"), 0)->valueint, 8);
    assert_int_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "batch_sizes"), 1)->valueint, 16);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "beta_knob")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "job_id")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "mab_seed")));
    assert_near(cJSON_GetObjectItem(o, "eta_knob")->valuedouble, 0.5, 0);
    assert_int_equal(cJSON_GetObjectItem(o, "max_epochs")->valueint, 100);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "higher_is_better_metric")));
    cJSON_Delete(o);

    zeus_bso_close(bso); /* no trial: nothing more is sent */
    assert_int_equal(seen_of(srv), 1);
    scripted_stop(srv);
    zeus_monitor_destroy(mon);
}

static void test_heterogeneous_gpus_refused(void **state)
{
    (void)state;
    zeus_monitor *mon = fake_gpus("gpus=2;gpu1.name=NVIDIA A100");
    zeus_bso_spec spec = small_spec();
    zeus_bso *bso = NULL;

    assert_int_equal(zeus_bso_open(mon, "http://127.0.0.1:1", &spec, 0, &bso),
                     ZEUS_ERR_NOT_SUPPORTED);
    assert_non_null(strstr(zeus_last_error(), "Heterogeneous GPUs found"));
    assert_null(bso);
    zeus_monitor_destroy(mon);
}

/* Zeus's validators' messages, before anything is sent. */
static void test_spec_rules(void **state)
{
    (void)state;
    zeus_monitor *mon = fake_gpus("gpus=1");
    zeus_bso_spec spec;
    zeus_bso *bso;
    const char *url = "http://127.0.0.1:1";

    spec = small_spec();
    spec.default_batch_size = 32;
    assert_int_equal(zeus_bso_open(mon, url, &spec, 0, &bso), ZEUS_ERR_INVALID_ARGUMENT);
    assert_string_equal(zeus_last_error(), "Default BS(32) not in batch_sizes([8, 16]).");
    spec = small_spec();
    spec.beta_knob = 0;
    assert_int_equal(zeus_bso_open(mon, url, &spec, 0, &bso), ZEUS_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(zeus_last_error(), "Invalid beta_knob(0)"));
    spec = small_spec();
    spec.eta_knob = 1.1;
    assert_int_equal(zeus_bso_open(mon, url, &spec, 0, &bso), ZEUS_ERR_INVALID_ARGUMENT);
    assert_string_equal(zeus_last_error(), "eta_knob should be in range [0,1]");
    spec = small_spec();
    spec.batch_size_count = 0;
    assert_int_equal(zeus_bso_open(mon, url, &spec, 0, &bso), ZEUS_ERR_INVALID_ARGUMENT);
    assert_string_equal(zeus_last_error(), "Batch Sizes = [] is empty");
    spec = small_spec();
    spec.job_id = "other-1";
    assert_int_equal(zeus_bso_open(mon, url, &spec, 0, &bso), ZEUS_ERR_INVALID_ARGUMENT);
    assert_string_equal(zeus_last_error(), "Job_id(other-1) does not start with prefix(test).");
    spec = small_spec();
    spec.max_epochs = 0;
    assert_int_equal(zeus_bso_open(mon, url, &spec, 0, &bso), ZEUS_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(zeus_last_error(), "max_epochs"));
    spec = small_spec();
    spec.size = 3;
    assert_int_equal(zeus_bso_open(mon, url, &spec, 0, &bso), ZEUS_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(zeus_last_error(), "zeus_bso_spec"));
    zeus_monitor_destroy(mon);
}

/* ---- Errors from the server ----------------------------------------------------------- */

static void test_server_down_names_url(void **state)
{
    (void)state;
    zeus_monitor *mon = fake_gpus("gpus=1");
    zeus_bso_spec spec = small_spec();
    zeus_bso *bso = NULL;
    struct timespec t0;
    char url[64], want[96];
    int port, fd = listen_any(&port);

    close(fd); /* bound, never listened: nobody answers there */
    url_of(port, url, sizeof url);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(zeus_bso_open(mon, url, &spec, 0, &bso), ZEUS_ERR_IO);
    assert_null(bso);
    snprintf(want, sizeof want, "POST %s/jobs", url);
    assert_non_null(strstr(zeus_last_error(), want));
    assert_non_null(strstr(zeus_last_error(), "cannot reach the Zeus BSO server"));
    assert_non_null(strstr(zeus_last_error(), "3 attempts"));
    /* Two pauses (0.2 s + 0.4 s), bounded. */
    assert_true(elapsed_since(&t0) >= 0.55 && elapsed_since(&t0) < 10);
    zeus_monitor_destroy(mon);
}

static void test_500_then_200_is_retried(void **state)
{
    (void)state;
    zeus_monitor *mon = fake_gpus("gpus=1");
    struct scripted *srv = scripted_start(500, "{\"message\":\"busy\"}", 201, JOB_REPLY, 0);
    zeus_bso_spec spec = small_spec();
    zeus_bso *bso;
    char url[64];

    url_of(srv->port, url, sizeof url);
    assert_int_equal(zeus_bso_open(mon, url, &spec, 0, &bso), ZEUS_OK);
    assert_int_equal(seen_of(srv), 2);
    assert_string_equal(request_of(srv, 0), request_of(srv, 1)); /* the same request again */
    zeus_bso_close(bso);
    scripted_stop(srv);
    zeus_monitor_destroy(mon);
}

static void test_500_always_gives_up_with_body(void **state)
{
    (void)state;
    zeus_monitor *mon = fake_gpus("gpus=1");
    struct scripted *srv = scripted_start(500, "{\"message\":\"database is gone\"}", 0);
    zeus_bso_spec spec = small_spec();
    zeus_bso *bso = NULL;
    char url[64], want[96];

    url_of(srv->port, url, sizeof url);
    assert_int_equal(zeus_bso_open(mon, url, &spec, 0, &bso), ZEUS_ERR_IO);
    assert_int_equal(seen_of(srv), 3);
    assert_non_null(strstr(zeus_last_error(), "Zeus server returned status code 500: "
                                              "{\"message\":\"database is gone\"}"));
    snprintf(want, sizeof want, "POST %s/jobs", url);
    assert_non_null(strstr(zeus_last_error(), want));
    scripted_stop(srv);
    zeus_monitor_destroy(mon);
}

static void test_4xx_is_not_retried(void **state)
{
    (void)state;
    zeus_monitor *mon = fake_gpus("gpus=1");
    struct scripted *srv = scripted_start(409, "{\"message\":\"JobSpec mismatch\"}", 0);
    zeus_bso_spec spec = small_spec();
    zeus_bso *bso = NULL;
    char url[64];

    url_of(srv->port, url, sizeof url);
    assert_int_equal(zeus_bso_open(mon, url, &spec, 0, &bso), ZEUS_ERR_INVALID_ARGUMENT);
    assert_int_equal(seen_of(srv), 1);
    assert_non_null(strstr(zeus_last_error(), "status code 409: {\"message\":\"JobSpec mismatch\"}"));
    scripted_stop(srv);
    zeus_monitor_destroy(mon);
}

static void test_malformed_replies(void **state)
{
    (void)state;
    zeus_monitor *mon = fake_gpus("gpus=1");
    zeus_bso_spec spec = small_spec();
    zeus_bso *bso = NULL;
    char url[64];
    unsigned bs;
    struct scripted *srv = scripted_start(201, "{not json", 0);

    url_of(srv->port, url, sizeof url);
    assert_int_equal(zeus_bso_open(mon, url, &spec, 0, &bso), ZEUS_ERR_IO);
    assert_non_null(strstr(zeus_last_error(), "not JSON: {not json"));
    scripted_stop(srv);

    srv = scripted_start(201, "{\"id\":\"x\"}", 0);
    url_of(srv->port, url, sizeof url);
    assert_int_equal(zeus_bso_open(mon, url, &spec, 0, &bso), ZEUS_ERR_IO);
    assert_non_null(strstr(zeus_last_error(), "lacks the string \"job_id\""));
    scripted_stop(srv);

    /* A batch size outside the job's list, as Zeus's "strange batch_size". */
    srv = scripted_start(201, JOB_REPLY, 200,
                         "{\"job_id\":\"test-1\",\"batch_size\":24,\"trial_number\":1}", 0);
    url_of(srv->port, url, sizeof url);
    assert_int_equal(zeus_bso_open(mon, url, &spec, 0, &bso), ZEUS_OK);
    assert_int_equal(zeus_bso_get_batch_size(bso, &bs), ZEUS_ERR_IO);
    assert_string_equal(zeus_last_error(), "Zeus server returned a strange batch_size: 24");
    zeus_bso_close(bso);
    assert_int_equal(seen_of(srv), 2); /* no trial started: nothing to end */
    scripted_stop(srv);
    zeus_monitor_destroy(mon);
}

/* ---- A run against a scripted server -------------------------------------------------- */

static void test_run_reports_cumulative_and_ends_trial(void **state)
{
    (void)state;
    zeus_monitor *mon = fake_gpus("gpus=2");
    struct scripted *srv = scripted_start(
        201, JOB_REPLY,
        200, "{\"job_id\":\"test-1\",\"batch_size\":16,\"trial_number\":3}",
        200, "{\"stop_train\":false,\"converged\":false,\"message\":\"keep\"}",
        200, "{\"stop_train\":true,\"converged\":false,\"message\":\"Batch Size(16) exceeded "
             "the cost upper bound: current cost(9) > min_cost(2) * beta_knob(2)\"}",
        200, "null", 0);
    zeus_bso_spec spec = small_spec();
    zeus_bso *bso;
    char url[64];
    unsigned bs, trial, epoch;
    int stop = -1;

    url_of(srv->port, url, sizeof url);
    assert_int_equal(zeus_bso_open(mon, url, &spec, 0, &bso), ZEUS_OK);
    assert_int_equal(zeus_bso_on_evaluate(bso, 0.1, &stop), ZEUS_ERR_UNINITIALIZED);
    assert_string_equal(zeus_last_error(), "Call get_batch_size to set the batch size first");
    assert_int_equal(zeus_bso_get_batch_size(bso, &bs), ZEUS_OK);
    assert_int_equal(bs, 16);
    assert_int_equal(zeus_bso_get_batch_size(bso, &bs), ZEUS_OK); /* cached */
    assert_int_equal(seen_of(srv), 2);
    assert_string_equal(request_of(srv, 1), "GET /jobs/batch_size?job_id=test-1\n");

    assert_int_equal(zeus_bso_on_train_begin(bso), ZEUS_OK);
    zt_fake_nvml()->add_energy_mj(0, 1000000);
    zt_fake_nvml()->add_energy_mj(1, 500000);
    assert_int_equal(zeus_bso_on_evaluate(bso, 0.1, &stop), ZEUS_OK);
    assert_int_equal(stop, 0);
    cJSON *r = cJSON_Parse(strchr(request_of(srv, 2), '\n') + 1);
    assert_non_null(r);
    assert_near(cJSON_GetObjectItem(r, "energy")->valuedouble, 1500, 1e-6);
    assert_int_equal(cJSON_GetObjectItem(r, "current_epoch")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(r, "trial_number")->valueint, 3);
    double t1 = cJSON_GetObjectItem(r, "time")->valuedouble;
    cJSON_Delete(r);

    zt_fake_nvml()->add_energy_mj(0, 250000);
    assert_int_equal(zeus_bso_on_evaluate(bso, 0.2, &stop), ZEUS_ERR_TRAIN_FAILED);
    assert_int_equal(stop, 1);
    assert_non_null(strstr(zeus_last_error(), "Train failed: Batch Size(16) exceeded the cost "
                                              "upper bound"));
    r = cJSON_Parse(strchr(request_of(srv, 3), '\n') + 1);
    assert_near(cJSON_GetObjectItem(r, "energy")->valuedouble, 1750, 1e-6); /* cumulative */
    assert_true(cJSON_GetObjectItem(r, "time")->valuedouble >= t1);
    assert_int_equal(cJSON_GetObjectItem(r, "current_epoch")->valueint, 2);
    cJSON_Delete(r);
    assert_int_equal(zeus_monitor_open_window_count(mon), 0);

    /* The run is over: nothing more is reported. */
    assert_int_equal(zeus_bso_on_evaluate(bso, 0.3, &stop), ZEUS_OK);
    assert_int_equal(stop, 1);
    assert_int_equal(seen_of(srv), 4);
    assert_int_equal(zeus_bso_get_trial(bso, &bs, &trial, &epoch), ZEUS_OK);
    assert_int_equal(epoch, 2);

    zeus_bso_close(bso); /* ends the trial */
    assert_int_equal(seen_of(srv), 5);
    assert_true(strncmp(request_of(srv, 4), "PATCH /trials\n", 14) == 0);
    r = cJSON_Parse(strchr(request_of(srv, 4), '\n') + 1);
    assert_string_equal(cJSON_GetObjectItem(r, "job_id")->valuestring, "test-1");
    assert_int_equal(cJSON_GetObjectItem(r, "batch_size")->valueint, 16);
    assert_int_equal(cJSON_GetObjectItem(r, "trial_number")->valueint, 3);
    cJSON_Delete(r);
    scripted_stop(srv);
    zeus_monitor_destroy(mon);
}

/* A report the server fails: the epoch stays counted and the next window is open. */
static void test_failed_report_keeps_measuring(void **state)
{
    (void)state;
    zeus_monitor *mon = fake_gpus("gpus=1");
    struct scripted *srv = scripted_start(
        201, JOB_REPLY, 200, "{\"job_id\":\"test-1\",\"batch_size\":8,\"trial_number\":1}",
        500, "{\"message\":\"down\"}", 500, "{\"message\":\"down\"}",
        500, "{\"message\":\"down\"}",
        200, "{\"stop_train\":false,\"converged\":false,\"message\":\"keep\"}", 0);
    zeus_bso_spec spec = small_spec();
    zeus_bso *bso;
    char url[64];
    unsigned bs;
    int stop = -1;

    url_of(srv->port, url, sizeof url);
    assert_int_equal(zeus_bso_open(mon, url, &spec, 0, &bso), ZEUS_OK);
    assert_int_equal(zeus_bso_get_batch_size(bso, &bs), ZEUS_OK);
    assert_int_equal(zeus_bso_on_train_begin(bso), ZEUS_OK);
    zt_fake_nvml()->add_energy_mj(0, 100000);
    assert_int_equal(zeus_bso_on_evaluate(bso, 0.1, &stop), ZEUS_ERR_IO);
    assert_non_null(strstr(zeus_last_error(), "status code 500: {\"message\":\"down\"}"));
    assert_non_null(strstr(zeus_last_error(), "/report, after 3 attempts"));
    assert_int_equal(zeus_monitor_open_window_count(mon), 1);
    zt_fake_nvml()->add_energy_mj(0, 200000);
    assert_int_equal(zeus_bso_on_evaluate(bso, 0.2, &stop), ZEUS_OK);
    assert_int_equal(stop, 0);
    assert_int_equal(seen_of(srv), 6);
    cJSON *r = cJSON_Parse(strchr(request_of(srv, 5), '\n') + 1);
    assert_non_null(r);
    assert_int_equal(cJSON_GetObjectItem(r, "current_epoch")->valueint, 2);
    assert_near(cJSON_GetObjectItem(r, "energy")->valuedouble, 300, 1e-6);
    cJSON_Delete(r);
    zeus_bso_close(bso);
    assert_int_equal(zeus_monitor_open_window_count(mon), 0);
    scripted_stop(srv);
    zeus_monitor_destroy(mon);
}

static void test_only_rank_0_asks(void **state)
{
    (void)state;
    zeus_monitor *mon = fake_gpus("gpus=1");
    struct scripted *srv = scripted_start(200, JOB_REPLY, 0);
    zeus_bso_spec spec = small_spec();
    zeus_bso *bso;
    char url[64];
    unsigned bs;

    url_of(srv->port, url, sizeof url);
    assert_int_equal(zeus_bso_open(mon, url, &spec, 1, &bso), ZEUS_OK);
    assert_int_equal(zeus_bso_get_batch_size(bso, &bs), ZEUS_ERR_NOT_SUPPORTED);
    assert_string_equal(zeus_last_error(), "Only rank 0 gpu can ask for a batch size.");
    assert_int_equal(zeus_bso_set_trial(bso, 24, 1), ZEUS_ERR_INVALID_ARGUMENT);
    assert_int_equal(zeus_bso_set_trial(bso, 16, 1), ZEUS_OK);
    zeus_bso_close(bso);
    assert_int_equal(seen_of(srv), 1); /* rank 1 never started a trial, so never ends one */
    scripted_stop(srv);
    zeus_monitor_destroy(mon);
}

/* A client never closed ends its trial when the process exits, as Zeus's atexit hook. */
static void test_exit_hook_ends_trial(void **state)
{
    (void)state;
    struct scripted *srv = scripted_start(
        201, JOB_REPLY, 200, "{\"job_id\":\"test-1\",\"batch_size\":8,\"trial_number\":5}",
        200, "null", 0);
    char url[64];
    int status;

    url_of(srv->port, url, sizeof url);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        zeus_monitor *mon = fake_gpus("gpus=1");
        zeus_bso_spec spec = small_spec();
        zeus_bso *bso;
        unsigned bs;
        if (zeus_bso_open(mon, url, &spec, 0, &bso) != ZEUS_OK ||
            zeus_bso_get_batch_size(bso, &bs) != ZEUS_OK)
            _exit(3);
        exit(0); /* no zeus_bso_close: the exit hook must end the trial */
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(seen_of(srv), 3);
    assert_true(strncmp(request_of(srv, 2), "PATCH /trials\n", 14) == 0);
    cJSON *r = cJSON_Parse(strchr(request_of(srv, 2), '\n') + 1);
    assert_non_null(r);
    assert_int_equal(cJSON_GetObjectItem(r, "trial_number")->valueint, 5);
    assert_int_equal(cJSON_GetObjectItem(r, "batch_size")->valueint, 8);
    cJSON_Delete(r);
    scripted_stop(srv);
}

/* ---- Against `zeus bso-server` (Zeus's test_client.py) -------------------------------- */

struct live {
    struct zt_cli cli;
    char *tmp;
    char url[64];
};

/* Start `zeus bso-server` on a free port with a SQLite database in a temporary folder. */
static int live_start(struct live *l)
{
    char listen_arg[64], db[512];
    int port, fd;

    l->tmp = zt_mkdtemp();
    fd = listen_any(&port);
    close(fd);
    snprintf(listen_arg, sizeof listen_arg, "127.0.0.1:%d", port);
    snprintf(db, sizeof db, "sqlite:///%s/bso.db", l->tmp);
    url_of(port, l->url, sizeof l->url);
    zt_cli_start(&l->cli, "bso-server", "--listen", listen_arg, "--database", db, NULL);
    for (int i = 0; i < 200; i++) { /* up to 10 s for the port to open */
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        int c = socket(AF_INET, SOCK_STREAM, 0);
        int ok = connect(c, (struct sockaddr *)&a, sizeof a) == 0;
        close(c);
        if (ok)
            return 1;
        usleep(50000);
    }
    fail_msg("zeus bso-server did not listen on %s within 10 s", listen_arg);
    return 0;
}

static void live_stop(struct live *l)
{
    kill(l->cli.pid, SIGTERM);
    zt_cli_finish(&l->cli, 10);
    zt_cli_free(&l->cli);
    zt_rmtree(l->tmp);
    free(l->tmp);
}

/* Zeus's get_fake_job (conftest.py): 1024 default, beta 2, 100 epochs, target 0.5. */
static const unsigned ZEUS_SIZES[] = {32, 64, 256, 512, 1024, 4096, 2048};

static zeus_bso_spec zeus_fake_job(const char *job_id)
{
    zeus_bso_spec spec;

    zeus_bso_spec_init(&spec);
    spec.job_id = job_id;
    spec.job_id_prefix = "test";
    spec.window_size = 5;
    spec.has_mab_seed = 1;
    spec.mab_seed = 123456;
    spec.batch_sizes = ZEUS_SIZES;
    spec.batch_size_count = sizeof ZEUS_SIZES / sizeof ZEUS_SIZES[0];
    spec.default_batch_size = 1024;
    spec.max_epochs = 100;
    return spec;
}

/* Zeus's mocked epoch: 37.248 s and these four GPUs' energies. */
#define EPOCH_TIME 37.24807469360
#define EPOCH_ENERGY (4264.87199999392 + 4367.186999991536 + 4342.869000002742 + 4158.034000009298)

static zeus_bso *live_open(zeus_monitor *mon, const char *url, const zeus_bso_spec *spec,
                           unsigned rank)
{
    zeus_bso *bso;

    if (zeus_bso_open(mon, url, spec, rank, &bso) != ZEUS_OK)
        fail_msg("zeus_bso_open: %s", zeus_last_error());
    return bso;
}

static void test_live_batch_sizes(void **state)
{
    (void)state;
    struct live l;
    assert_true(live_start(&l));
    zeus_monitor *mon = fake_gpus("gpus=4;limit_min_w=100;limit_max_w=300;limit_default_w=300;name=Tesla V100");
    zeus_bso_spec spec = zeus_fake_job("test_batch_sizes");
    zeus_bso *bso = live_open(mon, l.url, &spec, 0);
    unsigned bs;
    int stop = 0;
    double max_power;

    assert_int_equal(zeus_bso_gpu_config(bso, &max_power, NULL, NULL), ZEUS_OK);
    assert_near(max_power, 300 * 4, 0);
    assert_int_equal(zeus_bso_get_batch_size(bso, &bs), ZEUS_OK);
    assert_int_equal(bs, 1024);
    assert_int_equal(zeus_bso_report(bso, EPOCH_TIME, EPOCH_ENERGY, 0.1, &stop), ZEUS_OK);
    assert_int_equal(zeus_bso_report(bso, EPOCH_TIME, EPOCH_ENERGY, 0.2, &stop), ZEUS_OK);
    assert_int_equal(stop, 0);
    assert_int_equal(zeus_bso_report(bso, EPOCH_TIME, EPOCH_ENERGY, 0.6, &stop), ZEUS_OK);
    assert_int_equal(stop, 1); /* converged */
    zeus_bso_close(bso);

    bso = live_open(mon, l.url, &spec, 0);
    assert_int_equal(zeus_bso_get_batch_size(bso, &bs), ZEUS_OK);
    assert_int_equal(bs, 512);
    zeus_status s = ZEUS_OK;
    unsigned epochs = 0;
    while (s == ZEUS_OK && epochs < spec.max_epochs - 10) {
        s = zeus_bso_report(bso, EPOCH_TIME, EPOCH_ENERGY, 0.3, &stop);
        epochs++;
    }
    assert_int_equal(s, ZEUS_ERR_TRAIN_FAILED);
    assert_non_null(strstr(zeus_last_error(), "cost upper bound"));
    zeus_bso_close(bso);

    bso = live_open(mon, l.url, &spec, 0);
    assert_int_equal(zeus_bso_get_batch_size(bso, &bs), ZEUS_OK);
    assert_int_equal(bs, 2048);
    zeus_bso_close(bso);
    zeus_monitor_destroy(mon);
    live_stop(&l);
}

static void test_live_converge_fail_and_ranks(void **state)
{
    (void)state;
    struct live l;
    assert_true(live_start(&l));
    zeus_monitor *mon = fake_gpus("gpus=4;limit_min_w=100;limit_max_w=300;limit_default_w=300;name=Tesla V100");
    zeus_bso_spec spec = zeus_fake_job("test_converge_fail");
    zeus_bso *ranks[4];
    unsigned bs, trial;
    int stop = 0;
    zeus_status s = ZEUS_OK;

    spec.beta_knob = NAN; /* early stop off */
    for (unsigned r = 0; r < 4; r++)
        ranks[r] = live_open(mon, l.url, &spec, r);
    for (unsigned r = 1; r < 4; r++) {
        assert_int_equal(zeus_bso_get_batch_size(ranks[r], &bs), ZEUS_ERR_NOT_SUPPORTED);
        assert_string_equal(zeus_last_error(), "Only rank 0 gpu can ask for a batch size.");
    }
    assert_int_equal(zeus_bso_get_batch_size(ranks[0], &bs), ZEUS_OK);
    assert_int_equal(bs, 1024);
    assert_int_equal(zeus_bso_get_trial(ranks[0], NULL, &trial, NULL), ZEUS_OK);
    for (unsigned r = 1; r < 4; r++)
        assert_int_equal(zeus_bso_set_trial(ranks[r], bs, trial), ZEUS_OK);
    for (unsigned e = 0; s == ZEUS_OK && e < spec.max_epochs + 10; e++)
        s = zeus_bso_report(ranks[0], EPOCH_TIME, EPOCH_ENERGY, 0.3, &stop);
    assert_int_equal(s, ZEUS_ERR_TRAIN_FAILED);
    assert_non_null(strstr(zeus_last_error(), "Train failed to converge within max_epoch"));
    for (unsigned r = 1; r < 4; r++) {
        assert_int_equal(zeus_bso_report(ranks[r], EPOCH_TIME, EPOCH_ENERGY, 0.3, &stop),
                         ZEUS_ERR_TRAIN_FAILED);
        assert_non_null(strstr(zeus_last_error(), "is already reported."));
    }
    for (unsigned r = 0; r < 4; r++)
        zeus_bso_close(ranks[r]);

    /* The failed batch size is not tried again. */
    zeus_bso *bso = live_open(mon, l.url, &spec, 0);
    assert_int_equal(zeus_bso_get_batch_size(bso, &bs), ZEUS_OK);
    assert_int_equal(bs, 2048);
    zeus_bso_close(bso);
    zeus_monitor_destroy(mon);
    live_stop(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_sends_zeus_record),
        cmocka_unit_test(test_heterogeneous_gpus_refused),
        cmocka_unit_test(test_spec_rules),
        cmocka_unit_test(test_server_down_names_url),
        cmocka_unit_test(test_500_then_200_is_retried),
        cmocka_unit_test(test_500_always_gives_up_with_body),
        cmocka_unit_test(test_4xx_is_not_retried),
        cmocka_unit_test(test_malformed_replies),
        cmocka_unit_test(test_run_reports_cumulative_and_ends_trial),
        cmocka_unit_test(test_failed_report_keeps_measuring),
        cmocka_unit_test(test_only_rank_0_asks),
        cmocka_unit_test(test_exit_hook_ends_trial),
        cmocka_unit_test(test_live_batch_sizes),
        cmocka_unit_test(test_live_converge_fail_and_ranks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
