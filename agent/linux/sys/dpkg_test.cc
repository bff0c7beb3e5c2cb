#include "agent/linux/sys/dpkg.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

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

}  // namespace
}  // namespace evidentia::agent
