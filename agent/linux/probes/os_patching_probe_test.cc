#include "agent/linux/probes/os_patching_probe.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

fs::path Fixture(const std::string& name) {
  return fs::path(EVIDENTIA_SOURCE_DIR) / "tests/fixtures/os_patching" / name;
}

int64_t MtimeOf(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mtim.tv_sec;
}

// An AptCache that returns a fixed state and counts its reads.
class FakeAptCache : public AptCache {
 public:
  explicit FakeAptCache(AptState state) : state_(std::move(state)) {}
  AptState Read(const fs::path&) const override { return state_; }

 private:
  AptState state_;
};

class FakeKernel : public KernelSource {
 public:
  explicit FakeKernel(RunningKernel kernel) : kernel_(std::move(kernel)) {}
  RunningKernel Running() const override { return kernel_; }

 private:
  RunningKernel kernel_;
};

const RunningKernel kDebianKernel18 = {
    "6.1.0-18-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)"};

AptUpgrade Upgrade(std::string package, bool security, bool kept_back) {
  AptUpgrade upgrade;
  upgrade.package = std::move(package);
  upgrade.architecture = "amd64";
  upgrade.installed_version = "1.0-1";
  upgrade.candidate_version = "1.0-2";
  upgrade.origin = "Debian";
  upgrade.label = security ? "Debian-Security" : "Debian";
  upgrade.archive = security ? "stable-security" : "stable";
  upgrade.codename = security ? "bookworm-security" : "bookworm";
  upgrade.security = security;
  upgrade.kept_back = kept_back;
  return upgrade;
}

v1::OsPatchingFacts Collect(const OsPatchingProbe& probe,
                            const fs::path& root) {
  absl::StatusOr<v1::Facts> facts = probe.Collect(root);
  EXPECT_TRUE(facts.ok()) << facts.status();
  if (!facts.ok()) return {};
  EXPECT_TRUE(facts->has_os_patching());
  return facts->os_patching();
}

v1::OsPatchingFacts CollectWithFake(const std::string& fixture, AptState apt,
                                    RunningKernel kernel = kDebianKernel18) {
  OsPatchingProbe probe(std::make_unique<FakeAptCache>(std::move(apt)),
                        std::make_unique<FakeKernel>(std::move(kernel)));
  return Collect(probe, Fixture(fixture));
}

// The probe with the real libapt-pkg cache, over a fixture root.
v1::OsPatchingFacts CollectWithLibApt(const std::string& fixture,
                                      RunningKernel kernel = kDebianKernel18) {
  OsPatchingProbe probe(std::make_unique<LibAptCache>(),
                        std::make_unique<FakeKernel>(std::move(kernel)));
  return Collect(probe, Fixture(fixture));
}

// --- ParseRebootRequiredPkgs -----------------------------------------------

TEST(RebootRequiredPkgsTest, SortsAndDeduplicates) {
  EXPECT_THAT(ParseRebootRequiredPkgs("linux-image-6.1.0-20-amd64\nlibssl3\n"
                                      "linux-image-6.1.0-20-amd64\n"),
              ElementsAre("libssl3", "linux-image-6.1.0-20-amd64"));
}

TEST(RebootRequiredPkgsTest, TrimsAndSkipsBlankLines) {
  EXPECT_THAT(ParseRebootRequiredPkgs("\n  dbus \r\n\n\tlibc6:amd64\n"),
              ElementsAre("dbus", "libc6:amd64"));
}

TEST(RebootRequiredPkgsTest, EmptyFileHasNoPackages) {
  EXPECT_THAT(ParseRebootRequiredPkgs(""), IsEmpty());
}

TEST(RebootRequiredPkgsTest, SkipsNamesADebianPackageCannotHave) {
  EXPECT_THAT(ParseRebootRequiredPkgs("Upper\nwith space\n$(rm -rf)\nok\n"
                                      "tab\there\n"),
              ElementsAre("ok"));
}

TEST(RebootRequiredPkgsTest, SurvivesBinaryJunkAndHugeLines) {
  std::string junk;
  for (int i = 0; i < 65536; ++i) junk.push_back(static_cast<char>(i));
  junk += "\n" + std::string(1 << 20, 'a') + "\nlibc6\n";
  EXPECT_THAT(ParseRebootRequiredPkgs(junk), ElementsAre("libc6"));
}

TEST(RebootRequiredPkgsTest, CapsTheNumberOfNames) {
  std::string text;
  for (int i = 0; i < 5000; ++i) text += "pkg" + std::to_string(i) + "\n";
  EXPECT_EQ(ParseRebootRequiredPkgs(text).size(), 1024u);
}

// --- KernelPackageVersionFromUname -------------------------------------------

TEST(KernelVersionTest, ReadsDebianBuildString) {
  EXPECT_EQ(KernelPackageVersionFromUname(
                "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)"),
            "6.1.76-1");
}

TEST(KernelVersionTest, ReadsBackportAndEpochVersions) {
  EXPECT_EQ(KernelPackageVersionFromUname(
                "#1 SMP PREEMPT_DYNAMIC Debian 6.10.6-1~bpo12+1 (2024-08-26)"),
            "6.10.6-1~bpo12+1");
  EXPECT_EQ(KernelPackageVersionFromUname("#1 SMP Debian 1:5.0-2"), "1:5.0-2");
}

TEST(KernelVersionTest, UbuntuAndCustomKernelsNameNoVersion) {
  EXPECT_EQ(KernelPackageVersionFromUname(
                "#101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023"),
            "");
  EXPECT_EQ(KernelPackageVersionFromUname("#1 SMP PREEMPT_DYNAMIC @0"), "");
  EXPECT_EQ(KernelPackageVersionFromUname(""), "");
}

TEST(KernelVersionTest, RejectsMalformedVersions) {
  EXPECT_EQ(KernelPackageVersionFromUname("Debian "), "");
  EXPECT_EQ(KernelPackageVersionFromUname("Debian abc-1"), "");
  EXPECT_EQ(KernelPackageVersionFromUname("Debian 6.1\x01-1 (x)"), "");
  // A later well-formed marker still counts.
  EXPECT_EQ(KernelPackageVersionFromUname("Debian x Debian 6.1.76-1"),
            "6.1.76-1");
}

TEST(KernelVersionTest, SurvivesHugeInput) {
  std::string huge = "Debian " + std::string(1 << 20, '1');
  EXPECT_EQ(KernelPackageVersionFromUname(huge), "");
}

// --- KernelReleaseOfPackage ------------------------------------------------

TEST(KernelReleaseTest, ReadsImagePackages) {
  EXPECT_EQ(KernelReleaseOfPackage("linux-image-6.1.0-18-amd64"),
            "6.1.0-18-amd64");
  EXPECT_EQ(KernelReleaseOfPackage("linux-image-6.1.0-18-cloud-amd64"),
            "6.1.0-18-cloud-amd64");
  EXPECT_EQ(KernelReleaseOfPackage("linux-image-6.1.0-18-amd64-unsigned"),
            "6.1.0-18-amd64");
  EXPECT_EQ(KernelReleaseOfPackage("linux-image-unsigned-5.15.0-101-generic"),
            "5.15.0-101-generic");
}

TEST(KernelReleaseTest, RejectsMetaDebugAndOtherPackages) {
  EXPECT_EQ(KernelReleaseOfPackage("linux-image-amd64"), std::nullopt);
  EXPECT_EQ(KernelReleaseOfPackage("linux-image-generic"), std::nullopt);
  EXPECT_EQ(KernelReleaseOfPackage("linux-image-6.1.0-18-amd64-dbg"),
            std::nullopt);
  EXPECT_EQ(KernelReleaseOfPackage("linux-headers-6.1.0-18-amd64"),
            std::nullopt);
  EXPECT_EQ(KernelReleaseOfPackage("linux-image-"), std::nullopt);
  EXPECT_EQ(KernelReleaseOfPackage(""), std::nullopt);
  EXPECT_EQ(KernelReleaseOfPackage("linux-image-6 bad"), std::nullopt);
}

// --- PeriodicIntervalEnabled -------------------------------------------------

TEST(PeriodicIntervalTest, OnValues) {
  for (const char* value : {"1", "7", "always", "12h", "30m", "2d", " 1 "}) {
    EXPECT_TRUE(PeriodicIntervalEnabled(value)) << value;
  }
}

TEST(PeriodicIntervalTest, OffAndUnreadableValues) {
  for (const char* value : {"", "0", "0d", "-1", "true", "yes", "d", "1w",
                            "99999999999999999999"}) {
    EXPECT_FALSE(PeriodicIntervalEnabled(value)) << value;
  }
}

// --- JudgeKernel -----------------------------------------------------------

TEST(JudgeKernelTest, NewerKernelPackageInstalled) {
  KernelJudgement judgement =
      JudgeKernel(kDebianKernel18, {{"linux-image-6.1.0-18-amd64", "6.1.76-1"},
                                    {"linux-image-6.1.0-20-amd64", "6.1.85-1"},
                                    {"linux-image-amd64", "6.1.85-1"}});
  EXPECT_EQ(judgement.newest_release, "6.1.0-20-amd64");
  EXPECT_EQ(judgement.newest_version, "6.1.85-1");
  EXPECT_TRUE(judgement.reboot_pending);
}

TEST(JudgeKernelTest, RunningNewestIsNotPending) {
  KernelJudgement judgement = JudgeKernel(
      kDebianKernel18, {{"linux-image-6.1.0-18-amd64", "6.1.76-1"}});
  EXPECT_EQ(judgement.newest_release, "6.1.0-18-amd64");
  EXPECT_FALSE(judgement.reboot_pending);
}

TEST(JudgeKernelTest, SameReleaseUpgradedInPlaceIsPending) {
  KernelJudgement judgement = JudgeKernel(
      kDebianKernel18, {{"linux-image-6.1.0-18-amd64", "6.1.76-2"}});
  EXPECT_TRUE(judgement.reboot_pending);
}

TEST(JudgeKernelTest, ComparesVersionsTheDebianWay) {
  // A string comparison would call 6.1.9 newer than 6.1.10.
  KernelJudgement judgement =
      JudgeKernel({"6.1.0-9-amd64", "#1 SMP Debian 6.1.9-1 (2023-01-01)"},
                  {{"linux-image-6.1.0-9-amd64", "6.1.9-1"},
                   {"linux-image-6.1.0-10-amd64", "6.1.10-1"}});
  EXPECT_EQ(judgement.newest_release, "6.1.0-10-amd64");
  EXPECT_TRUE(judgement.reboot_pending);
  // "~" sorts before anything: a backport ~bpo is older than the release.
  judgement = JudgeKernel({"6.1.0-9-amd64", "#1 SMP Debian 6.1.9-1"},
                          {{"linux-image-6.1.0-9-amd64", "6.1.9-1"},
                           {"linux-image-6.1.0-8-amd64", "6.1.9-1~bpo11+1"}});
  EXPECT_EQ(judgement.newest_release, "6.1.0-9-amd64");
  EXPECT_FALSE(judgement.reboot_pending);
}

TEST(JudgeKernelTest, UnpackagedRunningKernelComparesReleases) {
  // A container or custom kernel: only the release strings can be compared.
  EXPECT_FALSE(JudgeKernel({"6.18.44-fc-v1098", "#1 SMP @0"},
                           {{"linux-image-6.1.0-18-amd64", "6.1.76-1"}})
                   .reboot_pending);
  EXPECT_TRUE(JudgeKernel({"6.1.0-9-amd64", ""},
                          {{"linux-image-6.1.0-18-amd64", "6.1.76-1"}})
                  .reboot_pending);
}

TEST(JudgeKernelTest, NoKernelPackagesNoJudgement) {
  KernelJudgement judgement = JudgeKernel(kDebianKernel18, {{"bash", "5.2"}});
  EXPECT_EQ(judgement.newest_release, "");
  EXPECT_FALSE(judgement.reboot_pending);
}

// --- Fixture trees with a fake APT cache -------------------------------------

TEST(OsPatchingFixtureTest, FakeCacheUpgradesBecomeFacts) {
  AptState apt;
  apt.config_read = true;
  apt.cache_ok = true;
  apt.periodic_update_package_lists = "1";
  apt.periodic_unattended_upgrade = "1";
  apt.upgrades = {Upgrade("base-files", false, false),
                  Upgrade("zlib1g", true, false),
                  Upgrade("libssl3", true, true)};
  v1::OsPatchingFacts facts = CollectWithFake("debian12_security_pending", apt);
  EXPECT_TRUE(facts.apt_cache_ok());
  EXPECT_EQ(facts.pending_upgrades(), 3u);
  EXPECT_EQ(facts.pending_upgrades_kept_back(), 1u);
  ASSERT_EQ(facts.security_upgrades_size(), 2);
  EXPECT_EQ(facts.security_upgrades(0).package(), "libssl3");  // sorted
  EXPECT_TRUE(facts.security_upgrades(0).kept_back());
  EXPECT_EQ(facts.security_upgrades(1).package(), "zlib1g");
  EXPECT_EQ(facts.security_upgrades(1).codename(), "bookworm-security");
  EXPECT_EQ(facts.security_upgrades(1).label(), "Debian-Security");
  EXPECT_TRUE(facts.unattended_upgrades_installed());
  EXPECT_TRUE(facts.unattended_upgrades_enabled());
}

TEST(OsPatchingFixtureTest, CacheErrorIsReportedNotHidden) {
  AptState apt;
  apt.config_read = true;
  apt.error = "E: Malformed entry 1 in list file";
  v1::OsPatchingFacts facts = CollectWithFake("debian12_up_to_date", apt);
  EXPECT_TRUE(facts.dpkg_present());
  EXPECT_FALSE(facts.apt_cache_ok());
  EXPECT_THAT(facts.apt_error(), HasSubstr("Malformed"));
  EXPECT_EQ(facts.pending_upgrades(), 0u);
}

TEST(OsPatchingFixtureTest, InstalledButDisabledIsNotEnabled) {
  AptState apt;
  apt.cache_ok = true;
  apt.periodic_update_package_lists = "1";
  apt.periodic_unattended_upgrade = "0";
  v1::OsPatchingFacts facts = CollectWithFake("debian12_security_pending", apt);
  EXPECT_TRUE(facts.unattended_upgrades_installed());
  EXPECT_FALSE(facts.unattended_upgrades_enabled());
}

TEST(OsPatchingFixtureTest, EnabledSettingsWithoutThePackageIsNotEnabled) {
  AptState apt;
  apt.cache_ok = true;
  apt.periodic_update_package_lists = "1";
  apt.periodic_unattended_upgrade = "1";
  v1::OsPatchingFacts facts = CollectWithFake("debian12_up_to_date", apt);
  EXPECT_FALSE(facts.unattended_upgrades_installed());
  EXPECT_FALSE(facts.unattended_upgrades_enabled());
}

TEST(OsPatchingFixtureTest, NoDpkgIsAFactAndTheCacheIsNotAsked) {
  AptState apt;
  apt.cache_ok = true;
  apt.upgrades = {Upgrade("never", true, false)};
  v1::OsPatchingFacts facts = CollectWithFake("no_dpkg", apt);
  EXPECT_EQ(facts.os_id(), "fedora");
  EXPECT_EQ(facts.os_version_id(), "40");
  EXPECT_FALSE(facts.dpkg_present());
  EXPECT_FALSE(facts.apt_cache_ok());
  EXPECT_THAT(facts.apt_error(), HasSubstr("no dpkg database"));
  EXPECT_THAT(facts.security_upgrades(), IsEmpty());
  EXPECT_EQ(facts.package_lists_updated_unix(), 0);
  EXPECT_FALSE(facts.reboot_required());
}

TEST(OsPatchingFixtureTest, EmptyRootIsAllAbsent) {
  fs::path root = fs::path(::testing::TempDir()) / "os_patching_empty_root";
  fs::create_directories(root);
  OsPatchingProbe probe(std::make_unique<FakeAptCache>(AptState{}),
                        std::make_unique<FakeKernel>(RunningKernel{}));
  v1::OsPatchingFacts facts = Collect(probe, root);
  EXPECT_EQ(facts.os_id(), "");
  EXPECT_FALSE(facts.dpkg_present());
  EXPECT_EQ(facts.running_kernel_release(), "");
}

TEST(OsPatchingFixtureTest, UnreadableDpkgStatusIsAnError) {
  if (::geteuid() == 0) {
    // root reads anything: make the status a directory instead.
    fs::path root = fs::path(::testing::TempDir()) / "os_patching_bad_status";
    fs::create_directories(root / "var/lib/dpkg/status");
    OsPatchingProbe probe(std::make_unique<FakeAptCache>(AptState{}),
                          std::make_unique<FakeKernel>(RunningKernel{}));
    EXPECT_FALSE(probe.Collect(root).ok());
    return;
  }
  fs::path root = fs::path(::testing::TempDir()) / "os_patching_unreadable";
  fs::create_directories(root / "var/lib/dpkg");
  fs::path status = root / "var/lib/dpkg/status";
  {
    std::FILE* f = std::fopen(status.c_str(), "w");
    std::fclose(f);
  }
  fs::permissions(status, fs::perms::none);
  OsPatchingProbe probe(std::make_unique<FakeAptCache>(AptState{}),
                        std::make_unique<FakeKernel>(RunningKernel{}));
  EXPECT_FALSE(probe.Collect(root).ok());
}

TEST(OsPatchingFixtureTest, RebootRequiredAndNewerKernel) {
  v1::OsPatchingFacts facts =
      CollectWithFake("debian12_security_pending", AptState{});
  EXPECT_TRUE(facts.reboot_required());
  EXPECT_THAT(facts.reboot_required_packages(),
              ElementsAre("libssl3", "linux-image-6.1.0-20-amd64"));
  EXPECT_EQ(facts.running_kernel_release(), "6.1.0-18-amd64");
  EXPECT_EQ(facts.running_kernel_version(), "6.1.76-1");
  EXPECT_EQ(facts.newest_kernel_release(), "6.1.0-20-amd64");
  EXPECT_EQ(facts.newest_kernel_version(), "6.1.85-1");
  EXPECT_TRUE(facts.kernel_reboot_pending());
}

TEST(OsPatchingFixtureTest, UpToDateKernelNoReboot) {
  v1::OsPatchingFacts facts =
      CollectWithFake("debian12_up_to_date", AptState{},
                      {"6.1.0-21-amd64",
                       "#1 SMP PREEMPT_DYNAMIC Debian 6.1.90-1 (2024-05-03)"});
  EXPECT_FALSE(facts.reboot_required());
  EXPECT_THAT(facts.reboot_required_packages(), IsEmpty());
  EXPECT_FALSE(facts.kernel_reboot_pending());
}

TEST(OsPatchingFixtureTest, ListsAgeFromTheUpdateStampWhenNewest) {
  fs::path stamp = Fixture("debian12_security_pending") /
                   "var/lib/apt/periodic/update-success-stamp";
  // Make the stamp the newest evidence whatever the checkout did.
  fs::last_write_time(stamp, fs::file_time_type::clock::now());
  v1::OsPatchingFacts facts =
      CollectWithFake("debian12_security_pending", AptState{});
  EXPECT_EQ(facts.package_lists_updated_source(),
            "var/lib/apt/periodic/update-success-stamp");
  EXPECT_EQ(facts.package_lists_updated_unix(), MtimeOf(stamp));
}

TEST(OsPatchingFixtureTest, ListsAgeFromTheNewestReleaseFileWithoutStamp) {
  const char* kSecurity =
      "var/lib/apt/lists/"
      "security.example.org_debian-security_dists_bookworm-security_InRelease";
  fs::path release = Fixture("debian12_up_to_date") / kSecurity;
  fs::last_write_time(release, fs::file_time_type::clock::now());
  v1::OsPatchingFacts facts =
      CollectWithFake("debian12_up_to_date", AptState{});
  EXPECT_EQ(facts.package_lists_updated_source(), kSecurity);
  EXPECT_EQ(facts.package_lists_updated_unix(), MtimeOf(release));
}

TEST(OsPatchingFixtureTest, NeverUpdatedHasNoListsAge) {
  v1::OsPatchingFacts facts =
      CollectWithFake("debian11_never_updated", AptState{});
  EXPECT_EQ(facts.package_lists_updated_unix(), 0);
  EXPECT_EQ(facts.package_lists_updated_source(), "");
  EXPECT_EQ(facts.os_version_id(), "11");
}

TEST(OsPatchingFixtureTest, OsReleaseFallsBackToUsrLib) {
  v1::OsPatchingFacts facts =
      CollectWithFake("ubuntu2204_security_pending", AptState{});
  EXPECT_EQ(facts.os_id(), "ubuntu");
  EXPECT_EQ(facts.os_version_id(), "22.04");
  EXPECT_EQ(facts.os_version_codename(), "jammy");
  EXPECT_EQ(facts.os_pretty_name(), "Ubuntu 22.04.4 LTS");
}

// --- Fixture trees with the real libapt-pkg cache ----------------------------

TEST(OsPatchingLibAptFixtureTest, DebianSecurityPocketAndKeptBack) {
  v1::OsPatchingFacts facts = CollectWithLibApt("debian12_security_pending");
  ASSERT_TRUE(facts.apt_cache_ok()) << facts.apt_error();
  EXPECT_EQ(facts.os_id(), "debian");
  EXPECT_EQ(facts.os_version_id(), "12");
  // base-files, openssl, libssl3, tzdata, linux-image-amd64, app.
  EXPECT_EQ(facts.pending_upgrades(), 6u);
  // app needs libnew1; linux-image-amd64 needs linux-image-6.1.0-21-amd64.
  EXPECT_EQ(facts.pending_upgrades_kept_back(), 2u);
  std::vector<std::string> names;
  for (const v1::PendingUpgrade& u : facts.security_upgrades()) {
    names.push_back(u.package());
  }
  EXPECT_THAT(names,
              ElementsAre("libssl3", "linux-image-amd64", "openssl", "tzdata"));
  const v1::PendingUpgrade& kernel = facts.security_upgrades(1);
  EXPECT_TRUE(kernel.kept_back());
  EXPECT_EQ(kernel.installed_version(), "6.1.85-1");
  EXPECT_EQ(kernel.candidate_version(), "6.1.90-1");
  const v1::PendingUpgrade& tzdata = facts.security_upgrades(3);
  // In both the point release and the security pocket: the pocket wins.
  EXPECT_EQ(tzdata.architecture(), "all");
  EXPECT_EQ(tzdata.origin(), "Debian");
  EXPECT_EQ(tzdata.label(), "Debian-Security");
  EXPECT_EQ(tzdata.archive(), "stable-security");
  EXPECT_EQ(tzdata.codename(), "bookworm-security");
  EXPECT_FALSE(tzdata.kept_back());
  // 10periodic says "0", 20auto-upgrades (nested syntax) "1" wins, and
  // 99off.dpkg-old is ignored as apt ignores it.
  EXPECT_EQ(facts.periodic_update_package_lists(), "1");
  EXPECT_EQ(facts.periodic_unattended_upgrade(), "1");
  EXPECT_TRUE(facts.unattended_upgrades_enabled());
}

TEST(OsPatchingLibAptFixtureTest, UpToDateDebianHasNothingPending) {
  v1::OsPatchingFacts facts = CollectWithLibApt("debian12_up_to_date");
  ASSERT_TRUE(facts.apt_cache_ok()) << facts.apt_error();
  EXPECT_EQ(facts.pending_upgrades(), 0u);
  EXPECT_THAT(facts.security_upgrades(), IsEmpty());
  EXPECT_EQ(facts.periodic_update_package_lists(), "");
  EXPECT_FALSE(facts.unattended_upgrades_installed());
  EXPECT_FALSE(facts.unattended_upgrades_enabled());
}

TEST(OsPatchingLibAptFixtureTest, UbuntuSecurityPocket) {
  v1::OsPatchingFacts facts = CollectWithLibApt(
      "ubuntu2204_security_pending",
      {"5.15.0-101-generic", "#111-Ubuntu SMP Tue Mar 5 20:16:58 UTC 2024"});
  ASSERT_TRUE(facts.apt_cache_ok()) << facts.apt_error();
  EXPECT_EQ(facts.pending_upgrades(), 2u);  // nano (jammy-updates), openssl
  ASSERT_EQ(facts.security_upgrades_size(), 1);
  const v1::PendingUpgrade& openssl = facts.security_upgrades(0);
  EXPECT_EQ(openssl.package(), "openssl");
  EXPECT_EQ(openssl.candidate_version(), "3.0.2-0ubuntu1.15");
  EXPECT_EQ(openssl.origin(), "Ubuntu");
  EXPECT_EQ(openssl.archive(), "jammy-security");
  EXPECT_EQ(facts.periodic_update_package_lists(), "1");
  EXPECT_EQ(facts.periodic_unattended_upgrade(), "0");
  EXPECT_TRUE(facts.unattended_upgrades_installed());
  EXPECT_FALSE(facts.unattended_upgrades_enabled());
  EXPECT_FALSE(facts.kernel_reboot_pending());
}

TEST(OsPatchingLibAptFixtureTest, NeverUpdatedHostHasOnlyItsStatus) {
  v1::OsPatchingFacts facts = CollectWithLibApt("debian11_never_updated");
  ASSERT_TRUE(facts.apt_cache_ok()) << facts.apt_error();
  EXPECT_EQ(facts.pending_upgrades(), 0u);
  EXPECT_EQ(facts.package_lists_updated_unix(), 0);
}

TEST(OsPatchingLibAptFixtureTest, TwoCollectionsGiveIdenticalBytes) {
  OsPatchingProbe probe(std::make_unique<LibAptCache>(),
                        std::make_unique<FakeKernel>(kDebianKernel18));
  absl::StatusOr<v1::Facts> first =
      probe.Collect(Fixture("debian12_security_pending"));
  absl::StatusOr<v1::Facts> other =
      probe.Collect(Fixture("debian12_up_to_date"));
  absl::StatusOr<v1::Facts> second =
      probe.Collect(Fixture("debian12_security_pending"));
  ASSERT_TRUE(first.ok() && other.ok() && second.ok());
  std::string a, b;
  ASSERT_TRUE(first->SerializeToString(&a));
  ASSERT_TRUE(second->SerializeToString(&b));
  EXPECT_EQ(a, b);
}

}  // namespace
}  // namespace evidentia::agent
