/*
 * bso_internal.h - What the files of the batch size optimizer's core share among themselves:
 * trial and arm lookups, trial creation, the error helper, Python's repr of numbers and
 * strings (Zeus's messages embed them), and the steps predict and report are built from.
 * Not for the server or the simulator: they use bso_core.h.
 */
#ifndef ZEUS_BSO_INTERNAL_H
#define ZEUS_BSO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "bso_core.h"

/* Zeus's exception classes, by the HTTP status its router answers with. */
#define BSO_VALUE_ERROR 400   /* ZeusBSOValueError */
#define BSO_BAD_OPERATION 400 /* ZeusBSOServiceBadOperationError */
#define BSO_NOT_FOUND 404     /* ZeusBSOServerNotFoundError */
#define BSO_RUNTIME_ERROR 500 /* ZeusBSOServerRuntimeError, and anything unexpected */

/* Fill *err (when not NULL) with `status` and a printf-style message. Returns -1. */
int bso__fail(bso_error *err, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The trial (job, batch_size, trial_number) as Zeus's get_trial finds it, or NULL. */
bso_trial *bso__find_trial(bso_job *job, int batch_size, int trial_number);
/* The arm of `batch_size`, or NULL. */
bso_arm *bso__find_arm(bso_job *job, int batch_size);

/* Append a new Dispatched trial numbered max + 1 (dirty), started at `now`, and copy it to
 * *out when out is not NULL. Returns 0, or -1 with *err when out of memory. */
int bso__create_trial(bso_job *job, int batch_size, bso_trial_type type, double now,
                      bso_trial *out, bso_error *err);

/* Python's repr(float) ("2.0", "1e+16", "inf", "nan"); `buf` needs 32 bytes. Returns buf. */
char *bso__py_float(double x, char *buf, size_t len);
/* Python's repr(str) for plain text: quoted with ' (or " when the text holds a ' and no "),
 * backslash, quote and control characters escaped. Truncated to fit. Returns buf. */
char *bso__py_str(const char *s, char *buf, size_t len);

/*
 * The pruning explorer (explorer.c). Either creates the next Exploration or Concurrent trial
 * (returns 1, the trial copied to *out), or writes the surviving batch sizes, ascending, to
 * good[] (room for spec.num_batch_sizes) and their count to *num_good (returns 0). Returns -1
 * with *err when a round leaves no converged batch size.
 */
int bso__explore(bso_job *job, double now, bso_trial *out, int *good, size_t *num_good,
                 bso_error *err);

/* The bandit (bandit.c): build the arms from the exploration trials of good[] and switch the
 * stage to MAB; and choose a batch size by Thompson sampling. Both return 0 or -1 with *err. */
int bso__bandit_build(bso_job *job, const int *good, size_t num_good, bso_error *err);
int bso__bandit_choose(bso_job *job, uint64_t entropy, int *batch_size, bso_error *err);

#endif /* ZEUS_BSO_INTERNAL_H */
