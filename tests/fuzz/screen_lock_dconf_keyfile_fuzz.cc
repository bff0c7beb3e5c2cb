// The dconf text parsers on any file: a keyfile of /etc/dconf/db/NAME.d, a
// locks file, a profile, and each line as a GVariant text value.
#include "agent/linux/probes/screen_lock_probe.h"
#include "agent/linux/sys/text.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::agent;
  std::string_view text = evidentia::fuzz::AsText(data, size);
  for (const auto& [key, value] : ParseDconfKeyfile(text)) {
    evidentia::fuzz::Require(StartsWith(key, "/"), "a key path starts with /");
    evidentia::fuzz::Require(!value.type.empty(), "a value has a type");
  }
  for (const std::string& lock : ParseDconfLocks(text)) {
    evidentia::fuzz::Require(StartsWith(lock, "/"), "a lock starts with /");
  }
  for (const std::string& entry : ParseDconfProfile(text)) {
    evidentia::fuzz::Require(!entry.empty(), "a profile entry is not empty");
  }
  for (std::string_view line : SplitLines(text)) ParseGVariantText(line);
  return 0;
}
