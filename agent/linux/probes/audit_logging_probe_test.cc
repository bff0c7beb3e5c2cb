#include "agent/linux/probes/audit_logging_probe.h"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "agent/linux/sys/text.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

fs::path Fixture(const std::string& name) {
  return fs::path(EVIDENTIA_SOURCE_DIR) / "tests/fixtures/audit_logging" / name;
}

KernelAuditReading Reading(uint32_t enabled, uint32_t failure, uint32_t pid) {
  KernelAuditReading reading;
  reading.enabled = enabled;
  reading.failure = failure;
  reading.pid = pid;
  reading.backlog_limit = 8192;
  reading.lost = 17;
  reading.backlog = 3;
  return reading;
}

v1::AuditLoggingFacts CollectFixture(
    const std::string& name,
    absl::StatusOr<KernelAuditReading> kernel = Reading(0, 1, 0)) {
  AuditLoggingProbe probe(
      std::make_unique<FakeKernelAuditSource>(std::move(kernel)));
  absl::StatusOr<v1::Facts> facts = probe.Collect(Fixture(name));
  EXPECT_TRUE(facts.ok()) << facts.status();
  if (!facts.ok()) return {};
  EXPECT_TRUE(facts->has_audit_logging());
  return facts->audit_logging();
}

const v1::LogDaemon& Daemon(const v1::AuditLoggingFacts& facts,
                            const std::string& name) {
  for (const v1::LogDaemon& daemon : facts.log_daemons()) {
    if (daemon.name() == name) return daemon;
  }
  ADD_FAILURE() << "no daemon " << name;
  static const v1::LogDaemon kEmpty;
  return kEmpty;
}

std::vector<std::string> Targets(const v1::LogDaemon& daemon) {
  std::vector<std::string> out;
  for (const v1::RemoteLogTarget& t : daemon.remote_targets()) {
    out.push_back(t.target());
  }
  return out;
}

std::vector<std::string> Targets(const std::vector<RemoteTarget>& targets) {
  std::vector<std::string> out;
  for (const RemoteTarget& t : targets) {
    out.push_back(Cat(t.host, ":", t.port, "/", t.protocol));
  }
  return out;
}

std::string Junk() {
  std::string junk;
  for (int i = 0; i < 65536; ++i) junk.push_back(static_cast<char>(i * 7));
  return junk;
}

// --- systemd values ------------------------------------------------------

TEST(SystemdSectionTest, ReadsOnlyTheNamedSection) {
  EXPECT_THAT(ParseSystemdSection("[Journal]\nStorage = persistent\n"
                                  "[Other]\nStorage=none\n# x=y\n; a=b\n",
                                  "Journal"),
              ElementsAre(Pair("Storage", "persistent")));
}

TEST(SystemdSectionTest, JoinsBackslashContinuations) {
  EXPECT_THAT(
      ParseSystemdSection("[Upload]\nURL=https://a\\\n  .b\n", "Upload"),
      ElementsAre(Pair("URL", "https://a .b")));
}

TEST(SystemdSectionTest, KeysBeforeAnySectionAreIgnored) {
  EXPECT_THAT(ParseSystemdSection("Storage=none\n[Journal\nx\n", "Journal"),
              IsEmpty());
}

TEST(SystemdValueTest, Booleans) {
  EXPECT_EQ(ParseSystemdBoolean("YES"), true);
  EXPECT_EQ(ParseSystemdBoolean("off"), false);
  EXPECT_EQ(ParseSystemdBoolean("maybe"), std::nullopt);
}

TEST(SystemdValueTest, SizesUseBase1024) {
  EXPECT_EQ(ParseSystemdSize("4G"), 4ull << 30);
  EXPECT_EQ(ParseSystemdSize("512M"), 512ull << 20);
  EXPECT_EQ(ParseSystemdSize("1.5K"), 1536u);
  EXPECT_EQ(ParseSystemdSize("100"), 100u);
  EXPECT_EQ(ParseSystemdSize("1G 512M"), (1ull << 30) + (512ull << 20));
}

TEST(SystemdValueTest, MalformedAndOverflowingSizesAreRejected) {
  EXPECT_EQ(ParseSystemdSize(""), std::nullopt);
  EXPECT_EQ(ParseSystemdSize("-1G"), std::nullopt);
  EXPECT_EQ(ParseSystemdSize("12Q"), std::nullopt);
  EXPECT_EQ(ParseSystemdSize("G"), std::nullopt);
  EXPECT_EQ(ParseSystemdSize("99999999999999999999E"), std::nullopt);
  EXPECT_EQ(ParseSystemdSize(std::string(100, '9')), std::nullopt);
}

TEST(SystemdValueTest, Timespans) {
  EXPECT_EQ(ParseSystemdTimespanSeconds("3600"), 3600u);
  EXPECT_EQ(ParseSystemdTimespanSeconds("90d"), 90u * 86400);
  EXPECT_EQ(ParseSystemdTimespanSeconds("2w 3d"), 17u * 86400);
  EXPECT_EQ(ParseSystemdTimespanSeconds("1month"), 2629800u);
  EXPECT_EQ(ParseSystemdTimespanSeconds("1year"), 31557600u);
  EXPECT_EQ(ParseSystemdTimespanSeconds("1h30min"), 5400u);
  EXPECT_EQ(ParseSystemdTimespanSeconds("infinity"), 0u);
  EXPECT_EQ(ParseSystemdTimespanSeconds("5 fortnights"), std::nullopt);
  EXPECT_EQ(ParseSystemdTimespanSeconds("99999999999y"), std::nullopt);
}

// --- journald.conf -------------------------------------------------------

TEST(JournaldConfTest, StockFileSetsNothing) {
  JournaldSettings settings =
      ParseJournaldConf("[Journal]\n#Storage=auto\n#SystemMaxUse=\n");
  EXPECT_FALSE(settings.storage.has_value());
  EXPECT_FALSE(settings.system_max_use_bytes.has_value());
}

TEST(JournaldConfTest, ReadsEveryReportedKey) {
  JournaldSettings settings = ParseJournaldConf(
      "[Journal]\nStorage=persistent\nSystemMaxUse=2G\nSystemKeepFree=1G\n"
      "MaxRetentionSec=1month\nForwardToSyslog=yes\n");
  EXPECT_EQ(settings.storage, "persistent");
  EXPECT_EQ(settings.system_max_use_bytes, 2ull << 30);
  EXPECT_EQ(settings.system_keep_free_bytes, 1ull << 30);
  EXPECT_EQ(settings.max_retention_seconds, 2629800u);
  EXPECT_EQ(settings.forward_to_syslog, true);
}

TEST(JournaldConfTest, InvalidValuesAreIgnoredLikeJournaldDoes) {
  JournaldSettings settings = ParseJournaldConf(
      "[Journal]\nStorage=Persistent\nSystemMaxUse=lots\nForwardToSyslog=2\n"
      "storage=none\n");
  EXPECT_FALSE(settings.storage.has_value());
  EXPECT_FALSE(settings.system_max_use_bytes.has_value());
  EXPECT_FALSE(settings.forward_to_syslog.has_value());
}

TEST(JournaldConfTest, LastAssignmentInAFileWins) {
  EXPECT_EQ(
      ParseJournaldConf("[Journal]\nStorage=none\nStorage=volatile\n").storage,
      "volatile");
}

TEST(JournaldConfTest, SurvivesBinaryJunkAndHugeLines) {
  std::string text = Junk() + "\n[Journal]\n" + std::string(1 << 20, '\\') +
                     "\nStorage=volatile\n[Journal";
  ParseJournaldConf(text);  // no crash; content unspecified
  EXPECT_EQ(ParseJournaldConf(Junk() + "\n[Journal]\nStorage=none\n").storage,
            "none");
}

TEST(JournalUploadUrlTest, DefaultsPortAndScheme) {
  std::optional<RemoteTarget> target =
      ParseJournalUploadUrl("https://journal.example.net/upload");
  ASSERT_TRUE(target.has_value());
  EXPECT_EQ(target->host, "journal.example.net");
  EXPECT_EQ(target->port, 19532u);
  EXPECT_EQ(target->protocol, "https");
  target = ParseJournalUploadUrl("[2001:db8::1]:8080");
  ASSERT_TRUE(target.has_value());
  EXPECT_EQ(target->host, "2001:db8::1");
  EXPECT_EQ(target->port, 8080u);
  EXPECT_EQ(target->protocol, "https");
}

TEST(JournalUploadUrlTest, RejectsOtherSchemesAndEmptyHosts) {
  EXPECT_FALSE(ParseJournalUploadUrl("ftp://x").has_value());
  EXPECT_FALSE(ParseJournalUploadUrl("http://").has_value());
  EXPECT_FALSE(ParseJournalUploadUrl("").has_value());
}

// --- rsyslog ---------------------------------------------------------------

TEST(RsyslogConfTest, LegacyForwards) {
  RsyslogConfig config = ParseRsyslogConf(
      "*.* @@(o,z9)logs.example.com:10514;RSYSLOG_ForwardFormat\n"
      "auth.* @192.0.2.1\n"
      "kern.* @[2001:db8::5]:5514\n"
      ":msg, contains, \"x\" :omrelp:relp.example.com:2514\n");
  EXPECT_THAT(
      Targets(config.targets),
      ElementsAre("logs.example.com:10514/tcp", "192.0.2.1:514/udp",
                  "2001:db8::5:5514/udp", "relp.example.com:2514/relp"));
  EXPECT_FALSE(config.writes_local_files);
}

TEST(RsyslogConfTest, LegacyTlsFollowsStreamDriverMode) {
  RsyslogConfig config = ParseRsyslogConf(
      "$DefaultNetstreamDriver gtls\n$ActionSendStreamDriverMode 1\n"
      "*.* @@secure.example.com:6514\n");
  EXPECT_THAT(Targets(config.targets),
              ElementsAre("secure.example.com:6514/tls"));
}

TEST(RsyslogConfTest, CommentedForwardsDoNotCount) {
  RsyslogConfig config = ParseRsyslogConf(
      "#*.* @@a.example.com\n  # *.* @b\n/* *.* @@c.example.com\n*/\n");
  EXPECT_THAT(config.targets, IsEmpty());
}

TEST(RsyslogConfTest, MultiLineRainerScriptActions) {
  RsyslogConfig config = ParseRsyslogConf(
      "action(type=\"omfwd\"\n  Target=\"siem.example.com\" port=\"6514\"\n"
      "  protocol=\"tcp\" # comment (with parens)\n"
      "  StreamDriver=\"gtls\" StreamDriverMode=\"1\")\n"
      "if $msg contains 'x' then { action(type=\"omfwd\" target=\"u\") }\n"
      "action(type=\"omfwd\" target=[\"a\", \"b\"] protocol=\"tcp\")\n"
      "action(type=\"omrelp\" target=\"r\" port=\"2514\")\n"
      "action(type=\"omfwd\" port=\"1\")\n");
  EXPECT_THAT(Targets(config.targets),
              ElementsAre("siem.example.com:6514/tls", "u:514/udp", "a:514/tcp",
                          "b:514/tcp", "r:2514/relp"));
}

TEST(RsyslogConfTest, FileActionsAndIncludes) {
  RsyslogConfig config = ParseRsyslogConf(
      "$IncludeConfig /etc/rsyslog.d/*.conf\n"
      "include(file=\"/etc/rsyslog.d/x/*.frag\" mode=\"optional\")\n"
      "auth,authpriv.* /var/log/auth.log\n");
  EXPECT_THAT(config.includes,
              ElementsAre("/etc/rsyslog.d/x/*.frag", "/etc/rsyslog.d/*.conf"));
  EXPECT_TRUE(config.writes_local_files);
  EXPECT_TRUE(ParseRsyslogConf("*.* -/var/log/syslog\n").writes_local_files);
  EXPECT_TRUE(ParseRsyslogConf("*.* ?DynFile\n").writes_local_files);
  EXPECT_TRUE(ParseRsyslogConf("action(type=\"omfile\" file=\"/x\")\n")
                  .writes_local_files);
  EXPECT_FALSE(ParseRsyslogConf("$WorkDirectory /var/spool/rsyslog\n"
                                "*.emerg :omusrmsg:*\n")
                   .writes_local_files);
}

TEST(RsyslogConfTest, TruncatedAndHostileInputs) {
  EXPECT_THAT(ParseRsyslogConf("action(type=\"omfwd\" target=\"a").targets,
              IsEmpty());
  EXPECT_THAT(ParseRsyslogConf("*.* @@(o\n*.* @\n*.* @:514\n").targets,
              IsEmpty());
  EXPECT_THAT(ParseRsyslogConf("*.* @[::1\n").targets, IsEmpty());
  std::string deep(1 << 20, '(');
  ParseRsyslogConf("action" + deep);
  ParseRsyslogConf(Junk());
  ParseRsyslogConf(std::string(1 << 20, '"'));
}

// --- syslog-ng -------------------------------------------------------------

TEST(SyslogNgConfTest, DestinationsAndTheirDefaults) {
  SyslogNgConfig config = ParseSyslogNgConf(
      "destination d_a { network(\"a.example\"); };\n"
      "destination d_b { network(\"b\" transport(\"udp\") port(5140)); };\n"
      "destination d_c { syslog(\"c\"); syslog('c2' transport(tls)); };\n"
      "destination d_d { tcp(\"d\" tls(peer-verify(required))); udp6(\"e\"); "
      "};\n"
      "destination d_f { file(\"/var/log/x\"); };\n");
  ASSERT_EQ(config.destinations.size(), 5u);
  EXPECT_THAT(Targets(config.destinations["d_a"].targets),
              ElementsAre("a.example:514/tcp"));
  EXPECT_THAT(Targets(config.destinations["d_b"].targets),
              ElementsAre("b:5140/udp"));
  EXPECT_THAT(Targets(config.destinations["d_c"].targets),
              ElementsAre("c:601/tcp", "c2:6514/tls"));
  EXPECT_THAT(Targets(config.destinations["d_d"].targets),
              ElementsAre("d:514/tls", "e:514/udp"));
  EXPECT_TRUE(config.destinations["d_f"].writes_local_files);
}

TEST(SyslogNgConfTest, LogPathsNameTheUsedDestinations) {
  SyslogNgConfig config = ParseSyslogNgConf(
      "@version: 4.3\n@include \"scl.conf\"\n"
      "log { source(s); destination(d_b); destination(d_a); };\n"
      "log { source(s); destination { udp(\"inline\" port(9)); }; };\n"
      "# log { destination(d_commented); };\n");
  EXPECT_THAT(config.used_destinations, ElementsAre("d_a", "d_b"));
  ASSERT_EQ(config.inline_destinations.size(), 1u);
  EXPECT_THAT(Targets(config.inline_destinations[0].targets),
              ElementsAre("inline:9/udp"));
  EXPECT_THAT(config.includes, ElementsAre("scl.conf"));
}

TEST(SyslogNgConfTest, TruncatedAndHostileInputs) {
  ParseSyslogNgConf("destination d { network(\"a\" port(");
  ParseSyslogNgConf("log { destination(");
  ParseSyslogNgConf(std::string(1 << 20, '{'));
  ParseSyslogNgConf(std::string(1 << 20, ')'));
  ParseSyslogNgConf(Junk());
  ParseSyslogNgConf("@include\n@include \"\n");
  EXPECT_THAT(ParseSyslogNgConf("destination d { network(port(1)); };")
                  .destinations["d"]
                  .targets,
              IsEmpty());
}

// --- logrotate -------------------------------------------------------------

TEST(LogrotateConfTest, GlobalDefaultsApplyToLaterStanzas) {
  LogrotateFile file = ParseLogrotateConf(
      "weekly\nrotate 4\n/var/log/a {\n  daily\n}\nrotate 9\n/var/log/b {\n}\n",
      {});
  ASSERT_EQ(file.stanzas.size(), 2u);
  EXPECT_EQ(file.stanzas[0].options.rotate, 4);
  EXPECT_EQ(file.stanzas[0].options.period, v1::LOG_ROTATION_PERIOD_DAILY);
  EXPECT_EQ(file.stanzas[1].options.rotate, 9);
  EXPECT_EQ(file.stanzas[1].options.period, v1::LOG_ROTATION_PERIOD_WEEKLY);
}

TEST(LogrotateConfTest, MultiLinePathListsAndOneLineStanzas) {
  LogrotateFile file = ParseLogrotateConf(
      "/var/log/syslog\n/var/log/auth.log\n{\n rotate 4\n}\n"
      "\"/var/log/x y\" /var/log/z { maxage 1 }\n",
      {});
  ASSERT_EQ(file.stanzas.size(), 2u);
  EXPECT_THAT(file.stanzas[0].paths,
              ElementsAre("/var/log/syslog", "/var/log/auth.log"));
  EXPECT_THAT(file.stanzas[1].paths, ElementsAre("/var/log/x y", "/var/log/z"));
  EXPECT_EQ(file.stanzas[1].options.maxage_days, 1u);
}

TEST(LogrotateConfTest, ScriptsAreSkipped) {
  LogrotateFile file = ParseLogrotateConf(
      "/var/log/a {\n postrotate\n  rotate 99\n  }\n endscript\n rotate 3\n}\n",
      {});
  ASSERT_EQ(file.stanzas.size(), 1u);
  EXPECT_EQ(file.stanzas[0].options.rotate, 3);
}

TEST(LogrotateConfTest, IncludesCarryTheDefaultsInForce) {
  LogrotateFile file =
      ParseLogrotateConf("daily\ninclude /etc/logrotate.d\nmonthly\n", {});
  ASSERT_EQ(file.includes.size(), 1u);
  EXPECT_EQ(file.includes[0].path, "/etc/logrotate.d");
  EXPECT_EQ(file.includes[0].defaults.period, v1::LOG_ROTATION_PERIOD_DAILY);
  EXPECT_EQ(file.defaults.period, v1::LOG_ROTATION_PERIOD_MONTHLY);
}

TEST(LogrotateConfTest, UnclosedStanzaIsDropped) {
  EXPECT_THAT(ParseLogrotateConf("/var/log/a {\n rotate 1\n", {}).stanzas,
              IsEmpty());
}

TEST(LogrotateConfTest, InvalidCountsAreIgnored) {
  LogrotateFile file = ParseLogrotateConf(
      "rotate -5\nrotate many\nmaxage -1\nrotate 99999999999\n", {});
  EXPECT_FALSE(file.defaults.rotate.has_value());
  EXPECT_FALSE(file.defaults.maxage_days.has_value());
}

TEST(LogrotateConfTest, HostileInputs) {
  ParseLogrotateConf(Junk(), {});
  ParseLogrotateConf(std::string(1 << 20, '{'), {});
  ParseLogrotateConf("/a {\n" + std::string(1 << 20, '}'), {});
  ParseLogrotateConf(
      std::string(1 << 16, '/') + " " + std::string(1 << 16, 'a'), {});
}

TEST(RetentionTest, RotateTimesPeriodBoundedByMaxage) {
  LogrotateOptions options;
  options.rotate = 4;
  options.period = v1::LOG_ROTATION_PERIOD_WEEKLY;
  EXPECT_EQ(RetentionOf(options).days, 28u);
  options.maxage_days = 10;
  EXPECT_EQ(RetentionOf(options).days, 10u);
  options = {};
  options.rotate = 48;
  options.period = v1::LOG_ROTATION_PERIOD_HOURLY;
  EXPECT_EQ(RetentionOf(options).days, 2u);
  options.period = v1::LOG_ROTATION_PERIOD_YEARLY;
  EXPECT_EQ(RetentionOf(options).days, 48u * 365);
}

TEST(RetentionTest, DefaultsKeepNothingAndSizeGivesNoDays) {
  EXPECT_EQ(RetentionOf({}).days, 0u);
  LogrotateOptions options;
  options.rotate = 10;  // rotated by size: no period
  EXPECT_EQ(RetentionOf(options).days, 0u);
  EXPECT_FALSE(RetentionOf(options).unlimited);
}

TEST(RetentionTest, RotateMinusOneKeepsAllUnlessMaxage) {
  LogrotateOptions options;
  options.rotate = -1;
  options.period = v1::LOG_ROTATION_PERIOD_DAILY;
  EXPECT_TRUE(RetentionOf(options).unlimited);
  options.maxage_days = 400;
  EXPECT_FALSE(RetentionOf(options).unlimited);
  EXPECT_EQ(RetentionOf(options).days, 400u);
}

TEST(RetentionTest, HugeCountsSaturate) {
  LogrotateOptions options;
  options.rotate = 2147483647;
  options.period = v1::LOG_ROTATION_PERIOD_YEARLY;
  EXPECT_EQ(RetentionOf(options).days, 4294967295u);
}

// --- audit rules -----------------------------------------------------------

TEST(AuditRulesTest, CountsRulesAndWatchesAndTheLastEnableFlag) {
  AuditRulesSummary summary = ParseAuditRules(
      "-D\n-b 8192\n-e 1\n-w /etc/passwd -p wa -k identity\n"
      "-a always,exit -F arch=b64 -S execve\n-aexit,always -S open\n"
      "-A always,exit -S unlink\n# -w /etc/shadow\n  -e2\n");
  EXPECT_EQ(summary.rules, 4u);
  EXPECT_EQ(summary.enable_flag, 2);
}

TEST(AuditRulesTest, NoEnableLineIsMinusOne) {
  EXPECT_EQ(ParseAuditRules("-D\n-f 1\n").enable_flag, -1);
  EXPECT_EQ(ParseAuditRules("-e\n-e 7\n-e x\n").enable_flag, -1);
  EXPECT_EQ(ParseAuditRules("-W /etc/passwd\n--backlog_wait_time 1\n").rules,
            0u);
}

TEST(AuditRulesTest, HostileInputs) {
  ParseAuditRules(Junk());
  EXPECT_EQ(ParseAuditRules(std::string(1 << 20, '\n') + "-w /x\n").rules, 1u);
}

// --- fixtures --------------------------------------------------------------

TEST(AuditLoggingFixtureTest, Debian12MinimalIsVolatileWithNothingElse) {
  v1::AuditLoggingFacts facts = CollectFixture("debian12_minimal");
  const v1::JournaldState& journald = facts.journald();
  EXPECT_TRUE(journald.installed());
  EXPECT_TRUE(journald.running());
  EXPECT_EQ(journald.storage_setting(), "auto");
  EXPECT_EQ(journald.storage_setting_file(), "");
  EXPECT_EQ(journald.storage(), v1::JOURNAL_STORAGE_VOLATILE);
  EXPECT_FALSE(journald.persistent_directory_exists());
  EXPECT_EQ(journald.persistent_journal_files(), 0u);
  EXPECT_EQ(journald.forward_to_syslog(), v1::FORWARD_TO_SYSLOG_DEFAULT);
  EXPECT_THAT(journald.config_files(),
              ElementsAre("/etc/systemd/journald.conf"));
  EXPECT_FALSE(facts.logs_persistent());
  EXPECT_FALSE(facts.logs_forwarded());
  EXPECT_FALSE(facts.auditd().installed());
  EXPECT_THAT(facts.auditd().rules_files(), IsEmpty());
  ASSERT_EQ(facts.log_daemons_size(), 3);
  EXPECT_EQ(facts.log_daemons(0).name(), "rsyslog");
  EXPECT_EQ(facts.log_daemons(1).name(), "syslog-ng");
  EXPECT_EQ(facts.log_daemons(2).name(), "systemd-journal-upload");
  for (const v1::LogDaemon& daemon : facts.log_daemons()) {
    EXPECT_FALSE(daemon.installed()) << daemon.name();
    EXPECT_FALSE(daemon.running()) << daemon.name();
  }
  EXPECT_THAT(facts.log_retention(), IsEmpty());
}

TEST(AuditLoggingFixtureTest, PersistentJournalFollowsDropInPrecedence) {
  v1::AuditLoggingFacts facts = CollectFixture("persistent_journal");
  const v1::JournaldState& journald = facts.journald();
  EXPECT_EQ(journald.storage_setting(), "persistent");
  EXPECT_EQ(journald.storage_setting_file(),
            "/etc/systemd/journald.conf.d/50-persistent.conf");
  EXPECT_EQ(journald.storage(), v1::JOURNAL_STORAGE_PERSISTENT);
  EXPECT_TRUE(journald.persistent_directory_exists());
  EXPECT_EQ(journald.persistent_journal_files(), 4u);
  EXPECT_EQ(journald.system_max_use_bytes(), 2ull << 30);  // /etc wins
  EXPECT_EQ(journald.system_keep_free_bytes(), 3ull << 29);
  EXPECT_EQ(journald.max_retention_seconds(), 31557600u);
  EXPECT_EQ(journald.forward_to_syslog(), v1::FORWARD_TO_SYSLOG_NO);
  // The /dev/null link masks 60-vendor-none.conf (Storage=none) of /usr/lib.
  EXPECT_THAT(journald.config_files(),
              ElementsAre("/etc/systemd/journald.conf",
                          "/etc/systemd/journald.conf.d/10-defaults.conf",
                          "/etc/systemd/journald.conf.d/50-persistent.conf",
                          "/run/systemd/journald.conf.d/90-retention.conf"));
  EXPECT_TRUE(facts.logs_persistent());
  const v1::LogDaemon& upload = Daemon(facts, "systemd-journal-upload");
  EXPECT_TRUE(upload.installed());
  EXPECT_TRUE(upload.running());
  EXPECT_THAT(Targets(upload), ElementsAre("journal.example.net:19532/https"));
  EXPECT_THAT(upload.config_files(),
              ElementsAre("/etc/systemd/journal-upload.conf"));
  EXPECT_TRUE(facts.logs_forwarded());
}

TEST(AuditLoggingFixtureTest, RsyslogForwardingLegacyAndRainerScript) {
  v1::AuditLoggingFacts facts = CollectFixture("rsyslog_forwarding");
  const v1::LogDaemon& rsyslog = Daemon(facts, "rsyslog");
  EXPECT_TRUE(rsyslog.installed());
  EXPECT_TRUE(rsyslog.running());
  EXPECT_TRUE(rsyslog.writes_local_files());
  EXPECT_THAT(
      Targets(rsyslog),
      ElementsAre("192.0.2.10:514/udp", "[2001:db8::5]:5514/udp",
                  "audit.example.com:514/udp", "logs.example.com:10514/tcp",
                  "relp.example.com:2514/relp", "siem.example.com:6514/tls"));
  EXPECT_THAT(rsyslog.config_files(),
              ElementsAre("/etc/rsyslog.conf", "/etc/rsyslog.d/50-legacy.conf",
                          "/etc/rsyslog.d/60-rainer.conf",
                          "/etc/rsyslog.d/extra/relp.frag"));
  EXPECT_EQ(facts.journald().storage(), v1::JOURNAL_STORAGE_VOLATILE);
  EXPECT_TRUE(facts.logs_persistent());
  EXPECT_TRUE(facts.logs_forwarded());
  ASSERT_EQ(facts.log_retention_size(), 2);
  EXPECT_EQ(facts.log_retention(0).path(), "/var/log/auth.log");
  EXPECT_EQ(facts.log_retention(1).path(), "/var/log/syslog");
  for (const v1::LogRetention& retention : facts.log_retention()) {
    EXPECT_EQ(retention.config_file(), "/etc/logrotate.d/rsyslog");
    EXPECT_EQ(retention.rotate(), 4);
    EXPECT_EQ(retention.period(), v1::LOG_ROTATION_PERIOD_WEEKLY);
    EXPECT_EQ(retention.retention_days(), 28u);
  }
}

TEST(AuditLoggingFixtureTest, SyslogNgForwardingUsesOnlyLoggedDestinations) {
  v1::AuditLoggingFacts facts = CollectFixture("syslog_ng_forwarding");
  const v1::LogDaemon& ng = Daemon(facts, "syslog-ng");
  EXPECT_TRUE(ng.installed());
  EXPECT_TRUE(ng.running());
  EXPECT_TRUE(ng.writes_local_files());
  EXPECT_THAT(Targets(ng),
              ElementsAre("10.1.2.3:514/udp", "legacy.example.org:1514/tcp",
                          "logs.example.org:6514/tls"));
  EXPECT_THAT(ng.config_files(),
              ElementsAre("/etc/syslog-ng/conf.d/remote.conf",
                          "/etc/syslog-ng/syslog-ng.conf",
                          "/usr/share/syslog-ng/include/scl.conf"));
  EXPECT_TRUE(facts.logs_persistent());
  EXPECT_TRUE(facts.logs_forwarded());
}

TEST(AuditLoggingFixtureTest, AuditdWithImmutableRules) {
  v1::AuditLoggingFacts facts =
      CollectFixture("auditd_immutable", Reading(2, 1, 390));
  const v1::AuditdState& auditd = facts.auditd();
  EXPECT_TRUE(auditd.installed());
  EXPECT_TRUE(auditd.running());
  EXPECT_EQ(auditd.loaded_rules(), 8u);
  EXPECT_TRUE(auditd.immutable());
  ASSERT_EQ(auditd.rules_files_size(), 4);
  EXPECT_EQ(auditd.rules_files(0).path(), "/etc/audit/audit.rules");
  EXPECT_EQ(auditd.rules_files(0).rules(), 8u);
  EXPECT_EQ(auditd.rules_files(0).enable_flag(), 2);
  EXPECT_EQ(auditd.rules_files(1).path(), "/etc/audit/rules.d/50-cis.rules");
  EXPECT_EQ(auditd.rules_files(3).path(), "/etc/audit/rules.d/audit.rules");
  EXPECT_EQ(auditd.rules_files(3).enable_flag(), -1);
  const v1::KernelAuditStatus& kernel = auditd.kernel();
  EXPECT_EQ(kernel.query(), v1::KERNEL_AUDIT_QUERY_OK);
  EXPECT_EQ(kernel.error(), "");
  EXPECT_EQ(kernel.enabled(), v1::KERNEL_AUDIT_ENABLED_LOCKED);
  EXPECT_EQ(kernel.failure_mode(), v1::KERNEL_AUDIT_FAILURE_MODE_PRINTK);
  EXPECT_EQ(kernel.backlog_limit(), 8192u);
  EXPECT_TRUE(kernel.daemon_registered());
}

TEST(AuditLoggingFixtureTest, AuditdInstalledButStopped) {
  v1::AuditLoggingFacts facts =
      CollectFixture("auditd_stopped", Reading(0, 1, 0));
  const v1::AuditdState& auditd = facts.auditd();
  EXPECT_TRUE(auditd.installed());
  EXPECT_FALSE(auditd.running());
  EXPECT_EQ(auditd.loaded_rules(), 1u);  // rules.d, not the stale audit.rules
  EXPECT_FALSE(auditd.immutable());
  EXPECT_EQ(auditd.kernel().enabled(), v1::KERNEL_AUDIT_ENABLED_DISABLED);
  EXPECT_FALSE(auditd.kernel().daemon_registered());
}

TEST(AuditLoggingFixtureTest, KernelQueryFailuresAreFacts) {
  v1::AuditLoggingFacts facts =
      CollectFixture("auditd_stopped", absl::PermissionDeniedError("EPERM"));
  EXPECT_EQ(facts.auditd().kernel().query(),
            v1::KERNEL_AUDIT_QUERY_PERMISSION_DENIED);
  EXPECT_EQ(facts.auditd().kernel().error(), "EPERM");
  EXPECT_EQ(facts.auditd().kernel().enabled(),
            v1::KERNEL_AUDIT_ENABLED_UNSPECIFIED);
  facts = CollectFixture("nothing", absl::UnimplementedError("ECONNREFUSED"));
  EXPECT_EQ(facts.auditd().kernel().query(),
            v1::KERNEL_AUDIT_QUERY_UNSUPPORTED);
  facts = CollectFixture("nothing", absl::DeadlineExceededError("late"));
  EXPECT_EQ(facts.auditd().kernel().query(), v1::KERNEL_AUDIT_QUERY_ERROR);
}

TEST(AuditLoggingFixtureTest, ShortLogrotateRetention) {
  v1::AuditLoggingFacts facts = CollectFixture("logrotate_short");
  ASSERT_EQ(facts.log_retention_size(), 4);
  const v1::LogRetention& auth = facts.log_retention(0);
  EXPECT_EQ(auth.path(), "/var/log/auth.log");
  EXPECT_EQ(auth.rotate(), 4);
  EXPECT_EQ(auth.period(), v1::LOG_ROTATION_PERIOD_DAILY);
  EXPECT_EQ(auth.retention_days(), 4u);
  const v1::LogRetention& messages = facts.log_retention(1);
  EXPECT_EQ(messages.path(), "/var/log/messages");
  EXPECT_EQ(messages.rotate(), 60);
  EXPECT_EQ(messages.maxage_days(), 14u);
  EXPECT_EQ(messages.retention_days(), 14u);
  const v1::LogRetention& secure = facts.log_retention(2);
  EXPECT_EQ(secure.rotate(), -1);
  EXPECT_EQ(secure.period(), v1::LOG_ROTATION_PERIOD_MONTHLY);
  EXPECT_TRUE(secure.retention_unlimited());
  const v1::LogRetention& syslog = facts.log_retention(3);
  EXPECT_EQ(syslog.path(), "/var/log/syslog");
  EXPECT_EQ(syslog.retention_days(), 4u);  // the .dpkg-old file is not read
}

TEST(AuditLoggingFixtureTest, NothingAtAll) {
  v1::AuditLoggingFacts facts = CollectFixture("nothing");
  EXPECT_FALSE(facts.journald().installed());
  EXPECT_FALSE(facts.journald().running());
  EXPECT_EQ(facts.journald().storage(), v1::JOURNAL_STORAGE_UNSPECIFIED);
  EXPECT_EQ(facts.journald().storage_setting(), "auto");
  EXPECT_THAT(facts.journald().config_files(), IsEmpty());
  EXPECT_FALSE(facts.auditd().installed());
  EXPECT_FALSE(facts.logs_persistent());
  EXPECT_FALSE(facts.logs_forwarded());
  EXPECT_THAT(facts.log_retention(), IsEmpty());
}

TEST(AuditLoggingFixtureTest, CountersAreNotFacts) {
  KernelAuditReading a = Reading(1, 1, 390);
  KernelAuditReading b = a;
  b.lost = 99999;
  b.backlog = 12;
  v1::AuditLoggingFacts first = CollectFixture("auditd_immutable", a);
  v1::AuditLoggingFacts second = CollectFixture("auditd_immutable", b);
  EXPECT_EQ(first.SerializeAsString(), second.SerializeAsString());
}

TEST(AuditLoggingFixtureTest, EveryFixtureCollectsIdenticalBytesTwice) {
  for (const char* name :
       {"debian12_minimal", "persistent_journal", "rsyslog_forwarding",
        "syslog_ng_forwarding", "auditd_immutable", "auditd_stopped",
        "logrotate_short", "nothing"}) {
    EXPECT_EQ(CollectFixture(name).SerializeAsString(),
              CollectFixture(name).SerializeAsString())
        << name;
  }
}

}  // namespace
}  // namespace evidentia::agent
