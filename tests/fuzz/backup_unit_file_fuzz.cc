// ParseUnitFile (agent/linux/sys/systemd_unit.h) on any systemd unit file,
// and UnitValues on the timer and service keys linux.backup reads.
#include "agent/linux/probes/backup_probe.h"
#include "agent/linux/sys/systemd_unit.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::agent;
  std::vector<UnitSetting> settings =
      ParseUnitFile(evidentia::fuzz::AsText(data, size));
  for (const UnitSetting& setting : settings) {
    evidentia::fuzz::Require(!setting.section.empty(), "setting has a section");
    evidentia::fuzz::Require(!setting.key.empty(), "setting has a key");
  }
  for (const std::string& value : UnitValues(settings, "Timer", "OnCalendar")) {
    evidentia::fuzz::Require(!value.empty(), "list values are never empty");
  }
  LastUnitValue(settings, "Timer", "Persistent");
  for (const std::string& exec : UnitValues(settings, "Service", "ExecStart")) {
    ToolsInCommand(exec);
  }
  return 0;
}
