/*
 * window.c - The README's example: measure one window on every GPU and CPU package found.
 *
 * Build against an installed Zeus-C:  cc window.c $(pkg-config --cflags --libs zeus)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <time.h>
#include <zeus/zeus.h>

int main(void)
{
    zeus_monitor_options o;
    zeus_monitor *m;
    zeus_measurement r;
    struct timespec work = {0, 300 * 1000 * 1000};

    zeus_monitor_options_init(&o); /* all visible GPUs and CPU packages */
    if (zeus_monitor_create(&o, &m) != ZEUS_OK) {
        fprintf(stderr, "zeus: %s\n", zeus_last_error());
        return 1;
    }
    zeus_monitor_begin_window(m, "step", ZEUS_WINDOW_SYNC);
    nanosleep(&work, NULL); /* the work */
    if (zeus_monitor_end_window(m, "step", ZEUS_WINDOW_SYNC, &r) != ZEUS_OK)
        fprintf(stderr, "zeus: %s\n", zeus_last_error());
    for (unsigned i = 0; i < r.gpu_count; i++)
        printf("GPU %u: %.3f J\n", r.gpu_index[i], r.gpu_energy_j[i]);
    printf("%.3f s, %.3f J on GPUs\n", r.time_s, zeus_measurement_total_energy(&r));
    zeus_monitor_destroy(m);
    return 0;
}
