#include "agent/linux/probes/backup_probe.h"

#include <algorithm>
#include <map>
#include <tuple>
#include <utility>

#include "absl/status/status.h"
#include "agent/linux/sys/dpkg.h"
#include "agent/linux/sys/processes.h"
#include "agent/linux/sys/rooted_fs.h"
#include "agent/linux/sys/rooted_stat.h"
#include "agent/linux/sys/systemd_unit.h"
#include "agent/linux/sys/text.h"
#include "agent/linux/sys/utf8.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxUnitFileBytes = 256 << 10;
constexpr size_t kMaxCrontabBytes = 1 << 20;
constexpr size_t kMaxScriptBytes = 256 << 10;
constexpr size_t kMaxInfoJsonBytes = 64 << 10;
constexpr size_t kMaxDirEntries = 4096;
constexpr size_t kMaxOptEntries = 256;
// Timers read per collection, and drop-ins applied per unit: a host has a
// few dozen of each; a tree of thousands of *.wants links or drop-ins must
// not cost thousands of unit reads each.
constexpr size_t kMaxTimers = 1024;
constexpr size_t kMaxDropInsPerUnit = 64;
constexpr size_t kMaxScriptsPerCommand = 4;
// Distinct scripts followed per collection: a crontab of many lines naming
// many scripts costs at most this many reads.
constexpr size_t kMaxScriptsPerCollection = 256;
constexpr size_t kMaxTimeshiftSnapshotsRead = 16;
constexpr std::string_view kElfMagic =
    "\x7f"
    "ELF";

// A backup tool the probe knows: its dpkg packages, the executable names
// that run it, and for tools whose runs a remote server starts, the name of
// the daemon the server talks to.
struct KnownTool {
  std::string_view id;
  std::vector<std::string_view> packages;
  std::vector<std::string_view> executables;
  std::string_view server_daemon;  // empty: scheduled on the host itself
};

const std::vector<KnownTool>& KnownTools() {
  static const auto* const kTools = new std::vector<KnownTool>{
      {"bacula-fd", {"bacula-client", "bacula-fd"}, {"bacula-fd"}, "bacula-fd"},
      {"bareos-fd", {"bareos-filedaemon"}, {"bareos-fd"}, "bareos-fd"},
      {"borg", {"borgbackup"}, {"borg"}, ""},
      {"borgmatic", {"borgmatic"}, {"borgmatic"}, ""},
      {"deja-dup", {"deja-dup"}, {"deja-dup"}, ""},
      {"duplicity", {"duplicity", "duply"}, {"duplicity", "duply"}, ""},
      {"restic", {"restic"}, {"restic"}, ""},
      {"rsnapshot", {"rsnapshot"}, {"rsnapshot"}, ""},
      {"timeshift", {"timeshift"}, {"timeshift"}, ""},
      {"urbackup-client",
       {"urbackup-client"},
       {"urbackupclientbackend", "urbackupclientctl"},
       "urbackupclientbackend"},
      {"veeam", {"veeam", "veeam-nosnap"}, {"veeamconfig"}, ""},
  };
  return *kTools;
}

// Executable name -> tool id.
const std::map<std::string_view, std::string_view>& ToolByExecutable() {
  static const auto* const kMap = [] {
    auto* map = new std::map<std::string_view, std::string_view>;
    for (const KnownTool& tool : KnownTools()) {
      for (std::string_view exe : tool.executables) (*map)[exe] = tool.id;
    }
    return map;
  }();
  return *kMap;
}

constexpr std::string_view kBinaryDirs[] = {"usr/bin", "usr/sbin",
                                            "usr/local/bin", "usr/local/sbin"};

// Unit directories in systemd's order of precedence (first wins).
constexpr std::string_view kUnitDirs[] = {
    "etc/systemd/system", "usr/local/lib/systemd/system",
    "usr/lib/systemd/system", "lib/systemd/system"};

constexpr std::string_view kTimerTriggerKeys[] = {
    "OnCalendar",   "OnActiveSec",     "OnBootSec",
    "OnStartupSec", "OnUnitActiveSec", "OnUnitInactiveSec"};

constexpr std::string_view kCronKeywords[] = {
    "@reboot", "@yearly", "@annually", "@monthly",
    "@weekly", "@daily",  "@midnight", "@hourly"};

constexpr std::string_view kCronDaemons[] = {"cron", "crond", "fcron"};

constexpr std::string_view kPeriodicDirs[] = {"hourly", "daily", "weekly",
                                              "monthly"};

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// Splits off the next blank-separated field of `*rest`.
std::string_view NextField(std::string_view* rest) {
  size_t start = 0;
  while (start < rest->size() && IsBlank((*rest)[start])) ++start;
  size_t end = start;
  while (end < rest->size() && !IsBlank((*rest)[end])) ++end;
  std::string_view field = rest->substr(start, end - start);
  rest->remove_prefix(end);
  return field;
}

// One value of a crontab time field: a number or a month or weekday name
// ("jan", "Mon").
bool IsCronValue(std::string_view value) {
  if (!value.empty() && value.size() <= 2 &&
      std::all_of(value.begin(), value.end(), IsAsciiDigit)) {
    return true;
  }
  static constexpr std::string_view kNames[] = {
      "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
      "nov", "dec", "sun", "mon", "tue", "wed", "thu", "fri", "sat"};
  return std::any_of(
      std::begin(kNames), std::end(kNames),
      [&](std::string_view name) { return EqualsIgnoreCase(value, name); });
}

// A crontab time field as cron(8) accepts it: a list of '*', values and
// ranges, each with an optional "/step".
bool IsCronTimeField(std::string_view field) {
  if (field.empty()) return false;
  for (std::string_view item : Split(field, ',')) {
    size_t slash = item.find('/');
    if (slash != std::string_view::npos) {
      std::string_view step = item.substr(slash + 1);
      if (step.empty() || step.size() > 2 ||
          !std::all_of(step.begin(), step.end(), IsAsciiDigit)) {
        return false;
      }
      item = item.substr(0, slash);
    }
    if (item == "*") continue;
    size_t dash = item.find('-');
    if (dash == std::string_view::npos) {
      if (!IsCronValue(item)) return false;
    } else if (!IsCronValue(item.substr(0, dash)) ||
               !IsCronValue(item.substr(dash + 1))) {
      return false;
    }
  }
  return true;
}

// The user field of a system crontab line: a user name (letters, digits,
// '.', '_', '-', '@', a trailing '$'), at most 32 characters as useradd
// allows. Anything else (e.g. "RESTIC_PASSWORD=...") is a line cron
// rejects, and must not become a fact.
bool IsCronUserName(std::string_view user) {
  if (user.empty() || user.size() > 32 || user[0] == '-') return false;
  if (user.back() == '$') user.remove_suffix(1);
  return std::all_of(user.begin(), user.end(), [](char c) {
    return IsAsciiAlnum(c) || c == '.' || c == '_' || c == '-' || c == '@';
  });
}

// A crontab command up to its first unescaped '%' (the rest is stdin).
std::string_view CronCommand(std::string_view command) {
  for (size_t i = 0; i < command.size(); ++i) {
    if (command[i] == '%' && (i == 0 || command[i - 1] != '\\')) {
      return Trim(command.substr(0, i));
    }
  }
  return Trim(command);
}

bool ParseUnitBool(std::string_view value) {
  value = Trim(value);
  return value == "1" || EqualsIgnoreCase(value, "yes") ||
         EqualsIgnoreCase(value, "true") || EqualsIgnoreCase(value, "on");
}

// Whether a path word names a program: in a bin or sbin directory, or
// below /opt.
bool IsProgramDirectory(std::string_view dir) {
  return EndsWith(dir, "/bin") || EndsWith(dir, "/sbin") || dir == "bin" ||
         dir == "sbin" || StartsWith(dir, "/opt/") || StartsWith(dir, "opt/");
}

// The tools commands run, directly or through the scripts they name by
// absolute path (one level: a script's own scripts are not followed). Each
// script is read once per collection, and at most kMaxScriptsPerCollection
// of them.
class ScriptFollower {
 public:
  explicit ScriptFollower(const fs::path& root) : root_(root) {}

  std::set<std::string> ToolsRunBy(std::string_view command) {
    std::set<std::string> tools = ToolsInCommand(command);
    size_t followed = 0;
    for (std::string_view word : SplitAny(command, " \t\r\n;|&()<>`'\"=")) {
      if (word.size() < 2 || word[0] != '/') continue;
      if (ToolByExecutable().count(word.substr(word.rfind('/') + 1)) > 0) {
        continue;
      }
      if (++followed > kMaxScriptsPerCommand) break;
      const std::set<std::string>* more = ToolsOfScript(std::string(word));
      if (more != nullptr) tools.insert(more->begin(), more->end());
    }
    return tools;
  }

 private:
  // The tools the script at `path` names; nullptr when it is not a readable
  // text file or the budget is spent.
  const std::set<std::string>* ToolsOfScript(const std::string& path) {
    auto cached = scripts_.find(path);
    if (cached != scripts_.end()) return &cached->second;
    if (scripts_.size() >= kMaxScriptsPerCollection) return nullptr;
    std::set<std::string>& tools = scripts_[path];
    absl::StatusOr<std::string> magic = ReadRootedPrefix(root_, path, 4);
    if (!magic.ok() || *magic == kElfMagic) return &tools;  // not a script
    absl::StatusOr<std::string> script =
        ReadRootedFile(root_, path, kMaxScriptBytes);
    if (script.ok()) tools = ToolsInCommand(*script);
    return &tools;
  }

  const fs::path& root_;
  std::map<std::string, std::set<std::string>> scripts_;
};

// A unit file found in the unit directories: its path and settings with
// drop-ins applied after it.
struct LoadedUnit {
  std::string source;  // "/etc/systemd/system/x.timer"
  std::vector<UnitSetting> settings;
};

// "a@b.timer" -> "a@.timer"; empty if `name` is not an instance.
std::string TemplateOf(std::string_view name) {
  size_t at = name.find('@');
  size_t dot = name.rfind('.');
  if (at == std::string_view::npos || dot == std::string_view::npos ||
      dot <= at + 1) {
    return "";
  }
  return Cat(name.substr(0, at + 1), name.substr(dot));
}

std::optional<LoadedUnit> LoadUnit(const fs::path& root,
                                   std::string_view name) {
  std::vector<std::string> names = {std::string(name)};
  std::string template_name = TemplateOf(name);
  if (!template_name.empty()) names.push_back(template_name);
  std::optional<LoadedUnit> unit;
  for (const std::string& candidate : names) {
    for (std::string_view dir : kUnitDirs) {
      std::string path = Cat(dir, "/", candidate);
      absl::StatusOr<std::string> text =
          ReadRootedFile(root, path, kMaxUnitFileBytes);
      if (!text.ok()) continue;
      unit = LoadedUnit{Cat("/", path), ParseUnitFile(*text)};
      break;
    }
    if (unit) break;
  }
  if (!unit) return std::nullopt;
  // Drop-ins NAME.d/*.conf (and the template's) from every unit directory,
  // applied in file-name order after the unit.
  std::vector<std::string> dropin_dirs;
  for (const std::string& candidate : names) {
    for (std::string_view dir : kUnitDirs) {
      dropin_dirs.push_back(Cat(dir, "/", candidate, ".d"));
    }
  }
  for (const std::string& path : DropInFiles(
           root, dropin_dirs, ".conf", kMaxDirEntries, kMaxDropInsPerUnit)) {
    absl::StatusOr<std::string> text =
        ReadRootedFile(root, path, kMaxUnitFileBytes);
    if (!text.ok()) continue;
    std::vector<UnitSetting> more = ParseUnitFile(*text);
    unit->settings.insert(unit->settings.end(), more.begin(), more.end());
  }
  return unit;
}

// An ExecStart= value without its special prefixes ("-", "@", "+", "!", ":").
std::string_view StripExecPrefixes(std::string_view value) {
  value = Trim(value);
  while (!value.empty() &&
         std::string_view("-@+!:").find(value[0]) != std::string_view::npos) {
    value.remove_prefix(1);
  }
  return value;
}

// A schedule found, with the stamp file of a persistent timer.
struct FoundSchedule {
  v1::BackupSchedule schedule;
  std::string stamp_path;  // absolute below root; empty unless persistent
};

void AddSchedulesForTools(const std::set<std::string>& tools,
                          const v1::BackupSchedule& base,
                          std::string_view stamp_path,
                          std::vector<FoundSchedule>* out) {
  for (const std::string& tool : tools) {
    FoundSchedule found{base, std::string(stamp_path)};
    found.schedule.set_tool(tool);
    out->push_back(std::move(found));
  }
}

void CollectTimers(const fs::path& root, ScriptFollower* scripts,
                   std::vector<FoundSchedule>* out) {
  std::set<std::string> timers;  // at most kMaxTimers, the first found
  std::set<std::string> enabled;
  auto add = [&](const std::string& name) {
    if (timers.size() < kMaxTimers) timers.insert(name);
    return timers.count(name) > 0;
  };
  for (std::string_view dir : kUnitDirs) {
    for (const std::string& entry : ListRootedDir(root, dir, kMaxDirEntries)) {
      if (EndsWith(entry, ".timer") && !EndsWith(entry, "@.timer")) {
        add(entry);
      }
      if (!EndsWith(entry, ".wants")) continue;
      for (const std::string& wanted :
           ListRootedDir(root, Cat(dir, "/", entry), kMaxDirEntries)) {
        if (!EndsWith(wanted, ".timer") || EndsWith(wanted, "@.timer")) {
          continue;
        }
        if (add(wanted)) enabled.insert(wanted);
      }
    }
  }
  for (const std::string& name : timers) {
    std::optional<LoadedUnit> timer = LoadUnit(root, name);
    if (!timer) continue;  // e.g. a dangling .wants link
    std::string unit = LastUnitValue(timer->settings, "Timer", "Unit");
    if (unit.empty()) {
      unit =
          Cat(name.substr(0, name.size() - std::string_view(".timer").size()),
              ".service");
    }
    std::optional<LoadedUnit> service = LoadUnit(root, unit);
    if (!service) continue;
    std::set<std::string> tools;
    for (const std::string& exec :
         UnitValues(service->settings, "Service", "ExecStart")) {
      std::set<std::string> more = scripts->ToolsRunBy(StripExecPrefixes(exec));
      tools.insert(more.begin(), more.end());
    }
    if (tools.empty()) continue;

    v1::BackupSchedule base;
    base.set_source(timer->source);
    base.set_kind(v1::BACKUP_SCHEDULE_KIND_SYSTEMD_TIMER);
    std::string expression;
    for (std::string_view key : kTimerTriggerKeys) {
      for (const std::string& value :
           UnitValues(timer->settings, "Timer", key)) {
        if (!expression.empty()) expression += "; ";
        expression += Cat(key, "=", value);
      }
    }
    base.set_expression(expression);
    absl::StatusOr<std::string> resolved =
        ResolveInRoot(root, Cat("etc/systemd/system/", name));
    const bool masked = resolved.ok() && *resolved == "dev/null";
    base.set_enabled(enabled.count(name) > 0 && !masked);
    base.set_persistent(
        ParseUnitBool(LastUnitValue(timer->settings, "Timer", "Persistent")));
    base.set_unit(unit);
    std::string stamp_path;
    if (base.persistent()) {
      // Named after the timer as enabled, i.e. the instance for a template.
      stamp_path = Cat("/var/lib/systemd/timers/stamp-", name);
      std::optional<int64_t> stamp = RootedMtime(root, stamp_path);
      if (stamp) base.set_last_run_unix(*stamp);
    }
    AddSchedulesForTools(tools, base, stamp_path, out);
  }
}

void CollectCrontab(const fs::path& root, ScriptFollower* scripts,
                    std::string_view path, bool system_crontab,
                    std::string_view user, std::vector<FoundSchedule>* out) {
  absl::StatusOr<std::string> text =
      ReadRootedFile(root, path, kMaxCrontabBytes);
  if (!text.ok()) return;
  for (const CronEntry& entry : ParseCrontab(*text, system_crontab)) {
    std::set<std::string> tools = scripts->ToolsRunBy(entry.command);
    if (tools.empty()) continue;
    v1::BackupSchedule base;
    base.set_source(Cat("/", path));
    base.set_line(entry.line);
    base.set_kind(v1::BACKUP_SCHEDULE_KIND_CRONTAB);
    base.set_expression(entry.expression);
    base.set_enabled(true);
    base.set_user(system_crontab ? entry.user : std::string(user));
    AddSchedulesForTools(tools, base, "", out);
  }
}

void CollectCron(const fs::path& root, ScriptFollower* scripts,
                 std::vector<FoundSchedule>* out) {
  CollectCrontab(root, scripts, "etc/crontab", true, "", out);
  for (const std::string& name :
       ListRootedDir(root, "etc/cron.d", kMaxDirEntries)) {
    if (!IsRunPartsName(name)) continue;  // cron skips e.g. "x.dpkg-old"
    CollectCrontab(root, scripts, Cat("etc/cron.d/", name), true, "", out);
  }
  for (const std::string& name :
       ListRootedDir(root, "var/spool/cron/crontabs", kMaxDirEntries)) {
    if (StartsWith(name, ".") || StartsWith(name, "tmp.")) continue;
    CollectCrontab(root, scripts, Cat("var/spool/cron/crontabs/", name), false,
                   name, out);
  }
  for (std::string_view period : kPeriodicDirs) {
    std::string dir = Cat("etc/cron.", period);
    for (const std::string& name : ListRootedDir(root, dir, kMaxDirEntries)) {
      if (!IsRunPartsName(name)) continue;
      std::string path = Cat(dir, "/", name);
      absl::StatusOr<std::string> script =
          ReadRootedFile(root, path, kMaxScriptBytes);
      if (!script.ok() || StartsWith(*script, kElfMagic)) continue;
      std::set<std::string> tools = scripts->ToolsRunBy(*script);
      v1::BackupSchedule base;
      base.set_source(Cat("/", path));
      base.set_kind(v1::BACKUP_SCHEDULE_KIND_CRON_PERIODIC);
      base.set_expression(std::string(period));
      base.set_enabled(true);
      AddSchedulesForTools(tools, base, "", out);
    }
  }
}

// A place where a tool's runs leave a trace, and the newest trace found.
struct RunTrace {
  std::string path;  // absolute below root
  int64_t last_run_unix = 0;
};

// rsnapshot touches <snapshot_root>/<level>.0 when a run completes (and
// .sync with sync_first): the newest of those mtimes.
std::optional<RunTrace> RsnapshotTrace(const fs::path& root) {
  absl::StatusOr<std::string> text =
      ReadRootedFile(root, "etc/rsnapshot.conf", kMaxConfigFileBytes);
  if (!text.ok()) return std::nullopt;
  RsnapshotConfig config = ParseRsnapshotConf(*text);
  if (config.snapshot_root.empty() || config.levels.empty()) {
    return std::nullopt;
  }
  std::string base = config.snapshot_root == "/" ? "" : config.snapshot_root;
  if (!StartsWith(base, "/")) base = Cat("/", base);
  std::vector<std::string> dirs;
  for (const std::string& level : config.levels) {
    dirs.push_back(Cat(base, "/", level, ".0"));
  }
  if (config.sync_first) dirs.push_back(Cat(base, "/.sync"));
  RunTrace trace{dirs.front(), 0};
  for (const std::string& dir : dirs) {
    if (!RootedIsDirectory(root, dir)) continue;
    std::optional<int64_t> mtime = RootedMtime(root, dir);
    if (mtime && *mtime > trace.last_run_unix) trace = RunTrace{dir, *mtime};
  }
  return trace;
}

// Timeshift in rsync mode with the root file system as its backup device
// keeps snapshots in /timeshift/snapshots/<date>/info.json ("created").
// On another device or in btrfs mode they are not mounted: no trace.
std::optional<RunTrace> TimeshiftTrace(const fs::path& root) {
  constexpr std::string_view kDir = "timeshift/snapshots";
  if (!RootedIsDirectory(root, kDir)) return std::nullopt;
  RunTrace trace{Cat("/", kDir), 0};
  std::vector<std::string> names = ListRootedDir(root, kDir, kMaxDirEntries);
  // Names are local dates (YYYY-MM-DD_HH-MM-SS): newest last.
  size_t read = 0;
  for (auto it = names.rbegin();
       it != names.rend() && read < kMaxTimeshiftSnapshotsRead; ++it) {
    std::string info = Cat(kDir, "/", *it, "/info.json");
    absl::StatusOr<std::string> text =
        ReadRootedFile(root, info, kMaxInfoJsonBytes);
    if (!text.ok()) continue;
    ++read;
    std::optional<int64_t> created = ParseTimeshiftCreated(*text);
    if (created && *created > trace.last_run_unix) {
      trace = RunTrace{Cat("/", info), *created};
    }
  }
  return trace;
}

}  // namespace

std::vector<CronEntry> ParseCrontab(std::string_view text,
                                    bool system_crontab) {
  std::vector<CronEntry> entries;
  std::vector<std::string_view> lines = SplitLines(text);
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view rest = Trim(lines[i]);
    if (rest.empty()) continue;
    const char first = rest[0];
    // A job's first field is a minute (digit or '*') or an @keyword;
    // anything else is a comment or an environment assignment.
    if (!(IsAsciiDigit(first) || first == '*' || first == '@')) continue;
    CronEntry entry;
    entry.line = static_cast<uint32_t>(i + 1);
    if (first == '@') {
      std::string_view keyword = NextField(&rest);
      if (std::find(std::begin(kCronKeywords), std::end(kCronKeywords),
                    keyword) == std::end(kCronKeywords)) {
        continue;
      }
      entry.expression = std::string(keyword);
    } else {
      std::string fields;
      bool complete = true;
      for (int f = 0; f < 5; ++f) {
        std::string_view field = NextField(&rest);
        if (!IsCronTimeField(field)) {
          complete = false;
          break;
        }
        if (!fields.empty()) fields.push_back(' ');
        fields.append(field);
      }
      if (!complete) continue;
      entry.expression = std::move(fields);
    }
    if (system_crontab) {
      std::string_view user = NextField(&rest);
      if (!IsCronUserName(user)) continue;
      entry.user = std::string(user);
    }
    std::string_view command = CronCommand(rest);
    if (command.empty()) continue;
    entry.command = std::string(command);
    entries.push_back(std::move(entry));
  }
  return entries;
}

RsnapshotConfig ParseRsnapshotConf(std::string_view text) {
  RsnapshotConfig config;
  for (std::string_view line : SplitLines(text)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string_view> fields = SplitAny(line, "\t");
    if (fields.size() < 2) continue;
    std::string_view key = Trim(fields[0]);
    std::string_view value = Trim(fields[1]);
    if (key == "snapshot_root") {
      while (value.size() > 1 && value.back() == '/') value.remove_suffix(1);
      config.snapshot_root = std::string(value);
    } else if (key == "retain" || key == "interval") {
      if (fields.size() < 3) continue;
      std::optional<uint32_t> count = ParseDecimal<uint32_t>(Trim(fields[2]));
      const bool valid_name =
          !value.empty() && std::all_of(value.begin(), value.end(), [](char c) {
            return IsAsciiAlnum(c) || c == '_';
          });
      if (!count || *count == 0 || !valid_name) continue;
      if (std::find(config.levels.begin(), config.levels.end(), value) ==
          config.levels.end()) {
        config.levels.emplace_back(value);
      }
    } else if (key == "backup" || key == "backup_script" ||
               key == "backup_exec") {
      ++config.backup_points;
    } else if (key == "sync_first") {
      config.sync_first = value == "1";
    }
  }
  return config;
}

std::set<std::string> ToolsInCommand(std::string_view text) {
  std::set<std::string> tools;
  for (std::string_view line : SplitLines(text)) {
    // Drop a comment: '#' at the start of a word.
    for (size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '#' && (i == 0 || IsAsciiSpace(line[i - 1]))) {
        line = line.substr(0, i);
        break;
      }
    }
    for (std::string_view word : SplitAny(line, " \t\r;|&()<>`'\"$={}")) {
      size_t slash = word.rfind('/');
      std::string_view name =
          slash == std::string_view::npos ? word : word.substr(slash + 1);
      auto tool = ToolByExecutable().find(name);
      if (tool == ToolByExecutable().end()) continue;
      if (slash != std::string_view::npos &&
          !IsProgramDirectory(word.substr(0, slash))) {
        continue;
      }
      tools.emplace(tool->second);
    }
  }
  return tools;
}

std::optional<int64_t> ParseTimeshiftCreated(std::string_view info_json) {
  constexpr std::string_view kKey = "\"created\"";
  // The first "created" followed by ':' is the key (a string value
  // "created" is followed by ',' or '}').
  for (size_t at = info_json.find(kKey); at != std::string_view::npos;
       at = info_json.find(kKey, at + 1)) {
    std::string_view rest = TrimLeft(info_json.substr(at + kKey.size()));
    if (rest.empty() || rest[0] != ':') continue;
    rest = TrimLeft(rest.substr(1));
    const bool quoted = !rest.empty() && rest[0] == '"';
    if (quoted) rest.remove_prefix(1);
    size_t digits = 0;
    while (digits < rest.size() && IsAsciiDigit(rest[digits])) ++digits;
    if (digits == 0) return std::nullopt;
    if (quoted && (digits >= rest.size() || rest[digits] != '"')) {
      return std::nullopt;
    }
    std::optional<int64_t> value =
        ParseDecimal<int64_t>(rest.substr(0, digits));
    if (!value || *value <= 0) return std::nullopt;
    return value;
  }
  return std::nullopt;
}

bool IsRunPartsName(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return IsAsciiAlnum(c) || c == '_' || c == '-';
  });
}

absl::StatusOr<v1::Facts> BackupProbe::Collect(const fs::path& root) const {
  v1::Facts facts;
  v1::BackupFacts* out = facts.mutable_backup();

  absl::StatusOr<PackageDatabase> database = ReadPackageDatabase(root);
  if (!database.ok()) return database.status();
  out->set_dpkg_present(database->present);
  const std::map<std::string, std::string>& packages = database->installed;

  // Where the executables may be: the bin directories, /opt/<x>/ and
  // /opt/<x>/bin/.
  std::vector<std::string> binary_dirs(std::begin(kBinaryDirs),
                                       std::end(kBinaryDirs));
  binary_dirs.push_back("opt");
  for (const std::string& entry : ListRootedDir(root, "opt", kMaxOptEntries)) {
    binary_dirs.push_back(Cat("opt/", entry));
    binary_dirs.push_back(Cat("opt/", entry, "/bin"));
  }

  std::vector<FoundSchedule> schedules;
  ScriptFollower scripts(root);
  CollectTimers(root, &scripts, &schedules);
  CollectCron(root, &scripts, &schedules);
  // Cron jobs run only when a cron daemon does.
  std::optional<std::set<std::string>> processes;  // read once, if needed
  const bool any_cron =
      std::any_of(schedules.begin(), schedules.end(), [](const auto& found) {
        return found.schedule.kind() != v1::BACKUP_SCHEDULE_KIND_SYSTEMD_TIMER;
      });
  if (any_cron) {
    processes = RunningProcessNames(root);
    out->set_cron_running(
        std::any_of(std::begin(kCronDaemons), std::end(kCronDaemons),
                    [&](std::string_view name) {
                      return processes->count(std::string(name)) > 0;
                    }));
    for (FoundSchedule& found : schedules) {
      if (found.schedule.kind() != v1::BACKUP_SCHEDULE_KIND_SYSTEMD_TIMER) {
        found.schedule.set_enabled(out->cron_running());
      }
    }
  }
  std::sort(schedules.begin(), schedules.end(),
            [](const FoundSchedule& a, const FoundSchedule& b) {
              const v1::BackupSchedule& x = a.schedule;
              const v1::BackupSchedule& y = b.schedule;
              return std::make_tuple(x.source(), x.line(), x.tool(), x.unit()) <
                     std::make_tuple(y.source(), y.line(), y.tool(), y.unit());
            });

  for (const KnownTool& known : KnownTools()) {
    v1::BackupTool tool;
    tool.set_id(std::string(known.id));
    for (std::string_view name : known.packages) {
      auto it = packages.find(std::string(name));
      if (it == packages.end()) continue;
      v1::BackupPackage* package = tool.add_packages();
      package->set_name(it->first);
      package->set_version(it->second);
    }
    std::set<std::string> binaries;
    for (const std::string& dir : binary_dirs) {
      for (std::string_view exe : known.executables) {
        std::string path = Cat(dir, "/", exe);
        if (RootedIsExecutableFile(root, path)) binaries.insert(Cat("/", path));
      }
    }
    for (const std::string& binary : binaries) tool.add_binaries(binary);
    tool.set_installed(tool.packages_size() > 0 || tool.binaries_size() > 0);

    // Traces of runs: the stamps of its enabled persistent timers, then
    // its own state.
    std::vector<RunTrace> traces;
    bool scheduled = false;
    for (const FoundSchedule& found : schedules) {
      const v1::BackupSchedule& schedule = found.schedule;
      if (schedule.tool() != known.id || !schedule.enabled()) continue;
      scheduled = true;
      if (!found.stamp_path.empty()) {
        traces.push_back(RunTrace{found.stamp_path, schedule.last_run_unix()});
      }
    }
    if (known.id == "rsnapshot" && (tool.installed() || scheduled)) {
      if (std::optional<RunTrace> trace = RsnapshotTrace(root)) {
        traces.push_back(*trace);
      }
    }
    if (known.id == "timeshift" && (tool.installed() || scheduled)) {
      if (std::optional<RunTrace> trace = TimeshiftTrace(root)) {
        traces.push_back(*trace);
      }
    }
    if (!known.server_daemon.empty() && tool.installed()) {
      tool.set_server_driven(true);
      if (!processes) processes = RunningProcessNames(root);
      tool.set_daemon_running(
          processes->count(std::string(known.server_daemon)) > 0 ||
          processes->count(std::string(known.server_daemon.substr(0, 15))) > 0);
      scheduled = scheduled || tool.daemon_running();
    }
    tool.set_scheduled(scheduled);
    if (!traces.empty()) {
      RunTrace best = traces.front();
      for (const RunTrace& trace : traces) {
        if (trace.last_run_unix > best.last_run_unix) best = trace;
      }
      tool.set_run_trace_path(best.path);
      tool.set_last_run_unix(best.last_run_unix);
      tool.set_run_found(best.last_run_unix > 0);
    }
    if (tool.installed() || scheduled) *out->add_tools() = std::move(tool);
  }
  for (FoundSchedule& found : schedules) {
    *out->add_schedules() = std::move(found.schedule);
  }
  MakeStringsValidUtf8(&facts);
  return facts;
}

}  // namespace evidentia::agent
