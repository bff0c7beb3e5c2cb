// evidentia audit open|close|decide, finding add, findings, action
// open|close, sample, cycle: the certification cycle, each step a record
// signed by the operator key and validated by the collector.
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "cli/cli_internal.h"
#include "cli/operator_cli.h"
#include "common/proto_time.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "evidentia/v1/cycle.pb.h"
#include "grading/grading.h"
#include "isms/cycle.h"
#include "isms/register.h"

namespace evidentia::collector::operator_cli {
namespace {

absl::Status FromGrpc(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

// Signs `statement` (its signed_at set now) and adds it; the response says
// the record's number.
template <typename Statement>
absl::StatusOr<v1::AddIsmsRecordResponse> AddRecord(const Invocation& call,
                                                    const char* payload_type,
                                                    Statement& statement) {
  *statement.mutable_signed_at() = ToProto(absl::Now());
  v1::AddIsmsRecordRequest request;
  request.set_payload_type(payload_type);
  request.set_statement(statement.SerializeAsString());
  ASSIGN_OR_RETURN(
      std::string signature,
      SignAsOperator(call.args, request.payload_type(), request.statement()));
  request.set_signature(std::move(signature));
  grpc::ClientContext context;
  Prepare(context, call.connection);
  v1::AddIsmsRecordResponse response;
  grpc::Status status =
      call.connection.stub->AddIsmsRecord(&context, request, &response);
  if (!status.ok()) return FromGrpc(status);
  return response;
}

// What a command that adds a record prints: the response with --json, else
// "record N: " and `what`.
int Added(const Invocation& call,
          const absl::StatusOr<v1::AddIsmsRecordResponse>& added,
          const std::string& what, std::ostream& out, std::ostream& err) {
  if (!added.ok()) return Report(added.status(), err);
  if (call.args.Has("json")) return PrintJson(*added, out, err);
  out << "record " << added->number() << ": " << what << "\n";
  return kCliOk;
}

absl::Status CheckDay(const FlagValues& args, const char* flag) {
  if (!args.Has(flag)) return absl::OkStatus();
  return isms::ParseDay(args.Get(flag), absl::StrCat("--", flag)).status();
}

absl::StatusOr<uint64_t> Number(const FlagValues& args, const char* flag) {
  uint64_t n = 0;
  if (!absl::SimpleAtoi(args.Get(flag), &n) || n == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " is a record number (1, 2, ...)"));
  }
  return n;
}

// --evidence record:N,snapshot:AGENT/SEQ,manual:SHA256HEX
absl::Status ParseEvidence(
    const FlagValues& args,
    google::protobuf::RepeatedPtrField<v1::EvidenceRef>& out) {
  if (!args.Has("evidence")) return absl::OkStatus();
  for (absl::string_view item :
       absl::StrSplit(args.Get("evidence"), ',', absl::SkipEmpty())) {
    v1::EvidenceRef ref;
    absl::string_view rest = item;
    uint64_t n = 0;
    bool ok = false;
    if (absl::ConsumePrefix(&rest, "record:")) {
      ok = absl::SimpleAtoi(rest, &n) && n > 0;
      ref.set_record(n);
    } else if (absl::ConsumePrefix(&rest, "snapshot:")) {
      std::vector<absl::string_view> parts = absl::StrSplit(rest, '/');
      ok = parts.size() == 2 && !parts[0].empty() &&
           absl::SimpleAtoi(parts[1], &n) && n > 0;
      ref.mutable_snapshot()->set_agent_id(std::string(parts[0]));
      ref.mutable_snapshot()->set_seq(n);
    } else if (absl::ConsumePrefix(&rest, "manual:")) {
      ok = rest.size() == 64 &&
           rest.find_first_not_of("0123456789abcdef") == rest.npos;
      if (ok) ref.set_manual_sha256(absl::HexStringToBytes(rest));
    }
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--evidence \"", item,
          "\" is not record:N, snapshot:AGENT/SEQ or manual:SHA256"));
    }
    *out.Add() = std::move(ref);
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::CycleReport> FetchCycle(const Invocation& call) {
  v1::GetCycleRequest request;
  if (call.args.Has("as-of")) {
    ASSIGN_OR_RETURN(absl::Time at, ParseMoment(call.args.Get("as-of")));
    *request.mutable_at() = ToProto(at);
  }
  grpc::ClientContext context;
  Prepare(context, call.connection);
  v1::CycleReport report;
  grpc::Status status =
      call.connection.stub->GetCycle(&context, request, &report);
  if (!status.ok()) return FromGrpc(status);
  return report;
}

std::string Target(const v1::FindingStatement& f) {
  return f.control().empty() ? absl::StrCat("clause ", f.clause())
                             : f.control();
}

std::string FindingsTable(const v1::CycleReport& report) {
  std::vector<std::vector<std::string>> rows = {{"FINDING", "AUDIT", "ON",
                                                 "AUDITOR", "EVIDENTIA",
                                                 "STATE", "ACTION", "DUE"}};
  for (const v1::FindingView& f : report.findings()) {
    std::string state = f.state() == v1::FINDING_OPEN ? "open" : "closed";
    if (f.overdue()) state = "OVERDUE";
    if (!f.carried_into().empty()) {
      absl::StrAppend(&state, ", carried into ",
                      absl::StrJoin(f.carried_into(), ", "));
    }
    rows.push_back(
        {absl::StrCat(f.number()), f.finding().audit(), Target(f.finding()),
         GradeName(f.finding().grade()),
         f.computed_grade() == v1::GRADE_UNSPECIFIED
             ? std::string("-")
             : GradeName(f.computed_grade()),
         state,
         f.action() == 0 ? std::string("-")
                         : absl::StrCat(f.action_statement().owner(),
                                        f.closure() != 0 ? " (effective)" : ""),
         f.action() == 0 ? std::string("-") : f.action_statement().due_on()});
  }
  return Table(rows);
}

}  // namespace

int AuditOpen(const Invocation& call, std::ostream& out, std::ostream& err) {
  const FlagValues& args = call.args;
  v1::AuditStatement s;
  const std::string kind = args.Get("kind");
  for (v1::AuditKind k : {v1::AUDIT_STAGE1, v1::AUDIT_STAGE2,
                          v1::AUDIT_SURVEILLANCE, v1::AUDIT_RECERTIFICATION}) {
    if (isms::AuditKindName(k) == kind) s.set_kind(k);
  }
  if (s.kind() == v1::AUDIT_KIND_UNSPECIFIED) {
    return Usage(
        absl::InvalidArgumentError("--kind is stage1, stage2, surveillance or "
                                   "recertification"),
        err);
  }
  for (const char* flag : {"from", "to"}) {
    if (absl::Status day = CheckDay(args, flag); !day.ok()) {
      return Usage(day, err);
    }
  }
  s.set_audit(absl::StrCat(kind, "-", args.Get("from")));
  s.set_body(args.Get("body"));
  s.set_lead_auditor(args.Get("lead-auditor"));
  s.set_from(args.Get("from"));
  s.set_to(args.Get("to"));
  s.set_note(args.Get("note"));
  return Added(call, AddRecord(call, isms::kAuditPayloadType, s),
               absl::StrCat("audit ", s.audit(), " opened (", s.body(),
                            ", lead auditor ", s.lead_auditor(), ", ", s.from(),
                            " to ", s.to(), ")"),
               out, err);
}

int AuditClose(const Invocation& call, std::ostream& out, std::ostream& err) {
  if (absl::Status day = CheckDay(call.args, "on"); !day.ok()) {
    return Usage(day, err);
  }
  v1::AuditClosureStatement s;
  s.set_audit(call.operands[0]);
  s.set_closed_on(call.args.Get("on"));
  s.set_note(call.args.Get("note"));
  return Added(call, AddRecord(call, isms::kAuditClosurePayloadType, s),
               absl::StrCat("audit ", s.audit(), " closed on ", s.closed_on()),
               out, err);
}

int AuditDecide(const Invocation& call, std::ostream& out, std::ostream& err) {
  if (absl::Status day = CheckDay(call.args, "on"); !day.ok()) {
    return Usage(day, err);
  }
  v1::DecisionStatement s;
  const std::string decision = call.args.Get("decision");
  if (decision == "granted") {
    s.set_decision(v1::DECISION_GRANTED);
  } else if (decision == "refused") {
    s.set_decision(v1::DECISION_REFUSED);
  } else {
    return Usage(absl::InvalidArgumentError("--decision is granted or refused"),
                 err);
  }
  s.set_audit(call.operands[0]);
  s.set_decided_on(call.args.Get("on"));
  s.set_certificate(call.args.Get("certificate"));
  s.set_note(call.args.Get("note"));
  return Added(call, AddRecord(call, isms::kDecisionPayloadType, s),
               absl::StrCat("certification ", decision, " on ", s.decided_on(),
                            " after ", s.audit()),
               out, err);
}

int FindingAdd(const Invocation& call, std::ostream& out, std::ostream& err) {
  const FlagValues& args = call.args;
  v1::FindingStatement s;
  const std::string grade = args.Get("grade");
  if (grade == "compliant") {
    s.set_grade(v1::GRADE_COMPLIANT);
  } else if (grade == "ofi") {
    s.set_grade(v1::GRADE_OPPORTUNITY_FOR_IMPROVEMENT);
  } else if (grade == "minor") {
    s.set_grade(v1::GRADE_MINOR_NONCONFORMITY);
  } else if (grade == "major") {
    s.set_grade(v1::GRADE_MAJOR_NONCONFORMITY);
  } else {
    return Usage(
        absl::InvalidArgumentError("--grade is compliant, ofi, minor or major"),
        err);
  }
  if (absl::Status refs = ParseEvidence(args, *s.mutable_evidence());
      !refs.ok()) {
    return Usage(refs, err);
  }
  s.set_audit(args.Get("audit"));
  s.set_control(args.Get("control"));
  s.set_clause(args.Get("clause"));
  s.set_statement(args.Get("statement"));
  s.set_recorded_by(args.Get("by"));
  return Added(call, AddRecord(call, isms::kFindingPayloadType, s),
               absl::StrCat("finding (", GradeName(s.grade()), " on ",
                            Target(s), ") in audit ", s.audit()),
               out, err);
}

int Findings(const Invocation& call, std::ostream& out, std::ostream& err) {
  absl::StatusOr<v1::CycleReport> report = FetchCycle(call);
  if (!report.ok()) return Report(report.status(), err);
  if (call.args.Has("json")) {
    v1::CycleReport findings;
    *findings.mutable_at() = report->at();
    *findings.mutable_findings() = report->findings();
    return PrintJson(findings, out, err);
  }
  if (report->findings().empty()) {
    out << "(no findings recorded: evidentia finding add)\n";
    return kCliOk;
  }
  out << FindingsTable(*report);
  return kCliOk;
}

int ActionOpen(const Invocation& call, std::ostream& out, std::ostream& err) {
  const FlagValues& args = call.args;
  absl::StatusOr<uint64_t> finding = Number(args, "finding");
  if (!finding.ok()) return Usage(finding.status(), err);
  if (absl::Status day = CheckDay(args, "due"); !day.ok()) {
    return Usage(day, err);
  }
  v1::ActionStatement s;
  s.set_finding(*finding);
  s.set_correction(args.Get("correction"));
  s.set_root_cause(args.Get("root-cause"));
  s.set_action(args.Get("action"));
  s.set_owner(args.Get("owner"));
  s.set_due_on(args.Get("due"));
  s.set_note(args.Get("note"));
  std::vector<std::string> hosts =
      absl::StrSplit(args.Get("hosts"), ',', absl::SkipEmpty());
  std::sort(hosts.begin(), hosts.end());
  hosts.erase(std::unique(hosts.begin(), hosts.end()), hosts.end());
  for (std::string& host : hosts) s.add_hosts(std::move(host));
  return Added(call, AddRecord(call, isms::kActionPayloadType, s),
               absl::StrCat("corrective action of finding ", s.finding(),
                            " opened (", s.owner(), ", due ", s.due_on(),
                            s.hosts().empty()
                                ? std::string()
                                : absl::StrCat(", hosts ",
                                               absl::StrJoin(s.hosts(), ", ")),
                            ")"),
               out, err);
}

int ActionClose(const Invocation& call, std::ostream& out, std::ostream& err) {
  const FlagValues& args = call.args;
  absl::StatusOr<uint64_t> finding = Number(args, "finding");
  if (!finding.ok()) return Usage(finding.status(), err);
  v1::ActionClosureStatement s;
  s.set_finding(*finding);
  s.set_note(args.Get("note"));
  if (absl::Status refs = ParseEvidence(args, *s.mutable_evidence());
      !refs.ok()) {
    return Usage(refs, err);
  }
  // The collector finds the proof; the operator signs it; the collector
  // checks it again on arrival.
  v1::ProveActionRequest prove;
  prove.set_finding(*finding);
  v1::ProveActionResponse proof;
  grpc::ClientContext context;
  Prepare(context, call.connection);
  grpc::Status status =
      call.connection.stub->ProveAction(&context, prove, &proof);
  if (!status.ok()) return Report(status, err);
  *s.mutable_proof() = proof.proof();
  std::string what = absl::StrCat("the corrective action of finding ",
                                  s.finding(), " is closed as effective");
  if (!s.proof().empty()) {
    absl::StrAppend(&what, " (proof: ", s.proof_size(), " passing snapshots: ",
                    absl::StrJoin(s.proof(), ", ",
                                  [](std::string* o, const v1::SnapshotRef& r) {
                                    absl::StrAppend(o, r.agent_id(), "/",
                                                    r.seq());
                                  }),
                    ")");
  }
  return Added(call, AddRecord(call, isms::kActionClosurePayloadType, s), what,
               out, err);
}

int Sample(const Invocation& call, std::ostream& out, std::ostream& err) {
  const FlagValues& args = call.args;
  v1::DrawSampleRequest request;
  request.set_audit(args.Get("audit"));
  request.set_seed(args.Get("seed"));
  request.set_control(args.Get("control"));
  for (const char* flag : {"hosts", "moments"}) {
    uint32_t n = 0;
    if (!absl::SimpleAtoi(args.Get(flag), &n) || n == 0) {
      return Usage(absl::InvalidArgumentError(
                       absl::StrCat("--", flag, " is a count (1 to 100)")),
                   err);
    }
    if (flag[0] == 'h') {
      request.set_hosts(n);
    } else {
      request.set_moments(n);
    }
  }
  v1::SampleStatement s;
  grpc::ClientContext context;
  Prepare(context, call.connection);
  grpc::Status status = call.connection.stub->DrawSample(&context, request, &s);
  if (!status.ok()) return Report(status, err);
  absl::StatusOr<v1::AddIsmsRecordResponse> added =
      AddRecord(call, isms::kSamplePayloadType, s);
  if (!added.ok()) return Report(added.status(), err);
  if (args.Has("json")) return PrintJson(s, out, err);
  out << "record " << added->number() << ": sample of " << s.control()
      << " in audit " << s.audit() << " from seed \"" << s.seed() << "\" ("
      << s.drawn_size() << " of " << s.population_size() << " hosts)\n";
  std::vector<std::vector<std::string>> rows = {{"HOST", "MOMENT", "SNAPSHOT"}};
  for (const v1::SampledSnapshot& pick : s.picks()) {
    rows.push_back({pick.agent_id(), When(pick.at()),
                    pick.seq() == 0 ? std::string("none: no evidence")
                                    : absl::StrCat(pick.seq())});
  }
  out << Table(rows);
  return kCliOk;
}

int Cycle(const Invocation& call, std::ostream& out, std::ostream& err) {
  absl::StatusOr<v1::CycleReport> report = FetchCycle(call);
  if (!report.ok()) return Report(report.status(), err);
  if (call.args.Has("json")) return PrintJson(*report, out, err);
  out << "Certification cycle as of " << When(report->at()) << "\n\n"
      << report->status() << "\n"
      << "next: " << report->next() << "\n";
  if (!report->certified_on().empty()) {
    out << "certificate " << report->certificate() << ": granted "
        << report->certified_on() << ", expires " << report->expires_on()
        << "; surveillance due "
        << absl::StrJoin(report->surveillance_due(), ", ")
        << "; recertification before " << report->recertification_due() << "\n";
  }
  if (!report->audits().empty()) {
    std::vector<std::vector<std::string>> rows = {
        {"AUDIT", "BODY", "LEAD AUDITOR", "PERIOD", "CLOSED", "DECISION",
         "FINDINGS", "CARRIED IN"}};
    for (const v1::AuditView& a : report->audits()) {
      std::string decision = "-";
      if (a.has_decision()) {
        decision = absl::StrCat(a.decision().decision() == v1::DECISION_GRANTED
                                    ? "granted "
                                    : "refused ",
                                a.decision().decided_on());
      }
      rows.push_back({a.audit().audit(), a.audit().body(),
                      a.audit().lead_auditor(),
                      absl::StrCat(a.audit().from(), " to ", a.audit().to()),
                      a.closed() == 0 ? std::string("open") : a.closed_on(),
                      decision, absl::StrJoin(a.findings(), ", "),
                      a.carried().empty() ? std::string("-")
                                          : absl::StrJoin(a.carried(), ", ")});
    }
    out << "\n" << Table(rows);
  }
  if (!report->findings().empty()) out << "\n" << FindingsTable(*report);
  return kCliOk;
}

}  // namespace evidentia::collector::operator_cli
