// ParseCrontab on any crontab, as a system crontab (with a user field) and as
// a user crontab, and ToolsInCommand on every command it yields.
#include "agent/linux/probes/backup_probe.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::agent;
  std::string_view text = evidentia::fuzz::AsText(data, size);
  for (bool system_crontab : {true, false}) {
    uint32_t previous_line = 0;
    for (const CronEntry& entry : ParseCrontab(text, system_crontab)) {
      evidentia::fuzz::Require(!entry.command.empty(),
                               "cron job has a command");
      evidentia::fuzz::Require(!entry.expression.empty(),
                               "cron job has a schedule");
      evidentia::fuzz::Require(system_crontab != entry.user.empty(),
                               "user field only in system crontabs");
      // Nothing of a command (which may carry a password) is kept outside
      // `command`, which never reaches facts.
      evidentia::fuzz::Require(
          entry.expression.find('=') == std::string::npos &&
              entry.user.find('=') == std::string::npos,
          "no assignment in schedule or user");
      evidentia::fuzz::Require(entry.line > previous_line,
                               "cron lines in file order");
      previous_line = entry.line;
      ToolsInCommand(entry.command);
    }
  }
  return 0;
}
