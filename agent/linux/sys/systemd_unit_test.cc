#include "agent/linux/sys/systemd_unit.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace evidentia::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(SystemdUnitParserTest, ReadsSectionsKeysAndContinuations) {
  std::vector<UnitSetting> settings = ParseUnitFile(
      "# comment\n[Timer]\nOnCalendar = daily \nPersistent=true\n"
      "[Service]\nExecStart=/usr/bin/restic backup \\\n"
      "  # a comment inside\n  /home\n");
  ASSERT_EQ(settings.size(), 3u);
  EXPECT_EQ(settings[0].section, "Timer");
  EXPECT_EQ(settings[0].key, "OnCalendar");
  EXPECT_EQ(settings[0].value, "daily");
  EXPECT_EQ(settings[2].section, "Service");
  EXPECT_EQ(settings[2].value, "/usr/bin/restic backup    /home");
}

TEST(SystemdUnitParserTest, SkipsLinesOutsideSectionsAndWithoutEquals) {
  EXPECT_THAT(ParseUnitFile("OnCalendar=daily\n[Timer\nfoo\n[Timer]\n=x\n"),
              IsEmpty());
}

TEST(SystemdUnitParserTest, EmptyAssignmentResetsList) {
  std::vector<UnitSetting> settings = ParseUnitFile(
      "[Timer]\nOnCalendar=weekly\nOnCalendar=\nOnCalendar=daily\n"
      "OnCalendar=hourly\n[Other]\nOnCalendar=x\n");
  EXPECT_THAT(UnitValues(settings, "Timer", "OnCalendar"),
              ElementsAre("daily", "hourly"));
  EXPECT_THAT(UnitValues(settings, "Timer", "Unit"), IsEmpty());
}

TEST(SystemdUnitParserTest, LastValueOverrides) {
  std::vector<UnitSetting> settings =
      ParseUnitFile("[Timer]\nPersistent=true\n[Timer]\nPersistent=false\n");
  EXPECT_EQ(LastUnitValue(settings, "Timer", "Persistent"), "false");
  EXPECT_EQ(LastUnitValue(settings, "Timer", "Unit"), "");
}

TEST(SystemdUnitParserTest, SurvivesTruncatedContinuationAndBinary) {
  std::string junk = "[Service]\nExecStart=/bin/restic \\";
  EXPECT_EQ(ParseUnitFile(junk).size(), 1u);
  std::string binary(4096, '\0');
  binary += "[\n]\n[\xff]\n\xff=\xfe\\\n";
  ParseUnitFile(binary);  // no crash
  std::string huge(1 << 20, '\\');
  EXPECT_THAT(ParseUnitFile("[A]\nk=" + huge), ElementsAre(::testing::_));
}

TEST(SystemdDropInFilesTest, EarlierDirectoryHidesSameNameOrderedByName) {
  namespace fs = std::filesystem;
  const fs::path root = fs::temp_directory_path() /
                        ("evidentia_dropins_" + std::to_string(::getpid()));
  fs::remove_all(root);
  for (const char* file :
       {"etc/x.d/20-b.conf", "etc/x.d/notes.txt", "usr/x.d/20-b.conf",
        "usr/x.d/10-a.conf", "usr/x.d/30-c.conf"}) {
    fs::create_directories((root / file).parent_path());
    std::ofstream(root / file) << "[A]\n";
  }
  fs::create_symlink("/dev/null", root / "etc/x.d/30-c.conf");  // masks
  EXPECT_THAT(
      DropInFiles(root, {"etc/x.d", "usr/x.d", "run/x.d"}, ".conf", 100, 100),
      ElementsAre("usr/x.d/10-a.conf", "etc/x.d/20-b.conf",
                  "etc/x.d/30-c.conf"));
  EXPECT_THAT(DropInFiles(root, {"etc/x.d", "usr/x.d"}, ".conf", 100, 2),
              ElementsAre("usr/x.d/10-a.conf", "etc/x.d/20-b.conf"));
  fs::remove_all(root);
}

}  // namespace
}  // namespace evidentia::agent
