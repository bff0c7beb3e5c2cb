// ParseKscreenlockerrc on any file, its values through KConfig's bool
// reading, and the file resolved as both the system and the user file.
#include "agent/linux/probes/screen_lock_probe.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::agent;
  KdeLockConfig config =
      ParseKscreenlockerrc(evidentia::fuzz::AsText(data, size));
  for (const auto& [key, entry] : config.entries) {
    evidentia::fuzz::Require(!key.empty(), "an entry has a key");
    evidentia::fuzz::Require(ParseKdeBool(entry.value).has_value(),
                             "an entry has a value");
  }
  for (const char* key : {"Autolock", "Timeout", "LockGrace"}) {
    ResolvedSetting setting = ResolveKdeSetting(config, &config, key);
    evidentia::fuzz::Require(
        !setting.value || setting.value->string.has_value(),
        "a KDE value is a string");
  }
  return 0;
}
