// ParseDmUuid on any /sys/block/dm-N/dm/uuid content.
#include "agent/linux/probes/disk_encryption_probe.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  evidentia::agent::DmUuidInfo info =
      evidentia::agent::ParseDmUuid(evidentia::fuzz::AsText(data, size));
  evidentia::fuzz::Require(
      !info.is_encryption ||
          info.type != evidentia::v1::ENCRYPTION_TYPE_UNSPECIFIED,
      "an encryption layer has a type");
  return 0;
}
