// Bounded, symlink-refusing reads and digests of the files of a bundle.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "bundle/archive.h"
#include "bundle/verify_internal.h"
#include "common/files.h"
#include "common/sha256.h"
#include "common/status_macros.h"

namespace evidentia::collector::verify_internal {
namespace {

// Files up to this are read whole; larger ones (documents) are hashed in a
// stream, up to kMaxArchiveFileBytes.
constexpr size_t kMaxWholeRead = 16 << 20;

// Opens `name` relative to `dir_fd` (AT_FDCWD: a path), never through a
// final symlink, and checks that it is a regular file of at most `max`
// bytes; returns its size. Messages name the file by `rel`.
absl::StatusOr<size_t> OpenRegular(int dir_fd, const char* name,
                                   absl::string_view rel, size_t max,
                                   std::optional<Fd>& fd) {
  const int raw = OpenAtRetrying(dir_fd, name,
                                 O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
  if (raw < 0) return OpenError(rel, errno);
  fd.emplace(raw);
  struct stat st;
  if (::fstat(raw, &st) != 0) {
    return Bad(rel, absl::StrCat("cannot stat: ", std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) return Bad(rel, "not a regular file");
  if (static_cast<uint64_t>(st.st_size) > max) {
    return Bad(rel, absl::StrCat(st.st_size, " bytes, more than the ", max,
                                 " allowed"));
  }
  return static_cast<size_t>(st.st_size);
}

// Reads `size` bytes from `fd` into `out`.
absl::Status ReadExactly(int fd, absl::string_view rel, size_t size,
                         std::string& out) {
  out.resize(size);
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ReadRetrying(fd, out.data() + done, size - done);
    if (n < 0) {
      return Bad(rel, absl::StrCat("cannot read: ", std::strerror(errno)));
    }
    if (n == 0) return Bad(rel, "shrank while being read");
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status OpenError(absl::string_view rel, int error) {
  if (error == ENOENT) return Bad(rel, "missing");
  if (error == ELOOP) return Bad(rel, "a symbolic link; refused");
  return Bad(rel, absl::StrCat("cannot open: ", std::strerror(error)));
}

absl::StatusOr<std::string> ReadAt(int dir_fd, const char* name,
                                   absl::string_view rel, size_t max) {
  std::optional<Fd> fd;
  ASSIGN_OR_RETURN(const size_t size, OpenRegular(dir_fd, name, rel, max, fd));
  std::string bytes;
  RETURN_IF_ERROR(ReadExactly(fd->get(), rel, size, bytes));
  return bytes;
}

absl::StatusOr<absl::string_view> ReadInto(int dir_fd, const char* name,
                                           absl::string_view rel, size_t max,
                                           std::string& buffer) {
  if (buffer.size() < max + 1) buffer.resize(max + 1);
  // O_NOATIME spares a metadata write per file; only the owner (or root)
  // may ask for it, so others open without.
  static std::atomic<bool> noatime(true);
  const int flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK;
  int raw = OpenAtRetrying(dir_fd, name, flags | (noatime ? O_NOATIME : 0));
  if (raw < 0 && errno == EPERM && noatime.exchange(false)) {
    raw = OpenAtRetrying(dir_fd, name, flags);
  }
  if (raw < 0) return OpenError(rel, errno);
  Fd fd(raw);
  const ssize_t n = ReadRetrying(raw, buffer.data(), max + 1);
  if (n < 0) {
    return Bad(rel, absl::StrCat("cannot read: ", std::strerror(errno)));
  }
  if (static_cast<size_t>(n) > max) {
    return Bad(rel, absl::StrCat("more than the ", max, " bytes allowed"));
  }
  return absl::string_view(buffer.data(), static_cast<size_t>(n));
}

absl::StatusOr<std::string> ReadBundleFile(const std::string& root,
                                           absl::string_view rel, size_t max) {
  const std::string path = absl::StrCat(root, "/", rel);
  return ReadAt(AT_FDCWD, path.c_str(), rel, max);
}

absl::StatusOr<std::string> HashBundleFile(const std::string& root,
                                           absl::string_view rel,
                                           std::string* keep) {
  const std::string path = absl::StrCat(root, "/", rel);
  std::optional<Fd> fd;
  ASSIGN_OR_RETURN(const size_t size, OpenRegular(AT_FDCWD, path.c_str(), rel,
                                                  kMaxArchiveFileBytes, fd));
  if (keep != nullptr && size > kMaxWholeRead) {
    return Bad(rel, absl::StrCat(size, " bytes, more than the ", kMaxWholeRead,
                                 " allowed"));
  }
  if (size <= kMaxWholeRead) {
    std::string bytes;
    RETURN_IF_ERROR(ReadExactly(fd->get(), rel, size, bytes));
    std::string digest = Sha256(bytes);
    if (keep != nullptr) *keep = std::move(bytes);
    return digest;
  }
  Sha256Stream hasher;
  if (!hasher.Start()) return absl::InternalError("SHA-256: cannot start");
  std::string buffer(1 << 20, '\0');
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ReadRetrying(fd->get(), buffer.data(),
                                   std::min(buffer.size(), size - done));
    if (n < 0) {
      return Bad(rel, absl::StrCat("cannot read: ", std::strerror(errno)));
    }
    if (n == 0) return Bad(rel, "shrank while being read");
    hasher.Update(std::string_view(buffer.data(), static_cast<size_t>(n)));
    done += static_cast<size_t>(n);
  }
  return hasher.Finish();
}

}  // namespace evidentia::collector::verify_internal
