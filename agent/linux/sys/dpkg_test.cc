#include "agent/linux/sys/dpkg.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace evidentia::agent {
namespace {

using ::testing::IsEmpty;

// --- ParseDpkgStatus -----------------------------------------------------

TEST(DpkgStatusParserTest, KeepsOnlyInstallOkInstalled) {
  std::vector<DpkgPackage> packages = ParseDpkgStatus(
      "Package: a\nStatus: install ok installed\nVersion: 1\n\n"
      "Package: b\nStatus: deinstall ok config-files\nVersion: 2\n\n"
      "Package: c\nStatus: install ok half-installed\nVersion: 3\n\n"
      "Package: d\nStatus: purge ok not-installed\n");
  ASSERT_EQ(packages.size(), 1u);
  EXPECT_EQ(packages[0].name, "a");
  EXPECT_EQ(packages[0].version, "1");
}

TEST(DpkgStatusParserTest, IgnoresFieldsInContinuationLines) {
  std::vector<DpkgPackage> packages = ParseDpkgStatus(
      "Package: bash\nStatus: install ok installed\nDescription: shell\n"
      " Package: clamav\n Status: install ok installed\nVersion: 5.2\n");
  ASSERT_EQ(packages.size(), 1u);
  EXPECT_EQ(packages[0].name, "bash");
  EXPECT_EQ(packages[0].version, "5.2");
}

TEST(DpkgStatusParserTest, HandlesCrLfAndFieldOrder) {
  std::vector<DpkgPackage> packages = ParseDpkgStatus(
      "Version: 2.0\r\nStatus: install ok installed\r\nPackage: mdatp\r\n");
  ASSERT_EQ(packages.size(), 1u);
  EXPECT_EQ(packages[0].name, "mdatp");
  EXPECT_EQ(packages[0].version, "2.0");
}

TEST(DpkgStatusParserTest, ParagraphWithoutPackageIsSkipped) {
  EXPECT_THAT(ParseDpkgStatus("Status: install ok installed\nVersion: 1\n"),
              IsEmpty());
}

TEST(DpkgStatusParserTest, SurvivesBinaryJunk) {
  std::string junk;
  for (int i = 0; i < 100000; ++i) junk.push_back(static_cast<char>(i * 7));
  junk += "\n:\n::::\nPackage:\nStatus:\n" + std::string(1 << 20, 'P');
  EXPECT_THAT(ParseDpkgStatus(junk), IsEmpty());
}

constexpr char kOnePackage[] =
    "Package: restic\nStatus: install ok installed\nVersion: 0.14.0-1\n";
constexpr char kOtherPackage[] =
    "Package: borgbk\nStatus: install ok installed\nVersion: 1.2.4-10\n";

void WriteStatus(const std::filesystem::path& root, const std::string& text,
                 int64_t mtime) {
  std::filesystem::create_directories(root / "var/lib/dpkg");
  const std::filesystem::path path = root / "var/lib/dpkg/status";
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  struct timespec times[2] = {{mtime, 0}, {mtime, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
}

TEST(ReadInstalledPackagesTest, SeesEveryChangeOfTheDatabase) {
  testing::ScopedTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  WriteStatus(dir.path(), kOnePackage, 1000);
  EXPECT_EQ(ReadInstalledPackages(dir.path())->count("restic"), 1u);
  // Same size, new mtime (rewritten in place).
  WriteStatus(dir.path(), kOtherPackage, 2000);
  absl::StatusOr<std::map<std::string, std::string>> packages =
      ReadInstalledPackages(dir.path());
  ASSERT_TRUE(packages.ok());
  EXPECT_EQ(packages->count("borgbk"), 1u);
  EXPECT_EQ(packages->count("restic"), 0u);
  // Replaced by rename (a new inode), same size and mtime as before.
  const std::filesystem::path next = dir.path() / "var/lib/dpkg/status-new";
  std::ofstream(next, std::ios::binary) << kOnePackage;
  struct timespec times[2] = {{2000, 0}, {2000, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, next.c_str(), times, 0), 0);
  std::filesystem::rename(next, dir.path() / "var/lib/dpkg/status");
  EXPECT_EQ(ReadInstalledPackages(dir.path())->count("restic"), 1u);
}

TEST(ReadInstalledPackagesTest, KeepsRootsApart) {
  testing::ScopedTempDir a, b;
  ASSERT_FALSE(a.path().empty() || b.path().empty());
  WriteStatus(a.path(), kOnePackage, 1000);
  WriteStatus(b.path(), kOtherPackage, 1000);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(ReadInstalledPackages(a.path())->count("restic"), 1u);
    EXPECT_EQ(ReadInstalledPackages(b.path())->count("borgbk"), 1u);
  }
  std::filesystem::remove(b.path() / "var/lib/dpkg/status");
  EXPECT_EQ(ReadInstalledPackages(b.path()).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(ReadPackageDatabaseTest, NoDpkgIsAbsentNotAnError) {
  testing::ScopedTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  absl::StatusOr<PackageDatabase> none = ReadPackageDatabase(dir.path());
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_FALSE(none->present);
  EXPECT_TRUE(none->installed.empty());
  WriteStatus(dir.path(), kOnePackage, 1000);
  absl::StatusOr<PackageDatabase> one = ReadPackageDatabase(dir.path());
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_TRUE(one->present);
  EXPECT_EQ(one->installed.at("restic"), "0.14.0-1");
}

TEST(ReadPackageDatabaseTest, UnreadableDatabaseIsAnError) {
  testing::ScopedTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::filesystem::create_directories(dir.path() / "var/lib/dpkg/status");
  EXPECT_FALSE(ReadPackageDatabase(dir.path()).ok());
}

}  // namespace
}  // namespace evidentia::agent
