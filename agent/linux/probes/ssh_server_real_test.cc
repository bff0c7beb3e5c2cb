// linux.ssh_server on this machine (root "/") against OpenSSH itself:
// `sshd -T` prints the settings sshd derives from a configuration, so the
// probe's effective values must equal them, for /etc/ssh/sshd_config and for
// self-contained fixture configurations that exercise first-wins, Include
// and the +/-/^ algorithm lists. Host keys are compared with ssh-keygen -l.
// CI installs openssh-server (tests/run.sh); without it the probe must say
// sshd is not installed.
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "agent/linux/probes/ssh_server_probe.h"
#include "agent/linux/sys/text.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/machine_lock.h"
#include "tests/support/shell.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSshd = "/usr/sbin/sshd";

struct CommandResult {
  int exit_code = -1;
  std::string output;
};

// `command` through tests/support/shell.h; a "2>&1" inside `command`
// still reaches the output (the subshell applies it).
CommandResult RunCommand(const std::string& command) {
  testing::ShellResult shell = testing::Shell("( " + command + " )");
  return {shell.status, std::move(shell.out)};
}

bool SshdInstalled() { return fs::exists(kSshd); }

// sshd needs its privilege separation directory even for -T; Debian's
// service creates /run/sshd at start, which a container without systemd
// never does. Created here (as sshd itself would be started) if missing.
void EnsurePrivsepDir() {
  std::error_code ec;
  fs::create_directories("/run/sshd", ec);
  ASSERT_TRUE(fs::is_directory("/run/sshd")) << ec.message();
}

// `sshd -T -f config` as keyword -> value (first line of each keyword;
// multi-line keywords such as hostkey are collected in `multi`).
struct SshdDump {
  std::map<std::string, std::string> values;
  std::multimap<std::string, std::string> multi;
};

SshdDump SshdTest(const std::string& config) {
  EnsurePrivsepDir();
  CommandResult result = RunCommand(Cat(kSshd, " -T -f '", config, "' 2>&1"));
  EXPECT_EQ(result.exit_code, 0) << config << ":\n" << result.output;
  SshdDump dump;
  for (std::string_view line : SplitLines(result.output)) {
    size_t space = line.find(' ');
    if (space == std::string_view::npos) continue;
    std::string key(line.substr(0, space));
    std::string value(line.substr(space + 1));
    dump.values.emplace(key, value);
    dump.multi.emplace(key, value);
  }
  return dump;
}

std::string RootLoginWord(v1::SshPermitRootLogin value) {
  switch (value) {
    case v1::SSH_PERMIT_ROOT_LOGIN_YES:
      return "yes";
    case v1::SSH_PERMIT_ROOT_LOGIN_PROHIBIT_PASSWORD:
      return "without-password";  // how OpenSSH 9.2 prints it
    case v1::SSH_PERMIT_ROOT_LOGIN_FORCED_COMMANDS_ONLY:
      return "forced-commands-only";
    case v1::SSH_PERMIT_ROOT_LOGIN_NO:
      return "no";
    default:
      return "?";
  }
}

std::string YesNo(bool value) { return value ? "yes" : "no"; }

std::string Joined(const google::protobuf::RepeatedPtrField<std::string>& v) {
  std::string out;
  for (const std::string& s : v) {
    if (!out.empty()) out.push_back(',');
    out += s;
  }
  return out;
}

// The probe's settings agree with sshd -T on every reported keyword.
void ExpectSameAsSshd(const v1::SshServerFacts& facts, const SshdDump& sshd,
                      const std::string& what) {
  SCOPED_TRACE(what);
  auto value = [&](const std::string& key) {
    auto it = sshd.values.find(key);
    EXPECT_NE(it, sshd.values.end()) << "sshd -T printed no " << key;
    return it == sshd.values.end() ? std::string("<missing>") : it->second;
  };
  std::string root_login = value("permitrootlogin");
  if (root_login == "prohibit-password") root_login = "without-password";
  EXPECT_EQ(RootLoginWord(facts.permit_root_login().value()), root_login);
  EXPECT_EQ(YesNo(facts.password_authentication().value()),
            value("passwordauthentication"));
  EXPECT_EQ(YesNo(facts.kbd_interactive_authentication().value()),
            value("kbdinteractiveauthentication"));
  EXPECT_EQ(YesNo(facts.permit_empty_passwords().value()),
            value("permitemptypasswords"));
  EXPECT_EQ(std::to_string(facts.max_auth_tries().value()),
            value("maxauthtries"));
  EXPECT_EQ(YesNo(facts.x11_forwarding().value()), value("x11forwarding"));
  EXPECT_EQ(YesNo(facts.use_pam().value()), value("usepam"));
  EXPECT_EQ(Joined(facts.ciphers().effective()), value("ciphers"));
  EXPECT_EQ(Joined(facts.macs().effective()), value("macs"));
  EXPECT_EQ(Joined(facts.kex_algorithms().effective()), value("kexalgorithms"));
}

// The probe's evaluation of a configuration file on the real filesystem
// (absolute includes resolved by glob(3)), with this machine's version.
v1::SshServerFacts EvaluateFile(const std::string& path,
                                const std::string& version) {
  SshdConfigSource source;
  source.read = [](const std::string& p) -> absl::StatusOr<std::string> {
    std::ifstream in(p, std::ios::binary);
    if (!in) return absl::NotFoundError(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  source.glob = [](const std::string& pattern) {
    std::vector<std::string> out;
    glob_t g{};
    if (glob(pattern.c_str(), 0, nullptr, &g) == 0) {
      for (size_t i = 0; i < g.gl_pathc; ++i) out.push_back(g.gl_pathv[i]);
    }
    globfree(&g);
    return out;
  };
  v1::SshServerFacts facts;
  FillSshdSettings(EvaluateSshdConfig(path, source),
                   DefaultsForVersion(version), &facts);
  return facts;
}

v1::SshServerFacts CollectHere() {
  absl::StatusOr<v1::Facts> facts = SshServerProbe().Collect("/");
  EXPECT_TRUE(facts.ok()) << facts.status();
  return facts.ok() ? facts->ssh_server() : v1::SshServerFacts();
}

// Tests run `sshd -T` in parallel processes: while one runs, "sshd" is a
// running process to the probe and to pidof. Every test here holds the
// same lock, so none sees another's sshd.
class SshServerRealTest : public ::testing::Test {
  testing::MachineLock lock_{"sshd"};
};

TEST_F(SshServerRealTest, InstalledMatchesTheSshdBinary) {
  v1::SshServerFacts facts = CollectHere();
  EXPECT_EQ(facts.installed(), SshdInstalled());
}

TEST_F(SshServerRealTest, VersionMatchesSshdV) {
  v1::SshServerFacts facts = CollectHere();
  if (!SshdInstalled()) {
    EXPECT_EQ(facts.openssh_version(), "");
    return;
  }
  CommandResult version = RunCommand(Cat(kSshd, " -V 2>&1"));
  EXPECT_THAT(version.output,
              ::testing::HasSubstr(Cat("OpenSSH_", facts.openssh_version())));
  EXPECT_EQ(facts.defaults_version(), facts.openssh_version())
      << "this machine's OpenSSH has no defaults table of its own";
}

TEST_F(SshServerRealTest, RunningMatchesPidof) {
  ASSERT_EQ(RunCommand("command -v pidof >/dev/null").exit_code, 0)
      << "pidof (sysvinit-utils) is needed to compare";
  bool pidof = RunCommand("pidof sshd >/dev/null").exit_code == 0;
  EXPECT_EQ(CollectHere().running(), pidof);
}

TEST_F(SshServerRealTest, EffectiveSettingsMatchSshdT) {
  v1::SshServerFacts facts = CollectHere();
  if (!SshdInstalled()) {
    EXPECT_FALSE(facts.installed());
    EXPECT_EQ(facts.config_state(), v1::SSH_CONFIG_STATE_UNSPECIFIED);
    return;
  }
  ASSERT_EQ(facts.config_state(), v1::SSH_CONFIG_STATE_READ)
      << facts.config_error();
  EXPECT_THAT(facts.config_errors(), ::testing::IsEmpty());
  ExpectSameAsSshd(facts, SshdTest("/etc/ssh/sshd_config"),
                   "/etc/ssh/sshd_config");
}

TEST_F(SshServerRealTest, HostKeysInUseMatchSshdTAndSshKeygen) {
  v1::SshServerFacts facts = CollectHere();
  if (!SshdInstalled()) {
    EXPECT_THAT(facts.host_keys(), ::testing::IsEmpty());
    return;
  }
  SshdDump sshd = SshdTest("/etc/ssh/sshd_config");
  std::set<std::string> sshd_keys;
  auto [begin, end] = sshd.multi.equal_range("hostkey");
  for (auto it = begin; it != end; ++it) {
    if (fs::exists(it->second)) sshd_keys.insert(it->second + ".pub");
  }
  std::set<std::string> probe_keys;
  for (const v1::SshHostKey& key : facts.host_keys()) {
    if (key.in_use()) probe_keys.insert(key.path());
    if (key.error().empty()) {
      // "3072 SHA256:... comment (RSA)"
      CommandResult keygen =
          RunCommand(Cat("ssh-keygen -l -f '", key.path(), "'"));
      ASSERT_EQ(keygen.exit_code, 0) << keygen.output;
      EXPECT_TRUE(StartsWith(keygen.output, Cat(key.bits(), " ")))
          << key.path() << ": " << keygen.output;
      const char* type = key.type() == v1::SSH_HOST_KEY_TYPE_RSA     ? "(RSA)"
                         : key.type() == v1::SSH_HOST_KEY_TYPE_ECDSA ? "(ECDSA)"
                         : key.type() == v1::SSH_HOST_KEY_TYPE_ED25519
                             ? "(ED25519)"
                         : key.type() == v1::SSH_HOST_KEY_TYPE_DSA ? "(DSA)"
                                                                   : "(?)";
      EXPECT_THAT(keygen.output, ::testing::HasSubstr(type)) << key.path();
    }
  }
  EXPECT_EQ(probe_keys, sshd_keys);
}

TEST_F(SshServerRealTest, TwoCollectionsAreIdentical) {
  absl::StatusOr<v1::Facts> a = SshServerProbe().Collect("/");
  absl::StatusOr<v1::Facts> b = SshServerProbe().Collect("/");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->SerializeAsString(), b->SerializeAsString());
}

// Self-contained fixture configurations: sshd -T -f FILE and the probe's
// evaluation of the same file must agree (first-wins, key=value, quoting,
// Match kept out of the globals, +/-/^ lists with wildcards).
TEST_F(SshServerRealTest, FixtureConfigsMatchSshdT) {
  ASSERT_TRUE(SshdInstalled()) << "tests/run.sh installs openssh-server";
  const std::string version = CollectHere().openssh_version();
  for (const char* name :
       {"hardened", "root_password", "match_passwords", "weak_ciphers",
        "list_prefixes", "debian12_default"}) {
    std::string path =
        (fs::path(EVIDENTIA_SOURCE_DIR) / "tests/fixtures/ssh_server" / name /
         "etc/ssh/sshd_config")
            .string();
    v1::SshServerFacts facts = EvaluateFile(path, version);
    EXPECT_THAT(facts.config_errors(), ::testing::IsEmpty()) << name;
    ExpectSameAsSshd(facts, SshdTest(path), name);
  }
}

// Include with absolute globs into a temp dir: files in glob order, the
// first value wins across them, and a Match in an included file ends with
// that file.
TEST_F(SshServerRealTest, IncludeFirstWinsMatchesSshdT) {
  ASSERT_TRUE(SshdInstalled()) << "tests/run.sh installs openssh-server";
  char tmpl[] = "/tmp/ssh_server_real_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const fs::path dir(tmpl);
  fs::create_directories(dir / "d");
  auto write = [](const fs::path& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
  };
  write(dir / "main.conf",
        Cat("Include ", (dir / "d").string(), "/*.conf\n",
            "PermitRootLogin yes\nX11Forwarding yes\nMaxAuthTries 9\n",
            "Ciphers aes256-ctr\n"));
  write(dir / "d/10-first.conf",
        "PermitRootLogin no\nMACs -umac-64*,hmac-sha1*\n"
        "Match User alice\nX11Forwarding no\n");
  write(dir / "d/20-second.conf",
        "PermitRootLogin yes\nX11Forwarding = no\n"
        "Ciphers ^aes128-gcm@openssh.com\n");
  const std::string main = (dir / "main.conf").string();
  v1::SshServerFacts facts =
      EvaluateFile(main, CollectHere().openssh_version());
  EXPECT_THAT(facts.config_errors(), ::testing::IsEmpty());
  EXPECT_EQ(facts.permit_root_login().value(), v1::SSH_PERMIT_ROOT_LOGIN_NO);
  EXPECT_EQ(facts.max_auth_tries().value(), 9);
  ExpectSameAsSshd(facts, SshdTest(main), "include tree");
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace evidentia::agent
