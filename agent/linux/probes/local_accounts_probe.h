// linux.local_accounts: local accounts from /etc/passwd and /etc/shadow, who
// holds privilege (uid 0, sudo/wheel/admin groups, sudoers rules) and when
// each account last logged in (/var/log/lastlog). Password hashes never
// leave this file: only their state and algorithm become facts.
// Facts: LocalAccountsFacts.
#ifndef EVIDENTIA_AGENT_LINUX_PROBES_LOCAL_ACCOUNTS_PROBE_H_
#define EVIDENTIA_AGENT_LINUX_PROBES_LOCAL_ACCOUNTS_PROBE_H_

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/probe.h"
#include "evidentia/v1/facts.pb.h"
#include "evidentia/v1/facts/local_accounts.pb.h"

namespace evidentia::agent {

// One line of /etc/passwd.
struct PasswdEntry {
  std::string name;
  std::string password;  // usually "x" (see shadow)
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::string home;
  std::string shell;
};

// One line of /etc/shadow. Numeric fields are absent when empty or invalid.
struct ShadowEntry {
  std::string name;
  std::string password;  // the hash field; never copied into facts
  std::optional<int64_t> last_change_days;
  std::optional<int64_t> max_age_days;
  std::optional<int64_t> expire_days;
};

// One line of /etc/group.
struct GroupEntry {
  std::string name;
  uint32_t gid = 0;
  std::vector<std::string> members;
};

// User_Alias definitions: alias name -> members as written ("alice",
// "%ops", "!bob", "OTHER_ALIAS"), in definition order.
using UserAliases = std::map<std::string, std::vector<std::string>>;

// What one sudoers file says that this probe reports.
struct SudoersFile {
  std::vector<v1::SudoRule> rules;    // `file` left empty
  std::vector<std::string> includes;  // include directives as written
  UserAliases user_aliases;           // a later definition replaces one
};

// Who a sudoers principal stands for after User_Alias expansion.
struct ExpandedPrincipal {
  std::vector<std::string> members;   // sorted, unique
  std::vector<std::string> excluded;  // negated members, sorted, unique
  size_t work = 0;  // alias members visited and copied to expand it
};

// Nesting of User_Alias definitions that ExpandUserAlias follows.
inline constexpr int kMaxUserAliasDepth = 8;

// Work (alias members visited, expanded members copied) one expansion may
// do by default.
inline constexpr size_t kMaxUserAliasWork = 65536;

// The uid range useradd gives people, from /etc/login.defs.
struct UidRange {
  uint32_t min = 1000;   // UID_MIN
  uint32_t max = 60000;  // UID_MAX
};

// The state and algorithm of a password field.
struct PasswordInfo {
  v1::PasswordState state = v1::PASSWORD_STATE_UNKNOWN;
  v1::HashAlgorithm algorithm = v1::HASH_ALGORITHM_UNSPECIFIED;
};

// Size of one record of /var/log/lastlog (struct lastlog on Linux: int32
// ll_time, char ll_line[32], char ll_host[256]); record N is uid N's.
inline constexpr size_t kLastlogRecordBytes = 4 + 32 + 256;

// Lines of /etc/passwd with 7 fields, a name and numeric uid/gid; NIS
// "+"/"-" lines, comments and malformed lines are skipped. File order.
std::vector<PasswdEntry> ParsePasswd(std::string_view text);

// Lines of /etc/shadow with a name and at least 2 fields. File order.
std::vector<ShadowEntry> ParseShadow(std::string_view text);

// Lines of /etc/group with a name and numeric gid. File order.
std::vector<GroupEntry> ParseGroup(std::string_view text);

// User specifications (one rule per principal), include directives and
// User_Alias definitions of one sudoers file. Defaults lines and other alias
// definitions are skipped, backslash line continuations joined, comments
// dropped.
SudoersFile ParseSudoers(std::string_view text);

// The members `principal` stands for: an alias's members with nested aliases
// expanded (at most kMaxUserAliasDepth levels; an alias met again inside
// itself, or deeper, is kept as its name; each alias expanded once per call),
// negations ("!bob") applied in order as sudo does (a later entry wins) and
// listed in `excluded`. A principal that is no alias stands for itself
// ("!bob" excludes bob). When expanding would take more than `max_work`,
// the expansion is incomplete and `principal` is also kept as its name, so
// that who it stands for is never understated.
ExpandedPrincipal ExpandUserAlias(const UserAliases& aliases,
                                  std::string_view principal,
                                  size_t max_work = kMaxUserAliasWork);

// UID_MIN and UID_MAX of /etc/login.defs text; the defaults (1000, 60000)
// for keys that are missing or not numbers.
UidRange ParseUidRange(std::string_view login_defs);

// Classifies a password field of shadow (or passwd): "" empty, "!..." locked,
// "$id$..." or a 13-character DES hash set, anything else ("*", "x", "!!"
// after the '!') none.
PasswordInfo ClassifyPassword(std::string_view field);

// Whether `shell` allows an interactive login (empty means /bin/sh: yes;
// nologin, false, sync, shutdown, halt: no).
bool IsInteractiveShell(std::string_view shell);

// ll_time of one lastlog record; nullopt if the record is short or records
// no login (time 0).
std::optional<int64_t> ParseLastlogRecord(std::string_view record);

class LocalAccountsProbe : public Probe {
 public:
  std::string_view id() const override { return "linux.local_accounts"; }

  // Reads root/etc/passwd (required: NOT_FOUND or PERMISSION_DENIED when it
  // cannot be read), root/etc/shadow, root/etc/group, root/etc/sudoers,
  // root/etc/sudoers.d/*, root/etc/login.defs and root/var/log/lastlog (all
  // optional).
  absl::StatusOr<v1::Facts> Collect(
      const std::filesystem::path& root) const override;
};

}  // namespace evidentia::agent

#endif  // EVIDENTIA_AGENT_LINUX_PROBES_LOCAL_ACCOUNTS_PROBE_H_
