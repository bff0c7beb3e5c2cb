#include "agent/linux/probes/audit_logging_probe.h"

#include <fnmatch.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <set>
#include <tuple>

#include "absl/status/status.h"
#include "agent/linux/sys/dpkg.h"
#include "agent/linux/sys/processes.h"
#include "agent/linux/sys/rooted_fs.h"
#include "agent/linux/sys/text.h"
#include "agent/linux/sys/utf8.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxDropIns = 256;
constexpr size_t kMaxIncludedFiles = 128;
constexpr size_t kMaxRulesFiles = 256;
constexpr size_t kMaxJournalDirs = 256;
constexpr size_t kMaxJournalFiles = 4096;
constexpr uint32_t kMaxPort = 65535;
constexpr size_t kMaxLogrotateWords = 4096;
constexpr size_t kMaxLogrotateStanzas = 16384;
constexpr size_t kMaxSyslogNgTokens = 1 << 18;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool IsIdentChar(char c) { return IsAsciiAlnum(c) || c == '_' || c == '.'; }

// "host", "[v6]" or "host:port" (port kept in *port when numeric). Returns
// false when there is no host.
bool SplitHostPort(std::string_view text, std::string* host, uint32_t* port) {
  std::string_view port_text;
  if (!text.empty() && text[0] == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return false;
    *host = std::string(text.substr(1, close - 1));
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty() && rest[0] == ':') port_text = rest.substr(1);
  } else {
    size_t colon = text.find(':');
    *host = std::string(text.substr(0, colon));
    if (colon != std::string_view::npos) port_text = text.substr(colon + 1);
  }
  if (std::optional<uint32_t> p = ParseDecimal<uint32_t>(port_text);
      p && *p > 0 && *p <= kMaxPort) {
    *port = *p;
  }
  return !host->empty();
}

uint32_t PortOr(std::string_view text, uint32_t fallback) {
  std::optional<uint32_t> port = ParseDecimal<uint32_t>(Trim(text));
  return port && *port > 0 && *port <= kMaxPort ? *port : fallback;
}

// --- rsyslog scanning -------------------------------------------------------

// A RainerScript object: name(params).
struct RainerObject {
  std::string name;  // lowercased
  std::string body;  // between the parentheses
};

// Splits rsyslog text into RainerScript objects and the remaining (legacy)
// text, with comments removed and newlines kept.
void ScanRsyslog(std::string_view text, std::vector<RainerObject>* objects,
                 std::string* rest) {
  size_t i = 0;
  const size_t n = text.size();
  auto copy_quoted = [&](std::string* out) {
    char quote = text[i];
    out->push_back(text[i++]);
    while (i < n && text[i] != quote) {
      if (text[i] == '\\' && i + 1 < n) out->push_back(text[i++]);
      out->push_back(text[i++]);
    }
    if (i < n) out->push_back(text[i++]);
  };
  while (i < n) {
    char c = text[i];
    if (c == '"' || c == '\'') {
      copy_quoted(rest);
    } else if (c == '#') {
      while (i < n && text[i] != '\n') ++i;
    } else if (c == '/' && i + 1 < n && text[i + 1] == '*' &&
               (i == 0 || IsAsciiSpace(text[i - 1]))) {
      // A C comment; "/*" inside a path ("rsyslog.d/*.conf") is not one.
      size_t end = text.find("*/", i + 2);
      size_t stop = end == std::string_view::npos ? n : end + 2;
      for (; i < stop; ++i) {
        if (text[i] == '\n') rest->push_back('\n');
      }
    } else if ((IsAsciiAlnum(c) || c == '_') &&
               (i == 0 || (!IsIdentChar(text[i - 1]) && text[i - 1] != '$' &&
                           text[i - 1] != '%' && text[i - 1] != '@' &&
                           text[i - 1] != ':' && text[i - 1] != '-'))) {
      size_t start = i;
      while (i < n && IsIdentChar(text[i])) ++i;
      size_t j = i;
      while (j < n && (text[j] == ' ' || text[j] == '\t')) ++j;
      if (j < n && text[j] == '(') {
        RainerObject object;
        object.name = Lower(text.substr(start, i - start));
        int depth = 0;
        bool closed = false;
        i = j;
        while (i < n) {
          char d = text[i];
          if (d == '"' || d == '\'') {
            copy_quoted(&object.body);
            continue;
          }
          if (d == '#') {  // a comment inside a multi-line object
            while (i < n && text[i] != '\n') ++i;
            continue;
          }
          if (d == '(') ++depth;
          if (d == ')' && --depth == 0) {
            ++i;
            closed = true;
            break;
          }
          if (depth > 0 && !(depth == 1 && d == '(')) object.body.push_back(d);
          if (d == '\n') rest->push_back('\n');
          ++i;
        }
        // rsyslog rejects an object that is never closed.
        if (closed) objects->push_back(std::move(object));
        rest->push_back(' ');
      } else {
        rest->append(text.substr(start, i - start));
      }
    } else {
      rest->push_back(c);
      ++i;
    }
  }
}

// name="value" / name=["a","b"] / name=value parameters of an object body,
// names lowercased; arrays give one entry per element.
std::vector<std::pair<std::string, std::string>> RainerParams(
    std::string_view body) {
  std::vector<std::pair<std::string, std::string>> params;
  size_t i = 0;
  const size_t n = body.size();
  auto read_value = [&](std::string* out) {
    if (i < n && (body[i] == '"' || body[i] == '\'')) {
      char quote = body[i++];
      while (i < n && body[i] != quote) {
        if (body[i] == '\\' && i + 1 < n) ++i;
        out->push_back(body[i++]);
      }
      if (i < n) ++i;
    } else {
      while (i < n && !IsAsciiSpace(body[i]) && body[i] != ',' &&
             body[i] != ']') {
        out->push_back(body[i++]);
      }
    }
  };
  while (i < n) {
    while (i < n && (IsAsciiSpace(body[i]) || body[i] == ',')) ++i;
    size_t start = i;
    while (i < n && (IsIdentChar(body[i]) || body[i] == '-')) ++i;
    std::string name = Lower(body.substr(start, i - start));
    while (i < n && IsAsciiSpace(body[i])) ++i;
    if (name.empty() || i >= n || body[i] != '=') {
      if (i < n && start == i) ++i;  // skip a stray character
      continue;
    }
    ++i;
    while (i < n && IsAsciiSpace(body[i])) ++i;
    if (i < n && body[i] == '[') {
      ++i;
      while (i < n && body[i] != ']') {
        while (i < n && (IsAsciiSpace(body[i]) || body[i] == ',')) ++i;
        if (i >= n || body[i] == ']') break;
        std::string value;
        size_t before = i;
        read_value(&value);
        if (i == before) ++i;
        params.emplace_back(name, std::move(value));
      }
      if (i < n) ++i;
    } else {
      std::string value;
      read_value(&value);
      params.emplace_back(std::move(name), std::move(value));
    }
  }
  return params;
}

void AddRainerAction(const RainerObject& object, RsyslogConfig* out) {
  std::vector<std::pair<std::string, std::string>> params =
      RainerParams(object.body);
  std::string type, port, protocol = "udp", driver_mode;
  std::vector<std::string> hosts;
  for (const auto& [name, value] : params) {
    if (name == "type") type = Lower(value);
    if (name == "target") hosts.push_back(value);
    if (name == "port") port = value;
    if (name == "protocol") protocol = Lower(value);
    if (name == "streamdrivermode" || name == "streamdriver.mode") {
      driver_mode = value;
    }
  }
  if (type == "omfile") {
    out->writes_local_files = true;
    return;
  }
  std::string proto;
  if (type == "omfwd") {
    proto =
        protocol == "tcp" ? (Trim(driver_mode) == "1" ? "tls" : "tcp") : "udp";
  } else if (type == "omrelp") {
    proto = "relp";
  } else {
    return;
  }
  for (const std::string& host : hosts) {
    if (Trim(host).empty()) continue;
    out->targets.push_back({std::string(Trim(host)), PortOr(port, 514), proto});
  }
}

// The target of a legacy "@host", "@@(o)host:port;Template" action.
std::optional<RemoteTarget> LegacyForward(std::string_view token, bool tls) {
  RemoteTarget target;
  size_t ats = token.size() > 1 && token[1] == '@' ? 2 : 1;
  target.protocol = ats == 2 ? (tls ? "tls" : "tcp") : "udp";
  token.remove_prefix(ats);
  if (!token.empty() && token[0] == '(') {
    size_t close = token.find(')');
    if (close == std::string_view::npos) return std::nullopt;
    token.remove_prefix(close + 1);
  }
  token = token.substr(0, token.find(';'));
  target.port = 514;
  if (!SplitHostPort(token, &target.host, &target.port)) return std::nullopt;
  return target;
}

// --- syslog-ng tokens -------------------------------------------------------

struct NgToken {
  enum Kind { kWord, kString, kPunct } kind;
  std::string text;
};

std::vector<NgToken> TokenizeSyslogNg(std::string_view text) {
  std::vector<NgToken> tokens;
  size_t i = 0;
  const size_t n = text.size();
  while (i < n && tokens.size() < kMaxSyslogNgTokens) {
    char c = text[i];
    if (IsAsciiSpace(c)) {
      ++i;
    } else if (c == '#') {
      while (i < n && text[i] != '\n') ++i;
    } else if (c == '"' || c == '\'') {
      std::string value;
      ++i;
      while (i < n && text[i] != c) {
        if (c == '"' && text[i] == '\\' && i + 1 < n) ++i;
        value.push_back(text[i++]);
      }
      if (i < n) ++i;
      tokens.push_back({NgToken::kString, std::move(value)});
    } else if (c == '(' || c == ')' || c == '{' || c == '}' || c == ';' ||
               c == ',') {
      tokens.push_back({NgToken::kPunct, std::string(1, c)});
      ++i;
    } else {
      size_t start = i;
      while (i < n && !IsAsciiSpace(text[i]) &&
             std::string_view("(){};,\"'#").find(text[i]) ==
                 std::string_view::npos) {
        ++i;
      }
      tokens.push_back(
          {NgToken::kWord, std::string(text.substr(start, i - start))});
    }
  }
  return tokens;
}

bool IsPunct(const std::vector<NgToken>& t, size_t i, char c) {
  return i < t.size() && t[i].kind == NgToken::kPunct && t[i].text[0] == c;
}

// The index just past the bracket that closes the one at `open`.
size_t SkipBalanced(const std::vector<NgToken>& t, size_t open) {
  int depth = 0;
  for (size_t i = open; i < t.size(); ++i) {
    if (t[i].kind != NgToken::kPunct) continue;
    char c = t[i].text[0];
    if (c == '(' || c == '{') ++depth;
    if ((c == ')' || c == '}') && --depth == 0) return i + 1;
  }
  return t.size();
}

// syslog-ng treats '-' and '_' in keywords alike.
std::string NgKeyword(std::string_view word) {
  std::string out = Lower(word);
  std::replace(out.begin(), out.end(), '-', '_');
  return out;
}

// One driver call: t[open] is its '('. Reads the first positional argument
// and the values of the top-level options.
void ParseNgDriver(const std::vector<NgToken>& t, std::string_view driver,
                   size_t open, SyslogNgDestination* out) {
  size_t end = SkipBalanced(t, open);
  std::string host, port, transport;
  bool has_host = false, tls_option = false;
  for (size_t i = open + 1; i + 1 < end;) {
    if (t[i].kind != NgToken::kPunct && IsPunct(t, i + 1, '(')) {
      std::string option = NgKeyword(t[i].text);
      size_t close = SkipBalanced(t, i + 1);
      if (i + 2 < close && t[i + 2].kind != NgToken::kPunct) {
        if (option == "port") port = t[i + 2].text;
        if (option == "transport") transport = Lower(t[i + 2].text);
      }
      if (option == "tls") tls_option = true;
      i = close;
      continue;
    }
    if (!has_host && t[i].kind != NgToken::kPunct) {
      host = t[i].text;
      has_host = true;
    }
    ++i;
  }
  if (driver == "file") {
    out->writes_local_files = true;
    return;
  }
  RemoteTarget target;
  if (driver == "network" || driver == "syslog") {
    bool is_syslog = driver == "syslog";
    if (transport.find("tls") != std::string::npos) {
      target.protocol = "tls";
      target.port = 6514;
    } else if (transport == "udp") {
      target.protocol = "udp";
      target.port = 514;
    } else {
      target.protocol = "tcp";
      target.port = is_syslog ? 601 : 514;
    }
  } else if (driver == "tcp" || driver == "tcp6") {
    target.protocol = tls_option ? "tls" : "tcp";
    target.port = 514;
  } else if (driver == "udp" || driver == "udp6") {
    target.protocol = "udp";
    target.port = 514;
  } else {
    return;
  }
  if (Trim(host).empty()) return;
  target.host = std::string(Trim(host));
  target.port = PortOr(port, target.port);
  out->targets.push_back(std::move(target));
}

// The drivers of a destination block: t[open] is its '{'.
SyslogNgDestination ParseNgDestinationBlock(const std::vector<NgToken>& t,
                                            size_t open) {
  SyslogNgDestination dest;
  size_t end = SkipBalanced(t, open);
  for (size_t i = open + 1; i + 1 < end;) {
    if (t[i].kind == NgToken::kWord && IsPunct(t, i + 1, '(')) {
      ParseNgDriver(t, NgKeyword(t[i].text), i + 1, &dest);
      i = SkipBalanced(t, i + 1);
    } else {
      ++i;
    }
  }
  return dest;
}

// --- logrotate --------------------------------------------------------------

// Applies one directive to `options` if it is a retention one.
void ApplyLogrotateDirective(const std::vector<std::string_view>& words,
                             LogrotateOptions* options) {
  if (words.empty()) return;
  std::string_view key = words[0];
  if (key == "rotate" && words.size() > 1) {
    std::optional<int32_t> count = ParseDecimal<int32_t>(words[1]);
    if (count && *count >= -1) options->rotate = *count;
  } else if (key == "maxage" && words.size() > 1) {
    std::optional<uint32_t> days = ParseDecimal<uint32_t>(words[1]);
    if (days) options->maxage_days = *days;
  } else if (key == "hourly") {
    options->period = v1::LOG_ROTATION_PERIOD_HOURLY;
  } else if (key == "daily") {
    options->period = v1::LOG_ROTATION_PERIOD_DAILY;
  } else if (key == "weekly") {
    options->period = v1::LOG_ROTATION_PERIOD_WEEKLY;
  } else if (key == "monthly") {
    options->period = v1::LOG_ROTATION_PERIOD_MONTHLY;
  } else if (key == "yearly") {
    options->period = v1::LOG_ROTATION_PERIOD_YEARLY;
  } else if (key == "size") {
    // "size" alone rotates by size whatever the period said.
    options->period = v1::LOG_ROTATION_PERIOD_UNSPECIFIED;
  }
}

bool IsLogrotateScript(std::string_view word) {
  return word == "postrotate" || word == "prerotate" || word == "firstaction" ||
         word == "lastaction" || word == "preremove";
}

// Words of a logrotate line, double or single quotes grouping.
std::vector<std::string> LogrotateWords(std::string_view line) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < line.size() && words.size() < kMaxLogrotateWords) {
    while (i < line.size() && IsAsciiSpace(line[i])) ++i;
    if (i >= line.size()) break;
    std::string word;
    if (line[i] == '"' || line[i] == '\'') {
      char quote = line[i++];
      while (i < line.size() && line[i] != quote) word.push_back(line[i++]);
      if (i < line.size()) ++i;
    } else if (line[i] == '{' || line[i] == '}') {
      word.push_back(line[i++]);
    } else {
      while (i < line.size() && !IsAsciiSpace(line[i]) && line[i] != '{' &&
             line[i] != '}') {
        word.push_back(line[i++]);
      }
    }
    words.push_back(std::move(word));
  }
  return words;
}

// --- reading below root -----------------------------------------------------

std::string Rooted(std::string_view path) {
  while (!path.empty() && path[0] == '/') path.remove_prefix(1);
  return std::string(path);
}

std::string Absolute(std::string_view path) { return Cat("/", Rooted(path)); }

// The files a systemd configuration with drop-ins consists of, in the order
// they apply: the main file, then "*.conf" drop-ins by file name, the first
// of /etc, /run, /usr/local/lib, /usr/lib holding a name winning.
std::vector<std::string> SystemdConfigFiles(const fs::path& root,
                                            std::string_view main_file,
                                            std::string_view dropin_name) {
  std::vector<std::string> files = {std::string(main_file)};
  std::map<std::string, std::string> dropins;
  for (std::string_view dir : {"etc/systemd", "run/systemd",
                               "usr/local/lib/systemd", "usr/lib/systemd"}) {
    std::string path = Cat(dir, "/", dropin_name);
    for (const std::string& name : ListRootedDir(root, path, kMaxDropIns)) {
      if (!EndsWith(name, ".conf")) continue;
      dropins.emplace(name, Cat(path, "/", name));  // first dir wins
    }
  }
  for (const auto& [name, path] : dropins) files.push_back(path);
  return files;
}

// A journal directory name: 32 lowercase hex digits.
bool IsMachineId(std::string_view name) {
  return name.size() == 32 && std::all_of(name.begin(), name.end(), [](char c) {
           return IsAsciiDigit(c) || (c >= 'a' && c <= 'f');
         });
}

bool IsRootedDirectory(const fs::path& root, std::string_view path) {
  absl::StatusOr<std::string> rel = ResolveInRoot(root, path);
  if (!rel.ok()) return false;
  std::error_code ec;
  return fs::is_directory(root / *rel, ec);
}

// The files an include pattern names below root: a directory's entries
// (`directory_entries` decides which), a glob in the last component, or one
// file. Sorted.
std::vector<std::string> ExpandInclude(
    const fs::path& root, std::string_view pattern,
    bool (*directory_entry)(std::string_view name)) {
  std::string path = Rooted(pattern);
  std::vector<std::string> out;
  if (path.empty()) return out;
  if (IsRootedDirectory(root, path)) {
    while (!path.empty() && path.back() == '/') path.pop_back();
    for (const std::string& name :
         ListRootedDir(root, path, kMaxIncludedFiles)) {
      if (directory_entry(name)) out.push_back(Cat(path, "/", name));
    }
    return out;
  }
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "" : path.substr(0, slash);
  std::string base = path.substr(slash == std::string::npos ? 0 : slash + 1);
  if (base.find_first_of("*?[") == std::string::npos) {
    out.push_back(path);
    return out;
  }
  for (const std::string& name : ListRootedDir(root, dir, kMaxIncludedFiles)) {
    if (name[0] == '.') continue;
    if (fnmatch(base.c_str(), name.c_str(), 0) == 0) {
      out.push_back(dir.empty() ? name : Cat(dir, "/", name));
    }
  }
  return out;
}

bool AnyVisibleFile(std::string_view name) {
  return !name.empty() && name[0] != '.' && name.back() != '~';
}

bool LogrotateReadsFile(std::string_view name) {
  static constexpr std::string_view kTaboo[] = {
      ",v",         ".cfsaved",  ".disabled", ".dpkg-bak", ".dpkg-del",
      ".dpkg-dist", ".dpkg-new", ".dpkg-old", ".dpkg-tmp", ".rpmnew",
      ".rpmorig",   ".rpmsave",  ".swp",      ".ucf-dist", ".ucf-new",
      ".ucf-old",   "~"};
  if (name.empty() || name[0] == '.') return false;
  for (std::string_view ext : kTaboo) {
    if (EndsWith(name, ext)) return false;
  }
  return true;
}

// Reads `start` and the files its includes name, breadth first, each once,
// at most kMaxIncludedFiles. `includes_of` parses one file and returns its
// include patterns; `resolve` turns a pattern into files below root.
template <typename ParseFn, typename ResolveFn>
std::vector<std::string> ReadWithIncludes(const fs::path& root,
                                          const std::string& start,
                                          ParseFn includes_of,
                                          ResolveFn resolve) {
  std::vector<std::string> read;
  std::set<std::string> seen = {start};
  std::deque<std::string> queue = {start};
  while (!queue.empty() && read.size() < kMaxIncludedFiles) {
    std::string file = queue.front();
    queue.pop_front();
    absl::StatusOr<std::string> text =
        ReadRootedFile(root, file, kMaxConfigFileBytes);
    if (!text.ok()) continue;
    read.push_back(Absolute(file));
    for (const std::string& pattern : includes_of(*text)) {
      for (std::string& next : resolve(pattern)) {
        if (seen.size() >= 4 * kMaxIncludedFiles) break;
        if (seen.insert(next).second) queue.push_back(std::move(next));
      }
    }
  }
  std::sort(read.begin(), read.end());
  return read;
}

void SetTargets(std::vector<RemoteTarget> targets, v1::LogDaemon* daemon) {
  std::sort(targets.begin(), targets.end());
  targets.erase(std::unique(targets.begin(), targets.end()), targets.end());
  for (const RemoteTarget& t : targets) {
    v1::RemoteLogTarget* out = daemon->add_remote_targets();
    out->set_host(t.host);
    out->set_port(t.port);
    out->set_protocol(t.protocol);
    bool v6 = t.host.find(':') != std::string::npos;
    out->set_target(v6 ? Cat("[", t.host, "]:", t.port, "/", t.protocol)
                       : Cat(t.host, ":", t.port, "/", t.protocol));
  }
}

v1::LogDaemon CollectRsyslog(const fs::path& root,
                             const std::map<std::string, std::string>& pkgs,
                             const std::set<std::string>& procs) {
  v1::LogDaemon daemon;
  daemon.set_name("rsyslog");
  daemon.set_installed(pkgs.count("rsyslog") > 0);
  daemon.set_running(procs.count("rsyslogd") > 0);
  std::vector<RemoteTarget> targets;
  bool files = false;
  std::vector<std::string> read = ReadWithIncludes(
      root, "etc/rsyslog.conf",
      [&](std::string_view text) {
        RsyslogConfig config = ParseRsyslogConf(text);
        targets.insert(targets.end(), config.targets.begin(),
                       config.targets.end());
        files = files || config.writes_local_files;
        return config.includes;
      },
      [&](const std::string& pattern) {
        return ExpandInclude(root, pattern, AnyVisibleFile);
      });
  daemon.set_writes_local_files(files);
  SetTargets(std::move(targets), &daemon);
  for (const std::string& file : read) daemon.add_config_files(file);
  return daemon;
}

v1::LogDaemon CollectSyslogNg(const fs::path& root,
                              const std::map<std::string, std::string>& pkgs,
                              const std::set<std::string>& procs) {
  v1::LogDaemon daemon;
  daemon.set_name("syslog-ng");
  daemon.set_installed(pkgs.count("syslog-ng-core") > 0 ||
                       pkgs.count("syslog-ng") > 0);
  daemon.set_running(procs.count("syslog-ng") > 0);
  std::map<std::string, SyslogNgDestination> destinations;
  std::vector<SyslogNgDestination> used;
  std::set<std::string> used_names;
  std::vector<std::string> read = ReadWithIncludes(
      root, "etc/syslog-ng/syslog-ng.conf",
      [&](std::string_view text) {
        SyslogNgConfig config = ParseSyslogNgConf(text);
        for (auto& [name, dest] : config.destinations) {
          destinations.emplace(name, std::move(dest));  // first one wins
        }
        used_names.insert(config.used_destinations.begin(),
                          config.used_destinations.end());
        for (SyslogNgDestination& dest : config.inline_destinations) {
          used.push_back(std::move(dest));
        }
        return config.includes;
      },
      [&](const std::string& pattern) {
        // Relative includes are looked up in the configuration directory,
        // then in syslog-ng's include directory (scl.conf).
        if (!pattern.empty() && pattern[0] == '/') {
          return ExpandInclude(root, pattern, AnyVisibleFile);
        }
        std::vector<std::string> found =
            ExpandInclude(root, Cat("etc/syslog-ng/", pattern), AnyVisibleFile);
        if (found.size() == 1 && !RootedExists(root, found[0])) found.clear();
        if (found.empty()) {
          found =
              ExpandInclude(root, Cat("usr/share/syslog-ng/include/", pattern),
                            AnyVisibleFile);
        }
        return found;
      });
  for (const std::string& name : used_names) {
    auto it = destinations.find(name);
    if (it != destinations.end()) used.push_back(it->second);
  }
  std::vector<RemoteTarget> targets;
  bool files = false;
  for (const SyslogNgDestination& dest : used) {
    targets.insert(targets.end(), dest.targets.begin(), dest.targets.end());
    files = files || dest.writes_local_files;
  }
  daemon.set_writes_local_files(files);
  SetTargets(std::move(targets), &daemon);
  for (const std::string& file : read) daemon.add_config_files(file);
  return daemon;
}

v1::LogDaemon CollectJournalUpload(
    const fs::path& root, const std::map<std::string, std::string>& pkgs,
    const std::set<std::string>& procs) {
  v1::LogDaemon daemon;
  daemon.set_name("systemd-journal-upload");
  daemon.set_installed(pkgs.count("systemd-journal-remote") > 0);
  daemon.set_running(procs.count("systemd-journal-upload") > 0);
  std::optional<std::string> url;
  std::vector<std::string> read;
  for (const std::string& file : SystemdConfigFiles(
           root, "etc/systemd/journal-upload.conf", "journal-upload.conf.d")) {
    absl::StatusOr<std::string> text =
        ReadRootedFile(root, file, kMaxConfigFileBytes);
    if (!text.ok()) continue;
    read.push_back(Absolute(file));
    for (const auto& [key, value] : ParseSystemdSection(*text, "Upload")) {
      if (key == "URL") url = value;
    }
  }
  std::vector<RemoteTarget> targets;
  if (url) {
    if (std::optional<RemoteTarget> target = ParseJournalUploadUrl(*url)) {
      targets.push_back(std::move(*target));
    }
  }
  SetTargets(std::move(targets), &daemon);
  std::sort(read.begin(), read.end());
  for (const std::string& file : read) daemon.add_config_files(file);
  return daemon;
}

v1::JournaldState CollectJournald(
    const fs::path& root, const std::map<std::string, std::string>& pkgs,
    const std::set<std::string>& procs) {
  v1::JournaldState journald;
  journald.set_installed(
      pkgs.count("systemd") > 0 ||
      RootedExists(root, "lib/systemd/systemd-journald") ||
      RootedExists(root, "usr/lib/systemd/systemd-journald"));
  journald.set_running(procs.count("systemd-journald") > 0);

  std::string storage = "auto";
  std::string storage_file;
  for (const std::string& file : SystemdConfigFiles(
           root, "etc/systemd/journald.conf", "journald.conf.d")) {
    absl::StatusOr<std::string> text =
        ReadRootedFile(root, file, kMaxConfigFileBytes);
    if (!text.ok()) continue;  // missing, or masked by a link to /dev/null
    journald.add_config_files(Absolute(file));
    JournaldSettings settings = ParseJournaldConf(*text);
    if (settings.storage) {
      storage = *settings.storage;
      storage_file = Absolute(file);
    }
    if (settings.system_max_use_bytes) {
      journald.set_system_max_use_bytes(*settings.system_max_use_bytes);
    }
    if (settings.system_keep_free_bytes) {
      journald.set_system_keep_free_bytes(*settings.system_keep_free_bytes);
    }
    if (settings.max_retention_seconds) {
      journald.set_max_retention_seconds(*settings.max_retention_seconds);
    }
    if (settings.forward_to_syslog) {
      journald.set_forward_to_syslog(*settings.forward_to_syslog
                                         ? v1::FORWARD_TO_SYSLOG_YES
                                         : v1::FORWARD_TO_SYSLOG_NO);
    }
  }
  journald.set_storage_setting(storage);
  journald.set_storage_setting_file(storage_file);

  const bool directory = IsRootedDirectory(root, "var/log/journal");
  journald.set_persistent_directory_exists(directory);
  if (journald.installed()) {
    if (storage == "persistent" || (storage == "auto" && directory)) {
      journald.set_storage(v1::JOURNAL_STORAGE_PERSISTENT);
    } else if (storage == "none") {
      journald.set_storage(v1::JOURNAL_STORAGE_NONE);
    } else {
      journald.set_storage(v1::JOURNAL_STORAGE_VOLATILE);
    }
  }

  uint32_t files = 0;
  if (directory) {
    for (const std::string& machine :
         ListRootedDir(root, "var/log/journal", kMaxJournalDirs)) {
      if (!IsMachineId(machine)) continue;  // e.g. remote/: other hosts'
      std::string dir = Cat("var/log/journal/", machine);
      for (const std::string& name :
           ListRootedDir(root, dir, kMaxJournalFiles)) {
        if (files >= kMaxJournalFiles) break;
        if (EndsWith(name, ".journal") || EndsWith(name, ".journal~")) ++files;
      }
    }
  }
  journald.set_persistent_journal_files(files);
  return journald;
}

v1::KernelAuditStatus KernelStatus(const KernelAuditSource& source) {
  v1::KernelAuditStatus out;
  absl::StatusOr<KernelAuditReading> reading = source.GetStatus();
  if (!reading.ok()) {
    switch (reading.status().code()) {
      case absl::StatusCode::kPermissionDenied:
        out.set_query(v1::KERNEL_AUDIT_QUERY_PERMISSION_DENIED);
        break;
      case absl::StatusCode::kUnimplemented:
        out.set_query(v1::KERNEL_AUDIT_QUERY_UNSUPPORTED);
        break;
      default:
        out.set_query(v1::KERNEL_AUDIT_QUERY_ERROR);
    }
    out.set_error(std::string(reading.status().message()));
    return out;
  }
  out.set_query(v1::KERNEL_AUDIT_QUERY_OK);
  switch (reading->enabled) {
    case 0:
      out.set_enabled(v1::KERNEL_AUDIT_ENABLED_DISABLED);
      break;
    case 1:
      out.set_enabled(v1::KERNEL_AUDIT_ENABLED_ENABLED);
      break;
    case 2:
      out.set_enabled(v1::KERNEL_AUDIT_ENABLED_LOCKED);
      break;
    default:
      break;
  }
  switch (reading->failure) {
    case 0:
      out.set_failure_mode(v1::KERNEL_AUDIT_FAILURE_MODE_SILENT);
      break;
    case 1:
      out.set_failure_mode(v1::KERNEL_AUDIT_FAILURE_MODE_PRINTK);
      break;
    case 2:
      out.set_failure_mode(v1::KERNEL_AUDIT_FAILURE_MODE_PANIC);
      break;
    default:
      break;
  }
  out.set_backlog_limit(reading->backlog_limit);
  out.set_rate_limit(reading->rate_limit);
  out.set_daemon_registered(reading->pid != 0);
  return out;
}

v1::AuditdState CollectAuditd(const fs::path& root,
                              const std::map<std::string, std::string>& pkgs,
                              const std::set<std::string>& procs,
                              const KernelAuditSource& kernel) {
  v1::AuditdState auditd;
  auditd.set_installed(pkgs.count("auditd") > 0);
  auditd.set_running(procs.count("auditd") > 0);
  std::vector<std::string> files = {"etc/audit/audit.rules"};
  for (const std::string& name :
       ListRootedDir(root, "etc/audit/rules.d", kMaxRulesFiles)) {
    if (EndsWith(name, ".rules"))
      files.push_back(Cat("etc/audit/rules.d/", name));
  }
  AuditRulesSummary main_file, rules_d;
  bool have_rules_d = false;
  for (const std::string& file : files) {
    absl::StatusOr<std::string> text =
        ReadRootedFile(root, file, kMaxConfigFileBytes);
    if (!text.ok()) continue;
    AuditRulesSummary summary = ParseAuditRules(*text);
    v1::AuditRulesFile* out = auditd.add_rules_files();
    out->set_path(Absolute(file));
    out->set_rules(summary.rules);
    out->set_enable_flag(summary.enable_flag);
    if (file == files[0]) {
      main_file = summary;
    } else {
      have_rules_d = true;
      rules_d.rules += summary.rules;
      if (summary.enable_flag >= 0) rules_d.enable_flag = summary.enable_flag;
    }
  }
  std::sort(auditd.mutable_rules_files()->begin(),
            auditd.mutable_rules_files()->end(),
            [](const v1::AuditRulesFile& a, const v1::AuditRulesFile& b) {
              return a.path() < b.path();
            });
  const AuditRulesSummary& loaded = have_rules_d ? rules_d : main_file;
  auditd.set_loaded_rules(loaded.rules);
  auditd.set_immutable(loaded.enable_flag == 2);
  *auditd.mutable_kernel() = KernelStatus(kernel);
  return auditd;
}

constexpr std::string_view kMainLogs[] = {"/var/log/auth.log",
                                          "/var/log/messages",
                                          "/var/log/secure", "/var/log/syslog"};

struct LocatedStanza {
  std::string file;
  LogrotateStanza stanza;
};

std::vector<LocatedStanza> CollectLogrotateStanzas(const fs::path& root) {
  std::vector<LocatedStanza> stanzas;
  struct Pending {
    std::string file;
    LogrotateOptions defaults;
  };
  std::deque<Pending> queue = {{"etc/logrotate.conf", {}}};
  std::set<std::string> seen = {"etc/logrotate.conf"};
  size_t read = 0;
  while (!queue.empty() && read < kMaxIncludedFiles) {
    Pending next = std::move(queue.front());
    queue.pop_front();
    absl::StatusOr<std::string> text =
        ReadRootedFile(root, next.file, kMaxConfigFileBytes);
    if (!text.ok()) continue;
    ++read;
    LogrotateFile parsed = ParseLogrotateConf(*text, next.defaults);
    for (LogrotateStanza& stanza : parsed.stanzas) {
      stanzas.push_back({Absolute(next.file), std::move(stanza)});
    }
    for (const LogrotateInclude& include : parsed.includes) {
      for (std::string& file :
           ExpandInclude(root, include.path, LogrotateReadsFile)) {
        if (seen.size() >= 4 * kMaxIncludedFiles) break;
        if (seen.insert(file).second) {
          queue.push_back({std::move(file), include.defaults});
        }
      }
    }
  }
  return stanzas;
}

}  // namespace

// --- systemd ----------------------------------------------------------------

std::vector<std::pair<std::string, std::string>> ParseSystemdSection(
    std::string_view text, std::string_view section) {
  std::vector<std::pair<std::string, std::string>> out;
  std::string current;
  std::string logical;
  std::vector<std::string_view> lines = SplitLines(text);
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = Trim(lines[i]);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    logical.assign(line);
    while (!logical.empty() && logical.back() == '\\' && i + 1 < lines.size()) {
      logical.back() = ' ';
      logical.append(Trim(lines[++i]));
    }
    std::string_view body = Trim(logical);
    if (body[0] == '[') {
      size_t close = body.find(']');
      current = close == std::string_view::npos
                    ? std::string()
                    : std::string(body.substr(1, close - 1));
      continue;
    }
    if (current != section) continue;
    size_t equals = body.find('=');
    if (equals == std::string_view::npos) continue;
    std::string_view key = Trim(body.substr(0, equals));
    if (key.empty()) continue;
    out.emplace_back(std::string(key),
                     std::string(Trim(body.substr(equals + 1))));
  }
  return out;
}

std::optional<bool> ParseSystemdBoolean(std::string_view value) {
  for (std::string_view yes : {"1", "yes", "y", "true", "t", "on"}) {
    if (EqualsIgnoreCase(value, yes)) return true;
  }
  for (std::string_view no : {"0", "no", "n", "false", "f", "off"}) {
    if (EqualsIgnoreCase(value, no)) return false;
  }
  return std::nullopt;
}

namespace {

// Components "<number>[.<fraction>][ ]<unit>" summed with `units` (unit ->
// factor; "" for none). nullopt when malformed, empty or over `limit`.
std::optional<long double> SumComponents(
    std::string_view value,
    const std::vector<std::pair<std::string_view, long double>>& units,
    long double limit) {
  value = Trim(value);
  if (value.empty()) return std::nullopt;
  long double total = 0;
  size_t i = 0;
  while (i < value.size()) {
    while (i < value.size() && IsAsciiSpace(value[i])) ++i;
    if (i >= value.size()) break;
    size_t start = i;
    while (i < value.size() && IsAsciiDigit(value[i])) ++i;
    size_t int_end = i;
    size_t frac_start = i, frac_end = i;
    if (i < value.size() && value[i] == '.') {
      frac_start = ++i;
      while (i < value.size() && IsAsciiDigit(value[i])) ++i;
      frac_end = i;
    }
    if (int_end == start && frac_end == frac_start) return std::nullopt;
    if (int_end - start > 20 || frac_end - frac_start > 20) return std::nullopt;
    long double number = 0;
    for (size_t k = start; k < int_end; ++k)
      number = number * 10 + (value[k] - '0');
    long double scale = 0.1L;
    for (size_t k = frac_start; k < frac_end; ++k, scale /= 10) {
      number += (value[k] - '0') * scale;
    }
    while (i < value.size() && IsAsciiSpace(value[i])) ++i;
    size_t unit_start = i;
    while (i < value.size() && !IsAsciiSpace(value[i]) &&
           !IsAsciiDigit(value[i]) && value[i] != '.') {
      ++i;
    }
    std::string_view unit = value.substr(unit_start, i - unit_start);
    auto found = std::find_if(units.begin(), units.end(),
                              [&](const auto& u) { return u.first == unit; });
    if (found == units.end()) return std::nullopt;
    total += number * found->second;
    if (total > limit) return std::nullopt;
  }
  return total;
}

}  // namespace

std::optional<uint64_t> ParseSystemdSize(std::string_view value) {
  static const auto* const kUnits =
      new std::vector<std::pair<std::string_view, long double>>{
          {"", 1.0L},
          {"B", 1.0L},
          {"K", 1024.0L},
          {"M", 1024.0L * 1024},
          {"G", 1024.0L * 1024 * 1024},
          {"T", 1024.0L * 1024 * 1024 * 1024},
          {"P", 1024.0L * 1024 * 1024 * 1024 * 1024},
          {"E", 1024.0L * 1024 * 1024 * 1024 * 1024 * 1024}};
  std::optional<long double> total =
      SumComponents(value, *kUnits, 18446744073709549568.0L);
  if (!total) return std::nullopt;
  return static_cast<uint64_t>(std::floor(*total));
}

std::optional<uint64_t> ParseSystemdTimespanSeconds(std::string_view value) {
  if (Trim(value) == "infinity") return 0;
  static const auto* const kUnits =
      new std::vector<std::pair<std::string_view, long double>>{
          {"", 1.0L},
          {"s", 1.0L},
          {"sec", 1.0L},
          {"second", 1.0L},
          {"seconds", 1.0L},
          {"m", 60.0L},
          {"min", 60.0L},
          {"minute", 60.0L},
          {"minutes", 60.0L},
          {"h", 3600.0L},
          {"hr", 3600.0L},
          {"hour", 3600.0L},
          {"hours", 3600.0L},
          {"d", 86400.0L},
          {"day", 86400.0L},
          {"days", 86400.0L},
          {"w", 604800.0L},
          {"week", 604800.0L},
          {"weeks", 604800.0L},
          {"M", 2629800.0L},
          {"month", 2629800.0L},
          {"months", 2629800.0L},
          {"y", 31557600.0L},
          {"year", 31557600.0L},
          {"years", 31557600.0L},
          {"ms", 1e-3L},
          {"msec", 1e-3L},
          {"us", 1e-6L},
          {"usec", 1e-6L},
          {"\xC2\xB5s", 1e-6L},
          {"\xCE\xBCs", 1e-6L},
          {"ns", 1e-9L},
          {"nsec", 1e-9L}};
  // systemd keeps time spans in microseconds (uint64).
  std::optional<long double> total =
      SumComponents(value, *kUnits, 18446744073709.0L);
  if (!total) return std::nullopt;
  return static_cast<uint64_t>(std::floor(*total));
}

JournaldSettings ParseJournaldConf(std::string_view text) {
  JournaldSettings out;
  for (const auto& [key, value] : ParseSystemdSection(text, "Journal")) {
    if (key == "Storage") {
      if (value == "auto" || value == "persistent" || value == "volatile" ||
          value == "none") {
        out.storage = value;
      }
    } else if (key == "SystemMaxUse") {
      if (auto size = ParseSystemdSize(value)) out.system_max_use_bytes = size;
    } else if (key == "SystemKeepFree") {
      if (auto size = ParseSystemdSize(value)) {
        out.system_keep_free_bytes = size;
      }
    } else if (key == "MaxRetentionSec") {
      if (auto span = ParseSystemdTimespanSeconds(value)) {
        out.max_retention_seconds = span;
      }
    } else if (key == "ForwardToSyslog") {
      if (auto flag = ParseSystemdBoolean(value)) out.forward_to_syslog = flag;
    }
  }
  return out;
}

std::optional<RemoteTarget> ParseJournalUploadUrl(std::string_view url) {
  url = Trim(url);
  RemoteTarget target;
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    target.protocol = "https";  // journal-upload's default scheme
  } else {
    std::string scheme = Lower(url.substr(0, scheme_end));
    if (scheme != "http" && scheme != "https") return std::nullopt;
    target.protocol = scheme;
    url.remove_prefix(scheme_end + 3);
  }
  url = url.substr(0, url.find('/'));
  target.port = 19532;
  if (!SplitHostPort(url, &target.host, &target.port)) return std::nullopt;
  return target;
}

// --- rsyslog ----------------------------------------------------------------

RsyslogConfig ParseRsyslogConf(std::string_view text) {
  RsyslogConfig out;
  std::vector<RainerObject> objects;
  std::string rest;
  ScanRsyslog(text, &objects, &rest);
  for (const RainerObject& object : objects) {
    if (object.name == "action") {
      AddRainerAction(object, &out);
    } else if (object.name == "include") {
      for (const auto& [name, value] : RainerParams(object.body)) {
        if (name == "file" && !value.empty()) out.includes.push_back(value);
      }
    }
  }
  bool tls = false;
  for (std::string_view line : SplitLines(rest)) {
    std::vector<std::string_view> words = Words(Trim(line));
    if (words.empty()) continue;
    if (words[0][0] == '$') {
      if (words.size() > 1 && EqualsIgnoreCase(words[0], "$IncludeConfig")) {
        out.includes.emplace_back(words[1]);
      }
      if (words.size() > 1 &&
          EqualsIgnoreCase(words[0], "$ActionSendStreamDriverMode")) {
        tls = words[1] == "1";
      }
      continue;
    }
    for (size_t i = 1; i < words.size(); ++i) {
      std::string_view word = words[i];
      if (word[0] == '@') {
        if (auto target = LegacyForward(word, tls)) {
          out.targets.push_back(std::move(*target));
        }
      } else if (StartsWith(word, ":omrelp:")) {
        std::string_view spec = word.substr(8);
        spec = spec.substr(0, spec.find(';'));
        RemoteTarget target{"", 514, "relp"};
        if (SplitHostPort(spec, &target.host, &target.port)) {
          out.targets.push_back(std::move(target));
        }
      } else if (word[0] == '/' || StartsWith(word, "-/") ||
                 (word[0] == '?' && word.size() > 1)) {
        out.writes_local_files = true;
      }
    }
  }
  return out;
}

// --- syslog-ng --------------------------------------------------------------

SyslogNgConfig ParseSyslogNgConf(std::string_view text) {
  SyslogNgConfig out;
  // Pragma lines (@version, @include, @define) are read alone.
  std::string body;
  for (std::string_view line : SplitLines(text)) {
    std::string_view trimmed = Trim(line);
    if (StartsWith(trimmed, "@")) {
      if (StartsWith(trimmed, "@include")) {
        std::vector<NgToken> words = TokenizeSyslogNg(trimmed.substr(8));
        if (!words.empty() && words[0].kind != NgToken::kPunct &&
            !words[0].text.empty()) {
          out.includes.push_back(words[0].text);
        }
      }
      body.push_back('\n');
      continue;
    }
    body.append(line);
    body.push_back('\n');
  }
  std::vector<NgToken> t = TokenizeSyslogNg(body);
  size_t i = 0;
  while (i < t.size()) {
    if (t[i].kind != NgToken::kWord) {
      ++i;
      continue;
    }
    std::string keyword = NgKeyword(t[i].text);
    // Find the statement's block: "keyword [name] {".
    size_t j = i + 1;
    std::string name;
    if (j < t.size() && t[j].kind != NgToken::kPunct) name = t[j++].text;
    if (!IsPunct(t, j, '{')) {
      ++i;
      continue;
    }
    size_t end = SkipBalanced(t, j);
    if (keyword == "destination" && !name.empty()) {
      out.destinations.emplace(name, ParseNgDestinationBlock(t, j));
    } else if (keyword == "log") {
      for (size_t k = j + 1; k + 1 < end; ++k) {
        if (t[k].kind != NgToken::kWord ||
            NgKeyword(t[k].text) != "destination") {
          continue;
        }
        if (IsPunct(t, k + 1, '(') && k + 2 < end &&
            t[k + 2].kind != NgToken::kPunct) {
          out.used_destinations.push_back(t[k + 2].text);
        } else if (IsPunct(t, k + 1, '{')) {
          out.inline_destinations.push_back(ParseNgDestinationBlock(t, k + 1));
          k = SkipBalanced(t, k + 1) - 1;
        }
      }
    }
    i = end;
  }
  std::sort(out.used_destinations.begin(), out.used_destinations.end());
  out.used_destinations.erase(
      std::unique(out.used_destinations.begin(), out.used_destinations.end()),
      out.used_destinations.end());
  return out;
}

// --- logrotate --------------------------------------------------------------

LogrotateFile ParseLogrotateConf(std::string_view text,
                                 const LogrotateOptions& defaults) {
  LogrotateFile out;
  out.defaults = defaults;
  std::vector<std::string> pending_paths;
  std::optional<LogrotateStanza> stanza;
  bool in_script = false;
  for (std::string_view line : SplitLines(text)) {
    std::string_view trimmed = Trim(line);
    if (in_script) {
      if (StartsWith(trimmed, "endscript")) in_script = false;
      continue;
    }
    if (trimmed.empty() || trimmed[0] == '#') continue;
    std::vector<std::string> words = LogrotateWords(trimmed);
    std::vector<std::string_view> views(words.begin(), words.end());
    if (stanza) {
      if (words[0] == "}") {
        if (out.stanzas.size() < kMaxLogrotateStanzas) {
          out.stanzas.push_back(std::move(*stanza));
        }
        stanza.reset();
        continue;
      }
      if (IsLogrotateScript(words[0])) {
        in_script = true;
        continue;
      }
      ApplyLogrotateDirective(views, &stanza->options);
      continue;
    }
    const char first = trimmed[0];
    bool path_line = first == '/' || first == '"' || first == '\'' ||
                     first == '~' || first == '*' || first == '{' ||
                     !pending_paths.empty();
    if (!path_line) {
      if (words[0] == "include" && words.size() > 1) {
        out.includes.push_back({words[1], out.defaults});
      } else {
        ApplyLogrotateDirective(views, &out.defaults);
      }
      continue;
    }
    for (size_t i = 0; i < words.size(); ++i) {
      if (words[i] == "{") {
        stanza.emplace();
        stanza->paths = std::move(pending_paths);
        pending_paths.clear();
        stanza->options = out.defaults;
        // Directives after '{' on the same line.
        std::vector<std::string_view> tail(views.begin() + i + 1, views.end());
        if (!tail.empty() && tail.back() == "}") {
          tail.pop_back();
          ApplyLogrotateDirective(tail, &stanza->options);
          if (out.stanzas.size() < kMaxLogrotateStanzas) {
            out.stanzas.push_back(std::move(*stanza));
          }
          stanza.reset();
        } else {
          ApplyLogrotateDirective(tail, &stanza->options);
        }
        break;
      }
      if (pending_paths.size() < kMaxLogrotateWords) {
        pending_paths.push_back(words[i]);
      }
    }
  }
  return out;  // a stanza still open at the end is dropped
}

Retention RetentionOf(const LogrotateOptions& options) {
  Retention out;
  const int32_t rotate = options.rotate.value_or(0);
  if (rotate < 0) {
    if (options.maxage_days) {
      out.days = *options.maxage_days;
    } else {
      out.unlimited = true;
    }
    return out;
  }
  uint64_t days = 0;
  switch (options.period) {
    case v1::LOG_ROTATION_PERIOD_HOURLY:
      days = static_cast<uint64_t>(rotate) / 24;
      break;
    case v1::LOG_ROTATION_PERIOD_DAILY:
      days = static_cast<uint64_t>(rotate);
      break;
    case v1::LOG_ROTATION_PERIOD_WEEKLY:
      days = static_cast<uint64_t>(rotate) * 7;
      break;
    case v1::LOG_ROTATION_PERIOD_MONTHLY:
      days = static_cast<uint64_t>(rotate) * 30;
      break;
    case v1::LOG_ROTATION_PERIOD_YEARLY:
      days = static_cast<uint64_t>(rotate) * 365;
      break;
    default:
      days = 0;  // rotated by size: no time guarantee
  }
  if (options.maxage_days) {
    days = std::min<uint64_t>(days, *options.maxage_days);
  }
  out.days = static_cast<uint32_t>(
      std::min<uint64_t>(days, std::numeric_limits<uint32_t>::max()));
  return out;
}

// --- audit rules ------------------------------------------------------------

AuditRulesSummary ParseAuditRules(std::string_view text) {
  AuditRulesSummary out;
  for (std::string_view line : SplitLines(text)) {
    std::vector<std::string_view> words = Words(Trim(line));
    if (words.empty() || words[0][0] == '#') continue;
    std::string_view first = words[0];
    if (StartsWith(first, "-a") || StartsWith(first, "-A") ||
        StartsWith(first, "-w")) {
      ++out.rules;
    } else if (StartsWith(first, "-e")) {
      std::string_view value =
          first.size() > 2 ? first.substr(2)
                           : (words.size() > 1 ? words[1] : std::string_view());
      std::optional<int32_t> flag = ParseDecimal<int32_t>(value);
      if (flag && *flag >= 0 && *flag <= 2) out.enable_flag = *flag;
    }
  }
  return out;
}

// --- the probe --------------------------------------------------------------

AuditLoggingProbe::AuditLoggingProbe()
    : kernel_(std::make_unique<NetlinkKernelAuditSource>()) {}

AuditLoggingProbe::AuditLoggingProbe(std::unique_ptr<KernelAuditSource> kernel)
    : kernel_(std::move(kernel)) {}

absl::StatusOr<v1::Facts> AuditLoggingProbe::Collect(
    const fs::path& root) const {
  absl::StatusOr<PackageDatabase> database = ReadPackageDatabase(root);
  if (!database.ok()) return database.status();
  const std::map<std::string, std::string>& packages = database->installed;
  const std::set<std::string> processes = RunningProcessNames(root);

  v1::Facts facts;
  v1::AuditLoggingFacts* out = facts.mutable_audit_logging();
  *out->mutable_journald() = CollectJournald(root, packages, processes);
  *out->mutable_auditd() = CollectAuditd(root, packages, processes, *kernel_);
  *out->add_log_daemons() = CollectRsyslog(root, packages, processes);
  *out->add_log_daemons() = CollectSyslogNg(root, packages, processes);
  *out->add_log_daemons() = CollectJournalUpload(root, packages, processes);

  bool persistent = out->journald().running() &&
                    out->journald().storage() == v1::JOURNAL_STORAGE_PERSISTENT;
  bool forwarded = false;
  for (const v1::LogDaemon& daemon : out->log_daemons()) {
    if (!daemon.running()) continue;
    persistent = persistent || daemon.writes_local_files();
    forwarded = forwarded || daemon.remote_targets_size() > 0;
  }
  out->set_logs_persistent(persistent);
  out->set_logs_forwarded(forwarded);

  std::vector<LocatedStanza> stanzas = CollectLogrotateStanzas(root);
  for (std::string_view log : kMainLogs) {
    const std::string log_path(log);
    for (const LocatedStanza& located : stanzas) {
      bool matches =
          std::any_of(located.stanza.paths.begin(), located.stanza.paths.end(),
                      [&](const std::string& pattern) {
                        return pattern == log_path ||
                               fnmatch(pattern.c_str(), log_path.c_str(),
                                       FNM_PATHNAME) == 0;
                      });
      if (!matches) continue;
      const LogrotateOptions& options = located.stanza.options;
      Retention retention = RetentionOf(options);
      v1::LogRetention* entry = out->add_log_retention();
      entry->set_path(log_path);
      entry->set_config_file(located.file);
      entry->set_rotate(options.rotate.value_or(0));
      entry->set_period(options.period);
      entry->set_maxage_days(options.maxage_days.value_or(0));
      entry->set_retention_days(retention.days);
      entry->set_retention_unlimited(retention.unlimited);
      break;  // logrotate rejects a second stanza for the same log
    }
  }
  MakeStringsValidUtf8(&facts);
  return facts;
}

}  // namespace evidentia::agent
