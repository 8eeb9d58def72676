#!/bin/sh
# install-deps.sh - Install the Debian packages Zeus-C builds and tests with, if missing.
#
# Idempotent and quiet when everything is present. Needs root (or sudo) only when something
# is missing.
set -eu

# Build: compiler, CMake, and the libraries DESIGN.md names, plus cminpack (MINPACK, which fits the
# Perseus planner's cost model as SciPy does); dpkg-dev for `cpack -G DEB`. Tests:
# cmocka, the real Prometheus server and Pushgateway (started by the tests on loopback),
# Debian's Python with its headers, pytest and venv for the zeusc binding and its installs;
# PostgreSQL (initdb, pg_ctl) for the batch size server's cluster tests; numpy, the reference
# for its random stream; httpx and pydantic, which Zeus's own BSO client needs.
PACKAGES="build-essential dpkg-dev cmake pkg-config libcmocka-dev libcjson-dev libcurl4-openssl-dev \
libmicrohttpd-dev libsqlite3-dev libpq-dev libssl-dev libcminpack-dev postgresql python3 python3-numpy \
python3-httpx python3-pydantic python3-dev python3-pytest python3-setuptools \
python3-pip python3-venv prometheus prometheus-pushgateway"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing$missing"
SUDO=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "install-deps: need root to install$missing" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
