#!/bin/sh
# The Debian packages, installed in a clean Debian 12 root and run from
# their installed files: builds evidentia-collector and evidentia-agent with
# cpack, makes a root with debootstrap (minbase, bookworm), installs the
# packages with dpkg -i and their dependencies with apt-get, then in the
# root: the collector refuses to start without an SoA, naming the template;
# with the template copied to /etc/evidentia/soa.yaml (and the risk register
# it names beside it) it starts as its unit
# says (its user, the installed layout's defaults; on a free port of
# 127.0.0.1), `evidentia` makes a token, the agent enrols and runs one cycle
# as its unit says (of the root's own /), and `evidentia controls` must
# grade the agent's host. Last, both packages are purged. The root is
# removed afterwards (after unmounting everything below it) whatever
# happened, and every wait is bounded.
#
#   tests/package/install_test.sh BUILD_DIR [CPACK]
#
#   DEBIAN_MIRROR   the mirror for debootstrap and apt
#                   (default http://deb.debian.org/debian)
#   EVIDENTIA_DEBS  a directory holding evidentia-collector_*.deb and
#                   evidentia-agent_*.deb to test instead of building them
#   TMPDIR          where the root is made (default /var/tmp; about 300 MB)
#
# Needs root for debootstrap, mount and chroot: sudo otherwise, as
# deploy/install-deps.sh does. Exit 0 when every check passed, 1 otherwise.
set -eu

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 BUILD_DIR [CPACK]" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
cpack=${2:-cpack}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
path=/usr/sbin:/usr/bin:/sbin:/bin

if [ "$(id -u)" -eq 0 ]; then
  sudo=
elif command -v sudo >/dev/null 2>&1; then
  sudo=sudo
else
  echo "install_test: needs root, or sudo (debootstrap, mount, chroot)" >&2
  exit 1
fi
for tool in debootstrap dpkg-deb timeout chroot; do
  if ! PATH=$PATH:$path command -v "$tool" >/dev/null 2>&1; then
    echo "install_test: $tool is missing (deploy/install-deps.sh installs it)" >&2
    exit 1
  fi
done

start=$(date +%s)
step() { printf '== [%ss] %s\n' "$(($(date +%s) - start))" "$*"; }
fail() {
  echo "install_test: FAILED: $*" >&2
  exit 1
}

work=$(mktemp -d "${TMPDIR:-/var/tmp}/evidentia-install-test.XXXXXX")
root=$work/root
collector_pid=
step_pid=

# Everything mounted below the root, deepest first.
mounts_below_root() {
  awk -v r="$root" '$2 == r || index($2, r "/") == 1 { print $2 }' \
    /proc/self/mounts | sort -r
}
cleanup() {
  status=$?
  set +e
  if [ -n "$step_pid" ]; then
    # timeout passes the signal on to its command (debootstrap unmounts
    # what it mounted), and kills it 10 s later if it is still there.
    $sudo kill -TERM "$step_pid" 2>/dev/null
    wait "$step_pid" 2>/dev/null
  fi
  if [ -n "$collector_pid" ]; then
    $sudo kill -KILL "$collector_pid" 2>/dev/null
    wait "$collector_pid" 2>/dev/null
  fi
  if [ -d "$root" ]; then
    # Any process still inside the root keeps its mounts busy.
    # shellcheck disable=SC2016  # expanded by that shell
    $sudo sh -c 'for p in /proc/[0-9]*; do
        [ "$(readlink "$p/root" 2>/dev/null)" = "$1" ] && kill -KILL "${p#/proc/}"
      done' sh "$root" 2>/dev/null
    for m in $(mounts_below_root); do
      $sudo umount "$m" 2>/dev/null || $sudo umount -l "$m"
    done
  fi
  if [ -n "$(mounts_below_root)" ]; then
    echo "install_test: still mounted below $root, NOT removing it:" >&2
    mounts_below_root >&2
    exit 1
  fi
  $sudo rm -rf --one-file-system "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# running PID: whether our child PID runs (exited children are zombies
# until waited for).
running() {
  # The state follows the last ')' of /proc/PID/stat.
  state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
  case "$state" in
    '' | Z* | X*) return 1 ;;
  esac
}

# bounded SECONDS COMMAND...: COMMAND, killed after SECONDS. It runs in
# the background and is waited for, so that a signal to this script is
# handled at once (a shell defers traps while a foreground command runs).
bounded() {
  seconds=$1
  shift
  timeout -k 10 "$seconds" "$@" &
  step_pid=$!
  step_status=0
  wait "$step_pid" || step_status=$?
  step_pid=
  return "$step_status"
}

# in_root SECONDS COMMAND...: COMMAND in the root as root, with a clean
# environment, killed after SECONDS.
in_root() {
  seconds=$1
  shift
  bounded "$seconds" $sudo chroot "$root" /usr/bin/env -i PATH="$path" \
    LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
    ${http_proxy:+http_proxy="$http_proxy"} "$@"
}

step "packages"
mkdir -p "$work/debs"
if [ -n "${EVIDENTIA_DEBS:-}" ]; then
  cp "$EVIDENTIA_DEBS"/evidentia-collector_*.deb \
     "$EVIDENTIA_DEBS"/evidentia-agent_*.deb "$work/debs/"
elif ! bounded 300 "$cpack" -G DEB --config "$build/CPackConfig.cmake" \
    -B "$work/debs" >"$work/cpack.log" 2>&1; then
  tail -n 30 "$work/cpack.log" >&2
  fail "cpack could not build the packages (log above)"
fi
collector_deb=$(ls "$work"/debs/evidentia-collector_*.deb)
agent_deb=$(ls "$work"/debs/evidentia-agent_*.deb)
for deb in "$collector_deb" "$agent_deb"; do
  depends=$(dpkg-deb -f "$deb" Depends)
  printf '%s  %s KiB\n  Depends: %s\n' "${deb##*/}" \
    "$(($(stat -c %s "$deb") / 1024))" "$depends"
  # Declared from the libraries linked (dpkg-shlibdeps), so libc6 is there.
  case "$depends" in
    *libc6*) ;;
    *) fail "${deb##*/} declares no shared library dependencies" ;;
  esac
done
case "$(dpkg-deb -f "$collector_deb" Depends)" in
  *adduser*) ;;
  *) fail "evidentia-collector must depend on adduser (its postinst uses it)" ;;
esac

step "a clean Debian 12 root (debootstrap --variant=minbase bookworm $mirror)"
if ! bounded 300 $sudo debootstrap --variant=minbase bookworm "$root" \
    "$mirror" >"$work/debootstrap.log" 2>&1; then
  tail -n 20 "$work/debootstrap.log" >&2
  $sudo tail -n 20 "$root/debootstrap/debootstrap.log" >&2 2>/dev/null
  fail "debootstrap failed (log above)"
fi
$sudo mount -t proc proc "$root/proc"
$sudo mount -t sysfs -o ro sysfs "$root/sys"

step "dpkg -i the packages; apt-get -f install their dependencies"
$sudo cp "$collector_deb" "$agent_deb" "$root/tmp/"
collector_file=/tmp/${collector_deb##*/}
agent_file=/tmp/${agent_deb##*/}
# dpkg -i leaves them unconfigured while dependencies are missing; apt-get
# installs those and configures them (and fails if a maintainer script does).
in_root 120 dpkg -i "$collector_file" "$agent_file" >"$work/dpkg.log" 2>&1 ||
  echo "(dpkg -i: dependencies missing, as expected in a minimal root)"
if ! in_root 300 apt-get -f install -y -q --no-install-recommends \
    >"$work/apt.log" 2>&1; then
  tail -n 30 "$work/dpkg.log" "$work/apt.log" >&2
  fail "apt-get could not install the packages' dependencies (log above)"
fi
for package in evidentia-collector evidentia-agent; do
  # shellcheck disable=SC2016  # a dpkg-query format
  state=$(in_root 30 dpkg-query -W -f='${db:Status-Abbrev}' "$package")
  [ "$state" = "ii " ] || fail "$package is '$state' after apt-get, not installed"
done
grep -E '^(Setting up|Unpacking) ' "$work/apt.log" | sed 's/^/  /' | head -n 40

step "the installed layout"
for file in /usr/bin/evidentia-collector /usr/bin/evidentia \
    /usr/bin/evidentia-agent /usr/share/evidentia/policies/iso27001-2022.yaml \
    /usr/share/evidentia/policies/iso27001-2022-clauses.yaml \
    /usr/share/evidentia/policies/checks/linux.yaml \
    /usr/share/evidentia/policies/README.md \
    /usr/share/evidentia/soa.example.yaml \
    /usr/share/evidentia/risks.example.yaml \
    /usr/lib/systemd/system/evidentia-collector.service \
    /usr/lib/systemd/system/evidentia-agent.service \
    /usr/lib/systemd/system/evidentia-agent.timer; do
  [ -f "$root$file" ] || fail "$file is not installed"
done
# A library the package does not declare is missing in this root.
for bin in evidentia-collector evidentia evidentia-agent; do
  out=$(in_root 30 "/usr/bin/$bin" --help 2>&1) ||
    fail "/usr/bin/$bin does not run in the clean root: $(echo "$out" | head -n 3)"
done
[ -d "$root/etc/evidentia" ] || fail "/etc/evidentia was not made"
user=$(in_root 30 getent passwd evidentia) || fail "no user evidentia"
echo "  user: $user"
case "$user" in
  *:/var/lib/evidentia:/usr/sbin/nologin) ;;
  *) fail "user evidentia: home /var/lib/evidentia and no login shell expected" ;;
esac
# check_dir DIR MODE OWNER
check_dir() {
  got=$(in_root 30 stat -c '%a %U' "$1") || fail "$1 was not made"
  [ "$got" = "$2 $3" ] || fail "$1 is '$got', not '$2 $3'"
}
check_dir /var/lib/evidentia 700 evidentia
check_dir /var/lib/evidentia-agent 700 root
if grep -rq /usr/local "$root"/usr/lib/systemd/system/evidentia-*; then
  fail "an installed unit names /usr/local"
fi
unit_exec() { sed -n 's/^ExecStart=//p' "$root/usr/lib/systemd/system/$1"; }
unit_user() { sed -n 's/^User=//p' "$root/usr/lib/systemd/system/$1"; }
collector_cmd=$(unit_exec evidentia-collector.service)
agent_cmd=$(unit_exec evidentia-agent.service)
collector_user=$(unit_user evidentia-collector.service)
echo "  collector unit: User=$collector_user ExecStart=$collector_cmd"
echo "  agent unit: ExecStart=$agent_cmd"
[ "$collector_user" = evidentia ] || fail "the collector unit runs as '$collector_user'"

step "the collector without /etc/evidentia/soa.yaml: refused, naming the template"
# The unit's command line, on a port of the kernel's choice, as its user.
set -f
# shellcheck disable=SC2046  # the unit's words
set -- setpriv --reuid="$collector_user" --regid="$collector_user" \
  --init-groups $(echo "$collector_cmd" | sed 's/127\.0\.0\.1:[78]443/127.0.0.1:0/g')
set +f
if [ "$5" != /usr/bin/evidentia-collector ] || [ "$6" != serve ]; then
  fail "unexpected ExecStart in the collector unit: $collector_cmd"
fi
if in_root 30 "$@" >"$work/no-soa.log" 2>&1; then
  fail "the collector started without an SoA"
fi
cat "$work/no-soa.log"
grep -qF "cp /usr/share/evidentia/soa.example.yaml /etc/evidentia/soa.yaml" \
  "$work/no-soa.log" || fail "the refusal does not say how to start from the template"

step "the collector with the SoA template (its unit's command, as $collector_user)"
in_root 30 cp /usr/share/evidentia/soa.example.yaml /etc/evidentia/soa.yaml
# The risk register the template names, beside it.
in_root 30 cp /usr/share/evidentia/risks.example.yaml /etc/evidentia/
$sudo chroot "$root" /usr/bin/env -i PATH="$path" LC_ALL=C.UTF-8 "$@" \
  >"$work/collector.log" 2>&1 &
collector_pid=$!
waited=0
until $sudo test -s "$root/var/lib/evidentia/collector.addr"; do
  if ! running "$collector_pid" || [ "$waited" -ge 600 ]; then
    cat "$work/collector.log" >&2
    fail "the collector did not start within 60 s (log above)"
  fi
  sleep 0.1
  waited=$((waited + 1))
done
address=$($sudo cat "$root/var/lib/evidentia/collector.addr")
cat "$work/collector.log"
grep -qF "data dir /var/lib/evidentia, policies /usr/share/evidentia/policies, SoA /etc/evidentia/soa.yaml" \
  "$work/collector.log" || fail "the collector does not say which paths it used"
owner=$(in_root 30 stat -c %U /var/lib/evidentia/ca.pem)
[ "$owner" = "$collector_user" ] || fail "ca.pem is owned by $owner"
echo "  listening on $address"

step "a token (evidentia token create), the agent enrolled"
token=$(in_root 60 evidentia token create --ttl 10m) || fail "evidentia token create"
in_root 60 evidentia-agent enroll --collector "$address" \
  --ca /var/lib/evidentia/ca.pem --token "$token" \
  --state-dir /var/lib/evidentia-agent || fail "evidentia-agent enroll"
agent_id=$(in_root 30 sed -n 's/^agent_id: "\(.*\)"$/\1/p' \
  /var/lib/evidentia-agent/agent.conf)
[ -n "$agent_id" ] || fail "no agent id in /var/lib/evidentia-agent/agent.conf"

step "one collection cycle (its unit's command: $agent_cmd)"
# shellcheck disable=SC2086  # the unit's words
in_root 120 $agent_cmd || fail "the agent's cycle was not delivered"

step "the grades (evidentia agents, host, controls)"
host=$(cat "$root/proc/sys/kernel/hostname")
in_root 60 evidentia agents >"$work/agents.txt" || fail "evidentia agents"
cat "$work/agents.txt"
if ! grep -qF "$agent_id" "$work/agents.txt" ||
   ! grep -qF "$host" "$work/agents.txt"; then
  fail "the asset register does not list agent $agent_id ($host)"
fi
in_root 60 evidentia host "$agent_id" >"$work/host.txt" || fail "evidentia host"
in_root 60 evidentia controls >"$work/controls.txt" || fail "evidentia controls"
in_root 60 evidentia controls --json >"$work/controls.json" ||
  fail "evidentia controls --json"
cat "$work/host.txt" "$work/controls.txt"
# One host graded: automated controls count it, passing or failing.
grep -qE '"hosts(Passing|Failing)": ?1[,}]' "$work/controls.json" ||
  fail "no control grades the agent's host $host"
grep -qF "$host" "$work/host.txt" ||
  fail "evidentia host $agent_id does not name $host"

step "Stage 1 readiness from the installed clause catalogue (evidentia readiness)"
in_root 60 evidentia readiness >"$work/readiness.txt" || fail "evidentia readiness"
tail -n 1 "$work/readiness.txt"
grep -qF "Stage 1 not ready: 16 required documents missing" "$work/readiness.txt" ||
  fail "evidentia readiness does not see the installed clause catalogue"

step "stop the collector; purge both packages"
$sudo kill -TERM "$collector_pid"
waited=0
while running "$collector_pid"; do
  [ "$waited" -lt 300 ] || fail "the collector did not stop within 30 s of SIGTERM"
  sleep 0.1
  waited=$((waited + 1))
done
wait "$collector_pid" || fail "the collector exited $? on SIGTERM"
collector_pid=
in_root 120 dpkg --purge evidentia-agent evidentia-collector >"$work/purge.log" 2>&1 ||
  { cat "$work/purge.log" >&2; fail "dpkg --purge failed (log above)"; }
[ ! -e "$root/usr/bin/evidentia-collector" ] || fail "purge left the binaries"
[ -d "$root/var/lib/evidentia" ] || fail "purge removed the collector's evidence"

step "passed: installed, started, enrolled, graded, purged"
