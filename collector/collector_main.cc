// evidentia-collector: receives, verifies and stores signed evidence.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
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
    R"(  evidentia-collector serve [--data-dir DIR] [--listen HOST:PORT] [--tls-name NAME]...
                            [--policies DIR --soa FILE] [--checkpoint-interval DURATION]
                            [--agent-rate N] [--min-free-mb N]
      Serve agents and operators over TLS (default listen 127.0.0.1:7443).
      With --policies (checks and catalogue, see policies/README.md) and
      --soa (your Statement of Applicability) it grades controls; the whole
      set is validated at start and a mistake stops the start with FILE:LINE.
      Without --data-dir it uses the installed layout (the Debian package):
      data dir $EVIDENTIA_DATA_DIR, else /var/lib/evidentia, and unless
      --policies and --soa are given, policies /usr/share/evidentia/policies
      and the SoA $EVIDENTIA_CONFIG_DIR/soa.yaml, else /etc/evidentia/soa.yaml,
      which must exist; it logs the paths it used. With --data-dir and
      without --policies and --soa it serves without grading.
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
       "keys, CA, certificates and store, made 0700 at the first start "
       "(default $EVIDENTIA_DATA_DIR, else /var/lib/evidentia)"},
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

// The installed layout (packaging/CMakeLists.txt, the evidentia-collector
// package): what `serve` uses without --data-dir.
constexpr char kInstalledDataDir[] = "/var/lib/evidentia";
constexpr char kInstalledConfigDir[] = "/etc/evidentia";
constexpr char kInstalledPoliciesDir[] = "/usr/share/evidentia/policies";
constexpr char kInstalledSoaTemplate[] =
    "/usr/share/evidentia/soa.example.yaml";

// Where `serve` keeps its state and finds its policies and SoA.
struct ServePaths {
  std::string data_dir;
  std::string policies_dir;  // empty with soa_file: no grading
  std::string soa_file;
  bool installed_layout = false;  // defaults were used: log them
};

// The value of environment variable `name`, or `fallback` when it is unset
// or empty.
std::string EnvOr(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

// The flags given; without --data-dir, the installed layout for what they
// leave out. NOT_FOUND, naming the path and the template, when the SoA of
// the installed layout is missing.
absl::StatusOr<ServePaths> ServePathsFrom(const Args& args) {
  ServePaths paths{args.Get("data-dir"), args.Get("policies"), args.Get("soa")};
  if (args.Has("data-dir")) return paths;  // as given, grading or not
  paths.installed_layout = true;
  paths.data_dir = EnvOr("EVIDENTIA_DATA_DIR", kInstalledDataDir);
  if (args.Has("policies")) return paths;
  paths.policies_dir = kInstalledPoliciesDir;
  paths.soa_file =
      EnvOr("EVIDENTIA_CONFIG_DIR", kInstalledConfigDir) + "/soa.yaml";
  std::error_code error;
  if (std::filesystem::status(paths.soa_file, error).type() ==
      std::filesystem::file_type::not_found) {
    return absl::NotFoundError(absl::StrCat(
        "no Statement of Applicability at ", paths.soa_file,
        " (serve without --data-dir grades with the SoA there); start from "
        "the template: cp ",
        kInstalledSoaTemplate, " ", paths.soa_file,
        ", then edit it (or give --data-dir, or --policies DIR --soa FILE)"));
  }
  return paths;
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
  if (args->Has("policies") != args->Has("soa")) {
    std::cerr << "--policies and --soa go together\n";
    return 2;
  }
  // Block the stop signals in every thread; this one waits for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  ServerOptions options;
  options.listen = args->Get("listen", kDefaultListen);
  options.tls_names = args->GetAll("tls-name");
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
  absl::StatusOr<ServePaths> paths = ServePathsFrom(*args);
  if (!paths.ok()) {
    Log(LogLevel::kError, std::string(paths.status().ToString()));
    return 1;
  }
  if (paths->installed_layout) {
    Log(LogLevel::kInfo,
        absl::StrCat("serve without --data-dir: data dir ", paths->data_dir,
                     ", policies ", paths->policies_dir, ", SoA ",
                     paths->soa_file));
  }
  options.data_dir = paths->data_dir;
  options.policies_dir = paths->policies_dir;
  options.soa_file = paths->soa_file;
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
