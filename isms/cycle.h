// Where the organisation stands in its certification cycle, computed from
// the register: the audits and their findings, which nonconformities are
// open and carried into later audits, the current certificate (three years
// from the decision), the surveillance and recertification due dates, and
// what is due next.
#ifndef EVIDENTIA_ISMS_CYCLE_H_
#define EVIDENTIA_ISMS_CYCLE_H_

#include <functional>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "evidentia/v1/cycle.pb.h"
#include "isms/register.h"

namespace evidentia::isms {

// Evidentia's grade of `control` at `at`, for beside the auditor's;
// GRADE_UNSPECIFIED when it cannot say.
using ComputedGrade =
    std::function<v1::Grade(const std::string& control, absl::Time at)>;

// The cycle as of `at`, from the records received by then. A finding's
// computed grade is taken at the end of its audit's last day (or `at`, if
// earlier).
v1::CycleReport AssessCycle(const Register& isms, absl::Time at,
                            const ComputedGrade& computed);

// The period an audit's bundle covers: from the start of its first day to
// the end of its last, or later, to the last record about it (its closure
// and decision, its findings' actions and their closures with the
// snapshots that prove them, its samples). NOT_FOUND for an unknown audit.
absl::StatusOr<std::pair<absl::Time, absl::Time>> AuditPeriod(
    const Register& isms, absl::string_view audit);

// "stage1", "stage2", "surveillance", "recertification"; "" otherwise.
std::string AuditKindName(v1::AuditKind kind);

}  // namespace evidentia::isms

#endif  // EVIDENTIA_ISMS_CYCLE_H_
