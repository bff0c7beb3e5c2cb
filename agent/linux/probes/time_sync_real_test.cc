// linux.time_sync on this machine (root "/") against the real tools run by
// the test: `adjtimex -p` for the kernel clock (timedatectl needs systemd as
// PID 1, which CI's container lacks), `dpkg-query` and `pgrep -x` for each
// daemon, and chrony's own configuration lines for its sources.
#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/linux/probes/time_sync_probe.h"
#include "agent/linux/sys/text.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/shell.h"

namespace evidentia::agent {
namespace {

using ::evidentia::testing::Shell;
using ::evidentia::testing::ShellResult;

// `adjtimex -p`: "  status: 8256", "maxerror: 16000000",
// " return value = 5".
struct ToolClock {
  int64_t status = 0;
  int64_t max_error_us = 0;
  int return_value = -1;
};

// nullopt when the tool could not read the clock either (a seccomp filter
// refusing adjtimex(2)).
std::optional<ToolClock> ReadAdjtimexTool() {
  ShellResult result = Shell("adjtimex -p");
  EXPECT_NE(result.status, 127) << "adjtimex is not installed";
  if (result.status != 0) return std::nullopt;
  ToolClock clock;
  bool saw_status = false, saw_max = false, saw_return = false;
  for (std::string_view line : SplitLines(result.out)) {
    size_t colon = line.find(':');
    size_t equals = line.find('=');
    if (colon != std::string_view::npos) {
      std::string_view key = Trim(line.substr(0, colon));
      std::string_view value = Trim(line.substr(colon + 1));
      if (key == "status") {
        clock.status = ParseDecimal<int64_t>(value).value_or(-1);
        saw_status = true;
      } else if (key == "maxerror") {
        clock.max_error_us = ParseDecimal<int64_t>(value).value_or(-1);
        saw_max = true;
      }
    } else if (equals != std::string_view::npos &&
               Trim(line.substr(0, equals)) == "return value") {
      clock.return_value =
          ParseDecimal<int>(Trim(line.substr(equals + 1))).value_or(-1);
      saw_return = true;
    }
  }
  EXPECT_TRUE(saw_status && saw_max && saw_return) << result.out;
  return clock;
}

v1::TimeSyncFacts CollectHost() {
  absl::StatusOr<v1::Facts> facts = TimeSyncProbe().Collect("/");
  EXPECT_TRUE(facts.ok()) << facts.status();
  return facts.ok() ? facts->time_sync() : v1::TimeSyncFacts();
}

const v1::TimeSyncDaemon* FindDaemon(const v1::TimeSyncFacts& facts,
                                     const std::string& id) {
  for (const v1::TimeSyncDaemon& daemon : facts.daemons()) {
    if (daemon.id() == id) return &daemon;
  }
  return nullptr;
}

bool DpkgInstalled(const std::string& package) {
  ShellResult result = Shell("dpkg-query -W -f='${Status}' " + package);
  return result.status == 0 && result.out == "install ok installed";
}

bool ProcessRuns(const std::string& comm) {
  return Shell("pgrep -x " + comm + " >/dev/null").status == 0;
}

TEST(TimeSyncRealTest, KernelClockAgreesWithAdjtimexTool) {
  std::optional<ToolClock> tool_before = ReadAdjtimexTool();
  v1::TimeSyncFacts facts = CollectHost();
  std::optional<ToolClock> tool_after = ReadAdjtimexTool();

  // Both read the clock, or neither.
  ASSERT_EQ(facts.kernel_clock_read(), tool_before.has_value())
      << facts.kernel_clock_error();
  if (!tool_before) {
    EXPECT_FALSE(tool_after.has_value());
    EXPECT_NE(facts.kernel_clock_error(), "");
    EXPECT_EQ(facts.clock_state(), v1::KERNEL_CLOCK_STATE_UNSPECIFIED);
    return;
  }
  ASSERT_TRUE(tool_after.has_value());
  const ToolClock& before = *tool_before;
  const ToolClock& after = *tool_after;
  // The status flags change only when a daemon changes them.
  ASSERT_EQ(before.status, after.status) << "clock status changed mid-test";
  ASSERT_EQ(before.return_value, after.return_value);
  std::vector<std::string> flags(facts.status_flags().begin(),
                                 facts.status_flags().end());
  EXPECT_EQ(flags, StatusFlagNames(before.status));
  const bool tool_unsync = (before.status & 0x40) != 0;  // STA_UNSYNC
  EXPECT_EQ(std::count(flags.begin(), flags.end(), "STA_UNSYNC") == 1,
            tool_unsync);
  EXPECT_EQ(facts.synchronised(),
            !tool_unsync && before.return_value != 5 /* TIME_ERROR */);
  EXPECT_EQ(static_cast<int>(facts.clock_state()) - 1, before.return_value)
      << "KERNEL_CLOCK_STATE_OK is 1 for TIME_OK 0, and so on";

  // maxerror only grows between a daemon's corrections: the probe's bound
  // lies between the tool's before and after.
  EXPECT_GE(facts.max_error_bound_ms(),
            ErrorBoundMs(std::min(before.max_error_us, after.max_error_us)));
  EXPECT_LE(facts.max_error_bound_ms(),
            ErrorBoundMs(std::max(before.max_error_us, after.max_error_us)));
}

TEST(TimeSyncRealTest, DaemonsAgreeWithDpkgAndPgrep) {
  v1::TimeSyncFacts facts = CollectHost();
  struct Expected {
    std::string id;
    std::string comm;  // as pgrep -x matches it (comm, 15 characters)
    std::vector<std::string> binaries;
  };
  const std::vector<Expected> daemons = {
      {"chrony", "chronyd", {"/usr/sbin/chronyd"}},
      {"ntpsec", "ntpd", {}},
      {"openntpd", "ntpd", {}},
      {"systemd-timesyncd",
       "systemd-timesyn",
       {"/lib/systemd/systemd-timesyncd",
        "/usr/lib/systemd/systemd-timesyncd"}},
  };
  for (const Expected& expected : daemons) {
    bool installed = DpkgInstalled(expected.id);
    for (const std::string& binary : expected.binaries) {
      installed = installed || Shell("test -e " + binary).status == 0;
    }
    const v1::TimeSyncDaemon* daemon = FindDaemon(facts, expected.id);
    EXPECT_EQ(daemon != nullptr && daemon->installed(), installed)
        << expected.id;
    if (installed && expected.comm != "ntpd") {
      ASSERT_NE(daemon, nullptr) << expected.id;
      EXPECT_EQ(daemon->running(), ProcessRuns(expected.comm)) << expected.id;
    }
  }
  // ntp: Debian 12's package is transitional for ntpsec and not reported.
  if (!DpkgInstalled("ntpsec")) {
    const v1::TimeSyncDaemon* ntp = FindDaemon(facts, "ntp");
    EXPECT_EQ(ntp != nullptr && ntp->installed(), DpkgInstalled("ntp"));
  }
  // Whichever of the ntpd family is reported running, ntpd runs.
  bool ntpd_reported = false;
  for (const v1::TimeSyncDaemon& daemon : facts.daemons()) {
    if (daemon.process() == "ntpd" && daemon.running()) ntpd_reported = true;
  }
  if (ntpd_reported) {
    EXPECT_TRUE(ProcessRuns("ntpd"));
  }
}

TEST(TimeSyncRealTest, ChronySourcesIncludeItsServerLines) {
  v1::TimeSyncFacts facts = CollectHost();
  const v1::TimeSyncDaemon* chrony = FindDaemon(facts, "chrony");
  ASSERT_EQ(chrony != nullptr,
            DpkgInstalled("chrony") ||
                Shell("test -e /usr/sbin/chronyd").status == 0);
  if (chrony == nullptr) {
    EXPECT_EQ(Shell("test -e /etc/chrony/chrony.conf").status, 1);
    return;
  }
  ShellResult lines = Shell(
      "cat /etc/chrony/chrony.conf /etc/chrony/conf.d/*.conf "
      "/etc/chrony/sources.d/*.sources 2>/dev/null "
      "| awk '$1==\"server\"||$1==\"pool\"||$1==\"peer\" {print $2}' "
      "| sort -u");
  std::set<std::string> reported(chrony->sources().begin(),
                                 chrony->sources().end());
  for (std::string_view host : SplitLines(lines.out)) {
    EXPECT_EQ(reported.count(std::string(host)), 1u) << host;
  }
  EXPECT_EQ(chrony->has_sources(), !lines.out.empty() || !reported.empty());
}

TEST(TimeSyncRealTest, TwoCollectionsGiveIdenticalBytes) {
  absl::StatusOr<v1::Facts> a = TimeSyncProbe().Collect("/");
  absl::StatusOr<v1::Facts> b = TimeSyncProbe().Collect("/");
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->SerializeAsString(), b->SerializeAsString());
}

}  // namespace
}  // namespace evidentia::agent
