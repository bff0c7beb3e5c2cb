// The text forms of the transparency log's signed checkpoint, of an
// inclusion proof and of a device key rotation statement, as written to the
// auditor bundle (docs/bundle.md, "File formats"). Parsing is strict: exactly
// the form written, nothing else.
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

// A device key rotation (docs/bundle.md, "Key rotation"): agent `agent_id`
// hands its chain, after snapshot `seq`, from key `old_key_id` to key
// `new_key_id`. Both keys sign PAE(kKeyRotationPayloadType, text).
struct KeyRotation {
  std::string agent_id;    // 32 lowercase hex
  std::string old_key_id;  // 64 lowercase hex
  std::string new_key_id;  // 64 lowercase hex, not old_key_id
  uint64_t seq = 0;        // the last seq the old key signed, from 1
  std::string head;        // raw 32 bytes: what snapshot seq + 1 names as prev
  absl::Time time;         // the agent's claim, whole seconds, UTC
};

inline constexpr size_t kMaxKeyRotationBytes = 1024;

// "evidentia key rotation v1\nagent ID\nold HEX\nnew HEX\nseq N\n"
// "head HEX\ntime RFC3339\n"
std::string FormatKeyRotation(const KeyRotation& rotation);
// INVALID_ARGUMENT, saying which line is wrong, for anything else (or more
// than kMaxKeyRotationBytes, seq 0, or the same old and new key).
absl::StatusOr<KeyRotation> ParseKeyRotation(std::string_view text);

}  // namespace evidentia

#endif  // EVIDENTIA_COMMON_CHECKPOINT_H_
