#include "agent/linux/probes/password_policy_probe.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "agent/linux/sys/rooted_fs.h"
#include "agent/linux/sys/text.h"
#include "agent/linux/sys/utf8.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxPamFileBytes = 1 << 20;
constexpr size_t kMaxPamLinesPerService = 4096;
constexpr size_t kMaxConfDirFiles = 256;

// libpwquality's defaults (pwquality.conf(5)) and floor for minlen.
constexpr int64_t kPwqualityDefaultMinlen = 8;
constexpr int64_t kPwqualityBaseMinlen = 6;
constexpr int64_t kPwqualityDefaultRetry = 1;
constexpr int64_t kPwqualityClasses = 4;
// pam_cracklib's defaults (pam_cracklib(8)).
constexpr int64_t kCracklibDefaultMinlen = 9;
constexpr int64_t kCracklibDefaultCredit = 1;
// pam_unix's default minlen (pam_unix(8)).
constexpr int64_t kPamUnixDefaultMinlen = 6;
// pam_faillock's defaults (faillock.conf(5)).
constexpr int64_t kFaillockDefaultDeny = 3;
constexpr int64_t kFaillockDefaultUnlockTime = 600;
constexpr int64_t kFaillockDefaultFailInterval = 900;

constexpr std::string_view kPamUnixHashes[] = {
    "md5",      "bigcrypt",      "sha256",  "sha512",
    "blowfish", "gost_yescrypt", "yescrypt"};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

// A decimal integer with an optional sign, within +-10^12 (enough for any
// day count or second count a policy holds).
std::optional<int64_t> ParseSigned(std::string_view s) {
  s = Trim(s);
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty() || s.size() > 12) return std::nullopt;
  std::optional<int64_t> value = ParseDecimal<int64_t>(s);
  if (!value) return std::nullopt;
  return negative ? -*value : *value;
}

// Splits a PAM line into tokens: whitespace separates, "[...]" is one token
// (with "\]" inside it). Returns false on an unterminated '['.
bool PamTokens(std::string_view line, std::vector<std::string>* tokens) {
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && IsAsciiSpace(line[i])) ++i;
    if (i >= line.size()) break;
    std::string token;
    if (line[i] == '[') {
      size_t j = i + 1;
      bool closed = false;
      token.push_back('[');
      while (j < line.size()) {
        if (line[j] == '\\' && j + 1 < line.size() && line[j + 1] == ']') {
          token.push_back(']');
          j += 2;
          continue;
        }
        token.push_back(line[j]);
        if (line[j] == ']') {
          closed = true;
          ++j;
          break;
        }
        ++j;
      }
      if (!closed) return false;
      i = j;
      // Text glued to the bracket ("[a]b") stays in the same token.
      while (i < line.size() && !IsAsciiSpace(line[i]))
        token.push_back(line[i++]);
    } else {
      while (i < line.size() && !IsAsciiSpace(line[i]))
        token.push_back(line[i++]);
    }
    tokens->push_back(std::move(token));
  }
  return true;
}

ConfigSettings ParseNameValueConf(std::string_view text) {
  ConfigSettings out;
  for (std::string_view line : SplitLines(text)) {
    size_t hash = line.find('#');
    if (hash != std::string_view::npos) line = line.substr(0, hash);
    line = Trim(line);
    if (line.empty()) continue;
    size_t name_end = 0;
    while (name_end < line.size() && !IsAsciiSpace(line[name_end]) &&
           line[name_end] != '=') {
      ++name_end;
    }
    std::string_view name = line.substr(0, name_end);
    if (name.empty()) continue;
    std::string_view rest = TrimLeft(line.substr(name_end));
    if (!rest.empty() && rest[0] == '=') rest = TrimLeft(rest.substr(1));
    out.emplace_back(Lower(name), std::string(rest));
  }
  return out;
}

// The module name of a module path: "/lib/security/pam_unix.so" ->
// "pam_unix".
std::string ModuleName(std::string_view module) {
  std::string_view base = module.substr(module.rfind('/') + 1);
  if (EndsWith(base, ".so")) base.remove_suffix(3);
  return std::string(base);
}

std::string IncludePath(std::string_view target) {
  if (StartsWith(target, "/")) return std::string(target);
  return Cat("/etc/pam.d/", target);
}

// The state of assembling one service's stacks.
struct StackWalk {
  const RootedReader& read;
  v1::PamService* service;
  std::vector<std::string> chain;  // files being included, outermost first
  size_t lines_added = 0;
  int files_read = 0;
};

// Appends the lines of `file` of `only_type` (all types when empty) to the
// service, following includes.
void AppendStack(const std::string& file, const std::string& only_type,
                 StackWalk* walk) {
  v1::PamService* service = walk->service;
  std::vector<std::string>* chain = &walk->chain;
  if (std::find(chain->begin(), chain->end(), file) != chain->end()) {
    service->add_problems(Cat("include loop at ", file));
    return;
  }
  if (static_cast<int>(chain->size()) > kMaxPamIncludeDepth) {
    service->add_problems(
        Cat("include depth above ", kMaxPamIncludeDepth, " at ", file));
    return;
  }
  if (++walk->files_read > kMaxPamFilesPerService) {
    if (walk->files_read == kMaxPamFilesPerService + 1) {
      service->add_problems(Cat("more than ", kMaxPamFilesPerService,
                                " files included, stopped at ", file));
    }
    return;
  }
  absl::StatusOr<std::string> text = walk->read(file);
  if (!text.ok()) {
    service->add_problems(absl::IsNotFound(text.status())
                              ? Cat("missing include ", file)
                              : Cat("unreadable ", file));
    return;
  }
  chain->push_back(file);
  for (PamLine& line : ParsePamFile(*text)) {
    if (line.kind == PamLine::Kind::kIncludeAll) {
      AppendStack(IncludePath(line.module), only_type, walk);
      continue;
    }
    if (!only_type.empty() && line.type != only_type) continue;
    if (line.kind == PamLine::Kind::kInclude ||
        line.kind == PamLine::Kind::kSubstack) {
      AppendStack(IncludePath(line.module), line.type, walk);
      continue;
    }
    google::protobuf::RepeatedPtrField<v1::PamModuleLine>* stack = nullptr;
    if (line.type == "auth") {
      stack = service->mutable_auth();
    } else if (line.type == "account") {
      stack = service->mutable_account();
    } else if (line.type == "password") {
      stack = service->mutable_password();
    } else {
      continue;  // session and unknown types are not reported
    }
    if (++walk->lines_added > kMaxPamLinesPerService) {
      if (walk->lines_added == kMaxPamLinesPerService + 1) {
        service->add_problems(Cat("more than ", kMaxPamLinesPerService,
                                  " module lines at ", file));
      }
      continue;
    }
    v1::PamModuleLine* out = stack->Add();
    out->set_type(line.type);
    out->set_control(line.control);
    out->set_module(line.module);
    out->set_module_name(ModuleName(line.module));
    for (std::string& argument : line.arguments) {
      out->add_arguments(std::move(argument));
    }
    out->set_file(file);
    out->set_skip_if_missing(line.skip_if_missing);
  }
  chain->pop_back();
}

// "name=value" arguments of a module line, and bare flags with "".
ConfigSettings ArgumentSettings(const v1::PamModuleLine& line) {
  ConfigSettings out;
  for (const std::string& argument : line.arguments()) {
    size_t eq = argument.find('=');
    if (eq == std::string::npos) {
      out.emplace_back(Lower(argument), "");
    } else {
      out.emplace_back(Lower(argument.substr(0, eq)), argument.substr(eq + 1));
    }
  }
  return out;
}

bool HasArgument(const v1::PamModuleLine& line, std::string_view argument) {
  return std::any_of(line.arguments().begin(), line.arguments().end(),
                     [&](const std::string& a) { return a == argument; });
}

const v1::PamModuleLine* FindModule(
    const google::protobuf::RepeatedPtrField<v1::PamModuleLine>& stack,
    std::string_view module_name) {
  for (const v1::PamModuleLine& line : stack) {
    if (line.module_name() == module_name) return &line;
  }
  return nullptr;
}

// Quality settings of pam_pwquality or pam_cracklib.
struct QualitySettings {
  int64_t minlen = kPwqualityDefaultMinlen;
  int64_t dcredit = 0, ucredit = 0, lcredit = 0, ocredit = 0;
  int64_t minclass = 0;
  int64_t retry = kPwqualityDefaultRetry;
  bool enforce_for_root = false;
  bool enforcing = true;

  void Apply(const ConfigSettings& settings) {
    for (const auto& [name, value] : settings) {
      if (name == "enforce_for_root") {
        enforce_for_root = true;
        continue;
      }
      std::optional<int64_t> n = ParseSigned(value);
      if (!n) continue;
      if (name == "minlen") {
        minlen = std::max(*n, kPwqualityBaseMinlen);
      } else if (name == "dcredit") {
        dcredit = *n;
      } else if (name == "ucredit") {
        ucredit = *n;
      } else if (name == "lcredit") {
        lcredit = *n;
      } else if (name == "ocredit") {
        ocredit = *n;
      } else if (name == "minclass") {
        minclass = std::min(*n, kPwqualityClasses);
      } else if (name == "retry") {
        retry = *n;
      } else if (name == "enforcing") {
        enforcing = *n != 0;
      }
    }
  }

  // The shortest password the length rule accepts: every positive credit
  // can shorten it by that much.
  int64_t ShortestAccepted() const {
    int64_t shortest = minlen;
    for (int64_t credit : {dcredit, ucredit, lcredit, ocredit}) {
      if (credit > 0) shortest -= credit;
    }
    return std::max<int64_t>(shortest, 0);
  }

  int64_t RequiredClasses() const {
    int64_t negative = 0;
    for (int64_t credit : {dcredit, ucredit, lcredit, ocredit}) {
      if (credit < 0) ++negative;
    }
    return std::max(std::max<int64_t>(minclass, 0), negative);
  }
};

// pam_faillock's settings.
struct FaillockSettings {
  int64_t deny = kFaillockDefaultDeny;
  int64_t unlock_time = kFaillockDefaultUnlockTime;
  int64_t fail_interval = kFaillockDefaultFailInterval;
  bool even_deny_root = false;

  void Apply(const ConfigSettings& settings) {
    for (const auto& [name, value] : settings) {
      if (name == "even_deny_root") {
        even_deny_root = true;
        continue;
      }
      if (name == "root_unlock_time") {
        even_deny_root = true;
        continue;
      }
      std::optional<int64_t> n = Lower(Trim(value)) == "never"
                                     ? std::optional<int64_t>(0)
                                     : ParseSigned(value);
      if (!n || *n < 0) continue;
      if (name == "deny") {
        deny = *n;
      } else if (name == "unlock_time") {
        unlock_time = *n;
      } else if (name == "fail_interval") {
        fail_interval = *n;
      }
    }
  }
};

// Why a file the probe needs could not be used.
std::string ReadProblem(std::string_view file, const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      return Cat(file, " is missing");
    case absl::StatusCode::kPermissionDenied:
      return Cat(file, " cannot be read (permission denied)");
    case absl::StatusCode::kOutOfRange:
      return Cat(file, " is larger than the probe reads");
    case absl::StatusCode::kFailedPrecondition:
      return Cat(file, " is not a regular file");
    default:
      return Cat(file, " cannot be read");
  }
}

// `passwd_out` is the passwd element of out->pam_services(); its problems
// note a pwquality configuration that could not be read.
void FillPasswordFacts(v1::PamService* passwd_out, const fs::path& root,
                       v1::PasswordPolicyFacts* out) {
  const v1::PamService& passwd = *passwd_out;
  // pwquality.conf.d/*.conf in sorted order, then pwquality.conf
  // (pwquality.conf(5)); the module's arguments last.
  QualitySettings pwquality;
  bool pwquality_known = true;
  std::vector<std::string> conf_files;
  for (const std::string& name :
       ListRootedDir(root, "etc/security/pwquality.conf.d", kMaxConfDirFiles)) {
    if (EndsWith(name, ".conf")) {
      conf_files.push_back(Cat("/etc/security/pwquality.conf.d/", name));
    }
  }
  conf_files.push_back("/etc/security/pwquality.conf");
  for (const std::string& file : conf_files) {
    absl::StatusOr<std::string> text =
        ReadRootedFile(root, file, kMaxConfigFileBytes);
    if (text.ok()) {
      out->set_pwquality_config_present(true);
      pwquality.Apply(ParsePwqualityConf(*text));
    } else if (!absl::IsNotFound(text.status())) {
      // Settings in a file the probe cannot read are unknown: pam_pwquality
      // is then not credited with any minimum length.
      out->set_pwquality_config_present(true);
      pwquality_known = false;
      passwd_out->add_problems(
          Cat("pwquality configuration ", ReadProblem(file, text.status())));
    }
  }
  const v1::PamModuleLine* pwquality_line =
      FindModule(passwd.password(), "pam_pwquality");
  if (pwquality_line != nullptr) {
    out->set_pwquality_in_stack(true);
    pwquality.Apply(ArgumentSettings(*pwquality_line));
  }
  out->set_pwquality_minlen(pwquality.minlen);
  out->set_pwquality_dcredit(pwquality.dcredit);
  out->set_pwquality_ucredit(pwquality.ucredit);
  out->set_pwquality_lcredit(pwquality.lcredit);
  out->set_pwquality_ocredit(pwquality.ocredit);
  out->set_pwquality_minclass(pwquality.minclass);
  out->set_pwquality_retry(pwquality.retry);
  out->set_pwquality_enforce_for_root(pwquality.enforce_for_root);
  out->set_pwquality_enforcing(pwquality.enforcing);

  int64_t min_length = 0;
  int64_t classes = 0;
  if (pwquality_line != nullptr && pwquality.enforcing && pwquality_known) {
    min_length = std::max(min_length, pwquality.ShortestAccepted());
    classes = std::max(classes, pwquality.RequiredClasses());
  }
  if (const v1::PamModuleLine* cracklib =
          FindModule(passwd.password(), "pam_cracklib")) {
    out->set_cracklib_in_stack(true);
    QualitySettings settings;
    settings.minlen = kCracklibDefaultMinlen;
    settings.dcredit = settings.ucredit = settings.lcredit = settings.ocredit =
        kCracklibDefaultCredit;
    settings.Apply(ArgumentSettings(*cracklib));
    min_length = std::max(min_length, settings.ShortestAccepted());
    classes = std::max(classes, settings.RequiredClasses());
  }
  if (const v1::PamModuleLine* unix_line =
          FindModule(passwd.password(), "pam_unix")) {
    out->set_pam_unix_in_password_stack(true);
    int64_t unix_minlen = kPamUnixDefaultMinlen;
    for (const auto& [name, value] : ArgumentSettings(*unix_line)) {
      if (name == "minlen") {
        std::optional<int64_t> n = ParseSigned(value);
        if (n && *n >= 0) unix_minlen = *n;
      }
      for (std::string_view hash : kPamUnixHashes) {
        if (name == hash && value.empty()) out->set_pam_unix_hash(name);
      }
    }
    min_length = std::max(min_length, unix_minlen);
  }
  out->set_effective_min_length(min_length);
  out->set_required_classes(classes);
}

// `service` is an element of out->pam_services(); its problems note a
// faillock configuration that could not be read.
void FillLockoutFacts(v1::PamService* service_out, const fs::path& root,
                      v1::PasswordPolicyFacts* out) {
  const v1::PamService& service = *service_out;
  bool locks = false;
  bool faillock_preauth = false;
  for (const v1::PamModuleLine& line : service.auth()) {
    if (line.module_name() == "pam_faillock" && HasArgument(line, "preauth")) {
      faillock_preauth = true;
    }
  }
  for (const v1::PamModuleLine& line : service.auth()) {
    if (line.module_name() == "pam_faillock" && HasArgument(line, "authfail")) {
      ConfigSettings args = ArgumentSettings(line);
      std::string conf = "/etc/security/faillock.conf";
      bool conf_given = false;
      for (const auto& [name, value] : args) {
        if (name == "conf" && !value.empty()) {
          conf = value;
          conf_given = true;
        }
      }
      FaillockSettings settings;
      absl::StatusOr<std::string> text =
          ReadRootedFile(root, conf, kMaxConfigFileBytes);
      if (text.ok()) {
        settings.Apply(ParseFaillockConf(*text));
      } else if (conf_given || !absl::IsNotFound(text.status())) {
        // pam_faillock ignores only a missing default file; otherwise the
        // settings in force are unknown (and the module itself fails), so
        // this is no evidence of a lockout.
        service_out->add_problems(Cat("pam_faillock configuration ",
                                      ReadProblem(conf, text.status())));
        break;
      }
      settings.Apply(args);
      v1::PasswordPolicyLockout* lockout = out->add_lockouts();
      lockout->set_service(service.name());
      lockout->set_module("pam_faillock");
      lockout->set_file(line.file());
      lockout->set_deny(settings.deny);
      lockout->set_unlock_time_seconds(settings.unlock_time);
      lockout->set_fail_interval_seconds(settings.fail_interval);
      lockout->set_even_deny_root(settings.even_deny_root);
      lockout->set_checks_before_auth(faillock_preauth);
      if (settings.deny > 0) locks = true;
      break;
    }
  }
  if (const v1::PamModuleLine* tally =
          FindModule(service.auth(), "pam_tally2")) {
    FaillockSettings settings;
    settings.deny = 0;
    settings.unlock_time = 0;
    settings.fail_interval = 0;
    settings.Apply(ArgumentSettings(*tally));
    v1::PasswordPolicyLockout* lockout = out->add_lockouts();
    lockout->set_service(service.name());
    lockout->set_module("pam_tally2");
    lockout->set_file(tally->file());
    lockout->set_deny(settings.deny);
    lockout->set_unlock_time_seconds(settings.unlock_time);
    lockout->set_fail_interval_seconds(0);
    lockout->set_even_deny_root(settings.even_deny_root);
    lockout->set_checks_before_auth(true);
    if (settings.deny > 0) locks = true;
  }
  if (!locks) out->add_services_without_lockout(service.name());
}

void FillLoginDefsFacts(const fs::path& root, v1::PasswordPolicyFacts* out) {
  std::map<std::string, std::string> defs;
  absl::StatusOr<std::string> text =
      ReadRootedFile(root, "etc/login.defs", kMaxConfigFileBytes);
  if (text.ok()) {
    out->set_login_defs_present(true);
    defs = ParseLoginDefs(*text);
  }
  const auto number = [&](const char* key) -> std::optional<int64_t> {
    auto it = defs.find(key);
    if (it == defs.end()) return std::nullopt;
    return ParseSigned(it->second);
  };
  if (auto v = number("PASS_MAX_DAYS")) out->set_pass_max_days(*v);
  if (auto v = number("PASS_MIN_DAYS")) out->set_pass_min_days(*v);
  if (auto v = number("PASS_WARN_AGE")) out->set_pass_warn_age(*v);
  if (auto v = number("YESCRYPT_COST_FACTOR")) {
    out->set_yescrypt_cost_factor(*v);
  }
  if (auto v = number("SHA_CRYPT_MIN_ROUNDS")) {
    out->set_sha_crypt_min_rounds(*v);
  }
  auto method = defs.find("ENCRYPT_METHOD");
  if (method != defs.end() && !method->second.empty()) {
    out->set_encrypt_method(Upper(method->second));
    out->set_encrypt_method_effective(out->encrypt_method());
  } else {
    auto md5 = defs.find("MD5_CRYPT_ENAB");
    const bool md5_enabled =
        md5 != defs.end() && EqualsIgnoreCase(md5->second, "yes");
    out->set_encrypt_method_effective(md5_enabled ? "MD5" : "DES");
  }
}

}  // namespace

std::map<std::string, std::string> ParseLoginDefs(std::string_view text) {
  std::map<std::string, std::string> out;
  for (std::string_view line : SplitLines(text)) {
    line = Trim(line);
    if (line.empty() || line[0] == '#') continue;
    size_t key_end = 0;
    while (key_end < line.size() && !IsAsciiSpace(line[key_end])) ++key_end;
    std::string_view key = line.substr(0, key_end);
    std::string_view value = Trim(line.substr(key_end));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    out[std::string(key)] = std::string(value);
  }
  return out;
}

std::vector<PamLine> ParsePamFile(std::string_view text) {
  std::vector<PamLine> out;
  for (const std::string& joined : JoinContinuedLines(text)) {
    std::string_view line = joined;
    size_t hash = line.find('#');
    if (hash != std::string_view::npos) line = line.substr(0, hash);
    line = Trim(line);
    if (line.empty()) continue;
    std::vector<std::string> tokens;
    if (!PamTokens(line, &tokens) || tokens.empty()) continue;
    if (tokens[0] == "@include") {
      if (tokens.size() < 2) continue;
      PamLine include;
      include.kind = PamLine::Kind::kIncludeAll;
      include.module = tokens[1];
      out.push_back(std::move(include));
      continue;
    }
    if (tokens.size() < 3) continue;
    PamLine entry;
    std::string_view type = tokens[0];
    if (StartsWith(type, "-")) {
      entry.skip_if_missing = true;
      type.remove_prefix(1);
    }
    if (type.empty()) continue;  // "- auth ...": PAM wants "-auth"
    entry.type = Lower(type);
    entry.control = tokens[1];
    entry.module = tokens[2];
    const std::string control = Lower(entry.control);
    if (control == "include") {
      entry.kind = PamLine::Kind::kInclude;
    } else if (control == "substack") {
      entry.kind = PamLine::Kind::kSubstack;
    }
    entry.arguments.assign(tokens.begin() + 3, tokens.end());
    out.push_back(std::move(entry));
  }
  return out;
}

ConfigSettings ParsePwqualityConf(std::string_view text) {
  return ParseNameValueConf(text);
}

ConfigSettings ParseFaillockConf(std::string_view text) {
  return ParseNameValueConf(text);
}

v1::PamService BuildPamService(std::string_view service,
                               const RootedReader& read) {
  v1::PamService out;
  out.set_name(std::string(service));
  std::string file = Cat("/etc/pam.d/", service);
  absl::StatusOr<std::string> own = read(file);
  out.set_present(own.ok() || !absl::IsNotFound(own.status()));
  if (!out.present()) file = "/etc/pam.d/other";
  out.set_file(file);
  StackWalk walk{read, &out, {}, 0, 0};
  AppendStack(file, "", &walk);
  return out;
}

absl::StatusOr<v1::Facts> PasswordPolicyProbe::Collect(
    const fs::path& root) const {
  v1::Facts facts;
  v1::PasswordPolicyFacts* out = facts.mutable_password_policy();
  FillLoginDefsFacts(root, out);

  out->set_pam_d_present(RootedExists(root, "etc/pam.d"));
  const RootedReader read = [&root](const std::string& path) {
    return ReadRootedFile(root, path, kMaxPamFileBytes);
  };
  std::vector<std::string> services = {"login", "passwd"};
  if (RootedExists(root, "etc/pam.d/sshd")) services.push_back("sshd");
  for (const std::string& name : services) {
    *out->add_pam_services() = BuildPamService(name, read);
  }
  for (v1::PamService& service : *out->mutable_pam_services()) {
    if (service.name() == "passwd") FillPasswordFacts(&service, root, out);
  }
  for (v1::PamService& service : *out->mutable_pam_services()) {
    if (service.name() == "login" || service.name() == "sshd") {
      FillLockoutFacts(&service, root, out);
    }
  }
  out->set_faillock_config_present(
      RootedExists(root, "etc/security/faillock.conf"));
  MakeStringsValidUtf8(&facts);
  return facts;
}

}  // namespace evidentia::agent
