// evidentia-agent: observe this host, sign each collection cycle, spool it
// durably and deliver it to the collector.
#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent/agent_state.h"
#include "agent/collect.h"
#include "agent/probe.h"
#include "agent/uploader.h"
#include "common/args.h"
#include "common/files.h"
#include "common/log.h"

namespace evidentia::agent {
namespace {

// Exit codes scripts can rely on.
constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;   // the operation failed (see stderr)
constexpr int kExitUsage = 2;    // bad command line
constexpr int kExitNotSent = 3;  // snapshot made and kept, not delivered

constexpr char kUsage[] =
    R"(evidentia-agent: collects signed ISO/IEC 27001 control evidence

usage:
  evidentia-agent collect --once --json [--root DIR]
      Print this host's facts as JSON. Needs no collector.
  evidentia-agent enroll --collector HOST:PORT --ca FILE --token TOKEN
                         --state-dir DIR [--root DIR] [--label KEY=VALUE]...
      Create this device's key and TLS key (0600, they never leave DIR),
      register them with the collector and store the client certificate it
      issues; labels scope grades (evidentia controls --scope dept=finance).
  evidentia-agent run --state-dir DIR [--once] [--interval DURATION] [--root DIR]
      Collect, sign, spool and deliver; every --interval (default 1h), or
      once with --once (exit 3 if the snapshot could not be delivered; it
      stays spooled and goes with the next run).

exit codes: 0 ok, 1 failed, 2 usage, 3 not delivered (kept for later)
)";

volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

int Fail(const absl::Status& status, int code = kExitFailed) {
  std::fprintf(stderr, "evidentia-agent: %s\n", status.ToString().c_str());
  return code;
}

int CollectCommand(const Args& args) {
  if (!args.Has("once") || !args.Has("json")) {
    std::fputs("collect needs --once --json\n", stderr);
    return kExitUsage;
  }
  std::cout << CollectionToJson(Collect(BuildProbes(), args.Get("root", "/")));
  return kExitOk;
}

int EnrollCommand(const Args& args) {
  if (absl::Status s = args.Require({"collector", "ca", "token", "state-dir"});
      !s.ok()) {
    return Fail(s, kExitUsage);
  }
  absl::StatusOr<std::string> ca_pem = ReadFile(args.Get("ca"), 1 << 20);
  if (!ca_pem.ok()) return Fail(ca_pem.status());
  EnrollOptions options;
  options.state_dir = args.Get("state-dir");
  options.collector = args.Get("collector");
  options.ca_pem = *ca_pem;
  options.token = args.Get("token");
  options.root = args.Get("root", "/");
  for (const std::string& label : args.GetAll("label")) {
    const size_t eq = label.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Fail(absl::InvalidArgumentError(
                      absl::StrCat("--label ", label, " must be KEY=VALUE")),
                  kExitUsage);
    }
    options.labels[label.substr(0, eq)] = label.substr(eq + 1);
  }
  absl::StatusOr<std::string> agent_id = Enroll(options);
  if (!agent_id.ok()) return Fail(agent_id.status());
  std::cout << "enrolled as agent " << *agent_id << " with "
            << options.collector << "\n";
  return kExitOk;
}

// One cycle: collect, spool, deliver everything spooled.
absl::Status Cycle(AgentState& state, v1::Collector::StubInterface& stub,
                   const std::string& root) {
  absl::StatusOr<uint64_t> seq =
      state.MakeSnapshot(Collect(BuildProbes(), root), absl::Now());
  if (!seq.ok()) return seq.status();
  absl::StatusOr<DeliveryReport> report = DeliverSpool(state, stub);
  if (!report.ok()) {
    return absl::Status(report.status().code(),
                        absl::StrCat("snapshot ", *seq, " kept in the spool: ",
                                     report.status().message()));
  }
  Log(LogLevel::kInfo,
      absl::StrCat("snapshot ", *seq, " made; delivered ", report->accepted,
                   " (", report->duplicates, " already held)"));
  return absl::OkStatus();
}

int RunCommand(const Args& args) {
  if (absl::Status s = args.Require({"state-dir"}); !s.ok()) {
    return Fail(s, kExitUsage);
  }
  absl::Duration interval = absl::Hours(1);
  if (args.Has("interval") &&
      (!absl::ParseDuration(args.Get("interval"), &interval) ||
       interval < absl::Seconds(1))) {
    std::fputs("--interval needs a duration like 15m or 1h\n", stderr);
    return kExitUsage;
  }
  absl::StatusOr<std::unique_ptr<AgentState>> state =
      AgentState::Open(args.Get("state-dir"));
  if (!state.ok()) return Fail(state.status());
  absl::StatusOr<ClientTls> tls = LoadClientTls(args.Get("state-dir"));
  if (!tls.ok()) return Fail(tls.status());
  auto stub = v1::Collector::NewStub(
      MakeChannel((*state)->identity().collector(), *tls));
  const std::string root = args.Get("root", "/");

  if (args.Has("once")) {
    absl::Status status = Cycle(**state, *stub, root);
    if (!status.ok()) return Fail(status, kExitNotSent);
    return kExitOk;
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  Log(LogLevel::kInfo,
      absl::StrCat("agent ", (*state)->identity().agent_id(), " reporting to ",
                   (*state)->identity().collector(), " every ",
                   absl::FormatDuration(interval)));
  while (g_stop == 0) {
    absl::Status status = Cycle(**state, *stub, root);
    if (!status.ok()) Log(LogLevel::kWarning, status.ToString());
    const absl::Time next = absl::Now() + interval;
    while (g_stop == 0 && absl::Now() < next) {
      absl::SleepFor(std::min(absl::Seconds(1), next - absl::Now()));
    }
  }
  return kExitOk;
}

int Main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" ||
      std::string(argv[1]) == "help") {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? kExitUsage : kExitOk;
  }
  const std::string command = argv[1];
  absl::StatusOr<Args> args = Args::Parse(
      argc, argv, 2,
      {"root", "collector", "ca", "token", "state-dir", "interval", "label"},
      {"once", "json", "help"});
  if (!args.ok()) return Fail(args.status(), kExitUsage);
  if (args->Has("help")) {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  if (command == "collect") return CollectCommand(*args);
  if (command == "enroll") return EnrollCommand(*args);
  if (command == "run") return RunCommand(*args);
  std::fprintf(stderr, "unknown command %s\n\n%s", command.c_str(), kUsage);
  return kExitUsage;
}

}  // namespace
}  // namespace evidentia::agent

int main(int argc, char** argv) { return evidentia::agent::Main(argc, argv); }
