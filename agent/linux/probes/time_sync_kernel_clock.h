// The kernel's clock discipline state, as adjtimex(2) reports it: the one
// part of linux.time_sync that is not in a file. A small interface so that
// fixture tests give the probe a fake clock; the real one only reads
// (modes 0), which needs no privilege and changes nothing.
#ifndef EVIDENTIA_AGENT_LINUX_PROBES_TIME_SYNC_KERNEL_CLOCK_H_
#define EVIDENTIA_AGENT_LINUX_PROBES_TIME_SYNC_KERNEL_CLOCK_H_

#include <cstdint>

#include "absl/status/statusor.h"

namespace evidentia::agent {

// What adjtimex(2) with modes 0 returns, unchanged.
struct KernelClockReading {
  // The return value: TIME_OK (0) ... TIME_ERROR (5).
  int clock_state = 0;
  // struct timex status: the STA_* bits.
  int64_t status = 0;
  // struct timex maxerror and esterror, in microseconds.
  int64_t max_error_us = 0;
  int64_t est_error_us = 0;
};

// Reads the kernel clock state. Implementations are thread-safe.
class KernelClock {
 public:
  virtual ~KernelClock() = default;

  // The current state; an error status (its message a stable fact, e.g.
  // "adjtimex: Operation not permitted") when the kernel refuses to tell.
  virtual absl::StatusOr<KernelClockReading> Read() const = 0;
};

// The host's own kernel clock through adjtimex(2).
class RealKernelClock : public KernelClock {
 public:
  absl::StatusOr<KernelClockReading> Read() const override;
};

}  // namespace evidentia::agent

#endif  // EVIDENTIA_AGENT_LINUX_PROBES_TIME_SYNC_KERNEL_CLOCK_H_
