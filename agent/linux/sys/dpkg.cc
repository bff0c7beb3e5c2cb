#include "agent/linux/sys/dpkg.h"

#include <utility>

#include "agent/linux/sys/rooted_fs.h"
#include "agent/linux/sys/text.h"

namespace evidentia::agent {
namespace {

constexpr size_t kMaxDpkgStatusBytes = 64 << 20;

}  // namespace

std::vector<DpkgPackage> ParseDpkgStatus(std::string_view text) {
  std::vector<DpkgPackage> installed;
  DpkgPackage current;
  bool is_installed = false;
  auto flush = [&]() {
    if (is_installed && !current.name.empty()) {
      installed.push_back(std::move(current));
    }
    current = DpkgPackage();
    is_installed = false;
  };
  for (std::string_view line : SplitLines(text)) {
    if (Trim(line).empty()) {
      flush();
      continue;
    }
    if (line[0] == ' ' || line[0] == '\t') continue;  // continuation line
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view field = line.substr(0, colon);
    std::string_view value = Trim(line.substr(colon + 1));
    if (EqualsIgnoreCase(field, "Package")) {
      current.name = std::string(value);
    } else if (EqualsIgnoreCase(field, "Version")) {
      current.version = std::string(value);
    } else if (EqualsIgnoreCase(field, "Status")) {
      std::vector<std::string_view> words = SplitAny(value, " \t");
      is_installed = words.size() == 3 && words[0] == "install" &&
                     words[1] == "ok" && words[2] == "installed";
    }
  }
  flush();
  return installed;
}

absl::StatusOr<std::map<std::string, std::string>> ReadInstalledPackages(
    const std::filesystem::path& root) {
  absl::StatusOr<std::string> status =
      ReadRootedFile(root, "var/lib/dpkg/status", kMaxDpkgStatusBytes);
  if (!status.ok()) return status.status();
  std::map<std::string, std::string> packages;
  for (DpkgPackage& package : ParseDpkgStatus(*status)) {
    packages.emplace(std::move(package.name), std::move(package.version));
  }
  return packages;
}

}  // namespace evidentia::agent
