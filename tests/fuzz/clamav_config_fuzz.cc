// ParseClamavConfig on any clamd.conf / freshclam.conf.
#include "agent/linux/probes/anti_malware_probe.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  evidentia::agent::ParseClamavConfig(evidentia::fuzz::AsText(data, size));
  return 0;
}
