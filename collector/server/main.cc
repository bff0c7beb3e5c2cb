// evidentia-collector: receives, verifies and stores signed evidence.
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cli/operator_cli.h"
#include "collector/server/server.h"
#include "common/cli_flags.h"
#include "common/files.h"
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
                            [--web-listen HOST:PORT|off] [--metrics-allow ADDR,...]
                            [--metrics-token-file FILE]
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
      --web-listen: the HTTPS dashboard (docs/dashboard.md), with the same
      TLS certificate (default 127.0.0.1:8443; off: none). Its address is
      written to DIR/web.addr. Users: evidentia user add NAME --role ROLE.
      /metrics (Prometheus) answers only the addresses of --metrics-allow
      when given, and asks for the bearer token in --metrics-token-file
      (0600) when given.
)";

constexpr char kTokenUsage[] =
    R"(  evidentia-collector token create --data-dir DIR [--ttl DURATION] [--uses N]
      Same as `evidentia token create`: ask the running collector for a
      one-time enrolment token (its flags: evidentia token create --help).
)";

constexpr char kExitCodes[] =
    "exit codes: 0 ok, 1 failed, 2 usage; token create as evidentia's "
    "(3: collector unreachable)\n";

// A secret in a file only its owner may read, without surrounding
// whitespace: at least 16 bytes.
absl::StatusOr<std::string> ReadSecretFile(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    return absl::NotFoundError(absl::StrCat(path, " cannot be read"));
  }
  if ((info.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is readable by others: chmod 600 ", path));
  }
  absl::StatusOr<std::string> text = ReadFile(path, 4096);
  if (!text.ok()) return text.status();
  std::string secret(absl::StripAsciiWhitespace(*text));
  if (secret.size() < 16) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " holds fewer than 16 characters"));
  }
  return secret;
}

// What `serve` was given; unset optionals were not given.
struct ServeFlags {
  std::optional<std::string> data_dir;
  std::string listen = kDefaultListen;
  std::vector<std::string> tls_names;
  std::optional<std::string> policies;
  std::optional<std::string> soa;
  std::optional<absl::Duration> checkpoint_interval;
  std::optional<double> agent_rate;
  std::optional<int64_t> min_free_mb;
  std::string web_listen = web::kDefaultWebListen;
  std::string metrics_allow;
  std::optional<std::string> metrics_token_file;
};

// `serve` and its flags, read into *flags; any other flag is a usage error.
void DefineServe(CLI::App& app, ServeFlags* flags) {
  app.require_subcommand(1);
  CLI::App* serve = app.add_subcommand("serve", kServeUsage);
  serve->footer(kExitCodes);
  serve
      ->add_option("--data-dir", flags->data_dir,
                   "keys, CA, certificates and store, made 0700 at the first "
                   "start (default $EVIDENTIA_DATA_DIR, else "
                   "/var/lib/evidentia)")
      ->type_name("DIR");
  serve
      ->add_option("--listen", flags->listen,
                   "address to serve on (default 127.0.0.1:7443)")
      ->type_name("HOST:PORT");
  serve
      ->add_option("--tls-name", flags->tls_names,
                   "a name for the TLS server certificate; repeatable")
      ->type_name("NAME")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  serve
      ->add_option("--policies", flags->policies,
                   "checks and catalogue (with --soa)")
      ->type_name("DIR");
  serve
      ->add_option("--soa", flags->soa,
                   "your Statement of Applicability (with --policies)")
      ->type_name("FILE");
  AddDurationOption(
      *serve, "--checkpoint-interval", &flags->checkpoint_interval,
      "sign a checkpoint this often when the log grew (default 5m)",
      absl::Seconds(1));
  AddParsedOption<std::optional<double>>(
      *serve, "--agent-rate", &flags->agent_rate,
      [](absl::string_view text) -> absl::StatusOr<std::optional<double>> {
        absl::StatusOr<double> rate = ParseNumberFlag(text, 0);
        if (!rate.ok()) return rate.status();
        if (*rate <= 0) {
          return absl::InvalidArgumentError(
              absl::StrCat("'", text, "' is not above 0"));
        }
        return *rate;
      },
      "snapshots a second per agent (default: no limit)")
      ->type_name("N");
  AddParsedOption<std::optional<int64_t>>(
      *serve, "--min-free-mb", &flags->min_free_mb,
      [](absl::string_view text) -> absl::StatusOr<std::optional<int64_t>> {
        absl::StatusOr<int64_t> mib = ParseIntegerFlag(text, 0, 1 << 30);
        if (!mib.ok()) return mib.status();
        return *mib;
      },
      "MiB to keep free on the store's file system (default 64; 0 turns it "
      "off)")
      ->type_name("N");
  serve
      ->add_option("--web-listen", flags->web_listen,
                   "the HTTPS dashboard's address (default 127.0.0.1:8443; "
                   "off: none)")
      ->type_name("HOST:PORT|off");
  serve
      ->add_option("--metrics-allow", flags->metrics_allow,
                   "the only client addresses /metrics answers, "
                   "comma-separated")
      ->type_name("ADDR,...");
  serve
      ->add_option("--metrics-token-file", flags->metrics_token_file,
                   "a file (0600) holding the bearer token /metrics asks for")
      ->type_name("FILE");
}

// The installed layout (packaging/CMakeLists.txt, the evidentia-collector
// package): what `serve` uses without --data-dir.
constexpr char kInstalledDataDir[] = "/var/lib/evidentia";
constexpr char kInstalledConfigDir[] = "/etc/evidentia";
constexpr char kInstalledPoliciesDir[] = "/usr/share/evidentia/policies";
constexpr char kInstalledSoaTemplate[] =
    "/usr/share/evidentia/soa.example.yaml";
// The risk register the template names (risk_register:), beside it.
constexpr char kInstalledRisksTemplate[] =
    "/usr/share/evidentia/risks.example.yaml";

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
absl::StatusOr<ServePaths> ServePathsFrom(const ServeFlags& flags) {
  ServePaths paths{flags.data_dir.value_or(""), flags.policies.value_or(""),
                   flags.soa.value_or("")};
  if (flags.data_dir.has_value()) return paths;  // as given, grading or not
  paths.installed_layout = true;
  paths.data_dir = EnvOr("EVIDENTIA_DATA_DIR", kInstalledDataDir);
  if (flags.policies.has_value()) return paths;
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
        kInstalledSoaTemplate, " ", paths.soa_file, " && cp ",
        kInstalledRisksTemplate, " ",
        std::filesystem::path(paths.soa_file).parent_path().string(),
        "/, then edit both (or give --data-dir, or --policies DIR --soa "
        "FILE)"));
  }
  return paths;
}

std::string Overview() {
  return absl::StrCat(kHead, kServeUsage, kTokenUsage, "\n", kExitCodes);
}

int Serve(int argc, char** argv) {
  CLI::App app{"receives, verifies and stores signed evidence",
               "evidentia-collector"};
  UseEvidentiaConventions(app);
  ServeFlags flags;
  if (std::optional<int> exit = ParseCommandLine(
          app, [&](CLI::App& cli) { DefineServe(cli, &flags); }, argc, argv,
          std::cout, std::cerr);
      exit.has_value()) {
    return *exit;
  }
  if (flags.policies.has_value() != flags.soa.has_value()) {
    std::cerr << "--policies and --soa go together\n";
    return kUsageExitCode;
  }
  // Block the stop signals in every thread; this one waits for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  ServerOptions options;
  options.listen = flags.listen;
  options.tls_names = flags.tls_names;
  if (flags.checkpoint_interval.has_value()) {
    options.checkpoint_interval = *flags.checkpoint_interval;
  }
  if (flags.agent_rate.has_value()) {
    options.agent_submit_rate = *flags.agent_rate;
  }
  if (flags.min_free_mb.has_value()) {
    options.store.min_free_bytes = static_cast<uint64_t>(*flags.min_free_mb)
                                   << 20;
  }
  absl::StatusOr<ServePaths> paths = ServePathsFrom(flags);
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
  if (flags.web_listen != "off") {
    options.web = web::WebOptions();
    options.web.listen = flags.web_listen;
    for (absl::string_view address :
         absl::StrSplit(flags.metrics_allow, ',', absl::SkipEmpty())) {
      options.web.metrics_addresses.emplace_back(address);
    }
    if (flags.metrics_token_file.has_value()) {
      absl::StatusOr<std::string> token =
          ReadSecretFile(*flags.metrics_token_file);
      if (!token.ok()) {
        Log(LogLevel::kError,
            absl::StrCat("--metrics-token-file: ", token.status().message()));
        return 1;
      }
      options.web.metrics_token = *std::move(token);
    }
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
