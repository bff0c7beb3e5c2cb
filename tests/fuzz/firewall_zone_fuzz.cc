// ParseZoneTarget on any firewalld zone file, and ParseLegacyTableNames on
// any /proc/net/ip_tables_names.
#include "agent/linux/probes/firewall_probe.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::agent;
  std::string_view text = evidentia::fuzz::AsText(data, size);
  std::optional<std::string> target = ParseZoneTarget(text);
  if (target) {
    // "default" when the element has no target attribute ("<zone>").
    evidentia::fuzz::Require(*target == "default" || target->size() <= size,
                             "zone target comes from input");
  }
  evidentia::fuzz::Require(ParseLegacyTableNames(text).size() <= 64,
                           "at most 64 legacy table names");
  return 0;
}
