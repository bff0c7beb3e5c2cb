#include "agent/linux/probes/host_facts.h"

#include <sys/utsname.h>

#include "absl/status/status.h"
#include "agent/linux/sys/os_release.h"
#include "agent/linux/sys/rooted_fs.h"
#include "agent/linux/sys/text.h"
#include "agent/linux/sys/utf8.h"

namespace evidentia::agent {
namespace {

constexpr size_t kMaxSmallFileBytes = 64 << 10;

// The file's trimmed first line; "" if missing.
absl::StatusOr<std::string> FirstLine(const std::filesystem::path& root,
                                      std::string_view path) {
  absl::StatusOr<std::string> text =
      ReadRootedFile(root, path, kMaxSmallFileBytes);
  if (absl::IsNotFound(text.status())) return std::string();
  if (!text.ok()) return text.status();
  std::string_view line = *text;
  line = line.substr(0, line.find('\n'));
  return std::string(Trim(line));
}

}  // namespace

absl::StatusOr<v1::HostFacts> CollectHostFacts(
    const std::filesystem::path& root) {
  v1::HostFacts host;
  absl::StatusOr<std::string> hostname =
      FirstLine(root, "proc/sys/kernel/hostname");
  if (!hostname.ok()) return hostname.status();
  host.set_hostname(*hostname);
  absl::StatusOr<std::string> kernel =
      FirstLine(root, "proc/sys/kernel/osrelease");
  if (!kernel.ok()) return kernel.status();
  host.set_kernel(*kernel);
  absl::StatusOr<std::string> machine_id = FirstLine(root, "etc/machine-id");
  if (!machine_id.ok()) return machine_id.status();
  host.set_machine_id(*machine_id);

  absl::StatusOr<std::map<std::string, std::string>> os_release =
      ReadOsRelease(root);
  if (!os_release.ok()) return os_release.status();
  host.set_os_id((*os_release)["ID"]);
  host.set_os_version((*os_release)["VERSION_ID"]);
  host.set_os_pretty_name((*os_release)["PRETTY_NAME"]);

  struct utsname uts;
  if (uname(&uts) == 0) host.set_arch(uts.machine);
  MakeStringsValidUtf8(&host);
  return host;
}

}  // namespace evidentia::agent
