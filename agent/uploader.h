// Talking to the collector: enrolment, and delivery of the spool over one
// Submit stream. Every call has a deadline; nothing leaves the spool
// without the collector's ACCEPTED or DUPLICATE.
#ifndef EVIDENTIA_AGENT_UPLOADER_H_
#define EVIDENTIA_AGENT_UPLOADER_H_

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent/agent_state.h"
#include "evidentia/v1/collector.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace evidentia::agent {

inline constexpr absl::Duration kRpcDeadline = absl::Seconds(60);

// A TLS channel to `target` (host:port) trusting only `tls.ca_pem`, and
// presenting the client certificate of `tls` when it has one (every call
// but Enroll needs it).
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target,
                                           const ClientTls& tls);

struct EnrollOptions {
  std::filesystem::path state_dir;
  std::string collector;  // host:port
  std::string ca_pem;
  std::string token;
  std::filesystem::path root = "/";           // for host facts
  std::map<std::string, std::string> labels;  // e.g. {"dept": "finance"}
  // While the collector is busy enrolling others (it says when to try
  // again), wait and retry for at most this long in all.
  absl::Duration max_busy_wait = absl::Seconds(60);
  std::function<void(absl::Duration)> sleep = [](absl::Duration d) {
    absl::SleepFor(d);
  };
};

// Creates the device key and the TLS key (neither leaves the state
// directory), registers the device key and a certificate request for the
// TLS key with `token`, and writes the state directory with the issued
// client certificate. Returns the agent id. FAILED_PRECONDITION if already
// enrolled (checked before contacting the collector); the collector's
// UNAUTHENTICATED for a bad token or RESOURCE_EXHAUSTED after too many
// failures (or when it stayed busy for max_busy_wait); UNAVAILABLE if the
// collector cannot be reached.
absl::StatusOr<std::string> Enroll(const EnrollOptions& options);

// How one delivery paces itself.
struct DeliveryOptions {
  // At most this many snapshots a second (0: unpaced), so that a backlog
  // after an outage reaches the collector spread out (--max-send-rate).
  double max_per_second = 0;
  // The longest total wait, within one delivery, for the collector's
  // retry_after_ms; past it DeliverSpool returns RESOURCE_EXHAUSTED with
  // the collector's wait (RetryAfter) and the caller backs off.
  absl::Duration max_retry_wait = absl::Seconds(30);
  // Injected for tests.
  std::function<void(absl::Duration)> sleep = [](absl::Duration d) {
    absl::SleepFor(d);
  };
  std::function<absl::Time()> now = [] { return absl::Now(); };
};

// The collector's retry_after carried by a RESOURCE_EXHAUSTED status from
// DeliverSpool; zero otherwise.
inline constexpr char kRetryAfterPayload[] =
    "type.evidentia.dev/retry_after_ms";
absl::Duration RetryAfter(const absl::Status& status);

// Whether a call failed without the collector's answer (it is down, slow or
// busy): worth trying again later, with nothing concluded.
bool IsTransient(const absl::Status& status);

// What one delivery achieved.
struct DeliveryReport {
  int accepted = 0;
  int duplicates = 0;
  // Gap snapshots re-made on the collector's head after it refused them
  // because it held some of the snapshots they declared lost.
  int rebased = 0;
  // Times the collector refused with retry_after_ms (over its rate) and the
  // agent waited and sent again.
  int throttled = 0;
  int remaining = 0;  // still spooled
  // The collector's heartbeat_seconds in its last acknowledgement; zero if
  // it named none.
  absl::Duration heartbeat;
};

// Sends every spooled snapshot, oldest first, and removes each one the
// collector acknowledges. A gap snapshot refused because the collector holds
// some of what it declares lost is rebased once (AgentState::RebaseGap).
// Sends at most options.max_per_second and waits as long as the collector's
// retry_after_ms asks, within options.max_retry_wait. OK when the spool is
// empty afterwards; otherwise the first error (UNAVAILABLE
// when the collector is down, or the collector's refusal with its code and
// message).
absl::StatusOr<DeliveryReport> DeliverSpool(
    AgentState& state, v1::Collector::StubInterface& stub,
    const DeliveryOptions& options = {});

// Rotates the device key (`evidentia-agent rotate-key`): delivers the spool,
// then sends the pending rotation, or a new one (AgentState::
// BeginKeyRotation), and switches keys when the collector takes it. Returns
// the new key id. When the answer is lost (UNAVAILABLE, DEADLINE_EXCEEDED,
// RESOURCE_EXHAUSTED) the rotation stays pending and no snapshot is signed
// until a later call gets the answer; any other refusal abandons it (the old
// key stays) and is returned with the collector's code and message.
absl::StatusOr<std::string> RotateDeviceKey(
    AgentState& state, v1::Collector::StubInterface& stub,
    const DeliveryOptions& options = {});

}  // namespace evidentia::agent

#endif  // EVIDENTIA_AGENT_UPLOADER_H_
