#include "collector/service.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "collector/queries.h"
#include "common/log.h"

namespace evidentia::collector {

grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

grpc::Status CollectorService::Enroll(grpc::ServerContext* context,
                                      const v1::EnrollRequest* request,
                                      v1::EnrollResponse* response) {
  absl::StatusOr<v1::EnrollResponse> enrolled = registry_.Enroll(*request);
  if (!enrolled.ok()) {
    Log(LogLevel::kWarning,
        absl::StrCat("enrolment from ", context->peer(),
                     " refused: ", enrolled.status().ToString()));
    return ToGrpc(enrolled.status());
  }
  Log(LogLevel::kInfo,
      absl::StrCat("enrolled agent ", enrolled->agent_id(), " (",
                   request->host().hostname(), ") from ", context->peer()));
  *response = *std::move(enrolled);
  return grpc::Status::OK;
}

grpc::Status CollectorService::Submit(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::SubmitResponse, v1::SubmitRequest>* stream) {
  const std::string peer = context->peer();
  v1::SubmitRequest request;
  while (stream->Read(&request)) {
    v1::SubmitResponse response = ingestor_.Submit(request, peer);
    if (response.result() == v1::SubmitResponse::REJECTED) {
      Log(LogLevel::kWarning,
          absl::StrCat("refused from ", peer, ": ", response.message()));
    }
    if (!stream->Write(response)) break;
  }
  return grpc::Status::OK;
}

absl::Status OperatorService::Authorize(
    const grpc::ServerContext& context) const {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  constexpr absl::string_view kBearer = "Bearer ";
  if (it == metadata.end()) {
    return absl::UnauthenticatedError("operator credential missing");
  }
  absl::string_view value(it->second.data(), it->second.size());
  if (!absl::StartsWith(value, kBearer)) {
    return absl::UnauthenticatedError("operator credential malformed");
  }
  value.remove_prefix(kBearer.size());
  return registry_.CheckOperatorCredential(value);
}

grpc::Status OperatorService::CreateToken(grpc::ServerContext* context,
                                          const v1::CreateTokenRequest* request,
                                          v1::CreateTokenResponse* response) {
  if (absl::Status auth = Authorize(*context); !auth.ok()) return ToGrpc(auth);
  absl::StatusOr<v1::CreateTokenResponse> token = registry_.CreateToken(
      absl::Seconds(request->ttl_seconds()), request->uses());
  if (!token.ok()) return ToGrpc(token.status());
  *response = *std::move(token);
  return grpc::Status::OK;
}

grpc::Status OperatorService::ListAgents(grpc::ServerContext* context,
                                         const v1::ListAgentsRequest*,
                                         v1::ListAgentsResponse* response) {
  if (absl::Status auth = Authorize(*context); !auth.ok()) return ToGrpc(auth);
  absl::StatusOr<std::vector<v1::AgentRecord>> agents = registry_.ListAgents();
  if (!agents.ok()) return ToGrpc(agents.status());
  for (v1::AgentRecord& agent : *agents) {
    *response->add_agents() = std::move(agent);
  }
  return grpc::Status::OK;
}

grpc::Status OperatorService::GetEvidence(grpc::ServerContext* context,
                                          const v1::GetEvidenceRequest* request,
                                          v1::GetEvidenceResponse* response) {
  if (absl::Status auth = Authorize(*context); !auth.ok()) return ToGrpc(auth);
  absl::StatusOr<v1::GetEvidenceResponse> evidence =
      collector::GetEvidence(store_, request->agent_id(), request->check_id());
  if (!evidence.ok()) return ToGrpc(evidence.status());
  *response = *std::move(evidence);
  return grpc::Status::OK;
}

grpc::Status OperatorService::ListEvents(grpc::ServerContext* context,
                                         const v1::ListEventsRequest*,
                                         v1::ListEventsResponse* response) {
  if (absl::Status auth = Authorize(*context); !auth.ok()) return ToGrpc(auth);
  absl::StatusOr<std::vector<v1::SecurityEvent>> events =
      registry_.ListEvents();
  if (!events.ok()) return ToGrpc(events.status());
  for (v1::SecurityEvent& event : *events) {
    *response->add_events() = std::move(event);
  }
  return grpc::Status::OK;
}

}  // namespace evidentia::collector
