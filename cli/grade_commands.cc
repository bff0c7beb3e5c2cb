// evidentia controls, control, host and history: the collector's grades.
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/cli_internal.h"
#include "cli/operator_cli.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "grading/grading.h"

namespace evidentia::collector::operator_cli {
namespace {

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

}  // namespace

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

}  // namespace evidentia::collector::operator_cli
