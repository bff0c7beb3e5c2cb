// linux.backup on this machine (root "/") against what dpkg-query, the
// shell and grep say about the same files.
#include <set>
#include <sstream>
#include <string>

#include "agent/linux/probes/backup_probe.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/shell.h"

namespace evidentia::agent {
namespace {

using ::testing::IsEmpty;

// The known tools' packages, executables and the words grep looks for.
constexpr const char* kPackages =
    "restic borgbackup borgmatic duplicity duply deja-dup bacula-fd "
    "bacula-client bareos-filedaemon urbackup-client rsnapshot timeshift "
    "veeam veeam-nosnap";
constexpr const char* kExecutables =
    "restic borg borgmatic duplicity duply deja-dup bacula-fd bareos-fd "
    "urbackupclientbackend urbackupclientctl rsnapshot timeshift veeamconfig";

// Standard output of `command` (its exit status ignored: dpkg-query and
// grep exit 1 when they find nothing).
std::string RunShell(const std::string& command) {
  return ::evidentia::testing::Shell(command).out;
}

std::set<std::string> Lines(const std::string& text) {
  std::set<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) lines.insert(line);
  }
  return lines;
}

v1::BackupFacts CollectHere() {
  absl::StatusOr<v1::Facts> facts = BackupProbe().Collect("/");
  EXPECT_TRUE(facts.ok()) << facts.status();
  return facts.ok() ? facts->backup() : v1::BackupFacts();
}

TEST(BackupRealTest, InstalledPackagesMatchDpkgQuery) {
  std::set<std::string> expected;
  for (const std::string& line : Lines(
           RunShell(std::string("dpkg-query -W -f '${Package} ${Status}\\n' ") +
                    kPackages + " 2>/dev/null"))) {
    // "restic install ok installed"
    size_t space = line.find(' ');
    if (line.substr(space + 1) == "install ok installed") {
      expected.insert(line.substr(0, space));
    }
  }
  const v1::BackupFacts facts = CollectHere();
  std::set<std::string> found;
  for (const v1::BackupTool& tool : facts.tools()) {
    for (const v1::BackupPackage& package : tool.packages()) {
      found.insert(package.name());
    }
  }
  EXPECT_EQ(found, expected);
}

TEST(BackupRealTest, BinariesMatchShell) {
  std::string script = std::string("for e in ") + kExecutables +
                       "; do for d in /usr/bin /usr/sbin /usr/local/bin "
                       "/usr/local/sbin /opt /opt/* /opt/*/bin; do "
                       "[ -f \"$d/$e\" ] && [ -x \"$d/$e\" ] && "
                       "echo \"$d/$e\"; done; done";
  std::set<std::string> expected = Lines(RunShell(script));
  const v1::BackupFacts facts = CollectHere();
  std::set<std::string> found;
  for (const v1::BackupTool& tool : facts.tools()) {
    found.insert(tool.binaries().begin(), tool.binaries().end());
  }
  EXPECT_EQ(found, expected);
}

TEST(BackupRealTest, SchedulesOnlyWhereGrepFindsATool) {
  std::set<std::string> files = Lines(RunShell(
      "grep -rlwE "
      "'restic|borg|borgmatic|duplicity|duply|deja-dup|rsnapshot|"
      "timeshift|veeamconfig|urbackupclientctl' /etc/crontab /etc/cron.d "
      "/etc/cron.hourly /etc/cron.daily /etc/cron.weekly "
      "/etc/cron.monthly /var/spool/cron/crontabs /etc/systemd/system "
      "/usr/local/lib/systemd/system /usr/lib/systemd/system "
      "/lib/systemd/system /usr/local/bin /usr/local/sbin 2>/dev/null"));
  v1::BackupFacts facts = CollectHere();
  if (files.empty()) {
    // No file names a tool: the probe must find no schedule.
    EXPECT_THAT(facts.schedules(), IsEmpty());
  }
  for (const v1::BackupSchedule& schedule : facts.schedules()) {
    if (schedule.kind() == v1::BACKUP_SCHEDULE_KIND_SYSTEMD_TIMER) {
      // The tool is named in the service or a script it runs, not the timer.
      EXPECT_FALSE(files.empty()) << schedule.source();
    } else if (schedule.kind() == v1::BACKUP_SCHEDULE_KIND_CRONTAB) {
      EXPECT_EQ(files.count(schedule.source()), 1u) << schedule.source();
    }
  }
}

TEST(BackupRealTest, NoToolWithoutPackageBinaryOrSchedule) {
  const v1::BackupFacts facts = CollectHere();
  for (const v1::BackupTool& tool : facts.tools()) {
    EXPECT_TRUE(tool.packages_size() > 0 || tool.binaries_size() > 0 ||
                tool.scheduled())
        << tool.id();
  }
}

TEST(BackupRealTest, TwoCollectionsAreIdentical) {
  absl::StatusOr<v1::Facts> a = BackupProbe().Collect("/");
  absl::StatusOr<v1::Facts> b = BackupProbe().Collect("/");
  ASSERT_TRUE(a.ok() && b.ok());
  std::string bytes_a, bytes_b;
  ASSERT_TRUE(a->SerializeToString(&bytes_a));
  ASSERT_TRUE(b->SerializeToString(&bytes_b));
  EXPECT_EQ(bytes_a, bytes_b);
}

}  // namespace
}  // namespace evidentia::agent
