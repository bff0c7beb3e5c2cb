// ParseLoginDefs on any /etc/login.defs: every key it yields is non-empty
// and free of whitespace.
#include "agent/linux/probes/password_policy_probe.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::agent;
  for (const auto& [key, value] :
       ParseLoginDefs(evidentia::fuzz::AsText(data, size))) {
    evidentia::fuzz::Require(!key.empty(), "login.defs key is not empty");
    for (char c : key) {
      evidentia::fuzz::Require(c != ' ' && c != '\t' && c != '\n',
                               "login.defs key has no whitespace");
    }
  }
  return 0;
}
