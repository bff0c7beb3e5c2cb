// stat(2) of a path below an injectable root, with symlinks resolved inside
// the root (ResolveInRoot), so that a link to "/etc/shadow" in a fixture
// tree is the fixture's etc/shadow, never the host's. For the probes that
// need a file's kind, mode or mtime rather than its content.
#ifndef EVIDENTIA_AGENT_LINUX_SYS_ROOTED_STAT_H_
#define EVIDENTIA_AGENT_LINUX_SYS_ROOTED_STAT_H_

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>

#include "absl/status/statusor.h"

namespace evidentia::agent {

// stat(2) of root/path after resolving it inside root. NOT_FOUND when it
// does not exist, PERMISSION_DENIED when a directory on the way cannot be
// searched, INVALID_ARGUMENT for a symlink loop.
absl::StatusOr<struct stat> RootedStat(const std::filesystem::path& root,
                                       std::string_view path);

// The mtime of root/path in unix seconds (whole seconds); nullopt when
// RootedStat fails.
std::optional<int64_t> RootedMtime(const std::filesystem::path& root,
                                   std::string_view path);

// root/path is a directory (after resolving symlinks inside root).
bool RootedIsDirectory(const std::filesystem::path& root,
                       std::string_view path);

// root/path is a regular file with at least one execute bit.
bool RootedIsExecutableFile(const std::filesystem::path& root,
                            std::string_view path);

}  // namespace evidentia::agent

#endif  // EVIDENTIA_AGENT_LINUX_SYS_ROOTED_STAT_H_
