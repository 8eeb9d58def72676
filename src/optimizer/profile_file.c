/*
 * profile_file.c - The power limit optimizer's profile: Zeus's JSON, both ways.
 *
 * Zeus writes the profile with pydantic's .json(indent=4), which is Python's json.dumps:
 * 4-space indents, ", " nowhere (one item per line), ": " after keys, floats as repr() prints
 * them, no final newline. Writing the same bytes lets a profile move between Zeus and
 * Zeus-C, and lets a diff show only real changes. Reading follows pydantic's model: unknown
 * fields are ignored, every value must be positive.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "util/error.h"
#include "util/fmt.h"
#include "zeus/power_limit.h"

/* Profiles are a few hundred bytes; anything past this is not one. */
#define PROFILE_MAX_BYTES (16 * 1024 * 1024)

/* ---- Reading ------------------------------------------------------------------------------ */

static zeus_status read_all(const char *path, char **out)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0, got;

    if (f == NULL)
        return zeus__fail_errno(errno == EACCES ? ZEUS_ERR_NO_PERMISSION : ZEUS_ERR_IO, errno,
                                "cannot open profile %s", path);
    do {
        if (len + 4096 + 1 > cap) {
            char *grown;

            cap = cap ? cap * 2 : 8192;
            if (cap > PROFILE_MAX_BYTES || (grown = realloc(buf, cap)) == NULL) {
                free(buf);
                fclose(f);
                return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "profile %s: too large", path);
            }
            buf = grown;
        }
        got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
    } while (got > 0);
    if (ferror(f)) {
        free(buf);
        fclose(f);
        return zeus__fail_errno(ZEUS_ERR_IO, errno, "cannot read profile %s", path);
    }
    fclose(f);
    buf[len] = '\0';
    *out = buf;
    return ZEUS_OK;
}

static zeus_status bad(const char *path, size_t i, const char *field, const char *why)
{
    return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "profile %s: measurements[%zu].%s %s", path, i,
                      field, why);
}

static zeus_status parse_entry(const char *path, size_t i, const cJSON *e,
                               zeus_plo_measurement *m)
{
    const cJSON *pl = cJSON_GetObjectItemCaseSensitive(e, "power_limit");
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(e, "energy");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(e, "time");

    if (!cJSON_IsObject(e))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "profile %s: measurements[%zu] is not an "
                          "object", path, i);
    if (!cJSON_IsNumber(pl))
        return bad(path, i, "power_limit", pl == NULL ? "is missing" : "is not a number");
    if (!(pl->valuedouble >= 1 && pl->valuedouble <= 1e6) ||
        pl->valuedouble != floor(pl->valuedouble))
        return bad(path, i, "power_limit", "must be a positive whole number of watts");
    if (!cJSON_IsNumber(en))
        return bad(path, i, "energy", en == NULL ? "is missing" : "is not a number");
    if (!(isfinite(en->valuedouble) && en->valuedouble > 0))
        return bad(path, i, "energy", "must be a positive number of joules");
    if (!cJSON_IsNumber(t))
        return bad(path, i, "time", t == NULL ? "is missing" : "is not a number");
    if (!(isfinite(t->valuedouble) && t->valuedouble > 0))
        return bad(path, i, "time", "must be a positive number of seconds");
    m->power_limit_w = (unsigned)pl->valuedouble;
    m->energy_j = en->valuedouble;
    m->time_s = t->valuedouble;
    return ZEUS_OK;
}

static zeus_status parse(const char *path, const cJSON *root, zeus_plo_measurement **out,
                         size_t *n)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "measurements");
    zeus_plo_measurement *m;
    size_t count, i = 0;
    const cJSON *e;

    if (!cJSON_IsObject(root))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "profile %s: not a JSON object", path);
    if (!cJSON_IsArray(list))
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "profile %s: %s", path,
                          list == NULL ? "no \"measurements\" list"
                                       : "\"measurements\" is not a list");
    count = (size_t)cJSON_GetArraySize(list);
    if (count == 0)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "profile %s: \"measurements\" is empty",
                          path);
    if ((m = calloc(count, sizeof *m)) == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "profile %s: out of memory", path);
    cJSON_ArrayForEach(e, list) {
        zeus_status s = parse_entry(path, i, e, &m[i]);

        if (s != ZEUS_OK) {
            free(m);
            return s;
        }
        i++;
    }
    *out = m;
    *n = count;
    return ZEUS_OK;
}

zeus_status zeus_plo_profile_load(const char *path, zeus_plo_measurement **out, size_t *n)
{
    char *text = NULL;
    cJSON *root;
    zeus_status s;

    if (path == NULL || out == NULL || n == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "zeus_plo_profile_load: NULL argument");
    if ((s = read_all(path, &text)) != ZEUS_OK)
        return s;
    root = cJSON_Parse(text);
    free(text);
    if (root == NULL)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "profile %s: not valid JSON", path);
    s = parse(path, root, out, n);
    cJSON_Delete(root);
    return s;
}

/* ---- Writing ------------------------------------------------------------------------------ */

static int write_entries(FILE *f, const zeus_plo_measurement *m, size_t n)
{
    char e[32], t[32];

    fputs("{\n    \"measurements\": [\n", f);
    for (size_t i = 0; i < n; i++)
        fprintf(f,
                "        {\n"
                "            \"power_limit\": %u,\n"
                "            \"energy\": %s,\n"
                "            \"time\": %s\n"
                "        }%s\n",
                m[i].power_limit_w, zeus__fmt_double(m[i].energy_j, e, sizeof e),
                zeus__fmt_double(m[i].time_s, t, sizeof t), i + 1 < n ? "," : "");
    fputs("    ]\n}", f);
    return ferror(f) ? -1 : 0;
}

/* A temporary name beside `path`, so that the rename stays on one file system. */
static char *temp_beside(const char *path)
{
    size_t len = strlen(path) + sizeof ".zeus-XXXXXX";
    char *tmp = malloc(len);

    if (tmp != NULL)
        snprintf(tmp, len, "%s.zeus-XXXXXX", path);
    return tmp;
}

zeus_status zeus_plo_profile_save(const char *path, const zeus_plo_measurement *m, size_t n)
{
    char *tmp;
    FILE *f;
    int fd, err = 0;
    mode_t mask;

    if (path == NULL || m == NULL || n == 0)
        return zeus__fail(ZEUS_ERR_INVALID_ARGUMENT, "zeus_plo_profile_save: nothing to save");
    if ((tmp = temp_beside(path)) == NULL)
        return zeus__fail(ZEUS_ERR_NO_MEMORY, "profile %s: out of memory", path);
    if ((fd = mkstemp(tmp)) < 0) {
        zeus_status s = zeus__fail_errno(ZEUS_ERR_IO, errno, "cannot create profile %s", path);
        free(tmp);
        return s;
    }
    mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask); /* what a plain fopen would give, not mkstemp's 0600 */
    if ((f = fdopen(fd, "w")) == NULL) {
        err = errno;
        close(fd);
    } else {
        if (write_entries(f, m, n) != 0)
            err = errno ? errno : EIO;
        if (fclose(f) != 0 && err == 0)
            err = errno;
    }
    if (err == 0 && rename(tmp, path) != 0)
        err = errno;
    if (err != 0) {
        unlink(tmp);
        free(tmp);
        return zeus__fail_errno(ZEUS_ERR_IO, err, "cannot write profile %s", path);
    }
    free(tmp);
    return ZEUS_OK;
}
