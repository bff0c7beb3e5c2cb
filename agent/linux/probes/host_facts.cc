#include "agent/linux/probes/host_facts.h"

#include <sys/utsname.h>

#include "absl/status/status.h"
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

std::string Unquote(std::string_view value) {
  if (value.size() < 2) return std::string(value);
  char quote = value.front();
  if ((quote != '"' && quote != '\'') || value.back() != quote) {
    return std::string(value);
  }
  value = value.substr(1, value.size() - 2);
  std::string out;
  for (size_t i = 0; i < value.size(); ++i) {
    if (quote == '"' && value[i] == '\\' && i + 1 < value.size() &&
        (value[i + 1] == '"' || value[i + 1] == '\\' || value[i + 1] == '$' ||
         value[i + 1] == '`')) {
      ++i;
    }
    out.push_back(value[i]);
  }
  return out;
}

}  // namespace

std::map<std::string, std::string> ParseOsRelease(std::string_view text) {
  std::map<std::string, std::string> values;
  for (std::string_view line : SplitLines(text)) {
    line = Trim(line);
    if (line.empty() || line[0] == '#') continue;
    size_t equals = line.find('=');
    if (equals == 0 || equals == std::string_view::npos) continue;
    values[std::string(Trim(line.substr(0, equals)))] =
        Unquote(Trim(line.substr(equals + 1)));
  }
  return values;
}

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

  absl::StatusOr<std::string> os_release =
      ReadRootedFile(root, "etc/os-release", kMaxSmallFileBytes);
  if (absl::IsNotFound(os_release.status())) {
    os_release = ReadRootedFile(root, "usr/lib/os-release", kMaxSmallFileBytes);
  }
  if (os_release.ok()) {
    std::map<std::string, std::string> values = ParseOsRelease(*os_release);
    host.set_os_id(values["ID"]);
    host.set_os_version(values["VERSION_ID"]);
    host.set_os_pretty_name(values["PRETTY_NAME"]);
  } else if (!absl::IsNotFound(os_release.status())) {
    return os_release.status();
  }

  struct utsname uts;
  if (uname(&uts) == 0) host.set_arch(uts.machine);
  MakeStringsValidUtf8(&host);
  return host;
}

}  // namespace evidentia::agent
