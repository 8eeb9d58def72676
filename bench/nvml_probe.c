/*
 * nvml_probe.c - What the sampler's design rests on, measured on a real GPU: the CPU time
 * (not only the wall time) of an energy-counter read and of a power read, and whether the
 * cheap power reading changes on the same clock as the energy counter, so that a sampler could
 * find counter updates by watching power instead of reading the counter again and again.
 *
 * Read only. Built by hand on a GPU machine (scripts/gpu-check.sh does it):
 *   cc -O2 -o nvml_probe bench/nvml_probe.c -ldl -lpthread -lm
 */
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef void *dev_t_;
static int (*init_)(void);
static int (*handle_)(unsigned, dev_t_ *);
static int (*energy_)(dev_t_, unsigned long long *);
static int (*power_)(dev_t_, unsigned *);
static dev_t_ dev;

static double now_s(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void cost(const char *what, int n, int energy)
{
    double w0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_THREAD_CPUTIME_ID);
    unsigned long long e;
    unsigned p;
    for (int i = 0; i < n; i++)
        energy ? energy_(dev, &e) : power_(dev, &p);
    double w = now_s(CLOCK_MONOTONIC) - w0, c = now_s(CLOCK_THREAD_CPUTIME_ID) - c0;
    printf("%-28s %6d reads: wall %9.2f us/read, CPU %9.2f us/read (%.0f%% of wall)\n", what, n,
           w / n * 1e6, c / n * 1e6, 100 * c / w);
}

#define MAXE 512
static double power_edges[MAXE * 8];
static int n_power_edges;
static volatile int stop;

static void *watch_power(void *arg)
{
    unsigned last = 0, p;
    (void)arg;
    power_(dev, &last);
    while (!stop && n_power_edges < MAXE * 8) {
        if (power_(dev, &p) == 0 && p != last) {
            power_edges[n_power_edges++] = now_s(CLOCK_MONOTONIC);
            last = p;
        }
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

int main(void)
{
    void *lib = dlopen("libnvidia-ml.so.1", RTLD_NOW);
    if (!lib) {
        printf("nvml_probe: no libnvidia-ml.so.1: %s\n", dlerror());
        return 0;
    }
    init_ = (int (*)(void))dlsym(lib, "nvmlInit_v2");
    handle_ = (int (*)(unsigned, dev_t_ *))dlsym(lib, "nvmlDeviceGetHandleByIndex_v2");
    energy_ = (int (*)(dev_t_, unsigned long long *))dlsym(lib, "nvmlDeviceGetTotalEnergyConsumption");
    power_ = (int (*)(dev_t_, unsigned *))dlsym(lib, "nvmlDeviceGetPowerUsage");
    if (!init_ || !handle_ || !energy_ || !power_ || init_() != 0 || handle_(0, &dev) != 0) {
        printf("nvml_probe: NVML did not initialize\n");
        return 0;
    }
    cost("nvmlDeviceGetTotalEnergyConsumption", 200, 1);
    cost("nvmlDeviceGetPowerUsage", 20000, 0);

    /* Energy read back to back on this thread; power watched every 0.1 ms on another. */
    pthread_t th;
    pthread_create(&th, NULL, watch_power, NULL);
    double e_lo[MAXE], e_hi[MAXE];
    int ne = 0;
    unsigned long long last, e;
    energy_(dev, &last);
    double prev_t0 = now_s(CLOCK_MONOTONIC), end = prev_t0 + 4.0;
    while (now_s(CLOCK_MONOTONIC) < end && ne < MAXE) {
        double t0 = now_s(CLOCK_MONOTONIC);
        if (energy_(dev, &e) != 0)
            continue;
        double t1 = now_s(CLOCK_MONOTONIC);
        if (e != last) {
            e_lo[ne] = prev_t0, e_hi[ne] = t1, ne++;
            last = e;
        }
        prev_t0 = t0;
    }
    stop = 1;
    pthread_join(th, NULL);

    /* For each energy update bracket, the nearest power edge and whether it lies inside. */
    int inside = 0;
    double width = 0, offs[MAXE];
    for (int i = 0; i < ne; i++) {
        double mid = (e_lo[i] + e_hi[i]) / 2, best = 1e9;
        for (int j = 0; j < n_power_edges; j++)
            if (fabs(power_edges[j] - mid) < fabs(best))
                best = power_edges[j] - mid;
        offs[i] = best;
        width += e_hi[i] - e_lo[i];
        for (int j = 0; j < n_power_edges; j++)
            if (power_edges[j] >= e_lo[i] && power_edges[j] <= e_hi[i]) {
                inside++;
                break;
            }
    }
    printf("4 s: %d energy updates (mean bracket %.2f ms), %d power changes\n", ne,
           ne ? width / ne * 1e3 : 0, n_power_edges);
    printf("energy updates with a power change inside their bracket: %d of %d\n", inside, ne);
    printf("nearest power change minus bracket middle, ms:");
    for (int i = 0; i < ne && i < 40; i++)
        printf(" %.1f", offs[i] * 1e3);
    printf("\n");
    return 0;
}
