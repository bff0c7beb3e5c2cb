// evidentia-agent: observe this host, sign each collection cycle, spool it
// durably and deliver it to the collector.
#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent/agent_state.h"
#include "agent/backoff.h"
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

constexpr char kHead[] =
    "evidentia-agent: collects signed ISO/IEC 27001 control evidence\n\n"
    "usage:\n";
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
                      [--spool-max-bytes N] [--max-send-rate N]
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
  absl::StatusOr<std::string> json =
      CollectionToJson(Collect(BuildProbes(), args.Get("root", "/")));
  if (!json.ok()) return Fail(json.status());
  std::cout << *json;
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

// Collects and durably spools one snapshot.
absl::StatusOr<uint64_t> MakeSnapshot(AgentState& state,
                                      const std::string& root) {
  return state.MakeSnapshot(Collect(BuildProbes(), root), absl::Now());
}

// Delivers everything spooled; logs what happened.
absl::StatusOr<DeliveryReport> Deliver(AgentState& state,
                                       v1::Collector::StubInterface& stub,
                                       const DeliveryOptions& options) {
  absl::StatusOr<DeliveryReport> report = DeliverSpool(state, stub, options);
  if (!report.ok()) return report.status();
  Log(LogLevel::kInfo,
      absl::StrCat("delivered ", report->accepted, " (", report->duplicates,
                   " already held",
                   report->throttled > 0
                       ? absl::StrCat(", slowed down ", report->throttled,
                                      " times by the collector")
                       : "",
                   ")"));
  return report;
}

// "65536", "512KiB", "64MiB", "1GiB" as bytes; false if malformed or 0.
bool ParseByteSize(std::string text, uint64_t* bytes) {
  uint64_t unit = 1;
  for (const auto& [suffix, size] :
       {std::pair<const char*, uint64_t>{"KiB", 1ull << 10},
        {"MiB", 1ull << 20},
        {"GiB", 1ull << 30}}) {
    if (absl::EndsWith(text, suffix)) {
      text.resize(text.size() - 3);
      unit = size;
      break;
    }
  }
  uint64_t number = 0;
  if (!absl::SimpleAtoi(text, &number) || number == 0 ||
      number > UINT64_MAX / unit) {
    return false;
  }
  *bytes = number * unit;
  return true;
}

// A rotation whose answer was lost is asked for again before anything is
// signed (AgentState::MakeSnapshot refuses until then).
absl::Status FinishPendingRotation(AgentState& state,
                                   v1::Collector::StubInterface& stub,
                                   const DeliveryOptions& delivery) {
  if (!state.pending_rotation().has_value()) return absl::OkStatus();
  absl::StatusOr<std::string> key_id = RotateDeviceKey(state, stub, delivery);
  if (!key_id.ok()) {
    Log(LogLevel::kWarning, key_id.status().ToString());
    return key_id.status();
  }
  Log(LogLevel::kInfo, absl::StrCat("device key rotated to ", *key_id));
  return absl::OkStatus();
}

int RotateKeyCommand(const Args& args) {
  if (absl::Status s = args.Require({"state-dir"}); !s.ok()) {
    return Fail(s, kExitUsage);
  }
  absl::StatusOr<std::unique_ptr<AgentState>> state =
      AgentState::Open(args.Get("state-dir"));
  if (!state.ok()) return Fail(state.status());
  absl::StatusOr<ClientTls> tls = LoadClientTls(args.Get("state-dir"));
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

int RunCommand(const Args& args) {
  if (absl::Status s = args.Require({"state-dir"}); !s.ok()) {
    return Fail(s, kExitUsage);
  }
  uint64_t spool_max_bytes = kDefaultSpoolMaxBytes;
  if (args.Has("spool-max-bytes") &&
      !ParseByteSize(args.Get("spool-max-bytes"), &spool_max_bytes)) {
    std::fputs("--spool-max-bytes needs a size like 67108864 or 64MiB\n",
               stderr);
    return kExitUsage;
  }
  // Until the collector names its heartbeat (SubmitResponse).
  absl::Duration interval = absl::Hours(1);
  const bool interval_given = args.Has("interval");
  if (interval_given &&
      (!absl::ParseDuration(args.Get("interval"), &interval) ||
       interval < absl::Seconds(1))) {
    std::fputs("--interval needs a duration like 15m or 1h\n", stderr);
    return kExitUsage;
  }
  double max_send_rate = 10;
  if (args.Has("max-send-rate") &&
      (!absl::SimpleAtod(args.Get("max-send-rate"), &max_send_rate) ||
       max_send_rate < 0 || (max_send_rate > 0 && max_send_rate < 0.1))) {
    // Slower, the collector would close the stream as idle between sends.
    std::fputs(
        "--max-send-rate needs snapshots a second, at least 0.1, e.g. 10 "
        "(0: no limit)\n",
        stderr);
    return kExitUsage;
  }
  absl::StatusOr<std::unique_ptr<AgentState>> state =
      AgentState::Open(args.Get("state-dir"));
  if (!state.ok()) return Fail(state.status());
  absl::StatusOr<ClientTls> tls = LoadClientTls(args.Get("state-dir"));
  if (!tls.ok()) return Fail(tls.status());
  (*state)->set_spool_max_bytes(spool_max_bytes);
  auto stub = v1::Collector::NewStub(
      MakeChannel((*state)->identity().collector(), *tls));
  const std::string root = args.Get("root", "/");

  DeliveryOptions delivery;
  delivery.max_per_second = max_send_rate;

  if (args.Has("once")) {
    if (absl::Status s = FinishPendingRotation(**state, *stub, delivery);
        !s.ok()) {
      return Fail(s, IsTransient(s) ? kExitNotSent : kExitFailed);
    }
    absl::StatusOr<uint64_t> seq = MakeSnapshot(**state, root);
    if (!seq.ok()) return Fail(seq.status());
    absl::Status status = Deliver(**state, *stub, delivery).status();
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
  Log(LogLevel::kInfo,
      absl::StrCat("agent ", (*state)->identity().agent_id(), " reporting to ",
                   (*state)->identity().collector(), " every ",
                   absl::FormatDuration(interval)));
  // A snapshot every interval; between them, a failed delivery is retried
  // after an exponential backoff with full jitter (agent/backoff.h), or
  // after the collector's retry_after when that is longer.
  std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  Backoff backoff(kBackoffBase, kBackoffCap, [&] { return unit(rng); });
  absl::Time next_snapshot = absl::Now();
  // Stops sleeping early on a signal.
  delivery.sleep = [](absl::Duration d) {
    const absl::Time until = absl::Now() + d;
    while (g_stop == 0 && absl::Now() < until) {
      absl::SleepFor(std::min(absl::Seconds(1), until - absl::Now()));
    }
  };
  while (g_stop == 0) {
    FinishPendingRotation(**state, *stub, delivery).IgnoreError();  // logged
    if (absl::Now() >= next_snapshot) {
      next_snapshot = absl::Now() + interval;
      absl::StatusOr<uint64_t> seq = MakeSnapshot(**state, root);
      if (!seq.ok()) Log(LogLevel::kError, seq.status().ToString());
    }
    absl::StatusOr<DeliveryReport> report = Deliver(**state, *stub, delivery);
    if (report.ok()) {
      backoff.Reset();
      // Without --interval, the collector's heartbeat sets the pace.
      if (!interval_given && report->heartbeat > absl::ZeroDuration() &&
          report->heartbeat != interval) {
        next_snapshot += report->heartbeat - interval;
        interval = report->heartbeat;
        Log(LogLevel::kInfo,
            absl::StrCat("collector asks for a snapshot every ",
                         absl::FormatDuration(interval)));
      }
    }
    absl::Time wake = next_snapshot;
    if (!report.ok()) {
      const absl::Status& status = report.status();
      const absl::Duration delay =
          std::max(backoff.NextDelay(), RetryAfter(status));
      wake = std::min(wake, absl::Now() + delay);
      Log(LogLevel::kWarning,
          absl::StrCat(status.ToString(), "; kept in the spool, next try in ",
                       absl::FormatDuration(absl::Trunc(
                           std::max(wake - absl::Now(), absl::ZeroDuration()),
                           absl::Milliseconds(1)))));
    }
    delivery.sleep(wake - absl::Now());
  }
  return kExitOk;
}

// One command and the flags it takes; any other flag is a usage error.
struct Command {
  std::string name;
  const char* usage;  // its part of the overview
  std::vector<FlagSpec> flags;
  int (*run)(const Args&);
};

const std::vector<Command>& Commands() {
  const FlagSpec root = {"root", "DIR",
                         "observe the tree below DIR (default /; fixtures)"};
  const FlagSpec state_dir = {"state-dir", "DIR",
                              "the agent's keys, identity and spool (0700)"};
  static const auto* const kCommands = new std::vector<Command>{
      {"collect",
       kCollectUsage,
       {{"once", "", "one collection (required)"},
        {"json", "", "print it as JSON (required)"},
        root},
       CollectCommand},
      {"enroll",
       kEnrollUsage,
       {{"collector", "HOST:PORT", "the collector (required)"},
        {"ca", "FILE", "the collector's CA certificate (required)"},
        {"token", "TOKEN", "one-time enrolment token (required)"},
        state_dir,
        root,
        {"label", "KEY=VALUE", "a label to scope grades by; repeatable"}},
       EnrollCommand},
      {"run",
       kRunUsage,
       {state_dir,
        {"once", "", "one cycle, then exit (3: kept, not delivered)"},
        {"interval", "DURATION", "time between snapshots (15m, 1h)"},
        root,
        {"spool-max-bytes", "N", "spool quota (default 64MiB)"},
        {"max-send-rate", "N", "snapshots a second (default 10; 0: no limit)"}},
       RunCommand},
      {"rotate-key", kRotateKeyUsage, {state_dir}, RotateKeyCommand},
  };
  return *kCommands;
}

std::string Overview() {
  std::string text = kHead;
  for (const Command& command : Commands()) {
    absl::StrAppend(&text, command.usage, "\n");
  }
  absl::StrAppend(&text, kExitCodes);
  return text;
}

int Main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" ||
      std::string(argv[1]) == "help") {
    std::fputs(Overview().c_str(), argc < 2 ? stderr : stdout);
    return argc < 2 ? kExitUsage : kExitOk;
  }
  const std::string name = argv[1];
  const auto command =
      std::find_if(Commands().begin(), Commands().end(),
                   [&](const Command& c) { return c.name == name; });
  if (command == Commands().end()) {
    std::fprintf(stderr, "unknown command %s\n\n%s", name.c_str(),
                 Overview().c_str());
    return kExitUsage;
  }
  const std::vector<FlagSpec> flags =
      Flags({command->flags, {{"help", "", "this help"}}});
  absl::StatusOr<Args> args = Args::Parse(argc, argv, 2, flags);
  if (!args.ok()) {
    std::fprintf(stderr,
                 "evidentia-agent %s: %s (evidentia-agent %s --help lists its "
                 "flags)\n",
                 name.c_str(), std::string(args.status().message()).c_str(),
                 name.c_str());
    return kExitUsage;
  }
  if (args->Has("help")) {
    std::fputs(absl::StrCat("usage:\n", command->usage, "\nflags:\n",
                            FlagHelp(flags), "\n", kExitCodes)
                   .c_str(),
               stdout);
    return kExitOk;
  }
  if (!args->positional().empty()) {
    std::fprintf(stderr, "evidentia-agent %s: unexpected argument '%s'\n",
                 name.c_str(), args->positional()[0].c_str());
    return kExitUsage;
  }
  return command->run(*args);
}

}  // namespace
}  // namespace evidentia::agent

int main(int argc, char** argv) { return evidentia::agent::Main(argc, argv); }
