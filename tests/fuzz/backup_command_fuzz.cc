// ToolsInCommand on any script or command line, ParseTimeshiftCreated on any
// info.json and IsRunPartsName on any file name.
#include "agent/linux/probes/backup_probe.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::agent;
  std::string_view text = evidentia::fuzz::AsText(data, size);
  for (const std::string& tool : ToolsInCommand(text)) {
    evidentia::fuzz::Require(!tool.empty(), "tool id is not empty");
  }
  std::optional<int64_t> created = ParseTimeshiftCreated(text);
  evidentia::fuzz::Require(!created || *created > 0, "created is positive");
  IsRunPartsName(text);
  return 0;
}
