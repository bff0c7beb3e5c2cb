// The linux.backup checks of policies/checks/ graded on fixture facts and on
// facts built here, with the real policies.
#include <filesystem>
#include <string>

#include "absl/time/time.h"
#include "agent/linux/probes/backup_probe.h"
#include "agent/linux/probes/backup_test_fixtures.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/checks.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;
using backup_test::Fixture;
using backup_test::SetMtime;
using ::evidentia::testing::EvaluateCheck;
using policy::Verdict;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr int64_t kNow = 1796300000;  // 2026-12-03

absl::Time Now() { return absl::FromUnixSeconds(kNow); }
int64_t DaysAgo(double days) {
  return kNow - static_cast<int64_t>(days * 86400);
}

v1::Facts CollectFixture(const std::string& name) {
  absl::StatusOr<v1::Facts> facts = BackupProbe().Collect(Fixture(name));
  EXPECT_TRUE(facts.ok()) << facts.status();
  return facts.ok() ? *facts : v1::Facts();
}

// One scheduled, installed tool with a run `age_days` ago (negative: none
// found at its trace path).
v1::Facts ToolRanDaysAgo(double age_days) {
  v1::Facts facts;
  v1::BackupTool* tool = facts.mutable_backup()->add_tools();
  tool->set_id("restic");
  tool->set_installed(true);
  tool->set_scheduled(true);
  tool->set_run_trace_path("/var/lib/systemd/timers/stamp-restic.timer");
  if (age_days >= 0) {
    tool->set_run_found(true);
    tool->set_last_run_unix(DaysAgo(age_days));
  }
  return facts;
}

// --- linux.backup.scheduled -------------------------------------------

TEST(BackupScheduledCheckTest, NothingInstalledFails) {
  policy::CheckResult result = EvaluateCheck(
      "linux.backup.scheduled", CollectFixture("nothing_installed"), Now());
  EXPECT_EQ(result.verdict, Verdict::kFail);
  ASSERT_EQ(result.reasons.size(), 1u);
  EXPECT_THAT(result.reasons[0], HasSubstr("no known backup tool"));
  EXPECT_THAT(result.reasons[0], HasSubstr("manual evidence for a.8.13"));
}

TEST(BackupScheduledCheckTest, ResticTimerPasses) {
  policy::CheckResult result = EvaluateCheck(
      "linux.backup.scheduled", CollectFixture("restic_timer"), Now());
  EXPECT_EQ(result.verdict, Verdict::kPass);
  EXPECT_THAT(result.reasons, IsEmpty());
}

TEST(BackupScheduledCheckTest, InstalledButUnscheduledFailsAndNamesTools) {
  policy::CheckResult result = EvaluateCheck(
      "linux.backup.scheduled", CollectFixture("installed_unscheduled"), Now());
  EXPECT_EQ(result.verdict, Verdict::kFail);
  ASSERT_EQ(result.reasons.size(), 3u);
  EXPECT_THAT(result.reasons[0], HasSubstr("no known backup tool"));
  EXPECT_THAT(result.reasons[1],
              HasSubstr("duplicity is installed but no enabled systemd timer"));
  EXPECT_THAT(result.reasons[2],
              HasSubstr("restic is installed but no enabled systemd timer"));
}

TEST(BackupScheduledCheckTest, ExtraUnscheduledToolWarns) {
  // borgmatic is scheduled; borg (which borgmatic runs) is not by itself.
  policy::CheckResult result = EvaluateCheck(
      "linux.backup.scheduled", CollectFixture("borgmatic_cron"), Now());
  EXPECT_EQ(result.verdict, Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("borg is installed but no enabled")));
}

TEST(BackupScheduledCheckTest, VeeamWithoutScheduleFails) {
  policy::CheckResult result = EvaluateCheck(
      "linux.backup.scheduled", CollectFixture("veeam_installed"), Now());
  EXPECT_EQ(result.verdict, Verdict::kFail);
  EXPECT_THAT(result.reasons[1], HasSubstr("veeam is installed but"));
}

TEST(BackupScheduledCheckTest, ServerDrivenDaemonRunningPasses) {
  policy::CheckResult result = EvaluateCheck(
      "linux.backup.scheduled", CollectFixture("bareos_fd_running"), Now());
  EXPECT_EQ(result.verdict, Verdict::kPass);
}

TEST(BackupScheduledCheckTest, ServerDrivenDaemonStoppedWarnsHowToStart) {
  v1::Facts facts;
  v1::BackupTool* fd = facts.mutable_backup()->add_tools();
  fd->set_id("bacula-fd");
  fd->set_installed(true);
  fd->set_server_driven(true);
  v1::BackupTool* restic = facts.mutable_backup()->add_tools();
  restic->set_id("restic");
  restic->set_installed(true);
  restic->set_scheduled(true);
  policy::CheckResult result =
      EvaluateCheck("linux.backup.scheduled", facts, Now());
  EXPECT_EQ(result.verdict, Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("systemctl enable --now bacula-fd")));
}

TEST(BackupScheduledCheckTest, ScheduleWithoutToolWarnsAndFails) {
  v1::Facts facts;
  v1::BackupTool* tool = facts.mutable_backup()->add_tools();
  tool->set_id("restic");
  tool->set_scheduled(true);
  policy::CheckResult result =
      EvaluateCheck("linux.backup.scheduled", facts, Now());
  EXPECT_EQ(result.verdict, Verdict::kFail);
  ASSERT_EQ(result.reasons.size(), 2u);
  EXPECT_THAT(result.reasons[1],
              HasSubstr("a schedule runs restic but no package"));
}

// --- linux.backup.recent_run ------------------------------------------

TEST(BackupRecentRunCheckTest, RunOneDayAgoPasses) {
  policy::CheckResult result =
      EvaluateCheck("linux.backup.recent_run", ToolRanDaysAgo(1), Now());
  EXPECT_EQ(result.verdict, Verdict::kPass);
  EXPECT_THAT(result.reasons, IsEmpty());
}

TEST(BackupRecentRunCheckTest, RunThreeDaysAgoWarns) {
  policy::CheckResult result =
      EvaluateCheck("linux.backup.recent_run", ToolRanDaysAgo(3), Now());
  EXPECT_EQ(result.verdict, Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre("restic last ran 3 days ago "
                          "(/var/lib/systemd/timers/stamp-restic.timer), "
                          "more than 2 days: check its job log (journalctl "
                          "-u its service, or the cron mail)"));
}

TEST(BackupRecentRunCheckTest, RunTenDaysAgoFails) {
  policy::CheckResult result =
      EvaluateCheck("linux.backup.recent_run", ToolRanDaysAgo(10), Now());
  EXPECT_EQ(result.verdict, Verdict::kFail);
  ASSERT_EQ(result.reasons.size(), 2u);  // fails first, then the warning
  EXPECT_THAT(result.reasons[0], HasSubstr("restic last ran 10 days ago"));
  EXPECT_THAT(result.reasons[0], HasSubstr("past the 7-day limit"));
}

TEST(BackupRecentRunCheckTest, TimerFixtureStampAgesFromPassToFail) {
  const fs::path stamp = Fixture("restic_timer") /
                         "var/lib/systemd/timers/stamp-restic-backup.timer";
  SetMtime(stamp, DaysAgo(0.5));
  EXPECT_EQ(EvaluateCheck("linux.backup.recent_run",
                          CollectFixture("restic_timer"), Now())
                .verdict,
            Verdict::kPass);
  SetMtime(stamp, DaysAgo(8));
  EXPECT_EQ(EvaluateCheck("linux.backup.recent_run",
                          CollectFixture("restic_timer"), Now())
                .verdict,
            Verdict::kFail);
}

TEST(BackupRecentRunCheckTest, NeverRanFails) {
  policy::CheckResult result = EvaluateCheck(
      "linux.backup.recent_run", CollectFixture("scheduled_never_ran"), Now());
  EXPECT_EQ(result.verdict, Verdict::kFail);
  EXPECT_THAT(
      result.reasons,
      ElementsAre("restic is scheduled but has never run: nothing at "
                  "/var/lib/systemd/timers/stamp-restic-backup.timer; check "
                  "the timer (systemctl list-timers) or the job's log"));
}

TEST(BackupRecentRunCheckTest, TimeshiftSnapshotAge) {
  // The newest fixture snapshot was created at 1796032801.
  v1::Facts facts = CollectFixture("timeshift_snapshots");
  EXPECT_EQ(EvaluateCheck("linux.backup.recent_run", facts,
                          absl::FromUnixSeconds(1796032801 + 86400))
                .verdict,
            Verdict::kPass);
  EXPECT_EQ(EvaluateCheck("linux.backup.recent_run", facts,
                          absl::FromUnixSeconds(1796032801 + 4 * 86400))
                .verdict,
            Verdict::kWarn);
}

TEST(BackupRecentRunCheckTest, RunsWithoutTraceWarn) {
  policy::CheckResult result = EvaluateCheck(
      "linux.backup.recent_run", CollectFixture("borgmatic_cron"), Now());
  EXPECT_EQ(result.verdict, Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("borgmatic is scheduled, but its runs "
                                    "leave no trace")));
}

TEST(BackupRecentRunCheckTest, NothingScheduledFails) {
  policy::CheckResult result =
      EvaluateCheck("linux.backup.recent_run",
                    CollectFixture("installed_unscheduled"), Now());
  EXPECT_EQ(result.verdict, Verdict::kFail);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("no backup tool is scheduled")));
}

}  // namespace
}  // namespace evidentia::agent
