// ParseDpkgStatus on any /var/lib/dpkg/status.
#include "agent/linux/sys/dpkg.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::agent;
  for (const DpkgPackage& package :
       ParseDpkgStatus(evidentia::fuzz::AsText(data, size))) {
    evidentia::fuzz::Require(!package.name.empty(), "a package has a name");
  }
  return 0;
}
