#include "grading/timeline.h"

#include <algorithm>

#include "common/proto_time.h"
#include "common/status_macros.h"
#include "grading/fleet.h"

namespace evidentia::collector {
namespace {

int Rank(v1::CheckState state) {
  switch (state) {
    case v1::CHECK_STATE_FAIL:
      return 3;
    case v1::CHECK_STATE_STALE:
    case v1::CHECK_STATE_MISSING:
      return 2;
    case v1::CHECK_STATE_WARN:
      return 1;
    default:
      return 0;
  }
}

}  // namespace

absl::StatusOr<std::vector<std::pair<absl::Time, v1::CheckState>>> HostTimeline(
    Grader& grader, const v1::AgentRecord& agent,
    const std::vector<std::string>& check_ids, absl::Time from, absl::Time to,
    int points) {
  if (points < 2 || points > 200 || to <= from) {
    return absl::InvalidArgumentError(
        "a timeline has 2 to 200 points over a period that ends after it "
        "starts");
  }
  // Only the probes behind these checks are read back.
  std::vector<std::string> probes;
  for (const policy::Check& check : grader.policy().checks) {
    if (std::find(check_ids.begin(), check_ids.end(), check.id) !=
            check_ids.end() &&
        std::find(probes.begin(), probes.end(), check.probe) == probes.end()) {
      probes.push_back(check.probe);
    }
  }
  std::vector<std::pair<absl::Time, v1::CheckState>> states;
  for (int i = 0; i < points; ++i) {
    const absl::Time at = from + (to - from) * i / (points - 1);
    if (FromProto(agent.enrolled_at()) > at) continue;
    ASSIGN_OR_RETURN(HostPtr then,
                     HostAsOf(grader.evidence(), agent, at, probes));
    ASSIGN_OR_RETURN(std::vector<v1::CheckState> checks,
                     grader.CheckStates(*then, at, check_ids));
    v1::CheckState worst = v1::CHECK_STATE_PASS;
    bool any = false;
    for (v1::CheckState state : checks) {
      if (state == v1::CHECK_STATE_UNSPECIFIED) continue;
      any = true;
      if (Rank(state) > Rank(worst)) worst = state;
    }
    if (!any || grader.IsSilent(*then, at)) worst = v1::CHECK_STATE_STALE;
    states.emplace_back(at, worst);
  }
  return states;
}

}  // namespace evidentia::collector
