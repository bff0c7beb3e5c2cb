// Bounded, root-confined file access for the Linux probes. Every path is
// relative to an injectable root ("/" in production, a fixture tree in
// tests); symlinks are followed as if `root` were "/", so an absolute link
// target such as "/dev/dm-0" stays inside the fixture tree.
#ifndef EVIDENTIA_AGENT_LINUX_SYS_ROOTED_FS_H_
#define EVIDENTIA_AGENT_LINUX_SYS_ROOTED_FS_H_

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace evidentia::agent {

// Default cap for configuration and /proc files the probes read whole.
inline constexpr size_t kMaxConfigFileBytes = 4 << 20;

// The whole file `root`/`path`, at most `max_bytes`. NOT_FOUND if missing,
// PERMISSION_DENIED if unreadable, OUT_OF_RANGE if longer than `max_bytes`,
// FAILED_PRECONDITION if not a regular file (a FIFO or device node is never
// opened). Works for /proc and /sys files, whose size stat() reports as 0.
absl::StatusOr<std::string> ReadRootedFile(const std::filesystem::path& root,
                                           std::string_view path,
                                           size_t max_bytes);

// At most `max_bytes` from offset `offset` of `root`/`path` (fewer at end of
// file); for fixed-layout headers and records in large files. Same error
// codes as ReadRootedFile, never OUT_OF_RANGE.
absl::StatusOr<std::string> ReadRootedPrefix(const std::filesystem::path& root,
                                             std::string_view path,
                                             size_t max_bytes,
                                             uint64_t offset = 0);

// Like ReadRootedPrefix, but `path` may also be a block device (a disk's
// header, e.g. "dev/sda2"; fixture trees hold a regular file there).
// FAILED_PRECONDITION for anything else (a character device, a FIFO).
absl::StatusOr<std::string> ReadRootedDevicePrefix(
    const std::filesystem::path& root, std::string_view path, size_t max_bytes);

// `path` (relative to root, leading '/' ignored) with every symlink resolved
// as if `root` were "/": ".." never climbs above root. Returns the resolved
// path relative to root without a leading '/', e.g. "sys/devices/.../sda2".
// The result need not exist. INVALID_ARGUMENT after 40 symlink hops.
absl::StatusOr<std::string> ResolveInRoot(const std::filesystem::path& root,
                                          std::string_view path);

// Names of the entries of directory `root`/`path`, sorted; at most
// `max_entries` (the first ones in sorted order). Empty if the directory is
// missing or unreadable.
std::vector<std::string> ListRootedDir(const std::filesystem::path& root,
                                       std::string_view path,
                                       size_t max_entries = 4096);

// `root`/`path` exists (after following symlinks inside root).
bool RootedExists(const std::filesystem::path& root, std::string_view path);

}  // namespace evidentia::agent

#endif  // EVIDENTIA_AGENT_LINUX_SYS_ROOTED_FS_H_
