#include "isms/cycle.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/proto_time.h"
#include "grading/grading.h"

namespace evidentia::isms {
namespace {

std::string Day(absl::CivilDay day) { return absl::FormatCivilTime(day); }

// The same day `years` later (29 February becomes 1 March).
absl::CivilDay YearsLater(absl::CivilDay day, int years) {
  return absl::CivilDay(day.year() + years, day.month(), day.day());
}

std::string Describe(uint64_t number, const FindingEntry& f) {
  return absl::StrCat("finding ", number, " (",
                      collector::GradeName(f.statement.grade()), " on ",
                      f.statement.control().empty()
                          ? absl::StrCat("clause ", f.statement.clause())
                          : f.statement.control(),
                      ")");
}

}  // namespace

std::string AuditKindName(v1::AuditKind kind) {
  switch (kind) {
    case v1::AUDIT_STAGE1:
      return "stage1";
    case v1::AUDIT_STAGE2:
      return "stage2";
    case v1::AUDIT_SURVEILLANCE:
      return "surveillance";
    case v1::AUDIT_RECERTIFICATION:
      return "recertification";
    default:
      return "";
  }
}

absl::StatusOr<std::pair<absl::Time, absl::Time>> AuditPeriod(
    const Register& isms, absl::string_view id) {
  const AuditEntry* audit = isms.FindAudit(id);
  if (audit == nullptr) {
    return absl::NotFoundError(absl::StrCat("no audit \"", id, "\""));
  }
  const absl::Time from = absl::FromCivil(audit->from, absl::UTCTimeZone());
  absl::Time to = absl::FromCivil(audit->to + 1, absl::UTCTimeZone()) -
                  absl::Microseconds(1);
  auto extend = [&to](uint64_t record, absl::Time at) {
    if (record != 0) to = std::max(to, at);
  };
  extend(audit->closed, audit->closed_at);
  extend(audit->decided, audit->decided_at);
  for (uint64_t number : audit->findings) {
    const FindingEntry* f = isms.FindFinding(number);
    extend(f->record, f->received_at);
    extend(f->action, f->action_at);
    extend(f->closure, f->closed_at);
  }
  for (const SampleEntry& s : isms.samples()) {
    if (s.statement.audit() == id) extend(s.record, s.received_at);
  }
  return std::make_pair(from, to);
}

v1::CycleReport AssessCycle(const Register& isms, absl::Time at,
                            const ComputedGrade& computed) {
  v1::CycleReport out;
  *out.mutable_at() = ToProto(at);
  const absl::CivilDay today = DayOf(at);

  std::map<uint64_t, v1::FindingView*> views;
  for (const auto& [number, f] : isms.findings()) {
    v1::FindingView& view = *out.add_findings();
    views[number] = &view;
    view.set_number(number);
    *view.mutable_finding() = f.statement;
    view.set_state(f.open() ? v1::FINDING_OPEN : v1::FINDING_CLOSED);
    if (f.action != 0) {
      view.set_action(f.action);
      *view.mutable_action_statement() = f.action_statement;
      absl::StatusOr<absl::CivilDay> due =
          ParseDay(f.action_statement.due_on(), "due");
      view.set_overdue(f.open() && due.ok() && *due < today);
    }
    if (f.closure != 0) {
      view.set_closure(f.closure);
      *view.mutable_closure_statement() = f.closure_statement;
    }
    const AuditEntry* audit = isms.FindAudit(f.statement.audit());
    if (!f.statement.control().empty() && audit != nullptr && computed) {
      const absl::Time end =
          std::min(at, absl::FromCivil(audit->to + 1, absl::UTCTimeZone()) -
                           absl::Nanoseconds(1));
      view.set_computed_grade(computed(f.statement.control(), end));
    }
  }

  const AuditEntry* certifying = nullptr;  // the latest granted decision
  for (const AuditEntry& a : isms.audits()) {
    v1::AuditView& view = *out.add_audits();
    view.set_number(a.record);
    *view.mutable_audit() = a.statement;
    view.set_closed(a.closed);
    view.set_closed_on(a.closure.closed_on());
    if (a.decided != 0) *view.mutable_decision() = a.decision;
    for (uint64_t n : a.findings) view.add_findings(n);
    for (uint64_t n : a.samples) view.add_samples(n);
    // Open when this audit was opened: carried into it.
    for (const auto& [number, f] : isms.findings()) {
      if (number > a.record || f.statement.audit() == a.statement.audit() ||
          f.statement.grade() == v1::GRADE_COMPLIANT) {
        continue;
      }
      if (f.closure == 0 || f.closure > a.record) {
        view.add_carried(number);
        views[number]->add_carried_into(a.statement.audit());
      }
    }
    if (a.decided != 0 && a.decision.decision() == v1::DECISION_GRANTED) {
      certifying = &a;
    }
  }

  std::vector<std::string> open_ncs;
  for (const auto& [number, f] : isms.findings()) {
    if (f.open_nonconformity()) open_ncs.push_back(Describe(number, f));
    if (f.open() && f.statement.grade() == v1::GRADE_MAJOR_NONCONFORMITY) {
      out.set_blocked(true);
    }
  }

  std::string status, next;
  const AuditEntry* last =
      isms.audits().empty() ? nullptr : &isms.audits().back();
  absl::StatusOr<absl::CivilDay> certified_on =
      certifying == nullptr
          ? absl::StatusOr<absl::CivilDay>(absl::NotFoundError(""))
          : ParseDay(certifying->decision.decided_on(), "decided");
  if (certified_on.ok()) {
    const absl::CivilDay expires = YearsLater(*certified_on, 3);
    out.set_certified_on(Day(*certified_on));
    out.set_expires_on(Day(expires));
    out.set_certificate(certifying->decision.certificate());
    const absl::CivilDay due[2] = {YearsLater(*certified_on, 1),
                                   YearsLater(*certified_on, 2)};
    for (absl::CivilDay d : due) out.add_surveillance_due(Day(d));
    out.set_recertification_due(Day(expires));
    int surveillances = 0;
    bool recertifying = false;
    for (const AuditEntry& a : isms.audits()) {
      if (a.record <= certifying->record) continue;
      if (a.statement.kind() == v1::AUDIT_SURVEILLANCE) ++surveillances;
      if (a.statement.kind() == v1::AUDIT_RECERTIFICATION && a.decided == 0) {
        recertifying = true;
      }
    }
    if (today > expires) {
      status = absl::StrCat("certificate expired on ", Day(expires));
      next = "a new initial certification (Stage 1 and Stage 2)";
    } else {
      status = absl::StrCat("certified until ", Day(expires));
      if (recertifying) {
        next =
            absl::StrCat("the recertification decision, before ", Day(expires));
      } else if (surveillances < 2) {
        const absl::CivilDay by = due[surveillances];
        next = absl::StrCat("surveillance audit ", surveillances + 1, " by ",
                            Day(by), by < today ? " (overdue)" : "");
      } else {
        next = absl::StrCat("recertification audit before ", Day(expires));
      }
    }
  } else if (last == nullptr) {
    status = "no audit yet";
    next =
        "register the documents Stage 1 reviews (evidentia readiness), then "
        "open the Stage 1 audit";
  } else if (last->statement.kind() == v1::AUDIT_STAGE1) {
    status =
        last->closed == 0
            ? absl::StrCat("Stage 1 audit ", last->statement.audit(),
                           " in progress")
            : absl::StrCat("Stage 1 closed on ", last->closure.closed_on());
    next = last->closed == 0 ? "close Stage 1, then open Stage 2"
                             : "the Stage 2 audit";
  } else if (last->closed == 0) {
    status = absl::StrCat(last->statement.audit(), " in progress");
    next = absl::StrCat("close ", last->statement.audit());
  } else if (last->decided != 0) {
    status =
        absl::StrCat("certification refused on ", last->decision.decided_on());
    next = "close the nonconformities, then a new Stage 2 audit";
  } else {
    status = absl::StrCat(last->statement.audit(), " closed on ",
                          last->closure.closed_on(),
                          "; awaiting the certification decision");
    next = open_ncs.empty()
               ? "the certification decision"
               : "close the open nonconformities with evidence, then the "
                 "certification decision";
  }
  if (out.blocked()) {
    status =
        absl::StrCat("certification blocked: ", absl::StrJoin(open_ncs, ", "),
                     " open; ", status);
  } else if (!open_ncs.empty()) {
    absl::StrAppend(&status, "; open: ", absl::StrJoin(open_ncs, ", "));
  }
  out.set_status(status);
  out.set_next(next);
  return out;
}

}  // namespace evidentia::isms
