// `evidentia verify`: everything bundle/VERIFY.sh checks, and everything it
// cannot (docs/bundle.md, "Verification"): no unlisted files, payloads that
// decode and match their paths, continuous chains, objects present, the
// manifest, every inclusion proof against the signed checkpoint, and a
// re-grade of the bundle's own snapshots that reproduces report/summary.csv.
#ifndef EVIDENTIA_COLLECTOR_BUNDLE_VERIFY_H_
#define EVIDENTIA_COLLECTOR_BUNDLE_VERIFY_H_

#include <cstdint>
#include <filesystem>
#include <string>

#include "absl/status/statusor.h"

namespace evidentia::collector {

// What was verified, in numbers.
struct BundleVerification {
  std::string collector_key_id;  // hex SHA-256 of the collector key's DER
  uint64_t files = 0;            // digests checked
  uint64_t agents = 0;
  uint64_t snapshots = 0;        // signatures, chains and proofs checked
  uint64_t manual = 0;           // manual statements checked
  uint64_t log_size = 0;         // of the checkpoint
  uint64_t controls = 0;         // re-graded rows that matched the report
};

// Verifies the bundle directory `dir`. Any failure is an error whose
// message starts with the bundle-relative path of the file that fails,
// then what is wrong ("snapshots/ab…/7.sig: signature does not verify under
// keys/agents/ab….pub.pem"). `threads` 0 uses every core.
absl::StatusOr<BundleVerification> VerifyBundle(const std::filesystem::path& dir,
                                                int threads = 0);

// Verifies `path`: a bundle directory, or a .tar.gz of one (unpacked
// safely into a private temporary directory, removed afterwards).
absl::StatusOr<BundleVerification> VerifyBundlePath(
    const std::filesystem::path& path, int threads = 0);

}  // namespace evidentia::collector

#endif  // EVIDENTIA_COLLECTOR_BUNDLE_VERIFY_H_
