#include "collector/service.h"

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "collector/bundle_export.h"
#include "collector/history.h"
#include "collector/keys.h"
#include "collector/peer_identity.h"
#include "collector/queries.h"
#include "collector/records.h"
#include "common/checkpoint.h"
#include "common/envelope.h"
#include "common/log.h"
#include "common/merkle.h"
#include "common/pae.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "evidentia/v1/store.pb.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "grpc/grpc_security_constants.h"
#include "grpcpp/support/method_handler.h"
#include "grpcpp/support/proto_buffer_reader.h"

namespace evidentia::collector {

grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

StreamLimits EnrollCallLimits() {
  StreamLimits limits;
  limits.what = "Enroll call";
  limits.max_streams = 8;
  limits.max_streams_per_source = kMaxEnrollCallsPerAddress;
  limits.idle_timeout = absl::Seconds(10);
  return limits;
}

CollectorService::CollectorService(Registry& registry, Ingestor& ingestor,
                                   SubmitStreams& streams,
                                   SubmitStreams& enroll_calls,
                                   std::string ca_pem, Clock clock)
    : registry_(registry),
      ingestor_(ingestor),
      streams_(streams),
      enroll_calls_(enroll_calls),
      ca_pem_(std::move(ca_pem)),
      clock_(std::move(clock)) {
  // gRPC 1.51 has no public synchronous raw method; this is what its own
  // generated WithStreamedUnaryMethod_ classes do, with bytes for requests.
  MarkMethodStreamed(
      1, new grpc::internal::BidiStreamingHandler<
             CollectorService, grpc::ByteBuffer, v1::SubmitResponse>(
             [](CollectorService* service, grpc::ServerContext* context,
                grpc::ServerReaderWriter<v1::SubmitResponse, grpc::ByteBuffer>*
                    stream) { return service->SubmitBytes(context, stream); },
             this));
}

grpc::Status CollectorService::StreamedEnroll(
    grpc::ServerContext* context,
    grpc::ServerUnaryStreamer<v1::EnrollRequest, v1::EnrollResponse>* stream) {
  const std::string address = PeerAddress(context->peer());
  const absl::Time started = clock_();
  const auto refuse_blocked = [&] {
    Log(LogLevel::kWarning, absl::StrCat("enrolment from ", context->peer(),
                                         " refused: too many failed attempts"));
    return ToGrpc(absl::ResourceExhaustedError(absl::StrCat(
        "too many failed or unfinished enrolments from ", address, "; wait ",
        absl::FormatDuration(kEnrolFailureWindow), " and check the token")));
  };
  if (enrol_failures_.Blocked(address, started)) return refuse_blocked();
  // Admission comes before counting: a call refused as busy is no attempt,
  // so a burst from behind one address cannot block it.
  absl::StatusOr<std::unique_ptr<SubmitStreams::Lease>> lease =
      enroll_calls_.Open(address, context);
  if (!lease.ok()) {
    context->AddTrailingMetadata(kRetryAfterMsMetadata, "100");
    Log(LogLevel::kWarning,
        absl::StrCat("enrolment from ", context->peer(),
                     " refused: ", lease.status().message()));
    return ToGrpc(lease.status());
  }
  // Counted as a failure from here until it succeeds, in one step with the
  // check: concurrent attempts cannot all slip under the limit.
  if (!enrol_failures_.TryAttempt(address, started)) return refuse_blocked();
  // Tells the client it was admitted (and lets tests see it).
  stream->SendInitialMetadata();
  v1::EnrollRequest request;
  if (!stream->Read(&request)) {
    if (context->IsCancelled()) {
      return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                          "no complete enrolment request in time");
    }
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "the enrolment request does not decode");
  }
  if (request.ByteSizeLong() > kMaxEnrollRequestBytes) {
    return grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        absl::StrCat("enrolment request of ", request.ByteSizeLong(),
                     " bytes; at most ", kMaxEnrollRequestBytes));
  }
  absl::StatusOr<v1::EnrollResponse> enrolled =
      registry_.Enroll(request, context->peer());
  if (!enrolled.ok()) {
    const absl::StatusCode code = enrolled.status().code();
    if (code != absl::StatusCode::kUnauthenticated &&
        code != absl::StatusCode::kInvalidArgument) {
      enrol_failures_.Forgive(address, started);
    }
    Log(LogLevel::kWarning,
        absl::StrCat("enrolment from ", context->peer(),
                     " refused: ", enrolled.status().ToString()));
    return ToGrpc(enrolled.status());
  }
  enrol_failures_.Forgive(address, started);
  Log(LogLevel::kInfo,
      absl::StrCat("enrolled agent ", enrolled->agent_id(), " (",
                   request.host().hostname(), ") from ", context->peer()));
  stream->Write(*enrolled);
  return grpc::Status::OK;
}

namespace {

// The agent_id a full parse of `payload` as a Snapshot would give (the last
// occurrence of its field), read without parsing the rest; nullopt when the
// bytes are not well-formed. Ingest parses the payload anyway; this only
// spares the stream a second full parse of every snapshot.
std::optional<std::string> PayloadAgentId(const std::string& payload) {
  using google::protobuf::internal::WireFormatLite;
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t*>(payload.data()),
      static_cast<int>(payload.size()));
  constexpr uint32_t kAgentIdTag =
      WireFormatLite::MakeTag(v1::Snapshot::kAgentIdFieldNumber,
                              WireFormatLite::WIRETYPE_LENGTH_DELIMITED);
  std::string agent_id;
  while (const uint32_t tag = in.ReadTag()) {
    if (tag == kAgentIdTag) {
      if (!WireFormatLite::ReadString(&in, &agent_id)) return std::nullopt;
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return std::nullopt;
    }
  }
  if (!in.ConsumedEntireMessage()) return std::nullopt;
  return agent_id;
}

}  // namespace

std::optional<v1::SubmitResponse> CollectorService::Refusal(
    const v1::SubmitRequest& request, const std::string& agent_id,
    const std::string& peer) {
  const std::string& payload = request.envelope().payload();
  // The common case, the stream's own agent: ingest decides. Anything else
  // takes the full parse below, exactly as before.
  if (payload.size() <= kMaxPayloadBytes &&
      PayloadAgentId(payload) == agent_id) {
    return std::nullopt;
  }
  v1::Snapshot snapshot;
  // What does not parse (or is too large) ingest refuses with its reason.
  if (payload.size() > kMaxPayloadBytes || !snapshot.ParseFromString(payload)) {
    return std::nullopt;
  }
  if (snapshot.agent_id() != agent_id) {
    const std::string detail = absl::StrCat(
        "agent ", agent_id, " (by its client certificate) sent snapshot ",
        snapshot.seq(), " of agent ", snapshot.agent_id(), "; refused");
    registry_.RecordEvent("wrong_agent", agent_id, snapshot.seq(), detail, peer)
        .IgnoreError();  // the refusal below stands either way
    return Rejected(absl::PermissionDeniedError(detail), snapshot.seq(),
                    Sha256(payload));
  }
  // A revocation made while the stream is open is refused by ingest, which
  // reads it under the agent's lock.
  return std::nullopt;
}

absl::StatusOr<std::string> CollectorService::AgentOf(
    const grpc::ServerContext& context) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  std::vector<grpc::string_ref> pem =
      auth == nullptr
          ? std::vector<grpc::string_ref>()
          : auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  std::string cert_sha256;
  const absl::Time now = clock_();
  if (!pem.empty()) {
    cert_sha256 =
        Sha256(std::string_view(pem.front().data(), pem.front().size()));
    absl::MutexLock lock(&verified_mu_);
    auto it = verified_.find(cert_sha256);
    if (it != verified_.end() &&
        now - it->second.verified_at < kVerifiedCertificateTtl &&
        now >= it->second.verified_at) {
      return it->second.agent_id;
    }
  }
  ASSIGN_OR_RETURN(PeerIdentity identity,
                   RequireRole(context, ca_pem_, PeerRole::kAgent));
  if (!cert_sha256.empty()) {
    absl::MutexLock lock(&verified_mu_);
    if (verified_.size() >= kMaxVerifiedCertificates) verified_.clear();
    verified_[cert_sha256] = VerifiedAgent{identity.agent_id, now};
  }
  return identity.agent_id;
}

grpc::Status CollectorService::SubmitBytes(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::SubmitResponse, grpc::ByteBuffer>* stream) {
  const std::string peer = context->peer();
  absl::StatusOr<std::string> identity = AgentOf(*context);
  if (!identity.ok()) {
    Log(LogLevel::kWarning,
        absl::StrCat("submit stream from ", peer,
                     " refused: ", identity.status().ToString()));
    return ToGrpc(identity.status());
  }
  const std::string& agent_id = *identity;
  absl::StatusOr<std::optional<absl::Time>> revoked =
      registry_.RevokedAt(agent_id);
  if (!revoked.ok()) return ToGrpc(revoked.status());
  if (revoked->has_value()) {
    Log(LogLevel::kWarning, absl::StrCat("submit stream from revoked agent ",
                                         agent_id, " at ", peer, " refused"));
    return ToGrpc(absl::PermissionDeniedError(
        absl::StrCat("agent ", agent_id, " was revoked at ",
                     absl::FormatTime("%Y-%m-%d %H:%M:%SZ", **revoked,
                                      absl::UTCTimeZone()))));
  }
  // One agent (not one address: agents may share a NAT) is one source.
  absl::StatusOr<std::unique_ptr<SubmitStreams::Lease>> lease =
      streams_.Open(agent_id, context);
  if (!lease.ok()) {
    Log(LogLevel::kWarning, absl::StrCat("stream from ", peer, " refused: ",
                                         lease.status().message()));
    return ToGrpc(lease.status());
  }
  // Tells the client it was admitted (and lets tests see it).
  stream->SendInitialMetadata();
  grpc::ByteBuffer bytes;
  v1::SubmitRequest request;
  while (stream->Read(&bytes)) {
    (*lease)->Touch();
    grpc::ProtoBufferReader reader(&bytes);
    if (!request.ParseFromZeroCopyStream(&reader)) {
      Log(LogLevel::kWarning,
          absl::StrCat("submit stream from ", peer,
                       " ended: a request that does not decode"));
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "a SubmitRequest that does not decode");
    }
    std::optional<v1::SubmitResponse> refusal =
        Refusal(request, agent_id, peer);
    v1::SubmitResponse response = refusal.has_value()
                                      ? *std::move(refusal)
                                      : ingestor_.Submit(request, peer);
    if (response.result() == v1::SubmitResponse::REJECTED) {
      Log(LogLevel::kWarning,
          absl::StrCat("refused from ", peer, ": ", response.message()));
    }
    if (!stream->Write(response)) break;
    (*lease)->Touch();
  }
  if (context->IsCancelled()) {
    return grpc::Status(grpc::StatusCode::CANCELLED,
                        "stream cancelled (idle, or the client left)");
  }
  return grpc::Status::OK;
}

grpc::Status CollectorService::StreamedRotateKey(
    grpc::ServerContext* context,
    grpc::ServerUnaryStreamer<v1::RotateKeyRequest, v1::RotateKeyResponse>*
        stream) {
  absl::StatusOr<PeerIdentity> identity =
      RequireRole(*context, ca_pem_, PeerRole::kAgent);
  if (!identity.ok()) return ToGrpc(identity.status());
  // Counted with the agent's Submit streams, and cancelled like them when
  // its request does not come.
  absl::StatusOr<std::unique_ptr<SubmitStreams::Lease>> lease =
      streams_.Open(identity->agent_id, context);
  if (!lease.ok()) return ToGrpc(lease.status());
  v1::RotateKeyRequest request;
  if (!stream->Read(&request)) {
    return context->IsCancelled()
               ? grpc::Status(grpc::StatusCode::CANCELLED,
                              "no complete key rotation request in time")
               : grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                              "the key rotation request does not decode");
  }
  absl::StatusOr<v1::RotateKeyResponse> rotated =
      ingestor_.RotateKey(request, identity->agent_id, context->peer());
  if (!rotated.ok()) {
    Log(LogLevel::kWarning,
        absl::StrCat("key rotation from ", context->peer(),
                     " refused: ", rotated.status().ToString()));
    return ToGrpc(rotated.status());
  }
  Log(LogLevel::kInfo, absl::StrCat("agent ", identity->agent_id,
                                    " rotated its key to ", rotated->key_id()));
  stream->Write(*rotated);
  return grpc::Status::OK;
}

absl::Status OperatorService::Authorize(
    const grpc::ServerContext& context) const {
  return RequireRole(context, ca_pem_, PeerRole::kOperator).status();
}

grpc::Status OperatorService::RevokeAgent(grpc::ServerContext* context,
                                          const v1::RevokeAgentRequest* request,
                                          v1::RevokeAgentResponse* response) {
  if (absl::Status auth = Authorize(*context); !auth.ok()) return ToGrpc(auth);
  absl::StatusOr<v1::AgentRecord> revoked =
      registry_.Revoke(request->agent_id(), context->peer());
  if (!revoked.ok()) return ToGrpc(revoked.status());
  Log(LogLevel::kInfo,
      absl::StrCat("agent ", request->agent_id(),
                   " revoked by the operator at ", context->peer()));
  *response->mutable_agent() = *std::move(revoked);
  return grpc::Status::OK;
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
  // Evidence of a revoked device stays valid but must say so.
  absl::StatusOr<std::optional<absl::Time>> revoked =
      registry_.RevokedAt(request->agent_id());
  if (!revoked.ok()) return ToGrpc(revoked.status());
  if (revoked->has_value()) {
    *evidence->mutable_agent()->mutable_revoked_at() = ToProto(**revoked);
  }
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
  // Revocation is a present fact: the in-memory fleet knows it.
  std::set<std::string> revoked;
  for (const HostPtr& host : fleet_.Hosts()) {
    if (host->agent.has_revoked_at()) revoked.insert(host->agent.agent_id());
  }
  for (v1::HostCheck& finding : *grade->mutable_findings()) {
    finding.set_agent_revoked(revoked.count(finding.agent_id()) > 0);
  }
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
  // Also for a moment before the revocation: the device is not trusted now.
  absl::StatusOr<std::optional<absl::Time>> revoked =
      registry_.RevokedAt(host.agent.agent_id());
  if (!revoked.ok()) return ToGrpc(revoked.status());
  if (revoked->has_value()) {
    *response->mutable_agent()->mutable_revoked_at() = ToProto(**revoked);
  }
  response->set_silent(grader_->IsSilent(host, fleet->first));
  for (v1::HostCheck& check : *checks) {
    check.set_agent_revoked(response->agent().has_revoked_at());
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

namespace {

// Sends the bundle down the Export stream in messages of about 1 MiB; a
// file larger than that goes in pieces.
class StreamSink : public BundleSink {
 public:
  explicit StreamSink(grpc::ServerWriter<v1::ExportChunk>& writer)
      : writer_(writer) {}

  absl::Status Add(absl::string_view path, absl::string_view bytes) override {
    do {
      const size_t n = std::min(bytes.size(), kChunkBytes - pending_bytes_);
      v1::BundleFile& file = *chunk_.add_files();
      file.set_path(std::string(path));
      file.set_data(std::string(bytes.substr(0, n)));
      bytes.remove_prefix(n);
      file.set_more(!bytes.empty());
      pending_bytes_ += n + path.size();
      if (pending_bytes_ >= kChunkBytes) RETURN_IF_ERROR(Flush());
    } while (!bytes.empty());
    return absl::OkStatus();
  }

  // Sends what is pending, with `summary` when given.
  absl::Status Flush(const v1::ExportSummary* summary = nullptr) {
    if (summary != nullptr) *chunk_.mutable_summary() = *summary;
    if (!writer_.Write(chunk_)) {
      return absl::CancelledError("the client went away during the export");
    }
    chunk_.Clear();
    pending_bytes_ = 0;
    return absl::OkStatus();
  }

 private:
  static constexpr size_t kChunkBytes = 1 << 20;
  grpc::ServerWriter<v1::ExportChunk>& writer_;
  v1::ExportChunk chunk_;
  size_t pending_bytes_ = 0;
};

}  // namespace

grpc::Status OperatorService::Export(
    grpc::ServerContext* context, const v1::ExportRequest* request,
    grpc::ServerWriter<v1::ExportChunk>* writer) {
  if (absl::Status auth = Authorize(*context); !auth.ok()) return ToGrpc(auth);
  if (!request->has_from() || !request->has_to()) {
    return ToGrpc(absl::InvalidArgumentError("an export needs from and to"));
  }
  ExportSources sources;
  sources.store = &store_;
  sources.log = &log_;
  sources.grader = grader_;
  sources.collector_key = &collector_key_;
  sources.operator_key = &operator_key_;
  sources.clock = clock_;
  const ExportPeriod period{FromProto(request->from()),
                            FromProto(request->to()), request->scope()};
  StreamSink sink(*writer);
  absl::StatusOr<v1::ExportSummary> summary =
      ExportBundle(sources, period, sink);
  if (!summary.ok()) return ToGrpc(summary.status());
  Log(LogLevel::kInfo,
      absl::StrCat("exported a bundle: ", summary->agents(), " agents, ",
                   summary->snapshots(), " snapshots, ", summary->files(),
                   " files, ", summary->bytes(), " bytes"));
  return ToGrpc(sink.Flush(&*summary));
}

grpc::Status OperatorService::GetCheckpoint(
    grpc::ServerContext* context, const v1::GetCheckpointRequest* request,
    v1::GetCheckpointResponse* response) {
  if (absl::Status auth = Authorize(*context); !auth.ok()) return ToGrpc(auth);
  absl::StatusOr<std::optional<v1::StoredCheckpoint>> latest =
      log_.LatestCheckpoint();
  if (!latest.ok()) return ToGrpc(latest.status());
  if (request->sign_now() || !latest->has_value()) {
    absl::StatusOr<v1::StoredCheckpoint> signed_now = log_.SignCheckpoint();
    if (!signed_now.ok()) return ToGrpc(signed_now.status());
    *latest = *std::move(signed_now);
  }
  response->set_checkpoint((*latest)->text());
  response->set_signature((*latest)->signature());
  return grpc::Status::OK;
}

namespace {

// The tree size a proof request means: as asked, or the newest checkpoint's.
absl::StatusOr<uint64_t> TreeSize(const TransparencyLog& log,
                                  uint64_t requested) {
  if (requested != 0) {
    if (requested > log.size()) {
      return absl::OutOfRangeError(absl::StrCat("the log has ", log.size(),
                                                " entries, not ", requested));
    }
    return requested;
  }
  ASSIGN_OR_RETURN(std::optional<v1::StoredCheckpoint> latest,
                   log.LatestCheckpoint());
  if (!latest.has_value()) {
    return absl::FailedPreconditionError("no checkpoint has been signed yet");
  }
  ASSIGN_OR_RETURN(Checkpoint checkpoint, ParseCheckpoint(latest->text()));
  return checkpoint.size;
}

}  // namespace

grpc::Status OperatorService::ProveInclusion(
    grpc::ServerContext* context, const v1::ProveInclusionRequest* request,
    v1::ProveInclusionResponse* response) {
  if (absl::Status auth = Authorize(*context); !auth.ok()) return ToGrpc(auth);
  absl::StatusOr<uint64_t> size = TreeSize(log_, request->tree_size());
  if (!size.ok()) return ToGrpc(size.status());
  absl::StatusOr<std::optional<uint64_t>> index =
      log_.LeafIndex(request->agent_id(), request->seq());
  if (!index.ok()) return ToGrpc(index.status());
  if (!index->has_value() || **index >= *size) {
    return ToGrpc(absl::NotFoundError(absl::StrCat(
        "snapshot ", request->seq(), " of agent ", request->agent_id(),
        " is not in the log of size ", *size)));
  }
  absl::StatusOr<std::vector<std::string>> proof =
      log_.InclusionProof(**index, *size);
  if (!proof.ok()) return ToGrpc(proof.status());
  absl::StatusOr<std::optional<v1::StoredSnapshot>> stored =
      GetRecord<v1::StoredSnapshot>(
          store_, Table::kSnapshots,
          keys::Snapshot(request->agent_id(), request->seq()), "snapshot");
  if (!stored.ok()) return ToGrpc(stored.status());
  if (stored->has_value()) {
    response->set_leaf_hash(merkle::SnapshotLeafHash(
        (*stored)->envelope().payload(), (*stored)->envelope().signature()));
  }
  response->set_leaf_index(**index);
  response->set_tree_size(*size);
  for (std::string& hash : *proof) response->add_hashes(std::move(hash));
  return grpc::Status::OK;
}

grpc::Status OperatorService::ProveConsistency(
    grpc::ServerContext* context, const v1::ProveConsistencyRequest* request,
    v1::ProveConsistencyResponse* response) {
  if (absl::Status auth = Authorize(*context); !auth.ok()) return ToGrpc(auth);
  absl::StatusOr<uint64_t> second = TreeSize(log_, request->second_size());
  if (!second.ok()) return ToGrpc(second.status());
  if (request->first_size() > *second) {
    return ToGrpc(absl::InvalidArgumentError(
        absl::StrCat("first size ", request->first_size(),
                     " is larger than second size ", *second)));
  }
  absl::StatusOr<std::vector<std::string>> proof =
      log_.ConsistencyProof(request->first_size(), *second);
  if (!proof.ok()) return ToGrpc(proof.status());
  absl::StatusOr<std::string> first_root = log_.Root(request->first_size());
  if (!first_root.ok()) return ToGrpc(first_root.status());
  absl::StatusOr<std::string> second_root = log_.Root(*second);
  if (!second_root.ok()) return ToGrpc(second_root.status());
  response->set_first_size(request->first_size());
  response->set_second_size(*second);
  for (std::string& hash : *proof) response->add_hashes(std::move(hash));
  response->set_first_root(*std::move(first_root));
  response->set_second_root(*std::move(second_root));
  return grpc::Status::OK;
}

}  // namespace evidentia::collector
