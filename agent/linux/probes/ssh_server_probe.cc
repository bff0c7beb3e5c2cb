#include "agent/linux/probes/ssh_server_probe.h"

#include <fnmatch.h>

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "agent/linux/sys/dpkg.h"
#include "agent/linux/sys/processes.h"
#include "agent/linux/sys/rooted_fs.h"
#include "agent/linux/sys/text.h"
#include "agent/linux/sys/utf8.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSshDir = "/etc/ssh";
constexpr std::string_view kMainConfig = "/etc/ssh/sshd_config";
// Bytes parsed in all, counting a file each time it is included (an include
// loop re-reads the same file up to kMaxSshdIncludeDepth times).
constexpr size_t kMaxSshdConfigBytes = 16 << 20;
constexpr size_t kMaxSshdDirectives = 1 << 16;
// Files parsed in all, counting a file each time it is included: a file
// including a glob that matches itself twice doubles at every level.
constexpr size_t kMaxSshdFileParses = 1024;
constexpr size_t kMaxGlobMatches = 4096;
// Directories listed by all Include globs of one collection ("/*/*/*" on a
// real host lists thousands; 1024 patterns of it would take minutes).
constexpr size_t kMaxGlobListings = 4096;
constexpr size_t kMaxPublicKeyBytes = 64 << 10;
// The sshd binary is read only for its "OpenSSH_X.Y" banner when dpkg does
// not know the version (about 1 MiB on Debian).
constexpr size_t kMaxSshdBinaryBytes = 16 << 20;

// Default algorithm lists of the OpenSSH versions the supported
// distributions ship (myproposal.h KEX_SERVER_*), and the names each
// supports (ssh -Q cipher|mac|kex, OpenSSL builds). 9.2 is Debian 12's
// current package, which also offers the "sntrup761x25519-sha512" name
// (upstream 9.9) that `sshd -T` prints there.
constexpr std::string_view kMacs =
    "umac-64-etm@openssh.com,umac-128-etm@openssh.com,"
    "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,"
    "hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,"
    "hmac-sha2-256,hmac-sha2-512,hmac-sha1";
constexpr std::string_view kAllCiphers =
    "3des-cbc,aes128-cbc,aes192-cbc,aes256-cbc,aes128-ctr,aes192-ctr,"
    "aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com,"
    "chacha20-poly1305@openssh.com";
constexpr std::string_view kAllMacs =
    "hmac-sha1,hmac-sha1-96,hmac-sha2-256,hmac-sha2-512,hmac-md5,hmac-md5-96,"
    "umac-64@openssh.com,umac-128@openssh.com,hmac-sha1-etm@openssh.com,"
    "hmac-sha1-96-etm@openssh.com,hmac-sha2-256-etm@openssh.com,"
    "hmac-sha2-512-etm@openssh.com,hmac-md5-etm@openssh.com,"
    "hmac-md5-96-etm@openssh.com,umac-64-etm@openssh.com,"
    "umac-128-etm@openssh.com";
constexpr std::string_view kCtrFirstCiphers =
    "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,"
    "aes128-gcm@openssh.com,aes256-gcm@openssh.com";
constexpr std::string_view kEcdhAndDhKex =
    "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,"
    "ecdh-sha2-nistp384,ecdh-sha2-nistp521,"
    "diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,"
    "diffie-hellman-group18-sha512,diffie-hellman-group14-sha256";

// Full lists spelled out (constexpr concatenation of string_views is not
// available in C++17).
const SshdVersionDefaults kVersionDefaults[] = {
    // Debian 11 (bullseye): 1:8.4p1.
    {"8.4", kCtrFirstCiphers, kMacs, kEcdhAndDhKex, kAllCiphers, kAllMacs,
     "diffie-hellman-group1-sha1,diffie-hellman-group14-sha1,"
     "diffie-hellman-group14-sha256,diffie-hellman-group16-sha512,"
     "diffie-hellman-group18-sha512,diffie-hellman-group-exchange-sha1,"
     "diffie-hellman-group-exchange-sha256,ecdh-sha2-nistp256,"
     "ecdh-sha2-nistp384,ecdh-sha2-nistp521,curve25519-sha256,"
     "curve25519-sha256@libssh.org,sntrup4591761x25519-sha512@tinyssh.org",
     /*separate_challenge_response=*/true},
    // Debian 12 (bookworm): 1:9.2p1-2+deb12uN.
    {"9.2", kCtrFirstCiphers, kMacs,
     "sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,"
     "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,"
     "ecdh-sha2-nistp384,ecdh-sha2-nistp521,"
     "diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,"
     "diffie-hellman-group18-sha512,diffie-hellman-group14-sha256",
     kAllCiphers, kAllMacs,
     "diffie-hellman-group1-sha1,diffie-hellman-group14-sha1,"
     "diffie-hellman-group14-sha256,diffie-hellman-group16-sha512,"
     "diffie-hellman-group18-sha512,diffie-hellman-group-exchange-sha1,"
     "diffie-hellman-group-exchange-sha256,ecdh-sha2-nistp256,"
     "ecdh-sha2-nistp384,ecdh-sha2-nistp521,curve25519-sha256,"
     "curve25519-sha256@libssh.org,sntrup761x25519-sha512,"
     "sntrup761x25519-sha512@openssh.com",
     false},
    // Ubuntu 24.04 (noble): 1:9.6p1.
    {"9.6", kCtrFirstCiphers, kMacs,
     "sntrup761x25519-sha512@openssh.com,curve25519-sha256,"
     "curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,"
     "ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,"
     "diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,"
     "diffie-hellman-group14-sha256",
     kAllCiphers, kAllMacs,
     "diffie-hellman-group1-sha1,diffie-hellman-group14-sha1,"
     "diffie-hellman-group14-sha256,diffie-hellman-group16-sha512,"
     "diffie-hellman-group18-sha512,diffie-hellman-group-exchange-sha1,"
     "diffie-hellman-group-exchange-sha256,ecdh-sha2-nistp256,"
     "ecdh-sha2-nistp384,ecdh-sha2-nistp521,curve25519-sha256,"
     "curve25519-sha256@libssh.org,sntrup761x25519-sha512@openssh.com",
     false},
    // Debian 13 (trixie): 1:10.0p1. AES-GCM before AES-CTR; ML-KEM hybrid
    // first; no finite-field Diffie-Hellman in the server's defaults.
    {"10.0",
     "chacha20-poly1305@openssh.com,aes128-gcm@openssh.com,"
     "aes256-gcm@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr",
     kMacs,
     "mlkem768x25519-sha256,sntrup761x25519-sha512,"
     "sntrup761x25519-sha512@openssh.com,curve25519-sha256,"
     "curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,"
     "ecdh-sha2-nistp521",
     kAllCiphers, kAllMacs,
     "diffie-hellman-group1-sha1,diffie-hellman-group14-sha1,"
     "diffie-hellman-group14-sha256,diffie-hellman-group16-sha512,"
     "diffie-hellman-group18-sha512,diffie-hellman-group-exchange-sha1,"
     "diffie-hellman-group-exchange-sha256,ecdh-sha2-nistp256,"
     "ecdh-sha2-nistp384,ecdh-sha2-nistp521,curve25519-sha256,"
     "curve25519-sha256@libssh.org,sntrup761x25519-sha512,"
     "sntrup761x25519-sha512@openssh.com,mlkem768x25519-sha256",
     false},
};

// Scalar defaults (servconf.c fill_default_server_options), the same in
// every version above: PermitRootLogin prohibit-password (since 7.0),
// PasswordAuthentication yes, KbdInteractiveAuthentication yes (8.7+; before
// that ChallengeResponseAuthentication yes and KbdInteractiveAuthentication
// no), PermitEmptyPasswords no, MaxAuthTries 6, X11Forwarding no, UsePAM no.
// Debian's shipped sshd_config sets KbdInteractiveAuthentication no, UsePAM
// yes and X11Forwarding yes: that is configuration, read from the file.
constexpr int kDefaultMaxAuthTries = 6;

// The host keys sshd loads when no HostKey line is given.
constexpr std::string_view kDefaultHostKeys[] = {
    "/etc/ssh/ssh_host_rsa_key", "/etc/ssh/ssh_host_ecdsa_key",
    "/etc/ssh/ssh_host_ed25519_key"};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out.append(sep);
    out.append(parts[i]);
  }
  return out;
}

bool IsConfigBlank(char c) { return c == ' ' || c == '\t'; }

// sshd's argv_split(..., terminate_on_comment=1).
absl::StatusOr<std::vector<std::string>> SplitArguments(std::string_view s) {
  std::vector<std::string> args;
  size_t i = 0;
  while (i < s.size()) {
    if (IsConfigBlank(s[i])) {
      ++i;
      continue;
    }
    if (s[i] == '#') break;
    std::string arg;
    char quote = 0;
    for (; i < s.size(); ++i) {
      char c = s[i];
      if (c == '\\' && i + 1 < s.size() &&
          (s[i + 1] == '\'' || s[i + 1] == '"' || s[i + 1] == '\\' ||
           (quote == 0 && s[i + 1] == ' '))) {
        arg.push_back(s[++i]);
      } else if (quote == 0 && IsConfigBlank(c)) {
        break;
      } else if (quote == 0 && (c == '"' || c == '\'')) {
        quote = c;
      } else if (quote != 0 && c == quote) {
        quote = 0;
      } else {
        arg.push_back(c);
      }
    }
    if (quote != 0) return absl::InvalidArgumentError("invalid quotes");
    args.push_back(std::move(arg));
  }
  return args;
}

// Whether a Match line's criteria are ones sshd accepts.
std::string MatchCriteriaError(const std::vector<std::string>& args) {
  static const auto* const kAttributes = new std::set<std::string>{
      "user",      "group",   "host",   "localaddress",
      "localport", "address", "rdomain"};
  for (size_t i = 0; i < args.size(); ++i) {
    std::string attribute = Lower(args[i]);
    if (attribute == "all") {
      if (args.size() != 1) {
        return "'all' cannot be combined with other Match attributes";
      }
      continue;
    }
    if (kAttributes->count(attribute) == 0) {
      return Cat("Bad Match condition: unsupported attribute \"", args[i],
                 "\"");
    }
    if (i + 1 >= args.size() || args[i + 1].empty()) {
      return Cat("Bad Match condition: missing argument for \"", args[i], "\"");
    }
    ++i;
  }
  return "";
}

class ConfigEvaluator {
 public:
  ConfigEvaluator(const SshdConfigSource& source, SshdConfig* out)
      : source_(source), out_(out) {}

  void Run(const std::string& main_path) {
    absl::StatusOr<std::string> text = Read(main_path);
    if (!text.ok()) {
      out_->errors.push_back(Cat(main_path, ": cannot be read: ",
                                 std::string(text.status().message())));
      return;
    }
    File(main_path, *text, kGlobalScope, 0);
  }

 private:
  absl::StatusOr<std::string> Read(const std::string& path) {
    auto it = cache_.find(path);
    if (it == cache_.end()) {
      if (cache_.size() >= kMaxSshdConfigFiles) {
        return absl::ResourceExhaustedError(
            Cat("more than ", kMaxSshdConfigFiles, " configuration files"));
      }
      it = cache_.emplace(path, source_.read(path)).first;
      if (it->second.ok()) out_->files.push_back(path);
    }
    return it->second;
  }

  void Fail(const std::string& where, std::string_view what) {
    if (out_->errors.size() >= kMaxSshdConfigErrors) {
      ++out_->errors_not_listed;
      return;
    }
    out_->errors.push_back(Cat(where, ": ", what));
  }

  // Parses one file whose lines start in `outer` scope (the scope of the
  // Include line, or global for the main file).
  void File(const std::string& path, std::string_view text, int outer,
            int depth) {
    if (stopped_) return;
    if (++parses_ > kMaxSshdFileParses) {
      Fail(path, Cat("more than ", kMaxSshdFileParses,
                     " included files in all; not read further"));
      stopped_ = true;
      return;
    }
    bytes_ += text.size();
    if (bytes_ > kMaxSshdConfigBytes) {
      Fail(path, Cat("configuration over ", kMaxSshdConfigBytes,
                     " bytes with its includes; not read further"));
      stopped_ = true;
      return;
    }
    int scope = outer;
    for (SshdConfigLine& line : ParseSshdConfig(text)) {
      if (stopped_) return;
      const std::string origin = Cat(path, ":", line.line);
      if (!line.error.empty()) {
        Fail(origin, line.error);
        continue;
      }
      if (line.keyword == "match") {
        std::string error = MatchCriteriaError(line.args);
        if (!error.empty()) Fail(origin, error);
        if (line.args.size() == 1 && Lower(line.args[0]) == "all") {
          scope = outer;
          continue;
        }
        if (out_->match_blocks.size() >= kMaxSshdMatchBlocks) {
          Fail(origin, Cat("more than ", kMaxSshdMatchBlocks,
                           " Match blocks; not read further"));
          stopped_ = true;
          return;
        }
        SshdMatch match;
        match.criteria = Join(line.args, " ");
        if (outer >= 0) {
          match.criteria =
              Cat(out_->match_blocks[static_cast<size_t>(outer)].criteria, " ",
                  match.criteria);
        }
        if (match.criteria.size() > kMaxSshdMatchCriteriaBytes) {
          match.criteria.resize(kMaxSshdMatchCriteriaBytes - 3);
          match.criteria += "...";
        }
        match.origin = origin;
        out_->match_blocks.push_back(std::move(match));
        scope = static_cast<int>(out_->match_blocks.size()) - 1;
        continue;
      }
      if (line.keyword == "include") {
        Include(origin, line.args, scope, depth);
        continue;
      }
      if (out_->directives.size() >= kMaxSshdDirectives) {
        Fail(origin, Cat("more than ", kMaxSshdDirectives,
                         " directives; not read further"));
        stopped_ = true;
        return;
      }
      out_->directives.push_back(
          {line.keyword, std::move(line.args), origin, scope});
    }
  }

  void Include(const std::string& origin, const std::vector<std::string>& args,
               int scope, int depth) {
    for (const std::string& arg : args) {
      if (stopped_) return;
      if (arg.empty()) {
        Fail(origin, "Include with an empty argument");
        continue;
      }
      if (++patterns_ > kMaxSshdIncludePatterns) {
        Fail(origin, Cat("more than ", kMaxSshdIncludePatterns,
                         " Include patterns in all; not read further"));
        stopped_ = true;
        return;
      }
      std::string pattern =
          arg[0] == '/' || arg[0] == '~' ? arg : Cat(kSshDir, "/", arg);
      for (const std::string& match : source_.glob(pattern)) {
        if (stopped_) return;
        if (depth + 1 > kMaxSshdIncludeDepth) {
          Fail(origin, Cat("Too many recursive configuration includes (over ",
                           kMaxSshdIncludeDepth, "): an include loop?"));
          stopped_ = true;
          return;
        }
        absl::StatusOr<std::string> text = Read(match);
        if (!text.ok()) {
          if (absl::IsResourceExhausted(text.status())) stopped_ = true;
          Fail(origin, Cat("included ", match, " cannot be read: ",
                           std::string(text.status().message())));
          continue;
        }
        File(match, *text, scope, depth + 1);
      }
    }
  }

  const SshdConfigSource& source_;
  SshdConfig* out_;
  std::map<std::string, absl::StatusOr<std::string>> cache_;
  size_t bytes_ = 0;
  size_t parses_ = 0;
  size_t patterns_ = 0;
  bool stopped_ = false;
};

std::vector<std::string> SplitNames(std::string_view list) {
  std::vector<std::string> out;
  for (std::string_view name : Split(list, ',')) {
    if (!name.empty()) out.emplace_back(name);
  }
  return out;
}

bool ListHas(std::string_view list, std::string_view name) {
  for (std::string_view item : Split(list, ',')) {
    if (item == name) return true;
  }
  return false;
}

// OpenSSH's kex_names_cat: `a` then each name of `b` (up to its first empty
// element) not already present.
std::string NamesCat(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  if (b.empty()) return std::string(a);
  std::string out(a);
  for (std::string_view name : Split(b, ',')) {
    if (name.empty()) break;
    if (ListHas(out, name)) continue;
    out.push_back(',');
    out.append(name);
  }
  return out;
}

// '*' and '?' wildcard match of a whole string (OpenSSH match_pattern),
// linear backtracking on the last '*'.
bool MatchPattern(std::string_view s, std::string_view p) {
  size_t si = 0, pi = 0;
  size_t star = std::string_view::npos, resume = 0;
  while (si < s.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == s[si])) {
      ++si;
      ++pi;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      resume = si;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      si = ++resume;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

std::optional<bool> ParseYesNo(std::string_view arg) {
  if (EqualsIgnoreCase(arg, "yes")) return true;
  if (EqualsIgnoreCase(arg, "no")) return false;
  return std::nullopt;
}

v1::SshPermitRootLogin ParseRootLogin(std::string_view arg) {
  if (EqualsIgnoreCase(arg, "yes")) return v1::SSH_PERMIT_ROOT_LOGIN_YES;
  if (EqualsIgnoreCase(arg, "prohibit-password") ||
      EqualsIgnoreCase(arg, "without-password")) {
    return v1::SSH_PERMIT_ROOT_LOGIN_PROHIBIT_PASSWORD;
  }
  if (EqualsIgnoreCase(arg, "forced-commands-only")) {
    return v1::SSH_PERMIT_ROOT_LOGIN_FORCED_COMMANDS_ONLY;
  }
  if (EqualsIgnoreCase(arg, "no")) return v1::SSH_PERMIT_ROOT_LOGIN_NO;
  return v1::SSH_PERMIT_ROOT_LOGIN_UNSPECIFIED;
}

std::optional<int32_t> ParseCount(std::string_view arg) {
  std::optional<int32_t> value = ParseDecimal<int32_t>(arg);
  if (!value || *value < 0) return std::nullopt;
  return value;
}

constexpr std::string_view kFlagKeywords[] = {"passwordauthentication",
                                              "kbdinteractiveauthentication",
                                              "challengeresponseauthentication",
                                              "permitemptypasswords",
                                              "x11forwarding",
                                              "usepam"};

bool IsFlagKeyword(std::string_view keyword) {
  return std::find(std::begin(kFlagKeywords), std::end(kFlagKeywords),
                   keyword) != std::end(kFlagKeywords);
}

struct AlgorithmList {
  std::string_view keyword;
  v1::SshAlgorithmKind kind;
  std::string_view SshdVersionDefaults::*defaults;
  std::string_view SshdVersionDefaults::*supported;
  v1::SshAlgorithmSetting* (v1::SshServerFacts::*field)();
};

const AlgorithmList kAlgorithmLists[] = {
    {"ciphers", v1::SSH_ALGORITHM_KIND_CIPHER, &SshdVersionDefaults::ciphers,
     &SshdVersionDefaults::all_ciphers, &v1::SshServerFacts::mutable_ciphers},
    {"macs", v1::SSH_ALGORITHM_KIND_MAC, &SshdVersionDefaults::macs,
     &SshdVersionDefaults::all_macs, &v1::SshServerFacts::mutable_macs},
    {"kexalgorithms", v1::SSH_ALGORITHM_KIND_KEX, &SshdVersionDefaults::kex,
     &SshdVersionDefaults::all_kex,
     &v1::SshServerFacts::mutable_kex_algorithms},
};

// Names sshd checks when it reads an algorithm line (ciphers_valid,
// mac_valid, kex_names_valid): every name up to the first empty one must be
// supported; a '-' list is not checked.
absl::Status ValidateAlgorithmNames(std::string_view configured,
                                    std::string_view supported) {
  if (configured.empty()) return absl::InvalidArgumentError("missing list");
  if (configured[0] == '-') return absl::OkStatus();
  if (configured[0] == '+' || configured[0] == '^') configured.remove_prefix(1);
  for (std::string_view name : Split(configured, ',')) {
    if (name.empty()) break;
    if (!ListHas(supported, name)) {
      return absl::InvalidArgumentError(
          Cat("unsupported algorithm \"", name, "\""));
    }
  }
  return absl::OkStatus();
}

// The value-level errors sshd refuses a directive with, for the keywords
// this probe reports; empty when acceptable or not one of them.
std::string DirectiveError(const SshdDirective& d,
                           const SshdVersionDefaults& defaults) {
  static const auto* const kGlobalOnly = new std::set<std::string>{
      "ciphers", "macs", "kexalgorithms", "hostkey", "usepam"};
  if (d.scope != kGlobalScope && kGlobalOnly->count(d.keyword) > 0) {
    return Cat("Directive '", d.keyword,
               "' is not allowed within a Match block");
  }
  const bool single = IsFlagKeyword(d.keyword) ||
                      d.keyword == "permitrootlogin" ||
                      d.keyword == "maxauthtries" || d.keyword == "ciphers" ||
                      d.keyword == "macs" || d.keyword == "kexalgorithms";
  if (!single) return "";
  if (d.args.empty()) return Cat(d.keyword, ": missing argument");
  const std::string& arg = d.args[0];
  if (d.args.size() > 1) {
    return Cat(d.keyword, ": extra arguments at end of line");
  }
  if (IsFlagKeyword(d.keyword) && !ParseYesNo(arg)) {
    return Cat(d.keyword, ": unsupported option \"", arg, "\"");
  }
  if (d.keyword == "permitrootlogin" &&
      ParseRootLogin(arg) == v1::SSH_PERMIT_ROOT_LOGIN_UNSPECIFIED) {
    return Cat(d.keyword, ": unsupported option \"", arg, "\"");
  }
  if (d.keyword == "maxauthtries" && !ParseCount(arg)) {
    return Cat(d.keyword, ": invalid integer \"", arg, "\"");
  }
  for (const AlgorithmList& list : kAlgorithmLists) {
    if (d.keyword != list.keyword) continue;
    absl::Status valid = ValidateAlgorithmNames(arg, defaults.*list.supported);
    if (!valid.ok()) return Cat(d.keyword, ": ", std::string(valid.message()));
  }
  return "";
}

std::string DefaultOrigin(const SshdVersionDefaults& defaults) {
  return Cat("default of OpenSSH ", defaults.version);
}

template <typename Setting>
void SetOrigin(Setting* setting, const SshdDirective* d,
               const SshdVersionDefaults& defaults) {
  if (d != nullptr) {
    setting->set_source(v1::SSH_SETTING_SOURCE_CONFIG);
    setting->set_origin(d->origin);
  } else {
    setting->set_source(v1::SSH_SETTING_SOURCE_DEFAULT);
    setting->set_origin(DefaultOrigin(defaults));
  }
}

// The first directive of `scope` among `keywords` (aliases sharing one
// setting), or nullptr.
const SshdDirective* FirstOf(const SshdConfig& config,
                             std::initializer_list<std::string_view> keywords,
                             int scope) {
  for (const SshdDirective& d : config.directives) {
    if (d.scope != scope) continue;
    for (std::string_view keyword : keywords) {
      if (d.keyword == keyword) return &d;
    }
  }
  return nullptr;
}

void FillFlag(const SshdConfig& config,
              std::initializer_list<std::string_view> keywords,
              bool default_value, const SshdVersionDefaults& defaults,
              v1::SshFlagSetting* out) {
  const SshdDirective* d = FirstOf(config, keywords, kGlobalScope);
  std::optional<bool> value;
  if (d != nullptr && d->args.size() == 1) value = ParseYesNo(d->args[0]);
  if (!value) d = nullptr;  // invalid: an error; the default is reported
  out->set_value(value.value_or(default_value));
  SetOrigin(out, d, defaults);
}

void FillKbdInteractive(const SshdConfig& config,
                        const SshdVersionDefaults& defaults,
                        v1::SshFlagSetting* out) {
  if (!defaults.separate_challenge_response) {
    FillFlag(
        config,
        {"kbdinteractiveauthentication", "challengeresponseauthentication"},
        true, defaults, out);
    return;
  }
  // Before 8.7: sshd enabled keyboard-interactive when either was on.
  v1::SshFlagSetting challenge, kbd;
  FillFlag(config, {"challengeresponseauthentication"}, true, defaults,
           &challenge);
  FillFlag(config, {"kbdinteractiveauthentication"}, false, defaults, &kbd);
  if (challenge.value() || !kbd.value()) {
    *out = challenge;
  } else {
    *out = kbd;
  }
  out->set_value(challenge.value() || kbd.value());
}

// The first of `directives` (one Match block's, in order) among
// `keywords`, or nullptr.
const SshdDirective* FirstIn(
    const std::vector<const SshdDirective*>& directives,
    std::initializer_list<std::string_view> keywords) {
  for (const SshdDirective* d : directives) {
    for (std::string_view keyword : keywords) {
      if (d->keyword == keyword) return d;
    }
  }
  return nullptr;
}

std::optional<bool> BlockFlag(
    const std::vector<const SshdDirective*>& directives,
    std::initializer_list<std::string_view> keywords) {
  const SshdDirective* d = FirstIn(directives, keywords);
  if (d == nullptr || d->args.size() != 1) return std::nullopt;
  return ParseYesNo(d->args[0]);
}

void FillMatchBlocks(const SshdConfig& config, v1::SshServerFacts* out) {
  // Each block's directives, found in one pass (not one per block).
  std::vector<std::vector<const SshdDirective*>> by_scope(
      config.match_blocks.size());
  for (const SshdDirective& d : config.directives) {
    if (d.scope >= 0 && static_cast<size_t>(d.scope) < by_scope.size()) {
      by_scope[static_cast<size_t>(d.scope)].push_back(&d);
    }
  }
  for (size_t i = 0; i < config.match_blocks.size(); ++i) {
    const std::vector<const SshdDirective*>& directives = by_scope[i];
    v1::SshMatchBlock* block = out->add_match_blocks();
    block->set_criteria(config.match_blocks[i].criteria);
    block->set_location(config.match_blocks[i].origin);
    if (const SshdDirective* d = FirstIn(directives, {"permitrootlogin"});
        d != nullptr && d->args.size() == 1) {
      block->set_permit_root_login(ParseRootLogin(d->args[0]));
    }
    if (auto v = BlockFlag(directives, {"passwordauthentication"})) {
      block->set_password_authentication(*v);
    }
    if (auto v = BlockFlag(directives, {"kbdinteractiveauthentication",
                                        "challengeresponseauthentication"})) {
      block->set_kbd_interactive_authentication(*v);
    }
    if (auto v = BlockFlag(directives, {"permitemptypasswords"})) {
      block->set_permit_empty_passwords(*v);
    }
    if (auto v = BlockFlag(directives, {"x11forwarding"})) {
      block->set_x11_forwarding(*v);
    }
    if (const SshdDirective* d = FirstIn(directives, {"maxauthtries"});
        d != nullptr && d->args.size() == 1) {
      if (std::optional<int32_t> n = ParseCount(d->args[0])) {
        block->set_max_auth_tries(*n);
      }
    }
    std::set<std::string> keywords;
    for (const SshdDirective* d : directives) keywords.insert(d->keyword);
    for (const std::string& k : keywords) block->add_keywords(k);
  }
}

// --- Public key blobs -----------------------------------------------------

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

std::optional<std::string> DecodeBase64(std::string_view in) {
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : in) {
    int v = Base64Value(c);
    if (v < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  if (bits >= 6) return std::nullopt;  // a lone trailing character
  return out;
}

// Reads SSH wire-format strings (uint32 big-endian length, bytes).
class BlobReader {
 public:
  explicit BlobReader(std::string_view blob) : rest_(blob) {}
  std::optional<std::string_view> String() {
    if (rest_.size() < 4) return std::nullopt;
    uint32_t n = 0;
    for (int i = 0; i < 4; ++i) {
      n = (n << 8) | static_cast<unsigned char>(rest_[static_cast<size_t>(i)]);
    }
    rest_.remove_prefix(4);
    if (n > rest_.size()) return std::nullopt;
    std::string_view out = rest_.substr(0, n);
    rest_.remove_prefix(n);
    return out;
  }

 private:
  std::string_view rest_;
};

// Bits of an mpint's magnitude.
uint32_t MpintBits(std::string_view mpint) {
  while (!mpint.empty() && mpint[0] == '\0') mpint.remove_prefix(1);
  if (mpint.empty()) return 0;
  uint32_t bits = static_cast<uint32_t>(mpint.size() - 1) * 8;
  for (unsigned top = static_cast<unsigned char>(mpint[0]); top != 0;
       top >>= 1) {
    ++bits;
  }
  return bits;
}

absl::Status Malformed(std::string_view what) {
  return absl::InvalidArgumentError(Cat("malformed: ", what));
}

}  // namespace

// --- sshd_config ----------------------------------------------------------

std::vector<SshdConfigLine> ParseSshdConfig(std::string_view text) {
  std::vector<SshdConfigLine> out;
  int number = 0;
  for (std::string_view raw : SplitLines(text)) {
    ++number;
    std::string_view line = raw;
    while (!line.empty() && (IsAsciiSpace(line.back()))) line.remove_suffix(1);
    while (!line.empty() && IsConfigBlank(line.front())) line.remove_prefix(1);
    if (line.empty() || line[0] == '#') continue;
    size_t end = line.find_first_of(" \t\"=");
    std::string_view keyword = line.substr(0, end);
    std::string_view rest =
        end == std::string_view::npos ? std::string_view() : line.substr(end);
    while (!rest.empty() && IsConfigBlank(rest.front())) rest.remove_prefix(1);
    if (!rest.empty() && rest.front() == '=') {
      rest.remove_prefix(1);
      while (!rest.empty() && IsConfigBlank(rest.front()))
        rest.remove_prefix(1);
    }
    SshdConfigLine parsed;
    parsed.line = number;
    parsed.keyword = Lower(keyword);
    if (keyword.empty()) {
      parsed.error = "no keyword";
    } else if (rest.empty()) {
      parsed.error = Cat("no argument after keyword \"", keyword, "\"");
    } else {
      absl::StatusOr<std::vector<std::string>> args = SplitArguments(rest);
      if (!args.ok()) {
        parsed.error = std::string(args.status().message());
      } else if (args->empty()) {
        parsed.error = Cat("no argument after keyword \"", keyword, "\"");
      } else {
        parsed.args = std::move(*args);
      }
    }
    out.push_back(std::move(parsed));
  }
  return out;
}

SshdConfig EvaluateSshdConfig(const std::string& main_path,
                              const SshdConfigSource& source) {
  SshdConfig config;
  ConfigEvaluator(source, &config).Run(main_path);
  return config;
}

const SshdDirective* FirstInScope(const SshdConfig& config,
                                  std::string_view keyword, int scope) {
  return FirstOf(config, {keyword}, scope);
}

// --- Versions and algorithms ----------------------------------------------

std::optional<std::string> OpenSshUpstreamVersion(std::string_view text) {
  size_t colon = text.find(':');
  size_t banner = text.find("OpenSSH_");
  if (banner != std::string_view::npos) {
    text.remove_prefix(banner + 8);
  } else if (colon != std::string_view::npos) {
    text.remove_prefix(colon + 1);
  }
  size_t i = 0;
  while (i < text.size() && IsAsciiDigit(text[i])) ++i;
  if (i == 0 || i > 3 || i >= text.size() || text[i] != '.') {
    return std::nullopt;
  }
  size_t j = i + 1;
  while (j < text.size() && IsAsciiDigit(text[j])) ++j;
  if (j == i + 1 || j - i - 1 > 3) return std::nullopt;
  return std::string(text.substr(0, j));
}

const SshdVersionDefaults& DefaultsForVersion(std::string_view version) {
  auto parse = [](std::string_view v) -> std::optional<std::pair<int, int>> {
    std::vector<std::string_view> parts = Split(v, '.');
    if (parts.size() != 2) return std::nullopt;
    std::optional<int> major = ParseDecimal<int>(parts[0]);
    std::optional<int> minor = ParseDecimal<int>(parts[1]);
    if (!major || !minor) return std::nullopt;
    return std::make_pair(*major, *minor);
  };
  const SshdVersionDefaults* chosen = &kVersionDefaults[0];
  std::optional<std::pair<int, int>> wanted = parse(version);
  if (!wanted) return *chosen;
  for (const SshdVersionDefaults& d : kVersionDefaults) {
    if (parse(d.version) <= wanted) chosen = &d;
  }
  return *chosen;
}

int MatchPatternList(std::string_view name, std::string_view patterns) {
  int result = 0;
  for (std::string_view pattern : Split(patterns, ',')) {
    bool negated = !pattern.empty() && pattern[0] == '!';
    if (negated) pattern.remove_prefix(1);
    if (MatchPattern(name, pattern)) {
      if (negated) return -1;
      result = 1;
    }
  }
  return result;
}

absl::StatusOr<std::vector<std::string>> ResolveAlgorithmList(
    std::string_view configured, std::string_view defaults,
    std::string_view supported) {
  if (configured.empty()) return SplitNames(defaults);
  absl::Status valid = ValidateAlgorithmNames(configured, supported);
  if (!valid.ok()) return valid;
  std::string list;
  switch (configured[0]) {
    case '+':
      list = NamesCat(defaults, configured.substr(1));
      break;
    case '-': {
      std::vector<std::string> kept;
      for (std::string_view name : Split(defaults, ',')) {
        if (MatchPatternList(name, configured.substr(1)) != 1) {
          if (!name.empty()) kept.emplace_back(name);
        }
      }
      return kept;
    }
    case '^':
      list = NamesCat(configured.substr(1), defaults);
      break;
    default:
      list = std::string(configured);
  }
  std::string result;
  for (std::string_view pattern : Split(list, ',')) {
    if (!pattern.empty() && pattern[0] == '!') {
      return absl::InvalidArgumentError(
          Cat("negated pattern \"", pattern, "\" is not allowed here"));
    }
    std::string matching;
    for (std::string_view name : Split(supported, ',')) {
      if (!name.empty() && MatchPattern(name, pattern)) {
        if (!matching.empty()) matching.push_back(',');
        matching.append(name);
      }
    }
    result = NamesCat(result, matching);
  }
  std::vector<std::string> names = SplitNames(result);
  if (names.empty()) {
    return absl::InvalidArgumentError("no supported algorithm left");
  }
  return names;
}

// The weak algorithms. A fixed list drawn from: RFC 8758 (RC4 "MUST NOT"),
// RFC 9142 section 4 (SHA-1 and 1024-bit key exchange "SHOULD NOT"), the
// SSH CBC plaintext-recovery attack (CVE-2008-5161), Sweet32 (64-bit block
// ciphers, CVE-2016-2183), MD5's broken collision resistance, and the
// hardening benchmarks (CIS, BSI TR-02102-4) that also drop HMAC-SHA1 and
// 64-bit UMAC tags. BROKEN ones are off in OpenSSH's defaults: offering
// them is a deliberate weakening. DEPRECATED ones are still in OpenSSH's
// default MAC list and have no practical attack in SSH.
std::optional<AlgorithmWeakness> ClassifyAlgorithm(v1::SshAlgorithmKind kind,
                                                   std::string_view name) {
  using W = AlgorithmWeakness;
  constexpr auto kBroken = v1::SSH_ALGORITHM_WEAKNESS_BROKEN;
  constexpr auto kDeprecated = v1::SSH_ALGORITHM_WEAKNESS_DEPRECATED;
  switch (kind) {
    case v1::SSH_ALGORITHM_KIND_CIPHER:
      if (name == "none") return W{kBroken, "no encryption"};
      if (StartsWith(name, "arcfour")) {
        return W{kBroken, "RC4 stream cipher (RFC 8758: must not be used)"};
      }
      if (StartsWith(name, "3des") || StartsWith(name, "blowfish") ||
          StartsWith(name, "cast128")) {
        return W{kBroken, "64-bit block cipher (Sweet32) in CBC mode"};
      }
      if (EndsWith(name, "-cbc") || name == "rijndael-cbc@lysator.liu.se") {
        return W{kBroken, "CBC mode (SSH plaintext recovery, CVE-2008-5161)"};
      }
      return std::nullopt;
    case v1::SSH_ALGORITHM_KIND_MAC:
      if (StartsWith(name, "hmac-md5")) {
        return W{kBroken, "MD5 (broken hash)"};
      }
      if (StartsWith(name, "hmac-sha1-96")) {
        return W{kDeprecated, "SHA-1 truncated to 96 bits"};
      }
      if (StartsWith(name, "hmac-sha1")) return W{kDeprecated, "SHA-1"};
      if (StartsWith(name, "umac-64")) {
        return W{kDeprecated, "64-bit authentication tag"};
      }
      return std::nullopt;
    case v1::SSH_ALGORITHM_KIND_KEX:
      if (name == "diffie-hellman-group1-sha1") {
        return W{kBroken, "1024-bit group (Logjam) and SHA-1 (RFC 9142)"};
      }
      if (name == "diffie-hellman-group14-sha1" ||
          name == "diffie-hellman-group-exchange-sha1") {
        return W{kBroken, "SHA-1 exchange hash (RFC 9142)"};
      }
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

// --- Public keys ----------------------------------------------------------

absl::StatusOr<SshPublicKey> ParseSshPublicKey(std::string_view text) {
  for (std::string_view line : SplitLines(text)) {
    line = Trim(line);
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string_view> words = Words(line);
    if (words.size() < 2) return Malformed("no base64 key after the type");
    SshPublicKey key;
    key.algorithm = std::string(words[0]);
    std::optional<std::string> blob = DecodeBase64(words[1]);
    if (!blob) return Malformed("invalid base64");
    BlobReader reader(*blob);
    std::optional<std::string_view> type = reader.String();
    if (!type) return Malformed("truncated key blob");
    if (*type != words[0]) {
      return Malformed(Cat("key blob is \"", ToValidUtf8(*type), "\", not \"",
                           ToValidUtf8(words[0]), "\""));
    }
    if (*type == "ssh-rsa") {
      std::optional<std::string_view> e = reader.String();
      std::optional<std::string_view> n = reader.String();
      if (!e || !n) return Malformed("truncated RSA key");
      key.type = v1::SSH_HOST_KEY_TYPE_RSA;
      key.bits = MpintBits(*n);
      if (key.bits == 0) return Malformed("empty RSA modulus");
    } else if (*type == "ssh-dss") {
      std::optional<std::string_view> p = reader.String();
      if (!p) return Malformed("truncated DSA key");
      key.type = v1::SSH_HOST_KEY_TYPE_DSA;
      key.bits = MpintBits(*p);
      if (key.bits == 0) return Malformed("empty DSA prime");
    } else if (*type == "ssh-ed25519" ||
               *type == "sk-ssh-ed25519@openssh.com") {
      std::optional<std::string_view> pk = reader.String();
      if (!pk || pk->size() != 32) return Malformed("bad Ed25519 key");
      key.type = *type == "ssh-ed25519" ? v1::SSH_HOST_KEY_TYPE_ED25519
                                        : v1::SSH_HOST_KEY_TYPE_SK_ED25519;
      key.bits = 256;
    } else if (StartsWith(*type, "ecdsa-sha2-nistp") ||
               *type == "sk-ecdsa-sha2-nistp256@openssh.com") {
      std::optional<std::string_view> curve = reader.String();
      std::optional<std::string_view> point = reader.String();
      if (!curve || !point || point->empty()) {
        return Malformed("truncated ECDSA key");
      }
      const bool sk = StartsWith(*type, "sk-");
      std::string_view expected =
          sk ? std::string_view("nistp256") : type->substr(11);
      if (*curve != expected) return Malformed("ECDSA curve mismatch");
      if (*curve == "nistp256") {
        key.bits = 256;
      } else if (*curve == "nistp384") {
        key.bits = 384;
      } else if (*curve == "nistp521") {
        key.bits = 521;
      } else {
        return Malformed("unknown ECDSA curve");
      }
      key.type =
          sk ? v1::SSH_HOST_KEY_TYPE_SK_ECDSA : v1::SSH_HOST_KEY_TYPE_ECDSA;
    } else {
      return absl::InvalidArgumentError(
          Cat("unknown key type \"", ToValidUtf8(*type), "\""));
    }
    return key;
  }
  return absl::InvalidArgumentError("no key line");
}

// --- Effective settings ---------------------------------------------------

void FillSshdSettings(const SshdConfig& config,
                      const SshdVersionDefaults& defaults,
                      v1::SshServerFacts* out) {
  for (const std::string& file : config.files) out->add_config_files(file);
  for (const std::string& error : config.errors) out->add_config_errors(error);
  for (const SshdDirective& d : config.directives) {
    std::string error = DirectiveError(d, defaults);
    if (!error.empty()) out->add_config_errors(Cat(d.origin, ": ", error));
  }

  {
    const SshdDirective* d =
        FirstInScope(config, "permitrootlogin", kGlobalScope);
    v1::SshPermitRootLogin value = v1::SSH_PERMIT_ROOT_LOGIN_UNSPECIFIED;
    if (d != nullptr && d->args.size() == 1) value = ParseRootLogin(d->args[0]);
    if (value == v1::SSH_PERMIT_ROOT_LOGIN_UNSPECIFIED) {
      d = nullptr;
      value = v1::SSH_PERMIT_ROOT_LOGIN_PROHIBIT_PASSWORD;
    }
    out->mutable_permit_root_login()->set_value(value);
    SetOrigin(out->mutable_permit_root_login(), d, defaults);
  }
  FillFlag(config, {"passwordauthentication"}, true, defaults,
           out->mutable_password_authentication());
  FillKbdInteractive(config, defaults,
                     out->mutable_kbd_interactive_authentication());
  FillFlag(config, {"permitemptypasswords"}, false, defaults,
           out->mutable_permit_empty_passwords());
  FillFlag(config, {"x11forwarding"}, false, defaults,
           out->mutable_x11_forwarding());
  FillFlag(config, {"usepam"}, false, defaults, out->mutable_use_pam());
  {
    const SshdDirective* d = FirstInScope(config, "maxauthtries", kGlobalScope);
    std::optional<int32_t> value;
    if (d != nullptr && d->args.size() == 1) value = ParseCount(d->args[0]);
    if (!value) d = nullptr;
    out->mutable_max_auth_tries()->set_value(
        value.value_or(kDefaultMaxAuthTries));
    SetOrigin(out->mutable_max_auth_tries(), d, defaults);
  }

  for (const AlgorithmList& list : kAlgorithmLists) {
    v1::SshAlgorithmSetting* setting = (out->*list.field)();
    const SshdDirective* d = FirstInScope(config, list.keyword, kGlobalScope);
    absl::StatusOr<std::vector<std::string>> names =
        ResolveAlgorithmList("", defaults.*list.defaults, "");
    if (d != nullptr && d->args.size() == 1) {
      absl::StatusOr<std::vector<std::string>> configured =
          ResolveAlgorithmList(d->args[0], defaults.*list.defaults,
                               defaults.*list.supported);
      if (configured.ok()) {
        names = std::move(configured);
        setting->set_configured(d->args[0]);
      } else {
        // An invalid name was reported above; sshd would not start, and the
        // defaults are what it runs with once fixed.
        if (absl::IsInvalidArgument(configured.status()) &&
            ValidateAlgorithmNames(d->args[0], defaults.*list.supported).ok()) {
          out->add_config_errors(
              Cat(d->origin, ": ", list.keyword, ": ",
                  std::string(configured.status().message())));
        }
        d = nullptr;
      }
    } else {
      d = nullptr;
    }
    SetOrigin(setting, d, defaults);
    for (const std::string& name : *names) {
      setting->add_effective(name);
      if (std::optional<AlgorithmWeakness> weak =
              ClassifyAlgorithm(list.kind, name)) {
        v1::SshWeakAlgorithm* w = out->add_weak_algorithms();
        w->set_kind(list.kind);
        w->set_name(name);
        w->set_weakness(weak->weakness);
        w->set_why(std::string(weak->why));
      }
    }
  }
  FillMatchBlocks(config, out);

  // At most kMaxSshdConfigErrors listed, then how many more there are.
  const size_t listed = static_cast<size_t>(out->config_errors_size());
  const size_t more =
      config.errors_not_listed +
      (listed > kMaxSshdConfigErrors ? listed - kMaxSshdConfigErrors : 0);
  if (listed > kMaxSshdConfigErrors) {
    out->mutable_config_errors()->DeleteSubrange(
        static_cast<int>(kMaxSshdConfigErrors),
        static_cast<int>(listed - kMaxSshdConfigErrors));
  }
  if (more > 0) {
    out->add_config_errors(
        Cat(more, " more errors not listed: run sshd -t to see them all"));
  }
}

// --- Collection -----------------------------------------------------------

namespace {

// glob(3) below `root` for an absolute pattern: '*', '?' and '[...]' in any
// component (fnmatch; a leading '.' must be matched explicitly), results
// that exist, sorted. Each directory listed counts in `*listings`; past
// kMaxGlobListings nothing more is listed and `*exhausted` is set.
std::vector<std::string> GlobInRoot(const fs::path& root,
                                    const std::string& pattern,
                                    size_t* listings, bool* exhausted) {
  std::vector<std::string> paths = {""};
  for (std::string_view component : SplitAny(pattern, "/")) {
    std::vector<std::string> next;
    const bool magic = component.find_first_of("*?[") != std::string::npos;
    const std::string comp(component);
    for (const std::string& prefix : paths) {
      if (!magic) {
        next.push_back(Cat(prefix, "/", comp));
        continue;
      }
      if (++*listings > kMaxGlobListings) {
        *exhausted = true;
        break;
      }
      for (const std::string& name : ListRootedDir(
               root, prefix.empty() ? "/" : prefix, kMaxGlobMatches)) {
        if (fnmatch(comp.c_str(), name.c_str(), FNM_PERIOD) == 0) {
          next.push_back(Cat(prefix, "/", name));
        }
        if (next.size() >= kMaxGlobMatches) break;
      }
      if (next.size() >= kMaxGlobMatches) break;
    }
    paths = std::move(next);
  }
  std::vector<std::string> out;
  for (const std::string& path : paths) {
    if (!path.empty() && RootedExists(root, path)) out.push_back(path);
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool IsRootedDirectory(const fs::path& root, const std::string& path) {
  absl::StatusOr<std::string> rel = ResolveInRoot(root, path);
  std::error_code ec;
  return rel.ok() && fs::is_directory(root / *rel, ec);
}

std::string ShortReason(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      return "not found";
    case absl::StatusCode::kPermissionDenied:
      return "permission denied";
    case absl::StatusCode::kOutOfRange:
      return Cat("larger than ", kMaxConfigFileBytes, " bytes");
    case absl::StatusCode::kFailedPrecondition:
      return "not a regular file";
    default:
      return std::string(absl::StatusCodeToString(status.code()));
  }
}

std::optional<std::string> BannerVersion(const fs::path& root) {
  absl::StatusOr<std::string> binary =
      ReadRootedPrefix(root, "usr/sbin/sshd", kMaxSshdBinaryBytes);
  if (!binary.ok()) return std::nullopt;
  for (size_t at = binary->find("OpenSSH_"); at != std::string::npos;
       at = binary->find("OpenSSH_", at + 1)) {
    if (std::optional<std::string> v =
            OpenSshUpstreamVersion(std::string_view(*binary).substr(at, 32))) {
      return v;
    }
  }
  return std::nullopt;
}

void CollectHostKeys(const fs::path& root, const SshdConfig& config,
                     v1::SshServerFacts* out) {
  std::set<std::string> configured;
  for (const SshdDirective& d : config.directives) {
    if (d.keyword != "hostkey" || d.scope != kGlobalScope || d.args.empty()) {
      continue;
    }
    configured.insert(d.args[0][0] == '/' ? d.args[0] : Cat("/", d.args[0]));
  }
  if (configured.empty()) {
    for (std::string_view key : kDefaultHostKeys) configured.emplace(key);
  }
  std::set<std::string> pubs;
  for (const std::string& name : ListRootedDir(root, kSshDir)) {
    if (StartsWith(name, "ssh_host_") && EndsWith(name, "_key.pub")) {
      pubs.insert(Cat(kSshDir, "/", name));
    }
  }
  for (const std::string& key : configured) {
    if (RootedExists(root, key) || RootedExists(root, Cat(key, ".pub"))) {
      pubs.insert(Cat(key, ".pub"));
    }
  }
  for (const std::string& pub : pubs) {
    v1::SshHostKey* key = out->add_host_keys();
    key->set_path(pub);
    const std::string private_key = pub.substr(0, pub.size() - 4);
    key->set_in_use(configured.count(private_key) > 0 &&
                    RootedExists(root, private_key));
    absl::StatusOr<std::string> text =
        ReadRootedFile(root, pub, kMaxPublicKeyBytes);
    if (!text.ok()) {
      key->set_error(Cat("unreadable: ", ShortReason(text.status())));
      continue;
    }
    absl::StatusOr<SshPublicKey> parsed = ParseSshPublicKey(*text);
    if (!parsed.ok()) {
      key->set_error(std::string(parsed.status().message()));
      continue;
    }
    key->set_type(parsed->type);
    key->set_algorithm(parsed->algorithm);
    key->set_bits(parsed->bits);
  }
}

}  // namespace

absl::StatusOr<v1::Facts> SshServerProbe::Collect(const fs::path& root) const {
  v1::Facts facts;
  v1::SshServerFacts* out = facts.mutable_ssh_server();

  std::string package_version;
  absl::StatusOr<std::map<std::string, std::string>> packages =
      ReadInstalledPackages(root);
  if (packages.ok()) {
    auto it = packages->find("openssh-server");
    if (it != packages->end()) package_version = it->second;
  }
  const bool binary = RootedExists(root, "usr/sbin/sshd");
  out->set_installed(!package_version.empty() || binary);
  out->set_running(RunningProcessNames(root).count("sshd") > 0);
  if (!out->installed()) return facts;

  out->set_package_version(package_version);
  std::optional<std::string> version = OpenSshUpstreamVersion(package_version);
  if (!version && binary) version = BannerVersion(root);
  if (version) out->set_openssh_version(*version);
  const SshdVersionDefaults& defaults =
      DefaultsForVersion(version.value_or(""));
  out->set_defaults_version(std::string(defaults.version));

  SshdConfig config;
  absl::StatusOr<std::string> main_text =
      ReadRootedFile(root, kMainConfig, kMaxConfigFileBytes);
  if (main_text.ok()) {
    out->set_config_state(v1::SSH_CONFIG_STATE_READ);
    SshdConfigSource source;
    source.read = [&](const std::string& path) -> absl::StatusOr<std::string> {
      if (path == kMainConfig) return *main_text;
      if (IsRootedDirectory(root, path)) return std::string();  // reads empty
      return ReadRootedFile(root, path, kMaxConfigFileBytes);
    };
    size_t listings = 0;
    bool exhausted = false;
    source.glob = [&](const std::string& pattern) {
      return GlobInRoot(root, pattern, &listings, &exhausted);
    };
    config = EvaluateSshdConfig(std::string(kMainConfig), source);
    if (exhausted) {
      // What was not listed is not evidenced: an error, not a silent gap.
      config.errors.push_back(
          Cat("Include globs list more than ", kMaxGlobListings,
              " directories in all; some included files were not read"));
    }
    FillSshdSettings(config, defaults, out);
  } else {
    out->set_config_state(absl::IsNotFound(main_text.status())
                              ? v1::SSH_CONFIG_STATE_MISSING
                              : v1::SSH_CONFIG_STATE_UNREADABLE);
    out->set_config_error(
        Cat(kMainConfig, ": ", ShortReason(main_text.status())));
  }
  CollectHostKeys(root, config, out);
  MakeStringsValidUtf8(&facts);
  return facts;
}

}  // namespace evidentia::agent
