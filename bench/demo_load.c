/*
 * demo_load.c - A small CPU load for `make run` and the tests: multiplies matrices on every
 * core for the given number of seconds (default 2), then prints what it did.
 *
 * Usage: zeus_demo_load [SECONDS] [EXIT_CODE]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define N 96

struct job {
    double seconds;
    unsigned long rounds;
    double checksum;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *work(void *arg)
{
    struct job *job = arg;
    static _Thread_local double a[N][N], b[N][N], c[N][N];
    double end = now_s() + job->seconds;

    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            a[i][j] = (double)(i + j) / N;
            b[i][j] = (double)(i - j) / N;
        }
    while (now_s() < end) {
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) {
                double s = 0;
                for (int k = 0; k < N; k++)
                    s += a[i][k] * b[k][j];
                c[i][j] = s;
            }
        job->checksum += c[N / 2][N / 3];
        job->rounds++;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    int exit_code = argc > 2 ? atoi(argv[2]) : 0;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    pthread_t threads[64];
    struct job jobs[64] = {{0}};
    unsigned long rounds = 0;

    if (cores < 1)
        cores = 1;
    if (cores > 64)
        cores = 64;
    for (long i = 0; i < cores; i++) {
        jobs[i].seconds = seconds;
        pthread_create(&threads[i], NULL, work, &jobs[i]);
    }
    for (long i = 0; i < cores; i++) {
        pthread_join(threads[i], NULL);
        rounds += jobs[i].rounds;
    }
    printf("demo load: %ld threads, %.1f s, %lu matrix products of %dx%d\n", cores, seconds,
           rounds, N, N);
    return exit_code;
}
