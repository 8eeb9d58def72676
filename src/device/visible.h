/*
 * visible.h - Which physical GPUs a process may use, from CUDA_VISIBLE_DEVICES or
 * HIP_VISIBLE_DEVICES, numbered as the frameworks number them.
 *
 * The parser is vendor-neutral: the backend passes the variable's name (used in messages and
 * for getenv) and the UUIDs of the physical GPUs its library reports, and gets back the
 * physical indices in framework order: entry k of the list is framework GPU k.
 */
#ifndef ZEUS_DEVICE_VISIBLE_H
#define ZEUS_DEVICE_VISIBLE_H

#include "zeus/status.h"

/*
 * Map the devices list `value` of variable `var` to physical GPU indices.
 *
 * value: the variable's value, NULL when it is unset (then every GPU is visible, in
 *        physical order). Entries are comma-separated, spaces around them are ignored, and
 *        each is a physical index ("2") or a UUID ("GPU-5d1c...") or a prefix of one that
 *        matches a single GPU, as CUDA accepts.
 * uuids: `physical_count` UUID strings as the vendor library reports them; NULL, or a NULL
 *        entry, where a UUID is unknown (such a GPU can only be named by its index).
 * out: room for *count physical indices; *count: in, that room; out, the number written.
 *
 * Returns ZEUS_ERR_NOT_FOUND for an empty value (no GPU is visible), an index past the last
 * GPU or a UUID that matches none; ZEUS_ERR_NOT_SUPPORTED for a MIG instance ("MIG-...",
 * which zeus__visible_parse_mig() maps to its GPU instead);
 * ZEUS_ERR_INVALID_ARGUMENT for an entry that is neither an index nor a UUID, an empty
 * entry, a GPU listed twice, an ambiguous UUID prefix, or more entries than *count. Every
 * message names the variable and the offending entry. Pure; safe from any thread.
 */
zeus_status zeus__visible_parse(const char *var, const char *value, const char *const *uuids,
                                unsigned physical_count, unsigned *out, unsigned *count);

/*
 * The variable that chooses AMD GPUs, as HIP reads it: "HIP_VISIBLE_DEVICES" when it is set
 * (even empty), else "CUDA_VISIBLE_DEVICES" (which HIP also honours). Zeus does the same.
 */
const char *zeus__visible_hip_var(void);

/* zeus__visible_parse() on getenv(var). */
zeus_status zeus__visible_from_env(const char *var, const char *const *uuids,
                                   unsigned physical_count, unsigned *out, unsigned *count);

/* ---- MIG slices (NVIDIA) ---------------------------------------------------------------- */

#define ZEUS__VISIBLE_MAX 64 /* entries from_mig records: ZEUS_MAX_GPUS */

/*
 * Find the physical index of the GPU that holds the MIG device `mig_uuid` ("MIG-..." as
 * given). ZEUS_OK, or a status whose message names the entry (ZEUS_ERR_NOT_FOUND when no
 * MIG device has that UUID).
 */
typedef zeus_status (*zeus__mig_parent_fn)(const char *mig_uuid, void *user,
                                           unsigned *physical);

struct zeus__visible_mig {
    zeus__mig_parent_fn parent; /* in: resolves "MIG-<uuid>"; NULL refuses MIG entries */
    void *user;                 /* in: passed to parent */
    /* out: from_mig[k] is 1 when entry k named a MIG slice (it stands for its whole GPU) */
    unsigned char from_mig[ZEUS__VISIBLE_MAX];
};

/*
 * zeus__visible_parse(), where a MIG slice stands for the GPU that holds it: "MIG-GPU-<gpu
 * uuid>/<gi>/<ci>" (drivers before R470) through `uuids`, "MIG-<uuid>" through
 * mig->parent. Two slices of one GPU are a GPU listed twice (ZEUS_ERR_INVALID_ARGUMENT).
 * mig NULL: as zeus__visible_parse().
 */
zeus_status zeus__visible_parse_mig(const char *var, const char *value,
                                    const char *const *uuids, unsigned physical_count,
                                    struct zeus__visible_mig *mig, unsigned *out,
                                    unsigned *count);

/* zeus__visible_parse_mig() on getenv(var). */
zeus_status zeus__visible_from_env_mig(const char *var, const char *const *uuids,
                                       unsigned physical_count, struct zeus__visible_mig *mig,
                                       unsigned *out, unsigned *count);

#endif /* ZEUS_DEVICE_VISIBLE_H */
