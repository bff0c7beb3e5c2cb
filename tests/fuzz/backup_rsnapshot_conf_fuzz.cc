// ParseRsnapshotConf on any rsnapshot.conf: levels are plain names (they
// become directory names below the snapshot root).
#include <algorithm>

#include "agent/linux/probes/backup_probe.h"
#include "agent/linux/sys/text.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::agent;
  RsnapshotConfig config =
      ParseRsnapshotConf(evidentia::fuzz::AsText(data, size));
  for (const std::string& level : config.levels) {
    evidentia::fuzz::Require(
        !level.empty() &&
            std::all_of(level.begin(), level.end(),
                        [](char c) { return IsAsciiAlnum(c) || c == '_'; }),
        "rsnapshot level is a plain name");
  }
  evidentia::fuzz::Require(
      config.snapshot_root.size() <= 1 || config.snapshot_root.back() != '/',
      "snapshot root has no trailing slash");
  return 0;
}
