/*
 * push.h - The pusher: one background thread per metric object that renders the object's
 * metrics and sends them to a Pushgateway with libcurl, so that no caller ever waits for the
 * network.
 *
 * Kicks are coalesced: a push always sends the object's whole current state, so ten kicks
 * while a push is in flight make one more push, not ten.
 */
#ifndef ZEUS_METRICS_PUSH_H
#define ZEUS_METRICS_PUSH_H

#include "metrics/prom_text.h"
#include "zeus/metrics.h"

struct zeus__pusher;

/*
 * Render the object's metrics into `out`, on the pusher thread. It may block for a bounded
 * time (the histogram waits there for final window values). Returns 0 to push `out`, 1 when
 * there is nothing to push yet.
 */
typedef int (*zeus__push_render_fn)(void *user, zeus__prom_buf *out);

/*
 * Check and copy `opts` and start the thread. Returns ZEUS_ERR_INVALID_ARGUMENT for a NULL
 * opts, a missing URL or job, a bad size, a negative timeout or an unknown method.
 */
zeus_status zeus__pusher_create(const zeus_push_options *opts, zeus__push_render_fn render,
                                void *user, struct zeus__pusher **out);

/* Ask for a push of the current state. Costs a lock and a signal; never blocks on I/O. */
void zeus__pusher_kick(struct zeus__pusher *p);

/* Wait until every kick made before this call is pushed or has failed, at most timeout_s.
 * Returns ZEUS_ERR_TIMEOUT when some is still pending. */
zeus_status zeus__pusher_flush(struct zeus__pusher *p, double timeout_s);

void zeus__pusher_stats(struct zeus__pusher *p, zeus_push_stats *out);

/* Make the last push if a kick is pending (bounded by the push timeout), join, free. */
void zeus__pusher_destroy(struct zeus__pusher *p);

/*
 * Send `body` to the gateway once, synchronously: the pusher thread's work, exposed for
 * tests. `url` is the full /metrics/job/... URL. msg gets the reason on failure.
 */
zeus_status zeus__push_once(const char *url, int method, double timeout_s, const char *body,
                            size_t len, char *msg, size_t msg_len);

/* The group URL for `base` and `job`: base + "/metrics/job/" + job, URL-escaped, or
 * "/metrics/job@base64/" + base64url(job) when job holds a "/". malloc'd; NULL when out of
 * memory. */
char *zeus__push_group_url(const char *base, const char *job);

#endif /* ZEUS_METRICS_PUSH_H */
