// ParseRebootRequiredPkgs on any /var/run/reboot-required.pkgs: the names
// come back sorted, unique, non-empty and bounded in number and length.
#include <algorithm>

#include "agent/linux/probes/os_patching_probe.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::agent;
  std::vector<std::string> names =
      ParseRebootRequiredPkgs(evidentia::fuzz::AsText(data, size));
  evidentia::fuzz::Require(names.size() <= 1024, "at most 1024 names");
  evidentia::fuzz::Require(
      std::adjacent_find(names.begin(), names.end(),
                         [](const std::string& a, const std::string& b) {
                           return a >= b;
                         }) == names.end(),
      "names sorted and unique");
  for (const std::string& name : names) {
    evidentia::fuzz::Require(!name.empty() && name.size() <= 256,
                             "name non-empty and at most 256 bytes");
  }
  return 0;
}
