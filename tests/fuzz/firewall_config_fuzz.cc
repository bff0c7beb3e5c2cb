// ParseKeyValueConfig on any /etc/ufw/ufw.conf, /etc/default/ufw or
// /etc/firewalld/firewalld.conf.
#include "agent/linux/probes/firewall_probe.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::agent;
  for (const auto& [key, value] :
       ParseKeyValueConfig(evidentia::fuzz::AsText(data, size))) {
    evidentia::fuzz::Require(!key.empty(), "config key is not empty");
    evidentia::fuzz::Require(value.size() <= size, "value comes from input");
  }
  return 0;
}
