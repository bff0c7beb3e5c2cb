// The processes running below a root's /proc, by name: how probes tell
// whether a daemon runs.
#ifndef EVIDENTIA_AGENT_LINUX_SYS_PROCESSES_H_
#define EVIDENTIA_AGENT_LINUX_SYS_PROCESSES_H_

#include <filesystem>
#include <set>
#include <string>
#include <string_view>

namespace evidentia::agent {

// The process name that argv[0] in /proc/PID/cmdline (NUL-separated) gives:
// the basename of its first word, without a trailing ':' (daemons that
// rewrite argv[0] as "name: status"). Empty for kernel threads.
std::string ProcessNameFromCmdline(std::string_view cmdline);

// The names under which the processes of root/proc show up: each one's
// comm (which the kernel cuts to 15 characters) and the basename of its
// argv[0] (ProcessNameFromCmdline). Processes that exit while they are read
// are skipped; at most 2^17 processes are read.
std::set<std::string> RunningProcessNames(const std::filesystem::path& root);

}  // namespace evidentia::agent

#endif  // EVIDENTIA_AGENT_LINUX_SYS_PROCESSES_H_
