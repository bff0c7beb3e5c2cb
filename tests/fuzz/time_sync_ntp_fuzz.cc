// ParseNtpConf on any ntp.conf (ntp and ntpsec).
#include "agent/linux/probes/time_sync_probe.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::agent;
  for (const std::string& source :
       ParseNtpConf(evidentia::fuzz::AsText(data, size))) {
    evidentia::fuzz::Require(!source.empty(), "ntp source is not empty");
    evidentia::fuzz::Require(source.find('#') == std::string::npos,
                             "comments are stripped");
  }
  return 0;
}
