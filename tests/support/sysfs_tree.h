/*
 * sysfs_tree.h - Fake Linux powercap (RAPL) trees under a temporary folder, to stand for
 * /sys through ZEUS_SYSFS_ROOT, and a way to read them as an unprivileged process would.
 *
 * The tree has the kernel's shape: zone folders live under devices/virtual/powercap/
 * intel-rapl/, sub-zones inside their package zone, and class/powercap/ holds relative
 * symbolic links to every zone and sub-zone, so code that trusts d_type or does not follow
 * links fails here as it would on a real machine:
 *
 *   <root>/class/powercap/intel-rapl     -> ../../devices/virtual/powercap/intel-rapl
 *   <root>/class/powercap/intel-rapl:0   -> ../../devices/virtual/powercap/intel-rapl/intel-rapl:0
 *   <root>/class/powercap/intel-rapl:0:1 -> .../intel-rapl/intel-rapl:0/intel-rapl:0:1
 *
 * A zone is named by its folder name: "intel-rapl:0" is a package zone, "intel-rapl:0:1"
 * is a sub-zone of "intel-rapl:0" (add the package first), and any other name
 * ("intel-rapl:abc", "intel-rapl-mmio:0") is made as a top-level zone with a link.
 *
 * Files are replaced with rename(), so a reader (the library's poller) sees the old or the
 * new content, never a half-written file, as sysfs guarantees.
 *
 * Functions that build fail the current cmocka test on error, so call them from the
 * test's thread only.
 */
#ifndef ZEUS_TEST_SYSFS_TREE_H
#define ZEUS_TEST_SYSFS_TREE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct zt_sysfs zt_sysfs;

/* Make an empty root folder (no class/powercap yet). Destroy with zt_sysfs_destroy(). */
zt_sysfs *zt_sysfs_create(void);

/* Remove the whole tree and free the handle. NULL is a no-op. */
void zt_sysfs_destroy(zt_sysfs *t);

/* The root folder, to put in ZEUS_SYSFS_ROOT. Valid until zt_sysfs_destroy(). */
const char *zt_sysfs_root(const zt_sysfs *t);

/* Set ZEUS_SYSFS_ROOT to this tree's root. */
void zt_sysfs_use(const zt_sysfs *t);

/* Make an empty class/powercap folder (a RAPL-less machine with the powercap class). */
void zt_sysfs_add_powercap(zt_sysfs *t);

/* Add zone `zone` with its name, energy_uj and max_energy_range_uj files. */
void zt_sysfs_add_zone(zt_sysfs *t, const char *zone, const char *name, uint64_t energy_uj,
                       uint64_t max_uj);

/* Add package zone intel-rapl:<n>, named "package-<n>". */
void zt_sysfs_add_package(zt_sysfs *t, unsigned n, uint64_t energy_uj, uint64_t max_uj);

/* Add sub-zone intel-rapl:<n>:<sub> named "dram" under package zone intel-rapl:<n>. */
void zt_sysfs_add_dram(zt_sysfs *t, unsigned n, unsigned sub, uint64_t energy_uj,
                       uint64_t max_uj);

/* Replace zone `zone`'s energy_uj with `energy_uj`. */
void zt_sysfs_set_energy(zt_sysfs *t, const char *zone, uint64_t energy_uj);

/* Replace (or create) file `file` of zone `zone` with `text`, written as is. */
void zt_sysfs_write(zt_sysfs *t, const char *zone, const char *file, const char *text);

/* Remove file `file` of zone `zone`. */
void zt_sysfs_remove(zt_sysfs *t, const char *zone, const char *file);

/* Replace file `file` of zone `zone` with an empty folder (reading it gives EISDIR). */
void zt_sysfs_replace_with_dir(zt_sysfs *t, const char *zone, const char *file);

/* chmod file `file` of zone `zone` (chmod 000 does not stop root: see zt_run_unprivileged). */
void zt_sysfs_chmod(zt_sysfs *t, const char *zone, const char *file, mode_t mode);

/* The real (not linked) path of `file` in zone `zone` into buf; "" for file gives the folder. */
void zt_sysfs_path(const zt_sysfs *t, const char *zone, const char *file, char *buf, size_t len);

/*
 * Run fn(arg) on a new thread that reads files as an unprivileged user would.
 *
 * Root (as in CI) reads a chmod 000 file anyway, through CAP_DAC_OVERRIDE and
 * CAP_DAC_READ_SEARCH. Linux keeps capabilities per thread, so the new thread drops those
 * two from its effective set with the raw capset(2) call (glibc does not spread it to other
 * threads), and the kernel then applies the file's mode bits to it exactly as to a non-root
 * user: open() fails with EACCES. Threads it starts inherit the reduced set; the caller's
 * threads keep theirs. Before calling fn, it checks that `unreadable` really cannot be
 * opened; where it can (capset refused, a file system that ignores modes) fn is not called.
 *
 * fn runs on another thread: it must not use cmocka assertions (they longjmp into the
 * test's thread); it records results in *arg for the test to check after the call.
 * Returns 0 when fn ran; -1 when it did not, with the reason in why (for skip()).
 */
int zt_run_unprivileged(const char *unreadable, void (*fn)(void *arg), void *arg, char *why,
                        size_t why_len);

/* Number of threads in this process (entries of /proc/self/task), -1 when unknown. */
int zt_thread_count(void);

/*
 * Any file at `rel` (a path relative to the root, as "bus/i2c/drivers/ina3221/1-0040/
 * hwmon/hwmon3/in1_label"): replace or create it with `text`, making its folders, by
 * rename() as above. For trees other than powercap (Jetson's INA3221 rails).
 */
void zt_sysfs_put(zt_sysfs *t, const char *rel, const char *text);

/* Remove the file or empty folder at `rel`; fails the test unless it existed. */
void zt_sysfs_unlink(zt_sysfs *t, const char *rel);

#endif /* ZEUS_TEST_SYSFS_TREE_H */
