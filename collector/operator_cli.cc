#include "collector/operator_cli.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "collector/data_dir.h"
#include "collector/facts_summary.h"
#include "common/args.h"
#include "common/files.h"
#include "common/json.h"
#include "common/proto_time.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "evidentia/v1/collector.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace evidentia::collector {
namespace {

constexpr char kUsage[] =
    R"(evidentia: the operator's view of an Evidentia collector

usage: evidentia COMMAND [flags]

commands:
  token create [--ttl DURATION] [--uses N]   one-time enrolment token (printed alone on stdout)
  agents                                     the asset register: enrolled hosts, first/last seen
  evidence --agent ID [--check ID]           what the collector holds for one host
  events                                     security events (forged signatures, equivocations)

connection (defaults from the collector's data dir):
  --data-dir DIR      collector data dir ($EVIDENTIA_DATA_DIR, else /var/lib/evidentia);
                      reads collector.addr, ca.pem and operator.credential from it
  --collector H:P     collector address (overrides collector.addr)
  --ca FILE           CA certificate to trust (overrides DIR/ca.pem)
  --credential FILE   operator credential (overrides DIR/operator.credential)

every command: --json (one JSON document, stable shape: the gRPC response
message in proto3 JSON), --help

exit codes: 0 ok, 1 refused or failed, 2 usage, 3 collector unreachable
)";

struct Connection {
  std::unique_ptr<v1::Operator::Stub> stub;
  std::string credential;
};

absl::StatusOr<Connection> Connect(const Args& args) {
  const char* env = std::getenv("EVIDENTIA_DATA_DIR");
  const DataDirPaths paths(
      args.Get("data-dir", env != nullptr ? env : "/var/lib/evidentia"));
  std::string address = args.Get("collector");
  if (address.empty()) {
    ASSIGN_OR_RETURN(address, ReadFile(paths.address(), 1024));
    absl::StripAsciiWhitespace(&address);
  }
  ASSIGN_OR_RETURN(std::string ca_pem,
                   ReadFile(args.Get("ca", paths.ca_cert().string()), 1 << 20));
  Connection connection;
  ASSIGN_OR_RETURN(
      connection.credential,
      ReadFile(args.Get("credential", paths.operator_credential().string()),
               1024));
  absl::StripAsciiWhitespace(&connection.credential);
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = ca_pem;
  grpc::ChannelArguments channel_args;
  channel_args.SetMaxReceiveMessageSize(64 << 20);
  connection.stub = v1::Operator::NewStub(grpc::CreateCustomChannel(
      address, grpc::SslCredentials(tls), channel_args));
  return connection;
}

void Prepare(grpc::ClientContext& context, const Connection& connection) {
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(30));
  context.AddMetadata("authorization",
                      absl::StrCat("Bearer ", connection.credential));
}

std::string When(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%SZ", FromProto(t),
                          absl::UTCTimeZone());
}

// Left-aligned columns separated by two spaces.
std::string Table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      absl::StrAppend(&line, row[i]);
      if (i + 1 < row.size()) line.append(widths[i] - row[i].size() + 2, ' ');
    }
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

int Report(const grpc::Status& status, std::ostream& err) {
  err << "evidentia: " << status.error_message() << " ("
      << absl::StatusCodeToString(
             static_cast<absl::StatusCode>(status.error_code()))
      << ")\n";
  return status.error_code() == grpc::StatusCode::UNAVAILABLE ? kCliUnreachable
                                                              : kCliFailed;
}

int TokenCreate(const Args& args, const Connection& connection,
                std::ostream& out, std::ostream& err) {
  v1::CreateTokenRequest request;
  if (args.Has("ttl")) {
    absl::Duration ttl;
    if (!absl::ParseDuration(args.Get("ttl"), &ttl) ||
        ttl <= absl::ZeroDuration()) {
      err << "--ttl needs a duration like 30m or 24h\n";
      return kCliUsage;
    }
    request.set_ttl_seconds(absl::ToInt64Seconds(ttl));
  }
  if (args.Has("uses")) {
    int uses = std::atoi(args.Get("uses").c_str());
    if (uses < 1 || uses > 100000) {
      err << "--uses needs a number from 1 to 100000\n";
      return kCliUsage;
    }
    request.set_uses(static_cast<uint32_t>(uses));
  }
  grpc::ClientContext context;
  Prepare(context, connection);
  v1::CreateTokenResponse response;
  grpc::Status status =
      connection.stub->CreateToken(&context, request, &response);
  if (!status.ok()) return Report(status, err);
  if (args.Has("json")) {
    out << ToJson(response);
  } else {
    out << response.token() << "\n";
    err << "token valid until " << When(response.expires_at()) << " for "
        << response.uses() << " enrolment(s); only its hash is stored\n";
  }
  return kCliOk;
}

int Agents(const Args& args, const Connection& connection, std::ostream& out,
           std::ostream& err) {
  grpc::ClientContext context;
  Prepare(context, connection);
  v1::ListAgentsResponse response;
  grpc::Status status =
      connection.stub->ListAgents(&context, v1::ListAgentsRequest(), &response);
  if (!status.ok()) return Report(status, err);
  if (args.Has("json")) {
    out << ToJson(response);
    return kCliOk;
  }
  std::vector<std::vector<std::string>> rows = {
      {"AGENT", "HOSTNAME", "OS", "FIRST SEEN", "LAST SEEN", "LAST SEQ"}};
  for (const v1::AgentRecord& a : response.agents()) {
    rows.push_back({a.agent_id(), a.host().hostname(),
                    a.host().os_pretty_name().empty()
                        ? a.host().os_id()
                        : a.host().os_pretty_name(),
                    When(a.first_seen()), When(a.last_seen()),
                    absl::StrCat(a.last_seq())});
  }
  out << Table(rows);
  return kCliOk;
}

int Evidence(const Args& args, const Connection& connection, std::ostream& out,
             std::ostream& err) {
  if (absl::Status s = args.Require({"agent"}); !s.ok()) {
    err << s.message() << "\n";
    return kCliUsage;
  }
  v1::GetEvidenceRequest request;
  request.set_agent_id(args.Get("agent"));
  request.set_check_id(args.Get("check"));
  grpc::ClientContext context;
  Prepare(context, connection);
  v1::GetEvidenceResponse response;
  grpc::Status status =
      connection.stub->GetEvidence(&context, request, &response);
  if (!status.ok()) return Report(status, err);
  if (args.Has("json")) {
    out << ToJson(response);
    return kCliOk;
  }
  const v1::AgentRecord& agent = response.agent();
  out << "agent " << agent.agent_id() << "  host " << agent.host().hostname()
      << "  " << agent.host().os_pretty_name() << "  last seq "
      << agent.last_seq() << "  last seen " << When(agent.last_seen()) << "\n";
  for (const v1::EvidenceItem& item : response.items()) {
    out << "\n== " << item.check_id() << "  (snapshot " << item.seq()
        << ", collected " << When(item.collected_at()) << ", facts sha256 "
        << ToHex(item.facts_sha256()).substr(0, 16) << "…)\n";
    if (!item.error().empty()) {
      out << "probe error: " << item.error() << "\n";
      continue;
    }
    out << SummarizeFacts(item.facts());
  }
  if (response.items().empty()) {
    out << "(no snapshot received yet)\n";
  } else {
    out << "\n(every fact, as stored: add --json)\n";
  }
  return kCliOk;
}

int Events(const Args& args, const Connection& connection, std::ostream& out,
           std::ostream& err) {
  grpc::ClientContext context;
  Prepare(context, connection);
  v1::ListEventsResponse response;
  grpc::Status status =
      connection.stub->ListEvents(&context, v1::ListEventsRequest(), &response);
  if (!status.ok()) return Report(status, err);
  if (args.Has("json")) {
    out << ToJson(response);
    return kCliOk;
  }
  std::vector<std::vector<std::string>> rows = {
      {"TIME", "KIND", "AGENT", "SEQ", "PEER", "DETAIL"}};
  for (const v1::SecurityEvent& e : response.events()) {
    rows.push_back({When(e.at()), e.kind(), e.agent_id(), absl::StrCat(e.seq()),
                    e.peer(), e.detail()});
  }
  out << Table(rows);
  return kCliOk;
}

}  // namespace

int RunOperatorCli(int argc, const char* const* argv, std::ostream& out,
                   std::ostream& err) {
  if (argc < 2 || std::string(argv[1]) == "--help" ||
      std::string(argv[1]) == "help") {
    (argc < 2 ? err : out) << kUsage;
    return argc < 2 ? kCliUsage : kCliOk;
  }
  std::vector<std::string> words;
  int first_flag = 1;
  while (first_flag < argc &&
         std::string(argv[first_flag]).rfind("--", 0) != 0) {
    words.emplace_back(argv[first_flag++]);
  }
  absl::StatusOr<Args> args =
      Args::Parse(argc, argv, first_flag,
                  {"data-dir", "collector", "ca", "credential", "ttl", "uses",
                   "agent", "check"},
                  {"json", "help"});
  if (!args.ok()) {
    err << "evidentia: " << args.status().message() << "\n";
    return kCliUsage;
  }
  if (args->Has("help")) {
    out << kUsage;
    return kCliOk;
  }
  const std::string command = absl::StrJoin(words, " ");
  using Handler =
      int (*)(const Args&, const Connection&, std::ostream&, std::ostream&);
  Handler handler = nullptr;
  if (command == "token create") handler = TokenCreate;
  if (command == "agents") handler = Agents;
  if (command == "evidence") handler = Evidence;
  if (command == "events") handler = Events;
  if (handler == nullptr) {
    err << "evidentia: unknown command '" << command << "'\n\n" << kUsage;
    return kCliUsage;
  }
  absl::StatusOr<Connection> connection = Connect(*args);
  if (!connection.ok()) {
    err << "evidentia: " << connection.status().message() << "\n";
    return kCliUnreachable;
  }
  return handler(*args, *connection, out, err);
}

}  // namespace evidentia::collector
