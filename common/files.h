// Small, careful file helpers: bounded reads and crash-safe writes.
#ifndef EVIDENTIA_COMMON_FILES_H_
#define EVIDENTIA_COMMON_FILES_H_

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace evidentia {

// The whole file. NOT_FOUND if missing, PERMISSION_DENIED if unreadable,
// OUT_OF_RANGE if larger than `max_bytes`; the message names the path.
absl::StatusOr<std::string> ReadFile(const std::filesystem::path& path,
                                     size_t max_bytes = 64 << 20);

// Writes `data` to a temporary file beside `path` with `mode`, fsyncs it,
// renames it over `path` and fsyncs the directory: after OK the file is whole
// and durable; after an error (e.g. disk full) `path` is unchanged.
absl::Status WriteFileAtomic(const std::filesystem::path& path,
                             std::string_view data, mode_t mode = 0644);

// Fsyncs directory `dir`, making renames and removals in it durable.
absl::Status SyncDir(const std::filesystem::path& dir);

// Creates `dir` (and parents) if missing and sets it to mode 0700.
absl::Status EnsurePrivateDir(const std::filesystem::path& dir);

// OK when `path` (a file or directory; symlinks followed) grants nothing to
// group or others. FAILED_PRECONDITION otherwise, naming the path, its mode
// and the chmod that fixes it; NOT_FOUND when it cannot be stat'ed.
absl::Status CheckOwnerOnly(const std::filesystem::path& path);

// "`what`: strerror(err)" with a code for errno `err`: NOT_FOUND for ENOENT
// and ENOTDIR, PERMISSION_DENIED for EACCES and EPERM, `otherwise` for any
// other.
absl::Status ErrnoStatus(int err, std::string_view what,
                         absl::StatusCode otherwise);

// Owns a file descriptor: closes it when it goes.
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ~ScopedFd();
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  int get() const { return fd_; }
  // Closes now: 0, or close(2)'s errno (errno is set too).
  int Close();

 private:
  int fd_;
};

// `n` bytes from the OS's CSPRNG (OpenSSL RAND_bytes).
absl::StatusOr<std::string> RandomBytes(size_t n);

}  // namespace evidentia

#endif  // EVIDENTIA_COMMON_FILES_H_
