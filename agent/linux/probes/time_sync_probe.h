// linux.time_sync: whether the kernel clock is synchronised and its error
// bound (adjtimex(2) through KernelClock), beside which time daemons are
// installed and running (chrony, systemd-timesyncd, ntp, ntpsec, openntpd)
// and the sources their configuration files name.
// Facts: TimeSyncFacts.
#ifndef EVIDENTIA_AGENT_LINUX_PROBES_TIME_SYNC_PROBE_H_
#define EVIDENTIA_AGENT_LINUX_PROBES_TIME_SYNC_PROBE_H_

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/linux/probes/time_sync_kernel_clock.h"
#include "agent/probe.h"
#include "evidentia/v1/facts.pb.h"
#include "evidentia/v1/facts/time_sync.pb.h"

namespace evidentia::agent {

// What one chrony configuration file (chrony.conf, a confdir *.conf or a
// sourcedir *.sources file) says that the probe uses. File order.
struct ChronyConf {
  // Host names of server, pool and peer lines; "refclock DRIVER PARAMETER"
  // for refclock lines.
  std::vector<std::string> sources;
  // Patterns of include lines, as written (may end in a "*.conf" glob).
  std::vector<std::string> includes;
  // Directories of confdir lines (*.conf files), as written.
  std::vector<std::string> confdirs;
  // Directories of sourcedir lines (*.sources files), as written.
  std::vector<std::string> sourcedirs;
};

// The servers systemd-timesyncd would use, as its configuration files set
// them in turn (later files add to the lists; an empty assignment resets).
struct TimesyncdServers {
  std::vector<std::string> ntp;  // NTP=
  // FallbackNTP=; nullopt while no file sets it (the compiled-in default).
  std::optional<std::vector<std::string>> fallback;
};

// The kernel's error bound, rounded up to the scale of
// TimeSyncFacts.max_error_bound_ms: 100, 1000, 10000 ms, or 16000 above
// 10 s. Negative values count as 0 (bound 100). The steps are the checks'
// thresholds and no finer: maxerror grows by 0.5 ms every second between a
// daemon's corrections, so a finer scale (1 and 10 ms) would change the
// fact at every correction of a healthy host.
uint32_t ErrorBoundMs(int64_t microseconds);

// The names of the STA_* bits set in `status`, in bit order.
std::vector<std::string> StatusFlagNames(int64_t status);

// Parses one chrony configuration file: directives are the first word,
// case-insensitive; lines starting with '#', '%', ';' or '!' are comments.
// Unknown directives and malformed lines are skipped.
ChronyConf ParseChronyConf(std::string_view text);

// Applies one timesyncd.conf (or drop-in) to `servers`: NTP= and
// FallbackNTP= in the [Time] section (systemd syntax: ParseUnitFile),
// space-separated lists, merged across assignments, reset by an empty one.
TimesyncdServers ParseTimesyncdConf(std::string_view text,
                                    TimesyncdServers servers);

// Host names (or "refclock DRIVER UNIT") of server, pool, peer and refclock
// lines of ntp.conf (ntp and ntpsec); '#' starts a comment anywhere.
std::vector<std::string> ParseNtpConf(std::string_view text);

// Sources of openntpd's ntpd.conf: the names of server and servers lines
// and "sensor DEVICE" for sensor lines; values may be double-quoted; '#'
// starts a comment anywhere.
std::vector<std::string> ParseOpenntpdConf(std::string_view text);

// Whether `name` matches the glob `pattern`, where '*' matches any run of
// characters (no '?' or classes): chrony's "include /etc/x/*.conf".
bool MatchesSimpleGlob(std::string_view pattern, std::string_view name);

class TimeSyncProbe : public Probe {
 public:
  // Reads the host's kernel clock (RealKernelClock).
  TimeSyncProbe();
  // Reads `clock` instead (fixture tests).
  explicit TimeSyncProbe(std::shared_ptr<const KernelClock> clock);

  std::string_view id() const override { return "linux.time_sync"; }

  // Reads the kernel clock, root/var/lib/dpkg/status, root/proc/*/comm and
  // cmdline, and the daemons' configuration below root (chrony.conf and its
  // confdir, sourcedir and include files, timesyncd.conf and its drop-ins,
  // ntp.conf, ntpsec/ntp.conf, openntpd/ntpd.conf). A kernel that refuses
  // to answer, a daemon absent or a missing file are facts; errors only for
  // a package database that exists but cannot be read.
  absl::StatusOr<v1::Facts> Collect(
      const std::filesystem::path& root) const override;

 private:
  std::shared_ptr<const KernelClock> clock_;
};

}  // namespace evidentia::agent

#endif  // EVIDENTIA_AGENT_LINUX_PROBES_TIME_SYNC_PROBE_H_
