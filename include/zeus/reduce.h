/*
 * zeus/reduce.h - Combining numbers across the processes of a distributed job.
 *
 * C has no torch.distributed. Where Zeus calls all_reduce (the power limit optimizer,
 * thermally stable profiling), Zeus-C calls a zeus_reduce_fn the caller supplies; without
 * one, each process uses its own values. The Python binding passes torch.distributed's
 * all-reduce when a process group is up.
 */
#ifndef ZEUS_REDUCE_H
#define ZEUS_REDUCE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How values are combined, element by element, across every process. */
typedef enum zeus_reduce_op {
    ZEUS_REDUCE_SUM = 1,
    ZEUS_REDUCE_MAX = 2,
} zeus_reduce_op;

/*
 * Combine values[0..n) across every process with `op`, in place (an all-reduce: every
 * process calls it at the same point and gets the same result). Return 0, or non-zero when
 * it failed: the caller then stops with ZEUS_ERR_CALLBACK_FAILED and records nothing.
 */
typedef int (*zeus_reduce_fn)(double *values, size_t n, zeus_reduce_op op, void *user);

#ifdef __cplusplus
}
#endif

#endif /* ZEUS_REDUCE_H */
