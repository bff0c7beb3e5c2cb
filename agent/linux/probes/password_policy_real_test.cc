// linux.password_policy on this machine (root "/") against the real tools
// run by the test: awk over /etc/login.defs for each setting (the last line
// wins, as shadow's getdef reads it), and the PAM service files as the
// shell sees them.

#include <cctype>
#include <set>
#include <string>

#include "agent/linux/probes/password_policy_probe.h"
#include "agent/linux/sys/text.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/shell.h"

namespace evidentia::agent {
namespace {

using evidentia::testing::Shell;
using evidentia::testing::ShellResult;

// The value of `key` in /etc/login.defs per awk; "" when absent or the
// file is missing.
std::string AwkLoginDefs(const std::string& key) {
  ShellResult result =
      Shell("awk '$1==\"" + key + "\"{v=$2} END{print v}' /etc/login.defs");
  return std::string(Trim(result.out));
}

v1::PasswordPolicyFacts CollectHere() {
  absl::StatusOr<v1::Facts> facts = PasswordPolicyProbe().Collect("/");
  EXPECT_TRUE(facts.ok()) << facts.status();
  return facts.ok() ? facts->password_policy() : v1::PasswordPolicyFacts();
}

TEST(PasswordPolicyRealTest, LoginDefsMatchesAwk) {
  v1::PasswordPolicyFacts facts = CollectHere();
  EXPECT_EQ(facts.login_defs_present(),
            Shell("test -r /etc/login.defs").status == 0);
  const auto expect_number = [](const std::string& key, bool has,
                                int64_t value) {
    std::string tool = AwkLoginDefs(key);
    EXPECT_EQ(has ? std::to_string(value) : "", tool) << key;
  };
  expect_number("PASS_MAX_DAYS", facts.has_pass_max_days(),
                facts.pass_max_days());
  expect_number("PASS_MIN_DAYS", facts.has_pass_min_days(),
                facts.pass_min_days());
  expect_number("PASS_WARN_AGE", facts.has_pass_warn_age(),
                facts.pass_warn_age());
  expect_number("YESCRYPT_COST_FACTOR", facts.has_yescrypt_cost_factor(),
                facts.yescrypt_cost_factor());
  expect_number("SHA_CRYPT_MIN_ROUNDS", facts.has_sha_crypt_min_rounds(),
                facts.sha_crypt_min_rounds());
  std::string method = AwkLoginDefs("ENCRYPT_METHOD");
  for (char& c : method) c = static_cast<char>(std::toupper(c));
  EXPECT_EQ(facts.encrypt_method(), method);
  if (!method.empty()) {
    EXPECT_EQ(facts.encrypt_method_effective(), method);
  }
}

TEST(PasswordPolicyRealTest, ServicesMatchPamD) {
  v1::PasswordPolicyFacts facts = CollectHere();
  EXPECT_EQ(facts.pam_d_present(), Shell("test -d /etc/pam.d").status == 0);
  ASSERT_GE(facts.pam_services_size(), 2);
  for (const v1::PamService& service : facts.pam_services()) {
    SCOPED_TRACE(service.name());
    EXPECT_EQ(service.present(),
              Shell("test -e /etc/pam.d/" + service.name()).status == 0);
    // Every line the probe reports is in the file it names, per awk.
    for (const auto* stack :
         {&service.auth(), &service.account(), &service.password()}) {
      for (const v1::PamModuleLine& line : *stack) {
        ShellResult found =
            Shell("awk '!/^[ \\t]*#/ && ($1==\"" + line.type() +
                  "\" || $1==\"-" + line.type() + "\") && index($0, \"" +
                  line.module() + "\")' " + line.file());
        EXPECT_FALSE(Trim(found.out).empty())
            << line.module() << " in " << line.file();
      }
    }
  }
  // login, and sshd when installed, either lock accounts or are listed as
  // not doing so; never both.
  std::set<std::string> locking;
  for (const v1::PasswordPolicyLockout& lockout : facts.lockouts()) {
    if (lockout.deny() > 0) locking.insert(lockout.service());
  }
  std::set<std::string> without(facts.services_without_lockout().begin(),
                                facts.services_without_lockout().end());
  for (const v1::PamService& service : facts.pam_services()) {
    if (service.name() == "passwd") continue;
    EXPECT_NE(locking.count(service.name()), without.count(service.name()))
        << service.name();
  }
}

TEST(PasswordPolicyRealTest, TwoCollectionsGiveIdenticalBytes) {
  absl::StatusOr<v1::Facts> first = PasswordPolicyProbe().Collect("/");
  absl::StatusOr<v1::Facts> second = PasswordPolicyProbe().Collect("/");
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->SerializeAsString(), second->SerializeAsString());
}

}  // namespace
}  // namespace evidentia::agent
