// What evidentia_cli's files share; the public entry is cli/operator_cli.h.
#ifndef EVIDENTIA_CLI_CLI_INTERNAL_H_
#define EVIDENTIA_CLI_CLI_INTERNAL_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/data_dir_paths.h"
#include "evidentia/v1/operator.grpc.pb.h"
#include "evidentia/v1/reports.pb.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"
#include "grpcpp/grpcpp.h"

namespace evidentia::collector::operator_cli {

// The command line (cli/operator_cli.cc).

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

// A moment on the command line, in UTC: a date, or a date and time.
// INVALID_ARGUMENT naming `text` when it is neither.
absl::StatusOr<absl::Time> ParseMoment(const std::string& text);

// The connection to the collector (cli/connection.cc).

struct Connection {
  std::unique_ptr<v1::Operator::Stub> stub;
};

// --data-dir, else $EVIDENTIA_DATA_DIR, else /var/lib/evidentia.
DataDirPaths DataDirFrom(const FlagValues& args);

// Reads the address, the CA and the operator's certificate and key; local
// only, as the channel connects at the first call. NOT_FOUND,
// PERMISSION_DENIED or OUT_OF_RANGE naming the file that cannot be read;
// FAILED_PRECONDITION when other users can read the key.
absl::StatusOr<Connection> Connect(const FlagValues& args);

// Identity travels in the TLS client certificate; a call only needs its
// deadline.
void Prepare(grpc::ClientContext& context, const Connection&);

// Output and exit codes (cli/output.cc).

// `t` as "2026-11-22 10:00:00Z" (UTC); "-" when unset.
std::string When(const google::protobuf::Timestamp& t);

// Left-aligned columns separated by two spaces.
std::string Table(const std::vector<std::vector<std::string>>& rows);

// A line that says evidence comes from a device no longer trusted.
std::string RevokedNote(const v1::AgentRecord& agent);

// A failed exchange with the collector: 3 when it could not be reached
// (UNAVAILABLE), 1 when it refused or failed, or its answer did not verify.
int Report(const absl::Status& status, std::ostream& err);
int Report(const grpc::Status& status, std::ostream& err);

// Something wrong here, not at the collector (a file that cannot be read, a
// key other users can read): 1, whatever the code.
int LocalError(const absl::Status& status, std::ostream& err);

// A flag value that cannot be used (a TIME that is not one): 2.
int Usage(const absl::Status& status, std::ostream& err);

// Writes `message` as one JSON document; 1 when it has no JSON form.
int PrintJson(const google::protobuf::Message& message, std::ostream& out,
              std::ostream& err);

// The commands.

// One command line, parsed and connected.
struct Invocation {
  const FlagValues& args;
  const Connection& connection;
  std::vector<std::string> operands;
  std::optional<absl::Duration> ttl;  // token create --ttl
  std::optional<int64_t> uses;        // token create --uses
};

// Each runs one command of Commands() (cli/operator_cli.cc): writes what
// it got to `out` (with --json, the response as one JSON document) and
// messages to `err`, and returns the exit code (cli/operator_cli.h).

// token create, agents, agents revoke, events (cli/agent_commands.cc).
int TokenCreate(const Invocation& call, std::ostream& out, std::ostream& err);
int Agents(const Invocation& call, std::ostream& out, std::ostream& err);
int AgentsRevoke(const Invocation& call, std::ostream& out, std::ostream& err);
int Events(const Invocation& call, std::ostream& out, std::ostream& err);
// user add (cli/user_commands.cc).
int UserAdd(const Invocation& call, std::ostream& out, std::ostream& err);

// What evidence add and document add share (cli/evidence_commands.cc):
// --file read whole (a regular file, at most kMaxDocumentBytes), and a
// statement signed with the operator key (--operator-key, else
// DIR/operator.key) over PAE(payload_type, statement). Errors name the file
// or the key.
absl::StatusOr<std::string> ReadDocument(const FlagValues& args);
absl::StatusOr<std::string> SignAsOperator(const FlagValues& args,
                                           const std::string& payload_type,
                                           const std::string& statement);

// evidence, evidence add (cli/evidence_commands.cc).
int Evidence(const Invocation& call, std::ostream& out, std::ostream& err);
int EvidenceAdd(const Invocation& call, std::ostream& out, std::ostream& err);

// document add, documents, readiness (cli/isms_commands.cc).
int DocumentAdd(const Invocation& call, std::ostream& out, std::ostream& err);
int Documents(const Invocation& call, std::ostream& out, std::ostream& err);
int Readiness(const Invocation& call, std::ostream& out, std::ostream& err);

// audit open, audit close, audit decide, finding add, findings, action
// open, action close, sample, cycle (cli/cycle_commands.cc).
int AuditOpen(const Invocation& call, std::ostream& out, std::ostream& err);
int AuditClose(const Invocation& call, std::ostream& out, std::ostream& err);
int AuditDecide(const Invocation& call, std::ostream& out, std::ostream& err);
int FindingAdd(const Invocation& call, std::ostream& out, std::ostream& err);
int Findings(const Invocation& call, std::ostream& out, std::ostream& err);
int ActionOpen(const Invocation& call, std::ostream& out, std::ostream& err);
int ActionClose(const Invocation& call, std::ostream& out, std::ostream& err);
int Sample(const Invocation& call, std::ostream& out, std::ostream& err);
int Cycle(const Invocation& call, std::ostream& out, std::ostream& err);

// controls, control, host, history (cli/grade_commands.cc).
int Controls(const Invocation& call, std::ostream& out, std::ostream& err);
int ControlDetail(const Invocation& call, std::ostream& out, std::ostream& err);
int Host(const Invocation& call, std::ostream& out, std::ostream& err);
int History(const Invocation& call, std::ostream& out, std::ostream& err);

// export (cli/export_command.cc).
int Export(const Invocation& call, std::ostream& out, std::ostream& err);

// log checkpoint, log prove, log consistency (cli/log_commands.cc).
int LogCheckpoint(const Invocation& call, std::ostream& out, std::ostream& err);
int LogProve(const Invocation& call, std::ostream& out, std::ostream& err);
int LogConsistency(const Invocation& call, std::ostream& out,
                   std::ostream& err);

}  // namespace evidentia::collector::operator_cli

#endif  // EVIDENTIA_CLI_CLI_INTERNAL_H_
