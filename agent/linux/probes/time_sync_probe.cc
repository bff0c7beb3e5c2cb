#include "agent/linux/probes/time_sync_probe.h"

#include <sys/timex.h>

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "agent/linux/sys/dpkg.h"
#include "agent/linux/sys/processes.h"
#include "agent/linux/sys/rooted_fs.h"
#include "agent/linux/sys/systemd_unit.h"
#include "agent/linux/sys/text.h"
#include "agent/linux/sys/utf8.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxTimeConfigBytes = 1 << 20;
constexpr size_t kMaxDirEntries = 256;
// chrony.conf with everything it includes, at most this many files and
// this deep (include loops end here).
constexpr size_t kMaxChronyFiles = 256;
constexpr int kMaxChronyDepth = 4;
// Sources kept per daemon; more would only bloat the facts.
constexpr size_t kMaxSources = 1024;

struct StatusFlag {
  int64_t bit;
  const char* name;
};
constexpr StatusFlag kStatusFlags[] = {
    {STA_PLL, "STA_PLL"},
    {STA_PPSFREQ, "STA_PPSFREQ"},
    {STA_PPSTIME, "STA_PPSTIME"},
    {STA_FLL, "STA_FLL"},
    {STA_INS, "STA_INS"},
    {STA_DEL, "STA_DEL"},
    {STA_UNSYNC, "STA_UNSYNC"},
    {STA_FREQHOLD, "STA_FREQHOLD"},
    {STA_PPSSIGNAL, "STA_PPSSIGNAL"},
    {STA_PPSJITTER, "STA_PPSJITTER"},
    {STA_PPSWANDER, "STA_PPSWANDER"},
    {STA_PPSERROR, "STA_PPSERROR"},
    {STA_CLOCKERR, "STA_CLOCKERR"},
    {STA_NANO, "STA_NANO"},
    {STA_MODE, "STA_MODE"},
    {STA_CLK, "STA_CLK"},
};

v1::KernelClockState ClockStateOf(int state) {
  switch (state) {
    case TIME_OK:
      return v1::KERNEL_CLOCK_STATE_OK;
    case TIME_INS:
      return v1::KERNEL_CLOCK_STATE_INSERT;
    case TIME_DEL:
      return v1::KERNEL_CLOCK_STATE_DELETE;
    case TIME_OOP:
      return v1::KERNEL_CLOCK_STATE_OOP;
    case TIME_WAIT:
      return v1::KERNEL_CLOCK_STATE_WAIT;
    case TIME_ERROR:
      return v1::KERNEL_CLOCK_STATE_ERROR;
    default:
      return v1::KERNEL_CLOCK_STATE_OTHER;
  }
}

// Drops everything from the first '#' on.
std::string_view StripHashComment(std::string_view line) {
  return line.substr(0, line.find('#'));
}

std::string_view Unquote(std::string_view word) {
  if (word.size() >= 2 && word.front() == '"' && word.back() == '"') {
    return word.substr(1, word.size() - 2);
  }
  return word;
}

// The lines a daemon parses: trimmed, without blank ones.
std::vector<std::string_view> ContentLines(std::string_view text) {
  std::vector<std::string_view> lines;
  for (std::string_view line : SplitLines(text)) {
    line = Trim(line);
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

std::string Absolute(std::string_view path) {
  return StartsWith(path, "/") ? std::string(path) : Cat("/", path);
}

// The files named NAME`suffix` in `dirs`, a name in an earlier directory
// hiding the same name in later ones, ordered by name: how chrony reads
// confdir/sourcedir and systemd reads drop-in directories.
std::vector<std::string> FilesOfDirs(const fs::path& root,
                                     const std::vector<std::string>& dirs,
                                     std::string_view suffix) {
  return DropInFiles(root, dirs, suffix, kMaxDirEntries, kMaxChronyFiles);
}

// The files chrony's "include PATTERN" names, sorted as glob(3) does.
std::vector<std::string> ExpandInclude(const fs::path& root,
                                       std::string_view pattern) {
  size_t slash = pattern.rfind('/');
  std::string_view dir =
      slash == std::string_view::npos ? "" : pattern.substr(0, slash);
  std::string_view base =
      slash == std::string_view::npos ? pattern : pattern.substr(slash + 1);
  if (base.find('*') == std::string_view::npos) return {std::string(pattern)};
  if (dir.find('*') != std::string_view::npos) return {};  // not supported
  std::vector<std::string> files;
  for (const std::string& name : ListRootedDir(root, dir, kMaxDirEntries)) {
    if (name[0] == '.' && base[0] != '.') continue;
    if (MatchesSimpleGlob(base, name)) files.push_back(Cat(dir, "/", name));
  }
  return files;
}

// A daemon's findings while its configuration is read.
struct DaemonConfig {
  std::vector<std::string> files;
  std::set<std::string> sources;
  // chrony: the files read, resolved inside the root, so that an include
  // loop (or two names for one file) reads each file once.
  std::set<std::string> visited;
  void AddSources(const std::vector<std::string>& more) {
    for (const std::string& source : more) {
      if (sources.size() >= kMaxSources) return;
      sources.insert(source);
    }
  }
};

std::optional<std::string> ReadConfig(const fs::path& root,
                                      const std::string& path,
                                      DaemonConfig* config) {
  absl::StatusOr<std::string> text =
      ReadRootedFile(root, path, kMaxTimeConfigBytes);
  if (!text.ok()) return std::nullopt;
  config->files.push_back(Absolute(path));
  return std::move(*text);
}

void ReadChronyFile(const fs::path& root, const std::string& path, int depth,
                    DaemonConfig* config) {
  if (depth > kMaxChronyDepth || config->files.size() >= kMaxChronyFiles) {
    return;
  }
  absl::StatusOr<std::string> resolved = ResolveInRoot(root, path);
  if (!resolved.ok() || !config->visited.insert(*resolved).second) return;
  std::optional<std::string> text = ReadConfig(root, path, config);
  if (!text) return;
  ChronyConf conf = ParseChronyConf(*text);
  config->AddSources(conf.sources);
  for (const std::string& pattern : conf.includes) {
    if (config->files.size() >= kMaxChronyFiles) return;
    for (const std::string& file : ExpandInclude(root, pattern)) {
      ReadChronyFile(root, file, depth + 1, config);
    }
  }
  for (const std::string& file : FilesOfDirs(root, conf.confdirs, ".conf")) {
    ReadChronyFile(root, file, depth + 1, config);
  }
  // *.sources files may hold only server, pool and peer lines.
  for (const std::string& file :
       FilesOfDirs(root, conf.sourcedirs, ".sources")) {
    if (config->files.size() >= kMaxChronyFiles) return;
    absl::StatusOr<std::string> resolved_file = ResolveInRoot(root, file);
    if (!resolved_file.ok() || !config->visited.insert(*resolved_file).second) {
      continue;
    }
    std::optional<std::string> sources = ReadConfig(root, file, config);
    if (!sources) continue;
    for (const std::string& source : ParseChronyConf(*sources).sources) {
      if (!StartsWith(source, "refclock ")) config->AddSources({source});
    }
  }
}

DaemonConfig ReadChrony(const fs::path& root) {
  DaemonConfig config;
  for (const char* main : {"etc/chrony/chrony.conf", "etc/chrony.conf"}) {
    if (!RootedExists(root, main)) continue;
    ReadChronyFile(root, main, 0, &config);
    break;
  }
  return config;
}

DaemonConfig ReadTimesyncd(const fs::path& root, TimesyncdServers* servers) {
  DaemonConfig config;
  for (const char* main :
       {"etc/systemd/timesyncd.conf", "run/systemd/timesyncd.conf",
        "usr/local/lib/systemd/timesyncd.conf",
        "usr/lib/systemd/timesyncd.conf"}) {
    if (!RootedExists(root, main)) continue;
    if (std::optional<std::string> text = ReadConfig(root, main, &config)) {
      *servers = ParseTimesyncdConf(*text, std::move(*servers));
    }
    break;
  }
  const std::vector<std::string> dropin_dirs = {
      "etc/systemd/timesyncd.conf.d", "run/systemd/timesyncd.conf.d",
      "usr/local/lib/systemd/timesyncd.conf.d",
      "usr/lib/systemd/timesyncd.conf.d"};
  for (const std::string& file : FilesOfDirs(root, dropin_dirs, ".conf")) {
    if (std::optional<std::string> text = ReadConfig(root, file, &config)) {
      *servers = ParseTimesyncdConf(*text, std::move(*servers));
    }
  }
  config.AddSources(servers->ntp);
  return config;
}

DaemonConfig ReadFirstConfig(
    const fs::path& root, std::initializer_list<const char*> candidates,
    std::vector<std::string> (*parse)(std::string_view)) {
  DaemonConfig config;
  for (const char* path : candidates) {
    if (!RootedExists(root, path)) continue;
    if (std::optional<std::string> text = ReadConfig(root, path, &config)) {
      config.AddSources(parse(*text));
    }
    break;
  }
  return config;
}

std::vector<std::string> SortedUnique(std::vector<std::string> values) {
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  if (values.size() > kMaxSources) values.resize(kMaxSources);
  return values;
}

struct DaemonSpec {
  const char* id;  // also the dpkg package
  const char* process;
  // The binaries whose presence counts as installed besides the package
  // (the ntpd family shares usr/sbin/ntpd: see Collect).
  std::vector<const char*> binaries;
  // ntpd family: the configuration files that only this member uses, which
  // tell whose an unpackaged ntpd is.
  std::vector<const char*> own_configs;
};

// Ordered by id: the order of TimeSyncFacts.daemons.
const std::vector<DaemonSpec>& DaemonSpecs() {
  static const auto* const kSpecs = new std::vector<DaemonSpec>{
      {"chrony", "chronyd", {"usr/sbin/chronyd"}, {}},
      {"ntp", "ntpd", {}, {"etc/ntp.conf"}},
      {"ntpsec", "ntpd", {}, {"etc/ntpsec/ntp.conf"}},
      {"openntpd", "ntpd", {}, {"etc/openntpd/ntpd.conf", "etc/ntpd.conf"}},
      {"systemd-timesyncd",
       "systemd-timesyncd",
       {"usr/lib/systemd/systemd-timesyncd", "lib/systemd/systemd-timesyncd"},
       {}},
  };
  return *kSpecs;
}

bool AnyExists(const fs::path& root, const std::vector<const char*>& paths) {
  return std::any_of(paths.begin(), paths.end(), [&](const char* path) {
    return RootedExists(root, path);
  });
}

}  // namespace

uint32_t ErrorBoundMs(int64_t microseconds) {
  if (microseconds <= 100'000) return 100;
  if (microseconds <= 1'000'000) return 1000;
  if (microseconds <= 10'000'000) return 10000;
  return 16000;
}

std::vector<std::string> StatusFlagNames(int64_t status) {
  std::vector<std::string> names;
  for (const StatusFlag& flag : kStatusFlags) {
    if (status & flag.bit) names.emplace_back(flag.name);
  }
  return names;
}

bool MatchesSimpleGlob(std::string_view pattern, std::string_view name) {
  // Iterative wildcard matching with one backtrack point: linear in
  // practice, never exponential.
  size_t p = 0, n = 0;
  size_t star = std::string_view::npos, resume = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = n;
    } else if (p < pattern.size() && pattern[p] == name[n]) {
      ++p;
      ++n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

ChronyConf ParseChronyConf(std::string_view text) {
  ChronyConf conf;
  for (std::string_view line : ContentLines(text)) {
    if (line[0] == '#' || line[0] == '%' || line[0] == ';' || line[0] == '!') {
      continue;
    }
    std::vector<std::string_view> words = Words(line);
    if (words.size() < 2) continue;
    std::string_view directive = words[0];
    if (EqualsIgnoreCase(directive, "server") ||
        EqualsIgnoreCase(directive, "pool") ||
        EqualsIgnoreCase(directive, "peer")) {
      conf.sources.emplace_back(words[1]);
    } else if (EqualsIgnoreCase(directive, "refclock")) {
      std::string source = Cat("refclock ", words[1]);
      if (words.size() > 2) source += Cat(" ", words[2]);
      conf.sources.push_back(std::move(source));
    } else if (EqualsIgnoreCase(directive, "include")) {
      conf.includes.emplace_back(words[1]);
    } else if (EqualsIgnoreCase(directive, "confdir")) {
      conf.confdirs.insert(conf.confdirs.end(), words.begin() + 1, words.end());
    } else if (EqualsIgnoreCase(directive, "sourcedir")) {
      conf.sourcedirs.insert(conf.sourcedirs.end(), words.begin() + 1,
                             words.end());
    }
  }
  return conf;
}

TimesyncdServers ParseTimesyncdConf(std::string_view text,
                                    TimesyncdServers servers) {
  for (const UnitSetting& setting : ParseUnitFile(text)) {
    if (setting.section != "Time") continue;
    std::vector<std::string>* list = nullptr;
    if (setting.key == "NTP") {
      list = &servers.ntp;
    } else if (setting.key == "FallbackNTP") {
      if (!servers.fallback) servers.fallback.emplace();
      list = &*servers.fallback;
    } else {
      continue;
    }
    if (setting.value.empty()) {
      list->clear();
      continue;
    }
    for (std::string_view server : Words(setting.value)) {
      if (list->size() >= kMaxSources) break;
      list->emplace_back(server);
    }
  }
  return servers;
}

std::vector<std::string> ParseNtpConf(std::string_view text) {
  std::vector<std::string> sources;
  for (std::string_view line : ContentLines(text)) {
    std::vector<std::string_view> words = Words(StripHashComment(line));
    if (words.size() < 2) continue;
    std::string_view directive = words[0];
    if (directive == "server" || directive == "pool" || directive == "peer") {
      // "server -4 host": address-family flags come before the host.
      size_t i = 1;
      while (i < words.size() && StartsWith(words[i], "-")) ++i;
      if (i < words.size()) sources.emplace_back(words[i]);
    } else if (directive == "refclock") {
      std::string source = Cat("refclock ", words[1]);
      for (size_t i = 2; i + 1 < words.size(); ++i) {
        if (words[i] == "unit") {
          source += Cat(" unit ", words[i + 1]);
          break;
        }
      }
      sources.push_back(std::move(source));
    }
  }
  return sources;
}

std::vector<std::string> ParseOpenntpdConf(std::string_view text) {
  std::vector<std::string> sources;
  for (std::string_view line : ContentLines(text)) {
    std::vector<std::string_view> words = Words(StripHashComment(line));
    if (words.size() < 2) continue;
    std::string_view value = Unquote(words[1]);
    if (value.empty()) continue;
    if (words[0] == "server" || words[0] == "servers") {
      sources.emplace_back(value);
    } else if (words[0] == "sensor") {
      sources.push_back(Cat("sensor ", value));
    }
  }
  return sources;
}

TimeSyncProbe::TimeSyncProbe()
    : clock_(std::make_shared<const RealKernelClock>()) {}

TimeSyncProbe::TimeSyncProbe(std::shared_ptr<const KernelClock> clock)
    : clock_(std::move(clock)) {}

absl::StatusOr<v1::Facts> TimeSyncProbe::Collect(const fs::path& root) const {
  absl::StatusOr<PackageDatabase> database = ReadPackageDatabase(root);
  if (!database.ok()) return database.status();
  const bool dpkg_present = database->present;
  const std::map<std::string, std::string>& packages = database->installed;
  const std::set<std::string> processes = RunningProcessNames(root);

  v1::Facts facts;
  v1::TimeSyncFacts* out = facts.mutable_time_sync();

  absl::StatusOr<KernelClockReading> reading = clock_->Read();
  if (reading.ok()) {
    out->set_kernel_clock_read(true);
    out->set_clock_state(ClockStateOf(reading->clock_state));
    out->set_synchronised((reading->status & STA_UNSYNC) == 0 &&
                          reading->clock_state != TIME_ERROR);
    for (std::string& name : StatusFlagNames(reading->status)) {
      out->add_status_flags(std::move(name));
    }
    out->set_max_error_bound_ms(ErrorBoundMs(reading->max_error_us));
    out->set_est_error_bound_ms(ErrorBoundMs(reading->est_error_us));
  } else {
    out->set_kernel_clock_error(std::string(reading.status().message()));
  }

  // ntp, ntpsec and openntpd all run as "ntpd" from /usr/sbin/ntpd. Which
  // of them an ntpd belongs to: the one whose package is installed, else
  // the one whose configuration file exists (openntpd's and ntpsec's paths
  // are their own; /etc/ntp.conf is ntp's).
  std::string ntpd_config_owner = "ntp";
  for (const char* id : {"openntpd", "ntpsec"}) {
    auto spec = std::find_if(
        DaemonSpecs().begin(), DaemonSpecs().end(),
        [&](const DaemonSpec& s) { return std::string_view(s.id) == id; });
    if (AnyExists(root, spec->own_configs)) {
      ntpd_config_owner = id;
      break;
    }
  }
  std::string ntpd_owner = ntpd_config_owner;
  for (const char* id : {"openntpd", "ntpsec", "ntp"}) {
    if (packages.count(id) > 0) {
      ntpd_owner = id;
      break;
    }
  }
  const bool ntpd_binary_unpackaged =
      !dpkg_present && RootedExists(root, "usr/sbin/ntpd");
  // Debian 12's ntp package is a transitional one that installs ntpsec:
  // then only ntpsec is reported.
  const bool ntpsec_package = packages.count("ntpsec") > 0;

  for (const DaemonSpec& spec : DaemonSpecs()) {
    const std::string id = spec.id;
    if (id == "ntp" && ntpsec_package) continue;
    auto package = packages.find(id);
    const bool from_package = package != packages.end();
    const bool ntpd_family = std::string_view(spec.process) == "ntpd";
    const bool installed_binary =
        ntpd_family ? ntpd_binary_unpackaged && ntpd_config_owner == id
                    : AnyExists(root, spec.binaries);
    bool running = processes.count(spec.process) > 0;
    if (ntpd_family) running = running && (from_package || ntpd_owner == id);
    if (!from_package && !installed_binary && !running) continue;

    v1::TimeSyncDaemon* daemon = out->add_daemons();
    daemon->set_id(id);
    daemon->set_process(spec.process);
    daemon->set_installed(from_package || installed_binary);
    if (from_package) daemon->set_version(package->second);
    daemon->set_running(running);

    DaemonConfig config;
    TimesyncdServers timesyncd;
    if (id == "chrony") {
      config = ReadChrony(root);
    } else if (id == "systemd-timesyncd") {
      config = ReadTimesyncd(root, &timesyncd);
    } else if (id == "openntpd") {
      config = ReadFirstConfig(
          root, {"etc/openntpd/ntpd.conf", "etc/ntpd.conf"}, ParseOpenntpdConf);
    } else if (id == "ntpsec") {
      config = ReadFirstConfig(root, {"etc/ntpsec/ntp.conf", "etc/ntp.conf"},
                               ParseNtpConf);
    } else {
      config = ReadFirstConfig(root, {"etc/ntp.conf"}, ParseNtpConf);
    }
    for (std::string& file : config.files) {
      daemon->add_config_files(std::move(file));
    }
    for (const std::string& source : config.sources) {
      daemon->add_sources(source);
    }
    if (timesyncd.fallback) {
      for (std::string& source : SortedUnique(*timesyncd.fallback)) {
        daemon->add_fallback_sources(std::move(source));
      }
    }
    daemon->set_uses_distribution_default(id == "systemd-timesyncd" &&
                                          !timesyncd.fallback.has_value());
    daemon->set_has_sources(daemon->sources_size() > 0 ||
                            daemon->fallback_sources_size() > 0 ||
                            daemon->uses_distribution_default());
  }
  MakeStringsValidUtf8(&facts);
  return facts;
}

}  // namespace evidentia::agent
