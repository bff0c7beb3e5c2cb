#!/usr/bin/env bash
# Evidentia on one machine: installs what is missing, builds, starts a
# collector on 127.0.0.1, enrols an agent for this host, runs one collection
# cycle, and prints what the collector now holds for this host, the grade
# of every Annex A control of the Statement of Applicability, and the
# dashboard's address with a one-time password for its admin.
#
# usage: deploy/quickstart.sh [--data-dir DIR] [--port PORT] [--web-port PORT]
#                             [--soa FILE]
#   --data-dir DIR   where the collector and agent keep their state
#                    (default: var/ in this checkout)
#   --port PORT      collector port on 127.0.0.1 (default: 7443)
#   --web-port PORT  the dashboard's HTTPS port on 127.0.0.1 (default: 8443)
#   --soa FILE       your Statement of Applicability
#                    (default: policies/soa.example.yaml)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
data="$repo/var"
port=7443
web_port=8443
soa="$repo/policies/soa.example.yaml"
while [ $# -gt 0 ]; do
  case "$1" in
    --data-dir) data=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --web-port) web_port=$2; shift 2 ;;
    --soa) soa=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$data"
data=$(cd "$data" && pwd)

step() { printf '\n== %s\n' "$*"; }

step "dependencies"
"$repo/deploy/install-deps.sh"

step "build"
cmake -S "$repo" -B "$repo/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$repo/build" -j "$(nproc)" --target evidentia-collector evidentia evidentia-agent
bin="$repo/build"
collector_bin="$bin/collector/evidentia-collector"
cli="$bin/cli/evidentia"
agent_bin="$bin/agent/evidentia-agent"
col_dir="$data/collector"
agent_dir="$data/agent"
pid_file="$data/collector.pid"
export EVIDENTIA_DATA_DIR="$col_dir"

step "collector"
if [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
  echo "collector already running (pid $(cat "$pid_file"))"
else
  nohup "$collector_bin" serve --data-dir "$col_dir" --listen "127.0.0.1:$port" \
    --web-listen "127.0.0.1:$web_port" \
    --policies "$repo/policies" --soa "$soa" >>"$data/collector.log" 2>&1 &
  echo $! >"$pid_file"
  for _ in $(seq 1 50); do
    "$cli" agents >/dev/null 2>&1 && break
    if ! kill -0 "$(cat "$pid_file")" 2>/dev/null; then
      echo "collector failed to start; its log ($data/collector.log):" >&2
      tail -n 20 "$data/collector.log" >&2
      exit 1
    fi
    sleep 0.2
  done
  echo "collector pid $(cat "$pid_file") on 127.0.0.1:$port, data in $col_dir"
fi

step "enrol this host"
if [ -f "$agent_dir/agent.conf" ] && [ ! -f "$agent_dir/tls.key" ]; then
  # Enrolled before agents had TLS client certificates: enrol it again.
  echo "agent in $agent_dir has no client certificate; moving it to $agent_dir.old"
  rm -rf "$agent_dir.old" && mv "$agent_dir" "$agent_dir.old"
fi
if [ -f "$agent_dir/agent.conf" ]; then
  echo "already enrolled ($agent_dir)"
else
  token=$("$cli" token create --ttl 10m)
  "$agent_bin" enroll --collector "$(cat "$col_dir/collector.addr")" \
    --ca "$col_dir/ca.pem" --token "$token" --state-dir "$agent_dir"
fi
agent_id=$(sed -n 's/^agent_id: "\(.*\)"$/\1/p' "$agent_dir/agent.conf")

step "one collection cycle: collect, sign, send"
"$agent_bin" run --once --state-dir "$agent_dir"

step "asset register (evidentia agents)"
"$cli" agents

step "what the collector holds for this host (evidentia evidence --agent $agent_id)"
"$cli" evidence --agent "$agent_id"

step "every check on this host, with reasons (evidentia host $agent_id)"
"$cli" host "$agent_id"

step "Statement of Applicability, graded (evidentia controls)"
"$cli" controls

step "Stage 1 readiness: the ISMS documents registered so far (evidentia readiness)"
"$cli" readiness | tail -n 1

today=$(date -u +%Y-%m-%d)
bundle="$data/bundle-$today-$(date -u +%H%M%S)"
step "auditor bundle for today (evidentia export --from $today --to $today --out $bundle --tar)"
"$cli" export --from "$today" --to "$today" --out "$bundle" --tar

step "the auditor's check, with nothing but openssl and sha256sum (sh $bundle/VERIFY.sh)"
env -i PATH=/usr/bin:/bin sh "$bundle/VERIFY.sh"

step "and the complete check (evidentia verify $bundle.tar.gz)"
"$cli" verify "$bundle.tar.gz"

step "the dashboard (evidentia user add admin --role admin)"
if admin_password=$("$cli" user add admin --role admin 2>"$data/user-add.err"); then
  dashboard_login="user admin, one-time password $admin_password (you choose your own at the first sign-in)"
elif grep -q "already exists" "$data/user-add.err"; then
  dashboard_login="user admin, with the password you set (evidentia user add NAME --role admin|viewer|auditor adds others)"
else
  cat "$data/user-add.err" >&2
  exit 1
fi
dashboard=$(cat "$col_dir/web.addr")
echo "dashboard: $dashboard/  ($dashboard_login)"

cat <<MSG

Done. The collector keeps running (pid $(cat "$pid_file"), log $data/collector.log).
  Dashboard: $dashboard/
    sign in as $dashboard_login
    The browser warns about the certificate until it trusts $col_dir/ca.pem.
  export EVIDENTIA_DATA_DIR=$col_dir
  $cli agents                  # asset register
  $cli evidence --agent $agent_id
  $cli controls                # the SoA graded; then: $cli control a.8.24
  $cli readiness               # Stage 1: the ISMS documents (README, "Getting ready for Stage 1")
  $cli document add --clause 4.3 --file FILE --version 1 --review-by DATE   # register one
  $cli export --from $today --to $today --out DIR   # an auditor bundle (docs/bundle.md)
  $agent_bin run --once --state-dir $agent_dir   # another cycle
  $cli agents revoke $agent_id   # refuse this agent from now on (its evidence stays)
  kill \$(cat $pid_file)       # stop the collector
MSG
