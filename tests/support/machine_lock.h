// Test support for tests that compare a probe with the real machine while
// changing or disturbing it (a firewall table added, an `sshd -T` process
// that a running-process check would see): ctest runs tests in separate
// processes, several at once, so such tests hold a lock named for what they
// share, for as long as they run. A gtest fixture holds one as a member.
#ifndef EVIDENTIA_TESTS_SUPPORT_MACHINE_LOCK_H_
#define EVIDENTIA_TESTS_SUPPORT_MACHINE_LOCK_H_

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "gtest/gtest.h"

namespace evidentia::testing {

// Holds an exclusive flock(2) on /tmp/evidentia-test-NAME.lock from
// construction to destruction; a failure to take it fails the test.
class MachineLock {
 public:
  explicit MachineLock(const std::string& name)
      : fd_(open(("/tmp/evidentia-test-" + name + ".lock").c_str(),
                 O_RDWR | O_CREAT | O_CLOEXEC, 0666)) {
    if (fd_ < 0) {
      ADD_FAILURE() << "lock file for " << name << ": " << std::strerror(errno);
      return;
    }
    int rc;
    do {
      rc = flock(fd_, LOCK_EX);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0)
      ADD_FAILURE() << "flock " << name << ": " << std::strerror(errno);
  }
  ~MachineLock() {
    if (fd_ >= 0) close(fd_);  // releases the lock
  }
  MachineLock(const MachineLock&) = delete;
  MachineLock& operator=(const MachineLock&) = delete;

 private:
  int fd_;
};

}  // namespace evidentia::testing

#endif  // EVIDENTIA_TESTS_SUPPORT_MACHINE_LOCK_H_
