// Read-only answers for the operator: what the collector holds for a host.
#ifndef EVIDENTIA_COLLECTOR_QUERY_QUERIES_H_
#define EVIDENTIA_COLLECTOR_QUERY_QUERIES_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "collector/store/store.h"
#include "evidentia/v1/cycle.pb.h"
#include "evidentia/v1/isms.pb.h"
#include "evidentia/v1/operator.pb.h"
#include "grading/grading.h"
#include "isms/register.h"

namespace evidentia::collector {

// The agent's record and the latest observation of each check (only
// `check_id` when not empty), with facts bodies decoded. NOT_FOUND for an
// unknown agent.
absl::StatusOr<v1::GetEvidenceResponse> GetEvidence(const Store& store,
                                                    absl::string_view agent_id,
                                                    absl::string_view check_id);

// Every ISMS record received by `until`, in number order.
absl::StatusOr<std::vector<v1::StoredIsmsRecord>> IsmsRecords(
    const Store& store, absl::Time until = absl::InfiniteFuture());

// The register `records` add up to (DATA_LOSS when they do not).
absl::StatusOr<isms::Register> IsmsRegister(
    const std::vector<v1::StoredIsmsRecord>& records);

// The grade of a control over the whole fleet as of a moment.
using GradeAtFn = std::function<absl::StatusOr<v1::Grade>(
    const std::string& control, absl::Time when)>;

// `grader`'s grades as of moments, reading the fleet of each moment once
// (for the life of the function returned).
GradeAtFn FleetGrades(Grader& grader);

// The certification cycle as of `at` (isms::AssessCycle) with Evidentia's
// grade beside each finding: `grade_at` of the control as of the end of the
// finding's audit. Errors of grading as they come.
absl::StatusOr<v1::CycleReport> AssessCycleWithGrades(
    const isms::Register& isms, absl::Time at, const GradeAtFn& grade_at);

}  // namespace evidentia::collector

#endif  // EVIDENTIA_COLLECTOR_QUERY_QUERIES_H_
