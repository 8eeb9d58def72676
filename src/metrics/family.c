/*
 * family.c - A metric family of the push metrics and its text rendering (family.h).
 *
 * Exposition names follow prometheus_client, which Zeus uses: a counter family named
 * energy_monitor_gpu_energy_joules is written as energy_monitor_gpu_energy_joules_total
 * (HELP and TYPE lines included), a histogram as _bucket (cumulative, `le` last, +Inf
 * included), _sum and _count. prometheus_client also writes _created samples; they are left
 * out, since a Pushgateway group is replaced on every push and they carry nothing then.
 *
 * Series are kept in a list: a job has a handful of windows times devices, and a push
 * renders all of them anyway.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/family.h"

int zeus__family_init(struct zeus__family *f, enum zeus__family_type type, const char *name,
                      const char *help, const double *buckets, size_t bucket_count)
{
    memset(f, 0, sizeof *f);
    f->type = type;
    f->name = name;
    f->help = help;
    if (type == ZEUS__HISTOGRAM) {
        f->buckets = malloc((bucket_count ? bucket_count : 1) * sizeof *f->buckets);
        if (f->buckets == NULL)
            return -1;
        memcpy(f->buckets, buckets, bucket_count * sizeof *buckets);
        f->bucket_count = bucket_count;
    }
    return 0;
}

void zeus__family_fini(struct zeus__family *f)
{
    struct zeus__series *s = f->series;

    while (s != NULL) {
        struct zeus__series *next = s->next;
        free(s->window);
        free(s->counts);
        free(s);
        s = next;
    }
    free(f->buckets);
    memset(f, 0, sizeof *f);
}

struct zeus__series *zeus__family_series(struct zeus__family *f, const char *window,
                                         unsigned index)
{
    struct zeus__series *s, **tail = &f->series;

    for (s = f->series; s != NULL; s = s->next) {
        if (s->index == index && strcmp(s->window, window) == 0)
            return s;
        tail = &s->next;
    }
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->window = strdup(window);
    s->index = index;
    if (f->type == ZEUS__HISTOGRAM)
        s->counts = calloc(f->bucket_count + 1, sizeof *s->counts);
    if (s->window == NULL || (f->type == ZEUS__HISTOGRAM && s->counts == NULL)) {
        free(s->window);
        free(s->counts);
        free(s);
        return NULL;
    }
    *tail = s; /* keep first-seen order: stable output */
    return s;
}

void zeus__series_observe(const struct zeus__family *f, struct zeus__series *s, double v)
{
    size_t i = 0;

    while (i < f->bucket_count && !(v <= f->buckets[i]))
        i++;
    s->counts[i] += 1; /* NAN lands in +Inf, as prometheus_client's bisect puts it */
    s->value += v;
    s->count++;
}

void zeus__family_render(const struct zeus__family *f, zeus__prom_buf *b)
{
    char name[160], idx[16], le[40];

    if (f->series == NULL)
        return;
    switch (f->type) {
    case ZEUS__COUNTER:
        snprintf(name, sizeof name, "%s_total", f->name);
        zeus__prom_family(b, name, f->help, "counter");
        break;
    case ZEUS__GAUGE:
        zeus__prom_family(b, f->name, f->help, "gauge");
        break;
    case ZEUS__HISTOGRAM:
        zeus__prom_family(b, f->name, f->help, "histogram");
        break;
    }
    for (const struct zeus__series *s = f->series; s != NULL; s = s->next) {
        zeus__prom_label labels[2] = {{"window", s->window}, {"index", idx}};
        snprintf(idx, sizeof idx, "%u", s->index);
        if (f->type != ZEUS__HISTOGRAM) {
            zeus__prom_sample(b, f->type == ZEUS__COUNTER ? name : f->name, labels, 2, NULL,
                              NULL, s->value);
            continue;
        }
        {
            double cumulative = 0;
            snprintf(name, sizeof name, "%s_bucket", f->name);
            for (size_t i = 0; i <= f->bucket_count; i++) {
                cumulative += s->counts[i];
                zeus__prom_format_value(i < f->bucket_count ? f->buckets[i] : INFINITY, le,
                                        sizeof le);
                zeus__prom_sample(b, name, labels, 2, "le", le, cumulative);
            }
            snprintf(name, sizeof name, "%s_count", f->name);
            zeus__prom_sample(b, name, labels, 2, NULL, NULL, (double)s->count);
            snprintf(name, sizeof name, "%s_sum", f->name);
            zeus__prom_sample(b, name, labels, 2, NULL, NULL, s->value);
        }
    }
}
