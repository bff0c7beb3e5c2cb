#include "agent/linux/sys/rooted_stat.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;

class RootedStatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("evidentia_rooted_stat_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "var/lib/systemd/timers");
  }
  void TearDown() override { fs::remove_all(root_); }
  void Write(const std::string& rel, int64_t mtime) {
    fs::create_directories((root_ / rel).parent_path());
    std::ofstream(root_ / rel) << "x";
    struct timespec times[2] = {{mtime, 0}, {mtime, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, (root_ / rel).c_str(), times, 0), 0);
  }
  fs::path root_;
};

TEST_F(RootedStatTest, MtimeOfAFile) {
  Write("var/lib/systemd/timers/stamp-a.timer", 1796000000);
  EXPECT_EQ(RootedMtime(root_, "/var/lib/systemd/timers/stamp-a.timer"),
            1796000000);
  EXPECT_EQ(RootedMtime(root_, "var/lib/systemd/timers/missing"), std::nullopt);
}

// A stamp linked to an absolute host path is that path inside the root:
// the host's /etc/shadow (which exists on every test machine) is never
// stat'ed.
TEST_F(RootedStatTest, AbsoluteLinkStaysInsideRoot) {
  fs::create_symlink("/etc/shadow",
                     root_ / "var/lib/systemd/timers/stamp-x.timer");
  EXPECT_TRUE(fs::exists("/etc/shadow"));
  absl::StatusOr<struct stat> st =
      RootedStat(root_, "var/lib/systemd/timers/stamp-x.timer");
  EXPECT_TRUE(absl::IsNotFound(st.status())) << st.status();
  EXPECT_EQ(RootedMtime(root_, "var/lib/systemd/timers/stamp-x.timer"),
            std::nullopt);
  Write("etc/shadow", 1700000000);
  EXPECT_EQ(RootedMtime(root_, "var/lib/systemd/timers/stamp-x.timer"),
            1700000000);
}

TEST_F(RootedStatTest, DotDotLinkCannotClimbAboveRoot) {
  fs::create_symlink("../../../../../../../../etc/shadow",
                     root_ / "var/lib/systemd/timers/stamp-y.timer");
  EXPECT_EQ(RootedMtime(root_, "var/lib/systemd/timers/stamp-y.timer"),
            std::nullopt);
  EXPECT_FALSE(RootedIsDirectory(root_, "var/lib/../../../../etc"));
}

TEST_F(RootedStatTest, LinkLoopIsAnError) {
  fs::create_symlink("b", root_ / "a");
  fs::create_symlink("a", root_ / "b");
  EXPECT_FALSE(RootedStat(root_, "a").ok());
  EXPECT_FALSE(RootedIsDirectory(root_, "a"));
}

TEST_F(RootedStatTest, KindsAndExecuteBits) {
  Write("usr/bin/restic", 1);
  Write("usr/bin/notes", 1);
  fs::permissions(root_ / "usr/bin/restic", fs::perms::owner_all);
  fs::permissions(root_ / "usr/bin/notes",
                  fs::perms::owner_read | fs::perms::owner_write);
  fs::create_symlink("/usr/bin/restic", root_ / "usr/bin/restic-link");
  EXPECT_TRUE(RootedIsExecutableFile(root_, "usr/bin/restic"));
  EXPECT_TRUE(RootedIsExecutableFile(root_, "usr/bin/restic-link"));
  EXPECT_FALSE(RootedIsExecutableFile(root_, "usr/bin/notes"));
  EXPECT_FALSE(RootedIsExecutableFile(root_, "usr/bin"));
  EXPECT_TRUE(RootedIsDirectory(root_, "usr/bin"));
  EXPECT_FALSE(RootedIsDirectory(root_, "usr/bin/restic"));
}

}  // namespace
}  // namespace evidentia::agent
