#include "agent/linux/probes/os_patching_apt.h"

#include <apt-pkg/aptconfiguration.h>
#include <apt-pkg/cachefile.h>
#include <apt-pkg/configuration.h>
#include <apt-pkg/depcache.h>
#include <apt-pkg/error.h>
#include <apt-pkg/indexfile.h>
#include <apt-pkg/init.h>
#include <apt-pkg/metaindex.h>
#include <apt-pkg/pkgcache.h>
#include <apt-pkg/pkgsystem.h>
#include <apt-pkg/policy.h>
#include <apt-pkg/sourcelist.h>
#include <apt-pkg/upgrade.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>
#include <tuple>
#include <utility>

#include "absl/status/statusor.h"
#include "agent/linux/sys/rooted_fs.h"
#include "agent/linux/sys/text.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxDpkgArchBytes = 64 << 10;
constexpr size_t kMaxArchitectures = 64;
constexpr size_t kMaxErrorBytes = 4096;

// libapt-pkg's process-wide state (_config, _system, _error and the caches
// of APT::Configuration) is touched only under this lock.
std::mutex& AptMutex() {
  static auto* const mutex = new std::mutex;
  return *mutex;
}

std::string OrEmpty(const char* s) { return s == nullptr ? "" : s; }

// The architectures dpkg knows of (var/lib/dpkg/arch), with apt's native
// one first. Reading the file replaces apt's default, which runs
// `dpkg --print-foreign-architectures`.
std::vector<std::string> Architectures(const fs::path& root,
                                       const std::string& native) {
  std::vector<std::string> archs = {native};
  absl::StatusOr<std::string> text =
      ReadRootedFile(root, "var/lib/dpkg/arch", kMaxDpkgArchBytes);
  if (!text.ok()) return archs;
  for (std::string_view line : SplitLines(*text)) {
    line = Trim(line);
    if (line.empty() || archs.size() >= kMaxArchitectures) continue;
    if (std::find(archs.begin(), archs.end(), line) == archs.end()) {
      archs.emplace_back(line);
    }
  }
  return archs;
}

// Resets libapt-pkg's configuration to apt's defaults with `root` as "/"
// and reads the configuration below it. Returns false (with the error on
// _error) when the configuration or the packaging system cannot be set up.
// `apt_cache`, when given, receives the binary cache apt itself keeps
// (Dir::Cache::pkgcache of the root's configuration, "" when it keeps
// none); the index languages are then left as apt reads them, so that the
// index files listed are the ones apt's cache was built from.
bool ConfigureFor(const fs::path& root, std::string* apt_cache = nullptr) {
  std::string dir = root.string();
  if (dir.empty() || dir.back() != '/') dir.push_back('/');
  _config->Clear();
  // Set before pkgInitConfig, which only fills in what is unset, so that
  // it reads root/etc/apt/apt.conf.d and root/etc/apt/apt.conf.
  _config->Set("Dir", dir);
  if (!pkgInitConfig(*_config)) return false;
  if (apt_cache != nullptr) {
    *apt_cache = _config->Find("Dir::Cache::pkgcache").empty()
                     ? ""
                     : _config->FindFile("Dir::Cache::pkgcache");
  }
  // Whatever the root's configuration says: read below the root, write no
  // cache, take no lock, run no dpkg.
  _config->Set("Dir", dir);
  _config->Set("Dir::State::status", dir + "var/lib/dpkg/status");
  _config->Set("Dir::Cache::pkgcache", "");
  _config->Set("Dir::Cache::srcpkgcache", "");
  _config->Set("Debug::NoLocking", true);
  _config->Set("APT::System", "Debian dpkg interface");
  if (apt_cache == nullptr) _config->Set("Acquire::Languages", "none");
  _config->Clear("APT::Architectures");
  for (const std::string& arch :
       Architectures(root, _config->Find("APT::Architecture"))) {
    _config->Set("APT::Architectures::", arch);
  }
  if (!pkgInitSystem(*_config, _system)) return false;
  // Refresh APT::Configuration's caches of the settings just changed.
  APT::Configuration::getArchitectures(false);
  APT::Configuration::getLanguages(true, false);
  APT::Configuration::getCompressors(false);
  return true;
}

// libapt-pkg's pending messages, errors first, joined; the stack is left
// empty.
std::string TakeErrors() {
  std::string out;
  while (!_error->empty(GlobalError::DEBUG)) {
    std::string message;
    bool is_error = _error->PopMessage(message);
    if (!is_error) continue;
    if (!out.empty()) out.append("; ");
    out.append(message);
  }
  if (out.size() > kMaxErrorBytes) out.resize(kMaxErrorBytes);
  return out;
}

// The repository a candidate version is taken from: a security pocket if
// it is in one, else the first repository (not dpkg's status) it is in.
void DescribeSource(pkgCache::VerIterator version, AptUpgrade* upgrade) {
  bool described = false;
  for (pkgCache::VerFileIterator vf = version.FileList(); !vf.end(); ++vf) {
    pkgCache::PkgFileIterator file = vf.File();
    if (file.Flagged(pkgCache::Flag::NotSource)) continue;  // dpkg status
    std::string label = OrEmpty(file.Label());
    std::string archive = OrEmpty(file.Archive());
    std::string codename = OrEmpty(file.Codename());
    bool security = IsSecurityPocket(label, archive, codename);
    if (described && !security) continue;
    upgrade->origin = OrEmpty(file.Origin());
    upgrade->label = std::move(label);
    upgrade->archive = std::move(archive);
    upgrade->codename = std::move(codename);
    upgrade->security = security;
    described = true;
    if (security) return;
  }
}

// The upgradable packages of a built cache, with `apt-get upgrade`'s
// decision (no removals, no new packages) marked on the depcache.
std::vector<AptUpgrade> Upgrades(pkgCacheFile& cache) {
  pkgDepCache& depcache = *cache.GetDepCache();
  // apt-get upgrade's own resolver run; errors land on _error.
  APT::Upgrade::Upgrade(depcache,
                        APT::Upgrade::FORBID_REMOVE_PACKAGES |
                            APT::Upgrade::FORBID_INSTALL_NEW_PACKAGES);
  std::vector<AptUpgrade> upgrades;
  for (pkgCache::PkgIterator pkg = depcache.GetCache().PkgBegin(); !pkg.end();
       ++pkg) {
    if (pkg->CurrentVer == 0) continue;
    pkgDepCache::StateCache& state = depcache[pkg];
    if (!state.Upgradable()) continue;
    pkgCache::VerIterator candidate =
        state.CandidateVerIter(depcache.GetCache());
    if (candidate.end()) continue;
    AptUpgrade upgrade;
    upgrade.package = OrEmpty(pkg.Name());
    upgrade.architecture = OrEmpty(candidate.Arch());
    upgrade.installed_version = OrEmpty(pkg.CurrentVer().VerStr());
    upgrade.candidate_version = OrEmpty(candidate.VerStr());
    upgrade.kept_back = !(state.Upgrade() && state.InstallVer != nullptr &&
                          state.InstVerIter(depcache.GetCache()) == candidate);
    DescribeSource(candidate, &upgrade);
    upgrades.push_back(std::move(upgrade));
  }
  std::sort(upgrades.begin(), upgrades.end(),
            [](const AptUpgrade& a, const AptUpgrade& b) {
              return std::tie(a.package, a.architecture) <
                     std::tie(b.package, b.architecture);
            });
  return upgrades;
}

struct FileId {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  struct timespec mtime {};
  bool operator==(const FileId& o) const {
    return dev == o.dev && ino == o.ino && size == o.size &&
           mtime.tv_sec == o.mtime.tv_sec && mtime.tv_nsec == o.mtime.tv_nsec;
  }
};

std::optional<FileId> IdOf(const std::string& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return std::nullopt;
  }
  return FileId{st.st_dev, st.st_ino, st.st_size, st.st_mtim};
}

// Whether the mapped `cache` is valid for the configured sources, index
// files and dpkg status, by the rules of libapt-pkg's CheckValidity
// (pkgcachegen.cc, not exported): every source's Release file and every
// index file that exists found in the cache with its size and mtime
// (FindInCache), and no file in the cache that is not one of them. The
// header, version, architectures and configuration hash were checked when
// the cache was mapped (pkgCache's constructor).
//
// One rule more than apt's: FindInCache compares sizes and whole-second
// mtimes, so a file rewritten with the same size within the second apt
// recorded would pass. Every file must therefore be older than the cache
// by kAptCacheMarginSeconds (longer than building a cache takes), so that
// any change after apt read it bears a later second.
constexpr int64_t kAptCacheMarginSeconds = 60;

bool OlderThanCache(const char* file, int64_t cache_mtime) {
  struct stat st {};
  return file != nullptr && ::stat(file, &st) == 0 &&
         st.st_mtim.tv_sec + kAptCacheMarginSeconds <= cache_mtime;
}

bool CacheMatchesFiles(pkgCache& cache, pkgSourceList& list,
                       int64_t cache_mtime) {
  if (cache.HeaderP == nullptr) return false;
  std::vector<bool> releases_seen(cache.HeaderP->ReleaseFileCount, false);
  std::vector<pkgIndexFile*> files;
  for (metaIndex* source : list) {
    pkgCache::RlsFileIterator release = source->FindInCache(cache, true);
    if (release.end() || release->ID >= releases_seen.size()) return false;
    // A source without a Release file (flat or never updated) has none.
    if (release.FileName() != nullptr && *release.FileName() != '\0' &&
        !OlderThanCache(release.FileName(), cache_mtime)) {
      return false;
    }
    releases_seen[release->ID] = true;
    for (pkgIndexFile* index : *source->GetIndexFiles()) {
      if (index->HasPackages()) files.push_back(index);
    }
  }
  if (std::find(releases_seen.begin(), releases_seen.end(), false) !=
      releases_seen.end()) {
    return false;
  }
  if (!_system->AddStatusFiles(files)) return false;
  std::vector<bool> files_seen(cache.HeaderP->PackageFileCount, false);
  for (pkgIndexFile* index : files) {
    if (!index->Exists()) continue;
    pkgCache::PkgFileIterator found = index->FindInCache(cache);
    if (found.end() || found->ID >= files_seen.size()) return false;
    if (!OlderThanCache(found.FileName(), cache_mtime)) return false;
    files_seen[found->ID] = true;
  }
  return std::find(files_seen.begin(), files_seen.end(), false) ==
         files_seen.end();
}

// Opens apt's own binary cache `file` in `cache` when it is valid for the
// current sources, index files and status: mapped read-only and shared
// (libapt-pkg's pkgCacheFile::Generate false, as `apt-cache
// --no-generate`), never written or replaced. Also not valid: no such
// file, a sources file newer than it, volatile (command-line) index files,
// the file replaced while it was mapped. Returns false, with `cache`
// untouched and no message left on _error, when it is not used.
bool OpenValidAptCache(const std::string& file,
                       std::unique_ptr<pkgCacheFile>* cache) {
  if (file.empty()) return false;
  std::optional<FileId> before = IdOf(file);
  if (!before) return false;
  _error->PushToStack();
  auto mapped = std::make_unique<pkgCacheFile>();
  _config->Set("Dir::Cache::pkgcache", file);
  _config->Set("pkgCacheFile::Generate", false);
  pkgSourceList* list = mapped->GetSourceList();
  bool valid =
      list != nullptr && !_error->PendingError() &&
      list->GetVolatileFiles().empty() &&
      list->GetLastModifiedTime() <= before->mtime.tv_sec &&
      mapped->BuildCaches(nullptr, /*WithLock=*/false) &&
      !_error->PendingError() && IdOf(file) == before &&
      CacheMatchesFiles(*mapped->GetPkgCache(), *list, before->mtime.tv_sec) &&
      !_error->PendingError();
  // Nothing after this may map or write a cache file.
  _config->Set("Dir::Cache::pkgcache", "");
  _config->Set("pkgCacheFile::Generate", true);
  _error->RevertToStack();
  if (valid) *cache = std::move(mapped);
  return valid;
}

// Builds `cache` for the configured root: apt's own binary cache when it
// is valid, else in memory with the index languages off (translations are
// no part of the facts). Errors are left on _error.
bool BuildCache(const std::string& apt_cache,
                std::unique_ptr<pkgCacheFile>* cache, bool* from_apt_cache) {
  *from_apt_cache = OpenValidAptCache(apt_cache, cache);
  if (!*from_apt_cache) {
    _config->Set("Acquire::Languages", "none");
    APT::Configuration::getLanguages(true, false);
    *cache = std::make_unique<pkgCacheFile>();
  }
  return (*cache)->BuildCaches(nullptr, /*WithLock=*/false) &&
         (*cache)->BuildPolicy(nullptr) && (*cache)->BuildDepCache(nullptr);
}

}  // namespace

bool IsSecurityPocket(std::string_view label, std::string_view archive,
                      std::string_view codename) {
  return label == "Debian-Security" || EndsWith(archive, "-security") ||
         EndsWith(codename, "-security");
}

bool LibAptErrorStackIsEmpty() {
  std::lock_guard<std::mutex> lock(AptMutex());
  return _error->empty(GlobalError::DEBUG);
}

AptInputs LibAptCache::Inputs(const fs::path& root) const {
  std::lock_guard<std::mutex> lock(AptMutex());
  AptInputs inputs;
  if (const char* apt_config = ::getenv("APT_CONFIG"); apt_config != nullptr) {
    inputs.files.emplace_back(apt_config);
  }
  _error->PushToStack();
  if (ConfigureFor(root)) {
    for (const char* key :
         {"Dir::State::status", "Dir::State::extended_states",
          "Dir::Etc::sourcelist", "Dir::Etc::preferences", "Dir::Etc::main"}) {
      inputs.files.push_back(_config->FindFile(key));
    }
    for (const char* key : {"Dir::State::lists", "Dir::Etc::sourceparts",
                            "Dir::Etc::preferencesparts", "Dir::Etc::parts"}) {
      inputs.directories.push_back(_config->FindDir(key));
    }
  }
  // The configuration could not be read: the probe's own inputs (the
  // standard configuration paths) still say when that changes.
  _error->RevertToStack();
  return inputs;
}

AptState LibAptCache::Read(const fs::path& root) const {
  std::lock_guard<std::mutex> lock(AptMutex());
  AptState state;
  // Messages of this read are ours alone and never outlive it.
  _error->PushToStack();
  std::string apt_cache_file;
  bool configured = ConfigureFor(root, &apt_cache_file);
  if (apt_cache_override_) apt_cache_file = *apt_cache_override_;
  if (!configured) {
    state.error = TakeErrors();
    _error->RevertToStack();
    return state;
  }
  state.config_read = true;
  state.periodic_update_package_lists =
      _config->Find("APT::Periodic::Update-Package-Lists");
  state.periodic_unattended_upgrade =
      _config->Find("APT::Periodic::Unattended-Upgrade");
  {
    std::unique_ptr<pkgCacheFile> cache;
    if (BuildCache(apt_cache_file, &cache, &state.from_apt_cache) &&
        !_error->PendingError()) {
      std::vector<AptUpgrade> upgrades = Upgrades(*cache);
      if (!_error->PendingError()) {
        state.cache_ok = true;
        state.upgrades = std::move(upgrades);
      }
    }
    if (!state.cache_ok) {
      state.error = TakeErrors();
      if (state.error.empty())
        state.error = "libapt-pkg could not build the cache";
    }
  }
  _error->RevertToStack();
  return state;
}

}  // namespace evidentia::agent
