// linux.password_policy: the password and lockout policy the host enforces:
// /etc/login.defs, the PAM stacks of login, passwd and sshd as PAM assembles
// them (following @include, include and substack), and the settings of
// pam_pwquality/pam_cracklib, pam_unix, pam_faillock and pam_tally2 in
// those stacks. Settings of a module that no stack includes are reported
// as not in effect. Facts: PasswordPolicyFacts.
#ifndef EVIDENTIA_AGENT_LINUX_PROBES_PASSWORD_POLICY_PROBE_H_
#define EVIDENTIA_AGENT_LINUX_PROBES_PASSWORD_POLICY_PROBE_H_

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/probe.h"
#include "evidentia/v1/facts.pb.h"
#include "evidentia/v1/facts/password_policy.pb.h"

namespace evidentia::agent {

// One line of a PAM service file (/etc/pam.d/NAME).
struct PamLine {
  enum class Kind {
    kModule,     // "TYPE CONTROL MODULE ARGS..."
    kInclude,    // "TYPE include FILE": FILE's lines of TYPE
    kSubstack,   // "TYPE substack FILE": likewise, as a sub-stack
    kIncludeAll  // "@include FILE": all of FILE's lines
  };
  Kind kind = Kind::kModule;
  std::string type;     // auth, account, password, session ("" for @include)
  std::string control;  // as written, brackets kept
  std::string module;   // module path, or the included file for includes
  std::vector<std::string> arguments;
  bool skip_if_missing = false;  // type written with a leading '-'
};

// Settings of a "name = value" file (pwquality.conf, faillock.conf), in
// file order; a bare "name" has an empty value.
using ConfigSettings = std::vector<std::pair<std::string, std::string>>;

// KEY VALUE pairs of /etc/login.defs; comments and blank lines skipped,
// values unquoted, a later line overriding an earlier one (as shadow's
// getdef does). Keys are case-sensitive.
std::map<std::string, std::string> ParseLoginDefs(std::string_view text);

// The lines of one PAM service file in order; comments ('#' to end of line),
// backslash continuations and lines PAM would reject (fewer than three
// fields, unterminated '[') are dropped. Arguments in brackets
// ("[a b]") stay one argument.
std::vector<PamLine> ParsePamFile(std::string_view text);

// pwquality.conf (libpwquality's format: '#' comments anywhere, "name =
// value" or "name", whitespace around '=' ignored). Names lower-cased.
ConfigSettings ParsePwqualityConf(std::string_view text);

// faillock.conf: the same format as pwquality.conf.
ConfigSettings ParseFaillockConf(std::string_view text);

// Reads a file below the root by its absolute path ("/etc/pam.d/login").
using RootedReader =
    std::function<absl::StatusOr<std::string>(const std::string& path)>;

// Maximum nesting of includes followed from a service file.
inline constexpr int kMaxPamIncludeDepth = 8;

// Maximum number of files read while assembling one service's stacks (the
// service file and every include followed, counted each time it is
// followed): bounds the work of include trees that fan out.
inline constexpr int kMaxPamFilesPerService = 128;

// The auth, account and password stacks of `service`, starting at
// /etc/pam.d/SERVICE (or /etc/pam.d/other when that is missing), with
// includes and substacks followed up to kMaxPamIncludeDepth and
// kMaxPamFilesPerService files; loops, missing and unreadable files and
// those limits are noted in `problems`, never fatal.
v1::PamService BuildPamService(std::string_view service,
                               const RootedReader& read);

class PasswordPolicyProbe : public Probe {
 public:
  std::string_view id() const override { return "linux.password_policy"; }

  // Reads root/etc/login.defs, root/etc/pam.d/{login,passwd,sshd} and what
  // they include (and other), root/etc/security/pwquality.conf(.d),
  // faillock.conf (or a pam_faillock conf= file). All optional: a missing
  // file is a fact. Never fails.
  absl::StatusOr<v1::Facts> Collect(
      const std::filesystem::path& root) const override;
};

}  // namespace evidentia::agent

#endif  // EVIDENTIA_AGENT_LINUX_PROBES_PASSWORD_POLICY_PROBE_H_
