#!/bin/sh
# The browser harness without a collector (harness.test.mjs): Chromium
# started the way the dashboard tests start it, trusting a certificate by
# its SPKI pin only, and a screenshot in OUTDIR.
#   harness_test.sh OUTDIR
set -eu
here=$(cd "$(dirname "$0")" && pwd)
outdir=$1
sh "$here/install.sh"
mkdir -p "$outdir"
work=$(mktemp -d "${TMPDIR:-/tmp}/evidentia-harness.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 1' INT TERM
cd "$here"
# Chromium's temporary profile under $work, removed with it.
SCREENSHOT_DIR=$outdir TMPDIR=$work node --test harness.test.mjs
