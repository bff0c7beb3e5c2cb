// ParseChronyConf on any chrony.conf, and MatchesSimpleGlob on each include
// pattern it yields against the input's first line.
#include "agent/linux/probes/time_sync_probe.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::agent;
  std::string_view text = evidentia::fuzz::AsText(data, size);
  ChronyConf conf = ParseChronyConf(text);
  for (const std::string& source : conf.sources) {
    evidentia::fuzz::Require(!source.empty(), "chrony source is not empty");
  }
  std::string_view first_line = text.substr(0, text.find('\n'));
  for (const std::string& pattern : conf.includes) {
    MatchesSimpleGlob(pattern, first_line);
    evidentia::fuzz::Require(MatchesSimpleGlob(pattern, pattern),
                             "a pattern matches itself");
  }
  return 0;
}
