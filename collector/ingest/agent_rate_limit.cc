#include "collector/ingest/agent_rate_limit.h"

#include <algorithm>
#include <utility>

namespace evidentia::collector {

AgentRateLimiter::AgentRateLimiter(double per_second, double burst, Clock clock)
    : per_second_(per_second),
      burst_(std::max(burst, 1.0)),
      clock_(std::move(clock)) {}

absl::Duration AgentRateLimiter::Admit(absl::string_view agent_id) {
  const absl::Time now = clock_();
  absl::MutexLock lock(&mu_);
  auto [it, fresh] =
      buckets_.try_emplace(std::string(agent_id), Bucket{burst_, now});
  Bucket& bucket = it->second;
  if (!fresh && now > bucket.at) {
    bucket.tokens = std::min(
        burst_,
        bucket.tokens + absl::ToDoubleSeconds(now - bucket.at) * per_second_);
    bucket.at = now;
  }
  if (bucket.tokens >= 1.0) {
    bucket.tokens -= 1.0;
    return absl::ZeroDuration();
  }
  return absl::Seconds((1.0 - bucket.tokens) / per_second_);
}

}  // namespace evidentia::collector
