/*
 * zeus_profiles.c - Zeus's recorded power limit profiles and Zeus's test's expected optima
 * (zeus_profiles.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"
#include "zeus_profiles.h"

void zt_profile_load(const char *path, struct zt_profile *p)
{
    char *text = zt_read_file(path), *line, *save = NULL;

    assert_non_null(text);
    memset(p, 0, sizeof *p);
    snprintf(p->path, sizeof p->path, "%s", path);
    line = strtok_r(text, "\n", &save);
    for (const char *c = line; (c = strstr(c, "_energy")) != NULL; c++)
        p->gpus++;
    assert_true(p->gpus >= 1 && p->gpus <= ZT_PROFILE_GPUS);
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        size_t r = p->rows++;
        char *fsave = NULL;

        assert_true(r < ZT_PROFILE_ROWS);
        strtok_r(line, ",", &fsave); /* start_time */
        p->limit_w[r] = (unsigned)atoi(strrchr(strtok_r(NULL, ",", &fsave), '_') + 1);
        p->time_s[r] = strtod(strtok_r(NULL, ",", &fsave), NULL);
        for (unsigned g = 0; g < p->gpus; g++) {
            p->gpu_j[r][g] = strtod(strtok_r(NULL, ",", &fsave), NULL);
            p->energy_j[r] += p->gpu_j[r][g];
        }
    }
    free(text);
}

size_t zt_profiles_load_all(struct zt_profile *out, size_t cap)
{
    const char *data = getenv("ZEUS_TEST_DATA");
    char dir[512];
    struct dirent **names;
    size_t n = 0;
    int count;

    if (data == NULL)
        fail_msg("ZEUS_TEST_DATA is not set: run the test through ctest");
    snprintf(dir, sizeof dir, "%s/zeus-profile-data", data);
    count = scandir(dir, &names, NULL, alphasort);
    assert_true(count > 0);
    for (int i = 0; i < count; i++) {
        char path[1024];

        if (strstr(names[i]->d_name, ".csv") != NULL && n < cap) {
            snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
            zt_profile_load(path, &out[n++]);
        }
        free(names[i]);
    }
    free(names);
    assert_int_equal(n, ZT_PROFILE_COUNT);
    return n;
}

unsigned zt_profile_max_w(const struct zt_profile *p)
{
    unsigned hi = 0;

    for (size_t r = 0; r < p->rows; r++)
        hi = p->limit_w[r] > hi ? p->limit_w[r] : hi;
    return hi;
}

unsigned zt_profile_min_w(const struct zt_profile *p)
{
    unsigned lo = UINT32_MAX;

    for (size_t r = 0; r < p->rows; r++)
        lo = p->limit_w[r] < lo ? p->limit_w[r] : lo;
    return lo;
}

double zt_profile_cost(const struct zt_profile *p, char kind, double param, unsigned world,
                       size_t r)
{
    double max_power = (double)zt_profile_max_w(p) * world;

    switch (kind) {
    case 'e':
        return p->energy_j[r];
    case 'z':
        return param * p->energy_j[r] + (1 - param) * max_power * p->time_s[r];
    default:
        return p->time_s[r];
    }
}

/* The smallest limit whose time is within factor of the time at the highest limit. */
static unsigned max_slowdown(const struct zt_profile *p, double factor)
{
    double reference = 0;
    unsigned w = UINT32_MAX;

    for (size_t r = 0; r < p->rows; r++)
        if (p->limit_w[r] == zt_profile_max_w(p))
            reference = p->time_s[r];
    for (size_t r = 0; r < p->rows; r++)
        if (p->time_s[r] <= reference * factor && p->limit_w[r] < w)
            w = p->limit_w[r];
    return w;
}

unsigned zt_profile_choice(const struct zt_profile *p, char kind, double param, unsigned world)
{
    size_t best = 0;

    if (kind == 's')
        return max_slowdown(p, param);
    for (size_t r = 1; r < p->rows; r++) /* the least cost; ties go to the first row */
        if (zt_profile_cost(p, kind, param, world, r) < zt_profile_cost(p, kind, param, world, best))
            best = r;
    return p->limit_w[best];
}
