// The collector's registry of who may talk to it: enrolment tokens, enrolled
// agents (the asset register), the operator credential, and the security
// events an auditor must see. Thread-safe.
#ifndef EVIDENTIA_COLLECTOR_REGISTRY_H_
#define EVIDENTIA_COLLECTOR_REGISTRY_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "collector/fleet.h"
#include "collector/store.h"
#include "common/proto_time.h"
#include "evidentia/v1/collector.pb.h"

namespace evidentia::collector {

inline constexpr absl::Duration kDefaultTokenTtl = absl::Hours(1);
inline constexpr absl::Duration kMaxTokenTtl = absl::Hours(24 * 30);

class Registry {
 public:
  // `store` must outlive the registry.
  Registry(Store& store, Clock clock);

  // Creates a token valid for `ttl` (zero: kDefaultTokenTtl) and `uses`
  // enrolments (zero: one); stores only its SHA-256. INVALID_ARGUMENT for a
  // negative or too long ttl.
  absl::StatusOr<v1::CreateTokenResponse> CreateToken(absl::Duration ttl,
                                                      uint32_t uses);

  // Tells `fleet` (which must outlive the registry) of every enrolment.
  void set_fleet(FleetState* fleet) { fleet_ = fleet; }

  // Consumes one use of the request's token and registers its key under a
  // fresh random agent id. UNAUTHENTICATED for an unknown, expired or
  // used-up token; INVALID_ARGUMENT for a key that is not Ed25519 SPKI PEM
  // or a malformed label.
  absl::StatusOr<v1::EnrollResponse> Enroll(const v1::EnrollRequest& request);

  // The agent's record, or nullopt if no such agent is enrolled.
  absl::StatusOr<std::optional<v1::AgentRecord>> GetAgent(
      absl::string_view agent_id) const;
  absl::StatusOr<std::vector<v1::AgentRecord>> ListAgents() const;

  // Stores an event durably; failures are returned (and worth logging), but
  // never change the answer given to the client.
  absl::Status RecordEvent(absl::string_view kind, absl::string_view agent_id,
                           uint64_t seq, absl::string_view detail,
                           absl::string_view peer);
  absl::StatusOr<std::vector<v1::SecurityEvent>> ListEvents() const;

  // Stores the SHA-256 of the operator credential (replacing any earlier).
  absl::Status SetOperatorCredential(absl::string_view credential);
  // OK when `credential` is the operator's; UNAUTHENTICATED otherwise.
  absl::Status CheckOperatorCredential(absl::string_view credential) const;

 private:
  Store& store_;
  Clock clock_;
  FleetState* fleet_ = nullptr;
  absl::Mutex tokens_mu_;  // serializes token read-modify-write
  // Tie-breaker for events in the same microsecond; starts at a random
  // value so a restarted collector cannot overwrite an earlier event.
  std::atomic<uint64_t> event_counter_;
};

}  // namespace evidentia::collector

#endif  // EVIDENTIA_COLLECTOR_REGISTRY_H_
