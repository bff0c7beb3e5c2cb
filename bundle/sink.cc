#include "bundle/sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "bundle/paths.h"
#include "common/files.h"

namespace evidentia::collector {
namespace {

absl::Status Errno(absl::string_view what, const std::filesystem::path& path) {
  return absl::ErrnoToStatus(errno, absl::StrCat(what, " ", path.string()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<DirectorySink>> DirectorySink::Create(
    const std::filesystem::path& dir) {
  if (::mkdir(dir.c_str(), 0755) != 0) {
    if (errno == EEXIST) {
      return absl::FailedPreconditionError(absl::StrCat(
          dir.string(), " already exists; a bundle goes into a new directory"));
    }
    return Errno("cannot create", dir);
  }
  return std::unique_ptr<DirectorySink>(new DirectorySink(dir));
}

absl::Status DirectorySink::Add(absl::string_view path,
                                absl::string_view bytes) {
  if (!bundle::IsSafePath(path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("refusing unsafe bundle path \"", path, "\""));
  }
  const std::filesystem::path target = dir_ / std::string(path);
  // Parents: every component was checked, so none is a symlink we made.
  std::filesystem::path parent = target.parent_path();
  if (parent != dir_) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) {
      return absl::ErrnoToStatus(
          ec.value(), absl::StrCat("cannot create ", parent.string()));
    }
  }
  const mode_t mode = path == bundle::kVerifyScriptPath ? 0755 : 0644;
  const int fd =
      ::open(target.c_str(),
             O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) return Errno("cannot create", target);
  if (WriteAll(fd, std::string_view(bytes.data(), bytes.size())) != 0) {
    absl::Status error = Errno("cannot write", target);
    ::close(fd);
    return error;
  }
  if (::close(fd) != 0) return Errno("cannot write", target);
  bytes_ += bytes.size();
  ++files_;
  return absl::OkStatus();
}

absl::Status DirectorySink::Finish() {
  const int fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open", dir_);
  const int rc = ::syncfs(fd);
  absl::Status status = rc == 0 ? absl::OkStatus() : Errno("cannot sync", dir_);
  ::close(fd);
  return status;
}

}  // namespace evidentia::collector
