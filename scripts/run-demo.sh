#!/bin/sh
# run-demo.sh - `make run`: show the devices found and measure a demo load on them.
set -eu
BUILD=${1:-build}
echo "placeholder demo"; "$BUILD/zeus" --version
