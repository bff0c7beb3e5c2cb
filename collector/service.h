// The gRPC face of the collector: the agent-facing Collector service and the
// operator-facing Operator service. They only translate between gRPC and the
// registry, ingest and queries; absl::Status becomes grpc::Status here and
// nowhere else.
#ifndef EVIDENTIA_COLLECTOR_SERVICE_H_
#define EVIDENTIA_COLLECTOR_SERVICE_H_

#include "absl/status/status.h"
#include "collector/ingest.h"
#include "collector/registry.h"
#include "collector/store.h"
#include "evidentia/v1/collector.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace evidentia::collector {

// The one place an absl::Status becomes a grpc::Status (same codes).
grpc::Status ToGrpc(const absl::Status& status);

class CollectorService final : public v1::Collector::Service {
 public:
  CollectorService(Registry& registry, Ingestor& ingestor)
      : registry_(registry), ingestor_(ingestor) {}

  grpc::Status Enroll(grpc::ServerContext* context,
                      const v1::EnrollRequest* request,
                      v1::EnrollResponse* response) override;
  grpc::Status Submit(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::SubmitResponse, v1::SubmitRequest>* stream)
      override;

 private:
  Registry& registry_;
  Ingestor& ingestor_;
};

// Every call needs metadata "authorization: Bearer <operator credential>".
class OperatorService final : public v1::Operator::Service {
 public:
  OperatorService(Store& store, Registry& registry)
      : store_(store), registry_(registry) {}

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

 private:
  absl::Status Authorize(const grpc::ServerContext& context) const;

  Store& store_;
  Registry& registry_;
};

}  // namespace evidentia::collector

#endif  // EVIDENTIA_COLLECTOR_SERVICE_H_
