// The checks of policies/checks/linux_accounts_deeper.yaml graded on the
// facts of the deeper_accounts fixture (its "today" is 2026-12-01) and on
// facts built here, with the real policies and the example SoA, including
// the alias-aware rule of linux.local_accounts.sudo_members_allowed.
#include <filesystem>
#include <string>

#include "absl/time/time.h"
#include "agent/linux/probes/local_accounts_probe.h"
#include "evidentia/v1/facts.pb.h"
#include "gmock/gmock.h"
#include "grading/policy.h"
#include "gtest/gtest.h"
#include "tests/support/checks.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;
using policy::Verdict;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const absl::Time kNow = absl::FromUnixSeconds(1796083200);  // 2026-12-01
constexpr int64_t kDay = 86400;
constexpr int64_t kNowUnix = 1796083200;

v1::Facts Fixture(const std::string& name) {
  absl::StatusOr<v1::Facts> facts = LocalAccountsProbe().Collect(
      fs::path(EVIDENTIA_SOURCE_DIR) / "tests/fixtures/local_accounts" / name);
  EXPECT_TRUE(facts.ok()) << facts.status();
  return facts.ok() ? *facts : v1::Facts();
}

policy::CheckResult Grade(const std::string& check, const v1::Facts& facts) {
  return testing::EvaluateCheck("linux.local_accounts." + check, facts, kNow);
}

// One person's account in good standing: logged in yesterday, password
// changed 30 days ago with a 365-day maximum.
v1::Facts HealthyHost() {
  v1::Facts facts;
  v1::LocalAccountsFacts* accounts = facts.mutable_local_accounts();
  accounts->set_shadow_readable(true);
  accounts->set_lastlog_present(true);
  accounts->set_uid_min(1000);
  accounts->set_uid_max(60000);
  v1::Account* alice = accounts->add_accounts();
  alice->set_name("alice");
  alice->set_uid(1000);
  alice->set_shell("/bin/bash");
  alice->set_interactive(true);
  alice->set_password_state(v1::PASSWORD_STATE_SET);
  alice->set_password_last_change_unix(kNowUnix - 30 * kDay);
  alice->set_password_expires_unix(kNowUnix + 335 * kDay);
  alice->set_last_login_state(v1::LAST_LOGIN_STATE_RECORDED);
  alice->set_last_login_unix(kNowUnix - kDay);
  return facts;
}

v1::Account* Alice(v1::Facts* facts) {
  return facts->mutable_local_accounts()->mutable_accounts(0);
}

// --- password_expiry ---------------------------------------------------------

TEST(AccountsDeeperChecksTest, PasswordExpiryPassesForHealthyAccount) {
  policy::CheckResult result = Grade("password_expiry", HealthyHost());
  EXPECT_EQ(result.verdict, Verdict::kPass);
  EXPECT_THAT(result.reasons, IsEmpty());
}

TEST(AccountsDeeperChecksTest, PasswordExpiryOnFixture) {
  policy::CheckResult result =
      Grade("password_expiry", Fixture("deeper_accounts"));
  EXPECT_EQ(result.verdict, Verdict::kFail);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("dave's password expired 10 days ago"),
                          HasSubstr("root's password has no maximum age"),
                          HasSubstr("postgres's password has no maximum age"),
                          HasSubstr("erin's password has no maximum age")));
}

TEST(AccountsDeeperChecksTest, NoMaximumAgeOnlyWarns) {
  v1::Facts facts = HealthyHost();
  Alice(&facts)->clear_password_expires_unix();
  Alice(&facts)->set_password_never_expires(true);
  policy::CheckResult result = Grade("password_expiry", facts);
  EXPECT_EQ(result.verdict, Verdict::kWarn);
  EXPECT_THAT(result.reasons, ElementsAre(HasSubstr("chage -M 365 alice")));
}

TEST(AccountsDeeperChecksTest, MustChangeAndLockedPasswordsAreLeftOut) {
  v1::Facts facts = HealthyHost();
  Alice(&facts)->clear_password_expires_unix();
  Alice(&facts)->set_password_change_required(true);
  EXPECT_EQ(Grade("password_expiry", facts).verdict, Verdict::kPass);
  facts = HealthyHost();
  Alice(&facts)->set_password_expires_unix(kNowUnix - kDay);
  Alice(&facts)->set_password_state(v1::PASSWORD_STATE_LOCKED);
  EXPECT_EQ(Grade("password_expiry", facts).verdict, Verdict::kPass);
}

// --- dormant -----------------------------------------------------------------

TEST(AccountsDeeperChecksTest, DormantPassesForRecentLogin) {
  policy::CheckResult result = Grade("dormant", HealthyHost());
  EXPECT_EQ(result.verdict, Verdict::kPass);
  EXPECT_THAT(result.reasons, IsEmpty());
}

TEST(AccountsDeeperChecksTest, DormantOnFixture) {
  policy::CheckResult result = Grade("dormant", Fixture("deeper_accounts"));
  EXPECT_EQ(result.verdict, Verdict::kFail);
  EXPECT_THAT(
      result.reasons,
      ElementsAre(HasSubstr("bob can log in but last did 120 days ago"),
                  HasSubstr("postgres can log in but lastlog records no "
                            "login, and its password was set 400 days ago"),
                  HasSubstr("carol can log in but lastlog records no login, "
                            "and its password was set 200 days ago")));
}

TEST(AccountsDeeperChecksTest, NeverLoggedInWithNewPasswordPasses) {
  v1::Facts facts = HealthyHost();
  Alice(&facts)->clear_last_login_unix();
  Alice(&facts)->set_last_login_state(v1::LAST_LOGIN_STATE_NEVER);
  EXPECT_EQ(Grade("dormant", facts).verdict, Verdict::kPass);
}

TEST(AccountsDeeperChecksTest, MissingLastlogWarnsAndNeverFailsAnAccount) {
  v1::Facts facts = HealthyHost();
  facts.mutable_local_accounts()->set_lastlog_present(false);
  Alice(&facts)->clear_last_login_unix();
  Alice(&facts)->set_last_login_state(v1::LAST_LOGIN_STATE_UNKNOWN);
  policy::CheckResult result = Grade("dormant", facts);
  EXPECT_EQ(result.verdict, Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("/var/log/lastlog is missing")));
}

// --- unique_uids -------------------------------------------------------------

TEST(AccountsDeeperChecksTest, UniqueUidsPassesWithoutDuplicates) {
  EXPECT_EQ(Grade("unique_uids", HealthyHost()).verdict, Verdict::kPass);
}

TEST(AccountsDeeperChecksTest, UniqueUidsFailsOnFixture) {
  policy::CheckResult result = Grade("unique_uids", Fixture("deeper_accounts"));
  EXPECT_EQ(result.verdict, Verdict::kFail);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("uid 1004 is shared by erin, frank")));
}

// --- system_accounts_no_login ------------------------------------------------

TEST(AccountsDeeperChecksTest, SystemAccountsPassOnDebianDesktop) {
  policy::CheckResult result =
      Grade("system_accounts_no_login", Fixture("debian_desktop"));
  EXPECT_EQ(result.verdict, Verdict::kPass);
  EXPECT_THAT(result.reasons, IsEmpty());
}

TEST(AccountsDeeperChecksTest, SystemAccountWithShellAndPasswordFails) {
  policy::CheckResult result =
      Grade("system_accounts_no_login", Fixture("deeper_accounts"));
  EXPECT_EQ(result.verdict, Verdict::kFail);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("postgres (uid 101, outside the login "
                                    "range 500-60000 of /etc/login.defs)")));
}

// --- sudo_members_allowed with aliases ---------------------------------------

TEST(AccountsDeeperChecksTest, SudoRuleGradesAliasMembers) {
  v1::Facts facts;
  v1::SudoRule* rule = facts.mutable_local_accounts()->add_sudo_rules();
  rule->set_file("/etc/sudoers");
  rule->set_principal("ADMINS");
  rule->add_expanded_principals("itadmin");
  rule->add_expanded_principals("mallory");
  rule->set_hosts("ALL");
  rule->add_commands("ALL");
  rule->set_all_commands(true);
  policy::CheckResult result = Grade("sudo_members_allowed", facts);
  EXPECT_EQ(result.verdict, Verdict::kFail);
  EXPECT_THAT(result.reasons,
              ElementsAre("/etc/sudoers grants sudo to mallory (via ADMINS), "
                          "who is not in the allowed administrators"));

  // An alias of approved administrators only passes.
  rule->clear_expanded_principals();
  rule->add_expanded_principals("itadmin");
  rule->add_expanded_principals("mkovacs");
  result = Grade("sudo_members_allowed", facts);
  EXPECT_EQ(result.verdict, Verdict::kPass);
  EXPECT_THAT(result.reasons, IsEmpty());
}

TEST(AccountsDeeperChecksTest, SudoRuleFailsAnAliasNotExpandedInFull) {
  // What the probe reports for an alias past its expansion bound.
  v1::Facts facts;
  v1::SudoRule* rule = facts.mutable_local_accounts()->add_sudo_rules();
  rule->set_file("/etc/sudoers.d/big");
  rule->set_principal("BIG");
  rule->add_expanded_principals("BIG");
  rule->add_expanded_principals("itadmin");
  policy::CheckResult result = Grade("sudo_members_allowed", facts);
  EXPECT_EQ(result.verdict, Verdict::kFail);
  EXPECT_THAT(result.reasons,
              ElementsAre("/etc/sudoers.d/big grants sudo to BIG (via BIG), "
                          "who is not in the allowed administrators"));
}

}  // namespace
}  // namespace evidentia::agent
