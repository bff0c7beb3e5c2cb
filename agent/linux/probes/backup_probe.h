// linux.backup: the known backup tools on a host (dpkg packages and
// executables), the systemd timers and cron jobs that run them, and the
// newest run the host keeps a trace of (persistent timer stamps, rsnapshot's
// <level>.0 directories, timeshift snapshots on the root file system).
// Commands are read to tell which tool they run, never copied into facts.
// Facts: BackupFacts.
#ifndef EVIDENTIA_AGENT_LINUX_PROBES_BACKUP_PROBE_H_
#define EVIDENTIA_AGENT_LINUX_PROBES_BACKUP_PROBE_H_

#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/linux/sys/systemd_unit.h"
#include "agent/probe.h"
#include "evidentia/v1/facts.pb.h"
#include "evidentia/v1/facts/backup.pb.h"

namespace evidentia::agent {

// One job line of a crontab.
struct CronEntry {
  uint32_t line = 0;       // 1-based line number in the file
  std::string expression;  // the five time fields joined by ' ', or "@daily"
  std::string user;        // system crontabs only (/etc/crontab, cron.d)
  std::string command;     // the rest of the line
};

// What rsnapshot.conf says about where its runs leave snapshots.
struct RsnapshotConfig {
  std::string snapshot_root;        // as written, trailing '/' dropped
  std::vector<std::string> levels;  // retain/interval names, file order
  size_t backup_points = 0;         // backup, backup_script, backup_exec
  bool sync_first = false;          // sync_first 1: runs also touch .sync
};

// Job lines of a crontab. `system_crontab` (/etc/crontab, /etc/cron.d/*)
// means a user field follows the time fields. Comments, blank lines,
// environment assignments (NAME=value), lines with too few fields and lines
// that cron would reject (a time field that is not a number, '*', name,
// range, list or step; a user field that is not a user name) are skipped,
// so that no piece of a command (which may carry a password) ends up in
// `expression` or `user`. File order.
std::vector<CronEntry> ParseCrontab(std::string_view text, bool system_crontab);

// The snapshot root, retain (or interval) levels and backup points of an
// rsnapshot.conf (fields separated by tabs, as rsnapshot requires; spaces
// within a field are kept). Unknown and malformed lines are skipped.
RsnapshotConfig ParseRsnapshotConf(std::string_view text);

// The ids of the known tools a shell command or script runs: each word
// (split on blanks and shell punctuation, '#' comments dropped) that is a
// tool's executable name, or a path to it in a bin or sbin directory or
// below /opt (e.g. /usr/local/bin/restic; /srv/restic is a path, not the
// tool). Sorted.
std::set<std::string> ToolsInCommand(std::string_view text);

// The "created" time (unix seconds, written as a string or a number) of a
// timeshift snapshot's info.json; nullopt if absent or malformed.
std::optional<int64_t> ParseTimeshiftCreated(std::string_view info_json);

// Whether run-parts (and so cron for /etc/cron.d) reads a file of this name:
// only letters, digits, '_' and '-'.
bool IsRunPartsName(std::string_view name);

class BackupProbe : public Probe {
 public:
  std::string_view id() const override { return "linux.backup"; }

  // Reads below `root`: var/lib/dpkg/status; the executables of the known
  // tools in usr/bin, usr/sbin, usr/local/bin, usr/local/sbin and opt;
  // timers and services in etc/systemd/system, usr/local/lib/systemd/system,
  // usr/lib/systemd/system and lib/systemd/system (with drop-ins, at most 64
  // per unit) and the *.wants links there (at most 1024 timers); etc/crontab,
  // etc/cron.d, var/spool/cron/crontabs,
  // etc/cron.{hourly,daily,weekly,monthly}; the scripts a command names
  // (one level, at most 4 per command and 256 distinct scripts per
  // collection, each read once);
  // var/lib/systemd/timers stamps; etc/rsnapshot.conf and its snapshot
  // root; timeshift/snapshots; proc (for server-driven daemons). All of it is
  // optional: what is missing is a fact. Returns an error only when the
  // dpkg database exists but cannot be read.
  absl::StatusOr<v1::Facts> Collect(
      const std::filesystem::path& root) const override;
};

}  // namespace evidentia::agent

#endif  // EVIDENTIA_AGENT_LINUX_PROBES_BACKUP_PROBE_H_
