#!/usr/bin/env bash
# Installs what is missing, builds with warnings as errors, runs every test.
#   BUILD_DIR  build directory (default: build)
#   JOBS       parallel jobs (default: nproc)
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/install-deps.sh

build_dir=${BUILD_DIR:-build}
jobs=${JOBS:-$(nproc)}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEVIDENTIA_WERROR=ON
cmake --build "$build_dir" -j "$jobs"
ctest --test-dir "$build_dir" --output-on-failure --no-tests=error -j "$jobs"
