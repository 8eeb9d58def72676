/*
 * dump.c - What the server writes for later inspection when ZEUS_PFO_DUMP_DATA is on, in
 * Zeus's files and format (zeus/optimizer/pipeline_frequency/common.py):
 *
 *   <dump_dir>/<job_id>/ranks.json         the RankInfos, sorted by rank, once all registered
 *   <dump_dir>/<job_id>/<n>.prof.json      round n's ProfilingResults, sorted by rank
 *   <dump_dir>/<job_id>/<n>.sched.json     round n's FrequencySchedules, sorted by rank
 *
 * Each is a JSON array as pydantic v1's .json() writes it: Python's json.dumps with its ", "
 * and ": " separators, ASCII only (\uXXXX escapes), floats as Python's repr. Floats reach the
 * printer as cJSON raw items holding their repr (validate.c makes them), so 1 written for a
 * float field reads back as 1.0, as pydantic writes it.
 *
 * A file is written to a temporary name and renamed, so a reader never sees half of one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pfo_server.h"

struct buf {
    char *s;
    size_t len, cap;
    bool oom;
};

/* ---- Python's json.dumps ------------------------------------------------------------------------ */

static void put(struct buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *p;
        while (cap < b->len + n + 1)
            cap *= 2;
        if ((p = realloc(b->s, cap)) == NULL) {
            b->oom = true;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* The code point of the UTF-8 sequence at s (advancing *i); U+FFFD for a bad one. */
static unsigned decode_utf8(const unsigned char *s, size_t *i)
{
    unsigned c = s[*i], cp, more;

    if (c < 0xC0 || c >= 0xF8) {
        (*i)++;
        return 0xFFFD;
    }
    more = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
    cp = c & (0x3Fu >> more);
    for (unsigned k = 1; k <= more; k++) {
        if ((s[*i + k] & 0xC0) != 0x80) {
            (*i)++;
            return 0xFFFD;
        }
        cp = (cp << 6) | (s[*i + k] & 0x3F);
    }
    *i += more + 1;
    return cp;
}

static void put_string(struct buf *b, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    char esc[16];

    put(b, "\"", 1);
    for (size_t i = 0; s[i] != '\0';) {
        unsigned c = s[i];
        if (c >= 0x80) {
            unsigned cp = decode_utf8(s, &i);
            if (cp >= 0x10000) {
                cp -= 0x10000;
                snprintf(esc, sizeof esc, "\\u%04x\\u%04x", 0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF));
            } else {
                snprintf(esc, sizeof esc, "\\u%04x", cp);
            }
            puts_(b, esc);
            continue;
        }
        i++;
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            put(b, esc, 2);
        } else if (c == '\n') {
            puts_(b, "\\n");
        } else if (c == '\r') {
            puts_(b, "\\r");
        } else if (c == '\t') {
            puts_(b, "\\t");
        } else if (c == '\b') {
            puts_(b, "\\b");
        } else if (c == '\f') {
            puts_(b, "\\f");
        } else if (c < 0x20 || c == 0x7F) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            puts_(b, esc);
        } else {
            put(b, (const char *)&s[i - 1], 1);
        }
    }
    put(b, "\"", 1);
}

static void put_value(struct buf *b, const cJSON *v)
{
    char num[64];

    if (cJSON_IsRaw(v)) {
        puts_(b, v->valuestring);
    } else if (cJSON_IsNumber(v)) {
        snprintf(num, sizeof num, "%.0f", v->valuedouble); /* integers only reach here */
        puts_(b, num);
    } else if (cJSON_IsString(v)) {
        put_string(b, v->valuestring);
    } else if (cJSON_IsBool(v)) {
        puts_(b, cJSON_IsTrue(v) ? "true" : "false");
    } else if (cJSON_IsNull(v)) {
        puts_(b, "null");
    } else {
        bool obj = cJSON_IsObject(v);
        const cJSON *c;
        puts_(b, obj ? "{" : "[");
        for (c = v->child; c != NULL; c = c->next) {
            if (c != v->child)
                puts_(b, ", ");
            if (obj) {
                put_string(b, c->string);
                puts_(b, ": ");
            }
            put_value(b, c);
        }
        puts_(b, obj ? "}" : "]");
    }
}

char *pfo_json_python(const cJSON *obj)
{
    struct buf b = {NULL, 0, 0, false};

    put_value(&b, obj);
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

cJSON *pfo_schedule_json(int rank, const pfo_freqs *f)
{
    cJSON *o = cJSON_CreateObject(), *list;

    cJSON_AddNumberToObject(o, "rank", rank); /* pydantic's field order */
    list = cJSON_AddArrayToObject(o, "frequencies");
    for (size_t k = 0; k < f->count; k++) {
        cJSON *pair = cJSON_CreateArray();
        cJSON_AddItemToArray(pair, cJSON_CreateString(f->names[k]));
        cJSON_AddItemToArray(pair, cJSON_CreateNumber((double)f->mhz[k]));
        cJSON_AddItemToArray(list, pair);
    }
    return o;
}

/* ---- Files -------------------------------------------------------------------------------------- */

static bool make_dirs(const char *path)
{
    char tmp[4096];
    size_t len = strlen(path);

    if (len >= sizeof tmp)
        return false;
    memcpy(tmp, path, len + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
            return false;
        *p = '/';
    }
    return mkdir(tmp, 0777) == 0 || errno == EEXIST;
}

/* Write `arr` (taken) as <dir>/<job_id>/<name>. */
static bool write_json(const char *dir, const char *job_id, const char *name, cJSON *arr,
                       pfo_error *e)
{
    char folder[4096], path[4200], tmp[4300];
    char *text = pfo_json_python(arr);
    FILE *f = NULL;
    bool ok = false;

    cJSON_Delete(arr);
    snprintf(folder, sizeof folder, "%s/%s", dir, job_id);
    snprintf(path, sizeof path, "%s/%s", folder, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (text != NULL && make_dirs(folder) && (f = fopen(tmp, "w")) != NULL) {
        ok = fputs(text, f) >= 0;
        ok = fclose(f) == 0 && ok;
        ok = ok && rename(tmp, path) == 0;
        if (!ok)
            unlink(tmp);
    }
    if (!ok)
        pfo_fail(e, 500, "OSError", "cannot write %s: %s (ZEUS_PFO_DUMP_DIR, or set "
                 "ZEUS_PFO_DUMP_DATA=false)", path, text == NULL ? "out of memory" : strerror(errno));
    free(text);
    return ok;
}

bool pfo_dump_ranks(const char *dir, const char *job_id, const pfo_rank_info *ranks, size_t n,
                    pfo_error *e)
{
    cJSON *arr = cJSON_CreateArray();

    for (size_t r = 0; r < n; r++) {
        cJSON *o = cJSON_CreateObject(), *freqs;
        cJSON_AddNumberToObject(o, "rank", ranks[r].rank);
        cJSON_AddNumberToObject(o, "dp_rank", ranks[r].dp_rank);
        cJSON_AddNumberToObject(o, "pp_rank", ranks[r].pp_rank);
        cJSON_AddNumberToObject(o, "tp_rank", ranks[r].tp_rank);
        freqs = cJSON_AddArrayToObject(o, "available_frequencies");
        for (size_t k = 0; k < ranks[r].freq_count; k++)
            cJSON_AddItemToArray(freqs, cJSON_CreateNumber((double)ranks[r].freqs[k]));
        cJSON_AddItemToArray(arr, o);
    }
    return write_json(dir, job_id, "ranks.json", arr, e);
}

bool pfo_dump_round(const char *dir, const char *job_id, unsigned round,
                    const pfo_result *results, const pfo_freqs *const *scheds, size_t n,
                    pfo_error *e)
{
    cJSON *prof = cJSON_CreateArray(), *sched = cJSON_CreateArray();
    char name[64];

    for (size_t r = 0; r < n; r++) {
        cJSON_AddItemToArray(prof, cJSON_Duplicate(results[r].body, 1));
        cJSON_AddItemToArray(sched, pfo_schedule_json((int)r, scheds[r]));
    }
    snprintf(name, sizeof name, "%u.prof.json", round);
    if (!write_json(dir, job_id, name, prof, e)) {
        cJSON_Delete(sched);
        return false;
    }
    snprintf(name, sizeof name, "%u.sched.json", round);
    return write_json(dir, job_id, name, sched, e);
}
