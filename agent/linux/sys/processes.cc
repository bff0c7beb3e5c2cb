#include "agent/linux/sys/processes.h"

#include <utility>

#include "agent/linux/sys/rooted_fs.h"
#include "agent/linux/sys/text.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxCommBytes = 256;
constexpr size_t kMaxCmdlinePrefixBytes = 4096;
constexpr size_t kMaxProcesses = 1 << 17;

bool IsDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsAsciiDigit(c)) return false;
  }
  return true;
}

}  // namespace

std::string ProcessNameFromCmdline(std::string_view cmdline) {
  std::string_view argv0 = cmdline.substr(0, cmdline.find('\0'));
  // Some daemons rewrite argv[0] into "name: status"; keep the name.
  argv0 = argv0.substr(0, argv0.find(' '));
  if (!argv0.empty() && argv0.back() == ':') argv0.remove_suffix(1);
  size_t slash = argv0.rfind('/');
  if (slash != std::string_view::npos) argv0 = argv0.substr(slash + 1);
  return std::string(argv0);
}

std::set<std::string> RunningProcessNames(const fs::path& root) {
  std::set<std::string> names;
  size_t seen = 0;
  for (const std::string& entry :
       ListRootedDir(root, "proc", /*max_entries=*/kMaxProcesses)) {
    if (!IsDigits(entry)) continue;
    if (++seen > kMaxProcesses) break;
    // Processes come and go while we look: any error just skips one.
    absl::StatusOr<std::string> comm =
        ReadRootedPrefix(root, Cat("proc/", entry, "/comm"), kMaxCommBytes);
    if (comm.ok()) {
      std::string name(TrimRight(*comm));
      if (!name.empty()) names.insert(std::move(name));
    }
    absl::StatusOr<std::string> cmdline = ReadRootedPrefix(
        root, Cat("proc/", entry, "/cmdline"), kMaxCmdlinePrefixBytes);
    if (cmdline.ok()) {
      std::string name = ProcessNameFromCmdline(*cmdline);
      if (!name.empty()) names.insert(std::move(name));
    }
  }
  return names;
}

}  // namespace evidentia::agent
