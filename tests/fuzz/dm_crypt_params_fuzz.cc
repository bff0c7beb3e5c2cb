// ParseCryptParams on any dm-crypt table line: the key's value never
// reaches the result.
#include "agent/linux/probes/device_mapper.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::agent;
  absl::StatusOr<CryptTarget> target =
      ParseCryptParams(evidentia::fuzz::AsText(data, size));
  if (target.ok()) {
    evidentia::fuzz::Require(target->cipher.size() <= 128, "cipher bounded");
    evidentia::fuzz::Require(target->device.size() <= 64, "device bounded");
  }
  return 0;
}
