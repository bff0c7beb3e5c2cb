// Collector ingest under load: starts a real `evidentia-collector serve`
// (RocksDB on disk, synced writes, mutual TLS on 127.0.0.1), enrols N
// agents through the Enroll RPC with one token (each its own Ed25519 device
// key and its own client certificate, hence its own channel), and has them
// submit realistic snapshots of 20 observations: the first with every facts
// body, then heartbeats that name most facts by digest only and carry the
// one body that changed. Each delivery is one Submit stream, as the agent's
// uploader makes it. Reports snapshots/s and observations/s accepted,
// acknowledgement latency, the collector's CPU per 1,000 snapshots and its
// memory, and this machine's Ed25519 verify rate (libsodium, the collector's
// verifier) on every core, measured in the same run. Targets (issue 6):
// ingest >= 0.7 x the verify rate; p99 <= 20 ms at half of peak; collector
// RSS <= 1 GB with 10,000 agents connected.
//
//   load_bench --collector BIN [--agents N] [--snapshots M] [--seconds S]
//              [--rate R] [--concurrency C] [--hold-streams H]
//              [--verify-threads T] [--compact] [--keep]
//
// Without --rate, agents send as fast as acknowledgements come back (C
// deliveries in flight); with it, deliveries are due at R a second in all,
// and latency counts from when one was due. --hold-streams keeps H agents'
// streams open after every agent has delivered, for the memory figure.
// --compact stops the collector, then flushes and compacts its RocksDB and
// prints its size (bytes on disk per snapshot). --keep leaves the data dir
// in /tmp (printed). The bench stops after M snapshots per agent or S
// seconds, whichever is first, and talks only to 127.0.0.1.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "agent/agent_state.h"
#include "agent/uploader.h"
#include "cli/operator_cli.h"
#include "collector/identity/data_dir.h"
#include "collector/server/service.h"
#include "common/cli_flags.h"
#include "common/ed25519.h"
#include "common/envelope.h"
#include "common/files.h"
#include "common/proto_time.h"
#include "common/sha256.h"
#include "common/snapshot_chain.h"
#include "common/x509.h"
#include "evidentia/v1/collector.grpc.pb.h"
#include "evidentia/v1/facts.pb.h"
#include "evidentia/v1/snapshot.pb.h"
#include "rocksdb/db.h"
#include "tests/bench/offline_store.h"
#include "tests/bench/synthetic.h"
#include "tests/bench/verify_rate.h"
#include "tests/support/process.h"

namespace evidentia {
namespace {

namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;

constexpr int kObservations = 20;
// The observation whose facts change at every heartbeat (anti-malware
// signatures are updated between cycles); the others stay as they were.
constexpr int kChangingObservation = 1;

double Since(Steady::time_point start) {
  return std::chrono::duration<double>(Steady::now() - start).count();
}

// One simulated agent: its identity, its channel and its snapshots, signed
// before the measured run so the bench spends its CPU on the wire only.
struct SimAgent {
  std::string agent_id;
  std::unique_ptr<PrivateKey> key;
  agent::ClientTls tls;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Collector::Stub> stub;
  // Each request carries the facts bodies the collector may lack: all of
  // them in the first, the changed one in a heartbeat.
  std::vector<v1::SubmitRequest> requests;
  std::mutex mu;  // one delivery of this agent at a time (the chain)
  size_t next = 0;
};

// What the collector process used, from /proc.
struct ProcUsage {
  double cpu_seconds = 0;  // utime + stime
  double rss_mb = 0;       // VmRSS
  double hwm_mb = 0;       // VmHWM
};

ProcUsage ReadProc(pid_t pid) {
  ProcUsage usage;
  std::string stat =
      ReadFile(absl::StrCat("/proc/", pid, "/stat")).value_or("");
  const size_t paren = stat.rfind(')');
  if (paren != std::string::npos) {
    std::vector<std::string> fields =
        absl::StrSplit(stat.substr(paren + 2), ' ');
    // Fields from the third (state): utime is the 14th, stime the 15th.
    if (fields.size() > 12) {
      usage.cpu_seconds = (std::stod(fields[11]) + std::stod(fields[12])) /
                          static_cast<double>(sysconf(_SC_CLK_TCK));
    }
  }
  std::istringstream status(
      ReadFile(absl::StrCat("/proc/", pid, "/status")).value_or(""));
  for (std::string line; std::getline(status, line);) {
    double kb = 0;
    if (std::sscanf(line.c_str(), "VmRSS: %lf", &kb) == 1) {
      usage.rss_mb = kb / 1024;
    }
    if (std::sscanf(line.c_str(), "VmHWM: %lf", &kb) == 1) {
      usage.hwm_mb = kb / 1024;
    }
  }
  return usage;
}

double SelfCpuSeconds() {
  rusage self{};
  getrusage(RUSAGE_SELF, &self);
  return self.ru_utime.tv_sec + self.ru_stime.tv_sec +
         (self.ru_utime.tv_usec + self.ru_stime.tv_usec) / 1e6;
}

uint64_t DirBytes(const fs::path& dir) {
  uint64_t bytes = 0;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(dir, ec))
    if (e.is_regular_file(ec)) bytes += e.file_size(ec);
  return bytes;
}

// Runs `fn(i)` for i in [0, n) on `threads` threads.
template <typename Fn>
void ParallelFor(int n, int threads, Fn fn) {
  std::atomic<int> next(0);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (int i; (i = next++) < n;) fn(i);
    });
  }
  for (std::thread& w : workers) w.join();
}

// The facts of observation `k` of agent `index` at heartbeat `beat`: a
// typical laptop's bodies (tests/bench/synthetic.h), distinct per agent and
// observation; only kChangingObservation differs between heartbeats.
v1::Facts ObservedFacts(int index, int k, int beat) {
  v1::Facts facts = bench::HostFacts(index * kObservations + k)[k % 3].second;
  if (k == kChangingObservation) {
    facts.mutable_anti_malware()
        ->mutable_products(0)
        ->set_newest_signature_build_time_unix(1795000000 + beat * 3600);
  }
  return facts;
}

// Signs `count` snapshots of `agent` (number `index`): seq 1 with every
// facts body, then heartbeats.
absl::Status PrepareSnapshots(SimAgent& agent, int index, int count) {
  std::vector<std::string> bodies(kObservations);
  for (int k = 0; k < kObservations; ++k) {
    bodies[k] = ObservedFacts(index, k, 0).SerializeAsString();
  }
  ChainHead head;
  for (int beat = 0; beat < count; ++beat) {
    if (beat > 0) {
      bodies[kChangingObservation] =
          ObservedFacts(index, kChangingObservation, beat).SerializeAsString();
    }
    v1::Snapshot snapshot;
    snapshot.set_agent_id(agent.agent_id);
    LinkAfter(head, snapshot);
    *snapshot.mutable_collected_at() = ToProto(absl::Now());
    v1::HostFacts* host = snapshot.mutable_host();
    host->set_hostname(absl::StrCat("bench-", index));
    host->set_os_id("debian");
    host->set_os_version("12");
    host->set_os_pretty_name("Debian GNU/Linux 12 (bookworm)");
    host->set_kernel("6.1.0-28-amd64");
    host->set_arch("x86_64");
    snapshot.set_agent_version("0.1.0");
    for (int k = 0; k < kObservations; ++k) {
      v1::Observation* o = snapshot.add_observations();
      o->set_check_id(absl::StrCat("bench.check.", k < 10 ? "0" : "", k));
      o->set_probe(k % 3 == 0   ? "linux.disk_encryption"
                   : k % 3 == 1 ? "linux.anti_malware"
                                : "linux.local_accounts");
      o->set_facts_sha256(Sha256(bodies[k]));
    }
    std::string payload = snapshot.SerializeAsString();
    head = HeadAfter(snapshot.seq(), payload);
    absl::StatusOr<v1::SignedSnapshot> envelope =
        SignPayload(*agent.key, std::move(payload));
    if (!envelope.ok()) return envelope.status();
    v1::SubmitRequest& request = agent.requests.emplace_back();
    *request.mutable_envelope() = *std::move(envelope);
    if (beat == 0) {
      for (const std::string& body : bodies) request.add_facts(body);
    } else {
      request.add_facts(bodies[kChangingObservation]);
    }
  }
  return absl::OkStatus();
}

// Enrols `agent` through the Enroll RPC: a fresh device key and a TLS key
// with its certificate request, as `evidentia-agent enroll` makes them.
absl::Status EnrollAgent(SimAgent& agent, v1::Collector::Stub& anonymous,
                         const std::string& token, int index) {
  absl::StatusOr<PrivateKey> key = PrivateKey::Generate();
  if (!key.ok()) return key.status();
  absl::StatusOr<KeyAndCsr> tls = CreateCertificateRequest("evidentia-agent");
  if (!tls.ok()) return tls.status();
  v1::EnrollRequest request;
  request.set_token(token);
  request.set_public_key_pem(key->public_key().ToPem());
  request.set_csr_pem(tls->csr_pem);
  request.mutable_host()->set_hostname(absl::StrCat("bench-", index));
  v1::EnrollResponse response;
  grpc::Status status;
  // The collector enrols a few at once per address and refuses the rest
  // with a time to come back; the bench, all on 127.0.0.1, comes back
  // sooner than asked, to keep its setup short.
  for (int attempt = 0; attempt < 1000; ++attempt) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(120));
    status = anonymous.Enroll(&context, request, &response);
    const auto& trailers = context.GetServerTrailingMetadata();
    if (status.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED ||
        trailers.find(collector::kRetryAfterMsMetadata) == trailers.end()) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10 + attempt % 10));
  }
  if (!status.ok()) {
    return absl::UnavailableError(
        absl::StrCat("enrolment ", index, ": ", status.error_message()));
  }
  agent.agent_id = response.agent_id();
  agent.key = std::make_unique<PrivateKey>(*std::move(key));
  agent.tls.key_pem = tls->key_pem;
  agent.tls.cert_pem = response.client_cert_pem();
  return absl::OkStatus();
}

// Tallies of the measured run, merged from every worker.
struct Tally {
  std::mutex mu;
  std::vector<double> latencies_ms;
  int64_t accepted = 0, duplicates = 0, other = 0, failed = 0;
  int64_t late = 0;  // paced deliveries started > 5 ms after they were due
  std::string first_error;
};

// One delivery of `request` on a fresh Submit stream. Returns the answer's
// result, or REJECTED with the stream's error in `error`.
v1::SubmitResponse::Result Deliver(SimAgent& agent,
                                   const v1::SubmitRequest& request,
                                   std::string& error) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(60));
  auto stream = agent.stub->Submit(&context);
  v1::SubmitResponse response;
  if (!stream->Write(request) || !stream->Read(&response)) {
    stream->WritesDone();
    grpc::Status status = stream->Finish();
    error = absl::StrCat("stream of ", agent.agent_id, ": ",
                         status.error_message());
    return v1::SubmitResponse::REJECTED;
  }
  stream->WritesDone();
  (void)stream->Finish();
  if (response.result() == v1::SubmitResponse::REJECTED) {
    error = absl::StrCat("snapshot ", response.seq(), " of ", agent.agent_id,
                         ": ", response.message());
  }
  return response.result();
}

// The measured run: `concurrency` workers take deliveries in turn (agent
// t % N, its next snapshot), each due at start + t / rate when paced.
void RunLoad(std::vector<std::unique_ptr<SimAgent>>& agents, int concurrency,
             double rate, double seconds, Tally& tally) {
  const int64_t total = static_cast<int64_t>(agents.size()) *
                        static_cast<int64_t>(agents[0]->requests.size());
  std::atomic<int64_t> ticket(0);
  const Steady::time_point start = Steady::now();
  const Steady::time_point end =
      start + std::chrono::microseconds(static_cast<int64_t>(seconds * 1e6));
  std::vector<std::thread> workers;
  for (int w = 0; w < concurrency; ++w) {
    workers.emplace_back([&] {
      std::vector<double> latencies;
      int64_t accepted = 0, duplicates = 0, other = 0, failed = 0, late = 0;
      std::string first_error;
      for (int64_t t; (t = ticket++) < total;) {
        Steady::time_point due = Steady::now();
        if (rate > 0) {
          due = start +
                std::chrono::microseconds(static_cast<int64_t>(t * 1e6 / rate));
          if (due > end) break;
          std::this_thread::sleep_until(due);
          if (Steady::now() - due > std::chrono::milliseconds(5)) ++late;
        }
        if (Steady::now() > end) break;
        SimAgent& agent = *agents[t % agents.size()];
        std::lock_guard<std::mutex> lock(agent.mu);
        if (agent.next >= agent.requests.size()) continue;
        std::string error;
        const v1::SubmitResponse::Result result =
            Deliver(agent, agent.requests[agent.next], error);
        latencies.push_back(
            std::chrono::duration<double, std::milli>(Steady::now() - due)
                .count());
        switch (result) {
          case v1::SubmitResponse::ACCEPTED:
            ++accepted;
            ++agent.next;
            break;
          case v1::SubmitResponse::DUPLICATE:
            ++duplicates;
            ++agent.next;
            break;
          case v1::SubmitResponse::REJECTED:
            ++failed;
            if (first_error.empty()) first_error = error;
            break;
          default:
            ++other;
            break;
        }
      }
      std::lock_guard<std::mutex> lock(tally.mu);
      tally.latencies_ms.insert(tally.latencies_ms.end(), latencies.begin(),
                                latencies.end());
      tally.accepted += accepted;
      tally.duplicates += duplicates;
      tally.other += other;
      tally.failed += failed;
      tally.late += late;
      if (tally.first_error.empty()) tally.first_error = first_error;
    });
  }
  for (std::thread& w : workers) w.join();
}

double Percentile(std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t i =
      std::min(sorted.size() - 1, static_cast<size_t>(p * sorted.size()));
  return sorted[i];
}

// Opens the collector's RocksDB (the collector stopped), flushes and
// compacts every table: what a year of evidence settles to on disk.
absl::Status CompactStore(const fs::path& db_dir) {
  absl::StatusOr<std::unique_ptr<bench::OfflineStore>> store =
      bench::OfflineStore::Open(db_dir);
  if (!store.ok()) return store.status();
  return (*store)->CompactFully();
}

// The command line, with its defaults.
struct Flags {
  std::string collector;
  int64_t agents = 1000;
  int64_t snapshots = 20;
  double seconds = 30;
  double rate = 0;
  int64_t concurrency = 128;
  int64_t hold_streams = 0;
  int64_t verify_threads = std::max(1u, std::thread::hardware_concurrency());
  bool compact = false;
  bool keep = false;
};

void DefineFlags(CLI::App& app, Flags* flags) {
  app.add_option("--collector", flags->collector, "evidentia-collector to run")
      ->type_name("BIN")
      ->required();
  AddIntegerOption(app, "--agents", &flags->agents,
                   "agents enrolled (default 1000)", 1, INT_MAX);
  AddIntegerOption(app, "--snapshots", &flags->snapshots,
                   "snapshots per agent, at most (default 20)", 1, INT_MAX);
  AddNumberOption(app, "--seconds", &flags->seconds,
                  "stop after this long, at most (default 30)", 0);
  AddNumberOption(app, "--rate", &flags->rate,
                  "deliveries due a second in all (default 0: peak)", 0);
  AddIntegerOption(app, "--concurrency", &flags->concurrency,
                   "deliveries in flight (default 128)", 1, INT_MAX);
  AddIntegerOption(app, "--hold-streams", &flags->hold_streams,
                   "streams held open afterwards (default 0)", 0, INT_MAX);
  AddIntegerOption(app, "--verify-threads", &flags->verify_threads,
                   "threads for the Ed25519 rate (default: one per core)", 1,
                   INT_MAX);
  app.add_flag("--compact", flags->compact,
               "stop the collector, compact its RocksDB and measure it")
      ->disable_flag_override();
  app.add_flag("--keep", flags->keep, "leave the data dir in /tmp (printed)")
      ->disable_flag_override();
}

int Main(int argc, char** argv) {
  Flags flags;
  CLI::App app{"collector ingest under load", "load_bench"};
  UseEvidentiaConventions(app);
  if (std::optional<int> exit = ParseCommandLine(
          app, [&](CLI::App& cli) { DefineFlags(cli, &flags); }, argc, argv,
          std::cout, std::cerr)) {
    return *exit;
  }
  const int n = static_cast<int>(flags.agents);
  const int snapshots = static_cast<int>(flags.snapshots);
  const double seconds = flags.seconds;
  const double rate = flags.rate;
  const int concurrency = std::min(n, static_cast<int>(flags.concurrency));
  const int hold = std::min(n, static_cast<int>(flags.hold_streams));
  const int cores =
      static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int verify_threads = static_cast<int>(flags.verify_threads);

  // Every agent holds a connection, at both ends: the collector inherits
  // this limit.
  rlimit files{};
  getrlimit(RLIMIT_NOFILE, &files);
  files.rlim_cur = files.rlim_max;
  setrlimit(RLIMIT_NOFILE, &files);

  char dir_template[] = "/tmp/evidentia-load-bench.XXXXXX";
  const fs::path dir = mkdtemp(dir_template);
  const fs::path data_dir = dir / "collector";
  std::printf(
      "load bench: %d agents x %d snapshots of %d observations, %s, "
      "concurrency %d, at most %.0f s; open files %llu\n",
      n, snapshots, kObservations,
      rate > 0 ? absl::StrCat("paced at ", rate, " snapshots/s").c_str()
               : "peak (as fast as acks come back)",
      concurrency, seconds, static_cast<unsigned long long>(files.rlim_cur));
  std::fflush(stdout);

  int rc = 1;
  [&] {
    testing::CollectorProcess started = testing::StartCollectorProcess(
        flags.collector, data_dir, "127.0.0.1:0", {}, dir / "collector.log");
    if (started.child == nullptr) {
      std::fprintf(stderr, "%s\n", started.address.c_str());
      return;
    }
    std::unique_ptr<testing::Child> collector = std::move(started.child);
    const std::string address = started.address;
    const pid_t pid = collector->pid();

    // Setup, not measured: one token for every agent, enrolment, channels
    // connected, snapshots signed.
    const std::string n_text = absl::StrCat(n);
    const std::vector<const char*> cli = {
        "evidentia",    "token",      "create",        "--uses",
        n_text.c_str(), "--data-dir", data_dir.c_str()};
    std::ostringstream out, err;
    if (collector::RunOperatorCli(static_cast<int>(cli.size()), cli.data(), out,
                                  err) != 0) {
      std::fprintf(stderr, "token create: %s\n", err.str().c_str());
      return;
    }
    const std::string token = out.str().substr(0, out.str().find('\n'));
    const std::string ca_pem =
        ReadFile(collector::DataDirPaths(data_dir).ca_cert()).value_or("");
    auto anonymous = v1::Collector::NewStub(
        agent::MakeChannel(address, agent::ClientTls{ca_pem, "", ""}));
    std::vector<std::unique_ptr<SimAgent>> agents(n);
    std::atomic<int> enrol_failures(0);
    std::string enrol_error;
    std::mutex enrol_mu;
    Steady::time_point phase = Steady::now();
    ParallelFor(n, 16, [&](int i) {
      agents[i] = std::make_unique<SimAgent>();
      absl::Status enrolled = EnrollAgent(*agents[i], *anonymous, token, i);
      if (enrolled.ok()) {
        agents[i]->tls.ca_pem = ca_pem;
        agents[i]->channel = agent::MakeChannel(address, agents[i]->tls);
        agents[i]->stub = v1::Collector::NewStub(agents[i]->channel);
        enrolled = PrepareSnapshots(*agents[i], i, snapshots);
      }
      if (!enrolled.ok() && enrol_failures++ == 0) {
        std::lock_guard<std::mutex> lock(enrol_mu);
        enrol_error = enrolled.ToString();
      }
    });
    if (enrol_failures > 0) {
      std::fprintf(stderr, "%d enrolments failed, first: %s\n",
                   enrol_failures.load(), enrol_error.c_str());
      return;
    }
    std::printf(
        "  setup: %d agents enrolled (Enroll RPC, one token), "
        "%d snapshots signed in %.1f s\n",
        n, n * snapshots, Since(phase));
    phase = Steady::now();
    std::atomic<int> unconnected(0);
    ParallelFor(n, 64, [&](int i) {
      if (!agents[i]->channel->WaitForConnected(
              std::chrono::system_clock::now() + std::chrono::seconds(60))) {
        ++unconnected;
      }
    });
    const ProcUsage connected = ReadProc(pid);
    std::printf(
        "  %d TLS connections (one per agent, own client "
        "certificate) in %.1f s, %d failed; collector VmRSS %.0f MB\n",
        n - unconnected.load(), Since(phase), unconnected.load(),
        connected.rss_mb);
    std::fflush(stdout);

    const uint64_t db_before = DirBytes(data_dir / "db");
    const double verify_before =
        bench::Ed25519VerifyRate(verify_threads, 2000, false);

    Tally tally;
    const ProcUsage before = ReadProc(pid);
    const double self_before = SelfCpuSeconds();
    phase = Steady::now();
    RunLoad(agents, concurrency, rate, seconds, tally);
    const double elapsed = Since(phase);
    const ProcUsage after = ReadProc(pid);
    const double self_cpu = SelfCpuSeconds() - self_before;

    const double verify = (verify_before + bench::Ed25519VerifyRate(
                                               verify_threads, 2000, false)) /
                          2;
    const int64_t stored = tally.accepted + tally.duplicates;
    const double per_second = stored / elapsed;
    std::sort(tally.latencies_ms.begin(), tally.latencies_ms.end());
    const double collector_cpu = after.cpu_seconds - before.cpu_seconds;
    std::printf(
        "  run: %lld accepted, %lld duplicate, %lld other, %lld failed "
        "in %.2f s%s%s\n",
        static_cast<long long>(tally.accepted),
        static_cast<long long>(tally.duplicates),
        static_cast<long long>(tally.other),
        static_cast<long long>(tally.failed), elapsed,
        tally.first_error.empty() ? "" : "; first failure: ",
        tally.first_error.c_str());
    if (rate > 0) {
      std::printf("  paced: %lld of %zu deliveries started > 5 ms late\n",
                  static_cast<long long>(tally.late),
                  tally.latencies_ms.size());
    }
    std::printf("  ingest: %.0f snapshots/s, %.0f observations/s accepted\n",
                per_second, per_second * kObservations);
    std::printf("  ack latency: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
                Percentile(tally.latencies_ms, 0.50),
                Percentile(tally.latencies_ms, 0.99),
                tally.latencies_ms.empty() ? 0.0 : tally.latencies_ms.back());
    const double cpu_per_snapshot = stored > 0 ? collector_cpu / stored : 0;
    std::printf(
        "  collector CPU: %.3f s per 1,000 snapshots (%.0f%% of %d cores); "
        "bench CPU %.3f s per 1,000\n",
        cpu_per_snapshot * 1000, 100 * collector_cpu / elapsed / cores, cores,
        stored > 0 ? self_cpu / stored * 1000 : 0.0);
    std::printf("  collector memory: VmRSS %.0f MB, VmHWM %.0f MB\n",
                after.rss_mb, after.hwm_mb);
    std::printf("  Ed25519 verify rate (libsodium, %d threads): %.0f /s\n",
                verify_threads, verify);
    // The bench shares the cores: what the collector would ingest with
    // every core to itself, at the CPU it spent per snapshot.
    const double own_cores =
        cpu_per_snapshot > 0 ? cores / cpu_per_snapshot : 0;
    std::printf(
        "  collector alone on %d cores (by its CPU per snapshot): "
        "%.0f snapshots/s, %.2f x verify rate\n",
        cores, own_cores, verify > 0 ? own_cores / verify : 0);
    std::printf("  ingest / verify ratio: %.2f (target >= 0.70)\n",
                verify > 0 ? per_second / verify : 0);
    std::fflush(stdout);

    if (hold > 0) {
      // Every agent has delivered; now `hold` of them open a stream, send
      // one more heartbeat and keep the stream open.
      std::vector<std::unique_ptr<grpc::ClientContext>> contexts(hold);
      std::vector<std::unique_ptr<
          grpc::ClientReaderWriter<v1::SubmitRequest, v1::SubmitResponse>>>
          streams(hold);
      std::atomic<int> held(0);
      std::string hold_error;
      std::mutex hold_mu;
      ParallelFor(hold, 32, [&](int i) {
        SimAgent& agent = *agents[i];
        contexts[i] = std::make_unique<grpc::ClientContext>();
        contexts[i]->set_deadline(std::chrono::system_clock::now() +
                                  std::chrono::seconds(120));
        streams[i] = agent.stub->Submit(contexts[i].get());
        v1::SubmitResponse response;
        const v1::SubmitRequest& request =
            agent.requests[std::min(agent.next, agent.requests.size() - 1)];
        if (streams[i]->Write(request) && streams[i]->Read(&response) &&
            response.result() != v1::SubmitResponse::REJECTED) {
          ++held;
          return;
        }
        // The collector ended the stream (or refused it): its status says
        // which limit.
        streams[i]->WritesDone();
        const grpc::Status status = streams[i]->Finish();
        streams[i].reset();
        std::lock_guard<std::mutex> lock(hold_mu);
        if (hold_error.empty()) {
          hold_error = response.message().empty() ? status.error_message()
                                                  : response.message();
        }
      });
      std::this_thread::sleep_for(std::chrono::seconds(2));
      const ProcUsage holding = ReadProc(pid);
      std::printf(
          "  holding: %d agents connected, %d Submit streams open "
          "(%d asked%s%s); collector VmRSS %.0f MB, VmHWM %.0f MB\n",
          n, held.load(), hold,
          hold_error.empty() ? "" : "; refused: ", hold_error.c_str(),
          holding.rss_mb, holding.hwm_mb);
      std::fflush(stdout);
      for (int i = 0; i < hold; ++i) {
        if (streams[i] == nullptr) continue;
        streams[i]->WritesDone();
        (void)streams[i]->Finish();
      }
    }

    agents.clear();
    anonymous.reset();
    collector->Signal(SIGTERM);
    collector->Wait();
    if (flags.compact) {
      const uint64_t raw = DirBytes(data_dir / "db");
      if (absl::Status compacted = CompactStore(data_dir / "db");
          !compacted.ok()) {
        std::fprintf(stderr, "compact: %s\n", compacted.ToString().c_str());
        return;
      }
      const uint64_t compact = DirBytes(data_dir / "db");
      std::printf(
          "  store on disk: %llu bytes before the run, %llu after "
          "(WAL and all), %llu flushed and compacted: %.0f bytes "
          "per stored snapshot\n",
          static_cast<unsigned long long>(db_before),
          static_cast<unsigned long long>(raw),
          static_cast<unsigned long long>(compact),
          stored > 0 ? static_cast<double>(compact) / stored : 0.0);
    }
    rc = tally.failed == 0 && tally.accepted > 0 ? 0 : 1;
  }();
  if (flags.keep) {
    std::printf("  kept %s\n", dir.c_str());
  } else {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  return rc;
}

}  // namespace
}  // namespace evidentia

int main(int argc, char** argv) { return evidentia::Main(argc, argv); }
