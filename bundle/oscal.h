// OSCAL 1.1.3 assessment results for an auditor bundle: one finding per
// applicable SoA control with its state, one observation per check and
// host over the period, a subject per host, and relevant evidence pointing
// at the bundle's own files. Deterministic: the same input gives the same
// bytes (UUIDs are version 5, derived from the bundle's ids).
#ifndef EVIDENTIA_BUNDLE_OSCAL_H_
#define EVIDENTIA_BUNDLE_OSCAL_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "evidentia/v1/bundle.pb.h"
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
};

// oscal/assessment-results.json, pretty-printed, ending in a newline.
absl::StatusOr<std::string> AssessmentResultsJson(const OscalInput& input);

}  // namespace evidentia::collector

#endif  // EVIDENTIA_BUNDLE_OSCAL_H_
