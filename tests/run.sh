#!/usr/bin/env bash
# Installs what is missing, builds with warnings as errors and runs every
# test; then builds again with clang under AddressSanitizer and UBSan and
# runs every test again, and fuzzes every libFuzzer target of tests/fuzz for
# a bounded time (the fuzz targets are built in that same sanitizer build).
#   tests/run.sh [--quick]   --quick: the first build and its tests only
#   BUILD_DIR     build directory (default: build; the sanitizer build goes
#                 to BUILD_DIR-san)
#   JOBS          parallel jobs (default: nproc)
#   FUZZ_SECONDS  seconds of fuzzing per target (default: 5, two targets at
#                 a time: about 3 minutes for the 60 targets; 0 skips it)
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    *) echo "usage: tests/run.sh [--quick]" >&2; exit 2 ;;
  esac
done

# How long each phase took, on standard error (CI holds the whole to 30
# minutes on two cores).
phase_start=$SECONDS
phase() {
  echo "tests/run.sh: $1 took $((SECONDS - phase_start)) s ($SECONDS s in all)" >&2
  phase_start=$SECONDS
}

deploy/install-deps.sh --tests
phase "installing what was missing"

build_dir=${BUILD_DIR:-build}
jobs=${JOBS:-$(nproc)}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEVIDENTIA_WERROR=ON
cmake --build "$build_dir" -j "$jobs"
phase "the build"
ctest --test-dir "$build_dir" --output-on-failure --no-tests=error -j "$jobs"
phase "its tests"
[ "$quick" = 1 ] && exit 0

# The whole suite again under ASan and UBSan: any report fails its test.
# -O1, as AddressSanitizer recommends: it compiles faster than -O2 and its
# reports stay as precise. Each gtest binary runs as 4 shards, each shard
# in one process (EVIDENTIA_TEST_SHARDS in CMakeLists.txt), rather than
# each test case in a process of its own: every case still runs and a
# failing one is named in its shard's output, without paying ASan's start
# and LeakSanitizer's check at exit some 2000 times.
san_dir=${build_dir}-san
cmake -S . -B "$san_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEVIDENTIA_WERROR=ON \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -DNDEBUG" \
  -DCMAKE_CXX_COMPILER=clang++ -DEVIDENTIA_SANITIZE=ON -DEVIDENTIA_FUZZ=ON \
  -DEVIDENTIA_TEST_SHARDS=4
cmake --build "$san_dir" -j "$jobs"
phase "the sanitizer build"
export ASAN_OPTIONS=check_initialization_order=1:detect_stack_use_after_return=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp \
  ctest --test-dir "$san_dir" --output-on-failure --no-tests=error -j "$jobs"
phase "its tests"

seconds=${FUZZ_SECONDS:-5}
if [ "$seconds" -gt 0 ]; then
  FUZZ_SECONDS=$seconds tests/fuzz/fuzz.sh "$san_dir"
  phase "fuzzing"
fi
