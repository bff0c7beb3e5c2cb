// Who is calling the collector, and whether that caller may make a call.
// Identity comes only from the TLS client certificate: gRPC has verified
// it against the collector's CA during the handshake, and it is verified
// again here, so a mistake in the server's TLS mode cannot let a forged
// certificate through. A certificate carries its role in one
// subjectAltName URI: "evidentia:agent:<agent id>" (CN = agent id) or
// "evidentia:operator". Thread-safe (pure functions).
#ifndef EVIDENTIA_COLLECTOR_IDENTITY_PEER_IDENTITY_H_
#define EVIDENTIA_COLLECTOR_IDENTITY_PEER_IDENTITY_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/grpcpp.h"

namespace evidentia::collector {

inline constexpr absl::string_view kAgentUriPrefix = "evidentia:agent:";
inline constexpr absl::string_view kOperatorUri = "evidentia:operator";

// The SAN URI of an agent's certificate.
std::string AgentUri(absl::string_view agent_id);

enum class PeerRole { kAgent, kOperator };

struct PeerIdentity {
  PeerRole role = PeerRole::kAgent;
  std::string agent_id;  // for kAgent
};

// The identity `cert_pem` proves. UNAUTHENTICATED when it does not verify
// against `ca_pem` (another CA, expired, not for clientAuth) or carries no
// single Evidentia role URI, or an agent URI disagreeing with its CN.
absl::StatusOr<PeerIdentity> IdentityOfCertificate(absl::string_view cert_pem,
                                                   absl::string_view ca_pem);

// The caller's identity, of either role, from its TLS client certificate.
// UNAUTHENTICATED without a valid one.
absl::StatusOr<PeerIdentity> Authenticate(const grpc::ServerContext& context,
                                          absl::string_view ca_pem);

// The caller's identity, from its TLS client certificate, when it has the
// role `role`. UNAUTHENTICATED without a valid client certificate;
// PERMISSION_DENIED when the certificate is of the other role. (Operator
// calls are authorized on their Caller: collector/api/operator_api.h.)
absl::StatusOr<PeerIdentity> RequireRole(const grpc::ServerContext& context,
                                         absl::string_view ca_pem,
                                         PeerRole role);

// Refuses, before its request is read, every call from a peer that
// presented no client certificate, except `Collector.Enroll` (which a new
// endpoint makes without one, and which the service bounds itself). Set on
// the server's TLS credentials; gRPC asks it when a call's headers arrive.
// So a caller without a certificate cannot make the collector buffer a
// request of any other method. Thread-safe; never blocks.
class CertificateGate final : public grpc::AuthMetadataProcessor {
 public:
  bool IsBlocking() const override { return false; }
  grpc::Status Process(const InputMetadata& metadata,
                       grpc::AuthContext* context,
                       OutputMetadata* consumed_metadata,
                       OutputMetadata* response_metadata) override;
};

}  // namespace evidentia::collector

#endif  // EVIDENTIA_COLLECTOR_IDENTITY_PEER_IDENTITY_H_
