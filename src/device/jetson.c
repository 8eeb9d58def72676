/*
 * jetson.c - NVIDIA Jetson SoC energy: the INA3221 power rails, integrated into energy by a
 * background thread, filling the SoC methods of the backend table (Zeus's
 * zeus/device/soc/jetson.py).
 *
 * Where the rails are (both kernel layouts Zeus reads, under <root> = $ZEUS_SYSFS_ROOT, else
 * /sys):
 *
 *   <root>/bus/i2c/drivers/ina3221x/<dev>/<sub>/rail_name_<i>      older kernels (Xavier):
 *       in_power<i>_input (mW), else in_voltage<i>_input (mV) x in_current<i>_input (mA)
 *   <root>/bus/i2c/drivers/ina3221/<dev>/<sub>[/hwmon*]/in<i>_label newer kernels (Orin):
 *       power<i>_input (mW), else in<i>_input (mV) x curr<i>_input (mA)
 *
 * The "ina3221x" folder is used when it exists, else "ina3221", as in Zeus. A rail is
 * classified by its lower-cased name as Zeus does: containing "cpu" -> cpu, else "gpu" ->
 * gpu, else "system", "_in" or "total" -> total; other rails (SOC, CV, VDDRQ) are ignored.
 * Folders are visited in name order and, as in Zeus, the last rail of a class wins.
 *
 * Detection, as Zeus: Linux on aarch64 with /usr/lib/aarch64-linux-gnu/tegra or
 * /etc/nv_tegra_release present. ZEUS_JETSON=1 forces it (tests, a fake tree), 0 turns it
 * off.
 *
 * Environment:
 *
 *   What:        ZEUS_JETSON
 *   Since:       0.1 (issue 13)
 *   Description: 1: treat the machine as a Jetson whatever its CPU (the rails still have to
 *                be found); 0: never. Unset or anything else: detect as Zeus does.
 *
 *   What:        ZEUS_JETSON_PERIOD_MS
 *   Since:       0.1 (issue 13)
 *   Description: Poll period of the integrating thread in whole milliseconds (1-1000);
 *                default 10. Anything else is ignored and the detail says so.
 *
 * DESIGN NOTES
 *
 * 1. The period. Zeus polls every 0.1 s with the right-endpoint rule. We poll every 10 ms
 *    with the trapezoid rule (trapezoid.h), and read the rails at both window edges (note
 *    2). On a simulated training trace (test_jetson.c, test_period_accuracy: 60 ms at 21 W
 *    and 40 ms at 9 W per step, a 0.7 Hz swell of 2 W, noise of +-1.5 W held 5 ms), with
 *    polls jittered by up to 20%:
 *
 *       period   rule        10 s window   100 ms windows (mean |error|)
 *        1 ms    trapezoid     -0.03 %        0.3 %
 *       10 ms    trapezoid     +0.25 %        3.7 %
 *       10 ms    right-end     +0.22 %        3.8 %
 *       20 ms    trapezoid     -0.40 %        5.4 %
 *       50 ms    trapezoid     +0.79 %       12.7 %
 *      100 ms    trapezoid     +1.50 %       35.1 %
 *      100 ms    right-end     +1.73 %       35.2 %   (Zeus's period and rule, but with
 *                                                      exact edges, which Zeus lacks)
 *
 *    On steps and noise the two rules are close (both are unbiased for a step at a random
 *    instant); the trapezoid is exact on ramps, where the right endpoint is not. What buys
 *    accuracy is the period: 10 ms keeps a 10 s window well inside 1% and a single training
 *    step within a few percent. It costs a read of 3 to 6 files per poll; at ~1 ms per i2c
 *    read on a real board that is under 5-10 % of one core (not measured: no Jetson here),
 *    and ZEUS_JETSON_PERIOD_MS trades it back.
 * 2. Window edges are exact: zeus_soc_get_energy reads the rails itself and integrates up
 *    to the call, so a window's energy is not off by up to one period at each end.
 * 3. A rail that cannot be read (file gone, not a number) is NAN with ZEUS_ENERGY_FAILED
 *    while it stays so; when it comes back the gap's energy is left out and counted in
 *    gaps[]. A class with no rail at open is looked for again every second by the thread
 *    (a driver bound late); energy for it counts from when it appeared.
 * 4. One lock guards the rails and their integrals; the reads of a poll (3 to 6 small sysfs
 *    files) happen under it, so the thread and a caller never integrate the same interval
 *    twice or out of order. A caller may therefore wait for one poll's reads before its
 *    own (microseconds on the fake tree; an i2c read each on a board, not measured here).
 *    The once-a-second walk for missing rails runs without the lock.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "device/backend.h"
#include "device/trapezoid.h"
#include "util/clock.h"
#include "util/error.h"
#include "zeus/monitor.h" /* ZEUS_ENERGY_* flags */

#define DEFAULT_PERIOD_MS 10
#define RESCAN_NS 1000000000LL /* how often missing rail classes are looked for again */
#define RAIL_PATH 512

struct rail {
    int present;
    int direct;                 /* 1: a power file; 0: voltage x current */
    char label[64];
    char power[RAIL_PATH];      /* power file, or the voltage file when !direct */
    char current[RAIL_PATH];    /* current file when !direct */
    int64_t since_ns;           /* when it was found */
    double power_w;             /* last reading; NAN when it failed */
    zeus__trapezoid integral;
};

struct jetson {
    struct zeus_backend base;
    char driver_dir[RAIL_PATH];
    int64_t period_ns;
    pthread_mutex_t lock; /* guards rails[] and stopping */
    pthread_cond_t wake;
    int stopping;
    int64_t last_scan_ns;
    struct rail rails[ZEUS_SOC_RAILS];
    pthread_t thread;
    int thread_running;
};

/* ---- Detection -------------------------------------------------------------------------- */

static const char *sysfs_root(void)
{
    const char *env = getenv("ZEUS_SYSFS_ROOT");
    return env != NULL && env[0] != '\0' ? env : "/sys";
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Zeus's jetson_is_available(), with ZEUS_JETSON to force it either way. */
static zeus_status detect(void)
{
    const char *env = getenv("ZEUS_JETSON");
    struct utsname u;

    if (env != NULL && strcmp(env, "1") == 0)
        return ZEUS_OK;
    if (env != NULL && strcmp(env, "0") == 0)
        return zeus__fail(ZEUS_ERR_NOT_SUPPORTED, "turned off by ZEUS_JETSON=0");
    if (uname(&u) != 0 || strcmp(u.machine, "aarch64") != 0)
        return zeus__fail(ZEUS_ERR_NOT_SUPPORTED,
                          "not a Jetson: the CPU is %s, not aarch64 (ZEUS_JETSON=1 forces it)",
                          uname(&u) == 0 ? u.machine : "unknown");
    if (!exists("/usr/lib/aarch64-linux-gnu/tegra") && !exists("/etc/nv_tegra_release"))
        return zeus__fail(ZEUS_ERR_NOT_SUPPORTED,
                          "not a Jetson: no /usr/lib/aarch64-linux-gnu/tegra or "
                          "/etc/nv_tegra_release (ZEUS_JETSON=1 forces it)");
    return ZEUS_OK;
}

/* ---- Reading a rail --------------------------------------------------------------------- */

/* A file holding one number (sysfs: digits and a newline); NAN when absent or unparsable. */
static double read_number(const char *path)
{
    char buf[64], *end;
    FILE *f = fopen(path, "r");
    size_t n;
    double v;

    if (f == NULL)
        return NAN;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    errno = 0;
    v = strtod(buf, &end);
    if (end == buf || errno != 0)
        return NAN;
    while (isspace((unsigned char)*end))
        end++;
    return *end == '\0' && isfinite(v) ? v : NAN;
}

/* Power of a rail in W: mW from the power file, or mV x mA / 1000 = mW. */
static double read_power_w(const struct rail *r)
{
    double p = read_number(r->power);

    if (!r->direct)
        p = p * read_number(r->current) / 1000.0;
    return p / 1000.0;
}

/* Read every present rail at `now` and integrate up to it. Caller holds the lock. */
static void sample_rails(struct jetson *j, int64_t now)
{
    for (int k = 0; k < ZEUS_SOC_RAILS; k++) {
        struct rail *r = &j->rails[k];
        if (!r->present)
            continue;
        r->power_w = read_power_w(r);
        zeus__trapezoid_add(&r->integral, now, r->power_w);
    }
}

/* ---- Discovery -------------------------------------------------------------------------- */

/* Zeus's classification of a rail name; -1 for rails it ignores. */
static int classify(const char *name)
{
    char low[64];
    size_t i;

    for (i = 0; name[i] != '\0' && i < sizeof low - 1; i++)
        low[i] = (char)tolower((unsigned char)name[i]);
    low[i] = '\0';
    if (strstr(low, "cpu") != NULL)
        return ZEUS_SOC_RAIL_CPU;
    if (strstr(low, "gpu") != NULL)
        return ZEUS_SOC_RAIL_GPU;
    if (strstr(low, "system") != NULL || strstr(low, "_in") != NULL ||
        strstr(low, "total") != NULL)
        return ZEUS_SOC_RAIL_TOTAL;
    return -1;
}

/* The first line of a small text file, trimmed; "" when unreadable. */
static void read_label(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    size_t n;

    buf[0] = '\0';
    if (f == NULL)
        return;
    n = fread(buf, 1, len - 1, f);
    fclose(f);
    buf[n] = '\0';
    n = strcspn(buf, "\r\n");
    while (n > 0 && isspace((unsigned char)buf[n - 1]))
        n--;
    buf[n] = '\0';
}

/* The paths of a labelled rail; 0 when neither power nor voltage and current exist. */
static int rail_files(const char *dir, const char *idx, int label_layout, struct rail *r)
{
    char v[RAIL_PATH], c[RAIL_PATH];

    if (label_layout) {
        snprintf(r->power, sizeof r->power, "%s/power%s_input", dir, idx);
        snprintf(v, sizeof v, "%s/in%s_input", dir, idx);
        snprintf(c, sizeof c, "%s/curr%s_input", dir, idx);
    } else {
        snprintf(r->power, sizeof r->power, "%s/in_power%s_input", dir, idx);
        snprintf(v, sizeof v, "%s/in_voltage%s_input", dir, idx);
        snprintf(c, sizeof c, "%s/in_current%s_input", dir, idx);
    }
    r->direct = is_file(r->power);
    if (r->direct)
        return 1;
    if (!is_file(v) || !is_file(c))
        return 0;
    snprintf(r->power, sizeof r->power, "%s", v);
    snprintf(r->current, sizeof r->current, "%s", c);
    return 1;
}

/* The rail index in a label file's name ("in1_label", "rail_name_0"); NULL if none. */
static const char *rail_index(const char *name, int *label_layout, char *idx, size_t len)
{
    size_t n = strlen(name), digits;

    if (strncmp(name, "rail_name_", 10) == 0) {
        *label_layout = 0;
        digits = strspn(name + 10, "0123456789");
        if (digits == 0 || name[10 + digits] != '\0' || digits >= len)
            return NULL;
        snprintf(idx, len, "%s", name + 10);
        return idx;
    }
    if (name[0] != 'i' || name[1] != 'n' || n < 9 || strcmp(name + n - 6, "_label") != 0)
        return NULL;
    *label_layout = 1;
    digits = strspn(name + 2, "0123456789");
    if (digits == 0 || 2 + digits != n - 6 || digits >= len)
        return NULL;
    snprintf(idx, len, "%.*s", (int)digits, name + 2);
    return idx;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* Visit the rail label files of one folder into found[] (the last of a class wins). */
static void scan_rails(const char *dir, struct rail *found)
{
    struct dirent **ents;
    int n = scandir(dir, &ents, NULL, by_name);

    for (int i = 0; i < n; i++) {
        char idx[16], path[RAIL_PATH], label[64];
        int label_layout, k;
        struct rail r;

        if (rail_index(ents[i]->d_name, &label_layout, idx, sizeof idx) != NULL &&
            snprintf(path, sizeof path, "%s/%s", dir, ents[i]->d_name) < (int)sizeof path) {
            read_label(path, label, sizeof label);
            k = classify(label);
            memset(&r, 0, sizeof r);
            if (k >= 0 && rail_files(dir, idx, label_layout, &r)) {
                r.present = 1;
                snprintf(r.label, sizeof r.label, "%s", label);
                found[k] = r;
            }
        }
        free(ents[i]);
    }
    if (n >= 0)
        free(ents);
}

/* Call fn(path) for each sub-folder of dir whose name starts with `prefix`, in name order. */
static void each_subdir(const char *dir, const char *prefix, void (*fn)(const char *, void *),
                        void *arg)
{
    struct dirent **ents;
    int n = scandir(dir, &ents, NULL, by_name);

    for (int i = 0; i < n; i++) {
        char path[RAIL_PATH];
        if (ents[i]->d_name[0] != '.' &&
            strncmp(ents[i]->d_name, prefix, strlen(prefix)) == 0 &&
            snprintf(path, sizeof path, "%s/%s", dir, ents[i]->d_name) < (int)sizeof path &&
            is_dir(path))
            fn(path, arg);
        free(ents[i]);
    }
    if (n >= 0)
        free(ents);
}

static void scan_hwmon(const char *path, void *found)
{
    scan_rails(path, found);
}

/* A subdevice: its own files, then those of its hwmon* children (newer kernels). */
static void scan_subdevice(const char *path, void *found)
{
    scan_rails(path, found);
    each_subdir(path, "hwmon", scan_hwmon, found);
}

static void scan_device(const char *path, void *found)
{
    each_subdir(path, "", scan_subdevice, found);
}

/* Find the rails now into found[] (all absent when the driver folder is missing). */
static void discover(const char *driver_dir, struct rail *found)
{
    memset(found, 0, sizeof(struct rail) * ZEUS_SOC_RAILS);
    each_subdir(driver_dir, "", scan_device, found);
}

/* Adopt the rails in found[] of classes still missing (DESIGN NOTE 3). Caller holds the lock. */
static void adopt_new_rails(struct jetson *j, const struct rail *found, int64_t now)
{
    for (int k = 0; k < ZEUS_SOC_RAILS; k++) {
        if (j->rails[k].present || !found[k].present)
            continue;
        j->rails[k] = found[k];
        j->rails[k].since_ns = now;
        j->rails[k].power_w = NAN;
        zeus__trapezoid_init(&j->rails[k].integral);
    }
}

static int any_missing(const struct jetson *j)
{
    for (int k = 0; k < ZEUS_SOC_RAILS; k++)
        if (!j->rails[k].present)
            return 1;
    return 0;
}

/* ---- The integrating thread ------------------------------------------------------------- */

/*
 * Look for missing rail classes again. The folders are walked without the lock (a walk
 * costs more than a poll), so callers reading energy are not held up by it.
 */
static void rescan(struct jetson *j, int64_t now)
{
    struct rail found[ZEUS_SOC_RAILS];

    j->last_scan_ns = now;
    pthread_mutex_unlock(&j->lock);
    discover(j->driver_dir, found);
    pthread_mutex_lock(&j->lock);
    adopt_new_rails(j, found, zeus__now_ns());
}

static void *poll_main(void *arg)
{
    struct jetson *j = arg;
    int64_t next = zeus__now_ns();

    pthread_mutex_lock(&j->lock);
    while (!j->stopping) {
        int64_t now = zeus__now_ns();
        if (now >= next) {
            sample_rails(j, now);
            if (any_missing(j) && now - j->last_scan_ns >= RESCAN_NS)
                rescan(j, now);
            next += j->period_ns;
            if (next <= now) /* we fell behind (a stall): do not burst to catch up */
                next = now + j->period_ns;
        }
        struct timespec ts = zeus__timespec_from_ns(next);
        pthread_cond_timedwait(&j->wake, &j->lock, &ts);
    }
    pthread_mutex_unlock(&j->lock);
    return NULL;
}

/* ---- The backend ------------------------------------------------------------------------ */

/* ZEUS_JETSON_PERIOD_MS, or the default; a bad value is noted in `note`. */
static int64_t poll_period_ns(char *note, size_t len)
{
    const char *env = getenv("ZEUS_JETSON_PERIOD_MS");
    char *end;
    long ms;

    note[0] = '\0';
    if (env == NULL || env[0] == '\0')
        return DEFAULT_PERIOD_MS * 1000000LL;
    errno = 0;
    ms = strtol(env, &end, 10);
    if (errno != 0 || *end != '\0' || ms < 1 || ms > 1000) {
        snprintf(note, len, "; ZEUS_JETSON_PERIOD_MS=%.32s ignored (1-1000)", env);
        return DEFAULT_PERIOD_MS * 1000000LL;
    }
    return ms * 1000000LL;
}

static void jetson_close(struct zeus_backend *b)
{
    struct jetson *j = (struct jetson *)b;

    if (j == NULL)
        return;
    if (j->thread_running) {
        pthread_mutex_lock(&j->lock);
        j->stopping = 1;
        pthread_cond_signal(&j->wake);
        pthread_mutex_unlock(&j->lock);
        pthread_join(j->thread, NULL);
    }
    pthread_cond_destroy(&j->wake);
    pthread_mutex_destroy(&j->lock);
    free(j);
}

/* The driver folder Zeus would use: ina3221x when present, else ina3221. */
static zeus_status find_driver(char *dir, size_t len)
{
    const char *root = sysfs_root();

    snprintf(dir, len, "%s/bus/i2c/drivers/ina3221x", root);
    if (is_dir(dir))
        return ZEUS_OK;
    snprintf(dir, len, "%s/bus/i2c/drivers/ina3221", root);
    if (is_dir(dir))
        return ZEUS_OK;
    return zeus__fail(ZEUS_ERR_NOT_SUPPORTED,
                      "Jetson detected, but no INA3221 power monitor under %s/bus/i2c/drivers "
                      "(ina3221x or ina3221)", root);
}

static void describe(struct jetson *j, const char *note)
{
    size_t len;

    snprintf(j->base.detail, sizeof j->base.detail, "%.160s, every %lld ms:", j->driver_dir,
             (long long)(j->period_ns / 1000000));
    for (int k = 0; k < ZEUS_SOC_RAILS; k++) {
        len = strlen(j->base.detail);
        snprintf(j->base.detail + len, sizeof j->base.detail - len, " %s=%s",
                 zeus_soc_rail_name((zeus_soc_rail)k),
                 j->rails[k].present ? j->rails[k].label : "(none)");
    }
    len = strlen(j->base.detail);
    snprintf(j->base.detail + len, sizeof j->base.detail - len, "%s", note);
}

static zeus_status jetson_open(struct zeus_backend **out)
{
    char note[96];
    struct jetson *j;
    zeus_status s = detect();

    if (s != ZEUS_OK)
        return s;
    j = calloc(1, sizeof *j);
    if (j == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "jetson: out of memory");
    j->base.ops = &zeus__jetson_backend;
    j->period_ns = poll_period_ns(note, sizeof note);
    pthread_mutex_init(&j->lock, NULL);
    zeus__cond_init_monotonic(&j->wake);
    s = find_driver(j->driver_dir, sizeof j->driver_dir);
    if (s == ZEUS_OK) {
        struct rail found[ZEUS_SOC_RAILS];
        discover(j->driver_dir, found);
        j->last_scan_ns = zeus__now_ns();
        adopt_new_rails(j, found, j->last_scan_ns);
        if (!j->rails[ZEUS_SOC_RAIL_CPU].present && !j->rails[ZEUS_SOC_RAIL_GPU].present &&
            !j->rails[ZEUS_SOC_RAIL_TOTAL].present)
            s = zeus__fail(ZEUS_ERR_NOT_SUPPORTED,
                           "no cpu, gpu or total rail with power, or voltage and current, "
                           "under %s", j->driver_dir);
    }
    if (s != ZEUS_OK) {
        jetson_close(&j->base);
        return s;
    }
    j->base.device_count = 1;
    describe(j, note);
    sample_rails(j, zeus__now_ns()); /* energy counts from here */
    if (pthread_create(&j->thread, NULL, poll_main, j) != 0) {
        jetson_close(&j->base);
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "jetson: cannot start the polling thread");
    }
    j->thread_running = 1;
    *out = &j->base;
    return ZEUS_OK;
}

static zeus_status jetson_soc_info(struct zeus_backend *b, unsigned dev, zeus_soc_info *out)
{
    struct jetson *j = (struct jetson *)b;

    (void)dev; /* one SoC; devices.c checked the index */
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "NVIDIA Jetson");
    out->period_s = (double)j->period_ns * 1e-9;
    pthread_mutex_lock(&j->lock);
    for (int k = 0; k < ZEUS_SOC_RAILS; k++) {
        out->has_rail[k] = j->rails[k].present;
        snprintf(out->rail_label[k], sizeof out->rail_label[k], "%s", j->rails[k].label);
        snprintf(out->rail_path[k], sizeof out->rail_path[k], "%.255s", j->rails[k].power);
    }
    pthread_mutex_unlock(&j->lock);
    return ZEUS_OK;
}

static zeus_status jetson_soc_energy(struct zeus_backend *b, unsigned dev, zeus_soc_energy *out)
{
    struct jetson *j = (struct jetson *)b;
    int64_t now;

    (void)dev;
    pthread_mutex_lock(&j->lock);
    now = zeus__now_ns();
    sample_rails(j, now); /* DESIGN NOTE 2 */
    out->read_mono_s = (double)now * 1e-9;
    for (int k = 0; k < ZEUS_SOC_RAILS; k++) {
        const struct rail *r = &j->rails[k];
        out->energy_j[k] = out->power_w[k] = NAN;
        out->gaps[k] = 0;
        if (!r->present) {
            out->flags[k] = ZEUS_ENERGY_UNSUPPORTED;
        } else if (!isfinite(r->power_w)) {
            out->flags[k] = ZEUS_ENERGY_FAILED;
            out->gaps[k] = r->integral.gaps;
        } else {
            out->flags[k] = ZEUS_ENERGY_VALID | ZEUS_ENERGY_INTEGRATED;
            out->energy_j[k] = r->integral.energy_j;
            out->power_w[k] = r->power_w;
            out->gaps[k] = r->integral.gaps;
        }
    }
    pthread_mutex_unlock(&j->lock);
    return ZEUS_OK;
}

const struct zeus_backend_ops zeus__jetson_backend = {
    .abi = ZEUS__BACKEND_ABI,
    .name = "jetson",
    .kind = ZEUS_DEVICE_SOC,
    .open = jetson_open,
    .close = jetson_close,
    .soc_info = jetson_soc_info,
    .soc_energy = jetson_soc_energy,
};
