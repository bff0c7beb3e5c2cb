// The linux.os_patching checks of policies/checks/, graded on facts built
// here, as the collector grades them.
#include <string>

#include "absl/time/time.h"
#include "evidentia/v1/facts.pb.h"
#include "gmock/gmock.h"
#include "grading/policy.h"
#include "gtest/gtest.h"
#include "tests/support/checks.h"

namespace evidentia::agent {
namespace {

using ::evidentia::testing::EvaluateCheck;
using policy::Verdict;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// 2026-12-03 12:00 UTC.
const absl::Time kNow = absl::FromUnixSeconds(1796299200);

absl::Time Day(int year, int month, int day) {
  return absl::FromCivil(absl::CivilDay(year, month, day), absl::UTCTimeZone());
}

// A patched Debian 12 host: lists updated an hour ago, unattended-upgrades
// on, nothing pending, no reboot.
v1::Facts Healthy() {
  v1::Facts facts;
  v1::OsPatchingFacts* f = facts.mutable_os_patching();
  f->set_os_id("debian");
  f->set_os_version_id("12");
  f->set_os_version_codename("bookworm");
  f->set_os_pretty_name("Debian GNU/Linux 12 (bookworm)");
  f->set_dpkg_present(true);
  f->set_apt_cache_ok(true);
  f->set_package_lists_updated_unix(absl::ToUnixSeconds(kNow - absl::Hours(1)));
  f->set_package_lists_updated_source(
      "var/lib/apt/periodic/update-success-stamp");
  f->set_unattended_upgrades_installed(true);
  f->set_periodic_update_package_lists("1");
  f->set_periodic_unattended_upgrade("1");
  f->set_unattended_upgrades_enabled(true);
  f->set_running_kernel_release("6.1.0-28-amd64");
  return facts;
}

void AddSecurityUpgrade(v1::Facts* facts, const std::string& package,
                        bool kept_back = false) {
  v1::PendingUpgrade* u = facts->mutable_os_patching()->add_security_upgrades();
  u->set_package(package);
  u->set_architecture("amd64");
  u->set_installed_version("3.0.11-1~deb12u2");
  u->set_candidate_version("3.0.13-1~deb12u1");
  u->set_origin("Debian");
  u->set_label("Debian-Security");
  u->set_archive("oldstable-security");
  u->set_codename("bookworm-security");
  u->set_kept_back(kept_back);
  facts->mutable_os_patching()->set_pending_upgrades(
      facts->os_patching().pending_upgrades() + 1);
}

policy::CheckResult Grade(const std::string& check, const v1::Facts& facts,
                          absl::Time now = kNow) {
  return EvaluateCheck("linux.os_patching." + check, facts, now);
}

// --- security_updates --------------------------------------------------------

TEST(OsPatchingSecurityUpdatesCheckTest, PassesWithNothingPending) {
  policy::CheckResult result = Grade("security_updates", Healthy());
  EXPECT_EQ(result.verdict, Verdict::kPass);
  EXPECT_THAT(result.reasons, IsEmpty());
}

TEST(OsPatchingSecurityUpdatesCheckTest, WarnsOnFreshPendingUpdates) {
  v1::Facts facts = Healthy();
  AddSecurityUpgrade(&facts, "openssl");
  AddSecurityUpgrade(&facts, "linux-image-amd64", /*kept_back=*/true);
  policy::CheckResult result = Grade("security_updates", facts);
  EXPECT_EQ(result.verdict, Verdict::kWarn);
  EXPECT_THAT(
      result.reasons,
      ElementsAre("security update pending: openssl 3.0.11-1~deb12u2 -> "
                  "3.0.13-1~deb12u1 (bookworm-security): run apt-get upgrade",
                  AllOf(HasSubstr("held back by apt-get upgrade: "
                                  "linux-image-amd64"),
                        HasSubstr("apt-get full-upgrade"))));
}

TEST(OsPatchingSecurityUpdatesCheckTest, FailsWhenPendingAWeekOrMore) {
  v1::Facts facts = Healthy();
  facts.mutable_os_patching()->set_package_lists_updated_unix(
      absl::ToUnixSeconds(kNow - absl::Hours(24 * 9)));
  AddSecurityUpgrade(&facts, "openssl");
  policy::CheckResult result = Grade("security_updates", facts);
  EXPECT_EQ(result.verdict, Verdict::kFail);
  EXPECT_THAT(result.reasons,
              ElementsAre(AllOf(HasSubstr("pending at least 9 days"),
                                HasSubstr("limit 7 days")),
                          HasSubstr("security update pending: openssl")));
}

TEST(OsPatchingSecurityUpdatesCheckTest, OldListsWithNothingPendingPassHere) {
  // Stale lists are package_lists_fresh's finding, not this check's.
  v1::Facts facts = Healthy();
  facts.mutable_os_patching()->set_package_lists_updated_unix(
      absl::ToUnixSeconds(kNow - absl::Hours(24 * 30)));
  EXPECT_EQ(Grade("security_updates", facts).verdict, Verdict::kPass);
}

TEST(OsPatchingSecurityUpdatesCheckTest,
     FailsWhenPendingAndNothingInstallsThem) {
  v1::Facts facts = Healthy();
  facts.mutable_os_patching()->set_unattended_upgrades_enabled(false);
  AddSecurityUpgrade(&facts, "openssl");
  policy::CheckResult result = Grade("security_updates", facts);
  EXPECT_EQ(result.verdict, Verdict::kFail);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("unattended-upgrades is not enabled"),
                          HasSubstr("security update pending: openssl")));
}

TEST(OsPatchingSecurityUpdatesCheckTest, FailsWhenTheCacheCannotBeRead) {
  v1::Facts facts = Healthy();
  facts.mutable_os_patching()->set_apt_cache_ok(false);
  facts.mutable_os_patching()->set_apt_error("E: Malformed line 1");
  policy::CheckResult result = Grade("security_updates", facts);
  EXPECT_EQ(result.verdict, Verdict::kFail);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("APT cache could not be read (E: Malformed "
                                    "line 1)")));
}

TEST(OsPatchingSecurityUpdatesCheckTest, FailsWithoutDpkg) {
  v1::Facts facts;
  facts.mutable_os_patching()->set_os_pretty_name("Fedora Linux 40");
  policy::CheckResult result = Grade("security_updates", facts);
  EXPECT_EQ(result.verdict, Verdict::kFail);
  EXPECT_THAT(result.reasons,
              ElementsAre(AllOf(HasSubstr("no dpkg database"),
                                HasSubstr("patch Fedora Linux 40"))));
}

// --- package_lists_fresh -----------------------------------------------------

TEST(OsPatchingListsFreshCheckTest, PassesWhenUpdatedToday) {
  EXPECT_EQ(Grade("package_lists_fresh", Healthy()).verdict, Verdict::kPass);
}

TEST(OsPatchingListsFreshCheckTest, WarnsAfterTwoDays) {
  v1::Facts facts = Healthy();
  facts.mutable_os_patching()->set_package_lists_updated_unix(
      absl::ToUnixSeconds(kNow - absl::Hours(24 * 3)));
  policy::CheckResult result = Grade("package_lists_fresh", facts);
  EXPECT_EQ(result.verdict, Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("last updated 3 days ago (expected "
                                    "daily)")));
}

TEST(OsPatchingListsFreshCheckTest, FailsAfterSevenDays) {
  v1::Facts facts = Healthy();
  facts.mutable_os_patching()->set_package_lists_updated_unix(
      absl::ToUnixSeconds(kNow - absl::Hours(24 * 10)));
  policy::CheckResult result = Grade("package_lists_fresh", facts);
  EXPECT_EQ(result.verdict, Verdict::kFail);
  // Failures are listed first.
  EXPECT_THAT(result.reasons, ElementsAre(HasSubstr("past the 7-day limit"),
                                          HasSubstr("expected daily")));
}

TEST(OsPatchingListsFreshCheckTest, FailsWhenNeverUpdated) {
  v1::Facts facts = Healthy();
  facts.mutable_os_patching()->set_package_lists_updated_unix(0);
  facts.mutable_os_patching()->set_package_lists_updated_source("");
  policy::CheckResult result = Grade("package_lists_fresh", facts);
  EXPECT_EQ(result.verdict, Verdict::kFail);
  EXPECT_THAT(result.reasons, ElementsAre(HasSubstr("never downloaded")));
}

// --- automatic_updates -------------------------------------------------------

TEST(OsPatchingAutomaticUpdatesCheckTest, PassesWhenEnabled) {
  EXPECT_EQ(Grade("automatic_updates", Healthy()).verdict, Verdict::kPass);
}

TEST(OsPatchingAutomaticUpdatesCheckTest, WarnsWhenNotInstalled) {
  v1::Facts facts = Healthy();
  facts.mutable_os_patching()->set_unattended_upgrades_installed(false);
  facts.mutable_os_patching()->set_unattended_upgrades_enabled(false);
  policy::CheckResult result = Grade("automatic_updates", facts);
  EXPECT_EQ(result.verdict, Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("unattended-upgrades is not installed")));
}

TEST(OsPatchingAutomaticUpdatesCheckTest, WarnsWhenInstalledButOff) {
  v1::Facts facts = Healthy();
  facts.mutable_os_patching()->set_periodic_unattended_upgrade("0");
  facts.mutable_os_patching()->set_unattended_upgrades_enabled(false);
  policy::CheckResult result = Grade("automatic_updates", facts);
  EXPECT_EQ(result.verdict, Verdict::kWarn);
  EXPECT_THAT(
      result.reasons,
      ElementsAre(HasSubstr("APT::Periodic::Unattended-Upgrade \"0\"")));
}

// --- reboot_pending ----------------------------------------------------------

TEST(OsPatchingRebootCheckTest, PassesWithoutPendingReboot) {
  EXPECT_EQ(Grade("reboot_pending", Healthy()).verdict, Verdict::kPass);
}

TEST(OsPatchingRebootCheckTest, WarnsPerPackageThatAskedForAReboot) {
  v1::Facts facts = Healthy();
  facts.mutable_os_patching()->set_reboot_required(true);
  facts.mutable_os_patching()->add_reboot_required_packages("libssl3");
  policy::CheckResult result = Grade("reboot_pending", facts);
  EXPECT_EQ(result.verdict, Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("libssl3 was updated and asked for a "
                                    "reboot")));
}

TEST(OsPatchingRebootCheckTest, WarnsOnRebootRequiredWithoutPackages) {
  v1::Facts facts = Healthy();
  facts.mutable_os_patching()->set_reboot_required(true);
  EXPECT_THAT(Grade("reboot_pending", facts).reasons,
              ElementsAre(HasSubstr("an update asked for a reboot")));
}

TEST(OsPatchingRebootCheckTest, WarnsOnOlderRunningKernel) {
  v1::Facts facts = Healthy();
  v1::OsPatchingFacts* f = facts.mutable_os_patching();
  f->set_running_kernel_release("6.1.0-18-amd64");
  f->set_newest_kernel_release("6.1.0-20-amd64");
  f->set_newest_kernel_version("6.1.85-1");
  f->set_kernel_reboot_pending(true);
  policy::CheckResult result = Grade("reboot_pending", facts);
  EXPECT_EQ(result.verdict, Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre("the running kernel 6.1.0-18-amd64 is older than the "
                          "installed 6.1.0-20-amd64 (6.1.85-1): reboot to run "
                          "the patched kernel"));
}

// --- os_supported (end-of-life table) --------------------------------------

v1::Facts Release(const std::string& id, const std::string& version) {
  v1::Facts facts = Healthy();
  facts.mutable_os_patching()->set_os_id(id);
  facts.mutable_os_patching()->set_os_version_id(version);
  facts.mutable_os_patching()->set_os_pretty_name(id + " " + version);
  return facts;
}

TEST(OsPatchingOsSupportedCheckTest, Debian13PassesToday) {
  policy::CheckResult result = Grade("os_supported", Release("debian", "13"));
  EXPECT_EQ(result.verdict, Verdict::kPass);
  EXPECT_THAT(result.reasons, IsEmpty());
}

TEST(OsPatchingOsSupportedCheckTest, Debian12InLtsWarnsToday) {
  policy::CheckResult result = Grade("os_supported", Release("debian", "12"));
  EXPECT_EQ(result.verdict, Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre(AllOf(HasSubstr("regular security support ends "
                                          "2026-06-10"),
                                HasSubstr("LTS"), HasSubstr("2028-06-30"))));
}

TEST(OsPatchingOsSupportedCheckTest, Debian12PassedBeforeItsWarningDate) {
  EXPECT_EQ(
      Grade("os_supported", Release("debian", "12"), Day(2026, 3, 11)).verdict,
      Verdict::kPass);
  EXPECT_EQ(
      Grade("os_supported", Release("debian", "12"), Day(2026, 3, 12)).verdict,
      Verdict::kWarn);
}

TEST(OsPatchingOsSupportedCheckTest, Debian12FailsWhenLtsEnds) {
  EXPECT_EQ(Grade("os_supported", Release("debian", "12"),
                  Day(2028, 6, 30) - absl::Seconds(1))
                .verdict,
            Verdict::kWarn);
  policy::CheckResult result =
      Grade("os_supported", Release("debian", "12"), Day(2028, 6, 30));
  EXPECT_EQ(result.verdict, Verdict::kFail);
  EXPECT_THAT(result.reasons,
              ::testing::Contains(HasSubstr("left long-term support on "
                                            "2028-06-30")));
}

TEST(OsPatchingOsSupportedCheckTest, Debian11AndOlderFailToday) {
  for (const char* version : {"7", "8", "9", "10", "11"}) {
    policy::CheckResult result =
        Grade("os_supported", Release("debian", version));
    EXPECT_EQ(result.verdict, Verdict::kFail) << version;
    EXPECT_THAT(result.reasons,
                ::testing::Contains(HasSubstr("left long-term support")))
        << version;
  }
}

TEST(OsPatchingOsSupportedCheckTest, UbuntuLtsTable) {
  EXPECT_EQ(Grade("os_supported", Release("ubuntu", "24.04")).verdict,
            Verdict::kPass);
  EXPECT_EQ(Grade("os_supported", Release("ubuntu", "22.04")).verdict,
            Verdict::kPass);
  EXPECT_EQ(Grade("os_supported", Release("ubuntu", "22.04"), Day(2027, 1, 1))
                .verdict,
            Verdict::kWarn);
  EXPECT_EQ(Grade("os_supported", Release("ubuntu", "22.04"), Day(2027, 4, 1))
                .verdict,
            Verdict::kFail);
  policy::CheckResult result =
      Grade("os_supported", Release("ubuntu", "20.04"));
  EXPECT_EQ(result.verdict, Verdict::kFail);
  EXPECT_THAT(result.reasons,
              ::testing::Contains(HasSubstr("left standard support on "
                                            "2025-05-31")));
  EXPECT_EQ(Grade("os_supported", Release("ubuntu", "18.04")).verdict,
            Verdict::kFail);
}

TEST(OsPatchingOsSupportedCheckTest, UnknownReleasesWarn) {
  EXPECT_THAT(Grade("os_supported", Release("ubuntu", "25.04")).reasons,
              ElementsAre(HasSubstr("not an LTS release")));
  EXPECT_THAT(Grade("os_supported", Release("debian", "")).reasons,
              ElementsAre(HasSubstr("testing and unstable")));
  policy::CheckResult result = Grade("os_supported", Release("fedora", "40"));
  EXPECT_EQ(result.verdict, Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("fedora 40 (ID fedora) is not in the "
                                    "end-of-life table")));
}

}  // namespace
}  // namespace evidentia::agent
