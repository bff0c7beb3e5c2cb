#include "collector/identity/peer_identity.h"

#include <string_view>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/x509.h"
#include "grpc/grpc_security_constants.h"

namespace evidentia::collector {

std::string AgentUri(absl::string_view agent_id) {
  return absl::StrCat(kAgentUriPrefix, agent_id);
}

absl::StatusOr<PeerIdentity> IdentityOfCertificate(absl::string_view cert_pem,
                                                   absl::string_view ca_pem) {
  absl::StatusOr<ClientCertificate> cert = VerifyClientCertificate(
      std::string_view(cert_pem.data(), cert_pem.size()),
      std::string_view(ca_pem.data(), ca_pem.size()));
  if (!cert.ok()) return cert.status();
  std::vector<std::string> roles;
  for (const std::string& uri : cert->uris) {
    if (absl::StartsWith(uri, "evidentia:")) roles.push_back(uri);
  }
  if (roles.size() != 1) {
    return absl::UnauthenticatedError(
        absl::StrCat("client certificate names ", roles.size(),
                     " Evidentia roles; it must name exactly one"));
  }
  PeerIdentity identity;
  if (roles.front() == kOperatorUri) {
    identity.role = PeerRole::kOperator;
    return identity;
  }
  if (absl::StartsWith(roles.front(), kAgentUriPrefix) &&
      roles.front().size() > kAgentUriPrefix.size() &&
      roles.front().substr(kAgentUriPrefix.size()) == cert->common_name) {
    identity.role = PeerRole::kAgent;
    identity.agent_id = cert->common_name;
    return identity;
  }
  return absl::UnauthenticatedError(
      absl::StrCat("client certificate role ", roles.front(),
                   " is not an agent or the operator"));
}

absl::StatusOr<PeerIdentity> Authenticate(const grpc::ServerContext& context,
                                          absl::string_view ca_pem) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  std::vector<grpc::string_ref> pem =
      auth == nullptr
          ? std::vector<grpc::string_ref>()
          : auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  if (pem.empty()) {
    return absl::UnauthenticatedError(
        "this call needs a client certificate: an agent's (enrol first) or "
        "the operator's (operator-client.pem in the collector's data dir)");
  }
  return IdentityOfCertificate(
      absl::string_view(pem.front().data(), pem.front().size()), ca_pem);
}

absl::StatusOr<PeerIdentity> RequireRole(const grpc::ServerContext& context,
                                         absl::string_view ca_pem,
                                         PeerRole role) {
  absl::StatusOr<PeerIdentity> identity = Authenticate(context, ca_pem);
  if (!identity.ok()) return identity.status();
  if (identity->role != role) {
    return absl::PermissionDeniedError(
        role == PeerRole::kAgent
            ? "the operator's certificate cannot submit snapshots"
            : "an agent's certificate cannot make operator calls");
  }
  return identity;
}

grpc::Status CertificateGate::Process(const InputMetadata& metadata,
                                      grpc::AuthContext* context,
                                      OutputMetadata* /*consumed_metadata*/,
                                      OutputMetadata* /*response_metadata*/) {
  if (context != nullptr &&
      !context->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME).empty()) {
    return grpc::Status::OK;  // RequireRole decides what it may call
  }
  auto path = metadata.find(":path");
  const absl::string_view method =
      path == metadata.end()
          ? absl::string_view()
          : absl::string_view(path->second.data(), path->second.size());
  if (method == "/evidentia.v1.Collector/Enroll") return grpc::Status::OK;
  return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                      absl::StrCat("no client certificate: ",
                                   method.empty() ? "this call" : method,
                                   " needs one (only Enroll is made without)"));
}

}  // namespace evidentia::collector
