// os-release(5) below a root: which distribution and release the host runs.
// Read by the host facts sent with every snapshot and by the patching
// probe (a release's end of life).
#ifndef EVIDENTIA_AGENT_LINUX_SYS_OS_RELEASE_H_
#define EVIDENTIA_AGENT_LINUX_SYS_OS_RELEASE_H_

#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace evidentia::agent {

// KEY=value lines of os-release(5): comments and lines without '=' skipped,
// values unquoted ("..." or '...', with \", \\, \$ and \` escapes undone).
// A key given twice keeps its last value.
std::map<std::string, std::string> ParseOsRelease(std::string_view text);

// root/etc/os-release, or root/usr/lib/os-release when that is missing,
// parsed; empty when neither exists. Other read errors are returned.
absl::StatusOr<std::map<std::string, std::string>> ReadOsRelease(
    const std::filesystem::path& root);

}  // namespace evidentia::agent

#endif  // EVIDENTIA_AGENT_LINUX_SYS_OS_RELEASE_H_
