// evidentia evidence, and evidence add (signed by the operator key).
#include <filesystem>
#include <string>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "cli/cli_internal.h"
#include "cli/facts_summary.h"
#include "cli/operator_cli.h"
#include "common/ed25519.h"
#include "common/envelope.h"
#include "common/files.h"
#include "common/limits.h"
#include "common/pae.h"
#include "common/proto_time.h"
#include "common/sha256.h"

namespace evidentia::collector::operator_cli {

absl::StatusOr<std::string> ReadDocument(const FlagValues& args) {
  const std::string file = args.Get("file");
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    return absl::InvalidArgumentError(absl::StrCat(file, " is not a file"));
  }
  return ReadFile(file, kMaxDocumentBytes);
}

absl::StatusOr<std::string> SignAsOperator(const FlagValues& args,
                                           const std::string& payload_type,
                                           const std::string& statement) {
  const DataDirPaths paths = DataDirFrom(args);
  absl::StatusOr<PrivateKey> key = PrivateKey::LoadPemFile(
      args.Get("operator-key", paths.operator_key().string()));
  if (!key.ok()) {
    return absl::Status(key.status().code(),
                        absl::StrCat("operator key: ", key.status().message()));
  }
  return key->Sign(Pae(payload_type, statement));
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

int EvidenceAdd(const Invocation& call, std::ostream& out, std::ostream& err) {
  const FlagValues& args = call.args;
  absl::StatusOr<absl::Time> valid_until = ParseMoment(args.Get("valid-until"));
  if (!valid_until.ok()) return Usage(valid_until.status(), err);
  absl::StatusOr<std::string> document = ReadDocument(args);
  if (!document.ok()) return LocalError(document.status(), err);
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
  absl::StatusOr<std::string> signature = SignAsOperator(
      args, std::string(kManualEvidencePayloadType), request.statement());
  if (!signature.ok()) return LocalError(signature.status(), err);
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

}  // namespace evidentia::collector::operator_cli
