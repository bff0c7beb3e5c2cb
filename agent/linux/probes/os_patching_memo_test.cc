// Memoisation of linux.os_patching: the fingerprint of its inputs, and the
// probe with a memo over copies of the fixture trees, counting the reads of
// its APT cache.
#include "agent/linux/probes/os_patching_memo.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "agent/linux/probes/os_patching_probe.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using ::testing::Contains;

constexpr nanoseconds kNoRacyWindow{0};
constexpr milliseconds kShortRacyWindow{300};

fs::path Fixture(const std::string& name) {
  return fs::path(EVIDENTIA_SOURCE_DIR) / "tests/fixtures/os_patching" / name;
}

// A private copy of a fixture tree, every entry dated an hour ago.
fs::path CopyFixture(const std::string& name, const std::string& as) {
  fs::path root = fs::path(::testing::TempDir()) / ("os_patching_memo_" + as);
  fs::remove_all(root);
  fs::create_directories(root);
  fs::copy(Fixture(name), root,
           fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  fs::file_time_type past = fs::file_time_type::clock::now() - hours(1);
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (!entry.is_symlink()) fs::last_write_time(entry.path(), past);
  }
  return root;
}

void WriteFile(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// An AptCache that counts its reads: a fixed state, or the real libapt-pkg.
class CountingAptCache : public AptCache {
 public:
  CountingAptCache(AptState state, std::shared_ptr<std::atomic<int>> reads,
                   bool real = false)
      : state_(std::move(state)), reads_(std::move(reads)), real_(real) {}
  AptState Read(const fs::path& root) const override {
    ++*reads_;
    return real_ ? LibAptCache().Read(root) : state_;
  }
  AptInputs Inputs(const fs::path& root) const override {
    return real_ ? LibAptCache().Inputs(root) : AptInputs{};
  }

 private:
  AptState state_;
  std::shared_ptr<std::atomic<int>> reads_;
  bool real_;
};

// A kernel whose uname the test changes.
class MutableKernel : public KernelSource {
 public:
  explicit MutableKernel(std::shared_ptr<RunningKernel> kernel)
      : kernel_(std::move(kernel)) {}
  RunningKernel Running() const override { return *kernel_; }

 private:
  std::shared_ptr<RunningKernel> kernel_;
};

AptState SomeUpgrades() {
  AptState apt;
  apt.config_read = true;
  apt.cache_ok = true;
  apt.periodic_update_package_lists = "1";
  apt.periodic_unattended_upgrade = "1";
  AptUpgrade upgrade;
  upgrade.package = "openssl";
  upgrade.architecture = "amd64";
  upgrade.installed_version = "3.0.11-1~deb12u2";
  upgrade.candidate_version = "3.0.13-1~deb12u1";
  upgrade.label = "Debian-Security";
  upgrade.codename = "bookworm-security";
  upgrade.security = true;
  apt.upgrades = {upgrade};
  return apt;
}

// A probe with a memo, a counted fake APT cache and a changeable kernel.
struct MemoisedProbe {
  explicit MemoisedProbe(nanoseconds racy_window = kNoRacyWindow,
                         bool real_apt = false)
      : memo(racy_window),
        probe(
            std::make_unique<CountingAptCache>(SomeUpgrades(), reads, real_apt),
            std::make_unique<MutableKernel>(kernel), &memo) {}

  std::string Collect(const fs::path& root) {
    absl::StatusOr<v1::Facts> facts = probe.Collect(root);
    EXPECT_TRUE(facts.ok()) << facts.status();
    std::string bytes;
    if (facts.ok()) {
      EXPECT_TRUE(facts->SerializeToString(&bytes));
    }
    return bytes;
  }
  v1::OsPatchingFacts Facts(const fs::path& root) {
    v1::Facts facts;
    EXPECT_TRUE(facts.ParseFromString(Collect(root)));
    return facts.os_patching();
  }

  std::shared_ptr<std::atomic<int>> reads =
      std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<RunningKernel> kernel = std::make_shared<RunningKernel>(
      RunningKernel{"6.1.0-18-amd64",
                    "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)"});
  OsPatchingMemo memo;
  OsPatchingProbe probe;
};

// --- TakeInputFingerprint ------------------------------------------------

InputFingerprint Take(const fs::path& root, const InputSet& inputs,
                      nanoseconds racy_window = kNoRacyWindow) {
  return TakeInputFingerprint(root, inputs, racy_window,
                              std::chrono::system_clock::now());
}

TEST(InputFingerprintTest, UnchangedInputsGiveTheSameFingerprint) {
  fs::path root = CopyFixture("debian12_security_pending", "fp_same");
  InputSet inputs = OsPatchingStandardInputs();
  InputFingerprint a = Take(root, inputs);
  InputFingerprint b = Take(root, inputs);
  EXPECT_TRUE(a.reusable);
  EXPECT_EQ(a.text, b.text);
}

TEST(InputFingerprintTest, NanosecondsOfAnMtimeCount) {
  fs::path root = CopyFixture("debian12_security_pending", "fp_ns");
  InputSet inputs = OsPatchingStandardInputs();
  InputFingerprint before = Take(root, inputs);
  fs::path status = root / "var/lib/dpkg/status";
  fs::last_write_time(status, fs::last_write_time(status) + nanoseconds(1));
  EXPECT_NE(Take(root, inputs).text, before.text);
}

TEST(InputFingerprintTest, RootValuesAndHostPathsCount) {
  fs::path root = CopyFixture("debian12_security_pending", "fp_values");
  fs::path other = CopyFixture("debian12_security_pending", "fp_values_other");
  InputSet inputs = OsPatchingStandardInputs();
  EXPECT_NE(Take(root, inputs).text, Take(other, inputs).text);
  InputSet with_value = inputs;
  with_value.values = {"6.1.0-18-amd64"};
  EXPECT_NE(Take(root, inputs).text, Take(root, with_value).text);
  // Values are length-prefixed: ("ab", "c") is not ("a", "bc").
  InputSet ab_c = inputs, a_bc = inputs;
  ab_c.values = {"ab", "c"};
  a_bc.values = {"a", "bc"};
  EXPECT_NE(Take(root, ab_c).text, Take(root, a_bc).text);
  InputSet host = inputs;
  fs::path outside = fs::path(::testing::TempDir()) / "os_patching_memo_host";
  fs::remove_all(outside);
  host.host_directories = {outside.string()};
  InputFingerprint missing = Take(root, host);
  WriteFile(outside / "x.list", "deb http://x/ y main\n");
  EXPECT_NE(Take(root, host).text, missing.text);
}

TEST(InputFingerprintTest, SymlinkTargetsResolveInsideTheRoot) {
  fs::path root = CopyFixture("debian12_up_to_date", "fp_symlink");
  fs::create_directories(root / "run");
  fs::create_directories(root / "var");
  fs::remove_all(root / "var/run");
  fs::create_directory_symlink("/run", root / "var/run");
  InputSet inputs = OsPatchingStandardInputs();
  InputFingerprint before = Take(root, inputs);
  // root/run/reboot-required is what var/run/reboot-required is below root.
  WriteFile(root / "run/reboot-required", "*** System restart required ***\n");
  EXPECT_NE(Take(root, inputs).text, before.text);
}

TEST(InputFingerprintTest, RecentChangesAreNotReusable) {
  fs::path root = CopyFixture("debian12_security_pending", "fp_racy");
  InputSet inputs = OsPatchingStandardInputs();
  // The copy's ctimes are now, whatever its mtimes say.
  EXPECT_FALSE(Take(root, inputs, kShortRacyWindow).reusable);
  std::this_thread::sleep_for(kShortRacyWindow + milliseconds(100));
  EXPECT_TRUE(Take(root, inputs, kShortRacyWindow).reusable);
  WriteFile(root / "etc/apt/apt.conf.d/50new", "APT::X \"1\";\n");
  EXPECT_FALSE(Take(root, inputs, kShortRacyWindow).reusable);
}

TEST(InputFingerprintTest, HugeDirectoryIsNotReusable) {
  fs::path root = CopyFixture("debian12_up_to_date", "fp_huge");
  for (size_t i = 0; i <= kMaxFingerprintDirEntries; ++i) {
    WriteFile(root / "etc/apt/preferences.d" / ("p" + std::to_string(i)), "");
  }
  EXPECT_FALSE(Take(root, OsPatchingStandardInputs()).reusable);
}

// --- OsPatchingProbe with a memo -------------------------------------------

TEST(OsPatchingMemoTest, UnchangedInputsAreNotReadAgain) {
  fs::path root = CopyFixture("debian12_security_pending", "same");
  MemoisedProbe p;
  std::string first = p.Collect(root);
  EXPECT_EQ(*p.reads, 1);
  std::string second = p.Collect(root);
  std::string third = p.Collect(root);
  EXPECT_EQ(*p.reads, 1);
  EXPECT_EQ(first, second);
  EXPECT_EQ(first, third);
  // The kept facts are the ones a probe without a memo collects.
  OsPatchingProbe plain(
      std::make_unique<CountingAptCache>(SomeUpgrades(), p.reads),
      std::make_unique<MutableKernel>(p.kernel));
  absl::StatusOr<v1::Facts> facts = plain.Collect(root);
  ASSERT_TRUE(facts.ok());
  std::string bytes;
  ASSERT_TRUE(facts->SerializeToString(&bytes));
  EXPECT_EQ(bytes, first);
}

TEST(OsPatchingMemoTest, WithoutAMemoEveryCollectionReads) {
  fs::path root = CopyFixture("debian12_security_pending", "nomemo");
  auto reads = std::make_shared<std::atomic<int>>(0);
  OsPatchingProbe probe(
      std::make_unique<CountingAptCache>(SomeUpgrades(), reads),
      std::make_unique<MutableKernel>(
          std::make_shared<RunningKernel>(RunningKernel{})));
  ASSERT_TRUE(probe.Collect(root).ok());
  ASSERT_TRUE(probe.Collect(root).ok());
  EXPECT_EQ(*reads, 2);
}

// One kind of input changing: the next collection reads again, the one after
// it does not.
struct Change {
  const char* name;
  std::function<void(const fs::path& root, MemoisedProbe& p)> apply;
};

class OsPatchingMemoChangeTest : public ::testing::TestWithParam<Change> {};

TEST_P(OsPatchingMemoChangeTest, ChangedInputIsRecomputed) {
  fs::path root = CopyFixture("debian12_security_pending",
                              std::string("change_") + GetParam().name);
  MemoisedProbe p;
  std::string before = p.Collect(root);
  ASSERT_EQ(*p.reads, 1);
  GetParam().apply(root, p);
  p.Collect(root);
  EXPECT_EQ(*p.reads, 2) << GetParam().name;
  p.Collect(root);
  EXPECT_EQ(*p.reads, 2) << GetParam().name;
}

void Touch(const fs::path& path) {
  fs::last_write_time(path, fs::file_time_type::clock::now() - hours(2));
}

INSTANTIATE_TEST_SUITE_P(
    EveryKindOfInput, OsPatchingMemoChangeTest,
    ::testing::Values(
        Change{"list_mtime",
               [](const fs::path& root, MemoisedProbe&) {
                 Touch(root /
                       "var/lib/apt/lists/"
                       "deb.example.org_debian_dists_bookworm_main_binary-"
                       "amd64_Packages");
               }},
        Change{"new_list",
               [](const fs::path& root, MemoisedProbe&) {
                 WriteFile(root / "var/lib/apt/lists/x_dists_y_InRelease", "");
               }},
        Change{"new_sources_part",
               [](const fs::path& root, MemoisedProbe&) {
                 WriteFile(root / "etc/apt/sources.list.d/extra.list",
                           "deb http://deb.example.org/debian bookworm main\n");
               }},
        Change{"sources_list",
               [](const fs::path& root, MemoisedProbe&) {
                 WriteFile(root / "etc/apt/sources.list", "");
               }},
        Change{"dpkg_status_renamed_same_size",
               [](const fs::path& root, MemoisedProbe&) {
                 fs::path status = root / "var/lib/dpkg/status";
                 std::string text = ReadFile(status);
                 fs::file_time_type mtime = fs::last_write_time(status);
                 fs::path fresh = root / "var/lib/dpkg/status-new";
                 WriteFile(fresh, text);
                 fs::last_write_time(fresh, mtime);  // same size and mtime
                 fs::rename(fresh, status);
               }},
        Change{"reboot_required_disappears",
               [](const fs::path& root, MemoisedProbe&) {
                 fs::remove(root / "var/run/reboot-required");
               }},
        Change{"reboot_required_pkgs",
               [](const fs::path& root, MemoisedProbe&) {
                 WriteFile(root / "var/run/reboot-required.pkgs", "dbus\n");
               }},
        Change{"apt_conf_part",
               [](const fs::path& root, MemoisedProbe&) {
                 WriteFile(root / "etc/apt/apt.conf.d/50unattended",
                           "APT::Periodic::Unattended-Upgrade \"0\";\n");
               }},
        Change{"apt_conf",
               [](const fs::path& root, MemoisedProbe&) {
                 WriteFile(root / "etc/apt/apt.conf", "\n");
               }},
        Change{"preferences_part",
               [](const fs::path& root, MemoisedProbe&) {
                 WriteFile(root / "etc/apt/preferences.d/pin",
                           "Package: *\nPin: release a=stable\n"
                           "Pin-Priority: 100\n");
               }},
        Change{"preferences",
               [](const fs::path& root, MemoisedProbe&) {
                 WriteFile(root / "etc/apt/preferences", "\n");
               }},
        Change{"update_stamp",
               [](const fs::path& root, MemoisedProbe&) {
                 Touch(root / "var/lib/apt/periodic/update-success-stamp");
               }},
        Change{"extended_states",
               [](const fs::path& root, MemoisedProbe&) {
                 WriteFile(root / "var/lib/apt/extended_states",
                           "Package: app\nArchitecture: amd64\n"
                           "Auto-Installed: 1\n");
               }},
        Change{"dpkg_arch",
               [](const fs::path& root, MemoisedProbe&) {
                 WriteFile(root / "var/lib/dpkg/arch", "amd64\ni386\n");
               }},
        Change{"os_release",
               [](const fs::path& root, MemoisedProbe&) {
                 WriteFile(root / "etc/os-release", "ID=debian\n");
               }},
        Change{"uname_release",
               [](const fs::path&, MemoisedProbe& p) {
                 p.kernel->release = "6.1.0-20-amd64";
               }},
        Change{"uname_version",
               [](const fs::path&, MemoisedProbe& p) {
                 p.kernel->version = "#1 SMP Debian 6.1.85-1 (2024-04-11)";
               }}),
    [](const ::testing::TestParamInfo<Change>& info) {
      return std::string(info.param.name);
    });

TEST(OsPatchingMemoTest, RecomputedFactsSayWhatChanged) {
  fs::path root = CopyFixture("debian12_up_to_date", "says");
  MemoisedProbe p;
  v1::OsPatchingFacts before = p.Facts(root);
  EXPECT_FALSE(before.reboot_required());
  EXPECT_EQ(before.running_kernel_release(), "6.1.0-18-amd64");
  WriteFile(root / "var/run/reboot-required", "");
  p.kernel->release = "6.1.0-21-amd64";
  v1::OsPatchingFacts after = p.Facts(root);
  EXPECT_EQ(*p.reads, 2);
  EXPECT_TRUE(after.reboot_required());
  EXPECT_EQ(after.running_kernel_release(), "6.1.0-21-amd64");
}

TEST(OsPatchingMemoTest, TwoRootsAlternate) {
  fs::path pending = CopyFixture("debian12_security_pending", "alt_pending");
  fs::path current = CopyFixture("ubuntu2204_security_pending", "alt_ubuntu");
  MemoisedProbe p;
  std::string a1 = p.Collect(pending);
  std::string b1 = p.Collect(current);
  std::string a2 = p.Collect(pending);
  std::string b2 = p.Collect(current);
  EXPECT_EQ(*p.reads, 2);
  EXPECT_EQ(a1, a2);
  EXPECT_EQ(b1, b2);
  EXPECT_NE(a1, b1);
  v1::Facts facts;
  ASSERT_TRUE(facts.ParseFromString(b2));
  EXPECT_EQ(facts.os_patching().os_id(), "ubuntu");
  // A change below one root recomputes that root only.
  WriteFile(pending / "var/run/reboot-required.pkgs", "dbus\n");
  p.Collect(pending);
  p.Collect(current);
  EXPECT_EQ(*p.reads, 3);
}

TEST(OsPatchingMemoTest, KeepsAtMostEightRoots) {
  MemoisedProbe p;
  std::vector<fs::path> roots;
  for (size_t i = 0; i <= OsPatchingMemo::kMaxRoots; ++i) {
    roots.push_back(
        CopyFixture("debian12_up_to_date", "lru" + std::to_string(i)));
    p.Collect(roots.back());
  }
  EXPECT_EQ(*p.reads, 9);
  p.Collect(roots.back());  // kept
  EXPECT_EQ(*p.reads, 9);
  p.Collect(roots.front());  // the least recently used, dropped
  EXPECT_EQ(*p.reads, 10);
}

TEST(OsPatchingMemoTest, RecentlyChangedInputsAreReadAgain) {
  fs::path root = CopyFixture("debian12_security_pending", "racy");
  MemoisedProbe p(kShortRacyWindow);
  p.Collect(root);  // the copy was just made: not kept
  p.Collect(root);
  EXPECT_EQ(*p.reads, 2);
  std::this_thread::sleep_for(kShortRacyWindow + milliseconds(100));
  p.Collect(root);
  p.Collect(root);
  EXPECT_EQ(*p.reads, 3);
  WriteFile(root / "etc/apt/apt.conf.d/50new", "\n");  // changed just now
  p.Collect(root);
  p.Collect(root);
  EXPECT_EQ(*p.reads, 5);
  std::this_thread::sleep_for(kShortRacyWindow + milliseconds(100));
  p.Collect(root);
  p.Collect(root);
  EXPECT_EQ(*p.reads, 6);
}

TEST(OsPatchingMemoTest, ErrorsAreNotKept) {
  fs::path root = CopyFixture("debian12_up_to_date", "error");
  fs::remove(root / "var/lib/dpkg/status");
  fs::create_directories(root / "var/lib/dpkg/status");  // unreadable
  MemoisedProbe p;
  EXPECT_FALSE(p.probe.Collect(root).ok());
  fs::remove_all(root / "var/lib/dpkg/status");
  fs::copy_file(Fixture("debian12_up_to_date") / "var/lib/dpkg/status",
                root / "var/lib/dpkg/status");
  absl::StatusOr<v1::Facts> facts = p.probe.Collect(root);
  ASSERT_TRUE(facts.ok()) << facts.status();
  EXPECT_TRUE(facts->os_patching().dpkg_present());
}

// --- LibAptCache::Inputs ---------------------------------------------------

TEST(LibAptInputsTest, NamesWhereTheConfigurationPointsApt) {
  fs::path root = CopyFixture("debian12_security_pending", "inputs");
  fs::path elsewhere =
      fs::path(::testing::TempDir()) / "os_patching_memo_elsewhere";
  fs::remove_all(elsewhere);
  fs::create_directories(elsewhere);
  WriteFile(root / "etc/apt/apt.conf.d/60elsewhere",
            "Dir::Etc::sourceparts \"" + elsewhere.string() + "\";\n");
  AptInputs inputs = LibAptCache().Inputs(root);
  std::string dir = root.string() + "/";
  EXPECT_THAT(inputs.files, Contains(dir + "var/lib/dpkg/status"));
  EXPECT_THAT(inputs.files, Contains(dir + "etc/apt/sources.list"));
  EXPECT_THAT(inputs.directories, Contains(dir + "var/lib/apt/lists/"));
  EXPECT_THAT(inputs.directories, Contains(dir + "etc/apt/apt.conf.d/"));
  EXPECT_THAT(inputs.directories, Contains(elsewhere.string() + "/"));
  EXPECT_TRUE(LibAptErrorStackIsEmpty());

  // With the real libapt-pkg: a source added where the configuration
  // points is seen, and the facts change accordingly.
  MemoisedProbe p(kNoRacyWindow, /*real_apt=*/true);
  v1::OsPatchingFacts first = p.Facts(root);
  ASSERT_TRUE(first.apt_cache_ok()) << first.apt_error();
  EXPECT_EQ(first.pending_upgrades(), 6u);
  p.Facts(root);
  EXPECT_EQ(*p.reads, 1);
  fs::remove(root / "etc/apt/sources.list");
  p.Facts(root);
  EXPECT_EQ(*p.reads, 2);
  std::string sources =
      ReadFile(Fixture("debian12_security_pending") / "etc/apt/sources.list");
  WriteFile(elsewhere / "moved.list", sources);
  v1::OsPatchingFacts moved = p.Facts(root);
  EXPECT_EQ(*p.reads, 3);
  EXPECT_EQ(moved.pending_upgrades(), 6u);
}

}  // namespace
}  // namespace evidentia::agent
