// ParseRsyslogConf on any rsyslog.conf or rsyslog.d file.
#include "agent/linux/probes/audit_logging_probe.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::agent;
  RsyslogConfig config = ParseRsyslogConf(evidentia::fuzz::AsText(data, size));
  for (const RemoteTarget& target : config.targets) {
    evidentia::fuzz::Require(!target.host.empty(), "target has a host");
    evidentia::fuzz::Require(target.port > 0 && target.port <= 65535,
                             "target port is a TCP/UDP port");
    evidentia::fuzz::Require(
        target.protocol == "udp" || target.protocol == "tcp" ||
            target.protocol == "tls" || target.protocol == "relp",
        "rsyslog protocol is known");
  }
  return 0;
}
