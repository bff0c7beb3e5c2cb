// ParseFaillockConf on any faillock.conf: names are non-empty and contain
// neither whitespace nor '='; values carry no comment.
#include "agent/linux/probes/password_policy_probe.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::agent;
  for (const auto& [name, value] :
       ParseFaillockConf(evidentia::fuzz::AsText(data, size))) {
    evidentia::fuzz::Require(!name.empty(), "setting has a name");
    for (char c : name) {
      evidentia::fuzz::Require(c != '=' && c != ' ' && c != '\t',
                               "name has no separator");
    }
    evidentia::fuzz::Require(value.find('#') == std::string::npos,
                             "value has no comment");
  }
  return 0;
}
