#!/bin/sh
# check-deb.sh - Build the two Debian packages with CPack (`cpack -G DEB`) from a build folder,
# check their file lists and Depends, unpack them into a scratch root with `dpkg -x`, and run
# the unpacked `zeus show-env` (on the fake GPU) and `zeusd --help`.
#
# Usage: check-deb.sh BUILD_DIR SOURCE_DIR
#
# Needs cpack (cmake), dpkg-deb, and dpkg-shlibdeps (dpkg-dev, part of build-essential). The
# packages and CPack's staging go to a temporary folder; the build folder is left as it was.
set -eu
BUILD=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
WORK=$(mktemp -d /tmp/zeus-deb-XXXXXX)
trap 'rm -rf "$WORK"' EXIT

fail() {
    echo "check-deb: $*" >&2
    exit 1
}

for tool in cpack dpkg-deb dpkg-shlibdeps; do
    command -v "$tool" >/dev/null 2>&1 || fail "$tool not found (install cmake and dpkg-dev)"
done

VERSION=$(sed -n 's/^#define ZEUS_VERSION "\(.*\)"$/\1/p' "$BUILD/include/zeus/version.h")
ARCH=$(dpkg --print-architecture)
[ -n "$VERSION" ] || fail "no ZEUS_VERSION in $BUILD/include/zeus/version.h"

echo "check-deb: cpack -G DEB"
cpack -G DEB --config "$BUILD/CPackConfig.cmake" -B "$WORK/pkg" >"$WORK/cpack.log" 2>&1 || {
    cat "$WORK/cpack.log" >&2
    fail "cpack failed"
}
ZEUS_DEB=$WORK/pkg/zeus_${VERSION}_${ARCH}.deb
ZEUSD_DEB=$WORK/pkg/zeusd_${VERSION}_${ARCH}.deb
[ -f "$ZEUS_DEB" ] || fail "no $(basename "$ZEUS_DEB"); cpack made: $(cd "$WORK/pkg" && echo *.deb)"
[ -f "$ZEUSD_DEB" ] || fail "no $(basename "$ZEUSD_DEB")"
set -- "$WORK"/pkg/*.deb
[ $# = 2 ] || fail "expected 2 packages, got: $*"

# The files (not folders) of each package, as dpkg-deb -c lists them, against the expected list.
files_of() {
    dpkg-deb -c "$1" | awk '$1 !~ /^d/ { print $6 }' | sed 's|^\./|/|' | sort
}
check_files() {
    deb=$1
    shift
    printf '%s\n' "$@" | sort >"$WORK/want"
    files_of "$deb" >"$WORK/got"
    if ! cmp -s "$WORK/want" "$WORK/got"; then
        echo "check-deb: $(basename "$deb") files differ (- expected, + found):" >&2
        diff -u "$WORK/want" "$WORK/got" | sed -n '3,$p' >&2
        exit 1
    fi
}
LIB=/usr/lib
if ! files_of "$ZEUS_DEB" | grep -qx "$LIB/libzeus.so.$VERSION"; then
    # A build configured with --prefix /usr uses Debian's multiarch folder.
    LIB=$(files_of "$ZEUS_DEB" | sed -n "s|/libzeus.so.$VERSION\$||p")
fi
set --
for h in "$SRC"/include/zeus/*.h; do
    set -- "$@" "/usr/include/zeus/$(basename "$h")"
done
check_files "$ZEUS_DEB" "$@" /usr/include/zeus/version.h /usr/bin/zeus \
    "$LIB/libzeus.so" "$LIB/libzeus.so.${VERSION%%.*}" "$LIB/libzeus.so.$VERSION" \
    "$LIB/libzeus.a" "$LIB/pkgconfig/zeus.pc"
check_files "$ZEUSD_DEB" /usr/sbin/zeusd /lib/systemd/system/zeusd.service /etc/default/zeusd

# Control fields: names, the daemon's dependency on the library package, conffiles.
[ "$(dpkg-deb -f "$ZEUS_DEB" Package)" = zeus ] || fail "zeus package is named $(dpkg-deb -f "$ZEUS_DEB" Package)"
[ "$(dpkg-deb -f "$ZEUSD_DEB" Package)" = zeusd ] || fail "zeusd package is named $(dpkg-deb -f "$ZEUSD_DEB" Package)"
DEPENDS=$(dpkg-deb -f "$ZEUSD_DEB" Depends)
echo "$DEPENDS" | grep -q "zeus (= $VERSION)" || fail "zeusd does not depend on zeus (= $VERSION): $DEPENDS"
for lib in libcurl4 libcjson1 libmicrohttpd12; do
    dpkg-deb -f "$ZEUS_DEB" Depends | grep -q "$lib" || fail "zeus does not depend on $lib: $(dpkg-deb -f "$ZEUS_DEB" Depends)"
done
dpkg-deb -e "$ZEUSD_DEB" "$WORK/zeusd-control"
grep -qx /etc/default/zeusd "$WORK/zeusd-control/conffiles" || fail "/etc/default/zeusd is not a conffile"

# Unpack both into a scratch root and run what they installed from there.
ROOT=$WORK/root
dpkg -x "$ZEUS_DEB" "$ROOT"
dpkg -x "$ZEUSD_DEB" "$ROOT"
cmp -s "$SRC/packaging/zeusd.service" "$ROOT/lib/systemd/system/zeusd.service" || fail "zeusd.service differs from packaging/"
cmp -s "$SRC/packaging/zeusd.default" "$ROOT/etc/default/zeusd" || fail "/etc/default/zeusd differs from packaging/zeusd.default"
grep -q '^ExecStart=/usr/sbin/zeusd ' "$ROOT/lib/systemd/system/zeusd.service" || fail "the unit does not run /usr/sbin/zeusd"
[ -x "$ROOT/usr/sbin/zeusd" ] || fail "/usr/sbin/zeusd is not executable"

export LD_LIBRARY_PATH="$ROOT$LIB"
# The unpacked zeus must use the unpacked libzeus, not the build folder's.
ldd "$ROOT/usr/bin/zeus" | grep -q "=> $ROOT$LIB/libzeus.so.${VERSION%%.*}" \
    || fail "the unpacked zeus does not load the unpacked libzeus: $(ldd "$ROOT/usr/bin/zeus" | grep zeus)"
ZEUS_NVML_LIBRARY="$BUILD/libnvidia-ml-fake.so.1" ZEUS_FAKE_NVML="gpus=2" \
    ZEUS_SYSFS_ROOT="$WORK/no-such-sysfs" "$ROOT/usr/bin/zeus" show-env >"$WORK/show-env.txt" 2>&1 || {
    cat "$WORK/show-env.txt" >&2
    fail "the unpacked zeus show-env failed"
}
grep -q "^zeus $VERSION (library $VERSION)" "$WORK/show-env.txt" || { cat "$WORK/show-env.txt" >&2; fail "show-env: wrong version line"; }
grep -q '^GPU 1 ' "$WORK/show-env.txt" || { cat "$WORK/show-env.txt" >&2; fail "show-env did not see the 2 fake GPUs"; }
"$ROOT/usr/sbin/zeusd" --help >"$WORK/zeusd-help.txt" 2>&1 || { cat "$WORK/zeusd-help.txt" >&2; fail "the unpacked zeusd --help failed"; }
grep -q 'zeusd serve' "$WORK/zeusd-help.txt" || fail "zeusd --help printed no usage"

# The packaged headers, zeus.pc and library build the README's example.
PKG_CONFIG_PATH="$ROOT$LIB/pkgconfig" \
    pkg-config --cflags --libs zeus >"$WORK/pc.txt" || fail "pkg-config cannot read the packaged zeus.pc"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror "$SRC/examples/window.c" $(cat "$WORK/pc.txt") -o "$WORK/window" \
    || fail "examples/window.c does not build against the packaged headers and library"
ZEUS_NVML_LIBRARY="$BUILD/libnvidia-ml-fake.so.1" ZEUS_FAKE_NVML="gpus=1" \
    ZEUS_SYSFS_ROOT="$WORK/no-such-sysfs" "$WORK/window" | grep -q '^GPU 0: ' || fail "the example did not run"

echo "check-deb: $(basename "$ZEUS_DEB") ($(dpkg-deb -f "$ZEUS_DEB" Depends))"
echo "check-deb: $(basename "$ZEUSD_DEB") ($DEPENDS)"
echo "check-deb: passed"
