#include "common/files.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/sha256.h"

namespace evidentia {
namespace {

// `what` failed on `path` with `error_number`: a status whose code follows
// errno (NOT_FOUND, PERMISSION_DENIED, ...) and whose message names both.
absl::Status PathError(int error_number, absl::string_view what,
                       const std::filesystem::path& path) {
  return absl::ErrnoToStatus(error_number,
                             absl::StrCat(what, " ", path.string()));
}

}  // namespace

absl::StatusOr<std::string> ReadFile(const std::filesystem::path& path,
                                     size_t max_bytes) {
  ScopedFd fd(OpenRetrying(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) return PathError(errno, "cannot open", path);

  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return PathError(errno, "cannot stat", path);
  if (S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(path.string(), " is a directory, not a file"));
  }
  if (S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) > max_bytes) {
    return absl::OutOfRangeError(absl::StrCat(path.string(), " is ", st.st_size,
                                              " bytes, over the ", max_bytes,
                                              "-byte limit"));
  }

  // Read up to one byte past the limit: files that grow while we read, and
  // files whose size stat cannot tell (pipes, /proc), are bounded too.
  std::string data;
  char buf[64 * 1024];
  while (true) {
    const ssize_t n = ReadRetrying(fd.get(), buf, sizeof(buf));
    if (n < 0) return PathError(errno, "cannot read", path);
    if (n == 0) break;
    if (static_cast<size_t>(n) > max_bytes - data.size()) {
      return absl::OutOfRangeError(absl::StrCat(path.string(), " is over the ",
                                                max_bytes, "-byte limit"));
    }
    data.append(buf, static_cast<size_t>(n));
  }
  return data;
}

absl::Status WriteFileAtomic(const std::filesystem::path& path,
                             std::string_view data, mode_t mode) {
  if (path.empty() || !path.has_filename()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot write to \"", path.string(), "\": not a file path"));
  }
  const std::filesystem::path dir =
      path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");

  absl::StatusOr<std::string> suffix = RandomBytes(8);
  if (!suffix.ok()) return suffix.status();
  std::filesystem::path tmp = path;
  tmp += absl::StrCat(".tmp.", ToHex(*suffix));

  ScopedFd fd(OpenRetrying(
      tmp.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOCTTY, mode));
  if (fd.get() < 0) return PathError(errno, "cannot create", tmp);

  // From here on, any failure removes the temporary file.
  auto fail = [&tmp](int error_number, absl::string_view what) {
    ::unlink(tmp.c_str());
    return PathError(error_number, what, tmp);
  };
  // The mode given to open() is masked by the umask; set it exactly.
  if (::fchmod(fd.get(), mode) != 0) return fail(errno, "cannot chmod");
  if (int err = WriteAll(fd.get(), data); err != 0) {
    return fail(err, "cannot write");
  }
  if (int err = FsyncRetrying(fd.get()); err != 0) {
    return fail(err, "cannot fsync");
  }
  if (int err = fd.Close(); err != 0) return fail(err, "cannot close");
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return PathError(err, absl::StrCat("cannot rename ", tmp.string(), " to"),
                     path);
  }

  // Make the rename itself durable.
  return SyncDir(dir);
}

absl::Status SyncDir(const std::filesystem::path& dir) {
  ScopedFd dir_fd(
      OpenRetrying(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() < 0) {
    return PathError(errno, "cannot open directory to fsync", dir);
  }
  if (int err = FsyncRetrying(dir_fd.get()); err != 0) {
    return PathError(err, "cannot fsync directory", dir);
  }
  return absl::OkStatus();
}

absl::Status EnsurePrivateDir(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::ErrnoToStatus(
        ec.value(), absl::StrCat("cannot create directory ", dir.string()));
  }
  if (!std::filesystem::is_directory(dir, ec)) {
    return absl::FailedPreconditionError(
        absl::StrCat(dir.string(), " exists and is not a directory"));
  }
  if (::chmod(dir.c_str(), 0700) != 0) {
    return PathError(errno, "cannot chmod 0700", dir);
  }
  return absl::OkStatus();
}

absl::Status CheckOwnerOnly(const std::filesystem::path& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat("cannot stat ", path.string()));
  }
  if ((st.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s is accessible to other users (mode %04o); run: chmod %s %s",
        path.string(), st.st_mode & 07777, S_ISDIR(st.st_mode) ? "700" : "600",
        path.string()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> RandomBytes(size_t n) {
  if (n > static_cast<size_t>(INT_MAX)) {
    return absl::InvalidArgumentError(
        absl::StrCat("RandomBytes: ", n, " bytes requested, too many"));
  }
  std::string out(n, '\0');
  if (n == 0) return out;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()),
                 static_cast<int>(n)) != 1) {
    char buf[256];
    ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
    ERR_clear_error();
    return absl::InternalError(absl::StrCat("RAND_bytes failed: ", buf));
  }
  return out;
}

int OpenRetrying(const char* path, int flags, mode_t mode) {
  int fd;
  do {
    fd = ::open(path, flags, mode);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

int OpenAtRetrying(int dir_fd, const char* name, int flags, mode_t mode) {
  int fd;
  do {
    fd = ::openat(dir_fd, name, flags, mode);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

ssize_t ReadRetrying(int fd, void* buffer, size_t size) {
  ssize_t n;
  do {
    n = ::read(fd, buffer, size);
  } while (n < 0 && errno == EINTR);
  return n;
}

ssize_t PreadRetrying(int fd, void* buffer, size_t size, off_t offset) {
  ssize_t n;
  do {
    n = ::pread(fd, buffer, size, offset);
  } while (n < 0 && errno == EINTR);
  return n;
}

int WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return errno = EIO;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return 0;
}

int FsyncRetrying(int fd) {
  int rc;
  do {
    rc = ::fsync(fd);
  } while (rc != 0 && errno == EINTR);
  return rc == 0 ? 0 : errno;
}

absl::Status ErrnoStatus(int err, std::string_view what,
                         absl::StatusCode otherwise) {
  std::string message(what);
  message += ": ";
  message += std::strerror(err);
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    default:
      return absl::Status(otherwise, message);
  }
}

absl::StatusOr<std::unique_ptr<TempDir>> TempDir::Make(std::string_view tag) {
  const char* env = std::getenv("TMPDIR");
  const std::string base = env != nullptr && *env != '\0' ? env : "/tmp";
  std::string pattern =
      absl::StrCat(base, "/evidentia-",
                   absl::string_view(tag.data(), tag.size()), "-XXXXXX");
  if (::mkdtemp(pattern.data()) == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot make a temporary directory in ", base, ": ",
                     std::strerror(errno)));
  }
  return std::unique_ptr<TempDir>(new TempDir(pattern));
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

ScopedFd::~ScopedFd() {
  if (fd_ >= 0) ::close(fd_);
}

int ScopedFd::Close() {
  const int fd = fd_;
  fd_ = -1;
  return ::close(fd) == 0 ? 0 : errno;
}

bool IsPlainRelativePath(std::string_view path, size_t max_parts,
                         size_t max_bytes) {
  if (path.empty() || path.size() > max_bytes) return false;
  size_t parts = 0;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view part = path.substr(start, end - start);
    if (++parts > max_parts || part.empty() || part[0] == '.') return false;
    for (char c : part) {
      const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9');
      if (!alnum && c != '.' && c != '_' && c != '-') return false;
    }
    start = end + 1;
  }
  return true;
}

}  // namespace evidentia
