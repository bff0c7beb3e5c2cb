// ParseTableReply on any DM_TABLE_STATUS reply buffer: target specs at any
// offset, any `next`, any target count; never a read outside the buffer.
#include "agent/linux/probes/device_mapper.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::agent;
  absl::StatusOr<std::vector<CryptTarget>> targets =
      ParseTableReply(evidentia::fuzz::AsText(data, size));
  if (targets.ok()) {
    evidentia::fuzz::Require(targets->size() <= 256, "targets bounded");
  }
  return 0;
}
