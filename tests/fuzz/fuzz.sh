#!/usr/bin/env bash
# Fuzzes libFuzzer targets of tests/fuzz for a bounded time each, two at a
# time, each from a copy of its seed corpus (the repository is not
# modified). Fails on any crash, leak, sanitizer report or timeout, printing
# the reproducer and the command that replays it.
#   tests/fuzz/fuzz.sh SAN_BUILD_DIR [TARGET...]   (default: every target)
#   FUZZ_SECONDS  seconds per target (default: 20)
#   FUZZ_JOBS     targets fuzzed at once (default: 2)
set -euo pipefail
src=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] || { echo "usage: tests/fuzz/fuzz.sh SAN_BUILD_DIR [TARGET...]" >&2; exit 2; }
build=$(cd "$1" && pwd)
shift
seconds=${FUZZ_SECONDS:-20}
jobs=${FUZZ_JOBS:-2}

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in "$src"/*_fuzz.cc; do
    name=$(basename "$f" _fuzz.cc)
    targets+=("$name")
  done
fi

work=$(mktemp -d /tmp/evidentia-fuzz.XXXXXX)

# Longest input a target is given: twice its largest seed, at least 8 KiB.
max_len() {
  local largest
  largest=$(find "$src/corpus/$1" -type f -printf '%s\n' | sort -n | tail -1)
  local len=$((2 * ${largest:-0}))
  [ "$len" -lt 8192 ] && len=8192
  echo "$len"
}

fuzz_one() {
  local name=$1 dir="$work/$1"
  local binary="$build/tests/fuzz/${name}_fuzz"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  if [ ! -x "$binary" ] || [ ! -d "$src/corpus/$name" ]; then
    echo "missing $binary or $src/corpus/$name" > "$dir/log"
    echo 1 > "$dir/rc"
    return
  fi
  cp -R "$src/corpus/$name/." "$dir/corpus/"
  local rc=0
  "$binary" -max_total_time="$seconds" -max_len="$(max_len "$name")" \
    -timeout=30 -rss_limit_mb=2560 -print_final_stats=1 \
    -artifact_prefix="$dir/artifacts/" "$dir/corpus" > "$dir/log" 2>&1 || rc=$?
  echo "$rc" > "$dir/rc"
  echo "fuzz $name: $( [ "$rc" = 0 ] && echo ok || echo "FAILED ($rc)" )," \
       "$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$dir/log" | grep -o '[0-9]*$' || echo ?) runs"
}

running=0
for name in "${targets[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  fuzz_one "$name" &
  running=$((running + 1))
done
wait

failed=0
for name in "${targets[@]}"; do
  dir="$work/$name"
  [ "$(cat "$dir/rc" 2>/dev/null || echo 1)" = 0 ] && continue
  failed=1
  echo "=== fuzz target $name failed; last lines of its log:" >&2
  tail -n 40 "$dir/log" >&2
  for artifact in "$dir"/artifacts/*; do
    [ -e "$artifact" ] || continue
    echo "reproducer: $artifact" >&2
    echo "  replay:   $build/tests/fuzz/${name}_fuzz $artifact" >&2
  done
done
if [ "$failed" = 1 ]; then
  echo "fuzzing failed; inputs, logs and corpora kept in $work" >&2
  exit 1
fi
rm -rf "$work"
echo "fuzzing: ${#targets[@]} targets, ${seconds}s each, no failures"
