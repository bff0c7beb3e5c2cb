// ParseSwaps on any /proc/swaps.
#include "agent/linux/probes/disk_encryption_probe.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  evidentia::agent::ParseSwaps(evidentia::fuzz::AsText(data, size));
  return 0;
}
