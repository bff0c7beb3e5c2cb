// A running collector: its data directory prepared, its store open and its
// gRPC services listening with TLS. main() only parses flags, calls Start
// and waits; tests start one in-process on 127.0.0.1:0.
#ifndef EVIDENTIA_COLLECTOR_SERVER_SERVER_H_
#define EVIDENTIA_COLLECTOR_SERVER_SERVER_H_

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "collector/identity/registry.h"
#include "collector/identity/users.h"
#include "collector/ingest/ingest.h"
#include "collector/ingest/ingest_metrics.h"
#include "collector/log/transparency_log.h"
#include "collector/query/store_evidence.h"
#include "collector/server/service.h"
#include "collector/server/submit_streams.h"
#include "collector/store/rocksdb_store.h"
#include "collector/store/store.h"
#include "collector/web/web_server.h"
#include "common/ed25519.h"
#include "common/proto_time.h"
#include "grading/fleet.h"
#include "grading/grading.h"
#include "grading/policy.h"
#include "grpcpp/grpcpp.h"

namespace evidentia::collector {

inline constexpr char kDefaultListen[] = "127.0.0.1:7443";
// One gRPC message; our own, smaller limits (collector/ingest/ingest.h) answer
// INVALID_ARGUMENT below this.
inline constexpr int kMaxMessageBytes = 8 << 20;

struct ServerOptions {
  std::filesystem::path data_dir;
  std::string listen = kDefaultListen;
  // Extra names for the TLS certificate beyond localhost, 127.0.0.1, ::1
  // and this host's name (used only when the certificate is first made).
  std::vector<std::string> tls_names;
  // The policy set to grade with (policies/README.md); without it the
  // collector stores evidence but answers grading calls FAILED_PRECONDITION.
  std::filesystem::path policies_dir;
  std::filesystem::path soa_file;
  // How often the transparency log signs a checkpoint when it grew (and
  // how soon after an acknowledgement a snapshot gets its leaf).
  absl::Duration checkpoint_interval = absl::Minutes(5);
  absl::Duration integrate_interval = absl::Milliseconds(200);
  // Bounds on Submit streams (collector/server/submit_streams.h) and on Enroll
  // calls (collector/server/service.h).
  StreamLimits stream_limits;
  StreamLimits enroll_limits = EnrollCallLimits();
  // Memory the gRPC server may use for connections and the messages it is
  // receiving (gRPC's ResourceQuota); near it, gRPC closes idle connections
  // and then refuses calls rather than grow.
  size_t grpc_memory_bytes = size_t{2} << 30;
  // Threads the gRPC server may use at most; calls beyond are refused with
  // RESOURCE_EXHAUSTED rather than queued without bound.
  int max_threads = 512;
  // The free-space reserve of the store, and its operating system for
  // tests that inject faults.
  RocksDbOptions store;
  Clock clock = SystemClock();
  // Snapshots a second each agent may submit on average, in bursts of
  // agent_submit_burst; over it a submission is refused RESOURCE_EXHAUSTED
  // with retry_after_ms (collector/ingest/agent_rate_limit.h). 0: no limit.
  double agent_submit_rate = 0;
  double agent_submit_burst = 10;
  // The clock the buckets refill by: the real one, or a test's that it
  // advances itself (`clock` may be frozen).
  Clock rate_limit_clock = SystemClock();
  // The HTTPS dashboard (docs/dashboard.md); web.listen empty: none.
  web::WebOptions web = NoDashboard();
  // What one dashboard password hash costs (tests use the minimum).
  PasswordCost password_cost = InteractivePasswordCost();

  static web::WebOptions NoDashboard() {
    web::WebOptions options;
    options.listen.clear();
    return options;
  }
};

class Server {
 public:
  // Prepares the data dir, opens the store and listens. UNAVAILABLE when the
  // address cannot be bound or the store is in use; FAILED_PRECONDITION for
  // an unsafe data dir.
  static absl::StatusOr<std::unique_ptr<Server>> Start(ServerOptions options);
  ~Server();

  // The port actually bound (useful with port 0).
  int port() const { return port_; }
  // The dashboard's port; 0 without one.
  int web_port() const { return web_ == nullptr ? 0 : web_->port(); }
  // The collector's counters in the Prometheus text format (/metrics).
  std::string Metrics();
  // Blocks until Shutdown() is called from another thread or a signal.
  void Wait();
  // Stops accepting, finishes in-flight calls (up to a short deadline).
  void Shutdown();

 private:
  Server() = default;

  std::unique_ptr<Store> store_;
  std::unique_ptr<policy::PolicySet> policy_;
  std::unique_ptr<FleetState> fleet_;
  std::unique_ptr<StoreEvidence> evidence_;
  std::unique_ptr<Grader> grader_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<AgentRateLimiter> rate_limiter_;  // outlives ingestor_
  std::unique_ptr<Ingestor> ingestor_;
  std::unique_ptr<TransparencyLog> log_;
  std::unique_ptr<SubmitStreams> streams_;
  std::unique_ptr<SubmitStreams> enroll_calls_;
  std::unique_ptr<CollectorService> collector_service_;
  std::unique_ptr<OperatorApi> operator_api_;
  std::unique_ptr<OperatorService> operator_service_;
  std::unique_ptr<grpc::Server> grpc_server_;
  int port_ = 0;
  std::filesystem::path db_dir_;
  IngestMetrics ingest_metrics_;
  std::unique_ptr<Users> users_;
  std::unique_ptr<PrivateKey> operator_signing_key_;
  std::unique_ptr<web::WebServer> web_;
  // The grades by value, recomputed at most once a minute for /metrics.
  absl::Mutex metrics_mu_;
  absl::Time grades_at_ ABSL_GUARDED_BY(metrics_mu_) = absl::InfinitePast();
  std::string grades_text_ ABSL_GUARDED_BY(metrics_mu_);
};

}  // namespace evidentia::collector

#endif  // EVIDENTIA_COLLECTOR_SERVER_SERVER_H_
