#include "grading/grading.h"

#include <algorithm>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/proto_time.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "evidentia/v1/facts.pb.h"
#include "evidentia/v1/reports.pb.h"
#include "evidentia/v1/store.pb.h"

namespace evidentia::collector {
namespace {

constexpr char kManualEvidence[] = "manual";
constexpr char kAssetRegister[] = "a.5.9";
// Bounds the walk back through history for "since when".
constexpr int kMaxSinceSteps = 2000;
// Bounds the verdict cache; cleared when full (it refills on demand).
constexpr size_t kMaxCachedVerdicts = 1 << 20;

std::string Age(absl::Duration d) {
  if (d >= absl::Hours(48)) {
    return absl::StrCat(absl::ToInt64Hours(d) / 24, " days");
  }
  if (d >= absl::Hours(2)) return absl::StrCat(absl::ToInt64Hours(d), " hours");
  return absl::StrCat(std::max<int64_t>(absl::ToInt64Minutes(d), 0),
                      " minutes");
}

std::string When(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%SZ", t, absl::UTCTimeZone());
}

// Worse states sort first in findings.
int Severity(v1::CheckState state) {
  switch (state) {
    case v1::CHECK_STATE_FAIL:
      return 0;
    case v1::CHECK_STATE_STALE:
      return 1;
    case v1::CHECK_STATE_MISSING:
      return 2;
    case v1::CHECK_STATE_WARN:
      return 3;
    default:
      return 4;
  }
}

v1::CheckState StateOf(policy::Verdict verdict) {
  switch (verdict) {
    case policy::Verdict::kPass:
      return v1::CHECK_STATE_PASS;
    case policy::Verdict::kWarn:
      return v1::CHECK_STATE_WARN;
    case policy::Verdict::kFail:
      return v1::CHECK_STATE_FAIL;
  }
  return v1::CHECK_STATE_UNSPECIFIED;
}

absl::Time EvidenceTime(const v1::LatestObservation& o) {
  return std::min(FromProto(o.collected_at()), FromProto(o.received_at()));
}

std::string HostName(const HostEvidence& host) {
  return host.agent.host().hostname().empty() ? host.agent.agent_id()
                                              : host.agent.host().hostname();
}

}  // namespace

std::string GradeName(v1::Grade grade) {
  switch (grade) {
    case v1::GRADE_NOT_APPLICABLE:
      return "not applicable";
    case v1::GRADE_COMPLIANT:
      return "compliant";
    case v1::GRADE_OPPORTUNITY_FOR_IMPROVEMENT:
      return "opportunity for improvement";
    case v1::GRADE_MINOR_NONCONFORMITY:
      return "minor nonconformity";
    case v1::GRADE_MAJOR_NONCONFORMITY:
      return "major nonconformity";
    default:
      return "unknown";
  }
}

std::string CheckStateName(v1::CheckState state) {
  switch (state) {
    case v1::CHECK_STATE_PASS:
      return "pass";
    case v1::CHECK_STATE_WARN:
      return "warn";
    case v1::CHECK_STATE_FAIL:
      return "fail";
    case v1::CHECK_STATE_STALE:
      return "stale";
    case v1::CHECK_STATE_MISSING:
      return "missing";
    default:
      return "unknown";
  }
}

std::vector<std::string> Grader::ObservedIds() const {
  std::set<std::string> ids;
  for (const policy::Check& check : policy_.checks) ids.insert(check.probe);
  return {ids.begin(), ids.end()};
}

bool Grader::IsSilent(const HostEvidence& host, absl::Time at) const {
  if (!host.agent.has_last_seen()) {
    // Never reported: silent once enrolled longer than the policy allows.
    return at - FromProto(host.agent.enrolled_at()) >
           policy_.grading.max_silence;
  }
  return at - FromProto(host.agent.last_seen()) > policy_.grading.max_silence;
}

Grader::Grader(const policy::PolicySet& policy, const Evidence& evidence)
    : policy_(policy), evidence_(evidence), cache_(policy.checks.size()) {
  for (const policy::Check& check : policy.checks) {
    bool age = false;
    for (const policy::Rule& rule : check.rules) {
      age = age || rule.reason.find("|age}") != std::string::npos;
    }
    reasons_age_.push_back(age);
  }
}

absl::StatusOr<std::shared_ptr<const policy::CheckResult>> Grader::Verdict(
    size_t check_index, const std::string& digest, absl::Time at,
    bool reasons) {
  {
    absl::ReaderMutexLock lock(&cache_mu_);
    const auto& cache = cache_[check_index];
    auto it = cache.find(digest);
    if (it != cache.end() && it->second.evaluated_at <= at &&
        at < it->second.result->valid_until &&
        (!reasons || !reasons_age_[check_index] ||
         it->second.evaluated_at == at)) {
      return it->second.result;
    }
  }
  ASSIGN_OR_RETURN(std::optional<v1::Facts> facts, evidence_.FactsBody(digest));
  if (!facts.has_value()) {
    return absl::DataLossError(
        absl::StrCat("facts ", ToHex(digest), " are missing from the store"));
  }
  auto result = std::make_shared<const policy::CheckResult>(policy::Evaluate(
      policy_.checks[check_index], *facts, at, policy_.settings));
  absl::MutexLock lock(&cache_mu_);
  if (cached_ >= kMaxCachedVerdicts) {
    for (auto& cache : cache_) cache.clear();
    cached_ = 0;
  }
  auto [it, inserted] =
      cache_[check_index].insert_or_assign(digest, CachedVerdict{at, result});
  if (inserted) ++cached_;
  return result;
}

absl::StatusOr<Grader::Assessment> Grader::AssessNow(const policy::Check& check,
                                                     size_t check_index,
                                                     const HostEvidence& host,
                                                     absl::Time at,
                                                     bool reasons) {
  Assessment out;
  auto it = host.latest.find(check.probe);
  if (it == host.latest.end()) {
    out.state = v1::CHECK_STATE_MISSING;
    out.reason = host.latest.empty()
                     ? "the host has not reported yet"
                     : absl::StrCat("the host never reported ", check.probe);
    return out;
  }
  const v1::LatestObservation& o = it->second;
  out.seq = o.seq();
  out.evidence_at = EvidenceTime(o);
  if (IsSilent(host, at)) {
    out.state = v1::CHECK_STATE_STALE;
    out.reason = absl::StrCat(
        "host silent since ", When(FromProto(host.agent.last_seen())),
        " (policy allows ", Age(policy_.grading.max_silence), ")");
    return out;
  }
  if (at - out.evidence_at > check.stale_after) {
    out.state = v1::CHECK_STATE_STALE;
    out.reason =
        absl::StrCat("evidence is ", Age(at - out.evidence_at), " old; ",
                     check.id, " allows ", Age(check.stale_after));
    return out;
  }
  if (!o.error().empty() || o.facts_sha256().empty()) {
    out.state = v1::CHECK_STATE_MISSING;
    out.reason = absl::StrCat(check.probe, " could not observe: ", o.error());
    return out;
  }
  ASSIGN_OR_RETURN(out.result,
                   Verdict(check_index, o.facts_sha256(), at, reasons));
  out.state = StateOf(out.result->verdict);
  return out;
}

absl::StatusOr<const Grader::Assessment*> Grader::Assess(
    size_t check_index, const std::vector<HostPtr>& hosts, size_t host_index,
    absl::Time at, bool reasons, Memo& memo) {
  std::optional<Assessment>& slot = memo[check_index][host_index];
  if (!slot.has_value()) {
    ASSIGN_OR_RETURN(slot, AssessNow(policy_.checks[check_index], check_index,
                                     *hosts[host_index], at, reasons));
  }
  return &*slot;
}

v1::HostCheck Grader::ToHostCheck(const policy::Check& check,
                                  const HostEvidence& host,
                                  const Assessment& assessment) const {
  v1::HostCheck out;
  out.set_agent_id(host.agent.agent_id());
  out.set_hostname(host.agent.host().hostname());
  out.set_check_id(check.id);
  out.set_state(assessment.state);
  out.set_seq(assessment.seq);
  if (assessment.seq != 0) {
    *out.mutable_evidence_at() = ToProto(assessment.evidence_at);
  }
  if (assessment.result != nullptr) {
    for (const std::string& reason : assessment.result->reasons) {
      out.add_reasons(reason);
    }
  } else {
    out.add_reasons(assessment.reason);
  }
  return out;
}

Grader::Memo Grader::NewMemo(size_t hosts) const {
  return Memo(policy_.checks.size(),
              std::vector<std::optional<Assessment>>(hosts));
}

absl::Status Grader::FillSince(size_t check_index, const HostEvidence& host,
                               absl::Time at, v1::HostCheck& finding) {
  if (finding.state() != v1::CHECK_STATE_FAIL &&
      finding.state() != v1::CHECK_STATE_WARN) {
    return absl::OkStatus();
  }
  const std::string& probe = policy_.checks[check_index].probe;
  const std::string& agent_id = host.agent.agent_id();
  std::optional<absl::Time> since;
  absl::Status status;
  int steps = 0;
  RETURN_IF_ERROR(evidence_.History(
      agent_id, probe, at, [&](const v1::LatestObservation& o) {
        if (o.facts_sha256().empty()) return false;
        absl::StatusOr<std::shared_ptr<const policy::CheckResult>> result =
            Verdict(check_index, o.facts_sha256(), at, false);
        if (!result.ok()) {
          status = result.status();
          return false;
        }
        if (StateOf((*result)->verdict) != finding.state()) return false;
        since = EvidenceTime(o);
        return ++steps < kMaxSinceSteps;
      }));
  RETURN_IF_ERROR(status);
  if (since.has_value()) *finding.mutable_since() = ToProto(*since);
  return absl::OkStatus();
}

absl::StatusOr<v1::ManualEvidenceSummary> Grader::Manual(
    const std::string& control, absl::Time at) const {
  v1::ManualEvidenceSummary summary;
  std::optional<v1::ManualEvidenceStatement> best;
  absl::Status status;
  RETURN_IF_ERROR(evidence_.Manual(
      control, at, [&](const v1::StoredManualEvidence& stored) {
        v1::ManualEvidenceStatement statement;
        if (!statement.ParseFromString(stored.statement())) {
          status = absl::DataLossError(
              absl::StrCat("manual evidence of ", control, " is corrupt"));
          return false;
        }
        // The one valid longest wins.
        if (!best.has_value() || FromProto(statement.valid_until()) >
                                     FromProto(best->valid_until())) {
          best = std::move(statement);
        }
        return true;
      }));
  RETURN_IF_ERROR(status);
  if (best.has_value()) {
    summary.set_present(true);
    summary.set_sha256(ToHex(best->document_sha256()));
    summary.set_file_name(best->file_name());
    *summary.mutable_valid_until() = best->valid_until();
    summary.set_note(best->note());
  }
  return summary;
}

absl::StatusOr<v1::ControlGrade> Grader::Grade(
    const policy::SoaEntry& soa, const std::vector<HostPtr>& hosts,
    absl::Time at, bool findings, Memo& memo) {
  v1::ControlGrade grade;
  const policy::Control* control = policy_.FindControl(soa.control_id);
  grade.set_control_id(soa.control_id);
  if (control != nullptr) {
    grade.set_title(control->title);
    grade.set_theme(control->theme);
  }
  grade.set_applicable(soa.applicable);
  grade.set_justification(soa.justification);
  grade.set_owner(soa.owner);
  if (!soa.applicable) {
    grade.set_grade(v1::GRADE_NOT_APPLICABLE);
    return grade;
  }

  v1::Grade worst = v1::GRADE_COMPLIANT;
  auto raise = [&](v1::Grade g, std::string reason) {
    worst = std::max(worst, g);
    grade.add_reasons(std::move(reason));
  };

  // Automated evidence: every in-scope host on every check of the control.
  std::vector<size_t> checks;  // indexes into policy_.checks
  bool manual = false;
  for (const std::string& source : soa.evidence) {
    if (source == kManualEvidence) {
      manual = true;
    } else if (const policy::Check* check = policy_.FindCheck(source)) {
      checks.push_back(static_cast<size_t>(check - policy_.checks.data()));
      grade.add_checks(check->id);
    }
  }
  grade.set_hosts_in_scope(static_cast<uint32_t>(hosts.size()));
  std::optional<absl::Time> oldest;
  if (!checks.empty()) {
    bool any_evidence = false;
    uint32_t failing = 0, stale = 0, passing = 0;
    bool any_warn = false;
    std::vector<v1::HostCheck> found;
    for (size_t h = 0; h < hosts.size(); ++h) {
      v1::CheckState host_worst = v1::CHECK_STATE_PASS;
      for (size_t c : checks) {
        ASSIGN_OR_RETURN(const Assessment* a,
                         Assess(c, hosts, h, at, findings, memo));
        if (a->seq != 0) {
          any_evidence = true;
          if (!oldest.has_value() || a->evidence_at < *oldest) {
            oldest = a->evidence_at;
          }
        }
        if (Severity(a->state) < Severity(host_worst)) host_worst = a->state;
        if (a->state == v1::CHECK_STATE_WARN) any_warn = true;
        if (findings && a->state != v1::CHECK_STATE_PASS) {
          v1::HostCheck hc = ToHostCheck(policy_.checks[c], *hosts[h], *a);
          RETURN_IF_ERROR(FillSince(c, *hosts[h], at, hc));
          found.push_back(std::move(hc));
        }
      }
      if (host_worst == v1::CHECK_STATE_FAIL) {
        ++failing;
      } else if (host_worst == v1::CHECK_STATE_STALE ||
                 host_worst == v1::CHECK_STATE_MISSING) {
        ++stale;
      } else {
        ++passing;
      }
    }
    grade.set_hosts_passing(passing);
    grade.set_hosts_failing(failing);
    grade.set_hosts_stale(stale);
    if (!any_evidence) {
      raise(v1::GRADE_MAJOR_NONCONFORMITY,
            absl::StrCat("no host has reported evidence for ",
                         absl::StrJoin(grade.checks(), ", ")));
    } else if (failing > 0 &&
               static_cast<double>(failing) >=
                   policy_.grading.major_failure_share * hosts.size()) {
      raise(
          v1::GRADE_MAJOR_NONCONFORMITY,
          absl::StrCat(failing, " of ", hosts.size(), " hosts fail (major at ",
                       policy_.grading.major_failure_share * 100, "%)"));
    } else if (failing > 0) {
      raise(v1::GRADE_MINOR_NONCONFORMITY,
            absl::StrCat(failing, " of ", hosts.size(), " hosts fail"));
    }
    if (any_evidence && stale > 0) {
      raise(v1::GRADE_MINOR_NONCONFORMITY,
            absl::StrCat(stale, " of ", hosts.size(),
                         " hosts have stale or missing evidence"));
    }
    if (any_warn) {
      raise(v1::GRADE_OPPORTUNITY_FOR_IMPROVEMENT,
            "some hosts pass with warnings");
    }
    std::stable_sort(found.begin(), found.end(),
                     [](const v1::HostCheck& a, const v1::HostCheck& b) {
                       return Severity(a.state()) < Severity(b.state());
                     });
    for (v1::HostCheck& hc : found) *grade.add_findings() = std::move(hc);
  }
  if (oldest.has_value()) *grade.mutable_oldest_evidence() = ToProto(*oldest);

  // The asset register is the set of enrolled hosts itself.
  if (soa.control_id == kAssetRegister) {
    if (hosts.empty()) {
      raise(v1::GRADE_MAJOR_NONCONFORMITY, "no host is enrolled");
    }
    for (const HostPtr& host : hosts) {
      if (!IsSilent(*host, at)) continue;
      raise(v1::GRADE_MINOR_NONCONFORMITY,
            host->agent.has_last_seen()
                ? absl::StrCat(HostName(*host), " silent since ",
                               When(FromProto(host->agent.last_seen())))
                : absl::StrCat(HostName(*host), " enrolled ",
                               When(FromProto(host->agent.enrolled_at())),
                               " and never reported"));
    }
  }

  // Manual evidence: graded by its validity.
  if (manual) {
    ASSIGN_OR_RETURN(*grade.mutable_manual(), Manual(soa.control_id, at));
    const v1::ManualEvidenceSummary& m = grade.manual();
    const absl::Time until = FromProto(m.valid_until());
    if (!m.present()) {
      // The asset register is evidenced by the enrolled hosts themselves.
      if (soa.control_id != kAssetRegister || hosts.empty()) {
        raise(v1::GRADE_MAJOR_NONCONFORMITY, "no manual evidence recorded");
      }
    } else if (until <= at) {
      raise(v1::GRADE_MINOR_NONCONFORMITY,
            absl::StrCat("manual evidence ", m.file_name(), " expired ",
                         When(until)));
    } else if (until - at <= policy_.grading.manual_expiry_warning) {
      raise(v1::GRADE_OPPORTUNITY_FOR_IMPROVEMENT,
            absl::StrCat("manual evidence ", m.file_name(), " expires ",
                         When(until)));
    }
  }
  grade.set_grade(worst);
  return grade;
}

absl::StatusOr<v1::GradeControlsResponse> Grader::GradeAll(
    const std::vector<HostPtr>& hosts, absl::Time at) {
  v1::GradeControlsResponse response;
  *response.mutable_at() = ToProto(at);
  response.set_policy_sha256(policy_.sha256);
  Memo memo = NewMemo(hosts.size());
  for (const policy::SoaEntry& soa : policy_.soa) {
    ASSIGN_OR_RETURN(*response.add_controls(),
                     Grade(soa, hosts, at, false, memo));
  }
  return response;
}

absl::StatusOr<v1::ControlGrade> Grader::GradeControl(
    const std::string& control_id, const std::vector<HostPtr>& hosts,
    absl::Time at, bool findings) {
  const policy::SoaEntry* soa = policy_.FindSoaEntry(control_id);
  if (soa == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("no control ", control_id, " in the SoA"));
  }
  Memo memo = NewMemo(hosts.size());
  return Grade(*soa, hosts, at, findings, memo);
}

absl::StatusOr<std::vector<v1::HostCheck>> Grader::CheckHost(
    const HostEvidence& host, absl::Time at) {
  std::vector<v1::HostCheck> out;
  for (size_t c = 0; c < policy_.checks.size(); ++c) {
    ASSIGN_OR_RETURN(Assessment a,
                     AssessNow(policy_.checks[c], c, host, at, true));
    v1::HostCheck hc = ToHostCheck(policy_.checks[c], host, a);
    RETURN_IF_ERROR(FillSince(c, host, at, hc));
    out.push_back(std::move(hc));
  }
  return out;
}

absl::StatusOr<std::vector<v1::CheckState>> Grader::CheckStates(
    const HostEvidence& host, absl::Time at,
    const std::vector<std::string>& check_ids) {
  std::vector<v1::CheckState> out;
  for (const std::string& id : check_ids) {
    v1::CheckState state = v1::CHECK_STATE_UNSPECIFIED;
    for (size_t c = 0; c < policy_.checks.size(); ++c) {
      if (policy_.checks[c].id != id) continue;
      ASSIGN_OR_RETURN(Assessment a,
                       AssessNow(policy_.checks[c], c, host, at, false));
      state = a.state;
      break;
    }
    out.push_back(state);
  }
  return out;
}

}  // namespace evidentia::collector
