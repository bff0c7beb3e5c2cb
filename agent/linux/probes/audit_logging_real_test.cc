// linux.audit_logging on this machine (root "/", the real kernel over
// netlink) compared with what `journalctl --header` and `auditctl -s` and
// dpkg-query report on the same machine.
#include <stdio.h>
#include <sys/wait.h>

#include <array>
#include <optional>
#include <sstream>
#include <string>

#include "agent/linux/probes/audit_logging_probe.h"
#include "gtest/gtest.h"

namespace evidentia::agent {
namespace {

struct CommandResult {
  bool ran = false;  // the shell found the command (exit status not 127)
  int exit_status = -1;
  std::string output;  // stdout and stderr
};

CommandResult RunCommand(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer;
  size_t got;
  while ((got = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
    result.output.append(buffer.data(), got);
  }
  int status = pclose(pipe);
  result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.ran = result.exit_status != 127;
  return result;
}

// The number after "key " on a line of auditctl -s.
std::optional<uint32_t> AuditctlValue(const std::string& output,
                                      const std::string& key) {
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(key + " ", 0) != 0) continue;
    std::istringstream value(line.substr(key.size() + 1));
    uint32_t number;
    if (value >> number) return number;
  }
  return std::nullopt;
}

const v1::AuditLoggingFacts& Facts() {
  static const v1::AuditLoggingFacts* const facts = [] {
    absl::StatusOr<v1::Facts> collected = AuditLoggingProbe().Collect("/");
    EXPECT_TRUE(collected.ok()) << collected.status();
    return new v1::AuditLoggingFacts(collected.ok() ? collected->audit_logging()
                                                    : v1::AuditLoggingFacts());
  }();
  return *facts;
}

TEST(AuditLoggingRealTest, TwoCollectionsGiveIdenticalBytes) {
  absl::StatusOr<v1::Facts> first = AuditLoggingProbe().Collect("/");
  absl::StatusOr<v1::Facts> second = AuditLoggingProbe().Collect("/");
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(first->SerializeAsString(), second->SerializeAsString());
}

TEST(AuditLoggingRealTest, PersistentJournalFilesMatchJournalctl) {
  CommandResult journalctl = RunCommand("journalctl --merge --header");
  // journalctl ships in the systemd package, which is what makes journald
  // installed (with its binary).
  EXPECT_EQ(Facts().journald().installed(), journalctl.ran)
      << journalctl.output;
  if (!journalctl.ran) return;
  if (journalctl.output.find("No journal files were found.") !=
      std::string::npos) {
    EXPECT_EQ(Facts().journald().persistent_journal_files(), 0u);
    return;
  }
  uint32_t persistent = 0;
  std::istringstream lines(journalctl.output);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.find("File path: /var/log/journal/") != std::string::npos) {
      ++persistent;
    }
  }
  EXPECT_EQ(Facts().journald().persistent_journal_files(), persistent)
      << journalctl.output;
}

TEST(AuditLoggingRealTest, KernelAuditStatusMatchesAuditctl) {
  CommandResult auditctl = RunCommand("auditctl -s");
  const v1::KernelAuditStatus& kernel = Facts().auditd().kernel();
  if (!auditctl.ran) {
    // No auditctl: auditd (which ships it) is not installed.
    EXPECT_FALSE(Facts().auditd().installed());
    return;
  }
  if (auditctl.exit_status != 0) {
    // auditctl could not ask either; the probe must say why the same way.
    if (auditctl.output.find("Operation not permitted") != std::string::npos) {
      EXPECT_EQ(kernel.query(), v1::KERNEL_AUDIT_QUERY_PERMISSION_DENIED)
          << auditctl.output;
    } else if (auditctl.output.find("Connection refused") !=
                   std::string::npos ||
               auditctl.output.find("Protocol not supported") !=
                   std::string::npos) {
      EXPECT_EQ(kernel.query(), v1::KERNEL_AUDIT_QUERY_UNSUPPORTED)
          << auditctl.output;
    } else {
      EXPECT_NE(kernel.query(), v1::KERNEL_AUDIT_QUERY_OK) << auditctl.output;
    }
    return;
  }
  ASSERT_EQ(kernel.query(), v1::KERNEL_AUDIT_QUERY_OK) << kernel.error();
  std::optional<uint32_t> enabled = AuditctlValue(auditctl.output, "enabled");
  std::optional<uint32_t> failure = AuditctlValue(auditctl.output, "failure");
  std::optional<uint32_t> backlog_limit =
      AuditctlValue(auditctl.output, "backlog_limit");
  std::optional<uint32_t> pid = AuditctlValue(auditctl.output, "pid");
  ASSERT_TRUE(enabled && failure && backlog_limit && pid) << auditctl.output;
  EXPECT_EQ(static_cast<int>(kernel.enabled()),
            static_cast<int>(v1::KERNEL_AUDIT_ENABLED_DISABLED) +
                static_cast<int>(*enabled))
      << auditctl.output;
  EXPECT_EQ(static_cast<int>(kernel.failure_mode()),
            static_cast<int>(v1::KERNEL_AUDIT_FAILURE_MODE_SILENT) +
                static_cast<int>(*failure))
      << auditctl.output;
  EXPECT_EQ(kernel.backlog_limit(), *backlog_limit);
  EXPECT_EQ(kernel.daemon_registered(), *pid != 0);
}

TEST(AuditLoggingRealTest, AuditdPackageMatchesDpkgQuery) {
  CommandResult dpkg = RunCommand("dpkg-query -W -f='${Status}' auditd");
  bool installed =
      dpkg.exit_status == 0 &&
      dpkg.output.find("install ok installed") != std::string::npos;
  EXPECT_EQ(Facts().auditd().installed(), installed) << dpkg.output;
}

}  // namespace
}  // namespace evidentia::agent
