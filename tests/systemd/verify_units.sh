#!/bin/sh
# Checks deploy/systemd/*.service and *.timer: systemd-analyze verify accepts
# them with
# no warning at all (an unknown or misspelt directive is only a warning to
# systemd, an error here), and the hardening the README promises is there.
#   verify_units.sh SOURCE_DIR COLLECTOR_BIN AGENT_BIN
set -eu
src=$1 collector=$2 agent=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0

for unit in "$src"/deploy/systemd/*.service; do
  name=${unit##*/}
  # The units name the installed binaries; verify against the built ones.
  sed -e "s|/usr/local/bin/evidentia-collector|$collector|" \
      -e "s|/usr/local/bin/evidentia-agent|$agent|" "$unit" > "$tmp/$name"
  for directive in 'NoNewPrivileges=yes' 'ProtectSystem=strict' \
                   'ReadWritePaths=/var/lib/' 'PrivateTmp=yes' \
                   'RestrictAddressFamilies=' 'CapabilityBoundingSet=' \
                   'StateDirectoryMode=0700'; do
    if ! grep -q "^$directive" "$unit"; then
      echo "$name: missing $directive" >&2
      status=1
    fi
  done
done
if ! grep -q '^User=evidentia$' "$src/deploy/systemd/evidentia-collector.service"; then
  echo "evidentia-collector.service: must run as its own user (User=evidentia)" >&2
  status=1
fi

# What the agent's probes read (agent/linux/probes/) must not be denied by
# its sandbox: the ruleset and audit status over netlink with their
# capabilities, the clock's state through adjtimex, LUKS headers on block
# devices; and a denied call must fail, not kill the cycle.
agent_unit="$src/deploy/systemd/evidentia-agent.service"
for need in '^RestrictAddressFamilies=.*AF_NETLINK' \
            '^CapabilityBoundingSet=.*CAP_NET_ADMIN' \
            '^CapabilityBoundingSet=.*CAP_AUDIT_CONTROL' \
            '^SystemCallFilter=.*adjtimex' \
            '^SystemCallErrorNumber=EPERM' \
            '^DeviceAllow=block-\* r'; do
  if ! grep -q "$need" "$agent_unit"; then
    echo "evidentia-agent.service: its probes need $need" >&2
    status=1
  fi
done
for denies in '^PrivateDevices=yes' '^ProtectClock=yes'; do
  if grep -q "$denies" "$agent_unit"; then
    echo "evidentia-agent.service: $denies denies what its probes read" >&2
    status=1
  fi
done

cp "$src"/deploy/systemd/*.timer "$tmp"/
if ! grep -q '^Type=oneshot' "$src/deploy/systemd/evidentia-agent.service" ||
   ! grep -q '^OnUnitActiveSec=' "$src/deploy/systemd/evidentia-agent.timer"; then
  echo "evidentia-agent: one cycle (Type=oneshot) started by its timer" >&2
  status=1
fi

if ! out=$(cd "$tmp" && systemd-analyze verify --man=no ./*.service ./*.timer 2>&1); then
  echo "$out" >&2
  exit 1
fi
if [ -n "$out" ]; then
  echo "systemd-analyze verify warned:" >&2
  echo "$out" >&2
  exit 1
fi
[ "$status" -eq 0 ] && echo "units verified: $(ls "$tmp" | tr '\n' ' ')"
exit "$status"
