// A KernelClock that returns what a test gives it: fixture tests of
// linux.time_sync use it in place of the host's adjtimex(2).
#ifndef EVIDENTIA_AGENT_LINUX_PROBES_TIME_SYNC_FAKE_KERNEL_CLOCK_H_
#define EVIDENTIA_AGENT_LINUX_PROBES_TIME_SYNC_FAKE_KERNEL_CLOCK_H_

#include <sys/timex.h>

#include <utility>

#include "absl/status/statusor.h"
#include "agent/linux/probes/time_sync_kernel_clock.h"

namespace evidentia::agent {

class FakeKernelClock : public KernelClock {
 public:
  explicit FakeKernelClock(absl::StatusOr<KernelClockReading> reading)
      : reading_(std::move(reading)) {}

  absl::StatusOr<KernelClockReading> Read() const override { return reading_; }

  // A clock chrony keeps in sync: PLL on, TIME_OK, 12 ms maximum error.
  static KernelClockReading Synchronised() {
    KernelClockReading r;
    r.clock_state = TIME_OK;
    r.status = STA_PLL | STA_NANO;
    r.max_error_us = 12'345;
    r.est_error_us = 456;
    return r;
  }

  // A clock no daemon has corrected: the kernel's state at boot, or nine
  // hours after its daemon stopped (maxerror at the 16 s cap).
  static KernelClockReading Unsynchronised() {
    KernelClockReading r;
    r.clock_state = TIME_ERROR;
    r.status = STA_UNSYNC | STA_NANO;
    r.max_error_us = 16'000'000;
    r.est_error_us = 16'000'000;
    return r;
  }

 private:
  absl::StatusOr<KernelClockReading> reading_;
};

}  // namespace evidentia::agent

#endif  // EVIDENTIA_AGENT_LINUX_PROBES_TIME_SYNC_FAKE_KERNEL_CLOCK_H_
