#include "agent/linux/sys/os_release.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;

TEST(OsReleaseParserTest, UnquotesDoubleAndSingleQuotes) {
  std::map<std::string, std::string> values =
      ParseOsRelease("NAME=\"Debian GNU/Linux\"\nID='debian'\nVERSION_ID=12\n");
  EXPECT_EQ(values["NAME"], "Debian GNU/Linux");
  EXPECT_EQ(values["ID"], "debian");
  EXPECT_EQ(values["VERSION_ID"], "12");
}

TEST(OsReleaseParserTest, UndoesBackslashEscapesInDoubleQuotes) {
  std::map<std::string, std::string> values =
      ParseOsRelease("PRETTY_NAME=\"A \\\"B\\\" \\\\ \\$C\"\n");
  EXPECT_EQ(values["PRETTY_NAME"], "A \"B\" \\ $C");
}

TEST(OsReleaseParserTest, SkipsCommentsAndLinesWithoutEquals) {
  std::map<std::string, std::string> values =
      ParseOsRelease("# ID=wrong\nnonsense\n=novalue\nID=right\n");
  EXPECT_EQ(values.size(), 1u);
  EXPECT_EQ(values["ID"], "right");
}

TEST(OsReleaseParserTest, LastDuplicateWins) {
  EXPECT_EQ(ParseOsRelease("ID=a\nID=b\n")["ID"], "b");
}

TEST(OsReleaseParserTest, SurvivesJunk) {
  std::string junk;
  for (int i = 0; i < 10000; ++i) junk.push_back(static_cast<char>(i * 3));
  junk += "\nID=\"unterminated\n\"\n=\n";
  std::map<std::string, std::string> values = ParseOsRelease(junk);
  EXPECT_EQ(values["ID"], "\"unterminated");
}

void Write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

TEST(ReadOsReleaseTest, PrefersEtcThenUsrLib) {
  testing::ScopedTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  Write(dir.path() / "usr/lib/os-release", "ID=debian\nVERSION_ID=\"12\"\n");
  EXPECT_EQ((*ReadOsRelease(dir.path()))["VERSION_ID"], "12");
  Write(dir.path() / "etc/os-release", "ID=ubuntu\n");
  EXPECT_EQ((*ReadOsRelease(dir.path()))["ID"], "ubuntu");
}

TEST(ReadOsReleaseTest, NeitherFileIsEmptyNotAnError) {
  testing::ScopedTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  absl::StatusOr<std::map<std::string, std::string>> values =
      ReadOsRelease(dir.path());
  ASSERT_TRUE(values.ok()) << values.status();
  EXPECT_TRUE(values->empty());
}

TEST(ReadOsReleaseTest, ADirectoryInItsPlaceIsAnError) {
  testing::ScopedTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  fs::create_directories(dir.path() / "etc/os-release");
  EXPECT_FALSE(ReadOsRelease(dir.path()).ok());
}

}  // namespace
}  // namespace evidentia::agent
