// linux.ssh_server: whether the OpenSSH server is installed (dpkg or
// /usr/sbin/sshd) and running, and the settings it applies, read the way
// sshd reads /etc/ssh/sshd_config: Include globs, the first value of a
// keyword wins, Match blocks apart from the global settings, and the
// installed version's defaults for what is not set. Facts: SshServerFacts.
// The parsers are pure functions; thread-compatible.
#ifndef EVIDENTIA_AGENT_LINUX_PROBES_SSH_SERVER_PROBE_H_
#define EVIDENTIA_AGENT_LINUX_PROBES_SSH_SERVER_PROBE_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/probe.h"
#include "evidentia/v1/facts.pb.h"
#include "evidentia/v1/facts/ssh_server.pb.h"

namespace evidentia::agent {

// One directive line of an sshd_config file, split as sshd splits it.
struct SshdConfigLine {
  int line = 0;                   // 1-based line number
  std::string keyword;            // lowercase
  std::vector<std::string> args;  // quotes and escapes removed
  std::string error;  // non-empty: sshd refuses the line (bad quotes, no
                      // argument); keyword may be set, args are not
};

// The directive lines of one sshd_config file in file order: comments and
// blank lines skipped; "Keyword value", "Keyword=value" and
// "Keyword = value"; arguments split on blanks with "..." and '...' quoting
// and \" \' \\ escapes; a word starting with '#' ends the line.
std::vector<SshdConfigLine> ParseSshdConfig(std::string_view text);

// One directive of the effective configuration.
struct SshdDirective {
  std::string keyword;            // lowercase
  std::vector<std::string> args;  // as parsed
  std::string origin;             // "/etc/ssh/sshd_config:12"
  // Index into SshdConfig::match_blocks, or kGlobalScope outside any Match
  // block.
  int scope = -1;
};
inline constexpr int kGlobalScope = -1;

// A Match block.
struct SshdMatch {
  std::string criteria;  // as written (joined with the enclosing block's)
  std::string origin;    // file:line of the Match line
};

// A whole configuration with its includes, flattened in the order sshd
// reads it.
struct SshdConfig {
  std::vector<SshdDirective> directives;
  std::vector<SshdMatch> match_blocks;
  std::vector<std::string> files;   // files read, each once, in read order
  std::vector<std::string> errors;  // "FILE:LINE: what", in read order
  // Errors beyond kMaxSshdConfigErrors, counted but not listed.
  size_t errors_not_listed = 0;
};

// How EvaluateSshdConfig reaches files: `read` returns a file's text by
// absolute path (NOT_FOUND, PERMISSION_DENIED, FAILED_PRECONDITION for a
// directory ...); `glob` returns the absolute paths matching a glob(3)
// pattern, sorted (empty for none).
struct SshdConfigSource {
  std::function<absl::StatusOr<std::string>(const std::string& path)> read;
  std::function<std::vector<std::string>(const std::string& pattern)> glob;
};

// Include nesting sshd allows (SERVCONF_MAX_DEPTH); deeper is an error.
inline constexpr int kMaxSshdIncludeDepth = 16;
// Distinct files read at most (sshd has no limit; a bound against include
// bombs). Parses of included files (1024) and bytes parsed (16 MiB, counting
// re-included files again) are bounded too.
inline constexpr size_t kMaxSshdConfigFiles = 256;
// Errors listed (in SshdConfig::errors and in the facts' config_errors);
// beyond, they are counted in one last "N more errors" entry.
inline constexpr size_t kMaxSshdConfigErrors = 256;
// Match blocks read at most; one more is an error and ends the reading
// (what is not read is not evidenced).
inline constexpr size_t kMaxSshdMatchBlocks = 1024;
// A Match block's criteria (with its enclosing block's) are cut to this
// length, ending in "...".
inline constexpr size_t kMaxSshdMatchCriteriaBytes = 1024;
// Include patterns globbed at most; one more is an error and ends the
// reading.
inline constexpr size_t kMaxSshdIncludePatterns = 1024;

// Reads `main_path` (which must be readable: the caller checks) and every
// file it includes, as sshd does: relative Include paths are below
// /etc/ssh; a Match block ends at the next Match or the end of its file;
// "Match all" returns to the enclosing scope; files included from inside a
// Match block belong to it (a Match there adds its criteria to the
// block's). Never fails: problems land in `errors`, and reading stops at the
// first bound exceeded (include depth, file, parse or byte counts).
SshdConfig EvaluateSshdConfig(const std::string& main_path,
                              const SshdConfigSource& source);

// The first directive with `keyword` (lowercase) in `scope`, or nullptr.
const SshdDirective* FirstInScope(const SshdConfig& config,
                                  std::string_view keyword, int scope);

// Algorithm lists of one OpenSSH version (comma-separated).
struct SshdVersionDefaults {
  std::string_view version;      // "9.2"
  std::string_view ciphers;      // defaults (KEX_SERVER_ENCRYPT)
  std::string_view macs;         // KEX_SERVER_MAC
  std::string_view kex;          // KEX_SERVER_KEX
  std::string_view all_ciphers;  // every supported name (ssh -Q cipher)
  std::string_view all_macs;     // ssh -Q mac
  std::string_view all_kex;      // ssh -Q kex
  // Before 8.7 ChallengeResponseAuthentication (default yes) and
  // KbdInteractiveAuthentication (default no) were separate and either
  // enabled keyboard-interactive; since, the first is an alias.
  bool separate_challenge_response = false;
};

// The defaults table for an upstream version "X.Y": the newest known
// version not above it, or the oldest known when it is older or unparsable.
const SshdVersionDefaults& DefaultsForVersion(std::string_view version);

// "9.2" from a dpkg version ("1:9.2p1-2+deb12u10") or an sshd banner
// ("OpenSSH_9.2p1 Debian-2"); nullopt when there is no "X.Y".
std::optional<std::string> OpenSshUpstreamVersion(std::string_view text);

// What sshd offers for an algorithm list configured as `configured` (as
// written, may start with '+', '-' or '^'; empty: the default), given the
// version's `defaults` and `supported` names (comma-separated), as OpenSSH's
// kex_assemble_names does: '+' appends to the defaults, '-' removes the
// names matching its patterns ('*', '?'), '^' prepends; names are kept in
// order without duplicates; unsupported names are dropped.
// INVALID_ARGUMENT when sshd would refuse it: an unknown name (outside a
// '-' list), a negated pattern, or an empty result.
absl::StatusOr<std::vector<std::string>> ResolveAlgorithmList(
    std::string_view configured, std::string_view defaults,
    std::string_view supported);

// Whether `name` matches the sshd pattern-list `patterns` (comma-separated,
// '*' and '?' wildcards, '!' negates): 1 match, -1 negated match, 0 none.
int MatchPatternList(std::string_view name, std::string_view patterns);

// A weak algorithm: its weakness and why; nullopt for one not on the list.
struct AlgorithmWeakness {
  v1::SshAlgorithmWeakness weakness = v1::SSH_ALGORITHM_WEAKNESS_UNSPECIFIED;
  std::string_view why;
};
std::optional<AlgorithmWeakness> ClassifyAlgorithm(v1::SshAlgorithmKind kind,
                                                   std::string_view name);

// One OpenSSH public key line ("ssh-ed25519 AAAA... comment").
struct SshPublicKey {
  v1::SshHostKeyType type = v1::SSH_HOST_KEY_TYPE_UNSPECIFIED;
  std::string algorithm;  // the first word
  uint32_t bits = 0;
};

// The first key line of a .pub file (comments and blank lines skipped),
// decoded: the blob's type must match the first word. INVALID_ARGUMENT
// when there is no key line, the base64 or blob is malformed, or the type
// is unknown.
absl::StatusOr<SshPublicKey> ParseSshPublicKey(std::string_view text);

// The effective settings of `config` over the version's `defaults` into
// `out` (settings, algorithm lists and weak algorithms, Match blocks, and
// errors for invalid values); config_files and config_errors included.
void FillSshdSettings(const SshdConfig& config,
                      const SshdVersionDefaults& defaults,
                      v1::SshServerFacts* out);

class SshServerProbe : public Probe {
 public:
  std::string_view id() const override { return "linux.ssh_server"; }

  // Reads root/var/lib/dpkg/status, root/usr/sbin/sshd (only its banner,
  // when dpkg does not know the version), root/proc, root/etc/ssh/
  // sshd_config with its includes, and the host keys' .pub files. Never
  // fails: a missing or unreadable config is a fact.
  absl::StatusOr<v1::Facts> Collect(
      const std::filesystem::path& root) const override;
};

}  // namespace evidentia::agent

#endif  // EVIDENTIA_AGENT_LINUX_PROBES_SSH_SERVER_PROBE_H_
