#!/bin/sh
# Runs the whole vfleet test suite: installs dependencies, configures,
# builds and runs every test through ctest. Exits non-zero on any failure.
#
# Environment:
#   BUILD_DIR    build directory (default: build)
#   CTEST_ARGS   extra arguments for ctest (e.g. "-L unit")
set -eu
cd "$(dirname "$0")/.."

build_dir=${BUILD_DIR:-build}
jobs=$(nproc 2>/dev/null || echo 2)

deploy/install-deps.sh --kernel
cmake -S . -B "$build_dir" -DVFLEET_WERROR=ON
cmake --build "$build_dir" -j "$jobs"
# shellcheck disable=SC2086
ctest --test-dir "$build_dir" --output-on-failure -j "$jobs" ${CTEST_ARGS:-}
