#include "agent/linux/sys/rooted_fs.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;

class RootedFsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("evidentia_rooted_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  void Write(const std::string& rel, const std::string& content) {
    fs::create_directories((root_ / rel).parent_path());
    std::ofstream(root_ / rel, std::ios::binary) << content;
  }
  fs::path root_;
};

TEST_F(RootedFsTest, ReadsWholeFile) {
  Write("etc/passwd", "root:x:0:0::/root:/bin/sh\n");
  absl::StatusOr<std::string> text = ReadRootedFile(root_, "/etc/passwd", 100);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, "root:x:0:0::/root:/bin/sh\n");
}

TEST_F(RootedFsTest, MissingFileIsNotFound) {
  EXPECT_EQ(ReadRootedFile(root_, "etc/shadow", 100).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(RootedFsTest, OversizedFileIsOutOfRange) {
  Write("big", std::string(101, 'x'));
  EXPECT_EQ(ReadRootedFile(root_, "big", 100).status().code(),
            absl::StatusCode::kOutOfRange);
}

TEST_F(RootedFsTest, FifoIsRefusedWithoutBlocking) {
  fs::create_directories(root_ / "etc");
  ASSERT_EQ(mkfifo((root_ / "etc/passwd").c_str(), 0600), 0);
  EXPECT_EQ(ReadRootedFile(root_, "etc/passwd", 100).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReadRootedPrefix(root_, "etc/passwd", 100).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(RootedFsTest, DevicePrefixReadsAFileButNoFifoOrDirectory) {
  Write("dev/sda2", "LUKS header bytes");
  EXPECT_EQ(*ReadRootedDevicePrefix(root_, "dev/sda2", 4), "LUKS");
  ASSERT_EQ(mkfifo((root_ / "dev/sdb").c_str(), 0600), 0);
  EXPECT_EQ(ReadRootedDevicePrefix(root_, "dev/sdb", 100).status().code(),
            absl::StatusCode::kFailedPrecondition);
  fs::create_directories(root_ / "dev/sdc");
  EXPECT_EQ(ReadRootedDevicePrefix(root_, "dev/sdc", 100).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReadRootedDevicePrefix(root_, "dev/sdd", 100).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(RootedFsTest, PrefixReadStopsAtLimitAndHonoursOffset) {
  Write("db", "0123456789");
  EXPECT_EQ(*ReadRootedPrefix(root_, "db", 4), "0123");
  EXPECT_EQ(*ReadRootedPrefix(root_, "db", 4, 8), "89");
  EXPECT_EQ(*ReadRootedPrefix(root_, "db", 4, 1ull << 40), "");
}

TEST_F(RootedFsTest, AbsoluteSymlinkStaysInsideRoot) {
  Write("dev/dm-0", "inside");
  fs::create_directories(root_ / "dev/mapper");
  fs::create_symlink("/dev/dm-0", root_ / "dev/mapper/root");
  EXPECT_EQ(*ResolveInRoot(root_, "/dev/mapper/root"), "dev/dm-0");
  EXPECT_EQ(*ReadRootedFile(root_, "dev/mapper/root", 100), "inside");
}

TEST_F(RootedFsTest, DotDotCannotClimbAboveRoot) {
  fs::create_directories(root_ / "a");
  fs::create_symlink("../../../../../etc/hostname", root_ / "a/link");
  EXPECT_EQ(*ResolveInRoot(root_, "a/link"), "etc/hostname");
}

TEST_F(RootedFsTest, SymlinkLoopIsAnError) {
  fs::create_symlink("b", root_ / "a");
  fs::create_symlink("a", root_ / "b");
  EXPECT_EQ(ResolveInRoot(root_, "a").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(RootedExists(root_, "a"));
}

TEST_F(RootedFsTest, ListsDirectorySortedAndBounded) {
  Write("d/c", "");
  Write("d/a", "");
  Write("d/b", "");
  EXPECT_THAT(ListRootedDir(root_, "d"), ElementsAre("a", "b", "c"));
  EXPECT_THAT(ListRootedDir(root_, "d", 2), ElementsAre("a", "b"));
  EXPECT_TRUE(ListRootedDir(root_, "missing").empty());
}

}  // namespace
}  // namespace evidentia::agent
