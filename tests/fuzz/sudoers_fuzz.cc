// ParseSudoers on any sudoers file (continuations, aliases, includes).
#include "agent/linux/probes/local_accounts_probe.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  evidentia::agent::SudoersFile file =
      evidentia::agent::ParseSudoers(evidentia::fuzz::AsText(data, size));
  for (const evidentia::v1::SudoRule& rule : file.rules) {
    evidentia::fuzz::Require(rule.file().empty(), "sudo rule file left empty");
  }
  return 0;
}
