// evidentia-agent: observe this host, sign each collection cycle, spool it
// durably and deliver it to the collector.
#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent/agent_state.h"
#include "agent/backoff.h"
#include "agent/collect.h"
#include "agent/probe.h"
#include "agent/runner.h"
#include "agent/uploader.h"
#include "common/cli_flags.h"
#include "common/files.h"
#include "common/log.h"

namespace evidentia::agent {
namespace {

// Exit codes scripts can rely on.
constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;              // the operation failed (see stderr)
constexpr int kExitUsage = kUsageExitCode;  // bad command line
constexpr int kExitNotSent = 3;  // snapshot made and kept, not delivered

constexpr char kDescription[] =
    "evidentia-agent: collects signed ISO/IEC 27001 control evidence";
constexpr char kExitCodes[] =
    "exit codes: 0 ok, 1 failed, 2 usage, 3 not delivered (kept for later)\n";

constexpr char kCollectUsage[] =
    R"(  evidentia-agent collect --once --json [--root DIR]
      Print this host's facts as JSON. Needs no collector.
)";
constexpr char kEnrollUsage[] =
    R"(  evidentia-agent enroll --collector HOST:PORT --ca FILE --token TOKEN
                         --state-dir DIR [--root DIR] [--label KEY=VALUE]...
      Create this device's key and TLS key (0600, they never leave DIR),
      register them with the collector and store the client certificate it
      issues; labels scope grades (evidentia controls --scope dept=finance).
)";
constexpr char kRunUsage[] =
    R"(  evidentia-agent run --state-dir DIR [--once] [--interval DURATION] [--root DIR]
                      [--spool-max-bytes SIZE] [--max-send-rate N]
      Collect, sign, spool and deliver; every --interval (default: the
      heartbeat the collector names from its policies, else 1h), or
      once with --once (exit 3 if the snapshot could not be delivered; it
      stays spooled and goes with the next run). When undelivered snapshots
      exceed --spool-max-bytes (default 64MiB; suffixes KiB, MiB, GiB), the
      oldest are dropped and a signed gap snapshot reports them. A backlog
      is sent at most --max-send-rate snapshots a second (default 10; 0: no
      limit); a failed delivery is retried with exponential backoff (1s
      doubling to 5m, full jitter) or as the collector asks.
)";
constexpr char kRotateKeyUsage[] =
    R"(  evidentia-agent rotate-key --state-dir DIR
      Replace the device key: deliver the spool, make a new key and have
      the collector register it on the old key's word (both keys sign the
      hand-over). Snapshots signed before stay valid under the old key. If
      the collector's answer is lost the rotation stays pending (exit 3):
      no snapshot is signed until rotate-key, or run, gets the answer.
)";

// What each command's flags say; defaults are what an absent flag means.
struct CollectFlags {
  std::string root = "/";
};
struct EnrollFlags {
  std::string collector;
  std::string ca;
  std::string token;
  std::string state_dir;
  std::string root = "/";
  std::vector<std::string> labels;  // KEY=VALUE each (checked when parsed)
};
struct RunFlags {
  std::string state_dir;
  bool once = false;
  // Without --interval, the heartbeat the collector names in its answers
  // (SubmitResponse) sets the pace, 1h until it names one.
  std::optional<absl::Duration> interval;
  std::string root = "/";
  uint64_t spool_max_bytes = kDefaultSpoolMaxBytes;
  double max_send_rate = 10;  // snapshots a second; 0: no limit
};
struct RotateKeyFlags {
  std::string state_dir;
};

volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

int Fail(const absl::Status& status, int code = kExitFailed) {
  std::fprintf(stderr, "evidentia-agent: %s\n", status.ToString().c_str());
  return code;
}

int CollectCommand(const CollectFlags& flags) {
  absl::StatusOr<std::string> json =
      CollectionToJson(Collect(BuildProbes(), flags.root));
  if (!json.ok()) return Fail(json.status());
  std::cout << *json;
  return kExitOk;
}

// Where a label's KEY ends, or npos when `label` is not KEY=VALUE with a
// KEY.
size_t LabelKeyEnd(const std::string& label) {
  const size_t eq = label.find('=');
  return eq == 0 ? std::string::npos : eq;
}

int EnrollCommand(const EnrollFlags& flags) {
  absl::StatusOr<std::string> ca_pem = ReadFile(flags.ca, 1 << 20);
  if (!ca_pem.ok()) return Fail(ca_pem.status());
  EnrollOptions options;
  options.state_dir = flags.state_dir;
  options.collector = flags.collector;
  options.ca_pem = *ca_pem;
  options.token = flags.token;
  options.root = flags.root;
  for (const std::string& label : flags.labels) {
    const size_t eq = LabelKeyEnd(label);  // checked by the command line
    options.labels[label.substr(0, eq)] = label.substr(eq + 1);
  }
  absl::StatusOr<std::string> agent_id = Enroll(options);
  if (!agent_id.ok()) return Fail(agent_id.status());
  std::cout << "enrolled as agent " << *agent_id << " with "
            << options.collector << "\n";
  return kExitOk;
}

int RotateKeyCommand(const RotateKeyFlags& flags) {
  absl::StatusOr<std::unique_ptr<AgentState>> state =
      AgentState::Open(flags.state_dir);
  if (!state.ok()) return Fail(state.status());
  absl::StatusOr<ClientTls> tls = LoadClientTls(flags.state_dir);
  if (!tls.ok()) return Fail(tls.status());
  auto stub = v1::Collector::NewStub(
      MakeChannel((*state)->identity().collector(), *tls));
  absl::StatusOr<std::string> key_id = RotateDeviceKey(**state, *stub);
  if (!key_id.ok()) {
    return Fail(key_id.status(),
                IsTransient(key_id.status()) ? kExitNotSent : kExitFailed);
  }
  std::cout << "agent " << (*state)->identity().agent_id()
            << " now signs with key " << *key_id << "\n";
  return kExitOk;
}

int RunCommand(const RunFlags& flags) {
  absl::StatusOr<std::unique_ptr<AgentState>> state =
      AgentState::Open(flags.state_dir);
  if (!state.ok()) return Fail(state.status());
  absl::StatusOr<ClientTls> tls = LoadClientTls(flags.state_dir);
  if (!tls.ok()) return Fail(tls.status());
  (*state)->set_spool_max_bytes(flags.spool_max_bytes);
  auto stub = v1::Collector::NewStub(
      MakeChannel((*state)->identity().collector(), *tls));
  const std::string& root = flags.root;

  DeliveryOptions delivery;
  delivery.max_per_second = flags.max_send_rate;

  if (flags.once) {
    if (absl::Status s = FinishPendingRotation(**state, *stub, delivery);
        !s.ok()) {
      return Fail(s, IsTransient(s) ? kExitNotSent : kExitFailed);
    }
    absl::StatusOr<uint64_t> seq =
        (*state)->MakeSnapshot(Collect(BuildProbes(), root), absl::Now());
    if (!seq.ok()) return Fail(seq.status());
    absl::Status status = DeliverAndLog(**state, *stub, delivery).status();
    if (!status.ok()) {
      return Fail(
          absl::Status(status.code(),
                       absl::StrCat("snapshot ", *seq,
                                    " kept in the spool: ", status.message())),
          kExitNotSent);
    }
    return kExitOk;
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  RunnerOptions options;
  options.interval = flags.interval;
  options.collect = [&root] { return Collect(BuildProbes(), root); };
  options.delivery = delivery;
  options.jitter = [&] { return unit(rng); };
  options.stopped = [] { return g_stop != 0; };
  // Stops sleeping early on a signal.
  options.sleep = [](absl::Duration d) {
    const absl::Time until = absl::Now() + d;
    while (g_stop == 0 && absl::Now() < until) {
      absl::SleepFor(std::min(absl::Seconds(1), until - absl::Now()));
    }
  };
  RunAgent(**state, *stub, std::move(options));
  return kExitOk;
}

// The command line: each command and the flags it takes (any other flag
// is a usage error), their help, and where their values go.
struct CommandLine {
  CollectFlags collect;
  EnrollFlags enroll;
  RunFlags run;
  RotateKeyFlags rotate_key;
  // The commands, owned by the CLI::App; set by Define.
  CLI::App* collect_command = nullptr;
  CLI::App* enroll_command = nullptr;
  CLI::App* run_command = nullptr;
  CLI::App* rotate_key_command = nullptr;

  void Define(CLI::App& app);
};

// --max-send-rate: 0, or at least 0.1 snapshots a second (slower, the
// collector would close the stream as idle between sends).
absl::StatusOr<double> ParseSendRate(absl::string_view text) {
  absl::StatusOr<double> rate = ParseNumberFlag(text, 0);
  if (!rate.ok() || (*rate > 0 && *rate < 0.1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text,
                     "' is not a rate: snapshots a second, at least 0.1 "
                     "(e.g. 10), or 0 for no limit"));
  }
  return rate;
}

void CommandLine::Define(CLI::App& app) {
  UseEvidentiaConventions(app);
  app.require_subcommand(1);
  app.footer(absl::StrCat("usage:\n", kCollectUsage, "\n", kEnrollUsage, "\n",
                          kRunUsage, "\n", kRotateKeyUsage, "\n", kExitCodes));
  const auto footer = [](const char* usage) {
    return absl::StrCat("usage:\n", usage, "\n", kExitCodes);
  };
  const auto add_root = [](CLI::App& command, std::string* root) {
    command
        .add_option("--root", *root,
                    "observe the tree below DIR (default /; fixtures)")
        ->type_name("DIR");
  };
  const auto add_state_dir = [](CLI::App& command, std::string* state_dir) {
    command
        .add_option("--state-dir", *state_dir,
                    "the agent's keys, identity and spool (0700)")
        ->type_name("DIR")
        ->required();
  };

  collect_command =
      app.add_subcommand("collect", "print this host's facts as JSON");
  collect_command->footer(footer(kCollectUsage));
  collect_command->add_flag("--once", "one collection")
      ->required()
      ->disable_flag_override();
  collect_command->add_flag("--json", "print it as JSON")
      ->required()
      ->disable_flag_override();
  add_root(*collect_command, &collect.root);

  enroll_command = app.add_subcommand(
      "enroll", "register this device with a collector (one-time token)");
  enroll_command->footer(footer(kEnrollUsage));
  enroll_command->add_option("--collector", enroll.collector, "the collector")
      ->type_name("HOST:PORT")
      ->required();
  enroll_command
      ->add_option("--ca", enroll.ca, "the collector's CA certificate")
      ->type_name("FILE")
      ->required();
  enroll_command
      ->add_option("--token", enroll.token, "one-time enrolment token")
      ->type_name("TOKEN")
      ->required();
  add_state_dir(*enroll_command, &enroll.state_dir);
  add_root(*enroll_command, &enroll.root);
  enroll_command
      ->add_option("--label", enroll.labels,
                   "a label to scope grades by; repeatable")
      ->type_name("KEY=VALUE")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->allow_extra_args(false)
      ->check(CLI::Validator(
          [](std::string& label) {
            return LabelKeyEnd(label) == std::string::npos
                       ? absl::StrCat("'", label, "' is not KEY=VALUE")
                       : std::string();
          },
          ""));

  run_command =
      app.add_subcommand("run", "collect, sign, spool and deliver snapshots");
  run_command->footer(footer(kRunUsage));
  add_state_dir(*run_command, &run.state_dir);
  run_command
      ->add_flag("--once", run.once,
                 "one cycle, then exit (3: kept, not delivered)")
      ->disable_flag_override();
  AddDurationOption(*run_command, "--interval", &run.interval,
                    "time between snapshots (15m, 1h)", absl::Seconds(1));
  add_root(*run_command, &run.root);
  AddByteSizeOption(*run_command, "--spool-max-bytes", &run.spool_max_bytes,
                    "spool quota (default 64MiB)");
  AddParsedOption<double>(*run_command, "--max-send-rate", &run.max_send_rate,
                          ParseSendRate,
                          "snapshots a second (default 10; 0: no limit)")
      ->type_name("N");

  rotate_key_command = app.add_subcommand(
      "rotate-key", "replace the device key, registered on the old key's word");
  rotate_key_command->footer(footer(kRotateKeyUsage));
  add_state_dir(*rotate_key_command, &rotate_key.state_dir);
}

int Main(int argc, char** argv) {
  CommandLine line;
  CLI::App app{kDescription, "evidentia-agent"};
  if (std::optional<int> code = ParseCommandLine(
          app, [&](CLI::App& app) { line.Define(app); }, argc, argv, std::cout,
          std::cerr)) {
    return *code;
  }
  if (line.collect_command->parsed()) return CollectCommand(line.collect);
  if (line.enroll_command->parsed()) return EnrollCommand(line.enroll);
  if (line.run_command->parsed()) return RunCommand(line.run);
  if (line.rotate_key_command->parsed()) {
    return RotateKeyCommand(line.rotate_key);
  }
  return kExitUsage;  // unreachable: exactly one command is required
}

}  // namespace
}  // namespace evidentia::agent

int main(int argc, char** argv) { return evidentia::agent::Main(argc, argv); }
