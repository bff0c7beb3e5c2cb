// The linux.time_sync checks of policies/checks/, graded on the probe's
// fixture trees (with a fake kernel clock) and on facts built in code.
#include <sys/timex.h>

#include <filesystem>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "agent/linux/probes/time_sync_fake_kernel_clock.h"
#include "agent/linux/probes/time_sync_probe.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/checks.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;
using ::evidentia::testing::EvaluateCheck;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

const absl::Time kNow = absl::FromUnixSeconds(1'796'000'000);

v1::Facts CollectFixture(const std::string& name,
                         absl::StatusOr<KernelClockReading> clock =
                             FakeKernelClock::Synchronised()) {
  TimeSyncProbe probe(std::make_shared<FakeKernelClock>(std::move(clock)));
  absl::StatusOr<v1::Facts> facts = probe.Collect(
      fs::path(EVIDENTIA_SOURCE_DIR) / "tests/fixtures/time_sync" / name);
  EXPECT_TRUE(facts.ok()) << facts.status();
  return facts.ok() ? *facts : v1::Facts();
}

KernelClockReading WithMaxError(int64_t microseconds) {
  KernelClockReading reading = FakeKernelClock::Synchronised();
  reading.max_error_us = microseconds;
  return reading;
}

// --- linux.time_sync.daemon_running --------------------------------------

TEST(TimeSyncDaemonRunningCheckTest, PassesForEachRunningDaemonWithSources) {
  for (const char* fixture :
       {"chrony_running", "timesyncd_default", "timesyncd_dropins",
        "ntpsec_running", "openntpd_running", "ntp_no_dpkg"}) {
    policy::CheckResult result = EvaluateCheck("linux.time_sync.daemon_running",
                                               CollectFixture(fixture), kNow);
    EXPECT_EQ(result.verdict, policy::Verdict::kPass) << fixture;
    EXPECT_THAT(result.reasons, IsEmpty()) << fixture;
  }
}

TEST(TimeSyncDaemonRunningCheckTest, FailsWhenNothingIsInstalled) {
  policy::CheckResult result = EvaluateCheck(
      "linux.time_sync.daemon_running", CollectFixture("none_installed"), kNow);
  EXPECT_EQ(result.verdict, policy::Verdict::kFail);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("no time synchronisation daemon is "
                                    "running with a time source: install "
                                    "chrony")));
}

TEST(TimeSyncDaemonRunningCheckTest, FailsAndWarnsWhenInstalledNotRunning) {
  policy::CheckResult result =
      EvaluateCheck("linux.time_sync.daemon_running",
                    CollectFixture("chrony_not_running"), kNow);
  EXPECT_EQ(result.verdict, policy::Verdict::kFail);
  EXPECT_THAT(
      result.reasons,
      ElementsAre(HasSubstr("no time synchronisation daemon is running"),
                  "chrony is installed but not running: start it (systemctl "
                  "enable --now chrony) or remove the package"));
}

TEST(TimeSyncDaemonRunningCheckTest, FailsWhenRunningWithoutSources) {
  v1::Facts facts;
  v1::TimeSyncDaemon* chrony = facts.mutable_time_sync()->add_daemons();
  chrony->set_id("chrony");
  chrony->set_installed(true);
  chrony->set_running(true);
  chrony->add_config_files("/etc/chrony/chrony.conf");
  policy::CheckResult result =
      EvaluateCheck("linux.time_sync.daemon_running", facts, kNow);
  EXPECT_EQ(result.verdict, policy::Verdict::kFail);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("no time synchronisation daemon"),
                          HasSubstr("chrony runs with no time source "
                                    "configured: add a server or pool line")));
}

TEST(TimeSyncDaemonRunningCheckTest, WarnsForAStoppedSecondDaemon) {
  v1::Facts facts = CollectFixture("chrony_running");
  v1::TimeSyncDaemon* stopped = facts.mutable_time_sync()->add_daemons();
  stopped->set_id("systemd-timesyncd");
  stopped->set_installed(true);
  stopped->set_has_sources(true);
  policy::CheckResult result =
      EvaluateCheck("linux.time_sync.daemon_running", facts, kNow);
  EXPECT_EQ(result.verdict, policy::Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre("systemd-timesyncd is installed but not running: "
                          "start it (systemctl enable --now "
                          "systemd-timesyncd) or remove the package"));
}

// --- linux.time_sync.kernel_synchronised ---------------------------------

TEST(TimeSyncKernelCheckTest, PassesWhenSynchronised) {
  policy::CheckResult result =
      EvaluateCheck("linux.time_sync.kernel_synchronised",
                    CollectFixture("chrony_running"), kNow);
  EXPECT_EQ(result.verdict, policy::Verdict::kPass);
}

TEST(TimeSyncKernelCheckTest, FailsWhenUnsynchronised) {
  policy::CheckResult result = EvaluateCheck(
      "linux.time_sync.kernel_synchronised",
      CollectFixture("chrony_running", FakeKernelClock::Unsynchronised()),
      kNow);
  EXPECT_EQ(result.verdict, policy::Verdict::kFail);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("the kernel clock is not synchronised "
                                    "(clock state KERNEL_CLOCK_STATE_ERROR): "
                                    "check that the time daemon reaches")));
}

TEST(TimeSyncKernelCheckTest, FailsWhenOnlyTheUnsyncFlagIsSet) {
  KernelClockReading reading = FakeKernelClock::Synchronised();
  reading.status |= STA_UNSYNC;
  policy::CheckResult result =
      EvaluateCheck("linux.time_sync.kernel_synchronised",
                    CollectFixture("chrony_running", reading), kNow);
  EXPECT_EQ(result.verdict, policy::Verdict::kFail);
}

TEST(TimeSyncKernelCheckTest, FailsWhenTheKernelRefused) {
  policy::CheckResult result = EvaluateCheck(
      "linux.time_sync.kernel_synchronised",
      CollectFixture(
          "chrony_running",
          absl::PermissionDeniedError("adjtimex: Operation not permitted")),
      kNow);
  EXPECT_EQ(result.verdict, policy::Verdict::kFail);
  EXPECT_THAT(result.reasons,
              ElementsAre("the kernel clock state could not be read "
                          "(adjtimex: Operation not permitted): run the agent "
                          "on the host, or allow adjtimex(2) in its seccomp "
                          "profile"));
}

// --- linux.time_sync.max_error -------------------------------------------

TEST(TimeSyncMaxErrorCheckTest, PassesUpTo100Milliseconds) {
  for (int64_t us : {0, 900, 12'345, 100'000}) {
    policy::CheckResult result =
        EvaluateCheck("linux.time_sync.max_error",
                      CollectFixture("chrony_running", WithMaxError(us)), kNow);
    EXPECT_EQ(result.verdict, policy::Verdict::kPass) << us;
  }
}

TEST(TimeSyncMaxErrorCheckTest, WarnsUpToOneSecond) {
  policy::CheckResult result = EvaluateCheck(
      "linux.time_sync.max_error",
      CollectFixture("chrony_running", WithMaxError(350'000)), kNow);
  EXPECT_EQ(result.verdict, policy::Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre("the clock may be off by up to 1000 ms (expected "
                          "under 100 ms): use closer time sources or a "
                          "shorter polling interval (maxpoll)"));
}

TEST(TimeSyncMaxErrorCheckTest, FailsPastOneSecond) {
  policy::CheckResult result = EvaluateCheck(
      "linux.time_sync.max_error",
      CollectFixture("chrony_running", WithMaxError(2'500'000)), kNow);
  EXPECT_EQ(result.verdict, policy::Verdict::kFail);
  EXPECT_THAT(
      result.reasons,
      UnorderedElementsAre(HasSubstr("up to 10000 ms (expected under 100 ms)"),
                           "the clock may be off by up to 10000 ms, past the "
                           "1 s limit: check that the time daemon runs and "
                           "reaches its sources"));
}

TEST(TimeSyncMaxErrorCheckTest, FailsAtTheKernelCap) {
  policy::CheckResult result = EvaluateCheck(
      "linux.time_sync.max_error",
      CollectFixture("none_installed", FakeKernelClock::Unsynchronised()),
      kNow);
  EXPECT_EQ(result.verdict, policy::Verdict::kFail);
  EXPECT_THAT(result.reasons, Contains(HasSubstr("up to 16000 ms, past the")));
}

TEST(TimeSyncMaxErrorCheckTest, FailsWhenTheKernelRefused) {
  policy::CheckResult result = EvaluateCheck(
      "linux.time_sync.max_error",
      CollectFixture("chrony_running",
                     absl::PermissionDeniedError("adjtimex: denied")),
      kNow);
  EXPECT_EQ(result.verdict, policy::Verdict::kFail);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("could not be read (adjtimex: denied)")));
}

}  // namespace
}  // namespace evidentia::agent
