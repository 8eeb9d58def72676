/*
 * rapl.c - CPU package and DRAM energy from the Linux powercap (RAPL) sysfs tree.
 *
 * Reads energy_uj under <sysfs root>/class/powercap/intel-rapl:N, widens each counter (it
 * wraps past max_energy_range_uj) into a 64-bit accumulator, and fills the backend table in
 * backend.h. A background thread reads every counter often enough that no wrap is missed
 * between two reads. It only reads; power limits are not set here.
 *
 * The tree, as the kernel lays it out (drivers/powercap/intel_rapl_common.c) and as AMD
 * Zen parts show it too (same control type and files, zones named "package-0"; usually no
 * DRAM zone):
 *
 *   <root>/class/powercap/intel-rapl:0           -> ../../devices/virtual/powercap/...
 *   <root>/class/powercap/intel-rapl:0/name                  "package-0"
 *   <root>/class/powercap/intel-rapl:0/energy_uj             root-only since Linux 5.10
 *   <root>/class/powercap/intel-rapl:0/max_energy_range_uj
 *   <root>/class/powercap/intel-rapl:0/intel-rapl:0:1/name   "dram" (or "core", "uncore")
 *
 * <root> is $ZEUS_SYSFS_ROOT when set and not empty, else /zeus_sys when that folder exists
 * (Zeus's container bind mount of /sys/class/powercap and /sys/devices/virtual/powercap),
 * else /sys. CPU i is the i-th zone "intel-rapl:N" (N all digits) in numeric order of N, as
 * Zeus numbers them; a platform "psys" zone therefore counts as a CPU too, as in Zeus.
 *
 * Thread safety: the methods may run on several threads at once, and alongside the
 * poller; each counter serializes its own reads (DESIGN NOTES 3 and 8).
 *
 * Environment:
 *
 *   What:        ZEUS_RAPL_POLL_MS
 *   Since:       0.1
 *   Description: Period of the background counter reads, in whole milliseconds
 *                (1-3600000), replacing the computed one (DESIGN NOTE 5). For tests and
 *                experiments: a period longer than a quarter of the wrap time can miss
 *                wraps. A value that is not such a number is ignored, and the backend's
 *                detail says so.
 *
 * DESIGN NOTES
 *
 * A counter moves between these states; each arrow names the function that takes it:
 *
 *                 counter_open()
 *   (unopened) -------------------> TRACKING ---- counter_sample(): read failed ------+
 *                                    |   ^         (status returned, state unchanged) |
 *                                    |   +--------------------------------------------+
 *                                    v counter_advance(), under counter->lock:
 *          raw >= last, rise plausible       add raw - last
 *          raw <  last, wrap plausible       add modulus - last + raw, wraps++
 *          raw >= last, rise implausible     add 0, jumps++   (rebase on raw)
 *          raw <  last, wrap implausible     add 0, resets++  (rebase on raw)
 *                                    |
 *                                    v counter_close(), after the poller is joined
 *                                 (closed)
 *
 * Invariants:
 *
 * 1. acc_uj never decreases, and the reported energy is acc_uj / 1e6 joules since open.
 *    Nothing is ever clamped to zero silently: every value that is not added is counted
 *    in jumps or resets, and every file that cannot be read or parsed is an error.
 *
 * 2. Wrap modulus. The kernel fills both files through rapl_unit_xlate(): energy_uj is the
 *    32-bit hardware count (ENERGY_STATUS_MASK) times the energy unit, and
 *    max_energy_range_uj is 0xFFFFFFFF times that unit. So energy_uj runs from 0 to
 *    max_energy_range_uj inclusive, and the step from the top value back to 0 is one unit
 *    (61.04 uJ for Intel's usual 2^-14 J, 15.26 uJ for 2^-16 J), not 1 uJ. One wrap adds
 *    modulus = max + unit, with unit estimated as max / (2^32 - 1) rounded, at least 1
 *    (so a fake tree with a small max wraps at max + 1). Zeus adds max per wrap, one unit
 *    short; either error is below 1e-9 of the energy one wrap spans.
 *
 * 3. The file read that yields a value and the update it feeds happen under the same
 *    counter->lock, so updates apply in the order the values were read. Reading outside
 *    the lock would let a stale value land after a newer one and look like a wrap.
 *
 * 4. last_begin_ns is the monotonic time taken just before the read that produced
 *    last_uj. For a new read that ended at end_ns, end_ns - last_begin_ns bounds the true
 *    time between the two samples from above, whatever the scheduler did in between.
 *
 * 5. Plausibility. Zeus assumes no package draws more than 1000 W (RAPL_COUNTER_MAX_INCREASE
 *    in zeus/device/cpu/rapl.py). A change is plausible when it is at most
 *        2 x 1000 W x (end_ns - last_begin_ns) + 10 J,
 *    where 1000 W is exactly 1 uJ per ns, the factor 2 is headroom on Zeus's bound, and the
 *    10 J slack (1000 W for 10 ms) covers the counter's ~1 ms update step and a read that
 *    returns a value sampled before last_begin_ns. A plausible decrease is one wrap; an
 *    implausible rise is a jump (a corrupt read, a counter the firmware rewrote); an
 *    implausible decrease is a reset (the counter restarted, e.g. after a CPU went offline
 *    and back). Neither adds energy: guessing would be worse than losing one interval.
 *    Alternative turned down: Zeus counts every decrease as a wrap, so a reset adds a whole
 *    range (up to 262 kJ) that was never used.
 *
 * 6. Poll period. Reading every counter at least once per period, with
 *        period = min(1 s, modulus_ns / 4), at least 1 ms,
 *    where modulus_ns is the time the smallest modulus takes at 1000 W (1 uJ per ns), gives
 *    at least four reads per wrap at any plausible power, so no two wraps fall between
 *    reads. Real ranges are 65 kJ to 262 kJ (65 s to 262 s at 1000 W), so real trees poll
 *    once a second. Only fake trees with tiny ranges reach the 1 ms floor, which then no
 *    longer guarantees the rule at 1000 W; their tests write values far slower than that.
 *    The period runs from the end of one round to the start of the next (fixed delay, not
 *    fixed rate): a round costs microseconds, and a late round must not be followed by a
 *    burst of catch-up rounds.
 *
 * 7. The poller starts only after every counter is open, sleeps on poll_lock/wake with an
 *    absolute CLOCK_MONOTONIC deadline (a wall-clock step neither wakes nor stalls it),
 *    and is joined by rapl_close() before any counter is freed. close() sets `stopping`
 *    and signals `wake` under poll_lock, so the join returns within one round.
 *
 * 8. Lock order: poll_lock and a counter lock are never held together. The poller drops
 *    poll_lock before a round, and a caller's read takes only the counter's lock.
 *
 * Concept: keep each energy_uj file open and pread() it, which costs less than a path
 * lookup. Reality: open/read/close on every read, as Zeus does. A read takes a few
 * microseconds either way, a file whose permission changes is seen at once, and fake trees
 * replace files with rename(), which an open descriptor would not notice.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "device/backend.h"
#include "device/rapl.h"
#include "util/clock.h"
#include "util/error.h"

/* ---- Constants ---------------------------------------------------------------------------- */

#define ZONE_PREFIX "intel-rapl:"
#define PATH_LEN 512
#define READ_LEN 128 /* longest file content accepted, newline included */

/* Values above this are refused as garbage, so sums of two never overflow 64 bits. */
#define VALUE_LIMIT_UJ (UINT64_C(1) << 62)

/* DESIGN NOTE 5: 1000 W is 1 uJ per ns; the bound is twice that plus 10 J. */
#define PLAUSIBLE_FACTOR 2
#define PLAUSIBLE_SLACK_UJ UINT64_C(10000000)

/* DESIGN NOTE 6. */
#define POLL_MAX_NS INT64_C(1000000000)
#define POLL_MIN_NS INT64_C(1000000)
#define POLL_ENV_MAX_MS 3600000L

#define PERMISSION_FIX                                                                       \
    "RAPL counters are root-only since Linux 5.10: run zeusd, or grant read access, e.g. " \
    "chmod a+r"

/* ---- State -------------------------------------------------------------------------------- */

struct rapl_counter {
    pthread_mutex_t lock;
    int lock_ready;
    char path[PATH_LEN]; /* the energy_uj file */
    uint64_t max_uj;
    uint64_t modulus_uj;
    /* Guarded by lock. */
    uint64_t last_uj;
    int64_t last_begin_ns;
    uint64_t acc_uj;
    uint32_t wraps, resets, jumps;
};

struct rapl_zone {
    char name[64];
    char path[PATH_LEN]; /* the zone's folder */
    struct rapl_counter pkg;
    struct rapl_counter dram;
    int has_dram;
};

struct rapl_backend {
    struct zeus_backend base; /* first: the device layer sees only this */
    unsigned zone_count;
    struct rapl_zone *zones;
    char notes[512]; /* sub-zones skipped and ignored settings, for the detail */
    int64_t period_ns;

    pthread_mutex_t poll_lock;
    pthread_cond_t wake;   /* close() -> poller */
    pthread_cond_t polled; /* poller -> zeus__rapl_wait_polls() */
    int sync_ready;
    pthread_t thread;
    int thread_running;
    int stopping;   /* guarded by poll_lock */
    uint64_t polls; /* guarded by poll_lock */
};

/* ---- Reading files ------------------------------------------------------------------------ */

/* The sysfs root: DESIGN.md's override, then Zeus's container path, then /sys. */
static const char *sysfs_root(void)
{
    const char *env = getenv("ZEUS_SYSFS_ROOT");
    struct stat st;

    if (env != NULL && env[0] != '\0')
        return env;
    if (stat("/zeus_sys", &st) == 0 && S_ISDIR(st.st_mode))
        return "/zeus_sys";
    return "/sys";
}

static zeus_status fail_read(const char *path, int err)
{
    if (err == EACCES || err == EPERM)
        return zeus__fail_errno(ZEUS_ERR_NO_PERMISSION, err, "cannot read %s (" PERMISSION_FIX
                                ")", path);
    return zeus__fail_errno(err == ENOENT || err == ENOTDIR ? ZEUS_ERR_NOT_FOUND : ZEUS_ERR_IO,
                            err, "cannot read %s", path);
}

/* Quote at most 40 bytes of untrusted content, with unprintable bytes shown as '?'. */
static void quote_content(const char *text, char *out, size_t len)
{
    size_t n = 0;

    for (; *text != '\0' && n < 40 && n + 4 < len; text++)
        out[n++] = isprint((unsigned char)*text) ? *text : '?';
    out[n] = '\0';
    if (*text != '\0' && n + 4 < len)
        strcpy(out + n, "...");
}

static zeus_status bad_content(const char *path, const char *text, const char *why)
{
    char shown[48];

    quote_content(text, shown, sizeof shown);
    return zeus__fail(ZEUS_ERR_IO, "bad content in %s: \"%s\" (%s)", path, shown, why);
}

/*
 * Read a whole small file into buf, without its trailing newline. One read() returns a
 * whole sysfs attribute; the loop is for regular files in fake trees.
 */
static zeus_status read_text(const char *path, char *buf, size_t len)
{
    size_t used = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return fail_read(path, errno);
    for (;;) {
        ssize_t n = read(fd, buf + used, len - 1 - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int err = errno;
            close(fd);
            return fail_read(path, err);
        }
        used += (size_t)n;
        if (n == 0 || used == len - 1)
            break;
    }
    close(fd);
    buf[used] = '\0';
    if (used == len - 1)
        return bad_content(path, buf, "longer than any powercap value");
    if (used > 0 && buf[used - 1] == '\n')
        buf[--used] = '\0';
    return ZEUS_OK;
}

/* Parse a whole number of microjoules: digits only, no sign, no spaces, no empty value. */
static zeus_status parse_uj(const char *path, const char *text, uint64_t *out)
{
    uint64_t v = 0;

    if (text[0] == '\0')
        return bad_content(path, text, "empty, expected a whole number of microjoules");
    for (const char *p = text; *p != '\0'; p++) {
        unsigned digit = (unsigned)(*p - '0');
        if (*p < '0' || *p > '9')
            return bad_content(path, text, "not a whole number of microjoules");
        if (v > (VALUE_LIMIT_UJ - digit) / 10)
            return bad_content(path, text, "implausibly large");
        v = v * 10 + digit;
    }
    *out = v;
    return ZEUS_OK;
}

static zeus_status read_uj(const char *path, uint64_t *out)
{
    char buf[READ_LEN];
    zeus_status s = read_text(path, buf, sizeof buf);

    return s != ZEUS_OK ? s : parse_uj(path, buf, out);
}

/* Read energy_uj and check it against the counter's range (DESIGN NOTE 1: no silent 0). */
static zeus_status read_energy(const struct rapl_counter *c, uint64_t *raw_uj)
{
    char buf[READ_LEN];
    zeus_status s = read_text(c->path, buf, sizeof buf);

    if (s == ZEUS_OK)
        s = parse_uj(c->path, buf, raw_uj);
    if (s == ZEUS_OK && *raw_uj > c->max_uj)
        return zeus__fail(ZEUS_ERR_IO, "bad content in %s: \"%s\" (above max_energy_range_uj "
                          "%llu)", c->path, buf, (unsigned long long)c->max_uj);
    return s;
}

/* Copy `src` into `dst`, cut to fit: names and paths shown to people, not used to open. */
static void copy_cut(char *dst, size_t len, const char *src)
{
    size_t n = strnlen(src, len - 1);

    memcpy(dst, src, n);
    dst[n] = '\0';
}

static zeus_status join_path(char *out, const char *dir, const char *name)
{
    int n = snprintf(out, PATH_LEN, "%s/%s", dir, name);

    if (n < 0 || n >= PATH_LEN)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                          "path %s/%s is longer than %d bytes (check ZEUS_SYSFS_ROOT)", dir,
                          name, PATH_LEN - 1);
    return ZEUS_OK;
}

/* ---- Counter widening --------------------------------------------------------------------- */

uint64_t zeus__rapl_wrap_modulus_uj(uint64_t max_uj)
{
    const uint64_t steps = UINT64_C(0xFFFFFFFF); /* ENERGY_STATUS_MASK: DESIGN NOTE 2 */
    uint64_t unit_uj = (max_uj + steps / 2) / steps;

    return max_uj + (unit_uj > 0 ? unit_uj : 1);
}

/* DESIGN NOTE 5: the largest change a counter can make in `elapsed_ns`. */
static uint64_t plausible_uj(int64_t elapsed_ns)
{
    const int64_t cap_ns = INT64_C(1) << 60; /* keeps the product below 2^62 */

    if (elapsed_ns < 0)
        elapsed_ns = 0;
    if (elapsed_ns > cap_ns)
        elapsed_ns = cap_ns;
    return PLAUSIBLE_FACTOR * (uint64_t)elapsed_ns + PLAUSIBLE_SLACK_UJ;
}

/* Fold a new raw value into the accumulator (the arrows of the diagram). Holds c->lock. */
static void counter_advance(struct rapl_counter *c, uint64_t raw_uj, int64_t begin_ns,
                            int64_t end_ns)
{
    uint64_t bound = plausible_uj(end_ns - c->last_begin_ns);
    uint64_t delta;

    if (raw_uj >= c->last_uj) {
        delta = raw_uj - c->last_uj;
        if (delta > bound) {
            c->jumps++;
            delta = 0;
        }
    } else {
        delta = c->modulus_uj - c->last_uj + raw_uj;
        if (delta > bound) {
            c->resets++;
            delta = 0;
        } else {
            c->wraps++;
        }
    }
    c->acc_uj += delta;
    c->last_uj = raw_uj;
    c->last_begin_ns = begin_ns;
}

static void counter_stats(const struct rapl_counter *c, struct zeus__rapl_counter_stats *out)
{
    out->energy_uj = c->acc_uj;
    out->raw_uj = c->last_uj;
    out->max_uj = c->max_uj;
    out->modulus_uj = c->modulus_uj;
    out->wraps = c->wraps;
    out->resets = c->resets;
    out->jumps = c->jumps;
}

/* Read the counter now and fold the value in (DESIGN NOTE 3). out may be NULL. */
static zeus_status counter_sample(struct rapl_counter *c, struct zeus__rapl_counter_stats *out)
{
    uint64_t raw_uj;
    int64_t begin_ns;
    zeus_status s;

    pthread_mutex_lock(&c->lock);
    begin_ns = zeus__now_ns();
    s = read_energy(c, &raw_uj);
    if (s == ZEUS_OK)
        counter_advance(c, raw_uj, begin_ns, zeus__now_ns());
    if (s == ZEUS_OK && out != NULL)
        counter_stats(c, out);
    pthread_mutex_unlock(&c->lock);
    return s;
}

/* Open the counter in zone folder `dir`: its range, then its first value. */
static zeus_status counter_open(struct rapl_counter *c, const char *dir)
{
    char max_path[PATH_LEN];
    zeus_status s;

    if ((s = join_path(max_path, dir, "max_energy_range_uj")) != ZEUS_OK ||
        (s = join_path(c->path, dir, "energy_uj")) != ZEUS_OK ||
        (s = read_uj(max_path, &c->max_uj)) != ZEUS_OK)
        return s;
    if (c->max_uj == 0)
        return bad_content(max_path, "0", "a counter range must be positive");
    c->modulus_uj = zeus__rapl_wrap_modulus_uj(c->max_uj);
    c->last_begin_ns = zeus__now_ns();
    if ((s = read_energy(c, &c->last_uj)) != ZEUS_OK)
        return s;
    if (pthread_mutex_init(&c->lock, NULL) != 0)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "cannot create the lock for %s", c->path);
    c->lock_ready = 1;
    return ZEUS_OK;
}

static void counter_close(struct rapl_counter *c)
{
    if (c->lock_ready)
        pthread_mutex_destroy(&c->lock);
    c->lock_ready = 0;
}

/* ---- Finding zones ------------------------------------------------------------------------ */

struct zone_entry {
    unsigned number;
    char dir_name[256];
};

/* "intel-rapl:12" -> 12; anything else (sub-zones, "intel-rapl", "intel-rapl:x") -> 0. */
static int zone_number(const char *entry, unsigned *number)
{
    const size_t prefix_len = strlen(ZONE_PREFIX);
    unsigned long long v = 0;

    if (strncmp(entry, ZONE_PREFIX, prefix_len) != 0 || entry[prefix_len] == '\0')
        return 0;
    for (const char *p = entry + prefix_len; *p != '\0'; p++) {
        if (*p < '0' || *p > '9' || (v = v * 10 + (unsigned)(*p - '0')) > 0xFFFFFFFFull)
            return 0;
    }
    *number = (unsigned)v;
    return 1;
}

static int compare_zones(const void *a, const void *b)
{
    const struct zone_entry *za = a, *zb = b;

    if (za->number != zb->number)
        return za->number < zb->number ? -1 : 1;
    return strcmp(za->dir_name, zb->dir_name);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * List the package zones of the powercap folder, sorted by N. readdir() reports the
 * entries of /sys/class/powercap as symbolic links, so entries are taken by name, never
 * by d_type. *out is malloc'd (NULL when *count is 0).
 */
static zeus_status list_zones(const char *powercap, struct zone_entry **out, unsigned *count)
{
    struct zone_entry *zones = NULL;
    unsigned n = 0, room = 0;
    struct dirent *e;
    DIR *d = opendir(powercap);

    if (d == NULL) {
        if (errno == ENOENT || errno == ENOTDIR)
            return zeus__fail(ZEUS_ERR_NOT_SUPPORTED, "no RAPL powercap tree at %s", powercap);
        return fail_read(powercap, errno);
    }
    while ((e = readdir(d)) != NULL) {
        unsigned number;
        if (!zone_number(e->d_name, &number))
            continue;
        if (n == room) {
            struct zone_entry *more = realloc(zones, (room = room ? room * 2 : 8) * sizeof *more);
            if (more == NULL) {
                free(zones);
                closedir(d);
                return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory listing %s", powercap);
            }
            zones = more;
        }
        zones[n].number = number;
        snprintf(zones[n++].dir_name, sizeof zones->dir_name, "%s", e->d_name);
    }
    closedir(d);
    if (n > 0)
        qsort(zones, n, sizeof *zones, compare_zones);
    *out = zones;
    *count = n;
    return ZEUS_OK;
}

/* Append "; <formatted text>" to the backend's notes, keeping what fits. */
static void add_note(struct rapl_backend *rb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add_note(struct rapl_backend *rb, const char *fmt, ...)
{
    size_t used = strlen(rb->notes);
    va_list ap;

    if (used + 3 >= sizeof rb->notes)
        return;
    strcpy(rb->notes + used, "; ");
    used += 2;
    va_start(ap, fmt);
    vsnprintf(rb->notes + used, sizeof rb->notes - used, fmt, ap);
    va_end(ap);
}

/* Names in folder `dir` that contain "intel-rapl", sorted; malloc'd array of strdup'd names. */
static unsigned list_subzones(const char *dir, char ***out)
{
    char **names = NULL;
    unsigned n = 0;
    struct dirent *e;
    DIR *d = opendir(dir);

    *out = NULL;
    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        char **more;
        if (strstr(e->d_name, "intel-rapl") == NULL)
            continue;
        more = realloc(names, (n + 1) * sizeof *names);
        if (more == NULL || (more[n] = strdup(e->d_name)) == NULL) {
            names = more != NULL ? more : names;
            break; /* keep what was listed: a missing DRAM zone is not worth failing for */
        }
        names = more;
        n++;
    }
    closedir(d);
    if (n > 0)
        qsort(names, n, sizeof *names, compare_names);
    *out = names;
    return n;
}

/*
 * Find and open the zone's DRAM sub-zone, the one whose name reads exactly "dram" (Zeus's
 * rule). A sub-zone that cannot be read is skipped, and the reason goes to the notes.
 */
static void zone_open_dram(struct rapl_backend *rb, struct rapl_zone *z)
{
    char **subs;
    unsigned n = list_subzones(z->path, &subs);

    for (unsigned i = 0; i < n; i++) {
        char dir[PATH_LEN], name_path[PATH_LEN], name[READ_LEN];
        zeus_status s = join_path(dir, z->path, subs[i]);

        if (s == ZEUS_OK)
            s = join_path(name_path, dir, "name");
        if (s == ZEUS_OK)
            s = read_text(name_path, name, sizeof name);
        if (s == ZEUS_OK && (z->has_dram || strcmp(name, "dram") != 0))
            continue;
        if (s == ZEUS_OK && (s = counter_open(&z->dram, dir)) == ZEUS_OK)
            z->has_dram = 1;
        if (s != ZEUS_OK)
            add_note(rb, "skipped %s: %s", subs[i], zeus_last_error());
    }
    for (unsigned i = 0; i < n; i++)
        free(subs[i]);
    free(subs);
}

/* Open package zone `dir_name`: its name and counter must read, its DRAM zone may not. */
static zeus_status zone_open(struct rapl_backend *rb, struct rapl_zone *z, const char *powercap,
                             const char *dir_name)
{
    char name_path[PATH_LEN], name[READ_LEN];
    zeus_status s;

    if ((s = join_path(z->path, powercap, dir_name)) != ZEUS_OK ||
        (s = join_path(name_path, z->path, "name")) != ZEUS_OK ||
        (s = read_text(name_path, name, sizeof name)) != ZEUS_OK)
        return s;
    if (name[0] == '\0')
        return bad_content(name_path, name, "empty zone name");
    copy_cut(z->name, sizeof z->name, name);
    if ((s = counter_open(&z->pkg, z->path)) != ZEUS_OK)
        return s;
    zone_open_dram(rb, z);
    return ZEUS_OK;
}

/* ---- The poller --------------------------------------------------------------------------- */

/* DESIGN NOTE 6, then the ZEUS_RAPL_POLL_MS override. */
static int64_t poll_period_ns(struct rapl_backend *rb)
{
    uint64_t smallest = UINT64_MAX;
    const char *env = getenv("ZEUS_RAPL_POLL_MS");
    int64_t period;

    for (unsigned i = 0; i < rb->zone_count; i++) {
        const struct rapl_zone *z = &rb->zones[i];
        if (z->pkg.modulus_uj < smallest)
            smallest = z->pkg.modulus_uj;
        if (z->has_dram && z->dram.modulus_uj < smallest)
            smallest = z->dram.modulus_uj;
    }
    period = smallest / 4 < (uint64_t)POLL_MAX_NS ? (int64_t)(smallest / 4) : POLL_MAX_NS;
    if (period < POLL_MIN_NS)
        period = POLL_MIN_NS;
    if (env != NULL) {
        char *end;
        long ms;
        errno = 0;
        ms = strtol(env, &end, 10);
        if (errno == 0 && end != env && *end == '\0' && ms >= 1 && ms <= POLL_ENV_MAX_MS)
            return (int64_t)ms * 1000000;
        add_note(rb, "ZEUS_RAPL_POLL_MS=%s ignored: not a whole number 1-%ld", env,
                 POLL_ENV_MAX_MS);
    }
    return period;
}

static void deadline_after(struct timespec *ts, int64_t ns)
{
    int64_t at = zeus__now_ns() + ns;

    ts->tv_sec = (time_t)(at / 1000000000);
    ts->tv_nsec = (long)(at % 1000000000);
}

/*
 * Read every counter once. A failed read changes nothing (DESIGN NOTE 1): the caller's next
 * read reports the failure with its status, and the poller tries again next round.
 */
static void poll_round(struct rapl_backend *rb)
{
    for (unsigned i = 0; i < rb->zone_count; i++) {
        (void)counter_sample(&rb->zones[i].pkg, NULL);
        if (rb->zones[i].has_dram)
            (void)counter_sample(&rb->zones[i].dram, NULL);
    }
}

static void *poller_main(void *arg)
{
    struct rapl_backend *rb = arg;
    struct timespec deadline;

    pthread_mutex_lock(&rb->poll_lock);
    while (!rb->stopping) {
        int rc = 0;
        deadline_after(&deadline, rb->period_ns);
        while (!rb->stopping && rc == 0) /* 0: spurious wake-up; anything else: time's up */
            rc = pthread_cond_timedwait(&rb->wake, &rb->poll_lock, &deadline);
        if (rb->stopping)
            break;
        pthread_mutex_unlock(&rb->poll_lock); /* DESIGN NOTE 8 */
        poll_round(rb);
        pthread_mutex_lock(&rb->poll_lock);
        rb->polls++;
        pthread_cond_broadcast(&rb->polled);
    }
    pthread_mutex_unlock(&rb->poll_lock);
    return NULL;
}

static zeus_status poller_init_sync(struct rapl_backend *rb)
{
    pthread_condattr_t attr;
    int err = pthread_condattr_init(&attr);

    if (err != 0)
        return zeus__fail_errno(ZEUS_ERR_OPERATING_SYSTEM, err, "cannot create the RAPL poller");
    err = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* DESIGN NOTE 7 */
    if (err == 0 && (err = pthread_mutex_init(&rb->poll_lock, NULL)) == 0) {
        if ((err = pthread_cond_init(&rb->wake, &attr)) == 0 &&
            (err = pthread_cond_init(&rb->polled, &attr)) != 0)
            pthread_cond_destroy(&rb->wake);
        if (err != 0)
            pthread_mutex_destroy(&rb->poll_lock);
    }
    pthread_condattr_destroy(&attr);
    if (err != 0)
        return zeus__fail_errno(ZEUS_ERR_OPERATING_SYSTEM, err, "cannot create the RAPL poller");
    rb->sync_ready = 1;
    return ZEUS_OK;
}

/* Start the poller with every signal blocked, so the process's handlers run elsewhere. */
static zeus_status poller_start(struct rapl_backend *rb)
{
    sigset_t all, old;
    int err;
    zeus_status s = poller_init_sync(rb);

    if (s != ZEUS_OK)
        return s;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    err = pthread_create(&rb->thread, NULL, poller_main, rb);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0)
        return zeus__fail_errno(ZEUS_ERR_OPERATING_SYSTEM, err,
                                "cannot start the RAPL poller thread");
    rb->thread_running = 1;
    return ZEUS_OK;
}

static void poller_stop(struct rapl_backend *rb)
{
    if (rb->thread_running) {
        pthread_mutex_lock(&rb->poll_lock);
        rb->stopping = 1;
        pthread_cond_signal(&rb->wake);
        pthread_mutex_unlock(&rb->poll_lock);
        pthread_join(rb->thread, NULL);
        rb->thread_running = 0;
    }
    if (rb->sync_ready) {
        pthread_cond_destroy(&rb->polled);
        pthread_cond_destroy(&rb->wake);
        pthread_mutex_destroy(&rb->poll_lock);
        rb->sync_ready = 0;
    }
}

/* ---- Backend operations ------------------------------------------------------------------- */

static struct rapl_backend *as_rapl(struct zeus_backend *b)
{
    return b != NULL && b->ops == &zeus__rapl_backend ? (struct rapl_backend *)b : NULL;
}

static void backend_free(struct rapl_backend *rb)
{
    poller_stop(rb); /* DESIGN NOTE 7: joined before any counter goes */
    for (unsigned i = 0; i < rb->zone_count; i++) {
        counter_close(&rb->zones[i].pkg);
        counter_close(&rb->zones[i].dram);
    }
    free(rb->zones);
    free(rb);
}

static void describe(struct rapl_backend *rb, const char *powercap)
{
    size_t room = sizeof rb->base.detail;
    unsigned with_dram = 0;
    int n;

    for (unsigned i = 0; i < rb->zone_count; i++)
        with_dram += (unsigned)rb->zones[i].has_dram;
    n = snprintf(rb->base.detail, room, "%s: %u package zone%s, %u with DRAM, read every %lld ms%s",
                 powercap, rb->zone_count, rb->zone_count == 1 ? "" : "s", with_dram,
                 (long long)(rb->period_ns / 1000000), rb->notes);

    if (n >= (int)room) /* long notes: say that the cut is a cut */
        memcpy(rb->base.detail + room - 4, "...", 4);
}

/* Open every listed zone in order; the first failure fails the backend (as in Zeus). */
static zeus_status open_zones(struct rapl_backend *rb, const char *powercap,
                              const struct zone_entry *list, unsigned count)
{
    if (count > ZEUS_MAX_CPUS) {
        add_note(rb, "only the first %d zones are used", ZEUS_MAX_CPUS);
        count = ZEUS_MAX_CPUS;
    }
    rb->zones = calloc(count, sizeof *rb->zones);
    if (rb->zones == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory opening RAPL zones");
    for (unsigned i = 0; i < count; i++) {
        zeus_status s = zone_open(rb, &rb->zones[i], powercap, list[i].dir_name);
        rb->zone_count = i + 1; /* so backend_free() closes what this one opened */
        if (s != ZEUS_OK)
            return s;
    }
    return ZEUS_OK;
}

static zeus_status rapl_open(struct zeus_backend **out)
{
    char powercap[PATH_LEN];
    struct zone_entry *list = NULL;
    unsigned count = 0;
    struct rapl_backend *rb;
    zeus_status s = join_path(powercap, sysfs_root(), "class/powercap");

    if (s == ZEUS_OK)
        s = list_zones(powercap, &list, &count);
    if (s != ZEUS_OK)
        return s;
    if (count == 0)
        return zeus__fail(ZEUS_ERR_NOT_SUPPORTED, "no RAPL package zones (%sN) under %s",
                          ZONE_PREFIX, powercap);
    rb = calloc(1, sizeof *rb);
    if (rb == NULL) {
        free(list);
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "out of memory opening RAPL");
    }
    rb->base.ops = &zeus__rapl_backend;
    s = open_zones(rb, powercap, list, count);
    free(list);
    if (s == ZEUS_OK) {
        rb->period_ns = poll_period_ns(rb);
        s = poller_start(rb);
    }
    if (s != ZEUS_OK) {
        backend_free(rb);
        return s;
    }
    rb->base.device_count = rb->zone_count;
    describe(rb, powercap);
    *out = &rb->base;
    return ZEUS_OK;
}

static void rapl_close(struct zeus_backend *b)
{
    struct rapl_backend *rb = as_rapl(b);

    if (rb != NULL)
        backend_free(rb);
}

static zeus_status rapl_cpu_info(struct zeus_backend *b, unsigned dev, zeus_cpu_info *out)
{
    struct rapl_backend *rb = as_rapl(b);
    const struct rapl_zone *z;

    if (rb == NULL || dev >= rb->zone_count)
        return zeus__fail(ZEUS_ERR_NOT_FOUND, "RAPL zone %u not found", dev);
    z = &rb->zones[dev];
    memset(out, 0, sizeof *out);
    out->index = dev;
    copy_cut(out->name, sizeof out->name, z->name);
    copy_cut(out->path, sizeof out->path, z->path);
    out->has_dram = z->has_dram;
    return ZEUS_OK;
}

zeus_status zeus__rapl_read_counter(struct zeus_backend *b, unsigned cpu, int dram,
                                    struct zeus__rapl_counter_stats *out)
{
    struct rapl_backend *rb = as_rapl(b);
    struct rapl_zone *z;

    if (rb == NULL || out == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "not an open RAPL backend");
    if (cpu >= rb->zone_count)
        return zeus__fail(ZEUS_ERR_NOT_FOUND, "RAPL zone %u not found: %u zones", cpu,
                          rb->zone_count);
    z = &rb->zones[cpu];
    if (dram && !z->has_dram)
        return zeus__fail(ZEUS_ERR_NOT_FOUND, "RAPL zone %u (%s) has no DRAM sub-zone", cpu,
                          z->name);
    return counter_sample(dram ? &z->dram : &z->pkg, out);
}

static zeus_status rapl_cpu_energy(struct zeus_backend *b, unsigned dev, zeus_cpu_energy *out)
{
    struct zeus__rapl_counter_stats pkg, dram = {0};
    zeus_status s = zeus__rapl_read_counter(b, dev, 0, &pkg);

    if (s == ZEUS_OK && as_rapl(b)->zones[dev].has_dram)
        s = zeus__rapl_read_counter(b, dev, 1, &dram);
    if (s != ZEUS_OK)
        return s;
    out->cpu_j = (double)pkg.energy_uj / 1e6;
    out->dram_j = as_rapl(b)->zones[dev].has_dram ? (double)dram.energy_uj / 1e6 : NAN;
    out->cpu_wraps = pkg.wraps;
    out->dram_wraps = dram.wraps;
    out->cpu_discontinuities = pkg.resets + pkg.jumps;
    out->dram_discontinuities = dram.resets + dram.jumps;
    out->cpu_counter_j = (double)pkg.raw_uj / 1e6;
    out->cpu_counter_range_j = (double)pkg.max_uj / 1e6;
    out->dram_counter_j = as_rapl(b)->zones[dev].has_dram ? (double)dram.raw_uj / 1e6 : NAN;
    out->dram_counter_range_j = as_rapl(b)->zones[dev].has_dram ? (double)dram.max_uj / 1e6 : NAN;
    return ZEUS_OK;
}

/* ---- Access for tests --------------------------------------------------------------------- */

uint64_t zeus__rapl_poll_count(struct zeus_backend *b)
{
    struct rapl_backend *rb = as_rapl(b);
    uint64_t polls;

    if (rb == NULL)
        return 0;
    pthread_mutex_lock(&rb->poll_lock);
    polls = rb->polls;
    pthread_mutex_unlock(&rb->poll_lock);
    return polls;
}

int zeus__rapl_wait_polls(struct zeus_backend *b, uint64_t count, int timeout_ms)
{
    struct rapl_backend *rb = as_rapl(b);
    struct timespec deadline;
    int reached;

    if (rb == NULL)
        return -1;
    deadline_after(&deadline, (int64_t)timeout_ms * 1000000);
    pthread_mutex_lock(&rb->poll_lock);
    while (rb->polls < count) /* 0: woken, check again; anything else: time's up */
        if (pthread_cond_timedwait(&rb->polled, &rb->poll_lock, &deadline) != 0)
            break;
    reached = rb->polls >= count;
    pthread_mutex_unlock(&rb->poll_lock);
    return reached ? 0 : -1;
}

int64_t zeus__rapl_poll_period_ns(struct zeus_backend *b)
{
    struct rapl_backend *rb = as_rapl(b);

    return rb != NULL ? rb->period_ns : 0;
}

const struct zeus_backend_ops zeus__rapl_backend = {
    .abi = ZEUS__BACKEND_ABI,
    .name = "rapl",
    .kind = ZEUS_DEVICE_CPU,
    .open = rapl_open,
    .close = rapl_close,
    .cpu_info = rapl_cpu_info,
    .cpu_energy = rapl_cpu_energy,
};
