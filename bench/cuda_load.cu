// cuda_load.cu - A short GPU load for scripts/gpu-check.sh: back-to-back FMA kernels on every
// visible GPU for the given number of seconds (default 5). Built with nvcc where it exists.
#include <cstdio>
#include <cstdlib>
#include <ctime>

__global__ void burn(float *x, int n, int rounds)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n)
        return;
    float v = x[i];
    for (int r = 0; r < rounds; r++)
        v = v * 1.000001f + 0.5f;
    x[i] = v;
}

static double now_s()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 5.0;
    int devices = 0, n = 1 << 24;
    if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
        fprintf(stderr, "cuda_load: no CUDA device\n");
        return 1;
    }
    float *buf[16] = {0};
    for (int d = 0; d < devices && d < 16; d++) {
        cudaSetDevice(d);
        cudaMalloc(&buf[d], n * sizeof(float));
        cudaMemset(buf[d], 0, n * sizeof(float));
    }
    double end = now_s() + seconds;
    long launches = 0;
    while (now_s() < end) {
        for (int d = 0; d < devices && d < 16; d++) {
            cudaSetDevice(d);
            burn<<<(n + 255) / 256, 256>>>(buf[d], n, 2000);
        }
        for (int d = 0; d < devices && d < 16; d++) {
            cudaSetDevice(d);
            cudaDeviceSynchronize();
        }
        launches++;
    }
    printf("cuda_load: %d GPU(s), %.1f s, %ld rounds\n", devices, seconds, launches);
    return 0;
}
