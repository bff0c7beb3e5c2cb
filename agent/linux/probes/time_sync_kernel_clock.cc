#include "agent/linux/probes/time_sync_kernel_clock.h"

#include <sys/timex.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/status/status.h"

namespace evidentia::agent {

absl::StatusOr<KernelClockReading> RealKernelClock::Read() const {
  struct timex tx;
  std::memset(&tx, 0, sizeof(tx));
  tx.modes = 0;  // read only
  int state = ::adjtimex(&tx);
  if (state == -1) {
    int error = errno;
    return absl::ErrnoToStatus(error, "adjtimex");
  }
  KernelClockReading reading;
  reading.clock_state = state;
  reading.status = tx.status;
  reading.max_error_us = tx.maxerror;
  reading.est_error_us = tx.esterror;
  return reading;
}

}  // namespace evidentia::agent
