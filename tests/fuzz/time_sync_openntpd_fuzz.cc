// ParseOpenntpdConf on any openntpd ntpd.conf.
#include "agent/linux/probes/time_sync_probe.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::agent;
  for (const std::string& source :
       ParseOpenntpdConf(evidentia::fuzz::AsText(data, size))) {
    evidentia::fuzz::Require(!source.empty(), "openntpd source is not empty");
  }
  return 0;
}
