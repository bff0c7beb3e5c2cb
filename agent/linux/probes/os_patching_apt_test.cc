// LibAptCache, the real libapt-pkg, over fixture roots holding a tiny
// made-up archive (var/lib/apt/lists) with a security pocket.
#include "agent/linux/probes/os_patching_apt.h"

#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "agent/linux/sys/text.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Not;

fs::path Fixture(const std::string& name) {
  return fs::path(EVIDENTIA_SOURCE_DIR) / "tests/fixtures/os_patching" / name;
}

std::set<std::string> TreeOf(const fs::path& root) {
  std::set<std::string> paths;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    paths.insert(entry.path().lexically_relative(root).string());
  }
  return paths;
}

std::vector<std::string> Names(const AptState& state, bool security_only) {
  std::vector<std::string> names;
  for (const AptUpgrade& upgrade : state.upgrades) {
    if (!security_only || upgrade.security) names.push_back(upgrade.package);
  }
  return names;
}

// --- IsSecurityPocket ----------------------------------------------------

TEST(SecurityPocketTest, DebianSecurityArchive) {
  EXPECT_TRUE(IsSecurityPocket("Debian-Security", "stable-security",
                               "bookworm-security"));
  // Older security archives called the suite "bullseye/updates".
  EXPECT_TRUE(IsSecurityPocket("Debian-Security", "oldoldstable", "bullseye"));
}

TEST(SecurityPocketTest, UbuntuSecurityPocket) {
  EXPECT_TRUE(IsSecurityPocket("Ubuntu", "jammy-security", "jammy"));
}

TEST(SecurityPocketTest, OtherPocketsAreNot) {
  EXPECT_FALSE(IsSecurityPocket("Debian", "stable", "bookworm"));
  EXPECT_FALSE(
      IsSecurityPocket("Debian", "stable-updates", "bookworm-updates"));
  EXPECT_FALSE(IsSecurityPocket("Ubuntu", "jammy-updates", "jammy"));
  EXPECT_FALSE(IsSecurityPocket("", "", ""));
  EXPECT_FALSE(IsSecurityPocket("security", "security-tools", "sec"));
}

// --- LibAptCache -----------------------------------------------------------

TEST(LibAptCacheTest, ClassifiesTheSecurityPocket) {
  AptState state = LibAptCache().Read(Fixture("debian12_security_pending"));
  ASSERT_TRUE(state.cache_ok) << state.error;
  EXPECT_THAT(Names(state, false),
              ElementsAre("app", "base-files", "libssl3", "linux-image-amd64",
                          "openssl", "tzdata"));
  EXPECT_THAT(Names(state, true),
              ElementsAre("libssl3", "linux-image-amd64", "openssl", "tzdata"));
  for (const AptUpgrade& upgrade : state.upgrades) {
    if (upgrade.package == "base-files") {
      EXPECT_EQ(upgrade.label, "Debian");
      EXPECT_EQ(upgrade.archive, "stable");
      EXPECT_EQ(upgrade.codename, "bookworm");
      EXPECT_EQ(upgrade.candidate_version, "12.4+deb12u6");
      EXPECT_FALSE(upgrade.kept_back);
    }
    if (upgrade.package == "app") {
      EXPECT_TRUE(upgrade.kept_back);
    }
    if (upgrade.package == "openssl") {
      EXPECT_EQ(upgrade.installed_version, "3.0.11-1~deb12u2");
      EXPECT_EQ(upgrade.candidate_version, "3.0.13-1~deb12u1");
      EXPECT_EQ(upgrade.codename, "bookworm-security");
      EXPECT_FALSE(upgrade.kept_back);
    }
  }
}

TEST(LibAptCacheTest, ReadsPeriodicSettingsAsAptDoes) {
  AptState state = LibAptCache().Read(Fixture("debian12_security_pending"));
  EXPECT_TRUE(state.config_read);
  EXPECT_EQ(state.periodic_update_package_lists, "1");
  EXPECT_EQ(state.periodic_unattended_upgrade, "1");
}

TEST(LibAptCacheTest, ConfigurationOfOneRootDoesNotLeakIntoTheNext) {
  LibAptCache cache;
  ASSERT_EQ(cache.Read(Fixture("debian12_security_pending"))
                .periodic_unattended_upgrade,
            "1");
  AptState other = cache.Read(Fixture("debian12_up_to_date"));
  EXPECT_EQ(other.periodic_unattended_upgrade, "");
  EXPECT_THAT(other.upgrades, IsEmpty());
}

TEST(LibAptCacheTest, WritesNothingBelowTheRoot) {
  fs::path root = Fixture("debian12_security_pending");
  std::set<std::string> before = TreeOf(root);
  ASSERT_TRUE(LibAptCache().Read(root).cache_ok);
  EXPECT_EQ(TreeOf(root), before);
  EXPECT_FALSE(fs::exists(root / "var/cache"));
}

TEST(LibAptCacheTest, LeavesNoMessageOnTheGlobalErrorStack) {
  fs::path root = fs::path(::testing::TempDir()) / "libapt_broken_root";
  fs::create_directories(root / "var/lib/dpkg");
  fs::create_directories(root / "etc/apt");
  {
    std::ofstream(root / "var/lib/dpkg/status")
        << "Package: x\nStatus: install ok installed\nVersion: 1\n";
    std::ofstream(root / "etc/apt/sources.list") << "deb [broken\n";
  }
  AptState state = LibAptCache().Read(root);
  EXPECT_FALSE(state.cache_ok);
  EXPECT_THAT(state.error, Not(IsEmpty()));
  EXPECT_TRUE(LibAptErrorStackIsEmpty());
  // And the next read is not poisoned by the previous failure.
  EXPECT_TRUE(LibAptCache().Read(Fixture("debian12_up_to_date")).cache_ok);
  EXPECT_TRUE(LibAptErrorStackIsEmpty());
}

TEST(LibAptCacheTest, MalformedConfigurationIsAnError) {
  fs::path root = fs::path(::testing::TempDir()) / "libapt_bad_config";
  fs::create_directories(root / "var/lib/dpkg");
  fs::create_directories(root / "etc/apt/apt.conf.d");
  {
    std::ofstream(root / "var/lib/dpkg/status") << "";
    std::ofstream(root / "etc/apt/apt.conf.d/50bad")
        << "APT::Periodic::Unattended-Upgrade \"1\"\n";  // no ';'
  }
  AptState state = LibAptCache().Read(root);
  EXPECT_FALSE(state.config_read);
  EXPECT_FALSE(state.cache_ok);
  EXPECT_THAT(state.error, Not(IsEmpty()));
}

TEST(LibAptCacheTest, BinaryJunkInTheListsDoesNotCrash) {
  fs::path root = fs::path(::testing::TempDir()) / "libapt_junk_lists";
  fs::remove_all(root);
  fs::copy(Fixture("debian12_security_pending"), root,
           fs::copy_options::recursive);
  std::string junk;
  for (int i = 0; i < 70000; ++i) junk.push_back(static_cast<char>(i * 7));
  std::ofstream(
      root /
          "var/lib/apt/lists/"
          "security.example.org_debian-security_dists_bookworm-security_"
          "main_binary-amd64_Packages",
      std::ios::trunc)
      << junk;
  AptState state = LibAptCache().Read(root);  // any outcome but a crash
  if (!state.cache_ok) {
    EXPECT_THAT(state.error, Not(IsEmpty()));
  }
}

TEST(LibAptCacheTest, ConcurrentReadsAgree) {
  LibAptCache cache;
  std::vector<AptState> states(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < states.size(); ++i) {
    threads.emplace_back([&, i] {
      states[i] =
          cache.Read(Fixture(i % 2 == 0 ? "debian12_security_pending"
                                        : "ubuntu2204_security_pending"));
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (size_t i = 0; i < states.size(); ++i) {
    ASSERT_TRUE(states[i].cache_ok) << states[i].error;
    EXPECT_EQ(Names(states[i], true).size(), i % 2 == 0 ? 4u : 1u);
  }
}

// --- apt's own binary cache, used read-only ----------------------------------

bool SameUpgrades(const std::vector<AptUpgrade>& a,
                  const std::vector<AptUpgrade>& b) {
  auto fields = [](const AptUpgrade& u) {
    return std::tie(u.package, u.architecture, u.installed_version,
                    u.candidate_version, u.origin, u.label, u.archive,
                    u.codename, u.security, u.kept_back);
  };
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [&](const AptUpgrade& x, const AptUpgrade& y) {
                      return fields(x) == fields(y);
                    });
}

// Everything about a file that writing or replacing it would change.
struct FileState {
  dev_t dev;
  ino_t ino;
  off_t size;
  int64_t mtime_ns;
  int64_t ctime_ns;
  std::string content;
  bool operator==(const FileState& o) const {
    return std::tie(dev, ino, size, mtime_ns, ctime_ns, content) ==
           std::tie(o.dev, o.ino, o.size, o.mtime_ns, o.ctime_ns, o.content);
  }
};

FileState StateOf(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  std::ifstream in(path, std::ios::binary);
  return FileState{st.st_dev,
                   st.st_ino,
                   st.st_size,
                   st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec,
                   st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec,
                   std::string(std::istreambuf_iterator<char>(in), {})};
}

// Runs `command` (by /bin/sh, C locale); its exit status.
int Run(const std::string& command) {
  std::FILE* pipe = ::popen(("LC_ALL=C " + command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  char buffer[4096];
  while (std::fread(buffer, 1, sizeof buffer, pipe) > 0) {
  }
  int status = ::pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A copy of a fixture whose var/cache/apt/pkgcache.bin apt-get itself has
// just written for it, as `apt-get update` or `install` leaves one.
fs::path RootWithAptCache(const std::string& fixture, const std::string& as) {
  fs::path root = fs::path(::testing::TempDir()) / ("libapt_aptcache_" + as);
  fs::remove_all(root);
  fs::create_directories(root);
  fs::copy(Fixture(fixture), root, fs::copy_options::recursive);
  // Files changed less than a minute before apt's cache are not trusted to
  // it (see StaleAptCacheIsNeitherUsedNorReplaced): date them an hour ago.
  fs::file_time_type past =
      fs::file_time_type::clock::now() - std::chrono::hours(1);
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    fs::last_write_time(entry.path(), past);
  }
  fs::create_directories(root / "var/cache/apt");
  std::string dir = root.string() + "/";
  // The host's configuration, which apt-get reads before its options, may
  // switch the binary caches off (Debian's container images do).
  EXPECT_EQ(Run("apt-get -o Dir=" + dir + " -o Dir::State::status=" + dir +
                "var/lib/dpkg/status -o Dir::Cache=" + dir +
                "var/cache/apt/ -o Dir::Cache::pkgcache=pkgcache.bin"
                " -o Dir::Cache::srcpkgcache=srcpkgcache.bin"
                " -o Debug::NoLocking=1 check"),
            0);
  EXPECT_TRUE(fs::exists(root / "var/cache/apt/pkgcache.bin"));
  return root;
}

TEST(LibAptAptCacheTest, ValidAptCacheIsUsedAndGivesTheSameUpgrades) {
  for (const char* fixture :
       {"debian12_security_pending", "ubuntu2204_security_pending"}) {
    fs::path root = RootWithAptCache(fixture, fixture);
    fs::path bin = root / "var/cache/apt/pkgcache.bin";
    FileState before = StateOf(bin);
    AptState mapped = LibAptCache().Read(root);
    ASSERT_TRUE(mapped.cache_ok) << mapped.error;
    EXPECT_TRUE(mapped.from_apt_cache) << fixture;
    AptState built = LibAptCache("").Read(root);
    ASSERT_TRUE(built.cache_ok) << built.error;
    EXPECT_FALSE(built.from_apt_cache);
    EXPECT_FALSE(mapped.upgrades.empty());
    EXPECT_TRUE(SameUpgrades(mapped.upgrades, built.upgrades)) << fixture;
    EXPECT_EQ(mapped.periodic_unattended_upgrade,
              built.periodic_unattended_upgrade);
    EXPECT_TRUE(StateOf(bin) == before) << "apt's cache was written";
    EXPECT_TRUE(LibAptErrorStackIsEmpty());
  }
}

TEST(LibAptAptCacheTest, StaleAptCacheIsNeitherUsedNorReplaced) {
  fs::path root = RootWithAptCache("debian12_security_pending", "stale");
  fs::path bin = root / "var/cache/apt/pkgcache.bin";
  fs::path srcbin = root / "var/cache/apt/srcpkgcache.bin";
  FileState before = StateOf(bin);
  FileState src_before = StateOf(srcbin);
  std::set<std::string> tree = TreeOf(root / "var/cache");
  ASSERT_TRUE(LibAptCache().Read(root).from_apt_cache);

  // openssl upgraded in the second after apt wrote its cache: dpkg's
  // status has the same size ("3.0.11-1~deb12u2" and "3.0.13-1~deb12u1"),
  // and apt's own check, which compares sizes and whole-second mtimes,
  // could take it for the status its cache holds.
  fs::path status = root / "var/lib/dpkg/status";
  std::ifstream in(status, std::ios::binary);
  std::string text(std::istreambuf_iterator<char>(in), {});
  size_t at = text.find("Package: openssl\n");
  ASSERT_NE(at, std::string::npos);
  size_t version = text.find("Version: 3.0.11-1~deb12u2", at);
  ASSERT_NE(version, std::string::npos);
  text.replace(version, std::string("Version: 3.0.11-1~deb12u2").size(),
               "Version: 3.0.13-1~deb12u1");
  std::ofstream(status, std::ios::binary | std::ios::trunc) << text;
  fs::last_write_time(status, fs::file_time_type::clock::now());
  AptState state = LibAptCache().Read(root);
  ASSERT_TRUE(state.cache_ok) << state.error;
  EXPECT_FALSE(state.from_apt_cache);
  // The facts are those of the new status (apt-get -s upgrade agrees).
  bool seen = false;
  for (const AptUpgrade& upgrade : state.upgrades) {
    if (upgrade.package != "openssl") continue;
    seen = true;
    EXPECT_EQ(upgrade.installed_version, "3.0.13-1~deb12u1");
  }
  EXPECT_TRUE(seen);

  // A list file touched, a sources file newer than the cache.
  fs::path list = root /
                  "var/lib/apt/lists/"
                  "deb.example.org_debian_dists_bookworm_main_binary-amd64_"
                  "Packages";
  fs::last_write_time(list, fs::last_write_time(list) - std::chrono::hours(1));
  EXPECT_FALSE(LibAptCache().Read(root).from_apt_cache);
  std::ofstream(root / "etc/apt/sources.list", std::ios::app) << "\n";
  EXPECT_FALSE(LibAptCache().Read(root).from_apt_cache);

  EXPECT_TRUE(StateOf(bin) == before) << "apt's cache was written";
  EXPECT_TRUE(StateOf(srcbin) == src_before) << "apt's cache was written";
  EXPECT_EQ(TreeOf(root / "var/cache"), tree);
  EXPECT_TRUE(LibAptErrorStackIsEmpty());
}

TEST(LibAptAptCacheTest, AptCacheOfOtherListsIsNotUsed) {
  // A cache apt wrote for the Ubuntu tree, offered for the Debian one.
  fs::path ubuntu = RootWithAptCache("ubuntu2204_security_pending", "other");
  AptState state = LibAptCache((ubuntu / "var/cache/apt/pkgcache.bin").string())
                       .Read(Fixture("debian12_security_pending"));
  ASSERT_TRUE(state.cache_ok) << state.error;
  EXPECT_FALSE(state.from_apt_cache);
  EXPECT_THAT(Names(state, true),
              ElementsAre("libssl3", "linux-image-amd64", "openssl", "tzdata"));
}

TEST(LibAptAptCacheTest, CorruptAptCacheFallsBack) {
  fs::path root = RootWithAptCache("debian12_up_to_date", "corrupt");
  fs::path bin = root / "var/cache/apt/pkgcache.bin";
  std::ifstream in(bin, std::ios::binary);
  std::string good(std::istreambuf_iterator<char>(in), {});
  in.close();
  std::string junk;
  for (size_t i = 0; i < good.size(); ++i) {
    junk.push_back(static_cast<char>(i * 131));
  }
  for (const std::string& content :
       {std::string(), good.substr(0, good.size() / 2), good.substr(0, 16),
        junk}) {
    std::ofstream(bin, std::ios::binary | std::ios::trunc) << content;
    FileState before = StateOf(bin);
    AptState state = LibAptCache().Read(root);
    ASSERT_TRUE(state.cache_ok) << state.error;
    EXPECT_FALSE(state.from_apt_cache) << content.size();
    EXPECT_THAT(state.upgrades, IsEmpty());
    EXPECT_EQ(state.error, "");
    EXPECT_TRUE(StateOf(bin) == before);
    EXPECT_TRUE(LibAptErrorStackIsEmpty());
  }
}

TEST(LibAptAptCacheTest, NoAptCacheBuildsInMemory) {
  fs::path root = Fixture("debian12_security_pending");  // has no var/cache
  AptState state = LibAptCache().Read(root);
  ASSERT_TRUE(state.cache_ok) << state.error;
  EXPECT_FALSE(state.from_apt_cache);
  EXPECT_FALSE(fs::exists(root / "var/cache"));
}

}  // namespace
}  // namespace evidentia::agent
