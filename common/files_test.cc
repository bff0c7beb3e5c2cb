#include "common/files.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace evidentia {
namespace {

namespace fs = std::filesystem;

using ::evidentia::testing::ScopedTempDir;

mode_t ModeOf(const fs::path& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

// Sets the process umask for one test and restores it afterwards.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(old_); }

 private:
  mode_t old_;
};

size_t EntriesIn(const fs::path& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir)) ++n;
  return n;
}

TEST(ErrnoStatusTest, MissingAndForbiddenHaveTheirCodesTheRestTheGivenOne) {
  EXPECT_EQ(ErrnoStatus(ENOENT, "open x", absl::StatusCode::kInternal).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(ErrnoStatus(ENOTDIR, "open x", absl::StatusCode::kInternal).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(ErrnoStatus(EACCES, "open x", absl::StatusCode::kInternal).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrnoStatus(EPERM, "open x", absl::StatusCode::kInternal).code(),
            absl::StatusCode::kPermissionDenied);
  absl::Status refused =
      ErrnoStatus(ECONNREFUSED, "connect", absl::StatusCode::kUnavailable);
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(refused.message(),
            std::string("connect: ") + std::strerror(ECONNREFUSED));
}

TEST(SyscallLoopsTest, WriteAllThenReadAndPreadGiveTheBytesBack) {
  ScopedTempDir dir;
  const fs::path path = dir.path() / "data";
  std::string data(300000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31);
  {
    ScopedFd fd(
        OpenRetrying(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    ASSERT_GE(fd.get(), 0);
    ASSERT_EQ(WriteAll(fd.get(), data), 0);
    ASSERT_EQ(FsyncRetrying(fd.get()), 0);
  }
  ScopedFd dir_fd(OpenRetrying(dir.path().c_str(), O_RDONLY | O_DIRECTORY));
  ScopedFd fd(OpenAtRetrying(dir_fd.get(), "data", O_RDONLY | O_CLOEXEC));
  ASSERT_GE(fd.get(), 0);
  std::string back(data.size() + 1, '\0');
  size_t done = 0;
  for (ssize_t n; (n = ReadRetrying(fd.get(), back.data() + done,
                                    back.size() - done)) > 0;) {
    done += static_cast<size_t>(n);
  }
  back.resize(done);
  EXPECT_EQ(back, data);
  char tail[10];
  ASSERT_EQ(PreadRetrying(fd.get(), tail, sizeof(tail), 1000), 10);
  EXPECT_EQ(std::string(tail, 10), data.substr(1000, 10));
}

TEST(SyscallLoopsTest, FailuresReturnTheErrno) {
  ScopedTempDir dir;
  ScopedFd dir_fd(OpenRetrying(dir.path().c_str(), O_RDONLY | O_DIRECTORY));
  EXPECT_EQ(OpenAtRetrying(dir_fd.get(), "missing", O_RDONLY), -1);
  EXPECT_EQ(errno, ENOENT);
  ScopedFd read_only(OpenRetrying(dir.path().c_str(), O_RDONLY | O_DIRECTORY));
  EXPECT_EQ(WriteAll(read_only.get(), "x"), EBADF);
  EXPECT_EQ(FsyncRetrying(-1), EBADF);
}

// Sets TMPDIR for one test, and puts back what was there.
class TmpdirForTest {
 public:
  explicit TmpdirForTest(const std::string& value) {
    const char* old = std::getenv("TMPDIR");
    if (old != nullptr) old_ = old;
    had_ = old != nullptr;
    setenv("TMPDIR", value.c_str(), 1);
  }
  ~TmpdirForTest() {
    if (had_) {
      setenv("TMPDIR", old_.c_str(), 1);
    } else {
      unsetenv("TMPDIR");
    }
  }

 private:
  bool had_ = false;
  std::string old_;
};

TEST(TempDirTest, PrivateUnderTmpdirAndRemovedWithItsContents) {
  ScopedTempDir base;
  fs::path made;
  {
    absl::StatusOr<std::unique_ptr<TempDir>> temp = [&] {
      TmpdirForTest tmpdir(base.path().string());
      return TempDir::Make("test");
    }();
    ASSERT_TRUE(temp.ok()) << temp.status();
    made = (*temp)->path();
    EXPECT_EQ(made.parent_path(), base.path());
    EXPECT_EQ(made.filename().string().rfind("evidentia-test-", 0), 0u);
    struct stat st;
    ASSERT_EQ(::stat(made.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    ASSERT_TRUE(WriteFileAtomic(made / "file", "x").ok());
    fs::create_directory(made / "sub");
  }
  EXPECT_FALSE(fs::exists(made));
}

TEST(TempDirTest, UnusableTmpdirIsUnavailableNamingIt) {
  absl::StatusOr<std::unique_ptr<TempDir>> temp = [] {
    TmpdirForTest tmpdir("/nonexistent/evidentia");
    return TempDir::Make("test");
  }();
  ASSERT_FALSE(temp.ok());
  EXPECT_EQ(temp.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(temp.status().message().find("/nonexistent/evidentia"),
            std::string::npos);
}

TEST(FilesTest, WriteFileAtomicWritesContent) {
  ScopedTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const fs::path path = dir.path() / "out.bin";
  const std::string data("hello\0world", 11);
  ASSERT_TRUE(WriteFileAtomic(path, data).ok());
  absl::StatusOr<std::string> read = ReadFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, data);
}

TEST(FilesTest, WriteFileAtomicSetsModeDespiteUmask) {
  ScopedTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  ScopedUmask umask(077);
  const fs::path path = dir.path() / "shared.txt";
  ASSERT_TRUE(WriteFileAtomic(path, "x", 0644).ok());
  EXPECT_EQ(ModeOf(path), 0644u);
}

TEST(FilesTest, WriteFileAtomicWritesPrivateMode) {
  ScopedTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const fs::path path = dir.path() / "secret";
  ASSERT_TRUE(WriteFileAtomic(path, "x", 0600).ok());
  EXPECT_EQ(ModeOf(path), 0600u);
}

TEST(FilesTest, WriteFileAtomicReplacesExistingFile) {
  ScopedTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const fs::path path = dir.path() / "f";
  ASSERT_TRUE(WriteFileAtomic(path, "first, longer content").ok());
  ASSERT_TRUE(WriteFileAtomic(path, "second").ok());
  EXPECT_EQ(ReadFile(path).value_or(""), "second");
}

TEST(FilesTest, WriteFileAtomicLeavesNoTemporaryFile) {
  ScopedTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  ASSERT_TRUE(WriteFileAtomic(dir.path() / "f", "data").ok());
  EXPECT_EQ(EntriesIn(dir.path()), 1u);
}

TEST(FilesTest, WriteFileAtomicWritesEmptyFile) {
  ScopedTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const fs::path path = dir.path() / "empty";
  ASSERT_TRUE(WriteFileAtomic(path, "").ok());
  EXPECT_EQ(ReadFile(path).value_or("not empty"), "");
}

TEST(FilesTest, WriteFileAtomicIntoMissingDirFails) {
  ScopedTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const absl::Status status =
      WriteFileAtomic(dir.path() / "missing" / "f", "data");
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
  EXPECT_NE(status.message().find("missing"), std::string::npos) << status;
}

TEST(FilesTest, WriteFileAtomicOverDirectoryFailsAndCleansUp) {
  ScopedTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const fs::path target = dir.path() / "sub";
  ASSERT_TRUE(fs::create_directory(target));
  fs::create_directory(target / "child");  // rename() refuses a non-empty dir.
  EXPECT_FALSE(WriteFileAtomic(target, "data").ok());
  EXPECT_EQ(EntriesIn(dir.path()), 1u);  // Only "sub"; no temporary left.
}

TEST(FilesTest, WriteFileAtomicRejectsEmptyPath) {
  EXPECT_EQ(WriteFileAtomic("", "data").code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(FilesTest, ReadFileOverMaxIsOutOfRange) {
  ScopedTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const fs::path path = dir.path() / "big";
  ASSERT_TRUE(WriteFileAtomic(path, std::string(101, 'a')).ok());
  EXPECT_EQ(ReadFile(path, 100).status().code(), absl::StatusCode::kOutOfRange);
}

TEST(FilesTest, ReadFileAtMaxSucceeds) {
  ScopedTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const fs::path path = dir.path() / "exact";
  ASSERT_TRUE(WriteFileAtomic(path, std::string(100, 'a')).ok());
  EXPECT_EQ(ReadFile(path, 100).value_or("").size(), 100u);
}

TEST(FilesTest, ReadFileMissingIsNotFound) {
  ScopedTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const absl::StatusOr<std::string> read = ReadFile(dir.path() / "nope");
  EXPECT_EQ(read.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(read.status().message().find("nope"), std::string::npos);
}

TEST(FilesTest, ReadFileOfDirectoryFails) {
  ScopedTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  EXPECT_EQ(ReadFile(dir.path()).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(FilesTest, EnsurePrivateDirCreatesNestedDirWithMode0700) {
  ScopedTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const fs::path target = dir.path() / "a" / "b";
  ASSERT_TRUE(EnsurePrivateDir(target).ok());
  EXPECT_TRUE(fs::is_directory(target));
  EXPECT_EQ(ModeOf(target), 0700u);
}

TEST(FilesTest, EnsurePrivateDirTightensExistingDir) {
  ScopedTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const fs::path target = dir.path() / "open";
  ASSERT_TRUE(fs::create_directory(target));
  ASSERT_EQ(::chmod(target.c_str(), 0755), 0);
  ASSERT_TRUE(EnsurePrivateDir(target).ok());
  EXPECT_EQ(ModeOf(target), 0700u);
}

TEST(FilesTest, EnsurePrivateDirOverFileFails) {
  ScopedTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const fs::path target = dir.path() / "file";
  ASSERT_TRUE(WriteFileAtomic(target, "x").ok());
  EXPECT_FALSE(EnsurePrivateDir(target).ok());
}

TEST(FilesTest, RandomBytesReturnsRequestedLength) {
  EXPECT_EQ(RandomBytes(33).value_or("").size(), 33u);
}

TEST(FilesTest, RandomBytesDiffersBetweenCalls) {
  EXPECT_NE(RandomBytes(16).value_or(""), RandomBytes(16).value_or(""));
}

}  // namespace
}  // namespace evidentia
