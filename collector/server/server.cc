#include "collector/server/server.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "collector/identity/data_dir.h"
#include "collector/identity/peer_identity.h"
#include "collector/query/store_evidence.h"
#include "collector/store/rocksdb_store.h"
#include "common/checkpoint.h"
#include "common/files.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace evidentia::collector {
namespace {

std::vector<std::string> TlsNames(const std::vector<std::string>& extra) {
  std::vector<std::string> names = {"localhost", "127.0.0.1", "::1"};
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) == 0 && host[0] != '\0') {
    names.emplace_back(host);
  }
  names.insert(names.end(), extra.begin(), extra.end());
  return names;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> Server::Start(ServerOptions options) {
  const DataDirPaths paths(options.data_dir);
  ASSIGN_OR_RETURN(CollectorMaterial material,
                   PrepareDataDir(paths, TlsNames(options.tls_names)));

  auto server = std::unique_ptr<Server>(new Server());
  if (!options.policies_dir.empty()) {
    ASSIGN_OR_RETURN(
        policy::PolicySet policy,
        policy::LoadPolicySet(options.policies_dir, options.soa_file));
    server->policy_ = std::make_unique<policy::PolicySet>(std::move(policy));
    Log(LogLevel::kInfo,
        absl::StrCat("policy set ", server->policy_->sha256, ": ",
                     server->policy_->checks.size(), " checks, ",
                     server->policy_->soa.size(), " SoA controls"));
  }
  ASSIGN_OR_RETURN(server->store_, OpenRocksDbStore(paths.db(), options.store));
  ASSIGN_OR_RETURN(server->fleet_, LoadFleetState(*server->store_));
  server->evidence_ = std::make_unique<StoreEvidence>(*server->store_);
  if (server->policy_ != nullptr) {
    server->grader_ =
        std::make_unique<Grader>(*server->policy_, *server->evidence_);
  }
  server->registry_ =
      std::make_unique<Registry>(*server->store_, options.clock);
  server->registry_->set_fleet(server->fleet_.get());
  server->registry_->set_certificate_authority(material.ca);
  ASSIGN_OR_RETURN(std::vector<v1::AgentRecord> agents,
                   server->registry_->ListAgents());
  for (const v1::AgentRecord& agent : agents) {
    if (agent.has_revoked_at()) {
      server->fleet_->MarkRevoked(agent.agent_id(), agent.revoked_at());
    }
  }
  IngestOptions ingest;
  ingest.fleet = server->fleet_.get();
  ingest.metrics = &server->ingest_metrics_;
  if (server->policy_ != nullptr) {
    ingest.heartbeat = HeartbeatInterval(*server->policy_);
    ingest.max_clock_skew = server->policy_->grading.max_clock_skew;
  }
  if (options.agent_submit_rate > 0) {
    server->rate_limiter_ = std::make_unique<AgentRateLimiter>(
        options.agent_submit_rate, options.agent_submit_burst,
        options.rate_limit_clock);
    ingest.rate_limiter = server->rate_limiter_.get();
  }
  ASSIGN_OR_RETURN(server->log_,
                   TransparencyLog::Open(*server->store_, material.signing_key,
                                         options.clock));
  ingest.log = server->log_.get();
  server->ingestor_ = std::make_unique<Ingestor>(
      *server->store_, *server->registry_, options.clock, ingest);
  // Snapshots acknowledged before a crash may still be queued.
  ASSIGN_OR_RETURN(uint64_t log_size, server->log_->Integrate());
  server->log_->StartBackground(options.integrate_interval,
                                options.checkpoint_interval);
  server->streams_ = std::make_unique<SubmitStreams>(options.stream_limits);
  server->enroll_calls_ =
      std::make_unique<SubmitStreams>(options.enroll_limits);
  server->collector_service_ = std::make_unique<CollectorService>(
      *server->registry_, *server->ingestor_, *server->streams_,
      *server->enroll_calls_, material.ca.cert_pem, options.clock);
  server->operator_api_ = std::make_unique<OperatorApi>(
      *server->store_, *server->registry_, *server->fleet_,
      server->grader_.get(), *server->log_, material.signing_key,
      material.operator_key, options.clock);
  server->users_ = std::make_unique<Users>(*server->store_, options.clock,
                                           options.password_cost);
  server->operator_api_->set_users(server->users_.get());
  server->operator_service_ = std::make_unique<OperatorService>(
      *server->operator_api_, material.ca.cert_pem);
  server->db_dir_ = paths.db();

  // A client certificate is optional (Enroll has none yet) but, when
  // presented, must chain to our CA or the handshake fails; which calls need
  // one, of which role, is decided per call
  // (collector/identity/peer_identity.h).
  grpc::SslServerCredentialsOptions tls(
      GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  tls.pem_root_certs = material.ca.cert_pem;
  tls.pem_key_cert_pairs.push_back(
      {material.server.key_pem, material.server.cert_pem});

  std::shared_ptr<grpc::ServerCredentials> credentials =
      grpc::SslServerCredentials(tls);
  credentials->SetAuthMetadataProcessor(std::make_shared<CertificateGate>());

  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, credentials, &server->port_);
  // gRPC turns SO_REUSEPORT on by default: a second collector on the same
  // address would start and the kernel would split agents between the two.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
  // A silent or stuck client cannot hold a connection forever, and no call
  // outlives its connection: every call ends within 31 minutes (Enroll
  // within 10 s, a silent Submit stream within 60 s).
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, 5 * 60 * 1000);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, 30 * 60 * 1000);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS, 60 * 1000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60 * 1000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20 * 1000);
  // A TLS handshake that does not finish in time is dropped; one connection
  // multiplexes at most a few streams (an agent needs one).
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, 10 * 1000);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 16);
  // What a client may send on a call before the collector reads it: the
  // initial stream window, 64 KiB, not grown by bandwidth probing (which
  // let a client put about 240 KB on each Enroll call before it was
  // refused). A call being read still gets a window for its whole message.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 64 << 10);
  // Threads that finish a call stay as pollers for the next one, up to
  // this many: gRPC's default (2) makes a thread per call and ends it
  // afterwards, and with a stream per delivery that churn cost more CPU
  // than ingest itself. Counted in max_threads like every other thread.
  builder.SetSyncServerOption(
      grpc::ServerBuilder::SyncServerOption::MIN_POLLERS, 2);
  builder.SetSyncServerOption(
      grpc::ServerBuilder::SyncServerOption::MAX_POLLERS,
      std::min(options.max_threads / 4, 128));
  grpc::ResourceQuota quota("evidentia-collector");
  quota.SetMaxThreads(options.max_threads);
  quota.Resize(options.grpc_memory_bytes);
  builder.SetResourceQuota(quota);
  builder.RegisterService(server->collector_service_.get());
  builder.RegisterService(server->operator_service_.get());
  server->grpc_server_ = builder.BuildAndStart();
  if (server->grpc_server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", options.listen,
        ": the address is in use (is another collector serving it?) or is "
        "not an address of this host"));
  }

  // Tell the operator CLI where we are: the host part of --listen and the
  // port actually bound.
  std::string host = options.listen.substr(0, options.listen.rfind(':'));
  if (host.empty() || host == "0.0.0.0" || host == "[::]") host = "127.0.0.1";
  RETURN_IF_ERROR(WriteFileAtomic(
      paths.address(), absl::StrCat(host, ":", server->port_, "\n"), 0644));
  Log(LogLevel::kInfo,
      absl::StrCat("collector listening on ", host, ":", server->port_,
                   " (TLS), data in ", paths.root.string(),
                   ", transparency log of ", log_size, " entries"));

  if (!options.web.listen.empty()) {
    web::WebDeps deps;
    deps.api = server->operator_api_.get();
    deps.users = server->users_.get();
    deps.registry = server->registry_.get();
    deps.clock = options.clock;
    deps.tls_cert_pem = material.server.cert_pem;
    deps.tls_key_pem = material.server.key_pem;
    // The dashboard signs what the browser records with the operator key.
    absl::StatusOr<PrivateKey> operator_key =
        PrivateKey::LoadPemFile(paths.operator_key());
    if (operator_key.ok()) {
      server->operator_signing_key_ =
          std::make_unique<PrivateKey>(*std::move(operator_key));
      deps.operator_key = server->operator_signing_key_.get();
    } else {
      Log(LogLevel::kWarning,
          absl::StrCat("the dashboard cannot record evidence or findings: ",
                       operator_key.status().message()));
    }
    Server* self = server.get();
    deps.metrics = [self] { return self->Metrics(); };
    ASSIGN_OR_RETURN(server->web_,
                     web::WebServer::Start(std::move(deps), options.web));
    std::string web_host =
        options.web.listen.substr(0, options.web.listen.rfind(':'));
    if (web_host.empty() || web_host == "0.0.0.0" || web_host == "[::]") {
      web_host = "127.0.0.1";
    }
    RETURN_IF_ERROR(WriteFileAtomic(
        paths.web_address(),
        absl::StrCat("https://", web_host, ":", server->web_->port(), "\n"),
        0644));
    Log(LogLevel::kInfo, absl::StrCat("dashboard on https://", web_host, ":",
                                      server->web_->port(), "/"));
  }
  return server;
}

Server::~Server() { Shutdown(); }

void Server::Wait() {
  if (grpc_server_ != nullptr) grpc_server_->Wait();
}

void Server::Shutdown() {
  if (web_ != nullptr) web_->Stop();
  if (grpc_server_ == nullptr) return;
  grpc_server_->Shutdown(std::chrono::system_clock::now() +
                         std::chrono::seconds(5));
  if (log_ != nullptr) log_->Stop();
}

std::string Server::Metrics() {
  std::string out = ingest_metrics_.Prometheus();
  const absl::Time now = absl::Now();

  absl::StrAppend(&out,
                  "# HELP evidentia_log_size Entries in the transparency log.\n"
                  "# TYPE evidentia_log_size gauge\nevidentia_log_size ",
                  log_->size(), "\n");
  absl::StatusOr<std::optional<v1::StoredCheckpoint>> checkpoint =
      log_->LatestCheckpoint();
  if (checkpoint.ok() && checkpoint->has_value()) {
    absl::StatusOr<Checkpoint> parsed = ParseCheckpoint((*checkpoint)->text());
    if (parsed.ok()) {
      absl::StrAppend(
          &out,
          "# HELP evidentia_log_checkpoint_age_seconds Since the newest "
          "signed checkpoint.\n# TYPE evidentia_log_checkpoint_age_seconds "
          "gauge\nevidentia_log_checkpoint_age_seconds ",
          absl::ToInt64Seconds(now - parsed->time), "\n");
    }
  }

  int reporting = 0, silent = 0, revoked = 0;
  for (const HostPtr& host : fleet_->Hosts()) {
    if (host->agent.has_revoked_at()) {
      ++revoked;
    } else if (grader_ != nullptr && grader_->IsSilent(*host, now)) {
      ++silent;
    } else {
      ++reporting;
    }
  }
  absl::StrAppend(
      &out,
      "# HELP evidentia_agents Enrolled agents by state.\n# TYPE "
      "evidentia_agents gauge\nevidentia_agents{state=\"reporting\"} ",
      reporting, "\nevidentia_agents{state=\"silent\"} ", silent,
      "\nevidentia_agents{state=\"revoked\"} ", revoked, "\n");

  uint64_t store_bytes = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(db_dir_, ec);
       !ec && it != std::filesystem::recursive_directory_iterator();
       it.increment(ec)) {
    std::error_code size_ec;
    if (it->is_regular_file(size_ec)) {
      const uintmax_t size = it->file_size(size_ec);
      if (!size_ec) store_bytes += size;
    }
  }
  absl::StrAppend(&out,
                  "# HELP evidentia_store_bytes Bytes of the store on disk.\n"
                  "# TYPE evidentia_store_bytes gauge\nevidentia_store_bytes ",
                  store_bytes, "\n");

  if (grader_ != nullptr) {
    absl::MutexLock lock(&metrics_mu_);
    if (now - grades_at_ >= absl::Minutes(1)) {
      absl::StatusOr<v1::GradeControlsResponse> grades =
          grader_->GradeAll(fleet_->Hosts(), now);
      if (grades.ok()) {
        std::map<std::string, int> counts;
        for (v1::Grade grade :
             {v1::GRADE_COMPLIANT, v1::GRADE_OPPORTUNITY_FOR_IMPROVEMENT,
              v1::GRADE_MINOR_NONCONFORMITY, v1::GRADE_MAJOR_NONCONFORMITY,
              v1::GRADE_NOT_APPLICABLE}) {
          counts[GradeName(grade)] = 0;
        }
        for (const v1::ControlGrade& control : grades->controls()) {
          ++counts[GradeName(control.grade())];
        }
        grades_text_ =
            "# HELP evidentia_controls SoA controls by grade now.\n# TYPE "
            "evidentia_controls gauge\n";
        for (const auto& [name, count] : counts) {
          absl::StrAppend(&grades_text_, "evidentia_controls{grade=\"", name,
                          "\"} ", count, "\n");
        }
        grades_at_ = now;
      }
    }
    out += grades_text_;
  }
  if (web_ != nullptr) {
    const web::ConnectionGuard& guard = web_->connections();
    absl::StrAppend(
        &out,
        "# HELP evidentia_web_connections Dashboard connections open.\n# TYPE "
        "evidentia_web_connections gauge\nevidentia_web_connections ",
        guard.open(),
        "\n# HELP evidentia_web_connections_closed_total Dashboard "
        "connections closed by the collector, by reason.\n# TYPE "
        "evidentia_web_connections_closed_total counter\n"
        "evidentia_web_connections_closed_total{reason=\"slow\"} ",
        guard.timed_out(),
        "\nevidentia_web_connections_closed_total{reason=\"too_many\"} ",
        guard.refused(),
        "\nevidentia_web_connections_closed_total{reason=\"too_large\"} ",
        guard.too_large(), "\n");
  }
  return out;
}

}  // namespace evidentia::collector
