// ParsePwqualityConf on any pwquality.conf: names are non-empty, lower case
// and contain neither whitespace nor '='.
#include "agent/linux/probes/password_policy_probe.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::agent;
  for (const auto& [name, value] :
       ParsePwqualityConf(evidentia::fuzz::AsText(data, size))) {
    evidentia::fuzz::Require(!name.empty(), "setting has a name");
    for (char c : name) {
      evidentia::fuzz::Require(c != '=' && c != ' ' && c != '\t' && c != '#',
                               "name has no separator or comment");
      evidentia::fuzz::Require(!(c >= 'A' && c <= 'Z'), "name is lower case");
    }
    evidentia::fuzz::Require(value.find('#') == std::string::npos,
                             "value has no comment");
  }
  return 0;
}
