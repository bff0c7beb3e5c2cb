// A host's state for some checks at moments of a period, as the grader saw
// it then: what the dashboard's and the bundle report's timelines draw.
// Each moment is rebuilt from the evidence's history (HostAsOf), so a
// timeline reads only what had been received by each moment.
#ifndef EVIDENTIA_GRADING_TIMELINE_H_
#define EVIDENTIA_GRADING_TIMELINE_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "evidentia/v1/reports.pb.h"
#include "grading/grading.h"

namespace evidentia::collector {

// The state of `agent` for `check_ids` at `points` moments evenly from
// `from` to `to` (2 to 200), at those it was enrolled at: the worst of the
// checks (fail, then stale or missing, then warn, then pass), stale while
// the host was silent or reported none of them. INVALID_ARGUMENT for a bad
// period or number of points.
absl::StatusOr<std::vector<std::pair<absl::Time, v1::CheckState>>> HostTimeline(
    Grader& grader, const v1::AgentRecord& agent,
    const std::vector<std::string>& check_ids, absl::Time from, absl::Time to,
    int points);

}  // namespace evidentia::collector

#endif  // EVIDENTIA_GRADING_TIMELINE_H_
