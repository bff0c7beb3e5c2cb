#include "collector/operator_cli.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "collector/bundle_archive.h"
#include "collector/bundle_sink.h"
#include "collector/bundle_verify.h"
#include "collector/facts_summary.h"
#include "collector/grading.h"
#include "common/checkpoint.h"
#include "common/cli_flags.h"
#include "common/data_dir_paths.h"
#include "common/ed25519.h"
#include "common/envelope.h"
#include "common/files.h"
#include "common/json.h"
#include "common/limits.h"
#include "common/merkle.h"
#include "common/pae.h"
#include "common/proto_time.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "evidentia/v1/collector.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace evidentia::collector {
namespace {

constexpr char kOverviewHead[] =
    R"(evidentia: the operator's view of an Evidentia collector

usage: evidentia COMMAND [flags]     (evidentia COMMAND --help: its flags)

commands:
)";

constexpr char kTimeNote[] =
    R"(
TIME and DATE: 2026-11-22, 2026-11-22T10:00:00Z or "2026-11-22 10:00" (UTC).
)";

constexpr char kGradesNote[] =
    R"(Grades: compliant, opportunity for improvement, minor nonconformity, major
nonconformity, not applicable (the rules: policies/README.md).
)";

constexpr char kVerifyExitCodes[] =
    "exit codes: 0 verified; 1 verification failed (or the bundle cannot be "
    "read); 2 usage\n";

constexpr char kExitCodes[] =
    R"(exit codes: 0 ok; 1 refused or failed, by the collector or here (a CA,
certificate, key or collector.addr that cannot be read, a key other users
can read, a --file that cannot be read); 2 usage; 3 collector unreachable
)";

// One flag a command takes: `--name VALUE` when `value` names its argument
// in help ("DIR", "TIME"), boolean `--name` when `value` is empty.
struct FlagSpec {
  std::string name;
  std::string value;
  std::string help;
  bool required = false;
};

// The flags given on one command line, by name without "--"; a boolean
// flag given holds "true". Filled by CLI11 while parsing.
class FlagValues {
 public:
  bool Has(const std::string& name) const { return values_.count(name) != 0; }
  // The value given, or `fallback`.
  std::string Get(const std::string& name,
                  const std::string& fallback = "") const {
    auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second;
  }
  void Set(const std::string& name, std::string value) {
    values_[name] = std::move(value);
  }

 private:
  std::map<std::string, std::string> values_;
};

// The flags of every command that talks to the collector.
const std::vector<FlagSpec>& ConnectionFlags() {
  static const auto* const kFlags = new std::vector<FlagSpec>{
      {"data-dir", "DIR",
       "collector data dir ($EVIDENTIA_DATA_DIR, else /var/lib/evidentia)"},
      {"collector", "HOST:PORT", "collector address (else DIR/collector.addr)"},
      {"ca", "FILE", "CA certificate to trust (else DIR/ca.pem)"},
      {"cert", "FILE", "client certificate (else DIR/operator-client.pem)"},
      {"key", "FILE", "its key, 0600 (else DIR/operator-client.key)"},
  };
  return *kFlags;
}

// --json and --help, which every command takes.
const std::vector<FlagSpec>& OutputFlags() {
  static const auto* const kFlags = new std::vector<FlagSpec>{
      {"json", "", "one JSON document: the gRPC response in proto3 JSON"},
      {"help", "", "this help"},
  };
  return *kFlags;
}

struct Connection {
  std::unique_ptr<v1::Operator::Stub> stub;
};

// One command line, parsed and connected.
struct Invocation {
  const FlagValues& args;
  const Connection& connection;
  std::vector<std::string> operands;
  std::optional<absl::Duration> ttl;  // token create --ttl
  std::optional<int64_t> uses;        // token create --uses
};

// --data-dir, else $EVIDENTIA_DATA_DIR, else /var/lib/evidentia.
DataDirPaths DataDirFrom(const FlagValues& args) {
  const char* env = std::getenv("EVIDENTIA_DATA_DIR");
  return DataDirPaths(
      args.Get("data-dir", env != nullptr ? env : "/var/lib/evidentia"));
}

// Reads the address, the CA and the operator's certificate and key; local
// only, as the channel connects at the first call. NOT_FOUND,
// PERMISSION_DENIED or OUT_OF_RANGE naming the file that cannot be read;
// FAILED_PRECONDITION when other users can read the key.
absl::StatusOr<Connection> Connect(const FlagValues& args) {
  const DataDirPaths paths = DataDirFrom(args);
  std::string address = args.Get("collector");
  if (address.empty()) {
    ASSIGN_OR_RETURN(address, ReadFile(paths.address(), 1024));
    absl::StripAsciiWhitespace(&address);
  }
  grpc::SslCredentialsOptions tls;
  ASSIGN_OR_RETURN(tls.pem_root_certs,
                   ReadFile(args.Get("ca", paths.ca_cert().string()), 1 << 20));
  const std::string key_file =
      args.Get("key", paths.operator_client_key().string());
  RETURN_IF_ERROR(CheckOwnerOnly(key_file));
  ASSIGN_OR_RETURN(tls.pem_private_key, ReadFile(key_file, 64 << 10));
  ASSIGN_OR_RETURN(
      tls.pem_cert_chain,
      ReadFile(args.Get("cert", paths.operator_client_cert().string()),
               64 << 10));
  grpc::ChannelArguments channel_args;
  channel_args.SetMaxReceiveMessageSize(64 << 20);
  Connection connection;
  connection.stub = v1::Operator::NewStub(grpc::CreateCustomChannel(
      address, grpc::SslCredentials(tls), channel_args));
  return connection;
}

// Identity travels in the TLS client certificate; a call only needs its
// deadline.
void Prepare(grpc::ClientContext& context, const Connection&) {
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(30));
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

// A failed exchange with the collector: 3 when it could not be reached
// (UNAVAILABLE), 1 when it refused or failed, or its answer did not verify.
int Report(const absl::Status& status, std::ostream& err) {
  err << "evidentia: " << status.message() << " ("
      << absl::StatusCodeToString(status.code()) << ")\n";
  return status.code() == absl::StatusCode::kUnavailable ? kCliUnreachable
                                                         : kCliFailed;
}
int Report(const grpc::Status& status, std::ostream& err) {
  return Report(absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                             status.error_message()),
                err);
}

// Something wrong here, not at the collector (a file that cannot be read, a
// key other users can read): 1, whatever the code.
int LocalError(const absl::Status& status, std::ostream& err) {
  err << "evidentia: " << status.message() << "\n";
  return kCliFailed;
}

// Writes `message` as one JSON document; 1 when it has no JSON form.
int PrintJson(const google::protobuf::Message& message, std::ostream& out,
              std::ostream& err) {
  absl::StatusOr<std::string> json = ToJson(message);
  if (!json.ok()) return LocalError(json.status(), err);
  out << *json;
  return kCliOk;
}

int TokenCreate(const Invocation& call, std::ostream& out, std::ostream& err) {
  const FlagValues& args = call.args;
  const Connection& connection = call.connection;
  v1::CreateTokenRequest request;
  if (call.ttl.has_value()) {
    request.set_ttl_seconds(absl::ToInt64Seconds(*call.ttl));
  }
  if (call.uses.has_value()) {
    request.set_uses(static_cast<uint32_t>(*call.uses));
  }
  grpc::ClientContext context;
  Prepare(context, connection);
  v1::CreateTokenResponse response;
  grpc::Status status =
      connection.stub->CreateToken(&context, request, &response);
  if (!status.ok()) return Report(status, err);
  if (args.Has("json")) return PrintJson(response, out, err);
  out << response.token() << "\n";
  err << "token valid until " << When(response.expires_at()) << " for "
      << response.uses() << " enrolment(s); only its hash is stored\n";
  return kCliOk;
}

int Agents(const Invocation& call, std::ostream& out, std::ostream& err) {
  const FlagValues& args = call.args;
  const Connection& connection = call.connection;
  grpc::ClientContext context;
  Prepare(context, connection);
  v1::ListAgentsResponse response;
  grpc::Status status =
      connection.stub->ListAgents(&context, v1::ListAgentsRequest(), &response);
  if (!status.ok()) return Report(status, err);
  if (args.Has("json")) return PrintJson(response, out, err);
  std::vector<std::vector<std::string>> rows = {{"AGENT", "HOSTNAME", "OS",
                                                 "FIRST SEEN", "LAST SEEN",
                                                 "LAST SEQ", "REVOKED"}};
  for (const v1::AgentRecord& a : response.agents()) {
    rows.push_back({a.agent_id(), a.host().hostname(),
                    a.host().os_pretty_name().empty()
                        ? a.host().os_id()
                        : a.host().os_pretty_name(),
                    When(a.first_seen()), When(a.last_seen()),
                    absl::StrCat(a.last_seq()), When(a.revoked_at())});
  }
  out << Table(rows);
  return kCliOk;
}

int AgentsRevoke(const Invocation& call, std::ostream& out, std::ostream& err) {
  v1::RevokeAgentRequest request;
  request.set_agent_id(call.operands.at(0));
  grpc::ClientContext context;
  Prepare(context, call.connection);
  v1::RevokeAgentResponse response;
  grpc::Status status =
      call.connection.stub->RevokeAgent(&context, request, &response);
  if (!status.ok()) return Report(status, err);
  if (call.args.Has("json")) return PrintJson(response, out, err);
  out << "agent " << response.agent().agent_id() << " ("
      << response.agent().host().hostname() << ") revoked at "
      << When(response.agent().revoked_at()) << "; its snapshots up to seq "
      << response.agent().last_seq() << " stay as evidence, marked revoked\n";
  return kCliOk;
}

// A line that says evidence comes from a device no longer trusted.
std::string RevokedNote(const v1::AgentRecord& agent) {
  if (!agent.has_revoked_at()) return "";
  return absl::StrCat("REVOKED at ", When(agent.revoked_at()),
                      ": evidence below is from a device no longer trusted\n");
}

int Evidence(const Invocation& call, std::ostream& out, std::ostream& err) {
  const FlagValues& args = call.args;
  const Connection& connection = call.connection;
  v1::GetEvidenceRequest request;
  request.set_agent_id(args.Get("agent"));
  request.set_check_id(args.Get("check"));
  grpc::ClientContext context;
  Prepare(context, connection);
  v1::GetEvidenceResponse response;
  grpc::Status status =
      connection.stub->GetEvidence(&context, request, &response);
  if (!status.ok()) return Report(status, err);
  if (args.Has("json")) return PrintJson(response, out, err);
  const v1::AgentRecord& agent = response.agent();
  out << "agent " << agent.agent_id() << "  host " << agent.host().hostname()
      << "  " << agent.host().os_pretty_name() << "  last seq "
      << agent.last_seq() << "  last seen " << When(agent.last_seen()) << "\n"
      << RevokedNote(agent);
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

int Events(const Invocation& call, std::ostream& out, std::ostream& err) {
  const FlagValues& args = call.args;
  const Connection& connection = call.connection;
  grpc::ClientContext context;
  Prepare(context, connection);
  v1::ListEventsResponse response;
  grpc::Status status =
      connection.stub->ListEvents(&context, v1::ListEventsRequest(), &response);
  if (!status.ok()) return Report(status, err);
  if (args.Has("json")) return PrintJson(response, out, err);
  std::vector<std::vector<std::string>> rows = {
      {"TIME", "KIND", "AGENT", "SEQ", "PEER", "DETAIL"}};
  for (const v1::SecurityEvent& e : response.events()) {
    rows.push_back({When(e.at()), e.kind(), e.agent_id(), absl::StrCat(e.seq()),
                    e.peer(), e.detail()});
  }
  out << Table(rows);
  return kCliOk;
}

// A moment on the command line, in UTC: a date, or a date and time.
absl::StatusOr<absl::Time> ParseMoment(const std::string& text) {
  for (const char* format :
       {"%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S%Ez", "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M", "%Y-%m-%d"}) {
    absl::Time t;
    if (absl::ParseTime(format, text, absl::UTCTimeZone(), &t, nullptr)) {
      return t;
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("\"", text,
                   "\" is not a date (2026-11-22) or date-time "
                   "(2026-11-22T10:00:00Z)"));
}

// --scope and --as-of as a GradeRequest.
absl::StatusOr<v1::GradeRequest> GradeRequestFrom(const FlagValues& args) {
  v1::GradeRequest request;
  request.set_scope(args.Get("scope"));
  if (args.Has("as-of")) {
    ASSIGN_OR_RETURN(absl::Time at, ParseMoment(args.Get("as-of")));
    *request.mutable_as_of() = ToProto(at);
  }
  return request;
}

int Usage(const absl::Status& status, std::ostream& err) {
  err << "evidentia: " << status.message() << "\n";
  return kCliUsage;
}

// Failures stand out in a terminal.
std::string StateName(v1::CheckState state) {
  return state == v1::CHECK_STATE_FAIL ? "FAIL" : CheckStateName(state);
}

std::string Shorten(const std::string& text, size_t width) {
  return text.size() <= width ? text
                              : absl::StrCat(text.substr(0, width - 1), "~");
}

std::string Count(uint32_t n, bool applicable) {
  return applicable ? absl::StrCat(n) : "-";
}

int Controls(const Invocation& call, std::ostream& out, std::ostream& err) {
  absl::StatusOr<v1::GradeRequest> request = GradeRequestFrom(call.args);
  if (!request.ok()) return Usage(request.status(), err);
  grpc::ClientContext context;
  Prepare(context, call.connection);
  v1::GradeControlsResponse response;
  grpc::Status status =
      call.connection.stub->GradeControls(&context, *request, &response);
  if (!status.ok()) return Report(status, err);
  if (call.args.Has("json")) return PrintJson(response, out, err);
  out << "graded at " << When(response.at()) << ", scope "
      << (response.scope().empty() ? "all hosts" : response.scope())
      << ", policy " << response.policy_sha256().substr(0, 16) << "\n\n";
  std::vector<std::vector<std::string>> rows = {
      {"CONTROL", "TITLE", "APPLICABLE", "GRADE", "PASS", "FAIL", "STALE",
       "OLDEST EVIDENCE", "WHY"}};
  std::map<v1::Grade, int> totals;
  for (const v1::ControlGrade& c : response.controls()) {
    ++totals[c.grade()];
    const bool automated = c.checks_size() > 0;
    rows.push_back(
        {c.control_id(), Shorten(c.title(), 44), c.applicable() ? "yes" : "no",
         GradeName(c.grade()), Count(c.hosts_passing(), automated),
         Count(c.hosts_failing(), automated), Count(c.hosts_stale(), automated),
         When(c.oldest_evidence()),
         Shorten(absl::StrJoin(c.reasons(), "; "), 60)});
  }
  out << Table(rows) << "\n";
  for (const auto& [grade, n] : totals) {
    out << n << " " << GradeName(grade) << "\n";
  }
  return kCliOk;
}

int ControlDetail(const Invocation& call, std::ostream& out,
                  std::ostream& err) {
  v1::GetControlRequest request;
  request.set_control_id(call.operands.at(0));
  absl::StatusOr<v1::GradeRequest> at = GradeRequestFrom(call.args);
  if (!at.ok()) return Usage(at.status(), err);
  *request.mutable_at() = *at;
  grpc::ClientContext context;
  Prepare(context, call.connection);
  v1::ControlGrade c;
  grpc::Status status = call.connection.stub->GetControl(&context, request, &c);
  if (!status.ok()) return Report(status, err);
  if (call.args.Has("json")) return PrintJson(c, out, err);
  out << c.control_id() << "  " << c.title() << "\n"
      << "grade: " << GradeName(c.grade()) << "\n";
  if (!c.applicable()) {
    out << "not applicable: " << c.justification() << "\n";
    return kCliOk;
  }
  out << "owner: " << c.owner() << "\n";
  for (const std::string& reason : c.reasons()) out << "  - " << reason << "\n";
  if (c.checks_size() > 0) {
    out << "checks: " << absl::StrJoin(c.checks(), ", ") << "\n"
        << "hosts: " << c.hosts_in_scope() << " in scope, " << c.hosts_passing()
        << " passing, " << c.hosts_failing() << " failing, " << c.hosts_stale()
        << " stale\n";
  }
  if (c.manual().present()) {
    out << "manual evidence: " << c.manual().file_name() << " (sha256 "
        << c.manual().sha256().substr(0, 16) << "...) valid until "
        << When(c.manual().valid_until()) << "\n";
  }
  if (c.findings_size() > 0) {
    std::vector<std::vector<std::string>> rows = {
        {"HOST", "CHECK", "STATE", "SINCE", "REASONS"}};
    for (const v1::HostCheck& f : c.findings()) {
      rows.push_back(
          {absl::StrCat(f.hostname().empty() ? f.agent_id() : f.hostname(),
                        f.agent_revoked() ? " (REVOKED)" : ""),
           f.check_id(), StateName(f.state()), When(f.since()),
           absl::StrJoin(f.reasons(), "; ")});
    }
    out << "\n" << Table(rows);
  }
  return kCliOk;
}

int Host(const Invocation& call, std::ostream& out, std::ostream& err) {
  v1::GetHostRequest request;
  request.set_host(call.operands.at(0));
  absl::StatusOr<v1::GradeRequest> at = GradeRequestFrom(call.args);
  if (!at.ok()) return Usage(at.status(), err);
  *request.mutable_at() = *at;
  grpc::ClientContext context;
  Prepare(context, call.connection);
  v1::GetHostResponse response;
  grpc::Status status =
      call.connection.stub->GetHost(&context, request, &response);
  if (!status.ok()) return Report(status, err);
  if (call.args.Has("json")) return PrintJson(response, out, err);
  const v1::AgentRecord& a = response.agent();
  out << a.host().hostname() << "  agent " << a.agent_id() << "  "
      << a.host().os_pretty_name() << "\n"
      << "last seen " << When(a.last_seen())
      << (response.silent() ? "  (SILENT: longer than the policy allows)" : "")
      << "\n"
      << RevokedNote(a) << "\n";
  const absl::Time at_time = FromProto(response.at());
  std::vector<std::vector<std::string>> rows = {
      {"CHECK", "STATE", "EVIDENCE AGE", "SINCE", "REASONS"}};
  for (const v1::HostCheck& check : response.checks()) {
    std::string age = "-";
    if (check.has_evidence_at()) {
      const absl::Duration d = at_time - FromProto(check.evidence_at());
      age = d < absl::Minutes(1)
                ? "under 1m"
                : absl::FormatDuration(absl::Trunc(d, absl::Minutes(1)));
    }
    rows.push_back({check.check_id(), StateName(check.state()), age,
                    When(check.since()), absl::StrJoin(check.reasons(), "; ")});
  }
  out << Table(rows);
  return kCliOk;
}

int History(const Invocation& call, std::ostream& out, std::ostream& err) {
  v1::GetHistoryRequest request;
  request.set_control_id(call.args.Get("control"));
  request.set_scope(call.args.Get("scope"));
  for (const char* flag : {"from", "to"}) {
    if (!call.args.Has(flag)) continue;
    absl::StatusOr<absl::Time> t = ParseMoment(call.args.Get(flag));
    if (!t.ok()) return Usage(t.status(), err);
    *(std::string(flag) == "from" ? request.mutable_from()
                                  : request.mutable_to()) = ToProto(*t);
  }
  grpc::ClientContext context;
  Prepare(context, call.connection);
  v1::GetHistoryResponse response;
  grpc::Status status =
      call.connection.stub->GetHistory(&context, request, &response);
  if (!status.ok()) return Report(status, err);
  if (call.args.Has("json")) return PrintJson(response, out, err);
  std::vector<std::vector<std::string>> rows = {{"FROM", "GRADE", "REASONS"}};
  for (const v1::GradeChange& change : response.changes()) {
    rows.push_back({When(change.at()), GradeName(change.grade()),
                    absl::StrJoin(change.reasons(), "; ")});
  }
  out << response.control_id() << ": compliant "
      << absl::StrFormat("%.1f%%", response.compliant_share() * 100)
      << " of the period (changes found to within "
      << absl::FormatDuration(absl::Seconds(response.resolution_seconds()))
      << ")\n\n"
      << Table(rows);
  return kCliOk;
}

int EvidenceAdd(const Invocation& call, std::ostream& out, std::ostream& err) {
  const FlagValues& args = call.args;
  absl::StatusOr<absl::Time> valid_until = ParseMoment(args.Get("valid-until"));
  if (!valid_until.ok()) return Usage(valid_until.status(), err);
  absl::StatusOr<std::string> document =
      ReadFile(args.Get("file"), kMaxDocumentBytes);
  if (!document.ok()) {
    err << "evidentia: " << document.status().message() << "\n";
    return kCliFailed;
  }
  const DataDirPaths paths = DataDirFrom(args);
  absl::StatusOr<PrivateKey> key = PrivateKey::LoadPemFile(
      args.Get("operator-key", paths.operator_key().string()));
  if (!key.ok()) {
    err << "evidentia: operator key: " << key.status().message() << "\n";
    return kCliFailed;
  }
  v1::ManualEvidenceStatement statement;
  statement.set_control_id(args.Get("control"));
  statement.set_document_sha256(Sha256(*document));
  statement.set_file_name(
      std::filesystem::path(args.Get("file")).filename().string());
  statement.set_size(document->size());
  *statement.mutable_valid_until() = ToProto(*valid_until);
  statement.set_note(args.Get("note"));
  *statement.mutable_signed_at() = ToProto(absl::Now());
  v1::AddManualEvidenceRequest request;
  request.set_statement(statement.SerializeAsString());
  absl::StatusOr<std::string> signature =
      key->Sign(Pae(kManualEvidencePayloadType, request.statement()));
  if (!signature.ok()) {
    err << "evidentia: " << signature.status().message() << "\n";
    return kCliFailed;
  }
  request.set_signature(*signature);
  request.set_document(*std::move(document));
  grpc::ClientContext context;
  Prepare(context, call.connection);
  v1::AddManualEvidenceResponse response;
  grpc::Status status =
      call.connection.stub->AddManualEvidence(&context, request, &response);
  if (!status.ok()) return Report(status, err);
  if (args.Has("json")) return PrintJson(response, out, err);
  out << "recorded " << statement.file_name() << " (sha256 "
      << response.document_sha256() << ") for " << statement.control_id()
      << ", valid until " << When(statement.valid_until()) << "\n";
  return kCliOk;
}

// The collector's key from its data dir, to check checkpoints with.
absl::StatusOr<PublicKey> CollectorKey(const FlagValues& args) {
  return PublicKey::LoadPemFile(DataDirFrom(args).signing_pub());
}

// Receives the Export stream into `sink`: files whole (reassembling pieces),
// the summary from the last message.
absl::StatusOr<v1::ExportSummary> ReceiveBundle(
    grpc::ClientContext& context, grpc::ClientReader<v1::ExportChunk>& reader,
    BundleSink& sink, uint64_t& files) {
  v1::ExportChunk chunk;
  v1::ExportSummary summary;
  std::string pending_path, pending;  // a file arriving in pieces
  absl::Status written;
  while (written.ok() && reader.Read(&chunk)) {
    for (v1::BundleFile& file : *chunk.mutable_files()) {
      if (!pending_path.empty() && file.path() != pending_path) {
        written = absl::DataLossError(
            absl::StrCat(pending_path, " was cut short in the stream"));
        break;
      }
      if (file.more() || !pending_path.empty()) {
        pending_path = file.path();
        pending += file.data();
        if (pending.size() > (1u << 30)) {
          written = absl::ResourceExhaustedError(
              absl::StrCat(pending_path, " is larger than 1 GiB"));
          break;
        }
        if (file.more()) continue;
        written = sink.Add(pending_path, pending);
        pending_path.clear();
        pending.clear();
      } else {
        written = sink.Add(file.path(), file.data());
      }
      if (!written.ok()) break;
      ++files;
    }
    if (chunk.has_summary()) summary = chunk.summary();
  }
  if (!written.ok()) {
    context.TryCancel();
    reader.Finish().IgnoreError();
    return written;
  }
  grpc::Status status = reader.Finish();
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        status.error_message());
  }
  if (summary.files() == 0 || summary.files() != files) {
    return absl::DataLossError(absl::StrCat(
        "received ", files, " files, the collector sent ", summary.files()));
  }
  return summary;
}

int Export(const Invocation& call, std::ostream& out, std::ostream& err) {
  const FlagValues& args = call.args;
  absl::StatusOr<absl::Time> from = ParseMoment(args.Get("from"));
  if (!from.ok()) return Usage(from.status(), err);
  absl::StatusOr<absl::Time> to = ParseMoment(args.Get("to"));
  if (!to.ok()) return Usage(to.status(), err);
  if (args.Get("to").size() == 10) {
    *to += absl::Hours(24) - absl::Microseconds(1);  // the end of that day
  }
  // --out X.tar.gz streams into the archive alone; --out DIR writes the
  // directory (under a temporary name until complete), and --tar adds
  // DIR.tar.gz made from it.
  const std::string target = args.Get("out");
  const bool archive_only = absl::EndsWith(target, ".tar.gz");
  const std::filesystem::path dir = target;
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) {
    err << "evidentia: " << target
        << " already exists; a bundle goes into a new one\n";
    return kCliFailed;
  }
  const std::filesystem::path partial =
      absl::StrCat(target, ".partial-", ::getpid());
  std::unique_ptr<DirectorySink> dir_sink;
  std::unique_ptr<TarGzSink> tar_sink;
  absl::Status created;
  if (archive_only) {
    const std::string top =
        std::filesystem::path(target.substr(0, target.size() - 7))
            .filename()
            .string();
    absl::StatusOr<std::unique_ptr<TarGzSink>> sink =
        TarGzSink::Create(dir, top.empty() ? "bundle" : top);
    created = sink.status();
    if (sink.ok()) tar_sink = *std::move(sink);
  } else {
    absl::StatusOr<std::unique_ptr<DirectorySink>> sink =
        DirectorySink::Create(partial);
    created = sink.status();
    if (sink.ok()) dir_sink = *std::move(sink);
  }
  if (!created.ok()) {
    err << "evidentia: " << created.message() << "\n";
    return kCliFailed;
  }
  // `receiving`: while the stream from the collector lasts, when UNAVAILABLE
  // means it went away; finishing the files here is local (1).
  auto fail = [&](const absl::Status& status, bool receiving) {
    if (dir_sink != nullptr) std::filesystem::remove_all(partial, ec);
    err << "evidentia: export failed: " << status.message() << "\n";
    return receiving && status.code() == absl::StatusCode::kUnavailable
               ? kCliUnreachable
               : kCliFailed;
  };

  v1::ExportRequest request;
  *request.mutable_from() = ToProto(*from);
  *request.mutable_to() = ToProto(*to);
  request.set_scope(args.Get("scope"));
  grpc::ClientContext context;
  Prepare(context, call.connection);
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::hours(6));
  const absl::Time started = absl::Now();
  std::unique_ptr<grpc::ClientReader<v1::ExportChunk>> reader =
      call.connection.stub->Export(&context, request);
  uint64_t files = 0;
  BundleSink& sink = archive_only ? static_cast<BundleSink&>(*tar_sink)
                                  : static_cast<BundleSink&>(*dir_sink);
  absl::StatusOr<v1::ExportSummary> summary =
      ReceiveBundle(context, *reader, sink, files);
  if (!summary.ok()) return fail(summary.status(), true);
  if (archive_only) {
    if (absl::Status done = tar_sink->Finish(); !done.ok()) {
      return fail(done, false);
    }
  } else {
    if (absl::Status synced = dir_sink->Finish(); !synced.ok()) {
      return fail(synced, false);
    }
    std::filesystem::rename(partial, dir, ec);
    if (ec) {
      return fail(absl::ErrnoToStatus(
                      ec.value(), absl::StrCat("cannot rename to ", target)),
                  false);
    }
    if (args.Has("tar")) {
      if (absl::Status tar = WriteTarGz(dir, target + ".tar.gz"); !tar.ok()) {
        err << "evidentia: " << target
            << " written, but not the .tar.gz: " << tar.message() << "\n";
        return kCliFailed;
      }
    }
  }
  const double seconds =
      std::max(absl::ToDoubleSeconds(absl::Now() - started), 1e-6);
  if (args.Has("json")) return PrintJson(*summary, out, err);
  const std::string written =
      archive_only
          ? target
          : (args.Has("tar") ? absl::StrCat(target, " and ", target, ".tar.gz")
                             : target);
  out << "wrote " << written << ": " << summary->agents() << " hosts, "
      << summary->snapshots() << " snapshots, " << summary->objects()
      << " objects, " << summary->files() << " files, "
      << absl::StrFormat("%.1f MB in %.2f s (%.0f MB/s)",
                         summary->bytes() / 1e6, seconds,
                         summary->bytes() / 1e6 / seconds)
      << "\nperiod " << When(summary->from()) << " to " << When(summary->to())
      << " (graded as of the end), transparency log size "
      << summary->log_size() << "\ncollector key fingerprint (SHA-256): "
      << summary->collector_key_id() << "\nthe auditor verifies with: "
      << (archive_only ? "tar xzf " + target + " and sh NAME/VERIFY.sh"
                       : "sh " + target + "/VERIFY.sh")
      << "  (or: evidentia verify " << target << ")\n";
  return kCliOk;
}

// The newest checkpoint, its signature checked with `key`. The collector's
// errors as it sent them (UNAVAILABLE: not reached); UNAUTHENTICATED or
// INVALID_ARGUMENT when what it sent does not verify or parse.
absl::StatusOr<Checkpoint> FetchCheckpoint(const Invocation& call,
                                           const PublicKey& key, bool sign_now,
                                           v1::GetCheckpointResponse* raw) {
  grpc::ClientContext context;
  Prepare(context, call.connection);
  v1::GetCheckpointRequest request;
  request.set_sign_now(sign_now);
  grpc::Status status =
      call.connection.stub->GetCheckpoint(&context, request, raw);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        status.error_message());
  }
  if (absl::Status ok = key.Verify(raw->checkpoint(), raw->signature());
      !ok.ok()) {
    return absl::UnauthenticatedError(
        "the checkpoint's signature does not verify under the collector key");
  }
  return ParseCheckpoint(raw->checkpoint());
}

int LogCheckpoint(const Invocation& call, std::ostream& out,
                  std::ostream& err) {
  absl::StatusOr<PublicKey> key = CollectorKey(call.args);
  if (!key.ok()) return LocalError(key.status(), err);
  v1::GetCheckpointResponse raw;
  absl::StatusOr<Checkpoint> checkpoint =
      FetchCheckpoint(call, *key, call.args.Has("new"), &raw);
  if (!checkpoint.ok()) return Report(checkpoint.status(), err);
  if (call.args.Has("json")) return PrintJson(raw, out, err);
  out << raw.checkpoint() << "signature " << ToHex(raw.signature())
      << " (verified with the collector key)\n";
  return kCliOk;
}

int LogProve(const Invocation& call, std::ostream& out, std::ostream& err) {
  uint64_t seq = 0;
  if (!absl::SimpleAtoi(call.operands[1], &seq)) {
    return Usage(absl::InvalidArgumentError("SEQ must be a number"), err);
  }
  absl::StatusOr<PublicKey> key = CollectorKey(call.args);
  if (!key.ok()) return LocalError(key.status(), err);
  v1::GetCheckpointResponse raw;
  absl::StatusOr<Checkpoint> checkpoint =
      FetchCheckpoint(call, *key, false, &raw);
  if (!checkpoint.ok()) return Report(checkpoint.status(), err);
  grpc::ClientContext context;
  Prepare(context, call.connection);
  v1::ProveInclusionRequest request;
  request.set_agent_id(call.operands[0]);
  request.set_seq(seq);
  request.set_tree_size(checkpoint->size);
  v1::ProveInclusionResponse response;
  grpc::Status status =
      call.connection.stub->ProveInclusion(&context, request, &response);
  if (!status.ok()) return Report(status, err);
  InclusionProof proof;
  proof.index = response.leaf_index();
  proof.size = response.tree_size();
  proof.hashes.assign(response.hashes().begin(), response.hashes().end());
  if (absl::Status ok =
          merkle::VerifyInclusion(proof.index, proof.size, response.leaf_hash(),
                                  proof.hashes, checkpoint->root);
      !ok.ok()) {
    err << "evidentia: the collector's proof does not verify: " << ok.message()
        << "\n";
    return kCliFailed;
  }
  if (call.args.Has("json")) return PrintJson(response, out, err);
  out << FormatInclusionProof(proof) << "verified against the checkpoint of "
      << checkpoint->size << " entries, root " << ToHex(checkpoint->root)
      << "\n";
  return kCliOk;
}

int LogConsistency(const Invocation& call, std::ostream& out,
                   std::ostream& err) {
  uint64_t first = 0;
  if (!absl::SimpleAtoi(call.operands[0], &first)) {
    return Usage(absl::InvalidArgumentError("SIZE must be a number"), err);
  }
  absl::StatusOr<PublicKey> key = CollectorKey(call.args);
  if (!key.ok()) return LocalError(key.status(), err);
  v1::GetCheckpointResponse raw;
  absl::StatusOr<Checkpoint> checkpoint =
      FetchCheckpoint(call, *key, false, &raw);
  if (!checkpoint.ok()) return Report(checkpoint.status(), err);
  grpc::ClientContext context;
  Prepare(context, call.connection);
  v1::ProveConsistencyRequest request;
  request.set_first_size(first);
  request.set_second_size(checkpoint->size);
  v1::ProveConsistencyResponse response;
  grpc::Status status =
      call.connection.stub->ProveConsistency(&context, request, &response);
  if (!status.ok()) return Report(status, err);
  const std::vector<std::string> hashes(response.hashes().begin(),
                                        response.hashes().end());
  if (absl::Status ok =
          merkle::VerifyConsistency(first, checkpoint->size, hashes,
                                    response.first_root(), checkpoint->root);
      !ok.ok()) {
    err << "evidentia: the collector's proof does not verify: " << ok.message()
        << "\n";
    return kCliFailed;
  }
  if (call.args.Has("json")) return PrintJson(response, out, err);
  out << "the log of " << first << " entries (root "
      << ToHex(response.first_root()) << ") is a prefix of the checkpoint of "
      << checkpoint->size << " entries (root " << ToHex(checkpoint->root)
      << "): verified, " << hashes.size() << " hashes\n";
  for (const std::string& hash : hashes) out << ToHex(hash) << "\n";
  return kCliOk;
}

using Handler = int (*)(const Invocation&, std::ostream&, std::ostream&);

// One command: its words, the operands after them, and the flags it takes
// besides --json, --help and the connection flags, which all take.
struct Command {
  std::vector<std::string> words;
  std::vector<std::string> operands;  // their names, for usage
  std::string synopsis;               // after "evidentia "
  std::string summary;
  std::vector<FlagSpec> flags;
  Handler handler = nullptr;  // null: verify, which needs no collector
};

const std::vector<Command>& Commands() {
  const FlagSpec scope = {"scope", "KEY=VALUE",
                          "only hosts enrolled with this label"};
  const FlagSpec as_of = {"as-of", "TIME", "grade as of then (default: now)"};
  static const auto* const kCommands = new std::vector<Command>{
      {{"token", "create"},
       {},
       "token create [--ttl DURATION] [--uses N]",
       "one-time enrolment token (printed alone on stdout)",
       {{"ttl", "DURATION", "valid for (default 1h, at most 30 days)"},
        {"uses", "N", "enrolments it allows (default 1)"}},
       TokenCreate},
      {{"agents"},
       {},
       "agents",
       "the asset register: enrolled hosts, first/last seen, revoked",
       {},
       Agents},
      {{"agents", "revoke"},
       {"ID"},
       "agents revoke ID",
       "refuse what this agent sends from now on; what it sent stays, "
       "marked revoked",
       {},
       AgentsRevoke},
      {{"evidence"},
       {},
       "evidence --agent ID [--check ID]",
       "what the collector holds for one host",
       {{"agent", "ID", "the agent (required)", true},
        {"check", "ID", "only this check"}},
       Evidence},
      {{"evidence", "add"},
       {},
       "evidence add --control ID --file FILE --valid-until DATE "
       "[--note TEXT] [--operator-key FILE]",
       "record a document as manual evidence, signed by the operator key "
       "(DIR/operator.key)",
       {{"control", "ID", "the control it is evidence for (required)", true},
        {"file", "FILE", "the document (required)", true},
        {"valid-until", "DATE", "when it stops counting (required)", true},
        {"note", "TEXT", "a note kept with it"},
        {"operator-key", "FILE",
         "the key that signs it (default DIR/operator.key)"}},
       EvidenceAdd},
      {{"events"},
       {},
       "events",
       "security events (forged signatures, equivocations)",
       {},
       Events},
      {{"controls"},
       {},
       "controls [--scope KEY=VALUE] [--as-of TIME]",
       "the SoA with a grade per control",
       {scope, as_of},
       Controls},
      {{"control"},
       {"ID"},
       "control ID [--scope ...] [--as-of ...]",
       "one control: failing and stale hosts, reasons, since when",
       {scope, as_of},
       ControlDetail},
      {{"host"},
       {"HOST"},
       "host HOST [--scope ...] [--as-of ...]",
       "every check on one host (agent id or hostname)",
       {scope, as_of},
       Host},
      {{"history"},
       {},
       "history --control ID [--from TIME] [--to TIME] [--scope ...]",
       "grade changes and compliant share (default: last 30 days)",
       {{"control", "ID", "the control (required)", true},
        {"from", "TIME", "start of the period"},
        {"to", "TIME", "end of the period"},
        scope},
       History},
      {{"export"},
       {},
       "export --from DATE --to DATE --out DIR|FILE.tar.gz [--scope ...] "
       "[--tar]",
       "the auditor bundle of a period (docs/bundle.md); --to DATE means "
       "the end of that day",
       {{"from", "DATE", "start of the period (required)", true},
        {"to", "DATE", "end of the period; a date means its end (required)",
         true},
        {"out", "DIR|FILE.tar.gz",
         "a new directory, or one .tar.gz file (required)", true},
        scope,
        {"tar", "", "with --out DIR, also write DIR.tar.gz"}},
       Export},
      {{"verify"},
       {"DIR|FILE.tar.gz"},
       "verify DIR|FILE.tar.gz [--threads N]",
       "check a bundle completely, offline (no collector; "
       "evidentia verify --help)",
       {{"threads", "N", "threads to verify with (default 0: one per core)"}},
       nullptr},
      {{"log", "checkpoint"},
       {},
       "log checkpoint [--new]",
       "the transparency log's newest signed checkpoint",
       {{"new", "", "have the collector sign one now"}},
       LogCheckpoint},
      {{"log", "prove"},
       {"AGENT", "SEQ"},
       "log prove AGENT SEQ",
       "inclusion proof of one snapshot in that checkpoint",
       {},
       LogProve},
      {{"log", "consistency"},
       {"SIZE"},
       "log consistency SIZE",
       "proof that the log of SIZE is a prefix of it",
       {},
       LogConsistency},
  };
  return *kCommands;
}

// `flags` as help lines, "  --name VALUE  help", the help aligned.
std::string FlagHelp(const std::vector<FlagSpec>& flags) {
  size_t width = 0;
  for (const FlagSpec& flag : flags) {
    width =
        std::max(width, flag.name.size() + 2 +
                            (flag.value.empty() ? 0 : flag.value.size() + 1));
  }
  std::string out;
  for (const FlagSpec& flag : flags) {
    std::string left = absl::StrCat("--", flag.name);
    if (!flag.value.empty()) absl::StrAppend(&left, " ", flag.value);
    left.resize(width, ' ');
    absl::StrAppend(&out, "  ", left, "  ", flag.help, "\n");
  }
  return out;
}

std::vector<FlagSpec> Concat(const std::vector<FlagSpec>& a,
                             const std::vector<FlagSpec>& b) {
  std::vector<FlagSpec> all = a;
  all.insert(all.end(), b.begin(), b.end());
  return all;
}

std::string Overview() {
  std::string text = kOverviewHead;
  for (const Command& command : Commands()) {
    absl::StrAppend(&text, "  ", command.synopsis, "\n      ", command.summary,
                    "\n");
  }
  absl::StrAppend(&text, kTimeNote, kGradesNote,
                  "\nevery command but verify (the connection from the "
                  "collector's data dir unless given):\n",
                  FlagHelp(Concat(OutputFlags(), ConnectionFlags())), "\n",
                  kExitCodes);
  return text;
}

// What one command line asked for, filled while CLI11 parses it.
struct Parsed {
  const Command* command = nullptr;  // the innermost command named
  FlagValues flags;
  std::map<const Command*, std::vector<std::string>> operands;  // in order
  std::optional<absl::Duration> ttl;
  int64_t uses = 0;
  bool uses_given = false;
  int64_t threads = 0;  // verify --threads
};

// The CLI11 command of `words` under `app`, made on first use.
CLI::App* CommandApp(CLI::App& app, const std::vector<std::string>& words) {
  CLI::App* at = &app;
  for (const std::string& word : words) {
    CLI::App* next = nullptr;
    for (CLI::App* sub :
         at->get_subcommands(std::function<bool(CLI::App*)>())) {
      if (sub->get_name() == word) next = sub;
    }
    if (next == nullptr) {
      // A word that only groups commands (token, log) needs one of them.
      next = at->add_subcommand(word);
      next->require_subcommand(1);
    }
    at = next;
  }
  return at;
}

// Adds `flag` to `command`; its value lands in parsed->flags, except for
// the typed --ttl and --uses of token create.
void AddFlag(CLI::App& command, const FlagSpec& flag, Parsed* parsed,
             const std::string& group) {
  const std::string name = absl::StrCat("--", flag.name);
  CLI::Option* option = nullptr;
  if (flag.name == "ttl") {
    option = AddDurationOption(command, name, &parsed->ttl, flag.help,
                               absl::Seconds(1));
  } else if (flag.name == "uses") {
    option =
        AddIntegerOption(command, name, &parsed->uses, flag.help, 1, 100000);
    option->each([parsed](const std::string&) { parsed->uses_given = true; });
  } else if (flag.name == "threads") {
    option =
        AddIntegerOption(command, name, &parsed->threads, flag.help, 0, 1024);
  } else if (flag.value.empty()) {
    option = command
                 .add_flag_function(
                     name,
                     [parsed, key = flag.name](int64_t) {
                       parsed->flags.Set(key, "true");
                     },
                     flag.help)
                 ->disable_flag_override();
  } else {
    option = command
                 .add_option_function<std::string>(
                     name,
                     [parsed, key = flag.name](const std::string& value) {
                       parsed->flags.Set(key, value);
                     },
                     flag.help)
                 ->type_name(flag.value);
  }
  // flag.required is checked once the command is known: CLI11 would
  // require `evidence --agent` of `evidence add` too.
  option->group(group);
}

// Every command of Commands() as a CLI11 command of `app`, recording what
// was given in *parsed.
void DefineCommands(CLI::App& app, Parsed* parsed) {
  app.require_subcommand(1);
  for (const Command& command : Commands()) {
    CLI::App* sub = CommandApp(app, command.words);
    sub->require_subcommand(0, 1);
    sub->description(
        absl::StrCat("evidentia ", command.synopsis, "\n", command.summary));
    sub->final_callback([parsed, &command] {
      if (parsed->command == nullptr ||
          command.words.size() > parsed->command->words.size()) {
        parsed->command = &command;
      }
    });
    std::vector<std::string>& operands = parsed->operands[&command];
    operands.resize(command.operands.size());
    for (size_t i = 0; i < command.operands.size(); ++i) {
      const std::string& operand = command.operands[i];
      // SEQ and SIZE count log entries: whole numbers, checked here.
      const bool count = operand == "SEQ" || operand == "SIZE";
      AddParsedOption<std::string>(
          *sub, operand, &operands[i],
          [count](absl::string_view text) -> absl::StatusOr<std::string> {
            if (count) RETURN_IF_ERROR(ParseIntegerFlag(text, 0).status());
            return std::string(text);
          },
          "")
          ->required()
          ->type_name("");
    }
    bool takes_time = false;
    for (const FlagSpec& flag : command.flags) {
      AddFlag(*sub, flag, parsed, "Flags");
      takes_time |= flag.value == "TIME" || flag.value == "DATE";
    }
    if (command.handler == nullptr) {
      // verify reads the bundle only; --data-dir is accepted and ignored.
      AddFlag(*sub, {"json", "", "what was verified as one JSON document"},
              parsed, "Flags");
      AddFlag(*sub, {"data-dir", "DIR", "ignored: verify needs no collector"},
              parsed, "Flags");
      sub->footer(kVerifyExitCodes);
      continue;
    }
    for (const FlagSpec& flag : OutputFlags()) {
      if (flag.name != "help") AddFlag(*sub, flag, parsed, "Flags");
    }
    for (const FlagSpec& flag : ConnectionFlags()) {
      AddFlag(*sub, flag, parsed,
              "Connection (from the collector's data dir unless given)");
    }
    sub->footer(absl::StrCat(takes_time ? kTimeNote : "", "\n", kExitCodes));
  }
}

}  // namespace

int RunOperatorCli(int argc, const char* const* argv, std::ostream& out,
                   std::ostream& err) {
  if (argc < 2 || std::string(argv[1]) == "--help" ||
      std::string(argv[1]) == "help") {
    (argc < 2 ? err : out) << Overview();
    return argc < 2 ? kCliUsage : kCliOk;
  }
  // `evidentia-collector token create` is this command line too.
  CLI::App app{"the operator's view of an Evidentia collector", "evidentia"};
  UseEvidentiaConventions(app);
  Parsed parsed;
  std::optional<int> exit = ParseCommandLine(
      app, [&](CLI::App& cli) { DefineCommands(cli, &parsed); }, argc, argv,
      out, err);
  if (exit.has_value()) return *exit;
  if (parsed.command == nullptr) return kCliUsage;  // not reached
  const Command& command = *parsed.command;
  for (const FlagSpec& flag : command.flags) {
    if (flag.required && !parsed.flags.Has(flag.name)) {
      const std::string path =
          absl::StrCat("evidentia ", absl::StrJoin(command.words, " "));
      err << path << ": --" << flag.name << " is required (" << path
          << " --help lists its flags)\n";
      return kCliUsage;
    }
  }
  if (command.handler == nullptr) {
    return RunVerify(parsed.operands[&command].at(0),
                     static_cast<int>(parsed.threads), parsed.flags.Has("json"),
                     out, err);
  }
  absl::StatusOr<Connection> connection = Connect(parsed.flags);
  if (!connection.ok()) return LocalError(connection.status(), err);
  Invocation invocation{parsed.flags, *connection, parsed.operands[&command],
                        parsed.ttl, std::nullopt};
  if (parsed.uses_given) invocation.uses = parsed.uses;
  return command.handler(invocation, out, err);
}

}  // namespace evidentia::collector
