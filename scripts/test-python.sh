#!/bin/sh
# test-python.sh - Build the zeusc Python extension in place against a Zeus-C build folder and
# run its pytest suite with Debian's Python.
#
#   scripts/test-python.sh [BUILD_DIR]     (default: build)
#
# Uses /usr/bin/python3 on purpose: Debian's python3-dev headers and python3-pytest belong
# to it, not to a pyenv or venv python3 that may come first on PATH. Exits 0 with a
# "skipped: ..." line only when python3-dev or python3-pytest is missing; any build or test
# failure is a failure. The build needs libzeus.so and libnvidia-ml-fake.so.1 in BUILD_DIR
# (`make build`).
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build}
case "$BUILD" in
/*) ;;
*) BUILD="$ROOT/$BUILD" ;;
esac
PY=/usr/bin/python3

if [ ! -x "$PY" ]; then
    echo "test-python: skipped: $PY not found (install python3-dev python3-pytest)"
    exit 0
fi
if ! "$PY" -c 'import os, sysconfig, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))'; then
    echo "test-python: skipped: Python.h missing (install python3-dev)"
    exit 0
fi
if ! "$PY" -c 'import pytest' 2>/dev/null; then
    echo "test-python: skipped: pytest missing (install python3-pytest)"
    exit 0
fi
if ! "$PY" -c 'import setuptools' 2>/dev/null; then
    echo "test-python: skipped: setuptools missing (install python3-setuptools)"
    exit 0
fi
if [ ! -e "$BUILD/libzeus.so" ] || [ ! -e "$BUILD/libnvidia-ml-fake.so.1" ]; then
    echo "test-python: no libzeus.so or libnvidia-ml-fake.so.1 in $BUILD: build first (make build)" >&2
    exit 1
fi

echo "test-python: building zeusc against $BUILD"
cd "$ROOT/python"
# The object files go to the build folder, the module next to its package (python/zeusc/).
ZEUS_BUILD_DIR="$BUILD" "$PY" -W ignore setup.py -q build_ext --inplace --force \
    --build-temp "$BUILD/zeusc-build" >"$BUILD/zeusc-build.log" 2>&1 || {
    cat "$BUILD/zeusc-build.log" >&2
    exit 1
}
# Compiler warnings count as failures (the extension is kept -Wall -Wextra clean).
if grep -E 'warning:|error:' "$BUILD/zeusc-build.log" >&2; then
    echo "test-python: the extension does not compile cleanly" >&2
    exit 1
fi

echo "test-python: running pytest"
ZEUS_BUILD_DIR="$BUILD" PYTHONDONTWRITEBYTECODE=1 "$PY" -m pytest -q -p no:cacheprovider tests
