// ParseShadow on any /etc/shadow, and ClassifyPassword on every hash field.
#include "agent/linux/probes/local_accounts_probe.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::agent;
  for (const ShadowEntry& entry :
       ParseShadow(evidentia::fuzz::AsText(data, size))) {
    evidentia::fuzz::Require(!entry.name.empty(), "shadow entry has a name");
    ClassifyPassword(entry.password);
  }
  return 0;
}
