#!/bin/sh
# check-python-install.sh - Install zeusc as a user would, into fresh virtual environments of
# Debian's Python, with none of setup.py's variables set:
#
#   1. `pip install ./python` from a copy of the source tree that has no build folder: setup.py
#      finds no libzeus and compiles it from the C sources, linked into the extension;
#   2. the same from an sdist (`setup.py sdist`), unpacked by pip away from the tree;
#   3. the sdist again with an installed libzeus on PKG_CONFIG_PATH: the extension links that
#      shared library instead.
#
# Each install imports zeusc and measures a ZeusMonitor window on the fake NVML.
#
# Usage: check-python-install.sh BUILD_DIR SOURCE_DIR
#
# No PyPI is needed: the venvs see Debian's setuptools (--system-site-packages) and pip runs
# with --no-build-isolation --no-index. Exits 0 with a "skipped: ..." line only when Debian's
# python3-dev, python3-setuptools or python3-venv is missing.
set -eu
BUILD=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
PY=/usr/bin/python3
FAKE=$BUILD/libnvidia-ml-fake.so.1

skip() {
    echo "check-python-install: skipped: $*"
    exit 0
}
fail() {
    echo "check-python-install: $*" >&2
    exit 1
}

[ -x "$PY" ] || skip "$PY not found (install python3-dev python3-setuptools python3-venv)"
"$PY" -c 'import os, sysconfig, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
    || skip "Python.h missing (install python3-dev)"
"$PY" -c 'import setuptools' 2>/dev/null || skip "setuptools missing (install python3-setuptools)"
"$PY" -c 'import ensurepip' 2>/dev/null || skip "ensurepip missing (install python3-venv)"
[ -e "$FAKE" ] || fail "no $FAKE: build first (make build)"

WORK=$(mktemp -d /tmp/zeusc-install-XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# None of setup.py's or the tests' settings may come from the caller.
unset ZEUS_BUILD_DIR ZEUS_PREFIX ZEUS_SOURCE_DIR ZEUS_FROM_SOURCE PKG_CONFIG_PATH \
    ZEUS_FAKE_NVML ZEUS_NVML_LIBRARY CUDA_VISIBLE_DEVICES ZEUSD_SOCK_PATH ZEUSD_HOST_PORT \
    PYTHONPATH PIP_REQUIRE_VIRTUALENV 2>/dev/null || true
export PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1
SYSTEM_ZEUS=""
if pkg-config --exists zeus 2>/dev/null; then
    SYSTEM_ZEUS=$(pkg-config --variable=libdir zeus)
    echo "check-python-install: note: pkg-config finds an installed zeus ($SYSTEM_ZEUS); the from-source builds are not exercised"
fi

# pip install into a fresh venv; the log is kept for the checks below.
install() { # NAME TARGET [VAR=VALUE...]
    name=$1
    target=$2
    shift 2
    "$PY" -m venv --system-site-packages "$WORK/venv-$name"
    start=$(date +%s)
    (cd "$WORK" && env "$@" "$WORK/venv-$name/bin/pip" install -v --no-build-isolation --no-index \
        --no-cache-dir "$target") >"$WORK/pip-$name.log" 2>&1 || {
        tail -n 60 "$WORK/pip-$name.log" >&2
        fail "$name: pip install $target failed (log above)"
    }
    # The C code is kept -Wall -Wextra clean, here as in the CMake build.
    if grep -E '\.[ch]:[0-9]+:[0-9]+: (warning|error):' "$WORK/pip-$name.log" >&2; then
        fail "$name: the extension or libzeus does not compile cleanly"
    fi
    echo "check-python-install: $name: installed in $(($(date +%s) - start)) s"
}

# zeusc from the venv (run from $WORK, away from any source folder), on 2 fake GPUs.
smoke() { # NAME
    name=$1
    (cd "$WORK" && ZEUS_NVML_LIBRARY="$FAKE" ZEUS_FAKE_NVML="gpus=2;power_w=200" \
        ZEUS_SYSFS_ROOT="$WORK/no-such-sysfs" "$WORK/venv-$name/bin/python" - "$WORK/venv-$name" <<'EOF'
import sys, time
import zeusc
from zeusc import ZeusMonitor

assert zeusc.__file__.startswith(sys.argv[1]), f"zeusc imported from {zeusc.__file__}"
mon = ZeusMonitor(sync_execution_with=lambda *a, **k: None)
mon.begin_window("step")
time.sleep(0.3)
m = mon.end_window("step")
assert sorted(m.gpu_energy) == [0, 1], m
assert m.time > 0.25 and all(e > 0 for e in m.gpu_energy.values()), m
print(zeusc._zeusc.__file__)
EOF
    ) >"$WORK/smoke-$name.txt" 2>&1 || {
        cat "$WORK/smoke-$name.txt" >&2
        fail "$name: zeusc does not measure a window on the fake GPU"
    }
    ext=$(tail -n 1 "$WORK/smoke-$name.txt")
    ldd "$ext" >"$WORK/ldd-$name.txt"
}

# 1. ./python from a source tree without a build folder (what a fresh clone is).
mkdir "$WORK/tree"
tar -C "$SRC" -cf - --exclude=build --exclude='*.egg-info' --exclude='*.so' --exclude=__pycache__ \
    --exclude=.pytest_cache CMakeLists.txt include src python | tar -C "$WORK/tree" -xf -
install tree "$WORK/tree/python"
smoke tree
if [ -z "$SYSTEM_ZEUS" ]; then
    grep -q "zeusc: no built libzeus found; compiling it from $WORK/tree" "$WORK/pip-tree.log" \
        || fail "tree: setup.py did not compile libzeus from the source tree"
    ! grep -q libzeus "$WORK/ldd-tree.txt" || fail "tree: the extension needs a shared libzeus: $(grep libzeus "$WORK/ldd-tree.txt")"
fi

# 2. An sdist of that tree, installed from the tarball.
(cd "$WORK/tree/python" && "$PY" setup.py -q sdist -d "$WORK/dist") >"$WORK/sdist.log" 2>&1 || {
    cat "$WORK/sdist.log" >&2
    fail "setup.py sdist failed"
}
SDIST=$(ls "$WORK"/dist/zeusc-*.tar.gz)
tar -tzf "$SDIST" >"$WORK/sdist-files.txt"
for f in setup.py pyproject.toml csrc/zeusc.h zeusc/__init__.py libzeus/VERSION \
    libzeus/include/zeus/zeus.h libzeus/include/zeus/version.h.in libzeus/src/version.c; do
    grep -q "^zeusc-[^/]*/$f\$" "$WORK/sdist-files.txt" || fail "the sdist has no $f"
done
for f in "$SRC"/python/csrc/*.c "$SRC"/python/zeusc/*.py; do
    rel=${f#"$SRC"/python/}
    grep -q "^zeusc-[^/]*/$rel\$" "$WORK/sdist-files.txt" || fail "the sdist has no $rel"
done
install sdist "$SDIST"
smoke sdist
if [ -z "$SYSTEM_ZEUS" ]; then
    grep -q "zeusc: no built libzeus found; compiling it from .*/libzeus" "$WORK/pip-sdist.log" \
        || fail "sdist: setup.py did not compile libzeus from the sdist's libzeus/"
    ! grep -q libzeus "$WORK/ldd-sdist.txt" || fail "sdist: the extension needs a shared libzeus"
fi

# 3. With an installed libzeus (pkg-config), the sdist links it rather than compiling its own.
cmake --install "$BUILD" --prefix "$WORK/prefix" >/dev/null
PC_DIR=$(dirname "$(find "$WORK/prefix" -name zeus.pc | head -n 1)")
install linked "$SDIST" PKG_CONFIG_PATH="$PC_DIR"
smoke linked
! grep -q "compiling it from" "$WORK/pip-linked.log" || fail "linked: compiled libzeus although pkg-config found one"
grep -q "libzeus.so.0 => $WORK/prefix/" "$WORK/ldd-linked.txt" \
    || fail "linked: the extension does not load the installed libzeus: $(grep libzeus "$WORK/ldd-linked.txt")"

echo "check-python-install: passed (./python and the sdist from source, the sdist against an installed libzeus)"
