// Grading: from the fleet's evidence and the policy set to a grade per
// Annex A control of the SoA, with the host findings behind it. The rules
// are written once in policies/README.md ("Grades"). Verdicts of a check on
// a facts body are cached by (check, digest) for as long as they cannot
// change, so grading "now" over a large fleet costs map lookups, not
// evaluations. Thread-safe.
#ifndef EVIDENTIA_GRADING_GRADING_H_
#define EVIDENTIA_GRADING_GRADING_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "evidentia/v1/reports.pb.h"
#include "grading/evidence.h"
#include "grading/fleet.h"
#include "grading/policy.h"

namespace evidentia::collector {

class Grader {
 public:
  // `policy` and `evidence` must outlive the grader.
  Grader(const policy::PolicySet& policy, const Evidence& evidence);

  const policy::PolicySet& policy() const { return policy_; }
  const Evidence& evidence() const { return evidence_; }

  // Every SoA row for `hosts` (already scoped) at `at`.
  absl::StatusOr<v1::GradeControlsResponse> GradeAll(
      const std::vector<HostPtr>& hosts, absl::Time at);

  // One control; with `findings`, every host check that is not PASS, worst
  // first, with since when. NOT_FOUND for a control not in the catalogue.
  absl::StatusOr<v1::ControlGrade> GradeControl(
      const std::string& control_id, const std::vector<HostPtr>& hosts,
      absl::Time at, bool findings);

  // Every check of the policy on one host, with since when.
  absl::StatusOr<std::vector<v1::HostCheck>> CheckHost(const HostEvidence& host,
                                                       absl::Time at);

  // The state of each of `check_ids` on one host (in that order;
  // UNSPECIFIED for an id the policy does not have): no reasons, no since
  // when, so much cheaper than CheckHost (timelines).
  absl::StatusOr<std::vector<v1::CheckState>> CheckStates(
      const HostEvidence& host, absl::Time at,
      const std::vector<std::string>& check_ids);

  // Whether `host` has been silent for longer than the policy allows.
  bool IsSilent(const HostEvidence& host, absl::Time at) const;

  // Every check id and probe id the policy grades on (what FleetAsOf needs).
  std::vector<std::string> ObservedIds() const;

 private:
  struct CachedVerdict {
    absl::Time evaluated_at;
    std::shared_ptr<const policy::CheckResult> result;
  };
  // One check on one host, without building protos: what grading counts.
  struct Assessment {
    v1::CheckState state = v1::CHECK_STATE_UNSPECIFIED;
    uint64_t seq = 0;  // 0: no evidence
    absl::Time evidence_at;
    std::shared_ptr<const policy::CheckResult> result;  // PASS/WARN/FAIL
    std::string reason;                                 // STALE/MISSING
  };
  // Assessments of one request, [check index][host index], filled on
  // demand, so controls sharing a check assess each host once.
  using Memo = std::vector<std::vector<std::optional<Assessment>>>;

  absl::StatusOr<v1::ControlGrade> Grade(const policy::SoaEntry& soa,
                                         const std::vector<HostPtr>& hosts,
                                         absl::Time at, bool findings,
                                         Memo& memo);
  absl::StatusOr<const Assessment*> Assess(size_t check_index,
                                           const std::vector<HostPtr>& hosts,
                                           size_t host_index, absl::Time at,
                                           bool reasons, Memo& memo);
  // With `reasons`, the verdict's reasons are worded as of `at` (a cached
  // verdict is re-evaluated when its wording depends on time).
  absl::StatusOr<Assessment> AssessNow(const policy::Check& check,
                                       size_t check_index,
                                       const HostEvidence& host, absl::Time at,
                                       bool reasons);
  v1::HostCheck ToHostCheck(const policy::Check& check,
                            const HostEvidence& host,
                            const Assessment& assessment) const;
  absl::StatusOr<std::shared_ptr<const policy::CheckResult>> Verdict(
      size_t check_index, const std::string& digest, absl::Time at,
      bool reasons);
  absl::Status FillSince(size_t check_index, const HostEvidence& host,
                         absl::Time at, v1::HostCheck& finding);
  absl::StatusOr<v1::ManualEvidenceSummary> Manual(const std::string& control,
                                                   absl::Time at) const;
  Memo NewMemo(size_t hosts) const;

  const policy::PolicySet& policy_;
  const Evidence& evidence_;
  // Per check (policy order): whether its reasons quote an age ("{x|age}"),
  // so a cached verdict's wording goes out of date while the verdict holds.
  std::vector<bool> reasons_age_;
  // Per check (policy order): facts digest -> verdict.
  absl::Mutex cache_mu_;
  std::vector<absl::flat_hash_map<std::string, CachedVerdict>> cache_
      ABSL_GUARDED_BY(cache_mu_);
  size_t cached_ ABSL_GUARDED_BY(cache_mu_) = 0;
};

// The words auditors use: "compliant", "opportunity for improvement", ...
std::string GradeName(v1::Grade grade);
// A check's state in words: "pass", "warn", "fail", "stale", "missing".
std::string CheckStateName(v1::CheckState state);

}  // namespace evidentia::collector

#endif  // EVIDENTIA_GRADING_GRADING_H_
