// The host's own APT view, read through libapt-pkg (Debian's library, so
// version comparison, pinning and the upgrade resolver are apt's own): the
// installed packages with a newer candidate, where each candidate comes
// from, which of them `apt-get upgrade` would hold back, and the
// APT::Periodic settings of the APT configuration below a root.
// Thread-safe: libapt-pkg's global configuration, system and error stack
// are guarded by one process-wide mutex and reset for every read.
#ifndef EVIDENTIA_AGENT_LINUX_PROBES_OS_PATCHING_APT_H_
#define EVIDENTIA_AGENT_LINUX_PROBES_OS_PATCHING_APT_H_

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace evidentia::agent {

// Whether a repository is a security pocket: labelled "Debian-Security"
// (Debian's security archive, whatever its suite is called), or its archive
// or codename ends in "-security" ("bookworm-security", Ubuntu's
// "jammy-security"). Pure; empty fields are fine.
bool IsSecurityPocket(std::string_view label, std::string_view archive,
                      std::string_view codename);

// One installed package with a newer candidate version.
struct AptUpgrade {
  std::string package;
  std::string architecture;
  std::string installed_version;
  std::string candidate_version;
  // The repository the candidate comes from (its Release file's fields);
  // when it is published in several, a security pocket is preferred.
  std::string origin;
  std::string label;
  std::string archive;
  std::string codename;
  bool security = false;   // published in a security pocket (IsSecurityPocket)
  bool kept_back = false;  // `apt-get upgrade` would not install it
};

// What one read of the APT state below a root found.
struct AptState {
  // The APT configuration (etc/apt/apt.conf, etc/apt/apt.conf.d/*) was
  // read; the periodic settings below are meaningful.
  bool config_read = false;
  std::string periodic_update_package_lists;  // "" when unset
  std::string periodic_unattended_upgrade;    // "" when unset
  // The package cache was built; `upgrades` is then complete. Otherwise
  // `error` says why (libapt-pkg's messages) and `upgrades` is empty.
  bool cache_ok = false;
  // The cache was apt's own binary cache, valid for the current files and
  // mapped read-only, rather than built in memory. Not a fact: both give
  // the same upgrades.
  bool from_apt_cache = false;
  std::string error;
  // Sorted by package, then architecture.
  std::vector<AptUpgrade> upgrades;
};

// The files and directories (absolute host paths) a Read opens, where the
// APT configuration below the root places them.
struct AptInputs {
  std::vector<std::string> files;
  std::vector<std::string> directories;  // the directory and its entries
};

// Where the probe gets the APT state; a fake in fixture tests.
class AptCache {
 public:
  virtual ~AptCache() = default;
  // Reads the APT state of the system below `root`. Never fails as a
  // whole: what could not be read is reported in the result.
  virtual AptState Read(const std::filesystem::path& root) const = 0;
  // What Read(root) would open beyond the standard paths the probe already
  // watches (OsPatchingProbe::Inputs), for memoisation: nothing by default.
  virtual AptInputs Inputs(const std::filesystem::path& root) const {
    (void)root;
    return {};
  }
};

// AptCache over libapt-pkg. Everything is read below the root: dpkg's
// status (var/lib/dpkg/status), sources (etc/apt/sources.list{,.d}),
// preferences, downloaded lists (var/lib/apt/lists) and configuration.
// Nothing is written: no lock is taken, no command is run (the
// architectures come from var/lib/dpkg/arch instead of asking dpkg), and no
// cache file is created or replaced. When apt keeps a binary cache
// (Dir::Cache::pkgcache, /var/cache/apt/pkgcache.bin, written by apt-get
// update and install) and it is valid for the current sources, lists and
// status by libapt-pkg's own rules, it is mapped read-only (private) and
// used; otherwise the cache is built in memory (Dir::Cache::pkgcache and
// srcpkgcache "", index languages off). As with apt itself, a file named by
// APT_CONFIG in the environment is also read. libapt-pkg grows its
// in-memory cache in an unnamed O_TMPFILE in /tmp, gone when the read ends.
class LibAptCache : public AptCache {
 public:
  LibAptCache() = default;
  // For tests: `apt_cache` ("" for none) instead of the binary cache the
  // root's configuration names.
  explicit LibAptCache(std::string apt_cache)
      : apt_cache_override_(std::move(apt_cache)) {}

  AptState Read(const std::filesystem::path& root) const override;
  // Reads the configuration below `root` (as Read does, nothing else) and
  // returns where it places dpkg's status and architectures, the sources,
  // preferences, extended states, lists and configuration files, and the
  // file named by APT_CONFIG.
  AptInputs Inputs(const std::filesystem::path& root) const override;

 private:
  std::optional<std::string> apt_cache_override_;
};

// libapt-pkg's process-wide error stack holds no message (for tests: a read
// leaves none behind).
bool LibAptErrorStackIsEmpty();

}  // namespace evidentia::agent

#endif  // EVIDENTIA_AGENT_LINUX_PROBES_OS_PATCHING_APT_H_
