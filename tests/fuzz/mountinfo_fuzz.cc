// ParseMountInfo on any /proc/self/mountinfo.
#include "agent/linux/probes/disk_encryption_probe.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::agent;
  for (const MountInfoEntry& entry :
       ParseMountInfo(evidentia::fuzz::AsText(data, size))) {
    evidentia::fuzz::Require(entry.major_minor.find(':') != std::string::npos,
                             "mountinfo device number is MAJ:MIN");
  }
  return 0;
}
