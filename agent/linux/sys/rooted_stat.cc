#include "agent/linux/sys/rooted_stat.h"

#include <cerrno>
#include <string>

#include "absl/status/status.h"
#include "agent/linux/sys/rooted_fs.h"

namespace evidentia::agent {

absl::StatusOr<struct stat> RootedStat(const std::filesystem::path& root,
                                       std::string_view path) {
  absl::StatusOr<std::string> rel = ResolveInRoot(root, path);
  if (!rel.ok()) return rel.status();
  const std::filesystem::path full = root / *rel;
  struct stat st {};
  // lstat: ResolveInRoot has already followed every link inside root; a
  // link left (one it could not read) must not be followed by the kernel
  // to a target outside root.
  if (::lstat(full.c_str(), &st) != 0) {
    const int error = errno;
    return absl::ErrnoToStatus(error, std::string("stat ") + full.string());
  }
  return st;
}

std::optional<int64_t> RootedMtime(const std::filesystem::path& root,
                                   std::string_view path) {
  absl::StatusOr<struct stat> st = RootedStat(root, path);
  if (!st.ok()) return std::nullopt;
  return static_cast<int64_t>(st->st_mtim.tv_sec);
}

bool RootedIsDirectory(const std::filesystem::path& root,
                       std::string_view path) {
  absl::StatusOr<struct stat> st = RootedStat(root, path);
  return st.ok() && S_ISDIR(st->st_mode);
}

bool RootedIsExecutableFile(const std::filesystem::path& root,
                            std::string_view path) {
  absl::StatusOr<struct stat> st = RootedStat(root, path);
  return st.ok() && S_ISREG(st->st_mode) && (st->st_mode & 0111) != 0;
}

}  // namespace evidentia::agent
