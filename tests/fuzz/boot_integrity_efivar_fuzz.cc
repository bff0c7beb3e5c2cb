// ParseEfiBooleanVariable on any efivarfs file content.
#include "agent/linux/probes/boot_integrity_probe.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::agent;
  evidentia::v1::EfiFlag flag =
      ParseEfiBooleanVariable(evidentia::fuzz::AsText(data, size));
  evidentia::fuzz::Require(flag == evidentia::v1::EFI_FLAG_UNKNOWN || size == 5,
                           "only a 5-byte variable has a known value");
  return 0;
}
