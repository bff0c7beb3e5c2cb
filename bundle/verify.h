// `evidentia verify`: everything bundle/VERIFY.sh checks, and everything it
// cannot (docs/bundle.md, "Verification"): no unlisted files, payloads that
// decode and match their paths, continuous chains, objects present, the
// manifest, every inclusion proof against the signed checkpoint, and a
// re-grade of the bundle's own snapshots that reproduces report/summary.csv.
#ifndef EVIDENTIA_BUNDLE_VERIFY_H_
#define EVIDENTIA_BUNDLE_VERIFY_H_

#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace evidentia::collector {

// What was verified, in numbers.
struct BundleVerification {
  std::string collector_key_id;  // hex SHA-256 of the collector key's DER
  uint64_t files = 0;            // digests checked
  uint64_t agents = 0;
  uint64_t snapshots = 0;  // signatures, chains and proofs checked
  uint64_t chains = 0;     // agents whose chain was followed
  // One line per gap snapshot: "agent ID lost snapshots A..B (signed gap
  // snapshot B)".
  std::vector<std::string> gaps;
  // Device key rotations whose statements verified under both keys.
  uint64_t key_rotations = 0;
  uint64_t manual = 0;        // manual statements checked
  uint64_t isms_records = 0;  // ISMS records checked (isms/)
  // Proofs of effectiveness and samples recomputed from the bundle's
  // snapshots, and those whose evidence lies before the bundle's period
  // (signature and log inclusion checked, not the claim).
  uint64_t isms_recomputed = 0;
  uint64_t isms_not_recomputed = 0;
  uint64_t log_size = 0;  // of the checkpoint
  uint64_t controls = 0;  // re-graded rows that matched the report
};

// Verifies the bundle directory `dir`. Any failure is an error whose
// message starts with the bundle-relative path of the file that fails,
// then what is wrong ("snapshots/ab…/7.sig: signature does not verify under
// keys/agents/ab….pub.pem"). `threads` 0 uses every core.
absl::StatusOr<BundleVerification> VerifyBundle(
    const std::filesystem::path& dir, int threads = 0);

// Verifies `path`: a bundle directory, or a .tar.gz of one (unpacked
// safely into a private temporary directory, removed afterwards).
absl::StatusOr<BundleVerification> VerifyBundlePath(
    const std::filesystem::path& path, int threads = 0);

// One line of SHA256SUMS: "<64 hex>  <path>\n".
struct Sha256SumsEntry {
  std::string path;    // bundle-relative, passed bundle::IsSafePath
  std::string sha256;  // 64 lowercase hex
};

// Parses SHA256SUMS strictly, before anything touches the file system:
// every line "<64 lowercase hex>  <path>\n", paths safe (no "..", not
// absolute, only [A-Za-z0-9._-] components), sorted bytewise, no
// duplicates, neither SHA256SUMS nor SHA256SUMS.sig listed. DATA_LOSS
// "SHA256SUMS: line N: what is wrong" otherwise.
absl::StatusOr<std::vector<Sha256SumsEntry>> ParseSha256Sums(
    absl::string_view text);

// `evidentia verify DIR|FILE.tar.gz [--threads N] [--json]` once its command
// line is read (cli/operator_cli.cc): verifies the bundle at `path` (a
// directory or a .tar.gz) with `threads` threads (0: one per core). Writes
// what was verified, in numbers, and the collector key's fingerprint to
// `out`; a failure names the file and what is wrong (on `err`, or as
// {"ok":false,...} on `out` with `json`). Returns 0 when the bundle
// verifies, 1 when it does not (or cannot be read).
int RunVerify(const std::string& path, int threads, bool json,
              std::ostream& out, std::ostream& err);

}  // namespace evidentia::collector

#endif  // EVIDENTIA_BUNDLE_VERIFY_H_
