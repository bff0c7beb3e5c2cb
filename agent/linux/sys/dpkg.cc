#include "agent/linux/sys/dpkg.h"

#include <sys/stat.h>

#include <mutex>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "agent/linux/sys/rooted_fs.h"
#include "agent/linux/sys/text.h"

namespace evidentia::agent {
namespace {

constexpr size_t kMaxDpkgStatusBytes = 64 << 20;
constexpr char kStatusPath[] = "var/lib/dpkg/status";

// Which file, and which version of it: dpkg replaces the status file by
// rename, so a change is a new inode, a new size or a new mtime.
struct FileVersion {
  std::string path;
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = 0;
  struct timespec mtime = {0, 0};

  bool operator==(const FileVersion& o) const {
    return path == o.path && device == o.device && inode == o.inode &&
           size == o.size && mtime.tv_sec == o.mtime.tv_sec &&
           mtime.tv_nsec == o.mtime.tv_nsec;
  }
};

std::optional<FileVersion> VersionOf(const std::filesystem::path& root) {
  absl::StatusOr<std::string> rel = ResolveInRoot(root, kStatusPath);
  if (!rel.ok()) return std::nullopt;
  FileVersion version;
  version.path = (root / *rel).string();
  struct stat st;
  if (stat(version.path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return std::nullopt;
  }
  version.device = st.st_dev;
  version.inode = st.st_ino;
  version.size = st.st_size;
  version.mtime = st.st_mtim;
  return version;
}

// The last database parsed: most probes of a cycle ask for it, and a
// cycle should parse it once, not once per probe.
struct ParsedCache {
  std::mutex mu;
  std::optional<FileVersion> version;
  std::map<std::string, std::string> packages;
};

ParsedCache& Cache() {
  static auto* const cache = new ParsedCache;
  return *cache;
}

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
  const std::optional<FileVersion> version = VersionOf(root);
  ParsedCache& cache = Cache();
  if (version) {
    std::lock_guard<std::mutex> lock(cache.mu);
    if (cache.version == version) return cache.packages;
  }
  absl::StatusOr<std::string> status =
      ReadRootedFile(root, kStatusPath, kMaxDpkgStatusBytes);
  if (!status.ok()) return status.status();
  std::map<std::string, std::string> packages;
  for (DpkgPackage& package : ParseDpkgStatus(*status)) {
    packages.emplace(std::move(package.name), std::move(package.version));
  }
  // Keyed by the version seen before reading: if the file changed in
  // between, the next call sees a new version and parses again.
  if (version) {
    std::lock_guard<std::mutex> lock(cache.mu);
    cache.version = version;
    cache.packages = packages;
  }
  return packages;
}

absl::StatusOr<PackageDatabase> ReadPackageDatabase(
    const std::filesystem::path& root) {
  PackageDatabase database;
  absl::StatusOr<std::map<std::string, std::string>> installed =
      ReadInstalledPackages(root);
  if (absl::IsNotFound(installed.status())) return database;
  if (!installed.ok()) return installed.status();
  database.present = true;
  database.installed = *std::move(installed);
  return database;
}

}  // namespace evidentia::agent
