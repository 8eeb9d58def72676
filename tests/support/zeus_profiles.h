/*
 * zeus_profiles.h - Zeus's recorded power limit profiles (tests/data/zeus-profile-data/,
 * found through ZEUS_TEST_DATA), read independently of the library, and the optimum each
 * selector picks from them, computed as Zeus's own test (ReplayLog in
 * tests/optimizer/test_power_limit_optimizer.py) computes it: energy is the GPU columns
 * summed, ZeusCost's max power is the highest limit x the world size, ties go to the first
 * row, and MaxSlowdown compares with the time at the highest limit.
 */
#ifndef ZEUS_TEST_ZEUS_PROFILES_H
#define ZEUS_TEST_ZEUS_PROFILES_H

#include <stddef.h>

#define ZT_PROFILE_ROWS 16
#define ZT_PROFILE_GPUS 8
#define ZT_PROFILE_COUNT 12 /* files in zeus-profile-data */

struct zt_profile {
    char path[1024];
    unsigned gpus;
    size_t rows;                               /* highest limit first, as recorded */
    unsigned limit_w[ZT_PROFILE_ROWS];
    double time_s[ZT_PROFILE_ROWS];
    double gpu_j[ZT_PROFILE_ROWS][ZT_PROFILE_GPUS];
    double energy_j[ZT_PROFILE_ROWS];          /* the GPU columns summed, in column order */
};

/* Read one ZeusMonitor CSV: start_time,window_name,elapsed_time,gpu<i>_energy... */
void zt_profile_load(const char *path, struct zt_profile *p);

/* Every recorded profile, by file name; fails the test unless all ZT_PROFILE_COUNT load. */
size_t zt_profiles_load_all(struct zt_profile *out, size_t cap);

unsigned zt_profile_max_w(const struct zt_profile *p);
unsigned zt_profile_min_w(const struct zt_profile *p);

/*
 * Selectors, as `kind`: 'e' Energy, 't' Time, 'z' ZeusCost(param = eta, world),
 * 's' MaxSlowdownConstraint(param = factor; world is not used).
 */

/* What the selector compares at row r: energy, Zeus cost, or time ('t' and 's'). */
double zt_profile_cost(const struct zt_profile *p, char kind, double param, unsigned world,
                       size_t r);

/* The limit (W) the selector picks. */
unsigned zt_profile_choice(const struct zt_profile *p, char kind, double param, unsigned world);

#endif /* ZEUS_TEST_ZEUS_PROFILES_H */
