#include "agent/linux/probes/time_sync_probe.h"

#include <sys/timex.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "agent/linux/probes/time_sync_fake_kernel_clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Optional;

fs::path Fixture(const std::string& name) {
  return fs::path(EVIDENTIA_SOURCE_DIR) / "tests/fixtures/time_sync" / name;
}

v1::TimeSyncFacts CollectFixture(const std::string& name,
                                 absl::StatusOr<KernelClockReading> clock =
                                     FakeKernelClock::Synchronised()) {
  TimeSyncProbe probe(std::make_shared<FakeKernelClock>(std::move(clock)));
  absl::StatusOr<v1::Facts> facts = probe.Collect(Fixture(name));
  EXPECT_TRUE(facts.ok()) << facts.status();
  if (!facts.ok()) return {};
  EXPECT_TRUE(facts->has_time_sync());
  return facts->time_sync();
}

std::vector<std::string> Ids(const v1::TimeSyncFacts& facts) {
  std::vector<std::string> ids;
  for (const v1::TimeSyncDaemon& daemon : facts.daemons()) {
    ids.push_back(daemon.id());
  }
  return ids;
}

std::vector<std::string> List(
    const google::protobuf::RepeatedPtrField<std::string>& field) {
  return {field.begin(), field.end()};
}

// --- ErrorBoundMs / StatusFlagNames -------------------------------------

TEST(ErrorBoundTest, RoundsUpToTheChecksSteps) {
  EXPECT_EQ(ErrorBoundMs(0), 100u);
  EXPECT_EQ(ErrorBoundMs(1'000), 100u);
  EXPECT_EQ(ErrorBoundMs(12'345), 100u);
  EXPECT_EQ(ErrorBoundMs(100'000), 100u);
  EXPECT_EQ(ErrorBoundMs(100'001), 1000u);
  EXPECT_EQ(ErrorBoundMs(1'000'000), 1000u);
  EXPECT_EQ(ErrorBoundMs(9'999'999), 10000u);
}

TEST(ErrorBoundTest, KernelCapAndBeyondAre16Seconds) {
  EXPECT_EQ(ErrorBoundMs(10'000'001), 16000u);
  EXPECT_EQ(ErrorBoundMs(16'000'000), 16000u);
  EXPECT_EQ(ErrorBoundMs(INT64_MAX), 16000u);
}

TEST(ErrorBoundTest, NegativeCountsAsZero) {
  EXPECT_EQ(ErrorBoundMs(-5), 100u);
  EXPECT_EQ(ErrorBoundMs(INT64_MIN), 100u);
}

// A healthy chrony host: corrected to 2 ms, then 0.5 ms/s of growth for a
// 64 s poll. The fact must not change between two collections of it.
TEST(ErrorBoundTest, StableAcrossOnePollOfAHealthyHost) {
  const uint32_t after_correction = ErrorBoundMs(2'000);
  for (int64_t seconds = 0; seconds <= 64; ++seconds) {
    EXPECT_EQ(ErrorBoundMs(2'000 + 500 * seconds), after_correction)
        << seconds << " s after the correction";
  }
}

TEST(StatusFlagNamesTest, NamesSetBitsInBitOrder) {
  EXPECT_THAT(StatusFlagNames(STA_NANO | STA_UNSYNC | STA_PLL),
              ElementsAre("STA_PLL", "STA_UNSYNC", "STA_NANO"));
  EXPECT_THAT(StatusFlagNames(0), IsEmpty());
}

TEST(StatusFlagNamesTest, IgnoresUnknownBits) {
  EXPECT_THAT(StatusFlagNames(int64_t{1} << 40 | STA_CLK),
              ElementsAre("STA_CLK"));
}

// --- MatchesSimpleGlob ---------------------------------------------------

TEST(SimpleGlobTest, MatchesStarSuffix) {
  EXPECT_TRUE(MatchesSimpleGlob("*.conf", "site.conf"));
  EXPECT_TRUE(MatchesSimpleGlob("*.conf", ".conf"));
  EXPECT_FALSE(MatchesSimpleGlob("*.conf", "site.conf~"));
  EXPECT_TRUE(MatchesSimpleGlob("a*b*c", "aXXbYYc"));
  EXPECT_FALSE(MatchesSimpleGlob("a*b*c", "aXXbYY"));
  EXPECT_TRUE(MatchesSimpleGlob("exact", "exact"));
  EXPECT_FALSE(MatchesSimpleGlob("", "x"));
}

TEST(SimpleGlobTest, ManyStarsStayFast) {
  std::string pattern(5000, '*');
  pattern += "b";
  EXPECT_FALSE(MatchesSimpleGlob(pattern, std::string(5000, 'a')));
}

// --- ParseChronyConf -----------------------------------------------------

TEST(ChronyConfParserTest, ReadsSourcesAndDirectories) {
  ChronyConf conf = ParseChronyConf(
      "pool 2.debian.pool.ntp.org iburst\n"
      "server ntp.example.com iburst\n"
      "Peer 10.0.0.7\n"
      "refclock PHC /dev/ptp0 poll 2\n"
      "confdir /etc/chrony/conf.d /usr/lib/chrony/conf.d\n"
      "sourcedir /run/chrony-dhcp\n"
      "include /etc/chrony/extra/*.conf\n");
  EXPECT_THAT(conf.sources,
              ElementsAre("2.debian.pool.ntp.org", "ntp.example.com",
                          "10.0.0.7", "refclock PHC /dev/ptp0"));
  EXPECT_THAT(conf.confdirs,
              ElementsAre("/etc/chrony/conf.d", "/usr/lib/chrony/conf.d"));
  EXPECT_THAT(conf.sourcedirs, ElementsAre("/run/chrony-dhcp"));
  EXPECT_THAT(conf.includes, ElementsAre("/etc/chrony/extra/*.conf"));
}

TEST(ChronyConfParserTest, SkipsAllCommentStyles) {
  ChronyConf conf = ParseChronyConf(
      "# server a\n% server b\n; server c\n! server d\n  #server e\n");
  EXPECT_THAT(conf.sources, IsEmpty());
}

TEST(ChronyConfParserTest, SkipsDirectivesWithoutArgument) {
  ChronyConf conf = ParseChronyConf("server\npool\nconfdir\nrefclock\n");
  EXPECT_THAT(conf.sources, IsEmpty());
  EXPECT_THAT(conf.confdirs, IsEmpty());
}

TEST(ChronyConfParserTest, SurvivesBinaryAndHugeInput) {
  std::string junk;
  for (int i = 0; i < 4096; ++i) junk.push_back(static_cast<char>(i));
  junk += "\nserver " + std::string(1 << 20, 'x') + "\r\nserver ok\r\n";
  ChronyConf conf = ParseChronyConf(junk);
  ASSERT_EQ(conf.sources.size(), 2u);
  EXPECT_EQ(conf.sources[1], "ok");
}

// --- ParseTimesyncdConf --------------------------------------------------

TEST(TimesyncdConfParserTest, CommentedDefaultsSetNothing) {
  TimesyncdServers servers = ParseTimesyncdConf(
      "[Time]\n#NTP=\n#FallbackNTP=0.debian.pool.ntp.org\n", {});
  EXPECT_THAT(servers.ntp, IsEmpty());
  EXPECT_FALSE(servers.fallback.has_value());
}

TEST(TimesyncdConfParserTest, MergesListsAndResetsOnEmpty) {
  TimesyncdServers servers = ParseTimesyncdConf(
      "[Time]\nNTP=a b\nNTP = c\nFallbackNTP=x\nFallbackNTP=\n", {});
  EXPECT_THAT(servers.ntp, ElementsAre("a", "b", "c"));
  ASSERT_TRUE(servers.fallback.has_value());
  EXPECT_THAT(*servers.fallback, IsEmpty());
  servers = ParseTimesyncdConf("[Time]\nNTP=\nNTP=d\n", std::move(servers));
  EXPECT_THAT(servers.ntp, ElementsAre("d"));
}

TEST(TimesyncdConfParserTest, OnlyTheTimeSection) {
  TimesyncdServers servers =
      ParseTimesyncdConf("NTP=before\n[Other]\nNTP=other\n[Time]\nNTP=t\n", {});
  EXPECT_THAT(servers.ntp, ElementsAre("t"));
}

// timesyncd.conf is read with systemd's parser: a backslash continues the
// line.
TEST(TimesyncdConfParserTest, JoinsContinuationLines) {
  TimesyncdServers servers =
      ParseTimesyncdConf("[Time]\nNTP=a.example \\\n  b.example\n", {});
  EXPECT_THAT(servers.ntp, ElementsAre("a.example", "b.example"));
}

TEST(TimesyncdConfParserTest, SurvivesMalformedLines) {
  TimesyncdServers servers = ParseTimesyncdConf(
      "[Time\n=\nNTP\n[Time]\n=x\n;NTP=y\nNTP=\x01\xff\n", {});
  EXPECT_THAT(servers.ntp, ElementsAre("\x01\xff"));
}

// --- ParseNtpConf / ParseOpenntpdConf ------------------------------------

TEST(NtpConfParserTest, ReadsServersPoolsPeersAndRefclocks) {
  EXPECT_THAT(
      ParseNtpConf("server time.example.com iburst # main\n"
                   "server -4 v4.example.com\n"
                   "pool 0.debian.pool.ntp.org iburst\n"
                   "peer 10.0.0.2\n"
                   "refclock shm unit 0 refid GPS\n"
                   "refclock gpsd\n"
                   "restrict default kod\n"
                   "#server commented.example.com\n"),
      ElementsAre("time.example.com", "v4.example.com", "0.debian.pool.ntp.org",
                  "10.0.0.2", "refclock shm unit 0", "refclock gpsd"));
}

TEST(NtpConfParserTest, SkipsServerWithOnlyFlags) {
  EXPECT_THAT(ParseNtpConf("server -4\nserver\npool -6 -4\n"), IsEmpty());
}

TEST(OpenntpdConfParserTest, ReadsServersAndSensors) {
  EXPECT_THAT(ParseOpenntpdConf("servers pool.ntp.org\n"
                                "server \"ntp.example.org\" weight 5\n"
                                "sensor *\n"
                                "constraints from \"https://example.com\"\n"
                                "# server x\n"),
              ElementsAre("pool.ntp.org", "ntp.example.org", "sensor *"));
}

TEST(OpenntpdConfParserTest, SkipsEmptyQuotedName) {
  EXPECT_THAT(ParseOpenntpdConf("server \"\"\nserver\n"), IsEmpty());
}

// --- Fixtures ------------------------------------------------------------

TEST(TimeSyncProbeTest, ChronyRunningWithPoolConfdirSourcedirAndInclude) {
  v1::TimeSyncFacts facts = CollectFixture("chrony_running");
  EXPECT_THAT(Ids(facts), ElementsAre("chrony"));  // timesyncd: config-files
  const v1::TimeSyncDaemon& chrony = facts.daemons(0);
  EXPECT_TRUE(chrony.installed());
  EXPECT_TRUE(chrony.running());
  EXPECT_EQ(chrony.version(), "4.3-2+deb12u3");
  EXPECT_EQ(chrony.process(), "chronyd");
  EXPECT_THAT(
      List(chrony.sources()),
      ElementsAre("192.0.2.53", "2.debian.pool.ntp.org", "ntp1.example.com",
                  "ntp2.example.com", "refclock PHC /dev/ptp0"));
  EXPECT_THAT(
      List(chrony.config_files()),
      ElementsAre("/etc/chrony/chrony.conf", "/etc/chrony/extra/ptp.conf",
                  "/etc/chrony/conf.d/site.conf",
                  "/run/chrony-dhcp/eth0.sources",
                  "/etc/chrony/sources.d/site.sources"));
  EXPECT_TRUE(chrony.has_sources());
  EXPECT_FALSE(chrony.uses_distribution_default());
}

TEST(TimeSyncProbeTest, ChronyInstalledButNotRunning) {
  v1::TimeSyncFacts facts = CollectFixture("chrony_not_running");
  ASSERT_THAT(Ids(facts), ElementsAre("chrony"));
  EXPECT_TRUE(facts.daemons(0).installed());
  EXPECT_FALSE(facts.daemons(0).running());
  EXPECT_THAT(List(facts.daemons(0).sources()),
              ElementsAre("2.debian.pool.ntp.org"));
}

TEST(TimeSyncProbeTest, TimesyncdWithDefaultsUsesDistributionDefault) {
  v1::TimeSyncFacts facts = CollectFixture("timesyncd_default");
  ASSERT_THAT(Ids(facts), ElementsAre("systemd-timesyncd"));
  const v1::TimeSyncDaemon& timesyncd = facts.daemons(0);
  EXPECT_TRUE(timesyncd.installed());
  EXPECT_TRUE(timesyncd.running());  // comm cut to 15, argv[0] in full
  EXPECT_THAT(timesyncd.sources(), IsEmpty());
  EXPECT_THAT(timesyncd.fallback_sources(), IsEmpty());
  EXPECT_TRUE(timesyncd.uses_distribution_default());
  EXPECT_TRUE(timesyncd.has_sources());
  EXPECT_THAT(List(timesyncd.config_files()),
              ElementsAre("/etc/systemd/timesyncd.conf"));
}

TEST(TimeSyncProbeTest, TimesyncdDropInsOverrideByNameAndClearFallback) {
  v1::TimeSyncFacts facts = CollectFixture("timesyncd_dropins");
  ASSERT_THAT(Ids(facts), ElementsAre("systemd-timesyncd"));
  const v1::TimeSyncDaemon& timesyncd = facts.daemons(0);
  // /etc's 50-vendor.conf hides /usr/lib's: vendor.example.net is unused.
  EXPECT_THAT(List(timesyncd.sources()),
              ElementsAre("ntp1.corp.example", "ntp2.corp.example",
                          "ntp3.corp.example"));
  EXPECT_THAT(timesyncd.fallback_sources(), IsEmpty());
  EXPECT_FALSE(timesyncd.uses_distribution_default());
  EXPECT_TRUE(timesyncd.has_sources());
  EXPECT_THAT(List(timesyncd.config_files()),
              ElementsAre("/etc/systemd/timesyncd.conf",
                          "/etc/systemd/timesyncd.conf.d/50-vendor.conf",
                          "/etc/systemd/timesyncd.conf.d/60-corp.conf"));
}

TEST(TimeSyncProbeTest, NtpsecRunningHidesTransitionalNtp) {
  v1::TimeSyncFacts facts = CollectFixture("ntpsec_running");
  ASSERT_THAT(Ids(facts), ElementsAre("ntpsec"));
  const v1::TimeSyncDaemon& ntpsec = facts.daemons(0);
  EXPECT_TRUE(ntpsec.installed());
  EXPECT_TRUE(ntpsec.running());
  EXPECT_EQ(ntpsec.process(), "ntpd");
  EXPECT_THAT(List(ntpsec.sources()),
              ElementsAre("0.debian.pool.ntp.org", "1.debian.pool.ntp.org",
                          "nts.netnod.se", "refclock shm unit 0",
                          "time.cloudflare.com"));
}

TEST(TimeSyncProbeTest, OpenntpdRunning) {
  v1::TimeSyncFacts facts = CollectFixture("openntpd_running");
  ASSERT_THAT(Ids(facts), ElementsAre("openntpd"));
  EXPECT_TRUE(facts.daemons(0).running());
  EXPECT_THAT(List(facts.daemons(0).sources()),
              ElementsAre("ntp.example.org", "pool.ntp.org", "sensor *"));
  EXPECT_THAT(List(facts.daemons(0).config_files()),
              ElementsAre("/etc/openntpd/ntpd.conf"));
}

TEST(TimeSyncProbeTest, NoDaemonInstalled) {
  v1::TimeSyncFacts facts = CollectFixture("none_installed");
  EXPECT_THAT(facts.daemons(), IsEmpty());  // chrony only config-files
}

TEST(TimeSyncProbeTest, UnpackagedNtpdIsCreditedByItsConfig) {
  v1::TimeSyncFacts facts = CollectFixture("ntp_no_dpkg");
  ASSERT_THAT(Ids(facts), ElementsAre("ntp"));
  EXPECT_TRUE(facts.daemons(0).installed());
  EXPECT_TRUE(facts.daemons(0).running());
  EXPECT_EQ(facts.daemons(0).version(), "");
  EXPECT_THAT(List(facts.daemons(0).sources()),
              ElementsAre("10.0.0.1", "10.0.0.2"));
}

TEST(TimeSyncProbeTest, SynchronisedKernelClock) {
  v1::TimeSyncFacts facts = CollectFixture("chrony_running");
  EXPECT_TRUE(facts.kernel_clock_read());
  EXPECT_TRUE(facts.synchronised());
  EXPECT_EQ(facts.clock_state(), v1::KERNEL_CLOCK_STATE_OK);
  EXPECT_THAT(List(facts.status_flags()), ElementsAre("STA_PLL", "STA_NANO"));
  EXPECT_EQ(facts.max_error_bound_ms(), 100u);  // 12.345 ms
  EXPECT_EQ(facts.est_error_bound_ms(), 100u);  // 0.456 ms
  EXPECT_EQ(facts.kernel_clock_error(), "");
}

TEST(TimeSyncProbeTest, UnsynchronisedKernelWithBigMaxError) {
  v1::TimeSyncFacts facts =
      CollectFixture("chrony_running", FakeKernelClock::Unsynchronised());
  EXPECT_TRUE(facts.kernel_clock_read());
  EXPECT_FALSE(facts.synchronised());
  EXPECT_EQ(facts.clock_state(), v1::KERNEL_CLOCK_STATE_ERROR);
  EXPECT_THAT(List(facts.status_flags()),
              ElementsAre("STA_UNSYNC", "STA_NANO"));
  EXPECT_EQ(facts.max_error_bound_ms(), 16000u);
}

TEST(TimeSyncProbeTest, UnsyncFlagAloneMeansNotSynchronised) {
  KernelClockReading reading = FakeKernelClock::Synchronised();
  reading.status |= STA_UNSYNC;  // TIME_OK returned, but the flag is set
  EXPECT_FALSE(CollectFixture("none_installed", reading).synchronised());
}

TEST(TimeSyncProbeTest, TimeErrorAloneMeansNotSynchronised) {
  KernelClockReading reading = FakeKernelClock::Synchronised();
  reading.clock_state = TIME_ERROR;  // e.g. PPS signal lost
  EXPECT_FALSE(CollectFixture("none_installed", reading).synchronised());
}

TEST(TimeSyncProbeTest, LeapSecondPendingIsStillSynchronised) {
  KernelClockReading reading = FakeKernelClock::Synchronised();
  reading.clock_state = TIME_INS;
  reading.status |= STA_INS;
  v1::TimeSyncFacts facts = CollectFixture("none_installed", reading);
  EXPECT_TRUE(facts.synchronised());
  EXPECT_EQ(facts.clock_state(), v1::KERNEL_CLOCK_STATE_INSERT);
}

TEST(TimeSyncProbeTest, UnknownClockStateIsOther) {
  KernelClockReading reading = FakeKernelClock::Synchronised();
  reading.clock_state = 42;
  EXPECT_EQ(CollectFixture("none_installed", reading).clock_state(),
            v1::KERNEL_CLOCK_STATE_OTHER);
}

TEST(TimeSyncProbeTest, KernelRefusingIsAFactNotAnError) {
  v1::TimeSyncFacts facts = CollectFixture(
      "chrony_running",
      absl::PermissionDeniedError("adjtimex: Operation not permitted"));
  EXPECT_FALSE(facts.kernel_clock_read());
  EXPECT_FALSE(facts.synchronised());
  EXPECT_EQ(facts.kernel_clock_error(), "adjtimex: Operation not permitted");
  EXPECT_EQ(facts.clock_state(), v1::KERNEL_CLOCK_STATE_UNSPECIFIED);
  EXPECT_EQ(facts.max_error_bound_ms(), 0u);
  EXPECT_THAT(Ids(facts), ElementsAre("chrony"));
}

TEST(TimeSyncProbeTest, EmptyRootHasNoDaemons) {
  fs::path root = fs::path(testing::TempDir()) / "time_sync_empty_root";
  fs::create_directories(root);
  TimeSyncProbe probe(
      std::make_shared<FakeKernelClock>(FakeKernelClock::Synchronised()));
  absl::StatusOr<v1::Facts> facts = probe.Collect(root);
  ASSERT_TRUE(facts.ok()) << facts.status();
  EXPECT_THAT(facts->time_sync().daemons(), IsEmpty());
}

TEST(TimeSyncProbeTest, ChronyIncludeLoopEnds) {
  fs::path root = fs::path(testing::TempDir()) / "time_sync_loop_root";
  fs::create_directories(root / "etc/chrony");
  {
    std::FILE* f = std::fopen((root / "etc/chrony/chrony.conf").c_str(), "w");
    ASSERT_NE(f, nullptr);
    // Included three times over, and under a second name.
    std::fputs(
        "server a.example\ninclude /etc/chrony/chrony.conf\n"
        "include /etc/chrony/chrony.conf\ninclude /etc/chrony/alias.conf\n",
        f);
    std::fclose(f);
  }
  fs::remove(root / "etc/chrony/alias.conf");
  fs::create_symlink("chrony.conf", root / "etc/chrony/alias.conf");
  fs::create_directories(root / "usr/sbin");
  std::fclose(std::fopen((root / "usr/sbin/chronyd").c_str(), "w"));
  TimeSyncProbe probe(
      std::make_shared<FakeKernelClock>(FakeKernelClock::Synchronised()));
  absl::StatusOr<v1::Facts> facts = probe.Collect(root);
  ASSERT_TRUE(facts.ok()) << facts.status();
  ASSERT_EQ(facts->time_sync().daemons_size(), 1);
  const v1::TimeSyncDaemon& chrony = facts->time_sync().daemons(0);
  EXPECT_TRUE(chrony.installed());  // binary, no dpkg database
  EXPECT_THAT(List(chrony.sources()), ElementsAre("a.example"));
  // Read once: the loop is neither followed to the depth limit nor listed
  // again in the facts.
  EXPECT_THAT(List(chrony.config_files()),
              ElementsAre("/etc/chrony/chrony.conf"));
}

TEST(TimeSyncProbeTest, TwoCollectionsAreIdentical) {
  TimeSyncProbe probe(
      std::make_shared<FakeKernelClock>(FakeKernelClock::Synchronised()));
  absl::StatusOr<v1::Facts> a = probe.Collect(Fixture("chrony_running"));
  absl::StatusOr<v1::Facts> b = probe.Collect(Fixture("chrony_running"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->SerializeAsString(), b->SerializeAsString());
}

}  // namespace
}  // namespace evidentia::agent
