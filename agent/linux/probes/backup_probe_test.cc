#include "agent/linux/probes/backup_probe.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "agent/linux/probes/backup_test_fixtures.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;
using backup_test::Fixture;
using backup_test::SetMtime;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

v1::BackupFacts CollectFixture(const std::string& name) {
  absl::StatusOr<v1::Facts> facts = BackupProbe().Collect(Fixture(name));
  EXPECT_TRUE(facts.ok()) << facts.status();
  if (!facts.ok()) return {};
  EXPECT_TRUE(facts->has_backup());
  return facts->backup();
}

const v1::BackupTool* FindTool(const v1::BackupFacts& facts,
                               const std::string& id) {
  for (const v1::BackupTool& tool : facts.tools()) {
    if (tool.id() == id) return &tool;
  }
  return nullptr;
}

std::vector<std::string> ToolIds(const v1::BackupFacts& facts) {
  std::vector<std::string> ids;
  for (const v1::BackupTool& tool : facts.tools()) ids.push_back(tool.id());
  return ids;
}

// --- ParseCrontab ---------------------------------------------------------

TEST(CrontabParserTest, ReadsSystemLineWithUser) {
  std::vector<CronEntry> entries =
      ParseCrontab("30 3\t* * *\t\troot\t/usr/bin/rsnapshot daily\n", true);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].line, 1u);
  EXPECT_EQ(entries[0].expression, "30 3 * * *");
  EXPECT_EQ(entries[0].user, "root");
  EXPECT_EQ(entries[0].command, "/usr/bin/rsnapshot daily");
}

TEST(CrontabParserTest, UserCrontabHasNoUserField) {
  std::vector<CronEntry> entries = ParseCrontab(
      "# m h dom mon dow command\n15 1 * * * restic backup /\n", false);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].line, 2u);
  EXPECT_EQ(entries[0].user, "");
  EXPECT_EQ(entries[0].command, "restic backup /");
}

TEST(CrontabParserTest, ReadsKeywordSchedules) {
  std::vector<CronEntry> entries = ParseCrontab(
      "@reboot root sleep 10m && timeshift --create\n@nightly root borg\n",
      true);
  ASSERT_EQ(entries.size(), 1u);  // @nightly is not a cron keyword
  EXPECT_EQ(entries[0].expression, "@reboot");
  EXPECT_EQ(entries[0].command, "sleep 10m && timeshift --create");
}

TEST(CrontabParserTest, SkipsCommentsAssignmentsAndShortLines) {
  EXPECT_THAT(ParseCrontab("SHELL=/bin/sh\nMAILTO = \"\"\n# 0 3 * * * root "
                           "borg\n\n0 3 * *\n0 3 * * * root\n",
                           true),
              IsEmpty());
}

TEST(CrontabParserTest, CommandStopsAtUnescapedPercent) {
  std::vector<CronEntry> entries =
      ParseCrontab("0 1 * * * restic backup --tag \\%d %stdin text\n", false);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].command, "restic backup --tag \\%d");
}

TEST(CrontabParserTest, CrlfAndTrailingLineWithoutNewline) {
  std::vector<CronEntry> entries =
      ParseCrontab("0 1 * * * root a\r\n0 2 * * * root b", true);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].command, "a");
  EXPECT_EQ(entries[1].line, 2u);
}

TEST(CrontabParserTest, SurvivesBinaryAndHugeInput) {
  std::string junk;
  for (int i = 0; i < 65536; ++i) junk.push_back(static_cast<char>(i));
  junk += "\n" + std::string(1 << 20, '*') + "\n0 1 * * * root restic";
  std::vector<CronEntry> entries = ParseCrontab(junk, true);
  ASSERT_FALSE(entries.empty());
  EXPECT_EQ(entries.back().command, "restic");
}

TEST(CrontabParserTest, AcceptsListsRangesStepsAndNames) {
  std::vector<CronEntry> entries = ParseCrontab(
      "*/15 1-5,7 * jan-Mar Mon-fri/2 backup$ restic backup\n", true);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].expression, "*/15 1-5,7 * jan-Mar Mon-fri/2");
  EXPECT_EQ(entries[0].user, "backup$");
}

// cron rejects these lines; keeping them would copy a piece of the command
// (here a repository password) into `user` or `expression`.
TEST(CrontabParserTest, SkipsLinesCronRejectsSoNoCommandPieceIsKept) {
  EXPECT_THAT(ParseCrontab("0 3 * * * RESTIC_PASSWORD=hunter2 restic backup\n"
                           "0 3 * * hunter2 root restic backup\n"
                           "0 3 * * * /bin/restic backup\n"
                           "0 3 * * * a:b restic\n",
                           true),
              IsEmpty());
  EXPECT_THAT(ParseCrontab("0 3 * hunter2 * restic backup\n", false),
              IsEmpty());
}

// --- ParseRsnapshotConf ---------------------------------------------------

TEST(RsnapshotConfParserTest, ReadsDebianConfig) {
  RsnapshotConfig config = ParseRsnapshotConf(
      "config_version\t1.2\nsnapshot_root\t/var/cache/rsnapshot/\n"
      "#retain\thourly\t6\nretain\tdaily\t7\nretain\tweekly\t4\n"
      "backup\t/home/\t\tlocalhost/\nbackup_script\t/x.sh\tlocalhost/db/\n");
  EXPECT_EQ(config.snapshot_root, "/var/cache/rsnapshot");
  EXPECT_THAT(config.levels, ElementsAre("daily", "weekly"));
  EXPECT_EQ(config.backup_points, 2u);
  EXPECT_FALSE(config.sync_first);
}

TEST(RsnapshotConfParserTest, OldIntervalKeywordAndSyncFirst) {
  RsnapshotConfig config = ParseRsnapshotConf(
      "snapshot_root\t/backup\ninterval\thourly\t6\nsync_first\t1\n");
  EXPECT_THAT(config.levels, ElementsAre("hourly"));
  EXPECT_TRUE(config.sync_first);
}

TEST(RsnapshotConfParserTest, SkipsBadLevelsAndSpaceSeparatedLines) {
  RsnapshotConfig config = ParseRsnapshotConf(
      "snapshot_root /spaces/are/invalid\nretain\t../x\t3\nretain\tdaily\t0\n"
      "retain\tdaily\tmany\nretain\tdaily\n");
  EXPECT_EQ(config.snapshot_root, "");
  EXPECT_THAT(config.levels, IsEmpty());
}

TEST(RsnapshotConfParserTest, KeepsRootSlashAlone) {
  EXPECT_EQ(ParseRsnapshotConf("snapshot_root\t///\n").snapshot_root, "/");
}

// --- ToolsInCommand -------------------------------------------------------

TEST(ToolsInCommandTest, FindsToolsByNameAndProgramPath) {
  EXPECT_THAT(ToolsInCommand("/usr/local/bin/restic backup /home"),
              ElementsAre("restic"));
  EXPECT_THAT(ToolsInCommand("PATH=$PATH:/usr/bin borgmatic -v 1 && borg"),
              ElementsAre("borg", "borgmatic"));
  EXPECT_THAT(ToolsInCommand("BORG=/opt/borg/borg; $BORG list"),
              ElementsAre("borg"));
  EXPECT_THAT(ToolsInCommand("duply home backup"), ElementsAre("duplicity"));
  EXPECT_THAT(ToolsInCommand("veeamconfig job start --name x"),
              ElementsAre("veeam"));
}

TEST(ToolsInCommandTest, IgnoresDataPathsCommentsAndSubstrings) {
  EXPECT_THAT(ToolsInCommand("find /srv/restic -delete"), IsEmpty());
  EXPECT_THAT(ToolsInCommand("echo ok # then restic"), IsEmpty());
  EXPECT_THAT(ToolsInCommand("# borg create\nrestic-exporter --port 1"),
              IsEmpty());
  EXPECT_THAT(ToolsInCommand("borgbackup-helper; resticprofile"), IsEmpty());
}

TEST(ToolsInCommandTest, SurvivesBinary) {
  std::string junk;
  for (int i = 0; i < 4096; ++i) junk.push_back(static_cast<char>(i * 7));
  junk += "\n restic";
  EXPECT_THAT(ToolsInCommand(junk), ElementsAre("restic"));
}

// --- ParseTimeshiftCreated / IsRunPartsName ----------------------------

TEST(TimeshiftInfoParserTest, ReadsQuotedAndBareNumbers) {
  EXPECT_EQ(ParseTimeshiftCreated("{\n  \"created\" : \"1796032801\",\n}"),
            1796032801);
  EXPECT_EQ(ParseTimeshiftCreated("{\"created\":42}"), 42);
}

TEST(TimeshiftInfoParserTest, SkipsAValueThatSpellsTheKey) {
  EXPECT_EQ(ParseTimeshiftCreated(
                "{\"comments\" : \"created\", \"created\" : \"7\"}"),
            7);
}

TEST(TimeshiftInfoParserTest, RejectsMalformed) {
  EXPECT_EQ(ParseTimeshiftCreated("{}"), std::nullopt);
  EXPECT_EQ(ParseTimeshiftCreated("{\"created\" \"1\"}"), std::nullopt);
  EXPECT_EQ(ParseTimeshiftCreated("{\"created\": \"12"), std::nullopt);
  EXPECT_EQ(ParseTimeshiftCreated("{\"created\": \"-5\"}"), std::nullopt);
  EXPECT_EQ(ParseTimeshiftCreated("{\"created\": 0}"), std::nullopt);
  EXPECT_EQ(ParseTimeshiftCreated("{\"created\": 99999999999999999999}"),
            std::nullopt);
  EXPECT_EQ(ParseTimeshiftCreated("\"created\""), std::nullopt);
}

TEST(RunPartsNameTest, AcceptsOnlyRunPartsNames) {
  EXPECT_TRUE(IsRunPartsName("timeshift-hourly"));
  EXPECT_TRUE(IsRunPartsName("0anacron"));
  EXPECT_FALSE(IsRunPartsName("borgmatic.dpkg-old"));
  EXPECT_FALSE(IsRunPartsName("backup~"));
  EXPECT_FALSE(IsRunPartsName(""));
}

// --- Fixtures -------------------------------------------------------------

TEST(BackupProbeTest, Id) { EXPECT_EQ(BackupProbe().id(), "linux.backup"); }

TEST(BackupFixtureTest, NothingInstalled) {
  v1::BackupFacts facts = CollectFixture("nothing_installed");
  EXPECT_TRUE(facts.dpkg_present());
  EXPECT_THAT(facts.tools(), IsEmpty());
  EXPECT_THAT(facts.schedules(), IsEmpty());
}

TEST(BackupFixtureTest, MissingRootIsNotAnError) {
  absl::StatusOr<v1::Facts> facts =
      BackupProbe().Collect(Fixture("does_not_exist"));
  ASSERT_TRUE(facts.ok()) << facts.status();
  EXPECT_FALSE(facts->backup().dpkg_present());
  EXPECT_THAT(facts->backup().tools(), IsEmpty());
}

TEST(BackupFixtureTest, ResticBinaryWithPersistentTimerAndStamp) {
  SetMtime(Fixture("restic_timer") /
               "var/lib/systemd/timers/stamp-restic-backup.timer",
           1796000000);
  v1::BackupFacts facts = CollectFixture("restic_timer");
  EXPECT_THAT(ToolIds(facts), ElementsAre("restic"));
  const v1::BackupTool* restic = FindTool(facts, "restic");
  ASSERT_NE(restic, nullptr);
  EXPECT_TRUE(restic->installed());
  EXPECT_THAT(restic->packages(), IsEmpty());
  EXPECT_THAT(restic->binaries(), ElementsAre("/usr/local/bin/restic"));
  EXPECT_TRUE(restic->scheduled());
  EXPECT_FALSE(restic->server_driven());
  EXPECT_EQ(restic->last_run_unix(), 1796000000);
  EXPECT_EQ(restic->run_trace_path(),
            "/var/lib/systemd/timers/stamp-restic-backup.timer");
  ASSERT_EQ(facts.schedules_size(), 1);
  const v1::BackupSchedule& timer = facts.schedules(0);
  EXPECT_EQ(timer.source(), "/etc/systemd/system/restic-backup.timer");
  EXPECT_EQ(timer.kind(), v1::BACKUP_SCHEDULE_KIND_SYSTEMD_TIMER);
  EXPECT_EQ(timer.tool(), "restic");
  EXPECT_EQ(timer.expression(), "OnCalendar=*-*-* 02:30:00");
  EXPECT_TRUE(timer.enabled());
  EXPECT_TRUE(timer.persistent());
  EXPECT_EQ(timer.unit(), "restic-backup.service");
  EXPECT_EQ(timer.last_run_unix(), 1796000000);
}

TEST(BackupFixtureTest, ScheduledButNeverRan) {
  v1::BackupFacts facts = CollectFixture("scheduled_never_ran");
  const v1::BackupTool* restic = FindTool(facts, "restic");
  ASSERT_NE(restic, nullptr);
  EXPECT_TRUE(restic->scheduled());
  EXPECT_EQ(restic->last_run_unix(), 0);
  EXPECT_EQ(restic->run_trace_path(),
            "/var/lib/systemd/timers/stamp-restic-backup.timer");
  ASSERT_EQ(facts.schedules_size(), 1);
  EXPECT_TRUE(facts.schedules(0).persistent());  // "yes"
}

TEST(BackupFixtureTest, BorgmaticFromCronD) {
  v1::BackupFacts facts = CollectFixture("borgmatic_cron");
  EXPECT_THAT(ToolIds(facts), ElementsAre("borg", "borgmatic"));
  const v1::BackupTool* borgmatic = FindTool(facts, "borgmatic");
  ASSERT_NE(borgmatic, nullptr);
  ASSERT_EQ(borgmatic->packages_size(), 1);
  EXPECT_EQ(borgmatic->packages(0).name(), "borgmatic");
  EXPECT_EQ(borgmatic->packages(0).version(), "1.7.7-1");
  EXPECT_THAT(borgmatic->binaries(), ElementsAre("/usr/bin/borgmatic"));
  EXPECT_TRUE(borgmatic->scheduled());
  EXPECT_EQ(borgmatic->run_trace_path(), "");  // no trace the probe reads
  EXPECT_TRUE(facts.cron_running());
  EXPECT_FALSE(FindTool(facts, "borg")->scheduled());
  ASSERT_EQ(facts.schedules_size(), 1);  // the .dpkg-old file is ignored
  const v1::BackupSchedule& cron = facts.schedules(0);
  EXPECT_EQ(cron.source(), "/etc/cron.d/borgmatic");
  EXPECT_EQ(cron.line(), 3u);
  EXPECT_EQ(cron.kind(), v1::BACKUP_SCHEDULE_KIND_CRONTAB);
  EXPECT_EQ(cron.expression(), "0 3 * * *");
  EXPECT_EQ(cron.user(), "root");
  EXPECT_TRUE(cron.enabled());
  EXPECT_FALSE(cron.persistent());
}

TEST(BackupFixtureTest, CronJobsWithoutCronDaemonAreNotEnabled) {
  const fs::path tmp = fs::path(testing::TempDir()) / "borgmatic_no_cron";
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  for (const char* dir : {"etc", "usr", "var"}) {
    fs::copy(Fixture("borgmatic_cron") / dir, tmp / dir,
             fs::copy_options::recursive);
  }
  absl::StatusOr<v1::Facts> facts = BackupProbe().Collect(tmp);
  ASSERT_TRUE(facts.ok()) << facts.status();
  EXPECT_FALSE(facts->backup().cron_running());
  ASSERT_EQ(facts->backup().schedules_size(), 1);
  EXPECT_FALSE(facts->backup().schedules(0).enabled());
  const v1::BackupTool* borgmatic = FindTool(facts->backup(), "borgmatic");
  ASSERT_NE(borgmatic, nullptr);
  EXPECT_FALSE(borgmatic->scheduled());
  fs::remove_all(tmp);
}

TEST(BackupFixtureTest, TimeshiftSnapshotsOnRoot) {
  v1::BackupFacts facts = CollectFixture("timeshift_snapshots");
  const v1::BackupTool* timeshift = FindTool(facts, "timeshift");
  ASSERT_NE(timeshift, nullptr);
  EXPECT_TRUE(timeshift->scheduled());
  EXPECT_EQ(timeshift->last_run_unix(), 1796032801);
  EXPECT_EQ(timeshift->run_trace_path(),
            "/timeshift/snapshots/2026-11-30_10-00-01/info.json");
  ASSERT_EQ(facts.schedules_size(), 2);
  EXPECT_EQ(facts.schedules(0).source(), "/etc/cron.d/timeshift-boot");
  EXPECT_EQ(facts.schedules(0).expression(), "@reboot");
  EXPECT_EQ(facts.schedules(1).source(), "/etc/cron.d/timeshift-hourly");
  EXPECT_EQ(facts.schedules(1).expression(), "0 * * * *");
}

TEST(BackupFixtureTest, RsnapshotNewestLevelDirectory) {
  const fs::path root = Fixture("rsnapshot_daily") / "var/cache/rsnapshot";
  SetMtime(root / "daily.0", 1796100000);
  SetMtime(root / "daily.1", 1796200000);  // not a .0: ignored
  SetMtime(root / "weekly.0", 1795500000);
  v1::BackupFacts facts = CollectFixture("rsnapshot_daily");
  const v1::BackupTool* rsnapshot = FindTool(facts, "rsnapshot");
  ASSERT_NE(rsnapshot, nullptr);
  EXPECT_TRUE(rsnapshot->scheduled());
  EXPECT_EQ(rsnapshot->last_run_unix(), 1796100000);
  EXPECT_EQ(rsnapshot->run_trace_path(), "/var/cache/rsnapshot/daily.0");
  std::vector<std::string> expressions;
  for (const v1::BackupSchedule& s : facts.schedules()) {
    EXPECT_EQ(s.source(), "/etc/cron.d/rsnapshot");
    expressions.push_back(s.expression());
  }
  // The commented hourly line is not a schedule.
  EXPECT_THAT(expressions,
              ElementsAre("30 3 * * *", "0 3 * * 1", "30 2 1 * *"));
}

TEST(BackupFixtureTest, RsnapshotWithoutSnapshotsHasTraceButNoRun) {
  const fs::path tmp = fs::path(testing::TempDir()) / "rsnapshot_empty";
  fs::remove_all(tmp);
  fs::create_directories(tmp / "etc");
  fs::copy(Fixture("rsnapshot_daily") / "etc", tmp / "etc",
           fs::copy_options::recursive);
  fs::create_directories(tmp / "usr/bin");
  fs::copy(Fixture("rsnapshot_daily") / "usr/bin/rsnapshot",
           tmp / "usr/bin/rsnapshot");
  absl::StatusOr<v1::Facts> facts = BackupProbe().Collect(tmp);
  ASSERT_TRUE(facts.ok()) << facts.status();
  ASSERT_EQ(facts->backup().tools_size(), 1);
  const v1::BackupTool& rsnapshot = facts->backup().tools(0);
  EXPECT_EQ(rsnapshot.last_run_unix(), 0);
  EXPECT_EQ(rsnapshot.run_trace_path(), "/var/cache/rsnapshot/daily.0");
  fs::remove_all(tmp);
}

TEST(BackupFixtureTest, InstalledButNeverScheduled) {
  v1::BackupFacts facts = CollectFixture("installed_unscheduled");
  EXPECT_THAT(ToolIds(facts), ElementsAre("duplicity", "restic"));
  const v1::BackupTool* restic = FindTool(facts, "restic");
  ASSERT_NE(restic, nullptr);
  EXPECT_TRUE(restic->installed());
  EXPECT_FALSE(restic->scheduled());
  EXPECT_EQ(restic->last_run_unix(), 0);  // a disabled timer's stamp: no
  EXPECT_EQ(restic->run_trace_path(), "");
  ASSERT_EQ(facts.schedules_size(), 1);
  EXPECT_FALSE(facts.schedules(0).enabled());
}

TEST(BackupFixtureTest, VeeamInstalled) {
  v1::BackupFacts facts = CollectFixture("veeam_installed");
  EXPECT_THAT(ToolIds(facts), ElementsAre("veeam"));
  const v1::BackupTool* veeam = FindTool(facts, "veeam");
  ASSERT_EQ(veeam->packages_size(), 1);
  EXPECT_EQ(veeam->packages(0).name(), "veeam");
  EXPECT_THAT(veeam->binaries(), ElementsAre("/usr/bin/veeamconfig"));
  EXPECT_FALSE(veeam->scheduled());
  EXPECT_FALSE(veeam->server_driven());
}

TEST(BackupFixtureTest, BareosFileDaemonRunning) {
  v1::BackupFacts facts = CollectFixture("bareos_fd_running");
  const v1::BackupTool* bareos = FindTool(facts, "bareos-fd");
  ASSERT_NE(bareos, nullptr);
  EXPECT_TRUE(bareos->server_driven());
  EXPECT_TRUE(bareos->daemon_running());
  EXPECT_TRUE(bareos->scheduled());
  EXPECT_EQ(bareos->run_trace_path(), "");
  EXPECT_THAT(facts.schedules(), IsEmpty());
}

TEST(BackupFixtureTest, TemplateTimerWithDropinAndMaskedVendorTimer) {
  SetMtime(Fixture("template_timer_dropin") /
               "var/lib/systemd/timers/stamp-borg-backup@home.timer",
           1796050000);
  v1::BackupFacts facts = CollectFixture("template_timer_dropin");
  const v1::BackupTool* borg = FindTool(facts, "borg");
  ASSERT_NE(borg, nullptr);
  EXPECT_THAT(borg->binaries(), ElementsAre("/opt/borg/borg"));
  EXPECT_TRUE(borg->scheduled());
  EXPECT_EQ(borg->last_run_unix(), 1796050000);
  EXPECT_EQ(borg->run_trace_path(),
            "/var/lib/systemd/timers/stamp-borg-backup@home.timer");
  ASSERT_EQ(facts.schedules_size(), 2);
  const v1::BackupSchedule& instance = facts.schedules(0);
  EXPECT_EQ(instance.source(), "/etc/systemd/system/borg-backup@.timer");
  EXPECT_EQ(instance.unit(), "borg-backup@home.service");
  EXPECT_EQ(instance.expression(), "OnCalendar=*-*-* 01:15:00");
  EXPECT_TRUE(instance.persistent());
  EXPECT_TRUE(instance.enabled());
  const v1::BackupSchedule& masked = facts.schedules(1);
  EXPECT_EQ(masked.source(), "/usr/lib/systemd/system/duplicity-nightly.timer");
  EXPECT_EQ(masked.tool(), "duplicity");
  EXPECT_FALSE(masked.enabled());
  // duplicity is neither installed nor run by an enabled schedule.
  EXPECT_EQ(FindTool(facts, "duplicity"), nullptr);
}

// A temporary root, removed at the end of the test.
class BackupTempRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(testing::TempDir()) /
            (std::string("backup_") +
             testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  void Write(const std::string& rel, const std::string& text,
             fs::perms perms = fs::perms::owner_read | fs::perms::owner_write) {
    fs::create_directories((root_ / rel).parent_path());
    std::ofstream(root_ / rel, std::ios::binary) << text;
    fs::permissions(root_ / rel, perms);
  }
  v1::BackupFacts Collect() {
    absl::StatusOr<v1::Facts> facts = BackupProbe().Collect(root_);
    EXPECT_TRUE(facts.ok()) << facts.status();
    return facts.ok() ? facts->backup() : v1::BackupFacts();
  }
  fs::path root_;
};

TEST_F(BackupTempRootTest, PasswordsInCronLinesNeverReachFacts) {
  Write("etc/cron.d/restic",
        "0 3 * * * RESTIC_PASSWORD=hunter2 restic backup /\n"
        "0 4 * * * root RESTIC_PASSWORD=hunter2 restic -p hunter2 backup\n");
  Write("var/spool/cron/crontabs/alice",
        "0 5 * hunter2 * restic backup\n"
        "0 6 * * * restic --password-command 'echo hunter2' backup\n");
  Write("proc/1/comm", "cron\n");
  v1::BackupFacts facts = Collect();
  // The two well-formed lines are schedules; nothing of any command is.
  ASSERT_EQ(facts.schedules_size(), 2);
  EXPECT_EQ(facts.schedules(0).user(), "root");
  EXPECT_EQ(facts.schedules(1).user(), "alice");
  EXPECT_EQ(facts.SerializeAsString().find("hunter2"), std::string::npos);
}

// Every line names its own script: only so many are read per collection,
// and a script already read costs nothing when named again.
TEST_F(BackupTempRootTest, ScriptsFollowedAreBoundedPerCollection) {
  std::string crontab;
  for (int i = 0; i < 300; ++i) {
    const std::string script = "usr/local/sbin/job-" + std::to_string(i);
    Write(script, "#!/bin/sh\nrestic backup /\n");
    crontab += "0 3 * * * root /" + script + "\n";
  }
  crontab += "0 4 * * * root /usr/local/sbin/job-0\n";
  Write("etc/cron.d/jobs", crontab);
  v1::BackupFacts facts = Collect();
  ASSERT_EQ(facts.schedules_size(), 257);
  EXPECT_EQ(facts.schedules(256).line(), 301u);
}

// Thousands of timers (here 1100, each running restic) cost at most 1024
// unit reads; the first ones in name order are kept.
TEST_F(BackupTempRootTest, TimersReadAreBoundedPerCollection) {
  for (int i = 0; i < 1100; ++i) {
    char name[16];
    std::snprintf(name, sizeof(name), "t%04d", i);
    Write(std::string("etc/systemd/system/") + name + ".timer",
          "[Timer]\nOnCalendar=daily\n");
    Write(std::string("etc/systemd/system/") + name + ".service",
          "[Service]\nExecStart=/usr/bin/restic backup\n");
  }
  v1::BackupFacts facts = Collect();
  ASSERT_EQ(facts.schedules_size(), 1024);
  EXPECT_EQ(facts.schedules(1023).source(), "/etc/systemd/system/t1023.timer");
}

// Drop-ins beyond 64 per unit are not read (the first ones by name are).
TEST_F(BackupTempRootTest, DropInsAppliedAreBoundedPerUnit) {
  Write("etc/systemd/system/r.timer", "[Timer]\n");
  Write("etc/systemd/system/r.service",
        "[Service]\nExecStart=/usr/bin/restic backup\n");
  for (int i = 0; i < 100; ++i) {
    char name[16];
    std::snprintf(name, sizeof(name), "%03d.conf", i);
    Write(std::string("etc/systemd/system/r.timer.d/") + name,
          std::string("[Timer]\nOnCalendar=") + name + "\n");
  }
  v1::BackupFacts facts = Collect();
  ASSERT_EQ(facts.schedules_size(), 1);
  const std::string& expression = facts.schedules(0).expression();
  EXPECT_NE(expression.find("OnCalendar=063.conf"), std::string::npos);
  EXPECT_EQ(expression.find("OnCalendar=064.conf"), std::string::npos);
}

// A stamp linked to an absolute path is that path below the root: the
// host's /etc/shadow is not what dates the run.
TEST_F(BackupTempRootTest, StampLinkedOutsideIsResolvedInsideRoot) {
  Write("usr/bin/restic", "x", fs::perms::owner_all);
  Write("etc/systemd/system/r.timer",
        "[Timer]\nOnCalendar=daily\nPersistent=true\n");
  Write("etc/systemd/system/r.service",
        "[Service]\nExecStart=/usr/bin/restic backup\n");
  fs::create_directories(root_ / "etc/systemd/system/timers.target.wants");
  fs::create_symlink("/etc/systemd/system/r.timer",
                     root_ / "etc/systemd/system/timers.target.wants/r.timer");
  fs::create_directories(root_ / "var/lib/systemd/timers");
  fs::create_symlink("/etc/shadow",
                     root_ / "var/lib/systemd/timers/stamp-r.timer");
  v1::BackupFacts facts = Collect();
  ASSERT_EQ(facts.tools_size(), 1);
  EXPECT_TRUE(facts.tools(0).scheduled());
  EXPECT_FALSE(facts.tools(0).run_found());
  EXPECT_EQ(facts.tools(0).last_run_unix(), 0);
}

TEST(BackupFixtureTest, TwoCollectionsAreIdentical) {
  for (const char* name :
       {"restic_timer", "timeshift_snapshots", "template_timer_dropin"}) {
    // A private copy: other tests, in other processes, set the shared
    // fixture's mtimes meanwhile.
    const fs::path tmp =
        fs::path(testing::TempDir()) / (std::string("identical_") + name);
    fs::remove_all(tmp);
    fs::copy(Fixture(name), tmp,
             fs::copy_options::recursive | fs::copy_options::copy_symlinks);
    absl::StatusOr<v1::Facts> a = BackupProbe().Collect(tmp);
    absl::StatusOr<v1::Facts> b = BackupProbe().Collect(tmp);
    ASSERT_TRUE(a.ok() && b.ok());
    std::string bytes_a, bytes_b;
    ASSERT_TRUE(a->SerializeToString(&bytes_a));
    ASSERT_TRUE(b->SerializeToString(&bytes_b));
    EXPECT_EQ(bytes_a, bytes_b) << name;
  }
}

}  // namespace
}  // namespace evidentia::agent
