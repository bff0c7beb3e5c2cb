// evidentia document add, documents, readiness: the ISMS register.
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/cli_internal.h"
#include "cli/operator_cli.h"
#include "common/proto_time.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "isms/register.h"

namespace evidentia::collector::operator_cli {
namespace {

const char* StateName(v1::DocumentState state) {
  switch (state) {
    case v1::DOCUMENT_PRESENT:
      return "present";
    case v1::DOCUMENT_MISSING:
      return "MISSING";
    case v1::DOCUMENT_UNAPPROVED:
      return "UNAPPROVED";
    case v1::DOCUMENT_OVERDUE:
      return "OVERDUE";
    case v1::DOCUMENT_OUTDATED:
      return "OUTDATED";
    default:
      return "?";
  }
}

absl::StatusOr<v1::ReadinessReport> FetchReadiness(
    const Connection& connection, const v1::GetReadinessRequest& request) {
  grpc::ClientContext context;
  Prepare(context, connection);
  v1::ReadinessReport report;
  grpc::Status status =
      connection.stub->GetReadiness(&context, request, &report);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        status.error_message());
  }
  return report;
}

// --document, or the one document the clause requires; the catalogue comes
// from the collector (the readiness report lists every clause).
absl::StatusOr<std::string> DocumentId(const Invocation& call,
                                       const std::string& clause) {
  if (call.args.Has("document")) return call.args.Get("document");
  ASSIGN_OR_RETURN(v1::ReadinessReport report,
                   FetchReadiness(call.connection, v1::GetReadinessRequest()));
  for (const v1::ClauseReadiness& c : report.clauses()) {
    if (c.clause() != clause) continue;
    std::vector<std::string> required;
    for (const v1::DocumentStatus& d : c.documents()) {
      if (d.required()) required.push_back(d.document());
    }
    if (required.size() == 1) return required[0];
    return absl::InvalidArgumentError(
        required.empty()
            ? absl::StrCat("clause ", clause,
                           " requires no document: name yours (--document)")
            : absl::StrCat("clause ", clause, " requires ",
                           absl::StrJoin(required, ", "),
                           ": say which (--document)"));
  }
  return absl::InvalidArgumentError(absl::StrCat("no clause \"", clause,
                                                 "\" in the collector's clause "
                                                 "catalogue (4.1 ... 10.2)"));
}

}  // namespace

int DocumentAdd(const Invocation& call, std::ostream& out, std::ostream& err) {
  const FlagValues& args = call.args;
  const std::string clause = args.Get("clause");
  // Dates are checked here for a quick answer, and by the collector.
  for (const char* flag : {"review-by", "approved-on"}) {
    if (!args.Has(flag)) continue;
    absl::StatusOr<absl::CivilDay> day =
        isms::ParseDay(args.Get(flag), absl::StrCat("--", flag));
    if (!day.ok()) return Usage(day.status(), err);
  }
  absl::StatusOr<std::string> document = ReadDocument(args);
  if (!document.ok()) return LocalError(document.status(), err);
  absl::StatusOr<std::string> id = DocumentId(call, clause);
  if (!id.ok()) return Report(id.status(), err);

  v1::DocumentStatement statement;
  statement.set_clause(clause);
  statement.set_document(*id);
  statement.set_version(args.Get("version"));
  statement.set_sha256(Sha256(*document));
  statement.set_file_name(
      std::filesystem::path(args.Get("file")).filename().string());
  statement.set_size(document->size());
  statement.set_approved_by(args.Get("approved-by"));
  statement.set_approved_on(args.Get("approved-on"));
  statement.set_review_by(args.Get("review-by"));
  statement.set_note(args.Get("note"));
  *statement.mutable_signed_at() = ToProto(absl::Now());
  v1::AddIsmsRecordRequest request;
  request.set_payload_type(std::string(isms::kDocumentPayloadType));
  request.set_statement(statement.SerializeAsString());
  absl::StatusOr<std::string> signature =
      SignAsOperator(args, request.payload_type(), request.statement());
  if (!signature.ok()) return LocalError(signature.status(), err);
  request.set_signature(*signature);
  request.set_document(*std::move(document));
  grpc::ClientContext context;
  Prepare(context, call.connection);
  v1::AddIsmsRecordResponse response;
  grpc::Status status =
      call.connection.stub->AddIsmsRecord(&context, request, &response);
  if (!status.ok()) return Report(status, err);
  if (args.Has("json")) return PrintJson(response, out, err);
  out << "record " << response.number() << ": " << clause << " " << *id
      << " version " << statement.version() << " (" << statement.file_name()
      << ", sha256 " << ToHex(statement.sha256()) << "), "
      << (statement.approved_by().empty()
              ? std::string("not approved")
              : absl::StrCat("approved by ", statement.approved_by(), " on ",
                             statement.approved_on()))
      << ", review by " << statement.review_by() << "\n";
  return kCliOk;
}

int Documents(const Invocation& call, std::ostream& out, std::ostream& err) {
  grpc::ClientContext context;
  Prepare(context, call.connection);
  v1::ListIsmsRecordsResponse response;
  grpc::Status status = call.connection.stub->ListIsmsRecords(
      &context, v1::ListIsmsRecordsRequest(), &response);
  if (!status.ok()) return Report(status, err);
  if (call.args.Has("json")) return PrintJson(response, out, err);
  std::vector<std::vector<std::string>> rows = {
      {"RECORD", "CLAUSE", "DOCUMENT", "VERSION", "APPROVED", "REVIEW BY",
       "SHA256", "FILE", "RECEIVED"}};
  for (const v1::StoredIsmsRecord& record : response.records()) {
    if (record.payload_type() != isms::kDocumentPayloadType) continue;
    v1::DocumentStatement s;
    if (!s.ParseFromString(record.statement())) {
      err << "evidentia: record " << record.number()
          << " is not a document statement\n";
      return kCliFailed;
    }
    rows.push_back({absl::StrCat(record.number()), s.clause(), s.document(),
                    s.version(),
                    s.approved_by().empty()
                        ? std::string("-")
                        : absl::StrCat(s.approved_on(), " ", s.approved_by()),
                    s.review_by(), ToHex(s.sha256()).substr(0, 16),
                    s.file_name(), When(record.received_at())});
  }
  if (rows.size() == 1) {
    out << "(no documents registered: evidentia document add)\n";
    return kCliOk;
  }
  out << Table(rows);
  return kCliOk;
}

int Readiness(const Invocation& call, std::ostream& out, std::ostream& err) {
  v1::GetReadinessRequest request;
  if (call.args.Has("as-of")) {
    absl::StatusOr<absl::Time> at = ParseMoment(call.args.Get("as-of"));
    if (!at.ok()) return Usage(at.status(), err);
    *request.mutable_at() = ToProto(*at);
  }
  absl::StatusOr<v1::ReadinessReport> report =
      FetchReadiness(call.connection, request);
  if (!report.ok()) return Report(report.status(), err);
  if (call.args.Has("json")) return PrintJson(*report, out, err);
  out << "Stage 1 readiness of " << report->organisation() << " as of "
      << When(report->at()) << "\n\n";
  std::vector<std::vector<std::string>> rows = {
      {"CLAUSE", "DOCUMENT", "STATE", "VERSION", "REVIEW BY", "WHY"}};
  for (const v1::ClauseReadiness& c : report->clauses()) {
    if (c.documents().empty()) continue;
    for (const v1::DocumentStatus& d : c.documents()) {
      rows.push_back(
          {c.clause(),
           d.required() ? d.document() : absl::StrCat(d.document(), " (own)"),
           StateName(d.state()), d.version().empty() ? "-" : d.version(),
           d.review_by().empty() ? "-" : d.review_by(), d.reason()});
    }
  }
  out << Table(rows);
  out << "\nSoA: " << report->soa_controls() << " controls, "
      << report->soa_applicable() << " applicable, sha256 "
      << report->soa_sha256().substr(0, 16) << "…\n";
  for (const std::string& problem : report->soa_problems()) {
    out << "  problem: " << problem << "\n";
  }
  for (const std::string& note : report->soa_notes()) {
    out << "  note: " << note << "\n";
  }
  if (report->has_risk_register()) {
    out << "\nRisks: " << report->risks() << " (" << report->risks_treated()
        << " treated, " << report->risks_accepted()
        << " with the residual risk accepted), " << report->requirements()
        << " requirements; " << report->controls_justified() << " of "
        << report->soa_applicable() << " applicable controls justified\n";
  } else {
    out << "\nRisks: no risk register\n";
  }
  for (const std::string& problem : report->coverage_problems()) {
    out << "  problem: " << problem << "\n";
  }
  out << "\n" << report->verdict() << "\n";
  return kCliOk;  // the report was given, ready or not ("ready" in --json)
}

}  // namespace evidentia::collector::operator_cli
