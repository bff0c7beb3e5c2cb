// ParseGroup on any /etc/group.
#include "agent/linux/probes/local_accounts_probe.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::agent;
  for (const GroupEntry& entry :
       ParseGroup(evidentia::fuzz::AsText(data, size))) {
    evidentia::fuzz::Require(!entry.name.empty(), "group entry has a name");
  }
  return 0;
}
