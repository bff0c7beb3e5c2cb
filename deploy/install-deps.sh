#!/usr/bin/env bash
# Installs the Debian 12 packages Evidentia builds and runs with, if any are
# missing: apt-get as root, through sudo otherwise. Installs nothing when all
# are present (so it works offline on a prepared machine).
set -euo pipefail

packages=(
  cmake g++ make pkg-config openssl
  clang libclang-rt-14-dev  # the sanitizer build and libFuzzer (tests/run.sh)
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  librocksdb-dev libssl-dev libabsl-dev libyaml-cpp-dev
  libcli11-dev  # command lines (common/cli_flags.h), header-only
  libgtest-dev libgmock-dev
  libarchive-dev nlohmann-json3-dev libsodium-dev
  python3 python3-jsonschema python3-regex
  python3-h2  # the hostile HTTP/2 client of tests/hostile/
  dpkg-dev     # dpkg-shlibdeps: the .deb packages' Depends (packaging/)
  debootstrap  # the clean Debian 12 root of tests/package/install_test.sh
)

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
