/*
 * periodic.h - A background thread that calls a function every period until stopped: the
 * per-window threads of EnergyCumulativeCounter and PowerGauge (Zeus spawns a process for
 * each window; a thread does the same job without pickling a monitor).
 */
#ifndef ZEUS_METRICS_PERIODIC_H
#define ZEUS_METRICS_PERIODIC_H

#include "zeus/status.h"

struct zeus__periodic;

/*
 * Start a thread that calls tick(user, 0) every `period_s` seconds (measured from the
 * previous tick's start, so the rate does not drift) and tick(user, 1) once when stopped.
 * Returns ZEUS_ERR_OPERATING_SYSTEM when the thread cannot start (tick is never called).
 */
zeus_status zeus__periodic_start(double period_s, void (*tick)(void *user, int last), void *user,
                                 struct zeus__periodic **out);

/* Wake the thread, let it make its last tick, join it, free. NULL is a no-op. */
void zeus__periodic_stop(struct zeus__periodic *p);

#endif /* ZEUS_METRICS_PERIODIC_H */
