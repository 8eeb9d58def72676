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

pick_load() {
    LOAD=""
    if command -v nvcc >/dev/null 2>&1 && [ ! -x "$BUILD/cuda_load" ]; then
        nvcc -O2 -o "$BUILD/cuda_load" bench/cuda_load.cu 2>&1 | tail -3
    fi
    if [ -x "$BUILD/cuda_load" ]; then
        LOAD="$BUILD/cuda_load"
    elif python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
        LOAD="python3 bench/torch_load.py"
    fi
}
pick_load

step "hardware tests (read only), with a GPU load running beside them"
if [ -x "$BUILD/test_gpu_real" ]; then
    if [ -n "$LOAD" ]; then
        $LOAD 20 >/dev/null 2>&1 &
        LOAD_PID=$!
        sleep 2
    fi
    "$BUILD/test_gpu_real"
    [ -n "${LOAD_PID:-}" ] && wait "$LOAD_PID"
else
    echo "test_gpu_real not built (no cmocka here?)"
fi

step "zeus show-env"
"$BUILD/zeus" show-env

step "zeus run on a GPU load"
if [ -z "$LOAD" ]; then
    echo "no nvcc and no PyTorch: measuring an idle 5 s instead"
    "$BUILD/zeus" run --json -- sleep 5
else
    "$BUILD/zeus" run --json -- $LOAD 5
    "$BUILD/zeus" run -- $LOAD 5
fi

step "zeus bench windows (real NVML): sampled, then Zeus's direct reads"
"$BUILD/zeus" bench windows --iterations 10000 --json
"$BUILD/zeus" bench windows --open-windows 8 --iterations 10000 --json
"$BUILD/zeus" bench windows --direct --iterations 300 --json
"$BUILD/zeus" bench sampler --gpus 1 --seconds 5 --json

step "NVML's costs in CPU time, and whether power changes on the energy counter's clock"
cc -O2 -o "$BUILD/nvml_probe" bench/nvml_probe.c -ldl -lpthread -lm && {
    echo "idle:"; "$BUILD/nvml_probe"
    if [ -n "$LOAD" ]; then
        $LOAD 8 >/dev/null 2>&1 &
        sleep 2; echo "under load:"; "$BUILD/nvml_probe"; wait
    fi
}
exit 0
