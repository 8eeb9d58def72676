/*
 * test_prometheus_e2e.c - Zeus-C's metrics against the real servers: Debian's
 * prometheus-pushgateway receives the histogram, counter and gauge pushed in this process
 * (over the fake NVML), and a real prometheus scrapes both the Pushgateway and a running
 * `zeus exporter`; every value is checked through the servers' own HTTP APIs (the gateway's
 * /metrics, Prometheus's /api/v1/query).
 *
 * The servers listen on loopback ports found free by binding port 0, keep their data under a
 * temporary folder, and are killed in the group teardown whatever happened, and by
 * PR_SET_PDEATHSIG if this process dies first. Without the binaries (scripts/install-deps.sh
 * installs them) every test skips with the reason printed.
 *
 * Last, every query of the Grafana dashboard (packaging/grafana-zeus.json) is run against
 * this Prometheus: each must parse, and each over the exporter's metrics must return data.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli_support.h"
#include "http_support.h"
#include "fake_nvml_control.h"
#include "sysfs_tree.h"
#include "test_support.h"
#include "zeus/zeus.h"

/* ---- Fixtures ----------------------------------------------------------------------------- */

struct servers {
    char why_skip[256]; /* non-empty: every test skips with this */
    char *dir;
    zt_sysfs *sysfs;
    pid_t gateway, prometheus;
    struct zt_cli exporter;
    int exporter_started;
    int gateway_port, prometheus_port, exporter_port;
};

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

/* Full path of `name` found in PATH (or /usr/bin), or NULL. */
static const char *find_program(const char *name, char *buf, size_t len)
{
    const char *path = getenv("PATH");
    char *copy = strdup(path ? path : "/usr/bin"), *save = NULL;
    const char *found = NULL;

    for (char *d = strtok_r(copy, ":", &save); d != NULL; d = strtok_r(NULL, ":", &save)) {
        snprintf(buf, len, "%s/%s", d, name);
        if (access(buf, X_OK) == 0) {
            found = buf;
            break;
        }
    }
    free(copy);
    if (found == NULL) {
        snprintf(buf, len, "/usr/bin/%s", name);
        if (access(buf, X_OK) == 0)
            found = buf;
    }
    return found;
}

/* A free loopback port: bind port 0, read it, close (a tiny race nobody else runs into). */
static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &l) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* Start argv with stdout and stderr in `log`; it dies with this process. */
static pid_t spawn(char *const argv[], const char *log)
{
    pid_t parent = getpid(), pid = fork();

    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static void stop_pid(pid_t *pid)
{
    if (*pid <= 0)
        return;
    kill(*pid, SIGTERM);
    for (int i = 0; i < 100; i++) {
        if (waitpid(*pid, NULL, WNOHANG) == *pid) {
            *pid = 0;
            return;
        }
        sleep_s(0.05);
    }
    kill(*pid, SIGKILL);
    waitpid(*pid, NULL, 0);
    *pid = 0;
}

/* ---- HTTP --------------------------------------------------------------------------------- */

#define HTTP_TIMEOUT_MS 5000L

/* Wait until url answers 200, at most timeout_s. */
static int wait_ready(const char *url, double timeout_s)
{
    for (double t = 0; t < timeout_s; t += 0.1) {
        if (zt_http("GET", url, NULL, HTTP_TIMEOUT_MS, NULL) == 200)
            return 0;
        sleep_s(0.1);
    }
    return -1;
}

static int setup_servers(void **state)
{
    struct servers *s = calloc(1, sizeof *s);
    char gw[512], prom[512], url[256], path[512], addr[64], dbdir[1024], log[1024];

    if (s == NULL)
        return -1;
    *state = s;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    /* The test talks to loopback only; a proxy in the environment must not intercept. */
    unsetenv("http_proxy");
    unsetenv("HTTP_PROXY");
    unsetenv("all_proxy");
    unsetenv("ALL_PROXY");
    if (find_program("prometheus-pushgateway", gw, sizeof gw) == NULL ||
        find_program("prometheus", prom, sizeof prom) == NULL) {
        snprintf(s->why_skip, sizeof s->why_skip,
                 "prometheus and prometheus-pushgateway are not installed "
                 "(scripts/install-deps.sh installs them)");
        return 0;
    }
    s->dir = zt_mkdtemp();
    s->sysfs = zt_sysfs_create();
    zt_sysfs_add_package(s->sysfs, 0, 1000000, 262143328850ull);
    zt_sysfs_add_dram(s->sysfs, 0, 0, 500000, 65712999613ull);
    zt_sysfs_use(s->sysfs);
    setenv("ZEUS_FAKE_NVML", "gpus=2;power_w=300", 1);
    unsetenv("CUDA_VISIBLE_DEVICES");

    /* The Pushgateway. */
    s->gateway_port = free_port();
    snprintf(addr, sizeof addr, "--web.listen-address=127.0.0.1:%d", s->gateway_port);
    snprintf(log, sizeof log, "%s/pushgateway.log", s->dir);
    {
        char *argv[] = {gw, addr, NULL};
        s->gateway = spawn(argv, log);
    }
    snprintf(url, sizeof url, "http://127.0.0.1:%d/-/ready", s->gateway_port);
    if (wait_ready(url, 20) != 0) {
        snprintf(s->why_skip, sizeof s->why_skip,
                 "the Pushgateway did not become ready (%.200s)", log);
        return 0;
    }

    /* The exporter, on a port it picks itself. */
    zt_cli_start(&s->exporter, "exporter", "--listen", "127.0.0.1:0", NULL);
    s->exporter_started = 1;
    zt_cli_wait_for_output(&s->exporter, "/metrics", 30);
    {
        char *out = zt_read_file(s->exporter.out_path);
        const char *p = out ? strstr(out, "127.0.0.1:") : NULL;
        s->exporter_port = p ? atoi(p + strlen("127.0.0.1:")) : -1;
        free(out);
    }

    /* Prometheus, scraping both every second. */
    s->prometheus_port = free_port();
    snprintf(path, sizeof path, "%s/prometheus.yml", s->dir);
    {
        char yml[1024];
        snprintf(yml, sizeof yml,
                 "global:\n"
                 "  scrape_interval: 1s\n"
                 "  evaluation_interval: 1s\n"
                 "scrape_configs:\n"
                 "  - job_name: zeus\n"
                 "    static_configs:\n"
                 "      - targets: ['127.0.0.1:%d']\n"
                 "  - job_name: pushgateway\n"
                 "    honor_labels: true\n"
                 "    static_configs:\n"
                 "      - targets: ['127.0.0.1:%d']\n",
                 s->exporter_port, s->gateway_port);
        zt_write_file(path, yml);
    }
    snprintf(addr, sizeof addr, "--web.listen-address=127.0.0.1:%d", s->prometheus_port);
    snprintf(dbdir, sizeof dbdir, "--storage.tsdb.path=%s/data", s->dir);
    snprintf(log, sizeof log, "%s/prometheus.log", s->dir);
    {
        char cfg[1024];
        snprintf(cfg, sizeof cfg, "--config.file=%s", path);
        char *argv[] = {prom, cfg, dbdir, addr, NULL};
        s->prometheus = spawn(argv, log);
    }
    snprintf(url, sizeof url, "http://127.0.0.1:%d/-/ready", s->prometheus_port);
    if (wait_ready(url, 60) != 0) {
        snprintf(s->why_skip, sizeof s->why_skip, "Prometheus did not become ready (%.200s)",
                 log);
    }
    return 0;
}

static int teardown_servers(void **state)
{
    struct servers *s = *state;

    stop_pid(&s->prometheus);
    stop_pid(&s->gateway);
    if (s->exporter_started) {
        kill(s->exporter.pid, SIGTERM);
        zt_cli_finish(&s->exporter, 30);
        zt_cli_free(&s->exporter);
    }
    zt_sysfs_destroy(s->sysfs);
    if (s->dir != NULL) {
        zt_rmtree(s->dir);
        free(s->dir);
    }
    free(s);
    return 0;
}

static void skip_without_servers(const struct servers *s)
{
    if (s->why_skip[0] != '\0') {
        printf("SKIP: %s\n", s->why_skip);
        skip();
    }
}

/* ---- Reading the servers ------------------------------------------------------------------ */

/*
 * The value of the first sample in the text exposition `text` whose name is `name` and
 * whose label set contains every `label="value"` in `want` (NULL-terminated); NAN if none.
 */
static double sample_value(const char *text, const char *name, const char *const *want)
{
    size_t n = strlen(name);

    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        const char *end = strchr(line, '\n'), *space;
        int ok = 1;
        if (strncmp(line, name, n) != 0 || (line[n] != '{' && line[n] != ' '))
            continue;
        if (end == NULL)
            end = line + strlen(line);
        for (int i = 0; want[i] != NULL; i++) {
            const char *hit = strstr(line, want[i]);
            if (hit == NULL || hit > end)
                ok = 0;
        }
        space = end;
        while (space > line && space[-1] != ' ')
            space--;
        if (ok)
            return strtod(space, NULL);
    }
    return NAN;
}

/* Run a PromQL query until it returns at least `series` results (bounded); returns the
 * JSON reply (malloc'd) or NULL. */
static char *query_until(const struct servers *s, const char *promql, int series,
                         double timeout_s)
{
    CURL *c = curl_easy_init();
    char *q = curl_easy_escape(c, promql, 0), url[1024];

    curl_easy_cleanup(c);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/v1/query?query=%s", s->prometheus_port,
             q);
    curl_free(q);
    for (double t = 0; t < timeout_s; t += 0.5) {
        char *body = NULL;
        int found = 0;
        if (zt_http("GET", url, NULL, HTTP_TIMEOUT_MS, &body) == 200) {
            for (const char *p = strstr(body, "\"metric\""); p; p = strstr(p + 1, "\"metric\""))
                found++;
            if (found >= series && strstr(body, "\"status\":\"success\"") != NULL)
                return body;
        }
        free(body);
        sleep_s(0.5);
    }
    return NULL;
}

/* The value of the result whose labels include `needle` in a /api/v1/query reply. */
static double result_value(const char *json, const char *needle)
{
    const char *p = needle ? strstr(json, needle) : json;
    const char *v = p ? strstr(p, "\"value\":[") : NULL;

    if (v == NULL)
        return NAN;
    v = strchr(v, ',');        /* after the timestamp */
    v = v ? strchr(v, '"') : NULL; /* the value is a string */
    return v ? strtod(v + 1, NULL) : NAN;
}

static char *gateway_metrics(const struct servers *s)
{
    char url[128], *body = NULL;

    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", s->gateway_port);
    assert_int_equal(zt_http("GET", url, NULL, HTTP_TIMEOUT_MS, &body), 200);
    return body;
}

static void push_options(const struct servers *s, const char *job, zeus_push_options *o,
                         char *url, size_t len)
{
    snprintf(url, len, "http://127.0.0.1:%d", s->gateway_port);
    zeus_push_options_init(o);
    o->pushgateway_url = url;
    o->job = job;
    o->timeout_s = 5;
}

/* ---- Prometheus scrapes the exporter ------------------------------------------------------ */

static void test_prometheus_scrapes_exporter_gpu_energy_and_power(void **state)
{
    struct servers *s = *state;
    char *json;
    double e0, e1;

    skip_without_servers(s);
    json = query_until(s, "zeus_gpu_energy_joules_total{job=\"zeus\"}", 2, 60);
    assert_non_null(json);
    assert_non_null(strstr(json, "\"index\":\"1\""));
    assert_non_null(strstr(json, "\"uuid\":\"GPU-"));
    assert_non_null(strstr(json, "\"name\":\"NVIDIA H100 80GB HBM3\""));
    e0 = result_value(json, "\"index\":\"0\"");
    assert_true(e0 > 0);
    free(json);

    /* 300 W on the fake: over a few scrapes the counter rises at about that rate. Wait
     * until the range holds enough scrapes that rate() does not extrapolate much. */
    json = query_until(s, "count_over_time(zeus_gpu_energy_joules_total{job=\"zeus\","
                          "index=\"0\"}[5s]) >= 5", 1, 60);
    assert_non_null(json);
    free(json);
    json = query_until(s, "rate(zeus_gpu_energy_joules_total{job=\"zeus\",index=\"0\"}[5s])", 1,
                       60);
    assert_non_null(json);
    e1 = result_value(json, NULL);
    free(json);
    assert_near(e1, 300, 45);

    json = query_until(s, "zeus_gpu_power_watts{job=\"zeus\",domain=\"device_instant\"}", 2, 30);
    assert_non_null(json);
    assert_near(result_value(json, "\"index\":\"0\""), 300, 0.001);
    free(json);
}

static void test_prometheus_scrapes_exporter_cpu_and_dram(void **state)
{
    struct servers *s = *state;
    char *json;

    skip_without_servers(s);
    json = query_until(s, "zeus_cpu_energy_joules_total{job=\"zeus\"}", 1, 60);
    assert_non_null(json);
    assert_non_null(strstr(json, "\"zone\":\"package-0\""));
    free(json);
    json = query_until(s, "zeus_dram_energy_joules_total{job=\"zeus\"}", 1, 30);
    assert_non_null(json);
    free(json);
    json = query_until(s, "zeus_exporter_build_info{job=\"zeus\"}", 1, 30);
    assert_non_null(json);
    free(json);
}

/* ---- Pushes reach the gateway, and through it Prometheus ----------------------------------- */

static void test_pushgateway_receives_energy_histogram(void **state)
{
    struct servers *s = *state;
    const char *epoch0[] = {"window=\"epoch\"", "index=\"0\"", "job=\"zeus_hist\"", NULL};
    const char *le200[] = {"window=\"epoch\"", "index=\"0\"", "le=\"200\"", NULL};
    const char *le100[] = {"window=\"epoch\"", "index=\"0\"", "le=\"100\"", NULL};
    zeus_energy_histogram_options ho;
    zeus_energy_histogram *h;
    zeus_push_options po;
    zeus_push_stats st;
    char url[128], *text, *json;
    unsigned gpus[] = {0, 1};

    skip_without_servers(s);
    zt_fake_nvml_reset("gpus=2;power_w=300");
    push_options(s, "zeus_hist", &po, url, sizeof url);
    zeus_energy_histogram_options_init(&ho);
    ho.gpu_indices = gpus;
    ho.gpu_index_count = 2;
    ho.cpu_index_count = 0;
    ho.cpu_indices = gpus; /* non-NULL with count 0: no CPUs */
    assert_int_equal(zeus_energy_histogram_create(&ho, &po, &h), ZEUS_OK);
    assert_int_equal(zeus_energy_histogram_begin_window(h, "epoch", 0), ZEUS_OK);
    sleep_s(0.5); /* 300 W x 0.5 s = 150 J: in the 200 J bucket, not the 100 J one */
    assert_int_equal(zeus_energy_histogram_end_window(h, "epoch", 0), ZEUS_OK);
    assert_int_equal(zeus_energy_histogram_flush(h, 20), ZEUS_OK);
    assert_int_equal(zeus_energy_histogram_push_stats(h, &st), ZEUS_OK);
    assert_int_equal(st.pushes_failed, 0);
    assert_true(st.pushes_ok >= 1);

    text = gateway_metrics(s);
    assert_near(sample_value(text, "energy_monitor_gpu_energy_joules_count", epoch0), 1, 0);
    assert_near(sample_value(text, "energy_monitor_gpu_energy_joules_sum", epoch0), 150, 20);
    assert_near(sample_value(text, "energy_monitor_gpu_energy_joules_bucket", le200), 1, 0);
    assert_near(sample_value(text, "energy_monitor_gpu_energy_joules_bucket", le100), 0, 0);
    free(text);

    json = query_until(s, "energy_monitor_gpu_energy_joules_count{window=\"epoch\"}", 2, 60);
    assert_non_null(json);
    assert_non_null(strstr(json, "\"job\":\"zeus_hist\""));
    free(json);
    zeus_energy_histogram_destroy(h);
}

static void test_pushgateway_receives_energy_counter(void **state)
{
    struct servers *s = *state;
    const char *train0[] = {"window=\"train\"", "index=\"0\"", "job=\"zeus_counter\"", NULL};
    zeus_energy_counter_options co;
    zeus_energy_counter *c;
    zeus_push_options po;
    zeus_push_stats st;
    char url[128], *text;
    unsigned none[] = {0};
    double t0, t1, j;

    skip_without_servers(s);
    zt_fake_nvml_reset("gpus=2;power_w=300");
    push_options(s, "zeus_counter", &po, url, sizeof url);
    zeus_energy_counter_options_init(&co);
    co.update_period_s = 0.2;
    co.cpu_indices = none;
    co.cpu_index_count = 0;
    assert_int_equal(zeus_energy_counter_create(&co, &po, &c), ZEUS_OK);
    t0 = zeus_now();
    assert_int_equal(zeus_energy_counter_begin_window(c, "train"), ZEUS_OK);
    assert_int_equal(zeus_energy_counter_begin_window(c, "train"), ZEUS_ERR_ALREADY_EXISTS);
    sleep_s(1.0);
    assert_int_equal(zeus_energy_counter_end_window(c, "train"), ZEUS_OK);
    t1 = zeus_now();
    assert_int_equal(zeus_energy_counter_end_window(c, "train"), ZEUS_ERR_NOT_FOUND);
    assert_int_equal(zeus_energy_counter_flush(c, 20), ZEUS_OK);
    assert_int_equal(zeus_energy_counter_push_stats(c, &st), ZEUS_OK);
    assert_int_equal(st.pushes_failed, 0);

    text = gateway_metrics(s);
    j = sample_value(text, "energy_monitor_gpu_energy_joules_total", train0);
    /* Every period adds up: about 300 W over the counted time (begin to end). */
    assert_near(j, 300 * (t1 - t0), 300 * 0.25);
    free(text);
    zeus_energy_counter_destroy(c);
}

static void test_pushgateway_receives_power_gauge(void **state)
{
    struct servers *s = *state;
    const char *g1[] = {"window=\"serve\"", "index=\"1\"", "job=\"zeus_gauge\"", NULL};
    zeus_power_gauge_options go;
    zeus_power_gauge *g;
    zeus_push_options po;
    char url[128], *text;

    skip_without_servers(s);
    zt_fake_nvml_reset("gpus=2;power_w=250");
    push_options(s, "zeus_gauge", &po, url, sizeof url);
    zeus_power_gauge_options_init(&go);
    go.update_period_s = 0.2;
    assert_int_equal(zeus_power_gauge_create(&go, &po, &g), ZEUS_OK);
    assert_int_equal(zeus_power_gauge_begin_window(g, "serve"), ZEUS_OK);
    sleep_s(0.7);
    assert_int_equal(zeus_power_gauge_flush(g, 20), ZEUS_OK);
    text = gateway_metrics(s);
    assert_near(sample_value(text, "power_monitor_gpu_power_watts", g1), 250, 0.001);
    free(text);
    assert_int_equal(zeus_power_gauge_end_window(g, "serve"), ZEUS_OK);
    zeus_power_gauge_destroy(g);
}

/* ---- The Grafana dashboard's queries ------------------------------------------------------- */

/* Replace every `from` in *text by `to` (malloc'd result; frees the old text). */
static char *replace_all(char *text, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to), n = 0;
    char *out, *o;

    for (const char *p = strstr(text, from); p; p = strstr(p + fl, from))
        n++;
    out = malloc(strlen(text) + n * (tl > fl ? tl - fl : 0) + 1);
    o = out;
    for (const char *p = text, *q; ; p = q + fl) {
        q = strstr(p, from);
        if (q == NULL) {
            strcpy(o, p);
            break;
        }
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        memcpy(o, to, tl);
        o += tl;
    }
    free(text);
    return out;
}

static void test_grafana_dashboard_queries_run(void **state)
{
    struct servers *s = *state;
    char path[1024], *text, *json;
    const cJSON *panel;
    cJSON *dash;
    int checked = 0;

    skip_without_servers(s);
    snprintf(path, sizeof path, "%s", __FILE__);
    *strrchr(path, '/') = '\0';
    snprintf(strrchr(path, '/'), sizeof path - (size_t)(strrchr(path, '/') - path),
             "/../packaging/grafana-zeus.json");
    text = zt_read_file(path);
    assert_non_null(text);
    dash = cJSON_Parse(text);
    free(text);
    assert_non_null(dash);
    /* Prometheus has scraped the exporter for a while by now (tests above). */
    cJSON_ArrayForEach(panel, cJSON_GetObjectItem(dash, "panels"))
    {
        const cJSON *target;
        cJSON_ArrayForEach(target, cJSON_GetObjectItem(panel, "targets"))
        {
            const char *expr = cJSON_GetStringValue(cJSON_GetObjectItem(target, "expr"));
            char *q;
            assert_non_null(expr);
            q = strdup(expr);
            q = replace_all(q, "$instance", ".*");
            q = replace_all(q, "$gpu", ".*");
            q = replace_all(q, "$__rate_interval", "5s");
            q = replace_all(q, "$__range", "1m");
            /* Exporter metrics must have data; the push panels only need to parse. */
            json = query_until(s, q, strstr(q, "zeus_") ? 1 : 0, 30);
            if (json == NULL)
                fail_msg("dashboard query returned nothing: %s", q);
            free(json);
            free(q);
            checked++;
        }
    }
    cJSON_Delete(dash);
    assert_true(checked >= 15);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prometheus_scrapes_exporter_gpu_energy_and_power),
        cmocka_unit_test(test_prometheus_scrapes_exporter_cpu_and_dram),
        cmocka_unit_test(test_pushgateway_receives_energy_histogram),
        cmocka_unit_test(test_pushgateway_receives_energy_counter),
        cmocka_unit_test(test_pushgateway_receives_power_gauge),
        cmocka_unit_test(test_grafana_dashboard_queries_run),
    };
    return cmocka_run_group_tests_name("prometheus_e2e", tests, setup_servers, teardown_servers);
}
