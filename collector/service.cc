#include "collector/service.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "collector/history.h"
#include "collector/keys.h"
#include "collector/queries.h"
#include "common/envelope.h"
#include "common/log.h"
#include "common/pae.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "evidentia/v1/store.pb.h"

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

absl::StatusOr<std::pair<absl::Time, std::vector<HostPtr>>>
OperatorService::Fleet(const v1::GradeRequest& request) const {
  if (grader_ == nullptr) {
    return absl::FailedPreconditionError(
        "the collector runs without a policy set; start it with --policies "
        "DIR --soa FILE to grade");
  }
  std::vector<HostPtr> hosts;
  absl::Time at = clock_();
  if (request.has_as_of()) {
    at = FromProto(request.as_of());
    ASSIGN_OR_RETURN(hosts, FleetAsOf(store_, at, grader_->ObservedIds()));
  } else {
    hosts = fleet_.Hosts();
  }
  ASSIGN_OR_RETURN(hosts, InScope(std::move(hosts), request.scope()));
  return std::make_pair(at, std::move(hosts));
}

grpc::Status OperatorService::GradeControls(
    grpc::ServerContext* context, const v1::GradeRequest* request,
    v1::GradeControlsResponse* response) {
  if (absl::Status auth = Authorize(*context); !auth.ok()) return ToGrpc(auth);
  auto fleet = Fleet(*request);
  if (!fleet.ok()) return ToGrpc(fleet.status());
  absl::StatusOr<v1::GradeControlsResponse> graded =
      grader_->GradeAll(fleet->second, fleet->first);
  if (!graded.ok()) return ToGrpc(graded.status());
  *response = *std::move(graded);
  response->set_scope(request->scope());
  return grpc::Status::OK;
}

grpc::Status OperatorService::GetControl(grpc::ServerContext* context,
                                         const v1::GetControlRequest* request,
                                         v1::ControlGrade* response) {
  if (absl::Status auth = Authorize(*context); !auth.ok()) return ToGrpc(auth);
  auto fleet = Fleet(request->at());
  if (!fleet.ok()) return ToGrpc(fleet.status());
  absl::StatusOr<v1::ControlGrade> grade = grader_->GradeControl(
      request->control_id(), fleet->second, fleet->first, true);
  if (!grade.ok()) return ToGrpc(grade.status());
  *response = *std::move(grade);
  return grpc::Status::OK;
}

grpc::Status OperatorService::GetHost(grpc::ServerContext* context,
                                      const v1::GetHostRequest* request,
                                      v1::GetHostResponse* response) {
  if (absl::Status auth = Authorize(*context); !auth.ok()) return ToGrpc(auth);
  auto fleet = Fleet(request->at());
  if (!fleet.ok()) return ToGrpc(fleet.status());
  std::vector<HostPtr> matches;
  for (const HostPtr& host : fleet->second) {
    if (host->agent.agent_id() == request->host()) {
      matches = {host};
      break;
    }
    if (host->agent.host().hostname() == request->host()) {
      matches.push_back(host);
    }
  }
  if (matches.empty()) {
    return ToGrpc(absl::NotFoundError(
        absl::StrCat("no host ", request->host(), " in scope")));
  }
  if (matches.size() > 1) {
    return ToGrpc(absl::FailedPreconditionError(absl::StrCat(
        matches.size(), " agents report hostname ", request->host(),
        "; name one by agent id (evidentia agents)")));
  }
  const HostEvidence& host = *matches.front();
  absl::StatusOr<std::vector<v1::HostCheck>> checks =
      grader_->CheckHost(host, fleet->first);
  if (!checks.ok()) return ToGrpc(checks.status());
  *response->mutable_agent() = host.agent;
  response->set_silent(grader_->IsSilent(host, fleet->first));
  for (v1::HostCheck& check : *checks) {
    *response->add_checks() = std::move(check);
  }
  response->set_policy_sha256(grader_->policy().sha256);
  *response->mutable_at() = ToProto(fleet->first);
  return grpc::Status::OK;
}

grpc::Status OperatorService::GetHistory(grpc::ServerContext* context,
                                         const v1::GetHistoryRequest* request,
                                         v1::GetHistoryResponse* response) {
  if (absl::Status auth = Authorize(*context); !auth.ok()) return ToGrpc(auth);
  if (grader_ == nullptr) return ToGrpc(Fleet(v1::GradeRequest()).status());
  const absl::Time to = request->has_to() ? FromProto(request->to()) : clock_();
  const absl::Time from = request->has_from() ? FromProto(request->from())
                                              : to - absl::Hours(24 * 30);
  absl::StatusOr<v1::GetHistoryResponse> history = ControlHistory(
      *grader_, store_, request->control_id(), request->scope(), from, to);
  if (!history.ok()) return ToGrpc(history.status());
  *response = *std::move(history);
  return grpc::Status::OK;
}

grpc::Status OperatorService::AddManualEvidence(
    grpc::ServerContext* context, const v1::AddManualEvidenceRequest* request,
    v1::AddManualEvidenceResponse* response) {
  if (absl::Status auth = Authorize(*context); !auth.ok()) return ToGrpc(auth);
  if (request->document().size() > kMaxDocumentBytes) {
    return ToGrpc(absl::InvalidArgumentError(
        absl::StrCat("document is ", request->document().size(),
                     " bytes; at most ", kMaxDocumentBytes)));
  }
  if (absl::Status signature = operator_key_.Verify(
          Pae(kManualEvidencePayloadType, request->statement()),
          request->signature());
      !signature.ok()) {
    return ToGrpc(absl::UnauthenticatedError(
        "manual evidence statement is not signed by the operator key"));
  }
  v1::ManualEvidenceStatement statement;
  if (!statement.ParseFromString(request->statement())) {
    return ToGrpc(absl::InvalidArgumentError(
        "statement is not a ManualEvidenceStatement"));
  }
  const std::string digest = Sha256(request->document());
  if (statement.document_sha256() != digest) {
    return ToGrpc(absl::InvalidArgumentError(
        "the document's SHA-256 differs from the signed statement's"));
  }
  if (grader_ != nullptr &&
      grader_->policy().FindControl(statement.control_id()) == nullptr) {
    return ToGrpc(absl::NotFoundError(absl::StrCat(
        "no control ", statement.control_id(), " in the catalogue")));
  }
  const absl::Time now = clock_();
  v1::StoredManualEvidence stored;
  stored.set_statement(request->statement());
  stored.set_signature(request->signature());
  stored.set_key_id(operator_key_.KeyId());
  *stored.mutable_received_at() = ToProto(now);
  Batch batch;
  batch.Put(Table::kObjects, digest, request->document());
  batch.Put(Table::kManual,
            keys::Manual(statement.control_id(), absl::ToUnixMicros(now)),
            stored.SerializeAsString());
  if (absl::Status committed = store_.Commit(batch); !committed.ok()) {
    return ToGrpc(committed);
  }
  response->set_document_sha256(ToHex(digest));
  return grpc::Status::OK;
}

}  // namespace evidentia::collector
