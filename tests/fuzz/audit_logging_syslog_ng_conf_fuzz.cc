// ParseSyslogNgConf on any syslog-ng.conf or conf.d file.
#include "agent/linux/probes/audit_logging_probe.h"
#include "tests/fuzz/fuzz_input.h"

namespace {

void CheckDestination(const evidentia::agent::SyslogNgDestination& dest) {
  for (const evidentia::agent::RemoteTarget& target : dest.targets) {
    evidentia::fuzz::Require(!target.host.empty(), "target has a host");
    evidentia::fuzz::Require(target.port > 0 && target.port <= 65535,
                             "target port is a TCP/UDP port");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::agent;
  SyslogNgConfig config =
      ParseSyslogNgConf(evidentia::fuzz::AsText(data, size));
  for (const auto& [name, dest] : config.destinations) CheckDestination(dest);
  for (const SyslogNgDestination& dest : config.inline_destinations) {
    CheckDestination(dest);
  }
  return 0;
}
