/*
 * transact.c - One database connection per worker thread, and the transaction around every
 * request: begin, the route's work, commit; rollback on any error; the whole transaction again
 * when the database says it is busy (SQLite's write lock held past its busy timeout, a
 * PostgreSQL lock wait or serialization failure), a bounded number of times.
 *
 * Why per thread: a bso_store is one connection used by one thread at a time (store.h), and
 * libmicrohttpd runs each request start to finish on one of its pool's threads. The
 * connection opens on the thread's first request and closes when the thread ends. A
 * connection that failed with anything but BUSY is closed and opened again on the next
 * request, so a PostgreSQL server that restarted, or a database file that was repaired, is
 * picked up without restarting `zeus bso-server`; meanwhile every request answers 500 with
 * the reason.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bso_server.h"

#define ATTEMPTS 8

static char *database_url;
static pthread_key_t store_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void close_store(void *s)
{
    bso_store_close(s);
}

static void make_key(void)
{
    pthread_key_create(&store_key, close_store);
}

void bso_transact_configure(const char *url)
{
    pthread_once(&key_once, make_key);
    free(database_url);
    database_url = strdup(url);
}

void bso_transact_release(void)
{
    bso_store *s;

    pthread_once(&key_once, make_key);
    s = pthread_getspecific(store_key);
    pthread_setspecific(store_key, NULL);
    bso_store_close(s);
}

/* This thread's connection, opened now if needed; NULL with the reason in err. */
static bso_store *thread_store(char *err, size_t n)
{
    bso_store *s;

    pthread_once(&key_once, make_key);
    s = pthread_getspecific(store_key);
    if (s != NULL)
        return s;
    if (database_url == NULL) {
        snprintf(err, n, "no database configured");
        return NULL;
    }
    s = bso_store_open(database_url, err, n);
    if (s != NULL)
        pthread_setspecific(store_key, s);
    return s;
}

/* Wait a little before another attempt: 1, 2, 4 ... ms, with jitter so that two workers
 * that collided do not collide again. */
static void back_off(int attempt)
{
    long ms = (1L << (attempt < 7 ? attempt : 7)) + rand() % 3;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

void bso_transact(bso_work_fn work, void *ctx, bso_reply *out)
{
    char err[512] = "";
    bso_store *s = thread_store(err, sizeof err);
    bso_store_status st = BSO_STORE_BUSY;

    if (s == NULL) {
        bso_reply_message(out, 500, "Cannot open the database: %s", err);
        return;
    }
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
        if (attempt > 0)
            back_off(attempt);
        bso_reply_clear(out);
        st = bso_store_begin(s);
        if (st == BSO_STORE_OK)
            st = work(s, ctx, out);
        if (st == BSO_STORE_OK && out->status >= 300) {
            bso_store_rollback(s); /* a domain error: nothing of it is kept */
            return;
        }
        if (st == BSO_STORE_OK)
            st = bso_store_commit(s);
        if (st == BSO_STORE_OK)
            return;
        bso_store_rollback(s);
        if (st != BSO_STORE_BUSY)
            break;
    }
    if (st == BSO_STORE_BUSY) {
        bso_reply_message(out, 503, "The database stayed busy through %d attempts; try again",
                          ATTEMPTS);
        return;
    }
    bso_reply_message(out, 500, "Database error: %s", bso_store_error(s));
    /* start the next request on a fresh connection (see the head comment) */
    bso_transact_release();
}
