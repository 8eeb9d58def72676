/*
 * test_metrics_push.c - Zeus's push metrics (zeus/metrics.h) against a stand-in Pushgateway
 * served by this test on loopback: what is sent (method, path, body), and bad gateways. A
 * refused connection, a gateway that accepts but never answers, and an HTTP error are all
 * reported through on_error and the push stats, while begin/end calls return at once and
 * destroy leaves no thread behind. Bad options give ZEUS_ERR_INVALID_ARGUMENT.
 *
 * The real Pushgateway is exercised by tests/integration/test_prometheus_e2e.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fake_nvml_control.h"
#include "sysfs_tree.h"
#include "test_support.h"
#include "zeus/zeus.h"

/* ---- A stand-in gateway ------------------------------------------------------------------ */

struct gateway {
    int fd, port;
    int status; /* what to answer */
    pthread_t thread;
    int running;
    pthread_mutex_t lock;
    int stop;
    unsigned requests;
    char method[16], path[256];
    char *body;  /* last request's body */
    char *all;   /* every body received, concatenated */
    char url[64];
};

static int listen_loopback(int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &l) != 0)
        return -1;
    *port = ntohs(a.sin_port);
    return fd;
}

static void serve_one(struct gateway *g, int c)
{
    char buf[65536], reply[256];
    size_t n = 0, need = 0;
    char *head_end = NULL;

    for (;;) {
        ssize_t r = recv(c, buf + n, sizeof buf - 1 - n, 0);
        if (r <= 0)
            return;
        n += (size_t)r;
        buf[n] = '\0';
        if (head_end == NULL && (head_end = strstr(buf, "\r\n\r\n")) != NULL) {
            const char *cl = strcasestr(buf, "Content-Length:");
            need = (size_t)(head_end + 4 - buf) + (cl ? strtoul(cl + 15, NULL, 10) : 0);
        }
        if (head_end != NULL && n >= need)
            break;
        if (n == sizeof buf - 1)
            return;
    }
    pthread_mutex_lock(&g->lock);
    sscanf(buf, "%15s %255s", g->method, g->path);
    free(g->body);
    g->body = strdup(head_end + 4);
    {
        size_t old = g->all ? strlen(g->all) : 0;
        char *all = realloc(g->all, old + strlen(g->body) + 1);
        if (all != NULL) {
            strcpy(all + old, g->body);
            g->all = all;
        }
    }
    g->requests++;
    snprintf(reply, sizeof reply,
             "HTTP/1.1 %d X\r\nContent-Length: 11\r\nConnection: close\r\n\r\nbad metrics",
             g->status);
    pthread_mutex_unlock(&g->lock);
    send(c, reply, strlen(reply), MSG_NOSIGNAL);
}

static void *gateway_main(void *arg)
{
    struct gateway *g = arg;

    for (;;) {
        struct pollfd p = {.fd = g->fd, .events = POLLIN};
        int stop;
        pthread_mutex_lock(&g->lock);
        stop = g->stop;
        pthread_mutex_unlock(&g->lock);
        if (stop)
            break;
        if (poll(&p, 1, 50) == 1) {
            int c = accept(g->fd, NULL, NULL);
            if (c >= 0) {
                serve_one(g, c);
                close(c);
            }
        }
    }
    return NULL;
}

/* Fixture: a gateway answering 200, GPUs from the fake, no CPUs (no RAPL tree). */
static int start_gateway(void **state)
{
    struct gateway *g = calloc(1, sizeof *g);

    if (g == NULL)
        return -1;
    setenv("ZEUS_SYSFS_ROOT", "/nonexistent-zeus-sysfs", 1);
    unsetenv("http_proxy");
    unsetenv("HTTP_PROXY");
    unsetenv("CUDA_VISIBLE_DEVICES");
    pthread_mutex_init(&g->lock, NULL);
    g->status = 200;
    g->fd = listen_loopback(&g->port);
    if (g->fd < 0)
        return -1;
    snprintf(g->url, sizeof g->url, "http://127.0.0.1:%d", g->port);
    if (pthread_create(&g->thread, NULL, gateway_main, g) != 0)
        return -1;
    g->running = 1;
    *state = g;
    return 0;
}

static int stop_gateway(void **state)
{
    struct gateway *g = *state;

    pthread_mutex_lock(&g->lock);
    g->stop = 1;
    pthread_mutex_unlock(&g->lock);
    if (g->running)
        pthread_join(g->thread, NULL);
    close(g->fd);
    free(g->body);
    free(g->all);
    pthread_mutex_destroy(&g->lock);
    free(g);
    return 0;
}

/* ---- Helpers ------------------------------------------------------------------------------ */

struct errors {
    pthread_mutex_t lock;
    unsigned count;
    zeus_status last;
    char message[256];
};

static void on_error(zeus_status s, const char *message, void *user)
{
    struct errors *e = user;

    pthread_mutex_lock(&e->lock);
    e->count++;
    e->last = s;
    snprintf(e->message, sizeof e->message, "%s", message);
    pthread_mutex_unlock(&e->lock);
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

static void push_to(zeus_push_options *o, const char *url, const char *job, struct errors *e)
{
    zeus_push_options_init(o);
    o->pushgateway_url = url;
    o->job = job;
    o->timeout_s = 0.5;
    if (e != NULL) {
        pthread_mutex_init(&e->lock, NULL);
        o->on_error = on_error;
        o->user = e;
    }
}

static zeus_energy_histogram *gpu_histogram(const zeus_push_options *po)
{
    static const unsigned none[] = {0};
    zeus_energy_histogram_options ho;
    zeus_energy_histogram *h = NULL;

    zeus_energy_histogram_options_init(&ho);
    ho.cpu_indices = none;
    ho.cpu_index_count = 0;
    assert_int_equal(zeus_energy_histogram_create(&ho, po, &h), ZEUS_OK);
    return h;
}

/* ---- What is sent ------------------------------------------------------------------------- */

static void test_histogram_push_put_to_job_path_with_buckets(void **state)
{
    struct gateway *g = *state;
    zeus_push_options po;
    zeus_energy_histogram *h;
    zeus_push_stats st;

    zt_fake_nvml_reset("gpus=1;power_w=300");
    push_to(&po, g->url, "train job", NULL);
    h = gpu_histogram(&po);
    assert_int_equal(zeus_energy_histogram_begin_window(h, "w", 0), ZEUS_OK);
    sleep_s(0.3);
    assert_int_equal(zeus_energy_histogram_end_window(h, "w", 0), ZEUS_OK);
    assert_int_equal(zeus_energy_histogram_end_window(h, "w", 0), ZEUS_ERR_NOT_FOUND);
    assert_int_equal(zeus_energy_histogram_flush(h, 10), ZEUS_OK);
    assert_int_equal(zeus_energy_histogram_push_stats(h, &st), ZEUS_OK);
    assert_int_equal(st.pushes_ok, 1);
    assert_int_equal(st.pushes_failed, 0);
    pthread_mutex_lock(&g->lock);
    assert_string_equal(g->method, "PUT");
    assert_string_equal(g->path, "/metrics/job/train%20job");
    assert_non_null(strstr(g->body, "# TYPE energy_monitor_gpu_energy_joules histogram\n"));
    /* ~90 J: above 50, within 100 (Zeus's default GPU buckets). */
    assert_non_null(strstr(g->body, "energy_monitor_gpu_energy_joules_bucket{window=\"w\","
                                    "index=\"0\",le=\"50.0\"} 0.0\n"));
    assert_non_null(strstr(g->body, "energy_monitor_gpu_energy_joules_bucket{window=\"w\","
                                    "index=\"0\",le=\"100.0\"} 1.0\n"));
    assert_non_null(strstr(g->body, "le=\"+Inf\"} 1.0\n"));
    assert_null(strstr(g->body, "cpu_energy")); /* no CPUs watched */
    pthread_mutex_unlock(&g->lock);
    zeus_energy_histogram_destroy(h);
}

static void test_histogram_cancelled_window_not_observed(void **state)
{
    struct gateway *g = *state;
    zeus_push_options po;
    zeus_energy_histogram *h;

    zt_fake_nvml_reset("gpus=1;power_w=300");
    push_to(&po, g->url, "j", NULL);
    h = gpu_histogram(&po);
    assert_int_equal(zeus_energy_histogram_begin_window(h, "c", 0), ZEUS_OK);
    assert_int_equal(zeus_energy_histogram_end_window(h, "c", ZEUS_WINDOW_CANCEL), ZEUS_OK);
    assert_int_equal(zeus_energy_histogram_flush(h, 10), ZEUS_OK);
    zeus_energy_histogram_destroy(h);
    pthread_mutex_lock(&g->lock);
    assert_int_equal(g->requests, 0);
    pthread_mutex_unlock(&g->lock);
}

static void test_gauge_push_sets_power_of_each_gpu(void **state)
{
    struct gateway *g = *state;
    zeus_power_gauge_options go;
    zeus_power_gauge *pg;
    zeus_push_options po;

    zt_fake_nvml_reset("gpus=2;power_w=300;gpu1.power_w=120");
    push_to(&po, g->url, "j", NULL);
    po.method = ZEUS_PUSH_POST;
    zeus_power_gauge_options_init(&go);
    go.update_period_s = 0.1;
    assert_int_equal(zeus_power_gauge_create(&go, &po, &pg), ZEUS_OK);
    assert_int_equal(zeus_power_gauge_begin_window(pg, "g"), ZEUS_OK);
    assert_int_equal(zeus_power_gauge_begin_window(pg, "g"), ZEUS_ERR_ALREADY_EXISTS);
    sleep_s(0.35);
    assert_int_equal(zeus_power_gauge_end_window(pg, "g"), ZEUS_OK);
    assert_int_equal(zeus_power_gauge_end_window(pg, "g"), ZEUS_ERR_NOT_FOUND);
    assert_int_equal(zeus_power_gauge_flush(pg, 10), ZEUS_OK);
    pthread_mutex_lock(&g->lock);
    assert_string_equal(g->method, "POST");
    assert_non_null(strstr(g->body, "power_monitor_gpu_power_watts{window=\"g\",index=\"0\"} "
                                    "300.0\n"));
    assert_non_null(strstr(g->body, "power_monitor_gpu_power_watts{window=\"g\",index=\"1\"} "
                                    "120.0\n"));
    pthread_mutex_unlock(&g->lock);
    zeus_power_gauge_destroy(pg);
}

static void test_counter_periods_add_up_and_stop_joins(void **state)
{
    struct gateway *g = *state;
    zeus_energy_counter_options co;
    zeus_energy_counter *c;
    zeus_push_options po;
    const char *p;
    unsigned none[] = {0};
    int threads = zt_thread_count();

    zt_fake_nvml_reset("gpus=1;power_w=200");
    push_to(&po, g->url, "j", NULL);
    zeus_energy_counter_options_init(&co);
    co.update_period_s = 0.1;
    co.cpu_indices = none;
    assert_int_equal(zeus_energy_counter_create(&co, &po, &c), ZEUS_OK);
    assert_int_equal(zeus_energy_counter_begin_window(c, "a"), ZEUS_OK);
    sleep_s(0.5);
    assert_int_equal(zeus_energy_counter_end_window(c, "a"), ZEUS_OK);
    assert_int_equal(zeus_energy_counter_flush(c, 10), ZEUS_OK);
    pthread_mutex_lock(&g->lock);
    p = strstr(g->body, "energy_monitor_gpu_energy_joules_total{window=\"a\",index=\"0\"} ");
    assert_non_null(p);
    /* 200 W for the ~0.5 s counted: the periods overlap by microseconds, never gap. */
    assert_near(strtod(strchr(p, '}') + 2, NULL), 100, 25);
    pthread_mutex_unlock(&g->lock);
    zeus_energy_counter_destroy(c);
    assert_int_equal(zt_thread_count(), threads);
}

static void test_histogram_flush_infinite_timeout_waits(void **state)
{
    struct gateway *g = *state;
    zeus_push_options po;
    zeus_energy_histogram *h;

    zt_fake_nvml_reset("gpus=1;power_w=300");
    push_to(&po, g->url, "j", NULL);
    h = gpu_histogram(&po);
    assert_int_equal(zeus_energy_histogram_begin_window(h, "w", 0), ZEUS_OK);
    assert_int_equal(zeus_energy_histogram_end_window(h, "w", 0), ZEUS_OK);
    /* "Wait as long as it takes": a timeout past INT64_MAX ns must not become a deadline in
     * the past. */
    assert_int_equal(zeus_energy_histogram_flush(h, INFINITY), ZEUS_OK);
    assert_int_equal(zeus_energy_histogram_flush(h, 1e300), ZEUS_OK);
    pthread_mutex_lock(&g->lock);
    assert_int_equal(g->requests, 1);
    pthread_mutex_unlock(&g->lock);
    zeus_energy_histogram_destroy(h);
}

/* ---- Warnings ----------------------------------------------------------------------------- */

struct slow_warn {
    pthread_mutex_t lock;
    unsigned count;
};

static void slow_warn(const char *message, void *user)
{
    struct slow_warn *w = user;
    unsigned n;

    (void)message;
    pthread_mutex_lock(&w->lock);
    n = w->count++;
    pthread_mutex_unlock(&w->lock);
    if (n == 0)
        sleep_s(1.0); /* a slow logger */
}

static void test_histogram_slow_warn_does_not_block_end_window(void **state)
{
    static const double tiny[] = {0.001};
    static const unsigned none[] = {0};
    struct gateway *g = *state;
    struct slow_warn w = {.count = 0};
    zeus_energy_histogram_options ho;
    zeus_push_options po;
    zeus_energy_histogram *h;
    double t0, end_s;
    unsigned n = 0;

    pthread_mutex_init(&w.lock, NULL);
    zt_fake_nvml_reset("gpus=1;power_w=300");
    push_to(&po, g->url, "j", NULL);
    zeus_energy_histogram_options_init(&ho);
    ho.cpu_indices = none;
    ho.cpu_index_count = 0;
    ho.gpu_buckets = tiny; /* every observation is above the largest bucket: a warning */
    ho.gpu_bucket_count = 1;
    ho.warn = slow_warn;
    ho.warn_user = &w;
    assert_int_equal(zeus_energy_histogram_create(&ho, &po, &h), ZEUS_OK);
    assert_int_equal(zeus_energy_histogram_begin_window(h, "a", 0), ZEUS_OK);
    assert_int_equal(zeus_energy_histogram_begin_window(h, "b", 0), ZEUS_OK);
    assert_int_equal(zeus_energy_histogram_end_window(h, "a", 0), ZEUS_OK);
    for (int i = 0; i < 500 && n == 0; i++) { /* until the pusher is inside the callback */
        sleep_s(0.01);
        pthread_mutex_lock(&w.lock);
        n = w.count;
        pthread_mutex_unlock(&w.lock);
    }
    assert_true(n >= 1);
    t0 = zeus_now();
    assert_int_equal(zeus_energy_histogram_end_window(h, "b", 0), ZEUS_OK);
    end_s = zeus_now() - t0;
    print_message("end_window while the warn callback runs: %.1f us\n", end_s * 1e6);
    assert_true(end_s < 0.25); /* the callback sleeps 1 s */
    assert_int_equal(zeus_energy_histogram_flush(h, 10), ZEUS_OK);
    zeus_energy_histogram_destroy(h);
    pthread_mutex_destroy(&w.lock);
}

/* ---- Bad gateways ------------------------------------------------------------------------- */

static void test_histogram_gateway_refused_reported_caller_not_blocked(void **state)
{
    struct errors e = {0};
    zeus_push_options po;
    zeus_energy_histogram *h;
    zeus_push_stats st;
    char url[64];
    int port, fd = listen_loopback(&port), threads = zt_thread_count();
    double worst = 0;

    (void)state;
    close(fd); /* nothing listens there now: connections are refused */
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    zt_fake_nvml_reset("gpus=1;power_w=300");
    push_to(&po, url, "j", &e);
    h = gpu_histogram(&po);
    for (int i = 0; i < 20; i++) {
        double t0;
        assert_int_equal(zeus_energy_histogram_begin_window(h, "step", 0), ZEUS_OK);
        t0 = zeus_now();
        assert_int_equal(zeus_energy_histogram_end_window(h, "step", 0), ZEUS_OK);
        if (zeus_now() - t0 > worst)
            worst = zeus_now() - t0;
    }
    print_message("worst end_window with a refusing gateway: %.1f us\n", worst * 1e6);
    assert_true(worst < 0.25); /* loose: microseconds expected, a push would take longer */
    assert_int_equal(zeus_energy_histogram_flush(h, 20), ZEUS_OK);
    assert_int_equal(zeus_energy_histogram_push_stats(h, &st), ZEUS_OK);
    assert_true(st.pushes_failed >= 1);
    assert_int_equal(st.pushes_ok, 0);
    assert_int_equal(st.last_status, ZEUS_ERR_IO);
    assert_non_null(strstr(st.last_error, url));
    pthread_mutex_lock(&e.lock);
    assert_true(e.count >= 1);
    assert_int_equal(e.last, ZEUS_ERR_IO);
    pthread_mutex_unlock(&e.lock);
    zeus_energy_histogram_destroy(h);
    assert_int_equal(zt_thread_count(), threads);
    pthread_mutex_destroy(&e.lock);
}

static void test_counter_gateway_hanging_times_out_caller_not_blocked(void **state)
{
    struct errors e = {0};
    zeus_energy_counter_options co;
    zeus_energy_counter *c;
    zeus_push_options po;
    zeus_push_stats st;
    char url[64];
    unsigned none[] = {0};
    int port, fd = listen_loopback(&port); /* accepts into the backlog, never answers */
    double t0, begin_s, destroy_s;

    (void)state;
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    zt_fake_nvml_reset("gpus=1;power_w=300");
    push_to(&po, url, "j", &e);
    po.timeout_s = 0.3;
    zeus_energy_counter_options_init(&co);
    co.update_period_s = 0.1;
    co.cpu_indices = none;
    assert_int_equal(zeus_energy_counter_create(&co, &po, &c), ZEUS_OK);
    t0 = zeus_now();
    assert_int_equal(zeus_energy_counter_begin_window(c, "train"), ZEUS_OK);
    begin_s = zeus_now() - t0;
    sleep_s(0.8); /* the training loop runs on while pushes hang */
    assert_int_equal(zeus_energy_counter_flush(c, 10), ZEUS_OK);
    assert_int_equal(zeus_energy_counter_push_stats(c, &st), ZEUS_OK);
    assert_true(st.pushes_failed >= 1);
    assert_int_equal(st.last_status, ZEUS_ERR_TIMEOUT);
    pthread_mutex_lock(&e.lock);
    assert_int_equal(e.last, ZEUS_ERR_TIMEOUT);
    pthread_mutex_unlock(&e.lock);
    t0 = zeus_now();
    zeus_energy_counter_destroy(c); /* one last push, bounded by the 0.3 s timeout */
    destroy_s = zeus_now() - t0;
    print_message("begin_window %.1f us, destroy %.2f s with a hanging gateway\n",
                  begin_s * 1e6, destroy_s);
    assert_true(begin_s < 0.25);
    assert_true(destroy_s < 5);
    close(fd);
    pthread_mutex_destroy(&e.lock);
}

static void test_push_timeout_under_1ms_still_bounded(void **state)
{
    zeus_energy_histogram *h;
    zeus_push_options po;
    zeus_push_stats st;
    zeus_status flushed;
    char url[64];
    int port, fd = listen_loopback(&port); /* accepts into the backlog, never answers */

    (void)state;
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    zt_fake_nvml_reset("gpus=1;power_w=300");
    push_to(&po, url, "j", NULL);
    po.timeout_s = 0.0004; /* 0 ms to libcurl, were it truncated: no timeout at all */
    h = gpu_histogram(&po);
    assert_int_equal(zeus_energy_histogram_begin_window(h, "w", 0), ZEUS_OK);
    assert_int_equal(zeus_energy_histogram_end_window(h, "w", 0), ZEUS_OK);
    flushed = zeus_energy_histogram_flush(h, 5);
    assert_int_equal(zeus_energy_histogram_push_stats(h, &st), ZEUS_OK);
    close(fd); /* resets a push that would hang, so that destroy returns either way */
    zeus_energy_histogram_destroy(h);
    assert_int_equal(flushed, ZEUS_OK);
    assert_int_equal(st.pushes_failed, 1);
    assert_int_equal(st.last_status, ZEUS_ERR_TIMEOUT);
}

static void test_gateway_http_error_reported_with_status(void **state)
{
    struct gateway *g = *state;
    struct errors e = {0};
    zeus_push_options po;
    zeus_energy_histogram *h;
    zeus_push_stats st;

    g->status = 400; /* before anything connects */
    zt_fake_nvml_reset("gpus=1;power_w=300");
    push_to(&po, g->url, "j", &e);
    h = gpu_histogram(&po);
    assert_int_equal(zeus_energy_histogram_begin_window(h, "w", 0), ZEUS_OK);
    assert_int_equal(zeus_energy_histogram_end_window(h, "w", 0), ZEUS_OK);
    assert_int_equal(zeus_energy_histogram_flush(h, 10), ZEUS_OK);
    assert_int_equal(zeus_energy_histogram_push_stats(h, &st), ZEUS_OK);
    assert_int_equal(st.last_status, ZEUS_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(st.last_error, "HTTP 400"));
    assert_non_null(strstr(st.last_error, "bad metrics"));
    zeus_energy_histogram_destroy(h);
    pthread_mutex_destroy(&e.lock);
}

/* ---- Bad options -------------------------------------------------------------------------- */

static void test_push_metrics_bad_options_invalid_argument(void **state)
{
    static const double empty[] = {1.0}, unsorted[] = {10.0, 5.0};
    zeus_energy_histogram_options ho;
    zeus_energy_counter_options co;
    zeus_power_gauge_options go;
    zeus_energy_histogram *h = NULL;
    zeus_energy_counter *c = NULL;
    zeus_power_gauge *pg = NULL;
    zeus_push_options po;

    (void)state;
    zt_fake_nvml_reset("gpus=1");
    assert_int_equal(zeus_energy_histogram_create(NULL, NULL, &h), ZEUS_ERR_INVALID_ARGUMENT);
    push_to(&po, NULL, "j", NULL);
    assert_int_equal(zeus_energy_histogram_create(NULL, &po, &h), ZEUS_ERR_INVALID_ARGUMENT);
    push_to(&po, "http://127.0.0.1:1", "", NULL);
    assert_int_equal(zeus_energy_histogram_create(NULL, &po, &h), ZEUS_ERR_INVALID_ARGUMENT);
    push_to(&po, "http://127.0.0.1:1", "j", NULL);
    po.timeout_s = -1;
    assert_int_equal(zeus_energy_histogram_create(NULL, &po, &h), ZEUS_ERR_INVALID_ARGUMENT);
    po.timeout_s = 0;
    po.method = 7;
    assert_int_equal(zeus_energy_histogram_create(NULL, &po, &h), ZEUS_ERR_INVALID_ARGUMENT);
    po.method = ZEUS_PUSH_PUT;
    zeus_energy_histogram_options_init(&ho);
    ho.gpu_buckets = empty;
    ho.gpu_bucket_count = 0;
    assert_int_equal(zeus_energy_histogram_create(&ho, &po, &h), ZEUS_ERR_INVALID_ARGUMENT);
    ho.gpu_buckets = unsorted;
    ho.gpu_bucket_count = 2;
    assert_int_equal(zeus_energy_histogram_create(&ho, &po, &h), ZEUS_ERR_INVALID_ARGUMENT);
    assert_null(h);
    zeus_energy_counter_options_init(&co);
    assert_int_equal(zeus_energy_counter_create(&co, &po, &c), ZEUS_ERR_INVALID_ARGUMENT);
    co.update_period_s = NAN;
    assert_int_equal(zeus_energy_counter_create(&co, &po, &c), ZEUS_ERR_INVALID_ARGUMENT);
    zeus_power_gauge_options_init(&go);
    go.update_period_s = -1;
    assert_int_equal(zeus_power_gauge_create(&go, &po, &pg), ZEUS_ERR_INVALID_ARGUMENT);
    go.update_period_s = 1;
    zt_fake_nvml_reset("gpus=0"); /* no GPU visible: documented as ZEUS_ERR_NOT_FOUND */
    assert_int_equal(zeus_power_gauge_create(&go, &po, &pg), ZEUS_ERR_NOT_FOUND);
    zt_fake_nvml_reset("gpus=1");
    assert_null(c);
    assert_null(pg);
    /* Bad handles, and destroy(NULL). */
    assert_int_equal(zeus_energy_histogram_begin_window(NULL, "w", 0), ZEUS_ERR_INVALID_ARGUMENT);
    assert_int_equal(zeus_energy_counter_begin_window(NULL, "w"), ZEUS_ERR_INVALID_ARGUMENT);
    assert_int_equal(zeus_power_gauge_begin_window(NULL, "w"), ZEUS_ERR_INVALID_ARGUMENT);
    zeus_energy_histogram_destroy(NULL);
    zeus_energy_counter_destroy(NULL);
    zeus_power_gauge_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_histogram_push_put_to_job_path_with_buckets,
                                        start_gateway, stop_gateway),
        cmocka_unit_test_setup_teardown(test_histogram_cancelled_window_not_observed,
                                        start_gateway, stop_gateway),
        cmocka_unit_test_setup_teardown(test_gauge_push_sets_power_of_each_gpu, start_gateway,
                                        stop_gateway),
        cmocka_unit_test_setup_teardown(test_counter_periods_add_up_and_stop_joins,
                                        start_gateway, stop_gateway),
        cmocka_unit_test_setup_teardown(test_histogram_flush_infinite_timeout_waits,
                                        start_gateway, stop_gateway),
        cmocka_unit_test_setup_teardown(test_histogram_slow_warn_does_not_block_end_window,
                                        start_gateway, stop_gateway),
        cmocka_unit_test(test_histogram_gateway_refused_reported_caller_not_blocked),
        cmocka_unit_test(test_counter_gateway_hanging_times_out_caller_not_blocked),
        cmocka_unit_test(test_push_timeout_under_1ms_still_bounded),
        cmocka_unit_test_setup_teardown(test_gateway_http_error_reported_with_status,
                                        start_gateway, stop_gateway),
        cmocka_unit_test(test_push_metrics_bad_options_invalid_argument),
    };
    return cmocka_run_group_tests_name("metrics_push", tests, NULL, NULL);
}
