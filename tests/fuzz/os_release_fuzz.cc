// ParseOsRelease on any os-release file.
#include "agent/linux/sys/os_release.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  evidentia::agent::ParseOsRelease(evidentia::fuzz::AsText(data, size));
  return 0;
}
