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
// Sudo rules across all sudoers files; more is no real policy, and rules
// past a cap cannot be dropped honestly, so more is an error.
constexpr size_t kMaxSudoRules = 65536;
// Alias expansion work across all rules (ExpandedPrincipal::work).
constexpr size_t kMaxSudoExpansionWork = 1 << 20;

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

// "User_Alias NAME = a, b : NAME2 = c" -> aliases.
void ParseUserAliasLine(std::string_view definitions, UserAliases* aliases) {
  for (std::string_view definition : Split(definitions, ':')) {
    size_t equals = definition.find('=');
    if (equals == std::string_view::npos) continue;
    std::string_view name = Trim(definition.substr(0, equals));
    if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) {
          return (c >= 'A' && c <= 'Z') || IsAsciiDigit(c) || c == '_';
        })) {
      continue;
    }
    std::vector<std::string> members;
    for (std::string_view member : Split(definition.substr(equals + 1), ',')) {
      // "! bob" and "!bob" are the same negation.
      std::string text;
      for (char c : Trim(member)) {
        if (!(IsAsciiSpace(c) && !text.empty() && text.back() == '!')) {
          text.push_back(c);
        }
      }
      if (!text.empty()) members.push_back(std::move(text));
    }
    (*aliases)[std::string(name)] = std::move(members);
  }
}

// "!!!bob" -> ("bob", negated).
std::pair<std::string_view, bool> StripNegations(std::string_view member) {
  bool negated = false;
  while (!member.empty() && member[0] == '!') {
    negated = !negated;
    member.remove_prefix(1);
  }
  return {member, negated};
}

// Name -> included (true) or excluded (false) after the last entry naming it.
using AliasState = std::map<std::string, bool>;

// Expands User_Alias entries into the names they stand for.
struct AliasExpander {
  const UserAliases& aliases;
  size_t max_work;
  std::map<std::string, AliasState> memo;  // per expansion: exact, since only
                                           // each name's last entry counts
  std::vector<std::string> chain;          // aliases being expanded
  size_t work = 0;  // members visited and copied; past max_work: incomplete

  bool OverBudget() const { return work > max_work; }

  // Whether `name` is expanded here rather than kept as a name.
  bool Expands(const std::string& name) const {
    return aliases.count(name) > 0 &&
           static_cast<int>(chain.size()) < kMaxUserAliasDepth &&
           std::find(chain.begin(), chain.end(), name) == chain.end();
  }

  const AliasState& Expand(const std::string& alias) {
    auto cached = memo.find(alias);
    if (cached != memo.end()) return cached->second;
    AliasState state;
    chain.push_back(alias);
    for (const std::string& entry : aliases.at(alias)) {
      if (++work > max_work) break;
      auto [member, negated] = StripNegations(entry);
      if (member.empty()) continue;
      std::string name(member);
      if (Expands(name)) {
        for (const auto& [inner, included] : Expand(name)) {
          if (++work > max_work) break;  // copies are work too
          state[inner] = negated ? !included : included;
        }
      } else {
        state[name] = !negated;
      }
    }
    chain.pop_back();
    return memo[alias] = std::move(state);
  }
};

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

constexpr int64_t kSecondsPerDay = 86400;
// chage -l reports "never" for a maximum age of this many days or more.
constexpr int64_t kNeverExpiresDays = 10000;
// Days past which a shadow date is garbage (year 2.7 million): no unix
// seconds are derived from it, so the products cannot overflow.
constexpr int64_t kMaxShadowDay = 1'000'000'000;

// The ageing facts `chage -l` derives from a shadow entry.
void SetPasswordAgeing(const ShadowEntry& shadow, v1::Account* account) {
  if (shadow.last_change_days && *shadow.last_change_days == 0) {
    account->set_password_change_required(true);
    return;
  }
  if (shadow.last_change_days && *shadow.last_change_days > kMaxShadowDay) {
    account->set_password_never_expires(true);
    return;
  }
  if (shadow.last_change_days) {
    account->set_password_last_change_unix(*shadow.last_change_days *
                                           kSecondsPerDay);
  }
  if (!shadow.last_change_days || !shadow.max_age_days ||
      *shadow.max_age_days >= kNeverExpiresDays) {
    account->set_password_never_expires(true);
    return;
  }
  account->set_password_expires_unix(
      (*shadow.last_change_days + *shadow.max_age_days) * kSecondsPerDay);
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
  for (const std::string& logical : JoinContinuedLines(text)) {
    std::string_view line = Trim(logical);
    if (line.empty()) continue;
    if (IsIncludeDirective(line)) {
      out.includes.emplace_back(line);
      continue;
    }
    line = Trim(StripSudoersComment(line));
    if (line.empty()) continue;
    std::string_view first_word = line.substr(0, line.find_first_of(" \t"));
    if (first_word == "User_Alias") {
      ParseUserAliasLine(line.substr(first_word.size()), &out.user_aliases);
      continue;
    }
    if (IsAliasOrDefaults(first_word)) continue;
    ParseUserSpec(line, &out);
  }
  return out;
}

ExpandedPrincipal ExpandUserAlias(const UserAliases& aliases,
                                  std::string_view principal, size_t max_work) {
  auto [member, negated] = StripNegations(principal);
  AliasState state;
  std::string name(member);
  AliasExpander expander{aliases, max_work, {}, {}, 0};
  if (!name.empty() && expander.Expands(name)) {
    // No bound needed here: the expansion holds at most max_work names.
    for (const auto& [inner, included] : expander.Expand(name)) {
      state[inner] = negated ? !included : included;
    }
    // Incomplete: the alias may stand for more than was found.
    if (expander.OverBudget()) state[name] = !negated;
  } else if (!name.empty()) {
    ++expander.work;
    state[name] = !negated;
  }
  ExpandedPrincipal out;
  out.work = expander.work;
  for (const auto& [inner, included] : state) {
    (included ? out.members : out.excluded).push_back(inner);
  }
  return out;
}

UidRange ParseUidRange(std::string_view login_defs) {
  UidRange range;
  for (std::string_view line : SplitLines(login_defs)) {
    std::vector<std::string_view> words = Words(line);
    if (words.size() < 2) continue;
    std::optional<uint32_t> value = ParseDecimal<uint32_t>(words[1]);
    if (!value) continue;
    if (words[0] == "UID_MIN") range.min = *value;
    if (words[0] == "UID_MAX") range.max = *value;
  }
  return range;
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

  UidRange uid_range;
  absl::StatusOr<std::string> login_defs =
      ReadRootedFile(root, "etc/login.defs", kMaxConfigFileBytes);
  if (login_defs.ok()) uid_range = ParseUidRange(*login_defs);
  out->set_uid_min(uid_range.min);
  out->set_uid_max(uid_range.max);

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
        SetPasswordAgeing(s, &account);
      } else {
        account.set_password_never_expires(true);  // chage: no last change
      }
    } else {
      password = ClassifyPassword(entry.password);
      account.set_password_never_expires(true);
    }
    account.set_system_account(entry.uid != 0 && (entry.uid < uid_range.min ||
                                                  entry.uid > uid_range.max));

    account.set_password_state(password.state);
    account.set_hash_algorithm(password.algorithm);
    if (lastlog_present && ++lastlog_lookups <= kMaxLastlogLookups) {
      absl::StatusOr<std::string> record = ReadRootedPrefix(
          root, "var/log/lastlog", kLastlogRecordBytes,
          static_cast<uint64_t>(entry.uid) * kLastlogRecordBytes);
      std::optional<int64_t> last;
      if (record.ok()) last = ParseLastlogRecord(*record);
      if (last) {
        account.set_last_login_unix(*last);
        account.set_last_login_state(v1::LAST_LOGIN_STATE_RECORDED);
      } else if (record.ok()) {
        account.set_last_login_state(v1::LAST_LOGIN_STATE_NEVER);
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

  std::map<uint32_t, std::set<std::string>> names_by_uid;
  for (const PasswdEntry& entry : passwd) {
    if (entry.uid != 0) names_by_uid[entry.uid].insert(entry.name);
  }
  for (const auto& [uid, names] : names_by_uid) {
    if (names.size() < 2) continue;
    v1::DuplicateUid* duplicate = out->add_duplicate_uids();
    duplicate->set_uid(uid);
    for (const std::string& name : names) duplicate->add_names(name);
  }

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
  // Aliases are global to the sudoers policy: gather them from every file
  // before expanding the rules' principals.
  UserAliases aliases;
  for (const std::string& file : sudoers_files) {
    absl::StatusOr<std::string> text =
        ReadRootedFile(root, file, kMaxConfigFileBytes);
    if (!text.ok()) continue;  // unreadable sudoers: reported by the flag
    if (file == "/etc/sudoers") out->set_sudoers_readable(true);
    SudoersFile parsed = ParseSudoers(*text);
    if (parsed.rules.size() >
        kMaxSudoRules - static_cast<size_t>(out->sudo_rules_size())) {
      // Dropping rules could hide a grant to someone unapproved.
      return absl::ResourceExhaustedError(Cat(
          "sudoers holds more than ", kMaxSudoRules, " rules (at ", file, ")"));
    }
    for (v1::SudoRule& rule : parsed.rules) {
      rule.set_file(file);
      *out->add_sudo_rules() = std::move(rule);
    }
    for (std::string& include : parsed.includes) {
      out->add_sudoers_includes(std::move(include));
    }
    for (auto& [name, members] : parsed.user_aliases) {
      aliases[name] = std::move(members);
    }
  }
  // One budget for all rules' expansions: past it each rule's principal is
  // kept as its name (ExpandUserAlias with no work left).
  size_t work_left = kMaxSudoExpansionWork;
  for (v1::SudoRule& rule : *out->mutable_sudo_rules()) {
    ExpandedPrincipal expanded = ExpandUserAlias(
        aliases, rule.principal(), std::min(work_left, kMaxUserAliasWork));
    work_left -= std::min(work_left, expanded.work);
    for (std::string& member : expanded.members) {
      rule.add_expanded_principals(std::move(member));
    }
    for (std::string& member : expanded.excluded) {
      rule.add_excluded_principals(std::move(member));
    }
  }
  MakeStringsValidUtf8(&facts);
  return facts;
}

}  // namespace evidentia::agent
