/*
 * sysfs_tree.c - Fake Linux powercap (RAPL) trees for ZEUS_SYSFS_ROOT, and reading them
 * without root's file access override (see sysfs_tree.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sysfs_tree.h"
#include "test_support.h"

#define TREE_PATH_LEN 1024
#define CONTROL_DIR "devices/virtual/powercap/intel-rapl" /* where zone folders live */

struct zt_sysfs {
    char *root;
};

/* ---- Paths -------------------------------------------------------------------------------- */

/* snprintf that fails the test rather than cut a path or a value short. */
static void format_or_fail(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void format_or_fail(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= len)
        fail_msg("path too long: %s...", buf);
}

/*
 * A zone's folder relative to the root: sub-zones nest in their parent, so
 * "intel-rapl:0:1" lives in CONTROL_DIR/intel-rapl:0/intel-rapl:0:1.
 */
static void zone_rel_dir(const char *zone, char *buf, size_t len)
{
    const char *first = strchr(zone, ':');
    const char *last = strrchr(zone, ':');

    if (first != NULL && last != first) {
        char parent[256];
        format_or_fail(parent, sizeof parent, "%.*s", (int)(last - zone), zone);
        zone_rel_dir(parent, buf, len);
        format_or_fail(buf + strlen(buf), len - strlen(buf), "/%s", zone);
        return;
    }
    format_or_fail(buf, len, "%s/%s", CONTROL_DIR, zone);
}

void zt_sysfs_path(const zt_sysfs *t, const char *zone, const char *file, char *buf, size_t len)
{
    char rel[TREE_PATH_LEN];

    zone_rel_dir(zone, rel, sizeof rel);
    if (file[0] == '\0')
        format_or_fail(buf, len, "%s/%s", t->root, rel);
    else
        format_or_fail(buf, len, "%s/%s/%s", t->root, rel, file);
}

static void make_dirs(const char *path)
{
    char buf[TREE_PATH_LEN];

    format_or_fail(buf, sizeof buf, "%s/", path);
    for (char *p = buf + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            fail_msg("cannot make %s: %s", buf, strerror(errno));
        *p = '/';
    }
}

/* class/powercap/<name> -> ../../<rel>, as sysfs links class entries to devices. */
static void link_class(const zt_sysfs *t, const char *name, const char *rel)
{
    char link[TREE_PATH_LEN], target[TREE_PATH_LEN], dir[TREE_PATH_LEN];

    format_or_fail(dir, sizeof dir, "%s/class/powercap", t->root);
    make_dirs(dir);
    format_or_fail(link, sizeof link, "%s/%s", dir, name);
    format_or_fail(target, sizeof target, "../../%s", rel);
    if (symlink(target, link) != 0 && errno != EEXIST)
        fail_msg("cannot link %s: %s", link, strerror(errno));
}

/* ---- Building ----------------------------------------------------------------------------- */

zt_sysfs *zt_sysfs_create(void)
{
    zt_sysfs *t = calloc(1, sizeof *t);

    assert_non_null(t);
    t->root = zt_mkdtemp();
    return t;
}

void zt_sysfs_destroy(zt_sysfs *t)
{
    if (t == NULL)
        return;
    zt_rmtree(t->root);
    free(t->root);
    free(t);
}

const char *zt_sysfs_root(const zt_sysfs *t)
{
    return t->root;
}

void zt_sysfs_use(const zt_sysfs *t)
{
    assert_int_equal(setenv("ZEUS_SYSFS_ROOT", t->root, 1), 0);
}

void zt_sysfs_add_powercap(zt_sysfs *t)
{
    char dir[TREE_PATH_LEN];

    format_or_fail(dir, sizeof dir, "%s/class/powercap", t->root);
    make_dirs(dir);
}

/* Write to a temporary name, then rename over the file: readers never see half a write. */
void zt_sysfs_write(zt_sysfs *t, const char *zone, const char *file, const char *text)
{
    char path[TREE_PATH_LEN], tmp[TREE_PATH_LEN + 8];

    zt_sysfs_path(t, zone, file, path, sizeof path);
    format_or_fail(tmp, sizeof tmp, "%s.new", path);
    zt_write_file(tmp, text);
    if (rename(tmp, path) != 0)
        fail_msg("cannot replace %s: %s", path, strerror(errno));
}

void zt_sysfs_add_zone(zt_sysfs *t, const char *zone, const char *name, uint64_t energy_uj,
                       uint64_t max_uj)
{
    char rel[TREE_PATH_LEN], dir[TREE_PATH_LEN], text[256];

    zone_rel_dir(zone, rel, sizeof rel);
    format_or_fail(dir, sizeof dir, "%s/%s", t->root, rel);
    make_dirs(dir);
    link_class(t, "intel-rapl", CONTROL_DIR); /* the control type's own entry */
    link_class(t, zone, rel);
    format_or_fail(text, sizeof text, "%s\n", name);
    zt_sysfs_write(t, zone, "name", text);
    format_or_fail(text, sizeof text, "%" PRIu64 "\n", max_uj);
    zt_sysfs_write(t, zone, "max_energy_range_uj", text);
    zt_sysfs_set_energy(t, zone, energy_uj);
}

void zt_sysfs_add_package(zt_sysfs *t, unsigned n, uint64_t energy_uj, uint64_t max_uj)
{
    char zone[64], name[64];

    format_or_fail(zone, sizeof zone, "intel-rapl:%u", n);
    format_or_fail(name, sizeof name, "package-%u", n);
    zt_sysfs_add_zone(t, zone, name, energy_uj, max_uj);
}

void zt_sysfs_add_dram(zt_sysfs *t, unsigned n, unsigned sub, uint64_t energy_uj,
                       uint64_t max_uj)
{
    char zone[64];

    format_or_fail(zone, sizeof zone, "intel-rapl:%u:%u", n, sub);
    zt_sysfs_add_zone(t, zone, "dram", energy_uj, max_uj);
}

void zt_sysfs_set_energy(zt_sysfs *t, const char *zone, uint64_t energy_uj)
{
    char num[32];

    format_or_fail(num, sizeof num, "%" PRIu64 "\n", energy_uj);
    zt_sysfs_write(t, zone, "energy_uj", num);
}

void zt_sysfs_remove(zt_sysfs *t, const char *zone, const char *file)
{
    char path[TREE_PATH_LEN];

    zt_sysfs_path(t, zone, file, path, sizeof path);
    if (unlink(path) != 0)
        fail_msg("cannot remove %s: %s", path, strerror(errno));
}

void zt_sysfs_replace_with_dir(zt_sysfs *t, const char *zone, const char *file)
{
    char path[TREE_PATH_LEN];

    zt_sysfs_remove(t, zone, file);
    zt_sysfs_path(t, zone, file, path, sizeof path);
    if (mkdir(path, 0755) != 0)
        fail_msg("cannot make %s: %s", path, strerror(errno));
}

void zt_sysfs_chmod(zt_sysfs *t, const char *zone, const char *file, mode_t mode)
{
    char path[TREE_PATH_LEN];

    zt_sysfs_path(t, zone, file, path, sizeof path);
    if (chmod(path, mode) != 0)
        fail_msg("cannot chmod %s: %s", path, strerror(errno));
}

/* ---- Reading without root's override ------------------------------------------------------ */

struct unprivileged_call {
    const char *unreadable;
    void (*fn)(void *arg);
    void *arg;
    char why[256];
    int ran;
};

/* Drop CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from this thread's effective set only. */
static int drop_file_override(char *why, size_t len)
{
    struct __user_cap_header_struct head = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

    if (syscall(SYS_capget, &head, data) != 0) {
        snprintf(why, len, "capget failed: %s", strerror(errno));
        return -1;
    }
    data[0].effective &= ~((1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH));
    if (syscall(SYS_capset, &head, data) != 0) {
        snprintf(why, len, "capset failed: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static void *unprivileged_main(void *p)
{
    struct unprivileged_call *c = p;
    int fd;

    if (drop_file_override(c->why, sizeof c->why) != 0)
        return NULL;
    fd = open(c->unreadable, O_RDONLY);
    if (fd >= 0) {
        close(fd);
        snprintf(c->why, sizeof c->why,
                 "%s is still readable without CAP_DAC_OVERRIDE (file system ignores modes?)",
                 c->unreadable);
        return NULL;
    }
    if (errno != EACCES && errno != EPERM) {
        snprintf(c->why, sizeof c->why, "opening %s failed with %s, not EACCES", c->unreadable,
                 strerror(errno));
        return NULL;
    }
    c->fn(c->arg);
    c->ran = 1;
    return NULL;
}

int zt_run_unprivileged(const char *unreadable, void (*fn)(void *arg), void *arg, char *why,
                        size_t why_len)
{
    struct unprivileged_call c = {.unreadable = unreadable, .fn = fn, .arg = arg};
    pthread_t thread;
    int err = pthread_create(&thread, NULL, unprivileged_main, &c);

    if (err != 0) {
        snprintf(why, why_len, "cannot start a thread: %s", strerror(err));
        return -1;
    }
    pthread_join(thread, NULL);
    if (!c.ran)
        snprintf(why, why_len, "%s", c.why);
    return c.ran ? 0 : -1;
}

int zt_thread_count(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int n = 0;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* ---- Other trees -------------------------------------------------------------------------- */

void zt_sysfs_put(zt_sysfs *t, const char *rel, const char *text)
{
    char path[TREE_PATH_LEN], tmp[TREE_PATH_LEN + 8], *slash;

    format_or_fail(path, sizeof path, "%s/%s", t->root, rel);
    format_or_fail(tmp, sizeof tmp, "%s", path);
    slash = strrchr(tmp, '/');
    *slash = '\0';
    make_dirs(tmp);
    format_or_fail(tmp, sizeof tmp, "%s.new", path);
    zt_write_file(tmp, text);
    if (rename(tmp, path) != 0)
        fail_msg("cannot replace %s: %s", path, strerror(errno));
}

void zt_sysfs_unlink(zt_sysfs *t, const char *rel)
{
    char path[TREE_PATH_LEN];

    format_or_fail(path, sizeof path, "%s/%s", t->root, rel);
    if (remove(path) != 0)
        fail_msg("cannot remove %s: %s", path, strerror(errno));
}
