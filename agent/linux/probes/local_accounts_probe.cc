#include "agent/linux/probes/local_accounts_probe.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "absl/status/status.h"
#include "agent/linux/sys/rooted_fs.h"
#include "agent/linux/sys/text.h"
#include "agent/linux/sys/utf8.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxAccountFileBytes = 16 << 20;
constexpr size_t kMaxSudoersFiles = 256;
constexpr size_t kMaxLastlogLookups = 65536;

constexpr std::string_view kPrivilegedGroups[] = {"admin", "sudo", "wheel"};

std::optional<int64_t> NonNegative(std::string_view field) {
  std::optional<int64_t> value = ParseDecimal<int64_t>(field);
  if (!value || *value < 0) return std::nullopt;
  return value;
}

bool IsCommentOrBlank(std::string_view line) {
  line = TrimLeft(line);
  return line.empty() || line[0] == '#';
}

bool IsCryptChar(char c) { return IsAsciiAlnum(c) || c == '.' || c == '/'; }

v1::HashAlgorithm AlgorithmOf(std::string_view hash) {
  if (hash.size() == 13 && std::all_of(hash.begin(), hash.end(), IsCryptChar)) {
    return v1::HASH_ALGORITHM_DES;
  }
  if (hash.size() < 2 || hash[0] != '$') return v1::HASH_ALGORITHM_UNSPECIFIED;
  size_t end = hash.find('$', 1);
  if (end == std::string_view::npos || end + 1 >= hash.size()) {
    return v1::HASH_ALGORITHM_UNSPECIFIED;
  }
  std::string_view id = hash.substr(1, end - 1);
  if (id == "1") return v1::HASH_ALGORITHM_MD5;
  if (id == "2a" || id == "2b" || id == "2x" || id == "2y") {
    return v1::HASH_ALGORITHM_BCRYPT;
  }
  if (id == "5") return v1::HASH_ALGORITHM_SHA256;
  if (id == "6") return v1::HASH_ALGORITHM_SHA512;
  if (id == "y") return v1::HASH_ALGORITHM_YESCRYPT;
  if (id == "gy") return v1::HASH_ALGORITHM_GOST_YESCRYPT;
  if (id == "7") return v1::HASH_ALGORITHM_SCRYPT;
  if (id == "sha1") return v1::HASH_ALGORITHM_SHA1;
  if (!id.empty() && std::all_of(id.begin(), id.end(),
                                 [](char c) { return IsAsciiAlnum(c); })) {
    return v1::HASH_ALGORITHM_OTHER;
  }
  return v1::HASH_ALGORITHM_UNSPECIFIED;
}

// Joins backslash-continued lines of sudoers.
std::vector<std::string> LogicalLines(std::string_view text) {
  std::vector<std::string> lines;
  std::string pending;
  bool continuing = false;
  for (std::string_view line : SplitLines(text)) {
    std::string_view body = line;
    bool continues = !body.empty() && body.back() == '\\';
    if (continues) body.remove_suffix(1);
    if (continuing) {
      pending.push_back(' ');
      pending.append(body);
    } else {
      pending = std::string(body);
    }
    continuing = continues;
    if (!continuing) lines.push_back(std::move(pending));
  }
  if (continuing) lines.push_back(std::move(pending));
  return lines;
}

// Drops a trailing comment: '#' at the start or after whitespace, unless it
// introduces a uid ("#1000").
std::string_view StripSudoersComment(std::string_view line) {
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] != '#') continue;
    if (i > 0 && !IsAsciiSpace(line[i - 1])) {
      continue;
    }
    if (i + 1 < line.size() && IsAsciiDigit(line[i + 1])) {
      continue;
    }
    return line.substr(0, i);
  }
  return line;
}

bool IsSudoTag(std::string_view word) {
  static const auto* const kTags = new std::set<std::string_view>{
      "NOPASSWD",   "PASSWD",       "NOEXEC",    "EXEC",
      "SETENV",     "NOSETENV",     "LOG_INPUT", "NOLOG_INPUT",
      "LOG_OUTPUT", "NOLOG_OUTPUT", "MAIL",      "NOMAIL",
      "FOLLOW",     "NOFOLLOW",     "INTERCEPT", "NOINTERCEPT"};
  return kTags->count(word) > 0;
}

// Strips a leading "(runas)" and tags ("NOPASSWD:") from one command entry.
std::string_view StripRunasAndTags(std::string_view entry, std::string* runas,
                                   bool* nopasswd) {
  entry = Trim(entry);
  if (!entry.empty() && entry[0] == '(') {
    size_t close = entry.find(')');
    if (close == std::string_view::npos) return "";
    if (runas->empty()) {
      *runas = std::string(Trim(entry.substr(1, close - 1)));
    }
    entry = Trim(entry.substr(close + 1));
  }
  while (true) {
    size_t colon = entry.find(':');
    if (colon == std::string_view::npos) break;
    std::string_view word = Trim(entry.substr(0, colon));
    if (!IsSudoTag(word)) break;
    if (word == "NOPASSWD") *nopasswd = true;
    entry = Trim(entry.substr(colon + 1));
  }
  return entry;
}

bool IsIncludeDirective(std::string_view line) {
  for (std::string_view directive :
       {"#include", "#includedir", "@include", "@includedir"}) {
    if (StartsWith(line, directive) && line.size() > directive.size() &&
        IsAsciiSpace(line[directive.size()])) {
      return true;
    }
  }
  return false;
}

bool IsAliasOrDefaults(std::string_view first_word) {
  return StartsWith(first_word, "Defaults") || first_word == "User_Alias" ||
         first_word == "Runas_Alias" || first_word == "Host_Alias" ||
         first_word == "Cmnd_Alias" || first_word == "Cmd_Alias";
}

void ParseUserSpec(std::string_view line, SudoersFile* out) {
  size_t equals = line.find('=');
  if (equals == std::string_view::npos) return;
  // "alice, %ops  ALL" -> users "alice,%ops", hosts "ALL".
  std::string left;
  for (std::string_view part : Split(line.substr(0, equals), ',')) {
    if (!left.empty()) left.push_back(',');
    left.append(Trim(part));
  }
  std::vector<std::string_view> words = SplitAny(left, " \t");
  if (words.size() != 2) return;  // not a user specification we understand

  v1::SudoRule rule;
  rule.set_hosts(std::string(words[1]));
  std::string runas;
  bool nopasswd = false;
  for (std::string_view entry : Split(line.substr(equals + 1), ',')) {
    std::string_view command = StripRunasAndTags(entry, &runas, &nopasswd);
    if (command.empty()) continue;
    rule.add_commands(std::string(command));
    if (command == "ALL") rule.set_all_commands(true);
  }
  if (rule.commands_size() == 0) return;
  rule.set_runas(runas);
  rule.set_nopasswd(nopasswd);
  for (std::string_view principal : Split(words[0], ',')) {
    if (principal.empty()) continue;
    v1::SudoRule copy = rule;
    copy.set_principal(std::string(principal));
    copy.set_is_group(StartsWith(principal, "%"));
    out->rules.push_back(std::move(copy));
  }
}

// A sudoers.d entry sudo itself reads: no '.' and no trailing '~'.
bool SudoReadsIncludedFile(std::string_view name) {
  return !name.empty() && name.find('.') == std::string_view::npos &&
         name.back() != '~';
}

}  // namespace

std::vector<PasswdEntry> ParsePasswd(std::string_view text) {
  std::vector<PasswdEntry> entries;
  for (std::string_view line : SplitLines(text)) {
    if (IsCommentOrBlank(line) || line[0] == '+' || line[0] == '-') continue;
    std::vector<std::string_view> f = Split(line, ':');
    if (f.size() != 7 || f[0].empty()) continue;
    PasswdEntry entry;
    std::optional<uint32_t> uid = ParseDecimal<uint32_t>(f[2]);
    std::optional<uint32_t> gid = ParseDecimal<uint32_t>(f[3]);
    if (!uid || !gid) continue;
    entry.uid = *uid;
    entry.gid = *gid;
    entry.name = std::string(f[0]);
    entry.password = std::string(f[1]);
    entry.home = std::string(f[5]);
    entry.shell = std::string(f[6]);
    entries.push_back(std::move(entry));
  }
  return entries;
}

std::vector<ShadowEntry> ParseShadow(std::string_view text) {
  std::vector<ShadowEntry> entries;
  for (std::string_view line : SplitLines(text)) {
    if (IsCommentOrBlank(line) || line[0] == '+' || line[0] == '-') continue;
    std::vector<std::string_view> f = Split(line, ':');
    if (f.size() < 2 || f[0].empty()) continue;
    ShadowEntry entry;
    entry.name = std::string(f[0]);
    entry.password = std::string(f[1]);
    if (f.size() > 2) entry.last_change_days = NonNegative(f[2]);
    if (f.size() > 4) entry.max_age_days = NonNegative(f[4]);
    if (f.size() > 7) entry.expire_days = NonNegative(f[7]);
    entries.push_back(std::move(entry));
  }
  return entries;
}

std::vector<GroupEntry> ParseGroup(std::string_view text) {
  std::vector<GroupEntry> entries;
  for (std::string_view line : SplitLines(text)) {
    if (IsCommentOrBlank(line) || line[0] == '+' || line[0] == '-') continue;
    std::vector<std::string_view> f = Split(line, ':');
    if (f.size() != 4 || f[0].empty()) continue;
    GroupEntry entry;
    std::optional<uint32_t> gid = ParseDecimal<uint32_t>(f[2]);
    if (!gid) continue;
    entry.gid = *gid;
    entry.name = std::string(f[0]);
    for (std::string_view member : Split(f[3], ',')) {
      member = Trim(member);
      if (!member.empty()) entry.members.emplace_back(member);
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

SudoersFile ParseSudoers(std::string_view text) {
  SudoersFile out;
  for (const std::string& logical : LogicalLines(text)) {
    std::string_view line = Trim(logical);
    if (line.empty()) continue;
    if (IsIncludeDirective(line)) {
      out.includes.emplace_back(line);
      continue;
    }
    line = Trim(StripSudoersComment(line));
    if (line.empty()) continue;
    std::string_view first_word = line.substr(0, line.find_first_of(" \t"));
    if (IsAliasOrDefaults(first_word)) continue;
    ParseUserSpec(line, &out);
  }
  return out;
}

PasswordInfo ClassifyPassword(std::string_view field) {
  PasswordInfo info;
  if (field.empty()) {
    info.state = v1::PASSWORD_STATE_EMPTY;
    return info;
  }
  if (field[0] == '!') {
    info.state = v1::PASSWORD_STATE_LOCKED;
    size_t hash_start = field.find_first_not_of('!');
    if (hash_start != std::string_view::npos) {
      info.algorithm = AlgorithmOf(field.substr(hash_start));
    }
    return info;
  }
  info.algorithm = AlgorithmOf(field);
  info.state = info.algorithm == v1::HASH_ALGORITHM_UNSPECIFIED
                   ? v1::PASSWORD_STATE_NONE
                   : v1::PASSWORD_STATE_SET;
  return info;
}

bool IsInteractiveShell(std::string_view shell) {
  shell = Trim(shell);
  if (shell.empty()) return true;
  std::string_view base = shell.substr(shell.rfind('/') + 1);
  return !(base == "nologin" || base == "false" || base == "true" ||
           base == "sync" || base == "shutdown" || base == "halt");
}

std::optional<int64_t> ParseLastlogRecord(std::string_view record) {
  if (record.size() < kLastlogRecordBytes) return std::nullopt;
  int32_t time = 0;
  std::memcpy(&time, record.data(), sizeof(time));  // host byte order
  if (time <= 0) return std::nullopt;
  return static_cast<int64_t>(time);
}

absl::StatusOr<v1::Facts> LocalAccountsProbe::Collect(
    const fs::path& root) const {
  absl::StatusOr<std::string> passwd_text =
      ReadRootedFile(root, "etc/passwd", kMaxAccountFileBytes);
  if (!passwd_text.ok()) return passwd_text.status();
  std::vector<PasswdEntry> passwd = ParsePasswd(*passwd_text);

  v1::Facts facts;
  v1::LocalAccountsFacts* out = facts.mutable_local_accounts();

  std::map<std::string, ShadowEntry> shadow;
  absl::StatusOr<std::string> shadow_text =
      ReadRootedFile(root, "etc/shadow", kMaxAccountFileBytes);
  if (shadow_text.ok()) {
    out->set_shadow_readable(true);
    for (ShadowEntry& entry : ParseShadow(*shadow_text)) {
      shadow.emplace(entry.name, std::move(entry));  // first entry wins
    }
  }

  std::vector<GroupEntry> groups;
  absl::StatusOr<std::string> group_text =
      ReadRootedFile(root, "etc/group", kMaxAccountFileBytes);
  if (group_text.ok()) {
    groups = ParseGroup(*group_text);
  } else if (!absl::IsNotFound(group_text.status())) {
    return group_text.status();
  }

  const bool lastlog_present = RootedExists(root, "var/log/lastlog");
  out->set_lastlog_present(lastlog_present);

  std::vector<v1::Account> accounts;
  size_t lastlog_lookups = 0;
  for (const PasswdEntry& entry : passwd) {
    v1::Account account;
    account.set_name(entry.name);
    account.set_uid(entry.uid);
    account.set_gid(entry.gid);
    account.set_home(entry.home);
    account.set_shell(entry.shell);
    account.set_interactive(IsInteractiveShell(entry.shell));
    PasswordInfo password;
    if (entry.password == "x") {
      auto it = shadow.find(entry.name);
      if (it != shadow.end()) {
        password = ClassifyPassword(it->second.password);
        const ShadowEntry& s = it->second;
        if (s.last_change_days) {
          account.set_password_last_change_days(*s.last_change_days);
        }
        if (s.max_age_days) account.set_password_max_age_days(*s.max_age_days);
        if (s.expire_days) account.set_account_expire_days(*s.expire_days);
      }
    } else {
      password = ClassifyPassword(entry.password);
    }
    account.set_password_state(password.state);
    account.set_hash_algorithm(password.algorithm);
    if (lastlog_present && ++lastlog_lookups <= kMaxLastlogLookups) {
      absl::StatusOr<std::string> record = ReadRootedPrefix(
          root, "var/log/lastlog", kLastlogRecordBytes,
          static_cast<uint64_t>(entry.uid) * kLastlogRecordBytes);
      if (record.ok()) {
        std::optional<int64_t> last = ParseLastlogRecord(*record);
        if (last) account.set_last_login_unix(*last);
      }
    }
    if (entry.uid == 0 && entry.name != "root") {
      out->add_uid0_non_root(entry.name);
    }
    accounts.push_back(std::move(account));
  }
  std::sort(accounts.begin(), accounts.end(),
            [](const v1::Account& a, const v1::Account& b) {
              return std::make_tuple(a.uid(), a.name(), a.home(), a.shell()) <
                     std::make_tuple(b.uid(), b.name(), b.home(), b.shell());
            });
  for (v1::Account& account : accounts)
    *out->add_accounts() = std::move(account);
  std::sort(out->mutable_uid0_non_root()->begin(),
            out->mutable_uid0_non_root()->end());

  for (std::string_view name : kPrivilegedGroups) {
    auto group =
        std::find_if(groups.begin(), groups.end(),
                     [&](const GroupEntry& g) { return g.name == name; });
    if (group == groups.end()) continue;
    std::set<std::string> members(group->members.begin(), group->members.end());
    for (const PasswdEntry& entry : passwd) {
      if (entry.gid == group->gid) members.insert(entry.name);
    }
    v1::PrivilegedGroup* privileged = out->add_privileged_groups();
    privileged->set_name(group->name);
    privileged->set_gid(group->gid);
    for (const std::string& member : members) privileged->add_members(member);
  }

  // /etc/sudoers, then the files of /etc/sudoers.d that sudo would read.
  std::vector<std::string> sudoers_files = {"/etc/sudoers"};
  for (const std::string& name :
       ListRootedDir(root, "etc/sudoers.d", kMaxSudoersFiles)) {
    if (SudoReadsIncludedFile(name)) {
      sudoers_files.push_back(Cat("/etc/sudoers.d/", name));
    }
  }
  for (const std::string& file : sudoers_files) {
    absl::StatusOr<std::string> text =
        ReadRootedFile(root, file, kMaxConfigFileBytes);
    if (!text.ok()) continue;  // unreadable sudoers: reported by the flag
    if (file == "/etc/sudoers") out->set_sudoers_readable(true);
    SudoersFile parsed = ParseSudoers(*text);
    for (v1::SudoRule& rule : parsed.rules) {
      rule.set_file(file);
      *out->add_sudo_rules() = std::move(rule);
    }
    for (std::string& include : parsed.includes) {
      out->add_sudoers_includes(std::move(include));
    }
  }
  MakeStringsValidUtf8(&facts);
  return facts;
}

}  // namespace evidentia::agent
