// ParseNftRuleset on any text as libnftables' JSON "list ruleset": no crash,
// no exception, and what it returns is internally consistent.
#include "agent/linux/probes/firewall_probe.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::agent;
  absl::StatusOr<evidentia::v1::FirewallFacts> facts =
      ParseNftRuleset(evidentia::fuzz::AsText(data, size));
  if (!facts.ok()) return 0;
  evidentia::fuzz::Require(facts->ruleset_readable(),
                           "a parsed ruleset is readable");
  evidentia::fuzz::Require(
      facts->ipv4_input() != evidentia::v1::INBOUND_POLICY_UNSPECIFIED &&
          facts->ipv6_input() != evidentia::v1::INBOUND_POLICY_UNSPECIFIED,
      "a parsed ruleset has an inbound policy per IP version");
  for (const evidentia::v1::OpenPort& port : facts->open_ports()) {
    evidentia::fuzz::Require(!port.port().empty(), "open port has a port");
    evidentia::fuzz::Require(
        port.destination().size() <= kMaxRulesetValueBytes &&
            port.interface().size() <= kMaxRulesetValueBytes,
        "rendered values are bounded");
  }
  return 0;
}
