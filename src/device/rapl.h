/*
 * rapl.h - What the rest of the library and the tests may ask of the RAPL backend beyond
 * the ops table: one counter's widening state, the poller's progress and period, and the
 * wrap modulus rule.
 *
 * Every function here takes a backend opened by zeus__rapl_backend.open(); another
 * backend gets ZEUS_ERR_INVALID_ARGUMENT (or 0), never a crash. Safe from any thread
 * while the backend is open.
 */
#ifndef ZEUS_DEVICE_RAPL_H
#define ZEUS_DEVICE_RAPL_H

#include <stdint.h>

#include "device/backend.h"
#include "zeus/status.h"

/* One widened counter, as of the read zeus__rapl_read_counter() just made. */
struct zeus__rapl_counter_stats {
    uint64_t energy_uj;  /* widened energy since the backend opened, microjoules */
    uint64_t raw_uj;     /* the value energy_uj (the sysfs file) held at that read */
    uint64_t max_uj;     /* max_energy_range_uj */
    uint64_t modulus_uj; /* what one wrap adds: zeus__rapl_wrap_modulus_uj(max_uj) */
    uint32_t wraps;      /* decreases taken as one wraparound */
    uint32_t resets;     /* decreases too large to be a wrap: not added, rebased */
    uint32_t jumps;      /* increases too large to be real: not added, rebased */
};

/*
 * Read CPU `cpu`'s package counter (dram == 0) or DRAM counter (dram != 0) now, fold the
 * value into its accumulator, and report the counter's state.
 * out: filled on ZEUS_OK. Returns ZEUS_ERR_NOT_FOUND for a bad index or a package without
 * DRAM, and the read's status (ZEUS_ERR_NO_PERMISSION, ZEUS_ERR_IO, ...) otherwise.
 */
zeus_status zeus__rapl_read_counter(struct zeus_backend *b, unsigned cpu, int dram,
                                    struct zeus__rapl_counter_stats *out);

/* Number of rounds the background poller has completed since open. */
uint64_t zeus__rapl_poll_count(struct zeus_backend *b);

/*
 * Wait until the poller has completed `count` rounds. A round that completes after a
 * counter file changed may have started before it; wait for the current count + 2 to be
 * sure a round has read the new value. Returns 0, or -1 after `timeout_ms` milliseconds.
 */
int zeus__rapl_wait_polls(struct zeus_backend *b, uint64_t count, int timeout_ms);

/* The poller's period in nanoseconds (see ZEUS_RAPL_POLL_MS in rapl.c). */
int64_t zeus__rapl_poll_period_ns(struct zeus_backend *b);

/*
 * What one wraparound adds for a counter whose max_energy_range_uj is `max_uj`: max_uj
 * plus one step of the hardware counter, estimated as max_uj / (2^32 - 1) rounded, at
 * least 1 (rapl.c, DESIGN NOTE 2, says why).
 */
uint64_t zeus__rapl_wrap_modulus_uj(uint64_t max_uj);

#endif /* ZEUS_DEVICE_RAPL_H */
