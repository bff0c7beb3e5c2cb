// The collector's registry of who may talk to it: enrolment tokens, enrolled
// agents (the asset register) and their revocations, and the security
// events an auditor must see. Thread-safe.
//
// Tokens are stored only as SHA-256 digests, keyed by the digest. Looking a
// presented token up by its digest leaks, through timing, at most how the
// digest of the attacker's own guess compares with stored digests; without
// a SHA-256 preimage that says nothing about any token. The stored digest is
// still compared with the presented one in constant time (CRYPTO_memcmp)
// before the token is used, so no byte comparison on the path depends on
// secret data.
#ifndef EVIDENTIA_COLLECTOR_IDENTITY_REGISTRY_H_
#define EVIDENTIA_COLLECTOR_IDENTITY_REGISTRY_H_

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
#include "collector/store/store.h"
#include "common/proto_time.h"
#include "common/x509.h"
#include "evidentia/v1/collector.pb.h"
#include "evidentia/v1/operator.pb.h"
#include "evidentia/v1/reports.pb.h"
#include "grading/fleet.h"

namespace evidentia::collector {

inline constexpr absl::Duration kDefaultTokenTtl = absl::Hours(1);
inline constexpr absl::Duration kMaxTokenTtl = absl::Hours(24 * 30);
// How long an agent's TLS client certificate is valid from enrolment.
inline constexpr absl::Duration kAgentCertValidity = absl::Hours(24 * 365 * 2);

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
  // The CA that issues agents' client certificates at enrolment.
  void set_certificate_authority(KeyAndCert ca) { ca_ = std::move(ca); }

  // Consumes one use of the request's token, registers its key under a
  // fresh random agent id and issues the agent's TLS client certificate for
  // the request's CSR. UNAUTHENTICATED for an unknown, expired or used-up
  // token (a used-up one is also recorded as a "token_reuse" event, from
  // `peer`); INVALID_ARGUMENT for a key that is not Ed25519 SPKI PEM, a
  // malformed label or a CSR that is missing or does not verify;
  // FAILED_PRECONDITION when no CA is set.
  absl::StatusOr<v1::EnrollResponse> Enroll(const v1::EnrollRequest& request,
                                            absl::string_view peer = "");

  // The agent's record (revoked_at set when revoked), or nullopt if no such
  // agent is enrolled.
  absl::StatusOr<std::optional<v1::AgentRecord>> GetAgent(
      absl::string_view agent_id) const;
  absl::StatusOr<std::vector<v1::AgentRecord>> ListAgents() const;

  // Revokes the agent durably (and records a "revoked" event from `peer`);
  // revoking again keeps the first time. Returns the record. NOT_FOUND for
  // an unknown agent.
  absl::StatusOr<v1::AgentRecord> Revoke(absl::string_view agent_id,
                                         absl::string_view peer);
  // When the agent was revoked, or nullopt while it is not.
  absl::StatusOr<std::optional<absl::Time>> RevokedAt(
      absl::string_view agent_id) const;

  // Stores an event durably; failures are returned (and worth logging), but
  // never change the answer given to the client.
  absl::Status RecordEvent(absl::string_view kind, absl::string_view agent_id,
                           uint64_t seq, absl::string_view detail,
                           absl::string_view peer);
  absl::StatusOr<std::vector<v1::SecurityEvent>> ListEvents() const;

 private:
  Store& store_;
  Clock clock_;
  FleetState* fleet_ = nullptr;
  std::optional<KeyAndCert> ca_;
  absl::Mutex tokens_mu_;  // serializes token read-modify-write
  absl::Mutex revoke_mu_;  // serializes revocations
  // Tie-breaker for events in the same microsecond; starts at a random
  // value so a restarted collector cannot overwrite an earlier event.
  std::atomic<uint64_t> event_counter_;
};

}  // namespace evidentia::collector

#endif  // EVIDENTIA_COLLECTOR_IDENTITY_REGISTRY_H_
