// evidentia-collector: receives, verifies and stores signed evidence.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "collector/operator_cli.h"
#include "collector/server.h"
#include "common/args.h"
#include "common/log.h"

namespace evidentia::collector {
namespace {

constexpr char kHead[] =
    "evidentia-collector: receives, verifies and stores signed evidence\n\n"
    "usage:\n";

constexpr char kServeUsage[] =
    R"(  evidentia-collector serve --data-dir DIR [--listen HOST:PORT] [--tls-name NAME]...
                            [--policies DIR --soa FILE] [--checkpoint-interval DURATION]
                            [--agent-rate N] [--min-free-mb N]
      Serve agents and operators over TLS (default listen 127.0.0.1:7443).
      With --policies (checks and catalogue, see policies/README.md) and
      --soa (your Statement of Applicability) it grades controls; the whole
      set is validated at start and a mistake stops the start with FILE:LINE.
      The first start creates DIR (0700) with the collector's signing key,
      a private CA (DIR/ca.pem: give it to agents), a TLS server certificate
      for localhost, 127.0.0.1, ::1, this host's name and every --tls-name,
      and the operator's client certificate (DIR/operator-client.key, 0600,
      and DIR/operator-client.pem), which the evidentia CLI presents.
      Every accepted snapshot is appended to the transparency log; a
      checkpoint of it is signed every --checkpoint-interval (default 5m)
      when it grew, and on demand (evidentia log checkpoint --new, export).
      --agent-rate N lets each agent store at most N snapshots a second on
      average (bursts of 10); over it the agent is told to retry later
      (retry_after_ms) and does. Default: no limit.
      --min-free-mb N: below N MiB free on the store's file system the
      collector stops acknowledging (UNAVAILABLE; agents keep their
      snapshots) and goes on answering queries. Default: 64.
)";

constexpr char kTokenUsage[] =
    R"(  evidentia-collector token create --data-dir DIR [--ttl DURATION] [--uses N]
      Same as `evidentia token create`: ask the running collector for a
      one-time enrolment token (its flags: evidentia token create --help).
)";

constexpr char kExitCodes[] =
    "exit codes: 0 ok, 1 failed, 2 usage; token create as evidentia's "
    "(3: collector unreachable)\n";

// The flags `serve` takes; any other is a usage error.
const std::vector<FlagSpec>& ServeFlags() {
  static const auto* const kFlags = new std::vector<FlagSpec>{
      {"data-dir", "DIR",
       "keys, CA, certificates and store (required; made 0700 at the first "
       "start)"},
      {"listen", "HOST:PORT", "address to serve on (default 127.0.0.1:7443)"},
      {"tls-name", "NAME", "a name for the TLS server certificate; repeatable"},
      {"policies", "DIR", "checks and catalogue (with --soa)"},
      {"soa", "FILE", "your Statement of Applicability (with --policies)"},
      {"checkpoint-interval", "DURATION",
       "sign a checkpoint this often when the log grew (default 5m)"},
      {"agent-rate", "N", "snapshots a second per agent (default: no limit)"},
      {"min-free-mb", "N",
       "MiB to keep free on the store's file system (default 64)"},
      {"help", "", "this help"},
  };
  return *kFlags;
}

std::string Overview() {
  return absl::StrCat(kHead, kServeUsage, kTokenUsage, "\n", kExitCodes);
}

int Serve(int argc, char** argv) {
  absl::StatusOr<Args> args = Args::Parse(argc, argv, 2, ServeFlags());
  if (!args.ok()) {
    std::cerr << "evidentia-collector serve: " << args.status().message()
              << " (evidentia-collector serve --help lists its flags)\n";
    return 2;
  }
  if (args->Has("help")) {
    std::cout << "usage:\n"
              << kServeUsage << "\nflags:\n"
              << FlagHelp(ServeFlags()) << "\n"
              << kExitCodes;
    return 0;
  }
  if (!args->positional().empty()) {
    std::cerr << "evidentia-collector serve: unexpected argument '"
              << args->positional()[0] << "'\n";
    return 2;
  }
  if (!args->Has("data-dir")) {
    std::cerr << "evidentia-collector serve: --data-dir is required\n\n"
              << "usage:\n"
              << kServeUsage;
    return 2;
  }
  // Block the stop signals in every thread; this one waits for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  ServerOptions options;
  options.data_dir = args->Get("data-dir");
  options.listen = args->Get("listen", kDefaultListen);
  options.tls_names = args->GetAll("tls-name");
  if (args->Has("policies") != args->Has("soa")) {
    std::cerr << "--policies and --soa go together\n";
    return 2;
  }
  options.policies_dir = args->Get("policies");
  options.soa_file = args->Get("soa");
  if (args->Has("checkpoint-interval")) {
    absl::Duration interval;
    if (!absl::ParseDuration(args->Get("checkpoint-interval"), &interval) ||
        interval < absl::Seconds(1)) {
      std::cerr << "--checkpoint-interval takes a duration of 1s or more "
                   "(30s, 5m, 1h)\n";
      return 2;
    }
    options.checkpoint_interval = interval;
  }
  if (args->Has("agent-rate") &&
      (!absl::SimpleAtod(args->Get("agent-rate"), &options.agent_submit_rate) ||
       options.agent_submit_rate <= 0)) {
    std::cerr << "--agent-rate takes snapshots a second per agent, above 0\n";
    return 2;
  }
  if (args->Has("min-free-mb")) {
    uint64_t mib = 0;
    if (!absl::SimpleAtoi(args->Get("min-free-mb"), &mib) || mib > (1 << 30)) {
      std::cerr << "--min-free-mb takes a number of MiB (0 to turn it off)\n";
      return 2;
    }
    options.store.min_free_bytes = mib << 20;
  }
  absl::StatusOr<std::unique_ptr<Server>> server = Server::Start(options);
  if (!server.ok()) {
    Log(LogLevel::kError, std::string(server.status().ToString()));
    return 1;
  }
  std::thread stopper([&] {
    int signal = 0;
    sigwait(&stop_signals, &signal);
    Log(LogLevel::kInfo, "stopping");
    (*server)->Shutdown();
  });
  (*server)->Wait();
  stopper.join();
  return 0;
}

int Main(int argc, char** argv) {
  // Debian's Abseil detects deadlocks by default: every mutex operation
  // also maintains a lock graph (2-3% of the collector's CPU under load in
  // perf). The daemon goes without; the tests, which run the same code
  // in-process, keep it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const std::string command = argc > 1 ? argv[1] : "";
  if (command == "serve") return Serve(argc, argv);
  if (command == "token") {
    // Forward to the operator CLI: `evidentia token ...`.
    return RunOperatorCli(argc, argv, std::cout, std::cerr);
  }
  if (command == "--help" || command == "help") {
    std::cout << Overview();
    return 0;
  }
  if (!command.empty()) std::cerr << "unknown command " << command << "\n\n";
  std::cerr << Overview();
  return 2;
}

}  // namespace
}  // namespace evidentia::collector

int main(int argc, char** argv) {
  return evidentia::collector::Main(argc, argv);
}
