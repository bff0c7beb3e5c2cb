// ParseCrypttab on any /etc/crypttab.
#include "agent/linux/probes/disk_encryption_probe.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::agent;
  for (const CrypttabEntry& entry :
       ParseCrypttab(evidentia::fuzz::AsText(data, size))) {
    evidentia::fuzz::Require(!entry.name.empty() && !entry.device.empty(),
                             "crypttab entry has a name and a device");
  }
  return 0;
}
