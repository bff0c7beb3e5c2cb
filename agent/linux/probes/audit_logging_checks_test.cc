// The linux.audit_logging checks of policies/checks/ graded on fixture facts
// and on facts built here, with the real policies.
#include <filesystem>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "agent/linux/probes/audit_logging_probe.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/checks.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;
using ::evidentia::testing::EvaluateCheck;
using policy::Verdict;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

absl::Time Now() { return absl::FromUnixSeconds(1796300000); }

v1::Facts CollectFixture(const std::string& name, uint32_t kernel_enabled = 0) {
  KernelAuditReading reading;
  reading.enabled = kernel_enabled;
  reading.failure = 1;
  AuditLoggingProbe probe(std::make_unique<FakeKernelAuditSource>(reading));
  absl::StatusOr<v1::Facts> facts = probe.Collect(
      fs::path(EVIDENTIA_SOURCE_DIR) / "tests/fixtures/audit_logging" / name);
  EXPECT_TRUE(facts.ok()) << facts.status();
  return facts.ok() ? *facts : v1::Facts();
}

policy::CheckResult Grade(const std::string& check, const v1::Facts& facts) {
  return EvaluateCheck("linux.audit_logging." + check, facts, Now());
}

v1::Facts WithRetention(int32_t rotate, v1::LogRotationPeriod period,
                        uint32_t days, bool unlimited = false) {
  v1::Facts facts;
  v1::LogRetention* entry = facts.mutable_audit_logging()->add_log_retention();
  entry->set_path("/var/log/syslog");
  entry->set_config_file("/etc/logrotate.d/rsyslog");
  entry->set_rotate(rotate);
  entry->set_period(period);
  entry->set_retention_days(days);
  entry->set_retention_unlimited(unlimited);
  return facts;
}

// --- logs_persist ----------------------------------------------------------

TEST(AuditLoggingChecksTest, PersistFailsForAVolatileJournal) {
  policy::CheckResult result =
      Grade("logs_persist", CollectFixture("debian12_minimal"));
  EXPECT_EQ(result.verdict, Verdict::kFail);
  ASSERT_EQ(result.reasons.size(), 1u);
  EXPECT_EQ(result.reasons[0],
            "journald keeps logs only in memory (Storage=auto, "
            "/var/log/journal present: false) and no syslog daemon writes log "
            "files, so they are lost at reboot: set Storage=persistent in "
            "/etc/systemd/journald.conf and restart systemd-journald");
}

TEST(AuditLoggingChecksTest, PersistFailsForStorageNone) {
  v1::Facts facts = CollectFixture("persistent_journal");
  v1::JournaldState* journald =
      facts.mutable_audit_logging()->mutable_journald();
  journald->set_storage(v1::JOURNAL_STORAGE_NONE);
  journald->set_storage_setting("none");
  journald->set_storage_setting_file("/etc/systemd/journald.conf");
  facts.mutable_audit_logging()->set_logs_persistent(false);
  policy::CheckResult result = Grade("logs_persist", facts);
  EXPECT_EQ(result.verdict, Verdict::kFail);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("journald discards every log (Storage=none "
                                    "in /etc/systemd/journald.conf)")));
}

TEST(AuditLoggingChecksTest, PersistFailsWithNoLoggingDaemon) {
  policy::CheckResult result = Grade("logs_persist", CollectFixture("nothing"));
  EXPECT_EQ(result.verdict, Verdict::kFail);
  ASSERT_EQ(result.reasons.size(), 1u);
  EXPECT_THAT(result.reasons[0], HasSubstr("systemd-journald is not running"));
}

TEST(AuditLoggingChecksTest, PersistFailsWhenThePersistentJournaldIsStopped) {
  v1::Facts facts = CollectFixture("persistent_journal");
  facts.mutable_audit_logging()->mutable_journald()->set_running(false);
  facts.mutable_audit_logging()->set_logs_persistent(false);
  EXPECT_EQ(Grade("logs_persist", facts).verdict, Verdict::kFail);
}

TEST(AuditLoggingChecksTest, PersistPassesForAPersistentJournal) {
  policy::CheckResult result =
      Grade("logs_persist", CollectFixture("persistent_journal"));
  EXPECT_EQ(result.verdict, Verdict::kPass);
  EXPECT_THAT(result.reasons, IsEmpty());
}

TEST(AuditLoggingChecksTest, PersistPassesForASyslogDaemonWritingFiles) {
  EXPECT_EQ(Grade("logs_persist", CollectFixture("rsyslog_forwarding")).verdict,
            Verdict::kPass);
  EXPECT_EQ(
      Grade("logs_persist", CollectFixture("syslog_ng_forwarding")).verdict,
      Verdict::kPass);
}

// --- forwarded -------------------------------------------------------------

TEST(AuditLoggingChecksTest, ForwardedWarnsWhenNothingLeavesTheHost) {
  policy::CheckResult result =
      Grade("forwarded", CollectFixture("debian12_minimal"));
  EXPECT_EQ(result.verdict, Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("not forwarded off the host")));
}

TEST(AuditLoggingChecksTest, ForwardedNamesAStoppedForwarder) {
  v1::Facts facts = CollectFixture("rsyslog_forwarding");
  v1::AuditLoggingFacts* audit = facts.mutable_audit_logging();
  audit->mutable_log_daemons(0)->set_running(false);
  audit->set_logs_forwarded(false);
  policy::CheckResult result = Grade("forwarded", facts);
  EXPECT_EQ(result.verdict, Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("not forwarded off the host"),
                          HasSubstr("rsyslog is configured to forward logs but "
                                    "is not running")));
}

TEST(AuditLoggingChecksTest, ForwardedPassesForEveryForwarder) {
  for (const char* name :
       {"rsyslog_forwarding", "syslog_ng_forwarding", "persistent_journal"}) {
    policy::CheckResult result = Grade("forwarded", CollectFixture(name));
    EXPECT_EQ(result.verdict, Verdict::kPass) << name;
    EXPECT_THAT(result.reasons, IsEmpty()) << name;
  }
}

// --- auditd ----------------------------------------------------------------

TEST(AuditLoggingChecksTest, AuditdWarnsWhenNotInstalled) {
  policy::CheckResult result =
      Grade("auditd", CollectFixture("debian12_minimal"));
  EXPECT_EQ(result.verdict, Verdict::kWarn);
  EXPECT_THAT(result.reasons, ElementsAre(HasSubstr("apt install auditd")));
}

TEST(AuditLoggingChecksTest, AuditdWarnsWhenStopped) {
  policy::CheckResult result =
      Grade("auditd", CollectFixture("auditd_stopped"));
  EXPECT_EQ(result.verdict, Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("systemctl enable --now auditd")));
}

TEST(AuditLoggingChecksTest, AuditdWarnsWithoutRulesOrKernelAuditing) {
  v1::Facts facts = CollectFixture("auditd_immutable", /*kernel_enabled=*/0);
  facts.mutable_audit_logging()->mutable_auditd()->set_loaded_rules(0);
  policy::CheckResult result = Grade("auditd", facts);
  EXPECT_EQ(result.verdict, Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("no audit rules"),
                          HasSubstr("kernel reports auditing disabled")));
}

TEST(AuditLoggingChecksTest, AuditdPassesWithRulesAndKernelAuditing) {
  policy::CheckResult result =
      Grade("auditd", CollectFixture("auditd_immutable", /*kernel_enabled=*/2));
  EXPECT_EQ(result.verdict, Verdict::kPass);
  EXPECT_THAT(result.reasons, IsEmpty());
}

// --- retention -------------------------------------------------------------

TEST(AuditLoggingChecksTest, RetentionFailsUnder30Days) {
  policy::CheckResult result =
      Grade("retention", CollectFixture("logrotate_short"));
  EXPECT_EQ(result.verdict, Verdict::kFail);
  // auth.log 4 days, messages 14 days (maxage), syslog 4 days; secure keeps
  // everything.
  EXPECT_THAT(
      result.reasons,
      ElementsAre(
          "/var/log/auth.log is kept only 4 days (rotate 4 in "
          "/etc/logrotate.d/rsyslog), under the 30-day minimum: raise rotate "
          "(or maxage) in /etc/logrotate.d/rsyslog",
          HasSubstr("/var/log/messages is kept only 14 days"),
          HasSubstr("/var/log/syslog is kept only 4 days"),
          HasSubstr("/var/log/auth.log is kept 4 days"),
          HasSubstr("/var/log/messages is kept 14 days"),
          HasSubstr("/var/log/syslog is kept 4 days")));
}

TEST(AuditLoggingChecksTest, RetentionFailsForDebiansStockFourWeeks) {
  policy::CheckResult result =
      Grade("retention", CollectFixture("rsyslog_forwarding"));
  EXPECT_EQ(result.verdict, Verdict::kFail);
  EXPECT_THAT(result.reasons[0],
              HasSubstr("/var/log/auth.log is kept only 28 days"));
}

TEST(AuditLoggingChecksTest, RetentionWarnsUnder90Days) {
  policy::CheckResult result =
      Grade("retention", WithRetention(8, v1::LOG_ROTATION_PERIOD_WEEKLY, 56));
  EXPECT_EQ(result.verdict, Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("/var/log/syslog is kept 56 days (rotate 8 "
                                    "in /etc/logrotate.d/rsyslog), under the "
                                    "90 days")));
}

TEST(AuditLoggingChecksTest, RetentionPassesAt90DaysAndForUnlimited) {
  EXPECT_EQ(
      Grade("retention", WithRetention(13, v1::LOG_ROTATION_PERIOD_WEEKLY, 91))
          .verdict,
      Verdict::kPass);
  EXPECT_EQ(Grade("retention",
                  WithRetention(-1, v1::LOG_ROTATION_PERIOD_MONTHLY, 0, true))
                .verdict,
            Verdict::kPass);
}

TEST(AuditLoggingChecksTest, RetentionWarnsForSizeOnlyRotation) {
  policy::CheckResult result = Grade(
      "retention", WithRetention(5, v1::LOG_ROTATION_PERIOD_UNSPECIFIED, 0));
  EXPECT_EQ(result.verdict, Verdict::kWarn);
  EXPECT_THAT(result.reasons, ElementsAre(HasSubstr("rotated by size only")));
}

TEST(AuditLoggingChecksTest, RetentionWarnsWhenNoStanzaCoversTheMainLogs) {
  policy::CheckResult result =
      Grade("retention", CollectFixture("debian12_minimal"));
  EXPECT_EQ(result.verdict, Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("no logrotate stanza covers")));
}

}  // namespace
}  // namespace evidentia::agent
