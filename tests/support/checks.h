// Test support for host checks: the real policies (policies/ and the
// example SoA) loaded once, and one check of them evaluated on a probe's
// facts at a given moment, with the example SoA's settings. Probes' check
// tests use it to grade their fixture trees exactly as the collector would.
#ifndef EVIDENTIA_TESTS_SUPPORT_CHECKS_H_
#define EVIDENTIA_TESTS_SUPPORT_CHECKS_H_

#include <filesystem>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "evidentia/v1/facts.pb.h"
#include "grading/policy.h"
#include "gtest/gtest.h"

namespace evidentia::testing {

// policies/ with policies/soa.example.yaml, loaded once per test binary.
// Fails the test (and returns an empty set) when they do not load.
inline const policy::PolicySet& ExamplePolicies() {
  static const auto* const loaded = [] {
    std::filesystem::path dir =
        std::filesystem::path(EVIDENTIA_SOURCE_DIR) / "policies";
    return new absl::StatusOr<policy::PolicySet>(
        policy::LoadPolicySet(dir, dir / "soa.example.yaml"));
  }();
  static const policy::PolicySet kEmpty;
  EXPECT_TRUE(loaded->ok()) << loaded->status();
  return loaded->ok() ? **loaded : kEmpty;
}

// Evaluates the check `check_id` of the example policies on `facts` as of
// `now`. An unknown check fails the test and yields a failing result.
inline policy::CheckResult EvaluateCheck(const std::string& check_id,
                                         const v1::Facts& facts,
                                         absl::Time now) {
  const policy::PolicySet& policies = ExamplePolicies();
  const policy::Check* check = policies.FindCheck(check_id);
  if (check == nullptr) {
    ADD_FAILURE() << "no check " << check_id << " in policies/checks/";
    policy::CheckResult missing;
    missing.verdict = policy::Verdict::kFail;
    return missing;
  }
  return policy::Evaluate(*check, facts, now, policies.settings);
}

}  // namespace evidentia::testing

#endif  // EVIDENTIA_TESTS_SUPPORT_CHECKS_H_
