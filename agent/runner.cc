#include "agent/runner.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "agent/backoff.h"
#include "common/log.h"

namespace evidentia::agent {

absl::StatusOr<DeliveryReport> DeliverAndLog(AgentState& state,
                                             v1::Collector::StubInterface& stub,
                                             const DeliveryOptions& delivery) {
  absl::StatusOr<DeliveryReport> report = DeliverSpool(state, stub, delivery);
  if (!report.ok()) return report.status();
  Log(LogLevel::kInfo,
      absl::StrCat("delivered ", report->accepted, " (", report->duplicates,
                   " already held",
                   report->throttled > 0
                       ? absl::StrCat(", slowed down ", report->throttled,
                                      " times by the collector")
                       : "",
                   ")"));
  return report;
}

absl::Status FinishPendingRotation(AgentState& state,
                                   v1::Collector::StubInterface& stub,
                                   const DeliveryOptions& delivery) {
  if (!state.pending_rotation().has_value()) return absl::OkStatus();
  absl::StatusOr<std::string> key_id = RotateDeviceKey(state, stub, delivery);
  if (!key_id.ok()) {
    Log(LogLevel::kWarning, key_id.status().ToString());
    return key_id.status();
  }
  Log(LogLevel::kInfo, absl::StrCat("device key rotated to ", *key_id));
  return absl::OkStatus();
}

void RunAgent(AgentState& state, v1::Collector::StubInterface& stub,
              RunnerOptions options) {
  absl::Duration interval = options.interval.value_or(absl::Hours(1));
  Log(LogLevel::kInfo,
      absl::StrCat("agent ", state.identity().agent_id(), " reporting to ",
                   state.identity().collector(), " every ",
                   absl::FormatDuration(interval)));
  DeliveryOptions& delivery = options.delivery;
  delivery.sleep = options.sleep;
  delivery.now = options.now;
  const auto now = options.now;
  Backoff backoff(kBackoffBase, kBackoffCap, options.jitter);
  absl::Time next_snapshot = now();
  while (!options.stopped()) {
    FinishPendingRotation(state, stub, delivery).IgnoreError();  // logged
    if (now() >= next_snapshot) {
      next_snapshot = now() + interval;
      absl::StatusOr<uint64_t> seq =
          state.MakeSnapshot(options.collect(), now());
      if (!seq.ok()) Log(LogLevel::kError, seq.status().ToString());
    }
    absl::StatusOr<DeliveryReport> report =
        DeliverAndLog(state, stub, delivery);
    if (report.ok()) {
      backoff.Reset();
      // Without a given interval, the collector's heartbeat sets the pace.
      if (!options.interval.has_value() &&
          report->heartbeat > absl::ZeroDuration() &&
          report->heartbeat != interval) {
        next_snapshot += report->heartbeat - interval;
        interval = report->heartbeat;
        Log(LogLevel::kInfo,
            absl::StrCat("collector asks for a snapshot every ",
                         absl::FormatDuration(interval)));
      }
    }
    absl::Time wake = next_snapshot;
    if (!report.ok()) {
      const absl::Status& status = report.status();
      const absl::Duration delay =
          std::max(backoff.NextDelay(), RetryAfter(status));
      wake = std::min(wake, now() + delay);
      Log(LogLevel::kWarning,
          absl::StrCat(status.ToString(), "; kept in the spool, next try in ",
                       absl::FormatDuration(absl::Trunc(
                           std::max(wake - now(), absl::ZeroDuration()),
                           absl::Milliseconds(1)))));
    }
    options.sleep(std::max(wake - now(), absl::ZeroDuration()));
  }
}

}  // namespace evidentia::agent
