// linux.os_patching: whether the host takes its patches. Pending upgrades
// and pending security upgrades from the host's own APT cache (libapt-pkg,
// behind AptCache), the age of the last package-list update, whether
// unattended-upgrades is installed and switched on (APT::Periodic), whether
// a reboot is pending (reboot-required, or a running kernel older than the
// newest installed one) and the OS release. End-of-life dates are policy
// data (policies/checks/), not code.
// Facts: OsPatchingFacts.
#ifndef EVIDENTIA_AGENT_LINUX_PROBES_OS_PATCHING_PROBE_H_
#define EVIDENTIA_AGENT_LINUX_PROBES_OS_PATCHING_PROBE_H_

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/linux/probes/os_patching_apt.h"
#include "agent/linux/probes/os_patching_memo.h"
#include "agent/probe.h"
#include "evidentia/v1/facts.pb.h"
#include "evidentia/v1/facts/os_patching.pb.h"

namespace evidentia::agent {

// The running kernel, as uname(2) reports it.
struct RunningKernel {
  std::string release;  // utsname.release, e.g. "6.1.0-18-amd64"
  std::string version;  // utsname.version, e.g. "#1 SMP ... Debian 6.1.76-1
                        // (2024-02-01)"
};

// Where the probe learns the running kernel; a fake in fixture tests.
class KernelSource {
 public:
  virtual ~KernelSource() = default;
  virtual RunningKernel Running() const = 0;
};

// KernelSource over uname(2).
class UnameKernelSource : public KernelSource {
 public:
  RunningKernel Running() const override;
};

// What the installed kernel packages say about the running kernel.
struct KernelJudgement {
  std::string newest_release;  // "" when no kernel package is installed
  std::string newest_version;
  bool reboot_pending = false;
};

// Package names listed in /var/run/reboot-required.pkgs, one per line:
// trimmed, sorted, unique; blank lines and names with characters a Debian
// package name cannot hold are skipped; at most 1024 names.
std::vector<std::string> ParseRebootRequiredPkgs(std::string_view text);

// The Debian package version in a kernel's build string (uname -v), e.g.
// "6.1.76-1" from "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)";
// "" when the string names none (Ubuntu's "#101-Ubuntu SMP ...", custom
// kernels).
std::string KernelPackageVersionFromUname(std::string_view uname_version);

// The kernel release a kernel image package installs: "linux-image-RELEASE"
// (Debian, Ubuntu), "linux-image-RELEASE-unsigned" (Debian's unsigned
// build) or "linux-image-unsigned-RELEASE" (Ubuntu); RELEASE starts with a
// digit. nullopt for meta packages ("linux-image-amd64"), debug symbols
// ("...-dbg") and anything else.
std::optional<std::string> KernelReleaseOfPackage(std::string_view package);

// Whether an APT::Periodic interval switches its job on, as apt's daily
// job reads it: "always", or a whole number of days, optionally with a
// unit (s, m, h, d), above zero. "", "0" and anything else: off.
bool PeriodicIntervalEnabled(std::string_view value);

// The newest installed kernel package (highest package version, compared
// by libapt-pkg) and whether `running` is older: a newer kernel package is
// installed, or the running kernel's own package was upgraded in place
// (its version differs from the one in the build string). When the running
// release has no package (a custom kernel or a container's host kernel),
// the releases themselves are compared. `installed`: package -> version.
KernelJudgement JudgeKernel(
    const RunningKernel& running,
    const std::map<std::string, std::string>& installed);

// Everything OsPatchingProbe::Collect reads below a root, whatever the
// AptCache: os-release, dpkg's status and architectures, APT's sources,
// preferences, configuration, lists and extended states at their standard
// places, the update stamps and reboot-required{,.pkgs}.
InputSet OsPatchingStandardInputs();

class OsPatchingProbe : public Probe {
 public:
  // Reads the host's APT cache through libapt-pkg and uname(2), memoised in
  // OsPatchingMemo::Process().
  OsPatchingProbe();
  // For tests: the given sources instead, memoised in `memo` when it is not
  // null (it must outlive the probe).
  OsPatchingProbe(std::unique_ptr<AptCache> apt,
                  std::unique_ptr<KernelSource> kernel,
                  OsPatchingMemo* memo = nullptr);

  std::string_view id() const override { return "linux.os_patching"; }

  // Reads root/etc/os-release (else root/usr/lib/os-release),
  // root/var/lib/dpkg/status, the APT state below root (AptCache),
  // root/var/lib/apt/periodic/*-stamp and lists/*Release mtimes,
  // root/var/run/reboot-required{,.pkgs} and the running kernel. A host
  // without dpkg is a fact (dpkg_present false); errors are for files that
  // exist and cannot be read (e.g. PERMISSION_DENIED on the dpkg status).
  // With a memo, the facts of the last collection of `root` are returned
  // without reading anything but the inputs' metadata when none of them
  // (OsPatchingStandardInputs, AptCache::Inputs, the running kernel) has
  // changed since.
  absl::StatusOr<v1::Facts> Collect(
      const std::filesystem::path& root) const override;

 private:
  absl::StatusOr<v1::Facts> CollectUncached(const std::filesystem::path& root,
                                            const RunningKernel& running) const;

  std::unique_ptr<AptCache> apt_;
  std::unique_ptr<KernelSource> kernel_;
  OsPatchingMemo* memo_;
};

}  // namespace evidentia::agent

#endif  // EVIDENTIA_AGENT_LINUX_PROBES_OS_PATCHING_PROBE_H_
