// ParseKeyRotation (what Collector.RotateKey and both bundle verifiers read
// first) on any text: whatever it accepts has well-formed ids, a seq from 1,
// distinct keys, and formats back to exactly the bytes it came from.
#include <string>

#include "common/checkpoint.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using evidentia::fuzz::Require;
  const std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<evidentia::KeyRotation> rotation =
      evidentia::ParseKeyRotation(text);
  if (!rotation.ok()) {
    Require(rotation.status().code() == absl::StatusCode::kInvalidArgument,
            "a bad statement is INVALID_ARGUMENT");
    return 0;
  }
  Require(rotation->agent_id.size() == 32, "agent ids are 32 hex digits");
  Require(
      rotation->old_key_id.size() == 64 && rotation->new_key_id.size() == 64,
      "key ids are 64 hex digits");
  Require(rotation->old_key_id != rotation->new_key_id, "keys differ");
  Require(rotation->seq >= 1, "seq from 1");
  Require(evidentia::FormatKeyRotation(*rotation) == text,
          "an accepted statement is in its one canonical form");
  return 0;
}
