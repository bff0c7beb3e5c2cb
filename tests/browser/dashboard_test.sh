#!/bin/sh
# The collector's dashboard in a real browser: the real collector on
# 127.0.0.1 with two fixture hosts (one disk encrypted, one not) and a
# dashboard user of each role, then Debian's Chromium, driven by
# playwright-core, through the *.test.mjs files here but harness.test.mjs
# (node --test). Chromium trusts the dashboard's certificate by its SPKI pin
# and nothing else. Screenshots of the pages go to OUTDIR.
#   dashboard_test.sh COLLECTOR AGENT CLI REPO OUTDIR [TEST.mjs...]
set -eu
collector_bin=$1
agent_bin=$2
cli=$3
repo=$4
outdir=$5
shift 5
here=$(cd "$(dirname "$0")" && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/evidentia-browser.XXXXXX")
collector_pid=
cleanup() {
  if [ -n "$collector_pid" ]; then
    kill "$collector_pid" 2>/dev/null || true
    wait "$collector_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
  echo "FAIL: $*" >&2
  [ -f "$work/collector.log" ] && { echo "--- collector.log" >&2; tail -n 40 "$work/collector.log" >&2; }
  exit 1
}
step() { echo "== $*"; }

step "playwright-core (npm ci when missing)"
sh "$here/install.sh" || fail "tests/browser/install.sh"

step "a collector with a dashboard on 127.0.0.1"
export EVIDENTIA_DATA_DIR="$work/collector"
cp "$repo/policies/soa.example.yaml" "$work/soa.yaml"
cp "$repo/policies/risks.example.yaml" "$work/"
# env runs it, so that $! is the collector's own pid.
env "$collector_bin" serve --data-dir "$EVIDENTIA_DATA_DIR" \
  --listen 127.0.0.1:0 --web-listen 127.0.0.1:0 \
  --policies "$repo/policies" --soa "$work/soa.yaml" \
  >"$work/collector.log" 2>&1 &
collector_pid=$!
waited=0
until [ -s "$EVIDENTIA_DATA_DIR/collector.addr" ] && [ -s "$EVIDENTIA_DATA_DIR/web.addr" ] &&
      "$cli" agents >/dev/null 2>&1; do
  kill -0 "$collector_pid" 2>/dev/null || fail "the collector did not start"
  [ "$waited" -lt 300 ] || fail "the collector did not answer within 60 s"
  sleep 0.2
  waited=$((waited + 1))
done
# HOST:PORT, or the URL https://HOST:PORT.
web_addr=$(cat "$EVIDENTIA_DATA_DIR/web.addr")
web_addr=${web_addr#https://}
web_addr=${web_addr%/}
case "$web_addr" in
  127.0.0.1:[0-9]*) ;;
  *) fail "web.addr holds \"$web_addr\", not 127.0.0.1:PORT" ;;
esac
spki=$(sh "$here/spki_pin.sh" "$EVIDENTIA_DATA_DIR/server.pem") ||
  fail "no SPKI pin from $EVIDENTIA_DATA_DIR/server.pem"

step "two hosts, one cycle each: one disk encrypted, one not"
fixtures="$repo/tests/fixtures/disk_encryption"
encrypted="$fixtures/luks_on_partition"
plain="$fixtures/plain_disk"
for host in encrypted plain; do
  token=$("$cli" token create --ttl 10m) || fail "evidentia token create"
  "$agent_bin" enroll --collector "$(cat "$EVIDENTIA_DATA_DIR/collector.addr")" \
    --ca "$EVIDENTIA_DATA_DIR/ca.pem" --token "$token" --state-dir "$work/$host" \
    --root "$encrypted" >/dev/null || fail "enrolling the $host host"
done
encrypted_id=$(sed -n 's/^agent_id: "\(.*\)"$/\1/p' "$work/encrypted/agent.conf")
plain_id=$(sed -n 's/^agent_id: "\(.*\)"$/\1/p' "$work/plain/agent.conf")
if [ -z "$encrypted_id" ] || [ -z "$plain_id" ]; then fail "no agent ids in agent.conf"; fi
"$agent_bin" run --once --state-dir "$work/encrypted" --root "$encrypted" >/dev/null ||
  fail "a cycle of the encrypted host was not delivered"
"$agent_bin" run --once --state-dir "$work/plain" --root "$plain" >/dev/null ||
  fail "a cycle of the plain host was not delivered"

step "dashboard users: admin, viewer, auditor (of a Stage 1), a viewer to lock out"
# Random passwords (12 bytes at least), given on standard input only.
password() { openssl rand -hex 12; }
admin_password=$(password)
viewer_password=$(password)
auditor_password=$(password)
lockout_password=$(password)
add_user() {  # name role password [flags...]
  name=$1 role=$2 secret=$3
  shift 3
  printf '%s' "$secret" | "$cli" user add "$name" --role "$role" --password-stdin "$@" \
    >/dev/null || fail "evidentia user add $name --role $role"
}
add_user admin admin "$admin_password"
add_user viewer viewer "$viewer_password"
# The auditor is invited to one audit, a Stage 1 of today.
today=$(date -u +%F)
"$cli" audit open --kind stage1 --body Certification-Body-Ltd --lead-auditor A.Auditor \
  --from "$today" --to "$today" >/dev/null || fail "evidentia audit open"
add_user auditor auditor "$auditor_password" --audit "stage1-$today"
add_user lockout viewer "$lockout_password"

step "the browser tests"
mkdir -p "$outdir"
# In this order, one file at a time: changes.test.mjs changes the fleet
# the others read, and report.test.mjs reads the result.
if [ $# -eq 0 ]; then
  for t in login security pages changes report; do
    set -- "$@" "$here/$t.test.mjs"
  done
fi
export EVIDENTIA_WEB_URL="https://$web_addr"
export EVIDENTIA_WEB_SPKI="$spki"
export EVIDENTIA_ADMIN_USER=admin EVIDENTIA_ADMIN_PASSWORD="$admin_password"
export EVIDENTIA_VIEWER_USER=viewer EVIDENTIA_VIEWER_PASSWORD="$viewer_password"
export EVIDENTIA_AUDITOR_USER=auditor EVIDENTIA_AUDITOR_PASSWORD="$auditor_password"
export EVIDENTIA_AUDIT="stage1-$today"
export EVIDENTIA_LOCKOUT_USER=lockout EVIDENTIA_LOCKOUT_PASSWORD="$lockout_password"
export EVIDENTIA_CLI="$cli" EVIDENTIA_AGENT="$agent_bin"
export EVIDENTIA_ENCRYPTED_HOST="$encrypted_id" EVIDENTIA_ENCRYPTED_STATE="$work/encrypted"
export EVIDENTIA_ENCRYPTED_ROOT="$encrypted"
export EVIDENTIA_PLAIN_HOST="$plain_id" EVIDENTIA_PLAIN_STATE="$work/plain"
export EVIDENTIA_PLAIN_ROOT="$plain"
export SCREENSHOT_DIR="$outdir"
# Chromium's temporary profiles go under $work, removed with it.
export TMPDIR="$work"
cd "$here"
for t in "$@"; do
  node --test "$t" || fail "$(basename "$t") (screenshots in $outdir)"
done
echo "PASS: the dashboard in Chromium (screenshots in $outdir)"
