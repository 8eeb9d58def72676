/*
 * window.c - Allocates a window's record and its per-device arrays in one block.
 *
 * One malloc per window rather than eight keeps begin_window near the cost of a clock read:
 * the sampled engine's target is 2 us for a begin+end pair (issue 3, zeus bench windows).
 */
#include <stdlib.h>
#include <string.h>

#include "monitor/window.h"

/* Round up so every array in the block is aligned for doubles and pointers. */
static size_t align8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

struct zeus__window *zeus__window_new(struct zeus_monitor *mon, const char *key,
                                      unsigned gpu_count, unsigned cpu_count, int sampled)
{
    size_t key_len = strlen(key) + 1;
    size_t sz_head = align8(sizeof(struct zeus__window));
    size_t sz_read = align8(gpu_count * sizeof(zeus__energy_reading));
    size_t sz_edge = sampled ? align8(gpu_count * sizeof(zeus__edge)) : 0;
    size_t sz_cpu = align8(cpu_count * sizeof(zeus_cpu_energy));
    size_t sz_cpu_s = align8(cpu_count * sizeof(zeus_status));
    size_t sz_power = align8(gpu_count * sizeof(double));
    size_t total = sz_head + 2 * sz_read + 2 * sz_edge + 2 * sz_cpu + 2 * sz_cpu_s + sz_power +
                   key_len;
    char *p = malloc(total);
    struct zeus__window *w = (struct zeus__window *)p;

    if (p == NULL)
        return NULL;
    memset(w, 0, sizeof *w);
    w->mon = mon;
    w->gpu_count = gpu_count;
    w->cpu_count = cpu_count;
    p += sz_head;
    w->gpu_start = (zeus__energy_reading *)p, p += sz_read;
    w->gpu_end = (zeus__energy_reading *)p, p += sz_read;
    if (sampled) {
        w->start_edge = (zeus__edge *)p, p += sz_edge;
        w->end_edge = (zeus__edge *)p, p += sz_edge;
    }
    w->cpu_start = (zeus_cpu_energy *)p, p += sz_cpu;
    w->cpu_end = (zeus_cpu_energy *)p, p += sz_cpu;
    w->cpu_start_status = (zeus_status *)p, p += sz_cpu_s;
    w->cpu_end_status = (zeus_status *)p, p += sz_cpu_s;
    w->power_w = (double *)p, p += sz_power;
    w->key = p;
    memcpy(w->key, key, key_len);
    return w;
}

void zeus__window_free(struct zeus__window *w)
{
    free(w);
}
