// The gRPC face of the collector: the agent-facing Collector service and the
// operator-facing Operator service. They only translate between gRPC and the
// registry, ingest and queries; absl::Status becomes grpc::Status here and
// nowhere else. Every call but Enroll is authorized by the caller's TLS
// client certificate (collector/identity/peer_identity.h): Submit needs an
// agent's, and a snapshot's agent_id must be that agent's; Operator calls need
// the operator's.
#ifndef EVIDENTIA_COLLECTOR_SERVER_SERVICE_H_
#define EVIDENTIA_COLLECTOR_SERVER_SERVICE_H_

#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "collector/api/operator_api.h"
#include "collector/identity/registry.h"
#include "collector/ingest/ingest.h"
#include "collector/log/transparency_log.h"
#include "collector/server/rate_limiter.h"
#include "collector/server/submit_streams.h"
#include "collector/store/store.h"
#include "common/ed25519.h"
#include "common/proto_time.h"
#include "evidentia/v1/collector.grpc.pb.h"
#include "evidentia/v1/operator.grpc.pb.h"
#include "evidentia/v1/reports.pb.h"
#include "grading/fleet.h"
#include "grading/grading.h"
#include "grpcpp/grpcpp.h"

namespace evidentia::collector {

// The one place an absl::Status becomes a grpc::Status (same codes).
grpc::Status ToGrpc(const absl::Status& status);

// How long a Submit stream's client certificate, once verified, is taken
// as its agent's without verifying it again
// (collector/identity/peer_identity.h), and how many certificates are
// remembered so.
inline constexpr absl::Duration kVerifiedCertificateTtl = absl::Minutes(10);
inline constexpr size_t kMaxVerifiedCertificates = 50000;

// An enrolment request carries a public key, a certificate request and a
// few host facts: kilobytes. Larger ones are refused INVALID_ARGUMENT.
inline constexpr size_t kMaxEnrollRequestBytes = 64 << 10;

// Limits on Enroll calls, which need no client certificate: how many may be
// in progress at once (in all and per client IP address), and how long one
// may take from its start to its request's last byte before it is
// cancelled. A call is admitted before its request is read, so only
// admitted calls hold request bytes: at most max_streams times the gRPC
// message limit in all, however many connections a client opens.
StreamLimits EnrollCallLimits();
// Trailing metadata of an Enroll refused because as many calls as it takes
// are in progress: milliseconds after which to try again.
inline constexpr char kRetryAfterMsMetadata[] = "evidentia-retry-after-ms";

// Failed enrolments allowed per client IP address and window.
inline constexpr int kMaxEnrolFailures = 5;
inline constexpr absl::Duration kEnrolFailureWindow = absl::Minutes(1);
// Enroll calls in progress at once from one address. Admitted calls count
// as failures until they succeed, so fewer may be in progress than it takes
// to block the address.
inline constexpr int kMaxEnrollCallsPerAddress = 2;
static_assert(kMaxEnrollCallsPerAddress < kMaxEnrolFailures);
// Addresses tracked for that; beyond it the oldest is forgotten.
inline constexpr size_t kMaxTrackedAddresses = 4096;

// Enroll and RotateKey are served as streamed unary methods: the handler
// runs when the call arrives, before its request is read, so that it can
// refuse or time out a call before the client has sent (and the collector
// buffered) a large request.
class CollectorService final : public v1::Collector::StreamedUnaryService {
 public:
  // `ca_pem` is the CA whose client certificates identify agents.
  // `registry`, `ingestor`, `streams` and `enroll_calls` must outlive the
  // service.
  CollectorService(Registry& registry, Ingestor& ingestor,
                   SubmitStreams& streams, SubmitStreams& enroll_calls,
                   std::string ca_pem, Clock clock = SystemClock());

  grpc::Status StreamedEnroll(
      grpc::ServerContext* context,
      grpc::ServerUnaryStreamer<v1::EnrollRequest, v1::EnrollResponse>* stream)
      override;
  // Submit reads each request as bytes and decodes it here, so that one
  // that does not decode ends the stream INVALID_ARGUMENT (a typed Read
  // would return false as if the client had finished).
  grpc::Status SubmitBytes(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::SubmitResponse, grpc::ByteBuffer>* stream);
  // Streamed for the same reason as Enroll: the agent's certificate is
  // checked and the call admitted among the agent's streams before its
  // request is read.
  grpc::Status StreamedRotateKey(
      grpc::ServerContext* context,
      grpc::ServerUnaryStreamer<v1::RotateKeyRequest, v1::RotateKeyResponse>*
          stream) override;

 private:
  // The refusal of `request` on a stream authenticated as `agent_id`, or
  // nullopt when ingest may decide: a snapshot of another agent is refused
  // here (ingest refuses an agent revoked meanwhile).
  std::optional<v1::SubmitResponse> Refusal(const v1::SubmitRequest& request,
                                            const std::string& agent_id,
                                            const std::string& peer);
  // The agent the caller's client certificate names (RequireRole), from
  // a cache of certificates verified within kVerifiedCertificateTtl: an
  // agent opens a stream per delivery, and verifying the certificate chain
  // again each time cost more than ingesting the snapshot. The TLS
  // handshake verified it against the CA in any case; revocation is read
  // per stream, not cached.
  absl::StatusOr<std::string> AgentOf(const grpc::ServerContext& context);

  Registry& registry_;
  Ingestor& ingestor_;
  SubmitStreams& streams_;
  SubmitStreams& enroll_calls_;
  const std::string ca_pem_;
  Clock clock_;
  FailureLimiter enrol_failures_{kMaxEnrolFailures, kEnrolFailureWindow,
                                 kMaxTrackedAddresses};
  struct VerifiedAgent {
    std::string agent_id;
    absl::Time verified_at;
  };
  absl::Mutex verified_mu_;
  // SHA-256 of the certificate PEM -> the agent it proved.
  absl::flat_hash_map<std::string, VerifiedAgent> verified_
      ABSL_GUARDED_BY(verified_mu_);
};

// The Operator service: every call needs the operator's client
// certificate; each becomes the OperatorApi call of the same name.
class OperatorService final : public v1::Operator::Service {
 public:
  // `ca_pem` is the CA whose client certificates identify callers.
  OperatorService(OperatorApi& api, std::string ca_pem)
      : api_(api), ca_pem_(std::move(ca_pem)) {}

  grpc::Status RevokeAgent(grpc::ServerContext* context,
                           const v1::RevokeAgentRequest* request,
                           v1::RevokeAgentResponse* response) override;
  grpc::Status CreateToken(grpc::ServerContext* context,
                           const v1::CreateTokenRequest* request,
                           v1::CreateTokenResponse* response) override;
  grpc::Status ListAgents(grpc::ServerContext* context,
                          const v1::ListAgentsRequest* request,
                          v1::ListAgentsResponse* response) override;
  grpc::Status GetEvidence(grpc::ServerContext* context,
                           const v1::GetEvidenceRequest* request,
                           v1::GetEvidenceResponse* response) override;
  grpc::Status ListEvents(grpc::ServerContext* context,
                          const v1::ListEventsRequest* request,
                          v1::ListEventsResponse* response) override;
  grpc::Status GradeControls(grpc::ServerContext* context,
                             const v1::GradeRequest* request,
                             v1::GradeControlsResponse* response) override;
  grpc::Status GetControl(grpc::ServerContext* context,
                          const v1::GetControlRequest* request,
                          v1::ControlGrade* response) override;
  grpc::Status GetHost(grpc::ServerContext* context,
                       const v1::GetHostRequest* request,
                       v1::GetHostResponse* response) override;
  grpc::Status GetHistory(grpc::ServerContext* context,
                          const v1::GetHistoryRequest* request,
                          v1::GetHistoryResponse* response) override;
  grpc::Status AddManualEvidence(
      grpc::ServerContext* context, const v1::AddManualEvidenceRequest* request,
      v1::AddManualEvidenceResponse* response) override;
  grpc::Status AddIsmsRecord(grpc::ServerContext* context,
                             const v1::AddIsmsRecordRequest* request,
                             v1::AddIsmsRecordResponse* response) override;
  grpc::Status ListIsmsRecords(grpc::ServerContext* context,
                               const v1::ListIsmsRecordsRequest* request,
                               v1::ListIsmsRecordsResponse* response) override;
  grpc::Status GetReadiness(grpc::ServerContext* context,
                            const v1::GetReadinessRequest* request,
                            v1::ReadinessReport* response) override;
  grpc::Status GetCycle(grpc::ServerContext* context,
                        const v1::GetCycleRequest* request,
                        v1::CycleReport* response) override;
  grpc::Status DrawSample(grpc::ServerContext* context,
                          const v1::DrawSampleRequest* request,
                          v1::SampleStatement* response) override;
  grpc::Status ProveAction(grpc::ServerContext* context,
                           const v1::ProveActionRequest* request,
                           v1::ProveActionResponse* response) override;
  grpc::Status Export(grpc::ServerContext* context,
                      const v1::ExportRequest* request,
                      grpc::ServerWriter<v1::ExportChunk>* writer) override;
  grpc::Status GetCheckpoint(grpc::ServerContext* context,
                             const v1::GetCheckpointRequest* request,
                             v1::GetCheckpointResponse* response) override;
  grpc::Status ProveInclusion(grpc::ServerContext* context,
                              const v1::ProveInclusionRequest* request,
                              v1::ProveInclusionResponse* response) override;
  grpc::Status ProveConsistency(
      grpc::ServerContext* context, const v1::ProveConsistencyRequest* request,
      v1::ProveConsistencyResponse* response) override;
  grpc::Status AddUser(grpc::ServerContext* context,
                       const v1::AddUserRequest* request,
                       v1::AddUserResponse* response) override;

 private:
  // The caller its client certificate proves (UNAUTHENTICATED without).
  absl::StatusOr<Caller> CallerOf(const grpc::ServerContext& context) const;
  // Answers `call(caller)` into `response`.
  template <typename Response, typename Call>
  grpc::Status Serve(const grpc::ServerContext& context, Response* response,
                     Call call) const;

  OperatorApi& api_;
  const std::string ca_pem_;
};

}  // namespace evidentia::collector

#endif  // EVIDENTIA_COLLECTOR_SERVER_SERVICE_H_
