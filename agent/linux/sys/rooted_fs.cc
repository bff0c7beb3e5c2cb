#include "agent/linux/sys/rooted_fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <deque>
#include <system_error>

#include "absl/status/status.h"
#include "agent/linux/sys/text.h"
#include "common/files.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;

constexpr int kMaxSymlinkHops = 40;

absl::Status FileError(int err, const fs::path& path, std::string_view what) {
  return evidentia::ErrnoStatus(err, Cat(what, " ", path.string()),
                                absl::StatusCode::kInternal);
}

// Resolves `path` inside root and insists on a regular file (or, when
// `block_device_too`, a block device), so that a FIFO or character device
// planted in a tree cannot block or flood a read.
absl::StatusOr<fs::path> RegularFile(const fs::path& root,
                                     std::string_view path,
                                     bool block_device_too = false) {
  absl::StatusOr<std::string> rel = ResolveInRoot(root, path);
  if (!rel.ok()) return rel.status();
  fs::path full = root / *rel;
  struct stat st;
  if (stat(full.c_str(), &st) != 0) return FileError(errno, full, "stat");
  if (!S_ISREG(st.st_mode) && !(block_device_too && S_ISBLK(st.st_mode))) {
    return absl::FailedPreconditionError(
        Cat(full.string(), block_device_too
                               ? " is neither a regular file nor a block device"
                               : " is not a regular file"));
  }
  return full;
}

absl::StatusOr<std::string> ReadPrefix(const fs::path& full, size_t max_bytes,
                                       uint64_t offset) {
  int raw = OpenRetrying(full.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (raw < 0) return FileError(errno, full, "opening");
  ScopedFd fd(raw);
  std::string out;
  char buf[16384];
  while (out.size() < max_bytes) {
    size_t want = std::min(sizeof(buf), max_bytes - out.size());
    ssize_t n = PreadRetrying(fd.get(), buf, want,
                              static_cast<off_t>(offset + out.size()));
    if (n < 0) return FileError(errno, full, "reading");
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::deque<std::string> Components(std::string_view path) {
  std::deque<std::string> out;
  for (std::string_view part : SplitAny(path, "/")) {
    out.emplace_back(part);
  }
  return out;
}

}  // namespace

absl::StatusOr<std::string> ReadRootedFile(const fs::path& root,
                                           std::string_view path,
                                           size_t max_bytes) {
  absl::StatusOr<fs::path> full = RegularFile(root, path);
  if (!full.ok()) return full.status();
  return evidentia::ReadFile(*full, max_bytes);
}

absl::StatusOr<std::string> ReadRootedPrefix(const fs::path& root,
                                             std::string_view path,
                                             size_t max_bytes,
                                             uint64_t offset) {
  absl::StatusOr<fs::path> full = RegularFile(root, path);
  if (!full.ok()) return full.status();
  return ReadPrefix(*full, max_bytes, offset);
}

absl::StatusOr<std::string> ReadRootedDevicePrefix(const fs::path& root,
                                                   std::string_view path,
                                                   size_t max_bytes) {
  absl::StatusOr<fs::path> full =
      RegularFile(root, path, /*block_device_too=*/true);
  if (!full.ok()) return full.status();
  return ReadPrefix(*full, max_bytes, 0);
}

absl::StatusOr<std::string> ResolveInRoot(const fs::path& root,
                                          std::string_view path) {
  std::vector<std::string> done;
  std::deque<std::string> todo = Components(path);
  int hops = 0;
  while (!todo.empty()) {
    std::string part = std::move(todo.front());
    todo.pop_front();
    if (part == ".") continue;
    if (part == "..") {
      if (!done.empty()) done.pop_back();
      continue;
    }
    fs::path current = root;
    for (const std::string& d : done) current /= d;
    current /= part;
    std::error_code ec;
    fs::file_status st = fs::symlink_status(current, ec);
    if (ec || !fs::is_symlink(st)) {
      done.push_back(std::move(part));
      continue;
    }
    if (++hops > kMaxSymlinkHops) {
      return absl::InvalidArgumentError(
          Cat("too many symlinks resolving ", path));
    }
    fs::path target = fs::read_symlink(current, ec);
    if (ec) {
      done.push_back(std::move(part));
      continue;
    }
    std::string target_text = target.string();
    if (!target_text.empty() && target_text[0] == '/') done.clear();
    std::deque<std::string> more = Components(target_text);
    todo.insert(todo.begin(), more.begin(), more.end());
  }
  std::string joined;
  for (const std::string& part : done) {
    if (!joined.empty()) joined.push_back('/');
    joined.append(part);
  }
  return joined;
}

std::vector<std::string> ListRootedDir(const fs::path& root,
                                       std::string_view path,
                                       size_t max_entries) {
  std::vector<std::string> names;
  absl::StatusOr<std::string> rel = ResolveInRoot(root, path);
  if (!rel.ok()) return names;
  std::error_code ec;
  fs::directory_iterator it(root / *rel, ec);
  if (ec) return names;
  // Collect a bounded number beyond the cap so sorting stays cheap but the
  // first names in sorted order are kept.
  const size_t hard_cap = std::max<size_t>(max_entries, 1) * 16;
  for (; it != fs::directory_iterator() && names.size() < hard_cap;
       it.increment(ec)) {
    if (ec) break;
    names.push_back(it->path().filename().string());
  }
  std::sort(names.begin(), names.end());
  if (names.size() > max_entries) names.resize(max_entries);
  return names;
}

bool RootedExists(const fs::path& root, std::string_view path) {
  absl::StatusOr<std::string> rel = ResolveInRoot(root, path);
  if (!rel.ok()) return false;
  std::error_code ec;
  return fs::exists(root / *rel, ec);
}

}  // namespace evidentia::agent
