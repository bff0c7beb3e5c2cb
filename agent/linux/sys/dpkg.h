// The Debian package database below a root: /var/lib/dpkg/status, read by
// every probe that asks whether a package is installed.
#ifndef EVIDENTIA_AGENT_LINUX_SYS_DPKG_H_
#define EVIDENTIA_AGENT_LINUX_SYS_DPKG_H_

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace evidentia::agent {

// One paragraph of /var/lib/dpkg/status.
struct DpkgPackage {
  std::string name;
  std::string version;
};

// Packages whose Status is "install ok installed", in file order. Other
// states (config-files, half-installed, deinstall ...) and paragraphs without
// a Package field are skipped.
std::vector<DpkgPackage> ParseDpkgStatus(std::string_view text);

// The installed packages of root/var/lib/dpkg/status, name -> version.
// NOT_FOUND when the host has no dpkg database (not a Debian system); other
// errors when it exists but cannot be read or is over 64 MiB. The last
// database parsed is kept and reused while the file is unchanged (same
// inode, size and mtime), so the probes of one cycle parse it once.
absl::StatusOr<std::map<std::string, std::string>> ReadInstalledPackages(
    const std::filesystem::path& root);

// The package database as a probe uses it: on a host without dpkg there
// is nothing installed (a fact, `present` false), not an error.
struct PackageDatabase {
  bool present = false;  // var/lib/dpkg/status exists and was read
  std::map<std::string, std::string> installed;  // name -> version
};

// ReadInstalledPackages, with NOT_FOUND as an absent database; other
// errors (unreadable, oversized) are returned.
absl::StatusOr<PackageDatabase> ReadPackageDatabase(
    const std::filesystem::path& root);

}  // namespace evidentia::agent

#endif  // EVIDENTIA_AGENT_LINUX_SYS_DPKG_H_
