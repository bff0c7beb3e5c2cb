// ParsePasswd on any /etc/passwd, and the password and shell classifiers on
// every field it yields.
#include "agent/linux/probes/local_accounts_probe.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::agent;
  for (const PasswdEntry& entry :
       ParsePasswd(evidentia::fuzz::AsText(data, size))) {
    evidentia::fuzz::Require(!entry.name.empty(), "passwd entry has a name");
    ClassifyPassword(entry.password);
    IsInteractiveShell(entry.shell);
  }
  return 0;
}
