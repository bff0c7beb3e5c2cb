// Bundle speed: fills a real collector data dir (RocksDB, synced writes,
// transparency log) with N agents sending M hourly snapshots each through
// the real ingest path, starts the collector, exports the period's bundle
// with the operator CLI over TLS, verifies it with `evidentia verify`, and
// measures this machine's Ed25519 verify rate on every core in the same run.
// Targets (issue 4): export >= 100 MB/s of bundle; verify >= 0.8 x the
// Ed25519 verify rate, in snapshots per second.
//
//   bundle_bench [--agents N] [--snapshots M] [--threads T] [--keep]
//
// --keep leaves the collector's data dir and the bundle in /tmp (printed)
// for profiling `evidentia verify` alone.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "bundle/verify.h"
#include "cli/operator_cli.h"
#include "collector/export/bundle_export.h"
#include "collector/identity/data_dir.h"
#include "collector/identity/registry.h"
#include "collector/ingest/ingest.h"
#include "collector/log/transparency_log.h"
#include "collector/query/store_evidence.h"
#include "collector/server/server.h"
#include "collector/store/rocksdb_store.h"
#include "collector/store/store.h"
#include "common/cli_flags.h"
#include "common/ed25519.h"
#include "common/envelope.h"
#include "common/pae.h"
#include "common/proto_time.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "common/x509.h"
#include "grading/grading.h"
#include "grading/policy.h"
#include "tests/bench/synthetic.h"
#include "tests/bench/verify_rate.h"

namespace evidentia {
namespace {

namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;

double plain_baseline_mbps = 0;

double Since(Steady::time_point start) {
  return std::chrono::duration<double>(Steady::now() - start).count();
}

struct Agent {
  PrivateKey key;
  std::string id;
  uint64_t seq = 0;
  std::string prev = std::string(kSha256Size, '\0');
};

// One hourly snapshot of agent `i`; facts bodies change every 24 hours, so
// most snapshots are heartbeats naming bodies the collector holds.
absl::StatusOr<v1::SubmitRequest> NextSnapshot(Agent& agent, int i,
                                               absl::Time at) {
  v1::Snapshot snapshot;
  snapshot.set_agent_id(agent.id);
  snapshot.set_seq(++agent.seq);
  snapshot.set_prev_payload_sha256(agent.prev);
  *snapshot.mutable_collected_at() = ToProto(at);
  snapshot.mutable_host()->set_hostname(absl::StrCat("host-", i));
  snapshot.mutable_host()->set_os_id("debian");
  snapshot.mutable_host()->set_os_version("12");
  snapshot.set_agent_version("0.1.0");
  v1::SubmitRequest request;
  const int day = static_cast<int>((agent.seq - 1) / 24);
  for (const auto& [probe, facts] : bench::HostFacts(i * 1000 + day)) {
    const std::string body = facts.SerializeAsString();
    v1::Observation* o = snapshot.add_observations();
    o->set_check_id(probe);
    o->set_probe(probe);
    o->set_facts_sha256(Sha256(body));
    if (agent.seq % 24 == 1) request.add_facts(body);
  }
  std::string payload = snapshot.SerializeAsString();
  agent.prev = Sha256(payload);
  absl::StatusOr<v1::SignedSnapshot> envelope =
      SignPayload(agent.key, std::move(payload));
  if (!envelope.ok()) return envelope.status();
  *request.mutable_envelope() = *std::move(envelope);
  return request;
}

// Enrols `agents` and ingests `snapshots` hourly snapshots of each, ending
// an hour ago, on two threads (so RocksDB groups the synced commits).
absl::Status Fill(const fs::path& data_dir, int agents, int snapshots) {
  ASSIGN_OR_RETURN(collector::CollectorMaterial material,
                   collector::PrepareDataDir(collector::DataDirPaths(data_dir),
                                             {"localhost", "127.0.0.1"}));
  ASSIGN_OR_RETURN(std::unique_ptr<collector::Store> store,
                   collector::OpenRocksDbStore(data_dir / "db"));
  const absl::Time start =
      absl::Now() - absl::Hours(snapshots + 1) - absl::Minutes(1);
  std::atomic<int64_t> now_micros(absl::ToUnixMicros(start));
  Clock clock = [&] { return absl::FromUnixMicros(now_micros.load()); };
  collector::Registry registry(*store, clock);
  registry.set_certificate_authority(material.ca);
  // One TLS key for every synthetic agent: the bench never connects.
  ASSIGN_OR_RETURN(KeyAndCsr tls, CreateCertificateRequest("bench-agent"));
  ASSIGN_OR_RETURN(
      std::unique_ptr<collector::TransparencyLog> log,
      collector::TransparencyLog::Open(*store, material.signing_key, clock));
  collector::IngestOptions ingest;
  ingest.log = log.get();
  collector::Ingestor ingestor(*store, registry, clock, ingest);

  ASSIGN_OR_RETURN(v1::CreateTokenResponse token,
                   registry.CreateToken(absl::Hours(1), agents));
  std::vector<Agent> fleet;
  for (int i = 0; i < agents; ++i) {
    ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::Generate());
    v1::EnrollRequest enroll;
    enroll.set_token(token.token());
    enroll.set_public_key_pem(key.public_key().ToPem());
    enroll.set_csr_pem(tls.csr_pem);
    enroll.mutable_host()->set_hostname(absl::StrCat("host-", i));
    ASSIGN_OR_RETURN(v1::EnrollResponse enrolled, registry.Enroll(enroll));
    fleet.push_back(Agent{key, enrolled.agent_id()});
  }
  for (int hour = 0; hour < snapshots; ++hour) {
    now_micros = absl::ToUnixMicros(start + absl::Hours(hour + 1));
    std::atomic<bool> failed(false);
    std::string failure;
    auto submit = [&](int first) {
      for (int i = first; i < agents; i += 2) {
        absl::StatusOr<v1::SubmitRequest> request =
            NextSnapshot(fleet[i], i, clock());
        v1::SubmitResponse response = request.ok()
                                          ? ingestor.Submit(*request, "bench")
                                          : v1::SubmitResponse();
        if (response.result() != v1::SubmitResponse::ACCEPTED &&
            !failed.exchange(true)) {
          failure = request.ok() ? response.message()
                                 : std::string(request.status().message());
        }
      }
    };
    std::thread other(submit, 1);
    submit(0);
    other.join();
    if (failed) return absl::InternalError("ingest failed: " + failure);
  }
  return log->Integrate().status();
}

// Keeps only the size of each file: the exporter's own cost, no disk.
class CountingSink : public collector::BundleSink {
 public:
  absl::Status Add(absl::string_view path, absl::string_view bytes) override {
    files.emplace_back(std::string(path), bytes.size());
    total += bytes.size();
    return absl::OkStatus();
  }
  std::vector<std::pair<std::string, size_t>> files;
  uint64_t total = 0;
};

// The baseline: the same files, written with nothing but mkdir, open,
// write and close, then one syncfs: what this disk allows for this shape.
double PlainWriteSeconds(
    const fs::path& dir,
    const std::vector<std::pair<std::string, size_t>>& files) {
  const auto start = Steady::now();
  const std::string data(8 << 20, 'x');
  for (const auto& [path, size] : files) {
    const fs::path target = dir / path;
    fs::create_directories(target.parent_path());
    const int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) return -1;
    for (size_t done = 0; done < size;) {
      const ssize_t n =
          ::write(fd, data.data(), std::min(size - done, data.size()));
      if (n <= 0) return -1;
      done += n;
    }
    ::close(fd);
  }
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  ::syncfs(fd);
  ::close(fd);
  return Since(start);
}

// Export with the exporter in this process: into memory (its own cost),
// and the plain-write baseline of the same files.
absl::Status InProcessExport(const fs::path& data_dir, const fs::path& source,
                             const collector::ExportPeriod& period,
                             const fs::path& scratch) {
  ASSIGN_OR_RETURN(collector::CollectorMaterial material,
                   collector::PrepareDataDir(collector::DataDirPaths(data_dir),
                                             {"localhost", "127.0.0.1"}));
  ASSIGN_OR_RETURN(std::unique_ptr<collector::Store> store,
                   collector::OpenRocksDbStore(data_dir / "db"));
  ASSIGN_OR_RETURN(policy::PolicySet policy,
                   policy::LoadPolicySet(source / "policies",
                                         source / "policies/soa.example.yaml"));
  ASSIGN_OR_RETURN(std::unique_ptr<collector::TransparencyLog> log,
                   collector::TransparencyLog::Open(
                       *store, material.signing_key, SystemClock()));
  collector::StoreEvidence evidence(*store);
  collector::Grader grader(policy, evidence);
  collector::ExportSources sources;
  sources.store = store.get();
  sources.log = log.get();
  sources.grader = &grader;
  sources.collector_key = &material.signing_key;
  sources.operator_key = &material.operator_key;
  CountingSink counted;
  const auto start = Steady::now();
  ASSIGN_OR_RETURN(v1::ExportSummary summary,
                   collector::ExportBundle(sources, period, counted));
  const double export_s = Since(start);
  std::printf(
      "  exporter alone (in process, into memory): %.1f MB, %zu files in "
      "%.2f s = %.0f MB/s\n",
      counted.total / 1e6, counted.files.size(), export_s,
      counted.total / 1e6 / export_s);
  const double plain_s = PlainWriteSeconds(scratch, counted.files);
  if (plain_s < 0) return absl::InternalError("plain write baseline failed");
  std::printf(
      "  baseline, the same files with open/write/close + syncfs: %.2f s = "
      "%.0f MB/s, %.0f files/s\n",
      plain_s, counted.total / 1e6 / plain_s, counted.files.size() / plain_s);
  plain_baseline_mbps = counted.total / 1e6 / plain_s;
  return absl::OkStatus();
}

uint64_t DirectoryBytes(const fs::path& dir) {
  uint64_t bytes = 0;
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) bytes += e.file_size();
  }
  return bytes;
}

// The command line, with its defaults.
struct Flags {
  int64_t agents = 200;
  int64_t snapshots = 48;
  int64_t threads = std::max(1u, std::thread::hardware_concurrency());
  bool keep = false;
};

void DefineFlags(CLI::App& app, Flags* flags) {
  AddIntegerOption(app, "--agents", &flags->agents, "agents (default 200)", 1,
                   INT_MAX);
  AddIntegerOption(app, "--snapshots", &flags->snapshots,
                   "hourly snapshots per agent (default 48)", 1, INT_MAX);
  AddIntegerOption(app, "--threads", &flags->threads,
                   "threads to verify with (default: one per core)", 1,
                   INT_MAX);
  app.add_flag("--keep", flags->keep,
               "leave the data dir and the bundle in /tmp (printed)")
      ->disable_flag_override();
}

int Main(int argc, char** argv) {
  Flags flags;
  CLI::App app{"bundle export and verify speed", "bundle_bench"};
  UseEvidentiaConventions(app);
  if (std::optional<int> exit = ParseCommandLine(
          app, [&](CLI::App& cli) { DefineFlags(cli, &flags); }, argc, argv,
          std::cout, std::cerr)) {
    return *exit;
  }
  const int agents = static_cast<int>(flags.agents);
  const int snapshots = static_cast<int>(flags.snapshots);
  const int threads = static_cast<int>(flags.threads);
  const fs::path source = EVIDENTIA_SOURCE_DIR;

  char dir_template[] = "/tmp/evidentia-bundle-bench.XXXXXX";
  const fs::path dir = mkdtemp(dir_template);
  const fs::path data_dir = dir / "collector";
  int rc = 1;
  [&] {
    std::printf("bundle bench: %d agents x %d hourly snapshots, %d threads\n",
                agents, snapshots, threads);
    const auto fill_start = Steady::now();
    if (absl::Status filled = Fill(data_dir, agents, snapshots); !filled.ok()) {
      std::fprintf(stderr, "fill: %s\n", filled.ToString().c_str());
      return;
    }
    std::printf("  fill through ingest (synced): %.1f s\n", Since(fill_start));
    const absl::Time period_from = absl::Now() - absl::Hours(snapshots + 2);
    if (absl::Status in_process =
            InProcessExport(data_dir, source,
                            {period_from, absl::Now(), "", ""}, dir / "plain");
        !in_process.ok()) {
      std::fprintf(stderr, "in-process export: %s\n",
                   in_process.ToString().c_str());
      return;
    }

    collector::ServerOptions options;
    options.data_dir = data_dir;
    options.listen = "127.0.0.1:0";
    options.policies_dir = source / "policies";
    options.soa_file = source / "policies/soa.example.yaml";
    absl::StatusOr<std::unique_ptr<collector::Server>> server =
        collector::Server::Start(options);
    if (!server.ok()) {
      std::fprintf(stderr, "server: %s\n", server.status().ToString().c_str());
      return;
    }
    const fs::path bundle = dir / "bundle";
    const std::string from = absl::FormatTime(
        "%Y-%m-%dT%H:%M:%SZ", absl::Now() - absl::Hours(snapshots + 2),
        absl::UTCTimeZone());
    const std::string to = absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(),
                                            absl::UTCTimeZone());
    const std::string data_dir_s = data_dir.string(), out = bundle.string();
    const char* export_argv[] = {
        "evidentia", "export",     "--data-dir", data_dir_s.c_str(),
        "--from",    from.c_str(), "--to",       to.c_str(),
        "--out",     out.c_str()};
    std::ostringstream cli_out, cli_err;
    const auto export_start = Steady::now();
    const int exported =
        collector::RunOperatorCli(sizeof(export_argv) / sizeof(export_argv[0]),
                                  export_argv, cli_out, cli_err);
    const double export_s = Since(export_start);
    if (exported != 0) {
      std::fprintf(stderr, "export: %s\n", cli_err.str().c_str());
      return;
    }
    const uint64_t bytes = DirectoryBytes(bundle);
    uint64_t files = 0;
    for (const auto& e : fs::recursive_directory_iterator(bundle)) {
      files += e.is_regular_file() ? 1 : 0;
    }
    std::printf(
        "  export (CLI over TLS, collector in process): %.1f MB, %llu files "
        "in %.2f s = %.0f MB/s (target >= 100 MB/s)\n",
        bytes / 1e6, static_cast<unsigned long long>(files), export_s,
        bytes / 1e6 / export_s);
    std::printf("  export / plain-write baseline ratio: %.2f\n",
                bytes / 1e6 / export_s / plain_baseline_mbps);

    // The same bundle streamed into one .tar.gz: no small files on disk.
    const std::string archive = (dir / "bundle.tar.gz").string();
    const char* archive_argv[] = {
        "evidentia", "export",       "--data-dir", data_dir_s.c_str(),
        "--from",    from.c_str(),   "--to",       to.c_str(),
        "--out",     archive.c_str()};
    std::ostringstream archive_out, archive_err;
    const auto archive_start = Steady::now();
    if (collector::RunOperatorCli(
            sizeof(archive_argv) / sizeof(archive_argv[0]), archive_argv,
            archive_out, archive_err) != 0) {
      std::fprintf(stderr, "export .tar.gz: %s\n", archive_err.str().c_str());
      return;
    }
    const double archive_s = Since(archive_start);
    std::printf(
        "  export into one .tar.gz (CLI over TLS): %.1f MB of bundle in %.2f "
        "s = %.0f MB/s (target >= 100 MB/s); archive %.1f MB\n",
        bytes / 1e6, archive_s, bytes / 1e6 / archive_s,
        fs::file_size(archive) / 1e6);

    const double ed25519_before = bench::Ed25519VerifyRate(threads, 1500, true);
    const auto verify_start = Steady::now();
    absl::StatusOr<collector::BundleVerification> verified =
        collector::VerifyBundle(bundle, threads);
    const double verify_s = Since(verify_start);
    if (!verified.ok()) {
      std::fprintf(stderr, "verify: %s\n",
                   verified.status().ToString().c_str());
      return;
    }
    const double verify_rate = verified->snapshots / verify_s;
    // The machine's rate just before and just after, averaged: it drifts
    // with whatever else runs.
    const double ed25519 =
        (ed25519_before + bench::Ed25519VerifyRate(threads, 1500, true)) / 2;
    const double sodium = bench::Ed25519VerifyRate(threads, 1500, false);
    std::printf(
        "  evidentia verify: %llu snapshots in %.2f s = %.0f snapshots/s\n",
        static_cast<unsigned long long>(verified->snapshots), verify_s,
        verify_rate);
    std::printf(
        "  Ed25519 verify rate, %d threads: OpenSSL 3 %.0f /s (the machine's "
        "rate), libsodium %.0f /s (what Evidentia verifies with)\n",
        threads, ed25519, sodium);
    std::printf(
        "  verify / Ed25519 ratio: %.2f (target >= 0.80); against "
        "libsodium's rate: %.2f\n",
        verify_rate / ed25519, verify_rate / sodium);
    (*server)->Shutdown();
    rc = 0;
  }();
  if (flags.keep) {
    std::printf("  kept: %s (bundle in %s/bundle)\n", dir.c_str(), dir.c_str());
  } else {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  return rc;
}

}  // namespace
}  // namespace evidentia

int main(int argc, char** argv) { return evidentia::Main(argc, argv); }
