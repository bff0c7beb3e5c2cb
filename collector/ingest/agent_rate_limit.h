// A per-agent token bucket for Submit: each agent may store on average
// `per_second` snapshots a second, in bursts of at most `burst`. A request
// over the rate is refused RESOURCE_EXHAUSTED with the time after which a
// token is there (SubmitResponse.retry_after_ms), so a fleet coming back
// from an outage spreads itself out instead of flattening the collector.
// Thread-safe.
#ifndef EVIDENTIA_COLLECTOR_INGEST_AGENT_RATE_LIMIT_H_
#define EVIDENTIA_COLLECTOR_INGEST_AGENT_RATE_LIMIT_H_

#include <string>
#include <unordered_map>

#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/proto_time.h"

namespace evidentia::collector {

class AgentRateLimiter {
 public:
  // `per_second` > 0, `burst` >= 1. Buckets refill as `clock` advances.
  AgentRateLimiter(double per_second, double burst, Clock clock);

  // Takes a token of `agent_id`'s bucket: zero when admitted, otherwise how
  // long until one is there (nothing is taken then).
  absl::Duration Admit(absl::string_view agent_id);

 private:
  struct Bucket {
    double tokens;
    absl::Time at;
  };
  const double per_second_, burst_;
  const Clock clock_;
  absl::Mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace evidentia::collector

#endif  // EVIDENTIA_COLLECTOR_INGEST_AGENT_RATE_LIMIT_H_
