// ParseTimesyncdConf on any timesyncd.conf, applied twice (as a second
// drop-in would be).
#include "agent/linux/probes/time_sync_probe.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::agent;
  std::string_view text = evidentia::fuzz::AsText(data, size);
  TimesyncdServers once = ParseTimesyncdConf(text, {});
  TimesyncdServers twice = ParseTimesyncdConf(text, once);
  for (const std::string& server : twice.ntp) {
    evidentia::fuzz::Require(!server.empty(), "NTP= server is not empty");
  }
  evidentia::fuzz::Require(
      once.fallback.has_value() == twice.fallback.has_value(),
      "FallbackNTP= set once is set twice");
  return 0;
}
