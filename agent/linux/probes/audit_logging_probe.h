// linux.audit_logging: whether the host keeps logs across reboots and for
// how long, sends them off the host, and audits with auditd. Reads the
// effective journald configuration, auditd's rules and the kernel's audit
// status (through KernelAuditSource), the rsyslog, syslog-ng and
// systemd-journal-upload configuration with the daemons' dpkg packages and
// processes, and the logrotate stanzas of the main log files.
// Facts: AuditLoggingFacts.
#ifndef EVIDENTIA_AGENT_LINUX_PROBES_AUDIT_LOGGING_PROBE_H_
#define EVIDENTIA_AGENT_LINUX_PROBES_AUDIT_LOGGING_PROBE_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/linux/probes/audit_logging_kernel.h"
#include "agent/probe.h"
#include "evidentia/v1/facts.pb.h"
#include "evidentia/v1/facts/audit_logging.pb.h"

namespace evidentia::agent {

// --- systemd configuration (journald.conf, journal-upload.conf) -----------

// The Key=Value assignments of section `section` of a systemd INI file, in
// file order. Comments (# or ; first), other sections and lines without '='
// are skipped; keys and values are trimmed; a trailing backslash joins the
// next line.
std::vector<std::pair<std::string, std::string>> ParseSystemdSection(
    std::string_view text, std::string_view section);

// systemd's booleans: 1/yes/y/true/t/on and 0/no/n/false/f/off, any case.
std::optional<bool> ParseSystemdBoolean(std::string_view value);

// A byte size as systemd writes it: "4G", "512M", "1.5G", "100", "1G 512M"
// (suffixes B K M G T P E, base 1024). nullopt when malformed or overflowing.
std::optional<uint64_t> ParseSystemdSize(std::string_view value);

// A time span in whole seconds: "1month", "2w 3d", "90d", "3600" (no unit:
// seconds); "infinity" and 0 give 0 (no limit). nullopt when malformed.
// Months are 30.44 days and years 365.25 days, as in systemd.
std::optional<uint64_t> ParseSystemdTimespanSeconds(std::string_view value);

// What one journald.conf file sets in [Journal]; unset fields are absent.
// Values journald would reject are ignored, as journald ignores them.
struct JournaldSettings {
  std::optional<std::string> storage;  // auto|persistent|volatile|none
  std::optional<uint64_t> system_max_use_bytes;
  std::optional<uint64_t> system_keep_free_bytes;
  std::optional<uint64_t> max_retention_seconds;
  std::optional<bool> forward_to_syslog;
};
JournaldSettings ParseJournaldConf(std::string_view text);

// One remote destination of a log daemon; protocol is "udp", "tcp", "tls",
// "relp" or "https".
struct RemoteTarget {
  std::string host;
  uint32_t port = 0;
  std::string protocol;
  friend bool operator<(const RemoteTarget& a, const RemoteTarget& b) {
    return std::tie(a.host, a.port, a.protocol) <
           std::tie(b.host, b.port, b.protocol);
  }
  friend bool operator==(const RemoteTarget& a, const RemoteTarget& b) {
    return std::tie(a.host, a.port, a.protocol) ==
           std::tie(b.host, b.port, b.protocol);
  }
};

// URL= of journal-upload.conf's [Upload] section ("https://host:19532",
// "http://host"; port 19532 when not given). nullopt when it is not an
// http(s) URL with a host.
std::optional<RemoteTarget> ParseJournalUploadUrl(std::string_view url);

// --- rsyslog --------------------------------------------------------------

// What one rsyslog configuration file says that this probe reports.
struct RsyslogConfig {
  // Legacy "@host[:port]" (UDP), "@@host[:port]" (TCP) and
  // ":omrelp:host:port" actions; RainerScript action(type="omfwd" ...)
  // (protocol udp, tcp or tls with StreamDriverMode="1") and
  // action(type="omrelp" ...). Port 514 by default. File order.
  std::vector<RemoteTarget> targets;
  // A legacy file action ("/var/log/syslog", "-/var/log/x", "?DynaFile")
  // or action(type="omfile").
  bool writes_local_files = false;
  // $IncludeConfig and include(file="...") paths as written, file order.
  std::vector<std::string> includes;
};
// Comments (# outside quotes, /* */) are dropped; action(...) blocks may
// span lines. Never fails: what it does not understand is skipped.
RsyslogConfig ParseRsyslogConf(std::string_view text);

// --- syslog-ng ------------------------------------------------------------

// One destination block of syslog-ng.
struct SyslogNgDestination {
  // network(), syslog(), tcp(), udp(), tcp6(), udp6() drivers: the host (the
  // first positional argument), port() and transport(). Defaults: network()
  // tcp 514; syslog() tcp 601 (udp 514, tls 6514); tcp()/udp() 514.
  std::vector<RemoteTarget> targets;
  bool writes_local_files = false;  // a file() driver
};

// What one syslog-ng configuration file says.
struct SyslogNgConfig {
  // Named destination blocks ("destination d_net { ... };").
  std::map<std::string, SyslogNgDestination> destinations;
  // Names referenced by "destination(NAME)" inside log { } statements.
  std::vector<std::string> used_destinations;
  // Anonymous destinations written inside log { } statements.
  std::vector<SyslogNgDestination> inline_destinations;
  // @include paths as written, file order.
  std::vector<std::string> includes;
};
// Comments (#) are dropped; at most 2^18 tokens are read. Never fails.
SyslogNgConfig ParseSyslogNgConf(std::string_view text);

// --- logrotate ------------------------------------------------------------

// The retention options of a stanza, or the global defaults.
struct LogrotateOptions {
  std::optional<int32_t> rotate;  // -1: keep all
  v1::LogRotationPeriod period = v1::LOG_ROTATION_PERIOD_UNSPECIFIED;
  std::optional<uint32_t> maxage_days;
};

// One "paths { ... }" stanza with the defaults in force where it starts
// applied.
struct LogrotateStanza {
  std::vector<std::string> paths;  // as written, quotes removed
  LogrotateOptions options;
};

// An include directive and the defaults in force where it appears.
struct LogrotateInclude {
  std::string path;
  LogrotateOptions defaults;
};

struct LogrotateFile {
  std::vector<LogrotateStanza> stanzas;  // file order
  std::vector<LogrotateInclude> includes;
  LogrotateOptions defaults;  // the global defaults at the end of the file
};

// Parses one logrotate file starting from `defaults`. Script blocks
// (postrotate ... endscript) are skipped; a stanza without its closing '}'
// is dropped, as logrotate rejects it. At most 16384 stanzas and 4096 words
// a line are kept.
LogrotateFile ParseLogrotateConf(std::string_view text,
                                 const LogrotateOptions& defaults);

// Days of logs `options` keep for sure (rotate x period, bounded by
// maxage; months count 30 days) and whether nothing deletes them.
struct Retention {
  uint32_t days = 0;
  bool unlimited = false;
};
Retention RetentionOf(const LogrotateOptions& options);

// --- auditd rules ---------------------------------------------------------

// What one audit rules file (auditctl -R syntax) holds: comments and
// control lines (-D, -b, -f, --backlog_wait_time ...) are not rules.
struct AuditRulesSummary {
  uint32_t rules = 0;        // -a/-A (syscall rules) and -w (watch) lines
  int32_t enable_flag = -1;  // the last "-e N", -1 for none
};
AuditRulesSummary ParseAuditRules(std::string_view text);

// --- the probe ------------------------------------------------------------

class AuditLoggingProbe : public Probe {
 public:
  // Reads the kernel's audit status over netlink.
  AuditLoggingProbe();
  // Reads it from `kernel` (a fake in fixture tests). Takes ownership.
  explicit AuditLoggingProbe(std::unique_ptr<KernelAuditSource> kernel);

  std::string_view id() const override { return "linux.audit_logging"; }

  // Reads, below `root`: etc/systemd/journald.conf and its drop-ins,
  // var/log/journal, etc/audit/, etc/rsyslog.conf and its includes,
  // etc/syslog-ng/syslog-ng.conf and its includes,
  // etc/systemd/journal-upload.conf, etc/logrotate.conf and its includes,
  // var/lib/dpkg/status and proc/. Missing files are facts; an unreadable
  // dpkg database (other than missing) is returned as an error.
  absl::StatusOr<v1::Facts> Collect(
      const std::filesystem::path& root) const override;

 private:
  std::unique_ptr<KernelAuditSource> kernel_;
};

}  // namespace evidentia::agent

#endif  // EVIDENTIA_AGENT_LINUX_PROBES_AUDIT_LOGGING_PROBE_H_
