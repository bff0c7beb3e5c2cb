// The checks of policies/checks/linux_password_policy.yaml graded on the
// facts of the probe's fixture trees (and small edits of them), with the
// real policies and the example SoA.
#include <filesystem>
#include <string>

#include "absl/time/time.h"
#include "agent/linux/probes/password_policy_probe.h"
#include "evidentia/v1/facts.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/checks.h"

namespace evidentia::agent {
namespace {

using policy::Verdict;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const absl::Time kNow = absl::FromUnixSeconds(1796256000);  // 2026-12-03

v1::Facts Fixture(const std::string& name) {
  absl::StatusOr<v1::Facts> facts = PasswordPolicyProbe().Collect(
      std::filesystem::path(EVIDENTIA_SOURCE_DIR) /
      "tests/fixtures/password_policy" / name);
  EXPECT_TRUE(facts.ok()) << facts.status();
  return facts.ok() ? *facts : v1::Facts();
}

policy::CheckResult Grade(const std::string& check, const v1::Facts& facts) {
  return testing::EvaluateCheck("linux.password_policy." + check, facts, kNow);
}

// --- min_length ------------------------------------------------------------

TEST(PasswordPolicyChecksTest, MinLengthFailsOnDebianDefault) {
  policy::CheckResult result = Grade("min_length", Fixture("debian12_default"));
  EXPECT_EQ(result.verdict, Verdict::kFail);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("accepts passwords of 6 characters (at "
                                    "least 8 required)")));
}

TEST(PasswordPolicyChecksTest, MinLengthPassesWithPwqualityTwelve) {
  policy::CheckResult result = Grade("min_length", Fixture("debian_pwquality"));
  EXPECT_EQ(result.verdict, Verdict::kPass);
  EXPECT_THAT(result.reasons, IsEmpty());
}

TEST(PasswordPolicyChecksTest, MinLengthWarnsBetweenEightAndTwelve) {
  v1::Facts facts = Fixture("include_loop");  // pam_unix minlen=9
  policy::CheckResult result = Grade("min_length", facts);
  EXPECT_EQ(result.verdict, Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("accepts passwords of 9 characters: set "
                                    "minlen = 12")));
}

TEST(PasswordPolicyChecksTest, MinLengthFlagsPwqualityConfNotInEffect) {
  policy::CheckResult result =
      Grade("min_length", Fixture("pwquality_not_in_stack"));
  EXPECT_EQ(result.verdict, Verdict::kFail);
  ASSERT_EQ(result.reasons.size(), 2u);
  EXPECT_THAT(result.reasons[1],
              HasSubstr("pam_pwquality is not in passwd's PAM stack, so its "
                        "settings (minlen 14) are not in effect"));
}

TEST(PasswordPolicyChecksTest, MinLengthFailsWithoutPam) {
  v1::Facts facts;
  facts.mutable_password_policy();  // no /etc/pam.d: nothing checks length
  EXPECT_EQ(Grade("min_length", facts).verdict, Verdict::kFail);
}

// --- lockout ---------------------------------------------------------------

TEST(PasswordPolicyChecksTest, LockoutWarnsOnDebianDefault) {
  policy::CheckResult result = Grade("lockout", Fixture("debian12_default"));
  EXPECT_EQ(result.verdict, Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("login's PAM auth stack does not lock"),
                          HasSubstr("sshd's PAM auth stack does not lock")));
}

TEST(PasswordPolicyChecksTest, LockoutPassesWithFaillock) {
  policy::CheckResult result = Grade("lockout", Fixture("debian_faillock"));
  EXPECT_EQ(result.verdict, Verdict::kPass);
  EXPECT_THAT(result.reasons, IsEmpty());
}

TEST(PasswordPolicyChecksTest, LockoutWarnsForServiceWithoutIt) {
  policy::CheckResult result = Grade("lockout", Fixture("rhel_system_auth"));
  EXPECT_EQ(result.verdict, Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("sshd's PAM auth stack does not lock")));
}

TEST(PasswordPolicyChecksTest, LockoutWarnsWhenAStackCouldNotBeAssembled) {
  // include_loop: login includes a loop and a missing file (as passwd
  // does); no lockout.
  policy::CheckResult result = Grade("lockout", Fixture("include_loop"));
  EXPECT_EQ(result.verdict, Verdict::kWarn);
  EXPECT_THAT(
      result.reasons,
      ElementsAre(HasSubstr("login's PAM auth stack does not lock"),
                  "login's PAM stack could not be read as PAM reads it "
                  "(include loop at /etc/pam.d/common-auth), so its password "
                  "and lockout settings are not evidenced: fix the file "
                  "under /etc/pam.d or /etc/security",
                  HasSubstr("login's PAM stack could not be read as PAM "
                            "reads it (missing include "
                            "/etc/pam.d/common-missing)"),
                  HasSubstr("passwd's PAM stack could not be read as PAM "
                            "reads it (missing include "
                            "/etc/pam.d/common-missing)")));
}

TEST(PasswordPolicyChecksTest, LockoutWarnsOnHighDenyAndMissingPreauth) {
  v1::Facts facts = Fixture("debian_faillock");
  v1::PasswordPolicyLockout* login =
      facts.mutable_password_policy()->mutable_lockouts(0);
  login->set_deny(50);
  login->set_checks_before_auth(false);
  policy::CheckResult result = Grade("lockout", facts);
  EXPECT_EQ(result.verdict, Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("locks only after 50 failures"),
                          HasSubstr("has no preauth line")));
}

// --- hash_method -----------------------------------------------------------

TEST(PasswordPolicyChecksTest, HashMethodPassesOnDebianDefault) {
  policy::CheckResult result =
      Grade("hash_method", Fixture("debian12_default"));
  EXPECT_EQ(result.verdict, Verdict::kPass);
  EXPECT_THAT(result.reasons, IsEmpty());
}

TEST(PasswordPolicyChecksTest, HashMethodFailsOnMd5) {
  policy::CheckResult result =
      Grade("hash_method", Fixture("legacy_cracklib_tally2"));
  EXPECT_EQ(result.verdict, Verdict::kFail);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("hashed with MD5"),
                          HasSubstr("pam_unix hashes passwords changed with "
                                    "passwd as md5")));
}

TEST(PasswordPolicyChecksTest, HashMethodFailsWhenLoginDefsMissing) {
  // Without ENCRYPT_METHOD shadow's tools fall back to DES.
  policy::CheckResult result =
      Grade("hash_method", Fixture("login_defs_missing"));
  EXPECT_EQ(result.verdict, Verdict::kFail);
  EXPECT_THAT(result.reasons, ElementsAre(HasSubstr("hashed with DES")));
}

TEST(PasswordPolicyChecksTest, HashMethodWarnsOnSha256) {
  v1::Facts facts = Fixture("debian12_default");
  facts.mutable_password_policy()->set_encrypt_method_effective("SHA256");
  policy::CheckResult result = Grade("hash_method", facts);
  EXPECT_EQ(result.verdict, Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("ENCRYPT_METHOD SHA256 in /etc/login.defs "
                                    "is not one of the recommended")));
}

// --- max_age ---------------------------------------------------------------

TEST(PasswordPolicyChecksTest, MaxAgeWarnsOn99999) {
  policy::CheckResult result = Grade("max_age", Fixture("debian12_default"));
  EXPECT_EQ(result.verdict, Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("PASS_MAX_DAYS is 99999 days")));
}

TEST(PasswordPolicyChecksTest, MaxAgePassesAtNinety) {
  policy::CheckResult result = Grade("max_age", Fixture("rhel_system_auth"));
  EXPECT_EQ(result.verdict, Verdict::kPass);
  EXPECT_THAT(result.reasons, IsEmpty());
}

TEST(PasswordPolicyChecksTest, MaxAgeWarnsWhenUnset) {
  policy::CheckResult result = Grade("max_age", Fixture("login_defs_missing"));
  EXPECT_EQ(result.verdict, Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("PASS_MAX_DAYS is not set")));
}

}  // namespace
}  // namespace evidentia::agent
