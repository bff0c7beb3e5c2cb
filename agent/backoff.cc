#include "agent/backoff.h"

#include <algorithm>
#include <utility>

namespace evidentia::agent {

Backoff::Backoff(absl::Duration base, absl::Duration cap,
                 std::function<double()> uniform)
    : base_(base), cap_(cap), uniform_(std::move(uniform)) {}

absl::Duration Backoff::Ceiling() const {
  if (failures_ == 0) return absl::ZeroDuration();
  absl::Duration ceiling = base_;
  // Doubling stops at the cap, so this never overflows.
  for (int i = 1; i < failures_ && ceiling < cap_; ++i) ceiling *= 2;
  return std::min(ceiling, cap_);
}

absl::Duration Backoff::NextDelay() {
  ++failures_;
  const double u = std::clamp(uniform_(), 0.0, 1.0);
  return Ceiling() * u;
}

absl::Duration SendPacer::Reserve(absl::Time now) {
  if (per_second_ <= 0) return absl::ZeroDuration();
  const absl::Time due = std::max(now, next_);
  next_ = due + absl::Seconds(1) / per_second_;
  return due - now;
}

}  // namespace evidentia::agent
