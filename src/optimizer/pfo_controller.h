/*
 * pfo_controller.h - Perseus's frequency controller: the thread that locks a GPU's SM clock to
 * each frequency the training thread queues, off the training thread's path.
 */
#ifndef ZEUS_OPTIMIZER_PFO_CONTROLLER_H
#define ZEUS_OPTIMIZER_PFO_CONTROLLER_H

#include "zeus/device.h"

typedef struct zeus__pfo_ctl zeus__pfo_ctl;

/*
 * Set up GPU `gpu` as Zeus's controller does at start (power limit back to its default; memory
 * clock locked at max_mem_mhz, NOT_SUPPORTED ignored; SM clock locked at max_sm_mhz), on the
 * calling thread so that a failure is the caller's status, then start the thread.
 */
zeus_status zeus__pfo_ctl_start(zeus_devices *devs, unsigned gpu, unsigned max_mem_mhz,
                                unsigned max_sm_mhz, zeus__pfo_ctl **out);

/* Queue `mhz` (not 0) for the thread: a lock, an append and a signal. */
zeus_status zeus__pfo_ctl_set(zeus__pfo_ctl *c, unsigned mhz);

/* ZEUS_OK, or (once) the first clock change the thread failed to make, with its detail. */
zeus_status zeus__pfo_ctl_take_error(zeus__pfo_ctl *c);

/* Apply what is queued, reset the locked clocks, join the thread and free. NULL: no-op. */
void zeus__pfo_ctl_stop(zeus__pfo_ctl *c);

#endif /* ZEUS_OPTIMIZER_PFO_CONTROLLER_H */
