// The text forms of the transparency log's signed checkpoint and of an
// inclusion proof, as written to the auditor bundle (docs/bundle.md, "File
// formats"). Parsing is strict: exactly the form written, nothing else.
#ifndef EVIDENTIA_COMMON_CHECKPOINT_H_
#define EVIDENTIA_COMMON_CHECKPOINT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace evidentia {

struct Checkpoint {
  std::string collector_key_id;  // 64 hex
  uint64_t size = 0;
  std::string root;  // raw 32 bytes
  absl::Time time;   // whole seconds, UTC
};

// "evidentia checkpoint v1\ncollector ...\nsize N\nroot HEX\ntime RFC3339\n"
std::string FormatCheckpoint(const Checkpoint& checkpoint);
// INVALID_ARGUMENT, saying which line is wrong, for anything else.
absl::StatusOr<Checkpoint> ParseCheckpoint(std::string_view text);

struct InclusionProof {
  uint64_t index = 0;
  uint64_t size = 0;
  std::vector<std::string> hashes;  // raw 32 bytes each, leaf's sibling first
};

// "evidentia inclusion proof v1\nindex I\nsize N\nHEX\n..."
std::string FormatInclusionProof(const InclusionProof& proof);
// INVALID_ARGUMENT, saying which line is wrong, for anything else (at most
// 64 hashes).
absl::StatusOr<InclusionProof> ParseInclusionProof(std::string_view text);

}  // namespace evidentia

#endif  // EVIDENTIA_COMMON_CHECKPOINT_H_
