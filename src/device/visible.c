/*
 * visible.c - Parse CUDA_VISIBLE_DEVICES-style lists into physical GPU indices.
 *
 * Frameworks number GPUs by their position in CUDA_VISIBLE_DEVICES (HIP_VISIBLE_DEVICES on
 * AMD, where HIP_VISIBLE_DEVICES wins over CUDA_VISIBLE_DEVICES), while vendor libraries number
 * them physically; this file turns one into the other.
 *
 * Concept: accept what CUDA accepts. Reality: CUDA silently stops reading the list at the
 * first entry it cannot use ("0,1,-1,2" means GPUs 0 and 1), and quietly drops unknown
 * UUIDs. A measuring library that did the same would attribute energy to the wrong GPU
 * without a word, so every such entry is an error here that names the entry. Duplicates are
 * refused for the same reason: they would count one GPU's energy twice.
 *
 * MIG slices ("MIG-<uuid>", or the older "MIG-GPU-<uuid>/<gi>/<ci>") name a part of a GPU,
 * but NVML measures only whole GPUs, so a slice stands for its parent GPU: the backend
 * resolves new-style UUIDs (only the vendor library knows them), the older form carries the
 * parent's UUID itself. The caller learns which entries were slices so it can say that
 * their energy is the whole GPU's. Two slices of one GPU are refused like any duplicate.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "device/visible.h"
#include "util/error.h"

#define ENTRY_MAX 128 /* longer than any index or UUID ("GPU-" + 36) */

/* ---- Entries ---------------------------------------------------------------------------- */

/* Copy the entry [start, end) without surrounding spaces into buf. 0 when it is too long. */
static int trim_entry(const char *start, const char *end, char *buf, size_t len)
{
    while (start < end && isspace((unsigned char)*start))
        start++;
    while (end > start && isspace((unsigned char)end[-1]))
        end--;
    if ((size_t)(end - start) >= len)
        return 0;
    memcpy(buf, start, (size_t)(end - start));
    buf[end - start] = '\0';
    return 1;
}

static int all_digits(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s != '\0'; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

/* A physical index written in decimal. */
static zeus_status index_entry(const char *var, const char *entry, unsigned physical_count,
                               unsigned *idx)
{
    unsigned long v;

    if (entry[0] == '-' && all_digits(entry + 1))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                          "%s entry \"%s\" is not a GPU index (CUDA ignores it and every entry "
                          "after it; list only the GPUs to use)",
                          var, entry);
    if (!all_digits(entry))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                          "%s entry \"%s\" is neither a GPU index nor a GPU UUID (GPU-...)", var,
                          entry);
    errno = 0;
    v = strtoul(entry, NULL, 10);
    if (errno != 0 || v >= physical_count) {
        if (physical_count == 0)
            return zeus__fail(ZEUS_ERR_NOT_FOUND, "%s entry \"%s\" is out of range: no GPUs found",
                              var, entry);
        return zeus__fail(ZEUS_ERR_NOT_FOUND,
                          "%s entry \"%s\" is out of range: %u GPU%s found (indices 0-%u)", var,
                          entry, physical_count, physical_count == 1 ? "" : "s",
                          physical_count - 1);
    }
    *idx = (unsigned)v;
    return ZEUS_OK;
}

/* A full UUID or a prefix that only one GPU's UUID starts with (as CUDA matches them). */
static zeus_status uuid_entry(const char *var, const char *entry, const char *const *uuids,
                              unsigned physical_count, unsigned *idx)
{
    size_t len = strlen(entry);
    unsigned found = 0, first = 0;

    if (len <= 4)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "%s entry \"%s\" has no UUID after GPU-",
                          var, entry);
    for (unsigned i = 0; uuids != NULL && i < physical_count; i++) {
        if (uuids[i] == NULL || strncasecmp(uuids[i], entry, len) != 0)
            continue;
        if (found++ == 0)
            first = i;
        else
            return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                              "%s entry \"%s\" matches GPUs %u and %u: give more of the UUID",
                              var, entry, first, i);
    }
    if (found == 0)
        return zeus__fail(ZEUS_ERR_NOT_FOUND, "%s entry \"%s\" matches no GPU's UUID", var,
                          entry);
    *idx = first;
    return ZEUS_OK;
}

/* The older "MIG-GPU-<parent uuid>/<gi>/<ci>" form (drivers before R470): the parent's UUID. */
static zeus_status legacy_mig_entry(const char *var, const char *entry, const char *const *uuids,
                                    unsigned physical_count, unsigned *idx)
{
    char parent[ENTRY_MAX];
    size_t len = strcspn(entry + 4, "/");

    memcpy(parent, entry + 4, len);
    parent[len] = '\0';
    if (entry[4 + len] != '/')
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                          "%s entry \"%s\" is not a MIG device (MIG-GPU-<uuid>/<gi>/<ci>)", var,
                          entry);
    if (uuid_entry(var, parent, uuids, physical_count, idx) != ZEUS_OK)
        return zeus__fail(ZEUS_ERR_NOT_FOUND, "%s entry \"%s\": no GPU has the UUID %s", var,
                          entry, parent);
    return ZEUS_OK;
}

static zeus_status mig_entry(const char *var, const char *entry, const char *const *uuids,
                             unsigned physical_count, const struct zeus__visible_mig *mig,
                             unsigned *idx)
{
    if (mig == NULL || mig->parent == NULL)
        return zeus__fail(ZEUS_ERR_NOT_SUPPORTED,
                          "%s entry \"%s\" is a MIG instance, which this vendor's library "
                          "cannot map to a GPU (list GPU indices or GPU UUIDs instead)",
                          var, entry);
    if (strncasecmp(entry, "MIG-GPU-", 8) == 0)
        return legacy_mig_entry(var, entry, uuids, physical_count, idx);
    return mig->parent(entry, mig->user, idx);
}

static zeus_status parse_entry(const char *var, const char *entry, const char *const *uuids,
                               unsigned physical_count, const struct zeus__visible_mig *mig,
                               unsigned *idx)
{
    if (strncasecmp(entry, "MIG", 3) == 0)
        return mig_entry(var, entry, uuids, physical_count, mig, idx);
    if (strncasecmp(entry, "GPU-", 4) == 0)
        return uuid_entry(var, entry, uuids, physical_count, idx);
    return index_entry(var, entry, physical_count, idx);
}

/* The same GPU listed twice; a slice is named as such, since that is the usual cause. */
static zeus_status duplicate(const char *var, unsigned idx, const char *entry, int slices)
{
    if (slices)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                          "%s lists GPU %u twice (again as \"%s\"): MIG slices of one GPU "
                          "cannot be told apart, since NVML measures the whole GPU, and its "
                          "energy would count twice (list one slice per GPU)",
                          var, idx, entry);
    return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "%s lists GPU %u twice (again as \"%s\")",
                      var, idx, entry);
}

/* ---- Lists ------------------------------------------------------------------------------ */

static zeus_status all_gpus(unsigned physical_count, unsigned *out, unsigned *count)
{
    unsigned n = physical_count < *count ? physical_count : *count;

    for (unsigned i = 0; i < n; i++)
        out[i] = i;
    *count = n;
    return ZEUS_OK;
}

zeus_status zeus__visible_parse(const char *var, const char *value, const char *const *uuids,
                                unsigned physical_count, unsigned *out, unsigned *count)
{
    return zeus__visible_parse_mig(var, value, uuids, physical_count, NULL, out, count);
}

zeus_status zeus__visible_parse_mig(const char *var, const char *value,
                                    const char *const *uuids, unsigned physical_count,
                                    struct zeus__visible_mig *mig, unsigned *out,
                                    unsigned *count)
{
    char entry[ENTRY_MAX];
    unsigned room = *count, n = 0;
    const char *p = value;

    if (mig != NULL)
        memset(mig->from_mig, 0, sizeof mig->from_mig);
    if (value == NULL)
        return all_gpus(physical_count, out, count);
    if (value[strspn(value, " \t")] == '\0')
        return zeus__fail(ZEUS_ERR_NOT_FOUND,
                          "%s is set but empty: no GPUs are visible (unset it to use every GPU)",
                          var);
    for (;;) {
        const char *end = strchr(p, ',');
        unsigned idx = 0;
        zeus_status s;

        if (end == NULL)
            end = p + strlen(p);
        if (!trim_entry(p, end, entry, sizeof entry))
            return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "%s entry \"%.40s...\" is too long",
                              var, p);
        if (entry[0] == '\0')
            return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT,
                              "%s=\"%s\" has an empty entry at position %u", var, value, n);
        s = parse_entry(var, entry, uuids, physical_count, mig, &idx);
        if (s != ZEUS_OK)
            return s;
        for (unsigned k = 0; k < n; k++)
            if (out[k] == idx)
                return duplicate(var, idx, entry,
                                 mig != NULL && (mig->from_mig[k] ||
                                                 strncasecmp(entry, "MIG", 3) == 0));
        if (n == room)
            return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "%s lists more than %u GPUs", var,
                              room);
        if (mig != NULL && n < ZEUS__VISIBLE_MAX)
            mig->from_mig[n] = strncasecmp(entry, "MIG", 3) == 0;
        out[n++] = idx;
        if (*end == '\0')
            break;
        p = end + 1;
    }
    *count = n;
    return ZEUS_OK;
}

const char *zeus__visible_hip_var(void)
{
    return getenv("HIP_VISIBLE_DEVICES") != NULL ? "HIP_VISIBLE_DEVICES" : "CUDA_VISIBLE_DEVICES";
}

zeus_status zeus__visible_from_env(const char *var, const char *const *uuids,
                                   unsigned physical_count, unsigned *out, unsigned *count)
{
    return zeus__visible_parse(var, getenv(var), uuids, physical_count, out, count);
}

zeus_status zeus__visible_from_env_mig(const char *var, const char *const *uuids,
                                       unsigned physical_count, struct zeus__visible_mig *mig,
                                       unsigned *out, unsigned *count)
{
    return zeus__visible_parse_mig(var, getenv(var), uuids, physical_count, mig, out, count);
}
