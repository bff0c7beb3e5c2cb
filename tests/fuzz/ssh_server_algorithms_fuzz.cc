// ResolveAlgorithmList on any configured list (first line of the input)
// against each version's defaults, and MatchPatternList with the second
// line as the pattern-list.
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "agent/linux/probes/ssh_server_probe.h"
#include "tests/fuzz/fuzz_input.h"

namespace {

bool InList(std::string_view list, std::string_view name) {
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string_view::npos) end = list.size();
    if (list.substr(start, end - start) == name) return true;
    start = end + 1;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::agent;
  std::string_view text = evidentia::fuzz::AsText(data, size);
  std::string_view configured = text.substr(0, text.find('\n'));
  std::string_view patterns =
      configured.size() < text.size() ? text.substr(configured.size() + 1) : "";
  for (const char* version : {"8.4", "9.2", "9.6", "10.0"}) {
    const SshdVersionDefaults& d = DefaultsForVersion(version);
    for (auto [defaults, supported] :
         {std::pair{d.ciphers, d.all_ciphers}, std::pair{d.macs, d.all_macs},
          std::pair{d.kex, d.all_kex}}) {
      absl::StatusOr<std::vector<std::string>> names =
          ResolveAlgorithmList(configured, defaults, supported);
      if (!names.ok()) continue;
      std::set<std::string> seen;
      for (const std::string& name : *names) {
        evidentia::fuzz::Require(
            InList(supported, name) || InList(defaults, name),
            "only known algorithms are offered");
        evidentia::fuzz::Require(seen.insert(name).second,
                                 "no algorithm is offered twice");
      }
    }
  }
  MatchPatternList(configured, patterns);
  return 0;
}
