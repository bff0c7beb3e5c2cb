// ParseLuksHeader on any bytes at the start of a device: LUKS1 and LUKS2
// binary headers and LUKS2 JSON metadata.
#include "agent/linux/probes/luks_header.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::agent;
  const std::string_view bytes = evidentia::fuzz::AsText(data, size);
  absl::StatusOr<size_t> needed = LuksHeaderBytes(bytes);
  absl::StatusOr<evidentia::v1::LuksHeader> header = ParseLuksHeader(bytes);
  if (header.ok()) {
    evidentia::fuzz::Require(needed.ok() && *needed <= bytes.size(),
                             "a parsed header had all the bytes it needs");
    evidentia::fuzz::Require(header->version() == 1 || header->version() == 2,
                             "a parsed header is LUKS1 or LUKS2");
  }
  return 0;
}
