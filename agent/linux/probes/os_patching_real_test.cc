// linux.os_patching on this machine (root "/"), compared with apt's own
// tools run by the test: `apt-get -s upgrade` (what it would install, which
// of it from a security pocket, what it keeps back), `apt-config` (the
// APT::Periodic settings) and `dpkg-query` (unattended-upgrades installed).
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "agent/linux/probes/os_patching_apt.h"
#include "agent/linux/probes/os_patching_probe.h"
#include "agent/linux/sys/text.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace evidentia::agent {
namespace {

// Standard output of `command` (run by /bin/sh, C locale).
std::string RunCommand(const std::string& command) {
  std::string out;
  std::FILE* pipe = ::popen(("LC_ALL=C " + command).c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "cannot run " << command;
    return out;
  }
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) {
    out.append(buffer, n);
  }
  int status = ::pclose(pipe);
  EXPECT_EQ(status, 0) << command;
  return out;
}

bool MentionsSecurity(std::string_view line) {
  std::string lower(line);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return lower.find("-security") != std::string::npos;
}

// What `apt-get -s upgrade` says.
struct AptGetUpgrade {
  std::set<std::string> installs;           // "Inst NAME ..." lines
  std::set<std::string> security_installs;  // of those, from a -security pocket
  std::set<std::string> kept_back;
};

AptGetUpgrade SimulateUpgrade() {
  AptGetUpgrade result;
  std::string text =
      RunCommand("apt-get -s -o Debug::NoLocking=1 upgrade 2>/dev/null");
  bool in_kept_back = false;
  for (std::string_view line : SplitLines(text)) {
    if (StartsWith(line, "The following packages have been kept back:")) {
      in_kept_back = true;
      continue;
    }
    if (in_kept_back) {
      if (!StartsWith(line, " ")) {
        in_kept_back = false;
      } else {
        for (std::string_view name : Words(line))
          result.kept_back.emplace(name);
        continue;
      }
    }
    if (!StartsWith(line, "Inst ")) continue;
    std::vector<std::string_view> words = Words(line);
    std::string name(words.at(1));
    name = name.substr(0, name.find(':'));  // "libc6:i386" -> "libc6"
    result.installs.insert(name);
    if (MentionsSecurity(line)) result.security_installs.insert(name);
  }
  return result;
}

double ProcessCpuMs() {
  timespec now{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return now.tv_sec * 1e3 + now.tv_nsec / 1e6;
}

TEST(OsPatchingRealMachineTest, AgreesWithAptGetUpgradeSimulation) {
  OsPatchingMemo::Process().Clear();
  OsPatchingProbe probe;
  double start = ProcessCpuMs();
  absl::StatusOr<v1::Facts> facts = probe.Collect("/");
  double cold_ms = ProcessCpuMs() - start;
  start = ProcessCpuMs();
  absl::StatusOr<v1::Facts> warm = probe.Collect("/");
  double warm_ms = ProcessCpuMs() - start;
  ASSERT_TRUE(facts.ok()) << facts.status();
  ASSERT_TRUE(warm.ok()) << warm.status();
  const v1::OsPatchingFacts& f = facts->os_patching();
  std::cout << "[ measure  ] linux.os_patching: a cold collection took "
            << cold_ms << " ms of CPU, a memoised one " << warm_ms << " ms; "
            << f.pending_upgrades() << " pending upgrades, "
            << f.security_upgrades_size() << " security, "
            << f.pending_upgrades_kept_back() << " kept back\n";
  EXPECT_EQ(warm->SerializeAsString(), facts->SerializeAsString());

  ASSERT_TRUE(f.dpkg_present());
  ASSERT_TRUE(f.apt_cache_ok()) << f.apt_error();
  AptGetUpgrade apt_get = SimulateUpgrade();

  std::set<std::string> security_installs, security_kept_back;
  for (const v1::PendingUpgrade& u : f.security_upgrades()) {
    (u.kept_back() ? security_kept_back : security_installs)
        .insert(u.package());
  }
  EXPECT_EQ(f.pending_upgrades() - f.pending_upgrades_kept_back(),
            apt_get.installs.size());
  EXPECT_EQ(f.pending_upgrades_kept_back(), apt_get.kept_back.size());
  EXPECT_EQ(security_installs, apt_get.security_installs);
  for (const std::string& name : security_kept_back) {
    EXPECT_EQ(apt_get.kept_back.count(name), 1u) << name;
  }
}

TEST(OsPatchingRealMachineTest, AgreesWithAptConfigAndDpkgQuery) {
  absl::StatusOr<v1::Facts> facts = OsPatchingProbe().Collect("/");
  ASSERT_TRUE(facts.ok()) << facts.status();
  const v1::OsPatchingFacts& f = facts->os_patching();
  // apt-config prints nothing for an unset key.
  EXPECT_EQ(
      f.periodic_update_package_lists(),
      std::string(Trim(RunCommand("apt-config dump --no-empty --format '%v' "
                                  "APT::Periodic::Update-Package-Lists"))));
  EXPECT_EQ(
      f.periodic_unattended_upgrade(),
      std::string(Trim(RunCommand("apt-config dump --no-empty --format '%v' "
                                  "APT::Periodic::Unattended-Upgrade"))));
  std::string status = RunCommand(
      "dpkg-query -W -f '${db:Status-Status}' unattended-upgrades 2>/dev/null "
      "|| true");
  EXPECT_EQ(f.unattended_upgrades_installed(), status == "installed");
  struct stat st {};
  EXPECT_EQ(f.reboot_required(), ::stat("/var/run/reboot-required", &st) == 0);
  EXPECT_EQ(f.running_kernel_release(),
            std::string(Trim(RunCommand("uname -r"))));
}

TEST(OsPatchingRealMachineTest, TwoCollectionsGiveIdenticalBytes) {
  OsPatchingProbe probe;
  absl::StatusOr<v1::Facts> first = probe.Collect("/");
  absl::StatusOr<v1::Facts> second = probe.Collect("/");
  ASSERT_TRUE(first.ok() && second.ok());
  std::string a, b;
  ASSERT_TRUE(first->SerializeToString(&a));
  ASSERT_TRUE(second->SerializeToString(&b));
  EXPECT_EQ(a, b);
}

TEST(OsPatchingRealMachineTest, MemoisedFactsAreTheFactsReadNow) {
  OsPatchingProbe memoised;
  absl::StatusOr<v1::Facts> kept = memoised.Collect("/");
  kept = memoised.Collect("/");
  OsPatchingProbe unmemoised(std::make_unique<LibAptCache>(),
                             std::make_unique<UnameKernelSource>());
  absl::StatusOr<v1::Facts> fresh = unmemoised.Collect("/");
  ASSERT_TRUE(kept.ok() && fresh.ok());
  EXPECT_EQ(kept->SerializeAsString(), fresh->SerializeAsString());
}

// apt's own binary cache of this machine's lists and status, written by
// apt-get into a temporary directory (this host's configuration may keep
// none), read by LibAptCache read-only: the same upgrades as the cache built
// in memory, and the file untouched.
TEST(OsPatchingRealMachineTest, AptsOwnCacheGivesTheSameUpgrades) {
  std::string dir = ::testing::TempDir() + "os_patching_real_aptcache/";
  RunCommand("rm -rf " + dir + " && mkdir -p " + dir);
  RunCommand("apt-get -o Dir::Cache=" + dir +
             " -o Dir::Cache::pkgcache=pkgcache.bin"
             " -o Dir::Cache::srcpkgcache=srcpkgcache.bin"
             " -o Debug::NoLocking=1 check >/dev/null 2>&1");
  std::string bin = dir + "pkgcache.bin";
  struct stat before {};
  ASSERT_EQ(::stat(bin.c_str(), &before), 0);

  double start = ProcessCpuMs();
  AptState mapped = LibAptCache(bin).Read("/");
  double mapped_ms = ProcessCpuMs() - start;
  start = ProcessCpuMs();
  AptState built = LibAptCache("").Read("/");
  double built_ms = ProcessCpuMs() - start;
  std::cout << "[ measure  ] LibAptCache on this machine: "
            << (mapped.from_apt_cache ? "apt's valid cache, read-only, took "
                                      : "apt's cache not usable (files changed "
                                        "within a minute of it), took ")
            << mapped_ms << " ms of CPU; built in memory " << built_ms
            << " ms\n";
  ASSERT_TRUE(mapped.cache_ok) << mapped.error;
  ASSERT_TRUE(built.cache_ok) << built.error;
  EXPECT_FALSE(built.from_apt_cache);
  ASSERT_EQ(mapped.upgrades.size(), built.upgrades.size());
  for (size_t i = 0; i < built.upgrades.size(); ++i) {
    const AptUpgrade& a = mapped.upgrades[i];
    const AptUpgrade& b = built.upgrades[i];
    EXPECT_EQ(std::tie(a.package, a.architecture, a.installed_version,
                       a.candidate_version, a.origin, a.label, a.archive,
                       a.codename, a.security, a.kept_back),
              std::tie(b.package, b.architecture, b.installed_version,
                       b.candidate_version, b.origin, b.label, b.archive,
                       b.codename, b.security, b.kept_back))
        << b.package;
  }
  struct stat after {};
  ASSERT_EQ(::stat(bin.c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_EQ(after.st_size, before.st_size);
  EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
  EXPECT_EQ(after.st_ctim.tv_sec, before.st_ctim.tv_sec);
  EXPECT_EQ(after.st_ctim.tv_nsec, before.st_ctim.tv_nsec);
}

}  // namespace
}  // namespace evidentia::agent
