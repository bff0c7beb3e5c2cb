// Paths inside an auditor bundle (docs/bundle.md, "Layout"), built only from
// ids the collector assigns, and the one test of whether a path is safe to
// write or read below a bundle directory. Exporter, CLI and verifier all
// use these, so a hostile id or archive can never reach outside.
#ifndef EVIDENTIA_BUNDLE_PATHS_H_
#define EVIDENTIA_BUNDLE_PATHS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace evidentia::collector::bundle {

inline constexpr char kFormat[] = "evidentia-bundle-v1";
inline constexpr char kSums[] = "SHA256SUMS";
inline constexpr char kSumsSig[] = "SHA256SUMS.sig";
inline constexpr char kManifest[] = "manifest.json";
inline constexpr char kReadmePath[] = "README.txt";
inline constexpr char kVerifyScriptPath[] = "VERIFY.sh";
inline constexpr char kCollectorKey[] = "keys/collector.pub.pem";
inline constexpr char kOperatorKey[] = "keys/operator.pub.pem";
inline constexpr char kFingerprints[] = "keys/FINGERPRINTS.txt";
inline constexpr char kCheckpoint[] = "log/checkpoint";
inline constexpr char kCheckpointSig[] = "log/checkpoint.sig";
inline constexpr char kSummaryCsv[] = "report/summary.csv";
inline constexpr char kIndexHtml[] = "report/index.html";
inline constexpr char kOscal[] = "oscal/assessment-results.json";
// Only when the certification cycle has a finding that is not compliant.
inline constexpr char kOscalPoam[] = "oscal/poam.json";

// An agent id: 32 lowercase hex digits.
bool IsAgentId(absl::string_view id);
// A control id: "a.<digits>.<digits>".
bool IsControlId(absl::string_view id);

// Each builder is INVALID_ARGUMENT for an id not of its form.
absl::StatusOr<std::string> AgentKeyPath(absl::string_view agent_id);
// A retired key of the agent and the statement that retired it after
// `last_seq` (docs/bundle.md, "Key rotation"): `extension` is one of
// kRetiredKeyExtension, kRotationExtension, kRotationSigExtension and
// kRotationNewSigExtension.
inline constexpr char kRetiredKeyExtension[] = "pub.pem";
inline constexpr char kRotationExtension[] = "rotation";
inline constexpr char kRotationSigExtension[] = "rotation.sig";
inline constexpr char kRotationNewSigExtension[] = "rotation.new.sig";
absl::StatusOr<std::string> AgentRotationPath(absl::string_view agent_id,
                                              uint64_t last_seq,
                                              absl::string_view extension);
absl::StatusOr<std::string> SnapshotPath(absl::string_view agent_id,
                                         uint64_t seq,
                                         absl::string_view extension);
absl::StatusOr<std::string> ProofPath(absl::string_view agent_id, uint64_t seq);
// `sha256` raw 32 bytes.
absl::StatusOr<std::string> ObjectPath(absl::string_view sha256);
absl::StatusOr<std::string> ManualPath(absl::string_view control_id,
                                       uint32_t number,
                                       absl::string_view extension);

// ISMS record `number` (from 1): isms/<number>.<kind>.statement and
// .sig, and its inclusion proof isms/<number>.proof. `kind` is a record
// kind ("document"): lower case letters only.
absl::StatusOr<std::string> IsmsRecordPath(uint64_t number,
                                           absl::string_view kind,
                                           absl::string_view extension);
std::string IsmsProofPath(uint64_t number);

// Whether `path` is a relative path of 1 to 6 components, each of
// [A-Za-z0-9._-], not starting with '.', at most 255 bytes in all — the only
// paths a bundle holds.
bool IsSafePath(absl::string_view path);

}  // namespace evidentia::collector::bundle

#endif  // EVIDENTIA_BUNDLE_PATHS_H_
