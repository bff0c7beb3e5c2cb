// OSCAL 1.1.3 for an auditor bundle (docs/bundle.md, "The OSCAL
// document"). The assessment results: one finding per applicable SoA
// control with its state, one per auditor finding of the certification
// cycle, one observation per check and host over the period, a subject per
// host, and relevant evidence pointing at the bundle's own files. The plan
// of action and milestones: the corrective action of each finding that is
// not compliant, with its closure evidence and proof snapshots.
// Deterministic: the same input gives the same bytes (UUIDs are version 5,
// derived from the bundle's ids).
#ifndef EVIDENTIA_BUNDLE_OSCAL_H_
#define EVIDENTIA_BUNDLE_OSCAL_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "evidentia/v1/bundle.pb.h"
#include "evidentia/v1/cycle.pb.h"
#include "evidentia/v1/reports.pb.h"
#include "grading/policy.h"

namespace evidentia::collector {

struct OscalInput {
  const v1::BundleManifest* manifest = nullptr;  // period, agents, snapshots
  const policy::PolicySet* policy = nullptr;
  // Every SoA row graded as of manifest->to over the bundle's agents.
  const v1::GradeControlsResponse* grades = nullptr;
  // Per agent id: every check of the policy on that host as of
  // manifest->to (Grader::CheckHost), policy order.
  const std::map<std::string, std::vector<v1::HostCheck>>* host_checks =
      nullptr;
  // The certification cycle as of manifest->to from the bundle's ISMS
  // records (isms::AssessCycle), or null. Null or without findings, the
  // assessment results are exactly what they are without a cycle.
  const v1::CycleReport* cycle = nullptr;
};

// oscal/assessment-results.json, pretty-printed, ending in a newline.
// INVALID_ARGUMENT for a null input (but the cycle) or an id that cannot
// become a bundle path or an OSCAL token.
absl::StatusOr<std::string> AssessmentResultsJson(const OscalInput& input);

// oscal/poam.json, pretty-printed, ending in a newline: one POA&M item per
// finding of input.cycle that is not compliant. NOT_FOUND when there is
// none (OSCAL requires an item; the bundle then has no poam.json); the
// errors of AssessmentResultsJson otherwise.
absl::StatusOr<std::string> PoamJson(const OscalInput& input);

}  // namespace evidentia::collector

#endif  // EVIDENTIA_BUNDLE_OSCAL_H_
