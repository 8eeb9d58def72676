#!/bin/sh
# gpu-check.sh - What only a real GPU can show, in one run: build, the read-only hardware
# tests, show-env, a measured GPU load, and the window benchmark on real NVML.
#
# Read only: nothing here sets power limits, clocks, persistence mode or MIG. Prints figures
# to paste into a closing note. Usage: sh scripts/gpu-check.sh [BUILD_DIR]
set -u
BUILD=${1:-build}
unset ZEUS_NVML_LIBRARY ZEUS_FAKE_NVML
step() { printf '\n==== %s\n' "$*"; }

step "machine"
nvidia-smi --query-gpu=index,name,driver_version,power.draw,power.limit --format=csv 2>&1 | head -20

step "build"
if [ ! -x "$BUILD/zeus" ]; then
    cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null && cmake --build "$BUILD" -j 8 \
        || { echo "build failed"; exit 1; }
fi

step "hardware tests (read only)"
if [ -x "$BUILD/test_gpu_real" ]; then
    "$BUILD/test_gpu_real"
else
    echo "test_gpu_real not built (no cmocka here?)"
fi

step "zeus show-env"
"$BUILD/zeus" show-env

step "zeus run on a GPU load"
LOAD=""
if command -v nvcc >/dev/null 2>&1; then
    nvcc -O2 -o "$BUILD/cuda_load" bench/cuda_load.cu 2>&1 | tail -3 && LOAD="$BUILD/cuda_load 5"
fi
if [ -z "$LOAD" ] && python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
    LOAD="python3 -c 'import torch,time;a=torch.randn(8192,8192,device=\"cuda\",dtype=torch.bfloat16);t=time.time()
while time.time()-t<5: a@a
torch.cuda.synchronize()'"
fi
if [ -z "$LOAD" ]; then
    echo "no nvcc and no PyTorch: measuring an idle 5 s instead"
    LOAD="sleep 5"
fi
eval "\"$BUILD/zeus\" run --json -- $LOAD"
eval "\"$BUILD/zeus\" run -- $LOAD"

step "zeus bench windows (real NVML)"
"$BUILD/zeus" bench windows --iterations 2000
"$BUILD/zeus" bench windows --iterations 2000 --json
exit 0
