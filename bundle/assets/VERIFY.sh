#!/bin/sh
# VERIFY.sh: checks this Evidentia evidence bundle offline (docs/bundle.md,
# "Verification"). It needs a POSIX sh and only these programs: openssl,
# sha256sum, printf, wc, cat, cut and sort, plus rm to remove its one
# temporary file; everything else it uses is built into the shell.
#
#   sh VERIFY.sh        (from any directory; it works on the bundle it is in)
#
# It checks, in this order:
#   1. SHA256SUMS.sig is the collector's signature of SHA256SUMS;
#   2. every file listed in SHA256SUMS is present and has that digest;
#   3. every snapshot was signed by its agent's key (the key that held the
#      agent's chain at that seq, when the agent rotated its key), every key
#      rotation by the retired key and the next one, and every manual
#      statement by the operator key (DSSE PAE rebuilt with printf), and
#      every ISMS record (isms/<n>.<kind>.statement) by the operator key;
#   4. log/checkpoint.sig is the collector's signature of log/checkpoint.
# It then prints the collector key's fingerprint: compare it with the one you
# were given separately. Exit status 0 when all holds; otherwise it prints
# "FAILED: <file>: <what is wrong>" and exits 1.

SNAPSHOT_TYPE='application/vnd.evidentia.snapshot.v1+protobuf'
MANUAL_TYPE='application/vnd.evidentia.manual-evidence.v1+protobuf'
ROTATION_TYPE='application/vnd.evidentia.key-rotation.v1+text'
COLLECTOR_KEY='keys/collector.pub.pem'
OPERATOR_KEY='keys/operator.pub.pem'

fail() {
  printf 'FAILED: %s: %s\n' "$1" "$2"
  exit 1
}

# Work in the bundle's own directory, wherever we were started from.
case $0 in
  */*)
    here=${0%/*}
    [ -n "$here" ] || here=/
    cd "$here" || fail "$here" "cannot enter the bundle directory"
    ;;
esac

# One private temporary file for the PAE bytes, never an existing one.
umask 077
set -C
tmp="${TMPDIR:-/tmp}/evidentia-verify.$$"
: > "$tmp" 2> /dev/null || fail "$tmp" "cannot create a temporary file"
trap 'rm -f "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

# verify_raw KEY FILE SIG: an Ed25519 signature over FILE's exact bytes.
verify_raw() {
  openssl pkeyutl -verify -pubin -inkey "$1" -rawin -in "$2" \
    -sigfile "$3" > /dev/null 2>&1
}

# verify_pae KEY TYPE LENGTH-OF-TYPE PAYLOAD SIG: Ed25519 over
# PAE(TYPE, PAYLOAD) = "DSSEv1 <len type> <type> <len payload> <payload>".
verify_pae() {
  size=$(wc -c < "$4") || return 1
  size=$((size))
  printf 'DSSEv1 %d %s %d ' "$3" "$2" "$size" >| "$tmp" || return 1
  cat "$4" >> "$tmp" || return 1
  verify_raw "$1" "$tmp" "$5"
}

# check_key FILE: FILE holds a public key openssl can read.
check_key() {
  [ -f "$1" ] || fail "$1" "missing"
  openssl pkey -pubin -in "$1" -noout > /dev/null 2>&1 ||
    fail "$1" "not a readable public key"
}

# 1. The list of digests, signed by the collector.
[ -f SHA256SUMS ] || fail SHA256SUMS "missing"
[ -f SHA256SUMS.sig ] || fail SHA256SUMS.sig "missing"
check_key "$COLLECTOR_KEY"
verify_raw "$COLLECTOR_KEY" SHA256SUMS SHA256SUMS.sig ||
  fail SHA256SUMS.sig "signature of SHA256SUMS does not verify under $COLLECTOR_KEY"

# 2. Every file it lists, digest by digest. Missing files fail too. Paths
# that could reach outside the bundle are refused before anything is read.
set -f
# Word by word on purpose: a safe path has no blanks, and every piece of an
# unsafe one is checked.
# shellcheck disable=SC2013
for path in $(cut -c67- SHA256SUMS); do
  case $path in
    /* | .. | ../* | */.. | */../* | *\\*)
      fail SHA256SUMS "lists an unsafe path: $path" ;;
  esac
done
set +f
if ! bad=$(sha256sum -c --strict --quiet SHA256SUMS 2> /dev/null); then
  first=${bad%%
*}
  case $first in
    *': FAILED open or read') fail "${first%: FAILED open or read}" "missing or unreadable (listed in SHA256SUMS)" ;;
    *': FAILED') fail "${first%: FAILED}" "content does not match its digest in SHA256SUMS" ;;
    *) fail SHA256SUMS "malformed (every line must be: <64 hex>  <path>)" ;;
  esac
fi
files=$(wc -l < SHA256SUMS)
files=$((files))

# fingerprint KEY: the SHA-256 of KEY's DER SubjectPublicKeyInfo (the key id).
fingerprint() {
  openssl pkey -pubin -in "$1" -outform DER | sha256sum | cut -d' ' -f1
}

# is_seq WORD: WORD is a seq as bundles name them: decimal, from 1, without
# leading zeros.
is_seq() {
  case $1 in
    '' | 0* | *[!0-9]*) return 1 ;;
  esac
  return 0
}

# seq_le A B: seq A <= seq B. Seqs run to 2^64 - 1, past what sh arithmetic
# and test hold (2^63 - 1), so they are compared as decimal strings: the
# shorter is the smaller, and of equal length the first differing digit
# decides (is_seq: no leading zeros).
seq_le() {
  le_a=$1
  le_b=$2
  [ "${#le_a}" -eq "${#le_b}" ] || {
    [ "${#le_a}" -lt "${#le_b}" ]
    return
  }
  while [ -n "$le_a" ]; do
    le_x=${le_a%"${le_a#?}"}
    le_y=${le_b%"${le_b#?}"}
    [ "$le_x" = "$le_y" ] || {
      [ "$le_x" -lt "$le_y" ]
      return
    }
    le_a=${le_a#?}
    le_b=${le_b#?}
  done
  return 0
}

# retired_seqs AGENT: sets seqs to the last seqs of the keys AGENT retired,
# ascending, from keys/agents/AGENT/<last seq>.pub.pem (docs/bundle.md, "Key
# rotation"): by length, then by digits, as seq_le compares them.
retired_seqs() {
  rs_found=''
  for rs_key in "keys/agents/$1"/*.pub.pem; do
    [ -f "$rs_key" ] || continue
    rs_n=${rs_key##*/}
    rs_n=${rs_n%.pub.pem}
    is_seq "$rs_n" || fail "$rs_key" "is not named <seq>.pub.pem"
    rs_found="$rs_found $rs_n"
  done
  seqs=''
  [ -n "$rs_found" ] || return 0
  # Word by word on purpose: every word is a seq.
  # shellcheck disable=SC2086
  seqs=$(for rs_n in $rs_found; do printf '%d %s\n' "${#rs_n}" "$rs_n"; done |
    LC_ALL=C sort -k1,1n -k2,2 | cut -d' ' -f2)
}

# 3a. Key rotations: keys/agents/<agent>/<n>.rotation hands the agent's chain
# after seq n from <n>.pub.pem (which signs <n>.rotation.sig) to the next
# key (the next retired one, or keys/agents/<agent>.pub.pem), which signs
# <n>.rotation.new.sig. The statement must name both keys and n.
rotations=0
for dir in keys/agents/*; do
  [ -d "$dir" ] || continue
  agent=${dir#keys/agents/}
  retired_seqs "$agent"
  for n in $seqs; do
    old="$dir/$n.pub.pem"
    check_key "$old"
    next=''
    for later in $seqs; do
      if ! seq_le "$later" "$n"; then next="$dir/$later.pub.pem"; break; fi
    done
    [ -n "$next" ] || next="keys/agents/$agent.pub.pem"
    check_key "$next"
    statement="$dir/$n.rotation"
    [ -f "$statement" ] || fail "$statement" "missing"
    want_agent="agent $agent"
    want_old="old $(fingerprint "$old")" || fail "$old" "cannot compute its fingerprint"
    want_new="new $(fingerprint "$next")" || fail "$next" "cannot compute its fingerprint"
    want_seq="seq $n"
    lines=0
    while IFS= read -r line; do
      lines=$((lines + 1))
      case $lines in
        2) [ "$line" = "$want_agent" ] || fail "$statement" "does not name agent $agent" ;;
        3) [ "$line" = "$want_old" ] || fail "$statement" "does not retire $old" ;;
        4) [ "$line" = "$want_new" ] || fail "$statement" "does not hand over to $next" ;;
        5) [ "$line" = "$want_seq" ] || fail "$statement" "is not the rotation after seq $n" ;;
      esac
    done < "$statement"
    [ "$lines" -eq 7 ] || fail "$statement" "is not a key rotation statement"
    [ -f "$statement.sig" ] || fail "$statement.sig" "missing"
    [ -f "$statement.new.sig" ] || fail "$statement.new.sig" "missing"
    verify_pae "$old" "$ROTATION_TYPE" 46 "$statement" "$statement.sig" ||
      fail "$statement.sig" "signature of $statement does not verify under $old"
    verify_pae "$next" "$ROTATION_TYPE" 46 "$statement" "$statement.new.sig" ||
      fail "$statement.new.sig" "signature of $statement does not verify under $next"
    rotations=$((rotations + 1))
  done
done

# 3b. Snapshots: snapshots/<agent>/<seq>.payload signed by the agent's key for
# that seq: the first retired key whose rotation comes at or after it, else
# keys/agents/<agent>.pub.pem.
agents=0
snapshots=0
for dir in snapshots/*; do
  [ -d "$dir" ] || continue
  agent=${dir#snapshots/}
  current="keys/agents/$agent.pub.pem"
  check_key "$current"
  retired_seqs "$agent"
  agents=$((agents + 1))
  for payload in "$dir"/*.payload; do
    [ -f "$payload" ] || continue
    sig="${payload%.payload}.sig"
    [ -f "$sig" ] || fail "$sig" "missing"
    key=$current
    seq=${payload##*/}
    seq=${seq%.payload}
    is_seq "$seq" || fail "$payload" "is not named <seq>.payload"
    for n in $seqs; do
      if seq_le "$seq" "$n"; then key="keys/agents/$agent/$n.pub.pem"; break; fi
    done
    verify_pae "$key" "$SNAPSHOT_TYPE" 46 "$payload" "$sig" ||
      fail "$sig" "signature of $payload does not verify under $key"
    snapshots=$((snapshots + 1))
  done
done

# 3c. Manual evidence: manual/<control>/<n>.statement signed by the operator.
manual=0
for statement in manual/*/*.statement; do
  [ -f "$statement" ] || continue
  if [ "$manual" -eq 0 ]; then check_key "$OPERATOR_KEY"; fi
  sig="${statement%.statement}.sig"
  [ -f "$sig" ] || fail "$sig" "missing"
  verify_pae "$OPERATOR_KEY" "$MANUAL_TYPE" 53 "$statement" "$sig" ||
    fail "$sig" "signature of $statement does not verify under $OPERATOR_KEY"
  manual=$((manual + 1))
done

# 3d. ISMS records: isms/<n>.<kind>.statement signed by the operator, its
# payload type named by its kind. They are numbered from 1 without gaps.
records=0
isms_kinds=' document audit audit-close decision finding action action-close sample '
for statement in isms/*.statement; do
  [ -f "$statement" ] || continue
  if [ "$manual" -eq 0 ] && [ "$records" -eq 0 ]; then check_key "$OPERATOR_KEY"; fi
  name=${statement#isms/}
  name=${name%.statement}
  n=${name%%.*}
  kind=${name#*.}
  is_seq "$n" || fail "$statement" "is not named <n>.<kind>.statement"
  case $isms_kinds in
    *" $kind "*) ;;
    *) fail "$statement" "is not a known kind of ISMS record" ;;
  esac
  type="application/vnd.evidentia.isms-$kind.v1+protobuf"
  sig="isms/$n.$kind.sig"
  [ -f "$sig" ] || fail "$sig" "missing"
  verify_pae "$OPERATOR_KEY" "$type" "${#type}" "$statement" "$sig" ||
    fail "$sig" "signature of $statement does not verify under $OPERATOR_KEY"
  records=$((records + 1))
done
n=1
while [ "$n" -le "$records" ]; do
  set -- isms/"$n".*.statement
  [ -f "$1" ] || fail "isms/" "record $n is missing (records are numbered 1 to $records)"
  n=$((n + 1))
done

# 4. The transparency log's signed tree head.
[ -f log/checkpoint ] || fail log/checkpoint "missing"
[ -f log/checkpoint.sig ] || fail log/checkpoint.sig "missing"
verify_raw "$COLLECTOR_KEY" log/checkpoint log/checkpoint.sig ||
  fail log/checkpoint.sig "signature of log/checkpoint does not verify under $COLLECTOR_KEY"
log_size=unknown
while IFS=' ' read -r word value; do
  case $word in size) log_size=$value ;; esac
done < log/checkpoint

fingerprint=$(fingerprint "$COLLECTOR_KEY") ||
  fail "$COLLECTOR_KEY" "cannot compute its fingerprint"

printf 'OK: SHA256SUMS signature verified under %s\n' "$COLLECTOR_KEY"
printf 'OK: %d files match their SHA-256 in SHA256SUMS\n' "$files"
printf 'OK: %d snapshot signatures from %d agents verified\n' "$snapshots" "$agents"
printf 'OK: %d device key rotations verified\n' "$rotations"
printf 'OK: %d manual evidence statements verified under %s\n' "$manual" "$OPERATOR_KEY"
printf 'OK: %d ISMS records verified under %s\n' "$records" "$OPERATOR_KEY"
printf 'OK: log checkpoint (tree size %s) signature verified\n' "$log_size"
printf '\nCollector key fingerprint (SHA-256 of %s):\n  %s\n' "$COLLECTOR_KEY" "$fingerprint"
printf 'Compare it with the fingerprint you received separately from the\n'
printf 'organisation. If they differ, this bundle was signed by another key:\n'
printf 'do not rely on it.\n'
exit 0
