#include "collector/server/service.h"

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "collector/export/bundle_export.h"
#include "collector/identity/peer_identity.h"
#include "collector/query/history.h"
#include "collector/query/queries.h"
#include "collector/store/keys.h"
#include "collector/store/records.h"
#include "common/checkpoint.h"
#include "common/envelope.h"
#include "common/log.h"
#include "common/merkle.h"
#include "common/pae.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "evidentia/v1/collector.pb.h"
#include "evidentia/v1/operator.pb.h"
#include "evidentia/v1/reports.pb.h"
#include "evidentia/v1/snapshot.pb.h"
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

absl::StatusOr<Caller> OperatorService::CallerOf(
    const grpc::ServerContext& context) const {
  ASSIGN_OR_RETURN(PeerIdentity identity, Authenticate(context, ca_pem_));
  Caller caller;
  caller.role =
      identity.role == PeerRole::kOperator ? Role::kOperator : Role::kAgent;
  caller.id =
      identity.role == PeerRole::kOperator ? "operator" : identity.agent_id;
  caller.address = context.peer();
  return caller;
}

template <typename Response, typename Call>
grpc::Status OperatorService::Serve(const grpc::ServerContext& context,
                                    Response* response, Call call) const {
  absl::StatusOr<Caller> caller = CallerOf(context);
  if (!caller.ok()) return ToGrpc(caller.status());
  absl::StatusOr<Response> answer = call(*caller);
  if (!answer.ok()) return ToGrpc(answer.status());
  *response = *std::move(answer);
  return grpc::Status::OK;
}

grpc::Status OperatorService::RevokeAgent(grpc::ServerContext* context,
                                          const v1::RevokeAgentRequest* request,
                                          v1::RevokeAgentResponse* response) {
  return Serve(*context, response, [&](const Caller& caller) {
    return api_.RevokeAgent(caller, *request);
  });
}

grpc::Status OperatorService::CreateToken(grpc::ServerContext* context,
                                          const v1::CreateTokenRequest* request,
                                          v1::CreateTokenResponse* response) {
  return Serve(*context, response, [&](const Caller& caller) {
    return api_.CreateToken(caller, *request);
  });
}

grpc::Status OperatorService::ListAgents(grpc::ServerContext* context,
                                         const v1::ListAgentsRequest* request,
                                         v1::ListAgentsResponse* response) {
  return Serve(*context, response, [&](const Caller& caller) {
    return api_.ListAgents(caller, *request);
  });
}

grpc::Status OperatorService::GetEvidence(grpc::ServerContext* context,
                                          const v1::GetEvidenceRequest* request,
                                          v1::GetEvidenceResponse* response) {
  return Serve(*context, response, [&](const Caller& caller) {
    return api_.GetEvidence(caller, *request);
  });
}

grpc::Status OperatorService::ListEvents(grpc::ServerContext* context,
                                         const v1::ListEventsRequest* request,
                                         v1::ListEventsResponse* response) {
  return Serve(*context, response, [&](const Caller& caller) {
    return api_.ListEvents(caller, *request);
  });
}

grpc::Status OperatorService::GradeControls(
    grpc::ServerContext* context, const v1::GradeRequest* request,
    v1::GradeControlsResponse* response) {
  return Serve(*context, response, [&](const Caller& caller) {
    return api_.GradeControls(caller, *request);
  });
}

grpc::Status OperatorService::GetControl(grpc::ServerContext* context,
                                         const v1::GetControlRequest* request,
                                         v1::ControlGrade* response) {
  return Serve(*context, response, [&](const Caller& caller) {
    return api_.GetControl(caller, *request);
  });
}

grpc::Status OperatorService::GetHost(grpc::ServerContext* context,
                                      const v1::GetHostRequest* request,
                                      v1::GetHostResponse* response) {
  return Serve(*context, response, [&](const Caller& caller) {
    return api_.GetHost(caller, *request);
  });
}

grpc::Status OperatorService::GetHistory(grpc::ServerContext* context,
                                         const v1::GetHistoryRequest* request,
                                         v1::GetHistoryResponse* response) {
  return Serve(*context, response, [&](const Caller& caller) {
    return api_.GetHistory(caller, *request);
  });
}

grpc::Status OperatorService::AddManualEvidence(
    grpc::ServerContext* context, const v1::AddManualEvidenceRequest* request,
    v1::AddManualEvidenceResponse* response) {
  return Serve(*context, response, [&](const Caller& caller) {
    return api_.AddManualEvidence(caller, *request);
  });
}

grpc::Status OperatorService::AddIsmsRecord(
    grpc::ServerContext* context, const v1::AddIsmsRecordRequest* request,
    v1::AddIsmsRecordResponse* response) {
  return Serve(*context, response, [&](const Caller& caller) {
    return api_.AddIsmsRecord(caller, *request);
  });
}

grpc::Status OperatorService::ListIsmsRecords(
    grpc::ServerContext* context, const v1::ListIsmsRecordsRequest* request,
    v1::ListIsmsRecordsResponse* response) {
  return Serve(*context, response, [&](const Caller& caller) {
    return api_.ListIsmsRecords(caller, *request);
  });
}

grpc::Status OperatorService::GetReadiness(
    grpc::ServerContext* context, const v1::GetReadinessRequest* request,
    v1::ReadinessReport* response) {
  return Serve(*context, response, [&](const Caller& caller) {
    return api_.GetReadiness(caller, *request);
  });
}

grpc::Status OperatorService::GetCycle(grpc::ServerContext* context,
                                       const v1::GetCycleRequest* request,
                                       v1::CycleReport* response) {
  return Serve(*context, response, [&](const Caller& caller) {
    return api_.GetCycle(caller, *request);
  });
}

grpc::Status OperatorService::DrawSample(grpc::ServerContext* context,
                                         const v1::DrawSampleRequest* request,
                                         v1::SampleStatement* response) {
  return Serve(*context, response, [&](const Caller& caller) {
    return api_.DrawSample(caller, *request);
  });
}

grpc::Status OperatorService::ProveAction(grpc::ServerContext* context,
                                          const v1::ProveActionRequest* request,
                                          v1::ProveActionResponse* response) {
  return Serve(*context, response, [&](const Caller& caller) {
    return api_.ProveAction(caller, *request);
  });
}

grpc::Status OperatorService::GetCheckpoint(
    grpc::ServerContext* context, const v1::GetCheckpointRequest* request,
    v1::GetCheckpointResponse* response) {
  return Serve(*context, response, [&](const Caller& caller) {
    return api_.GetCheckpoint(caller, *request);
  });
}

grpc::Status OperatorService::ProveInclusion(
    grpc::ServerContext* context, const v1::ProveInclusionRequest* request,
    v1::ProveInclusionResponse* response) {
  return Serve(*context, response, [&](const Caller& caller) {
    return api_.ProveInclusion(caller, *request);
  });
}

grpc::Status OperatorService::ProveConsistency(
    grpc::ServerContext* context, const v1::ProveConsistencyRequest* request,
    v1::ProveConsistencyResponse* response) {
  return Serve(*context, response, [&](const Caller& caller) {
    return api_.ProveConsistency(caller, *request);
  });
}

grpc::Status OperatorService::AddUser(grpc::ServerContext* context,
                                      const v1::AddUserRequest* request,
                                      v1::AddUserResponse* response) {
  return Serve(*context, response, [&](const Caller& caller) {
    return api_.AddUser(caller, *request);
  });
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
  absl::StatusOr<Caller> caller = CallerOf(*context);
  if (!caller.ok()) return ToGrpc(caller.status());
  StreamSink sink(*writer);
  absl::StatusOr<v1::ExportSummary> summary =
      api_.Export(*caller, *request, sink);
  if (!summary.ok()) return ToGrpc(summary.status());
  return ToGrpc(sink.Flush(&*summary));
}

}  // namespace evidentia::collector
