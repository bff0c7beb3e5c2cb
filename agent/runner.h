// The agent's daemon loop (`evidentia-agent run` without --once): a snapshot
// every interval; between them, a failed delivery is retried after an
// exponential backoff with full jitter (agent/backoff.h), or after the
// collector's retry_after when that is longer, never later than the next
// snapshot. Without a given interval the collector's heartbeat sets the
// pace. Time, sleep, randomness and stopping are injected, so the loop runs
// under a fake clock in tests.
#ifndef EVIDENTIA_AGENT_RUNNER_H_
#define EVIDENTIA_AGENT_RUNNER_H_

#include <functional>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/agent_state.h"
#include "agent/collect.h"
#include "agent/uploader.h"
#include "evidentia/v1/collector.grpc.pb.h"

namespace evidentia::agent {

struct RunnerOptions {
  // Time between snapshots; nullopt: an hour until the collector names its
  // heartbeat, then that.
  std::optional<absl::Duration> interval;
  // What goes into each snapshot.
  std::function<Collection()> collect;
  // Pacing of deliveries (max_per_second, max_retry_wait).
  DeliveryOptions delivery;
  // The clock, a sleep that may return early once `stopped` turns true, a
  // uniform random number in [0, 1) for the backoff's jitter, and whether to
  // stop (checked before every pass).
  std::function<absl::Time()> now = [] { return absl::Now(); };
  std::function<void(absl::Duration)> sleep = [](absl::Duration d) {
    absl::SleepFor(d);
  };
  std::function<double()> jitter;
  std::function<bool()> stopped = [] { return false; };
};

// Runs until `options.stopped()`; each snapshot and delivery is logged.
void RunAgent(AgentState& state, v1::Collector::StubInterface& stub,
              RunnerOptions options);

// Finishes a key rotation whose answer was lost, before anything is signed
// (AgentState::MakeSnapshot refuses until then). Logs what happened.
absl::Status FinishPendingRotation(AgentState& state,
                                   v1::Collector::StubInterface& stub,
                                   const DeliveryOptions& delivery);

// Delivers everything spooled; logs what happened.
absl::StatusOr<DeliveryReport> DeliverAndLog(AgentState& state,
                                             v1::Collector::StubInterface& stub,
                                             const DeliveryOptions& delivery);

}  // namespace evidentia::agent

#endif  // EVIDENTIA_AGENT_RUNNER_H_
