// Test support for linux.backup's probe and checks tests: the fixture trees
// of tests/fixtures/backup/ and the mtimes git does not keep.
#ifndef EVIDENTIA_AGENT_LINUX_PROBES_BACKUP_TEST_FIXTURES_H_
#define EVIDENTIA_AGENT_LINUX_PROBES_BACKUP_TEST_FIXTURES_H_

#include <fcntl.h>
#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "gtest/gtest.h"

namespace evidentia::agent::backup_test {

// tests/fixtures/backup/NAME.
inline std::filesystem::path Fixture(const std::string& name) {
  return std::filesystem::path(EVIDENTIA_SOURCE_DIR) / "tests/fixtures/backup" /
         name;
}

// Git keeps no mtimes: fixtures get theirs here (a stamp's, a snapshot
// directory's).
inline void SetMtime(const std::filesystem::path& path, int64_t unix_seconds) {
  struct timespec times[2];
  times[0].tv_sec = unix_seconds;
  times[0].tv_nsec = 0;
  times[1] = times[0];
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), times, 0), 0) << path;
}

}  // namespace evidentia::agent::backup_test

#endif  // EVIDENTIA_AGENT_LINUX_PROBES_BACKUP_TEST_FIXTURES_H_
