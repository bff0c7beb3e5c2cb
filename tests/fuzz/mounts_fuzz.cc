// ParseMounts on any /proc/self/mounts, and IsFixedMount on every entry.
#include "agent/linux/probes/disk_encryption_probe.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::agent;
  for (const MountEntry& mount :
       ParseMounts(evidentia::fuzz::AsText(data, size))) {
    IsFixedMount(mount);
  }
  return 0;
}
