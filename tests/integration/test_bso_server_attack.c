/*
 * test_bso_server_attack.c - `zeus bso-server` under hostile and heavy use, with SQLite in a
 * temporary folder, and (all but the SQLite-specific cases) again on a PostgreSQL cluster the
 * test starts itself, skipped with a message only when PostgreSQL is not installed:
 *   - bad input: malformed JSON, wrong types, NaN (not JSON), infinite and negative time or
 *     energy, a body over 1 MiB (413 from Content-Length before it is sent, and from the count
 *     when chunked), unknown fields (ignored), unknown jobs and trials: each a clear status
 *     and message, and the server keeps serving;
 *   - slow clients holding half-sent requests do not stop others from being served;
 *   - a burst of 200 connections sending a predict at once: every one answered, one trial each;
 *   - 16 clients on 4 jobs with interleaved predict, report and end-trial: every predict
 *     answered 200 made exactly one trial, every final report answered 200 is Succeeded, and
 *     the schema's invariants hold;
 *   - the same with two server processes on one database (file, or PostgreSQL: row locks);
 *   - SIGKILL during a storm of reports, then a restart on the same file: every report that
 *     was answered 200 is in the database, the invariants hold, and the jobs carry on;
 *   - a database corrupted under a running server: 500 with the reason, and the server keeps
 *     answering; a corrupt or read-only file at start: exit 1 with the reason.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bso_server_support.h"
#include "pg_cluster.h"
#include "test_support.h"

#define CLIENTS 16
#define JOBS 4
#define ROUNDS 40 /* per client */

struct fixture {
    struct zt_bso server;
    char *dir;
    char url[1100];
};

static const char *message_of(const cJSON *o)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "message");
    return cJSON_IsString(m) ? m->valuestring : "";
}

static void register_small(struct zt_bso *s, const char *job_id, int rounds)
{
    char body[600];

    snprintf(body, sizeof body,
             "{\"job_id\": \"%s\", \"job_id_prefix\": \"%.4s\", \"batch_sizes\": [8, 16, 32, 64], "
             "\"default_batch_size\": 16, \"beta_knob\": null, \"num_pruning_rounds\": %d, "
             "\"mab_seed\": 42, \"max_power\": 300, \"number_of_gpus\": 1, "
             "\"gpu_model\": \"V100\"}", job_id, job_id, rounds);
    assert_int_equal(zt_bso_call(s, "POST", "/jobs", body, NULL), 201);
}

/* Still serving: a predict on a registered job answers 200. */
static void assert_serving(struct zt_bso *s, const char *job_id)
{
    int bs, trial;
    assert_int_equal(zt_bso_predict(s, job_id, &bs, &trial), 200);
}

/* ---- Raw sockets -------------------------------------------------------------------------- */

static int connect_to(int port)
{
    struct sockaddr_in a = {0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* Send `head`, then up to `body_bytes` of 'x' (stopping when the server closes), and read
 * the status line's code. */
static int raw_request(int port, const char *head, size_t body_bytes)
{
    char buf[4096], chunk[8192];
    int fd = connect_to(port), code = 0;
    struct timeval tv = {10, 0};
    ssize_t n;

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    assert_true(send(fd, head, strlen(head), MSG_NOSIGNAL) == (ssize_t)strlen(head));
    memset(chunk, 'x', sizeof chunk);
    for (size_t sent = 0; sent < body_bytes;) {
        size_t k = body_bytes - sent < sizeof chunk ? body_bytes - sent : sizeof chunk;
        n = send(fd, chunk, k, MSG_NOSIGNAL);
        if (n <= 0)
            break; /* the server answered and closed */
        sent += (size_t)n;
    }
    n = recv(fd, buf, sizeof buf - 1, 0);
    if (n > 0) {
        buf[n] = '\0';
        sscanf(buf, "HTTP/1.%*d %d", &code);
    }
    close(fd);
    return code;
}

/* ---- Bad input ---------------------------------------------------------------------------- */

static void expect(struct zt_bso *s, const char *method, const char *path, const char *body,
                   long status, const char *needle)
{
    cJSON *o = NULL;
    char *text;

    assert_int_equal(zt_bso_call(s, method, path, body, &o), status);
    assert_non_null(o); /* always a JSON body */
    text = cJSON_PrintUnformatted(o);
    if (strstr(text, needle) == NULL)
        fail_msg("%s %s %s: %s lacks '%s'", method, path, body ? body : "", text, needle);
    free(text);
    cJSON_Delete(o);
}

static void test_bad_input(void **state)
{
    struct fixture *f = *state;
    struct zt_bso *s = &f->server;
    int bs, trial;
    char head[300], body[400];

    register_small(s, "bad-input", 1);
    assert_int_equal(zt_bso_predict(s, "bad-input", &bs, &trial), 200);
    expect(s, "POST", "/jobs", "{\"job_id_prefix\": ", 422, "value_error.jsondecode");
    expect(s, "POST", "/report", "not json", 422, "value_error.jsondecode");
    expect(s, "POST", "/report", "[]", 422, "value is not a valid dict");
    expect(s, "PATCH", "/trials", "", 422, "field required");
    expect(s, "POST", "/report", "{\"job_id\": 5, \"batch_size\": \"x\", \"trial_number\": 1.5, "
           "\"time\": \"1\", \"energy\": true, \"metric\": null, \"current_epoch\": []}", 422,
           "str type expected");
    /* NaN is not JSON; Zeus's Python would take it, we do not */
    expect(s, "POST", "/report", "{\"job_id\": \"bad-input\", \"batch_size\": 16, "
           "\"trial_number\": 1, \"time\": NaN, \"energy\": 1, \"metric\": 1, "
           "\"current_epoch\": 1}", 422, "value_error.jsondecode");
    expect(s, "POST", "/report", "{\"job_id\": \"bad-input\", \"batch_size\": 16, "
           "\"trial_number\": 1, \"time\": 1e999, \"energy\": 1, \"metric\": 1, "
           "\"current_epoch\": 1}", 422, "ensure this value is a finite number");
    expect(s, "POST", "/report", "{\"job_id\": \"bad-input\", \"batch_size\": 16, "
           "\"trial_number\": 1, \"time\": 1, \"energy\": -5, \"metric\": 1, "
           "\"current_epoch\": 1}", 422, "ensure this value is greater than or equal to 0");
    /* the refused reports left the trial as it was */
    assert_int_equal(zt_bso_query_int(f->url, "SELECT count(*) FROM trial WHERE job_id = "
                                      "'bad-input' AND status = 'Dispatched'"), 1);
    /* unknown fields are ignored */
    snprintf(body, sizeof body, "{\"job_id\": \"bad-input\", \"batch_size\": %d, "
             "\"trial_number\": %d, \"time\": 1, \"energy\": 1, \"metric\": 0.9, "
             "\"current_epoch\": 1, \"error\": false, \"max_power\": 300}", bs, trial);
    expect(s, "POST", "/report", body, 200, "Train succeeded");
    expect(s, "POST", "/report", "{\"job_id\": \"nobody\", \"batch_size\": 16, "
           "\"trial_number\": 1, \"time\": 1, \"energy\": 1, \"metric\": 1, "
           "\"current_epoch\": 1}", 400, "Unknown job nobody");
    expect(s, "PATCH", "/trials", "{\"job_id\": \"bad-input\", \"batch_size\": 16, "
           "\"trial_number\": 1000}", 404, "Could not find the trial");
    expect(s, "GET", "/jobs/batch_size?job_id=", NULL, 400, "Unknown job()");
    expect(s, "DELETE", "/jobs", NULL, 422, "query");

    /* over 1 MiB: refused from Content-Length, before the body is sent */
    snprintf(head, sizeof head, "POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Type: "
             "application/json\r\nContent-Length: %d\r\n\r\n", 64 << 20);
    assert_int_equal(raw_request(s->port, head, 0), 413);
    /* and chunked, from the count */
    {
        struct zt_bso *srv = s;
        int fd = connect_to(srv->port), code = 0;
        char chunk[70000], line[32], buf[1024];
        struct timeval tv = {10, 0};
        ssize_t n;
        const char *h = "POST /report HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";

        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        send(fd, h, strlen(h), MSG_NOSIGNAL);
        memset(chunk, ' ', sizeof chunk);
        snprintf(line, sizeof line, "%zx\r\n", sizeof chunk);
        for (int i = 0; i < 20; i++) { /* 1.4 MB */
            send(fd, line, strlen(line), MSG_NOSIGNAL);
            send(fd, chunk, sizeof chunk, MSG_NOSIGNAL);
            send(fd, "\r\n", 2, MSG_NOSIGNAL);
        }
        send(fd, "0\r\n\r\n", 5, MSG_NOSIGNAL);
        n = recv(fd, buf, sizeof buf - 1, 0);
        if (n > 0) {
            buf[n] = '\0';
            sscanf(buf, "HTTP/1.%*d %d", &code);
        }
        close(fd);
        assert_int_equal(code, 413);
    }
    assert_serving(s, "bad-input");
    assert_int_equal(zt_bso_check_invariants(f->url), 0);
}

/* ---- Slow clients ------------------------------------------------------------------------- */

static void test_slow_clients_do_not_block_others(void **state)
{
    struct fixture *f = *state;
    int fds[64];
    struct timespec a, b;

    register_small(&f->server, "slow", 1);
    for (int i = 0; i < 64; i++) { /* each holds a half-sent request */
        const char *part = "POST /report HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"jo";
        fds[i] = connect_to(f->server.port);
        send(fds[i], part, strlen(part), MSG_NOSIGNAL);
    }
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < 10; i++)
        assert_serving(&f->server, "slow");
    clock_gettime(CLOCK_MONOTONIC, &b);
    assert_true((b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9 < 5.0);
    for (int i = 0; i < 64; i++)
        close(fds[i]);
}

/* ---- A burst ------------------------------------------------------------------------------ */

#define BURST 200

/* BURST connections send a predict at once; every one is answered 200, each made one trial. */
static void test_burst_of_connections(void **state)
{
    struct fixture *f = *state;
    static int fds[BURST];
    const char *req = "GET /jobs/batch_size?job_id=burst HTTP/1.1\r\nHost: x\r\n"
                      "Connection: close\r\n\r\n";
    struct timeval tv = {30, 0};
    int ok = 0;

    register_small(&f->server, "burst", 1);
    for (int i = 0; i < BURST; i++) {
        fds[i] = connect_to(f->server.port);
        setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    for (int i = 0; i < BURST; i++)
        assert_true(send(fds[i], req, strlen(req), MSG_NOSIGNAL) == (ssize_t)strlen(req));
    for (int i = 0; i < BURST; i++) {
        char buf[512];
        int code = 0;
        ssize_t n = recv(fds[i], buf, sizeof buf - 1, 0);
        if (n > 0) {
            buf[n] = '\0';
            sscanf(buf, "HTTP/1.%*d %d", &code);
        }
        ok += code == 200;
        close(fds[i]);
    }
    assert_int_equal(ok, BURST);
    assert_int_equal(zt_bso_query_int(f->url, "SELECT count(*) FROM trial WHERE job_id = 'burst'"),
                     BURST);
    assert_int_equal(zt_bso_check_invariants(f->url), 0);
}

/* ---- Concurrency -------------------------------------------------------------------------- */

struct client {
    struct zt_bso *server;
    int index;
    /* results, read by the main thread after join */
    int predicts_ok, finals_ok, unexpected;
    char why[200];
};

static void *client_main(void *arg)
{
    struct client *c = arg;
    char job[32];
    unsigned seed = (unsigned)c->index * 7919u + 1;

    snprintf(job, sizeof job, "conc-%d", c->index % JOBS);
    for (int r = 0; r < ROUNDS; r++) {
        int bs, trial, stop = 0, conv = 0, what = rand_r(&seed) % 4;
        long code = zt_bso_predict(c->server, job, &bs, &trial);
        if (code != 200) {
            c->unexpected++;
            snprintf(c->why, sizeof c->why, "predict %s: %ld", job, code);
            continue;
        }
        c->predicts_ok++;
        if (what == 0) { /* the run died: end trial */
            char body[200];
            snprintf(body, sizeof body, "{\"job_id\": \"%s\", \"batch_size\": %d, "
                     "\"trial_number\": %d}", job, bs, trial);
            code = zt_bso_call(c->server, "PATCH", "/trials", body, NULL);
            if (code != 200) {
                c->unexpected++;
                snprintf(c->why, sizeof c->why, "end trial %s/%d: %ld", job, trial, code);
            }
            continue;
        }
        if (what == 1) /* an epoch that does not end the run */
            code = zt_bso_report(c->server, job, bs, trial, 1.0, 100.0, 0.1, 1, &stop, &conv);
        if (code == 200)
            code = zt_bso_report(c->server, job, bs, trial, 2.0 + bs / 64.0 + r * 0.01,
                                 300.0 + bs, 0.9, 2, &stop, &conv);
        /* 400: Zeus's quirk, a pruning-stage trial reporting after the switch to MAB */
        if (code == 200 && stop)
            c->finals_ok++;
        else if (code != 400) {
            c->unexpected++;
            snprintf(c->why, sizeof c->why, "report %s/%d: %ld stop %d", job, trial, code, stop);
        }
    }
    return NULL;
}

/* 16 clients on 4 jobs; with `second` not NULL, odd clients use that server (another
 * process on the same database). */
static void run_clients(struct fixture *f, struct zt_bso *second)
{
    struct client clients[CLIENTS];
    pthread_t threads[CLIENTS];
    int predicts[JOBS] = {0}, finals[JOBS] = {0}, quirks = 0;

    for (int j = 0; j < JOBS; j++) {
        char job[32];
        snprintf(job, sizeof job, "conc-%d", j);
        register_small(&f->server, job, 1);
    }
    for (int i = 0; i < CLIENTS; i++) {
        memset(&clients[i], 0, sizeof clients[i]);
        clients[i].server = second != NULL && i % 2 ? second : &f->server;
        clients[i].index = i;
        assert_int_equal(pthread_create(&threads[i], NULL, client_main, &clients[i]), 0);
    }
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(threads[i], NULL);
        if (clients[i].unexpected)
            fail_msg("client %d: %d unexpected answers, last: %s", i, clients[i].unexpected,
                     clients[i].why);
        predicts[i % JOBS] += clients[i].predicts_ok;
        finals[i % JOBS] += clients[i].finals_ok;
    }
    for (int j = 0; j < JOBS; j++) {
        char sql[200];
        /* each predict answered 200 made exactly one trial: no lost or doubled writes */
        snprintf(sql, sizeof sql, "SELECT count(*) FROM trial WHERE job_id = 'conc-%d'", j);
        assert_int_equal(zt_bso_query_int(f->url, sql), predicts[j]);
        snprintf(sql, sizeof sql, "SELECT count(*) FROM trial WHERE job_id = 'conc-%d' AND "
                 "status = 'Succeeded'", j);
        assert_int_equal(zt_bso_query_int(f->url, sql), finals[j]);
        quirks += predicts[j] - finals[j];
    }
    /* the jobs got through pruning into MAB */
    assert_int_equal(zt_bso_query_int(f->url, "SELECT count(*) FROM job WHERE job_id LIKE "
                                      "'conc-%' AND stage = 'MAB'"), JOBS);
    (void)quirks;
    assert_int_equal(zt_bso_check_invariants(f->url), 0);
}

static void test_sixteen_clients_on_four_jobs(void **state)
{
    run_clients(*state, NULL);
}

/* Two server processes on one SQLite file stay consistent: the database's lock, not a
 * process's, serializes a job's requests. */
static void test_two_servers_on_one_database(void **state)
{
    struct fixture *f = *state;
    struct zt_bso second;

    zt_bso_start(&second, f->url);
    run_clients(f, &second);
    zt_bso_stop(&second);
}

/* ---- SIGKILL during a storm --------------------------------------------------------------- */

#define STORM_MAX 4000

struct answered {
    int job, trial;
    double time;
};

struct storm {
    struct zt_bso *server;
    int index;
    struct answered done[STORM_MAX];
    int count;
};

static void *storm_main(void *arg)
{
    struct storm *st = arg;
    char job[32];

    snprintf(job, sizeof job, "storm-%d", st->index % JOBS);
    for (int r = 0; st->count < STORM_MAX; r++) {
        int bs, trial, stop, conv;
        double time = 1.0 + st->index + r * 1e-3;
        long code = zt_bso_predict(st->server, job, &bs, &trial);
        if (code == 0)
            break; /* the server is gone */
        if (code != 200)
            continue;
        code = zt_bso_report(st->server, job, bs, trial, time, 100.0, 0.9, 1, &stop, &conv);
        if (code == 0)
            break;
        if (code == 200 && stop) {
            st->done[st->count].job = st->index % JOBS;
            st->done[st->count].trial = trial;
            st->done[st->count].time = time;
            st->count++;
        }
    }
    return NULL;
}

static void test_sigkill_during_reports_loses_nothing_answered(void **state)
{
    struct fixture *f = *state;
    static struct storm storms[8];
    pthread_t threads[8];
    struct timespec pause = {0, 600 * 1000000L};
    int total = 0, missing = 0, bs, trial;

    for (int j = 0; j < JOBS; j++) {
        char job[32];
        snprintf(job, sizeof job, "storm-%d", j);
        register_small(&f->server, job, 2);
    }
    for (int i = 0; i < 8; i++) {
        storms[i].server = &f->server;
        storms[i].index = i;
        storms[i].count = 0;
        assert_int_equal(pthread_create(&threads[i], NULL, storm_main, &storms[i]), 0);
    }
    nanosleep(&pause, NULL);
    zt_bso_kill(&f->server);
    for (int i = 0; i < 8; i++)
        pthread_join(threads[i], NULL);

    zt_bso_start(&f->server, f->url);
    for (int i = 0; i < 8; i++) {
        for (int k = 0; k < storms[i].count; k++) {
            char sql[300];
            snprintf(sql, sizeof sql, "SELECT count(*) FROM trial WHERE job_id = 'storm-%d' AND "
                     "trial_number = %d AND status = 'Succeeded' AND abs(time - %.17g) < 1e-9",
                     storms[i].done[k].job, storms[i].done[k].trial, storms[i].done[k].time);
            if (zt_bso_query_int(f->url, sql) != 1)
                missing++;
        }
        total += storms[i].count;
    }
    printf("storm: %d reports answered 200 before SIGKILL\n", total);
    assert_true(total > 0);
    assert_int_equal(missing, 0);
    assert_int_equal(zt_bso_check_invariants(f->url), 0);
    for (int j = 0; j < JOBS; j++) {
        char job[32];
        snprintf(job, sizeof job, "storm-%d", j);
        assert_int_equal(zt_bso_predict(&f->server, job, &bs, &trial), 200);
    }
}

/* ---- A damaged database ------------------------------------------------------------------- */

static void test_corrupt_database(void **state)
{
    struct fixture *f = *state;
    char path[1200], url[1300];
    struct zt_cli c;
    cJSON *o = NULL;
    long code;

    /* at start: refused, with the reason */
    snprintf(path, sizeof path, "%s/garbage.db", f->dir);
    zt_write_file(path, "this is not a database, not even close; it is just some text that is "
                        "long enough to be looked at as a header by SQLite.............\n");
    snprintf(url, sizeof url, "sqlite:///%s", path);
    zt_cli_run(&c, "bso-server", "--listen", "127.0.0.1:0", "--database", url, NULL);
    assert_int_equal(c.status, 1);
    assert_non_null(strstr(c.err, "cannot use the database"));
    zt_cli_free(&c);

    /* under a running server: 500 with the reason, and it keeps answering */
    snprintf(path, sizeof path, "%s/bso.db", f->dir);
    register_small(&f->server, "doomed", 1);
    {
        FILE *fp = fopen(path, "r+");
        char junk[4096];
        assert_non_null(fp);
        memset(junk, 0x5a, sizeof junk);
        for (int i = 0; i < 64; i++)
            fwrite(junk, 1, sizeof junk, fp);
        fclose(fp);
    }
    code = zt_bso_call(&f->server, "GET", "/jobs/batch_size?job_id=doomed", NULL, &o);
    assert_true(code == 500);
    assert_true(strlen(message_of(o)) > 0);
    cJSON_Delete(o);
    code = zt_bso_call(&f->server, "POST", "/jobs", "{}", NULL);
    assert_int_equal(code, 422); /* validation needs no database */
    code = zt_bso_call(&f->server, "GET", "/jobs/batch_size?job_id=doomed", NULL, &o);
    assert_int_equal(code, 500);
    cJSON_Delete(o);
}

/* A database file the server may not write: refused at start with the reason. Tests run as
 * root here, whom permissions do not stop, so the server then runs as nobody (setpriv). */
static void test_read_only_database(void **state)
{
    struct fixture *f = *state;
    char path[1200], wrapper[1200], cli[1024], script[2400];
    struct zt_cli c;

    zt_bso_stop(&f->server); /* a clean stop checkpoints the WAL into the file */
    snprintf(path, sizeof path, "%s/bso.db", f->dir);
    assert_int_equal(chmod(f->dir, 0755), 0);
    assert_int_equal(chmod(path, 0444), 0);
    snprintf(cli, sizeof cli, "%s", zt_env_path("ZEUS_CLI"));
    if (geteuid() == 0) {
        if (access("/usr/bin/setpriv", X_OK) != 0)
            skip();
        snprintf(wrapper, sizeof wrapper, "%s/as-nobody.sh", f->dir);
        snprintf(script, sizeof script, "#!/bin/sh\nexec /usr/bin/setpriv --reuid=65534 "
                 "--regid=65534 --clear-groups %s \"$@\"\n", cli);
        zt_write_file(wrapper, script);
        assert_int_equal(chmod(wrapper, 0755), 0);
        setenv("ZEUS_CLI", wrapper, 1);
    }
    zt_cli_run(&c, "bso-server", "--listen", "127.0.0.1:0", "--database", f->url, NULL);
    setenv("ZEUS_CLI", cli, 1);
    assert_int_equal(c.status, 1);
    if (strstr(c.err, "read-only") == NULL && strstr(c.err, "readonly") == NULL)
        fail_msg("no reason given: %s", c.err);
    zt_cli_free(&c);
    chmod(path, 0644);
    zt_bso_start(&f->server, f->url); /* for the teardown */
}

/* ---- Fixtures ----------------------------------------------------------------------------- */

static int start_sqlite(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    curl_global_init(CURL_GLOBAL_DEFAULT);
    f->dir = zt_mkdtemp();
    snprintf(f->url, sizeof f->url, "sqlite:///%s/bso.db", f->dir);
    zt_bso_start(&f->server, f->url);
    *state = f;
    return 0;
}

static int stop_server(void **state)
{
    struct fixture *f = *state;

    zt_bso_stop(&f->server);
    zt_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static zt_pg pg;

/* A server on the shared PostgreSQL database, emptied first (tests reuse job names). */
static int start_pg(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    f->dir = zt_mkdtemp();
    snprintf(f->url, sizeof f->url, "%s", pg.url);
    zt_bso_start(&f->server, f->url);
    if (zt_bso_query_int(f->url, "WITH d AS (DELETE FROM job RETURNING 1) "
                                 "SELECT count(*) FROM d") < 0)
        return -1;
    *state = f;
    return 0;
}

static int run_pg_group(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bad_input, start_pg, stop_server),
        cmocka_unit_test_setup_teardown(test_sixteen_clients_on_four_jobs, start_pg,
                                        stop_server),
        cmocka_unit_test_setup_teardown(test_two_servers_on_one_database, start_pg, stop_server),
        cmocka_unit_test_setup_teardown(test_sigkill_during_reports_loses_nothing_answered,
                                        start_pg, stop_server),
    };
    char why[512] = "";
    int rc = zt_pg_start(&pg, why, sizeof why), failed;

    if (rc == ZT_PG_SKIP) {
        printf("SKIP bso_server_attack_postgresql: %s\n", why);
        return 0;
    }
    if (rc != ZT_PG_OK) {
        printf("FAIL bso_server_attack_postgresql: PostgreSQL did not start: %s\n", why);
        return 1;
    }
    failed = cmocka_run_group_tests_name("bso_server_attack_postgresql", tests, NULL, NULL);
    zt_pg_stop(&pg);
    return failed;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bad_input, start_sqlite, stop_server),
        cmocka_unit_test_setup_teardown(test_slow_clients_do_not_block_others, start_sqlite,
                                        stop_server),
        cmocka_unit_test_setup_teardown(test_burst_of_connections, start_sqlite, stop_server),
        cmocka_unit_test_setup_teardown(test_sixteen_clients_on_four_jobs, start_sqlite,
                                        stop_server),
        cmocka_unit_test_setup_teardown(test_two_servers_on_one_database, start_sqlite,
                                        stop_server),
        cmocka_unit_test_setup_teardown(test_sigkill_during_reports_loses_nothing_answered,
                                        start_sqlite, stop_server),
        cmocka_unit_test_setup_teardown(test_corrupt_database, start_sqlite, stop_server),
        cmocka_unit_test_setup_teardown(test_read_only_database, start_sqlite, stop_server),
    };
    int failed = cmocka_run_group_tests_name("bso_server_attack_sqlite", tests, NULL, NULL);

    return failed + run_pg_group();
}
