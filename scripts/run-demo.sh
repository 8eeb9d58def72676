#!/bin/sh
# run-demo.sh - `make run`: show the devices found and measure a demo load on them.
#
# Usage: scripts/run-demo.sh BUILD_DIR
#
# Uses the real NVIDIA driver when it answers with at least one GPU. Otherwise it says so
# and measures on the simulated GPUs of the fake NVML (tests/fakes/fake_nvml.c), loaded
# through ZEUS_NVML_LIBRARY exactly as the real library would be. A ZEUS_NVML_LIBRARY the
# caller set is respected and never replaced.
set -eu

BUILD=${1:-build}
ZEUS="$BUILD/zeus"
FAKE="$BUILD/libnvidia-ml-fake.so.1"
# Two simulated H100s: a square wave between 150 W and 600 W, and the 2.7 ms energy-counter
# read measured on a real H100 (reference/GPU-MEASUREMENTS.md).
FAKE_SPEC="gpus=2;trace=square;power_w=600;low_w=150;energy_latency_us=2700"

if [ ! -x "$ZEUS" ]; then
    echo "run-demo.sh: $ZEUS not found; build first (make build)" >&2
    exit 1
fi

# The one-line JSON report of the devices the real NVML finds, or nothing when zeus fails.
ENV_JSON=$(env -u ZEUS_NVML_LIBRARY "$ZEUS" show-env --json 2>/dev/null || true)

# Print the number of GPUs in the report: only GPU objects carry "physical_index".
gpu_count() {
    printf '%s\n' "$ENV_JSON" | grep -o '"physical_index"' | wc -l | tr -d ' '
}

# Why the real NVML gave no GPU ("vendor library not found: ..."), for the notice.
nvml_reason() {
    printf '%s\n' "$ENV_JSON" |
        sed -n 's/.*"name":"nvml"[^}]*"error":"\([^"]*\)","detail":"\([^"]*\)".*/\1: \2/p'
}

if [ -n "${ZEUS_NVML_LIBRARY:-}" ]; then
    echo "== Using the NVML library named by ZEUS_NVML_LIBRARY: $ZEUS_NVML_LIBRARY"
else
    count=$(gpu_count)
    if [ "${count:-0}" -gt 0 ] 2>/dev/null; then
        echo "== Measuring on the real NVIDIA GPUs ($count found)"
    else
        reason=$(nvml_reason)
        [ -n "$reason" ] || reason="NVML found no GPU"
        if [ ! -e "$FAKE" ]; then
            echo "run-demo.sh: $FAKE not found; build first (make build)" >&2
            exit 1
        fi
        echo "== No NVIDIA GPU found ($reason):"
        echo "   measuring on the simulated GPU (fake NVML, 2 x simulated H100 drawing"
        echo "   150-600 W in a square wave, 2.7 ms per energy read): $FAKE"
        ZEUS_NVML_LIBRARY=$FAKE
        ZEUS_FAKE_NVML=${ZEUS_FAKE_NVML:-$FAKE_SPEC}
        export ZEUS_NVML_LIBRARY ZEUS_FAKE_NVML
    fi
fi

echo
echo "== zeus show-env"
"$ZEUS" show-env

echo
echo "== zeus run -- $BUILD/zeus_demo_load 3"
"$ZEUS" run -- "$BUILD/zeus_demo_load" 3

echo
echo "== zeus bench windows --iterations 200"
"$ZEUS" bench windows --iterations 200
