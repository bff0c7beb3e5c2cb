#!/bin/sh
# A whole certification cycle on the real binaries, as an IT team walks it
# (README.md, "The certification cycle"): the documents Stage 1 reviews
# (one missing: not ready; added: ready); Stage 1 with a minor finding
# closed by a new document version; Stage 2 with a minor nonconformity on
# a.8.24 because one fixture host's disk is unencrypted, its corrective
# action refused as ineffective until that host has passed three
# consecutive cycles and then closed with the proof; the certificate; a
# sample drawn from the auditor's seed; a surveillance audit a year later
# (the clock faked with libfaketime) that carries an open opportunity for
# improvement forward; and the audit bundles passing VERIFY.sh and
# `evidentia verify`, and failing both once a finding or a corrective
# action is removed or altered.
#   whole_cycle_test.sh COLLECTOR AGENT CLI REPO OSCAL_SCHEMA
set -eu
collector_bin=$1
agent_bin=$2
cli=$3
repo=$4
oscal_schema=$5

work=$(mktemp -d "${TMPDIR:-/tmp}/evidentia-cycle.XXXXXX")
collector_pid=
cleanup() {
  if [ -n "$collector_pid" ]; then
    kill "$collector_pid" 2>/dev/null || true
    wait "$collector_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

fail() {
  echo "FAIL: $*" >&2
  for log in "$work"/collector-*.log; do
    [ -f "$log" ] && { echo "--- $log" >&2; tail -n 20 "$log" >&2; }
  done
  exit 1
}
step() { echo "== $*"; }

# The clock every binary runs on: days ahead of the real one, by
# libfaketime (its thread-safe build: the collector has many threads).
faketime_lib=$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 2>/dev/null | head -n 1)
[ -n "$faketime_lib" ] || fail "libfaketime is not installed (deploy/install-deps.sh --tests)"
offset=0
on_clock() {
  if [ "$offset" = 0 ]; then
    "$@"
  else
    env LD_PRELOAD="$faketime_lib" FAKETIME="+${offset}d" "$@"
  fi
}
today() { on_clock date -u +%F; }
days_from_today() { on_clock date -u -d "+$1 days" +%F; }

export EVIDENTIA_DATA_DIR="$work/collector"
listen=127.0.0.1:0  # then the port it chose, which the agents keep

start_collector() {
  # env, not a shell function, runs it: $! is the collector's own pid.
  if [ "$offset" = 0 ]; then
    set -- env
  else
    set -- env LD_PRELOAD="$faketime_lib" FAKETIME="+${offset}d"
  fi
  "$@" "$collector_bin" serve --data-dir "$EVIDENTIA_DATA_DIR" \
    --listen "$listen" --web-listen 127.0.0.1:0 \
    --policies "$repo/policies" --soa "$work/soa.yaml" \
    >"$work/collector-$offset.log" 2>&1 &
  collector_pid=$!
  waited=0
  until [ -s "$EVIDENTIA_DATA_DIR/collector.addr" ] &&
        on_clock "$cli" agents >/dev/null 2>&1; do
    kill -0 "$collector_pid" 2>/dev/null || fail "the collector did not start"
    [ "$waited" -lt 300 ] || fail "the collector did not answer within 60 s"
    sleep 0.2
    waited=$((waited + 1))
  done
  listen=$(cat "$EVIDENTIA_DATA_DIR/collector.addr")
}
stop_collector() {
  kill "$collector_pid"
  wait "$collector_pid" || true
  collector_pid=
  rm -f "$EVIDENTIA_DATA_DIR/collector.addr"
}

# evidentia, on the clock; its output in $work/out (and shown).
ev() {
  if on_clock "$cli" "$@" >"$work/out" 2>&1; then
    cat "$work/out"
    return 0
  fi
  cat "$work/out"
  return 1
}
# evidentia, expected to fail saying $1.
ev_refused() {
  expected=$1
  shift
  if ev "$@"; then fail "evidentia $* was accepted"; fi
  grep -qF -- "$expected" "$work/out" ||
    fail "evidentia $* did not say \"$expected\""
}
# The record number `evidentia` just printed ("record N: ...").
record() { sed -n 's/^record \([0-9]*\):.*/\1/p' "$work/out"; }
expect_out() {
  grep -qF -- "$1" "$work/out" || fail "expected \"$1\" in the output above"
}

fixtures="$repo/tests/fixtures/disk_encryption"
encrypted="$fixtures/luks_on_partition"
unencrypted="$fixtures/plain_disk"
cycle_of() {  # agent state dir, fixture root
  on_clock "$agent_bin" run --once --state-dir "$1" --root "$2" >/dev/null ||
    fail "a collection cycle of $1 was not delivered"
}

# Both verifiers, and NIST's schema for the OSCAL documents, on a bundle.
verified() {
  env -i PATH=/usr/bin:/bin sh "$1/VERIFY.sh" >"$work/verify.txt" 2>&1 ||
    { cat "$work/verify.txt"; fail "VERIFY.sh failed on $1"; }
  for document in assessment-results poam; do
    /usr/bin/python3 "$repo/tests/oscal/validate.py" "$oscal_schema" \
      "$1/oscal/$document.json" || fail "$1/oscal/$document.json is not valid OSCAL"
  done
  ev verify "$1"
}

step "a collector whose SoA asks for 3 consecutive passing cycles"
sed -e '/effective_after_/d' \
  -e 's/^grading:$/grading:\n  effective_after_passes: 3\n  effective_after_period: 0s/' \
  "$repo/policies/soa.example.yaml" >"$work/soa.yaml"
cp "$repo/policies/risks.example.yaml" "$work/"
start_collector

step "two hosts: one disk encrypted, one not"
for host in a b; do
  token=$(on_clock "$cli" token create --ttl 10m)
  on_clock "$agent_bin" enroll --collector "$(cat "$EVIDENTIA_DATA_DIR/collector.addr")" \
    --ca "$EVIDENTIA_DATA_DIR/ca.pem" --token "$token" --state-dir "$work/$host" \
    --root "$encrypted" >/dev/null
done
host_a=$(sed -n 's/^agent_id: "\(.*\)"$/\1/p' "$work/a/agent.conf")
host_b=$(sed -n 's/^agent_id: "\(.*\)"$/\1/p' "$work/b/agent.conf")
cycle_of "$work/a" "$encrypted"
cycle_of "$work/b" "$unencrypted"

T=$(today)
due=$(days_from_today 30)

step "Stage 1 readiness: every required document but one"
register() {  # clause document version
  printf '%s %s version %s\n' "$1" "$2" "$3" >"$work/$2-$3.txt"
  ev document add --clause "$1" --document "$2" --file "$work/$2-$3.txt" \
    --version "$3" --approved-by "Jane Doe" --approved-on "$T" \
    --review-by "$(days_from_today 365)" >/dev/null
}
for pair in 4.3:scope 5.2:policy 6.1.2:risk-assessment-process \
            6.1.3:risk-treatment-process 6.1.3:risk-treatment-plan \
            6.2:objectives 7.2:competence 8.1:operational-records \
            8.2:risk-assessment-results 8.3:risk-treatment-results \
            9.1:monitoring-results 9.2:audit-programme 9.2:audit-results \
            10.2:nonconformities; do
  register "${pair%%:*}" "${pair#*:}" 1
done
ev document add --clause 6.1.3 --document soa --file "$work/soa.yaml" \
  --version 1 --approved-by "Jane Doe" --approved-on "$T" \
  --review-by "$(days_from_today 365)" >/dev/null
ev readiness >/dev/null || fail "evidentia readiness"
expect_out "Stage 1 not ready"
expect_out "management-review-results"
register 9.3 management-review-results 1
ev readiness
expect_out "Stage 1 ready"

step "Stage 1: a minor finding on 6.1.2, closed by a new document version"
audit_args="--body Certification-Body-Ltd --lead-auditor A.Auditor"
# shellcheck disable=SC2086
ev audit open --kind stage1 $audit_args --from "$T" --to "$T"
stage1="stage1-$T"
expect_out "audit $stage1 opened"
ev finding add --audit "$stage1" --clause 6.1.2 --grade minor \
  --statement "The risk method does not define the acceptance criteria" \
  --by A.Auditor
f1=$(record)
ev_refused "no clause" finding add --audit "$stage1" --clause 6.9 \
  --grade minor --statement x --by A.Auditor
ev_refused "no control" finding add --audit "$stage1" --control a.9.1 \
  --grade minor --statement x --by A.Auditor
ev action open --finding "$f1" --action "Define the criteria" \
  --root-cause "The template had no section" --owner "Jane Doe" --due "$due"
ev_refused "needs closure evidence" action close --finding "$f1"
register 6.1.2 risk-assessment-process 2
document_v2=$(record)
ev action close --finding "$f1" --evidence "record:$document_v2"
ev audit close "$stage1" --on "$T"
ev_refused "is closed" finding add --audit "$stage1" --control a.5.1 \
  --grade compliant --statement x --by A.Auditor

step "Stage 2: a minor nonconformity on a.8.24 (host b unencrypted)"
# shellcheck disable=SC2086
ev audit open --kind stage2 $audit_args --from "$T" --to "$T"
stage2="stage2-$T"
ev finding add --audit "$stage2" --control a.8.24 --grade minor \
  --statement "A laptop disk is not encrypted" --by A.Auditor \
  --evidence "snapshot:$host_b/1"
f2=$(record)
ev finding add --audit "$stage2" --control a.5.1 --grade ofi \
  --statement "Policies could name their review owner" --by A.Auditor
f3=$(record)
ev_refused "not in the asset register" action open --finding "$f2" \
  --action x --root-cause x --owner x --due "$due" --hosts no-such-host
ev action open --finding "$f2" --action "Encrypt the disk; check at install" \
  --root-cause "Installed without the encrypted profile" --owner "IT lead" \
  --due "$due" --hosts "$host_b"
ev_refused "not proven effective yet" action close --finding "$f2"
expect_out "has sent no evidence"
cycle_of "$work/b" "$unencrypted"
ev_refused "fails a.8.24 in its latest snapshot" action close --finding "$f2"
ev audit close "$stage2" --on "$T"
ev_refused "certification is blocked: finding $f2" audit decide "$stage2" \
  --decision granted --on "$T" --certificate ISMS-0042
ev cycle
expect_out "awaiting the certification decision"
cycle_of "$work/b" "$encrypted"
cycle_of "$work/b" "$encrypted"
ev_refused "in 2 consecutive snapshots" action close --finding "$f2"
cycle_of "$work/b" "$encrypted"
ev action close --finding "$f2"
# Snapshot 1 at enrolment and 2 unencrypted; 3 to 5 encrypted.
expect_out "closed as effective (proof: 3 passing snapshots: $host_b/3, $host_b/4, $host_b/5)"
ev_refused "the seed is chosen after the audit's period" sample \
  --audit "$stage2" --seed "auditor-seed-7f3a" --control a.8.24 \
  --hosts 2 --moments 3
ev audit decide "$stage2" --decision granted --on "$T" --certificate ISMS-0042
ev cycle
expect_out "certified until $(date -u -d "$T +3 years" +%F)"
expect_out "next: surveillance audit 1 by"
ev findings
# The auditor's grade, then Evidentia's own for a.8.24 (major here: its
# manual evidence, which the SoA also names, was never added).
grep "^$f2 " "$work/out" | grep -q "minor nonconformity  *major nonconformity" ||
  fail "finding $f2 does not show Evidentia's grade beside the auditor's"

step "two days later: the auditor's sample, and the Stage 2 bundle"
stop_collector
offset=2
start_collector
ev sample --audit "$stage2" --seed "auditor-seed-7f3a" --control a.8.24 \
  --hosts 2 --moments 3 --json >/dev/null
# The procedure of docs/bundle.md, "Samples", written again here: the
# draw and the moments follow from the seed alone.
python3 - "$work/out" "$T" <<'EOF' || fail "the sample is not what docs/bundle.md says the seed gives"
import datetime, hashlib, json, sys
sample = json.load(open(sys.argv[1]))
def digest(*parts):
    material = b"evidentia-sample-v1"
    for part in parts:
        data = part.encode()
        material += len(data).to_bytes(8, "big") + data
    return hashlib.sha256(material).digest()
audit, control, seed = sample["audit"], sample["control"], sample["seed"]
population = sample["population"]
assert population == sorted(population) and len(population) == 2, population
keyed = sorted((digest(audit, control, seed, "host", a), a) for a in population)
assert sample["drawn"] == [a for _, a in keyed][: sample["hosts"]], sample["drawn"]
start = datetime.datetime.strptime(sys.argv[2], "%Y-%m-%d")
moments = sorted(
    start + datetime.timedelta(seconds=int.from_bytes(
        digest(audit, control, seed, "moment", str(j))[:8], "big") % 86400)
    for j in range(sample["moments"]))
expected = [(a, m.strftime("%Y-%m-%dT%H:%M:%SZ"))
            for a in sample["drawn"] for m in moments]
got = [(p["agentId"], p["at"]) for p in sample["picks"]]
assert got == expected, (got, expected)
print("sample recomputed:", got)
EOF
ev export --audit "$stage2" --out "$work/stage2-bundle"
verified "$work/stage2-bundle"
expect_out "2 proofs of effectiveness and samples recomputed"

# Removed or altered, a finding or a corrective action fails both.
damaged() {  # name, then what to do in the copy
  name=$1
  shift
  rm -rf "$work/damaged"
  cp -r "$work/stage2-bundle" "$work/damaged"
  (cd "$work/damaged" && "$@")
  if env -i PATH=/usr/bin:/bin sh "$work/damaged/VERIFY.sh" >/dev/null 2>&1; then
    fail "VERIFY.sh passed a bundle with $name"
  fi
  if on_clock "$cli" verify "$work/damaged" >"$work/out" 2>&1; then
    fail "evidentia verify passed a bundle with $name"
  fi
  echo "  $name: both verifiers fail ($(head -n 1 "$work/out"))"
}
flip() { printf 'X' | dd of="$1" bs=1 seek=3 conv=notrunc 2>/dev/null; }
damaged "finding $f2 removed" rm "isms/$f2.finding.statement" \
  "isms/$f2.finding.sig" "isms/$f2.proof"
damaged "finding $f2 altered" flip "isms/$f2.finding.statement"
closure=$(cd "$work/stage2-bundle/isms" && ls ./*.action-close.statement |
  sed -n 's|^\./\([0-9]*\)\.action-close\.statement$|\1|p' | sort -n | tail -n 1)
damaged "corrective action $closure removed" rm \
  "isms/$closure.action-close.statement" "isms/$closure.action-close.sig" \
  "isms/$closure.proof"
damaged "corrective action $closure altered" flip \
  "isms/$closure.action-close.statement"

step "a year later: the surveillance audit carries the open OFI forward"
stop_collector
offset=365
start_collector
cycle_of "$work/a" "$encrypted"
cycle_of "$work/b" "$encrypted"
S=$(today)
ev cycle
expect_out "next: surveillance audit 1 by"
# shellcheck disable=SC2086
ev audit open --kind surveillance $audit_args --from "$S" --to "$S"
surveillance="surveillance-$S"
ev cycle --json >/dev/null
python3 - "$work/out" "$surveillance" "$f3" <<'EOF' || fail "the OFI was not carried into $surveillance"
import json, sys
report = json.load(open(sys.argv[1]))
audit = [a for a in report["audits"] if a["audit"]["audit"] == sys.argv[2]][0]
assert audit.get("carried") == [sys.argv[3]], audit
finding = [f for f in report["findings"] if f["number"] == sys.argv[3]][0]
assert finding["state"] == "FINDING_OPEN", finding
assert finding["carriedInto"] == [sys.argv[2]], finding
print("carried:", audit["carried"], "next:", report["next"])
EOF
ev finding add --audit "$surveillance" --control a.8.24 --grade compliant \
  --statement "Every sampled disk is encrypted" --by A.Auditor
ev audit close "$surveillance" --on "$S"
ev cycle
expect_out "next: surveillance audit 2 by"
ev export --audit "$surveillance" --out "$work/surveillance-bundle"
verified "$work/surveillance-bundle"
expect_out "rest on evidence before the bundle's period"

echo "PASS: the whole certification cycle"
