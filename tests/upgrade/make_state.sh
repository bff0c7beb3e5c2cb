#!/bin/sh
# Writes a collector data dir and agent state dirs with the binaries in BIN,
# as a site running them would have them, for the upgrade test: a later
# build must serve, export and grade what these wrote. Made once per stored
# format worth keeping, with the commit that made it in the name:
#
#   tests/upgrade/make_state.sh build tests/fixtures/upgrade/state-COMMIT.tar.gz
#
# What it holds: agent a (labels, three cycles delivered, a key rotation, a
# manual evidence document, one snapshot spooled while the collector was
# down), agent b (one cycle, then revoked), the collector's log with a signed
# checkpoint, the policies and SoA it graded with, and expected.txt: what
# `evidentia controls --as-of` printed at the end, which the upgrade test
# compares with what the new build prints from the same policies.
set -eu
bin=$(cd "$1" && pwd)
out=$(realpath -m "$2")
src=$(cd "$(dirname "$0")/../.." && pwd)
root=$src/tests/fixtures/host_facts/debian12
work=$(mktemp -d)
trap 'kill $collector 2>/dev/null || true; rm -rf "$work"' EXIT
umask 077
cp -r "$src/policies" "$work/policies"

collector() {
  "$bin/collector/evidentia-collector" serve --data-dir "$work/collector" \
    --listen "$1" --policies "$work/policies" \
    --soa "$work/policies/soa.example.yaml" 2>>"$work/collector.log" &
  collector=$!
  i=0
  until [ -s "$work/collector/collector.addr" ] &&
    "$bin/cli/evidentia" agents --data-dir "$work/collector" >/dev/null 2>&1; do
    i=$((i + 1)); [ $i -lt 300 ] || { cat "$work/collector.log"; exit 1; }
    sleep 0.1
  done
}
cli() { "$bin/cli/evidentia" "$@" --data-dir "$work/collector"; }
agent() { "$bin/agent/evidentia-agent" "$@"; }

collector 127.0.0.1:0
addr=$(cat "$work/collector/collector.addr")
agent enroll --collector "$addr" --ca "$work/collector/ca.pem" \
  --token "$(cli token create 2>/dev/null)" --state-dir "$work/a" --root "$root" \
  --label site=paris --label role=laptop
agent enroll --collector "$addr" --ca "$work/collector/ca.pem" \
  --token "$(cli token create 2>/dev/null)" --state-dir "$work/b" --root "$root"
agent run --once --state-dir "$work/a" --root "$root"
agent run --once --state-dir "$work/b" --root "$root"
agent run --once --state-dir "$work/a" --root "$root"
agent rotate-key --state-dir "$work/a"
agent run --once --state-dir "$work/a" --root "$root"
printf 'Backup restore test, 2026: restored and checked.\n' >"$work/restore.txt"
cli evidence add --control a.8.13 --file "$work/restore.txt" \
  --valid-until 2099-12-31 --note "yearly restore test"
cli agents revoke "$(sed -n 's/^agent_id: "\(.*\)"$/\1/p' "$work/b/agent.conf")"
cli log checkpoint --new >/dev/null
sleep 1  # --as-of has second precision: after the last write
as_of=$(date -u +%Y-%m-%dT%H:%M:%SZ)
sleep 1
kill $collector
wait $collector || true
# Made while the collector is down: kept in the spool (exit 3).
agent run --once --state-dir "$work/a" --root "$root" || [ $? -eq 3 ]

collector "$addr"
{
  echo "$as_of"
  cli controls --as-of "$as_of"
} >"$work/expected.txt"
kill $collector
wait $collector || true

rm -f "$work/collector.log" "$work/restore.txt" "$work/a/lock" "$work/b/lock" \
  "$work"/collector/db/LOG*
mkdir -p "$(dirname "$out")"
tar -C "$work" --owner=0 --group=0 --numeric-owner -czf "$out" \
  collector a b policies expected.txt
echo "wrote $out ($(du -k "$out" | cut -f1) KiB)"
