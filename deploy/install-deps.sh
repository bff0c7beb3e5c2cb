#!/usr/bin/env bash
# Installs the Debian 12 packages Evidentia builds and runs with, if any are
# missing: apt-get as root, through sudo otherwise. Installs nothing when all
# are present (so it works offline on a prepared machine).
#   deploy/install-deps.sh [--tests]   --tests: also the real tools the
#                                      probes are compared with (tests/run.sh)
set -euo pipefail

with_tests=0
for arg in "$@"; do
  case "$arg" in
    --tests) with_tests=1 ;;
    *) echo "usage: deploy/install-deps.sh [--tests]" >&2; exit 2 ;;
  esac
done

packages=(
  cmake g++ make pkg-config openssl
  clang libclang-rt-14-dev  # the sanitizer build and libFuzzer (tests/run.sh)
  lld  # a faster linker, used when present (CMakeLists.txt, EVIDENTIA_LLD)
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  librocksdb-dev libssl-dev libabsl-dev libyaml-cpp-dev
  libcli11-dev  # command lines (common/cli_flags.h), header-only
  libgtest-dev libgmock-dev
  libarchive-dev nlohmann-json3-dev libsodium-dev
  libcpp-httplib-dev  # the collector's HTTPS dashboard
  libnftables-dev libapt-pkg-dev  # the agent's firewall and patching probes
  python3 python3-jsonschema python3-regex
  python3-h2  # the hostile HTTP/2 client of tests/hostile/
  dpkg-dev     # dpkg-shlibdeps: the .deb packages' Depends (packaging/)
  debootstrap  # the clean Debian 12 root of tests/package/install_test.sh
)

# The tools each probe's real-machine test runs beside it (agent/linux/
# probes/*_real_test.cc), and the services whose configuration they read.
if [ "$with_tests" = 1 ]; then
  packages+=(
    nftables iptables      # nft -j list ruleset; iptables-legacy tables
    openssh-server         # sshd -T
    chrony adjtimex        # a time daemon's config; the kernel clock (adjtimex -p)
    auditd                 # auditctl -s
    mokutil                # mokutil --sb-state
    login passwd           # chage -l
    procps                 # pgrep
    cryptsetup-bin dmsetup # cryptsetup luksFormat/luksDump; dmsetup table
    dconf-cli              # dconf dump/read: the screen lock probe's GNOME settings
    faketime               # a year of the certification cycle in one test
                           # (tests/cycle/whole_cycle_test.sh)
    chromium               # the dashboard in a real browser (tests/browser/)
  )
  # Node and npm for tests/browser/ (it runs `npm ci` of playwright-core
  # itself): Debian's, unless a Node with its own npm is there already
  # (NodeSource's nodejs package carries npm and conflicts with Debian's).
  if ! command -v npm >/dev/null 2>&1; then
    packages+=(nodejs npm)
  fi
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing missing Debian packages: ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "error: packages missing (${missing[*]}) and neither root nor sudo is available" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Try without refreshing the index first (works offline with a local mirror
# or cache); refresh and retry if that fails.
if ! "${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"; then
  "${as_root[@]}" apt-get update -q
  "${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
