#!/bin/sh
# check-install.sh - Install the built library into a temporary prefix and use it as a user
# would: every public header compiles on its own (C and C++), pkg-config finds zeus, and the
# README's example links against the shared and the static library and runs on the fake GPU.
#
# Usage: check-install.sh BUILD_DIR SOURCE_DIR
set -eu
BUILD=$1
SRC=$2
PREFIX=$(mktemp -d /tmp/zeus-install-XXXXXX)
trap 'rm -rf "$PREFIX"' EXIT

cmake --install "$BUILD" --prefix "$PREFIX" >/dev/null
export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig:$PREFIX/lib/x86_64-linux-gnu/pkgconfig"
pkg-config --exists zeus || { echo "pkg-config cannot find zeus"; exit 1; }
CFLAGS=$(pkg-config --cflags zeus)

for h in "$PREFIX"/include/zeus/*.h; do
    name=zeus/$(basename "$h")
    printf '#include <%s>\nint main(void) { return 0; }\n' "$name" > "$PREFIX/h.c"
    cc -std=c11 -Wall -Wextra -Werror $CFLAGS -c "$PREFIX/h.c" -o "$PREFIX/h.o" \
        || { echo "header $name does not compile on its own"; exit 1; }
    if command -v c++ >/dev/null 2>&1; then
        cp "$PREFIX/h.c" "$PREFIX/h.cpp"
        c++ -Wall -Werror $CFLAGS -c "$PREFIX/h.cpp" -o "$PREFIX/h.o" \
            || { echo "header $name does not compile as C++"; exit 1; }
    fi
done

cc -std=c11 -Wall -Wextra -Werror "$SRC/examples/window.c" $(pkg-config --cflags --libs zeus) \
    -Wl,-rpath,"$(pkg-config --variable=libdir zeus)" -o "$PREFIX/window"
# Static libzeus.a, with its dependencies as the shared libraries Debian ships.
STATIC_DEPS="$(pkg-config --libs libcurl libcjson) -lpthread -ldl -lm"
cc -std=c11 "$SRC/examples/window.c" $CFLAGS "$(pkg-config --variable=libdir zeus)/libzeus.a" \
    $STATIC_DEPS -o "$PREFIX/window-static"

ZEUS_FAKE_NVML="gpus=2;power_w=250" "$PREFIX/window" > "$PREFIX/out.txt"
cat "$PREFIX/out.txt"
grep -q '^GPU 1: ' "$PREFIX/out.txt" || { echo "example did not see the 2 fake GPUs"; exit 1; }
ZEUS_FAKE_NVML="gpus=1" "$PREFIX/window-static" | grep -q '^GPU 0: ' \
    || { echo "static example failed"; exit 1; }
echo "1 passed, 0 failed"
