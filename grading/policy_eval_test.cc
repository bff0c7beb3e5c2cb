#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "evidentia/v1/facts.pb.h"
#include "evidentia/v1/facts/anti_malware.pb.h"
#include "evidentia/v1/facts/disk_encryption.pb.h"
#include "evidentia/v1/facts/local_accounts.pb.h"
#include "gmock/gmock.h"
#include "grading/policy.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace evidentia::policy {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const absl::Time kNow = absl::FromUnixSeconds(1700000000);

// Loads a policy set whose only check (test.check) has `rules` (YAML list
// items indented six spaces) on `probe`'s facts, and returns that check.
// Settings: sudo_allowed = [root, alice].
class CheckFixture {
 public:
  absl::StatusOr<Check> Load(absl::string_view probe, absl::string_view rules) {
    Write("iso27001-2022.yaml",
          "controls:\n"
          "  - {id: a.8.1, theme: technological, title: User endpoint "
          "devices}\n");
    std::filesystem::create_directories(dir_.path() / "checks");
    Write("checks/test.yaml", absl::StrCat("checks:\n"
                                           "  - id: test.check\n"
                                           "    title: Test\n"
                                           "    probe: ",
                                           probe,
                                           "\n"
                                           "    controls: [a.8.1]\n"
                                           "    severity: high\n"
                                           "    stale_after: 48h\n"
                                           "    rules:\n",
                                           rules));
    Write("soa.yaml",
          "organisation: Test\n"
          "settings:\n"
          "  sudo_allowed: [root, alice]\n"
          "controls:\n"
          "  - {control: a.8.1, applicable: true, evidence: [test.check]}\n");
    absl::StatusOr<PolicySet> set =
        LoadPolicySet(dir_.path(), dir_.path() / "soa.yaml");
    if (!set.ok()) return set.status();
    settings_ = set->settings;
    return set->checks.at(0);
  }

  const std::map<std::string, std::vector<std::string>>& settings() const {
    return settings_;
  }

 private:
  void Write(const std::string& relative, const std::string& text) {
    std::ofstream(dir_.path() / relative, std::ios::binary) << text;
  }

  testing::ScopedTempDir dir_;
  std::map<std::string, std::vector<std::string>> settings_;
};

// Loads `rules` on `probe` into `check` (in a test: ASSERT_NO_FATAL_FAILURE).
#define LOAD_CHECK(fixture, check, probe, rules)                   \
  absl::StatusOr<Check> check##_or = (fixture).Load(probe, rules); \
  ASSERT_TRUE(check##_or.ok()) << check##_or.status();             \
  const Check& check = *check##_or

v1::Volume* AddVolume(v1::Facts* facts, const std::string& mount,
                      const std::string& device, bool encrypted) {
  v1::Volume* volume = facts->mutable_disk_encryption()->add_volumes();
  volume->set_kind(v1::VOLUME_KIND_MOUNT);
  volume->set_mount_point(mount);
  volume->set_device(device);
  volume->set_resolved(true);
  volume->set_encrypted(encrypted);
  return volume;
}

v1::AntiMalwareProduct* AddProduct(v1::Facts* facts, const std::string& id,
                                   bool installed, bool running) {
  v1::AntiMalwareProduct* product =
      facts->mutable_anti_malware()->add_products();
  product->set_id(id);
  product->set_name(id);
  product->set_installed(installed);
  product->set_running(running);
  return product;
}

constexpr char kSignatureAgeRule[] =
    "      - warn: \"{name} signatures are "
    "{newest_signature_build_time_unix|age} old\"\n"
    "        for_each: products\n"
    "        when: {newest_signature_build_time_unix: {older_than: 3d}}\n";

// ---------------------------------------------------------------------------
// for_each, none_of, value
// ---------------------------------------------------------------------------

TEST(PolicyEvalTest, ForEachFiresOncePerMatchingElementWithItsFields) {
  CheckFixture fixture;
  LOAD_CHECK(fixture, check, "linux.disk_encryption",
             "      - fail: \"{mount_point} on {device} is not encrypted\"\n"
             "        for_each: volumes\n"
             "        when: {encrypted: false}\n");
  v1::Facts facts;
  AddVolume(&facts, "/", "dm-0", true);
  AddVolume(&facts, "/home", "sda3", false);
  AddVolume(&facts, "/srv", "sdb1", false);
  const CheckResult result = Evaluate(check, facts, kNow, fixture.settings());
  EXPECT_EQ(result.verdict, Verdict::kFail);
  EXPECT_THAT(result.reasons, ElementsAre("/home on sda3 is not encrypted",
                                          "/srv on sdb1 is not encrypted"));
}

TEST(PolicyEvalTest, PassesWithNoReasonsWhenNoElementMatches) {
  CheckFixture fixture;
  LOAD_CHECK(fixture, check, "linux.disk_encryption",
             "      - fail: \"{mount_point} is not encrypted\"\n"
             "        for_each: volumes\n"
             "        when: {encrypted: false}\n");
  v1::Facts facts;
  AddVolume(&facts, "/", "dm-0", true);
  const CheckResult result = Evaluate(check, facts, kNow, fixture.settings());
  EXPECT_EQ(result.verdict, Verdict::kPass);
  EXPECT_THAT(result.reasons, IsEmpty());
  EXPECT_EQ(result.valid_until, absl::InfiniteFuture());
}

TEST(PolicyEvalTest, PlaceholderFallsBackToTheWholeFacts) {
  CheckFixture fixture;
  LOAD_CHECK(
      fixture, check, "linux.disk_encryption",
      "      - fail: \"{mount_point} is bare (root is {root_fs_type})\"\n"
      "        for_each: volumes\n"
      "        when: {encrypted: false}\n");
  v1::Facts facts;
  facts.mutable_disk_encryption()->set_root_fs_type("ext4");
  AddVolume(&facts, "/data", "sdb1", false);
  EXPECT_THAT(Evaluate(check, facts, kNow, fixture.settings()).reasons,
              ElementsAre("/data is bare (root is ext4)"));
}

TEST(PolicyEvalTest, NestedForEachFlattensWithParentPlaceholder) {
  CheckFixture fixture;
  LOAD_CHECK(fixture, check, "linux.local_accounts",
             "      - fail: \"{value} is in group {name} but not allowed\"\n"
             "        for_each: privileged_groups.members\n"
             "        when: {value: {not_in_setting: sudo_allowed}}\n");
  v1::Facts facts;
  v1::PrivilegedGroup* sudo =
      facts.mutable_local_accounts()->add_privileged_groups();
  sudo->set_name("sudo");
  sudo->add_members("alice");
  sudo->add_members("mallory");
  v1::PrivilegedGroup* wheel =
      facts.mutable_local_accounts()->add_privileged_groups();
  wheel->set_name("wheel");
  wheel->add_members("root");
  wheel->add_members("eve");
  const CheckResult result = Evaluate(check, facts, kNow, fixture.settings());
  EXPECT_EQ(result.verdict, Verdict::kFail);
  EXPECT_THAT(result.reasons,
              ElementsAre("mallory is in group sudo but not allowed",
                          "eve is in group wheel but not allowed"));
}

TEST(PolicyEvalTest, NestedForEachOverMessagesSeesEnclosingElement) {
  CheckFixture fixture;
  LOAD_CHECK(fixture, check, "linux.disk_encryption",
             "      - warn: \"{mount_point}: layer {dm_name} is not in "
             "crypttab\"\n"
             "        for_each: volumes.encryption\n"
             "        when: {in_crypttab: false}\n");
  v1::Facts facts;
  v1::Volume* volume = AddVolume(&facts, "/", "dm-1", true);
  volume->add_encryption()->set_dm_name("cryptroot");
  v1::EncryptionLayer* layer = volume->add_encryption();
  layer->set_dm_name("cryptold");
  volume->mutable_encryption(0)->set_in_crypttab(true);
  EXPECT_THAT(Evaluate(check, facts, kNow, fixture.settings()).reasons,
              ElementsAre("/: layer cryptold is not in crypttab"));
}

TEST(PolicyEvalTest, ValueTestsEachElementOfARepeatedScalar) {
  CheckFixture fixture;
  LOAD_CHECK(fixture, check, "linux.local_accounts",
             "      - fail: \"{value} has uid 0\"\n"
             "        for_each: uid0_non_root\n"
             "        when: {value: {not: toor}}\n");
  v1::Facts facts;
  facts.mutable_local_accounts()->add_uid0_non_root("toor");
  facts.mutable_local_accounts()->add_uid0_non_root("backdoor");
  EXPECT_THAT(Evaluate(check, facts, kNow, fixture.settings()).reasons,
              ElementsAre("backdoor has uid 0"));
}

TEST(PolicyEvalTest, NoneOfFiresOnceWhenNoElementMatches) {
  CheckFixture fixture;
  LOAD_CHECK(fixture, check, "linux.anti_malware",
             "      - fail: \"nothing runs\"\n"
             "        none_of: products\n"
             "        when: {installed: true, running: true}\n");
  v1::Facts facts;
  AddProduct(&facts, "clamav", true, false);
  AddProduct(&facts, "mdatp", false, true);
  const CheckResult result = Evaluate(check, facts, kNow, fixture.settings());
  EXPECT_EQ(result.verdict, Verdict::kFail);
  EXPECT_THAT(result.reasons, ElementsAre("nothing runs"));
}

TEST(PolicyEvalTest, NoneOfDoesNotFireWhenOneElementMatches) {
  CheckFixture fixture;
  LOAD_CHECK(fixture, check, "linux.anti_malware",
             "      - fail: \"nothing runs\"\n"
             "        none_of: products\n"
             "        when: {installed: true, running: true}\n");
  v1::Facts facts;
  AddProduct(&facts, "clamav", true, false);
  AddProduct(&facts, "mdatp", true, true);
  EXPECT_EQ(Evaluate(check, facts, kNow, fixture.settings()).verdict,
            Verdict::kPass);
}

TEST(PolicyEvalTest, NoneOfFiresOnAnEmptyList) {
  CheckFixture fixture;
  LOAD_CHECK(fixture, check, "linux.anti_malware",
             "      - fail: \"nothing runs (dpkg read: "
             "{package_database_read})\"\n"
             "        none_of: products\n"
             "        when: {running: true}\n");
  v1::Facts facts;
  facts.mutable_anti_malware()->set_package_database_read(true);
  EXPECT_THAT(Evaluate(check, facts, kNow, fixture.settings()).reasons,
              ElementsAre("nothing runs (dpkg read: true)"));
}

// ---------------------------------------------------------------------------
// Operators at their boundaries
// ---------------------------------------------------------------------------

TEST(PolicyEvalTest, EqualsComparesEnumsByName) {
  CheckFixture fixture;
  LOAD_CHECK(fixture, check, "linux.local_accounts",
             "      - fail: \"{name} has an empty password\"\n"
             "        for_each: accounts\n"
             "        when: {password_state: PASSWORD_STATE_EMPTY}\n");
  v1::Facts facts;
  v1::Account* a = facts.mutable_local_accounts()->add_accounts();
  a->set_name("guest");
  a->set_password_state(v1::PASSWORD_STATE_EMPTY);
  v1::Account* b = facts.mutable_local_accounts()->add_accounts();
  b->set_name("alice");
  b->set_password_state(v1::PASSWORD_STATE_SET);
  EXPECT_THAT(Evaluate(check, facts, kNow, fixture.settings()).reasons,
              ElementsAre("guest has an empty password"));
}

TEST(PolicyEvalTest, EqualsComparesIntegersInDecimal) {
  CheckFixture fixture;
  LOAD_CHECK(fixture, check, "linux.local_accounts",
             "      - fail: \"{name} has uid {uid}\"\n"
             "        for_each: accounts\n"
             "        when: {uid: +1000}\n");  // canonicalised to 1000
  v1::Facts facts;
  v1::Account* a = facts.mutable_local_accounts()->add_accounts();
  a->set_name("alice");
  a->set_uid(1000);
  facts.mutable_local_accounts()->add_accounts()->set_uid(10000);
  EXPECT_THAT(Evaluate(check, facts, kNow, fixture.settings()).reasons,
              ElementsAre("alice has uid 1000"));
}

TEST(PolicyEvalTest, AbsentOptionalFieldCountsAsZero) {
  CheckFixture fixture;
  LOAD_CHECK(fixture, check, "linux.local_accounts",
             "      - warn: \"{name} has no maximum password age\"\n"
             "        for_each: accounts\n"
             "        when: {password_max_age_days: 0}\n");
  v1::Facts facts;
  facts.mutable_local_accounts()->add_accounts()->set_name("alice");
  v1::Account* bob = facts.mutable_local_accounts()->add_accounts();
  bob->set_name("bob");
  bob->set_password_max_age_days(90);
  EXPECT_THAT(Evaluate(check, facts, kNow, fixture.settings()).reasons,
              ElementsAre("alice has no maximum password age"));
}

TEST(PolicyEvalTest, NotEqualsAndInAndNotIn) {
  CheckFixture fixture;
  LOAD_CHECK(fixture, check, "linux.local_accounts",
             "      - fail: \"{name}\"\n"
             "        for_each: accounts\n"
             "        when:\n"
             "          shell: {not: /bin/false}\n"
             "          hash_algorithm: {in: [HASH_ALGORITHM_DES, "
             "HASH_ALGORITHM_MD5]}\n"
             "          name: {not_in: [root, daemon]}\n");
  v1::Facts facts;
  const auto add = [&](const std::string& name, const std::string& shell,
                       v1::HashAlgorithm hash) {
    v1::Account* a = facts.mutable_local_accounts()->add_accounts();
    a->set_name(name);
    a->set_shell(shell);
    a->set_hash_algorithm(hash);
  };
  add("root", "/bin/bash", v1::HASH_ALGORITHM_MD5);     // not_in excludes
  add("alice", "/bin/bash", v1::HASH_ALGORITHM_DES);    // fires
  add("bob", "/bin/false", v1::HASH_ALGORITHM_MD5);     // not excludes
  add("carol", "/bin/zsh", v1::HASH_ALGORITHM_SHA512);  // in excludes
  add("dave", "/bin/zsh", v1::HASH_ALGORITHM_MD5);      // fires
  EXPECT_THAT(Evaluate(check, facts, kNow, fixture.settings()).reasons,
              ElementsAre("alice", "dave"));
}

TEST(PolicyEvalTest, InSettingAndNotInSetting) {
  CheckFixture fixture;
  LOAD_CHECK(fixture, check, "linux.local_accounts",
             "      - fail: \"{principal} not allowed\"\n"
             "        for_each: sudo_rules\n"
             "        when: {principal: {not_in_setting: sudo_allowed}}\n"
             "      - warn: \"{principal} allowed\"\n"
             "        for_each: sudo_rules\n"
             "        when: {principal: {in_setting: sudo_allowed}}\n");
  v1::Facts facts;
  facts.mutable_local_accounts()->add_sudo_rules()->set_principal("alice");
  facts.mutable_local_accounts()->add_sudo_rules()->set_principal("%ops");
  EXPECT_THAT(Evaluate(check, facts, kNow, fixture.settings()).reasons,
              ElementsAre("%ops not allowed", "alice allowed"));
}

// kNow is 2023-11-14 22:13:20 UTC; the rule holds from 2023-11-14 00:00 UTC.
constexpr char kFromRule[] =
    "      - fail: \"the release reached its end of life\"\n"
    "        from: 2023-11-14\n";
const absl::Time kFromMidnight = absl::FromUnixSeconds(1699920000);

TEST(PolicyEvalTest, FromRuleFiresFromMidnightUtcOfItsDate) {
  CheckFixture fixture;
  LOAD_CHECK(fixture, check, "linux.local_accounts", kFromRule);
  EXPECT_EQ(check.rules.at(0).from, kFromMidnight);
  const v1::Facts facts = [] {
    v1::Facts f;
    f.mutable_local_accounts();
    return f;
  }();
  const CheckResult at_midnight =
      Evaluate(check, facts, kFromMidnight, fixture.settings());
  EXPECT_EQ(at_midnight.verdict, Verdict::kFail);
  EXPECT_THAT(at_midnight.reasons,
              ElementsAre("the release reached its end of life"));
  EXPECT_EQ(Evaluate(check, facts, kNow, fixture.settings()).verdict,
            Verdict::kFail);
}

TEST(PolicyEvalTest, FromRuleIsSilentBeforeItsDateAndSaysWhenThatEnds) {
  CheckFixture fixture;
  LOAD_CHECK(fixture, check, "linux.local_accounts", kFromRule);
  v1::Facts facts;
  facts.mutable_local_accounts();
  const CheckResult before = Evaluate(
      check, facts, kFromMidnight - absl::Seconds(1), fixture.settings());
  EXPECT_EQ(before.verdict, Verdict::kPass);
  EXPECT_THAT(before.reasons, IsEmpty());
  EXPECT_EQ(before.valid_until, kFromMidnight);
}

TEST(PolicyEvalTest, OlderThanDoesNotHoldExactlyAtTheBoundary) {
  CheckFixture fixture;
  LOAD_CHECK(fixture, check, "linux.anti_malware", kSignatureAgeRule);
  v1::Facts facts;
  AddProduct(&facts, "clamav", true, true)
      ->set_newest_signature_build_time_unix(
          absl::ToUnixSeconds(kNow - absl::Hours(72)));
  EXPECT_EQ(Evaluate(check, facts, kNow, fixture.settings()).verdict,
            Verdict::kPass);
}

TEST(PolicyEvalTest, OlderThanHoldsOneSecondPastTheBoundary) {
  CheckFixture fixture;
  LOAD_CHECK(fixture, check, "linux.anti_malware", kSignatureAgeRule);
  v1::Facts facts;
  AddProduct(&facts, "clamav", true, true)
      ->set_newest_signature_build_time_unix(
          absl::ToUnixSeconds(kNow - absl::Hours(72) - absl::Seconds(1)));
  EXPECT_EQ(Evaluate(check, facts, kNow, fixture.settings()).verdict,
            Verdict::kWarn);
}

TEST(PolicyEvalTest, OlderThanCountsZeroAsInfinitelyOld) {
  CheckFixture fixture;
  LOAD_CHECK(fixture, check, "linux.anti_malware", kSignatureAgeRule);
  v1::Facts facts;
  AddProduct(&facts, "clamav", true, true);  // build time 0
  const CheckResult result = Evaluate(check, facts, kNow, fixture.settings());
  EXPECT_EQ(result.verdict, Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre("clamav signatures are an unknown time old"));
  EXPECT_EQ(result.valid_until, absl::InfiniteFuture());
}

TEST(PolicyEvalTest, YoungerThanIsTheComplementOfOlderThan) {
  CheckFixture fixture;
  LOAD_CHECK(fixture, check, "linux.local_accounts",
             "      - warn: \"{name} logged in recently\"\n"
             "        for_each: accounts\n"
             "        when: {last_login_unix: {younger_than: 1d}}\n");
  v1::Facts facts;
  const auto add = [&](const std::string& name, absl::Duration ago) {
    v1::Account* a = facts.mutable_local_accounts()->add_accounts();
    a->set_name(name);
    if (ago != absl::InfiniteDuration()) {
      a->set_last_login_unix(absl::ToUnixSeconds(kNow - ago));
    }
  };
  add("at_boundary", absl::Hours(24));
  add("past", absl::Hours(24) + absl::Seconds(1));
  add("never", absl::InfiniteDuration());
  add("recent", absl::Hours(1));
  EXPECT_THAT(Evaluate(check, facts, kNow, fixture.settings()).reasons,
              ElementsAre("at_boundary logged in recently",
                          "recent logged in recently"));
}

TEST(PolicyEvalTest, LessThanCountIsStrict) {
  CheckFixture fixture;
  LOAD_CHECK(fixture, check, "linux.disk_encryption",
             "      - fail: \"fewer than 2 volumes\"\n"
             "        when: {volumes: {less_than: 2}}\n");
  v1::Facts one;
  AddVolume(&one, "/", "dm-0", true);
  v1::Facts two = one;
  AddVolume(&two, "/home", "dm-1", true);
  EXPECT_EQ(Evaluate(check, one, kNow, fixture.settings()).verdict,
            Verdict::kFail);
  EXPECT_EQ(Evaluate(check, two, kNow, fixture.settings()).verdict,
            Verdict::kPass);
}

TEST(PolicyEvalTest, GreaterThanOnAnIntegerIsStrict) {
  CheckFixture fixture;
  LOAD_CHECK(fixture, check, "linux.local_accounts",
             "      - warn: \"{name}: max age {password_max_age_days} days\"\n"
             "        for_each: accounts\n"
             "        when: {password_max_age_days: {greater_than: 90}}\n");
  v1::Facts facts;
  v1::Account* a = facts.mutable_local_accounts()->add_accounts();
  a->set_name("at90");
  a->set_password_max_age_days(90);
  v1::Account* b = facts.mutable_local_accounts()->add_accounts();
  b->set_name("at91");
  b->set_password_max_age_days(91);
  EXPECT_THAT(Evaluate(check, facts, kNow, fixture.settings()).reasons,
              ElementsAre("at91: max age 91 days"));
}

TEST(PolicyEvalTest, EmptyTestsStringsAndRepeatedFields) {
  CheckFixture fixture;
  LOAD_CHECK(fixture, check, "linux.anti_malware",
             "      - fail: \"{id} has no name\"\n"
             "        for_each: products\n"
             "        when: {name: {empty: true}}\n"
             "      - warn: \"{id} has binaries\"\n"
             "        for_each: products\n"
             "        when: {binaries: {empty: false}}\n");
  v1::Facts facts;
  AddProduct(&facts, "clamav", true, true)->set_name("");
  AddProduct(&facts, "mdatp", true, true)->add_binaries("/opt/mdatp");
  EXPECT_THAT(Evaluate(check, facts, kNow, fixture.settings()).reasons,
              ElementsAre("clamav has no name", "mdatp has binaries"));
}

TEST(PolicyEvalTest, RuleWithoutWhenFiresOnTheWholeFacts) {
  CheckFixture fixture;
  LOAD_CHECK(fixture, check, "linux.local_accounts",
             "      - warn: \"shadow readable: {shadow_readable}\"\n");
  v1::Facts facts;
  facts.mutable_local_accounts();
  EXPECT_THAT(Evaluate(check, facts, kNow, fixture.settings()).reasons,
              ElementsAre("shadow readable: false"));
}

// ---------------------------------------------------------------------------
// Reasons, ages, verdicts, valid_until
// ---------------------------------------------------------------------------

TEST(PolicyEvalTest, AgePlaceholderRendersDaysHoursMinutes) {
  CheckFixture fixture;
  LOAD_CHECK(fixture, check, "linux.local_accounts",
             "      - warn: \"{name}: {last_login_unix|age}\"\n"
             "        for_each: accounts\n");
  v1::Facts facts;
  const auto add = [&](const std::string& name, absl::Duration ago) {
    v1::Account* a = facts.mutable_local_accounts()->add_accounts();
    a->set_name(name);
    a->set_last_login_unix(absl::ToUnixSeconds(kNow - ago));
  };
  add("a", absl::Hours(24 * 12 + 23));
  add("b", absl::Hours(24));
  add("c", absl::Hours(5) + absl::Minutes(59));
  add("d", absl::Minutes(40) + absl::Seconds(30));
  add("e", absl::Seconds(7));
  EXPECT_THAT(Evaluate(check, facts, kNow, fixture.settings()).reasons,
              ElementsAre("a: 12 days", "b: 1 day", "c: 5 hours",
                          "d: 40 minutes", "e: 7 seconds"));
}

TEST(PolicyEvalTest, ValidUntilIsTheEarliestAgeFlip) {
  CheckFixture fixture;
  LOAD_CHECK(fixture, check, "linux.anti_malware", kSignatureAgeRule);
  v1::Facts facts;
  const int64_t newer = absl::ToUnixSeconds(kNow - absl::Hours(1));
  const int64_t older = absl::ToUnixSeconds(kNow - absl::Hours(10));
  AddProduct(&facts, "a", true, true)
      ->set_newest_signature_build_time_unix(newer);
  AddProduct(&facts, "b", true, true)
      ->set_newest_signature_build_time_unix(older);
  const CheckResult result = Evaluate(check, facts, kNow, fixture.settings());
  EXPECT_EQ(result.verdict, Verdict::kPass);
  EXPECT_EQ(result.valid_until, absl::FromUnixSeconds(older) + absl::Hours(72));
}

TEST(PolicyEvalTest, ValidUntilIgnoresAgesAlreadyPast) {
  CheckFixture fixture;
  LOAD_CHECK(fixture, check, "linux.anti_malware", kSignatureAgeRule);
  v1::Facts facts;
  AddProduct(&facts, "old", true, true)
      ->set_newest_signature_build_time_unix(
          absl::ToUnixSeconds(kNow - absl::Hours(100)));
  const CheckResult result = Evaluate(check, facts, kNow, fixture.settings());
  EXPECT_EQ(result.verdict, Verdict::kWarn);
  EXPECT_EQ(result.valid_until, absl::InfiniteFuture());
}

TEST(PolicyEvalTest, ValidUntilIgnoresAgesMaskedByAnotherFailingTest) {
  CheckFixture fixture;
  LOAD_CHECK(fixture, check, "linux.anti_malware",
             "      - warn: \"{name} is old\"\n"
             "        for_each: products\n"
             "        when:\n"
             "          installed: true\n"
             "          newest_signature_build_time_unix: {older_than: 3d}\n");
  v1::Facts facts;
  AddProduct(&facts, "gone", false, false)
      ->set_newest_signature_build_time_unix(
          absl::ToUnixSeconds(kNow - absl::Hours(1)));
  EXPECT_EQ(Evaluate(check, facts, kNow, fixture.settings()).valid_until,
            absl::InfiniteFuture());
}

TEST(PolicyEvalTest, VerdictIsTheWorstAndFailReasonsComeFirst) {
  CheckFixture fixture;
  LOAD_CHECK(fixture, check, "linux.anti_malware",
             "      - warn: \"warn {id}\"\n"
             "        for_each: products\n"
             "        when: {running: false}\n"
             "      - fail: \"fail one {id}\"\n"
             "        for_each: products\n"
             "        when: {installed: false}\n"
             "      - warn: \"warn again {id}\"\n"
             "        for_each: products\n"
             "      - fail: \"fail two {id}\"\n"
             "        for_each: products\n"
             "        when: {id: a}\n");
  v1::Facts facts;
  AddProduct(&facts, "a", false, false);
  const CheckResult result = Evaluate(check, facts, kNow, fixture.settings());
  EXPECT_EQ(result.verdict, Verdict::kFail);
  EXPECT_THAT(result.reasons, ElementsAre("fail one a", "fail two a", "warn a",
                                          "warn again a"));
}

TEST(PolicyEvalTest, WarnOnlyYieldsWarn) {
  CheckFixture fixture;
  LOAD_CHECK(fixture, check, "linux.anti_malware",
             "      - warn: \"{id} stopped\"\n"
             "        for_each: products\n"
             "        when: {running: false}\n");
  v1::Facts facts;
  AddProduct(&facts, "a", true, false);
  EXPECT_EQ(Evaluate(check, facts, kNow, fixture.settings()).verdict,
            Verdict::kWarn);
}

// ---------------------------------------------------------------------------
// Robustness
// ---------------------------------------------------------------------------

TEST(PolicyEvalTest, FactsOfAnotherProbeFail) {
  CheckFixture fixture;
  LOAD_CHECK(fixture, check, "linux.disk_encryption",
             "      - fail: x\n"
             "        for_each: volumes\n");
  v1::Facts facts;
  AddProduct(&facts, "clamav", true, true);
  const CheckResult result = Evaluate(check, facts, kNow, fixture.settings());
  EXPECT_EQ(result.verdict, Verdict::kFail);
  ASSERT_EQ(result.reasons.size(), 1u);
  EXPECT_THAT(result.reasons[0], HasSubstr("linux.disk_encryption"));
  EXPECT_THAT(result.reasons[0], HasSubstr("linux.anti_malware"));
}

TEST(PolicyEvalTest, EmptyFactsFail) {
  CheckFixture fixture;
  LOAD_CHECK(fixture, check, "linux.disk_encryption",
             "      - fail: x\n"
             "        for_each: volumes\n");
  const CheckResult result =
      Evaluate(check, v1::Facts(), kNow, fixture.settings());
  EXPECT_EQ(result.verdict, Verdict::kFail);
  ASSERT_EQ(result.reasons.size(), 1u);
  EXPECT_THAT(result.reasons[0], HasSubstr("no facts"));
}

TEST(PolicyEvalTest, DefaultFactsOfTheRightKindEvaluate) {
  CheckFixture fixture;
  LOAD_CHECK(fixture, check, "linux.disk_encryption",
             "      - fail: \"no volumes on {root_fs_type}\"\n"
             "        when: {volumes: {empty: true}}\n");
  v1::Facts facts;
  facts.mutable_disk_encryption();
  const CheckResult result = Evaluate(check, facts, kNow, fixture.settings());
  EXPECT_EQ(result.verdict, Verdict::kFail);
  EXPECT_THAT(result.reasons, ElementsAre("no volumes on "));
}

TEST(PolicyEvalTest, HugeListsEvaluate) {
  CheckFixture fixture;
  LOAD_CHECK(fixture, check, "linux.local_accounts",
             "      - fail: \"{value} in {name}\"\n"
             "        for_each: privileged_groups.members\n"
             "        when: {value: {not_in_setting: sudo_allowed}}\n");
  v1::Facts facts;
  for (int g = 0; g < 10; ++g) {
    v1::PrivilegedGroup* group =
        facts.mutable_local_accounts()->add_privileged_groups();
    for (int m = 0; m < 10000; ++m) group->add_members(absl::StrCat("u", m));
  }
  const CheckResult result = Evaluate(check, facts, kNow, fixture.settings());
  EXPECT_EQ(result.verdict, Verdict::kFail);
  EXPECT_EQ(result.reasons.size(), 100000u);
}

TEST(PolicyEvalTest, UnknownEnumNumberRendersInDecimal) {
  CheckFixture fixture;
  LOAD_CHECK(fixture, check, "linux.local_accounts",
             "      - fail: \"{name}: {password_state}\"\n"
             "        for_each: accounts\n"
             "        when: {password_state: {not: PASSWORD_STATE_SET}}\n");
  v1::Facts facts;
  v1::Account* a = facts.mutable_local_accounts()->add_accounts();
  a->set_name("odd");
  a->set_password_state(static_cast<v1::PasswordState>(42));
  EXPECT_THAT(Evaluate(check, facts, kNow, fixture.settings()).reasons,
              ElementsAre("odd: 42"));
}

TEST(PolicyEvalTest, HandBuiltRuleWithUnknownFieldFailsClosed) {
  Check check;
  check.id = "hand.built";
  check.probe = "linux.disk_encryption";
  Rule rule;
  rule.reason = "x";
  rule.for_each = "volumes";
  FieldTest test;
  test.field = "no_such_field";
  test.values = {"true"};
  rule.when.push_back(test);
  check.rules.push_back(rule);
  v1::Facts facts;
  AddVolume(&facts, "/", "dm-0", true);
  const CheckResult result = Evaluate(check, facts, kNow, {});
  EXPECT_EQ(result.verdict, Verdict::kFail);
  ASSERT_EQ(result.reasons.size(), 1u);
  EXPECT_THAT(result.reasons[0], HasSubstr("no_such_field"));
}

TEST(PolicyEvalTest, FactsFieldForProbeMapsEachProbe) {
  ASSERT_NE(FactsFieldForProbe("linux.disk_encryption"), nullptr);
  EXPECT_EQ(FactsFieldForProbe("linux.disk_encryption")->name(),
            "disk_encryption");
  EXPECT_EQ(FactsFieldForProbe("linux.anti_malware")->name(), "anti_malware");
  EXPECT_EQ(FactsFieldForProbe("linux.local_accounts")->name(),
            "local_accounts");
  EXPECT_EQ(FactsFieldForProbe("linux.nope"), nullptr);
}

}  // namespace
}  // namespace evidentia::policy
