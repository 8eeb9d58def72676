#!/bin/sh
# Build and run the zeusd request fuzzer (libFuzzer + ASan + UBSan) for a bounded time.
#   tests/fuzz/run.sh [seconds] [max_inputs]      defaults: 60 s, no input limit
# Needs clang with libFuzzer (Debian: clang-14; libclang-rt-14-dev if -fsanitize=fuzzer
# fails to link). Builds everything from source into $OUT (default /tmp/zeusd-fuzz).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
secs=${1:-60}
runs=${2:--1}
out=${OUT:-/tmp/zeusd-fuzz}
mkdir -p "$out/include/zeus" "$out/corpus"
ver=$(sed -n 's/^project(zeus VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
major=${ver%%.*}; rest=${ver#*.}; minor=${rest%%.*}; patch=${rest#*.}
sed -e "s/@PROJECT_VERSION@/$ver/g" -e "s/@PROJECT_VERSION_MAJOR@/$major/g" \
    -e "s/@PROJECT_VERSION_MINOR@/$minor/g" -e "s/@PROJECT_VERSION_PATCH@/$patch/g" \
    "$root/include/zeus/version.h.in" > "$out/include/zeus/version.h"
daemon_src=$(ls "$root"/daemon/*.c | grep -v '/main\.c$')
lib_src=$(find "$root/src" -name '*.c')
# shellcheck disable=SC2086
clang -g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
    -I"$root/include" -I"$out/include" -I"$root/src" -I"$root/daemon" \
    "$here/fuzz_zeusd_request.c" $daemon_src $lib_src \
    $(pkg-config --cflags --libs libmicrohttpd libcjson libcrypto libcurl) -lpthread -ldl -lm \
    -o "$out/fuzz_zeusd_request"
# Seeds: one valid request per route shape.
i=0
for s in "GET /discover" "GET /time" "GET /auth/whoami" \
         "POST /gpu/set_power_limit?gpu_ids=0,1&power_limit_mw=200000&block=true" \
         "POST /gpu/set_persistence_mode?gpu_ids=0&enabled=false&block=false" \
         "POST /gpu/set_gpu_locked_clocks?gpu_ids=0&min_clock_mhz=1&max_clock_mhz=2&block=true" \
         "POST /gpu/reset_locked_clocks?gpu_ids=%200%20&block=true" \
         "GET /gpu/get_power?gpu_ids=0" "GET /gpu/stream_power?gpu_ids=3" \
         "GET /cpu/get_cumulative_energy?cpu=true&dram=false&cpu_ids=0" "GET /cpu/get_power" \
         "GET /cpu/stream_power?cpu_ids=1"; do
    printf '%s\nBearer eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIiwic2NvcGVzIjpbImdwdS1yZWFkIl19.x' "$s" \
        > "$out/corpus/seed$i"
    i=$((i + 1))
done
exec "$out/fuzz_zeusd_request" -max_total_time="$secs" -runs="$runs" -max_len=2048 \
    -print_final_stats=1 -artifact_prefix="$out/" "$out/corpus"
