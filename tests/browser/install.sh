#!/bin/sh
# Installs the browser tests' one npm package (playwright-core, exactly as
# package-lock.json pins it; it drives Debian's /usr/bin/chromium and
# downloads no browser) into tests/browser/node_modules, with `npm ci`,
# when node_modules is missing or was installed from another lockfile. The
# browser tests run it themselves: nothing else in Evidentia needs npm.
# Node and npm: deploy/install-deps.sh --tests.
#   tests/browser/install.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
stamp="$here/node_modules/.evidentia-installed"

# One install at a time (two browser tests may start together): the lock
# is on the lockfile itself, opened for reading.
exec 9<"$here/package-lock.json"
flock -w 600 9 || { echo "install.sh: waited 10 min for another npm ci" >&2; exit 1; }

want=$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
for tool in node npm; do
  command -v "$tool" >/dev/null 2>&1 ||
    { echo "install.sh: $tool is missing: deploy/install-deps.sh --tests" >&2; exit 1; }
done
echo "install.sh: npm ci in $here" >&2
# --ignore-scripts: nothing of the package runs at install.
(cd "$here" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
echo "$want" >"$stamp"
