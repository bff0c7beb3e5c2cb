#include "isms/readiness.h"

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "common/proto_time.h"
#include "common/sha256.h"

namespace evidentia::isms {
namespace {

constexpr char kSoaClause[] = "6.1.3";
constexpr char kSoaDocument[] = "soa";

// The documents not present, by what is wrong, as "4.3 scope" each.
struct Shortfalls {
  std::vector<std::string> missing;
  std::vector<std::string> unapproved;
  std::vector<std::string> overdue;
  std::vector<std::string> outdated;
};

v1::DocumentStatus Status(const std::string& clause,
                          const std::string& document, const std::string& title,
                          bool required,
                          const std::vector<DocumentVersion>* versions,
                          const std::string& soa_sha256, absl::CivilDay today,
                          Shortfalls& shortfalls) {
  v1::DocumentStatus status;
  status.set_clause(clause);
  status.set_document(document);
  status.set_title(title);
  status.set_required(required);
  const std::string name = absl::StrCat(clause, " ", document);
  if (versions == nullptr || versions->empty()) {
    status.set_state(v1::DOCUMENT_MISSING);
    status.set_reason("never registered");
    shortfalls.missing.push_back(name);
    return status;
  }
  const DocumentVersion& latest = versions->back();
  const v1::DocumentStatement& s = latest.statement;
  status.set_version(s.version());
  status.set_sha256(ToHex(s.sha256()));
  status.set_file_name(s.file_name());
  status.set_approved_by(s.approved_by());
  status.set_approved_on(s.approved_on());
  status.set_review_by(s.review_by());
  status.set_record(latest.record);
  status.set_versions(static_cast<uint32_t>(versions->size()));
  const absl::StatusOr<absl::CivilDay> review_by =
      ParseDay(s.review_by(), "the review date");
  if (clause == kSoaClause && document == kSoaDocument &&
      status.sha256() != soa_sha256) {
    status.set_state(v1::DOCUMENT_OUTDATED);
    status.set_reason(absl::StrCat(
        "version ", s.version(), " (sha256 ", status.sha256().substr(0, 12),
        "…) is not the SoA the collector grades with (sha256 ",
        soa_sha256.substr(0, 12), "…)"));
    shortfalls.outdated.push_back(name);
  } else if (s.approved_by().empty()) {
    status.set_state(v1::DOCUMENT_UNAPPROVED);
    status.set_reason(
        absl::StrCat("version ", s.version(), " is not approved"));
    shortfalls.unapproved.push_back(name);
  } else if (!review_by.ok() || *review_by < today) {
    status.set_state(v1::DOCUMENT_OVERDUE);
    status.set_reason(absl::StrCat("version ", s.version(),
                                   " was due for review by ", s.review_by()));
    shortfalls.overdue.push_back(
        absl::StrCat(name, " (review by ", s.review_by(), ")"));
  } else {
    status.set_state(v1::DOCUMENT_PRESENT);
  }
  return status;
}

// "1 required document missing: 4.3 scope".
std::string Listed(const std::vector<std::string>& names, const char* singular,
                   const char* plural) {
  return absl::StrCat(names.size(), " ", names.size() == 1 ? singular : plural,
                      ": ", absl::StrJoin(names, ", "));
}

void AssessSoa(const policy::PolicySet& policy, v1::ReadinessReport& report) {
  for (const policy::SoaEntry& row : policy.soa) {
    report.set_soa_controls(report.soa_controls() + 1);
    const bool blank_justification =
        absl::StripAsciiWhitespace(row.justification).empty();
    if (!row.applicable) {
      if (blank_justification) {
        report.add_soa_problems(absl::StrCat(
            row.control_id, " is excluded without a justification"));
      }
      continue;
    }
    report.set_soa_applicable(report.soa_applicable() + 1);
    if (blank_justification) {
      report.add_soa_problems(absl::StrCat(
          row.control_id, " is applicable without a justification"));
    }
    if (row.owner.empty()) {
      report.add_soa_problems(absl::StrCat(row.control_id, " has no owner"));
    }
    if (row.implementation.empty()) {
      report.add_soa_problems(
          absl::StrCat(row.control_id, " has no implementation status"));
    } else if (row.implementation != "implemented") {
      report.add_soa_notes(
          absl::StrCat(row.control_id, " is applicable and ",
                       absl::StrReplaceAll(row.implementation, {{"_", " "}})));
    }
  }
}

// Risk-to-control coverage: counts and problems into `report`, the
// reasons they make into `reasons`.
void AssessRisks(const policy::PolicySet& policy, v1::ReadinessReport& report,
                 std::vector<std::string>& reasons) {
  report.set_has_risk_register(policy.has_risk_register);
  if (!policy.has_risk_register) {
    report.add_coverage_problems(
        "no risk register: the SoA names none (risk_register)");
    reasons.push_back("no risk register: the SoA names none");
    return;
  }
  std::set<std::string> justified;
  report.set_risks(policy.risks.size());
  for (const policy::Risk& risk : policy.risks) {
    justified.insert(risk.controls.begin(), risk.controls.end());
    if (risk.treatment != "retain") {
      report.set_risks_treated(report.risks_treated() + 1);
    }
  }
  report.set_requirements(policy.requirements.size());
  for (const policy::Requirement& requirement : policy.requirements) {
    justified.insert(requirement.controls.begin(), requirement.controls.end());
  }
  std::vector<std::string> unjustified;
  for (const policy::SoaEntry& row : policy.soa) {
    if (!row.applicable) continue;
    if (justified.count(row.control_id) > 0) {
      report.set_controls_justified(report.controls_justified() + 1);
      continue;
    }
    const policy::Control* control = policy.FindControl(row.control_id);
    report.add_coverage_problems(absl::StrCat(
        row.control_id, control != nullptr ? " " : "",
        control != nullptr ? control->title : "",
        " is applicable but justified by no risk and no requirement"));
    unjustified.push_back(row.control_id);
  }
  std::vector<std::string> unaccepted;
  for (const policy::Risk& risk : policy.risks) {
    if (!risk.accepted_by.empty()) {
      report.set_risks_accepted(report.risks_accepted() + 1);
      continue;
    }
    report.add_coverage_problems(absl::StrCat(
        "the residual risk of ", risk.id, " (", risk.asset, "; likelihood ",
        risk.residual_likelihood, ", impact ", risk.residual_impact,
        ") is not accepted by its owner, ", risk.owner));
    unaccepted.push_back(risk.id);
  }
  if (!unjustified.empty()) {
    reasons.push_back(
        Listed(unjustified,
               "applicable control justified by no risk or "
               "requirement",
               "applicable controls justified by no risk or requirement"));
  }
  if (!unaccepted.empty()) {
    reasons.push_back(Listed(unaccepted,
                             "risk whose residual risk is not "
                             "accepted by its owner",
                             "risks whose residual risk is not accepted by "
                             "their owners"));
  }
}

}  // namespace

v1::ReadinessReport AssessReadiness(const policy::PolicySet& policy,
                                    const Register& isms, absl::Time at) {
  v1::ReadinessReport report;
  *report.mutable_at() = ToProto(at);
  report.set_organisation(policy.organisation);
  report.set_policy_sha256(policy.sha256);
  for (const policy::PolicySet::SourceFile& file : policy.sources) {
    if (file.soa && !file.risk_register) {
      report.set_soa_sha256(Sha256Hex(file.bytes));
    }
  }
  const absl::CivilDay today = DayOf(at);
  Shortfalls shortfalls;
  size_t required = 0;
  for (const policy::Clause& clause : policy.clauses) {
    v1::ClauseReadiness& c = *report.add_clauses();
    c.set_clause(clause.id);
    c.set_title(clause.title);
    bool ready = true;
    std::set<std::string> named;
    for (const policy::RequiredDocument& document : clause.documents) {
      ++required;
      named.insert(document.id);
      *c.add_documents() =
          Status(clause.id, document.id, document.title, /*required=*/true,
                 isms.Versions({clause.id, document.id}), report.soa_sha256(),
                 today, shortfalls);
      ready &= c.documents().rbegin()->state() == v1::DOCUMENT_PRESENT;
    }
    // The organisation's own documents under this clause: not required,
    // but an unapproved or overdue one is a finding all the same.
    for (const auto& [key, versions] : isms.documents()) {
      if (key.first != clause.id || named.count(key.second) > 0) continue;
      *c.add_documents() =
          Status(clause.id, key.second, "", /*required=*/false, &versions,
                 report.soa_sha256(), today, shortfalls);
    }
    c.set_ready(ready);
  }
  AssessSoa(policy, report);

  std::vector<std::string> reasons;
  if (policy.clauses.empty()) {
    reasons.push_back(
        "the policies have no clause catalogue "
        "(policies/iso27001-2022-clauses.yaml)");
  }
  if (!shortfalls.missing.empty()) {
    reasons.push_back(Listed(shortfalls.missing, "required document missing",
                             "required documents missing"));
  }
  if (!shortfalls.outdated.empty()) {
    reasons.push_back(absl::StrCat("the SoA in force (sha256 ",
                                   report.soa_sha256().substr(0, 12),
                                   "…) is not the registered 6.1.3 soa"));
  }
  if (!shortfalls.unapproved.empty()) {
    reasons.push_back(Listed(shortfalls.unapproved, "document not approved",
                             "documents not approved"));
  }
  if (!shortfalls.overdue.empty()) {
    reasons.push_back(Listed(shortfalls.overdue,
                             "document past its review date",
                             "documents past their review date"));
  }
  if (report.soa_problems_size() > 0) {
    reasons.push_back(absl::StrCat(
        "the SoA is incomplete (", report.soa_problems_size(),
        report.soa_problems_size() == 1 ? " problem: " : " problems: ",
        absl::StrJoin(report.soa_problems(), "; "), ")"));
  }
  AssessRisks(policy, report, reasons);
  for (std::string& reason : reasons) report.add_reasons(std::move(reason));
  report.set_ready(report.reasons().empty());
  report.set_verdict(
      report.ready()
          ? absl::StrCat(
                "Stage 1 ready: all ", required,
                " required documents approved and within their "
                "review dates; the SoA is complete (",
                report.soa_controls(), " controls, ", report.soa_applicable(),
                " applicable); every applicable control is "
                "justified by the risk register (",
                report.risks(), report.risks() == 1 ? " risk, " : " risks, ",
                report.requirements(),
                report.requirements() == 1 ? " requirement" : " requirements",
                ") and every residual risk accepted")
          : absl::StrCat("Stage 1 not ready: ",
                         absl::StrJoin(report.reasons(), "; ")));
  return report;
}

}  // namespace evidentia::isms
