#include "agent/linux/probes/os_patching_probe.h"

#include <apt-pkg/debversion.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include <algorithm>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "agent/linux/sys/dpkg.h"
#include "agent/linux/sys/os_release.h"
#include "agent/linux/sys/rooted_fs.h"
#include "agent/linux/sys/rooted_stat.h"
#include "agent/linux/sys/text.h"
#include "agent/linux/sys/utf8.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxRebootPkgsBytes = 1 << 20;
constexpr size_t kMaxRebootPkgs = 1024;
constexpr size_t kMaxPackageNameBytes = 256;
constexpr size_t kMaxListFiles = 4096;
constexpr size_t kMaxVersionBytes = 256;

// Files whose mtime says when the package lists were last updated: the
// stamps of a successful `apt-get update` (update-notifier's Post-Invoke
// hook on Ubuntu; apt's daily job).
constexpr std::string_view kUpdateStamps[] = {
    "var/lib/apt/periodic/update-success-stamp",
    "var/lib/apt/periodic/update-stamp",
};
constexpr std::string_view kListsDir = "var/lib/apt/lists";

// A character of a Debian package name (Policy 5.6.1), or ':' of an
// architecture-qualified one.
bool IsPackageNameChar(char c) {
  return IsAsciiDigit(c) || (c >= 'a' && c <= 'z') || c == '+' || c == '-' ||
         c == '.' || c == ':';
}

// A character of a Debian version (Policy 5.6.12).
bool IsVersionChar(char c) {
  return IsAsciiAlnum(c) || c == '.' || c == '+' || c == '-' || c == '~' ||
         c == ':';
}

int CompareVersions(const std::string& a, const std::string& b) {
  return debVS.CmpVersion(a, b);
}

// The newest evidence of a package-list update: the update stamps and the
// lists' Release files, whichever is newest.
void SetListsUpdated(const fs::path& root, v1::OsPatchingFacts* out) {
  int64_t newest = 0;
  std::string source;
  auto consider = [&](std::string_view path) {
    std::optional<int64_t> mtime = RootedMtime(root, path);
    if (mtime && *mtime > newest) {
      newest = *mtime;
      source = std::string(path);
    }
  };
  for (std::string_view stamp : kUpdateStamps) consider(stamp);
  for (const std::string& name :
       ListRootedDir(root, kListsDir, kMaxListFiles)) {
    if (EndsWith(name, "_Release") || EndsWith(name, "_InRelease")) {
      consider(Cat(kListsDir, "/", name));
    }
  }
  out->set_package_lists_updated_unix(newest);
  out->set_package_lists_updated_source(source);
}

absl::Status SetOsRelease(const fs::path& root, v1::OsPatchingFacts* out) {
  absl::StatusOr<std::map<std::string, std::string>> values =
      ReadOsRelease(root);
  if (!values.ok()) return values.status();
  out->set_os_id((*values)["ID"]);
  out->set_os_version_id((*values)["VERSION_ID"]);
  out->set_os_version_codename((*values)["VERSION_CODENAME"]);
  out->set_os_pretty_name((*values)["PRETTY_NAME"]);
  return absl::OkStatus();
}

void SetApt(const AptState& apt, v1::OsPatchingFacts* out) {
  out->set_periodic_update_package_lists(apt.periodic_update_package_lists);
  out->set_periodic_unattended_upgrade(apt.periodic_unattended_upgrade);
  out->set_apt_cache_ok(apt.cache_ok);
  out->set_apt_error(apt.error);
  if (!apt.cache_ok) return;
  uint32_t kept_back = 0;
  for (const AptUpgrade& upgrade : apt.upgrades) {
    if (upgrade.kept_back) ++kept_back;
    if (!upgrade.security) continue;
    v1::PendingUpgrade* pending = out->add_security_upgrades();
    pending->set_package(upgrade.package);
    pending->set_architecture(upgrade.architecture);
    pending->set_installed_version(upgrade.installed_version);
    pending->set_candidate_version(upgrade.candidate_version);
    pending->set_origin(upgrade.origin);
    pending->set_label(upgrade.label);
    pending->set_archive(upgrade.archive);
    pending->set_codename(upgrade.codename);
    pending->set_kept_back(upgrade.kept_back);
  }
  out->set_pending_upgrades(static_cast<uint32_t>(apt.upgrades.size()));
  out->set_pending_upgrades_kept_back(kept_back);
  // AptCache promises this order; keep the facts stable whatever it does.
  std::sort(out->mutable_security_upgrades()->begin(),
            out->mutable_security_upgrades()->end(),
            [](const v1::PendingUpgrade& a, const v1::PendingUpgrade& b) {
              return std::tie(a.package(), a.architecture()) <
                     std::tie(b.package(), b.architecture());
            });
}

}  // namespace

RunningKernel UnameKernelSource::Running() const {
  struct utsname uts {};
  if (::uname(&uts) != 0) return {};
  return RunningKernel{uts.release, uts.version};
}

std::vector<std::string> ParseRebootRequiredPkgs(std::string_view text) {
  std::set<std::string> names;
  for (std::string_view line : SplitLines(text)) {
    line = Trim(line);
    if (line.empty() || line.size() > kMaxPackageNameBytes) continue;
    if (!std::all_of(line.begin(), line.end(), IsPackageNameChar)) continue;
    if (names.size() >= kMaxRebootPkgs && names.count(std::string(line)) == 0) {
      continue;
    }
    names.emplace(line);
  }
  return std::vector<std::string>(names.begin(), names.end());
}

std::string KernelPackageVersionFromUname(std::string_view uname_version) {
  constexpr std::string_view kMarker = "Debian ";
  size_t at = uname_version.find(kMarker);
  while (at != std::string_view::npos) {
    std::string_view rest = uname_version.substr(at + kMarker.size());
    size_t end = 0;
    while (end < rest.size() && end < kMaxVersionBytes &&
           IsVersionChar(rest[end])) {
      ++end;
    }
    std::string_view version = rest.substr(0, end);
    bool delimited = end == rest.size() || IsAsciiSpace(rest[end]);
    if (!version.empty() && IsAsciiDigit(version[0]) && delimited) {
      return std::string(version);
    }
    at = uname_version.find(kMarker, at + 1);
  }
  return "";
}

std::optional<std::string> KernelReleaseOfPackage(std::string_view package) {
  constexpr std::string_view kImage = "linux-image-";
  constexpr std::string_view kUnsigned = "unsigned-";
  constexpr std::string_view kUnsignedSuffix = "-unsigned";
  if (!StartsWith(package, kImage)) return std::nullopt;
  std::string_view release = package.substr(kImage.size());
  if (StartsWith(release, kUnsigned)) {
    release.remove_prefix(kUnsigned.size());
  } else if (EndsWith(release, kUnsignedSuffix)) {
    release.remove_suffix(kUnsignedSuffix.size());
  }
  if (release.empty() || !IsAsciiDigit(release[0]) ||
      EndsWith(release, "-dbg") || EndsWith(release, "-dbgsym")) {
    return std::nullopt;
  }
  if (!std::all_of(release.begin(), release.end(), IsPackageNameChar)) {
    return std::nullopt;
  }
  return std::string(release);
}

bool PeriodicIntervalEnabled(std::string_view value) {
  value = Trim(value);
  if (value == "always") return true;
  if (!value.empty() && (value.back() == 's' || value.back() == 'm' ||
                         value.back() == 'h' || value.back() == 'd')) {
    value.remove_suffix(1);
  }
  std::optional<uint64_t> number = ParseDecimal<uint64_t>(value);
  return number.has_value() && *number > 0;
}

KernelJudgement JudgeKernel(
    const RunningKernel& running,
    const std::map<std::string, std::string>& installed) {
  KernelJudgement judgement;
  std::string running_package_version;  // of the running release's package
  for (const auto& [name, version] : installed) {
    std::optional<std::string> release = KernelReleaseOfPackage(name);
    if (!release) continue;
    if (*release == running.release &&
        (running_package_version.empty() ||
         CompareVersions(version, running_package_version) > 0)) {
      running_package_version = version;
    }
    int order = judgement.newest_version.empty()
                    ? 1
                    : CompareVersions(version, judgement.newest_version);
    if (order > 0 || (order == 0 && *release > judgement.newest_release)) {
      judgement.newest_release = *release;
      judgement.newest_version = version;
    }
  }
  if (judgement.newest_release.empty()) return judgement;
  if (!running_package_version.empty()) {
    std::string booted = KernelPackageVersionFromUname(running.version);
    judgement.reboot_pending =
        CompareVersions(judgement.newest_version, running_package_version) >
            0 ||
        (!booted.empty() &&
         CompareVersions(running_package_version, booted) > 0);
  } else if (!running.release.empty()) {
    judgement.reboot_pending =
        CompareVersions(judgement.newest_release, running.release) > 0;
  }
  return judgement;
}

InputSet OsPatchingStandardInputs() {
  InputSet inputs;
  inputs.files = {
      "etc/os-release",
      "usr/lib/os-release",
      "var/lib/dpkg/status",
      "var/lib/dpkg/arch",
      "var/lib/apt/extended_states",
      "etc/apt/sources.list",
      "etc/apt/preferences",
      "etc/apt/apt.conf",
      "var/run/reboot-required",
      "var/run/reboot-required.pkgs",
  };
  for (std::string_view stamp : kUpdateStamps) inputs.files.emplace_back(stamp);
  inputs.directories = {
      std::string(kListsDir),
      "etc/apt/sources.list.d",
      "etc/apt/preferences.d",
      "etc/apt/apt.conf.d",
  };
  return inputs;
}

OsPatchingProbe::OsPatchingProbe()
    : OsPatchingProbe(std::make_unique<LibAptCache>(),
                      std::make_unique<UnameKernelSource>(),
                      &OsPatchingMemo::Process()) {}

OsPatchingProbe::OsPatchingProbe(std::unique_ptr<AptCache> apt,
                                 std::unique_ptr<KernelSource> kernel,
                                 OsPatchingMemo* memo)
    : apt_(std::move(apt)), kernel_(std::move(kernel)), memo_(memo) {}

absl::StatusOr<v1::Facts> OsPatchingProbe::Collect(const fs::path& root) const {
  RunningKernel running = kernel_->Running();
  if (memo_ == nullptr) return CollectUncached(root, running);
  InputSet inputs = OsPatchingStandardInputs();
  AptInputs apt = apt_->Inputs(root);
  inputs.host_files = std::move(apt.files);
  inputs.host_directories = std::move(apt.directories);
  inputs.values = {running.release, running.version};
  return memo_->GetOrCompute(root, inputs,
                             [&] { return CollectUncached(root, running); });
}

absl::StatusOr<v1::Facts> OsPatchingProbe::CollectUncached(
    const fs::path& root, const RunningKernel& running) const {
  v1::Facts facts;
  v1::OsPatchingFacts* out = facts.mutable_os_patching();

  if (absl::Status status = SetOsRelease(root, out); !status.ok()) {
    return status;
  }

  absl::StatusOr<PackageDatabase> database = ReadPackageDatabase(root);
  if (!database.ok()) return database.status();
  const std::map<std::string, std::string>& packages = database->installed;
  out->set_dpkg_present(database->present);
  if (database->present) {
    SetApt(apt_->Read(root), out);
  } else {
    out->set_apt_error("no dpkg database (var/lib/dpkg/status)");
  }
  SetListsUpdated(root, out);

  out->set_unattended_upgrades_installed(packages.count("unattended-upgrades") >
                                         0);
  out->set_unattended_upgrades_enabled(
      out->unattended_upgrades_installed() &&
      PeriodicIntervalEnabled(out->periodic_update_package_lists()) &&
      PeriodicIntervalEnabled(out->periodic_unattended_upgrade()));

  out->set_reboot_required(RootedExists(root, "var/run/reboot-required"));
  absl::StatusOr<std::string> pkgs =
      ReadRootedFile(root, "var/run/reboot-required.pkgs", kMaxRebootPkgsBytes);
  if (pkgs.ok()) {
    for (std::string& name : ParseRebootRequiredPkgs(*pkgs)) {
      out->add_reboot_required_packages(std::move(name));
    }
  }

  out->set_running_kernel_release(running.release);
  out->set_running_kernel_version(
      KernelPackageVersionFromUname(running.version));
  KernelJudgement kernel = JudgeKernel(running, packages);
  out->set_newest_kernel_release(kernel.newest_release);
  out->set_newest_kernel_version(kernel.newest_version);
  out->set_kernel_reboot_pending(kernel.reboot_pending);

  MakeStringsValidUtf8(&facts);
  return facts;
}

}  // namespace evidentia::agent
