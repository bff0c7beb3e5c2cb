// The kernel audit subsystem's status as linux.audit_logging reads it: one
// AUDIT_GET request on a NETLINK_AUDIT socket, answered with a struct
// audit_status (<linux/audit.h>). The source is an interface so fixture
// tests use a fake; the datagram parser is a pure function beside it.
// Implementations are thread-compatible and keep no state between calls.
#ifndef EVIDENTIA_AGENT_LINUX_PROBES_AUDIT_LOGGING_KERNEL_H_
#define EVIDENTIA_AGENT_LINUX_PROBES_AUDIT_LOGGING_KERNEL_H_

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace evidentia::agent {

// What the kernel reports in struct audit_status (fields as in
// <linux/audit.h>; lost and backlog are counters, read but not facts).
struct KernelAuditReading {
  uint32_t enabled = 0;  // 0 disabled, 1 enabled, 2 locked
  uint32_t failure = 0;  // 0 silent, 1 printk, 2 panic
  uint32_t pid = 0;      // the registered audit daemon, 0 for none
  uint32_t rate_limit = 0;
  uint32_t backlog_limit = 0;
  uint32_t lost = 0;
  uint32_t backlog = 0;
};

// Bytes of struct audit_status every kernel since 2.6 sends: mask through
// backlog (eight __u32). Later kernels append fields, which are ignored.
inline constexpr size_t kMinAuditStatusBytes = 8 * 4;

// What one netlink datagram from the audit socket holds for request `seq`.
struct AuditNetlinkDatagram {
  // The AUDIT_GET reply, if the datagram carries one.
  std::optional<KernelAuditReading> status;
  // An NLMSG_ERROR for `seq`: 0 is a plain acknowledgement, otherwise a
  // positive errno (EPERM, ECONNREFUSED ...).
  std::optional<int> error;
};

// Parses the netlink messages of one datagram (host byte order), keeping
// those whose nlmsg_seq is `seq`. INVALID_ARGUMENT when a header is
// truncated or a length runs past the datagram, or an AUDIT_GET reply is
// shorter than kMinAuditStatusBytes.
absl::StatusOr<AuditNetlinkDatagram> ParseAuditNetlinkDatagram(
    std::string_view datagram, uint32_t seq);

// The kernel's audit status. Error codes, whose messages are stable facts:
// PERMISSION_DENIED ("EPERM": no CAP_AUDIT_CONTROL, or not in the initial
// PID namespace), UNIMPLEMENTED ("EPROTONOSUPPORT": no audit in the kernel;
// "ECONNREFUSED": not in the initial user namespace), DEADLINE_EXCEEDED,
// INVALID_ARGUMENT (malformed answer), INTERNAL (other errno, by name).
class KernelAuditSource {
 public:
  virtual ~KernelAuditSource() = default;
  virtual absl::StatusOr<KernelAuditReading> GetStatus() const = 0;
};

// Asks the running kernel over NETLINK_AUDIT, waiting at most `timeout`.
class NetlinkKernelAuditSource : public KernelAuditSource {
 public:
  explicit NetlinkKernelAuditSource(absl::Duration timeout = absl::Seconds(1))
      : timeout_(timeout) {}
  absl::StatusOr<KernelAuditReading> GetStatus() const override;

 private:
  absl::Duration timeout_;
};

// Returns a fixed answer; for fixture tests.
class FakeKernelAuditSource : public KernelAuditSource {
 public:
  explicit FakeKernelAuditSource(absl::StatusOr<KernelAuditReading> answer)
      : answer_(std::move(answer)) {}
  absl::StatusOr<KernelAuditReading> GetStatus() const override {
    return answer_;
  }

 private:
  absl::StatusOr<KernelAuditReading> answer_;
};

}  // namespace evidentia::agent

#endif  // EVIDENTIA_AGENT_LINUX_PROBES_AUDIT_LOGGING_KERNEL_H_
