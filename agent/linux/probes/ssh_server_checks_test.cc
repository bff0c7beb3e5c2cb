// The checks of policies/checks/linux_ssh_server.yaml graded on the facts of
// the ssh_server fixtures and on facts built here, with the real policies
// and the example SoA.
#include <filesystem>
#include <string>

#include "absl/time/time.h"
#include "agent/linux/probes/ssh_server_probe.h"
#include "evidentia/v1/facts.pb.h"
#include "gmock/gmock.h"
#include "grading/policy.h"
#include "gtest/gtest.h"
#include "tests/support/checks.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;
using policy::Verdict;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

const absl::Time kNow = absl::FromUnixSeconds(1796083200);  // 2026-12-01

constexpr const char* kChecks[] = {
    "config_valid",    "root_login",      "password_authentication",
    "empty_passwords", "weak_algorithms", "max_auth_tries",
    "x11_forwarding",  "host_keys"};

v1::Facts Fixture(const std::string& name) {
  absl::StatusOr<v1::Facts> facts = SshServerProbe().Collect(
      fs::path(EVIDENTIA_SOURCE_DIR) / "tests/fixtures/ssh_server" / name);
  EXPECT_TRUE(facts.ok()) << facts.status();
  return facts.ok() ? *facts : v1::Facts();
}

policy::CheckResult Grade(const std::string& check, const v1::Facts& facts) {
  return testing::EvaluateCheck("linux.ssh_server." + check, facts, kNow);
}

// The facts of a Debian 12 host whose sshd_config is `config` (no
// includes), with the fixture's 3072-bit RSA, ECDSA and Ed25519 keys.
v1::Facts WithConfig(const std::string& config) {
  v1::Facts facts = Fixture("debian12_default");
  v1::SshServerFacts* ssh = facts.mutable_ssh_server();
  v1::SshServerFacts settings;
  SshdConfigSource source;
  source.read = [&](const std::string&) -> absl::StatusOr<std::string> {
    return config;
  };
  source.glob = [](const std::string&) { return std::vector<std::string>{}; };
  FillSshdSettings(EvaluateSshdConfig("/etc/ssh/sshd_config", source),
                   DefaultsForVersion("9.2"), &settings);
  *settings.mutable_host_keys() = ssh->host_keys();
  settings.set_installed(true);
  settings.set_config_state(v1::SSH_CONFIG_STATE_READ);
  *ssh = settings;
  return facts;
}

TEST(SshServerChecksTest, NotInstalledPassesEveryCheckWithoutReasons) {
  v1::Facts facts = Fixture("not_installed");
  for (const char* check : kChecks) {
    policy::CheckResult result = Grade(check, facts);
    EXPECT_EQ(result.verdict, Verdict::kPass) << check;
    EXPECT_THAT(result.reasons, IsEmpty()) << check;
  }
}

TEST(SshServerChecksTest, HardenedPassesEveryCheck) {
  v1::Facts facts = Fixture("hardened");
  for (const char* check : kChecks) {
    policy::CheckResult result = Grade(check, facts);
    EXPECT_EQ(result.verdict, Verdict::kPass) << check;
    EXPECT_THAT(result.reasons, IsEmpty()) << check;
  }
}

TEST(SshServerChecksTest, ConfigMissingFailsEveryCheckButHostKeys) {
  v1::Facts facts = Fixture("config_missing");
  for (const char* check : kChecks) {
    if (std::string(check) == "host_keys") continue;
    policy::CheckResult result = Grade(check, facts);
    EXPECT_EQ(result.verdict, Verdict::kFail) << check;
    ASSERT_THAT(result.reasons, SizeIs(1)) << check;
    EXPECT_THAT(result.reasons[0], HasSubstr("/etc/ssh/sshd_config: not found"))
        << check;
  }
}

TEST(SshServerChecksTest, ConfigUnreadableFails) {
  policy::CheckResult result =
      Grade("config_valid", Fixture("config_unreadable"));
  EXPECT_EQ(result.verdict, Verdict::kFail);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("not a regular file, so its settings "
                                    "cannot be evidenced")));
  EXPECT_EQ(Grade("root_login", Fixture("config_unreadable")).verdict,
            Verdict::kFail);
}

TEST(SshServerChecksTest, IncludeLoopFailsConfigValid) {
  policy::CheckResult result = Grade("config_valid", Fixture("include_loop"));
  EXPECT_EQ(result.verdict, Verdict::kFail);
  ASSERT_THAT(result.reasons, SizeIs(1));
  EXPECT_THAT(result.reasons[0],
              AllOf(HasSubstr("sshd would refuse"),
                    HasSubstr("Too many recursive configuration includes")));
}

TEST(SshServerChecksTest, InvalidValueFailsConfigValid) {
  policy::CheckResult result =
      Grade("config_valid", WithConfig("PasswordAuthentication maybe\n"));
  EXPECT_EQ(result.verdict, Verdict::kFail);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("/etc/ssh/sshd_config:1: "
                                    "passwordauthentication: unsupported")));
}

TEST(SshServerChecksTest, RootLoginYesFails) {
  policy::CheckResult result = Grade("root_login", Fixture("root_password"));
  EXPECT_EQ(result.verdict, Verdict::kFail);
  EXPECT_THAT(result.reasons,
              ElementsAre("sshd lets root log in with a password "
                          "(PermitRootLogin yes at /etc/ssh/sshd_config:2): "
                          "set PermitRootLogin no in /etc/ssh/sshd_config"));
}

TEST(SshServerChecksTest, RootLoginDefaultWarns) {
  policy::CheckResult result = Grade("root_login", Fixture("debian12_default"));
  EXPECT_EQ(result.verdict, Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("(PermitRootLogin prohibit-password, "
                                    "default of OpenSSH 9.2)")));
}

TEST(SshServerChecksTest, RootLoginInMatchBlockFails) {
  policy::CheckResult result = Grade("root_login", Fixture("match_passwords"));
  EXPECT_EQ(result.verdict, Verdict::kFail);
  EXPECT_THAT(result.reasons,
              ElementsAre("Match User deploy Address 203.0.113.7 "
                          "(/etc/ssh/sshd_config:11) lets root log in with a "
                          "password: remove PermitRootLogin yes from that "
                          "block"));
}

TEST(SshServerChecksTest, ForcedCommandsOnlyPasses) {
  EXPECT_EQ(
      Grade("root_login", WithConfig("PermitRootLogin forced-commands-only\n"))
          .verdict,
      Verdict::kPass);
}

TEST(SshServerChecksTest, PasswordAuthenticationWarns) {
  policy::CheckResult result =
      Grade("password_authentication", Fixture("debian12_default"));
  EXPECT_EQ(result.verdict, Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("(PasswordAuthentication yes, default of "
                                    "OpenSSH 9.2)")));
}

TEST(SshServerChecksTest, KeyboardInteractiveWithPamWarns) {
  policy::CheckResult result =
      Grade("password_authentication", Fixture("root_password"));
  EXPECT_EQ(result.verdict, Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              Contains(HasSubstr("KbdInteractiveAuthentication yes, "
                                 "/etc/ssh/sshd_config:4, with UsePAM yes")));
  // Without PAM, keyboard-interactive has no password to ask for.
  EXPECT_EQ(Grade("password_authentication",
                  WithConfig("PasswordAuthentication no\nUsePAM no\n"))
                .verdict,
            Verdict::kPass);
}

TEST(SshServerChecksTest, MatchBlockReenablingPasswordsWarns) {
  policy::CheckResult result =
      Grade("password_authentication", Fixture("match_passwords"));
  EXPECT_EQ(result.verdict, Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre("Match Address 10.0.0.0/8,192.168.0.0/16 "
                          "(/etc/ssh/sshd_config:7) turns password "
                          "authentication on for the clients it matches: "
                          "remove it or narrow it"));
}

TEST(SshServerChecksTest, EmptyPasswordsFail) {
  policy::CheckResult result =
      Grade("empty_passwords", Fixture("root_password"));
  EXPECT_EQ(result.verdict, Verdict::kFail);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("PermitEmptyPasswords yes at "
                                    "/etc/ssh/sshd_config:5")));
  policy::CheckResult in_match =
      Grade("empty_passwords",
            WithConfig("Match Group guests\n  PermitEmptyPasswords yes\n"));
  EXPECT_EQ(in_match.verdict, Verdict::kFail);
  EXPECT_THAT(in_match.reasons, ElementsAre(HasSubstr("Match Group guests")));
  EXPECT_EQ(Grade("empty_passwords", Fixture("debian12_default")).verdict,
            Verdict::kPass);
}

TEST(SshServerChecksTest, BrokenAlgorithmsFail) {
  policy::CheckResult result =
      Grade("weak_algorithms", Fixture("weak_ciphers"));
  EXPECT_EQ(result.verdict, Verdict::kFail);
  EXPECT_THAT(result.reasons,
              Contains("sshd offers the cipher 3des-cbc (64-bit block cipher "
                       "(Sweet32) in CBC mode): remove it from Ciphers "
                       "(/etc/ssh/sshd_config:2)"));
  EXPECT_THAT(result.reasons,
              Contains(HasSubstr("key exchange diffie-hellman-group1-sha1")));
  EXPECT_THAT(result.reasons, Contains(HasSubstr("the MAC hmac-md5 (MD5")));
}

TEST(SshServerChecksTest, DefaultMacsOnlyWarn) {
  policy::CheckResult result =
      Grade("weak_algorithms", Fixture("debian12_default"));
  EXPECT_EQ(result.verdict, Verdict::kWarn);
  EXPECT_THAT(result.reasons, SizeIs(4));
  EXPECT_THAT(result.reasons,
              Contains(HasSubstr("deprecated MAC hmac-sha1 (SHA-1; default of "
                                 "OpenSSH 9.2)")));
  // Removing them passes.
  EXPECT_EQ(Grade("weak_algorithms", Fixture("list_prefixes")).verdict,
            Verdict::kPass);
}

TEST(SshServerChecksTest, MaxAuthTriesAboveFourWarns) {
  policy::CheckResult stock =
      Grade("max_auth_tries", Fixture("debian12_default"));
  EXPECT_EQ(stock.verdict, Verdict::kWarn);
  EXPECT_THAT(stock.reasons,
              ElementsAre(HasSubstr("allows 6 authentication attempts per "
                                    "connection (default of OpenSSH 9.2; "
                                    "limit 4)")));
  EXPECT_EQ(Grade("max_auth_tries", WithConfig("MaxAuthTries 4\n")).verdict,
            Verdict::kPass);
  policy::CheckResult in_match =
      Grade("max_auth_tries", Fixture("match_passwords"));
  EXPECT_EQ(in_match.verdict, Verdict::kWarn);
  EXPECT_THAT(in_match.reasons,
              ElementsAre(HasSubstr("allows 10 authentication attempts")));
}

TEST(SshServerChecksTest, X11ForwardingWarns) {
  policy::CheckResult result =
      Grade("x11_forwarding", Fixture("debian12_default"));
  EXPECT_EQ(result.verdict, Verdict::kWarn);
  EXPECT_THAT(result.reasons, ElementsAre(HasSubstr("X11Forwarding yes at "
                                                    "/etc/ssh/sshd_config:")));
  EXPECT_EQ(Grade("x11_forwarding", WithConfig("")).verdict, Verdict::kPass);
  EXPECT_EQ(
      Grade("x11_forwarding", WithConfig("Match User a\nX11Forwarding yes\n"))
          .verdict,
      Verdict::kWarn);
}

TEST(SshServerChecksTest, WeakHostKeysFail) {
  policy::CheckResult result = Grade("host_keys", Fixture("weak_host_keys"));
  EXPECT_EQ(result.verdict, Verdict::kFail);
  EXPECT_THAT(
      result.reasons,
      ElementsAre(
          HasSubstr("/etc/ssh/ssh_host_dsa_key.pub is a DSA host key"),
          HasSubstr("/etc/ssh/ssh_host_rsa_key.pub is a 1024-bit RSA host "
                    "key, under 2048 bits"),
          HasSubstr("/etc/ssh/ssh_host_rsa2048_key.pub is a 2048-bit RSA "
                    "host key, under 3072 bits"),
          HasSubstr("/etc/ssh/ssh_host_rsa_key.pub is a 1024-bit RSA host "
                    "key, under 3072 bits")));
}

TEST(SshServerChecksTest, RsaUnder3072Warns) {
  v1::Facts facts = Fixture("debian12_default");
  for (v1::SshHostKey& key : *facts.mutable_ssh_server()->mutable_host_keys()) {
    if (key.type() == v1::SSH_HOST_KEY_TYPE_RSA) key.set_bits(2048);
  }
  policy::CheckResult result = Grade("host_keys", facts);
  EXPECT_EQ(result.verdict, Verdict::kWarn);
  EXPECT_THAT(result.reasons, ElementsAre(HasSubstr("2048-bit RSA")));
}

TEST(SshServerChecksTest, UndecodableKeyInUseWarns) {
  v1::Facts facts = Fixture("debian12_default");
  v1::SshHostKey* key = facts.mutable_ssh_server()->mutable_host_keys(0);
  key->set_type(v1::SSH_HOST_KEY_TYPE_UNSPECIFIED);
  key->set_error("malformed: invalid base64");
  policy::CheckResult result = Grade("host_keys", facts);
  EXPECT_EQ(result.verdict, Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("(malformed: invalid base64)")));
}

TEST(SshServerChecksTest, Debian12DefaultIsValidConfig) {
  policy::CheckResult result =
      Grade("config_valid", Fixture("debian12_default"));
  EXPECT_EQ(result.verdict, Verdict::kPass);
  EXPECT_THAT(result.reasons, IsEmpty());
}

}  // namespace
}  // namespace evidentia::agent
