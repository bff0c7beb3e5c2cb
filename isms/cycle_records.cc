// ValidateRecord (isms/register.h): the rules each kind of record of the
// certification cycle must keep to be accepted, written down for people in
// proto/README.md, "ISMS records".
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "grading/grading.h"
#include "isms/cycle.h"
#include "isms/effectiveness.h"
#include "isms/register.h"
#include "isms/sampling.h"

namespace evidentia::isms {
namespace {

constexpr size_t kMaxName = 200;
constexpr size_t kMaxNote = 2000;
constexpr size_t kMaxStatement = 4000;
constexpr size_t kMaxEvidence = 100;
constexpr size_t kMaxHosts = 10000;

absl::Status Invalid(absl::string_view why) {
  return absl::InvalidArgumentError(why);
}

std::string Quoted(absl::string_view text) {
  return absl::StrCat("\"", absl::CHexEscape(text.substr(0, 80)), "\"");
}

template <typename Message>
absl::StatusOr<Message> Parse(absl::string_view bytes, absl::string_view what) {
  Message message;
  if (!message.ParseFromString(std::string(bytes))) {
    return Invalid(absl::StrCat("the statement is not ", what));
  }
  return message;
}

// "Today" for the rules is the day the collector receives the record (its
// clock, not the signer's claim); the statement must still say when it was
// signed.
absl::StatusOr<absl::CivilDay> Today(bool has_signed_at, const Context& c) {
  if (!has_signed_at) return Invalid("the statement has no signing time");
  return DayOf(c.at);
}

std::string Target(const v1::FindingStatement& f) {
  return f.control().empty() ? absl::StrCat("clause ", f.clause())
                             : f.control();
}

// The collector holds the whole fleet's evidence; a bundle only its
// period's and scope's.
bool WholeFleet(const Context& c) {
  return c.evidence_from == absl::InfinitePast();
}

absl::Status CheckEvidenceRefs(
    const google::protobuf::RepeatedPtrField<v1::EvidenceRef>& refs,
    const Context& c) {
  if (refs.size() > static_cast<int>(kMaxEvidence)) {
    return Invalid(absl::StrCat("at most ", kMaxEvidence, " evidence items"));
  }
  std::vector<v1::AgentRecord> agents;
  if (WholeFleet(c)) {
    ASSIGN_OR_RETURN(agents, c.evidence->Agents());
  }
  for (const v1::EvidenceRef& ref : refs) {
    switch (ref.ref_case()) {
      case v1::EvidenceRef::kRecord:
        if (c.so_far->KindOf(ref.record()).empty()) {
          return Invalid(absl::StrCat("the evidence names ISMS record ",
                                      ref.record(), ", which does not exist"));
        }
        break;
      case v1::EvidenceRef::kSnapshot: {
        if (!WholeFleet(c)) break;
        const v1::SnapshotRef& s = ref.snapshot();
        auto it = std::find_if(agents.begin(), agents.end(),
                               [&](const v1::AgentRecord& a) {
                                 return a.agent_id() == s.agent_id();
                               });
        if (it == agents.end() || s.seq() == 0 || s.seq() > it->last_seq()) {
          return Invalid(absl::StrCat("the evidence names snapshot ", s.seq(),
                                      " of ", Quoted(s.agent_id()),
                                      ", which the collector does not hold"));
        }
        break;
      }
      case v1::EvidenceRef::kManualSha256:
        if (ref.manual_sha256().size() != 32) {
          return Invalid("a manual evidence digest is not 32 bytes");
        }
        break;
      default:
        return Invalid("an evidence item names nothing");
    }
  }
  return absl::OkStatus();
}

// Whether a granted certificate (three years from its decision) is in force
// on `day`.
bool Certified(const Register& r, absl::CivilDay day) {
  for (const AuditEntry& a : r.audits()) {
    if (a.decided == 0 || a.decision.decision() != v1::DECISION_GRANTED) {
      continue;
    }
    absl::StatusOr<absl::CivilDay> on = ParseDay(a.decision.decided_on(), "");
    if (on.ok() && *on <= day &&
        day < absl::CivilDay(on->year() + 3, on->month(), on->day())) {
      return true;
    }
  }
  return false;
}

absl::StatusOr<Checked> ValidateAudit(const v1::AuditStatement& s,
                                      const Context& c) {
  const std::string kind = AuditKindName(s.kind());
  if (kind.empty()) {
    return Invalid(
        "the audit's kind is not stage1, stage2, surveillance or "
        "recertification");
  }
  RETURN_IF_ERROR(CheckText(s.body(), "the certification body (--body)",
                            kMaxName, /*required=*/true));
  RETURN_IF_ERROR(CheckText(s.lead_auditor(), "the lead auditor", kMaxName,
                            /*required=*/true));
  RETURN_IF_ERROR(CheckText(s.note(), "the note", kMaxNote, false));
  ASSIGN_OR_RETURN(absl::CivilDay from, ParseDay(s.from(), "--from"));
  ASSIGN_OR_RETURN(absl::CivilDay to, ParseDay(s.to(), "--to"));
  if (to < from) {
    return Invalid(absl::StrCat("the audit ends (", s.to(),
                                ") before it starts (", s.from(), ")"));
  }
  if (to - from > 365) return Invalid("an audit lasts at most a year");
  RETURN_IF_ERROR(Today(s.has_signed_at(), c).status());
  if (s.audit() != absl::StrCat(kind, "-", s.from())) {
    return Invalid(absl::StrCat("the audit's id must be ", kind, "-", s.from(),
                                ", not ", Quoted(s.audit())));
  }
  if (const AuditEntry* same = c.so_far->FindAudit(s.audit())) {
    return Invalid(absl::StrCat(
        "audit ", s.audit(), " is already open (record ", same->record, ")"));
  }
  if (s.kind() == v1::AUDIT_STAGE2) {
    const AuditEntry* stage1 = nullptr;
    for (const AuditEntry& a : c.so_far->audits()) {
      if (a.statement.kind() == v1::AUDIT_STAGE1) stage1 = &a;
    }
    if (stage1 == nullptr || stage1->closed == 0) {
      return Invalid("Stage 2 follows a closed Stage 1 audit");
    }
    if (from < stage1->from) {
      return Invalid(absl::StrCat("Stage 2 cannot start before Stage 1 (",
                                  stage1->statement.from(), ")"));
    }
  }
  if ((s.kind() == v1::AUDIT_SURVEILLANCE ||
       s.kind() == v1::AUDIT_RECERTIFICATION) &&
      !Certified(*c.so_far, from)) {
    return Invalid(absl::StrCat("a ", kind,
                                " audit needs a certificate in force on its "
                                "first day: no certification decision granted "
                                "one, or it has expired"));
  }
  return Checked::kAgainstRecords;
}

absl::StatusOr<Checked> ValidateAuditClosure(const v1::AuditClosureStatement& s,
                                             const Context& c) {
  const AuditEntry* audit = c.so_far->FindAudit(s.audit());
  if (audit == nullptr) {
    return Invalid(absl::StrCat("no audit ", Quoted(s.audit())));
  }
  if (audit->closed != 0) {
    return Invalid(absl::StrCat("audit ", s.audit(), " is already closed (",
                                audit->closure.closed_on(), ")"));
  }
  ASSIGN_OR_RETURN(absl::CivilDay closed_on,
                   ParseDay(s.closed_on(), "the closing date"));
  ASSIGN_OR_RETURN(absl::CivilDay today, Today(s.has_signed_at(), c));
  RETURN_IF_ERROR(CheckText(s.note(), "the note", kMaxNote, false));
  if (closed_on < audit->from) {
    return Invalid(absl::StrCat("the audit cannot close (", s.closed_on(),
                                ") before it starts (", audit->statement.from(),
                                ")"));
  }
  if (closed_on > today) {
    return Invalid(
        absl::StrCat("the closing date ", s.closed_on(), " is after today"));
  }
  return Checked::kAgainstRecords;
}

absl::StatusOr<Checked> ValidateDecision(const v1::DecisionStatement& s,
                                         const Context& c) {
  const AuditEntry* audit = c.so_far->FindAudit(s.audit());
  if (audit == nullptr) {
    return Invalid(absl::StrCat("no audit ", Quoted(s.audit())));
  }
  if (audit->statement.kind() != v1::AUDIT_STAGE2 &&
      audit->statement.kind() != v1::AUDIT_RECERTIFICATION) {
    return Invalid(
        "a certification decision follows a Stage 2 or recertification "
        "audit");
  }
  if (audit->closed == 0) {
    return Invalid(
        absl::StrCat("audit ", s.audit(), " is still open: close it first"));
  }
  if (audit->decided != 0) {
    return Invalid(absl::StrCat("audit ", s.audit(), " is already decided (",
                                audit->decision.decided_on(), ")"));
  }
  if (s.decision() != v1::DECISION_GRANTED &&
      s.decision() != v1::DECISION_REFUSED) {
    return Invalid("the decision is neither granted nor refused");
  }
  ASSIGN_OR_RETURN(absl::CivilDay decided_on,
                   ParseDay(s.decided_on(), "the decision date"));
  ASSIGN_OR_RETURN(absl::CivilDay today, Today(s.has_signed_at(), c));
  ASSIGN_OR_RETURN(absl::CivilDay closed_on,
                   ParseDay(audit->closure.closed_on(), "the closing date"));
  if (decided_on < closed_on || decided_on > today) {
    return Invalid(absl::StrCat("the decision date ", s.decided_on(),
                                " is not between the audit's closing (",
                                audit->closure.closed_on(), ") and today"));
  }
  RETURN_IF_ERROR(CheckText(s.certificate(),
                            "the certificate number (--certificate)", kMaxName,
                            s.decision() == v1::DECISION_GRANTED));
  RETURN_IF_ERROR(CheckText(s.note(), "the note", kMaxNote, false));
  if (s.decision() == v1::DECISION_GRANTED) {
    for (const auto& [number, f] : c.so_far->findings()) {
      if (f.open_nonconformity()) {
        return Invalid(absl::StrCat(
            "certification is blocked: finding ", number, " (",
            collector::GradeName(f.statement.grade()), " on ",
            Target(f.statement),
            ") is open; close its corrective action with evidence first"));
      }
    }
  }
  return Checked::kAgainstRecords;
}

absl::StatusOr<Checked> ValidateFinding(const v1::FindingStatement& s,
                                        const Context& c) {
  const AuditEntry* audit = c.so_far->FindAudit(s.audit());
  if (audit == nullptr) {
    return Invalid(absl::StrCat("no audit ", Quoted(s.audit())));
  }
  if (audit->closed != 0) {
    return Invalid(absl::StrCat("audit ", s.audit(), " is closed (",
                                audit->closure.closed_on(),
                                "): no finding can be recorded on it"));
  }
  if (s.control().empty() == s.clause().empty()) {
    return Invalid(
        "a finding is on one control (--control) or one clause "
        "(--clause)");
  }
  if (!s.control().empty() && c.policy->FindControl(s.control()) == nullptr) {
    return Invalid(absl::StrCat("no control ", Quoted(s.control()),
                                " in Annex A (a.5.1 ... a.8.34)"));
  }
  if (!s.clause().empty() && c.policy->FindClause(s.clause()) == nullptr) {
    return Invalid(absl::StrCat("no clause ", Quoted(s.clause()),
                                " in the clause catalogue (4.1 ... 10.2)"));
  }
  if (s.grade() < v1::GRADE_COMPLIANT ||
      s.grade() > v1::GRADE_MAJOR_NONCONFORMITY) {
    return Invalid(
        "a finding's grade is compliant, opportunity for improvement, minor "
        "or major nonconformity");
  }
  RETURN_IF_ERROR(CheckText(s.statement(), "the finding's statement",
                            kMaxStatement, /*required=*/true));
  RETURN_IF_ERROR(CheckText(s.recorded_by(), "who recorded it (--by)", kMaxName,
                            /*required=*/true));
  ASSIGN_OR_RETURN(absl::CivilDay today, Today(s.has_signed_at(), c));
  if (today < audit->from) {
    return Invalid(absl::StrCat("audit ", s.audit(), " starts on ",
                                audit->statement.from(),
                                ": no finding before then"));
  }
  RETURN_IF_ERROR(CheckEvidenceRefs(s.evidence(), c));
  return Checked::kAgainstRecords;
}

absl::StatusOr<Checked> ValidateAction(const v1::ActionStatement& s,
                                       const Context& c) {
  const FindingEntry* finding = c.so_far->FindFinding(s.finding());
  if (finding == nullptr) {
    return Invalid(absl::StrCat("no finding ", s.finding()));
  }
  if (finding->statement.grade() == v1::GRADE_COMPLIANT) {
    return Invalid(absl::StrCat("finding ", s.finding(),
                                " is compliant: there is nothing to correct"));
  }
  if (finding->action != 0) {
    return Invalid(absl::StrCat("finding ", s.finding(),
                                " already has its corrective action (record ",
                                finding->action, ")"));
  }
  const bool nonconformity =
      finding->statement.grade() != v1::GRADE_OPPORTUNITY_FOR_IMPROVEMENT;
  RETURN_IF_ERROR(
      CheckText(s.correction(), "the correction", kMaxStatement, false));
  RETURN_IF_ERROR(CheckText(s.root_cause(), "the root cause (--root-cause)",
                            kMaxStatement, nonconformity));
  RETURN_IF_ERROR(CheckText(s.action(), "the action (--action)", kMaxStatement,
                            /*required=*/true));
  RETURN_IF_ERROR(CheckText(s.owner(), "the owner (--owner)", kMaxName, true));
  RETURN_IF_ERROR(CheckText(s.note(), "the note", kMaxNote, false));
  ASSIGN_OR_RETURN(absl::CivilDay due, ParseDay(s.due_on(), "--due"));
  ASSIGN_OR_RETURN(absl::CivilDay today, Today(s.has_signed_at(), c));
  if (due < today) {
    return Invalid(absl::StrCat("the due date ", s.due_on(), " has passed"));
  }
  if (s.hosts_size() > static_cast<int>(kMaxHosts)) {
    return Invalid(absl::StrCat("at most ", kMaxHosts, " hosts"));
  }
  if (s.hosts_size() > 0 &&
      HostChecks(*c.policy, finding->statement.control()).empty()) {
    return Invalid(absl::StrCat(
        Target(finding->statement),
        " has no host evidence in the SoA: an action on it names no hosts"));
  }
  for (int i = 1; i < s.hosts_size(); ++i) {
    if (s.hosts(i) <= s.hosts(i - 1)) {
      return Invalid("the hosts are not sorted and distinct");
    }
  }
  if (WholeFleet(c) && s.hosts_size() > 0) {
    ASSIGN_OR_RETURN(std::vector<v1::AgentRecord> agents, c.evidence->Agents());
    for (const std::string& host : s.hosts()) {
      if (std::none_of(
              agents.begin(), agents.end(),
              [&](const v1::AgentRecord& a) { return a.agent_id() == host; })) {
        return Invalid(absl::StrCat("host ", Quoted(host),
                                    " is not in the asset register"));
      }
    }
  }
  return Checked::kAgainstRecords;
}

absl::StatusOr<Checked> ValidateActionClosure(
    const v1::ActionClosureStatement& s, const Context& c) {
  const FindingEntry* finding = c.so_far->FindFinding(s.finding());
  if (finding == nullptr) {
    return Invalid(absl::StrCat("no finding ", s.finding()));
  }
  if (finding->action == 0) {
    return Invalid(absl::StrCat("finding ", s.finding(),
                                " has no corrective action: open one first"));
  }
  if (finding->closure != 0) {
    return Invalid(absl::StrCat("the corrective action of finding ",
                                s.finding(), " is already closed (record ",
                                finding->closure, ")"));
  }
  RETURN_IF_ERROR(Today(s.has_signed_at(), c).status());
  RETURN_IF_ERROR(CheckText(s.note(), "the note", kMaxNote, false));
  RETURN_IF_ERROR(CheckEvidenceRefs(s.evidence(), c));
  const v1::ActionStatement& action = finding->action_statement;
  if (action.hosts_size() == 0) {
    if (s.proof_size() > 0) {
      return Invalid("the action names no hosts: there is nothing to prove");
    }
    if (s.evidence_size() == 0) {
      return Invalid(
          "closing a corrective action needs closure evidence (--evidence)");
    }
    return Checked::kAgainstRecords;
  }
  if (s.proof_size() == 0) {
    return Invalid(
        "the action names hosts: closing it needs the proof that they pass");
  }
  const std::vector<v1::SnapshotRef> proof(s.proof().begin(), s.proof().end());
  RETURN_IF_ERROR(CheckProofShape(
      std::vector<std::string>(action.hosts().begin(), action.hosts().end()),
      proof));
  if (finding->action_at < c.evidence_from) return Checked::kNotRecomputed;
  ProofScope scope;
  scope.control = finding->statement.control();
  scope.hosts.assign(action.hosts().begin(), action.hosts().end());
  scope.opened_at = finding->action_at;
  scope.until = c.at;
  RETURN_IF_ERROR(CheckProof(*c.policy, *c.evidence, scope, proof));
  return Checked::kRecomputed;
}

absl::StatusOr<Checked> ValidateSample(const v1::SampleStatement& s,
                                       const Context& c) {
  const AuditEntry* audit = c.so_far->FindAudit(s.audit());
  if (audit == nullptr) {
    return Invalid(absl::StrCat("no audit ", Quoted(s.audit())));
  }
  RETURN_IF_ERROR(CheckText(s.seed(), "the seed", kMaxName, true));
  if (s.seed().size() < 8) {
    return Invalid("the seed is shorter than 8 characters: too easy to guess");
  }
  ASSIGN_OR_RETURN(absl::CivilDay today, Today(s.has_signed_at(), c));
  if (today <= audit->to) {
    return Invalid(
        absl::StrCat("the seed is chosen after the audit's period, which ends ",
                     audit->statement.to()));
  }
  if (c.policy->FindControl(s.control()) == nullptr) {
    return Invalid(absl::StrCat("no control ", Quoted(s.control()),
                                " in Annex A (a.5.1 ... a.8.34)"));
  }
  if (HostChecks(*c.policy, s.control()).empty()) {
    return Invalid(absl::StrCat(s.control(),
                                " has no host evidence in the SoA to sample"));
  }
  if (s.hosts() < 1 || s.hosts() > kMaxSampleHosts || s.moments() < 1 ||
      s.moments() > kMaxSampleMoments) {
    return Invalid(absl::StrCat("a sample asks for 1 to ", kMaxSampleHosts,
                                " hosts and 1 to ", kMaxSampleMoments,
                                " moments"));
  }
  const absl::Time start = absl::FromCivil(audit->from, absl::UTCTimeZone());
  if (start < c.evidence_from) return Checked::kNotRecomputed;
  SampleRequest request;
  request.audit = s.audit();
  request.from = audit->from;
  request.to = audit->to;
  request.seed = s.seed();
  request.control = s.control();
  request.hosts = s.hosts();
  request.moments = s.moments();
  ASSIGN_OR_RETURN(v1::SampleStatement expected,
                   DrawSample(*c.policy, *c.evidence, request));
  *expected.mutable_signed_at() = s.signed_at();
  if (expected.SerializeAsString() != s.SerializeAsString()) {
    if (expected.population_size() != s.population_size()) {
      return Invalid(absl::StrCat("the sample's population holds ",
                                  s.population_size(), " hosts, not the ",
                                  expected.population_size(),
                                  " of the asset register"));
    }
    return Invalid(
        "the sample is not what its seed gives over the evidence "
        "(docs/bundle.md, \"Samples\")");
  }
  return Checked::kRecomputed;
}

}  // namespace

absl::StatusOr<Checked> ValidateRecord(absl::string_view payload_type,
                                       absl::string_view statement,
                                       const Context& c) {
  if (c.policy == nullptr || c.so_far == nullptr || c.evidence == nullptr) {
    return absl::InternalError("ValidateRecord without its context");
  }
  if (payload_type == kDocumentPayloadType) {
    ASSIGN_OR_RETURN(
        auto s, Parse<v1::DocumentStatement>(statement, "a DocumentStatement"));
    RETURN_IF_ERROR(ValidateDocument(s, *c.policy, *c.so_far));
    return Checked::kAgainstRecords;
  }
  if (payload_type == kAuditPayloadType) {
    ASSIGN_OR_RETURN(auto s,
                     Parse<v1::AuditStatement>(statement, "an AuditStatement"));
    return ValidateAudit(s, c);
  }
  if (payload_type == kAuditClosurePayloadType) {
    ASSIGN_OR_RETURN(auto s, Parse<v1::AuditClosureStatement>(
                                 statement, "an AuditClosureStatement"));
    return ValidateAuditClosure(s, c);
  }
  if (payload_type == kDecisionPayloadType) {
    ASSIGN_OR_RETURN(
        auto s, Parse<v1::DecisionStatement>(statement, "a DecisionStatement"));
    return ValidateDecision(s, c);
  }
  if (payload_type == kFindingPayloadType) {
    ASSIGN_OR_RETURN(
        auto s, Parse<v1::FindingStatement>(statement, "a FindingStatement"));
    return ValidateFinding(s, c);
  }
  if (payload_type == kActionPayloadType) {
    ASSIGN_OR_RETURN(
        auto s, Parse<v1::ActionStatement>(statement, "an ActionStatement"));
    return ValidateAction(s, c);
  }
  if (payload_type == kActionClosurePayloadType) {
    ASSIGN_OR_RETURN(auto s, Parse<v1::ActionClosureStatement>(
                                 statement, "an ActionClosureStatement"));
    return ValidateActionClosure(s, c);
  }
  if (payload_type == kSamplePayloadType) {
    ASSIGN_OR_RETURN(
        auto s, Parse<v1::SampleStatement>(statement, "a SampleStatement"));
    return ValidateSample(s, c);
  }
  return Invalid(absl::StrCat(Quoted(payload_type),
                              " is not the payload type of an ISMS record"));
}

}  // namespace evidentia::isms
