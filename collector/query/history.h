// A control's grade over a period: the moments it changed and the share of
// the period it was compliant. The grade is evaluated at every snapshot the
// collector received in the period from in-scope hosts (for the control's
// checks) and on a regular grid between them, so changes that come from time
// alone (evidence going stale, a host falling silent) are found too.
#ifndef EVIDENTIA_COLLECTOR_QUERY_HISTORY_H_
#define EVIDENTIA_COLLECTOR_QUERY_HISTORY_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "collector/store/store.h"
#include "evidentia/v1/operator.pb.h"
#include "grading/grading.h"

namespace evidentia::collector {

// At most this many evaluation moments per period.
inline constexpr int kMaxHistoryPoints = 1000;

// INVALID_ARGUMENT when `to` is not after `from` or the scope is malformed;
// NOT_FOUND for a control not in the SoA.
absl::StatusOr<v1::GetHistoryResponse> ControlHistory(
    Grader& grader, const Store& store, const std::string& control_id,
    const std::string& scope, absl::Time from, absl::Time to);

}  // namespace evidentia::collector

#endif  // EVIDENTIA_COLLECTOR_QUERY_HISTORY_H_
