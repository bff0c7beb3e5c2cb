// Small, careful file helpers: bounded reads and crash-safe writes.
#ifndef EVIDENTIA_COMMON_FILES_H_
#define EVIDENTIA_COMMON_FILES_H_

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace evidentia {

// A plain relative path: at most `max_bytes`, at most `max_parts`
// '/'-separated parts, each non-empty, of ASCII letters, digits, '.', '_'
// and '-', not starting with '.' (so no "..", no hidden files, nothing
// absolute). What bundles and the SoA may name.
bool IsPlainRelativePath(std::string_view path, size_t max_parts,
                         size_t max_bytes);

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

// The system calls every part retries the same way, in this one place.
// open(2) and openat(2), retried while interrupted (EINTR): the descriptor,
// or -1 with errno set.
int OpenRetrying(const char* path, int flags, mode_t mode = 0);
int OpenAtRetrying(int dir_fd, const char* name, int flags, mode_t mode = 0);
// read(2), retried while interrupted: what read(2) returns otherwise.
ssize_t ReadRetrying(int fd, void* buffer, size_t size);
// pread(2), retried while interrupted.
ssize_t PreadRetrying(int fd, void* buffer, size_t size, off_t offset);
// Writes all of `data`, retrying interrupted and short writes: 0, or the
// errno (errno is set too; EIO for a write that wrote nothing).
int WriteAll(int fd, std::string_view data);
// fsync(2), retried while interrupted: 0, or the errno.
int FsyncRetrying(int fd);

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

// A private (0700) temporary directory, $TMPDIR/evidentia-TAG-XXXXXX (or
// under /tmp), removed with its contents when the object goes. UNAVAILABLE
// when it cannot be made, naming where.
class TempDir {
 public:
  static absl::StatusOr<std::unique_ptr<TempDir>> Make(std::string_view tag);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  explicit TempDir(std::filesystem::path path) : path_(std::move(path)) {}
  std::filesystem::path path_;
};

// `n` bytes from the OS's CSPRNG (OpenSSL RAND_bytes).
absl::StatusOr<std::string> RandomBytes(size_t n);

}  // namespace evidentia

#endif  // EVIDENTIA_COMMON_FILES_H_
