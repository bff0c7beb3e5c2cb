// The kernel-version extraction of linux.os_patching on any input: line 1
// is taken as the running release, line 2 as its build string (uname -v),
// the rest as "package version" lines of installed packages. Exercises
// KernelPackageVersionFromUname, KernelReleaseOfPackage, JudgeKernel (and
// libapt-pkg's version comparison under it) and PeriodicIntervalEnabled.
#include <map>
#include <string>

#include "agent/linux/probes/os_patching_probe.h"
#include "agent/linux/sys/text.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::agent;
  std::string_view text = evidentia::fuzz::AsText(data, size);
  std::vector<std::string_view> lines = SplitLines(text);
  RunningKernel running;
  if (!lines.empty()) running.release = std::string(lines[0]);
  if (lines.size() > 1) running.version = std::string(lines[1]);

  std::string version = KernelPackageVersionFromUname(text);
  evidentia::fuzz::Require(version.empty() || IsAsciiDigit(version[0]),
                           "a kernel package version starts with a digit");
  evidentia::fuzz::Require(version.size() <= 256, "version at most 256 bytes");
  PeriodicIntervalEnabled(text);

  std::map<std::string, std::string> installed;
  for (size_t i = 2; i < lines.size() && i < 66; ++i) {
    std::vector<std::string_view> words = Words(lines[i]);
    if (words.size() != 2) continue;
    std::optional<std::string> release = KernelReleaseOfPackage(words[0]);
    evidentia::fuzz::Require(!release || IsAsciiDigit((*release)[0]),
                             "a kernel release starts with a digit");
    installed[std::string(words[0])] = std::string(words[1]);
  }
  KernelJudgement judgement = JudgeKernel(running, installed);
  evidentia::fuzz::Require(
      judgement.newest_release.empty() || installed.size() > 0,
      "a newest kernel comes from an installed package");
  evidentia::fuzz::Require(
      !judgement.reboot_pending || !judgement.newest_release.empty(),
      "a pending reboot needs a newest kernel");
  return 0;
}
